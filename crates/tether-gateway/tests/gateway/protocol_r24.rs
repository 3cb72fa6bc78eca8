//! The twenty-fourth session's protocol gaps (NOTES "Twenty-third session: left
//! open", r23e F2, r23m F6), each the same client action against MariaDB itself
//! and through the gateway, answers compared:
//! - the EOF after column definitions (clients without CLIENT_DEPRECATE_EOF)
//!   carries the status flags MariaDB sets there ("more results" in a
//!   multi-statement answer and in a CALL's);
//! - COM_STATISTICS, COM_PROCESS_INFO, COM_REFRESH and COM_DEBUG (`mariadb-admin
//!   status`, `flush-threads`, `refresh`) answered as MariaDB answers them, the
//!   backend's privileges deciding;
//! - COM_INIT_DB (and `USE`) of an empty name: 1046;
//! - logins: a wrong password to the gateway is MariaDB's 1045 (28000); the
//!   backend refusing the gateway's own login is the gateway's 1105, not a relayed
//!   1045 the client would read as its own password refused.

use std::net::SocketAddr;
use std::process::Command;

use mysql_async::prelude::Queryable;
use tether_testkit::{TestDb, TestEngine};

use crate::support::{caps, err_packet, ok_status, rows, server_error, start, start_one, Raw, PASSWORD, USER};

const CLIENT_MULTI_STATEMENTS: u32 = 1 << 16;
const CLIENT_MULTI_RESULTS: u32 = 1 << 17;
const SERVER_MORE_RESULTS_EXISTS: u16 = 0x0008;

const COM_INIT_DB: u8 = 0x02;
const COM_REFRESH: u8 = 0x07;
const COM_PROCESS_INFO: u8 = 0x0a;
const COM_DEBUG: u8 = 0x0d;

/// The address and user of the test MariaDB, from `db`'s URL (no password).
fn native(db: &TestDb) -> (SocketAddr, String) {
    let rest = db.url.strip_prefix("mysql://").expect("a mysql:// URL");
    let (user, rest) = rest.split_once('@').expect("user@host");
    let host = rest.split('/').next().expect("host:port");
    (host.parse().expect("ip:port"), user.to_string())
}

/// A HandshakeResponse41 for `user` (scrambled `password` with `salt`, none when
/// empty), offering `capabilities`, with database `db`.
fn login_packet(capabilities: u32, user: &str, password: &str, salt: &[u8], db: &str) -> Vec<u8> {
    let mut login = capabilities.to_le_bytes().to_vec();
    login.extend_from_slice(&(1u32 << 24).to_le_bytes());
    login.push(45);
    login.extend_from_slice(&[0; 23]);
    login.extend_from_slice(format!("{user}\0").as_bytes());
    let scramble = if password.is_empty() {
        Vec::new()
    } else {
        tether_gateway::scramble(password, salt)
    };
    login.push(scramble.len() as u8);
    login.extend_from_slice(&scramble);
    login.extend_from_slice(format!("{db}\0mysql_native_password\0").as_bytes());
    login
}

/// A raw client logged in to MariaDB itself, in `db`, offering `capabilities`.
fn native_login(db: &TestDb, capabilities: u32) -> Raw {
    let (addr, user) = native(db);
    let (mut raw, salt) = Raw::greeted(addr);
    raw.write(1, &login_packet(capabilities, &user, "", &salt, &db.name));
    let (_, ok) = raw.read();
    assert_eq!(ok[0], 0x00, "logged in to MariaDB: {:?}", String::from_utf8_lossy(&ok));
    raw
}

