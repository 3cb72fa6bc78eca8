//! Twenty-fourth session, round 2 (review r24g) of the replication checks of
//! `refuse_overlaps`. F4: two unrelated MariaDB servers at the default server_id 1 with
//! binary logs were hard-refused once the destination's counter passed the source's:
//! the source's own GTIDs counted as "applied from the destination". F3: a chain
//! destination -> relay -> source where the relay wrote last: the source's
//! gtid_slave_pos names only the relay, and a login that could read the channels got
//! "does not replicate": the source was truncated.

mod common;

use common::*;
use tether_testkit::{exec_url, query_url, TestEngine as Engine};

/// `tether plan`'s check: the plan alone (it refuses as the sync does).
fn plan(job: &str) -> Result<(), tether_sync::SyncError> {
    let job = tether_sync::Job::parse("job.toml", job, &|_| None)?;
    tether_testkit::block_on(async {
        let prepared = tether_sync::prepare(&job).await?;
        prepared.source.close().await;
        Ok(())
    })
}

/// Rows written into the (one) destination.
fn written(report: &tether_sync::Report) -> u64 {
    report.tables.iter().map(|t| t.rows_written.iter().sum::<u64>()).sum()
}

/// A private MariaDB on `port` (own datadir under /tmp/w24G2, started with setsid),
/// killed and removed on drop.
struct Private {
    child: std::process::Child,
    dir: std::path::PathBuf,
    port: u16,
}

