//! Subsets of rows that no key tells apart or finds again: tables without a primary
//! key (duplicate rows, NULLs), nullable UNIQUE keys holding NULL, SQLite's primary keys
//! holding NULL; children spelling a caseless parent key otherwise; `percent` with
//! `limit`; virtual FKs between columns that do not compare. Each on the real servers,
//! checked with the destination's own SQL.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

/// Every row of `table`, each value as text (NULL as `NULL`), sorted in Tether (the
/// engines order NULLs apart).
fn all_rows(db: &TestDb, table: &str) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = db
        .query(&format!("SELECT * FROM {table}"))
        .iter()
        .map(|r| r.iter().map(norm).collect())
        .collect();
    rows.sort();
    rows
}

fn strs(rows: &[&[&str]]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect();
    out.sort();
    out
}

const KEYLESS: &str = "
CREATE TABLE log (who VARCHAR(10), what VARCHAR(10));
INSERT INTO log VALUES ('ann', 'login'), ('ann', 'login'), ('bob', NULL), ('cy', 'x');
CREATE TABLE customer (id INT NOT NULL PRIMARY KEY, name VARCHAR(10));
CREATE TABLE note (customer_id INT NOT NULL, body VARCHAR(10), created VARCHAR(10),
  CONSTRAINT note_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id));
CREATE TABLE profile (customer_id INT, email VARCHAR(50), nick VARCHAR(10),
  CONSTRAINT profile_email_key UNIQUE (email),
  CONSTRAINT profile_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id));
INSERT INTO customer VALUES (1, 'acme'), (2, 'bolt');
INSERT INTO note VALUES (1, 'hello', 'd'), (1, NULL, 'd2'), (1, 'x', NULL), (1, 'hello', 'd'), (2, 'other', 'd');
INSERT INTO profile VALUES (1, NULL, 'a'), (1, NULL, 'b'), (1, 'e@x', 'c'), (2, NULL, 'z'), (2, 'f@x', 'y');
";

/// The reviewer's F-NULLKEY tables from each source engine into each destination
/// engine: a keyless log table with duplicates and a NULL (a target), keyless children
/// with duplicates and NULLs, children whose nullable UNIQUE key is NULL in two rows.
/// Every chosen row arrives as often as the source has it, and the verifier agrees
/// because it counts rows. Two targets on the log reaching the same rows (`where` and
/// `percent = 100`) choose each row once: 4 rows, not 7.
#[test]
fn rows_without_a_key_or_with_a_null_key_are_copied_as_often_as_the_source_has_them() {
    for src_engine in ENGINES {
        let src = TestDb::create(src_engine);
        src.exec(KEYLESS);
        let dests: Vec<TestDb> = ENGINES.into_iter().map(TestDb::create).collect();
        let report = sync(&job(
            &src,
            &dests.iter().collect::<Vec<_>>(),
            "[[subset.targets]]\ntable = \"log\"\nwhere = \"who <> 'cy'\"\n\
             [[subset.targets]]\ntable = \"customer\"\nwhere = \"id = 1\"\n",
        ))
        .unwrap_or_else(|e| panic!("{src_engine}: {e}"));
        assert!(report.ok, "{src_engine}: {report:?}");
        for dest in &dests {
            let pair = format!("{src_engine} -> {}", dest.engine);
            assert_eq!(
                all_rows(dest, "log"),
                strs(&[&["ann", "login"], &["ann", "login"], &["bob", "NULL"]]),
                "{pair}"
            );
            assert_eq!(
                all_rows(dest, "note"),
                strs(&[
                    &["1", "hello", "d"],
                    &["1", "hello", "d"],
                    &["1", "NULL", "d2"],
                    &["1", "x", "NULL"]
                ]),
                "{pair}"
            );
            assert_eq!(
                all_rows(dest, "profile"),
                strs(&[&["1", "NULL", "a"], &["1", "NULL", "b"], &["1", "e@x", "c"]]),
                "{pair}"
            );
            assert_eq!(all_rows(dest, "customer"), strs(&[&["1", "acme"]]), "{pair}");
        }
        let counts: Vec<(String, u64, u64)> = report.verification[0]
            .missing_rows
            .iter()
            .map(|c| (c.table.clone(), c.rows_in_source, c.rows_in_destination))
            .collect();
        assert_eq!(counts, vec![], "{src_engine}");

        // Two targets reaching the same rows.
        let dest = TestDb::create(Engine::Sqlite);
        let report = sync(&job(
            &src,
            &[&dest],
            "[[subset.targets]]\ntable = \"log\"\nwhere = \"who <> 'cy'\"\n\
             [[subset.targets]]\ntable = \"log\"\npercent = 100\n",
        ))
        .unwrap_or_else(|e| panic!("{src_engine}: {e}"));
        assert!(report.ok, "{src_engine}: {report:?}");
        assert_eq!(
            all_rows(&dest, "log"),
            strs(&[&["ann", "login"], &["ann", "login"], &["bob", "NULL"], &["cy", "x"]]),
            "{src_engine}: percent = 100 and a where"
        );
    }
}

