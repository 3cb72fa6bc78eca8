//! Sixteenth review (R1-R3): virtual foreign keys whose two sides compare text by
//! different rules, FK columns a MariaDB destination would create in different
//! collations, and virtual FKs onto columns that are no key. Real servers.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

fn all(db: &TestDb, sql: &str) -> Vec<Vec<String>> {
    db.query(sql)
        .into_iter()
        .map(|r| r.into_iter().map(|v| v.unwrap_or_else(|| "NULL".into())).collect())
        .collect()
}

fn tables(db: &TestDb) -> String {
    match db.engine {
        Engine::Sqlite => one(db, "select count(*) from sqlite_master where type = 'table'"),
        Engine::Postgres => one(
            db,
            "select count(*) from information_schema.tables where table_schema = 'public'",
        ),
        Engine::Mysql => one(
            db,
            "select count(*) from information_schema.tables where table_schema = database()",
        ),
    }
}

const CITEXT_SOURCE: &str = "create extension if not exists citext;
     create table par(code citext primary key, label text);
     create table kid(id int primary key, pcode text);
     create table tpar(code text primary key, label text);
     create table ckid(id int primary key, pcode citext);
     insert into par values ('abc','P1'),('Émile','P2'),('zz','P3');
     insert into kid values (1,'ABC'),(2,'émile'),(3,'zz');
     insert into tpar values ('abc','T1'),('ABC','T2');
     insert into ckid values (1,'aBc');";

/// R1: a PostgreSQL virtual FK from a `text` child to a `citext` parent (the subset
/// pulled parents caselessly, but followed children, respelt and verified by bytes:
/// orphans, exit 4) is refused when the job is prepared, naming the FK, its line and
/// both columns' rules; nothing is created on the destination.
#[test]
fn a_virtual_fk_from_text_to_citext_is_refused_before_anything_is_written() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(CITEXT_SOURCE);
    let dest = TestDb::create(Engine::Sqlite);
    let text = job(
        &src,
        &[&dest],
        "[subset]\ncopy_unrelated = false\n[[subset.targets]]\ntable = \"kid\"\nwhere = \"id in (1,2)\"\n\
         [[virtual_foreign_keys]]\ntable = \"kid\"\ncolumns = [\"pcode\"]\nreferenced_table = \"par\"\n",
    );
    let err = sync(&text).expect_err("refused").to_string();
    assert!(err.contains("kid_pcode_vfk"), "{err}");
    assert!(err.contains("(line 10)"), "{err}");
    assert!(
        err.contains("`kid`.`pcode` (compared byte for byte) and `par`.`code` (citext, compared without case)"),
        "{err}"
    );
    assert_eq!(tables(&dest), "0");
}

/// R1, the other direction: a `citext` child of a `text` parent is refused too.
#[test]
fn a_virtual_fk_from_citext_to_text_is_refused() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(CITEXT_SOURCE);
    let dest = TestDb::create(Engine::Postgres);
    let text = job(
        &src,
        &[&dest],
        "[[virtual_foreign_keys]]\ntable = \"ckid\"\ncolumns = [\"pcode\"]\nreferenced_table = \"tpar\"\n",
    );
    let err = sync(&text).expect_err("refused").to_string();
    assert!(err.contains("ckid_pcode_vfk"), "{err}");
    assert!(
        err.contains("`ckid`.`pcode` (citext, compared without case) and `tpar`.`code` (compared byte for byte)"),
        "{err}"
    );
    assert_eq!(tables(&dest), "0");
}

/// R1: citext on both sides compares alike: accepted, and the caseless child finds its
/// parent on every destination.
#[test]
fn a_virtual_fk_between_two_citext_columns_is_copied_consistently() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "create extension if not exists citext;
         create table par(code citext primary key, label text);
         create table kid(id int primary key, pcode citext);
         insert into par values ('abc','P1'),('zz','P3');
         insert into kid values (1,'ABC'),(2,'zz');",
    );
    let (lite, pg, my) = (
        TestDb::create(Engine::Sqlite),
        TestDb::create(Engine::Postgres),
        TestDb::create(Engine::Mysql),
    );
    let report = sync(&job(
        &src,
        &[&lite, &pg, &my],
        "[[virtual_foreign_keys]]\ntable = \"kid\"\ncolumns = [\"pcode\"]\nreferenced_table = \"par\"\n",
    ))
    .expect("sync");
    assert!(report.ok, "{report:?}");
    for d in [&lite, &pg, &my] {
        assert_eq!(
            all(
                d,
                "select k.id, p.label from kid k join par p on p.code = k.pcode order by k.id"
            ),
            [["1", "P1"], ["2", "P3"]]
        );
    }
}

