//! Fifteenth review E (source and destination safety of `tether sync`): tables of other
//! MariaDB databases referencing a destination table the job empties; destination
//! relations whose rows live elsewhere (a MERGE table over the source's table, views,
//! PostgreSQL foreign tables); PostgreSQL rules `INSERT ... ON CONFLICT` refuses; an
//! interruption while the job's tables are being emptied; two destinations that are one
//! SQLite file not created yet. Each test replays the reviewer's scenario on the real
//! servers and asserts the refusal (or the message) and the rows every database keeps.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

fn count(db: &TestDb, sql: &str) -> i64 {
    norm(&db.query(sql)[0][0]).parse().expect("a count")
}

/// The reviewer's source: `parent` and `child` (referencing it), ids 1..=10.
fn parent_child(engine: Engine) -> TestDb {
    let src = TestDb::create(engine);
    let mut script = String::from(
        "CREATE TABLE parent (id int PRIMARY KEY, name varchar(20));
         CREATE TABLE child (id int PRIMARY KEY, pid int NOT NULL, v varchar(10),
           CONSTRAINT child_parent_fk FOREIGN KEY (pid) REFERENCES parent (id));",
    );
    for i in 1..=10 {
        script.push_str(&format!(
            "INSERT INTO parent VALUES ({i}, 'p{i}'); INSERT INTO child VALUES ({i}, {i}, 'v');"
        ));
    }
    src.exec(&script);
    src
}

/// The error `tether plan` gives for job `text` (prepare: what the plan reads).
fn plan_error(text: &str) -> String {
    let job = tether_sync::Job::parse("job.toml", text, &|_| None).expect("job");
    match tether_testkit::block_on(tether_sync::prepare(&job)) {
        Ok(_) => panic!("the plan went ahead"),
        Err(e) => e.to_string(),
    }
}

fn truncate_job(src: &TestDb, dest: &TestDb, extra: &str) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n{extra}\n[[destinations]]\nurl = \"{}\"\ntruncate = true\n\
         [tables]\ninclude = [\"parent\", \"child\"]\n",
        src.url, dest.url
    )
}

