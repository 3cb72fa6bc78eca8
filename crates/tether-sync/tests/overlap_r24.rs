//! Twenty-fourth session (review r24c): disguises of the source the overlap check
//! missed. F1: a MariaDB replica as source and its primary as destination: what the job
//! wrote into the primary replicated into the source (a subset with `truncate = true`
//! emptied source rows, exit 0). F2: a PostgreSQL role that may run neither
//! `pg_control_system()` nor `pg_try_advisory_lock(bigint)` reached one database over
//! TCP and over the socket: the failed lock probe counted as "different" and the source
//! was truncated. Unknown now never counts as different. F4: `sqlite://:memory:` as a
//! destination.

mod common;
mod private;

use common::*;
use private::Maria;
use tether_testkit::{exec_url, TestDb, TestEngine as Engine};

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

/// `CHECKSUM TABLE` of each table of `database`, and their number.
fn sums(m: &Maria, database: &str) -> Vec<Vec<Option<String>>> {
    let mut v = m.query(&format!(
        "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{database}'"
    ));
    v.extend(m.query(&format!("CHECKSUM TABLE {database}.parent, {database}.child")));
    v
}

#[test]
fn a_mariadb_replica_source_is_never_written_through_its_primary() {
    let Some(primary) = Maria::start("/tmp/w24G", "127.0.0.1", 24330, None, Some(2401), &[]) else {
        return;
    };
    let Some(replica) = Maria::start("/tmp/w24G", "127.0.0.1", 24331, None, Some(2402), &[]) else {
        return;
    };
    primary.exec(
        "CREATE USER w24g_repl@'%' IDENTIFIED BY 'R3plPw'; GRANT REPLICATION SLAVE ON *.* TO w24g_repl@'%';
         CREATE USER w24g_ro@'%' IDENTIFIED BY 'R0Secret'; GRANT SELECT ON *.* TO w24g_ro@'%';
         GRANT ALL ON w24g_other.* TO w24g_ro@'%';",
    );
    replica.exec(
        "SET GLOBAL gtid_slave_pos = ''; CHANGE MASTER TO master_host = '127.0.0.1', master_port = 24330, \
         master_user = 'w24g_repl', master_password = 'R3plPw', master_use_gtid = slave_pos; START SLAVE;",
    );
    primary.exec(
        "CREATE DATABASE w24g_rep; USE w24g_rep;
         CREATE TABLE parent (id int PRIMARY KEY, name varchar(20) NOT NULL) ENGINE=InnoDB;
         CREATE TABLE child (id int PRIMARY KEY, pid int NOT NULL, v varchar(20),
           FOREIGN KEY (pid) REFERENCES parent (id)) ENGINE=InnoDB;
         INSERT INTO parent VALUES (1, 'a'), (2, 'b'); INSERT INTO child VALUES (1, 1, 'x'), (2, 2, 'y');",
    );
    primary.caught_up(&replica);
    let before = sums(&replica, "w24g_rep");
    let primary_before = sums(&primary, "w24g_rep");
    let job = |source: &str, dest: &str, extra: &str| {
        format!(
            "source = \"{source}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{dest}\"\ntruncate = true\n{extra}\
             [[subset.targets]]\ntable = \"child\"\nwhere = \"id = 1\"\n"
        )
    };
    // The reviewer's job: root reads the replica's channel, which names the primary.
    let rep = job(&replica.url("w24g_rep"), &primary.url("w24g_rep"), "");
    // (The sync only once the plan refused: else it would write.)
    let both = |job: &str| {
        let planned = plan(job);
        let synced = match planned {
            Ok(()) => Ok(()),
            Err(_) => sync(job).map(|_| ()),
        };
        [("plan", planned), ("sync", synced)]
    };
    for (what, result) in both(&rep) {
        let err = result.expect_err(what);
        assert!(
            matches!(err, tether_sync::SyncError::Plan(_)),
            "{what}: exit code 2: {err:?}"
        );
        let text = err.to_string();
        assert!(
            text.starts_with("destination #1 mysql://root@127.0.0.1:24330/w24g_rep (")
                && text.contains(":24330 (server_id 2401)) replicates into the source mysql://root@127.0.0.1:24331/w24g_rep: ")
                && text.contains("the source is a replica of it: its replication channel reads from 127.0.0.1:24330 (server_id 2401)")
                && text.ends_with("what is written there would arrive in the source; refusing to write into it (nothing was written)"),
            "{what}: {text}"
        );
    }
    // A login that may not read the channel: the GTIDs the primary wrote, applied by
    // the source, say the same (and hold down a chain of replicas too). No password shown.
    let ro_source = "mysql://w24g_ro:R0Secret@127.0.0.1:24331/w24g_rep";
    let ro = job(ro_source, &primary.url("w24g_rep"), "");
    for (what, result) in both(&ro) {
        let text = result.expect_err(what).to_string();
        assert!(
            text.contains("replicates into the source mysql://w24g_ro:***@127.0.0.1:24331/w24g_rep: the source applied GTID 0-2401-")
                && text.contains(", which the destination (server_id 2401) wrote, so replication carries its writes into the source")
                && !text.contains("R0Secret"),
            "{what}: {text}"
        );
    }
    primary.caught_up(&replica);
    assert_eq!(sums(&replica, "w24g_rep"), before, "the source is unchanged");
    assert_eq!(sums(&primary, "w24g_rep"), primary_before, "nothing was written");

    // The other way round (the primary as source, for a login that may not read where
    // it replicates from) into a database of a server that writes a binary log: Tether
    // cannot tell, so refuses, unless the destination says `assume_distinct = true`.
    replica.exec("CREATE DATABASE w24g_other");
    let ro_primary = "mysql://w24g_ro:R0Secret@127.0.0.1:24330/w24g_rep";
    let other = replica.url("w24g_other");
    let text = plan(&job(ro_primary, &other, ""))
        .expect_err("unknown is refused")
        .to_string();
    assert_eq!(
        text,
        format!(
            "destination #1 {other} ({host}:24331 (server_id 2402)) may replicate into the source \
             mysql://w24g_ro:***@127.0.0.1:24330/w24g_rep: the destination writes a binary log (it can be a \
             replication primary) and the source's login may not read where the source replicates from ({why}). \
             Grant the source's login REPLICA MONITOR (MariaDB) or REPLICATION CLIENT (MySQL), or set \
             `assume_distinct = true` on the destination if it does not replicate into the source (directly or down a \
             chain); refusing to write into \
             it (nothing was written)",
            host = replica.query("SELECT @@hostname")[0][0].clone().unwrap_or_default(),
            why = "server error 1227 (42000): Access denied; you need (at least one of) the SUPER, SLAVE MONITOR \
                   privilege(s) for this operation"
        )
    );
    let report = sync(&job(ro_primary, &other, "assume_distinct = true\n")).expect("vouched for");
    assert_eq!(written(&report), 2);
    assert_eq!(
        replica.query("SELECT id FROM w24g_other.child ORDER BY id"),
        vec![vec![Some("1".to_string())]]
    );
    drop(replica);
    drop(primary);
}

