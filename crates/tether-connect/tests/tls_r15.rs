//! Review r15 (Q1, Q2, Q4, Q5): libpq's default root certificate file and
//! `sslrootcert=system`, MariaDB's VERIFY_CA without a CA file, and the messages
//! that name modes, CA files, hosts and keys. Private servers of
//! tether_testkit::tls.

use tether_connect::{Connection, DbUrl};
use tether_testkit::block_on;
use tether_testkit::tls::{self, Server};

/// Connects, returning whether the connection works, or the error's text.
fn connect(url: &str, env: impl Fn(&str) -> Option<String>) -> Result<(), String> {
    let url = DbUrl::parse_with_env(url, env).map_err(|e| e.to_string())?;
    block_on(async {
        let conn = Connection::open(&url).await.map_err(|e| e.to_string())?;
        conn.close().await;
        Ok(())
    })
}

fn pg(server: &Server, query: &str) -> String {
    format!("postgres://postgres@127.0.0.1:{}/postgres?{query}", server.port)
}

/// A home directory whose `~/.postgresql/root.crt` is a copy of `ca`.
fn home_with_root_crt(name: &str, ca: &std::path::Path) -> std::path::PathBuf {
    let home = tls::certs().dir.join(name);
    std::fs::create_dir_all(home.join(".postgresql")).expect("home");
    std::fs::copy(ca, home.join(".postgresql/root.crt")).expect("root.crt");
    home
}

/// Q1: as libpq, `sslmode=require` with a `~/.postgresql/root.crt` checks the
/// chain (verify-ca): a server whose certificate that CA did not sign is refused.
#[test]
fn require_with_a_default_root_crt_checks_the_chain() {
    let (on, off, c) = (tls::pg_tls(), tls::pg_plain(), tls::certs());
    let untrusting = home_with_root_crt("home_other_ca", &c.other_ca);
    let home = |h: &std::path::Path| {
        let h = h.display().to_string();
        move |k: &str| (k == "HOME").then(|| h.clone())
    };
    let root = untrusting.join(".postgresql/root.crt");
    assert_eq!(
        connect(&pg(on, "sslmode=require"), home(&untrusting)),
        Err(format!(
            "cannot connect to postgres://postgres@127.0.0.1:{}/postgres: TLS certificate check failed: the server's \
             certificate is not signed by a CA in ~/.postgresql/root.crt ({}) (invalid peer certificate: UnknownIssuer)",
            on.port,
            root.display()
        ))
    );
    // The CA that signed it: accepted; no root.crt: require checks nothing.
    let trusting = home_with_root_crt("home_ca", &c.ca);
    assert_eq!(connect(&pg(on, "sslmode=require"), home(&trusting)), Ok(()));
    assert_eq!(connect(&pg(on, "sslmode=require"), |_| None), Ok(()));
    // prefer is not changed (libpq's rule is require's).
    assert_eq!(connect(&pg(on, "sslmode=prefer"), home(&untrusting)), Ok(()));
    // Q5: the mode named as written, and why it checks.
    assert_eq!(
        connect(&pg(off, "sslmode=require"), home(&trusting)),
        Err(format!(
            "cannot connect to postgres://postgres@127.0.0.1:{}/postgres: TLS not supported by the server: it \
             accepts plain connections only, and sslmode=require (sslmode=verify-ca, as ~/.postgresql/root.crt ({}) \
             exists) does not fall back to plain (sslmode=prefer would)",
            off.port,
            trusting.join(".postgresql/root.crt").display()
        ))
    );
    assert_eq!(
        connect(
            &pg(off, &format!("sslmode=require&sslrootcert={}", c.ca.display())),
            |_| None
        ),
        Err(format!(
            "cannot connect to postgres://postgres@127.0.0.1:{}/postgres: TLS not supported by the server: it \
             accepts plain connections only, and sslmode=require (sslmode=verify-ca, as sslrootcert {} is given) \
             does not fall back to plain (sslmode=prefer would)",
            off.port,
            c.ca.display()
        ))
    );
}

