//! TLS to PostgreSQL and MariaDB, against private servers with TLS on and off
//! (tether_testkit::tls): each mode's checks, which check failed, client
//! certificates, and that only `prefer` falls back to plain.

use mysql_async::prelude::Queryable;
use tether_connect::{Connection, DbUrl};
use tether_testkit::block_on;
use tether_testkit::tls::{self, Server, CERT_USER, SCRAM_PASSWORD, SCRAM_USER, WRONG_HOST};

/// Connects and says whether the connection uses TLS, or the connection error.
fn tls_in_use(url: &str) -> Result<bool, String> {
    tls_in_use_with_env(url, |_| None)
}

fn tls_in_use_with_env(url: &str, env: impl Fn(&str) -> Option<String>) -> Result<bool, String> {
    let url = DbUrl::parse_with_env(url, env).map_err(|e| e.to_string())?;
    block_on(async {
        let mut conn = Connection::open(&url).await.map_err(|e| e.to_string())?;
        let secure = match conn {
            Connection::Postgres { ref client, .. } => client
                .query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])
                .await
                .expect("pg_stat_ssl")
                .get::<_, bool>(0),
            Connection::Mysql { ref mut conn, .. } => {
                let cipher: Option<(String, String)> = conn
                    .query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
                    .await
                    .expect("Ssl_cipher");
                !cipher.expect("an Ssl_cipher row").1.is_empty()
            }
            Connection::Sqlite { .. } => unreachable!("server URLs only"),
        };
        conn.close().await;
        Ok(secure)
    })
}

fn pg(server: &Server, host: &str, user: &str, query: &str) -> String {
    format!("postgres://{user}@{host}:{}/postgres?{query}", server.port)
}

fn my(server: &Server, host: &str, user: &str, query: &str) -> String {
    format!("mysql://{user}@{host}:{}/mysql?{query}", server.port)
}

fn path(p: &std::path::Path) -> String {
    p.display().to_string()
}

#[test]
fn postgres_modes_check_what_they_say() {
    let (on, off, c) = (tls::pg_tls(), tls::pg_plain(), tls::certs());
    let ca = format!("sslrootcert={}", path(&c.ca));
    let at = |server, host, query: &str| tls_in_use(&pg(server, host, "postgres", query));

    // verify-full: the chain and the host name.
    assert_eq!(at(on, "127.0.0.1", &format!("sslmode=verify-full&{ca}")), Ok(true));
    // A CA that did not sign the server's certificate.
    let e = at(
        on,
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={}", path(&c.other_ca)),
    )
    .unwrap_err();
    assert!(
        e.contains(&format!(
            "TLS certificate check failed: the server's certificate is not signed by a CA in sslrootcert {}",
            path(&c.other_ca)
        )),
        "{e}"
    );
    let e = at(
        on,
        "127.0.0.1",
        &format!("sslmode=verify-ca&sslrootcert={}", path(&c.other_ca)),
    )
    .unwrap_err();
    assert!(e.contains("TLS certificate check failed"), "{e}");
    // A host name the certificate does not hold: verify-full refuses, verify-ca does not look.
    let e = at(on, WRONG_HOST, &format!("sslmode=verify-full&{ca}")).unwrap_err();
    assert_eq!(
        e,
        format!(
            "cannot connect to postgres://postgres@{WRONG_HOST}:{}/postgres: TLS host name check failed: the \
             server's certificate is not valid for `{WRONG_HOST}` (it names DnsName(\"localhost\"), \
             IpAddress(127.0.0.1)); sslmode=verify-full checks the host name, sslmode=verify-ca does not",
            on.port
        )
    );
    assert_eq!(at(on, WRONG_HOST, &format!("sslmode=verify-ca&{ca}")), Ok(true));
    // libpq: require with a root certificate checks the chain.
    let e = at(
        on,
        "127.0.0.1",
        &format!("sslmode=require&sslrootcert={}", path(&c.other_ca)),
    )
    .unwrap_err();
    assert!(e.contains("TLS certificate check failed"), "{e}");

    // require and prefer use TLS when the server has it; disable never does.
    assert_eq!(at(on, "127.0.0.1", "sslmode=require"), Ok(true));
    assert_eq!(at(on, "127.0.0.1", "sslmode=prefer"), Ok(true));
    assert_eq!(at(on, "127.0.0.1", ""), Ok(true), "prefer is the default");
    assert_eq!(at(on, "127.0.0.1", "sslmode=disable"), Ok(false));

    // A plain-only server: only prefer (the default) falls back.
    for mode in ["require", "verify-ca", "verify-full"] {
        let e = at(off, "127.0.0.1", &format!("sslmode={mode}&{ca}")).unwrap_err();
        let shown = if mode == "require" {
            format!("require (sslmode=verify-ca, as sslrootcert {} is given)", path(&c.ca))
        } else {
            mode.to_string()
        };
        assert_eq!(
            e,
            format!(
                "cannot connect to postgres://postgres@127.0.0.1:{}/postgres: TLS not supported by the server: \
                 it accepts plain connections only, and sslmode={shown} does not fall back to plain \
                 (sslmode=prefer would)",
                off.port
            )
        );
    }
    let e = at(off, "127.0.0.1", "sslmode=require").unwrap_err();
    assert!(
        e.ends_with("and sslmode=require does not fall back to plain (sslmode=prefer would)"),
        "{e}"
    );
    assert_eq!(at(off, "127.0.0.1", "sslmode=prefer"), Ok(false));
    assert_eq!(at(off, "127.0.0.1", ""), Ok(false));

    // A missing root certificate is named by its option.
    let e = at(on, "127.0.0.1", "sslmode=verify-full&sslrootcert=/nonexistent/ca.crt").unwrap_err();
    assert!(
        e.contains("sslrootcert /nonexistent/ca.crt: No such file or directory"),
        "{e}"
    );
}

