//! Twenty-first session writer C2 (review r22m F1): a self-reference whose composite FK
//! `(tenant, parent) -> (tenant, id)` has a NOT NULL column (tenant, in the key) and a
//! nullable one (parent) counted as not breakable, so it loaded into MariaDB and SQLite
//! with FK checks off. A run failing midway left committed rows pointing at parents that
//! never arrived: orphans under a declared FK, and the message only counted the rows.
//! Under MATCH SIMPLE (MariaDB and SQLite always, PostgreSQL unless `MATCH FULL`) a NULL
//! in any column switches a composite FK off, so such an FK now breaks the cycle on its
//! nullable column(s): loaded NULL there, set by UPDATEs, and a failure counts the rows
//! left NULL (no orphan) and a `skip` re-run completes them. `MATCH FULL` and NOT NULL
//! cycles stay deferred.

mod common;

use common::*;
use tether_sync::plan::CycleStrategy;
use tether_sync::SyncError;
use tether_testkit::{TestDb, TestEngine as Engine};

/// The repro's rows: (1,1) and (1,2) under (1,3), which comes later; (2,1) under (2,2),
/// the row the destination's CHECK refuses.
const NODE_ROWS: &str = "INSERT INTO node VALUES (1,1,3,'a'),(1,2,3,'b'),(1,3,NULL,'root'),(2,1,2,'x'),(2,2,NULL,'c')";

fn node_source() -> TestDb {
    let src = TestDb::create(Engine::Postgres);
    src.exec(&format!(
        "CREATE TABLE node (tenant int NOT NULL, id int NOT NULL, parent int, name text, \
         PRIMARY KEY (tenant, id), CONSTRAINT node_par FOREIGN KEY (tenant, parent) REFERENCES node (tenant, id)); \
         {NODE_ROWS}"
    ));
    src
}

/// The destination's `node`, refusing the row named 'c' by a CHECK when `check` is set.
fn node_table(engine: Engine, check: bool) -> String {
    let check = if check {
        ", CONSTRAINT ck CHECK (name <> 'c')"
    } else {
        ""
    };
    let engine_clause = if engine == Engine::Mysql { " ENGINE=InnoDB" } else { "" };
    let text = if engine == Engine::Mysql { "varchar(20)" } else { "text" };
    format!(
        "CREATE TABLE node (tenant int NOT NULL, id int NOT NULL, parent int NULL, name {text}, \
         PRIMARY KEY (tenant, id), CONSTRAINT node_par FOREIGN KEY (tenant, parent) REFERENCES node (tenant, id)\
         {check}){engine_clause}"
    )
}

fn drop_check(dest: &TestDb, engine: Engine) {
    match engine {
        Engine::Sqlite => dest.exec(&format!(
            "PRAGMA foreign_keys = OFF; ALTER TABLE node RENAME TO old_node; {}; \
             INSERT INTO node SELECT * FROM old_node; DROP TABLE old_node",
            node_table(engine, false)
        )),
        _ => dest.exec("ALTER TABLE node DROP CONSTRAINT ck"),
    }
}

fn skip_job(src: &TestDb, dest: &TestDb, tables: &str) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\non_conflict = \"skip\"\n\
         [tables]\ninclude = [{tables}]\n[options]\nbatch_size = 2\n",
        src.url, dest.url
    )
}

/// The job's cycles as (tables, strategy, FKs).
fn cycles(text: &str) -> Vec<(Vec<String>, CycleStrategy, Vec<String>)> {
    let job = tether_sync::Job::parse("job.toml", text, &|_| None).expect("job");
    tether_testkit::block_on(async {
        let p = tether_sync::prepare(&job).await.expect("prepare");
        p.plan
            .cycles
            .iter()
            .map(|c| (c.tables.clone(), c.strategy, c.foreign_keys.clone()))
            .collect()
    })
}

/// The plan of `text`, as `tether plan` prints it.
fn plan_text(text: &str) -> String {
    let job = tether_sync::Job::parse("job.toml", text, &|_| None).expect("job");
    tether_testkit::block_on(async { tether_sync::prepare(&job).await.expect("prepare").plan.to_text() })
}

