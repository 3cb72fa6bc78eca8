//! Fifteenth review L, finding 2: the `truncate = true` checks for tables outside the
//! job whose foreign keys reference a job table compared table names without case.
//! On a MariaDB server with `lower_case_table_names = 0` (Linux's default, and the
//! shared test server's: asserted first) `users` and `Users` are two tables, as
//! `users` and `"Users"` are in PostgreSQL: an FK onto `Users`, which the job does not
//! empty, was taken for one onto the job's `users` and the run refused. Each test
//! replays the reviewer's scenario and asserts the rows every database keeps; an FK
//! onto the job's own `users` is still refused, with the exact message.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

fn count(db: &TestDb, sql: &str) -> i64 {
    norm(&db.query(sql)[0][0]).parse().expect("a count")
}

/// The tests below need a MariaDB where table names are case-sensitive: with
/// `lower_case_table_names` 1 or 2 `Users` and `users` are one table (MariaDB
/// refuses to create the second), and the two-table scenario cannot be built.
fn assume_case_sensitive_names(db: &TestDb) {
    assert_eq!(
        one(db, "SELECT @@lower_case_table_names"),
        "0",
        "these tests assume a MariaDB server with lower_case_table_names = 0"
    );
}

/// The job: `users` of `src` into `dest`, emptied first.
fn users_job(src: &TestDb, dest: &TestDb) -> String {
    format!(
        "source = \"{}\"\nseed = \"x\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\ntruncate = true\n",
        src.url, dest.url
    )
}

/// The source: `users` holding id 1. The destination: `users` (the job's) and `Users`
/// (not the job's) holding id 7.
fn users_and_capital_users(engine: Engine) -> (TestDb, TestDb) {
    let src = TestDb::create(engine);
    src.exec("CREATE TABLE users (id INT PRIMARY KEY); INSERT INTO users VALUES (1);");
    let dest = TestDb::create(engine);
    let capital = match engine {
        Engine::Postgres => "\"Users\"",
        _ => "Users",
    };
    dest.exec(&format!(
        "CREATE TABLE users (id INT PRIMARY KEY); CREATE TABLE {capital} (id INT PRIMARY KEY);
         INSERT INTO {capital} VALUES (7);"
    ));
    (src, dest)
}

/// The finding's cross-database shape: `audit` of another database references
/// `dest.Users`, which the job does not empty: the run goes ahead, `Users` and
/// `audit` keep their rows. Then an FK onto the job's `users` holding a row is
/// refused as before, naming it, and nothing is written.
#[test]
fn an_fk_of_another_database_onto_a_table_differing_in_case_is_not_the_jobs() {
    let (src, dest) = users_and_capital_users(Engine::Mysql);
    assume_case_sensitive_names(&dest);
    let other = TestDb::create(Engine::Mysql);
    other.exec(&format!(
        "CREATE TABLE audit (id INT PRIMARY KEY, uid INT,
           CONSTRAINT audit_ibfk_1 FOREIGN KEY (uid) REFERENCES {}.Users (id)) ENGINE = InnoDB;
         INSERT INTO audit VALUES (1, 7);",
        dest.name
    ));
    let job = users_job(&src, &dest);
    let report = sync(&job).expect("audit references Users, not the job's users");
    assert!(report.ok, "{report:?}");
    assert_eq!(rows(&dest, "users", "id"), [["1"]]);
    assert_eq!(rows(&dest, "Users", "id"), [["7"]]);
    assert_eq!(rows(&other, "audit", "id"), [["1", "7"]]);

    // An FK onto the job's `users`, from a table holding a row: refused.
    dest.exec("INSERT INTO users VALUES (9)");
    other.exec(&format!(
        "CREATE TABLE audit2 (id INT PRIMARY KEY, uid INT,
           CONSTRAINT audit2_fk FOREIGN KEY (uid) REFERENCES {}.users (id)) ENGINE = InnoDB;
         INSERT INTO audit2 VALUES (1, 9);",
        dest.name
    ));
    let err = sync(&job).expect_err("audit2 references users").to_string();
    assert_eq!(
        err,
        format!(
            "{}: truncate = true would empty users, which rows of {o}.audit2 (a table of another database of the \
             server) reference through foreign key audit2_fk; the job empties its tables with the checks off, so \
             those rows would be left without their parent (no ON DELETE action runs). Empty {o}.audit2 first, \
             drop its foreign key, or set truncate = false (nothing was written)",
            dest.db_url(),
            o = other.name
        )
    );
    assert_eq!(rows(&dest, "users", "id"), [["1"], ["9"]]);
}

