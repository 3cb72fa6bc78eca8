//! What a new user trips over on a first run: relative paths in a job, running a
//! job twice, options that do not apply to an engine, counts in plain words.

use std::path::Path;
use std::process::Command;

use tether_testkit::ScratchDir;

/// `tether ARGS` run in `cwd`: (exit code, stdout, stderr).
fn tether_in(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(args)
        .current_dir(cwd)
        .env_remove("TETHER_SEED")
        .output()
        .expect("run tether");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A SQLite file with one table and `rows` rows.
fn one_table(path: &Path, rows: i64) {
    let c = rusqlite::Connection::open(path).expect("open");
    c.execute_batch("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL);")
        .expect("schema");
    for i in 1..=rows {
        c.execute(
            "INSERT INTO item VALUES (?1, ?2)",
            rusqlite::params![i, format!("item {i}")],
        )
        .expect("row");
    }
}

fn count(path: &Path) -> i64 {
    rusqlite::Connection::open(path)
        .expect("open")
        .query_row("SELECT count(*) FROM item", [], |r| r.get(0))
        .expect("count")
}

#[test]
fn relative_sqlite_paths_are_relative_to_the_job_file_and_a_second_run_says_how_to_repeat() {
    let dir = ScratchDir::new("first_run");
    let jobs = dir.join("jobs");
    let data = dir.join("data");
    std::fs::create_dir_all(&jobs).expect("jobs dir");
    std::fs::create_dir_all(&data).expect("data dir");
    one_table(&data.join("src.sqlite"), 3);
    let job = jobs.join("job.toml");
    std::fs::write(
        &job,
        "source = \"sqlite://../data/src.sqlite\"\n[[destinations]]\nurl = \"../data/copy.sqlite\"\n",
    )
    .expect("job");

    // Run from elsewhere (the scratch root): the paths still mean data/ beside jobs/.
    let (code, out, err) = tether_in(&dir, &["sync", "jobs/job.toml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(count(&data.join("copy.sqlite")), 3);
    assert!(!dir.join("copy.sqlite").exists() && !jobs.join("copy.sqlite").exists());
    assert!(out.contains("3 rows read from 1 table, 3 written in "), "{out}");

    // Again, without truncate: the error says what to set.
    let (code, _, err) = tether_in(&dir, &["sync", "jobs/job.toml"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("table item: row (id)=(1) was rejected"), "{err}");
    assert!(err.contains("set `truncate = true`"), "{err}");
    assert!(err.contains("`on_conflict = \"skip\"`"), "{err}");

    // A missing source says where it looked: the absolute path.
    std::fs::write(
        &job,
        "source = \"sqlite://../data/nowhere.sqlite\"\n[[destinations]]\nurl = \"../data/copy.sqlite\"\n",
    )
    .expect("job");
    let (code, _, err) = tether_in(&dir, &["plan", "jobs/job.toml"]);
    assert_eq!(code, 3, "{err}");
    let looked = std::fs::canonicalize(&data).expect("data").join("nowhere.sqlite");
    assert!(
        err.contains(&format!("SQLite database file not found: {}", looked.display())),
        "{err}"
    );
}

#[test]
fn schema_option_on_sqlite_is_a_usage_error_not_a_bad_url() {
    let dir = ScratchDir::new("first_run_schema");
    let db = dir.join("db.sqlite");
    one_table(&db, 1);
    let (code, _, err) = tether_in(&dir, &["schema", db.to_str().expect("utf-8"), "--schema", "sales"]);
    assert_eq!(code, 2, "{err}");
    assert!(!err.contains("invalid database URL"), "{err}");
    assert!(
        err.contains("--schema names PostgreSQL schemas; sqlite has none"),
        "{err}"
    );
}

#[test]
fn plan_numbers_tables_in_load_steps() {
    let dir = ScratchDir::new("first_run_plan");
    let db = dir.join("db.sqlite");
    rusqlite::Connection::open(&db)
        .expect("open")
        .execute_batch(
            "CREATE TABLE b (id INTEGER PRIMARY KEY);
             CREATE TABLE a (id INTEGER PRIMARY KEY, b_id INTEGER REFERENCES b(id));
             CREATE TABLE c (id INTEGER PRIMARY KEY);",
        )
        .expect("schema");
    std::fs::write(
        dir.join("job.toml"),
        "source = \"db.sqlite\"\n[[destinations]]\nurl = \"copy.sqlite\"\n",
    )
    .expect("job");
    let (code, out, err) = tether_in(&dir, &["plan", "job.toml"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| {
            l.starts_with("step ") || (l.starts_with("  ") && l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    assert_eq!(lines, ["step 1", "  1. b", "  2. c", "step 2", "  3. a"], "{out}");
    assert!(out.contains("3 tables in load order, full copy"), "{out}");
}

#[test]
fn a_second_run_into_postgres_or_mariadb_says_how_to_repeat() {
    for engine in [tether_testkit::TestEngine::Postgres, tether_testkit::TestEngine::Mysql] {
        let dir = ScratchDir::new("first_run_again");
        one_table(&dir.join("src.sqlite"), 3);
        let dest = tether_testkit::TestDb::create(engine);
        std::fs::write(
            dir.join("job.toml"),
            format!("source = \"src.sqlite\"\n[[destinations]]\nurl = \"{}\"\n", dest.url),
        )
        .expect("job");
        let (code, out, err) = tether_in(&dir, &["sync", "job.toml"]);
        assert_eq!(code, 0, "{engine:?}: {out}{err}");
        let (code, _, err) = tether_in(&dir, &["sync", "job.toml"]);
        assert_eq!(code, 1, "{engine:?}: {err}");
        assert!(err.contains("table item: row"), "{engine:?}: {err}");
        assert!(err.contains("set `truncate = true`"), "{engine:?}: {err}");
        assert_eq!(dest.query("SELECT count(*) FROM item"), [[Some("3".to_string())]]);
    }
}

/// Review o (seventeenth session): the last line summed the rows read only, so a re-run
/// with `skip` that wrote nothing said "3 rows in 1 table". It says what was read and
/// what was written, per destination when there are several.
#[test]
fn the_last_line_says_rows_read_and_rows_written() {
    let dir = ScratchDir::new("tether-summary");
    one_table(&dir.join("src.sqlite"), 3);
    let job = dir.join("job.toml");
    std::fs::write(
        &job,
        "source = \"sqlite://src.sqlite\"\n[[destinations]]\nurl = \"a.sqlite\"\non_conflict = \"skip\"\n\
         [[destinations]]\nurl = \"b.sqlite\"\non_conflict = \"skip\"\n",
    )
    .expect("job");
    let (code, out, err) = tether_in(&dir, &["sync", "job.toml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("3 rows read from 1 table, 3 written to #1, 3 written to #2 in "),
        "{out}"
    );
    let (code, out, err) = tether_in(&dir, &["sync", "job.toml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("3 rows read from 1 table, 0 written to #1, 0 written to #2 in "),
        "{out}"
    );
    assert_eq!(count(&dir.join("a.sqlite")), 3);
}
