//! From one statement and the schema to a [`Plan`]: which rows the statement removes
//! or re-keys, and what every child foreign key does about it, to any depth.

use std::collections::{BTreeSet, HashSet};
use std::ops::ControlFlow;

use sqlparser::ast::{
    AssignmentTarget, Expr, FromTable, Insert, ObjectName, ObjectNamePart, OnInsert, SetExpr, Spanned, Statement,
    TableFactor, TableObject, TableWithJoins, UnaryOperator, Value,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use tether_schema::{DataType, FkAction, ForeignKey, Schema, Table};

use crate::error::PlanError;
use crate::message;
use crate::plan::{
    Action, ActionKind, Clash, Event, FkRef, KeyValue, NewChildValue, NewRows, ParentCheck, ParentChecks, Part, Plan,
    ReplaceSource, Rules, Start, Target, Template,
};
use crate::sql::{ident, idents, row_of, Source};

/// What the planner makes of one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Analysis {
    /// Not a write the planner handles (SELECT, SET, DDL, a table unknown to the
    /// schema...): forward it unchanged.
    Forward,
    /// A write on a known table: run this plan (possibly just the original).
    Plan(Box<Plan>),
}

/// Plans `sql` against `schema`, the schema of MariaDB database `database`.
pub fn plan(sql: &str, schema: &Schema, database: &str) -> Result<Analysis, PlanError> {
    // `UPDATE a, b SET ...`: planned in its JOIN spelling (the parser knows only
    // that one); the client's text is what runs.
    let joined = match Parser::parse_sql(&MySqlDialect {}, sql) {
        Ok(_) => None,
        Err(_) => crate::sql::comma_joins(sql),
    };
    let text = joined.as_deref().unwrap_or(sql);
    let statements = match Parser::parse_sql(&MySqlDialect {}, text) {
        Ok(s) => s,
        Err(e) => {
            // Unparseable writes are only a problem where FKs exist.
            let has_fks = schema.tables.iter().any(|t| !t.foreign_keys.is_empty());
            if has_fks && looks_like_write(sql) {
                return Err(PlanError::Parse(e.to_string()));
            }
            return Ok(Analysis::Forward);
        }
    };
    let [statement] = statements.as_slice() else {
        if statements.iter().any(is_write) {
            return Err(PlanError::Unsupported {
                what: "several statements in one query".into(),
                table: "?".into(),
            });
        }
        return Ok(Analysis::Forward);
    };
    let planner = Planner {
        schema,
        database,
        source: Source::new(text),
        original: sql.trim().trim_end_matches(';').trim_end().to_string(),
    };
    planner.statement(statement)
}

/// True for statements that start with a write keyword.
pub fn looks_like_write(sql: &str) -> bool {
    let first = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    matches!(first.as_str(), "insert" | "update" | "delete" | "replace")
}

fn is_write(s: &Statement) -> bool {
    matches!(s, Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_))
}

/// One row of a `VALUES` list.
type ValuesRow = sqlparser::ast::Parens<Vec<Expr>>;

/// The columns an INSERT names (in order) and its `VALUES` rows.
type InsertRows<'i> = (Vec<String>, &'i [ValuesRow]);

/// The existing rows one unique index finds for the new rows of an INSERT.
struct KeyClash {
    /// The index's name (`PRIMARY` for the primary key).
    index: String,
    /// Its columns as a row constructor.
    row: String,
    /// The new rows' values for it, as `IN` list items.
    tuples: Vec<String>,
}

impl KeyClash {
    fn condition(&self) -> String {
        format!("{} IN ({})", self.row, self.tuples.join(", "))
    }
}

/// A new row's value could be stored other than a `WHERE` compares it: which
/// existing row it clashes with is InnoDB's to find.
struct Undecided;

/// What a new row stores in one key column.
enum KeyPart {
    /// This literal.
    Value(String),
    /// NULL, or a new auto-increment value: the key clashes with no row.
    Never,
    /// Only the server knows.
    Unknown,
}

/// A constant as the planner tells its kind.
enum Literal {
    Null,
    /// An integer number, as written (with its sign).
    Integer(String),
    /// A quoted string, its value.
    Text(String),
    Placeholder,
    Other,
}

impl Literal {
    fn of(e: &Expr) -> Literal {
        match e {
            Expr::Value(v) => match &v.value {
                Value::Null => Literal::Null,
                Value::Number(n, _) if is_integer(n) => Literal::Integer(n.clone()),
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Literal::Text(s.clone()),
                Value::Placeholder(_) => Literal::Placeholder,
                _ => Literal::Other,
            },
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } => match Literal::of(expr) {
                Literal::Integer(n) if !n.starts_with('-') => Literal::Integer(format!("-{n}")),
                _ => Literal::Other,
            },
            _ => Literal::Other,
        }
    }

    /// A column default as the schema spells it: `NULL`, a number, a quoted string.
    fn of_default(d: &str) -> Literal {
        let t = d.trim();
        if t.eq_ignore_ascii_case("null") {
            Literal::Null
        } else if is_integer(t) {
            Literal::Integer(t.to_string())
        } else if t.len() >= 2 && t.starts_with('\'') && t.ends_with('\'') {
            Literal::Text(t[1..t.len() - 1].replace("''", "'"))
        } else {
            Literal::Other
        }
    }
}

/// Whether integer `n` is within the range of an integer column of type `t`
/// (other types: true).
fn fits(n: &str, t: &DataType) -> bool {
    let (bytes, unsigned) = match t {
        DataType::Int { bytes, unsigned } => (u32::from(*bytes).clamp(1, 8), *unsigned),
        DataType::Boolean => (1, false),
        _ => return true,
    };
    let Ok(v) = n.parse::<i128>() else {
        return false;
    };
    let bits = 8 * bytes;
    let (min, max) = if unsigned {
        (0, (1i128 << bits) - 1)
    } else {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    };
    (min..=max).contains(&v)
}

/// `-12`, `12`: digits, maybe a minus sign.
fn is_integer(t: &str) -> bool {
    let digits = t.strip_prefix('-').unwrap_or(t);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A table of a multi-table statement and the name the statement gives it.
struct Named<'a> {
    qualifier: String,
    table: &'a Table,
}

impl Named<'_> {
    /// `qualifier`.`column`.
    fn column(&self, column: &str) -> String {
        format!("{}.{}", ident(&self.qualifier), ident(column))
    }
}

struct Planner<'a> {
    schema: &'a Schema,
    database: &'a str,
    source: Source<'a>,
    original: String,
}

/// FKs of the schema that reference `table` in the same database.
fn children<'s>(schema: &'s Schema, database: &str, table: &str) -> Vec<(&'s Table, &'s ForeignKey)> {
    let mut out = Vec::new();
    for t in &schema.tables {
        for fk in &t.foreign_keys {
            let same_db = fk.referenced_schema.as_deref().is_none_or(|s| s == database);
            if same_db && fk.referenced_table == table {
                out.push((t, fk));
            }
        }
    }
    out
}

