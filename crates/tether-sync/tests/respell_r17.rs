//! Seventeenth review (r17 G1, G2): children spelling a caseless parent key otherwise
//! are respelt for another engine, and two of them that would share one of the child's
//! own unique keys once respelt refuse the run. For a subset, both the refusal and the
//! notice about rewritten values were worked out on the whole source table: a subset
//! copying none of the clashing rows was refused, and the notice counted and quoted
//! values it never wrote. Now they look at the rows the job writes.

mod common;

use std::sync::Mutex;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

#[derive(Default)]
struct Told(Mutex<Vec<String>>);

impl tether_sync::Progress for Told {
    fn phase(&self, p: &str) {
        self.0.lock().expect("lock").push(p.to_string());
    }
    fn table_started(&self, _: &str, _: u64) {}
    fn rows(&self, _: &str, _: u64) {}
    fn table_done(&self, _: &str, _: u64, _: f64) {}
}

/// A NOCASE parent key and a child whose FK column is a unique key of its own: c 1
/// 'ABC' and c 2 'abc' are both children of p 1 'abc', and both 'abc' once respelt.
/// `child_key` declares c's row key (a primary key: the subset keeps its rows; a
/// unique key only: the load reads them again by key).
fn clash_source(child_key: &str) -> TestDb {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(&format!(
        "CREATE TABLE p (id INTEGER PRIMARY KEY, ci TEXT COLLATE NOCASE UNIQUE);
         CREATE TABLE c (id INTEGER {child_key}, pci TEXT UNIQUE REFERENCES p(ci));
         INSERT INTO p VALUES (1, 'abc'), (2, 'xyz');
         INSERT INTO c VALUES (1, 'ABC'), (2, 'abc'), (3, 'xyz');"
    ));
    src
}

const CLASH: &str = "c: FK c_pci_fkey (pci) -> p(ci): children spell the parent key otherwise than it \
     ((pci)=('ABC') for (ci)=('abc')), which the source's collation lets through; written with the parent's \
     spelling, as another engine or a transformer needs, 2 rows of c would have the same (pci), one of its own \
     unique keys, where the source tells them apart";

fn target(where_: &str) -> String {
    format!("[[subset.targets]]\ntable = \"p\"\nwhere = \"{where_}\"\n")
}

/// G1: the subset p 2 'xyz', c 3 'xyz' holds no respelt value and nothing that can
/// clash: it is copied, exactly those rows, whether c's rows were kept while choosing
/// or are read again by key. Before, it was refused with the clash of c 1 and c 2.
#[test]
fn a_subset_is_not_refused_over_a_clash_among_rows_it_does_not_copy() {
    for child_key in ["PRIMARY KEY", "NOT NULL UNIQUE"] {
        let src = clash_source(child_key);
        let dest = TestDb::create(Engine::Postgres);
        let told = Told::default();
        let report = sync_telling(&job(&src, &[&dest], &target("id = 2")), &told)
            .unwrap_or_else(|e| panic!("{child_key}: the subset is copied: {e}"));
        assert!(report.ok, "{child_key}: {report:?}");
        assert_eq!(rows(&dest, "p", "id"), [["2", "xyz"]], "{child_key}");
        assert_eq!(rows(&dest, "c", "id"), [["3", "xyz"]], "{child_key}");
        let phases = told.0.lock().expect("lock").clone();
        assert!(
            !phases.iter().any(|p| p.contains("spelt otherwise")),
            "{child_key}: {phases:#?}"
        );
    }
}

/// G1: where the rows written do clash, the run is still refused, nothing written: a
/// full copy of the same data, and a subset choosing p 1 (and so c 1 and c 2).
#[test]
fn a_clash_among_the_rows_written_is_still_refused() {
    for (child_key, extra) in [
        ("PRIMARY KEY", String::new()),
        ("PRIMARY KEY", target("id = 1")),
        ("NOT NULL UNIQUE", target("id = 1")),
    ] {
        let src = clash_source(child_key);
        let dest = TestDb::create(Engine::Postgres);
        let err = sync(&job(&src, &[&dest], &extra))
            .expect_err("the clash is refused")
            .to_string();
        assert!(err.contains(CLASH), "{child_key} {extra}: {err}");
        assert_eq!(
            one(
                &dest,
                "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('p', 'c')"
            ),
            "0",
            "{child_key} {extra}: nothing written"
        );
    }
}

/// G2: the notice about rewritten values counts and quotes only the values of the rows
/// a subset copies, and says nothing when none of them is rewritten; a full copy still
/// counts the whole table.
#[test]
fn the_respelling_notice_counts_only_the_rows_a_subset_copies() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE pt (id INTEGER PRIMARY KEY, ci TEXT COLLATE NOCASE UNIQUE);
         CREATE TABLE c_ci (id INTEGER PRIMARY KEY, pci TEXT REFERENCES pt(ci));
         INSERT INTO pt VALUES (1, 'abc'), (2, 'Def'), (3, 'x'), (4, 'é');
         INSERT INTO c_ci VALUES (1, 'ABC'), (2, 'abc'), (3, 'DEF'), (4, 'X'), (6, 'é');",
    );
    let notice = |n: usize, example: &str| {
        format!(
            "c_ci: FK c_ci_pci_fkey (pci) -> pt(ci): {n} value(s) spelt otherwise than the parent key the source \
             matches them to (its collation ignores case or trailing spaces) are written with the parent's \
             spelling on the postgres destination(s), which would not match them to it{example}"
        )
    };
    let run = |extra: &str| {
        let dest = TestDb::create(Engine::Postgres);
        let told = Told::default();
        let report = sync_telling(&job(&src, &[&dest], extra), &told).expect("copied");
        assert!(report.ok, "{report:?}");
        let said: Vec<String> = told
            .0
            .lock()
            .expect("lock")
            .iter()
            .filter(|p| p.contains("spelt otherwise"))
            .cloned()
            .collect();
        (said, rows(&dest, "c_ci", "id"))
    };

    // pt 4 'é': its only child is spelt as it is; nothing is rewritten, nothing said.
    let (said, copied) = run(&target("id = 4").replace("\"p\"", "\"pt\""));
    assert_eq!(said, Vec::<String>::new());
    assert_eq!(copied, [["6", "é"]]);

    // pt 2 'Def': one value, its own.
    let (said, copied) = run(&target("id = 2").replace("\"p\"", "\"pt\""));
    assert_eq!(said, [notice(1, ", e.g. (pci)=('DEF') -> (ci)=('Def')")]);
    assert_eq!(copied, [["3", "Def"]]);

    // The whole table: 'ABC', 'DEF' and 'X'.
    let (said, copied) = run("");
    assert_eq!(said.len(), 1, "{said:#?}");
    assert!(said[0].starts_with(&notice(3, ", e.g. ")), "{said:#?}");
    assert_eq!(
        copied,
        [["1", "abc"], ["2", "abc"], ["3", "Def"], ["4", "x"], ["6", "é"]]
    );
}
