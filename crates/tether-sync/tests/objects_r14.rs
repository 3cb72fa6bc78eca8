//! PostgreSQL objects around the tables a copy carries (the fourteenth review, H #5-#7):
//! rules (created once the rows are in: the load is not rewritten), user range types,
//! extended statistics, per-column storage and statistics targets, typed tables; and
//! what it reports without copying: privileges granted on the tables.

mod common;

use common::*;
use tether_sync::schema_plan::Action;
use tether_testkit::{TestDb, TestEngine as Engine};

/// How the plan of `text` loads its destination.
fn load_method(text: &str) -> tether_sync::execute::LoadMethod {
    let job = tether_sync::Job::parse("job.toml", text, &|_| None).expect("job");
    let plan = tether_testkit::block_on(async { tether_sync::prepare(&job).await.expect("plan").plan });
    plan.destinations[0]
        .load
        .as_ref()
        .expect("the destination was read")
        .method
}

/// The server's error for `sql` on `db` (a panic of the test kit's `exec`).
fn refused(db: &TestDb, sql: &str) -> String {
    let e = std::panic::catch_unwind(|| db.exec(sql)).expect_err(sql);
    e.downcast_ref::<String>().cloned().unwrap_or_default()
}

const RULES: &str = "
CREATE TABLE log2 (n int);
INSERT INTO log2 VALUES (2);
CREATE RULE no_del AS ON DELETE TO log2 DO INSTEAD NOTHING;
CREATE TABLE frozen (n int PRIMARY KEY);
INSERT INTO frozen VALUES (1), (2), (3);
CREATE RULE no_ins AS ON INSERT TO frozen DO INSTEAD NOTHING;
CREATE TABLE audit (n int, what text);
CREATE TABLE watched (n int PRIMARY KEY);
INSERT INTO watched VALUES (10), (20);
CREATE FUNCTION said(what text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT what || 'ed' $$;
CREATE RULE seen AS ON INSERT TO watched DO ALSO INSERT INTO audit VALUES (NEW.n, said('insert'));
CREATE RULE off AS ON UPDATE TO watched DO INSTEAD NOTHING;
ALTER TABLE watched DISABLE RULE off;
";

/// Asserts the copy `dst` of [`RULES`] has every row and rules that act as the source's.
fn assert_rules_copied(dst: &TestDb) {
    // The load was not rewritten: every row is there, and the ALSO rule wrote nothing.
    assert_eq!(rows(dst, "frozen", "n"), [["1"], ["2"], ["3"]]);
    assert_eq!(rows(dst, "watched", "n"), [["10"], ["20"]]);
    assert_eq!(rows(dst, "log2", "n"), [["2"]]);
    assert_eq!(one(dst, "SELECT count(*) FROM audit"), "0");
    assert_eq!(
        dst.query(
            "SELECT c.relname::text, r.rulename::text, r.ev_enabled::text FROM pg_rewrite r \
             JOIN pg_class c ON c.oid = r.ev_class \
             WHERE r.rulename <> '_RETURN' AND c.relnamespace = 'public'::regnamespace ORDER BY 1, 2"
        ),
        [
            [Some("frozen".into()), Some("no_ins".into()), Some("O".into())],
            [Some("log2".into()), Some("no_del".into()), Some("O".into())],
            [Some("watched".into()), Some("off".into()), Some("D".into())],
            [Some("watched".into()), Some("seen".into()), Some("O".into())],
        ]
    );
    // And they act as on the source: DELETE 0, INSERT 0, an audit row, a plain UPDATE.
    dst.exec("DELETE FROM log2; INSERT INTO frozen VALUES (4); INSERT INTO watched VALUES (30); UPDATE watched SET n = 21 WHERE n = 20;");
    assert_eq!(rows(dst, "log2", "n"), [["2"]]);
    assert_eq!(rows(dst, "frozen", "n"), [["1"], ["2"], ["3"]]);
    assert_eq!(rows(dst, "watched", "n"), [["10"], ["21"], ["30"]]);
    assert_eq!(rows(dst, "audit", "n"), [["30", "inserted"]]);
}

/// H #5: a rule (`DO INSTEAD NOTHING` on DELETE) was not copied: `DELETE FROM log2`
/// deleted the row on the copy, none on the source. Rules are created after the load
/// (an INSERT rule would otherwise swallow or double the copied rows), in their state
/// (a disabled one stays disabled), and the plan says so.
#[test]
fn rules_are_created_after_the_load_and_act_as_on_the_source() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(RULES);
    let dst = TestDb::create(Engine::Postgres);
    let text = job(&src, &[&dst], "");
    let plan = items(&text);
    for name in ["log2.no_del", "frozen.no_ins", "watched.seen", "watched.off"] {
        let i = item(&plan, "rule", name);
        assert_eq!(i.action, Action::Created, "{name}");
    }
    assert_eq!(
        item(&plan, "function", "public.said (used by watched.seen)").action,
        Action::Created
    );
    assert_eq!(load_method(&text), tether_sync::execute::LoadMethod::Staging);
    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_rules_copied(&dst);
}

