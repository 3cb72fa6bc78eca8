//! The gateway's configuration: a VSchema in Vitess's JSON shape (`keyspaces`, each
//! with its `foreignKeyMode`), plus where the gateway listens, who may log in, and
//! the MariaDB/MySQL backend each keyspace lives on.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use tether_connect::DbUrl;

use crate::error::GatewayError;

/// The default listen address: loopback, port 15306 (Vitess's vtgate MySQL port).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:15306";

/// Client connections served at once unless `maxConnections` says otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1000;

/// The largest client command unless `maxAllowedPacket` says otherwise.
pub const DEFAULT_MAX_ALLOWED_PACKET: usize = 64 << 20;

/// How often a managed keyspace's schema is read again unless
/// `schemaRefreshSeconds` says otherwise.
pub const DEFAULT_SCHEMA_REFRESH_SECONDS: u64 = 60;

/// Vitess's foreign-key modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FkMode {
    /// Statements pass through; the backend enforces FKs itself.
    #[default]
    Unmanaged,
    /// The gateway plans every write that touches a table with FKs and runs the
    /// cascades and checks as explicit statements.
    Managed,
    /// DDL that would create a foreign key is refused.
    Disallow,
}

impl std::fmt::Display for FkMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FkMode::Unmanaged => "unmanaged",
            FkMode::Managed => "managed",
            FkMode::Disallow => "disallow",
        })
    }
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `host:port` to listen on (default `127.0.0.1:15306`).
    #[serde(default)]
    pub listen: Option<String>,
    /// Accounts clients log in with (`mysql_native_password`); a user named twice, or
    /// with both `password` and `passwordEnv`, is refused.
    #[serde(deserialize_with = "unique_users")]
    pub users: Vec<User>,
    /// Keyspaces by name; a client selects one with `USE name` or the connection's
    /// database. A name given twice is refused (serde_json would keep the last).
    #[serde(deserialize_with = "unique_keyspaces")]
    pub keyspaces: BTreeMap<String, KeyspaceConfig>,
    /// The keyspace a connection starts in when it names none (default: the first
    /// keyspace by name).
    #[serde(default, rename = "defaultKeyspace")]
    pub default_keyspace: Option<String>,
    /// Client connections served at once (default 1000); one more is answered with
    /// error 1040 "Too many connections".
    #[serde(default, rename = "maxConnections")]
    pub max_connections: Option<usize>,
    /// The largest command a logged-in client may send, in bytes (default 64 MiB,
    /// MariaDB's `max_allowed_packet`); a larger one is answered with error 1153,
    /// more long data for one parameter of a prepared statement fails its
    /// executes with MariaDB's 1105 until COM_STMT_RESET.
    #[serde(default, rename = "maxAllowedPacket")]
    pub max_allowed_packet: Option<usize>,
    /// Seconds between two readings of each managed keyspace's schema (default 60;
    /// 0: never), so DDL run on the backend by anything but this gateway (a
    /// migration tool, another gateway) is seen. DDL through this gateway is seen
    /// at once.
    #[serde(default, rename = "schemaRefreshSeconds")]
    pub schema_refresh_seconds: Option<u64>,
    /// TLS towards clients: offered when present.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
}

/// The gateway's TLS towards its clients (TLS towards a backend is in its URL:
/// `ssl-mode`, `ssl-ca`, `ssl-cert`, `ssl-key`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The server certificate, with its chain (PEM file).
    pub cert: std::path::PathBuf,
    /// Its private key (PEM file, unencrypted).
    pub key: std::path::PathBuf,
    /// Refuse clients that do not use TLS, as MariaDB's `require_secure_transport`
    /// does (error 1045, access denied). Default false.
    #[serde(default, rename = "requireSecureTransport")]
    pub require_secure_transport: bool,
}

/// One login.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub user: String,
    /// The password; empty for none. Prefer `passwordEnv`.
    #[serde(default)]
    pub password: Option<String>,
    /// The name of an environment variable holding the password.
    #[serde(default, rename = "passwordEnv")]
    pub password_env: Option<String>,
}

