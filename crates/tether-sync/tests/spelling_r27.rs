//! Twenty-sixth review, second round (r26k): the re-run spelling check read the key
//! column's collation, not that of the unique index `ON CONFLICT (key)` finds rows
//! through. A destination key indexed `(code COLLATE ci)` (or a domain over citext, or
//! SQLite's `(code COLLATE NOCASE)`) took a renamed 'ABC' for the 'abc' there without
//! a word; a case-insensitive column indexed in "C" (SQLite: BINARY), which tells them
//! apart, had its valid re-run refused. The check now compares as the index does.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

fn job(src: &TestDb, dest: &TestDb, conflict: &str) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\non_conflict = \"{conflict}\"\n\
         create_tables = false\n",
        src.url, dest.url
    )
}

fn r(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn refusal(collation: &str, advice: &str) -> String {
    format!(
        "table cat: row (code)=('ABC') was rejected: the destination holds a row whose key (code) = ('abc') \
         differs from this row's only in case, accents or trailing spaces, which the key's collation there \
         compares as equal (code is {collation}): the source tells them apart, this destination cannot hold \
         both. Nothing was written for this row: on_conflict would drop it (skip) or write it over that row \
         (update). Give the key column a collation that tells them apart there ({advice}), or transform the key"
    )
}

/// A source `cat` ('abc' x, 'def' y) of `engine` with a binary key.
fn source(engine: Engine) -> TestDb {
    let src = TestDb::create(engine);
    src.exec("CREATE TABLE cat (code varchar(10) PRIMARY KEY, label varchar(10))");
    src.exec("INSERT INTO cat VALUES ('abc', 'x'), ('def', 'y')");
    src
}

/// Copies, renames the source's 'abc' to 'ABC' (label 'X2') and runs again with
/// `conflict`: refused with `refusal`, the destination keeping its rows.
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

/// Copies, renames, runs again with `conflict`: the destination's index tells 'ABC'
/// from 'abc', so the re-run writes 'ABC' as a row of its own and keeps 'abc'.
fn assert_rename_written(src: &TestDb, dest: &TestDb, conflict: &str, order: &str) {
    let what = format!("{} -> {} ({conflict})", src.engine, dest.engine);
    let report = sync(&job(src, dest, conflict)).unwrap_or_else(|e| panic!("{what}: first run: {e}"));
    assert!(report.ok, "{what}: {report:?}");
    src.exec("UPDATE cat SET code = 'ABC', label = 'X2' WHERE code = 'abc'");
    let report = sync(&job(src, dest, conflict)).unwrap_or_else(|e| panic!("{what}: second run: {e}"));
    assert!(report.ok, "{what}: {report:?}");
    assert_eq!(
        rows(dest, "cat", order),
        vec![r(&["ABC", "X2"]), r(&["abc", "x"]), r(&["def", "y"])],
        "{what}"
    );
}

const CI: &str = "CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);";

/// PostgreSQL: a deterministic key column whose unique index is `(code COLLATE ci)`.
#[test]
fn a_postgresql_key_indexed_in_a_nondeterministic_collation_is_checked_on_a_rerun() {
    for conflict in ["update", "skip"] {
        let src = source(Engine::Postgres);
        let dest = TestDb::create(Engine::Postgres);
        dest.exec(&format!(
            "{CI} CREATE TABLE cat (code varchar(10) NOT NULL, label varchar(10));
             CREATE UNIQUE INDEX cat_code_ci ON cat (code COLLATE ci);"
        ));
        assert_rename_refused(&src, &dest, conflict, &refusal("ci", "a deterministic one, as \"C\""));
    }
}

/// PostgreSQL: a key of a domain over citext.
#[test]
fn a_postgresql_key_of_a_domain_over_citext_is_checked_on_a_rerun() {
    for conflict in ["update", "skip"] {
        let src = source(Engine::Postgres);
        let dest = TestDb::create(Engine::Postgres);
        dest.exec(
            "CREATE EXTENSION IF NOT EXISTS citext;
             CREATE DOMAIN code_t AS citext;
             CREATE TABLE cat (code code_t PRIMARY KEY, label varchar(10));",
        );
        assert_rename_refused(
            &src,
            &dest,
            conflict,
            &refusal("citext", "a deterministic one, as \"C\""),
        );
    }
}

/// PostgreSQL: a case-insensitive column whose unique index is in "C": 'ABC' is no
/// conflict there, the re-run is valid (it was refused).
#[test]
fn a_postgresql_ci_column_indexed_in_c_is_not_refused_on_a_rerun() {
    for conflict in ["update", "skip"] {
        let src = source(Engine::Postgres);
        let dest = TestDb::create(Engine::Postgres);
        dest.exec(&format!(
            "{CI} CREATE TABLE cat (code varchar(10) COLLATE ci NOT NULL, label varchar(10));
             CREATE UNIQUE INDEX cat_code_c ON cat (code COLLATE \"C\");"
        ));
        assert_rename_written(&src, &dest, conflict, "label COLLATE \"C\"");
    }
}

/// SQLite: a BINARY column whose unique index is `(code COLLATE NOCASE)`.
#[test]
fn a_sqlite_key_indexed_nocase_is_checked_on_a_rerun() {
    for conflict in ["update", "skip"] {
        let src = source(Engine::Sqlite);
        let dest = TestDb::create(Engine::Sqlite);
        dest.exec(
            "CREATE TABLE cat (code varchar(10) NOT NULL, label varchar(10));
             CREATE UNIQUE INDEX cat_code_ci ON cat (code COLLATE NOCASE);",
        );
        assert_rename_refused(&src, &dest, conflict, &refusal("NOCASE", "as BINARY"));
    }
}

/// SQLite: a NOCASE column whose unique index is `(code COLLATE BINARY)`: valid.
#[test]
fn a_sqlite_nocase_column_indexed_binary_is_not_refused_on_a_rerun() {
    for conflict in ["update", "skip"] {
        let src = source(Engine::Sqlite);
        let dest = TestDb::create(Engine::Sqlite);
        dest.exec(
            "CREATE TABLE cat (code varchar(10) COLLATE NOCASE NOT NULL, label varchar(10));
             CREATE UNIQUE INDEX cat_code_bin ON cat (code COLLATE BINARY);",
        );
        assert_rename_written(&src, &dest, conflict, "label COLLATE BINARY");
    }
}
