//! Eighteenth session, review d (fixed by the lead): a composite FK listing the parent
//! key's columns in another order (`FOREIGN KEY (b, a) REFERENCES p (y, x)` over
//! `UNIQUE (x, y)`) is valid on PostgreSQL and SQLite; InnoDB refuses it ("errno: 150
//! Foreign key constraint is incorrectly formed": no index of p starts with (y, x)).
//! The plan said "created" and the copy into MariaDB failed at CREATE TABLE. The copy's
//! key now lists the same column pairs in the index's order.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

fn schema_and_rows(src: &TestDb) {
    src.exec(
        "CREATE TABLE p (id int PRIMARY KEY, x int NOT NULL, y int NOT NULL, UNIQUE (x, y)); \
         CREATE TABLE c (id int PRIMARY KEY, a int, b int, \
           CONSTRAINT c_p_fk FOREIGN KEY (b, a) REFERENCES p (y, x)); \
         INSERT INTO p VALUES (1, 10, 20), (2, 11, 21); \
         INSERT INTO c VALUES (1, 10, 20), (2, 11, 21), (3, NULL, 20)",
    );
}

fn copied_into_mariadb(source: Engine) {
    let src = TestDb::create(source);
    schema_and_rows(&src);
    let dest = TestDb::create(Engine::Mysql);
    let report = sync(&job(&src, &[&dest], "")).expect("sync");
    assert!(report.verification.iter().all(|v| v.ok), "{:?}", report.verification);
    assert_eq!(one(&dest, "SELECT count(*) FROM c"), "3");
    // The key is there and holds the same pairs: (a, b) -> (x, y).
    let fk = dest.query(
        "SELECT group_concat(column_name ORDER BY ordinal_position), \
                group_concat(referenced_column_name ORDER BY ordinal_position) \
         FROM information_schema.key_column_usage \
         WHERE table_schema = database() AND table_name = 'c' AND referenced_table_name = 'p'",
    );
    assert_eq!(
        fk.iter()
            .map(|r| r.iter().map(norm).collect::<Vec<_>>())
            .collect::<Vec<_>>(),
        vec![vec!["a,b".to_string(), "x,y".into()]]
    );
    dest.exec("INSERT INTO c VALUES (4, 11, 21)");
    let err = std::panic::catch_unwind(|| dest.exec("INSERT INTO c VALUES (5, 21, 11)"))
        .expect_err("the swapped pair (x=21, y=11) has no parent and must be refused");
    let text = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(text.contains("1452"), "{text}");
}

#[test]
fn a_composite_fk_in_another_column_order_is_created_on_mariadb_from_postgres() {
    copied_into_mariadb(Engine::Postgres);
}

#[test]
fn a_composite_fk_in_another_column_order_is_created_on_mariadb_from_sqlite() {
    copied_into_mariadb(Engine::Sqlite);
}

/// Review k K2: the re-run check (review B) showed MariaDB keys through HEX(), which
/// rounds a number to an integer: a decimal or float key's 1.5 and 1.6 were "one key in
/// the destination" and an ordinary `skip`/`update` re-run into a table that held rows
/// stopped. They are two keys: the re-run writes both, twice over.
#[test]
fn decimal_and_float_keys_rerun_into_mariadb_with_skip_and_update() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE d (k numeric(5,2) PRIMARY KEY, v text); \
         INSERT INTO d VALUES (1.5, 'a'), (1.6, 'b'), (2.25, 'c'); \
         CREATE TABLE f (k double precision PRIMARY KEY, v text); \
         INSERT INTO f VALUES (1.5, 'a'), (1.6, 'b'), (0.1, 'c')",
    );
    let dest = TestDb::create(Engine::Mysql);
    dest.exec(
        "CREATE TABLE d (k decimal(5,2) PRIMARY KEY, v text); INSERT INTO d VALUES (9.99, 'there'); \
         CREATE TABLE f (k double PRIMARY KEY, v text); INSERT INTO f VALUES (9.5, 'there')",
    );
    for conflict in ["skip", "update", "skip"] {
        let text = format!(
            "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\non_conflict = \"{conflict}\"\n",
            src.url, dest.url
        );
        let report = sync(&text).unwrap_or_else(|e| panic!("{conflict}: {e}"));
        assert!(report.ok, "{conflict}: {report:?}");
        assert_eq!(
            one(&dest, "SELECT group_concat(k ORDER BY k) FROM d"),
            "1.50,1.60,2.25,9.99"
        );
        assert_eq!(
            one(&dest, "SELECT group_concat(k ORDER BY k) FROM f"),
            "0.1,1.5,1.6,9.5"
        );
    }
}

