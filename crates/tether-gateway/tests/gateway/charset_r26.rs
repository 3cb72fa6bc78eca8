//! Twenty-sixth session writer C: the gateway reads each client text (and writes
//! each prepared parameter) under the character sets the backend session will use
//! (review r26d F1, F2, F4, F5; r26b F3).
//!
//! - r26d F1: a backend connection's cached `(character_set_client,
//!   character_set_connection)` was kept when `USE` carried other character sets
//!   to it: after `SET NAMES sjis; USE b` the gateway read b's text as the cached
//!   utf8mb4 while the server read sjis (a hidden statement ran, a bound
//!   parameter became SQL).
//! - r26d F2: COM_CHANGE_USER naming a collation id above 255 was ignored.
//! - r26d F4: under `character_set_results = ucs2` `USE` carried no character sets.
//! - r26d F5: COM_CHANGE_USER naming ucs2 was answered OK, then every command failed.
//! - r26b F3: the carry (`SET character_set_client = ..`) left a prepared
//!   parameter at the character set's default collation where `SET NAMES ..
//!   COLLATE` gives it the named one.

use std::process::Command;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_testkit::{TestDb, TestEngine};

use crate::pymysql::python;
use crate::support::{direct, rows, server_error, start, Gw, PASSWORD, USER};

pub(crate) const PARENTS: &str = "CREATE TABLE p (id INT PRIMARY KEY, name VARCHAR(20)) ENGINE=InnoDB;
    INSERT INTO p VALUES (1, 'a'), (2, 'b'), (3, 'c')";

const FAMILY: &str = "CREATE TABLE p (id INT PRIMARY KEY, name VARCHAR(20)) ENGINE=InnoDB;
    CREATE TABLE c (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES p (id) ON DELETE RESTRICT) ENGINE=InnoDB;
    INSERT INTO p VALUES (1, 'a'), (2, 'b'), (3, 'c');
    INSERT INTO c VALUES (10, 1), (20, 2)";

/// A database holding `schema`.
pub(crate) fn db(schema: &str) -> TestDb {
    let d = TestDb::create(TestEngine::Mysql);
    d.exec(schema);
    d
}

/// The outcome of a query as a comparable value: its rows, or its error code.
async fn outcome(conn: &mut Conn, sql: impl AsRef<[u8]>) -> Result<Vec<Vec<String>>, u16> {
    let sql = sql.as_ref().to_vec();
    match conn.query::<mysql_async::Row, _>(sql).await {
        Ok(rs) => Ok(rs
            .into_iter()
            .map(|r| r.unwrap().into_iter().map(crate::support::text).collect())
            .collect()),
        Err(e) => Err(server_error(e).0),
    }
}

/// The outcome of executing `sql` prepared with string parameters `params`.
async fn prepared(conn: &mut Conn, sql: &str, params: &[&[u8]]) -> Result<Vec<Vec<String>>, u16> {
    let values: Vec<mysql_async::Value> = params.iter().map(|p| mysql_async::Value::Bytes(p.to_vec())).collect();
    match conn.exec::<mysql_async::Row, _, _>(sql, values).await {
        Ok(rs) => {
            let mut out: Vec<Vec<String>> = rs
                .into_iter()
                .map(|r| r.unwrap().into_iter().map(crate::support::text).collect())
                .collect();
            out.push(vec!["affected".into(), conn.affected_rows().to_string()]);
            Ok(out)
        }
        Err(e) => Err(server_error(e).0),
    }
}

