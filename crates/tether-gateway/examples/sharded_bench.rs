//! The sharded-keyspace benchmark (issue 16; run by `bench/sharded.sh`, not CI).
//!
//! One Spider cluster (`tether_testkit::spider`: a head, two data nodes), one run:
//! - cascading DELETE and PK UPDATE of a parent with `BENCH_CHILDREN` children, on a
//!   co-located FK (child sharded by the FK column, like its parent) and on a
//!   cross-shard one (child sharded by its own id), through the managed gateway over
//!   the 2-node head, against the same tree natively on one MariaDB node (a database
//!   of node1 with InnoDB FKs, the same statements straight to it);
//! - the gateway's own factor on each, same run: a managed unsharded keyspace over a
//!   database of node1 with InnoDB FKs against that database natively, and the
//!   managed sharded keyspace against the Spider head straight with the cascades
//!   written by hand (the children's statements, then the parent's, in one
//!   transaction: what an application would send a head that cascades nothing);
//! - a mixed workload (`BENCH_CLIENTS` clients for `BENCH_SECONDS` s each: insert a
//!   parent and its children, update, read, delete it with its cascade) through the
//!   managed gateway on the tables spread over 2 nodes and over 1 node, natively, and
//!   on the Spider head straight (2 nodes, no gateway: FKs neither checked nor cascaded).
//!
//! Every configuration lives on the same machine: the nodes share its cores.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};
use tether_testkit::spider::{self, tree};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn keyspace(name: &str, head_url: &str) -> String {
    spider::managed_keyspace(name, head_url, tree::FKS)
}

/// `parents` parents in `pa` and `pb`, each with `children` children.
fn load_sql(parents: u64, children: u64) -> String {
    let n = parents * children;
    format!(
        "INSERT INTO pa (id) SELECT seq FROM seq_1_to_{parents};
         INSERT INTO pb (id) SELECT seq FROM seq_1_to_{parents};
         INSERT INTO ca (pa_id, id) SELECT 1 + (seq - 1) DIV {children}, seq FROM seq_1_to_{n};
         INSERT INTO xb (id, pb_id) SELECT seq, 1 + (seq - 1) DIV {children} FROM seq_1_to_{n};"
    )
}

