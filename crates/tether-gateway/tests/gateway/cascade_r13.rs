//! Thirteenth review, cascades: InnoDB's depth limit where rows are reachable by
//! paths of different lengths (its depth-first order decides), and cascaded child
//! values checked against the child's other FKs (error 1452), each compared with
//! MariaDB natively on an identical database. `_tether_` probe triggers fire on the
//! gateway's own child statements only (never on InnoDB's cascades): they show the
//! cascades of a statement that succeeds are still the gateway's.

use tether_testkit::{TestDb, TestEngine};

use crate::clash::same_outcome;
use mysql_async::Conn;

use crate::support::{direct, native_and_gateway, rows, start_one};

/// Runs `statements` natively and through a managed gateway on `schema`: the same
/// outcome for each (error code and message, rows affected, warnings, info), the
/// same `tables` at the end. The error codes, and `probe` read on the gateway's
/// database.
pub(crate) fn differential(
    schema: &str,
    tables: &[&str],
    statements: &[&str],
    probe: &str,
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
            let context = format!("statement {i}");
            codes.push(same_outcome(&mut n, &mut g, [&native.name, &managed.name], sql, &context).await);
        }
        let mut m = direct(&managed).await;
        assert_eq!(dump(&mut n, tables).await, dump(&mut m, tables).await, "final tables");
        (codes, rows(&mut m, probe).await)
    })
}

/// Every row of `tables`, each table in primary-key order.
async fn dump(conn: &mut Conn, tables: &[&str]) -> Vec<(String, Vec<Vec<String>>)> {
    let mut out = Vec::new();
    for t in tables {
        out.push((
            t.to_string(),
            rows(conn, &format!("SELECT * FROM {t} ORDER BY 1")).await,
        ));
    }
    out
}

/// A 20-row self-referencing chain whose every row also references `r` 1: InnoDB
/// deletes the `root_id` children in index order, and the first one's cascade runs
/// down the chain past the depth limit (1296, nothing deleted). The gateway went
/// breadth first, met every row at depth 1, and deleted them all.
#[test]
fn a_chain_entered_at_every_row_meets_the_depth_limit_as_natively() {
    let chain: Vec<String> = (101..=119).map(|i| format!("({i}, {}, 1)", i - 1)).collect();
    let short: Vec<String> = (201..=210).map(|i| format!("({i}, {}, 2)", i - 1)).collect();
    let schema = format!(
        "CREATE TABLE r (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE n (id INT PRIMARY KEY, parent_id INT, root_id INT,
  FOREIGN KEY (parent_id) REFERENCES n (id) ON DELETE CASCADE,
  FOREIGN KEY (root_id) REFERENCES r (id) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE log (k INT AUTO_INCREMENT PRIMARY KEY, id INT) ENGINE=InnoDB;
CREATE TRIGGER _tether_probe_d AFTER DELETE ON n FOR EACH ROW INSERT INTO log (id) VALUES (OLD.id);
INSERT INTO r VALUES (1), (2), (3);
INSERT INTO n VALUES (100, NULL, 1), {}, (200, NULL, 2), {};
INSERT INTO n VALUES (300, NULL, 3);",
        chain.join(", "),
        short.join(", ")
    );
    let (codes, log) = differential(
        &schema,
        &["r", "n"],
        &[
            "DELETE FROM r WHERE id = 1",
            // An 11-row chain entered at every row stays within the limit: the
            // cascade succeeds, and its deletes are the gateway's statements.
            "DELETE FROM r WHERE id = 2",
        ],
        "SELECT COUNT(*), MIN(id), MAX(id) FROM log",
    );
    assert_eq!(codes, vec![1296, 0]);
    assert_eq!(log, vec![vec!["11", "200", "210"]]);
}

/// t1 .. t15 a 15-table chain from t0, and t15 also a child of t0 by a constraint
/// named before the chain's (`a_short`): InnoDB takes `a_short` first and deletes
/// t15's row at depth 1, so the chain finds nothing at depth 15 and the statement
/// succeeds. Named after it (`z_short`), the chain gets there first: 1296. The
/// gateway refused the first with 1296 (it probed t15's row, which its plan
/// deleted already but had not run yet).
#[test]
fn a_shortcut_taken_first_keeps_a_long_chain_within_the_depth_limit() {
    for (shortcut, expected) in [("a_short", 0), ("z_short", 1296)] {
        let mut schema = String::from("CREATE TABLE t0 (id INT PRIMARY KEY) ENGINE=InnoDB;\n");
        for i in 1..=14 {
            schema.push_str(&format!(
                "CREATE TABLE t{i} (id INT PRIMARY KEY, up INT, CONSTRAINT fk_chain_{i:02} FOREIGN KEY (up) \
                 REFERENCES t{} (id) ON DELETE CASCADE) ENGINE=InnoDB;\n",
                i - 1
            ));
        }
        schema.push_str(&format!(
            "CREATE TABLE t15 (id INT PRIMARY KEY, up INT, sc INT,
  CONSTRAINT {shortcut} FOREIGN KEY (sc) REFERENCES t0 (id) ON DELETE CASCADE,
  CONSTRAINT fk_chain_15 FOREIGN KEY (up) REFERENCES t14 (id) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE log (k INT AUTO_INCREMENT PRIMARY KEY, id INT) ENGINE=InnoDB;
CREATE TRIGGER _tether_probe_d AFTER DELETE ON t15 FOR EACH ROW INSERT INTO log (id) VALUES (OLD.id);
INSERT INTO t0 VALUES (1);\n"
        ));
        for i in 1..=14 {
            schema.push_str(&format!("INSERT INTO t{i} VALUES (1, 1);\n"));
        }
        schema.push_str("INSERT INTO t15 VALUES (1, 1, 1);\n");
        let tables: Vec<String> = (0..=15).map(|i| format!("t{i}")).collect();
        let tables: Vec<&str> = tables.iter().map(String::as_str).collect();
        let (codes, log) = differential(&schema, &tables, &["DELETE FROM t0 WHERE id = 1"], "SELECT id FROM log");
        assert_eq!(codes, vec![expected], "{shortcut}");
        let deleted: Vec<Vec<&str>> = match expected {
            0 => vec![vec!["1"]],
            _ => vec![],
        };
        assert_eq!(log, deleted, "{shortcut}: t15's delete is a statement of the gateway's");
    }
}

