//! Twenty-third session writer K: a client's connection ends when MariaDB would end
//! it. The server ends a session with an error after which it hangs up (1927 after
//! `KILL CONNECTION_ID()` in a multi-statement or through EXECUTE IMMEDIATE, 1153),
//! or by hanging up after a COMMIT or ROLLBACK that releases the connection
//! (`RELEASE`, `completion_type = RELEASE`). Before, the gateway dropped only its
//! backend connection and the client's next statement ran on a new backend session
//! (user variables, temporary tables and locks gone, unseen). Each case runs
//! natively and through the gateway (unmanaged and managed): the same answers, and
//! the connection lost afterwards in both. Also review r22p F2 (`KILL QUERY` of the
//! client's own id before any statement answered OK, MariaDB 1317) and F3 (KILL
//! targets that are expressions refused with 1105, MariaDB evaluates them).

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_testkit::{TestDb, TestEngine};

use crate::support::{caps, direct, err_packet, rows, start_one, text, Raw};

/// What `sql` gets on `conn`: `ok` and each result set's rows (`a,b;c,d`, sets
/// apart by ` | `), `err N` for a server error, `lost` when the connection ends
/// (the client library's own error, 2013 / 2006).
pub(crate) async fn outcome(conn: &mut Conn, sql: &str) -> String {
    let result = async {
        let mut sets = Vec::new();
        let mut answer = conn.query_iter(sql).await?;
        while !answer.is_empty() {
            let got: Vec<mysql_async::Row> = answer.collect().await?;
            let set: Vec<String> = got
                .into_iter()
                .map(|row| row.unwrap().into_iter().map(text).collect::<Vec<_>>().join(","))
                .collect();
            sets.push(set.join(";"));
        }
        Ok::<_, mysql_async::Error>(sets.join(" | "))
    };
    match result.await {
        Ok(sets) => format!("ok {sets}").trim_end().to_string(),
        Err(mysql_async::Error::Server(e)) => format!("err {}", e.code),
        Err(_) => "lost".to_string(),
    }
}

/// Runs `steps` one by one on `conn` (up to the first `lost`).
pub(crate) async fn outcomes(conn: &mut Conn, steps: &[&str]) -> Vec<String> {
    let mut got = Vec::new();
    for sql in steps {
        let o = outcome(conn, sql).await;
        let lost = o == "lost";
        got.push(o);
        if lost {
            break;
        }
    }
    got
}

/// Each case's steps on a new connection, natively and through an unmanaged and a
/// managed gateway: exactly `expected` in all three.
pub(crate) fn same_as_natively(cases: &[(&[&str], &[&str])]) {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec("CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB");
    for mode in ["unmanaged", "managed"] {
        let gw = start_one(&db, mode);
        gw.block_on(async {
            for (steps, expected) in cases {
                let mut native = direct(&db).await;
                assert_eq!(outcomes(&mut native, steps).await, *expected, "{steps:?}: natively");
                let mut g = gw.connect("ks").await;
                assert_eq!(outcomes(&mut g, steps).await, *expected, "{steps:?}: {mode} gateway");
            }
            // Nothing of the ended sessions' transactions was committed.
            let mut d = direct(&db).await;
            assert_eq!(rows(&mut d, "SELECT COUNT(*) FROM t").await, [["0"]]);
        });
    }
}

/// COMMIT / ROLLBACK that release the connection, in every spelling: the OK, then
/// the connection is gone (the user variable with it; no new session behind).
#[test]
fn commit_or_rollback_release_ends_the_clients_connection() {
    same_as_natively(&[
        (&["SET @a = 1", "COMMIT RELEASE", "SELECT @a"], &["ok", "ok", "lost"]),
        (
            &[
                "SET @a = 1",
                "BEGIN",
                "INSERT INTO t VALUES (1)",
                "ROLLBACK AND NO CHAIN RELEASE",
                "SELECT @a",
            ],
            &["ok", "ok", "ok", "ok", "lost"],
        ),
        (
            &["SET completion_type = 2", "BEGIN", "COMMIT", "SELECT 1"],
            &["ok", "ok", "ok", "lost"],
        ),
        (
            &["SET completion_type = 'RELEASE'", "COMMIT AND CHAIN", "SELECT 1"],
            &["ok", "ok", "lost"],
        ),
        (
            &["SET @@completion_type = 'RELEASE'", "rollback work", "SELECT 1"],
            &["ok", "ok", "lost"],
        ),
        (
            &["SET STATEMENT completion_type = 2 FOR COMMIT", "SELECT 1"],
            &["ok", "lost"],
        ),
        // The hang-up in the middle of a multi-statement's answer: lost there.
        (&["SET @a = 1", "COMMIT RELEASE; SELECT 1"], &["ok", "lost"]),
        // Released by the completion type inside a transaction: rolled back.
        (
            &[
                "SET completion_type = 2",
                "BEGIN",
                "INSERT INTO t VALUES (2)",
                "ROLLBACK",
                "SELECT 1",
            ],
            &["ok", "ok", "ok", "ok", "lost"],
        ),
    ]);
}

