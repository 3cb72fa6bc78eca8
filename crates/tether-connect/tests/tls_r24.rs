//! Twenty-fourth session (review r23m F2, F1, F5): X.509 version 1 certificates, as
//! `openssl req -x509` without extensions and old `mysql_ssl_rsa_setup` make them.
//! webpki (rustls) reads version 3 only, so Tether refused such a server even with
//! `sslmode=require`, which checks no certificate (libpq connects), and refused a
//! version 1 client certificate as "not going together" with its key.

use tether_connect::{Connection, DbUrl};
use tether_testkit::block_on;
use tether_testkit::tls::{self, CERT_USER};

/// Connects and says whether the connection uses TLS, or the connection error.
fn tls_in_use(url: &str) -> Result<bool, String> {
    let url = DbUrl::parse_with_env(url, |_| None).map_err(|e| e.to_string())?;
    block_on(async {
        let conn = Connection::open(&url).await.map_err(|e| e.to_string())?;
        let secure = match conn {
            Connection::Postgres { ref client, .. } => client
                .query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])
                .await
                .expect("pg_stat_ssl")
                .get::<_, bool>(0),
            _ => unreachable!("PostgreSQL URLs only"),
        };
        conn.close().await;
        Ok(secure)
    })
}

fn path(p: &std::path::Path) -> String {
    p.display().to_string()
}

/// The certificate the server presents is version 1, and the test's own reading of
/// it says so (the premise of every test below).
#[test]
fn the_test_certificates_are_version_1() {
    let v1 = tls::v1_certs();
    for p in [&v1.server_cert, &v1.client_cert] {
        assert_eq!(tether_connect::tls::file_x509_version(p), Some(1), "{}", p.display());
    }
    assert_eq!(
        tether_connect::tls::file_x509_version(&tls::certs().server_cert),
        Some(3)
    );
}

/// F2: `prefer` and `require` (no check asked for) connect over TLS to a server with a
/// version 1 certificate, as libpq does; the checking modes refuse it, saying it is
/// the certificate's version (not "Other(OtherError(UnsupportedCertVersion))").
#[test]
fn a_version_1_server_certificate_is_encrypted_to_unless_checks_are_asked() {
    let (on, v1) = (tls::pg_tls_v1(), tls::v1_certs());
    let url = |query: &str| format!("postgres://postgres@127.0.0.1:{}/postgres?{query}", on.port);
    assert_eq!(tls_in_use(&url("sslmode=require")), Ok(true));
    assert_eq!(tls_in_use(&url("sslmode=prefer")), Ok(true));
    assert_eq!(tls_in_use(&url("")), Ok(true));
    assert_eq!(tls_in_use(&url("sslmode=disable")), Ok(false));
    // The certificate itself as the trusted CA, and another CA: refused before either
    // chain is looked at, with the version and the way out.
    for (query, shown) in [
        (
            format!("sslmode=verify-full&sslrootcert={}", path(&v1.server_cert)),
            "sslmode=verify-full".to_string(),
        ),
        (
            format!("sslmode=verify-ca&sslrootcert={}", path(&tls::certs().ca)),
            "sslmode=verify-ca".to_string(),
        ),
        (
            format!("sslmode=require&sslrootcert={}", path(&v1.server_cert)),
            format!(
                "sslmode=require (sslmode=verify-ca, as sslrootcert {} is given)",
                path(&v1.server_cert)
            ),
        ),
    ] {
        assert_eq!(
            tls_in_use(&url(&query)),
            Err(format!(
                "cannot connect to postgres://postgres@127.0.0.1:{}/postgres: TLS certificate check failed: the \
                 server's certificate is X.509 version 1, and {shown} checks only version 3 certificates (the CA \
                 constraints and host names it checks are version 3 extensions): re-issue the server's \
                 certificate as version 3 (with subjectAltName), or use sslmode=require (encrypted, the \
                 certificate not checked)",
                on.port
            )),
            "{query}"
        );
    }
}

