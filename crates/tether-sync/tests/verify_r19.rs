//! Review q (r19q), Q5-Q8: a partition's own trigger state was changed by the restore
//! after the load (Q5); the orphan check of a number FK against an existing PostgreSQL
//! text child column died with 42883 after COMMIT (Q6); a source partition's own FK was
//! checked on a destination table of the partition's name (Q7); a source NOT VALID FK
//! excused its orphans only when the destination's FK had the same name (Q8).

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

fn data_job(src: &TestDb, dest: &TestDb, include: &str, dest_extra: &str) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\nmode = \"data\"\n[tables]\ninclude = [{include}]\n\
         [[destinations]]\nurl = \"{}\"\n{dest_extra}\n",
        src.url, dest.url
    )
}

fn trigger_states(dest: &TestDb) -> Vec<String> {
    dest.query(
        "SELECT tgrelid::regclass::text || ' ' || tgname::text || ' ' || tgenabled::text FROM pg_trigger \
         WHERE NOT tgisinternal ORDER BY 1",
    )
    .iter()
    .map(|r| r[0].clone().unwrap_or_default())
    .collect()
}

/// zev is partitioned in two levels; its trigger tr is ENABLE ALWAYS, the clone on
/// a_ev1a plain ENABLE, the clone on a_ev1b off; a_ev1b and b_def declare triggers of
/// their own. The partitions sort before their parent: after the load every trigger is
/// in the state it was in (the parent's restore does not reset its partitions' clones).
#[test]
fn each_partition_trigger_is_on_again_in_its_own_state() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE zev (id int PRIMARY KEY, v int); \
         INSERT INTO zev SELECT g, g FROM generate_series(1, 12) g",
    );
    let before = vec![
        "a_ev1 tr A",
        "a_ev1a tr O",
        "a_ev1b tr D",
        "a_ev1b trb A",
        "b_def tr A",
        "b_def trd R",
        "zev tr A",
    ];
    for checks in ["enforce", "verify"] {
        let dest = TestDb::create(Engine::Postgres);
        dest.exec(
            "CREATE TABLE zev (id int, v int, PRIMARY KEY (id)) PARTITION BY RANGE (id); \
             CREATE TABLE a_ev1 PARTITION OF zev FOR VALUES FROM (0) TO (10) PARTITION BY RANGE (id); \
             CREATE TABLE a_ev1a PARTITION OF a_ev1 FOR VALUES FROM (0) TO (5); \
             CREATE TABLE a_ev1b PARTITION OF a_ev1 FOR VALUES FROM (5) TO (10); \
             CREATE TABLE b_def PARTITION OF zev DEFAULT; \
             CREATE FUNCTION f10() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.v := -1; RETURN NEW; END $$; \
             CREATE TRIGGER tr BEFORE INSERT ON zev FOR EACH ROW EXECUTE FUNCTION f10(); \
             ALTER TABLE zev ENABLE ALWAYS TRIGGER tr; \
             ALTER TABLE a_ev1a ENABLE TRIGGER tr; \
             ALTER TABLE a_ev1b DISABLE TRIGGER tr; \
             CREATE TRIGGER trd BEFORE INSERT ON b_def FOR EACH ROW EXECUTE FUNCTION f10(); \
             ALTER TABLE b_def ENABLE REPLICA TRIGGER trd; \
             CREATE TRIGGER trb BEFORE INSERT ON a_ev1b FOR EACH ROW EXECUTE FUNCTION f10(); \
             ALTER TABLE a_ev1b ENABLE ALWAYS TRIGGER trb",
        );
        assert_eq!(trigger_states(&dest), before, "{checks}: setup");
        let report = sync(&data_job(&src, &dest, "\"zev\"", &format!("checks = \"{checks}\"")))
            .unwrap_or_else(|e| panic!("{checks}: {e}"));
        assert!(report.ok, "{checks}: {report:?}");
        assert_eq!(
            rows(&dest, "zev", "id"),
            (1..=12).map(|i| vec![i.to_string(), i.to_string()]).collect::<Vec<_>>(),
            "{checks}"
        );
        assert_eq!(trigger_states(&dest), before, "{checks}");
    }
}

/// Source FK c.pid int -> p.id int; the destination's c.pid is text (no FK there) and
/// holds a row 99 whose '5' has no parent. Verified after the load, comparing as text:
/// the orphan is found and named, no 42883.
#[test]
fn a_number_fk_against_an_existing_postgres_text_child_is_verified() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (id int PRIMARY KEY, pid int REFERENCES p); \
         INSERT INTO p VALUES (1), (2); INSERT INTO c VALUES (10, 1), (11, 2)",
    );
    let dest = TestDb::create(Engine::Postgres);
    dest.exec(
        "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (id int PRIMARY KEY, pid text); \
         INSERT INTO c VALUES (99, '5')",
    );
    let report = sync(&data_job(&src, &dest, "\"p\", \"c\"", "")).unwrap_or_else(|e| panic!("{e}"));
    assert!(!report.ok, "{report:?}");
    let v = &report.verification[0];
    assert!(v.missing_rows.is_empty() && v.extra_rows.is_empty(), "{v:?}");
    assert_eq!(v.orphans.len(), 1, "{v:?}");
    let o = &v.orphans[0];
    assert_eq!(
        (o.table.as_str(), o.foreign_key.as_str(), o.count, o.not_valid),
        ("public.c", "c_pid_fkey", 1, false)
    );
    assert_eq!(o.examples, vec!["(id)=('99')".to_string()]);
    assert_eq!(
        rows(&dest, "c", "id"),
        vec![
            vec!["10".to_string(), "1".into()],
            vec!["11".to_string(), "2".into()],
            vec!["99".to_string(), "5".into()]
        ]
    );
}

