//! Eighteenth session, review G findings 1 to 3: `KILL [QUERY|CONNECTION] n` and
//! COM_PROCESS_KILL name a connection by the id the gateway's handshake gave (what
//! the `mariadb` client's Ctrl-C sends: `KILL /*!50000 QUERY */ n`). They act on
//! that client's backend connection; an id that is no live client of the gateway is
//! 1094 "Unknown thread id", never passed on to the backend, where the same number
//! is someone else's session.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_testkit::{TestDb, TestEngine};

use crate::support::{caps, direct, err_packet, server_error, start_one, Raw};

/// Waits until backend thread `id` runs a `SLEEP` (seen from `watch`).
pub(crate) async fn sleeping(watch: &mut Conn, id: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let info: Option<Option<String>> = watch
            .query_first(format!(
                "SELECT INFO FROM information_schema.PROCESSLIST WHERE ID = {id}"
            ))
            .await
            .expect("PROCESSLIST");
        if info.flatten().is_some_and(|q| q.contains("SLEEP")) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("thread {id} never ran its SLEEP");
}

pub(crate) async fn connection_id(conn: &mut Conn) -> u64 {
    conn.query_first("SELECT CONNECTION_ID()")
        .await
        .expect("id")
        .expect("a row")
}

/// A gateway client's `SELECT SLEEP(30)`, KILL QUERY'd by `kill` (given the
/// client's handshake id and backend id) from another gateway connection: 1317
/// at once, and the session goes on on the same backend connection.
fn kill_query_stops(kill: fn(u32, u64) -> String) {
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "unmanaged");
    gw.block_on(async {
        let mut watch = direct(&db).await;
        let mut victim = gw.connect("ks").await;
        let handshake_id = victim.id();
        let backend_id = connection_id(&mut victim).await;
        let started = Instant::now();
        let running = tokio::spawn(async move {
            let r: Result<Option<i64>, _> = victim.query_first("SELECT SLEEP(30)").await;
            (r.map_err(server_error), victim)
        });
        sleeping(&mut watch, backend_id).await;
        let mut killer = gw.connect("ks").await;
        killer
            .query_drop(kill(handshake_id, backend_id))
            .await
            .expect("KILL QUERY of a live gateway client");
        let (r, mut victim) = running.await.expect("victim task");
        assert_eq!(r.map_err(|e| e.0), Err(1317));
        assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
        assert_eq!(connection_id(&mut victim).await, backend_id);
    });
}

/// What the `mariadb` client sends on Ctrl-C, from a second connection.
#[test]
fn kill_query_with_the_handshake_id_stops_that_clients_query() {
    kill_query_stops(|handshake_id, _| format!("KILL /*!50000 QUERY */ {handshake_id}"));
}

/// The id `CONNECTION_ID()` gives through the gateway (the backend's) still works.
#[test]
fn kill_query_with_the_clients_connection_id_stops_its_query() {
    kill_query_stops(|_, backend_id| format!("KILL QUERY {backend_id}"));
}

