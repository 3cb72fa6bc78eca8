//! Twenty-first session (review r21c F1): two PostgreSQL destinations that are one
//! database, reached by two routes (an address and a Unix socket), by a role that may
//! not run `pg_control_system()` (so the catalogs cannot name the cluster), were taken
//! for two databases: every row written twice (`mode = "data"`), or the sync hung on its
//! own two connections' locks. Each destination now holds a lock every later one looks
//! for, as the source does.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

#[test]
fn one_postgres_database_reached_by_address_and_socket_is_one_destination_whatever_the_role_may_read() {
    let src = TestDb::create(Engine::Postgres);
    src.exec("CREATE TABLE k (x int PRIMARY KEY, y text); INSERT INTO k VALUES (1, 'a'), (2, 'b'), (3, 'c');");
    let dst = TestDb::create(Engine::Postgres);
    let role = format!("{}_role", dst.name);
    let socket_dir = dst.query("SHOW unix_socket_directories")[0][0]
        .clone()
        .expect("a socket directory");
    let socket_dir = socket_dir.split(',').next().expect("one").trim().to_string();
    let tether_connect::DbUrl::Postgres(server) = dst.db_url() else {
        panic!("{}", dst.url)
    };
    tether_testkit::exec_url(
        Engine::Postgres,
        &tether_testkit::pg_admin_url(),
        &format!("CREATE ROLE {role} LOGIN"),
    );
    dst.exec(&format!(
        "REVOKE EXECUTE ON FUNCTION pg_control_system() FROM public;
         CREATE TABLE k (x int PRIMARY KEY, y text); ALTER TABLE k OWNER TO {role};"
    ));
    let by_address = format!("postgres://{role}@{}:{}/{}", server.host, server.port, dst.name);
    let by_socket = format!(
        "postgres://{role}@localhost:{}/{}?host={socket_dir}",
        server.port, dst.name
    );
    let job = |first: &str, second: &str, mode: &str| {
        format!(
            "source = \"{}\"\nprivacy = \"off\"\nmode = \"{mode}\"\n[[destinations]]\nurl = \"{first}\"\n\
             [[destinations]]\nurl = \"{second}\"\n",
            src.url
        )
    };
    let socket_connects = tether_testkit::block_on(tether_connect::Connection::open(
        &tether_connect::DbUrl::parse(&by_socket).expect("URL"),
    ));
    if let Ok(conn) = socket_connects {
        tether_testkit::block_on(conn.close());
        for (first, second) in [(&by_address, &by_socket), (&by_socket, &by_address)] {
            for mode in ["data", "all"] {
                let err = sync(&job(first, second, mode)).expect_err("refused");
                assert!(matches!(err, tether_sync::SyncError::Plan(_)), "exit code 2: {err:?}");
                let text = err.to_string();
                assert!(
                    text.starts_with("destination #2 ")
                        && text.contains(" is destination #1 ")
                        && text.ends_with("refusing to write into it (nothing was written)"),
                    "{text}"
                );
                assert_eq!(dst.query("SELECT count(*) FROM k"), vec![vec![Some("0".to_string())]]);
            }
        }
    } else {
        eprintln!("no socket route to this server: the address-and-socket pair is not tried");
    }
    // Two databases of one server, by the same role, are two destinations.
    let other = TestDb::create(Engine::Postgres);
    other.exec(&format!(
        "CREATE TABLE k (x int PRIMARY KEY, y text); ALTER TABLE k OWNER TO {role};"
    ));
    let other_url = format!("postgres://{role}@{}:{}/{}", server.host, server.port, other.name);
    sync(&job(&by_address, &other_url, "data")).expect("two databases");
    assert_eq!(dst.query("SELECT count(*) FROM k"), vec![vec![Some("3".to_string())]]);
    assert_eq!(other.query("SELECT count(*) FROM k"), vec![vec![Some("3".to_string())]]);
    drop(other);
    drop(dst);
    tether_testkit::exec_url(
        Engine::Postgres,
        &tether_testkit::pg_admin_url(),
        &format!("DROP ROLE {role}"),
    );
}
