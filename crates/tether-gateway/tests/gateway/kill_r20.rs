//! Nineteenth session: a KILL of a connection (not `KILL QUERY`) ends the killed
//! client's connection to the gateway, as MariaDB ends a killed client's (measured
//! natively: an idle or busy victim gets 2013 "Lost connection", a client killing
//! itself 1927 "Connection was killed" and then 2013). Before, the victim's gateway
//! connection stayed open with its backend gone, answering every statement with
//! 1105, which a connection pool would keep handing out.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_testkit::{TestDb, TestEngine};

use crate::kill_r18::{connection_id, sleeping};
use crate::support::{direct, server_error, start_one};

/// What `conn`'s next statement gets: Ok, a server error's code, or None for a
/// lost connection (the client library's own error, as after a native KILL).
pub(crate) async fn next_statement(conn: &mut Conn) -> Result<(), Option<u16>> {
    match conn.query_drop("SELECT 1").await {
        Ok(()) => Ok(()),
        Err(mysql_async::Error::Server(e)) => Err(Some(e.code)),
        Err(_) => Err(None),
    }
}

/// An idle victim killed by `kill` (given its handshake and backend ids) loses its
/// connection; the killer's KILL is OK; the id is then unknown (1094).
fn idle_victim_loses_its_connection(kill: fn(u32, u64) -> String) {
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "unmanaged");
    gw.block_on(async {
        let mut victim = gw.connect("ks").await;
        let handshake_id = victim.id();
        let backend_id = connection_id(&mut victim).await;
        let mut killer = gw.connect("ks").await;
        killer.query_drop(kill(handshake_id, backend_id)).await.expect("KILL");
        assert_eq!(next_statement(&mut victim).await, Err(None));
        // The gateway let go of the victim: its id names no client any more.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let r = killer.query_drop(format!("KILL {handshake_id}")).await;
            match r.map_err(server_error) {
                Err((1094, _, _)) => break,
                other => assert!(Instant::now() < deadline, "KILL of a gone client: {other:?}"),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The killer's own session goes on.
        assert_eq!(next_statement(&mut killer).await, Ok(()));
    });
}

#[test]
fn kill_connection_by_handshake_id_ends_an_idle_clients_connection() {
    idle_victim_loses_its_connection(|handshake_id, _| format!("KILL CONNECTION {handshake_id}"));
}

#[test]
fn kill_by_the_clients_connection_id_ends_its_connection() {
    idle_victim_loses_its_connection(|_, backend_id| format!("KILL {backend_id}"));
}

#[test]
fn kill_connection_of_a_busy_client_ends_its_connection_at_once() {
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let mut watch = direct(&db).await;
        let mut victim = gw.connect("ks").await;
        let handshake_id = victim.id();
        let backend_id = connection_id(&mut victim).await;
        let started = Instant::now();
        let running = tokio::spawn(async move {
            let r = victim.query_drop("SELECT SLEEP(30)").await;
            let code = match r {
                Ok(()) => Ok(()),
                Err(mysql_async::Error::Server(e)) => Err(Some(e.code)),
                Err(_) => Err(None),
            };
            (code, victim)
        });
        sleeping(&mut watch, backend_id).await;
        let mut killer = gw.connect("ks").await;
        killer
            .query_drop(format!("KILL CONNECTION {handshake_id}"))
            .await
            .expect("KILL");
        let (r, mut victim) = running.await.expect("victim task");
        assert_eq!(r, Err(None), "the victim's statement: a lost connection");
        assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
        assert_eq!(next_statement(&mut victim).await, Err(None));
    });
}

#[test]
fn a_client_killing_its_own_connection_gets_1927_then_loses_it() {
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "unmanaged");
    gw.block_on(async {
        let mut me = gw.connect("ks").await;
        let handshake_id = me.id();
        let r = me.query_drop(format!("KILL CONNECTION {handshake_id}")).await;
        assert_eq!(r.map_err(server_error).map_err(|e| e.0), Err(1927));
        assert_eq!(next_statement(&mut me).await, Err(None));
        // Another client is untouched.
        let mut other = gw.connect("ks").await;
        assert_eq!(next_statement(&mut other).await, Ok(()));
    });
}

#[test]
fn kill_query_leaves_the_connection_open() {
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "unmanaged");
    gw.block_on(async {
        let mut victim = gw.connect("ks").await;
        let handshake_id = victim.id();
        let backend_id = connection_id(&mut victim).await;
        let mut killer = gw.connect("ks").await;
        killer
            .query_drop(format!("KILL QUERY {handshake_id}"))
            .await
            .expect("KILL QUERY");
        assert_eq!(next_statement(&mut victim).await, Ok(()));
        assert_eq!(connection_id(&mut victim).await, backend_id);
    });
}
