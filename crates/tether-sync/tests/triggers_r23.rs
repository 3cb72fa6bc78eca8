//! Twenty-third review, C (twenty-third session writer R). F1: loading into existing
//! tables, a sync takes the destination's triggers out of the way (SQLite and MariaDB:
//! dropped; PostgreSQL with `checks = "verify"`: turned off), committed at once, and
//! kept what puts them back in memory only: a run killed mid-load lost them for good,
//! and the re-run said "verified". Now the statements putting them back are recorded in
//! the destination first (table `_tether_suspended_triggers`), the plan says what a
//! killed run left, and the next sync puts them back before it writes anything: the
//! trigger is there (on) again and fires on the user's next insert. F2/F3: a refused
//! SQLite sync writes no file (not the destination, not a `-wal`/`-shm` pair).

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

/// Rows of `child` in the source: enough batches of 50 that the run is killed mid-load.
const CHILDREN: i64 = 20_000;

fn source() -> TestDb {
    let src = TestDb::create(Engine::Postgres);
    src.exec(&format!(
        "CREATE TABLE parent (id int PRIMARY KEY, v text NOT NULL); \
         CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent(id), pad text); \
         INSERT INTO parent SELECT i, 'p' || i FROM generate_series(1, 100) i; \
         INSERT INTO child SELECT i, 1 + i % 100, repeat('x', 50) FROM generate_series(1, {CHILDREN}) i"
    ));
    src
}

/// The destination's tables, with `audit` and the trigger `child_ai` writing each new
/// child's id into it.
fn destination(engine: Engine) -> TestDb {
    let dest = TestDb::create(engine);
    dest.exec(match engine {
        Engine::Sqlite => {
            "CREATE TABLE parent (id integer PRIMARY KEY, v text NOT NULL); \
             CREATE TABLE child (id integer PRIMARY KEY, parent_id integer NOT NULL REFERENCES parent(id), pad text); \
             CREATE TABLE audit (n integer); \
             CREATE TRIGGER child_ai AFTER INSERT ON child BEGIN INSERT INTO audit VALUES (new.id); END"
        }
        Engine::Mysql => {
            "CREATE TABLE parent (id int PRIMARY KEY, v text NOT NULL) ENGINE=InnoDB; \
             CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL, pad text, \
               FOREIGN KEY (parent_id) REFERENCES parent(id)) ENGINE=InnoDB; \
             CREATE TABLE audit (n int); \
             CREATE TRIGGER child_ai AFTER INSERT ON child FOR EACH ROW INSERT INTO audit VALUES (new.id)"
        }
        Engine::Postgres => {
            "CREATE TABLE parent (id int PRIMARY KEY, v text NOT NULL); \
             CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent(id), pad text); \
             CREATE TABLE audit (n int); \
             CREATE FUNCTION audit_child() RETURNS trigger LANGUAGE plpgsql AS \
               $$ BEGIN INSERT INTO audit VALUES (new.id); RETURN new; END $$; \
             CREATE TRIGGER child_ai AFTER INSERT ON child FOR EACH ROW EXECUTE FUNCTION audit_child()"
        }
    });
    dest
}

fn job_text(src: &TestDb, dest: &TestDb, engine: Engine) -> String {
    let checks = match engine {
        // Batches, the triggers turned off (not the one-transaction load).
        Engine::Postgres => "checks = \"verify\"\n",
        _ => "",
    };
    format!(
        "source = \"{}\"\nprivacy = \"off\"\nmode = \"data\"\n[[destinations]]\nurl = \"{}\"\n\
         on_conflict = \"skip\"\n{checks}[tables]\ninclude = [\"parent\", \"child\"]\n[options]\nbatch_size = 50\n",
        src.url, dest.url
    )
}

