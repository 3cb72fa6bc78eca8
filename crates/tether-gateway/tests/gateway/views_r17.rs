//! Seventeenth review (r17m): a managed keyspace refuses a write through a view
//! that reaches its FK tables through a view of another database, as it does one
//! through its own views over them: InnoDB would run the cascades, and the child
//! changes would not reach the binlog as statements of their own.

use tether_testkit::{TestDb, TestEngine};

use crate::managed::outcome;
use crate::support::{dump, rows, start_one};

fn refusal(view: &str) -> (u16, u64, String) {
    (
        1105,
        0,
        format!(
            "tether gateway: keyspace `ks` is managed: a write through the view `{view}` is refused (it reads \
             tables with foreign keys, whose cascades the gateway runs only for writes to the tables themselves); \
             write to its base table instead"
        ),
    )
}

/// Chains through another database, each way: a keyspace view over another
/// database's view over an FK table, that database's views themselves (written
/// from the managed session), a view of it over a keyspace view over an FK table,
/// and a keyspace view over such a keyspace view. Views over FK-free tables, by
/// the same routes, stay forwarded.
#[test]
fn writes_through_views_of_other_databases_over_fk_tables_are_refused() {
    let ks = TestDb::create(TestEngine::Mysql);
    let other = TestDb::create(TestEngine::Mysql);
    ks.exec(
        "CREATE TABLE p (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
         CREATE TABLE c (id INT PRIMARY KEY, pid INT,
           FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
         CREATE TABLE loner (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
         INSERT INTO p VALUES (1, 1), (2, 2), (3, 3), (4, 4);
         INSERT INTO c VALUES (10, 1), (20, 2), (30, 3), (40, 4);
         INSERT INTO loner VALUES (1, 1);
         CREATE VIEW pv AS SELECT * FROM p;",
    );
    let (k, o) = (&ks.name, &other.name);
    other.exec(&format!(
        "CREATE VIEW v1 AS SELECT * FROM `{k}`.p;
         CREATE VIEW v2 AS SELECT * FROM v1;
         CREATE VIEW v3 AS SELECT * FROM `{k}`.pv;
         CREATE VIEW lv AS SELECT * FROM `{k}`.loner;"
    ));
    ks.exec(&format!(
        "CREATE VIEW v_via_other AS SELECT * FROM `{o}`.v1;
         CREATE VIEW v_via_via AS SELECT * FROM v_via_other;
         CREATE VIEW lv_via AS SELECT * FROM `{o}`.lv;"
    ));
    let gw = start_one(&ks, "managed");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let tables = ["p", "c", "loner"];
        let before = dump(&mut g, &tables).await;
        let o = o.to_lowercase();
        for (sql, view) in [
            (
                "DELETE FROM v_via_other WHERE id = 1".to_string(),
                "v_via_other".to_string(),
            ),
            (
                "UPDATE v_via_other SET id = 22 WHERE id = 2".into(),
                "v_via_other".into(),
            ),
            ("DELETE FROM v_via_via WHERE id = 1".into(), "v_via_via".into()),
            (format!("DELETE FROM `{o}`.v1 WHERE id = 3"), format!("{o}.v1")),
            (format!("UPDATE {o}.V1 SET id = 33 WHERE id = 3"), format!("{o}.v1")),
            (format!("INSERT INTO `{o}`.`v1` VALUES (5, 5)"), format!("{o}.v1")),
            (format!("DELETE FROM {o}.v2 WHERE id = 4"), format!("{o}.v2")),
            (format!("REPLACE INTO {o}.v3 VALUES (1, 9)"), format!("{o}.v3")),
            (
                format!("DELETE {o}.v1 FROM {o}.v1 JOIN loner USING (id)"),
                format!("{o}.v1"),
            ),
            (
                format!("UPDATE IGNORE {o}.v1 SET id = 20 WHERE id = 2"),
                format!("{o}.v1"),
            ),
            (
                format!("DELETE LOW_PRIORITY FROM {o}.v1 WHERE id = 2"),
                format!("{o}.v1"),
            ),
            (
                "UPDATE IGNORE v_via_other SET id = 20 WHERE id = 2".into(),
                "v_via_other".into(),
            ),
        ] {
            assert_eq!(outcome(&mut g, &sql).await, refusal(&view), "{sql}");
        }
        assert_eq!(dump(&mut g, &tables).await, before);
        // Over FK-free tables, and reads: forwarded.
        assert_eq!(
            outcome(&mut g, "UPDATE lv_via SET v = 5 WHERE id = 1").await,
            (0, 1, String::new())
        );
        assert_eq!(
            outcome(&mut g, &format!("UPDATE {o}.lv SET v = 6 WHERE id = 1")).await,
            (0, 1, String::new())
        );
        assert_eq!(
            outcome(
                &mut g,
                &format!("INSERT INTO loner SELECT id + 10, v FROM {o}.v2 WHERE id < 3")
            )
            .await,
            (0, 2, String::new())
        );
        assert_eq!(
            rows(&mut g, "SELECT * FROM loner ORDER BY id").await,
            vec![vec!["1", "6"], vec!["11", "1"], vec!["12", "2"]]
        );
        assert_eq!(
            rows(&mut g, "SELECT * FROM v_via_via ORDER BY id").await,
            vec![vec!["1", "1"], vec!["2", "2"], vec!["3", "3"], vec!["4", "4"]]
        );
    });
}
