//! Thirteenth review: keys transformed (and sampled) alike whatever type or engine they
//! were read from. r13d #5 (`date_shift` and `noise` on a key whose FK child has another
//! type: date vs timestamp, datetime vs datetime(3), decimals of other scales), r13d #10
//! (a `char(n)` value transformed differently from PostgreSQL, which blank-pads it, than
//! from MariaDB), r13c C5 (`percent` picking other rows of the same decimal keys per
//! engine). Each runs the reviewer's scenario on the real servers.

mod common;

use std::collections::BTreeSet;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

fn all(db: &TestDb, sql: &str) -> Vec<Vec<String>> {
    db.query(sql)
        .into_iter()
        .map(|r| r.into_iter().map(|v| v.unwrap_or_else(|| "NULL".into())).collect())
        .collect()
}

fn one(db: &TestDb, sql: &str) -> String {
    all(db, sql)[0][0].clone()
}

fn job_into(source: &TestDb, dest: &TestDb, rest: &str) -> String {
    format!(
        "source = \"{}\"\nseed = \"k\"\nprivacy = \"off\"\n{rest}\n[[destinations]]\nurl = \"{}\"\ntruncate = true\n",
        source.url, dest.url
    )
}

/// A number or timestamp as text, trailing fractional zeros dropped (`1.50` and
/// `1.5000` are one value; `…:59.500000` and `…:59.5`).
fn trim(s: &str) -> String {
    if s.contains('.') && s.bytes().last().is_some_and(|b| b.is_ascii_digit()) {
        let t = s.trim_end_matches('0');
        t.strip_suffix('.').unwrap_or(t).to_string()
    } else {
        s.to_string()
    }
}

/// r13d #5 a: MariaDB, a virtual FK `datetime` -> `datetime(3)`, `date_shift` on the
/// parent: the child moves by its parent's offset (it read `10:00:00` where the parent
/// read `10:00:00.000`, and used to be shifted by another offset: orphans, exit 4).
#[test]
fn date_shift_moves_a_datetime_child_of_a_datetime3_parent_alike() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "create table slot(at datetime(3) primary key, label varchar(10));
         create table visit(id int primary key, slot_at datetime);
         insert into slot values ('2024-01-01 10:00:00','a'),('2024-01-02 11:00:00','b');
         insert into visit values (1,'2024-01-01 10:00:00'),(2,'2024-01-02 11:00:00');",
    );
    let dest = TestDb::create(Engine::Mysql);
    let report = sync(&job_into(
        &src,
        &dest,
        "[tables]\ninclude = [\"slot\", \"visit\"]\n\
         [[virtual_foreign_keys]]\ntable = \"visit\"\ncolumns = [\"slot_at\"]\nreferenced_table = \"slot\"\n\
         [transform.slot]\nat = { kind = \"date_shift\", max_days = 30 }\n",
    ))
    .expect("sync");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        all(
            &dest,
            "select v.id, s.label from visit v join slot s on s.at = v.slot_at order by v.id"
        ),
        [["1", "a"], ["2", "b"]]
    );
    assert_eq!(
        one(
            &dest,
            "select count(*) from slot where at in ('2024-01-01 10:00:00','2024-01-02 11:00:00')"
        ),
        "0",
        "shifted"
    );
}

/// r13d #5 b: PostgreSQL, a declared FK `date` -> `timestamp`: the date child moves to
/// its midnight parent's new day (it used to be rejected by the FK, exit 1).
#[test]
fn date_shift_moves_a_date_child_of_a_timestamp_parent_alike() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "create table day(d timestamp primary key, label text);
         create table booking(id int primary key, day date references day(d));
         insert into day values ('2024-01-01 00:00:00','a'),('2024-01-02 00:00:00','b'),('2024-01-03','c');
         insert into booking values (1,'2024-01-01'),(2,'2024-01-02'),(3,'2024-01-03');",
    );
    let dest = TestDb::create(Engine::Postgres);
    for options in ["max_days = 30", "max_days = 30, keep_order = true, unit = \"day\""] {
        let report = sync(&job_into(
            &src,
            &dest,
            &format!(
                "[tables]\ninclude = [\"day\", \"booking\"]\n\
                 [transform.day]\nd = {{ kind = \"date_shift\", {options} }}\n"
            ),
        ))
        .unwrap_or_else(|e| panic!("{options}: {e}"));
        assert!(report.ok, "{options}: {report:?}");
        assert_eq!(
            all(
                &dest,
                "select b.id, d.label from booking b join day d on d.d = b.day order by b.id"
            ),
            [["1", "a"], ["2", "b"], ["3", "c"]],
            "{options}"
        );
        assert_eq!(
            one(
                &dest,
                "select count(*) from day where d in ('2024-01-01','2024-01-02','2024-01-03')"
            ),
            "0",
            "{options}: shifted"
        );
    }
}

