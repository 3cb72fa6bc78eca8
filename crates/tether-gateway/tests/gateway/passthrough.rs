//! Protocol and routing: text and prepared statements, column types, transactions,
//! USE, logins, several clients, the `mariadb` command, `unmanaged` and `disallow`
//! keyspaces, bad input and a backend that is down.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};
use tether_testkit::{TestDb, TestEngine};

use crate::support::{self, direct, rows, server_error, start, start_one};

const SCHEMA: &str = "
CREATE TABLE p (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL) ENGINE=InnoDB;
CREATE TABLE c (id INT AUTO_INCREMENT PRIMARY KEY, p_id INT,
  price DECIMAL(8,2), ratio DOUBLE, born DATE, seen DATETIME(3), small TINYINT UNSIGNED, big BIGINT,
  data BLOB,
  CONSTRAINT c_p_fk FOREIGN KEY (p_id) REFERENCES p (id)) ENGINE=InnoDB;
INSERT INTO p VALUES (1, 'one'), (2, 'two');
INSERT INTO c (p_id, price, ratio, born, seen, small, big, data)
  VALUES (1, 12.50, 0.25, '2024-02-29', '2024-02-29 13:14:15.123', 200, -9000000000, X'00FF');
";

#[test]
fn text_queries_types_and_prepared_statements_pass_through() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SCHEMA);
    let gw = start_one(&db, "unmanaged");
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        // Text protocol: values and column types as MariaDB sends them.
        let mut result = c
            .query_iter("SELECT id, p_id, price, ratio, born, seen, small, big, data FROM c")
            .await
            .expect("select");
        let types: Vec<_> = result
            .columns()
            .expect("columns")
            .iter()
            .map(|c| c.column_type())
            .collect();
        use mysql_async::consts::ColumnType::*;
        assert_eq!(
            types,
            vec![
                MYSQL_TYPE_LONG,
                MYSQL_TYPE_LONG,
                MYSQL_TYPE_NEWDECIMAL,
                MYSQL_TYPE_DOUBLE,
                MYSQL_TYPE_DATE,
                MYSQL_TYPE_DATETIME,
                MYSQL_TYPE_TINY,
                MYSQL_TYPE_LONGLONG,
                MYSQL_TYPE_BLOB
            ]
        );
        // Every field of the column definitions is MariaDB's own (character set:
        // binary for the BLOB, so drivers return bytes; DECIMAL's scale; lengths;
        // flags; schema and original names).
        let describe = |columns: &[mysql_async::Column]| -> Vec<String> {
            columns
                .iter()
                .map(|c| {
                    format!(
                        "{}.{}({}).{}({}) charset {} length {} type {:?} flags {:?} decimals {}",
                        c.schema_str(),
                        c.table_str(),
                        c.org_table_str(),
                        c.name_str(),
                        c.org_name_str(),
                        c.character_set(),
                        c.column_length(),
                        c.column_type(),
                        c.flags(),
                        c.decimals()
                    )
                })
                .collect()
        };
        let through_gateway = describe(result.columns_ref());
        assert_eq!(result.columns_ref()[2].decimals(), 2, "{through_gateway:?}");
        assert_eq!(result.columns_ref()[8].character_set(), 63, "{through_gateway:?}");
        let got: Vec<mysql_async::Row> = result.collect().await.expect("rows");
        drop(result);
        let mut native = direct(&db).await;
        let native_result = native
            .query_iter("SELECT id, p_id, price, ratio, born, seen, small, big, data FROM c")
            .await
            .expect("select");
        assert_eq!(through_gateway, describe(native_result.columns_ref()));
        native_result.drop_result().await.expect("drop");
        let row = got[0].clone().unwrap();
        assert_eq!(
            row,
            vec![
                Value::Bytes(b"1".to_vec()),
                Value::Bytes(b"1".to_vec()),
                Value::Bytes(b"12.50".to_vec()),
                Value::Bytes(b"0.25".to_vec()),
                Value::Bytes(b"2024-02-29".to_vec()),
                Value::Bytes(b"2024-02-29 13:14:15.123".to_vec()),
                Value::Bytes(b"200".to_vec()),
                Value::Bytes(b"-9000000000".to_vec()),
                Value::Bytes(vec![0, 255]),
            ]
        );

        // Binary protocol: typed values decode exactly.
        type Typed = (i32, Option<i32>, String, f64, String, String, u8, i64, Vec<u8>);
        let typed: Vec<Typed> = c
            .exec(
                "SELECT id, p_id, price, ratio, CAST(born AS CHAR), CAST(seen AS CHAR), small, big, data FROM c WHERE id = ?",
                (1,),
            )
            .await
            .expect("prepared select");
        assert_eq!(
            typed,
            vec![(
                1,
                Some(1),
                "12.50".to_string(),
                0.25,
                "2024-02-29".to_string(),
                "2024-02-29 13:14:15.123".to_string(),
                200,
                -9_000_000_000,
                vec![0, 255]
            )]
        );
        let dates: Vec<(mysql_async::Value, mysql_async::Value)> =
            c.exec("SELECT born, seen FROM c WHERE id = ?", (1,)).await.expect("dates");
        assert_eq!(dates[0].0, Value::Date(2024, 2, 29, 0, 0, 0, 0));
        assert_eq!(dates[0].1, Value::Date(2024, 2, 29, 13, 14, 15, 123_000));

        // Prepared writes: rows affected and last insert id.
        c.exec_drop(
            "INSERT INTO c (p_id, price, seen) VALUES (?, ?, ?)",
            (2, "3.10", Value::Date(2025, 1, 2, 3, 4, 5, 0)),
        )
        .await
        .expect("prepared insert");
        assert_eq!(c.affected_rows(), 1);
        assert_eq!(c.last_insert_id(), Some(2));
        let back = rows(&mut c, "SELECT p_id, price, seen FROM c WHERE id = 2").await;
        assert_eq!(back, vec![vec!["2", "3.10", "2025-01-02 03:04:05.000"]]);

        // Text writes: rows affected and last insert id.
        c.query_drop("INSERT INTO c (p_id) VALUES (1), (2)").await.expect("insert");
        assert_eq!(c.affected_rows(), 2);
        assert_eq!(c.last_insert_id(), Some(3));
        // OK packets carry the backend's info string and warning count.
        assert_eq!(c.info(), "Records: 2  Duplicates: 0  Warnings: 0");
        c.query_drop("INSERT IGNORE INTO p VALUES (1, 'again')").await.expect("insert ignore");
        assert_eq!((c.affected_rows(), c.get_warnings()), (0, 1));
        assert_eq!(
            rows(&mut c, "SHOW WARNINGS").await,
            vec![vec!["Warning", "1062", "Duplicate entry '1' for key 'PRIMARY'"]]
        );
        c.query_drop("UPDATE c SET big = 7 WHERE p_id = 2").await.expect("update");
        assert_eq!(c.affected_rows(), 2);

        // Unmanaged: the backend enforces FKs natively, errors come through verbatim.
        let e = server_error(c.query_drop("DELETE FROM p WHERE id = 1").await.expect_err("restricted"));
        assert_eq!(e.0, 1451);
        assert_eq!(e.1, "23000");
        assert_eq!(
            e.2,
            format!(
                "Cannot delete or update a parent row: a foreign key constraint fails (`{}`.`c`, CONSTRAINT `c_p_fk` FOREIGN KEY (`p_id`) REFERENCES `p` (`id`))",
                db.name
            )
        );
        let e = server_error(c.query_drop("SELECT nope FROM c").await.expect_err("bad column"));
        assert_eq!((e.0, e.1.as_str()), (1054, "42S22"));
        let e = server_error(c.query_drop("THIS IS NOT SQL").await.expect_err("bad sql"));
        assert_eq!(e.0, 1064);
        // MariaDB's own error numbers (beyond MySQL's 1000-1885) arrive unchanged.
        c.query_drop("CREATE TABLE chk (v INT, CONSTRAINT chk_pos CHECK (v > 0))")
            .await
            .expect("create");
        let e = server_error(c.query_drop("INSERT INTO chk VALUES (-1)").await.expect_err("check"));
        assert_eq!(
            (e.0, e.1.as_str(), e.2),
            (4025, "23000", format!("CONSTRAINT `chk_pos` failed for `{}`.`chk`", db.name))
        );
        c.disconnect().await.expect("disconnect");
    });
}

