//! Nineteenth review (r19r), `js` keys with FK children of another type. F1: a `js`
//! function of the value alone set on a key is computed again on each FK child (`same
//! function`), but it was given each column's value as read: PostgreSQL reads a `date`
//! key `'2024-01-02'` and its `timestamp` child `'2024-01-02 00:00:00'`, a
//! `numeric(10,2)` key `'2.00'` and its `int4` child 2: other outputs, the FK failing
//! (23503) or orphans under `checks = "verify"`. Now an inheriting column hands the
//! function its value as the root column's type reads it, and a pair that cannot be
//! made to read alike is refused by the plan. F2: the refusal of a key map over a
//! composite key named the wrong inheriting column and transformer.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

/// A job copying `src` to `dest` with a seed, privacy off, and `transforms`.
fn anon_job(src: &TestDb, dest: &TestDb, transforms: &str) -> String {
    format!(
        "source = \"{}\"\nseed = \"r19r-SEED-42\"\nprivacy = \"off\"\n\
         [[destinations]]\nurl = \"{}\"\ntruncate = true\n{transforms}",
        src.url, dest.url
    )
}

fn sorted(db: &TestDb, sql: &str) -> Vec<String> {
    db.query(sql)
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| v.as_deref().unwrap_or("NULL"))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

/// F1: the reviewer's two pairs, and a `timestamp` key with a `date` child (PostgreSQL
/// does not take an `int4` key with a `numeric` child), each with a function
/// that tells the spellings apart. The keys get what their own values give (as before
/// the fix), every child its parent's new value. Before: `ev_at_fkey does not hold`.
#[test]
fn a_js_key_and_its_child_of_another_type_reach_the_function_alike() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE cal (d date PRIMARY KEY, label text);
         CREATE TABLE ev (id int PRIMARY KEY, at timestamp NOT NULL REFERENCES cal (d));
         INSERT INTO cal VALUES ('2024-01-02', 'a'), ('2024-01-03', 'b');
         INSERT INTO ev VALUES (1, '2024-01-02 00:00:00'), (2, '2024-01-03 00:00:00'), (3, '2024-01-02');
         CREATE TABLE p2 (amount numeric(10,2) PRIMARY KEY);
         CREATE TABLE s2 (id int PRIMARY KEY, amount int NOT NULL REFERENCES p2);
         INSERT INTO p2 VALUES (2), (3);
         INSERT INTO s2 VALUES (1, 2), (2, 3);
         CREATE TABLE tp (t timestamp PRIMARY KEY);
         CREATE TABLE tk (id int PRIMARY KEY, t date REFERENCES tp);
         INSERT INTO tp VALUES ('2024-05-06 00:00:00'), ('2024-05-07 10:00:00');
         INSERT INTO tk VALUES (1, '2024-05-06');",
    );
    let dest = TestDb::create(Engine::Postgres);
    let transforms = "[transform.cal]\n\
        d = { kind = \"js\", code = \"(v) => String(v).length === 10 ? '2030' + String(v).slice(4) : '1999-01-01'\" }\n\
        [transform.p2]\n\
        amount = { kind = \"js\", code = \"(v) => Number(String(v).replace('.', '')) + 1\" }\n\
        [transform.tp]\n\
        t = { kind = \"js\", code = \"(v) => String(v).length === 19 ? '2031' + String(v).slice(4, 10) : '1999-01-01'\" }\n";
    let report = sync(&anon_job(&src, &dest, transforms)).expect("the job runs");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        sorted(&dest, "SELECT d, label FROM cal ORDER BY d"),
        ["2030-01-02|a", "2030-01-03|b"]
    );
    assert_eq!(
        sorted(&dest, "SELECT id, at FROM ev ORDER BY id"),
        [
            "1|2030-01-02 00:00:00",
            "2|2030-01-03 00:00:00",
            "3|2030-01-02 00:00:00"
        ]
    );
    assert_eq!(
        sorted(&dest, "SELECT amount FROM p2 ORDER BY amount"),
        ["201.00", "301.00"]
    );
    assert_eq!(
        sorted(&dest, "SELECT id, amount FROM s2 ORDER BY id"),
        ["1|201", "2|301"]
    );
    assert_eq!(
        sorted(&dest, "SELECT t FROM tp ORDER BY t"),
        ["2031-05-06 00:00:00", "2031-05-07 00:00:00"]
    );
    assert_eq!(sorted(&dest, "SELECT id, t FROM tk ORDER BY id"), ["1|2031-05-06"]);
}

/// F1, the pairs whose root spelling the child's value does not carry: a `numeric` key
/// without a scale (PostgreSQL reads each value with the digits it was written with)
/// and an `int4` child. Refused before anything is written, naming the FK, both
/// columns and both types.
#[test]
fn a_js_key_whose_child_cannot_read_it_alike_is_refused() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE pn (amount numeric PRIMARY KEY);
         CREATE TABLE sn (id int PRIMARY KEY, amount int NOT NULL REFERENCES pn);
         INSERT INTO pn VALUES (2.0), (3);
         INSERT INTO sn VALUES (1, 2), (2, 3);",
    );
    let dest = TestDb::create(Engine::Postgres);
    let err = sync(&anon_job(
        &src,
        &dest,
        "[transform.pn]\namount = { kind = \"js\", code = \"(v) => String(v).length\" }\n",
    ))
    .expect_err("refused")
    .to_string();
    assert!(
        err.contains(
            "foreign key sn_amount_fkey: sn.amount (integer) would compute the js function set on pn.amount (numeric)"
        ),
        "{err}"
    );
    assert!(err.contains("without a declared scale"), "{err}");
    assert_eq!(
        one(
            &dest,
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ),
        "0"
    );
}

/// F2: `inv.num` (`generate_hash`) gives `inv_line.num` its values through a key map
/// keyed by the whole key `(num, region)`, whose `region` part the `varchar(5)` child
/// reads otherwise than the `char(3)` key. The refusal said `inv_line.region inherits
/// generate_hash from inv.num` (region inherits `hash` from inv.region).
#[test]
fn a_composite_key_map_refusal_names_the_inheriting_column_and_the_key() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE inv (region char(3), num int, PRIMARY KEY (region, num));
         CREATE TABLE inv_line (id int PRIMARY KEY, region varchar(5), num bigint,
                                FOREIGN KEY (region, num) REFERENCES inv);
         INSERT INTO inv VALUES ('ab', 1);
         INSERT INTO inv_line VALUES (1, 'ab', 1);",
    );
    let dest = TestDb::create(Engine::Postgres);
    let err = sync(&anon_job(
        &src,
        &dest,
        "[transform.inv]\nregion = { kind = \"hash\", length = 3, alphabet = \"alnum\" }\nnum = \"generate_hash\"\n",
    ))
    .expect_err("refused")
    .to_string();
    assert!(err.contains("inv_line.num inherits generate_hash("), "{err}");
    assert!(err.contains(") from inv.num;"), "{err}");
    assert!(err.contains("looked up by the key inv (num, region) as read"), "{err}");
    assert!(
        err.contains("inv_line.region (character varying(5)) reads the keys of inv.region (character(3))"),
        "{err}"
    );
    assert!(!err.contains("inv_line.region inherits"), "{err}");
}