/// The trigger's state: absent, or PostgreSQL's `tgenabled` (`O` on, `D` off; `on`
/// elsewhere).
fn trigger_state(dest: &TestDb, engine: Engine) -> Option<String> {
    let sql = match engine {
        Engine::Sqlite => "SELECT 'on' FROM sqlite_master WHERE type = 'trigger' AND name = 'child_ai'",
        Engine::Mysql => {
            "SELECT 'on' FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() \
             AND TRIGGER_NAME = 'child_ai'"
        }
        Engine::Postgres => "SELECT tgenabled::text FROM pg_trigger WHERE tgname = 'child_ai'",
    };
    dest.query(sql).first().and_then(|r| r[0].clone())
}

fn record_there(dest: &TestDb, engine: Engine) -> bool {
    let sql = match engine {
        Engine::Sqlite => "SELECT count(*) FROM sqlite_master WHERE name = '_tether_suspended_triggers'",
        Engine::Mysql => {
            "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_NAME = '_tether_suspended_triggers'"
        }
        Engine::Postgres => "SELECT count(*) FROM pg_class WHERE relname = '_tether_suspended_triggers'",
    };
    one(dest, sql) == "1"
}

/// The run is killed once rows are in `child`; the trigger is then gone (or off) and
/// recorded. The plan says so; the re-run puts it back before it loads (it says so),
/// copies every row without it firing on them, and leaves no record; a child the user
/// inserts afterwards is audited.
fn killed_run_keeps_the_trigger(engine: Engine) {
    let src = source();
    let dest = destination(engine);
    let text = job_text(&src, &dest, engine);
    let url = dest.url.clone();
    let killed = run_killed_when(&text, move || {
        tether_testkit::query_url(engine, &url, "SELECT count(*) FROM child")[0][0].as_deref() != Some("0")
    });
    if !killed {
        return;
    }
    let copied: i64 = one(&dest, "SELECT count(*) FROM child").parse().expect("count");
    assert!(copied > 0 && copied < CHILDREN, "killed mid-load: {copied} rows");
    let off = match engine {
        Engine::Postgres => Some("D".to_string()),
        _ => None,
    };
    assert_eq!(
        trigger_state(&dest, engine),
        off,
        "the killed run had it out of the way"
    );
    assert!(record_there(&dest, engine));
    // The record is no table of the database's own (not copied, not planned, not verified).
    let schema =
        tether_testkit::block_on(tether_connect::introspect(&dest.db_url(), &Default::default())).expect("introspect");
    let mut names: Vec<&str> = schema.tables.iter().map(|t| t.name.as_str()).collect();
    names.sort();
    assert_eq!(names, vec!["audit", "child", "parent"]);

    // `tether plan` says what the killed run left, and writes nothing.
    let job = tether_sync::Job::parse("job.toml", &text, &|_| None).expect("job");
    let notes = tether_testkit::block_on(async {
        let p = tether_sync::prepare(&job).await.expect("plan");
        p.source.close().await;
        p.plan.notes
    });
    let note = notes
        .iter()
        .find(|n| n.contains("left triggers"))
        .unwrap_or_else(|| panic!("{notes:?}"));
    assert!(note.contains("child_ai"), "{note}");
    assert!(note.contains("a sync puts them back"), "{note}");
    assert_eq!(trigger_state(&dest, engine), off, "planning writes nothing");

    let report = sync(&text).expect("re-run");
    assert!(report.ok, "{report:?}");
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("triggers child_ai") && w.contains("put back as they were")),
        "{:?}",
        report.warnings
    );
    assert_eq!(one(&dest, "SELECT count(*) FROM child"), CHILDREN.to_string());
    let on = match engine {
        Engine::Postgres => "O",
        _ => "on",
    };
    assert_eq!(trigger_state(&dest, engine).as_deref(), Some(on));
    assert!(!record_there(&dest, engine));
    // Neither run fired it on the copied rows; the user's own insert does.
    assert_eq!(one(&dest, "SELECT count(*) FROM audit"), "0");
    dest.exec(&format!("INSERT INTO child VALUES ({}, 1, 'mine')", CHILDREN + 1));
    assert_eq!(rows(&dest, "audit", "n"), vec![vec![(CHILDREN + 1).to_string()]]);
    // A third run finds nothing to put back and leaves the trigger as it is.
    let report = sync(&text).expect("third run");
    assert!(report.ok, "{report:?}");
    assert!(
        !report.warnings.iter().any(|w| w.contains("put back")),
        "{:?}",
        report.warnings
    );
    assert_eq!(trigger_state(&dest, engine).as_deref(), Some(on));
    assert!(!record_there(&dest, engine));
}