/// One answer to a client without CLIENT_DEPRECATE_EOF (an EOF after the column
/// definitions, another after the rows), every result of it: its packets, and
/// the status flags of each EOF after column definitions.
fn answer_with_eofs(raw: &mut Raw) -> (Vec<Vec<u8>>, Vec<u16>) {
    let mut packets = Vec::new();
    let mut column_eofs = Vec::new();
    let more = |status: u16| status & SERVER_MORE_RESULTS_EXISTS != 0;
    loop {
        let (_, first) = raw.read();
        packets.push(first.clone());
        match first[0] {
            0xff => return (packets, column_eofs),
            0x00 if more(ok_status(&first)) => continue,
            0x00 => return (packets, column_eofs),
            count => {
                for _ in 0..count {
                    packets.push(raw.read().1);
                }
                let (_, eof) = raw.read();
                assert_eq!((eof[0], eof.len()), (0xfe, 5), "the EOF after the definitions");
                column_eofs.push(u16::from_le_bytes([eof[3], eof[4]]));
                packets.push(eof);
                loop {
                    let (_, p) = raw.read();
                    packets.push(p.clone());
                    if p[0] == 0xff {
                        return (packets, column_eofs);
                    }
                    if p[0] == 0xfe && p.len() < 9 {
                        if more(u16::from_le_bytes([p[3], p[4]])) {
                            break;
                        }
                        return (packets, column_eofs);
                    }
                }
            }
        }
    }
}

const PROCEDURE: &str = "
CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE=InnoDB;
INSERT INTO t VALUES (1, 'one'), (2, 'two');
CREATE PROCEDURE two_results() BEGIN SELECT id FROM t ORDER BY id; SELECT v FROM t ORDER BY id; END;
";

#[test]
fn the_eof_after_column_definitions_carries_mariadbs_status_flags() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(PROCEDURE);
    let client = (caps::BASE & !caps::DEPRECATE_EOF) | CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS;
    let steps = [
        "SELECT 1 AS a; SELECT 2 AS b",
        "SELECT id FROM t ORDER BY id; SELECT 1/0 AS x; SELECT v FROM t ORDER BY id",
        "CALL two_results()",
        "BEGIN",
        "SELECT id FROM t ORDER BY id; UPDATE t SET v = 'uno' WHERE id = 1; SELECT v FROM t ORDER BY id",
        "CALL two_results()",
        "ROLLBACK",
        "SELECT v FROM t ORDER BY id",
    ];
    let run = |raw: &mut Raw| -> Vec<(Vec<Vec<u8>>, Vec<u16>)> {
        steps
            .iter()
            .map(|sql| {
                raw.command(0x03, sql.as_bytes());
                answer_with_eofs(raw)
            })
            .collect()
    };
    let want = run(&mut native_login(&db, client));
    // What MariaDB does: "more results" on the EOF after the definitions of every
    // result set but the last (the CALL's last is followed by its OK), and "in a
    // transaction" inside one (beside autocommit; other flags, such as "no index
    // used", as on the result set's end).
    const FLAGS: u16 = SERVER_MORE_RESULTS_EXISTS | 0x0001 | 0x0002;
    let flags: Vec<Vec<u16>> = want
        .iter()
        .map(|(_, eofs)| eofs.iter().map(|f| f & FLAGS).collect())
        .collect();
    assert_eq!(
        flags,
        vec![
            vec![0x000a, 0x0002],
            vec![0x000a, 0x000a, 0x0002],
            vec![0x000a, 0x000a],
            vec![],
            vec![0x000b, 0x0003],
            vec![0x000b, 0x000b],
            vec![],
            vec![0x0002],
        ],
        "MariaDB's flags"
    );
    for mode in ["unmanaged", "managed"] {
        let gw = start_one(&db, mode);
        let got = run(&mut Raw::login(gw.addr, client, "ks"));
        for (i, sql) in steps.iter().enumerate() {
            assert_eq!(got[i], want[i], "{mode}: {sql}: the gateway's packets are MariaDB's");
        }
    }
}

/// Runs `mariadb-admin` against `addr` as `user`; (success, stdout, stderr).
fn mariadb_admin(addr: SocketAddr, user: &str, password: &str, args: &[&str]) -> (bool, String, String) {
    let bin = crate::support::program("mariadb-admin").expect("mariadb-admin is installed");
    let mut cmd = Command::new(bin);
    cmd.args([
        "--no-defaults",
        "--no-beep",
        "--protocol=TCP",
        "-h",
        &addr.ip().to_string(),
    ])
    .arg(format!("-P{}", addr.port()))
    .arg(format!("-u{user}"));
    if !password.is_empty() {
        cmd.arg(format!("-p{password}"));
    }
    let out = cmd.args(args).output().expect("mariadb-admin runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `text` with every run of digits as `N` (and `N.N` for decimals).
fn digits_out(text: &str) -> String {
    let mut out = String::new();
    let mut in_digits = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('N');
            }
            in_digits = true;
        } else {
            in_digits = false;
            out.push(c);
        }
    }
    out
}

