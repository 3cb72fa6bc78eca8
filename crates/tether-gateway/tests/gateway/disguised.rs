//! Statements the gateway does not see by their first word (review A, twelfth
//! session, findings 1, 2, 3, 5 and the `USE db; ...` side note): DDL, FK-check
//! changes and writes sent through `EXECUTE IMMEDIATE`, `PREPARE` / `EXECUTE`,
//! `SET STATEMENT ... FOR`, executable comments, compound statements, CALL, a later
//! statement of a query, or naming another keyspace's database. Each runs the
//! reviewer's scenario through a real gateway and checks rows and error codes.

use mysql_async::prelude::Queryable;
use tether_testkit::{TestDb, TestEngine};

use crate::managed::{outcome, same_as_native_on};
use crate::support::{direct, rows, start, start_one};

const SCHEMA: &str = "
    CREATE TABLE p (id INT PRIMARY KEY);
    CREATE TABLE c (id INT PRIMARY KEY, pid INT,
      CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE);
    CREATE TABLE g (id INT PRIMARY KEY, pid INT, KEY (pid));
    INSERT INTO p VALUES (1), (2), (3), (4);
    INSERT INTO c VALUES (10, 1), (20, 2), (30, 3), (40, 4);
    INSERT INTO g VALUES (100, 1), (200, 2), (300, 3);";

/// The spellings of one DDL statement the route step's first word does not show.
fn spellings(ddl: &str) -> Vec<String> {
    let quoted = ddl.replace('\'', "''");
    vec![
        format!("EXECUTE IMMEDIATE '{quoted}'"),
        format!("PREPARE s FROM '{quoted}'; EXECUTE s"),
        format!("SET @q = '{quoted}'; PREPARE s FROM @q; EXECUTE s; DEALLOCATE PREPARE s"),
        format!("EXECUTE IMMEDIATE CONCAT('{quoted}', '')"),
        format!("SET STATEMENT max_statement_time = 0 FOR {ddl}"),
        format!("/*!40000 {ddl} */"),
        format!("DO 1; {ddl}"),
        format!("SELECT 1 INTO @x; {ddl}"),
    ]
}

/// Finding 1: an FK added in disguise is known to the next planned write: the
/// parent's delete cascades to the new child (it was left an orphan, the
/// gateway planning with checks off on the schema it read before).
#[test]
fn an_fk_added_in_disguise_is_planned_by_the_next_write() {
    let add = "ALTER TABLE g ADD CONSTRAINT g_p FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE";
    for sql in spellings(add) {
        let db = TestDb::create(TestEngine::Mysql);
        db.exec(SCHEMA);
        let gw = start_one(&db, "managed");
        gw.block_on(async {
            let mut g = gw.connect("ks").await;
            // A planned write first: the schema (without g_p) is read and kept.
            g.query_drop("DELETE FROM p WHERE id = 4").await.unwrap();
            g.query_drop(sql.as_str())
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            g.query_drop("DELETE FROM p WHERE id = 1").await.unwrap();
            let mut d = direct(&db).await;
            assert_eq!(
                rows(&mut d, "SELECT id, pid FROM g ORDER BY id").await,
                [["200", "2"], ["300", "3"]],
                "{sql}: g's rows of parents 1 and 4 go with them"
            );
            assert_eq!(rows(&mut d, "SELECT id FROM c ORDER BY id").await, [["20"], ["30"]]);
        });
    }
}

/// Finding 1, the other way: an FK dropped in disguise is no longer cascaded by
/// the gateway (it deleted the child rows of an FK that no longer existed).
#[test]
fn an_fk_dropped_in_disguise_is_no_longer_cascaded() {
    for sql in spellings("ALTER TABLE c DROP FOREIGN KEY c_p") {
        let db = TestDb::create(TestEngine::Mysql);
        db.exec(SCHEMA);
        let gw = start_one(&db, "managed");
        gw.block_on(async {
            let mut g = gw.connect("ks").await;
            g.query_drop("DELETE FROM p WHERE id = 4").await.unwrap();
            g.query_drop(sql.as_str())
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            g.query_drop("DELETE FROM p WHERE id = 1").await.unwrap();
            let mut d = direct(&db).await;
            assert_eq!(
                rows(&mut d, "SELECT id, pid FROM c ORDER BY id").await,
                [["10", "1"], ["20", "2"], ["30", "3"]],
                "{sql}: no FK, no cascade"
            );
        });
    }
}

