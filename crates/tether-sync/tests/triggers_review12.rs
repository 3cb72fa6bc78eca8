//! Loading into tables a destination already has, as the twelfth review found it: no
//! user trigger fires on copied rows whatever its state (ENABLE REPLICA, ENABLE ALWAYS),
//! each is on again as it was after the load or after a failure, and a copy keeps the
//! source's states; `truncate = true` on PostgreSQL with an empty table outside the job
//! referencing a job table; `checks = "verify"` with `on_conflict = "update"` and such a
//! table, refused where its rows would lose their parent, and its orphans verified.

mod common;

use std::sync::Mutex;

use common::*;
use tether_sync::{Progress, SyncError};
use tether_testkit::{TestDb, TestEngine as Engine};

/// Table `t` with three triggers that log each insert into `log` (not a job table
/// where the job says `include = ["t"]`): `t_on` fired by ordinary sessions, `t_replica`
/// by replication ones only, `t_always` by both.
const TRIGGERS: &str = r#"
CREATE TABLE t (id int PRIMARY KEY, v text CHECK (v <> 'bad'));
CREATE TABLE log (id serial PRIMARY KEY, msg text);
CREATE FUNCTION trg_f() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO log(msg) VALUES (TG_NAME || ':' || NEW.id); RETURN NEW; END $$;
CREATE TRIGGER t_on AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg_f();
CREATE TRIGGER t_replica AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg_f();
CREATE TRIGGER t_always AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg_f();
ALTER TABLE t ENABLE REPLICA TRIGGER t_replica;
ALTER TABLE t ENABLE ALWAYS TRIGGER t_always;
INSERT INTO t VALUES (1, 'a');
"#;

/// Every trigger state on the source, as `(trigger, tgenabled)`.
const STATES: [(&str, &str); 3] = [("t_always", "A"), ("t_on", "O"), ("t_replica", "R")];

fn states(db: &TestDb) -> Vec<(String, String)> {
    db.query(
        "SELECT tgname::text, tgenabled::text FROM pg_trigger WHERE tgrelid = 't'::regclass AND NOT tgisinternal \
         ORDER BY 1",
    )
    .into_iter()
    .map(|r| (r[0].clone().expect("name"), r[1].clone().expect("state")))
    .collect()
}

fn expected_states() -> Vec<(String, String)> {
    STATES.iter().map(|(n, s)| (n.to_string(), s.to_string())).collect()
}

fn log(db: &TestDb) -> Vec<String> {
    db.query("SELECT msg FROM log ORDER BY id")
        .into_iter()
        .map(|r| r[0].clone().expect("msg"))
        .collect()
}

/// The phases a run told, for the messages about triggers.
#[derive(Default)]
struct Told(Mutex<Vec<String>>);

impl Progress for Told {
    fn phase(&self, p: &str) {
        self.0.lock().expect("lock").push(p.to_string());
    }
    fn table_started(&self, _: &str, _: u64) {}
    fn rows(&self, _: &str, _: u64) {}
    fn table_done(&self, _: &str, _: u64, _: f64) {}
}

fn one_job(src: &TestDb, dest: &TestDb, tables: &str, options: &str) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n{tables}[[destinations]]\nurl = \"{}\"\n{options}",
        src.url, dest.url
    )
}

#[test]
fn a_postgres_copy_keeps_each_trigger_s_state_and_none_fires_on_copied_rows() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(TRIGGERS);
    let dest = TestDb::create(Engine::Postgres);
    let report = sync(&one_job(&src, &dest, "", "")).expect("copy");
    assert!(report.ok, "{report:?}");
    // t_always fired on the source's insert; t_replica did not.
    assert_eq!(log(&src), ["t_always:1", "t_on:1"]);
    assert_eq!(log(&dest), log(&src));
    assert_eq!(
        states(&dest),
        expected_states(),
        "the copy's triggers as the source has them"
    );
    // On the copy an ordinary insert fires what the source's would.
    dest.exec("INSERT INTO t VALUES (2, 'b')");
    src.exec("INSERT INTO t VALUES (2, 'b')");
    assert_eq!(log(&dest), log(&src));
}

