//! Eighteenth review (r18e), transformed keys whose FK children are of another type.
//! F1: a PostgreSQL `char(n)` key with a `varchar`/`text` child: the child was respelt
//! with the parent's padded text (`'ab    '`), then keyed as a `varchar` (padding kept)
//! while the parent was keyed as `char(n)` (padding dropped): other outputs, orphans.
//! Now an inheriting column keys the draw by its root column's type. The same class on
//! SQLite, where `char(n)` keeps what was written: a parent and child both holding
//! `'ab  '` were keyed apart too, in both directions. F2: a `text` key with a `citext`
//! child (PostgreSQL accepts that FK) was refused for every text transformer, the
//! child not taking the text options (`max_length`) the parent's spec spells out.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

/// `[transform.<table>] code = <spec>`.
fn transform(table: &str, spec: &str) -> String {
    format!("[transform.{table}]\ncode = {spec}\n")
}

/// A job copying `src` to `dests` with a seed, privacy off, and `transforms`.
fn anon_job(src: &TestDb, dests: &[&TestDb], transforms: &str) -> String {
    let mut s = format!("source = \"{}\"\nseed = \"r18e-SEED-42\"\nprivacy = \"off\"\n", src.url);
    for d in dests {
        s.push_str(&format!("[[destinations]]\nurl = \"{}\"\ntruncate = true\n", d.url));
    }
    s.push_str(transforms);
    s
}

/// `code` of `table` by `id` (or the codes alone when `id` is None), trailing blanks
/// dropped (a `char(n)` destination pads them).
fn codes(db: &TestDb, table: &str, with_id: bool) -> Vec<String> {
    let sql = if with_id {
        format!("SELECT id, code FROM {table} ORDER BY id")
    } else {
        format!("SELECT code FROM {table} ORDER BY code")
    };
    db.query(&sql)
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| {
                    v.as_deref()
                        .map_or("NULL".to_string(), |s| s.trim_end_matches(' ').to_string())
                })
                .collect::<Vec<_>>()
                .join("=")
        })
        .collect()
}

/// Every child's code is one of its parent table's codes, as the source has them:
/// `expected` maps child ids to the index of their parent's code in `parents`
/// (source order). Returns the destination's parent codes in that order.
fn assert_children_follow(
    db: &TestDb,
    what: &str,
    parent: &str,
    parents: &[&str],
    child: &str,
    expected: &[(i64, Option<usize>)],
) -> Vec<String> {
    let new_parents = codes(db, parent, false);
    assert_eq!(new_parents.len(), parents.len(), "{what}: {parent}: {new_parents:?}");
    for p in parents.iter().filter(|p| !p.is_empty()) {
        assert!(
            !new_parents.contains(&p.trim_end().to_string()),
            "{what}: {parent}: the source value {p:?} was written: {new_parents:?}"
        );
    }
    let kids = codes(db, child, true);
    assert_eq!(kids.len(), expected.len(), "{what}: {child}: {kids:?}");
    for (row, (id, parent_ix)) in kids.iter().zip(expected) {
        let (got_id, code) = row.split_once('=').expect("id=code");
        assert_eq!(got_id, id.to_string(), "{what}: {child}: {kids:?}");
        match parent_ix {
            None => assert_eq!(code, "NULL", "{what}: {child} {id}"),
            Some(_) => assert!(
                new_parents.iter().any(|p| p == code),
                "{what}: {child} {id}: {code:?} is not among {parent}'s codes {new_parents:?} (an orphan)"
            ),
        }
    }
    // Children of one source parent share one code, children of two differ.
    for (a, (_, pa)) in kids.iter().zip(expected) {
        for (b, (_, pb)) in kids.iter().zip(expected) {
            if pa.is_some() && pb.is_some() {
                let (ca, cb) = (a.split_once('=').unwrap().1, b.split_once('=').unwrap().1);
                assert_eq!(pa == pb, ca == cb, "{what}: {child}: {kids:?}");
            }
        }
    }
    new_parents
}

