//! The lock probe that tells whether a destination is the source's own database,
//! whatever URL reached it: PostgreSQL advisory locks belong to one database,
//! MariaDB named locks to one server.

use tether_connect::{identify_probing, Connection, DbUrl};
use tether_testkit::{block_on, TestDb, TestEngine as Engine};

#[test]
fn a_lock_held_on_the_source_is_seen_from_the_same_database_only() {
    for engine in [Engine::Postgres, Engine::Mysql] {
        let a = TestDb::create(engine);
        let b = TestDb::create(engine);
        block_on(async {
            let url_a = DbUrl::parse(&a.url).expect("url");
            // The same database by another spelling of the host.
            let other_spelling = DbUrl::parse(&a.url.replacen("127.0.0.1", "localhost", 1)).expect("url");
            let url_b = DbUrl::parse(&b.url).expect("url");
            let mut source = Connection::open(&url_a).await.expect("open");
            let key = 0x7e7_4e2 + i64::from(std::process::id());
            let probe = source.hold_probe(key).await.expect("hold").expect("held");
            assert!(probe.locked, "{engine:?}");
            let (_, same) = identify_probing(&other_spelling, Some(probe)).await.expect("identify");
            assert_eq!(same, Some(true), "{engine:?}: the same database");
            let (id_b, other) = identify_probing(&url_b, Some(probe)).await.expect("identify");
            let id_a = source.identity().await.expect("identity");
            // PostgreSQL: another database does not see the lock; MariaDB: the same
            // server does, and the database names tell them apart.
            match engine {
                Engine::Postgres => assert_eq!(other, Some(false)),
                _ => {
                    assert_eq!(other, Some(true));
                    assert!(!id_b.same_database_name(&id_a));
                }
            }
            source.release_probe(probe).await.expect("release");
            let (_, after) = identify_probing(&other_spelling, Some(probe)).await.expect("identify");
            assert_eq!(after, Some(false), "{engine:?}: released");
            source.close().await;
        });
    }
}
