//! Findings of the fourteenth session's review B (gateway sessions, disallow
//! mode) that concern the session: tables with FKs renamed into a disallow
//! keyspace's database (finding 1), qualified names spelled with comments beside
//! the dot (2), `USE` of another keyspace inside a transaction (5), and the
//! gateway's `SET @@ddl_strategy` in a query of several statements (8). Each runs
//! the reviewer's scenario through a real gateway and checks rows and error codes.

use mysql_async::prelude::Queryable;
use tether_testkit::{TestDb, TestEngine};

use crate::managed::outcome;
use crate::support::{caps, direct, err_packet, rows, start, Raw};

/// The managed keyspace's schema (review B's).
const MANAGED: &str = "
    CREATE TABLE p (id INT PRIMARY KEY);
    CREATE TABLE c (id INT PRIMARY KEY, pid INT,
      FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE);
    INSERT INTO p VALUES (1), (2), (3);
    INSERT INTO c VALUES (10, 1), (20, 2), (30, 3);";

/// A database no keyspace covers, reachable through the backend user: a parent,
/// a child with an FK to it, and a table without FKs.
const NOBODYS: &str = "
    CREATE TABLE p (id INT PRIMARY KEY);
    CREATE TABLE c (id INT PRIMARY KEY, pid INT, CONSTRAINT c_n_p FOREIGN KEY (pid) REFERENCES p (id));
    CREATE TABLE solo (id INT PRIMARY KEY);";

/// Keyspaces `m` (managed) and `d` (disallow), and a database `n` of nobody's.
fn databases() -> (TestDb, TestDb, TestDb) {
    let m = TestDb::create(TestEngine::Mysql);
    let d = TestDb::create(TestEngine::Mysql);
    let n = TestDb::create(TestEngine::Mysql);
    m.exec(MANAGED);
    d.exec("CREATE TABLE t (id INT PRIMARY KEY);");
    n.exec(NOBODYS);
    (m, d, n)
}

/// The FKs whose child or parent is in database `db`: (child table, constraint).
async fn fks_touching(conn: &mut mysql_async::Conn, db: &str) -> Vec<Vec<String>> {
    rows(
        conn,
        &format!(
            "SELECT CONCAT(CONSTRAINT_SCHEMA, '.', TABLE_NAME), CONSTRAINT_NAME \
             FROM information_schema.REFERENTIAL_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = '{db}' OR UNIQUE_CONSTRAINT_SCHEMA = '{db}' ORDER BY 1, 2"
        ),
    )
    .await
}

