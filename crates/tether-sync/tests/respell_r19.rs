//! Nineteenth review (r19o F1-F3). F2: a `constant` or `categorical` value that is not
//! a label of an enum column was planned; MariaDB's ENUM stored 'ok ' as 'ok' silently.
//! F1, F3: a text child of a PostgreSQL `char(n)` parent.
//! F1: the respelling query joined them as text (the parent's pad dropped), so a child
//! 'ab  ' of 'ab    ' was not respelt and a `js` on the key gave parent and child
//! different outputs. F3: into SQLite, where the parent is `CHAR(n) COLLATE RTRIM` and
//! matches such children itself, respelling them made two of a unique key clash and
//! refused the run.

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

/// A char(6) parent; `child` declares the child table.
fn source(child: &str, rows: &str) -> TestDb {
    let src = TestDb::create(Engine::Postgres);
    src.exec(&format!(
        "CREATE TABLE cp (code char(6) PRIMARY KEY, name text);
         {child};
         INSERT INTO cp VALUES ('ab', 'x'), ('abc', 'y'), ('x', 'z');
         {rows};"
    ));
    src
}

/// F1: ct 1 'ab  ' is a child of cp 'ab    ' (PostgreSQL's FK compares as char); it
/// is respelt with the parent's bytes before the `js`, so both become 'ab____' and the
/// FK holds on SQLite. Before, 'ab  ' became 'ab__' and the row was refused.
#[test]
fn a_text_child_of_a_char_key_is_respelt_before_a_transformer() {
    let src = source(
        "CREATE TABLE ct (id int PRIMARY KEY, code text REFERENCES cp(code))",
        "INSERT INTO ct VALUES (1, 'ab  '), (2, 'abc'), (3, 'x')",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let text = format!(
        "seed = \"s1\"\n{}[tables]\ninclude = [\"cp\", \"ct\"]\n[transform.cp]\n\
         code = {{ kind = \"js\", code = \"(value) => value.replace(/ /g, '_')\" }}\n",
        job(&src, &[&dest], "")
    );
    let told = Told::default();
    let report = sync_telling(&text, &told).unwrap_or_else(|e| panic!("copied: {e}"));
    assert!(report.ok, "{report:?}");
    assert_eq!(
        rows(&dest, "cp", "code"),
        [["ab____", "x"], ["abc___", "y"], ["x_____", "z"]]
    );
    assert_eq!(
        rows(&dest, "ct", "id"),
        [["1", "ab____"], ["2", "abc___"], ["3", "x_____"]]
    );
    assert!(dest.query("PRAGMA foreign_key_check").is_empty());
    let phases = told.0.lock().expect("lock").clone();
    assert!(
        phases
            .iter()
            .any(|p| p
                .starts_with("ct: FK ct_code_fkey (code) -> cp(code): 3 value(s) spelt otherwise than the parent key")),
        "{phases:#?}"
    );
}

/// F3: cu 1 'ab' and cu 2 'ab  ' (its own unique key) are both children of cp
/// 'ab    '. On SQLite the parent is `CHAR(6) COLLATE RTRIM`, whose FK lookup matches
/// both as they are: nothing is respelt, the bytes are kept, the FK holds. Before, the
/// run was refused (respelt, both would be 'ab    ').
#[test]
fn children_of_an_rtrim_parent_on_sqlite_keep_their_spelling() {
    let src = source(
        "CREATE TABLE cu (id int PRIMARY KEY, code varchar(10) UNIQUE REFERENCES cp(code))",
        "INSERT INTO cu VALUES (1, 'ab'), (2, 'ab  '), (3, 'abc')",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let told = Told::default();
    let report = sync_telling(&job(&src, &[&dest], "[tables]\ninclude = [\"cp\", \"cu\"]\n"), &told)
        .unwrap_or_else(|e| panic!("copied: {e}"));
    assert!(report.ok, "{report:?}");
    assert_eq!(rows(&dest, "cu", "id"), [["1", "ab"], ["2", "ab  "], ["3", "abc"]]);
    assert!(dest.query("PRAGMA foreign_key_check").is_empty());
    assert_eq!(one(&dest, "SELECT count(*) FROM cu JOIN cp ON cp.code = cu.code"), "3");
    let phases = told.0.lock().expect("lock").clone();
    assert!(!phases.iter().any(|p| p.contains("spelt otherwise")), "{phases:#?}");
}

/// F2: an enum (through a domain) given `constant "ok "` or `categorical ["ok", "sad "]`
/// is refused by the plan, for a MariaDB and a SQLite destination alike, naming the
/// column, the value and the labels; nothing is written. Labels themselves are copied
/// byte for byte. Before, MariaDB stored 'ok' and the run passed.
#[test]
fn a_transformer_value_that_is_not_a_label_of_the_enum_is_refused_by_the_plan() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'OK');
         CREATE DOMAIN dmood AS mood;
         CREATE TABLE multi (id int PRIMARY KEY, m mood, d dmood);
         INSERT INTO multi VALUES (1, 'sad', 'ok'), (2, 'OK', 'happy');",
    );
    let labels = "which is not a label of its enum ('sad', 'ok', 'happy', 'OK')";
    for dest_engine in [Engine::Mysql, Engine::Sqlite] {
        for (spec, bad) in [
            ("{ kind = \"constant\", value = \"ok \" }", "\"ok \""),
            ("{ kind = \"categorical\", values = [\"ok\", \"sad \"] }", "\"sad \""),
            ("{ kind = \"constant\", value = \"oops\" }", "\"oops\""),
        ] {
            let dest = TestDb::create(dest_engine);
            let err = sync(&format!(
                "seed = \"s1\"\n{}",
                job(&src, &[&dest], &format!("[transform.multi]\nd = {spec}\n"))
            ))
            .expect_err("refused")
            .to_string();
            assert!(
                err.contains(&format!("on multi.d writes {bad}, {labels}")),
                "{dest_engine:?} {spec}: {err}"
            );
            let tables = match dest_engine {
                Engine::Sqlite => one(&dest, "SELECT count(*) FROM sqlite_master WHERE name = 'multi'"),
                _ => one(
                    &dest,
                    "SELECT count(*) FROM information_schema.tables WHERE table_name = 'multi'",
                ),
            };
            assert_eq!(tables, "0", "{dest_engine:?} {spec}: nothing written");
        }
        let dest = TestDb::create(dest_engine);
        let ok = "[transform.multi]\nd = { kind = \"constant\", value = \"ok\" }\n";
        let report = sync(&format!("seed = \"s1\"\n{}", job(&src, &[&dest], ok)))
            .unwrap_or_else(|e| panic!("{dest_engine:?}: a label is written: {e}"));
        assert!(report.ok, "{report:?}");
        assert_eq!(
            rows(&dest, "multi", "id"),
            [["1", "sad", "ok"], ["2", "OK", "ok"]],
            "{dest_engine:?}"
        );
        assert_eq!(
            one(&dest, "SELECT count(*) FROM multi WHERE hex(d) = '6F6B'"),
            "2",
            "{dest_engine:?}"
        );
    }
}

