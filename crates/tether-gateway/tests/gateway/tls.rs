//! TLS on both sides of the gateway: clients (mysql_async, the stock `mariadb`
//! command with `--ssl`, pymysql with `ssl_ca`) over TLS with the config's
//! certificate, plain clients refused under `requireSecureTransport` with MariaDB's
//! error, and a backend reached over TLS as its URL's `ssl-mode` says.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, SslOpts};
use tether_testkit::tls::{self, Server};

use crate::support::{start_with, Gw, PASSWORD, USER};

/// A database on the private TLS MariaDB with a table of two rows.
fn backend_db(server: &Server, name: &str) {
    server.create_db(name);
    server.exec(
        name,
        "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(10)); INSERT INTO t VALUES (1, 'one'), (2, 'two')",
    );
}

/// A gateway with keyspace `ks` on `backend_url`, TLS towards clients on.
fn gateway(backend_url: &str, require_secure: bool) -> Gw {
    let c = tls::certs();
    let extra = format!(
        r#""tls": {{"cert": "{}", "key": "{}", "requireSecureTransport": {require_secure}}},"#,
        c.server_cert.display(),
        c.server_key.display()
    );
    start_with(&[("ks", "unmanaged", backend_url)], &extra)
}

fn client_tls() -> SslOpts {
    SslOpts::default()
        .with_root_certs(vec![tls::certs().ca.clone().into()])
        .with_disable_built_in_roots(true)
}

