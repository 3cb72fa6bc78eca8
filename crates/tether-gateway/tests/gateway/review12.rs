//! Findings of the twelfth session's review of managed keyspaces (review A,
//! sections 0, 4, 6, 7, 8): each scenario runs natively and through a managed
//! gateway, with the same outcomes (error codes, rows affected, FK messages) and
//! the same rows left, read back exactly (a FLOAT as a DOUBLE, a BIT as a number).

use tether_testkit::{TestDb, TestEngine};

use crate::managed::outcome;
use crate::support::{direct, native_and_gateway, rows, start_one};

/// Builds `schema` in a native and a managed database, runs each statement on
/// both (same error code, rows affected, and message with the database names
/// aside), then asserts each query gives the same rows on both. Returns the
/// outcomes (error code, rows affected) in order.
fn same_rows(schema: &str, statements: &[&str], queries: &[&str]) -> Vec<(u16, u64)> {
    let native = TestDb::create(TestEngine::Mysql);
    let managed = TestDb::create(TestEngine::Mysql);
    native.exec(schema);
    managed.exec(schema);
    let gw = start_one(&managed, "managed");
    gw.block_on(async {
        let (mut n, mut g) = native_and_gateway(&native, &gw, false).await;
        let mut out = Vec::new();
        for sql in statements {
            let a = outcome(&mut n, sql).await;
            let b = outcome(&mut g, sql).await;
            let norm = |m: &str, db: &str| m.replace(db, "DB");
            assert_eq!(
                (a.0, a.1, norm(&a.2, &native.name)),
                (b.0, b.1, norm(&b.2, &managed.name)),
                "statement: {sql}"
            );
            out.push((a.0, a.1));
        }
        let mut m = direct(&managed).await;
        for q in queries {
            assert_eq!(rows(&mut n, q).await, rows(&mut m, q).await, "query: {q}");
        }
        out
    })
}

