//! Fourteenth review, F: subsets along foreign keys whose two sides have different types
//! (PostgreSQL accepts `char(n)` -> `varchar`, `text` -> `char(n)`, `float4` ->
//! `float8` and back, `int4` -> `numeric`, `int2` -> `int8`, `timestamp` -> `date`,
//! `citext` and domains -> `text`), read with the FK's own comparison: the parents a
//! child names are pulled in, the children a parent has (and only those) follow. SQLite:
//! an FK between a TEXT and an INTEGER column, compared as SQLite's FK check compares.
//! Each on the real servers, checked with the destination's own SQL.

mod common;

use common::*;
use tether_sync::subset::KeyReads;
use tether_testkit::{TestDb, TestEngine as Engine};

/// One column of `sql` on `db`, as text, in the query's order.
fn col(db: &TestDb, sql: &str) -> Vec<String> {
    db.query(sql).iter().map(|r| norm(&r[0])).collect()
}

const TYPED: &str = "
CREATE TABLE p3 (k varchar(10) PRIMARY KEY, tag int);
CREATE TABLE c3 (id int PRIMARY KEY, k char(6) REFERENCES p3 (k));
INSERT INTO p3 VALUES ('ab', 1), ('cd', 2);
INSERT INTO c3 VALUES (1, 'ab'), (2, 'cd');
CREATE TABLE p4 (k char(6) PRIMARY KEY, tag int);
CREATE TABLE c4 (id int PRIMARY KEY, k text REFERENCES p4 (k));
INSERT INTO p4 VALUES ('ab', 1), ('cd', 2);
INSERT INTO c4 VALUES (1, 'ab'), (2, 'cd'), (3, 'ab  ');
CREATE TABLE p6 (k float8 PRIMARY KEY, tag int);
CREATE TABLE c6 (id int PRIMARY KEY, k float4 REFERENCES p6 (k));
INSERT INTO p6 VALUES (0.1::float4, 1), (0.1, 2), (0.5, 3);
INSERT INTO c6 VALUES (1, 0.1), (2, 0.5);
CREATE TABLE p7 (k float4 PRIMARY KEY, tag int);
CREATE TABLE c7 (id int PRIMARY KEY, k float8 REFERENCES p7 (k));
INSERT INTO p7 VALUES (0.1, 1), (0.5, 2);
INSERT INTO c7 VALUES (1, 0.1::float4), (2, 0.5);
CREATE TABLE p_n (k numeric PRIMARY KEY, tag int);
CREATE TABLE c_n (id int PRIMARY KEY, k int4 REFERENCES p_n (k));
INSERT INTO p_n VALUES (1.0, 1), (2.5, 2), (3, 3);
INSERT INTO c_n VALUES (1, 1), (2, 3);
CREATE TABLE p8 (k int8 PRIMARY KEY, tag int);
CREATE TABLE c8 (id int PRIMARY KEY, k int2 REFERENCES p8 (k));
INSERT INTO p8 VALUES (1, 1), (5000000000, 2), (7, 3);
INSERT INTO c8 VALUES (1, 1), (2, 7);
CREATE TABLE p9 (k text PRIMARY KEY, tag int);
CREATE TABLE c9 (id int PRIMARY KEY, k varchar(5) REFERENCES p9 (k));
INSERT INTO p9 VALUES ('x', 1), ('y', 2);
INSERT INTO c9 VALUES (1, 'x'), (2, 'y');
CREATE TABLE p10 (k date PRIMARY KEY, tag int);
CREATE TABLE c10 (id int PRIMARY KEY, k timestamp REFERENCES p10 (k));
INSERT INTO p10 VALUES ('2024-01-01', 1), ('2024-01-02', 2);
INSERT INTO c10 VALUES (1, '2024-01-01'), (2, '2024-01-02 00:00');
CREATE TABLE pc (a int4, b varchar(5), tag int, PRIMARY KEY (a, b));
CREATE TABLE cc (id int PRIMARY KEY, a int8, b char(5), FOREIGN KEY (a, b) REFERENCES pc (a, b));
INSERT INTO pc VALUES (1, 'x', 1), (1, 'y', 2), (2, 'x', 3);
INSERT INTO cc VALUES (1, 1, 'x'), (2, 1, 'y'), (3, 2, 'x');
";

