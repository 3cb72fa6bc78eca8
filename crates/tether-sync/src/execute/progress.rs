//! What the executor tells its caller while it runs ([`Progress`], implemented by the
//! CLI) and what it reports per table when done ([`TableReport`]).

/// Live progress, implemented by the CLI.
pub trait Progress: Sync {
    fn phase(&self, message: &str);
    fn table_started(&self, table: &str, total: u64);
    fn rows(&self, table: &str, rows: u64);
    fn table_done(&self, table: &str, rows: u64, seconds: f64);
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TableReport {
    pub table: String,
    pub rows_read: u64,
    /// Rows written, per destination (in job order).
    pub rows_written: Vec<u64>,
    pub seconds: f64,
}
