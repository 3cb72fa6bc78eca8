//! Twenty-sixth review, second round (r26k): `max_children_per_parent` found a child's
//! parent by its value as it is, then without trailing spaces, then without case too,
//! whatever the FK's comparison: where the FK ignores case but not trailing spaces
//! (SQLite NOCASE, a PostgreSQL nondeterministic ICU collation, MariaDB `_nopad_ci`),
//! a child 'ABC ' of the parent 'abc ' counted against the parent 'abc'; SQLite
//! children '01' and '+1' (a TEXT column) of an INTEGER parent 1 counted as groups of
//! their own. A child that is none of its parents' values as it is is now matched by
//! the source, with the FK's own comparison.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

fn job(src: &TestDb, dest: &TestDb, cap: u32, parent: &str, target: &str) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\n\
         [subset]\ncopy_unrelated = false\nmax_children_per_parent = {cap}\n\
         [[subset.targets]]\ntable = \"{parent}\"\nwhere = \"{target}\"\n",
        src.url, dest.url
    )
}

/// Parents 'abc' and 'abc ' (distinct where the FK ignores case, not trailing spaces);
/// children 1 'ABC ' and 2 'abc ' of 'abc ', 3 'ABC' and 4 'abc' of 'abc'. A cap of 1
/// keeps the lowest id of each parent: 1 and 3 (before: 1 and 2, 'ABC ' taken for a
/// child of 'abc').
fn assert_case_not_spaces(src: &TestDb) {
    src.exec(
        "INSERT INTO par VALUES ('abc'), ('abc ');
         INSERT INTO kid VALUES (1, 'ABC '), (2, 'abc '), (3, 'ABC'), (4, 'abc');",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let what = format!("{}", src.engine);
    let report = sync(&job(src, &dest, 1, "par", "code IS NOT NULL")).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(report.ok, "{what}: {report:?}");
    let ids: Vec<String> = rows(&dest, "kid", "id").into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(ids, vec!["1", "3"], "{what}: {:?}", rows(&dest, "kid", "id"));
    assert_eq!(
        dest.query("SELECT count(*) FROM par")[0][0].as_deref(),
        Some("2"),
        "{what}"
    );
}

#[test]
fn a_sqlite_nocase_fk_counts_a_child_against_the_parent_with_its_trailing_spaces() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE par (code TEXT COLLATE NOCASE PRIMARY KEY);
         CREATE TABLE kid (id INTEGER PRIMARY KEY, code TEXT NOT NULL REFERENCES par (code));",
    );
    assert_case_not_spaces(&src);
}

#[test]
fn a_postgresql_nondeterministic_fk_counts_a_child_against_the_parent_with_its_trailing_spaces() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
         CREATE TABLE par (code text COLLATE ci PRIMARY KEY);
         CREATE TABLE kid (id int PRIMARY KEY, code text COLLATE ci NOT NULL REFERENCES par (code));",
    );
    assert_case_not_spaces(&src);
}

#[test]
fn a_mariadb_nopad_ci_fk_counts_a_child_against_the_parent_with_its_trailing_spaces() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE par (code varchar(10) COLLATE utf8mb4_general_nopad_ci PRIMARY KEY) ENGINE=InnoDB;
         CREATE TABLE kid (id int PRIMARY KEY, code varchar(10) COLLATE utf8mb4_general_nopad_ci NOT NULL,
           FOREIGN KEY (code) REFERENCES par (code)) ENGINE=InnoDB;",
    );
    assert_case_not_spaces(&src);
}

/// SQLite NOCASE folds ASCII letters only: parents 'Éx' and 'éx' are two, and the
/// child 'éX' is one of 'éx' (lower-cased as a whole it is 'éx', also the lower case of
/// 'Éx', which comes first). Cap 1: ids 1 ('éX' of 'éx') and 2 ('Éx').
#[test]
fn a_sqlite_nocase_fk_folds_ascii_only() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE par (code TEXT COLLATE NOCASE PRIMARY KEY);
         CREATE TABLE kid (id INTEGER PRIMARY KEY, code TEXT NOT NULL REFERENCES par (code));
         INSERT INTO par VALUES ('Éx'), ('éx');
         INSERT INTO kid VALUES (1, 'éX'), (2, 'Éx'), (3, 'éx');",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let report = sync(&job(&src, &dest, 1, "par", "code IS NOT NULL")).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok, "{report:?}");
    let ids: Vec<String> = rows(&dest, "kid", "id").into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(ids, vec!["1", "2"], "{:?}", rows(&dest, "kid", "id"));
}

/// SQLite: a TEXT child column of an INTEGER parent holds '01', '+1', ' 2' as text
/// (an INTEGER column would have stored 1, 1, 2); the FK applies the parent's affinity,
/// so '01', '+1' and '1' are children of 1, ' 2' and '2' of 2. Cap 1: ids 1 and 4;
/// cap 2: 1, 2, 4, 5 (before: every one of them, each spelling a group of its own).
#[test]
fn sqlite_text_children_of_an_integer_parent_count_against_it() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE par (id INTEGER PRIMARY KEY);
         CREATE TABLE kid (id INTEGER PRIMARY KEY, pid TEXT NOT NULL REFERENCES par (id));
         INSERT INTO par VALUES (1), (2), (3);
         INSERT INTO kid VALUES (1, '01'), (2, '+1'), (3, '1'), (4, ' 2'), (5, '2'), (6, '3');",
    );
    assert_eq!(
        src.query("SELECT typeof(pid) FROM kid WHERE id = 1")[0][0].as_deref(),
        Some("text")
    );
    for (cap, expected) in [(1, vec!["1", "4"]), (2, vec!["1", "2", "4", "5"])] {
        let dest = TestDb::create(Engine::Sqlite);
        let report = sync(&job(&src, &dest, cap, "par", "id IN (1, 2)")).unwrap_or_else(|e| panic!("cap {cap}: {e}"));
        assert!(report.ok, "cap {cap}: {report:?}");
        let ids: Vec<String> = rows(&dest, "kid", "id").into_iter().map(|r| r[0].clone()).collect();
        assert_eq!(ids, expected, "cap {cap}: {:?}", rows(&dest, "kid", "id"));
        assert_eq!(keys(&dest, "par", "id"), vec!["1", "2"], "cap {cap}");
    }
}

/// SQLite RTRIM (trailing spaces ignored, case kept): parents 'abc' and 'ABC'; 'ABC '
/// is a child of 'ABC'. Cap 1: ids 1 ('ABC ' of 'ABC') and 3 ('abc ' of 'abc').
#[test]
fn a_sqlite_rtrim_fk_keeps_case() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE par (code TEXT COLLATE RTRIM PRIMARY KEY);
         CREATE TABLE kid (id INTEGER PRIMARY KEY, code TEXT NOT NULL REFERENCES par (code));
         INSERT INTO par VALUES ('abc'), ('ABC');
         INSERT INTO kid VALUES (1, 'ABC '), (2, 'ABC'), (3, 'abc '), (4, 'abc');",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let report = sync(&job(&src, &dest, 1, "par", "code IS NOT NULL")).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok, "{report:?}");
    let ids: Vec<String> = rows(&dest, "kid", "id").into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(ids, vec!["1", "3"], "{:?}", rows(&dest, "kid", "id"));
}