/// What does not release keeps the session: COMMIT and ROLLBACK without RELEASE,
/// `NO RELEASE` under `completion_type = RELEASE`, the words in strings.
#[test]
fn commit_and_rollback_that_do_not_release_keep_the_session() {
    same_as_natively(&[
        (
            &[
                "SET @a = 1",
                "BEGIN",
                "COMMIT",
                "ROLLBACK",
                "COMMIT AND CHAIN",
                "ROLLBACK AND NO CHAIN",
                "SELECT 'commit release', 'rollback'",
                "SET completion_type = 2",
                "COMMIT NO RELEASE",
                "ROLLBACK AND NO CHAIN NO RELEASE",
                "SELECT @a",
            ],
            &[
                "ok",
                "ok",
                "ok",
                "ok",
                "ok",
                "ok",
                "ok commit release,rollback",
                "ok",
                "ok",
                "ok",
                "ok 1",
            ],
        ),
        (
            &["SET @a = 2", "SET completion_type = 1", "COMMIT", "SELECT @a"],
            &["ok", "ok", "ok", "ok 2"],
        ),
    ]);
}

/// The client's own connection killed in any form the backend runs, or the
/// gateway reads: MariaDB's 1927, then the connection is gone. A transaction open
/// then is rolled back (the table stays empty: `same_as_natively`).
#[test]
fn killing_its_own_connection_in_any_form_ends_the_clients_connection() {
    same_as_natively(&[
        // (mysql_async reads the error of a later statement of a query with the next
        // query: natively and through the gateway alike.)
        (
            &["SET @a = 1", "SELECT 1; KILL CONNECTION_ID()", "SELECT @a", "SELECT @a"],
            &["ok", "ok 1", "err 1927", "lost"],
        ),
        (
            &["SET @a = 1", "KILL CONNECTION_ID(); SELECT 2", "SELECT @a"],
            &["ok", "err 1927", "lost"],
        ),
        (&["KILL CONNECTION_ID()+0", "SELECT 3"], &["err 1927", "lost"]),
        (&["KILL ABS(CONNECTION_ID())", "SELECT 3"], &["err 1927", "lost"]),
        (
            &["EXECUTE IMMEDIATE 'KILL CONNECTION_ID()'", "SELECT 3"],
            &["err 1927", "lost"],
        ),
        (
            &[
                "BEGIN",
                "INSERT INTO t VALUES (3)",
                "SELECT 1; KILL CONNECTION_ID()",
                "SELECT 3",
                "SELECT 3",
            ],
            &["ok", "ok", "ok 1", "err 1927", "lost"],
        ),
        (
            &[
                "SET autocommit = 0",
                "INSERT INTO t VALUES (4)",
                "KILL CONNECTION_ID(); COMMIT",
                "COMMIT",
            ],
            &["ok", "ok", "err 1927", "lost"],
        ),
        // KILL QUERY of itself interrupts the KILL (1317): nothing after it runs,
        // the session goes on.
        (
            &["SET @a = 5", "KILL QUERY CONNECTION_ID(); SET @a = 6", "SELECT @a"],
            &["ok", "err 1317", "ok 5"],
        ),
    ]);
}

/// A prepared `KILL CONNECTION_ID()`: 1927 from the execute, then the connection is
/// gone, natively and through the gateway.
#[test]
fn a_prepared_kill_of_itself_ends_the_clients_connection() {
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "unmanaged");
    gw.block_on(async {
        let mut native = direct(&db).await;
        let mut g = gw.connect("ks").await;
        for (conn, side) in [(&mut native, "natively"), (&mut g, "gateway")] {
            let stmt = conn.prep("KILL CONNECTION_ID()").await.expect("prepare");
            let r = conn.exec_drop(&stmt, ()).await;
            let code = match r {
                Err(mysql_async::Error::Server(e)) => Some(e.code),
                _ => None,
            };
            assert_eq!(code, Some(1927), "{side}");
            assert_eq!(outcome(conn, "SELECT 1").await, "lost", "{side}");
        }
    });
}