#[test]
fn transactions_are_per_client_and_a_disconnect_rolls_back() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SCHEMA);
    let gw = start_one(&db, "unmanaged");
    gw.block_on(async {
        let mut a = gw.connect("ks").await;
        let mut b = gw.connect("ks").await;
        a.query_drop("BEGIN").await.expect("begin");
        a.query_drop("INSERT INTO p VALUES (3, 'three')").await.expect("insert");
        assert_eq!(rows(&mut a, "SELECT COUNT(*) FROM p").await, vec![vec!["3"]]);
        assert_eq!(rows(&mut b, "SELECT COUNT(*) FROM p").await, vec![vec!["2"]]);
        a.query_drop("ROLLBACK").await.expect("rollback");
        assert_eq!(rows(&mut a, "SELECT COUNT(*) FROM p").await, vec![vec!["2"]]);

        a.query_drop("START TRANSACTION").await.expect("begin");
        a.query_drop("INSERT INTO p VALUES (4, 'four')").await.expect("insert");
        a.query_drop("COMMIT").await.expect("commit");
        assert_eq!(
            rows(&mut b, "SELECT name FROM p WHERE id = 4").await,
            vec![vec!["four"]]
        );

        a.query_drop("SET autocommit = 0").await.expect("autocommit off");
        a.query_drop("UPDATE p SET name = 'x' WHERE id = 4")
            .await
            .expect("update");
        // The client goes away mid-transaction: its change is rolled back and its
        // row lock released (b's update would otherwise wait).
        drop(a);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        b.query_drop("SET innodb_lock_wait_timeout = 5").await.expect("timeout");
        b.query_drop("UPDATE p SET name = 'y' WHERE id = 4")
            .await
            .expect("not blocked");
        assert_eq!(rows(&mut b, "SELECT name FROM p WHERE id = 4").await, vec![vec!["y"]]);

        // Many clients at once.
        let mut tasks = Vec::new();
        for i in 0..8 {
            let opts = gw.opts("ks");
            tasks.push(tokio::spawn(async move {
                let mut c = Conn::new(opts).await.expect("connect");
                for j in 0..25 {
                    let id = 100 + i * 100 + j;
                    c.exec_drop("INSERT INTO p VALUES (?, ?)", (id, format!("n{id}")))
                        .await
                        .expect("insert");
                    let n: Option<String> = c
                        .exec_first("SELECT name FROM p WHERE id = ?", (id,))
                        .await
                        .expect("read");
                    assert_eq!(n, Some(format!("n{id}")));
                }
                c.disconnect().await.expect("disconnect");
            }));
        }
        for t in tasks {
            t.await.expect("client task");
        }
        assert_eq!(rows(&mut b, "SELECT COUNT(*) FROM p").await, vec![vec!["203"]]);
    });
}

#[test]
fn use_logins_and_unknown_keyspaces() {
    let db1 = TestDb::create(TestEngine::Mysql);
    let db2 = TestDb::create(TestEngine::Mysql);
    db1.exec("CREATE TABLE t (v INT); INSERT INTO t VALUES (1);");
    db2.exec("CREATE TABLE t (v INT); INSERT INTO t VALUES (2);");
    let gw = start(&[("one", "unmanaged", &db1.url), ("two", "managed", &db2.url)]);
    gw.block_on(async {
        let mut c = gw.connect("one").await;
        assert_eq!(rows(&mut c, "SELECT v FROM t").await, vec![vec!["1"]]);
        c.query_drop("USE two").await.expect("use");
        assert_eq!(rows(&mut c, "SELECT v FROM t").await, vec![vec!["2"]]);
        c.query_drop("use `one`").await.expect("use");
        assert_eq!(rows(&mut c, "SELECT v FROM t").await, vec![vec!["1"]]);
        let e = server_error(c.query_drop("USE nowhere").await.expect_err("unknown"));
        assert_eq!(
            (e.0, e.1.as_str(), e.2.as_str()),
            (1049, "42000", "Unknown database 'nowhere'")
        );
        assert_eq!(rows(&mut c, "SHOW DATABASES").await, vec![vec!["one"], vec!["two"]]);

        let bad = mysql_async::OptsBuilder::from_opts(gw.opts("one")).pass(Some("wrong"));
        assert!(Conn::new(bad).await.is_err(), "a wrong password is refused");
        let bad = mysql_async::OptsBuilder::from_opts(gw.opts("one")).user(Some("nobody"));
        assert!(Conn::new(bad).await.is_err(), "an unknown user is refused");
        let e = Conn::new(gw.opts("nowhere"))
            .await
            .expect_err("unknown keyspace at connect");
        assert_eq!(server_error(e).0, 1049);
    });
}

