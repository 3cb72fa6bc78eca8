//! DDL in `disallow` keyspaces: which statement would create a foreign key, and
//! the error that refuses it. (Which statements are DDL, after which a schema is
//! read again, is decided in `route`.)

use sqlparser::ast::{AlterTableOperation, ColumnOption, Statement, TableConstraint};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use crate::reply::ServerError;

/// A foreign key a DDL statement would create: (table, constraint name if given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewForeignKey {
    pub table: String,
    pub constraint: Option<String>,
}

/// Finds the first foreign key `sql` would create, if any. Unparseable DDL that
/// mentions `FOREIGN KEY` or `REFERENCES` counts as creating one (refused, not
/// guessed).
pub fn created_foreign_key(sql: &str) -> Option<NewForeignKey> {
    let statements = match Parser::parse_sql(&MySqlDialect {}, sql) {
        Ok(s) => s,
        Err(_) => {
            let lower = sql.to_ascii_lowercase();
            if lower.contains("foreign key") || lower.contains("references") {
                return Some(NewForeignKey {
                    table: "?".into(),
                    constraint: None,
                });
            }
            return None;
        }
    };
    for s in statements {
        match s {
            Statement::CreateTable(ct) => {
                let table = ct.name.to_string().replace('`', "");
                for c in &ct.constraints {
                    if let TableConstraint::ForeignKey(fk) = c {
                        return Some(NewForeignKey {
                            table,
                            constraint: fk.name.as_ref().map(|n| n.value.clone()),
                        });
                    }
                }
                for col in &ct.columns {
                    for o in &col.options {
                        if let ColumnOption::ForeignKey(fk) = &o.option {
                            return Some(NewForeignKey {
                                table,
                                constraint: o.name.as_ref().or(fk.name.as_ref()).map(|n| n.value.clone()),
                            });
                        }
                    }
                }
            }
            Statement::AlterTable(at) => {
                let table = at.name.to_string().replace('`', "");
                for op in &at.operations {
                    match op {
                        AlterTableOperation::AddConstraint {
                            constraint: TableConstraint::ForeignKey(fk),
                            ..
                        } => {
                            return Some(NewForeignKey {
                                table,
                                constraint: fk.name.as_ref().map(|n| n.value.clone()),
                            })
                        }
                        AlterTableOperation::AddColumn { column_def, .. } => {
                            for o in &column_def.options {
                                if let ColumnOption::ForeignKey(fk) = &o.option {
                                    return Some(NewForeignKey {
                                        table,
                                        constraint: o.name.as_ref().or(fk.name.as_ref()).map(|n| n.value.clone()),
                                    });
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// The error a `disallow` keyspace answers such DDL with: ER_CANNOT_ADD_FOREIGN
/// (1215, HY000), naming the table and the constraint.
pub fn disallowed(keyspace: &str, fk: &NewForeignKey) -> ServerError {
    let constraint = match &fk.constraint {
        Some(c) => format!("constraint `{c}`"),
        None => "an unnamed constraint".to_string(),
    };
    ServerError::new(
        1215,
        "HY000",
        format!(
            "Cannot add foreign key constraint for `{}`: {constraint}: foreign keys are disallowed in keyspace `{keyspace}` (foreignKeyMode: disallow)",
            fk.table
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_foreign_keys_in_ddl() {
        let fk = created_foreign_key(
            "CREATE TABLE c (id INT PRIMARY KEY, p INT, CONSTRAINT c_p_fk FOREIGN KEY (p) REFERENCES p (id))",
        );
        assert_eq!(
            fk,
            Some(NewForeignKey {
                table: "c".into(),
                constraint: Some("c_p_fk".into())
            })
        );
        let fk = created_foreign_key("ALTER TABLE c ADD CONSTRAINT c2 FOREIGN KEY (p) REFERENCES p (id)");
        assert_eq!(fk.and_then(|f| f.constraint), Some("c2".into()));
        let fk = created_foreign_key("CREATE TABLE c (id INT PRIMARY KEY, p INT REFERENCES p (id))");
        assert_eq!(fk.map(|f| f.table), Some("c".into()));
        assert_eq!(created_foreign_key("CREATE TABLE p (id INT PRIMARY KEY)"), None);
        assert_eq!(created_foreign_key("ALTER TABLE c DROP FOREIGN KEY c2"), None);
        let e = disallowed(
            "shop",
            &NewForeignKey {
                table: "c".into(),
                constraint: Some("c2".into()),
            },
        );
        assert_eq!(e.code, 1215);
        assert_eq!(
            e.message,
            "Cannot add foreign key constraint for `c`: constraint `c2`: foreign keys are disallowed in keyspace `shop` (foreignKeyMode: disallow)"
        );
    }
}