#[test]
fn kill_of_an_id_no_gateway_client_has_is_1094_and_reaches_no_backend_session() {
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "unmanaged");
    gw.block_on(async {
        let mut watch = direct(&db).await;
        let mut bystander = direct(&db).await;
        let bystander_id = connection_id(&mut bystander).await;
        let mut client = gw.connect("ks").await;
        // This gateway's only live clients are `client` and the raw one below
        // (their handshake ids, which the bystander's backend id is not).
        assert_ne!(u64::from(client.id()), bystander_id);
        let running = tokio::spawn(async move {
            let r: Option<i64> = bystander
                .query_first("SELECT SLEEP(3)")
                .await
                .expect("sleep not interrupted");
            r
        });
        sleeping(&mut watch, bystander_id).await;
        for kill in [
            format!("KILL QUERY {bystander_id}"),
            format!("KILL /*!50000 QUERY */ {bystander_id}"),
            format!("KILL {bystander_id}"),
            format!("KILL CONNECTION {bystander_id}"),
        ] {
            let e = client.query_drop(&kill).await.map(|_| ()).map_err(server_error);
            assert_eq!(
                e,
                Err((1094, "HY000".into(), format!("Unknown thread id: {bystander_id}"))),
                "{kill}"
            );
        }
        // Review k K1: the spellings MariaDB also takes are read the same way, and
        // the ones the gateway cannot read are refused, never passed on.
        for kill in [
            format!("KILL({bystander_id})"),
            format!("KILL'{bystander_id}'"),
            format!("\x0bKILL\x0bQUERY {bystander_id}"),
        ] {
            let e = client.query_drop(&kill).await.map(|_| ()).map_err(server_error);
            assert_eq!(
                e,
                Err((1094, "HY000".into(), format!("Unknown thread id: {bystander_id}"))),
                "{kill:?}"
            );
        }
        // An expression as the target, a KILL starting a multi-statement: read as
        // MariaDB reads them (the twenty-third session; they were refused with
        // 1105), the same 1094, never passed on.
        for kill in [format!("KILL+{bystander_id}"), format!("KILL {bystander_id}; SELECT 1")] {
            let e = client.query_drop(&kill).await.map(|_| ()).map_err(server_error);
            assert_eq!(
                e,
                Err((1094, "HY000".into(), format!("Unknown thread id: {bystander_id}"))),
                "{kill}"
            );
        }
        // COM_PROCESS_KILL (finding 3): the same answer, not 1047.
        let addr = gw.addr;
        let id = u32::try_from(bystander_id).expect("a 32-bit id");
        let packet = tokio::task::spawn_blocking(move || {
            let mut raw = Raw::login(addr, caps::BASE, "ks");
            raw.command(0x0c, &id.to_le_bytes());
            raw.answer()
        })
        .await
        .expect("raw client");
        assert_eq!(
            err_packet(&packet[0]),
            (1094, format!("Unknown thread id: {bystander_id}"))
        );
        // The bystander's SLEEP ran to its end (0: not interrupted).
        assert_eq!(running.await.expect("bystander"), Some(0));
    });
}

#[test]
fn com_process_kill_of_a_gateway_client_kills_its_backend_connection() {
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "unmanaged");
    gw.block_on(async {
        let mut watch = direct(&db).await;
        let mut victim = gw.connect("ks").await;
        let handshake_id = victim.id();
        let backend_id = connection_id(&mut victim).await;
        let running = tokio::spawn(async move {
            let r: Result<Option<i64>, _> = victim.query_first("SELECT SLEEP(30)").await;
            r.map(|_| ()).map_err(|e| e.to_string())
        });
        sleeping(&mut watch, backend_id).await;
        let addr = gw.addr;
        let packet = tokio::task::spawn_blocking(move || {
            let mut raw = Raw::login(addr, caps::BASE, "ks");
            raw.command(0x0c, &handshake_id.to_le_bytes());
            raw.answer()
        })
        .await
        .expect("raw client");
        assert_eq!(packet[0][0], 0x00, "OK: {:?}", String::from_utf8_lossy(&packet[0]));
        assert!(
            running.await.expect("victim").is_err(),
            "the victim's query was stopped"
        );
        // Its backend connection is gone from the server.
        let left: Option<u64> = watch
            .query_first(format!(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {backend_id} AND COMMAND <> 'Killed'"
            ))
            .await
            .expect("PROCESSLIST");
        assert_eq!(left, Some(0));
    });
}

/// Review n (round 2): KILL of a handshake id in a form the gateway does not read
/// (`EXECUTE IMMEDIATE`, a compound statement) reaches the backend. Handshake ids start
/// at 2^30, above any thread id MariaDB hands out, so there it names no thread (1094)
/// and the client it meant, and every other session, runs on.
#[test]
fn a_handshake_id_reaching_the_backend_names_no_thread_there() {
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "unmanaged");
    gw.block_on(async {
        let mut watch = direct(&db).await;
        let mut victim = gw.connect("ks").await;
        let handshake_id = victim.id();
        assert!(handshake_id >= 1 << 30, "handshake id {handshake_id}");
        let backend_id = connection_id(&mut victim).await;
        assert!(backend_id < 1 << 30, "backend id {backend_id}");
        let running = tokio::spawn(async move {
            let r: Option<i64> = victim.query_first("SELECT SLEEP(2)").await.expect("not interrupted");
            r
        });
        sleeping(&mut watch, backend_id).await;
        let mut killer = gw.connect("ks").await;
        for kill in [
            format!("EXECUTE IMMEDIATE 'KILL QUERY {handshake_id}'"),
            format!("BEGIN NOT ATOMIC KILL QUERY {handshake_id}; END"),
        ] {
            let e = killer.query_drop(&kill).await.map_err(server_error);
            assert_eq!(e.map_err(|e| e.0), Err(1094), "{kill}");
        }
        assert_eq!(running.await.expect("victim"), Some(0));
    });
}
