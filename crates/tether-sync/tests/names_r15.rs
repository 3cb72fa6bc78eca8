//! Fifteenth review, K: names. A PostgreSQL table named `a.b` next to table `b` of
//! schema `a` (K1): the job's spelling names one table, or it is refused naming both;
//! rows of one never land in the other's copy. Each on the real servers.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

const DOTTED: &str = "
create schema a;
create table a.b (id int primary key, v text);
create table \"a.b\" (id int primary key, v text);
create table kid (id int primary key, ab int references a.b(id), ab2 int references \"a.b\"(id));
insert into a.b values (1,'schema a'),(2,'schema a');
insert into \"a.b\" values (1,'dotted'),(2,'dotted'),(3,'dotted');
insert into kid values (1,1,3),(2,2,1);
";

const NOT_REACHED: &str = "no rows: no target reaches it (its rows would only come as children of parent rows)";

fn subset_of(target: &str, filter: &str) -> String {
    format!(
        "[tables]\ninclude = [\"*\", \"a.*\"]\n[subset]\nfollow_children = false\ncopy_unrelated = false\n\
         [[subset.targets]]\ntable = '{target}'\nwhere = \"{filter}\"\n"
    )
}

/// The reviewer's job (`table = "a.b"`, both tables there) is refused before anything is
/// written, naming both tables and how to write each.
#[test]
fn a_target_two_tables_answer_to_is_refused_naming_both() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(DOTTED);
    let dest = TestDb::create(Engine::Mysql);
    let err = sync(&job(&src, &[&dest], &subset_of("a.b", "id = 1"))).expect_err("ambiguous");
    assert_eq!(
        err.to_string(),
        "job.toml: line 10: subset target: `a.b` could name table `b` of schema `a` (write `\"a\".\"b\"`) \
         and table `a.b` of schema `public` (write `\"a.b\"`); write the one meant in double quotes (in \
         TOML, single quotes keep them: '\"a.b\"')"
    );
    assert_eq!(
        dest.query("select count(*) from information_schema.tables where table_schema = database()")[0][0].as_deref(),
        Some("0")
    );
}

/// `"a.b"` names the dotted table, `a."b"` the table of schema a: each target's rows go
/// into its own table's copy, the other copy stays empty; the plan names the two apart
/// and reads the dotted table as `"public"."a.b"`.
#[test]
fn quoted_targets_take_the_rows_of_the_table_they_name() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(DOTTED);

    let dest = TestDb::create(Engine::Mysql);
    let text = job(&src, &[&dest], &subset_of("\"a.b\"", "v = 'dotted'"));
    let parsed = tether_sync::Job::parse("job.toml", &text, &|_| None).expect("job");
    let plan = tether_testkit::block_on(async { tether_sync::prepare(&parsed).await.expect("plan").plan });
    let shown: Vec<(&str, &str, Vec<String>)> = plan
        .tables
        .iter()
        .map(|t| (t.name.as_str(), t.query.as_str(), t.reasons.clone()))
        .collect();
    assert_eq!(
        shown,
        [
            (
                "a.b",
                "SELECT \"id\", \"v\" FROM \"a\".\"b\" WHERE (\"id\") IN (...)",
                vec![NOT_REACHED.to_string()]
            ),
            (
                "\"a.b\"",
                "SELECT \"id\", \"v\" FROM \"public\".\"a.b\" WHERE (\"id\") IN (...)",
                vec!["target: WHERE v = 'dotted'".to_string()]
            ),
            (
                "kid",
                "SELECT \"id\", \"ab\", \"ab2\" FROM \"public\".\"kid\" WHERE (\"id\") IN (...)",
                vec![NOT_REACHED.to_string()]
            ),
        ]
    );
    let report = sync(&text).expect("sync");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        rows(&dest, "`a.b`", "id"),
        [["1", "dotted"], ["2", "dotted"], ["3", "dotted"]]
    );
    assert_eq!(rows(&dest, "a_b", "id"), Vec::<Vec<String>>::new());

    let dest = TestDb::create(Engine::Mysql);
    let report = sync(&job(&src, &[&dest], &subset_of("a.\"b\"", "id = 1"))).expect("sync");
    assert!(report.ok, "{report:?}");
    assert_eq!(rows(&dest, "a_b", "id"), [["1", "schema a"]]);
    assert_eq!(rows(&dest, "`a.b`", "id"), Vec::<Vec<String>>::new());
}

