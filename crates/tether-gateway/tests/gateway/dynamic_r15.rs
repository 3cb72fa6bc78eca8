//! Review r15 O: dynamic SQL whose text a statement out of the gateway's sight
//! changes (a user variable set in the same query by any spelling but a plain
//! `SET @v = ...`, a name prepared again by a CALL), and the disallow rule on
//! FK DDL between other databases and on `FOREIGN KEY name`.

use mysql_async::prelude::Queryable;
use tether_testkit::{TestDb, TestEngine};

use crate::managed::outcome;
use crate::support::{direct, rows, start};

/// The text of an FK-creating ALTER, cut so that no literal holds its words.
const ADD_FK: &str = "concat('alter table c add for', 'eign key (pid) references p(id)')";

/// A disallow database (`p`, `c` without FKs), a managed one (`p`, `c` whose
/// FK cascades, `q`), and a gateway serving them as `d` and `m`.
fn two_keyspaces() -> (TestDb, TestDb, crate::support::Gw) {
    let d = TestDb::create(TestEngine::Mysql);
    let m = TestDb::create(TestEngine::Mysql);
    d.exec("CREATE TABLE p (id INT PRIMARY KEY); CREATE TABLE c (id INT PRIMARY KEY, pid INT, KEY (pid));");
    m.exec(
        "CREATE TABLE p (id INT PRIMARY KEY);
         CREATE TABLE q (id INT PRIMARY KEY);
         CREATE TABLE c (id INT PRIMARY KEY, pid INT, qid INT,
           CONSTRAINT fk1 FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE);
         INSERT INTO p VALUES (1), (2);
         INSERT INTO c VALUES (10, 1, NULL), (20, 2, NULL);",
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

/// The rows of `p` and `c` (ids) in a managed database.
async fn ids(conn: &mut mysql_async::Conn) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    (
        rows(conn, "SELECT id FROM p ORDER BY id").await,
        rows(conn, "SELECT id FROM c ORDER BY id").await,
    )
}

/// Finding O1: a user variable assigned earlier in the same query (a SET list,
/// a quoted name, `SELECT @q := ...`, `SELECT ... INTO @q`) is not judged by
/// its value before the query: the dynamic statement reading it is refused.
#[test]
fn variables_set_in_the_query_by_any_spelling_are_not_read_stale() {
    let (d, _m, gw) = two_keyspaces();
    gw.block_on(async {
        let mut g = gw.connect("d").await;
        let immediate = "EXECUTE IMMEDIATE of a statement text the gateway cannot read is refused";
        let prepare = "PREPARE ... FROM of a statement text the gateway cannot read is refused";
        for (sql, says) in [
            (format!("SET @a = 'x', @q = {ADD_FK}; EXECUTE IMMEDIATE @q"), immediate),
            (format!("SET @`q` = {ADD_FK}; EXECUTE IMMEDIATE @q"), immediate),
            (format!("SET @'q' = {ADD_FK}; EXECUTE IMMEDIATE @q"), immediate),
            (format!("SET @\"q\" := {ADD_FK}; EXECUTE IMMEDIATE @`q`"), immediate),
            (format!("SELECT @q := {ADD_FK}; EXECUTE IMMEDIATE @q"), immediate),
            (format!("SELECT {ADD_FK} INTO @q; EXECUTE IMMEDIATE @q"), immediate),
            (format!("SELECT @q := {ADD_FK}; PREPARE s FROM @q; EXECUTE s"), prepare),
            (
                format!("SET @a = 'x', @q = {ADD_FK}; PREPARE s FROM @q; EXECUTE s"),
                prepare,
            ),
        ] {
            g.query_drop("SET @q = 'select 1'").await.unwrap();
            let (code, _, message) = outcome(&mut g, &sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
            assert!(message.contains(says), "{sql}: {message}");
            assert!(
                message.contains("send the dynamic statement as a query of its own"),
                "{message}"
            );
        }
        // A literal in a SET list is read through: the plain spelling's 1215.
        let sql = "SET @a = 'x', @`q` = 'alter table c add foreign key (pid) references p(id)'; EXECUTE IMMEDIATE @q";
        let (code, _, message) = outcome(&mut g, sql).await;
        assert_eq!(code, 1215, "{message}");
        // Harmless text still runs, and a variable set in an earlier query is
        // read from the backend when the dynamic statement comes.
        g.query_drop("SET @a = 'x', @`q` = 'select 1'; EXECUTE IMMEDIATE @q")
            .await
            .unwrap();
        g.query_drop(format!("SET @a = 'x', @q = {ADD_FK}")).await.unwrap();
        let (code, _, message) = outcome(&mut g, "EXECUTE IMMEDIATE @q").await;
        assert_eq!(code, 1215, "{message}");
        let mut direct_d = direct(&d).await;
        assert_eq!(fks(&mut direct_d, &d.name).await, Vec::<Vec<String>>::new());
    });
}

/// Finding O1 in a managed keyspace: the delete InnoDB would cascade (out of the
/// binlog's statements) is refused, not judged by the variable's old value.
#[test]
fn managed_write_through_a_variable_set_in_a_list_is_refused() {
    let (_d, m, gw) = two_keyspaces();
    gw.block_on(async {
        let mut g = gw.connect("m").await;
        g.query_drop("SET @q = 'select 1'").await.unwrap();
        let sql = "SET @a = 'x', @q = concat('delete from p ', 'where id = 1'); EXECUTE IMMEDIATE @q";
        let (code, _, message) = outcome(&mut g, sql).await;
        assert_eq!(code, 1105, "{message}");
        assert!(
            message.contains("keyspace `m` is managed: EXECUTE IMMEDIATE of a statement text the gateway cannot read"),
            "{message}"
        );
        let mut dm = direct(&m).await;
        assert_eq!(
            ids(&mut dm).await,
            (
                vec![vec!["1".to_string()], vec!["2".into()]],
                vec![vec!["10".to_string()], vec!["20".into()]]
            )
        );
    });
}

/// Finding O2: a CALL may prepare a name again (prepared statements made in a
/// procedure are the session's): the text kept for it is forgotten, and
/// `EXECUTE name` is refused until the client prepares it again in sight. Also
/// when the CALL is in the same query, or run as a COM_STMT_PREPARE'd statement.
#[test]
fn execute_after_a_call_is_not_judged_by_the_text_kept_before() {
    let (d, m, gw) = two_keyspaces();
    gw.block_on(async {
        let mut dd = direct(&d).await;
        dd.query_drop("CREATE PROCEDURE mk() PREPARE s FROM @q").await.unwrap();
        let mut dm = direct(&m).await;
        dm.query_drop("CREATE PROCEDURE mk() PREPARE s FROM @q").await.unwrap();
        let out_of_sight = "EXECUTE of a statement prepared in SQL of a statement text the gateway cannot read is \
                            refused (it could create a foreign key out of the gateway's sight); the name was \
                            prepared out of the gateway's sight";
        let mut g = gw.connect("d").await;
        for call in ["CALL mk()", "CALL mk(); EXECUTE s", "binary CALL mk()"] {
            g.query_drop("PREPARE s FROM 'select 1'").await.unwrap();
            g.query_drop("EXECUTE s").await.unwrap();
            g.query_drop(format!("SET @q = {ADD_FK}")).await.unwrap();
            let (code, message) = match call {
                "CALL mk()" => {
                    g.query_drop(call).await.unwrap();
                    let (code, _, message) = outcome(&mut g, "EXECUTE s").await;
                    (code, message)
                }
                "binary CALL mk()" => {
                    g.exec_drop("CALL mk()", ()).await.unwrap();
                    let (code, _, message) = outcome(&mut g, "EXECUTE s").await;
                    (code, message)
                }
                _ => {
                    let (code, _, message) = outcome(&mut g, call).await;
                    (code, message)
                }
            };
            assert_eq!(code, 1105, "{call}: {message}");
            assert!(message.contains(out_of_sight), "{call}: {message}");
            assert_eq!(fks(&mut dd, &d.name).await, Vec::<Vec<String>>::new(), "{call}");
        }
        // Prepared again in sight: judged by its text again.
        g.query_drop("PREPARE s FROM 'select 1'").await.unwrap();
        g.query_drop("EXECUTE s").await.unwrap();

        // Managed: the cascade InnoDB would run is refused.
        let mut g = gw.connect("m").await;
        g.query_drop("PREPARE s FROM 'select 1'").await.unwrap();
        g.query_drop("SET @q = 'delete from p where id = 1'").await.unwrap();
        g.query_drop("CALL mk()").await.unwrap();
        let (code, _, message) = outcome(&mut g, "EXECUTE s").await;
        assert_eq!(code, 1105, "{message}");
        assert!(
            message.contains("keyspace `m` is managed: EXECUTE of a statement prepared in SQL"),
            "{message}"
        );
        assert!(
            message.contains("the name was prepared out of the gateway's sight"),
            "{message}"
        );
        assert_eq!(
            ids(&mut dm).await,
            (
                vec![vec!["1".to_string()], vec!["2".into()]],
                vec![vec!["10".to_string()], vec!["20".into()]]
            )
        );
    });
}

/// Finding O3: from a disallow keyspace's session, an FK whose two ends are
/// named in another database is that database's business (here a managed
/// keyspace's, which reads its schema again); an end in the disallow
/// keyspace's database is still refused. Finding O4: `FOREIGN KEY [IF NOT
/// EXISTS] name` names the constraint in the refusal.
#[test]
fn disallow_judges_only_foreign_keys_touching_its_database() {
    let (d, m, gw) = two_keyspaces();
    gw.block_on(async {
        let mut g = gw.connect("d").await;
        let sql = format!(
            "ALTER TABLE {m}.c ADD CONSTRAINT fk2 FOREIGN KEY (qid) REFERENCES `{m}`.q (id)",
            m = m.name
        );
        g.query_drop(&sql).await.unwrap();
        let mut dm = direct(&m).await;
        assert_eq!(fks(&mut dm, &m.name).await, [["c", "fk1"], ["c", "fk2"]]);
        let sql = format!(
            "ALTER TABLE {}.c ADD CONSTRAINT fk3 FOREIGN KEY (qid) REFERENCES {}.p (id)",
            m.name, d.name
        );
        let (code, _, message) = outcome(&mut g, &sql).await;
        assert_eq!(code, 1215, "{message}");
        assert_eq!(
            message,
            format!(
                "Cannot add foreign key constraint for `{}.c`: constraint `fk3`: foreign keys are disallowed in \
                 keyspace `d` (foreignKeyMode: disallow)",
                m.name
            )
        );
        // The managed keyspace plans with the new FK: its check refuses a child
        // row without a parent in `q`.
        let mut gm = gw.connect("m").await;
        let (code, _, message) = outcome(&mut gm, "INSERT INTO c VALUES (30, 1, 7)").await;
        assert_eq!(code, 1452, "{message}");

        for (sql, constraint) in [
            (
                "ALTER TABLE c ADD FOREIGN KEY IF NOT EXISTS f1 (pid) REFERENCES p(id)",
                "f1",
            ),
            ("ALTER TABLE c ADD FOREIGN KEY f2 (pid) REFERENCES p(id)", "f2"),
        ] {
            let (code, _, message) = outcome(&mut g, sql).await;
            assert_eq!(code, 1215, "{message}");
            assert_eq!(
                message,
                format!(
                    "Cannot add foreign key constraint for `c`: constraint `{constraint}`: foreign keys are \
                     disallowed in keyspace `d` (foreignKeyMode: disallow)"
                )
            );
        }
        let mut dd = direct(&d).await;
        assert_eq!(fks(&mut dd, &d.name).await, Vec::<Vec<String>>::new());
    });
}