/// E1: InnoDB FKs cross databases. A table of another database referencing the
/// destination's `parent` (RESTRICT, and ON DELETE CASCADE) holding rows, or one of the
/// job's source database, is refused before anything is written, as a table outside the
/// job in the destination's own database is; once those tables hold no row the run
/// goes ahead. (Before: exit 0, "0 orphans", and 5 orphans in each outside table.)
#[test]
fn truncate_refuses_to_orphan_rows_of_tables_in_other_databases() {
    let src = parent_child(Engine::Mysql);
    let dest = TestDb::create(Engine::Mysql);
    let job = truncate_job(&src, &dest, "");
    assert!(sync(&job).expect("first copy").ok);
    let ext = TestDb::create(Engine::Mysql);
    let mut script = format!(
        "CREATE TABLE ext_restrict (id int PRIMARY KEY, pid int NOT NULL,
           CONSTRAINT ext_restrict_fk FOREIGN KEY (pid) REFERENCES {d}.parent (id)) ENGINE = InnoDB;
         CREATE TABLE ext_cascade (id int PRIMARY KEY, pid int NOT NULL,
           CONSTRAINT ext_cascade_fk FOREIGN KEY (pid) REFERENCES {d}.parent (id) ON DELETE CASCADE) ENGINE = InnoDB;",
        d = dest.name
    );
    for i in 1..=10 {
        script.push_str(&format!(
            "INSERT INTO ext_restrict VALUES ({i}, {i}); INSERT INTO ext_cascade VALUES ({i}, {i});"
        ));
    }
    ext.exec(&script);
    src.exec("DELETE FROM child WHERE pid <= 5; DELETE FROM parent WHERE id <= 5;");

    let err = sync(&job).expect_err("ext's rows would lose their parent").to_string();
    assert_eq!(
        err,
        format!(
            "{}: truncate = true would empty parent, which rows of {}.ext_cascade (a table of another database \
             of the server) reference through foreign key ext_cascade_fk; the job empties its tables with the \
             checks off, so those rows would be left without their parent (no ON DELETE action runs). Empty \
             {}.ext_cascade first, drop its foreign key, or set truncate = false (nothing was written)",
            dest.db_url(),
            ext.name,
            ext.name
        )
    );
    // Nothing was written: the destination keeps the first copy, the outside rows theirs.
    assert_eq!(count(&dest, "SELECT count(*) FROM parent"), 10);
    assert_eq!(count(&dest, "SELECT count(*) FROM child"), 10);
    assert_eq!(count(&ext, "SELECT count(*) FROM ext_cascade"), 10);
    let orphans = format!(
        "SELECT count(*) FROM ext_restrict e LEFT JOIN {}.parent p ON p.id = e.pid WHERE p.id IS NULL",
        dest.name
    );
    assert_eq!(count(&ext, &orphans), 0);

    // The RESTRICT one alone is refused the same way.
    ext.exec("DELETE FROM ext_cascade");
    let err = sync(&job)
        .expect_err("ext_restrict's rows would lose their parent")
        .to_string();
    assert!(
        err.contains(&format!(
            "which rows of {}.ext_restrict (a table of another database of the server) reference through foreign \
             key ext_restrict_fk",
            ext.name
        )),
        "{err}"
    );
    assert_eq!(count(&dest, "SELECT count(*) FROM parent"), 10);

    // A table of the job's source database referencing the destination: the same.
    ext.exec("DELETE FROM ext_restrict");
    src.exec(&format!(
        "CREATE TABLE src_ref (id int PRIMARY KEY, pid int,
           CONSTRAINT src_ref_fk FOREIGN KEY (pid) REFERENCES {}.parent (id)) ENGINE = InnoDB;
         INSERT INTO src_ref VALUES (1, NULL), (2, 3);",
        dest.name
    ));
    let err = sync(&job)
        .expect_err("the source's src_ref would lose a parent")
        .to_string();
    assert!(
        err.contains(&format!(
            "truncate = true would empty parent, which rows of {}.src_ref (a table of another database of the \
             server) reference through foreign key src_ref_fk",
            src.name
        )),
        "{err}"
    );
    assert_eq!(count(&dest, "SELECT count(*) FROM parent"), 10);

    // No row references the job's tables any more: the run goes ahead.
    src.exec("UPDATE src_ref SET pid = NULL");
    let report = sync(&job).expect("nothing outside references parent");
    assert!(report.ok, "{report:?}");
    assert_eq!(count(&dest, "SELECT count(*) FROM parent"), 5);
    assert_eq!(count(&dest, "SELECT count(*) FROM child"), 5);
}

/// E1 on PostgreSQL: FKs do not cross databases there, and tables of other schemas of
/// the destination database are read with it: such a child holding rows is refused too.
#[test]
fn truncate_refuses_to_orphan_rows_of_tables_in_other_postgres_schemas() {
    let src = parent_child(Engine::Postgres);
    let dest = TestDb::create(Engine::Postgres);
    let job = truncate_job(&src, &dest, "");
    assert!(sync(&job).expect("first copy").ok);
    dest.exec(
        "CREATE SCHEMA other;
         CREATE TABLE other.ext (id int PRIMARY KEY, pid int NOT NULL REFERENCES public.parent (id) ON DELETE CASCADE);
         INSERT INTO other.ext VALUES (1, 1), (2, 2);",
    );
    let err = sync(&job)
        .expect_err("other.ext's rows would lose their parent")
        .to_string();
    assert!(
        err.contains(
            "truncate = true would empty parent, which rows of ext reference through foreign key ext_pid_fkey"
        ),
        "{err}"
    );
    assert_eq!(count(&dest, "SELECT count(*) FROM other.ext"), 2);
    assert_eq!(count(&dest, "SELECT count(*) FROM parent"), 10);
}

