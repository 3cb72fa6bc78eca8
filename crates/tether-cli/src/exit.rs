//! Exit codes and the one-line error message a user sees.

use tether_connect::ConnectError;
use tether_schema::SchemaError;

pub const FAILURE: i32 = 1;
pub const USAGE: i32 = 2;
pub const CONNECT: i32 = 3;
pub const VERIFY: i32 = 4;
/// Interrupted by Ctrl-C or SIGTERM (128 + SIGINT, as shells report Ctrl-C).
pub const INTERRUPTED: i32 = 130;

/// `tether sync` finished but verification found orphans or missing rows (already printed).
#[derive(Debug, thiserror::Error)]
#[error("verification failed: see the report above")]
pub struct VerificationFailed;

/// A second interrupt: the run quits at once, its writes not undone.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct QuitAtOnce(pub &'static str);

/// Ctrl-C or SIGTERM before the command wrote anything (while connecting, reading
/// the schema, planning): it stops there.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by {0} before anything was written")]
pub struct Interrupted(pub &'static str);

/// Completes on SIGINT (Ctrl-C) or SIGTERM (what `timeout`, `docker stop` and
/// systemd send), with the signal's name.
pub async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "SIGINT"
}

/// `work`, unless Ctrl-C or SIGTERM comes first: then [`Interrupted`] (the exit code
/// and JSON document of an interruption, not the signal's default death).
pub async fn unless_interrupted<T>(work: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::select! {
        r = work => r,
        signal = stop_signal() => Err(Interrupted(signal).into()),
    }
}

/// A usage or configuration error raised by the CLI itself.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The exit code an error maps to.
pub fn code(e: &anyhow::Error) -> i32 {
    for cause in e.chain() {
        if let Some(c) = cause.downcast_ref::<ConnectError>() {
            return match c {
                ConnectError::UnknownScheme(_) | ConnectError::InvalidUrl { .. } | ConnectError::Unsupported { .. } => {
                    USAGE
                }
                ConnectError::SqliteFileMissing(_) | ConnectError::Connect { .. } => CONNECT,
                ConnectError::Query { .. } | ConnectError::NotFound { .. } => FAILURE,
            };
        }
        if cause.downcast_ref::<SchemaError>().is_some() || cause.downcast_ref::<UsageError>().is_some() {
            return USAGE;
        }
        if cause.downcast_ref::<VerificationFailed>().is_some() {
            return VERIFY;
        }
        if cause.downcast_ref::<QuitAtOnce>().is_some() || cause.downcast_ref::<Interrupted>().is_some() {
            return INTERRUPTED;
        }
        if let Some(s) = cause.downcast_ref::<tether_sync::SyncError>() {
            return match s {
                tether_sync::SyncError::Config(_) | tether_sync::SyncError::Plan(_) => USAGE,
                tether_sync::SyncError::Schema(_) => USAGE,
                tether_sync::SyncError::Connect(c) => match c {
                    ConnectError::UnknownScheme(_)
                    | ConnectError::InvalidUrl { .. }
                    | ConnectError::Unsupported { .. } => USAGE,
                    ConnectError::SqliteFileMissing(_) | ConnectError::Connect { .. } => CONNECT,
                    _ => FAILURE,
                },
                tether_sync::SyncError::Rejected { .. } | tether_sync::SyncError::Transform(_) => FAILURE,
                tether_sync::SyncError::Interrupted(_) => INTERRUPTED,
            };
        }
    }
    FAILURE
}

/// Whether the command printed its report before failing (then stdout holds it).
pub fn report_printed(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<VerificationFailed>().is_some())
}

/// What each exit code is called in the JSON error document.
fn kind(code: i32) -> &'static str {
    match code {
        USAGE => "usage",
        CONNECT => "connect",
        VERIFY => "verify",
        INTERRUPTED => "interrupted",
        _ => "failure",
    }
}

/// The failure as one JSON document: `{"error": {"kind", "exit_code", "message",
/// "causes"}}`, `causes` the error and what it came from, outermost first (the same
/// texts as the one-line message: no password or seed is ever in them).
pub fn json_document(e: &anyhow::Error) -> String {
    let code = code(e);
    let causes: Vec<String> = e.chain().map(|c| c.to_string()).collect();
    let doc = serde_json::json!({
        "error": {
            "kind": kind(code),
            "exit_code": code,
            "message": one_line(e),
            "causes": causes,
        }
    });
    serde_json::to_string_pretty(&doc).expect("a JSON value serializes")
}

/// Whether the command line asks for `--format json` (`-f json`, `--format=json`).
pub fn asks_for_json(args: impl Iterator<Item = String>) -> bool {
    let args: Vec<String> = args.collect();
    args.iter().any(|a| a == "--format=json" || a == "-fjson")
        || args
            .windows(2)
            .any(|w| (w[0] == "--format" || w[0] == "-f") && w[1] == "json")
}

/// A usage error of the argument parser (its text: the error, then usage lines) as
/// the JSON error document.
pub fn json_usage_document(text: &str) -> String {
    let message = text
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_string();
    let doc = serde_json::json!({
        "error": {
            "kind": kind(USAGE),
            "exit_code": USAGE,
            "message": message,
            "causes": [text.trim_end()],
        }
    });
    serde_json::to_string_pretty(&doc).expect("a JSON value serializes")
}

/// The error and its causes on one line.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string().replace('\n', " ");
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}
