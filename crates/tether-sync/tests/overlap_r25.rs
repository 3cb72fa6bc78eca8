//! Twenty-fifth session (review r25c): the source in disguise, on private servers.
//! F1: a PostgreSQL standby as the source, its primary as the destination, for a role
//! that may run neither `pg_is_in_recovery()` nor `pg_control_system()`: the failed
//! recovery read counted as "not a standby", so the probe's "not seen" said
//! "different", and the source was truncated through its primary. F2: a pg_basebackup
//! clone run as a primary of its own (the same system identifier) was refused as the
//! source. F3: two MariaDB servers reporting the same host name, port and data
//! directory were refused as one. F4: a source database subscribed (logical
//! replication) to a destination's publication was written into through it.

mod common;
mod private;

use common::*;
use private::{Maria, Pg};

const ROOT: &str = "/tmp/w25c";

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

fn job(source: &str, dest: &str, extra: &str) -> String {
    format!(
        "source = \"{source}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{dest}\"\ntruncate = true\n{extra}\
         [[subset.targets]]\ntable = \"child\"\nwhere = \"id <= 2\"\n"
    )
}

const SHOP: &str = "CREATE TABLE parent (id int PRIMARY KEY, name varchar(20) NOT NULL);
     CREATE TABLE child (id int PRIMARY KEY, pid int NOT NULL REFERENCES parent (id), v varchar(20));
     INSERT INTO parent VALUES (1, 'a'), (2, 'b'), (3, 'c');
     INSERT INTO child VALUES (1, 1, 'x'), (2, 2, 'y'), (3, 3, 'z'), (4, 3, 'w');";

/// The rows of parent and child, as one list.
const ROWS: &str = "SELECT 'p', id, name FROM parent UNION ALL SELECT 'c', id, v FROM child ORDER BY 1, 2";

/// Both refuse with exit code 2 (the sync asked only once the plan refused: it would
/// write); the message, for `check`.
fn refused_by_both(job: &str, check: impl Fn(&str) -> bool) {
    let planned = plan(job);
    let synced = match planned {
        Ok(()) => Ok(()),
        Err(_) => sync(job).map(|_| ()),
    };
    for (what, result) in [("plan", planned), ("sync", synced)] {
        let err = result.expect_err(what);
        assert!(
            matches!(err, tether_sync::SyncError::Plan(_)),
            "{what}: exit code 2: {err:?}"
        );
        let text = err.to_string();
        assert!(
            check(&text) && text.ends_with("refusing to write into it (nothing was written)"),
            "{what}: {text}"
        );
    }
}

#[test]
fn a_standby_source_is_not_written_through_its_primary_by_a_role_that_may_not_ask_for_recovery() {
    let Some(primary) = Pg::init(ROOT, 25200, "") else {
        return;
    };
    primary.exec("postgres", "CREATE DATABASE w25c_shop");
    primary.exec("postgres", "CREATE ROLE w25c_app LOGIN");
    primary.exec(
        "w25c_shop",
        &format!(
            "{SHOP}
             GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO w25c_app;
             GRANT CREATE ON SCHEMA public TO w25c_app;
             REVOKE EXECUTE ON FUNCTION pg_control_system() FROM public;
             REVOKE EXECUTE ON FUNCTION pg_is_in_recovery() FROM public;"
        ),
    );
    let Some(standby) = Pg::base_backup(ROOT, &primary, 25201, true) else {
        return;
    };
    primary.caught_up(&standby);
    let before = standby.query("w25c_shop", ROWS);
    assert_eq!(before.len(), 7);
    let app = |pg: &Pg| pg.url("w25c_shop").replace("postgres@", "w25c_app@");
    let (source, dest) = (app(&standby), app(&primary));
    // The reviewer's job: the role may ask nothing but `SHOW in_hot_standby`, which
    // says "standby": the probe's "not seen" from the primary decides nothing.
    refused_by_both(&job(&source, &dest, ""), |text| {
        text.starts_with(&format!(
            "destination #1 {dest} may be the source {source}: Tether cannot tell (database `w25c_shop` of the \
             PostgreSQL cluster at 127.0.0.1 port 25200; database `w25c_shop` of the PostgreSQL cluster at \
             127.0.0.1 port 25201)"
        )) && text.contains("(the source is a standby, in recovery: its sessions cannot be seen from its primary)")
    });
    // A login that reads the system identifier: one cluster, a standby: never lifted.
    let (source, dest) = (standby.url("w25c_shop"), primary.url("w25c_shop"));
    refused_by_both(&job(&source, &dest, "assume_distinct = true\n"), |text| {
        text.starts_with(&format!(
            "destination #1 {dest} is the source {source}: both are database `w25c_shop` of the PostgreSQL cluster \
             with system identifier "
        ))
    });
    primary.caught_up(&standby);
    assert_eq!(standby.query("w25c_shop", ROWS), before, "the source is unchanged");
    assert_eq!(primary.query("w25c_shop", ROWS), before, "nothing was written");
}

