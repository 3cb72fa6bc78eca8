//! Twentieth review (r20d F1-F3, r20e F1), SQLite.
//! r20d F1/F2: the SQLite writer's plain INSERT followed the destination table's own
//! conflict clauses: `UNIQUE ON CONFLICT REPLACE` / `PRIMARY KEY ON CONFLICT REPLACE`
//! deleted or overwrote destination rows (cascading into a table outside the job), `NOT
//! NULL ON CONFLICT IGNORE` dropped a source row; the run passed. Now every statement
//! is `INSERT OR ABORT` / `UPDATE OR ABORT`: a clash is an error naming the row.
//! r20d F3: a SQLite source's conflict clauses were dropped on PostgreSQL/MariaDB
//! without a word; now a `skipped` column option names each.
//! r20e F1: a TEXT child of an INTEGER key was read as integers: '01' became '1' even on
//! a SQLite copy. Now a SQLite copy keeps the values as they are; another engine gets
//! the parent's spelling, and the run says so.

mod common;

use std::sync::Mutex;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

#[derive(Default)]
struct Told(Mutex<Vec<String>>);

impl tether_sync::Progress for Told {
    fn phase(&self, p: &str) {
        self.0.lock().expect("lock").push(p.to_string());
    }
    fn table_started(&self, _: &str, _: u64) {}
    fn rows(&self, _: &str, _: u64) {}
    fn table_done(&self, _: &str, _: u64, _: f64) {}
}

/// A job of table `g` from `src` into the existing tables of `dest` (not emptied).
fn into_existing(src: &TestDb, dest: &TestDb, conflict: &str) -> String {
    format!(
        "source = \"{}\"\n[[destinations]]\nurl = \"{}\"\non_conflict = \"{conflict}\"\n[tables]\ninclude = [\"g\"]\n",
        src.url, dest.url
    )
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// F1: `name UNIQUE ON CONFLICT REPLACE` on the destination: source row 1 'a' clashes
/// with destination row 7 'a'. With every on_conflict the run stops naming the row and
/// the constraint; row 7 and the `note` row that references it (ON DELETE CASCADE, a
/// table outside the job) are still there. Before, row 7 was deleted, and note 1 with it.
#[test]
fn a_unique_replace_clause_of_the_destination_does_not_delete_its_rows() {
    let schema = "CREATE TABLE g (id INTEGER PRIMARY KEY, name TEXT UNIQUE ON CONFLICT REPLACE, v INT);";
    let src = TestDb::create(Engine::Sqlite);
    src.exec(&format!("{schema} INSERT INTO g VALUES (1, 'a', 1), (2, 'b', 1);"));
    for conflict in ["error", "skip", "update"] {
        let dest = TestDb::create(Engine::Sqlite);
        dest.exec(&format!(
            "{schema} INSERT INTO g VALUES (7, 'a', 99), (8, 'zz', 99);
             CREATE TABLE note (id INTEGER PRIMARY KEY, gid INT REFERENCES g(id) ON DELETE CASCADE, txt TEXT);
             INSERT INTO note VALUES (1, 7, 'important'), (2, 8, 'keep');"
        ));
        let err = sync(&into_existing(&src, &dest, conflict))
            .expect_err("a clash on name stops the job")
            .to_string();
        for part in ["table g", "row (id)=(1)", "UNIQUE constraint failed: g.name"] {
            assert!(err.contains(part), "{conflict}: `{part}` missing from: {err}");
        }
        assert_eq!(
            dest.query("SELECT id, name, v FROM g ORDER BY id"),
            [[s("7"), s("a"), s("99")], [s("8"), s("zz"), s("99")]],
            "{conflict}"
        );
        assert_eq!(
            dest.query("SELECT id, gid, txt FROM note ORDER BY id"),
            [[s("1"), s("7"), s("important")], [s("2"), s("8"), s("keep")]],
            "{conflict}"
        );
    }
}

/// F1 variant: `id INTEGER PRIMARY KEY ON CONFLICT REPLACE`, default on_conflict
/// ("error"): destination row 1 'dest' is kept and the run stops naming row (id)=(1).
/// Before, it was overwritten by the source's row. With on_conflict = "skip" the row
/// with that key is kept as it is and the others go in.
#[test]
fn a_primary_key_replace_clause_does_not_overwrite_a_row() {
    let schema = "CREATE TABLE g (id INTEGER PRIMARY KEY ON CONFLICT REPLACE, name TEXT, v INT);";
    let src = TestDb::create(Engine::Sqlite);
    src.exec(&format!("{schema} INSERT INTO g VALUES (1, 'a', 1), (2, 'b', 1);"));
    let dest = TestDb::create(Engine::Sqlite);
    dest.exec(&format!(
        "{schema} INSERT INTO g VALUES (1, 'dest', 99), (8, 'zz', 99);"
    ));
    let err = sync(&into_existing(&src, &dest, "error"))
        .expect_err("an existing key is an error")
        .to_string();
    for part in ["table g", "row (id)=(1)", "UNIQUE constraint failed: g.id"] {
        assert!(err.contains(part), "`{part}` missing from: {err}");
    }
    assert_eq!(
        dest.query("SELECT id, name, v FROM g ORDER BY id"),
        [[s("1"), s("dest"), s("99")], [s("8"), s("zz"), s("99")]]
    );
    let report = sync(&into_existing(&src, &dest, "skip")).unwrap_or_else(|e| panic!("skip: {e}"));
    assert!(report.ok, "{report:?}");
    assert_eq!(
        dest.query("SELECT id, name, v FROM g ORDER BY id"),
        [
            [s("1"), s("dest"), s("99")],
            [s("2"), s("b"), s("1")],
            [s("8"), s("zz"), s("99")]
        ]
    );
}

/// F2: `v INT NOT NULL ON CONFLICT IGNORE` on the destination: source row 2 (v NULL)
/// is refused by name, as PostgreSQL and MariaDB refuse it, with each on_conflict.
/// Before, it was dropped and the run said every table had the source's rows.
#[test]
fn a_not_null_ignore_clause_of_the_destination_does_not_drop_a_source_row() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec("CREATE TABLE g (id INTEGER PRIMARY KEY, v INT); INSERT INTO g VALUES (1, 1), (2, NULL);");
    for conflict in ["error", "skip", "update"] {
        let dest = TestDb::create(Engine::Sqlite);
        dest.exec(
            "CREATE TABLE g (id INTEGER PRIMARY KEY, v INT NOT NULL ON CONFLICT IGNORE);
             INSERT INTO g VALUES (7, 1), (8, 1);",
        );
        let err = sync(&into_existing(&src, &dest, conflict))
            .expect_err("a NULL into a NOT NULL column stops the job")
            .to_string();
        for part in ["table g", "row (id)=(2)", "NOT NULL constraint failed: g.v"] {
            assert!(err.contains(part), "{conflict}: `{part}` missing from: {err}");
        }
        // The batch is rolled back: none of its rows is there.
        assert_eq!(
            dest.query("SELECT id FROM g ORDER BY id"),
            [[s("7")], [s("8")]],
            "{conflict}"
        );
    }
}