/// An error after which the backend hangs up (1153: a statement over its
/// `max_allowed_packet`, under the gateway's): the client gets it, then its
/// connection ends, as a direct client's does.
#[test]
fn an_error_after_which_the_backend_hangs_up_ends_the_clients_connection() {
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "unmanaged");
    let limit = crate::support::block_on_direct(&db, "SELECT @@max_allowed_packet");
    let limit: usize = limit.parse().expect("a number");
    if limit > 48 << 20 {
        eprintln!("skipped: the backend's max_allowed_packet is {limit}");
        return;
    }
    let mut raw = Raw::login(gw.addr, caps::BASE, "ks");
    raw.query("SET @a = 1");
    let sql = format!("SELECT LENGTH('{}')", "x".repeat(limit + (1 << 20)));
    // The gateway reads a text of this size word by word (charset, sql_mode and
    // transaction words): seconds in a debug build on a loaded machine, more than
    // the harness's 30 s read timeout once. The test is about the answer, not speed.
    raw.s
        .set_read_timeout(Some(std::time::Duration::from_secs(180)))
        .expect("timeout");
    raw.command(0x03, sql.as_bytes());
    let (_, p) = raw.read();
    assert_eq!(err_packet(&p).0, 1153, "{:?}", String::from_utf8_lossy(&p));
    // The gateway closed the client's connection: the next read sees its end.
    raw.command(0x03, b"SELECT @a");
    let mut byte = [0u8; 1];
    let n = std::io::Read::read(&mut raw.s, &mut byte);
    assert!(matches!(n, Ok(0) | Err(_)), "the connection is closed: {n:?}");
}

/// Review r22p F2: `KILL QUERY` of the client's own connection as its very first
/// statement (no backend connection yet) is 1317, as MariaDB's, and the session
/// goes on.
#[test]
fn kill_query_of_itself_first_is_1317() {
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "unmanaged");
    let mut raw = Raw::login(gw.addr, caps::BASE, "ks");
    let answer = raw.query("KILL QUERY CONNECTION_ID()");
    assert_eq!(err_packet(&answer[0]).0, 1317);
    let answer = raw.query("SELECT 41 + 1");
    assert_eq!(answer[2], b"\x0242");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let id = g.id();
        assert_eq!(outcome(&mut g, &format!("KILL QUERY {id}")).await, "err 1317");
        assert_eq!(outcome(&mut g, "SELECT 1").await, "ok 1");
    });
}

/// Review r22p F3: a KILL target that is an expression is evaluated as MariaDB
/// evaluates it (NULL and 'abc' are thread 0, -1 wraps), and its errors are the
/// expression's: the same codes and 1094 messages natively and through the gateway
/// (no such thread on either side). A KILL that fails ends the query there.
#[test]
fn kill_targets_that_are_expressions_are_evaluated_as_natively() {
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "unmanaged");
    let none = 3_999_999_999u64;
    let cases = [
        ("KILL @x".to_string(), "1094 Unknown thread id: 0"),
        ("KILL 'abc'".to_string(), "1094 Unknown thread id: 0"),
        ("KILL NULL".to_string(), "1094 Unknown thread id: 0"),
        ("KILL -1".to_string(), "1094 Unknown thread id: 18446744073709551615"),
        (format!("KILL {none}; SELECT 1"), "1094 Unknown thread id: 3999999999"),
        (
            format!("KILL QUERY ({none}); SELECT 1"),
            "1094 Unknown thread id: 3999999999",
        ),
        (format!("KILL {none} + 0"), "1094 Unknown thread id: 3999999999"),
        ("KILL ()".to_string(), "1064"),
        ("KILL 5 6".to_string(), "1064"),
        ("KILL CONNECTION_ID(1)".to_string(), "1582"),
        ("KILL (1, 2)".to_string(), "1241"),
    ];
    gw.block_on(async {
        let mut native = direct(&db).await;
        let mut g = gw.connect("ks").await;
        for (sql, expected) in &cases {
            for (conn, side) in [(&mut native, "natively"), (&mut g, "gateway")] {
                let got = match conn.query_drop(sql.as_str()).await {
                    Err(mysql_async::Error::Server(e)) if e.code == 1094 => format!("1094 {}", e.message),
                    Err(mysql_async::Error::Server(e)) => e.code.to_string(),
                    other => format!("{other:?}"),
                };
                assert_eq!(&got, expected, "{sql}: {side}");
            }
        }
        // A KILL of another client that succeeds runs the statements after it.
        let mut other_native = direct(&db).await;
        let other_gateway = gw.connect("ks").await;
        let native_id: u64 = rows(&mut other_native, "SELECT CONNECTION_ID()").await[0][0]
            .parse()
            .expect("id");
        let sql = format!("KILL QUERY {native_id}; SELECT 2");
        assert_eq!(outcome(&mut native, &sql).await, "ok  | 2", "natively");
        let sql = format!("KILL QUERY {}; SELECT 2", other_gateway.id());
        assert_eq!(outcome(&mut g, &sql).await, "ok  | 2", "gateway");
    });
}

