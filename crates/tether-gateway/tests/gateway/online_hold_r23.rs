//! Review r23i O1, as specifications: while an online migration's tables are held (a
//! cut-over waiting for its RENAME, its swap back, a cut-over resumed after a restart),
//! statements that reach them without naming them were let through: a DELETE on a
//! grandparent whose cascade reaches the migrated table (in a managed keyspace the
//! gateway's own cascade statements), an INSERT into an unrelated table whose trigger
//! deletes from it, a CALL of a procedure that does. During a cut-over that swapped
//! back, the grandparent's cascade landed in the new table and was dropped with it:
//! orphans, while the migration said the originals were as they were. Now a statement
//! that may write a table whose cascades reach a held table waits as one naming it
//! does, and what the gateway cannot see into (CALL, EXECUTE, a write to a table with
//! triggers) waits for every hold and is refused (1205, naming the migration) inside a
//! transaction or when a hold outlasts the wait.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_testkit::{TestDb, TestEngine};

use crate::online::{runtime, until_status};
use crate::online_acceptance::{free_port, gateway_opts, one_keyspace, GatewayProcess};
use crate::online_r23::through;
use crate::online_steps::{joined, opened, submit_while_p_opens, until_waiting};
use crate::support::{self, direct, server_error};

/// `ggp` <- `gp` <- `p` (ON DELETE CASCADE each), `p`'s children `c` (CASCADE) and
/// `c2` (RESTRICT, a row for every third `p`); `t` with a trigger deleting from `p`,
/// a procedure `dp` deleting from `p`, an unrelated `u`. `p` rows with `gpid = 5`
/// (200 of them) include multiples of three: deleting `ggp` 5 is refused (1451).
const SETUP: &str = "
CREATE TABLE ggp (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE gp (id INT PRIMARY KEY, gg INT, KEY(gg),
  CONSTRAINT gp_ggp FOREIGN KEY (gg) REFERENCES ggp(id) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE p (id INT PRIMARY KEY, gpid INT, v INT, KEY(gpid),
  CONSTRAINT p_gp FOREIGN KEY (gpid) REFERENCES gp(id) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid INT, w INT, KEY(pid),
  CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p(id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE c2 (id INT PRIMARY KEY, pid INT, KEY(pid),
  CONSTRAINT c2_p FOREIGN KEY (pid) REFERENCES p(id)) ENGINE=InnoDB;
CREATE TABLE u (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE t (id INT PRIMARY KEY, pid INT) ENGINE=InnoDB;
CREATE TRIGGER t_ai AFTER INSERT ON t FOR EACH ROW DELETE FROM p WHERE id = NEW.pid;
CREATE PROCEDURE dp(x INT) DELETE FROM p WHERE id = x;
INSERT INTO ggp SELECT seq FROM seq_1_to_100;
INSERT INTO gp SELECT seq, seq FROM seq_1_to_100;
INSERT INTO p SELECT seq, seq % 100 + 1, seq FROM seq_1_to_20000;
INSERT INTO c SELECT seq, seq, seq FROM seq_1_to_20000;
INSERT INTO c2 SELECT seq, seq FROM seq_3_to_20000_step_3;
INSERT INTO u VALUES (1, 1);
";

const ALTER: &str = "ALTER TABLE p ADD COLUMN x INT DEFAULT 7";

/// The statements that reach `p` without naming it: the grandparent's cascade, the
/// trigger on `t`, the procedure.
const REACHING: [&str; 3] = [
    "DELETE FROM ggp WHERE id = 5",
    "INSERT INTO t VALUES (1, 79)",
    "CALL dp(80)",
];

/// Orphans of every FK, by name.
fn orphans(db: &TestDb) -> Vec<Vec<Option<String>>> {
    db.query(
        "SELECT 'gp_ggp', COUNT(*) FROM gp WHERE gg IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ggp WHERE ggp.id = gp.gg)
         UNION ALL SELECT 'p_gp', COUNT(*) FROM p WHERE gpid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM gp WHERE gp.id = p.gpid)
         UNION ALL SELECT 'c_p', COUNT(*) FROM c WHERE pid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM p WHERE p.id = c.pid)
         UNION ALL SELECT 'c2_p', COUNT(*) FROM c2 WHERE pid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM p WHERE p.id = c2.pid)",
    )
}

fn no_orphans() -> Vec<Vec<Option<String>>> {
    ["gp_ggp", "p_gp", "c_p", "c2_p"]
        .iter()
        .map(|n| vec![Some(n.to_string()), Some("0".to_string())])
        .collect()
}

/// What the reaching statements leave, as natively: `ggp` 5, `gp` 5 and its 200 `p`
/// rows stay (the cascade was refused), `p` 79 and 80 and their `c` rows are gone, `t`
/// has its row.
fn assert_as_natively(db: &TestDb) {
    assert_eq!(
        db.query(
            "SELECT (SELECT COUNT(*) FROM ggp WHERE id = 5), (SELECT COUNT(*) FROM gp WHERE id = 5),
                    (SELECT COUNT(*) FROM p WHERE gpid = 5), (SELECT COUNT(*) FROM p WHERE id IN (79, 80)),
                    (SELECT COUNT(*) FROM c WHERE pid IN (79, 80)), (SELECT COUNT(*) FROM t WHERE pid = 79)"
        ),
        vec![["1", "1", "200", "0", "0", "1"].map(|v| Some(v.to_string())).to_vec()]
    );
    assert_eq!(orphans(db), no_orphans());
}

/// A gateway process serving `db` as managed keyspace `ks`.
fn gateway(db: &TestDb, dir: &tether_testkit::ScratchDir) -> (std::path::PathBuf, u16) {
    (one_keyspace(dir, db, "managed"), free_port())
}

/// Submits the online ALTER through the gateway on `port` and stops its cut-over at
/// the RENAME (a transaction on `p`); then a transaction on `c` is opened, so the
/// re-point of `c` after the RENAME waits for it. Returns the migration's id, the
/// transaction on `p` (end it to let the RENAME go) and the one on `c`.
async fn stopped_at_rename(db: &TestDb, port: u16) -> (String, Conn, Conn) {
    let (g, id, on_p) = submit_while_p_opens(&db.url, gateway_opts(port), ALTER).await;
    let _ = g.disconnect().await;
    let mut watch = direct(db).await;
    until_waiting(&mut watch, "RENAME TABLE").await;
    let _ = watch.disconnect().await;
    let on_c = opened(&db.url, "c").await;
    (id, on_p, on_c)
}

/// The error (code, message) of `sql` in a transaction through the gateway on `port`.
async fn in_transaction(port: u16, sql: &str) -> Result<(), (u16, String)> {
    let mut t = Conn::new(gateway_opts(port)).await.expect("connects");
    t.query_drop("BEGIN").await.expect("begin");
    let r = t.query_drop(sql).await.map_err(|e| {
        let (code, _, message) = server_error(e);
        (code, message)
    });
    t.query_drop("ROLLBACK").await.expect("rollback");
    let _ = t.disconnect().await;
    r
}

type Outcome = Result<u64, (u16, String)>;

/// Starts the reaching statements through the gateway on `port`, waits `wait` and
/// says which of them finished, then runs `release` and returns their outcomes.
async fn reaching_after<F: std::future::Future<Output = ()>>(
    port: u16,
    wait: Duration,
    release: F,
) -> ([bool; 3], Vec<Outcome>) {
    let started: Vec<_> = REACHING.iter().map(|sql| tokio::spawn(through(port, sql))).collect();
    tokio::time::sleep(wait).await;
    let finished = [0, 1, 2].map(|i| started[i].is_finished());
    release.await;
    let outcomes = joined(started).await;
    (finished, outcomes)
}

fn assert_outcomes(outcomes: &[Outcome]) {
    assert_eq!(outcomes[0].as_ref().map_err(|e| e.0), Err(1451), "{:?}", outcomes[0]);
    assert_eq!(outcomes[1], Ok(1), "the trigger's insert");
    assert!(outcomes[2].is_ok(), "{:?}", outcomes[2]);
}

/// A normal cut-over that swaps back (the re-point of `c` waits past its bound),
/// reached while the re-point waits: the statements reaching `p` wait while it is held
/// (the unrelated `u` is not refused), run on
/// the originals once it swapped back, with what they get natively, and leave no
/// orphans (before, the grandparent's cascade ran at once, landed in the new `p` and
/// was dropped with it: 200 `p_gp` orphans).
#[test]
fn statements_reaching_a_table_whose_cut_over_swaps_back_wait_for_it() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SETUP);
    let dir = tether_testkit::ScratchDir::new("online_hold_r23_back");
    let (config, port) = gateway(&db, &dir);
    let rt = runtime();
    let gw = GatewayProcess::start(&config, port);
    let (unrelated, finished, outcomes, status, message) = rt.block_on(async {
        let (id, mut on_p, mut on_c) = stopped_at_rename(&db, port).await;
        on_p.query_drop("COMMIT").await.expect("p released");
        // Swapped, the re-point of `c` waiting (for at most the 1 s lock timeout):
        // the tables are held.
        let mut watch = direct(&db).await;
        until_waiting(&mut watch, "ALTER TABLE `c`").await;
        let _ = watch.disconnect().await;
        let unrelated = tokio::spawn(through(port, "UPDATE u SET v = 2"));
        let (finished, outcomes) = reaching_after(port, Duration::from_millis(300), async {}).await;
        let unrelated = unrelated.await.expect("joined");
        let mut g = Conn::new(gateway_opts(port)).await.expect("connects");
        until_status(&mut g, &id, "failed").await;
        let rows = support::rows(&mut g, &format!("SHOW VITESS_MIGRATIONS LIKE '{id}'")).await;
        let _ = g.disconnect().await;
        on_c.query_drop("COMMIT").await.expect("c released");
        (unrelated, finished, outcomes, rows[0][5].clone(), rows[0][15].clone())
    });
    drop(gw);
    assert_eq!(unrelated, Ok(1), "an unrelated table is not refused");
    assert_eq!(finished, [false, false, false], "they waited for the cut-over");
    assert_eq!(status, "failed");
    assert!(message.contains("the originals are as they were"), "{message}");
    assert_outcomes(&outcomes);
    assert_as_natively(&db);
}

