//! Twenty-third review (r23b F1-F3): transformed keys across runs, and what notes print.
//! F2: a transformer that may give two source keys one new value (text `hash` with a
//! short length) on the key a re-run with `on_conflict = "skip"`/`"update"` matches rows
//! by gave the row an earlier run made from a deleted key to a new key with the same new
//! value (skip: the new row dropped, its children attached to the other's row; update:
//! the other's row overwritten). Such a re-run into a table that holds rows is refused
//! before anything is written. F3: the respelling note printed the source values of a
//! key the job transforms (e-mail addresses); they are masked. F1: the keyed `hash`
//! written into the non-NULL part of a half-NULL composite FK under a key-map parent
//! drew from the source column's whole range, ignoring the destination's (SQLite:
//! [0, 2^63 - 1]) and the parent's `min`/`max`.

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

/// ACC-100 and ACC-112 both hash to `c` with this seed and `length = 1`.
const SEED: &str = "s3cretSEEDvalue42";

fn accounts() -> TestDb {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE acct (code text PRIMARY KEY, owner text);
         CREATE TABLE txn (id int PRIMARY KEY, code text NOT NULL REFERENCES acct(code), amt int);
         INSERT INTO acct VALUES ('ACC-100', 'alice'), ('ACC-101', 'carol');
         INSERT INTO txn VALUES (1, 'ACC-100', 10), (2, 'ACC-101', 20);",
    );
    src
}

fn rerun_job(src: &TestDb, dest: &TestDb, on_conflict: &str, code: &str) -> String {
    format!(
        "source = \"{}\"\nseed = \"{SEED}\"\n[[destinations]]\nurl = \"{}\"\non_conflict = \"{on_conflict}\"\n\
         [transform.acct]\ncode = {code}\n",
        src.url, dest.url
    )
}

/// The joined destination rows: (new code, owner, txn id, amount).
fn joined(dest: &TestDb) -> Vec<Vec<String>> {
    dest.query("SELECT a.code, a.owner, t.id, t.amt FROM txn t JOIN acct a ON a.code = t.code ORDER BY t.id")
        .iter()
        .map(|r| r.iter().map(norm).collect())
        .collect()
}

fn refusal(dest: &TestDb, mode: &str, what: &str) -> String {
    format!(
        "{}: table acct already holds rows and on_conflict = \"{mode}\" matches this run's rows to \
         them by its key (code), whose column code the job transforms with `hash(alphabet=\"hex\", length=1, \
         max_length=0, truncate=true)`, which may give two source values one new value: a row an earlier run made from a source key since deleted cannot be told \
         from this run's row of another key with the same new value, so the run would {what}. Set truncate = true \
         for this destination, or transform the key with a kind that never gives two values one (`hash` on an \
         integer key)",
        dest.url
    )
}

/// F2: the r23b repro on PostgreSQL and SQLite destinations, `skip` and `update`. The
/// first run (the tables there hold no row) loads; the second, after ACC-100 was
/// replaced by ACC-112 (same new value `c`), is refused before anything is written
/// (`SyncError::Plan`: exit code 2), by `tether plan` too, and the destination keeps
/// the first run's rows. Before, it ended ok with bob's row missing and bob's
/// transaction attached to alice (skip), or alice's row overwritten with bob's (update).
#[test]
fn a_rerun_matching_on_a_key_a_transformer_may_merge_is_refused() {
    for (engine, mode) in [
        (Engine::Postgres, "skip"),
        (Engine::Postgres, "update"),
        (Engine::Sqlite, "skip"),
        (Engine::Sqlite, "update"),
    ] {
        let src = accounts();
        let dest = TestDb::create(engine);
        let text = rerun_job(&src, &dest, mode, "{ kind = \"hash\", length = 1 }");
        let report = sync(&text).unwrap_or_else(|e| panic!("{engine:?} {mode}: first run: {e}"));
        assert!(report.ok, "{report:?}");
        let first = vec![
            vec!["c".to_string(), "alice".into(), "1".into(), "10".into()],
            vec!["d".to_string(), "carol".into(), "2".into(), "20".into()],
        ];
        assert_eq!(joined(&dest), first, "{engine:?} {mode}");
        src.exec(
            "DELETE FROM txn WHERE id = 1; DELETE FROM acct WHERE code = 'ACC-100';
             INSERT INTO acct VALUES ('ACC-112', 'bob'); INSERT INTO txn VALUES (3, 'ACC-112', 30);",
        );
        let what = match mode {
            "skip" => "keep the other key's row in place of this run's row and attach this row's FK children to it",
            _ => "overwrite the other key's row with this run's row and attach the other row's FK children to it",
        };
        match sync(&text) {
            Err(tether_sync::SyncError::Plan(m)) => assert_eq!(m, refusal(&dest, mode, what), "{engine:?}"),
            other => panic!("{engine:?} {mode}: {other:?}"),
        }
        let job = tether_sync::Job::parse("job.toml", &text, &|_| None).expect("job");
        match tether_testkit::block_on(tether_sync::prepare(&job)) {
            Err(tether_sync::SyncError::Plan(m)) => assert_eq!(m, refusal(&dest, mode, what), "{engine:?}"),
            other => panic!("{engine:?} {mode}: plan: {:?}", other.map(|_| ())),
        }
        assert_eq!(joined(&dest), first, "{engine:?} {mode}: nothing written");
        // With truncate the run rewrites the table: bob's row and transaction are his.
        let truncated = text.replace("on_conflict", "truncate = true\non_conflict");
        let report = sync(&truncated).unwrap_or_else(|e| panic!("{engine:?} {mode}: truncate: {e}"));
        assert!(report.ok, "{report:?}");
        assert_eq!(
            joined(&dest),
            vec![
                vec!["d".to_string(), "carol".into(), "2".into(), "20".into()],
                vec!["c".to_string(), "bob".into(), "3".into(), "30".into()],
            ],
            "{engine:?} {mode}"
        );
    }
}

