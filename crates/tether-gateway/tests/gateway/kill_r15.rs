//! Fifteenth session, review F finding 1: a managed write stopped by something
//! other than its data (KILL QUERY, a lock wait timeout, `max_statement_time`, a
//! deadlock) ends with that error, rolled back as MariaDB rolls it back, and is
//! never run again natively. Before, the gateway replayed the original after any
//! failure of its batch or probes (to find MariaDB's first FK / duplicate-key
//! error), and the replay, once the lock it waited for was freed, ran the very
//! statement the client had killed or that had timed out.
//!
//! Each scenario: a lock holder on the backend, the victim's managed write
//! through the gateway waiting for it (seen in `INNODB_TRX`), the stop, and the
//! lock freed only once the victim's waiting statement is over, so a replay (the
//! old behaviour) would have run through.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use std::time::{Duration, Instant};
use tether_testkit::{TestDb, TestEngine};

use tokio::task::JoinHandle;

use crate::managed::outcome;
use crate::support::{direct, rows, start_one};

/// Review F's schema: `c` cascades from `p` on two FKs (by id and by a latin1
/// key); `r` restricts deletes of `p`; `o` has no FK.
const SCHEMA: &str = "
CREATE TABLE p (id INT PRIMARY KEY, k VARCHAR(20) CHARACTER SET latin1 UNIQUE, b LONGBLOB) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid INT, pk VARCHAR(20) CHARACTER SET latin1,
  FOREIGN KEY (pid) REFERENCES p(id) ON DELETE CASCADE ON UPDATE CASCADE,
  FOREIGN KEY (pk) REFERENCES p(k) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE r (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p(id)) ENGINE=InnoDB;
CREATE TABLE o (id INT PRIMARY KEY) ENGINE=InnoDB;
INSERT INTO p (id, k) VALUES (1, 'a'), (2, 'b'), (3, 'c');
INSERT INTO c VALUES (10, 1, 'a'), (11, 1, 'b'), (12, 2, 'b'), (13, 3, 'c');
";

/// The rows of `p`, `c`, `r` and `o`, in key order.
async fn tables(conn: &mut Conn) -> [Vec<Vec<String>>; 4] {
    [
        rows(conn, "SELECT id FROM p ORDER BY id").await,
        rows(conn, "SELECT id, pid, pk FROM c ORDER BY id").await,
        rows(conn, "SELECT id, pid FROM r ORDER BY id").await,
        rows(conn, "SELECT id FROM o ORDER BY id").await,
    ]
}

fn texts(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter().map(|r| r.iter().map(|v| v.to_string()).collect()).collect()
}

/// [`SCHEMA`]'s rows of `p` and `c`, as loaded.
fn loaded() -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    (
        texts(&[&["1"], &["2"], &["3"]]),
        texts(&[
            &["10", "1", "a"],
            &["11", "1", "b"],
            &["12", "2", "b"],
            &["13", "3", "c"],
        ]),
    )
}

/// A managed keyspace on a fresh database with [`SCHEMA`], its schema read (a
/// planned write that changes nothing), so the victims' writes go straight to
/// their locks.
fn setup() -> (TestDb, crate::support::Gw) {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SCHEMA);
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let mut conn = gw.connect("ks").await;
        assert_eq!(
            outcome(&mut conn, "DELETE FROM p WHERE id = 99").await,
            (0, 0, String::new())
        );
    });
    (db, gw)
}

/// How long a poll of the server waits for a state before the test fails (a
/// bound, not a timing: each poll ends as soon as the state is seen).
const PATIENCE: Duration = Duration::from_secs(300);

/// The backend thread id of a gateway session (its `CONNECTION_ID()`).
async fn thread_of(conn: &mut Conn) -> u64 {
    conn.query_first("SELECT CONNECTION_ID()")
        .await
        .expect("connection id")
        .expect("one row")
}