/// E2: a destination MERGE table whose storage is the source's MyISAM table. The run
/// emptied it, so the source, then read 0 rows and said verified, exit 0. Now refused
/// before anything is written, naming the table, its engine and the table it stands for;
/// the source keeps its 100 rows (a run without `truncate` is refused the same way: its
/// rows would go into the source).
#[test]
fn a_destination_table_stored_in_the_source_is_never_emptied_nor_written() {
    let src = TestDb::create(Engine::Mysql);
    let mut script = String::from("CREATE TABLE m1 (id int PRIMARY KEY, v varchar(10)) ENGINE = MyISAM;");
    for i in 1..=100 {
        script.push_str(&format!("INSERT INTO m1 VALUES ({i}, 'm');"));
    }
    src.exec(&script);
    let dest = TestDb::create(Engine::Mysql);
    dest.exec(&format!(
        "CREATE TABLE m1 (id int PRIMARY KEY, v varchar(10)) ENGINE = MERGE UNION = ({}.m1) INSERT_METHOD = LAST",
        src.name
    ));
    for truncate in ["true", "false"] {
        let job = format!(
            "source = \"{}\"\nmode = \"data\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\n\
             truncate = {truncate}\n[tables]\ninclude = [\"m1\"]\n",
            src.url, dest.url
        );
        let err = sync(&job).expect_err("m1 stores its rows in the source").to_string();
        assert_eq!(
            err,
            format!(
                "{}: table m1 is a MRG_MyISAM table, whose rows are stored in other tables (`{}`.`m1`): emptying \
                 it (truncate = true) or writing into it would change those tables, which may be the job's \
                 source. Tether writes only into tables that store their own rows: drop or rename m1 there, or \
                 leave it out of the job (nothing was written)",
                dest.db_url(),
                src.name
            ),
            "truncate = {truncate}"
        );
        assert_eq!(count(&src, "SELECT count(*) FROM m1"), 100, "truncate = {truncate}");
    }
}

/// E2/E5 on PostgreSQL: the destination's `parent` and `child` are foreign tables of the
/// source database (postgres_fdw, `IMPORT FOREIGN SCHEMA`). The plan took them for
/// missing tables and the run loaded into staging schemas, then failed with 42P07
/// ("another run or user created the table meanwhile"). Now refused before anything is
/// written, naming the relation and its server; the source keeps its rows.
#[test]
fn a_foreign_table_of_a_job_table_name_is_refused_before_writing() {
    let src = parent_child(Engine::Postgres);
    let dest = TestDb::create(Engine::Postgres);
    dest.exec(&format!(
        "CREATE EXTENSION postgres_fdw;
         CREATE SERVER srcsrv FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '5432', dbname '{}');
         CREATE USER MAPPING FOR CURRENT_USER SERVER srcsrv OPTIONS (user 'postgres');
         IMPORT FOREIGN SCHEMA public FROM SERVER srcsrv INTO public;",
        src.name
    ));
    assert_eq!(count(&dest, "SELECT count(*) FROM parent"), 10);
    for mode in ["all", "data"] {
        let job = truncate_job(&src, &dest, &format!("mode = \"{mode}\""));
        let err = sync(&job).expect_err("parent is the source's table").to_string();
        // The plan says so too, rather than planning parent as missing.
        assert_eq!(plan_error(&job), err);
        assert_eq!(
            err,
            format!(
                "{}: public.parent, a table of the job, exists there as a foreign table (server srcsrv), not as a \
                 table: Tether writes only into tables that store their own rows. Drop or rename it there, or \
                 leave the table out of the job (nothing was written)",
                dest.db_url()
            ),
            "mode {mode}"
        );
        assert_eq!(count(&src, "SELECT count(*) FROM parent"), 10);
        assert_eq!(count(&src, "SELECT count(*) FROM child"), 10);
    }
    let schemas = "SELECT count(*) FROM pg_namespace WHERE nspname LIKE '\\_tether\\_stage\\_%'";
    assert_eq!(count(&dest, schemas), 0);
}