#[test]
fn rerunning_into_postgres_tables_fires_no_trigger_whatever_its_state_and_restores_each() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(TRIGGERS);
    let dest = TestDb::create(Engine::Postgres);
    sync(&one_job(&src, &dest, "", "")).expect("first copy");
    // Every way a load can go into tables that are there: one transaction (truncate),
    // batches with the checks off (verify, as session_replication_role = replica, where
    // REPLICA and ALWAYS triggers fire), both with only `t` in the job so `log` is not
    // emptied and would keep what a trigger wrote.
    let runs = [
        ("", "truncate = true\n"),
        ("[tables]\ninclude = [\"t\"]\n", "truncate = true\n"),
        (
            "[tables]\ninclude = [\"t\"]\n",
            "on_conflict = \"skip\"\nchecks = \"verify\"\n",
        ),
        (
            "[tables]\ninclude = [\"t\"]\n",
            "truncate = true\nchecks = \"verify\"\n",
        ),
        ("[tables]\ninclude = [\"t\"]\n", "on_conflict = \"update\"\n"),
    ];
    for (i, (tables, options)) in runs.iter().enumerate() {
        let id = 10 + i;
        src.exec(&format!("INSERT INTO t VALUES ({id}, 'new')"));
        let before = log(&dest);
        let report = sync(&one_job(&src, &dest, tables, options)).expect("re-run");
        assert!(report.ok, "{options}: {report:?}");
        let written = match tables.is_empty() {
            // The whole job copies `log` too: as the source has it.
            true => log(&src),
            false => before,
        };
        assert_eq!(
            log(&dest),
            written,
            "{tables}{options}: no trigger fired on the copied rows"
        );
        assert_eq!(
            states(&dest),
            expected_states(),
            "{options}: each trigger on again as it was"
        );
        assert_eq!(
            dest.query(&format!("SELECT v FROM t WHERE id = {id}")),
            [[Some("new".to_string())]],
            "{options}"
        );
    }
}

#[test]
fn a_failed_postgres_load_in_batches_turns_each_trigger_on_again_as_it_was() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(TRIGGERS);
    src.exec("CREATE TABLE u (id int PRIMARY KEY, t_id int REFERENCES t(id), v text CHECK (v <> 'bad'))");
    let dest = TestDb::create(Engine::Postgres);
    sync(&one_job(&src, &dest, "", "")).expect("first copy");
    // `t` gets its new row (no trigger fires), then `u`, after it, a row the destination
    // refuses (its CHECK).
    src.exec(
        "INSERT INTO t VALUES (5, 'e'); ALTER TABLE u DROP CONSTRAINT u_v_check; INSERT INTO u VALUES (1, 5, 'bad')",
    );
    let job = one_job(
        &src,
        &dest,
        "[tables]\ninclude = [\"t\", \"u\"]\n",
        "on_conflict = \"skip\"\nchecks = \"verify\"\n",
    );
    let err = sync(&job).expect_err("the row is refused");
    assert!(
        matches!(&err, SyncError::Rejected { table, .. } if table == "u"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("rows this run wrote into tables that were there stay: t: 1"),
        "{err}"
    );
    assert_eq!(states(&dest), expected_states(), "on again after the failure: {err}");
    assert_eq!(keys(&dest, "t", "id"), ["1", "5"]);
    assert_eq!(log(&dest), ["t_always:1", "t_on:1"]);
}