/// F1: a version 1 client certificate is presented (the server takes it: `cert`
/// authentication logs [`CERT_USER`] in by its CN); a key that is not the
/// certificate's is refused as not going together, a configuration mistake (exit 2
/// in the CLI), without a rustls error's debug text.
#[test]
fn a_version_1_client_certificate_is_presented() {
    let (on, v1) = (tls::pg_tls_v1(), tls::v1_certs());
    let url = |cert: &std::path::Path, key: &std::path::Path| {
        format!(
            "postgres://{CERT_USER}@127.0.0.1:{}/postgres?sslmode=require&sslcert={}&sslkey={}",
            on.port,
            path(cert),
            path(key)
        )
    };
    assert_eq!(tls_in_use(&url(&v1.client_cert, &v1.client_key)), Ok(true));
    // Without it, `cert` authentication refuses the login.
    let e = tls_in_use(&format!(
        "postgres://{CERT_USER}@127.0.0.1:{}/postgres?sslmode=require",
        on.port
    ))
    .unwrap_err();
    assert!(e.contains("28000"), "{e}");
    let e = tls_in_use(&url(&v1.client_cert, &v1.server_key)).unwrap_err();
    assert_eq!(
        e,
        format!(
            "invalid database URL `postgres://{CERT_USER}@127.0.0.1:{}/postgres`: sslcert / sslkey: the client \
             certificate and key do not go together (the key is not the certificate's)",
            on.port
        )
    );
    // A version 3 pair that does not go together says the same.
    let c = tls::certs();
    let e = tls_in_use(&url(&c.client_cert, &c.server_key)).unwrap_err();
    assert!(
        e.ends_with(
            "sslcert / sslkey: the client certificate and key do not go together (the key is not the certificate's)"
        ),
        "{e}"
    );
}

/// F5: a TLS file that cannot be used is the URL's mistake: an InvalidUrl error
/// (exit 2 in the CLI) naming the option and the file, before any connection.
#[test]
fn unusable_tls_files_are_configuration_errors() {
    let c = tls::certs();
    // Port 9 (discard): nothing is reached before the files are read.
    for (query, reason) in [
        (
            "sslmode=verify-full&sslrootcert=/nonexistent/w24b-ca.pem".to_string(),
            "sslrootcert /nonexistent/w24b-ca.pem: No such file or directory (os error 2)".to_string(),
        ),
        (
            format!("sslmode=require&sslcert={}", path(&c.client_cert)),
            "a client certificate needs both sslcert and sslkey".to_string(),
        ),
        (
            format!(
                "sslmode=require&sslcert={}&sslkey={}",
                path(&c.client_key),
                path(&c.client_key)
            ),
            format!("sslcert {}: no certificate in the file", path(&c.client_key)),
        ),
    ] {
        let url = format!("postgres://u:S3cretPW@127.0.0.1:9/d?{query}");
        let parsed = DbUrl::parse_with_env(&url, |_| None).expect("the URL parses");
        let e = block_on(Connection::open(&parsed)).err().expect("refused");
        assert!(
            matches!(e, tether_connect::ConnectError::InvalidUrl { .. }),
            "{query}: {e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!("invalid database URL `postgres://u:***@127.0.0.1:9/d`: {reason}"),
            "{query}"
        );
    }
    let url = "mysql://u:S3cretPW@127.0.0.1:9/d?ssl-mode=VERIFY_IDENTITY&ssl-ca=/nonexistent/w24b-ca.pem";
    let parsed = DbUrl::parse_with_env(url, |_| None).expect("the URL parses");
    let e = block_on(Connection::open(&parsed)).err().expect("refused");
    assert_eq!(
        e.to_string(),
        "invalid database URL `mysql://u:***@127.0.0.1:9/d`: ssl-ca /nonexistent/w24b-ca.pem: No such file or \
         directory (os error 2)"
    );
}