fn three_destinations() -> [TestDb; 3] {
    [
        TestDb::create(Engine::Postgres),
        TestDb::create(Engine::Mysql),
        TestDb::create(Engine::Sqlite),
    ]
}

/// F1: a PostgreSQL `char(6)` key with a `varchar(10)` and a `text` child, each kind
/// the reviewer tried: copied to PostgreSQL, MariaDB and SQLite in one run, verified,
/// every child on its parent's new code, the same codes on the three destinations.
/// Before: `vkid_code_fkey does not hold` (23503, 1452, SQLite's FK error), nothing
/// written.
#[test]
fn a_char_key_with_varchar_and_text_children_keeps_them_on_its_new_values() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE cpar (code char(6) PRIMARY KEY);
         CREATE TABLE vkid (id int PRIMARY KEY, code varchar(10) REFERENCES cpar (code));
         CREATE TABLE tkid (id int PRIMARY KEY, code text REFERENCES cpar (code));
         INSERT INTO cpar VALUES ('ab'), ('abcdef'), ('x');
         INSERT INTO vkid VALUES (1, 'ab'), (2, 'abcdef'), (3, NULL), (4, 'ab');
         INSERT INTO tkid VALUES (1, 'x'), (2, 'ab');",
    );
    for spec in [
        "\"hash\"",
        "{ kind = \"hash\", length = 6 }",
        "{ kind = \"hash\", alphabet = \"digits\" }",
        "\"scramble\"",
    ] {
        let dests = three_destinations();
        let refs: Vec<&TestDb> = dests.iter().collect();
        let report = sync(&anon_job(&src, &refs, &transform("cpar", spec)))
            .unwrap_or_else(|e| panic!("{spec}: the job runs: {e}"));
        assert!(report.ok, "{spec}: {report:?}");
        let mut seen: Vec<Vec<String>> = Vec::new();
        for d in &dests {
            let what = format!("{spec} on {:?}", d.engine);
            let p = assert_children_follow(
                d,
                &what,
                "cpar",
                &["ab", "abcdef", "x"],
                "vkid",
                &[(1, Some(0)), (2, Some(1)), (3, None), (4, Some(0))],
            );
            assert_children_follow(
                d,
                &what,
                "cpar",
                &["ab", "abcdef", "x"],
                "tkid",
                &[(1, Some(2)), (2, Some(0))],
            );
            let mut all = p;
            all.extend(codes(d, "vkid", true));
            all.extend(codes(d, "tkid", true));
            seen.push(all);
        }
        assert_eq!(seen[0], seen[1], "{spec}: PostgreSQL and MariaDB");
        assert_eq!(seen[0], seen[2], "{spec}: PostgreSQL and SQLite");
    }
}

/// F1, the other direction (which held): a `char(6)` child of a `varchar(10)` key.
#[test]
fn a_char_child_of_a_varchar_key_still_follows_it() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE vpar (code varchar(10) PRIMARY KEY);
         CREATE TABLE ckid (id int PRIMARY KEY, code char(6) REFERENCES vpar (code));
         INSERT INTO vpar VALUES ('ab'), ('abcdef');
         INSERT INTO ckid VALUES (1, 'ab'), (2, 'abcdef'), (3, 'ab');",
    );
    let dests = three_destinations();
    let refs: Vec<&TestDb> = dests.iter().collect();
    let report = sync(&anon_job(
        &src,
        &refs,
        &transform("vpar", "{ kind = \"hash\", length = 6 }"),
    ))
    .expect("the job runs");
    assert!(report.ok, "{report:?}");
    for d in &dests {
        assert_children_follow(
            d,
            &format!("{:?}", d.engine),
            "vpar",
            &["ab", "abcdef"],
            "ckid",
            &[(1, Some(0)), (2, Some(1)), (3, Some(0))],
        );
    }
}

