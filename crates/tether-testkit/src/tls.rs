//! TLS test servers: certificates made with rcgen (a CA, a server certificate for
//! `localhost` and `127.0.0.1`, a client certificate, and a second CA that signed
//! none of them), and private PostgreSQL and MariaDB instances with TLS on or off, on
//! free ports and temp dirs.
//!
//! The servers listen on 127.0.0.1 and 127.0.0.2: the certificate names only the
//! first, so the second is "a wrong host name". Each server starts once per test
//! process (the first test that asks starts it), as a child that the kernel kills
//! when the process ends (`PR_SET_PDEATHSIG`); their temp dirs are removed at exit
//! (and those of a killed test process by the next start).
//!
//! Programs: `TETHER_TEST_PG_BIN_DIR` (initdb, postgres) and
//! `TETHER_TEST_MARIADB_BIN_DIR` (mariadb-install-db, mariadbd), else the usual places.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use tether_connect::Engine;

/// The user that logs in with the client certificate only (PostgreSQL `cert`
/// authentication, MariaDB `REQUIRE X509`); the certificate's common name.
pub const CERT_USER: &str = "tls_client";

/// A PostgreSQL user that logs in with a password (SCRAM-SHA-256, so with channel
/// binding over TLS), over TLS only.
pub const SCRAM_USER: &str = "tls_scram";
pub const SCRAM_PASSWORD: &str = "scram-s3cret";

/// A host name the server certificate does not hold, on which the servers listen.
pub const WRONG_HOST: &str = "127.0.0.2";

/// Certificate and key files (PEM).
pub struct Certs {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A CA that signed nothing here: verifying against it must fail.
    pub other_ca: PathBuf,
}

fn ca(name: &str) -> (CertificateParams, KeyPair, String) {
    let key = KeyPair::generate().expect("a CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let pem = params.self_signed(&key).expect("a self-signed CA").pem();
    (params, key, pem)
}

impl Certs {
    /// Makes a fresh set in `dir`.
    pub fn create(dir: &Path) -> Certs {
        std::fs::create_dir_all(dir).expect("certificate dir");
        let (ca_params, ca_key, ca_pem) = ca("Tether test CA");
        let (_, _, other_pem) = ca("Tether unrelated CA");
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf = |names: Vec<String>, cn: &str| {
            let key = KeyPair::generate().expect("a key");
            let mut params = CertificateParams::new(names).expect("params");
            params.distinguished_name.push(DnType::CommonName, cn);
            let cert = params.signed_by(&key, &issuer).expect("a signed certificate");
            (cert.pem(), key.serialize_pem())
        };
        let (server_pem, server_key) = leaf(vec!["localhost".into(), "127.0.0.1".into()], "localhost");
        let (client_pem, client_key) = leaf(Vec::new(), CERT_USER);
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).expect("write a certificate file");
            path
        };
        Certs {
            dir: dir.to_path_buf(),
            ca: write("ca.crt", &ca_pem),
            server_cert: write("server.crt", &server_pem),
            server_key: write("server.key", &server_key),
            client_cert: write("client.crt", &client_pem),
            client_key: write("client.key", &client_key),
            other_ca: write("other-ca.crt", &other_pem),
        }
    }
}

/// The certificates of this test process.
pub fn certs() -> &'static Certs {
    static CERTS: OnceLock<Certs> = OnceLock::new();
    CERTS.get_or_init(|| Certs::create(&scratch_dir("certs")))
}

/// A private server of this test process.
pub struct Server {
    pub engine: Engine,
    pub port: u16,
    /// Data dir, socket, logs.
    pub dir: PathBuf,
    pub tls: bool,
}

impl Server {
    /// The admin URL (PostgreSQL: `postgres`; MariaDB: `root`) of `database`, no TLS
    /// options.
    pub fn url(&self, database: &str) -> String {
        match self.engine {
            Engine::Postgres => format!("postgres://postgres@127.0.0.1:{}/{database}", self.port),
            _ => format!("mysql://root@127.0.0.1:{}/{database}", self.port),
        }
    }

    /// The admin URL of the server's default database.
    pub fn admin_url(&self) -> String {
        self.url(if self.engine == Engine::Postgres {
            "postgres"
        } else {
            ""
        })
    }

