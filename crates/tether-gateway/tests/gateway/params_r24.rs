//! Prepared-statement string parameters a managed keyspace inlines into the
//! statements it runs (review r24f findings 1 and 4), natively and through the
//! gateway:
//! 1. under `SET NAMES` sjis, cp932, gbk and big5 the byte 0x5C can be the trail
//!    byte of a two-byte character: a parameter `<char>\' OR 1=1 -- ` (or a quote
//!    after a lone lead byte) must stay one string, as natively;
//! 2. a parameter has the connection's character set and collation natively: a
//!    parameter the gateway can only write as `_<client> X'..'` is refused (1105)
//!    where that differs, and never compares under another collation;
//! 3. ordinary utf8mb4 and latin1 parameters behave as natively.

use mysql_async::prelude::Queryable;
use mysql_async::Value;
use tether_testkit::{TestDb, TestEngine};

use crate::support::{direct, native_and_gateway, rows, server_error, start_one};

const SCHEMA: &str = "CREATE TABLE p (k VARCHAR(40) PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, k VARCHAR(40),
  FOREIGN KEY (k) REFERENCES p (k) ON UPDATE CASCADE ON DELETE CASCADE) ENGINE=InnoDB;
INSERT INTO p VALUES ('a', 1), ('b', 2), ('c', 3), ('d', 4), ('e', 5);
INSERT INTO c VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e');";

/// An outcome: the affected rows, or the error code.
type Outcome = Result<u64, u16>;

/// After `setup` on both sessions, each `(statement, parameters)` executed as a
/// prepared statement natively and through a managed gateway, on fresh copies of
/// [`SCHEMA`]: the native and the gateway's outcomes, and that both databases
/// hold the same rows at the end (returned: the managed `p` keys).
fn run(setup: &[&str], steps: Vec<(&str, Vec<Value>)>) -> (Vec<Outcome>, Vec<Outcome>, Vec<Vec<String>>) {
    let native = TestDb::create(TestEngine::Mysql);
    let managed = TestDb::create(TestEngine::Mysql);
    native.exec(SCHEMA);
    managed.exec(SCHEMA);
    let gw = start_one(&managed, "managed");
    gw.block_on(async {
        let (mut n, mut g) = native_and_gateway(&native, &gw, false).await;
        for sql in setup {
            n.query_drop(*sql).await.expect("native setup");
            g.query_drop(*sql).await.expect("gateway setup");
        }
        let (mut on_native, mut on_gateway) = (Vec::new(), Vec::new());
        for (sql, params) in steps {
            let a = n.exec_drop(sql, params.clone()).await.map(|_| n.affected_rows());
            let b = g.exec_drop(sql, params).await.map(|_| g.affected_rows());
            on_native.push(a.map_err(|e| server_error(e).0));
            on_gateway.push(b.map_err(|e| server_error(e).0));
        }
        let (mut n, mut m) = (direct(&native).await, direct(&managed).await);
        for t in ["p", "c"] {
            let sql = format!("SELECT * FROM {t} ORDER BY 1");
            assert_eq!(rows(&mut n, &sql).await, rows(&mut m, &sql).await, "{t}");
        }
        let keys = rows(&mut m, "SELECT HEX(k) FROM p ORDER BY k").await;
        (on_native, on_gateway, keys)
    })
}

fn bytes(b: &[u8]) -> Vec<Value> {
    vec![Value::Bytes(b.to_vec())]
}

#[test]
fn a_backslash_trail_byte_in_a_parameter_injects_nothing() {
    // A two-byte character whose bytes in the client's character set end a lead
    // byte, valid UTF-8 all the same: ā (C4 81) in sjis / cp932, 丁 (E4 B8 81)
    // in gbk, 両 (E4 B8 A1) in big5.
    for (charset, prefix) in [
        ("sjis", &b"\xc4\x81"[..]),
        ("cp932", &b"\xc4\x81"[..]),
        ("gbk", &b"\xe4\xb8\x81"[..]),
        ("big5", &b"\xe4\xb8\xa1"[..]),
    ] {
        let with = |tail: &[u8]| [prefix, tail].concat();
        let set = format!("SET NAMES {charset}");
        // The connection in the same character set (the parameter keeps it), and
        // in utf8mb4 (converted to it).
        for setup in [
            vec![set.as_str()],
            vec![set.as_str(), "SET character_set_connection = utf8mb4"],
        ] {
            let introduced = setup.len() > 1;
            let mut steps = vec![
                // The reviewer's: the trail byte 0x5C, then `\'`.
                ("DELETE FROM p WHERE k = ?", bytes(&with(b"\\' OR 1=1 -- "))),
                // A quote right after the lead byte (no valid trail).
                ("DELETE FROM p WHERE k = ?", bytes(&with(b"' OR 1=1 -- "))),
                ("DELETE FROM p WHERE k = ?", bytes(&with(b"\\\\' OR 1=1 -- "))),
                // The trail byte closing the parameter.
                ("UPDATE p SET k = ? WHERE k = 'a'", bytes(&with(b"\\"))),
                ("UPDATE p SET k = ? WHERE k = 'b'", bytes(&with(b"'x\\y\n"))),
                ("DELETE FROM p WHERE k = ?", bytes(&with(b"'x\\y\n"))),
            ];
            if introduced {
                // Refused (1105) where the native run succeeds: left out.
                steps.remove(3);
            }
            let (native, gateway, keys) = run(&setup, steps);
            let refused = |i: usize| introduced && (i == 0 || i == 2);
            for (i, (n, g)) in native.iter().zip(&gateway).enumerate() {
                match refused(i) {
                    true => assert_eq!(*g, Err(1105), "{setup:?} {i}"),
                    // Bytes invalid in sjis: natively 1267 (mixed collations),
                    // through the gateway 1300 (the `_sjis X'..'` literal is
                    // checked): both errors, nothing written.
                    false if n.is_err() => assert!(g.is_err(), "{setup:?} {i}: {g:?}"),
                    false => assert_eq!(n, g, "{setup:?} {i}"),
                }
            }
            assert!(native[0] == Ok(0) && native[2] == Ok(0), "{setup:?}: {native:?}");
            assert!(keys.len() >= 4, "{setup:?}: {keys:?}");
        }
    }
}

