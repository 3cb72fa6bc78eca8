//! What one client may cost the gateway and the backend: packet sizes before and
//! after the login, the login's time limit, the number of connections, long data
//! of prepared statements, and a client that goes away in the middle of a result.

use std::io::Read;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use tether_testkit::{TestDb, TestEngine};

use crate::support::{caps, direct, err_packet, rows, server_error, start_one, start_with, Raw};

/// Reads until the gateway closes the connection; how long that took, or `None`
/// when it was still open after `wait`.
fn closed_within(raw: &mut Raw, wait: Duration) -> Option<Duration> {
    let started = Instant::now();
    raw.s.set_read_timeout(Some(wait)).expect("timeout");
    let mut buf = [0u8; 4096];
    loop {
        match raw.s.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => return None,
            Err(_) => return Some(started.elapsed()),
        }
    }
}

#[test]
fn a_login_packet_over_64_kib_is_refused_unread() {
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "unmanaged");
    let (mut raw, _) = Raw::greeted(gw.addr);
    // A login claiming 16 MiB - 1: the gateway must not wait for (or buffer) it.
    use std::io::Write;
    raw.s.write_all(b"\xff\xff\xff\x01").expect("header");
    raw.s.write_all(&[0u8; 1000]).expect("some of it");
    let took = closed_within(&mut raw, Duration::from_secs(5));
    assert!(took.is_some(), "the gateway still waits for a 16 MiB login packet");
}

#[test]
fn a_client_that_does_not_log_in_is_dropped_after_10_seconds() {
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "unmanaged");
    let (mut raw, _) = Raw::greeted(gw.addr);
    let took = closed_within(&mut raw, Duration::from_secs(20)).expect("closed by the gateway");
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(15),
        "closed after {took:?}"
    );
}

#[test]
fn a_command_over_max_allowed_packet_is_answered_with_1153_and_the_connection_closed() {
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_with(&[("ks", "unmanaged", &db.url)], r#""maxAllowedPacket": 1048576,"#);
    let mut raw = Raw::login(gw.addr, caps::BASE, "ks");
    // Under the limit: answered.
    let answer = raw.query(&format!("SELECT LENGTH('{}')", "x".repeat(900_000)));
    assert_eq!(answer[2], b"\x06900000");
    // Over it: MariaDB's error, then the connection ends.
    raw.command(0x03, format!("SELECT LENGTH('{}')", "x".repeat(2_000_000)).as_bytes());
    let (_, p) = raw.read();
    assert_eq!(
        err_packet(&p),
        (1153, "Got a packet bigger than 'max_allowed_packet' bytes".to_string())
    );
    assert!(closed_within(&mut raw, Duration::from_secs(5)).is_some());
    // Others are served.
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        assert_eq!(rows(&mut c, "SELECT 1").await, vec![vec!["1"]]);
    });
}

