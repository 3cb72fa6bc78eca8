//! Review r17 P: a disallow keyspace never gets an FK through a routine, an
//! event or a trigger created in its reach (their bodies run later, out of the
//! gateway's sight: dynamic SQL and RENAME in a body are refused when it is
//! created), nor through a string that NO_BACKSLASH_ESCAPES ends early.

use mysql_async::prelude::Queryable;
use tether_testkit::{TestDb, TestEngine};

use crate::managed::outcome;
use crate::support::{direct, rows, start};

/// A disallow database (`p`, `c` without FKs), an unmanaged one, another
/// database that is no keyspace (`p`, `cf` whose FK `cf_fk` refers to `p`), and
/// a gateway serving the first two as `d` and `u`.
fn databases() -> (TestDb, TestDb, TestDb, crate::support::Gw) {
    let d = TestDb::create(TestEngine::Mysql);
    let u = TestDb::create(TestEngine::Mysql);
    let z = TestDb::create(TestEngine::Mysql);
    d.exec("CREATE TABLE p (id INT PRIMARY KEY); CREATE TABLE c (id INT PRIMARY KEY, pid INT, KEY (pid));");
    z.exec(
        "CREATE TABLE p (id INT PRIMARY KEY);
         CREATE TABLE cf (id INT PRIMARY KEY, pid INT, CONSTRAINT cf_fk FOREIGN KEY (pid) REFERENCES p (id));",
    );
    let gw = start(&[("d", "disallow", &d.url), ("u", "unmanaged", &u.url)]);
    (d, u, z, gw)
}

/// The FKs whose child or parent is in database `db`: (database, table, constraint).
async fn fks_touching(conn: &mut mysql_async::Conn, db: &str) -> Vec<Vec<String>> {
    rows(
        conn,
        &format!(
            "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = '{db}' OR UNIQUE_CONSTRAINT_SCHEMA = '{db}' ORDER BY 1, 2, 3"
        ),
    )
    .await
}

/// The routines and events of database `db`, by name.
async fn routines(conn: &mut mysql_async::Conn, db: &str) -> Vec<Vec<String>> {
    rows(
        conn,
        &format!(
            "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '{db}' \
             UNION ALL SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = '{db}' ORDER BY 1"
        ),
    )
    .await
}

fn dynamic(kind: &str, name: &str, session: &str, word: &str) -> String {
    format!(
        "tether gateway: {kind} `{name}` is refused in keyspace `{session}`'s session: its body runs dynamic SQL \
         ({word}), which could create a foreign key in keyspace `d` (foreignKeyMode: disallow) when it runs, out of \
         the gateway's sight; run the statements as queries of their own"
    )
}

/// Finding 1: a routine or event whose body runs dynamic SQL is refused when
/// created in the disallow keyspace's session (as text and prepared), and in
/// another keyspace's session on its server (the text may name its database);
/// a body that only holds the words in a string is created.
#[test]
fn routines_running_dynamic_sql_are_refused_in_reach_of_a_disallow_keyspace() {
    let (d, u, _z, gw) = databases();
    gw.block_on(async {
        let mut gd = gw.connect("d").await;
        let mut gu = gw.connect("u").await;
        let add = "'ALTER TABLE c ADD CONSTRAINT smuggled FOREIGN KEY (pid) REFERENCES p (id)'";
        let cases = [
            (
                format!("CREATE PROCEDURE mkfk() EXECUTE IMMEDIATE {add}"),
                dynamic("procedure", "mkfk", "d", "EXECUTE"),
            ),
            (
                "CREATE PROCEDURE mkfk2() BEGIN SET @s = CONCAT('ALTER TABLE c ADD CONSTRAINT s2 FOREIGN', \
                 ' KEY (pid) REFERENCES p (id)'); PREPARE st FROM @s; EXECUTE st; END"
                    .to_string(),
                dynamic("procedure", "mkfk2", "d", "EXECUTE"),
            ),
            (
                format!("CREATE DEFINER = CURRENT_USER PROCEDURE mkfk5() PREPARE st FROM {add}"),
                dynamic("procedure", "mkfk5", "d", "PREPARE"),
            ),
            (
                format!("CREATE EVENT ev ON SCHEDULE AT CURRENT_TIMESTAMP + INTERVAL 1 DAY DO EXECUTE IMMEDIATE {add}"),
                dynamic("event", "ev", "d", "EXECUTE"),
            ),
        ];
        for (sql, message) in &cases {
            assert_eq!(outcome(&mut gd, sql).await, (1105, 0, message.clone()), "{sql}");
            // The same statement prepared with COM_STMT_PREPARE.
            let prepared = gd.exec_drop(sql.as_str(), ()).await.expect_err(sql);
            assert!(prepared.to_string().contains(message.as_str()), "{sql}: {prepared}");
        }
        // From the unmanaged keyspace's session: the disallow database only in the string.
        let sql = format!(
            "CREATE PROCEDURE mkfk3() EXECUTE IMMEDIATE 'ALTER TABLE {db}.c ADD CONSTRAINT s3 FOREIGN KEY (pid) \
             REFERENCES {db}.p (id)'",
            db = d.name
        );
        assert_eq!(
            outcome(&mut gu, &sql).await,
            (1105, 0, dynamic("procedure", "mkfk3", "u", "EXECUTE"))
        );
        // The words in strings only, and an event renamed: created.
        for sql in [
            "CREATE PROCEDURE ok() SELECT 'EXECUTE IMMEDIATE' AS x",
            "CREATE EVENT ev2 ON SCHEDULE AT CURRENT_TIMESTAMP + INTERVAL 1 DAY DO SELECT 1",
            "ALTER EVENT ev2 RENAME TO ev3",
        ] {
            assert_eq!(outcome(&mut gd, sql).await, (0, 0, String::new()), "{sql}");
        }
        assert_eq!(
            outcome(&mut gu, "CREATE PROCEDURE plain() SELECT 1").await,
            (0, 0, String::new())
        );
        // ALTER EVENT ... DO gives a new body: judged as CREATE's.
        assert_eq!(
            outcome(&mut gd, &format!("ALTER EVENT ev3 DO EXECUTE IMMEDIATE {add}")).await,
            (1105, 0, dynamic("event", "ev3", "d", "EXECUTE"))
        );
        let mut dd = direct(&d).await;
        assert_eq!(fks_touching(&mut dd, &d.name).await, Vec::<Vec<String>>::new());
        assert_eq!(
            routines(&mut dd, &d.name).await,
            vec![vec!["ev3".to_string()], vec!["ok".to_string()]]
        );
        let mut du = direct(&u).await;
        assert_eq!(routines(&mut du, &u.name).await, vec![vec!["plain".to_string()]]);
    });
}