#[test]
fn the_mariadb_command_line_client_works_unchanged() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SCHEMA);
    let gw = start_one(&db, "unmanaged");
    let bin = std::env::var("TETHER_TEST_MARIADB_BIN_DIR")
        .map(|d| format!("{d}/mariadb"))
        .unwrap_or_else(|_| "mariadb".into());
    let out = std::process::Command::new(bin)
        .args([
            "-h127.0.0.1",
            &format!("-P{}", gw.addr.port()),
            &format!("-u{}", support::USER),
            &format!("-p{}", support::PASSWORD),
            "--batch",
            "ks",
            "-e",
            "SELECT id, name FROM p ORDER BY id; INSERT INTO p VALUES (9, 'nine'); SELECT ROW_COUNT(); SELECT name FROM p WHERE id = 9",
        ])
        .output()
        .expect("the mariadb client runs");
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "id\tname\n1\tone\n2\ttwo\nROW_COUNT()\n1\nname\nnine\n"
    );
}

#[test]
fn disallow_refuses_ddl_that_creates_foreign_keys() {
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "disallow");
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        c.query_drop("CREATE TABLE p (id INT PRIMARY KEY)").await.expect("no FK: allowed");
        let e = server_error(
            c.query_drop("CREATE TABLE c (id INT PRIMARY KEY, p_id INT, CONSTRAINT c_p_fk FOREIGN KEY (p_id) REFERENCES p (id))")
                .await
                .expect_err("FK refused"),
        );
        assert_eq!(e.0, 1215);
        assert_eq!(e.1, "HY000");
        assert_eq!(
            e.2,
            "Cannot add foreign key constraint for `c`: constraint `c_p_fk`: foreign keys are disallowed in keyspace `ks` (foreignKeyMode: disallow)"
        );
        c.query_drop("CREATE TABLE c (id INT PRIMARY KEY, p_id INT)").await.expect("no FK: allowed");
        let e = server_error(
            c.query_drop("ALTER TABLE c ADD CONSTRAINT c_fk2 FOREIGN KEY (p_id) REFERENCES p (id)")
                .await
                .expect_err("FK refused"),
        );
        assert_eq!(e.0, 1215);
        assert!(e.2.contains("`c`: constraint `c_fk2`"), "{}", e.2);
        c.query_drop("ALTER TABLE c ADD COLUMN x INT").await.expect("other DDL allowed");
        c.query_drop("INSERT INTO c VALUES (1, 99, 0)").await.expect("DML passes");
    });
    // Nothing was created behind the refusal.
    assert_eq!(
        db.query(&format!(
            "SELECT COUNT(*) FROM information_schema.referential_constraints WHERE constraint_schema = '{}'",
            db.name
        )),
        vec![vec![Some("0".to_string())]]
    );
}

#[test]
fn a_backend_that_is_down_fails_its_clients_only() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec("CREATE TABLE t (v INT); INSERT INTO t VALUES (5);");
    // Port 1 on loopback: nothing listens there.
    let gw = start(&[
        ("down", "unmanaged", "mysql://root@127.0.0.1:1/x"),
        ("up", "unmanaged", &db.url),
    ]);
    gw.block_on(async {
        // mysql_async runs queries while connecting: start in the healthy keyspace.
        let mut c = gw.connect("up").await;
        c.query_drop("USE down").await.expect("use");
        let e = server_error(c.query_drop("SELECT 1").await.expect_err("backend down"));
        assert_eq!((e.0, e.1.as_str()), (1105, "HY000"), "{}", e.2);
        assert!(
            e.2.starts_with("tether gateway: cannot connect to backend mysql://root@127.0.0.1:1/x"),
            "{}",
            e.2
        );
        assert!(!e.2.contains("s3cret"));
        // The same client can move on, and others are served.
        c.query_drop("USE up").await.expect("use");
        assert_eq!(rows(&mut c, "SELECT v FROM t").await, vec![vec!["5"]]);
        let mut d = direct(&db).await;
        assert_eq!(rows(&mut d, "SELECT v FROM t").await, vec![vec!["5"]]);
    });
}

#[test]
fn a_lost_backend_connection_is_reported_then_reopened() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec("CREATE TABLE t (v INT); INSERT INTO t VALUES (5);");
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        c.query_drop("SET foreign_key_checks = 0").await.expect("set");
        let id = rows(&mut c, "SELECT CONNECTION_ID()").await[0][0].clone();
        // The backend drops the gateway's connection (as a restart would).
        let mut admin = direct(&db).await;
        admin.query_drop(format!("KILL {id}")).await.expect("kill");
        let e = server_error(c.query_drop("SELECT v FROM t").await.expect_err("connection lost"));
        assert_eq!((e.0, e.1.as_str()), (1105, "HY000"), "{}", e.2);
        assert!(e.2.starts_with("tether gateway: backend connection failed"), "{}", e.2);
        // The next statement reconnects, with the session's foreign_key_checks.
        assert_eq!(
            rows(&mut c, "SELECT v, @@foreign_key_checks FROM t").await,
            vec![vec!["5", "0"]]
        );
        assert_ne!(rows(&mut c, "SELECT CONNECTION_ID()").await[0][0], id);
    });
}

