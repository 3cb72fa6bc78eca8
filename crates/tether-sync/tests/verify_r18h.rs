//! Eighteenth session, review h. H1: the UPDATE completing a cycle's or a
//! self-reference's FK values on MariaDB stamped every `ON UPDATE CURRENT_TIMESTAMP`
//! column with the run's time; the copy now keeps the source's values (on every
//! destination engine, where the stamp becomes a trigger). H3: a plain source column
//! that an existing destination table declares GENERATED was left out of the write,
//! the destination computing its own values; now the plan refuses it, naming the table,
//! the column and that the destination computes it. A column generated on both sides
//! is still computed there.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

const ENGINES: [Engine; 3] = [Engine::Postgres, Engine::Sqlite, Engine::Mysql];

fn job(src: &TestDb, dest: &TestDb, extra: &str) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n{extra}[[destinations]]\nurl = \"{}\"\n",
        src.url, dest.url
    )
}

/// The source's stamps, as each destination reads them back.
fn stamps(db: &TestDb, table: &str) -> Vec<String> {
    db.query(&format!("SELECT updated_at FROM {table} ORDER BY id"))
        .iter()
        .map(|r| norm(&r[0]).chars().take(19).collect())
        .collect()
}

/// MariaDB source: a cycle cust <-> addr and a self-reference emp, each table with an
/// `ON UPDATE CURRENT_TIMESTAMP` column. On every destination engine the rows keep the
/// source's 2020 stamps after the UPDATEs setting addr_id and boss.
#[test]
fn the_cycle_update_keeps_on_update_current_timestamp_values() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE cust (id INT PRIMARY KEY, addr_id INT NULL, \
           updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP); \
         CREATE TABLE addr (id INT PRIMARY KEY, cust_id INT NOT NULL, FOREIGN KEY (cust_id) REFERENCES cust(id)); \
         INSERT INTO cust VALUES (1, NULL, '2020-01-01 00:00:00'), (2, NULL, '2020-01-02 00:00:00'); \
         INSERT INTO addr VALUES (10, 1), (20, 2); \
         UPDATE cust SET addr_id = 10, updated_at = updated_at WHERE id = 1; \
         UPDATE cust SET addr_id = 20, updated_at = updated_at WHERE id = 2; \
         ALTER TABLE cust ADD CONSTRAINT cust_addr_fk FOREIGN KEY (addr_id) REFERENCES addr(id); \
         CREATE TABLE emp (id INT PRIMARY KEY, boss INT NULL, \
           updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, \
           CONSTRAINT emp_boss_fk FOREIGN KEY (boss) REFERENCES emp(id)); \
         INSERT INTO emp VALUES (1, NULL, '2020-01-01 00:00:00'), (2, 1, '2020-01-02 00:00:00'); \
         UPDATE emp SET boss = 2, updated_at = updated_at WHERE id = 1",
    );
    let want = vec!["2020-01-01 00:00:00".to_string(), "2020-01-02 00:00:00".to_string()];
    assert_eq!(stamps(&src, "cust"), want);
    for engine in ENGINES {
        let dest = TestDb::create(engine);
        sync(&job(&src, &dest, "")).unwrap_or_else(|e| panic!("{engine}: {e}"));
        assert_eq!(stamps(&dest, "cust"), want, "{engine}: cust");
        assert_eq!(stamps(&dest, "emp"), want, "{engine}: emp");
        assert_eq!(
            rows(&dest, "emp", "id")
                .iter()
                .map(|r| r[1].clone())
                .collect::<Vec<_>>(),
            ["2", "1"],
            "{engine}: emp.boss"
        );
        assert_eq!(
            keys(&dest, "cust", "id, addr_id"),
            ["1,10", "2,20"],
            "{engine}: cust.addr_id"
        );
    }
}