/// Finding 2: a RENAME in a routine or event body is refused where it may move
/// a table into the disallow database (its session; another session naming the
/// database), and `cf` with its FK stays where it was.
#[test]
fn renames_in_routine_bodies_are_refused_in_reach_of_a_disallow_keyspace() {
    let (d, u, z, gw) = databases();
    gw.block_on(async {
        let mut gd = gw.connect("d").await;
        let mut gu = gw.connect("u").await;
        let (dn, zn) = (&d.name, &z.name);
        let renamed = |kind: &str, name: &str, session: &str| {
            format!(
                "tether gateway: {kind} `{name}` is refused in keyspace `{session}`'s session: its body renames \
                 tables, which could move a table with foreign keys into keyspace `d` (foreignKeyMode: disallow) \
                 when it runs, out of the gateway's sight; send the RENAME as a statement of its own"
            )
        };
        let cases = [
            (
                "d",
                format!("CREATE PROCEDURE mv() RENAME TABLE {zn}.cf TO {dn}.cf"),
                renamed("procedure", "mv", "d"),
            ),
            (
                "d",
                format!("CREATE PROCEDURE mv2() ALTER TABLE {zn}.cf RENAME {dn}.cf"),
                renamed("procedure", "mv2", "d"),
            ),
            (
                "d",
                format!("CREATE EVENT mv3 ON SCHEDULE EVERY 1 DAY DO RENAME TABLE {zn}.cf TO cf"),
                renamed("event", "mv3", "d"),
            ),
            (
                "u",
                format!("CREATE PROCEDURE mv4() RENAME TABLE {zn}.cf TO {dn}.cf"),
                renamed("procedure", "mv4", "u"),
            ),
        ];
        for (session, sql, message) in cases {
            let conn = if session == "d" { &mut gd } else { &mut gu };
            assert_eq!(outcome(conn, &sql).await, (1105, 0, message), "{sql}");
        }
        // From the unmanaged session, a rename that does not name the disallow
        // database: created, and it runs.
        let sql = format!("CREATE PROCEDURE mv5() RENAME TABLE {zn}.cf TO {zn}.cf2");
        assert_eq!(outcome(&mut gu, &sql).await, (0, 0, String::new()));
        assert_eq!(outcome(&mut gu, "CALL mv5()").await, (0, 0, String::new()));
        let mut dz = direct(&z).await;
        assert_eq!(fks_touching(&mut dz, &d.name).await, Vec::<Vec<String>>::new());
        assert_eq!(
            fks_touching(&mut dz, zn).await,
            vec![vec![zn.to_string(), "cf2".to_string(), "cf_fk".to_string()]]
        );
        assert_eq!(routines(&mut dz, dn).await, Vec::<Vec<String>>::new());
        assert_eq!(routines(&mut dz, &u.name).await, vec![vec!["mv5".to_string()]]);
    });
}

