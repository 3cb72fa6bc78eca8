//! Seventeenth session, review B: writes into MariaDB.
//! - Two source keys that differ only in case or trailing spaces ('a' and 'A', 'b ' and
//!   'b') are one key under the destination's `_ci` / PAD SPACE collation. With
//!   `skip` one row was dropped, with `update` one written over the other, and the run
//!   passed when the table held other rows. Every conflict mode now refuses the second
//!   row, naming both keys and the collation.
//! - `update` into a table without a key on exactly the row's key inserted a row whose
//!   key was there a second time (ON DUPLICATE KEY fires only on the table's keys).
//! - The advice for a key clash said "the destination already holds this key" for a
//!   table that was there empty, and for a table the run created on a lane other than
//!   the first.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

fn job(src: &TestDb, dest: &TestDb, table: &str, conflict: &str, options: &str) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n[options]\nbatch_size = 2\n{options}[tables]\ninclude = [\"{table}\"]\n\
         [[destinations]]\nurl = \"{}\"\non_conflict = \"{conflict}\"\n",
        src.url, dest.url
    )
}

fn strings(rows: &[[&str; 3]]) -> Vec<Vec<String>> {
    rows.iter().map(|r| r.iter().map(|v| v.to_string()).collect()).collect()
}

/// The reviewer's H1: the destination's ck already holds two rows of its own, so only
/// the refusal tells. For each pair and each mode: refused, the message names the
/// table, both keys and the collation; the destination holds its two rows and one row
/// of the pair exactly as the source has it, never a row made of two.
#[test]
fn keys_equal_only_under_the_destinations_collation_are_refused_in_every_mode() {
    let pairs: [[[&str; 3]; 2]; 2] = [
        [["a", "1", "lower"], ["A", "1", "upper"]],
        [["b ", "1", "sp"], ["b", "1", "nosp"]],
    ];
    for pair in pairs {
        let src = TestDb::create(Engine::Postgres);
        src.exec(&format!(
            "CREATE TABLE ck (k varchar(10), n int, v text, PRIMARY KEY (k, n)); \
             INSERT INTO ck VALUES ('{}', 1, '{}'), ('{}', 1, '{}')",
            pair[0][0], pair[0][2], pair[1][0], pair[1][2]
        ));
        for conflict in ["skip", "update", "error"] {
            let dest = TestDb::create(Engine::Mysql);
            dest.exec(
                "CREATE TABLE ck (k varchar(10), n int, v text, PRIMARY KEY (k, n)); \
                 INSERT INTO ck VALUES ('y', 9, 'extra1'), ('z', 9, 'extra2')",
            );
            let e = sync(&job(&src, &dest, "ck", conflict, ""))
                .expect_err(&format!("{conflict} {pair:?}: must refuse"))
                .to_string();
            let all = rows(&dest, "ck", "n, v");
            assert_eq!(all.len(), 3, "{conflict} {pair:?}: {all:?}");
            assert_eq!(
                &all[1..],
                strings(&[["y", "9", "extra1"], ["z", "9", "extra2"]]),
                "{conflict}"
            );
            // The row written first is there as the source has it; the other is refused.
            let (kept, refused) = match pair.iter().position(|r| strings(&[*r])[0] == all[0]) {
                Some(0) => (pair[0], pair[1]),
                Some(_) => (pair[1], pair[0]),
                None => panic!("{conflict} {pair:?}: a row of no source row: {all:?}"),
            };
            for part in [
                format!("table ck: row (k, n)=('{}', 1) was rejected", refused[0]),
                format!(
                    "the destination holds a row whose key (k, n) = ('{}', 1) differs from this row's only in \
                     case, accents or trailing spaces, which the key's collation there compares as equal (k is \
                     utf8mb4_",
                    kept[0]
                ),
                "Nothing was written for this row".to_string(),
            ] {
                assert!(e.contains(&part), "{conflict}: `{part}` missing from: {e}");
            }
            assert!(!e.contains("already holds this key"), "{conflict}: {e}");
        }
    }
}