/// One key type of the differential: its column type, an expression that reads a
/// value of it exactly, four parent values (the third and fourth distinct in the
/// store but alike in FLOAT's six-digit text where the type allows), and the
/// values an UPDATE gives.
struct KeyType {
    name: &'static str,
    column: &'static str,
    exact: &'static str,
    values: [&'static str; 4],
    new: [&'static str; 2],
}

const KEY_TYPES: &[KeyType] = &[
    KeyType {
        name: "bit8",
        column: "BIT(8)",
        exact: "k + 0",
        values: ["b'1'", "2", "0x03", "255"],
        new: ["7", "b'1000'"],
    },
    KeyType {
        name: "bit20",
        column: "BIT(20)",
        exact: "k + 0",
        values: ["1000", "b'10'", "0x0f0f0", "1048575"],
        new: ["12345", "0x3"],
    },
    KeyType {
        name: "flt",
        column: "FLOAT",
        exact: "CAST(k AS DOUBLE)",
        values: ["1.1", "2.2", "1.2345678", "1.2345679"],
        new: ["9.9", "-3.4e38"],
    },
    KeyType {
        name: "fltu",
        column: "FLOAT(7,3) UNSIGNED",
        exact: "CAST(k AS DOUBLE)",
        values: ["1.234", "2.5", "3.333", "4.125"],
        new: ["9.876", "0.001"],
    },
    KeyType {
        name: "dbl",
        column: "DOUBLE",
        exact: "CAST(k AS DOUBLE)",
        values: ["0.1", "1e-7", "0.1e0 + 0.2e0", "1.7976931348623157e308"],
        new: ["4.9e-324", "1/3e0"],
    },
    KeyType {
        name: "dbl2",
        column: "DOUBLE(10,4)",
        exact: "CAST(k AS DOUBLE)",
        values: ["1.23456", "2", "3.33333", "-4.00005"],
        new: ["9.87654", "0.00005"],
    },
    KeyType {
        name: "dec",
        column: "DECIMAL(10,3)",
        exact: "k",
        values: ["1.1", "2.25", "3.333", "-4"],
        new: ["9.999", "1.0005"],
    },
    KeyType {
        name: "yr",
        column: "YEAR",
        exact: "k + 0",
        values: ["2001", "'02'", "1999", "2155"],
        new: ["2099", "'70'"],
    },
    KeyType {
        name: "tm",
        column: "TIME(3)",
        exact: "k",
        values: ["'10:00:00.123'", "'-01:00:00.5'", "'838:59:59'", "'00:00:01'"],
        new: ["'12:34:56.789'", "'-838:59:59'"],
    },
    KeyType {
        name: "dt",
        column: "DATETIME(6)",
        exact: "k",
        values: [
            "'2020-01-01 00:00:00.000001'",
            "'2020-01-01'",
            "'1000-01-01 00:00:00'",
            "'9999-12-31 23:59:59.999999'",
        ],
        new: ["'2021-02-03 04:05:06.7'", "20200101000000.5"],
    },
    KeyType {
        name: "ts",
        column: "TIMESTAMP(2) NULL",
        exact: "UNIX_TIMESTAMP(k)",
        values: [
            "'2020-01-01 00:00:00.01'",
            "'2020-01-01'",
            "'2001-02-03 04:05:06'",
            "'2030-01-01 00:00:00.99'",
        ],
        new: ["'2021-02-03 04:05:06.7'", "'1999-01-01'"],
    },
    KeyType {
        name: "bin",
        column: "BINARY(4)",
        exact: "HEX(k)",
        values: ["'a'", "0x6200", "0x00", "'abcd'"],
        new: ["'z'", "0x0000"],
    },
    KeyType {
        name: "vbin",
        column: "VARBINARY(8)",
        exact: "HEX(k)",
        values: ["'a'", "0x6100", "0x00", "0xff27"],
        new: ["0x5c", "''"],
    },
    KeyType {
        name: "chr",
        column: "CHAR(5)",
        exact: "HEX(k)",
        values: ["'a'", "'b\\\\'", "'C'", "'it''s'"],
        new: ["'e'", "'\\\\%'"],
    },
    KeyType {
        name: "en",
        column: "ENUM('x','y','z','w','v')",
        exact: "k + 0",
        values: ["'x'", "2", "'z'", "'w'"],
        new: ["'v'", "1"],
    },
    KeyType {
        name: "st",
        column: "SET('a','b','c','d')",
        exact: "k + 0",
        values: ["'a'", "'a,b'", "4", "'d'"],
        new: ["'b,d'", "15"],
    },
    KeyType {
        name: "ubig",
        column: "BIGINT UNSIGNED",
        exact: "k",
        values: ["18446744073709551615", "1", "9223372036854775808", "0"],
        new: ["9223372036854775807", "18446744073709551614"],
    },
];

/// Every key value the gateway reads back and writes into its statements compares
/// equal to the stored value, for each MariaDB type an FK can join on: per type a
/// parent with a UNIQUE key and children ON DELETE CASCADE ON UPDATE CASCADE, ON
/// DELETE SET NULL ON UPDATE SET NULL and RESTRICT; re-keys, deletes by key and by
/// value, refused deletes and re-keys, child inserts with and without a parent.
/// (BIT keys were written back as string literals, which a BIT column compares as
/// 0, and FLOAT keys as their six-digit text: no child was reached, RESTRICT was
/// bypassed, orphans.)
#[test]
fn keys_of_every_type_reach_their_children() {
    let mut schema = String::new();
    let mut statements: Vec<String> = Vec::new();
    let mut queries: Vec<String> = Vec::new();
    for t in KEY_TYPES {
        let (p, c, n, r) = (
            format!("p_{}", t.name),
            format!("c_{}", t.name),
            format!("n_{}", t.name),
            format!("r_{}", t.name),
        );
        let [v1, v2, v3, v4] = t.values;
        let col = t.column;
        schema.push_str(&format!(
            "CREATE TABLE {p} (id INT PRIMARY KEY, k {col}, UNIQUE KEY (k)) ENGINE=InnoDB;
             CREATE TABLE {c} (id INT PRIMARY KEY, k {col},
               CONSTRAINT {c}_fk FOREIGN KEY (k) REFERENCES {p} (k) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
             CREATE TABLE {n} (id INT PRIMARY KEY, k {col},
               CONSTRAINT {n}_fk FOREIGN KEY (k) REFERENCES {p} (k) ON DELETE SET NULL ON UPDATE SET NULL) ENGINE=InnoDB;
             CREATE TABLE {r} (id INT PRIMARY KEY, k {col},
               CONSTRAINT {r}_fk FOREIGN KEY (k) REFERENCES {p} (k)) ENGINE=InnoDB;
             INSERT INTO {p} VALUES (1, {v1}), (2, {v2}), (3, {v3}), (4, {v4});
             INSERT INTO {c} VALUES (1, {v1}), (2, {v2}), (3, {v3}), (4, {v4});
             INSERT INTO {n} VALUES (1, {v1}), (2, {v2}), (3, {v3}), (4, {v4});
             INSERT INTO {r} VALUES (4, {v4});\n"
        ));
        let [new1, new2] = t.new;
        statements.extend([
            format!("UPDATE {p} SET k = {new1} WHERE id = 1"),
            format!("DELETE FROM {p} WHERE id = 2"),
            format!("DELETE FROM {p} WHERE id = 4"),
            format!("UPDATE {p} SET k = {new2} WHERE id = 4"),
            format!("INSERT INTO {c} VALUES (10, {new2})"),
            format!("INSERT INTO {r} VALUES (10, {new1})"),
            format!("UPDATE {p} SET k = {new2} WHERE k = {v3}"),
            format!("DELETE FROM {p} WHERE k = {new1}"),
            format!("DELETE FROM {r}"),
            format!("DELETE FROM {p} WHERE id >= 3"),
        ]);
        for table in [&p, &c, &n, &r] {
            queries.push(format!("SELECT id, {} FROM {table} ORDER BY id", t.exact));
        }
    }
    let statements: Vec<&str> = statements.iter().map(String::as_str).collect();
    let queries: Vec<&str> = queries.iter().map(String::as_str).collect();
    let outcomes = same_rows(&schema, &statements, &queries);
    // The RESTRICT child refuses its parent's delete and re-key (native 1451, the
    // gateway's too), for every type.
    for (t, o) in KEY_TYPES.iter().zip(outcomes.chunks(10)) {
        assert_eq!((o[2].0, o[3].0), (1451, 1451), "{}: RESTRICT", t.name);
        assert_eq!(o[0], (0, 1), "{}: the re-key", t.name);
    }
}

/// The reviewer's BIT and FLOAT repros (t16, t17, t18): cascades and SET NULL reach
/// the children, RESTRICT refuses, no child is left without its parent.
#[test]
fn bit_and_float_keys_cascade_set_null_and_restrict_as_natively() {
    let schema = "
        CREATE TABLE p (id INT PRIMARY KEY, bt BIT(8) UNIQUE);
        CREATE TABLE c (id INT PRIMARY KEY, bt BIT(8),
          CONSTRAINT c_bt FOREIGN KEY (bt) REFERENCES p (bt) ON DELETE CASCADE ON UPDATE CASCADE);
        INSERT INTO p VALUES (1, b'1'), (2, b'10'), (3, 3);
        INSERT INTO c VALUES (10, b'1'), (20, 2), (30, 3);
        CREATE TABLE pb (bt BIT(8) PRIMARY KEY);
        CREATE TABLE rb (id INT PRIMARY KEY, bt BIT(8), CONSTRAINT rb_bt FOREIGN KEY (bt) REFERENCES pb (bt));
        CREATE TABLE sb (id INT PRIMARY KEY, bt BIT(8),
          CONSTRAINT sb_bt FOREIGN KEY (bt) REFERENCES pb (bt) ON DELETE SET NULL);
        INSERT INTO pb VALUES (1), (2), (3); INSERT INTO rb VALUES (10, 1); INSERT INTO sb VALUES (20, 2);
        CREATE TABLE pf (id INT PRIMARY KEY, f FLOAT UNIQUE);
        CREATE TABLE cf (id INT PRIMARY KEY, f FLOAT,
          CONSTRAINT cf_f FOREIGN KEY (f) REFERENCES pf (f) ON DELETE CASCADE ON UPDATE CASCADE);
        CREATE TABLE rf (id INT PRIMARY KEY, f FLOAT, CONSTRAINT rf_f FOREIGN KEY (f) REFERENCES pf (f));
        INSERT INTO pf VALUES (1, 1.1), (3, 3.3), (4, 4.4); INSERT INTO cf VALUES (10, 1.1), (30, 3.3);
        INSERT INTO rf VALUES (1, 4.4);";
    let outcomes = same_rows(
        schema,
        &[
            "UPDATE p SET bt = 7 WHERE id = 2",
            "UPDATE p SET bt = b'1000' WHERE id = 3",
            "DELETE FROM p WHERE bt = 1",
            "DELETE FROM pb WHERE bt = 1",
            "DELETE FROM pb WHERE bt = 2",
            "UPDATE pf SET f = 9.9 WHERE id = 1",
            "DELETE FROM pf WHERE id = 3",
            "DELETE FROM pf WHERE id = 4",
            "UPDATE pf SET f = 7.7 WHERE id = 4",
        ],
        &[
            "SELECT id, bt + 0 FROM c ORDER BY id",
            "SELECT bt + 0 FROM pb ORDER BY 1",
            "SELECT id, bt + 0 FROM sb ORDER BY id",
            "SELECT id, CAST(f AS DOUBLE) FROM cf ORDER BY id",
            "SELECT id, CAST(f AS DOUBLE) FROM pf ORDER BY id",
        ],
    );
    let codes: Vec<u16> = outcomes.iter().map(|o| o.0).collect();
    assert_eq!(codes, [0, 0, 0, 1451, 0, 0, 0, 1451, 1451]);
}

/// Savepoints of the client's own named as the gateway's were (`tether_fk`,
/// `tether_native`, `tether_batch`): a planned write inside the client's
/// transaction replaced and released them, so the client's ROLLBACK TO failed
/// (1305) and the write stayed. The gateway's names start with `_tether_` now.
#[test]
fn client_savepoints_survive_planned_writes() {
    let schema = "
        CREATE TABLE p (id INT PRIMARY KEY);
        CREATE TABLE c (id INT PRIMARY KEY, pid INT,
          CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE);
        INSERT INTO p VALUES (1), (2), (3), (4);
        INSERT INTO c VALUES (10, 1), (20, 2), (30, 3), (40, 4);";
    let outcomes = same_rows(
        schema,
        &[
            "BEGIN",
            "SAVEPOINT tether_fk",
            "DELETE FROM p WHERE id = 1",
            "ROLLBACK TO SAVEPOINT tether_fk",
            "SAVEPOINT tether_batch",
            "UPDATE p SET id = 12 WHERE id = 2",
            "ROLLBACK TO SAVEPOINT tether_batch",
            "SAVEPOINT tether_native",
            "DELETE FROM p ORDER BY id DESC LIMIT 1",
            "ROLLBACK TO SAVEPOINT tether_native",
            "DELETE FROM p WHERE id = 3",
            "COMMIT",
        ],
        &["SELECT * FROM p ORDER BY id", "SELECT * FROM c ORDER BY id"],
    );
    assert!(outcomes.iter().all(|o| o.0 == 0), "{outcomes:?}");
}

/// Children in ANOTHER database of a managed keyspace's tables: a plan runs with
/// `foreign_key_checks = 0` and the planner reads the keyspace's database only, so
/// deleting or re-keying their parents orphaned them (CASCADE not run, RESTRICT
/// bypassed). A write whose plan writes such a parent (directly or by a cascade)
/// now runs as InnoDB runs it: every FK acts, here and there.
#[test]
fn children_in_another_database_are_not_orphaned() {
    let native = TestDb::create(TestEngine::Mysql);
    let managed = TestDb::create(TestEngine::Mysql);
    let native_x = TestDb::create(TestEngine::Mysql);
    let managed_x = TestDb::create(TestEngine::Mysql);
    let schema = "
        CREATE TABLE p (id INT PRIMARY KEY, u INT UNIQUE);
        CREATE TABLE c (id INT PRIMARY KEY, pid INT,
          CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE);
        CREATE TABLE q (id INT PRIMARY KEY);
        CREATE TABLE qc (id INT PRIMARY KEY, qid INT,
          CONSTRAINT qc_q FOREIGN KEY (qid) REFERENCES q (id) ON DELETE CASCADE);
        INSERT INTO p VALUES (1, 1), (2, 2), (3, 3), (4, 4), (5, 5);
        INSERT INTO c VALUES (10, 1), (20, 2), (30, 3), (40, 4), (50, 5);
        INSERT INTO q VALUES (1), (2);
        INSERT INTO qc VALUES (1, 1), (2, 2);";
    native.exec(schema);
    managed.exec(schema);
    for (x, db) in [(&native_x, &native.name), (&managed_x, &managed.name)] {
        x.exec(&format!(
            "CREATE TABLE xc (id INT PRIMARY KEY, pid INT,
               CONSTRAINT xc_p FOREIGN KEY (pid) REFERENCES `{db}`.p (id) ON DELETE CASCADE ON UPDATE CASCADE);
             CREATE TABLE xr (id INT PRIMARY KEY, pid INT, CONSTRAINT xr_p FOREIGN KEY (pid) REFERENCES `{db}`.p (id));
             CREATE TABLE xu (id INT PRIMARY KEY, pu INT,
               CONSTRAINT xu_p FOREIGN KEY (pu) REFERENCES `{db}`.p (u) ON DELETE SET NULL ON UPDATE SET NULL);
             CREATE TABLE xcc (id INT PRIMARY KEY, qcid INT,
               CONSTRAINT xcc_qc FOREIGN KEY (qcid) REFERENCES `{db}`.qc (id) ON DELETE CASCADE);
             INSERT INTO xc VALUES (1, 1), (2, 2);
             INSERT INTO xr VALUES (3, 3);
             INSERT INTO xu VALUES (4, 4);
             INSERT INTO xcc VALUES (5, 1);"
        ));
    }
    let gw = start_one(&managed, "managed");
    gw.block_on(async {
        let (mut n, mut g) = native_and_gateway(&native, &gw, false).await;
        let statements = [
            "DELETE FROM p WHERE id = 1",
            "UPDATE p SET id = 12 WHERE id = 2",
            "DELETE FROM p WHERE id = 3",
            "UPDATE p SET u = 44 WHERE id = 4",
            "DELETE FROM p WHERE id = 5",
            // A cascade of the plan reaches a table another database refers to.
            "DELETE FROM q WHERE id = 1",
        ];
        let mut codes = Vec::new();
        for sql in statements {
            let a = outcome(&mut n, sql).await;
            let b = outcome(&mut g, sql).await;
            let norm = |m: &str| {
                m.replace(&native_x.name, "X")
                    .replace(&managed_x.name, "X")
                    .replace(&native.name, "DB")
                    .replace(&managed.name, "DB")
            };
            assert_eq!((a.0, a.1, norm(&a.2)), (b.0, b.1, norm(&b.2)), "statement: {sql}");
            codes.push(a.0);
        }
        assert_eq!(codes, [0, 0, 1451, 0, 0, 0]);
        let mut m = direct(&managed).await;
        for table in ["p", "c", "q", "qc"] {
            let q = format!("SELECT * FROM {table} ORDER BY id");
            assert_eq!(rows(&mut n, &q).await, rows(&mut m, &q).await, "{q}");
        }
        for table in ["xc", "xr", "xu", "xcc"] {
            let (qn, qm) = (
                format!("SELECT * FROM `{}`.{table} ORDER BY id", native_x.name),
                format!("SELECT * FROM `{}`.{table} ORDER BY id", managed_x.name),
            );
            assert_eq!(rows(&mut n, &qn).await, rows(&mut m, &qm).await, "{table}");
        }
        let plan = rows(&mut g, "EXPLAIN FK DELETE FROM p WHERE id = 4").await;
        assert!(
            plan.iter()
                .flatten()
                .any(|l| l.contains("referred to from another database")),
            "{plan:?}"
        );
    });
}

/// A stored function with side effects in a planned write: the lock read and the
/// statement each evaluated it (audit rows written twice), or a trial DELETE
/// rolled back evaluated it and the plan's delete by key did not (none written).
/// Such a write runs as InnoDB runs it: once. Built-ins are still planned.
#[test]
fn stored_functions_in_planned_writes_run_once() {
    let schema = "
        CREATE TABLE p (id INT PRIMARY KEY, v INT);
        CREATE TABLE c (id INT PRIMARY KEY, pid INT,
          CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE);
        CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(20));
        CREATE FUNCTION f(x INT) RETURNS INT MODIFIES SQL DATA
          BEGIN INSERT INTO audit (what) VALUES (CONCAT('f', x)); RETURN x; END;
        INSERT INTO p VALUES (1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6), (7, 7);
        INSERT INTO c VALUES (10, 1), (20, 2), (30, 3), (40, 4), (50, 5), (60, 6), (70, 7);";
    same_rows(
        schema,
        &[
            "DELETE FROM p WHERE id = 1 AND f(1) = 1",
            "UPDATE p SET id = f(12) WHERE id = 2",
            "DELETE FROM p WHERE id >= 3 AND f(3) = 3 ORDER BY id LIMIT 1",
            "UPDATE c SET pid = f(5) WHERE id = 40",
            "DELETE FROM p WHERE id = f(6)",
            "UPDATE p SET id = id + 100 WHERE id = CONCAT('', ABS(-7))",
        ],
        &[
            "SELECT * FROM p ORDER BY id",
            "SELECT * FROM c ORDER BY id",
            "SELECT * FROM audit ORDER BY id",
        ],
    );
    let plans = explain(
        schema,
        &["DELETE FROM p WHERE id = f(6)", "DELETE FROM p WHERE id = ABS(-6)"],
    );
    assert!(
        plans[0].contains("it calls `f`, not a built-in function"),
        "{}",
        plans[0]
    );
    assert!(!plans[1].contains("runs as InnoDB runs it"), "{}", plans[1]);
}

/// What EXPLAIN FK says for each statement, on a managed keyspace of `schema`.
fn explain(schema: &str, statements: &[&str]) -> Vec<String> {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(schema);
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let mut out = Vec::new();
        for sql in statements {
            let lines = rows(&mut g, &format!("EXPLAIN FK {sql}")).await;
            out.push(lines.into_iter().flatten().collect::<Vec<_>>().join("\n"));
        }
        out
    })
}

