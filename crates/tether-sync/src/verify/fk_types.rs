//! The orphan check's `=` between an FK's child and parent columns when the destination
//! has one of them as text and the other as a number (a destination's own tables, or a
//! virtual FK mapped onto them): each engine would compare those as numbers (`'07' = 7`
//! holds on MariaDB and SQLite), and find a parent the source's text comparison does
//! not. Compared as text instead, as the source's FK compares its text columns.

use tether_connect::Dialect;
use tether_schema::{Engine, Table};

/// The two sides of the comparison of child column `column` with parent column
/// `referenced` (`c.<column>`, `p.<referenced>`), the number side cast to text when the
/// source compares the column as text (`source_text`), or the destination is PostgreSQL
/// (which has no `=` between a number and text), and the destination has one side text,
/// the other not; `None` to compare as written.
pub(super) fn as_text(
    engine: Engine,
    d: &dyn Dialect,
    source_text: bool,
    child: &Table,
    column: &str,
    parent: &Table,
    referenced: &str,
) -> Option<(String, String)> {
    let text = |t: &Table, c: &str| t.column(c).map(|c| c.normalized_type.is_text());
    let (ours, theirs) = (text(child, column)?, text(parent, referenced)?);
    // A number FK at the source: compared as written where the engine compares a number
    // with text (MariaDB, SQLite); PostgreSQL has no `integer = text`, so as text there.
    if ours == theirs || (!source_text && engine != Engine::Postgres) {
        return None;
    }
    let cast = |side: &str| match engine {
        Engine::Mysql => format!("CAST({side} AS CHAR)"),
        Engine::Postgres | Engine::Sqlite => format!("CAST({side} AS TEXT)"),
    };
    let (c, p) = (format!("c.{}", d.ident(column)), format!("p.{}", d.ident(referenced)));
    Some(match ours {
        true => (c, cast(&p)),
        false => (cast(&c), p),
    })
}