/// A cut-over resumed by a restarted gateway (killed after its RENAME): the
/// statements reaching `p` wait for the resumed FK steps (inside a transaction they
/// are refused at once, 1205 naming the migration), then run as natively; the
/// migration completes without orphans (before: `COMPLETE WITH ORPHANS`, c_p 202).
#[test]
fn statements_reaching_a_table_of_a_resumed_cut_over_wait_for_its_fk_steps() {
    crate::online_r23::retried_until_killed_in_time(resumed_cut_over);
}

/// One run of the scenario above; false when the kill came too late.
fn resumed_cut_over() -> bool {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SETUP);
    let dir = tether_testkit::ScratchDir::new("online_hold_r23_resume");
    let (config, port) = gateway(&db, &dir);
    let rt = runtime();
    let first = GatewayProcess::start(&config, port);
    let (id, mut on_c) = rt.block_on(async {
        let (id, mut on_p, on_c) = stopped_at_rename(&db, port).await;
        on_p.query_drop("COMMIT").await.expect("p released");
        let mut watch = direct(&db).await;
        until_waiting(&mut watch, "ALTER TABLE `c`").await;
        // Killed at once: the re-point gives up after the 1 s lock timeout and swaps back.
        first.kill();
        let _ = watch.disconnect().await;
        (id, on_c)
    });
    let swapped = "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
                   AND TABLE_NAME LIKE '\\_p\\_old\\_%'";
    if db.query(swapped) != vec![vec![Some("1".to_string())]] {
        return false;
    }
    let second = GatewayProcess::start(&config, port);
    let (refused, finished, outcomes, status, message) = rt.block_on(async {
        let mut refused = Vec::new();
        for sql in [
            "DELETE FROM ggp WHERE id = 6",
            "INSERT INTO t VALUES (2, 82)",
            "CALL dp(83)",
        ] {
            refused.push(in_transaction(port, sql).await);
        }
        let release = async {
            on_c.query_drop("COMMIT").await.expect("c released");
        };
        let (finished, outcomes) = reaching_after(port, Duration::from_millis(1500), release).await;
        let mut g = Conn::new(gateway_opts(port)).await.expect("connects");
        until_status(&mut g, &id, "complete").await;
        let rows = support::rows(&mut g, &format!("SHOW VITESS_MIGRATIONS LIKE '{id}'")).await;
        let _ = g.disconnect().await;
        (refused, finished, outcomes, rows[0][5].clone(), rows[0][15].clone())
    });
    drop(second);
    for (r, what) in refused.iter().zip(["table `", "a write naming `t`", "a CALL"]) {
        let (code, message) = r.as_ref().expect_err("refused inside a transaction");
        assert_eq!(*code, 1205, "{message}");
        assert!(message.contains(what) && message.contains(&id), "{message}");
    }
    assert_eq!(finished, [false, false, false], "they waited for the FK steps");
    assert_eq!(status, "complete");
    assert!(!message.contains("ORPHANS"), "{message}");
    assert_outcomes(&outcomes);
    assert_as_natively(&db);
    assert_eq!(
        db.query("SELECT COUNT(*) FROM ggp WHERE id = 6"),
        vec![vec![Some("1".to_string())]]
    );
    true
}