/// The same through a one-transaction load (not staged: a CHECK calls a user function).
#[test]
fn rules_are_created_after_a_one_transaction_load_too() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(RULES);
    src.exec(
        "CREATE FUNCTION positive(x int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT x > 0';
         CREATE TABLE guarded (n int PRIMARY KEY CHECK (positive(n)));
         INSERT INTO guarded VALUES (1);",
    );
    let dst = TestDb::create(Engine::Postgres);
    let text = job(&src, &[&dst], "");
    assert_eq!(load_method(&text), tether_sync::execute::LoadMethod::OneTransaction);
    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_rules_copied(&dst);
    assert_eq!(rows(&dst, "guarded", "n"), [["1"]]);
}

const RANGES: &str = "
CREATE TYPE floatrange AS RANGE (subtype = float8);
CREATE DOMAIN small AS int CHECK (VALUE < 100);
CREATE TYPE smallrange AS RANGE (subtype = small);
CREATE TYPE textrange_c AS RANGE (subtype = text, collation = \"C\");
CREATE TABLE fr (id int PRIMARY KEY, r floatrange, s smallrange, t textrange_c, rs floatrange[]);
INSERT INTO fr VALUES (1, '[1.5,2.5)', '[1,5)', '[B,a)', '{\"[1,2)\"}');
CREATE TYPE pricerange AS RANGE (subtype = numeric);
CREATE TABLE offers (id int PRIMARY KEY, p pricemultirange);
INSERT INTO offers VALUES (1, '{[1,2), [5,6)}');
";

/// H #6: a user range type became `text` on the copy: `@>` failed there and invalid
/// ranges were taken. It is created (with its subtype's domain, its collation) and the
/// columns have it.
#[test]
fn user_range_types_are_created_and_used() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(RANGES);
    let dst = TestDb::create(Engine::Postgres);
    let text = job(&src, &[&dst], "");
    let plan = items(&text);
    for ty in [
        "public.floatrange",
        "public.smallrange",
        "public.textrange_c",
        "public.small",
    ] {
        assert_eq!(item(&plan, "type", ty).action, Action::Created, "{ty}");
    }
    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_eq!(
        dst.query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
             WHERE a.attrelid = 'fr'::regclass AND a.attnum > 0 ORDER BY a.attnum"
        ),
        [
            [Some("id".into()), Some("integer".into())],
            [Some("r".into()), Some("floatrange".into())],
            [Some("s".into()), Some("smallrange".into())],
            [Some("t".into()), Some("textrange_c".into())],
            [Some("rs".into()), Some("floatrange[]".into())],
        ]
    );
    assert_eq!(
        dst.query("SELECT r @> 2.0::float8, r && '[2.4,3)'::floatrange, s @> 3::small, t::text, rs::text FROM fr"),
        [[
            Some("t".into()),
            Some("t".into()),
            Some("t".into()),
            Some("[B,a)".into()),
            Some("{\"[1,2)\"}".into())
        ]]
    );
    assert_eq!(
        one(
            &dst,
            "SELECT format_type(rngsubtype, NULL) || ' ' || rngcollation::regcollation::text FROM pg_range \
             WHERE rngtypid = 'textrange_c'::regtype"
        ),
        "text \"C\""
    );
    // A multirange column pulls its range type in.
    assert_eq!(
        dst.query("SELECT format_type(atttypid, atttypmod), (SELECT p @> 5.5 FROM offers)::text FROM pg_attribute WHERE attrelid = 'offers'::regclass AND attname = 'p'"),
        [[Some("pricemultirange".into()), Some("true".into())]]
    );
    // Bounds in the wrong order, and a bound the subtype's domain refuses.
    let e = refused(&dst, "INSERT INTO fr (id, r) VALUES (2, '[3,1)')");
    assert!(e.contains("E22000"), "{e}");
    let e = refused(&dst, "INSERT INTO fr (id, s) VALUES (3, '[1,500)')");
    assert!(e.contains("E23514"), "{e}");
}