/// F2, the same class: a `js` function of the value (not injective) on the key is
/// refused as `hash` is; an integer key permuted by `hash` (a bijection) and a key the
/// job does not transform re-run as before, matching the earlier run's rows.
#[test]
fn a_rerun_on_an_injective_or_untransformed_key_still_matches() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE acct (id int PRIMARY KEY, code text UNIQUE, owner text);
         INSERT INTO acct VALUES (1, 'ab1', 'alice'), (2, 'xy1', 'carol');",
    );
    let dest = TestDb::create(Engine::Postgres);
    let job = |t: &str| {
        format!(
            "source = \"{}\"\nseed = \"{SEED}\"\n[[destinations]]\nurl = \"{}\"\non_conflict = \"skip\"\n\
             [transform.acct]\n{t}\n",
            src.url, dest.url
        )
    };
    let permuted = job("id = \"hash\"\nowner = \"first_name\"");
    for _ in 0..2 {
        let report = sync(&permuted).unwrap_or_else(|e| panic!("{e}"));
        assert!(report.ok, "{report:?}");
        assert_eq!(one(&dest, "SELECT count(*) FROM acct"), "2");
    }
    // A non-injective transformer on a column outside the key rows are matched by is
    // no refusal: the key (id) tells the earlier rows apart.
    let other_column = job("code = { kind = \"js\", code = \"(v) => v.substring(0, 2)\" }");
    let dest2 = TestDb::create(Engine::Postgres);
    let other_column = other_column.replace(&dest.url, &dest2.url);
    for _ in 0..2 {
        let report = sync(&other_column).unwrap_or_else(|e| panic!("{e}"));
        assert!(report.ok, "{report:?}");
    }
    assert_eq!(
        rows(&dest2, "acct", "id"),
        vec![vec!["1", "ab", "alice"], vec!["2", "xy", "carol"]]
    );
    // The key itself through a js substring: refused on the second run.
    let src2 = TestDb::create(Engine::Postgres);
    src2.exec(
        "CREATE TABLE acct (code text PRIMARY KEY, owner text);
         INSERT INTO acct VALUES ('ab1', 'alice');",
    );
    let dest3 = TestDb::create(Engine::Postgres);
    let text = format!(
        "source = \"{}\"\nseed = \"{SEED}\"\n[[destinations]]\nurl = \"{}\"\non_conflict = \"skip\"\n\
         [transform.acct]\ncode = {{ kind = \"js\", code = \"(v) => v.substring(0, 2)\" }}\n",
        src2.url, dest3.url
    );
    assert!(sync(&text).expect("first run").ok);
    src2.exec("DELETE FROM acct; INSERT INTO acct VALUES ('ab2', 'bob');");
    match sync(&text) {
        Err(tether_sync::SyncError::Plan(m)) => assert!(
            m.contains(
                "table acct already holds rows and on_conflict = \"skip\" matches this run's rows to them by its \
                 key (code), whose column code the job transforms with `js("
            ),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(rows(&dest3, "acct", "code"), vec![vec!["ab", "alice"]]);
}

/// F3: MariaDB children spelling a unique e-mail otherwise (`_ci`, PAD SPACE) are
/// respelt, and the note saying so masks the values of the key the job transforms; the
/// source's e-mail addresses appear nowhere in what the run says.
#[test]
fn the_respelling_note_masks_a_transformed_key() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE cust (id int PRIMARY KEY, email varchar(100) UNIQUE) \
           DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_general_ci;
         CREATE TABLE note (id int PRIMARY KEY, cust_email varchar(100), \
           CONSTRAINT note_cust_fk FOREIGN KEY (cust_email) REFERENCES cust(email)) \
           DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_general_ci;
         INSERT INTO cust VALUES (1, 'c433@m.org');
         INSERT INTO note VALUES (1, 'C433@M.ORG');",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let text = format!(
        "seed = \"{SEED}\"\n{}[transform.cust]\nemail = {{ kind = \"email\", unique = true }}\n",
        job(&src, &[&dest], "")
    );
    let told = Told::default();
    let report = sync_telling(&text, &told).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok, "{report:?}");
    let said = told.0.lock().expect("lock").clone();
    let note: Vec<&String> = said.iter().filter(|p| p.contains("spelt otherwise")).collect();
    assert_eq!(
        note,
        vec![
            "note: FK note_cust_fk (cust_email) -> cust(email): 1 value(s) spelt otherwise than the parent key the \
             source matches them to (its collation ignores case or trailing spaces) are written with the parent's \
             spelling, e.g. (cust_email)=(C***@M***.ORG, masked) -> (email)=(c***@m***.org, masked)"
        ],
        "{said:#?}"
    );
    assert!(
        !said.iter().any(|p| p.to_lowercase().contains("c433@m.org")),
        "{said:#?}"
    );
    // The child still joins its parent on the destination.
    assert_eq!(
        one(
            &dest,
            "SELECT count(*) FROM note n JOIN cust c ON c.email = n.cust_email"
        ),
        "1"
    );
}

