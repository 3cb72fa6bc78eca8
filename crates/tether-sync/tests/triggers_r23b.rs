//! Twenty-third review, L (twenty-third session writer Q): the record of suspended
//! triggers, round 2. L2: whether the run that wrote a record is alive was asked of the
//! server's session list, which a MariaDB user without the PROCESS privilege sees only
//! its own part of: a second run by another user took a live run's record for a dead
//! run's and put its triggers back under its load (the trigger fired on every copied
//! row). Now a run holds a lock of the destination from recording until its triggers are
//! back (MariaDB `GET_LOCK`, PostgreSQL advisory lock, SQLite `flock`), which every user
//! sees. L3: triggers put back after a kill between the DROPs kept their firing order.
//! L4: MariaDB triggers come back with their own DEFINER, character set and sql_mode
//! (a clean run and a killed one), and a user that may not create them so is refused
//! before anything is dropped.

mod common;

use std::cell::RefCell;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

const CHILDREN: i64 = 20_000;

fn source() -> TestDb {
    let src = TestDb::create(Engine::Postgres);
    src.exec(&format!(
        "CREATE TABLE parent (id int PRIMARY KEY, v text NOT NULL); \
         CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent(id), pad text); \
         CREATE TABLE other (id int PRIMARY KEY); \
         INSERT INTO parent SELECT i, 'p' || i FROM generate_series(1, 100) i; \
         INSERT INTO child SELECT i, 1 + i % 100, repeat('x', 50) FROM generate_series(1, {CHILDREN}) i; \
         INSERT INTO other VALUES (1), (2)"
    ));
    src
}

const MY_TABLES: &str = "CREATE TABLE parent (id int PRIMARY KEY, v text NOT NULL) ENGINE=InnoDB; \
     CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL, pad text, \
       FOREIGN KEY (parent_id) REFERENCES parent(id)) ENGINE=InnoDB; \
     CREATE TABLE other (id int PRIMARY KEY) ENGINE=InnoDB; \
     CREATE TABLE audit (seq int AUTO_INCREMENT PRIMARY KEY, n int, who varchar(20))";

fn job_text(src: &TestDb, dest_url: &str, tables: &str) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\nmode = \"data\"\n[[destinations]]\nurl = \"{dest_url}\"\n\
         on_conflict = \"skip\"\n[tables]\ninclude = [{tables}]\n[options]\nbatch_size = 50\n",
        src.url
    )
}

/// MariaDB users of this file's tests, dropped again when the test ends.
struct Users(Vec<String>);

impl Users {
    /// `names`, each with password `pw` and every privilege on `dest`'s database (not
    /// PROCESS, not SET USER).
    fn create(dest: &TestDb, names: &[&str]) -> Users {
        for n in names {
            dest.exec(&format!(
                "DROP USER IF EXISTS '{n}'@'%'; CREATE USER '{n}'@'%' IDENTIFIED BY 'pw'; \
                 GRANT ALL ON `{}`.* TO '{n}'@'%'",
                dest.name
            ));
        }
        Users(names.iter().map(|n| n.to_string()).collect())
    }
}

impl Drop for Users {
    fn drop(&mut self) {
        for n in &self.0 {
            tether_testkit::exec_url(
                Engine::Mysql,
                &tether_testkit::mysql_admin_url(),
                &format!("DROP USER IF EXISTS '{n}'@'%'"),
            );
        }
    }
}

/// `dest`'s URL as MariaDB user `user` (password `pw`).
fn as_user(dest: &TestDb, user: &str) -> String {
    let (scheme, rest) = dest.url.split_once("://").expect("url");
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    format!("{scheme}://{user}:pw@{host}")
}

