//! Twenty-fifth session writer F: the session's character sets follow `USE` to
//! another keyspace, and COM_CHANGE_USER's character set becomes the session's
//! (review r25f F2, F3).
//!
//! F2: after `SET NAMES sjis; USE other` MariaDB's one session stays sjis; the
//! gateway's backend session of the other keyspace was utf8mb4, so a value the
//! client escaped for sjis (`表' OR 1=1 -- `: 95 5C 5C 27) was read as utf8mb4,
//! its quote ended the string and the DELETE removed every row. F3: the
//! character set of a COM_CHANGE_USER packet was ignored.

use std::process::Command;

use mysql_async::prelude::Queryable;
use tether_testkit::{TestDb, TestEngine};

use crate::pymysql::python;
use crate::support::{direct, rows, server_error, start, Gw, PASSWORD, USER};

const SCHEMA: &str = "CREATE TABLE p (id INT PRIMARY KEY, name VARCHAR(20)) ENGINE=InnoDB;
    INSERT INTO p VALUES (1, 'a'), (2, 'b'), (3, 'c')";

/// Two databases with `p`.
fn pair() -> (TestDb, TestDb) {
    let a = TestDb::create(TestEngine::Mysql);
    let b = TestDb::create(TestEngine::Mysql);
    a.exec(SCHEMA);
    b.exec(SCHEMA);
    (a, b)
}

/// Keyspaces `a` and `b` (unmanaged) on a [`pair`].
fn two() -> (TestDb, TestDb, Gw) {
    let (a, b) = pair();
    let gw = start(&[("a", "unmanaged", &a.url), ("b", "unmanaged", &b.url)]);
    (a, b, gw)
}

const CHARSETS: &str = "SELECT @@character_set_client, @@character_set_connection, \
                        @@character_set_results, @@collation_connection";

/// `SET NAMES` (sjis, latin1, with a collation) and `SET character_set_results =
/// NULL`, then `USE` of the other database: the session's character sets, natively
/// and through the gateway (also when the keyspace was connected before, and back).
#[test]
fn set_names_follows_use_to_another_keyspace() {
    let (a, b, gw) = two();
    gw.block_on(async {
        for names in [
            "SET NAMES sjis",
            "SET NAMES latin1",
            "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci",
            "SET NAMES sjis, character_set_results = NULL",
        ] {
            let mut native = direct(&a).await;
            let mut g = gw.connect("a").await;
            let mut seen = Vec::new();
            for (conn, other, back) in [(&mut native, b.name.as_str(), a.name.as_str()), (&mut g, "b", "a")] {
                conn.query_drop(names).await.expect(names);
                conn.query_drop(format!("USE {other}")).await.expect("use");
                let there = rows(conn, CHARSETS).await;
                conn.query_drop("SET NAMES latin1").await.expect("latin1");
                conn.query_drop(format!("USE {back}")).await.expect("use back");
                let back_again = rows(conn, CHARSETS).await;
                seen.push((there, back_again));
            }
            assert_eq!(seen[1], seen[0], "{names}: gateway (left), native (right)");
        }
    });
}

/// The reviewer's injection: a client that escapes for sjis after `SET NAMES
/// sjis` deletes nothing in the other keyspace, as natively (the gateway, now
/// reading the text as sjis, refuses a non-ASCII byte before a backslash); an
/// sjis value is stored and found as natively.
#[test]
fn an_sjis_escaped_value_stays_a_value_after_use() {
    let (_a, _b, gw) = two();
    // The native side's own pair of databases.
    let (a, b) = pair();
    // `表' OR 1=1 -- ` escaped for sjis: 表 (95 5C) as one character, `'` -> `\'`.
    let mut attack = b"DELETE FROM p WHERE name = '".to_vec();
    attack.extend_from_slice(&[0x95, 0x5C, 0x5C, 0x27]);
    attack.extend_from_slice(b" OR 1=1 -- '");
    // あい in sjis (82 A0 82 A2): no backslash in it.
    let value = [0x82, 0xA0, 0x82, 0xA2];
    let insert = [b"INSERT INTO p VALUES (4, '".as_slice(), &value, b"')"].concat();
    let count = [b"SELECT COUNT(*) FROM p WHERE name = '".as_slice(), &value, b"'"].concat();
    gw.block_on(async {
        let mut native = direct(&a).await;
        let mut g = gw.connect("a").await;
        let mut seen = Vec::new();
        for (conn, other) in [(&mut native, b.name.as_str()), (&mut g, "b")] {
            conn.query_drop("SET NAMES sjis").await.expect("sjis");
            conn.query_drop(format!("USE {other}")).await.expect("use");
            if let Err(e) = conn.query_drop(attack.clone()).await {
                assert_eq!(server_error(e).0, 1105, "{other}: only the gateway's refusal");
            }
            conn.query_drop(insert.clone()).await.expect("insert");
            let found: Vec<Vec<String>> = conn
                .query::<mysql_async::Row, _>(count.clone())
                .await
                .expect("count")
                .into_iter()
                .map(|r| r.unwrap().into_iter().map(crate::support::text).collect())
                .collect();
            conn.query_drop("SET NAMES utf8mb4").await.expect("utf8mb4");
            let stored = rows(conn, "SELECT COUNT(*), HEX(MAX(name)) FROM p").await;
            seen.push((found, stored));
        }
        assert_eq!(
            seen[0],
            (
                vec![vec!["1".to_string()]],
                vec![vec!["4".to_string(), "E38182E38184".to_string()]]
            )
        );
        assert_eq!(seen[1], seen[0], "gateway (left), native (right)");
    });
}

