//! What the plan says about the schema it creates, checked against what the copy then
//! does (the twelfth review): tables that would land in one destination table, triggers
//! naming tables the job leaves out, keys and foreign keys the destination engine makes
//! weaker or refuses, foreign key names MariaDB keeps per database, and materialized
//! views over tables a load writes into.

mod common;

use common::*;
use tether_sync::schema_plan::{Action, SchemaItem};
use tether_testkit::{TestDb, TestEngine as Engine};

fn plan_of(text: &str) -> tether_sync::Plan {
    let job = tether_sync::Job::parse("job.toml", text, &|_| None).expect("job");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async { tether_sync::prepare(&job).await.expect("plan").plan })
}

/// The schema report's lines (as `tether plan` prints them) that mention `word`.
fn plan_lines(text: &str, word: &str) -> Vec<String> {
    let plan = plan_of(text);
    let report = plan.destinations[0].schema.as_ref().expect("the destination was read");
    report
        .to_text()
        .lines()
        .map(str::trim)
        .filter(|l| l.contains(word))
        .map(String::from)
        .collect()
}

fn items(text: &str) -> Vec<SchemaItem> {
    let plan = plan_of(text);
    plan.destinations[0]
        .schema
        .as_ref()
        .expect("the destination was read")
        .objects
        .clone()
}

/// Runs `sql` on `db` and returns the error text it fails with (it must fail).
fn refused(db: &TestDb, sql: &str) -> String {
    let err = std::panic::catch_unwind(|| db.exec(sql)).expect_err(sql);
    err.downcast_ref::<String>().cloned().unwrap_or_default()
}

// ---- B6: two job tables, one destination table ------------------------------------

const TWO_ORDERS: &str = "
CREATE SCHEMA sales;
CREATE TABLE public.sales_orders (id int PRIMARY KEY, v text);
CREATE TABLE sales.orders (id int PRIMARY KEY, v text);
INSERT INTO public.sales_orders VALUES (1, 'public one'), (2, 'public two');
INSERT INTO sales.orders VALUES (3, 'sales three'), (4, 'sales four');
";

#[test]
fn tables_flattened_into_one_name_are_a_plan_error_on_mariadb_and_sqlite() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(TWO_ORDERS);
    let maria = TestDb::create(Engine::Mysql);
    // A table from an earlier run: both source tables would be written into it.
    maria.exec("CREATE TABLE sales_orders (id int PRIMARY KEY, v text)");
    let sqlite = TestDb::create(Engine::Sqlite);
    let pg = TestDb::create(Engine::Postgres);
    for (n, dest) in [(1, &maria), (2, &sqlite)] {
        let e = sync(&job(&src, &[dest], "")).expect_err("one table there");
        assert!(matches!(e, tether_sync::SyncError::Plan(_)), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!(
                "destination #1 {}: tables `sales_orders` and `sales.orders` would be one table there: both are \
                 `sales_orders` there; exclude one of them in [tables]",
                dest.url
            ),
            "case {n}"
        );
    }
    assert_eq!(one(&maria, "SELECT count(*) FROM sales_orders"), "0");
    assert_eq!(
        one(&sqlite, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"),
        "0"
    );
    // PostgreSQL keeps the schemas: two tables.
    let done = sync(&job(&src, &[&pg], "")).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_eq!(
        rows(&pg, "sales.orders", "id"),
        [["3", "sales three"], ["4", "sales four"]]
    );
    assert_eq!(
        rows(&pg, "public.sales_orders", "id"),
        [["1", "public one"], ["2", "public two"]]
    );
    // Without one of them, MariaDB gets the other.
    let done = sync(&job(&src, &[&maria], "[tables]\nexclude = [\"sales.orders\"]\n")).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_eq!(
        rows(&maria, "sales_orders", "id"),
        [["1", "public one"], ["2", "public two"]]
    );
}

