//! Twenty-fifth review (r25e F1): a re-run with `on_conflict = "update"` that would
//! change a unique (non-primary) key that destination rows reference through an FK
//! without an ON UPDATE action is refused before anything is written, naming the FK and
//! the row. From a PostgreSQL source it was not: the destination's FK names its parent
//! as the destination does (`up` on SQLite and MariaDB), the job's tables are keyed by
//! the source's names (`public.up`), so the check found no parent and skipped the FK;
//! the load failed midway (SQLite's bare "FOREIGN KEY constraint failed", MariaDB's raw
//! 1451), earlier tables written. The same held the other way round (a SQLite source's
//! `up` is `public.up` on a PostgreSQL destination loading row by row), and for the FK
//! SQLite's bare message is explained with. Each test builds the reviewer's schema on
//! the real servers and asserts the rows the destination keeps. Also the review's LOW:
//! a MariaDB ENUM holding '' copied to SQLite was refused with the bare "CHECK
//! constraint failed: m_e_check".

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

/// `note` comes first in load order and changes too: it keeps its old row when the run
/// is refused, so nothing was written.
const DDL: &str = "CREATE TABLE note (id int PRIMARY KEY, body varchar(20));
     CREATE TABLE up (id int PRIMARY KEY, code varchar(20) NOT NULL UNIQUE, label varchar(20));
     CREATE TABLE uc (id int PRIMARY KEY, pcode varchar(20),
       CONSTRAINT uc_pcode_fkey FOREIGN KEY (pcode) REFERENCES up (code));";

const DATA: &str = "INSERT INTO note VALUES (1, 'old'); INSERT INTO up VALUES (1, 'A', 'a'), (2, 'B', 'b');
     INSERT INTO uc VALUES (10, 'A'), (20, 'B');";

fn job(src: &TestDb, dest_url: &str) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{dest_url}\"\non_conflict = \"update\"\n",
        src.url
    )
}

/// The source's rows, changed: `up` 1's code 'A' becomes 'Z', `uc` 10 follows it.
fn change(src: &TestDb) {
    match src.engine {
        Engine::Postgres => src.exec(
            "UPDATE note SET body = 'new';
             ALTER TABLE uc DROP CONSTRAINT uc_pcode_fkey; UPDATE up SET code = 'Z' WHERE id = 1;
             UPDATE uc SET pcode = 'Z' WHERE id = 10;
             ALTER TABLE uc ADD CONSTRAINT uc_pcode_fkey FOREIGN KEY (pcode) REFERENCES up (code);",
        ),
        _ => src.exec(
            "PRAGMA foreign_keys = OFF; UPDATE note SET body = 'new'; UPDATE up SET code = 'Z' WHERE id = 1;
             UPDATE uc SET pcode = 'Z' WHERE id = 10;",
        ),
    }
}

fn now(db: &TestDb) -> [Vec<Vec<String>>; 3] {
    [rows(db, "note", "id"), rows(db, "up", "id"), rows(db, "uc", "id")]
}

fn before() -> [Vec<Vec<String>>; 3] {
    let r = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    [
        vec![r(&["1", "old"])],
        vec![r(&["1", "A", "a"]), r(&["2", "B", "b"])],
        vec![r(&["10", "A"]), r(&["20", "B"])],
    ]
}

fn after() -> [Vec<Vec<String>>; 3] {
    let r = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    [
        vec![r(&["1", "new"])],
        vec![r(&["1", "Z", "a"]), r(&["2", "B", "b"])],
        vec![r(&["10", "Z"]), r(&["20", "B"])],
    ]
}

const REFUSED: &str = "on_conflict = \"update\" would change up's key (code) in row (id)=(1) from the value rows of \
                       uc reference through foreign key uc_pcode_fkey";

/// Copies `src` into the destination (first run), changes the source, runs again:
/// refused before anything is written, naming FK uc_pcode_fkey and row (id)=(1); the
/// destination (`dest`, read as its owner) keeps every row it had.
fn assert_refused(src: &TestDb, dest: &TestDb, url: &str) {
    let what = format!("{} -> {}", src.engine, dest.engine);
    let report = sync(&job(src, &dest.url)).unwrap_or_else(|e| panic!("{what}: first run: {e}"));
    assert!(report.ok, "{what}: {report:?}");
    assert_eq!(now(dest), before(), "{what}");
    change(src);
    let e = match sync(&job(src, url)) {
        Ok(report) => panic!("{what}: not refused: {report:?}"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains(REFUSED), "{what}: {e}");
    assert!(e.contains("Nothing was written"), "{what}: {e}");
    assert_eq!(now(dest), before(), "{what}: {e}");
}

/// The reviewer's scenario, PostgreSQL source into SQLite and MariaDB (each checks FKs
/// row by row): refused before anything is written, `note` keeping 'old'; with
/// `truncate = true` the destination ends with the source's rows.
#[test]
fn a_postgresql_source_changing_a_referenced_unique_key_is_refused_before_writing() {
    for engine in [Engine::Sqlite, Engine::Mysql] {
        let src = TestDb::create(Engine::Postgres);
        src.exec(DDL);
        src.exec(DATA);
        let dest = TestDb::create(engine);
        assert_refused(&src, &dest, &dest.url);
        let truncating = job(&src, &dest.url) + "truncate = true\n";
        let report = sync(&truncating).unwrap_or_else(|e| panic!("{engine}: truncate: {e}"));
        assert!(report.ok, "{engine}: {report:?}");
        assert_eq!(now(&dest), after(), "{engine}");
    }
}

/// A login that may write the destination's tables but does not own them: PostgreSQL
/// refuses it `ALTER TABLE ... DROP CONSTRAINT`, so the destination loads in batches,
/// FKs checked row by row. Dropped again with the value (before the database).
struct Login<'a> {
    dest: &'a TestDb,
    role: String,
    url: String,
}

