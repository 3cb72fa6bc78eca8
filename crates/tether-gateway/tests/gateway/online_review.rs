//! The review of online schema changes (issue 15, findings 1-12), each finding as a
//! specification: DDL straight to the backend during the copy ends as the same DDL
//! followed by the native ALTER (children changed, added or dropped), or fails the
//! migration with nothing swapped (the migrated table's own definition or triggers
//! changed); two submissions of one table never both run; an owner whose connection
//! is killed in its cut-over stops and the next owner completes it once.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use tether_gateway::online::{Migration, Migrator, Settings, State};
use tether_testkit::TestDb;

use crate::online::{
    assert_same, copying, finished, loaded, mysql, runtime, short, show_create, slow, slower, triggers, underscored,
    TABLES,
};
use crate::support::direct;

/// FKs of `table` in `db`: name, referenced table, delete and update rules.
fn fks_of(db: &TestDb, table: &str) -> Vec<Vec<Option<String>>> {
    db.query(&format!(
        "SELECT CONSTRAINT_NAME, REFERENCED_TABLE_NAME, DELETE_RULE, UPDATE_RULE FROM information_schema.REFERENTIAL_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA = '{}' AND TABLE_NAME = '{table}' ORDER BY 1",
        db.name
    ))
}

/// Submits `alter` on a loaded database (1,500 customers), runs `ddl` straight to the
/// backend once the copy runs, and waits for the migration's end.
fn with_ddl_during_copy(db: &TestDb, alter: &str, ddl: &[&str]) -> Migration {
    runtime().block_on(async {
        let m = Migrator::new("ks", &db.url, true, slower()).expect("migrator");
        let id = m.submit(alter).await.expect("accepted");
        copying(&m, &id).await;
        let mut conn = direct(db).await;
        for sql in ddl {
            conn.query_drop(*sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        finished(&m, &id).await
    })
}

/// The same database with `ddl` then (when given) `alter` run natively.
fn native_after(ddl: &[&str], alter: Option<&str>) -> TestDb {
    let native = loaded(1500);
    for sql in ddl {
        native.exec(sql);
    }
    if let Some(alter) = alter {
        native.exec(alter);
    }
    native
}

const ADD_VIP: &str = "ALTER TABLE customer ADD COLUMN vip INT";

/// Finding 4 (r1): a child's FK changed during the copy keeps its change (it was put
/// back as the plan read it at submit).
#[test]
fn a_child_fk_changed_during_the_copy_keeps_its_change() {
    let ddl = [
        "ALTER TABLE orders DROP FOREIGN KEY orders_customer",
        "ALTER TABLE orders ADD CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customer (id) \
         ON DELETE RESTRICT ON UPDATE RESTRICT",
    ];
    let db = loaded(1500);
    let done = with_ddl_during_copy(&db, ADD_VIP, &ddl);
    assert_eq!(done.state, State::Complete, "{}", done.message);
    assert_eq!(
        fks_of(&db, "orders"),
        vec![vec![
            Some("orders_customer".into()),
            Some("customer".into()),
            Some("RESTRICT".into()),
            Some("RESTRICT".into())
        ]]
    );
    assert_same(&db, &native_after(&ddl, Some(ADD_VIP)), &TABLES);
}

/// Finding 2 (r2): a child created during the copy is re-pointed at the new table.
#[test]
fn a_child_created_during_the_copy_is_re_pointed() {
    let ddl = [
        "CREATE TABLE invoice (id INT PRIMARY KEY, customer_id INT NOT NULL, \
         CONSTRAINT invoice_customer FOREIGN KEY (customer_id) REFERENCES customer (id))",
        "INSERT INTO invoice VALUES (1, 5)",
        "ALTER TABLE payment ADD CONSTRAINT payment_again FOREIGN KEY (customer_id) REFERENCES customer (id)",
    ];
    let db = loaded(1500);
    let done = with_ddl_during_copy(&db, ADD_VIP, &ddl);
    assert_eq!(done.state, State::Complete, "{}", done.message);
    assert_eq!(
        fks_of(&db, "invoice"),
        vec![vec![
            Some("invoice_customer".into()),
            Some("customer".into()),
            Some("RESTRICT".into()),
            Some("RESTRICT".into())
        ]]
    );
    let native = native_after(&ddl, Some(ADD_VIP));
    assert_same(&db, &native, &TABLES);
    assert_same(&db, &native, &["invoice"]);
}

/// Finding 5 (r3): a child's FK dropped during the copy (and a row it would have
/// refused) stays dropped: nothing re-creates it over the orphan.
#[test]
fn a_child_fk_dropped_during_the_copy_stays_dropped() {
    let ddl = [
        "ALTER TABLE payment DROP FOREIGN KEY payment_ibfk_1",
        "INSERT INTO payment VALUES (99999, 424242, 1)",
    ];
    let db = loaded(1500);
    let done = with_ddl_during_copy(&db, ADD_VIP, &ddl);
    assert_eq!(done.state, State::Complete, "{}", done.message);
    assert_eq!(fks_of(&db, "payment"), Vec::<Vec<Option<String>>>::new());
    assert_same(&db, &native_after(&ddl, Some(ADD_VIP)), &TABLES);
}

/// The migration failed naming the changed definition; `db` is as `ddl` alone left it
/// natively, with no shadow and no trigger left.
fn failed_as_changed(db: &TestDb, done: &Migration, ddl: &[&str]) {
    assert_eq!(done.state, State::Failed, "{}", done.message);
    assert!(
        done.message.starts_with(
            "online ALTER of `customer` refused: the definition of `customer` changed during the migration"
        ),
        "{}",
        done.message
    );
    assert_same(db, &native_after(ddl, None), &TABLES);
    assert_eq!(underscored(db), vec!["_tether_migrations".to_string()]);
    assert_eq!(triggers(db), Vec::<String>::new());
}

/// Finding 6 (r15): a direct ALTER of the migrated table during the copy fails the
/// migration before the swap; the table keeps the direct ALTER and its values.
#[test]
fn a_direct_alter_of_the_migrated_table_during_the_copy_fails_the_migration() {
    let ddl = [
        "ALTER TABLE customer ADD COLUMN loyalty INT NOT NULL DEFAULT 5",
        "UPDATE customer SET loyalty = 9 WHERE id = 3",
    ];
    let db = loaded(1500);
    let done = with_ddl_during_copy(&db, ADD_VIP, &ddl);
    failed_as_changed(&db, &done, &ddl);
}

/// Finding 8 (r19): a direct DROP COLUMN once the copy is done, while the cut-over
/// waits for a transaction on a child, fails the migration: the RENAME would have
/// brought the column back.
#[test]
fn a_direct_drop_column_while_the_cut_over_waits_fails_the_migration() {
    let ddl = ["ALTER TABLE customer DROP COLUMN name"];
    let db = loaded(1500);
    let done = runtime().block_on(async {
        let m = Migrator::new("ks", &db.url, true, slow()).expect("migrator");
        let mut txn = direct(&db).await;
        txn.query_drop("BEGIN").await.expect("begin");
        txn.query_drop("SELECT COUNT(*) FROM orders WHERE id = 2")
            .await
            .expect("read");
        let id = m.submit(ADD_VIP).await.expect("accepted");
        for _ in 0..6000 {
            if m.get(&id).await.expect("record").state == State::Ready {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(m.get(&id).await.expect("record").state, State::Ready);
        let mut conn = direct(&db).await;
        conn.query_drop(ddl[0]).await.expect("direct DDL");
        txn.query_drop("COMMIT").await.expect("commit");
        finished(&m, &id).await
    });
    failed_as_changed(&db, &done, &ddl);
}

/// Finding 7 (r18): a trigger created on the table during the copy fails the migration
/// (the new table would not have it); the trigger stays on the table.
#[test]
fn a_trigger_created_during_the_copy_fails_the_migration() {
    let ddl = [
        "CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT)",
        "CREATE TRIGGER customer_audit AFTER UPDATE ON customer FOR EACH ROW \
         INSERT INTO audit (customer_id) VALUES (NEW.id)",
    ];
    let db = loaded(1500);
    let done = with_ddl_during_copy(&db, ADD_VIP, &ddl);
    assert_eq!(done.state, State::Failed, "{}", done.message);
    assert_eq!(
        done.message,
        "online ALTER of `customer` refused: triggers were created during the migration (`customer_audit` on \
         `customer`), which the new table would not keep; nothing was swapped"
    );
    assert_eq!(triggers(&db), vec!["customer_audit".to_string()]);
    assert_same(&db, &native_after(&ddl, None), &TABLES);
    assert_eq!(underscored(&db), vec!["_tether_migrations".to_string()]);
}

/// Finding 3 (r12): a child in another database cannot be re-pointed: the migration
/// fails naming it, nothing swapped, its FK still on the table.
#[test]
fn a_child_in_another_database_fails_the_migration_before_the_swap() {
    let db = loaded(300);
    let other = mysql();
    other.exec(&format!(
        "CREATE TABLE ledger (id INT PRIMARY KEY, customer_id INT NOT NULL, \
         CONSTRAINT ledger_customer FOREIGN KEY (customer_id) REFERENCES `{}`.customer (id));
         INSERT INTO ledger VALUES (1, 7);",
        db.name
    ));
    let before = show_create(&db, "customer");
    let done = runtime().block_on(async {
        let m = Migrator::new("ks", &db.url, true, slow()).expect("migrator");
        let id = m.submit(ADD_VIP).await.expect("accepted");
        finished(&m, &id).await
    });
    assert_eq!(done.state, State::Failed, "{}", done.message);
    assert_eq!(
        done.message,
        format!(
            "online ALTER of `customer` refused: tables of other databases reference it (`{}`.`ledger` \
             (ledger_customer)): their FKs cannot be re-pointed at the new table; nothing was swapped",
            other.name
        )
    );
    assert_eq!(show_create(&db, "customer"), before);
    assert_eq!(
        other.query(&format!(
            "SELECT UNIQUE_CONSTRAINT_SCHEMA, REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = '{}'",
            other.name
        )),
        vec![vec![Some(db.name.clone()), Some("customer".into())]]
    );
    assert_eq!(underscored(&db), vec!["_tether_migrations".to_string()]);
}

/// Finding 10 (r4, r8): two ALTERs of one table submitted at once, from two gateways:
/// one is accepted, the other refused; shadows carry the migration's id.
#[test]
fn two_submits_of_one_table_at_once_accept_one() {
    for round in 0..4 {
        let db = loaded(300);
        let (a, b, done) = runtime().block_on(async {
            let m1 = Migrator::new("ks", &db.url, true, slow()).expect("migrator");
            let m2 = Migrator::new("ks", &db.url, true, slow()).expect("migrator");
            let (a, b) = tokio::join!(
                m1.submit("ALTER TABLE customer ADD COLUMN a1 INT"),
                m2.submit("ALTER TABLE customer ADD COLUMN b1 INT NOT NULL DEFAULT 7")
            );
            let done = match (&a, &b) {
                (Ok(id), Err(_)) => Some(finished(&m1, id).await),
                (Err(_), Ok(id)) => Some(finished(&m2, id).await),
                _ => None,
            };
            (a, b, done)
        });
        let refused = match (&a, &b) {
            (Ok(_), Err(e)) | (Err(e), Ok(_)) => e.to_string(),
            _ => panic!("round {round}: {a:?} {b:?}"),
        };
        assert!(refused.contains("on the same tables"), "round {round}: {refused}");
        let done = done.expect("one accepted");
        assert_eq!(done.state, State::Complete, "round {round}: {}", done.message);
        assert_eq!(
            underscored(&db),
            vec![
                format!("_customer_old_{}", short(&done.id)),
                "_tether_migrations".to_string()
            ]
        );
        assert_eq!(triggers(&db), Vec::<String>::new());
    }
}

/// Finding 1 (r14): the capture triggers keep a strict sql_mode whatever the
/// server's default (a non-strict trigger writes a truncated key into the shadow).
#[test]
fn capture_triggers_are_created_under_a_strict_sql_mode() {
    let db = loaded(1500);
    let modes = runtime().block_on(async {
        let m = Migrator::new("ks", &db.url, true, slower()).expect("migrator");
        let id = m.submit(ADD_VIP).await.expect("accepted");
        copying(&m, &id).await;
        let mut conn = direct(&db).await;
        let modes: Vec<(String, u8)> = conn
            .query(format!(
                "SELECT TRIGGER_NAME, FIND_IN_SET('STRICT_ALL_TABLES', SQL_MODE) > 0 FROM information_schema.TRIGGERS \
                 WHERE TRIGGER_SCHEMA = '{}' ORDER BY 1",
                db.name
            ))
            .await
            .expect("trigger modes");
        m.cancel(&id).await.expect("cancelled");
        finished(&m, &id).await;
        modes
    });
    assert_eq!(modes.len(), 3, "{modes:?}");
    assert!(modes.iter().all(|(_, strict)| *strict == 1), "{modes:?}");
}

/// Finding 11 (r21): a swap back gives the migrated table's own generated key its name
/// back (re-adding its unnamed FK renamed it `customer_ibfk_1`).
#[test]
fn a_swap_back_keeps_the_migrated_tables_generated_key_names() {
    let schema = "CREATE TABLE region (id INT PRIMARY KEY);
        CREATE TABLE customer (id INT PRIMARY KEY, region_id INT, FOREIGN KEY (region_id) REFERENCES region (id));
        CREATE TABLE payment (id INT PRIMARY KEY, customer_id INT, FOREIGN KEY (customer_id) REFERENCES customer (id));
        INSERT INTO region VALUES (1); INSERT INTO customer VALUES (1, 1), (2, 1); INSERT INTO payment VALUES (1, 2);";
    let db = mysql();
    db.exec(schema);
    let untouched = mysql();
    untouched.exec(schema);
    let settings = Settings {
        cutover_lock_timeout: Duration::from_secs(1),
        cutover_attempts: 2,
        cutover_retry_pause: Duration::from_millis(100),
        probe_children: false,
        ..Settings::default()
    };
    let failed = runtime().block_on(async {
        let m = Migrator::new("ks", &db.url, true, settings).expect("migrator");
        let mut holder = direct(&db).await;
        holder.query_drop("BEGIN").await.expect("begin");
        holder.query_drop("SELECT COUNT(*) FROM payment").await.expect("read");
        let id = m
            .submit("ALTER TABLE customer ADD COLUMN w INT")
            .await
            .expect("accepted");
        let failed = finished(&m, &id).await;
        holder.query_drop("COMMIT").await.expect("commit");
        failed
    });
    assert_eq!(failed.state, State::Failed, "{}", failed.message);
    assert!(failed.message.contains("swapped back"), "{}", failed.message);
    for t in ["region", "customer", "payment"] {
        assert_eq!(show_create(&db, t), show_create(&untouched, t), "{t}");
    }
}

/// Finding 12 (r6): names are measured in characters, as MariaDB does: a 50-character
/// non-ASCII table name (100 bytes) is migrated.
#[test]
fn a_long_non_ascii_table_name_is_measured_in_characters() {
    let name = "é".repeat(50);
    let setup =
        format!("CREATE TABLE `{name}` (id INT PRIMARY KEY, v INT); INSERT INTO `{name}` VALUES (1, 1), (2, 2);");
    let db = mysql();
    db.exec(&setup);
    let native = mysql();
    native.exec(&setup);
    let alter = format!("ALTER TABLE `{name}` ADD COLUMN w INT");
    let done = runtime().block_on(async {
        let m = Migrator::new("ks", &db.url, true, slow()).expect("migrator");
        let id = m.submit(&alter).await.expect("accepted");
        finished(&m, &id).await
    });
    assert_eq!(done.state, State::Complete, "{}", done.message);
    native.exec(&alter);
    assert_same(&db, &native, &[name.as_str()]);
}

/// Finding 9 (r10): the owner's connection is killed while its cut-over waits (a
/// transaction keeps a child open) and a second gateway waits for the migration: the
/// owner never goes on without its lock; the migration completes once, with nothing
/// left behind (no capture trigger, one old table, every FK on the new table).
#[test]
fn an_owner_killed_in_its_cut_over_stops_and_the_migration_completes_once() {
    let db = loaded(1500);
    let (done, later) = runtime().block_on(async {
        let m1 = Migrator::new("ks", &db.url, true, slow()).expect("migrator");
        let id = m1.submit(ADD_VIP).await.expect("accepted");
        copying(&m1, &id).await;
        let m2 = Migrator::new("ks", &db.url, true, slow()).expect("migrator");
        assert_eq!(m2.resume_all().await.expect("resume"), vec![id.clone()]);
        let mut txn = direct(&db).await;
        txn.query_drop("BEGIN").await.expect("begin");
        txn.query_drop("SELECT COUNT(*) FROM orders WHERE id = 2")
            .await
            .expect("read");
        for _ in 0..3000 {
            if m1.get(&id).await.expect("record").state == State::Ready {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut admin = direct(&db).await;
        let owner: Option<u64> = admin
            .query_first(format!("SELECT IS_USED_LOCK('tether_online_{id}')"))
            .await
            .expect("owner");
        admin
            .query_drop(format!("KILL CONNECTION {}", owner.expect("an owner")))
            .await
            .expect("kill");
        tokio::time::sleep(Duration::from_millis(300)).await;
        txn.query_drop("COMMIT").await.expect("commit");
        let done = finished(&m1, &id).await;
        // Nothing flips it afterwards (a second cut-over, a late failure).
        tokio::time::sleep(Duration::from_secs(3)).await;
        let later = m1.get(&id).await.expect("record");
        (done, later)
    });
    assert_eq!(done.state, State::Complete, "{}", done.message);
    assert_eq!(later.state, State::Complete, "{}", later.message);
    assert_eq!(later.message, done.message);
    assert_eq!(
        underscored(&db),
        vec![
            format!("_customer_old_{}", short(&done.id)),
            "_tether_migrations".to_string()
        ]
    );
    assert_eq!(triggers(&db), Vec::<String>::new());
    assert_eq!(crate::online::orphans(&db), crate::online::no_orphans());
    assert_same(&db, &native_after(&[], Some(ADD_VIP)), &TABLES);
}

/// Finding 12 (r22): a BIT primary key is copied (its values compared as bits, not as
/// text), as natively.
#[test]
fn a_bit_primary_key_is_copied_as_natively() {
    let rows: Vec<String> = (0..256).map(|i| format!("({i}, {i})")).collect();
    let setup = format!(
        "CREATE TABLE b (id BIT(8) NOT NULL PRIMARY KEY, v INT); INSERT INTO b VALUES {};",
        rows.join(", ")
    );
    let db = mysql();
    db.exec(&setup);
    let native = mysql();
    native.exec(&setup);
    let alter = "ALTER TABLE b ADD COLUMN w INT";
    let done = runtime().block_on(async {
        let m = Migrator::new("ks", &db.url, true, slow()).expect("migrator");
        let id = m.submit(alter).await.expect("accepted");
        finished(&m, &id).await
    });
    assert_eq!(done.state, State::Complete, "{}", done.message);
    native.exec(alter);
    assert_eq!(show_create(&db, "b"), show_create(&native, "b"));
    let all = "SELECT id + 0, v, w FROM b ORDER BY id";
    assert_eq!(db.query(all), native.query(all));
}

/// Finding 1 (r14): on a backend whose global sql_mode is not strict (a private
/// MariaDB), a narrowed primary key with a too-long key written and deleted during the
/// copy: natively the row written and deleted leaves nothing, and the ALTER truncates
/// the other key; online, the strict capture trigger refuses the write that cannot fit
/// the new definition (1406, the documented narrowing limit) instead of writing a
/// truncated key into the shadow, and the tables end equal.
#[test]
fn a_non_strict_backend_gets_strict_capture_triggers() {
    let server = crate::support::binlog_server().unwrap_or_else(|why| panic!("the private MariaDB: {why}"));
    let base = format!("mysql://root@127.0.0.1:{}/", server.port);
    let exec =
        |db: &str, sql: &str| tether_testkit::exec_url(tether_testkit::TestEngine::Mysql, &format!("{base}{db}"), sql);
    let query =
        |db: &str, sql: &str| tether_testkit::query_url(tether_testkit::TestEngine::Mysql, &format!("{base}{db}"), sql);
    let ready = runtime().block_on(async {
        for _ in 0..150 {
            if let Ok(c) = mysql_async::Conn::from_url(base.as_str()).await {
                let _ = c.disconnect().await;
                return true;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        false
    });
    assert!(ready, "the private MariaDB did not start");
    exec("", "SET GLOBAL sql_mode = ''; CREATE DATABASE o; CREATE DATABASE n;");
    let rows: Vec<String> = (0..1500).map(|i| format!("('k{i:05}', {i})")).collect();
    let setup = format!(
        "CREATE TABLE k (id VARCHAR(10) NOT NULL PRIMARY KEY, v INT NOT NULL); INSERT INTO k VALUES {}, ('zzzzzz', 1);",
        rows.join(", ")
    );
    exec("o", &setup);
    exec("n", &setup);
    let alter = "ALTER TABLE k MODIFY id VARCHAR(6) NOT NULL";
    let url = format!("{base}o");
    let (insert, done) = runtime().block_on(async {
        let m = Migrator::new("ks", &url, true, slower()).expect("migrator");
        let id = m.submit(alter).await.expect("accepted");
        copying(&m, &id).await;
        let mut conn = mysql_async::Conn::from_url(url.as_str()).await.expect("conn");
        let insert = conn
            .query_drop("INSERT INTO k VALUES ('zzzzzzz', 2)")
            .await
            .map_err(crate::support::server_error);
        conn.query_drop("DELETE FROM k WHERE id = 'zzzzzzz'")
            .await
            .expect("delete");
        let _ = conn.disconnect().await;
        (insert, finished(&m, &id).await)
    });
    assert!(matches!(insert, Err((1406, _, _))), "{insert:?}");
    assert_eq!(done.state, State::Complete, "{}", done.message);
    exec(
        "n",
        "INSERT INTO k VALUES ('zzzzzzz', 2); DELETE FROM k WHERE id = 'zzzzzzz';",
    );
    exec("n", alter);
    let all = "SELECT id, v FROM k ORDER BY id";
    assert_eq!(query("o", all), query("n", all));
    assert_eq!(
        query("o", "SELECT id, v FROM k WHERE id LIKE 'z%'"),
        vec![vec![Some("zzzzzz".into()), Some("1".into())]]
    );
}
