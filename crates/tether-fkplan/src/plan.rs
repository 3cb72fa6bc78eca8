//! A plan is data: the statements a managed keyspace runs for one DML statement, in
//! order, with holes for the key values that earlier reads return. The gateway fills
//! the holes and runs the statements; it never decides anything a plan does not say.

use std::fmt;

use crate::message::FkError;

/// Which kind of change reaches a table's rows, and so which FK actions apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Event {
    Delete,
    Update,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Event::Delete => "delete",
            Event::Update => "update",
        })
    }
}

/// A piece of SQL text with holes filled at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    /// The distinct old key tuples of the parent rows, as an `IN` list body:
    /// `1, 2` or `(1, 'a'), (2, 'b')`.
    Keys,
    /// `CASE` mapping the old key tuple to the new value of FK column number `n`.
    NewValue(usize),
}

impl Template {
    pub fn text(&self) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Keys => out.push_str("<keys>"),
                Part::NewValue(n) => out.push_str(&format!("<new value {}>", n + 1)),
            }
        }
        out
    }

    /// Fills the holes: `keys` are the distinct old tuples (already rendered as SQL
    /// literals), `new_values[i]` the new tuple of `keys[i]` (for `NewValue`).
    pub fn render(&self, fk_columns: &[String], keys: &[Vec<String>], new_values: &[Vec<String>]) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Keys => push_keys(&mut out, keys),
                Part::NewValue(n) => push_case(&mut out, fk_columns, *n, keys, new_values),
            }
        }
        out
    }
}

fn push_tuple(out: &mut String, tuple: &[String]) {
    if tuple.len() == 1 {
        out.push_str(&tuple[0]);
    } else {
        out.push('(');
        out.push_str(&tuple.join(", "));
        out.push(')');
    }
}

fn push_keys(out: &mut String, keys: &[Vec<String>]) {
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_tuple(out, k);
    }
}

fn push_case(out: &mut String, fk_columns: &[String], n: usize, keys: &[Vec<String>], new_values: &[Vec<String>]) {
    let column = crate::sql::ident(&fk_columns[n]);
    if fk_columns.len() == 1 {
        out.push_str(&format!("CASE {column}"));
        for (k, v) in keys.iter().zip(new_values) {
            out.push_str(&format!(" WHEN {} THEN {}", k[0], v[n]));
        }
    } else {
        let row = crate::sql::row_of(fk_columns);
        out.push_str("CASE");
        for (k, v) in keys.iter().zip(new_values) {
            out.push_str(&format!(" WHEN {row} = "));
            push_tuple(out, k);
            out.push_str(&format!(" THEN {}", v[n]));
        }
    }
    out.push_str(&format!(" ELSE {column} END"));
}

/// One foreign key as the executor needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FkRef {
    pub name: String,
    pub child: String,
    pub columns: Vec<String>,
    pub parent: String,
    pub referenced_columns: Vec<String>,
    /// Where the referenced columns sit in the parent rows' key columns.
    pub parent_positions: Vec<usize>,
}

/// What a child FK does when its parent rows are deleted or their keys change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionKind {
    /// RESTRICT / NO ACTION (or a cascade InnoDB refuses): fail when the probe
    /// returns a row.
    Refuse {
        probe: Template,
        error: FkError,
        why: &'static str,
    },
    /// ON DELETE CASCADE: delete the child rows.
    Delete { statement: Template },
    /// SET NULL / SET DEFAULT / ON UPDATE CASCADE: change the child rows' FK columns.
    /// `new` says what each FK column becomes.
    Update { statement: Template, new: NewChildValue },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewChildValue {
    Null,
    /// The columns' defaults, as SQL literals.
    Default(Vec<String>),
    /// The parent's new key.
    Cascade,
}

/// One action of one child FK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub fk: FkRef,
    pub kind: ActionKind,
    /// Reads the affected child rows (their key columns, in the child's rule order)
    /// when the change goes on to the child's own children; `None` when it stops here.
    pub read: Option<Template>,
    /// Error raised when this action would cascade deeper than InnoDB allows.
    pub too_deep: FkError,
    /// Error raised when this action updates child rows of a table an earlier step of
    /// the same cascade chain updates (InnoDB refuses that with 1451).
    pub same_table_update: FkError,
}

/// Everything that happens when rows of `table` see `event`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub table: String,
    pub event: Event,
    /// The columns every row of this table carries through the plan: the primary key,
    /// then every column some FK references.
    pub key_columns: Vec<String>,
    /// How many of `key_columns` are the primary key (the identity of a row).
    pub pk_len: usize,
    pub actions: Vec<Action>,
}

