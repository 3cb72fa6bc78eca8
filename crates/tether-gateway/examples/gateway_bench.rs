//! Gateway benchmark, each case against native MariaDB in the same run (run it with
//! `bash bench/gateway.sh`; not part of the test suite):
//!
//! 1. a cascading DELETE of one parent with 10,000 children and 100,000
//!    grandchildren: native InnoDB cascade vs the managed gateway (vs the same
//!    cascade written by hand as three set-based statements, for reference);
//! 2. a cascading primary-key UPDATE of the same parent (10,000 children re-pointed);
//! 3. re-keying many parents in one statement: 10,000 parents with 100,000 children
//!    (`UPDATE p SET id = id + 100000`), each child moved to its parent's new key;
//! 4. a mixed OLTP load (80% point selects, 20% single-row updates) from several
//!    clients, directly vs through the gateway: unmanaged keyspaces (backend over
//!    TCP; with `--threads 1` also over MariaDB's Unix socket, the gateway beside
//!    the database as Vitess runs vttablet beside mysqld) and a managed one; and,
//!    as the floor of any proxy, a byte relay (`gateway_bench relay PORT`, a
//!    single-threaded tokio process copying bytes both ways, looking at none):
//!    what two more socket hops cost on this machine, whatever the proxy does.
//!
//! The gateway is the real `tether gateway` process (`TETHER_BIN`, default
//! `target/release/tether`), twice: with its default threads and with `--threads
//! 1`; its CPU time per operation is measured apart from the load generator's. The
//! OLTP cases take turns in short slices (round after round, the order rotating),
//! so the machine's background load, which drifts, falls on all of them alike;
//! each ratio is the median over the rounds of the case's throughput over the
//! direct throughput of the same round.
//!
//! Environment: `TETHER_TEST_MYSQL_URL` (admin URL, default
//! `mysql://root@127.0.0.1:3306/`), `BENCH_REPS` (cascade repetitions, default 3),
//! `BENCH_ROUNDS` (OLTP rounds, default 30), `BENCH_SLICE_MS` (OLTP milliseconds per
//! case and round, default 1000), `BENCH_CLIENTS` (default 4), `BENCH_OLTP_ONLY=1`
//! (skip the cascades, e.g. under a profiler), `BENCH_CASCADES_ONLY=1` (skip OLTP).

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};

const DB: &str = "tether_bench_gw";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
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