/// `keyspaces`, refusing a name given twice (at the second one's line; serde_json
/// itself keeps the last value of a repeated key, so a `managed` keyspace could
/// silently become `unmanaged`).
fn unique_keyspaces<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, KeyspaceConfig>, D::Error> {
    struct Keyspaces;
    impl<'de> serde::de::Visitor<'de> for Keyspaces {
        type Value = BTreeMap<String, KeyspaceConfig>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a map of keyspace names to keyspaces")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(name) = map.next_key::<String>()? {
                if out.contains_key(&name) {
                    return Err(serde::de::Error::custom(format!(
                        "keyspace `{name}` is named twice in `keyspaces` (only one of them would be used): \
                         remove or rename one"
                    )));
                }
                let ks = map.next_value::<KeyspaceConfig>()?;
                out.insert(name, ks);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Keyspaces)
}

/// `users`, refusing a user named twice (only one password would work) and a user
/// with both `password` and `passwordEnv` (one would be ignored). Each user is checked
/// as its object ends, so the error names that object's line.
fn unique_users<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<User>, D::Error> {
    use serde::de::{DeserializeSeed, Error, MapAccess, SeqAccess, Visitor};
    struct Users;
    struct OneUser<'a>(&'a [User]);
    impl<'de> DeserializeSeed<'de> for OneUser<'_> {
        type Value = User;
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<User, D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de> Visitor<'de> for OneUser<'_> {
        type Value = User;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a user (an object with `user` and `password` or `passwordEnv`)")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<User, A::Error> {
            let user = User::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
            if self.0.iter().any(|u| u.user == user.user) {
                return Err(A::Error::custom(format!(
                    "user `{}` is named twice in `users` (only one of its passwords would work): remove one",
                    user.user
                )));
            }
            if user.password.is_some() && user.password_env.is_some() {
                return Err(A::Error::custom(format!(
                    "user `{}` has both `password` and `passwordEnv` (one would be ignored): give one",
                    user.user
                )));
            }
            Ok(user)
        }
    }
    impl<'de> Visitor<'de> for Users {
        type Value = Vec<User>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list of users")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out: Vec<User> = Vec::new();
            while let Some(user) = seq.next_element_seed(OneUser(&out))? {
                out.push(user);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(Users)
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a password.
        write!(f, "User({})", self.user)
    }
}

/// One keyspace, in Vitess's VSchema shape plus `backend`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyspaceConfig {
    #[serde(default, rename = "foreignKeyMode")]
    pub foreign_key_mode: FkMode,
    /// Vitess field: the backend is the head of a sharding engine (MariaDB Spider);
    /// the gateway reads the layout from it.
    #[serde(default)]
    pub sharded: bool,
    /// Foreign keys the sharding engine cannot declare (Spider tables carry none),
    /// in the shape of sync's virtual FKs (`name`, `table`, `columns`,
    /// `referenced_table`, `referenced_columns`) plus their actions (`on_delete`,
    /// `on_update`); sharded keyspaces only.
    #[serde(default, rename = "foreignKeys")]
    pub foreign_keys: Vec<DeclaredFkConfig>,
    /// Vitess fields accepted and ignored (the gateway reads tables from the backend).
    #[serde(default)]
    pub tables: Option<serde_json::Value>,
    #[serde(default)]
    pub vindexes: Option<serde_json::Value>,
    pub backend: BackendConfig,
}

