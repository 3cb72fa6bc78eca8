//! Sixteenth review, Y2: a non-transactional MariaDB destination table (MyISAM, MEMORY,
//! Aria) keeps what a failed statement wrote; ROLLBACK undoes nothing. The write used to
//! send the failed batch again (LOAD DATA, then INSERT, then row by row), writing its
//! first rows two or three times and blaming the duplicates it made itself. Now the
//! write stops at the first failure, reports the server's error and the rows the table
//! holds, and never sends a batch twice.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

fn job(src: &TestDb, dest: &TestDb, batch: usize) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n[options]\nbatch_size = {batch}\n\
         [[destinations]]\nurl = \"{}\"\n",
        src.url, dest.url
    )
}

fn source(table: &str, columns: &str, n: usize, row: impl Fn(usize) -> String) -> TestDb {
    let src = TestDb::create(Engine::Sqlite);
    let values: Vec<String> = (1..=n).map(row).collect();
    src.exec(&format!(
        "CREATE TABLE {table} ({columns}); INSERT INTO {table} VALUES {}",
        values.join(", ")
    ));
    src
}

/// s18: a keyless table into an empty keyless MyISAM table whose CHECK refuses id 10.
/// Rows 1..9 stay once each (they went in before the refusal and MyISAM keeps them),
/// nothing after row 10 is written, and the error names row 10, the CHECK and the count.
#[test]
fn a_myisam_table_keeps_each_row_once_and_the_error_names_the_refused_row() {
    let src = source("k", "id int NOT NULL, d int NOT NULL", 40, |i| {
        format!("({i}, {})", i * 2)
    });
    let dest = TestDb::create(Engine::Mysql);
    dest.exec("CREATE TABLE k (id int NOT NULL, d int NOT NULL, CONSTRAINT k_not10 CHECK (id <> 10)) ENGINE=MyISAM");
    let e = sync(&job(&src, &dest, 100)).expect_err("the CHECK refuses row 10");
    let text = e.to_string();
    assert!(text.contains("table k: row (id, d)=(10, 20) was rejected"), "{text}");
    assert!(text.contains("server error 4025"), "{text}");
    assert!(text.contains("k_not10"), "{text}");
    assert!(
        text.contains("k is a non-transactional table (ENGINE=MyISAM)"),
        "{text}"
    );
    assert!(text.contains("k now holds 9 rows"), "{text}");
    assert!(text.contains("9 rows of k were written before it"), "{text}");
    assert_eq!(one(&dest, "SELECT count(*) FROM k"), "9");
    assert_eq!(one(&dest, "SELECT count(DISTINCT id) FROM k"), "9");
    assert_eq!(one(&dest, "SELECT max(id) FROM k"), "9");
}

/// s16 MyISAM: c has a primary key and a CHECK refusing id 15; batches of 10. The
/// first batch goes in; the second stops at 15. The error is the CHECK (4025), not a
/// duplicate key made by sending 11..14 a second time, and 14 rows stay.
#[test]
fn a_myisam_table_reports_the_servers_refusal_not_a_duplicate_the_retry_made() {
    let src = source("c", "id int PRIMARY KEY, v int NOT NULL", 40, |i| format!("({i}, {i})"));
    let dest = TestDb::create(Engine::Mysql);
    dest.exec("CREATE TABLE c (id int PRIMARY KEY, v int NOT NULL, CONSTRAINT c_not15 CHECK (id <> 15)) ENGINE=MyISAM");
    let e = sync(&job(&src, &dest, 10)).expect_err("the CHECK refuses row 15");
    let text = e.to_string();
    assert!(text.contains("table c: row (id)=(15) was rejected"), "{text}");
    assert!(text.contains("server error 4025"), "{text}");
    assert!(!text.contains("1062"), "{text}");
    assert!(!text.contains("already holds this key"), "{text}");
    assert!(
        text.contains("4 row(s) of the failed statement went in before the failure and stay; c now holds 14 rows"),
        "{text}"
    );
    assert!(text.contains("14 rows of c were written before it"), "{text}");
    let ids: Vec<String> = rows(&dest, "c", "id").into_iter().map(|r| r[0].clone()).collect();
    let want: Vec<String> = (1..=14).map(|i| i.to_string()).collect();
    assert_eq!(ids, want);
}