/// R1 on MariaDB: a virtual FK between columns of different collations (a binary child,
/// a caseless parent) is refused, naming both collations; the same collation is not.
#[test]
fn a_mariadb_virtual_fk_between_different_collations_is_refused() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "create table par(code varchar(10) collate utf8mb4_general_ci primary key);
         create table kid(id int primary key, pcode varchar(10) collate utf8mb4_bin);
         create table kin(id int primary key, pcode varchar(10) collate utf8mb4_general_ci);
         insert into par values ('abc'); insert into kid values (1,'ABC'); insert into kin values (1,'ABC');",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let err = sync(&job(
        &src,
        &[&dest],
        "[[virtual_foreign_keys]]\ntable = \"kid\"\ncolumns = [\"pcode\"]\nreferenced_table = \"par\"\n",
    ))
    .expect_err("refused")
    .to_string();
    assert!(err.contains("kid_pcode_vfk"), "{err}");
    assert!(
        err.contains("`kid`.`pcode` (collation utf8mb4_bin) and `par`.`code` (collation utf8mb4_general_ci)"),
        "{err}"
    );
    assert_eq!(tables(&dest), "0");
    let report = sync(&job(
        &src,
        &[&dest],
        "[tables]\ninclude = [\"par\", \"kin\"]\n\
         [[virtual_foreign_keys]]\ntable = \"kin\"\ncolumns = [\"pcode\"]\nreferenced_table = \"par\"\n",
    ))
    .expect("same collation: accepted");
    assert!(report.ok, "{report:?}");
}

/// R2: a PostgreSQL FK from a `text` column to one in a nondeterministic (caseless)
/// collation, which PostgreSQL accepts: on MariaDB the parent was created
/// `utf8mb4_unicode_ci` and the child in the table's default, so the FK failed (errno
/// 150) and its check mixed collations (1267). The child now takes its parent's.
#[test]
fn a_child_of_a_caseless_key_is_created_in_its_parents_collation_on_mariadb() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "create collation ci16 (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
         create table par(code text collate ci16 primary key, label text);
         create table kid(id int primary key, pcode text references par);
         insert into par values ('abc','P1'),('zz','P3');
         insert into kid values (1,'ABC'),(2,'zz');",
    );
    let my = TestDb::create(Engine::Mysql);
    let report = sync(&job(&src, &[&my], "")).expect("sync");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        all(
            &my,
            "select table_name, collation_name from information_schema.columns \
             where table_schema = database() and column_name in ('code','pcode') order by 1"
        ),
        [["kid", "utf8mb4_unicode_ci"], ["par", "utf8mb4_unicode_ci"]]
    );
    assert_eq!(
        all(
            &my,
            "select k.id, p.label from kid k join par p on p.code = k.pcode order by k.id"
        ),
        [["1", "P1"], ["2", "P3"]]
    );
}

/// R2: a MariaDB destination's own tables whose FK columns have collations MariaDB
/// cannot mix (a `utf8mb4_unicode_ci` parent, a `utf8mb4_general_ci` child): the
/// verification compares them in the parent's collation, instead of dying with 1267
/// after the rows were written.
#[test]
fn verification_compares_mixed_collations_in_the_parents() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "create table par(code text primary key);
         create table kid(id int primary key, pcode text references par);
         insert into par values ('abc'),('q');
         insert into kid values (1,'abc'),(2,'q');",
    );
    let my = TestDb::create(Engine::Mysql);
    my.exec(
        "create table par(code varchar(10) collate utf8mb4_unicode_ci primary key);
         create table kid(id int primary key, pcode varchar(10) collate utf8mb4_general_ci);",
    );
    let report = sync(&job(&src, &[&my], "")).expect("verification reports, does not fail");
    assert!(report.ok, "{report:?}");
    assert_eq!(report.verification[0].foreign_keys_checked, 1);
    assert!(report.verification[0].orphans.is_empty(), "{report:?}");
    assert_eq!(one(&my, "select count(*) from kid"), "2");
}

/// R3 (documented, not refused: a sharded keyspace points virtual FKs at columns unique
/// only by its sequence): a virtual FK onto columns that are no primary or unique key
/// is accepted, and the subset pulls every parent row matching the child's value.
#[test]
fn a_virtual_fk_onto_columns_that_are_no_key_pulls_every_matching_parent() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "create table s(id int primary key, a varchar(10) collate utf8mb4_bin, b int, unique key ab (a, b));
         create table t(id int primary key, a varchar(10) collate utf8mb4_bin, b int);
         insert into s values (1,'abc',5),(2,'abc',6),(3,'x',7); insert into t values (1,'abc',5),(2,'x',7);",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let report = sync(&job(
        &src,
        &[&dest],
        "[subset]\ncopy_unrelated = false\n[[subset.targets]]\ntable = \"t\"\nwhere = \"id = 1\"\n\
         [[virtual_foreign_keys]]\ntable = \"t\"\ncolumns = [\"a\"]\nreferenced_table = \"s\"\n\
         referenced_columns = [\"a\"]\n",
    ))
    .expect("accepted");
    assert!(report.ok, "{report:?}");
    assert_eq!(all(&dest, "select id from s order by id"), [["1"], ["2"]]);
    assert_eq!(all(&dest, "select id from t order by id"), [["1"]]);
}
