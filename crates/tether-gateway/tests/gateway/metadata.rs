//! What a client's login asks for reaches its backend connections: the character
//! set (results come in it, as from MariaDB), and MARIADB_CLIENT_CACHE_METADATA
//! (issue 18): a MariaDB client
//! that caches a prepared statement's column definitions gets them only when they
//! change, as from MariaDB itself, and gets them again whenever it may hold other
//! ones than the backend sent last (the statement prepared again on a new backend
//! connection the client never saw, a result the gateway built itself).

use mysql_async::prelude::Queryable;
use tether_testkit::{TestDb, TestEngine};

use crate::limits::prepare;
use crate::support::{caps, direct, err_packet, rows, start_one, Raw};

/// MARIADB_CLIENT_CACHE_METADATA, in the extended capabilities.
const CACHE_METADATA: u32 = 1 << 4;

/// COM_STMT_EXECUTE of `id` with one BIGINT parameter.
fn execute(raw: &mut Raw, id: u32, key: i64) {
    let mut body = id.to_le_bytes().to_vec();
    body.push(0);
    body.extend_from_slice(&1u32.to_le_bytes());
    body.push(0); // NULL bitmap
    body.push(1); // types follow
    body.extend_from_slice(&[8, 0]);
    body.extend_from_slice(&key.to_le_bytes());
    raw.command(0x17, &body);
}

/// One result of an execute under cached metadata: the "metadata follows" byte,
/// the column names sent, the row packets; `eof`: the client did not ask for
/// CLIENT_DEPRECATE_EOF (an EOF ends the definitions, sent or not, and the rows).
struct Answer {
    follows: u8,
    names: Vec<String>,
    rows: Vec<Vec<u8>>,
}

fn answer(raw: &mut Raw, eof: bool) -> Answer {
    let (_, head) = raw.read();
    assert!(head[0] != 0xff, "execute failed: {}", String::from_utf8_lossy(&head));
    let count = usize::from(head[0]);
    assert_eq!(head.len(), 2, "column count and the metadata flag: {head:?}");
    let follows = head[1];
    let mut names = Vec::new();
    if follows == 1 {
        for _ in 0..count {
            let (_, def) = raw.read();
            // catalog, schema, table, org_table, then the name.
            let mut at = 0;
            for _ in 0..4 {
                at += 1 + usize::from(def[at]);
            }
            let len = usize::from(def[at]);
            names.push(String::from_utf8_lossy(&def[at + 1..at + 1 + len]).into_owned());
        }
    }
    if eof {
        let (_, p) = raw.read();
        assert_eq!((p[0], p.len()), (0xfe, 5), "EOF after the definitions");
    }
    let mut rows = Vec::new();
    loop {
        let (_, p) = raw.read();
        if p[0] == 0xfe && p.len() < 0xff_ffff {
            return Answer { follows, names, rows };
        }
        rows.push(p);
    }
}

/// The ids in the rows of `SELECT * FROM t` (id first, a 4-byte INT).
fn ids(a: &Answer) -> Vec<i32> {
    a.rows
        .iter()
        .map(|r| i32::from_le_bytes([r[2], r[3], r[4], r[5]]))
        .collect()
}