    /// Creates `database` afresh (it lives as long as the server).
    pub fn create_db(&self, database: &str) {
        let admin = self.admin_url();
        match self.engine {
            Engine::Postgres => {
                crate::exec_url(self.engine, &admin, &format!("DROP DATABASE IF EXISTS {database}"));
                crate::exec_url(self.engine, &admin, &format!("CREATE DATABASE {database}"));
            }
            _ => crate::exec_url(
                self.engine,
                &admin,
                &format!("DROP DATABASE IF EXISTS {database}; CREATE DATABASE {database}"),
            ),
        }
    }

    /// Runs a script in `database` as the admin.
    pub fn exec(&self, database: &str, script: &str) {
        crate::exec_url(self.engine, &self.url(database), script)
    }

    /// Rows of a query in `database`, every value as text.
    pub fn query(&self, database: &str, sql: &str) -> Vec<Vec<Option<String>>> {
        crate::query_url(self.engine, &self.url(database), sql)
    }
}

/// PostgreSQL with `ssl = on` (server certificate from [`certs`], client
/// certificates checked against its CA; [`CERT_USER`] must log in with one).
pub fn pg_tls() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| {
        let c = certs();
        start_pg(
            "pg_tls",
            Some((c.server_cert.as_path(), c.server_key.as_path(), c.ca.as_path())),
        )
    })
}

/// X.509 version 1 certificates (no extensions at all), each self-signed, as
/// `openssl req -x509` without extensions and old `mysql_ssl_rsa_setup` make them:
/// webpki (rustls) refuses to read them; TLS servers and clients take them.
pub struct V1Certs {
    /// The server's, for `localhost` (in its subject's CN only: a v1 certificate has
    /// no subjectAltName).
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// The client's, with [`CERT_USER`] as its CN; the server trusts it as its own CA.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

/// The version 1 certificates of this test process.
pub fn v1_certs() -> &'static V1Certs {
    static CERTS: OnceLock<V1Certs> = OnceLock::new();
    CERTS.get_or_init(|| {
        let dir = scratch_dir("v1_certs");
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).expect("write a certificate file");
            path
        };
        let (server_pem, server_key) = self_signed_v1("localhost");
        let (client_pem, client_key) = self_signed_v1(CERT_USER);
        V1Certs {
            server_cert: write("server-v1.crt", &server_pem),
            server_key: write("server-v1.key", &server_key),
            client_cert: write("client-v1.crt", &client_pem),
            client_key: write("client-v1.key", &client_key),
        }
    })
}

/// A self-signed X.509 version 1 certificate (ECDSA P-256) for the common name `cn`,
/// and its key, both PEM. rcgen writes version 3 only: the DER is put together here.
pub fn self_signed_v1(cn: &str) -> (String, String) {
    use rcgen::{PublicKeyData, SigningKey};
    fn element(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match content.len() {
            n @ 0..=0x7f => out.push(n as u8),
            n @ 0x80..=0xff => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(content);
        out
    }
    let key = KeyPair::generate().expect("a key");
    // ecdsa-with-SHA256
    let algorithm = element(0x30, &element(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]));
    let name = element(
        0x30,
        &element(
            0x31,
            &element(
                0x30,
                &[element(0x06, &[0x55, 0x04, 0x03]), element(0x0c, cn.as_bytes())].concat(),
            ),
        ),
    );
    let validity = element(
        0x30,
        &[element(0x17, b"250101000000Z"), element(0x17, b"491231235959Z")].concat(),
    );
    let tbs = element(
        0x30,
        &[
            element(0x02, &[0x01, 0x23, 0x45, 0x67]),
            algorithm.clone(),
            name.clone(),
            validity,
            name,
            key.subject_public_key_info(),
        ]
        .concat(),
    );
    let signature = key.sign(&tbs).expect("the key signs");
    let der = element(
        0x30,
        &[tbs, algorithm, element(0x03, &[&[0u8][..], &signature[..]].concat())].concat(),
    );
    (pem("CERTIFICATE", &der), key.serialize_pem())
}

/// `der` as a PEM block.
fn pem(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|l| std::str::from_utf8(l).expect("base64 is ASCII"))
        .collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

/// PostgreSQL with `ssl = on` and the version 1 server certificate of [`v1_certs`];
/// it trusts the version 1 client certificate ([`CERT_USER`] logs in with it only).
pub fn pg_tls_v1() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| {
        let c = v1_certs();
        start_pg(
            "pg_tls_v1",
            Some((c.server_cert.as_path(), c.server_key.as_path(), c.client_cert.as_path())),
        )
    })
}

