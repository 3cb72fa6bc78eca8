//! Twenty-third review (r23a F1, F2): a value is never changed on the way.
//!
//! F1: SQLite stores TEXT without checking its encoding (`CAST(x'61ff' AS TEXT)`). Such
//! text was decoded with replacement characters: every destination, SQLite included,
//! got `61 EF BF BD`, two keys apart in the source became one, and the verifier (which
//! read both sides the same way) said the copy was the source's. Now the bytes are
//! carried as they are to SQLite (keys, FK columns, a subset's key sets), and refused
//! on PostgreSQL and MariaDB (whose text holds characters only), naming table, row and
//! column, before anything is written.
//!
//! F2: a MariaDB TIME is a duration; PostgreSQL's `time` is a time of day. A value
//! outside 00:00:00..24:00:00 was refused with PostgreSQL's own error ("time zone
//! displacement out of range"); now the refusal says what it is, and the plan says so
//! of the column.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

/// Keys `61 FF` and `61 FE` (two keys in SQLite, one text each once decoded with
/// U+FFFD), a child of each, a plain key, and non-key columns holding a lone lead byte
/// (`C3`) and a cut three-byte sequence (`E2 82`).
const NOT_UTF8: &str = "CREATE TABLE p (k TEXT PRIMARY KEY, v INT);
     CREATE TABLE c (id INTEGER PRIMARY KEY, pk TEXT REFERENCES p (k));
     CREATE TABLE n (id INTEGER PRIMARY KEY, t TEXT);
     INSERT INTO p VALUES (CAST(x'61ff' AS TEXT), 1), (CAST(x'61fe' AS TEXT), 2), ('b', 3);
     INSERT INTO c VALUES (1, CAST(x'61ff' AS TEXT)), (2, CAST(x'61fe' AS TEXT)), (3, 'b');
     INSERT INTO n VALUES (1, CAST(x'c3' AS TEXT)), (2, CAST(x'e282' AS TEXT)), (3, 'ok');";

fn owned(rows: &[&str]) -> Vec<Vec<Option<String>>> {
    rows.iter().map(|r| vec![Some(r.to_string())]).collect()
}

/// Each table's values as `hex:typeof`, in key order: what SQLite holds, byte for byte.
fn held(db: &TestDb) -> [Vec<Vec<Option<String>>>; 3] {
    [
        db.query("SELECT hex(k) || ':' || typeof(k) || ':' || v FROM p ORDER BY k"),
        db.query("SELECT id || ':' || hex(pk) || ':' || typeof(pk) FROM c ORDER BY id"),
        db.query("SELECT id || ':' || hex(t) || ':' || typeof(t) FROM n ORDER BY id"),
    ]
}

fn rejected(job: &str) -> String {
    let err = sync(job).expect_err("the job is refused");
    // A rejected row: exit code 1 (tether-cli's exit.rs).
    assert!(matches!(err, tether_sync::SyncError::Rejected { .. }), "{err:?}");
    err.to_string()
}

/// SQLite to SQLite keeps the bytes of every such text, in keys, FK columns and other
/// columns, as TEXT; both keys stay; the copy verifies, and a re-run with `skip` finds
/// every row there (the keys match byte for byte) and writes none.
#[test]
fn sqlite_text_that_is_not_utf8_is_copied_byte_for_byte_to_sqlite() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(NOT_UTF8);
    let dest = TestDb::create(Engine::Sqlite);
    let report = sync(&job(&src, &[&dest], "")).expect("SQLite holds the bytes");
    assert!(report.ok, "{report:?}");
    let expected = [
        owned(&["61FE:text:2", "61FF:text:1", "62:text:3"]),
        owned(&["1:61FF:text", "2:61FE:text", "3:62:text"]),
        owned(&["1:C3:text", "2:E282:text", "3:6F6B:text"]),
    ];
    assert_eq!(held(&dest), expected);
    assert_eq!(held(&src), expected, "the source's own");
    assert!(dest.query("PRAGMA foreign_key_check").is_empty());

    // Again, keeping the rows there: none is written twice, none differs.
    let again = job(&src, &[&dest], "").replace("truncate = true", "on_conflict = \"skip\"");
    let report = sync(&again).expect("a re-run");
    assert!(report.ok, "{report:?}");
    assert_eq!(held(&dest), expected);
}

/// A subset reads the parents of its rows by their keys: a key of such bytes finds its
/// parent (its literal is the same bytes as TEXT, not replacement characters).
#[test]
fn a_subset_follows_keys_that_are_not_utf8() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(NOT_UTF8);
    let dest = TestDb::create(Engine::Sqlite);
    let extra = "[[subset.targets]]\ntable = \"c\"\nwhere = \"id = 2\"\n";
    let report = sync(&job(&src, &[&dest], extra)).expect("the subset");
    assert!(report.ok, "{report:?}");
    let [p, c, _] = held(&dest);
    assert_eq!(p, owned(&["61FE:text:2"]));
    assert_eq!(c, owned(&["2:61FE:text"]));

    let dest = TestDb::create(Engine::Sqlite);
    let extra = "[subset]\nfollow_children = true\n[[subset.targets]]\ntable = \"p\"\nwhere = \"v = 1\"\n";
    let report = sync(&job(&src, &[&dest], extra)).expect("the subset");
    assert!(report.ok, "{report:?}");
    let [p, c, _] = held(&dest);
    assert_eq!(p, owned(&["61FF:text:1"]));
    assert_eq!(c, owned(&["1:61FF:text"]));
}

