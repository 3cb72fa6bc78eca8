//! Prepared statements forwarded as the client sent them (COM_STMT_EXECUTE with
//! the statement id rewritten, issue 18): parameter types bound once and then left
//! out, re-bound with new types, NULLs, long data in between (decoded, after which
//! the backend no longer holds the client's types), a reconnected backend, cursor
//! flags; and in a managed keyspace, a prepared write classified once and again
//! when the schema changes.

use mysql_async::prelude::Queryable;
use tether_testkit::{TestDb, TestEngine};

use crate::limits::prepare;
use crate::support::{caps, direct, err_packet, ok_status, rows, start_one, Raw};

const TYPE_TINY: u8 = 1;
const TYPE_DOUBLE: u8 = 5;
const TYPE_LONGLONG: u8 = 8;
const TYPE_VAR_STRING: u8 = 253;
const UNSIGNED: u8 = 0x80;
/// SERVER_STATUS_CURSOR_EXISTS.
const CURSOR_EXISTS: u16 = 0x40;

/// COM_STMT_EXECUTE of statement `id` with cursor `flags`: NULL bitmap, then
/// `types` (flag 1 and the types, or flag 0 when empty), then the values.
fn execute(raw: &mut Raw, id: u32, flags: u8, bitmap: u8, types: &[(u8, u8)], values: &[u8]) -> Vec<Vec<u8>> {
    let mut body = id.to_le_bytes().to_vec();
    body.push(flags);
    body.extend_from_slice(&1u32.to_le_bytes());
    body.push(bitmap);
    body.push(u8::from(!types.is_empty()));
    for (t, f) in types {
        body.extend_from_slice(&[*t, *f]);
    }
    body.extend_from_slice(values);
    raw.command(0x17, &body);
    raw.answer()
}

/// The one string cell of a one-column binary result: `None` for NULL.
fn cell(answer: &[Vec<u8>]) -> Option<String> {
    assert_eq!(answer.len(), 4, "one column, one row, end: {answer:?}");
    let row = &answer[2];
    assert_eq!(row[0], 0x00, "a binary row: {row:?}");
    if row[1] & 0x04 != 0 {
        return None;
    }
    let len = usize::from(row[2]);
    Some(String::from_utf8_lossy(&row[3..3 + len]).into_owned())
}

fn lenenc(s: &str) -> Vec<u8> {
    [&[s.len() as u8][..], s.as_bytes()].concat()
}

#[test]
fn types_bound_once_rebound_null_and_after_long_data_or_a_reconnect() {
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "unmanaged");
    let mut raw = Raw::login(gw.addr, caps::BASE, "ks");
    let id = prepare(&mut raw, "SELECT CONCAT(COALESCE(?, 'N'), '|', COALESCE(?, 'N'))");
    let long_string = [(TYPE_LONGLONG, 0), (TYPE_VAR_STRING, 0)];
    let values = [41i64.to_le_bytes().to_vec(), lenenc("ab")].concat();
    assert_eq!(
        cell(&execute(&mut raw, id, 0, 0, &long_string, &values)).as_deref(),
        Some("41|ab")
    );
    // Types left out: those bound before; the second parameter NULL.
    let values = 7i64.to_le_bytes();
    assert_eq!(
        cell(&execute(&mut raw, id, 0, 0b10, &[], &values)).as_deref(),
        Some("7|N")
    );
    // Re-bound with other types, then left out again with the first NULL.
    let double_tiny = [(TYPE_DOUBLE, 0), (TYPE_TINY, UNSIGNED)];
    let values = [2.5f64.to_le_bytes().to_vec(), vec![200]].concat();
    assert_eq!(
        cell(&execute(&mut raw, id, 0, 0, &double_tiny, &values)).as_deref(),
        Some("2.5|200")
    );
    assert_eq!(
        cell(&execute(&mut raw, id, 0, 0b01, &[], &[255])).as_deref(),
        Some("N|255")
    );
    // Long data for the first parameter, bound as a string (MariaDB takes long
    // data for string types only): that execute is decoded and sent with types
    // of the gateway's own ...
    let mut long = id.to_le_bytes().to_vec();
    long.extend_from_slice(&0u16.to_le_bytes());
    long.extend_from_slice(b"long");
    raw.command(0x18, &long);
    let string_tiny = [(TYPE_VAR_STRING, 0), (TYPE_TINY, UNSIGNED)];
    assert_eq!(
        cell(&execute(&mut raw, id, 0, 0, &string_tiny, &[9])).as_deref(),
        Some("long|9")
    );
    // ... so the next one, without types, must get the client's put back in.
    let values = [lenenc("ab"), vec![3]].concat();
    assert_eq!(
        cell(&execute(&mut raw, id, 0, 0, &[], &values)).as_deref(),
        Some("ab|3")
    );
    let values = [1.5f64.to_le_bytes().to_vec(), vec![3]].concat();
    assert_eq!(
        cell(&execute(&mut raw, id, 0, 0, &double_tiny, &values)).as_deref(),
        Some("1.5|3")
    );
    // A backend connection lost and reopened: the statement is prepared again
    // there, without types, which the gateway puts in.
    let answer = raw.query("SELECT CONNECTION_ID()");
    let backend_id = String::from_utf8_lossy(&answer[2][1..]).into_owned();
    gw.block_on(async {
        direct(&db)
            .await
            .query_drop(format!("KILL {backend_id}"))
            .await
            .expect("kill");
    });
    let lost = execute(&mut raw, id, 0, 0, &[], &values);
    assert_eq!(err_packet(&lost[0]).0, 1105);
    let values = [0.5f64.to_le_bytes().to_vec(), vec![5]].concat();
    assert_eq!(
        cell(&execute(&mut raw, id, 0, 0, &[], &values)).as_deref(),
        Some("0.5|5")
    );
}