#[test]
fn a_flattened_name_over_64_characters_is_a_plan_error_for_mariadb() {
    let src = TestDb::create(Engine::Postgres);
    let schema = "s".repeat(30);
    let table = "t".repeat(40);
    src.exec(&format!(
        "CREATE SCHEMA {schema}; CREATE TABLE {schema}.{table} (id int PRIMARY KEY);"
    ));
    let maria = TestDb::create(Engine::Mysql);
    let e = sync(&job(&src, &[&maria], "")).expect_err("too long");
    assert_eq!(
        e.to_string(),
        format!(
            "destination #1 {}: table `{schema}_{table}` has a name of 71 characters; MariaDB/MySQL refuse a name \
             over 64; exclude the table in [tables] or rename it at the source",
            maria.url
        )
    );
    assert_eq!(
        one(
            &maria,
            "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
        ),
        "0"
    );
}

// ---- B13: triggers naming tables the job leaves out ------------------------------

#[test]
fn a_sqlite_trigger_writing_an_excluded_table_is_skipped_and_the_copy_takes_inserts() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE ai (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);
         CREATE TABLE wr (k TEXT PRIMARY KEY, n INT NOT NULL) WITHOUT ROWID;
         CREATE TABLE kept (id INTEGER PRIMARY KEY, n INT);
         CREATE TRIGGER trg AFTER INSERT ON ai BEGIN INSERT INTO wr VALUES ('t'||NEW.id, NEW.id); END;
         CREATE TRIGGER trg_kept AFTER INSERT ON ai BEGIN INSERT INTO kept (n) VALUES (NEW.id); END;
         INSERT INTO ai (v) VALUES ('a');",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let text = job(&src, &[&dest], "[tables]\nexclude = [\"wr\"]\n");
    assert_eq!(
        plan_lines(&text, "trigger"),
        [
            "skipped trigger ai.trg (it names wr, which the job does not copy: every statement firing it would \
             fail on the copy)",
            "created trigger ai.trg_kept",
        ]
    );
    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    dest.exec("INSERT INTO ai (v) VALUES ('z')");
    assert_eq!(rows(&dest, "ai", "id"), [["1", "a"], ["2", "z"]]);
    // The trigger naming a copied table fired (the copied row 1, then 2).
    assert_eq!(rows(&dest, "kept", "id"), [["1", "1"], ["2", "2"]]);
}

#[test]
fn a_postgres_trigger_whose_function_writes_an_excluded_table_is_skipped_with_its_function() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE t (id int PRIMARY KEY, v text);
         CREATE TABLE log (id serial PRIMARY KEY, msg text);
         CREATE TABLE seen (id int PRIMARY KEY);
         CREATE FUNCTION trg_f() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN INSERT INTO log (msg) VALUES (TG_NAME || ':' || NEW.id); RETURN NEW; END $$;
         CREATE FUNCTION note(i int) RETURNS void LANGUAGE plpgsql AS $$ BEGIN INSERT INTO seen VALUES (i); END $$;
         CREATE FUNCTION seen_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM note(NEW.id); RETURN NEW; END $$;
         CREATE FUNCTION deep_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM trg_f_helper(NEW.id); RETURN NEW; END $$;
         CREATE FUNCTION trg_f_helper(i int) RETURNS void LANGUAGE plpgsql AS $$
           BEGIN UPDATE public.log SET msg = msg WHERE id = i; END $$;
         CREATE TRIGGER t_on AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg_f();
         CREATE TRIGGER t_deep AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION deep_f();
         CREATE TRIGGER t_seen AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION seen_f();
         INSERT INTO t VALUES (1, 'a');",
    );
    let dest = TestDb::create(Engine::Postgres);
    let text = job(&src, &[&dest], "[tables]\nexclude = [\"log\"]\n");
    let mut lines = plan_lines(&text, "trigger");
    lines.extend(plan_lines(&text, "function"));
    lines.sort();
    lines.dedup();
    assert_eq!(
        lines,
        [
            "created function public.seen_f (used by t)",
            "created trigger t.t_seen",
            "skipped function public.deep_f (used by t) (only triggers left out here run it)",
            "skipped function public.trg_f (used by t) (only triggers left out here run it)",
            "skipped trigger t.t_deep (it names log (in function public.trg_f_helper, which it runs), which the \
             job does not copy: every statement firing it would fail on the copy)",
            "skipped trigger t.t_on (it names log (in function public.trg_f, which it runs), which the job does \
             not copy: every statement firing it would fail on the copy)",
        ]
    );
    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    dest.exec("INSERT INTO t VALUES (100, 'x')");
    assert_eq!(rows(&dest, "t", "id"), [["1", "a"], ["100", "x"]]);
    assert_eq!(rows(&dest, "seen", "id"), [["1"], ["100"]]);
    // Only the functions the kept trigger runs are there.
    assert_eq!(
        dest.query("SELECT proname::text FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1"),
        [["note"], ["seen_f"]].map(|r| r.map(|v| Some(v.to_string())))
    );
}

