//! Acceptance of online schema changes (issue 15), end to end: online ALTERs submitted
//! through a managed gateway while a managed workload of inserts, updates, re-keys,
//! deletes and cascades runs through it on the parent and its children. After each,
//! the tables equal the same workload plus the same change applied natively (`SHOW
//! CREATE TABLE`, rows, every FK with its name and target, no orphans):
//! (d) a cancel during the copy (native: the workload only), (e) the real
//! `tether gateway` killed (SIGKILL) during the copy and started again, and the binlog
//! of a backend with `log_bin` (a parent ALTER and an INT -> BIGINT family migration)
//! replayed into a replica without FKs equals the source.
//!
//! The copy is held at a chosen row by a transaction that locks it (the copy's chunks
//! read with shared locks), so "during the copy" is a state, not a race. Each test
//! prints the longest statement of the workload before and during the cut-over.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts};
use tether_testkit::{TestDb, TestEngine};

use crate::online::{
    assert_same, fk_targets, no_orphans, orphans, run_retrying, runtime, short, triggers, underscored, until_status,
    SCHEMA, TABLES,
};
use crate::support::{self, direct};

/// `n` customers (every tenth the parent of the next eight), two orders and a payment
/// each: the rows `online::data` makes, written by the server (fast for large `n`).
fn big_data(n: u32) -> String {
    format!(
        "INSERT INTO region VALUES (1, 'north'), (2, 'south');
         INSERT INTO customer SELECT seq, CONCAT('c', seq), 1 + seq % 2,
           IF(seq % 10 IN (0, 1), NULL, seq - seq % 10 + 1) FROM seq_1_to_{n};
         INSERT INTO orders SELECT seq, seq DIV 2, IF(seq % 2 = 0, 'a', NULL) FROM seq_2_to_{};
         INSERT INTO payment SELECT seq, seq, seq * 3 FROM seq_1_to_{n};",
        2 * n + 1
    )
}

fn big(n: u32) -> TestDb {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SCHEMA);
    db.exec(&big_data(n));
    db
}

/// Statement `i` of the managed workload; new rows take ids from `base` on (above
/// every loaded id). Kinds in turn: insert a customer and an order of it, rename a
/// customer, delete one (orders CASCADE, payments and child customers SET NULL),
/// update orders, delete a payment and re-key its customer (orders ON UPDATE
/// CASCADE), delete a payment, move an order to a new customer. Valid natively and
/// under either definition of every ALTER here.
fn statement(i: u32, base: u32) -> String {
    let k = i / 9;
    let j = k % 60;
    match i % 9 {
        0 => format!(
            "INSERT INTO customer (id, name, region_id, parent_id) VALUES ({}, 'w{k}', {}, 2)",
            base + k,
            1 + k % 2
        ),
        1 => format!(
            "INSERT INTO orders (id, customer_id, note) VALUES ({}, {}, 'w')",
            base + k,
            base + k
        ),
        2 => format!("UPDATE customer SET name = 'r{k}' WHERE id = {}", 3 + 23 * j),
        3 => format!("DELETE FROM customer WHERE id = {}", 11 + 24 * j),
        4 => format!("UPDATE orders SET note = 'u{k}' WHERE customer_id = {}", 5 + 24 * j),
        5 => format!("DELETE FROM payment WHERE customer_id = {}", 6 + 24 * j),
        6 => format!(
            "UPDATE customer SET id = {} WHERE id = {}",
            base + 500_000 + k,
            6 + 24 * j
        ),
        7 => format!("DELETE FROM payment WHERE id = {}", 8 + 24 * j),
        _ => format!(
            "UPDATE orders SET customer_id = {} WHERE id = {}",
            base + k,
            2 * (4 + 31 * (k % 48))
        ),
    }
}

/// What a workload ran: its statements in order, each with when it started and how
/// long it took.
#[derive(Default)]
struct Ran {
    statements: Vec<String>,
    timings: Vec<(Instant, Duration)>,
    deadlocks: u32,
}