#[test]
fn malformed_packets_do_not_stop_the_gateway() {
    use std::io::{Read, Write};
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "unmanaged");
    for garbage in [
        &b"\x01\x00\x00\x00\xff"[..],
        &b"\xff\xff\xff\x00garbage"[..],
        &b"\x05\x00\x00\x01\x17\x01\x00\x00\x00"[..],
        &b"GET / HTTP/1.0\r\n\r\n"[..],
    ] {
        let mut s = std::net::TcpStream::connect(gw.addr).expect("tcp");
        s.set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .expect("timeout");
        let mut greeting = [0u8; 256];
        let _ = s.read(&mut greeting);
        let _ = s.write_all(garbage);
        let _ = s.read(&mut greeting);
    }
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        assert_eq!(rows(&mut c, "SELECT 40 + 2").await, vec![vec!["42"]]);
        let v: Option<i64> = c.exec_first("SELECT ? + 1", (41,)).await.expect("prepared");
        assert_eq!(v, Some(42));
        assert_eq!(rows(&mut c, "SELECT 1").await, vec![vec!["1"]]);
    });
}

#[test]
fn large_results_several_results_and_binary_nulls_stream_through() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec("CREATE TABLE t (v INT); INSERT INTO t VALUES (1);");
    let gw = start_one(&db, "unmanaged");
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        // 100,000 rows (10 MB) reach the client streamed in 64 KiB writes.
        let big: Vec<(u64, String)> = c
            .query("SELECT seq, REPEAT('x', 100) FROM seq_1_to_100000")
            .await
            .expect("big result");
        assert_eq!(big.len(), 100_000);
        assert_eq!(big[99_999], (100_000, "x".repeat(100)));
        // A 3 MB value (a 3-byte length prefix).
        let wide: Option<String> = c.query_first("SELECT REPEAT('y', 3000000)").await.expect("wide");
        assert_eq!(wide.map(|w| w.len()), Some(3_000_000));
        // Several statements in one query: every result, in order, then the OK.
        let mut r = c
            .query_iter("SELECT 1; SELECT 'a', 'b'; UPDATE t SET v = 2")
            .await
            .expect("several statements");
        let first: Vec<i64> = r.collect().await.expect("first result");
        let second: Vec<(String, String)> = r.collect().await.expect("second result");
        r.drop_result().await.expect("the UPDATE's OK");
        assert_eq!((first, second), (vec![1], vec![("a".to_string(), "b".to_string())]));
        assert_eq!(c.affected_rows(), 1);
        // An error in a later statement ends the answer after the earlier results.
        let mut r = c
            .query_iter("SELECT 7; SELECT nope")
            .await
            .expect("first statement runs");
        let seven: Vec<i64> = r.collect().await.expect("first result");
        assert_eq!(seven, vec![7]);
        let e = server_error(r.drop_result().await.expect_err("second statement fails"));
        assert_eq!((e.0, e.1.as_str()), (1054, "42S22"));
        // Binary protocol: NULLs anywhere in a row (the bitmap starts at bit 2).
        let row: Option<(Option<i64>, i64, Option<String>, String)> =
            c.exec_first("SELECT NULL, ?, NULL, 'x'", (5,)).await.expect("prepared");
        assert_eq!(row, Some((None, 5, None, "x".to_string())));
        assert_eq!(rows(&mut c, "SELECT v FROM t").await, vec![vec!["2"]]);
    });
}

#[test]
fn a_client_offering_another_auth_plugin_is_switched_to_native_password() {
    use std::io::{Read, Write};
    fn read_packet(s: &mut std::net::TcpStream) -> (u8, Vec<u8>) {
        let mut head = [0u8; 4];
        s.read_exact(&mut head).expect("packet header");
        let len = usize::from(head[0]) | usize::from(head[1]) << 8 | usize::from(head[2]) << 16;
        let mut payload = vec![0; len];
        s.read_exact(&mut payload).expect("packet payload");
        (head[3], payload)
    }
    fn write_packet(s: &mut std::net::TcpStream, seq: u8, payload: &[u8]) {
        let len = payload.len() as u32;
        let mut p = len.to_le_bytes()[..3].to_vec();
        p.push(seq);
        p.extend_from_slice(payload);
        s.write_all(&p).expect("write");
    }
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "unmanaged");
    let mut s = std::net::TcpStream::connect(gw.addr).expect("tcp");
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    let (seq, greeting) = read_packet(&mut s);
    assert_eq!((seq, greeting[0]), (0, 10), "handshake v10");
    let version_end = greeting.iter().position(|b| *b == 0).expect("version");
    let part1 = &greeting[version_end + 5..version_end + 13];
    let part2 = &greeting[version_end + 32..version_end + 44];
    let salt = [part1, part2].concat();
    // Protocol 4.1, secure connection, plugin auth, a database; no TLS, no
    // CLIENT_DEPRECATE_EOF (EOF packets end column lists and rows).
    let capabilities: u32 = 0x200 | 0x8000 | 0x80000 | 0x8;
    let mut login = capabilities.to_le_bytes().to_vec();
    login.extend_from_slice(&(1u32 << 24).to_le_bytes());
    login.push(45);
    login.extend_from_slice(&[0; 23]);
    login.extend_from_slice(format!("{}\0", support::USER).as_bytes());
    login.push(0); // no auth data for caching_sha2_password yet
    login.extend_from_slice(b"ks\0caching_sha2_password\0");
    write_packet(&mut s, 1, &login);
    let (seq, switch) = read_packet(&mut s);
    assert_eq!(seq, 2);
    assert_eq!(switch, [&b"\xfemysql_native_password\0"[..], &salt, b"\0"].concat());
    write_packet(&mut s, 3, &tether_gateway::scramble(support::PASSWORD, &salt));
    let (seq, ok) = read_packet(&mut s);
    assert_eq!((seq, ok[0]), (4, 0x00), "logged in: {ok:?}");
    write_packet(&mut s, 0, b"\x03SELECT 40 + 2");
    let answer: Vec<(u8, Vec<u8>)> = (0..5).map(|_| read_packet(&mut s)).collect();
    assert_eq!(answer[0], (1, vec![1]), "one column");
    assert_eq!((answer[2].0, answer[2].1[0]), (3, 0xfe), "EOF after the column list");
    assert_eq!(answer[3], (4, b"\x0242".to_vec()), "the row");
    assert_eq!((answer[4].0, answer[4].1[0]), (5, 0xfe), "EOF after the rows");
}