#[test]
fn a_mariadb_trigger_writing_an_excluded_table_is_skipped_and_the_copy_takes_inserts() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE t (id int PRIMARY KEY, v int);
         CREATE TABLE audit (id int AUTO_INCREMENT PRIMARY KEY, t_id int, note varchar(50));
         CREATE TABLE kept (id int PRIMARY KEY);
         CREATE TRIGGER trg AFTER INSERT ON t FOR EACH ROW INSERT INTO audit (t_id, note) VALUES (NEW.id, 'ins');
         CREATE PROCEDURE keep_it(i int) INSERT INTO kept VALUES (i);
         CREATE TRIGGER trg_kept AFTER INSERT ON t FOR EACH ROW CALL keep_it(NEW.id);
         INSERT INTO t VALUES (1, 1);",
    );
    let dest = TestDb::create(Engine::Mysql);
    let text = job(&src, &[&dest], "[tables]\nexclude = [\"audit\"]\n");
    assert_eq!(
        plan_lines(&text, "trigger"),
        [
            "skipped trigger t.trg (it names audit, which the job does not copy: every statement firing it would \
             fail on the copy)",
            "created trigger t.trg_kept",
        ]
    );
    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    dest.exec("INSERT INTO t VALUES (2, 2)");
    assert_eq!(rows(&dest, "t", "id"), [["1", "1"], ["2", "2"]]);
    assert_eq!(rows(&dest, "kept", "id"), [["1"], ["2"]]);
}

// ---- B14, B15: what MariaDB and SQLite make weaker -------------------------------

#[test]
fn nulls_not_distinct_keys_are_reported_mapped_not_created() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE nnd (id int PRIMARY KEY, code text, CONSTRAINT nnd_code UNIQUE NULLS NOT DISTINCT (code));
         CREATE TABLE nnd2 (id int PRIMARY KEY, a int, b int);
         CREATE UNIQUE INDEX nnd2_ab ON nnd2 (a, b) NULLS NOT DISTINCT;
         CREATE TABLE plain (id int PRIMARY KEY, code text NOT NULL,
           CONSTRAINT plain_code UNIQUE NULLS NOT DISTINCT (code));
         INSERT INTO nnd VALUES (1, 'x'), (2, NULL); INSERT INTO nnd2 VALUES (1, 1, NULL);
         INSERT INTO plain VALUES (1, 'x');",
    );
    for engine in [Engine::Mysql, Engine::Sqlite] {
        let dest = TestDb::create(engine);
        let text = job(&src, &[&dest], "");
        let name = engine.to_string();
        let why = |cols: &str| {
            format!(
                "({name} has no NULLS NOT DISTINCT: the copy takes a second row with NULL in {cols}, which the \
                 source refuses)"
            )
        };
        let mut lines = plan_lines(&text, "unique");
        lines.sort();
        assert_eq!(
            lines,
            [
                // Over a NOT NULL column it means nothing more.
                "created unique key plain.plain_code".to_string(),
                "mapped  index nnd2.nnd2_ab: unique index NULLS NOT DISTINCT -> a UNIQUE key of the table \
                 (NULLs distinct)"
                    .to_string(),
                format!(
                    "mapped  unique key nnd.nnd_code: UNIQUE NULLS NOT DISTINCT -> UNIQUE (NULLs distinct) {}",
                    why("code")
                ),
                format!(
                    "mapped  unique key nnd2.nnd2_ab: UNIQUE NULLS NOT DISTINCT -> UNIQUE (NULLs distinct) {}",
                    why("a, b")
                ),
            ],
            "{engine}"
        );
        let done = sync(&text).expect("sync");
        assert!(done.ok, "{done:?}");
        // What the plan said: the copy takes the duplicate NULL the source refuses.
        dest.exec("INSERT INTO nnd VALUES (3, NULL)");
        assert!(refused(&src, "INSERT INTO nnd VALUES (3, NULL)").contains("23505"));
    }
}

