//! Fifteenth review P: a sync of a source under writes. P1: the TEXT/MEDIUMTEXT a
//! MariaDB destination gets for another engine's unbounded text is sized by a
//! measurement planning takes outside the sync's snapshot; a longer value written on the
//! source after it made the load fail (error 1406). The lengths are now measured again
//! in the snapshot and a column whose values grew is created wider. P2: a MariaDB
//! source's MyISAM/Aria/MEMORY tables are not covered by its consistent snapshot; the
//! plan and the sync's report now say so, and a failed verification involving them
//! says why.
//!
//! The writes "during" a sync are made at a fixed point (between prepare and run, or
//! from the progress callback once a table is loaded), not by timing.

mod common;

use common::*;
use tether_sync::{Job, Progress};
use tether_testkit::{exec_url, TestDb, TestEngine as Engine};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn strings(rows: &[&[&str]]) -> Vec<Vec<Option<String>>> {
    rows.iter()
        .map(|r| r.iter().map(|v| Some(v.to_string())).collect())
        .collect()
}

/// P1: the plan measures `body` at 200 bytes and plans TEXT; a 70,000-byte value is
/// then written on the source (after planning, before the sync's snapshot). The load
/// was refused ("Data too long for column 'body'", exit 1, tables dropped again); now
/// the column is created MEDIUMTEXT, the row copied, and the report says why.
#[test]
fn text_written_longer_after_planning_widens_the_mariadb_column() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE doc (id bigint PRIMARY KEY, body text NOT NULL);
         INSERT INTO doc SELECT g, repeat('d', 200) FROM generate_series(1, 50) g;
         CREATE TABLE tag (name text PRIMARY KEY);
         INSERT INTO tag VALUES ('a'), ('b');",
    );
    let my = TestDb::create(Engine::Mysql);
    let job = Job::parse(
        "job.toml",
        &format!("privacy = \"off\"\n{}", job(&src, &[&my], "")),
        &|_| None,
    )
    .expect("job");
    let report = runtime().block_on(async {
        let prepared = tether_sync::prepare(&job).await.expect("plan");
        let report = prepared.plan.destinations[0].schema.as_ref().expect("read");
        assert_eq!(
            report.models[0].extras.column_types.get("body").map(String::as_str),
            Some("text")
        );
        // Written after planning measured the table.
        let url = src.url.clone();
        std::thread::spawn(move || {
            exec_url(
                Engine::Postgres,
                &url,
                "INSERT INTO doc VALUES (51, repeat('B', 70000)); UPDATE doc SET body = repeat('C', 300) WHERE id = 1;
                 UPDATE tag SET name = repeat('t', 300) WHERE name = 'b';",
            )
        })
        .join()
        .expect("write");
        tether_sync::run(&job, prepared, &Quiet)
            .await
            .expect("the sync copies the longer row")
    });
    assert!(report.ok, "{report:?}");
    assert_eq!(
        my.query(
            "SELECT column_type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_NAME = 'doc' AND COLUMN_NAME = 'body'"
        ),
        strings(&[&["mediumtext"]])
    );
    assert_eq!(
        my.query(
            "SELECT column_type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_NAME = 'tag' AND COLUMN_NAME = 'name'"
        ),
        strings(&[&["varchar(300)"]])
    );
    assert_eq!(
        my.query("SELECT length(name) FROM tag ORDER BY name"),
        strings(&[&["1"], &["300"]])
    );
    assert_eq!(
        my.query("SELECT count(*), max(length(body)), sum(length(body)) FROM doc"),
        strings(&[&["51", "70000", "80100"]])
    );
    assert_eq!(
        report.warnings,
        vec![
            format!(
                "{}: table doc: column body created as mediumtext, not text: its longest value is 70000 bytes in \
                 the sync's snapshot, 200 when the plan measured it (the source changed since)",
                my.db_url()
            ),
            format!(
                "{}: table tag: column name created as varchar(300), not varchar(255): its longest value is 300 \
                 bytes in the sync's snapshot, 1 when the plan measured it (the source changed since)",
                my.db_url()
            ),
        ]
    );
}

/// Inserts a parent and its child on the MariaDB source once the parent table is
/// loaded, before the child table is read (parallelism 1: mp, then mc).
struct WriteAfter {
    table: &'static str,
    url: String,
}

