//! INSERT / REPLACE forms whose rows only InnoDB could check as written, run
//! behind a sharding engine's head as the rows they write: a SELECT source (or
//! VALUES of expressions) is read first, in the gateway's transaction, and written
//! back as literals (NULL, numbers, binary as hex, dates and decimals as text); a
//! REPLACE or ON DUPLICATE KEY UPDATE of several rows runs one row at a time, in
//! order, as MariaDB applies them. Each piece is planned like a statement of its
//! own; the first that fails fails the whole statement (the caller rolls back).

use sqlparser::ast::{SetExpr, Statement};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use tether_fkplan::{Analysis, InsertParts, RowSource};
use tether_schema::Schema;

use super::execute::run_inside;
use super::native_first::single;
use super::render::literals;
use super::sharded::{refusal, refusal_of, Behind};
use crate::backend::Backend;
use crate::reply::{OkInfo, Reply, ServerError};

/// Runs the statement `parts` as the rows it writes (see the module's note): the
/// client's result, as MariaDB gives it for the statement as written.
pub(super) async fn run_rows(
    parts: &InsertParts,
    schema: &Schema,
    keyspace: &str,
    backend: &mut Backend,
    behind: Behind<'_>,
) -> Result<Reply, ServerError> {
    let rows: Vec<Vec<String>> = match &parts.source {
        RowSource::Values(rows) if rows.iter().flatten().all(|v| is_literal(v)) => rows.clone(),
        RowSource::Values(rows) => evaluated(rows, keyspace, backend).await?,
        RowSource::Query(query) => {
            // The rows are read before anything is written: an INSERT ... SELECT
            // of its own table sees the table as before the statement.
            literals(&backend.read(&locking(query)).await?)
        }
    };
    if rows.is_empty() {
        return Ok(Reply::Ok(OkInfo {
            info: "Records: 0  Duplicates: 0  Warnings: 0".into(),
            ..OkInfo::default()
        }));
    }
    let texts = match parts.upsert {
        true => parts.one_per_row(&rows),
        // Rows in order, a bounded statement at a time: the first that fails
        // fails the whole (the caller rolls back), as natively.
        false => rows.chunks(CHUNK).map(|c| parts.with_rows(c)).collect(),
    };
    let database = backend
        .read("SELECT DATABASE()")
        .await?
        .rows
        .first()
        .and_then(|r| r.first())
        .map(|v| v.text().to_string())
        .unwrap_or_default();
    // Every piece planned and checked before the first one writes.
    let mut plans = Vec::with_capacity(texts.len());
    for text in &texts {
        let plan = match tether_fkplan::plan(text, schema, &database) {
            Ok(Analysis::Plan(plan)) => plan,
            Ok(Analysis::Forward) => return Err(refusal(keyspace, "a write the gateway cannot read")),
            Err(e) => return Err(ServerError::gateway(e.to_string())),
        };
        if let Some(e) = refusal_of(&plan, schema, keyspace) {
            return Err(e);
        }
        plans.push(plan);
    }
    let mut replies = Vec::with_capacity(plans.len());
    for plan in &plans {
        let reply = match plan.is_passthrough() {
            true => {
                behind.writes();
                single(backend, &plan.original).await?
            }
            false => run_inside(plan, backend, behind).await?,
        };
        replies.push(reply);
    }
    let kind = match (parts.upsert, parts.head.starts_with("REPLACE")) {
        (false, _) => Kind::Insert,
        (true, true) => Kind::Replace,
        (true, false) => Kind::Upsert,
    };
    match replies.len() {
        1 => Ok(replies.pop().unwrap_or_else(|| Reply::Ok(OkInfo::default()))),
        _ => Ok(Reply::Ok(summed(&replies, rows.len(), kind))),
    }
}

/// Rows per statement when an INSERT's rows are written back (well inside
/// `max_allowed_packet` for rows of ordinary width).
const CHUNK: usize = 500;

/// What the pieces of a statement are, for its `Duplicates` count.
#[derive(Clone, Copy)]
enum Kind {
    /// INSERT: no duplicates (a duplicate key fails it).
    Insert,
    /// REPLACE, one row per piece: the rows it deleted.
    Replace,
    /// ON DUPLICATE KEY UPDATE, one row per piece: the rows that met one.
    Upsert,
}