/// A full copy: each copy holds its own table's rows, the report names the two apart.
#[test]
fn a_full_copy_keeps_the_two_tables_apart() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(DOTTED);
    let dest = TestDb::create(Engine::Mysql);
    let report = sync(&job(&src, &[&dest], "[tables]\ninclude = [\"*\", \"a.*\"]\n")).expect("sync");
    assert!(report.ok, "{report:?}");
    let mut read: Vec<(String, u64, Vec<u64>)> = report
        .tables
        .iter()
        .map(|t| (t.table.clone(), t.rows_read, t.rows_written.clone()))
        .collect();
    read.sort();
    assert_eq!(
        read,
        [
            ("\"a.b\"".to_string(), 3, vec![3]),
            ("a.b".to_string(), 2, vec![2]),
            ("kid".to_string(), 2, vec![2])
        ]
    );
    assert_eq!(
        rows(&dest, "`a.b`", "id"),
        [["1", "dotted"], ["2", "dotted"], ["3", "dotted"]]
    );
    assert_eq!(rows(&dest, "a_b", "id"), [["1", "schema a"], ["2", "schema a"]]);
}

/// K2: two MariaDB foreign keys named with 64 characters sharing their first 63, to
/// PostgreSQL (which keeps 63 bytes): the plan maps each to a distinct name that fits,
/// the copy loads and has both keys under those names. Without the explicit indexes
/// MariaDB names each FK's own index after it: those are cut alike.
#[test]
fn long_mariadb_fk_names_are_cut_distinct_for_postgres() {
    let a = "a".repeat(63);
    for indexes in ["key ix1(x), key ix2(y),", ""] {
        let src = TestDb::create(Engine::Mysql);
        src.exec(&format!(
            "create table p (id int primary key, k int unique);
             create table c (id int primary key, x int, y int, {indexes}
               constraint {a}1 foreign key (x) references p(id),
               constraint {a}2 foreign key (y) references p(k));
             insert into p values (1,10),(2,20);
             insert into c values (1,1,20),(2,2,null);"
        ));
        let dest = TestDb::create(Engine::Postgres);
        let text = job(&src, &[&dest], "");
        let found = items(&text);
        let fks: Vec<(String, String, String, String)> = found
            .iter()
            .filter(|i| i.kind == "foreign key")
            .map(|i| {
                (
                    i.name.clone(),
                    format!("{:?}", i.action),
                    i.to.clone().unwrap_or_default(),
                    i.reason.clone().unwrap_or_default(),
                )
            })
            .collect();
        let why = "postgres keeps 63 bytes of a name (mysql allows longer ones)".to_string();
        assert_eq!(
            fks,
            [
                (format!("c.{a}1"), "Mapped".into(), a.clone(), why.clone()),
                (
                    format!("c.{a}2"),
                    "Mapped".into(),
                    format!("{}_2", &a[..61]),
                    why.clone()
                ),
            ]
        );
        let report = sync(&text).expect("sync");
        assert!(report.ok, "{report:?}");
        assert_eq!(
            col(
                &dest,
                "select conname from pg_constraint where contype = 'f' order by conname collate \"C\""
            ),
            [format!("{}_2", &a[..61]), a.clone()]
        );
        assert_eq!(rows(&dest, "c", "id"), [["1", "1", "20"], ["2", "2", "NULL"]]);
    }
}

/// One column of `sql` on `db`, as text, in the query's order.
fn col(db: &TestDb, sql: &str) -> Vec<String> {
    db.query(sql).iter().map(|r| norm(&r[0])).collect()
}

/// The schema items the plan of job `text` gives each destination.
fn items_per_destination(text: &str) -> Vec<Vec<tether_sync::schema_plan::SchemaItem>> {
    let job = tether_sync::Job::parse("job.toml", text, &|_| None).expect("job");
    let plan = tether_testkit::block_on(async { tether_sync::prepare(&job).await.expect("plan").plan });
    plan.destinations
        .iter()
        .map(|d| d.schema.as_ref().expect("the destination was read").objects.clone())
        .collect()
}