fn eq_ci(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn last_ident(name: &ObjectName) -> Option<&str> {
    match name.0.last()? {
        ObjectNamePart::Identifier(i) => Some(i.value.as_str()),
        _ => None,
    }
}

impl<'a> Planner<'a> {
    fn unsupported(&self, what: &str, table: &str) -> PlanError {
        PlanError::Unsupported {
            what: what.into(),
            table: table.into(),
        }
    }

    /// The table a name points to, when it is in this keyspace's database.
    fn table(&self, name: &ObjectName) -> Result<Option<&'a Table>, PlanError> {
        let parts: Vec<&str> = name
            .0
            .iter()
            .filter_map(|p| match p {
                ObjectNamePart::Identifier(i) => Some(i.value.as_str()),
                _ => None,
            })
            .collect();
        let table = match parts.as_slice() {
            [t] => *t,
            [db, t] if *db == self.database => *t,
            [_, t] => {
                if self.schema.tables.iter().any(|x| x.name == *t) {
                    return Err(self.unsupported("a write to a table of another database", t));
                }
                return Ok(None);
            }
            _ => return Ok(None),
        };
        Ok(self.schema.tables.iter().find(|t| t.name == table))
    }

    fn involved(&self, t: &Table) -> bool {
        !t.foreign_keys.is_empty() || !children(self.schema, self.database, &t.name).is_empty()
    }

    fn statement(&self, statement: &Statement) -> Result<Analysis, PlanError> {
        match statement {
            Statement::Delete(d) => self.delete(d),
            Statement::Update(u) => self.update(u),
            Statement::Insert(i) => self.insert(i),
            _ => Ok(Analysis::Forward),
        }
    }

    fn passthrough(&self, table: &Table) -> Analysis {
        Analysis::Plan(Box::new(Plan {
            original_fk_checks: true,
            ..Plan::new(&table.name, Start::Nothing, &self.original)
        }))
    }

    /// `FROM name [AS alias] WHERE ... ORDER BY ... LIMIT ... FOR UPDATE`.
    fn tail(
        &self,
        relation: &TableFactor,
        selection: Option<&Expr>,
        order_by: &[sqlparser::ast::OrderByExpr],
        limit: Option<&Expr>,
    ) -> String {
        let mut out = format!(" FROM {relation}");
        if let Some(w) = selection {
            out.push_str(&format!(" WHERE {}", self.source.expr_text(w)));
        }
        if !order_by.is_empty() {
            let items: Vec<String> = order_by.iter().map(|o| o.to_string()).collect();
            out.push_str(&format!(" ORDER BY {}", items.join(", ")));
        }
        if let Some(l) = limit {
            out.push_str(&format!(" LIMIT {}", self.source.expr_text(l)));
        }
        out.push_str(" FOR UPDATE");
        out
    }

    fn delete(&self, d: &sqlparser::ast::Delete) -> Result<Analysis, PlanError> {
        let from = match &d.from {
            FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => f,
        };
        let single = d.tables.is_empty() && d.using.is_none() && from.len() == 1 && from[0].joins.is_empty();
        if !single {
            return self.multi_delete(d, from);
        }
        let relation = &from[0].relation;
        let TableFactor::Table { name, .. } = relation else {
            return Ok(Analysis::Forward);
        };
        let Some(table) = self.table(name)? else {
            return Ok(Analysis::Forward);
        };
        if children(self.schema, self.database, &table.name).is_empty() {
            return Ok(self.passthrough(table));
        }
        let keys = self.key_columns(table);
        let read = format!(
            "SELECT {}{}",
            idents(&keys),
            self.tail(relation, d.selection.as_ref(), &d.order_by, d.limit.as_ref())
        );
        Ok(Analysis::Plan(Box::new(Plan {
            rules: self.rules_from(table, Event::Delete),
            ..Plan::new(&table.name, Start::Delete { read }, &self.original)
        })))
    }

    fn multi_table<'r>(
        &self,
        relations: impl Iterator<Item = &'r TableFactor>,
        what: &str,
    ) -> Result<Analysis, PlanError> {
        for r in relations {
            if let TableFactor::Table { name, .. } = r {
                if let Some(t) = self.table(name)? {
                    if self.involved(t) {
                        return Err(self.unsupported(what, &t.name));
                    }
                }
            }
        }
        Ok(Analysis::Forward)
    }

    /// The tables of a FROM / USING list (joins and nested joins included) that
    /// this keyspace's schema knows, with the name the statement calls them by.
    fn named_tables<'t>(&self, lists: impl Iterator<Item = &'t TableWithJoins>) -> Result<Vec<Named<'a>>, PlanError> {
        fn walk<'t>(f: &'t TableFactor, out: &mut Vec<&'t TableFactor>) {
            match f {
                TableFactor::NestedJoin { table_with_joins, .. } => {
                    walk(&table_with_joins.relation, out);
                    for j in &table_with_joins.joins {
                        walk(&j.relation, out);
                    }
                }
                other => out.push(other),
            }
        }
        let mut factors = Vec::new();
        for t in lists {
            walk(&t.relation, &mut factors);
            for j in &t.joins {
                walk(&j.relation, &mut factors);
            }
        }
        let mut out = Vec::new();
        for f in factors {
            let TableFactor::Table { name, alias, .. } = f else {
                continue;
            };
            let Some(table) = self.table(name)? else { continue };
            let qualifier = match alias {
                Some(a) => a.name.value.clone(),
                None => last_ident(name).unwrap_or_default().to_string(),
            };
            out.push(Named { qualifier, table });
        }
        Ok(out)
    }

    /// The rules of every (table, event) start, each (table, event) once.
    fn merged_rules(&self, starts: &[(&Table, Event)]) -> Vec<Rules> {
        let mut out: Vec<Rules> = Vec::new();
        for (table, event) in starts {
            for r in self.rules_from(table, *event) {
                if !out.iter().any(|x| x.table == r.table && x.event == r.event) {
                    out.push(r);
                }
            }
        }
        out
    }

    /// A multi-table plan: lock reads per target, rules of all targets, and the
    /// outcome taken from a native run (see [`Plan::native_first`]).
    fn multi_plan(&self, targets: Vec<(&Table, Target)>) -> Analysis {
        if let Some((table, _)) = targets.first().filter(|_| must_run_once(&self.original)) {
            // The native run and the plan would both advance the sequence: InnoDB
            // runs it, with its own cascades (docs/gateway.md, Limits).
            return self.passthrough(table);
        }
        let starts: Vec<(&Table, Event)> = targets
            .iter()
            .filter(|(_, x)| x.parent)
            .map(|(t, x)| (*t, x.event))
            .collect();
        let rules = self.merged_rules(&starts);
        let table = targets.first().map(|(t, _)| t.name.clone()).unwrap_or_default();
        let start = Start::Multi {
            targets: targets.into_iter().map(|(_, t)| t).collect(),
        };
        Analysis::Plan(Box::new(Plan {
            rules,
            native_first: true,
            ..Plan::new(&table, start, &self.original)
        }))
    }

    /// `DELETE t1, t2 FROM <join> WHERE ...` / `DELETE FROM t1, t2 USING <join>
    /// WHERE ...`: the rows of each target that has children are locked and read
    /// over the statement's own join; their delete rules apply as for one table.
    fn multi_delete(&self, d: &sqlparser::ast::Delete, from: &[TableWithJoins]) -> Result<Analysis, PlanError> {
        let (source, names): (&[TableWithJoins], Vec<&ObjectName>) = match &d.using {
            Some(using) => (
                using.as_slice(),
                from.iter()
                    .filter_map(|t| match &t.relation {
                        TableFactor::Table { name, .. } => Some(name),
                        _ => None,
                    })
                    .collect(),
            ),
            None => (from, d.tables.iter().collect()),
        };
        let named = self.named_tables(source.iter())?;
        let mut targets: Vec<&Named> = Vec::new();
        for name in names {
            let Some(last) = last_ident(name) else { continue };
            if let Some(n) = named.iter().find(|n| eq_ci(&n.qualifier, last)) {
                if !targets.iter().any(|t| eq_ci(&t.qualifier, &n.qualifier)) {
                    targets.push(n);
                }
            }
        }
        let Some(first) = targets.first() else {
            return Ok(Analysis::Forward);
        };
        if !targets.iter().any(|n| self.involved(n.table)) {
            return Ok(Analysis::Forward);
        }
        let is_parent = |n: &Named| !children(self.schema, self.database, &n.table.name).is_empty();
        if !targets.iter().any(|n| is_parent(n)) {
            // Only child rows go: nothing to cascade, InnoDB has nothing to check.
            return Ok(self.passthrough(first.table));
        }
        // Rows are deleted by key where every target has a primary key; without
        // one, the original runs with checks off after the native run.
        let by_key = targets.iter().all(|n| !n.table.primary_key.is_empty());
        let source_text: Vec<String> = source.iter().map(|t| t.to_string()).collect();
        let tail = match &d.selection {
            Some(w) => format!(" WHERE {}", self.source.expr_text(w)),
            None => String::new(),
        };
        let targets = targets
            .iter()
            .filter(|n| by_key || is_parent(n))
            .map(|n| {
                let keys = self.key_columns(n.table);
                let columns: Vec<String> = keys.iter().map(|k| n.column(k)).collect();
                let read = format!(
                    "SELECT DISTINCT {} FROM {}{tail} FOR UPDATE",
                    columns.join(", "),
                    source_text.join(", ")
                );
                (
                    n.table,
                    Target {
                        table: n.table.name.clone(),
                        event: Event::Delete,
                        read,
                        by_key: by_key.then(|| n.table.primary_key.clone()),
                        parent: is_parent(n),
                    },
                )
            })
            .collect();
        Ok(self.multi_plan(targets))
    }

    /// `UPDATE t1 JOIN t2 ... SET ...`: the tables whose referenced keys the
    /// assignments change are locked and read (old keys, new keys) over the
    /// statement's own join; their update rules apply as for one table.
    fn multi_update(&self, u: &sqlparser::ast::Update) -> Result<Analysis, PlanError> {
        let named = self.named_tables(std::iter::once(&u.table))?;
        let mut assigned: Vec<Vec<(String, &Expr)>> = vec![Vec::new(); named.len()];
        for a in &u.assignments {
            let AssignmentTarget::ColumnName(c) = &a.target else {
                return match named.iter().find(|n| self.involved(n.table)) {
                    Some(n) => Err(self.unsupported("a tuple assignment", &n.table.name)),
                    None => Ok(Analysis::Forward),
                };
            };
            let parts: Vec<&str> =
                c.0.iter()
                    .filter_map(|p| match p {
                        ObjectNamePart::Identifier(i) => Some(i.value.as_str()),
                        _ => None,
                    })
                    .collect();
            let (qualifier, column) = match parts.as_slice() {
                [column] => (None, *column),
                [.., q, column] => (Some(*q), *column),
                [] => return Ok(Analysis::Forward),
            };
            let index = match qualifier {
                Some(q) => named.iter().position(|n| eq_ci(&n.qualifier, q)),
                None => {
                    let owners: Vec<usize> = (0..named.len())
                        .filter(|i| named[*i].table.columns.iter().any(|x| eq_ci(&x.name, column)))
                        .collect();
                    match owners.as_slice() {
                        [one] => Some(*one),
                        _ => None,
                    }
                }
            };
            // A table of another keyspace, or a column MariaDB will refuse: the
            // backend answers.
            let Some(index) = index else {
                return Ok(Analysis::Forward);
            };
            let Some(real) = named[index].table.columns.iter().find(|x| eq_ci(&x.name, column)) else {
                return Ok(Analysis::Forward);
            };
            assigned[index].push((real.name.clone(), &a.value));
        }
        let rekeys = |n: &Named, assigned: &[(String, &Expr)]| {
            children(self.schema, self.database, &n.table.name)
                .iter()
                .any(|(_, fk)| {
                    fk.referenced_columns
                        .iter()
                        .any(|r| assigned.iter().any(|(c, _)| eq_ci(c, r)))
                })
        };
        let tail = match &u.selection {
            Some(w) => format!(" WHERE {}", self.source.expr_text(w)),
            None => String::new(),
        };
        let mut targets = Vec::new();
        for (n, assigned) in named.iter().zip(&assigned) {
            if assigned.is_empty() || !rekeys(n, assigned) {
                continue;
            }
            let keys = self.key_columns(n.table);
            if assigned
                .iter()
                .any(|(c, e)| keys.iter().any(|k| eq_ci(k, c)) && volatile(e))
            {
                // The lock read and the statement would compute different new keys.
                return Ok(self.passthrough(n.table));
            }
            let mut select: Vec<String> = keys.iter().map(|k| n.column(k)).collect();
            for k in &keys {
                if assigned.iter().any(|(c, _)| eq_ci(c, k)) {
                    select.push(self.new_value(k, assigned));
                } else {
                    select.push(n.column(k));
                }
            }
            let read = format!(
                "SELECT DISTINCT {} FROM {}{tail} FOR UPDATE",
                select.join(", "),
                u.table
            );
            targets.push((
                n.table,
                Target {
                    table: n.table.name.clone(),
                    event: Event::Update,
                    read,
                    by_key: None,
                    parent: true,
                },
            ));
        }
        // Two re-keyed tables whose changes meet: a column both change (their own
        // assignments or cascades), or a key one reads that the other changes.
        // MariaDB composes such changes row by row, in its join order, which key
        // sets read up front cannot. InnoDB runs such a statement (exact result;
        // its cascades miss the binlog, see docs/gateway.md). Changes to distinct
        // columns commute: `UPDATE staff JOIN store SET staff.staff_id = ...,
        // store.store_id = ...` is planned.
        type Columns = BTreeSet<(String, String)>;
        let effects: Vec<(Columns, Columns)> = targets
            .iter()
            .map(|(t, _)| {
                let mut changed: Columns = BTreeSet::new();
                let mut keys: Columns = BTreeSet::new();
                if let Some(i) = named.iter().position(|n| n.table.name == t.name) {
                    for (c, _) in &assigned[i] {
                        changed.insert((t.name.clone(), c.to_ascii_lowercase()));
                    }
                }
                for r in self.rules_from(t, Event::Update) {
                    for k in &r.key_columns {
                        keys.insert((r.table.clone(), k.to_ascii_lowercase()));
                    }
                    for a in &r.actions {
                        if matches!(a.kind, ActionKind::Update { .. }) {
                            for c in &a.fk.columns {
                                changed.insert((a.fk.child.clone(), c.to_ascii_lowercase()));
                            }
                        }
                    }
                }
                (changed, keys)
            })
            .collect();
        let overlap = (0..effects.len()).any(|i| {
            (0..effects.len()).any(|j| {
                i != j
                    && (effects[i].0.intersection(&effects[j].0).next().is_some()
                        || effects[i].0.intersection(&effects[j].1).next().is_some())
            })
        });
        if overlap {
            return Ok(self.passthrough(targets[0].0));
        }
        if targets.is_empty() {
            // No referenced key changes: InnoDB checks any FK column written and
            // nothing cascades.
            return Ok(match named.iter().zip(&assigned).find(|(_, a)| !a.is_empty()) {
                Some((n, _)) => self.passthrough(n.table),
                None => Analysis::Forward,
            });
        }
        Ok(self.multi_plan(targets))
    }

    fn update(&self, u: &sqlparser::ast::Update) -> Result<Analysis, PlanError> {
        if u.from.is_some() {
            let relations = std::iter::once(&u.table.relation).chain(u.table.joins.iter().map(|j| &j.relation));
            return self.multi_table(relations, "UPDATE ... FROM");
        }
        if !u.table.joins.is_empty() {
            return self.multi_update(u);
        }
        let relation = &u.table.relation;
        let TableFactor::Table { name, .. } = relation else {
            return Ok(Analysis::Forward);
        };
        let Some(table) = self.table(name)? else {
            return Ok(Analysis::Forward);
        };
        // Assigned columns in order, with their expressions.
        let mut assigned: Vec<(String, &Expr)> = Vec::new();
        for a in &u.assignments {
            match &a.target {
                AssignmentTarget::ColumnName(c) => {
                    let col = last_ident(c).unwrap_or_default().to_string();
                    let Some(real) = table.columns.iter().find(|x| eq_ci(&x.name, &col)) else {
                        // Unknown column: let the backend raise its own error.
                        return Ok(Analysis::Forward);
                    };
                    assigned.push((real.name.clone(), &a.value));
                }
                AssignmentTarget::Tuple(_) => return Err(self.unsupported("a tuple assignment", &table.name)),
            }
        }
        let referenced: BTreeSet<String> = children(self.schema, self.database, &table.name)
            .iter()
            .flat_map(|(_, fk)| fk.referenced_columns.iter().cloned())
            .collect();
        let rekeys = assigned.iter().any(|(c, _)| referenced.iter().any(|r| eq_ci(r, c)));
        if rekeys
            && assigned
                .iter()
                .any(|(c, e)| referenced.iter().any(|r| eq_ci(r, c)) && volatile(e))
        {
            // The lock read and the UPDATE would compute different new keys (RAND(),
            // NEXT VALUE FOR, ...): InnoDB runs it, with its own cascades.
            return Ok(self.passthrough(table));
        }
        // The FKs of this table whose columns the statement assigns: their new
        // values need a parent.
        let assigns = |fk: &ForeignKey| fk.columns.iter().any(|x| assigned.iter().any(|(c, _)| eq_ci(x, c)));
        let writes_own_fk = table.foreign_keys.iter().any(assigns);
        if !rekeys && !writes_own_fk {
            return Ok(self.passthrough(table));
        }
        // A value the lock read and the UPDATE would compute differently (RAND(),
        // NOW(), ...) cannot be checked before: InnoDB checks it.
        let stable = !assigned.iter().any(|(c, e)| {
            table
                .foreign_keys
                .iter()
                .any(|fk| fk.columns.iter().any(|x| eq_ci(x, c)))
                && volatile(e)
        });
        let checks = match self.checkable_fks(table, assigns) {
            Some(fks) if writes_own_fk && stable => Some(self.parent_checks(table, &fks, false, NewRows::Read)),
            _ => None,
        };
        if !rekeys && checks.is_none() {
            // FKs the gateway cannot check (another database): InnoDB checks them.
            return Ok(self.passthrough(table));
        }
        let keys = self.key_columns(table);
        let mut select: Vec<String> = keys.iter().map(|k| ident(k)).collect();
        for k in &keys {
            select.push(self.new_value(k, &assigned));
        }
        if let Some(checks) = &checks {
            select.extend(checks.columns.iter().map(|c| ident(c)));
            select.extend(checks.columns.iter().map(|c| self.new_value(c, &assigned)));
        }
        let read = format!(
            "SELECT {}{}",
            select.join(", "),
            self.tail(relation, u.selection.as_ref(), &u.order_by, u.limit.as_ref())
        );
        let prefix = match table.primary_key.as_slice() {
            [pk] => {
                let sets: Vec<String> = u
                    .assignments
                    .iter()
                    .map(|a| format!("{} = {}", a.target, self.source.expr_text(&a.value)))
                    .collect();
                Some(Template {
                    parts: vec![
                        Part::Text(format!(
                            "UPDATE {relation} SET {} WHERE {} IN (",
                            sets.join(", "),
                            ident(pk)
                        )),
                        Part::Keys,
                        Part::Text(format!(") ORDER BY FIELD({}, ", ident(pk))),
                        Part::Keys,
                        Part::Text(")".into()),
                    ],
                })
            }
            _ => None,
        };
        Ok(Analysis::Plan(Box::new(Plan {
            rules: if rekeys {
                self.rules_from(table, Event::Update)
            } else {
                Vec::new()
            },
            original_fk_checks: writes_own_fk && checks.is_none(),
            parent_checks: checks,
            prefix,
            ..Plan::new(&table.name, Start::Update { read }, &self.original)
        })))
    }

    /// The value column `column` has after the assignments, as an expression over the
    /// old row. MariaDB assigns left to right, so a later assignment sees the new value
    /// of an earlier one: earlier assigned columns are substituted by their expressions.
    fn new_value(&self, column: &str, assigned: &[(String, &Expr)]) -> String {
        let Some(pos) = assigned.iter().rposition(|(c, _)| eq_ci(c, column)) else {
            return ident(column);
        };
        let (_, expr) = assigned[pos];
        let earlier: Vec<(String, Expr)> = assigned[..pos].iter().map(|(c, e)| (c.clone(), (*e).clone())).collect();
        let mentions_earlier = {
            let mut found = false;
            let mut probe = expr.clone();
            let _ = sqlparser::ast::visit_expressions_mut(&mut probe, |e| {
                if let Some(name) = column_ref(e) {
                    if earlier.iter().any(|(c, _)| eq_ci(c, &name)) {
                        found = true;
                    }
                }
                ControlFlow::<()>::Continue(())
            });
            found
        };
        if !mentions_earlier {
            return format!("({})", self.source.expr_text(expr));
        }
        // Substitute innermost-first so chains resolve: each earlier expression is
        // itself expressed over the old row.
        let mut resolved: Vec<(String, Expr)> = Vec::new();
        for (c, e) in &earlier {
            let mut e = e.clone();
            substitute(&mut e, &resolved);
            resolved.push((c.clone(), e));
        }
        let mut e = expr.clone();
        substitute(&mut e, &resolved);
        format!("({e})")
    }

    fn insert(&self, i: &Insert) -> Result<Analysis, PlanError> {
        let TableObject::TableName(name) = &i.table else {
            return Ok(Analysis::Forward);
        };
        let Some(table) = self.table(name)? else {
            return Ok(Analysis::Forward);
        };
        let kids = children(self.schema, self.database, &table.name);
        let has_fks = !table.foreign_keys.is_empty();
        if kids.is_empty() && !has_fks {
            return Ok(self.passthrough(table));
        }
        if !i.assignments.is_empty() && !kids.is_empty() {
            return self.insert_set(i, table);
        }
        if let Some(OnInsert::DuplicateKeyUpdate(assignments)) = &i.on {
            let referenced: BTreeSet<&str> = kids
                .iter()
                .flat_map(|(_, fk)| fk.referenced_columns.iter().map(String::as_str))
                .collect();
            let mut assigned: Vec<(String, &Expr)> = Vec::new();
            for a in assignments {
                let AssignmentTarget::ColumnName(c) = &a.target else {
                    if kids.is_empty() {
                        return Ok(self.passthrough(table));
                    }
                    return Err(self.unsupported("a tuple assignment", &table.name));
                };
                let col = last_ident(c).unwrap_or_default();
                match table.columns.iter().find(|x| eq_ci(&x.name, col)) {
                    Some(real) => assigned.push((real.name.clone(), &a.value)),
                    None => return Ok(Analysis::Forward),
                }
            }
            let rekeys = assigned.iter().any(|(c, _)| referenced.iter().any(|r| eq_ci(r, c)));
            if rekeys
                && assigned
                    .iter()
                    .any(|(c, e)| referenced.iter().any(|r| eq_ci(r, c)) && volatile(e))
            {
                // The lock read and the statement would compute different new keys.
                return Ok(self.passthrough(table));
            }
            // IGNORE: an update that fails (a duplicate key) is skipped with a
            // warning, cascades and all; InnoDB runs it (docs/gateway.md, Limits).
            if i.ignore || (!rekeys && !has_fks) {
                return Ok(self.passthrough(table));
            }
            return self.upsert(i, table, &assigned, rekeys);
        }
        if i.replace_into {
            return self.replace(i, table);
        }
        // A plain INSERT removes no parent row and changes no key: only the new
        // rows' parents need checking.
        match self.values_checks(i, table, false) {
            Some(checks) => Ok(self.checked_only(table, checks)),
            // Rows the planner cannot compute: InnoDB's own check (a read) is
            // exact and writes nothing.
            None => Ok(self.passthrough(table)),
        }
    }

    /// `INSERT / REPLACE ... SET a = 1, ...` into a parent table: planned as the
    /// same statement in its `VALUES` spelling; the client's text is what runs.
    fn insert_set(&self, i: &Insert, table: &'a Table) -> Result<Analysis, PlanError> {
        let columns: Vec<String> = i
            .assignments
            .iter()
            .map(|a| match &a.target {
                AssignmentTarget::ColumnName(c) => last_ident(c).unwrap_or_default().to_string(),
                other => other.to_string(),
            })
            .collect();
        let values: Vec<String> = i.assignments.iter().map(|a| self.source.expr_text(&a.value)).collect();
        let on = match &i.on {
            Some(OnInsert::DuplicateKeyUpdate(sets)) => {
                let sets: Vec<String> = sets
                    .iter()
                    .map(|a| format!("{} = {}", a.target, self.source.expr_text(&a.value)))
                    .collect();
                format!(" ON DUPLICATE KEY UPDATE {}", sets.join(", "))
            }
            _ => String::new(),
        };
        let text = format!(
            "{} {}INTO {} ({}) VALUES ({}){on}",
            if i.replace_into { "REPLACE" } else { "INSERT" },
            if i.ignore { "IGNORE " } else { "" },
            ident(&table.name),
            idents(&columns),
            values.join(", ")
        );
        let parsed =
            Parser::parse_sql(&MySqlDialect {}, &text).map_err(|e| PlanError::Parse(format!("{e}: {text}")))?;
        let [statement] = parsed.as_slice() else {
            return Err(self.unsupported("this INSERT ... SET", &table.name));
        };
        let planner = Planner {
            schema: self.schema,
            database: self.database,
            source: Source::new(&text),
            original: self.original.clone(),
        };
        planner.statement(statement)
    }

    /// A plan whose only work is checking the parents of the rows written.
    fn checked_only(&self, table: &Table, checks: ParentChecks) -> Analysis {
        Analysis::Plan(Box::new(Plan {
            parent_checks: Some(checks),
            ..Plan::new(&table.name, Start::Nothing, &self.original)
        }))
    }

    /// The FKs of `table` that `wanted` picks, when the gateway can check all of
    /// them (each points at a table of this database the schema knows).
    fn checkable_fks(&self, table: &'a Table, wanted: impl Fn(&ForeignKey) -> bool) -> Option<Vec<&'a ForeignKey>> {
        let mut out = Vec::new();
        for fk in table.foreign_keys.iter().filter(|fk| wanted(fk)) {
            if fk.referenced_schema.as_deref().is_some_and(|s| s != self.database) {
                return None;
            }
            if !self.schema.tables.iter().any(|t| t.name == fk.referenced_table) {
                return None;
            }
            out.push(fk);
        }
        Some(out)
    }

    /// The parent checks of `fks` (FKs of `table`). With `own`, the columns also
    /// carry what self-references point at, so rows the statement inserts count as
    /// parents of its later rows (and of themselves, as in InnoDB, which checks a
    /// row's FKs after writing its clustered record).
    fn parent_checks(&self, table: &Table, fks: &[&ForeignKey], own: bool, rows: NewRows) -> ParentChecks {
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
                    numeric,
                    keys_only,
                    probe,
                    error: message::no_referenced_row(self.database, &table.name, fk),
                }
            })
            .collect();
        ParentChecks { columns, rows, checks }
    }

    /// Parent checks for the rows of an INSERT / REPLACE ... VALUES (only one row
    /// with `single`): `None` when the rows cannot be computed before the statement
    /// runs (a SELECT source, IGNORE, values that are expressions), so InnoDB's own
    /// check must stay on.
    fn values_checks(&self, i: &Insert, table: &'a Table, single: bool) -> Option<ParentChecks> {
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
            let mut out = Vec::new();
            for c in &i.columns {
                let name = last_ident(c).unwrap_or_default();
                out.push(table.columns.iter().find(|x| eq_ci(&x.name, name))?.name.clone());
            }
            out
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
    fn literal_text(&self, e: &Expr) -> Option<String> {
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
            _ => false,
        };
        ok.then(|| self.source.expr_text(e))
    }

    /// The rows of a VALUES source and the column each value goes to.
    fn values<'i>(&self, i: &'i Insert, table: &Table, what: &str) -> Result<Option<InsertRows<'i>>, PlanError> {
        let rows = match i.source.as_deref().map(|q| q.body.as_ref()) {
            Some(SetExpr::Values(v)) => &v.rows,
            _ => return Err(self.unsupported(&format!("{what} ... SELECT / SET"), &table.name)),
        };
        let columns: Vec<String> = if i.columns.is_empty() {
            table.columns.iter().map(|c| c.name.clone()).collect()
        } else {
            let mut out = Vec::new();
            for c in &i.columns {
                let name = last_ident(c).unwrap_or_default();
                match table.columns.iter().find(|x| eq_ci(&x.name, name)) {
                    Some(col) => out.push(col.name.clone()),
                    None => return Ok(None),
                }
            }
            out
        };
        Ok(Some((columns, rows.as_slice())))
    }

    /// The primary key and unique keys of `table`, each with the name InnoDB gives
    /// its index.
    fn unique_indexes(table: &Table) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        if !table.primary_key.is_empty() {
            out.push(("PRIMARY".to_string(), table.primary_key.clone()));
        }
        out.extend(table.unique_keys.iter().map(|u| (u.name.clone(), u.columns.clone())));
        out
    }

    /// The existing rows the new rows clash with on the primary key or a unique
    /// key: per key, the new rows' values as the `IN` list items of that key;
    /// `Err` when a value is one the server might store differently from how a
    /// `WHERE` compares it (see [`Planner::key_value`]): only InnoDB knows then.
    fn clashes(&self, table: &Table, columns: &[String], rows: &[ValuesRow]) -> Result<Vec<KeyClash>, Undecided> {
        let mut out = Vec::new();
        for (name, key) in Self::unique_indexes(table) {
            let mut tuples = Vec::new();
            for row in rows {
                let mut tuple = Vec::new();
                let mut never = false;
                let mut unknown = false;
                for k in &key {
                    let value = match columns.iter().position(|c| eq_ci(c, k)) {
                        Some(p) => match row.content.get(p) {
                            Some(e) => self.key_value(table, k, Some(e)),
                            None => KeyPart::Unknown,
                        },
                        None => self.key_value(table, k, None),
                    };
                    match value {
                        KeyPart::Value(v) => tuple.push(v),
                        KeyPart::Never => never = true,
                        KeyPart::Unknown => unknown = true,
                    }
                }
                if never {
                    // A NULL or a new auto-increment value clashes with no row.
                    continue;
                }
                if unknown {
                    return Err(Undecided);
                }
                tuples.push(if tuple.len() == 1 {
                    tuple.remove(0)
                } else {
                    format!("({})", tuple.join(", "))
                });
            }
            if !tuples.is_empty() {
                out.push(KeyClash {
                    index: name,
                    row: row_of(&key),
                    tuples,
                });
            }
        }
        Ok(out)
    }

    /// What a new row stores in key column `column` of `table`, from its `VALUES`
    /// expression (`None`: the column is not named), as an SQL literal a `WHERE`
    /// compares exactly as the unique index does: integers into integer columns,
    /// strings no longer than the column into CHAR / VARCHAR columns (the index and
    /// the `WHERE` share the column's collation). Anything the server would convert
    /// (a number into a text column, 2.5 into an integer, a string it would
    /// truncate, an expression) is [`KeyPart::Unknown`].
    fn key_value(&self, table: &Table, column: &str, e: Option<&Expr>) -> KeyPart {
        let Some(c) = table.columns.iter().find(|x| eq_ci(&x.name, column)) else {
            return KeyPart::Unknown;
        };
        if c.generated.is_some() {
            return KeyPart::Unknown;
        }
        let (literal, text) = match e.filter(|e| !is_default(e)) {
            Some(e) => (Literal::of(e), self.source.expr_text(e)),
            // The next auto-increment value is a new one.
            None if c.identity.is_some() => return KeyPart::Never,
            None => match &c.default {
                Some(d) => (Literal::of_default(d), d.clone()),
                None if c.nullable => return KeyPart::Never,
                None => return KeyPart::Unknown,
            },
        };
        match (literal, &c.normalized_type) {
            // NULL into a NOT NULL column: an error in strict mode, the implicit
            // default (which may clash) otherwise.
            (Literal::Null, _) if !c.nullable && c.identity.is_none() => KeyPart::Unknown,
            (Literal::Null, _) => KeyPart::Never,
            // A prepared statement is planned again with its parameters inlined.
            (Literal::Placeholder, _) => KeyPart::Value(text),
            // 0 into an auto-increment column: a new value, or 0 itself under
            // NO_AUTO_VALUE_ON_ZERO.
            (Literal::Integer(n), DataType::Int { .. } | DataType::Boolean)
                if c.identity.is_some() && n.trim_start_matches(['-', '0']).is_empty() =>
            {
                KeyPart::Unknown
            }
            // Out of the column's range: an error in strict mode, the nearest value
            // (which may clash) otherwise.
            (Literal::Integer(n), t) if !fits(&n, t) => KeyPart::Unknown,
            (Literal::Integer(n), DataType::Int { .. } | DataType::Boolean) => KeyPart::Value(n),
            (Literal::Text(t), ty @ (DataType::Int { .. } | DataType::Boolean))
                if is_integer(&t) && fits(&t, ty) && c.identity.is_none() =>
            {
                KeyPart::Value(text)
            }
            (Literal::Text(t), DataType::Char { length: Some(n) } | DataType::Varchar { length: Some(n) })
                if t.chars().count() <= *n as usize =>
            {
                KeyPart::Value(text)
            }
            _ => KeyPart::Unknown,
        }
    }

    /// REPLACE deletes every existing row that clashes on the primary key or a unique
    /// key with a new row (InnoDB then runs ON DELETE actions), then inserts.
    fn replace(&self, i: &Insert, table: &'a Table) -> Result<Analysis, PlanError> {
        // A row's parents are checked after its deletes and their cascades, as
        // InnoDB does. Several rows into a table of an FK cycle: a later row's
        // delete could cascade to an earlier row just written, or to the parent of
        // one, which only InnoDB sees row by row; it keeps its checks. Outside a
        // cycle the deletes reach neither the new rows nor their parents.
        let checks = self.values_checks(i, table, self.in_cycle(&table.name));
        let fallback = |checks: Option<ParentChecks>| match checks {
            Some(c) => self.checked_only(table, c),
            None => self.passthrough(table),
        };
        if children(self.schema, self.database, &table.name).is_empty() {
            // Its rows are nobody's parents: the deletes need no work.
            return Ok(fallback(checks));
        }
        if !matches!(i.source.as_deref().map(|q| q.body.as_ref()), Some(SetExpr::Values(_))) {
            return self.replace_select(i, table);
        }
        let Some((columns, rows)) = self.values(i, table, "REPLACE")? else {
            return Ok(Analysis::Forward);
        };
        let Ok(clashes) = self.clashes(table, &columns, rows) else {
            // Only InnoDB knows which rows go: it runs the statement, with its
            // checks and cascades (docs/gateway.md, Limits).
            return Ok(self.passthrough(table));
        };
        if clashes.is_empty() {
            return Ok(fallback(checks));
        }
        let condition: Vec<String> = clashes.iter().map(KeyClash::condition).collect();
        let keys = self.key_columns(table);
        let read = format!(
            "SELECT {} FROM {} WHERE {} FOR UPDATE",
            idents(&keys),
            ident(&table.name),
            condition.join(" OR ")
        );
        Ok(Analysis::Plan(Box::new(Plan {
            rules: self.rules_from(table, Event::Delete),
            // InnoDB's checks stay on for the original (it runs last): every row
            // it deletes was read and its children handled, so its cascades find
            // nothing; should one have been missed, InnoDB takes its children
            // rather than leaving orphans.
            original_fk_checks: true,
            parent_checks: checks,
            clash: self.clash(table, Vec::new()),
            allocates: allocates(table, &columns, Some(rows)) || must_run_once(&self.original),
            ..Plan::new(&table.name, Start::Delete { read }, &self.original)
        })))
    }

    /// The [`Clash`] of a statement writing `table`; `flags` as the read has them.
    /// `None` when there is nothing to pick and nothing to check: no flags, and
    /// integer columns only (no prefix, hash or collation to compare otherwise).
    fn clash(&self, table: &Table, flags: Vec<String>) -> Option<Clash> {
        let indexes = Self::unique_indexes(table);
        let integers = indexes.iter().flat_map(|(_, columns)| columns).all(|c| {
            table
                .columns
                .iter()
                .find(|x| eq_ci(&x.name, c))
                .is_some_and(|x| matches!(x.normalized_type, DataType::Int { .. } | DataType::Boolean))
        });
        if flags.is_empty() && integers {
            return None;
        }
        Some(Clash {
            indexes: indexes.into_iter().map(|(n, _)| n).collect(),
            flags,
        })
    }

    /// `REPLACE ... SELECT` into a table with children: the SELECT's rows are read
    /// first, then the existing rows they clash with on the primary key or a
    /// unique key are the rows deleted. Its outcome comes from a native run.
    fn replace_select(&self, i: &Insert, table: &'a Table) -> Result<Analysis, PlanError> {
        let Some(query) = i.source.as_deref() else {
            return Err(self.unsupported("REPLACE ... SET", &table.name));
        };
        if must_run_once(&self.original) {
            // Reading the SELECT first would advance its sequences once more.
            return Ok(self.passthrough(table));
        }
        let columns: Vec<String> = if i.columns.is_empty() {
            table
                .columns
                .iter()
                .filter(|c| c.generated.is_none())
                .map(|c| c.name.clone())
                .collect()
        } else {
            let mut out = Vec::new();
            for c in &i.columns {
                let name = last_ident(c).unwrap_or_default();
                match table.columns.iter().find(|x| eq_ci(&x.name, name)) {
                    Some(col) => out.push(col.name.clone()),
                    None => return Ok(Analysis::Forward),
                }
            }
            out
        };
        let mut unique: Vec<Vec<String>> = Vec::new();
        if !table.primary_key.is_empty() {
            unique.push(table.primary_key.clone());
        }
        unique.extend(table.unique_keys.iter().map(|u| u.columns.clone()));
        let mut keys = Vec::new();
        'key: for key in unique {
            let mut values = Vec::new();
            for k in &key {
                match columns.iter().position(|c| eq_ci(c, k)) {
                    Some(p) => values.push(KeyValue::Column(p)),
                    None => match column_default(table, k) {
                        Some(d) if !d.eq_ignore_ascii_case("null") => values.push(KeyValue::Default(d)),
                        // NULL never clashes; an auto-increment value is new.
                        _ => continue 'key,
                    },
                }
            }
            keys.push((key, values));
        }
        let text = self
            .source
            .rest_from(query.span())
            .map(str::to_string)
            .unwrap_or_else(|| query.to_string());
        let read = format!(
            "SELECT {} FROM {} WHERE ",
            idents(&self.key_columns(table)),
            ident(&table.name)
        );
        // A native run would take auto-increment values a rollback does not give
        // back: then the plan checks itself and InnoDB checks the new rows.
        let native_first = !allocates(table, &columns, None) && !must_run_once(&self.original);
        let start = Start::ReplaceSelect(ReplaceSource {
            query: text,
            keys,
            read,
        });
        Ok(Analysis::Plan(Box::new(Plan {
            rules: self.rules_from(table, Event::Delete),
            // With InnoDB's checks on, a clashing row the read could not find (a
            // prefix index, a value the insert converts) still takes its children
            // with it, by InnoDB's own cascade: never an orphan.
            original_fk_checks: true,
            native_first,
            ..Plan::new(&table.name, start, &self.original)
        })))
    }

    /// ON DUPLICATE KEY UPDATE of several rows that may change a referenced key:
    /// MariaDB takes the rows one by one (a row may clash with one an earlier row
    /// inserted or updated), so each row becomes a one-row statement planned as
    /// such, run in order; the outcome comes from a native run.
    fn upsert_rows(
        &self,
        i: &Insert,
        table: &'a Table,
        columns: &[String],
        rows: &[ValuesRow],
    ) -> Result<Analysis, PlanError> {
        let Some(OnInsert::DuplicateKeyUpdate(assignments)) = &i.on else {
            return Ok(self.passthrough(table));
        };
        // NULL into a NOT NULL column: outside strict mode a warning (the implicit
        // default) in a multi-row statement, an error in its one-row steps.
        let null_into_not_null = rows.iter().any(|r| {
            r.content.iter().zip(columns).any(|(e, c)| {
                matches!(Literal::of(e), Literal::Null)
                    && table
                        .columns
                        .iter()
                        .any(|x| eq_ci(&x.name, c) && !x.nullable && x.identity.is_none())
            })
        });
        if allocates(table, columns, Some(rows)) || must_run_once(&self.original) || null_into_not_null {
            // The native run would take auto-increment values a rollback does not
            // give back: InnoDB runs it (docs/gateway.md, Limits).
            return Ok(self.passthrough(table));
        }
        let sets: Vec<String> = assignments
            .iter()
            .map(|a| format!("{} = {}", a.target, self.source.expr_text(&a.value)))
            .collect();
        let column_list = if i.columns.is_empty() {
            String::new()
        } else {
            format!(" ({})", idents(columns))
        };
        let mut steps = Vec::new();
        for row in rows {
            let values: Vec<String> = row.content.iter().map(|e| self.source.expr_text(e)).collect();
            let text = format!(
                "INSERT {}INTO {}{column_list} VALUES ({}) ON DUPLICATE KEY UPDATE {}",
                if i.ignore { "IGNORE " } else { "" },
                ident(&table.name),
                values.join(", "),
                sets.join(", ")
            );
            let parsed =
                Parser::parse_sql(&MySqlDialect {}, &text).map_err(|e| PlanError::Parse(format!("{e}: {text}")))?;
            let [statement] = parsed.as_slice() else {
                return Err(self.unsupported("this ON DUPLICATE KEY UPDATE", &table.name));
            };
            let planner = Planner {
                schema: self.schema,
                database: self.database,
                source: Source::new(&text),
                original: text.clone(),
            };
            match planner.statement(statement)? {
                Analysis::Plan(p) => steps.push(*p),
                Analysis::Forward => steps.push(Plan {
                    original_fk_checks: true,
                    ..Plan::new(&table.name, Start::Nothing, &text)
                }),
            }
        }
        Ok(Analysis::Plan(Box::new(Plan {
            native_first: true,
            steps,
            ..Plan::new(&table.name, Start::Nothing, &self.original)
        })))
    }

    /// INSERT ... ON DUPLICATE KEY UPDATE of one row: the clashing row is read with
    /// its new values (`VALUES(col)` meaning the new row's value) when the update
    /// may change a referenced key (`rekeys`) or an FK column; without a clash the
    /// row is inserted and its FKs are checked.
    fn upsert(
        &self,
        i: &Insert,
        table: &'a Table,
        assigned: &[(String, &Expr)],
        rekeys: bool,
    ) -> Result<Analysis, PlanError> {
        let fk_column = |c: &str| {
            table
                .foreign_keys
                .iter()
                .any(|fk| fk.columns.iter().any(|x| eq_ci(x, c)))
        };
        let checks = self
            .values_checks(i, table, true)
            .filter(|_| !assigned.iter().any(|(c, e)| fk_column(c) && volatile(e)));
        if !rekeys && checks.is_none() {
            // Several rows, a SELECT source, expressions, volatile functions: InnoDB
            // checks them.
            return Ok(self.passthrough(table));
        }
        if !matches!(i.source.as_deref().map(|q| q.body.as_ref()), Some(SetExpr::Values(_))) {
            // INSERT ... SELECT ... ON DUPLICATE KEY UPDATE of a referenced key:
            // InnoDB runs it, with its own cascades (docs/gateway.md, Limits).
            return Ok(self.passthrough(table));
        }
        let Some((columns, rows)) = self.values(i, table, "INSERT ... ON DUPLICATE KEY UPDATE")? else {
            return Ok(Analysis::Forward);
        };
        if rows.len() != 1 {
            return self.upsert_rows(i, table, &columns, rows);
        }
        let Ok(clashes) = self.clashes(table, &columns, rows) else {
            // Which row InnoDB updates only InnoDB knows: it runs the statement,
            // with its checks and cascades (docs/gateway.md, Limits).
            return Ok(self.passthrough(table));
        };
        if clashes.is_empty() {
            // Nothing can clash: a plain insert.
            return Ok(match checks {
                Some(c) => self.checked_only(table, c),
                None => self.passthrough(table),
            });
        }
        let condition: Vec<String> = clashes.iter().map(KeyClash::condition).collect();
        // VALUES(col) is the new row's value of col.
        let row = &rows[0].content;
        let by_values: Vec<(String, Expr)> = columns
            .iter()
            .zip(row.iter())
            .map(|(c, e)| (c.clone(), e.clone()))
            .collect();
        let mut resolved: Vec<(String, Expr)> = Vec::new();
        for (c, e) in assigned {
            let mut e = (*e).clone();
            if !substitute_values(&mut e, &by_values) {
                return Ok(self.passthrough(table));
            }
            substitute(&mut e, &resolved);
            resolved.push((c.clone(), e));
        }
        let new_value = |k: &String| match resolved.iter().rev().find(|(c, _)| eq_ci(c, k)) {
            Some((_, e)) => format!("({e})"),
            None => ident(k),
        };
        let keys = self.key_columns(table);
        let mut select: Vec<String> = keys.iter().map(|k| ident(k)).collect();
        select.extend(keys.iter().map(new_value));
        let checks = checks.map(|mut c| {
            select.extend(c.columns.iter().map(|k| ident(k)));
            select.extend(c.columns.iter().map(new_value));
            if let NewRows::Values(mut v) = std::mem::replace(&mut c.rows, NewRows::Read) {
                c.rows = NewRows::ReadOrValues(v.pop().unwrap_or_default());
            }
            c
        });
        // Every row the new row clashes with, and on which index: the executor
        // keeps the one InnoDB updates (see `Clash::flags`). On one index it
        // clashes with one row at most.
        let clashes = if clashes.len() > 1 { clashes } else { Vec::new() };
        select.extend(clashes.iter().map(|c| format!("COALESCE({}, 0)", c.condition())));
        let read = format!(
            "SELECT {} FROM {} WHERE {} FOR UPDATE",
            select.join(", "),
            ident(&table.name),
            condition.join(" OR ")
        );
        let flags = clashes.into_iter().map(|c| c.index).collect();
        Ok(Analysis::Plan(Box::new(Plan {
            rules: if rekeys {
                self.rules_from(table, Event::Update)
            } else {
                Vec::new()
            },
            original_fk_checks: !table.foreign_keys.is_empty() && checks.is_none(),
            parent_checks: checks,
            clash: self.clash(table, flags),
            allocates: allocates(table, &columns, Some(rows)) || must_run_once(&self.original),
            ..Plan::new(&table.name, Start::Update { read }, &self.original)
        })))
    }

    /// True when `table` can reach itself through parent -> child FK edges (a
    /// self-reference or a longer cycle).
    fn in_cycle(&self, table: &str) -> bool {
        let mut seen: HashSet<String> = HashSet::new();
        let mut todo: Vec<String> = vec![table.to_string()];
        while let Some(t) = todo.pop() {
            for (child, _) in children(self.schema, self.database, &t) {
                if child.name == table {
                    return true;
                }
                if seen.insert(child.name.clone()) {
                    todo.push(child.name.clone());
                }
            }
        }
        false
    }

    /// Primary key, then every other column some FK references.
    fn key_columns(&self, table: &Table) -> Vec<String> {
        let mut keys = table.primary_key.clone();
        for (_, fk) in children(self.schema, self.database, &table.name) {
            for c in &fk.referenced_columns {
                if !keys.iter().any(|k| eq_ci(k, c)) {
                    keys.push(c.clone());
                }
            }
        }
        keys
    }

    /// The rules for `event` on `start`, and for everything they reach.
    fn rules_from(&self, start: &Table, event: Event) -> Vec<Rules> {
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
            out.push(Rules {
                table: name,
                event,
                pk_len: table.primary_key.len(),
                key_columns,
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
    fn action(
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
            let mut t = where_keys(format!("SELECT {} FROM {child_name}", idents(&cols)));
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
                    where_keys(format!("SELECT {} FROM {child_name}", idents(&cols)))
                } else {
                    where_keys(format!("SELECT DISTINCT {} FROM {child_name}", idents(&fk.columns)))
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
            },
            next,
        )
    }
}

