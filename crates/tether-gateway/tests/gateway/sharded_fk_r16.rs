//! Sixteenth review, R1: an FK a managed sharded keyspace's VSchema declares is held
//! to InnoDB's own rules once the tables are read. One InnoDB refuses to create
//! (errno 150) has no MariaDB behaviour to match: SET NULL on a NOT NULL column was
//! planned as `UPDATE .. SET p_id = NULL`, which a non-strict sql_mode stores as 0
//! (orphans). Such a keyspace now refuses every statement, naming the FK and why.

use mysql_async::prelude::Queryable;
use tether_gateway::sharded::declared::{class_of, type_mismatch, Class};
use tether_testkit::spider::{self, Partitioning, ShardedDb};
use tether_testkit::{TestDb, TestEngine};

use crate::sharded_managed::code_of;
use crate::support::{direct, dump, start_json, Gw};

/// `p` and `m`, both sharded by HASH (id) over the two nodes (head and nodes alike,
/// but for a UNIQUE KEY of `p`, which the partitioned head table cannot have
/// without `id`: the nodes have it), with rows p = {1, 2}, m = {(10, 1), (11, 2)},
/// and a gateway whose VSchema declares `fk` (JSON objects).
fn keyspace(p: &str, m: &str, fk: &str) -> (ShardedDb<'static>, Gw) {
    let db = spider::cluster().create_db();
    let hash = Partitioning::Hash("id".into());
    let p_head = p.replace(", UNIQUE KEY (code)", "");
    db.sharded_table("p", &p_head, p, &hash, &spider::NODES);
    db.sharded_table("m", m, m, &hash, &spider::NODES);
    db.exec_head("INSERT INTO p (id) VALUES (1), (2); INSERT INTO m (id, p_id) VALUES (10, 1), (11, 2)");
    let gw = start_json(
        &format!(
            r#""ks": {{"sharded": true, "foreignKeyMode": "managed", "backend": {{"url": "{}"}},
                "foreignKeys": [{fk}]}}"#,
            db.head_url()
        ),
        "",
    );
    (db, gw)
}

/// Every statement of the keyspace is refused with 1105 and `expected` in the
/// message, and nothing is written.
fn assert_refused(p: &str, m: &str, fk: &str, expected: &[&str]) {
    let (db, gw) = keyspace(p, m, fk);
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        for sql in [
            "DELETE FROM p WHERE id = 1",
            "UPDATE p SET id = 30 WHERE id = 2",
            "INSERT INTO m (id, p_id) VALUES (12, 1)",
        ] {
            let (code, message) = code_of(&mut g, sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
            assert!(
                message.contains("cannot read the schema of keyspace `ks`"),
                "{sql}: {message}"
            );
            for e in expected {
                assert!(message.contains(e), "{sql}: expected {e:?} in: {message}");
            }
        }
    });
    assert_eq!(
        db.query_head("SELECT id FROM p ORDER BY id"),
        vec![vec![Some("1".to_string())], vec![Some("2".to_string())]]
    );
    assert_eq!(
        db.query_head("SELECT id, p_id FROM m ORDER BY id"),
        vec![
            vec![Some("10".to_string()), Some("1".to_string())],
            vec![Some("11".to_string()), Some("2".to_string())]
        ]
    );
}

const P: &str = "id INT NOT NULL PRIMARY KEY";

/// The reviewer's case: SET NULL on a NOT NULL column (ON DELETE, and ON UPDATE
/// alone) is refused before anything is written, as InnoDB refuses the FK.
#[test]
fn set_null_on_a_not_null_column_is_refused() {
    let m = "id INT NOT NULL PRIMARY KEY, p_id INT NOT NULL";
    assert_refused(
        P,
        m,
        r#"{"name": "m_p_fk", "table": "m", "columns": ["p_id"], "referenced_table": "p",
            "on_delete": "SET NULL", "on_update": "SET NULL"}"#,
        &[
            "VSchema foreign key `m_p_fk` (`m` (p_id) -> `p` (id)): ON DELETE SET NULL on `m`.`p_id`, which is \
             NOT NULL: InnoDB refuses such a foreign key (errno 150, \"Foreign key constraint is incorrectly formed\")",
        ],
    );
    assert_refused(
        P,
        m,
        r#"{"name": "m_p_fk", "table": "m", "columns": ["p_id"], "referenced_table": "p",
            "on_delete": "CASCADE", "on_update": "SET NULL"}"#,
        &["VSchema foreign key `m_p_fk` (`m` (p_id) -> `p` (id)): ON UPDATE SET NULL on `m`.`p_id`, which is NOT NULL"],
    );
}

