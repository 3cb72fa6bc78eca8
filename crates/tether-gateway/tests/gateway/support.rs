//! Starting a gateway in-process and talking to it.

use std::net::SocketAddr;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Value};
use tether_testkit::TestDb;

pub const USER: &str = "app";
pub const PASSWORD: &str = "s3cret";

/// A running gateway; it stops with its runtime when dropped.
pub struct Gw {
    pub rt: tokio::runtime::Runtime,
    pub addr: SocketAddr,
}

/// Starts a gateway serving `keyspaces` (name, mode, backend URL).
pub fn start(keyspaces: &[(&str, &str, &str)]) -> Gw {
    start_with(keyspaces, "")
}

/// Starts a gateway serving `keyspaces`, with more top-level config entries
/// (`extra`: `"maxConnections": 2, ` and the like, each followed by a comma).
pub fn start_with(keyspaces: &[(&str, &str, &str)], extra: &str) -> Gw {
    let ks: Vec<String> = keyspaces
        .iter()
        .map(|(name, mode, url)| format!(r#""{name}": {{"foreignKeyMode": "{mode}", "backend": {{"url": "{url}"}}}}"#))
        .collect();
    start_json(&ks.join(", "), extra)
}

/// Starts a gateway whose `keyspaces` object holds `keyspaces` (JSON members), with
/// more top-level entries `extra` as in [`start_with`].
pub fn start_json(keyspaces: &str, extra: &str) -> Gw {
    let json = format!(
        r#"{{{extra} "listen": "127.0.0.1:0", "users": [{{"user": "{USER}", "password": "{PASSWORD}"}}],
            "keyspaces": {{{keyspaces}}}}}"#
    );
    let config = tether_gateway::Config::parse(&json).expect("test config is valid");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let gateway = rt
        .block_on(tether_gateway::Gateway::bind(&config, None))
        .expect("gateway binds");
    let addr = gateway.local_addr().expect("address");
    rt.spawn(gateway.serve());
    Gw { rt, addr }
}

/// A gateway with one keyspace `ks` on `db`.
pub fn start_one(db: &TestDb, mode: &str) -> Gw {
    start(&[("ks", mode, &db.url)])
}

impl Gw {
    pub fn opts(&self, keyspace: &str) -> Opts {
        OptsBuilder::default()
            .ip_or_hostname(self.addr.ip().to_string())
            .tcp_port(self.addr.port())
            .user(Some(USER))
            .pass(Some(PASSWORD))
            .db_name(Some(keyspace))
            .prefer_socket(false)
            .into()
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    pub async fn connect(&self, keyspace: &str) -> Conn {
        Conn::new(self.opts(keyspace)).await.expect("connects to the gateway")
    }
}

/// Connections to `native` directly and to the gateway's keyspace `ks`, both asking
/// for CLIENT_FOUND_ROWS when `found_rows`: the two sides of a differential test.
pub async fn native_and_gateway(native: &TestDb, gw: &Gw, found_rows: bool) -> (Conn, Conn) {
    let found = |opts: Opts| -> Opts { OptsBuilder::from_opts(opts).client_found_rows(found_rows).into() };
    let direct = found(Opts::from_url(&native.url).expect("url"));
    let n = Conn::new(direct).await.expect("connects to MariaDB");
    let g = Conn::new(found(gw.opts("ks"))).await.expect("connects to the gateway");
    (n, g)
}

/// A direct connection to a test database (no gateway).
pub async fn direct(db: &TestDb) -> Conn {
    Conn::from_url(db.url.as_str()).await.expect("connects to MariaDB")
}

/// The server error of a failed call: (code, SQL state, message).
pub fn server_error(e: mysql_async::Error) -> (u16, String, String) {
    match e {
        mysql_async::Error::Server(s) => (s.code, s.state, s.message),
        other => panic!("expected a server error, got {other}"),
    }
}

/// Rows as text (NULL as "NULL").
pub async fn rows(conn: &mut Conn, sql: &str) -> Vec<Vec<String>> {
    let rows: Vec<mysql_async::Row> = conn.query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.into_iter()
        .map(|r| r.unwrap().into_iter().map(text).collect())
        .collect()
}

pub fn text(v: Value) -> String {
    match v {
        Value::NULL => "NULL".into(),
        Value::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
        other => other.as_sql(true).trim_matches('\'').to_string(),
    }
}

/// Every table of `db` in primary-key order, as text, for comparisons.
pub async fn dump(conn: &mut Conn, tables: &[&str]) -> Vec<(String, Vec<Vec<String>>)> {
    let mut out = Vec::new();
    for t in tables {
        out.push((
            t.to_string(),
            rows(conn, &format!("SELECT * FROM {t} ORDER BY 1, 2")).await,
        ));
    }
    out
}

/// Capability flags a raw client offers.
pub mod caps {
    pub const CONNECT_WITH_DB: u32 = 0x8;
    pub const PROTOCOL_41: u32 = 0x200;
    pub const SECURE_CONNECTION: u32 = 0x8000;
    pub const PLUGIN_AUTH: u32 = 1 << 19;
    pub const DEPRECATE_EOF: u32 = 1 << 24;
    /// What every raw client here offers: 4.1, native password, a database,
    /// OK packets in place of EOF.
    pub const BASE: u32 = PROTOCOL_41 | SECURE_CONNECTION | PLUGIN_AUTH | CONNECT_WITH_DB | DEPRECATE_EOF;
}

/// A hand-driven client, for what drivers never send: packets by hand, chosen
/// capabilities, a socket that stops reading.
pub struct Raw {
    pub s: std::net::TcpStream,
}

impl Raw {
    /// A TCP connection that has read the gateway's greeting; the salt.
    pub fn greeted(addr: SocketAddr) -> (Raw, Vec<u8>) {
        let s = std::net::TcpStream::connect(addr).expect("tcp");
        s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .expect("timeout");
        let mut raw = Raw { s };
        let (seq, greeting) = raw.read();
        assert_eq!((seq, greeting[0]), (0, 10), "handshake v10");
        let version_end = greeting.iter().position(|b| *b == 0).expect("version");
        let salt = [
            &greeting[version_end + 5..version_end + 13],
            &greeting[version_end + 32..version_end + 44],
        ]
        .concat();
        (raw, salt)
    }

