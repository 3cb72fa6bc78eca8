//! Twenty-fourth session (review r23n N3): an FK column left out of an INSERT (or
//! given `DEFAULT`) whose default is computed from the row (`pid INT DEFAULT (id)`,
//! `DEFAULT (x + 1)`) or anew (`DEFAULT (NEXT VALUE FOR s)`). MariaDB computes the
//! default for the row it writes and InnoDB checks that value (1452 without a
//! parent); the gateway pasted the default's text into its parent probe, where
//! `id` is no column of the parent (1054), or reads the parent's own `id` (any
//! parent matched), or advances the sequence once more than the row does (the row
//! stored the next value, unchecked: an orphan). Every INSERT form is compared
//! with MariaDB natively on an identical database: the same error codes, rows
//! affected, warnings and info, then the same rows; no orphan either way.

use mysql_async::Value;

use crate::cascade_r13::differential;
use crate::values_r14::{same_values_as_native, table, Step};

/// `own.pid` defaults to the row's `id`, `sum.pid` to `x + 1` (ON DELETE CASCADE
/// from `parent`), `seq.pid` to the next value of `s`; `selfref.k` (`id * 10`) is
/// the key its own rows' `pk` references. `mid.pid` defaults to its `id`, and
/// `leaf` cascades from `mid.id`, so REPLACE and ON DUPLICATE KEY UPDATE of `mid`
/// have the gateway's cascades to run; `log` holds the `leaf` rows the gateway's own
/// statements changed (the `_tether_probe` trigger never fires on InnoDB's).
const DEFAULTS: &str = "
CREATE TABLE parent (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE own (id INT PRIMARY KEY, pid INT DEFAULT (id), FOREIGN KEY (pid) REFERENCES parent (id)) ENGINE=InnoDB;
CREATE TABLE sum (id INT PRIMARY KEY, x INT, pid INT DEFAULT (x + 1),
  FOREIGN KEY (pid) REFERENCES parent (id) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE SEQUENCE s START WITH 1;
CREATE TABLE seq (id INT PRIMARY KEY, pid INT DEFAULT (NEXT VALUE FOR s),
  FOREIGN KEY (pid) REFERENCES parent (id)) ENGINE=InnoDB;
CREATE TABLE selfref (id INT PRIMARY KEY, k INT DEFAULT (id * 10), pk INT, UNIQUE KEY (k),
  FOREIGN KEY (pk) REFERENCES selfref (k)) ENGINE=InnoDB;
CREATE TABLE mid (id INT PRIMARY KEY, pid INT DEFAULT (id), FOREIGN KEY (pid) REFERENCES parent (id)) ENGINE=InnoDB;
CREATE TABLE leaf (id INT PRIMARY KEY, mid_id INT,
  FOREIGN KEY (mid_id) REFERENCES mid (id) ON UPDATE CASCADE ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE log (n INT AUTO_INCREMENT PRIMARY KEY, op CHAR(1), id INT, mid_id INT) ENGINE=InnoDB;
CREATE TRIGGER _tether_probe_u AFTER UPDATE ON leaf FOR EACH ROW INSERT INTO log (op, id, mid_id) VALUES ('u', NEW.id, NEW.mid_id);
CREATE TRIGGER _tether_probe_d AFTER DELETE ON leaf FOR EACH ROW INSERT INTO log (op, id, mid_id) VALUES ('d', OLD.id, OLD.mid_id);
INSERT INTO parent VALUES (1), (2), (3), (5), (20);
INSERT INTO mid VALUES (1, 1), (2, 2);
INSERT INTO leaf VALUES (1, 1), (2, 2);";

const ROWS: [&str; 7] = [
    "SELECT id FROM parent ORDER BY id",
    "SELECT id, pid FROM own ORDER BY id",
    "SELECT id, x, pid FROM sum ORDER BY id",
    "SELECT id, pid FROM seq ORDER BY id",
    "SELECT id, k, pk FROM selfref ORDER BY id",
    "SELECT id, pid FROM mid ORDER BY id",
    "SELECT id, mid_id FROM leaf ORDER BY id",
];

/// Orphans of every FK of the schema, counted.
const ORPHANS: &str =
    "SELECT (SELECT COUNT(*) FROM own LEFT JOIN parent p ON p.id = own.pid WHERE own.pid IS NOT NULL AND p.id IS NULL)
  + (SELECT COUNT(*) FROM sum LEFT JOIN parent p ON p.id = sum.pid WHERE sum.pid IS NOT NULL AND p.id IS NULL)
  + (SELECT COUNT(*) FROM seq LEFT JOIN parent p ON p.id = seq.pid WHERE seq.pid IS NOT NULL AND p.id IS NULL)
  + (SELECT COUNT(*) FROM selfref c LEFT JOIN selfref p ON p.k = c.pk WHERE c.pk IS NOT NULL AND p.id IS NULL)
  + (SELECT COUNT(*) FROM mid LEFT JOIN parent p ON p.id = mid.pid WHERE mid.pid IS NOT NULL AND p.id IS NULL)
  + (SELECT COUNT(*) FROM leaf LEFT JOIN mid p ON p.id = leaf.mid_id WHERE leaf.mid_id IS NOT NULL AND p.id IS NULL)";

/// INSERT, INSERT ... SET, `DEFAULT` in VALUES, multi-row VALUES, INSERT ...
/// SELECT, REPLACE, ON DUPLICATE KEY UPDATE and prepared statements into a child
/// whose omitted FK column defaults to another column: 1452 where the computed
/// value has no parent, success where it has one, as natively.
#[test]
fn an_fk_default_that_reads_another_column_is_computed_and_checked_as_natively() {
    let (codes, found) = same_values_as_native(
        DEFAULTS,
        &[
            // `pid` is 7: no parent.
            Step::Text("INSERT INTO own (id) VALUES (7)"),
            Step::Text("INSERT INTO own (id) VALUES (1)"),
            Step::Text("INSERT INTO own VALUES (2, DEFAULT)"),
            Step::Text("INSERT INTO own SET id = 8"),
            // The second row has no parent: nothing is written.
            Step::Text("INSERT INTO own (id) VALUES (3), (9)"),
            Step::Text("INSERT INTO own (id) SELECT 3"),
            Step::Text("INSERT INTO own (id) SELECT 4"),
            Step::Text("REPLACE INTO own (id) VALUES (5)"),
            Step::Text("REPLACE INTO own (id) VALUES (6)"),
            // A clash: the update's `pid = 20` has a parent; no clash: `pid` 6 has none.
            Step::Text("INSERT INTO own (id) VALUES (5) ON DUPLICATE KEY UPDATE pid = 20"),
            Step::Text("INSERT INTO own (id) VALUES (6) ON DUPLICATE KEY UPDATE pid = 1"),
            // `x + 1`: 2 has a parent, 5 too, 9 not.
            Step::Text("INSERT INTO sum (id, x) VALUES (1, 1), (2, 4)"),
            Step::Text("INSERT INTO sum (id, x) VALUES (3, 8)"),
            Step::Text("INSERT INTO sum (id, x) VALUES (3, 19)"),
            Step::Text("INSERT INTO sum (id, x) SELECT 4, 0"),
            Step::Text("INSERT INTO sum (id, x) SELECT 5, 10"),
            // Prepared: planned with the parameters inlined.
            Step::Prepared("INSERT INTO own (id) VALUES (?)", vec![Value::Int(10)]),
            Step::Prepared("INSERT INTO own (id) VALUES (?)", vec![Value::Int(20)]),
            Step::Prepared(
                "INSERT INTO sum (id, x) VALUES (?, ?)",
                vec![Value::Int(6), Value::Int(6)],
            ),
            Step::Prepared(
                "INSERT INTO sum (id, x) VALUES (?, ?)",
                vec![Value::Int(7), Value::Int(2)],
            ),
            Step::Prepared(
                "INSERT INTO own (id) VALUES (?) ON DUPLICATE KEY UPDATE pid = ?",
                vec![Value::Int(11), Value::Int(1)],
            ),
            Step::Prepared("REPLACE INTO own (id) VALUES (?)", vec![Value::Int(3)]),
            // The row's own key is its parent: `k` 10 for `pk` 10; 30 is nobody's.
            Step::Text("INSERT INTO selfref (id, pk) VALUES (1, 10)"),
            Step::Text("INSERT INTO selfref (id, pk) VALUES (2, 30)"),
            Step::Text("INSERT INTO selfref (id, pk) VALUES (2, 10), (3, 20)"),
            // `sum` 2 (`x + 1` = 5) goes with parent 5; `own` 5's `pid` is 20 now.
            Step::Text("DELETE FROM parent WHERE id = 5"),
        ],
        &[&ROWS[..], &[ORPHANS]].concat(),
    );
    assert_eq!(
        codes,
        vec![
            1452, 0, 0, 1452, 1452, 0, 1452, 0, 1452, 0, 1452, 0, 1452, 0, 0, 1452, 1452, 0, 1452, 0, 1452, 0, 0, 1452,
            0, 0
        ]
    );
    assert_eq!(
        found[1],
        table(&[&["1", "1"], &["2", "2"], &["3", "3"], &["5", "20"], &["20", "20"]])
    );
    assert_eq!(
        found[2],
        table(&[&["1", "1", "2"], &["3", "19", "20"], &["4", "0", "1"], &["7", "2", "3"]])
    );
    assert_eq!(
        found[4],
        table(&[&["1", "10", "10"], &["2", "20", "10"], &["3", "30", "20"]])
    );
    assert_eq!(found[7], table(&[&["0"]]), "no orphan");
}

/// REPLACE and ON DUPLICATE KEY UPDATE (one row, several rows, from a SELECT) of
/// `mid`, whose rows `leaf` references and whose omitted `pid` defaults to `id`:
/// the deleted or re-keyed rows' cascades are the gateway's statements (the
/// `_tether_probe` log), the new rows' parents checked as natively; the same rows
/// as natively at the end (so no orphan).
#[test]
fn replace_and_upsert_of_a_referenced_table_with_such_a_default_keep_their_cascades() {
    let (codes, log) = differential(
        DEFAULTS,
        &["parent", "own", "sum", "seq", "selfref", "mid", "leaf"],
        &[
            "INSERT INTO leaf VALUES (3, 2)",
            // `mid` 2 goes (`leaf` 2 and 3 with it) and comes back with `pid` 2.
            "REPLACE INTO mid (id) VALUES (2)",
            // `mid` 1 becomes 3 (`leaf` 1 follows), its `pid` stays 1.
            "INSERT INTO mid (id) VALUES (1) ON DUPLICATE KEY UPDATE id = 3",
            // No clash: the new row's `pid` 9 has no parent.
            "INSERT INTO mid (id) VALUES (9) ON DUPLICATE KEY UPDATE id = 19",
            // Row by row: 3 becomes 13, then 4's `pid` has no parent: nothing stays.
            "INSERT INTO mid (id) VALUES (3), (4) ON DUPLICATE KEY UPDATE id = id + 10",
            "INSERT INTO mid (id) VALUES (3), (20) ON DUPLICATE KEY UPDATE id = id + 10",
            "INSERT INTO leaf VALUES (4, 2)",
            "REPLACE INTO mid (id) SELECT 2",
            "REPLACE INTO mid (id) SELECT 7",
            "INSERT INTO mid (id) VALUES (7) ON DUPLICATE KEY UPDATE id = 8",
        ],
        "SELECT op, id, mid_id FROM log ORDER BY n",
    );
    assert_eq!(codes, vec![0, 0, 0, 1452, 1452, 0, 0, 0, 1452, 1452]);
    assert_eq!(
        log,
        table(&[
            &["d", "2", "2"],
            &["d", "3", "2"],
            &["u", "1", "3"],
            &["u", "1", "13"],
            &["d", "4", "2"]
        ]),
        "the cascades are the gateway's statements"
    );
}

/// `seq.pid` defaults to the next value of `s`: the row takes one value, and
/// InnoDB checks it (the gateway's probe took one value of its own, and the row the
/// next one, unchecked).
#[test]
fn an_fk_default_from_a_sequence_is_taken_once_and_checked_as_natively() {
    let (codes, found) = same_values_as_native(
        DEFAULTS,
        &[
            Step::Text("INSERT INTO seq (id) VALUES (1)"),
            Step::Text("INSERT INTO seq (id) VALUES (2), (3)"),
            Step::Text("INSERT INTO seq (id) VALUES (4)"),
            Step::Text("INSERT INTO seq VALUES (5, DEFAULT)"),
            Step::Prepared("INSERT INTO seq (id) VALUES (?)", vec![Value::Int(6)]),
            Step::Text("INSERT INTO seq (id) SELECT 7"),
            Step::Text("SELECT NEXT VALUE FOR s"),
        ],
        &[ROWS[3], ORPHANS],
    );
    assert_eq!(codes, vec![0, 0, 1452, 0, 1452, 1452, 0]);
    assert_eq!(found[0], table(&[&["1", "1"], &["2", "2"], &["3", "3"], &["5", "5"]]));
    assert_eq!(found[1], table(&[&["0"]]), "no orphan");
}

/// Writer U's left-open item (NOTES, "Twenty-third session writer U"): an UPDATE
/// that changes a row whose ON UPDATE CURRENT_TIMESTAMP column is a referenced key
/// re-keys it to the statement's time. The gateway ran such a statement as InnoDB
/// runs it, its cascades missing the binlog. It now pins the session's time for
/// the plan, so the lock read computes the key the statement stores
/// (`IF(<the row changes>, CURRENT_TIMESTAMP(6), ts)`), and runs the cascades as its
/// own statements: c's and n's row events are in the binlog of the managed
/// keyspace, none in the unmanaged one (InnoDB's), and both end with the same rows
/// (the times themselves differ: the clock is not pinned by the client here).
#[test]
fn an_on_update_current_timestamp_key_is_cascaded_by_the_gateway_into_the_binlog() {
    use mysql_async::prelude::Queryable;

    use crate::support::{binlog_files, binlog_server, decode_binlog, row_events, rows, start};

    const SCHEMA: &str = "
CREATE TABLE p (id INT PRIMARY KEY, v INT,
  ts DATETIME(6) NOT NULL DEFAULT '2000-01-01' ON UPDATE CURRENT_TIMESTAMP(6), UNIQUE KEY (ts)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pts DATETIME(6), FOREIGN KEY (pts) REFERENCES p (ts) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE n (id INT PRIMARY KEY, pts DATETIME(6), FOREIGN KEY (pts) REFERENCES p (ts) ON UPDATE SET NULL) ENGINE=InnoDB;
INSERT INTO p (id, v, ts) VALUES (1, 1, '2001-01-01'), (2, 2, '2002-01-01'), (3, 3, '2003-01-01');
INSERT INTO c VALUES (1, '2001-01-01'), (2, '2002-01-01'), (3, '2003-01-01');
INSERT INTO n VALUES (1, '2001-01-01'), (2, '2002-01-01');";
    const WORKLOAD: &[&str] = &[
        // p 1 changes: `ts` is the statement's time, c (1) follows, n (1) is set NULL.
        "UPDATE p SET v = 10 WHERE id = 1",
        // The row stays as it is (2 over 2, 3.4 stored as 3 over 3): so does `ts`.
        "UPDATE p SET v = 2 WHERE id = 2",
        "UPDATE p SET v = 3.4 WHERE id = 3",
        // A new `id` and a new `ts`: c (3) follows.
        "UPDATE p SET v = 7, id = 30 WHERE id = 3",
    ];
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
            states.push((
                rows(
                    &mut conn,
                    "SELECT c.id, p.id, p.v, c.pts > '2020-01-01' FROM c LEFT JOIN p ON p.ts = c.pts ORDER BY c.id",
                )
                .await,
                rows(&mut conn, "SELECT id, pts FROM n ORDER BY id").await,
            ));
        }
    });
    assert_eq!(states[0], states[1], "managed, then unmanaged");
    assert_eq!(
        states[0].0,
        table(&[&["1", "1", "10", "1"], &["2", "2", "2", "0"], &["3", "30", "7", "1"]]),
        "c followed p 1 and p 3 to their new times"
    );
    assert_eq!(
        states[0].1,
        table(&[&["1", "NULL"], &["2", "2002-01-01 00:00:00.000000"]])
    );
    drop(gw);
    let decoded = decode_binlog(
        &["--base64-output=decode-rows".into(), "-v".into()],
        &binlog_files(&server.dir, None),
    );
    let text = String::from_utf8_lossy(&decoded);
    for (db, c, n) in [("managed_db", 2, 1), ("unmanaged_db", 0, 0)] {
        assert_eq!(row_events(&text, db, "UPDATE", "p"), 2, "{db}: p");
        assert_eq!(row_events(&text, db, "UPDATE", "c"), c, "{db}: c");
        assert_eq!(row_events(&text, db, "UPDATE", "n"), n, "{db}: n");
    }
}

/// The same key with the time pinned by the client (`SET timestamp`), natively and
/// through the gateway: the same codes and rows; a RESTRICT child of the old key
/// (1451), two rows re-keyed to one time in one statement (1062 on the unique
/// key), a row the UPDATE leaves as it is; and the client's own pin stays after
/// the plan (the gateway pins only a time the client has not).
#[test]
fn an_on_update_current_timestamp_key_under_the_client_s_time_is_planned_as_natively() {
    let (codes, log) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, v INT,
  ts DATETIME(6) NOT NULL DEFAULT '2000-01-01' ON UPDATE CURRENT_TIMESTAMP(6), UNIQUE KEY (ts)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pts DATETIME(6), FOREIGN KEY (pts) REFERENCES p (ts) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE r (id INT PRIMARY KEY, pts DATETIME(6), FOREIGN KEY (pts) REFERENCES p (ts)) ENGINE=InnoDB;
CREATE TABLE log (n INT AUTO_INCREMENT PRIMARY KEY, id INT, pts DATETIME(6)) ENGINE=InnoDB;
CREATE TRIGGER _tether_probe_c AFTER UPDATE ON c FOR EACH ROW INSERT INTO log (id, pts) VALUES (NEW.id, NEW.pts);
INSERT INTO p (id, v, ts) VALUES (1, 1, '2001-01-01'), (2, 2, '2002-01-01'), (3, 3, '2003-01-01'), (4, 4, '2004-01-01');
INSERT INTO c VALUES (1, '2001-01-01'), (3, '2003-01-01'), (4, '2004-01-01');
INSERT INTO r VALUES (1, '2002-01-01');",
        &["p", "c", "r"],
        &[
            "SET timestamp = 1700000000.25",
            "UPDATE p SET v = 10 WHERE id = 1",
            // r (1) holds p 2's `ts`.
            "UPDATE p SET v = 20 WHERE id = 2",
            "UPDATE p SET v = v WHERE id = 2",
            // p 3 and p 4 would both take the statement's time.
            "UPDATE p SET v = v + 1 WHERE id IN (3, 4)",
            "SET timestamp = 1700000100.5",
            "UPDATE p SET v = v + 1 WHERE id = 3",
            // Still the client's time.
            "SELECT @@timestamp",
            "UPDATE p SET v = v + 1 WHERE id = 4",
        ],
        "SELECT id, pts FROM log ORDER BY n",
    );
    assert_eq!(codes, vec![0, 0, 1451, 0, 1062, 0, 0, 0, 1062]);
    assert_eq!(
        log,
        table(&[
            &["1", "2023-11-14 22:13:20.250000"],
            &["3", "2023-11-14 22:15:00.500000"]
        ]),
        "the cascades are the gateway's statements"
    );
}

