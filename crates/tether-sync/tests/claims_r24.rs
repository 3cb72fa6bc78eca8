//! Twenty-fourth session (review r24b F1): two source rows whose keys are one key in the
//! destination (spellings of one datetime, text a caseless collation compares as equal)
//! were checked only when the destination table held rows before the run. Into a table
//! the run created, or one there empty, `on_conflict = "skip"` kept one of them and
//! dropped the others, the one-transaction load COMMITTED, and only the count check
//! said something was wrong (exit 4, no rows named). Now the run is refused before
//! anything commits, naming the table and both rows, under every `on_conflict`; with
//! `"error"` PostgreSQL's raw 23505 at the key built after the load is explained too.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

const DESTS: [Engine; 2] = [Engine::Postgres, Engine::Mysql];

/// A SQLite table keyed by DATETIME holding three spellings of one instant, and a child
/// referencing one of them.
fn datetime_source() -> TestDb {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE e (t DATETIME PRIMARY KEY, v int); \
         INSERT INTO e VALUES ('2024-01-01 00:00:00', 1), ('2024-01-01T00:00:00', 2), \
         ('2024-01-01 00:00:00.000', 4); \
         CREATE TABLE f (id integer PRIMARY KEY, t DATETIME REFERENCES e (t)); \
         INSERT INTO f VALUES (1, '2024-01-01T00:00:00');",
    );
    src
}

fn job(src: &TestDb, dest: &TestDb, conflict: &str) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\non_conflict = \"{conflict}\"\n",
        src.url, dest.url
    )
}

fn tables(dest: &TestDb) -> Vec<String> {
    let sql = match dest.engine {
        Engine::Postgres => {
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
        }
        _ => "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1",
    };
    dest.query(sql)
        .into_iter()
        .map(|r| r[0].clone().expect("name"))
        .collect()
}

/// Into tables the run creates: `skip` and `update` are refused naming both source rows
/// of the clash, before any write of the colliding batch commits (PostgreSQL's one
/// transaction is rolled back; MariaDB's created tables are dropped again): no table
/// is left. `error`: MariaDB's 1062 and PostgreSQL's 23505 (a key built after the
/// staged load) both say the keys are two spellings of one value.
#[test]
fn spellings_of_one_datetime_into_created_tables_are_refused_under_every_mode() {
    let src = datetime_source();
    for engine in DESTS {
        for conflict in ["skip", "update"] {
            let dest = TestDb::create(engine);
            let e = sync(&job(&src, &dest, conflict)).expect_err(&format!("{engine} {conflict}: must refuse"));
            let text = e.to_string();
            assert!(
                text.contains(
                    "table e: row (t)=('2024-01-01T00:00:00') was rejected: its key and that of the source's row \
                     (t)=('2024-01-01 00:00:00') are two keys on the source but one key in the destination"
                ),
                "{engine} {conflict}: {text}"
            );
            let lost = match conflict {
                "skip" => "on_conflict = \"skip\" would keep one of them and drop the other",
                _ => "on_conflict = \"update\" would write one of them over the other",
            };
            assert!(text.contains(lost), "{engine} {conflict}: {text}");
            assert!(
                text.contains("2 tables created by this run dropped again (e, f)"),
                "{engine} {conflict}: {text}"
            );
            assert_eq!(tables(&dest), Vec::<String>::new(), "{engine} {conflict}");
        }
        let dest = TestDb::create(engine);
        let e = sync(&job(&src, &dest, "error")).expect_err(&format!("{engine} error: must refuse"));
        let text = e.to_string();
        let (raw, why) = match engine {
            Engine::Postgres => (
                "table e: row (t)=(2024-01-01 00:00:00) was rejected: key e_pkey does not hold: server error 23505: \
                 could not create unique index \"e_pkey\"",
                "the table was created by this run, so two rows of the source clash here: their keys are two \
                 spellings of one value of the key's type",
            ),
            _ => (
                "table e: row (t)=('2024-01-01T00:00:00') was rejected: server error 1062 (23000): Duplicate entry \
                 '2024-01-01 00:00:00.000000' for key 'PRIMARY'",
                "the table was empty before this run, so two rows of the source clash here: their keys are two \
                 spellings of one value of the key's type",
            ),
        };
        assert!(text.contains(raw), "{engine} error: {text}");
        assert!(text.contains(why), "{engine} error: {text}");
        assert_eq!(tables(&dest), Vec::<String>::new(), "{engine} error");
    }
}

