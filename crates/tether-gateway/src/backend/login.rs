//! Opening a backend connection: the socket (TCP or Unix), the greeting
//! (handshake v10), TLS as the URL's `ssl-mode` says, and the login with
//! `mysql_native_password` or `caching_sha2_password` (its full authentication only
//! over a Unix socket or TLS, where the password may go in clear; no RSA key
//! exchange).

use sha2::{Digest, Sha256};
use tether_connect::{Engine, ServerUrl, TlsMode};
use tokio::net::{TcpStream, UnixStream};

use super::answer::{malformed, parse_err, parse_ok, ConnError};
use super::conn::{BackendConn, CLIENT_CAPABILITIES, MAX_PACKET};
use crate::wire::packet::Cursor;
use crate::wire::stream::{self, ReadHalf, WriteHalf};
use crate::wire::*;

/// What the backend's greeting says.
pub(super) struct Greeting {
    /// Its sequence number.
    seq: u8,
    /// The capabilities it offers.
    offered: u32,
    salt: Vec<u8>,
    plugin: String,
    /// The server says it is MariaDB (its version string names it).
    mariadb: bool,
    /// MariaDB's extended capabilities (none from a server that sets CLIENT_MYSQL).
    extended: u32,
}

/// What a login asks for beyond the URL.
struct Asks {
    /// CLIENT_FOUND_ROWS.
    found_rows: bool,
    /// CLIENT_DEPRECATE_EOF.
    deprecate_eof: bool,
    /// MariaDB's extended capabilities.
    extended: u32,
    /// The character set (collation id).
    charset: u8,
}

impl Greeting {
    /// The capabilities to log in with: what the gateway wants (the database only
    /// when the URL names one, found rows only for a client that asked, OK
    /// packets in place of EOF only for a client that takes them) and the backend
    /// offers.
    fn caps(&self, server: &ServerUrl, found_rows: bool, deprecate_eof: bool) -> u32 {
        let mut wanted = CLIENT_CAPABILITIES;
        if server.database.is_some() {
            wanted |= CLIENT_CONNECT_WITH_DB;
        }
        if found_rows {
            wanted |= CLIENT_FOUND_ROWS;
        }
        if !deprecate_eof {
            wanted &= !CLIENT_DEPRECATE_EOF;
        }
        wanted & self.offered
    }

    /// The extended capabilities to log in with: MARIADB_CLIENT_CACHE_METADATA
    /// when the client uses it and the backend offers it.
    fn extended(&self, cached_metadata: bool) -> u32 {
        if cached_metadata {
            self.extended & MARIADB_CLIENT_CACHE_METADATA
        } else {
            0
        }
    }
}

impl BackendConn {
    /// Connects and logs in, with CLIENT_FOUND_ROWS when `found_rows`,
    /// CLIENT_DEPRECATE_EOF when `deprecate_eof` (and the backend has it), and
    /// MARIADB_CLIENT_CACHE_METADATA when `cached_metadata` (and the backend has
    /// it), over TLS as the URL's `ssl-mode` says (never over a Unix socket).
    pub async fn connect(
        server: &ServerUrl,
        found_rows: bool,
        deprecate_eof: bool,
        cached_metadata: bool,
        charset: u8,
    ) -> Result<BackendConn, ConnError> {
        let (read, write, socket) = match &server.socket {
            Some(path) => {
                let (r, w) = UnixStream::connect(path).await?.into_split();
                (ReadHalf::Unix(r), WriteHalf::Unix(w), true)
            }
            None => {
                let stream = TcpStream::connect((server.host.as_str(), server.port)).await?;
                stream.set_nodelay(true)?;
                let (r, w) = stream::tcp(stream);
                (r, w, false)
            }
        };
        let mut conn = BackendConn::new(read, write);
        let greeting = conn.greeting().await?;
        conn.mariadb = greeting.mariadb;
        let tls = &server.tls;
        let secure = !socket && tls.mode != TlsMode::Disable && greeting.offered & CLIENT_SSL != 0;
        if !socket && !secure && !matches!(tls.mode, TlsMode::Disable | TlsMode::Prefer) {
            return Err(ConnError::Lost(tether_connect::tls::not_supported(tls, Engine::Mysql)));
        }
        let extended = greeting.extended(cached_metadata);
        if secure {
            // The TLS request carries the login's capabilities: MariaDB keeps the
            // upper half of the first packet's (CLIENT_DEPRECATE_EOF is there).
            let caps = greeting.caps(server, found_rows, deprecate_eof);
            conn = conn.start_tls(server, &greeting, caps, extended, charset).await?;
        }
        // The password may go in clear over a Unix socket or TLS.
        let asks = Asks {
            found_rows,
            deprecate_eof,
            extended,
            charset,
        };
        conn.login(server, greeting, secure, socket, asks).await?;
        conn.cached_metadata = extended & MARIADB_CLIENT_CACHE_METADATA != 0;
        Ok(conn)
    }

