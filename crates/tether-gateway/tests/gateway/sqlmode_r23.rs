//! Twenty-third session writer X: the gateway reads a query's statements as the
//! session's sql_mode has the server read them (review r23h F2), and a COMMIT run
//! through EXECUTE releases the connection as natively (r23h F4).
//!
//! F2: under NO_BACKSLASH_ESCAPES `'\'` is a whole string, so `SELECT '\'; X;
//! SELECT '\'` is three statements to MariaDB; the gateway read one SELECT and
//! never judged X (a DELETE of a managed parent, an FK in a disallow keyspace, a
//! Spider setting in a managed sharded keyspace). Under ANSI_QUOTES `"\"` is a name,
//! the same with double quotes. Each statement after such a string is now refused
//! or planned exactly as it is without the sql_mode; a query that changes the
//! sql_mode for its own later statements is refused when the modes cut it apart.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_testkit::spider::{self, Cluster, Partitioning, ShardedDb};
use tether_testkit::{TestDb, TestEngine};

use crate::closing_r23::{outcome, same_as_natively};
use crate::sharded_managed::code_of;
use crate::support::{caps, direct, err_packet, rows, start_json, start_one, Raw};

/// The spellings that turn NO_BACKSLASH_ESCAPES on for the session.
const NO_BACKSLASH_ESCAPES: [&str; 4] = [
    "SET sql_mode = 'NO_BACKSLASH_ESCAPES'",
    "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES'",
    "SET @@session.sql_mode = 'no_backslash_escapes'",
    "SET @@sql_mode = CONCAT('NO_BACKSLASH', '_ESCAPES')",
];

/// An unmanaged keyspace: the statements after a backslash string run as natively
/// (three results), and a client without multi-statements gets MariaDB's 1064 for
/// the second statement, as natively, not a forwarded multi-statement.
#[test]
fn unmanaged_queries_are_cut_where_the_server_cuts_them() {
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "unmanaged");
    gw.block_on(async {
        for set in NO_BACKSLASH_ESCAPES {
            let mut native = direct(&db).await;
            let mut g = gw.connect("ks").await;
            for conn in [&mut native, &mut g] {
                assert_eq!(outcome(conn, set).await, "ok", "{set}");
                assert_eq!(
                    outcome(conn, "SELECT '\\'; SELECT 2; SELECT '\\'").await,
                    "ok \\ | 2 | \\",
                    "{set}"
                );
                assert_eq!(outcome(conn, "SELECT LENGTH('\\')").await, "ok 1", "{set}");
            }
        }
    });
    let mut raw = Raw::login(gw.addr, caps::BASE, "ks");
    raw.query("SET sql_mode = 'NO_BACKSLASH_ESCAPES'");
    let answer = raw.query("SELECT '\\'; SELECT 2");
    assert_eq!(answer.len(), 1, "one answer");
    let (code, message) = err_packet(&answer[0]);
    assert_eq!(code, 1064, "{message}");
    assert!(message.contains("near 'SELECT 2'"), "{message}");
}

/// The rows of `parent` and `child` (`id:pid`), read directly.
async fn managed_rows(conn: &mut Conn) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    (
        rows(conn, "SELECT id FROM parent ORDER BY id").await,
        rows(conn, "SELECT id, pid FROM child ORDER BY id").await,
    )
}

fn managed_schema(db: &TestDb) {
    db.exec(
        "CREATE TABLE parent (id INT PRIMARY KEY) ENGINE=InnoDB;
         CREATE TABLE child (id INT PRIMARY KEY, pid INT,
             FOREIGN KEY (pid) REFERENCES parent (id) ON DELETE CASCADE) ENGINE=InnoDB;
         CREATE TABLE solo (id INT PRIMARY KEY, s VARCHAR(10)) ENGINE=InnoDB",
    );
}

