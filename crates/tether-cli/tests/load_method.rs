//! How `tether plan` says each destination will load (staging schemas, one
//! transaction, batches, and why a load does not stage), that `tether sync` then loads
//! that way, and what a sync that fails mid-load leaves on a MariaDB destination.

use serde_json::{json, Value};
use tether_testkit::{TestDb, TestEngine as Engine};

fn tether(args: &[&str]) -> (i32, String, String) {
    tether_testkit::run(env!("CARGO_BIN_EXE_tether"), args)
}

/// A job file with `source` and one `[[destinations]]` per URL.
fn job(dir: &tether_testkit::ScratchDir, source: &str, destinations: &[&str]) -> String {
    let mut text = format!("source = \"{source}\"\n");
    for d in destinations {
        text.push_str(&format!("[[destinations]]\nurl = \"{d}\"\n"));
    }
    let path = dir.join("job.toml");
    std::fs::write(&path, text).expect("job");
    path.to_str().expect("utf-8").to_string()
}

/// The plan as text and as JSON.
fn plan(job: &str) -> (String, Value) {
    let (code, text, err) = tether(&["plan", job]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = tether(&["plan", job, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    (text, serde_json::from_str(&out).expect("JSON plan"))
}

/// The `load:` lines of a text plan.
fn load_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("  load: ")).collect()
}

fn count(db: &TestDb, sql: &str) -> i64 {
    db.query(sql)[0][0].as_deref().expect("count").parse().expect("number")
}

const PG_SOURCE: &str = "CREATE TABLE parent (id int PRIMARY KEY, name text NOT NULL);
     CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent (id), note text);
     INSERT INTO parent SELECT g, 'p' || g FROM generate_series(1, 20) g;
     INSERT INTO child SELECT g, 1 + g % 20, 'c' || g FROM generate_series(1, 50) g;";

/// A PostgreSQL source of a parent and a child table.
fn pg_source() -> TestDb {
    let source = TestDb::create(Engine::Postgres);
    source.exec(PG_SOURCE);
    source
}

const STAGED: &str = "  load: through staging schemas on 2 connections (keys, indexes and foreign keys built there; \
                      the tables move into place in one transaction)";
const ONE_TRANSACTION: &str =
    "  load: in one transaction (foreign keys dropped, created again and validated before COMMIT)";

#[test]
fn plan_says_staging_and_the_sync_stages() {
    let dir = tether_testkit::ScratchDir::new("load_staged");
    let source = pg_source();
    let dest = TestDb::create(Engine::Postgres);
    let job = job(&dir, &source.url, &[&dest.url]);
    let (text, json) = plan(&job);
    assert_eq!(load_lines(&text), [STAGED], "{text}");
    assert_eq!(
        json["destinations"][0]["load"],
        json!({"method": "staging", "connections": 2})
    );
    let shown = json["destinations"][0]["url"].as_str().expect("url").to_string();

    let (code, _, err) = tether(&["sync", &job]);
    assert_eq!(code, 0, "{err}");
    // The run decided the same and loaded that way.
    assert!(err.contains(&format!("{shown}: {}", STAGED.trim_start())), "{err}");
    assert!(
        err.contains("loading into the staging schemas on 2 connections"),
        "{err}"
    );
    assert!(
        err.contains("moving 2 tables to their schemas in one transaction"),
        "{err}"
    );
    assert_eq!(count(&dest, "SELECT count(*) FROM child"), 50);
    assert_eq!(
        count(
            &dest,
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE '\\_tether\\_stage\\_%'"
        ),
        0
    );
}