/// r13d #5 b, the other way: an order-keeping shift in seconds (set on a timestamp)
/// cannot give a date child its values: refused by the plan, naming the FK.
#[test]
fn an_order_keeping_shift_of_a_timestamp_parent_with_a_date_child_is_refused() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "create table day(d timestamp primary key);
         create table booking(id int primary key, day date references day(d));
         insert into day values ('2024-01-01');
         insert into booking values (1,'2024-01-01');",
    );
    let dest = TestDb::create(Engine::Postgres);
    let e = sync(&job_into(
        &src,
        &dest,
        "[tables]\ninclude = [\"day\", \"booking\"]\n\
         [transform.day]\nd = { kind = \"date_shift\", keep_order = true }\n",
    ))
    .expect_err("refused")
    .to_string();
    assert!(
        e.contains("foreign key `booking_day_fkey`: booking.day inherits the transformer of day.d")
            && e.contains("a date column moves by whole days"),
        "{e}"
    );
    assert_eq!(
        one(&dest, "select count(*) from pg_class where relname = 'booking'"),
        "0",
        "nothing written"
    );
}

/// r13d #5 c: `noise` on a decimal key whose child has another scale (a virtual FK on
/// MariaDB, a declared one on PostgreSQL): the child gets its parent's values (it used
/// to get its own digits: every child an orphan).
#[test]
fn noise_gives_a_decimal_child_of_another_scale_its_parents_values() {
    for engine in [Engine::Mysql, Engine::Postgres] {
        let src = TestDb::create(engine);
        let (ddl, vfk) = match engine {
            Engine::Postgres => (
                "create table dpar(v numeric(10,2) primary key);
                 create table dkid(id int primary key, v numeric(12,4) references dpar(v));",
                "",
            ),
            _ => (
                "create table dpar(v decimal(10,2) primary key);
                 create table dkid(id int primary key, v decimal(12,4));",
                "[[virtual_foreign_keys]]\ntable = \"dkid\"\ncolumns = [\"v\"]\nreferenced_table = \"dpar\"\n",
            ),
        };
        src.exec(ddl);
        src.exec("insert into dpar values (1.5),(2.25),(3); insert into dkid values (1,1.5),(2,2.25),(3,3);");
        let dest = TestDb::create(engine);
        let report = sync(&job_into(
            &src,
            &dest,
            &format!(
                "[tables]\ninclude = [\"dpar\", \"dkid\"]\n{vfk}\
                 [transform.dpar]\nv = {{ kind = \"noise\", relative = 0.5 }}\n"
            ),
        ))
        .unwrap_or_else(|e| panic!("{engine:?}: {e}"));
        assert!(report.ok, "{engine:?}: {report:?}");
        assert_eq!(
            one(&dest, "select count(*) from dkid k join dpar p on p.v = k.v"),
            "3",
            "{engine:?}: {:?} {:?}",
            all(&dest, "select v from dpar order by v"),
            all(&dest, "select v from dkid order by id")
        );
        assert_eq!(
            one(&dest, "select count(*) from dpar where v in (1.5, 2.25, 3)"),
            "0",
            "{engine:?}: noised"
        );
    }
}

