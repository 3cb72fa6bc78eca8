//! The seventeenth review (reviewer e, F3 and F4): an auto-increment counter past
//! deleted rows carried between SQLite and the servers, and a SQLite CHECK printed in
//! the plan as the source spells it.

mod common;

use common::*;
use tether_sync::schema_plan::Action;
use tether_testkit::{TestDb, TestEngine as Engine};

/// The plan's line of `kind` `name`: action, from, to, reason.
fn line(plan: &[tether_sync::schema_plan::SchemaItem], kind: &str, name: &str) -> (Action, String, String, String) {
    let i = item(plan, kind, name);
    (
        i.action,
        i.from.clone().unwrap_or_default(),
        i.to.clone().unwrap_or_default(),
        i.reason.clone().unwrap_or_default(),
    )
}

/// F3: SQLite's AUTOINCREMENT hands out 4 after 3 was deleted; so do the PostgreSQL
/// and MariaDB copies. Before, `sqlite_sequence` was ignored and both handed out 3.
#[test]
fn a_sqlite_autoincrement_counter_carries_to_postgres_and_mariadb() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);
         INSERT INTO t (v) VALUES ('a'), ('b'), ('c');
         DELETE FROM t WHERE id = 3;
         CREATE TABLE plain (id INTEGER PRIMARY KEY, v TEXT);
         INSERT INTO plain (v) VALUES ('a'), ('b'), ('c');
         DELETE FROM plain WHERE id = 3;",
    );
    let pg = TestDb::create(Engine::Postgres);
    let maria = TestDb::create(Engine::Mysql);
    assert_eq!(
        line(&items(&job(&src, &[&pg], "")), "identity", "t.id"),
        (
            Action::Mapped,
            "AUTOINCREMENT (sqlite_sequence at 3)".into(),
            "identity sequence t_id_seq continuing at 4".into(),
            "after the load, unless the copied keys went past it".into()
        )
    );
    assert_eq!(
        line(&items(&job(&src, &[&maria], "")), "identity", "t.id"),
        (
            Action::Mapped,
            "AUTOINCREMENT (sqlite_sequence at 3)".into(),
            "AUTO_INCREMENT=4".into(),
            "ids of deleted rows are not handed out again".into()
        )
    );
    let done = sync(&job(&src, &[&pg, &maria], "")).expect("sync");
    assert!(done.ok, "{done:?}");
    for db in [&src, &pg, &maria] {
        assert_eq!(
            one(db, "INSERT INTO t (v) VALUES ('new') RETURNING id"),
            "4",
            "{}",
            db.url
        );
        // A plain rowid key hands the deleted last id out again on the source: so may
        // the copies.
        assert_eq!(
            one(db, "INSERT INTO plain (v) VALUES ('new') RETURNING id"),
            "3",
            "{}",
            db.url
        );
    }
}

/// F3: MariaDB's AUTO_INCREMENT hands out 4 after 3 was deleted (and 500 where the
/// table was declared so); the SQLite copy is an AUTOINCREMENT table with its
/// `sqlite_sequence` row, and does too. Before, it was a plain rowid key handing out 3.
#[test]
fn a_mariadb_auto_increment_counter_carries_to_sqlite() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT);
         INSERT INTO t (v) VALUES ('a'), ('b'), ('c');
         DELETE FROM t WHERE id = 3;
         CREATE TABLE big (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT) AUTO_INCREMENT=500;
         INSERT INTO big (id, v) VALUES (1, 1);
         CREATE TABLE fresh (id INT AUTO_INCREMENT PRIMARY KEY, v INT);",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let plan = items(&job(&src, &[&dest], ""));
    assert_eq!(
        line(&plan, "identity", "t.id"),
        (
            Action::Mapped,
            "AUTO_INCREMENT=4".into(),
            "INTEGER PRIMARY KEY AUTOINCREMENT, sqlite_sequence at 3".into(),
            "ids of deleted rows are not handed out again".into()
        )
    );
    assert_eq!(
        line(&plan, "identity", "fresh.id"),
        (
            Action::Mapped,
            "AUTO_INCREMENT".into(),
            "INTEGER PRIMARY KEY AUTOINCREMENT".into(),
            "ids of deleted rows are not handed out again".into()
        )
    );
    let done = sync(&job(&src, &[&dest], "")).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_eq!(
        dest.query("SELECT name, seq FROM sqlite_sequence ORDER BY name"),
        [
            [Some("big".to_string()), Some("499".to_string())],
            [Some("t".into()), Some("3".into())]
        ]
    );
    for (table, values, next) in [
        ("t", "(v) VALUES ('new')", "4"),
        ("big", "(v) VALUES (2)", "500"),
        ("fresh", "(v) VALUES (1)", "1"),
    ] {
        let sql = format!("INSERT INTO {table} {values} RETURNING id");
        assert_eq!(one(&src, &sql), next, "source {table}");
        assert_eq!(one(&dest, &sql), next, "copy {table}");
    }
    // The copy's `fresh` does not hand out its deleted last id again, as the source.
    for db in [&src, &dest] {
        db.exec("DELETE FROM fresh");
        assert_eq!(
            one(db, "INSERT INTO fresh (v) VALUES (2) RETURNING id"),
            "2",
            "{}",
            db.url
        );
    }
}