#[test]
fn a_backend_lost_inside_a_transaction_fails_every_statement_until_rollback() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec("CREATE TABLE t (v INT) ENGINE=InnoDB;");
    let gw = start_one(&db, "unmanaged");
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        c.query_drop("BEGIN").await.expect("begin");
        c.query_drop("INSERT INTO t VALUES (1)").await.expect("insert");
        let id = rows(&mut c, "SELECT CONNECTION_ID()").await[0][0].clone();
        let mut admin = direct(&db).await;
        admin.query_drop(format!("KILL {id}")).await.expect("kill");
        let e = server_error(
            c.query_drop("INSERT INTO t VALUES (2)")
                .await
                .expect_err("connection lost"),
        );
        assert_eq!(e.0, 1105, "{}", e.2);
        // No reconnect in autocommit: these would commit outside the transaction.
        for sql in ["INSERT INTO t VALUES (3)", "COMMIT", "SELECT 1"] {
            let e = server_error(c.query_drop(sql).await.expect_err("refused"));
            assert_eq!(
                e,
                (
                    1105,
                    "HY000".to_string(),
                    "tether gateway: the backend connection was lost inside a transaction, which the \
                     backend rolled back; send ROLLBACK before anything else"
                        .to_string()
                ),
                "{sql}"
            );
        }
        c.query_drop("ROLLBACK").await.expect("rollback is acknowledged");
        c.query_drop("INSERT INTO t VALUES (4)")
            .await
            .expect("a new connection");
        assert_eq!(rows(&mut admin, "SELECT v FROM t").await, vec![vec!["4"]]);
        // With autocommit off a transaction is always open: the same, and the new
        // connection has autocommit off again.
        c.query_drop("SET autocommit = 0").await.expect("autocommit off");
        let id = rows(&mut c, "SELECT CONNECTION_ID()").await[0][0].clone();
        admin.query_drop(format!("KILL {id}")).await.expect("kill");
        let e = server_error(
            c.query_drop("INSERT INTO t VALUES (5)")
                .await
                .expect_err("connection lost"),
        );
        assert_eq!(e.0, 1105, "{}", e.2);
        let e = server_error(c.query_drop("INSERT INTO t VALUES (6)").await.expect_err("refused"));
        assert_eq!(e.0, 1105, "{}", e.2);
        c.query_drop("ROLLBACK").await.expect("rollback is acknowledged");
        assert_eq!(rows(&mut c, "SELECT @@autocommit").await, vec![vec!["0"]]);
        c.query_drop("INSERT INTO t VALUES (7)").await.expect("insert");
        c.query_drop("ROLLBACK").await.expect("rollback");
        assert_eq!(rows(&mut admin, "SELECT v FROM t").await, vec![vec!["4"]]);
    });
}

#[test]
fn several_statements_need_the_multi_statements_capability() {
    use crate::support::{caps, err_packet, ok_status, Raw};
    let db = TestDb::create(TestEngine::Mysql);
    db.exec("CREATE TABLE t (v INT);");
    let gw = start_one(&db, "unmanaged");
    let mut raw = Raw::login(gw.addr, caps::BASE, "ks");
    let refused = raw.query("INSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2)");
    assert_eq!(
        err_packet(&refused[0]),
        (
            1064,
            "You have an error in your SQL syntax; check the manual that corresponds to your MariaDB \
             server version for the right syntax to use near 'INSERT INTO t VALUES (2)' at line 2"
                .to_string()
        )
    );
    // One statement with a trailing `;` and comment is fine.
    assert_eq!(raw.query("INSERT INTO t VALUES (3); -- done")[0][0], 0x00);
    // COM_SET_OPTION turns them on (answered with an EOF, as MariaDB) ...
    raw.command(0x1b, &0u16.to_le_bytes());
    assert_eq!(raw.read().1[0], 0xfe);
    raw.command(0x03, b"SELECT 1; SELECT 2");
    let both: Vec<Vec<u8>> = (0..8).map(|_| raw.read().1).collect();
    assert_eq!(
        (&both[2][..], &both[6][..]),
        (&b"\x011"[..], &b"\x012"[..]),
        "two result sets"
    );
    // ... but a client without CLIENT_MULTI_RESULTS is never told "more results".
    assert_eq!(ok_status(&both[3]) & 0x08, 0, "{both:?}");
    // ... and off again.
    raw.command(0x1b, &1u16.to_le_bytes());
    assert_eq!(raw.read().1[0], 0xfe);
    assert_eq!(err_packet(&raw.query("DO 1; DO 2")[0]).0, 1064);
    gw.block_on(async {
        let mut d = direct(&db).await;
        assert_eq!(rows(&mut d, "SELECT v FROM t").await, vec![vec!["3"]]);
    });
    // A client with the capability runs them (mysql_async offers it).
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        c.query_drop("DO 1; DO 2").await.expect("several statements");
    });
}

