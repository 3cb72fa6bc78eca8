//! Gateway benchmark, each case against native MariaDB in the same run (run it with
//! `bash bench/gateway.sh`; not part of the test suite):
//!
//! 1. a cascading DELETE of one parent with 10,000 children and 100,000
//!    grandchildren: native InnoDB cascade vs the managed gateway (vs the same
//!    cascade written by hand as three set-based statements, for reference);
//! 2. a cascading primary-key UPDATE of the same parent (10,000 children re-pointed);
//! 3. a mixed OLTP load (80% point selects, 20% single-row updates) from several
//!    clients, directly vs through the gateway (unmanaged and managed keyspaces).
//!
//! Environment: `TETHER_TEST_MYSQL_URL` (admin URL, default
//! `mysql://root@127.0.0.1:3306/`), `BENCH_REPS` (default 3), `BENCH_SECONDS`
//! (OLTP seconds per case, default 5), `BENCH_CLIENTS` (default 4), `BENCH_OLTP_ONLY=1`
//! (skip the cascades, e.g. under a profiler).

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};

const DB: &str = "tether_bench_gw";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn admin_url() -> String {
    std::env::var("TETHER_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/".into())
}

fn db_url() -> String {
    format!("{}/{DB}", admin_url().trim_end_matches('/'))
}