/// Interrupted (the CLI's SIGINT/SIGTERM) while rows go in, in batches: the undo, on a
/// new connection, turns each trigger on again as it was.
#[test]
fn an_interrupted_postgres_load_in_batches_turns_each_trigger_on_again_as_it_was() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(TRIGGERS);
    let dest = TestDb::create(Engine::Postgres);
    sync(&one_job(&src, &dest, "", "")).expect("first copy");
    src.exec("INSERT INTO t SELECT g, 'x' FROM generate_series(100, 40099) g");
    let job = one_job(
        &src,
        &dest,
        "[tables]\ninclude = [\"t\"]\n",
        "on_conflict = \"skip\"\nchecks = \"verify\"\n",
    );
    let job = tether_sync::Job::parse("job.toml", &job, &|_| None).expect("job");
    // Stopped once some of the new rows are in (committed, in batches).
    let url = dest.url.clone();
    let Some(err) = run_stopped_when(&job, move || {
        tether_testkit::query_url(Engine::Postgres, &url, "SELECT count(*) FROM t")[0][0].as_deref() != Some("1")
    }) else {
        return;
    };
    assert!(matches!(err, SyncError::Interrupted(_)), "{err}");
    assert_eq!(
        states(&dest),
        expected_states(),
        "on again after the interruption: {err}"
    );
    let written = dest.query("SELECT count(*) FROM t")[0][0].clone().expect("count");
    assert_ne!(written, "1", "some rows went in before the stop: {err}");
    let log = log(&dest);
    assert!(
        log == ["t_always:1", "t_on:1"],
        "no trigger fired on them: {} rows in log, the first {:?}",
        log.len(),
        &log[..log.len().min(6)]
    );
}

#[test]
fn a_role_that_may_not_turn_triggers_off_is_told_they_fire_on_the_copied_rows() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(TRIGGERS);
    let dest = TestDb::create(Engine::Postgres);
    sync(&one_job(&src, &dest, "", "")).expect("first copy");
    let role = format!("ws4_writer_{}", dest.name);
    dest.exec(&format!(
        "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN; \
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}; \
         GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}; GRANT CREATE ON SCHEMA public TO {role}"
    ));
    src.exec("INSERT INTO t VALUES (7, 'x')");
    let url = dest.url.replacen("postgres@", &format!("{role}@"), 1);
    let job = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[tables]\ninclude = [\"t\"]\n[[destinations]]\nurl = \"{url}\"\non_conflict = \"skip\"\n",
        src.url
    );
    let told = Told::default();
    let outcome = sync_telling(&job, &told);
    dest.exec(&format!(
        "REASSIGN OWNED BY {role} TO postgres; DROP OWNED BY {role}; DROP ROLE {role}"
    ));
    let report = outcome.expect("runs in batches");
    assert!(report.ok, "{report:?}");
    let told = told.0.into_inner().expect("lock");
    assert!(
        told.iter().any(
            |p| p.contains("triggers t_always on t, t_on on t, t_replica on t FIRE ON THE COPIED ROWS")
                && p.contains("must be owner")
        ),
        "{told:#?}"
    );
    // In the report too (its JSON's `warnings`), not only on the progress output.
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("t_always on t, t_on on t, t_replica on t FIRE ON THE COPIED ROWS")),
        "{:?}",
        report.warnings
    );
    // As said: the ordinary and the ALWAYS trigger fired.
    assert_eq!(log(&dest), ["t_always:1", "t_on:1", "t_always:7", "t_on:7"]);
}

/// Job tables `p` and `c` (c -> p), and `q` with no FK.
const PARENTS: &str = "
CREATE TABLE p (id int PRIMARY KEY, code varchar(10) UNIQUE NOT NULL);
CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p(id), p_code varchar(10) REFERENCES p(code) ON UPDATE CASCADE);
CREATE TABLE q (id int PRIMARY KEY);
INSERT INTO p VALUES (1, 'a'), (2, 'b');
INSERT INTO c VALUES (10, 1, 'a'), (11, 2, 'b');
INSERT INTO q VALUES (1);
";