/// PostgreSQL with exactly the reviewer's revocations: the same database over TCP (one
/// role) and over the socket (another) is found by the session name the source sets.
#[test]
fn a_locked_down_postgres_role_cannot_truncate_its_source_through_the_socket() {
    let src = TestDb::create(Engine::Postgres);
    let other = TestDb::create(Engine::Postgres);
    let (u1, u2) = (format!("{}_u1", src.name), format!("{}_u2", src.name));
    let admin = tether_testkit::pg_admin_url();
    exec_url(
        Engine::Postgres,
        &admin,
        &format!("CREATE ROLE {u1} LOGIN; CREATE ROLE {u2} LOGIN"),
    );
    let revoke = format!(
        "REVOKE EXECUTE ON FUNCTION pg_control_system() FROM public;
         REVOKE EXECUTE ON FUNCTION pg_try_advisory_lock(bigint) FROM public;
         CREATE TABLE parent (id int PRIMARY KEY, name text NOT NULL);
         CREATE TABLE child (id int PRIMARY KEY, pid int NOT NULL REFERENCES parent (id), v text);
         ALTER TABLE parent OWNER TO {u2}; ALTER TABLE child OWNER TO {u2};
         GRANT SELECT ON parent, child TO {u1};"
    );
    src.exec(&revoke);
    src.exec("INSERT INTO parent VALUES (1, 'a'), (2, 'b'); INSERT INTO child VALUES (1, 1, 'x'), (2, 2, 'y');");
    other.exec(&revoke);
    let socket_dir = src.query("SHOW unix_socket_directories")[0][0]
        .clone()
        .expect("a socket directory");
    let socket_dir = socket_dir.split(',').next().expect("one").trim().to_string();
    let tether_connect::DbUrl::Postgres(server) = src.db_url() else {
        panic!("{}", src.url)
    };
    let by_address = format!("postgres://{u1}@{}:{}/{}", server.host, server.port, src.name);
    let by_socket = |db: &str| format!("postgres://{u2}@localhost:{}/{db}?host={socket_dir}", server.port);
    let job = |dest: &str, extra: &str| {
        format!("source = \"{by_address}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{dest}\"\ntruncate = true\n{extra}")
    };
    let rows =
        |db: &TestDb| db.query("SELECT p.id, p.name, c.id, c.v FROM parent p JOIN child c ON c.pid = p.id ORDER BY 1");
    let before = rows(&src);
    let same = job(&by_socket(&src.name), "");
    for (what, result) in [("plan", plan(&same)), ("sync", sync(&same).map(|_| ()))] {
        let err = result.expect_err(what);
        assert!(matches!(err, tether_sync::SyncError::Plan(_)), "{what}: {err:?}");
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "destination #1 {} is the source {by_address}: its server sees the source's session",
                by_socket(&src.name)
            )) && text.ends_with("refusing to write into it (nothing was written)"),
            "{what}: {text}"
        );
    }
    assert_eq!(rows(&src), before, "the source is unchanged");
    // Where pg_stat_activity may not be read either, nothing can tell: refused, named.
    src.exec("REVOKE SELECT ON pg_catalog.pg_stat_activity FROM public");
    let text = plan(&same).expect_err("unknown is refused").to_string();
    assert!(
        text.starts_with(&format!(
            "destination #1 {} may be the source {by_address}: Tether cannot tell (",
            by_socket(&src.name)
        )) && text.contains("set `assume_distinct = true` on the destination if it is another database"),
        "{text}"
    );
    assert_eq!(rows(&src), before, "the source is unchanged");
    // Another database, just as locked down: refused, unless the job vouches for it.
    other.exec("REVOKE SELECT ON pg_catalog.pg_stat_activity FROM public");
    let text = plan(&job(&by_socket(&other.name), ""))
        .expect_err("unknown")
        .to_string();
    assert!(text.contains("Tether cannot tell"), "{text}");
    let report = sync(&job(&by_socket(&other.name), "assume_distinct = true\n")).expect("vouched for");
    assert_eq!(written(&report), 4);
    assert_eq!(rows(&other), before);
    assert_eq!(rows(&src), before);
    drop(src);
    drop(other);
    exec_url(Engine::Postgres, &admin, &format!("DROP ROLE {u1}; DROP ROLE {u2}"));
}