/// E5 on MariaDB: the destination's `parent` is a view of the source's. The run created
/// `child` and then failed on 1050 "Table 'parent' already exists"; now refused before
/// anything is written (no `child` created), naming the view.
#[test]
fn a_view_of_a_job_table_name_is_refused_before_writing() {
    let src = parent_child(Engine::Mysql);
    let dest = TestDb::create(Engine::Mysql);
    dest.exec(&format!("CREATE VIEW parent AS SELECT * FROM {}.parent", src.name));
    let err = sync(&truncate_job(&src, &dest, ""))
        .expect_err("parent is a view")
        .to_string();
    assert_eq!(plan_error(&truncate_job(&src, &dest, "")), err);
    assert_eq!(
        err,
        format!(
            "{}: parent, a table of the job, exists there as a view, not as a table: Tether writes only into \
             tables that store their own rows. Drop or rename it there, or leave the table out of the job \
             (nothing was written)",
            dest.db_url()
        )
    );
    let tables = format!(
        "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}' AND TABLE_TYPE = 'BASE TABLE'",
        dest.name
    );
    assert_eq!(count(&dest, &tables), 0);
    assert_eq!(count(&src, "SELECT count(*) FROM parent"), 10);

    // A SQLite destination likewise (its file is read when the run opens it).
    let lite = TestDb::create(Engine::Sqlite);
    lite.exec("CREATE TABLE other (id int); CREATE VIEW parent AS SELECT id, 'x' AS name FROM other;");
    let err = sync(&truncate_job(&src, &lite, ""))
        .expect_err("parent is a view")
        .to_string();
    assert_eq!(
        err,
        format!(
            "{}: parent, a table of the job, exists there as a view, not as a table: Tether writes only into \
             tables that store their own rows. Drop or rename it there, or leave the table out of the job \
             (nothing was written)",
            lite.db_url()
        )
    );
    assert_eq!(
        count(&lite, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"),
        1
    );
}

/// E6: a PostgreSQL destination table with an INSERT rule and `on_conflict = "update"`
/// (or `"skip"`): PostgreSQL refuses INSERT ... ON CONFLICT there (0A000), which the run
/// reported at load time as a rejected row. Now refused before anything is written,
/// naming the rule; with `on_conflict = "error"` (COPY, which rules do not see) the run
/// loads and the rule's table stays empty.
#[test]
fn insert_rules_refuse_on_conflict_before_writing() {
    let src = parent_child(Engine::Postgres);
    let dest = TestDb::create(Engine::Postgres);
    dest.exec(
        "CREATE TABLE parent (id int PRIMARY KEY, name varchar(20));
         CREATE TABLE child (id int PRIMARY KEY, pid int NOT NULL REFERENCES parent (id), v varchar(10));
         CREATE TABLE audit (id int, op text);
         CREATE RULE r_ins AS ON INSERT TO parent DO ALSO INSERT INTO audit VALUES (new.id, 'ins');",
    );
    for conflict in ["update", "skip"] {
        let job = format!(
            "source = \"{}\"\nmode = \"data\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\n\
             on_conflict = \"{conflict}\"\n[tables]\ninclude = [\"parent\", \"child\"]\n",
            src.url, dest.url
        );
        let err = sync(&job).expect_err("ON CONFLICT with a rule").to_string();
        assert_eq!(
            err,
            format!(
                "{}: on_conflict = \"{conflict}\" writes with INSERT ... ON CONFLICT, which PostgreSQL refuses on a \
                 table with INSERT or UPDATE rules: rule r_ins ON INSERT TO public.parent. Drop the rule there, \
                 or set on_conflict = \"error\" (with truncate = true for a re-run) (nothing was written)",
                dest.db_url()
            )
        );
        assert_eq!(count(&dest, "SELECT count(*) FROM parent"), 0);
        assert_eq!(count(&dest, "SELECT count(*) FROM audit"), 0);
    }
    let job = format!(
        "source = \"{}\"\nmode = \"data\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\n\
         [tables]\ninclude = [\"parent\", \"child\"]\n",
        src.url, dest.url
    );
    assert!(sync(&job).expect("COPY does not go through rules").ok);
    assert_eq!(count(&dest, "SELECT count(*) FROM parent"), 10);
    assert_eq!(count(&dest, "SELECT count(*) FROM audit"), 0);
}

/// E3 and r15h H2: a re-run with `truncate = true` stopped (SIGINT) while it empties a
/// MariaDB destination, which holds a full earlier copy. The destination is emptied
/// table by table, children first, each on its own: here `parent` is held by another
/// session's row lock, so `child` and `big` are empty when the run is stopped and
/// `parent` still holds its rows. The message said "while loading; the counts below are
/// what was written" (no counts followed) and nothing of the emptied tables; now it says
/// what it was doing and which tables are empty and which hold their rows.
#[test]
fn a_run_stopped_while_emptying_says_which_tables_are_empty() {
    let src = parent_child(Engine::Mysql);
    src.exec(
        "CREATE TABLE big (id int PRIMARY KEY, pid int NOT NULL, pad varchar(200),
           CONSTRAINT big_parent_fk FOREIGN KEY (pid) REFERENCES parent (id));
         INSERT INTO big SELECT seq, 1 + seq MOD 10, 'x' FROM seq_1_to_1000;",
    );
    let dest = TestDb::create(Engine::Mysql);
    let text = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\ntruncate = true\n\
         [tables]\ninclude = [\"parent\", \"child\", \"big\"]\n",
        src.url, dest.url
    );
    assert!(sync(&text).expect("first copy").ok);
    let job = tether_sync::Job::parse("job.toml", &text, &|_| None).expect("job");
    let err = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            // Another session holds a row of parent: the run's DELETE FROM parent waits.
            let mut holder = tether_connect::Connection::open(&dest.db_url()).await.expect("holder");
            holder.execute("BEGIN").await.expect("begin");
            holder
                .query("SELECT id FROM parent WHERE id = 1 FOR UPDATE", &[])
                .await
                .expect("lock");
            let mut look = tether_connect::Connection::open(&dest.db_url()).await.expect("look");
            // Stopped once the children are empty (parent, last, is waiting on the lock).
            let stop = async move {
                loop {
                    let rows = look
                        .query(
                            "SELECT (SELECT count(*) FROM child) + (SELECT count(*) FROM big)",
                            &[tether_schema::DataType::Text],
                        )
                        .await
                        .expect("count");
                    if rows[0][0] == tether_connect::Value::Text("0".into()) {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
            };
            let prepared = tether_sync::prepare(&job).await.expect("prepare");
            let err = tether_sync::run_until(&job, prepared, &Quiet, stop)
                .await
                .expect_err("stopped");
            holder.execute("ROLLBACK").await.expect("rollback");
            err.to_string()
        });
    assert_eq!(
        err,
        format!(
            "interrupted: the job stopped before it finished (while emptying the job's tables of {d}); truncate = \
             true was emptying the job's tables when the job stopped: big, child now empty; parent still holds \
             its rows",
            d = dest.db_url()
        )
    );
    assert_eq!(count(&dest, "SELECT count(*) FROM parent"), 10);
    assert_eq!(count(&dest, "SELECT count(*) FROM child"), 0);
    assert_eq!(count(&dest, "SELECT count(*) FROM big"), 0);
    // A run again makes the copy whole.
    assert!(sync(&text).expect("again").ok);
    assert_eq!(count(&dest, "SELECT count(*) FROM big"), 1000);
}

