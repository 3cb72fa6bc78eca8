//! Fifteenth review, values across engines (r15b): a copy must never hold another value
//! than the source, nor lose a foreign key the source keeps. A SQLite decimal with more
//! decimal places than its declared scale, or a SQLite date-time text with a UTC offset,
//! is refused on PostgreSQL naming row and column (it was rounded, the offset dropped);
//! PostgreSQL numeric keys spelt with other decimal places stay attached on SQLite; a
//! MariaDB TINYINT(1) key and its TINYINT child get one type on PostgreSQL; a NUL in
//! text refused by PostgreSQL names its column.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

fn refused(job: &str) -> String {
    sync(job).expect_err("the job is refused").to_string()
}

fn assert_names(err: &str, parts: &[&str]) {
    for p in parts {
        assert!(err.contains(p), "`{p}` missing from: {err}");
    }
}

fn strings(rows: &[&[&str]]) -> Vec<Vec<Option<String>>> {
    rows.iter()
        .map(|r| r.iter().map(|v| Some(v.to_string())).collect())
        .collect()
}

/// B3: SQLite does not enforce DECIMAL(10,2): 12.345 and '0.125' are stored as they
/// are. PostgreSQL's numeric(10,2) rounded them to 12.35 and 0.13 and the run was
/// verified; now the first is refused naming row, column and both types, as MariaDB
/// refuses it (note 1265). Values that fit are copied exactly, and a VARCHAR(3) holding
/// a longer text with trailing spaces is refused too (PostgreSQL would cut them).
#[test]
fn sqlite_decimals_past_their_declared_scale_are_refused_not_rounded() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, amount DECIMAL(10,2));
         INSERT INTO t VALUES (1, 12.345), (2, '0.125');",
    );
    let pg = TestDb::create(Engine::Postgres);
    let err = refused(&job(&src, &[&pg], ""));
    assert_names(
        &err,
        &[
            "table t: row (id)=(1) was rejected: its amount would be stored changed there: it has 3 decimal places; \
             the column keeps 2 (the destination's column is numeric(10,2), the source's DECIMAL(10,2))",
        ],
    );
    assert_eq!(
        pg.query("SELECT count(*) FROM pg_tables WHERE tablename = 't'"),
        strings(&[&["0"]])
    );

    let fits = TestDb::create(Engine::Sqlite);
    fits.exec(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, amount DECIMAL(10,2));
         INSERT INTO t VALUES (1, 12.34), (2, '0.5'), (3, 7);",
    );
    let pg = TestDb::create(Engine::Postgres);
    let report = sync(&job(&fits, &[&pg], "")).expect("values within the scale are copied");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        pg.query("SELECT id::text, amount::text FROM t ORDER BY id"),
        strings(&[&["1", "12.34"], &["2", "0.50"], &["3", "7.00"]])
    );

    let spaces = TestDb::create(Engine::Sqlite);
    spaces.exec(
        "CREATE TABLE v (id INTEGER PRIMARY KEY, code VARCHAR(3));
         INSERT INTO v VALUES (1, 'ab'), (2, 'ab    ');",
    );
    let pg = TestDb::create(Engine::Postgres);
    let err = refused(&job(&spaces, &[&pg], ""));
    assert_names(
        &err,
        &[
            "table v: row (id)=(2) was rejected: its code would be stored changed there: it has 6 characters, \
           trailing spaces PostgreSQL would cut; the column holds 3",
        ],
    );
}