/// F4: a SQLite CHECK another engine does not get is printed as the source spells it.
/// Before, `v >= 0` read `v > = 0` and `w != 2` read `w! = 2`.
#[test]
fn a_skipped_sqlite_check_reads_as_the_source_spells_it() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER CHECK (v >= 0), \
         w INTEGER CHECK (w <= 5 AND w != 2 AND w <> 3));",
    );
    let dest = TestDb::create(Engine::Postgres);
    let plan = items(&job(&src, &[&dest], ""));
    let checks: Vec<String> = plan
        .iter()
        .filter(|i| i.kind == "check")
        .map(|i| format!("{:?} {} {}", i.action, i.name, i.reason.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        checks,
        [
            "Skipped kv.v `CHECK (v >= 0)` is sqlite's SQL; not translated: the copy does not enforce it",
            "Skipped kv.w `CHECK (w <= 5 AND w != 2 AND w <> 3)` is sqlite's SQL; not translated: the copy does \
             not enforce it",
        ]
    );
}

/// Seen once by reviewer e: a MariaDB `SMALLINT UNSIGNED` becomes a wider integer on
/// PostgreSQL and SQLite; its CHECK now keeps the upper bound too. Before, it said "not
/// negative" and the copies took 65536, which the source refuses (1264).
#[test]
fn an_unsigned_integer_keeps_its_upper_bound_on_postgres_and_sqlite() {
    let src = TestDb::create(Engine::Mysql);
    src.exec("CREATE TABLE stock (id INT PRIMARY KEY, qty SMALLINT UNSIGNED); INSERT INTO stock VALUES (1, 65535);");
    let pg = TestDb::create(Engine::Postgres);
    let lite = TestDb::create(Engine::Sqlite);
    for dest in [&pg, &lite] {
        let plan = items(&job(&src, &[dest], ""));
        assert_eq!(
            item(&plan, "column", "stock.qty").reason.as_deref(),
            Some("with CHECK stock_qty_check: from 0 to 65535, as UNSIGNED"),
            "{}",
            dest.url
        );
    }
    let done = sync(&job(&src, &[&pg, &lite], "")).expect("sync");
    assert!(done.ok, "{done:?}");
    for db in [&src, &pg, &lite] {
        assert_eq!(one(db, "SELECT qty FROM stock"), "65535", "{}", db.url);
    }
    for (db, says) in [
        (&src, "1264"),
        (&pg, "stock_qty_check"),
        (&lite, "CHECK constraint failed: stock_qty_check"),
    ] {
        let err = std::panic::catch_unwind(|| db.exec("INSERT INTO stock VALUES (2, 65536)")).expect_err(&db.url);
        let text = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(text.contains(says), "{}: {text}", db.url);
    }
}

/// Seen once by reviewer e: a SQLite `COLLATE RTRIM` column on MariaDB is compared
/// without case there (its default collation); the plan says that, not "with case".
#[test]
fn a_sqlite_rtrim_column_on_mariadb_is_said_to_compare_without_case() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec("CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT COLLATE RTRIM); INSERT INTO p VALUES (1, 'p');");
    let my = TestDb::create(Engine::Mysql);
    let plan = items(&job(&src, &[&my], ""));
    assert_eq!(
        line(&plan, "collation", "p.code"),
        (
            Action::Skipped,
            String::new(),
            String::new(),
            "mysql compares it without case: SQLite's COLLATE RTRIM (trailing spaces ignored, as there) tells 'p' \
             and 'P' apart, so its =, unique keys and foreign keys there hold equal values the source tells apart"
                .into()
        )
    );
    let done = sync(&job(&src, &[&my], "")).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_eq!(one(&src, "SELECT count(*) FROM p WHERE code = 'P'"), "0");
    assert_eq!(one(&my, "SELECT count(*) FROM p WHERE code = 'P'"), "1");
    assert_eq!(one(&my, "SELECT count(*) FROM p WHERE code = 'p  '"), "1");
}
