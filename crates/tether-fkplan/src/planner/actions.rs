//! What child FKs do when their parent rows go or change key: RESTRICT / NO ACTION
//! refuse (error 1451), CASCADE deletes or updates, SET NULL / SET DEFAULT update, each
//! as one set-based statement per FK, followed down the FK graph.

use std::collections::HashSet;

use tether_schema::{FkAction, ForeignKey, Table};

use crate::error::PlanError;
use crate::message;
use crate::plan::{Action, ActionKind, Event, FkRef, NewChildValue, Part, Rules, Template};
use crate::sql::{ident, row_of};

use super::expr::column_default;
use super::implicit::generated_over;
use super::{children, eq_ci, exact_idents, Analysis, Planner};

/// `, ts = ts` for each TIMESTAMP / DATETIME column of `table` outside `changed`:
/// an explicit UPDATE would give those with ON UPDATE CURRENT_TIMESTAMP a new
/// value, which InnoDB's own cascades never do; assigning a column its own value
/// keeps it.
pub(super) fn keep_timestamps(table: &Table, changed: &[String]) -> String {
    let mut out = String::new();
    for c in &table.columns {
        let t = c.engine_type.to_ascii_lowercase();
        if c.generated.is_none()
            && (t.starts_with("timestamp") || t.starts_with("datetime"))
            && !changed.iter().any(|x| eq_ci(x, &c.name))
        {
            out.push_str(&format!(", {0} = {0}", ident(&c.name)));
        }
    }
    out
}

impl<'a> Planner<'a> {
    /// A plan whose cascade writes child values another FK of the child checks
    /// (ON UPDATE CASCADE or SET DEFAULT into a column a second FK shares: the
    /// same column to another parent, a composite FK holding it, two FKs of one
    /// column to one parent; any change, SET NULL too, of a column a generated FK
    /// column reads) takes its outcome from a native run first
    /// ([`Plan::native_first`]): InnoDB checks every cascaded child row against the
    /// child's other FKs, in its own order (constraint by constraint, against the
    /// parents as they stand mid-statement), and refuses with 1452 naming the FK;
    /// the gateway's cascade writes the children with checks off. On success the
    /// plan runs as before, its statements reaching the binlog. A statement that
    /// must run once (auto-increment, sequences) cannot be run twice: refused.
    pub(super) fn other_fks_by_innodb(&self, analysis: Analysis) -> Result<Analysis, PlanError> {
        let Analysis::Plan(mut plan) = analysis else {
            return Ok(analysis);
        };
        if plan.native_first || !plan.steps.is_empty() {
            return Ok(Analysis::Plan(plan));
        }
        let Some(fk) = self.rekeyed_into_other_fk(&plan.rules) else {
            return Ok(Analysis::Plan(plan));
        };
        if plan.allocates || super::expr::must_run_once(&plan.original) {
            return Err(self.unsupported(
                &format!(
                    "a write that may take auto-increment or sequence values whose cascade writes `{}`.({}), which \
                     another foreign key of `{}` checks",
                    fk.child,
                    fk.columns.join(", "),
                    fk.child
                ),
                &plan.table,
            ));
        }
        plan.native_first = true;
        Ok(Analysis::Plan(plan))
    }

