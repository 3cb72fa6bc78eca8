//! Foreign keys between columns of different types the source compares by value but
//! spells apart (review r21h F4): a PostgreSQL `date` referencing a `timestamp` (its
//! midnight), a `timestamp` referencing a `date`, `real` and `double precision`, an
//! integer referencing a `numeric`. SQLite compares an FK's values as written: the child
//! column takes its parent's type there and holds the parent's spelling, in full copies,
//! subsets and under a transformer. Checked with SQLite's own `PRAGMA foreign_key_check`.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

const APART: &str = "
CREATE TABLE tp (t timestamp PRIMARY KEY);
CREATE TABLE tc (id int PRIMARY KEY, d date REFERENCES tp (t));
CREATE TABLE dp (d date PRIMARY KEY);
CREATE TABLE dc (id int PRIMARY KEY, t timestamp REFERENCES dp (d));
CREATE TABLE fp (f double precision PRIMARY KEY);
CREATE TABLE fc (id int PRIMARY KEY, f real REFERENCES fp (f));
CREATE TABLE f4p (f real PRIMARY KEY);
CREATE TABLE f8c (id int PRIMARY KEY, f double precision REFERENCES f4p (f));
CREATE TABLE np (n numeric PRIMARY KEY);
CREATE TABLE nc (id int PRIMARY KEY, n int REFERENCES np (n));
CREATE TABLE sp (n numeric(6,3) PRIMARY KEY);
CREATE TABLE sc (id int PRIMARY KEY, n int REFERENCES sp (n));
CREATE TABLE zp (t timestamptz PRIMARY KEY);
CREATE TABLE zc (id int PRIMARY KEY, d date REFERENCES zp (t));
INSERT INTO tp VALUES ('2024-03-01'), ('2024-03-05'), ('2024-03-07 10:00');
INSERT INTO tc VALUES (1, '2024-03-01'), (2, '2024-03-05'), (3, NULL);
INSERT INTO dp VALUES ('2024-03-01'), ('2024-03-02');
INSERT INTO dc VALUES (1, '2024-03-01 00:00:00'), (2, '2024-03-02');
INSERT INTO fp VALUES (0.1::real), (0.5), (0.3);
INSERT INTO fc VALUES (1, 0.1), (2, 0.5);
INSERT INTO f4p VALUES (0.1), (0.25);
INSERT INTO f8c VALUES (1, 0.1::real::float8), (2, 0.25);
INSERT INTO np VALUES (5.0), (6), (7.50);
INSERT INTO nc VALUES (1, 5), (2, 6);
INSERT INTO sp VALUES (5), (1.5);
INSERT INTO sc VALUES (1, 5);
INSERT INTO zp VALUES ('2024-03-02 00:00:00+00');
INSERT INTO zc VALUES (1, '2024-03-02');
";

/// The job with `checks = "verify"` on every destination (loaded with FK checks off).
fn verified(job: &str) -> String {
    job.replace("truncate = true\n", "truncate = true\nchecks = \"verify\"\n")
}

/// The rows SQLite's own FK check finds without a parent (none expected).
fn sqlite_orphans(db: &TestDb) -> Vec<Vec<String>> {
    db.query("PRAGMA foreign_key_check")
        .iter()
        .map(|r| r.iter().map(norm).collect())
        .collect()
}

