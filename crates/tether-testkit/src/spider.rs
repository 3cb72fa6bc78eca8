//! A sharded MariaDB for tests: a head MariaDB with the Spider storage engine and two
//! data-node MariaDBs (`log_bin`, `binlog_format=ROW`), on free ports and private data
//! dirs, the head's `CREATE SERVER node1`/`node2` made, and helpers that create
//! sharded (partitioned over the nodes), copied (on every node) and plain tables.
//!
//! [`cluster`] starts one cluster per test process (the first test that asks), killed
//! with the process like the servers of [`crate::tls`]; a test that kills a node starts
//! a cluster of its own ([`Cluster::start`]). Every node listens on a loopback address
//! of its own (127.0.0.2, 127.0.0.3): Spider's internal XA tells the members of a
//! transaction apart by host, not port (two nodes on one host fail COMMIT with 12606).
//!
//! Programs: `TETHER_TEST_MARIADB_BIN_DIR` (mariadbd, mariadb-install-db) and
//! `TETHER_TEST_MARIADB_PLUGIN_DIR` (the dir holding `ha_spider.so`), else the server's
//! compiled-in plugin dir. `scripts/test` installs `mariadb-plugin-spider` and exports both.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tether_connect::Engine;

use crate::tls::{free_port, install_mariadb, mariadbd_command, scratch_dir, spawn_for_life, wait_until};

/// Options every instance of a cluster gets: small redo log and buffer pool (four
/// servers share a small machine).
const SMALL: [&str; 2] = ["--innodb-log-file-size=8M", "--innodb-buffer-pool-size=32M"];

/// Names of the data nodes, as the head's `mysql.servers` knows them.
pub const NODES: [&str; 2] = ["node1", "node2"];

/// One MariaDB server of a cluster.
pub struct Instance {
    /// `head`, or the node's server name (`node1`, ...).
    pub name: String,
    /// The loopback address it listens on.
    pub host: String,
    pub port: u16,
    /// Socket, pid file, error log (`mariadbd.log`); the data dir is `data` in it.
    pub dir: PathBuf,
    /// Options beyond [`mariadbd_command`]'s.
    options: Vec<String>,
    /// The running process, if any.
    pid: Mutex<Option<u32>>,
}

impl Instance {
    /// The admin (`root`, no password) URL of `database` (`""`: none).
    pub fn url(&self, database: &str) -> String {
        format!("mysql://root@{}:{}/{database}", self.host, self.port)
    }

    /// Runs a script in `database` as the admin.
    pub fn exec(&self, database: &str, script: &str) {
        crate::exec_url(Engine::Mysql, &self.url(database), script)
    }

    /// Rows of a query in `database`, every value as text.
    pub fn query(&self, database: &str, sql: &str) -> Vec<Vec<Option<String>>> {
        crate::query_url(Engine::Mysql, &self.url(database), sql)
    }

    /// The server's error log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("mariadbd.log")).unwrap_or_default()
    }

    /// Starts the server on its data dir and port (again, after [`Instance::kill`]:
    /// InnoDB recovers) and waits until root can log in.
    pub fn start(&self) {
        self.spawn();
        self.wait_ready();
    }

    fn spawn(&self) {
        let mut pid = self.pid.lock().expect("instance lock");
        assert!(pid.is_none(), "{} is already running", self.name);
        let mut cmd = mariadbd_command(&self.dir, &self.dir.join("data"), &self.host, self.port);
        cmd.args(SMALL).args(&self.options);
        *pid = Some(spawn_for_life(cmd));
    }

    fn wait_ready(&self) {
        let url = self.url("");
        wait_until(
            &format!("the Spider test server {}", self.name),
            &self.dir.join("mariadbd.log"),
            || {
                crate::block_on(async {
                    use mysql_async::prelude::Queryable;
                    let Ok(mut c) = mysql_async::Conn::from_url(url.as_str()).await else {
                        return false;
                    };
                    let ok = c.query_drop("SELECT 1").await.is_ok();
                    let _ = c.disconnect().await;
                    ok
                })
            },
        );
    }

    /// Kills the server with SIGKILL (a crash: nothing flushed, no clean shutdown)
    /// and waits until the process is gone.
    pub fn kill(&self) {
        let pid = self.pid.lock().expect("instance lock").take();
        let Some(pid) = pid else {
            panic!("{} is not running", self.name)
        };
        // SAFETY: kill(2) on a process this test process started and has not reaped.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGKILL);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        // The starter thread reaps it; the port is free once the process is gone.
        while Path::new(&format!("/proc/{pid}")).exists() {
            assert!(Instant::now() < deadline, "{} did not die", self.name);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A head and its data nodes.
pub struct Cluster {
    pub head: Instance,
    /// In the order of [`NODES`].
    pub nodes: Vec<Instance>,
    /// How long [`Cluster::start`] took.
    pub startup: Duration,
}

/// The cluster of this test process, started by the first test that asks.
pub fn cluster() -> &'static Cluster {
    static C: OnceLock<Cluster> = OnceLock::new();
    C.get_or_init(|| Cluster::start("spider"))
}

/// A data dir made once per process by mariadb-install-db; instances copy it (a copy
/// takes milliseconds, an install seconds).
fn template() -> &'static Path {
    static T: OnceLock<PathBuf> = OnceLock::new();
    T.get_or_init(|| {
        let dir = scratch_dir("spider_template").join("data");
        install_mariadb(&dir, &SMALL);
        dir
    })
}