#[test]
fn a_deferrable_foreign_key_to_mariadb_is_reported_checked_at_each_statement() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE p (id int PRIMARY KEY);
         CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED);
         CREATE TABLE d (id int PRIMARY KEY, p_id int, CONSTRAINT d_p FOREIGN KEY (p_id) REFERENCES p (id) DEFERRABLE);
         INSERT INTO p VALUES (1); INSERT INTO c VALUES (1, 1); INSERT INTO d VALUES (1, 1);",
    );
    let maria = TestDb::create(Engine::Mysql);
    let text = job(&src, &[&maria], "");
    let why = "(mysql checks a foreign key at each statement: a transaction writing a child row before its parent \
               fails there)";
    assert_eq!(
        plan_lines(&text, "foreign key"),
        [
            "created foreign key c.c_p_id_fkey".to_string(),
            format!("skipped foreign key option c.c_p_id_fkey (DEFERRABLE INITIALLY DEFERRED) {why}"),
            "created foreign key d.d_p".to_string(),
            format!("skipped foreign key option d.d_p (DEFERRABLE) {why}"),
        ]
    );
    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    assert!(refused(&maria, "INSERT INTO c VALUES (2, 2)").contains("1452"));
    // SQLite keeps it: no such line.
    let sqlite = TestDb::create(Engine::Sqlite);
    assert_eq!(
        plan_lines(&job(&src, &[&sqlite], ""), "foreign key"),
        ["created foreign key c.c_p_id_fkey", "created foreign key d.d_p"]
    );
}

// ---- B20: MariaDB keeps foreign key names per database ---------------------------

#[test]
fn same_named_foreign_keys_get_names_of_their_own_on_mariadb() {
    let pg = TestDb::create(Engine::Postgres);
    let fks = "CREATE TABLE p (id int PRIMARY KEY);
         CREATE TABLE c1 (id int PRIMARY KEY, p_id int, CONSTRAINT fk_parent FOREIGN KEY (p_id) REFERENCES p (id));
         CREATE TABLE c2 (id int PRIMARY KEY, p_id int,
           CONSTRAINT fk_parent FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE CASCADE);
         INSERT INTO p VALUES (1), (2); INSERT INTO c1 VALUES (1, 1); INSERT INTO c2 VALUES (1, 1), (2, 2);";
    pg.exec(fks);
    let sqlite = TestDb::create(Engine::Sqlite);
    sqlite.exec(fks);
    for src in [&pg, &sqlite] {
        let maria = TestDb::create(Engine::Mysql);
        // A key of that name the destination has already (another table, not the job's).
        maria.exec(
            "CREATE TABLE other_p (id int PRIMARY KEY); \
             CREATE TABLE other (id int PRIMARY KEY, p int, CONSTRAINT c2_fk_parent FOREIGN KEY (p) REFERENCES other_p (id))",
        );
        let text = job(src, &[&maria], "");
        let from = src.engine.to_string();
        assert_eq!(
            plan_lines(&text, "foreign key"),
            [
                "created foreign key c1.fk_parent".to_string(),
                format!(
                    "mapped  foreign key c2.fk_parent: fk_parent -> c2_fk_parent_2 (foreign key names are per table \
                     on {from}, per database on mysql, where another table's key has it)"
                ),
            ],
            "{from}"
        );
        let done = sync(&text).expect("sync");
        assert!(done.ok, "{done:?}");
        assert_eq!(
            maria.query(
                "SELECT TABLE_NAME, CONSTRAINT_NAME, DELETE_RULE FROM information_schema.REFERENTIAL_CONSTRAINTS \
                 WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY 1"
            ),
            [
                ["c1", "fk_parent", "NO ACTION"],
                ["c2", "c2_fk_parent_2", "CASCADE"],
                ["other", "c2_fk_parent", "RESTRICT"]
            ]
            .map(|r| r.map(|v| Some(v.to_string()))),
            "{from}"
        );
        maria.exec("DELETE FROM c1; DELETE FROM p WHERE id = 2");
        assert_eq!(rows(&maria, "c2", "id"), [["1", "1"]], "{from}");
    }
}

