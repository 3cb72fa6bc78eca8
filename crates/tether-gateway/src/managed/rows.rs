//! INSERT / REPLACE forms whose rows only InnoDB could check as written, run
//! behind a sharding engine's head as the rows they write: a SELECT source (or
//! VALUES of expressions) is stored first, in the gateway's transaction, as the
//! target would store it (`materialize`), and written back as those literals; a
//! REPLACE or ON DUPLICATE KEY UPDATE of several rows runs one row at a time, in
//! order, as MariaDB applies them. Each piece is planned like a statement of its
//! own; the first that fails fails the whole statement (the caller rolls back).

use sqlparser::ast::{SetExpr, Statement};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use tether_fkplan::{Analysis, InsertParts, RowSource};
use tether_schema::Schema;

use super::execute::run_inside;
use super::materialize::{stored_rows, Stored};
use super::native_first::single;
use super::sharded::{refusal_of, Behind};
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
    let read = backend
        .read("SELECT DATABASE(), @@sql_mode LIKE '%NO_BACKSLASH_ESCAPES%'")
        .await?;
    let first = read.rows.first();
    let database = first.and_then(|r| r.first()).map(|v| v.text()).unwrap_or_default();
    // The gateway reads a backslash in a string as an escape: under
    // NO_BACKSLASH_ESCAPES the server would read another statement.
    let plain_backslashes = first.and_then(|r| r.get(1)).is_some_and(|v| v.text() == "1");
    let source_text = match &parts.source {
        RowSource::Values(rows) => rows.iter().flatten().any(|v| v.contains('\\')),
        RowSource::Query(query) => query.contains('\\'),
    };
    if plain_backslashes && (source_text || parts.tail.contains('\\') || parts.head.contains('\\')) {
        return Err(behind.refusal(keyspace, "a backslash in a statement under NO_BACKSLASH_ESCAPES"));
    }
    let Stored { rows, warnings } = match &parts.source {
        RowSource::Values(rows) if rows.iter().flatten().all(|v| is_literal(v)) => Stored {
            rows: rows.clone(),
            warnings: 0,
        },
        // Expressions: the whole VALUES computed as the target stores it.
        RowSource::Values(rows) => {
            let values: Vec<String> = rows.iter().map(|r| format!("({})", r.join(", "))).collect();
            let source = format!("VALUES {}", values.join(", "));
            stored_rows(&parts.table, &parts.columns, &source, keyspace, backend, behind).await?
        }
        // The rows are read (and stored) before anything is written: an INSERT
        // ... SELECT of its own table sees the table as before the statement.
        RowSource::Query(query) => {
            stored_rows(&parts.table, &parts.columns, &locking(query), keyspace, backend, behind).await?
        }
    };
    if rows.is_empty() {
        return Ok(Reply::Ok(OkInfo {
            info: format!("Records: 0  Duplicates: 0  Warnings: {warnings}"),
            warnings,
            ..OkInfo::default()
        }));
    }
    let texts = match parts.upsert {
        true => parts.one_per_row(&rows),
        // Rows in order, a bounded statement at a time: the first that fails
        // fails the whole (the caller rolls back), as natively.
        false => rows.chunks(CHUNK).map(|c| parts.with_rows(c)).collect(),
    };
    // Every piece planned and checked before the first one writes.
    let mut plans = Vec::with_capacity(texts.len());
    for text in &texts {
        let plan = match tether_fkplan::plan(text, schema, &database) {
            Ok(Analysis::Plan(plan)) => plan,
            Ok(Analysis::Forward) => return Err(behind.refusal(keyspace, "a write the gateway cannot read")),
            Err(e) => return Err(ServerError::gateway(e.to_string())),
        };
        // Behind InnoDB a piece runs as any statement of its form would.
        if let Some(e) = refusal_of(&plan, schema, keyspace).filter(|_| !behind.is_innodb()) {
            return Err(e);
        }
        super::pieces::refuse_unplanned(&plan, schema, keyspace)?;
        plans.push(plan);
    }
    let mut replies = Vec::with_capacity(plans.len());
    // Under CLIENT_FOUND_ROWS a row that met a duplicate and changed nothing
    // answers 1, as an inserted one does, yet counts in `Duplicates` (review r21g
    // F2): which rows meet one is read before each piece runs.
    let upsert = parts.upsert && !parts.head.starts_with("REPLACE");
    let mut met = Vec::new();
    for (i, plan) in plans.iter().enumerate() {
        if upsert && backend.found_rows() {
            met.push(match rows.get(i).and_then(|r| clash_probe(parts, schema, r)) {
                Some(probe) => !backend.read(&probe).await?.rows.is_empty(),
                None => false,
            });
        }
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
    // Which rows ask the AUTO_INCREMENT column for a value (for the OK packet's
    // insert id); only the one-row-per-piece forms need it.
    let autos: Vec<Auto> = match parts.upsert {
        true => rows.iter().map(|r| auto_value(parts, schema, r)).collect(),
        false => Vec::new(),
    };
    match (replies.len(), &parts.source) {
        // One row of VALUES: MariaDB's reply carries no info line either.
        (1, RowSource::Values(_)) if rows.len() == 1 => match replies.pop() {
            Some(Reply::Ok(mut info)) => {
                info.warnings = info.warnings.saturating_add(warnings);
                Ok(Reply::Ok(info))
            }
            other => Ok(other.unwrap_or_else(|| Reply::Ok(OkInfo::default()))),
        },
        _ => Ok(Reply::Ok(summed(&replies, &autos, &met, rows.len(), kind, warnings))),
    }
}