async fn managed_reset(d: &mut Conn) {
    d.query_drop(
        "DELETE FROM child; DELETE FROM parent; DELETE FROM solo;
         INSERT INTO parent VALUES (1), (2); INSERT INTO child VALUES (10, 1), (20, 2)",
    )
    .await
    .expect("reset");
}

/// A managed keyspace: a DELETE of a parent after a backslash string is refused
/// as the same query without the sql_mode is (the gateway does not plan a write
/// that is not a query's first statement), and nothing is deleted; a
/// `SET foreign_key_checks = 0` there is followed (the DELETE after it runs
/// unplanned, as natively: the orphan natively too); a backslash string in a
/// write with no FK work is the one-character string, as natively (the planner
/// reads it as the server does).
#[test]
fn managed_statements_after_a_backslash_string_are_judged() {
    let db = TestDb::create(TestEngine::Mysql);
    managed_schema(&db);
    let gw = start_one(&db, "managed");
    let before = (
        vec![vec!["1".to_string()], vec!["2".to_string()]],
        vec![
            vec!["10".to_string(), "1".to_string()],
            vec!["20".to_string(), "2".to_string()],
        ],
    );
    gw.block_on(async {
        let mut d = direct(&db).await;
        for set in NO_BACKSLASH_ESCAPES {
            managed_reset(&mut d).await;
            let mut g = gw.connect("ks").await;
            let (without, message) = code_of(&mut g, "SELECT 'x'; DELETE FROM parent WHERE id = 2; SELECT 'x'").await;
            assert_eq!(without, 1105, "{message}");
            assert_eq!(code_of(&mut g, set).await, (0, String::new()));
            let (code, message) = code_of(&mut g, "SELECT '\\'; DELETE FROM parent WHERE id = 2; SELECT '\\'").await;
            assert_eq!(code, without, "{set}: {message}");
            // The first statement, planned: refused under NO_BACKSLASH_ESCAPES
            // with a backslash (the plan's SQL reads backslashes as escapes).
            let (code, message) = code_of(&mut g, "DELETE FROM parent WHERE id = 2 OR '\\' = 'x'").await;
            assert_eq!(code, 1105, "{set}: {message}");
            assert_eq!(managed_rows(&mut d).await, before, "{set}");
        }

        // Checks switched off after a backslash string: followed, as natively.
        let steps = [
            "SET sql_mode = 'NO_BACKSLASH_ESCAPES'",
            "SELECT '\\'; SET foreign_key_checks = 0; SELECT '\\'",
            "DELETE FROM parent WHERE id = 1",
            "INSERT INTO solo VALUES (1, '\\')",
            "SELECT id, LENGTH(s), s FROM solo",
        ];
        let expected = ["ok", "ok \\ |  | \\", "ok", "ok", "ok 1,1,\\"];
        let orphan = (
            vec![vec!["2".to_string()]],
            vec![
                vec!["10".to_string(), "1".to_string()],
                vec!["20".to_string(), "2".to_string()],
            ],
        );
        managed_reset(&mut d).await;
        let mut native = direct(&db).await;
        for (sql, want) in steps.iter().zip(expected) {
            assert_eq!(outcome(&mut native, sql).await, want, "natively: {sql}");
        }
        assert_eq!(managed_rows(&mut d).await, orphan, "natively");
        managed_reset(&mut d).await;
        let mut g = gw.connect("ks").await;
        for (sql, want) in steps.iter().zip(expected) {
            assert_eq!(outcome(&mut g, sql).await, want, "gateway: {sql}");
        }
        assert_eq!(managed_rows(&mut d).await, orphan, "gateway");

        // A write with no FK work: the backslash string as natively.
        managed_reset(&mut d).await;
        let mut g = gw.connect("ks").await;
        assert_eq!(outcome(&mut g, "SET sql_mode = 'NO_BACKSLASH_ESCAPES'").await, "ok");
        assert_eq!(outcome(&mut g, "INSERT INTO solo VALUES (2, 'a\\')").await, "ok");
        assert_eq!(rows(&mut d, "SELECT s FROM solo").await, [["a\\"]]);
        // Prepared, the same.
        let s = g.prep("INSERT INTO solo VALUES (?, '\\')").await.expect("prepared");
        g.exec_drop(&s, (3,)).await.expect("executed");
        assert_eq!(
            rows(&mut d, "SELECT COUNT(*) FROM solo WHERE s = '\\\\'").await,
            [["1"]]
        );
    });
}

