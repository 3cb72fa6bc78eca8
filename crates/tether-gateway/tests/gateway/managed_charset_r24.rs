//! Twenty-fourth session (review r24a findings 1 and 2): keys the gateway reads
//! on the client's session and writes back into the statements it issues.
//!
//! 1. Character sets: a session whose `character_set_results` cannot hold a key
//!    (`SET NAMES latin1`, a latin1 handshake) read it as `?`, and the cascades
//!    by `?` missed the key's children (or hit the children of a key `?`); a
//!    session whose `character_set_connection` cannot hold it read the gateway's
//!    quoted `'ł'` as `'?'`. The gateway now reads in utf8mb4 and writes text
//!    outside ASCII as `_utf8mb4 X'..'`; a prepared statement's string parameter
//!    that is not UTF-8 is written in the client's character set.
//! 2. Time zones: a TIMESTAMP read as local time names two instants in the hour
//!    a zone with daylight saving time repeats; such writes now run as InnoDB
//!    runs them, while fixed offsets keep the gateway's plans.
//!
//! Each compared with MariaDB natively on an identical database.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, Value};
use tether_testkit::{TestDb, TestEngine};

use crate::clash::same_outcome;
use crate::support::{direct, native_and_gateway, rows, start, start_one, zoned_server, BinlogServer};

/// Runs `statements` natively and through a managed gateway on `schema`, each
/// connection keeping its session settings: the same outcome for each statement,
/// then the same `tables`, read on fresh connections (utf8mb4, the server's
/// zone). The error codes.
fn differential(schema: &str, tables: &[&str], statements: &[&str]) -> Vec<u16> {
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
        let (mut n, mut m) = (direct(&native).await, direct(&managed).await);
        for t in tables {
            let sql = format!("SELECT * FROM {t} ORDER BY 1");
            assert_eq!(
                rows(&mut n, &sql).await,
                rows(&mut m, &sql).await,
                "{t} after {statements:?}"
            );
        }
        codes
    })
}