/// 10,000 parents with 10 children each, for re-keying every parent at once.
const MANY_PARENTS: &str = "
SET foreign_key_checks = 0;
DROP TABLE IF EXISTS g, c, p;
SET foreign_key_checks = 1;
CREATE TABLE p (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, p_id INT NOT NULL, v INT, KEY (p_id),
  CONSTRAINT c_p_fk FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p SELECT seq, 0 FROM seq_1_to_10000;
INSERT INTO c SELECT seq, 1 + (seq % 10000), 0 FROM seq_1_to_100000;
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

/// `statement` natively, through the managed gateway and `hand` natively, each on
/// the tables `setup` loads afresh.
async fn cascade_case(
    name: &str,
    setup: &str,
    statement: &str,
    hand: &str,
    port: u16,
    reps: u64,
) -> (Duration, Duration, Duration) {
    let mut direct = Conn::from_url(db_url()).await.expect("direct");
    let mut gw = Conn::new(gateway_opts(port, "managed")).await.expect("gateway");
    let (mut native, mut managed, mut by_hand) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        direct.query_drop(setup).await.expect("load the tables");
        native.push(timed(&mut direct, statement).await);
        direct.query_drop(setup).await.expect("load the tables");
        managed.push(timed(&mut gw, statement).await);
        direct.query_drop(setup).await.expect("load the tables");
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

/// CPU time process `pid` has used (all threads), from /proc; zero where that does
/// not exist.
fn process_cpu(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 12th,
    // stime the 13th, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<u64> = rest.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// One OLTP measurement: operations per second, and CPU time per operation of the
/// load generator and of the gateway process.
#[derive(Clone, Copy)]
struct Oltp {
    ops_per_s: f64,
    client_us_per_op: f64,
    gateway_us_per_op: f64,
}

/// `clients` clients doing 80% point selects and 20% single-row updates for
/// `slice`; `gateway` is the gateway's process id when the load goes through it.
async fn oltp(opts: Opts, clients: u64, slice: Duration, gateway: &str) -> Oltp {
    let (client_cpu, gateway_cpu) = (process_cpu("self"), process_cpu(gateway));
    let deadline = Instant::now() + slice;
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
    let per_op = |d: Duration| d.as_secs_f64() * 1e6 / total.max(1) as f64;
    Oltp {
        ops_per_s: total as f64 / slice.as_secs_f64(),
        client_us_per_op: per_op(process_cpu("self") - client_cpu),
        gateway_us_per_op: per_op(process_cpu(gateway).saturating_sub(gateway_cpu)),
    }
}

/// A `tether gateway` process, stopped when dropped.
struct GatewayProcess {
    child: std::process::Child,
    port: u16,
    config: std::path::PathBuf,
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.config);
    }
}

/// Starts `tether gateway` with keyspaces `unmanaged` and `managed` on the bench
/// database over TCP, and `unmanaged_socket` over `socket` when there is one.
async fn start_gateway(socket: Option<&str>, args: &[&str]) -> GatewayProcess {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut keyspaces = format!(
        r#""managed": {{"foreignKeyMode": "managed", "backend": {{"url": "{0}"}}}},
           "unmanaged": {{"foreignKeyMode": "unmanaged", "backend": {{"url": "{0}"}}}}"#,
        db_url()
    );
    if let Some(socket) = socket {
        keyspaces.push_str(&format!(
            r#", "unmanaged_socket": {{"foreignKeyMode": "unmanaged", "backend": {{"url": "{}?socket={socket}"}}}}"#,
            db_url()
        ));
    }
    let config = std::env::temp_dir().join(format!("tether-bench-gateway-{}-{port}.json", std::process::id()));
    std::fs::write(
        &config,
        format!(
            r#"{{"listen": "127.0.0.1:{port}", "users": [{{"user": "bench", "password": "bench"}}],
                "keyspaces": {{{keyspaces}}}}}"#
        ),
    )
    .expect("write the gateway config");
    let bin = std::env::var("TETHER_BIN").unwrap_or_else(|_| "target/release/tether".into());
    let child = std::process::Command::new(&bin)
        .arg("gateway")
        .arg("--config")
        .arg(&config)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin} (build it with cargo build --release -p tether-cli): {e}"));
    let gateway = GatewayProcess { child, port, config };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return gateway;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{bin} gateway did not start listening on port {port}");
}

