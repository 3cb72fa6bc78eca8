//! Twenty-fourth session, round 2 (review r24g) of the replication checks of
//! `refuse_overlaps`. F4: two unrelated MariaDB servers at the default server_id 1 with
//! binary logs were hard-refused once the destination's counter passed the source's:
//! the source's own GTIDs counted as "applied from the destination". F3: a chain
//! destination -> relay -> source where the relay wrote last: the source's
//! gtid_slave_pos names only the relay, and a login that could read the channels got
//! "does not replicate": the source was truncated.

mod common;
mod private;

use common::*;
use private::Maria;

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

/// The ids of `database`.t, in order.
fn table_ids(m: &Maria, database: &str) -> Vec<Vec<Option<String>>> {
    m.query(&format!("SELECT id FROM {database}.t ORDER BY id"))
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
    let Some(source) = Maria::start("/tmp/w24G2", "127.0.0.1", 24600, None, Some(1), &[]) else {
        return;
    };
    let Some(dest) = Maria::start("/tmp/w24G2", "127.0.0.1", 24601, None, Some(1), &[]) else {
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
    assert_eq!(table_ids(&dest, "w24g2_dst"), ids(&[1, 2]));
    assert_eq!(table_ids(&source, "w24g2_src"), ids(&[1, 2, 3]));
}

#[test]
fn a_replica_behind_a_relay_that_wrote_last_is_not_taken_for_independent() {
    let Some(primary) = Maria::start("/tmp/w24G2", "127.0.0.1", 24602, None, Some(3), &[]) else {
        return;
    };
    let Some(relay) = Maria::start(
        "/tmp/w24G2",
        "127.0.0.1",
        24603,
        None,
        Some(4),
        &["--log-slave-updates"],
    ) else {
        return;
    };
    let Some(source) = Maria::start("/tmp/w24G2", "127.0.0.1", 24604, None, Some(5), &[]) else {
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
    primary.caught_up(&relay);
    // The relay writes something of its own: the source's gtid_slave_pos now names
    // only the relay in domain 0.
    relay.exec(
        "CREATE DATABASE w24g2_relay; CREATE TABLE w24g2_relay.hb (i int); INSERT INTO w24g2_relay.hb VALUES (1);",
    );
    relay.caught_up(&source);
    let applied = source.query("SELECT @@gtid_slave_pos")[0][0]
        .clone()
        .unwrap_or_default();
    assert!(applied.starts_with("0-4-"), "{applied}");
    assert_eq!(table_ids(&source, "w24g2_chain"), ids(&[1, 2, 3]));
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
    assert_eq!(table_ids(&source, "w24g2_chain"), ids(&[1, 2, 3]));
    assert_eq!(table_ids(&primary, "w24g2_chain"), ids(&[1, 2, 3]));
}
