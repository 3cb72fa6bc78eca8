//! Eighteenth session, review B: re-runs with `skip` / `update` into tables that already
//! hold rows. A SQLite primary key whose parts hold NULL tells no rows apart (NULLs
//! repeat there): such a table is refused like one whose nullable unique key holds NULL.
//! Two source keys that the destination holds as one (integer 1 and text '1' into a
//! text key, two spellings of one date) are refused naming both source rows, never one
//! kept and the other dropped or written over it.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

const ENGINES: [Engine; 3] = [Engine::Postgres, Engine::Sqlite, Engine::Mysql];

fn job(src: &TestDb, dest: &TestDb, table: &str, conflict: &str) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n[tables]\ninclude = [\"{table}\"]\n\
         [[destinations]]\nurl = \"{}\"\non_conflict = \"{conflict}\"\n",
        src.url, dest.url
    )
}

fn count(db: &TestDb, table: &str) -> String {
    one(db, &format!("SELECT count(*) FROM {table}"))
}

/// p's primary key (a, b) holds NULL in b on SQLite (which lets NULLs repeat there): the
/// first run copies the three rows; a re-run with `skip` or `update` is refused before
/// anything is written, naming p and its key, and p keeps its three rows.
#[test]
fn a_sqlite_primary_key_holding_null_tells_no_rows_apart_on_a_rerun() {
    for conflict in ["skip", "update"] {
        let src = TestDb::create(Engine::Sqlite);
        src.exec(
            "CREATE TABLE p (a int, b int, v text, PRIMARY KEY (a, b)); \
             INSERT INTO p VALUES (1, NULL, 'x'), (1, NULL, 'y'), (1, 1, 'z')",
        );
        let dest = TestDb::create(Engine::Sqlite);
        let report = sync(&job(&src, &dest, "p", conflict)).unwrap_or_else(|e| panic!("{conflict}: {e}"));
        assert!(report.ok, "{conflict}: {report:?}");
        assert_eq!(count(&dest, "p"), "3", "{conflict}");
        let e = sync(&job(&src, &dest, "p", conflict)).expect_err(&format!("{conflict}: must refuse"));
        let text = e.to_string();
        assert!(
            text.contains("table p already holds rows and has no key that tells its rows apart"),
            "{conflict}: {text}"
        );
        assert!(
            text.contains("(a, b) holds NULL in rows already there"),
            "{conflict}: {text}"
        );
        assert_eq!(count(&dest, "p"), "3", "{conflict}");
    }
}

/// A SQLite source whose t holds integer 1 and text '1' as two keys, into a destination
/// t(k text primary key) that already holds another row: the destination holds both as
/// '1'. `skip` and `update` stop naming both source rows; the row there stays, and no
/// destination row holds the values of both source rows in turn.
#[test]
fn two_source_keys_one_in_the_destination_are_refused_in_a_table_that_held_rows() {
    // One batch (the two rows met in it), and one row a batch (the second finds the
    // row the first wrote).
    let runs = ENGINES
        .iter()
        .flat_map(|&e| ["skip", "update"].map(|c| (e, c)))
        .flat_map(|(e, c)| [(e, c, ""), (e, c, "[options]\nbatch_size = 1\n")]);
    for (engine, conflict, options) in runs {
        {
            let src = TestDb::create(Engine::Sqlite);
            src.exec(
                "CREATE TABLE t (k PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'int'), ('1', 'text'), ('x', 'x')",
            );
            let dest = TestDb::create(engine);
            let text_type = match engine {
                Engine::Mysql => "varchar(10) COLLATE utf8mb4_bin",
                _ => "text",
            };
            dest.exec(&format!(
                "CREATE TABLE t (k {text_type} PRIMARY KEY, v text); INSERT INTO t VALUES ('zzz', 'pre')"
            ));
            let e = sync(&job(&src, &dest, "t", conflict).replace("[tables]", &format!("{options}[tables]")))
                .expect_err(&format!("{engine} {conflict} {options}: must refuse"));
            let text = e.to_string();
            assert!(text.contains("table t: row (k)=('1')"), "{engine} {conflict}: {text}");
            assert!(text.contains("the source's row (k)=(1)"), "{engine} {conflict}: {text}");
            assert!(
                text.contains("one key in the destination"),
                "{engine} {conflict}: {text}"
            );
            assert!(
                text.contains(&format!("on_conflict = \"{conflict}\"")),
                "{engine} {conflict}: {text}"
            );
            let all = rows(&dest, "t", "k");
            assert!(
                all.contains(&vec!["zzz".to_string(), "pre".to_string()]),
                "{engine} {conflict}: {all:?}"
            );
            // Never the second row's values over the first's.
            assert!(
                !all.contains(&vec!["1".to_string(), "text".to_string()]),
                "{engine} {conflict}: {all:?}"
            );
        }
    }
}

