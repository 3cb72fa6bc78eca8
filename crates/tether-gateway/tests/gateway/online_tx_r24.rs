//! Review r24d F1, as a specification: a write inside a client transaction reaching a
//! table under cut-over. Between the RENAME and the re-point of the children's FKs,
//! InnoDB's FK of `c` follows the renamed old table (`_p_old_<id>`), so nothing checks
//! the new `p`. Statements inside a transaction passed the gate unwaited ("the
//! cut-over waits for them"), but the RENAME waits only for transactions that had
//! opened `p` before it: one opened before the hold that first reached `p` after the
//! RENAME deleted a parent whose child stayed (an orphan; the migration said
//! `COMPLETE WITH ORPHANS`), and an orphan insert into `c` was refused naming
//! `_p_old_<id>`. Now such a write waits like one outside a transaction and then runs
//! as natively (1451, 1452 naming `p`); a transaction that opened `p` before the hold
//! (the one the RENAME waits for) still writes at once, without a deadlock. Unmanaged
//! and managed keyspaces alike.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_testkit::{TestDb, TestEngine};

use crate::online::{fk_targets, runtime, short, status_of};
use crate::online_acceptance::{free_port, gateway_opts, one_keyspace, GatewayProcess};
use crate::online_steps::{commit, joined, opened, submit_while_p_opens, until_final, until_waiting};
use crate::support::{self, direct, server_error};

/// `p` with a RESTRICT child `c` (every `p` row has a child) and an unrelated `u`.
pub(crate) const SETUP: &str = "
CREATE TABLE p (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, p_id INT, KEY(p_id),
  CONSTRAINT uc_p FOREIGN KEY (p_id) REFERENCES p(id)) ENGINE=InnoDB;
CREATE TABLE u (id INT PRIMARY KEY) ENGINE=InnoDB;
INSERT INTO p SELECT seq, 0 FROM seq_1_to_60000;
INSERT INTO c SELECT seq, seq FROM seq_1_to_60000;
INSERT INTO u VALUES (1);
";

pub(crate) const ALTER: &str = "ALTER TABLE p ADD COLUMN z INT";

pub(crate) type Outcome = Result<u64, (u16, String)>;

/// Runs `sql` on `conn`: its affected rows or its error (code, message).
pub(crate) async fn run(conn: &mut Conn, sql: &str) -> Outcome {
    let r = conn.query_drop(sql).await;
    let affected = conn.affected_rows();
    r.map(|_| affected).map_err(|e| {
        let (code, _, message) = server_error(e);
        (code, message)
    })
}

/// A gateway connection inside a transaction that has not read anything yet (no
/// snapshot: a consistent read of the new `p` would get 1412, as natively after a
/// table is rebuilt).
async fn open_elsewhere(port: u16) -> Conn {
    let mut t = Conn::new(gateway_opts(port)).await.expect("connects");
    t.query_drop("BEGIN").await.expect("begin");
    t
}

/// Runs `sql` in `t`'s transaction, then rolls it back; its outcome.
async fn in_open_transaction(mut t: Conn, sql: &'static str) -> Outcome {
    let r = run(&mut t, sql).await;
    t.query_drop("ROLLBACK").await.expect("rollback");
    let _ = t.disconnect().await;
    r
}

/// What the scenario saw.
struct Seen {
    /// Which of the three writes had finished 300 ms into the window.
    finished: [bool; 3],
    /// The DELETE of a parent with a child, the orphan INSERT into `c`, the UPDATE
    /// of a child to no parent: each in a transaction opened before the hold, sent
    /// after the RENAME.
    outcomes: Vec<Outcome>,
    status: String,
    message: String,
    id: String,
}

/// The scenario in a keyspace of `mode`: a direct transaction opens `p` once the
/// capture triggers are there, so the RENAME waits for it; meanwhile a direct
/// transaction opens `c`, so once the first commits, the re-point of `c` waits after
/// the RENAME. In that window the three writes are sent through the gateway from
/// transactions opened before the cut-over; 300 ms later the
/// transaction on `c` commits and the cut-over completes.
fn scenario(mode: &str) -> (TestDb, Seen) {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SETUP);
    let dir = tether_testkit::ScratchDir::new("online_tx_r24");
    let config = one_keyspace(&dir, &db, mode);
    let port = free_port();
    let rt = runtime();
    let gw = GatewayProcess::start(&config, port);
    let seen = rt.block_on(async {
        let deleting = open_elsewhere(port).await;
        let inserting = open_elsewhere(port).await;
        let updating = open_elsewhere(port).await;
        let mut watch = direct(&db).await;
        let (mut g, id, on_p) = submit_while_p_opens(&db.url, gateway_opts(port), ALTER).await;
        until_waiting(&mut watch, "RENAME TABLE").await;
        let on_c = opened(&db.url, "c").await;
        commit(on_p, "p released").await;
        until_waiting(&mut watch, "ALTER TABLE `c`").await;
        let started = [
            tokio::spawn(in_open_transaction(deleting, "DELETE FROM p WHERE id = 1")),
            tokio::spawn(in_open_transaction(
                inserting,
                "INSERT INTO c (id, p_id) VALUES (900001, 876543)",
            )),
            tokio::spawn(in_open_transaction(updating, "UPDATE c SET p_id = 876544 WHERE id = 3")),
        ];
        tokio::time::sleep(Duration::from_millis(300)).await;
        let finished = [0, 1, 2].map(|i| started[i].is_finished());
        commit(on_c, "c released").await;
        let outcomes = joined(started).await;
        let (status, message) = until_final(&mut g, &id).await;
        let _ = g.disconnect().await;
        let _ = watch.disconnect().await;
        Seen {
            finished,
            outcomes,
            status,
            message,
            id,
        }
    });
    gw.kill();
    (db, seen)
}