/// r26d F1. Connected to managed keyspace `b`: a statement prepared there is
/// executed from keyspace `a` with a parameter the gateway refuses right after
/// reading b's character sets (which fills b's cache with utf8mb4); then `SET
/// NAMES sjis` in `a` and `USE b`. b's text is now read as sjis: the text that
/// hides a CREATE TABLE with an FK behind `ā\'` (C4 81 5C: sjis reads 81 5C as
/// one character and ends the string at the quote) is refused as after a plain
/// `SET NAMES sjis`, and no FK appears in the disallow keyspace's database; a
/// bound parameter `ā' OR id = 3 -- ` deletes nothing (natively: 1267).
#[test]
fn a_carried_charset_is_not_hidden_by_a_cached_one() {
    let a = db(PARENTS);
    let b = db(FAMILY);
    let n = db("CREATE TABLE p2 (id INT PRIMARY KEY) ENGINE=InnoDB");
    let nb = db(FAMILY);
    let gw = start(&[
        ("a", "unmanaged", &a.url),
        ("b", "managed", &b.url),
        ("d", "disallow", &n.url),
    ]);
    let attack = format!(
        "SELECT 'ā\\'; CREATE TABLE {}.c2 (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES {}.p2 (id)) \
         ENGINE=InnoDB; -- '",
        n.name, n.name
    );
    let injection = "ā' OR id = 3 -- ".as_bytes();
    gw.block_on(async {
        // Native: the same parameter under sjis.
        let mut native = direct(&nb).await;
        native.query_drop("SET NAMES sjis").await.expect("sjis");
        let native_param = prepared(&mut native, "DELETE FROM p WHERE name = ?", &[injection]).await;
        native.query_drop("SET NAMES utf8mb4").await.expect("utf8mb4");
        let native_left = rows(&mut native, "SELECT id FROM p ORDER BY id").await;
        assert_eq!(native_param, Err(1267));

        let mut g = gw.connect("b").await;
        g.query_drop("SET character_set_connection = latin1")
            .await
            .expect("latin1");
        let delete = g.prep("DELETE FROM p WHERE name = ?").await.expect("prepare");
        g.query_drop("USE a").await.expect("use a");
        let refused = g
            .exec_drop(&delete, (vec![0xFFu8],))
            .await
            .map_err(|e| server_error(e).0);
        assert_eq!(refused, Err(1105), "the step that fills b's cache");
        g.query_drop("SET NAMES sjis").await.expect("sjis");
        g.query_drop("USE b").await.expect("use b");
        assert_eq!(outcome(&mut g, &attack).await, Err(1105), "read as sjis: refused");
        // Refused or run as a value: nothing matches it.
        let _ = g.exec_drop(&delete, (injection.to_vec(),)).await;
        g.query_drop("SET NAMES utf8mb4").await.expect("utf8mb4");
        assert_eq!(rows(&mut g, "SELECT id FROM p ORDER BY id").await, native_left);
        assert_eq!(native_left, [["1"], ["2"], ["3"]]);
        let mut m = direct(&n).await;
        let fks = rows(
            &mut m,
            &format!(
                "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = '{}'",
                n.name
            ),
        )
        .await;
        assert_eq!(fks, [["0"]], "no FK in the disallow keyspace's database");
    });
}

/// `ﾄ―'` escaped for sjis (C4 81 5C 5C 27) in a DELETE: a value for an sjis
/// server, code (`OR 1=1`) for a utf8mb4 reader.
fn sjis_attack() -> Vec<u8> {
    [
        b"DELETE FROM p WHERE name = '".as_slice(),
        &[0xC4, 0x81, 0x5C, 0x5C, 0x27],
        b" OR 1=1 -- '",
    ]
    .concat()
}

/// r26d F4: `SET NAMES sjis, character_set_results = ucs2; USE e` keeps the
/// session sjis (the names are read in binary), so the sjis-escaped DELETE
/// deletes nothing, as natively; the character sets are the native ones.
#[test]
fn use_carries_the_charsets_under_ucs2_results() {
    let (a, e, na, ne) = (db(PARENTS), db(PARENTS), db(PARENTS), db(PARENTS));
    let gw = start(&[("a", "unmanaged", &a.url), ("e", "unmanaged", &e.url)]);
    gw.block_on(async {
        let mut native = direct(&na).await;
        let mut g = gw.connect("a").await;
        let mut seen = Vec::new();
        for (conn, other) in [(&mut native, ne.name.as_str()), (&mut g, "e")] {
            conn.query_drop("SET NAMES sjis").await.expect("sjis");
            conn.query_drop("SET character_set_results = ucs2").await.expect("ucs2");
            conn.query_drop(format!("USE {other}")).await.expect("use");
            let attack = outcome(conn, sjis_attack()).await;
            // (The client reads no column definitions in ucs2.)
            conn.query_drop("SET character_set_results = utf8mb4")
                .await
                .expect("results");
            let charsets = rows(conn, "SELECT @@character_set_client, @@collation_connection").await;
            conn.query_drop("SET NAMES utf8mb4").await.expect("utf8mb4");
            let left = rows(conn, "SELECT COUNT(*) FROM p").await;
            seen.push((attack.is_ok(), charsets, left));
        }
        assert_eq!(
            (&seen[0].1, &seen[0].2),
            (
                &vec![vec!["sjis".to_string(), "sjis_japanese_ci".into()]],
                &vec![vec!["3".to_string()]]
            )
        );
        // The gateway refuses the text (1105) where the server deletes nothing.
        assert_eq!(
            (&seen[1].1, &seen[1].2),
            (&seen[0].1, &seen[0].2),
            "gateway (left), native (right)"
        );
    });
}