impl Progress for WriteAfter {
    fn phase(&self, _: &str) {}
    fn table_started(&self, _: &str, _: u64) {}
    fn rows(&self, _: &str, _: u64) {}
    fn table_done(&self, table: &str, _: u64, _: f64) {
        if table == self.table {
            let url = self.url.clone();
            std::thread::spawn(move || {
                exec_url(
                    Engine::Mysql,
                    &url,
                    "INSERT INTO mp VALUES (1001, 'n'); INSERT INTO mc VALUES (1001, 1001, 'n');",
                )
            })
            .join()
            .expect("write");
        }
    }
}

fn parents_and_children(engine: &str) -> (TestDb, String) {
    let src = TestDb::create(Engine::Mysql);
    src.exec(&format!(
        "CREATE TABLE mp (id bigint PRIMARY KEY, pad varchar(20)) ENGINE={engine};
         CREATE TABLE mc (id bigint PRIMARY KEY, pid bigint NOT NULL, pad varchar(20), KEY (pid)) ENGINE={engine};
         INSERT INTO mp VALUES (1, 'x'), (2, 'x'), (3, 'x');
         INSERT INTO mc VALUES (1, 1, 'y'), (2, 2, 'y'), (3, 3, 'y');"
    ));
    let extra = "[[virtual_foreign_keys]]\ntable = \"mc\"\ncolumns = [\"pid\"]\nreferenced_table = \"mp\"\n\
                 [options]\nparallelism = 1\n";
    (src, extra.to_string())
}

fn sync_writing(job_text: &str, src: &TestDb) -> (String, tether_sync::Report) {
    let job = Job::parse("job.toml", &format!("privacy = \"off\"\n{job_text}"), &|_| None).expect("job");
    runtime().block_on(async {
        let prepared = tether_sync::prepare(&job).await.expect("plan");
        let shown = prepared.plan.to_text();
        let hook = WriteAfter {
            table: "mp",
            url: src.url.clone(),
        };
        let report = tether_sync::run(&job, prepared, &hook).await.expect("sync");
        (shown, report)
    })
}

/// P2: MyISAM parent and child; a pair written after the parent was read and before
/// the child's read leaves an orphan in the copy (MyISAM is not in the snapshot). The
/// plan and the report now name both tables as outside the snapshot, and the failed
/// verification is explained. With InnoDB the same writes are not seen: the copy is
/// whole and verified, and nothing is said.
#[test]
fn myisam_tables_of_a_mariadb_source_are_said_to_be_outside_the_snapshot() {
    let note = "the source's tables mp (MyISAM), mc (MyISAM) use a non-transactional storage engine: the \
                source's consistent snapshot does not cover them, so each is read as of the moment its own \
                read runs; rows written on the source during the copy can leave orphans or counts that match \
                no single moment (stop writes to them during the copy, or convert them to InnoDB)";
    let (src, extra) = parents_and_children("MyISAM");
    let my = TestDb::create(Engine::Mysql);
    let text = job(&src, &[&my], &extra).replace("truncate = true\n", "truncate = true\nchecks = \"verify\"\n");
    let (shown, report) = sync_writing(&text, &src);
    assert!(shown.contains(&format!("note: {note}\n")), "{shown}");
    assert!(!report.ok);
    let v = &report.verification[0];
    assert_eq!(
        v.orphans
            .iter()
            .map(|o| (o.table.as_str(), o.count, o.examples.clone()))
            .collect::<Vec<_>>(),
        vec![("mc", 1, vec!["(id)=('1001')".to_string()])]
    );
    assert_eq!(
        report.warnings,
        vec![
            note.to_string(),
            format!(
                "#1 {}: what the verification found involves mc, mp, read outside the source's snapshot \
                 (non-transactional storage engine): rows written on the source during the copy explain such \
                 orphans and counts (each table holds what its own read found)",
                my.db_url()
            ),
        ]
    );

    let (src, extra) = parents_and_children("InnoDB");
    let my = TestDb::create(Engine::Mysql);
    let (shown, report) = sync_writing(&job(&src, &[&my], &extra), &src);
    assert!(!shown.contains("non-transactional"), "{shown}");
    assert!(report.ok, "{report:?}");
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(my.query("SELECT count(*) FROM mc"), strings(&[&["3"]]));
}
