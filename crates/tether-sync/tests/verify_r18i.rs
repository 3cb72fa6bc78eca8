//! Eighteenth session, review I: a destination FK NOT VALID while the source's is valid
//! excused the orphans an `update` made (H2); a trigger a PostgreSQL partition declares
//! itself fired on the copied rows (H4); text written into a MariaDB integer column
//! changed its spelling without a refusal, and the orphan check compared a text parent
//! with a number child as numbers, finding parents the source does not (H5).

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

fn one_dest(src: &TestDb, dest: &TestDb, extra: &str, dest_extra: &str) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n{extra}\n[[destinations]]\nurl = \"{}\"\n{dest_extra}\n",
        src.url, dest.url
    )
}

/// The source's FK c -> p(code) is valid; the destination's is NOT VALID and its row 99
/// refers to p's code 'A', which `update` changes to 'B'. Row 99 is the run's orphan:
/// the verification fails naming c and the FK, not "let through ... as at the source".
#[test]
fn a_destination_not_valid_fk_does_not_excuse_the_runs_orphans() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE p (id int PRIMARY KEY, code text NOT NULL UNIQUE); \
         CREATE TABLE c (id int PRIMARY KEY, pcode text REFERENCES p(code)); \
         INSERT INTO p VALUES (1, 'B'); INSERT INTO c VALUES (1, 'B')",
    );
    for checks in ["enforce", "verify"] {
        let dest = TestDb::create(Engine::Postgres);
        dest.exec(
            "CREATE TABLE p (id int PRIMARY KEY, code text NOT NULL UNIQUE); \
             CREATE TABLE c (id int PRIMARY KEY, pcode text); \
             INSERT INTO p VALUES (1, 'A'); INSERT INTO c VALUES (99, 'A'); \
             ALTER TABLE c ADD CONSTRAINT c_pcode_fkey FOREIGN KEY (pcode) REFERENCES p(code) NOT VALID",
        );
        let job = one_dest(
            &src,
            &dest,
            "",
            &format!("on_conflict = \"update\"\nchecks = \"{checks}\""),
        );
        let report = sync(&job).unwrap_or_else(|e| panic!("{checks}: {e}"));
        assert!(!report.ok, "{checks}: {report:?}");
        let v = &report.verification[0];
        assert!(!v.ok, "{checks}: {v:?}");
        assert_eq!(v.orphans.len(), 1, "{checks}: {v:?}");
        let o = &v.orphans[0];
        assert_eq!(
            (o.table.as_str(), o.foreign_key.as_str(), o.count, o.not_valid),
            ("public.c", "c_pcode_fkey", 1, false),
            "{checks}"
        );
        assert_eq!(o.examples, vec!["(id)=('99')".to_string()], "{checks}");
    }
}

/// NOT VALID at the source as at the destination, the source's own orphan copied: let
/// through, reported, and the job is ok.
#[test]
fn a_source_not_valid_fk_still_excuses_its_orphans() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (id int PRIMARY KEY, pid int); \
         INSERT INTO p VALUES (1); INSERT INTO c VALUES (1, 1), (2, 7); \
         ALTER TABLE c ADD CONSTRAINT c_pid_fkey FOREIGN KEY (pid) REFERENCES p(id) NOT VALID",
    );
    let dest = TestDb::create(Engine::Postgres);
    let report = sync(&one_dest(&src, &dest, "", "")).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok, "{report:?}");
    let o = &report.verification[0].orphans;
    assert_eq!(o.len(), 1, "{o:?}");
    assert_eq!((o[0].count, o[0].not_valid), (1, true));
}

/// c is partitioned in two levels at the destination; c1 and c1a declare BEFORE INSERT
/// triggers of their own that rewrite the row, c2's swallows it. The copy holds the
/// source's rows, in both loads, and the triggers are on again after, as they were.
#[test]
fn partition_triggers_are_off_for_the_load() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE p (id int PRIMARY KEY); \
         CREATE TABLE c (id int PRIMARY KEY, pid int REFERENCES p(id), qty int); \
         INSERT INTO p VALUES (1), (2), (3); INSERT INTO c VALUES (1, 1, 5), (2, 2, 5), (60, 1, 6), (150, 3, 7)",
    );
    for checks in ["enforce", "verify"] {
        let dest = TestDb::create(Engine::Postgres);
        dest.exec(
            "CREATE TABLE p (id int PRIMARY KEY); \
             CREATE TABLE c (id int, pid int REFERENCES p(id), qty int, PRIMARY KEY (id)) PARTITION BY RANGE (id); \
             CREATE TABLE c1 PARTITION OF c FOR VALUES FROM (0) TO (100) PARTITION BY RANGE (id); \
             CREATE TABLE c1a PARTITION OF c1 FOR VALUES FROM (0) TO (50); \
             CREATE TABLE c1b PARTITION OF c1 FOR VALUES FROM (50) TO (100); \
             CREATE TABLE c2 PARTITION OF c FOR VALUES FROM (100) TO (200); \
             CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN NEW.qty := -1; NEW.pid := 3; RETURN NEW; END $$; \
             CREATE FUNCTION swallow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$; \
             CREATE TRIGGER c1_bump BEFORE INSERT ON c1 FOR EACH ROW EXECUTE FUNCTION bump(); \
             CREATE TRIGGER c1a_bump BEFORE INSERT ON c1a FOR EACH ROW EXECUTE FUNCTION bump(); \
             CREATE TRIGGER c2_swallow BEFORE INSERT ON c2 FOR EACH ROW EXECUTE FUNCTION swallow(); \
             ALTER TABLE c1a ENABLE ALWAYS TRIGGER c1a_bump",
        );
        let job = one_dest(&src, &dest, "", &format!("checks = \"{checks}\"\ntruncate = true"));
        let report = sync(&job).unwrap_or_else(|e| panic!("{checks}: {e}"));
        assert!(report.ok, "{checks}: {report:?}");
        assert_eq!(
            rows(&dest, "c", "id"),
            vec![
                vec!["1".to_string(), "1".into(), "5".into()],
                vec!["2".to_string(), "2".into(), "5".into()],
                vec!["60".to_string(), "1".into(), "6".into()],
                vec!["150".to_string(), "3".into(), "7".into()],
            ],
            "{checks}"
        );
        assert_eq!(
            dest.query(
                "SELECT tgrelid::regclass::text || ' ' || tgname::text || ' ' || tgenabled::text FROM pg_trigger \
                 WHERE tgrelid::regclass::text LIKE 'c%' AND tgname NOT LIKE 'RI_%' ORDER BY 1"
            )
            .iter()
            .map(|r| r[0].clone().unwrap_or_default())
            .collect::<Vec<_>>(),
            // (PostgreSQL 15 clones c1's trigger onto its partitions.)
            vec![
                "c1 c1_bump O",
                "c1a c1_bump O",
                "c1a c1a_bump A",
                "c1b c1_bump O",
                "c2 c2_swallow O"
            ],
            "{checks}"
        );
    }
}