/// s16 MEMORY: the table fills up (1114) midway. The rows that went in stay once
/// each, in order, and the error says how many the table holds: exactly the rows there.
#[test]
fn a_full_memory_table_is_not_written_again_and_its_count_is_exact() {
    let src = source("m", "id int PRIMARY KEY, t text NOT NULL", 3000, |i| {
        format!("({i}, '{}')", "x".repeat(200))
    });
    let dest = TestDb::create(Engine::Mysql);
    dest.exec(
        "SET SESSION max_heap_table_size = 65536; \
         CREATE TABLE m (id int PRIMARY KEY, t varchar(250) NOT NULL) ENGINE=MEMORY",
    );
    let e = sync(&job(&src, &dest, 1000)).expect_err("the MEMORY table fills up");
    let text = e.to_string();
    let held: usize = one(&dest, "SELECT count(*) FROM m").parse().unwrap();
    assert!(held > 0 && held < 3000, "{held}: {text}");
    assert!(text.contains("server error 1114"), "{text}");
    assert!(
        text.contains(&format!("table m: row (id)=({}) was rejected", held + 1)),
        "{text}"
    );
    assert!(
        text.contains("m is a non-transactional table (ENGINE=MEMORY)"),
        "{text}"
    );
    assert!(text.contains(&format!("m now holds {held} rows")), "{text}");
    assert!(
        text.contains(&format!("{held} rows of m were written before it")),
        "{text}"
    );
    assert_eq!(one(&dest, "SELECT count(DISTINCT id) FROM m"), held.to_string());
    assert_eq!(one(&dest, "SELECT max(id) FROM m"), held.to_string());
}

/// The phases a run told.
#[derive(Default)]
struct Told(std::sync::Mutex<Vec<String>>);

impl tether_sync::Progress for Told {
    fn phase(&self, p: &str) {
        self.0.lock().expect("lock").push(p.to_string());
    }
    fn table_started(&self, _: &str, _: u64) {}
    fn rows(&self, _: &str, _: u64) {}
    fn table_done(&self, _: &str, _: u64, _: f64) {}
}

/// Y5: one table created is "creating 1 table", not "creating 1 tables".
#[test]
fn creating_one_table_is_told_in_the_singular() {
    let src = source("k", "id int PRIMARY KEY", 3, |i| format!("({i})"));
    let dest = TestDb::create(Engine::Sqlite);
    let told = Told::default();
    sync_telling(&job(&src, &dest, 100), &told).expect("the copy runs");
    let phases = told.0.lock().expect("lock").clone();
    assert!(phases.iter().any(|p| p.ends_with(": creating 1 table")), "{phases:#?}");
    assert!(!phases.iter().any(|p| p.contains("creating 1 tables")), "{phases:#?}");
}

/// Y5: interrupted while loading into tables this run created (MariaDB, in batches):
/// they are dropped again, rows and all, so the undo note no longer adds "a batch under
/// way when it stopped may have gone in too".
#[test]
fn an_interrupted_load_into_created_tables_does_not_say_a_batch_may_have_gone_in() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE k (id int PRIMARY KEY, v text NOT NULL); \
         WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 200000) \
         INSERT INTO k SELECT i, 'value ' || i FROM s",
    );
    let dest = TestDb::create(Engine::Mysql);
    let job = tether_sync::Job::parse("job.toml", &job(&src, &dest, 1000), &|_| None).expect("job");
    let url = dest.url.clone();
    let Some(err) = run_stopped_when(&job, move || {
        let there = "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
                     AND TABLE_NAME = 'k'";
        tether_testkit::query_url(Engine::Mysql, &url, there)[0][0].as_deref() == Some("1")
            && tether_testkit::query_url(Engine::Mysql, &url, "SELECT count(*) FROM k")[0][0].as_deref() != Some("0")
    }) else {
        return;
    };
    let text = err.to_string();
    eprintln!("{text}");
    assert!(matches!(err, tether_sync::SyncError::Interrupted(_)), "{text}");
    assert!(text.contains("dropped again"), "{text}");
    assert!(!text.contains("may have gone in too"), "{text}");
    let left = dest
        .query("SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'k'");
    assert_eq!(left[0][0].as_deref(), Some("0"), "{text}");
}