/// Finding 3: under NO_BACKSLASH_ESCAPES the string `'a\'` ends at its `\'`;
/// the FK the parser took for part of a string is refused (text and prepared),
/// and none is created. Finding 4: `GRANT REFERENCES` in a body is refused
/// naming the procedure and why.
#[test]
fn no_backslash_escapes_and_grant_references_in_a_disallow_keyspace() {
    let (d, _u, _z, gw) = databases();
    gw.block_on(async {
        let mut gd = gw.connect("d").await;
        gd.query_drop("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')")
            .await
            .unwrap();
        let sql = "CREATE TABLE tn (id INT PRIMARY KEY COMMENT 'a\\', pid INT, KEY(pid), CONSTRAINT hidden \
                   FOREIGN KEY (pid) REFERENCES p(id)) COMMENT ', v INT) -- '";
        let refused = "Cannot add foreign key constraint for `tn`: constraint `hidden`: foreign keys are disallowed \
                       in keyspace `d` (foreignKeyMode: disallow)";
        assert_eq!(outcome(&mut gd, sql).await, (1215, 0, refused.to_string()));
        let prepared = gd.exec_drop(sql, ()).await.expect_err("refused");
        assert!(prepared.to_string().contains(refused), "{prepared}");
        // The same text in the default mode is a table without FKs.
        gd.query_drop("SET SESSION sql_mode = REPLACE(@@sql_mode, 'NO_BACKSLASH_ESCAPES', '')")
            .await
            .unwrap();
        assert_eq!(outcome(&mut gd, sql).await, (0, 0, String::new()));
        let sql = "CREATE PROCEDURE pg() GRANT REFERENCES ON p TO 'r17p_nobody'@'localhost'";
        assert_eq!(
            outcome(&mut gd, sql).await,
            (
                1215,
                0,
                "Cannot add foreign key constraint: the body of procedure `pg` says FOREIGN KEY or REFERENCES (the \
                 gateway judges a body by its words, `GRANT REFERENCES` too): foreign keys are disallowed in \
                 keyspace `d` (foreignKeyMode: disallow)"
                    .to_string()
            )
        );
        let mut dd = direct(&d).await;
        assert_eq!(fks_touching(&mut dd, &d.name).await, Vec::<Vec<String>>::new());
        assert_eq!(
            rows(&mut dd, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'tn' ORDER BY ORDINAL_POSITION").await,
            vec![vec!["id".to_string()], vec!["v".to_string()]]
        );
    });
}

/// P1's variant C without a routine: from the unmanaged keyspace's session on
/// the disallow keyspace's server, dynamic SQL the gateway cannot read (a
/// compound statement running it, `EXECUTE IMMEDIATE (SELECT ...)`) may name
/// the disallow database inside its text: refused, and no FK is created.
/// Readable dynamic text is judged as before (a literal naming no disallow
/// table runs).
#[test]
fn unreadable_dynamic_sql_from_another_session_is_refused() {
    let (d, u, _z, gw) = databases();
    gw.block_on(async {
        let mut gu = gw.connect("u").await;
        let db = &d.name;
        let add = format!("ALTER TABLE {db}.c ADD CONSTRAINT s9 FOREIGN KEY (pid) REFERENCES {db}.p (id)");
        let refused = |form: &str, advice: &str| {
            format!(
                "tether gateway: keyspace `u` is unmanaged: {form} of a statement text the gateway cannot read is \
                 refused (it could create a foreign key in keyspace `d` (foreignKeyMode: disallow) on the same \
                 server out of the gateway's sight); {advice}"
            )
        };
        let advice = "give the text as a string literal, a user variable or string functions of those (a user \
                      variable set earlier in the same query by anything but `SET @v = literal or string \
                      functions`, or after a CALL, cannot be read: send the dynamic statement as a query of its own)";
        for (sql, form) in [
            (
                format!("BEGIN NOT ATOMIC EXECUTE IMMEDIATE '{add}'; END"),
                "a compound statement (BEGIN NOT ATOMIC ... END)",
            ),
            (format!("EXECUTE IMMEDIATE (SELECT '{add}')"), "EXECUTE IMMEDIATE"),
        ] {
            assert_eq!(outcome(&mut gu, &sql).await, (1105, 0, refused(form, advice)), "{sql}");
        }
        gu.query_drop("CREATE TABLE t (id INT)").await.unwrap();
        assert_eq!(
            outcome(&mut gu, "EXECUTE IMMEDIATE 'INSERT INTO t VALUES (1)'").await,
            (0, 1, String::new())
        );
        let mut dd = direct(&d).await;
        assert_eq!(fks_touching(&mut dd, db).await, Vec::<Vec<String>>::new());
        let mut du = direct(&u).await;
        assert_eq!(rows(&mut du, "SELECT id FROM t").await, vec![vec!["1".to_string()]]);
    });
}