/// The result MariaDB gives for one statement whose rows ran as several pieces:
/// rows affected summed, the first AUTO_INCREMENT value taken, and the `Records /
/// Duplicates / Warnings` line.
fn summed(replies: &[Reply], records: usize, kind: Kind) -> OkInfo {
    let mut out = OkInfo::default();
    let mut duplicates = 0u64;
    for reply in replies {
        let Reply::Ok(info) = reply else { continue };
        out.affected_rows += info.affected_rows;
        if out.last_insert_id == 0 {
            out.last_insert_id = info.last_insert_id;
        }
        out.warnings = out.warnings.saturating_add(info.warnings);
        duplicates += match kind {
            Kind::Insert => 0,
            Kind::Replace => info.affected_rows.saturating_sub(1),
            Kind::Upsert => u64::from(info.affected_rows != 1),
        };
    }
    out.info = format!(
        "Records: {records}  Duplicates: {duplicates}  Warnings: {}",
        out.warnings
    );
    out
}

/// Whether a value as written is a literal MariaDB needs nothing to compute.
fn is_literal(v: &str) -> bool {
    let t = v.trim();
    let unsigned = t.strip_prefix('-').unwrap_or(t);
    let number = unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.') && unsigned.parse::<f64>().is_ok();
    let quoted = t.len() >= 2 && (t.starts_with('\'') || t.starts_with('"')) && t.ends_with(t.as_bytes()[0] as char);
    let hex =
        (t.starts_with("0x") || t.starts_with("X'") || t.starts_with("x'") || t.starts_with("b'")) && !t.contains(' ');
    number
        || quoted
        || hex
        || ["null", "true", "false", "default"]
            .iter()
            .any(|w| t.eq_ignore_ascii_case(w))
}

/// VALUES rows with expressions: each expression evaluated by the head, once,
/// before anything is written, and replaced by the literal of its result; literals
/// stay as written (the column converts them on store: `0x01` into an INT is 1,
/// where `SELECT 0x01` reads a binary string). Column references and `DEFAULT`
/// cannot be evaluated outside the statement: refused.
async fn evaluated(
    rows: &[Vec<String>],
    keyspace: &str,
    backend: &mut Backend,
) -> Result<Vec<Vec<String>>, ServerError> {
    let all: Vec<&str> = rows.iter().flatten().map(String::as_str).collect();
    if all.iter().any(|v| v.trim().eq_ignore_ascii_case("default")) {
        return Err(refusal(keyspace, "VALUES with DEFAULT beside expressions"));
    }
    let expressions: Vec<&str> = all.iter().copied().filter(|v| !is_literal(v)).collect();
    let read = backend
        .read(&format!("SELECT {}", expressions.join(", ")))
        .await
        .map_err(|e| match e.code {
            // Unknown column: the value names a column of the row.
            1054 => refusal(
                keyspace,
                "VALUES whose expressions name columns of the row (only the INSERT itself can compute them)",
            ),
            _ => e,
        })?;
    let mut results = literals(&read).into_iter().next().unwrap_or_default().into_iter();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let mut row = Vec::with_capacity(r.len());
        for v in r {
            row.push(match is_literal(v) {
                true => v.clone(),
                false => results
                    .next()
                    .ok_or_else(|| ServerError::gateway("tether gateway: the head evaluated too few values"))?,
            });
        }
        out.push(row);
    }
    Ok(out)
}

/// The SELECT of an INSERT ... SELECT as a locking read (InnoDB locks the rows it
/// reads for the insert): `FOR UPDATE` appended to a plain SELECT without a lock
/// clause of its own; any other query is read as it is.
fn locking(query: &str) -> String {
    let plain = match Parser::parse_sql(&MySqlDialect {}, query).ok().as_deref() {
        Some([Statement::Query(q)]) => matches!(q.body.as_ref(), SetExpr::Select(_)) && q.locks.is_empty(),
        _ => false,
    };
    match plain {
        true => format!("{query} FOR UPDATE"),
        false => query.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{is_literal, locking};

    #[test]
    fn literals_need_no_evaluation() {
        for v in [
            "1", "-1.5", "2e0", "'a'", "\"b\"", "NULL", "TRUE", "0x01", "X'01'", "DEFAULT",
        ] {
            assert!(is_literal(v), "{v}");
        }
        for v in ["1 + 8", "NOW()", "(SELECT 1)", "a", "e", "-x", "1-2", ""] {
            assert!(!is_literal(v), "{v}");
        }
    }

    #[test]
    fn a_plain_select_is_read_under_lock() {
        assert_eq!(
            locking("SELECT a FROM t WHERE b = 1"),
            "SELECT a FROM t WHERE b = 1 FOR UPDATE"
        );
        assert_eq!(locking("SELECT a FROM t FOR UPDATE"), "SELECT a FROM t FOR UPDATE");
        assert_eq!(locking("SELECT 1 UNION SELECT 2"), "SELECT 1 UNION SELECT 2");
    }
}