/// The same into an existing MariaDB table (`mode = "data"`) from a PostgreSQL source,
/// the destination's column stamped ON UPDATE and the source's a plain timestamp.
#[test]
fn the_self_reference_update_keeps_an_existing_tables_stamps() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE emp (id int PRIMARY KEY, boss int REFERENCES emp(id), updated_at timestamp NOT NULL); \
         INSERT INTO emp VALUES (1, NULL, '2020-01-01 00:00:00'), (2, 1, '2020-01-02 00:00:00'); \
         UPDATE emp SET boss = 2 WHERE id = 1",
    );
    let dest = TestDb::create(Engine::Mysql);
    dest.exec(
        "CREATE TABLE emp (id INT PRIMARY KEY, boss INT NULL, \
           updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, \
           CONSTRAINT emp_boss_fk FOREIGN KEY (boss) REFERENCES emp(id))",
    );
    sync(&job(&src, &dest, "mode = \"data\"\n")).expect("sync");
    assert_eq!(
        rows(&dest, "emp", "id"),
        [["1", "2", "2020-01-01 00:00:00"], ["2", "1", "2020-01-02 00:00:00"]]
    );
}

/// A plain source column `qty` that the existing destination table computes: refused
/// on every engine before anything is written, naming the table, the column and that
/// the destination computes it; the destination's c stays empty.
#[test]
fn a_plain_column_generated_on_the_destination_is_refused() {
    for engine in ENGINES {
        let src = TestDb::create(Engine::Postgres);
        src.exec("CREATE TABLE c (id int PRIMARY KEY, qty int); INSERT INTO c VALUES (1, 5), (2, 5)");
        let dest = TestDb::create(engine);
        dest.exec(match engine {
            Engine::Postgres => "CREATE TABLE c (id int PRIMARY KEY, qty int GENERATED ALWAYS AS (id * 100) STORED)",
            Engine::Mysql => "CREATE TABLE c (id INT PRIMARY KEY, qty INT AS (id * 100) PERSISTENT)",
            Engine::Sqlite => "CREATE TABLE c (id INTEGER PRIMARY KEY, qty INT GENERATED ALWAYS AS (id * 100) STORED)",
        });
        let e = sync(&job(&src, &dest, "")).expect_err(&format!("{engine}: must refuse"));
        let text = e.to_string();
        assert!(text.contains("column c.qty is"), "{engine}: {text}");
        assert!(text.contains("a GENERATED column there"), "{engine}: {text}");
        assert!(text.contains("the destination computes its values"), "{engine}: {text}");
        assert_eq!(one(&dest, "SELECT count(*) FROM c"), "0", "{engine}: nothing written");
    }
}

/// Generated on both sides: left out of the write and computed there, as before.
#[test]
fn a_column_generated_on_both_sides_is_computed_there() {
    for engine in [Engine::Postgres, Engine::Sqlite] {
        let src = TestDb::create(engine);
        let ddl = match engine {
            Engine::Postgres => "CREATE TABLE c (id int PRIMARY KEY, qty int GENERATED ALWAYS AS (id * 100) STORED)",
            _ => "CREATE TABLE c (id INTEGER PRIMARY KEY, qty INT GENERATED ALWAYS AS (id * 100) STORED)",
        };
        src.exec(&format!("{ddl}; INSERT INTO c (id) VALUES (1), (2)"));
        let dest = TestDb::create(engine);
        dest.exec(ddl);
        sync(&job(&src, &dest, "")).unwrap_or_else(|e| panic!("{engine}: {e}"));
        assert_eq!(rows(&dest, "c", "id"), [["1", "100"], ["2", "200"]], "{engine}");
    }
}

