//! Twenty-seventh session, review r27d F8, F9, F10: `on_conflict = "update"` or `"skip"`
//! into PostgreSQL or SQLite fell back to a target-less `ON CONFLICT DO NOTHING` for a
//! source table without a key of its own (also one whose only key is a PostgreSQL
//! unique index on an expression) and, on PostgreSQL, for `update` of a table whose key
//! is all its columns: a changed row clashing with a destination row on another key was
//! dropped, and the run said "verified". Now such a row is an error naming the table
//! and the row (as MariaDB refuses it), and the destination keeps what it had.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

fn job(src: &TestDb, dest: &TestDb, table: &str, conflict: &str) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n[tables]\ninclude = [\"{table}\"]\n\
         [[destinations]]\nurl = \"{}\"\non_conflict = \"{conflict}\"\n",
        src.url, dest.url
    )
}

fn want(rows: &[(&str, &str)]) -> Vec<Vec<String>> {
    rows.iter().map(|(a, b)| vec![a.to_string(), b.to_string()]).collect()
}

/// F9: the source's e4 has no key; the destination's has one on name. A re-run with the
/// same rows keeps them; a changed row ('Ann', 'x2') clashes on name with ('Ann', 'x'),
/// which it does not equal: refused naming e4 and the row, nothing changed. A new row
/// ('Cy', 'z') goes in.
#[test]
fn a_keyless_source_row_clashing_on_a_destination_key_is_refused() {
    for engine in [Engine::Postgres, Engine::Sqlite] {
        for conflict in ["update", "skip"] {
            let src = TestDb::create(Engine::Postgres);
            src.exec("CREATE TABLE e4 (name text NOT NULL, v text); INSERT INTO e4 VALUES ('Ann', 'x'), ('Bob', NULL)");
            let dest = TestDb::create(engine);
            dest.exec("CREATE TABLE e4 (name text NOT NULL UNIQUE, v text)");
            let job = job(&src, &dest, "e4", conflict);
            for _ in 0..2 {
                let report = sync(&job).unwrap_or_else(|e| panic!("{engine} {conflict}: {e}"));
                assert!(report.ok, "{engine} {conflict}: {report:?}");
                assert_eq!(
                    rows(&dest, "e4", "name"),
                    want(&[("Ann", "x"), ("Bob", "NULL")]),
                    "{engine} {conflict}"
                );
            }
            src.exec("UPDATE e4 SET v = 'x2' WHERE name = 'Ann'; INSERT INTO e4 VALUES ('Cy', 'z')");
            let e = sync(&job).expect_err(&format!("{engine} {conflict}: must refuse"));
            let text = e.to_string();
            assert!(text.contains("table e4"), "{engine} {conflict}: {text}");
            assert!(text.contains("'Ann', 'x2'"), "{engine} {conflict}: {text}");
            assert!(
                text.contains("no row there equals it in every column"),
                "{engine} {conflict}: {text}"
            );
            assert!(
                text.contains(&format!("on_conflict = \"{conflict}\"")),
                "{engine} {conflict}: {text}"
            );
            assert_eq!(
                rows(&dest, "e4", "name"),
                want(&[("Ann", "x"), ("Bob", "NULL")]),
                "{engine} {conflict}"
            );

            src.exec("UPDATE e4 SET v = 'x' WHERE name = 'Ann'");
            let report = sync(&job).unwrap_or_else(|e| panic!("{engine} {conflict}: {e}"));
            assert!(report.ok, "{engine} {conflict}: {report:?}");
            assert_eq!(
                rows(&dest, "e4", "name"),
                want(&[("Ann", "x"), ("Bob", "NULL"), ("Cy", "z")]),
                "{engine} {conflict}"
            );
        }
    }
}

/// F8: the source's and destination's only key is a unique index on lower(name): the
/// table is keyless to the copy. A changed row is refused, never dropped as "verified".
#[test]
fn update_through_an_expression_index_only_is_refused_not_dropped() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE e3 (name text NOT NULL, v text); CREATE UNIQUE INDEX e3_n ON e3 (lower(name)); \
         INSERT INTO e3 VALUES ('Ann', 'x'), ('Bob', 'y')",
    );
    let dest = TestDb::create(Engine::Postgres);
    let job = job(&src, &dest, "e3", "update");
    let report = sync(&job).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok, "{report:?}");
    src.exec("UPDATE e3 SET v = 'x2' WHERE name = 'Ann'");
    let e = sync(&job).expect_err("must refuse");
    let text = e.to_string();
    assert!(text.contains("table e3") && text.contains("'Ann', 'x2'"), "{text}");
    assert!(text.contains("no row there equals it in every column"), "{text}");
    assert_eq!(rows(&dest, "e3", "name"), want(&[("Ann", "x"), ("Bob", "y")]));
}