// ---- B21: a MariaDB foreign key onto a non-unique column -------------------------

#[test]
fn a_mariadb_foreign_key_onto_a_non_unique_column_is_skipped_for_postgres_and_sqlite() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE p (id int PRIMARY KEY, grp int, KEY (grp));
         CREATE TABLE c (id int PRIMARY KEY, grp int, p_id int, FOREIGN KEY (grp) REFERENCES p (grp),
           CONSTRAINT c_p FOREIGN KEY (p_id) REFERENCES p (id));
         INSERT INTO p VALUES (1, 10), (2, 10), (3, 20); INSERT INTO c VALUES (1, 10, 1), (2, 20, 3);",
    );
    for engine in [Engine::Postgres, Engine::Sqlite] {
        let dest = TestDb::create(engine);
        let text = job(&src, &[&dest], "");
        let skipped: Vec<String> = items(&text)
            .into_iter()
            .filter(|i| i.kind == "foreign key" && i.action == Action::Skipped)
            .map(|i| format!("{} ({})", i.name, i.reason.unwrap_or_default()))
            .collect();
        assert_eq!(
            skipped,
            [format!(
                "c.c_ibfk_1 (it references p (grp), which is no primary or unique key of that table: {engine} \
                 refuses such a foreign key; the verification still checks the copy's rows against it)"
            )],
            "{engine}"
        );
        assert_eq!(plan_lines(&text, "created foreign key"), ["created foreign key c.c_p"]);
        let done = sync(&text).expect("sync");
        assert!(done.ok, "{done:?}");
        assert_eq!(done.verification[0].foreign_keys_checked, 2, "{engine}");
        assert_eq!(rows(&dest, "c", "id"), [["1", "10", "1"], ["2", "20", "3"]], "{engine}");
    }
}

// ---- B12: materialized views over tables a load writes into ----------------------

#[test]
fn postgres_materialized_views_over_loaded_tables_are_refreshed_where_populated() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE t (id int PRIMARY KEY, v int);
         INSERT INTO t SELECT g, g % 3 FROM generate_series(1, 30) g;
         CREATE MATERIALIZED VIEW mv AS SELECT v, count(*) AS n FROM t GROUP BY v;
         CREATE UNIQUE INDEX mv_v ON mv (v);
         CREATE MATERIALIZED VIEW mv_total AS SELECT sum(n) AS total FROM mv;
         CREATE MATERIALIZED VIEW mv_empty AS SELECT count(*) AS n FROM t WITH NO DATA;",
    );
    let dest = TestDb::create(Engine::Postgres);
    let schema = format!(
        "source = \"{}\"\nmode = \"schema\"\n[[destinations]]\nurl = \"{}\"\n",
        src.url, dest.url
    );
    let done = sync(&schema).expect("schema");
    assert!(done.ok, "{done:?}");
    // One the destination keeps unpopulated.
    dest.exec("REFRESH MATERIALIZED VIEW mv_empty WITH NO DATA");
    let data = schema.replace("mode = \"schema\"", "mode = \"data\"");
    let (done, phases) = sync_with_phases(&data);
    let done = done.expect("data");
    assert!(done.ok, "{done:?}");
    let said: Vec<String> = phases
        .into_iter()
        .filter(|p| p.contains("materialized view"))
        .map(|p| p.replacen(&format!("{}: ", dest.url), "", 1))
        .collect();
    assert_eq!(
        said,
        [
            "materialized view public.mv reads tables loaded: refreshed after the load",
            "materialized view public.mv_total reads tables loaded: refreshed after the load",
            "materialized view public.mv_empty reads tables loaded: left unpopulated, as it is",
        ]
    );
    assert_eq!(rows(&dest, "mv", "v"), [["0", "10"], ["1", "10"], ["2", "10"]]);
    assert_eq!(rows(&dest, "mv_total", "total"), [["30"]]);
    // Left WITH NO DATA where it was so.
    assert_eq!(
        one(
            &dest,
            "SELECT ispopulated::text FROM pg_matviews WHERE matviewname = 'mv_empty'"
        ),
        "false"
    );
    // A re-run with new rows (truncate) refreshes it again.
    src.exec("INSERT INTO t SELECT g, 5 FROM generate_series(31, 40) g; REFRESH MATERIALIZED VIEW mv;");
    let done = sync(&job(&src, &[&dest], "")).expect("re-run");
    assert!(done.ok, "{done:?}");
    assert_eq!(
        rows(&dest, "mv", "v"),
        [["0", "10"], ["1", "10"], ["2", "10"], ["5", "10"]]
    );
    assert_eq!(rows(&dest, "mv_total", "total"), [["40"]]);
}