/// Rows of `node` whose parent the destination does not hold.
fn node_orphans(db: &TestDb) -> String {
    one(
        db,
        "SELECT count(*) FROM node c LEFT JOIN node p ON p.tenant = c.tenant AND p.id = c.parent \
         WHERE c.parent IS NOT NULL AND p.id IS NULL",
    )
}

fn node_rows() -> Vec<Vec<String>> {
    [
        ["1", "1", "3", "a"],
        ["1", "2", "3", "b"],
        ["1", "3", "NULL", "root"],
        ["2", "1", "2", "x"],
        ["2", "2", "NULL", "c"],
    ]
    .iter()
    .map(|r| r.iter().map(|v| v.to_string()).collect())
    .collect()
}

/// The failed run leaves no orphan: the four rows written before (2,2) hold parent NULL
/// (tenant kept), the message counts them and says a re-run sets them; the `skip`
/// re-run, once the CHECK is gone, gives the rows a clean run gives.
fn composite_self_reference(engine: Engine) {
    let src = node_source();
    let dest = TestDb::create(engine);
    dest.exec(&node_table(engine, true));
    let job = skip_job(&src, &dest, "\"node\"");
    assert_eq!(
        cycles(&job),
        vec![(
            vec!["node".to_string()],
            CycleStrategy::Break,
            vec!["node_par".to_string()]
        )]
    );
    let planned = plan_text(&job);
    assert!(
        planned.contains("cycle: node_par (parent) loaded NULL, then updated"),
        "{planned}"
    );
    assert!(
        planned.contains("node: break: load node_par as NULL, then UPDATE"),
        "{planned}"
    );
    let err = sync(&job).expect_err("row (2, 2) is refused");
    let text = err.to_string();
    assert!(
        matches!(err, SyncError::Rejected { ref table, .. } if table == "node"),
        "{text}"
    );
    assert!(text.contains("(tenant, id)=(2, 2)"), "{text}");
    assert!(text.contains("3 of them new rows left with parent NULL"), "{text}");
    assert!(
        text.contains("running the job again with on_conflict = \"skip\" or \"update\" sets them"),
        "{text}"
    );
    assert_eq!(one(&dest, "SELECT count(*) FROM node"), "4", "{text}");
    assert_eq!(node_orphans(&dest), "0", "{text}");
    assert_eq!(
        one(&dest, "SELECT count(*) FROM node WHERE parent IS NULL"),
        "4",
        "{text}"
    );
    drop_check(&dest, engine);
    let report = sync(&job).expect("re-run");
    assert!(report.ok, "{report:?}");
    assert_eq!(report.tables[0].rows_written, vec![1]);
    assert_eq!(rows(&dest, "node", "tenant, id"), node_rows());
    assert_eq!(node_orphans(&dest), "0");
    // A clean run into a new destination gives the same rows.
    let clean = TestDb::create(engine);
    clean.exec(&node_table(engine, false));
    let report = sync(&skip_job(&src, &clean, "\"node\"")).expect("clean run");
    assert!(report.ok, "{report:?}");
    assert_eq!(rows(&clean, "node", "tenant, id"), node_rows());
}

#[test]
fn a_composite_self_reference_breaks_on_its_nullable_column_into_mariadb() {
    composite_self_reference(Engine::Mysql);
}

#[test]
fn a_composite_self_reference_breaks_on_its_nullable_column_into_sqlite() {
    composite_self_reference(Engine::Sqlite);
}

/// `MATCH FULL` refuses a key NULL in part only: the cycle stays deferred and copies.
#[test]
fn a_match_full_composite_self_reference_stays_deferred() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE node (tenant int NOT NULL, id int NOT NULL, parent int, name text, \
         PRIMARY KEY (tenant, id), CONSTRAINT node_par FOREIGN KEY (tenant, parent) \
         REFERENCES node (tenant, id) MATCH FULL); \
         INSERT INTO node VALUES (1,1,3,'a'),(1,3,3,'root'),(2,1,1,'x')",
    );
    let dest = TestDb::create(Engine::Postgres);
    let text = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\n",
        src.url, dest.url
    );
    assert_eq!(
        cycles(&text),
        vec![(
            vec!["node".to_string()],
            CycleStrategy::Defer,
            vec!["node_par".to_string()]
        )]
    );
    let report = sync(&text).expect("sync");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        rows(&dest, "node", "tenant, id"),
        vec![
            vec!["1", "1", "3", "a"],
            vec!["1", "3", "3", "root"],
            vec!["2", "1", "1", "x"]
        ]
    );
}