#[test]
fn a_killed_run_into_sqlite_loses_no_trigger() {
    killed_run_keeps_the_trigger(Engine::Sqlite);
}

#[test]
fn a_killed_run_into_mariadb_loses_no_trigger() {
    killed_run_keeps_the_trigger(Engine::Mysql);
}

#[test]
fn a_killed_run_into_postgresql_leaves_no_trigger_off() {
    killed_run_keeps_the_trigger(Engine::Postgres);
}

/// A run that completes leaves no record behind, and a PostgreSQL trigger the user
/// turned off stays off (only triggers that are on are suspended and recorded).
#[test]
fn a_finished_run_leaves_no_record_and_the_users_disabled_trigger_off() {
    let src = source();
    let dest = destination(Engine::Postgres);
    dest.exec("ALTER TABLE child DISABLE TRIGGER child_ai");
    let report = sync(&job_text(&src, &dest, Engine::Postgres)).expect("sync");
    assert!(report.ok, "{report:?}");
    assert_eq!(trigger_state(&dest, Engine::Postgres).as_deref(), Some("D"));
    assert!(!record_there(&dest, Engine::Postgres));
    let dest = destination(Engine::Sqlite);
    let report = sync(&job_text(&src, &dest, Engine::Sqlite)).expect("sync");
    assert!(report.ok, "{report:?}");
    assert_eq!(trigger_state(&dest, Engine::Sqlite).as_deref(), Some("on"));
    assert!(!record_there(&dest, Engine::Sqlite));
}

/// F2: `mode = "data"` into a SQLite file that is not there is refused (the tables are
/// missing), and the file is not created.
#[test]
fn a_refused_sqlite_sync_creates_no_file() {
    let src = source();
    let dir = tether_testkit::ScratchDir::new("r23_refused");
    let path = dir.path().join("new.db");
    let text = format!(
        "source = \"{}\"\nprivacy = \"off\"\nmode = \"data\"\n[[destinations]]\nurl = \"sqlite://{}\"\n",
        src.url,
        path.display()
    );
    let err = sync(&text).expect_err("tables missing");
    let msg = err.to_string();
    assert!(
        msg.contains("tables missing and mode = \"data\" creates nothing"),
        "{msg}"
    );
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, Vec::<String>::new(), "{msg}");
}

/// F3: a destination that is a hard link of a WAL-mode SQLite source is refused by the
/// plan and the sync, and neither leaves a `-wal`/`-shm` pair beside the link.
#[test]
fn a_refused_hard_linked_destination_gets_no_wal_files() {
    let dir = tether_testkit::ScratchDir::new("r23_hard");
    let src = dir.path().join("src.db");
    let c = rusqlite::Connection::open(&src).expect("open");
    c.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (id integer PRIMARY KEY); INSERT INTO t VALUES (1)")
        .expect("source");
    drop(c);
    let hard = dir.path().join("hard.db");
    std::fs::hard_link(&src, &hard).expect("link");
    let text = format!(
        "source = \"sqlite://{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"sqlite://{}\"\n",
        src.display(),
        hard.display()
    );
    let job = tether_sync::Job::parse("job.toml", &text, &|_| None).expect("job");
    let planned = tether_testkit::block_on(tether_sync::prepare(&job));
    let msg = planned.err().expect("refused by the plan").to_string();
    assert!(msg.contains("refusing to write into it"), "{msg}");
    let msg = sync(&text).expect_err("refused by the sync").to_string();
    assert!(msg.contains("refusing to write into it"), "{msg}");
    for side in ["hard.db-wal", "hard.db-shm"] {
        assert!(!dir.path().join(side).exists(), "{side} was left: {msg}");
    }
}