/// PostgreSQL with `ssl = off`.
pub fn pg_plain() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| start_pg("pg_plain", None))
}

/// MariaDB with TLS on ([`CERT_USER`] is `REQUIRE X509`).
pub fn mariadb_tls() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| {
        let c = certs();
        start_mariadb(
            "mariadb_tls",
            Some((c.server_cert.as_path(), c.server_key.as_path(), c.ca.as_path())),
        )
    })
}

/// MariaDB with TLS on and the version 1 server certificate of [`v1_certs`] (it
/// trusts the version 1 client certificate).
pub fn mariadb_tls_v1() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| {
        let c = v1_certs();
        start_mariadb(
            "mariadb_tls_v1",
            Some((c.server_cert.as_path(), c.server_key.as_path(), c.client_cert.as_path())),
        )
    })
}

/// MariaDB with TLS off.
pub fn mariadb_plain() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| start_mariadb("mariadb_plain", None))
}

static SCRATCH_PREFIX: &str = "tether_tls_";

/// A new dir under the temp dir, named after this process; dirs of processes that
/// ended are removed first.
pub(crate) fn scratch_dir(what: &str) -> PathBuf {
    let tmp = std::env::temp_dir();
    if let Ok(entries) = std::fs::read_dir(&tmp) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(pid) = name
                .strip_prefix(SCRATCH_PREFIX)
                .and_then(|r| r.split('_').next())
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let dir = tmp.join(format!("{SCRATCH_PREFIX}{}_{what}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    remove_at_exit(&dir);
    dir
}

static AT_EXIT: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Removes `dir` when the process exits normally (the test harness does); the
/// servers in it die with the process.
fn remove_at_exit(dir: &Path) {
    extern "C" fn remove_all() {
        if let Ok(dirs) = AT_EXIT.lock() {
            for d in dirs.iter() {
                let _ = std::fs::remove_dir_all(d);
            }
        }
    }
    static REGISTER: std::sync::Once = std::sync::Once::new();
    // SAFETY: `remove_all` is a plain function that lives as long as the process.
    REGISTER.call_once(|| unsafe {
        libc::atexit(remove_all);
    });
    if let Ok(mut dirs) = AT_EXIT.lock() {
        dirs.push(dir.to_path_buf());
    }
}

/// A port free on 127.0.0.1 and on [`WRONG_HOST`] (the private servers listen on
/// both), never handed out before by this process: servers started side by side by
/// parallel tests bind theirs only later, so the kernel may offer a port again
/// before its first taker binds it (a TLS test's MariaDB once failed with "Address
/// already in use" on 127.0.0.2).
pub(crate) fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|p| p.into_inner());
    for _ in 0..100 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let other = std::net::TcpListener::bind((WRONG_HOST, port));
        if other.is_ok() && !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
    panic!("no port free on both 127.0.0.1 and {WRONG_HOST} after 100 tries");
}

/// `name` in `env_dir`, else in the usual places.
fn program(env_dir: &str, name: &str, usual: &[&str]) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var(env_dir).map(|d| vec![d.into()]).unwrap_or_default();
    if env_dir == "TETHER_TEST_PG_BIN_DIR" {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .map(|r| r.flatten().map(|e| e.path().join("bin")).collect())
            .unwrap_or_default();
        versions.sort();
        dirs.extend(versions.into_iter().rev());
    }
    dirs.extend(usual.iter().map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{name} not found (set {env_dir}; scripts/test does)"))
}

