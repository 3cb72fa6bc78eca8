//! Nineteenth session, writer J (review r20j): `tether plan` refuses what `tether sync`
//! refuses before writing.
//! - F1: the plan ran only some of the sync's refusals; those it did not (a re-run into a
//!   keyless table holding rows, `on_conflict = "update"` with no key to find rows by,
//!   `truncate = true` under rows of a table outside the job, a column the job writes
//!   missing there, key changes rows outside the job would not follow) were planned as
//!   fine and refused by the sync. Both now refuse alike, with the sync's message.
//! - F2: a destination column the job does not write, NOT NULL without a default (and
//!   not filled by the destination), failed the sync after other tables were written.
//!   Plan and sync now refuse it before anything is written, naming table and column;
//!   columns the destination fills (default, identity, serial, AUTO_INCREMENT, generated,
//!   SQLite's rowid alias) are written around as before.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

/// The refusal `tether plan` exits on (2) for `text`, if any.
fn plan_refusal(text: &str) -> Option<String> {
    let job = tether_sync::Job::parse("job.toml", text, &|_| None).expect("job");
    tether_testkit::block_on(async {
        match tether_sync::prepare(&job).await {
            Ok(p) => p.plan.refuse_what_the_sync_refuses().err().map(|e| e.to_string()),
            Err(e) => {
                assert!(matches!(e, tether_sync::SyncError::Plan(_)), "exit code 2: {e:?}");
                Some(e.to_string())
            }
        }
    })
}

/// The plan and the sync of `text` both refuse, with one message (exit code 2), which
/// is returned.
fn both_refuse(text: &str) -> String {
    let planned = plan_refusal(text).expect("the plan refuses");
    let err = sync(text).expect_err("the sync refuses");
    assert!(matches!(err, tether_sync::SyncError::Plan(_)), "exit code 2: {err:?}");
    assert_eq!(err.to_string(), planned, "plan and sync say the same");
    planned
}

fn destination_url(db: &TestDb) -> String {
    db.db_url().to_string()
}

fn job_text(src: &TestDb, dest: &TestDb, top: &str, destination: &str) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n{top}[[destinations]]\nurl = \"{}\"\n{destination}",
        src.url, dest.url
    )
}

fn count(db: &TestDb, table: &str) -> String {
    one(db, &format!("SELECT count(*) FROM {table}"))
}

#[test]
fn a_rerun_into_a_keyless_table_holding_rows_is_refused_by_plan_and_sync() {
    for engine in [Engine::Sqlite, Engine::Postgres, Engine::Mysql] {
        let src = TestDb::create(engine);
        src.exec("CREATE TABLE k (a INT, b VARCHAR(10)); INSERT INTO k VALUES (1, 'x'), (2, 'y');");
        let dest = TestDb::create(engine);
        dest.exec("CREATE TABLE k (a INT, b VARCHAR(10)); INSERT INTO k VALUES (1, 'x');");
        let text = job_text(&src, &dest, "", "");
        let said = both_refuse(&text);
        let expected = format!(
            "{}: table k already holds rows and has no primary or unique key, so its rows cannot be told apart \
             from the ones already there: this run would add its rows again. Set truncate = true for this \
             destination, or give the table a key",
            destination_url(&dest)
        );
        assert_eq!(said, expected, "{engine:?}");
        assert_eq!(count(&dest, "k"), "1", "{engine:?}: nothing written");
    }
}

#[test]
fn an_update_with_no_key_to_find_rows_by_is_refused_by_plan_and_sync() {
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let src = TestDb::create(engine);
        src.exec("CREATE TABLE t (code VARCHAR(10) PRIMARY KEY, label VARCHAR(20)); INSERT INTO t VALUES ('c1', 'a');");
        let dest = TestDb::create(engine);
        // A unique key on other columns, and none at all.
        for ddl in [
            "CREATE TABLE t (code VARCHAR(10), label VARCHAR(20))",
            "CREATE TABLE t (code VARCHAR(10), label VARCHAR(20), CONSTRAINT t_pair UNIQUE (code, label))",
        ] {
            dest.exec("DROP TABLE IF EXISTS t");
            dest.exec(ddl);
            let text = job_text(&src, &dest, "", "on_conflict = \"update\"\n");
            let said = both_refuse(&text);
            assert!(
                said.contains("but table t has no primary key or unique key (without WHERE) on exactly (code)"),
                "{engine:?} {ddl}: {said}"
            );
            assert!(
                said.ends_with("Add a unique key on (code) to t, or set truncate = true with on_conflict = \"error\""),
                "{said}"
            );
            assert_eq!(count(&dest, "t"), "0", "{engine:?}: nothing written");
        }
    }
}