/// A RESTRICT child that a sibling CASCADE removes first, in InnoDB's order (a
/// deleted parent row's FKs index by index, PRIMARY first, and by FK name within
/// an index, each cascade to its end): the gateway's probe, which reads the rows as
/// before the statement, refused (1451) where MariaDB deletes. Where InnoDB's
/// order meets the RESTRICT first (`c_z` after `d_p` by name), both refuse.
#[test]
fn restrict_after_a_sibling_cascade_in_innodbs_order() {
    let schema = "
        CREATE TABLE p (id INT PRIMARY KEY, u INT, w INT, UNIQUE KEY ku (u), UNIQUE KEY kw (w));
        CREATE TABLE c (id INT PRIMARY KEY, pu INT, pw INT,
          CONSTRAINT c_w FOREIGN KEY (pw) REFERENCES p (w),
          CONSTRAINT c_u FOREIGN KEY (pu) REFERENCES p (u) ON DELETE CASCADE);
        INSERT INTO p VALUES (1, 1, 1), (2, 2, 2), (3, 3, 3);
        INSERT INTO c VALUES (1, 1, 1), (2, 3, 2);
        CREATE TABLE pa (id INT PRIMARY KEY, amt DECIMAL(6,2) UNIQUE);
        CREATE TABLE ca (id INT PRIMARY KEY, pid INT, pamt DECIMAL(6,2),
          CONSTRAINT ca_p FOREIGN KEY (pid) REFERENCES pa (id) ON DELETE CASCADE,
          CONSTRAINT ca_amt FOREIGN KEY (pamt) REFERENCES pa (amt) ON UPDATE CASCADE);
        INSERT INTO pa VALUES (1, 1.10), (2, 2.20); INSERT INTO ca VALUES (10, 1, 1.10);
        CREATE TABLE q (id INT PRIMARY KEY);
        CREATE TABLE d (id INT PRIMARY KEY, qid INT,
          CONSTRAINT d_q FOREIGN KEY (qid) REFERENCES q (id) ON DELETE CASCADE);
        CREATE TABLE e (id INT PRIMARY KEY, qid INT, did INT,
          CONSTRAINT c_q FOREIGN KEY (qid) REFERENCES q (id) ON DELETE CASCADE,
          CONSTRAINT e_d FOREIGN KEY (did) REFERENCES d (id));
        CREATE TABLE f (id INT PRIMARY KEY, qid INT, did INT,
          CONSTRAINT z_q FOREIGN KEY (qid) REFERENCES q (id) ON DELETE CASCADE,
          CONSTRAINT f_d FOREIGN KEY (did) REFERENCES d (id));
        INSERT INTO q VALUES (1), (2);
        INSERT INTO d VALUES (10, 1), (20, 2);
        INSERT INTO e VALUES (100, 1, 10);
        INSERT INTO f VALUES (200, 2, 20);";
    let outcomes = same_rows(
        schema,
        &[
            // c 1 goes by c_u (index ku) before c_w (index kw) is checked.
            "DELETE FROM p WHERE id = 1",
            // c 2 is referenced by c_w from p 2 and cascaded from p 3 only: row
            // by row, p 2's check comes before p 3's cascade.
            "DELETE FROM p WHERE id = 2",
            "DELETE FROM p WHERE id IN (2, 3)",
            "DELETE FROM p WHERE id IN (3, 2)",
            // ca 10 goes by ca_p (PRIMARY) before ca_amt (a UNIQUE key).
            "DELETE FROM pa WHERE id = 1",
            // e 100 goes by c_q (before d_q by name) before d 10's e_d check.
            "DELETE FROM q WHERE id = 1",
            // f 200 would go by z_q, after d_q by name: d 20's f_d check meets it.
            "DELETE FROM q WHERE id = 2",
        ],
        &[
            "SELECT * FROM p ORDER BY id",
            "SELECT * FROM c ORDER BY id",
            "SELECT * FROM pa ORDER BY id",
            "SELECT * FROM ca ORDER BY id",
            "SELECT * FROM q ORDER BY id",
            "SELECT * FROM d ORDER BY id",
            "SELECT * FROM e ORDER BY id",
            "SELECT * FROM f ORDER BY id",
        ],
    );
    let codes: Vec<u16> = outcomes.iter().map(|o| o.0).collect();
    assert_eq!(codes, [0, 1451, 1451, 1451, 0, 0, 1451]);
}
