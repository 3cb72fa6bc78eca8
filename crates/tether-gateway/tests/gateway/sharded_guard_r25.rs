//! Review r25j F1, F2, F4, F5, F7 (managed sharded keyspace's guard).
//!
//! F5: the guard classified a statement by its first word with every executable
//! comment unwrapped, so `/*!99999 SELECT */ TRUNCATE TABLE p` (a comment
//! MariaDB skips) was a "read" and forwarded: TRUNCATE, DROP, ALTER, EXECUTE
//! IMMEDIATE, PREPARE, XA all passed. The text is now classified as the server
//! runs it (executable comments resolved for its version).
//!
//! F1, F2: the table of ALTER TABLE / CREATE OR REPLACE TABLE was the first
//! word after TABLE of a splitter that cut on backticks: `` `db`.`p` ``, `db. p`,
//! a skipped comment before the name all passed. The name is now read as the
//! server reads it (a name the gateway cannot read is refused).
//!
//! F4: `COMMIT; SELECT 1` got no recovery when the COMMIT failed: a COMMIT among
//! other statements is refused. F7: `ALTER TABLE p COMMENT=` / `CONNECTION=`
//! re-pointed the head's Spider table: refused for keyspace tables.
//!
//! Schema and rows: those of `sharded_r25`.

use tether_testkit::spider;

use crate::sharded_managed::code_of;
use crate::sharded_r25::{gateway, placed, schema};

/// Every spelling of the findings is refused with 1105; rows, partitioning and
/// tables stay; RESTRICT and CASCADE still hold afterwards.
#[test]
fn skipped_comments_and_quoted_names_do_not_hide_ddl() {
    let c = spider::cluster();
    let db = c.create_db();
    schema(&db);
    let gw = gateway(&db);
    let create = db.query_head("SHOW CREATE TABLE p")[0][1].clone();
    let name = db.name.clone();
    gw.block_on(async {
        let mut k = gw.connect("ks").await;
        for sql in [
            // F5
            "/*!99999 SELECT */ TRUNCATE TABLE p".to_string(),
            "/*M!999999 SELECT */ TRUNCATE TABLE p".to_string(),
            "/*!99999 SELECT */ DROP TABLE c".to_string(),
            "/*!99999 SELECT */ ALTER TABLE p TRUNCATE PARTITION p0".to_string(),
            "/*M!999999 SELECT */ ALTER TABLE p REMOVE PARTITIONING".to_string(),
            "/*!99999 SELECT */ EXECUTE IMMEDIATE 'DELETE FROM p WHERE id = 3'".to_string(),
            "/*!99999 SELECT */ PREPARE s FROM 'TRUNCATE TABLE p'".to_string(),
            "/*!99999 SELECT */ XA START 'w25jx'".to_string(),
            // F1
            format!("ALTER TABLE `{name}`.`p` TRUNCATE PARTITION p1"),
            format!("ALTER TABLE {name}. p TRUNCATE PARTITION p1"),
            format!("ALTER TABLE {name} .p TRUNCATE PARTITION p1"),
            "ALTER TABLE /*!99999 zz */ p TRUNCATE PARTITION p0".to_string(),
            "ALTER TABLE /*M!999999 zz */ p TRUNCATE PARTITION p0".to_string(),
            "ALTER /*!99999 TABLE zz */ TABLE p TRUNCATE PARTITION p0".to_string(),
            format!("ALTER TABLE {name}./*!99999 zz */p TRUNCATE PARTITION p1"),
            format!("ALTER TABLE `{name}`.`p` ENGINE = InnoDB"),
            // F2
            "CREATE OR REPLACE TABLE /*!99999 zz */ p (id INT PRIMARY KEY, v INT)".to_string(),
            format!("CREATE OR REPLACE TABLE `{name}`.`p` (id INT PRIMARY KEY, v INT)"),
            // F7
            "ALTER TABLE p COMMENT='wrapper \"mysql\", table \"u\"'".to_string(),
            "ALTER TABLE p CONNECTION='wrapper \"mysql\", table \"u\"'".to_string(),
        ] {
            let (code, message) = code_of(&mut k, &sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
        }
        // F4: COMMIT among other statements, in a transaction.
        assert_eq!(code_of(&mut k, "BEGIN").await.0, 0);
        assert_eq!(code_of(&mut k, "DELETE FROM p WHERE id = 4").await.0, 0);
        let (code, message) = code_of(&mut k, "COMMIT; SELECT 1").await;
        assert_eq!(code, 1105, "{message}");
        assert!(message.contains("COMMIT in a query of several statements"), "{message}");
        assert_eq!(code_of(&mut k, "ROLLBACK").await.0, 0);
        // A skipped comment before COMMIT: the gateway's COMMIT, which succeeds.
        assert_eq!(code_of(&mut k, "BEGIN").await.0, 0);
        assert_eq!(code_of(&mut k, "UPDATE p SET v = 7 WHERE id = 3").await.0, 0);
        assert_eq!(code_of(&mut k, "/*!99999 SELECT */ COMMIT").await.0, 0);
        // Nothing else changed: RESTRICT holds, DELETE cascades.
        assert_eq!(code_of(&mut k, "DELETE FROM p WHERE id = 2").await.0, 1451);
        assert_eq!(code_of(&mut k, "DELETE FROM p WHERE id = 4").await, (0, String::new()));
    });
    assert_eq!(db.query_head("SHOW CREATE TABLE p")[0][1], create);
    assert_eq!(
        db.query_head("SELECT v FROM p WHERE id = 3")[0][0].as_deref(),
        Some("7")
    );
    assert_eq!(placed(&db, "p"), "node1: 2 | node2: 1 3");
    assert_eq!(placed(&db, "c"), "node1: 10 12 | node2: ");
    assert_eq!(placed(&db, "r"), "node1: 20 | node2: ");
}