/// The session's character sets after a COM_CHANGE_USER naming sjis_japanese_ci
/// (13), sent by hand from pymysql (which names none itself).
const CHANGE_USER: &str = r#"
import struct, sys
import pymysql
from pymysql import _auth

host, port, user, password, database = sys.argv[1:]
c = pymysql.connect(host=host, port=int(port), user=user, password=password, database=database,
                    charset="utf8mb4", autocommit=True)
auth = _auth.scramble_native_password(password.encode(), c.salt) if password else b""
body = (user.encode() + b"\0" + bytes([len(auth)]) + auth + database.encode() + b"\0"
        + struct.pack("<H", 13) + b"mysql_native_password\0" + b"\0")
c._execute_command(0x11, body)
d = c._read_packet().get_all_data()
if d[:1] == b"\xfe":
    salt = d[1:].partition(b"\0")[2].rstrip(b"\0")
    c.write_packet(_auth.scramble_native_password(password.encode(), salt) if password else b"")
    d = c._read_packet().get_all_data()
assert d[:1] == b"\0", d
cur = c.cursor()
cur.execute("SELECT @@character_set_client, @@character_set_connection, @@character_set_results, @@collation_connection")
print(cur.fetchall())
c._execute_command(0x1f, b"")
c._read_packet()
cur.execute("SELECT @@character_set_client, @@collation_connection")
print(cur.fetchall())
"#;

#[test]
fn change_user_takes_the_packets_character_set() {
    let python = python();
    let (a, _b, gw) = two();
    let run = |host: &str, port: &str, user: &str, password: &str, db: &str| {
        let out = Command::new(&python)
            .args(["-c", CHANGE_USER, host, port, user, password, db])
            .output()
            .expect("python runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // mysql://user[:password]@host[:port]/database
    let rest = a.url.trim_start_matches("mysql://");
    let (login, place) = rest.rsplit_once('@').expect("a user in the test URL");
    let (user, password) = login.split_once(':').unwrap_or((login, ""));
    let address = place.split('/').next().expect("host");
    let (host, port) = address.split_once(':').unwrap_or((address, "3306"));
    let native = run(host, port, user, password, &a.name);
    let through = run(
        &gw.addr.ip().to_string(),
        &gw.addr.port().to_string(),
        USER,
        PASSWORD,
        "a",
    );
    assert!(native.contains("sjis_japanese_ci"), "{native}");
    assert_eq!(through, native);
}

/// Results in ucs2 (names the gateway cannot read as plain): the sql_mode still
/// goes along (read again in utf8mb4); the character sets do not.
#[test]
fn the_sql_mode_goes_along_under_ucs2_results() {
    let (_a, _b, gw) = two();
    gw.block_on(async {
        let mut g = gw.connect("a").await;
        g.query_drop("SET sql_mode = 'NO_BACKSLASH_ESCAPES', character_set_results = ucs2")
            .await
            .expect("set");
        g.query_drop("USE b").await.expect("use");
        g.query_drop("SET character_set_results = utf8mb4").await.expect("set");
        assert_eq!(rows(&mut g, "SELECT @@sql_mode").await, [["NO_BACKSLASH_ESCAPES"]]);
    });
}
