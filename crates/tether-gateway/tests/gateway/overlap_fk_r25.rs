//! Twenty-fifth session (review r25g F1, F2, F3): a child column reached from one
//! statement through two FKs that act differently (one SET NULL, one CASCADE; ON
//! UPDATE CASCADE and ON UPDATE SET NULL). InnoDB takes a parent row's referencing
//! FKs one at a time in constraint-name order, each followed to its end (depth
//! first): whichever reaches the shared column first decides the child row. The
//! plan went level by level in its own order and kept a row InnoDB deletes (or the
//! reverse). Such a write now runs as InnoDB runs it, and EXPLAIN FK names the two
//! FKs; an UPDATE refused by a RESTRICT probe is replayed natively for its error,
//! as a DELETE is. Each compared with MariaDB natively on an identical database:
//! the same codes, messages and rows.

use tether_testkit::spider::{self, Cluster, Partitioning};
use tether_testkit::{TestDb, TestEngine};

use crate::cascade_r13::differential;
use crate::sharded_managed::code_of;
use crate::support::{rows, start_json, start_one};

/// `a` cascades to `b` (FK `b_name`) and `c` (FK `c_name`); `d`.`x` references
/// `b` (`d1`, SET NULL) and `c` (`d2`, CASCADE).
fn set_null_and_cascade(b_name: &str, c_name: &str) -> String {
    format!(
        "CREATE TABLE a (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE b (id INT PRIMARY KEY, aid INT,
  CONSTRAINT {b_name} FOREIGN KEY (aid) REFERENCES a (id) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, aid INT,
  CONSTRAINT {c_name} FOREIGN KEY (aid) REFERENCES a (id) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE d (id INT PRIMARY KEY, x INT,
  CONSTRAINT d1 FOREIGN KEY (x) REFERENCES b (id) ON DELETE SET NULL,
  CONSTRAINT d2 FOREIGN KEY (x) REFERENCES c (id) ON DELETE CASCADE) ENGINE=InnoDB;
INSERT INTO a VALUES (1), (2);
INSERT INTO b VALUES (5, 1), (6, 2);
INSERT INTO c VALUES (5, 1), (6, 2);
INSERT INTO d VALUES (1, 5), (2, 6);"
    )
}

/// `c`'s FK named first: InnoDB deletes `d` 1 by `d2` before `d1` can set it
/// NULL; named after `b`'s, `d1` comes first and the row stays, NULL. The same
/// for the delete of a REPLACE.
#[test]
fn set_null_and_cascade_on_one_column_follow_innodbs_name_order() {
    for (b_name, c_name, d) in [
        ("fk_b", "fk_a", vec![]),
        ("fk_a", "fk_b", vec![vec!["1", "NULL"], vec!["2", "NULL"]]),
    ] {
        let (codes, left) = differential(
            &set_null_and_cascade(b_name, c_name),
            &["a", "b", "c", "d"],
            &["DELETE FROM a WHERE id = 1", "REPLACE INTO a VALUES (2)"],
            "SELECT id, IFNULL(x, 'NULL') FROM d ORDER BY id",
        );
        assert_eq!(codes, vec![0, 0], "{b_name}, {c_name}");
        let d: Vec<Vec<String>> = d.iter().map(|r| r.iter().map(|v| v.to_string()).collect()).collect();
        assert_eq!(left, d, "{b_name}, {c_name}");
    }
}

