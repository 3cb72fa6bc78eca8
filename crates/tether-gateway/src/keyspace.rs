//! The keyspaces a gateway serves: each one's mode, backend, and the schema (tables
//! and FKs) read from the backend, re-read after DDL the gateway forwards.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tether_connect::IntrospectOptions;
use tether_fkplan::Analysis;
use tether_schema::Schema;
use tokio::sync::RwLock;

use crate::config::{Config, FkMode, KeyspaceSpec, User};
use crate::reply::ServerError;

/// How long a background reading of a schema may take before it is given up (the
/// next one tries again).
const RELOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// One keyspace at run time.
pub struct Keyspace {
    pub spec: KeyspaceSpec,
    schema: RwLock<Option<Arc<Schema>>>,
    /// Counts the invalidations (DDL through the gateway): a background reading
    /// that began before one must not store what it read.
    invalidations: AtomicU64,
}

impl Keyspace {
    pub fn new(spec: KeyspaceSpec) -> Self {
        Keyspace {
            spec,
            schema: RwLock::new(None),
            invalidations: AtomicU64::new(0),
        }
    }

    pub fn mode(&self) -> FkMode {
        self.spec.mode
    }

    /// The schema, read from the backend when not known yet.
    pub async fn schema(&self) -> Result<Arc<Schema>, ServerError> {
        if let Some(s) = self.schema.read().await.as_ref() {
            return Ok(s.clone());
        }
        self.refresh().await
    }

    /// Plans `sql` on this keyspace's schema: the schema, and the plan or
    /// "forward it unchanged".
    pub async fn plan(&self, sql: &str) -> Result<(Arc<Schema>, Analysis), ServerError> {
        let schema = self.schema().await?;
        let analysis =
            tether_fkplan::plan(sql, &schema, &self.spec.database).map_err(|e| ServerError::gateway(e.to_string()))?;
        Ok((schema, analysis))
    }

    /// What EXPLAIN FK shows for `sql` (also `tether gateway explain`): the plan
    /// as text, or why there is none; each line ends with a newline.
    pub async fn explain(&self, sql: &str) -> Result<String, ServerError> {
        if self.mode() != FkMode::Managed {
            return Ok(format!(
                "keyspace `{}` is {}: the statement is forwarded unchanged\n",
                self.spec.name,
                self.mode()
            ));
        }
        Ok(match self.plan(sql).await?.1 {
            Analysis::Plan(p) => p.to_string(),
            Analysis::Forward => "not a planned write: forwarded unchanged\n".into(),
        })
    }

    /// Reads the schema again.
    pub async fn refresh(&self) -> Result<Arc<Schema>, ServerError> {
        let mut slot = self.schema.write().await;
        match tether_connect::introspect(&self.spec.url, &IntrospectOptions::default()).await {
            Ok(schema) => {
                let schema = Arc::new(schema);
                *slot = Some(schema.clone());
                tracing::info!(
                    "keyspace {}: schema read: {} tables",
                    self.spec.name,
                    schema.tables.len()
                );
                Ok(schema)
            }
            Err(e) => {
                *slot = None;
                Err(ServerError::gateway(format!(
                    "tether gateway: cannot read the schema of keyspace `{}`: {e}",
                    self.spec.name
                )))
            }
        }
    }

    /// Reads the schema again in the background: the one in use stays until the new
    /// one is read (a failure keeps it, with a warning).
    pub async fn reload(&self) {
        let invalidations = self.invalidations.load(Ordering::SeqCst);
        let options = IntrospectOptions::default();
        let read = tether_connect::introspect(&self.spec.url, &options);
        let read = match tokio::time::timeout(RELOAD_TIMEOUT, read).await {
            Ok(read) => read.map_err(|e| e.to_string()),
            Err(_) => Err(format!("no answer within {} s", RELOAD_TIMEOUT.as_secs())),
        };
        match read {
            Ok(schema) => {
                let schema = Arc::new(schema);
                let mut slot = self.schema.write().await;
                if self.invalidations.load(Ordering::SeqCst) != invalidations {
                    // DDL went through meanwhile: what was read may predate it.
                    return;
                }
                if slot.as_deref().is_some_and(|old| *old != *schema) {
                    tracing::info!(
                        "keyspace {}: schema changed on the backend: {} tables",
                        self.spec.name,
                        schema.tables.len()
                    );
                }
                *slot = Some(schema);
            }
            Err(e) => tracing::warn!(
                "keyspace {}: cannot read the schema again (the last one stays in use): {e}",
                self.spec.name
            ),
        }
    }

    /// Forgets the schema; the next use reads it again.
    pub async fn invalidate(&self) {
        let mut slot = self.schema.write().await;
        self.invalidations.fetch_add(1, Ordering::SeqCst);
        *slot = None;
    }
}

/// Everything sessions share.
pub struct Shared {
    pub keyspaces: BTreeMap<String, Arc<Keyspace>>,
    pub default_keyspace: Option<String>,
    /// Login name -> password.
    pub users: BTreeMap<String, String>,
    pub server_version: String,
}

impl Shared {
    pub fn from_config(config: &Config) -> Result<Shared, String> {
        let mut keyspaces = BTreeMap::new();
        for spec in config.keyspace_specs()? {
            keyspaces.insert(spec.name.clone(), Arc::new(Keyspace::new(spec)));
        }
        let mut users = BTreeMap::new();
        for u in &config.users {
            users.insert(u.user.clone(), User::password(u)?);
        }
        Ok(Shared {
            keyspaces,
            default_keyspace: config.default_keyspace(),
            users,
            server_version: "10.11.0-MariaDB-tether-gateway".into(),
        })
    }

    pub fn keyspace(&self, name: &str) -> Option<Arc<Keyspace>> {
        self.keyspaces.get(name).cloned()
    }
}