#[test]
fn plan_says_why_a_load_is_not_staged_and_the_sync_does_what_it_said() {
    let dir = tether_testkit::ScratchDir::new("load_fallbacks");
    let source = pg_source();

    // Several destinations: one transaction each.
    let (d1, d2) = (TestDb::create(Engine::Postgres), TestDb::create(Engine::Postgres));
    let job2 = job(&dir, &source.url, &[&d1.url, &d2.url]);
    let (text, json) = plan(&job2);
    let several = format!("{ONE_TRANSACTION}; not staged: the job has 2 destinations (staging needs one)");
    assert_eq!(load_lines(&text), [several.as_str(), several.as_str()], "{text}");
    for i in 0..2 {
        assert_eq!(
            json["destinations"][i]["load"],
            json!({"method": "one_transaction", "fallback": {"reason": "several_destinations", "destinations": 2}})
        );
    }
    let (code, _, err) = tether(&["sync", &job2]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches("loading in one transaction").count(), 2, "{err}");
    assert!(!err.contains("staging schemas"), "{err}");
    assert_eq!(count(&d2, "SELECT count(*) FROM child"), 50);

    // Default privileges of the role on the destination.
    let dest = TestDb::create(Engine::Postgres);
    dest.exec("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC");
    let job1 = job(&dir, &source.url, &[&dest.url]);
    let (text, json) = plan(&job1);
    assert_eq!(
        load_lines(&text),
        [format!(
            "{ONE_TRANSACTION}; not staged: the role has default privileges for new tables or sequences"
        )],
        "{text}"
    );
    assert_eq!(
        json["destinations"][0]["load"],
        json!({"method": "one_transaction", "fallback": {"reason": "default_privileges"}})
    );
    let (code, _, err) = tether(&["sync", &job1]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("loading in one transaction"), "{err}");
    // The default privileges applied, as they would to tables created in place.
    assert_eq!(
        count(
            &dest,
            "SELECT count(*) FROM information_schema.role_table_grants WHERE grantee = 'PUBLIC' AND table_name = 'child'"
        ),
        1
    );

    // A partitioned table.
    let source = TestDb::create(Engine::Postgres);
    source.exec(
        "CREATE TABLE event (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
         CREATE TABLE event_2026 PARTITION OF event FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
         INSERT INTO event VALUES (1, '2026-03-01'), (2, '2026-04-01');",
    );
    let dest = TestDb::create(Engine::Postgres);
    let job1 = job(&dir, &source.url, &[&dest.url]);
    let (text, json) = plan(&job1);
    assert_eq!(
        load_lines(&text),
        [format!("{ONE_TRANSACTION}; not staged: table event is partitioned")],
        "{text}"
    );
    assert_eq!(
        json["destinations"][0]["load"],
        json!({"method": "one_transaction", "fallback": {"reason": "partitioned", "table": "event"}})
    );
    let (code, _, err) = tether(&["sync", &job1]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("loading in one transaction"), "{err}");
    assert_eq!(count(&dest, "SELECT count(*) FROM event_2026"), 2);

    // Tables there already (a second run): one transaction.
    let (text, json) = plan(&job1);
    assert_eq!(
        load_lines(&text),
        [format!(
            "{ONE_TRANSACTION}; not staged: tables exist there already: event"
        )],
        "{text}"
    );
    assert_eq!(
        json["destinations"][0]["load"]["fallback"],
        json!({"reason": "tables_exist", "tables": ["event"]})
    );
}

#[test]
fn plan_says_batches_for_mariadb_and_checks_verify() {
    let dir = tether_testkit::ScratchDir::new("load_batches");
    let source = pg_source();
    let my = TestDb::create(Engine::Mysql);
    let job1 = job(&dir, &source.url, &[&my.url]);
    let (text, json) = plan(&job1);
    assert_eq!(
        load_lines(&text),
        [
            "  load: in batches, each committed, foreign keys checked row by row (a failure drops the tables this \
          run created); not staged: a mysql destination cannot load in one transaction with its foreign keys dropped"
        ],
        "{text}"
    );
    assert_eq!(
        json["destinations"][0]["load"],
        json!({"method": "batches", "fallback": {"reason": "no_transactional_ddl", "engine": "mysql"}})
    );

    let pg = TestDb::create(Engine::Postgres);
    let path = dir.join("verify.toml");
    std::fs::write(
        &path,
        format!(
            "source = \"{}\"\n[[destinations]]\nurl = \"{}\"\nchecks = \"verify\"\n",
            source.url, pg.url
        ),
    )
    .expect("job");
    let (text, json) = plan(path.to_str().expect("utf-8"));
    assert_eq!(
        load_lines(&text),
        [
            "  load: in batches, each committed, foreign-key checks off, verified after (a failure drops the tables \
          this run created); not staged: checks = \"verify\""
        ],
        "{text}"
    );
    assert_eq!(json["destinations"][0]["load"]["method"], "batches");
}

/// A MariaDB source of three tables loaded in the order a, b, c (c -> b -> a).
const MY_SOURCE: &str = "CREATE TABLE a (id int PRIMARY KEY) ENGINE=InnoDB;
     CREATE TABLE b (id int PRIMARY KEY, a_id int NOT NULL, FOREIGN KEY (a_id) REFERENCES a (id)) ENGINE=InnoDB;
     CREATE TABLE c (id int PRIMARY KEY, b_id int NOT NULL, v varchar(20) NOT NULL,
                     FOREIGN KEY (b_id) REFERENCES b (id)) ENGINE=InnoDB;
     INSERT INTO a VALUES (1), (2), (3);
     INSERT INTO b VALUES (1, 1), (2, 2), (3, 3), (4, 1);
     INSERT INTO c VALUES (1, 1, 'one'), (2, 2, 'two'), (3, 3, 'three'), (4, 4, 'four'), (5, 1, 'five'),
                          (6, 2, 'six and more'), (7, 3, 'seven'), (8, 4, 'eight');";

