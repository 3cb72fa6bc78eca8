//! Nineteenth session (review r20g F1): a MariaDB URL's `ssl-ca` is a CA to check the
//! server against, whatever the mode says short of DISABLED. The mysql client makes
//! `--ssl-ca` alone VERIFY_CA and the mariadb client checks a given CA always; Tether
//! accepted any certificate with `ssl-ca` and no `ssl-mode`, `REQUIRED` or `PREFERRED`.

use mysql_async::prelude::Queryable;
use tether_connect::{Connection, DbUrl};
use tether_testkit::block_on;
use tether_testkit::tls::{self, WRONG_HOST};

/// Connects and says whether the connection uses TLS, or the connection error.
fn tls_in_use(url: &str) -> Result<bool, String> {
    let url = DbUrl::parse_with_env(url, |_| None).map_err(|e| e.to_string())?;
    block_on(async {
        let mut conn = Connection::open(&url).await.map_err(|e| e.to_string())?;
        let secure = match conn {
            Connection::Mysql { ref mut conn, .. } => {
                let cipher: Option<(String, String)> = conn
                    .query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
                    .await
                    .expect("Ssl_cipher");
                !cipher.expect("an Ssl_cipher row").1.is_empty()
            }
            _ => unreachable!("MariaDB URLs only"),
        };
        conn.close().await;
        Ok(secure)
    })
}

/// The query strings that name a CA without VERIFY_CA / VERIFY_IDENTITY, and how the
/// mode is shown in messages.
fn ca_queries(ca: &str) -> Vec<(String, String)> {
    vec![
        (
            format!("ssl-ca={ca}"),
            format!("ssl-mode=VERIFY_CA (as ssl-ca {ca} is given)"),
        ),
        (
            format!("ssl-mode=REQUIRED&ssl-ca={ca}"),
            format!("ssl-mode=REQUIRED (ssl-mode=VERIFY_CA, as ssl-ca {ca} is given)"),
        ),
        (
            format!("ssl_mode=preferred&ssl_ca={ca}"),
            format!("ssl-mode=PREFERRED (ssl-mode=VERIFY_CA, as ssl-ca {ca} is given)"),
        ),
    ]
}

#[test]
fn a_given_ssl_ca_is_checked_without_verify_mode() {
    let (on, c) = (tls::mariadb_tls(), tls::certs());
    let other = c.other_ca.display().to_string();
    for (query, _) in ca_queries(&other) {
        let url = format!("mysql://root@127.0.0.1:{}/mysql?{query}", on.port);
        let e = tls_in_use(&url).expect_err(&query);
        assert!(
            e.starts_with(&format!(
                "cannot connect to mysql://root@127.0.0.1:{}/mysql: TLS certificate check failed: the server's \
                 certificate is not signed by a CA in ssl-ca {other}",
                on.port
            )),
            "{query}: {e}"
        );
    }
    // The right CA: TLS, and (VERIFY_CA, as the mariadb client) the host name is not checked.
    let ca = c.ca.display().to_string();
    for host in ["127.0.0.1", WRONG_HOST] {
        for (query, _) in ca_queries(&ca) {
            let url = format!("mysql://root@{host}:{}/mysql?{query}", on.port);
            assert_eq!(tls_in_use(&url), Ok(true), "{host} {query}");
        }
    }
    // DISABLED stays plain; the CA is not used.
    let url = format!(
        "mysql://root@127.0.0.1:{}/mysql?ssl-mode=DISABLED&ssl-ca={other}",
        on.port
    );
    assert_eq!(tls_in_use(&url), Ok(false));
}

#[test]
fn a_given_ssl_ca_never_falls_back_to_plain() {
    let (off, c) = (tls::mariadb_plain(), tls::certs());
    let ca = c.ca.display().to_string();
    for (query, shown) in ca_queries(&ca) {
        let url = format!("mysql://root@127.0.0.1:{}/mysql?{query}", off.port);
        assert_eq!(
            tls_in_use(&url),
            Err(format!(
                "cannot connect to mysql://root@127.0.0.1:{}/mysql: TLS not supported by the server: it accepts \
                 plain connections only, and {shown} does not fall back to plain (ssl-mode=PREFERRED would)",
                off.port
            )),
            "{query}"
        );
    }
    // Without ssl-ca, PREFERRED still goes plain there.
    let url = format!("mysql://root@127.0.0.1:{}/mysql", off.port);
    assert_eq!(tls_in_use(&url), Ok(false));
}