/// '2024-01-01' and '2024-01-01 00:00:00' are two keys of a SQLite source and one date
/// on PostgreSQL and MariaDB: into d holding another date, `skip` and `update` stop
/// naming both rows.
#[test]
fn two_spellings_of_one_date_are_refused_in_a_table_that_held_rows() {
    for engine in [Engine::Postgres, Engine::Mysql] {
        for conflict in ["skip", "update"] {
            let src = TestDb::create(Engine::Sqlite);
            src.exec(
                "CREATE TABLE d (k date PRIMARY KEY, v text); \
                 INSERT INTO d VALUES ('2024-01-01', 'a'), ('2024-01-01 00:00:00', 'b')",
            );
            let dest = TestDb::create(engine);
            dest.exec("CREATE TABLE d (k date PRIMARY KEY, v text); INSERT INTO d VALUES ('1999-01-01', 'pre')");
            let e = sync(&job(&src, &dest, "d", conflict)).expect_err(&format!("{engine} {conflict}: must refuse"));
            let text = e.to_string();
            assert!(
                text.contains("one key in the destination"),
                "{engine} {conflict}: {text}"
            );
            assert!(text.contains("'2024-01-01'"), "{engine} {conflict}: {text}");
            assert!(text.contains("'2024-01-01 00:00:00'"), "{engine} {conflict}: {text}");
            let all = rows(&dest, "d", "k");
            assert!(
                all.contains(&vec!["1999-01-01".to_string(), "pre".to_string()]),
                "{engine} {conflict}: {all:?}"
            );
            assert!(
                !all.iter().any(|r| r[1] == "b"),
                "{engine} {conflict}: the second row over the first: {all:?}"
            );
        }
    }
}

/// The check does not stand in the way of an ordinary re-run: keys there are kept
/// (`skip`) or overwritten (`update`), new ones added, across batches.
#[test]
fn a_rerun_with_distinct_keys_still_completes() {
    for engine in ENGINES {
        for conflict in ["skip", "update"] {
            let src = TestDb::create(Engine::Sqlite);
            src.exec(
                "CREATE TABLE t (k text PRIMARY KEY, v text); \
                 INSERT INTO t VALUES ('a', '1'), ('b', '2'), ('c', '3'), ('d', '4'), ('e', '5')",
            );
            let dest = TestDb::create(engine);
            dest.exec(
                "CREATE TABLE t (k varchar(10) PRIMARY KEY, v text); INSERT INTO t VALUES ('b', 'old'), ('z', 'z')",
            );
            let batched = job(&src, &dest, "t", conflict).replace("[tables]", "[options]\nbatch_size = 2\n[tables]");
            let report = sync(&batched).unwrap_or_else(|e| panic!("{engine} {conflict}: {e}"));
            assert!(report.ok, "{engine} {conflict}: {report:?}");
            let b = if conflict == "skip" { "old" } else { "2" };
            let want: Vec<Vec<String>> = [("a", "1"), ("b", b), ("c", "3"), ("d", "4"), ("e", "5"), ("z", "z")]
                .iter()
                .map(|(k, v)| vec![k.to_string(), v.to_string()])
                .collect();
            assert_eq!(rows(&dest, "t", "k"), want, "{engine} {conflict}");
        }
    }
}

/// A job's error names every other destination, one that wrote nothing too: the first
/// destination already holds row 1 (`on_conflict = "error"` rejects it), the second
/// holds every row and skips them all (nothing written). The message says of the
/// second that nothing was written.
#[test]
fn the_error_names_another_destination_that_wrote_nothing() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec("CREATE TABLE t (k int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b')");
    let first = TestDb::create(Engine::Sqlite);
    first.exec("CREATE TABLE t (k int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a')");
    let second = TestDb::create(Engine::Sqlite);
    second.exec("CREATE TABLE t (k int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b')");
    let job = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[tables]\ninclude = [\"t\"]\n\
         [[destinations]]\nurl = \"{}\"\non_conflict = \"error\"\n\
         [[destinations]]\nurl = \"{}\"\non_conflict = \"skip\"\n",
        src.url, first.url, second.url
    );
    let text = sync(&job).expect_err("row 1 is there on the first").to_string();
    assert!(text.contains("the other destinations stopped too"), "{text}");
    assert!(text.contains(&format!("{}: nothing was written", second.url)), "{text}");
    assert_eq!(rows(&second, "t", "k"), vec![vec!["1", "a"], vec!["2", "b"]]);
}

/// Into a table the run creates on MariaDB (`on_conflict = "error"`), integer 1 and text
/// '1' of a SQLite source clash: the explanation names a difference of type as well as
/// one of case or spaces.
#[test]
fn a_clash_of_two_types_is_explained_as_such() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec("CREATE TABLE t (k PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'int'), ('1', 'text')");
    let dest = TestDb::create(Engine::Mysql);
    let text = sync(&job(&src, &dest, "t", "error"))
        .expect_err("one key on MariaDB")
        .to_string();
    assert!(
        text.contains("or only in type (a SQLite source's integer 1 and text '1'"),
        "{text}"
    );
}