fn tables(db: &TestDb) -> Vec<String> {
    db.query("SHOW TABLES")
        .into_iter()
        .filter_map(|r| r[0].clone())
        .collect()
}

#[test]
fn a_failed_mariadb_load_drops_the_tables_it_created() {
    let dir = tether_testkit::ScratchDir::new("load_my_created");
    let source = TestDb::create(Engine::Mysql);
    source.exec(MY_SOURCE);
    // A CHECK the source's rows do not all hold (added without checking them): the
    // copy, created with it, rejects row 6 of c, the third table loaded.
    source.exec(
        "SET SESSION check_constraint_checks = 0; ALTER TABLE c ADD CONSTRAINT c_short CHECK (char_length(v) <= 5)",
    );
    let dest = TestDb::create(Engine::Mysql);
    let job = job(&dir, &source.url, &[&dest.url]);
    let (_, json) = plan(&job);
    let shown = json["destinations"][0]["url"].as_str().expect("url").to_string();
    assert_eq!(json["destinations"][0]["load"]["method"], "batches");

    let (code, out, err) = tether(&["sync", &job]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(&format!(
            "{shown}: table c: row (id)=(6) was rejected: server error 4025 (23000): CONSTRAINT `c_short` failed for `{}`.`c` \
             (undone: 3 tables created by this run dropped again (a, b, c))",
            dest.name
        )),
        "{err}"
    );
    // As before the run.
    assert_eq!(tables(&dest), Vec::<String>::new());
}

#[test]
fn a_failed_mariadb_load_into_existing_tables_names_the_rows_it_left() {
    let dir = tether_testkit::ScratchDir::new("load_my_existing");
    let source = TestDb::create(Engine::Mysql);
    source.exec(MY_SOURCE);

    // Every table there, c with a CHECK refusing its sixth row. (Not a trigger: a
    // destination's triggers are dropped for the load.)
    let dest = TestDb::create(Engine::Mysql);
    dest.exec(&MY_SOURCE[..MY_SOURCE.find("INSERT").expect("inserts")]);
    dest.exec("ALTER TABLE c ADD CONSTRAINT c_full CHECK (id <= 5)");
    let job1 = job(&dir, &source.url, &[&dest.url]);
    let (_, json) = plan(&job1);
    let shown = json["destinations"][0]["url"].as_str().expect("url").to_string();
    let (code, out, err) = tether(&["sync", &job1]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(&format!(
            "{shown}: table c: row (id)=(6) was rejected: server error 4025 (23000): CONSTRAINT `c_full` failed \
             for `{}`.`c` (5 rows of c were written before it; rows this run wrote into tables that were there \
             stay: a: 3, b: 4)",
            dest.name
        )),
        "{err}"
    );
    let counts: Vec<i64> = ["a", "b", "c"]
        .iter()
        .map(|t| count(&dest, &format!("SELECT count(*) FROM {t}")))
        .collect();
    assert_eq!(counts, [3, 4, 5]);

    // Only c there, its column narrower than the source's: a and b are created, and
    // dropped again when a value of c does not fit.
    let dest = TestDb::create(Engine::Mysql);
    dest.exec("CREATE TABLE c (id int PRIMARY KEY, b_id int NOT NULL, v varchar(5) NOT NULL) ENGINE=InnoDB");
    let job1 = job(&dir, &source.url, &[&dest.url]);
    let (_, json) = plan(&job1);
    let shown = json["destinations"][0]["url"].as_str().expect("url").to_string();
    let (code, out, err) = tether(&["sync", &job1]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(&format!(
            "{shown}: table c: row (id)=(6) was rejected: server error 1406 (22001): Data too long for column 'v' at row 1 \
             (5 rows of c were written before it; undone: 2 tables created by this run dropped again (a, b))"
        )),
        "{err}"
    );
    assert_eq!(tables(&dest), ["c"]);
    assert_eq!(count(&dest, "SELECT count(*) FROM c"), 5);
}