/// Child and parent columns InnoDB would not compare: integers of another size or
/// sign, strings of another collation.
#[test]
fn columns_of_types_innodb_would_not_join_are_refused() {
    assert_refused(
        P,
        "id INT NOT NULL PRIMARY KEY, p_id BIGINT NULL",
        r#"{"name": "m_p_fk", "table": "m", "columns": ["p_id"], "referenced_table": "p"}"#,
        &[
            "VSchema foreign key `m_p_fk` (`m` (p_id) -> `p` (id)): `m`.`p_id` is bigint(20), `p`.`id` is int(11): \
             InnoDB refuses such a foreign key (errno 150, \"Foreign key constraint is incorrectly formed\"): \
             integers must have the same size and the same sign",
        ],
    );
    assert_refused(
        "id INT UNSIGNED NOT NULL PRIMARY KEY",
        "id INT UNSIGNED NOT NULL PRIMARY KEY, p_id INT NULL",
        r#"{"name": "m_p_fk", "table": "m", "columns": ["p_id"], "referenced_table": "p"}"#,
        &["`m`.`p_id` is int(11), `p`.`id` is int(10) unsigned"],
    );
    assert_refused(
        "id INT NOT NULL PRIMARY KEY, code VARCHAR(10) COLLATE utf8mb4_bin NULL, UNIQUE KEY (code)",
        "id INT NOT NULL PRIMARY KEY, p_id INT NULL, code VARCHAR(10) COLLATE utf8mb4_general_ci NULL",
        r#"{"name": "m_code_fk", "table": "m", "columns": ["code"], "referenced_table": "p",
            "referenced_columns": ["code"], "on_delete": "SET NULL"}"#,
        // Refused by the declared FK's own check (tether-schema's virtual_fk, shared with
        // sync), which reads the schema before this module's type rule does.
        &[
            "virtual foreign key m_code_fk: `m`.`code` (collation utf8mb4_general_ci) and `p`.`code` (collation \
             utf8mb4_bin) compare text differently",
            "give both columns the same type and collation",
        ],
    );
}

/// Referenced columns without a unique key (InnoDB wants an index on them, Vitess
/// a unique key), and columns that do not exist.
#[test]
fn a_parent_key_that_is_not_unique_and_unknown_columns_are_refused() {
    let p = "id INT NOT NULL PRIMARY KEY, code INT NULL, KEY (code)";
    let m = "id INT NOT NULL PRIMARY KEY, p_id INT NULL";
    assert_refused(
        p,
        m,
        r#"{"name": "m_code_fk", "table": "m", "columns": ["p_id"], "referenced_table": "p",
            "referenced_columns": ["code"]}"#,
        &[
            "VSchema foreign key `m_code_fk` (`m` (p_id) -> `p` (code)): `p` has no primary key or unique key on \
             exactly (code)",
            "Vitess requires a unique key too",
        ],
    );
    assert_refused(
        p,
        m,
        r#"{"name": "m_p_fk", "table": "m", "columns": ["nope"], "referenced_table": "p"}"#,
        &["virtual foreign key m_p_fk: column `m`.`nope` does not exist"],
    );
    assert_refused(
        p,
        m,
        r#"{"name": "m_p_fk", "table": "m", "columns": ["p_id"], "referenced_table": "nope"}"#,
        &["virtual foreign key m_p_fk: referenced table `nope` does not exist"],
    );
}

