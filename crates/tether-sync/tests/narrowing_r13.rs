//! Thirteenth review, sync loads: into an existing destination column of a narrower type
//! a value that engine would store changed without an error (fractional seconds
//! rounded or cut, a time of day dropped into a date, an integer past 2^53 rounded into
//! a double, a fraction rounded away into a MariaDB integer, SQLite's affinity turning
//! text into numbers) stops the job naming the row, the column and both types, and
//! nothing of that batch is written; values that fit are copied exactly. And a SQLite
//! source written to during a copy with several lanes is read in one snapshot by all.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

fn first(db: &TestDb, sql: &str) -> Vec<Option<String>> {
    db.query(sql).into_iter().next().expect("a row")
}

fn count(db: &TestDb, table: &str) -> String {
    first(db, &format!("SELECT count(*) FROM {table}"))[0]
        .clone()
        .expect("a count")
}

/// A data-only job of `table` from `src` into the existing tables of `dest`.
fn data_job(src: &TestDb, dest: &TestDb, table: &str) -> String {
    format!(
        "source = \"{}\"\nmode = \"data\"\n[[destinations]]\nurl = \"{}\"\n[tables]\ninclude = [\"{table}\"]\n",
        src.url, dest.url
    )
}

/// The error of a job expected to stop on a value stored changed.
fn refused(job: &str) -> String {
    sync(job).expect_err("a value stored changed stops the job").to_string()
}

fn assert_names(err: &str, parts: &[&str]) {
    for p in parts {
        assert!(err.contains(p), "`{p}` missing from: {err}");
    }
}

/// PostgreSQL rounds `23:59:59.75` into `timestamp(0)` to the next day (the next year
/// here), MariaDB cuts it into `datetime`: both without an error. The job refuses the
/// row; a destination keeping the fraction gets it exactly.
#[test]
fn fractional_seconds_a_destination_would_round_or_cut_are_refused() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE ts (id int PRIMARY KEY, at timestamp(6));
         INSERT INTO ts VALUES (1, '2024-12-31 23:59:59'), (2, '2024-12-31 23:59:59.75');
         CREATE TABLE tm (id int PRIMARY KEY, t time(6));
         INSERT INTO tm VALUES (1, '10:00:00.5'), (2, '10:00:00.6');",
    );
    let pg = TestDb::create(Engine::Postgres);
    pg.exec(
        "CREATE TABLE ts (id int PRIMARY KEY, at timestamp(0));
         CREATE TABLE tm (id int PRIMARY KEY, t time(0));",
    );
    // What PostgreSQL itself does with the value.
    assert_eq!(
        first(&pg, "SELECT '2024-12-31 23:59:59.75'::timestamp(0)::text"),
        [Some("2025-01-01 00:00:00".to_string())]
    );
    let err = refused(&data_job(&src, &pg, "ts"));
    assert_names(
        &err,
        &[
            "table ts: row (id)=(2) was rejected: its at would be stored changed there: it has 2 digits of a \
             second's fraction; the column keeps 0",
            "the destination's column is timestamp(0) without time zone, the source's timestamp(6) without time zone",
        ],
    );
    assert_eq!(count(&pg, "ts"), "0");
    let err = refused(&data_job(&src, &pg, "tm"));
    assert_names(
        &err,
        &[
            "table tm: row (id)=(1) was rejected: its t would be stored changed there: it has 1 digits",
            "time(0) without time zone",
        ],
    );

    let my = TestDb::create(Engine::Mysql);
    my.exec(
        "CREATE TABLE ts (id int PRIMARY KEY, at datetime);
         CREATE TABLE tm (id int PRIMARY KEY, t time(1));",
    );
    let err = refused(&data_job(&src, &my, "ts"));
    assert_names(
        &err,
        &[
            "table ts: row (id)=(2) was rejected: its at would be stored changed there: it has 2 digits of a \
             second's fraction; the column keeps 0",
            "the destination's column is datetime, the source's timestamp(6) without time zone",
        ],
    );
    assert_eq!(count(&my, "ts"), "0");
    // time(1) keeps .5 and .6: copied as they are.
    let report = sync(&data_job(&src, &my, "tm")).expect("one digit fits time(1)");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        my.query("SELECT t FROM tm ORDER BY id"),
        [[Some("10:00:00.5".to_string())], [Some("10:00:00.6".to_string())]]
    );

    // A destination of the source's precision copies every value as it is.
    let wide = TestDb::create(Engine::Postgres);
    wide.exec("CREATE TABLE ts (id int PRIMARY KEY, at timestamp(2))");
    let report = sync(&data_job(&src, &wide, "ts")).expect("two digits fit timestamp(2)");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        wide.query("SELECT at::text FROM ts ORDER BY id"),
        [
            [Some("2024-12-31 23:59:59".to_string())],
            [Some("2024-12-31 23:59:59.75".to_string())]
        ]
    );
}