/// F10: jn's key is all its columns, so `update` has nothing to set; the destination has
/// another key on b, and (7, 5) there clashes with the source's (1, 5): refused naming jn
/// and its key, as `skip` is; the destination keeps its rows.
#[test]
fn update_with_the_key_all_columns_refuses_a_clash_on_another_key() {
    let src = TestDb::create(Engine::Postgres);
    src.exec("CREATE TABLE jn (a int, b int, PRIMARY KEY (a, b)); INSERT INTO jn VALUES (1, 5), (3, 6)");
    let dest = TestDb::create(Engine::Postgres);
    dest.exec(
        "CREATE TABLE jn (a int, b int, PRIMARY KEY (a, b), UNIQUE (b)); INSERT INTO jn VALUES (7, 5), (8, 8), (9, 9)",
    );
    let e = sync(&job(&src, &dest, "jn", "update")).expect_err("must refuse");
    let text = e.to_string();
    assert!(text.contains("table jn") && text.contains("jn_b_key"), "{text}");
    assert!(text.contains("on_conflict = \"update\""), "{text}");
    let ints =
        |r: &[(i64, i64)]| -> Vec<Vec<String>> { r.iter().map(|(a, b)| vec![a.to_string(), b.to_string()]).collect() };
    assert_eq!(rows(&dest, "jn", "a"), ints(&[(7, 5), (8, 8), (9, 9)]));
    dest.exec("DELETE FROM jn WHERE a = 7");
    let report = sync(&job(&src, &dest, "jn", "update")).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok, "{report:?}");
    assert_eq!(rows(&dest, "jn", "a"), ints(&[(1, 5), (3, 6), (8, 8), (9, 9)]));
}

/// F3: checks = "verify" writes a cycle's values as they are (no break). Row 3 of the
/// self-referencing node is refused by the destination's CHECK after rows 1 and 2
/// (batch_size = 1): row 1 references 5, which never arrived. The error counts that row
/// under the FK and says how to complete it; `tether plan` does not claim the break.
#[test]
fn verify_names_the_cycle_rows_a_failed_run_left_without_their_parent() {
    for engine in [Engine::Postgres, Engine::Sqlite, Engine::Mysql] {
        let src = TestDb::create(Engine::Postgres);
        src.exec(
            "CREATE TABLE node (id int PRIMARY KEY, parent int REFERENCES node (id), v text); \
             INSERT INTO node VALUES (5, NULL, 'e'), (1, 5, 'a'), (2, 1, 'b'), (3, 2, 'c'), (4, 3, 'd'); \
             UPDATE node SET parent = 4 WHERE id = 5",
        );
        let dest = TestDb::create(engine);
        dest.exec(
            "CREATE TABLE node (id int PRIMARY KEY, parent int, v varchar(10), \
             CONSTRAINT node_parent_fkey FOREIGN KEY (parent) REFERENCES node (id), CONSTRAINT no3 CHECK (v <> 'c'))",
        );
        let job = format!(
            "source = \"{}\"\nprivacy = \"off\"\n[options]\nbatch_size = 1\n\
             [[destinations]]\nurl = \"{}\"\nchecks = \"verify\"\n",
            src.url, dest.url
        );
        let parsed = tether_sync::Job::parse("job.toml", &job, &|_| None).expect("job");
        let plan = tokio::runtime::Runtime::new()
            .expect("rt")
            .block_on(async { tether_sync::prepare(&parsed).await.expect("plan").plan })
            .to_text();
        assert!(
            plan.contains("break: load node_parent_fkey as NULL, then UPDATE (not done: checks = \"verify\""),
            "{engine}: {plan}"
        );
        let e = sync(&job).expect_err(&format!("{engine}: must fail"));
        let text = e.to_string();
        assert!(text.contains("table node: row (id)=(3)"), "{engine}: {text}");
        assert!(
            text.contains("1 rows of node under foreign key node_parent_fkey (parent)"),
            "{engine}: {text}"
        );
        assert!(text.contains("it does not hold for them"), "{engine}: {text}");
        let got: Vec<Vec<String>> = rows(&dest, "node", "id");
        assert_eq!(
            got,
            vec![
                vec!["1".to_string(), "5".into(), "a".into()],
                vec!["2".to_string(), "1".into(), "b".into()]
            ],
            "{engine}"
        );
    }
}