#[test]
fn parameters_take_the_connection_collation_or_are_refused() {
    // Not UTF-8 (latin1 é and É) with a utf8mb4_bin connection: converted, é <> É
    // natively; the gateway cannot write them in the connection's character set
    // and refuses. ASCII is written as a plain literal: 'x' <> 'X' as natively.
    let (native, gateway, keys) = run(
        &[
            "SET character_set_client = latin1",
            "SET collation_connection = utf8mb4_bin",
        ],
        vec![
            (
                "DELETE FROM p WHERE v = 1 AND ? = ?",
                vec![Value::Bytes(vec![0xE9]), Value::Bytes(vec![0xC9])],
            ),
            (
                "DELETE FROM p WHERE v = 2 AND ? = ?",
                vec![Value::Bytes(b"x".to_vec()), Value::Bytes(b"X".to_vec())],
            ),
            ("DELETE FROM p WHERE k = ? COLLATE utf8mb4_bin", bytes(&[0xE9])),
        ],
    );
    assert_eq!(native, [Ok(0), Ok(0), Ok(0)]);
    assert_eq!(gateway, [Err(1105), Ok(0), Err(1105)]);
    assert_eq!(keys.len(), 5);
    // utf8mb4 on both sides: natively the parameters keep utf8mb4's default
    // collation (not utf8mb4_bin), é = É; the gateway writes `_utf8mb4 X'..'`.
    let (native, gateway, _) = run(
        &["SET NAMES utf8mb4", "SET collation_connection = utf8mb4_bin"],
        vec![
            (
                "DELETE FROM p WHERE v = 1 AND ? = ?",
                vec![Value::Bytes("é".into()), Value::Bytes("É".into())],
            ),
            ("DELETE FROM p WHERE k = ? COLLATE utf8mb4_bin", bytes(b"b")),
            (
                "DELETE FROM p WHERE v = 3 AND ? = ?",
                vec![Value::Bytes("é".into()), Value::Bytes("é".into())],
            ),
        ],
    );
    assert_eq!(native, gateway);
    assert_eq!(native, [Ok(1), Ok(1), Ok(1)]);
    // sjis `ā\` (a backslash trail byte) with a utf8mb4 connection: refused.
    let (native, gateway, _) = run(
        &["SET NAMES sjis", "SET character_set_connection = utf8mb4"],
        vec![("DELETE FROM p WHERE k = ? COLLATE utf8mb4_bin", bytes(b"\xc4\x81\\"))],
    );
    assert_eq!(native, [Ok(0)]);
    assert_eq!(gateway, [Err(1105)]);
}

#[test]
fn utf8mb4_and_latin1_parameters_are_unchanged() {
    for set in ["SET NAMES utf8mb4", "SET NAMES latin1"] {
        let (native, gateway, keys) = run(
            &[set],
            vec![
                (
                    "UPDATE p SET k = ? WHERE k = 'a'",
                    bytes("é'\\\"x\0\n\r\x1a".as_bytes()),
                ),
                (
                    "UPDATE p SET k = ? WHERE k = 'b'",
                    bytes("it's \\' OR 1=1 -- ".as_bytes()),
                ),
                ("DELETE FROM p WHERE k = ?", bytes("é'\\\"x\0\n\r\x1a".as_bytes())),
                ("DELETE FROM p WHERE k = ?", bytes(b"' OR 1=1 -- ")),
                ("DELETE FROM p WHERE k = ?", bytes("it's \\' OR 1=1 -- ".as_bytes())),
            ],
        );
        assert_eq!(native, gateway, "{set}");
        assert_eq!(native, [Ok(1), Ok(1), Ok(1), Ok(0), Ok(1)], "{set}");
        assert_eq!(keys.len(), 3, "{set}");
    }
}
