//! Fifteenth review, K: names. A PostgreSQL table named `a.b` next to table `b` of
//! schema `a` (K1): the job's spelling names one table, or it is refused naming both;
//! rows of one never land in the other's copy. Each on the real servers.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

const DOTTED: &str = "
create schema a;
create table a.b (id int primary key, v text);
create table \"a.b\" (id int primary key, v text);
create table kid (id int primary key, ab int references a.b(id), ab2 int references \"a.b\"(id));
insert into a.b values (1,'schema a'),(2,'schema a');
insert into \"a.b\" values (1,'dotted'),(2,'dotted'),(3,'dotted');
insert into kid values (1,1,3),(2,2,1);
";

const NOT_REACHED: &str = "no rows: no target reaches it (its rows would only come as children of parent rows)";

fn subset_of(target: &str, filter: &str) -> String {
    format!(
        "[tables]\ninclude = [\"*\", \"a.*\"]\n[subset]\nfollow_children = false\ncopy_unrelated = false\n\
         [[subset.targets]]\ntable = '{target}'\nwhere = \"{filter}\"\n"
    )
}

/// The reviewer's job (`table = "a.b"`, both tables there) is refused before anything is
/// written, naming both tables and how to write each.
#[test]
fn a_target_two_tables_answer_to_is_refused_naming_both() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(DOTTED);
    let dest = TestDb::create(Engine::Mysql);
    let err = sync(&job(&src, &[&dest], &subset_of("a.b", "id = 1"))).expect_err("ambiguous");
    assert_eq!(
        err.to_string(),
        "job.toml: line 10: subset target: `a.b` could name table `b` of schema `a` (write `\"a\".\"b\"`) \
         and table `a.b` of schema `public` (write `\"a.b\"`); write the one meant in double quotes (in \
         TOML, single quotes keep them: '\"a.b\"')"
    );
    assert_eq!(dest.query("select count(*) from information_schema.tables where table_schema = database()")[0][0].as_deref(), Some("0"));
}

/// `"a.b"` names the dotted table, `a."b"` the table of schema a: each target's rows go
/// into its own table's copy, the other copy stays empty; the plan names the two apart
/// and reads the dotted table as `"public"."a.b"`.
#[test]
fn quoted_targets_take_the_rows_of_the_table_they_name() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(DOTTED);

    let dest = TestDb::create(Engine::Mysql);
    let text = job(&src, &[&dest], &subset_of("\"a.b\"", "v = 'dotted'"));
    let parsed = tether_sync::Job::parse("job.toml", &text, &|_| None).expect("job");
    let plan = tether_testkit::block_on(async { tether_sync::prepare(&parsed).await.expect("plan").plan });
    let shown: Vec<(&str, &str, Vec<String>)> = plan
        .tables
        .iter()
        .map(|t| (t.name.as_str(), t.query.as_str(), t.reasons.clone()))
        .collect();
    assert_eq!(
        shown,
        [
            (
                "a.b",
                "SELECT \"id\", \"v\" FROM \"a\".\"b\" WHERE (\"id\") IN (...)",
                vec![NOT_REACHED.to_string()]
            ),
            (
                "\"a.b\"",
                "SELECT \"id\", \"v\" FROM \"public\".\"a.b\" WHERE (\"id\") IN (...)",
                vec!["target: WHERE v = 'dotted'".to_string()]
            ),
            (
                "kid",
                "SELECT \"id\", \"ab\", \"ab2\" FROM \"public\".\"kid\" WHERE (\"id\") IN (...)",
                vec![NOT_REACHED.to_string()]
            ),
        ]
    );
    let report = sync(&text).expect("sync");
    assert!(report.ok, "{report:?}");
    assert_eq!(rows(&dest, "`a.b`", "id"), [["1", "dotted"], ["2", "dotted"], ["3", "dotted"]]);
    assert_eq!(rows(&dest, "a_b", "id"), Vec::<Vec<String>>::new());

    let dest = TestDb::create(Engine::Mysql);
    let report = sync(&job(&src, &[&dest], &subset_of("a.\"b\"", "id = 1"))).expect("sync");
    assert!(report.ok, "{report:?}");
    assert_eq!(rows(&dest, "a_b", "id"), [["1", "schema a"]]);
    assert_eq!(rows(&dest, "`a.b`", "id"), Vec::<Vec<String>>::new());
}

/// A full copy: each copy holds its own table's rows, the report names the two apart.
#[test]
fn a_full_copy_keeps_the_two_tables_apart() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(DOTTED);
    let dest = TestDb::create(Engine::Mysql);
    let report = sync(&job(&src, &[&dest], "[tables]\ninclude = [\"*\", \"a.*\"]\n")).expect("sync");
    assert!(report.ok, "{report:?}");
    let mut read: Vec<(String, u64, Vec<u64>)> = report
        .tables
        .iter()
        .map(|t| (t.table.clone(), t.rows_read, t.rows_written.clone()))
        .collect();
    read.sort();
    assert_eq!(
        read,
        [
            ("\"a.b\"".to_string(), 3, vec![3]),
            ("a.b".to_string(), 2, vec![2]),
            ("kid".to_string(), 2, vec![2])
        ]
    );
    assert_eq!(rows(&dest, "`a.b`", "id"), [["1", "dotted"], ["2", "dotted"], ["3", "dotted"]]);
    assert_eq!(rows(&dest, "a_b", "id"), [["1", "schema a"], ["2", "schema a"]]);
}