#[test]
fn an_in_memory_sqlite_destination_is_refused_before_anything_is_read() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec("CREATE TABLE k (x integer PRIMARY KEY); INSERT INTO k VALUES (1);");
    let job = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"sqlite://:memory:\"\n",
        src.url
    );
    for (what, result) in [("plan", plan(&job)), ("sync", sync(&job).map(|_| ()))] {
        assert_eq!(
            result.expect_err(what).to_string(),
            "destination #1 sqlite://:memory: is an in-memory SQLite database: each connection gets a new, empty one, \
             so nothing written there would survive the job (nor could it be verified); use a file; refusing to \
             write into it (nothing was written)",
            "{what}"
        );
    }
}

/// Review r24c F3: destination #2 fails while its tables are created (InnoDB refuses a
/// second `child_ibfk_1` in a database whose name differs only in case) after
/// `truncate = true` emptied destination #1: the note about #1 names #1.
#[test]
fn a_failure_on_one_destination_names_the_other_one_it_left_emptied() {
    let src = TestDb::create(Engine::Mysql);
    if src.query("SELECT @@lower_case_table_names")[0][0].as_deref() != Some("0") {
        eprintln!("skipped: the server folds the case of database names");
        return;
    }
    src.exec(
        "CREATE TABLE parent (id int PRIMARY KEY, name varchar(20) NOT NULL) ENGINE=InnoDB;
         CREATE TABLE child (id int PRIMARY KEY, pid int NOT NULL, v varchar(20),
           FOREIGN KEY (pid) REFERENCES parent (id)) ENGINE=InnoDB;
         INSERT INTO parent VALUES (1, 'a'), (2, 'b'); INSERT INTO child VALUES (1, 1, 'x'), (2, 2, 'y');",
    );
    let dst = TestDb::create(Engine::Mysql);
    dst.exec(
        "CREATE TABLE parent (id int PRIMARY KEY, name varchar(20) NOT NULL) ENGINE=InnoDB;
         CREATE TABLE child (id int PRIMARY KEY, pid int NOT NULL, v varchar(20),
           CONSTRAINT c_fk FOREIGN KEY (pid) REFERENCES parent (id)) ENGINE=InnoDB;
         INSERT INTO parent VALUES (9, 'old'); INSERT INTO child VALUES (9, 9, 'old');",
    );
    let upper = src.name.to_uppercase();
    let admin = tether_testkit::mysql_admin_url();
    exec_url(Engine::Mysql, &admin, &format!("CREATE DATABASE `{upper}`"));
    let dst1 = dst.db_url().to_string();
    let dst2 = tether_connect::DbUrl::parse(&src.url.replace(&src.name, &upper))
        .expect("URL")
        .to_string();
    let job = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\ntruncate = true\n\
         [[destinations]]\nurl = \"{}\"\ntruncate = true\n[tables]\ninclude = [\"parent\", \"child\"]\n",
        src.url,
        dst.url,
        src.url.replace(&src.name, &upper)
    );
    let text = sync(&job).expect_err("destination #2 fails").to_string();
    exec_url(Engine::Mysql, &admin, &format!("DROP DATABASE `{upper}`"));
    assert!(
        text.starts_with(&format!(
            "{dst2}: running `ALTER TABLE `child` ADD CONSTRAINT `child_ibfk_1`"
        )),
        "{text}"
    );
    assert!(
        text.ends_with(&format!(
            "(undone: the tables created before it were dropped again (parent, child)) ({dst1}: truncate = true had \
             emptied the job's tables that were there)"
        )),
        "{text}"
    );
    assert_eq!(text.matches("(undone:").count(), 1, "{text}");
    assert_eq!(
        dst.query("SELECT count(*) FROM parent"),
        vec![vec![Some("0".to_string())]]
    );
}

