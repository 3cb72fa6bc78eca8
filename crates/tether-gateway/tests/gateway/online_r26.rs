//! Review r26c, as a specification: the cut-over's hold of the gateway's writes and
//! the per-transaction record that exempts a transaction already holding the table.
//! Each scenario: a direct transaction opens `p` once the capture triggers exist, so
//! the RENAME waits for it; the gateway sessions' writes are sent while it waits. A
//! write let through the gate queues behind the RENAME and runs on the new `p` before
//! the FK of `c` is re-pointed at it: an orphan. Natively each write below is refused
//! with 1451 (or never runs), and there is no orphan.
//!
//! - F1: a trigger or a stored function that creates and drops a temporary table
//!   `p` made the record count `SELECT * FROM p` (which read the temporary table) as
//!   having opened the real `p`. Now any call of a function that is not a built-in,
//!   and any write naming a table with triggers (or a view, or another database),
//!   makes the session's names count as nothing.
//! - F2 (a SELECT answered from the query cache takes no metadata lock; under a
//!   query cache that may answer, a cacheable SELECT now counts as having opened
//!   nothing) is specified by the unit test of `keyspace.rs`
//!   (`a_select_the_query_cache_answered_opens_nothing_under_it`).
//! - F3: writes reaching `p` from another keyspace (`DELETE FROM db.p`), a second
//!   keyspace on the same database, or a view in another database were not held.
//!   Now the hold is the gateway's: every keyspace on the same server waits.
//! - F4: a write waiting at the gate ran after a KILL QUERY (answered OK), a KILL
//!   CONNECTION or its client's disconnect. Now the wait ends there and the write
//!   is not run (1317 for KILL QUERY).

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_testkit::{TestDb, TestEngine};

use crate::online::runtime;
use crate::online_acceptance::{free_port, GatewayProcess};
use crate::online_steps::{commit, joined, keyspace_opts, submit_while_p_opens, until_final, until_waiting};
use crate::online_tx_r24::ALTER;
use crate::support;

/// `p` with a RESTRICT child `c` (every `p` row has a child); stored functions that
/// create and drop a temporary table `p`; `x`, whose trigger creates a temporary
/// table `p` for an odd id and drops it for an even one.
const SETUP: &str = "
CREATE TABLE p (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, p_id INT, KEY(p_id),
  CONSTRAINT uc_p FOREIGN KEY (p_id) REFERENCES p(id)) ENGINE=InnoDB;
INSERT INTO p SELECT seq, 0 FROM seq_1_to_60000;
INSERT INTO c SELECT seq, seq FROM seq_1_to_60000;
CREATE FUNCTION f1() RETURNS INT MODIFIES SQL DATA BEGIN CREATE TEMPORARY TABLE p (id INT); RETURN 1; END;
CREATE FUNCTION f2() RETURNS INT MODIFIES SQL DATA BEGIN DROP TEMPORARY TABLE p; RETURN 1; END;
CREATE TABLE x (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TRIGGER tx AFTER INSERT ON x FOR EACH ROW BEGIN
  IF NEW.id % 2 = 1 THEN CREATE TEMPORARY TABLE p (id INT); ELSE DROP TEMPORARY TABLE p; END IF;
END;
";

pub(crate) type Outcome = Result<u64, (u16, String)>;

/// Runs `sql`: its affected rows, its server error, or 2013 when the connection
/// was lost.
async fn attempt(conn: &mut Conn, sql: &str) -> Outcome {
    let r = conn.query_drop(sql).await;
    let affected = conn.affected_rows();
    r.map(|_| affected).map_err(|e| match e {
        mysql_async::Error::Server(s) => (s.code, s.message),
        other => (2013, other.to_string()),
    })
}

/// A gateway session: its keyspace, what it runs before the ALTER, and the write
/// it sends while the RENAME waits.
pub(crate) struct Session {
    keyspace: &'static str,
    prepare: Vec<String>,
    write: String,
}

pub(crate) fn session(keyspace: &'static str, prepare: &[&str], write: &str) -> Session {
    Session {
        keyspace,
        prepare: prepare.iter().map(|s| s.to_string()).collect(),
        write: write.to_string(),
    }
}

/// What is done to the held sessions while their writes wait.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Stop {
    None,
    /// `KILL QUERY` of the session, from another gateway session.
    KillQuery,
    /// `KILL CONNECTION` of the session.
    KillConnection,
}

