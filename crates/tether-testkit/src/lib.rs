//! Scratch databases for tests, on real servers.
//!
//! `scripts/test` exports `TETHER_TEST_PG_URL` and `TETHER_TEST_MYSQL_URL` (admin
//! URLs); without them the local defaults are used (127.0.0.1:5432 as `postgres`,
//! 127.0.0.1:3306 as `root`). Each [`TestDb`] has a unique name and is dropped when
//! the value is, so tests can run in parallel and be repeated.

pub mod spider;
pub mod tls;
pub mod webdriver;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use mysql_async::prelude::Queryable;
use tether_connect::{DbUrl, Engine};

pub use tether_connect::Engine as TestEngine;

/// The admin URL of the test PostgreSQL server.
pub fn pg_admin_url() -> String {
    std::env::var("TETHER_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The admin URL of the test MariaDB/MySQL server.
pub fn mysql_admin_url() -> String {
    std::env::var("TETHER_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/".into())
}

/// `../shared/datasets/chinook` from the repository root, when it is there.
pub fn chinook_dir() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let dir = root.join("shared/datasets/chinook");
    dir.join("chinook.sqlite")
        .is_file()
        .then(|| dir.canonicalize().unwrap_or(dir))
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "tether_t{}_{}_{:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// A database that exists for the life of the value.
pub struct TestDb {
    pub engine: Engine,
    /// The URL to give Tether (no password in the default set-up).
    pub url: String,
    pub name: String,
    _dir: Option<tempdir::TempDir>,
}

mod tempdir {
    /// A directory removed on drop.
    pub struct TempDir(pub std::path::PathBuf);
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A fresh, empty scratch directory under the system's temp dir, named
/// `tether_{name}_{pid}_{n}` and removed with everything in it on drop (also when
/// the test fails), so test runs leave nothing behind.
pub struct ScratchDir(tempdir::TempDir);

impl ScratchDir {
    pub fn new(name: &str) -> ScratchDir {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("tether_{name}_{}_{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("scratch dir {}: {e}", dir.display()));
        ScratchDir(tempdir::TempDir(dir))
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0 .0
    }
}

impl std::ops::Deref for ScratchDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        self.path()
    }
}

impl AsRef<std::path::Path> for ScratchDir {
    fn as_ref(&self) -> &std::path::Path {
        self.path()
    }
}

/// Runs `f` to completion on a runtime of its own (tests are synchronous; the
/// databases' clients are async).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

async fn pg_client(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| {
            panic!("test PostgreSQL at {url} is not reachable: {e}; run the tests through scripts/test")
        });
    tokio::spawn(conn);
    client
}

async fn my_conn(url: &str) -> mysql_async::Conn {
    mysql_async::Conn::from_url(url)
        .await
        .unwrap_or_else(|e| panic!("test MariaDB at {url} is not reachable: {e}; run the tests through scripts/test"))
}

fn with_db(admin: &str, db: &str) -> String {
    let base = admin.trim_end_matches('/');
    match base.rfind('/') {
        Some(i) if base[..i].ends_with('/') => format!("{base}/{db}"),
        Some(i) => format!("{}/{db}", &base[..i]),
        None => format!("{base}/{db}"),
    }
}

impl TestDb {
    /// Creates an empty database on the engine's test server (a temp file for SQLite).
    pub fn create(engine: Engine) -> TestDb {
        let name = unique_name();
        match engine {
            Engine::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).expect("temp dir");
                let path = dir.join("db.sqlite");
                rusqlite::Connection::open(&path).expect("create sqlite file");
                TestDb {
                    engine,
                    url: format!("sqlite://{}", path.display()),
                    name,
                    _dir: Some(tempdir::TempDir(dir)),
                }
            }
            Engine::Postgres => {
                let admin = pg_admin_url();
                block_on(async {
                    pg_client(&admin)
                        .await
                        .batch_execute(&format!("CREATE DATABASE {name}"))
                        .await
                        .expect("create database");
                });
                TestDb {
                    engine,
                    url: with_db(&admin, &name),
                    name,
                    _dir: None,
                }
            }
            Engine::Mysql => {
                let admin = mysql_admin_url();
                block_on(async {
                    let mut c = my_conn(&admin).await;
                    c.query_drop(format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"))
                        .await
                        .expect("create database");
                    let _ = c.disconnect().await;
                });
                TestDb {
                    engine,
                    url: with_db(&admin, &name),
                    name,
                    _dir: None,
                }
            }
        }
    }

    /// Runs a script of several statements.
    pub fn exec(&self, script: &str) {
        exec_url(self.engine, &self.url, script)
    }

    /// Rows of a query, every value as text (NULL as `None`).
    pub fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        query_url(self.engine, &self.url, sql)
    }

    /// The parsed URL.
    pub fn db_url(&self) -> DbUrl {
        DbUrl::parse(&self.url).expect("test URLs parse")
    }
}

