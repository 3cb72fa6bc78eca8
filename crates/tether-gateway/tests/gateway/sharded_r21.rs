//! Review r20cr of the r20 key-moving UPDATEs on managed sharded keyspaces (issue
//! 16). F1: a multi-table UPDATE assigning a partitioning column of a table no FK
//! names went to the head as written (Spider NULL-fills the moved rows' other
//! columns): refused. F2: a table without a primary key partitioned `BY KEY()`
//! (by its unique key; the catalog's expression is empty) was not recognised:
//! an UPDATE of the unique key is refused. F3: the row-by-row run answered rows
//! changed to a CLIENT_FOUND_ROWS client: now rows matched, as MariaDB. F4: `UPDATE
//! IGNORE` / `LOW_PRIORITY` of any column of a table without a primary key was
//! refused, and a column whose name is part of the partition expression's text
//! (`id` in `customer_id`, `h` in `HASH`) counted as partitioning: both run now.

use mysql_async::{Conn, OptsBuilder};
use tether_testkit::spider::{self, Partitioning, ShardedDb};

use crate::sharded_managed::code_of;
use crate::sharded_r20::{affected, table};
use crate::support::{rows, start_json, Gw};

/// `p` (id, name) referenced by `ch.pid` (CASCADE), `q` (id, name) and `r` (rid,
/// w) without FKs, `np` (a, b: no primary key, by HASH(a)), `x` (u unique, v: no
/// primary key, `KEY()`), `y` (customer_id, id, h: no primary key, by
/// HASH(customer_id)), all over the two nodes.
fn keyspace(setup: &str) -> (ShardedDb<'static>, Gw) {
    let db = spider::cluster().create_db();
    let hash = |c: &str| Partitioning::Hash(c.into());
    for (name, columns, by) in [
        ("p", "id INT NOT NULL PRIMARY KEY, name VARCHAR(20)", hash("id")),
        ("ch", "id INT NOT NULL PRIMARY KEY, pid INT, KEY (pid)", hash("id")),
        ("q", "id INT NOT NULL PRIMARY KEY, name VARCHAR(20)", hash("id")),
        ("r", "rid INT NOT NULL PRIMARY KEY, w INT", hash("rid")),
        ("np", "a INT, b INT", hash("a")),
        (
            "x",
            "u INT NOT NULL, v INT, UNIQUE KEY (u)",
            Partitioning::Key(Vec::new()),
        ),
        ("y", "customer_id INT, id INT, h INT", hash("customer_id")),
    ] {
        db.sharded_table(name, columns, columns, &by, &spider::NODES);
    }
    db.exec_head(setup);
    let gw = start_json(
        &format!(
            r#""ks": {{"sharded": true, "foreignKeyMode": "managed", "backend": {{"url": "{}"}},
                "foreignKeys": [
                  {{"name": "ch_p", "table": "ch", "columns": ["pid"], "referenced_table": "p",
                    "on_delete": "CASCADE", "on_update": "CASCADE"}}]}}"#,
            db.head_url()
        ),
        "",
    );
    (db, gw)
}

/// Asserts `sql` is refused with 1105 naming the keyspace and every `parts`.
async fn refused(g: &mut Conn, sql: &str, parts: &[&str]) {
    let (code, message) = code_of(g, sql).await;
    assert_eq!(code, 1105, "{sql}: {message}");
    assert!(
        message.contains("keyspace `ks` is sharded and managed"),
        "{sql}: {message}"
    );
    for p in parts {
        assert!(message.contains(p), "{sql}: {message} (wanted {p})");
    }
}

/// F1: multi-table UPDATEs (JOIN, an alias, an unqualified column, a table
/// without a primary key, a nested join) that assign a partitioning column are
/// refused naming the table, nothing written; one assigning other columns runs.
#[test]
fn multi_table_key_moves_are_refused() {
    let (_db, gw) = keyspace(
        "INSERT INTO q VALUES (1, 'x'), (2, 'y');
         INSERT INTO r VALUES (1, 10), (2, 20);
         INSERT INTO np VALUES (1, 10), (2, 20);
         INSERT INTO p VALUES (1, 'a'), (2, 'b')",
    );
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let q = "a multi-table UPDATE that assigns `q`.`id`, a column of its primary key";
        refused(
            &mut g,
            "UPDATE q JOIN r ON r.rid = q.id SET q.id = q.id + 1",
            &[q, "single-table UPDATE of `q`"],
        )
        .await;
        refused(
            &mut g,
            "UPDATE q AS z JOIN r ON r.rid = z.id SET z.name = 'n', z.id = z.id + 1",
            &[q],
        )
        .await;
        refused(
            &mut g,
            "UPDATE r JOIN q ON r.rid = q.id SET id = id + 10 WHERE w > 0",
            &[q],
        )
        .await;
        refused(
            &mut g,
            "UPDATE np JOIN r ON r.rid = np.a SET np.b = 0, np.a = np.a + 1",
            &["`np`.`a`, a column the head partitions it by (it has no primary key)"],
        )
        .await;
        // Of a table FKs name: refused too (was refused as a multi-table form).
        refused(
            &mut g,
            "UPDATE p JOIN r ON r.rid = p.id SET p.id = p.id + 1",
            &["`p`.`id`"],
        )
        .await;
        assert_eq!(
            rows(&mut g, "SELECT * FROM q ORDER BY id").await,
            table(&["1 x", "2 y"])
        );
        assert_eq!(
            rows(&mut g, "SELECT * FROM np ORDER BY a").await,
            table(&["1 10", "2 20"])
        );
        assert_eq!(
            rows(&mut g, "SELECT * FROM p ORDER BY id").await,
            table(&["1 a", "2 b"])
        );
        // Other columns: as written.
        assert_eq!(
            affected(
                &mut g,
                "UPDATE q JOIN r ON r.rid = q.id SET q.name = 'z', r.w = r.w + 1 WHERE r.rid = 2"
            )
            .await,
            2
        );
        assert_eq!(
            affected(&mut g, "UPDATE np JOIN r ON r.rid = np.a SET np.b = r.w").await,
            1
        );
        assert_eq!(
            rows(&mut g, "SELECT * FROM q ORDER BY id").await,
            table(&["1 x", "2 z"])
        );
        assert_eq!(
            rows(&mut g, "SELECT * FROM r ORDER BY rid").await,
            table(&["1 10", "2 21"])
        );
        assert_eq!(
            rows(&mut g, "SELECT * FROM np ORDER BY a").await,
            table(&["1 10", "2 21"])
        );
    });
}