/// A COM_CHANGE_USER naming collation id `sys.argv[6]`, sent by hand from
/// pymysql after a latin1 login and `SET NAMES sjis`: its answer, the session's
/// character sets, the sjis-escaped DELETE's rows left, a second command, and
/// the character sets after COM_RESET_CONNECTION.
const CHANGE_USER: &str = r#"
import struct, sys
import pymysql
from pymysql import _auth

host, port, user, password, database, cs, attack = sys.argv[1:]
c = pymysql.connect(host=host, port=int(port), user=user, password=password, database=database,
                    charset="latin1", autocommit=True)
cur = c.cursor()
cur.execute("SET NAMES sjis")
auth = _auth.scramble_native_password(password.encode(), c.salt) if password else b""
body = (user.encode() + b"\0" + bytes([len(auth)]) + auth + database.encode() + b"\0"
        + struct.pack("<H", int(cs)) + b"mysql_native_password\0" + b"\0")
c._execute_command(0x11, body)
try:
    d = c._read_packet().get_all_data()
    if d[:1] == b"\xfe":
        salt = d[1:].partition(b"\0")[2].rstrip(b"\0")
        c.write_packet(_auth.scramble_native_password(password.encode(), salt) if password else b"")
        d = c._read_packet().get_all_data()
    print("change-user", d[:1])
except pymysql.err.MySQLError as e:
    print("change-user", e.args)
V = "SELECT @@character_set_client, @@character_set_connection, @@character_set_results, @@collation_connection"
cur.execute(V)
print(cur.fetchall())
try:
    c._execute_command(3, bytes.fromhex(attack))
    c._read_query_result()
except pymysql.err.MySQLError as e:
    pass
cur.execute("SELECT COUNT(*) FROM p")
print(cur.fetchall())
c._execute_command(0x1f, b"")
c._read_packet()
cur.execute(V)
print(cur.fetchall())
"#;