/// Q2: `sslrootcert=system` means verify-full (libpq 16); weaker modes are refused.
#[test]
fn sslrootcert_system_means_verify_full() {
    let on = tls::pg_tls();
    // Without sslmode: verify-full, so the private certificate is refused.
    assert_eq!(
        connect(&pg(on, "sslrootcert=system"), |_| None),
        Err(format!(
            "cannot connect to postgres://postgres@127.0.0.1:{}/postgres: TLS certificate check failed: the server's \
             certificate is not signed by a CA in the public (Mozilla) root CAs of sslrootcert=system (invalid peer \
             certificate: UnknownIssuer)",
            on.port
        ))
    );
    for mode in ["verify-ca", "require", "prefer", "allow", "disable"] {
        let url = pg(on, &format!("sslmode={mode}&sslrootcert=system"));
        assert_eq!(
            connect(&url, |_| None),
            Err(format!(
                "invalid database URL `{url}`: sslmode={mode} may not be used with sslrootcert=system: the public \
                 CAs sign certificates for any host, so only sslmode=verify-full checks the server (as libpq 16 \
                 says: leave sslmode out, or use verify-full)"
            ))
        );
    }
    // The same from the environment.
    let url = pg(on, "");
    let env = |k: &str| match k {
        "PGSSLMODE" => Some("verify-ca".to_string()),
        "PGSSLROOTCERT" => Some("system".to_string()),
        _ => None,
    };
    assert_eq!(
        connect(&url, env),
        Err(format!(
            "invalid database URL `{url}`: PGSSLMODE=verify-ca may not be used with sslrootcert=system: the public \
             CAs sign certificates for any host, so only sslmode=verify-full checks the server (as libpq 16 says: \
             leave sslmode out, or use verify-full)"
        ))
    );
}

/// Runs openssl in `dir`.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Q2: MariaDB's VERIFY_CA without ssl-ca would check the chain against the public
/// CAs and no host name: refused. Q4: a certificate without subjectAltName is
/// refused with a message that says so. (One test: the second part changes the
/// MariaDB server's certificate.)
#[test]
fn mariadb_verify_ca_without_a_ca_file_is_refused() {
    // PostgreSQL copies the certificate files when it starts: before they change.
    tls::pg_tls();
    let server = tls::mariadb_tls();
    for mode in ["VERIFY_CA", "verify_ca"] {
        let url = format!("mysql://root@127.0.0.1:{}/mysql?ssl-mode={mode}", server.port);
        assert_eq!(
            connect(&url, |_| None),
            Err(format!(
                "invalid database URL `{url}`: ssl-mode=VERIFY_CA without ssl-ca would accept a certificate any \
                 public CA issued for any host (the public root CAs are used, and the host name is not checked): \
                 give ssl-ca=PATH (the CA that signed the server's certificate), or use ssl-mode=VERIFY_IDENTITY \
                 to check the host name"
            ))
        );
    }
    let url = format!(
        "mysql://root@127.0.0.1:{}/mysql?ssl-mode=VERIFY_CA&ssl-ca={}",
        server.port,
        tls::certs().ca.display()
    );
    assert_eq!(connect(&url, |_| None), Ok(()));

    // Q4: the server's certificate names its host in the subject's CN only.
    let dir = tls::certs().dir.join("r15-cn-only");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("ext.cnf"), "basicConstraints=CA:FALSE\n").expect("ext");
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=r15 CN-only CA",
        ],
    );
    openssl(
        &dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "server.crt",
        ],
    );
    let c = tls::certs();
    std::fs::copy(dir.join("server.crt"), &c.server_cert).expect("server.crt");
    std::fs::copy(dir.join("server.key"), &c.server_key).expect("server.key");
    server.exec("mysql", "FLUSH SSL");
    let ca = dir.join("ca.crt");
    let url = |host: &str, mode: &str| {
        format!(
            "mysql://root@{host}:{}/mysql?ssl-mode={mode}&ssl-ca={}",
            server.port,
            ca.display()
        )
    };
    assert_eq!(
        connect(&url("127.0.0.1", "VERIFY_CA"), |_| None),
        Err(format!(
            "cannot connect to mysql://root@127.0.0.1:{}/mysql: TLS host name check failed: the server's certificate \
             is not valid for `127.0.0.1`: it has no subjectAltName, and a host name only in its subject's CN is not \
             accepted (give the certificate subjectAltName=IP:127.0.0.1); with ssl-mode=VERIFY_CA Tether checks the \
             chain, then connects expecting a name the certificate holds, and this one holds none",
            server.port
        ))
    );
    assert_eq!(
        connect(&url("localhost", "VERIFY_IDENTITY"), |_| None),
        Err(format!(
            "cannot connect to mysql://root@localhost:{}/mysql: TLS host name check failed: the server's certificate \
             is not valid for `localhost`: it has no subjectAltName, and a host name only in its subject's CN is not \
             accepted (give the certificate subjectAltName=DNS:localhost)",
            server.port
        ))
    );
    // REQUIRED with ssl-ca is VERIFY_CA (nineteenth session, r20g F1): the same refusal.
    assert_eq!(
        connect(&url("127.0.0.1", "REQUIRED"), |_| None),
        Err(format!(
            "cannot connect to mysql://root@127.0.0.1:{}/mysql: TLS host name check failed: the server's certificate \
             is not valid for `127.0.0.1`: it has no subjectAltName, and a host name only in its subject's CN is not \
             accepted (give the certificate subjectAltName=IP:127.0.0.1); with ssl-mode=REQUIRED (ssl-mode=VERIFY_CA, \
             as ssl-ca {} is given) Tether checks the chain, then connects expecting a name the certificate holds, and \
             this one holds none",
            server.port,
            ca.display()
        ))
    );
    // REQUIRED without ssl-ca checks nothing: connected.
    assert_eq!(
        connect(
            &format!("mysql://root@127.0.0.1:{}/mysql?ssl-mode=REQUIRED", server.port),
            |_| None
        ),
        Ok(())
    );
}

