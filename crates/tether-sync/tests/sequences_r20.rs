//! Review r20c F1: MariaDB sequences of other databases.
//!
//! After the load, the sync moved the sequence a destination column's `DEFAULT
//! nextval(...)` names past the keys copied, taking the name as the default's text
//! gives it. SHOW CREATE TABLE (so a dump) qualifies it with its database, so a
//! destination table restored from a dump of the source drew from the source's
//! sequence, and the sync moved the source's sequence (A). A copy of a table drawing
//! from a sequence of a third database kept that default, so copy and source shared
//! one sequence, and the sync moved it too (B). Tether writes no sequence outside the
//! destination's database: such a default of an existing table is named in the run's
//! warnings, not moved; a created table's is left out and reported skipped.

mod common;

use common::*;
use tether_sync::schema_plan::Action;
use tether_testkit::{TestDb, TestEngine as Engine};

/// The value `db`.`seq` hands out next.
fn next_value(db: &TestDb, seq: &str) -> String {
    one(db, &format!("SELECT next_not_cached_value FROM `{}`.`{seq}`", db.name))
}

/// A source with sequence `s` (at 1) and `t` (keys 500, 501) drawing from it.
fn sequenced_source() -> TestDb {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE SEQUENCE s START WITH 1;
         CREATE TABLE t (id BIGINT NOT NULL DEFAULT nextval(s) PRIMARY KEY, v VARCHAR(10));
         INSERT INTO t VALUES (500, 'a'), (501, 'b');",
    );
    src
}

/// A: a destination whose `t` draws from the source's sequence (as restored from a dump
/// of it), loaded by `mode = "data"` and by the default mode with `on_conflict =
/// "skip"`: the source's sequence stays at 1, the run names it; the destination's own
/// sequence (`own`, drawn from by `u`) is still moved past the keys copied.
#[test]
fn an_existing_tables_default_on_the_sources_sequence_is_named_not_moved() {
    for extra in ["mode = \"data\"\n", ""] {
        let src = sequenced_source();
        src.exec(
            "CREATE TABLE u (id BIGINT NOT NULL PRIMARY KEY, w INT);
             INSERT INTO u VALUES (700, 1);",
        );
        let dest = TestDb::create(Engine::Mysql);
        dest.exec(&format!(
            "CREATE SEQUENCE own START WITH 1;
             CREATE TABLE t (id BIGINT NOT NULL DEFAULT nextval(`{db}`.s), v VARCHAR(10), PRIMARY KEY (id));
             CREATE TABLE u (id BIGINT NOT NULL DEFAULT nextval(own), w INT, PRIMARY KEY (id));",
            db = src.name
        ));
        let conflict = match extra {
            "" => "on_conflict = \"skip\"\n",
            _ => "",
        };
        let text = format!(
            "source = \"{}\"\nprivacy = \"off\"\n{extra}[[destinations]]\nurl = \"{}\"\n{conflict}",
            src.url, dest.url
        );
        let plan = items(&text);
        let there = item(&plan, "sequence", "t.id");
        assert_eq!(there.action, Action::Skipped, "{there:?}");
        let why = there.reason.as_deref().unwrap_or_default();
        assert!(
            why.contains(&format!("sequence {}.s of another database", src.name)),
            "{why}"
        );
        assert!(!plan.iter().any(|i| i.name == "u.id"), "{plan:#?}");
        let report = sync(&text).expect("the sync");
        assert!(report.ok, "{report:?}");
        assert_eq!(next_value(&src, "s"), "1", "{extra}: the source's sequence was moved");
        assert_eq!(
            next_value(&dest, "own"),
            "701",
            "{extra}: the destination's own sequence"
        );
        assert_eq!(rows(&dest, "t", "id"), [["500", "a"], ["501", "b"]]);
        let named: Vec<&String> = report
            .warnings
            .iter()
            .filter(|w| w.contains(&format!("sequence `{}`.`s` of another database", src.name)))
            .collect();
        assert_eq!(named.len(), 1, "{extra}: {:?}", report.warnings);
        assert!(named[0].contains("`t`.`id`"), "{}", named[0]);
        assert!(named[0].contains("was not moved"), "{}", named[0]);
    }
}