#[test]
fn postgres_client_certificates_and_environment() {
    let (on, c) = (tls::pg_tls(), tls::certs());
    // `hostssl ... cert`: the user logs in with a certificate only.
    let e = tls_in_use(&pg(on, "127.0.0.1", CERT_USER, "sslmode=require")).unwrap_err();
    assert!(e.contains("server error 28000"), "{e}");
    let with_cert = format!("sslcert={}&sslkey={}", path(&c.client_cert), path(&c.client_key));
    assert_eq!(
        tls_in_use(&pg(
            on,
            "127.0.0.1",
            CERT_USER,
            &format!("sslmode=verify-full&sslrootcert={}&{with_cert}", path(&c.ca))
        )),
        Ok(true)
    );
    // Half a client identity is refused before connecting.
    let e = tls_in_use(&pg(
        on,
        "127.0.0.1",
        CERT_USER,
        &format!("sslcert={}", path(&c.client_cert)),
    ))
    .unwrap_err();
    assert!(e.ends_with("a client certificate needs both sslcert and sslkey"), "{e}");

    // A password login (SCRAM-SHA-256 with channel binding to the TLS certificate).
    let scram = |password: &str| {
        tls_in_use(&format!(
            "postgres://{SCRAM_USER}:{password}@127.0.0.1:{}/postgres?sslmode=verify-full&sslrootcert={}",
            on.port,
            path(&c.ca)
        ))
    };
    assert_eq!(scram(SCRAM_PASSWORD), Ok(true));
    let e = scram("wrong-pw").unwrap_err();
    assert!(e.contains("server error 28P01"), "{e}");
    assert!(!e.contains("wrong-pw"), "{e}");

    // The PGSSL* variables, as libpq reads them.
    let env = |k: &str| match k {
        "PGSSLMODE" => Some("verify-full".to_string()),
        "PGSSLROOTCERT" => Some(path(&c.ca)),
        "PGSSLCERT" => Some(path(&c.client_cert)),
        "PGSSLKEY" => Some(path(&c.client_key)),
        _ => None,
    };
    assert_eq!(tls_in_use_with_env(&pg(on, "127.0.0.1", CERT_USER, ""), env), Ok(true));
    let e = tls_in_use_with_env(&pg(on, WRONG_HOST, CERT_USER, ""), env).unwrap_err();
    assert!(e.contains("TLS host name check failed"), "{e}");
}

