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
        codes
    })
}

/// [`assert_same_outcome`], then the same `LAST_INSERT_ID()` on both sides.
pub async fn same_outcome(native: &mut Conn, managed: &mut Conn, dbs: [&str; 2], sql: &str, context: &str) -> u16 {
    let code = assert_same_outcome(native, managed, dbs, sql, context).await;
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