/// Targets on one side of each typed FK: a child target pulls its parent in (char(6)
/// child of a varchar key; a float4 child of a float8 key holding both float4 0.1 and
/// float8 0.1, of which the FK means the first; a varchar child of a text key), a parent
/// target has its children follow (a text child `'ab  '` of a char(6) `'ab'`, which the
/// FK compares as char; float8 children of a float4 key; an int4 child of numeric 1.0
/// while numeric 2.5 has none and is no error; int2 children of int8 keys, one of which
/// no int2 holds; timestamp children of a date; a composite key (int4, varchar) with an
/// (int8, char) FK).
#[test]
fn postgres_fks_between_columns_of_different_types_compare_as_the_fk_does() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(TYPED);
    for how in [KeyReads::Arrays, KeyReads::InLists] {
        let dest = TestDb::create(Engine::Postgres);
        let job = job(
            &src,
            &[&dest],
            "[[subset.targets]]\ntable = \"c3\"\nwhere = \"id = 1\"\n\
             [[subset.targets]]\ntable = \"c6\"\nwhere = \"id = 1\"\n\
             [[subset.targets]]\ntable = \"c9\"\nwhere = \"id = 2\"\n\
             [[subset.targets]]\ntable = \"p4\"\nwhere = \"tag = 1\"\n\
             [[subset.targets]]\ntable = \"p7\"\nwhere = \"tag = 1\"\n\
             [[subset.targets]]\ntable = \"p_n\"\nwhere = \"tag <= 2\"\n\
             [[subset.targets]]\ntable = \"p8\"\nwhere = \"tag <= 2\"\n\
             [[subset.targets]]\ntable = \"p10\"\nwhere = \"tag = 1\"\n\
             [[subset.targets]]\ntable = \"pc\"\nwhere = \"tag = 1\"\n",
        );
        // The subset as chosen (both ways of reading keys), then the whole job.
        let (chosen, _) = choose(&job, how, 2);
        let ids = |t: &str| chosen[&format!("public.{t}")].0.len();
        assert_eq!((ids("p3"), ids("c3"), ids("p6"), ids("c4")), (1, 1, 1, 2), "{how:?}");
        let report = sync(&job).unwrap_or_else(|e| panic!("{how:?}: {e}"));
        assert!(report.ok, "{report:?}");
        let got = |sql: &str| col(&dest, sql);
        assert_eq!(got("SELECT tag FROM p3 ORDER BY tag"), ["1"]);
        assert_eq!(got("SELECT id FROM c3 ORDER BY id"), ["1"]);
        assert_eq!(
            got("SELECT tag FROM p6 ORDER BY tag"),
            ["1"],
            "float4 0.1 is not float8 0.1"
        );
        assert_eq!(got("SELECT id FROM c6 ORDER BY id"), ["1"]);
        assert_eq!(got("SELECT tag FROM p9 ORDER BY tag"), ["2"]);
        assert_eq!(got("SELECT id FROM c9 ORDER BY id"), ["2"]);
        assert_eq!(got("SELECT tag FROM p4 ORDER BY tag"), ["1"]);
        assert_eq!(
            got("SELECT id FROM c4 ORDER BY id"),
            ["1", "3"],
            "'ab  ' as char is 'ab'"
        );
        assert_eq!(got("SELECT tag FROM p7 ORDER BY tag"), ["1"]);
        assert_eq!(got("SELECT id FROM c7 ORDER BY id"), ["1"]);
        assert_eq!(got("SELECT tag FROM p_n ORDER BY tag"), ["1", "2"]);
        assert_eq!(got("SELECT id FROM c_n ORDER BY id"), ["1"]);
        assert_eq!(got("SELECT tag FROM p8 ORDER BY tag"), ["1", "2"]);
        assert_eq!(got("SELECT id FROM c8 ORDER BY id"), ["1"]);
        assert_eq!(got("SELECT tag FROM p10 ORDER BY tag"), ["1"]);
        assert_eq!(got("SELECT id FROM c10 ORDER BY id"), ["1"]);
        assert_eq!(got("SELECT tag FROM pc ORDER BY tag"), ["1"]);
        assert_eq!(got("SELECT id FROM cc ORDER BY id"), ["1"]);
    }
}

/// A `citext` child of a `text` key compares as text (the FK's `=(text,text)`): the
/// children of `'Ab'` are not those of `'aB'`, which citext's own comparison would mix.
/// A domain over `varchar` referencing a `text` key: the same through the domain.
#[test]
fn postgres_citext_and_domain_children_compare_as_their_fk_does() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE EXTENSION IF NOT EXISTS citext;
         CREATE TABLE pb (k text PRIMARY KEY, tag int);
         CREATE TABLE cb (id int PRIMARY KEY, k citext REFERENCES pb (k));
         INSERT INTO pb VALUES ('Ab', 1), ('aB', 2);
         INSERT INTO cb VALUES (1, 'Ab'), (2, 'aB');
         CREATE DOMAIN code8 AS varchar(8);
         CREATE TABLE pd (k text PRIMARY KEY, tag int);
         CREATE TABLE cd (id int PRIMARY KEY, k code8 REFERENCES pd (k));
         INSERT INTO pd VALUES ('q', 1), ('r', 2);
         INSERT INTO cd VALUES (1, 'q'), (2, 'r'), (3, 'r');",
    );
    let dest = TestDb::create(Engine::Postgres);
    for how in [KeyReads::Arrays, KeyReads::InLists] {
        let job = job(
            &src,
            &[&dest],
            "[[subset.targets]]\ntable = \"pb\"\nwhere = \"tag = 1\"\n\
             [[subset.targets]]\ntable = \"cd\"\nwhere = \"id = 3\"\n",
        );
        let (chosen, _) = choose(&job, how, 1);
        let keys = |t: &str| {
            chosen[&format!("public.{t}")]
                .0
                .iter()
                .map(|k| k[0].display())
                .collect::<Vec<_>>()
        };
        assert_eq!(keys("pb"), ["'Ab'"], "{how:?}");
        assert_eq!(keys("cb"), ["1"], "{how:?}: not the child of 'aB'");
        assert_eq!(keys("pd"), ["'r'"], "{how:?}");
        assert_eq!(keys("cd"), ["3"], "{how:?}");
    }
}