/// F5: rows are matched by the source's row key (a), nullable and NULL in rows there,
/// while (c) tells them apart: a re-run failed at the first row with a = NULL (it
/// clashed with itself on c). Now refused before anything is written, naming w and (a);
/// with c declared NOT NULL in the source rows are matched by it and the re-run works.
#[test]
fn a_rerun_matched_by_a_key_holding_null_there_is_refused_before_writing() {
    for engine in [Engine::Postgres, Engine::Sqlite, Engine::Mysql] {
        for conflict in ["skip", "update"] {
            let src = TestDb::create(Engine::Postgres);
            src.exec(
                "CREATE TABLE w (a varchar(10) UNIQUE, c int UNIQUE, v varchar(10)); \
                 INSERT INTO w VALUES (NULL, 1, 'x'), ('p', 2, 'y'), (NULL, 3, 'z')",
            );
            let dest = TestDb::create(engine);
            let job = job(&src, &dest, "w", conflict);
            let report = sync(&job).unwrap_or_else(|e| panic!("{engine} {conflict}: {e}"));
            assert!(report.ok, "{engine} {conflict}: {report:?}");
            src.exec("UPDATE w SET v = 'x2' WHERE c = 1; INSERT INTO w VALUES (NULL, 4, 'n')");
            let e = sync(&job).expect_err(&format!("{engine} {conflict}: must refuse"));
            let text = e.to_string();
            assert!(
                text.contains("table w already holds rows with NULL in (a)"),
                "{engine} {conflict}: {text}"
            );
            assert!(text.contains("Nothing was written"), "{engine} {conflict}: {text}");
            let three = |v: &[(&str, i64, &str)]| -> Vec<Vec<String>> {
                v.iter()
                    .map(|(a, c, v)| vec![a.to_string(), c.to_string(), v.to_string()])
                    .collect()
            };
            assert_eq!(
                rows(&dest, "w", "c"),
                three(&[("NULL", 1, "x"), ("p", 2, "y"), ("NULL", 3, "z")]),
                "{engine} {conflict}"
            );
            src.exec("ALTER TABLE w ALTER COLUMN c SET NOT NULL");
            let report = sync(&job).unwrap_or_else(|e| panic!("{engine} {conflict}: {e}"));
            assert!(report.ok, "{engine} {conflict}: {report:?}");
            let first = if conflict == "update" { "x2" } else { "x" };
            assert_eq!(
                rows(&dest, "w", "c"),
                three(&[("NULL", 1, first), ("p", 2, "y"), ("NULL", 3, "z"), ("NULL", 4, "n")]),
                "{engine} {conflict}"
            );
        }
    }
}

/// F4: the NOT NULL key is a unique index on lower(name), which rows cannot be matched
/// by; the row key (a) holds NULL there: refused before writing, not failed midway.
#[test]
fn a_rerun_whose_only_not_null_key_is_an_expression_index_is_refused_before_writing() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE e (a text UNIQUE, name text NOT NULL, v text); CREATE UNIQUE INDEX e_l ON e (lower(name)); \
         INSERT INTO e VALUES (NULL, 'Ann', '1'), ('x', 'Bob', '2'), (NULL, 'Cy', '3')",
    );
    let dest = TestDb::create(Engine::Postgres);
    let job = job(&src, &dest, "e", "skip");
    let report = sync(&job).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok, "{report:?}");
    src.exec("UPDATE e SET v = '1b' WHERE name = 'Ann'; INSERT INTO e VALUES (NULL, 'Dee', '4')");
    let e = sync(&job).expect_err("must refuse");
    assert!(
        e.to_string().contains("table e already holds rows with NULL in (a)"),
        "{e}"
    );
    assert_eq!(one(&dest, "SELECT count(*) FROM e"), "3");
}

