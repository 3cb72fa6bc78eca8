//! How a destination is loaded, decided once by [`decide`] for both `tether plan` (which
//! prints it) and the executor (which does it): through staging schemas, in one
//! transaction, or in batches each committed, and why a load does not stage. Planning
//! and running call the same function on the destination as it is then, so they cannot
//! disagree on the rules, only on a destination changed in between.

use serde::Serialize;
use tether_connect::{Conflict, Connection};
use tether_schema::Table;

use super::stage::{self, Stage};
use crate::config::{Checks, DestinationSpec, Mode};
use crate::error::SyncError;
use crate::plan::Plan;

/// How a destination's rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadMethod {
    /// Tables created in staging schemas, loaded and built there on several
    /// connections, moved into place in one transaction (PostgreSQL, every job table
    /// created by the run). A failure leaves nothing.
    Staging,
    /// One transaction: the job tables' foreign keys dropped inside it and created
    /// again (validated) before COMMIT (PostgreSQL, `checks = "enforce"`). A failure
    /// leaves nothing.
    OneTransaction,
    /// Batches, each committed, with the destination's foreign-key checks as `checks`
    /// says. A failure drops the tables this run created; rows written into tables that
    /// were there stay, and the error counts them.
    Batches,
}

/// Why a destination does not load through staging schemas (or, for
/// [`LoadMethod::Batches`], why not in one transaction either).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NotStaged {
    /// The engine's DDL commits (MariaDB/MySQL) or it cannot drop a foreign key
    /// (SQLite): no one-transaction load.
    NoTransactionalDdl { engine: String },
    /// `checks = "verify"`: batches with the checks off, verified afterwards.
    ChecksVerify,
    /// `on_conflict` other than `"error"` writes into rows that may exist.
    OnConflict,
    /// `mode = "data"` writes into existing tables; `mode = "schema"` loads no rows.
    Mode,
    /// A staged run needs every job table created by it on its only destination.
    SeveralDestinations { destinations: usize },
    /// Some job tables exist on the destination already.
    TablesExist { tables: Vec<String> },
    /// `create_tables = false`.
    CreateTablesOff,
    /// A partitioned table (its partitions are created in place).
    Partitioned { table: String },
    /// Table inheritance.
    Inheritance { table: String },
    /// A sequence the table does not own (or in another schema).
    SequenceNotOwned { table: String, sequence: String },
    /// A CHECK, index, default or generated column calls a user function, which may
    /// read job tables by their real names (empty until the move).
    UserFunction { table: String, function: String },
    /// A domain whose CHECK calls a user function.
    DomainFunction { table: String, domain: String },
    /// The role may not create schemas in the database.
    NoCreateOnDatabase,
    /// The role has default privileges for tables or sequences, which apply where a
    /// table is created, not where it is moved.
    DefaultPrivileges,
    /// An index or serial default names the table in a form that cannot be rewritten.
    Unrewritable { table: String },
}

impl std::fmt::Display for NotStaged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotStaged::NoTransactionalDdl { engine } => {
                write!(
                    f,
                    "a {engine} destination cannot load in one transaction with its foreign keys dropped"
                )
            }
            NotStaged::ChecksVerify => write!(f, "checks = \"verify\""),
            NotStaged::OnConflict => write!(f, "on_conflict is not \"error\""),
            NotStaged::Mode => write!(f, "mode is not \"all\""),
            NotStaged::SeveralDestinations { destinations } => {
                write!(f, "the job has {destinations} destinations (staging needs one)")
            }
            NotStaged::TablesExist { tables } => write!(f, "tables exist there already: {}", tables.join(", ")),
            NotStaged::CreateTablesOff => write!(f, "create_tables = false"),
            NotStaged::Partitioned { table } => write!(f, "table {table} is partitioned"),
            NotStaged::Inheritance { table } => write!(f, "table {table} uses inheritance"),
            NotStaged::SequenceNotOwned { table, sequence } => {
                write!(f, "table {table} uses sequence {sequence}, which it does not own")
            }
            NotStaged::UserFunction { table, function } => {
                write!(f, "table {table} calls user function {function} in an expression")
            }
            NotStaged::DomainFunction { table, domain } => {
                write!(
                    f,
                    "table {table} uses domain {domain}, whose CHECK calls a user function"
                )
            }
            NotStaged::NoCreateOnDatabase => write!(f, "the role may not CREATE schemas in the database"),
            NotStaged::DefaultPrivileges => write!(f, "the role has default privileges for new tables or sequences"),
            NotStaged::Unrewritable { table } => {
                write!(
                    f,
                    "an index or default of table {table} cannot be rewritten for a staging schema"
                )
            }
        }
    }
}