/// F4: a SQLite `CHAR(6) COLLATE RTRIM` column (as Tether writes a char(n) there) read
/// back as a source for PostgreSQL becomes `character(6)`, which ignores trailing
/// spaces as RTRIM does: no "skipped collation" line. A TEXT COLLATE RTRIM column still
/// gets it. The data copies, 'ab' found by `= 'ab  '`.
#[test]
fn an_rtrim_char_column_copied_to_postgres_is_not_said_to_lose_its_collation() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE cp (code CHAR(6) COLLATE RTRIM PRIMARY KEY, note TEXT COLLATE RTRIM);
         INSERT INTO cp VALUES ('ab    ', 'x');",
    );
    let dest = TestDb::create(Engine::Postgres);
    let text = job(&src, &[&dest], "");
    let plan = items(&text);
    let skipped: Vec<String> = plan
        .iter()
        .filter(|i| i.kind == "collation")
        .map(|i| i.name.clone())
        .collect();
    assert_eq!(skipped, ["cp.note"], "{plan:#?}");
    let report = sync(&text).unwrap_or_else(|e| panic!("copied: {e}"));
    assert!(report.ok, "{report:?}");
    assert_eq!(one(&dest, "SELECT count(*) FROM cp WHERE code = 'ab'"), "1");
}