#[test]
fn reset_connection_restores_the_login_state_and_pools_reuse_connections() {
    let db = TestDb::create(TestEngine::Mysql);
    let other = TestDb::create(TestEngine::Mysql);
    db.exec("CREATE TABLE t (v INT) ENGINE=InnoDB;");
    let gw = start(&[("ks", "unmanaged", &db.url), ("ks2", "unmanaged", &other.url)]);
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        let stmt = c.prep("SELECT 1").await.expect("prepare");
        c.query_drop("SET foreign_key_checks = 0").await.expect("set");
        // A transaction open in the keyspace switched to (`USE` is refused inside one).
        c.query_drop("USE ks2").await.expect("use");
        c.query_drop("BEGIN").await.expect("begin");
        c.query_drop(format!("INSERT INTO {}.t VALUES (1)", db.name))
            .await
            .expect("insert");
        c.reset().await.expect("COM_RESET_CONNECTION");
        assert_eq!(
            rows(
                &mut c,
                &format!(
                    "SELECT DATABASE(), @@foreign_key_checks, (SELECT COUNT(*) FROM {}.t)",
                    db.name
                )
            )
            .await,
            // The keyspace in use stays, as MariaDB keeps the current database
            // (review r26h F2).
            vec![vec![other.name.clone(), "1".to_string(), "0".to_string()]]
        );
        let e = server_error(c.exec_drop(&stmt, ()).await.expect_err("statement gone"));
        assert_eq!(e.0, 1243, "{}", e.2);

        // A pool resets a connection it gets back and hands out the same one.
        let pool = mysql_async::Pool::new(gw.opts("ks"));
        let mut first = pool.get_conn().await.expect("pooled");
        let id = first.id();
        first.query_drop("SET foreign_key_checks = 0").await.expect("set");
        drop(first);
        // The pool resets it in the background.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let mut again = pool.get_conn().await.expect("pooled again");
        assert_eq!(again.id(), id, "the same gateway connection");
        assert_eq!(rows(&mut again, "SELECT @@foreign_key_checks").await, vec![vec!["1"]]);
        drop(again);
        pool.disconnect().await.expect("pool ends");
    });
}

/// COM_CHANGE_USER (connection pools of older drivers, `mysql_change_user`): the
/// session starts over as a new connection's, whether the login succeeds or not;
/// three failed logins and the command is refused, as MariaDB does.
#[test]
fn change_user_starts_over_as_a_new_connection() {
    let db = TestDb::create(TestEngine::Mysql);
    let other = TestDb::create(TestEngine::Mysql);
    db.exec("CREATE TABLE t (v INT) ENGINE=InnoDB;");
    let gw = start(&[("ks", "unmanaged", &db.url), ("ks2", "unmanaged", &other.url)]);
    let change = |user: &str, pass: &str, db: Option<&str>| {
        mysql_async::ChangeUserOpts::new()
            .with_user(Some(user.to_string()))
            .with_pass(Some(pass.to_string()))
            .with_db_name(db.map(str::to_string))
    };
    let state = "SELECT DATABASE(), @@foreign_key_checks, @@autocommit";
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        let stmt = c.prep("SELECT 1").await.expect("prepare");
        c.query_drop("SET foreign_key_checks = 0").await.expect("set");
        c.query_drop("SET autocommit = 0").await.expect("set");
        c.query_drop("INSERT INTO t VALUES (1)").await.expect("insert");
        c.change_user(change(support::USER, support::PASSWORD, Some("ks2")))
            .await
            .expect("COM_CHANGE_USER");
        assert_eq!(
            rows(&mut c, state).await,
            vec![vec![other.name.clone(), "1".to_string(), "1".to_string()]]
        );
        let mut d = direct(&db).await;
        assert_eq!(
            rows(&mut d, "SELECT COUNT(*) FROM t").await,
            vec![vec!["0"]],
            "rolled back"
        );
        let e = server_error(c.exec_drop(&stmt, ()).await.expect_err("statement gone"));
        assert_eq!(e.0, 1243, "{}", e.2);
        // A reset keeps the keyspace in use, as MariaDB keeps the current
        // database (review r26h F2).
        c.query_drop("USE ks").await.expect("use");
        c.reset().await.expect("COM_RESET_CONNECTION");
        assert_eq!(rows(&mut c, "SELECT DATABASE()").await, vec![vec![db.name.clone()]]);
        // No database named: the default keyspace (the first), as a new login.
        c.change_user(change(support::USER, support::PASSWORD, None))
            .await
            .expect("COM_CHANGE_USER without a database");
        assert_eq!(rows(&mut c, "SELECT DATABASE()").await, vec![vec![db.name.clone()]]);
        // An unknown keyspace: MariaDB's 1049; the keyspace in use stays.
        c.query_drop("USE ks2").await.expect("use");
        let e = server_error(
            c.change_user(change(support::USER, support::PASSWORD, Some("nowhere")))
                .await
                .expect_err("unknown keyspace"),
        );
        assert_eq!((e.0, e.2.as_str()), (1049, "Unknown database 'nowhere'"));
        assert_eq!(rows(&mut c, "SELECT DATABASE()").await, vec![vec![other.name.clone()]]);

        // A failed login resets the session too, keeps the keyspace in use and
        // leaves the connection usable.
        c.query_drop("USE ks").await.expect("use");
        c.query_drop("BEGIN").await.expect("begin");
        c.query_drop("INSERT INTO t VALUES (2)").await.expect("insert");
        let e = server_error(
            c.change_user(change(support::USER, "wrong", Some("ks2")))
                .await
                .expect_err("wrong password"),
        );
        assert_eq!(
            (e.0, e.1.as_str(), e.2.as_str()),
            (
                1045,
                "28000",
                "Access denied for user 'app'@'127.0.0.1' (using password: YES)"
            )
        );
        assert_eq!(
            rows(&mut d, "SELECT COUNT(*) FROM t").await,
            vec![vec!["0"]],
            "rolled back"
        );
        assert_eq!(
            rows(&mut c, "SELECT DATABASE(), COUNT(*) FROM t").await,
            vec![vec![db.name.clone(), "0".to_string()]]
        );
        let e = server_error(
            c.change_user(change("nobody", support::PASSWORD, None))
                .await
                .expect_err("refused"),
        );
        assert_eq!(e.0, 1045, "{}", e.2);
        // Three failures (the unknown keyspace counts): from now on the command is
        // unknown, even with the right password, and still resets the session.
        c.query_drop("BEGIN").await.expect("begin");
        c.query_drop("INSERT INTO t VALUES (3)").await.expect("insert");
        let e = server_error(
            c.change_user(change(support::USER, support::PASSWORD, None))
                .await
                .expect_err("locked"),
        );
        assert_eq!((e.0, e.1.as_str(), e.2.as_str()), (1047, "08S01", "Unknown command"));
        assert_eq!(
            rows(&mut d, "SELECT COUNT(*) FROM t").await,
            vec![vec!["0"]],
            "rolled back"
        );
        assert_eq!(rows(&mut c, "SELECT 7").await, vec![vec!["7"]]);
    });
}

