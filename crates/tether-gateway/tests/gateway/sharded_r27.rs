//! Review r27c (sharded keyspaces and the statement guards).
//!
//! F1, F2: `--` before U+00A0 is a comment to sqlparser and two minus signs to
//! MariaDB: the planner of `ks` cascaded the key it read (p 4), the head updated
//! p 3 (orphan c 11); `kd` (sharded, disallow) got an FK. Refused with 1105.
//! F3, F4 (node2 refusing its XA COMMIT): ``CREATE USER `temporary` `` and
//! `SET autocommit = 0, autocommit = 1` committed on the head without the gateway's
//! COMMIT (node2's branch left prepared); now the gateway's COMMIT runs first (its
//! error carries the recovery's note) and `SET autocommit = 0 + 1` is refused.
//! F5: LOAD DATA from `kd` / `ud` into `ks`'s tables by `db.t`: 1105.
//! F7: a Spider table made in `kd` / `ud` whose COMMENT points at `ks`'s node
//! tables: 1105 (and the default engine set to Spider).
//! F9: `DROP TABLE `temporary`, p` dropped `ks`'s p; CREATE TABLE `temporary` was
//! read as CREATE TEMPORARY TABLE.
//!
//! Schema and rows of `ks`: those of `sharded_r25` (p 1-4; c 10 -> 2, 11 -> 4,
//! 12 -> 1; r 20 -> 2; HASH(id): node1 even ids, node2 odd).

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use tether_testkit::spider::{self, Cluster, Instance};

use crate::sharded_atomic::{wait_for, xa_recover};
use crate::sharded_guard_r26::{fks_of, gateway, plain};
use crate::sharded_managed::code_of;
use crate::sharded_r25::{placed, schema};
use crate::support::rows;

const N: char = '\u{a0}';

