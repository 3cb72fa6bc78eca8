//! Which database a URL reaches, as the server (or the file system) says, not as the
//! URL spells it: `localhost` and `127.0.0.1`, a socket and a port, a symlink and a hard
//! link all lead to the same database. A job uses it to refuse writing into its own
//! source, or twice into one database.

use std::fmt;
use std::path::{Path, PathBuf};

use tether_schema::DataType;

use crate::error::ConnectError;
use crate::url::DbUrl;
use crate::value::Value;
use crate::Connection;

/// One database, identified by its server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A SQLite file: its canonical path, and its device and inode when it exists
    /// (the same file under another name, through a hard link, has the same).
    SqliteFile { path: PathBuf, file: Option<(u64, u64)> },
    /// `:memory:`: a new database on every connection, the same as nothing else.
    SqliteMemory,
    /// A PostgreSQL database: the cluster's `system_identifier` (or, where the role may
    /// not read it, the server's address and port as it reports them) and the database.
    Postgres { cluster: String, database: String },
    /// A MariaDB/MySQL database: the server's host name, port and data directory as it
    /// reports them, and the database (lower-cased where the server folds case).
    Mysql { server: String, database: String },
}

impl Identity {
    /// True when both are the same database.
    pub fn same_as(&self, other: &Identity) -> bool {
        match (self, other) {
            (Identity::SqliteFile { path: a, file: fa }, Identity::SqliteFile { path: b, file: fb }) => {
                a == b || (fa.is_some() && fa == fb)
            }
            (Identity::SqliteMemory, _) | (_, Identity::SqliteMemory) => false,
            _ => self == other,
        }
    }

    /// When one of the two is a file SQLite keeps beside the other database (its
    /// rollback journal `<db>-journal`, write-ahead log `<db>-wal` or shared memory
    /// `<db>-shm`), either way round: which, naming both paths. The next connection to
    /// that database takes such a file for its own, deletes it or replays it into the
    /// database, so a copy stored there is lost or corrupts the other. Compared as
    /// [`Self::same_as`] does: canonical paths, or device and inode where the file exists.
    pub fn side_file(&self, other: &Identity) -> Option<String> {
        let beside = |side: &Identity, main: &Identity| {
            let (Identity::SqliteFile { path, file }, Identity::SqliteFile { path: db, .. }) = (side, main) else {
                return None;
            };
            SIDE_FILES.iter().find_map(|(suffix, what)| {
                let mut name = db.clone().into_os_string();
                name.push(suffix);
                let expected = PathBuf::from(name);
                let same_file = file.is_some() && *file == file_id(&expected);
                (*path == expected || same_file).then(|| {
                    let through = match *path == expected {
                        true => String::new(),
                        false => format!(", the same file as {}", expected.display()),
                    };
                    format!(
                        "the SQLite file {} is the {what} of the SQLite database {}{through}",
                        path.display(),
                        db.display(),
                    )
                })
            })
        };
        beside(self, other).or_else(|| beside(other, self))
    }

    /// Whether this identity tells its database from every other by itself: not where
    /// PostgreSQL's cluster could only be named by the address the server reports (a
    /// role that may not run `pg_control_system()`): one database reached over TCP and
    /// over a socket then looks like two, and only a probe can tell.
    pub fn decisive(&self) -> bool {
        match self {
            Identity::Postgres { cluster, .. } => cluster.starts_with("with system identifier"),
            _ => true,
        }
    }

    /// Whether both name the same database on their servers (PostgreSQL: the probe
    /// lock already says same database; MariaDB/MySQL: names compared as the server
    /// compares them, recorded lowercased where it folds case).
    pub fn same_database_name(&self, other: &Identity) -> bool {
        match (self, other) {
            (Identity::Postgres { .. }, Identity::Postgres { .. }) => true,
            (Identity::Mysql { database: a, .. }, Identity::Mysql { database: b, .. }) => a == b,
            _ => false,
        }
    }
}

