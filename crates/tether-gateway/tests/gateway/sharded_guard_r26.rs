//! Review r26a F1-F5 (the guards of sharded keyspaces, and the statement splitter
//! they share with the unsharded rules).
//!
//! F1: `--` followed by U+00A0 was read as a comment to the end of the line, so
//! `... WHERE 1 --<NBSP>; TRUNCATE TABLE p` looked like one SELECT; MariaDB starts
//! a `--` comment only before an ASCII blank or control byte and ran the TRUNCATE
//! (in an unsharded disallow keyspace: an FK created). F2: a table COMMENT after
//! `IF EXISTS`, `WAIT n` or `NOWAIT` re-pointed p's Spider table. F3: under
//! NO_BACKSLASH_ESCAPES `COMMENT 'x\', COMMENT = '...'` hid the table's COMMENT.
//! F4: a sharded disallow keyspace refused FK DDL only as one plain statement.
//! F5: another keyspace's session wrote (or truncated) a managed sharded
//! keyspace's tables by `db.t`, with no FK work. Also ALTER / DROP / CREATE OR
//! REPLACE SERVER (every Spider table reaches its nodes through them).
//!
//! Schema and rows of `ks`: those of `sharded_r25`. `kd` (sharded, disallow) and
//! `ud` (unsharded, disallow): plain InnoDB parent and child tables on the head.

use tether_testkit::spider::{self, ShardedDb};

use crate::sharded_managed::code_of;
use crate::sharded_r25::{placed, schema};
use crate::support::{rows, start_json, Gw};

/// `ks` over `db` (as `sharded_r25::gateway`), `kd` over `kd` (sharded,
/// disallow) and `ud` over `ud` (unsharded, disallow), all on the head.
pub(crate) fn gateway(db: &ShardedDb, kd: &ShardedDb, ud: &ShardedDb) -> Gw {
    let fks = [
        ("c_p_fk", "c", "p_id", "p", "CASCADE", "CASCADE"),
        ("r_p_fk", "r", "p_id", "p", "RESTRICT", "RESTRICT"),
    ];
    let keyspaces = format!(
        r#"{},
           "kd": {{"sharded": true, "foreignKeyMode": "disallow", "backend": {{"url": "{}"}}}},
           "ud": {{"foreignKeyMode": "disallow", "backend": {{"url": "{}"}}}}"#,
        spider::managed_keyspace("ks", &db.head_url(), &fks),
        kd.head_url(),
        ud.head_url()
    );
    start_json(&keyspaces, "")
}

/// A parent and a child table (no FK) on the head, named `{prefix}par` and
/// `{prefix}child`.
pub(crate) fn plain(db: &ShardedDb, prefix: &str) {
    db.plain_table(&format!("{prefix}par"), "id INT PRIMARY KEY");
    db.plain_table(
        &format!("{prefix}child"),
        "id INT PRIMARY KEY, par_id INT, KEY (par_id)",
    );
    db.exec_head(&format!(
        "INSERT INTO {prefix}par VALUES (1), (2); INSERT INTO {prefix}child VALUES (1, 1)"
    ));
}

/// The FKs of `db`'s database on the head.
pub(crate) fn fks_of(db: &ShardedDb) -> Vec<Vec<Option<String>>> {
    db.query_head(&format!(
        "SELECT CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = '{}'",
        db.name
    ))
}

const NBSP: &str = "SELECT * FROM (SELECT 5 AS `\u{a0}`) t WHERE 1 --\u{a0}";