    /// The first FK whose action writes a child value another FK of the same child
    /// table checks: a non-NULL value into a column the other FK holds, or any value
    /// (NULL too: a column `AS (COALESCE(pid, 9))` becomes 9) into a column a
    /// generated column of the other FK reads, at any depth. That generated column
    /// is VIRTUAL (MariaDB refuses a STORED one over a column with a cascading FK,
    /// 1901); InnoDB computes it and checks its FK (review r23i U1).
    fn rekeyed_into_other_fk<'r>(&self, rules: &'r [Rules]) -> Option<&'r FkRef> {
        rules.iter().flat_map(|r| &r.actions).find_map(|action| {
            let ActionKind::Update { new, .. } = &action.kind else {
                return None;
            };
            let writes_value = matches!(new, NewChildValue::Cascade | NewChildValue::Default(_));
            let fk = &action.fk;
            let child = self.schema.tables.iter().find(|t| t.name == fk.child)?;
            let others = || child.foreign_keys.iter().filter(|other| other.name != fk.name);
            let holds = |other: &ForeignKey, columns: &[String]| {
                other.columns.iter().any(|c| columns.iter().any(|f| eq_ci(f, c)))
            };
            let generated = generated_over(child, &fk.columns);
            let shared = others().any(|other| (writes_value && holds(other, &fk.columns)) || holds(other, &generated));
            // InnoDB changes a clustered-index column as a delete and an insert of the
            // child row, and the insert checks every FK of the child: a second FK to a
            // table the statement is changing (the parent row mid-statement) may fail,
            // 1452, whatever its columns. One to a table it does not change cannot.
            let changed = |other: &ForeignKey| rules.iter().any(|r| eq_ci(&r.table, &other.referenced_table));
            let reinserted = writes_value && fk.columns.iter().any(|c| clustered(child, c)) && others().any(changed);
            (shared || reinserted).then_some(fk)
        })
    }

    /// The rules for `event` on `start`, and for everything they reach.
    pub(super) fn rules_from(&self, start: &Table, event: Event) -> Vec<Rules> {
        let mut out: Vec<Rules> = Vec::new();
        let mut seen: HashSet<(String, Event)> = HashSet::new();
        let mut todo = vec![(start.name.clone(), event)];
        while let Some((name, event)) = todo.pop() {
            if !seen.insert((name.clone(), event)) {
                continue;
            }
            let Some(table) = self.schema.tables.iter().find(|t| t.name == name) else {
                continue;
            };
            let key_columns = self.key_columns(table);
            let mut actions = Vec::new();
            for (child, fk) in children(self.schema, self.database, &name) {
                let (action, next) = self.action(child, fk, &key_columns, event);
                if let Some(next) = next {
                    todo.push(next);
                }
                actions.push(action);
            }
            let key_types = key_columns
                .iter()
                .map(|c| table.column(c).map(|x| x.engine_type.clone()))
                .collect();
            out.push(Rules {
                table: name,
                event,
                pk_len: table.primary_key.len(),
                key_columns,
                key_types,
                actions,
            });
        }
        out.sort_by(|a, b| (&a.table, a.event).cmp(&(&b.table, b.event)));
        // The statement's own table first.
        if let Some(p) = out.iter().position(|r| r.table == start.name && r.event == event) {
            let first = out.remove(p);
            out.insert(0, first);
        }
        out
    }

    /// One child FK's action for `event` on its parent, and the child event it causes.
    pub(super) fn action(
        &self,
        child: &Table,
        fk: &ForeignKey,
        parent_keys: &[String],
        event: Event,
    ) -> (Action, Option<(String, Event)>) {
        let parent_positions = fk
            .referenced_columns
            .iter()
            .map(|c| parent_keys.iter().position(|k| eq_ci(k, c)).unwrap_or(0))
            .collect();
        let fk_ref = FkRef {
            name: fk.name.clone(),
            child: child.name.clone(),
            columns: fk.columns.clone(),
            parent: fk.referenced_table.clone(),
            referenced_columns: fk.referenced_columns.clone(),
            parent_positions,
        };
        let where_keys = |prefix: String| Template {
            parts: vec![
                Part::Text(format!("{prefix} WHERE {} IN (", row_of(&fk.columns))),
                Part::Keys,
                Part::Text(")".into()),
            ],
        };
        let action = match event {
            Event::Delete => fk.on_delete,
            Event::Update => fk.on_update,
        };
        let child_name = ident(&child.name);
        let too_deep = message::cascade_too_deep(self.database, &child.name, fk);
        // Whether the child's changed columns are keys of grandchildren.
        let child_keys = self.key_columns(child);
        let fk_cols_referenced = children(self.schema, self.database, &child.name).iter().any(|(_, g)| {
            g.referenced_columns
                .iter()
                .any(|c| fk.columns.iter().any(|f| eq_ci(f, c)))
        });
        let in_cycle = self.in_cycle(&child.name);
        let read_child = || {
            let mut cols = child_keys.clone();
            cols.extend(fk.columns.iter().cloned());
            let mut t = where_keys(format!("SELECT {} FROM {child_name}", exact_idents(child, &cols)));
            t.parts.push(Part::Text(" FOR UPDATE".into()));
            t
        };
        let (kind, read, next) = match action {
            FkAction::Restrict | FkAction::NoAction => {
                // Returns the referenced keys, so the gateway knows which row failed;
                // a locking read, as InnoDB's check, so it sees committed children
                // even inside an older snapshot. A self-reference on delete also
                // returns which rows reference them (see `child_ids`).
                let child_ids = match (event, child.name == fk.referenced_table) {
                    (Event::Delete, true) => child.primary_key.len(),
                    _ => 0,
                };
                let mut probe = if child_ids > 0 {
                    let mut cols = child.primary_key.clone();
                    cols.extend(fk.columns.iter().cloned());
                    where_keys(format!("SELECT {} FROM {child_name}", exact_idents(child, &cols)))
                } else {
                    where_keys(format!(
                        "SELECT DISTINCT {} FROM {child_name}",
                        exact_idents(child, &fk.columns)
                    ))
                };
                probe.parts.push(Part::Text(" LOCK IN SHARE MODE".into()));
                let why = if action == FkAction::Restrict {
                    "RESTRICT"
                } else {
                    "NO ACTION"
                };
                (
                    ActionKind::Refuse {
                        probe,
                        error: message::row_is_referenced(self.database, &child.name, fk),
                        why,
                        child_ids,
                    },
                    None,
                    None,
                )
            }
            FkAction::Cascade if event == Event::Delete => {
                let has_children = !children(self.schema, self.database, &child.name).is_empty();
                (
                    ActionKind::Delete {
                        statement: where_keys(format!("DELETE FROM {child_name}")),
                    },
                    has_children.then(read_child),
                    has_children.then(|| (child.name.clone(), Event::Delete)),
                )
            }
            FkAction::Cascade => {
                // Each column's new value is found from the old key, all columns of
                // it: MariaDB's assignments run left to right unless told to run
                // them at once (MariaDB only, as managed mode is).
                let at_once = if fk.columns.len() > 1 {
                    "SET STATEMENT sql_mode = CONCAT(@@sql_mode, ',SIMULTANEOUS_ASSIGNMENT') FOR "
                } else {
                    ""
                };
                let mut parts = vec![Part::Text(format!("{at_once}UPDATE {child_name} SET "))];
                for (n, c) in fk.columns.iter().enumerate() {
                    if n > 0 {
                        parts.push(Part::Text(", ".into()));
                    }
                    parts.push(Part::Text(format!("{} = ", ident(c))));
                    parts.push(Part::NewValue(n));
                }
                parts.push(Part::Text(keep_timestamps(child, &fk.columns)));
                parts.push(Part::Text(format!(" WHERE {} IN (", row_of(&fk.columns))));
                parts.push(Part::Keys);
                // Parent by parent, in the order MariaDB re-keys them: a child key
                // moves onto one an earlier parent's children just left.
                parts.push(Part::Text(") ORDER BY ".into()));
                parts.push(Part::Order);
                (
                    ActionKind::Update {
                        statement: Template { parts },
                        new: NewChildValue::Cascade,
                    },
                    // Read when the change goes on, or when the child is in a cycle:
                    // InnoDB refuses a cascading update into a table the chain
                    // already updates, and only the rows tell whether that happens.
                    (fk_cols_referenced || in_cycle).then(read_child),
                    fk_cols_referenced.then(|| (child.name.clone(), Event::Update)),
                )
            }
            FkAction::SetNull | FkAction::SetDefault => {
                let null = action == FkAction::SetNull;
                let sets: Vec<String> = fk
                    .columns
                    .iter()
                    .map(|c| format!("{} = {}", ident(c), if null { "NULL" } else { "DEFAULT" }))
                    .collect();
                let new = if null {
                    NewChildValue::Null
                } else {
                    NewChildValue::Default(
                        fk.columns
                            .iter()
                            .map(|c| column_default(child, c).unwrap_or_else(|| "NULL".into()))
                            .collect(),
                    )
                };
                (
                    ActionKind::Update {
                        statement: where_keys(format!(
                            "UPDATE {child_name} SET {}{}",
                            sets.join(", "),
                            keep_timestamps(child, &fk.columns)
                        )),
                        new,
                    },
                    (fk_cols_referenced || in_cycle).then(read_child),
                    fk_cols_referenced.then(|| (child.name.clone(), Event::Update)),
                )
            }
        };
        (
            Action {
                fk: fk_ref,
                kind,
                read,
                too_deep,
                same_table_update: message::row_is_referenced(self.database, &child.name, fk),
                fits: fk
                    .columns
                    .iter()
                    .map(|c| {
                        child
                            .columns
                            .iter()
                            .find(|col| eq_ci(&col.name, c))
                            .and_then(|col| col.normalized_type.max_chars())
                    })
                    .collect(),
                stored: self.stored(child, fk),
            },
            next,
        )
    }
}

/// Whether `column` is in the index InnoDB stores `table`'s rows by: the primary key,
/// else (over-approximating "the first") any unique key of NOT NULL columns.
fn clustered(table: &Table, column: &str) -> bool {
    if !table.primary_key.is_empty() {
        return table.primary_key.iter().any(|c| eq_ci(c, column));
    }
    table.unique_keys.iter().any(|k| {
        k.columns.iter().any(|c| eq_ci(c, column))
            && k.columns
                .iter()
                .all(|c| table.column(c).is_some_and(|col| !col.nullable))
    })
}