/// Runs a script of several statements on the database of `url`.
pub fn exec_url(engine: Engine, url: &str, script: &str) {
    match engine {
        Engine::Sqlite => {
            let path = url.trim_start_matches("sqlite://");
            let c = rusqlite::Connection::open(path).expect("open sqlite");
            c.execute_batch(script)
                .unwrap_or_else(|e| panic!("sqlite script failed: {e}"));
        }
        Engine::Postgres => block_on(async {
            pg_client(url)
                .await
                .batch_execute(script)
                .await
                .unwrap_or_else(|e| panic!("postgres script failed: {e:?}"));
        }),
        Engine::Mysql => block_on(async {
            let mut c = my_conn(url).await;
            c.query_drop(script)
                .await
                .unwrap_or_else(|e| panic!("mysql script failed: {e}"));
            let _ = c.disconnect().await;
        }),
    }
}

/// Rows of a query on the database of `url`, every value as text (NULL as `None`).
pub fn query_url(engine: Engine, url: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    match engine {
        Engine::Sqlite => {
            let path = url.trim_start_matches("sqlite://");
            let c = rusqlite::Connection::open(path).expect("open sqlite");
            let mut s = c.prepare(sql).expect("prepare");
            let n = s.column_count();
            s.query_map([], |r| {
                (0..n)
                    .map(|i| {
                        let v: rusqlite::types::Value = r.get(i)?;
                        Ok(match v {
                            rusqlite::types::Value::Null => None,
                            rusqlite::types::Value::Integer(i) => Some(i.to_string()),
                            rusqlite::types::Value::Real(f) => Some(f.to_string()),
                            rusqlite::types::Value::Text(t) => Some(t),
                            rusqlite::types::Value::Blob(b) => Some(format!("{b:?}")),
                        })
                    })
                    .collect()
            })
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
        }
        Engine::Postgres => block_on(async {
            let c = pg_client(url).await;
            let msgs = c
                .simple_query(sql)
                .await
                .unwrap_or_else(|e| panic!("postgres query failed: {e:?}"));
            msgs.into_iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => {
                        Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
                    }
                    _ => None,
                })
                .collect()
        }),
        Engine::Mysql => block_on(async {
            let mut c = my_conn(url).await;
            let rows: Vec<mysql_async::Row> = c.query(sql).await.unwrap_or_else(|e| panic!("mysql query failed: {e}"));
            let _ = c.disconnect().await;
            rows.into_iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| match r.as_ref(i) {
                            Some(mysql_async::Value::NULL) | None => None,
                            Some(mysql_async::Value::Bytes(b)) => Some(String::from_utf8_lossy(b).into_owned()),
                            Some(v) => Some(v.as_sql(true).trim_matches('\'').to_string()),
                        })
                        .collect()
                })
                .collect()
        }),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let engine = self.engine;
        // Drop from a thread of its own: the test may be inside a runtime.
        let _ = std::thread::spawn(move || match engine {
            Engine::Sqlite => {}
            Engine::Postgres => block_on(async {
                let _ = pg_client(&pg_admin_url())
                    .await
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
            }),
            Engine::Mysql => block_on(async {
                let mut c = my_conn(&mysql_admin_url()).await;
                let _ = c.query_drop(format!("DROP DATABASE IF EXISTS {name}")).await;
                let _ = c.disconnect().await;
            }),
        })
        .join();
    }
}

/// Loads a Chinook script (`chinook_postgresql.sql` or `chinook_mysql.sql`) into
/// `db`, skipping the lines that create, drop and switch databases.
pub fn load_chinook_script(db: &TestDb, file: &str) {
    let dir = chinook_dir().expect("chinook is present");
    let text = std::fs::read_to_string(dir.join(file)).expect("read chinook script");
    let kept: String = text
        .lines()
        .filter(|l| {
            let u = l.trim_start().to_ascii_uppercase();
            !(u.starts_with("DROP DATABASE")
                || u.starts_with("CREATE DATABASE")
                || u.starts_with("USE ")
                || u.starts_with("\\C"))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    db.exec(&kept);
}

/// Runs a binary (a test's `env!("CARGO_BIN_EXE_tether")`) with `args`: exit code,
/// stdout, stderr.
pub fn run(bin: &str, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(bin)
        .args(args)
        .output()
        .expect("run the binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