/// The files SQLite keeps beside a database `x.db` while it writes to it, by the suffix
/// it appends to the database's full path (symlinks resolved, as SQLite resolves them).
const SIDE_FILES: [(&str, &str); 3] = [
    ("-journal", "rollback journal"),
    ("-wal", "write-ahead log"),
    ("-shm", "shared-memory file"),
];

impl fmt::Display for Identity {
    /// How the two were found to be one, for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identity::SqliteFile { path, file } => {
                write!(f, "the SQLite file {}", path.display())?;
                if let Some((dev, ino)) = file {
                    write!(f, " (device {dev}, inode {ino})")?;
                }
                Ok(())
            }
            Identity::SqliteMemory => f.write_str("an in-memory SQLite database"),
            Identity::Postgres { cluster, database } => {
                write!(f, "database `{database}` of the PostgreSQL cluster {cluster}")
            }
            Identity::Mysql { server, database } => {
                write!(f, "database `{database}` of the MariaDB/MySQL server {server}")
            }
        }
    }
}

/// The database `url` reaches. SQLite files are not opened (nor created); servers are
/// asked on a connection of their own.
pub async fn identify(url: &DbUrl) -> Result<Identity, ConnectError> {
    identify_probing(url, None).await.map(|(id, _)| id)
}

/// What a session holds for others to find ([`Connection::hold_probe`]): PostgreSQL,
/// its `application_name` set to a name of the key (`pg_stat_activity` shows it to every
/// role) and, where the role may take it, an advisory lock; MariaDB/MySQL, a named lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub key: i64,
    /// The lock is held (PostgreSQL: else the name alone is).
    pub locked: bool,
}

/// [`identify`], and whether the `probe` (held by [`Connection::hold_probe`] on another
/// connection) is seen from `url`'s server: on PostgreSQL that means the same database
/// of the same cluster (advisory locks and the session's database belong to a
/// database); on MariaDB/MySQL the same server (named locks are server-wide). Any role
/// can do this, whatever name, address or socket reached the server. `None`: not asked,
/// or the role may not look (unknown, never "different").
pub async fn identify_probing(url: &DbUrl, probe: Option<Probe>) -> Result<(Identity, Option<bool>), ConnectError> {
    match url {
        DbUrl::Sqlite { path } => Ok((sqlite(path), None)),
        _ => {
            let mut conn = Connection::open(url).await?;
            let id = conn.identity().await;
            let taken = match (probe, &id) {
                (Some(p), Ok(_)) => conn.probe_taken(p).await.ok(),
                _ => None,
            };
            conn.close().await;
            id.map(|id| (id, taken))
        }
    }
}

/// What [`identify_holding`] found of one database.
pub struct Reached {
    pub id: Identity,
    /// Per probe asked for: seen (`Some(true)`), not seen, or unknown (the role may not look).
    pub taken: Vec<Option<bool>>,
    /// The open connection and the probe it holds, where it could hold one.
    pub held: Option<(Connection, Probe)>,
    /// MariaDB/MySQL: what the server says of itself, for replication checks.
    pub marks: Option<crate::replication::ServerMarks>,
    /// PostgreSQL: a standby (in recovery), or unknown ([`Connection::in_recovery`]);
    /// Some(false) on other engines.
    pub in_recovery: Option<bool>,
    /// PostgreSQL: what the database publishes ([`Connection::logical`]).
    pub logical: Option<crate::pg_replication::Logical>,
}