/// Review r23k F1: a KILL target is the client's text, evaluated on its backend
/// session; text that closes the evaluation's CAST and goes on with statements of
/// its own (hidden from the gateway's split behind a quoted `#`, or in an executable
/// comment) runs nothing: in a managed keyspace a DELETE with checks off would have
/// left an orphan, in a disallow keyspace a CREATE TABLE with an FK would have been
/// made. The client gets what MariaDB answers the same text with; the rows and
/// tables are as before, natively and through the gateway.
#[test]
fn a_kill_target_carries_no_statement_of_its_own() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec("CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB");
    db.exec(
        "CREATE TABLE c (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE) \
         ENGINE=InnoDB",
    );
    db.exec("INSERT INTO p VALUES (1), (2)");
    db.exec("INSERT INTO c VALUES (10, 1), (20, 2)");
    db.exec("CREATE FUNCTION writes() RETURNS INT MODIFIES SQL DATA BEGIN INSERT INTO p VALUES (99); RETURN 1; END");
    let quoted = |inner: &str| format!("KILL '#'\n') AS SIGNED); {inner}; SELECT CAST((0 #'");
    let executable = |inner: &str| format!("KILL /*!1) AS SIGNED); {inner}; SELECT CAST((1 */");
    let unchecked = "SET foreign_key_checks = 0; DELETE FROM p WHERE id = 1; SET foreign_key_checks = 1";
    let fk_table = "CREATE TABLE dc (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id))";
    let cases = [
        ("managed", quoted(unchecked), "1094 Unknown thread id: 0"),
        ("managed", executable(unchecked), "1064"),
        ("managed", executable("DELETE FROM p WHERE id = 1"), "1064"),
        ("disallow", quoted(fk_table), "1094 Unknown thread id: 0"),
        ("disallow", executable(fk_table), "1064"),
        ("unmanaged", executable("INSERT INTO p VALUES (99)"), "1064"),
        // Review r23h F3: what MariaDB's KILL refuses, the gateway refuses too.
        ("managed", "KILL (SELECT MAX(id) FROM p)".to_string(), "1970"),
        ("managed", "KILL writes()".to_string(), "1970"),
        ("unmanaged", "KILL 1 + (SELECT writes())".to_string(), "1970"),
    ];
    let answer = |got: Result<(), mysql_async::Error>| match got {
        Err(mysql_async::Error::Server(e)) if e.code == 1094 => format!("1094 {}", e.message),
        Err(mysql_async::Error::Server(e)) => e.code.to_string(),
        other => format!("{other:?}"),
    };
    for (mode, sql, expected) in &cases {
        let gw = start_one(&db, mode);
        gw.block_on(async {
            let mut native = direct(&db).await;
            assert_eq!(
                answer(native.query_drop(sql.as_str()).await),
                *expected,
                "natively: {sql}"
            );
            let mut g = gw.connect("ks").await;
            assert_eq!(
                answer(g.query_drop(sql.as_str()).await),
                *expected,
                "{mode} gateway: {sql}"
            );
            let mut d = direct(&db).await;
            assert_eq!(
                rows(&mut d, "SELECT id FROM p ORDER BY id").await,
                [["1"], ["2"]],
                "{mode}"
            );
            assert_eq!(
                rows(&mut d, "SELECT id, pid FROM c ORDER BY id").await,
                [["10", "1"], ["20", "2"]],
                "{mode}"
            );
            let tables = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()";
            assert_eq!(rows(&mut d, tables).await, [["2"]], "{mode}");
        });
    }
    // A target that closes the evaluation's CAST and adds clauses of its own is not
    // read by the gateway: MariaDB's KILL finds a syntax error; the gateway prepares it
    // for one, finds none (it is one statement) and refuses it unrun: no file written.
    let file = tether_testkit::ScratchDir::new("kill_outfile").join("out.txt");
    let sql = format!(
        "KILL 1) AS SIGNED) INTO OUTFILE '{}' FROM DUAL WHERE 1 = CAST((1",
        file.display()
    );
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let mut native = direct(&db).await;
        assert_eq!(answer(native.query_drop(sql.as_str()).await), "1064", "natively");
        let mut g = gw.connect("ks").await;
        assert_eq!(answer(g.query_drop(sql.as_str()).await), "1105", "gateway");
    });
    assert!(!file.exists(), "{} was written", file.display());
}