/// PostgreSQL takes `2024-01-01 10:00:00+00` (read in UTC) into a `date` column as
/// `2024-01-01`;
/// midnight is the date exactly and is copied.
#[test]
fn a_time_of_day_a_date_column_would_drop_is_refused() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE d (id int PRIMARY KEY, ts timestamptz);
         INSERT INTO d VALUES (1, '2024-01-01 00:00:00+00'), (2, '2024-01-01 10:00:00+00');
         CREATE TABLE m (id int PRIMARY KEY, ts timestamptz);
         INSERT INTO m VALUES (1, '2024-01-01 00:00:00+00');",
    );
    let pg = TestDb::create(Engine::Postgres);
    pg.exec(
        "CREATE TABLE d (id int PRIMARY KEY, ts date);
         CREATE TABLE m (id int PRIMARY KEY, ts date);",
    );
    let err = refused(&data_job(&src, &pg, "d"));
    assert_names(
        &err,
        &[
            "table d: row (id)=(2) was rejected: its ts would be stored changed there: it has a time of day \
             (10:00:00), which a date column drops",
            "the destination's column is date, the source's timestamp with time zone",
        ],
    );
    assert_eq!(count(&pg, "d"), "0");
    let report = sync(&data_job(&src, &pg, "m")).expect("midnight is the date");
    assert!(report.ok, "{report:?}");
    assert_eq!(first(&pg, "SELECT ts::text FROM m"), [Some("2024-01-01".to_string())]);
}

/// A bigint past 2^53 into a double precision / double column is rounded by both
/// engines without an error; 2^53 itself is exact and copied.
#[test]
fn integers_a_double_would_round_are_refused() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE g (id int PRIMARY KEY, b bigint);
         INSERT INTO g VALUES (1, 9007199254740992), (2, 9007199254740993);
         CREATE TABLE n (id int PRIMARY KEY, v numeric);
         INSERT INTO n VALUES (1, 0.5), (2, 123456789012345678901234567890);",
    );
    for engine in [Engine::Postgres, Engine::Mysql] {
        let dest = TestDb::create(engine);
        let double = match engine {
            Engine::Postgres => "double precision",
            _ => "double",
        };
        dest.exec(&format!(
            "CREATE TABLE g (id int PRIMARY KEY, b {double}); CREATE TABLE n (id int PRIMARY KEY, v {double});"
        ));
        let err = refused(&data_job(&src, &dest, "g"));
        assert_names(
            &err,
            &[
                "table g: row (id)=(2) was rejected: its b would be stored changed there: an 8-byte double holds it \
                 as 9007199254740992",
                &format!("the destination's column is {double}, the source's bigint"),
            ],
        );
        assert_eq!(count(&dest, "g"), "0", "{engine:?}");
        let err = refused(&data_job(&src, &dest, "n"));
        assert_names(
            &err,
            &["table n: row (id)=(2) was rejected: its v would be stored changed there: an 8-byte double holds it"],
        );
    }
    let dest = TestDb::create(Engine::Postgres);
    dest.exec("CREATE TABLE g (id int PRIMARY KEY, b double precision)");
    src.exec("DELETE FROM g WHERE id = 2");
    let report = sync(&data_job(&src, &dest, "g")).expect("2^53 is exact");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        first(&dest, "SELECT b::bigint::text FROM g"),
        [Some("9007199254740992".to_string())]
    );
}

