//! Binlog completeness (needs its own server: a private MariaDB with `log_bin` and
//! `binlog_format=ROW`, started in a temp dir on a free port and stopped at the end,
//! also on failure).
//!
//! The same cascading workload runs in a `managed` and in an `unmanaged` keyspace.
//! Reading the binlog back with `mariadb-binlog`: in the managed database every
//! child row the cascades deleted or updated has its own row event; in the
//! unmanaged one InnoDB's cascades left none (MySQL bug 32506), so the test shows
//! the difference it exists for.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

use crate::support::{binlog_server, program, rows, start};

const SCHEMA: &str = "
CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, p_id INT NOT NULL,
  CONSTRAINT c_p_fk FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE g (id INT PRIMARY KEY, c_id INT NOT NULL,
  CONSTRAINT g_c_fk FOREIGN KEY (c_id) REFERENCES c (id) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE s (id INT PRIMARY KEY, p_id INT,
  CONSTRAINT s_p_fk FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE SET NULL ON UPDATE SET NULL) ENGINE=InnoDB;
CREATE TABLE t (id INT PRIMARY KEY, parent_id INT,
  CONSTRAINT t_parent_fk FOREIGN KEY (parent_id) REFERENCES t (id) ON DELETE CASCADE) ENGINE=InnoDB;
INSERT INTO p SELECT seq FROM seq_1_to_10;
INSERT INTO c SELECT seq, 1 + seq % 10 FROM seq_1_to_100;
INSERT INTO g SELECT seq, 1 + seq % 100 FROM seq_1_to_300;
INSERT INTO s SELECT seq, 1 + seq % 10 FROM seq_1_to_50;
INSERT INTO t VALUES (1, NULL);
INSERT INTO t SELECT seq, seq - 1 FROM seq_2_to_12;
";

/// The workload: cascading deletes (two levels and a self-reference), SET NULL, and
/// an ON UPDATE CASCADE.
const WORKLOAD: &[&str] = &[
    "DELETE FROM p WHERE id IN (1, 2, 3)",
    "UPDATE p SET id = id + 100 WHERE id = 5",
    "DELETE FROM t WHERE id = 2",
];

/// Row events per (statement kind, table) in database `db`, from the decoded binlog.
fn row_events(text: &str, db: &str, kind: &str, table: &str) -> usize {
    let needle = match kind {
        "DELETE" => format!("### DELETE FROM `{db}`.`{table}`"),
        "UPDATE" => format!("### UPDATE `{db}`.`{table}`"),
        _ => format!("### INSERT INTO `{db}`.`{table}`"),
    };
    text.lines().filter(|l| l.trim_end() == needle).count()
}

#[test]
fn managed_cascades_reach_the_binlog_and_native_ones_do_not() {
    let server = binlog_server().unwrap_or_else(|why| panic!("the private MariaDB: {why}"));
    let admin = format!("mysql://root@127.0.0.1:{}/", server.port);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        // The port opens a moment before logins work: retry for a while.
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut c = loop {
            match mysql_async::Conn::from_url(admin.as_str()).await {
                Ok(c) => break c,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("cannot log in to the private MariaDB: {e}"),
            }
        };
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
            for t in ["p", "c", "g", "s", "t"] {
                state.push(rows(&mut conn, &format!("SELECT * FROM {t} ORDER BY id")).await);
            }
            states.push(state);
        }
    });
    // Both modes end in the same data.
    assert_eq!(states[0], states[1]);
    drop(gw);

    let binlogs: Vec<PathBuf> = {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&server.dir)
            .expect("dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("binlog.0"))
            })
            .collect();
        v.sort();
        v
    };
    let out = Command::new(program("mariadb-binlog").unwrap_or_else(|| "mariadb-binlog".into()))
        .arg("--base64-output=decode-rows")
        .arg("-v")
        .args(&binlogs)
        .output()
        .expect("mariadb-binlog runs");
    assert!(
        out.status.success(),
        "mariadb-binlog: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);

    // Children of p 1..3: 30 rows of c, their 90 rows of g; 15 rows of s set NULL.
    // p 5 -> 105: its 10 rows of c re-pointed, its 5 rows of s set NULL.
    // t 2 and its 10 descendants.
    let expected = [
        ("DELETE", "p", 3),
        ("DELETE", "c", 30),
        ("DELETE", "g", 90),
        ("UPDATE", "s", 20),
        ("UPDATE", "p", 1),
        ("UPDATE", "c", 10),
        ("DELETE", "t", 11),
    ];
    for (kind, table, n) in expected {
        assert_eq!(
            row_events(&text, "managed_db", kind, table),
            n,
            "managed: {kind} {table}"
        );
    }
    // Unmanaged: only the rows the statements named themselves.
    let native = [
        ("DELETE", "p", 3),
        ("DELETE", "c", 0),
        ("DELETE", "g", 0),
        ("UPDATE", "s", 0),
        ("UPDATE", "p", 1),
        ("UPDATE", "c", 0),
        ("DELETE", "t", 1),
    ];
    for (kind, table, n) in native {
        assert_eq!(
            row_events(&text, "unmanaged_db", kind, table),
            n,
            "unmanaged: {kind} {table}"
        );
    }
}