#[test]
fn truncate_under_rows_of_a_table_outside_the_job_is_refused_by_plan_and_sync() {
    for engine in [Engine::Sqlite, Engine::Postgres, Engine::Mysql] {
        let src = TestDb::create(engine);
        src.exec("CREATE TABLE t (code VARCHAR(10) PRIMARY KEY, label VARCHAR(20)); INSERT INTO t VALUES ('c1', 'a');");
        let dest = TestDb::create(engine);
        dest.exec(
            "CREATE TABLE t (code VARCHAR(10) PRIMARY KEY, label VARCHAR(20)); INSERT INTO t VALUES ('c0', 'old');
             CREATE TABLE outside (id INT PRIMARY KEY, code VARCHAR(10), CONSTRAINT outside_t FOREIGN KEY (code) REFERENCES t (code));
             INSERT INTO outside VALUES (1, 'c0');",
        );
        let text = job_text(&src, &dest, "", "truncate = true\n");
        let said = both_refuse(&text);
        let expected = format!(
            "{}: truncate = true would empty t, which rows of outside reference through foreign key outside_t; \
             outside is not a table of the job, so those rows would be left without their parent. Add outside to \
             the job, empty it first, or set truncate = false",
            destination_url(&dest)
        );
        assert_eq!(said, expected, "{engine:?}");
        assert_eq!(one(&dest, "SELECT label FROM t"), "old", "{engine:?}: nothing written");
    }
}

#[test]
fn a_column_the_job_writes_missing_there_is_refused_by_plan_and_sync() {
    for engine in [Engine::Sqlite, Engine::Postgres, Engine::Mysql] {
        for mode in ["mode = \"data\"\n", ""] {
            let src = TestDb::create(engine);
            src.exec(
                "CREATE TABLE p (id INT PRIMARY KEY); INSERT INTO p VALUES (1);
                 CREATE TABLE t (code VARCHAR(10) PRIMARY KEY, label VARCHAR(20)); INSERT INTO t VALUES ('c1', 'a');",
            );
            let dest = TestDb::create(engine);
            dest.exec("CREATE TABLE p (id INT PRIMARY KEY); CREATE TABLE t (code VARCHAR(10) PRIMARY KEY);");
            let text = job_text(&src, &dest, mode, "");
            let said = both_refuse(&text);
            let table = match engine {
                Engine::Postgres => "public.t",
                _ => "t",
            };
            let expected = format!(
                "{}: table {table} has no column `label` (the source's t has it)",
                destination_url(&dest)
            );
            assert_eq!(said, expected, "{engine:?} {mode}");
            assert_eq!(count(&dest, "p"), "0", "{engine:?}: nothing written");
        }
    }
}

#[test]
fn an_update_changing_a_key_rows_outside_reference_is_refused_by_plan_and_sync() {
    for engine in [Engine::Postgres, Engine::Mysql] {
        let src = TestDb::create(engine);
        src.exec(
            "CREATE TABLE p (id INT PRIMARY KEY, code VARCHAR(10) NOT NULL, CONSTRAINT p_code UNIQUE (code));
             INSERT INTO p VALUES (1, 'new');",
        );
        let dest = TestDb::create(engine);
        dest.exec(
            "CREATE TABLE p (id INT PRIMARY KEY, code VARCHAR(10) NOT NULL, CONSTRAINT p_code UNIQUE (code));
             INSERT INTO p VALUES (1, 'old');
             CREATE TABLE outside (id INT PRIMARY KEY, code VARCHAR(10),
               CONSTRAINT outside_p FOREIGN KEY (code) REFERENCES p (code));
             INSERT INTO outside VALUES (1, 'old');",
        );
        let text = job_text(&src, &dest, "", "on_conflict = \"update\"\nchecks = \"verify\"\n");
        let said = both_refuse(&text);
        assert!(
            said.starts_with(&format!(
                "{}: on_conflict = \"update\" with checks = \"verify\" may change p's key (code), which rows of \
                 outside reference through foreign key outside_p;",
                destination_url(&dest)
            )),
            "{engine:?}: {said}"
        );
        assert_eq!(one(&dest, "SELECT code FROM p"), "old", "{engine:?}: nothing written");
    }
}

