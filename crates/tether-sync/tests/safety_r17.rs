//! Seventeenth review C: a SQLite destination that is a file SQLite keeps beside the
//! source (its `-journal`, `-wal` or `-shm`), or the reverse, was copied into and
//! "verified", then deleted by the next connection to the source: now refused before
//! anything is written, naming both paths. And `tether plan` on MariaDB left out a
//! foreign key into another database of the server, which the sync creates from the
//! source's SHOW CREATE TABLE: now listed as created, saying where it points.

mod common;

use common::*;
use tether_sync::schema_plan::Action;
use tether_testkit::{TestDb, TestEngine as Engine};

/// A SQLite database at `path` with a parent and a child row.
fn sqlite_source(path: &std::path::Path) {
    tether_testkit::exec_url(
        Engine::Sqlite,
        &format!("sqlite://{}", path.display()),
        "CREATE TABLE parent(id INTEGER PRIMARY KEY, name TEXT NOT NULL);
         CREATE TABLE child(id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id));
         INSERT INTO parent VALUES (1, 'a'), (2, 'b'); INSERT INTO child VALUES (1, 1), (2, 2);",
    );
}

fn one_destination(source: &std::path::Path, dest: &std::path::Path) -> String {
    format!(
        "source = \"sqlite://{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"sqlite://{}\"\n",
        source.display(),
        dest.display()
    )
}

/// The names in `dir`, sorted.
fn files(dir: &std::path::Path) -> Vec<String> {
    let mut left: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    left
}

/// F1: destinations `src.db-journal`, `src.db-wal`, `src.db-shm` and a symlink to the
/// journal (not there yet) are refused, naming the destination, the source and which
/// file of the source it is; nothing is created beside the source.
#[test]
fn a_destination_that_is_a_file_sqlite_keeps_beside_the_source_is_refused() {
    let dir = tether_testkit::ScratchDir::new("r17c_side");
    let real = dir.canonicalize().expect("canonical");
    let src = dir.join("src.db");
    sqlite_source(&src);
    std::os::unix::fs::symlink("src.db-journal", dir.join("link.db")).expect("symlink");
    let cases = [
        ("src.db-journal", "src.db-journal", "rollback journal"),
        ("src.db-wal", "src.db-wal", "write-ahead log"),
        ("src.db-shm", "src.db-shm", "shared-memory file"),
        ("link.db", "src.db-journal", "rollback journal"),
        ("sub/../src.db-wal", "src.db-wal", "write-ahead log"),
    ];
    for (dest, file, what) in cases {
        let dest = dir.join(dest);
        let err = sync(&one_destination(&src, &dest))
            .expect_err("a file of the source")
            .to_string();
        assert_eq!(
            err,
            format!(
                "destination #1 sqlite://{} and the source sqlite://{} overlap: the SQLite file {} is the {what} of \
                 the SQLite database {}; refusing to write into it (nothing was written)",
                dest.display(),
                src.display(),
                real.join(file).display(),
                real.join("src.db").display()
            )
        );
    }
    assert_eq!(files(&dir), ["link.db", "src.db"]);
    assert_eq!(
        tether_testkit::query_url(
            Engine::Sqlite,
            &format!("sqlite://{}", src.display()),
            "SELECT count(*) FROM child"
        ),
        [[Some("2".to_string())]]
    );
}

/// F1, the other way round: the source is a database stored as `x.db-wal`; a destination
/// `x.db` would take that file for its own write-ahead log.
#[test]
fn a_destination_whose_own_wal_would_be_the_source_is_refused() {
    let dir = tether_testkit::ScratchDir::new("r17c_reverse");
    let real = dir.canonicalize().expect("canonical");
    let src = dir.join("x.db-wal");
    sqlite_source(&src);
    let dest = dir.join("x.db");
    let err = sync(&one_destination(&src, &dest))
        .expect_err("the source is its WAL")
        .to_string();
    assert_eq!(
        err,
        format!(
            "destination #1 sqlite://{} and the source sqlite://{} overlap: the SQLite file {} is the write-ahead \
             log of the SQLite database {}; refusing to write into it (nothing was written)",
            dest.display(),
            src.display(),
            real.join("x.db-wal").display(),
            real.join("x.db").display()
        )
    );
    assert_eq!(files(&dir), ["x.db-wal"]);
}

/// F1, between destinations: the second is the first one's rollback journal.
#[test]
fn a_destination_that_is_another_destinations_journal_is_refused() {
    let dir = tether_testkit::ScratchDir::new("r17c_two");
    let real = dir.canonicalize().expect("canonical");
    let src = dir.join("src.db");
    sqlite_source(&src);
    let (first, second) = (dir.join("copy.db"), dir.join("copy.db-journal"));
    let job = format!(
        "{}[[destinations]]\nurl = \"sqlite://{}\"\n",
        one_destination(&src, &first),
        second.display()
    );
    assert_eq!(
        sync(&job).expect_err("the first one's journal").to_string(),
        format!(
            "destination #2 sqlite://{} and destination #1 sqlite://{} overlap: the SQLite file {} is the rollback \
             journal of the SQLite database {}; refusing to write into it (nothing was written)",
            second.display(),
            first.display(),
            real.join("copy.db-journal").display(),
            real.join("copy.db").display()
        )
    );
    assert_eq!(files(&dir), ["src.db"]);
}