/// `gateway_bench relay PORT`: a byte relay from 127.0.0.1:PORT to the MariaDB of
/// `TETHER_TEST_MYSQL_URL`, single-threaded, that copies bytes both ways and looks
/// at none of them: what any proxy in that place costs at least.
fn relay(port: u16) {
    let opts = Opts::from_url(&admin_url()).expect("url");
    let target = format!("{}:{}", opts.ip_or_hostname(), opts.tcp_port());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
        loop {
            let (mut client, _) = listener.accept().await.expect("accept");
            let target = target.clone();
            tokio::spawn(async move {
                let Ok(mut server) = tokio::net::TcpStream::connect(&target).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
}

/// The byte relay as a process of its own, stopped when dropped.
struct RelayProcess {
    child: std::process::Child,
    port: u16,
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_relay() -> RelayProcess {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = std::process::Command::new(std::env::current_exe().expect("own path"))
        .arg("relay")
        .arg(port.to_string())
        .spawn()
        .expect("start the relay");
    let relay = RelayProcess { child, port };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return relay;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the relay did not start listening on port {port}");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("relay") {
        relay(
            args.get(2)
                .and_then(|p| p.parse().ok())
                .expect("gateway_bench relay PORT"),
        );
        return;
    }
    let reps = env_num("BENCH_REPS", 3);
    let rounds = env_num("BENCH_ROUNDS", 30);
    let slice = Duration::from_millis(env_num("BENCH_SLICE_MS", 1000));
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
        // MariaDB's Unix socket, when this machine has it.
        let socket: Option<String> = admin
            .query_first("SELECT @@socket")
            .await
            .expect("@@socket")
            .filter(|s: &String| std::path::Path::new(s).exists());
        let gateway = start_gateway(socket.as_deref(), &[]).await;
        let single = start_gateway(socket.as_deref(), &["--threads", "1"]).await;
        let relay = start_relay().await;
        let (pid, single_pid) = (gateway.child.id().to_string(), single.child.id().to_string());
        let relay_pid = relay.child.id().to_string();

        println!("MariaDB {:?}, same run", direct.server_version());
        // OLTP first, before the cascades leave InnoDB purge work behind.
        if !env_flag("BENCH_CASCADES_ONLY") {
            let mut cases = vec![("direct", Opts::from_url(&db_url()).expect("url"), "none")];
            cases.push((
                "byte relay",
                OptsBuilder::from_opts(Opts::from_url(&db_url()).expect("url"))
                    .tcp_port(relay.port)
                    .prefer_socket(false)
                    .into(),
                &relay_pid,
            ));
            cases.push((
                "gateway, unmanaged, backend over TCP",
                gateway_opts(gateway.port, "unmanaged"),
                &pid,
            ));
            cases.push((
                "gateway --threads 1, unmanaged, backend over TCP",
                gateway_opts(single.port, "unmanaged"),
                &single_pid,
            ));
            if socket.is_some() {
                cases.push((
                    "gateway --threads 1, unmanaged, backend over the Unix socket",
                    gateway_opts(single.port, "unmanaged_socket"),
                    &single_pid,
                ));
            }
            cases.push(("gateway, managed, backend over TCP", gateway_opts(gateway.port, "managed"), &pid));
            let mut results: Vec<Vec<Oltp>> = vec![Vec::new(); cases.len()];
            for round in 0..rounds as usize {
                for k in 0..cases.len() {
                    let i = (round + k) % cases.len();
                    let (_, opts, through) = &cases[i];
                    results[i].push(oltp(opts.clone(), clients, slice, through).await);
                }
            }
            let med = |mut v: Vec<f64>| {
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            let quartiles = |mut v: Vec<f64>| {
                v.sort_by(f64::total_cmp);
                (v[v.len() / 4], v[v.len() * 3 / 4])
            };
            println!(
                "OLTP ({clients} clients, 80% point selects / 20% single-row updates; {rounds} rounds of {} ms per case; \
                 CPU per operation of the load generator / of the gateway or relay process):",
                slice.as_millis()
            );
            for (i, (name, _, _)) in cases.iter().enumerate() {
                let r = &results[i];
                let ops = med(r.iter().map(|o| o.ops_per_s).collect());
                let client = med(r.iter().map(|o| o.client_us_per_op).collect());
                let gw = med(r.iter().map(|o| o.gateway_us_per_op).collect());
                if i == 0 {
                    println!("  {name}: {ops:.0} ops/s; CPU {client:.0} us / -");
                    continue;
                }
                let ratios: Vec<f64> = r
                    .iter()
                    .zip(&results[0])
                    .map(|(a, b)| a.ops_per_s / b.ops_per_s)
                    .collect();
                let (q1, q3) = quartiles(ratios.clone());
                println!(
                    "  {name}: {ops:.0} ops/s, {:.2}x direct (middle half of the rounds {q1:.2}-{q3:.2}); \
                     CPU {client:.0} us / {gw:.0} us",
                    med(ratios),
                );
            }
        }
        drop(single);
        let port = gateway.port;
        if env_flag("BENCH_OLTP_ONLY") {
            admin.query_drop(format!("DROP DATABASE {DB}")).await.expect("drop");
            return;
        }
        cascade_case(
            "cascading DELETE (1 parent, 10,000 children, 100,000 grandchildren)",
            TREE,
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
            TREE,
            "UPDATE p SET id = 1000000 WHERE id = 1",
            "BEGIN; SET foreign_key_checks = 0; \
             UPDATE c SET p_id = 1000000 WHERE p_id = 1; UPDATE p SET id = 1000000 WHERE id = 1; \
             SET foreign_key_checks = 1; COMMIT",
            port,
            reps,
        )
        .await;
        cascade_case(
            "re-key 10,000 parents with 100,000 children (UPDATE p SET id = id + 100000)",
            MANY_PARENTS,
            "UPDATE p SET id = id + 100000",
            "BEGIN; SET foreign_key_checks = 0; \
             UPDATE c SET p_id = p_id + 100000; UPDATE p SET id = id + 100000; \
             SET foreign_key_checks = 1; COMMIT",
            port,
            reps,
        )
        .await;
        admin.query_drop(format!("DROP DATABASE {DB}")).await.expect("drop");
    });
}