/// Onto another engine the range column is text, and the plan says what the type
/// becomes.
#[test]
fn a_range_type_onto_mariadb_is_reported_as_text() {
    let src = TestDb::create(Engine::Postgres);
    src.exec("CREATE TYPE floatrange AS RANGE (subtype = float8); CREATE TABLE fr (id int PRIMARY KEY, r floatrange); INSERT INTO fr VALUES (1, '[1.5,2.5)');");
    let maria = TestDb::create(Engine::Mysql);
    let plan = items(&job(&src, &[&maria], ""));
    let ty = item(&plan, "type", "public.floatrange");
    assert_eq!(
        (ty.action, ty.from.as_deref(), ty.to.as_deref()),
        (
            Action::Mapped,
            Some("range of double precision"),
            Some("text (a value as PostgreSQL prints it: `[1.5,2.5)`)")
        )
    );
}

const PLANNER: &str = "
DO $$ BEGIN CREATE ROLE r14h2_reader; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
CREATE TABLE s1 (id int PRIMARY KEY, a int, b int, v text, blob text);
INSERT INTO s1 VALUES (1, 1, 1, 'x', 'y');
CREATE STATISTICS st_c (dependencies, ndistinct) ON a, b FROM s1;
ALTER STATISTICS st_c SET STATISTICS 300;
ALTER TABLE s1 ALTER COLUMN v SET STATISTICS 500;
ALTER TABLE s1 ALTER COLUMN blob SET STORAGE EXTERNAL;
GRANT SELECT ON s1 TO r14h2_reader;
GRANT SELECT (v), UPDATE (v) ON s1 TO r14h2_reader;
CREATE TYPE addr AS (zip text, city text);
CREATE TABLE addrs OF addr (PRIMARY KEY (zip));
INSERT INTO addrs VALUES ('1000', 'Oslo');
";