/// Review r24c F5 and F6: a bare `:memory:` is shown as written (it holds no secret), and
/// `tether plan` leaves a WAL-mode SQLite destination's directory as it found it.
#[test]
fn plan_leaves_a_wal_destination_directory_as_found_and_memory_is_shown() {
    let err = tether_connect::DbUrl::parse(":memory:")
        .expect_err("not a URL")
        .to_string();
    assert_eq!(
        err,
        "invalid database URL `:memory:`: an in-memory SQLite database is `sqlite://:memory:` (as a source only: a \
         destination there would not survive the job)"
    );
    let src = TestDb::create(Engine::Sqlite);
    src.exec("CREATE TABLE k (x integer PRIMARY KEY); INSERT INTO k VALUES (1);");
    let dir = std::env::temp_dir().join(format!("w24G_wal_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let db = dir.join("wal.db");
    let url = format!("sqlite://{}", db.display());
    exec_url(
        Engine::Sqlite,
        &url,
        "PRAGMA journal_mode = WAL; CREATE TABLE k (x integer PRIMARY KEY); INSERT INTO k VALUES (9);",
    );
    let listing = || {
        let mut v: Vec<(String, u64)> = std::fs::read_dir(&dir)
            .expect("dir")
            .map(|e| {
                let e = e.expect("entry");
                (
                    e.file_name().to_string_lossy().into_owned(),
                    e.metadata().expect("meta").len(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let before = listing();
    assert_eq!(before.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["wal.db"]);
    let job = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{url}\"\ntruncate = true\n",
        src.url
    );
    plan(&job).expect("plan");
    assert_eq!(listing(), before);
    let _ = std::fs::remove_dir_all(&dir);
}