    /// Sends the TLS request (SSLRequest) with `caps`, those of the login that
    /// follows, and returns the connection over TLS.
    async fn start_tls(
        mut self,
        server: &ServerUrl,
        greeting: &Greeting,
        caps: u32,
        extended: u32,
        charset: u8,
    ) -> Result<BackendConn, ConnError> {
        let tls = &server.tls;
        let config = tether_connect::tls::client_config(tls, Engine::Mysql).map_err(ConnError::Lost)?;
        let name = rustls::pki_types::ServerName::try_from(server.host.clone())
            .map_err(|e| ConnError::Lost(format!("TLS: `{}` is not a host name: {e}", server.host)))?;
        let w = &mut self.writer;
        w.set_seq(greeting.seq.wrapping_add(1));
        w.begin();
        w.put_u32(caps | CLIENT_SSL);
        w.put_u32(MAX_PACKET as u32);
        w.put_u8(charset);
        w.put_zeros(19);
        w.put_u32(extended);
        w.end();
        w.flush().await?;
        let (read, unread) = self.reader.into_inner();
        let stream = stream::reunite(read, unread, self.writer.into_inner())?;
        let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
        let tls_stream = connector.connect(name, stream).await.map_err(|e| {
            ConnError::Lost(match tether_connect::tls::find_rustls_error(&e) {
                Some(r) => tether_connect::tls::explain(r, tls, Engine::Mysql, &server.host),
                None => format!("TLS handshake failed: {e}"),
            })
        })?;
        let (read, write) = stream::tls(tokio_rustls::TlsStream::Client(tls_stream));
        let mut conn = BackendConn::new(read, write);
        conn.id = self.id;
        conn.mariadb = self.mariadb;
        conn.next_seq = greeting.seq.wrapping_add(2);
        Ok(conn)
    }

    /// Reads the backend's greeting (handshake v10).
    async fn greeting(&mut self) -> Result<Greeting, ConnError> {
        let seq = self.read_packet().await?;
        let p = self.reader.payload();
        if p.first() == Some(&0xff) {
            return Err(ConnError::Server(parse_err(p)));
        }
        let mut c = Cursor::new(p);
        let bad = || malformed("handshake");
        if c.u8().ok_or_else(bad)? != 10 {
            return Err(ConnError::Lost("the backend speaks an unknown protocol version".into()));
        }
        let mariadb = String::from_utf8_lossy(c.nul_str())
            .to_ascii_lowercase()
            .contains("mariadb");
        self.id = c.u32().ok_or_else(bad)?;
        let mut salt = c.take(8).ok_or_else(bad)?.to_vec();
        c.u8();
        let low = c.u16().ok_or_else(bad)?;
        c.u8();
        c.u16();
        let high = c.u16().unwrap_or(0);
        let offered = u32::from(low) | u32::from(high) << 16;
        let salt_len = usize::from(c.u8().unwrap_or(0));
        // MariaDB's extended capabilities: the reserved part's last 4 bytes.
        let extended = match c.take(10) {
            Some(r) if offered & CLIENT_LONG_PASSWORD == 0 => u32::from_le_bytes([r[6], r[7], r[8], r[9]]),
            _ => 0,
        };
        if offered & CLIENT_SECURE_CONNECTION != 0 {
            let n = salt_len.saturating_sub(9).max(12);
            salt.extend_from_slice(c.take(n).unwrap_or(&[]));
            c.u8();
        }
        let plugin = String::from_utf8_lossy(c.nul_str()).into_owned();
        if offered & CLIENT_PROTOCOL_41 == 0 || offered & CLIENT_SECURE_CONNECTION == 0 {
            return Err(ConnError::Lost("the backend is too old (no protocol 4.1 login)".into()));
        }
        Ok(Greeting {
            seq,
            offered,
            salt,
            plugin,
            mariadb,
            extended,
        })
    }