fn partitioned_source() -> TestDb {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE p (id int PRIMARY KEY); INSERT INTO p VALUES (1), (2); \
         CREATE TABLE ev (id int, k int, PRIMARY KEY (id)) PARTITION BY RANGE (id); \
         CREATE TABLE ev1 PARTITION OF ev FOR VALUES FROM (0) TO (10); \
         CREATE TABLE ev2 PARTITION OF ev FOR VALUES FROM (10) TO (20); \
         ALTER TABLE ev1 ADD CONSTRAINT ev1_k_fk FOREIGN KEY (k) REFERENCES p (id); \
         INSERT INTO ev VALUES (1, 1), (2, 2), (11, 777)",
    );
    src
}

/// The source's partition ev1 declares ev1_k_fk; the destination's ev is a plain table.
/// Without an ev1 there, or with an unrelated ev1 holding a row without a parent, the
/// key is not checked on another table: the job is ok (before: 42P01 after COMMIT, or
/// a false orphan of ev1's named as ev's).
#[test]
fn a_partition_fk_is_not_checked_on_a_table_of_its_name() {
    let src = partitioned_source();
    for unrelated in [false, true] {
        let dest = TestDb::create(Engine::Postgres);
        dest.exec("CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE ev (id int PRIMARY KEY, k int)");
        if unrelated {
            dest.exec("CREATE TABLE ev1 (id int PRIMARY KEY, k int); INSERT INTO ev1 VALUES (5, 12345)");
        }
        let report = sync(&data_job(&src, &dest, "\"p\", \"ev\"", "")).unwrap_or_else(|e| panic!("{unrelated}: {e}"));
        assert!(report.ok, "{unrelated}: {report:?}");
        assert!(report.verification[0].orphans.is_empty(), "{unrelated}: {report:?}");
        assert_eq!(
            rows(&dest, "ev", "id"),
            vec![
                vec!["1".to_string(), "1".into()],
                vec!["2".to_string(), "2".into()],
                vec!["11".to_string(), "777".into()]
            ],
            "{unrelated}"
        );
    }
}

/// The destination's ev is partitioned as the source's, with no FK, and its ev1 holds a
/// row 5 whose k has no parent: the partition's key is checked on that partition's rows
/// and finds it (row 11 of ev2, which the key does not cover, is no orphan).
#[test]
fn a_partition_fk_is_checked_where_the_destination_has_that_partition() {
    let src = partitioned_source();
    let dest = TestDb::create(Engine::Postgres);
    dest.exec(
        "CREATE TABLE p (id int PRIMARY KEY); \
         CREATE TABLE ev (id int, k int, PRIMARY KEY (id)) PARTITION BY RANGE (id); \
         CREATE TABLE ev1 PARTITION OF ev FOR VALUES FROM (0) TO (10); \
         CREATE TABLE ev2 PARTITION OF ev FOR VALUES FROM (10) TO (20); \
         INSERT INTO ev VALUES (5, 12345)",
    );
    let report = sync(&data_job(&src, &dest, "\"p\", \"ev\"", "")).unwrap_or_else(|e| panic!("{e}"));
    assert!(!report.ok, "{report:?}");
    let o = &report.verification[0].orphans;
    assert_eq!(o.len(), 1, "{o:?}");
    assert_eq!((o[0].foreign_key.as_str(), o[0].count), ("ev1_k_fk", 1));
    assert_eq!(o[0].examples, vec!["(id)=('5')".to_string()]);
}

/// The source's c_pid_fkey is NOT VALID and lets row 2 through; the destination's FK on
/// the same columns and parent is named otherwise (MariaDB's c_ibfk_1, a PostgreSQL
/// NOT VALID c_p_other). The copied orphan is let through, as at the source: job ok.
#[test]
fn a_source_not_valid_fk_excuses_its_orphans_under_another_name() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (id int PRIMARY KEY, pid int); \
         INSERT INTO p VALUES (1); INSERT INTO c VALUES (1, 1), (2, 7); \
         ALTER TABLE c ADD CONSTRAINT c_pid_fkey FOREIGN KEY (pid) REFERENCES p(id) NOT VALID",
    );
    for (engine, ddl, name) in [
        (
            Engine::Mysql,
            "CREATE TABLE p (id INT PRIMARY KEY); \
             CREATE TABLE c (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p(id))",
            "c_ibfk_1",
        ),
        (
            Engine::Postgres,
            "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (id int PRIMARY KEY, pid int); \
             ALTER TABLE c ADD CONSTRAINT c_p_other FOREIGN KEY (pid) REFERENCES p(id) NOT VALID",
            "c_p_other",
        ),
    ] {
        let dest = TestDb::create(engine);
        dest.exec(ddl);
        let report = sync(&data_job(&src, &dest, "\"p\", \"c\"", "checks = \"verify\""))
            .unwrap_or_else(|e| panic!("{engine}: {e}"));
        assert!(report.ok, "{engine}: {report:?}");
        let o = &report.verification[0].orphans;
        assert_eq!(o.len(), 1, "{engine}: {o:?}");
        assert_eq!(
            (o[0].foreign_key.as_str(), o[0].count, o[0].not_valid),
            (name, 1, true),
            "{engine}"
        );
        assert_eq!(o[0].examples, vec!["(id)=('2')".to_string()], "{engine}");
        assert_eq!(
            rows(&dest, "c", "id"),
            vec![vec!["1".to_string(), "1".into()], vec!["2".to_string(), "7".into()]],
            "{engine}"
        );
    }
}