/// Finding 1: DDL in a COM_STMT_PREPARE'd statement (binary protocol) too.
#[test]
fn ddl_prepared_in_the_binary_protocol_is_seen() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SCHEMA);
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        g.query_drop("DELETE FROM p WHERE id = 4").await.unwrap();
        g.exec_drop(
            "ALTER TABLE g ADD CONSTRAINT g_p FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE",
            (),
        )
        .await
        .unwrap();
        g.query_drop("DELETE FROM p WHERE id = 1").await.unwrap();
        let mut d = direct(&db).await;
        assert_eq!(rows(&mut d, "SELECT id FROM g ORDER BY id").await, [["200"], ["300"]]);
    });
}

/// Finding 5: `foreign_key_checks` turned off where the route step does not look
/// (a later statement of a query, EXECUTE IMMEDIATE, a procedure) is the
/// session's value all the same: no cascade, and a child without parent is
/// accepted, as natively; then on again.
#[test]
fn checks_turned_off_in_disguise_are_the_sessions() {
    let schema = "
        CREATE TABLE p (id INT PRIMARY KEY, v INT);
        CREATE TABLE c (id INT PRIMARY KEY, pid INT,
          CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE);
        INSERT INTO p SELECT seq, 0 FROM seq_1_to_7;
        INSERT INTO c VALUES (10, 1), (20, 2), (30, 3), (40, 4), (50, 5), (60, 6), (70, 7);
        CREATE PROCEDURE checks_off() SET foreign_key_checks = 0;
        CREATE PROCEDURE checks_on() SET foreign_key_checks = 1;";
    same_as_native_on(
        schema,
        &["p", "c"],
        &[
            "DELETE FROM p WHERE id = 7",
            "BEGIN; SET foreign_key_checks = 0; COMMIT",
            "DELETE FROM p WHERE id = 2",
            "INSERT INTO c VALUES (80, 99)",
            "DO 1; SET foreign_key_checks = 1",
            "DELETE FROM p WHERE id = 1",
            "EXECUTE IMMEDIATE 'SET foreign_key_checks = 0'",
            "DELETE FROM p WHERE id = 3",
            "EXECUTE IMMEDIATE 'SET foreign_key_checks = 1'",
            "INSERT INTO c VALUES (90, 98)",
            "CALL checks_off()",
            "DELETE FROM p WHERE id = 4",
            "CALL checks_on()",
            "DELETE FROM p WHERE id = 5",
            "PREPARE s FROM 'SET foreign_key_checks = 0'; EXECUTE s",
            "DELETE FROM p WHERE id = 6",
            "SET foreign_key_checks = 1",
        ],
    );
}

/// A managed keyspace and a disallow keyspace on the test server, with an
/// unmanaged one: (managed, disallow, unmanaged) databases.
fn three_keyspaces() -> (TestDb, TestDb, TestDb) {
    let m = TestDb::create(TestEngine::Mysql);
    let d = TestDb::create(TestEngine::Mysql);
    let u = TestDb::create(TestEngine::Mysql);
    m.exec(SCHEMA);
    d.exec("CREATE TABLE p (id INT PRIMARY KEY); CREATE TABLE c5 (id INT PRIMARY KEY, pid INT);");
    (m, d, u)
}

/// The FKs of a database (constraint names).
async fn fks(conn: &mut mysql_async::Conn, db: &str) -> Vec<Vec<String>> {
    rows(
        conn,
        &format!(
            "SELECT CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = '{db}' ORDER BY 1"
        ),
    )
    .await
}