    /// Logged in to `db` as the test user, offering `capabilities`.
    pub fn login(addr: SocketAddr, capabilities: u32, db: &str) -> Raw {
        Raw::login_extended(addr, capabilities, 0, db)
    }

    /// Logged in to `db` as the test user, offering `capabilities` and MariaDB's
    /// `extended` capabilities (the filler's last 4 bytes; CLIENT_MYSQL not set).
    pub fn login_extended(addr: SocketAddr, capabilities: u32, extended: u32, db: &str) -> Raw {
        Raw::login_with(addr, capabilities, extended, 45, db)
    }

    /// [`Raw::login_extended`] with the character set (collation id) `charset`.
    pub fn login_with(addr: SocketAddr, capabilities: u32, extended: u32, charset: u8, db: &str) -> Raw {
        let (mut raw, salt) = Raw::greeted(addr);
        let mut login = capabilities.to_le_bytes().to_vec();
        login.extend_from_slice(&(1u32 << 24).to_le_bytes());
        login.push(charset);
        login.extend_from_slice(&[0; 19]);
        login.extend_from_slice(&extended.to_le_bytes());
        login.extend_from_slice(format!("{USER}\0").as_bytes());
        let scramble = tether_gateway::scramble(PASSWORD, &salt);
        login.push(scramble.len() as u8);
        login.extend_from_slice(&scramble);
        login.extend_from_slice(format!("{db}\0mysql_native_password\0").as_bytes());
        raw.write(1, &login);
        let (_, ok) = raw.read();
        assert_eq!(ok[0], 0x00, "logged in: {ok:?}");
        raw
    }

    /// Sends `payload` as one packet, or as several when it is 16 MiB - 1 or longer.
    pub fn write(&mut self, seq: u8, payload: &[u8]) {
        use std::io::Write;
        const MAX: usize = 0xff_ffff;
        let mut p = Vec::with_capacity(payload.len() + 8);
        let mut seq = seq;
        let mut rest = payload;
        loop {
            let n = rest.len().min(MAX);
            p.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
            p.push(seq);
            p.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            seq = seq.wrapping_add(1);
            if n < MAX {
                break;
            }
        }
        self.s.write_all(&p).expect("write");
    }

