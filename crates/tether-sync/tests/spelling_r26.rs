//! Twenty-sixth review (r26e F1): a re-run with `on_conflict = "update"` or `"skip"`
//! into a PostgreSQL key of a nondeterministic (case-insensitive) collation, or a
//! SQLite `COLLATE NOCASE` key, took the source's renamed key 'ABC' for the 'abc'
//! already there: `update` left 'abc' and the job said every table had the source's
//! rows; `skip` dropped the row. MariaDB refused the same row, naming the key, both
//! spellings and the collation; PostgreSQL and SQLite destinations now refuse it alike,
//! before anything of the batch is written, and so a second spelling within one run.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

fn job(src: &TestDb, dest: &TestDb, conflict: &str) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\non_conflict = \"{conflict}\"\n",
        src.url, dest.url
    )
}

fn r(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Copies `cat` ('abc', 'def'), renames the source's 'abc' to 'ABC' (label 'X2') and
/// runs again with `conflict`: refused with `refusal`, the destination keeping its rows.
fn assert_rename_refused(src: &TestDb, dest: &TestDb, conflict: &str, refusal: &str) {
    let what = format!("{} -> {} ({conflict})", src.engine, dest.engine);
    let report = sync(&job(src, dest, conflict)).unwrap_or_else(|e| panic!("{what}: first run: {e}"));
    assert!(report.ok, "{what}: {report:?}");
    let first = vec![r(&["abc", "x"]), r(&["def", "y"])];
    assert_eq!(rows(dest, "cat", "label"), first, "{what}");
    src.exec("UPDATE cat SET code = 'ABC', label = 'X2' WHERE code = 'abc'");
    let e = match sync(&job(src, dest, conflict)) {
        Ok(report) => panic!("{what}: not refused: {report:?}; {:?}", rows(dest, "cat", "label")),
        Err(e) => e.to_string(),
    };
    assert!(e.contains(refusal), "{what}: {e}");
    assert_eq!(rows(dest, "cat", "label"), first, "{what}: {e}");
}

const PG_REFUSAL: &str = "table cat: row (code)=('ABC') was rejected: the destination holds a row whose key (code) \
                          = ('abc') differs from this row's only in case, accents or trailing spaces, which the \
                          key's collation there compares as equal (code is ci): the source tells them apart, this \
                          destination cannot hold both. Nothing was written for this row: on_conflict would drop \
                          it (skip) or write it over that row (update). Give the key column a collation that tells \
                          them apart there (a deterministic one, as \"C\"), or transform the key";

const SQLITE_REFUSAL: &str = "table cat: row (code)=('ABC') was rejected: the destination holds a row whose key \
                              (code) = ('abc') differs from this row's only in case, accents or trailing spaces, \
                              which the key's collation there compares as equal (code is NOCASE): the source tells \
                              them apart, this destination cannot hold both. Nothing was written for this row: \
                              on_conflict would drop it (skip) or write it over that row (update). Give the key \
                              column a collation that tells them apart there (as BINARY), or transform the key";

/// PostgreSQL -> PostgreSQL, the key of an ICU collation that ignores case: `update`
/// and `skip` re-runs are refused, the destination keeping 'abc'.
#[test]
fn a_postgresql_case_insensitive_key_renamed_at_the_source_is_refused_on_a_rerun() {
    for conflict in ["update", "skip"] {
        let src = TestDb::create(Engine::Postgres);
        src.exec(
            "CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
             CREATE TABLE cat (code text COLLATE ci PRIMARY KEY, label text);
             INSERT INTO cat VALUES ('abc', 'x'), ('def', 'y');",
        );
        let dest = TestDb::create(Engine::Postgres);
        assert_rename_refused(&src, &dest, conflict, PG_REFUSAL);
    }
}

/// SQLite -> SQLite, a `COLLATE NOCASE` key: the same.
#[test]
fn a_sqlite_nocase_key_renamed_at_the_source_is_refused_on_a_rerun() {
    for conflict in ["update", "skip"] {
        let src = TestDb::create(Engine::Sqlite);
        src.exec(
            "CREATE TABLE cat (code TEXT COLLATE NOCASE PRIMARY KEY, label TEXT);
             INSERT INTO cat VALUES ('abc', 'x'), ('def', 'y');",
        );
        let dest = TestDb::create(Engine::Sqlite);
        assert_rename_refused(&src, &dest, conflict, SQLITE_REFUSAL);
    }
}

/// A source telling 'abc' and 'ABC' apart into a destination key that does not, with
/// `skip`: the second was dropped without a word (one row of two written, the job
/// verified). It is refused, nothing of the batch written.
#[test]
fn two_spellings_of_one_key_in_one_run_are_refused_with_skip() {
    for engine in [Engine::Postgres, Engine::Sqlite] {
        let src = TestDb::create(engine);
        src.exec("CREATE TABLE cat (code varchar(10) PRIMARY KEY, label varchar(10));");
        src.exec("INSERT INTO cat VALUES ('abc', 'x'), ('ABC', 'X2');");
        let dest = TestDb::create(engine);
        match engine {
            Engine::Postgres => dest.exec(
                "CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
                 CREATE TABLE cat (code varchar(10) COLLATE ci PRIMARY KEY, label varchar(10));",
            ),
            _ => dest.exec("CREATE TABLE cat (code varchar(10) COLLATE NOCASE PRIMARY KEY, label varchar(10));"),
        }
        let e = sync(&job(&src, &dest, "skip"))
            .map(|report| format!("not refused: {report:?}; {:?}", rows(&dest, "cat", "label")))
            .unwrap_or_else(|e| e.to_string());
        let collation = match engine {
            Engine::Postgres => "code is ci",
            _ => "code is NOCASE",
        };
        // (Which of the two comes first is the source's order of reading.)
        let said = |row: &str, there: &str| {
            format!(
                "table cat: row (code)=('{row}') was rejected: the destination holds a row whose key (code) = \
                 ('{there}') differs from this row's only in case, accents or trailing spaces, which the key's \
                 collation there compares as equal ({collation})"
            )
        };
        assert!(
            e.contains(&said("ABC", "abc")) || e.contains(&said("abc", "ABC")),
            "{engine}: {e}"
        );
        assert_eq!(rows(&dest, "cat", "label"), Vec::<Vec<String>>::new(), "{engine}: {e}");
    }
}
