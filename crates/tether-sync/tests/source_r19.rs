//! Review r19 p: what in a MariaDB copy still reached the source.
//!
//! F1: a comment or VT between the source's database name and the dot kept the
//! qualification in a copied trigger. F2: under MSSQL, `[src].[log]` was not read as a
//! name. F3/F6: a body created under NO_BACKSLASH_ESCAPES was read with backslash
//! escapes (a qualification taken for string content, or code taken for a string).
//! F4: a DEFAULT `setval(src.s, ...)` kept the source's sequence. F5: a MERGE table
//! over another database's table was created as it is and written through. F7: `CALL
//! p` without parentheses was not seen as a call (the procedure was not copied).

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

/// The source: `log` ('orig').
fn logged_source() -> TestDb {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE log (id INT AUTO_INCREMENT PRIMARY KEY, msg VARCHAR(50));
         INSERT INTO log (msg) VALUES ('orig');",
    );
    src
}

fn copy_job(src: &TestDb, dest: &TestDb) -> String {
    format!(
        "source = \"{}\"\nseed = \"x\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\n",
        src.url, dest.url
    )
}

/// F1, F2, F3: each trigger (and the MSSQL procedure one calls) writes into the copy's
/// `log`, never the source's, however the body spells the source's database.
#[test]
fn spelled_qualifications_are_removed_under_the_objects_sql_mode() {
    let src = logged_source();
    let db = &src.name;
    let mut script = String::new();
    for t in ["t_cmt", "t_dash", "t_hash", "t_vt", "t_ms", "t_ms2", "t_nbe"] {
        script.push_str(&format!("CREATE TABLE {t} (id INT PRIMARY KEY);\n"));
    }
    script.push_str(&format!(
        "CREATE TRIGGER tr_cmt AFTER INSERT ON t_cmt FOR EACH ROW INSERT INTO {db}/**/.log(msg) VALUES ('cmt');
         CREATE TRIGGER tr_dash AFTER INSERT ON t_dash FOR EACH ROW INSERT INTO {db} -- x\n.log(msg) VALUES ('dash');
         CREATE TRIGGER tr_hash AFTER INSERT ON t_hash FOR EACH ROW INSERT INTO `{db}` # x\n. log(msg) VALUES ('hash');
         CREATE TRIGGER tr_vt AFTER INSERT ON t_vt FOR EACH ROW INSERT INTO {db}\x0B.\x0Clog(msg) VALUES ('vt');
         SET SESSION sql_mode = 'MSSQL';
         CREATE TRIGGER tr_ms AFTER INSERT ON t_ms FOR EACH ROW INSERT INTO [{db}].[log](msg) VALUES ('mssql');
         CREATE PROCEDURE p_ms() INSERT INTO [{db}] . log(msg) VALUES ('mssqlp');
         SET SESSION sql_mode = DEFAULT;
         CREATE TRIGGER tr_ms2 AFTER INSERT ON t_ms2 FOR EACH ROW CALL p_ms();
         SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES';
         CREATE TRIGGER tr_nbe AFTER INSERT ON t_nbe FOR EACH ROW BEGIN
           SET @x = 'C:\\tmp\\'; INSERT INTO {db} . log(msg) VALUES ('nbe'); END;
         SET SESSION sql_mode = DEFAULT;"
    ));
    src.exec(&script);
    let dest = TestDb::create(Engine::Mysql);
    let report = sync(&copy_job(&src, &dest)).expect("the sync");
    assert!(report.ok, "{report:?}");
    for t in ["t_cmt", "t_dash", "t_hash", "t_vt", "t_ms", "t_ms2", "t_nbe"] {
        dest.exec(&format!("INSERT INTO {t} VALUES (7)"));
    }
    assert_eq!(rows(&src, "log", "id"), [["1", "orig"]]);
    let msgs: Vec<String> = rows(&dest, "log", "id").into_iter().map(|r| r[1].clone()).collect();
    assert_eq!(msgs, ["orig", "cmt", "dash", "hash", "vt", "mssql", "mssqlp", "nbe"]);
    let kept = one(
        &dest,
        &format!(
            "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() \
             AND ACTION_STATEMENT LIKE '%{db}%'"
        ),
    );
    assert_eq!(kept, "0");
}

/// F6: under NO_BACKSLASH_ESCAPES, `'C:\'` is a whole string and the qualification
/// after it is code: the trigger is copied (unqualified), not refused.
#[test]
fn no_backslash_escapes_bodies_are_read_as_the_server_reads_them() {
    let src = logged_source();
    let db = &src.name;
    src.exec(&format!(
        "CREATE TABLE t_ok (id INT PRIMARY KEY);
         SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES';
         CREATE TRIGGER tr_ok AFTER INSERT ON t_ok FOR EACH ROW BEGIN
           SET @x = 'C:\\'; INSERT INTO {db}.log(msg) VALUES ('ok'); END;
         SET SESSION sql_mode = DEFAULT;"
    ));
    let dest = TestDb::create(Engine::Mysql);
    let report = sync(&copy_job(&src, &dest)).expect("the sync");
    assert!(report.ok, "{report:?}");
    dest.exec("INSERT INTO t_ok VALUES (7)");
    assert_eq!(rows(&dest, "log", "id"), [["1", "orig"], ["2", "ok"]]);
    assert_eq!(rows(&src, "log", "id"), [["1", "orig"]]);
}