/// The option that points mariadbd at the Spider plugin's dir, when one is given.
fn plugin_dir_option() -> Option<String> {
    std::env::var("TETHER_TEST_MARIADB_PLUGIN_DIR")
        .ok()
        .filter(|d| !d.is_empty())
        .map(|d| format!("--plugin-dir={d}"))
}

impl Cluster {
    /// Starts a cluster of its own (named `what` in its temp dir), killed with the
    /// test process; the head knows the nodes as `node1` and `node2`.
    pub fn start(what: &str) -> Cluster {
        let began = Instant::now();
        let root = scratch_dir(what);
        let instance = |name: &str, host: String, options: Vec<String>| {
            let dir = root.join(name);
            std::fs::create_dir_all(&dir).expect("instance dir");
            let out = Command::new("cp")
                .arg("-a")
                .arg(template())
                .arg(dir.join("data"))
                .output()
                .expect("cp runs");
            assert!(
                out.status.success(),
                "copy the data dir template: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Instance {
                name: name.to_string(),
                host,
                port: free_port(),
                dir,
                options,
                pid: Mutex::new(None),
            }
        };
        let mut head_options = vec![
            "--plugin-load-add=ha_spider".to_string(),
            // Commit across nodes with XA (see docs/sharding.md).
            "--spider-internal-xa=ON".to_string(),
        ];
        head_options.extend(plugin_dir_option());
        let head = instance("head", "127.0.0.1".into(), head_options);
        let nodes: Vec<Instance> = NODES
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let dir = root.join(name);
                instance(
                    name,
                    format!("127.0.0.{}", i + 2),
                    vec![
                        format!("--log-bin={}", dir.join("binlog").display()),
                        "--binlog-format=ROW".into(),
                        format!("--server-id={}", i + 2),
                    ],
                )
            })
            .collect();
        // Start all, then wait for all: the three start-ups overlap.
        head.spawn();
        for n in &nodes {
            n.spawn();
        }
        head.wait_ready();
        for n in &nodes {
            n.wait_ready();
        }
        let servers: String = nodes
            .iter()
            .map(|n| {
                format!(
                    "CREATE SERVER {} FOREIGN DATA WRAPPER mysql OPTIONS (HOST '{}', PORT {}, USER 'root', PASSWORD ''); ",
                    n.name, n.host, n.port
                )
            })
            .collect();
        head.exec("", &servers);
        let engines = head.query(
            "",
            "SELECT SUPPORT FROM information_schema.ENGINES WHERE ENGINE = 'SPIDER'",
        );
        assert!(
            matches!(engines.first().and_then(|r| r[0].as_deref()), Some("YES" | "DEFAULT")),
            "the head MariaDB has no Spider engine (install mariadb-plugin-spider; scripts/test does); its log:\n{}",
            head.log()
        );
        Cluster {
            head,
            nodes,
            startup: began.elapsed(),
        }
    }

    /// The data node named `name` (`node1`, ...).
    pub fn node(&self, name: &str) -> &Instance {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no data node {name}"))
    }

    /// A database of a unique name on the head and on every node, dropped with the value.
    pub fn create_db(&self) -> ShardedDb<'_> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "tether_s{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        for i in std::iter::once(&self.head).chain(&self.nodes) {
            i.exec("", &format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"));
        }
        ShardedDb { cluster: self, name }
    }
}