/// A BEFORE UPDATE trigger may change the row where the assignments do not (`v =
/// v` with the trigger adding to `w`): MariaDB then stamps the time, and the
/// children follow. The assignments cannot tell the gateway so; a write to a table
/// with triggers of its own runs as InnoDB runs it (EXPLAIN FK: "table `p` has
/// triggers"), so c follows by InnoDB's cascade (the log stays empty), as natively.
#[test]
fn an_on_update_current_timestamp_key_under_a_before_update_trigger_is_stamped_as_natively() {
    let (codes, orphans) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, v INT, w INT DEFAULT 0,
  ts DATETIME(6) NOT NULL DEFAULT '2000-01-01' ON UPDATE CURRENT_TIMESTAMP(6), UNIQUE KEY (ts)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pts DATETIME(6), FOREIGN KEY (pts) REFERENCES p (ts) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE k (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TRIGGER bump BEFORE UPDATE ON p FOR EACH ROW SET NEW.w = OLD.w + 1;
CREATE TABLE log (n INT AUTO_INCREMENT PRIMARY KEY, id INT) ENGINE=InnoDB;
CREATE TRIGGER _tether_probe_c AFTER UPDATE ON c FOR EACH ROW INSERT INTO log (id) VALUES (NEW.id);
INSERT INTO p (id, v, ts) VALUES (1, 1, '2001-01-01');
INSERT INTO c VALUES (1, '2001-01-01');
INSERT INTO k VALUES (1, 1);",
        &["p", "c", "k"],
        // `id` re-keys k; `v = v` alone would leave `ts`, the trigger's `w` does not.
        &["SET timestamp = 1700000000", "UPDATE p SET v = v, id = 2 WHERE id = 1"],
        "SELECT (SELECT COUNT(*) FROM c JOIN p ON p.ts = c.pts WHERE p.ts > '2020-01-01'), (SELECT COUNT(*) FROM log)",
    );
    assert_eq!(codes, vec![0, 0]);
    assert_eq!(
        orphans,
        table(&[&["1", "0"]]),
        "c followed p 1 to its new time, by InnoDB's cascade"
    );
}