#[test]
fn mariadb_admin_status_flush_threads_and_refresh_work_as_natively() {
    let db = TestDb::create(TestEngine::Mysql);
    let (addr, user) = native(&db);
    let gw = start_one(&db, "unmanaged");

    // COM_STATISTICS: the server's status line.
    let (ok, native_out, err) = mariadb_admin(addr, &user, "", &["status"]);
    assert!(ok, "{err}");
    assert_eq!(
        digits_out(native_out.trim()),
        "Uptime: N  Threads: N  Questions: N  Slow queries: N  Opens: N  Open tables: N  Queries per second avg: N.N"
    );
    let (ok, gateway_out, err) = mariadb_admin(gw.addr, USER, PASSWORD, &["status"]);
    assert!(ok, "through the gateway: {err}");
    assert_eq!(digits_out(gateway_out.trim()), digits_out(native_out.trim()));

    // COM_REFRESH: REFRESH_THREADS alone, then `refresh` (logs, tables, hosts,
    // threads in one command): one OK each.
    for command in ["flush-threads", "refresh"] {
        let native_answer = mariadb_admin(addr, &user, "", &[command]);
        assert_eq!(
            native_answer,
            (true, String::new(), String::new()),
            "{command} natively"
        );
        let gateway_answer = mariadb_admin(gw.addr, USER, PASSWORD, &[command]);
        assert_eq!(gateway_answer, native_answer, "{command} through the gateway");
    }
    // Several commands on one connection: each answered once (the next one's
    // answer is its own).
    let (ok, out, err) = mariadb_admin(gw.addr, USER, PASSWORD, &["refresh", "flush-threads", "ping"]);
    assert!(ok, "{err}");
    assert_eq!(out, "mysqld is alive\n");
}

#[test]
fn refresh_needs_the_backend_users_reload_privilege_as_natively() {
    let db = TestDb::create(TestEngine::Mysql);
    let (addr, _) = native(&db);
    let user = "w24c_noreload";
    let password = "w24c-Pw-9";
    db.exec(&format!(
        "DROP USER IF EXISTS '{user}'@'127.0.0.1';
         CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}';
         GRANT ALL ON `{}`.* TO '{user}'@'127.0.0.1';",
        db.name
    ));
    let backend = format!("mysql://{user}:{password}@{addr}/{}", db.name);
    let gw = start(&[("ks", "unmanaged", &backend)]);
    for command in ["flush-threads", "refresh"] {
        let native_answer = mariadb_admin(addr, user, password, &[command]);
        assert_eq!(
            native_answer,
            (
                false,
                String::new(),
                format!(
                    "{}: refresh failed; error: 'Access denied; you need (at least one of) the RELOAD \
                     privilege(s) for this operation'\n",
                    crate::support::program("mariadb-admin").expect("installed").display()
                )
            ),
            "{command} natively"
        );
        assert_eq!(
            mariadb_admin(gw.addr, USER, PASSWORD, &[command]),
            native_answer,
            "{command} through the gateway"
        );
    }
    // COM_DEBUG needs SUPER: the backend's answer too.
    let debug = |raw: &mut Raw| {
        raw.command(COM_DEBUG, &[]);
        raw.read().1
    };
    let (native_addr, _) = native(&db);
    let (mut raw, salt) = Raw::greeted(native_addr);
    raw.write(1, &login_packet(caps::BASE, user, password, &salt, &db.name));
    assert_eq!(raw.read().1[0], 0x00, "logged in as {user}");
    let want = debug(&mut raw);
    assert_eq!(err_packet(&want).0, 1227, "{}", err_packet(&want).1);
    assert_eq!(debug(&mut Raw::login(gw.addr, caps::BASE, "ks")), want);
    db.exec(&format!("DROP USER '{user}'@'127.0.0.1'"));
}