// ---- MariaDB INVISIBLE columns elsewhere ------------------------------------------

#[test]
fn a_mariadb_invisible_column_is_reported_visible_on_postgres_and_sqlite() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE t (id int PRIMARY KEY, secret varchar(10) INVISIBLE DEFAULT 'x', v int);
         INSERT INTO t (id, secret, v) VALUES (1, 's', 2);",
    );
    for engine in [Engine::Postgres, Engine::Sqlite] {
        let dest = TestDb::create(engine);
        let text = job(&src, &[&dest], "");
        assert_eq!(
            plan_lines(&text, "INVISIBLE"),
            [format!(
                "skipped column option t.secret (INVISIBLE) ({engine} has no invisible columns: the copy's \
                 `SELECT *` shows it, and an INSERT without a column list must give it)"
            )],
            "{engine}"
        );
        let done = sync(&text).expect("sync");
        assert!(done.ok, "{done:?}");
        assert_eq!(rows(&dest, "t", "id"), [["1", "s", "2"]], "{engine}");
    }
}

/// A sync that records its progress messages.
fn sync_with_phases(job: &str) -> (Result<tether_sync::Report, tether_sync::SyncError>, Vec<String>) {
    struct Phases(std::sync::Mutex<Vec<String>>);
    impl tether_sync::Progress for Phases {
        fn phase(&self, message: &str) {
            self.0.lock().expect("lock").push(message.to_string());
        }
        fn table_started(&self, _: &str, _: u64) {}
        fn rows(&self, _: &str, _: u64) {}
        fn table_done(&self, _: &str, _: u64, _: f64) {}
    }
    let phases = Phases(std::sync::Mutex::new(Vec::new()));
    let result = sync_telling(job, &phases);
    (result, phases.0.into_inner().expect("lock"))
}

#[test]
fn a_materialized_view_the_destination_role_does_not_own_is_said_not_refreshed() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE t (id int PRIMARY KEY, v int);
         INSERT INTO t VALUES (1, 1), (2, 2);
         CREATE MATERIALIZED VIEW mv AS SELECT count(*) AS n FROM t;",
    );
    let dest = TestDb::create(Engine::Postgres);
    let done = sync(&job(&src, &[&dest], "")).expect("first copy");
    assert!(done.ok, "{done:?}");
    // The tables written by a role that may write them, not own the view.
    dest.exec(
        "DO $$ BEGIN CREATE ROLE ww5_mv_writer LOGIN PASSWORD 'pw'; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
         GRANT USAGE ON SCHEMA public TO ww5_mv_writer;
         GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON t TO ww5_mv_writer;",
    );
    src.exec("INSERT INTO t VALUES (3, 3)");
    let url = dest
        .url
        .replacen("postgres://postgres@", "postgres://ww5_mv_writer:pw@", 1);
    let text = format!(
        "source = \"{}\"\n[[destinations]]\nurl = \"{url}\"\ntruncate = true\n",
        src.url
    );
    let (done, phases) = sync_with_phases(&text);
    let done = done.expect("sync");
    assert!(done.ok, "{done:?}");
    assert_eq!(rows(&dest, "t", "id").len(), 3);
    let said: Vec<&String> = phases.iter().filter(|p| p.contains("materialized view")).collect();
    assert_eq!(
        said,
        [&format!(
            "{}: materialized view public.mv reads tables loaded: NOT refreshed, the role does not own it (it \
             shows the rows as of its last refresh)",
            url.replacen(":pw@", ":***@", 1)
        )]
    );
    assert_eq!(rows(&dest, "mv", "n"), [["2"]]);
}
