//! Review q (r19q) Q1-Q4, loads into existing destination columns: a value the column
//! would store changed without an error stops the job naming its row, whatever its
//! spelling: an exponent (`'1.2345e1'` into numeric(10,2), `'1e3'` into a MariaDB int,
//! 21 digits into a double), a time of day after a date not zero-padded, a SQLite
//! column's values whatever its declared type, an integer other than 0/1 or a word
//! into a boolean column, `'+5'` into a decimal. Ordinary values are copied exactly.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

fn rows(db: &TestDb, sql: &str) -> Vec<Vec<Option<String>>> {
    db.query(sql)
}

fn count(db: &TestDb, table: &str) -> String {
    rows(db, &format!("SELECT count(*) FROM {table}"))[0][0]
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

fn refused(job: &str) -> String {
    sync(job).expect_err("a value stored changed stops the job").to_string()
}

fn assert_names(err: &str, parts: &[&str]) {
    for p in parts {
        assert!(err.contains(p), "`{p}` missing from: {err}");
    }
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// Q1: exponents read as the value they spell.
#[test]
fn exponent_spellings_are_refused_as_the_plain_ones() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE tn (id int PRIMARY KEY, v text); INSERT INTO tn VALUES (1, '5.5'), (2, '1.2345e1');
         CREATE TABLE tr (id int PRIMARY KEY, v text); INSERT INTO tr VALUES (1, '0.5'), (2, '1.00000000000000000001e0');
         CREATE TABLE ti (id int PRIMARY KEY, v text); INSERT INTO ti VALUES (1, '5'), (2, '1e3');
         CREATE TABLE ok (id int PRIMARY KEY, n text, d text);
         INSERT INTO ok VALUES (1, '2.50', '1e3'), (2, '-7', '1.5E-7');",
    );
    let pg = TestDb::create(Engine::Postgres);
    pg.exec(
        "CREATE TABLE tn (id int PRIMARY KEY, v numeric(10,2));
         CREATE TABLE tr (id int PRIMARY KEY, v double precision);
         CREATE TABLE ok (id int PRIMARY KEY, n numeric(10,2), d double precision);",
    );
    let err = refused(&data_job(&src, &pg, "tn"));
    assert_names(
        &err,
        &[
            "row (id)=(2)",
            "its v would be stored changed there: it has 3 decimal places",
        ],
    );
    assert_eq!(count(&pg, "tn"), "0");
    let err = refused(&data_job(&src, &pg, "tr"));
    assert_names(&err, &["row (id)=(2)", "an 8-byte double holds it as 1"]);
    assert_eq!(count(&pg, "tr"), "0");
    sync(&data_job(&src, &pg, "ok")).expect("ordinary values are copied");
    assert_eq!(
        rows(&pg, "SELECT n::text, d::text FROM ok ORDER BY id"),
        [vec![s("2.50"), s("1000")], vec![s("-7.00"), s("1.5e-07")]]
    );
    let my = TestDb::create(Engine::Mysql);
    my.exec("CREATE TABLE ti (id int PRIMARY KEY, v int)");
    let err = refused(&data_job(&src, &my, "ti"));
    assert_names(&err, &["row (id)=(2)", "it is text ('1e3')", "another spelling"]);
    assert_eq!(count(&my, "ti"), "0");
}

/// Q2: a date not zero-padded, or in words, still has its time of day found.
#[test]
fn a_time_of_day_after_an_unpadded_date_is_refused_into_a_date() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE td (id int PRIMARY KEY, v text); INSERT INTO td VALUES (1, '2024-01-02'), (2, '2024-1-1 10:30');
         CREATE TABLE tw (id int PRIMARY KEY, v text); INSERT INTO tw VALUES (1, 'Jan 5 2024 10:00');
         CREATE TABLE ok (id int PRIMARY KEY, v text);
         INSERT INTO ok VALUES (1, '2024-1-1'), (2, '2024-01-02 00:00'), (3, 'Jan 5 2024');",
    );
    let pg = TestDb::create(Engine::Postgres);
    pg.exec(
        "CREATE TABLE td (id int PRIMARY KEY, v date); CREATE TABLE tw (id int PRIMARY KEY, v date);
         CREATE TABLE ok (id int PRIMARY KEY, v date);",
    );
    let err = refused(&data_job(&src, &pg, "td"));
    assert_names(
        &err,
        &[
            "row (id)=(2)",
            "it has a time of day (10:30), which a date column drops",
        ],
    );
    assert_eq!(count(&pg, "td"), "0");
    let err = refused(&data_job(&src, &pg, "tw"));
    assert_names(&err, &["row (id)=(1)", "it has a time of day (10:00)"]);
    sync(&data_job(&src, &pg, "ok")).expect("dates alone are copied");
    assert_eq!(
        rows(&pg, "SELECT v::text FROM ok ORDER BY id"),
        [vec![s("2024-01-01")], vec![s("2024-01-02")], vec![s("2024-01-05")]]
    );
}

