//! What a PostgreSQL source declares on one partition, and foreign keys' MATCH FULL and
//! NOT VALID (the fourteenth review, H #1-#4): created as the source has them on a
//! PostgreSQL copy (the catalog rows, and the rows refused with the source's SQLSTATE),
//! reported where another engine cannot hold them.

mod common;

use common::*;
use tether_sync::schema_plan::Action;
use tether_testkit::{TestDb, TestEngine as Engine};

/// Asserts that `db` refuses `sql` with `code` (SQLSTATE, or MariaDB's error number).
fn assert_refused(db: &TestDb, sql: &str, code: &str) {
    let err = std::panic::catch_unwind(|| db.exec(sql)).expect_err(sql);
    let text = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(text.contains(code), "{sql}: {text}");
}

fn table(db: &TestDb, sql: &str) -> Vec<Vec<String>> {
    db.query(sql)
        .into_iter()
        .map(|r| r.iter().map(norm).collect())
        .collect()
}

/// The reviewer's source: a foreign key, a UNIQUE constraint and a trigger declared on
/// one partition each, a CHECK on a partition of another table. Row (2,2,5) of `ev2`
/// has no parent: `ev1_par` does not cover it.
const PARTITIONS: &str = "
CREATE TABLE par (id int PRIMARY KEY);
CREATE TABLE ev (id int, k int, par_id int, PRIMARY KEY (id, k)) PARTITION BY LIST (k);
CREATE TABLE ev1 PARTITION OF ev FOR VALUES IN (1);
CREATE TABLE ev2 PARTITION OF ev FOR VALUES IN (2);
ALTER TABLE ev1 ADD CONSTRAINT ev1_par FOREIGN KEY (par_id) REFERENCES par(id);
INSERT INTO par VALUES (1);
INSERT INTO ev VALUES (1,1,1),(2,2,5);
ALTER TABLE ev2 ADD CONSTRAINT ev2_uq UNIQUE (par_id, k);
CREATE TABLE evlog (msg text);
CREATE FUNCTION evt() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO evlog VALUES ('ev2 '||NEW.id); RETURN NEW; END $$;
CREATE TRIGGER ev2_t AFTER INSERT ON ev2 FOR EACH ROW EXECUTE FUNCTION evt();
CREATE TABLE pa (id int, k int, PRIMARY KEY (id, k)) PARTITION BY LIST (k);
CREATE TABLE pa1 PARTITION OF pa FOR VALUES IN (1);
ALTER TABLE pa1 ADD CONSTRAINT pa1_chk CHECK (id < 1000);
";

const CONSTRAINTS: &str = "SELECT conrelid::regclass::text, conname::text, pg_get_constraintdef(oid), \
    convalidated::text FROM pg_constraint WHERE contype IN ('f', 'u', 'c') AND connamespace = 'public'::regnamespace \
    ORDER BY 1, 2";