/// A deadlock's victim has its whole transaction rolled back by MariaDB: the
/// gateway's own answers to it (COM_PING here) must no longer say "in a
/// transaction", though the 1213 ERR packet carried no status; the survivor's
/// still do.
#[test]
fn a_deadlock_victim_is_no_longer_in_a_transaction() {
    use support::{caps, err_packet, ok_status, Raw};
    const COM_PING: u8 = 0x0e;
    const IN_TRANS: u16 = 0x0001;
    let db = TestDb::create(TestEngine::Mysql);
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; INSERT INTO t VALUES (1, 0), (2, 0);");
    let gw = start_one(&db, "unmanaged");
    let mut a = Raw::login(gw.addr, caps::BASE, "ks");
    let mut b = Raw::login(gw.addr, caps::BASE, "ks");
    for (raw, id) in [(&mut a, 1), (&mut b, 2)] {
        assert_eq!(raw.query("BEGIN")[0][0], 0x00);
        assert_eq!(raw.query(&format!("UPDATE t SET v = 1 WHERE id = {id}"))[0][0], 0x00);
    }
    // A waits for B's row; B then asks for A's: MariaDB picks a victim.
    let waiting = std::thread::spawn(move || {
        let answer = a.query("UPDATE t SET v = 2 WHERE id = 2");
        (a, answer)
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let answer_b = b.query("UPDATE t SET v = 2 WHERE id = 1");
    let (a, answer_a) = waiting.join().expect("client A");
    let (mut victim, mut survivor, victim_answer) = match (answer_a[0][0], answer_b[0][0]) {
        (0xff, 0x00) => (a, b, answer_a),
        (0x00, 0xff) => (b, a, answer_b),
        other => panic!("one deadlock victim expected, got {other:?}"),
    };
    assert_eq!(err_packet(&victim_answer[0]).0, 1213);
    for (raw, in_trans) in [(&mut victim, false), (&mut survivor, true)] {
        raw.command(COM_PING, &[]);
        let (_, ok) = raw.read();
        assert_eq!(ok[0], 0x00, "ping answered");
        assert_eq!(ok_status(&ok) & IN_TRANS != 0, in_trans, "in a transaction: {ok:?}");
    }
    assert_eq!(survivor.query("COMMIT")[0][0], 0x00);
}

#[test]
fn more_than_ten_thousand_results_all_arrive() {
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "unmanaged");
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        /// How many results, and the rows of the last one.
        async fn count(mut r: mysql_async::QueryResult<'_, 'static, mysql_async::TextProtocol>) -> (usize, Vec<i64>) {
            let mut results = 0;
            let mut last = Vec::new();
            while !r.is_empty() {
                last = r.collect::<i64>().await.expect("result");
                results += 1;
            }
            (results, last)
        }
        // Streamed (passthrough) ...
        let sql = format!("{}SELECT 42", "DO 1; ".repeat(10_001));
        let r = c.query_iter(sql).await.expect("query");
        let got = tokio::time::timeout(std::time::Duration::from_secs(60), count(r)).await;
        assert_eq!(got.expect("every result"), (10_002, vec![42]));
        // ... and collected by the gateway (a DDL statement first).
        let sql = format!("CREATE TABLE u (v INT); {}SELECT 43", "SELECT 1; ".repeat(10_001));
        let r = c.query_iter(sql).await.expect("query");
        let got = tokio::time::timeout(std::time::Duration::from_secs(60), count(r)).await;
        assert_eq!(got.expect("every result"), (10_003, vec![43]));
    });
}

#[test]
fn a_malformed_execute_keeps_the_types_bound_before() {
    use crate::limits::{execute_head, prepare};
    use crate::support::{caps, err_packet, Raw};
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "unmanaged");
    let mut raw = Raw::login(gw.addr, caps::BASE, "ks");
    let id = prepare(&mut raw, "SELECT CAST(? + 1 AS CHAR)");
    // Bound as a LONGLONG: 41.
    raw.command(
        0x17,
        &[execute_head(id), vec![1, 0x08, 0], 41u64.to_le_bytes().to_vec()].concat(),
    );
    assert_eq!(raw.answer()[2], b"\x00\x00\x0242");
    // New types announced, cut short.
    raw.command(0x17, &[execute_head(id), vec![1, 0x08]].concat());
    assert_eq!(err_packet(&raw.read().1).0, 1210);
    // Without new types the ones bound before apply.
    raw.command(0x17, &[execute_head(id), vec![0], 6u64.to_le_bytes().to_vec()].concat());
    assert_eq!(raw.answer()[2], b"\x00\x00\x017");
}

#[test]
fn prepared_statements_survive_a_lost_backend_connection() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10)); INSERT INTO t VALUES (1, 'a'), (2, 'b');");
    let gw = start_one(&db, "unmanaged");
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        let by_id = c.prep("SELECT v FROM t WHERE id = ?").await.expect("prepare");
        let count = c.prep("SELECT COUNT(*) FROM t WHERE id > ?").await.expect("prepare");
        let id = rows(&mut c, "SELECT CONNECTION_ID()").await[0][0].clone();
        let mut admin = direct(&db).await;
        admin.query_drop(format!("KILL {id}")).await.expect("kill");
        let e = server_error(
            c.exec_first::<String, _, _>(&by_id, (1,))
                .await
                .expect_err("connection lost"),
        );
        assert_eq!(e.0, 1105, "{}", e.2);
        // A statement prepared on the new connection takes the backend's first
        // statement id again: the old ones must not run it.
        let other = c.prep("SELECT 'other'").await.expect("prepare");
        let n: Option<i64> = c.exec_first(&count, (0,)).await.expect("re-prepared");
        assert_eq!(n, Some(2));
        let v: Option<String> = c.exec_first(&by_id, (2,)).await.expect("re-prepared");
        assert_eq!(v.as_deref(), Some("b"));
        let o: Option<String> = c.exec_first(&other, ()).await.expect("execute");
        assert_eq!(o.as_deref(), Some("other"));
    });
}