/// A read finding a row of the target that `row` (stored literals, in the order
/// of `parts`' columns) meets on its primary key or a unique key; `None` when no
/// key has all its values (NULL meets nothing) or the table is unknown.
fn clash_probe(parts: &InsertParts, schema: &Schema, row: &[String]) -> Option<String> {
    let table = schema
        .find_table(&parts.table.join("."))
        .or_else(|| parts.table.last().and_then(|t| schema.find_table(t)))?;
    let value = |column: &str| {
        let position = match parts.columns.is_empty() {
            true => table
                .columns
                .iter()
                .filter(|c| c.generated.is_none())
                .position(|c| c.name.eq_ignore_ascii_case(column)),
            false => parts.columns.iter().position(|c| c.eq_ignore_ascii_case(column)),
        };
        position
            .and_then(|i| row.get(i))
            .filter(|v| !v.trim().eq_ignore_ascii_case("null"))
    };
    let q = |n: &str| format!("`{}`", n.replace('`', "``"));
    let keys = std::iter::once(&table.primary_key).filter(|k| !k.is_empty()).chain(
        table
            .unique_keys
            .iter()
            .filter(|u| u.predicate.is_none())
            .map(|u| &u.columns),
    );
    let mut any = Vec::new();
    for key in keys {
        let all: Option<Vec<String>> = key
            .iter()
            .map(|c| value(c).map(|v| format!("{} = {}", q(c), v.trim())))
            .collect();
        if let Some(all) = all {
            any.push(format!("({})", all.join(" AND ")));
        }
    }
    if any.is_empty() {
        return None;
    }
    let name: Vec<String> = parts.table.iter().map(|p| q(p)).collect();
    Some(format!(
        "SELECT 1 FROM {} WHERE {} LIMIT 1",
        name.join("."),
        any.join(" OR ")
    ))
}

/// What a row gives its table's AUTO_INCREMENT column.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Auto {
    /// The table has none.
    Absent,
    /// Not listed, NULL or 0: the server generates it.
    Generated,
    /// A value (0 when not a plain integer).
    Given(u64),
}

/// What `row` of `parts` gives its table's AUTO_INCREMENT column.
fn auto_value(parts: &InsertParts, schema: &Schema, row: &[String]) -> Auto {
    let table = schema
        .find_table(&parts.table.join("."))
        .or_else(|| parts.table.last().and_then(|t| schema.find_table(t)));
    let Some(table) = table else { return Auto::Absent };
    let Some(column) = table
        .columns
        .iter()
        .find(|c| c.identity == Some(tether_schema::Identity::AutoIncrement))
    else {
        return Auto::Absent;
    };
    let position = match parts.columns.is_empty() {
        true => table
            .columns
            .iter()
            .filter(|c| c.generated.is_none())
            .position(|c| c.name == column.name),
        false => parts.columns.iter().position(|c| c.eq_ignore_ascii_case(&column.name)),
    };
    let Some(v) = position.and_then(|i| row.get(i)) else {
        return Auto::Generated;
    };
    let v = v.trim();
    match v.eq_ignore_ascii_case("null") || v == "0" {
        true => Auto::Generated,
        false => Auto::Given(v.trim_matches('\'').parse().unwrap_or(0)),
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
/// rows affected summed, the `Records / Duplicates / Warnings` line, and the
/// insert id. For one-row pieces (`autos`, one per row) that is MariaDB's: the
/// first value generated, else, when a row was written, the value the last row
/// gives the AUTO_INCREMENT column; otherwise the first piece's id. `converted`:
/// the warnings of storing the rows first. `met`: under CLIENT_FOUND_ROWS, for
/// each ON DUPLICATE KEY UPDATE piece, whether its row met a duplicate.
fn summed(replies: &[Reply], autos: &[Auto], met: &[bool], records: usize, kind: Kind, converted: u16) -> OkInfo {
    let mut out = OkInfo {
        warnings: converted,
        ..OkInfo::default()
    };
    let mut duplicates = 0u64;
    let mut generated = 0u64;
    for (i, reply) in replies.iter().enumerate() {
        let Reply::Ok(info) = reply else { continue };
        out.affected_rows += info.affected_rows;
        if out.last_insert_id == 0 {
            out.last_insert_id = info.last_insert_id;
        }
        if generated == 0 && autos.get(i) == Some(&Auto::Generated) {
            generated = info.last_insert_id;
        }
        out.warnings = out.warnings.saturating_add(info.warnings);
        duplicates += match kind {
            Kind::Insert => 0,
            Kind::Replace => info.affected_rows.saturating_sub(1),
            // 1: inserted, 2: updated, 0: met a duplicate and left it as it was
            // (MariaDB counts only the rows it updated). Under CLIENT_FOUND_ROWS
            // the row left as it was answers 1 and counts too.
            Kind::Upsert => u64::from(info.affected_rows == 2 || met.get(i) == Some(&true)),
        };
    }
    if !autos.is_empty() && !autos.contains(&Auto::Absent) {
        out.last_insert_id = match (generated, out.affected_rows, autos.last()) {
            (0, 0, _) => 0,
            (0, _, Some(Auto::Given(id))) => *id,
            (0, _, _) => 0,
            (id, _, _) => id,
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
