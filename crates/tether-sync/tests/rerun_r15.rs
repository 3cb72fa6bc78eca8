//! Fifteenth review, C1-C3: re-runs with `on_conflict = "update"` into destinations
//! that check foreign keys row by row. C1: a breakable cycle's rows were written with
//! their FK NULL, overwriting the existing rows' correct values, and a failure before
//! the cycle's UPDATEs left them NULL. C2: a changed unique (non-primary) key that a
//! destination child references failed midway on MariaDB/SQLite (partly updated),
//! SQLite's message naming no FK. C3: SQLite's clash with another destination row on a
//! second unique key gave the raw message. Each test replays the reviewer's scenario on
//! the real servers and asserts the rows the destination keeps.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

const ENGINES: [Engine; 3] = [Engine::Postgres, Engine::Mysql, Engine::Sqlite];

const EMP: &str = "CREATE TABLE emp (id int PRIMARY KEY, manager_id int, email varchar(40) NOT NULL UNIQUE, \
                   CONSTRAINT emp_manager_fk FOREIGN KEY (manager_id) REFERENCES emp (id))";

fn emp_job(src: &TestDb, dest: &TestDb) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n[options]\nbatch_size = 2\n[tables]\ninclude = [\"emp\"]\n\
         [[destinations]]\nurl = \"{}\"\non_conflict = \"update\"\n",
        src.url, dest.url
    )
}

/// (id, manager_id) of every row of emp.
fn managers(db: &TestDb) -> Vec<(String, String)> {
    rows(db, "emp", "id")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect()
}

fn pairs(list: &[(i32, Option<i32>)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(id, m)| (id.to_string(), m.map_or("NULL".into(), |m| m.to_string())))
        .collect()
}

/// C1 (and C3 on SQLite): a first run copies emp (a self-reference, 9 of 10 rows with a
/// manager, some managed by a later row); the source then moves row 3 under a new row
/// 11 and adds row 12 under 11, whose email a destination-only row 99 holds. The re-run
/// fails on row 12 (another destination row's unique key) and must leave every row that
/// was there with its manager as before: PostgreSQL rolls back, MariaDB keeps row 11
/// (written complete, its manager there), SQLite rolls back the batch of rows 11 and 12.
/// The message names the clash as a destination row's. Without row 99 the next run
/// completes every row, row 3 under 11.
#[test]
fn a_failed_update_re_run_leaves_the_cycle_rows_that_were_there_as_they_were() {
    let first = [
        (1, None),
        (2, Some(5)),
        (3, Some(1)),
        (4, Some(2)),
        (5, Some(1)),
        (6, Some(4)),
        (7, Some(10)),
        (8, Some(7)),
        (9, Some(1)),
        (10, Some(1)),
    ];
    for engine in ENGINES {
        let src = TestDb::create(Engine::Sqlite);
        let values: Vec<String> = first
            .iter()
            .map(|(id, m)| format!("({id}, {}, 'u{id}@x.org')", m.map_or("NULL".into(), |m| m.to_string())))
            .collect();
        src.exec(&format!(
            "PRAGMA foreign_keys = OFF; {EMP}; INSERT INTO emp VALUES {}",
            values.join(", ")
        ));
        let dest = TestDb::create(engine);
        let job = emp_job(&src, &dest);
        let report = sync(&job).unwrap_or_else(|e| panic!("{engine}: first run: {e}"));
        assert!(report.ok, "{engine}: {report:?}");
        assert_eq!(managers(&dest), pairs(&first), "{engine}");

        dest.exec("INSERT INTO emp VALUES (99, NULL, 'u12@x.org')");
        src.exec(
            "INSERT INTO emp VALUES (11, 4, 'u11@x.org'); INSERT INTO emp VALUES (12, 11, 'u12@x.org'); \
             UPDATE emp SET manager_id = 11 WHERE id = 3",
        );
        let err = sync(&job).expect_err("row 12 clashes with row 99").to_string();
        let mut kept = first.to_vec();
        kept.push((99, None));
        match engine {
            // One INSERT ... ON CONFLICT per batch: PostgreSQL names no row of it.
            Engine::Postgres => assert!(
                err.contains(
                    "table emp: row (in a batch; the server did not say which) was rejected: server error \
                              23505"
                ) && err.contains("nothing was written"),
                "{engine}: {err}"
            ),
            _ => assert!(
                err.contains("table emp: row (id)=(12) was rejected")
                    && err.contains(
                        "it clashes with a destination row whose key (id) is another on a unique key other than \
                     that: on_conflict = \"update\" overwrites only the row with the same key"
                    ),
                "{engine}: {err}"
            ),
        }
        if engine == Engine::Mysql {
            kept.push((11, Some(4)));
        }
        kept.sort();
        assert_eq!(managers(&dest), pairs(&kept), "{engine}: {err}");

        dest.exec("DELETE FROM emp WHERE id = 99");
        let report = sync(&job).unwrap_or_else(|e| panic!("{engine}: third run: {e}"));
        assert!(report.ok, "{engine}: {report:?}");
        let mut all = first.to_vec();
        all[2] = (3, Some(11));
        all.extend([(11, Some(4)), (12, Some(11))]);
        assert_eq!(managers(&dest), pairs(&all), "{engine}");
        assert_eq!(
            rows(&dest, "emp", "id")
                .iter()
                .map(|r| r[2].clone())
                .collect::<Vec<_>>(),
            (1..=12).map(|i| format!("u{i}@x.org")).collect::<Vec<_>>(),
            "{engine}"
        );
    }
}

