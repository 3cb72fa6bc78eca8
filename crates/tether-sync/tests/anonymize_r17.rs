//! Seventeenth review, anonymized keys (r17d). F1: the check that transformed unique
//! keys stay distinct folded text with a hand-written table of Latin-1 accents, while a
//! MariaDB `_ci` collation also merges `č`/`c`, `ß`/`s`, `ı`/`i`, `ő`/`o`...: with
//! `on_conflict = "skip"` a parent was dropped, its child re-attached to another and the
//! run said verified. Now the run asks the MariaDB destination how the column's
//! collation weighs each character. F2: `date_shift` wrote year 0000, which PostgreSQL
//! refuses with its own error; now Tether's check stops it, naming table, column, value.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

fn strings(rows: &[&[&str]]) -> Vec<Vec<Option<String>>> {
    rows.iter()
        .map(|r| r.iter().map(|v| Some(v.to_string())).collect())
        .collect()
}

/// The reviewer's source: parents a, b, c and one child each.
fn parents_source() -> TestDb {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE p (code text PRIMARY KEY, name text);
         CREATE TABLE c (id int PRIMARY KEY, pcode text REFERENCES p (code));
         INSERT INTO p VALUES ('a', 'Alice'), ('b', 'Bob'), ('c', 'Carl');
         INSERT INTO c VALUES (1, 'a'), (2, 'b'), (3, 'c');",
    );
    src
}

/// A MariaDB destination with the tables already there (the server's default
/// collation for utf8mb4, `utf8mb4_general_ci` on 10.11) and one unrelated row, which
/// fooled the count-only verification.
fn mariadb_destination() -> TestDb {
    let dest = TestDb::create(Engine::Mysql);
    dest.exec(
        "CREATE TABLE p (code varchar(20) PRIMARY KEY, name text) DEFAULT CHARSET utf8mb4;
         CREATE TABLE c (id int PRIMARY KEY, pcode varchar(20), FOREIGN KEY (pcode) REFERENCES p (code)) \
             DEFAULT CHARSET utf8mb4;
         INSERT INTO p VALUES ('qq', 'unrelated');",
    );
    dest
}

/// `code` of a, b, c becomes `ab`, `bb` and `zz` through a `js` transformer.
fn job(src: &TestDb, dest: &TestDb, conflict: &str, a: &str, b: &str) -> String {
    format!(
        "source = \"{}\"\nseed = \"sekrit-SEED-123\"\nprivacy = \"off\"\n\
         [[destinations]]\nurl = \"{}\"\non_conflict = \"{conflict}\"\n\
         [transform.p]\ncode = {{ kind = \"js\", code = \"(v) => ({{a: '{a}', b: '{b}', c: 'zz'}})[v]\" }}\n",
        src.url, dest.url
    )
}

/// F1: `xc` and `xč` are one key to `utf8mb4_general_ci`. With `skip` Bob's row was
/// dropped and child 2 pointed at Alice, exit 0. Now the run stops before writing p,
/// naming the key, the value, the collation and the column; the destination keeps only
/// its own row. The same with `error`.
#[test]
fn a_collision_only_the_mariadb_collation_sees_is_refused() {
    let src = parents_source();
    for conflict in ["skip", "error"] {
        let dest = mariadb_destination();
        // `skip` into a table holding rows is refused before the run when a `js` writes
        // the key (r23b F2, transform_r23.rs): the collision is looked for in a table
        // there that holds none.
        let kept: &[&[&str]] = match conflict {
            "skip" => {
                dest.exec("DELETE FROM p");
                &[]
            }
            _ => &[&["qq", "unrelated"]],
        };
        let err = sync(&job(&src, &dest, conflict, "xc", "xč"))
            .expect_err("the collision stops the run")
            .to_string();
        assert!(
            err.contains(&format!(
                "table p: duplicate value in unique key (code) after transformation: ('xč') is the same key as \
                 that of an earlier row of this run to utf8mb4_general_ci, the collation of the column in \
                 destination {}: column p.code (it weighs these characters the same)",
                tether_connect::url::redact(&dest.url)
            )),
            "{conflict}: {err}"
        );
        assert_eq!(dest.query("SELECT code, name FROM p"), strings(kept), "{conflict}");
        assert_eq!(dest.query("SELECT count(*) FROM c"), strings(&[&["0"]]), "{conflict}");
    }
}