#[test]
fn mariadb_modes_check_what_they_say() {
    let (on, off, c) = (tls::mariadb_tls(), tls::mariadb_plain(), tls::certs());
    let ca = format!("ssl-ca={}", path(&c.ca));
    let at = |server, host, query: &str| tls_in_use(&my(server, host, "root", query));

    assert_eq!(at(on, "127.0.0.1", &format!("ssl-mode=VERIFY_IDENTITY&{ca}")), Ok(true));
    let e = at(
        on,
        "127.0.0.1",
        &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={}", path(&c.other_ca)),
    )
    .unwrap_err();
    assert!(
        e.contains(&format!(
            "TLS certificate check failed: the server's certificate is not signed by a CA in ssl-ca {}",
            path(&c.other_ca)
        )),
        "{e}"
    );
    let e = at(
        on,
        "127.0.0.1",
        &format!("ssl_mode=VERIFY_CA&ssl_ca={}", path(&c.other_ca)),
    )
    .unwrap_err();
    assert!(e.contains("TLS certificate check failed"), "{e}");
    let e = at(on, WRONG_HOST, &format!("ssl-mode=VERIFY_IDENTITY&{ca}")).unwrap_err();
    assert!(
        e.contains(&format!(
            "TLS host name check failed: the server's certificate is not valid for `{WRONG_HOST}`"
        )) && e.ends_with("ssl-mode=VERIFY_IDENTITY checks the host name, ssl-mode=VERIFY_CA does not"),
        "{e}"
    );
    assert_eq!(at(on, WRONG_HOST, &format!("ssl-mode=VERIFY_CA&{ca}")), Ok(true));

    assert_eq!(at(on, "127.0.0.1", "ssl-mode=REQUIRED"), Ok(true));
    assert_eq!(at(on, "127.0.0.1", "ssl-mode=PREFERRED"), Ok(true));
    assert_eq!(at(on, "127.0.0.1", ""), Ok(true), "PREFERRED is the default");
    assert_eq!(at(on, "127.0.0.1", "ssl-mode=DISABLED"), Ok(false));

    for mode in ["REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"] {
        let e = at(off, "127.0.0.1", &format!("ssl-mode={mode}&{ca}")).unwrap_err();
        assert_eq!(
            e,
            format!(
                "cannot connect to mysql://root@127.0.0.1:{}/mysql: TLS not supported by the server: it accepts \
                 plain connections only, and {} does not fall back to plain (ssl-mode=PREFERRED would)",
                off.port,
                // REQUIRED with ssl-ca checks the CA (as the mariadb client does).
                match mode {
                    "REQUIRED" => format!(
                        "ssl-mode=REQUIRED (ssl-mode=VERIFY_CA, as ssl-ca {} is given)",
                        path(&c.ca)
                    ),
                    _ => format!("ssl-mode={mode}"),
                }
            )
        );
    }
    assert_eq!(at(off, "127.0.0.1", "ssl-mode=PREFERRED"), Ok(false));
    assert_eq!(at(off, "127.0.0.1", ""), Ok(false));
}

#[test]
fn mariadb_client_certificates() {
    let (on, c) = (tls::mariadb_tls(), tls::certs());
    // REQUIRE X509: a certificate signed by the server's CA.
    let e = tls_in_use(&my(on, "127.0.0.1", CERT_USER, "ssl-mode=REQUIRED")).unwrap_err();
    assert!(
        e.contains("server error 1045 (28000): Access denied for user 'tls_client'"),
        "{e}"
    );
    let with_cert = format!("ssl-cert={}&ssl-key={}", path(&c.client_cert), path(&c.client_key));
    assert_eq!(
        tls_in_use(&my(
            on,
            "127.0.0.1",
            CERT_USER,
            &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={}&{with_cert}", path(&c.ca))
        )),
        Ok(true)
    );
    let e = tls_in_use(&my(
        on,
        "127.0.0.1",
        CERT_USER,
        &format!("ssl-key={}", path(&c.client_key)),
    ))
    .unwrap_err();
    assert!(
        e.ends_with("a client certificate needs both ssl-cert and ssl-key"),
        "{e}"
    );
}