/// K3: a SQLite FK onto a parent column without a unique index (SQLite takes the
/// declaration): every destination engine's plan says the key is skipped and why
/// (SQLite and MariaDB were told `created`, then the load failed), the copy loads
/// every row without the key, and the verification still checks it.
#[test]
fn a_sqlite_fk_onto_a_column_that_is_no_key_is_skipped_on_every_engine() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "pragma foreign_keys = off;
         create table p (id integer primary key, code text);
         create table c (id integer primary key, code text references p(code));
         insert into p values (1,'A'),(2,'A'),(3,'B');
         insert into c values (1,'A'),(2,'B');",
    );
    let sqlite = TestDb::create(Engine::Sqlite);
    let mariadb = TestDb::create(Engine::Mysql);
    let postgres = TestDb::create(Engine::Postgres);
    let text = job(&src, &[&sqlite, &mariadb, &postgres], "");
    let fks: Vec<Vec<(String, String, String)>> = items_per_destination(&text)
        .iter()
        .map(|objects| {
            objects
                .iter()
                .filter(|i| i.kind == "foreign key")
                .map(|i| {
                    (
                        i.name.clone(),
                        format!("{:?}", i.action),
                        i.reason.clone().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .collect();
    let skipped = |extra: &str, engine: &str| {
        vec![(
            "c.c_code_fkey".to_string(),
            "Skipped".to_string(),
            format!(
                "it references p (code), which is no primary or unique key{extra} of that table: {engine} refuses \
                 such a foreign key; the verification still checks the copy's rows against it"
            ),
        )]
    };
    assert_eq!(
        fks,
        [
            skipped("", "sqlite"),
            skipped(" nor the first columns of an index", "mysql"),
            skipped("", "postgres")
        ]
    );
    let report = sync(&text).expect("sync");
    assert!(report.ok, "{report:?}");
    for dest in [&sqlite, &mariadb, &postgres] {
        assert_eq!(rows(dest, "c", "id"), [["1", "A"], ["2", "B"]]);
        assert_eq!(rows(dest, "p", "id"), [["1", "A"], ["2", "A"], ["3", "B"]]);
    }
    assert_eq!(
        sqlite.query("select count(*) from pragma_foreign_key_list('c')")[0][0].as_deref(),
        Some("0")
    );
    assert_eq!(
        mariadb.query(
            "select count(*) from information_schema.referential_constraints where constraint_schema = database()"
        )[0][0]
            .as_deref(),
        Some("0")
    );
}

/// K4: SQLite `INTEGER PRIMARY KEY DESC` is no rowid alias (SQLite keeps NULL in it and
/// numbers nothing): read as a nullable key without auto-numbering, and copied to
/// PostgreSQL without an identity; `INTEGER PRIMARY KEY` still is the rowid.
#[test]
fn sqlite_integer_primary_key_desc_is_no_rowid_alias() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "create table d (id integer primary key desc, v text);
         create table e (id integer primary key, v text);
         insert into d values (5,'x'),(7,'y');
         insert into e values (5,'x');",
    );
    let schema =
        tether_testkit::block_on(tether_connect::introspect(&src.db_url(), &Default::default())).expect("introspect");
    let key = |t: &str| {
        let c = &schema.find_table(t).expect("table").columns[0];
        (c.name.clone(), c.nullable, c.identity.is_some())
    };
    assert_eq!(key("d"), ("id".to_string(), true, false));
    assert_eq!(key("e"), ("id".to_string(), false, true));
    assert_eq!(one(&src, "select count(*) from d where id is null"), "0");
    src.exec("insert into d (v) values ('n')");
    assert_eq!(one(&src, "select count(*) from d where id is null"), "1");
    src.exec("delete from d where id is null");

    let dest = TestDb::create(Engine::Postgres);
    let report = sync(&job(&src, &[&dest], "")).expect("sync");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        dest.query(
            "select table_name, is_identity from information_schema.columns where column_name = 'id' \
             and table_schema = 'public' order by table_name"
        ),
        [
            [Some("d".to_string()), Some("NO".to_string())],
            [Some("e".to_string()), Some("YES".to_string())]
        ]
    );
    assert_eq!(rows(&dest, "d", "id"), [["5", "x"], ["7", "y"]]);
}

/// K1 elsewhere in the job: `[transform."a.b"]` (TOML's key `a.b`) is refused as two
/// tables; a virtual foreign key onto `'"a.b"'` links the dotted table, and a subset
/// target there brings that table's children along it (the other table's rows stay out).
#[test]
fn transforms_and_virtual_fks_name_the_dotted_table_apart() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(DOTTED);
    src.exec("create table note (id int primary key, ref int); insert into note values (1, 3), (2, 1);");
    let dest = TestDb::create(Engine::Mysql);
    let text = job(
        &src,
        &[&dest],
        "[tables]\ninclude = [\"*\", \"a.*\"]\n[transform.\"a.b\"]\nv = \"null\"\n",
    );
    let err = sync(&format!("seed = \"s\"\n{text}")).expect_err("ambiguous");
    assert_eq!(
        err.to_string(),
        "job.toml: line 9: [transform]: `a.b` could name table `b` of schema `a` (write `\"a\".\"b\"`) and \
         table `a.b` of schema `public` (write `\"a.b\"`); write the one meant in double quotes (in TOML, single \
         quotes keep them: '\"a.b\"')"
    );

    let report = sync(&job(
        &src,
        &[&dest],
        "[[virtual_foreign_keys]]\ntable = \"note\"\ncolumns = [\"ref\"]\nreferenced_table = '\"a.b\"'\n\
         [subset]\ncopy_unrelated = false\n[[subset.targets]]\ntable = '\"a.b\"'\nwhere = \"id = 3\"\n",
    ))
    .expect("sync");
    assert!(report.ok, "{report:?}");
    assert_eq!(rows(&dest, "`a.b`", "id"), [["3", "dotted"]]);
    assert_eq!(rows(&dest, "note", "id"), [["1", "3"]]);
}
