//! Issue 16, atomicity: a cascade across both data nodes through a managed sharded
//! gateway, interrupted mid-commit (a data node killed, the gateway dropped, the head
//! killed), leaves all of it or none of it once a new gateway has started (its XA
//! recovery runs, `sharded::recover`); read on the nodes directly; no orphans; the
//! rows unlocked (new writes through the gateway succeed). And while a gateway runs:
//! a data node restarted after its PREPARE is recovered before the gateway's next
//! write (`sharded::recover::Watch`), with no new gateway.
//!
//! Schema: `item` and `review` sharded by HASH(id) (node1 even ids, node2 odd ids),
//! the VSchema's cross-shard `review.item_id -> item.id ON DELETE CASCADE`. Deleting
//! item 2 (node1) deletes reviews 1, 3 (node2) and 4 (node1).

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_testkit::spider::{self, Cluster, Instance, Partitioning, ShardedDb};

use crate::support::{start_json, Gw};

fn schema(db: &ShardedDb) {
    for (name, columns) in [
        ("item", "id INT PRIMARY KEY"),
        ("review", "id INT PRIMARY KEY, item_id INT NOT NULL"),
    ] {
        db.sharded_table(name, columns, columns, &Partitioning::Hash("id".into()), &spider::NODES);
    }
}

/// The rows before the delete (again).
fn rows(db: &ShardedDb) {
    db.exec_head("DELETE FROM review; DELETE FROM item");
    db.exec_head("INSERT INTO item VALUES (2), (5); INSERT INTO review VALUES (1, 2), (3, 2), (4, 2), (6, 5)");
}

fn gateway(db: &ShardedDb) -> Gw {
    let fk = ("review_item_fk", "review", "item_id", "item", "CASCADE", "CASCADE");
    start_json(&spider::managed_keyspace("ks", &db.head_url(), &[fk]), "")
}

fn ids(rows: Vec<Vec<Option<String>>>) -> Vec<String> {
    rows.into_iter().map(|r| r[0].clone().unwrap_or_default()).collect()
}

/// (items, reviews) on `node`, read on the node.
fn on_node(db: &ShardedDb, node: &str) -> (Vec<String>, Vec<String>) {
    (
        ids(db.query_node(node, "SELECT id FROM item ORDER BY id")),
        ids(db.query_node(node, "SELECT id FROM review ORDER BY id")),
    )
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Before the delete of item 2: node1 has items 2, reviews 4, 6; node2 item 5, reviews 1, 3.
fn none_of_it(db: &ShardedDb) {
    assert_eq!(on_node(db, "node1"), (strings(&["2"]), strings(&["4", "6"])));
    assert_eq!(on_node(db, "node2"), (strings(&["5"]), strings(&["1", "3"])));
}

/// After it: item 2 and its reviews 1, 3, 4 gone on both nodes.
fn all_of_it(db: &ShardedDb) {
    assert_eq!(on_node(db, "node1"), (vec![], strings(&["6"])));
    assert_eq!(on_node(db, "node2"), (strings(&["5"]), vec![]));
}

/// Reviews whose item exists on no node.
fn orphans(db: &ShardedDb) -> Vec<String> {
    let mut items = Vec::new();
    let mut reviews = Vec::new();
    for n in spider::NODES {
        items.extend(ids(db.query_node(n, "SELECT id FROM item")));
        reviews.extend(db.query_node(n, "SELECT id, item_id FROM review"));
    }
    reviews
        .into_iter()
        .filter(|r| !items.contains(r[1].as_ref().expect("item_id")))
        .map(|r| r[0].clone().unwrap_or_default())
        .collect()
}

pub(crate) fn xa_recover(i: &Instance) -> usize {
    i.query("", "XA RECOVER").len()
}

pub(crate) fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until `i` has a statement starting with `prefix` in its processlist.
pub(crate) fn waiting(i: &Instance, prefix: &str) {
    wait_for(prefix, || {
        i.query(
            "",
            &format!("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '{prefix}%'"),
        )[0][0]
            .as_deref()
            == Some("1")
    })
}

/// Holds `i`'s commits (an XA PREPARE waits) until the connection ends the stage.
pub(crate) fn block_commits(i: &Instance) -> (tokio::runtime::Runtime, Conn) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let k = rt.block_on(async {
        let mut k = Conn::from_url(i.url("").as_str()).await.expect("node");
        k.query_drop("BACKUP STAGE START").await.expect("backup stage");
        k.query_drop("BACKUP STAGE BLOCK_COMMIT").await.expect("block commit");
        k
    });
    (rt, k)
}