fn setup(db: &TestDb) {
    tokio::runtime::Runtime::new().expect("rt").block_on(async {
        let mut c = direct(db).await;
        c.query_drop("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))")
            .await
            .expect("t");
        c.query_drop("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
            .await
            .expect("rows");
    });
}

fn run(db: &TestDb, sql: &str) {
    tokio::runtime::Runtime::new()
        .expect("rt")
        .block_on(async { direct(db).await.query_drop(sql).await.expect(sql) });
}

#[test]
fn the_gateway_offers_cached_metadata_and_relays_skipped_definitions_as_mariadb_sends_them() {
    let db = TestDb::create(TestEngine::Mysql);
    setup(&db);
    let gw = start_one(&db, "unmanaged");
    for eof in [false, true] {
        let base = if eof {
            caps::BASE & !caps::DEPRECATE_EOF
        } else {
            caps::BASE
        };
        let mut raw = Raw::login_extended(gw.addr, base, CACHE_METADATA, "ks");
        let id = if eof {
            // `prepare` reads no EOF packets: prepare by hand.
            raw.command(0x16, b"SELECT * FROM t WHERE id <= ?");
            let (_, p) = raw.read();
            assert_eq!(p[0], 0);
            let columns = usize::from(u16::from_le_bytes([p[5], p[6]]));
            for _ in 0..(1 + 1 + columns + 1) {
                raw.read(); // 1 parameter + EOF, the columns + EOF
            }
            u32::from_le_bytes([p[1], p[2], p[3], p[4]])
        } else {
            prepare(&mut raw, "SELECT * FROM t WHERE id <= ?")
        };
        // Unchanged since the prepare: skipped, every time.
        for _ in 0..2 {
            execute(&mut raw, id, 2);
            let a = answer(&mut raw, eof);
            assert_eq!((a.follows, a.names.len(), ids(&a)), (0, 0, vec![1, 2]), "eof {eof}");
        }
        // The table changes: the definitions come once, then are skipped again.
        run(
            &db,
            &format!("ALTER TABLE t ADD COLUMN w{} INT DEFAULT 7", u8::from(eof)),
        );
        execute(&mut raw, id, 1);
        let a = answer(&mut raw, eof);
        assert_eq!(a.follows, 1, "eof {eof}");
        assert_eq!(a.names.len(), if eof { 4 } else { 3 });
        assert_eq!(ids(&a), vec![1]);
        execute(&mut raw, id, 1);
        let a = answer(&mut raw, eof);
        assert_eq!((a.follows, ids(&a)), (0, vec![1]));
    }
}

#[test]
fn a_statement_prepared_again_unseen_sends_its_definitions_even_where_the_backend_skips_them() {
    let db = TestDb::create(TestEngine::Mysql);
    setup(&db);
    let gw = start_one(&db, "unmanaged");
    let mut raw = Raw::login_extended(gw.addr, caps::BASE, CACHE_METADATA, "ks");
    let id = prepare(&mut raw, "SELECT * FROM t WHERE id <= ?");
    execute(&mut raw, id, 2);
    assert_eq!(answer(&mut raw, false).follows, 0);
    // The backend connection is lost; the table changes before the gateway
    // prepares the statement again on a new one: MariaDB sends that prepare the
    // new definitions and skips them on the first execute, but the client holds
    // the old ones.
    let answer_id = raw.query("SELECT CONNECTION_ID()");
    let backend_id = String::from_utf8_lossy(&answer_id[2][1..]).into_owned();
    run(&db, &format!("KILL {backend_id}"));
    execute(&mut raw, id, 2);
    let (_, lost) = raw.read();
    assert_eq!(err_packet(&lost).0, 1105);
    run(&db, "ALTER TABLE t ADD COLUMN extra INT DEFAULT 5");
    execute(&mut raw, id, 2);
    let a = answer(&mut raw, false);
    assert_eq!(
        (a.follows, a.names.clone()),
        (1, vec!["id".into(), "v".into(), "extra".into()])
    );
    assert_eq!(ids(&a), vec![1, 2]);
    // After that, skipped again.
    execute(&mut raw, id, 2);
    assert_eq!(answer(&mut raw, false).follows, 0);
}

#[test]
fn a_client_without_cached_metadata_always_gets_the_definitions() {
    let db = TestDb::create(TestEngine::Mysql);
    setup(&db);
    let gw = start_one(&db, "managed");
    let mut raw = Raw::login(gw.addr, caps::BASE, "ks");
    let id = prepare(&mut raw, "SELECT * FROM t WHERE id <= ?");
    for _ in 0..3 {
        execute(&mut raw, id, 2);
        let answer = raw.answer();
        // Column count (no flag byte), 2 definitions, 2 rows, end.
        assert_eq!(answer[0], vec![2], "{answer:?}");
        assert_eq!(answer.len(), 6);
    }
}

#[test]
fn a_latin1_client_gets_latin1_text_as_from_mariadb() {
    let db = TestDb::create(TestEngine::Mysql);
    run(
        &db,
        "CREATE TABLE names (id INT PRIMARY KEY, name VARCHAR(20) CHARACTER SET utf8mb4)",
    );
    run(&db, "INSERT INTO names VALUES (1, 'Jos\u{e9}')");
    let gw = start_one(&db, "unmanaged");
    // latin1_swedish_ci (8): the server sends the name in latin1, one byte for é.
    let mut raw = Raw::login_with(gw.addr, caps::BASE, 0, 8, "ks");
    let answer = raw.query("SELECT name, @@character_set_client, @@character_set_results FROM names");
    let row = &answer[4];
    assert_eq!(&row[..6], &[4, b'J', b'o', b's', 0xe9, 6], "{row:?}");
    assert_eq!(&row[6..12], b"latin1");
    // The default client (utf8mb4) still gets UTF-8.
    let gw_rows = gw.block_on(async {
        let mut c = gw.connect("ks").await;
        rows(&mut c, "SELECT name, @@character_set_client FROM names").await
    });
    assert_eq!(gw_rows, vec![vec!["Jos\u{e9}".to_string(), "utf8mb4".to_string()]]);
}