fn record_rows(dest: &TestDb) -> Option<i64> {
    let there = match dest.engine {
        Engine::Sqlite => one(
            dest,
            "SELECT count(*) FROM sqlite_master WHERE name = '_tether_suspended_triggers'",
        ),
        Engine::Postgres => one(
            dest,
            "SELECT count(*) FROM pg_class WHERE relname = '_tether_suspended_triggers'",
        ),
        Engine::Mysql => one(
            dest,
            "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_NAME = '_tether_suspended_triggers'",
        ),
    };
    (there == "1").then(|| {
        one(dest, "SELECT count(*) FROM _tether_suspended_triggers")
            .parse()
            .expect("count")
    })
}

fn trigger_there(dest: &TestDb, name: &str) -> bool {
    let sql = match dest.engine {
        Engine::Sqlite => format!("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = '{name}'"),
        _ => format!(
            "SELECT count(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() \
             AND TRIGGER_NAME = '{name}'"
        ),
    };
    one(dest, &sql) == "1"
}

/// L2: run A loads `parent` and `child` (trigger `child_ai` dropped for it); while it
/// loads, run B (on MariaDB another user, without the PROCESS privilege) syncs the
/// unrelated table `other` into the same destination. B is refused, naming A's
/// session, and does not put `child_ai` back under A's load; A is then killed, and its
/// re-run puts the trigger back: it never fired on a copied row.
fn a_second_run_leaves_a_live_runs_triggers_alone(engine: Engine) {
    let src = source();
    let dest = TestDb::create(engine);
    let _users;
    let (url_a, url_b) = match engine {
        Engine::Mysql => {
            _users = Users::create(&dest, &["tq23_u1", "tq23_u2"]);
            dest.exec(MY_TABLES);
            dest.exec(
                "CREATE DEFINER = 'tq23_u1'@'%' TRIGGER child_ai AFTER INSERT ON child FOR EACH ROW \
                 INSERT INTO audit (n, who) VALUES (new.id, 'child_ai')",
            );
            (as_user(&dest, "tq23_u1"), as_user(&dest, "tq23_u2"))
        }
        _ => {
            dest.exec(
                "CREATE TABLE parent (id int PRIMARY KEY, v text NOT NULL); \
                 CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent(id), pad text); \
                 CREATE TABLE other (id int PRIMARY KEY); \
                 CREATE TABLE audit (n int, who text); \
                 CREATE FUNCTION audit_child() RETURNS trigger LANGUAGE plpgsql AS \
                   $$ BEGIN INSERT INTO audit VALUES (new.id, 'child_ai'); RETURN new; END $$; \
                 CREATE TRIGGER child_ai AFTER INSERT ON child FOR EACH ROW EXECUTE FUNCTION audit_child()",
            );
            (dest.url.clone(), dest.url.clone())
        }
    };
    let mut text_a = job_text(&src, &url_a, "\"parent\", \"child\"");
    let mut text_b = job_text(&src, &url_b, "\"other\"");
    if engine == Engine::Postgres {
        // Batches, the triggers turned off (not the one-transaction load).
        for text in [&mut text_a, &mut text_b] {
            *text = text.replace(
                "on_conflict = \"skip\"\n",
                "on_conflict = \"skip\"\nchecks = \"verify\"\n",
            );
        }
    }
    let second: RefCell<Option<Result<tether_sync::Report, String>>> = RefCell::new(None);
    let durl = dest.url.clone();
    let killed = run_killed_when(&text_a, || {
        let copied = tether_testkit::query_url(engine, &durl, "SELECT count(*) FROM child")[0][0].clone();
        if copied.as_deref() == Some("0") {
            return false;
        }
        *second.borrow_mut() = Some(sync(&text_b).map_err(|e| e.to_string()));
        true
    });
    if !killed {
        return;
    }
    let second = second.into_inner().expect("B ran");
    let msg = second.expect_err("B refused while A loads");
    assert!(
        msg.contains("another run is loading into this destination now") && msg.contains("child_ai"),
        "{msg}"
    );
    match engine {
        Engine::Mysql => assert!(msg.contains("its session: ") && msg.contains("KILL "), "{msg}"),
        _ => assert!(
            msg.contains("its session: ") && msg.contains("pg_terminate_backend("),
            "{msg}"
        ),
    }
    assert_eq!(one(&dest, "SELECT count(*) FROM other"), "0", "B wrote nothing");
    // Nothing put back under A's load: the trigger fired on no copied row, and the
    // record is there for A's re-run.
    assert_eq!(one(&dest, "SELECT count(*) FROM audit"), "0");
    assert_eq!(trigger_state(&dest), off(engine));
    assert_eq!(record_rows(&dest), Some(1));

    let report = sync(&text_a).expect("A again");
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
    assert_eq!(one(&dest, "SELECT count(*) FROM audit"), "0");
    assert_eq!(trigger_state(&dest), on(engine));
    assert_eq!(record_rows(&dest), None);
    if engine == Engine::Mysql {
        assert_eq!(
            one(
                &dest,
                "SELECT DEFINER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() \
                 AND TRIGGER_NAME = 'child_ai'"
            ),
            "tq23_u1@%"
        );
    }
    // B, now alone, runs.
    let report = sync(&text_b).expect("B alone");
    assert!(report.ok, "{report:?}");
    assert_eq!(one(&dest, "SELECT count(*) FROM other"), "2");
}

