//! Writes that meet existing rows on a key (ON DUPLICATE KEY UPDATE, REPLACE,
//! INSERT IGNORE) and writes that take auto-increment values, compared with native
//! MariaDB: the row InnoDB picks, the children that move with it, and what a client
//! sees afterwards (rows affected, last insert id, the next auto-increment value).

use mysql_async::Conn;
use tether_testkit::{TestDb, TestEngine};

use crate::managed::assert_same_outcome;
use crate::support::{direct, dump, native_and_gateway, rows, start_one};

/// Runs `statements` natively and through a managed gateway on `schema`: the same
/// outcome for each (error, rows affected, last insert id, then `SELECT
/// LAST_INSERT_ID()`), the same tables at the end. Returns the native error codes.
pub fn same_as_native(schema: &str, tables: &[&str], statements: &[&str]) -> Vec<u16> {
    same_as_native_then(schema, tables, statements, "SELECT 1").0
}

/// [`same_as_native`], then `query` run directly on the gateway's database: the
/// error codes and the query's rows.
fn same_as_native_then(
    schema: &str,
    tables: &[&str],
    statements: &[&str],
    query: &str,
) -> (Vec<u16>, Vec<Vec<String>>) {
    let native = TestDb::create(TestEngine::Mysql);
    let managed = TestDb::create(TestEngine::Mysql);
    native.exec(schema);
    managed.exec(schema);
    let gw = start_one(&managed, "managed");
    gw.block_on(async {
        let (mut n, mut g) = native_and_gateway(&native, &gw, false).await;
        let mut codes = Vec::new();
        for (i, sql) in statements.iter().enumerate() {
            codes.push(
                same_outcome(
                    &mut n,
                    &mut g,
                    [&native.name, &managed.name],
                    sql,
                    &format!("statement {i}"),
                )
                .await,
            );
        }
        let mut m = direct(&managed).await;
        assert_eq!(dump(&mut n, tables).await, dump(&mut m, tables).await, "final tables");
        (codes, rows(&mut m, query).await)
    })
}

/// [`assert_same_outcome`], then the same warning count, info and
/// `LAST_INSERT_ID()` on both sides.
pub async fn same_outcome(native: &mut Conn, managed: &mut Conn, dbs: [&str; 2], sql: &str, context: &str) -> u16 {
    let code = assert_same_outcome(native, managed, dbs, sql, context).await;
    if code == 0 {
        assert_eq!(
            (native.get_warnings(), native.info()),
            (managed.get_warnings(), managed.info()),
            "{context}: {sql}: warnings and info"
        );
    }
    let q = "SELECT LAST_INSERT_ID()";
    assert_eq!(
        rows(native, q).await,
        rows(managed, q).await,
        "{context}: {sql}: LAST_INSERT_ID() after"
    );
    code
}