fn proj_ddl() -> &'static str {
    "CREATE TABLE note (id int PRIMARY KEY, body varchar(20));
     CREATE TABLE proj (id int PRIMARY KEY, code varchar(10) NOT NULL UNIQUE);
     CREATE TABLE proj_ref (id int PRIMARY KEY, proj_code varchar(10) NOT NULL,
       CONSTRAINT pr_code_fk FOREIGN KEY (proj_code) REFERENCES proj (code));"
}

fn proj_job(src: &TestDb, dest: &TestDb, truncate: bool) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n[tables]\ninclude = [\"note\", \"proj\", \"proj_ref\"]\n\
         [[destinations]]\nurl = \"{}\"\non_conflict = \"update\"\ntruncate = {truncate}\n",
        src.url, dest.url
    )
}

/// C2: the source changes a unique key that a child references (`proj.code` 'P-001' to
/// 'P-101', its `proj_ref` row with it). A re-run with `update` into a destination
/// checking FKs row by row (MariaDB, SQLite) is refused before anything is written,
/// naming FK pr_code_fk, the row and `truncate`: `note`, changed too, keeps its old
/// row. PostgreSQL (one transaction, FKs dropped and validated again) follows the change.
/// With `truncate = true` every engine ends with the source's rows; a re-run before the
/// change passes everywhere.
#[test]
fn an_update_re_run_changing_a_referenced_unique_key_is_refused_before_writing_or_followed() {
    for engine in ENGINES {
        let src = TestDb::create(Engine::Sqlite);
        src.exec(proj_ddl());
        src.exec(
            "INSERT INTO note VALUES (1, 'old'); INSERT INTO proj VALUES (1, 'P-001'), (2, 'P-002');
             INSERT INTO proj_ref VALUES (10, 'P-001'), (20, 'P-002');",
        );
        let dest = TestDb::create(engine);
        let report = sync(&proj_job(&src, &dest, false)).unwrap_or_else(|e| panic!("{engine}: {e}"));
        assert!(report.ok, "{engine}: {report:?}");
        // Run again, the source unchanged: the keys are compared, none differs.
        let report = sync(&proj_job(&src, &dest, false)).unwrap_or_else(|e| panic!("{engine}: same: {e}"));
        assert!(report.ok, "{engine}: {report:?}");
        src.exec(
            "PRAGMA foreign_keys = OFF; UPDATE note SET body = 'new'; UPDATE proj SET code = 'P-101' WHERE id = 1;
             UPDATE proj_ref SET proj_code = 'P-101' WHERE id = 10;",
        );
        let changed = [
            vec![vec!["1".to_string(), "new".to_string()]],
            vec![vec!["1".into(), "P-101".into()], vec!["2".into(), "P-002".into()]],
            vec![vec!["10".into(), "P-101".into()], vec!["20".into(), "P-002".into()]],
        ];
        let now = |db: &TestDb| {
            [
                rows(db, "note", "id"),
                rows(db, "proj", "id"),
                rows(db, "proj_ref", "id"),
            ]
        };
        match (engine, sync(&proj_job(&src, &dest, false))) {
            (Engine::Postgres, Ok(report)) => {
                assert!(report.ok, "{engine}: {report:?}");
                assert_eq!(now(&dest), changed, "{engine}");
            }
            (Engine::Postgres, Err(e)) => panic!("{engine}: {e}"),
            (_, Ok(report)) => panic!("{engine}: not refused: {report:?}"),
            (_, Err(e)) => {
                let e = e.to_string();
                assert!(
                    e.contains(
                        "on_conflict = \"update\" would change proj's key (code) in row (id)=(1) from the value \
                         rows of proj_ref reference through foreign key pr_code_fk"
                    ),
                    "{engine}: {e}"
                );
                assert!(e.contains("set truncate = true"), "{engine}: {e}");
                assert_eq!(
                    now(&dest),
                    [
                        vec![vec!["1".to_string(), "old".to_string()]],
                        vec![vec!["1".into(), "P-001".into()], vec!["2".into(), "P-002".into()]],
                        vec![vec!["10".into(), "P-001".into()], vec!["20".into(), "P-002".into()]],
                    ],
                    "{engine}: {e}"
                );
            }
        }
        let report = sync(&proj_job(&src, &dest, true)).unwrap_or_else(|e| panic!("{engine}: truncate: {e}"));
        assert!(report.ok, "{engine}: {report:?}");
        assert_eq!(now(&dest), changed, "{engine}");
    }
}