/// `child_ai`'s state: absent, PostgreSQL's `tgenabled`, or `on`.
fn trigger_state(dest: &TestDb) -> Option<String> {
    match dest.engine {
        Engine::Postgres => dest
            .query("SELECT tgenabled::text FROM pg_trigger WHERE tgname = 'child_ai'")
            .first()
            .and_then(|r| r[0].clone()),
        _ => trigger_there(dest, "child_ai").then(|| "on".to_string()),
    }
}

fn off(engine: Engine) -> Option<String> {
    (engine == Engine::Postgres).then(|| "D".to_string())
}

fn on(engine: Engine) -> Option<String> {
    Some(if engine == Engine::Postgres { "O" } else { "on" }.to_string())
}

#[test]
fn a_second_postgresql_run_does_not_put_back_a_live_runs_triggers() {
    a_second_run_leaves_a_live_runs_triggers_alone(Engine::Postgres);
}

#[test]
fn a_run_of_another_mariadb_user_does_not_put_back_a_live_runs_triggers() {
    a_second_run_leaves_a_live_runs_triggers_alone(Engine::Mysql);
}

/// SQLite: a sync's B run waits on the file while A writes, so is not started under A's
/// load here; the lock A would hold is taken by the test instead (the `flock` of the
/// file a live run holds): with it held, a record A's killed run left is refused, not
/// put back; once let go, a run puts it back.
#[test]
fn a_record_left_in_a_sqlite_file_is_put_back_only_when_no_run_holds_it() {
    let src = source();
    let dest = TestDb::create(Engine::Sqlite);
    dest.exec(
        "CREATE TABLE parent (id integer PRIMARY KEY, v text NOT NULL); \
         CREATE TABLE child (id integer PRIMARY KEY, parent_id integer NOT NULL REFERENCES parent(id), pad text); \
         CREATE TABLE other (id integer PRIMARY KEY); \
         CREATE TABLE audit (n integer, who text); \
         CREATE TRIGGER child_ai AFTER INSERT ON child BEGIN INSERT INTO audit VALUES (new.id, 'child_ai'); END",
    );
    let text_a = job_text(&src, &dest.url, "\"parent\", \"child\"");
    let text_b = job_text(&src, &dest.url, "\"other\"");
    let url = dest.url.clone();
    let killed = run_killed_when(&text_a, move || {
        tether_testkit::query_url(Engine::Sqlite, &url, "SELECT count(*) FROM child")[0][0].as_deref() != Some("0")
    });
    if !killed {
        return;
    }
    assert_eq!(record_rows(&dest), Some(1));
    let path = dest.url.trim_start_matches("sqlite://").to_string();
    let live = std::fs::File::open(&path).expect("open");
    live.lock().expect("flock");
    let msg = sync(&text_b).expect_err("refused while the lock is held").to_string();
    assert!(
        msg.contains("another run is loading into this destination now") && msg.contains("child_ai"),
        "{msg}"
    );
    assert!(!trigger_there(&dest, "child_ai"));
    assert_eq!(record_rows(&dest), Some(1));
    drop(live);
    let report = sync(&text_b).expect("B");
    assert!(report.ok, "{report:?}");
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("triggers child_ai") && w.contains("put back as they were")),
        "{:?}",
        report.warnings
    );
    assert!(trigger_there(&dest, "child_ai"));
    assert_eq!(record_rows(&dest), None);
    assert_eq!(one(&dest, "SELECT count(*) FROM audit"), "0");
}