/// Finding 1: a table with FKs (as child or as parent) renamed from another
/// database into a disallow keyspace's database is refused with 1215, in the
/// keyspace's own sessions as in another keyspace's, whatever the spelling of the
/// destination (unqualified, `db . t`, comments beside the dot) and through a
/// temporary name; a table without FKs is renamed in.
#[test]
fn tables_with_fks_are_not_renamed_into_a_disallow_database() {
    let (m, d, n) = databases();
    let gw = start(&[("m", "managed", &m.url), ("d", "disallow", &d.url)]);
    let (dn, nn) = (d.name.as_str(), n.name.as_str());
    gw.block_on(async {
        let own = [
            format!("RENAME TABLE {nn}.c TO c2"),
            format!("RENAME TABLE {nn}.c TO {dn}.c2"),
            format!("rename table `{nn}`.`c` wait 5 to c2"),
            format!("ALTER TABLE {nn}.c RENAME c2"),
            format!("ALTER TABLE {nn}.c RENAME AS c2"),
            format!("ALTER TABLE {nn}.c RENAME TO {dn}.c9"),
            format!("ALTER TABLE {nn}.c ADD COLUMN z INT, RENAME TO c9"),
            format!("RENAME TABLE {nn}/**/.c TO c2"),
            // The parent: the child's FK would then reference the disallow database.
            format!("RENAME TABLE {nn}.p TO p2"),
            format!("ALTER TABLE {nn}.p RENAME p2"),
            // Through a temporary name in the other database.
            format!("RENAME TABLE {nn}.c TO {nn}.tmp, {nn}.tmp TO c3"),
            // A later statement of a query.
            format!("SELECT 1; RENAME TABLE {nn}.c TO c2"),
        ];
        let mut g = gw.connect("d").await;
        for sql in &own {
            let (code, _, message) = outcome(&mut g, sql).await;
            assert_eq!(code, 1215, "{sql}: {message}");
            assert!(message.contains("keyspace `d`"), "{sql}: {message}");
            assert!(
                message.contains(&format!("`{nn}.c`: constraint `c_n_p`")),
                "{sql}: {message}"
            );
        }
        let mut other = gw.connect("m").await;
        let from_other = [
            format!("RENAME TABLE {nn}.c TO {dn} . c2"),
            format!("RENAME TABLE {nn}.c TO {dn}/**/.c2"),
            format!("RENAME TABLE {nn}.c TO {dn}./* x */c2"),
            format!("RENAME TABLE {nn}.p TO {dn}.p2"),
            format!("ALTER TABLE {nn}.p RENAME TO `{dn}`.p2"),
        ];
        for sql in &from_other {
            let (code, _, message) = outcome(&mut other, sql).await;
            assert_eq!(code, 1215, "{sql}: {message}");
            assert!(message.contains("keyspace `d`"), "{sql}: {message}");
        }
        let mut native = direct(&d).await;
        assert_eq!(fks_touching(&mut native, dn).await, Vec::<Vec<String>>::new());
        assert_eq!(
            fks_touching(&mut native, nn).await,
            [[format!("{nn}.c"), "c_n_p".to_string()]]
        );
        // A table without FKs is renamed in; renames elsewhere are untouched.
        g.query_drop(format!("RENAME TABLE {nn}.solo TO solo")).await.unwrap();
        g.query_drop(format!("RENAME TABLE {nn}.c TO {nn}.c4")).await.unwrap();
        assert_eq!(rows(&mut native, "SHOW TABLES").await, [["solo"], ["t"]]);
        assert_eq!(
            rows(&mut native, &format!("SHOW TABLES FROM {nn}")).await,
            [["c4"], ["p"]]
        );
    });
}