#[test]
fn a_clone_run_as_its_own_primary_is_another_database() {
    let Some(primary) = Pg::init(ROOT, 25202, "") else {
        return;
    };
    primary.exec("postgres", "CREATE DATABASE w25c_clone");
    primary.exec("w25c_clone", SHOP);
    let Some(clone) = Pg::base_backup(ROOT, &primary, 25203, false) else {
        return;
    };
    clone.exec("postgres", "DROP DATABASE w25c_clone");
    clone.exec("postgres", "CREATE DATABASE w25c_clone");
    let ids = |pg: &Pg| pg.query("postgres", "SELECT system_identifier::text FROM pg_control_system()");
    assert_eq!(ids(&primary), ids(&clone), "one system identifier");
    let before = primary.query("w25c_clone", ROWS);
    let j = job(&primary.url("w25c_clone"), &clone.url("w25c_clone"), "");
    plan(&j).expect("both are primaries and the source's probe is not seen on the clone: the plan passes");
    let report = sync(&j).expect("and the sync writes");
    assert_eq!(written(&report), 4);
    assert_eq!(
        clone.query("w25c_clone", ROWS).len(),
        4,
        "parents 1, 2 and children 1, 2 copied"
    );
    assert_eq!(primary.query("w25c_clone", ROWS), before, "the source is unchanged");
}

#[test]
fn two_mariadb_servers_reporting_one_host_port_and_data_directory_are_two() {
    let link = std::path::PathBuf::from(format!("{ROOT}/mdd"));
    std::fs::create_dir_all(ROOT).expect("dir");
    let Some(a) = Maria::start(ROOT, "127.0.0.2", 25210, Some(&link), None, &[]) else {
        return;
    };
    let Some(b) = Maria::start(ROOT, "127.0.0.3", 25210, Some(&link), None, &[]) else {
        return;
    };
    let marks = "SELECT @@hostname, @@port, @@datadir";
    assert_eq!(a.query(marks), b.query(marks), "both report the same");
    a.exec(&format!("CREATE DATABASE w25c_twins; USE w25c_twins; {SHOP}"));
    b.exec("CREATE DATABASE w25c_twins");
    let rows = |m: &Maria| {
        m.query(
            &ROWS
                .replace("FROM parent", "FROM w25c_twins.parent")
                .replace("FROM child", "FROM w25c_twins.child"),
        )
    };
    let before = rows(&a);
    assert_eq!(before.len(), 7);
    let j = job(&a.url("w25c_twins"), &b.url("w25c_twins"), "");
    plan(&j).expect("the source's named lock is free on the other: the plan passes");
    let report = sync(&j).expect("and the sync writes");
    assert_eq!(written(&report), 4);
    assert_eq!(rows(&b).len(), 4);
    assert_eq!(rows(&a), before, "the source is unchanged");
    // The same server by its other name (its socket) is still the source.
    let socket = a.query("SELECT @@socket")[0][0].clone().expect("a socket");
    let by_socket = format!("mysql://root@localhost/w25c_twins?socket={socket}");
    refused_by_both(
        &job(&a.url("w25c_twins"), &by_socket, "assume_distinct = true\n"),
        |text| text.contains(" is the source mysql://root@127.0.0.2:25210/w25c_twins"),
    );
    assert_eq!(rows(&a), before, "the source is unchanged");
}

#[test]
fn a_source_subscribed_to_the_destinations_publication_is_not_written_through_it() {
    let Some(publisher) = Pg::init(ROOT, 25204, "wal_level = logical") else {
        return;
    };
    let Some(subscriber) = Pg::init(ROOT, 25205, "") else {
        return;
    };
    publisher.exec("postgres", "CREATE DATABASE w25c_ldst");
    publisher.exec(
        "w25c_ldst",
        &format!("{SHOP} CREATE PUBLICATION w25c_pub FOR ALL TABLES;"),
    );
    subscriber.exec("postgres", "CREATE DATABASE w25c_lsrc");
    subscriber.exec("postgres", "CREATE DATABASE w25c_other");
    subscriber.exec(
        "w25c_lsrc",
        &format!(
            "{}; CREATE ROLE w25c_lapp LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA public TO w25c_lapp;",
            SHOP.split("INSERT")
                .next()
                .expect("the tables")
                .trim_end()
                .trim_end_matches(';')
        ),
    );
    subscriber.exec(
        "w25c_lsrc",
        "CREATE SUBSCRIPTION w25c_sub CONNECTION 'host=127.0.0.1 port=25204 user=postgres dbname=w25c_ldst' \
         PUBLICATION w25c_pub",
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while subscriber.query("w25c_lsrc", ROWS).len() < 7 {
        assert!(
            std::time::Instant::now() < deadline,
            "the subscription did not copy the tables"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let before = subscriber.query("w25c_lsrc", ROWS);
    let dest = publisher.url("w25c_ldst");
    for source in [
        subscriber.url("w25c_lsrc"),
        subscriber.url("w25c_lsrc").replace("postgres@", "w25c_lapp@"),
    ] {
        refused_by_both(&job(&source, &dest, ""), |text| {
            text.starts_with(&format!(
                "destination #1 {dest} may replicate into the source {source} by logical replication: the source's \
                 subscription `w25c_sub` subscribes to publication `w25c_pub`, which the destination publishes for \
                 all tables, those the job creates too; every row written there (and a TRUNCATE) would arrive in \
                 the source. Set `assume_distinct = true`"
            ))
        });
    }
    // A destination that cannot publish (wal_level replica) feeds no subscription.
    let other = subscriber.url("w25c_other");
    let report = sync(&job(&subscriber.url("w25c_lsrc"), &other, "")).expect("another database");
    assert_eq!(written(&report), 4);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(subscriber.query("w25c_lsrc", ROWS), before, "the source is unchanged");
    assert_eq!(publisher.query("w25c_ldst", ROWS), before, "nothing was written");
    subscriber.exec("w25c_lsrc", "ALTER SUBSCRIPTION w25c_sub DISABLE");
    subscriber.exec("w25c_lsrc", "ALTER SUBSCRIPTION w25c_sub SET (slot_name = NONE)");
    subscriber.exec("w25c_lsrc", "DROP SUBSCRIPTION w25c_sub");
}