/// How the plan finds the rows the statement itself changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// No parent-side work: only the original statement runs.
    Nothing,
    /// `SELECT key columns ... FOR UPDATE` of the rows the statement removes.
    Delete { read: String },
    /// `SELECT key columns, then their new values ... FOR UPDATE`.
    Update { read: String },
}

/// The ordered plan for one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The table the statement writes.
    pub table: String,
    pub start: Start,
    /// Rules by (table, event), reachable from the start.
    pub rules: Vec<Rules>,
    /// The statement as the client sent it.
    pub original: String,
    /// Whether the original runs with the backend's FK checks on. They are on when it
    /// writes FK columns of its own table (InnoDB then verifies parent existence
    /// row by row, which writes nothing); off when all FK work is the plan's.
    pub original_fk_checks: bool,
    /// For an UPDATE: the same assignments applied to the first rows of the
    /// statement only, in the order the lock read returned them (`<keys>` are their
    /// primary keys). When the plan finds an FK error at row N, the gateway runs this
    /// over rows before N (then rolls it back) so an error MariaDB would hit earlier
    /// in its row-by-row scan (a duplicate key, say) wins, as it does natively.
    pub prefix: Option<Template>,
}

impl Plan {
    pub fn rules_for(&self, table: &str, event: Event) -> Option<&Rules> {
        self.rules.iter().find(|r| r.table == table && r.event == event)
    }

    /// True when the statement needs no work beyond running it.
    pub fn is_passthrough(&self) -> bool {
        matches!(self.start, Start::Nothing)
    }
}

impl fmt::Display for Plan {
    /// The EXPLAIN FK listing: numbered steps, then the rules the steps apply.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut n = 0;
        let mut step = |f: &mut fmt::Formatter<'_>, text: String| {
            n += 1;
            writeln!(f, "{n}. {text}")
        };
        let wrapped = !self.is_passthrough();
        if wrapped {
            step(f, "BEGIN (or SAVEPOINT inside a transaction)".into())?;
        }
        match &self.start {
            Start::Nothing => {}
            Start::Delete { read } => {
                step(f, format!("lock and read rows deleted from `{}`: {read}", self.table))?;
                step(f, format!("apply `{}` on delete rules to them (below)", self.table))?;
            }
            Start::Update { read } => {
                step(f, format!("lock and read old and new keys of `{}`: {read}", self.table))?;
                step(
                    f,
                    format!("apply `{}` on update rules to changed keys (below)", self.table),
                )?;
            }
        }
        if !wrapped {
            step(
                f,
                format!(
                    "run unchanged (backend FK checks as the session has them): {}",
                    self.original
                ),
            )?;
        } else if self.original_fk_checks {
            step(f, "all checks passed: SET foreign_key_checks = 0; the child statements in rule order; SET foreign_key_checks = 1".into())?;
            step(
                f,
                format!(
                    "{} (InnoDB checks its parent rows; nothing left to cascade)",
                    self.original
                ),
            )?;
        } else {
            step(
                f,
                format!("all checks passed: SET foreign_key_checks = 0; {}", self.original),
            )?;
            step(
                f,
                "the child statements in rule order; SET foreign_key_checks = 1".into(),
            )?;
        }
        if wrapped {
            step(
                f,
                "COMMIT (or RELEASE SAVEPOINT); on any error ROLLBACK (TO SAVEPOINT)".into(),
            )?;
        }
        for r in &self.rules {
            writeln!(f)?;
            writeln!(
                f,
                "on {} of `{}` (rows carry {}):",
                r.event,
                r.table,
                crate::sql::idents(&r.key_columns)
            )?;
            for a in &r.actions {
                let fk = &a.fk;
                let head = format!("  {}.{} ({})", fk.child, fk.name, crate::sql::idents(&fk.columns));
                match &a.kind {
                    ActionKind::Refuse { probe, error, why } => writeln!(
                        f,
                        "{head} {why}: check {} -> error {} if a row",
                        probe.text(),
                        error.code
                    )?,
                    ActionKind::Delete { statement } => writeln!(f, "{head} CASCADE: {}", statement.text())?,
                    ActionKind::Update { statement, new } => {
                        let what = match new {
                            NewChildValue::Null => "SET NULL",
                            NewChildValue::Default(_) => "SET DEFAULT",
                            NewChildValue::Cascade => "CASCADE",
                        };
                        writeln!(f, "{head} {what}: {}", statement.text())?
                    }
                }
                if let Some(read) = &a.read {
                    writeln!(f, "    first lock and read the child rows: {}", read.text())?;
                }
            }
        }
        Ok(())
    }
}