/// Mean time per statement of `sqls`, one after the other on `conn`.
async fn mean(conn: &mut Conn, sqls: &[String]) -> Duration {
    let start = Instant::now();
    for sql in sqls {
        conn.query_drop(sql.as_str())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    start.elapsed() / sqls.len() as u32
}

/// The cascade cases: (case, statements), 50 deletes then 50 PK updates of each
/// parent table's first `parents` rows. `by_hand`: each statement preceded by its
/// children's, in one transaction (for a head, which cascades nothing).
fn cascade_cases(parents: u64, by_hand: bool) -> Vec<(&'static str, Vec<String>)> {
    let half = parents / 2;
    let mut out = Vec::new();
    for (case, parent, child, column) in [
        ("co-located", "pa", "ca", "pa_id"),
        ("cross-shard", "pb", "xb", "pb_id"),
    ] {
        let deletes: Vec<String> = (1..=half)
            .map(|k| match by_hand {
                false => format!("DELETE FROM {parent} WHERE id = {k}"),
                true => format!(
                    "BEGIN; DELETE FROM {child} WHERE {column} = {k}; DELETE FROM {parent} WHERE id = {k}; COMMIT"
                ),
            })
            .collect();
        let updates: Vec<String> = (half + 1..=parents)
            .map(|k| match by_hand {
                false => format!("UPDATE {parent} SET id = id + 1000000 WHERE id = {k}"),
                true => format!(
                    "BEGIN; UPDATE {child} SET {column} = {column} + 1000000 WHERE {column} = {k}; \
                     UPDATE {parent} SET id = id + 1000000 WHERE id = {k}; COMMIT"
                ),
            })
            .collect();
        let (delete, update) = match case {
            "co-located" => ("DELETE co-located", "PK UPDATE co-located"),
            _ => ("DELETE cross-shard", "PK UPDATE cross-shard"),
        };
        out.push((delete, deletes));
        out.push((update, updates));
    }
    out
}

/// The cascade cases on `conn`: (case, mean per statement).
async fn cascades(conn: &mut Conn, parents: u64, by_hand: bool) -> Vec<(&'static str, Duration)> {
    let mut out = Vec::new();
    for (case, sqls) in cascade_cases(parents, by_hand) {
        out.push((case, mean(conn, &sqls).await));
    }
    out
}

/// Statements per second of the mixed workload: `clients` clients for `seconds`.
async fn mixed(opts: Opts, clients: u64, seconds: u64, children: u64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let opts = opts.clone();
            tokio::spawn(async move {
                let mut conn = Conn::new(opts).await.expect("connects");
                let mut done = 0u64;
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let id = 10_000_000 + c * 1_000_000 + i;
                    i += 1;
                    let mut sqls = vec![
                        format!("INSERT INTO pa (id) VALUES ({id})"),
                        format!("INSERT INTO pb (id) VALUES ({id})"),
                    ];
                    for j in 0..children.min(4) {
                        sqls.push(format!("INSERT INTO ca (pa_id, id) VALUES ({id}, {j})"));
                        sqls.push(format!("INSERT INTO xb (id, pb_id) VALUES ({}, {id})", id * 10 + j));
                    }
                    sqls.push(format!("UPDATE pa SET v = v + 1 WHERE id = {id}"));
                    sqls.push(format!("SELECT COUNT(*) FROM ca WHERE pa_id = {id}"));
                    sqls.push(format!("UPDATE xb SET v = v + 1 WHERE pb_id = {id}"));
                    sqls.push(format!("DELETE FROM pa WHERE id = {id}"));
                    sqls.push(format!("DELETE FROM pb WHERE id = {id}"));
                    for sql in &sqls {
                        conn.query_drop(sql.as_str())
                            .await
                            .unwrap_or_else(|e| panic!("{sql}: {e}"));
                    }
                    done += sqls.len() as u64;
                }
                let _ = conn.disconnect().await;
                done
            })
        })
        .collect();
    let start = Instant::now();
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("client");
    }
    total as f64 / start.elapsed().as_secs_f64().max(seconds as f64)
}