/// Runs statements `from..` of the workload on `opts` (a gateway's keyspace) until
/// `stop` is set and at least `min` ran. `from` is a multiple of 9 (a customer's
/// insert comes before its order's).
async fn workload(opts: Opts, from: u32, base: u32, min: u32, stop: Arc<AtomicBool>) -> Ran {
    let mut conn = Conn::new(opts).await.expect("connects to the gateway");
    let mut ran = Ran::default();
    let mut i = from;
    while !(stop.load(Ordering::SeqCst) && i - from >= min) {
        let sql = statement(i, base);
        let start = Instant::now();
        ran.deadlocks += run_retrying(&mut conn, &sql).await;
        ran.timings.push((start, start.elapsed()));
        ran.statements.push(sql);
        i += 1;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let _ = conn.disconnect().await;
    ran
}

/// When a migration was seen `ready` (its cut-over began) and final, from polling its
/// record every few milliseconds.
#[derive(Default, Clone, Copy)]
struct Seen {
    ready: Option<Instant>,
    end: Option<Instant>,
}

/// Polls migration `id`'s state in `url`'s `_tether_migrations` until it is final.
async fn watch_states(url: String, id: String, seen: Arc<Mutex<Seen>>) {
    let mut c = Conn::from_url(url.as_str()).await.expect("connects");
    let sql = format!("SELECT state FROM _tether_migrations WHERE id = '{id}'");
    loop {
        let state: Option<String> = c.query_first(sql.as_str()).await.unwrap_or(None);
        let now = Instant::now();
        let done = {
            let mut s = seen.lock().expect("seen");
            match state.as_deref() {
                Some("ready") if s.ready.is_none() => {
                    s.ready = Some(now);
                    false
                }
                Some("complete" | "failed" | "cancelled") => {
                    s.ready.get_or_insert(now);
                    s.end = Some(now);
                    true
                }
                _ => false,
            }
        };
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let _ = c.disconnect().await;
}

/// The longest statement that ended before the cut-over began, and the longest that
/// overlapped it (started before its end, ended after its start).
fn longest(ran: &Ran, seen: Seen) -> (Duration, Duration) {
    let (Some(ready), Some(end)) = (seen.ready, seen.end) else {
        return (Duration::ZERO, Duration::ZERO);
    };
    let mut before = Duration::ZERO;
    let mut during = Duration::ZERO;
    for (start, took) in &ran.timings {
        if *start + *took < ready {
            before = before.max(*took);
        } else if *start < end {
            during = during.max(*took);
        }
    }
    (before, during)
}

/// The migration's `rows_copied` and state, read from the backend.
async fn progress(conn: &mut Conn, id: &str) -> (u64, String) {
    let row: Option<(u64, String)> = conn
        .query_first(format!(
            "SELECT rows_copied, state FROM _tether_migrations WHERE id = '{id}'"
        ))
        .await
        .expect("read");
    row.expect("the migration's record")
}

/// Waits until migration `id` has copied rows.
async fn until_copying(conn: &mut Conn, id: &str) {
    for _ in 0..3000 {
        let (rows, state) = progress(conn, id).await;
        if rows > 0 {
            return;
        }
        assert!(
            !matches!(state.as_str(), "complete" | "failed" | "cancelled"),
            "ended: {state}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the copy did not start");
}

/// A transaction that locks customer `id`: the copy's chunk reaching it waits.
async fn hold_row(db_url: &str, id: u32) -> Conn {
    let mut c = Conn::from_url(db_url).await.expect("connects");
    c.query_drop(format!("BEGIN; SELECT * FROM customer WHERE id = {id} FOR UPDATE"))
        .await
        .expect("row locked");
    c
}

/// Submits `alter` online through `conn` (a gateway session): the migration id.
async fn submit(conn: &mut Conn, alter: &str) -> String {
    conn.query_drop("SET @@ddl_strategy = 'online'")
        .await
        .expect("strategy");
    let rows = support::rows(conn, alter).await;
    rows[0][0].clone()
}

/// (d) A cancel through the gateway while the copy runs under the workload: the
/// migration ends `cancelled`, nothing of it stays, and the tables equal the workload
/// alone applied natively.
#[test]
fn a_cancel_during_the_copy_under_a_managed_workload_ends_as_the_workload_alone() {
    let n = 30_000;
    let db = big(n);
    let native = big(n);
    let gw = support::start_one(&db, "managed");
    let stop = Arc::new(AtomicBool::new(false));
    let ran = gw.block_on(async {
        let mut c = gw.connect("ks").await;
        let id = submit(&mut c, "ALTER TABLE customer ADD COLUMN tier INT NOT NULL DEFAULT 1").await;
        let mut direct_conn = direct(&db).await;
        until_copying(&mut direct_conn, &id).await;
        let holder = hold_row(&db.url, n - 2000).await;
        let work = tokio::spawn(workload(gw.opts("ks"), 0, 1_000_000, 150, stop.clone()));
        tokio::time::sleep(Duration::from_millis(400)).await;
        let (copied, state) = progress(&mut direct_conn, &id).await;
        assert_eq!(state, "running");
        assert!(copied < u64::from(n), "still copying: {copied}");
        c.query_drop(format!("ALTER VITESS_MIGRATION '{id}' CANCEL"))
            .await
            .expect("cancelled");
        let shown = support::rows(&mut c, &format!("SHOW VITESS_MIGRATIONS LIKE '{id}'")).await;
        assert!(
            shown[0][5] == "cancelled" || shown[0][15] == "cancel requested",
            "{:?}",
            shown[0]
        );
        let mut holder = holder;
        holder.query_drop("ROLLBACK").await.expect("released");
        until_status(&mut c, &id, "cancelled").await;
        stop.store(true, Ordering::SeqCst);
        work.await.expect("workload")
    });
    drop(gw);
    eprintln!(
        "(d) cancel during the copy: {} workload statements, {} deadlocks retried",
        ran.statements.len(),
        ran.deadlocks
    );
    for sql in &ran.statements {
        native.exec(sql);
    }
    assert_same(&db, &native, &TABLES);
    assert_eq!(fk_targets(&db), fk_targets(&native));
    assert_eq!(orphans(&db), no_orphans());
    assert_eq!(underscored(&db), vec!["_tether_migrations".to_string()]);
    assert_eq!(triggers(&db), Vec::<String>::new());
}

/// The `tether` binary next to this test binary (`cargo test --workspace` builds it;
/// alone: `cargo build -p tether-cli`).
fn tether_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let bin = dir.join("tether");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p tether-cli`",
        bin.display()
    );
    bin
}

/// A `tether gateway` child process, killed (SIGKILL) when dropped.
pub(crate) struct GatewayProcess(std::process::Child);

impl GatewayProcess {
    pub(crate) fn start(config: &std::path::Path, port: u16) -> GatewayProcess {
        GatewayProcess::start_logging(config, port, &[]).0
    }

    /// [`Self::start`] with more environment variables (`env`); the log lines after
    /// "listening on" are sent to the returned receiver (dropped lines when it is gone).
    pub(crate) fn start_logging(
        config: &std::path::Path,
        port: u16,
        env: &[(&str, &str)],
    ) -> (GatewayProcess, std::sync::mpsc::Receiver<String>) {
        use std::io::BufRead;
        let mut child = std::process::Command::new(tether_binary())
            .args(["gateway", "--config"])
            .arg(config)
            .args(["--port", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("tether gateway starts");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = std::io::BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("listening on") => break,
                Some(Ok(line)) => seen.push(line),
                _ => panic!("tether gateway ended before listening: {}", seen.join("\n")),
            }
        }
        // Keep draining its log so it never blocks on a full pipe.
        let (send, receive) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.by_ref() {
                let Ok(line) = line else { continue };
                let _ = send.send(line);
            }
        });
        (GatewayProcess(child), receive)
    }

    pub(crate) fn kill(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn gateway_opts(port: u16) -> Opts {
    mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some(support::USER))
        .pass(Some(support::PASSWORD))
        .db_name(Some("ks"))
        .prefer_socket(false)
        .into()
}

/// Writes `dir`'s `vschema.json` for the real `tether gateway`: the test user and
/// one keyspace `ks` in `mode` on `db`; its path.
pub(crate) fn one_keyspace(dir: &tether_testkit::ScratchDir, db: &TestDb, mode: &str) -> std::path::PathBuf {
    let config = dir.join("vschema.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"users": [{{"user": "{}", "password": "{}"}}],
                "keyspaces": {{"ks": {{"foreignKeyMode": "{mode}", "backend": {{"url": "{}"}}}}}}}}"#,
            support::USER,
            support::PASSWORD,
            db.url
        ),
    )
    .expect("config");
    config
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// (e) The real gateway killed with SIGKILL in the middle of the copy, writes straight
/// to the backend while it is down, the same config started again: the migration is
/// resumed (its chunk still running on the server keeps the lock until it ends, so the
/// new gateway never copies beside it) and completes; the tables equal the workload,
/// the direct writes and the ALTER applied natively.
#[test]
fn a_gateway_killed_during_the_copy_resumes_after_a_restart_and_ends_as_natively() {
    let n = 30_000;
    let db = big(n);
    let native = big(n);
    let alter = "ALTER TABLE customer ADD COLUMN vip TINYINT NOT NULL DEFAULT 0, ADD INDEX by_name (name)";
    let dir = tether_testkit::ScratchDir::new("online_kill");
    let config = one_keyspace(&dir, &db, "managed");
    let port = free_port();
    let rt = runtime();
    let first = GatewayProcess::start(&config, port);
    let (id, before) = rt.block_on(async {
        let mut c = Conn::new(gateway_opts(port)).await.expect("connects");
        let id = submit(&mut c, alter).await;
        let mut direct_conn = direct(&db).await;
        until_copying(&mut direct_conn, &id).await;
        let holder = hold_row(&db.url, n - 2000).await;
        let stop = Arc::new(AtomicBool::new(true));
        let ran = workload(gateway_opts(port), 0, 1_000_000, 120, stop).await;
        let _ = c.disconnect().await;
        (id, (ran, holder))
    });
    let (before, holder) = before;
    first.kill();
    let (after_kill, mid, ran2, seen, shown) = rt.block_on(async {
        let mut direct_conn = direct(&db).await;
        let mid = progress(&mut direct_conn, &id).await;
        // The gateway is down: writes go straight to the backend (captured by triggers;
        // rows the workload never touches, and nothing InnoDB would cascade).
        let downtime: Vec<String> = (0..30u32)
            .flat_map(|i| {
                [
                    format!(
                        "INSERT INTO orders (id, customer_id, note) VALUES ({}, {}, 'down')",
                        3_000_000 + i,
                        2000 + i
                    ),
                    format!("UPDATE customer SET name = 'down{i}' WHERE id = {}", 2100 + i),
                    format!("DELETE FROM payment WHERE id = {}", 2200 + i),
                ]
            })
            .collect();
        for sql in &downtime {
            direct_conn.query_drop(sql.as_str()).await.expect("direct write");
        }
        let second = GatewayProcess::start(&config, port);
        let mut holder = holder;
        holder.query_drop("ROLLBACK").await.expect("released");
        let seen = Arc::new(Mutex::new(Seen::default()));
        let watcher = tokio::spawn(watch_states(db.url.clone(), id.clone(), seen.clone()));
        let stop = Arc::new(AtomicBool::new(false));
        let work = tokio::spawn(workload(gateway_opts(port), 9 * 1000, 2_000_000, 100, stop.clone()));
        let mut c = Conn::new(gateway_opts(port)).await.expect("connects again");
        until_status(&mut c, &id, "complete").await;
        stop.store(true, Ordering::SeqCst);
        let ran2 = work.await.expect("workload");
        watcher.await.expect("watcher");
        let shown = support::rows(&mut c, &format!("SHOW VITESS_MIGRATIONS LIKE '{id}'")).await;
        let _ = c.disconnect().await;
        second.kill();
        let seen = *seen.lock().expect("seen");
        (downtime, mid, ran2, seen, shown)
    });
    assert_eq!(mid.1, "running", "killed during the copy");
    assert!(mid.0 > 0 && mid.0 < u64::from(n), "copied before the kill: {}", mid.0);
    let (quiet, cutover) = longest(&ran2, seen);
    eprintln!(
        "(e) killed gateway: {} + {} workload statements ({} + {} deadlocks retried); longest statement before \
         the cut-over {} ms, overlapping it {} ms; cutover_ms {}; {}",
        before.statements.len(),
        ran2.statements.len(),
        before.deadlocks,
        ran2.deadlocks,
        quiet.as_millis(),
        cutover.as_millis(),
        shown[0][14],
        shown[0][15]
    );
    for sql in before.statements.iter().chain(&after_kill).chain(&ran2.statements) {
        native.exec(sql);
    }
    native.exec(alter);
    assert_same(&db, &native, &TABLES);
    assert_eq!(fk_targets(&db), fk_targets(&native));
    assert_eq!(orphans(&db), no_orphans());
    assert_eq!(triggers(&db), Vec::<String>::new());
    assert_eq!(
        underscored(&db),
        vec![
            format!("_customer_old_{}", short(&id)),
            "_tether_migrations".to_string()
        ]
    );
}

/// The schema without FKs (the replica's): the same tables, keys and data.
fn schema_without_fks() -> String {
    SCHEMA
        .lines()
        .filter(|l| !l.trim_start().starts_with("CONSTRAINT") && !l.trim_start().starts_with("FOREIGN KEY"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace(",\n);", "\n);")
        .replace(
            "parent_id INT NULL\n);",
            "parent_id INT NULL, KEY customer_region (region_id), KEY customer_parent (parent_id)\n);",
        )
        .replace(
            "amount INT NOT NULL\n);",
            "amount INT NOT NULL, KEY customer_id (customer_id)\n);",
        )
}

/// Runs `sql` on the private server's database `db`.
fn private_exec(port: u16, db: &str, sql: &str) {
    tether_testkit::exec_url(TestEngine::Mysql, &format!("mysql://root@127.0.0.1:{port}/{db}"), sql);
}

fn private_query(port: u16, db: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    tether_testkit::query_url(TestEngine::Mysql, &format!("mysql://root@127.0.0.1:{port}/{db}"), sql)
}

/// The binlog carries every row change: on a private MariaDB with `log_bin` (ROW), a
/// parent ALTER and then `customer.id` INT -> BIGINT with its whole family run online
/// through the gateway under the managed cascading workload; the binlog after the
/// setup, replayed into a replica that has no FKs, gives every table of the source,
/// row for row (the copies, the captured writes, the gateway's cascades).
#[test]
fn the_binlog_of_two_online_migrations_under_a_workload_replays_to_the_source() {
    let server = support::binlog_server().unwrap_or_else(|why| panic!("the private MariaDB: {why}"));
    let port = server.port;
    let admin = server.url("");
    let rt = runtime();
    rt.block_on(async {
        let _ = server.login().await.disconnect().await;
    });
    let n = 8_000;
    private_exec(port, "", "CREATE DATABASE src; CREATE DATABASE replica");
    private_exec(port, "src", &format!("{SCHEMA}{}", big_data(n)));
    private_exec(port, "replica", &format!("{}{}", schema_without_fks(), big_data(n)));
    private_exec(port, "", "FLUSH BINARY LOGS");
    let first_binlog = support::binlog_files(&server.dir, None)
        .pop()
        .expect("a binlog after the flush");
    let gw = support::start(&[("ks", "managed", &format!("{admin}src"))]);
    let mut reports = Vec::new();
    gw.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        let work = tokio::spawn(workload(gw.opts("ks"), 0, 1_000_000, 100, stop.clone()));
        let mut c = gw.connect("ks").await;
        for alter in [
            "ALTER TABLE customer ADD COLUMN vip TINYINT NOT NULL DEFAULT 0, ADD INDEX by_name (name)",
            "ALTER TABLE customer MODIFY id BIGINT NOT NULL",
        ] {
            let id = submit(&mut c, alter).await;
            until_status(&mut c, &id, "complete").await;
            let shown = support::rows(&mut c, &format!("SHOW VITESS_MIGRATIONS LIKE '{id}'")).await;
            reports.push(format!("{alter}: cutover_ms {}; {}", shown[0][14], shown[0][15]));
        }
        stop.store(true, Ordering::SeqCst);
        let ran = work.await.expect("workload");
        reports.push(format!(
            "{} workload statements, {} deadlocks retried",
            ran.statements.len(),
            ran.deadlocks
        ));
    });
    drop(gw);
    eprintln!("binlog: {}", reports.join("\n  "));
    // The FK statements of the cut-over find no FK to drop on the replica (and
    // `RENAME INDEX` no key the FK would have renamed): those DDL errors are skipped;
    // any error of a row event fails the test.
    let first = first_binlog.file_name().and_then(|n| n.to_str()).expect("binlog name");
    let files = support::binlog_files(&server.dir, Some(first));
    let decoded = support::decode_binlog(&["--rewrite-db=src->replica".into()], &files);
    let errors = support::replay_binlog(port, "replica", &decoded, true);

    eprintln!(
        "binlog replay: {} bytes decoded, {} FK DDL statements found nothing to change on the replica",
        decoded.len(),
        errors.lines().filter(|l| l.starts_with("ERROR")).count()
    );
    for line in errors.lines().filter(|l| l.starts_with("ERROR")) {
        let code: u16 = line[6..10].trim().parse().unwrap_or(0);
        // 1091: no such FK to drop; 1176: no such key to rename.
        assert!(matches!(code, 1091 | 1176), "replaying the binlog: {line}\n{errors}");
    }
    let tables: Vec<String> = private_query(
        port,
        "src",
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'src' ORDER BY 1",
    )
    .into_iter()
    .filter_map(|r| r[0].clone())
    .collect();
    assert!(tables.len() >= 7, "the tables and the old ones kept: {tables:?}");
    for t in &tables {
        let sql = format!("SELECT * FROM `{t}` ORDER BY 1");
        let source = private_query(port, "src", &sql);
        let replica = private_query(port, "replica", &sql);
        assert_eq!(source.len(), replica.len(), "rows of {t}");
        assert!(source == replica, "the replica's `{t}` differs from the source");
    }
    let bigint = private_query(
        port,
        "replica",
        "SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'replica' \
         AND TABLE_NAME = 'orders' AND COLUMN_NAME = 'customer_id'",
    );
    assert_eq!(bigint, vec![vec![Some("bigint".to_string())]]);
}

/// The longest workload statement around a cut-over, through the in-process gateway
/// (its gate holds statements during the swap): printed, not asserted.
#[test]
fn the_longest_workload_statement_at_cut_over_is_measured() {
    let n = 20_000;
    let db = big(n);
    let native = big(n);
    let alter = "ALTER TABLE customer ADD COLUMN score INT NOT NULL DEFAULT 7";
    let gw = support::start_one(&db, "managed");
    let (ran, seen, shown) = gw.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        let work = tokio::spawn(workload(gw.opts("ks"), 0, 1_000_000, 100, stop.clone()));
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut c = gw.connect("ks").await;
        let id = submit(&mut c, alter).await;
        let seen = Arc::new(Mutex::new(Seen::default()));
        watch_states(db.url.clone(), id.clone(), seen.clone()).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.store(true, Ordering::SeqCst);
        let ran = work.await.expect("workload");
        let shown = support::rows(&mut c, &format!("SHOW VITESS_MIGRATIONS LIKE '{id}'")).await;
        let seen = *seen.lock().expect("seen");
        (ran, seen, shown)
    });
    drop(gw);
    assert_eq!(shown[0][5], "complete", "{}", shown[0][15]);
    let (quiet, cutover) = longest(&ran, seen);
    eprintln!(
        "cut-over under a managed workload ({} statements): longest statement before the cut-over {} ms, \
         overlapping it {} ms; cutover_ms {}; {}",
        ran.statements.len(),
        quiet.as_millis(),
        cutover.as_millis(),
        shown[0][14],
        shown[0][15]
    );
    for sql in &ran.statements {
        native.exec(sql);
    }
    native.exec(alter);
    assert_same(&db, &native, &TABLES);
    assert_eq!(orphans(&db), no_orphans());
}
