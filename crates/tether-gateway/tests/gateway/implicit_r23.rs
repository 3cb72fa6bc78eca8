//! Twenty-third session (review r23d F1, F2 and the binlog point beside them): key
//! columns an UPDATE changes without assigning them. A STORED generated column
//! changes with the columns it reads, an `ON UPDATE CURRENT_TIMESTAMP` column with
//! any change of its row; as a referenced key or an FK column it re-keys children
//! and needs a parent exactly as an assigned one does. The plan counted assigned
//! columns only: the generated key's cascades were not run, its RESTRICT children
//! not probed, a generated FK column not checked (orphans), and a statement
//! assigning only the base column was forwarded, InnoDB's cascade missing the
//! binlog. Each compared with MariaDB natively on an identical database; a
//! `_tether_probe` trigger fires on the gateway's own child statements only (never
//! on InnoDB's cascades), so it shows whose cascade ran.

use mysql_async::prelude::Queryable;

use crate::cascade_r13::differential;
use crate::support::{binlog_files, binlog_server, decode_binlog, row_events, rows, start};

/// `p.g` a STORED generated key (`v * 10`) that `c` cascades from, `n` sets NULL
/// from and `r` restricts; `k` cascades from `p.id`; `vg` a VIRTUAL key `w`
/// cascades from (InnoDB stores no value of it: nothing cascades). The log holds
/// `c` rows the gateway's statements changed.
const PARENT: &str = "
CREATE TABLE p (id INT PRIMARY KEY, v INT, g INT AS (v * 10) STORED, vg INT AS (v * 100) VIRTUAL,
  UNIQUE KEY (g), UNIQUE KEY (vg)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pg INT, FOREIGN KEY (pg) REFERENCES p (g) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE n (id INT PRIMARY KEY, pg INT, FOREIGN KEY (pg) REFERENCES p (g) ON UPDATE SET NULL) ENGINE=InnoDB;
CREATE TABLE r (id INT PRIMARY KEY, pg INT, FOREIGN KEY (pg) REFERENCES p (g)) ENGINE=InnoDB;
CREATE TABLE k (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE w (id INT PRIMARY KEY, pvg INT, FOREIGN KEY (pvg) REFERENCES p (vg) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE log (n INT AUTO_INCREMENT PRIMARY KEY, id INT, pg INT) ENGINE=InnoDB;
CREATE TRIGGER _tether_probe_c AFTER UPDATE ON c FOR EACH ROW INSERT INTO log (id, pg) VALUES (NEW.id, NEW.pg);
INSERT INTO p (id, v) VALUES (1, 1), (2, 2), (3, 3), (4, 4);
INSERT INTO c VALUES (1, 10), (3, 30), (4, 40);
INSERT INTO n VALUES (1, 30);
INSERT INTO r VALUES (1, 20);
INSERT INTO k VALUES (1, 1), (2, 2);
INSERT INTO w VALUES (1, 300);";

const PARENT_TABLES: &[&str] = &["p", "c", "n", "r", "k", "w"];

#[test]
fn a_stored_generated_key_re_keyed_through_its_base_column_cascades_and_restricts_as_natively() {
    let (codes, log) = differential(
        PARENT,
        PARENT_TABLES,
        &[
            // With a re-key of `id` (k cascades): `g` 10 -> 50, c (1, 10) follows.
            "UPDATE p SET id = 11, v = 5 WHERE id = 1",
            // r (1, 20) holds `g` 20: 1451, nothing changes.
            "UPDATE p SET id = 12, v = 6 WHERE id = 2",
            // Only the base column: c (3, 30) follows, n (1, 30) is set NULL; the
            // VIRTUAL `vg` 300 -> 700 leaves w (1, 300) as InnoDB does.
            "UPDATE p SET v = 7 WHERE id = 3",
            // Stored as the INT column stores it: 8.6 is 9, `g` 90.
            "UPDATE p SET v = 8.6 WHERE id = 4",
            // Every row: p 2's `g` is referenced by r, 1451.
            "UPDATE p SET v = v + 100",
            // A row whose `g` stays (same `v`): no child changes.
            "UPDATE p SET v = 2, id = 22 WHERE id = 2",
            // The first row by id (3): `g` 70 -> 80, c (3, 70) follows.
            "UPDATE p SET v = v + 1 ORDER BY id LIMIT 1",
        ],
        "SELECT id, pg FROM log ORDER BY n",
    );
    assert_eq!(codes, vec![0, 1451, 0, 0, 1451, 0, 0]);
    // c's rows were changed by the gateway's statements (binlogged), not InnoDB.
    let log: Vec<Vec<&str>> = log.iter().map(|r| r.iter().map(String::as_str).collect()).collect();
    assert_eq!(
        log,
        vec![vec!["1", "50"], vec!["3", "70"], vec!["4", "90"], vec!["3", "80"]]
    );
}

#[test]
fn a_multi_table_update_of_the_base_column_cascades_the_generated_key_as_natively() {
    let (codes, log) = differential(
        PARENT,
        PARENT_TABLES,
        &[
            // p 1: `id` 1 -> 101 (k follows), `g` 10 -> 510 (c follows).
            "UPDATE p JOIN k ON k.pid = p.id SET p.id = p.id + 100, p.v = p.v + 50 WHERE p.id = 1",
            // p 2: r holds its `g`: 1451.
            "UPDATE p JOIN k ON k.pid = p.id SET p.v = p.v + 50 WHERE p.id = 2",
        ],
        "SELECT id, pg FROM log ORDER BY n",
    );
    assert_eq!(codes, vec![0, 1451]);
    let log: Vec<Vec<&str>> = log.iter().map(|r| r.iter().map(String::as_str).collect()).collect();
    assert_eq!(log, vec![vec!["1", "510"]]);
}

#[test]
fn a_generated_fk_column_changed_through_its_base_column_needs_a_parent_as_natively() {
    for kind in ["STORED", "VIRTUAL"] {
        let (codes, _) = differential(
            &format!(
                "CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid INT, x INT, gx INT AS (x + 1) {kind}, KEY (gx),
  CONSTRAINT c_pid FOREIGN KEY (pid) REFERENCES p (id),
  CONSTRAINT c_gx FOREIGN KEY (gx) REFERENCES p (id)) ENGINE=InnoDB;
INSERT INTO p VALUES (1), (2), (3);
INSERT INTO c (id, pid, x) VALUES (1, 3, 2), (2, 1, 0);"
            ),
            &["p", "c"],
            &[
                // `gx` 51 has no parent: 1452 on c_gx (c_pid's 2 is there).
                "UPDATE c SET pid = 2, x = 50 WHERE id = 1",
                // `gx` 2 has one.
                "UPDATE c SET pid = 2, x = 1 WHERE id = 1",
                // Only the base column: `gx` 4, no parent.
                "UPDATE c SET x = 3 WHERE id = 2",
                "UPDATE c SET x = x + 2",
                "UPDATE c SET x = 0, pid = 1",
            ],
            "SELECT 0",
        );
        assert_eq!(codes, vec![1452, 0, 1452, 1452, 0], "{kind}");
    }
}

/// `ts` (ON UPDATE CURRENT_TIMESTAMP) a key c cascades from and r restricts, and
/// an FK column of another table's `c`. Its new value is the statement's time, which
/// the lock read computes at the time the gateway pins for the plan (here the
/// client's own `SET timestamp`): c's cascades are the gateway's statements (the
/// log; twenty-fourth session, managed_r24).
#[test]
fn an_on_update_current_timestamp_key_cascades_restricts_and_is_checked_as_natively() {
    let (codes, log) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, v INT,
  ts DATETIME NOT NULL DEFAULT '2000-01-01 00:00:00' ON UPDATE CURRENT_TIMESTAMP, UNIQUE KEY (ts)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pts DATETIME, FOREIGN KEY (pts) REFERENCES p (ts) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE r (id INT PRIMARY KEY, pts DATETIME, FOREIGN KEY (pts) REFERENCES p (ts)) ENGINE=InnoDB;
CREATE TABLE k (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE log (n INT AUTO_INCREMENT PRIMARY KEY, id INT) ENGINE=InnoDB;
CREATE TRIGGER _tether_probe_c AFTER UPDATE ON c FOR EACH ROW INSERT INTO log (id) VALUES (NEW.id);
INSERT INTO p (id, v, ts) VALUES (1, 1, '2001-01-01'), (2, 2, '2002-01-01'), (3, 3, '2003-01-01');
INSERT INTO c VALUES (1, '2001-01-01'), (3, '2003-01-01');
INSERT INTO r VALUES (1, '2002-01-01');
INSERT INTO k VALUES (1, 1), (2, 2);",
        &["p", "c", "r", "k"],
        &[
            "SET timestamp = 1700000000",
            // `ts` becomes the statement's time: c (1) follows, k (1) too.
            "UPDATE p SET id = 11 WHERE id = 1",
            "SET timestamp = 1700000100",
            // r (1) holds p 2's `ts`: 1451.
            "UPDATE p SET id = 12 WHERE id = 2",
            "UPDATE p SET v = 9 WHERE id = 3",
            // A statement that leaves the row as it is leaves `ts` too.
            "UPDATE p SET v = 2 WHERE id = 2",
        ],
        "SELECT COUNT(*) FROM log",
    );
    assert_eq!(codes, vec![0, 0, 0, 1451, 0, 0]);
    assert_eq!(
        log,
        vec![vec!["2"]],
        "c (1) and c (3) followed, by the gateway's statements"
    );
    let (codes, _) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, ts DATETIME, UNIQUE KEY (ts)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid INT, ts DATETIME DEFAULT '2001-01-01' ON UPDATE CURRENT_TIMESTAMP,
  CONSTRAINT c_pid FOREIGN KEY (pid) REFERENCES p (id),
  CONSTRAINT c_ts FOREIGN KEY (ts) REFERENCES p (ts)) ENGINE=InnoDB;
INSERT INTO p VALUES (1, '2001-01-01'), (2, '2002-01-01');
INSERT INTO c (id, pid) VALUES (1, 1);",
        &["p", "c"],
        &[
            "SET timestamp = 1700000000",
            // c's `ts` becomes the statement's time, which no parent holds: 1452.
            "UPDATE c SET pid = 2 WHERE id = 1",
            "INSERT INTO p VALUES (3, FROM_UNIXTIME(1700000000))",
            "UPDATE c SET pid = 2 WHERE id = 1",
        ],
        "SELECT 0",
    );
    assert_eq!(codes, vec![0, 1452, 0, 0]);
}

