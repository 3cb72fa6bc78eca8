//! Binlog completeness (needs its own server: a private MariaDB with `log_bin` and
//! `binlog_format=ROW`, started in a temp dir on a free port and stopped at the end,
//! also on failure).
//!
//! The same cascading workload runs in a `managed` and in an `unmanaged` keyspace.
//! Reading the binlog back with `mariadb-binlog`: in the managed database every
//! child row the cascades deleted or updated has its own row event; in the
//! unmanaged one InnoDB's cascades left none (MySQL bug 32506), so the test shows
//! the difference it exists for.

use mysql_async::prelude::Queryable;

use crate::support::{binlog_files, binlog_server, decode_binlog, row_events, rows, start};

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

#[test]
fn managed_cascades_reach_the_binlog_and_native_ones_do_not() {
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
            for t in ["p", "c", "g", "s", "t"] {
                state.push(rows(&mut conn, &format!("SELECT * FROM {t} ORDER BY id")).await);
            }
            states.push(state);
        }
    });
    // Both modes end in the same data.
    assert_eq!(states[0], states[1]);
    drop(gw);

    let decoded = decode_binlog(
        &["--base64-output=decode-rows".into(), "-v".into()],
        &binlog_files(&server.dir, None),
    );
    let text = String::from_utf8_lossy(&decoded);

    // Children of p 1..3: 30 rows of c, their 90 rows of g; 15 rows of s set NULL.
    // p 5 -> 105: its 10 rows of c re-pointed, its 5 rows of s set NULL.
    // t 2 and its 10 descendants.
    let expected = [
        ("DELETE FROM", "p", 3),
        ("DELETE FROM", "c", 30),
        ("DELETE FROM", "g", 90),
        ("UPDATE", "s", 20),
        ("UPDATE", "p", 1),
        ("UPDATE", "c", 10),
        ("DELETE FROM", "t", 11),
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
        ("DELETE FROM", "p", 3),
        ("DELETE FROM", "c", 0),
        ("DELETE FROM", "g", 0),
        ("UPDATE", "s", 0),
        ("UPDATE", "p", 1),
        ("UPDATE", "c", 0),
        ("DELETE FROM", "t", 1),
    ];
    for (kind, table, n) in native {
        assert_eq!(
            row_events(&text, "unmanaged_db", kind, table),
            n,
            "unmanaged: {kind} {table}"
        );
    }
}
