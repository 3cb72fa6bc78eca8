//! The orphan check's `=` between an FK's child and parent columns on MariaDB/MySQL
//! when the two have different collations (a destination's own tables, an FK whose
//! sides the source compares alike but the destination does not): compared in the
//! parent's collation, as the FK compares, rather than failing with "Illegal mix of
//! collations" (1267) after the rows were written.

use tether_connect::{ConnectError, Dialect};
use tether_schema::{Engine, ForeignKey, Table};

/// `c.<child>` converted into the parent column's character set and collation, when
/// the destination's table definitions say they differ; `None` to compare as written.
pub(super) fn mysql_child_collate(
    engine: Engine,
    child: &Table,
    column: &str,
    parent: &Table,
    referenced: &str,
) -> Option<String> {
    if engine != Engine::Mysql {
        return None;
    }
    let text = |t: &Table, c: &str| t.column(c).is_some_and(|c| c.normalized_type.is_text());
    if !text(child, column) || !text(parent, referenced) {
        return None;
    }
    let ours = tether_schema::virtual_fk::mysql_collation(child.extras.definition.as_deref()?, column);
    let (charset, collation) =
        tether_schema::virtual_fk::mysql_collation(parent.extras.definition.as_deref()?, referenced);
    let (charset, collation) = (charset?, collation?);
    if ours.1.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(&collation)) {
        return None;
    }
    let safe = |s: &str| !s.is_empty() && s.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
    if !safe(&charset) || !safe(&collation) {
        return None;
    }
    Some(format!(
        "CONVERT(c.`{}` USING {charset}) COLLATE {collation}",
        column.replace('`', "``")
    ))
}

/// Whether `e` is MariaDB/MySQL's "Illegal mix of collations" (1267, 1270, 1271).
pub(super) fn illegal_mix(e: &ConnectError) -> bool {
    let m = e.to_string();
    ["server error 1267", "server error 1270", "server error 1271"]
        .iter()
        .any(|code| m.contains(code))
}

/// The orphan check's `FROM ... WHERE` comparing the FK's columns as bytes (utf8mb4,
/// binary collation): the fallback when the columns' collations cannot be mixed.
pub(super) fn as_bytes(fk: &ForeignKey, d: &dyn Dialect, rows: &str, parent: &str, not_null: &[String]) -> String {
    let join: Vec<String> = fk
        .columns
        .iter()
        .zip(&fk.referenced_columns)
        .map(|(c, p)| {
            format!(
                "CONVERT(p.{} USING utf8mb4) COLLATE utf8mb4_bin = CONVERT(c.{} USING utf8mb4) COLLATE utf8mb4_bin",
                d.ident(p),
                d.ident(c)
            )
        })
        .collect();
    format!(
        "FROM {rows} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {})",
        not_null.join(" AND "),
        join.join(" AND ")
    )
}