const TREE: &str = "
SET foreign_key_checks = 0;
DROP TABLE IF EXISTS g, c, p;
SET foreign_key_checks = 1;
CREATE TABLE p (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, p_id INT NOT NULL, v INT, KEY (p_id),
  CONSTRAINT c_p_fk FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE g (id INT PRIMARY KEY, c_id INT NOT NULL, v INT, KEY (c_id),
  CONSTRAINT g_c_fk FOREIGN KEY (c_id) REFERENCES c (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p VALUES (1, 0), (2, 0);
INSERT INTO c SELECT seq, 1, 0 FROM seq_1_to_10000;
INSERT INTO c VALUES (10001, 2, 0);
INSERT INTO g SELECT seq, 1 + (seq % 10000), 0 FROM seq_1_to_100000;
";

async fn reload(conn: &mut Conn) {
    conn.query_drop(TREE).await.expect("load the tree");
}

async fn timed(conn: &mut Conn, sql: &str) -> Duration {
    let start = Instant::now();
    conn.query_drop(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    start.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn gateway_opts(port: u16, keyspace: &str) -> Opts {
    OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(port)
        .user(Some("bench"))
        .pass(Some("bench"))
        .db_name(Some(keyspace))
        .prefer_socket(false)
        .into()
}

async fn cascade_case(name: &str, statement: &str, hand: &str, port: u16, reps: u64) -> (Duration, Duration, Duration) {
    let mut direct = Conn::from_url(db_url()).await.expect("direct");
    let mut gw = Conn::new(gateway_opts(port, "managed")).await.expect("gateway");
    let (mut native, mut managed, mut by_hand) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        reload(&mut direct).await;
        native.push(timed(&mut direct, statement).await);
        reload(&mut direct).await;
        managed.push(timed(&mut gw, statement).await);
        reload(&mut direct).await;
        by_hand.push(timed(&mut direct, hand).await);
    }
    let r = (median(native), median(managed), median(by_hand));
    println!(
        "{name}: native {:.1} ms, managed gateway {:.1} ms ({:.2}x), by hand {:.1} ms ({:.2}x)",
        r.0.as_secs_f64() * 1e3,
        r.1.as_secs_f64() * 1e3,
        r.1.as_secs_f64() / r.0.as_secs_f64(),
        r.2.as_secs_f64() * 1e3,
        r.2.as_secs_f64() / r.0.as_secs_f64()
    );
    r
}

/// CPU time this process has used (all threads), from /proc/self/stat; zero where
/// that does not exist.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 12th,
    // stime the 13th, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<u64> = rest.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// One OLTP measurement: operations per second, and this process's CPU time per
/// operation (the load generator, plus the gateway when it runs in-process).
#[derive(Clone, Copy)]
struct Oltp {
    ops_per_s: f64,
    cpu_us_per_op: f64,
}

/// `clients` clients doing 80% point selects and 20% single-row updates for
/// `seconds`.
async fn oltp(opts: Opts, clients: u64, seconds: u64) -> Oltp {
    let cpu = process_cpu();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let opts = opts.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::new(opts).await.expect("connect");
            let mut n: u64 = 0;
            let mut x: u64 = 0x9E37_79B9 ^ (c + 1);
            while Instant::now() < deadline {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let id = 1 + x % 10_000;
                if x.is_multiple_of(5) {
                    conn.query_drop(format!("UPDATE kv SET v = v + 1 WHERE id = {id}"))
                        .await
                        .expect("update");
                } else {
                    let _: Option<(i64, i64, String)> = conn
                        .query_first(format!("SELECT id, v, pad FROM kv WHERE id = {id}"))
                        .await
                        .expect("select");
                }
                n += 1;
            }
            let _ = conn.disconnect().await;
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("client");
    }
    let cpu = process_cpu() - cpu;
    Oltp {
        ops_per_s: total as f64 / seconds as f64,
        cpu_us_per_op: cpu.as_secs_f64() * 1e6 / total.max(1) as f64,
    }
}

fn main() {
    let reps = env_num("BENCH_REPS", 3);
    let seconds = env_num("BENCH_SECONDS", 5);
    let clients = env_num("BENCH_CLIENTS", 4);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut admin = Conn::from_url(admin_url()).await.expect("admin connection");
        admin
            .query_drop(format!("DROP DATABASE IF EXISTS {DB}; CREATE DATABASE {DB}"))
            .await
            .expect("create bench database");
        let mut direct = Conn::from_url(db_url()).await.expect("direct");
        reload(&mut direct).await;
        direct
            .query_drop(
                "CREATE TABLE kv (id INT PRIMARY KEY, v INT NOT NULL, pad VARCHAR(100) NOT NULL) ENGINE=InnoDB;
                 INSERT INTO kv SELECT seq, 0, REPEAT('x', 100) FROM seq_1_to_10000;",
            )
            .await
            .expect("kv");
        let config = tether_gateway::Config::parse(&format!(
            r#"{{"listen": "127.0.0.1:0", "users": [{{"user": "bench", "password": "bench"}}],
                "keyspaces": {{"managed": {{"foreignKeyMode": "managed", "backend": {{"url": "{0}"}}}},
                               "unmanaged": {{"foreignKeyMode": "unmanaged", "backend": {{"url": "{0}"}}}}}}}}"#,
            db_url()
        ))
        .expect("config");
        // BENCH_GATEWAY_PORT: use a `tether gateway` process already serving this
        // database (keyspaces `managed` and `unmanaged`, user bench/bench) instead of
        // one inside this process.
        let port = match std::env::var("BENCH_GATEWAY_PORT").ok().and_then(|p| p.parse().ok()) {
            Some(p) => p,
            None => {
                let gateway = tether_gateway::Gateway::bind(&config, None).await.expect("gateway");
                let port = gateway.local_addr().expect("addr").port();
                tokio::spawn(gateway.serve());
                port
            }
        };

        println!("MariaDB {:?}, {reps} repetitions (median), same run", direct.server_version());
        // OLTP first, before the cascades leave InnoDB purge work behind; the three
        // targets take turns so background noise spreads evenly.
        let direct_opts = Opts::from_url(&db_url()).expect("url");
        let (mut d, mut u, mut m) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..reps {
            d.push(oltp(direct_opts.clone(), clients, seconds).await);
            u.push(oltp(gateway_opts(port, "unmanaged"), clients, seconds).await);
            m.push(oltp(gateway_opts(port, "managed"), clients, seconds).await);
        }
        // Ratios are taken within each repetition (the three cases ran back to back,
        // under the same background load), then the median of them.
        let med = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let ratios = |x: &[Oltp]| med(x.iter().zip(&d).map(|(a, b)| a.ops_per_s / b.ops_per_s).collect());
        let (ru, rm) = (ratios(&u), ratios(&m));
        let ops = |x: &[Oltp]| med(x.iter().map(|o| o.ops_per_s).collect());
        let cpu = |x: &[Oltp]| med(x.iter().map(|o| o.cpu_us_per_op).collect());
        let each = |x: &[Oltp]| {
            x.iter()
                .zip(&d)
                .map(|(a, b)| format!("{:.2}", a.ops_per_s / b.ops_per_s))
                .collect::<Vec<_>>()
                .join(" ")
        };
        println!(
            "OLTP ({clients} clients, 80% point selects / 20% single-row updates, {seconds} s x {reps}): direct {:.0} ops/s, \
             gateway unmanaged {:.0} ops/s ({ru:.2}x; each run {}), gateway managed {:.0} ops/s ({rm:.2}x; each run {})",
            ops(&d),
            ops(&u),
            each(&u),
            ops(&m),
            each(&m),
        );
        println!(
            "OLTP CPU of this process per operation (load generator + in-process gateway): direct {:.0} us, \
             unmanaged {:.0} us (gateway +{:.0} us), managed {:.0} us (gateway +{:.0} us)",
            cpu(&d),
            cpu(&u),
            cpu(&u) - cpu(&d),
            cpu(&m),
            cpu(&m) - cpu(&d),
        );
        if std::env::var("BENCH_OLTP_ONLY").is_ok_and(|v| v == "1") {
            admin.query_drop(format!("DROP DATABASE {DB}")).await.expect("drop");
            return;
        }
        cascade_case(
            "cascading DELETE (1 parent, 10,000 children, 100,000 grandchildren)",
            "DELETE FROM p WHERE id = 1",
            "BEGIN; SET foreign_key_checks = 0; \
             DELETE g FROM g JOIN c ON g.c_id = c.id WHERE c.p_id = 1; \
             DELETE FROM c WHERE p_id = 1; DELETE FROM p WHERE id = 1; \
             SET foreign_key_checks = 1; COMMIT",
            port,
            reps,
        )
        .await;
        cascade_case(
            "cascading primary-key UPDATE (10,000 children re-pointed)",
            "UPDATE p SET id = 1000000 WHERE id = 1",
            "BEGIN; SET foreign_key_checks = 0; \
             UPDATE c SET p_id = 1000000 WHERE p_id = 1; UPDATE p SET id = 1000000 WHERE id = 1; \
             SET foreign_key_checks = 1; COMMIT",
            port,
            reps,
        )
        .await;
        admin.query_drop(format!("DROP DATABASE {DB}")).await.expect("drop");
    });
}
