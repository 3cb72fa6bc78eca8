//! Parent-existence checks for the rows a statement writes (error 1452): which FKs the
//! gateway can check, the probe per FK, and the new rows' values when the statement's
//! own VALUES give them.

use sqlparser::ast::{Expr, Insert, SetExpr, UnaryOperator, Value};
use tether_schema::{DataType, ForeignKey, Table};

use crate::message;
use crate::plan::{FkRef, NewRows, OwnParent, ParentCheck, ParentChecks, Part, Template};
use crate::sql::{ident, idents, row_of};

use super::expr::{column_default, default_per_row, is_default};
use super::insert::named_columns;
use super::{eq_ci, Planner};

impl<'a> Planner<'a> {
    /// The FKs of `table` that `wanted` picks, when the gateway can check all of
    /// them (each points at a table of this database the schema knows).
    pub(super) fn checkable_fks(
        &self,
        table: &'a Table,
        wanted: impl Fn(&ForeignKey) -> bool,
    ) -> Option<Vec<&'a ForeignKey>> {
        let mut out = Vec::new();
        for fk in table.foreign_keys.iter().filter(|fk| wanted(fk)) {
            if fk.referenced_schema.as_deref().is_some_and(|s| s != self.database) {
                return None;
            }
            let parent = self.schema.tables.iter().find(|t| t.name == fk.referenced_table)?;
            // Temporal columns of different fractional precision (DATETIME and
            // DATETIME(3)): InnoDB compares their stored bytes, which never match,
            // where the server's comparison finds equal values. InnoDB checks.
            let temporal = |t: &str| {
                let t = t.to_ascii_lowercase();
                ["datetime", "timestamp", "time"].iter().any(|k| t.starts_with(k))
            };
            let mismatched =
                fk.columns
                    .iter()
                    .zip(&fk.referenced_columns)
                    .any(|(c, r)| match (table.column(c), parent.column(r)) {
                        (Some(c), Some(r)) => {
                            (temporal(&c.engine_type) || temporal(&r.engine_type))
                                && !c.engine_type.eq_ignore_ascii_case(&r.engine_type)
                        }
                        _ => false,
                    });
            if mismatched {
                return None;
            }
            out.push(fk);
        }
        Some(out)
    }

    /// The parent checks of `fks` (FKs of `table`). With `own`, the columns also
    /// carry what self-references point at, so rows the statement inserts count as
    /// parents of its later rows (and of themselves where InnoDB writes the
    /// referenced index first: [`OwnParent`]).
    pub(super) fn parent_checks(&self, table: &Table, fks: &[&ForeignKey], own: bool, rows: NewRows) -> ParentChecks {
        let mut columns: Vec<String> = Vec::new();
        let add = |c: &String, columns: &mut Vec<String>| {
            if !columns.iter().any(|x| eq_ci(x, c)) {
                columns.push(c.clone());
            }
        };
        for fk in fks {
            for c in &fk.columns {
                add(c, &mut columns);
            }
        }
        let is_self = |fk: &ForeignKey| fk.referenced_table == table.name;
        if own {
            for fk in fks.iter().filter(|fk| is_self(fk)) {
                for c in &fk.referenced_columns {
                    add(c, &mut columns);
                }
            }
        }
        let position = |c: &String| columns.iter().position(|x| eq_ci(x, c)).unwrap_or(0);
        let checks = fks
            .iter()
            .map(|fk| {
                let parent = self.schema.tables.iter().find(|t| t.name == fk.referenced_table);
                let parent_keys = parent.map(|t| self.key_columns(t)).unwrap_or_default();
                let numeric = fk
                    .referenced_columns
                    .iter()
                    .map(|c| {
                        parent
                            .and_then(|t| t.columns.iter().find(|x| eq_ci(&x.name, c)))
                            .is_some_and(|x| {
                                matches!(
                                    x.normalized_type,
                                    DataType::Int { .. } | DataType::Decimal { .. } | DataType::Float { .. }
                                )
                            })
                    })
                    .collect();
                // Integer keys come back and compare by value in the gateway; any
                // other type is compared by the server (types, collations), which
                // says per parent row which of the keys it matches.
                let keys_only = fk.referenced_columns.iter().all(|c| {
                    parent
                        .and_then(|t| t.columns.iter().find(|x| eq_ci(&x.name, c)))
                        .is_some_and(|x| matches!(x.normalized_type, DataType::Int { .. }))
                });
                let from = format!(
                    " FROM {} WHERE {} IN (",
                    ident(&fk.referenced_table),
                    row_of(&fk.referenced_columns)
                );
                let mut parts = if keys_only {
                    vec![Part::Text(format!("SELECT {}{from}", idents(&fk.referenced_columns)))]
                } else {
                    vec![
                        Part::Text("SELECT CONCAT_WS(',', ".into()),
                        Part::Matches,
                        Part::Text(format!("){from}")),
                    ]
                };
                parts.push(Part::Keys);
                parts.push(Part::Text(") LOCK IN SHARE MODE".into()));
                let probe = Template { parts };
                ParentCheck {
                    fk: FkRef {
                        name: fk.name.clone(),
                        child: table.name.clone(),
                        columns: fk.columns.clone(),
                        parent: fk.referenced_table.clone(),
                        referenced_columns: fk.referenced_columns.clone(),
                        parent_positions: fk
                            .referenced_columns
                            .iter()
                            .map(|c| parent_keys.iter().position(|k| eq_ci(k, c)).unwrap_or(0))
                            .collect(),
                    },
                    positions: fk.columns.iter().map(position).collect(),
                    own_positions: (own && is_self(fk)).then(|| fk.referenced_columns.iter().map(position).collect()),
                    own_parent: own_parent(table, fk),
                    rewrites: Vec::new(),
                    may_rewrite: Vec::new(),
                    numeric,
                    keys_only,
                    probe,
                    error: message::no_referenced_row(self.database, &table.name, fk),
                }
            })
            .collect();
        let types = columns
            .iter()
            .map(|c| table.column(c).map(|x| x.engine_type.clone()))
            .collect();
        let not_null = columns
            .iter()
            .map(|c| table.column(c).is_none_or(|x| !x.nullable))
            .collect();
        ParentChecks {
            columns,
            types,
            not_null,
            rows,
            checks,
        }
    }

    /// Parent checks for the rows of an INSERT / REPLACE ... VALUES (only one row
    /// with `single`): `None` when the rows cannot be computed before the statement
    /// runs (a SELECT source, IGNORE, values that are expressions, a default computed
    /// from the row or anew), so InnoDB's own check must stay on.
    pub(super) fn values_checks(&self, i: &Insert, table: &'a Table, single: bool) -> Option<ParentChecks> {
        if i.ignore || !i.assignments.is_empty() || table.foreign_keys.is_empty() {
            return None;
        }
        let rows = match i.source.as_deref().map(|q| q.body.as_ref()) {
            Some(SetExpr::Values(v)) => &v.rows,
            _ => return None,
        };
        if rows.is_empty() || (single && rows.len() != 1) {
            return None;
        }
        let named: Vec<String> = if i.columns.is_empty() {
            table.columns.iter().map(|c| c.name.clone()).collect()
        } else {
            named_columns(table, &i.columns)?
        };
        let fks = self.checkable_fks(table, |_| true)?;
        let mut checks = self.parent_checks(table, &fks, true, NewRows::Values(Vec::new()));
        let mut values = Vec::new();
        for row in rows {
            let row: &Vec<Expr> = &row.content;
            if row.len() != named.len() {
                return None;
            }
            let mut out = Vec::new();
            for c in &checks.columns {
                let defaulted = named
                    .iter()
                    .position(|n| eq_ci(n, c))
                    .is_none_or(|p| is_default(&row[p]));
                // A default computed from the row (`DEFAULT (id)`) or anew (the
                // clock, a sequence): no text the gateway pastes into its probe
                // gives the value MariaDB stores (review r23n N3: 1054 where MariaDB
                // computes it and checks). InnoDB checks such rows.
                if defaulted && default_per_row(table, c) {
                    return None;
                }
                let value = match named.iter().position(|n| eq_ci(n, c)) {
                    Some(p) if is_default(&row[p]) => column_default(table, c),
                    Some(p) => {
                        let text = self.literal_text(&row[p])?;
                        let generated = table
                            .columns
                            .iter()
                            .any(|x| eq_ci(&x.name, c) && (x.identity.is_some() || x.generated.is_some()));
                        // NULL or 0 make an auto-increment column take the next value.
                        (!generated || !(text.eq_ignore_ascii_case("null") || text == "0")).then_some(text)
                    }
                    None => column_default(table, c),
                };
                out.push(value);
            }
            values.push(out);
        }
        checks.rows = NewRows::Values(values);
        Some(checks)
    }

    /// The text of a constant (number, string, NULL, hex, boolean); `None` for
    /// anything the server would have to evaluate. A `?` counts as a constant: a
    /// prepared statement is planned again with its parameters inlined.
    pub(super) fn literal_text(&self, e: &Expr) -> Option<String> {
        let constant = |v: &Value| {
            matches!(
                v,
                Value::Number(..)
                    | Value::SingleQuotedString(_)
                    | Value::DoubleQuotedString(_)
                    | Value::HexStringLiteral(_)
                    | Value::Boolean(_)
                    | Value::Null
                    | Value::Placeholder(_)
            )
        };
        let ok = match e {
            Expr::Value(v) => constant(&v.value),
            Expr::UnaryOp {
                op: UnaryOperator::Minus | UnaryOperator::Plus,
                expr,
            } => matches!(expr.as_ref(), Expr::Value(v) if matches!(v.value, Value::Number(..))),
            // `_latin1 X'E9'`: a string in a named character set (how the rows of
            // an INSERT ... SELECT are written back behind a sharding engine).
            Expr::Prefixed { value, .. } => matches!(value.as_ref(), Expr::Value(v) if constant(&v.value)),
            _ => false,
        };
        ok.then(|| self.source.expr_text(e))
    }
}

/// Whether a row of `table` is its own parent through `fk` (see [`OwnParent`]).
/// InnoDB backs an FK, and finds a referenced key, with the first index whose
/// leading columns are the FK's (the referenced) columns; the clustered index
/// (the primary key) is the first of all.
fn own_parent(table: &Table, fk: &ForeignKey) -> OwnParent {
    let leads_primary = |columns: &[String]| {
        !table.primary_key.is_empty()
            && columns.len() <= table.primary_key.len()
            && columns.iter().zip(&table.primary_key).all(|(a, b)| eq_ci(a, b))
    };
    match (leads_primary(&fk.referenced_columns), leads_primary(&fk.columns)) {
        (true, false) => OwnParent::Yes,
        // Checked with the clustered entry, before it is written (whatever the
        // referenced index: the same one, or a secondary one written later).
        (_, true) => OwnParent::No,
        (false, false) => OwnParent::Unknown,
    }
}
