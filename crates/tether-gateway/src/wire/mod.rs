//! The MySQL wire format both ends of the gateway speak: packet framing
//! ([`packet`]), the byte streams under it ([`stream`]), values and their text and
//! binary encodings ([`value`]), and the protocol's capability, status and command
//! numbers. The server side is `crate::protocol`, the client side `crate::backend`.

pub mod packet;
pub mod stream;
pub mod value;

// Capability flags.
pub const CLIENT_LONG_PASSWORD: u32 = 1;
pub const CLIENT_FOUND_ROWS: u32 = 1 << 1;
pub const CLIENT_LONG_FLAG: u32 = 1 << 2;
pub const CLIENT_CONNECT_WITH_DB: u32 = 1 << 3;
pub const CLIENT_PROTOCOL_41: u32 = 1 << 9;
pub const CLIENT_SSL: u32 = 1 << 11;
pub const CLIENT_TRANSACTIONS: u32 = 1 << 13;
pub const CLIENT_SECURE_CONNECTION: u32 = 1 << 15;
pub const CLIENT_MULTI_STATEMENTS: u32 = 1 << 16;
pub const CLIENT_MULTI_RESULTS: u32 = 1 << 17;
pub const CLIENT_PS_MULTI_RESULTS: u32 = 1 << 18;
pub const CLIENT_PLUGIN_AUTH: u32 = 1 << 19;
pub const CLIENT_CONNECT_ATTRS: u32 = 1 << 20;
pub const CLIENT_PLUGIN_AUTH_LENENC_DATA: u32 = 1 << 21;
pub const CLIENT_DEPRECATE_EOF: u32 = 1 << 24;

/// MariaDB's extended capabilities (the upper 32 bits, sent in reserved bytes of
/// both handshake packets when neither side sets CLIENT_LONG_PASSWORD, which
/// MariaDB calls CLIENT_MYSQL): the server sends a prepared statement's column
/// definitions with an execute's result only when they changed since it last sent
/// them, and every column count of an execute's answer is followed by one byte
/// saying whether they follow.
pub const MARIADB_CLIENT_CACHE_METADATA: u32 = 1 << 4;

/// What the gateway offers; a connection uses what both sides offer.
pub const SERVER_CAPABILITIES: u32 = CLIENT_LONG_PASSWORD
    | CLIENT_FOUND_ROWS
    | CLIENT_LONG_FLAG
    | CLIENT_CONNECT_WITH_DB
    | CLIENT_PROTOCOL_41
    | CLIENT_TRANSACTIONS
    | CLIENT_SECURE_CONNECTION
    | CLIENT_MULTI_STATEMENTS
    | CLIENT_MULTI_RESULTS
    | CLIENT_PS_MULTI_RESULTS
    | CLIENT_PLUGIN_AUTH
    | CLIENT_CONNECT_ATTRS
    | CLIENT_PLUGIN_AUTH_LENENC_DATA
    | CLIENT_DEPRECATE_EOF;

// Server status flags.
pub const SERVER_STATUS_IN_TRANS: u16 = 0x0001;
pub const SERVER_STATUS_AUTOCOMMIT: u16 = 0x0002;
/// The session's sql_mode has NO_BACKSLASH_ESCAPES.
pub const SERVER_STATUS_NO_BACKSLASH_ESCAPES: u16 = 0x0200;
pub const SERVER_MORE_RESULTS_EXISTS: u16 = 0x0008;

// Commands.
pub const COM_QUIT: u8 = 0x01;
pub const COM_INIT_DB: u8 = 0x02;
pub const COM_QUERY: u8 = 0x03;
pub const COM_FIELD_LIST: u8 = 0x04;
pub const COM_REFRESH: u8 = 0x07;
pub const COM_STATISTICS: u8 = 0x09;
pub const COM_PROCESS_INFO: u8 = 0x0a;
pub const COM_DEBUG: u8 = 0x0d;
pub const COM_PING: u8 = 0x0e;
pub const COM_STMT_PREPARE: u8 = 0x16;
pub const COM_STMT_EXECUTE: u8 = 0x17;
pub const COM_STMT_SEND_LONG_DATA: u8 = 0x18;
pub const COM_STMT_CLOSE: u8 = 0x19;
pub const COM_STMT_RESET: u8 = 0x1a;
pub const COM_SET_OPTION: u8 = 0x1b;
pub const COM_CHANGE_USER: u8 = 0x11;
pub const COM_RESET_CONNECTION: u8 = 0x1f;

/// utf8mb4_general_ci, the character set both ends announce in their handshakes.
pub const DEFAULT_CHARSET: u8 = 45;