fn id(args: &[&str]) -> Option<u32> {
    let out = Command::new("id").args(args).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// Starts `cmd` from a thread that lives as long as the process, with the kernel
/// told to kill it when that thread (so the process) ends; its process id. The
/// thread reaps the process if it ends earlier (a test killed it).
pub(crate) fn spawn_for_life(mut cmd: Command) -> u32 {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        match cmd.spawn() {
            Ok(mut child) => {
                let _ = tx.send(Ok(child.id()));
                let _ = child.wait();
                loop {
                    std::thread::park();
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        }
    });
    rx.recv()
        .expect("the starter thread answers")
        .expect("the server process starts")
}

pub(crate) fn wait_until(what: &str, log: &Path, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        if Instant::now() > deadline {
            panic!(
                "{what} did not start within 60 s; its log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A private PostgreSQL, with TLS when `files` (the server's certificate, its key,
/// and the CA its clients' certificates must chain to) are given.
fn start_pg(name: &str, files: Option<(&Path, &Path, &Path)>) -> Server {
    let tls = files.is_some();
    let dir = scratch_dir(name);
    let data = dir.join("data");
    // initdb and postgres refuse to run as root.
    let as_root = id(&["-u"]) == Some(0);
    let owner = if as_root {
        Some((
            id(&["-u", "postgres"]).expect("a postgres system user"),
            id(&["-g", "postgres"]).expect("a postgres group"),
        ))
    } else {
        None
    };
    let run_as = |cmd: &mut Command| {
        if let Some((uid, gid)) = owner {
            cmd.uid(uid).gid(gid);
        }
    };
    let chown = |p: &Path| {
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(p, Some(uid), Some(gid)).expect("chown to postgres");
        }
    };
    chown(&dir);
    let mut initdb = Command::new(program("TETHER_TEST_PG_BIN_DIR", "initdb", &["/usr/bin"]));
    initdb
        .current_dir("/")
        .args([
            "-D",
            &data.to_string_lossy(),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ])
        .args(["--no-locale", "--no-sync"]);
    run_as(&mut initdb);
    let out = initdb.output().expect("initdb runs");
    assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));

    let port = free_port();
    let mut conf = format!(
        "\nlisten_addresses = '127.0.0.1,{WRONG_HOST}'\nport = {port}\nunix_socket_directories = '{}'\n\
         fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n",
        dir.display()
    );
    let mut hba = String::from("local all all trust\n");
    if let Some((server_cert, server_key, ca)) = files {
        for (from, to) in [(server_cert, "server.crt"), (server_key, "server.key"), (ca, "ca.crt")] {
            let path = data.join(to);
            std::fs::copy(from, &path).expect("copy a certificate file");
            chown(&path);
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .expect("key permissions");
        }
        conf.push_str("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'ca.crt'\n");
        hba.push_str(&format!(
            "hostssl all {CERT_USER} 127.0.0.0/8 cert\nhost all {CERT_USER} 127.0.0.0/8 reject\n\
             hostssl all {SCRAM_USER} 127.0.0.0/8 scram-sha-256\n"
        ));
    } else {
        conf.push_str("ssl = off\n");
    }
    hba.push_str("host all all 127.0.0.0/8 trust\n");
    let append = |name: &str, text: &str, replace: bool| {
        let path = data.join(name);
        let old = if replace {
            String::new()
        } else {
            std::fs::read_to_string(&path).unwrap_or_default()
        };
        std::fs::write(&path, old + text).expect("write the server config");
    };
    append("postgresql.conf", &conf, false);
    append("pg_hba.conf", &hba, true);

    let log = dir.join("postgres.log");
    let log_file = std::fs::File::create(&log).expect("log file");
    chown(&log);
    let mut server = Command::new(program("TETHER_TEST_PG_BIN_DIR", "postgres", &["/usr/bin"]));
    server
        .current_dir("/")
        .args(["-D", &data.to_string_lossy()])
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("log file"))
        .stderr(log_file);
    run_as(&mut server);
    spawn_for_life(server);
    let s = Server {
        engine: Engine::Postgres,
        port,
        dir,
        tls,
    };
    let admin = s.admin_url();
    wait_until("the private PostgreSQL", &log, || {
        crate::block_on(async {
            match tokio_postgres::connect(&admin, tokio_postgres::NoTls).await {
                Ok((client, conn)) => {
                    tokio::spawn(conn);
                    client
                        .batch_execute(&format!(
                            "CREATE ROLE {CERT_USER} LOGIN SUPERUSER; \
                             SET password_encryption = 'scram-sha-256'; \
                             CREATE ROLE {SCRAM_USER} LOGIN PASSWORD '{SCRAM_PASSWORD}'"
                        ))
                        .await
                        .is_ok()
                }
                Err(_) => false,
            }
        })
    });
    s
}

/// `--user=<whoami>`: mariadbd agrees to run as root only when told so.
fn mariadb_user_arg() -> String {
    format!(
        "--user={}",
        Command::new("id")
            .arg("-un")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "root".into())
    )
}