/// Two tables whose NOT NULL FKs point at each other: nothing breaks them, deferred.
#[test]
fn a_not_null_two_table_cycle_stays_deferred() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE a (id int PRIMARY KEY, b_id int NOT NULL); \
         CREATE TABLE b (id int PRIMARY KEY, a_id int NOT NULL REFERENCES a(id)); \
         ALTER TABLE a ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES b(id) DEFERRABLE INITIALLY DEFERRED; \
         BEGIN; INSERT INTO a VALUES (1, 10), (2, 20); INSERT INTO b VALUES (10, 1), (20, 2); COMMIT",
    );
    let dest = TestDb::create(Engine::Mysql);
    let text = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\n",
        src.url, dest.url
    );
    let found = cycles(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, CycleStrategy::Defer, "{found:?}");
    let report = sync(&text).expect("sync");
    assert!(report.ok, "{report:?}");
    assert_eq!(rows(&dest, "a", "id"), vec![vec!["1", "10"], vec!["2", "20"]]);
    assert_eq!(rows(&dest, "b", "id"), vec![vec!["10", "1"], vec!["20", "2"]]);
}

/// The NOT NULL column of the FK is outside the key (org, with a unique (org, id)): it
/// is written as it is, only the nullable parent is loaded NULL and set afterwards.
fn not_null_column_outside_the_key(engine: Engine) {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE unit (id int PRIMARY KEY, org int NOT NULL, parent int, UNIQUE (org, id), \
         CONSTRAINT unit_par FOREIGN KEY (org, parent) REFERENCES unit (org, id)); \
         INSERT INTO unit VALUES (1,7,3),(2,7,3),(3,7,NULL),(4,8,5),(5,8,NULL)",
    );
    let dest = TestDb::create(engine);
    let text = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\n[options]\nbatch_size = 2\n",
        src.url, dest.url
    );
    assert_eq!(
        cycles(&text),
        vec![(
            vec!["unit".to_string()],
            CycleStrategy::Break,
            vec!["unit_par".to_string()]
        )]
    );
    let planned = plan_text(&text);
    assert!(
        planned.contains("cycle: unit_par (parent) loaded NULL, then updated"),
        "{planned}"
    );
    let report = sync(&text).expect("sync");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        rows(&dest, "unit", "id"),
        vec![
            vec!["1", "7", "3"],
            vec!["2", "7", "3"],
            vec!["3", "7", "NULL"],
            vec!["4", "8", "5"],
            vec!["5", "8", "NULL"]
        ]
    );
}

#[test]
fn a_not_null_fk_column_outside_the_key_is_written_as_it_is_into_mariadb() {
    not_null_column_outside_the_key(Engine::Mysql);
}

#[test]
fn a_not_null_fk_column_outside_the_key_is_written_as_it_is_into_sqlite() {
    not_null_column_outside_the_key(Engine::Sqlite);
}