/// H #1, #2: the partitions' own FK, UNIQUE, CHECK and trigger are on the copy's
/// partitions; the verification checks `ev1_par` against `ev1`'s rows only (the source's
/// `ev2` row without a parent is no orphan of it).
#[test]
fn a_partitions_own_constraints_and_trigger_are_created_on_the_postgres_copys_partition() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(PARTITIONS);
    let dest = TestDb::create(Engine::Postgres);
    let text = job(&src, &[&dest], "");
    assert_eq!(item(&items(&text), "foreign key", "ev.ev1_par").action, Action::Created);
    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_eq!(done.verification[0].foreign_keys_checked, 1);
    assert!(done.verification[0].orphans.is_empty(), "{done:?}");
    assert_eq!(table(&dest, CONSTRAINTS), table(&src, CONSTRAINTS));
    assert_eq!(
        table(&dest, CONSTRAINTS),
        [
            ["ev1", "ev1_par", "FOREIGN KEY (par_id) REFERENCES par(id)", "true"],
            ["ev2", "ev2_uq", "UNIQUE (par_id, k)", "true"],
            ["pa1", "pa1_chk", "CHECK ((id < 1000))", "true"],
        ]
    );
    assert_eq!(
        table(
            &dest,
            "SELECT tgrelid::regclass::text, tgname::text FROM pg_trigger WHERE NOT tgisinternal"
        ),
        [["ev2", "ev2_t"]]
    );
    assert_eq!(
        table(&dest, "SELECT * FROM ev ORDER BY id"),
        [["1", "1", "1"], ["2", "2", "5"]]
    );
    for db in [&src, &dest] {
        assert_refused(db, "INSERT INTO ev VALUES (9,1,999)", "23503");
        assert_refused(db, "INSERT INTO ev VALUES (11,2,5)", "23505");
        assert_refused(db, "INSERT INTO pa VALUES (5000,1)", "23514");
        // Another partition's rows are not held by them.
        db.exec("INSERT INTO ev VALUES (12,2,999); INSERT INTO ev(id,k) VALUES (10,2)");
        assert_eq!(
            table(db, "SELECT msg FROM evlog ORDER BY msg"),
            [["ev2 10"], ["ev2 12"]]
        );
    }
}

/// H #1: a subset of `ev` pulls the parent `ev1_par` names; the verification counts it.
#[test]
fn a_subset_pulls_the_parent_a_partitions_foreign_key_names() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(PARTITIONS);
    let dest = TestDb::create(Engine::Postgres);
    let text = job(
        &src,
        &[&dest],
        "[subset]\ncopy_unrelated = false\n[[subset.targets]]\ntable = \"ev\"\nwhere = \"id = 1\"\n",
    );
    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_eq!(done.verification[0].foreign_keys_checked, 1);
    assert_eq!(table(&dest, "SELECT * FROM ev ORDER BY id"), [["1", "1", "1"]]);
    assert_eq!(table(&dest, "SELECT * FROM par"), [["1"]]);
    assert_refused(&dest, "INSERT INTO ev VALUES (9,1,999)", "23503");

    // A row of the other partition naming no parent ((2,2,5): ev1_par does not hold it)
    // is chosen and copied; no parent is pulled for it, and it is no orphan.
    let all = TestDb::create(Engine::Postgres);
    let text = job(
        &src,
        &[&all],
        "[subset]\ncopy_unrelated = false\n[[subset.targets]]\ntable = \"ev\"\nwhere = \"id >= 1\"\n",
    );
    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    assert!(done.verification[0].orphans.is_empty(), "{done:?}");
    assert_eq!(
        table(&all, "SELECT * FROM ev ORDER BY id"),
        [["1", "1", "1"], ["2", "2", "5"]]
    );
    assert_eq!(table(&all, "SELECT * FROM par"), [["1"]]);
}

const MATCH_FULL: &str = "
CREATE TABLE mf (id int PRIMARY KEY, a int, b int, UNIQUE (a,b));
CREATE TABLE mfc (id int PRIMARY KEY, a int, b int, FOREIGN KEY (a,b) REFERENCES mf(a,b) MATCH FULL);
INSERT INTO mf VALUES (1,1,1); INSERT INTO mfc VALUES (1,1,1),(2,NULL,NULL);
";

/// H #3: MATCH FULL stays MATCH FULL: a key half NULL is refused.
#[test]
fn a_match_full_foreign_key_is_match_full_on_the_postgres_copy() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(MATCH_FULL);
    let dest = TestDb::create(Engine::Postgres);
    let done = sync(&job(&src, &[&dest], "")).expect("sync");
    assert!(done.ok, "{done:?}");
    let fk = "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f'";
    assert_eq!(
        table(&dest, fk),
        [["FOREIGN KEY (a, b) REFERENCES mf(a, b) MATCH FULL"]]
    );
    for db in [&src, &dest] {
        assert_refused(db, "INSERT INTO mfc VALUES (3,1,NULL)", "23503");
        db.exec("INSERT INTO mfc VALUES (4,NULL,NULL)");
    }
}