/// A text source column into a MariaDB integer column: '007' and '7.0' would be stored
/// as 7, another spelling: refused naming the column; '7' goes in.
#[test]
fn text_whose_spelling_an_integer_column_changes_is_refused() {
    for value in ["007", "7.0"] {
        let src = TestDb::create(Engine::Postgres);
        src.exec(&format!(
            "CREATE TABLE tc (id int PRIMARY KEY, pcode text); INSERT INTO tc VALUES (1, '{value}')"
        ));
        let dest = TestDb::create(Engine::Mysql);
        dest.exec("CREATE TABLE tc (id INT PRIMARY KEY, pcode INT)");
        let e = sync(&one_dest(&src, &dest, "", "")).expect_err(&format!("{value}: must refuse"));
        let text = e.to_string();
        assert!(text.contains("pcode"), "{value}: {text}");
        assert!(
            text.contains(&format!("'{value}'")) || text.contains("fraction"),
            "{value}: {text}"
        );
        assert_eq!(one(&dest, "SELECT count(*) FROM tc"), "0", "{value}");
    }
    let src = TestDb::create(Engine::Postgres);
    src.exec("CREATE TABLE tc (id int PRIMARY KEY, pcode text); INSERT INTO tc VALUES (1, '7'), (2, '-12')");
    let dest = TestDb::create(Engine::Mysql);
    dest.exec("CREATE TABLE tc (id INT PRIMARY KEY, pcode INT)");
    let report = sync(&one_dest(&src, &dest, "", "")).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok, "{report:?}");
    assert_eq!(
        rows(&dest, "tc", "id"),
        vec![vec!["1".to_string(), "7".into()], vec!["2".to_string(), "-12".into()]]
    );
}

/// A virtual FK tc(pcode) -> tp(code) over text columns at the source; the destination
/// has tp.code as text and tc.pcode as an integer. The child '7' has no parent '7' at
/// the source ('07' is another text): an orphan there, which the check must find (each
/// engine compares '07' = 7 as numbers, true).
#[test]
fn the_orphan_check_compares_text_as_the_source_does() {
    for engine in [Engine::Mysql, Engine::Sqlite] {
        let src = TestDb::create(Engine::Postgres);
        src.exec(
            "CREATE TABLE tp (code text PRIMARY KEY); CREATE TABLE tc (id int PRIMARY KEY, pcode text); \
             INSERT INTO tp VALUES ('07'), ('8'); INSERT INTO tc VALUES (1, '7'), (2, '8')",
        );
        let dest = TestDb::create(engine);
        dest.exec("CREATE TABLE tp (code VARCHAR(10) PRIMARY KEY); CREATE TABLE tc (id INT PRIMARY KEY, pcode INT)");
        let extra = "[tables]\ninclude = [\"tp\", \"tc\"]\n[[virtual_foreign_keys]]\ntable = \"tc\"\n\
                     columns = [\"pcode\"]\nreferenced_table = \"tp\"\nreferenced_columns = [\"code\"]";
        let report = sync(&one_dest(&src, &dest, extra, "")).unwrap_or_else(|e| panic!("{engine}: {e}"));
        assert!(!report.ok, "{engine}: {report:?}");
        let o = &report.verification[0].orphans;
        assert_eq!(o.len(), 1, "{engine}: {o:?}");
        assert_eq!(
            (
                o[0].table.as_str(),
                o[0].foreign_key.as_str(),
                o[0].is_virtual,
                o[0].count
            ),
            ("tc", "tc_pcode_vfk", true, 1),
            "{engine}"
        );
        assert!(
            o[0].examples == ["(id)=('1')"] || o[0].examples == ["(id)=(1)"],
            "{engine}: {o:?}"
        );
    }
}