/// The lead's finding: the destination's c has no key on id (the source's primary
/// key), only (p, v), and holds (3, 9, 9). `update` overwrites row 3 and adds 1 and 2;
/// a second run changes nothing. ON DUPLICATE KEY fired only on (p, v): row 3 went in a
/// second time on every run.
#[test]
fn update_into_mariadb_without_a_key_on_the_row_key_overwrites_the_row_once() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE c (id int PRIMARY KEY, p int NOT NULL, v int NOT NULL); \
         INSERT INTO c VALUES (1, 1, 1), (2, 2, 2), (3, 3, 3)",
    );
    let dest = TestDb::create(Engine::Mysql);
    dest.exec(
        "CREATE TABLE c (id int NOT NULL, p int NOT NULL, v int NOT NULL, CONSTRAINT c_pv UNIQUE (p, v)); \
         INSERT INTO c VALUES (3, 9, 9)",
    );
    let want = strings(&[["1", "1", "1"], ["2", "2", "2"], ["3", "3", "3"]]);
    for run in 1..=2 {
        let report = sync(&job(&src, &dest, "c", "update", "")).unwrap_or_else(|e| panic!("run {run}: {e}"));
        assert!(report.ok, "run {run}: {report:?}");
        assert_eq!(rows(&dest, "c", "id, p"), want, "run {run}");
    }
    // A key the table compares without case is not the row's key: 'A' goes in beside
    // 'a' (the table has no key on k), never skipped as if it were there.
    let src = TestDb::create(Engine::Postgres);
    src.exec("CREATE TABLE t (k varchar(5) PRIMARY KEY, v int NOT NULL); INSERT INTO t VALUES ('A', 2)");
    let dest = TestDb::create(Engine::Mysql);
    dest.exec("CREATE TABLE t (k varchar(5) NOT NULL, v int NOT NULL, UNIQUE (v)); INSERT INTO t VALUES ('a', 1)");
    let report = sync(&job(&src, &dest, "t", "skip", "")).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok, "{report:?}");
    assert_eq!(
        dest.query("SELECT k, v FROM t ORDER BY v"),
        vec![
            vec![Some("a".to_string()), Some("1".to_string())],
            vec![Some("A".to_string()), Some("2".to_string())]
        ]
    );
}

const SPELLINGS: &str = "CREATE TABLE dp (k DATETIME PRIMARY KEY); \
     INSERT INTO dp VALUES ('2024-01-01 10:00:00'), ('2024-01-01 10:00:00.000');";

const EMPTY: &str = "; the table was empty before this run, so two rows of the source clash here: their keys are two \
     spellings of one value of the key's type";

/// M1: the destination's dp was there and empty. Two spellings of one datetime clash:
/// the advice is that of a table the run created, not "already holds this key".
#[test]
fn a_clash_in_a_table_that_was_there_empty_is_two_source_rows() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(SPELLINGS);
    let dest = TestDb::create(Engine::Mysql);
    dest.exec("CREATE TABLE dp (k datetime PRIMARY KEY)");
    let e = sync(&job(&src, &dest, "dp", "error", ""))
        .expect_err("refused")
        .to_string();
    assert!(e.contains(EMPTY), "{e}");
    assert!(!e.contains("already holds this key"), "{e}");
}

/// r17e F2: with two lanes, dp (created by the run) is written on the second lane,
/// whose copy of the destination knew of no table created: the advice said "already
/// holds this key".
#[test]
fn a_clash_in_a_table_created_on_another_lane_is_two_source_rows() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(&format!(
        "CREATE TABLE a (id int PRIMARY KEY); INSERT INTO a VALUES (1); {SPELLINGS}"
    ));
    let dest = TestDb::create(Engine::Mysql);
    let text = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[options]\nparallelism = 2\n[[destinations]]\nurl = \"{}\"\n",
        src.url, dest.url
    );
    let e = sync(&text).expect_err("refused").to_string();
    assert!(e.contains(EMPTY), "{e}");
    assert!(!e.contains("already holds this key"), "{e}");
}