/// C2, SQLite's message: a destination `proj_ref` declaring FK pr_code_fk that the
/// source does not (so the job does not know the parent must come first, nor that a
/// row has none) gets a row whose parent is missing (loaded before or after proj, the same row): SQLite's bare "FOREIGN KEY
/// constraint failed" now names the FK, its columns and the value no parent holds.
#[test]
fn sqlite_names_the_foreign_key_a_rejected_row_breaks() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE proj (id int PRIMARY KEY, code varchar(10) NOT NULL UNIQUE);
         CREATE TABLE proj_ref (id int PRIMARY KEY, proj_code varchar(10) NOT NULL);
         INSERT INTO proj VALUES (1, 'P-001'); INSERT INTO proj_ref VALUES (10, 'P-404');",
    );
    let dest = TestDb::create(Engine::Sqlite);
    dest.exec(proj_ddl());
    let err = sync(&proj_job(&src, &dest, false).replace("\"note\", ", ""))
        .expect_err("row 10 has no parent")
        .to_string();
    assert!(
        err.contains(
            "table proj_ref: row (id)=(10) was rejected: FOREIGN KEY constraint failed: foreign key pr_code_fk \
             (proj_code) references proj (code), where the destination holds no row with ('P-404')"
        ),
        "{err}"
    );
}

/// C1, the message: with batches of one row, new row 11 (managed by new row 12, not
/// there yet) goes in with manager_id NULL, then row 12 is rejected. The error says
/// that a new row was left with manager_id NULL, the cycle's UPDATE not run; the rows
/// that were there keep their managers.
#[test]
fn a_failed_update_re_run_says_which_new_rows_it_left_with_the_cycle_fk_null() {
    for engine in [Engine::Mysql, Engine::Sqlite] {
        let src = TestDb::create(Engine::Sqlite);
        src.exec(&format!(
            "PRAGMA foreign_keys = OFF; {EMP}; INSERT INTO emp VALUES (1, NULL, 'u1@x.org'), (2, 1, 'u2@x.org')"
        ));
        let dest = TestDb::create(engine);
        let job = emp_job(&src, &dest).replace("batch_size = 2", "batch_size = 1");
        let report = sync(&job).unwrap_or_else(|e| panic!("{engine}: first run: {e}"));
        assert!(report.ok, "{engine}: {report:?}");
        dest.exec("INSERT INTO emp VALUES (99, NULL, 'u12@x.org')");
        src.exec(
            "PRAGMA foreign_keys = OFF; INSERT INTO emp VALUES (11, 12, 'u11@x.org'); \
             INSERT INTO emp VALUES (12, 1, 'u12@x.org')",
        );
        let err = sync(&job).expect_err("row 12 clashes with row 99").to_string();
        assert!(
            err.contains("table emp: row (id)=(12) was rejected")
                && err.contains(
                    "rows of emp were written before it, 1 of them new rows left with manager_id NULL (the \
                     cycle's UPDATE setting them once the table is loaded did not run)"
                ),
            "{engine}: {err}"
        );
        assert_eq!(
            managers(&dest),
            pairs(&[(1, None), (2, Some(1)), (11, None), (99, None)]),
            "{engine}: {err}"
        );
    }
}

/// C3: SQLite, `update`, a source row clashing with another destination row on a
/// second unique key: the documented wording (as MariaDB's), after SQLite's own.
#[test]
fn sqlite_says_an_update_clashes_with_another_destination_row() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE t (id int PRIMARY KEY, email varchar(40) NOT NULL UNIQUE);
         INSERT INTO t VALUES (1, 'a@x.org'), (2, 'b@x.org');",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let job = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[tables]\ninclude = [\"t\"]\n[[destinations]]\nurl = \"{}\"\n\
         on_conflict = \"update\"\n",
        src.url, dest.url
    );
    assert!(sync(&job).expect("first run").ok);
    dest.exec("INSERT INTO t VALUES (99, 'c@x.org')");
    src.exec("INSERT INTO t VALUES (3, 'c@x.org')");
    let err = sync(&job).expect_err("row 3 clashes with row 99").to_string();
    assert!(
        err.contains(
            "table t: row (id)=(3) was rejected: UNIQUE constraint failed: t.email: it clashes with a destination \
             row whose key (id) is another on a unique key other than that: on_conflict = \"update\" overwrites \
             only the row with the same key (as on PostgreSQL and MariaDB/MySQL), never a different row; that row \
             was left as it was (0 rows of t were written before it"
        ),
        "{err}"
    );
    assert_eq!(
        rows(&dest, "t", "id"),
        [["1", "a@x.org"], ["2", "b@x.org"], ["99", "c@x.org"]].map(|r| r.map(String::from).to_vec())
    );
}