/// Into a table there and empty (so the run creates nothing and the count check alone
/// would have caught it after COMMIT): refused before the batch is written, naming both
/// rows, and the table still holds no row.
#[test]
fn spellings_of_one_datetime_into_an_empty_table_are_refused_before_writing() {
    let src = datetime_source();
    for engine in DESTS {
        let dest = TestDb::create(engine);
        dest.exec(match engine {
            Engine::Postgres => {
                "CREATE TABLE e (t timestamp PRIMARY KEY, v int); \
                 CREATE TABLE f (id int PRIMARY KEY, t timestamp REFERENCES e (t))"
            }
            _ => {
                "CREATE TABLE e (t datetime(3) PRIMARY KEY, v int) ENGINE = InnoDB; \
                 CREATE TABLE f (id int PRIMARY KEY, t datetime(3), FOREIGN KEY (t) REFERENCES e (t)) ENGINE = InnoDB"
            }
        });
        for conflict in ["skip", "update"] {
            let e = sync(&job(&src, &dest, conflict)).expect_err(&format!("{engine} {conflict}: must refuse"));
            let text = e.to_string();
            assert!(
                text.contains(
                    "table e: row (t)=('2024-01-01T00:00:00') was rejected: its key and that of the source's row \
                     (t)=('2024-01-01 00:00:00') are two keys on the source but one key in the destination"
                ),
                "{engine} {conflict}: {text}"
            );
            assert_eq!(rows(&dest, "e", "t"), Vec::<Vec<String>>::new(), "{engine} {conflict}");
            assert_eq!(rows(&dest, "f", "id"), Vec::<Vec<String>>::new(), "{engine} {conflict}");
        }
    }
}

/// Text a caseless collation compares as equal, into a MariaDB table there and empty
/// (`utf8mb4_general_ci`), with `skip`: 'a' and 'A' are two keys on the PostgreSQL
/// source, one there. Refused naming both (MariaDB loads in batches, each committed:
/// 'a', written before, stays, and the error counts it); without the clash the run
/// copies.
#[test]
fn caseless_keys_into_an_empty_table_are_refused_with_skip() {
    let src = TestDb::create(Engine::Postgres);
    src.exec("CREATE TABLE c (code text PRIMARY KEY, v int); INSERT INTO c VALUES ('a', 1), ('A', 2), ('b', 3)");
    let dest = TestDb::create(Engine::Mysql);
    dest.exec("CREATE TABLE c (code varchar(10) COLLATE utf8mb4_general_ci PRIMARY KEY, v int) ENGINE = InnoDB");
    let e = sync(&job(&src, &dest, "skip")).expect_err("must refuse");
    let text = e.to_string();
    assert!(
        text.contains(
            "table c: row (code)=('A') was rejected: the destination holds a row whose key (code) = ('a') differs \
             from this row's only in case, accents or trailing spaces, which the key's collation there compares as \
             equal (code is utf8mb4_general_ci)"
        ),
        "{text}"
    );
    assert!(
        text.contains("(1 rows of c were written before it; tables complete: none)"),
        "{text}"
    );
    assert_eq!(rows(&dest, "c", "code"), vec![vec!["a".to_string(), "1".to_string()]]);
    src.exec("DELETE FROM c WHERE code = 'A'");
    dest.exec("DELETE FROM c");
    let report = sync(&job(&src, &dest, "skip")).expect("copies");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        rows(&dest, "c", "code"),
        vec![
            vec!["a".to_string(), "1".to_string()],
            vec!["b".to_string(), "3".to_string()]
        ]
    );
}