/// Finding 2: every spelling that creates an FK in a disallow keyspace is refused
/// with the plain spelling's 1215; dynamic text the gateway cannot read with 1105.
#[test]
fn disallow_refuses_fks_in_every_spelling() {
    let (m, d, u) = three_keyspaces();
    let gw = start(&[
        ("m", "managed", &m.url),
        ("d", "disallow", &d.url),
        ("u", "unmanaged", &u.url),
    ]);
    gw.block_on(async {
        let mut c = gw.connect("d").await;
        let create = "CREATE TABLE c3 (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id))";
        let mut refused = spellings(create);
        refused.extend([
            "EXECUTE IMMEDIATE CONCAT('alter table c5 add ', 'foreign key (pid) references p(id)')".to_string(),
            "SET @a = 'alter table c5 add foreign key (pid) references p(id)'; EXECUTE IMMEDIATE @a".to_string(),
            "BEGIN NOT ATOMIC CREATE TABLE c9 (id INT, pid INT, FOREIGN KEY (pid) REFERENCES p (id)); END".to_string(),
        ]);
        for sql in &refused {
            let (code, _, message) = outcome(&mut c, sql).await;
            assert_eq!(code, 1215, "{sql}: {message}");
            assert!(message.contains("foreignKeyMode: disallow"), "{sql}: {message}");
        }
        // Text the gateway cannot read: refused, naming the form.
        for sql in [
            "EXECUTE IMMEDIATE (SELECT 'create table c6 (id int)')",
            "PREPARE s FROM (SELECT 'create table c6 (id int)')",
        ] {
            let (code, _, message) = outcome(&mut c, sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
            assert!(message.contains("cannot read"), "{sql}: {message}");
        }
        // Without an FK, each spelling passes.
        for (i, sql) in spellings("CREATE TABLE IF NOT EXISTS fine (id INT PRIMARY KEY)")
            .iter()
            .enumerate()
        {
            let (code, _, message) = outcome(&mut c, sql).await;
            assert_eq!(code, 0, "spelling {i}: {sql}: {message}");
        }
        // Qualified names from another keyspace's session: the disallow rule.
        let mut un = gw.connect("u").await;
        un.query_drop("CREATE TABLE up (id INT PRIMARY KEY)").await.unwrap();
        un.query_drop(
            "CREATE TABLE uc (id INT PRIMARY KEY, pid INT, CONSTRAINT uc_p FOREIGN KEY (pid) REFERENCES up (id))",
        )
        .await
        .unwrap();
        for sql in [
            format!(
                "CREATE TABLE {0}.c13 (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES {0}.p (id))",
                d.name
            ),
            format!("ALTER TABLE `{}`.c5 ADD FOREIGN KEY (pid) REFERENCES p (id)", d.name),
            format!("RENAME TABLE uc TO {}.uc", d.name),
            format!("ALTER TABLE uc RENAME TO {}.uc", d.name),
        ] {
            let (code, _, message) = outcome(&mut un, &sql).await;
            assert_eq!(code, 1215, "{sql}: {message}");
        }
        let mut direct_d = direct(&d).await;
        assert_eq!(fks(&mut direct_d, &d.name).await, Vec::<Vec<String>>::new());
        // A rename of a table without FKs into it passes.
        un.query_drop("CREATE TABLE solo (id INT PRIMARY KEY)").await.unwrap();
        un.query_drop(format!("RENAME TABLE solo TO {}.solo", d.name))
            .await
            .unwrap();
    });
}

/// Finding 3: writes to tables with FKs in a managed keyspace sent in a form the
/// gateway does not plan are refused with 1105 naming the form (InnoDB ran them,
/// its cascades missing from the binlog); writes naming no table with FKs, and
/// writes with checks off, pass.
#[test]
fn managed_writes_in_disguise_are_refused_or_pass_untouched() {
    let (m, d, u) = three_keyspaces();
    m.exec("CREATE TABLE free (id INT PRIMARY KEY);");
    let gw = start(&[
        ("m", "managed", &m.url),
        ("d", "disallow", &d.url),
        ("u", "unmanaged", &u.url),
    ]);
    gw.block_on(async {
        let mut g = gw.connect("m").await;
        for (sql, form) in [
            ("PREPARE s FROM 'DELETE FROM p WHERE id = ?'", "PREPARE"),
            (
                "EXECUTE IMMEDIATE 'DELETE FROM p WHERE id = ?' USING 3",
                "EXECUTE IMMEDIATE",
            ),
            (
                "EXECUTE IMMEDIATE CONCAT('DELETE FROM p WHERE id = ', 3)",
                "EXECUTE IMMEDIATE",
            ),
            (
                "SET STATEMENT max_statement_time = 100 FOR DELETE FROM p WHERE id = 1",
                "SET STATEMENT",
            ),
            ("BEGIN NOT ATOMIC DELETE FROM p WHERE id = 3; END", "compound"),
            ("SELECT 1; DELETE FROM p WHERE id = 2", "after the first"),
            ("SET @a = 3; DELETE FROM p WHERE id = @a", "after the first"),
            ("BEGIN; DELETE FROM p WHERE id = 4; COMMIT", "after the first"),
            ("EXECUTE IMMEDIATE (SELECT 'DELETE FROM p')", "cannot read"),
        ] {
            let (code, _, message) = outcome(&mut g, sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
            assert!(message.contains(form), "{sql}: {message}");
        }
        g.query_drop("ROLLBACK").await.unwrap();
        let mut dm = direct(&m).await;
        assert_eq!(
            rows(&mut dm, "SELECT id FROM c ORDER BY id").await,
            [["10"], ["20"], ["30"], ["40"]],
            "nothing ran"
        );
        // `EXECUTE IMMEDIATE 'literal write'` runs as the write sent alone: planned,
        // the child's DELETE a statement of its own (2 DELETEs on the session).
        let deletes = |rows: Vec<Vec<String>>| rows[0][1].parse::<i64>().expect("a number");
        let before = deletes(rows(&mut g, "SHOW SESSION STATUS LIKE 'Com_delete'").await);
        g.query_drop("EXECUTE IMMEDIATE 'DELETE FROM p WHERE id = 3'")
            .await
            .unwrap();
        let now = deletes(rows(&mut g, "SHOW SESSION STATUS LIKE 'Com_delete'").await);
        assert_eq!(now - before, 2, "planned: the parent's DELETE and the child's");
        assert_eq!(
            rows(&mut dm, "SELECT id FROM c ORDER BY id").await,
            [["10"], ["20"], ["40"]]
        );
        // No table with FKs: forwarded.
        for sql in [
            "EXECUTE IMMEDIATE 'INSERT INTO free VALUES (1)'",
            "SET STATEMENT max_statement_time = 100 FOR INSERT INTO free VALUES (2)",
            "SELECT 1; INSERT INTO free VALUES (3)",
            "PREPARE s FROM 'INSERT INTO free VALUES (?)'; EXECUTE s USING 4",
        ] {
            let (code, _, message) = outcome(&mut g, sql).await;
            assert_eq!(code, 0, "{sql}: {message}");
        }
        // Checks off for the statement: MariaDB does no FK work, nor the gateway.
        let (code, _, message) = outcome(
            &mut g,
            "SET STATEMENT foreign_key_checks = 0 FOR DELETE FROM p WHERE id = 4",
        )
        .await;
        assert_eq!(code, 0, "{message}");
        assert_eq!(
            rows(&mut dm, "SELECT id FROM c ORDER BY id").await,
            [["10"], ["20"], ["40"]]
        );
        // From another keyspace's session, `db.p` is refused; a table without FKs passes.
        for (i, ks) in ["u", "d"].into_iter().enumerate() {
            let mut o = gw.connect(ks).await;
            let (code, _, message) = outcome(&mut o, &format!("DELETE FROM {}.p WHERE id = 3", m.name)).await;
            assert_eq!(code, 1105, "{ks}: {message}");
            assert!(message.contains("USE m"), "{message}");
            let (code, _, message) = outcome(&mut o, &format!("INSERT INTO {}.free VALUES ({})", m.name, 10 + i)).await;
            assert_eq!(code, 0, "{ks}: {message}");
        }
        assert_eq!(rows(&mut dm, "SELECT COUNT(*) FROM p").await, [["2"]]);
        // A write alone in an executable comment is planned, as before.
        g.query_drop("/*!40000 DELETE FROM p WHERE id = 2 */").await.unwrap();
        assert_eq!(rows(&mut dm, "SELECT id FROM c ORDER BY id").await, [["10"], ["40"]]);
    });
}

/// Finding 1 from another keyspace: DDL naming a managed keyspace's table
/// (`db.t`) makes that keyspace read its schema again.
#[test]
fn ddl_on_a_managed_keyspace_from_another_session_is_seen() {
    let (m, d, u) = three_keyspaces();
    let gw = start(&[
        ("m", "managed", &m.url),
        ("d", "disallow", &d.url),
        ("u", "unmanaged", &u.url),
    ]);
    gw.block_on(async {
        let mut g = gw.connect("m").await;
        g.query_drop("DELETE FROM p WHERE id = 4").await.unwrap();
        let mut o = gw.connect("u").await;
        o.query_drop(format!(
            "ALTER TABLE {}.g ADD CONSTRAINT g_p FOREIGN KEY (pid) REFERENCES {}.p (id) ON DELETE CASCADE",
            m.name, m.name
        ))
        .await
        .unwrap();
        g.query_drop("DELETE FROM p WHERE id = 1").await.unwrap();
        let mut dm = direct(&m).await;
        assert_eq!(rows(&mut dm, "SELECT id FROM g ORDER BY id").await, [["200"], ["300"]]);
    });
}

/// Side note of finding 5: `USE db; DELETE ...` in one query is a clear error,
/// not 1049 with the whole text as the database's name; nothing runs.
#[test]
fn use_in_a_query_of_several_statements_is_refused_clearly() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SCHEMA);
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        for sql in ["USE ks; DELETE FROM p WHERE id = 1", "SELECT 1; USE ks"] {
            let (code, _, message) = outcome(&mut g, sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
            assert!(message.contains("must be a query of its own"), "{message}");
        }
        let mut d = direct(&db).await;
        assert_eq!(rows(&mut d, "SELECT COUNT(*) FROM c").await, [["4"]]);
        g.query_drop("USE ks").await.unwrap();
    });
}