/// Two destinations, the second rejecting a row of c: the error says what the first
/// kept too (its rows stay in tables that were there), not only the rejecting one.
#[test]
fn a_rejected_row_on_one_destination_says_what_every_destination_kept() {
    let dir = tether_testkit::ScratchDir::new("load_two_kept");
    let source = TestDb::create(Engine::Mysql);
    source.exec(MY_SOURCE);
    let schema = &MY_SOURCE[..MY_SOURCE.find("INSERT").expect("inserts")];
    let lite = TestDb::create(Engine::Sqlite);
    lite.exec(&schema.replace(" ENGINE=InnoDB", ""));
    let my = TestDb::create(Engine::Mysql);
    my.exec(schema);
    my.exec("ALTER TABLE c ADD CONSTRAINT c_full CHECK (id <= 5)");
    let job1 = job(&dir, &source.url, &[&lite.url, &my.url]);
    let (_, json) = plan(&job1);
    let shown: Vec<String> = (0..2)
        .map(|i| json["destinations"][i]["url"].as_str().expect("url").to_string())
        .collect();
    let (code, out, err) = tether(&["sync", &job1]);
    assert_eq!(code, 1, "{out}{err}");
    // (Whether the first destination wrote c's one batch before the second refused it
    // is a race; the message says what it holds.)
    let lite_c = count(&lite, "SELECT count(*) FROM c");
    let c_kept = match lite_c {
        0 => String::new(),
        n => format!(", c: {n} (the job stopped while copying it)"),
    };
    assert!(
        err.contains(&format!(
            "{}: table c: row (id)=(6) was rejected: server error 4025 (23000): CONSTRAINT `c_full` failed \
             for `{}`.`c` (5 rows of c were written before it; rows this run wrote into tables that were there \
             stay: a: 3, b: 4; the other destinations stopped too: {}: rows this run wrote into tables that \
             were there stay: a: 3, b: 4{c_kept})",
            shown[1], my.name, shown[0]
        )),
        "{err}"
    );
    assert_eq!(count(&lite, "SELECT count(*) FROM a"), 3);
    assert_eq!(count(&lite, "SELECT count(*) FROM b"), 4);
    assert!(lite_c <= 8, "{lite_c}");
}

#[test]
fn plan_names_the_table_that_keeps_a_load_from_staging() {
    let dir = tether_testkit::ScratchDir::new("load_reasons");
    let dest = TestDb::create(Engine::Postgres);
    // (source script, the plan's fallback as JSON, as text)
    let cases = [
        (
            "CREATE TABLE base (id int PRIMARY KEY); CREATE TABLE sub (note text) INHERITS (base);",
            json!({"reason": "inheritance", "table": "sub"}),
            "table sub uses inheritance",
        ),
        (
            "CREATE SEQUENCE shared_ids; CREATE TABLE q (id int PRIMARY KEY DEFAULT nextval('shared_ids'));",
            json!({"reason": "sequence_not_owned", "table": "q", "sequence": "shared_ids"}),
            "table q uses sequence shared_ids, which it does not own",
        ),
        (
            "CREATE FUNCTION positive(int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 > 0';
             CREATE TABLE f (id int PRIMARY KEY CHECK (positive(id)));",
            json!({"reason": "user_function", "table": "f", "function": "public.positive"}),
            "table f calls user function public.positive in an expression",
        ),
    ];
    for (script, fallback, text) in cases {
        let source = TestDb::create(Engine::Postgres);
        source.exec(script);
        let job1 = job(&dir, &source.url, &[&dest.url]);
        let (plan_text, json) = plan(&job1);
        assert_eq!(
            load_lines(&plan_text),
            [format!("{ONE_TRANSACTION}; not staged: {text}")],
            "{plan_text}"
        );
        assert_eq!(
            json["destinations"][0]["load"],
            json!({"method": "one_transaction", "fallback": fallback})
        );
    }
}

#[test]
fn a_failed_one_transaction_load_leaves_postgresql_as_before() {
    let dir = tether_testkit::ScratchDir::new("load_pg_undo");
    let source = pg_source();
    // child is there already, with a CHECK a source row breaks; parent is created.
    let dest = TestDb::create(Engine::Postgres);
    dest.exec(
        "CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL, note text CHECK (note <> 'c7'));
         INSERT INTO child VALUES (100, 1, 'mine');",
    );
    let job1 = job(&dir, &source.url, &[&dest.url]);
    let (_, json) = plan(&job1);
    assert_eq!(json["destinations"][0]["load"]["method"], "one_transaction");
    let shown = json["destinations"][0]["url"].as_str().expect("url").to_string();
    let (code, out, err) = tether(&["sync", &job1]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(&format!("{shown}: table child: row (id)=(7) was rejected: ")),
        "{err}"
    );
    assert!(
        err.contains(
            "(nothing was written: the load runs in one transaction, rolled back; \
             undone: 1 table created by this run dropped again (parent))"
        ),
        "{err}"
    );
    let tables: Vec<Option<String>> = dest
        .query("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(tables, [Some("child".to_string())]);
    assert_eq!(count(&dest, "SELECT count(*) FROM child"), 1);
}