/// A, a third database: an existing table drawing from a sequence of a database that
/// is neither the source nor the destination is left alone too.
#[test]
fn an_existing_tables_default_on_a_third_databases_sequence_is_not_moved() {
    let src = sequenced_source();
    let other = TestDb::create(Engine::Mysql);
    other.exec("CREATE SEQUENCE s3 START WITH 1");
    let dest = TestDb::create(Engine::Mysql);
    dest.exec(&format!(
        "CREATE TABLE t (id BIGINT NOT NULL DEFAULT nextval(`{}`.`s3`), v VARCHAR(10), PRIMARY KEY (id));",
        other.name
    ));
    let text = format!(
        "source = \"{}\"\nprivacy = \"off\"\nmode = \"data\"\n[[destinations]]\nurl = \"{}\"\n",
        src.url, dest.url
    );
    let report = sync(&text).expect("the sync");
    assert!(report.ok, "{report:?}");
    assert_eq!(next_value(&other, "s3"), "1");
    assert_eq!(next_value(&src, "s"), "1");
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains(&format!("sequence `{}`.`s3` of another database", other.name))),
        "{:?}",
        report.warnings
    );
}

/// B: a source whose tables draw from sequences of a third database (`nextval`, and a
/// `setval` default): the copy has neither default (reported skipped by the plan), the
/// third database's sequences stay where they were, and the source's next insert
/// still gets 1. The source's own sequence is still created with the copy and drawn
/// from there.
#[test]
fn a_copy_does_not_draw_from_a_third_databases_sequence() {
    let other = TestDb::create(Engine::Mysql);
    other.exec("CREATE SEQUENCE s START WITH 1; CREATE SEQUENCE s2 START WITH 1;");
    let o = &other.name;
    let src = TestDb::create(Engine::Mysql);
    src.exec(&format!(
        "CREATE SEQUENCE mine START WITH 1;
         CREATE TABLE t (id BIGINT NOT NULL DEFAULT nextval(`{o}`.s) PRIMARY KEY, v INT);
         CREATE TABLE w (id INT PRIMARY KEY, n BIGINT DEFAULT setval(`{o}`.s2, 5000, 1, 0));
         CREATE TABLE m (id BIGINT NOT NULL DEFAULT nextval(mine) PRIMARY KEY, v INT);
         INSERT INTO t VALUES (900, 1), (901, 2);
         INSERT INTO w (id, n) VALUES (1, 7);
         INSERT INTO m VALUES (300, 1);"
    ));
    let dest = TestDb::create(Engine::Mysql);
    let text = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\n",
        src.url, dest.url
    );
    let plan = items(&text);
    let id = item(&plan, "default", "t.id");
    assert_eq!(id.action, Action::Skipped, "{id:?}");
    let why = id.reason.as_deref().unwrap_or_default();
    assert!(why.contains(&format!("sequence {o}.s of another database")), "{why}");
    assert!(why.contains("so an INSERT must give it"), "{why}");
    let n = item(&plan, "default", "w.n");
    assert_eq!(n.action, Action::Skipped, "{n:?}");
    assert_eq!(item(&plan, "default", "m.id").action, Action::Created);

    let report = sync(&text).expect("the sync");
    assert!(report.ok, "{report:?}");
    assert_eq!(next_value(&other, "s"), "1");
    assert_eq!(next_value(&other, "s2"), "1");
    assert_eq!(rows(&dest, "t", "id"), [["900", "1"], ["901", "2"]]);
    assert_eq!(rows(&dest, "w", "id"), [["1", "7"]]);
    for t in ["t", "w"] {
        let ddl = dest.query(&format!("SHOW CREATE TABLE {t}"))[0][1]
            .clone()
            .unwrap_or_default();
        assert!(!ddl.contains(o.as_str()), "{ddl}");
    }
    // The copy's t.id and w.n have no default: an insert into t must give the key.
    let defaults = dest.query(
        "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_DEFAULT FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('t', 'w') ORDER BY 1, 2",
    );
    let has = |t: &str, c: &str, d: Option<&str>| {
        defaults.contains(&vec![Some(t.to_string()), Some(c.to_string()), d.map(String::from)])
    };
    // (w.n is nullable: MariaDB says its default is NULL.)
    assert!(has("t", "id", None) && has("w", "n", Some("NULL")), "{defaults:?}");
    dest.exec("INSERT INTO w (id) VALUES (2)");
    assert_eq!(one(&dest, "SELECT n FROM w WHERE id = 2"), "NULL");
    assert_eq!(next_value(&other, "s2"), "1");
    // The source's own sequence: created with the copy, moved past its keys there.
    dest.exec("INSERT INTO m (v) VALUES (2)");
    assert_eq!(one(&dest, "SELECT max(id) FROM m"), "301");
    // The source is as it was: its next insert gets the third database's 1.
    src.exec("INSERT INTO t (v) VALUES (3)");
    assert_eq!(one(&src, "SELECT max(id) FROM t WHERE v = 3"), "1");
}
