//! Sixteenth review X, writer D: a MERGE table whose definition holds a character
//! that grows when upper-cased (the message was cut at a byte index of the upper-cased
//! text: a panic); a changed referenced unique key whose child table is in another
//! database of the MariaDB server (refused before writing, as one in the destination's
//! own database is); a scan of a table of two rows (too few values: never clean); a
//! SQLite view whose name is not ASCII (refused by the plan and the run). Real servers,
//! exact messages and rows.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

/// The error `tether plan` gives for job `text` (prepare: what the plan reads).
fn plan_error(text: &str) -> String {
    let job = tether_sync::Job::parse("job.toml", text, &|_| None).expect("job");
    match tether_testkit::block_on(tether_sync::prepare(&job)) {
        Ok(_) => panic!("the plan went ahead"),
        Err(e) => e.to_string(),
    }
}

/// R2: the destination's `t` is a MERGE table over `éé`, and a column comment of 'ŉ'
/// (2 bytes, upper-cased 3). Plan and run refuse with the E2 message naming the
/// merged table; before, both panicked slicing the definition (exit 101), the panic
/// printing the whole SHOW CREATE TABLE text.
#[test]
fn a_merge_table_whose_definition_grows_when_upper_cased_is_refused_by_name() {
    let src = TestDb::create(Engine::Mysql);
    src.exec("CREATE TABLE t (id int PRIMARY KEY) ENGINE = InnoDB; INSERT INTO t VALUES (1);");
    let dest = TestDb::create(Engine::Mysql);
    dest.exec(
        "CREATE TABLE `éé` (id int NOT NULL, KEY (id)) ENGINE = MyISAM;
         CREATE TABLE t (id int NOT NULL COMMENT 'ŉŉŉŉŉŉŉŉŉ UNION=(`x`)', KEY (id)) ENGINE = MERGE UNION = (`éé`);",
    );
    let job = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\n",
        src.url, dest.url
    );
    let expected = format!(
        "{}: table t is a MRG_MyISAM table, whose rows are stored in other tables (`éé`): emptying it \
         (truncate = true) or writing into it would change those tables, which may be the job's source. Tether \
         writes only into tables that store their own rows: drop or rename t there, or leave it out of the job \
         (nothing was written)",
        dest.db_url()
    );
    assert_eq!(plan_error(&job), expected);
    assert_eq!(sync(&job).expect_err("a MERGE table").to_string(), expected);
    assert_eq!(
        one(
            &dest,
            "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
        ),
        "2"
    );
}

/// R3: `on_conflict = "update"` would change `p.code` (a unique key, not the row key)
/// of row 2 from 'B', which a row of a table in ANOTHER database of the server
/// references (NO ACTION). Refused before anything is written, naming the child with
/// its database and the FK; before, the run wrote row 1 and failed 1451 on row 2.
#[test]
fn a_changed_unique_key_referenced_from_another_database_is_refused_before_writing() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE p (id int PRIMARY KEY, code varchar(10) NOT NULL UNIQUE, v varchar(10)) ENGINE = InnoDB;
         INSERT INTO p VALUES (1, 'A', 'new1'), (2, 'B2', 'new2');",
    );
    let dest = TestDb::create(Engine::Mysql);
    dest.exec(
        "CREATE TABLE p (id int PRIMARY KEY, code varchar(10) NOT NULL UNIQUE, v varchar(10)) ENGINE = InnoDB;
         INSERT INTO p VALUES (1, 'A', 'old1'), (2, 'B', 'old2');",
    );
    let other = TestDb::create(Engine::Mysql);
    other.exec(&format!(
        "CREATE TABLE oc (id int PRIMARY KEY, pcode varchar(10),
           CONSTRAINT oc_p_fk FOREIGN KEY (pcode) REFERENCES {}.p (code)) ENGINE = InnoDB;
         INSERT INTO oc VALUES (1, 'B');",
        dest.name
    ));
    let job = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\non_conflict = \"update\"\n\
         [options]\nbatch_size = 1\n",
        src.url, dest.url
    );
    let err = sync(&job).expect_err("oc's row would lose its parent key").to_string();
    assert_eq!(
        err,
        format!(
            "{}: on_conflict = \"update\" would change p's key (code) in row (id)=(2) from the value rows of \
             {}.oc (a table of another database of the server) reference through foreign key oc_p_fk (the \
             source holds another value there now); this destination checks foreign keys row by row and \
             oc_p_fk has no ON UPDATE action, so the load would be refused midway, the tables before it \
             written. Nothing was written: set truncate = true on the destination to empty the job's tables \
             and write them afresh",
            dest.db_url(),
            other.name
        )
    );
    assert_eq!(rows(&dest, "p", "id"), [["1", "A", "old1"], ["2", "B", "old2"]]);
    assert_eq!(rows(&other, "oc", "id"), [["1", "B"]]);

    // An ON UPDATE CASCADE child follows the change: no refusal, the key changes in both.
    other.exec(&format!(
        "DROP TABLE oc; CREATE TABLE oc (id int PRIMARY KEY, pcode varchar(10),
           CONSTRAINT oc_p_fk FOREIGN KEY (pcode) REFERENCES {}.p (code) ON UPDATE CASCADE) ENGINE = InnoDB;
         INSERT INTO oc VALUES (1, 'B');",
        dest.name
    ));
    assert!(sync(&job).expect("a cascading child follows").ok);
    assert_eq!(rows(&dest, "p", "id"), [["1", "A", "new1"], ["2", "B2", "new2"]]);
    assert_eq!(rows(&other, "oc", "id"), [["1", "B2"]]);
}

