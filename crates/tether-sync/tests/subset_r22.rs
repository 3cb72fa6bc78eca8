//! Subsets of a self-referencing table without a primary key whose only unique key is
//! nullable (review r21d F1): the cycle is loaded NULL and set again by
//! `UPDATE ... WHERE code = ?`, which finds no row whose code is NULL. Only the rows the
//! subset copies decide whether that refuses the job, not rows of the source it leaves.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

/// The reviewer's table: rows 4 and 5 hold NULL in the key and a parent; row 6 holds
/// NULL in both.
const TREE: &str = "
CREATE TABLE u (code VARCHAR(10) UNIQUE, parent_code VARCHAR(10) REFERENCES u (code), v INT);
INSERT INTO u VALUES ('a', NULL, 1), ('b', 'a', 2), ('c', 'b', 3), (NULL, 'a', 4), (NULL, 'c', 5),
  (NULL, NULL, 6), ('d', 'c', 7);
";

fn subset(table_where: &str, more: &str) -> String {
    format!("[[subset.targets]]\ntable = \"u\"\nwhere = \"{table_where}\"\n{more}")
}

/// A subset choosing only rows with a code loads into SQLite and MariaDB (FK checks on
/// while loading), every parent set again; so does one holding a NULL code without a
/// parent (nothing to set). A subset choosing row 5 (NULL code, a parent) is refused
/// before anything is written, saying the subset chose such rows; a full copy is refused
/// as before, naming the source.
#[test]
fn a_subset_is_refused_only_over_null_keyed_rows_it_copies() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(TREE);
    for engine in [Engine::Sqlite, Engine::Mysql] {
        let dest = TestDb::create(engine);
        let report = sync(&job(&src, &[&dest], &subset("v = 7", ""))).unwrap_or_else(|e| panic!("{engine}: {e}"));
        assert!(report.ok, "{engine}: {report:?}");
        assert_eq!(
            rows(&dest, "u", "v"),
            vec![
                vec!["a", "NULL", "1"],
                vec!["b", "a", "2"],
                vec!["c", "b", "3"],
                vec!["d", "c", "7"]
            ],
            "{engine}: v = 7 and its ancestors"
        );

        let report = sync(&job(
            &src,
            &[&dest],
            &subset(
                "v = 2",
                "[[subset.relations]]\nforeign_key = \"u_parent_code_fkey\"\nfollow_children = false\n",
            ),
        ))
        .unwrap_or_else(|e| panic!("{engine}: {e}"));
        assert!(report.ok, "{engine}: {report:?}");
        assert_eq!(
            rows(&dest, "u", "v"),
            vec![vec!["a", "NULL", "1"], vec!["b", "a", "2"]],
            "{engine}: v = 2 without children"
        );

        let report = sync(&job(&src, &[&dest], &subset("v IN (6, 7)", ""))).unwrap_or_else(|e| panic!("{engine}: {e}"));
        assert!(report.ok, "{engine}: {report:?}");
        assert_eq!(
            rows(&dest, "u", "v"),
            vec![
                vec!["a", "NULL", "1"],
                vec!["b", "a", "2"],
                vec!["c", "b", "3"],
                vec!["NULL", "NULL", "6"],
                vec!["d", "c", "7"]
            ],
            "{engine}: a NULL code without a parent"
        );

        let err = sync(&job(&src, &[&dest], &subset("v = 5", "")))
            .expect_err("row 5 keeps NULL in code and a parent")
            .to_string();
        assert!(
            err.contains("table u: the cycle u is broken on FK u_parent_code_fkey"),
            "{engine}: {err}"
        );
        assert!(
            err.contains("rows the subset chose hold NULL in (code) and a value in (parent_code)"),
            "{engine}: {err}"
        );
        // Refused before the destination was emptied: the last subset's rows are there.
        assert_eq!(rows(&dest, "u", "v").len(), 5, "{engine}: nothing written");

        let err = sync(&job(&src, &[&dest], ""))
            .expect_err("a full copy holds rows 4 and 5")
            .to_string();
        assert!(
            err.contains("rows of the source hold NULL in (code) and a value in (parent_code)"),
            "{engine}: {err}"
        );
    }
}

/// The plan of a full copy says what the sync refuses, per destination checking FKs
/// while loading (not with `checks = "verify"`, not PostgreSQL's one-transaction load);
/// a subset's plan says nothing, its rows being chosen by the sync.
#[test]
fn the_plan_of_a_full_copy_says_the_null_key_refusal() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(TREE);
    let (sqlite, maria, pg) = (
        TestDb::create(Engine::Sqlite),
        TestDb::create(Engine::Mysql),
        TestDb::create(Engine::Postgres),
    );
    let notes = |text: &str| -> Vec<String> {
        let job = tether_sync::Job::parse("job.toml", text, &|_| None).expect("job");
        let plan = tether_testkit::block_on(async { tether_sync::prepare(&job).await.expect("plan").plan });
        plan.notes
            .iter()
            .filter(|n| n.contains("a sync refuses this destination"))
            .cloned()
            .collect()
    };
    let full = job(&src, &[&sqlite, &maria, &pg], "");
    let said = notes(&full);
    assert_eq!(said.len(), 2, "{said:#?}");
    for (note, dest) in said.iter().zip([&sqlite, &maria]) {
        assert!(
            note.contains("table u: the cycle u is broken on FK u_parent_code_fkey"),
            "{note}"
        );
        assert!(
            note.contains("rows of the source hold NULL in (code) and a value in (parent_code)"),
            "{note}"
        );
        let shown = match dest.engine {
            Engine::Sqlite => "sqlite://",
            _ => "mysql://",
        };
        assert!(note.starts_with(shown), "{note}");
    }
    let verify = full.replace("truncate = true\n", "truncate = true\nchecks = \"verify\"\n");
    assert_eq!(notes(&verify), Vec::<String>::new());
    assert_eq!(
        notes(&job(&src, &[&sqlite], &subset("v = 5", ""))),
        Vec::<String>::new()
    );
}