/// F1, F2, F5, F7, F9: each refused with 1105 (a valid CREATE TABLE `temporary`
/// passes); the rows on the nodes, p's definition and the FKs of `kd` unchanged,
/// no alias table made.
#[test]
fn statements_are_read_as_mariadb_runs_them() {
    let c = spider::cluster();
    let db = c.create_db();
    schema(&db);
    let kd = c.create_db();
    plain(&kd, "k");
    let ud = c.create_db();
    plain(&ud, "u");
    let gw = gateway(&db, &kd, &ud);
    let create = db.query_head("SHOW CREATE TABLE p")[0][1].clone();
    let name = db.name.clone();
    let file = std::env::temp_dir().join(format!("{name}_r27.csv"));
    std::fs::write(&file, "65,77\n").expect("writes the file");
    let file = file.display().to_string();
    gw.block_on(async {
        let mut k = gw.connect("ks").await;
        // F2: natively `id = 4 - -(<N>.id) * 0 - 1`, i.e. p 3.
        let sql = format!("UPDATE p AS `{N}` SET id = id + 100 WHERE id = 4 --{N}.id * 0 - 1");
        let (code, message) = code_of(&mut k, &sql).await;
        assert_eq!(code, 1105, "{message}");
        assert!(message.contains("U+00A0"), "{message}");
        // The same in a string passes.
        assert_eq!(
            rows(&mut k, &format!("SELECT 'a --{N}b'")).await,
            [[format!("a --{N}b")]]
        );
        // F9 (b): a table named `temporary` is no CREATE TEMPORARY TABLE.
        assert_eq!(
            code_of(&mut k, "CREATE TABLE `temporary` (a INT)").await,
            (0, String::new())
        );
        assert_eq!(
            code_of(&mut k, "CREATE TABLE IF NOT EXISTS temporary (a INT)").await.0,
            0
        );
        // F9 (a): nor is DROP TABLE `temporary`, p a DROP TEMPORARY TABLE.
        for sql in ["DROP TABLE `temporary`, p", "DROP TABLE temporary, p"] {
            let (code, message) = code_of(&mut k, sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
        }

        // F1 in `kd` (sharded, disallow): the FK after `--<N>` is code.
        let mut d = gw.connect("kd").await;
        for sql in [
            format!(
                "CREATE TABLE t2 (`{N}` INT, par_id INT, z INT AS (par_id --{N}), CONSTRAINT f2 FOREIGN KEY (par_id) \
                 REFERENCES kpar(id), w INT AS (1\n))"
            ),
            format!(
                "ALTER TABLE kchild ADD COLUMN `{N}` INT, ADD COLUMN z INT AS (par_id --{N}), ADD CONSTRAINT f3 \
                 FOREIGN KEY (par_id) REFERENCES kpar(id), ADD COLUMN w INT AS (1\n)"
            ),
            format!(
                "EXECUTE IMMEDIATE 'ALTER TABLE kchild ADD COLUMN `{N}` INT, ADD COLUMN z INT AS (par_id --{N}), \
                 ADD CONSTRAINT f4 FOREIGN KEY (par_id) REFERENCES kpar(id), ADD COLUMN w INT AS (1\n)'"
            ),
        ] {
            let (code, message) = code_of(&mut d, &sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
        }

        // F5 and F7 from `kd` and `ud`.
        let mut u = gw.connect("ud").await;
        for conn in [&mut d, &mut u] {
            for sql in [
                format!("LOAD DATA INFILE '{file}' INTO TABLE {name}.c FIELDS TERMINATED BY ','"),
                format!("LOAD DATA INFILE '{file}' REPLACE INTO TABLE `{name}`.p FIELDS TERMINATED BY ','"),
                format!("LOAD XML INFILE '{file}' INTO TABLE {name}.c"),
                format!("SELECT 1; LOAD DATA INFILE '{file}' INTO TABLE {name}.c FIELDS TERMINATED BY ','"),
                format!(
                    "CREATE TABLE alias (id INT PRIMARY KEY, p_id INT) ENGINE=SPIDER PARTITION BY HASH(id) \
                     (PARTITION a COMMENT='srv \"node1\", database \"{name}\", table \"c\"', PARTITION b \
                     COMMENT = 'srv \"node2\", database \"{name}\", table \"c\"')"
                ),
                format!(
                    "CREATE TABLE alias (id INT PRIMARY KEY, p_id INT) ENGINE=SPIDER COMMENT='wrapper \"mysql\", \
                     srv \"node2\", database \"{name}\", table \"c\"'"
                ),
                "CREATE TABLE alias (id INT PRIMARY KEY, p_id INT) ENGINE='spider' COMMENT='srv \"node2\", tbl \"c\"'"
                    .to_string(),
                format!(
                    "EXECUTE IMMEDIATE 'CREATE TABLE alias (id INT PRIMARY KEY, p_id INT) COMMENT=''srv \"node2\", \
                     database \"{name}\", table \"c\"'''"
                ),
                "SET default_storage_engine = SPIDER".to_string(),
                "SET STATEMENT default_storage_engine = SPIDER FOR CREATE TABLE alias (id INT PRIMARY KEY) \
                 COMMENT 'srv \"node1\", table \"c\"'"
                    .to_string(),
            ] {
                let (code, message) = code_of(conn, &sql).await;
                assert_eq!(code, 1105, "{sql}: {message}");
            }
            // A plain table with a comment passes.
            assert_eq!(
                code_of(conn, "CREATE TABLE plain_ok (a INT) COMMENT 'a note'").await.0,
                0
            );
        }
        assert_eq!(rows(&mut d, &format!("SELECT COUNT(*) FROM {name}.c")).await, [["3"]]);
        // `ks` still cascades and restricts.
        assert_eq!(code_of(&mut k, "DELETE FROM p WHERE id = 2").await.0, 1451);
    });
    let _ = std::fs::remove_file(&file);
    assert_eq!(db.query_head("SHOW CREATE TABLE p")[0][1], create);
    assert_eq!(placed(&db, "p"), "node1: 2 4 | node2: 1 3");
    assert_eq!(placed(&db, "c"), "node1: 10 12 | node2: 11");
    assert_eq!(placed(&db, "r"), "node1: 20 | node2: ");
    assert_eq!(fks_of(&kd), Vec::<Vec<Option<String>>>::new());
    for d in [&kd, &ud] {
        assert_eq!(
            d.query_head(&format!(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}' ORDER BY 1",
                d.name
            )),
            [["kchild", "kpar", "plain_ok"], ["plain_ok", "uchild", "upar"]][usize::from(d.name == ud.name)]
                .iter()
                .map(|t| vec![Some(t.to_string())])
                .collect::<Vec<_>>()
        );
    }
}

/// A cluster whose Spider login on the nodes cannot write on a read-only node.
fn cluster(name: &str) -> Cluster {
    let c = Cluster::start(name);
    for n in spider::NODES {
        c.node(n).exec(
            "",
            "CREATE USER w27x_sp@'%'; GRANT ALL ON *.* TO w27x_sp@'%'; REVOKE READ_ONLY ADMIN ON *.* FROM w27x_sp@'%'",
        );
    }
    c.head.exec(
        "",
        "ALTER SERVER node1 OPTIONS (USER 'w27x_sp'); ALTER SERVER node2 OPTIONS (USER 'w27x_sp')",
    );
    c
}

/// Sets read_only inside a runtime.
async fn read_only(node: &Instance, on: bool) {
    let mut n = mysql_async::Conn::from_url(node.url("").as_str())
        .await
        .expect("connects to the node");
    n.query_drop(format!("SET GLOBAL read_only = {}", u8::from(on)))
        .await
        .expect("read_only");
    let _ = n.disconnect().await;
}

const NOTE: &str = "tether gateway: a data node may hold this transaction prepared";

/// Runs `open` (which opens a transaction) and an UPDATE of every p row, waiting
/// while writes are refused after the recovery of the round before.
async fn open_and_update(k: &mut mysql_async::Conn, open: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert_eq!(code_of(k, open).await, (0, String::new()), "{open}");
        match code_of(k, "UPDATE p SET v = v + 1").await {
            (0, _) => return,
            (1105, message) if Instant::now() < deadline => {
                assert!(message.contains("writes are refused"), "{message}");
                code_of(k, "ROLLBACK").await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            (code, message) => panic!("{code}: {message}"),
        }
    }
}

/// F3, F4: statements that commit the open transaction are read by their
/// structure: the gateway's COMMIT runs first (node2 refusing it: 1290 with the
/// recovery's note, then committed on both nodes); a value read when it runs is
/// refused (1105) before anything runs.
#[test]
fn implicit_commits_are_read_by_the_statements_structure() {
    let c = cluster("r27_x");
    let db = c.create_db();
    schema(&db);
    let gw = crate::sharded_r25::gateway(&db);
    let node2 = c.node("node2");
    let values = |db: &spider::ShardedDb| {
        spider::NODES
            .iter()
            .map(|n| {
                let v: Vec<String> = db
                    .query_node(n, "SELECT v FROM p ORDER BY id")
                    .into_iter()
                    .map(|r| r[0].clone().unwrap_or_default())
                    .collect();
                v.join(" ")
            })
            .collect::<Vec<_>>()
    };
    let rounds = [
        ("BEGIN", "CREATE USER `temporary`"),
        ("BEGIN", "CREATE ROLE temporary"),
        ("SET autocommit = 0", "SET autocommit = 0, autocommit = 1"),
        ("SET autocommit = 0", "SET autocommit = 0, @@session.autocommit = ON"),
    ];
    for (i, (open, commits)) in rounds.iter().enumerate() {
        gw.block_on(async {
            let mut k = gw.connect("ks").await;
            open_and_update(&mut k, open).await;
            read_only(node2, true).await;
            let (code, message) = code_of(&mut k, commits).await;
            read_only(node2, false).await;
            assert_eq!(code, 1290, "{commits}: {message}");
            assert!(message.contains(NOTE), "{commits}: {message}");
            let _ = code_of(&mut k, "SET autocommit = 1").await;
        });
        for n in spider::NODES {
            wait_for(&format!("no branch prepared on {n}"), || xa_recover(c.node(n)) == 0);
        }
        let v = (i + 1).to_string();
        assert_eq!(values(&db), [format!("{v} {v}"), format!("{v} {v}")], "{commits}");
    }
    // Values read when they run: refused, nothing run; ROLLBACK undoes the UPDATE.
    gw.block_on(async {
        let mut k = gw.connect("ks").await;
        open_and_update(&mut k, "SET autocommit = 0").await;
        for sql in [
            "SET autocommit = 0 + 1",
            "SET autocommit = 0 IS NOT NULL",
            "SET autocommit = 0, autocommit = @v",
        ] {
            let (code, message) = code_of(&mut k, sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
        }
        assert_eq!(code_of(&mut k, "ROLLBACK").await.0, 0);
        assert_eq!(code_of(&mut k, "SET autocommit = 1").await.0, 0);
    });
    assert_eq!(values(&db), ["4 4", "4 4"]);
    assert_eq!(
        c.head
            .query("", "SELECT COUNT(*) FROM mysql.user WHERE User = 'temporary'"),
        [[Some("0".to_string())]]
    );
}