/// SQLite lets a primary key that is not the rowid hold NULL in several rows (Tether's
/// model says NOT NULL): a subset copies each such row, as a full copy does.
#[test]
fn a_sqlite_primary_key_holding_null_in_several_rows_loses_none_of_them() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE t (a TEXT PRIMARY KEY, b TEXT);
         INSERT INTO t VALUES ('x', '1'), (NULL, '2'), (NULL, '3'), ('y', '9');",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let report = sync(&job(
        &src,
        &[&dest],
        "[[subset.targets]]\ntable = \"t\"\nwhere = \"b <> '9'\"\n",
    ))
    .expect("subset");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        all_rows(&dest, "t"),
        strs(&[&["x", "1"], &["NULL", "2"], &["NULL", "3"]])
    );
    // `limit` counts them as rows too (the key's order, NULLs first, then the others).
    let report = sync(&job(&src, &[&dest], "[[subset.targets]]\ntable = \"t\"\nlimit = 2\n")).expect("limit");
    assert!(report.ok, "{report:?}");
    assert_eq!(all_rows(&dest, "t"), strs(&[&["NULL", "2"], &["NULL", "3"]]));
}

/// A row lost on the way makes the verification fail: it counts the rows the subset
/// chose, duplicates and NULL keys included (it counted distinct keys, which agreed
/// with a destination missing a duplicate or the NULL row). The destination's own
/// UNIQUE key makes `on_conflict = "skip"` drop the second `('ann', 'login')`.
#[test]
fn the_verifier_counts_the_rows_a_subset_chose_so_a_lost_row_fails_it() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(KEYLESS);
    let dest = TestDb::create(Engine::Sqlite);
    dest.exec("CREATE TABLE log (who VARCHAR(10), what VARCHAR(10), UNIQUE (who, what));");
    let report = sync(&format!(
        "source = \"{}\"\n[[destinations]]\nurl = \"{}\"\ntruncate = true\non_conflict = \"skip\"\n\
         [tables]\ninclude = [\"log\"]\n[[subset.targets]]\ntable = \"log\"\nwhere = \"who <> 'cy'\"\n",
        src.url, dest.url
    ))
    .expect("the run ends with its verification");
    assert!(!report.ok, "{report:?}");
    assert_eq!(all_rows(&dest, "log"), strs(&[&["ann", "login"], &["bob", "NULL"]]));
    let counts: Vec<(String, u64, u64)> = report.verification[0]
        .missing_rows
        .iter()
        .map(|c| (c.table.clone(), c.rows_in_source, c.rows_in_destination))
        .collect();
    assert_eq!(counts, vec![("log".to_string(), 3, 2)]);
}

/// F-CI-CHILDREN: children spelling a caseless parent key otherwise are children by the
/// FK (it compares in the parent column's collation) and come with their parent: SQLite
/// NOCASE parent with a plain child column, PostgreSQL nondeterministic collation with a
/// default-collation child, MariaDB (InnoDB requires one collation on both sides) with
/// its `_ci` default.
#[test]
fn children_spelling_a_caseless_parent_key_otherwise_come_with_their_parent() {
    for engine in ENGINES {
        let src = TestDb::create(engine);
        let parent_type = match engine {
            Engine::Sqlite => "TEXT COLLATE NOCASE",
            Engine::Postgres => {
                src.exec("CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);");
                "VARCHAR(10) COLLATE ci"
            }
            Engine::Mysql => "VARCHAR(10)",
        };
        src.exec(&format!(
            "CREATE TABLE p (code {parent_type} NOT NULL PRIMARY KEY, v VARCHAR(10));
             CREATE TABLE c (id INT NOT NULL PRIMARY KEY, pcode VARCHAR(10),
               CONSTRAINT c_pcode_fk FOREIGN KEY (pcode) REFERENCES p (code));
             INSERT INTO p VALUES ('abc', '1'), ('xyz', '2');
             INSERT INTO c VALUES (1, 'abc'), (2, 'ABC'), (3, 'Abc'), (4, 'xyz'), (5, 'XYZ');"
        ));
        let dest = TestDb::create(engine);
        let report = sync(&job(
            &src,
            &[&dest],
            "[[subset.targets]]\ntable = \"p\"\nwhere = \"v = '1'\"\n",
        ))
        .unwrap_or_else(|e| panic!("{engine}: {e}"));
        assert!(report.ok, "{engine}: {report:?}");
        assert_eq!(keys(&dest, "p", "v"), vec!["1"], "{engine}");
        assert_eq!(keys(&dest, "c", "id"), vec!["1", "2", "3"], "{engine}");
    }
}

