//! Python's pymysql (the driver, not our Rust client) against a managed gateway:
//! login with a database, USE, text queries with exact rows and Python types,
//! parameterized statements, rows affected and lastrowid, transactions seen from a
//! second connection, MariaDB's FK errors (1451, 1452) with their exact numbers and
//! messages. The script asserts; the test runs it and shows what it printed.
//!
//! Needs `python3` with pymysql: `bash scripts/test` installs it and exports
//! `TETHER_TEST_PYTHON`.

use std::process::Command;

use tether_testkit::{TestDb, TestEngine};

use crate::support::{start_one, PASSWORD, USER};

const SCHEMA: &str = "
CREATE TABLE parent (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL) ENGINE=InnoDB;
CREATE TABLE child (id INT AUTO_INCREMENT PRIMARY KEY, parent_id INT NOT NULL,
  price DECIMAL(8,2), ratio DOUBLE, born DATE, seen DATETIME(3), data BLOB, note TEXT,
  CONSTRAINT child_parent_fk FOREIGN KEY (parent_id) REFERENCES parent (id)) ENGINE=InnoDB;
INSERT INTO parent VALUES (1, 'one'), (2, 'two'), (3, 'three');
INSERT INTO child (parent_id, price, ratio, born, seen, data, note)
  VALUES (1, 12.50, 0.25, '2024-02-29', '2024-02-29 13:14:15.123', X'00FF', NULL);
";

const SCRIPT: &str = r#"
import sys
from datetime import date, datetime
from decimal import Decimal

import pymysql

host, port, user, password, database = sys.argv[1:]


def connect(**options):
    return pymysql.connect(host=host, port=int(port), user=user, password=password, **options)


def expect(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")
    print(f"ok: {what}")


def query(cursor, sql, args=None):
    cursor.execute(sql, args)
    return cursor.fetchall()


conn = connect(database="ks")  # pymysql's default: autocommit off
cur = conn.cursor()
cur.execute("USE ks")

# Text queries: exact rows, exact Python types (BLOB as bytes, NULL as None).
rows = query(cur, "SELECT id, parent_id, price, ratio, born, seen, data, note FROM child")
expect(
    rows,
    ((1, 1, Decimal("12.50"), 0.25, date(2024, 2, 29), datetime(2024, 2, 29, 13, 14, 15, 123000), b"\x00\xff", None),),
    "row values",
)
expect([type(v).__name__ for v in rows[0]],
       ["int", "int", "Decimal", "float", "date", "datetime", "bytes", "NoneType"], "Python types")
expect([d[0] for d in cur.description],
       ["id", "parent_id", "price", "ratio", "born", "seen", "data", "note"], "column names")
expect(query(cur, "SELECT name FROM parent ORDER BY id"), (("one",), ("two",), ("three",)), "strings")
expect(query(cur, "SELECT 1 + 1, 'é', NULL, 2.50 * 2"), ((2, "é", None, Decimal("5.00")),), "expressions")

# Parameterized statements (pymysql quotes client-side), rows affected, lastrowid.
expect(query(cur, "SELECT name FROM parent WHERE id = %s", (2,)), (("two",),), "parameterized select")
cur.execute("INSERT INTO child (parent_id, price, note, data) VALUES (%s, %s, %s, %s)",
            (2, Decimal("3.10"), "it's", b"\x01\x00"))
expect(cur.rowcount, 1, "rows affected by an INSERT")
expect(cur.lastrowid, 2, "lastrowid after an INSERT")
cur.execute("INSERT INTO child (parent_id) VALUES (%s), (%s)", (3, 3))
expect((cur.rowcount, cur.lastrowid), (2, 3), "rows affected and lastrowid of a multi-row INSERT")
conn.commit()
expect(query(cur, "SELECT parent_id, price, note, data FROM child WHERE id = %s", (2,)),
       ((2, Decimal("3.10"), "it's", b"\x01\x00"),), "parameterized values read back")
cur.execute("UPDATE child SET ratio = %s WHERE parent_id = %s", (1.5, 3))
expect(cur.rowcount, 2, "rows affected by an UPDATE")
conn.commit()

# Transactions, seen from a second connection.
other = connect(database="ks", autocommit=True)
ocur = other.cursor()
conn.begin()
cur.execute("UPDATE parent SET name = %s WHERE id = %s", ("uno", 1))
expect(query(ocur, "SELECT name FROM parent WHERE id = 1"), (("one",),), "uncommitted change invisible")
conn.rollback()
expect(query(ocur, "SELECT name FROM parent WHERE id = 1"), (("one",),), "rolled back")
conn.begin()
cur.execute("UPDATE parent SET name = %s WHERE id = %s", ("uno", 1))
conn.commit()
expect(query(ocur, "SELECT name FROM parent WHERE id = 1"), (("uno",),), "committed change visible")

# Managed FKs: MariaDB's errors, exact numbers and messages, as IntegrityError.
fk = f"(`{database}`.`child`, CONSTRAINT `child_parent_fk` FOREIGN KEY (`parent_id`) REFERENCES `parent` (`id`))"
try:
    cur.execute("DELETE FROM parent WHERE id = %s", (1,))
    raise AssertionError("deleting a referenced parent succeeded")
except pymysql.err.IntegrityError as e:
    expect(e.args, (1451, "Cannot delete or update a parent row: a foreign key constraint fails " + fk), "error 1451")
try:
    cur.execute("INSERT INTO child (parent_id) VALUES (%s)", (99,))
    raise AssertionError("inserting an orphan succeeded")
except pymysql.err.IntegrityError as e:
    expect(e.args, (1452, "Cannot add or update a child row: a foreign key constraint fails " + fk), "error 1452")
conn.rollback()
expect(query(ocur, "SELECT COUNT(*) FROM parent"), ((3,),), "the refused delete changed nothing")
expect(query(ocur, "SELECT COUNT(*) FROM child"), ((4,),), "the refused insert changed nothing")

# Deletes: children (forwarded), then an unreferenced parent (planned: its RESTRICT
# check finds no child).
cur.execute("DELETE FROM child WHERE parent_id = %s", (3,))
expect(cur.rowcount, 2, "rows affected by a planned DELETE")
cur.execute("DELETE FROM parent WHERE id = %s", (3,))
expect(cur.rowcount, 1, "rows affected by a planned parent DELETE")
conn.commit()
expect(query(ocur, "SELECT id FROM parent ORDER BY id"), ((1,), (2,)), "planned deletes committed")

other.close()
conn.close()
print("pymysql: all checks passed")
"#;

/// The Python interpreter with pymysql, or a failure saying how to get one.
pub fn python() -> String {
    let python = std::env::var("TETHER_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_pymysql = Command::new(&python)
        .args(["-c", "import pymysql"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        has_pymysql,
        "`{python}` with pymysql is needed for the gateway's driver test: run the tests with `bash scripts/test` \
         (it installs pymysql and exports TETHER_TEST_PYTHON)"
    );
    python
}

#[test]
fn pymysql_logs_in_queries_and_sees_mariadbs_errors() {
    let python = python();
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SCHEMA);
    let gw = start_one(&db, "managed");
    let out = Command::new(python)
        .args([
            "-c",
            SCRIPT,
            &gw.addr.ip().to_string(),
            &gw.addr.port().to_string(),
            USER,
            PASSWORD,
            &db.name,
        ])
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the pymysql script failed\n{stdout}\n{stderr}");
    assert!(stdout.ends_with("pymysql: all checks passed\n"), "{stdout}");
}