const NOT_VALID: &str = "
CREATE TABLE p (id int PRIMARY KEY, code text UNIQUE);
CREATE TABLE c (id int PRIMARY KEY, pcode text);
INSERT INTO p VALUES (1,'A'); INSERT INTO c VALUES (1,'A'),(3,'ZZ');
ALTER TABLE c ADD CONSTRAINT c_fk2 FOREIGN KEY (pcode) REFERENCES p(code) NOT VALID;
";

/// H #4: a NOT VALID foreign key is created NOT VALID (as pg_dump does): the source's
/// row without a parent is copied, reported by the verification without failing the
/// job, and a new one is refused.
#[test]
fn a_not_valid_foreign_key_stays_not_valid_and_its_orphans_do_not_fail_the_job() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(NOT_VALID);
    let dest = TestDb::create(Engine::Postgres);
    let done = sync(&job(&src, &[&dest], "")).expect("sync");
    assert!(done.ok, "{done:?}");
    let v = &done.verification[0];
    assert_eq!(v.foreign_keys_checked, 1);
    let found: Vec<_> = v
        .orphans
        .iter()
        .map(|o| {
            (
                o.table.as_str(),
                o.foreign_key.as_str(),
                o.count,
                o.not_valid,
                o.examples.clone(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [(
            "public.c",
            "c_fk2",
            1,
            true,
            vec!["(id, pcode)=('3', 'ZZ')".to_string()]
        )]
    );
    assert_eq!(table(&dest, CONSTRAINTS), table(&src, CONSTRAINTS));
    assert_eq!(
        table(&dest, CONSTRAINTS),
        [
            [
                "c",
                "c_fk2",
                "FOREIGN KEY (pcode) REFERENCES p(code) NOT VALID",
                "false"
            ],
            ["p", "p_code_key", "UNIQUE (code)", "true"],
        ]
    );
    assert_eq!(table(&dest, "SELECT * FROM c ORDER BY id"), [["1", "A"], ["3", "ZZ"]]);
    assert_refused(&dest, "INSERT INTO c VALUES (4,'YY')", "23503");

    // A subset still pulls the parents that exist.
    let some = TestDb::create(Engine::Postgres);
    let text = job(
        &src,
        &[&some],
        "[subset]\ncopy_unrelated = false\n[[subset.targets]]\ntable = \"c\"\nwhere = \"id = 1\"\n",
    );
    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    assert!(done.verification[0].orphans.is_empty(), "{done:?}");
    assert_eq!(table(&some, "SELECT * FROM p"), [["1", "A"]]);
}

/// H #1-#3 on MariaDB: the partitions' own FK and UNIQUE are reported not enforced (the
/// copy is one table, where they would refuse other partitions' rows); MATCH FULL of two
/// columns becomes a CHECK that refuses a half-NULL key (4025).
#[test]
fn on_mariadb_partition_constraints_are_reported_and_match_full_is_a_check() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(PARTITIONS);
    src.exec(MATCH_FULL);
    let maria = TestDb::create(Engine::Mysql);
    let text = job(&src, &[&maria], "");
    let plan = items(&text);
    let fk = item(&plan, "foreign key", "ev.ev1_par");
    assert_eq!(fk.action, Action::Skipped);
    assert_eq!(
        fk.reason.as_deref(),
        Some(
            "it is declared on partition ev1 only; mysql has no declarative partitions (the copy is one table, \
             where it would refuse the other partitions' rows): not enforced on the copy"
        )
    );
    for name in ["ev.ev2_uq", "pa.pa1_chk"] {
        assert_eq!(item(&plan, "constraint", name).action, Action::Skipped, "{name}");
    }
    let mf = item(&plan, "foreign key", "mfc.mfc_a_b_fkey");
    assert_eq!(
        (mf.action, mf.from.as_deref(), mf.to.as_deref()),
        (Action::Mapped, Some("MATCH FULL"), Some("MATCH SIMPLE + CHECK"))
    );
    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_eq!(
        table(&maria, "SELECT * FROM ev ORDER BY id"),
        [["1", "1", "1"], ["2", "2", "5"]]
    );
    assert_eq!(
        table(
            &maria,
            "SELECT constraint_name, check_clause FROM information_schema.check_constraints \
             WHERE constraint_schema = database() ORDER BY 1"
        ),
        [[
            "mfc_a_b_fkey_match_full",
            "`a` is null and `b` is null or `a` is not null and `b` is not null"
        ]]
    );
    assert_refused(&maria, "INSERT INTO mfc VALUES (3,1,NULL)", "4025");
    assert_refused(&maria, "INSERT INTO mfc VALUES (3,1,2)", "1452");
    maria.exec("INSERT INTO mfc VALUES (4,NULL,NULL)");
}

/// H #3 on SQLite: MATCH FULL of two columns is the same CHECK, in CREATE TABLE.
#[test]
fn on_sqlite_match_full_is_a_check() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(MATCH_FULL);
    let lite = TestDb::create(Engine::Sqlite);
    let done = sync(&job(&src, &[&lite], "")).expect("sync");
    assert!(done.ok, "{done:?}");
    let created = table(&lite, "SELECT sql FROM sqlite_master WHERE name = 'mfc'");
    assert!(
        created[0][0].contains(
            "CONSTRAINT \"mfc_a_b_fkey_match_full\" CHECK ((\"a\" IS NULL AND \"b\" IS NULL) OR (\"a\" IS NOT NULL \
             AND \"b\" IS NOT NULL))"
        ),
        "{created:?}"
    );
    assert_refused(
        &lite,
        "INSERT INTO mfc VALUES (3,1,NULL)",
        "CHECK constraint failed: mfc_a_b_fkey_match_full",
    );
    lite.exec("INSERT INTO mfc VALUES (4,NULL,NULL)");
}