/// Parents keyed by text latin1 cannot hold (`ł`, an emoji, `ż`, `Ω`), by text it
/// can (`é`) and by `?` itself; `q` keyed by such text in its primary key (a
/// DELETE with LIMIT re-applies the keys its trial read); `lp` a latin1 column.
const TEXT_KEYS: &str = "CREATE TABLE p (id INT PRIMARY KEY, k VARCHAR(10) CHARACTER SET utf8mb4 UNIQUE) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, k VARCHAR(10) CHARACTER SET utf8mb4,
  FOREIGN KEY (k) REFERENCES p (k) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE q (k VARCHAR(10) CHARACTER SET utf8mb4 PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE d (id INT PRIMARY KEY, k VARCHAR(10) CHARACTER SET utf8mb4,
  FOREIGN KEY (k) REFERENCES q (k) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE lp (k VARCHAR(10) CHARACTER SET latin1 PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE lc (id INT PRIMARY KEY, k VARCHAR(10) CHARACTER SET latin1,
  FOREIGN KEY (k) REFERENCES lp (k) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p VALUES (1, 'ł'), (2, '?'), (3, '😀'), (4, 'é'), (5, 'ż'), (6, 'x'), (7, 'Ω');
INSERT INTO c VALUES (1, 'ł'), (2, '?'), (3, '😀'), (4, 'é'), (5, 'ż'), (7, 'Ω');
INSERT INTO q VALUES ('a'), ('ł'), ('?');
INSERT INTO d VALUES (1, 'a'), (2, 'ł'), (3, '?');
INSERT INTO lp VALUES ('é'), ('ñ'), ('a');
INSERT INTO lc VALUES (1, 'é'), (2, 'ñ'), (3, 'a');";

const TEXT_TABLES: [&str; 6] = ["p", "c", "q", "d", "lp", "lc"];

/// The writes of [`TEXT_KEYS`] after `setting`: deletes, re-keys (a new key the
/// client wrote, read in its character set), an upsert, a REPLACE and a DELETE
/// with LIMIT, each cascading from keys outside ASCII.
fn text_writes(setting: &str) -> Vec<String> {
    [
        setting,
        "DELETE FROM p WHERE id = 1",
        "UPDATE p SET id = 30, k = 'x3' WHERE id = 3",
        "UPDATE p SET k = 'é2' WHERE id = 4",
        "INSERT INTO p VALUES (5, 'z5') ON DUPLICATE KEY UPDATE k = 'z5'",
        "REPLACE INTO p VALUES (7, 'w')",
        "DELETE FROM q ORDER BY k DESC LIMIT 1",
        "UPDATE lp SET k = CONCAT(k, '1') WHERE k <> 'a'",
        "DELETE FROM lp WHERE k LIKE 'ñ%'",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn cascades_from_keys_the_sessions_character_sets_cannot_hold_find_their_children() {
    for setting in [
        "SET NAMES latin1",
        "SET character_set_results = latin1",
        "SET character_set_results = NULL",
        "SET character_set_connection = latin1",
        "SET character_set_client = latin1",
        "SET NAMES utf8mb4",
    ] {
        let writes = text_writes(setting);
        let statements: Vec<&str> = writes.iter().map(String::as_str).collect();
        let codes = differential(TEXT_KEYS, &TEXT_TABLES, &statements);
        assert_eq!(codes, vec![0; statements.len()], "{setting}");
    }
}

/// The stock `mariadb` command logging in with latin1 (no SET of its own in the
/// script): the same tables as natively.
#[test]
fn a_client_logged_in_with_latin1_cascades_as_natively() {
    let native = TestDb::create(TestEngine::Mysql);
    let managed = TestDb::create(TestEngine::Mysql);
    native.exec(TEXT_KEYS);
    managed.exec(TEXT_KEYS);
    let gw = start_one(&managed, "managed");
    let script = "DELETE FROM p WHERE id = 1;
UPDATE p SET id = 30, k = 'x3' WHERE id = 3;
INSERT INTO p VALUES (5, 'z5') ON DUPLICATE KEY UPDATE k = 'z5';
REPLACE INTO p VALUES (7, 'w');
DELETE FROM q ORDER BY k DESC LIMIT 1;
SELECT @@character_set_client, @@character_set_results;";
    let opts = Opts::from_url(&native.url).expect("url");
    let on_native = mariadb_cli(
        opts.ip_or_hostname(),
        opts.tcp_port(),
        opts.user().unwrap_or("root"),
        opts.pass(),
        &native.name,
        script,
    );
    let on_gateway = mariadb_cli(
        &gw.addr.ip().to_string(),
        gw.addr.port(),
        crate::support::USER,
        Some(crate::support::PASSWORD),
        "ks",
        script,
    );
    assert_eq!(on_native, on_gateway);
    assert!(on_native.contains("latin1\tlatin1"), "{on_native}");
    gw.block_on(async {
        let (mut n, mut m) = (direct(&native).await, direct(&managed).await);
        for t in TEXT_TABLES {
            let sql = format!("SELECT * FROM {t} ORDER BY 1");
            assert_eq!(rows(&mut n, &sql).await, rows(&mut m, &sql).await, "{t}");
        }
        // The children of the keys deleted and re-keyed followed them.
        assert_eq!(
            rows(&mut m, "SELECT id, k FROM c ORDER BY id").await,
            [["2", "?"], ["3", "x3"], ["4", "é"], ["5", "z5"]]
        );
    });
}

/// `mariadb --batch --default-character-set=latin1` running `script`: its
/// output (it fails the test when the command does).
fn mariadb_cli(host: &str, port: u16, user: &str, password: Option<&str>, db: &str, script: &str) -> String {
    use std::io::Write;
    let bin = crate::support::program("mariadb").expect("the mariadb client is installed");
    let mut command = std::process::Command::new(bin);
    command
        .args(["--no-defaults", "--batch", "--default-character-set=latin1"])
        .args([format!("-h{host}"), format!("-P{port}"), format!("-u{user}")]);
    if let Some(p) = password {
        command.arg(format!("-p{p}"));
    }
    let mut child = command
        .arg(db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the mariadb client runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("script written");
    let out = child.wait_with_output().expect("the mariadb client ends");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Prepared statements (COM_STMT_EXECUTE) under `SET NAMES latin1`: a key read
/// by the plan, and string parameters in latin1 (`é` is byte E9), which are not
/// UTF-8.
#[test]
fn prepared_statements_with_latin1_parameters_cascade_as_natively() {
    let native = TestDb::create(TestEngine::Mysql);
    let managed = TestDb::create(TestEngine::Mysql);
    native.exec(TEXT_KEYS);
    managed.exec(TEXT_KEYS);
    let gw = start_one(&managed, "managed");
    gw.block_on(async {
        let (mut n, mut g) = native_and_gateway(&native, &gw, false).await;
        let steps: Vec<(&str, Vec<Value>)> = vec![
            ("DELETE FROM p WHERE id = ?", vec![Value::Int(1)]),
            ("DELETE FROM p WHERE k = ?", vec![Value::Bytes(vec![0xE9])]),
            (
                "UPDATE p SET k = ? WHERE id = ?",
                vec![Value::Bytes(vec![0xF1]), Value::Int(5)],
            ),
            (
                "UPDATE p SET id = 30, k = ? WHERE id = 3",
                vec![Value::Bytes(b"x3".to_vec())],
            ),
            ("DELETE FROM q ORDER BY k DESC LIMIT ?", vec![Value::Int(1)]),
            (
                "UPDATE lp SET k = ? WHERE k = ?",
                vec![Value::Bytes(vec![0xF1, b'2']), Value::Bytes(vec![0xF1])],
            ),
        ];
        for conn in [&mut n, &mut g] {
            conn.query_drop("SET NAMES latin1").await.expect("SET NAMES");
        }
        for (sql, params) in steps {
            let a = n.exec_drop(sql, params.clone()).await.map(|_| n.affected_rows());
            let b = g.exec_drop(sql, params).await.map(|_| g.affected_rows());
            assert_eq!(a.map_err(|e| e.to_string()), b.map_err(|e| e.to_string()), "{sql}");
        }
        let (mut n, mut m) = (direct(&native).await, direct(&managed).await);
        for t in TEXT_TABLES {
            let sql = format!("SELECT * FROM {t} ORDER BY 1");
            assert_eq!(rows(&mut n, &sql).await, rows(&mut m, &sql).await, "{t}");
        }
        assert_eq!(
            rows(&mut m, "SELECT id, k FROM c ORDER BY id").await,
            [["2", "?"], ["3", "x3"], ["5", "ñ"], ["7", "Ω"]]
        );
        assert_eq!(
            rows(&mut m, "SELECT id, k FROM lc ORDER BY id").await,
            [["1", "é"], ["2", "ñ2"], ["3", "a"]]
        );
    });
}

/// TIMESTAMP keys in the hour America/New_York repeats (2020-11-01 01:00-02:00
/// local: 05:00-06:00 UTC under EDT, 06:00-07:00 UTC under EST): `p` and `q`
/// hold one key in each of its two instants, 05:30 and 06:30 UTC, both read as
/// 01:30 local.
const FALL_BACK: &str = "CREATE TABLE p (id INT PRIMARY KEY, k TIMESTAMP NULL UNIQUE) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, k TIMESTAMP NULL,
  FOREIGN KEY (k) REFERENCES p (k) ON UPDATE CASCADE ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE q (k TIMESTAMP NOT NULL PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE d (id INT PRIMARY KEY, k TIMESTAMP NULL,
  FOREIGN KEY (k) REFERENCES q (k) ON DELETE CASCADE) ENGINE=InnoDB;
SET time_zone = '+00:00';
INSERT INTO p VALUES (1, '2020-11-01 05:30:00'), (2, '2020-11-01 06:30:00');
INSERT INTO c VALUES (1, '2020-11-01 05:30:00'), (2, '2020-11-01 06:30:00');
INSERT INTO q VALUES ('2020-11-01 05:30:00', 1), ('2020-11-01 06:30:00', 2);
INSERT INTO d VALUES (1, '2020-11-01 05:30:00'), (2, '2020-11-01 06:30:00');
SET time_zone = DEFAULT;";

const TIME_TABLES: [&str; 4] = ["p", "c", "q", "d"];

/// Each write (after `SET time_zone = <zone>`) on a fresh copy of `schema`,
/// natively and through a managed gateway, on `server`: the same outcome, and
/// the same tables read in UTC.
fn zoned_differential(server: &BinlogServer, schema: &str, zone: &str, writes: &[&str]) {
    for (i, write) in writes.iter().enumerate() {
        let (nat, man) = (format!("w24e_nat_{i}"), format!("w24e_man_{i}"));
        tether_testkit::block_on(async {
            let mut admin = server.login().await;
            for db in [&nat, &man] {
                admin
                    .query_drop(format!("CREATE OR REPLACE DATABASE {db}"))
                    .await
                    .expect("database");
                admin.query_drop(format!("USE {db}")).await.expect("use");
                admin.query_drop(schema).await.expect("schema");
            }
            let _ = admin.disconnect().await;
        });
        let gw = start(&[("ks", "managed", &server.url(&man))]);
        gw.block_on(async {
            let mut n = Conn::from_url(server.url(&nat).as_str()).await.expect("native");
            let mut g = gw.connect("ks").await;
            let set = format!("SET time_zone = {zone}");
            for sql in [set.as_str(), write] {
                same_outcome(&mut n, &mut g, [&nat, &man], sql, zone).await;
            }
            let mut m = Conn::from_url(server.url(&man).as_str()).await.expect("managed");
            for conn in [&mut n, &mut m] {
                conn.query_drop("SET time_zone = '+00:00'").await.expect("UTC");
            }
            for t in TIME_TABLES {
                let sql = format!("SELECT * FROM {t} ORDER BY 1");
                assert_eq!(
                    rows(&mut n, &sql).await,
                    rows(&mut m, &sql).await,
                    "{zone}: {write}: {t}"
                );
            }
            let orphans = "SELECT c.id FROM c LEFT JOIN p ON p.k = c.k WHERE p.id IS NULL AND c.k IS NOT NULL \
                           UNION ALL SELECT d.id FROM d LEFT JOIN q ON q.k = d.k WHERE q.k IS NULL AND d.k IS NOT NULL";
            assert!(rows(&mut m, orphans).await.is_empty(), "{zone}: {write}: orphans");
        });
    }
}

/// The writes of the review's repros, and the upsert forms, on [`FALL_BACK`]:
/// every one carries the key 01:30 local of the earlier instant.
const FALL_BACK_WRITES: [&str; 6] = [
    "DELETE FROM p WHERE id = 1",
    "UPDATE p SET k = '2020-12-01 00:00:00' WHERE id = 1",
    "DELETE FROM q ORDER BY k LIMIT 1",
    "INSERT INTO p VALUES (1, '2020-12-02 00:00:00') ON DUPLICATE KEY UPDATE k = VALUES(k)",
    "REPLACE INTO p VALUES (1, '2020-12-03 00:00:00')",
    "DELETE FROM q WHERE v = 1",
];

#[test]
fn timestamp_keys_in_the_repeated_hour_of_a_daylight_saving_zone_cascade_as_natively() {
    let server = zoned_server("America/New_York").unwrap_or_else(|why| panic!("the private MariaDB: {why}"));
    // SYSTEM: the server's own zone.
    zoned_differential(&server, FALL_BACK, "DEFAULT", &FALL_BACK_WRITES);
    // A named zone (its rules loaded from the system's zoneinfo): Berlin repeats
    // 02:00-03:00 local on 2020-10-25, 00:00-01:00 and 01:00-02:00 UTC.
    let Some(tzinfo) = crate::support::program("mariadb-tzinfo-to-sql") else {
        return;
    };
    let out = std::process::Command::new(tzinfo)
        .args(["/usr/share/zoneinfo/Europe/Berlin", "Europe/Berlin"])
        .output()
        .expect("mariadb-tzinfo-to-sql runs");
    if !out.status.success() {
        return;
    }
    tether_testkit::block_on(async {
        let mut admin = server.login().await;
        admin.query_drop("USE mysql").await.expect("use mysql");
        admin
            .query_drop(String::from_utf8_lossy(&out.stdout).into_owned())
            .await
            .expect("Europe/Berlin loaded");
        let _ = admin.disconnect().await;
    });
    let berlin = FALL_BACK
        .replace("05:30:00", "00:30:00")
        .replace("06:30:00", "01:30:00")
        .replace("2020-11-01", "2020-10-25");
    zoned_differential(&server, &berlin, "'Europe/Berlin'", &FALL_BACK_WRITES);
}

/// Fixed offsets read every local time as one instant: the plans run, and keys
/// at the ends of TIMESTAMP's range (1970-01-01 00:00:01 UTC is 1969-12-31
/// 19:00:01 at -05:00) cascade as natively.
#[test]
fn timestamp_keys_under_fixed_offsets_cascade_as_natively() {
    let schema = "CREATE TABLE p (id INT PRIMARY KEY, k TIMESTAMP NULL UNIQUE) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, k TIMESTAMP NULL,
  FOREIGN KEY (k) REFERENCES p (k) ON UPDATE CASCADE ON DELETE CASCADE) ENGINE=InnoDB;
SET time_zone = '+00:00';
INSERT INTO p VALUES (1, '1970-01-01 00:00:01'), (2, '2020-11-01 05:30:00'), (3, '2020-11-01 06:30:00'),
  (4, '2038-01-19 03:14:07'), (5, '2000-01-01 00:00:00');
INSERT INTO c SELECT id, k FROM p;
SET time_zone = DEFAULT;";
    for zone in ["'+05:00'", "'-05:00'", "'+00:00'"] {
        let set = format!("SET time_zone = {zone}");
        let codes = differential(
            schema,
            &["p", "c"],
            &[
                &set,
                "DELETE FROM p WHERE id = 1",
                "UPDATE p SET k = k - INTERVAL 1 HOUR WHERE id IN (2, 3)",
                "DELETE FROM p ORDER BY k DESC LIMIT 1",
                "INSERT INTO p VALUES (5, '2001-01-01 00:00:00') ON DUPLICATE KEY UPDATE k = VALUES(k)",
            ],
        );
        assert_eq!(codes, vec![0; 5], "{zone}");
    }
}