    /// One packet: sequence number and payload.
    pub fn read(&mut self) -> (u8, Vec<u8>) {
        use std::io::Read;
        let mut head = [0u8; 4];
        self.s.read_exact(&mut head).expect("packet header");
        let len = usize::from(head[0]) | usize::from(head[1]) << 8 | usize::from(head[2]) << 16;
        let mut payload = vec![0; len];
        self.s.read_exact(&mut payload).expect("packet payload");
        (head[3], payload)
    }

    /// Sends a command (sequence number 0).
    pub fn command(&mut self, command: u8, body: &[u8]) {
        self.write(0, &[&[command][..], body].concat());
    }

    /// A COM_QUERY's answer up to its end (the OK or ERR packet that ends it, with
    /// CLIENT_DEPRECATE_EOF); the packets' payloads.
    pub fn query(&mut self, sql: &str) -> Vec<Vec<u8>> {
        self.command(0x03, sql.as_bytes());
        self.answer()
    }

    /// Packets up to the end of one answer: an ERR, an OK (0x00) that is not a
    /// row, or the 0xfe OK that ends rows; more follow when it says "more results".
    pub fn answer(&mut self) -> Vec<Vec<u8>> {
        let mut packets = Vec::new();
        let mut columns: Option<u64> = None;
        let mut defs = 0;
        loop {
            let (_, p) = self.read();
            let first = p[0];
            packets.push(p);
            match columns {
                None if first == 0xff || first == 0x00 => {
                    let status = ok_status(&packets[packets.len() - 1]);
                    if first == 0xff || status & 0x08 == 0 {
                        return packets;
                    }
                }
                None => columns = Some(u64::from(first)),
                Some(n) if defs < n => defs += 1,
                Some(_) if first == 0xfe && packets[packets.len() - 1].len() < 0xff_ffff => {
                    let status = ok_status(&packets[packets.len() - 1]);
                    if status & 0x08 == 0 {
                        return packets;
                    }
                    columns = None;
                    defs = 0;
                }
                Some(_) if first == 0xff => return packets,
                Some(_) => {}
            }
        }
    }
}

/// The status flags of an OK packet (small affected-rows and insert-id values).
pub fn ok_status(p: &[u8]) -> u16 {
    u16::from_le_bytes([p[3], p[4]])
}

/// The error number and message of an ERR packet.
pub fn err_packet(p: &[u8]) -> (u16, String) {
    assert_eq!(p[0], 0xff, "an error: {:?}", String::from_utf8_lossy(p));
    (
        u16::from_le_bytes([p[1], p[2]]),
        String::from_utf8_lossy(&p[9..]).into_owned(),
    )
}

/// The first column of the first row `sql` returns, read directly from `db`.
pub fn block_on_direct(db: &TestDb, sql: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut conn = direct(db).await;
        let value: Option<String> = conn.query_first(sql).await.expect("query");
        let _ = conn.disconnect().await;
        value.unwrap_or_default()
    })
}

/// Where a MariaDB program lives: TETHER_TEST_MARIADB_BIN_DIR, else the usual places.
pub fn program(name: &str) -> Option<std::path::PathBuf> {
    let mut dirs: Vec<std::path::PathBuf> = std::env::var("TETHER_TEST_MARIADB_BIN_DIR")
        .map(|d| vec![d.into()])
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/mysql/bin"].map(Into::into));
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.exists())
}

/// A private MariaDB with `log_bin` and `binlog_format=ROW`, killed and removed on drop.
pub struct BinlogServer {
    child: std::process::Child,
    /// Data, socket and binlog files.
    pub dir: std::path::PathBuf,
    pub port: u16,
}

impl Drop for BinlogServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts a private MariaDB with `log_bin` and `binlog_format=ROW` in a temp dir on
/// a free port; `Err` says why it cannot (programs missing).
pub fn binlog_server() -> Result<BinlogServer, String> {
    private_server(None)
}

/// [`binlog_server`] whose system time zone is `tz` (the `TZ` it starts with):
/// `@@time_zone` is `SYSTEM`, with that zone's daylight saving time.
pub fn zoned_server(tz: &str) -> Result<BinlogServer, String> {
    private_server(Some(tz))
}