/// The triggers of `child` in firing order (MariaDB).
fn firing_order(dest: &TestDb) -> Vec<String> {
    dest.query(
        "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() \
         AND EVENT_OBJECT_TABLE = 'child' ORDER BY ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER",
    )
    .into_iter()
    .map(|r| r[0].clone().expect("name"))
    .collect()
}

/// L3: a run killed between its DROP TRIGGERs (the first three of six dropped, the
/// last three still there): the re-run puts the three back in their places, the six
/// firing in their original order (made with PRECEDES, not the order of creation).
#[test]
fn mariadb_triggers_put_back_after_a_kill_keep_their_firing_order() {
    let src = source();
    let dest = TestDb::create(Engine::Mysql);
    dest.exec(MY_TABLES);
    dest.exec(
        "CREATE TRIGGER tr_0 AFTER INSERT ON child FOR EACH ROW INSERT INTO audit (n, who) VALUES (new.id, 'tr_0')",
    );
    for i in 1..6 {
        // Each created first in the order: tr_5, tr_4, ..., tr_0.
        dest.exec(&format!(
            "CREATE TRIGGER tr_{i} AFTER INSERT ON child FOR EACH ROW PRECEDES tr_{} \
             INSERT INTO audit (n, who) VALUES (new.id, 'tr_{i}')",
            i - 1
        ));
    }
    let order = vec!["tr_5", "tr_4", "tr_3", "tr_2", "tr_1", "tr_0"];
    assert_eq!(firing_order(&dest), order);
    let text = job_text(&src, &dest.url, "\"parent\", \"child\"");
    let url = dest.url.clone();
    let killed = run_killed_when(&text, move || {
        tether_testkit::query_url(Engine::Mysql, &url, "SELECT count(*) FROM child")[0][0].as_deref() != Some("0")
    });
    if !killed {
        return;
    }
    assert_eq!(firing_order(&dest), Vec::<String>::new());
    let recorded: Vec<(String, String)> = dest
        .query("SELECT trigger_name, restore_sql FROM _tether_suspended_triggers ORDER BY seq")
        .into_iter()
        .map(|r| (r[0].clone().expect("name"), r[1].clone().expect("sql")))
        .collect();
    let names: Vec<&str> = recorded.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, order, "recorded in firing order");
    // As if the run had died after its third DROP: the last three are there still.
    for (_, sql) in &recorded[3..] {
        dest.exec(sql);
    }
    assert_eq!(firing_order(&dest), vec!["tr_2", "tr_1", "tr_0"]);

    let report = sync(&text).expect("re-run");
    assert!(report.ok, "{report:?}");
    assert_eq!(firing_order(&dest), order);
    assert_eq!(record_rows(&dest), None);
    assert_eq!(one(&dest, "SELECT count(*) FROM audit"), "0");
    dest.exec(&format!("INSERT INTO child VALUES ({}, 1, 'mine')", CHILDREN + 1));
    let fired: Vec<String> = dest
        .query("SELECT who FROM audit ORDER BY seq")
        .into_iter()
        .map(|r| r[0].clone().expect("who"))
        .collect();
    assert_eq!(fired, order);
}

