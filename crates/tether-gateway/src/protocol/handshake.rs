//! The connection phase towards a client: the greeting, TLS when the client asks
//! for it, the login and its `mysql_native_password` check (switching clients that
//! offer another plugin), COM_CHANGE_USER's body, and refusing a connection outright.

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpStream;

use super::output::{write_err, write_ok};
use super::{Handler, Reader, Security, Writer, HANDSHAKE_MAX_PACKET};
use crate::reply::{OkInfo, ServerError};
use crate::wire::packet::{Cursor, PacketReader, PacketWriter};
use crate::wire::stream;
use crate::wire::*;

pub(super) const NATIVE_PASSWORD: &[u8] = b"mysql_native_password";

/// Answers a connection the gateway will not serve (MariaDB sends the error in
/// place of the greeting), then closes it.
pub async fn refuse(stream: TcpStream, e: &ServerError) -> io::Result<()> {
    let (_read, write) = stream::tcp(stream);
    let mut writer = PacketWriter::new(write);
    writer.set_seq(0);
    // Before the handshake the client's protocol is unknown: no SQL state, as
    // MariaDB sends it.
    writer.begin();
    writer.put_u8(0xff);
    writer.put_u16(e.wire_code());
    writer.put_bytes(e.message.as_bytes());
    writer.end();
    writer.flush().await
}

/// Greets the client, starts TLS when it asks, reads its login, checks it and opens
/// its database. The capabilities in use and the connection's two sides, or `None`
/// when the login was refused (answered already).
pub(super) async fn handshake<H: Handler>(
    handler: &mut H,
    stream: TcpStream,
    peer: SocketAddr,
    security: &Security,
) -> io::Result<Option<LoggedIn>> {
    let (read, write) = stream::tcp(stream);
    let mut reader = PacketReader::new(read);
    let mut writer = PacketWriter::new(write);
    let mut offered = SERVER_CAPABILITIES | if security.acceptor.is_some() { CLIENT_SSL } else { 0 };
    // In front of MariaDB the greeting says MariaDB as MariaDB's does (no
    // CLIENT_MYSQL), with the extended capabilities the gateway relays.
    let mariadb = handler.server_version().to_ascii_lowercase().contains("mariadb");
    let extended = if mariadb { MARIADB_CLIENT_CACHE_METADATA } else { 0 };
    if mariadb {
        offered &= !CLIENT_LONG_PASSWORD;
    }
    let salt = handler.salt();
    writer.set_seq(0);
    writer.begin();
    writer.put_u8(10);
    writer.put_bytes(handler.server_version().as_bytes());
    writer.put_u8(0);
    writer.put_u32(handler.connection_id());
    writer.put_bytes(&salt[..8]);
    writer.put_u8(0);
    writer.put_u16(offered as u16);
    writer.put_u8(DEFAULT_CHARSET);
    writer.put_u16(SERVER_STATUS_AUTOCOMMIT);
    writer.put_u16((offered >> 16) as u16);
    writer.put_u8(salt.len() as u8 + 1);
    writer.put_bytes(&[0; 6]);
    writer.put_u32(extended);
    writer.put_bytes(&salt[8..]);
    writer.put_u8(0);
    writer.put_bytes(NATIVE_PASSWORD);
    writer.put_u8(0);
    writer.end();
    if !exchange(&mut reader, &mut writer).await? {
        return Ok(None);
    }
    // An SSLRequest: the capabilities with CLIENT_SSL, and no more than the
    // HandshakeResponse41's fixed part; the login follows over TLS.
    let asks_tls = Cursor::new(reader.payload()).u32().is_some_and(|c| c & CLIENT_SSL != 0);
    let secure = match (&security.acceptor, asks_tls) {
        (Some(acceptor), true) => {
            let seq = writer.seq();
            let (read, unread) = reader.into_inner();
            let tcp = stream::reunite(read, unread, writer.into_inner())?;
            let tls = acceptor.accept(tcp).await?;
            let (read, write) = stream::tls(tokio_rustls::TlsStream::Server(tls));
            reader = PacketReader::new(read);
            writer = PacketWriter::new(write);
            writer.set_seq(seq);
            if !exchange(&mut reader, &mut writer).await? {
                return Ok(None);
            }
            true
        }
        _ => false,
    };
    let Some(login) = Login::parse(reader.payload(), secure) else {
        write_err(&mut writer, &ServerError::new(1043, "08S01", "Bad handshake"));
        writer.flush().await?;
        return Ok(None);
    };
    // MariaDB's answer to a plain client under require_secure_transport.
    if security.require_secure_transport && !secure {
        tracing::info!(
            "connection {}: plain login refused (requireSecureTransport)",
            handler.connection_id()
        );
        write_err(&mut writer, &access_denied(&login.user, peer, &login.auth));
        writer.flush().await?;
        return Ok(None);
    }
    let mut response = login.auth.clone();
    if !login.plugin.is_empty() && login.plugin != NATIVE_PASSWORD {
        match switch_to_native(&mut reader, &mut writer, &salt).await? {
            Some(switched) => response = switched,
            None => return Ok(None),
        }
    }
    if !handler.authenticate(&login.user, &salt, &response) {
        write_err(&mut writer, &access_denied(&login.user, peer, &response));
        writer.flush().await?;
        return Ok(None);
    }
    if let Some(db) = login.database.as_deref().filter(|d| !d.is_empty()) {
        if let Err(e) = handler.init_db(db).await {
            write_err(&mut writer, &e);
            writer.flush().await?;
            return Ok(None);
        }
    }
    let cached_metadata = login.extended & extended & MARIADB_CLIENT_CACHE_METADATA != 0;
    handler.logged_in(
        login.capabilities & CLIENT_FOUND_ROWS != 0,
        cached_metadata,
        login.capabilities & CLIENT_DEPRECATE_EOF != 0,
        login.charset,
    );
    write_ok(&mut writer, 0x00, &OkInfo::default(), SERVER_STATUS_AUTOCOMMIT);
    writer.flush().await?;
    Ok(Some(LoggedIn {
        capabilities: login.capabilities & SERVER_CAPABILITIES,
        cached_metadata,
        reader,
        writer,
    }))
}

