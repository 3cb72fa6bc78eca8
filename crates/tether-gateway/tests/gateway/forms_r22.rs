//! Twenty-first session writer 2: statement forms MariaDB takes that the gateway
//! refused or answered otherwise, each run natively and through the gateway.

use tether_testkit::{TestDb, TestEngine};

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use crate::kill_r20::next_statement;
use crate::limits::prepare;
use crate::prepared_r20::{execute, reset};
use crate::protocol_r13::native_raw;
use crate::support::{caps, direct, server_error, start_one, Raw};
use crate::values_r14::{same_values_as_native, table, Step};

const FAMILY: &str = "
CREATE TABLE p (k INT NOT NULL PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, k INT,
  FOREIGN KEY (k) REFERENCES p (k) ON UPDATE CASCADE ON DELETE CASCADE) ENGINE=InnoDB;
INSERT INTO p VALUES (1, 0), (2, 0);
INSERT INTO c VALUES (10, 1), (20, 2);
CREATE VIEW pv AS SELECT k, v FROM p;
";

const FAMILY_ROWS: [&str; 2] = ["SELECT k, v FROM p ORDER BY k", "SELECT id, k FROM c ORDER BY id"];

/// INSERT ... SELECT of literals with no FROM (or FROM DUAL) is planned as its
/// VALUES form: the child's parent is checked (1452), the upsert's key change
/// cascades to the children.
#[test]
fn insert_select_without_a_table_is_planned_as_values() {
    let (codes, found) = same_values_as_native(
        FAMILY,
        &[
            Step::Text("INSERT INTO c SELECT 30, 2"),
            Step::Text("INSERT INTO c SELECT 40, 9"),
            Step::Text("INSERT INTO c (id, k) SELECT 50, 1 FROM DUAL"),
            Step::Text("INSERT INTO c (id, k) SELECT 60, 9 FROM DUAL"),
            Step::Text("INSERT INTO p SELECT 1, 5 ON DUPLICATE KEY UPDATE k = 7"),
            Step::Text("INSERT INTO p (k, v) SELECT 2, 5 FROM DUAL ON DUPLICATE KEY UPDATE k = 8, v = 1"),
            Step::Text("INSERT INTO c SELECT 10, 9 ON DUPLICATE KEY UPDATE k = 9"),
            Step::Text("INSERT INTO c SELECT 10, 9 FROM DUAL ON DUPLICATE KEY UPDATE k = VALUES(k) - 1"),
            Step::Text("INSERT INTO c SELECT 20, 9 WHERE 1 = 1 ON DUPLICATE KEY UPDATE k = 9"),
            Step::Text("INSERT INTO c SELECT 70, 7 UNION ALL SELECT 20, 9 ON DUPLICATE KEY UPDATE k = 7"),
            Step::Text(
                "INSERT INTO p SELECT 7, 0 UNION SELECT 3, 3 ORDER BY 1 ON DUPLICATE KEY UPDATE k = VALUES(k) + 2",
            ),
        ],
        &FAMILY_ROWS,
    );
    assert_eq!(codes, [0, 1452, 0, 1452, 0, 0, 1452, 0, 1452, 0, 0]);
    assert_eq!(found[0], table(&[&["3", "3"], &["8", "1"], &["9", "0"]]));
    assert_eq!(
        found[1],
        table(&[&["10", "8"], &["20", "9"], &["30", "8"], &["50", "9"], &["70", "9"]])
    );
}

/// A multi-table DELETE or UPDATE that only reads a view writes its other tables:
/// planned with the view as a read; a view that is a target stays refused.
#[test]
fn a_multi_table_write_reading_a_view_is_planned() {
    let (codes, found) = same_values_as_native(
        FAMILY,
        &[
            Step::Text("DELETE c FROM c JOIN pv ON pv.k = c.k WHERE pv.k = 1"),
            Step::Text("UPDATE p JOIN pv ON pv.k = p.k SET p.k = 5 WHERE pv.k = 2"),
            Step::Text("DELETE FROM x USING c AS x JOIN pv AS w ON w.k = x.k WHERE w.k = 9"),
            Step::Text("UPDATE pv AS w JOIN p AS q ON q.k = w.k SET q.v = 3, q.k = 6 WHERE w.k = 5"),
            Step::Text("INSERT INTO c VALUES (30, 1)"),
            Step::Text("DELETE c FROM pv, c WHERE pv.k = c.k AND pv.k = 1"),
        ],
        &FAMILY_ROWS,
    );
    assert_eq!(codes, [0, 0, 0, 0, 0, 0]);
    assert_eq!(found[0], table(&[&["1", "0"], &["6", "3"]]));
    assert_eq!(found[1], table(&[&["20", "6"]]));
}