fn private_server(tz: Option<&str>) -> Result<BinlogServer, String> {
    use std::process::{Command, Stdio};
    let (Some(install), Some(server)) = (program("mariadb-install-db"), program("mariadbd")) else {
        return Err("mariadb-install-db / mariadbd not found".into());
    };
    let dir = std::env::temp_dir().join(format!("tether_binlog_{}_{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let data = dir.join("data");
    // mariadbd agrees to run as root only when told `--user=root`.
    let user = Command::new("id")
        .arg("-un")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "root".into());
    let user = format!("--user={user}");
    let out = Command::new(install)
        .current_dir("/")
        .args([
            "--no-defaults",
            &format!("--datadir={}", data.display()),
            &user,
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--force",
            &tether_testkit::tls::own_tmpdir(&dir),
        ])
        .output()
        .expect("mariadb-install-db runs");
    assert!(
        out.status.success(),
        "mariadb-install-db: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let mut command = Command::new(server);
    if let Some(tz) = tz {
        command.env("TZ", tz);
    }
    let child = command
        .args([
            "--no-defaults",
            &format!("--datadir={}", data.display()),
            &format!("--socket={}", dir.join("sock").display()),
            &format!("--port={port}"),
            "--bind-address=127.0.0.1",
            &user,
            &format!("--log-bin={}", dir.join("binlog").display()),
            "--binlog-format=ROW",
            "--server-id=1",
            &format!("--pid-file={}", dir.join("pid").display()),
            &format!("--log-error={}", dir.join("err").display()),
            &tether_testkit::tls::own_tmpdir(&dir),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mariadbd starts");
    let server = BinlogServer { child, dir, port };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the private MariaDB did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    Ok(server)
}

impl BinlogServer {
    /// The admin URL of `database` (`""`: none).
    pub fn url(&self, database: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{database}", self.port)
    }

    /// An admin connection, once logins work (the port opens a moment before they
    /// do; tried for 30 s).
    pub async fn login(&self) -> Conn {
        let url = self.url("");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            match Conn::from_url(url.as_str()).await {
                Ok(c) => return c,
                Err(_) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                Err(e) => panic!("cannot log in to the private MariaDB: {e}"),
            }
        }
    }
}

/// The binlog files (`binlog.0*`) in `dir`, in order, from the file named `first` on.
pub fn binlog_files(dir: &std::path::Path, first: Option<&str>) -> Vec<std::path::PathBuf> {
    let mut v: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .expect("binlog dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("binlog.0") && first.is_none_or(|f| n >= f))
        })
        .collect();
    v.sort();
    v
}

/// `mariadb-binlog ARGS FILES`: the decoded binlog (the tool must succeed).
pub fn decode_binlog(args: &[String], files: &[std::path::PathBuf]) -> Vec<u8> {
    let tool = program("mariadb-binlog").expect("mariadb-binlog is installed");
    let out = std::process::Command::new(tool)
        .args(args)
        .args(files)
        .output()
        .expect("mariadb-binlog runs");
    assert!(
        out.status.success(),
        "mariadb-binlog: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Pipes a decoded binlog into the `mariadb` client (root on 127.0.0.1:`port`, in
/// `database`): its error output. `force`: on after errors (`--force`), the caller
/// judges them; else the client must succeed.
pub fn replay_binlog(port: u16, database: &str, decoded: &[u8], force: bool) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let client = program("mariadb").expect("the mariadb client is installed");
    let mut args = vec!["-h127.0.0.1".to_string(), format!("-P{port}"), "-uroot".into()];
    if force {
        args.insert(0, "--force".into());
    }
    args.push(database.into());
    let mut child = Command::new(client)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mariadb runs");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(decoded).expect("binlog to mariadb");
    }
    let done = child.wait_with_output().expect("mariadb ends");
    let errors = String::from_utf8_lossy(&done.stderr).into_owned();
    assert!(force || done.status.success(), "applying the binlog: {errors}");
    errors
}

/// Row events `### {event} `db`.`table`` in a binlog decoded with `-v`; `event`:
/// `INSERT INTO`, `UPDATE` or `DELETE FROM`.
pub fn row_events(text: &str, db: &str, event: &str, table: &str) -> usize {
    let needle = format!("### {event} `{db}`.`{table}`");
    text.lines().filter(|l| l.trim_end() == needle).count()
}