/// How a sharded table's rows are spread over its nodes.
#[derive(Debug, Clone)]
pub enum Partitioning {
    /// `PARTITION BY HASH (expr)`, one partition per node.
    Hash(String),
    /// `PARTITION BY KEY (columns)`, one partition per node.
    Key(Vec<String>),
    /// `PARTITION BY RANGE (column)`: partition i holds values below `bounds[i]`,
    /// the last one the rest (one more partition than bounds).
    Range { column: String, bounds: Vec<i64> },
}

/// A database on a cluster: the same name on the head and on every node.
pub struct ShardedDb<'a> {
    pub cluster: &'a Cluster,
    pub name: String,
}

impl ShardedDb<'_> {
    /// The head's URL of this database (what a client, or the gateway, connects to).
    pub fn head_url(&self) -> String {
        self.cluster.head.url(&self.name)
    }

    /// A data node's URL of this database.
    pub fn node_url(&self, node: &str) -> String {
        self.cluster.node(node).url(&self.name)
    }

    /// Runs a script on the head.
    pub fn exec_head(&self, script: &str) {
        self.cluster.head.exec(&self.name, script)
    }

    /// Runs a script on the data node `node`.
    pub fn exec_node(&self, node: &str, script: &str) {
        self.cluster.node(node).exec(&self.name, script)
    }

    /// Rows of a query on the head.
    pub fn query_head(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        self.cluster.head.query(&self.name, sql)
    }

    /// Rows of a query on the data node `node`.
    pub fn query_node(&self, node: &str, sql: &str) -> Vec<Vec<Option<String>>> {
        self.cluster.node(node).query(&self.name, sql)
    }

    fn link(&self, table: &str, servers: &str) -> String {
        format!(
            "wrapper \"mysql\", srv \"{servers}\", database \"{}\", table \"{table}\"",
            self.name
        )
    }

    /// A table sharded over `nodes` (partition i on `nodes[i]`): an InnoDB table
    /// `(node_columns)` on each of those nodes (FKs between tables of one node go
    /// there) and a Spider table `(head_columns)` on the head, partitioned `by`.
    pub fn sharded_table(&self, name: &str, head_columns: &str, node_columns: &str, by: &Partitioning, nodes: &[&str]) {
        for n in nodes {
            self.exec_node(n, &format!("CREATE TABLE {name} ({node_columns}) ENGINE=InnoDB"));
        }
        let (function, bounds) = match by {
            Partitioning::Hash(expr) => (format!("HASH ({expr})"), None),
            Partitioning::Key(cols) => (format!("KEY ({})", cols.join(", ")), None),
            Partitioning::Range { column, bounds } => (format!("RANGE ({column})"), Some(bounds)),
        };
        if let Some(b) = bounds {
            assert_eq!(
                b.len() + 1,
                nodes.len(),
                "RANGE over {nodes:?} needs {} bounds",
                nodes.len() - 1
            );
        }
        let partitions: Vec<String> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let values = match bounds {
                    Some(b) => match b.get(i) {
                        Some(v) => format!(" VALUES LESS THAN ({v})"),
                        None => " VALUES LESS THAN MAXVALUE".into(),
                    },
                    None => String::new(),
                };
                format!("PARTITION p{i}{values} COMMENT = 'srv \"{n}\"'")
            })
            .collect();
        self.exec_head(&format!(
            "CREATE TABLE {name} ({head_columns}) ENGINE=SPIDER COMMENT='wrapper \"mysql\", database \"{}\", table \"{name}\"' \
             PARTITION BY {function} ({})",
            self.name,
            partitions.join(", ")
        ));
    }

    /// A table copied to every node (Spider's multiple links: writes go to all of
    /// them): an InnoDB table `(node_columns)` on each node, a Spider table on the head.
    pub fn copied_table(&self, name: &str, head_columns: &str, node_columns: &str) {
        let names: Vec<&str> = self.cluster.nodes.iter().map(|n| n.name.as_str()).collect();
        for n in &names {
            self.exec_node(n, &format!("CREATE TABLE {name} ({node_columns}) ENGINE=InnoDB"));
        }
        self.exec_head(&format!(
            "CREATE TABLE {name} ({head_columns}) ENGINE=SPIDER COMMENT='{}'",
            self.link(name, &names.join(" "))
        ));
    }

    /// A plain InnoDB table on the head only (unsharded).
    pub fn plain_table(&self, name: &str, columns: &str) {
        self.exec_head(&format!("CREATE TABLE {name} ({columns}) ENGINE=InnoDB"));
    }
}