/// `, ts = ts` for each TIMESTAMP / DATETIME column of `table` outside `changed`:
/// an explicit UPDATE would give those with ON UPDATE CURRENT_TIMESTAMP a new
/// value, which InnoDB's own cascades never do; assigning a column its own value
/// keeps it.
fn keep_timestamps(table: &Table, changed: &[String]) -> String {
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

/// True when `e` calls a function whose value changes between two evaluations
/// (the lock read and the statement itself).
fn volatile(e: &Expr) -> bool {
    const VOLATILE: &[&str] = &[
        "rand",
        "uuid",
        "uuid_short",
        "sys_guid",
        "sysdate",
        "now",
        "current_timestamp",
        "localtime",
        "localtimestamp",
        "unix_timestamp",
        "utc_timestamp",
        "curdate",
        "current_date",
        "curtime",
        "current_time",
        "last_insert_id",
        "row_count",
        "found_rows",
        "nextval",
        "lastval",
        "setval",
        "get_lock",
        "release_lock",
        "sleep",
        "benchmark",
    ];
    let mut found = false;
    let mut probe = e.clone();
    let _ = sqlparser::ast::visit_expressions_mut(&mut probe, |x| {
        match x {
            Expr::Function(f) => {
                let name = f.name.to_string().to_ascii_lowercase();
                if VOLATILE.contains(&name.as_str()) {
                    found = true;
                }
            }
            Expr::Identifier(i) if VOLATILE.contains(&i.value.to_ascii_lowercase().as_str()) => found = true,
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    found || e.to_string().contains('@') || e.to_string().to_ascii_lowercase().contains("next value for")
}

fn column_ref(e: &Expr) -> Option<String> {
    match e {
        Expr::Identifier(i) => Some(i.value.clone()),
        Expr::CompoundIdentifier(parts) => parts.last().map(|i| i.value.clone()),
        _ => None,
    }
}

fn substitute(e: &mut Expr, by: &[(String, Expr)]) {
    let _ = sqlparser::ast::visit_expressions_mut(e, |x| {
        if let Some(name) = column_ref(x) {
            if let Some((_, replacement)) = by.iter().rev().find(|(c, _)| eq_ci(c, &name)) {
                *x = Expr::Nested(Box::new(replacement.clone()));
            }
        }
        ControlFlow::<()>::Continue(())
    });
}

/// Replaces `VALUES(col)` by the new row's expression for `col`.
/// `VALUE(col)` too (MariaDB's synonym). False when one names a column the new row
/// does not give (its value would be the column's default, which a SELECT's
/// `VALUES()` does not know: it returns NULL).
fn substitute_values(e: &mut Expr, by: &[(String, Expr)]) -> bool {
    let mut all = true;
    let _ = sqlparser::ast::visit_expressions_mut(e, |x| {
        if let Expr::Function(f) = x {
            let name = f.name.to_string();
            if name.eq_ignore_ascii_case("values") || name.eq_ignore_ascii_case("value") {
                let arg = f.args.to_string();
                let col = arg.trim_matches(|c| c == '(' || c == ')' || c == '`' || c == ' ');
                match by.iter().find(|(c, _)| eq_ci(c, col)) {
                    Some((_, replacement)) => *x = Expr::Nested(Box::new(replacement.clone())),
                    None => all = false,
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    all
}

/// Whether `sql` changes what a rollback does not give back, other than
/// auto-increment values: a SEQUENCE's next value, `LAST_INSERT_ID(expr)` (which
/// may read its own last value). Such a statement must run once.
fn must_run_once(sql: &str) -> bool {
    let lower: String = sql.to_ascii_lowercase().split_whitespace().collect();
    ["nextval", "nextvaluefor", "setval", "lastval"]
        .iter()
        .any(|w| lower.contains(w))
        || lower
            .match_indices("last_insert_id(")
            .any(|(i, m)| !lower[i + m.len()..].starts_with(')'))
}

/// Whether writing `rows` (`None`: from a SELECT) into `columns` of `table` may
/// take new auto-increment values: the column is left out, or a row gives it
/// something other than a positive number.
fn allocates(table: &Table, columns: &[String], rows: Option<&[ValuesRow]>) -> bool {
    let Some(auto) = table.columns.iter().find(|c| c.identity.is_some()) else {
        return false;
    };
    let Some(p) = columns.iter().position(|c| eq_ci(c, &auto.name)) else {
        return true;
    };
    rows.is_some_and(|rows| {
        rows.iter().any(|r| match r.content.get(p) {
            Some(Expr::Value(v)) => match &v.value {
                Value::Number(n, _) => n.trim_start_matches('0').is_empty() || n.starts_with('-'),
                Value::SingleQuotedString(t) => t.trim().parse::<i64>().map_or(true, |n| n <= 0),
                _ => true,
            },
            _ => true,
        })
    })
}

fn is_default(e: &Expr) -> bool {
    matches!(e, Expr::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default"))
}

/// A column's default as an SQL literal; `None` for auto-increment and generated
/// columns (their value is not known before the insert).
fn column_default(table: &Table, column: &str) -> Option<String> {
    let c = table.columns.iter().find(|c| eq_ci(&c.name, column))?;
    if c.identity.is_some() || c.generated.is_some() {
        return None;
    }
    match &c.default {
        Some(d) => Some(d.clone()),
        None if c.nullable => Some("NULL".into()),
        None => None,
    }
}
