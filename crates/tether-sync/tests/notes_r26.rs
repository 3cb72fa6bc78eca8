//! Twenty-sixth review (r26e F3, F4): two messages gave the wrong cause.
//! F3: two PostgreSQL rows 'G1' and 'g1' of a text UNIQUE key other than the primary
//! key, into a MariaDB table this run created (`_ci`), were explained as "two spellings
//! of one value of the key's type (a date, time or number ...)": the hint looked at the
//! row's key (`id int`), not at the key the server named. F4: the note on a MariaDB
//! composite FK `(tenant int, code varchar)` whose `code` was respelt gave SQLite's
//! integer-affinity reason, from the type of the FK's first column.

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

fn job(src: &TestDb, dest: &TestDb) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\n",
        src.url, dest.url
    )
}

/// F3: the clash on `sel_grp_key` is said to be the collation's, not a typed key's.
#[test]
fn a_clash_on_a_text_unique_key_other_than_the_row_key_names_the_collation() {
    let src = TestDb::create(Engine::Postgres);
    src.exec("CREATE TABLE sel (id int PRIMARY KEY, grp text UNIQUE); INSERT INTO sel VALUES (1, 'G1'), (2, 'g1');");
    let dest = TestDb::create(Engine::Mysql);
    let e = sync(&job(&src, &dest)).expect_err("'G1' and 'g1' clash").to_string();
    assert!(
        e.contains(
            "table sel: row (id)=(2) was rejected: server error 1062 (23000): Duplicate entry 'g1' for key \
             'sel_grp_key'; the table was empty before this run, so two rows of the source clash here: their \
             keys differ only in case, accents or trailing spaces (or a transformer made them so), which this \
             destination compares as equal where the source does not (a case-insensitive collation)"
        ),
        "{e}"
    );
    assert!(!e.contains("a date, time or number"), "{e}");
}

/// F4: MariaDB `p (tenant int, code varchar(8))` holds (1, 'b'), its child (1, 'B'):
/// into SQLite the child is respelt, and the note gives the collation as the reason.
#[test]
fn the_respelling_note_of_a_composite_fk_gives_the_respelt_columns_reason() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE p (tenant int NOT NULL, code varchar(8) NOT NULL, PRIMARY KEY (tenant, code)) ENGINE=InnoDB;
         INSERT INTO p VALUES (1, 'b');
         CREATE TABLE c (id int PRIMARY KEY, tenant int, code varchar(8),
           CONSTRAINT c_fk FOREIGN KEY (tenant, code) REFERENCES p (tenant, code)) ENGINE=InnoDB;
         INSERT INTO c VALUES (1, 1, 'B');",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let told = Told::default();
    let report = sync_telling(&job(&src, &dest), &told).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok, "{report:?}");
    let notes = told.0.lock().expect("lock").clone();
    let note = notes
        .iter()
        .find(|n| n.contains("spelt otherwise"))
        .unwrap_or_else(|| panic!("no note: {notes:?}"));
    assert_eq!(
        note,
        "c: FK c_fk (tenant, code) -> p(tenant, code): 1 value(s) spelt otherwise than the parent key the source \
         matches them to (its collation ignores case or trailing spaces) are written with the parent's spelling \
         on the sqlite destination(s), which would not match them to it, e.g. (tenant, code)=(1, 'B') -> \
         (tenant, code)=(1, 'b')"
    );
    assert_eq!(
        rows(&dest, "c", "id"),
        vec![vec!["1".to_string(), "1".into(), "b".into()]]
    );
}
