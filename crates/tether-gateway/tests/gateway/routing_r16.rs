//! Review r16: user variables assigned by statements other than `SET` and
//! `SELECT` (X-R1: `SHOW ... WHERE`, DDL evaluating a default, a stored
//! function called by either), and the FK messages the gateway writes itself
//! under ANSI_QUOTES (W-R2).

use mysql_async::prelude::Queryable;
use tether_testkit::{TestDb, TestEngine};

use crate::managed::outcome;
use crate::support::{direct, rows, start};

/// The text of an FK-creating ALTER, cut so that no literal holds its words.
const ADD_FK: &str = "concat('alter table c add for', 'eign key (pid) references p(id)')";

/// A disallow database (`p`, `c` without FKs, `w` whose column `d` has a default
/// assigning `@q`, function `f()` setting `@q`), a managed one (`p`, `c` whose FK
/// cascades, function `g()` setting `@q` to a cascading delete), and a gateway
/// serving them as `d` and `m`.
fn keyspaces() -> (TestDb, TestDb, crate::support::Gw) {
    let d = TestDb::create(TestEngine::Mysql);
    let m = TestDb::create(TestEngine::Mysql);
    d.exec(&format!(
        "CREATE TABLE p (id INT PRIMARY KEY);
         CREATE TABLE c (id INT PRIMARY KEY, pid INT, KEY (pid));
         CREATE TABLE w (id INT PRIMARY KEY, d VARCHAR(200) DEFAULT (@q := {ADD_FK}));
         INSERT INTO w (id) VALUES (1);"
    ));
    m.exec(
        "CREATE TABLE p (id INT PRIMARY KEY);
         CREATE TABLE c (id INT PRIMARY KEY, pid INT,
           CONSTRAINT fk1 FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE);
         INSERT INTO p VALUES (1), (2);
         INSERT INTO c VALUES (10, 1), (20, 2);",
    );
    let gw = start(&[("d", "disallow", &d.url), ("m", "managed", &m.url)]);
    (d, m, gw)
}

/// The FKs of database `db`: (table, constraint).
async fn fks(conn: &mut mysql_async::Conn, db: &str) -> Vec<Vec<String>> {
    rows(
        conn,
        &format!(
            "SELECT TABLE_NAME, CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = '{db}' ORDER BY 1, 2"
        ),
    )
    .await
}

/// X-R1: any statement that can hold an expression may assign a user variable
/// (`:=` in SHOW's WHERE or in a DDL default; a stored function called there;
/// a table's stored default, which ALTER TABLE evaluates). A dynamic statement
/// reading the variable later in the same query is refused in a disallow
/// keyspace, however the text is spelled, and no FK is created.
#[test]
fn variables_assigned_by_show_or_ddl_are_not_read_stale() {
    let (d, _m, gw) = keyspaces();
    gw.block_on(async {
        let mut dd = direct(&d).await;
        dd.query_drop(format!(
            "CREATE FUNCTION f() RETURNS INT DETERMINISTIC BEGIN SET @q = {ADD_FK}; RETURN 1; END"
        ))
        .await
        .unwrap();
        let mut g = gw.connect("d").await;
        let immediate = "EXECUTE IMMEDIATE of a statement text the gateway cannot read is refused";
        let prepare = "PREPARE ... FROM of a statement text the gateway cannot read is refused";
        let setters = [
            format!("SHOW TABLES WHERE (@q := {ADD_FK}) IS NOT NULL"),
            "SHOW TABLES WHERE f() IS NOT NULL".to_string(),
            format!("ALTER TABLE w ADD COLUMN d2 VARCHAR(200) DEFAULT (@q := {ADD_FK})"),
            // No expression in the text: w's stored default assigns @q.
            "ALTER TABLE w COMMENT 'x'".to_string(),
            "CREATE INDEX wi ON w (id)".to_string(),
            // Inside dynamic text, a comment holding a quote around the `:=`.
            format!(
                "EXECUTE IMMEDIATE 'SHOW TABLES /* '' */ WHERE (@q := {}) IS NOT NULL /* '' */'",
                { ADD_FK.replace('\'', "''") }
            ),
        ];
        for setter in &setters {
            for (reader, says) in [
                ("EXECUTE IMMEDIATE @q", immediate),
                ("PREPARE s FROM @q; EXECUTE s", prepare),
            ] {
                g.query_drop("SET @q = 'select 1'").await.unwrap();
                let sql = format!("{setter}; {reader}");
                let (code, _, message) = outcome(&mut g, &sql).await;
                assert_eq!(code, 1105, "{sql}: {message}");
                assert!(message.contains(says), "{sql}: {message}");
                assert!(
                    message.contains("send the dynamic statement as a query of its own"),
                    "{message}"
                );
                dd.query_drop("ALTER TABLE w DROP COLUMN IF EXISTS d2, DROP INDEX IF EXISTS wi")
                    .await
                    .unwrap();
            }
        }
        // Statements that cannot assign keep the variable's value, which the
        // backend holds: the FK text is read and refused by the disallow rule.
        g.query_drop(format!("SET @q = {ADD_FK}")).await.unwrap();
        for sql in [
            "SHOW TABLES LIKE 'p'; EXECUTE IMMEDIATE @q",
            "SHOW TABLES WHERE @q IS NOT NULL; EXECUTE IMMEDIATE @q",
            "DROP TABLE IF EXISTS nothing; EXECUTE IMMEDIATE @q",
            "CREATE TABLE t9 (a INT); EXECUTE IMMEDIATE @q",
        ] {
            let (code, _, message) = outcome(&mut g, sql).await;
            assert_eq!(code, 1215, "{sql}: {message}");
        }
        assert_eq!(fks(&mut dd, &d.name).await, Vec::<Vec<String>>::new());
    });
}