/// F3: a SQLite source's conflict clauses, on a column or a table constraint, are each
/// a `skipped` column option in the plan for PostgreSQL and MariaDB, naming the table,
/// the column (or constraint) and the clause. ABORT (the default) is not mentioned.
/// Before, the plan had no line about them.
#[test]
fn a_sqlite_sources_conflict_clauses_are_reported_on_other_engines() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE grp (id INTEGER PRIMARY KEY ON CONFLICT IGNORE, name TEXT UNIQUE ON CONFLICT REPLACE,
           lvl INT NOT NULL ON CONFLICT IGNORE, a INT UNIQUE ON CONFLICT ABORT, b INT,
           CONSTRAINT ab UNIQUE (a, b) ON CONFLICT FAIL);
         INSERT INTO grp VALUES (1, 'ops', 1, 1, 1);",
    );
    for engine in [Engine::Postgres, Engine::Mysql] {
        let dest = TestDb::create(engine);
        let all = items(&job(&src, &[&dest], ""));
        let skipped: Vec<(&str, &str)> = all
            .iter()
            .filter(|i| i.kind == "column option")
            .map(|i| (i.name.as_str(), i.reason.as_deref().unwrap_or("")))
            .collect();
        let names: Vec<&str> = skipped.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "grp.id (PRIMARY KEY ON CONFLICT IGNORE)",
                "grp.name (UNIQUE ON CONFLICT REPLACE)",
                "grp.lvl (NOT NULL ON CONFLICT IGNORE)",
                "grp.ab (UNIQUE ON CONFLICT FAIL)",
            ],
            "{engine:?}: {all:#?}"
        );
        for i in all.iter().filter(|i| i.kind == "column option") {
            assert_eq!(i.action, tether_sync::schema_plan::Action::Skipped, "{i:?}");
        }
        assert!(
            skipped[1]
                .1
                .contains("a clash there is an error, where sqlite deletes the rows a new one clashes with"),
            "{skipped:?}"
        );
    }
}

/// The r20e source: a TEXT child `pid` of an INTEGER key, holding spellings SQLite's
/// FK matches to 1 and 2 by number.
fn text_children() -> TestDb {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE par (id INTEGER PRIMARY KEY);
         CREATE TABLE kid (id INTEGER PRIMARY KEY, pid TEXT REFERENCES par(id));
         INSERT INTO par VALUES (1), (2);
         INSERT INTO kid VALUES (1, '01'), (2, '+2'), (3, '1'), (4, '2.0'), (5, 2);",
    );
    src
}

