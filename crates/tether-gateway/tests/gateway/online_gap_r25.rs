//! Review r25d, as a specification: writes during a cut-over's gap (after the RENAME,
//! before the children's FKs are re-pointed at the new table: InnoDB's FK of `c`
//! still checks `_p_old_<id>`, nothing checks the new `p`).
//!
//! - A gateway transaction's write passed the gate unwaited when its record said
//!   "opened `p` before the hold", and the record lied: it survived statements that
//!   end one transaction and start the next (`BEGIN` inside one, `COMMIT AND CHAIN`,
//!   `START TRANSACTION` again, `SET autocommit = 0; ...; COMMIT AND CHAIN`, the
//!   text `COMMIT; BEGIN`: F1), and counted names that are not the table (a CTE, a
//!   temporary table, a column after ON DUPLICATE KEY UPDATE: F2); `BEGIN NOT ATOMIC
//!   DELETE ...` counted as a read (F3). Sent while the RENAME waits, such a DELETE
//!   queued behind it and ran in the gap; sent in the gap, it ran at once. Both left
//!   orphans. Now each waits at the gate and then gets 1451 as natively; past the
//!   RENAME no write of a transaction passes unwaited at all.
//! - The orphan check after the cut-over read committed rows only, so a transaction
//!   still open across it hid its orphans and the migration said `complete` (F5).
//!   Now the check waits for such transactions (bounded), then counts.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_testkit::{TestDb, TestEngine};

use crate::online::{fk_targets, runtime};
use crate::online_acceptance::{free_port, gateway_opts, one_keyspace, GatewayProcess};
use crate::online_steps::{commit, joined, opened, submit_while_p_opens, until_final, until_waiting};
use crate::online_tx_r24::{run, Outcome, ALTER};
use crate::support::direct;

/// `p` with a RESTRICT child `c` (every `p` row has a child) and `u`, which has a
/// column named `p`.
const SETUP: &str = "
CREATE TABLE p (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, p_id INT, KEY(p_id),
  CONSTRAINT uc_p FOREIGN KEY (p_id) REFERENCES p(id)) ENGINE=InnoDB;
CREATE TABLE u (id INT PRIMARY KEY, p INT) ENGINE=InnoDB;
CREATE TABLE `P` (id INT PRIMARY KEY) ENGINE=InnoDB;
INSERT INTO p SELECT seq, 0 FROM seq_1_to_60000;
INSERT INTO c SELECT seq, seq FROM seq_1_to_60000;
INSERT INTO u VALUES (1, 1), (2, 2);
";

/// Gateway sessions prepared before the ALTER (statements each runs), and the write
/// each sends during the cut-over: every one deletes a parent that has a child.
const SESSIONS: &[(&[&str], &str)] = &[
    // The control: a transaction that only began.
    (&["BEGIN"], "DELETE FROM p WHERE id = 5"),
    // F1: the transaction that read `p` ended; a new one began in the same statement.
    (
        &["BEGIN", "SELECT v FROM p WHERE id = 6", "BEGIN"],
        "DELETE FROM p WHERE id = 6",
    ),
    (
        &["BEGIN", "SELECT v FROM p WHERE id = 7", "COMMIT AND CHAIN"],
        "DELETE FROM p WHERE id = 7",
    ),
    (
        &[
            "START TRANSACTION",
            "SELECT v FROM p WHERE id = 8",
            "START TRANSACTION READ WRITE",
        ],
        "DELETE FROM p WHERE id = 8",
    ),
    (
        &[
            "SET autocommit = 0",
            "SELECT v FROM p WHERE id = 13",
            "COMMIT AND CHAIN",
        ],
        "DELETE FROM p WHERE id = 13",
    ),
    (
        &["BEGIN", "SELECT v FROM p WHERE id = 14", "COMMIT; BEGIN"],
        "DELETE FROM p WHERE id = 14",
    ),
    // F2: names that are not the table `p`.
    (
        &["BEGIN", "WITH p AS (SELECT 1 AS x) SELECT * FROM p"],
        "DELETE FROM p WHERE id = 9",
    ),
    (
        &[
            "BEGIN",
            "CREATE TEMPORARY TABLE p (id INT) ENGINE=MEMORY",
            "SELECT * FROM p",
            "DROP TEMPORARY TABLE p",
        ],
        "DELETE FROM p WHERE id = 10",
    ),
    (
        &[
            "BEGIN",
            "INSERT INTO u (id, p) VALUES (1, 1) ON DUPLICATE KEY UPDATE p = 2",
        ],
        "DELETE FROM p WHERE id = 11",
    ),
    // F3: a compound statement is a write.
    (&["BEGIN"], "BEGIN NOT ATOMIC DELETE FROM p WHERE id = 12; END"),
    // Review r25i F1: a variable named like the keyword, another table whose name
    // differs in case, a column after FROM among a function's arguments.
    (&["BEGIN", "SELECT @from p"], "DELETE FROM p WHERE id = 16"),
    (&["BEGIN", "INSERT INTO `P` VALUES (2)"], "DELETE FROM p WHERE id = 17"),
    (
        &["BEGIN", "UPDATE u SET p = SUBSTRING(p FROM 1) WHERE id = 2"],
        "DELETE FROM p WHERE id = 18",
    ),
];