/// Q5: an IPv6 host is shown in brackets; an encrypted key is called encrypted (since
/// r24 F5 a mistake of the URL, exit 2, found before connecting).
#[test]
fn ipv6_hosts_and_encrypted_keys_are_shown_as_they_are() {
    let (on, c) = (tls::pg_tls(), tls::certs());
    let u = DbUrl::parse_with_env("postgres://postgres@[::1]:5/postgres", |_| None).expect("parses");
    assert_eq!(u.to_string(), "postgres://postgres@[::1]:5/postgres");
    let pkcs8 = c.dir.join("r15-enc-pkcs8.key");
    let pkcs1 = c.dir.join("r15-enc-pkcs1.key");
    let status = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-aes-128-cbc",
            "-pass",
            "pass:pw",
            "-out",
        ])
        .arg(&pkcs8)
        .status()
        .expect("openssl runs");
    assert!(status.success());
    let status = std::process::Command::new("openssl")
        .args([
            "rsa",
            "-traditional",
            "-aes128",
            "-passin",
            "pass:pw",
            "-passout",
            "pass:pw",
            "-in",
        ])
        .arg(&pkcs8)
        .arg("-out")
        .arg(&pkcs1)
        .status()
        .expect("openssl runs");
    assert!(status.success());
    for key in [&pkcs8, &pkcs1] {
        let url = pg(
            on,
            &format!(
                "sslmode=require&sslcert={}&sslkey={}",
                c.client_cert.display(),
                key.display()
            ),
        );
        assert_eq!(
            connect(&url, |_| None),
            Err(format!(
                "invalid database URL `postgres://postgres@127.0.0.1:{}/postgres`: sslkey {}: the key is encrypted \
                 (protected by a passphrase), which is not supported: decrypt it first (`openssl pkey -in KEY -out \
                 PLAIN_KEY`)",
                on.port,
                key.display()
            ))
        );
    }
}