/// B1: PostgreSQL compares numerics by value, so a child's 1.00 references a parent's
/// 1.0. An unbounded numeric is TEXT on SQLite (every digit kept), where '1.00' is not
/// '1.0': the load failed on the FK (or left an orphan with checks = "verify"). The
/// children are now written with their parent's spelling on SQLite; a MariaDB copy,
/// which compares decimals by value, keeps each row's own.
#[test]
fn numeric_keys_spelt_with_other_decimal_places_stay_attached_on_sqlite() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE np (k numeric PRIMARY KEY);
         CREATE TABLE nc (id int PRIMARY KEY, k numeric REFERENCES np (k));
         INSERT INTO np VALUES (1.0), (2), (3.50);
         INSERT INTO nc VALUES (1, 1.00), (2, 2.000), (3, 1.0), (4, 3.5), (5, NULL);",
    );
    let lite = TestDb::create(Engine::Sqlite);
    let my = TestDb::create(Engine::Mysql);
    let report = sync(&job(&src, &[&lite, &my], "")).expect("children stay attached");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        lite.query("SELECT k, typeof(k) FROM np ORDER BY k"),
        strings(&[&["1.0", "text"], &["2", "text"], &["3.50", "text"]])
    );
    assert_eq!(
        lite.query("SELECT id, coalesce(k, 'NULL') FROM nc ORDER BY id"),
        strings(&[
            &["1", "1.0"],
            &["2", "2"],
            &["3", "1.0"],
            &["4", "3.50"],
            &["5", "NULL"]
        ])
    );
    assert_eq!(
        lite.query("SELECT count(*) FROM nc WHERE k IS NOT NULL AND k NOT IN (SELECT k FROM np)"),
        strings(&[&["0"]])
    );
    assert_eq!(
        lite.query("PRAGMA foreign_key_check"),
        Vec::<Vec<Option<String>>>::new()
    );
    // MariaDB compares decimals by value (DECIMAL(65,30) there): nothing respelt.
    assert_eq!(
        my.query("SELECT id, CAST(k AS CHAR) FROM nc WHERE k IS NOT NULL ORDER BY id"),
        strings(&[
            &["1", "1.000000000000000000000000000000"],
            &["2", "2.000000000000000000000000000000"],
            &["3", "1.000000000000000000000000000000"],
            &["4", "3.500000000000000000000000000000"]
        ])
    );
    assert_eq!(
        my.query("SELECT count(*) FROM nc WHERE k IS NOT NULL AND k NOT IN (SELECT k FROM np)"),
        strings(&[&["0"]])
    );
}

/// B2: MariaDB reads TINYINT(1) as a boolean and TINYINT as an integer, and InnoDB lets
/// an FK join them; PostgreSQL refused the FK (42804: smallint and boolean) after the
/// plan said "created". The FK column now takes its parent's type, both ways, and the
/// plan says why.
#[test]
fn a_tinyint_1_key_and_its_tinyint_child_get_one_type_on_postgresql() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE bp (k tinyint(1) PRIMARY KEY);
         CREATE TABLE bc (id int PRIMARY KEY, k tinyint, FOREIGN KEY (k) REFERENCES bp (k));
         CREATE TABLE rp (k tinyint PRIMARY KEY);
         CREATE TABLE rc (id int PRIMARY KEY, k tinyint(1), FOREIGN KEY (k) REFERENCES rp (k));
         INSERT INTO bp VALUES (0), (1);
         INSERT INTO bc VALUES (1, 1), (2, 0);
         INSERT INTO rp VALUES (0), (1), (5);
         INSERT INTO rc VALUES (1, 1), (2, 0);",
    );
    let pg = TestDb::create(Engine::Postgres);
    let text = job(&src, &[&pg], "");
    let plan = items(&text);
    let bc = item(&plan, "column", "bc.k");
    assert_eq!(
        (bc.from.as_deref(), bc.to.as_deref(), bc.reason.as_deref()),
        (
            Some("tinyint(4)"),
            Some("boolean"),
            Some(
                "the type of bp.k, which it references: a TINYINT(1) is copied as a boolean, and other engines \
                 refuse a foreign key between a boolean and an integer"
            )
        )
    );
    let rc = item(&plan, "column", "rc.k");
    assert_eq!(
        (rc.from.as_deref(), rc.to.as_deref()),
        (Some("tinyint(1)"), Some("smallint"))
    );
    let report = sync(&text).expect("both FKs are created");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        pg.query(
            "SELECT conrelid::regclass::text, format_type(a.atttypid, a.atttypmod) FROM pg_constraint c \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] WHERE contype = 'f' \
             ORDER BY 1"
        ),
        strings(&[&["bc", "boolean"], &["rc", "smallint"]])
    );
    assert_eq!(
        pg.query("SELECT id::text, k::text FROM bc ORDER BY id"),
        strings(&[&["1", "true"], &["2", "false"]])
    );
    assert_eq!(
        pg.query("SELECT id::text, k::text FROM rc ORDER BY id"),
        strings(&[&["1", "1"], &["2", "0"]])
    );
}