    /// Answers the greeting (after the TLS request and handshake when `secure`) and
    /// completes the authentication. The password may go in clear over a Unix
    /// socket or TLS (caching_sha2_password's full authentication).
    async fn login(
        &mut self,
        server: &ServerUrl,
        greeting: Greeting,
        secure: bool,
        socket: bool,
        asks: Asks,
    ) -> Result<(), ConnError> {
        let Asks {
            found_rows,
            deprecate_eof,
            extended,
            charset,
        } = asks;
        let caps = greeting.caps(server, found_rows, deprecate_eof) | if secure { CLIENT_SSL } else { 0 };
        let Greeting { salt, mut plugin, .. } = greeting;
        if plugin.is_empty() {
            plugin = "mysql_native_password".into();
        }
        let clear_ok = socket || secure;
        self.deprecate_eof = caps & CLIENT_DEPRECATE_EOF != 0;
        let password = server.password.as_deref().unwrap_or("");
        let auth = auth_response(&plugin, password, &salt, clear_ok)?;
        // After a TLS request the answer is one number further.
        let seq = greeting.seq.wrapping_add(u8::from(secure));

        let w = &mut self.writer;
        w.set_seq(seq.wrapping_add(1));
        self.next_seq = seq.wrapping_add(2);
        w.begin();
        w.put_u32(caps);
        w.put_u32(MAX_PACKET as u32);
        w.put_u8(charset);
        w.put_zeros(19);
        w.put_u32(extended);
        w.put_bytes(server.user.as_bytes());
        w.put_u8(0);
        if caps & CLIENT_PLUGIN_AUTH_LENENC_DATA != 0 {
            w.put_lenenc_bytes(&auth);
        } else {
            w.put_u8(auth.len() as u8);
            w.put_bytes(&auth);
        }
        if let Some(db) = server
            .database
            .as_deref()
            .filter(|_| caps & CLIENT_CONNECT_WITH_DB != 0)
        {
            w.put_bytes(db.as_bytes());
            w.put_u8(0);
        }
        if caps & CLIENT_PLUGIN_AUTH != 0 {
            w.put_bytes(plugin.as_bytes());
            w.put_u8(0);
        }
        w.end();
        w.flush().await?;

        loop {
            let seq = self.read_packet().await?;
            let p = self.reader.payload();
            let answer = match p.first() {
                Some(0x00) => {
                    let (_, status) = parse_ok(p).ok_or_else(|| malformed("OK packet"))?;
                    self.status = status;
                    return Ok(());
                }
                Some(0xff) => return Err(ConnError::Server(parse_err(p))),
                // Switch to another plugin, with a new salt.
                Some(0xfe) => {
                    let mut c = Cursor::new(&p[1..]);
                    plugin = String::from_utf8_lossy(c.nul_str()).into_owned();
                    let salt = c.rest.strip_suffix(&[0]).unwrap_or(c.rest).to_vec();
                    auth_response(&plugin, password, &salt, clear_ok)?
                }
                // caching_sha2_password: 3 = the cached fast path worked (OK
                // follows), 4 = full authentication, the password itself.
                Some(0x01) if p.get(1) == Some(&3) => continue,
                Some(0x01) if p.get(1) == Some(&4) && clear_ok => {
                    let mut clear = password.as_bytes().to_vec();
                    clear.push(0);
                    clear
                }
                Some(0x01) if p.get(1) == Some(&4) => {
                    return Err(ConnError::Lost(
                        "the backend asks for caching_sha2_password's full authentication, which needs \
                         TLS over TCP: use TLS (ssl-mode=PREFERRED or stricter, the default), connect \
                         through the Unix socket (?socket=...), or log in once with \
                         the mysql client so the server caches the password, or use \
                         mysql_native_password for this user"
                            .into(),
                    ))
                }
                _ => return Err(malformed("login answer")),
            };
            let w = &mut self.writer;
            w.set_seq(seq.wrapping_add(1));
            self.next_seq = seq.wrapping_add(2);
            w.begin();
            w.put_bytes(&answer);
            w.end();
            w.flush().await?;
        }
    }
}

/// The answer to a login with `plugin`.
pub(super) fn auth_response(plugin: &str, password: &str, salt: &[u8], clear_ok: bool) -> Result<Vec<u8>, ConnError> {
    let salt = salt.get(..20).unwrap_or(salt);
    match plugin {
        _ if password.is_empty() => Ok(Vec::new()),
        "mysql_native_password" => Ok(crate::auth::scramble(password, salt)),
        "caching_sha2_password" => {
            let stage1 = Sha256::digest(password.as_bytes());
            let stage2 = Sha256::digest(stage1);
            let mut h = Sha256::new();
            h.update(stage2);
            h.update(salt);
            let mix = h.finalize();
            Ok(stage1.iter().zip(mix.iter()).map(|(a, b)| a ^ b).collect())
        }
        "mysql_clear_password" if clear_ok => {
            let mut clear = password.as_bytes().to_vec();
            clear.push(0);
            Ok(clear)
        }
        other => Err(ConnError::Lost(format!(
            "the backend asks for authentication plugin `{other}`, which the gateway does not \
             support over this connection (use mysql_native_password for the gateway's backend user)"
        ))),
    }
}