/// F2: `item.cat_id` references `cat` of a third database, ON DELETE CASCADE. The plan
/// lists the key as created, where it points and its actions; the sync creates just
/// that (the destination's key references the third database's `cat`).
#[test]
fn the_plan_lists_a_foreign_key_into_another_database_that_the_sync_creates() {
    let other = TestDb::create(Engine::Mysql);
    other.exec("CREATE TABLE cat (id int PRIMARY KEY) ENGINE = InnoDB; INSERT INTO cat VALUES (1);");
    let src = TestDb::create(Engine::Mysql);
    src.exec(&format!(
        "CREATE TABLE item (id int PRIMARY KEY, cat_id int, FOREIGN KEY (cat_id) REFERENCES `{}`.cat (id) \
         ON DELETE CASCADE) ENGINE = InnoDB; INSERT INTO item VALUES (1, 1);",
        other.name
    ));
    let dest = TestDb::create(Engine::Mysql);
    let job = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\n",
        src.url, dest.url
    );
    let plan = items(&job);
    let fk = item(&plan, "foreign key", "item.item_ibfk_1");
    assert_eq!(fk.action, Action::Created);
    assert_eq!(
        fk.reason.as_deref(),
        Some(
            format!(
                "it references {0}.cat (id), a table of another database: the copy's key references {0}.cat on the \
                 destination's server, ON DELETE CASCADE ON UPDATE RESTRICT, as the source's SHOW CREATE TABLE has it",
                other.name
            )
            .as_str()
        )
    );
    sync(&job).expect("sync");
    assert_eq!(
        dest.query(
            "SELECT CONSTRAINT_NAME, UNIQUE_CONSTRAINT_SCHEMA, REFERENCED_TABLE_NAME, DELETE_RULE \
             FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()"
        ),
        [[
            Some("item_ibfk_1".to_string()),
            Some(other.name.clone()),
            Some("cat".to_string()),
            Some("CASCADE".to_string())
        ]]
    );
    // The third database can be dropped with the others.
    dest.exec("DROP TABLE item");
    src.exec("DROP TABLE item");
}

/// The optional note: a PostgreSQL destination URL without a database reaches the
/// database named after its user. Plan and sync say which, in one line. (A role named
/// after a scratch database stands in for `postgres`, whose maintenance database
/// the test must not write into.)
#[test]
fn a_postgres_destination_without_a_database_name_says_which_database_it_reached() {
    let dir = tether_testkit::ScratchDir::new("r17c_nodb");
    let src = dir.join("src.db");
    sqlite_source(&src);
    let dest = TestDb::create(Engine::Postgres);
    dest.exec(&format!(
        "DROP ROLE IF EXISTS \"{0}\"; CREATE ROLE \"{0}\" LOGIN; GRANT ALL ON SCHEMA public TO \"{0}\";",
        dest.name
    ));
    let url = format!("postgres://{}@127.0.0.1:5432", dest.name);
    let job = format!(
        "source = \"sqlite://{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{url}\"\n",
        src.display()
    );
    let note = format!(
        "destination #1 {url}/{0}: the URL names no database; PostgreSQL's default, the user's name, is used: \
         database `{0}` (write it after the port to choose another)",
        dest.name
    );
    let parsed = tether_sync::Job::parse("job.toml", &job, &|_| None).expect("job");
    let plan = tether_testkit::block_on(tether_sync::prepare(&parsed))
        .expect("plan")
        .plan;
    assert_eq!(plan.notes, std::slice::from_ref(&note));
    assert!(plan.to_text().contains(&format!("\nnote: {note}\n")));
    let report = sync(&job).expect("sync");
    assert!(report.warnings.contains(&note), "{:?}", report.warnings);
    assert_eq!(rows(&dest, "child", "id"), [["1", "1"], ["2", "2"]]);
    // Named, the same database gets no note.
    let named = job.replace(&url, &format!("{url}/{}", dest.name));
    let parsed = tether_sync::Job::parse("job.toml", &named, &|_| None).expect("job");
    let plan = tether_testkit::block_on(tether_sync::prepare(&parsed))
        .expect("plan")
        .plan;
    assert!(plan.notes.is_empty());
    dest.exec(&format!(
        "DROP TABLE child, parent; REVOKE ALL ON SCHEMA public FROM \"{0}\";",
        dest.name
    ));
    tether_testkit::exec_url(
        Engine::Postgres,
        &tether_testkit::pg_admin_url(),
        &format!("DROP ROLE \"{}\"", dest.name),
    );
}