#[test]
fn a_backend_reached_over_the_unix_socket_works_the_same() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SCHEMA);
    let socket = support::block_on_direct(&db, "SELECT @@socket");
    if !std::path::Path::new(&socket).exists() {
        eprintln!("skipped: MariaDB's socket {socket} is not on this machine");
        return;
    }
    let url = format!("{}?socket={socket}", db.url);
    let gw = start(&[("ks", "unmanaged", &url)]);
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        assert_eq!(
            rows(&mut c, "SELECT p.name, c.price, c.born FROM c JOIN p ON p.id = c.p_id").await,
            vec![vec!["one", "12.50", "2024-02-29"]]
        );
        let stmt = c.prep("SELECT name FROM p WHERE id = ?").await.expect("prepare");
        let name: Option<String> = c.exec_first(&stmt, (2,)).await.expect("execute");
        assert_eq!(name.as_deref(), Some("two"));
        let e = server_error(c.query_drop("INSERT INTO c (p_id) VALUES (9)").await.expect_err("FK"));
        assert_eq!(e.0, 1452, "{}", e.2);
    });
}

#[test]
fn prepared_parameters_larger_than_the_backends_packet_limit_go_as_long_data() {
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "unmanaged");
    gw.block_on(async {
        let mut c = gw.connect("ks").await;
        let mut admin = direct(&db).await;
        let limit: u64 = admin
            .query_first("SELECT @@max_allowed_packet")
            .await
            .expect("limit")
            .expect("a row");
        // Together over the backend's limit (16 MiB by default), each under it.
        let each = usize::try_from(limit).expect("fits") / 2 + 1024;
        let stmt = c.prep("SELECT LENGTH(?), LENGTH(?)").await.expect("prepare");
        let got: Option<(u64, u64)> = c
            .exec_first(&stmt, (vec![b'a'; each], vec![b'b'; each]))
            .await
            .expect("executes as MariaDB does directly");
        assert_eq!(got, Some((each as u64, each as u64)));
        assert_eq!(rows(&mut c, "SELECT 1").await, vec![vec!["1"]]);
    });
}

// A statement over the backend's packet limit (1153, after which MariaDB hangs up)
// ends the client's connection, as a direct client's: closing_r23
// `an_error_after_which_the_backend_hangs_up_ends_the_clients_connection` (it
// reconnected before the twenty-third session).

/// Rows the gateway finds already buffered are relayed in one copy, renumbered:
/// every packet's sequence number follows the one before, with and without
/// CLIENT_DEPRECATE_EOF (without, the gateway's EOF after the column list shifts the
/// backend's numbering by one), each row exactly as MariaDB sent it; an error after
/// 59,999 rows arrives after them, and the connection goes on.
#[test]
fn rows_relayed_in_bulk_keep_their_order_and_numbering_and_an_error_after_rows_arrives() {
    use crate::support::{caps, Raw};
    let db = TestDb::create(TestEngine::Mysql);
    let gw = start_one(&db, "unmanaged");
    /// The answer's packets up to the one that ends it (`end` says which), each
    /// numbered one after the packet before (the command was number 0).
    fn packets(raw: &mut Raw, mut end: impl FnMut(&[u8]) -> bool) -> Vec<Vec<u8>> {
        let mut got = Vec::new();
        loop {
            let (seq, p) = raw.read();
            assert_eq!(seq, (got.len() + 1) as u8, "packet {} numbered in order", got.len() + 1);
            let last = end(&p);
            got.push(p);
            if last {
                return got;
            }
        }
    }
    let text_row = |n: u64| {
        let n = n.to_string();
        [&[n.len() as u8][..], n.as_bytes(), &[50], &[b'r'; 50]].concat()
    };
    let sql = "SELECT seq, REPEAT('r', 50) FROM seq_1_to_20000";
    for (capabilities, eofs) in [(caps::BASE, 0), (caps::BASE & !caps::DEPRECATE_EOF, 1)] {
        let mut raw = Raw::login(gw.addr, capabilities, "ks");
        raw.command(0x03, sql.as_bytes());
        // Count, 2 definitions, [EOF], 20,000 rows, then the end (EOF or 0xfe OK).
        let mut n = 0;
        let got = packets(&mut raw, |_| {
            n += 1;
            n > 3 + eofs + 20_000
        });
        assert_eq!(got.len(), 3 + eofs + 20_000 + 1);
        assert_eq!(got[0], vec![2], "two columns");
        if eofs == 1 {
            assert_eq!(got[3][0], 0xfe, "EOF after the column list");
        }
        let rows = &got[3 + eofs..got.len() - 1];
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(row, &text_row(i as u64 + 1), "row {}", i + 1);
        }
        assert_eq!(got[got.len() - 1][0], 0xfe, "the end of the rows");
        // An error after rows already sent: every row before it, then the ERR.
        let failing = "SELECT seq FROM seq_1_to_100000 WHERE IF(seq = 60000, (SELECT seq FROM seq_1_to_2), 1)";
        raw.command(0x03, failing.as_bytes());
        let got = packets(&mut raw, |p| p[0] == 0xff);
        let err = &got[got.len() - 1];
        assert_eq!(
            u16::from_le_bytes([err[1], err[2]]),
            1242,
            "{}",
            String::from_utf8_lossy(err)
        );
        let rows: Vec<&Vec<u8>> = got[2 + eofs..got.len() - 1].iter().collect();
        assert_eq!(rows.len(), 59_999, "every row before the failing one");
        for (i, row) in rows.iter().enumerate() {
            let n = (i + 1).to_string();
            assert_eq!(
                row.as_slice(),
                [&[n.len() as u8][..], n.as_bytes()].concat(),
                "row {}",
                i + 1
            );
        }
        // The connection goes on.
        raw.command(0x03, b"SELECT 42");
        let mut n = 0;
        let got = packets(&mut raw, |_| {
            n += 1;
            n == 4 + eofs
        });
        assert_eq!(got[2 + eofs], b"\x0242".to_vec());
    }
}
