//! Review r20f on managed sharded keyspaces (issue 16). F1: Spider loses every
//! column an UPDATE does not assign when it moves several rows to another partition
//! through a range or a key list (`UPDATE p SET id = id + 1 WHERE id > 1` leaves
//! NULL in `name` and `u`); the gateway now runs an UPDATE that may change a
//! partitioning column one row at a time by primary key, in the statement's order,
//! and refuses it for a table without a primary key. F2: deleting a row that
//! references itself (or a cycle of rows) through an ON DELETE CASCADE self-FK was
//! refused with 1296: the depth walk followed the cycle back to rows of its own path.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_testkit::spider::{self, Partitioning, ShardedDb};

use crate::sharded_managed::code_of;
use crate::support::{rows, start_json, Gw};

/// `p` (id, name, u) referenced by `ch.pid` (CASCADE / CASCADE), `t` referencing
/// itself (`t.up`, CASCADE / CASCADE), `q` (id, name) without FKs and `np` (no
/// primary key), all `PARTITION BY HASH` over the two nodes (an odd change of the
/// hashed column moves the row to the other node).
fn keyspace(setup: &str) -> (ShardedDb<'static>, Gw) {
    let db = spider::cluster().create_db();
    let hash = |c: &str| Partitioning::Hash(c.into());
    for (name, columns, by) in [
        ("p", "id INT NOT NULL PRIMARY KEY, name VARCHAR(20), u INT", "id"),
        ("ch", "id INT NOT NULL PRIMARY KEY, pid INT, v INT, KEY (pid)", "id"),
        ("t", "id INT NOT NULL PRIMARY KEY, up INT, KEY (up)", "id"),
        ("q", "id INT NOT NULL PRIMARY KEY, name VARCHAR(20)", "id"),
        ("np", "a INT, b INT", "a"),
    ] {
        db.sharded_table(name, columns, columns, &hash(by), &spider::NODES);
    }
    db.exec_head(setup);
    let gw = start_json(
        &format!(
            r#""ks": {{"sharded": true, "foreignKeyMode": "managed", "backend": {{"url": "{}"}},
                "foreignKeys": [
                  {{"name": "ch_p", "table": "ch", "columns": ["pid"], "referenced_table": "p",
                    "on_delete": "CASCADE", "on_update": "CASCADE"}},
                  {{"name": "t_up", "table": "t", "columns": ["up"], "referenced_table": "t",
                    "on_delete": "CASCADE", "on_update": "CASCADE"}}]}}"#,
            db.head_url()
        ),
        "",
    );
    (db, gw)
}

pub(crate) async fn affected(g: &mut Conn, sql: &str) -> u64 {
    g.query_drop(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    g.affected_rows()
}

pub(crate) fn table(lines: &[&str]) -> Vec<Vec<String>> {
    lines
        .iter()
        .map(|l| l.split(' ').map(str::to_string).collect())
        .collect()
}

/// F1: UPDATEs that move several rows to the other node (ORDER BY .. LIMIT, a
/// range, a range of one row, with another column assigned too) keep every column,
/// cascade to the children, and answer native's rows affected.
#[test]
fn key_moving_updates_keep_every_column() {
    let (_db, gw) = keyspace(
        "INSERT INTO p VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3);
         INSERT INTO ch VALUES (10, 2, 7), (11, 3, 8);
         INSERT INTO q VALUES (1, 'x'), (2, 'y')",
    );
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        // The reviewer's case: was `3 NULL NULL / 4 NULL NULL`.
        assert_eq!(
            affected(&mut g, "UPDATE p SET id = id + 1 ORDER BY id DESC LIMIT 2").await,
            2
        );
        assert_eq!(
            rows(&mut g, "SELECT * FROM p ORDER BY id").await,
            table(&["1 a 1", "3 b 2", "4 c 3"])
        );
        assert_eq!(
            rows(&mut g, "SELECT * FROM ch ORDER BY id").await,
            table(&["10 3 7", "11 4 8"])
        );
        // A range (was NULL-filled on the head itself, and passed on).
        assert_eq!(affected(&mut g, "UPDATE p SET id = id + 59 WHERE id > 2").await, 2);
        assert_eq!(
            rows(&mut g, "SELECT * FROM p ORDER BY id").await,
            table(&["1 a 1", "62 b 2", "63 c 3"])
        );
        assert_eq!(
            rows(&mut g, "SELECT * FROM ch ORDER BY id").await,
            table(&["10 62 7", "11 63 8"])
        );
        // A range of one row, with another column assigned first.
        g.query_drop("UPDATE p SET name = CONCAT(name, '!'), id = id - 51 WHERE id > 61 AND id < 63")
            .await
            .unwrap();
        assert_eq!(
            rows(&mut g, "SELECT * FROM p ORDER BY id").await,
            table(&["1 a 1", "11 b! 2", "63 c 3"])
        );
        assert_eq!(
            rows(&mut g, "SELECT * FROM ch ORDER BY id").await,
            table(&["10 11 7", "11 63 8"])
        );
        // After a comment: the same; with IGNORE (which the gateway cannot run row
        // by row): refused, nothing written.
        assert_eq!(
            affected(&mut g, "/* c */ UPDATE p SET id = id + 1, u = u + 1 WHERE id < 12").await,
            2
        );
        assert_eq!(
            rows(&mut g, "SELECT * FROM p ORDER BY id").await,
            table(&["2 a 2", "12 b! 3", "63 c 3"])
        );
        let (code, message) = code_of(&mut g, "UPDATE IGNORE q SET id = id + 1 WHERE id > 0").await;
        assert_eq!(code, 1105, "{message}");
        assert!(message.contains("keyspace `ks` is sharded and managed"), "{message}");
        assert_eq!(
            rows(&mut g, "SELECT * FROM q ORDER BY id").await,
            table(&["1 x", "2 y"])
        );
        g.query_drop("UPDATE p SET id = id - 1, u = u - 1 WHERE id < 14 ORDER BY id")
            .await
            .unwrap();
        // A table no FK names (forwarded before): the same.
        assert_eq!(affected(&mut g, "UPDATE q SET id = id + 1 ORDER BY id DESC").await, 2);
        assert_eq!(
            rows(&mut g, "SELECT * FROM q ORDER BY id").await,
            table(&["2 x", "3 y"])
        );
        // In InnoDB's order (the primary key's): the first row meets the second,
        // 1062 as natively, and nothing is written.
        let (code, message) = code_of(&mut g, "UPDATE q SET id = id + 1 WHERE id < 10").await;
        assert_eq!(code, 1062, "{message}");
        assert_eq!(
            rows(&mut g, "SELECT * FROM q ORDER BY id").await,
            table(&["2 x", "3 y"])
        );
        // Inside the client's transaction, and a WHERE that matches nothing.
        g.query_drop("BEGIN").await.unwrap();
        assert_eq!(
            affected(&mut g, "UPDATE p SET id = id + 1 WHERE id IN (1, 63)").await,
            2
        );
        assert_eq!(affected(&mut g, "UPDATE p SET id = id + 1 WHERE id > 1000").await, 0);
        g.query_drop("COMMIT").await.unwrap();
        assert_eq!(
            rows(&mut g, "SELECT * FROM p ORDER BY id").await,
            table(&["2 a 1", "11 b! 2", "64 c 3"])
        );
        assert_eq!(
            rows(&mut g, "SELECT * FROM ch ORDER BY id").await,
            table(&["10 11 7", "11 64 8"])
        );
    });
}

