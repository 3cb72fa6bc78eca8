//! Seventeenth session: `skip` (and `update` with nothing outside the key to set) into a
//! PostgreSQL or SQLite table (MariaDB: review B, where such a row whose key was there
//! went in again) that has no primary or unique key on exactly the row's
//! key used a target-less `ON CONFLICT DO NOTHING`, which drops a row clashing on any
//! key: a row whose own key was not in the destination was lost without a word. Now
//! such a row goes in unless its key is there, and a clash on another key is an error
//! naming the table and the key, as with a matching key (failure_r16.rs).

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

// MariaDB: ON DUPLICATE KEY fires only on the table's own keys, so there the rows are
// read from a derived table and inserted `WHERE NOT EXISTS` (review B of the session).
const ENGINES: [Engine; 3] = [Engine::Postgres, Engine::Sqlite, Engine::Mysql];

fn job(src: &TestDb, dest: &TestDb, table: &str, conflict: &str) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n[options]\nbatch_size = 2\n[tables]\ninclude = [\"{table}\"]\n\
         [[destinations]]\nurl = \"{}\"\non_conflict = \"{conflict}\"\n",
        src.url, dest.url
    )
}

fn want(rows: &[(i64, i64, i64)]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|(a, b, c)| vec![a.to_string(), b.to_string(), c.to_string()])
        .collect()
}

/// The destination's c has no key on id (the source's primary key), only (p, v); it
/// holds row 3 (the source's row 3 too: kept as it was) and row 100 with (p, v) = (1, 1),
/// which the source's row 1 clashes with. The run fails naming c and the row key; row 1
/// is not there. Without row 100 it completes with rows 1, 2 and 4 added, 3 as it was.
#[test]
fn skip_without_a_key_on_the_row_key_refuses_a_clash_on_another_key() {
    for engine in ENGINES {
        let src = TestDb::create(Engine::Sqlite);
        src.exec(
            "CREATE TABLE c (id int PRIMARY KEY, p int NOT NULL, v int NOT NULL); \
             INSERT INTO c VALUES (1, 1, 1), (2, 2, 2), (3, 3, 3), (4, 4, 4)",
        );
        let dest = TestDb::create(engine);
        dest.exec(
            "CREATE TABLE c (id int NOT NULL, p int NOT NULL, v int NOT NULL, \
             CONSTRAINT c_pv UNIQUE (p, v)); INSERT INTO c VALUES (3, 9, 9), (100, 1, 1)",
        );
        let e = sync(&job(&src, &dest, "c", "skip")).expect_err(&format!("{engine}: must refuse"));
        let text = e.to_string();
        assert!(text.contains("table c"), "{engine}: {text}");
        assert!(text.contains("on_conflict = \"skip\""), "{engine}: {text}");
        let all = rows(&dest, "c", "id");
        assert!(
            all.iter().all(|r| r[0] != "1"),
            "{engine}: row 1 must not be there: {all:?}"
        );
        assert!(all.contains(&want(&[(100, 1, 1)])[0]), "{engine}: {all:?}");
        assert!(all.contains(&want(&[(3, 9, 9)])[0]), "{engine}: {all:?}");

        dest.exec("DELETE FROM c WHERE id = 100");
        let report = sync(&job(&src, &dest, "c", "skip")).unwrap_or_else(|e| panic!("{engine}: {e}"));
        assert!(report.ok, "{engine}: {report:?}");
        assert_eq!(
            rows(&dest, "c", "id"),
            want(&[(1, 1, 1), (2, 2, 2), (3, 9, 9), (4, 4, 4)]),
            "{engine}"
        );
        // Again: every key is there, nothing changes and nothing is added.
        let report = sync(&job(&src, &dest, "c", "skip")).unwrap_or_else(|e| panic!("{engine}: {e}"));
        assert!(report.ok, "{engine}: {report:?}");
        assert_eq!(
            rows(&dest, "c", "id"),
            want(&[(1, 1, 1), (2, 2, 2), (3, 9, 9), (4, 4, 4)]),
            "{engine}"
        );
    }
}

/// `update` of a table whose every column is in the key has nothing to set: it keeps a
/// row whose key is there. The destination's k has a key on b only and holds (5, 1); the
/// source's (1, 1) clashes with it on b and must not vanish.
#[test]
fn update_with_nothing_to_set_refuses_a_clash_on_another_key() {
    for engine in ENGINES {
        let src = TestDb::create(Engine::Sqlite);
        src.exec(
            "CREATE TABLE k (a int NOT NULL, b int NOT NULL, w int NOT NULL, PRIMARY KEY (a, b, w)); \
             INSERT INTO k VALUES (1, 1, 0), (2, 2, 0)",
        );
        let dest = TestDb::create(engine);
        dest.exec(
            "CREATE TABLE k (a int NOT NULL, b int NOT NULL, w int NOT NULL, CONSTRAINT k_b UNIQUE (b)); \
             INSERT INTO k VALUES (5, 1, 0)",
        );
        let e = sync(&job(&src, &dest, "k", "update")).expect_err(&format!("{engine}: must refuse"));
        assert!(e.to_string().contains("table k"), "{engine}: {e}");
        let all = rows(&dest, "k", "a");
        assert_eq!(all, want(&[(5, 1, 0)]), "{engine}");

        dest.exec("DELETE FROM k");
        dest.exec("INSERT INTO k VALUES (2, 2, 0)");
        let report = sync(&job(&src, &dest, "k", "update")).unwrap_or_else(|e| panic!("{engine}: {e}"));
        assert!(report.ok, "{engine}: {report:?}");
        assert_eq!(rows(&dest, "k", "a"), want(&[(1, 1, 0), (2, 2, 0)]), "{engine}");
    }
}

/// Review K (seventeenth session): the rows-found-by-the-INSERT form compared keys as the
/// destination's column does: into a SQLite NOCASE or PostgreSQL citext column without a
/// key on it (only on v), a source row 'A' was taken for the 'a' just written and skipped
/// (1 of 2 rows, verification failed). Keys are compared byte for byte: both rows arrive,
/// once, and a second run adds nothing.
#[test]
fn skip_tells_keys_apart_byte_for_byte_in_a_caseless_column() {
    for (engine, table) in [
        (
            Engine::Sqlite,
            "CREATE TABLE p (name TEXT COLLATE NOCASE, v INT UNIQUE)",
        ),
        (
            Engine::Postgres,
            "CREATE EXTENSION IF NOT EXISTS citext; CREATE TABLE p (name citext, v int UNIQUE)",
        ),
    ] {
        let src = TestDb::create(Engine::Postgres);
        src.exec("CREATE TABLE p (name text PRIMARY KEY, v int); INSERT INTO p VALUES ('a', 1), ('A', 2)");
        let dest = TestDb::create(engine);
        dest.exec(table);
        // (batch_size = 2 in `job`: the PostgreSQL form sees rows of earlier statements only.)
        let job = job(&src, &dest, "p", "skip").replace("batch_size = 2", "batch_size = 1");
        for _ in 0..2 {
            let report = sync(&job).unwrap_or_else(|e| panic!("{engine}: {e}"));
            assert!(report.ok, "{engine}: {report:?}");
            let mut all = rows(&dest, "p", "v");
            all.sort();
            assert_eq!(
                all,
                vec![vec!["A".to_string(), "2".into()], vec!["a".to_string(), "1".into()]],
                "{engine}"
            );
        }
    }
}