/// What stays deferred on a destination committing as it goes: a NOT NULL cycle whose
/// second table fails midway leaves committed rows of the first pointing at rows of the
/// second that never arrived. The message counts them per FK and says a re-run writes
/// the parents; the `skip` re-run, once the cause is gone, leaves no orphan.
fn not_null_cycle_failing(engine: Engine) {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE a (id int PRIMARY KEY, b_id int NOT NULL); \
         CREATE TABLE b (id int PRIMARY KEY, a_id int NOT NULL, CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES a(id)); \
         ALTER TABLE a ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES b(id) DEFERRABLE INITIALLY DEFERRED; \
         BEGIN; INSERT INTO a VALUES (1, 10), (2, 20); INSERT INTO b VALUES (10, 1), (20, 2); COMMIT",
    );
    let dest = TestDb::create(engine);
    match engine {
        Engine::Mysql => dest.exec(
            "CREATE TABLE a (id int PRIMARY KEY, b_id int NOT NULL) ENGINE=InnoDB; \
             CREATE TABLE b (id int PRIMARY KEY, a_id int NOT NULL, CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES a(id), \
             CONSTRAINT no20 CHECK (id <> 20)) ENGINE=InnoDB; \
             ALTER TABLE a ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES b(id)",
        ),
        _ => dest.exec(
            "CREATE TABLE a (id integer PRIMARY KEY, b_id integer NOT NULL, CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES b(id)); \
             CREATE TABLE b (id integer PRIMARY KEY, a_id integer NOT NULL, CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES a(id), \
             CONSTRAINT no20 CHECK (id <> 20))",
        ),
    }
    let job = skip_job(&src, &dest, "\"a\", \"b\"").replace("batch_size = 2", "batch_size = 1");
    let err = sync(&job).expect_err("b (20) is refused");
    let text = err.to_string();
    assert!(text.contains("(id)=(20)"), "{text}");
    assert!(
        text.contains("reference a parent the destination does not hold (the parent was to come later)"),
        "{text}"
    );
    assert!(text.contains("1 rows of a under foreign key a_b (b_id)"), "{text}");
    assert!(!text.contains("under foreign key b_a"), "{text}");
    let orphans = "SELECT count(*) FROM a WHERE NOT EXISTS (SELECT 1 FROM b WHERE b.id = a.b_id)";
    assert_eq!(one(&dest, orphans), "1", "{text}");
    match engine {
        Engine::Mysql => dest.exec("ALTER TABLE b DROP CONSTRAINT no20"),
        _ => dest.exec(
            "PRAGMA foreign_keys = OFF; PRAGMA legacy_alter_table = ON; ALTER TABLE b RENAME TO old_b; \
             CREATE TABLE b (id integer PRIMARY KEY, a_id integer NOT NULL, CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES a(id)); \
             INSERT INTO b SELECT * FROM old_b; DROP TABLE old_b",
        ),
    }
    let report = sync(&job).expect("re-run");
    assert!(report.ok, "{report:?}");
    assert_eq!(one(&dest, orphans), "0");
    assert_eq!(rows(&dest, "b", "id"), vec![vec!["10", "1"], vec!["20", "2"]]);
}

#[test]
fn a_failed_not_null_cycle_names_the_rows_left_without_parent_on_mariadb() {
    not_null_cycle_failing(Engine::Mysql);
}

#[test]
fn a_failed_not_null_cycle_names_the_rows_left_without_parent_on_sqlite() {
    not_null_cycle_failing(Engine::Sqlite);
}

/// Review r22n F1: the NULL-key refusal looked for a value in every FK column outside the
/// key, NOT NULL ones too (never loaded NULL), so a NULL-keyed row whose nullable column is
/// already NULL (nothing to set) refused a cycle that synced before. Only the columns
/// loaded NULL count; a value there still refuses.
#[test]
fn a_null_keyed_row_with_nothing_to_set_does_not_refuse_a_composite_cycle() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "PRAGMA foreign_keys = OFF;
         CREATE TABLE p (x INTEGER NOT NULL, y INTEGER NOT NULL, cid INTEGER NOT NULL REFERENCES c (id),
                         PRIMARY KEY (x, y));
         CREATE TABLE c (id INTEGER UNIQUE, a INTEGER NOT NULL, b INTEGER, note TEXT,
                         FOREIGN KEY (a, b) REFERENCES p (x, y));
         INSERT INTO p VALUES (1, 1, 10);
         INSERT INTO c VALUES (10, 1, 1, 'k'), (NULL, 1, NULL, 'nullkey');",
    );
    for engine in [Engine::Sqlite, Engine::Mysql] {
        let dest = TestDb::create(engine);
        let done = sync(&job(&src, &[&dest], "")).expect("the cycle syncs");
        assert!(done.ok, "{done:?}");
        assert_eq!(
            dest.query("SELECT id, a, b, note FROM c ORDER BY note"),
            vec![
                vec![Some("10".into()), Some("1".into()), Some("1".into()), Some("k".into())],
                vec![None, Some("1".into()), None, Some("nullkey".into())],
            ]
        );
    }
    // A NULL-keyed row with a value in `b` (loaded NULL, not found by the UPDATE) refuses.
    src.exec("PRAGMA foreign_keys = OFF; INSERT INTO p VALUES (1, 2, 10); INSERT INTO c VALUES (NULL, 1, 2, 'lost');");
    let err = sync(&job(&src, &[&TestDb::create(Engine::Sqlite)], "")).expect_err("refused");
    assert!(
        err.to_string().contains("hold NULL in (id) and a value in (b)"),
        "{err}"
    );
}