/// Asks a client that answered with another plugin for a `mysql_native_password`
/// response (AuthSwitchRequest) and returns it; `None` when the client hung up.
pub(super) async fn switch_to_native(
    reader: &mut Reader,
    writer: &mut Writer,
    salt: &[u8],
) -> io::Result<Option<Vec<u8>>> {
    writer.begin();
    writer.put_u8(0xfe);
    writer.put_bytes(NATIVE_PASSWORD);
    writer.put_u8(0);
    writer.put_bytes(salt);
    writer.put_u8(0);
    writer.end();
    if !exchange(reader, writer).await? {
        return Ok(None);
    }
    Ok(Some(reader.payload().to_vec()))
}

/// Sends what is written and reads the client's next login packet (the answer
/// follows it in sequence); false when the client hung up.
async fn exchange(reader: &mut Reader, writer: &mut Writer) -> io::Result<bool> {
    writer.flush().await?;
    let Some(seq) = reader.next(HANDSHAKE_MAX_PACKET).await? else {
        return Ok(false);
    };
    writer.set_seq(seq.wrapping_add(1));
    Ok(true)
}

pub(super) fn access_denied(user: &str, peer: SocketAddr, response: &[u8]) -> ServerError {
    let message = format!(
        "Access denied for user '{user}'@'{}' (using password: {})",
        peer.ip(),
        if response.is_empty() { "NO" } else { "YES" }
    );
    ServerError::new(1045, "28000", message)
}