/// The binlog point: a managed UPDATE assigning only the base column of a
/// referenced STORED generated key reaches the binlog with its cascade (c's rows
/// their own row events), where InnoDB's cascade in an unmanaged keyspace has none.
#[test]
fn a_generated_keys_cascade_reaches_the_binlog() {
    const SCHEMA: &str = "
CREATE TABLE p (id INT PRIMARY KEY, v INT, g INT AS (id * 10 + v) STORED, UNIQUE KEY (g)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pg INT,
  FOREIGN KEY (pg) REFERENCES p (g) ON UPDATE CASCADE ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE n (id INT PRIMARY KEY, pg INT, FOREIGN KEY (pg) REFERENCES p (g) ON UPDATE SET NULL) ENGINE=InnoDB;
INSERT INTO p (id, v) VALUES (1, 0), (2, 5);
INSERT INTO c VALUES (1, 10), (2, 25), (3, 25);
INSERT INTO n VALUES (1, 10);";
    const WORKLOAD: &[&str] = &["UPDATE p SET v = 10 WHERE id = 2", "UPDATE p SET id = id + 100"];
    let server = binlog_server().unwrap_or_else(|why| panic!("the private MariaDB: {why}"));
    let admin = server.url("");
    tether_testkit::block_on(async {
        let mut c = server.login().await;
        for db in ["managed_db", "unmanaged_db"] {
            c.query_drop(format!("CREATE DATABASE {db}")).await.expect("create");
            c.query_drop(format!("USE {db}")).await.expect("use");
            c.query_drop(SCHEMA).await.expect("schema");
        }
        c.query_drop("FLUSH BINARY LOGS").await.expect("flush");
        let _ = c.disconnect().await;
    });
    let gw = start(&[
        ("managed", "managed", &format!("{admin}managed_db")),
        ("unmanaged", "unmanaged", &format!("{admin}unmanaged_db")),
    ]);
    let mut states = Vec::new();
    gw.block_on(async {
        for ks in ["managed", "unmanaged"] {
            let mut conn = gw.connect(ks).await;
            for sql in WORKLOAD {
                conn.query_drop(*sql)
                    .await
                    .unwrap_or_else(|e| panic!("{ks}: {sql}: {e}"));
            }
            let mut state = Vec::new();
            for t in ["p", "c", "n"] {
                state.push(rows(&mut conn, &format!("SELECT * FROM {t} ORDER BY id")).await);
            }
            states.push(state);
        }
    });
    assert_eq!(states[0], states[1]);
    assert_eq!(
        states[0][1],
        vec![vec!["1", "1010"], vec!["2", "1030"], vec!["3", "1030"]],
        "c followed both re-keys"
    );
    drop(gw);
    let decoded = decode_binlog(
        &["--base64-output=decode-rows".into(), "-v".into()],
        &binlog_files(&server.dir, None),
    );
    let text = String::from_utf8_lossy(&decoded);
    // p 2's `g` 25 -> 30: c 2, 3; then every `g` + 1000: c 1, 2, 3; n 1 set NULL.
    for (db, c, n) in [("managed_db", 5, 1), ("unmanaged_db", 0, 0)] {
        assert_eq!(row_events(&text, db, "UPDATE", "p"), 3, "{db}: p");
        assert_eq!(row_events(&text, db, "UPDATE", "c"), c, "{db}: c");
        assert_eq!(row_events(&text, db, "UPDATE", "n"), n, "{db}: n");
    }
}

/// ON DUPLICATE KEY UPDATE of the base column of a STORED generated key: the
/// gateway's clash read cannot match a generated unique key, so InnoDB runs it, with
/// its cascades (the log stays empty), as natively.
#[test]
fn an_upsert_changing_the_base_column_of_a_generated_key_runs_as_natively() {
    let (codes, log) = differential(
        PARENT,
        PARENT_TABLES,
        &[
            // Clashes with p 1: `id` 1 -> 11 (k follows), `g` 10 -> 50 (c follows).
            "INSERT INTO p (id, v) VALUES (1, 0) ON DUPLICATE KEY UPDATE id = 11, v = 5",
            // p 2's `g` is r's: 1451.
            "INSERT INTO p (id, v) VALUES (2, 0) ON DUPLICATE KEY UPDATE id = 12, v = VALUES(v) + 6",
            // Only the base column: c (3, 30) follows, n (1, 30) is set NULL.
            "INSERT INTO p (id, v) VALUES (3, 7) ON DUPLICATE KEY UPDATE v = VALUES(v)",
            // No clash: a plain insert.
            "INSERT INTO p (id, v) VALUES (5, 8) ON DUPLICATE KEY UPDATE v = 9",
        ],
        "SELECT id, pg FROM log ORDER BY n",
    );
    assert_eq!(codes, vec![0, 1451, 0, 0]);
    assert!(log.is_empty(), "{log:?}");
}

/// ON DUPLICATE KEY UPDATE of a row whose ON UPDATE CURRENT_TIMESTAMP key is
/// referenced, or is an FK column: InnoDB computes the time and runs it, with its
/// checks and cascades (the log stays empty), as it does for a STORED generated
/// key (whose unique key the gateway's clash read cannot match).
#[test]
fn an_upsert_changing_an_on_update_current_timestamp_key_runs_as_natively() {
    let (codes, log) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, v INT,
  ts DATETIME NOT NULL DEFAULT '2000-01-01 00:00:00' ON UPDATE CURRENT_TIMESTAMP, UNIQUE KEY (ts)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pts DATETIME, FOREIGN KEY (pts) REFERENCES p (ts) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE k (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE d (id INT PRIMARY KEY, pid INT, ts DATETIME DEFAULT '2001-01-01' ON UPDATE CURRENT_TIMESTAMP,
  CONSTRAINT d_pid FOREIGN KEY (pid) REFERENCES p (id), CONSTRAINT d_ts FOREIGN KEY (ts) REFERENCES p (ts)) ENGINE=InnoDB;
CREATE TABLE log (n INT AUTO_INCREMENT PRIMARY KEY, id INT) ENGINE=InnoDB;
CREATE TRIGGER _tether_probe_c AFTER UPDATE ON c FOR EACH ROW INSERT INTO log (id) VALUES (NEW.id);
INSERT INTO p (id, v, ts) VALUES (1, 1, '2001-01-01'), (2, 2, '2002-01-01');
INSERT INTO c VALUES (1, '2001-01-01');
INSERT INTO k VALUES (1, 1);
INSERT INTO d (id, pid) VALUES (1, 1);",
        &["p", "c", "k", "d"],
        &[
            "SET timestamp = 1700000000",
            // d (1) holds p 1's `ts`: 1451.
            "INSERT INTO p (id, v) VALUES (1, 0) ON DUPLICATE KEY UPDATE id = 11",
            "DELETE FROM d",
            // `ts` becomes the statement's time: c (1) and k (1) follow.
            "INSERT INTO p (id, v) VALUES (1, 0) ON DUPLICATE KEY UPDATE id = 11",
            "INSERT INTO d VALUES (1, 2, '2002-01-01')",
            "SET timestamp = 1700000100",
            // d's `ts` becomes a time no parent holds: 1452.
            "INSERT INTO d (id, pid) VALUES (1, 2) ON DUPLICATE KEY UPDATE pid = 11",
        ],
        "SELECT COUNT(*) FROM log",
    );
    assert_eq!(codes, vec![0, 1451, 0, 0, 0, 0, 1452]);
    assert_eq!(log, vec![vec!["0"]]);
}