/// Finding 2: a comment (or a line comment, or whitespace) beside the dot of
/// `db.t` does not hide another keyspace's table from its rules: an FK created
/// in the disallow database is refused with 1215, a write to a managed table
/// with FKs from another keyspace's session with 1105 (InnoDB would cascade it).
#[test]
fn comments_beside_the_dot_do_not_hide_another_keyspaces_table() {
    let (m, d, n) = databases();
    let gw = start(&[("m", "managed", &m.url), ("d", "disallow", &d.url)]);
    let (mn, dn, nn) = (m.name.as_str(), d.name.as_str(), n.name.as_str());
    gw.block_on(async {
        let mut from_m = gw.connect("m").await;
        for name in [
            format!("{dn}.x"),
            format!("{dn} . x"),
            format!("{dn}/**/.x"),
            format!("{dn}./**/x"),
            format!("`{dn}` /* c */ . /* c */ `x`"),
            format!("{dn} -- c\n.x"),
            format!("{dn} # c\n . x"),
        ] {
            let sql = format!("CREATE TABLE {name} (id INT, FOREIGN KEY (id) REFERENCES {nn}.p (id))");
            let (code, _, message) = outcome(&mut from_m, &sql).await;
            assert_eq!(code, 1215, "{sql}: {message}");
            assert!(message.contains("keyspace `d`"), "{sql}: {message}");
        }
        let mut from_d = gw.connect("d").await;
        for sql in [
            format!("DELETE FROM {mn}.p WHERE id = 3"),
            format!("DELETE FROM {mn}/**/.p WHERE id = 3"),
            format!("DELETE FROM {mn}./**/p WHERE id = 3"),
            format!("DELETE FROM `{mn}`/* c */.`p` WHERE id = 3"),
            format!("DELETE FROM {mn} # c\n . p WHERE id = 3"),
            format!("UPDATE {mn}/**/.p SET id = 9 WHERE id = 3"),
        ] {
            let (code, _, message) = outcome(&mut from_d, &sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
            assert!(message.contains("`USE m` and send it there"), "{sql}: {message}");
        }
        let mut native = direct(&m).await;
        assert_eq!(fks_touching(&mut native, dn).await, Vec::<Vec<String>>::new());
        assert_eq!(
            rows(&mut native, "SELECT id FROM p ORDER BY id").await,
            [["1"], ["2"], ["3"]]
        );
        assert_eq!(
            rows(&mut native, "SELECT id, pid FROM c ORDER BY id").await,
            [["10", "1"], ["20", "2"], ["30", "3"]]
        );
        // A table of no FK of `m` is written from `d` as before.
        from_d
            .query_drop(format!("CREATE TABLE {mn}.free (id INT PRIMARY KEY)"))
            .await
            .unwrap();
        from_d
            .query_drop(format!("INSERT INTO {mn}/**/.free VALUES (1)"))
            .await
            .unwrap();
        assert_eq!(rows(&mut native, "SELECT id FROM free").await, [["1"]]);
    });
}

/// Finding 5: `USE` of another keyspace while a transaction is open (BEGIN, or
/// autocommit off with work done) is refused with 1105, so the client's COMMIT
/// reaches the transaction: the rows are committed, as natively. After COMMIT or
/// ROLLBACK the switch goes through; `USE` of the same keyspace always does.
#[test]
fn use_of_another_keyspace_inside_a_transaction_is_refused() {
    let (m, d, _n) = databases();
    let gw = start(&[("m", "managed", &m.url), ("d", "disallow", &d.url)]);
    gw.block_on(async {
        let mut g = gw.connect("m").await;
        let mut native = direct(&m).await;
        let refused = |message: &str| {
            message.contains("`USE d` is refused while a transaction is open in keyspace `m`")
                && message.contains("send COMMIT or ROLLBACK first")
        };

        g.query_drop("BEGIN").await.unwrap();
        g.query_drop("DELETE FROM p WHERE id = 1").await.unwrap();
        let (code, _, message) = outcome(&mut g, "USE d").await;
        assert_eq!(code, 1105, "{message}");
        assert!(refused(&message), "{message}");
        assert_eq!(outcome(&mut g, "USE m").await.0, 0);
        g.query_drop("COMMIT").await.unwrap();
        assert_eq!(rows(&mut native, "SELECT id FROM p ORDER BY id").await, [["2"], ["3"]]);
        assert_eq!(
            rows(&mut native, "SELECT id FROM c ORDER BY id").await,
            [["20"], ["30"]]
        );
        assert_eq!(outcome(&mut g, "USE d").await.0, 0);
        assert_eq!(outcome(&mut g, "USE m").await.0, 0);

        g.query_drop("SET autocommit = 0").await.unwrap();
        // No work done yet: no transaction to leave behind.
        assert_eq!(outcome(&mut g, "USE m").await.0, 0);
        g.query_drop("DELETE FROM p WHERE id = 2").await.unwrap();
        let (code, _, message) = outcome(&mut g, "USE d").await;
        assert_eq!(code, 1105, "{message}");
        assert!(refused(&message), "{message}");
        g.query_drop("ROLLBACK").await.unwrap();
        assert_eq!(rows(&mut native, "SELECT id FROM p ORDER BY id").await, [["2"], ["3"]]);
        g.query_drop("DELETE FROM p WHERE id = 2").await.unwrap();
        assert_eq!(outcome(&mut g, "USE d").await.0, 1105);
        g.query_drop("COMMIT").await.unwrap();
        assert_eq!(rows(&mut native, "SELECT id FROM p ORDER BY id").await, [["3"]]);
        assert_eq!(rows(&mut native, "SELECT id FROM c ORDER BY id").await, [["30"]]);
        assert_eq!(outcome(&mut g, "USE d").await.0, 0);
    });

    // COM_INIT_DB (a driver's select_db): the same refusal.
    let mut raw = Raw::login(gw.addr, caps::BASE, "m");
    for sql in ["BEGIN", "DELETE FROM p WHERE id = 3"] {
        let answer = raw.query(sql);
        assert_eq!(answer.last().expect("an answer")[0], 0x00, "{sql}");
    }
    raw.command(0x02, b"d");
    let (code, message) = err_packet(&raw.answer()[0]);
    assert_eq!(code, 1105, "{message}");
    assert!(message.contains("send COMMIT or ROLLBACK first"), "{message}");
    assert_eq!(raw.query("COMMIT")[0][0], 0x00);
    raw.command(0x02, b"d");
    assert_eq!(raw.answer()[0][0], 0x00, "after COMMIT");
    gw.block_on(async {
        let mut native = direct(&m).await;
        assert_eq!(rows(&mut native, "SELECT id FROM p").await, Vec::<Vec<String>>::new());
        assert_eq!(rows(&mut native, "SELECT id FROM c").await, Vec::<Vec<String>>::new());
    });
}

/// Finding 8: `SET @@ddl_strategy` (a statement the gateway answers itself) in a
/// query of several statements is refused, saying it must be sent alone; nothing
/// of the query runs.
#[test]
fn the_gateways_own_statements_must_be_sent_alone() {
    let (m, d, _n) = databases();
    let gw = start(&[("m", "managed", &m.url), ("d", "disallow", &d.url)]);
    gw.block_on(async {
        for keyspace in ["d", "m"] {
            let mut g = gw.connect(keyspace).await;
            for sql in [
                "SET @@ddl_strategy='direct'; ALTER TABLE t ADD COLUMN z3 INT",
                "SET @@ddl_strategy='online'; SELECT 1",
                "SET @@ddl_strategy='bogus'; SELECT 1",
            ] {
                let (code, _, message) = outcome(&mut g, sql).await;
                assert_eq!(code, 1105, "{keyspace}: {sql}: {message}");
                assert!(
                    message.contains("is a statement of the gateway's and must be a query of its own"),
                    "{keyspace}: {sql}: {message}"
                );
            }
            // Alone, it is answered as before.
            assert_eq!(outcome(&mut g, "SET @@ddl_strategy='direct';").await.0, 0);
        }
        let mut native = direct(&d).await;
        assert_eq!(
            rows(&mut native, "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_NAME = 'z3'").await,
            [["0"]]
        );
    });
}

/// Finding 2's class, in compound statements (judged by their words): a write
/// to a managed keyspace's table with FKs, an FK created in a disallow
/// keyspace's database, and a RENAME that may reach a disallow database are
/// refused, whatever the spelling of `db.t`.
#[test]
fn compound_statements_naming_another_keyspace_follow_its_rules() {
    let (m, d, n) = databases();
    let gw = start(&[("m", "managed", &m.url), ("d", "disallow", &d.url)]);
    let (mn, dn, nn) = (m.name.as_str(), d.name.as_str(), n.name.as_str());
    gw.block_on(async {
        let mut from_d = gw.connect("d").await;
        let sql = format!("BEGIN NOT ATOMIC DELETE FROM {mn}/**/.p WHERE id = 3; END");
        let (code, _, message) = outcome(&mut from_d, &sql).await;
        assert_eq!(code, 1105, "{sql}: {message}");
        assert!(message.contains("`USE m` and send it there"), "{sql}: {message}");
        let sql = format!("BEGIN NOT ATOMIC RENAME TABLE {nn}.c TO c2; END");
        let (code, _, message) = outcome(&mut from_d, &sql).await;
        assert_eq!(code, 1105, "{sql}: {message}");
        assert!(
            message.contains("a RENAME in a compound statement is refused"),
            "{sql}: {message}"
        );

        let mut from_m = gw.connect("m").await;
        let sql =
            format!("BEGIN NOT ATOMIC CREATE TABLE {dn} . y (id INT, FOREIGN KEY (id) REFERENCES {nn}.p (id)); END");
        let (code, _, message) = outcome(&mut from_m, &sql).await;
        assert_eq!(code, 1215, "{sql}: {message}");
        let sql = format!("BEGIN NOT ATOMIC RENAME TABLE {nn}.c TO {dn}/**/.c2; END");
        let (code, _, message) = outcome(&mut from_m, &sql).await;
        assert_eq!(code, 1105, "{sql}: {message}");
        // Naming no table with FKs: runs.
        from_m
            .query_drop(format!("BEGIN NOT ATOMIC RENAME TABLE {nn}.solo TO {nn}.solo2; END"))
            .await
            .unwrap();

        let mut native = direct(&m).await;
        assert_eq!(fks_touching(&mut native, dn).await, Vec::<Vec<String>>::new());
        assert_eq!(
            rows(&mut native, "SELECT id FROM p ORDER BY id").await,
            [["1"], ["2"], ["3"]]
        );
        assert_eq!(
            rows(&mut native, "SELECT id FROM c ORDER BY id").await,
            [["10"], ["20"], ["30"]]
        );
        assert_eq!(
            rows(&mut native, &format!("SHOW TABLES FROM {nn}")).await,
            [["c"], ["p"], ["solo2"]]
        );
    });
}
