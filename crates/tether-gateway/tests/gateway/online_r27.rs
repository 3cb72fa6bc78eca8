//! Review r26j F1, as a specification: a prepared write of keyspace `b` passed its
//! own keyspace's cut-over gate (nothing held there yet), then waited at the gate of
//! keyspace `a` (another database on the same server, whose cut-over held `p`).
//! Meanwhile `b`'s own cut-over began its hold; when `a`'s hold ended the write ran
//! at once, queued behind `b`'s RENAME and deleted a parent on the new `p` before the
//! FK of `c` was re-pointed at it: an orphan. Natively the DELETE is refused (1451).
//! Now every gate is passed again after a wait at any: the write waits for `b`'s
//! hold too and is refused as natively.
//!
//! The order is made, not timed: each cut-over is kept before its hold by a direct
//! transaction that opened the child `c` (the children's probe, `LOCK TABLES c
//! WRITE`, waits for it), and inside its hold by one that opened `p` (the RENAME
//! waits for it); the gateway's cut-over lock timeout is raised for the test
//! ([`tether_gateway::online::CUTOVER_LOCK_TIMEOUT_ENV`]) so that neither wait gives
//! up meanwhile; the write's wait at a gate is read from the gateway's debug log
//! ("waits for a cut-over").

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_testkit::{TestDb, TestEngine};

use crate::online::runtime;
use crate::online_acceptance::{free_port, GatewayProcess};
use crate::online_steps::{keyspace_opts, opened, until_final, until_waiting};
use crate::online_tx_r24::ALTER;
use crate::support;

/// `p` with a RESTRICT child `c`: every `p` row has a child.
const SETUP: &str = "
CREATE TABLE p (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, p_id INT, KEY(p_id),
  CONSTRAINT uc_p FOREIGN KEY (p_id) REFERENCES p(id)) ENGINE=InnoDB;
INSERT INTO p SELECT seq, 0 FROM seq_1_to_100;
INSERT INTO c SELECT seq, seq FROM seq_1_to_100;
";

/// What a statement waiting at a cut-over's gate logs (at debug level).
const WAITS: &str = "waits for a cut-over of";

/// The gateway's config: keyspaces `a` and `b` (unmanaged) on two databases of the
/// same server.
fn config(dir: &tether_testkit::ScratchDir, a: &TestDb, b: &TestDb) -> std::path::PathBuf {
    let path = dir.join("vschema.json");
    std::fs::write(
        &path,
        format!(
            r#"{{"users": [{{"user": "{}", "password": "{}"}}],
                "keyspaces": {{
                  "a": {{"foreignKeyMode": "unmanaged", "backend": {{"url": "{}"}}}},
                  "b": {{"foreignKeyMode": "unmanaged", "backend": {{"url": "{}"}}}}}}}}"#,
            support::USER,
            support::PASSWORD,
            a.url,
            b.url
        ),
    )
    .expect("config");
    path
}

/// How many log lines of `log` said a statement waits at a gate, read until now.
fn waits_logged(log: &Receiver<String>, seen: &mut usize) -> usize {
    while let Ok(line) = log.try_recv() {
        if line.contains(WAITS) {
            *seen += 1;
        }
    }
    *seen
}