/// R5: a table of two rows whose `reach` holds two e-mail addresses (no NULL) is too
/// few values to judge: marked few_values, with its reason, never clean; before,
/// few_values was false (every row had a value) and the column counted clean.
#[test]
fn a_column_of_a_two_row_table_is_never_reported_clean() {
    for engine in [Engine::Sqlite, Engine::Mysql] {
        let src = TestDb::create(engine);
        src.exec(
            "CREATE TABLE acct (id int PRIMARY KEY, reach varchar(100));
             INSERT INTO acct VALUES (1, 'maria.lopez@example.org');
             INSERT INTO acct VALUES (2, 'john.smith@example.com');",
        );
        let found = scan(&src);
        let seen: Vec<(String, Option<u64>, bool, Option<String>)> = found
            .columns
            .iter()
            .map(|c| {
                (
                    c.column.clone(),
                    c.values_sampled,
                    c.few_values,
                    c.class.map(|k| k.to_string()),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("id".to_string(), Some(2), true, None),
                ("reach".to_string(), Some(2), true, None),
            ],
            "{engine:?}"
        );
        assert_eq!(
            found.columns[1].evidence,
            ["values: only 2 sampled, the table's only rows: too few to judge by value"],
            "{engine:?}"
        );

        // The plan's privacy report names it, not as clean.
        let dest = TestDb::create(Engine::Sqlite);
        let job = format!("source = \"{}\"\n[[destinations]]\nurl = \"{}\"\n", src.url, dest.url);
        let parsed = tether_sync::Job::parse("job.toml", &job, &|_| None).expect("job");
        let prepared = tether_testkit::block_on(tether_sync::prepare(&parsed)).expect("plan");
        let privacy = prepared.plan.privacy.as_ref().expect("privacy report");
        assert_eq!(privacy.few_values, ["acct.id", "acct.reach"], "{engine:?}");
        assert!(
            privacy.to_text().contains(
                "  2 columns with fewer than 3 values (NULL in the other rows read, or no more rows), not judged \
                 by value: acct.id, acct.reach\n"
            ),
            "{engine:?}: {}",
            privacy.to_text()
        );
    }
}

/// R6: a SQLite destination where the job's `CAFÉ` is a view (SQLite folds ASCII only,
/// so Rust's lower case never matched its `lower()`). The plan (which reads the file
/// read-only) and the run refuse it before anything is written; before, the plan
/// planned a new table and the run failed creating it. A view `café` is another name
/// to SQLite (É is not folded): the table is created beside it.
#[test]
fn a_sqlite_view_with_a_non_ascii_name_is_refused_by_plan_and_run() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE `CAFÉ` (id int PRIMARY KEY, v varchar(10)) ENGINE = InnoDB; INSERT INTO `CAFÉ` VALUES (1, 'a');",
    );
    let dest = TestDb::create(Engine::Sqlite);
    dest.exec("CREATE TABLE base (id INTEGER PRIMARY KEY, v TEXT); CREATE VIEW \"cafÉ\" AS SELECT * FROM base;");
    let job = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\n",
        src.url, dest.url
    );
    let expected = format!(
        "{}: cafÉ, a table of the job, exists there as a view, not as a table: Tether writes only into tables \
         that store their own rows. Drop or rename it there, or leave the table out of the job (nothing was \
         written)",
        dest.db_url()
    );
    assert_eq!(plan_error(&job), expected);
    assert_eq!(sync(&job).expect_err("a view").to_string(), expected);
    assert_eq!(
        one(
            &dest,
            "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master ORDER BY name)"
        ),
        "base,cafÉ"
    );

    dest.exec("DROP VIEW \"cafÉ\"; CREATE VIEW \"café\" AS SELECT * FROM base;");
    assert!(sync(&job).expect("café is another name").ok);
    assert_eq!(rows(&dest, "CAFÉ", "id"), [["1", "a"]]);
}