/// [`identify_probing`] for several probes, keeping the connection: which of `probes`
/// are seen from `url`'s server, and the open connection, holding the probe `own`
/// where it could (a later database is probed against it while the connection stays
/// open; [`Connection::close`] lets it go). SQLite: no connection.
pub async fn identify_holding(url: &DbUrl, probes: &[Probe], own: i64) -> Result<Reached, ConnectError> {
    let host = match url {
        DbUrl::Sqlite { path } => {
            return Ok(Reached {
                id: sqlite(path),
                taken: vec![Some(false); probes.len()],
                held: None,
                marks: None,
                in_recovery: Some(false),
                logical: None,
            })
        }
        DbUrl::Postgres(s) | DbUrl::Mysql(s) => s.host.clone(),
    };
    let mut conn = Connection::open(url).await?;
    let id = match conn.identity().await {
        Ok(id) => id,
        Err(e) => {
            conn.close().await;
            return Err(e);
        }
    };
    let marks = match conn.server_marks(&host).await {
        Ok(m) => m,
        Err(e) => {
            conn.close().await;
            return Err(e);
        }
    };
    let in_recovery = conn.in_recovery().await;
    let logical = conn.logical().await;
    let mut taken = Vec::with_capacity(probes.len());
    for &p in probes {
        taken.push(conn.probe_taken(p).await.ok());
    }
    let held = match conn.hold_probe(own).await {
        Ok(Some(p)) => Some((conn, p)),
        _ => {
            conn.close().await;
            None
        }
    };
    Ok(Reached {
        id,
        taken,
        held,
        marks,
        in_recovery,
        logical,
    })
}

fn sqlite(path: &Path) -> Identity {
    let text = path.to_string_lossy();
    if text.is_empty() || text == ":memory:" || text.starts_with("file::memory:") {
        return Identity::SqliteMemory;
    }
    let path = match path.canonicalize() {
        Ok(p) => p,
        // Not there yet (or a symlink to a file not there yet): where it will be.
        Err(_) => resolved(path),
    };
    Identity::SqliteFile {
        file: file_id(&path),
        path,
    }
}

/// Where `path` leads, for a file that may not exist yet, as `realpath` resolves it:
/// component by component, each symlink followed (a dangling one too: SQLite creates
/// its target), `.` dropped and `..` taken from the directory reached so far (where a
/// directory is not there yet, lexically: `new/../new/x.db` is `new/x.db`).
fn resolved(path: &Path) -> PathBuf {
    use std::path::Component;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    // Components still to walk, last first.
    let mut pending: Vec<PathBuf> = absolute
        .components()
        .rev()
        .map(|c| PathBuf::from(c.as_os_str()))
        .collect();
    let mut out = PathBuf::new();
    // As many symlinks as Linux follows in one path before ELOOP.
    let mut hops = 40;
    while let Some(part) = pending.pop() {
        match part.components().next() {
            Some(Component::CurDir) | None => {}
            Some(Component::ParentDir) => {
                out.pop();
            }
            Some(Component::Normal(name)) => {
                let next = out.join(name);
                match std::fs::read_link(&next) {
                    Ok(target) if hops > 0 => {
                        hops -= 1;
                        if target.is_absolute() {
                            out = PathBuf::new();
                        }
                        pending.extend(target.components().rev().map(|c| PathBuf::from(c.as_os_str())));
                    }
                    _ => out = next,
                }
            }
            Some(_) => out.push(&part),
        }
    }
    out
}

#[cfg(unix)]
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(_path: &Path) -> Option<(u64, u64)> {
    None
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::Text(t)) => t.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.display(),
    }
}

impl Connection {
    /// Holds the probe `key` for other sessions to find ([`Probe`]): on PostgreSQL
    /// this session's `application_name` becomes `tether_probe_<key>` (any role may) and
    /// the advisory lock `key` is taken where the role may; on MariaDB/MySQL the named
    /// lock `tether_probe_<key>` is taken. None on SQLite, or when another session holds
    /// the lock already.
    pub async fn hold_probe(&mut self, key: i64) -> Result<Option<Probe>, ConnectError> {
        let lock = match self {
            Connection::Sqlite { .. } => return Ok(None),
            Connection::Postgres { .. } => {
                self.execute(&format!("SET application_name = 'tether_probe_{key}'"))
                    .await?;
                // A role the function is revoked from: the name alone is held. (Not in a
                // transaction here: the failure aborts nothing.)
                let locked = self
                    .query(&format!("SELECT pg_try_advisory_lock({key})::text"), &[DataType::Text])
                    .await
                    .map(|rows| text(rows.first().and_then(|r| r.first())) == "true")
                    .unwrap_or(false);
                return Ok(Some(Probe { key, locked }));
            }
            Connection::Mysql { .. } => format!("SELECT CAST(GET_LOCK('tether_probe_{key}', 0) AS CHAR)"),
        };
        let rows = self.query(&lock, &[DataType::Text]).await?;
        let locked = text(rows.first().and_then(|r| r.first())) == "1";
        Ok(locked.then_some(Probe { key, locked }))
    }