/// A database: its URL and name.
pub(crate) struct Place {
    url: String,
    name: String,
}

impl Place {
    fn of(db: &TestDb) -> Place {
        Place {
            url: db.url.clone(),
            name: db.name.clone(),
        }
    }

    pub(crate) fn exec(&self, script: &str) {
        tether_testkit::exec_url(TestEngine::Mysql, &self.url, script)
    }

    fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        tether_testkit::query_url(TestEngine::Mysql, &self.url, sql)
    }

    async fn direct(&self) -> Conn {
        Conn::from_url(self.url.as_str()).await.expect("direct connection")
    }
}

/// The databases: the migrated one (keyspaces `ks` and `ks2`), another keyspace's
/// (`other`), and one holding a view over `p` (no keyspace).
pub(crate) struct Dbs {
    pub(crate) db: Place,
    pub(crate) other: Place,
    views: Place,
    /// Dropped with the scenario (on the shared server).
    _owned: Vec<TestDb>,
}

pub(crate) fn databases() -> Dbs {
    let owned: Vec<TestDb> = (0..3).map(|_| TestDb::create(TestEngine::Mysql)).collect();
    let dbs = Dbs {
        db: Place::of(&owned[0]),
        other: Place::of(&owned[1]),
        views: Place::of(&owned[2]),
        _owned: owned,
    };
    fill(&dbs);
    dbs
}

/// The schema of every scenario in `dbs`.
fn fill(dbs: &Dbs) {
    dbs.db.exec(SETUP);
    dbs.other.exec("CREATE TABLE x (id INT PRIMARY KEY) ENGINE=InnoDB");
    dbs.views
        .exec(&format!("CREATE VIEW vp AS SELECT * FROM `{}`.p", dbs.db.name));
}

/// The gateway's config: `ks` in `mode` and `ks2` (unmanaged) on the migrated
/// database, `other` (unmanaged) on another.
fn config(dir: &tether_testkit::ScratchDir, dbs: &Dbs, mode: &str) -> std::path::PathBuf {
    let path = dir.join("vschema.json");
    std::fs::write(
        &path,
        format!(
            r#"{{"users": [{{"user": "{}", "password": "{}"}}],
                "keyspaces": {{
                  "ks": {{"foreignKeyMode": "{mode}", "backend": {{"url": "{}"}}}},
                  "ks2": {{"foreignKeyMode": "unmanaged", "backend": {{"url": "{}"}}}},
                  "other": {{"foreignKeyMode": "unmanaged", "backend": {{"url": "{}"}}}}}}}}"#,
            support::USER,
            support::PASSWORD,
            dbs.db.url,
            dbs.db.url,
            dbs.other.url
        ),
    )
    .expect("config");
    path
}

/// A client driven by hand (no statement at login, so no backend connection yet,
/// as `pymysql` connects): logged in to keyspace `ks`; its connection id.
fn raw_client(port: u16) -> (support::Raw, u32) {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("tcp");
    s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let mut head = [0u8; 4];
    s.read_exact(&mut head).expect("greeting header");
    let len = usize::from(head[0]) | usize::from(head[1]) << 8 | usize::from(head[2]) << 16;
    let mut greeting = vec![0; len];
    s.read_exact(&mut greeting).expect("greeting");
    let version_end = greeting.iter().position(|b| *b == 0).expect("version");
    let id = u32::from_le_bytes(greeting[version_end + 1..version_end + 5].try_into().expect("4 bytes"));
    let salt = [
        &greeting[version_end + 5..version_end + 13],
        &greeting[version_end + 32..version_end + 44],
    ]
    .concat();
    let mut raw = support::Raw { s };
    let mut login = support::caps::BASE.to_le_bytes().to_vec();
    login.extend_from_slice(&(1u32 << 24).to_le_bytes());
    login.push(45);
    login.extend_from_slice(&[0; 23]);
    login.extend_from_slice(format!("{}\0", support::USER).as_bytes());
    let scramble = tether_gateway::scramble(support::PASSWORD, &salt);
    login.push(scramble.len() as u8);
    login.extend_from_slice(&scramble);
    login.extend_from_slice(b"ks\0mysql_native_password\0");
    raw.write(1, &login);
    let (_, ok) = raw.read();
    assert_eq!(ok[0], 0x00, "logged in: {ok:?}");
    (raw, id)
}