/// A foreign key declared in the VSchema of a sharded keyspace: sync's virtual-FK
/// shape, and the actions a managed keyspace enforces (default `NO ACTION`; an FK
/// the data nodes also have takes theirs, and one given here must agree).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredFkConfig {
    /// Defaults to `<table>_<columns>_vfk`.
    #[serde(default)]
    pub name: Option<String>,
    pub table: String,
    pub columns: Vec<String>,
    pub referenced_table: String,
    /// Defaults to the referenced table's primary key.
    #[serde(default)]
    pub referenced_columns: Vec<String>,
    /// `RESTRICT`, `NO ACTION`, `CASCADE` or `SET NULL` (`SET DEFAULT` is refused:
    /// InnoDB has no such FKs, and a default without a parent row is an orphan).
    #[serde(default)]
    pub on_delete: Option<tether_schema::FkAction>,
    #[serde(default)]
    pub on_update: Option<tether_schema::FkAction>,
}

impl DeclaredFkConfig {
    /// The virtual-FK spec (without actions).
    pub fn spec(&self) -> tether_schema::virtual_fk::VirtualFkSpec {
        tether_schema::virtual_fk::VirtualFkSpec {
            name: self.name.clone(),
            table: self.table.clone(),
            columns: self.columns.clone(),
            referenced_table: self.referenced_table.clone(),
            referenced_columns: self.referenced_columns.clone(),
        }
    }
}

/// Where a keyspace's data lives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    /// `mysql://USER[:PASSWORD]@HOST[:PORT][/DATABASE]`; the password may also come
    /// from `MYSQL_PWD`.
    pub url: String,
    /// The backend database; default the URL's database, else the keyspace name.
    #[serde(default)]
    pub database: Option<String>,
}

/// The actions a VSchema FK declares (`None`: not given).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeclaredActions {
    pub on_delete: Option<tether_schema::FkAction>,
    pub on_update: Option<tether_schema::FkAction>,
}

/// A keyspace ready to use: its backend URL always names its database.
#[derive(Debug, Clone)]
pub struct KeyspaceSpec {
    pub name: String,
    pub mode: FkMode,
    pub url: DbUrl,
    pub database: String,
    /// The backend is a sharding engine's head.
    pub sharded: bool,
    /// The keyspace's `foreignKeys` (no line numbers: JSON has no spans here).
    pub declared_fks: Vec<tether_schema::LocatedSpec>,
    /// Their actions (`on_delete`, `on_update`), in the same order; `None`: not given.
    pub declared_actions: Vec<DeclaredActions>,
}

impl Config {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<Config, GatewayError> {
        let text = std::fs::read_to_string(path).map_err(|e| GatewayError::Config {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Config::parse(&text).map_err(|message| GatewayError::Config {
            path: path.display().to_string(),
            message,
        })
    }

    /// Parses and checks config text; the error names the line and column.
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config =
            serde_json::from_str(text).map_err(|e| tether_connect::url::without_values(&e.to_string()))?;
        if config.keyspaces.is_empty() {
            return Err("`keyspaces` is empty: name at least one keyspace".into());
        }
        if config.users.is_empty() {
            return Err("`users` is empty: name at least one login".into());
        }
        for (name, ks) in &config.keyspaces {
            if !ks.sharded && !ks.foreign_keys.is_empty() {
                return Err(format!(
                    "keyspace `{name}`: `foreignKeys` is read for sharded keyspaces only (`\"sharded\": true`)"
                ));
            }
            for (i, fk) in ks.foreign_keys.iter().enumerate() {
                for (key, action) in [("on_delete", fk.on_delete), ("on_update", fk.on_update)] {
                    if action == Some(tether_schema::FkAction::SetDefault) {
                        return Err(format!(
                            "keyspace `{name}`: foreignKeys[{i}] (`{}` -> `{}`): `{key}` \"SET DEFAULT\" is not \
                             supported: InnoDB refuses such FKs, so there is no MariaDB behaviour to match, and a \
                             column default without a parent row would be an orphan; use \"SET NULL\", \"CASCADE\" \
                             or \"RESTRICT\"",
                            fk.table, fk.referenced_table
                        ));
                    }
                }
            }
        }
        if let Some(d) = &config.default_keyspace {
            if !config.keyspaces.contains_key(d) {
                return Err(format!("`defaultKeyspace` names `{d}`, which is not in `keyspaces`"));
            }
        }
        config.keyspace_specs()?;
        Ok(config)
    }