/// F2: `PARTITION BY KEY()` of a table without a primary key partitions by its
/// unique key: an UPDATE of it is refused (single-table, IGNORE, multi-table);
/// the other column updates.
#[test]
fn key_partitioning_by_the_unique_key_is_seen() {
    let (_db, gw) = keyspace("INSERT INTO x VALUES (1, 10), (2, 20), (3, 30); INSERT INTO r VALUES (1, 0)");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        refused(
            &mut g,
            "UPDATE x SET u = u + 10 WHERE u > 0",
            &["UPDATE of `x`'s partitioning columns"],
        )
        .await;
        refused(&mut g, "UPDATE x SET u = u + 10", &["`x`"]).await;
        refused(
            &mut g,
            "UPDATE IGNORE x SET u = u + 10 WHERE u > 1",
            &["an UPDATE of `x` that may change"],
        )
        .await;
        refused(&mut g, "UPDATE x JOIN r ON r.rid = x.u SET x.u = 5", &["`x`.`u`"]).await;
        assert_eq!(affected(&mut g, "UPDATE x SET v = v + 1 WHERE u > 1").await, 2);
        assert_eq!(
            rows(&mut g, "SELECT * FROM x ORDER BY u").await,
            table(&["1 10", "2 21", "3 31"])
        );
    });
}

/// F3: a CLIENT_FOUND_ROWS client gets the rows matched of an UPDATE run row by
/// row (MariaDB's answer to it), the other client the rows changed.
#[test]
fn found_rows_clients_get_rows_matched() {
    let (_db, gw) = keyspace("INSERT INTO q VALUES (1, 'x'), (2, 'y'), (3, 'z')");
    gw.block_on(async {
        let found = OptsBuilder::from_opts(gw.opts("ks")).client_found_rows(true);
        let mut f = Conn::new(found).await.expect("connects to the gateway");
        let mut g = gw.connect("ks").await;
        let same = "UPDATE q SET id = id WHERE id > 0";
        assert_eq!(affected(&mut f, same).await, 3);
        assert_eq!(affected(&mut g, same).await, 0);
        let one = "UPDATE q SET id = CASE id WHEN 3 THEN 30 ELSE id END WHERE id IN (2, 3)";
        assert_eq!(affected(&mut f, one).await, 2);
        assert_eq!(f.info().to_string(), "Rows matched: 2  Changed: 1  Warnings: 0");
        let back = "UPDATE q SET id = CASE id WHEN 30 THEN 3 ELSE id END WHERE id IN (2, 30)";
        assert_eq!(affected(&mut g, back).await, 1);
        assert_eq!(
            rows(&mut g, "SELECT * FROM q ORDER BY id").await,
            table(&["1 x", "2 y", "3 z"])
        );
    });
}

/// F4: on tables without a primary key, IGNORE / LOW_PRIORITY UPDATEs of other
/// columns run, and only whole names of the partition expression count
/// (`customer_id` is no `id`, `HASH` no `h`); the partitioning column is refused.
#[test]
fn only_partitioning_columns_of_tables_without_a_key_are_refused() {
    let (_db, gw) = keyspace(
        "INSERT INTO np VALUES (1, 10), (2, 20);
         INSERT INTO y VALUES (1, 1, 1), (2, 2, 2)",
    );
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        assert_eq!(affected(&mut g, "UPDATE IGNORE np SET b = b + 1 WHERE a > 0").await, 2);
        assert_eq!(affected(&mut g, "UPDATE LOW_PRIORITY np SET b = b + 1").await, 2);
        assert_eq!(
            rows(&mut g, "SELECT * FROM np ORDER BY a").await,
            table(&["1 12", "2 22"])
        );
        refused(
            &mut g,
            "UPDATE IGNORE np SET a = a + 1 WHERE a > 0",
            &["an UPDATE of `np` that may change"],
        )
        .await;
        refused(&mut g, "UPDATE LOW_PRIORITY np SET b = 0, a = 7", &["`np`"]).await;
        assert_eq!(
            affected(&mut g, "UPDATE y SET id = id + 10 WHERE customer_id > 0").await,
            2
        );
        assert_eq!(affected(&mut g, "UPDATE y SET h = h + 100").await, 2);
        assert_eq!(affected(&mut g, "UPDATE IGNORE y SET id = id + 1, h = 0").await, 2);
        refused(
            &mut g,
            "UPDATE y SET customer_id = customer_id + 1",
            &["UPDATE of `y`'s partitioning columns"],
        )
        .await;
        assert_eq!(
            rows(&mut g, "SELECT * FROM y ORDER BY customer_id").await,
            table(&["1 12 0", "2 13 0"])
        );
        // The refusal reads as one sentence (no runs of spaces).
        let (_, message) = code_of(&mut g, "UPDATE IGNORE np SET a = 1").await;
        assert!(!message.contains("  "), "{message}");
    });
}