/// X-R1 in a managed keyspace: the delete InnoDB would cascade (out of the
/// binlog's statements) is refused, not judged by the variable's old value.
#[test]
fn managed_write_through_a_variable_set_by_show_is_refused() {
    let (_d, m, gw) = keyspaces();
    gw.block_on(async {
        let mut dm = direct(&m).await;
        dm.query_drop(
            "CREATE FUNCTION g() RETURNS INT DETERMINISTIC BEGIN \
             SET @q = concat('delete from p ', 'where id = 1'); RETURN 1; END",
        )
        .await
        .unwrap();
        let mut gm = gw.connect("m").await;
        for sql in [
            "SHOW TABLES WHERE (@q := concat('delete from p ', 'where id = 1')) IS NOT NULL; EXECUTE IMMEDIATE @q",
            "SHOW TABLES WHERE g() IS NOT NULL; EXECUTE IMMEDIATE @q",
        ] {
            gm.query_drop("SET @q = 'select 1'").await.unwrap();
            let (code, _, message) = outcome(&mut gm, sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
            assert!(
                message
                    .contains("keyspace `m` is managed: EXECUTE IMMEDIATE of a statement text the gateway cannot read"),
                "{message}"
            );
        }
        assert_eq!(
            rows(&mut dm, "SELECT id FROM p ORDER BY id").await,
            vec![vec!["1".to_string()], vec!["2".into()]]
        );
        assert_eq!(
            rows(&mut dm, "SELECT id FROM c ORDER BY id").await,
            vec![vec!["10".to_string()], vec!["20".into()]]
        );
    });
}

/// W-R2: under sql_mode ANSI_QUOTES the 1451 the gateway's plan raises (a
/// re-key of a parent whose SET NULL child restricts updates) names the
/// constraint in double quotes, word for word as MariaDB does natively; with
/// the default sql_mode in backquotes, as before.
#[test]
fn fk_errors_the_gateway_writes_follow_ansi_quotes() {
    let native = TestDb::create(TestEngine::Mysql);
    let m = TestDb::create(TestEngine::Mysql);
    for db in [&native, &m] {
        db.exec(
            "CREATE TABLE p (id INT PRIMARY KEY);
             CREATE TABLE c (id INT PRIMARY KEY, pid INT,
               FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE);
             CREATE TABLE `n\"x` (id INT PRIMARY KEY, pid INT,
               CONSTRAINT `n_fk``1` FOREIGN KEY (pid) REFERENCES p (id) ON DELETE SET NULL);
             INSERT INTO p VALUES (1), (2);
             INSERT INTO c VALUES (10, 1), (11, 2);
             INSERT INTO `n\"x` VALUES (30, 2);",
        );
    }
    let gw = start(&[("m", "managed", &m.url)]);
    gw.block_on(async {
        let mut n = direct(&native).await;
        let mut g = gw.connect("m").await;
        let update = "UPDATE p SET id = 200 WHERE id = 2";
        for (mode, expected) in [
            (
                "ANSI_QUOTES",
                "Cannot delete or update a parent row: a foreign key constraint fails \
                 (\"DB\".\"n\"\"x\", CONSTRAINT \"n_fk`1\" FOREIGN KEY (\"pid\") REFERENCES \"p\" (\"id\") \
                 ON DELETE SET NULL)",
            ),
            (
                "STRICT_TRANS_TABLES",
                "Cannot delete or update a parent row: a foreign key constraint fails \
                 (`DB`.`n\"x`, CONSTRAINT `n_fk``1` FOREIGN KEY (`pid`) REFERENCES `p` (`id`) \
                 ON DELETE SET NULL)",
            ),
        ] {
            let set = format!("SET sql_mode = '{mode}'");
            n.query_drop(&set).await.unwrap();
            g.query_drop(&set).await.unwrap();
            let (code, _, message) = outcome(&mut n, update).await;
            assert_eq!(
                (code, message),
                (1451, expected.replace("DB", &native.name)),
                "native, {mode}"
            );
            let (code, _, message) = outcome(&mut g, update).await;
            assert_eq!(
                (code, message),
                (1451, expected.replace("DB", &m.name)),
                "gateway, {mode}"
            );
        }
        let mut dm = direct(&m).await;
        assert_eq!(
            rows(&mut dm, "SELECT id FROM p ORDER BY id").await,
            vec![vec!["1".to_string()], vec!["2".into()]]
        );
    });
}