    /// Each keyspace with its parsed backend URL and database.
    pub fn keyspace_specs(&self) -> Result<Vec<KeyspaceSpec>, String> {
        let mut out = Vec::new();
        for (name, ks) in &self.keyspaces {
            let url = DbUrl::parse(&ks.backend.url).map_err(|e| format!("keyspace `{name}`: backend.url: {e}"))?;
            let DbUrl::Mysql(server) = &url else {
                return Err(format!(
                    "keyspace `{name}`: backend.url must be a mysql:// (MariaDB/MySQL) URL, not {}",
                    url.engine().name()
                ));
            };
            let database = ks
                .backend
                .database
                .clone()
                .or_else(|| server.database.clone().filter(|d| !d.is_empty()))
                .unwrap_or_else(|| name.clone());
            out.push(KeyspaceSpec {
                name: name.clone(),
                mode: ks.foreign_key_mode,
                url: url.with_database(&database),
                database,
                sharded: ks.sharded,
                declared_fks: ks
                    .foreign_keys
                    .iter()
                    .map(|fk| tether_schema::LocatedSpec {
                        spec: fk.spec(),
                        line: None,
                    })
                    .collect(),
                declared_actions: ks
                    .foreign_keys
                    .iter()
                    .map(|fk| DeclaredActions {
                        on_delete: fk.on_delete,
                        on_update: fk.on_update,
                    })
                    .collect(),
            });
        }
        Ok(out)
    }

    /// The keyspace a connection starts in.
    pub fn default_keyspace(&self) -> Option<String> {
        self.default_keyspace
            .clone()
            .or_else(|| self.keyspaces.keys().next().cloned())
    }

    pub fn max_connections(&self) -> usize {
        self.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS)
    }

    pub fn max_allowed_packet(&self) -> usize {
        self.max_allowed_packet.unwrap_or(DEFAULT_MAX_ALLOWED_PACKET)
    }

    /// `None`: never.
    pub fn schema_refresh(&self) -> Option<std::time::Duration> {
        match self.schema_refresh_seconds.unwrap_or(DEFAULT_SCHEMA_REFRESH_SECONDS) {
            0 => None,
            s => Some(std::time::Duration::from_secs(s)),
        }
    }

    pub fn listen(&self) -> String {
        self.listen.clone().unwrap_or_else(|| DEFAULT_LISTEN.to_string())
    }
}

impl User {
    /// The password, from the file or the named environment variable.
    pub fn password(&self) -> Result<String, String> {
        if let Some(var) = &self.password_env {
            return std::env::var(var)
                .map_err(|_| format!("user `{}`: environment variable {var} is not set", self.user));
        }
        Ok(self.password.clone().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vitess_shape() {
        let c = Config::parse(
            r#"{"users":[{"user":"app","password":"pw"}],
                "keyspaces":{"shop":{"sharded":false,"foreignKeyMode":"managed","tables":{},
                  "backend":{"url":"mysql://root@127.0.0.1:3306/shopdb"}},
                  "logs":{"backend":{"url":"mysql://root@127.0.0.1:3306"}}}}"#,
        )
        .expect("valid");
        let specs = c.keyspace_specs().expect("specs");
        assert_eq!(specs[0].name, "logs");
        assert_eq!(specs[0].mode, FkMode::Unmanaged);
        assert_eq!(specs[0].database, "logs");
        assert_eq!(specs[1].mode, FkMode::Managed);
        assert_eq!(specs[1].database, "shopdb");
        assert_eq!(c.listen(), "127.0.0.1:15306");
        assert_eq!(c.default_keyspace().as_deref(), Some("logs"));
        assert_eq!(c.schema_refresh(), Some(std::time::Duration::from_secs(60)));
        let never = r#"{"users":[{"user":"a"}],"schemaRefreshSeconds":0,
            "keyspaces":{"k":{"backend":{"url":"mysql://root@127.0.0.1:3306/k"}}}}"#;
        assert_eq!(Config::parse(never).expect("valid").schema_refresh(), None);
    }