/// F1's class on SQLite, which keeps a `char(6)` value as written: a parent and its
/// child both holding `'ab  '` (the same bytes, no respelling), in both directions.
/// The `char(6)` side was keyed without its trailing blanks, the `varchar` side with
/// them: other outputs, `FOREIGN KEY constraint failed` / 23503.
#[test]
fn a_sqlite_char_key_and_a_varchar_child_holding_the_same_blanks_stay_together() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE cpar (code char(6) PRIMARY KEY);
         CREATE TABLE vkid (id INTEGER PRIMARY KEY, code varchar(10) REFERENCES cpar (code));
         CREATE TABLE vpar (code varchar(10) PRIMARY KEY);
         CREATE TABLE ckid (id INTEGER PRIMARY KEY, code char(6) REFERENCES vpar (code));
         INSERT INTO cpar VALUES ('ab  '), ('cd');
         INSERT INTO vkid VALUES (1, 'ab  '), (2, 'cd');
         INSERT INTO vpar VALUES ('ab  '), ('cd');
         INSERT INTO ckid VALUES (1, 'ab  '), (2, 'cd');",
    );
    let extra =
        transform("cpar", "{ kind = \"hash\", length = 6 }") + &transform("vpar", "{ kind = \"hash\", length = 6 }");
    for dest in [TestDb::create(Engine::Postgres), TestDb::create(Engine::Sqlite)] {
        let report =
            sync(&anon_job(&src, &[&dest], &extra)).unwrap_or_else(|e| panic!("{:?}: the job runs: {e}", dest.engine));
        assert!(report.ok, "{:?}: {report:?}", dest.engine);
        let what = format!("{:?}", dest.engine);
        assert_children_follow(
            &dest,
            &what,
            "cpar",
            &["ab", "cd"],
            "vkid",
            &[(1, Some(0)), (2, Some(1))],
        );
        assert_children_follow(
            &dest,
            &what,
            "vpar",
            &["ab", "cd"],
            "ckid",
            &[(1, Some(0)), (2, Some(1))],
        );
    }
}

/// F2: a `text` key with a `citext` child: every text kind was refused by the plan
/// (`transformer `hash`: unknown option `max_length``, advice that could not be
/// followed). Now the child takes the text options and follows its parent.
#[test]
fn a_text_key_with_a_citext_child_can_be_transformed() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE EXTENSION IF NOT EXISTS citext;
         CREATE TABLE p_txt (code text PRIMARY KEY);
         CREATE TABLE c_cit (id int PRIMARY KEY, code citext REFERENCES p_txt (code));
         INSERT INTO p_txt VALUES ('abc'), ('XyZ'), ('');
         INSERT INTO c_cit VALUES (1, 'abc'), (2, 'XyZ'), (3, ''), (4, 'abc');",
    );
    for spec in [
        "\"hash\"",
        "{ kind = \"hash\", length = 16 }",
        "\"email\"",
        "\"first_name\"",
    ] {
        let dest = TestDb::create(Engine::Postgres);
        dest.exec("CREATE EXTENSION IF NOT EXISTS citext;");
        let report = sync(&anon_job(&src, &[&dest], &transform("p_txt", spec)))
            .unwrap_or_else(|e| panic!("{spec}: the job runs: {e}"));
        assert!(report.ok, "{spec}: {report:?}");
        assert_children_follow(
            &dest,
            spec,
            "p_txt",
            &["abc", "XyZ", ""],
            "c_cit",
            &[(1, Some(0)), (2, Some(1)), (3, Some(2)), (4, Some(0))],
        );
        assert_eq!(
            one(
                &dest,
                "SELECT count(*) FROM c_cit c JOIN p_txt p ON p.code = c.code::text"
            ),
            "4",
            "{spec}: every child on its parent, byte for byte"
        );
    }
}