/// ON UPDATE CASCADE into a column a second FK (to another parent) also holds:
/// InnoDB checks the cascaded row against it and refuses with 1452; the gateway
/// wrote `c.x = 5`, which `p2` does not have (an orphan).
#[test]
fn a_cascaded_value_is_checked_against_the_childs_other_fk() {
    let (codes, moved) = differential(
        "CREATE TABLE p1 (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE p2 (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, x INT,
  FOREIGN KEY (x) REFERENCES p1 (id) ON UPDATE CASCADE ON DELETE SET NULL,
  FOREIGN KEY (x) REFERENCES p2 (id)) ENGINE=InnoDB;
CREATE TABLE log (k INT AUTO_INCREMENT PRIMARY KEY, id INT, x INT) ENGINE=InnoDB;
CREATE TRIGGER _tether_probe_u AFTER UPDATE ON c FOR EACH ROW INSERT INTO log (id, x) VALUES (NEW.id, NEW.x);
INSERT INTO p1 VALUES (1), (2), (3); INSERT INTO p2 VALUES (1), (2), (6);
INSERT INTO c VALUES (10, 1), (20, 2);",
        &["p1", "p2", "c"],
        &[
            "UPDATE p1 SET id = 5 WHERE id = 1",
            "UPDATE p1 SET id = 4 WHERE id IN (1, 3)",
            // p2 has 6: the cascade passes, as the gateway's own statement.
            "UPDATE p1 SET id = 6 WHERE id = 2",
            "DELETE FROM p1 WHERE id = 1",
        ],
        "SELECT id, x FROM log ORDER BY k",
    );
    assert_eq!(codes, vec![1452, 1452, 0, 0]);
    assert_eq!(moved, vec![vec!["20", "6"], vec!["10", "NULL"]]);
}

/// The cascaded column inside a composite FK (`(a, b)` to `q`): the row whose `b`
/// is NULL is not checked (MATCH SIMPLE), the other one is: 1452.
#[test]
fn a_cascaded_value_is_checked_against_a_composite_fk_sharing_its_column() {
    let (codes, _) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE q (a INT, b INT, PRIMARY KEY (a, b)) ENGINE=InnoDB;
CREATE TABLE c2 (id INT PRIMARY KEY, a INT, b INT,
  FOREIGN KEY (a) REFERENCES p (id) ON UPDATE CASCADE,
  FOREIGN KEY (a, b) REFERENCES q (a, b)) ENGINE=InnoDB;
INSERT INTO p VALUES (3), (4); INSERT INTO q VALUES (3, 1), (9, 1);
INSERT INTO c2 VALUES (1, 3, 1), (2, 3, NULL), (3, 4, NULL);",
        &["p", "q", "c2"],
        &[
            "UPDATE p SET id = 8 WHERE id = 3",
            "UPDATE p SET id = 9 WHERE id = 3",
            "UPDATE p SET id = 7 WHERE id = 4",
        ],
        "SELECT 1",
    );
    assert_eq!(codes, vec![1452, 0, 0]);
}

/// Two FKs of one column to the same parent: the one that cascades re-keys the
/// row, the other (SET NULL, named after it) checks the new value, which the
/// parent does not have yet: 1452 naming it. Named first, SET NULL runs first and
/// the cascade finds nothing.
#[test]
fn two_fks_of_one_column_to_one_parent_match_native() {
    for (null, cascade, expected) in [("z_null", "b_casc", 1452), ("a_null", "b_casc", 0)] {
        let (codes, _) = differential(
            &format!(
                "CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, x INT,
  CONSTRAINT {null} FOREIGN KEY (x) REFERENCES p (id) ON DELETE SET NULL ON UPDATE SET NULL,
  CONSTRAINT {cascade} FOREIGN KEY (x) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p VALUES (2); INSERT INTO c VALUES (20, 2);"
            ),
            &["p", "c"],
            &["UPDATE p SET id = 5 WHERE id = 2"],
            "SELECT 1",
        );
        assert_eq!(codes, vec![expected], "{null} / {cascade}");
    }
}