#[test]
fn a_not_null_column_the_job_does_not_write_is_refused_before_anything_is_written() {
    for engine in [Engine::Sqlite, Engine::Postgres, Engine::Mysql] {
        let src = TestDb::create(engine);
        src.exec(
            "CREATE TABLE p (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL);
             INSERT INTO p VALUES (1, 'a'), (2, 'b');
             CREATE TABLE tc (code VARCHAR(10) NOT NULL, n INT NOT NULL, PRIMARY KEY (code, n));
             INSERT INTO tc VALUES ('c1', 1);",
        );
        // One such column, two, and one beside a nullable one: each named.
        for (extra, named) in [
            ("extra INT NOT NULL", "column `extra`"),
            (
                "extra INT NOT NULL, more VARCHAR(5) NOT NULL",
                "columns `extra`, `more`",
            ),
            ("spare INT, extra INT NOT NULL", "column `extra`"),
        ] {
            let dest = TestDb::create(engine);
            dest.exec(&format!(
                "CREATE TABLE p (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL);
                 CREATE TABLE tc (code VARCHAR(10) NOT NULL, n INT NOT NULL, {extra}, PRIMARY KEY (code, n));"
            ));
            for destination in ["", "checks = \"verify\"\n"] {
                let text = job_text(&src, &dest, "", destination);
                let said = both_refuse(&text);
                let table = match engine {
                    Engine::Postgres => "public.tc",
                    _ => "tc",
                };
                let it = if named.starts_with("columns") { "them" } else { "it" };
                let expected = format!(
                    "{}: table {table} has {named} NOT NULL without a default, which the job does not write (the \
                     source's tc has no such column): every row written there would be refused. Nothing was \
                     written. Give {it} a default there, allow NULL in {it}, or drop {it}",
                    destination_url(&dest)
                );
                assert_eq!(said, expected, "{engine:?} {extra} {destination}");
                assert_eq!(count(&dest, "p"), "0", "{engine:?} {extra}: nothing written");
                assert_eq!(count(&dest, "tc"), "0", "{engine:?} {extra}: nothing written");
            }
        }
    }
}

#[test]
fn columns_the_destination_fills_are_not_refused() {
    for engine in [Engine::Sqlite, Engine::Postgres, Engine::Mysql] {
        let src = TestDb::create(engine);
        src.exec("CREATE TABLE tok (code VARCHAR(10) PRIMARY KEY); INSERT INTO tok VALUES ('a'), ('b');");
        let dest = TestDb::create(engine);
        dest.exec(match engine {
            Engine::Sqlite => {
                "CREATE TABLE tok (rid INTEGER PRIMARY KEY NOT NULL, code VARCHAR(10) NOT NULL UNIQUE,
                   d INT NOT NULL DEFAULT 3, g INT NOT NULL GENERATED ALWAYS AS (d + 1), spare INT)"
            }
            Engine::Postgres => {
                "CREATE TABLE tok (s serial NOT NULL, i INT NOT NULL GENERATED ALWAYS AS IDENTITY,
                   code VARCHAR(10) PRIMARY KEY, d INT NOT NULL DEFAULT 3,
                   g INT NOT NULL GENERATED ALWAYS AS (d + 1) STORED, spare INT)"
            }
            Engine::Mysql => {
                "CREATE TABLE tok (a INT NOT NULL AUTO_INCREMENT, code VARCHAR(10) PRIMARY KEY,
                   d INT NOT NULL DEFAULT 3, g INT AS (d + 1) VIRTUAL, spare INT, KEY (a))"
            }
        });
        let text = job_text(&src, &dest, "", "");
        assert_eq!(plan_refusal(&text), None, "{engine:?}");
        let report = sync(&text).expect("the sync writes");
        assert!(report.ok, "{engine:?}: {report:?}");
        assert_eq!(
            dest.query("SELECT code, d, g FROM tok ORDER BY code"),
            [["a", "3", "4"], ["b", "3", "4"]].map(|r| r.map(|v| Some(v.to_string())).to_vec()),
            "{engine:?}"
        );
    }
}

/// Round-2 review r20l: a MariaDB ENUM NOT NULL without a default takes its first
/// value (strict mode too): not refused; a SQLite `NOT NULL DEFAULT NULL` column has no
/// value to give: refused before anything is written (it failed after other tables'
/// rows were committed).
#[test]
fn an_enum_takes_its_first_value_and_default_null_is_no_default() {
    let src = TestDb::create(Engine::Mysql);
    src.exec("CREATE TABLE tok (code VARCHAR(10) PRIMARY KEY); INSERT INTO tok VALUES ('a'), ('b');");
    let dest = TestDb::create(Engine::Mysql);
    dest.exec("CREATE TABLE tok (code VARCHAR(10) PRIMARY KEY, kind ENUM('x', 'y') NOT NULL)");
    let text = job_text(&src, &dest, "", "");
    assert_eq!(plan_refusal(&text), None);
    assert!(sync(&text).expect("the sync writes").ok);
    assert_eq!(
        dest.query("SELECT code, kind FROM tok ORDER BY code"),
        [["a", "x"], ["b", "x"]].map(|r| r.map(|v| Some(v.to_string())).to_vec())
    );

    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE a (id INT PRIMARY KEY); INSERT INTO a VALUES (1), (2);
         CREATE TABLE b (id INT PRIMARY KEY); INSERT INTO b VALUES (1);",
    );
    let dest = TestDb::create(Engine::Sqlite);
    dest.exec(
        "CREATE TABLE a (id INT PRIMARY KEY);
         CREATE TABLE b (id INT PRIMARY KEY, extra INT NOT NULL DEFAULT NULL);",
    );
    let said = both_refuse(&job_text(&src, &dest, "", ""));
    assert!(
        said.contains("table b has column `extra` NOT NULL without a default"),
        "{said}"
    );
    assert_eq!(count(&dest, "a"), "0", "nothing written");
}