fn unblock((rt, mut k): (tokio::runtime::Runtime, Conn)) {
    rt.block_on(async {
        k.query_drop("BACKUP STAGE END").await.expect("backup stage end");
        let _ = k.disconnect().await;
    });
}

/// Sends the cascading delete through the gateway from a thread of its own; the
/// result (0 or the error code; 2013 for a lost connection) comes back on the channel.
fn delete_item_2(gw: &Gw) -> std::sync::mpsc::Receiver<u16> {
    let opts = gw.opts("ks");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let code = tether_testkit::block_on(async {
            let mut c = Conn::new(opts).await.expect("gateway");
            match c.query_drop("DELETE FROM item WHERE id = 2").await {
                Ok(()) => 0,
                Err(mysql_async::Error::Server(e)) => e.code,
                Err(_) => 2013,
            }
        });
        let _ = tx.send(code);
    });
    rx
}

/// New writes through the gateway touch every row of the cascade (they would wait
/// out the lock timeout, 1205, on a row a prepared transaction still holds).
fn rows_are_free(gw: &Gw, db: &ShardedDb) {
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        c.query_drop("UPDATE review SET item_id = 5 WHERE id IN (1, 3, 4, 6)")
            .await
            .expect("the rows are unlocked");
        c.query_drop("DELETE FROM item WHERE id = 2")
            .await
            .expect("item 2 free");
        c.query_drop("INSERT INTO item VALUES (2)").await.expect("insert");
    });
    assert_eq!(orphans(db), Vec::<String>::new());
}

/// Rows reset, a gateway, `held`'s commits blocked and the cascading delete sent:
/// returns once the delete's commit waits in `held`'s XA PREPARE.
fn cascade_waiting_in_prepare(
    db: &ShardedDb,
    held: &Instance,
) -> (Gw, (tokio::runtime::Runtime, Conn), std::sync::mpsc::Receiver<u16>) {
    rows(db);
    let gw = gateway(db);
    let blocker = block_commits(held);
    let rx = delete_item_2(&gw);
    waiting(held, "xa prepare");
    (gw, blocker, rx)
}

/// Case (a): `first` killed after its PREPARE, `second` held in its own, then let go:
/// the head decides COMMIT, the client gets an error.
/// Returns the gateway (still running); `first` is down.
fn first_killed_after_its_prepare(db: &ShardedDb, first: &Instance, second: &Instance) -> Gw {
    let (gw, blocker, rx) = cascade_waiting_in_prepare(db, second);
    assert_eq!(xa_recover(first), 1, "first prepared first");
    first.kill();
    unblock(blocker);
    assert_ne!(
        rx.recv().expect("delete result"),
        0,
        "the client is told the commit failed"
    );
    gw
}

/// After a new gateway's recovery: all of the cascade or none of it on the nodes,
/// no orphans, no transaction left prepared, the rows free.
fn all_or_none(gw: Gw, db: &ShardedDb, all: bool) {
    if all {
        all_of_it(db);
    } else {
        none_of_it(db);
    }
    for n in spider::NODES {
        assert_eq!(xa_recover(db.cluster.node(n)), 0, "{n}");
    }
    assert_eq!(orphans(db), Vec::<String>::new());
    rows_are_free(&gw, db);
}