/// SQLite applies the parent column's affinity to the child's value: TEXT `'01'`, `' 2'`
/// and `'2.0'` are children of INTEGER keys 1 and 2 (SQLite accepts them with
/// `foreign_keys = ON`), and a REAL 2.5 in an INTEGER column is a child of TEXT `'2.5'`.
/// A parent target has them all follow; child targets pull their parents in.
#[test]
fn sqlite_fks_between_text_and_integer_columns_compare_as_the_fk_does() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "PRAGMA foreign_keys = ON;
         CREATE TABLE pi (k INTEGER PRIMARY KEY, tag INT);
         CREATE TABLE ct (id INTEGER PRIMARY KEY, k TEXT REFERENCES pi (k));
         INSERT INTO pi VALUES (1, 1), (2, 2), (3, 3);
         INSERT INTO ct VALUES (1, '1'), (2, '01'), (3, ' 2'), (4, '2.0'), (5, '3');
         CREATE TABLE pt (k TEXT PRIMARY KEY, tag INT);
         CREATE TABLE ci (id INTEGER PRIMARY KEY, k INTEGER REFERENCES pt (k));
         INSERT INTO pt VALUES ('1', 1), ('01', 2), ('2.5', 3), ('7', 4);
         INSERT INTO ci VALUES (1, 1), (2, '2.5'), (3, 7);",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let job = job(
        &src,
        &[&dest],
        "[[subset.targets]]\ntable = \"pi\"\nwhere = \"tag <= 2\"\n\
         [[subset.targets]]\ntable = \"pt\"\nwhere = \"tag = 3\"\n\
         [[subset.targets]]\ntable = \"ci\"\nwhere = \"id = 1\"\n",
    );
    let report = sync(&job).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok, "{report:?}");
    let got = |sql: &str| col(&dest, sql);
    assert_eq!(got("SELECT tag FROM pi ORDER BY tag"), ["1", "2"]);
    assert_eq!(got("SELECT id FROM ct ORDER BY id"), ["1", "2", "3", "4"]);
    assert_eq!(got("SELECT tag FROM pt ORDER BY tag"), ["1", "3"]);
    assert_eq!(got("SELECT id FROM ci ORDER BY id"), ["1", "2"]);
}

/// A read along a typed FK that the server refuses names the FK and both columns'
/// types, beside the server's error. Here the parent's type is a domain whose check
/// refuses values in a read-only transaction (the job's snapshot), so casting the
/// parent's values to it fails.
#[test]
fn a_failed_read_along_a_typed_fk_names_the_fk_and_both_types() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE FUNCTION writable(numeric) RETURNS boolean LANGUAGE plpgsql AS $$
         BEGIN
           IF current_setting('transaction_read_only') = 'on' THEN
             RAISE EXCEPTION 'no amounts in a read-only transaction';
           END IF;
           RETURN true;
         END $$;
         CREATE DOMAIN amount AS numeric CHECK (writable(VALUE));
         CREATE TABLE p_n (k amount PRIMARY KEY, tag int);
         CREATE TABLE c_n (id int PRIMARY KEY, k int4 CONSTRAINT c_n_k_fkey REFERENCES p_n (k));
         INSERT INTO p_n VALUES (1.0, 1);
         INSERT INTO c_n VALUES (1, 1);",
    );
    let dest = TestDb::create(Engine::Postgres);
    let job = job(
        &src,
        &[&dest],
        "[[subset.targets]]\ntable = \"p_n\"\nwhere = \"tag = 1\"\n",
    );
    let msg = sync(&job).map(|r| r.ok).expect_err("the cast fails").to_string();
    assert!(
        msg.starts_with(
            "subset: reading public.c_n by foreign key c_n_k_fkey (k pg_catalog.int4 -> k public.amount): "
        ) && msg.contains("P0001")
            && msg.contains("no amounts in a read-only transaction"),
        "{msg}"
    );
}