/// Depth first: `a` -> `b` -> `b2` sets `d`.`x` NULL before the path through `c`
/// (a level shorter, FK named after `b`'s) would delete the row. The plan deleted
/// it at its level 3.
#[test]
fn a_deeper_set_null_taken_first_keeps_the_row_as_natively() {
    let (codes, left) = differential(
        "CREATE TABLE a (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE b (id INT PRIMARY KEY, aid INT,
  CONSTRAINT fk_a FOREIGN KEY (aid) REFERENCES a (id) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE b2 (id INT PRIMARY KEY, bid INT,
  CONSTRAINT fk_b2 FOREIGN KEY (bid) REFERENCES b (id) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, aid INT,
  CONSTRAINT fk_b FOREIGN KEY (aid) REFERENCES a (id) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE d (id INT PRIMARY KEY, x INT,
  CONSTRAINT d1 FOREIGN KEY (x) REFERENCES b2 (id) ON DELETE SET NULL,
  CONSTRAINT d2 FOREIGN KEY (x) REFERENCES c (id) ON DELETE CASCADE) ENGINE=InnoDB;
INSERT INTO a VALUES (1); INSERT INTO b VALUES (5, 1); INSERT INTO b2 VALUES (7, 5);
INSERT INTO c VALUES (7, 1); INSERT INTO d VALUES (1, 7);",
        &["a", "b", "b2", "c", "d"],
        &["DELETE FROM a WHERE id = 1"],
        "SELECT id, IFNULL(x, 'NULL') FROM d",
    );
    assert_eq!(codes, vec![0]);
    assert_eq!(left, vec![vec!["1".to_string(), "NULL".to_string()]]);
}

/// A composite SET NULL (`x`, `y`) and a CASCADE on `y` alone: `c`'s FK named
/// first deletes the row natively; the plan set both columns NULL.
#[test]
fn a_composite_set_null_over_a_cascaded_column_follows_innodb() {
    let (codes, left) = differential(
        "CREATE TABLE a (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE b (id INT PRIMARY KEY, aid INT, KEY (id, aid),
  CONSTRAINT fk_b FOREIGN KEY (aid) REFERENCES a (id) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, aid INT,
  CONSTRAINT fk_a FOREIGN KEY (aid) REFERENCES a (id) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE d (id INT PRIMARY KEY, x INT, y INT,
  CONSTRAINT d1 FOREIGN KEY (x, y) REFERENCES b (id, aid) ON DELETE SET NULL,
  CONSTRAINT d2 FOREIGN KEY (y) REFERENCES c (id) ON DELETE CASCADE) ENGINE=InnoDB;
INSERT INTO a VALUES (1); INSERT INTO b VALUES (5, 1); INSERT INTO c VALUES (1, 1);
INSERT INTO d VALUES (1, 5, 1);",
        &["a", "b", "c", "d"],
        &["DELETE FROM a WHERE id = 1"],
        "SELECT COUNT(*) FROM d",
    );
    assert_eq!(codes, vec![0]);
    assert_eq!(left, vec![vec!["0".to_string()]]);
}

/// ON UPDATE CASCADE (`d1`, through `b`) and ON UPDATE SET NULL (`d2`, through
/// `c`) on `d`.`x`: natively whichever parent's FK is named first decides. `c`'s
/// `fk_a` first: `x` is set NULL, and the DELETE that follows succeeds; the plan's
/// native-first step only decided success, its own order gave 2, and the DELETE
/// failed (1451 by `d1`). `b`'s first: `x` cascades to 2, which `d2` refuses
/// (1452, `c` not yet re-keyed), as before.
#[test]
fn on_update_cascade_and_set_null_on_one_column_follow_innodbs_name_order() {
    for (b_name, c_name, codes_expected, x) in [
        ("fk_b", "fk_a", [0, 0, 0], "NULL"),
        ("fk_a", "fk_b", [1452, 0, 1451], "1"),
    ] {
        let (codes, left) = differential(
            &format!(
                "CREATE TABLE a (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE b (id INT PRIMARY KEY, aid INT, KEY (aid),
  CONSTRAINT {b_name} FOREIGN KEY (aid) REFERENCES a (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, aid INT, KEY (aid),
  CONSTRAINT {c_name} FOREIGN KEY (aid) REFERENCES a (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE d (id INT PRIMARY KEY, x INT,
  CONSTRAINT d1 FOREIGN KEY (x) REFERENCES b (aid) ON UPDATE CASCADE,
  CONSTRAINT d2 FOREIGN KEY (x) REFERENCES c (aid) ON UPDATE SET NULL) ENGINE=InnoDB;
INSERT INTO a VALUES (1); INSERT INTO b VALUES (5, 1); INSERT INTO c VALUES (5, 1);
INSERT INTO d VALUES (1, 1);"
            ),
            &["a", "b", "c", "d"],
            &["UPDATE a SET id = 2", "SELECT * FROM d", "DELETE FROM a"],
            "SELECT id, IFNULL(x, 'NULL') FROM d",
        );
        assert_eq!(codes, codes_expected, "{b_name}, {c_name}");
        assert_eq!(left, vec![vec!["1".to_string(), x.to_string()]], "{b_name}, {c_name}");
    }
}

/// Two RESTRICT FKs of `d`.`x`, to `b` and to `c`, both re-keyed by one UPDATE of
/// `a`: natively the 1451 names the FK of the parent whose cascade InnoDB takes
/// first (by constraint name); the gateway named its own first. The UPDATE is now
/// replayed natively for its error, as a DELETE is.
#[test]
fn two_restrict_children_of_an_update_name_innodbs_first() {
    for (b_name, c_name) in [("fk_b", "fk_a"), ("fk_a", "fk_b")] {
        let (codes, _) = differential(
            &format!(
                "CREATE TABLE a (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE b (id INT PRIMARY KEY, aid INT, KEY (aid),
  CONSTRAINT {b_name} FOREIGN KEY (aid) REFERENCES a (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, aid INT, KEY (aid),
  CONSTRAINT {c_name} FOREIGN KEY (aid) REFERENCES a (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE d (id INT PRIMARY KEY, x INT,
  CONSTRAINT d1 FOREIGN KEY (x) REFERENCES b (aid),
  CONSTRAINT d2 FOREIGN KEY (x) REFERENCES c (aid)) ENGINE=InnoDB;
INSERT INTO a VALUES (1); INSERT INTO b VALUES (5, 1); INSERT INTO c VALUES (5, 1);
INSERT INTO d VALUES (1, 1);"
            ),
            &["a", "b", "c", "d"],
            &["UPDATE a SET id = 2", "DELETE FROM a"],
            "SELECT 1",
        );
        assert_eq!(codes, vec![1451, 1451], "{b_name}, {c_name}");
    }
}

/// EXPLAIN FK says the write runs as InnoDB runs it and names the two FKs; two
/// CASCADEs of one column (the same rows whichever goes first) stay a plan.
#[test]
fn explain_names_the_two_fks_and_same_actions_stay_planned() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(&set_null_and_cascade("fk_b", "fk_a"));
    db.exec(
        "CREATE TABLE e (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE f (id INT PRIMARY KEY, eid INT,
  CONSTRAINT f_e FOREIGN KEY (eid) REFERENCES e (id) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE g (id INT PRIMARY KEY, eid INT,
  CONSTRAINT g_e FOREIGN KEY (eid) REFERENCES e (id) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE h (id INT PRIMARY KEY, x INT,
  CONSTRAINT h1 FOREIGN KEY (x) REFERENCES f (id) ON DELETE CASCADE,
  CONSTRAINT h2 FOREIGN KEY (x) REFERENCES g (id) ON DELETE CASCADE) ENGINE=InnoDB;",
    );
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let explain = |r: Vec<Vec<String>>| r.into_iter().flatten().collect::<Vec<_>>().join("\n");
        let left = explain(rows(&mut g, "EXPLAIN FK DELETE FROM a WHERE id = 1").await);
        assert!(
            left.starts_with(
                "runs as InnoDB runs it: FKs `d1` (SET NULL) and `d2` (ON DELETE CASCADE) of `d` both act on `x`"
            ),
            "{left}"
        );
        let planned = explain(rows(&mut g, "EXPLAIN FK DELETE FROM e WHERE id = 1").await);
        assert!(!planned.contains("runs as InnoDB runs it"), "{planned}");
    });
}

/// Behind Spider (a sharded managed keyspace, FKs from the config) InnoDB cannot
/// run such a write: refused with 1105 naming the two FKs, nothing written. Two
/// CASCADE deletes of one column stay planned there too.
#[test]
fn a_sharded_keyspace_refuses_the_write_naming_the_fks() {
    let c = Cluster::start("r25g_overlap");
    let db = c.create_db();
    for (name, columns) in [
        ("a", "id INT PRIMARY KEY"),
        ("b", "id INT PRIMARY KEY, aid INT, KEY (aid)"),
        ("c", "id INT PRIMARY KEY, aid INT, KEY (aid)"),
        ("d", "id INT PRIMARY KEY, x INT, KEY (x)"),
    ] {
        db.sharded_table(name, columns, columns, &Partitioning::Hash("id".into()), &spider::NODES);
    }
    db.exec_head(
        "INSERT INTO a VALUES (1), (2); INSERT INTO b VALUES (5, 1), (6, 2); INSERT INTO c VALUES (5, 1), (6, 2);
INSERT INTO d VALUES (1, 5), (2, 6)",
    );
    let gw = |d2: &str| {
        let fks = [
            ("fk_b", "b", "aid", "a", "CASCADE", "RESTRICT"),
            ("fk_a", "c", "aid", "a", "CASCADE", "RESTRICT"),
            ("d1", "d", "x", "b", "SET NULL", "RESTRICT"),
            ("d2", "d", "x", "c", d2, "RESTRICT"),
        ];
        start_json(&spider::managed_keyspace("ks", &db.head_url(), &fks), "")
    };
    let refusing = gw("CASCADE");
    refusing.block_on(async {
        let mut k = refusing.connect("ks").await;
        let (code, message) = code_of(&mut k, "DELETE FROM a WHERE id = 1").await;
        assert_eq!(code, 1105, "{message}");
        assert!(
            message.contains("is sharded and managed") && message.contains("FKs `d1` (SET NULL) and `d2`"),
            "{message}"
        );
    });
    drop(refusing);
    let count = |sql: &str| db.query_head(sql)[0][0].clone().unwrap_or_default();
    assert_eq!(
        count("SELECT COUNT(*) FROM d WHERE x IS NOT NULL"),
        "2",
        "nothing written"
    );
    let planned = gw("SET NULL");
    planned.block_on(async {
        let mut k = planned.connect("ks").await;
        assert_eq!(code_of(&mut k, "DELETE FROM a WHERE id = 1").await, (0, String::new()));
    });
    assert_eq!(
        count("SELECT GROUP_CONCAT(id, ':', IFNULL(x, 'NULL') ORDER BY id) FROM d"),
        "1:NULL,2:6"
    );
}