/// What InnoDB takes is still taken: strings of one collation and other lengths,
/// SET NULL on a NULL column, a UNIQUE parent key; the cascade runs.
#[test]
fn fks_innodb_would_create_are_planned() {
    let (db, gw) = keyspace(
        "id INT NOT NULL PRIMARY KEY, code VARCHAR(10) COLLATE utf8mb4_general_ci NULL, UNIQUE KEY (code)",
        "id INT NOT NULL PRIMARY KEY, p_id INT NULL, code CHAR(20) COLLATE utf8mb4_general_ci NULL",
        r#"{"name": "m_p_fk", "table": "m", "columns": ["p_id"], "referenced_table": "p", "on_delete": "SET NULL"},
           {"name": "m_code_fk", "table": "m", "columns": ["code"], "referenced_table": "p",
            "referenced_columns": ["code"], "on_update": "CASCADE"}"#,
    );
    db.exec_head("UPDATE p SET code = CONCAT('c', id); UPDATE m SET code = 'c2' WHERE id = 11");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        assert_eq!(code_of(&mut g, "DELETE FROM p WHERE id = 1").await, (0, String::new()));
        assert_eq!(
            code_of(&mut g, "UPDATE p SET code = 'x2' WHERE id = 2").await,
            (0, String::new())
        );
        let (code, message) = code_of(&mut g, "INSERT INTO m (id, p_id) VALUES (12, 1)").await;
        assert_eq!(code, 1452, "{message}");
        assert_eq!(
            dump(&mut g, &["m"]).await[0].1,
            vec![
                vec!["10".to_string(), "NULL".to_string(), "NULL".to_string()],
                vec!["11".to_string(), "2".to_string(), "x2".to_string()]
            ]
        );
    });
}

/// The gateway's type rule against a real InnoDB, every ordered pair of these
/// types: it never takes a pair InnoDB refuses, and it refuses a pair InnoDB takes
/// only outside integers and strings (InnoDB compares those as bytes of different
/// formats, e.g. DECIMAL(10,2) with DECIMAL(5,0)).
#[test]
fn the_type_rule_never_takes_a_pair_innodb_refuses() {
    const TYPES: &[&str] = &[
        "TINYINT",
        "TINYINT UNSIGNED",
        "SMALLINT",
        "MEDIUMINT",
        "INT",
        "INT(5)",
        "INT UNSIGNED",
        "BIGINT",
        "BIGINT UNSIGNED",
        "VARCHAR(10) COLLATE utf8mb4_general_ci",
        "VARCHAR(20) COLLATE utf8mb4_general_ci",
        "CHAR(10) COLLATE utf8mb4_general_ci",
        "VARCHAR(10) COLLATE utf8mb4_bin",
        "VARCHAR(10) CHARACTER SET latin1",
        "VARBINARY(10)",
        "BINARY(10)",
        "DECIMAL(10,2)",
        "DECIMAL(5,0)",
        "DATETIME",
        "DATETIME(3)",
        "DATE",
        "DOUBLE",
        "YEAR",
    ];
    let db = TestDb::create(TestEngine::Mysql);
    let mut script = String::new();
    for (i, t) in TYPES.iter().enumerate() {
        script.push_str(&format!(
            "CREATE TABLE p{i} (k {t} NOT NULL, PRIMARY KEY (k)) ENGINE=InnoDB;\n\
             CREATE TABLE c{i} (v {t} NULL) ENGINE=InnoDB;\n"
        ));
    }
    db.exec(&script);
    let read: Vec<(String, Option<String>)> = (0..TYPES.len())
        .map(|i| {
            let row = db.query(&format!(
                "SELECT COLUMN_TYPE, COLLATION_NAME FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'p{i}'"
            ));
            (row[0][0].clone().expect("a type"), row[0][1].clone())
        })
        .collect();
    let mut taken_not_by_innodb = Vec::new();
    let mut refused_only_here = Vec::new();
    tether_testkit::block_on(async {
        let mut conn = direct(&db).await;
        for (c, (ct, cc)) in read.iter().enumerate() {
            for (p, (pt, pc)) in read.iter().enumerate() {
                let innodb = conn
                    .query_drop(format!(
                        "ALTER TABLE c{c} ADD CONSTRAINT f FOREIGN KEY (v) REFERENCES p{p} (k)"
                    ))
                    .await
                    .is_ok();
                if innodb {
                    conn.query_drop(format!("ALTER TABLE c{c} DROP FOREIGN KEY f, DROP KEY f"))
                        .await
                        .expect("drops the FK");
                }
                let ours = type_mismatch(ct, cc.as_deref(), pt, pc.as_deref()).is_none();
                let pair = format!("{} -> {}", TYPES[c], TYPES[p]);
                if ours && !innodb {
                    taken_not_by_innodb.push(pair);
                } else if innodb && !ours {
                    let plain = |t: &str| matches!(class_of(t), Class::Other(_));
                    assert!(plain(ct) || plain(pt), "refused here, taken by InnoDB: {pair}");
                    refused_only_here.push(pair);
                }
            }
        }
    });
    assert_eq!(taken_not_by_innodb, Vec::<String>::new());
    eprintln!("refused here only: {refused_only_here:?}");
}
