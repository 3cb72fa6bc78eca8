//! Eighteenth session, review F: PostgreSQL enums on MariaDB.
//! - A label ending with a space ('mid ') became `enum('low','mid')`: MariaDB strips an
//!   ENUM member's trailing spaces, so the row was stored as 'mid' and the run passed.
//!   Such an enum is now a varchar without padding (`utf8mb4_nopad_bin`) with a CHECK
//!   of its labels, as on SQLite.
//! - Labels apart only in case ('low', 'LOW'): the plan said mapped, the sync died with
//!   the server's 1291. The ENUM is now created in `utf8mb4_bin`, which also refuses
//!   'OK' where PostgreSQL's enum ('ok') does.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

/// The error of `sql` on `db`, or None when it ran.
fn refusal(db: &TestDb, sql: &str) -> Option<String> {
    let prior = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| db.exec(sql)));
    std::panic::set_hook(prior);
    out.err().map(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

fn hexes(db: &TestDb, table: &str) -> Vec<Vec<String>> {
    db.query(&format!("SELECT id, hex(l) FROM {table} ORDER BY id"))
        .iter()
        .map(|r| r.iter().map(norm).collect())
        .collect()
}

/// The reviewer's F1: the copy holds 'mid ' byte for byte; 'mid' (which the enum
/// refuses on PostgreSQL) is refused there too, by the CHECK; the plan says so.
#[test]
fn an_enum_label_with_a_trailing_space_is_kept_on_mariadb() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TYPE lvl2 AS ENUM ('low', 'mid '); \
         CREATE TABLE q2 (id int PRIMARY KEY, l lvl2); \
         INSERT INTO q2 VALUES (1, 'low'), (3, 'mid '), (4, NULL)",
    );
    let dest = TestDb::create(Engine::Mysql);
    let text = job(&src, &[&dest], "");
    let plan = items(&text);
    let column = item(&plan, "column", "q2.l");
    assert_eq!(
        column.to.as_deref(),
        Some("varchar(4) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin with CHECK q2_l_check of its labels"),
        "{column:?}"
    );
    sync(&text).expect("sync");
    assert_eq!(
        hexes(&dest, "q2"),
        vec![
            vec!["1".to_string(), "6C6F77".into()],
            vec!["3".into(), "6D696420".into()],
            vec!["4".into(), "NULL".into()],
        ]
    );
    for bad in ["mid", "LOW", "low "] {
        let e = refusal(&dest, &format!("INSERT INTO q2 VALUES (9, '{bad}')"))
            .unwrap_or_else(|| panic!("'{bad}' was accepted"));
        assert!(e.contains("q2_l_check"), "'{bad}': {e}");
    }
    dest.exec("INSERT INTO q2 VALUES (9, 'mid ')");
    assert_eq!(one(&dest, "SELECT hex(l) FROM q2 WHERE id = 9"), "6D696420");
}

/// The reviewer's F2 and F3's PostgreSQL -> MariaDB half: labels apart only in case are
/// created (no 1291) and kept apart; a value in another case is refused as on the source.
#[test]
fn enum_labels_apart_in_case_stay_apart_on_mariadb() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TYPE lvl AS ENUM ('low', 'LOW', 'ok'); \
         CREATE TABLE q (id int PRIMARY KEY, l lvl); \
         INSERT INTO q VALUES (1, 'low'), (2, 'LOW'), (3, 'ok')",
    );
    let dest = TestDb::create(Engine::Mysql);
    let text = job(&src, &[&dest], "");
    let plan = items(&text);
    assert_eq!(
        item(&plan, "column", "q.l").to.as_deref(),
        Some("enum('low','LOW','ok') CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    );
    sync(&text).expect("sync");
    assert_eq!(
        hexes(&dest, "q"),
        vec![
            vec!["1".to_string(), "6C6F77".into()],
            vec!["2".into(), "4C4F57".into()],
            vec!["3".into(), "6F6B".into()],
        ]
    );
    assert_eq!(one(&dest, "SELECT count(*) FROM q WHERE l = 'LOW'"), "1");
    let e = refusal(&dest, "INSERT INTO q VALUES (9, 'OK')").expect("'OK' accepted");
    assert!(e.contains("1265"), "{e}");
}

/// The reviewer's F6: a char(n) key copied into SQLite compares without its trailing
/// spaces, as on PostgreSQL (padded values) and MariaDB (unpadded): 'ab' beside 'ab  '
/// is one key, `= 'ab'` and `= 'ab  '` both find it; the values are the source's bytes
/// and the FK of a char(n) child holds.
#[test]
fn a_char_key_on_sqlite_compares_without_its_pad() {
    for (engine, stored) in [(Engine::Postgres, "61622020"), (Engine::Mysql, "6162")] {
        let src = TestDb::create(engine);
        src.exec(
            "CREATE TABLE uc (c char(4) PRIMARY KEY, v int); \
             CREATE TABLE uk (id int PRIMARY KEY, c char(4) REFERENCES uc (c)); \
             INSERT INTO uc VALUES ('ab', 1); INSERT INTO uk VALUES (1, 'ab')",
        );
        let dest = TestDb::create(Engine::Sqlite);
        let text = job(&src, &[&dest], "");
        let plan = items(&text);
        assert_eq!(
            item(&plan, "column", "uc.c").to.as_deref(),
            Some("CHAR(4) COLLATE RTRIM"),
            "{engine:?}"
        );
        sync(&text).expect("sync");
        assert_eq!(one(&dest, "SELECT hex(c) FROM uc"), stored, "{engine:?}");
        assert_eq!(one(&dest, "SELECT hex(c) FROM uk"), stored, "{engine:?}");
        assert_eq!(one(&dest, "SELECT count(*) FROM uc WHERE c = 'ab'"), "1", "{engine:?}");
        assert_eq!(
            one(&dest, "SELECT count(*) FROM uc WHERE c = 'ab  '"),
            "1",
            "{engine:?}"
        );
        let e = refusal(&dest, "INSERT INTO uc VALUES ('ab', 2)").expect("a second 'ab' accepted");
        assert!(e.contains("UNIQUE constraint failed: uc.c"), "{engine:?}: {e}");
        assert!(dest.query("PRAGMA foreign_key_check").is_empty(), "{engine:?}");
    }
}