/// H #4 on MariaDB and SQLite: no NOT VALID there. The plan says so; with the checks on
/// the source's row without a parent stops the copy (1452, naming the row and the key);
/// with `checks = "verify"` it is copied, the key declared, and the verification
/// reports it without failing the job.
#[test]
fn elsewhere_a_not_valid_foreign_key_is_reported_and_verify_copies_its_orphans() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(NOT_VALID);
    let maria = TestDb::create(Engine::Mysql);
    let text = job(&src, &[&maria], "");
    let plan = items(&text);
    let option = item(&plan, "foreign key option", "c.c_fk2 (NOT VALID)");
    assert_eq!(
        (option.action, option.reason.as_deref()),
        (
            Action::Skipped,
            Some(
                "mysql has no NOT VALID foreign key: with the checks on, a source row without a parent stops the \
                 copy; checks = \"verify\" loads it and the verification reports such rows without failing"
            )
        )
    );
    let e = sync(&text).expect_err("the orphan stops the copy");
    assert!(e.to_string().contains("1452"), "{e}");

    let lite = TestDb::create(Engine::Sqlite);
    for dest in [&maria, &lite] {
        let text = job(&src, &[dest], "").replace("truncate = true\n", "truncate = true\nchecks = \"verify\"\n");
        let done = sync(&text).expect("sync");
        assert!(done.ok, "{done:?}");
        let v = &done.verification[0];
        let found: Vec<_> = v
            .orphans
            .iter()
            .map(|o| (o.foreign_key.as_str(), o.count, o.not_valid))
            .collect();
        assert_eq!(found, [("c_fk2", 1, true)], "{v:?}");
        assert_eq!(table(dest, "SELECT * FROM c ORDER BY id"), [["1", "A"], ["3", "ZZ"]]);
    }
    assert_refused(&maria, "INSERT INTO c VALUES (4,'YY')", "1452");
}
