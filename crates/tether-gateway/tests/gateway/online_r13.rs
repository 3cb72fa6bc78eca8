//! Review r13b of online ALTER (findings 1-7 and 9), each as a specification: the
//! migrated table ends as the native ALTER leaves it (definition, rows, counter, FKs),
//! the statement forms the gateway cannot run online are refused rather than run
//! directly, and the gateway plans with the new FKs from the cut-over on.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use tether_gateway::online::{Migrator, Settings, State};
use tether_testkit::TestDb;

use crate::online::{assert_same, copying, finished, mysql, runtime, show_create, slow, until_status};
use crate::support::{self, direct};

/// Both databases built by `setup`; `alter` run natively on the second and as a
/// migration on the first (with `during` straight to the backend once the copy runs);
/// the tables `tables` must end the same.
fn online_matches_native(setup: &str, alter: &str, during: &[&str], tables: &[&str]) -> TestDb {
    let db = mysql();
    db.exec(setup);
    let native = mysql();
    native.exec(setup);
    for sql in during {
        native.exec(sql);
    }
    native.exec(alter);
    let done = runtime().block_on(async {
        let m = Migrator::new("ks", &db.url, true, slow()).expect("migrator");
        let id = m.submit(alter).await.expect("accepted");
        if !during.is_empty() {
            copying(&m, &id).await;
            let mut conn = direct(&db).await;
            for sql in during {
                conn.query_drop(*sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
        finished(&m, &id).await
    });
    assert_eq!(done.state, State::Complete, "{}", done.message);
    assert_same(&db, &native, tables);
    db
}

const PARENT: &str = "CREATE TABLE p (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, k VARCHAR(10) NULL);
    CREATE TABLE c (id INT PRIMARY KEY, p_id INT NULL, CONSTRAINT c_p FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE CASCADE);
    INSERT INTO p VALUES (1, 'a', 'x'), (2, 'b', 'y'), (3, 'c', NULL), (4, 'Dd', NULL);
    INSERT INTO c VALUES (1, 1), (2, 2);";

/// Findings 1 and 2: the shadow gets the user's text, not sqlparser's reprint:
/// backslashes in DEFAULT, COMMENT and ENUM values stay, `BINARY x = 'A'` compares
/// binary (in a generated column and in a CHECK that a row must pass).
#[test]
fn backslashes_and_binary_keep_their_meaning_online() {
    let alter = r"ALTER TABLE p ADD COLUMN path VARCHAR(20) NOT NULL DEFAULT 'C:\\tmp\\back',
        ADD COLUMN z INT COMMENT 'it''s a \\ comment', ADD COLUMN g ENUM('x\\y','b') DEFAULT 'b',
        ADD COLUMN bg INT AS (BINARY name = 'A') VIRTUAL, ADD CONSTRAINT ck CHECK (BINARY k <> 'Y')";
    let db = online_matches_native(PARENT, alter, &[], &["p", "c"]);
    assert!(
        show_create(&db, "p").contains(r"DEFAULT 'C:\\tmp\\back'"),
        "{}",
        show_create(&db, "p")
    );
    assert_eq!(
        db.query("SELECT id, HEX(path), bg FROM p ORDER BY id")[0],
        vec![
            Some("1".into()),
            Some("433A5C746D705C6261636B".into()),
            Some("0".into())
        ]
    );
}

/// Finding 3: a NOT NULL column without DEFAULT takes its type's implicit default in
/// the copied rows and in rows written during the copy, as natively (no 1364).
#[test]
fn not_null_columns_without_default_take_the_implicit_default() {
    let mut setup = String::from(PARENT);
    for i in 10..400 {
        setup.push_str(&format!("INSERT INTO p VALUES ({i}, 'n{i}', NULL);"));
    }
    let alter = "ALTER TABLE p ADD COLUMN n2 INT NOT NULL, ADD COLUMN d DATE NOT NULL, \
                 ADD COLUMN s VARCHAR(5) NOT NULL, ADD COLUMN b BLOB NOT NULL";
    let during = [
        "INSERT INTO p (id, name) VALUES (1000, 'late')",
        "UPDATE p SET name = 'upd' WHERE id = 2",
    ];
    let db = online_matches_native(&setup, alter, &during, &["p", "c"]);
    assert_eq!(
        db.query("SELECT n2, d, s, HEX(b) FROM p WHERE id = 1000"),
        vec![vec![
            Some("0".into()),
            Some("0000-00-00".into()),
            Some(String::new()),
            Some(String::new())
        ]]
    );
}

/// Finding 9: reducing a DECIMAL's scale rounds (MariaDB's Note 1265), as natively.
#[test]
fn a_decimal_scale_reduction_rounds_as_natively() {
    let setup = "CREATE TABLE p (id INT PRIMARY KEY, price DECIMAL(10,2) NULL);
        CREATE TABLE c (id INT PRIMARY KEY, p_id INT NULL, CONSTRAINT c_p FOREIGN KEY (p_id) REFERENCES p (id));
        INSERT INTO p VALUES (1, 1.25), (2, 2.35), (3, NULL);";
    let db = online_matches_native(setup, "ALTER TABLE p MODIFY price DECIMAL(10,1) NULL", &[], &["p", "c"]);
    assert_eq!(
        db.query("SELECT price FROM p ORDER BY id"),
        vec![vec![Some("1.3".into())], vec![Some("2.4".into())], vec![None]]
    );
}

/// Finding 6: a column the ALTER makes AUTO_INCREMENT counts on as natively (not
/// from the copy's reserved batch). Since review r14e (finding 2) such an ALTER is
/// refused online on a table with rows (`online_r14.rs`): here on an empty one.
#[test]
fn an_added_auto_increment_column_counts_on_as_natively() {
    let db = online_matches_native(
        "CREATE TABLE e (id INT PRIMARY KEY);",
        "ALTER TABLE e ADD COLUMN u INT UNSIGNED NOT NULL AUTO_INCREMENT UNIQUE",
        &[],
        &["e"],
    );
    db.exec("INSERT INTO e (id) VALUES (7)");
    assert_eq!(db.query("SELECT u FROM e"), vec![vec![Some("1".to_string())]]);
}

/// Finding 7: an FK to a table of another database stays on that database, for an
/// FK the table had, one the ALTER adds, and when the keyspace's table of the same
/// name is the one migrated (its children are the keyspace's only).
#[test]
fn an_fk_to_another_database_keeps_its_database() {
    let other = mysql();
    other.exec("CREATE TABLE p (id INT PRIMARY KEY); INSERT INTO p VALUES (100), (200), (300);");
    let db = mysql();
    db.exec(&format!(
        "CREATE TABLE p (id INT PRIMARY KEY); INSERT INTO p VALUES (1), (2), (100), (200);
         CREATE TABLE c (id INT PRIMARY KEY, p_id INT, q_id INT,
           CONSTRAINT c_x FOREIGN KEY (p_id) REFERENCES `{o}`.p (id) ON DELETE CASCADE);
         INSERT INTO c VALUES (1, 100, 300), (2, 200, NULL);",
        o = other.name
    ));
    let fks = |db: &TestDb| {
        db.query(&format!(
            "SELECT CONSTRAINT_NAME, UNIQUE_CONSTRAINT_SCHEMA, REFERENCED_TABLE_NAME FROM \
             information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = '{}' ORDER BY 1",
            db.name
        ))
    };
    runtime().block_on(async {
        let m = Migrator::new("ks", &db.url, true, Settings::default()).expect("migrator");
        for alter in [
            "ALTER TABLE c ADD COLUMN z INT".to_string(),
            format!(
                "ALTER TABLE c ADD CONSTRAINT c_y FOREIGN KEY (q_id) REFERENCES `{}`.p (id)",
                other.name
            ),
            "ALTER TABLE p ADD COLUMN w INT".to_string(),
        ] {
            let id = m.submit(&alter).await.expect("accepted");
            let done = finished(&m, &id).await;
            assert_eq!(done.state, State::Complete, "{alter}: {}", done.message);
        }
    });
    let o = Some(other.name.clone());
    assert_eq!(
        fks(&db),
        vec![
            vec![Some("c_x".into()), o.clone(), Some("p".into())],
            vec![Some("c_y".into()), o, Some("p".into())]
        ]
    );
    // The keyspace's own `p` has no children: deleting its row 100 cascades nowhere;
    // deleting the other database's row 100 cascades into `c`.
    db.exec("DELETE FROM p WHERE id = 100");
    assert_eq!(db.query("SELECT id FROM c ORDER BY id").len(), 2);
    other.exec("DELETE FROM p WHERE id = 100");
    assert_eq!(db.query("SELECT id FROM c ORDER BY id"), vec![vec![Some("2".into())]]);
}

/// Finding 4: under `ddl_strategy = 'online'`, `ALTER ONLINE TABLE` is a migration and
/// `ALTER IGNORE TABLE` is refused: neither runs as a direct (blocking) ALTER.
#[test]
fn alter_online_is_a_migration_and_alter_ignore_is_refused() {
    let db = mysql();
    db.exec(PARENT);
    let gw = support::start(&[("ks", "managed", &db.url)]);
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        c.query_drop("SET @@ddl_strategy = 'online'").await.expect("strategy");
        let ids = support::rows(&mut c, "ALTER ONLINE TABLE p ADD COLUMN z INT DEFAULT 1").await;
        assert_eq!(ids.len(), 1, "one row: the migration id");
        until_status(&mut c, &ids[0][0], "complete").await;
        let e = c
            .query_drop("ALTER IGNORE TABLE p ADD UNIQUE KEY un (name)")
            .await
            .expect_err("refused");
        let (code, _, message) = support::server_error(e);
        assert_eq!(code, 1105, "{message}");
        assert!(
            message.contains("ALTER IGNORE TABLE is not supported online"),
            "{message}"
        );
        assert_eq!(support::rows(&mut c, "SHOW VITESS_MIGRATIONS").await.len(), 1);
    });
    assert!(show_create(&db, "p").contains("`z` int(11) DEFAULT 1"));
    assert!(!show_create(&db, "p").contains("`un`"));
}

/// Finding 5: from the moment an online ALTER's cut-over added an FK, the gateway's
/// deletes of parents cascade into it (the schema is read again before the held
/// statements go on): no orphans.
#[test]
fn deletes_right_after_a_cut_over_cascade_into_the_new_fk() {
    let db = mysql();
    let mut setup = String::from(
        "CREATE TABLE p (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL);
         CREATE TABLE c (id INT PRIMARY KEY, p_id INT NULL, CONSTRAINT c_p FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE CASCADE);
         CREATE TABLE c2 (id INT PRIMARY KEY, p_id INT NULL, KEY (p_id));",
    );
    setup.push_str("INSERT INTO p SELECT seq, 'n' FROM seq_1_to_3000;");
    setup.push_str("INSERT INTO c SELECT seq, seq FROM seq_1_to_3000;");
    setup.push_str("INSERT INTO c2 SELECT seq, seq FROM seq_1_to_3000;");
    db.exec(&setup);
    let gw = support::start(&[("ks", "managed", &db.url)]);
    gw.block_on(async {
        let mut a = gw.connect("ks").await;
        let mut b = gw.connect("ks").await;
        // The keyspace's schema is known before the ALTER.
        b.query_drop("DELETE FROM p WHERE id = 0").await.expect("delete");
        a.query_drop("SET @@ddl_strategy = 'online'").await.expect("strategy");
        a.query_drop("ALTER TABLE c2 ADD CONSTRAINT c2_p FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE CASCADE")
            .await
            .expect("submitted");
        let mut watch = direct(&db).await;
        let start = Instant::now();
        loop {
            let n: Option<u64> = watch
                .query_first(
                    "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS \
                     WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'c2' AND CONSTRAINT_NAME = 'c2_p'",
                )
                .await
                .expect("watch");
            if n == Some(1) {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "no cut-over");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        for i in 1..=150 {
            b.query_drop(format!("DELETE FROM p WHERE id = {i}"))
                .await
                .expect("delete");
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
    });
    assert_eq!(
        db.query("SELECT COUNT(*) FROM c2 WHERE p_id NOT IN (SELECT id FROM p)"),
        vec![vec![Some("0".into())]]
    );
    assert_eq!(db.query("SELECT COUNT(*) FROM c2"), vec![vec![Some("2850".into())]]);
}

/// Finding 8: a DELETE of a parent sent while a direct `ALTER ... ADD FOREIGN KEY`
/// runs through the gateway waits for it and is planned on the new schema: it
/// cascades into the new FK (no orphans), as natively. Inside a transaction it is
/// refused with 1205 instead (retryable, nothing run).
#[test]
fn a_delete_during_a_direct_fk_alter_is_planned_after_it() {
    let db = mysql();
    db.exec(
        "CREATE TABLE p (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL);
         CREATE TABLE c (id INT PRIMARY KEY, p_id INT NULL, CONSTRAINT c_p FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE CASCADE);
         CREATE TABLE c2 (id INT PRIMARY KEY, p_id INT NULL, pad CHAR(100) NOT NULL DEFAULT '', KEY (p_id));
         INSERT INTO p SELECT seq, 'n' FROM seq_1_to_1000;
         INSERT INTO c SELECT seq, seq FROM seq_1_to_1000;
         INSERT INTO c2 (id, p_id) SELECT seq, 1 + seq MOD 1000 FROM seq_1_to_300000;",
    );
    let gw = support::start(&[("ks", "managed", &db.url)]);
    gw.block_on(async {
        let mut a = gw.connect("ks").await;
        let mut b = gw.connect("ks").await;
        let mut t = gw.connect("ks").await;
        b.query_drop("DELETE FROM p WHERE id = 0").await.expect("schema known");
        let alter = tokio::spawn(async move {
            a.query_drop("ALTER TABLE c2 ADD CONSTRAINT c2_p FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE CASCADE")
                .await
        });
        let mut watch = direct(&db).await;
        let start = Instant::now();
        loop {
            let n: Option<u64> = watch
                .query_first(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'ALTER TABLE c2 ADD CONSTRAINT%'",
                )
                .await
                .expect("watch");
            if n == Some(1) {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "the ALTER did not show");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        t.query_drop("START TRANSACTION").await.expect("begin");
        let e = t.query_drop("DELETE FROM p WHERE id = 6").await.expect_err("refused");
        let (code, _, message) = support::server_error(e);
        assert_eq!(code, 1205, "{message}");
        t.query_drop("ROLLBACK").await.expect("rollback");
        b.query_drop("DELETE FROM p WHERE id = 5").await.expect("delete");
        alter.await.expect("task").expect("alter");
    });
    assert_eq!(
        db.query("SELECT COUNT(*) FROM c2 WHERE p_id NOT IN (SELECT id FROM p)"),
        vec![vec![Some("0".into())]]
    );
    assert_eq!(db.query("SELECT COUNT(*) FROM c2"), vec![vec![Some("299700".into())]]);
    assert_eq!(db.query("SELECT COUNT(*) FROM p"), vec![vec![Some("999".into())]]);
}