#[test]
fn truncate_on_postgres_with_an_empty_table_outside_the_job_referencing_a_job_table() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(PARENTS);
    for (id, checks) in [(3, "enforce"), (4, "verify")] {
        let dest = TestDb::create(Engine::Postgres);
        sync(&one_job(&src, &dest, "", "")).expect("first copy");
        // `notes` is not the job's: empty, or its rows referencing nothing.
        dest.exec(
            "CREATE TABLE notes (id int PRIMARY KEY, p_id int REFERENCES p(id));
             INSERT INTO notes VALUES (1, NULL);
             CREATE TABLE tags (id int PRIMARY KEY, c_id int REFERENCES c(id));",
        );
        src.exec(&format!("INSERT INTO p VALUES ({id}, '{checks}')"));
        let job = one_job(&src, &dest, "", &format!("truncate = true\nchecks = \"{checks}\"\n"));
        let report = sync(&job).unwrap_or_else(|e| panic!("{checks}: {e}"));
        assert!(report.ok, "{checks}: {report:?}");
        for (table, key) in [("p", "id"), ("c", "id"), ("q", "id")] {
            assert_eq!(rows(&dest, table, key), rows(&src, table, key), "{checks}: {table}");
        }
        assert_eq!(rows(&dest, "notes", "id"), [["1", "NULL"]], "{checks}: not the job's");
    }
}

/// The reviewer's B5: `notes` outside the job references `p.code`, a key `update` changes.
#[test]
fn verify_with_update_is_refused_where_an_outsider_s_rows_would_not_follow_a_changed_key() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(PARENTS);
    for engine in [Engine::Postgres, Engine::Mysql] {
        let dest = TestDb::create(engine);
        sync(&one_job(&src, &dest, "", "")).expect("first copy");
        dest.exec(
            "CREATE TABLE notes (id int PRIMARY KEY, p_code varchar(10), \
             CONSTRAINT notes_p_fk FOREIGN KEY (p_code) REFERENCES p(code) ON UPDATE CASCADE);
             INSERT INTO notes VALUES (1, 'a');",
        );
        src.exec("UPDATE p SET code = 'z' WHERE id = 1");
        let job = one_job(&src, &dest, "", "on_conflict = \"update\"\nchecks = \"verify\"\n");
        let err = sync(&job).expect_err("refused");
        let text = err.to_string();
        assert!(
            matches!(err, SyncError::Plan(_))
                && text.contains(
                    "may change p's key (code), which rows of notes reference through foreign key notes_p_fk"
                ),
            "{engine}: {text}"
        );
        assert_eq!(keys(&dest, "p", "code"), ["a", "b"], "{engine}: nothing written");
        // With the checks on, the destination's own cascade follows.
        let report = sync(&one_job(&src, &dest, "", "on_conflict = \"update\"\n")).expect("enforce");
        assert!(report.ok, "{engine}: {report:?}");
        assert_eq!(rows(&dest, "notes", "id"), [["1", "z"]], "{engine}");
        src.exec("UPDATE p SET code = 'a' WHERE id = 1");
    }
}

#[test]
fn verify_counts_orphans_of_a_destination_table_outside_the_job() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(PARENTS);
    for engine in [Engine::Postgres, Engine::Mysql] {
        let dest = TestDb::create(engine);
        sync(&one_job(&src, &dest, "", "")).expect("first copy");
        let off = match engine {
            Engine::Postgres => "SET session_replication_role = replica",
            _ => "SET foreign_key_checks = 0",
        };
        dest.exec(&format!(
            "CREATE TABLE notes (id int PRIMARY KEY, p_id int, CONSTRAINT notes_p_fk FOREIGN KEY (p_id) REFERENCES p(id));
             {off}; INSERT INTO notes VALUES (1, 1), (2, 99);"
        ));
        let job = one_job(&src, &dest, "", "on_conflict = \"update\"\nchecks = \"verify\"\n");
        let report = sync(&job).expect("runs: p's key is its primary key, which update does not change");
        let v = &report.verification[0];
        assert!(!report.ok, "{engine}: {report:?}");
        let found: Vec<(&str, &str, u64, &[String])> = v
            .orphans
            .iter()
            .map(|o| (o.table.as_str(), o.foreign_key.as_str(), o.count, o.examples.as_slice()))
            .collect();
        let table = match engine {
            Engine::Postgres => "public.notes",
            _ => "notes",
        };
        assert_eq!(
            found,
            [(table, "notes_p_fk", 1, &["(id)=('2')".to_string()][..])],
            "{engine}"
        );
    }
}
