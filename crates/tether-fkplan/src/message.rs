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

/// `message` (one of this module's errors) as MariaDB words it under sql_mode
/// ANSI_QUOTES: each backquoted name in double quotes, a `"` inside doubled,
/// a doubled backtick undone (`` `ch``d` `` is `"ch`d"`). Text already in double
/// quotes (a message the server wrote under ANSI_QUOTES) is kept as it is.
pub fn ansi_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len() + 8);
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push('"');
                while let Some(d) = chars.next() {
                    out.push(d);
                    if d == '"' {
                        if chars.peek() == Some(&'"') {
                            out.push(chars.next().expect("peeked"));
                        } else {
                            break;
                        }
                    }
                }
            }
            '`' => {
                out.push('"');
                while let Some(d) = chars.next() {
                    match d {
                        '`' if chars.peek() == Some(&'`') => {
                            chars.next();
                            out.push('`');
                        }
                        '`' => break,
                        '"' => out.push_str("\"\""),
                        d => out.push(d),
                    }
                }
                out.push('"');
            }
            c => out.push(c),
        }
    }
    out
}

impl FkError {
    /// This error as MariaDB words it in a session whose sql_mode has
    /// ANSI_QUOTES (see [`ansi_quoted`]).
    pub fn in_ansi_quotes(&self) -> FkError {
        FkError {
            message: ansi_quoted(&self.message),
            ..self.clone()
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use tether_schema::{FkAction, ForeignKey};

    fn fk(name: &str, column: &str, parent: &str) -> ForeignKey {
        ForeignKey {
            name: name.into(),
            columns: vec![column.into()],
            referenced_schema: None,
            referenced_table: parent.into(),
            referenced_columns: vec!["id".into()],
            on_delete: FkAction::SetNull,
            on_update: FkAction::Restrict,
            deferrable: false,
            initially_deferred: false,
            is_virtual: false,
            delete_set_columns: Vec::new(),
            match_full: false,
            not_valid: false,
            partition: None,
        }
    }

    /// As MariaDB 10.11 words them (checked natively), with and without ANSI_QUOTES.
    #[test]
    fn messages_follow_the_sessions_identifier_quotes() {
        let e = row_is_referenced("shop", "n", &fk("n_ibfk_1", "pid", "p"));
        assert_eq!(
            e.in_ansi_quotes().message,
            "Cannot delete or update a parent row: a foreign key constraint fails \
             (\"shop\".\"n\", CONSTRAINT \"n_ibfk_1\" FOREIGN KEY (\"pid\") REFERENCES \"p\" (\"id\") ON DELETE SET NULL)"
        );
        let e = no_referenced_row("r16b_probe", "ch`d", &fk("f\"k`1", "p\"id", "pa\"r"));
        assert_eq!(
            e.message,
            "Cannot add or update a child row: a foreign key constraint fails \
             (`r16b_probe`.`ch``d`, CONSTRAINT `f\"k``1` FOREIGN KEY (`p\"id`) REFERENCES `pa\"r` (`id`) ON DELETE SET NULL)"
        );
        let ansi = "Cannot add or update a child row: a foreign key constraint fails \
             (\"r16b_probe\".\"ch`d\", CONSTRAINT \"f\"\"k`1\" FOREIGN KEY (\"p\"\"id\") REFERENCES \"pa\"\"r\" (\"id\") ON DELETE SET NULL)";
        assert_eq!(e.in_ansi_quotes().message, ansi);
        // A message already in double quotes stays as it is.
        assert_eq!(ansi_quoted(ansi), ansi);
        assert_eq!(e.in_ansi_quotes().code, 1452);
    }
}