/// A view that is a target of a multi-table write stays refused: the planner
/// does not see InnoDB's cascades through it. So does an UPDATE whose SET column
/// names no table (it could be the view's).
#[test]
fn a_view_written_by_a_multi_table_write_stays_refused() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(FAMILY);
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        for sql in [
            "DELETE pv FROM pv JOIN c ON c.k = pv.k WHERE c.id = 10",
            "DELETE FROM w USING pv AS w JOIN c ON c.k = w.k",
            "UPDATE c JOIN pv ON pv.k = c.k SET pv.v = 1",
            "UPDATE c JOIN pv ON pv.k = c.k SET c.id = 11, v = 1",
            "UPDATE c, pv SET pv.v = 1 WHERE pv.k = c.k",
        ] {
            let (code, _, message) = server_error(g.query_drop(sql).await.expect_err(sql));
            assert_eq!(code, 1105, "{sql}: {message}");
            assert!(
                message.contains("a write through the view `pv` is refused"),
                "{sql}: {message}"
            );
        }
        let mut d = direct(&db).await;
        assert_eq!(
            crate::support::rows(&mut d, FAMILY_ROWS[1]).await,
            table(&[&["10", "1"], &["20", "2"]])
        );
    });
}

/// `KILL <form of CONNECTION_ID()>` on `conn`, then its next statement.
async fn kill_itself(conn: &mut Conn, sql: &str) -> (Result<(), u16>, Result<(), Option<u16>>) {
    let r = conn.query_drop(sql).await.map_err(|e| server_error(e).0);
    (r, next_statement(conn).await)
}

/// `KILL [CONNECTION] CONNECTION_ID()` kills the client's own connection (1927,
/// then the connection is lost), `KILL QUERY CONNECTION_ID()` its own KILL (1317,
/// the session goes on): natively and through the gateway, in any spelling.
#[test]
fn kill_of_connection_id_is_the_clients_own_connection() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(FAMILY);
    for mode in ["unmanaged", "managed"] {
        let gw = start_one(&db, mode);
        gw.block_on(async {
            for (sql, expected) in [
                ("KILL CONNECTION_ID()", (Err(1927), Err(None))),
                ("KILL CONNECTION CONNECTION_ID();", (Err(1927), Err(None))),
                ("KILL HARD CONNECTION (connection_id ( ))", (Err(1927), Err(None))),
                ("KILL QUERY CONNECTION_ID()", (Err(1317), Ok(()))),
                ("KILL SOFT QUERY Connection_Id()", (Err(1317), Ok(()))),
            ] {
                let mut native = direct(&db).await;
                assert_eq!(kill_itself(&mut native, sql).await, expected, "{sql}: natively");
                let mut g = gw.connect("ks").await;
                assert_eq!(kill_itself(&mut g, sql).await, expected, "{sql}: {mode} gateway");
            }
            // Another client is untouched.
            let mut other = gw.connect("ks").await;
            assert_eq!(next_statement(&mut other).await, Ok(()));
        });
    }
}

/// The first column of the one row `sql` returns on `raw`, as text.
fn first_value(raw: &mut Raw, sql: &str) -> String {
    let answer = raw.query(sql);
    // Column count, definition, row, end.
    let row = &answer[2];
    String::from_utf8_lossy(&row[1..1 + usize::from(row[0])]).into_owned()
}

/// COM_STMT_RESET ends with an OK as a statement does: what `SELECT ROW_COUNT()`
/// gives next is the OK's, as natively, not the executed statement's.
fn row_count_steps(raw: &mut Raw) -> Vec<String> {
    let update = prepare(raw, "UPDATE p SET v = v + 1");
    let mut steps = vec![execute(raw, update, &[], &[])];
    steps.push(first_value(raw, "SELECT ROW_COUNT()"));
    steps.push(execute(raw, update, &[], &[]));
    steps.push(reset(raw, update));
    steps.push(first_value(raw, "SELECT ROW_COUNT()"));
    steps.push(execute(raw, update, &[], &[]));
    steps.push(reset(raw, 999));
    steps.push(first_value(raw, "SELECT ROW_COUNT()"));
    // A reset with nothing to reset (no long data) is an OK all the same.
    steps.push(reset(raw, update));
    steps.push(first_value(raw, "SELECT ROW_COUNT()"));
    // The failed reset's error is the session's last diagnostics.
    steps.push(reset(raw, 998));
    steps.push(first_value(raw, "SELECT @@error_count"));
    steps
}

#[test]
fn row_count_after_com_stmt_reset_is_as_natively() {
    let native = TestDb::create(TestEngine::Mysql);
    let db = TestDb::create(TestEngine::Mysql);
    native.exec(FAMILY);
    db.exec(FAMILY);
    let unknown = |id: u32| format!("err 1243 Unknown prepared statement handler ({id}) given to mysqld_stmt_reset");
    let got = row_count_steps(&mut native_raw(&native));
    let want = [
        "ok 2",
        "2",
        "ok 2",
        "ok 0",
        "0",
        "ok 2",
        &unknown(999),
        "-1",
        "ok 0",
        "0",
        &unknown(998),
        "1",
    ];
    assert_eq!(got, want, "native");
    for mode in ["managed", "unmanaged"] {
        let gw = start_one(&db, mode);
        assert_eq!(
            row_count_steps(&mut Raw::login(gw.addr, caps::BASE, "ks")),
            got,
            "{mode}"
        );
    }
}