/// H #7: statistics objects, per-column statistics targets, storage and a typed
/// table's `OF type` were dropped; they are created. Privileges are not copied, and
/// the plan says so.
#[test]
fn statistics_storage_and_typed_tables_are_copied_grants_reported() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(PLANNER);
    let dst = TestDb::create(Engine::Postgres);
    let text = job(&src, &[&dst], "");
    let plan = items(&text);
    assert_eq!(item(&plan, "statistics", "s1.st_c").action, Action::Created);
    assert_eq!(item(&plan, "statistics target", "s1.v (500)").action, Action::Created);
    assert_eq!(item(&plan, "storage", "s1.blob (EXTERNAL)").action, Action::Created);
    for g in ["s1: SELECT TO r14h2_reader", "s1: SELECT, UPDATE (v) TO r14h2_reader"] {
        let i = item(&plan, "grant", g);
        assert_eq!(
            (i.action, i.reason.as_deref()),
            (
                Action::Skipped,
                Some("privileges are not copied; the destination's roles are its own")
            )
        );
    }
    assert_eq!(
        item(&plan, "typed table", "addrs (OF public.addr)").action,
        Action::Created
    );
    assert_eq!(item(&plan, "type", "public.addr").action, Action::Created);
    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_eq!(
        one(
            &dst,
            "SELECT pg_get_statisticsobjdef(oid) || ' ' || coalesce((to_jsonb(s)->>'stxstattarget'), 'NULL') \
             FROM pg_statistic_ext s WHERE stxname = 'st_c'"
        ),
        "CREATE STATISTICS public.st_c (ndistinct, dependencies) ON a, b FROM s1 300"
    );
    assert_eq!(
        dst.query(
            "SELECT attname::text, attstorage::text, coalesce(attstattarget::int, -1) FROM pg_attribute \
             WHERE attrelid = 's1'::regclass AND attname IN ('v', 'blob') ORDER BY 1"
        ),
        [
            [Some("blob".into()), Some("e".into()), Some("-1".into())],
            [Some("v".into()), Some("x".into()), Some("500".into())],
        ]
    );
    assert_eq!(rows(&dst, "addrs", "zip"), [["1000", "Oslo"]]);
    assert_eq!(
        one(
            &dst,
            "SELECT reloftype::regtype::text FROM pg_class WHERE oid = 'addrs'::regclass"
        ),
        "addr"
    );
    // Typed: the type's new attribute reaches the table.
    dst.exec("ALTER TYPE addr ADD ATTRIBUTE country text CASCADE; INSERT INTO addrs VALUES ('2000', 'Bergen', 'NO')");
    assert_eq!(
        rows(&dst, "addrs", "zip"),
        [["1000", "Oslo", "NULL"], ["2000", "Bergen", "NO"]]
    );
    assert_eq!(
        one(&dst, "SELECT has_table_privilege('r14h2_reader', 's1', 'SELECT')"),
        "f"
    );
}

/// Onto MariaDB: rules, statistics, storage and grants are each reported as not carried.
#[test]
fn rules_and_planner_settings_onto_mariadb_are_reported_skipped() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(RULES);
    src.exec(PLANNER);
    let maria = TestDb::create(Engine::Mysql);
    let plan = items(&job(&src, &[&maria], ""));
    let rule = item(&plan, "rule", "log2.no_del");
    assert_eq!(
        (rule.action, rule.reason.as_deref()),
        (
            Action::Skipped,
            Some("mysql has no rules; statements the rule rewrites on the source act plainly on the copy")
        )
    );
    for (kind, name) in [
        ("statistics", "s1.st_c"),
        ("statistics target", "s1.v (500)"),
        ("storage", "s1.blob (EXTERNAL)"),
        ("grant", "s1: SELECT TO r14h2_reader"),
    ] {
        assert_eq!(item(&plan, kind, name).action, Action::Skipped, "{kind} {name}");
    }
    assert!(
        !plan.iter().any(|i| i.kind == "type" && i.name == "public.addr"),
        "{plan:#?}"
    );
    let typed = item(&plan, "typed table", "addrs");
    assert_eq!(
        (typed.action, typed.from.as_deref(), typed.to.as_deref()),
        (
            Action::Mapped,
            Some("OF public.addr"),
            Some("a plain table with the same columns")
        )
    );
}

/// A second run into the copy (its tables there, rules on): the rules do not rewrite
/// the load either.
#[test]
fn a_rerun_into_tables_with_rules_loads_every_row() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(RULES);
    let dst = TestDb::create(Engine::Postgres);
    let text = job(&src, &[&dst], "");
    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    let done = sync(&text).expect("second sync");
    assert!(done.ok, "{done:?}");
    assert_rules_copied(&dst);
}