/// PostgreSQL and MariaDB text hold characters only: a key of such bytes is refused
/// naming the table, the row (its key as SQLite spells the same text) and the column,
/// and so is a non-key column; nothing is written (the tables the run created are
/// gone).
#[test]
fn text_that_is_not_utf8_is_refused_by_postgresql_and_mariadb_naming_the_row() {
    let keys = TestDb::create(Engine::Sqlite);
    keys.exec(
        "CREATE TABLE p (k TEXT PRIMARY KEY, v INT);
         INSERT INTO p VALUES ('a', 0), (CAST(x'61ff' AS TEXT), 1);",
    );
    let values = TestDb::create(Engine::Sqlite);
    values.exec(
        "CREATE TABLE n (id INTEGER PRIMARY KEY, t TEXT);
         INSERT INTO n VALUES (1, 'ok'), (2, CAST(x'e282' AS TEXT));",
    );
    for (engine, name) in [(Engine::Postgres, "PostgreSQL"), (Engine::Mysql, "MariaDB/MySQL")] {
        let dest = TestDb::create(engine);
        let err = rejected(&job(&keys, &[&dest], ""));
        let expected = format!(
            "table p: row (k)=(CAST(x'61ff' AS TEXT)) was rejected: its k is text whose bytes are not UTF-8 \
             (CAST(x'61ff' AS TEXT)), which {name} text cannot hold: it holds characters, and these bytes are \
             none (replacement characters would store another text, and could make two keys one). A SQLite \
             destination keeps the bytes as they are; correct the source's encoding, or transform the value ("
        );
        assert!(err.contains(&expected), "{engine:?}: {err}");

        let err = rejected(&job(&values, &[&dest], ""));
        let expected = format!(
            "table n: row (id)=(2) was rejected: its t is text whose bytes are not UTF-8 (CAST(x'e282' AS \
             TEXT)), which {name} text cannot hold"
        );
        assert!(err.contains(&expected), "{engine:?}: {err}");

        let tables = match engine {
            Engine::Postgres => "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            _ => "SELECT count(*) FROM information_schema.tables WHERE table_schema = database()",
        };
        assert_eq!(one(&dest, tables), "0", "{engine:?}: nothing written");
    }

    // Into a table that is there, with rows written before: the batch is refused before
    // it is written, the rows there as they were.
    let pg = TestDb::create(Engine::Postgres);
    pg.exec("CREATE TABLE n (id int PRIMARY KEY, t text); INSERT INTO n VALUES (9, 'there');");
    let err = rejected(&job(&values, &[&pg], "").replace("truncate = true", "on_conflict = \"skip\""));
    assert!(
        err.contains("row (id)=(2) was rejected: its t is text whose bytes are not UTF-8"),
        "{err}"
    );
    assert_eq!(
        one(&pg, "SELECT string_agg(id || ':' || t, ',' ORDER BY id) FROM n"),
        "9:there"
    );
}

/// F2: MariaDB TIME values outside a time of day are refused on PostgreSQL `time` with
/// what they are (negative, past 24 hours, the type's own ends), nothing written; the
/// values a time of day holds (24:00:00 included) are copied exactly, and the plan says
/// what the mapping cannot keep.
#[test]
fn a_mariadb_time_outside_a_time_of_day_is_refused_on_postgresql_saying_why() {
    for bad in ["-01:00:00", "30:00:00", "-838:59:59", "838:59:59", "24:00:01"] {
        let src = TestDb::create(Engine::Mysql);
        src.exec(&format!(
            "CREATE TABLE t (id int PRIMARY KEY, d time);
             INSERT INTO t VALUES (1, '10:00:00'), (2, '{bad}');"
        ));
        let pg = TestDb::create(Engine::Postgres);
        let err = rejected(&job(&src, &[&pg], ""));
        let expected = format!(
            "table t: row (id)=(2) was rejected: its d is the MariaDB/MySQL TIME '{bad}': a TIME is a duration \
             (-838:59:59 to 838:59:59), which a PostgreSQL time column cannot hold outside 00:00:00 to 24:00:00 \
             (it holds a time of day); an interval column would (create the table beforehand with one), or \
             transform the value ("
        );
        assert!(err.contains(&expected), "{bad}: {err}");
        assert_eq!(
            one(&pg, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
            "0",
            "{bad}: nothing written"
        );
    }

    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE t (id int PRIMARY KEY, d time, f time(3));
         INSERT INTO t VALUES (1, '00:00:00', '23:59:59.999'), (2, '24:00:00', '24:00:00.000'), (3, '10:30:00', NULL);",
    );
    let pg = TestDb::create(Engine::Postgres);
    let text = job(&src, &[&pg], "");
    let items = items(&text);
    let why = "a MariaDB/MySQL TIME is a duration (-838:59:59 to 838:59:59), a postgres time a time of day \
               (00:00:00 to 24:00:00): a value outside that is refused, naming its row (an interval column would \
               hold it)";
    for column in ["t.d", "t.f"] {
        assert_eq!(item(&items, "column", column).reason.as_deref(), Some(why), "{column}");
    }
    let report = sync(&text).expect("times of day");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        one(
            &pg,
            "SELECT string_agg(id || '=' || d::text || '/' || coalesce(f::text, '-'), ',' ORDER BY id) FROM t"
        ),
        "1=00:00:00/23:59:59.999,2=24:00:00/24:00:00,3=10:30:00/-"
    );
}