#[test]
fn a_cursor_flagged_execute_gets_the_whole_result() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3);");
    let gw = start_one(&db, "unmanaged");
    let mut raw = Raw::login(gw.addr, caps::BASE, "ks");
    let id = prepare(&mut raw, "SELECT id FROM t WHERE id > ? ORDER BY id");
    const CURSOR_TYPE_READ_ONLY: u8 = 1;
    let answer = execute(
        &mut raw,
        id,
        CURSOR_TYPE_READ_ONLY,
        0,
        &[(TYPE_LONGLONG, 0)],
        &1i64.to_le_bytes(),
    );
    // Column count, definition, two rows (binary: header, bitmap, INT), end.
    assert_eq!(answer.len(), 5, "{answer:?}");
    assert_eq!(answer[2], [0, 0, 2, 0, 0, 0]);
    assert_eq!(answer[3], [0, 0, 3, 0, 0, 0]);
    assert_eq!(answer[4][0], 0xfe);
    assert_eq!(ok_status(&answer[4]) & CURSOR_EXISTS, 0, "no cursor was opened");
    assert_eq!(raw.query("SELECT 41 + 1")[2], b"\x0242");
}

#[test]
fn a_prepared_write_in_a_managed_keyspace_is_planned_once_the_schema_gives_it_fk_work() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(
        "CREATE TABLE q (id INT PRIMARY KEY) ENGINE=InnoDB;
         CREATE TABLE r (id INT PRIMARY KEY, q_id INT) ENGINE=InnoDB;
         CREATE TABLE r_deleted (id INT) ENGINE=InnoDB;
         CREATE TABLE n (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE=InnoDB;
         -- Named like the online migrator's capture triggers, the only triggers the
         -- gateway lets fire on its own statements (any other makes the write run as
         -- InnoDB runs it).
         CREATE TRIGGER _tether_r_deletes AFTER DELETE ON r FOR EACH ROW INSERT INTO r_deleted VALUES (OLD.id);
         INSERT INTO q VALUES (1), (2), (3);
         INSERT INTO r VALUES (10, 1), (11, 1), (20, 2);",
    );
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        // A write to a table without FKs: forwarded, NULL parameters included.
        let insert = g.prep("INSERT INTO n (id, v) VALUES (?, ?)").await.expect("prepare");
        g.exec_drop(&insert, (1, None::<String>)).await.expect("insert");
        g.exec_drop(&insert, (2, Some("two"))).await.expect("insert");
        let delete = g.prep("DELETE FROM q WHERE id = ?").await.expect("prepare");
        // No FK yet: forwarded as it is.
        g.exec_drop(&delete, (3,)).await.expect("delete");
        g.query_drop("ALTER TABLE r ADD CONSTRAINT r_q_fk FOREIGN KEY (q_id) REFERENCES q (id) ON DELETE CASCADE")
            .await
            .expect("add the FK through the gateway");
        // Now the cascade is the gateway's: its DELETE of r fires the trigger
        // (InnoDB's own cascades fire none).
        g.exec_drop(&delete, (1,)).await.expect("delete");
        let mut d = direct(&db).await;
        assert_eq!(
            rows(&mut d, "SELECT id, COALESCE(v, 'NULL') FROM n ORDER BY id").await,
            vec![vec!["1", "NULL"], vec!["2", "two"]]
        );
        assert_eq!(rows(&mut d, "SELECT id FROM q ORDER BY id").await, vec![vec!["2"]]);
        assert_eq!(rows(&mut d, "SELECT id FROM r ORDER BY id").await, vec![vec!["20"]]);
        assert_eq!(
            rows(&mut d, "SELECT id FROM r_deleted ORDER BY id").await,
            vec![vec!["10"], vec!["11"]],
            "the cascade ran as the gateway's own DELETE"
        );
    });
}