/// A MariaDB program (`mariadbd`, `mariadb-install-db`).
pub(crate) fn mariadb_program(name: &str) -> PathBuf {
    program(
        "TETHER_TEST_MARIADB_BIN_DIR",
        name,
        &["/usr/sbin", "/usr/bin", "/usr/local/bin"],
    )
}

/// Makes a fresh MariaDB data dir `data` (root logs in with an empty password);
/// `extra` goes to mariadb-install-db (and its bootstrap server).
pub(crate) fn install_mariadb(data: &Path, extra: &[&str]) {
    let tmp = own_tmpdir(data.parent().unwrap_or(data));
    let out = Command::new(mariadb_program("mariadb-install-db"))
        .current_dir("/")
        .args([
            "--no-defaults",
            &format!("--datadir={}", data.display()),
            &mariadb_user_arg(),
            &tmp,
        ])
        .args(["--auth-root-authentication-method=normal", "--skip-test-db", "--force"])
        .args(extra)
        .output()
        .expect("mariadb-install-db runs");
    assert!(
        out.status.success(),
        "mariadb-install-db: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `--tmpdir=` a directory of the instance's own (`tmp` in `dir`, made here). Every
/// MariaDB deletes the `#sql*` files in its tmpdir when it starts: a private instance
/// sharing /tmp with another server deletes that server's temporary tables under it
/// (MariaDB 10.11 then crashes with signal 11 in `create_tmp_table_for_schema`).
pub fn own_tmpdir(dir: &Path) -> String {
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).expect("the instance's tmpdir");
    format!("--tmpdir={}", tmp.display())
}

/// The command that starts a MariaDB on `data`, socket, pid file and error log
/// (`mariadbd.log`) in `dir`, listening on `bind` (addresses, comma-separated) and
/// `port`, utf8mb4; add options, then [`spawn_for_life`] it.
pub(crate) fn mariadbd_command(dir: &Path, data: &Path, bind: &str, port: u16) -> Command {
    let mut server = Command::new(mariadb_program("mariadbd"));
    server
        .current_dir("/")
        .args(["--no-defaults", &format!("--datadir={}", data.display())])
        .arg(format!("--socket={}", dir.join("sock").display()))
        .arg(format!("--pid-file={}", dir.join("pid").display()))
        .arg(format!("--log-error={}", dir.join("mariadbd.log").display()))
        .arg(own_tmpdir(dir))
        .arg(format!("--port={port}"))
        .arg(format!("--bind-address={bind}"))
        .args([
            &mariadb_user_arg(),
            "--local-infile=1",
            "--character-set-server=utf8mb4",
        ])
        .args([
            "--collation-server=utf8mb4_general_ci",
            "--innodb-flush-log-at-trx-commit=2",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    server
}

/// A private MariaDB, with TLS when `files` (the server's certificate, its key, and
/// the CA its clients' certificates must chain to) are given.
fn start_mariadb(name: &str, files: Option<(&Path, &Path, &Path)>) -> Server {
    let tls = files.is_some();
    let dir = scratch_dir(name);
    let data = dir.join("data");
    install_mariadb(&data, &[]);
    let port = free_port();
    let log = dir.join("mariadbd.log");
    let mut server = mariadbd_command(&dir, &data, &format!("127.0.0.1,{WRONG_HOST}"), port);
    if let Some((server_cert, server_key, ca)) = files {
        server
            .arg(format!("--ssl-ca={}", ca.display()))
            .arg(format!("--ssl-cert={}", server_cert.display()))
            .arg(format!("--ssl-key={}", server_key.display()));
    } else {
        server.arg("--skip-ssl");
    }
    spawn_for_life(server);
    let s = Server {
        engine: Engine::Mysql,
        port,
        dir,
        tls,
    };
    let admin = s.admin_url();
    wait_until("the private MariaDB", &log, || {
        crate::block_on(async {
            let Ok(mut c) = mysql_async::Conn::from_url(&admin).await else {
                return false;
            };
            let ok = c
                .query_drop(format!(
                    "CREATE USER IF NOT EXISTS {CERT_USER}@'%' REQUIRE X509; GRANT ALL ON *.* TO {CERT_USER}@'%'"
                ))
                .await
                .is_ok();
            let _ = c.disconnect().await;
            ok
        })
    });
    s
}