/// MariaDB rounds 1.5 and '2.5' into an INT column with no warning or note at all
/// (natively below: rounded, no error); the job refuses them, and copies 2.0 as 2.
#[test]
fn fractions_a_mariadb_integer_would_round_away_are_refused() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE e (id int PRIMARY KEY, f float8); INSERT INTO e VALUES (1, 2.0), (2, 1.5);
         CREATE TABLE n (id int PRIMARY KEY, v numeric(6,2)); INSERT INTO n VALUES (1, 3.00), (2, 2.5);",
    );
    let my = TestDb::create(Engine::Mysql);
    my.exec(
        "CREATE TABLE e (id int PRIMARY KEY, f int); CREATE TABLE n (id int PRIMARY KEY, v int);
         CREATE TABLE z (a int, b int);",
    );
    // Natively: rounded, without an error.
    my.exec("INSERT INTO z VALUES (1.5, '2.5')");
    assert_eq!(first(&my, "SELECT concat(a, ',', b) FROM z"), [Some("2,3".to_string())]);
    let err = refused(&data_job(&src, &my, "e"));
    assert_names(
        &err,
        &[
            "table e: row (id)=(2) was rejected: its f would be stored changed there: it has a fraction, which \
             MariaDB/MySQL rounds away into an integer column without a note (1.5 becomes 2)",
            "the destination's column is int(11), the source's double precision",
        ],
    );
    assert_eq!(count(&my, "e"), "0");
    let err = refused(&data_job(&src, &my, "n"));
    assert_names(
        &err,
        &["table n: row (id)=(2) was rejected: its v would be stored changed there: it has a fraction (2.5)"],
    );
    src.exec("DELETE FROM e WHERE id = 2");
    let report = sync(&data_job(&src, &my, "e")).expect("2.0 is 2");
    assert!(report.ok, "{report:?}");
    assert_eq!(my.query("SELECT f FROM e"), [[Some("2".to_string())]]);
}

/// Into an existing SQLite table: text `'007'` and `'1e3'` in a column of INTEGER
/// affinity would become the integers 7 and 1000, a 30-digit numeric in a NUMERIC
/// column a REAL of 15 digits; refused. A numeric(10,2) in NUMERIC(10,2) keeps its
/// value (1.10 is stored as 1.1, as in a table Tether creates) and text that is its
/// number's own spelling (`7`) is copied.
#[test]
fn values_a_sqlite_column_affinity_would_change_are_refused() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE code (id int PRIMARY KEY, code text); INSERT INTO code VALUES (1, '7'), (2, '007');
         CREATE TABLE sci (id int PRIMARY KEY, code text); INSERT INTO sci VALUES (1, 'x1'), (2, '1e3');
         CREATE TABLE big (id int PRIMARY KEY, big numeric(30,0));
         INSERT INTO big VALUES (1, 1), (2, 123456789012345678901234567890);
         CREATE TABLE amount (id int PRIMARY KEY, amount numeric(10,2)); INSERT INTO amount VALUES (1, 1.10), (2, 2.00);",
    );
    let lite = TestDb::create(Engine::Sqlite);
    lite.exec(
        "CREATE TABLE code (id integer PRIMARY KEY, code integer);
         CREATE TABLE sci (id integer PRIMARY KEY, code integer);
         CREATE TABLE big (id integer PRIMARY KEY, big numeric(30,0));
         CREATE TABLE amount (id integer PRIMARY KEY, amount numeric(10,2));",
    );
    let err = refused(&data_job(&src, &lite, "code"));
    assert_names(
        &err,
        &[
            "table code: row (id)=(2) was rejected: its code would be stored changed there: SQLite's INTEGER \
             affinity (its declared type) stores it as the integer 7",
            "the destination's column is INTEGER, the source's text",
        ],
    );
    assert_eq!(count(&lite, "code"), "0");
    let err = refused(&data_job(&src, &lite, "sci"));
    assert_names(&err, &["table sci: row (id)=(2)", "stores it as the integer 1000"]);
    let err = refused(&data_job(&src, &lite, "big"));
    assert_names(
        &err,
        &[
            "table big: row (id)=(2) was rejected: its big would be stored changed there: SQLite's NUMERIC \
             affinity (its declared type) stores it as the 8-byte real 123456789012345680000000000000",
            "the destination's column is numeric(30,0), the source's numeric(30,0)",
        ],
    );
    assert_eq!(count(&lite, "big"), "0");
    let report = sync(&data_job(&src, &lite, "amount")).expect("numeric(10,2) fits NUMERIC(10,2)");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        lite.query("SELECT typeof(amount) || ':' || amount FROM amount ORDER BY id"),
        [[Some("real:1.1".to_string())], [Some("integer:2".to_string())]]
    );
    src.exec("DELETE FROM code WHERE id = 2");
    let report = sync(&data_job(&src, &lite, "code")).expect("'7' is 7's own spelling");
    assert!(report.ok, "{report:?}");
    assert_eq!(lite.query("SELECT code FROM code"), [[Some("7".to_string())]]);
}