/// What a scenario saw.
pub(crate) struct Seen {
    /// Which writes had finished while the RENAME still waited (600 ms after they
    /// were sent).
    pub(crate) finished: Vec<bool>,
    pub(crate) outcomes: Vec<Outcome>,
    status: String,
    message: String,
}

/// The scenario: the ALTER through the gateway in a keyspace `ks` of `mode`; the
/// sessions prepared through the gateway once its capture triggers exist; once the
/// RENAME waits for a direct transaction on `p`, each
/// session sends its write; `stop` is done to each (but the last, when `keep_last`)
/// 300 ms later; the direct transaction commits 300 ms after that. `by_hand`: one
/// more client, with no backend connection yet, sends `UPDATE p SET v = 99 WHERE id
/// = 22` by hand; while held, it closes its socket (`stop` None) or gets `stop`.
pub(crate) fn scenario(dbs: &Dbs, mode: &str, sessions: &[Session], stop: Stop, by_hand: bool) -> Seen {
    let db = &dbs.db;
    let dir = tether_testkit::ScratchDir::new("online_r26");
    let config = config(&dir, dbs, mode);
    let port = free_port();
    let rt = runtime();
    let gw = GatewayProcess::start(&config, port);
    let seen = rt.block_on(async {
        let mut watch = db.direct().await;
        let (mut g, id, on_p) = submit_while_p_opens(&db.url, keyspace_opts(port, "ks"), ALTER).await;
        // Prepared once the capture triggers exist (during the copy, before the hold):
        // a transaction's snapshot is then newer than the new `p` (else its write
        // there gets 1412 whatever the gate does).
        let mut prepared = Vec::new();
        for s in sessions {
            let mut t = Conn::new(keyspace_opts(port, s.keyspace)).await.expect("connects");
            for sql in &s.prepare {
                t.query_drop(sql.as_str())
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            prepared.push(t);
        }
        until_waiting(&mut watch, "RENAME TABLE").await;
        let mut ids = Vec::new();
        let mut started = Vec::new();
        for (mut t, s) in prepared.into_iter().zip(sessions) {
            ids.push(t.id());
            let write = s.write.clone();
            started.push(tokio::spawn(async move {
                let r = attempt(&mut t, &write).await;
                let _ = t.query_drop("ROLLBACK").await;
                let _ = t.disconnect().await;
                r
            }));
        }
        let raw = by_hand.then(|| {
            let (mut raw, id) = raw_client(port);
            raw.command(0x03, b"UPDATE p SET v = 99 WHERE id = 22");
            (raw, id)
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut killed: Vec<u32> = ids[..ids.len().saturating_sub(1)].to_vec();
        match &raw {
            Some((raw, _)) if stop == Stop::None => raw.s.shutdown(std::net::Shutdown::Both).expect("shut down"),
            Some((_, id)) => killed.push(*id),
            None => {}
        }
        if stop != Stop::None {
            let mut killer = Conn::new(keyspace_opts(port, "ks")).await.expect("connects");
            let kind = if stop == Stop::KillQuery { "QUERY" } else { "CONNECTION" };
            for id in &killed {
                killer
                    .query_drop(format!("KILL {kind} {id}"))
                    .await
                    .unwrap_or_else(|e| panic!("KILL {kind} {id}: {e}"));
            }
            let _ = killer.disconnect().await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let finished: Vec<bool> = started.iter().map(|s| s.is_finished()).collect();
        commit(on_p, "p released").await;
        let outcomes = joined(started).await;
        let (status, message) = until_final(&mut g, &id).await;
        let _ = g.disconnect().await;
        let _ = watch.disconnect().await;
        Seen {
            finished,
            outcomes,
            status,
            message,
        }
    });
    gw.kill();
    seen
}

fn orphans(db: &Place) -> Vec<Vec<Option<String>>> {
    db.query("SELECT c.id FROM c LEFT JOIN p ON p.id = c.p_id WHERE c.p_id IS NOT NULL AND p.id IS NULL ORDER BY c.id")
}

/// The cut-over completed with `uc_p` on the new `p`, no orphans, every row there.
pub(crate) fn assert_complete(db: &Place, seen: &Seen) {
    assert_eq!(orphans(db), Vec::<Vec<Option<String>>>::new(), "no orphans");
    assert_eq!(seen.status, "complete", "{}", seen.message);
    assert!(!seen.message.contains("ORPHANS"), "{}", seen.message);
    assert_eq!(
        db.query(&format!(
            "SELECT CONSTRAINT_NAME, TABLE_NAME, REFERENCED_TABLE_NAME FROM \
             information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = '{}' ORDER BY 1",
            db.name
        )),
        vec![vec![Some("uc_p".into()), Some("c".into()), Some("p".into())]]
    );
    assert_eq!(
        db.query("SELECT (SELECT COUNT(*) FROM p), (SELECT COUNT(*) FROM c)"),
        vec![vec![Some("60000".to_string()), Some("60000".to_string())]]
    );
}

/// Every write waited for the cut-over and was then refused as natively: 1451
/// naming `p`, or, in a transaction whose consistent snapshot predates the new `p`
/// (it read the temporary table), 1412 as natively after a table is rebuilt.
pub(crate) fn assert_held_then_refused(sessions: &[Session], seen: &Seen) {
    let writes: Vec<&str> = sessions.iter().map(|s| s.write.as_str()).collect();
    assert_eq!(
        seen.finished,
        vec![false; sessions.len()],
        "every write waited for the cut-over: {writes:?} -> {:?}; {} {}",
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
            Err((1412, message)) => assert_eq!(message, "Table definition has changed, please retry transaction"),
            other => panic!("{write}: {other:?} (expected 1451); all: {:?}", seen.outcomes),
        }
    }
}

/// The control (a transaction that only began) and F1's two forms: a temporary
/// table `p` made and dropped by a trigger, and by stored functions.
fn f1_sessions() -> Vec<Session> {
    vec![
        session("ks", &["BEGIN"], "DELETE FROM p WHERE id = 5"),
        session(
            "ks",
            &[
                "BEGIN",
                "INSERT INTO x VALUES (1)",
                "SELECT * FROM p",
                "INSERT INTO x VALUES (2)",
            ],
            "DELETE FROM p WHERE id = 9",
        ),
        session(
            "ks",
            &["BEGIN", "SELECT f1()", "SELECT * FROM p", "SELECT f2()"],
            "DELETE FROM p WHERE id = 6",
        ),
    ]
}

/// F3's three ways to `p` from outside the keyspace's own names: another keyspace's
/// session naming `db.p`, a second keyspace on the same database, a view of another
/// database written from the migrating keyspace.
fn f3_sessions(dbs: &Dbs) -> Vec<Session> {
    vec![
        session("other", &[], &format!("DELETE FROM `{}`.p WHERE id = 7", dbs.db.name)),
        session("ks2", &[], "DELETE FROM p WHERE id = 8"),
        session("ks", &[], &format!("DELETE FROM `{}`.vp WHERE id = 10", dbs.views.name)),
    ]
}

/// F1, unmanaged: the trigger's and the functions' temporary table do not make the
/// record say `p` was opened; the writes wait and get 1451.
#[test]
fn unmanaged_temporary_tables_of_triggers_and_functions_do_not_exempt_a_write() {
    let dbs = databases();
    let sessions = f1_sessions();
    let seen = scenario(&dbs, "unmanaged", &sessions, Stop::None, false);
    assert_held_then_refused(&sessions, &seen);
    assert_complete(&dbs.db, &seen);
}

/// F1's trigger form, managed.
#[test]
fn managed_temporary_tables_of_triggers_do_not_exempt_a_write() {
    let dbs = databases();
    let sessions: Vec<Session> = f1_sessions().into_iter().take(2).collect();
    let seen = scenario(&dbs, "managed", &sessions, Stop::None, false);
    assert_held_then_refused(&sessions, &seen);
    assert_complete(&dbs.db, &seen);
}

/// F3: writes reaching `p` through another keyspace, a second keyspace on the same
/// database, and a view of another database are held too, then refused as
/// natively.
#[test]
fn writes_from_other_keyspaces_and_through_other_databases_are_held() {
    let dbs = databases();
    let sessions = f3_sessions(&dbs);
    let seen = scenario(&dbs, "unmanaged", &sessions, Stop::None, false);
    assert_held_then_refused(&sessions, &seen);
    assert_complete(&dbs.db, &seen);
}

/// F3 with the migrating keyspace managed: the second keyspace on its database
/// (unmanaged) is held. (A write to `db.p` from keyspace `other` is refused before
/// it runs: 1105, the rule for a managed keyspace's FK tables written from another.)
#[test]
fn managed_writes_from_a_second_keyspace_on_the_database_are_held() {
    let dbs = databases();
    let sessions = vec![
        session("ks", &["BEGIN"], "DELETE FROM p WHERE id = 5"),
        session("ks2", &[], "DELETE FROM p WHERE id = 8"),
    ];
    let seen = scenario(&dbs, "managed", &sessions, Stop::None, false);
    assert_held_then_refused(&sessions, &seen);
    assert_complete(&dbs.db, &seen);
}

/// The held autocommit UPDATEs of `p` rows 20, 21 (killed) and 23 (not).
fn kill_sessions() -> Vec<Session> {
    vec![
        session("ks", &[], "UPDATE p SET v = 99 WHERE id = 20"),
        session("ks", &[], "UPDATE p SET v = 99 WHERE id = 21"),
        session("ks", &[], "UPDATE p SET v = 99 WHERE id = 23"),
    ]
}

fn changed(db: &Place) -> Vec<Vec<Option<String>>> {
    db.query("SELECT id, v FROM p WHERE v <> 0 ORDER BY id")
}

/// F4: KILL QUERY of a write held at the gate answers it 1317 and it is not run.
/// The write not killed runs after the cut-over.
#[test]
fn a_held_write_killed_by_query_is_not_run() {
    let dbs = databases();
    let sessions = kill_sessions();
    let seen = scenario(&dbs, "unmanaged", &sessions, Stop::KillQuery, false);
    assert_eq!(seen.finished, [true, true, false], "{:?}", seen.outcomes);
    for o in &seen.outcomes[..2] {
        assert!(
            matches!(o, Err((1317, m)) if m == "Query execution was interrupted"),
            "{o:?}"
        );
    }
    assert_eq!(seen.outcomes[2], Ok(1));
    assert_eq!(changed(&dbs.db), vec![vec![Some("23".into()), Some("99".into())]]);
    assert_complete(&dbs.db, &seen);
}

/// F4: KILL CONNECTION of a held write ends its connection (2013) and it is not
/// run, also for a client with no backend connection yet (the hand-driven one).
#[test]
fn a_held_write_whose_connection_is_killed_is_not_run() {
    let dbs = databases();
    let sessions = kill_sessions();
    let seen = scenario(&dbs, "unmanaged", &sessions, Stop::KillConnection, true);
    assert_eq!(seen.finished, [true, true, false], "{:?}", seen.outcomes);
    for o in &seen.outcomes[..2] {
        assert!(matches!(o, Err((2013, _))), "{o:?}");
    }
    assert_eq!(seen.outcomes[2], Ok(1));
    assert_eq!(changed(&dbs.db), vec![vec![Some("23".into()), Some("99".into())]]);
    assert_complete(&dbs.db, &seen);
}

/// F4: a client (with no backend connection yet) that closes its socket while its
/// write is held gets nothing run; the other held writes run after the cut-over.
#[test]
fn a_held_write_whose_client_left_is_not_run() {
    let dbs = databases();
    let sessions = vec![session("ks", &[], "UPDATE p SET v = 99 WHERE id = 23")];
    let seen = scenario(&dbs, "unmanaged", &sessions, Stop::None, true);
    assert_eq!(seen.outcomes, [Ok(1)]);
    assert_eq!(changed(&dbs.db), vec![vec![Some("23".into()), Some("99".into())]]);
    assert_complete(&dbs.db, &seen);
}