/// Review k K5: review I refused text whose spelling a MariaDB integer column changes;
/// into an existing PostgreSQL integer column '007' was still stored as 7 (exit 0).
/// It is refused the same way, naming the row; '7' and '-7' go through.
#[test]
fn text_an_existing_postgres_integer_column_would_respell_is_refused() {
    let src = TestDb::create(Engine::Postgres);
    src.exec("CREATE TABLE t (id int PRIMARY KEY, n text); INSERT INTO t VALUES (1, '7'), (2, '-7')");
    let dest = TestDb::create(Engine::Postgres);
    dest.exec("CREATE TABLE t (id int PRIMARY KEY, n int)");
    let text = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\ntruncate = true\n",
        src.url, dest.url
    );
    let report = sync(&text).expect("sync of plain integers");
    assert!(report.ok, "{report:?}");
    assert_eq!(one(&dest, "SELECT string_agg(n::text, ',' ORDER BY id) FROM t"), "7,-7");
    src.exec("INSERT INTO t VALUES (3, '007')");
    let e = sync(&text).expect_err("'007' would be stored as 7").to_string();
    assert!(e.contains("'007'") && e.contains("another spelling"), "{e}");
    assert_eq!(one(&dest, "SELECT string_agg(n::text, ',' ORDER BY id) FROM t"), "7,-7");
}

/// Review m (round 2) F1 and F2: the re-run check stopped ordinary re-runs. A MariaDB
/// FLOAT key's 123.4567 and 123.4568 were shown with MariaDB's 6 digits as one key; a
/// composite text key's ('Smith, John', 'NY') and ('Smith', 'John, NY') were joined
/// into one spelling. Both re-run with skip and update, the rows kept apart.
#[test]
fn float_and_comma_keys_rerun_with_skip_and_update() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE f (k real PRIMARY KEY, v text); \
         INSERT INTO f VALUES (123.4567, 'a'), (123.4568, 'b'), (16777214, 'c'), (16777215, 'd'); \
         CREATE TABLE n (last text, rest text, v text, PRIMARY KEY (last, rest)); \
         INSERT INTO n VALUES ('Smith, John', 'NY', 'a'), ('Smith', 'John, NY', 'b')",
    );
    for dest in [TestDb::create(Engine::Mysql), TestDb::create(Engine::Postgres)] {
        let text = |conflict: &str| {
            format!(
                "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\non_conflict = \"{conflict}\"\n",
                src.url, dest.url
            )
        };
        sync(&text("error")).expect("first copy");
        dest.exec("INSERT INTO n VALUES ('x', 'y', 'there')");
        for conflict in ["skip", "update"] {
            let report = sync(&text(conflict)).unwrap_or_else(|e| panic!("{conflict}: {e}"));
            assert!(report.ok, "{conflict}: {report:?}");
            assert_eq!(one(&dest, "SELECT count(*) FROM f"), "4");
            assert_eq!(one(&dest, "SELECT count(*) FROM n"), "3");
        }
    }
}

/// Review m (round 2) F3: MariaDB pads a BINARY(n) value with 0x00 bytes, so X'01' and
/// X'0100' are one key there; into an existing table that held rows, skip dropped one
/// and update wrote one over the other, exit 0. A value shorter than n is now refused
/// as one the destination would change (any load); values of n bytes go through.
#[test]
fn a_value_a_mariadb_binary_column_would_pad_is_refused() {
    let src = TestDb::create(Engine::Postgres);
    src.exec("CREATE TABLE bin (k bytea PRIMARY KEY, v text); INSERT INTO bin VALUES ('\\x01020304', 'full')");
    let dest = TestDb::create(Engine::Mysql);
    dest.exec("CREATE TABLE bin (k binary(4) PRIMARY KEY, v text); INSERT INTO bin VALUES (x'09', 'there')");
    let text = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\non_conflict = \"skip\"\n",
        src.url, dest.url
    );
    let report = sync(&text).expect("4-byte values");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        one(&dest, "SELECT group_concat(hex(k) ORDER BY k) FROM bin"),
        "01020304,09000000"
    );
    src.exec("INSERT INTO bin VALUES ('\\x01', 'one'), ('\\x0100', 'one-zero')");
    let e = sync(&text).expect_err("X'01' would be padded").to_string();
    assert!(e.contains("BINARY(4)") && e.contains("pads"), "{e}");
    assert_eq!(one(&dest, "SELECT count(*) FROM bin"), "2");
}
