//! Seventeenth session, review N: `tether plan` said what the sync then did not do.
//! - F1/F3: tables missing on a destination with `create_tables = false` (or a job with
//!   `mode = "data"`) were planned as "creates: c"; the sync refused. The plan now
//!   refuses with the sync's own message.
//! - F2: a SQLite destination holding `REGION` for the source's `region` (the same table
//!   to SQLite) was planned as "creates: region" and the sync failed on a raw "already
//!   exists". Both now refuse, naming both spellings, and nothing is written.
//! - F4: the plan names the schema a PostgreSQL destination gets and the flattened
//!   `schema_table` name another engine gets.
//! - F5: an extension used by two tables is one plan line.

mod common;

use common::*;
use tether_sync::schema_plan::Action;
use tether_testkit::{TestDb, TestEngine as Engine};

/// The plan of `text`, and the error the plan refuses with (what `tether plan` exits on).
fn plan_and_refusal(text: &str) -> (tether_sync::plan::Plan, Option<String>) {
    let job = tether_sync::Job::parse("job.toml", text, &|_| None).expect("job");
    let plan = tether_testkit::block_on(async { tether_sync::prepare(&job).await.expect("plan").plan });
    let refusal = plan.refuse_what_the_sync_refuses().err().map(|e| e.to_string());
    (plan, refusal)
}

fn parent_child() -> (TestDb, TestDb) {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INT REFERENCES p (id));
         INSERT INTO p VALUES (1); INSERT INTO c VALUES (1, 1);",
    );
    let dest = TestDb::create(Engine::Sqlite);
    dest.exec("CREATE TABLE p (id INTEGER PRIMARY KEY);");
    (src, dest)
}

/// `src` copied to `dest`, without the privacy scan.
fn plain(src: &TestDb, dest: &TestDb) -> String {
    format!("privacy = \"off\"\n{}", job(src, &[dest], ""))
}

fn tables(db: &TestDb) -> Vec<Vec<Option<String>>> {
    db.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
}

#[test]
fn missing_tables_the_job_may_not_create_stop_the_plan_as_they_stop_the_sync() {
    for (extra, destination_extra, why) in [
        ("", "create_tables = false\n", "create_tables = false"),
        ("mode = \"data\"\n", "", "mode = \"data\" creates nothing"),
    ] {
        let (src, dest) = parent_child();
        let text = format!(
            "source = \"{}\"\nprivacy = \"off\"\n{extra}[[destinations]]\nurl = \"{}\"\n{destination_extra}",
            src.url, dest.url
        );
        let (plan, refusal) = plan_and_refusal(&text);
        let shown = &plan.destinations[0].url;
        let expected = format!("{shown}: tables missing and {why}: c");
        assert_eq!(refusal.as_deref(), Some(expected.as_str()), "{why}");
        // The text, for a library caller printing it anyway, says the same.
        let printed = plan.to_text();
        assert!(
            printed.contains(&format!(
                "  missing ({why}; the sync will stop): c\n  writes into existing: p\n"
            )),
            "{printed}"
        );
        assert!(!printed.contains("creates:"), "{printed}");
        let err = sync(&text).expect_err("the sync stops too");
        assert_eq!(err.to_string(), expected);
        assert!(matches!(err, tether_sync::SyncError::Plan(_)), "exit code 2: {err:?}");
        assert_eq!(tables(&dest), [[Some("p".to_string())]], "nothing created");
        assert_eq!(dest.query("SELECT count(*) FROM p"), [[Some("0".to_string())]]);
    }
}

#[test]
fn a_sqlite_table_under_other_letter_case_is_refused_by_plan_and_sync_alike() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec("CREATE TABLE region (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO region VALUES (1, 'a');");
    let dest = TestDb::create(Engine::Sqlite);
    dest.exec("CREATE TABLE REGION (id INTEGER PRIMARY KEY, name TEXT, extra INT);");
    let text = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\n",
        src.url, dest.url
    );
    let (plan, refusal) = plan_and_refusal(&text);
    let shown = &plan.destinations[0].url;
    let expected = format!(
        "{shown}: table region is missing but the destination has table REGION, the same table to SQLite (its \
         table names ignore case): rename or drop REGION on the destination, or leave region out in [tables]"
    );
    assert_eq!(refusal.as_deref(), Some(expected.as_str()));
    let err = sync(&text).expect_err("the sync refuses too");
    assert_eq!(err.to_string(), expected);
    assert!(matches!(err, tether_sync::SyncError::Plan(_)), "exit code 2: {err:?}");
    assert_eq!(
        dest.query("SELECT sql FROM sqlite_master"),
        [[Some(
            "CREATE TABLE REGION (id INTEGER PRIMARY KEY, name TEXT, extra INT)".to_string()
        )]]
    );
    assert_eq!(dest.query("SELECT count(*) FROM REGION"), [[Some("0".to_string())]]);
}

#[test]
fn the_plan_names_the_schema_and_the_flattened_table_the_sync_creates() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE SCHEMA sales; CREATE TABLE sales.orders (id int PRIMARY KEY); INSERT INTO sales.orders VALUES (1);",
    );

    let pg = TestDb::create(Engine::Postgres);
    let on_pg = items(&plain(&src, &pg));
    assert_eq!(item(&on_pg, "schema", "sales (where missing)").action, Action::Created);
    assert!(!on_pg
        .iter()
        .any(|i| i.kind == "table" && i.action == Action::Mapped && i.to.as_deref() == Some("sales_orders")));

    for engine in [Engine::Mysql, Engine::Sqlite] {
        let dest = TestDb::create(engine);
        let text = plain(&src, &dest);
        let there = items(&text);
        let renamed = item(&there, "table", "sales.orders");
        assert_eq!(renamed.action, Action::Mapped);
        assert_eq!(
            (renamed.from.as_deref(), renamed.to.as_deref()),
            (Some("sales.orders"), Some("sales_orders")),
            "{engine:?}"
        );
        assert!(!there.iter().any(|i| i.kind == "schema"), "{there:#?}");
        sync(&text).expect("sync");
        assert_eq!(
            one(&dest, "SELECT count(*) FROM sales_orders"),
            "1",
            "{engine:?}: the name the plan said"
        );
    }

    sync(&plain(&src, &pg)).expect("sync");
    assert_eq!(one(&pg, "SELECT count(*) FROM sales.orders"), "1");
    // Planned again, the schema is there: no line for it.
    let again = items(&plain(&src, &pg));
    assert!(!again.iter().any(|i| i.kind == "schema"), "{again:#?}");
}

#[test]
fn an_extension_two_tables_use_is_one_plan_line() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE EXTENSION IF NOT EXISTS citext; CREATE TABLE ci (k citext PRIMARY KEY);
         CREATE TABLE cich (id int PRIMARY KEY, k citext REFERENCES ci (k));
         INSERT INTO ci VALUES ('A'); INSERT INTO cich VALUES (1, 'A');",
    );
    let dest = TestDb::create(Engine::Postgres);
    let all = items(&plain(&src, &dest));
    let extensions: Vec<(&str, Action)> = all
        .iter()
        .filter(|i| i.kind == "extension")
        .map(|i| (i.name.as_str(), i.action))
        .collect();
    assert_eq!(
        extensions,
        [("citext (used by ci, cich; where missing)", Action::Created)]
    );
}