/// F1 without a primary key: no row can be moved alone, so an UPDATE of the
/// partitioning column is refused naming the table; other columns update as before.
#[test]
fn moving_rows_of_a_table_without_a_primary_key_is_refused() {
    let (_db, gw) = keyspace("INSERT INTO np VALUES (1, 10), (2, 20)");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let (code, message) = code_of(&mut g, "UPDATE np SET a = a + 1 WHERE a > 0").await;
        assert_eq!(code, 1105, "{message}");
        assert!(
            message.contains("keyspace `ks` is sharded and managed")
                && message.contains("UPDATE of `np`'s partitioning columns")
                && message.contains("no primary key"),
            "{message}"
        );
        assert_eq!(affected(&mut g, "UPDATE np SET b = b + 1 WHERE a > 0").await, 2);
        assert_eq!(
            rows(&mut g, "SELECT * FROM np ORDER BY a").await,
            table(&["1 11", "2 21"])
        );
    });
}

/// F2: a row referencing itself, a cycle of two rows, and a whole table of such
/// rows delete through an ON DELETE CASCADE self-FK, as natively (was 1296).
#[test]
fn self_referencing_rows_delete() {
    let (_db, gw) = keyspace("DO 1");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        g.query_drop("INSERT INTO t VALUES (1, 1)").await.unwrap();
        assert_eq!(affected(&mut g, "DELETE FROM t WHERE id = 1").await, 1);
        assert!(rows(&mut g, "SELECT * FROM t").await.is_empty());

        g.query_drop("INSERT INTO t VALUES (2, NULL), (4, 2)").await.unwrap();
        g.query_drop("UPDATE t SET up = 4 WHERE id = 2").await.unwrap();
        assert_eq!(affected(&mut g, "DELETE FROM t WHERE id = 2").await, 1);
        assert!(rows(&mut g, "SELECT * FROM t").await.is_empty());

        // A self-loop, a 2-cycle, a chain into a cycle, and a plain chain.
        g.query_drop("INSERT INTO t VALUES (5, 5), (6, NULL), (7, 6), (8, NULL), (9, 8), (20, NULL), (21, 20)")
            .await
            .unwrap();
        g.query_drop("UPDATE t SET up = 7 WHERE id = 6").await.unwrap();
        g.query_drop("UPDATE t SET up = 9 WHERE id = 20").await.unwrap();
        // Deleting 8 takes 9, 20 and 21 (9 -> 20 -> 21), and leaves the rest.
        assert_eq!(affected(&mut g, "DELETE FROM t WHERE id = 8").await, 1);
        assert_eq!(
            rows(&mut g, "SELECT * FROM t ORDER BY id").await,
            table(&["5 5", "6 7", "7 6"])
        );
        g.query_drop("INSERT INTO t VALUES (8, NULL), (9, 8)").await.unwrap();
        // 7 and 9 go with 6 and 8 first: natively 3 rows affected.
        assert_eq!(affected(&mut g, "DELETE FROM t").await, 3);
        assert!(rows(&mut g, "SELECT * FROM t").await.is_empty());
    });
}