/// Runs [`CHANGE_USER`] naming `id` natively (on `native`) and through the
/// gateway's keyspace `ks`.
pub(crate) fn change_user(gw: &Gw, native: &TestDb, ks: &str, id: u16) -> (String, String) {
    let python = python();
    let attack: String = sjis_attack().iter().map(|b| format!("{b:02x}")).collect();
    let run = |host: &str, port: &str, user: &str, password: &str, db: &str| {
        let out = Command::new(&python)
            .args([
                "-c",
                CHANGE_USER,
                host,
                port,
                user,
                password,
                db,
                &id.to_string(),
                &attack,
            ])
            .output()
            .expect("python runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // mysql://user[:password]@host[:port]/database
    let rest = native.url.trim_start_matches("mysql://");
    let (login, place) = rest.rsplit_once('@').expect("a user in the test URL");
    let (user, password) = login.split_once(':').unwrap_or((login, ""));
    let address = place.split('/').next().expect("host");
    let (host, port) = address.split_once(':').unwrap_or((address, "3306"));
    let n = run(host, port, user, password, &native.name);
    let g = run(
        &gw.addr.ip().to_string(),
        &gw.addr.port().to_string(),
        USER,
        PASSWORD,
        ks,
    );
    (n, g)
}

/// r26d F2: collation ids above 255 (sjis_japanese_nopad_ci 1037,
/// utf8mb4_croatian_ci 608) and non-default ones below (utf8mb4_bin 46) become
/// the session's, as natively: the sjis-escaped DELETE deletes nothing, and a
/// COM_RESET_CONNECTION returns to them.
#[test]
fn change_user_takes_collation_ids_past_255() {
    let e = db(PARENTS);
    let gw = start(&[("e", "unmanaged", &e.url)]);
    for id in [1037, 608, 46] {
        let native = db(PARENTS);
        let (n, g) = change_user(&gw, &native, "e", id);
        if id == 1037 {
            assert_eq!(
                n,
                "change-user b'\\x00'\n(('sjis', 'sjis', 'sjis', 'sjis_japanese_nopad_ci'),)\n((3,),)\n\
                 (('sjis', 'sjis', 'sjis', 'sjis_japanese_nopad_ci'),)\n"
            );
        }
        assert_eq!(g, n, "collation {id}: gateway (left), native (right)");
        e.exec("DELETE FROM p; INSERT INTO p VALUES (1, 'a'), (2, 'b'), (3, 'c')");
    }
}

/// r26d F5: COM_CHANGE_USER naming ucs2 (35), utf16 (54), utf32 (60) is refused
/// with 1231 and the connection goes on in the server's default character sets
/// (a reset returns to the login's latin1), as natively.
#[test]
fn change_user_refuses_ucs2_as_natively() {
    let e = db(PARENTS);
    let native = db(PARENTS);
    let gw = start(&[("e", "unmanaged", &e.url)]);
    for id in [35, 54, 60] {
        let (n, g) = change_user(&gw, &native, "e", id);
        assert!(n.starts_with("change-user (1231, "), "{n}");
        assert_eq!(g, n, "collation {id}: gateway (left), native (right)");
    }
}

/// r26b F3: after `SET NAMES utf8mb4 COLLATE ..; USE other` (unmanaged and
/// managed) prepared string parameters compare under the named collation, as
/// natively; `SET NAMES utf8mb4; SET collation_connection = ..` leaves them at
/// utf8mb4_general_ci (1267 against a literal), as natively.
#[test]
fn prepared_parameters_keep_set_names_collation_after_use() {
    for mode in ["unmanaged", "managed"] {
        let (a, b, na, nb) = (db(FAMILY), db(FAMILY), db(FAMILY), db(FAMILY));
        let gw = start(&[("a", mode, &a.url), ("b", mode, &b.url)]);
        gw.block_on(async {
            for names in [
                "SET NAMES utf8mb4 COLLATE utf8mb4_bin",
                "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci",
                "SET NAMES latin1 COLLATE latin1_bin",
                "SET NAMES utf8mb4, collation_connection = utf8mb4_unicode_ci",
            ] {
                let mut native = direct(&na).await;
                let mut g = gw.connect("a").await;
                let mut seen = Vec::new();
                for (conn, other) in [(&mut native, nb.name.as_str()), (&mut g, "b")] {
                    conn.query_drop(names).await.expect(names);
                    conn.query_drop(format!("USE {other}")).await.expect("use");
                    let mut got = vec![
                        prepared(conn, "SELECT 1 FROM p WHERE id = 1 AND ? = ?", &[b"A", b"a"]).await,
                        prepared(conn, "SELECT COUNT(*) FROM p WHERE ? = 'a'", &[b"A"]).await,
                        prepared(conn, "UPDATE p SET name = 'x' WHERE id = 3 AND ? = ?", &[b"C", b"c"]).await,
                        prepared(conn, "DELETE FROM p WHERE id = 3 AND ? = ?", &[b"C", b"c"]).await,
                    ];
                    conn.query_drop("SET NAMES utf8mb4").await.expect("utf8mb4");
                    got.push(outcome(conn, "SELECT id, name FROM p ORDER BY id").await);
                    seen.push(got);
                }
                assert_eq!(seen[1], seen[0], "{mode}, {names}: gateway (left), native (right)");
                if names.ends_with("utf8mb4_bin") {
                    assert_eq!(
                        seen[0][0],
                        Ok(vec![vec!["affected".to_string(), "0".into()]]),
                        "{names}: 'A' = 'a' is false"
                    );
                }
                if names.contains("collation_connection") {
                    assert_eq!(seen[0][1], Err(1267), "{names}");
                }
                for d in [&b, &nb] {
                    direct(d)
                        .await
                        .query_drop(
                            "DELETE FROM c; DELETE FROM p; INSERT INTO p VALUES (1, 'a'), (2, 'b'), (3, 'c'); \
                             INSERT INTO c VALUES (10, 1), (20, 2)",
                        )
                        .await
                        .expect("reset");
                }
            }
        });
    }
}
