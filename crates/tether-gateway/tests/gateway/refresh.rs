//! A managed keyspace's schema is read again every `schemaRefreshSeconds`, so a
//! foreign key created on the backend behind the gateway's back (a migration tool,
//! another gateway) is enforced once it is seen. With the refresh off the same
//! delete goes through on the stale schema and leaves an orphan: the window the
//! setting bounds.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use tether_testkit::{TestDb, TestEngine};

use crate::support::{direct, rows, server_error, start_with};

const SCHEMA: &str = "
CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, p_id INT,
  CONSTRAINT c_p_fk FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE d (id INT PRIMARY KEY, p_id INT) ENGINE=InnoDB;
INSERT INTO p VALUES (1), (2);
INSERT INTO c VALUES (10, 1);
INSERT INTO d VALUES (20, 1);
";

const NEW_FK: &str = "ALTER TABLE d ADD CONSTRAINT d_p_fk FOREIGN KEY (p_id) REFERENCES p (id)";

/// Starts a managed gateway with `schemaRefreshSeconds: refresh` on a fresh
/// database, lets it read the schema, then adds `d_p_fk` directly on the backend.
fn gateway_then_new_fk(refresh: u64) -> (TestDb, crate::support::Gw) {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SCHEMA);
    let gw = start_with(
        &[("ks", "managed", &db.url)],
        &format!(r#""schemaRefreshSeconds": {refresh},"#),
    );
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let plan = explain(&mut g).await;
        assert!(plan.contains("c_p_fk") && !plan.contains("d_p_fk"), "{plan}");
        direct(&db)
            .await
            .query_drop(NEW_FK)
            .await
            .expect("add the FK on the backend");
    });
    (db, gw)
}

async fn explain(g: &mut mysql_async::Conn) -> String {
    let plan: Vec<String> = rows(g, "EXPLAIN FK DELETE FROM p WHERE id = 1")
        .await
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    plan.join("\n")
}

#[test]
fn a_foreign_key_created_behind_the_gateways_back_is_enforced_after_the_refresh() {
    let (db, gw) = gateway_then_new_fk(1);
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let start = Instant::now();
        while !explain(&mut g).await.contains("d_p_fk") {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the new FK is not seen after 10 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let e = server_error(
            g.query_drop("DELETE FROM p WHERE id = 1")
                .await
                .expect_err("restricted"),
        );
        assert_eq!(e.0, 1451, "{}", e.2);
        assert!(e.2.contains("CONSTRAINT `d_p_fk`"), "{}", e.2);
        let mut d = direct(&db).await;
        assert_eq!(
            rows(&mut d, "SELECT id FROM p ORDER BY id").await,
            vec![vec!["1"], vec!["2"]]
        );
        assert_eq!(rows(&mut d, "SELECT id FROM c").await, vec![vec!["10"]]);
    });
}

#[test]
fn without_the_refresh_a_stale_schema_lets_the_delete_through() {
    let (db, gw) = gateway_then_new_fk(0);
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(!explain(&mut g).await.contains("d_p_fk"));
        g.query_drop("DELETE FROM p WHERE id = 1")
            .await
            .expect("planned on the stale schema");
        let mut d = direct(&db).await;
        assert_eq!(
            rows(
                &mut d,
                "SELECT d.id FROM d LEFT JOIN p ON p.id = d.p_id WHERE p.id IS NULL"
            )
            .await,
            vec![vec!["20"]],
            "the orphan the refresh prevents"
        );
    });
}

/// A statement prepared before the refresh is planned by the schema in force when
/// it runs: a DELETE of a table that had no children, prepared as a plain
/// forward, cascades as the gateway's own statements once an ON DELETE CASCADE
/// child appears. A trigger on the child tells them apart: InnoDB's own cascades
/// fire none.
#[test]
fn a_statement_prepared_before_the_refresh_is_planned_after_it() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(
        "CREATE TABLE q (id INT PRIMARY KEY) ENGINE=InnoDB;
         CREATE TABLE r (id INT PRIMARY KEY, q_id INT) ENGINE=InnoDB;
         CREATE TABLE r_deleted (id INT) ENGINE=InnoDB;
         -- Named like the online migrator's capture triggers, the only triggers the
         -- gateway lets fire on its own statements (any other makes the write run as
         -- InnoDB runs it).
         CREATE TRIGGER _tether_r_deletes AFTER DELETE ON r FOR EACH ROW INSERT INTO r_deleted VALUES (OLD.id);
         INSERT INTO q VALUES (1), (2);
         INSERT INTO r VALUES (10, 1), (11, 1), (20, 2);",
    );
    let gw = start_with(&[("ks", "managed", &db.url)], r#""schemaRefreshSeconds": 1,"#);
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let delete = g.prep("DELETE FROM q WHERE id = ?").await.expect("prepare");
        direct(&db)
            .await
            .query_drop("ALTER TABLE r ADD CONSTRAINT r_q_fk FOREIGN KEY (q_id) REFERENCES q (id) ON DELETE CASCADE")
            .await
            .expect("add the FK on the backend");
        let start = Instant::now();
        loop {
            let plan: Vec<Vec<String>> = rows(&mut g, "EXPLAIN FK DELETE FROM q WHERE id = 1").await;
            if plan.iter().any(|r| r[0].contains("r_q_fk")) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the new FK is not seen after 10 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        g.exec_drop(&delete, (1,)).await.expect("delete");
        let mut d = direct(&db).await;
        assert_eq!(rows(&mut d, "SELECT id FROM r ORDER BY id").await, vec![vec!["20"]]);
        assert_eq!(
            rows(&mut d, "SELECT id FROM r_deleted ORDER BY id").await,
            vec![vec!["10"], vec!["11"]],
            "the cascade ran as the gateway's own DELETE"
        );
    });
}
