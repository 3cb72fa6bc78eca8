//! The FK errors a plan raises (1451, 1452, 1296) carry InnoDB's description of
//! the constraint with backquoted names; MariaDB quotes them as the session's
//! sql_mode says, in double quotes under ANSI_QUOTES (review r16 W-R2). The
//! session's sql_mode is read only when such an error goes back.

use crate::backend::Backend;
use crate::reply::Reply;
use crate::wire::value::Value;

/// `replies` of a plan run on `backend`, the FK errors the gateway wrote worded
/// with the session's identifier quotes. A failed read of the sql_mode leaves
/// them as they are.
pub async fn follow_session(backend: &mut Backend, mut replies: Vec<Reply>) -> Vec<Reply> {
    let written =
        |r: &Reply| matches!(r, Reply::Error(e) if matches!(e.code, 1451 | 1452 | 1296) && e.message.contains('`'));
    if !replies.iter().any(written) {
        return replies;
    }
    let ansi = match backend.read("SELECT @@SESSION.sql_mode").await {
        Ok(rows) => rows
            .rows
            .first()
            .and_then(|r| r.first())
            .is_some_and(|v| !matches!(v, Value::Null) && ansi_quotes(&v.text())),
        Err(e) => {
            tracing::debug!("cannot read the session's sql_mode: {}", e.message);
            false
        }
    };
    if ansi {
        for reply in replies.iter_mut() {
            if let Reply::Error(e) = reply {
                if matches!(e.code, 1451 | 1452 | 1296) {
                    e.message = tether_fkplan::ansi_quoted(&e.message);
                }
            }
        }
    }
    replies
}

/// Whether sql_mode `mode` quotes identifiers with `"` (ANSI_QUOTES; the
/// combined modes ANSI, ORACLE, DB2, ... list it when read back).
fn ansi_quotes(mode: &str) -> bool {
    mode.split(',').any(|f| f.trim().eq_ignore_ascii_case("ANSI_QUOTES"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_ansi_quotes_in_the_sql_mode() {
        assert!(super::ansi_quotes(
            "REAL_AS_FLOAT,PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,ANSI"
        ));
        assert!(!super::ansi_quotes("STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION"));
        assert!(!super::ansi_quotes(""));
    }
}