    /// Lets go of the probe taken by [`Self::hold_probe`].
    pub async fn release_probe(&mut self, probe: Probe) -> Result<(), ConnectError> {
        let key = probe.key;
        match self {
            Connection::Sqlite { .. } => Ok(()),
            Connection::Postgres { .. } => {
                self.execute("RESET application_name").await?;
                match probe.locked {
                    true => self.execute(&format!("SELECT pg_advisory_unlock({key})")).await,
                    false => Ok(()),
                }
            }
            Connection::Mysql { .. } => self.execute(&format!("DO RELEASE_LOCK('tether_probe_{key}')")).await,
        }
    }

    /// Whether another session holds `probe` (see [`identify_probing`]); an error
    /// where this role may look neither way (unknown).
    pub async fn probe_taken(&mut self, probe: Probe) -> Result<bool, ConnectError> {
        let key = probe.key;
        match self {
            Connection::Sqlite { .. } => Ok(false),
            Connection::Postgres { .. } => {
                // The holder's name in this database, seen by any role that may read
                // pg_stat_activity (application_name is shown for every session).
                let named = self
                    .query(
                        &format!(
                            "SELECT count(*)::text FROM pg_stat_activity WHERE application_name = \
                             'tether_probe_{key}' AND datname = current_database() AND pid <> pg_backend_pid()"
                        ),
                        &[DataType::Text],
                    )
                    .await
                    .map(|rows| text(rows.first().and_then(|r| r.first())) != "0");
                match named {
                    Ok(seen) => Ok(seen),
                    // The lock says "free" for certain only where the holder took it.
                    Err(e) if !probe.locked => Err(e),
                    Err(_) => {
                        let free = self
                            .query(&format!("SELECT pg_try_advisory_lock({key})::text"), &[DataType::Text])
                            .await
                            .map(|rows| text(rows.first().and_then(|r| r.first())) == "true")?;
                        if free {
                            self.execute(&format!("SELECT pg_advisory_unlock({key})")).await?;
                        }
                        Ok(!free)
                    }
                }
            }
            Connection::Mysql { .. } => {
                let sql = format!("SELECT CAST(IS_FREE_LOCK('tether_probe_{key}') AS CHAR)");
                let rows = self.query(&sql, &[DataType::Text]).await?;
                Ok(text(rows.first().and_then(|r| r.first())) == "0")
            }
        }
    }