/// The MATCH SIMPLE composite FK of r23b F1: `c` (3) holds (NULL, 9) and references
/// nothing; its `b` gets the keyed hash, no longer of the source's `bigint unsigned`
/// range.
fn composite(engine_b: &str) -> TestDb {
    let src = TestDb::create(Engine::Mysql);
    src.exec(&format!(
        "CREATE TABLE p (a int NOT NULL, b {engine_b} NOT NULL, PRIMARY KEY (a, b));
         CREATE TABLE c (id int PRIMARY KEY, a int NULL, b {engine_b} NULL, FOREIGN KEY (a, b) REFERENCES p(a, b));
         INSERT INTO p VALUES (1, 5), (1, 6), (2, 7);
         INSERT INTO c VALUES (1, 1, 5), (2, NULL, 5), (3, NULL, 9), (4, NULL, 18446744073709551615);"
    ));
    src
}

fn b_values(dest: &TestDb) -> Vec<(String, String, String)> {
    dest.query("SELECT id, a, b FROM c ORDER BY id")
        .iter()
        .map(|r| (norm(&r[0]), norm(&r[1]), norm(&r[2])))
        .collect()
}

/// F1: with the parent's `generate_hash` in [1, 1000] the half-NULL rows' `b` lie in
/// [1, 1000] too, on SQLite and PostgreSQL alike (the same keyed values on both; a row
/// referencing p takes p's new value), and the job no longer fails on SQLite (it said
/// `its b would be stored changed there`). The source value 2^64 - 1, outside the
/// range, gets the keyed draw in it.
#[test]
fn a_half_null_composite_fk_takes_the_parents_range() {
    let src = composite("bigint unsigned");
    let lite = TestDb::create(Engine::Sqlite);
    let pg = TestDb::create(Engine::Postgres);
    let text = format!(
        "seed = \"{SEED}\"\n{}[transform.p]\nb = {{ kind = \"generate_hash\", min = 1, max = 1000 }}\n",
        job(&src, &[&lite, &pg], "")
    );
    let report = sync(&text).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok, "{report:?}");
    let on_lite = b_values(&lite);
    assert_eq!(on_lite, b_values(&pg));
    let (ids, nulls): (Vec<&str>, Vec<&str>) = on_lite.iter().map(|(i, a, _)| (i.as_str(), a.as_str())).unzip();
    assert_eq!(ids, ["1", "2", "3", "4"]);
    assert_eq!(nulls, ["1", "NULL", "NULL", "NULL"]);
    for (id, _, b) in &on_lite {
        let b: u64 = b.parse().expect("an integer");
        assert!((1..=1000).contains(&b), "row {id}: b = {b}");
    }
    // Row 1 references p (1, 5): it holds p's new value there.
    assert_eq!(
        one(&lite, "SELECT count(*) FROM c JOIN p ON p.a = c.a AND p.b = c.b"),
        "1"
    );
    // The same partial key gets the same value every run (it is keyed, not drawn).
    let report = sync(&text).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok, "{report:?}");
    let again = b_values(&lite);
    assert_eq!(again[1..], on_lite[1..]);
}