/// L1: existing MyISAM tables store no foreign keys; the batch load's line names them
/// instead of saying every foreign key is checked row by row. An InnoDB destination
/// keeps the plain words.
#[test]
fn the_load_line_names_tables_whose_engine_enforces_no_foreign_keys() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE p (id INT PRIMARY KEY); \
         CREATE TABLE c (id INT PRIMARY KEY, pid INT, CONSTRAINT c_p_fk FOREIGN KEY (pid) REFERENCES p(id)); \
         INSERT INTO p VALUES (1); INSERT INTO c VALUES (1, 1)",
    );
    let load = |dest: &TestDb| {
        let job = tether_sync::Job::parse("job.toml", &job(&src, dest, ""), &|_| None).expect("job");
        let plan = tether_testkit::block_on(async { tether_sync::prepare(&job).await.expect("plan").plan });
        let d = &plan.destinations[0];
        d.load.as_ref().expect("the destination was read").to_text(d.checks)
    };
    let myisam = TestDb::create(Engine::Mysql);
    myisam.exec(
        "CREATE TABLE p (id INT PRIMARY KEY) ENGINE=MyISAM; \
         CREATE TABLE c (id INT PRIMARY KEY, pid INT) ENGINE=MyISAM",
    );
    assert_eq!(
        load(&myisam),
        "in batches, each committed, foreign keys checked row by row except in c (MyISAM), p (MyISAM), whose \
         engine enforces none: the verification checks those (a failure drops the tables this run created); \
         not staged: a mysql destination cannot load in one transaction with its foreign keys dropped"
    );
    let innodb = TestDb::create(Engine::Mysql);
    innodb.exec("CREATE TABLE p (id INT PRIMARY KEY); CREATE TABLE c (id INT PRIMARY KEY, pid INT)");
    assert!(
        load(&innodb).starts_with("in batches, each committed, foreign keys checked row by row (a failure"),
        "{}",
        load(&innodb)
    );
}

/// `on_conflict = "update"` into a MariaDB table already holding rows 1 and 2 with
/// other values: the overwrite assigns every written column, the cycle's UPDATE assigns
/// the stamped column to itself, so the rows hold the source's stamps; `skip` keeps
/// the rows there as they were but for their boss, NULL there and not in the source,
/// which the cycle's UPDATE completes (twenty-first session, tests/rerun_r22.rs): their
/// stamps stay as the destination had them.
#[test]
fn update_and_skip_keep_the_stamps_on_mariadb() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE emp (id INT PRIMARY KEY, boss INT NULL, \
           updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, \
           CONSTRAINT emp_boss_fk FOREIGN KEY (boss) REFERENCES emp(id)); \
         INSERT INTO emp VALUES (1, NULL, '2020-01-01 00:00:00'), (2, 1, '2020-01-02 00:00:00'), \
           (3, 1, '2020-01-03 00:00:00'); \
         UPDATE emp SET boss = 2, updated_at = updated_at WHERE id = 1",
    );
    for (conflict, want) in [
        (
            "update",
            [
                ["1", "2", "2020-01-01 00:00:00"],
                ["2", "1", "2020-01-02 00:00:00"],
                ["3", "1", "2020-01-03 00:00:00"],
            ],
        ),
        (
            "skip",
            [
                ["1", "2", "2019-05-05 00:00:00"],
                ["2", "1", "2019-05-06 00:00:00"],
                ["3", "1", "2020-01-03 00:00:00"],
            ],
        ),
    ] {
        let dest = TestDb::create(Engine::Mysql);
        dest.exec(&format!(
            "SET FOREIGN_KEY_CHECKS = 0; {}; SET FOREIGN_KEY_CHECKS = 1; \
             INSERT INTO emp VALUES (1, NULL, '2019-05-05 00:00:00'), (2, NULL, '2019-05-06 00:00:00')",
            "CREATE TABLE emp (id INT PRIMARY KEY, boss INT NULL, \
               updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, \
               CONSTRAINT emp_boss_fk FOREIGN KEY (boss) REFERENCES emp(id))"
        ));
        sync(&format!("{}on_conflict = \"{conflict}\"\n", job(&src, &dest, "")))
            .unwrap_or_else(|e| panic!("{conflict}: {e}"));
        assert_eq!(rows(&dest, "emp", "id"), want, "{conflict}");
    }
}
