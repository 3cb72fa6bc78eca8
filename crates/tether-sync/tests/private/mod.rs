//! Private servers for tests that need a server of their own (a standby, a clone, a
//! second MariaDB that reports what the first does): started with setsid on a port of
//! the caller's range, in a directory of their own, killed and removed on drop. None
//! (the test skips, saying why) where the programs are missing or the port is taken.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tether_testkit::{exec_url, query_url, TestEngine as Engine};

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// The postgres system user's ids where the tests run as root (initdb and postgres
/// refuse to).
fn pg_owner() -> Option<(u32, u32)> {
    let id = |args: &[&str]| {
        Command::new("id")
            .args(args)
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<u32>().ok())
    };
    match id(&["-u"]) {
        Some(0) => Some((id(&["-u", "postgres"])?, id(&["-g", "postgres"])?)),
        _ => None,
    }
}

fn port_taken(host: &str, port: u16) -> bool {
    std::net::TcpStream::connect((host, port)).is_ok()
}

fn wait_for(what: &str, log: &Path, mut up: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !up() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start; its log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn connects(url: &str) -> bool {
    let url = tether_connect::DbUrl::parse(url).expect("URL");
    tether_testkit::block_on(async {
        match tether_connect::Connection::open(&url).await {
            Ok(c) => {
                c.close().await;
                true
            }
            Err(_) => false,
        }
    })
}

/// A private PostgreSQL 15 (user `postgres`, trust on 127.0.0.1).
pub struct Pg {
    child: Child,
    dir: PathBuf,
    pub port: u16,
}

impl Pg {
    /// A new cluster (initdb) on `port`, `conf` appended to its postgresql.conf.
    pub fn init(root: &str, port: u16, conf: &str) -> Option<Pg> {
        let dir = Pg::prepare(root, port)?;
        let mut initdb = Command::new(format!("{PG_BIN}/initdb"));
        initdb
            .current_dir("/")
            .args([
                "-D",
                &dir.join("data").to_string_lossy(),
                "-U",
                "postgres",
                "--auth=trust",
            ])
            .args(["-E", "UTF8", "--no-locale", "--no-sync"]);
        Pg::run(&mut initdb, "initdb");
        Some(Pg::start(dir, port, conf))
    }

    /// A copy of `of` made by `pg_basebackup` on `port`: a standby streaming from it
    /// (`standby`, `-R`), or a cluster of its own (the same system identifier).
    pub fn base_backup(root: &str, of: &Pg, port: u16, standby: bool) -> Option<Pg> {
        let dir = Pg::prepare(root, port)?;
        let mut backup = Command::new(format!("{PG_BIN}/pg_basebackup"));
        backup
            .current_dir("/")
            .args(["-h", "127.0.0.1", "-p", &of.port.to_string(), "-U", "postgres"])
            .args([
                "-D",
                &dir.join("data").to_string_lossy(),
                "-X",
                "stream",
                "--no-sync",
                "--checkpoint=fast",
            ]);
        if standby {
            backup.arg("-R");
        }
        Pg::run(&mut backup, "pg_basebackup");
        Some(Pg::start(dir, port, ""))
    }

    fn prepare(root: &str, port: u16) -> Option<PathBuf> {
        if !Path::new(PG_BIN).join("postgres").exists() || port_taken("127.0.0.1", port) {
            eprintln!("no private PostgreSQL on {port}: programs missing or port taken");
            return None;
        }
        let dir = PathBuf::from(format!("{root}/pg_{port}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        if let Some((uid, gid)) = pg_owner() {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown");
        }
        Some(dir)
    }

    fn run(cmd: &mut Command, what: &str) {
        if let Some((uid, gid)) = pg_owner() {
            cmd.uid(uid).gid(gid);
        }
        let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn start(dir: PathBuf, port: u16, conf: &str) -> Pg {
        let data = dir.join("data");
        let path = data.join("postgresql.conf");
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        std::fs::write(
            &path,
            format!(
                "{old}\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
                 fsync = off\nfull_page_writes = off\n{conf}\n",
                dir.display()
            ),
        )
        .expect("postgresql.conf");
        let log = dir.join("log");
        let file = std::fs::File::create(&log).expect("log");
        if let Some((uid, gid)) = pg_owner() {
            std::os::unix::fs::chown(&log, Some(uid), Some(gid)).expect("chown");
        }
        let mut server = Command::new("setsid");
        server
            .current_dir("/")
            .arg(format!("{PG_BIN}/postgres"))
            .args(["-D", &data.to_string_lossy()])
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log"))
            .stderr(file);
        if let Some((uid, gid)) = pg_owner() {
            server.uid(uid).gid(gid);
        }
        let child = server.spawn().expect("postgres starts");
        let pg = Pg { child, dir, port };
        wait_for(&format!("PostgreSQL on {port}"), &log, || connects(&pg.url("postgres")));
        pg
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    pub fn exec(&self, database: &str, sql: &str) {
        exec_url(Engine::Postgres, &self.url(database), sql);
    }

    pub fn query(&self, database: &str, sql: &str) -> Vec<Vec<Option<String>>> {
        query_url(Engine::Postgres, &self.url(database), sql)
    }

    /// Waits until `standby` has replayed everything this server wrote.
    pub fn caught_up(&self, standby: &Pg) {
        let lsn = self.query("postgres", "SELECT pg_current_wal_lsn()::text")[0][0].clone();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let behind = standby.query(
                "postgres",
                &format!(
                    "SELECT pg_wal_lsn_diff('{}', pg_last_wal_replay_lsn()) > 0",
                    lsn.clone().unwrap_or_default()
                ),
            );
            if behind[0][0].as_deref() == Some("f") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the standby on {} did not catch up",
                standby.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        // SIGINT: a fast shutdown; then reaped.
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A private MariaDB (root without a password), listening on `host`:`port`.
pub struct Maria {
    child: Child,
    dir: PathBuf,
    pub host: String,
    pub port: u16,
}

impl Maria {
    /// Installed in `root/mariadb_<host>_<port>/data`; started with `--datadir=` `datadir`
    /// when given (a symlink the caller points at the data), so two servers can report
    /// one data directory; with `server_id`, a binary log too; `extra` options last.
    pub fn start(
        root: &str,
        host: &str,
        port: u16,
        datadir: Option<&Path>,
        server_id: Option<u32>,
        extra: &[&str],
    ) -> Option<Maria> {
        let install = Path::new("/usr/bin/mariadb-install-db");
        let server = Path::new("/usr/sbin/mariadbd");
        if !install.exists() || !server.exists() || port_taken(host, port) {
            eprintln!("no private MariaDB on {host}:{port}: programs missing or port taken");
            return None;
        }
        let dir = PathBuf::from(format!("{root}/mariadb_{host}_{port}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("tmp")).expect("dir");
        let data = dir.join("data");
        let (user, tmp) = ("--user=root", format!("--tmpdir={}", dir.join("tmp").display()));
        let out = Command::new(install)
            .current_dir("/")
            .args(["--no-defaults", &format!("--datadir={}", data.display()), user, &tmp])
            .args(["--auth-root-authentication-method=normal", "--skip-test-db", "--force"])
            .output()
            .expect("mariadb-install-db runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        if let Some(link) = datadir {
            let _ = std::fs::remove_file(link);
            std::os::unix::fs::symlink(&data, link).expect("symlink");
        }
        let shown = datadir.unwrap_or(&data);
        let binlog = match server_id {
            Some(id) => vec![
                format!("--server-id={id}"),
                format!("--log-bin={}", dir.join("binlog").display()),
            ],
            None => vec![],
        };
        let child = Command::new("setsid")
            .arg(server)
            .args(["--no-defaults", &format!("--datadir={}", shown.display())])
            .arg(format!("--socket={}", dir.join("sock").display()))
            .arg(format!("--pid-file={}", dir.join("pid").display()))
            .arg(format!("--log-error={}", dir.join("err").display()))
            .arg(format!("--port={port}"))
            .arg(format!("--bind-address={host}"))
            .args([user, &tmp, "--skip-ssl"])
            .args(binlog)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd starts");
        let me = Maria {
            child,
            dir,
            host: host.to_string(),
            port,
        };
        let err = me.dir.join("err");
        wait_for(&format!("MariaDB on {host}:{port}"), &err, || {
            connects(&me.url("mysql"))
        });
        Some(me)
    }

    pub fn url(&self, database: &str) -> String {
        format!("mysql://root@{}:{}/{database}", self.host, self.port)
    }

    pub fn exec(&self, sql: &str) {
        exec_url(Engine::Mysql, &self.url(""), sql);
    }

    pub fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        query_url(Engine::Mysql, &self.url(""), sql)
    }

    /// Waits until `replica` has applied everything this server logged (GTIDs).
    pub fn caught_up(&self, replica: &Maria) {
        let pos = self.query("SELECT @@gtid_binlog_pos")[0][0].clone().unwrap_or_default();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let at = replica.query("SELECT @@gtid_slave_pos")[0][0]
                .clone()
                .unwrap_or_default();
            if at == pos {
                return;
            }
            assert!(Instant::now() < deadline, "the replica did not catch up: {at} vs {pos}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Maria {
    fn drop(&mut self) {
        // SIGTERM: mariadbd shuts down cleanly; then reaped.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