/// B4: SQLite's date functions read '2024-01-01 10:00:00+05:00' as 05:00 UTC;
/// PostgreSQL's `timestamp` input dropped the offset and kept 10:00, so two different
/// instants became one value. Now refused naming row and column; `Z` and a zero offset
/// name UTC and are copied.
#[test]
fn a_sqlite_datetime_with_a_utc_offset_is_refused_on_a_postgresql_timestamp() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, at DATETIME, note TEXT);
         INSERT INTO t VALUES (1, '2024-01-01 10:00:00', 'x'), (2, '2024-01-01 10:00:00+05:00', 'a');",
    );
    assert_eq!(
        src.query("SELECT datetime(at) FROM t ORDER BY id"),
        strings(&[&["2024-01-01 10:00:00"], &["2024-01-01 05:00:00"]])
    );
    let pg = TestDb::create(Engine::Postgres);
    let err = refused(&job(&src, &[&pg], ""));
    assert_names(
        &err,
        &[
            "table t: row (id)=(2) was rejected: its at would be stored changed there: it has the UTC offset +05:00, \
             which a column without time zone drops",
            "(the destination's column is timestamp without time zone, the source's DATETIME)",
        ],
    );

    let utc = TestDb::create(Engine::Sqlite);
    utc.exec(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, at DATETIME);
         INSERT INTO t VALUES (1, '2024-01-01T10:00:00Z'), (2, '2024-01-01 11:00:00+00:00'), (3, '2024-01-01 12:00:00');",
    );
    let pg = TestDb::create(Engine::Postgres);
    let report = sync(&job(&utc, &[&pg], "")).expect("UTC offsets keep the instant");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        pg.query("SELECT at::text FROM t ORDER BY id"),
        strings(&[
            &["2024-01-01 10:00:00"],
            &["2024-01-01 11:00:00"],
            &["2024-01-01 12:00:00"]
        ])
    );
}

/// B5: PostgreSQL refuses NUL in text (22021) without naming the column; the error now
/// names it and what would hold it.
#[test]
fn a_nul_character_refused_by_postgresql_text_names_its_column() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, note TEXT);
         INSERT INTO t VALUES (1, 'ok', 'fine'), (2, 'ok', 'nul' || char(0) || 'x');",
    );
    let pg = TestDb::create(Engine::Postgres);
    let err = refused(&job(&src, &[&pg], ""));
    assert_names(
        &err,
        &[
            "table t: row (id)=(2) was rejected: server error 22021: invalid byte sequence for encoding \"UTF8\": \
             0x00",
            "(column note): PostgreSQL text cannot hold the NUL character; a bytea column would, or a transformer \
             removing it",
        ],
    );
    // `on_conflict` writes with INSERT: the same.
    let pg = TestDb::create(Engine::Postgres);
    let err = refused(&job(&src, &[&pg], "").replace("truncate = true", "on_conflict = \"skip\""));
    assert_names(
        &err,
        &[
            "row (id)=(2) was rejected",
            "(column note): PostgreSQL text cannot hold the NUL",
        ],
    );
}

/// B6: two SQLite DATETIME keys spelt differently are one datetime on MariaDB (1062).
/// The refusal is right; its hint blamed case, accents or trailing spaces and advised
/// a collation. It now says they are two spellings of one value of the key's type.
#[test]
fn two_spellings_of_one_datetime_key_are_named_as_such() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE dp (k DATETIME PRIMARY KEY);
         INSERT INTO dp VALUES ('2024-01-01 10:00:00'), ('2024-01-01 10:00:00.000');",
    );
    let my = TestDb::create(Engine::Mysql);
    let err = refused(&job(&src, &[&my], ""));
    assert_names(
        &err,
        &[
            "table dp: row (k)=('2024-01-01 10:00:00.000') was rejected: server error 1062 (23000): Duplicate entry",
            "the table was empty before this run, so two rows of the source clash here: their keys are two spellings \
             of one value of the key's type (a date, time or number written differently, as '10:00:00' and \
             '10:00:00.000'), which the source keeps apart and this destination reads as one. `on_conflict` would \
             drop one of them; make the source's spellings agree, or transform the key",
        ],
    );
    assert!(!err.contains("collation"), "{err}");
}