#[test]
fn a_cascade_across_nodes_interrupted_mid_commit_is_all_or_nothing_after_the_gateways_recovery() {
    let c = Cluster::start("xa_atomic");
    let db = c.create_db();
    // Spider prepares the nodes in the order the transaction first touched them: the
    // gateway reads item 2 on node1 first, so node1 prepares first, then node2.
    let (first, second) = (c.node("node1"), c.node("node2"));
    schema(&db);

    // (a) first killed after its PREPARE, second held in its own: the head decides
    // COMMIT, second commits its half, first restarts with its half prepared (locked,
    // invisible). A new gateway's recovery commits it: all of the cascade.
    let gw = first_killed_after_its_prepare(&db, first, second);
    drop(gw);
    first.start();
    assert_eq!(xa_recover(first), 1, "first holds its half prepared");
    all_or_none(gateway(&db), &db, true);

    // (b) the gateway dropped while its COMMIT waits in second's PREPARE (first
    // prepared): the head finishes the commit on its own: all of it.
    let (gw, blocker, rx) = cascade_waiting_in_prepare(&db, second);
    drop(gw);
    assert_eq!(rx.recv().expect("delete result"), 2013);
    unblock(blocker);
    wait_for("the head's commit", || xa_recover(second) + xa_recover(first) == 0);
    all_or_none(gateway(&db), &db, true);

    // (b') the gateway dropped mid-cascade, before its COMMIT: its statement waits
    // for review 3's row lock on second (a transaction straight on the node holds
    // it). The head rolls the gateway's transaction back: none of it.
    rows(&db);
    let gw = gateway(&db);
    let locker = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut lock = locker.block_on(async {
        let mut k = Conn::from_url(db.node_url("node2").as_str()).await.expect("node2");
        k.query_drop("BEGIN").await.expect("begin");
        k.query_drop("SELECT * FROM review WHERE id = 3 FOR UPDATE")
            .await
            .expect("lock");
        k
    });
    let rx = delete_item_2(&gw);
    // The cascade's delete of the reviews waits on node2 (INNODB_TRX does not
    // always list it yet; the processlist does).
    waiting(second, "delete from%review%");
    drop(gw);
    assert_eq!(rx.recv().expect("delete result"), 2013);
    locker.block_on(async {
        lock.query_drop("ROLLBACK").await.expect("rollback");
        let _ = lock.disconnect().await;
    });
    wait_for("the head's rollback", || {
        [first, second]
            .iter()
            .all(|n| n.query("", "SELECT COUNT(*) FROM information_schema.INNODB_TRX")[0][0].as_deref() == Some("0"))
    });
    all_or_none(gateway(&db), &db, false);

    // (c) the head killed after first's PREPARE, second held in its own: both nodes
    // end with the transaction prepared, the head's record NOT YET. The head
    // restarts; a new gateway's recovery rolls both back: none of it.
    let (gw, blocker, rx) = cascade_waiting_in_prepare(&db, second);
    assert_eq!(xa_recover(first), 1, "first prepared first");
    c.head.kill();
    unblock(blocker);
    assert_ne!(rx.recv().expect("delete result"), 0);
    drop(gw);
    wait_for("second's PREPARE", || xa_recover(second) == 1);
    c.head.start();
    // A transaction prepared on a node by someone else (no row in the head's
    // mysql.spider_xa): recovery leaves it alone.
    first.exec(
        &db.name,
        "XA START 'not_spider'; INSERT INTO review VALUES (99, 5); XA END 'not_spider'; XA PREPARE 'not_spider'",
    );
    assert_eq!(xa_recover(first), 2);
    let gw = gateway(&db);
    let left: Vec<Option<String>> = first
        .query("", "XA RECOVER")
        .into_iter()
        .map(|r| r[3].clone())
        .collect();
    assert_eq!(left, [Some("not_spider".to_string())], "only the foreign xid is left");
    first.exec("", "XA ROLLBACK 'not_spider'");
    all_or_none(gw, &db, false);
}

#[test]
fn a_node_restarted_after_its_prepare_is_recovered_before_the_running_gateways_next_write() {
    let c = Cluster::start("xa_running");
    let db = c.create_db();
    let (first, second) = (c.node("node1"), c.node("node2"));
    schema(&db);
    // As (a) above, but the gateway stays up while first restarts.
    let gw = first_killed_after_its_prepare(&db, first, second);
    first.start();
    // Recovery forgets only records whose head session is gone (a live one may be a
    // commit under way); under load the head may not have ended the failed commit's
    // session yet when the next write comes.
    wait_for("the head session of the failed commit to end", || {
        db.cluster.head.query(
            "",
            "SELECT COUNT(*) FROM mysql.spider_xa x JOIN information_schema.PROCESSLIST p \
             ON p.ID = CONV(LEFT(x.data, IF(x.gtrid_length > 16, x.gtrid_length - 16, x.gtrid_length)), 16, 10)",
        )[0][0]
            .as_deref()
            == Some("0")
    });
    // The next write through the same gateway reads item 2 for update: without a
    // recovery it would wait on first's prepared half (1205 after 50 s); with it,
    // item 2 is gone (committed), 0 rows.
    let affected = gw.block_on(async {
        let mut c = gw.connect("ks").await;
        c.query_drop("DELETE FROM item WHERE id = 2")
            .await
            .expect("item 2 unlocked: the prepared half was resolved");
        c.affected_rows()
    });
    assert_eq!(affected, 0, "item 2 was deleted by the recovered commit");
    // The head's record of the xid is gone with it (a restarted head would repeat it).
    assert_eq!(
        db.cluster.head.query("", "SELECT COUNT(*) FROM mysql.spider_xa")[0][0].as_deref(),
        Some("0")
    );
    all_or_none(gw, &db, true);
}