/// A SQLite source in WAL mode taking commits (each a parent and a child in each of
/// three child tables) while a copy with two lanes reads it: every lane reads the same
/// snapshot, so the copy holds as many rows in each table and no orphan (the second
/// lane used to begin its own snapshot later: children of parents the first lane's
/// read never saw, rejected by the destination's FK).
#[test]
fn a_sqlite_source_written_during_a_parallel_copy_is_read_in_one_snapshot() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let src = TestDb::create(Engine::Sqlite);
    let path = src.url.trim_start_matches("sqlite://").to_string();
    {
        let mut c = rusqlite::Connection::open(&path).expect("open the source");
        c.execute_batch("PRAGMA journal_mode = wal; CREATE TABLE p (id integer PRIMARY KEY, pad text);")
            .expect("create p");
        for n in 1..=3 {
            c.execute_batch(&format!(
                "CREATE TABLE c{n} (id integer PRIMARY KEY, p_id integer NOT NULL REFERENCES p (id), pad text)"
            ))
            .expect("create a child");
        }
        let tx = c.transaction().expect("begin");
        for table in ["p", "c1", "c2", "c3"] {
            let sql = match table {
                "p" => "INSERT INTO p VALUES (?1, 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx')".to_string(),
                _ => {
                    format!("INSERT INTO {table} VALUES (?1, ?1, 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy')")
                }
            };
            let mut s = tx.prepare(&sql).expect("prepare");
            for i in 1..=40_000i64 {
                s.execute([i]).expect("insert");
            }
        }
        tx.commit().expect("commit");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, path) = (stop.clone(), path.clone());
        std::thread::spawn(move || {
            let c = rusqlite::Connection::open(&path).expect("open the source");
            c.busy_timeout(std::time::Duration::from_secs(30)).expect("timeout");
            let mut i = 40_000i64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                c.execute_batch(&format!(
                    "BEGIN IMMEDIATE; INSERT INTO p VALUES ({i}, 'new'); INSERT INTO c1 VALUES ({i}, {i}, 'new');
                     INSERT INTO c2 VALUES ({i}, {i}, 'new'); INSERT INTO c3 VALUES ({i}, {i}, 'new'); COMMIT;"
                ))
                .expect("a writer's commit");
            }
            i - 40_000
        })
    };
    // The writer is under way before the copy begins.
    while first(&src, "SELECT max(id) FROM p")[0].as_deref() == Some("40000") {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let dest = TestDb::create(Engine::Sqlite);
    let job = format!(
        "source = \"{}\"\n[[destinations]]\nurl = \"{}\"\n[options]\nparallelism = 2\nbatch_size = 1000\n",
        src.url, dest.url
    );
    let report = sync(&job);
    stop.store(true, Ordering::Relaxed);
    let commits = writer.join().expect("the writer");
    let report = report.expect("one snapshot: no orphans");
    assert!(report.ok, "{report:?}");
    assert!(commits > 10, "the source took only {commits} commits during the copy");
    let counts: Vec<String> = ["p", "c1", "c2", "c3"].iter().map(|t| count(&dest, t)).collect();
    assert!(counts.iter().all(|c| c == &counts[0]), "{counts:?}");
    for n in 1..=3 {
        assert_eq!(
            first(
                &dest,
                &format!("SELECT count(*) FROM c{n} WHERE p_id NOT IN (SELECT id FROM p)")
            ),
            [Some("0".to_string())]
        );
    }
}