/// F1: w's a (unique, not the row key: b is NOT NULL) is drawn by generate_name and
/// referenced by c.wa. A skip re-run keeps w's rows with the a drawn before while the
/// new child c 5 gets a freshly drawn one: it failed its FK at the end. Now refused
/// before anything is written, naming w, a and c_wa_fkey.
#[test]
fn a_skip_rerun_with_a_referenced_key_drawn_afresh_is_refused_before_writing() {
    for engine in [Engine::Postgres, Engine::Sqlite, Engine::Mysql] {
        let src = TestDb::create(Engine::Postgres);
        src.exec(
            "CREATE TABLE w (a varchar(40) UNIQUE, b int NOT NULL UNIQUE, v varchar(10)); \
             CREATE TABLE c (id int PRIMARY KEY, wa varchar(40) REFERENCES w (a), wb int REFERENCES w (b), note varchar(10)); \
             INSERT INTO w VALUES (NULL, 1, 'x'), ('p', 2, 'y'), (NULL, 3, 'z'), ('q', 4, 'k'); \
             INSERT INTO c VALUES (1, 'p', 1, 'n1'), (2, NULL, 3, 'n2'), (3, 'q', 2, 'n3'), (4, 'p', NULL, 'n4')",
        );
        let dest = TestDb::create(engine);
        let job = |conflict: &str| {
            format!(
                "source = \"{}\"\nseed = \"s1\"\nprivacy = \"off\"\n[transform.w]\na = \"generate_name\"\n\
                 [[destinations]]\nurl = \"{}\"\non_conflict = \"{conflict}\"\n",
                src.url, dest.url
            )
        };
        let report = sync(&job("error")).unwrap_or_else(|e| panic!("{engine}: {e}"));
        assert!(report.ok, "{engine}: {report:?}");
        src.exec("INSERT INTO c VALUES (5, 'p', 4, 'n5')");
        let e = sync(&job("skip")).expect_err(&format!("{engine}: must refuse"));
        let text = e.to_string();
        assert!(text.contains("table w already holds rows"), "{engine}: {text}");
        assert!(text.contains("foreign key c_wa_fkey"), "{engine}: {text}");
        assert!(text.contains("Nothing was written"), "{engine}: {text}");
        assert_eq!(one(&dest, "SELECT count(*) FROM c"), "4", "{engine}");
        assert_eq!(one(&dest, "SELECT count(*) FROM w"), "4", "{engine}");
    }
}

/// F7: MariaDB (checks enforced: the cycle loaded with parent NULL) and PostgreSQL,
/// which refuses row 3: the MariaDB destination, stopped too, says its cycle rows may
/// hold parent NULL and how a re-run sets them.
#[test]
fn a_destination_stopped_by_another_says_its_cycle_rows_hold_the_fk_null() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE node (id int PRIMARY KEY, parent int REFERENCES node (id), v text); \
         INSERT INTO node VALUES (5, NULL, 'e'), (1, 5, 'a'), (2, 1, 'b'), (3, 2, 'c'), (4, 3, 'd'); \
         UPDATE node SET parent = 4 WHERE id = 5",
    );
    let maria = TestDb::create(Engine::Mysql);
    maria.exec(
        "CREATE TABLE node (id int PRIMARY KEY, parent int, v varchar(10), \
         CONSTRAINT node_parent_fkey FOREIGN KEY (parent) REFERENCES node (id))",
    );
    let pg = TestDb::create(Engine::Postgres);
    pg.exec(
        "CREATE TABLE node (id int PRIMARY KEY, parent int REFERENCES node (id), v text, \
         CONSTRAINT no3 CHECK (v <> 'c'))",
    );
    let job = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[options]\nbatch_size = 1\n\
         [[destinations]]\nurl = \"{}\"\n[[destinations]]\nurl = \"{}\"\n",
        src.url, maria.url, pg.url
    );
    let e = sync(&job).expect_err("must fail");
    let text = e.to_string();
    assert!(text.contains("the other destinations stopped too"), "{text}");
    assert!(
        text.contains("rows this run wrote into tables of a cycle may hold its FK columns NULL: node (parent)"),
        "{text}"
    );
    assert_eq!(one(&maria, "SELECT count(*) FROM node WHERE parent IS NOT NULL"), "0");
}