/// The answer of one command that ends with an OK (0x00) or an error, or, with
/// `rows`, with a result set's end: its packets.
fn command_answer(raw: &mut Raw, command: u8, body: &[u8]) -> Vec<Vec<u8>> {
    raw.command(command, body);
    raw.answer()
}

#[test]
fn com_process_info_refresh_and_debug_answer_as_natively() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec("CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB;");
    for mode in ["unmanaged", "managed"] {
        let gw = start_one(&db, mode);
        for client in [caps::BASE, caps::BASE & !caps::DEPRECATE_EOF] {
            let mut n = native_login(&db, client);
            let mut g = Raw::login(gw.addr, client, "ks");
            let context = format!("{mode}, capabilities {client:#x}");

            // COM_PROCESS_INFO: SHOW PROCESSLIST's result set; the column
            // definitions and the end are MariaDB's (the rows are other sessions').
            n.command(COM_PROCESS_INFO, &[]);
            g.command(COM_PROCESS_INFO, &[]);
            let (want, got) = if client & caps::DEPRECATE_EOF != 0 {
                (n.answer(), g.answer())
            } else {
                (answer_with_eofs(&mut n).0, answer_with_eofs(&mut g).0)
            };
            assert_eq!(want[0], [9], "nine columns");
            // Count, definitions (and the EOF after them).
            let head = if client & caps::DEPRECATE_EOF != 0 { 10 } else { 11 };
            assert_eq!(got[..head], want[..head], "{context}: COM_PROCESS_INFO's columns");
            assert_eq!(got.last(), want.last(), "{context}: COM_PROCESS_INFO's end");
            assert!(got.len() > head + 1, "{context}: at least the session's own row");

            // COM_REFRESH of the tables, with a second byte as a client might put
            // REFRESH_READ_LOCK there: MariaDB reads one byte (a plain FLUSH
            // TABLES, no lock held), and so does the gateway.
            let want = command_answer(&mut n, COM_REFRESH, &[0x04, 0x40, 0, 0]);
            assert_eq!(want, [vec![0, 0, 0, 2, 0, 0, 0]], "{context}: natively");
            assert_eq!(
                command_answer(&mut g, COM_REFRESH, &[0x04, 0x40, 0, 0]),
                want,
                "{context}"
            );
            let mut other = native_login(&db, caps::BASE);
            let insert = other.query("INSERT INTO t VALUES (1)");
            assert_eq!(insert[0][0], 0x00, "{context}: no read lock held: {insert:?}");
            other.query("DELETE FROM t");

            // COM_DEBUG: an EOF (an OK with 0xfe under CLIENT_DEPRECATE_EOF).
            n.command(COM_DEBUG, &[]);
            g.command(COM_DEBUG, &[]);
            let want = n.read().1;
            assert_eq!(want[0], 0xfe, "{context}");
            assert_eq!(g.read().1, want, "{context}: COM_DEBUG");

            // The connections go on: a query's answer is its own.
            assert_eq!(g.query("SELECT 7")[2], n.query("SELECT 7")[2], "{context}");
        }
    }
}

#[test]
fn init_db_and_use_of_an_empty_name_is_1046_as_natively() {
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "unmanaged");
    let mut n = native_login(&db, caps::BASE);
    let mut g = Raw::login(gw.addr, caps::BASE, "ks");
    let want = command_answer(&mut n, COM_INIT_DB, b"");
    assert_eq!(err_packet(&want[0]), (1046, "No database selected".to_string()));
    assert_eq!(&want[0][3..9], b"#3D000");
    assert_eq!(command_answer(&mut g, COM_INIT_DB, b""), want, "COM_INIT_DB ''");
    // The database in use stays.
    assert_eq!(g.query("SELECT DATABASE()")[2], n.query("SELECT DATABASE()")[2]);
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        let e = server_error(c.query_drop("USE ``").await.expect_err("empty name"));
        assert_eq!(e, (1046, "3D000".to_string(), "No database selected".to_string()));
        assert_eq!(rows(&mut c, "SELECT DATABASE()").await, vec![vec![db.name.clone()]]);
    });
}