    #[test]
    fn refuses_bad_configs() {
        let e = Config::parse(r#"{"users":[{"user":"a"}],"keyspaces":{"k":{"foreignKeyMode":"strict","backend":{"url":"mysql://r@h/d"}}}}"#)
            .expect_err("bad mode");
        assert!(e.contains("unknown variant `strict`"), "{e}");
        let e = Config::parse(r#"{"users":[{"user":"a"}],"keyspaces":{"k":{"backend":{"url":"postgres://r@h/d"}}}}"#)
            .expect_err("not mysql");
        assert!(e.contains("must be a mysql://"), "{e}");
        let e = Config::parse(
            r#"{"users":[{"user":"a"}],"keyspaces":{"k":{"backend":{"url":"mysql://r@h/d"},"colour":1}}}"#,
        )
        .expect_err("unknown field");
        assert!(e.contains("unknown field `colour`"), "{e}");
    }

    #[test]
    fn sharded_keyspaces() {
        let config = |mode: &str, sharded: bool, fks: &str| {
            Config::parse(&format!(
                r#"{{"users":[{{"user":"a"}}],"keyspaces":{{"k":{{"sharded":{sharded},"foreignKeyMode":"{mode}",
                    "backend":{{"url":"mysql://r@h/d"}}{fks}}}}}}}"#
            ))
        };
        let fks = r#","foreignKeys":[{"table":"orders","columns":["customer_id"],"referenced_table":"customer"}]"#;
        let c = config("unmanaged", true, fks).expect("valid");
        let spec = &c.keyspace_specs().expect("specs")[0];
        assert!(spec.sharded);
        assert_eq!(spec.declared_fks.len(), 1);
        assert_eq!(spec.declared_fks[0].spec.referenced_table, "customer");
        assert_eq!(spec.declared_actions, [DeclaredActions::default()]);
        let managed = config(
            "managed",
            true,
            r#","foreignKeys":[{"table":"o","columns":["c"],"referenced_table":"p",
                "on_delete":"CASCADE","on_update":"SET NULL"}]"#,
        )
        .expect("managed sharded keyspaces are built");
        let spec = &managed.keyspace_specs().expect("specs")[0];
        assert_eq!(spec.mode, FkMode::Managed);
        assert_eq!(
            spec.declared_actions,
            [DeclaredActions {
                on_delete: Some(tether_schema::FkAction::Cascade),
                on_update: Some(tether_schema::FkAction::SetNull),
            }]
        );
        assert_eq!(
            config("unmanaged", false, fks).expect_err("unsharded"),
            "keyspace `k`: `foreignKeys` is read for sharded keyspaces only (`\"sharded\": true`)"
        );
        let e = config(
            "disallow",
            true,
            r#","foreignKeys":[{"table":"t","columns":["a"],"referenced_table":"p","ondelete":"x"}]"#,
        )
        .expect_err("unknown key");
        assert!(
            e.starts_with("unknown field `ondelete`, expected one of `name`, `table`"),
            "{e}"
        );
        let e = config(
            "managed",
            true,
            r#","foreignKeys":[{"table":"t","columns":["a"],"referenced_table":"p","on_delete":"DROP"}]"#,
        )
        .expect_err("unknown action");
        assert!(e.starts_with("unknown variant `DROP`"), "{e}");
        let e = config(
            "managed",
            true,
            r#","foreignKeys":[{"table":"t","columns":["a"],"referenced_table":"p","on_update":"SET DEFAULT"}]"#,
        )
        .expect_err("SET DEFAULT");
        assert!(
            e.starts_with("keyspace `k`: foreignKeys[0] (`t` -> `p`): `on_update` \"SET DEFAULT\" is not supported"),
            "{e}"
        );
    }
}