/// A COM_CHANGE_USER body (after the command byte), read with the capabilities
/// the connection logged in with.
pub(super) struct ChangeUser {
    pub(super) user: String,
    pub(super) auth: Vec<u8>,
    /// `None`: no database named.
    pub(super) database: Option<String>,
    pub(super) plugin: Vec<u8>,
    /// The character set (collation id, two bytes here: MariaDB's go past 255)
    /// the session takes, as at login; `None`: the packet names none.
    pub(super) charset: Option<u16>,
}

impl ChangeUser {
    pub(super) fn parse(body: &[u8], capabilities: u32) -> Option<ChangeUser> {
        let mut c = Cursor::new(body);
        let user = String::from_utf8_lossy(c.nul_str()).into_owned();
        let auth = if capabilities & CLIENT_SECURE_CONNECTION != 0 {
            let n = c.u8()?;
            c.take(usize::from(n))?
        } else {
            c.nul_str()
        }
        .to_vec();
        let database = String::from_utf8_lossy(c.nul_str()).into_owned();
        // Then, when there is more: the character set and the plugin the
        // response was made with.
        let charset = c.u16();
        let plugin = if charset.is_some() && capabilities & CLIENT_PLUGIN_AUTH != 0 {
            c.nul_str().to_vec()
        } else {
            Vec::new()
        };
        Some(ChangeUser {
            user,
            auth,
            database: Some(database).filter(|d| !d.is_empty()),
            plugin,
            charset: charset.filter(|&id| id != 0),
        })
    }
}

/// A logged-in client: the capabilities in use and the connection's two sides.
pub(super) struct LoggedIn {
    pub capabilities: u32,
    /// MARIADB_CLIENT_CACHE_METADATA is in use: an execute's column count is
    /// followed by a byte saying whether the column definitions follow.
    pub cached_metadata: bool,
    pub reader: Reader,
    pub writer: Writer,
}

/// A HandshakeResponse41.
struct Login {
    capabilities: u32,
    /// MariaDB's extended capabilities (none from a client that sets CLIENT_MYSQL).
    extended: u32,
    /// The character set (collation id) the client asked for.
    charset: u8,
    user: String,
    auth: Vec<u8>,
    database: Option<String>,
    plugin: Vec<u8>,
}

impl Login {
    /// `secure`: read over TLS (the login says CLIENT_SSL then, and only then).
    fn parse(payload: &[u8], secure: bool) -> Option<Login> {
        let mut c = Cursor::new(payload);
        let capabilities = c.u32()?;
        // Protocol 4.1 only.
        if capabilities & CLIENT_PROTOCOL_41 == 0 || (capabilities & CLIENT_SSL != 0) != secure {
            return None;
        }
        // Max packet size, character set, filler; MariaDB's extended capabilities
        // are the filler's last 4 bytes.
        let fixed = c.take(4 + 1 + 23)?;
        let charset = fixed[4];
        let extended = if capabilities & CLIENT_LONG_PASSWORD == 0 {
            u32::from_le_bytes([fixed[24], fixed[25], fixed[26], fixed[27]])
        } else {
            0
        };
        let user = String::from_utf8_lossy(c.nul_str()).into_owned();
        let auth = if capabilities & CLIENT_PLUGIN_AUTH_LENENC_DATA != 0 {
            c.lenenc_bytes()?
        } else if capabilities & CLIENT_SECURE_CONNECTION != 0 {
            let n = c.u8()?;
            c.take(usize::from(n))?
        } else {
            c.nul_str()
        }
        .to_vec();
        let database = if capabilities & CLIENT_CONNECT_WITH_DB != 0 && !c.rest.is_empty() {
            Some(String::from_utf8_lossy(c.nul_str()).into_owned())
        } else {
            None
        };
        let plugin = if capabilities & CLIENT_PLUGIN_AUTH != 0 {
            c.nul_str().to_vec()
        } else {
            Vec::new()
        };
        Some(Login {
            capabilities,
            extended,
            charset,
            user,
            auth,
            database,
            plugin,
        })
    }
}