/// r13d #5 c, where no scale can be agreed on: `noise` on an unbounded `numeric` key
/// keeps each value's own digits (`1.5`, `1.50` are one key): refused, naming the FK; a
/// `scale` makes it one function.
#[test]
fn noise_on_an_unbounded_numeric_key_with_children_needs_a_scale() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "create table dpar(v numeric primary key);
         create table dkid(id int primary key, v numeric references dpar(v));
         insert into dpar values (1.50),(2.25); insert into dkid values (1,1.5),(2,2.250);",
    );
    let dest = TestDb::create(Engine::Postgres);
    let job = |options: &str| {
        job_into(
            &src,
            &dest,
            &format!(
                "[tables]\ninclude = [\"dpar\", \"dkid\"]\n[transform.dpar]\nv = {{ kind = \"noise\", {options} }}\n"
            ),
        )
    };
    let e = sync(&job("relative = 0.5")).expect_err("refused").to_string();
    assert!(
        e.contains("foreign key `dkid_v_fkey`: dkid.v inherits the transformer of dpar.v")
            && e.contains("set `scale` on the parent"),
        "{e}"
    );
    let report = sync(&job("relative = 0.5, scale = 3")).expect("with a scale");
    assert!(report.ok, "{report:?}");
    assert_eq!(one(&dest, "select count(*) from dkid k join dpar p on p.v = k.v"), "2");
}

/// The same table on PostgreSQL and MariaDB, transformed with one seed into SQLite.
fn transformed_from(engine: Engine) -> Vec<Vec<String>> {
    let src = TestDb::create(engine);
    let ts = if engine == Engine::Postgres {
        "timestamp(6)"
    } else {
        "datetime(6)"
    };
    src.exec(&format!(
        "create table chr(id int primary key, c char(10), v varchar(10), ts {ts}, amount decimal(10,2));
         insert into chr values (1,'abc','abc','2023-12-31 23:59:59.5',1.50),(2,'Hello','Hello','2024-01-01 00:00:00',3);"
    ));
    let dest = TestDb::create(Engine::Sqlite);
    let report = sync(&job_into(
        &src,
        &dest,
        "[tables]\ninclude = [\"chr\"]\n[transform.chr]\nc = \"hash\"\nv = \"hash\"\n\
         ts = { kind = \"date_shift\", max_days = 30 }\namount = { kind = \"noise\", relative = 0.5 }\n",
    ))
    .unwrap_or_else(|e| panic!("{engine:?}: {e}"));
    assert!(report.ok, "{engine:?}: {report:?}");
    all(&dest, "select id, c, v, ts, amount from chr order by id")
        .into_iter()
        .map(|r| r.iter().map(|v| trim(v)).collect())
        .collect()
}

/// r13d #10 (and the timestamp fraction of #5): one seed, one stored value, the same
/// output from either engine; and `char(10)` 'abc' the same as `varchar` 'abc'.
#[test]
fn one_value_gets_one_output_from_postgres_and_mariadb() {
    let pg = transformed_from(Engine::Postgres);
    let my = transformed_from(Engine::Mysql);
    assert_eq!(pg, my);
    for row in &pg {
        assert_eq!(row[1], row[2], "char(10) and varchar agree: {row:?}");
        assert_ne!(row[1], "abc");
    }
    assert!(!pg[0][3].starts_with("2023-12-31"), "{pg:?}");
}

/// The keys `percent = 30` keeps, normalized.
fn sampled(source: &TestDb) -> Vec<BTreeSet<String>> {
    let dest = TestDb::create(Engine::Sqlite);
    let report = sync(&job_into(
        source,
        &dest,
        "[tables]\ninclude = [\"n2\", \"d\", \"ck\"]\n\
         [[subset.targets]]\ntable = \"n2\"\npercent = 30\n\
         [[subset.targets]]\ntable = \"d\"\npercent = 30\n\
         [[subset.targets]]\ntable = \"ck\"\npercent = 30\n",
    ))
    .expect("sync");
    assert!(report.ok, "{report:?}");
    [("n2", "k"), ("d", "dk"), ("ck", "c")]
        .iter()
        .map(|(t, k)| {
            all(&dest, &format!("select {k} from {t}"))
                .into_iter()
                .map(|r| {
                    let v = &r[0];
                    match v.parse::<f64>() {
                        Ok(f) => format!("{f}"),
                        Err(_) => v.trim_end().to_string(),
                    }
                })
                .collect()
        })
        .collect()
}