/// F1, F2, F3 and the SERVER statements in `ks`, F1 in `ud`: each refused (1105
/// in `ks`, 1215 in `ud`); p's definition, the rows on the nodes and the SERVER
/// definitions stay, RESTRICT still holds.
#[test]
fn hidden_statements_and_table_comments_are_refused() {
    let c = spider::cluster();
    let db = c.create_db();
    schema(&db);
    let kd = c.create_db();
    let ud = c.create_db();
    plain(&ud, "u");
    let gw = gateway(&db, &kd, &ud);
    let create = db.query_head("SHOW CREATE TABLE p")[0][1].clone();
    let uchild = ud.query_head("SHOW CREATE TABLE uchild")[0][1].clone();
    let servers = || db.query_head("SELECT * FROM mysql.servers ORDER BY Server_name");
    let before = servers();
    let name = db.name.clone();
    let node2 = c.node("node2");
    let rewired = format!("COMMENT 'wrapper \"mysql\", database \"{name}\", table \"c\"'");
    gw.block_on(async {
        let mut k = gw.connect("ks").await;
        for sql in [
            // F1
            format!("{NBSP}; TRUNCATE TABLE p"),
            format!("{NBSP}; DELETE FROM p WHERE id = 2"),
            format!("{NBSP}; ALTER TABLE p REMOVE PARTITIONING"),
            "SELECT 1 --\u{3000}x; TRUNCATE TABLE c".to_string(),
            // F2
            format!("ALTER TABLE IF EXISTS p {rewired}"),
            format!("ALTER TABLE p NOWAIT {rewired}"),
            format!("ALTER TABLE p WAIT 5 {rewired}"),
            format!("ALTER TABLE p FORCE {rewired}"),
            // SERVER (as the head has them: refused before they run)
            format!(
                "ALTER SERVER node2 OPTIONS (HOST '{}', PORT {})",
                node2.host, node2.port
            ),
            "DROP SERVER IF EXISTS tether_r26_none".to_string(),
        ] {
            let (code, message) = code_of(&mut k, &sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
        }
        // F3: strings read as the session's sql_mode says.
        assert_eq!(code_of(&mut k, "SET sql_mode = 'NO_BACKSLASH_ESCAPES'").await.0, 0);
        for option in ["COMMENT", "CONNECTION"] {
            let sql = format!(
                "ALTER TABLE p ADD INDEX i (v) COMMENT 'x\\', {option} = 'wrapper \"mysql\", database \"{name}\", \
                 table \"c\"'"
            );
            let (code, message) = code_of(&mut k, &sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
        }
        assert_eq!(code_of(&mut k, "SET sql_mode = DEFAULT").await.0, 0);
        assert_eq!(
            rows(&mut k, "SELECT id FROM p ORDER BY id").await,
            [["1"], ["2"], ["3"], ["4"]]
        );
        assert_eq!(code_of(&mut k, "DELETE FROM p WHERE id = 2").await.0, 1451);

        // F1 in an unsharded disallow keyspace: refused (since r27c F1 any `--`
        // before a non-ASCII space in code is refused with 1105 before it is judged).
        let mut u = gw.connect("ud").await;
        let sql =
            format!("{NBSP}; ALTER TABLE uchild ADD CONSTRAINT nbsp_fk FOREIGN KEY (par_id) REFERENCES upar (id)");
        let (code, message) = code_of(&mut u, &sql).await;
        assert_eq!(code, 1105, "{message}");
    });
    assert_eq!(db.query_head("SHOW CREATE TABLE p")[0][1], create);
    assert_eq!(servers(), before);
    assert_eq!(placed(&db, "p"), "node1: 2 4 | node2: 1 3");
    assert_eq!(placed(&db, "c"), "node1: 10 12 | node2: 11");
    assert_eq!(placed(&db, "r"), "node1: 20 | node2: ");
    assert_eq!(ud.query_head("SHOW CREATE TABLE uchild")[0][1], uchild);
    assert_eq!(fks_of(&ud), Vec::<Vec<Option<String>>>::new());
}

/// F4: FK DDL in `kd` (sharded, disallow) in dynamic SQL, after another
/// statement and in an executable comment: 1215 as the plain statement, no FK.
/// F5: from `kd`, writes and DDL naming `ks`'s tables (`db.t`): 1105, rows and
/// definitions unchanged; a read passes.
#[test]
fn disallow_and_other_keyspaces_reach_sharded_keyspaces_by_every_form() {
    let c = spider::cluster();
    let db = c.create_db();
    schema(&db);
    let kd = c.create_db();
    plain(&kd, "k");
    let ud = c.create_db();
    let gw = gateway(&db, &kd, &ud);
    let create = db.query_head("SHOW CREATE TABLE p")[0][1].clone();
    let kchild = kd.query_head("SHOW CREATE TABLE kchild")[0][1].clone();
    let name = db.name.clone();
    gw.block_on(async {
        let mut k = gw.connect("kd").await;
        let fk = |n: &str| format!("ALTER TABLE kchild ADD CONSTRAINT {n} FOREIGN KEY (par_id) REFERENCES kpar (id)");
        for sql in [
            fk("plain_fk"),
            format!("EXECUTE IMMEDIATE '{}'", fk("ei_fk")),
            format!("SELECT 1; {}", fk("multi_fk")),
            format!("/*!{} */", fk("exec_fk")),
            format!("SET @s = '{}'; PREPARE s FROM @s", fk("prep_fk")),
        ] {
            let (code, message) = code_of(&mut k, &sql).await;
            assert_eq!(code, 1215, "{sql}: {message}");
        }
        for sql in [
            format!("DELETE FROM {name}.p WHERE id = 2"),
            format!("UPDATE `{name}`.p SET id = 9 WHERE id = 4"),
            format!("SELECT 1; DELETE FROM {name}.p WHERE id = 2"),
            format!("EXECUTE IMMEDIATE 'DELETE FROM {name}.p WHERE id = 2'"),
            format!("TRUNCATE TABLE {name}.p"),
            format!("DROP TABLE {name}.c"),
            format!("ALTER TABLE {name}.p TRUNCATE PARTITION p0"),
            format!("ALTER TABLE IF EXISTS {name}.p COMMENT 'wrapper \"mysql\", table \"c\"'"),
            format!("BEGIN NOT ATOMIC TRUNCATE TABLE {name}.r; END"),
            format!("BEGIN NOT ATOMIC DELETE FROM {name}.p WHERE id = 2; END"),
        ] {
            let (code, message) = code_of(&mut k, &sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
        }
        assert_eq!(rows(&mut k, &format!("SELECT COUNT(*) FROM {name}.p")).await, [["4"]]);
        // `ks` itself still cascades.
        let mut s = gw.connect("ks").await;
        assert_eq!(code_of(&mut s, "DELETE FROM p WHERE id = 4").await, (0, String::new()));
    });
    assert_eq!(fks_of(&kd), Vec::<Vec<Option<String>>>::new());
    assert_eq!(kd.query_head("SHOW CREATE TABLE kchild")[0][1], kchild);
    assert_eq!(db.query_head("SHOW CREATE TABLE p")[0][1], create);
    assert_eq!(placed(&db, "p"), "node1: 2 | node2: 1 3");
    assert_eq!(placed(&db, "c"), "node1: 10 12 | node2: ");
    assert_eq!(placed(&db, "r"), "node1: 20 | node2: ");
}
