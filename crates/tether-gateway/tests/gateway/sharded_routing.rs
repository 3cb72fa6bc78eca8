//! Issue 16: shard-scoped work is routed to one node and costs the gateway no more
//! than on an unsharded keyspace. Each statement runs through a managed sharded
//! gateway with every server's general log on (a cluster of its own: nobody else's
//! statements), then the logs say which data nodes it reached and how many statements
//! the gateway sent the head; the same statement through a managed unsharded
//! keyspace (the same tables and FKs in InnoDB on one MariaDB) counts the gateway's
//! statements there.
//!
//! Schema: `pa` (HASH id) and its co-located `ca` (HASH pa_id), `pb` (HASH id) and
//! its cross-shard `xb` (HASH id); the VSchema's `ca.pa_id -> pa.id` and
//! `xb.pb_id -> pb.id`, ON DELETE / ON UPDATE CASCADE. Node1 holds even keys, node2
//! odd ones.

use std::collections::BTreeMap;

use mysql_async::prelude::Queryable;
use tether_testkit::spider::{self, tree, Cluster, Instance};

use crate::support::{start_json, Gw};

/// Parents 2 and 4 (node1) with children: `ca` (2, 1), (2, 2) on node1 with their
/// parent; `xb` 1 (node2) and 2 (node1) under `pb` 2.
const ROWS: &str = "INSERT INTO pa (id) VALUES (2), (4); INSERT INTO ca (pa_id, id) VALUES (2, 1), (2, 2);
     INSERT INTO pb (id) VALUES (2), (4); INSERT INTO xb (id, pb_id) VALUES (1, 2), (2, 2);";

/// Empties `i`'s general log and starts it again.
fn log_from_now(i: &Instance) {
    i.exec(
        "",
        "SET GLOBAL general_log = OFF; TRUNCATE mysql.general_log; SET GLOBAL general_log = ON",
    );
}

/// The statements `i` ran since [`log_from_now`], in order, those of session
/// `thread` only when given; else without the gateway's connection watch (`DO 1`),
/// the log's own switch, the login queries of the test's connection that turns it
/// off and Spider's statistics.
fn logged(i: &Instance, thread: Option<&str>) -> Vec<String> {
    i.exec("", "SET GLOBAL general_log = OFF");
    let only = match thread {
        Some(t) => format!("thread_id = {t}"),
        // Spider's table statistics (`show table status`, `show index`, reads of
        // information_schema), fetched when they are older than
        // `spider_sts_interval`, are no statement's work.
        None => "argument <> 'DO 1' AND argument NOT LIKE 'SET GLOBAL general_log%' \
                 AND argument NOT LIKE 'SELECT @@max_allowed_packet,@@wait_timeout%' \
                 AND argument NOT LIKE 'show %' AND argument NOT LIKE '%information_schema%'"
            .to_string(),
    };
    i.query(
        "",
        &format!(
            "SELECT CONVERT(argument USING utf8mb4) FROM mysql.general_log \
             WHERE command_type IN ('Query', 'Execute') AND {only} ORDER BY event_time"
        ),
    )
    .into_iter()
    .map(|r| r[0].clone().unwrap_or_default())
    .collect()
}

/// What one statement cost: the statements the gateway sent its backend, and
/// those each data node ran (nodes that ran none left out).
#[derive(Debug)]
struct Cost {
    gateway: Vec<String>,
    nodes: BTreeMap<String, Vec<String>>,
}

/// Runs `sql` through keyspace `ks` of `gw` (a connection opened and used once
/// before, so no login statements count) with the logs of `backend` and `nodes` on;
/// the gateway's statements are those of its session on `backend` (the gateway's
/// own background reads left out).
fn cost(gw: &Gw, ks: &str, backend: &Instance, nodes: &[&Instance], sql: &str) -> Cost {
    let (mut c, thread) = gw.block_on(async {
        let mut c = gw.connect(ks).await;
        // Forwarded: the backend session's id.
        let thread: Option<u64> = c.query_first("SELECT CONNECTION_ID()").await.expect("warm-up");
        (c, thread.expect("an id").to_string())
    });
    for i in std::iter::once(backend).chain(nodes.iter().copied()) {
        log_from_now(i);
    }
    gw.block_on(c.query_drop(sql)).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let gateway = logged(backend, Some(&thread));
    let nodes = nodes
        .iter()
        .map(|n| (n.name.clone(), logged(n, None)))
        .filter(|(_, s)| !s.is_empty())
        .collect();
    let _ = gw.block_on(c.disconnect());
    Cost { gateway, nodes }
}