impl Private {
    fn start(port: u16, server_id: u32, extra: &[&str]) -> Option<Private> {
        use std::process::{Command, Stdio};
        let install = std::path::Path::new("/usr/bin/mariadb-install-db");
        let server = std::path::Path::new("/usr/sbin/mariadbd");
        if !install.exists() || !server.exists() || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            eprintln!("no private MariaDB on {port}: programs missing or port taken");
            return None;
        }
        let dir = std::path::PathBuf::from(format!("/tmp/w24G2/mariadb_{port}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("tmp")).expect("dir");
        let data = dir.join("data");
        let user = "--user=root";
        let tmp = format!("--tmpdir={}", dir.join("tmp").display());
        let out = Command::new(install)
            .current_dir("/")
            .args(["--no-defaults", &format!("--datadir={}", data.display()), user, &tmp])
            .args(["--auth-root-authentication-method=normal", "--skip-test-db", "--force"])
            .output()
            .expect("mariadb-install-db runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let child = Command::new("setsid")
            .arg(server)
            .args(["--no-defaults", &format!("--datadir={}", data.display())])
            .arg(format!("--socket={}", dir.join("sock").display()))
            .arg(format!("--pid-file={}", dir.join("pid").display()))
            .arg(format!("--log-error={}", dir.join("err").display()))
            .arg(format!("--port={port}"))
            .args(["--bind-address=127.0.0.1", user, &tmp, "--skip-ssl"])
            .arg(format!("--server-id={server_id}"))
            .arg(format!("--log-bin={}", dir.join("binlog").display()))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd starts");
        let me = Private { child, dir, port };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let url = tether_connect::DbUrl::parse(&me.url("mysql")).expect("URL");
            let up = tether_testkit::block_on(async {
                let Ok(c) = tether_connect::Connection::open(&url).await else {
                    return false;
                };
                c.close().await;
                true
            });
            if up {
                return Some(me);
            }
            assert!(std::time::Instant::now() < deadline, "MariaDB on {port} did not start");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    fn url(&self, database: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{database}", self.port)
    }

    fn exec(&self, sql: &str) {
        exec_url(Engine::Mysql, &self.url(""), sql);
    }

    fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        query_url(Engine::Mysql, &self.url(""), sql)
    }

    /// The ids of `database`.t, in order.
    fn ids(&self, database: &str) -> Vec<Vec<Option<String>>> {
        self.query(&format!("SELECT id FROM {database}.t ORDER BY id"))
    }
}

impl Drop for Private {
    fn drop(&mut self) {
        // SIGTERM: mariadbd shuts down cleanly; then reaped.
        let _ = std::process::Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Waits until the replica has applied everything the primary logged.
fn caught_up(primary: &Private, replica: &Private) {
    let pos = primary.query("SELECT @@gtid_binlog_pos")[0][0]
        .clone()
        .unwrap_or_default();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let at = replica.query("SELECT @@gtid_slave_pos")[0][0]
            .clone()
            .unwrap_or_default();
        if at == pos {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the replica did not catch up: {at} vs {pos}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn job(source: &str, dest: &str, extra: &str) -> String {
    format!(
        "source = \"{source}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{dest}\"\ntruncate = true\n{extra}\
         [[subset.targets]]\ntable = \"t\"\nwhere = \"id <= 2\"\n"
    )
}

fn ids(v: &[i32]) -> Vec<Vec<Option<String>>> {
    v.iter().map(|i| vec![Some(i.to_string())]).collect()
}

#[test]
fn two_unrelated_mariadb_servers_at_server_id_1_are_not_taken_for_replicas() {
    let Some(source) = Private::start(24600, 1, &[]) else {
        return;
    };
    let Some(dest) = Private::start(24601, 1, &[]) else {
        return;
    };
    source.exec(
        "CREATE DATABASE w24g2_src; CREATE TABLE w24g2_src.t (id int PRIMARY KEY, v varchar(10)) ENGINE=InnoDB;
         INSERT INTO w24g2_src.t VALUES (1, 'a'), (2, 'b'), (3, 'c');",
    );
    // The destination's counter ahead of the source's, in the same domain and server id.
    dest.exec(
        "CREATE DATABASE w24g2_dst; CREATE TABLE w24g2_dst.t (id int PRIMARY KEY, v varchar(10)) ENGINE=InnoDB;
         INSERT INTO w24g2_dst.t VALUES (9, 'z'); INSERT INTO w24g2_dst.t VALUES (8, 'y');
         INSERT INTO w24g2_dst.t VALUES (7, 'x'); INSERT INTO w24g2_dst.t VALUES (6, 'w');",
    );
    let src_pos = source.query("SELECT @@gtid_binlog_state")[0][0]
        .clone()
        .unwrap_or_default();
    let dst_pos = dest.query("SELECT @@gtid_binlog_state")[0][0]
        .clone()
        .unwrap_or_default();
    let seqno = |p: &str| p.rsplit('-').next().unwrap_or("0").parse::<u64>().unwrap_or(0);
    assert!(src_pos.starts_with("0-1-") && dst_pos.starts_with("0-1-") && seqno(&dst_pos) >= seqno(&src_pos));
    let j = job(&source.url("w24g2_src"), &dest.url("w24g2_dst"), "");
    plan(&j).expect("two unrelated servers: the plan passes");
    let report = sync(&j).expect("and the sync writes");
    assert_eq!(written(&report), 2);
    assert_eq!(dest.ids("w24g2_dst"), ids(&[1, 2]));
    assert_eq!(source.ids("w24g2_src"), ids(&[1, 2, 3]));
}

#[test]
fn a_replica_behind_a_relay_that_wrote_last_is_not_taken_for_independent() {
    let Some(primary) = Private::start(24602, 3, &[]) else {
        return;
    };
    let Some(relay) = Private::start(24603, 4, &["--log-slave-updates"]) else {
        return;
    };
    let Some(source) = Private::start(24604, 5, &[]) else {
        return;
    };
    for (up, down) in [(&primary, &relay), (&relay, &source)] {
        up.exec(
            "SET SESSION sql_log_bin = 0; CREATE USER w24g2_repl@'%' IDENTIFIED BY 'R3plPw'; GRANT REPLICATION SLAVE ON *.* TO w24g2_repl@'%';",
        );
        down.exec(&format!(
            "SET GLOBAL gtid_slave_pos = ''; CHANGE MASTER TO master_host = '127.0.0.1', master_port = {}, \
             master_user = 'w24g2_repl', master_password = 'R3plPw', master_use_gtid = slave_pos; START SLAVE;",
            up.port
        ));
    }
    primary.exec(
        "CREATE DATABASE w24g2_chain; CREATE TABLE w24g2_chain.t (id int PRIMARY KEY, v varchar(10)) ENGINE=InnoDB;
         INSERT INTO w24g2_chain.t VALUES (1, 'a'), (2, 'b'), (3, 'c');",
    );
    caught_up(&primary, &relay);
    // The relay writes something of its own: the source's gtid_slave_pos now names
    // only the relay in domain 0.
    relay.exec(
        "CREATE DATABASE w24g2_relay; CREATE TABLE w24g2_relay.hb (i int); INSERT INTO w24g2_relay.hb VALUES (1);",
    );
    caught_up(&relay, &source);
    let applied = source.query("SELECT @@gtid_slave_pos")[0][0]
        .clone()
        .unwrap_or_default();
    assert!(applied.starts_with("0-4-"), "{applied}");
    assert_eq!(source.ids("w24g2_chain"), ids(&[1, 2, 3]));
    let j = job(&source.url("w24g2_chain"), &primary.url("w24g2_chain"), "");
    for (what, result) in [("plan", plan(&j)), ("sync", sync(&j).map(|_| ()))] {
        let err = result.expect_err(what);
        assert!(matches!(err, tether_sync::SyncError::Plan(_)), "{what}: {err:?}");
        let text = err.to_string();
        assert!(
            text.contains(
                ":24602 (server_id 3)) may replicate into the source mysql://root@127.0.0.1:24604/w24g2_chain: \
                 the destination writes a binary log (it can be a replication primary) and the source is a replica \
                 (reading from 127.0.0.1:24603 (server_id 4)) whose upstream servers cannot be seen from it"
            ) && text.ends_with("refusing to write into it (nothing was written)"),
            "{what}: {text}"
        );
    }
    assert_eq!(source.ids("w24g2_chain"), ids(&[1, 2, 3]));
    assert_eq!(primary.ids("w24g2_chain"), ids(&[1, 2, 3]));
}