fn main() {
    let parents = env_num("BENCH_PARENTS", 100);
    let children = env_num("BENCH_CHILDREN", 10);
    let clients = env_num("BENCH_CLIENTS", 4);
    let seconds = env_num("BENCH_SECONDS", 10);
    let cluster = spider::cluster();
    eprintln!("spider cluster up in {:?}", cluster.startup);
    // The testkit's head runs with spider_internal_xa = ON (atomic commit across nodes).
    let two = cluster.create_db();
    tree::sharded(&two, &spider::NODES);
    let one = cluster.create_db();
    tree::sharded(&one, &["node1"]);
    // The head straight, no gateway: Spider's own cost (nobody checks or cascades the
    // FKs, so the workload's deletes leave its children behind).
    let raw = cluster.create_db();
    tree::sharded(&raw, &spider::NODES);
    // Natively: a database of node1 with InnoDB FKs (a node has no Spider tables).
    let native_db = format!("{}_native", two.name);
    cluster.node("node1").exec("", &format!("CREATE DATABASE {native_db}"));
    cluster.node("node1").exec(&native_db, &tree::innodb_schema());
    let native_url = cluster.node("node1").url(&native_db);
    // The unsharded managed keyspace: another database of node1, the same schema.
    let plain_db = format!("{}_plain", two.name);
    cluster.node("node1").exec("", &format!("CREATE DATABASE {plain_db}"));
    cluster.node("node1").exec(&plain_db, &tree::innodb_schema());
    // The head straight, the cascades by hand.
    let hand = cluster.create_db();
    tree::sharded(&hand, &spider::NODES);

    let json = format!(
        r#"{{"listen": "127.0.0.1:0", "users": [{{"user": "bench", "password": "bench"}}],
            "keyspaces": {{{}, {}, "plain": {{"foreignKeyMode": "managed", "backend": {{"url": "{}"}}}}}}}}"#,
        keyspace("two", &two.head_url()),
        keyspace("one", &one.head_url()),
        cluster.node("node1").url(&plain_db)
    );
    let config = tether_gateway::Config::parse(&json).expect("bench config");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let gateway = rt
        .block_on(tether_gateway::Gateway::bind(&config, None))
        .expect("gateway binds");
    let addr = gateway.local_addr().expect("address");
    rt.spawn(gateway.serve());
    let gw = |ks: &str| -> Opts {
        OptsBuilder::default()
            .ip_or_hostname(addr.ip().to_string())
            .tcp_port(addr.port())
            .user(Some("bench"))
            .pass(Some("bench"))
            .db_name(Some(ks))
            .prefer_socket(false)
            .into()
    };
    let native_opts = Opts::from_url(&native_url).expect("url");

    two.exec_head(&load_sql(parents, children));
    cluster.node("node1").exec(&native_db, &load_sql(parents, children));
    cluster.node("node1").exec(&plain_db, &load_sql(parents, children));
    hand.exec_head(&load_sql(parents, children));
    rt.block_on(async {
        // Cascades: the 2-node managed keyspace against native; the gateway's own
        // factor unsharded (managed over InnoDB / InnoDB) and sharded (managed over
        // the head / the head with the cascades by hand).
        let ms = |d: &Duration| d.as_secs_f64() * 1e3;
        let mut g = Conn::new(gw("two")).await.expect("gateway");
        let mut n = Conn::new(native_opts.clone()).await.expect("native");
        let mut u = Conn::new(gw("plain")).await.expect("gateway, unsharded");
        let mut h = Conn::new(Opts::from_url(&hand.head_url()).expect("url"))
            .await
            .expect("head");
        let sharded = cascades(&mut g, parents, false).await;
        let native = cascades(&mut n, parents, false).await;
        let unsharded = cascades(&mut u, parents, false).await;
        let head = cascades(&mut h, parents, true).await;
        println!(
            "cascades: {parents} parents x {children} children, {} statements per case",
            parents / 2
        );
        println!(
            "{:<24} {:>10} {:>10} {:>7} | {:>10} {:>10} {:>7} | {:>8}",
            "case (ms per statement)", "native", "unsharded", "factor", "head hand", "sharded", "factor", "shd/nat"
        );
        for (((case, s), (_, nat)), ((_, un), (_, hd))) in sharded.iter().zip(&native).zip(unsharded.iter().zip(&head))
        {
            println!(
                "{case:<24} {:>10.2} {:>10.2} {:>7.2} | {:>10.2} {:>10.2} {:>7.2} | {:>8.1}",
                ms(nat),
                ms(un),
                ms(un) / ms(nat),
                ms(hd),
                ms(s),
                ms(s) / ms(hd),
                ms(s) / ms(nat)
            );
        }
        // Mixed workload: 2 nodes, 1 node, native.
        let t2 = mixed(gw("two"), clients, seconds, children).await;
        let t1 = mixed(gw("one"), clients, seconds, children).await;
        let tn = mixed(native_opts, clients, seconds, children).await;
        let th = mixed(
            Opts::from_url(&raw.head_url()).expect("url"),
            clients,
            seconds,
            children,
        )
        .await;
        println!("mixed workload, {clients} clients, {seconds} s each (statements/s):");
        println!("  managed, 2 nodes  {t2:>10.1}");
        println!("  managed, 1 node   {t1:>10.1}");
        println!("  native, 1 node    {tn:>10.1}");
        println!("  head, no gateway  {th:>10.1}  (2 nodes, FKs unchecked)");
        println!("  2 nodes / 1 node  {:>10.2}", t2 / t1);
        println!("  native / 2 nodes  {:>10.1}", tn / t2);
    });
    cluster
        .node("node1")
        .exec("", &format!("DROP DATABASE {native_db}; DROP DATABASE {plain_db}"));
}