/// F1 without a range on the parent: `generate_hash`'s default over a `bigint unsigned`
/// key is narrowed to what SQLite holds ([0, 2^63 - 1]), and so is the half-NULL rows'
/// keyed hash (2^64 - 1 included); into MariaDB, which holds the whole range, row 3
/// keeps the whole-range permutation (the same value as before this change).
#[test]
fn a_half_null_composite_fk_fits_the_destination() {
    let src = composite("bigint unsigned");
    let lite = TestDb::create(Engine::Sqlite);
    let text = format!(
        "seed = \"{SEED}\"\n{}[transform.p]\nb = \"generate_hash\"\n",
        job(&src, &[&lite], "")
    );
    let report = sync(&text).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok, "{report:?}");
    for (id, a, b) in b_values(&lite) {
        let b: i128 = b.parse().expect("an integer");
        assert!((0..=i64::MAX as i128).contains(&b), "row {id} ({a}): b = {b}");
    }
}

/// Review r23j J1: the same on PostgreSQL `numeric(5, 0)` columns, whose values come
/// as their text: a half-NULL row's value outside the parent's [1, 1000] (2000) gets
/// the keyed draw in it (before: the job failed, "outside the permuted range").
#[test]
fn a_half_null_composite_fk_on_a_numeric_key_takes_the_parents_range() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE p (a int NOT NULL, b numeric(5, 0) NOT NULL, PRIMARY KEY (a, b));
         CREATE TABLE c (id int PRIMARY KEY, a int NULL, b numeric(5, 0) NULL, FOREIGN KEY (a, b) REFERENCES p(a, b));
         INSERT INTO p VALUES (1, 5), (1, 6), (2, 7);
         INSERT INTO c VALUES (1, 1, 5), (2, NULL, 5), (3, NULL, 2000);",
    );
    let lite = TestDb::create(Engine::Sqlite);
    let pg = TestDb::create(Engine::Postgres);
    let text = format!(
        "seed = \"{SEED}\"\n{}[transform.p]\nb = {{ kind = \"generate_hash\", min = 1, max = 1000 }}\n",
        job(&src, &[&lite, &pg], "")
    );
    let report = sync(&text).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok, "{report:?}");
    let on_lite = b_values(&lite);
    assert_eq!(on_lite, b_values(&pg));
    assert_eq!(on_lite.len(), 3);
    for (id, _, b) in &on_lite {
        let b: u64 = b.parse().unwrap_or_else(|_| panic!("row {id}: b = {b}"));
        assert!((1..=1000).contains(&b), "row {id}: b = {b}");
    }
}

/// Review r23j J2: keys no transformer realistically merges are matched across runs as
/// before: a `uuid` key under `hash` (a keyed 122-bit UUID) and a text key under
/// `hash` at its default 32 hex characters (128 bits) re-run with `update`; and a
/// source table with no key, loaded into a destination table keyed by `id`, re-runs
/// with `skip` and a `first_name` column. A text `hash` of 8 hex characters (32 bits) is still refused.
#[test]
fn a_rerun_on_a_wide_keyed_draw_or_a_keyless_table_still_matches() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE u (id uuid PRIMARY KEY, name text);
         CREATE TABLE t (code text PRIMARY KEY, name text);
         CREATE TABLE loose (id int, name text);
         INSERT INTO u VALUES ('6f1c3a3e-0000-4000-8000-000000000001', 'alice'),
                              ('6f1c3a3e-0000-4000-8000-000000000002', 'carol');
         INSERT INTO t VALUES ('ACC-100', 'alice'), ('ACC-101', 'carol');
         INSERT INTO loose VALUES (1, 'alice'), (2, 'carol');",
    );
    let dest = TestDb::create(Engine::Postgres);
    // The keyless source table goes into a table of the destination's own, keyed by id.
    dest.exec("CREATE TABLE loose (id int PRIMARY KEY, name text)");
    let job = |on_conflict: &str, code: &str| {
        format!(
            "source = \"{}\"\nseed = \"{SEED}\"\n[[destinations]]\nurl = \"{}\"\non_conflict = \"{on_conflict}\"\n\
             [transform.u]\nid = \"hash\"\n[transform.t]\ncode = {code}\n[transform.loose]\nname = \"first_name\"\n",
            src.url, dest.url
        )
    };
    let wide = job("update", "\"hash\"");
    for _ in 0..2 {
        let report = sync(&wide).unwrap_or_else(|e| panic!("{e}"));
        assert!(report.ok, "{report:?}");
    }
    assert_eq!(one(&dest, "SELECT count(*) FROM u"), "2");
    assert_eq!(one(&dest, "SELECT count(*) FROM t"), "2");
    assert_eq!(one(&dest, "SELECT count(*) FROM loose"), "2");
    let skip = job("skip", "\"hash\"");
    let report = sync(&skip).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok, "{report:?}");
    let narrow = job("update", "{ kind = \"hash\", length = 8 }");
    match sync(&narrow) {
        Err(tether_sync::SyncError::Plan(m)) => assert!(
            m.contains("table t already holds rows and on_conflict = \"update\" matches this run's rows to them by its key (code)"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
}