fn foreign_keys(conn_db: &TestDb) -> String {
    crate::support::block_on_direct(
        conn_db,
        &format!(
            "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = '{}'",
            conn_db.name
        ),
    )
}

/// A disallow keyspace: an FK-creating ALTER after a backslash string (NO_BACKSLASH_ESCAPES)
/// or after a name `"\"` (ANSI_QUOTES) is refused as the plain ALTER is; a query
/// that switches NO_BACKSLASH_ESCAPES on for its own later statements is refused
/// (1105: the gateway would have to guess where they end). No FK is created.
#[test]
fn disallow_refuses_an_fk_after_a_backslash_string() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(
        "CREATE TABLE a (id INT PRIMARY KEY) ENGINE=InnoDB;
         CREATE TABLE b (id INT PRIMARY KEY, aid INT, KEY (aid)) ENGINE=InnoDB",
    );
    let gw = start_one(&db, "disallow");
    let fk = |n: u8| format!("ALTER TABLE b ADD CONSTRAINT fk{n} FOREIGN KEY (aid) REFERENCES a (id)");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let (plain, message) = code_of(&mut g, &fk(1)).await;
        assert_eq!(plain, 1215, "{message}");
        for set in NO_BACKSLASH_ESCAPES {
            let mut g = gw.connect("ks").await;
            assert_eq!(code_of(&mut g, set).await, (0, String::new()));
            let (code, message) = code_of(&mut g, &format!("SELECT '\\'; {}; SELECT '\\'", fk(2))).await;
            assert_eq!(code, plain, "{set}: {message}");
        }
        let mut g = gw.connect("ks").await;
        assert_eq!(
            code_of(&mut g, "SET sql_mode = 'ANSI_QUOTES'").await,
            (0, String::new())
        );
        let (code, message) = code_of(&mut g, &format!("SELECT 1 AS \"\\\"; {}; SELECT 1 AS \"\\\"", fk(3))).await;
        // Since r24e (writer A2): a `"` name holding a backslash under ANSI_QUOTES
        // refuses the whole query (1105) before any check reads it.
        assert_eq!(code, 1105, "ANSI_QUOTES: {message}");
        assert!(message.contains("under ANSI_QUOTES"), "{message}");
        let mut g = gw.connect("ks").await;
        for sql in [
            format!(
                "SET sql_mode = 'NO_BACKSLASH_ESCAPES'; SELECT '\\'; {}; SELECT '\\'",
                fk(4)
            ),
            format!(
                "SET sql_mode = 'ANSI_QUOTES'; SELECT 1 AS \"\\\"; {}; SELECT 1 AS \"\\\"",
                fk(5)
            ),
        ] {
            let (code, message) = code_of(&mut g, &sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
            assert!(message.contains("may change the sql_mode"), "{message}");
        }
    });
    assert_eq!(foreign_keys(&db), "0");
}