/// Each child column spelt apart from its parent is created with the parent's type on
/// SQLite (a plan line naming the parent) and holds the parent's text: the copy loads
/// with FK checks on and with `checks = "verify"`, and SQLite's own check finds no
/// orphan. MariaDB (the child takes the parent's type there) holds the parent's double
/// for the `real` child too.
#[test]
fn fk_columns_spelt_apart_by_type_hold_the_parents_spelling_on_sqlite() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(APART);
    for checks in ["on", "verify"] {
        let dest = TestDb::create(Engine::Sqlite);
        let text = job(&src, &[&dest], "");
        let text = if checks == "verify" { verified(&text) } else { text };
        let report = sync(&text).unwrap_or_else(|e| panic!("{checks}: {e}"));
        assert!(report.ok, "{checks}: {report:?}");
        assert_eq!(sqlite_orphans(&dest), Vec::<Vec<String>>::new(), "{checks}");
        assert_eq!(
            rows(&dest, "tc", "id"),
            vec![
                vec!["1", "2024-03-01 00:00:00"],
                vec!["2", "2024-03-05 00:00:00"],
                vec!["3", "NULL"]
            ],
            "{checks}"
        );
        assert_eq!(
            rows(&dest, "dc", "id"),
            vec![vec!["1", "2024-03-01"], vec!["2", "2024-03-02"]],
            "{checks}"
        );
        assert_eq!(
            dest.query("SELECT quote(f) FROM fc ORDER BY id"),
            dest.query("SELECT quote(f) FROM fp WHERE f IN (SELECT f FROM fc) ORDER BY f"),
            "{checks}: fc holds fp's doubles"
        );
        assert_eq!(one(&dest, "SELECT count(*) FROM fc JOIN fp USING (f)"), "2", "{checks}");
        assert_eq!(
            one(&dest, "SELECT count(*) FROM f8c JOIN f4p USING (f)"),
            "2",
            "{checks}"
        );
        assert_eq!(
            one(
                &dest,
                "SELECT group_concat(quote(n), ' ') FROM (SELECT n FROM nc ORDER BY id)"
            ),
            "'5.0' '6'",
            "{checks}: the parent's text"
        );
        assert_eq!(one(&dest, "SELECT count(*) FROM sc JOIN sp USING (n)"), "1", "{checks}");
        assert_eq!(
            one(&dest, "SELECT d FROM zc"),
            one(&dest, "SELECT t FROM zp"),
            "{checks}"
        );
    }

    // The plan says so, naming the parent; columns of alike types keep their own.
    let dest = TestDb::create(Engine::Sqlite);
    let plan = items(&job(&src, &[&dest], ""));
    for (column, from, to, parent) in [
        ("tc.d", "date", "DATETIME", "tp.t"),
        ("dc.t", "timestamp without time zone", "DATE", "dp.d"),
        ("fc.f", "real", "REAL", "fp.f"),
        ("nc.n", "integer", "TEXT", "np.n"),
        ("zc.d", "date", "DATETIME", "zp.t"),
    ] {
        let i = item(&plan, "column", column);
        assert_eq!((i.from.as_deref(), i.to.as_deref()), (Some(from), Some(to)), "{column}");
        let reason = i.reason.as_deref().unwrap_or_default();
        assert!(
            reason.contains(&format!("the type of {parent}, which it references"))
                && reason.contains("sqlite compares a foreign key's values as written"),
            "{column}: {reason}"
        );
    }
    assert_eq!(item(&plan, "column", "tc.id").reason, None);

    let maria = TestDb::create(Engine::Mysql);
    let report = sync(&verified(&job(&src, &[&maria], ""))).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok, "{report:?}");
    assert_eq!(one(&maria, "SELECT count(*) FROM fc JOIN fp USING (f)"), "2");
    assert_eq!(one(&maria, "SELECT count(*) FROM tc JOIN tp ON tc.d = tp.t"), "2");
}

/// A subset: only the chosen rows, each with its parent's spelling, verified; SQLite's
/// own check agrees.
#[test]
fn a_subset_of_fk_columns_spelt_apart_by_type_verifies_on_sqlite() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(APART);
    let dest = TestDb::create(Engine::Sqlite);
    let report = sync(&job(
        &src,
        &[&dest],
        "[[subset.targets]]\ntable = \"tc\"\nwhere = \"id = 2\"\n\
         [[subset.targets]]\ntable = \"fc\"\nwhere = \"id = 1\"\n\
         [[subset.targets]]\ntable = \"nc\"\nwhere = \"id = 1\"\n\
         [[subset.targets]]\ntable = \"dc\"\nwhere = \"id = 2\"\n",
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok, "{report:?}");
    assert_eq!(sqlite_orphans(&dest), Vec::<Vec<String>>::new());
    assert_eq!(rows(&dest, "tc", "id"), vec![vec!["2", "2024-03-05 00:00:00"]]);
    assert_eq!(rows(&dest, "tp", "t"), vec![vec!["2024-03-05 00:00:00"]]);
    assert_eq!(rows(&dest, "dc", "id"), vec![vec!["2", "2024-03-02"]]);
    assert_eq!(one(&dest, "SELECT quote(n) FROM nc"), "'5.0'");
    assert_eq!(one(&dest, "SELECT group_concat(quote(n)) FROM np"), "'5.0'");
    assert_eq!(one(&dest, "SELECT count(*) FROM fc JOIN fp USING (f)"), "1");
    assert_eq!(one(&dest, "SELECT count(*) FROM fp"), "1");
}

