//! What the gateway answers a client command with, independent of the wire library:
//! OK packets, result sets (column definitions and rows), and server errors.

use mysql_async::Value;

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

    /// The backend is unreachable or dropped the connection.
    pub fn backend_down(message: impl Into<String>) -> Self {
        ServerError::new(2013, "HY000", message)
    }

    /// A client-facing error from a mysql_async error: server errors verbatim.
    pub fn from_backend(e: &mysql_async::Error) -> Self {
        match e {
            mysql_async::Error::Server(s) => ServerError::new(s.code, &s.state, s.message.clone()),
            other => ServerError::backend_down(format!("tether gateway: backend connection failed: {other}")),
        }
    }

    /// True when the error means the backend connection is unusable.
    pub fn is_connection_loss(e: &mysql_async::Error) -> bool {
        !matches!(e, mysql_async::Error::Server(_))
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

impl ColumnDef {
    pub fn from_backend(c: &mysql_async::Column) -> Self {
        ColumnDef {
            schema: c.schema_str().into_owned(),
            table: c.table_str().into_owned(),
            org_table: c.org_table_str().into_owned(),
            name: c.name_str().into_owned(),
            org_name: c.org_name_str().into_owned(),
            charset: c.character_set(),
            length: c.column_length(),
            column_type: c.column_type() as u8,
            flags: c.flags().bits(),
            decimals: c.decimals(),
        }
    }
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
