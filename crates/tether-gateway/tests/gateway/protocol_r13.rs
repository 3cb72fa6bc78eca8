//! The thirteenth review's protocol findings (r13a 3, 4, 8), each against native
//! MariaDB: a prepared planned write whose comments hold a quote or a `?`;
//! COM_STMT_SEND_LONG_DATA with the NULL bit set and for numeric parameters;
//! COM_QUERY text that is not UTF-8 (pymysql's bytes parameters in every mode, text
//! after `SET NAMES latin1`).

use std::net::SocketAddr;
use std::process::Command;

use mysql_async::prelude::Queryable;
use tether_testkit::{TestDb, TestEngine};

use crate::limits::prepare;
use crate::pymysql::python;
use crate::support::{caps, dump, err_packet, native_and_gateway, start, start_one, Raw, PASSWORD, USER};

const TYPE_LONG: u8 = 3;
const TYPE_VAR_STRING: u8 = 253;

const PARENTS: &str = "
CREATE TABLE p (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid INT,
  CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(20), n INT) ENGINE=InnoDB;
INSERT INTO p VALUES (1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (6, 0), (7, 0);
INSERT INTO c VALUES (10, 1), (20, 2), (30, 3), (40, 4), (50, 5), (60, 6), (70, 7);
";

#[test]
fn prepared_planned_writes_with_quotes_and_placeholders_in_comments_run_as_natively() {
    let native = TestDb::create(TestEngine::Mysql);
    let db = TestDb::create(TestEngine::Mysql);
    native.exec(PARENTS);
    db.exec(PARENTS);
    let gw = start_one(&db, "managed");
    let statements = [
        ("DELETE FROM p /* the customer's row */ WHERE id = ?", 1),
        ("DELETE FROM p /* which one? */ WHERE id = ?", 2),
        ("DELETE FROM p -- it's this one?\nWHERE id = ?", 3),
        ("DELETE FROM p # isn't it? \"\nWHERE id = ?", 4),
        ("DELETE FROM p WHERE id = /*!50000 ? */ /* ? ' */", 5),
        ("DELETE FROM p WHERE id = ? /*!110000 AND v = ? */", 6),
        ("DELETE /*+ which? */ FROM p WHERE id = ? -- '", 7),
    ];
    gw.block_on(async {
        let (mut n, mut g) = native_and_gateway(&native, &gw, false).await;
        for (sql, id) in statements {
            n.exec_drop(sql, (id,))
                .await
                .unwrap_or_else(|e| panic!("native {sql}: {e}"));
            g.exec_drop(sql, (id,))
                .await
                .unwrap_or_else(|e| panic!("gateway {sql}: {e}"));
            assert_eq!(
                (n.affected_rows(), g.affected_rows()),
                (1, 1),
                "{sql}: native and gateway delete one row"
            );
        }
        let want: Vec<(String, Vec<Vec<String>>)> = vec![("p".into(), vec![]), ("c".into(), vec![])];
        assert_eq!(dump(&mut n, &["p", "c"]).await, want, "native");
        assert_eq!(dump(&mut g, &["p", "c"]).await, want, "through the gateway");
    });
}

/// A raw client logged in to MariaDB itself as `db`'s URL says (no password).
pub(crate) fn native_raw(db: &TestDb) -> Raw {
    let rest = db.url.strip_prefix("mysql://").expect("a mysql:// URL");
    let (user, rest) = rest.split_once('@').expect("user@host");
    let host = rest.split('/').next().expect("host:port");
    let addr: SocketAddr = host.parse().expect("ip:port");
    let (mut raw, _salt) = Raw::greeted(addr);
    let mut login = caps::BASE.to_le_bytes().to_vec();
    login.extend_from_slice(&(1u32 << 24).to_le_bytes());
    login.push(45);
    login.extend_from_slice(&[0; 23]);
    login.extend_from_slice(format!("{user}\0").as_bytes());
    login.push(0); // no password
    login.extend_from_slice(format!("{}\0mysql_native_password\0", db.name).as_bytes());
    raw.write(1, &login);
    let (_, ok) = raw.read();
    assert_eq!(ok[0], 0x00, "logged in to MariaDB: {:?}", String::from_utf8_lossy(&ok));
    raw
}

pub(crate) fn long_data(raw: &mut Raw, id: u32, param: u16, data: &[u8]) {
    let mut body = id.to_le_bytes().to_vec();
    body.extend_from_slice(&param.to_le_bytes());
    body.extend_from_slice(data);
    raw.command(0x18, &body);
}

/// COM_STMT_EXECUTE of `id`: NULL bitmap, the types, then the values; the
/// answer as `ok` or `err <code>`.
fn execute(raw: &mut Raw, id: u32, bitmap: u8, types: &[u8], values: &[u8]) -> String {
    let mut body = id.to_le_bytes().to_vec();
    body.push(0);
    body.extend_from_slice(&1u32.to_le_bytes());
    body.push(bitmap);
    body.push(1);
    for t in types {
        body.extend_from_slice(&[*t, 0]);
    }
    body.extend_from_slice(values);
    raw.command(0x17, &body);
    let answer = raw.answer();
    match answer[0][0] {
        0x00 => "ok".into(),
        0xff => format!("err {}", err_packet(&answer[0]).0),
        _ => format!("{answer:?}"),
    }
}

/// The COM_STMT_SEND_LONG_DATA steps of the finding, on one connection.
fn long_data_steps(raw: &mut Raw) -> Vec<String> {
    let int = |v: i32| v.to_le_bytes().to_vec();
    let mut answers = Vec::new();
    let insert_c = prepare(raw, "INSERT INTO c VALUES (?, ?)");
    // Long data for an INT parameter: 1210 (with or without a value in the packet).
    long_data(raw, insert_c, 1, b"2");
    answers.push(execute(
        raw,
        insert_c,
        0,
        &[TYPE_LONG, TYPE_LONG],
        &[int(51), int(0)].concat(),
    ));
    long_data(raw, insert_c, 1, b"2");
    answers.push(execute(raw, insert_c, 0, &[TYPE_LONG, TYPE_LONG], &int(53)));
    // The long data was dropped with the failed execution: a string parameter
    // without a value is malformed now.
    answers.push(execute(raw, insert_c, 0, &[TYPE_LONG, TYPE_VAR_STRING], &int(54)));
    // A string parameter: its value is the long data.
    long_data(raw, insert_c, 1, b"2");
    answers.push(execute(raw, insert_c, 0, &[TYPE_LONG, TYPE_VAR_STRING], &int(52)));
    // The NULL bit set on a parameter with long data: the long data wins (p 1 and
    // its child are deleted).
    let delete_p = prepare(raw, "DELETE FROM p WHERE id = ?");
    long_data(raw, delete_p, 0, b"1");
    answers.push(execute(raw, delete_p, 0b1, &[TYPE_VAR_STRING], &[]));
    // A table without FKs: the same two rules.
    let insert_t = prepare(raw, "INSERT INTO t VALUES (?, ?, ?)");
    long_data(raw, insert_t, 1, b"hello");
    answers.push(execute(
        raw,
        insert_t,
        0b010,
        &[TYPE_LONG, TYPE_VAR_STRING, TYPE_LONG],
        &[int(1), int(5)].concat(),
    ));
    long_data(raw, insert_t, 2, b"7");
    answers.push(execute(
        raw,
        insert_t,
        0,
        &[TYPE_LONG, TYPE_VAR_STRING, TYPE_LONG],
        &[int(2), vec![1, b'x']].concat(),
    ));
    answers
}

#[test]
fn long_data_wins_over_the_null_bit_and_is_refused_for_numeric_parameters_as_natively() {
    let native = TestDb::create(TestEngine::Mysql);
    let db = TestDb::create(TestEngine::Mysql);
    native.exec(PARENTS);
    db.exec(PARENTS);
    let gw = start_one(&db, "managed");
    let want = ["err 1210", "err 1210", "err 1210", "ok", "ok", "ok", "err 1210"];
    assert_eq!(long_data_steps(&mut native_raw(&native)), want, "native");
    assert_eq!(
        long_data_steps(&mut Raw::login(gw.addr, caps::BASE, "ks")),
        want,
        "through the gateway"
    );
    let strings = |rows: Vec<Vec<Option<String>>>| -> Vec<Vec<String>> {
        rows.into_iter()
            .map(|r| r.into_iter().map(|v| v.unwrap_or_else(|| "NULL".into())).collect())
            .collect()
    };
    for (side, d) in [("native", &native), ("gateway", &db)] {
        assert_eq!(
            strings(d.query("SELECT id, pid FROM c ORDER BY id")),
            vec![
                vec!["20", "2"],
                vec!["30", "3"],
                vec!["40", "4"],
                vec!["50", "5"],
                vec!["52", "2"],
                vec!["60", "6"],
                vec!["70", "7"]
            ],
            "{side}: c"
        );
        assert_eq!(
            strings(d.query("SELECT id, s, n FROM t ORDER BY id")),
            vec![vec!["1", "hello", "5"]],
            "{side}: t"
        );
    }
}

const BLOBS: &str = "
CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE b (id INT PRIMARY KEY, data BLOB) ENGINE=InnoDB;
CREATE TABLE bc (id INT PRIMARY KEY, pid INT, data BLOB,
  CONSTRAINT bc_p FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE l (id INT PRIMARY KEY, s VARCHAR(10) CHARACTER SET latin1) ENGINE=InnoDB;
INSERT INTO p VALUES (1), (2);
";

const BYTES_SCRIPT: &str = r#"
import sys
import pymysql

host, port, user, password, database, mode = sys.argv[1:]


def connect(**options):
    return pymysql.connect(host=host, port=int(port), user=user, password=password, database=database,
                           autocommit=True, **options)


def expect(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")
    print(f"ok: {what}")


data = b"\xff\xfe\x00abc'\\\"\x1a\r\n%_"
# pymysql's default sends bytes as '...'; binary_prefix=True as _binary'...'.
plain = connect().cursor()
prefixed = connect(binary_prefix=True).cursor()

plain.execute("INSERT INTO b VALUES (%s, %s)", (1, data))
expect(plain.rowcount, 1, "bytes into a BLOB")
plain.execute("SELECT data FROM b WHERE data = %s", (data,))
expect(plain.fetchall(), ((data,),), "bytes compared in a WHERE")
plain.execute("UPDATE b SET data = %s WHERE id = %s", (data + b"\xfe", 1))
expect(plain.rowcount, 1, "UPDATE of a BLOB to bytes")
prefixed.execute("INSERT INTO b VALUES (%s, %s)", (2, data))
prefixed.execute("SELECT HEX(data) FROM b ORDER BY id")
expect(prefixed.fetchall(), (((data + b"\xfe").hex().upper(),), (data.hex().upper(),)), "stored bytes")

# Writes with FK work (planned in a managed keyspace).
prefixed.execute("INSERT INTO bc VALUES (%s, %s, %s)", (10, 1, data))
expect(prefixed.rowcount, 1, "_binary bytes into a child's BLOB")
try:
    prefixed.execute("INSERT INTO bc VALUES (%s, %s, %s)", (11, 9, data))
    raise AssertionError("a child of a missing parent was inserted")
except pymysql.err.IntegrityError as e:
    expect(e.args[0], 1452, "a missing parent: 1452")
prefixed.execute("UPDATE bc SET data = %s WHERE pid = %s", (data + b"\xff", 1))
expect(prefixed.rowcount, 1, "UPDATE of a child's BLOB to bytes")
prefixed.execute("UPDATE p SET id = 5 WHERE id = 1 AND %s <> ''", (data,))
expect(prefixed.rowcount, 1, "a cascading UPDATE with bytes in its WHERE")
prefixed.execute("SELECT id, pid, data FROM bc")
expect(prefixed.fetchall(), ((10, 5, data + b"\xff"),), "the child, cascaded, with its bytes")

# Plain bytes in a write with FK work: the gateway, which plans it in a managed
# keyspace, refuses it (it reads UTF-8 only); elsewhere forwarded. pymysql 1.0 sends
# bytes as '...' (not UTF-8); later versions as X'...', which the gateway
# plans like any write (the parent exists: inserted).
raw = plain.connection.escape(data).startswith("'")
try:
    plain.execute("INSERT INTO bc VALUES (%s, %s, %s)", (12, 2, data))
    outcome = "ok"
except pymysql.err.OperationalError as e:
    outcome = e.args[0]
expect(outcome, 1105 if mode == "managed" and raw else "ok", "plain bytes into a child's BLOB")
print("bytes: all checks passed")
"#;

#[test]
fn pymysql_bytes_parameters_reach_blobs_in_every_mode() {
    let python = python();
    for mode in ["unmanaged", "managed", "disallow"] {
        let db = TestDb::create(TestEngine::Mysql);
        db.exec(BLOBS);
        let gw = start_one(&db, mode);
        let out = Command::new(&python)
            .args([
                "-c",
                BYTES_SCRIPT,
                &gw.addr.ip().to_string(),
                &gw.addr.port().to_string(),
                USER,
                PASSWORD,
                "ks",
                mode,
            ])
            .output()
            .expect("python runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{mode}: the pymysql script failed\n{stdout}\n{stderr}"
        );
        assert!(stdout.ends_with("bytes: all checks passed\n"), "{mode}: {stdout}");
    }
}

/// One text query's answer as `ok`, `err <code>` or its rows' first cells.
fn answer(raw: &mut Raw, sql: &[u8]) -> String {
    raw.command(0x03, sql);
    let answer = raw.answer();
    match answer[0][0] {
        0x00 => "ok".into(),
        0xff => format!("err {}", err_packet(&answer[0]).0),
        _ => {
            // Column count, its definitions, rows, the closing OK (DEPRECATE_EOF).
            let columns = usize::from(answer[0][0]);
            let rows = &answer[1 + columns..answer.len() - 1];
            let cells: Vec<String> = rows
                .iter()
                .map(|r| String::from_utf8_lossy(&r[1..1 + usize::from(r[0])]).into_owned())
                .collect();
            cells.join(",")
        }
    }
}

/// Text after `SET NAMES latin1`, on one connection.
fn latin1_steps(raw: &mut Raw) -> Vec<String> {
    [
        &b"SET NAMES latin1"[..],
        b"INSERT INTO l VALUES (1, '\xe9t\xe9')",
        b"SELECT HEX(s) FROM l WHERE s = '\xe9t\xe9'",
        b"UPDATE l SET s = '\xe0' WHERE id = 1",
        b"SELECT id FROM l WHERE s = '\xe0'",
        // Not UTF-8 in a name: forwarded in an unmanaged keyspace (the table does
        // not exist: MariaDB's own 1146).
        b"SELECT * FROM l\xe9",
        // The child of a managed keyspace needs its parent checked: refused there.
        b"INSERT INTO bc VALUES (1, 1, '\xe9')",
    ]
    .iter()
    .map(|sql| answer(raw, sql))
    .collect()
}

#[test]
fn text_in_latin1_is_forwarded_as_its_bytes_and_refused_only_where_it_must_be_planned() {
    let native = TestDb::create(TestEngine::Mysql);
    native.exec(BLOBS);
    let native_answers = latin1_steps(&mut native_raw(&native));
    assert_eq!(
        native_answers,
        ["ok", "ok", "E974E9", "ok", "1", "err 1146", "ok"],
        "native"
    );
    for mode in ["unmanaged", "managed", "disallow"] {
        let db = TestDb::create(TestEngine::Mysql);
        db.exec(BLOBS);
        let gw = start(&[("ks", mode, &db.url)]);
        let got = latin1_steps(&mut Raw::login(gw.addr, caps::BASE, "ks"));
        let mut want = native_answers.clone();
        if mode == "managed" {
            // A write with FK work, planned by the gateway, which reads UTF-8 only.
            want[6] = "err 1105".into();
        }
        assert_eq!(got, want, "{mode}");
        assert_eq!(
            db.query("SELECT HEX(s) FROM l"),
            vec![vec![Some("E0".to_string())]],
            "{mode}: latin1 stored"
        );
    }
    // The refusal names the reason.
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(BLOBS);
    let gw = start_one(&db, "managed");
    let mut raw = Raw::login(gw.addr, caps::BASE, "ks");
    answer(&mut raw, b"SET NAMES latin1");
    raw.command(0x03, b"INSERT INTO bc VALUES (1, 1, '\xe9')");
    let refused = raw.answer();
    let (code, message) = err_packet(&refused[0]);
    assert_eq!(code, 1105);
    assert!(message.contains("not valid UTF-8"), "{message}");
    assert!(message.contains("foreign-key work"), "{message}");
}
