//! What loading into a destination asks of its engine, as capabilities of a
//! [`Connection`]: emptying tables, deferring or suspending foreign-key checks around an
//! unbreakable cycle, moving sequences past copied keys, and whether a load can run in
//! one transaction with its foreign keys dropped. Callers ask; they never match on the
//! engine.

use tether_schema::Table;

use crate::error::ConnectError;
use crate::url::Engine;
use crate::value::Value;
use crate::Connection;

/// What [`Connection::undefer_checks`] restores after an unbreakable cycle.
#[derive(Debug, Default)]
pub struct DeferredChecks {
    /// PostgreSQL constraints made deferrable for the load: (table, constraint).
    altered: Vec<(String, String)>,
}

impl Connection {
    /// A load can run in one transaction with its foreign keys dropped and created
    /// again (so validated) before COMMIT: the engine has transactional DDL
    /// (PostgreSQL). MariaDB's DDL commits; SQLite cannot drop a foreign key.
    pub fn loads_atomically(&self) -> bool {
        self.engine() == Engine::Postgres
    }

    /// Other connections can read in this one's snapshot: PostgreSQL exports it, SQLite
    /// files are at rest. MariaDB/MySQL cannot share one, so it reads on one connection.
    pub fn shares_snapshot(&self) -> bool {
        self.engine() != Engine::Mysql
    }

    /// Deletes every row of `tables` (children first, as given) with the checks off.
    pub async fn empty_tables(&mut self, tables: &[&Table]) -> Result<(), ConnectError> {
        let d = self.dialect();
        let names: Vec<String> = tables.iter().map(|t| d.own_rows(t)).collect();
        match self.engine() {
            Engine::Postgres => self.execute(&format!("TRUNCATE {}", names.join(", "))).await,
            Engine::Mysql => {
                let deletes: Vec<String> = names.iter().map(|n| format!("DELETE FROM {n}")).collect();
                self.execute(&format!(
                    "SET foreign_key_checks = 0; {}; SET foreign_key_checks = 1",
                    deletes.join("; ")
                ))
                .await
            }
            Engine::Sqlite => {
                let deletes: Vec<String> = names.iter().map(|n| format!("DELETE FROM {n};")).collect();
                self.execute(&format!(
                    "PRAGMA foreign_keys = OFF; BEGIN; {} COMMIT; PRAGMA foreign_keys = ON;",
                    deletes.join(" ")
                ))
                .await
            }
        }
    }

    /// Before loading the tables of an unbreakable cycle (`members`, as this destination
    /// has them): PostgreSQL makes the cycle's foreign keys deferrable and defers them in
    /// a transaction; MariaDB and SQLite turn the checks off.
    pub async fn defer_checks(&mut self, members: &[Table]) -> Result<DeferredChecks, ConnectError> {
        let d = self.dialect();
        let mut altered = Vec::new();
        match self.engine() {
            Engine::Mysql => self.execute("SET foreign_key_checks = 0").await?,
            Engine::Sqlite => self.execute("PRAGMA foreign_keys = OFF").await?,
            Engine::Postgres => {
                for t in members {
                    for fk in &t.foreign_keys {
                        let inside = members.iter().any(|m| m.table_name() == fk.referenced_name());
                        if inside && !fk.deferrable {
                            let name = d.qualified(t);
                            self.execute(&format!(
                                "ALTER TABLE {name} ALTER CONSTRAINT {} DEFERRABLE",
                                d.ident(&fk.name)
                            ))
                            .await?;
                            altered.push((name, fk.name.clone()));
                        }
                    }
                }
                self.execute("BEGIN; SET CONSTRAINTS ALL DEFERRED").await?;
            }
        }
        Ok(DeferredChecks { altered })
    }

    /// After the cycle: the checks run (PostgreSQL's COMMIT checks the deferred keys,
    /// then they are made NOT DEFERRABLE again) or are turned back on.
    pub async fn undefer_checks(&mut self, deferred: DeferredChecks) -> Result<(), ConnectError> {
        let d = self.dialect();
        match self.engine() {
            Engine::Mysql => self.execute("SET foreign_key_checks = 1").await,
            Engine::Sqlite => self.execute("PRAGMA foreign_keys = ON").await,
            Engine::Postgres => {
                self.execute("COMMIT").await?;
                for (table, fk) in deferred.altered {
                    self.execute(&format!(
                        "ALTER TABLE {table} ALTER CONSTRAINT {} NOT DEFERRABLE",
                        d.ident(&fk)
                    ))
                    .await?;
                }
                Ok(())
            }
        }
    }

    /// Moves the sequences of `tables`' identity columns past the keys copied, as a
    /// `pg_dump` restore does, so the application's next insert does not collide
    /// (PostgreSQL; the other engines' auto-increment follows the rows by itself).
    pub async fn advance_sequences(&mut self, tables: &[Table]) -> Result<(), ConnectError> {
        if self.engine() != Engine::Postgres {
            return Ok(());
        }
        let d = self.dialect();
        for t in tables {
            // Not `ONLY`: tables inheriting from this one share its sequence.
            for c in t.columns.iter().filter(|c| c.identity.is_some()) {
                let name = d.qualified(t);
                let sql = format!(
                    "SELECT setval(s, coalesce((SELECT max({col}) FROM {name}), 0) + 1, false) \
                     FROM pg_get_serial_sequence({table_lit}, {col_lit}) AS s WHERE s IS NOT NULL",
                    col = d.ident(&c.name),
                    table_lit = d.literal(&Value::Text(name.clone())),
                    col_lit = d.literal(&Value::Text(c.name.clone())),
                );
                self.query(&sql, &[]).await?;
            }
        }
        Ok(())
    }
}
