//! What the gateway answers a client command with, independent of the wire library:
//! OK packets, result sets (column definitions and rows), and server errors.

use crate::wire::value::Value;

/// A server error as the client sees it: MariaDB's number, SQL state and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    pub code: u16,
    pub state: String,
    pub message: String,
}

impl ServerError {
    pub fn new(code: u16, state: &str, message: impl Into<String>) -> Self {
        ServerError {
            code,
            state: state.to_string(),
            message: message.into(),
        }
    }

    /// ER_UNKNOWN_ERROR (1105, HY000): the gateway's own errors.
    pub fn gateway(message: impl Into<String>) -> Self {
        ServerError::new(1105, "HY000", message)
    }

    /// The backend is unreachable or dropped the connection (CR_SERVER_LOST inside
    /// the gateway; [`ServerError::wire_code`] is what the client gets).
    pub fn backend_down(message: impl Into<String>) -> Self {
        ServerError::new(2013, "HY000", message)
    }

    /// The number sent to the client. The gateway's own backend errors keep the
    /// client library's numbers inside (2003 cannot connect, 2013 lost: never
    /// replayed), but libmariadb (the `mariadb` command, Connector/C) takes a server
    /// ERR packet numbered 2000-2999 for a malformed packet and drops its message:
    /// they go out as ER_UNKNOWN_ERROR (1105) with the message.
    pub fn wire_code(&self) -> u16 {
        match self.code {
            2000..=2999 => 1105,
            code => code,
        }
    }
}

impl From<tether_fkplan::FkError> for ServerError {
    fn from(e: tether_fkplan::FkError) -> Self {
        ServerError::new(e.code, e.state, e.message)
    }
}

/// One column of a result set, as the backend described it (every field of the
/// protocol's column definition, passed on unchanged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnDef {
    pub schema: String,
    pub table: String,
    pub org_table: String,
    pub name: String,
    pub org_name: String,
    /// Collation id (63 = binary).
    pub charset: u16,
    /// Display length.
    pub length: u32,
    /// MySQL protocol column type byte.
    pub column_type: u8,
    /// MySQL protocol column flags.
    pub flags: u16,
    pub decimals: u8,
}

/// The outcome of a statement that returns no rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OkInfo {
    pub affected_rows: u64,
    pub last_insert_id: u64,
    pub warnings: u16,
    pub info: String,
}

/// One answer; a command can produce several (multi-result procedures).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Ok(OkInfo),
    Rows {
        columns: Vec<ColumnDef>,
        rows: Vec<Vec<Value>>,
    },
    Error(ServerError),
}

impl Reply {
    pub fn ok() -> Reply {
        Reply::Ok(OkInfo::default())
    }

    /// A one-column text result set (EXPLAIN FK output).
    pub fn text_rows(column: &str, lines: impl IntoIterator<Item = String>) -> Reply {
        Reply::Rows {
            columns: vec![ColumnDef {
                name: column.to_string(),
                charset: 45, // utf8mb4_general_ci
                length: 1024,
                column_type: 253, // VAR_STRING
                decimals: 39,     // not a fixed number of decimals
                ..ColumnDef::default()
            }],
            rows: lines.into_iter().map(|l| vec![Value::Bytes(l.into_bytes())]).collect(),
        }
    }
}

/// What `prepare` tells the client: the statement's id, its parameters and columns.
pub struct PreparedInfo {
    pub id: u32,
    pub params: Vec<ColumnDef>,
    pub columns: Vec<ColumnDef>,
}