/// When the sessions send their writes.
#[derive(Clone, Copy, PartialEq)]
enum When {
    /// While the RENAME waits for a direct transaction on `p` (a write that passed
    /// the gate queues behind the RENAME and runs in the gap).
    RenameWaiting,
    /// In the gap: the RENAME done, the re-point of `c` waiting for a direct
    /// transaction on `c`.
    Gap,
}

/// What the scenario saw.
struct Seen {
    /// Which writes had finished 300 ms into the gap.
    finished: Vec<bool>,
    outcomes: Vec<Outcome>,
    /// A direct DELETE of parent 15 (bypassing the gateway) run in the gap, in a
    /// transaction committed 1.5 s after the cut-over could end, when asked for.
    bypass: Option<Outcome>,
    status: String,
    message: String,
}

/// Runs `write` in the prepared session `t`, then rolls back; its outcome.
async fn write_then_roll_back(mut t: Conn, write: &'static str) -> Outcome {
    let r = run(&mut t, write).await;
    let _ = t.query_drop("ROLLBACK").await;
    let _ = t.disconnect().await;
    r
}

/// The scenario: sessions prepared through the gateway, the ALTER; a direct
/// transaction opens `p` once the capture triggers are there (the RENAME waits for
/// it), a direct one opens `c` (the re-point waits for it after the RENAME). The
/// sessions' writes are sent `when`; `bypass`: a direct DELETE runs in the gap too.
fn scenario(
    mode: &str,
    when: When,
    sessions: &'static [(&'static [&'static str], &'static str)],
    bypass: bool,
) -> (TestDb, Seen) {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SETUP);
    let dir = tether_testkit::ScratchDir::new("online_gap_r25");
    let config = one_keyspace(&dir, &db, mode);
    let port = free_port();
    let rt = runtime();
    let gw = GatewayProcess::start(&config, port);
    let seen = rt.block_on(async {
        let mut prepared = Vec::new();
        for (statements, _) in sessions {
            let mut t = Conn::new(gateway_opts(port)).await.expect("connects");
            for s in *statements {
                t.query_drop(*s).await.unwrap_or_else(|e| panic!("{s}: {e}"));
            }
            prepared.push(t);
        }
        let mut watch = direct(&db).await;
        let (mut g, id, on_p) = submit_while_p_opens(&db.url, gateway_opts(port), ALTER).await;
        until_waiting(&mut watch, "RENAME TABLE").await;
        let on_c = opened(&db.url, "c").await;
        let send = |prepared: Vec<Conn>| {
            prepared
                .into_iter()
                .zip(sessions.iter())
                .map(|(t, (_, write))| tokio::spawn(write_then_roll_back(t, write)))
                .collect::<Vec<_>>()
        };
        let mut started = Vec::new();
        if when == When::RenameWaiting {
            started = send(std::mem::take(&mut prepared));
            // Time to pass the gate and queue behind the RENAME, if they do.
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        commit(on_p, "p released").await;
        until_waiting(&mut watch, "ALTER TABLE `c`").await;
        if when == When::Gap {
            started = send(std::mem::take(&mut prepared));
        }
        let mut deleter = None;
        if bypass {
            let mut d = direct(&db).await;
            d.query_drop("BEGIN").await.expect("begin");
            let r = run(&mut d, "DELETE FROM p WHERE id = 15").await;
            deleter = Some((d, r));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let finished: Vec<bool> = started.iter().map(|s| s.is_finished()).collect();
        commit(on_c, "c released").await;
        let bypass = match deleter {
            Some((mut d, r)) => {
                // Past the cut-over's FK steps; committed before the check's bound.
                tokio::time::sleep(Duration::from_millis(1500)).await;
                d.query_drop("COMMIT").await.expect("committed");
                let _ = d.disconnect().await;
                Some(r)
            }
            None => None,
        };
        let outcomes = joined(started).await;
        let (status, message) = until_final(&mut g, &id).await;
        let _ = g.disconnect().await;
        let _ = watch.disconnect().await;
        Seen {
            finished,
            outcomes,
            bypass,
            status,
            message,
        }
    });
    gw.kill();
    (db, seen)
}

fn orphans(db: &TestDb) -> Vec<Vec<Option<String>>> {
    db.query("SELECT c.id FROM c LEFT JOIN p ON p.id = c.p_id WHERE c.p_id IS NOT NULL AND p.id IS NULL ORDER BY c.id")
}

/// Every write waited for the FK steps and was then refused as natively (1451
/// naming `p`); the migration complete, no orphans, `uc_p` on `p`.
fn assert_held_then_refused(db: &TestDb, seen: &Seen) {
    let writes: Vec<&str> = SESSIONS.iter().map(|(_, w)| *w).collect();
    assert_eq!(
        seen.finished,
        vec![false; SESSIONS.len()],
        "every write waited for the FK steps: {writes:?} -> {:?}; {} {}",
        seen.outcomes,
        seen.status,
        seen.message
    );
    for (write, outcome) in writes.iter().zip(&seen.outcomes) {
        match outcome {
            Err((1451, message)) => assert!(
                message.contains("REFERENCES `p` (`id`)") && !message.contains("_old_"),
                "{write}: {message}"
            ),
            // A managed keyspace refuses a write to an FK table inside a compound
            // statement (after the wait).
            Err((1105, message)) if write.starts_with("BEGIN NOT ATOMIC") => {
                assert!(message.contains("compound statement"), "{message}")
            }
            other => panic!("{write}: {other:?} (expected 1451); all: {:?}", seen.outcomes),
        }
    }
    assert_eq!(orphans(db), Vec::<Vec<Option<String>>>::new(), "no orphans");
    assert_eq!(seen.status, "complete", "{}", seen.message);
    assert!(!seen.message.contains("ORPHANS"), "{}", seen.message);
    assert_eq!(
        fk_targets(db),
        vec![vec![Some("uc_p".into()), Some("c".into()), Some("p".into())]]
    );
    assert_eq!(
        db.query("SELECT (SELECT COUNT(*) FROM p), (SELECT COUNT(*) FROM c)"),
        vec![vec![Some("60000".to_string()), Some("60000".to_string())]]
    );
}

/// Writes sent in the gap wait (past the RENAME no write passes unwaited, and no
/// stale or false record says otherwise).
#[test]
fn unmanaged_writes_sent_in_the_gap_wait_for_the_fk_steps() {
    let (db, seen) = scenario("unmanaged", When::Gap, SESSIONS, false);
    assert_held_then_refused(&db, &seen);
}

/// The same in a managed keyspace.
#[test]
fn managed_writes_sent_in_the_gap_wait_for_the_fk_steps() {
    let (db, seen) = scenario("managed", When::Gap, SESSIONS, false);
    assert_held_then_refused(&db, &seen);
}

/// Writes sent while the RENAME waits: a write let through on a stale or false
/// record would queue behind the RENAME and run in the gap. They wait at the gate.
#[test]
fn writes_sent_while_the_rename_waits_do_not_run_in_the_gap() {
    let (db, seen) = scenario("unmanaged", When::RenameWaiting, SESSIONS, false);
    assert_held_then_refused(&db, &seen);
}

/// F5: a direct DELETE (not through the gateway, so not held) in the gap leaves an
/// orphan in a transaction still open when the FK steps end: the orphan check waits
/// for it, counts the orphan, and the migration is not `complete`.
#[test]
fn the_orphan_check_waits_for_transactions_open_across_the_cut_over() {
    let (db, seen) = scenario("unmanaged", When::Gap, &[], true);
    assert_eq!(seen.bypass, Some(Ok(1)), "the direct DELETE ran in the gap");
    assert_eq!(orphans(&db), vec![vec![Some("15".to_string())]]);
    assert_eq!(seen.status, "failed", "{}", seen.message);
    assert!(
        seen.message
            .starts_with("COMPLETE WITH ORPHANS: FK `uc_p` has 1 orphan rows"),
        "{}",
        seen.message
    );
}
