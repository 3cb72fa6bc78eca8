//! Session state the gateway's plans must not be fooled by (review A, findings 2,
//! 3, 4, 5, 9, 16): the client's `sql_select_limit` / `max_join_size` /
//! `sql_auto_is_null`, sql_mode flags that change what the gateway's statements
//! mean (ORACLE, SIMULTANEOUS_ASSIGNMENT, EMPTY_STRING_IS_NULL), and session
//! temporary tables shadowing the keyspace's tables. Each scenario runs natively
//! and through a managed keyspace: same errors, rows affected and tables.

use mysql_async::prelude::Queryable;
use tether_testkit::{TestDb, TestEngine};

use crate::managed::outcome;
use crate::support::{direct, dump, native_and_gateway, start_one};

/// Review A's schema B, with a RESTRICT child `r` of `p`.
const SCHEMA_B: &str = "
CREATE TABLE p (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid INT,
  FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE r (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id)) ENGINE=InnoDB;
INSERT INTO p VALUES (1, 1), (2, 2), (3, 3);
INSERT INTO c VALUES (10, 1), (11, 2), (12, 3);
INSERT INTO r VALUES (1, 3);
";
const TABLES_B: &[&str] = &["p", "c", "r"];

/// A statement: text, or a prepared statement executed with integer parameters.
enum Step<'a> {
    Text(&'a str),
    Binary(&'a str, Vec<i64>),
}

/// Runs `steps` natively and through a managed keyspace on `schema`, one client
/// each, asserting the same error code and rows affected for every statement
/// (error messages with the database's name normalized), then the same tables.
fn same_as_native(schema: &str, tables: &[&str], steps: &[Step<'_>]) {
    let native = TestDb::create(TestEngine::Mysql);
    let managed = TestDb::create(TestEngine::Mysql);
    native.exec(schema);
    managed.exec(schema);
    let gw = start_one(&managed, "managed");
    gw.block_on(async {
        let (mut n, mut g) = native_and_gateway(&native, &gw, false).await;
        for step in steps {
            let (a, b, sql) = match step {
                Step::Text(sql) => (outcome(&mut n, sql).await, outcome(&mut g, sql).await, *sql),
                Step::Binary(sql, params) => (
                    binary(&mut n, sql, params).await,
                    binary(&mut g, sql, params).await,
                    *sql,
                ),
            };
            let norm = |m: &str, db: &str| m.replace(db, "DB");
            assert_eq!(
                (a.0, a.1, norm(&a.2, &native.name)),
                (b.0, b.1, norm(&b.2, &managed.name)),
                "statement: {sql}"
            );
        }
        // Read on fresh connections: the scenario's temporary tables would hide
        // the keyspace's on the client's.
        let mut nd = direct(&native).await;
        let mut md = direct(&managed).await;
        assert_eq!(dump(&mut nd, tables).await, dump(&mut md, tables).await);
    })
}

use Step::{Binary, Text};

/// Prepares `sql` and executes it with `params`: (error code or 0, rows affected, message).
async fn binary(conn: &mut mysql_async::Conn, sql: &str, params: &[i64]) -> (u16, u64, String) {
    let params = mysql_async::Params::Positional(params.iter().map(|v| (*v).into()).collect());
    match conn.exec_drop(sql, params).await {
        Ok(()) => (0, conn.affected_rows(), String::new()),
        Err(mysql_async::Error::Server(e)) => (e.code, 0, e.message),
        Err(e) => panic!("{sql}: {e}"),
    }
}

/// Finding 2: the client's `sql_select_limit` (1000 under `mariadb
/// --safe-updates`) cut the gateway's lock reads and RESTRICT probes (an orphan
/// child, a RESTRICT bypassed), and its `max_join_size` made them fail (1104).
#[test]
fn the_clients_select_limits_do_not_cut_the_gateways_reads() {
    same_as_native(
        SCHEMA_B,
        TABLES_B,
        &[
            Text("SET sql_select_limit = 1"),
            Text("DELETE FROM p WHERE id IN (1, 2)"),
            Text("DELETE FROM p WHERE id >= 3"),
            Text("UPDATE p SET id = id + 10 WHERE id < 3"),
            Text("SELECT * FROM p"),
        ],
    );
    same_as_native(
        SCHEMA_B,
        TABLES_B,
        &[
            Text("SET max_join_size = 1"),
            Text("DELETE FROM p WHERE id IN (1, 2)"),
            Text("INSERT INTO c VALUES (20, 3)"),
            Text("DELETE FROM p WHERE id = 3"),
        ],
    );
}

/// Finding 16: under `sql_auto_is_null = 1`, `WHERE id IS NULL` finds the row
/// just inserted, once: the gateway's reads must not use it up.
#[test]
fn sql_auto_is_null_finds_the_last_inserted_row_as_natively() {
    let schema = "
CREATE TABLE p (id INT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid INT,
  FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE) ENGINE=InnoDB;
INSERT INTO p VALUES (1, 1), (2, 2);
INSERT INTO c VALUES (10, 1);
";
    same_as_native(
        schema,
        &["p", "c"],
        &[
            Text("SET sql_auto_is_null = 1"),
            Text("INSERT INTO p (v) VALUES (9)"),
            Text("DELETE FROM p WHERE id IS NULL"),
            Text("DELETE FROM p WHERE id IS NULL"),
            Text("DELETE FROM p WHERE id = 1"),
        ],
    );
}

/// Finding 9: under sql_mode ORACLE, BEGIN opens a compound statement (1064):
/// the gateway's own transaction opens with START TRANSACTION.
#[test]
fn oracle_mode_writes_run_in_autocommit() {
    same_as_native(
        SCHEMA_B,
        TABLES_B,
        &[
            Text("SET sql_mode = ORACLE"),
            Text("DELETE FROM p WHERE id = 1"),
            Text("INSERT INTO c VALUES (20, 7)"),
            Text("INSERT INTO c VALUES (20, 2)"),
            Text("DELETE FROM p WHERE id = 3"),
            Text("UPDATE p SET v = id, id = v + 5 WHERE id = 2"),
            Text("DELETE FROM p WHERE v = \"id\""),
        ],
    );
}

/// Finding 4: under SIMULTANEOUS_ASSIGNMENT every assignment sees the old row;
/// the planner's new keys took the earlier assignments' new values.
#[test]
fn simultaneous_assignment_re_keys_as_natively() {
    let schema = "
CREATE TABLE p (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid INT,
  FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p VALUES (1, 50), (2, 60), (3, 70);
INSERT INTO c VALUES (10, 1), (11, 2), (12, 3);
";
    same_as_native(
        schema,
        &["p", "c"],
        &[
            Text("SET sql_mode = CONCAT(@@sql_mode, ',SIMULTANEOUS_ASSIGNMENT')"),
            Text("UPDATE p SET v = id, id = v WHERE id = 1"),
            Text("UPDATE p SET v = v + 1, id = v WHERE id = 2"),
            Text("UPDATE c SET id = pid, pid = id WHERE id = 12"),
            Text("INSERT INTO p VALUES (3, 0) ON DUPLICATE KEY UPDATE v = id, id = v"),
            Text("DELETE FROM p WHERE id = 70"),
        ],
    );
}

/// Finding 5: under EMPTY_STRING_IS_NULL the gateway's `''` literals (keys it
/// read, written back) were NULLs.
#[test]
fn empty_string_is_null_cascades_as_natively() {
    let schema = "
CREATE TABLE sp (k VARCHAR(10) PRIMARY KEY, w VARCHAR(10)) ENGINE=InnoDB;
CREATE TABLE sc (id INT PRIMARY KEY, k VARCHAR(10),
  FOREIGN KEY (k) REFERENCES sp (k) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO sp VALUES ('', 'e'), ('b', ''), ('c', 'x');
INSERT INTO sc VALUES (1, ''), (2, 'b'), (3, 'c');
";
    for first in [
        "DELETE FROM sp WHERE w = 'e'",
        "UPDATE sp SET k = 'zz' WHERE w = 'e'",
        "UPDATE sp SET k = w WHERE k = 'c'",
    ] {
        same_as_native(
            schema,
            &["sp", "sc"],
            &[
                Text("SET sql_mode = CONCAT(@@sql_mode, ',EMPTY_STRING_IS_NULL')"),
                Text(first),
                Text("DELETE FROM sp WHERE k = 'b'"),
            ],
        );
    }
}

/// Finding 3 (a): a temporary table shadowing the child: InnoDB cascades to the
/// real child, the gateway's cascade statements would reach the temporary one.
#[test]
fn a_temporary_table_shadowing_a_child_leaves_no_orphan() {
    same_as_native(
        SCHEMA_B,
        TABLES_B,
        &[
            Text("CREATE TEMPORARY TABLE c (id INT PRIMARY KEY, pid INT)"),
            Text("INSERT INTO c VALUES (100, 1)"),
            Text("DELETE FROM p WHERE id = 1"),
            Text("UPDATE p SET id = 7 WHERE id = 2"),
            Text("DELETE FROM c WHERE id = 100"),
            Text("DROP TEMPORARY TABLE c"),
            // Gone: planned again.
            Text("DELETE FROM p WHERE id = 7"),
        ],
    );
}

/// Finding 3 (b): a temporary table shadowing the parent: InnoDB checks the
/// real parent (1452), text and binary protocol.
#[test]
fn a_temporary_table_shadowing_a_parent_leaves_no_orphan() {
    same_as_native(
        SCHEMA_B,
        TABLES_B,
        &[
            Text("CREATE TEMPORARY TABLE p (id INT PRIMARY KEY, v INT)"),
            Text("INSERT INTO p VALUES (50, 0)"),
            Text("INSERT INTO c VALUES (13, 50)"),
            Binary("INSERT INTO c VALUES (?, ?)", vec![14, 50]),
            Binary("INSERT INTO c VALUES (?, ?)", vec![15, 2]),
            Text("DELETE FROM p WHERE id = 50"),
        ],
    );
}

/// Finding 3 (c): temporary tables created where the gateway did not read the
/// DDL text: through PREPARE / EXECUTE, in an executable comment, or renamed
/// into place. A DELETE of the temporary parent must not cascade to the real
/// child.
#[test]
fn temporary_tables_created_out_of_sight_are_found() {
    for create in [
        vec![
            "PREPARE s FROM 'CREATE TEMPORARY TABLE p (id INT PRIMARY KEY, v INT)'",
            "EXECUTE s",
        ],
        vec!["/*!40101 CREATE TEMPORARY TABLE p (id INT PRIMARY KEY, v INT) */"],
        vec![
            "SET @s = CONCAT('CREATE TEMPO', 'RARY TABLE p (id INT PRIMARY KEY, v INT)')",
            "EXECUTE IMMEDIATE @s",
        ],
        vec![
            "CREATE TEMPORARY TABLE t (id INT PRIMARY KEY, v INT)",
            "ALTER TABLE t RENAME TO p",
        ],
    ] {
        let mut steps: Vec<Step<'_>> = create.into_iter().map(Text).collect();
        steps.extend([
            Text("INSERT INTO p VALUES (2, 0)"),
            Text("DELETE FROM p WHERE id = 2"),
            Text("DROP TEMPORARY TABLE p"),
            Text("DELETE FROM p WHERE id = 1"),
        ]);
        same_as_native(SCHEMA_B, TABLES_B, &steps);
    }
    // A temporary table renamed away: the real table is planned again.
    same_as_native(
        SCHEMA_B,
        TABLES_B,
        &[
            Text("CREATE TEMPORARY TABLE p (id INT PRIMARY KEY, v INT)"),
            Text("ALTER TABLE p RENAME TO t"),
            Text("DELETE FROM p WHERE id = 2"),
            Text("INSERT INTO c VALUES (20, 9)"),
        ],
    );
}