fn assert_as_natively(db: &TestDb, seen: &Seen) {
    assert_eq!(
        seen.finished,
        [false, false, false],
        "the writes waited for the FK steps: {:?} {} {}",
        seen.outcomes,
        seen.status,
        seen.message
    );
    let delete = &seen.outcomes[0];
    assert_eq!(delete.as_ref().map_err(|e| e.0), Err(1451), "{delete:?}");
    for (i, parent) in [(1, "876543"), (2, "876544")] {
        let (code, message) = seen.outcomes[i].clone().expect_err("refused");
        assert_eq!(code, 1452, "{message}");
        assert!(
            message.contains("CONSTRAINT `uc_p` FOREIGN KEY (`p_id`) REFERENCES `p` (`id`)")
                && !message.contains("_old_"),
            "{parent}: {message}"
        );
    }
    assert_eq!(seen.status, "complete");
    assert!(!seen.message.contains("ORPHANS"), "{}", seen.message);
    assert_eq!(
        db.query(
            "SELECT (SELECT COUNT(*) FROM c LEFT JOIN p ON p.id = c.p_id WHERE c.p_id IS NOT NULL AND p.id IS NULL),
                    (SELECT COUNT(*) FROM p), (SELECT COUNT(*) FROM c),
                    (SELECT p_id FROM c WHERE id = 3)"
        ),
        vec![["0", "60000", "60000", "3"].map(|v| Some(v.to_string())).to_vec()],
        "no orphans; every row as natively"
    );
    assert_eq!(
        fk_targets(db),
        vec![vec![Some("uc_p".into()), Some("c".into()), Some("p".into())]]
    );
    let old = format!("_p_old_{}", short(&seen.id));
    assert_eq!(
        db.query(&format!("SELECT COUNT(*) FROM `{old}`")),
        vec![vec![Some("60000".to_string())]],
        "the old table kept"
    );
}

/// Unmanaged (the review's case): InnoDB alone checks the FK, and in the window it
/// checks the old table.
#[test]
fn unmanaged_writes_in_transactions_wait_for_the_fk_steps_of_a_cut_over() {
    let (db, seen) = scenario("unmanaged");
    assert_as_natively(&db, &seen);
}

/// Managed: the gateway plans the FK work, on the tables as they are after the
/// re-point.
#[test]
fn managed_writes_in_transactions_wait_for_the_fk_steps_of_a_cut_over() {
    let (db, seen) = scenario("managed");
    assert_as_natively(&db, &seen);
}

/// The other side: a transaction that opened `p` through the gateway before the
/// hold is one the RENAME waits for, so its next write on `p` passes the gate at
/// once (waiting there would deadlock with the RENAME until the gate's 10 s and
/// end in 1205). It opened `p` by a read: any write to `p` (INSERT too) also
/// takes `c`'s metadata lock in MariaDB 10.11, which fails the cut-over's probe of
/// the children before every RENAME attempt (the old set-up passed only when its
/// write landed between the probe and the RENAME). Its write then asks for more
/// of `p`'s lock past the waiting RENAME: MariaDB's deadlock (1213, as natively),
/// at once, and the cut-over completes after the transactions end.
#[test]
fn a_transaction_that_opened_the_table_before_the_hold_writes_at_once() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SETUP);
    let dir = tether_testkit::ScratchDir::new("online_tx_r24_before");
    let config = one_keyspace(&dir, &db, "unmanaged");
    let port = free_port();
    let rt = runtime();
    let gw = GatewayProcess::start(&config, port);
    let (again, took, status) = rt.block_on(async {
        let mut w = Conn::new(gateway_opts(port)).await.expect("connects");
        let (mut g, id, mut on_p) = submit_while_p_opens(&db.url, gateway_opts(port), ALTER).await;
        w.query_drop("BEGIN").await.expect("begin");
        w.query_drop("SELECT v FROM p WHERE id = 2").await.expect("p opened");
        let mut watch = direct(&db).await;
        until_waiting(&mut watch, "RENAME TABLE").await;
        let start = Instant::now();
        let again = run(&mut w, "UPDATE p SET v = v + 1 WHERE id = 2").await;
        let took = start.elapsed();
        w.query_drop("ROLLBACK").await.expect("w ended");
        on_p.query_drop("COMMIT").await.expect("p released");
        until_final(&mut g, &id).await;
        let status = status_of(&mut g, &id).await;
        let record = support::rows(&mut g, &format!("SHOW VITESS_MIGRATIONS LIKE '{id}'")).await;
        (again, took, (status, record))
    });
    gw.kill();
    assert_eq!(again.map_err(|e| e.0), Err(1213));
    assert!(took < Duration::from_millis(2000), "not held at the gate: {took:?}");
    assert_eq!(status.0, "complete", "{:?}", status.1);
    assert_eq!(
        db.query("SELECT v, z FROM p WHERE id = 2"),
        vec![vec![Some("0".to_string()), None]]
    );
}