impl<'a> Login<'a> {
    fn writing(dest: &'a TestDb) -> Login<'a> {
        let role = format!("w25e_{}", dest.name.trim_start_matches("tether_"));
        dest.exec(&format!(
            "CREATE ROLE {role} LOGIN; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};"
        ));
        let url = dest.url.replacen("://postgres@", &format!("://{role}@"), 1);
        Login { dest, role, url }
    }
}

impl Drop for Login<'_> {
    fn drop(&mut self) {
        let sql = format!("DROP OWNED BY {0}; DROP ROLE {0};", self.role);
        // (Not a second panic while a failed assertion unwinds.)
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.dest.exec(&sql)));
    }
}

/// PostgreSQL destinations. Loading in one transaction (FKs dropped, created again and
/// validated before COMMIT), the re-run follows the change: `up` and `uc` both hold 'Z'.
/// Loading in batches (a login that does not own the tables), the re-run is refused
/// before anything is written, from a PostgreSQL source (the names agree) and from a
/// SQLite one (its `up` is the destination's `public.up`: the FK was skipped before).
#[test]
fn a_postgresql_destination_follows_the_change_in_one_transaction_and_refuses_it_in_batches() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(DDL);
    src.exec(DATA);
    let dest = TestDb::create(Engine::Postgres);
    let report = sync(&job(&src, &dest.url)).unwrap_or_else(|e| panic!("first run: {e}"));
    assert!(report.ok, "{report:?}");
    change(&src);
    let report = sync(&job(&src, &dest.url)).unwrap_or_else(|e| panic!("one transaction: {e}"));
    assert!(report.ok, "{report:?}");
    assert_eq!(now(&dest), after());

    for source in [Engine::Postgres, Engine::Sqlite] {
        let src = TestDb::create(source);
        src.exec(DDL);
        src.exec(DATA);
        let dest = TestDb::create(Engine::Postgres);
        // The first run creates the tables (owned by the admin login), then a login
        // that does not own them runs again.
        let report = sync(&job(&src, &dest.url)).unwrap_or_else(|e| panic!("{source}: first run: {e}"));
        assert!(report.ok, "{source}: {report:?}");
        let login = Login::writing(&dest);
        assert_refused(&src, &dest, &login.url);
    }
}

/// SQLite's bare "FOREIGN KEY constraint failed" is followed by the FK the rejected row
/// breaks: a destination `uc` declaring uc_pcode_fkey that the PostgreSQL source does
/// not gets a row whose parent is missing. The FK was not found from a PostgreSQL source.
#[test]
fn sqlite_names_the_foreign_key_a_row_from_a_postgresql_source_breaks() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE up (id int PRIMARY KEY, code varchar(20) NOT NULL UNIQUE, label varchar(20));
         CREATE TABLE uc (id int PRIMARY KEY, pcode varchar(20));
         INSERT INTO up VALUES (1, 'A', 'a'); INSERT INTO uc VALUES (10, 'P-404');",
    );
    let dest = TestDb::create(Engine::Sqlite);
    dest.exec(
        "CREATE TABLE up (id int PRIMARY KEY, code varchar(20) NOT NULL UNIQUE, label varchar(20));
         CREATE TABLE uc (id int PRIMARY KEY, pcode varchar(20),
           CONSTRAINT uc_pcode_fkey FOREIGN KEY (pcode) REFERENCES up (code));",
    );
    let err = sync(&job(&src, &dest.url))
        .expect_err("row 10 has no parent")
        .to_string();
    assert!(
        err.contains(
            "table uc: row (id)=(10) was rejected: FOREIGN KEY constraint failed: foreign key uc_pcode_fkey \
             (pcode) references up (code), where the destination holds no row with ('P-404')"
        ),
        "{err}"
    );
}

/// The LOW: a MariaDB ENUM holding '' (index 0, stored for a value it did not take with
/// strict mode off) is refused by the CHECK of its labels its copy gets on SQLite and
/// PostgreSQL; the message says which column, value (where SQLite's row was kept) and
/// source type, and why, and nothing stays.
#[test]
fn a_mariadb_enum_holding_the_empty_value_is_refused_saying_why() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE m (id int PRIMARY KEY, e enum('a','b') NOT NULL);
         SET SESSION sql_mode = ''; INSERT INTO m VALUES (1, 'a'), (2, 'zz'), (3, 'b');",
    );
    assert_eq!(src.query("SELECT e FROM m WHERE id = 2"), [[Some(String::new())]]);
    let said = [
        (
            Engine::Sqlite,
            "CHECK constraint failed: m_e_check: column e holds ''",
            "SELECT name FROM sqlite_master",
        ),
        (
            Engine::Postgres,
            "violates check constraint \"m_e_check\" (Failing row contains (2, ).): column e holds a value",
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
        ),
    ];
    for (engine, server, tables) in said {
        let dest = TestDb::create(engine);
        let err = sync(&format!(
            "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\n",
            src.url, dest.url
        ))
        .expect_err("'' is no label")
        .to_string();
        assert!(err.contains("table m: row (id)=(2) was rejected: "), "{engine}: {err}");
        assert!(
            err.contains(&format!(
                "{server}, none of the labels of its source type enum('a','b') (MariaDB stores '', the ENUM's \
                 index 0, for a value the column did not take when strict mode was off), and the copy's CHECK \
                 m_e_check takes the labels only"
            )),
            "{engine}: {err}"
        );
        assert!(dest.query(tables).is_empty(), "{engine}: {err}");
    }
}