/// E4: two destinations that are one SQLite file not created yet, named through a
/// dangling symlink (`dangling.db -> x.db`) or through `..` in a directory not there
/// yet (`new/x.db`, `new/../new/x.db`), passed the overlap check; the run then failed
/// on "table parent appeared after planning", leaving an empty x.db (and `new/`). Now
/// refused before anything is created, naming the one file both are.
#[test]
fn two_destinations_that_are_one_sqlite_file_not_there_yet_are_refused() {
    let src = parent_child(Engine::Sqlite);
    let dir = tether_testkit::ScratchDir::new("r15e_e4");
    let real = dir.canonicalize().expect("canonical");
    std::os::unix::fs::symlink("x.db", dir.join("dangling.db")).expect("symlink");
    let pairs = [
        (dir.join("dangling.db"), dir.join("x.db")),
        (dir.join("new/x.db"), dir.join("new/../new/x.db")),
    ];
    for (first, second) in pairs {
        let job = format!(
            "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"sqlite://{}\"\n\
             [[destinations]]\nurl = \"sqlite://{}\"\n",
            src.url,
            first.display(),
            second.display()
        );
        let err = sync(&job).expect_err("one file").to_string();
        let file = match first.ends_with("dangling.db") {
            true => real.join("x.db"),
            false => real.join("new/x.db"),
        };
        assert_eq!(
            err,
            format!(
                "destination #2 sqlite://{} is destination #1 sqlite://{}: both are the SQLite file {}; refusing \
                 to write into it (nothing was written)",
                second.display(),
                first.display(),
                file.display()
            )
        );
    }
    // Nothing was created: no x.db, no new/.
    let mut left: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["dangling.db"]);
}