    /// The database this connection is to, as its server says.
    pub async fn identity(&mut self) -> Result<Identity, ConnectError> {
        let texts = [
            DataType::Text,
            DataType::Text,
            DataType::Text,
            DataType::Text,
            DataType::Text,
        ];
        match self {
            Connection::Sqlite { conn, .. } => {
                let conn = conn.clone();
                let path = tokio::task::spawn_blocking(move || {
                    conn.lock()
                        .expect("the SQLite connection lock is never poisoned")
                        .path()
                        .map(str::to_string)
                })
                .await
                .expect("the SQLite task does not panic");
                Ok(sqlite(Path::new(&path.unwrap_or_default())))
            }
            Connection::Postgres { .. } => {
                let database = self.query("SELECT current_database()::text", &texts).await?;
                let database = text(database.first().and_then(|r| r.first()));
                // Readable by any role on PostgreSQL 15; a server that refuses it is
                // identified by where it listens instead.
                let cluster = match self
                    .query("SELECT system_identifier::text FROM pg_control_system()", &texts)
                    .await
                {
                    Ok(rows) => format!("with system identifier {}", text(rows.first().and_then(|r| r.first()))),
                    Err(_) => {
                        let rows = self
                            .query(
                                "SELECT coalesce(host(inet_server_addr()), 'a local socket'), current_setting('port')",
                                &texts,
                            )
                            .await?;
                        let row = rows.first();
                        format!(
                            "at {} port {}",
                            text(row.and_then(|r| r.first())),
                            text(row.and_then(|r| r.get(1)))
                        )
                    }
                };
                Ok(Identity::Postgres { cluster, database })
            }
            Connection::Mysql { .. } => {
                let rows = self
                    .query(
                        "SELECT @@hostname, CAST(@@port AS CHAR), @@datadir, DATABASE(), CAST(@@lower_case_table_names AS CHAR)",
                        &texts,
                    )
                    .await?;
                let row = rows.first();
                let field = |i: usize| text(row.and_then(|r| r.get(i)));
                let database = if field(4) == "0" {
                    field(3)
                } else {
                    field(3).to_lowercase()
                };
                Ok(Identity::Mysql {
                    server: format!("{}:{} (data directory {})", field(0), field(1), field(2)),
                    database,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_files_are_one_under_every_name_and_memory_is_never_shared() {
        let dir = std::env::temp_dir().join(format!("tether_identity_{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("a.db");
        std::fs::write(&file, b"").expect("file");
        let link = dir.join("hard.db");
        let _ = std::fs::remove_file(&link);
        std::fs::hard_link(&file, &link).expect("hard link");
        assert!(sqlite(&file).same_as(&sqlite(
            &dir.join("../").join(dir.file_name().expect("name")).join("a.db")
        )));
        assert!(sqlite(&file).same_as(&sqlite(&link)));
        assert!(!sqlite(&file).same_as(&sqlite(&dir.join("b.db"))));
        assert!(sqlite(&dir.join("new.db")).same_as(&sqlite(&dir.join(".").join("new.db"))));
        assert!(!sqlite(Path::new(":memory:")).same_as(&sqlite(Path::new(":memory:"))));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_sqlite_keeps_beside_a_database_is_found_under_every_name_either_way_round() {
        let dir = std::env::temp_dir().join(format!("tether_identity_side_{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let dir = dir.canonicalize().expect("canonical");
        let (db, wal, hard) = (dir.join("a.db"), dir.join("a.db-wal"), dir.join("copy.db"));
        std::fs::write(&db, b"").expect("file");
        std::fs::write(&wal, b"").expect("wal");
        let _ = std::fs::remove_file(&hard);
        std::fs::hard_link(&wal, &hard).expect("hard link");
        let expected = format!(
            "the SQLite file {} is the write-ahead log of the SQLite database {}",
            wal.display(),
            db.display()
        );
        assert_eq!(sqlite(&wal).side_file(&sqlite(&db)), Some(expected.clone()));
        assert_eq!(sqlite(&db).side_file(&sqlite(&wal)), Some(expected));
        assert_eq!(
            sqlite(&hard).side_file(&sqlite(&db)),
            Some(format!(
                "the SQLite file {} is the write-ahead log of the SQLite database {}, the same file as {}",
                hard.display(),
                db.display(),
                wal.display()
            ))
        );
        assert!(sqlite(&dir.join("a.db-journal")).side_file(&sqlite(&db)).is_some());
        assert_eq!(sqlite(&dir.join("a.db-journal2")).side_file(&sqlite(&db)), None);
        assert_eq!(sqlite(&dir.join("b.db-wal")).side_file(&sqlite(&db)), None);
        assert_eq!(sqlite(&db).side_file(&sqlite(&db)), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