impl Drop for ShardedDb<'_> {
    fn drop(&mut self) {
        let name = self.name.clone();
        let urls: Vec<String> = std::iter::once(&self.cluster.head)
            .chain(&self.cluster.nodes)
            .map(|i| i.url(""))
            .collect();
        // From a thread of its own: the test may be inside a runtime.
        let _ = std::thread::spawn(move || {
            crate::block_on(async {
                use mysql_async::prelude::Queryable;
                for url in urls {
                    if let Ok(mut c) = mysql_async::Conn::from_url(url.as_str()).await {
                        let _ = c.query_drop(format!("DROP DATABASE IF EXISTS {name}")).await;
                        let _ = c.disconnect().await;
                    }
                }
            })
        })
        .join();
    }
}

/// A managed sharded keyspace `name` over the head `head_url`, as a member of a
/// gateway config's `keyspaces` object (JSON), its VSchema FKs `fks`: (FK name,
/// table, column, referenced table (its `id`), ON DELETE, ON UPDATE).
pub fn managed_keyspace(name: &str, head_url: &str, fks: &[(&str, &str, &str, &str, &str, &str)]) -> String {
    let fks: Vec<String> = fks
        .iter()
        .map(|(fk, table, column, parent, del, upd)| {
            format!(
                r#"{{"name": "{fk}", "table": "{table}", "columns": ["{column}"], "referenced_table": "{parent}",
                    "on_delete": "{del}", "on_update": "{upd}"}}"#
            )
        })
        .collect();
    format!(
        r#""{name}": {{"sharded": true, "foreignKeyMode": "managed", "backend": {{"url": "{head_url}"}},
            "foreignKeys": [{}]}}"#,
        fks.join(", ")
    )
}

/// Two small FK trees, one co-located and one cross-shard, for the routing test and
/// the sharded benchmark: `pa` (HASH id) and its child `ca` (HASH pa_id: each child
/// on its parent's node), `pb` (HASH id) and its child `xb` (HASH id: children
/// anywhere); both FKs ON DELETE / ON UPDATE CASCADE.
pub mod tree {
    use super::{Partitioning, ShardedDb};

    /// (table, columns (head and nodes alike), sharded by).
    pub const TABLES: &[(&str, &str, &str)] = &[
        ("pa", "id INT PRIMARY KEY, v INT NOT NULL DEFAULT 0", "id"),
        (
            "ca",
            "pa_id INT NOT NULL, id INT NOT NULL, v INT NOT NULL DEFAULT 0, PRIMARY KEY (pa_id, id)",
            "pa_id",
        ),
        ("pb", "id INT PRIMARY KEY, v INT NOT NULL DEFAULT 0", "id"),
        (
            "xb",
            "id INT PRIMARY KEY, pb_id INT NOT NULL, v INT NOT NULL DEFAULT 0",
            "id",
        ),
    ];

    /// The FKs, as [`super::managed_keyspace`] takes them.
    pub const FKS: &[(&str, &str, &str, &str, &str, &str)] = &[
        ("ca_pa_fk", "ca", "pa_id", "pa", "CASCADE", "CASCADE"),
        ("xb_pb_fk", "xb", "pb_id", "pb", "CASCADE", "CASCADE"),
    ];

    /// The tables sharded over `nodes` (no FKs on the nodes: the VSchema has them).
    pub fn sharded(db: &ShardedDb, nodes: &[&str]) {
        for (name, columns, by) in TABLES {
            db.sharded_table(name, columns, columns, &Partitioning::Hash((*by).into()), nodes);
        }
    }

    /// The same tables with the FKs in InnoDB, as a script (one MariaDB).
    pub fn innodb_schema() -> String {
        let mut sql = String::new();
        for (name, columns, _) in TABLES {
            sql += &format!("CREATE TABLE {name} ({columns}) ENGINE=InnoDB;\n");
        }
        for (fk, table, column, parent, del, upd) in FKS {
            sql += &format!(
                "ALTER TABLE {table} ADD CONSTRAINT {fk} FOREIGN KEY ({column}) REFERENCES {parent} (id) \
                 ON DELETE {del} ON UPDATE {upd};\n"
            );
        }
        sql
    }
}