/// `date_shift` on the timestamp key: the date child inherits it and is shifted as a
/// date, then written in the parent's form on SQLite; PostgreSQL and MariaDB keep the
/// date (they compare by value). Every destination verifies.
#[test]
fn a_transformed_date_child_of_a_timestamp_key_matches_on_sqlite() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(APART);
    let (sqlite, pg, maria) = (
        TestDb::create(Engine::Sqlite),
        TestDb::create(Engine::Postgres),
        TestDb::create(Engine::Mysql),
    );
    let text = verified(&job(
        &src,
        &[&sqlite, &pg, &maria],
        "[transform.tp]\nt = { kind = \"date_shift\", max_days = 30 }\n",
    ));
    let text = format!("seed = \"r22\"\n{text}");
    let report = sync(&text).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok, "{report:?}");
    assert_eq!(sqlite_orphans(&sqlite), Vec::<Vec<String>>::new());
    let shifted = one(&pg, "SELECT d FROM tc WHERE id = 1");
    assert_ne!(shifted, "2024-03-01", "shifted");
    assert_eq!(
        rows(&sqlite, "tc", "id"),
        vec![
            vec!["1".to_string(), format!("{shifted} 00:00:00")],
            vec![
                "2".to_string(),
                format!("{} 00:00:00", one(&pg, "SELECT d FROM tc WHERE id = 2"))
            ],
            vec!["3".to_string(), "NULL".to_string()]
        ]
    );
    assert_eq!(one(&sqlite, "SELECT count(*) FROM tc JOIN tp ON tc.d = tp.t"), "2");
}

/// A MariaDB source: its keys pair columns of one type (InnoDB refuses or matches no row
/// otherwise), so nothing is spelt apart and every child keeps its own type on SQLite;
/// a full copy and a subset verify and SQLite's own check finds no orphan.
#[test]
fn a_mariadb_source_copies_its_typed_keys_to_sqlite_as_they_are() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE p (d date NOT NULL, t datetime(6) NOT NULL, f double NOT NULL, n decimal(10,2) NOT NULL,
           c varchar(20) NOT NULL, PRIMARY KEY (d), UNIQUE KEY (t), UNIQUE KEY (f), UNIQUE KEY (n), UNIQUE KEY (c));
         CREATE TABLE c (id int PRIMARY KEY, d date, t datetime(6), f double, n decimal(10,2), s varchar(10),
           FOREIGN KEY (d) REFERENCES p (d), FOREIGN KEY (t) REFERENCES p (t), FOREIGN KEY (f) REFERENCES p (f),
           FOREIGN KEY (n) REFERENCES p (n), FOREIGN KEY (s) REFERENCES p (c));
         INSERT INTO p VALUES ('2024-03-01', '2024-03-01 10:00:00.5', 0.1, 5, 'a'),
           ('2024-03-02', '2024-03-02 00:00:00', 0.25, 2.5, 'b');
         INSERT INTO c VALUES (1, '2024-03-01', '2024-03-01 10:00:00.5', 0.1, 5, 'a'),
           (2, '2024-03-02', '2024-03-02 00:00:00', 0.25, 2.5, 'b');",
    );
    for subset in ["", "[[subset.targets]]\ntable = \"c\"\nwhere = \"id = 2\"\n"] {
        let dest = TestDb::create(Engine::Sqlite);
        let report = sync(&job(&src, &[&dest], subset)).unwrap_or_else(|e| panic!("{subset}: {e}"));
        assert!(report.ok, "{subset}: {report:?}");
        assert_eq!(sqlite_orphans(&dest), Vec::<Vec<String>>::new(), "{subset}");
        let expected = if subset.is_empty() { "2" } else { "1" };
        assert_eq!(
            one(
                &dest,
                "SELECT count(*) FROM c JOIN p ON c.d = p.d AND c.t = p.t AND c.f = p.f AND c.n = p.n AND c.s = p.c"
            ),
            expected,
            "{subset}"
        );
    }
    let dest = TestDb::create(Engine::Sqlite);
    let plan = items(&job(&src, &[&dest], ""));
    for column in ["c.d", "c.t", "c.f", "c.n"] {
        let reason = item(&plan, "column", column).reason.clone().unwrap_or_default();
        assert!(!reason.contains("which it references"), "{column}: {reason}");
    }
}