/// Connects to MariaDB and says whether the connection uses TLS, or the error.
fn mariadb_tls_in_use(url: &str) -> Result<bool, String> {
    use mysql_async::prelude::Queryable;
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

/// MariaDB connections of sync, plan, schema and scan go through mysql_async, whose
/// verifier reads version 3 certificates only, in every mode: the failure says so
/// (before: `invalid peer certificate: Other(OtherError(UnsupportedCertVersion))`),
/// and a version 1 client certificate is refused before connecting, named.
#[test]
fn mariadb_says_its_driver_cannot_read_a_version_1_certificate() {
    let (on, v1) = (tls::mariadb_tls_v1(), tls::v1_certs());
    let url = |query: &str| format!("mysql://root@127.0.0.1:{}/mysql?{query}", on.port);
    assert_eq!(mariadb_tls_in_use(&url("ssl-mode=DISABLED")), Ok(false));
    assert_eq!(
        mariadb_tls_in_use(&url("ssl-mode=REQUIRED")),
        Err(format!(
            "cannot connect to mysql://root@127.0.0.1:{}/mysql: TLS certificate check failed: the server's \
             certificate is older than X.509 version 3, which the MariaDB/MySQL driver cannot read, even with \
             ssl-mode=REQUIRED (no check): re-issue the server's certificate as version 3 (with subjectAltName), \
             or connect with ssl-mode=DISABLED",
            on.port
        ))
    );
    let e = mariadb_tls_in_use(&url(&format!(
        "ssl-mode=VERIFY_IDENTITY&ssl-ca={}",
        path(&v1.server_cert)
    )))
    .unwrap_err();
    assert!(
        e.contains(
            "TLS certificate check failed: the server's certificate is older than X.509 version 3, and \
             ssl-mode=VERIFY_IDENTITY checks only version 3 certificates"
        ),
        "{e}"
    );
    let e = mariadb_tls_in_use(&url(&format!(
        "ssl-mode=DISABLED&ssl-cert={}&ssl-key={}",
        path(&v1.client_cert),
        path(&v1.client_key)
    )));
    // DISABLED: no TLS, the certificate is not read.
    assert_eq!(e, Ok(false));
    let e = mariadb_tls_in_use(&url(&format!(
        "ssl-mode=PREFERRED&ssl-cert={}&ssl-key={}",
        path(&v1.client_cert),
        path(&v1.client_key)
    )))
    .unwrap_err();
    assert_eq!(
        e,
        format!(
            "invalid database URL `mysql://root@127.0.0.1:{}/mysql`: ssl-cert {}: the client certificate is X.509 \
             version 1, which the MariaDB/MySQL driver cannot present (it reads version 3 certificates only): \
             re-issue it as version 3",
            on.port,
            path(&v1.client_cert)
        )
    );
}

/// Logs [`CERT_USER`] (`REQUIRE X509`, no password) in to `port` over TLS made with
/// Tether's own rustls configuration for `opts` (what the gateway's backend
/// connections use), speaking the MySQL protocol by hand: the first byte of the
/// server's last answer (0x00 OK, 0xff an error).
fn login_over_tethers_tls(port: u16, opts: &tether_connect::TlsOptions) -> u8 {
    use std::sync::Arc;
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
    async fn read_packet<S: AsyncRead + Unpin>(s: &mut S) -> (u8, Vec<u8>) {
        let mut header = [0u8; 4];
        s.read_exact(&mut header).await.expect("a packet header");
        let len = usize::from(header[0]) | (usize::from(header[1]) << 8) | (usize::from(header[2]) << 16);
        let mut payload = vec![0u8; len];
        s.read_exact(&mut payload).await.expect("a packet");
        (header[3], payload)
    }
    async fn write_packet<S: AsyncWrite + Unpin>(s: &mut S, seq: u8, payload: &[u8]) {
        let len = payload.len() as u32;
        let mut packet = vec![len as u8, (len >> 8) as u8, (len >> 16) as u8, seq];
        packet.extend_from_slice(payload);
        s.write_all(&packet).await.expect("a packet written");
    }
    let config = tether_connect::tls::client_config(opts, tether_connect::Engine::Mysql).expect("a configuration");
    block_on(async {
        let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("TCP");
        read_packet(&mut tcp).await;
        // CLIENT_PROTOCOL_41 | CLIENT_SSL | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH
        let caps: u32 = 0x0200 | 0x0800 | 0x8000 | 0x0008_0000;
        let mut head = caps.to_le_bytes().to_vec();
        head.extend_from_slice(&(16u32 << 20).to_le_bytes());
        head.push(45);
        head.extend_from_slice(&[0u8; 23]);
        write_packet(&mut tcp, 1, &head).await;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("a name");
        let mut tls = connector.connect(name, tcp).await.expect("the TLS handshake");
        let mut login = head;
        login.extend_from_slice(CERT_USER.as_bytes());
        login.extend_from_slice(&[0, 0]);
        login.extend_from_slice(b"mysql_native_password\0");
        write_packet(&mut tls, 2, &login).await;
        let (mut seq, mut answer) = read_packet(&mut tls).await;
        // An authentication switch: the (empty) password again.
        while answer.first() == Some(&0xfe) {
            write_packet(&mut tls, seq + 1, &[]).await;
            (seq, answer) = read_packet(&mut tls).await;
        }
        answer[0]
    })
}

/// The gateway's backend connections use Tether's rustls configuration: a version 1
/// server certificate is encrypted to with REQUIRED, and a version 1 client
/// certificate is presented (MariaDB's `REQUIRE X509` user logs in with it, and is
/// refused without it).
#[test]
fn tethers_own_tls_configuration_takes_version_1_certificates_from_mariadb() {
    let (on, v1) = (tls::mariadb_tls_v1(), tls::v1_certs());
    let mut opts = tether_connect::TlsOptions {
        mode: tether_connect::TlsMode::Require,
        ..Default::default()
    };
    assert_eq!(login_over_tethers_tls(on.port, &opts), 0xff);
    opts.cert = Some(v1.client_cert.clone());
    opts.key = Some(v1.client_key.clone());
    assert_eq!(login_over_tethers_tls(on.port, &opts), 0x00);
}
