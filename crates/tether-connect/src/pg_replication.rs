//! PostgreSQL replication that can carry a job's writes into its source: a standby (in
//! recovery) whose primary is a destination, and logical replication (the source's
//! database subscribes to a publication a destination publishes). Read the way every
//! role can: what a role may not read is unknown, never "no".

use tether_schema::DataType;

use crate::error::ConnectError;
use crate::value::Value;
use crate::Connection;

/// A PostgreSQL database's side of logical replication, as far as the login may read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logical {
    /// The database's enabled subscriptions (`pg_subscription`, whose columns but
    /// `subconninfo` any role may read): `Err` where the login may not read it.
    pub subscriptions: Result<Vec<Subscription>, String>,
    /// `wal_level = logical`: only such a server can publish (or feed a publisher).
    pub can_publish: bool,
    /// The database's publications (`pg_publication`, readable by every role).
    pub publications: Vec<Publication>,
}

/// One enabled subscription of the source's database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub name: String,
    /// The publications it subscribes to (on a server its conninfo names).
    pub publications: Vec<String>,
}

/// One publication of a destination's database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub name: String,
    /// `FOR ALL TABLES`: every table, those a job creates too.
    pub all_tables: bool,
    /// `schema.table` it publishes (`pg_publication_tables`), in order.
    pub tables: Vec<String>,
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::Text(t)) => t.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.display(),
    }
}

impl Connection {
    /// PostgreSQL: whether the server is a standby (in recovery). Read as no role can
    /// be refused it: `in_hot_standby` (PostgreSQL 14 on, a setting `SHOW` gives every
    /// role), else `pg_is_in_recovery()` (which can be revoked), else
    /// `transaction_read_only` off (a standby forces it on). None: unknown (or not
    /// PostgreSQL: Some(false)).
    pub async fn in_recovery(&mut self) -> Option<bool> {
        if !matches!(self, Connection::Postgres { .. }) {
            return Some(false);
        }
        let one = |rows: &[Vec<Value>]| text(rows.first().and_then(|r| r.first()));
        if let Ok(rows) = self.query("SHOW in_hot_standby", &[DataType::Text]).await {
            return match one(&rows).as_str() {
                "on" => Some(true),
                "off" => Some(false),
                _ => None,
            };
        }
        if let Ok(rows) = self.query("SELECT pg_is_in_recovery()::text", &[DataType::Text]).await {
            return Some(one(&rows) == "true");
        }
        match self.query("SHOW transaction_read_only", &[DataType::Text]).await {
            Ok(rows) if one(&rows) == "off" => Some(false),
            _ => None,
        }
    }

    /// PostgreSQL: this database's side of logical replication ([`Logical`]); None on
    /// other engines. What the login may not read is left out (publications), or taken
    /// as the worst case (`wal_level`).
    pub async fn logical(&mut self) -> Option<Logical> {
        if !matches!(self, Connection::Postgres { .. }) {
            return None;
        }
        let texts = [DataType::Text, DataType::Text, DataType::Text];
        // Not `SELECT *`: subconninfo is kept from non-superusers.
        let subscriptions = self
            .query(
                "SELECT subname::text, array_to_string(subpublications, ',') FROM pg_subscription \
                 WHERE subenabled AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                 ORDER BY 1",
                &texts,
            )
            .await
            .map(|rows| {
                rows.iter()
                    .map(|r| Subscription {
                        name: text(r.first()),
                        publications: text(r.get(1))
                            .split(',')
                            .filter(|p| !p.is_empty())
                            .map(str::to_string)
                            .collect(),
                    })
                    .collect()
            })
            .map_err(|e| match e {
                ConnectError::Query { message, .. } => message,
                other => other.to_string(),
            });
        let can_publish = match self.query("SHOW wal_level", &texts).await {
            Ok(rows) => text(rows.first().and_then(|r| r.first())) == "logical",
            Err(_) => true,
        };
        let mut publications: Vec<Publication> = self
            .query(
                "SELECT pubname::text, puballtables::text FROM pg_publication ORDER BY 1",
                &texts,
            )
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| Publication {
                name: text(r.first()),
                all_tables: text(r.get(1)) == "true",
                tables: Vec::new(),
            })
            .collect();
        if !publications.is_empty() {
            let rows = self
                .query(
                    "SELECT pubname::text, schemaname::text, tablename::text FROM pg_publication_tables \
                     ORDER BY 1, 2, 3",
                    &texts,
                )
                .await
                .unwrap_or_default();
            for r in rows {
                let name = text(r.first());
                if let Some(p) = publications.iter_mut().find(|p| p.name == name) {
                    p.tables.push(format!("{}.{}", text(r.get(1)), text(r.get(2))));
                }
            }
        }
        Some(Logical {
            subscriptions,
            can_publish,
            publications,
        })
    }
}