#[test]
fn a_wrong_password_is_mariadbs_1045_and_a_refused_backend_login_the_gateways_1105() {
    let db = TestDb::create(TestEngine::Mysql);
    let (addr, _) = native(&db);
    let user = "w24c_login";
    let password = "w24c-Secret-7";
    db.exec(&format!(
        "DROP USER IF EXISTS '{user}'@'127.0.0.1';
         CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}';
         GRANT ALL ON `{}`.* TO '{user}'@'127.0.0.1';",
        db.name
    ));
    let wrong = "w24c-Wrong-3";
    // A wrong password: natively and to the gateway, 1045 with SQLSTATE 28000,
    // the user and the client's host named, the password not.
    let refused = |addr: SocketAddr, user: &str| {
        let (mut raw, salt) = Raw::greeted(addr);
        raw.write(1, &login_packet(caps::BASE, user, wrong, &salt, ""));
        let (_, p) = raw.read();
        assert_eq!(p[0], 0xff, "{:?}", String::from_utf8_lossy(&p));
        (err_packet(&p), String::from_utf8_lossy(&p[3..9]).into_owned())
    };
    let native_refusal = refused(addr, user);
    // MariaDB names the client's host as it resolved it: `127.0.0.1` under
    // skip_name_resolve, `localhost` otherwise.
    let host = ["127.0.0.1", "localhost"]
        .into_iter()
        .find(|host| native_refusal.0 .1.contains(&format!("'{user}'@'{host}'")))
        .unwrap_or_else(|| panic!("the native refusal names the host: {native_refusal:?}"));
    assert_eq!(
        native_refusal,
        (
            (
                1045,
                format!("Access denied for user '{user}'@'{host}' (using password: YES)")
            ),
            "#28000".to_string()
        )
    );
    let gw = start(&[("ks", "unmanaged", &db.url)]);
    assert_eq!(
        refused(gw.addr, USER),
        (
            (
                1045,
                format!("Access denied for user '{USER}'@'127.0.0.1' (using password: YES)")
            ),
            "#28000".to_string()
        ),
        "the gateway's own login: MariaDB's answer"
    );
    // The `mariadb` client prints it as natively.
    let cli = |addr: SocketAddr, user: &str| {
        let out = Command::new(crate::support::program("mariadb").expect("mariadb is installed"))
            .args(["--no-defaults", "--protocol=TCP", "-h", &addr.ip().to_string()])
            .arg(format!("-P{}", addr.port()))
            .arg(format!("-u{user}"))
            .arg(format!("-p{wrong}"))
            .args(["-e", "SELECT 1"])
            .output()
            .expect("mariadb runs");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // The gateway does not resolve names: its client is always named by address.
    assert_eq!(
        cli(addr, user)
            .replace(user, "U")
            .replace(&format!("@'{host}'"), "@'127.0.0.1'"),
        cli(gw.addr, USER).replace(USER, "U"),
        "the mariadb client's message"
    );

    // The backend refusing the gateway's own login (its URL's password is
    // wrong): the client's login was right, so not the backend's 1045, but the
    // gateway's 1105 naming the backend (password hidden) and its answer.
    let gw = start(&[
        ("up", "unmanaged", &db.url),
        ("ks", "unmanaged", &format!("mysql://{user}:{wrong}@{addr}/{}", db.name)),
    ]);
    gw.block_on(async {
        // mysql_async runs queries while connecting: start in the healthy keyspace.
        let mut c = gw.connect("up").await;
        c.query_drop("USE ks").await.expect("use");
        let e = server_error(c.query_drop("SELECT 1").await.expect_err("backend login refused"));
        assert_eq!(
            e,
            (
                1105,
                "HY000".to_string(),
                format!(
                    "tether gateway: cannot connect to backend mysql://{user}:***@{addr}/{}: the backend refused the \
                     gateway's login: 1045 (28000) Access denied for user '{user}'@'{host}' (using password: YES)",
                    db.name
                )
            )
        );
        assert!(!e.2.contains(wrong) && !e.2.contains(password));
        c.query_drop("USE up").await.expect("use");
        assert_eq!(rows(&mut c, "SELECT 5").await, vec![vec!["5"]]);
    });
    db.exec(&format!("DROP USER '{user}'@'127.0.0.1'"));
}