/// r20e F1: SQLite -> SQLite keeps the child's text as it is, with no respelling said.
/// Before, '01' and '+2' were written '1' and '2'.
#[test]
fn a_sqlite_copy_keeps_a_text_child_of_an_integer_key_as_it_is() {
    let src = text_children();
    let dest = TestDb::create(Engine::Sqlite);
    let told = Told::default();
    let report = sync_telling(&job(&src, &[&dest], ""), &told).unwrap_or_else(|e| panic!("copied: {e}"));
    assert!(report.ok, "{report:?}");
    assert_eq!(
        dest.query("SELECT id, quote(pid) FROM kid ORDER BY id"),
        [
            [s("1"), s("'01'")],
            [s("2"), s("'+2'")],
            [s("3"), s("'1'")],
            [s("4"), s("'2.0'")],
            [s("5"), s("'2'")]
        ]
    );
    assert!(dest.query("PRAGMA foreign_key_check").is_empty());
    let phases = told.0.lock().expect("lock").clone();
    assert!(!phases.iter().any(|p| p.contains("spelt otherwise")), "{phases:#?}");

    // A UNIQUE child holding '01' and '1' is copied as it is. Before, both were
    // written '1' and the run was refused.
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE par (id INTEGER PRIMARY KEY);
         CREATE TABLE kid (id INTEGER PRIMARY KEY, pid TEXT UNIQUE REFERENCES par(id));
         INSERT INTO par VALUES (1); INSERT INTO kid VALUES (1, '01'), (2, '1');",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let report = sync(&job(&src, &[&dest], "")).unwrap_or_else(|e| panic!("copied: {e}"));
    assert!(report.ok, "{report:?}");
    assert_eq!(
        dest.query("SELECT id, quote(pid) FROM kid ORDER BY id"),
        [[s("1"), s("'01'")], [s("2"), s("'1'")]]
    );
}

/// r20e F1, other engines: the child column is the parent's integer type there, so
/// '01', '+2' and '2.0' are written 1, 2, 2, and the run says so (three values, for
/// that destination's engine). Before, '01' and '+2' were converted without a word.
#[test]
fn another_engine_gets_the_parents_spelling_and_is_told() {
    let src = text_children();
    for engine in [Engine::Postgres, Engine::Mysql] {
        let dest = TestDb::create(engine);
        let told = Told::default();
        let report = sync_telling(&job(&src, &[&dest], ""), &told).unwrap_or_else(|e| panic!("{engine:?}: {e}"));
        assert!(report.ok, "{report:?}");
        assert_eq!(
            dest.query("SELECT id, pid FROM kid ORDER BY id"),
            [
                [s("1"), s("1")],
                [s("2"), s("2")],
                [s("3"), s("1")],
                [s("4"), s("2")],
                [s("5"), s("2")]
            ],
            "{engine:?}"
        );
        let phases = told.0.lock().expect("lock").clone();
        let said = phases
            .iter()
            .find(|p| p.contains("kid: FK") && p.contains("spelt otherwise"))
            .unwrap_or_else(|| panic!("{engine:?}: nothing said: {phases:#?}"));
        for part in [
            "3 value(s)",
            "SQLite matches a text child to an INTEGER key by the number it spells",
            "written with the parent's spelling",
        ] {
            assert!(said.contains(part), "{engine:?}: `{part}` missing from: {said}");
        }
    }
}

/// r20e F1 (b): a `hash` of the key on a SQLite copy: every child is hashed as the
/// number its parent holds ('01', '+2' and '2.0' included), so the FK holds. Before,
/// '2.0' stopped the run ("cannot transform '2.0': not an integer").
#[test]
fn a_transformed_integer_key_takes_its_text_children_along() {
    let src = text_children();
    let dest = TestDb::create(Engine::Sqlite);
    let job = format!(
        "source = \"{}\"\nseed = \"w\"\n[[destinations]]\nurl = \"{}\"\n\
         [transform.par]\nid = {{ kind = \"hash\", min = 1, max = 1000 }}\n",
        src.url, dest.url
    );
    let report = sync(&job).unwrap_or_else(|e| panic!("copied: {e}"));
    assert!(report.ok, "{report:?}");
    assert!(dest.query("PRAGMA foreign_key_check").is_empty());
    assert_eq!(one(&dest, "SELECT count(*) FROM kid JOIN par ON par.id = kid.pid"), "5");
    assert_eq!(
        one(&dest, "SELECT count(DISTINCT pid) FROM kid"),
        "2",
        "{:?}",
        dest.query("SELECT id, pid FROM kid")
    );
}