/// F-PCT-LIMIT: `percent` and `limit` together take the sample first, then its `limit`
/// lowest keys (what the plan says: "50% of rows, first 3 rows"), from every engine.
#[test]
fn percent_and_limit_take_the_lowest_keys_of_the_sample() {
    for engine in ENGINES {
        let src = TestDb::create(engine);
        let values: Vec<String> = (1..=60).map(|i| format!("({i}, 'n{i}')")).collect();
        src.exec(&format!(
            "CREATE TABLE gp (id INT NOT NULL PRIMARY KEY, name VARCHAR(10));
             INSERT INTO gp VALUES {};",
            values.join(", ")
        ));
        let dest = TestDb::create(Engine::Sqlite);
        let run = |target: &str| {
            let report = sync(&job(
                &src,
                &[&dest],
                &format!("[[subset.targets]]\ntable = \"gp\"\nwhere = \"id > 20\"\n{target}"),
            ))
            .unwrap_or_else(|e| panic!("{engine}: {e}"));
            assert!(report.ok, "{engine}: {report:?}");
            keys(&dest, "gp", "id")
                .into_iter()
                .map(|k| k.parse::<i64>().expect("id"))
                .collect::<Vec<i64>>()
        };
        let sample = run("percent = 50\n");
        assert!(sample.len() > 10, "{engine}: {sample:?}");
        assert_eq!(&sample[..3], [21, 24, 25], "{engine}");
        assert_eq!(run("percent = 50\nlimit = 3\n"), sample[..3], "{engine}");
        assert_eq!(run("percent = 50\nlimit = 10\n"), sample[..10], "{engine}");
        assert_eq!(run("limit = 3\n"), [21, 22, 23], "{engine}");
    }
}

/// F-VFK-TYPES: a virtual FK from a `varchar` column to an integer key is refused by
/// the plan (it failed later with PostgreSQL's 42883 while choosing a subset or
/// verifying), naming the FK, both columns and types; on every source engine.
#[test]
fn a_virtual_fk_between_columns_that_do_not_compare_is_refused_by_the_plan() {
    for engine in ENGINES {
        let src = TestDb::create(engine);
        src.exec(
            "CREATE TABLE acct (id INT NOT NULL PRIMARY KEY, name VARCHAR(10));
             CREATE TABLE events (id INT NOT NULL PRIMARY KEY, user_ref VARCHAR(10), what VARCHAR(10));
             INSERT INTO acct VALUES (1, 'a'), (2, 'b');
             INSERT INTO events VALUES (1, '1', 'e'), (2, '2', 'e');",
        );
        let dest = TestDb::create(Engine::Sqlite);
        let vfk =
            "[[virtual_foreign_keys]]\ntable = \"events\"\ncolumns = [\"user_ref\"]\nreferenced_table = \"acct\"\n";
        let e = sync(&job(
            &src,
            &[&dest],
            &format!("[[subset.targets]]\ntable = \"acct\"\nwhere = \"id = 1\"\n{vfk}"),
        ))
        .expect_err("a varchar pointing at an integer");
        let tether_sync::SyncError::Plan(message) = &e else {
            panic!("{engine}: not a plan error: {e}");
        };
        let types = match engine {
            Engine::Sqlite => ("VARCHAR(10)", "INT"),
            Engine::Postgres => ("character varying(10)", "integer"),
            Engine::Mysql => ("varchar(10)", "int(11)"),
        };
        assert_eq!(
            message,
            &format!(
                "job.toml: line 8: virtual foreign key `events_user_ref_vfk`: column `events`.`user_ref` ({}) \
                 cannot be compared with `acct`.`id` ({}) on every engine (PostgreSQL has no `=` between them); \
                 point it at a column of the same kind (numbers with numbers, text with text), or leave the \
                 relation out",
                types.0, types.1
            ),
            "{engine}"
        );
        // Between an integer and a bigint it is fine.
        let src2 = TestDb::create(engine);
        src2.exec(
            "CREATE TABLE acct (id INT NOT NULL PRIMARY KEY, name VARCHAR(10));
             CREATE TABLE events (id INT NOT NULL PRIMARY KEY, user_ref BIGINT, what VARCHAR(10));
             INSERT INTO acct VALUES (1, 'a'), (2, 'b');
             INSERT INTO events VALUES (1, 1, 'e'), (2, 2, 'e');",
        );
        let report = sync(&job(
            &src2,
            &[&dest],
            &format!("[[subset.targets]]\ntable = \"acct\"\nwhere = \"id = 1\"\n{vfk}"),
        ))
        .unwrap_or_else(|e| panic!("{engine}: {e}"));
        assert!(report.ok, "{engine}: {report:?}");
        assert_eq!(keys(&dest, "events", "id"), vec!["1"], "{engine}");
    }
}