/// Review r23k F2: a resumed cut-over whose FK steps keep failing (a transaction on
/// `c` outlasts every attempt) parks its refusing hold. Another gateway finishing the
/// migration releases it here too: the record, read again when a statement meets the
/// hold, is final (before: refused with 1205 until this gateway restarted).
#[test]
fn a_parked_hold_is_released_when_another_gateway_finishes_the_migration() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SETUP);
    let dir = tether_testkit::ScratchDir::new("online_hold_r23_parked");
    let (config, port) = gateway(&db, &dir);
    let rt = runtime();
    let first = GatewayProcess::start(&config, port);
    let (id, mut on_c) = rt.block_on(async {
        let (id, mut on_p, on_c) = stopped_at_rename(&db, port).await;
        on_p.query_drop("COMMIT").await.expect("p released");
        let mut watch = direct(&db).await;
        until_waiting(&mut watch, "ALTER TABLE `c`").await;
        let _ = watch.disconnect().await;
        (id, on_c)
    });
    first.kill();
    let parked = GatewayProcess::start(&config, port);
    let other_port = free_port();
    let (before, after) = rt.block_on(async {
        // Every attempt of the resumed FK steps fails while `c` stays open.
        let mut g = Conn::new(gateway_opts(port)).await.expect("connects");
        let start = std::time::Instant::now();
        loop {
            let rows = support::rows(&mut g, &format!("SHOW VITESS_MIGRATIONS LIKE '{id}'")).await;
            if rows[0][15].contains("Lock wait timeout") {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(90), "{:?}", rows[0]);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let _ = g.disconnect().await;
        let before = in_transaction(port, "DELETE FROM p WHERE id = 77").await;
        on_c.query_drop("COMMIT").await.expect("c released");
        // Another gateway on the same backend resumes and finishes it.
        let (other_config, _) = gateway(&db, &dir);
        let other = GatewayProcess::start(&other_config, other_port);
        let mut o = Conn::new(gateway_opts(other_port)).await.expect("connects");
        until_status(&mut o, &id, "complete").await;
        let _ = o.disconnect().await;
        drop(other);
        let after = tokio::time::timeout(Duration::from_secs(5), through(port, "DELETE FROM p WHERE id = 77")).await;
        (before, after)
    });
    drop(parked);
    let (code, message) = before.expect_err("refused while parked");
    assert_eq!(code, 1205, "{message}");
    assert!(message.contains(&id), "{message}");
    assert_eq!(after.ok(), Some(Ok(1)), "released once the record is final");
    assert_eq!(
        db.query("SELECT COUNT(*) FROM c WHERE pid = 77"),
        vec![vec![Some("0".to_string())]],
        "cascaded"
    );
    assert_eq!(orphans(&db), no_orphans());
}
