//! Twenty-sixth review (r26e F2): `max_children_per_parent` counted per distinct child
//! value, not per parent row, where the FK compares without case or trailing spaces: a
//! MariaDB `_ci` parent 'abc' with children 'abc', 'ABC', 'abc ' and 'Abc' got all four
//! under a cap of 1 (`tether plan` said "at most 1 per parent"), and within a parent
//! the rows were not the lowest keys. Each child now counts against the parent value
//! the FK matched it to; the parents come with their children.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

fn job(src: &TestDb, dest: &TestDb, cap: u32, parent: &str) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\n\
         [subset]\ncopy_unrelated = false\nmax_children_per_parent = {cap}\n\
         [[subset.targets]]\ntable = \"{parent}\"\nwhere = \"code IN ('abc', 'def')\"\n",
        src.url, dest.url
    )
}

fn r(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// MariaDB `utf8mb4_general_ci` (PAD SPACE): parent 'abc' has four children spelt
/// otherwise, 'def' three. A cap of 2 keeps each parent's two lowest ids; a cap of 1
/// one (on SQLite they take their parent's spelling, README "respelt").
#[test]
fn a_case_insensitive_mariadb_fk_is_capped_per_parent_row() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE region (code varchar(10) COLLATE utf8mb4_general_ci PRIMARY KEY) ENGINE=InnoDB;
         CREATE TABLE city (id int PRIMARY KEY, region_code varchar(10) COLLATE utf8mb4_general_ci NOT NULL,
           FOREIGN KEY (region_code) REFERENCES region (code)) ENGINE=InnoDB;
         INSERT INTO region VALUES ('abc'), ('def'), ('ghi');
         INSERT INTO city VALUES (1, 'Abc'), (2, 'abc '), (3, 'ABC'), (4, 'abc'), (5, 'DEF'), (6, 'def'), (7, 'def'),
           (8, 'ghi');",
    );
    for (cap, expected) in [
        (
            2,
            vec![r(&["1", "abc"]), r(&["2", "abc"]), r(&["5", "def"]), r(&["6", "def"])],
        ),
        (1, vec![r(&["1", "abc"]), r(&["5", "def"])]),
    ] {
        let dest = TestDb::create(Engine::Sqlite);
        let report = sync(&job(&src, &dest, cap, "region")).unwrap_or_else(|e| panic!("cap {cap}: {e}"));
        assert!(report.ok, "cap {cap}: {report:?}");
        assert_eq!(rows(&dest, "city", "id"), expected, "cap {cap}");
        assert_eq!(
            rows(&dest, "region", "code"),
            vec![r(&["abc"]), r(&["def"])],
            "cap {cap}"
        );
    }
}

/// PostgreSQL, a parent key of a nondeterministic ICU collation that ignores case, its
/// children's column of the default one: 'ABC' and 'abc' are children of 'abc'.
#[test]
fn a_postgresql_nondeterministic_parent_key_is_capped_per_parent_row() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
         CREATE TABLE par (code text COLLATE ci PRIMARY KEY);
         CREATE TABLE kid (id int PRIMARY KEY, code text NOT NULL REFERENCES par (code));
         INSERT INTO par VALUES ('abc'), ('def');
         INSERT INTO kid VALUES (1, 'ABC'), (2, 'abc'), (3, 'aBc'), (4, 'DEF'), (5, 'Def');",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let report = sync(&job(&src, &dest, 1, "par")).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok, "{report:?}");
    assert_eq!(rows(&dest, "kid", "id"), vec![r(&["1", "ABC"]), r(&["4", "DEF"])]);
    assert_eq!(rows(&dest, "par", "code"), vec![r(&["abc"]), r(&["def"])]);
}