const DEPARTMENTS: &str = "
CREATE TABLE departments (dept_no CHAR(4) PRIMARY KEY, dept_name VARCHAR(40) NOT NULL UNIQUE) ENGINE=InnoDB;
CREATE TABLE dept_emp (emp_no INT, dept_no CHAR(4), PRIMARY KEY (emp_no, dept_no),
  FOREIGN KEY (dept_no) REFERENCES departments (dept_no) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO departments VALUES ('p1','Tmp 1'), ('p2','Tmp 8');
INSERT INTO dept_emp VALUES (1,'p1'), (2,'p2');
";

/// The case: the new row clashes with one row on the primary key and with
/// another on a unique key. InnoDB checks the primary key first and updates that
/// row; its child moves with it, the other row's child stays.
#[test]
fn upsert_updates_the_row_clashing_on_the_primary_key() {
    same_as_native(
        DEPARTMENTS,
        &["departments", "dept_emp"],
        &[
            "INSERT INTO departments VALUES ('p2','Tmp 1') ON DUPLICATE KEY UPDATE dept_no = 'p3'",
            // Case and trailing spaces clash under the column's collation.
            "INSERT INTO departments VALUES ('P1 ','TMP 1') ON DUPLICATE KEY UPDATE dept_no = 'p4'",
            "INSERT INTO departments VALUES ('p9','tmp 1  ') ON DUPLICATE KEY UPDATE dept_no = 'p5'",
        ],
    );
}

/// InnoDB checks unique indexes in its own order: the primary key, then the
/// others in the order they were created. An index added later by ALTER TABLE
/// comes last there, whatever SHOW INDEX says (it sorts NOT NULL keys first).
#[test]
fn upsert_follows_innodbs_index_order() {
    let schema = "
CREATE TABLE p (id INT PRIMARY KEY, a INT NULL, b INT NOT NULL, UNIQUE KEY p_a (a)) ENGINE=InnoDB;
ALTER TABLE p ADD UNIQUE KEY p_b (b), ALGORITHM=INPLACE;
CREATE TABLE q (id INT PRIMARY KEY, a INT NULL, b INT NOT NULL, UNIQUE KEY q_a (a), UNIQUE KEY q_b (b)) ENGINE=InnoDB;
CREATE TABLE pc (id INT PRIMARY KEY, p_id INT, CONSTRAINT pc_p FOREIGN KEY (p_id) REFERENCES p (id) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE qc (id INT PRIMARY KEY, q_id INT, CONSTRAINT qc_q FOREIGN KEY (q_id) REFERENCES q (id) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p VALUES (1, 10, 100), (2, 20, 200);
INSERT INTO q VALUES (1, 10, 100), (2, 20, 200);
INSERT INTO pc VALUES (1, 1), (2, 2);
INSERT INTO qc VALUES (1, 1), (2, 2);
";
    same_as_native(
        schema,
        &["p", "q", "pc", "qc"],
        &[
            "INSERT INTO p VALUES (3, 10, 200) ON DUPLICATE KEY UPDATE id = id + 100",
            "INSERT INTO q VALUES (3, 10, 200) ON DUPLICATE KEY UPDATE id = id + 100",
            // A NULL never clashes.
            "INSERT INTO q VALUES (4, NULL, 100) ON DUPLICATE KEY UPDATE id = id + 1000",
        ],
    );
}

/// A multi-row INSERT that fails on its second row after the first took an
/// auto-increment value: natively it runs once, so the next row gets the next
/// value; the last insert id and `LAST_INSERT_ID()` are MariaDB's.
#[test]
fn a_failed_insert_takes_auto_increment_values_once() {
    let schema = "
CREATE TABLE employees (emp_no INT PRIMARY KEY, name VARCHAR(10)) ENGINE=InnoDB;
CREATE TABLE badge (id INT AUTO_INCREMENT PRIMARY KEY, emp_no INT, label VARCHAR(10),
  CONSTRAINT badge_emp FOREIGN KEY (emp_no) REFERENCES employees (emp_no) ON DELETE CASCADE) ENGINE=InnoDB;
INSERT INTO employees VALUES (1, 'ann'), (2, 'bob');
INSERT INTO badge (emp_no, label) VALUES (1, 'a'), (2, 'b'), (NULL, 'c');
";
    let codes = same_as_native(
        schema,
        &["employees", "badge"],
        &[
            "INSERT INTO badge (id, emp_no, label) VALUES (NULL, NULL, 'x'), (2, NULL, 'dup')",
            "INSERT INTO badge (emp_no, label) VALUES (1, 'next')",
            "INSERT INTO badge (id, emp_no, label) VALUES (NULL, 1, 'x'), (NULL, 2, 'y'), (3, 1, 'dup')",
            "INSERT INTO badge (emp_no, label) VALUES (2, 'next')",
            "INSERT INTO badge (emp_no, label) VALUES (1, 'x'), (9, 'no parent')",
            "INSERT INTO badge (emp_no, label) VALUES (2, 'next')",
            "REPLACE INTO badge (id, emp_no, label) VALUES (NULL, 1, 'x'), (NULL, 9, 'no parent')",
            "INSERT INTO badge (emp_no, label) VALUES (2, 'next')",
        ],
    );
    assert_eq!(codes, [1062, 0, 1062, 0, 1452, 0, 1452, 0]);
}

/// A parent with a primary key and two unique keys (one on text compared without
/// case and trailing spaces, one composite and nullable), each referenced by a child
/// with another action.
const PARENT: &str = "
CREATE TABLE parent (id INT PRIMARY KEY, code VARCHAR(8) NOT NULL, a INT, b INT,
  UNIQUE KEY parent_code (code), UNIQUE KEY parent_ab (a, b)) ENGINE=InnoDB;
CREATE TABLE kid_cascade (id INT PRIMARY KEY, parent_id INT,
  CONSTRAINT kid_cascade_fk FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE kid_null (id INT PRIMARY KEY, parent_code VARCHAR(8),
  CONSTRAINT kid_null_fk FOREIGN KEY (parent_code) REFERENCES parent (code) ON DELETE SET NULL ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE kid_restrict (id INT PRIMARY KEY, a INT, b INT,
  CONSTRAINT kid_restrict_fk FOREIGN KEY (a, b) REFERENCES parent (a, b) ON DELETE RESTRICT ON UPDATE RESTRICT) ENGINE=InnoDB;
INSERT INTO parent VALUES (1, 'c1', 1, 1), (2, 'c2', 2, 2), (3, 'c3', 3, 3), (4, 'c4', NULL, 4), (5, 'c5', 5, NULL);
INSERT INTO kid_cascade VALUES (1, 1), (2, 2), (3, 3), (4, 4), (5, 5);
INSERT INTO kid_null VALUES (1, 'c1'), (2, 'c2'), (3, 'c3'), (4, 'c4'), (5, 'c5');
INSERT INTO kid_restrict VALUES (3, 3, 3);
CREATE TABLE cascade_log (id INT AUTO_INCREMENT PRIMARY KEY, kid INT, parent_id INT) ENGINE=InnoDB;
-- Named like the online migrator's capture triggers, the only triggers the gateway
-- lets fire on its own statements (any other makes the write run as InnoDB runs it).
CREATE TRIGGER _tether_kid_cascade_moved AFTER UPDATE ON kid_cascade FOR EACH ROW
  INSERT INTO cascade_log (kid, parent_id) VALUES (NEW.id, NEW.parent_id);
";

const PARENT_TABLES: &[&str] = &["parent", "kid_cascade", "kid_null", "kid_restrict"];

/// ON DUPLICATE KEY UPDATE and INSERT IGNORE whose new row clashes with different
/// rows on different keys, single and multi-row, with VALUES() references, and an
/// earlier row changing what a later one clashes with.
/// The children move by the gateway's own statements (InnoDB's cascades fire no
/// trigger): the statements were planned, not left to InnoDB.
#[test]
fn upserts_clashing_with_several_rows_match_native() {
    let (_, moved) = same_as_native_then(
        PARENT,
        PARENT_TABLES,
        &[
            // Row 5 on PRIMARY, row 2 on code: InnoDB updates row 5.
            "INSERT INTO parent VALUES (5, 'c2', NULL, NULL) ON DUPLICATE KEY UPDATE id = 50",
            // Clashes with row 1 (PRIMARY), row 2 (code, other case) and row 3 (a, b).
            "INSERT INTO parent VALUES (1, 'C2', 3, 3) ON DUPLICATE KEY UPDATE id = id + 100, code = CONCAT(code, 'x')",
            // Row 3 on code (case, trailing spaces) and row 2 on (a, b): code comes
            // first in InnoDB's order.
            "INSERT INTO parent VALUES (9, 'C3  ', 2, 2) ON DUPLICATE KEY UPDATE id = VALUES(id) + 10, code = 'n'",
            // NULLs never clash: only the code matters.
            "INSERT INTO parent VALUES (8, 'c4', NULL, 4) ON DUPLICATE KEY UPDATE id = 40",
            // A non-key column of a parent that a RESTRICT child's key includes.
            "INSERT INTO parent VALUES (40, 'zz', 7, 7) ON DUPLICATE KEY UPDATE a = 70",
            // The first row's update makes the second clash with the row it updated.
            "INSERT INTO parent VALUES (2, 'q', NULL, NULL), (12, 'c9', NULL, NULL) ON DUPLICATE KEY UPDATE id = id + 10, code = VALUES(code)",
            "INSERT IGNORE INTO parent VALUES (5, 'c1', 1, 1) ON DUPLICATE KEY UPDATE id = 101",
            "INSERT IGNORE INTO parent VALUES (60, 'c5', 60, 60)",
            // (a, b) clashes with the RESTRICT child's parent: its re-key fails.
            "INSERT INTO parent VALUES (99, 'new', 3, 3) ON DUPLICATE KEY UPDATE a = 30",
            // VALUE() is MariaDB's VALUES(); a column the row does not give is its
            // default, which only InnoDB knows here (it moves child 5 itself).
            "INSERT INTO parent VALUES (50, 'c50', NULL, NULL) ON DUPLICATE KEY UPDATE id = VALUE(id) + 1",
            "INSERT INTO parent (id, code) VALUES (51, 'zz') ON DUPLICATE KEY UPDATE id = IFNULL(VALUES(a), 0) + 60",
        ],
        "SELECT kid, parent_id FROM cascade_log ORDER BY id",
    );
    assert_eq!(
        moved,
        [
            ["5", "50"],
            ["1", "101"],
            ["3", "19"],
            ["4", "40"],
            ["2", "12"],
            ["2", "22"],
            ["5", "51"]
        ]
    );
}

/// REPLACE deletes every row its new rows clash with, on any key; each delete runs
/// its children's actions (CASCADE, SET NULL) or fails on a RESTRICT child.
#[test]
fn replace_deletes_every_clashing_row_as_natively() {
    let codes = same_as_native(
        PARENT,
        PARENT_TABLES,
        &[
            // Rows 1 (PRIMARY), 2 (code) and 3 (a, b, RESTRICT child): 1451.
            "REPLACE INTO parent VALUES (1, 'C2 ', 3, 3)",
            // Rows 1, 2 and 5 go; their children cascade or lose their parent.
            "REPLACE INTO parent VALUES (1, 'C2 ', 5, NULL), (6, 'c5', 1, 1)",
            "REPLACE INTO parent (id, code) VALUES (4, 'c4'), (7, 'c3')",
        ],
    );
    assert_eq!(codes, [1451, 0, 1451]);
}

/// Tables whose index order is not the declaration order, and keys a WHERE does
/// not compare as the index does (a prefix index, a NO PAD collation), which the
/// gateway leaves to InnoDB.
#[test]
fn unusual_unique_keys_match_native() {
    let schema = "
CREATE TABLE late_pk (u INT NOT NULL, id INT NOT NULL, UNIQUE KEY late_pk_u (u)) ENGINE=InnoDB;
ALTER TABLE late_pk ADD PRIMARY KEY (id);
CREATE TABLE no_pk (u INT NOT NULL, w INT, UNIQUE KEY no_pk_w (w), UNIQUE KEY no_pk_u (u)) ENGINE=InnoDB;
CREATE TABLE prefix (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, UNIQUE KEY prefix_name (name(3))) ENGINE=InnoDB;
CREATE TABLE nopad (id INT PRIMARY KEY, name VARCHAR(20) COLLATE utf8mb4_general_nopad_ci NOT NULL,
  UNIQUE KEY nopad_name (name)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE kid (id INT PRIMARY KEY, late_u INT, no_pk_u INT, prefix_id INT, nopad_name VARCHAR(20) COLLATE utf8mb4_general_nopad_ci,
  CONSTRAINT kid_late FOREIGN KEY (late_u) REFERENCES late_pk (u) ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT kid_no_pk FOREIGN KEY (no_pk_u) REFERENCES no_pk (u) ON DELETE SET NULL ON UPDATE CASCADE,
  CONSTRAINT kid_prefix FOREIGN KEY (prefix_id) REFERENCES prefix (id) ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT kid_nopad FOREIGN KEY (nopad_name) REFERENCES nopad (name) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO late_pk VALUES (10, 1), (20, 2);
INSERT INTO no_pk VALUES (10, 1), (20, 2);
INSERT INTO prefix VALUES (1, 'abcd'), (2, 'xyz');
INSERT INTO nopad VALUES (1, 'ab'), (2, 'cd');
INSERT INTO kid VALUES (1, 10, 10, 1, 'ab'), (2, 20, 20, 2, 'cd');
CREATE TABLE big (id INT PRIMARY KEY, name VARCHAR(4) NOT NULL, UNIQUE KEY big_name (name)) ENGINE=InnoDB;
CREATE TABLE big_kid (id INT PRIMARY KEY, big_id INT,
  CONSTRAINT big_kid_fk FOREIGN KEY (big_id) REFERENCES big (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO big VALUES (2147483647, 'max'), (0, 'zero'), (1, 'abcd');
INSERT INTO big_kid VALUES (1, 2147483647), (2, 0), (3, 1);
CREATE TABLE lat (id INT PRIMARY KEY, name VARCHAR(10) CHARACTER SET latin1 NOT NULL, UNIQUE KEY lat_name (name)) ENGINE=InnoDB;
CREATE TABLE lat_kid (id INT PRIMARY KEY, lat_id INT,
  CONSTRAINT lat_kid_fk FOREIGN KEY (lat_id) REFERENCES lat (id) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO lat VALUES (1, '?');
INSERT INTO lat_kid VALUES (1, 1);
";
    same_as_native(
        schema,
        &[
            "late_pk", "no_pk", "prefix", "nopad", "kid", "big", "big_kid", "lat", "lat_kid",
        ],
        &[
            // PRIMARY (id 2) before late_pk_u (u 10).
            "INSERT INTO late_pk VALUES (10, 2) ON DUPLICATE KEY UPDATE u = u + 100",
            // No primary key: the NOT NULL unique key is the clustered index.
            "INSERT INTO no_pk VALUES (20, 1) ON DUPLICATE KEY UPDATE u = u + 100",
            // 'abcx' clashes with 'abcd' on the prefix.
            "REPLACE INTO prefix VALUES (3, 'abcx')",
            "INSERT INTO prefix VALUES (4, 'xyzz') ON DUPLICATE KEY UPDATE id = 40",
            "INSERT INTO kid VALUES (3, NULL, NULL, 3, NULL)",
            "REPLACE INTO prefix (id, name) SELECT 8, 'abcy'",
            // NO PAD: 'cd ' is another key than 'cd'.
            "REPLACE INTO nopad VALUES (3, 'cd ')",
            "INSERT INTO nopad VALUES (1, 'cd') ON DUPLICATE KEY UPDATE name = 'ef'",
            // Outside strict mode the server stores the nearest value, truncates
            // strings and turns NULL into the implicit default, which then clash.
            "SET SESSION sql_mode = ''",
            "REPLACE INTO big VALUES (99999999999, 'new')",
            "INSERT INTO big VALUES (5, 'abcdef') ON DUPLICATE KEY UPDATE id = 10",
            "INSERT INTO big VALUES (6, 'x'), (NULL, 'y') ON DUPLICATE KEY UPDATE id = 20",
            // A latin1 column stores '漢' as '?'.
            "INSERT INTO lat VALUES (2, '漢') ON DUPLICATE KEY UPDATE id = 20",
        ],
    );
}

/// A backend user without the PROCESS privilege cannot read InnoDB's index order:
/// a new row clashing with different rows on different indexes is then left to
/// InnoDB (its own cascades), never guessed; a clash on one index is still planned.
#[test]
fn without_innodbs_index_order_an_ambiguous_upsert_goes_to_innodb() {
    let native = TestDb::create(TestEngine::Mysql);
    let managed = TestDb::create(TestEngine::Mysql);
    let schema = format!(
        "{DEPARTMENTS}
CREATE TABLE moved (emp_no INT, dept_no CHAR(4)) ENGINE=InnoDB;
-- Named like the online migrator's capture triggers, the only triggers the gateway
-- lets fire on its own statements (any other makes the write run as InnoDB runs it).
CREATE TRIGGER _tether_dept_emp_moved AFTER UPDATE ON dept_emp FOR EACH ROW
  INSERT INTO moved VALUES (NEW.emp_no, NEW.dept_no);
INSERT INTO departments VALUES ('p9', 'Tmp 9');
INSERT INTO dept_emp VALUES (9, 'p9');"
    );
    native.exec(&schema);
    managed.exec(&schema);
    let user = format!("np_{}", &managed.name[managed.name.len().saturating_sub(20)..]);
    managed.exec(&format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY 'np'; GRANT ALL ON `{}`.* TO '{user}'@'%';",
        managed.name
    ));
    let url = managed.url.replacen("root@", &format!("{user}:np@"), 1);
    let gw = crate::support::start(&[("ks", "managed", &url)]);
    let tables = ["departments", "dept_emp"];
    gw.block_on(async {
        let (mut n, mut g) = native_and_gateway(&native, &gw, false).await;
        let dbs = [native.name.as_str(), managed.name.as_str()];
        for sql in [
            // PRIMARY 'p2' and dept_name 'Tmp 1' (row 'p1'): InnoDB's choice.
            "INSERT INTO departments VALUES ('p2','Tmp 1') ON DUPLICATE KEY UPDATE dept_no = 'p3'",
            // One clashing row: planned.
            "INSERT INTO departments VALUES ('p9','Tmp 9') ON DUPLICATE KEY UPDATE dept_no = 'p8'",
        ] {
            same_outcome(&mut n, &mut g, dbs, sql, "no PROCESS").await;
        }
        let mut m = direct(&managed).await;
        assert_eq!(dump(&mut n, &tables).await, dump(&mut m, &tables).await);
        // InnoDB moved (2, 'p3') itself (no trigger); the gateway moved (9, 'p8').
        assert_eq!(rows(&mut m, "SELECT * FROM moved").await, [["9", "p8"]]);
        mysql_async::prelude::Queryable::query_drop(&mut m, format!("DROP USER '{user}'@'%'"))
            .await
            .expect("drop user");
    });
}

/// A re-key whose new value changes between two evaluations (a user variable
/// assigned in the SET, RAND(), a sequence): a lock read ahead of the statement
/// would cascade other keys than the statement writes, and move the variable on
/// twice. InnoDB runs it, once.
#[test]
fn a_re_key_from_a_changing_value_runs_once() {
    same_as_native(
        PARENT,
        &["parent", "kid_cascade", "kid_null", "kid_restrict"],
        &[
            "SET @n = 100",
            "UPDATE parent SET id = (@n := @n + 1) WHERE id IN (1, 2)",
            "INSERT INTO parent VALUES (3, 'x', NULL, NULL) ON DUPLICATE KEY UPDATE id = (@n := @n + 10)",
            "UPDATE parent p JOIN kid_cascade k ON k.parent_id = p.id SET p.id = (@n := @n + 1) WHERE k.id = 4",
            "INSERT INTO kid_cascade VALUES (9, @n)",
        ],
    );
}

/// Keys the gateway's own comparison cannot decide (found by a review): U+212A KELVIN
/// SIGN lowercases to `k` in Rust but is another key under `utf8mb4_general_ci`, `ẞ`
/// lowercases to `ß`, `_bin` and NO PAD collations tell case and trailing spaces apart.
/// Natively each is 1452; the gateway left an orphan. Now InnoDB checks them.
#[test]
fn keys_equal_only_when_folded_are_left_to_innodb() {
    let general = "
CREATE TABLE p (k VARCHAR(10) PRIMARY KEY, u INT UNIQUE) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
CREATE TABLE c (id INT PRIMARY KEY, u INT UNIQUE, k VARCHAR(10),
  FOREIGN KEY (k) REFERENCES p (k) ON UPDATE CASCADE) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
CREATE TABLE t (k VARCHAR(10) PRIMARY KEY, parent VARCHAR(10),
  FOREIGN KEY (parent) REFERENCES t (k) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
INSERT INTO p VALUES ('k', 1), ('straße', 2), ('abc', 3);
INSERT INTO c VALUES (1, 1, 'k'), (2, 2, 'straße'), (3, 3, 'abc');
INSERT INTO t VALUES ('r', NULL);
";
    let codes = same_as_native(
        general,
        &["p", "c", "t"],
        &[
            "INSERT INTO c VALUES (9, 1, 'x') ON DUPLICATE KEY UPDATE k = '\u{212A}'",
            "UPDATE c SET k = '\u{212A}' WHERE id = 1",
            "UPDATE c SET k = 'STRA\u{1E9E}E' WHERE id = 2",
            "UPDATE c SET k = 'ABC' WHERE id = 3",
            "INSERT INTO t VALUES ('k', NULL), ('x', '\u{212A}')",
            "INSERT INTO t VALUES ('q', '\u{212A}')",
        ],
    );
    assert_eq!(codes, [1452, 1452, 1452, 0, 1452, 1452]);
    let bin = "
CREATE TABLE t (k VARCHAR(10) PRIMARY KEY, parent VARCHAR(10),
  FOREIGN KEY (parent) REFERENCES t (k) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE n (k VARCHAR(10) PRIMARY KEY, parent VARCHAR(10),
  FOREIGN KEY (parent) REFERENCES n (k)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
INSERT INTO t VALUES ('r', NULL), ('A', 'r');
INSERT INTO n VALUES ('a', NULL);
";
    let codes = same_as_native(
        bin,
        &["t", "n"],
        &[
            "INSERT INTO t VALUES ('Q', 'q')",
            "INSERT INTO t VALUES ('A', 'r') ON DUPLICATE KEY UPDATE k = 'Z', parent = 'z'",
            "UPDATE t SET k = 'B', parent = 'b' WHERE k = 'A'",
            "INSERT INTO t VALUES ('A2', NULL), ('x', 'a2')",
            "INSERT INTO n VALUES ('b', NULL), ('y', 'b ')",
            "UPDATE n SET parent = 'a ' WHERE k = 'a'",
        ],
    );
    assert_eq!(codes, [1452, 1452, 1452, 1452, 1452, 1452]);
}