/// F4: under `completion_type = RELEASE` a COMMIT run by `EXECUTE s` (prepared from
/// 'COMMIT'), by `EXECUTE IMMEDIATE @c`, or a binary prepared COMMIT, releases the
/// connection: the OK, then the client's connection is gone, as natively (was
/// 1105 and a new backend session).
#[test]
fn a_commit_through_execute_releases_the_connection() {
    same_as_natively(&[
        (
            &[
                "SET @a = 1",
                "SET completion_type = 2",
                "PREPARE s FROM 'COMMIT'",
                "BEGIN",
                "EXECUTE s",
                "SELECT @a",
            ],
            &["ok", "ok", "ok", "ok", "ok", "lost"],
        ),
        (
            &[
                "SET @a = 1",
                "SET @c = 'COMM' 'IT'",
                "SET completion_type = 2",
                "BEGIN",
                "EXECUTE IMMEDIATE @c",
                "SELECT @a",
            ],
            &["ok", "ok", "ok", "ok", "ok", "lost"],
        ),
        (
            &["SET completion_type = 2", "EXECUTE IMMEDIATE 'ROLLBACK'", "SELECT 1"],
            &["ok", "ok", "lost"],
        ),
    ]);
    let db = TestDb::create(TestEngine::Mysql);
    for mode in ["unmanaged", "managed"] {
        let gw = start_one(&db, mode);
        gw.block_on(async {
            let mut native = direct(&db).await;
            let mut g = gw.connect("ks").await;
            for (who, conn) in [("natively", &mut native), (mode, &mut g)] {
                assert_eq!(outcome(conn, "SET completion_type = 2").await, "ok", "{who}");
                let s = conn.prep("COMMIT").await.expect("prepared");
                conn.exec_drop(&s, ()).await.expect("committed");
                assert_eq!(outcome(conn, "SELECT 1").await, "lost", "{who}");
            }
        });
    }
}

fn sharded_schema(db: &ShardedDb) {
    for (name, columns) in [
        ("p", "id INT PRIMARY KEY, v INT"),
        ("c", "id INT PRIMARY KEY, p_id INT, KEY (p_id)"),
    ] {
        db.sharded_table(name, columns, columns, &Partitioning::Hash("id".into()), &spider::NODES);
    }
    db.exec_head("INSERT INTO p VALUES (2, 0), (4, 0); INSERT INTO c VALUES (12, 2), (13, 2)");
}

/// (p ids on node1, c ids on node1, c ids on node2), read on the nodes directly.
fn on_the_nodes(db: &ShardedDb) -> (String, String, String) {
    let ids = |node: &str, table: &str| {
        db.query_node(node, &format!("SELECT id FROM {table} ORDER BY id"))
            .into_iter()
            .map(|r| r[0].clone().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" ")
    };
    (ids("node1", "p"), ids("node1", "c"), ids("node2", "c"))
}

/// A managed sharded keyspace: after a backslash string, `SET spider_internal_xa =
/// 0`, a DELETE of a parent and LOCK TABLES are refused (1105) as they are without
/// the sql_mode; `@@spider_internal_xa` stays 1 and no row leaves any node.
#[test]
fn the_sharded_guard_sees_statements_after_a_backslash_string() {
    let c = Cluster::start("r23_nbe");
    let db = c.create_db();
    sharded_schema(&db);
    let fk = ("c_p_fk", "c", "p_id", "p", "CASCADE", "CASCADE");
    let gw = start_json(&spider::managed_keyspace("ks", &db.head_url(), &[fk]), "");
    gw.block_on(async {
        let mut k = gw.connect("ks").await;
        let stmts = [
            "SET spider_internal_xa = 0",
            "DELETE FROM p WHERE id = 2",
            "LOCK TABLES p READ",
        ];
        let mut without = Vec::new();
        for x in stmts {
            let (code, message) = code_of(&mut k, &format!("SELECT 'x'; {x}; SELECT 'x'")).await;
            assert_eq!(code, 1105, "{x}: {message}");
            without.push(code);
        }
        assert_eq!(
            code_of(&mut k, "SET sql_mode = 'NO_BACKSLASH_ESCAPES'").await,
            (0, String::new())
        );
        for (x, want) in stmts.iter().zip(without) {
            let (code, message) = code_of(&mut k, &format!("SELECT '\\'; {x}; SELECT '\\'")).await;
            assert_eq!(code, want, "{x}: {message}");
        }
        assert_eq!(
            crate::support::rows(&mut k, "SELECT @@spider_internal_xa").await,
            [["1"]]
        );
    });
    assert_eq!(on_the_nodes(&db), ("2 4".into(), "12".into(), "13".into()));
}
