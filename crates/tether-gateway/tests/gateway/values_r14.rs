//! Review r14 G, finding 1: a new key computed by an expression (`SET id =
//! 20.5e0`, `TIME'00:00:07'`, `b'1000'`, a prepared DOUBLE / TIME / DATETIME
//! parameter) is cascaded and checked against its parent as the column stores the
//! expression's value: a DOUBLE rounded half to even (20.5e0 is 20, 4.5e0 is 4), a
//! time or date as its number (7, 20200102), a bit literal as its number (8). Each
//! scenario runs natively and through a managed gateway: the same error codes,
//! rows affected, warnings and info per statement, then the same rows (HEX of the
//! keys) in every table.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};
use tether_testkit::{TestDb, TestEngine};

use crate::clash::same_outcome;
use crate::support::{direct, native_and_gateway, rows, start_one};

const SCHEMA: &str = "
CREATE TABLE p (id INT PRIMARY KEY, f DOUBLE) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid INT,
  FOREIGN KEY (pid) REFERENCES p(id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE d (id INT PRIMARY KEY, pid INT,
  FOREIGN KEY (pid) REFERENCES p(id) ON DELETE SET NULL ON UPDATE SET NULL) ENGINE=InnoDB;
INSERT INTO p VALUES (1,NULL),(2,NULL),(3,NULL),(4,NULL),(5,NULL);
INSERT INTO c VALUES (1,1),(2,1),(3,2),(4,3);
INSERT INTO d VALUES (1,1),(2,2);
";

const KEYS: [&str; 3] = [
    "SELECT HEX(id) FROM p ORDER BY id",
    "SELECT id, HEX(pid) FROM c ORDER BY id",
    "SELECT id, HEX(pid) FROM d ORDER BY id",
];

/// One statement: text, or prepared with typed binary parameters.
pub(crate) enum Step<'a> {
    Text(&'a str),
    Prepared(&'a str, Vec<Value>),
}

/// A prepared statement's outcome: the error code (0) and rows affected.
async fn prepared(conn: &mut Conn, sql: &str, params: Vec<Value>) -> (u16, u64) {
    match conn.exec_drop(sql, params).await {
        Ok(()) => (0, conn.affected_rows()),
        Err(mysql_async::Error::Server(e)) => (e.code, 0),
        Err(other) => panic!("{sql}: {other}"),
    }
}

/// Runs `steps` natively and through a managed gateway on `schema`, each with the
/// same outcome, then `queries` on both databases directly: the native error codes
/// and the queries' native rows (equal to the gateway's).
pub(crate) fn same_values_as_native(
    schema: &str,
    steps: &[Step],
    queries: &[&str],
) -> (Vec<u16>, Vec<Vec<Vec<String>>>) {
    let native = TestDb::create(TestEngine::Mysql);
    let managed = TestDb::create(TestEngine::Mysql);
    native.exec(schema);
    managed.exec(schema);
    let gw = start_one(&managed, "managed");
    gw.block_on(async {
        let (mut n, mut g) = native_and_gateway(&native, &gw, false).await;
        let mut codes = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let context = format!("statement {i}");
            match step {
                Step::Text(sql) => {
                    codes.push(same_outcome(&mut n, &mut g, [&native.name, &managed.name], sql, &context).await)
                }
                Step::Prepared(sql, params) => {
                    let a = prepared(&mut n, sql, params.clone()).await;
                    let b = prepared(&mut g, sql, params.clone()).await;
                    assert_eq!(a, b, "{context}: {sql} {params:?}: native, then the gateway");
                    codes.push(a.0);
                }
            }
        }
        let mut m = direct(&managed).await;
        let mut found = Vec::new();
        for q in queries {
            let (a, b) = (rows(&mut n, q).await, rows(&mut m, q).await);
            assert_eq!(a, b, "{q}: native, then the gateway's database");
            found.push(a);
        }
        (codes, found)
    })
}

pub(crate) fn table(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter().map(|r| r.iter().map(|v| v.to_string()).collect()).collect()
}

/// A DOUBLE new key is stored rounded half to even: 20.5e0 is 20 (the children
/// follow to 20, not 21), 2.5e0 is 2 (the key does not change: nothing cascades,
/// nothing is set NULL).
#[test]
fn double_parent_keys_cascade_as_stored() {
    let (codes, found) = same_values_as_native(
        SCHEMA,
        &[
            Step::Text("UPDATE p SET id=20.5e0 WHERE id=1"),
            Step::Text("UPDATE p SET id=2.5e0 WHERE id=2"),
            Step::Text("UPDATE p SET id=9/2e0 + 0.5e0 WHERE id=5"),
        ],
        &KEYS,
    );
    assert_eq!(codes, [0, 0, 0]);
    assert_eq!(found[0], table(&[&["2"], &["3"], &["4"], &["5"], &["14"]]));
    assert_eq!(found[1], table(&[&["1", "14"], &["2", "14"], &["3", "2"], &["4", "3"]]));
    assert_eq!(found[2], table(&[&["1", "NULL"], &["2", "2"]]));
}

/// A child's new DOUBLE value is checked as stored: 4.5e0 and 9/2e0 are 4, whose
/// parent is gone (1452, natively too), in an UPDATE, an ON DUPLICATE KEY UPDATE,
/// a REPLACE and a REPLACE ... SELECT; 2.5e0 is 2, which exists.
#[test]
fn double_child_values_are_checked_as_stored() {
    let (codes, found) = same_values_as_native(
        SCHEMA,
        &[
            Step::Text("DELETE FROM p WHERE id=4"),
            Step::Text("UPDATE c SET pid=4.5e0 WHERE id=3"),
            Step::Text("UPDATE c SET pid=9/2e0 WHERE id=4"),
            Step::Text("INSERT INTO c (id,pid) VALUES (3,1) ON DUPLICATE KEY UPDATE pid=4.5e0"),
            Step::Text("REPLACE INTO c VALUES (3, 4.5e0)"),
            Step::Text("REPLACE INTO c SELECT 3, 4.5e0"),
            Step::Text("UPDATE c SET pid=2.5e0 WHERE id=4"),
            Step::Text("INSERT INTO c (id,pid) VALUES (1,1) ON DUPLICATE KEY UPDATE pid=10/4e0"),
        ],
        &KEYS,
    );
    assert_eq!(codes, [0, 1452, 1452, 1452, 1452, 1452, 0, 0]);
    assert_eq!(found[0], table(&[&["1"], &["2"], &["3"], &["5"]]));
    assert_eq!(found[1], table(&[&["1", "2"], &["2", "1"], &["3", "2"], &["4", "2"]]));
}

/// Strict mode: a TIME, DATE or bit-literal new key is stored as its number (7,
/// 20200102, 8), cascaded so, and a child's TIME value checked so.
#[test]
fn temporal_and_bit_keys_are_stored_as_numbers_in_strict_mode() {
    let (codes, found) = same_values_as_native(
        SCHEMA,
        &[
            Step::Text("INSERT INTO c VALUES (5,5)"),
            Step::Text("UPDATE p SET id=TIME'00:00:07' WHERE id=1"),
            Step::Text("UPDATE p SET id=b'1000' WHERE id=3"),
            Step::Text("UPDATE c SET pid=TIME'00:00:05' WHERE id=4"),
            Step::Text("UPDATE p SET id=DATE'2020-01-02' WHERE id=5"),
            Step::Text("UPDATE c SET pid=0x02 WHERE id=1"),
            Step::Text("UPDATE c SET pid=TIME'00:00:09' WHERE id=2"),
            Step::Text("UPDATE d SET pid=b'1000' WHERE id=1"),
        ],
        &KEYS,
    );
    assert_eq!(codes, [0, 0, 0, 0, 0, 0, 1452, 0]);
    assert_eq!(found[0], table(&[&["2"], &["4"], &["7"], &["8"], &["1343AA6"]]));
    assert_eq!(
        found[1],
        table(&[
            &["1", "2"],
            &["2", "7"],
            &["3", "2"],
            &["4", "1343AA6"],
            &["5", "1343AA6"]
        ])
    );
    assert_eq!(found[2], table(&[&["1", "8"], &["2", "2"]]));
}

/// Outside strict mode the same keys were stored as 0 (a string into an INT) and
/// the children left pointing at no parent: now they follow to 7 and 8.
#[test]
fn temporal_and_bit_keys_cascade_as_stored_outside_strict_mode() {
    let (codes, found) = same_values_as_native(
        SCHEMA,
        &[
            Step::Text("SET sql_mode=''"),
            Step::Text("UPDATE p SET id=TIME'00:00:07' WHERE id=1"),
            Step::Text("UPDATE p SET id=b'1000' WHERE id=2"),
            Step::Text("UPDATE p SET id=20.5e0 WHERE id=3"),
            Step::Text("DELETE FROM p WHERE id=4"),
            Step::Text("UPDATE c SET pid=4.5e0 WHERE id=4"),
        ],
        &KEYS,
    );
    assert_eq!(codes, [0, 0, 0, 0, 0, 1452]);
    assert_eq!(found[0], table(&[&["5"], &["7"], &["8"], &["14"]]));
    assert_eq!(found[1], table(&[&["1", "7"], &["2", "7"], &["3", "8"], &["4", "14"]]));
    assert_eq!(found[2], table(&[&["1", "NULL"], &["2", "NULL"]]));
}

/// Prepared statements with binary DOUBLE, FLOAT and TIME parameters: the same
/// keys as the text forms.
#[test]
fn prepared_double_and_time_parameters_are_stored_as_the_column_stores_them() {
    let update_p = "UPDATE p SET id=? WHERE id=?";
    let update_c = "UPDATE c SET pid=? WHERE id=?";
    let (codes, found) = same_values_as_native(
        SCHEMA,
        &[
            Step::Prepared(update_p, vec![Value::Double(20.5), Value::Int(1)]),
            Step::Prepared(update_p, vec![Value::Double(2.5), Value::Int(2)]),
            Step::Prepared(update_p, vec![Value::Float(6.5), Value::Int(5)]),
            Step::Text("DELETE FROM p WHERE id=4"),
            Step::Prepared(update_c, vec![Value::Double(4.5), Value::Int(3)]),
            Step::Prepared(
                "INSERT INTO c (id,pid) VALUES (?,?) ON DUPLICATE KEY UPDATE pid=?",
                vec![Value::Int(3), Value::Int(1), Value::Double(4.5)],
            ),
            Step::Prepared(update_p, vec![Value::Time(false, 0, 0, 0, 7, 0), Value::Int(20)]),
            Step::Prepared(update_c, vec![Value::Time(false, 0, 0, 0, 3, 0), Value::Int(4)]),
        ],
        &KEYS,
    );
    assert_eq!(codes, [0, 0, 0, 0, 1452, 1452, 0, 0]);
    assert_eq!(found[0], table(&[&["2"], &["3"], &["6"], &["7"]]));
    assert_eq!(found[1], table(&[&["1", "7"], &["2", "7"], &["3", "2"], &["4", "3"]]));
    assert_eq!(found[2], table(&[&["1", "NULL"], &["2", "2"]]));
}

/// A prepared DATETIME parameter into a BIGINT key is its number
/// (20200102030405), natively and through the gateway.
#[test]
fn prepared_datetime_parameters_are_stored_as_numbers() {
    let schema = "
CREATE TABLE p (id BIGINT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid BIGINT,
  FOREIGN KEY (pid) REFERENCES p(id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p VALUES (1), (2);
INSERT INTO c VALUES (1,1), (2,2);
";
    let (codes, found) = same_values_as_native(
        schema,
        &[
            Step::Prepared(
                "UPDATE p SET id=? WHERE id=?",
                vec![Value::Date(2020, 1, 2, 3, 4, 5, 0), Value::Int(1)],
            ),
            Step::Prepared(
                "UPDATE c SET pid=? WHERE id=?",
                vec![Value::Date(2020, 1, 2, 3, 4, 6, 0), Value::Int(2)],
            ),
        ],
        &["SELECT HEX(id) FROM p ORDER BY id", "SELECT id, pid FROM c ORDER BY id"],
    );
    assert_eq!(codes, [0, 1452]);
    assert_eq!(found[0], table(&[&["2"], &["125F33E7EC45"]]));
    assert_eq!(found[1], table(&[&["1", "20200102030405"], &["2", "2"]]));
}

/// A REPLACE or ON DUPLICATE KEY UPDATE of a parent whose new key is a DOUBLE
/// (2.5e0, stored 2): the row it clashes with is the stored key's, its children go
/// (REPLACE) or follow the new key (ON DUPLICATE KEY UPDATE), natively and through
/// the gateway.
#[test]
fn double_keys_clash_as_stored_in_replace_and_upsert() {
    let (codes, found) = same_values_as_native(
        SCHEMA,
        &[
            Step::Text("REPLACE INTO p VALUES (2.5e0, 1)"),
            Step::Text("INSERT INTO c VALUES (5, 2), (6, 5)"),
            Step::Text("INSERT INTO p VALUES (1.5e0, 1) ON DUPLICATE KEY UPDATE id = 30.5e0"),
            Step::Text("INSERT INTO p VALUES (3, 1) ON DUPLICATE KEY UPDATE id = TIME'00:00:09'"),
            Step::Prepared(
                "INSERT INTO p VALUES (?, 1) ON DUPLICATE KEY UPDATE id = ?",
                vec![Value::Int(5), Value::Double(40.5)],
            ),
        ],
        &KEYS,
    );
    assert_eq!(codes, [0, 0, 0, 0, 0]);
    assert_eq!(found[0], table(&[&["1"], &["4"], &["9"], &["1E"], &["28"]]));
    assert_eq!(
        found[1],
        table(&[&["1", "1"], &["2", "1"], &["4", "9"], &["5", "1E"], &["6", "28"]])
    );
    assert_eq!(found[2], table(&[&["1", "1"], &["2", "NULL"]]));
}