fn mariadb_cli(gw: &Gw, args: &[&str]) -> (bool, String, String) {
    let bin = std::env::var("TETHER_TEST_MARIADB_BIN_DIR")
        .map(|d| format!("{d}/mariadb"))
        .unwrap_or_else(|_| "mariadb".into());
    let out = std::process::Command::new(bin)
        .args(["--no-defaults", "-h127.0.0.1", &format!("-P{}", gw.addr.port())])
        .args([
            &format!("-u{USER}"),
            &format!("-p{PASSWORD}"),
            "--batch",
            "--skip-column-names",
        ])
        .args(args)
        .output()
        .expect("the mariadb client runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn tls_clients_and_a_tls_backend() {
    let (server, c) = (tls::mariadb_tls(), tls::certs());
    backend_db(server, "gw_tls");
    // The backend is reached with the full check.
    let backend = format!(
        "mysql://root@127.0.0.1:{}/gw_tls?ssl-mode=VERIFY_IDENTITY&ssl-ca={}",
        server.port,
        c.ca.display()
    );
    let gw = gateway(&backend, true);
    let over_tls = OptsBuilder::from_opts(gw.opts("ks")).ssl_opts(client_tls());
    let plain = OptsBuilder::from_opts(gw.opts("ks"));
    gw.block_on(async {
        // mysql_async with the CA: the certificate is checked for 127.0.0.1.
        let mut conn = Conn::new(over_tls).await.expect("a TLS client logs in");
        let rows: Vec<(i32, String)> = conn.query("SELECT id, name FROM t ORDER BY id").await.expect("rows");
        assert_eq!(rows, vec![(1, "one".to_string()), (2, "two".to_string())]);
        // Forwarded to the backend: its session is encrypted too.
        let cipher: Option<(String, String)> = conn
            .query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            .await
            .expect("status");
        assert_ne!(cipher.expect("a row").1, "", "the backend connection uses TLS");
        conn.disconnect().await.expect("quit");

        // requireSecureTransport: MariaDB's answer to a plain client.
        let e = Conn::new(plain).await.expect_err("a plain client is refused");
        match e {
            mysql_async::Error::Server(s) => assert_eq!(
                (s.code, s.state.as_str(), s.message.as_str()),
                (
                    1045,
                    "28000",
                    "Access denied for user 'app'@'127.0.0.1' (using password: YES)"
                )
            ),
            other => panic!("expected error 1045, got {other}"),
        }
    });

    // The stock client: --ssl with the CA and the server certificate checked.
    let ca = format!("--ssl-ca={}", c.ca.display());
    let (ok, out, err) = mariadb_cli(
        &gw,
        &[
            "--ssl",
            &ca,
            "--ssl-verify-server-cert",
            "ks",
            "-e",
            "SELECT id, name FROM t ORDER BY id",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(out, "1\tone\n2\ttwo\n");
    let (ok, _, err) = mariadb_cli(&gw, &["--skip-ssl", "ks", "-e", "SELECT 1"]);
    assert!(!ok);
    assert_eq!(
        err.trim(),
        "ERROR 1045 (28000): Access denied for user 'app'@'127.0.0.1' (using password: YES)"
    );

    // pymysql with ssl_ca and the host name checked.
    let script = r#"
import sys
import pymysql
host, port, user, password, ca = sys.argv[1:]
conn = pymysql.connect(host=host, port=int(port), user=user, password=password, database="ks",
                       ssl_ca=ca, ssl_verify_cert=True, ssl_verify_identity=True)
cur = conn.cursor()
cur.execute("SELECT id, name FROM t ORDER BY id")
print(cur.fetchall())
# TLS without checking the server's certificate, as the mysql client's default
# (PREFERRED) does; pymysql's own default is TLS only from 1.1 on.
conn = pymysql.connect(host=host, port=int(port), user=user, password=password, database="ks",
                       ssl={"check_hostname": False})
print(conn.cursor().execute("SELECT 1"))
try:
    pymysql.connect(host=host, port=int(port), user=user, password=password, database="ks", ssl_disabled=True)
    print("plain accepted")
except pymysql.err.OperationalError as e:
    print(e.args)
"#;
    let out = std::process::Command::new(crate::pymysql::python())
        .args(["-c", script, "127.0.0.1", &gw.addr.port().to_string(), USER, PASSWORD])
        .arg(c.ca.display().to_string())
        .output()
        .expect("python runs");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "((1, 'one'), (2, 'two'))\n1\n(1045, \"Access denied for user 'app'@'127.0.0.1' (using password: YES)\")\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn tls_is_optional_for_clients_unless_required_and_backend_checks_fail_clearly() {
    let (server, c) = (tls::mariadb_tls(), tls::certs());
    backend_db(server, "gw_tls_optional");
    let base = format!("mysql://root@127.0.0.1:{}/gw_tls_optional", server.port);
    let gw = gateway(&base, false);
    gw.block_on(async {
        for opts in [
            OptsBuilder::from_opts(gw.opts("ks")),
            OptsBuilder::from_opts(gw.opts("ks")).ssl_opts(client_tls()),
        ] {
            let mut conn = Conn::new(opts).await.expect("logs in");
            let n: Option<i64> = conn.query_first("SELECT COUNT(*) FROM t").await.expect("count");
            assert_eq!(n, Some(2));
            // The default (PREFERRED) reaches this backend over TLS.
            let cipher: Option<(String, String)> = conn
                .query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
                .await
                .expect("status");
            assert_ne!(cipher.expect("a row").1, "");
            conn.disconnect().await.expect("quit");
        }
    });
    drop(gw);

    // A backend certificate from another CA, and a plain-only backend under REQUIRED.
    let plain = tls::mariadb_plain();
    let cases = [
        (
            format!("{base}?ssl-mode=VERIFY_CA&ssl-ca={}", c.other_ca.display()),
            format!(
                "tether gateway: cannot connect to backend mysql://root@127.0.0.1:{}/gw_tls_optional: TLS certificate \
                 check failed: the server's certificate is not signed by a CA in ssl-ca {}",
                server.port,
                c.other_ca.display()
            ),
        ),
        (
            format!("mysql://root@127.0.0.1:{}/mysql?ssl-mode=REQUIRED", plain.port),
            format!(
                "tether gateway: cannot connect to backend mysql://root@127.0.0.1:{}/mysql: TLS not supported by the \
                 server: it accepts plain connections only, and ssl-mode=REQUIRED does not fall back to plain \
                 (ssl-mode=PREFERRED would)",
                plain.port
            ),
        ),
    ];
    for (url, want) in cases {
        let gw = gateway(&url, false);
        gw.block_on(async {
            let e = match Conn::new(gw.opts("ks")).await {
                Ok(mut conn) => conn.query_drop("SELECT 1").await.expect_err("the backend is refused"),
                Err(e) => e,
            };
            let mysql_async::Error::Server(s) = e else {
                panic!("expected a server error, got {e}")
            };
            assert_eq!(s.code, 1105, "{}", s.message);
            assert!(s.message.starts_with(&want), "{}\nwanted: {want}", s.message);
        });
    }
}

#[test]
fn tls_config_errors_name_the_key_and_the_file() {
    let c = tls::certs();
    let bind = |cert: &str, key: &str| {
        let json = format!(
            r#"{{"tls": {{"cert": "{cert}", "key": "{key}"}}, "listen": "127.0.0.1:0",
                "users": [{{"user": "{USER}", "password": "{PASSWORD}"}}],
                "keyspaces": {{"ks": {{"backend": {{"url": "mysql://root@127.0.0.1:1/ks"}}}}}}}}"#
        );
        let config = tether_gateway::Config::parse(&json).expect("valid JSON config");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        match rt.block_on(tether_gateway::Gateway::bind(&config, None)) {
            Ok(_) => "bound".to_string(),
            Err(e) => e.to_string(),
        }
    };
    let (cert, key) = (c.server_cert.display().to_string(), c.server_key.display().to_string());
    let e = bind("/nonexistent/server.crt", &key);
    assert!(e.starts_with("tls.cert /nonexistent/server.crt: "), "{e}");
    // A certificate where the key should be: no key in the file, and nothing of it quoted.
    assert_eq!(
        bind(&cert, &cert),
        format!("tls.key {cert}: no unencrypted private key (PEM) in the file")
    );
    let other_key = c.client_key.display().to_string();
    let e = bind(&cert, &other_key);
    assert!(
        e.starts_with("tls.cert / tls.key: the certificate and key do not go together"),
        "{e}"
    );
    assert_eq!(bind(&cert, &key), "bound");
}