/// A rerun into the copy's tables, rules there: rows are written with COPY, which no
/// rule rewrites (not even one `ENABLE ALWAYS`, under `checks = "verify"`), so every row
/// arrives; a merging rerun (`on_conflict`) is refused by PostgreSQL itself (0A000: an
/// INSERT .. ON CONFLICT on a table with INSERT or UPDATE rules, as on the source),
/// naming the table, nothing written.
#[test]
fn reruns_into_tables_with_rules_load_every_row_or_are_refused() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(RULES);
    let dst = TestDb::create(Engine::Postgres);
    let done = sync(&job(&src, &[&dst], "")).expect("sync");
    assert!(done.ok, "{done:?}");
    src.exec(
        "DROP RULE no_ins ON frozen; INSERT INTO frozen VALUES (4);
         CREATE RULE no_ins AS ON INSERT TO frozen DO INSTEAD NOTHING; INSERT INTO watched VALUES (40);",
    );
    let rerun = |extra: &str| {
        format!(
            "source = \"{}\"\n[[destinations]]\nurl = \"{}\"\n{extra}\n[tables]\ninclude = [\"frozen\", \"watched\"]\n",
            src.url, dst.url
        )
    };
    // (Refused before writing since the fifteenth session, naming the rules: r15e E6.)
    let e = sync(&rerun("on_conflict = \"skip\"")).expect_err("0A000").to_string();
    assert!(
        e.contains(
            "on_conflict = \"skip\" writes with INSERT ... ON CONFLICT, which PostgreSQL refuses on a table with \
             INSERT or UPDATE rules: rule no_ins ON INSERT TO public.frozen, rule seen ON INSERT TO public.watched. \
             Drop the rule there, or set on_conflict = \"error\" (with \
             truncate = true for a re-run) (nothing was written)"
        ),
        "{e}"
    );
    assert_eq!(rows(&dst, "frozen", "n"), [["1"], ["2"], ["3"]]);
    assert_eq!(rows(&dst, "watched", "n"), [["10"], ["20"]]);
    dst.exec("ALTER TABLE frozen ENABLE ALWAYS RULE no_ins;");
    for checks in ["enforce", "verify"] {
        dst.exec("TRUNCATE frozen, watched");
        let done = sync(&rerun(&format!("checks = \"{checks}\""))).expect(checks);
        assert!(done.ok, "{done:?}");
        assert_eq!(rows(&dst, "frozen", "n"), [["1"], ["2"], ["3"], ["4"]], "{checks}");
        assert_eq!(rows(&dst, "watched", "n"), [["10"], ["20"], ["40"]], "{checks}");
        assert_eq!(one(&dst, "SELECT count(*) FROM audit"), "0", "{checks}");
    }
}

/// A rule naming a table the job does not copy (`DO ALSO INSERT INTO audit`) cannot be
/// created on the copy: left out, said in the plan; the others are created.
#[test]
fn a_rule_naming_a_table_left_out_is_reported_skipped() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(RULES);
    let dst = TestDb::create(Engine::Postgres);
    let text = job(&src, &[&dst], "[tables]\ninclude = [\"watched\", \"log2\"]\n");
    let plan = items(&text);
    let seen = item(&plan, "rule", "watched.seen");
    assert_eq!(
        (seen.action, seen.reason.as_deref()),
        (
            Action::Skipped,
            Some(
                "it names audit, which the job does not copy: it cannot be created on the copy, where the \
                 statements it rewrites act plainly"
            )
        )
    );
    assert_eq!(item(&plan, "rule", "watched.off").action, Action::Created);
    assert!(!plan
        .iter()
        .any(|i| i.kind == "rule" && i.name == "watched.seen" && i.action == Action::Created));
    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_eq!(
        dst.query(
            "SELECT r.rulename::text FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class \
             WHERE c.relnamespace = 'public'::regnamespace AND r.rulename <> '_RETURN' ORDER BY 1"
        ),
        [[Some("no_del".into())], [Some("off".into())]]
    );
}