#[test]
fn connections_over_max_connections_are_refused_with_1040() {
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_with(&[("ks", "unmanaged", &db.url)], r#""maxConnections": 2,"#);
    gw.block_on(async {
        let a = gw.connect("ks").await;
        let mut b = gw.connect("ks").await;
        let e = server_error(
            mysql_async::Conn::new(gw.opts("ks"))
                .await
                .expect_err("a third connection"),
        );
        assert_eq!(e, (1040, "HY000".to_string(), "Too many connections".to_string()));
        // A connection that ends frees its place.
        a.disconnect().await.expect("disconnect");
        let mut c = None;
        for _ in 0..50 {
            if let Ok(conn) = mysql_async::Conn::new(gw.opts("ks")).await {
                c = Some(conn);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut c = c.expect("a place is free again");
        assert_eq!(rows(&mut c, "SELECT 1").await, vec![vec!["1"]]);
        assert_eq!(rows(&mut b, "SELECT 2").await, vec![vec!["2"]]);
    });
}

/// COM_STMT_PREPARE of `sql` on a CLIENT_DEPRECATE_EOF connection: the id.
pub fn prepare(raw: &mut Raw, sql: &str) -> u32 {
    raw.command(0x16, sql.as_bytes());
    let (_, p) = raw.read();
    assert_eq!(p[0], 0x00, "prepared: {:?}", String::from_utf8_lossy(&p));
    let id = u32::from_le_bytes([p[1], p[2], p[3], p[4]]);
    let columns = u16::from_le_bytes([p[5], p[6]]);
    let params = u16::from_le_bytes([p[7], p[8]]);
    for _ in 0..columns + params {
        raw.read();
    }
    id
}

/// COM_STMT_EXECUTE's header for statement `id`, with one parameter, not NULL.
pub fn execute_head(id: u32) -> Vec<u8> {
    let mut body = id.to_le_bytes().to_vec();
    body.push(0); // no cursor
    body.extend_from_slice(&1u32.to_le_bytes());
    body.push(0); // NULL bitmap
    body
}

#[test]
fn long_data_over_max_allowed_packet_fails_every_execute_with_1105_until_reset() {
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_with(&[("ks", "unmanaged", &db.url)], r#""maxAllowedPacket": 1048576,"#);
    let mut raw = Raw::login(gw.addr, caps::BASE, "ks");
    let id = prepare(&mut raw, "SELECT CAST(LENGTH(?) AS CHAR)");
    let send_long_data = |raw: &mut Raw, n: usize| {
        let mut body = id.to_le_bytes().to_vec();
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&vec![b'x'; n]);
        raw.command(0x18, &body);
    };
    let execute = [execute_head(id), vec![1, 0xfc, 0]].concat();
    // 1.5 MiB in three pieces: over the limit, dropped; every execute fails
    // with MariaDB's 1105 until COM_STMT_RESET.
    for _ in 0..3 {
        send_long_data(&mut raw, 512 * 1024);
    }
    let too_long = (
        1105,
        "Parameter of prepared statement which is set through mysql_send_long_data() is longer than \
         'max_allowed_packet' bytes"
            .to_string(),
    );
    for _ in 0..2 {
        raw.command(0x17, &execute);
        let (_, p) = raw.read();
        assert_eq!(err_packet(&p), too_long);
    }
    raw.command(0x1a, &id.to_le_bytes());
    let (_, p) = raw.read();
    assert_eq!(p[0], 0x00, "reset");
    // The statement works again with data under the limit.
    send_long_data(&mut raw, 1000);
    send_long_data(&mut raw, 24);
    raw.command(0x17, &execute);
    let answer = raw.answer();
    assert_eq!(
        answer[2], b"\x00\x00\x041024",
        "a binary row: header, NULL bitmap, '1024'"
    );
}

#[test]
fn a_client_gone_in_the_middle_of_a_result_releases_its_locks_at_once() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec("CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO t VALUES (1);");
    let gw = start_one(&db, "unmanaged");
    let mut raw = Raw::login(gw.addr, caps::BASE, "ks");
    raw.query("BEGIN");
    let locked = raw.query("SELECT id FROM t WHERE id = 1 FOR UPDATE");
    assert_eq!(locked[2], b"\x011");
    // Days of rows; read a little, then close with the rest unread.
    raw.command(0x03, b"SELECT seq, REPEAT('x', 1000) FROM seq_1_to_1000000000");
    for _ in 0..100 {
        raw.read();
    }
    drop(raw);
    gw.block_on(async {
        let mut other = direct(&db).await;
        other.query_drop("SET innodb_lock_wait_timeout = 1").await.expect("set");
        let started = Instant::now();
        loop {
            match other.query_drop("SELECT id FROM t WHERE id = 1 FOR UPDATE").await {
                Ok(()) => break,
                Err(e) => {
                    assert_eq!(server_error(e).0, 1205, "a lock wait timeout");
                    assert!(
                        started.elapsed() < Duration::from_secs(15),
                        "the row is still locked after {:?}",
                        started.elapsed()
                    );
                }
            }
        }
    });
}