/// Each trigger of the destination as information_schema has it: name, DEFINER,
/// sql_mode, character set, collation, order, statement.
fn triggers_as_they_are(dest: &TestDb) -> Vec<Vec<Option<String>>> {
    dest.query(
        "SELECT TRIGGER_NAME, DEFINER, SQL_MODE, CHARACTER_SET_CLIENT, COLLATION_CONNECTION, \
         ACTION_ORDER, ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() \
         ORDER BY TRIGGER_NAME",
    )
}

/// L4: triggers of another DEFINER, made under `SET NAMES latin1` and under
/// `sql_mode = ''`, come back from a clean run and from a killed one (and its re-run)
/// exactly as they were; a job user without SET USER is refused before anything is
/// dropped.
#[test]
fn mariadb_triggers_come_back_with_their_definer_charset_and_mode() {
    let src = source();
    let dest = TestDb::create(Engine::Mysql);
    let _users = Users::create(&dest, &["tq23_owner", "tq23_plain"]);
    dest.exec(MY_TABLES);
    dest.exec(
        "CREATE DEFINER = 'tq23_owner'@'%' TRIGGER t_a AFTER INSERT ON child FOR EACH ROW \
         INSERT INTO audit (n, who) VALUES (new.id, 't_a')",
    );
    dest.exec(
        "SET NAMES latin1; CREATE TRIGGER p_bi BEFORE INSERT ON parent FOR EACH ROW SET new.v = new.v; \
         SET NAMES utf8mb4",
    );
    dest.exec(
        "SET SESSION sql_mode = ''; CREATE TRIGGER t_c BEFORE INSERT ON child FOR EACH ROW SET new.pad = new.pad",
    );
    let before = triggers_as_they_are(&dest);
    let cell = |name: &str, col: usize| {
        before
            .iter()
            .find(|r| r[0].as_deref() == Some(name))
            .and_then(|r| r[col].clone())
    };
    assert_eq!(cell("t_a", 1).as_deref(), Some("tq23_owner@%"));
    assert_eq!(cell("p_bi", 3).as_deref(), Some("latin1"));
    assert_eq!(cell("t_c", 2).as_deref(), Some(""));

    // A user that may not create a trigger of another definer: refused, nothing dropped.
    let plain = job_text(&src, &as_user(&dest, "tq23_plain"), "\"parent\", \"child\"");
    let msg = sync(&plain).expect_err("refused").to_string();
    assert!(
        msg.contains("t_a (DEFINER tq23_owner@%)") && msg.contains("SET USER"),
        "{msg}"
    );
    assert_eq!(triggers_as_they_are(&dest), before);
    assert_eq!(record_rows(&dest), None);
    assert_eq!(one(&dest, "SELECT count(*) FROM child"), "0");

    // A clean run.
    let text = job_text(&src, &dest.url, "\"parent\", \"child\"");
    let report = sync(&text).expect("sync");
    assert!(report.ok, "{report:?}");
    assert_eq!(triggers_as_they_are(&dest), before);
    assert_eq!(one(&dest, "SELECT count(*) FROM audit"), "0");

    // A killed run and its re-run.
    dest.exec("DELETE FROM child; DELETE FROM parent");
    let url = dest.url.clone();
    let killed = run_killed_when(&text, move || {
        tether_testkit::query_url(Engine::Mysql, &url, "SELECT count(*) FROM child")[0][0].as_deref() != Some("0")
    });
    if killed {
        assert_eq!(triggers_as_they_are(&dest), Vec::<Vec<Option<String>>>::new());
        let report = sync(&text).expect("re-run");
        assert!(report.ok, "{report:?}");
    }
    assert_eq!(triggers_as_they_are(&dest), before);
    assert_eq!(record_rows(&dest), None);
    assert_eq!(one(&dest, "SELECT count(*) FROM audit"), "0");
    // The session's own settings were set back after each CREATE: the copy's text is
    // intact (a later statement read under latin1 would garble it).
    assert_eq!(one(&dest, "SELECT count(*) FROM child"), CHILDREN.to_string());
}