/// r13c C5: `percent` keeps the same rows of the same data on every engine, for decimal
/// keys (PostgreSQL `1.00`, MariaDB `1.000000000000000000000000000000`, SQLite's
/// integer `1` and real `0.25`) and blank-padded `char(n)` keys too.
#[test]
fn percent_samples_the_same_decimal_and_char_keys_on_every_engine() {
    let pg = TestDb::create(Engine::Postgres);
    pg.exec(
        "create table d (dk numeric(10,2) primary key); insert into d select g/4.0 from generate_series(1,300) g;
         create table n2 (k numeric primary key); insert into n2 select g/4.0 from generate_series(1,300) g;
         create table ck (c char(6) primary key); insert into ck select 'k' || g from generate_series(1,300) g;",
    );
    let my = TestDb::create(Engine::Mysql);
    my.exec(
        "create table d (dk decimal(10,2) primary key);
         create table n2 (k decimal(65,30) primary key);
         create table ck (c char(6) primary key);
         insert into d select seq/4.0 from seq_1_to_300;
         insert into n2 select seq/4.0 from seq_1_to_300;
         insert into ck select concat('k', seq) from seq_1_to_300;",
    );
    let lite = TestDb::create(Engine::Sqlite);
    lite.exec(
        "create table d (dk NUMERIC(10,2) primary key);
         create table n2 (k NUMERIC(40,30) primary key);
         create table ck (c CHAR(6) primary key);
         with recursive g(x) as (select 1 union all select x + 1 from g where x < 300)
           insert into d select x / 4.0 from g;
         with recursive g(x) as (select 1 union all select x + 1 from g where x < 300)
           insert into n2 select x / 4.0 from g;
         with recursive g(x) as (select 1 union all select x + 1 from g where x < 300)
           insert into ck select 'k' || x from g;",
    );
    let from_pg = sampled(&pg);
    for set in &from_pg {
        assert!(set.len() > 50 && set.len() < 150, "{}", set.len());
    }
    assert_eq!(sampled(&my), from_pg, "MariaDB");
    assert_eq!(sampled(&lite), from_pg, "SQLite");
}

/// The same class through a key map (`generate_*`): new values are looked up by the
/// child's key as read, so a `datetime` child of a `datetime(3)` parent would miss them
/// (orphans, exit 4): refused by the plan, naming the FK and both types; the same types
/// copy fine.
#[test]
fn a_key_map_to_a_child_that_reads_its_keys_otherwise_is_refused() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "create table slot(at datetime(3) primary key, label varchar(10));
         create table visit(id int primary key, slot_at datetime);
         create table visit3(id int primary key, slot_at datetime(3));
         insert into slot values ('2024-01-01 10:00:00','a'),('2024-01-02 11:00:00','b');
         insert into visit values (1,'2024-01-01 10:00:00'),(2,'2024-01-02 11:00:00');
         insert into visit3 values (1,'2024-01-01 10:00:00'),(2,'2024-01-02 11:00:00');",
    );
    let dest = TestDb::create(Engine::Mysql);
    let job = |child: &str| {
        job_into(
            &src,
            &dest,
            &format!(
                "[tables]\ninclude = [\"slot\", \"{child}\"]\n\
                 [[virtual_foreign_keys]]\ntable = \"{child}\"\ncolumns = [\"slot_at\"]\nreferenced_table = \"slot\"\n\
                 [transform.slot]\nat = {{ kind = \"generate_date_shift\", max_days = 30 }}\n"
            ),
        )
    };
    let e = sync(&job("visit")).expect_err("refused").to_string();
    assert!(
        e.contains("foreign key `visit_slot_at_vfk`: visit.slot_at inherits generate_date_shift")
            && e.contains("visit.slot_at (datetime) reads the keys of slot.at (datetime(3)) as other text"),
        "{e}"
    );
    let report = sync(&job("visit3")).expect("same type");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        one(&dest, "select count(*) from visit3 v join slot s on s.at = v.slot_at"),
        "2"
    );
}