/// The same in the destination's own database (the older check): `audit` references
/// `Users`, not the job's `users`: the run goes ahead; an FK onto `users` holding a
/// row is refused, naming `users`.
#[test]
fn an_fk_of_the_same_database_onto_a_table_differing_in_case_is_not_the_jobs() {
    let (src, dest) = users_and_capital_users(Engine::Mysql);
    assume_case_sensitive_names(&dest);
    dest.exec(
        "CREATE TABLE audit (id INT PRIMARY KEY, uid INT,
           CONSTRAINT audit_fk FOREIGN KEY (uid) REFERENCES Users (id)) ENGINE = InnoDB;
         INSERT INTO audit VALUES (1, 7);",
    );
    let job = users_job(&src, &dest);
    let report = sync(&job).expect("audit references Users, not the job's users");
    assert!(report.ok, "{report:?}");
    assert_eq!(rows(&dest, "users", "id"), [["1"]]);
    assert_eq!(rows(&dest, "Users", "id"), [["7"]]);
    assert_eq!(rows(&dest, "audit", "id"), [["1", "7"]]);

    dest.exec(
        "CREATE TABLE audit2 (id INT PRIMARY KEY, uid INT,
           CONSTRAINT audit2_fk FOREIGN KEY (uid) REFERENCES users (id)) ENGINE = InnoDB;
         INSERT INTO audit2 VALUES (1, 1);",
    );
    let err = sync(&job).expect_err("audit2 references users").to_string();
    assert_eq!(
        err,
        format!(
            "{}: truncate = true would empty users, which rows of audit2 reference through foreign key audit2_fk; \
             audit2 is not a table of the job, so those rows would be left without their parent. Add audit2 to \
             the job, empty it first, or set truncate = false",
            dest.db_url()
        )
    );
    assert_eq!(count(&dest, "SELECT count(*) FROM audit2"), 1);
}

/// PostgreSQL: quoted identifiers are case-sensitive, `users` and `"Users"` two
/// tables: an FK onto `"Users"` is not one onto the job's `users`.
#[test]
fn a_postgres_fk_onto_a_quoted_table_differing_in_case_is_not_the_jobs() {
    let (src, dest) = users_and_capital_users(Engine::Postgres);
    dest.exec(
        "CREATE TABLE audit (id INT PRIMARY KEY, uid INT,
           CONSTRAINT audit_fk FOREIGN KEY (uid) REFERENCES \"Users\" (id));
         INSERT INTO audit VALUES (1, 7);",
    );
    let job = users_job(&src, &dest);
    let report = sync(&job).expect("audit references \"Users\", not the job's users");
    assert!(report.ok, "{report:?}");
    assert_eq!(rows(&dest, "users", "id"), [["1"]]);
    assert_eq!(count(&dest, "SELECT count(*) FROM \"Users\" WHERE id = 7"), 1);
    assert_eq!(count(&dest, "SELECT count(*) FROM audit WHERE uid = 7"), 1);
}

/// The relation check read names the same way: a view `Users` beside the job's table
/// `users` is not the job's (it was refused as "users exists there as a view"); a
/// view that is the job's `users` still is.
#[test]
fn a_view_differing_in_case_from_a_job_table_is_not_the_jobs() {
    let src = TestDb::create(Engine::Mysql);
    src.exec("CREATE TABLE users (id INT PRIMARY KEY); INSERT INTO users VALUES (1);");
    let dest = TestDb::create(Engine::Mysql);
    assume_case_sensitive_names(&dest);
    dest.exec("CREATE TABLE users (id INT PRIMARY KEY); CREATE VIEW Users AS SELECT 7 AS id;");
    let job = users_job(&src, &dest);
    let report = sync(&job).expect("the view Users is not the job's users");
    assert!(report.ok, "{report:?}");
    assert_eq!(rows(&dest, "users", "id"), [["1"]]);
    assert_eq!(rows(&dest, "Users", "id"), [["7"]]);

    let other = TestDb::create(Engine::Mysql);
    other.exec("CREATE VIEW users AS SELECT 7 AS id;");
    let job = users_job(&src, &other);
    let err = sync(&job).expect_err("users is a view there").to_string();
    assert_eq!(
        err,
        format!(
            "{}: users, a table of the job, exists there as a view, not as a table: Tether writes only into \
             tables that store their own rows. Drop or rename it there, or leave the table out of the job \
             (nothing was written)",
            other.db_url()
        )
    );
}