/// How a destination loads, as `tether plan` shows it (`load` of each destination).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadPlan {
    pub method: LoadMethod,
    /// Connections loading this destination when staged (the job's `parallelism`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<usize>,
    /// Why the load is not staged (None when it is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<NotStaged>,
    /// Existing tables whose engine enforces no foreign keys (MariaDB MyISAM ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unenforced: Vec<String>,
}

impl LoadPlan {
    /// One line: the method, and why not staged.
    pub fn to_text(&self, checks: Checks) -> String {
        let how = match self.method {
            LoadMethod::Staging => format!(
                "through staging schemas on {} connections (keys, indexes and foreign keys built there; \
                 the tables move into place in one transaction)",
                self.connections.unwrap_or(1)
            ),
            LoadMethod::OneTransaction => {
                "in one transaction (foreign keys dropped, created again and validated before COMMIT)".to_string()
            }
            LoadMethod::Batches => match checks {
                Checks::Enforce => format!(
                    "in batches, each committed, {} (a failure drops the tables this run created)",
                    super::fk_engines::checked(&self.unenforced)
                ),
                Checks::Verify => "in batches, each committed, foreign-key checks off, verified after \
                                   (a failure drops the tables this run created)"
                    .to_string(),
            },
        };
        match &self.fallback {
            Some(why) => format!("{how}; not staged: {why}"),
            None => how,
        }
    }
}

/// What [`decide`] found: how to load, and the staging models when staged.
pub(crate) struct Decision {
    pub plan: LoadPlan,
    pub staged: Option<(Stage, Vec<Table>)>,
}

/// Decides how the destination on `conn` loads the job: `missing` are the tables the
/// run creates there (`existing` the job tables already there), as the plan's schema
/// report models them. Reads the destination (privileges, names), writes nothing.
pub(crate) async fn decide(
    conn: &mut Connection,
    spec: &DestinationSpec,
    plan: &Plan,
    missing: &[Table],
    existing: &[String],
) -> Result<Decision, SyncError> {
    let atomic = conn.loads_atomically();
    let unenforced = super::fk_engines::unenforced(conn, existing).await?;
    let not_staged = |fallback: NotStaged| {
        let method = match atomic && spec.checks == Checks::Enforce {
            true => LoadMethod::OneTransaction,
            false => LoadMethod::Batches,
        };
        Decision {
            plan: LoadPlan {
                method,
                connections: None,
                fallback: Some(fallback),
                unenforced: unenforced.clone(),
            },
            staged: None,
        }
    };
    let refusal = if !atomic {
        Some(NotStaged::NoTransactionalDdl {
            engine: conn.engine().to_string(),
        })
    } else if spec.checks != Checks::Enforce {
        Some(NotStaged::ChecksVerify)
    } else if spec.on_conflict != Conflict::Error {
        Some(NotStaged::OnConflict)
    } else if plan.mode != Mode::All {
        Some(NotStaged::Mode)
    } else if plan.destinations.len() != 1 {
        Some(NotStaged::SeveralDestinations {
            destinations: plan.destinations.len(),
        })
    } else if !existing.is_empty() || missing.is_empty() {
        Some(NotStaged::TablesExist {
            tables: existing.to_vec(),
        })
    } else if !spec.create_tables {
        Some(NotStaged::CreateTablesOff)
    } else {
        None
    };
    if let Some(why) = refusal {
        return Ok(not_staged(why));
    }
    match stage::models(conn, missing).await? {
        Ok(staged) => Ok(Decision {
            plan: LoadPlan {
                method: LoadMethod::Staging,
                connections: Some(plan.parallelism),
                fallback: None,
                unenforced,
            },
            staged: Some(staged),
        }),
        Err(why) => Ok(not_staged(why)),
    }
}