/// F1, the other pairs the reviewer found merged by `utf8mb4_general_ci` and not by the
/// Latin-1 fold, each with `error` (`skip` into a table holding rows is refused before
/// the run when a `js` writes the key: r23b F2); and a table the run creates with `skip`
/// (no table there yet): its collation is read after creation.
#[test]
fn every_pair_the_collation_merges_is_a_collision() {
    let src = parents_source();
    for (a, b) in [
        ("xs", "xß"),
        ("xi", "xı"),
        ("xo", "xő"),
        ("xs", "xş"),
        ("xz", "xž"),
        ("xa", "xā"),
        ("xe", "xě"),
    ] {
        let dest = mariadb_destination();
        let err = sync(&job(&src, &dest, "error", a, b))
            .expect_err("the collision stops the run")
            .to_string();
        assert!(
            err.contains(&format!(
                "duplicate value in unique key (code) after transformation: ('{b}') is the same key as that of an \
                 earlier row of this run to utf8mb4_general_ci"
            )),
            "{a}/{b}: {err}"
        );
        assert_eq!(dest.query("SELECT code FROM p"), strings(&[&["qq"]]), "{a}/{b}");
    }
    let dest = TestDb::create(Engine::Mysql);
    let err = sync(&job(&src, &dest, "skip", "xc", "xč"))
        .expect_err("the collision stops the run")
        .to_string();
    assert!(
        err.contains("('xč') is the same key as that of an earlier row of this run to utf8mb4_"),
        "{err}"
    );
}

/// F1, no false alarm: `xč` and `xd` are two keys to the collation, `XČ` and `xč` too
/// into a `_bin` column; both jobs are written whole, every child with its parent.
#[test]
fn outputs_the_collation_keeps_apart_are_written() {
    let src = parents_source();
    let dest = mariadb_destination();
    let report = sync(&job(&src, &dest, "error", "xč", "xd")).expect("distinct keys");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        dest.query("SELECT c.id, c.pcode, p.name FROM c JOIN p ON p.code = c.pcode ORDER BY c.id"),
        strings(&[&["1", "xč", "Alice"], &["2", "xd", "Bob"], &["3", "zz", "Carl"]])
    );

    let dest = TestDb::create(Engine::Mysql);
    dest.exec(
        "CREATE TABLE p (code varchar(20) COLLATE utf8mb4_bin PRIMARY KEY, name text) DEFAULT CHARSET utf8mb4;
         CREATE TABLE c (id int PRIMARY KEY, pcode varchar(20) COLLATE utf8mb4_bin, \
             FOREIGN KEY (pcode) REFERENCES p (code)) DEFAULT CHARSET utf8mb4;",
    );
    let report = sync(&job(&src, &dest, "error", "XČ", "xč")).expect("distinct keys to utf8mb4_bin");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        dest.query("SELECT c.id, c.pcode, p.name FROM c JOIN p ON p.code = c.pcode ORDER BY c.id"),
        strings(&[&["1", "XČ", "Alice"], &["2", "xč", "Bob"], &["3", "zz", "Carl"]])
    );
}

/// F2: dates of year 1 shifted back by up to 30 days landed in year 0000, which
/// PostgreSQL refused with `22008 date/time field value out of range`. Tether's own
/// check stops it now, naming the table, the column and the value; nothing is written.
#[test]
fn date_shift_never_leads_into_year_zero() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE t (id int PRIMARY KEY, d date);
         INSERT INTO t SELECT g, date '0001-01-01' + g FROM generate_series(0, 9) g;",
    );
    for engine in [Engine::Postgres, Engine::Mysql, Engine::Sqlite] {
        let dest = TestDb::create(engine);
        let job = format!(
            "source = \"{}\"\nseed = \"sekrit-SEED-123\"\nprivacy = \"off\"\n\
             [[destinations]]\nurl = \"{}\"\n\
             [transform.t]\nd = {{ kind = \"date_shift\", max_days = 30 }}\n",
            src.url, dest.url
        );
        let err = sync(&job).expect_err("year 0 is refused").to_string();
        assert!(err.contains("table t"), "{engine}: {err}");
        assert!(err.contains("column d"), "{engine}: {err}");
        assert!(
            err.contains("the shifted date leaves years 0001-9999 (year 0 is no year to PostgreSQL)"),
            "{engine}: {err}"
        );
        assert!(!err.contains("22008"), "{engine}: {err}");
    }
}