/// F4: DEFAULT setval(src.s, ...) and lastval(src.s) name the copy's own sequence.
#[test]
fn sequence_function_defaults_name_the_copys_sequence() {
    let src = logged_source();
    let db = &src.name;
    src.exec(&format!(
        "CREATE SEQUENCE s2;
         CREATE TABLE tsv (id INT PRIMARY KEY, n BIGINT DEFAULT setval({db}.s2, 5000, 1, 0));
         CREATE TABLE tlv (id INT PRIMARY KEY, n BIGINT DEFAULT lastval({db}.s2));"
    ));
    let dest = TestDb::create(Engine::Mysql);
    let report = sync(&copy_job(&src, &dest)).expect("the sync");
    assert!(report.ok, "{report:?}");
    for t in ["tsv", "tlv"] {
        let ddl = dest.query(&format!("SHOW CREATE TABLE {t}"))[0][1]
            .clone()
            .unwrap_or_default();
        assert!(!ddl.contains(db.as_str()), "{ddl}");
    }
    dest.exec("INSERT INTO tsv (id) VALUES (7)");
    assert_eq!(one(&src, "SELECT next_not_cached_value FROM s2"), "1");
    assert_eq!(one(&dest, "SELECT next_not_cached_value FROM s2"), "5001");
}

/// F5: a MERGE table over another database's table is refused, naming it; nothing is
/// written there.
#[test]
fn a_merge_table_over_another_database_is_refused() {
    let src = logged_source();
    let other = TestDb::create(Engine::Mysql);
    other.exec("CREATE TABLE t1 (id INT) ENGINE=MyISAM; INSERT INTO t1 VALUES (100);");
    src.exec(&format!(
        "CREATE TABLE mg (id INT) ENGINE=MRG_MyISAM UNION=({}.t1) INSERT_METHOD=LAST;",
        other.name
    ));
    let dest = TestDb::create(Engine::Mysql);
    let err = sync(&copy_job(&src, &dest)).expect_err("refused").to_string();
    assert!(
        err.contains(&format!(
            "the source's table mg is a MERGE table over tables of another database (`{}`.`t1`)",
            other.name
        )),
        "{err}"
    );
    assert_eq!(rows(&other, "t1", "id"), [["100"]]);
    assert_eq!(
        one(
            &dest,
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
        ),
        "0"
    );
}

/// F7: `CALL p` without parentheses copies `p`; the copy's trigger runs it.
#[test]
fn a_call_without_parentheses_copies_the_procedure() {
    let src = logged_source();
    src.exec(&format!(
        "CREATE PROCEDURE p_log() INSERT INTO {db}.log(msg) VALUES ('call');
         CREATE TABLE t_call (id INT PRIMARY KEY);
         CREATE TRIGGER tr_call AFTER INSERT ON t_call FOR EACH ROW CALL {db}.p_log;",
        db = src.name
    ));
    let dest = TestDb::create(Engine::Mysql);
    let report = sync(&copy_job(&src, &dest)).expect("the sync");
    assert!(report.ok, "{report:?}");
    dest.exec("INSERT INTO t_call VALUES (7)");
    assert_eq!(rows(&dest, "log", "id"), [["1", "orig"], ["2", "call"]]);
    assert_eq!(rows(&src, "log", "id"), [["1", "orig"]]);
}

/// F8: a PostgreSQL trigger function calling dblink is copied with a note naming it (a
/// connection string may lead to the source once the destination has dblink).
#[test]
fn a_function_calling_dblink_is_named_in_the_plan() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE t_db (id INT PRIMARY KEY);
         CREATE FUNCTION log_db() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN PERFORM dblink_exec('host=127.0.0.1 dbname=src', 'INSERT INTO log VALUES (1)'); RETURN NEW; END $$;
         CREATE TRIGGER tr_db AFTER INSERT ON t_db FOR EACH ROW EXECUTE FUNCTION log_db();",
    );
    let dest = TestDb::create(Engine::Postgres);
    let job = tether_sync::Job::parse("job.toml", &copy_job(&src, &dest), &|_| None).expect("job");
    let plan = tether_testkit::block_on(async { tether_sync::prepare(&job).await.expect("plan").plan });
    assert_eq!(
        plan.notes,
        [
            "function public.log_db calls dblink: once the destination has the dblink extension, the copy connects \
          where its connection string says, which may be the job's source; check that string before using the copy"
        ]
    );
}
