//! The errors MariaDB's InnoDB raises for foreign keys, with its exact message shape,
//! so a client cannot tell a managed keyspace from native enforcement.

use tether_schema::{FkAction, ForeignKey};

use crate::sql::{ident, idents};

/// An error the gateway returns to the client as a server error packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FkError {
    /// MariaDB error number (1451, 1452, 1296).
    pub code: u16,
    /// SQL state (`23000`, `HY000`).
    pub state: &'static str,
    pub message: String,
}

/// How InnoDB describes a constraint inside its messages:
/// `` `db`.`child`, CONSTRAINT `fk` FOREIGN KEY (`a`) REFERENCES `parent` (`id`) ON DELETE CASCADE ``.
pub fn describe_constraint(database: &str, child: &str, fk: &ForeignKey) -> String {
    let mut out = format!(
        "{}.{}, CONSTRAINT {} FOREIGN KEY ({}) REFERENCES ",
        ident(database),
        ident(child),
        ident(&fk.name),
        idents(&fk.columns)
    );
    match &fk.referenced_schema {
        Some(s) if s != database => out.push_str(&format!("{}.", ident(s))),
        _ => {}
    }
    out.push_str(&format!(
        "{} ({})",
        ident(&fk.referenced_table),
        idents(&fk.referenced_columns)
    ));
    // InnoDB prints every action but the default (RESTRICT).
    if fk.on_delete != FkAction::Restrict {
        out.push_str(&format!(" ON DELETE {}", fk.on_delete.as_sql()));
    }
    if fk.on_update != FkAction::Restrict {
        out.push_str(&format!(" ON UPDATE {}", fk.on_update.as_sql()));
    }
    out
}

/// ER_ROW_IS_REFERENCED_2: a parent row is still referenced.
pub fn row_is_referenced(database: &str, child: &str, fk: &ForeignKey) -> FkError {
    FkError {
        code: 1451,
        state: "23000",
        message: format!(
            "Cannot delete or update a parent row: a foreign key constraint fails ({})",
            describe_constraint(database, child, fk)
        ),
    }
}

/// ER_NO_REFERENCED_ROW_2: a child row points at no parent.
pub fn no_referenced_row(database: &str, child: &str, fk: &ForeignKey) -> FkError {
    FkError {
        code: 1452,
        state: "23000",
        message: format!(
            "Cannot add or update a child row: a foreign key constraint fails ({})",
            describe_constraint(database, child, fk)
        ),
    }
}

/// InnoDB's cascade depth limit (error 193, DB_FOREIGN_EXCEED_MAX_CASCADE), as
/// MariaDB 10.11 reports it.
pub fn cascade_too_deep(database: &str, child: &str, fk: &ForeignKey) -> FkError {
    FkError {
        code: 1296,
        state: "HY000",
        message: format!(
            "Got error 193 '{}' from InnoDB",
            describe_constraint(database, child, fk)
        ),
    }
}
