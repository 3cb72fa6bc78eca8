//! The administrative commands `mariadb-admin` and old client libraries send:
//! COM_STATISTICS and COM_DEBUG go on to the backend as they are (see
//! [`super::Handler`]); COM_PROCESS_INFO and COM_REFRESH run as the statements
//! they stand for, through the gateway's text path, so they pass every check a
//! client's `SHOW PROCESSLIST` or `FLUSH` passes, and are refused where those are.
//! COM_SHUTDOWN is not among them: it stays an unknown command (1047).

use std::io;

use super::{Handler, Output};
use crate::reply::OkInfo;

// COM_REFRESH's options (MariaDB reads one byte of them: REFRESH_READ_LOCK and
// the other options that take locks do not fit in it).
const REFRESH_GRANT: u8 = 1;
const REFRESH_LOG: u8 = 2;
const REFRESH_TABLES: u8 = 4;
const REFRESH_HOSTS: u8 = 8;
const REFRESH_STATUS: u8 = 16;
const REFRESH_THREADS: u8 = 32;
const REFRESH_SLAVE: u8 = 64;
const REFRESH_MASTER: u8 = 128;

/// COM_PROCESS_INFO: MariaDB answers it as `SHOW PROCESSLIST`.
pub(super) async fn process_info<H: Handler>(handler: &mut H, out: &mut Output<'_>) -> io::Result<()> {
    handler.query(b"SHOW PROCESSLIST", out).await
}

/// The statements COM_REFRESH with `options` stands for: `FLUSH LOCAL` (as the
/// command, they are not written to the binary log) of each option, the table
/// flush on its own (`FLUSH TABLES` takes no list of other options).
pub(super) fn refresh_statements(options: u8) -> Vec<String> {
    const NAMES: [(u8, &str); 7] = [
        (REFRESH_GRANT, "PRIVILEGES"),
        (REFRESH_LOG, "LOGS"),
        (REFRESH_HOSTS, "HOSTS"),
        (REFRESH_STATUS, "STATUS"),
        (REFRESH_THREADS, "THREADS"),
        (REFRESH_SLAVE, "SLAVE"),
        (REFRESH_MASTER, "MASTER"),
    ];
    let listed: Vec<&str> = NAMES
        .iter()
        .filter(|(bit, _)| options & bit != 0)
        .map(|(_, name)| *name)
        .collect();
    let mut statements = Vec::new();
    if !listed.is_empty() {
        statements.push(format!("FLUSH LOCAL {}", listed.join(", ")));
    }
    if options & REFRESH_TABLES != 0 {
        statements.push("FLUSH LOCAL TABLES".to_string());
    }
    statements
}

/// COM_REFRESH: its statements run one after the other as the client's text
/// queries; the answer is one OK (the last statement's) or the first error, as
/// MariaDB's to the command. No options: OK, as MariaDB's.
pub(super) async fn refresh<H: Handler>(handler: &mut H, options: u8, out: &mut Output<'_>) -> io::Result<()> {
    let statements = refresh_statements(options);
    let Some(last) = statements.len().checked_sub(1) else {
        out.ok(&OkInfo::default(), false);
        return Ok(());
    };
    for (i, sql) in statements.iter().enumerate() {
        let mark = out.w.mark();
        handler.query(sql.as_bytes(), out).await?;
        // An OK before the last statement is taken back: the command answers once.
        if i == last || handler.ended() || !out.w.one_ok_since(mark) {
            break;
        }
        out.w.take_back(mark);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_options_are_their_flush_statements() {
        assert_eq!(refresh_statements(0), Vec::<String>::new());
        assert_eq!(refresh_statements(REFRESH_THREADS), ["FLUSH LOCAL THREADS"]);
        // `mariadb-admin refresh`.
        assert_eq!(
            refresh_statements(REFRESH_LOG | REFRESH_TABLES | REFRESH_HOSTS | REFRESH_THREADS),
            ["FLUSH LOCAL LOGS, HOSTS, THREADS", "FLUSH LOCAL TABLES"]
        );
        assert_eq!(refresh_statements(REFRESH_TABLES), ["FLUSH LOCAL TABLES"]);
        assert_eq!(
            refresh_statements(0xff),
            [
                "FLUSH LOCAL PRIVILEGES, LOGS, HOSTS, STATUS, THREADS, SLAVE, MASTER",
                "FLUSH LOCAL TABLES"
            ]
        );
    }
}