/// C1 across two tables: `cb.ca_id` (nullable) breaks the cycle ca <-> cb, so cb loads
/// first with it NULL and an UPDATE sets it once ca is loaded. The source moves cb 1
/// under a new ca 3, whose name a destination-only ca row holds: the re-run fails on
/// ca 3 and cb 1 keeps ca 1 (it lost it before); the message says cb's row waits for
/// the cycle's UPDATE. Without the clash the next run sets cb 1 to ca 3.
#[test]
fn a_cycle_over_two_tables_keeps_the_rows_that_were_there_when_its_second_table_fails() {
    for engine in [Engine::Mysql, Engine::Sqlite] {
        let src = TestDb::create(Engine::Sqlite);
        let cycle = "CREATE TABLE cb (id int PRIMARY KEY, ca_id int, CONSTRAINT cb_ca_fk FOREIGN KEY (ca_id) \
                     REFERENCES ca (id)); \
                     CREATE TABLE ca (id int PRIMARY KEY, name varchar(10) NOT NULL UNIQUE, cb_id int NOT NULL, \
                     CONSTRAINT ca_cb_fk FOREIGN KEY (cb_id) REFERENCES cb (id));";
        src.exec(&format!(
            "PRAGMA foreign_keys = OFF; {cycle} INSERT INTO cb VALUES (1, 1), (2, 2); \
             INSERT INTO ca VALUES (1, 'one', 1), (2, 'two', 2);"
        ));
        let dest = TestDb::create(engine);
        if engine == Engine::Mysql {
            dest.exec(
                "CREATE TABLE cb (id int PRIMARY KEY, ca_id int); \
                 CREATE TABLE ca (id int PRIMARY KEY, name varchar(10) NOT NULL UNIQUE, cb_id int NOT NULL, \
                 CONSTRAINT ca_cb_fk FOREIGN KEY (cb_id) REFERENCES cb (id)); \
                 ALTER TABLE cb ADD CONSTRAINT cb_ca_fk FOREIGN KEY (ca_id) REFERENCES ca (id);",
            );
        }
        let job = format!(
            "source = \"{}\"\nprivacy = \"off\"\n[tables]\ninclude = [\"ca\", \"cb\"]\n[[destinations]]\n\
             url = \"{}\"\non_conflict = \"update\"\n",
            src.url, dest.url
        );
        let report = sync(&job).unwrap_or_else(|e| panic!("{engine}: first run: {e}"));
        assert!(report.ok, "{engine}: {report:?}");
        let before = [rows(&dest, "cb", "id"), rows(&dest, "ca", "id")];
        assert_eq!(
            before[0],
            [["1", "1"], ["2", "2"]].map(|r| r.map(String::from).to_vec()),
            "{engine}"
        );
        dest.exec("INSERT INTO ca VALUES (99, 'three', 2)");
        src.exec(
            "PRAGMA foreign_keys = OFF; INSERT INTO ca VALUES (3, 'three', 2); UPDATE cb SET ca_id = 3 WHERE id = 1",
        );
        let err = sync(&job).expect_err("ca 3 clashes with ca 99").to_string();
        assert!(
            err.contains("table ca: row (id)=(3) was rejected")
                && err.contains("did not run; rows waiting for them: ")
                && err.contains(": cb: 1"),
            "{engine}: {err}"
        );
        assert_eq!(rows(&dest, "cb", "id"), before[0], "{engine}: {err}");
        dest.exec("DELETE FROM ca WHERE id = 99");
        let report = sync(&job).unwrap_or_else(|e| panic!("{engine}: third run: {e}"));
        assert!(report.ok, "{engine}: {report:?}");
        assert_eq!(
            rows(&dest, "cb", "id"),
            [["1", "3"], ["2", "2"]].map(|r| r.map(String::from).to_vec()),
            "{engine}"
        );
        assert_eq!(
            rows(&dest, "ca", "id"),
            [["1", "one", "1"], ["2", "two", "2"], ["3", "three", "2"]].map(|r| r.map(String::from).to_vec()),
            "{engine}"
        );
    }
}