/// Q3: a SQLite column's declared type says nothing of its values.
#[test]
fn a_sqlite_sources_values_are_checked_whatever_its_declared_type() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE sd (id integer PRIMARY KEY, d DATE);
         INSERT INTO sd VALUES (1, '2024-01-02'), (2, '2024-01-01 10:30:00');
         CREATE TABLE sv (id integer PRIMARY KEY, v); INSERT INTO sv VALUES (1, '8'), (2, '007');
         CREATE TABLE sb (id integer PRIMARY KEY, v BLOB); INSERT INTO sb VALUES (1, '007');",
    );
    let pg = TestDb::create(Engine::Postgres);
    pg.exec(
        "CREATE TABLE sd (id int PRIMARY KEY, d date); CREATE TABLE sv (id int PRIMARY KEY, v int);
         CREATE TABLE sb (id int PRIMARY KEY, v int);",
    );
    let err = refused(&data_job(&src, &pg, "sd"));
    assert_names(&err, &["row (id)=(2)", "it has a time of day (10:30:00)"]);
    assert_eq!(count(&pg, "sd"), "0");
    let err = refused(&data_job(&src, &pg, "sv"));
    assert_names(&err, &["row (id)=(2)", "it is text ('007')", "another spelling"]);
    assert_eq!(count(&pg, "sv"), "0");
    let err = refused(&data_job(&src, &pg, "sb"));
    assert_names(&err, &["row (id)=(1)", "it is text ('007')"]);
    let my = TestDb::create(Engine::Mysql);
    my.exec("CREATE TABLE sv (id int PRIMARY KEY, v int)");
    let err = refused(&data_job(&src, &my, "sv"));
    assert_names(&err, &["row (id)=(2)", "it is text ('007')"]);
    assert_eq!(count(&my, "sv"), "0");
    // The same values in order are copied.
    src.exec("DELETE FROM sd WHERE id = 2; UPDATE sv SET v = '9' WHERE id = 2;");
    sync(&data_job(&src, &pg, "sd")).expect("a date alone is copied");
    sync(&data_job(&src, &pg, "sv")).expect("integers' own spellings are copied");
    assert_eq!(
        rows(&pg, "SELECT v::text FROM sv ORDER BY id"),
        [vec![s("8")], vec![s("9")]]
    );
}

/// Q4: a boolean column holds true and false; an integer other than 0/1, a word, and
/// '+5' into a decimal would be stored as another value or spelling.
#[test]
fn integers_other_than_0_1_and_words_into_boolean_columns_are_refused() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE tbi (id int PRIMARY KEY, v int); INSERT INTO tbi VALUES (1, 0), (2, 1), (3, 5);
         CREATE TABLE tbt (id int PRIMARY KEY, v text); INSERT INTO tbt VALUES (1, 'yes');
         CREATE TABLE tn0 (id int PRIMARY KEY, v text); INSERT INTO tn0 VALUES (1, '5'), (2, '+5');
         CREATE TABLE ok (id int PRIMARY KEY, v int); INSERT INTO ok VALUES (1, 0), (2, 1);",
    );
    let pg = TestDb::create(Engine::Postgres);
    pg.exec(
        "CREATE TABLE tbi (id int PRIMARY KEY, v boolean); CREATE TABLE tbt (id int PRIMARY KEY, v boolean);
         CREATE TABLE tn0 (id int PRIMARY KEY, v numeric); CREATE TABLE ok (id int PRIMARY KEY, v boolean);",
    );
    let my = TestDb::create(Engine::Mysql);
    my.exec(
        "CREATE TABLE tbi (id int PRIMARY KEY, v tinyint(1)); CREATE TABLE tbt (id int PRIMARY KEY, v tinyint(1));
         CREATE TABLE tn0 (id int PRIMARY KEY, v decimal(20,0)); CREATE TABLE ok (id int PRIMARY KEY, v tinyint(1));",
    );
    for dest in [&pg, &my] {
        let err = refused(&data_job(&src, dest, "tbi"));
        assert_names(
            &err,
            &["row (id)=(3)", "it is the integer 5", "only 0 and 1 keep their value"],
        );
        assert_eq!(count(dest, "tbi"), "0");
        let err = refused(&data_job(&src, dest, "tbt"));
        assert_names(&err, &["row (id)=(1)", "it is text ('yes')", "another spelling"]);
        assert_eq!(count(dest, "tbt"), "0");
        let err = refused(&data_job(&src, dest, "tn0"));
        assert_names(&err, &["row (id)=(2)", "it is text ('+5')", "another spelling"]);
        assert_eq!(count(dest, "tn0"), "0");
        sync(&data_job(&src, dest, "ok")).expect("0 and 1 are copied");
    }
    assert_eq!(
        rows(&pg, "SELECT v::text FROM ok ORDER BY id"),
        [vec![s("false")], vec![s("true")]]
    );
    assert_eq!(rows(&my, "SELECT v FROM ok ORDER BY id"), [vec![s("0")], vec![s("1")]]);
}