/// Waits (at most 60 s) until `log` has said `n` times that a statement waits at a
/// gate, or `other` (when given) is true.
async fn until_waits<F, Fut>(log: &Receiver<String>, seen: &mut usize, n: usize, mut other: F) -> &'static str
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until {
        if waits_logged(log, seen) >= n {
            return "at a gate (logged)";
        }
        if other().await {
            return "for the other condition";
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no statement waited at a gate ({} of {n} logged)", *seen);
}

/// F1: `b`'s prepared DELETE of a parent waits at `a`'s hold; `b`'s own hold
/// begins meanwhile; after `a`'s hold ends the DELETE waits for `b`'s too and is
/// refused (1451) on the new `p` with its FK, no orphan; both migrations complete.
#[test]
fn a_prepared_write_waiting_at_another_keyspaces_hold_waits_for_its_own_begun_meanwhile() {
    let a = TestDb::create(TestEngine::Mysql);
    let b = TestDb::create(TestEngine::Mysql);
    for db in [&a, &b] {
        tether_testkit::exec_url(TestEngine::Mysql, &db.url, SETUP);
    }
    let dir = tether_testkit::ScratchDir::new("online_r27");
    let config = config(&dir, &a, &b);
    let port = free_port();
    let rt = runtime();
    let (gw, log) = GatewayProcess::start_logging(
        &config,
        port,
        &[
            (tether_gateway::online::CUTOVER_LOCK_TIMEOUT_ENV, "60"),
            ("TETHER_LOG", "warn,tether_gateway::keyspace=debug"),
        ],
    );
    let (outcome, statuses) = rt.block_on(async {
        let mut seen = 0;
        let mut watch_a = support::direct(&a).await;
        let mut watch_b = support::direct(&b).await;
        // Both cut-overs wait before their holds, at the probe of `c`.
        let on_c_a = opened(&a.url, "c").await;
        let on_c_b = opened(&b.url, "c").await;
        let mut ids = Vec::new();
        for ks in ["a", "b"] {
            let mut g = Conn::new(keyspace_opts(port, ks)).await.expect("connects");
            g.query_drop("SET @@ddl_strategy = 'online'").await.expect("strategy");
            ids.push(support::rows(&mut g, ALTER).await[0][0].clone());
            let _ = g.disconnect().await;
        }
        until_waiting(&mut watch_a, "LOCK TABLES").await;
        until_waiting(&mut watch_b, "LOCK TABLES").await;
        // The RENAMEs will wait for these (their copies are done: `p` is opened
        // after the capture triggers exist).
        let mut on_p_a = opened(&a.url, "p").await;
        let mut on_p_b = opened(&b.url, "p").await;
        let mut writer = Conn::new(keyspace_opts(port, "b")).await.expect("connects");
        let delete = writer.prep("DELETE FROM p WHERE id = ?").await.expect("prepared");

        // `a` holds `p`: its RENAME waits for `on_p_a`.
        on_c_a.disconnect().await.expect("a's c released");
        until_waiting(&mut watch_a, "RENAME TABLE").await;
        // The prepared DELETE of `b` passes `b`'s gate (nothing held) and waits at
        // `a`'s (a write from another database on the same server).
        let sent = tokio::spawn(async move {
            let r = writer.exec_drop(&delete, (5,)).await;
            let affected = writer.affected_rows();
            let _ = writer.disconnect().await;
            r.map(|_| affected).map_err(support::server_error)
        });
        until_waits(&log, &mut seen, 1, || async { false }).await;
        assert!(!sent.is_finished(), "the DELETE waits at `a`'s hold");

        // `b`'s hold begins while the DELETE waits at `a`'s: its RENAME waits for
        // `on_p_b`.
        on_c_b.disconnect().await.expect("b's c released");
        until_waiting(&mut watch_b, "RENAME TABLE").await;
        // `a`'s cut-over ends: its hold with it.
        on_p_a.query_drop("COMMIT").await.expect("a's p released");
        // The DELETE now waits at `b`'s gate (logged again), or (as before the fix) it
        // was let through and waits for the metadata lock behind `b`'s RENAME.
        let queued = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE = \
                      'Waiting for table metadata lock' AND DB = DATABASE() AND INFO LIKE 'DELETE%'";
        let watch = std::sync::Arc::new(tokio::sync::Mutex::new(watch_b));
        let where_ = until_waits(&log, &mut seen, 2, || {
            let watch = watch.clone();
            async move {
                let n: Option<u64> = watch.lock().await.query_first(queued).await.expect("processlist");
                n.unwrap_or(0) > 0
            }
        })
        .await;
        eprintln!("the DELETE waited {where_} after `a`'s hold");
        on_p_b.query_drop("COMMIT").await.expect("b's p released");
        let outcome = sent.await.expect("joined");
        let mut statuses = Vec::new();
        for (ks, id) in ["a", "b"].into_iter().zip(&ids) {
            let mut g = Conn::new(keyspace_opts(port, ks)).await.expect("connects");
            statuses.push(until_final(&mut g, id).await.0);
            let _ = g.disconnect().await;
        }
        (outcome, statuses)
    });
    gw.kill();
    match &outcome {
        Err((1451, _, message)) => assert!(
            message.contains("REFERENCES `p` (`id`)") && !message.contains("_old_"),
            "{message}"
        ),
        other => panic!("the DELETE of a parent with a child: {other:?} (expected 1451)"),
    }
    assert_eq!(statuses, ["complete", "complete"]);
    let query = |db: &TestDb, sql: &str| tether_testkit::query_url(TestEngine::Mysql, &db.url, sql);
    assert_eq!(
        query(
            &b,
            "SELECT c.id FROM c LEFT JOIN p ON p.id = c.p_id WHERE c.p_id IS NOT NULL AND p.id IS NULL"
        ),
        Vec::<Vec<Option<String>>>::new(),
        "no orphans"
    );
    for db in [&a, &b] {
        assert_eq!(
            query(
                db,
                &format!(
                    "SELECT CONSTRAINT_NAME, TABLE_NAME, REFERENCED_TABLE_NAME FROM \
                     information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = '{}'",
                    db.name
                )
            ),
            vec![vec![Some("uc_p".into()), Some("c".into()), Some("p".into())]]
        );
        assert_eq!(
            query(db, "SELECT (SELECT COUNT(*) FROM p), (SELECT COUNT(*) FROM c)"),
            vec![vec![Some("100".to_string()), Some("100".to_string())]]
        );
    }
}