/// Waits until thread `id`'s transaction waits for a lock; the statement that
/// waits. `SHOW ENGINE INNODB STATUS`, not `INNODB_TRX`: a transaction that has
/// only read (the gateway's locking reads) is not listed there.
async fn lock_wait(watch: &mut Conn, id: u64, victim: &mut Victim) -> String {
    match wait_or_end(watch, id, victim).await {
        Some(statement) => statement,
        None => {
            let (o, _) = victim.await.expect("victim");
            panic!("thread {id} ended before it waited for a lock: {o:?}");
        }
    }
}

/// As [`lock_wait`], or `None` when the victim ended first: a wait cut short by a
/// one-second timeout may end between two looks (under load); the old replay
/// would then have waited a second time, and been seen.
async fn wait_or_end(watch: &mut Conn, id: u64, victim: &Victim) -> Option<String> {
    // Bounded generously: a loaded server may take its time.
    let deadline = Instant::now() + PATIENCE;
    let thread = format!("thread id {id},");
    while Instant::now() < deadline {
        if victim.is_finished() {
            return None;
        }
        let status: Option<(String, String, String)> = watch
            .query_first("SHOW ENGINE INNODB STATUS")
            .await
            .expect("InnoDB status");
        let status = status.map(|(_, _, text)| text).unwrap_or_default();
        let waits = status
            .split("---TRANSACTION")
            .any(|trx| trx.contains(&thread) && trx.contains("LOCK WAIT"));
        if waits {
            let running: Option<Option<String>> = watch
                .query_first(format!(
                    "SELECT INFO FROM information_schema.PROCESSLIST WHERE ID = {id}"
                ))
                .await
                .expect("PROCESSLIST");
            if let Some(query) = running.flatten() {
                return Some(query);
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("thread {id} never waited for a lock");
}

/// Waits until thread `id` no longer runs `statement` (the one that waited), or
/// the victim's task ended.
async fn past<T>(watch: &mut Conn, id: u64, statement: &str, victim: &JoinHandle<T>) {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if victim.is_finished() {
            return;
        }
        let running: Option<Option<String>> = watch
            .query_first(format!(
                "SELECT INFO FROM information_schema.PROCESSLIST WHERE ID = {id}"
            ))
            .await
            .expect("PROCESSLIST");
        if running.flatten().as_deref() != Some(statement) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("thread {id} kept running {statement}");
}

type Victim = JoinHandle<((u16, u64, String), Conn)>;

/// `sql` on the victim's gateway session, in a task: (code, rows affected,
/// message) and the session back.
fn spawn(mut victim: Conn, sql: &'static str) -> Victim {
    tokio::spawn(async move {
        let o = outcome(&mut victim, sql).await;
        (o, victim)
    })
}

/// `DELETE FROM p WHERE id = 1` on a gateway session, KILL QUERY'd from another
/// once it waits for a lock: a direct connection to watch with, and the victim's
/// task (not yet answered if the lock is still held).
async fn kill_delete_while_it_waits(gw: &crate::support::Gw, db: &TestDb) -> (Conn, Victim) {
    let mut victim = gw.connect("ks").await;
    let vid = thread_of(&mut victim).await;
    let mut killer = gw.connect("ks").await;
    let mut watch = direct(db).await;
    let mut task = spawn(victim, "DELETE FROM p WHERE id = 1");
    let waiting = lock_wait(&mut watch, vid, &mut task).await;
    killer.query_drop(format!("KILL QUERY {vid}")).await.unwrap();
    past(&mut watch, vid, &waiting, &task).await;
    (watch, task)
}

/// The reviewer's t6.py: a cascading DELETE waits for a child row another
/// transaction holds, and is KILL QUERY'd from another gateway session. MariaDB
/// answers 1317 and changes nothing; the gateway replayed the DELETE, which ran
/// once the lock was freed (parent and children gone, the client told OK).
#[test]
fn a_killed_managed_delete_is_not_run_again() {
    let (db, gw) = setup();
    gw.block_on(async {
        let mut holder = direct(&db).await;
        holder.query_drop("START TRANSACTION").await.unwrap();
        rows(&mut holder, "SELECT id FROM c WHERE id = 11 FOR UPDATE").await;
        let (mut watch, task) = kill_delete_while_it_waits(&gw, &db).await;
        holder.query_drop("ROLLBACK").await.unwrap();
        let ((code, _, message), mut victim) = task.await.unwrap();

        assert_eq!((code, message.as_str()), (1317, "Query execution was interrupted"));
        let (p, c) = loaded();
        assert_eq!(tables(&mut watch).await, [p, c, vec![], vec![]]);
        // The session goes on: the same DELETE, unlocked, cascades.
        assert_eq!(
            outcome(&mut victim, "DELETE FROM p WHERE id = 1").await,
            (0, 1, String::new())
        );
        assert_eq!(
            rows(&mut watch, "SELECT id FROM c ORDER BY id").await,
            texts(&[&["12"], &["13"]])
        );
    });
}

/// A lock wait timeout (innodb_lock_wait_timeout = 1) of a cascading DELETE inside
/// the client's transaction: 1205, as natively, and only the statement is rolled
/// back (the transaction's earlier INSERT stays and commits). The gateway
/// replayed the DELETE, which waited a second time and ran once the lock was freed.
#[test]
fn a_lock_wait_timeout_rolls_back_the_statement_only_and_is_not_replayed() {
    let (db, gw) = setup();
    gw.block_on(async {
        let mut holder = direct(&db).await;
        holder.query_drop("START TRANSACTION").await.unwrap();
        rows(&mut holder, "SELECT id FROM c WHERE id = 11 FOR UPDATE").await;
        let mut victim = gw.connect("ks").await;
        let vid = thread_of(&mut victim).await;
        let mut watch = direct(&db).await;
        for sql in [
            "SET SESSION innodb_lock_wait_timeout = 1",
            "START TRANSACTION",
            "INSERT INTO o VALUES (1)",
        ] {
            victim.query_drop(sql).await.unwrap();
        }

        let task = spawn(victim, "DELETE FROM p WHERE id = 1");
        if let Some(waiting) = wait_or_end(&mut watch, vid, &task).await {
            past(&mut watch, vid, &waiting, &task).await;
        }
        holder.query_drop("ROLLBACK").await.unwrap();
        let ((code, _, message), mut victim) = task.await.unwrap();

        assert_eq!(
            (code, message.as_str()),
            (1205, "Lock wait timeout exceeded; try restarting transaction")
        );
        assert_eq!(rows(&mut victim, "SELECT @@in_transaction").await, texts(&[&["1"]]));
        victim.query_drop("COMMIT").await.unwrap();
        let (p, c) = loaded();
        assert_eq!(tables(&mut watch).await, [p, c, vec![], texts(&[&["1"]])]);
    });
}

/// `max_statement_time` stops a cascading DELETE that waits for a lock: 1969, as
/// natively, nothing changed. The gateway's replay ran it again under the same
/// limit and, with the lock freed meanwhile, deleted.
#[test]
fn a_statement_over_max_statement_time_is_not_replayed() {
    let (db, gw) = setup();
    gw.block_on(async {
        let mut holder = direct(&db).await;
        holder.query_drop("START TRANSACTION").await.unwrap();
        rows(&mut holder, "SELECT id FROM c WHERE id = 11 FOR UPDATE").await;
        let mut victim = gw.connect("ks").await;
        let vid = thread_of(&mut victim).await;
        let mut watch = direct(&db).await;
        victim.query_drop("SET SESSION max_statement_time = 1").await.unwrap();

        let task = spawn(victim, "DELETE FROM p WHERE id = 1");
        if let Some(waiting) = wait_or_end(&mut watch, vid, &task).await {
            past(&mut watch, vid, &waiting, &task).await;
        }
        holder.query_drop("ROLLBACK").await.unwrap();
        let ((code, _, message), _) = task.await.unwrap();

        assert_eq!(
            (code, message.as_str()),
            (1969, "Query execution was interrupted (max_statement_time exceeded)")
        );
        let (p, c) = loaded();
        assert_eq!(tables(&mut watch).await, [p, c, vec![], vec![]]);
    });
}

/// KILL QUERY of a DELETE while the gateway's RESTRICT probe waits for a child row
/// another transaction inserts (with its checks off, so it holds no lock on the
/// parent): 1317, as natively. The gateway replayed the DELETE with InnoDB's
/// checks, which waited for the same row and, once it was committed, answered
/// 1451 instead.
#[test]
fn a_delete_killed_in_its_restrict_probe_is_not_replayed() {
    let (db, gw) = setup();
    gw.block_on(async {
        let mut holder = direct(&db).await;
        for sql in [
            "SET SESSION foreign_key_checks = 0",
            "START TRANSACTION",
            "INSERT INTO r VALUES (5, 1)",
        ] {
            holder.query_drop(sql).await.unwrap();
        }
        let (mut watch, task) = kill_delete_while_it_waits(&gw, &db).await;
        holder.query_drop("COMMIT").await.unwrap();
        let ((code, _, message), _) = task.await.unwrap();

        assert_eq!((code, message.as_str()), (1317, "Query execution was interrupted"));
        let (p, c) = loaded();
        assert_eq!(tables(&mut watch).await, [p, c, texts(&[&["5", "1"]]), vec![]]);
    });
}

/// A deadlock while the gateway's RESTRICT probe waits, inside the client's
/// transaction: InnoDB rolls the whole transaction back (1213), so the client's
/// earlier INSERT is gone and no transaction is open, as natively. The gateway
/// replayed the DELETE outside any transaction (autocommit): once the lock was
/// freed it deleted and committed, though the client was told 1213.
#[test]
fn a_deadlocked_delete_is_not_replayed_outside_the_lost_transaction() {
    let (db, gw) = setup();
    gw.block_on(async {
        let mut holder = direct(&db).await;
        holder.query_drop("SET SESSION foreign_key_checks = 0").await.unwrap();
        holder.query_drop("START TRANSACTION").await.unwrap();
        // Heavier than the victim's transaction: InnoDB rolls back the lighter one.
        let many: Vec<String> = (100..200).map(|i| format!("({i})")).collect();
        holder
            .query_drop(format!("INSERT INTO o VALUES {}", many.join(", ")))
            .await
            .unwrap();
        holder.query_drop("INSERT INTO r VALUES (5, 1)").await.unwrap();
        let mut victim = gw.connect("ks").await;
        let vid = thread_of(&mut victim).await;
        let mut watch = direct(&db).await;
        victim.query_drop("START TRANSACTION").await.unwrap();
        victim.query_drop("INSERT INTO o VALUES (1)").await.unwrap();

        let mut task = spawn(victim, "DELETE FROM p WHERE id = 1");
        lock_wait(&mut watch, vid, &mut task).await;
        // The holder now waits for the parent row the victim's lock read holds: a
        // cycle; InnoDB picks the victim's transaction and the holder goes on.
        rows(&mut holder, "SELECT id FROM p WHERE id = 1 FOR UPDATE").await;
        holder.query_drop("ROLLBACK").await.unwrap();
        let ((code, _, message), mut victim) = task.await.unwrap();

        assert_eq!(
            (code, message.as_str()),
            (
                1213,
                "Deadlock found when trying to get lock; try restarting transaction"
            )
        );
        assert_eq!(rows(&mut victim, "SELECT @@in_transaction").await, texts(&[&["0"]]));
        let (p, c) = loaded();
        assert_eq!(tables(&mut watch).await, [p, c, vec![], vec![]]);
    });
}