/// A case's counts: (case, the gateway's statements sharded, unsharded, (node,
/// statements Spider sent it) per node reached).
type Counts<'a> = (&'a str, usize, usize, Vec<(String, usize)>);

#[test]
fn shard_scoped_work_reaches_one_node_and_costs_no_more_statements_than_unsharded() {
    let c = Cluster::start("routing");
    for i in std::iter::once(&c.head).chain(&c.nodes) {
        i.exec("", "SET GLOBAL log_output = 'TABLE'");
    }
    let db = c.create_db();
    tree::sharded(&db, &spider::NODES);
    // Unsharded: the same tables with InnoDB FKs in a database of the head.
    let plain = format!("{}_plain", db.name);
    c.head.exec("", &format!("CREATE DATABASE {plain}"));
    c.head.exec(&plain, &tree::innodb_schema());
    let gw = start_json(
        &format!(
            r#"{}, "un": {{"foreignKeyMode": "managed", "backend": {{"url": "{}"}}}}"#,
            spider::managed_keyspace("sh", &db.head_url(), tree::FKS),
            c.head.url(&plain)
        ),
        "",
    );
    let nodes: Vec<&Instance> = c.nodes.iter().collect();
    let cases = [
        ("co-located cascading DELETE", "DELETE FROM pa WHERE id = 2"),
        ("co-located PK UPDATE", "UPDATE pa SET id = 6 WHERE id = 2"),
        ("co-located child INSERT", "INSERT INTO ca (pa_id, id) VALUES (4, 3)"),
        ("cross-shard cascading DELETE", "DELETE FROM pb WHERE id = 2"),
        ("cross-shard PK UPDATE", "UPDATE pb SET id = 6 WHERE id = 2"),
        ("cross-shard child INSERT", "INSERT INTO xb (id, pb_id) VALUES (3, 4)"),
    ];
    let mut report = Vec::new();
    for (case, sql) in cases {
        for (reset, _) in [(&db.name, ()), (&plain, ())] {
            c.head
                .exec(reset, "DELETE FROM ca; DELETE FROM xb; DELETE FROM pa; DELETE FROM pb");
            c.head.exec(reset, ROWS);
        }
        let sharded = cost(&gw, "sh", &c.head, &nodes, sql);
        let unsharded = cost(&gw, "un", &c.head, &[], sql);
        report.push((case, sharded, unsharded));
    }
    for (case, sharded, unsharded) in &report {
        // The same statements as unsharded, but for the savepoint a head cannot
        // take (managed::sharded): no probe, lock or check more.
        let without_savepoint: Vec<String> = unsharded
            .gateway
            .iter()
            .map(|s| s.replace("SAVEPOINT _tether_batch;\n", ""))
            .collect();
        assert_eq!(sharded.gateway, without_savepoint, "{case}");
    }
    // Per case: the gateway's statements to the head (sharded, unsharded), and the
    // statements Spider sent each node it reached (its session set-up and XA
    // START in one, SET NAMES, the reads and writes, XA END / PREPARE / COMMIT).
    let summary: Vec<Counts> = report
        .iter()
        .map(|(case, s, u)| {
            let nodes = s.nodes.iter().map(|(n, sql)| (n.clone(), sql.len())).collect();
            (*case, s.gateway.len(), u.gateway.len(), nodes)
        })
        .collect();
    let n =
        |list: &[(&str, usize)]| -> Vec<(String, usize)> { list.iter().map(|(n, k)| (n.to_string(), *k)).collect() };
    assert_eq!(
        summary,
        vec![
            // Six statements to the head each: the session's sql_mode read
            // (managed::session_state) and the plan's five.
            // Read pa 2, delete it, delete its ca rows: node1 only.
            ("co-located cascading DELETE", 6, 6, n(&[("node1", 9)])),
            // Spider moves the rows one by one (the partitioning column changes):
            // still node1 only.
            ("co-located PK UPDATE", 6, 6, n(&[("node1", 12)])),
            // The parent probe and the insert: node1 only.
            ("co-located child INSERT", 6, 6, n(&[("node1", 8)])),
            ("cross-shard cascading DELETE", 6, 6, n(&[("node1", 9), ("node2", 6)])),
            ("cross-shard PK UPDATE", 6, 6, n(&[("node1", 10), ("node2", 6)])),
            // The probe on node1, the insert on node2.
            ("cross-shard child INSERT", 6, 6, n(&[("node1", 6), ("node2", 6)])),
        ]
    );
    c.head.exec("", &format!("DROP DATABASE {plain}"));
}
