//! Twenty-seventh session, writer F (review r26f F2, F3).
//!
//! F2: a row that is its own parent. InnoDB writes a row index by index (the
//! clustered index first, then the secondary indexes in the table's order) and
//! checks the FKs an index backs just before writing that index's entry: a row
//! is its own parent only where the referenced index comes before the FK's own
//! index. The gateway took every inserted row as its own parent.
//!
//! F3: in a multi-row INSERT the gateway stored every row's values (and met a
//! later row's 1048) before checking any row's parents; MariaDB goes row by row,
//! and an earlier row's 1452 / 1062 / 1451 is the statement's error.
//!
//! Each compared with MariaDB natively on an identical database: the same codes,
//! messages, warnings and rows.

use crate::cascade_r13::differential;
use crate::values_r14::table;

/// The FK's index is the clustered index (`id` references the unique `u`): InnoDB
/// checks it before any entry of the row exists, so (5, 5) is not its own parent;
/// an earlier row of the statement is a parent, a later one is not. The reverse FK
/// (`u` references the primary key) is checked after the clustered entry: (5, 5) is.
#[test]
fn a_row_is_not_its_own_parent_through_the_clustered_index() {
    let (codes, rows) = differential(
        "CREATE TABLE t (id INT PRIMARY KEY, u INT UNIQUE, FOREIGN KEY (id) REFERENCES t (u)) ENGINE=InnoDB;
CREATE TABLE r (id INT PRIMARY KEY, u INT, KEY (u), FOREIGN KEY (u) REFERENCES r (id)) ENGINE=InnoDB;
SET foreign_key_checks = 0;
INSERT INTO t VALUES (1, 1), (2, 3);
SET foreign_key_checks = 1;",
        &["t", "r"],
        &[
            "INSERT INTO t VALUES (5, 5)",
            "INSERT INTO t VALUES (6, 5), (5, 6)",
            "INSERT INTO t VALUES (3, 4)",
            "INSERT INTO t VALUES (4, 6), (6, 8)",
            "INSERT INTO t (u, id) VALUES (10, 9), (9, 8)",
            "INSERT INTO r VALUES (5, 5)",
            "INSERT INTO r VALUES (6, 7), (7, 7)",
            "INSERT INTO r VALUES (7, 7), (6, 7)",
        ],
        "SELECT (SELECT GROUP_CONCAT(id, ':', u ORDER BY id) FROM t), (SELECT GROUP_CONCAT(id, ':', u ORDER BY id) FROM r)",
    );
    assert_eq!(codes, vec![1452, 1452, 0, 0, 1452, 0, 1452, 0]);
    assert_eq!(rows, table(&[&["1:1,2:3,3:4,4:6,6:8", "5:5,6:7,7:7"]]));
}

/// An FK and the key it references in two secondary indexes: their order in the
/// table decides. `kp` before `ku`: the FK is checked before `u` is written; `ku`
/// before `kp` (or a NOT NULL unique key, which the server sorts first): after.
#[test]
fn between_secondary_indexes_the_table_order_decides() {
    let (codes, rows) = differential(
        "CREATE TABLE h (id INT PRIMARY KEY, p INT, u INT, UNIQUE KEY kp (p), UNIQUE KEY ku (u),
  FOREIGN KEY (p) REFERENCES h (u)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, p INT, u INT, UNIQUE KEY ku (u), UNIQUE KEY kp (p),
  FOREIGN KEY (p) REFERENCES c (u)) ENGINE=InnoDB;
CREATE TABLE d (id INT PRIMARY KEY, p INT, u INT NOT NULL, UNIQUE KEY kp (p), UNIQUE KEY ku (u),
  FOREIGN KEY (p) REFERENCES d (u)) ENGINE=InnoDB;
CREATE TABLE k (id INT PRIMARY KEY, p INT, u INT, KEY kp (p), UNIQUE KEY ku (u),
  FOREIGN KEY (p) REFERENCES k (u)) ENGINE=InnoDB;",
        &["h", "c", "d", "k"],
        &[
            "INSERT INTO h VALUES (1, 7, 7)",
            "INSERT INTO h VALUES (1, NULL, 7), (2, 7, 8)",
            // The referenced value stays: found whatever the order.
            "UPDATE h SET p = 8 WHERE id = 2",
            "INSERT INTO c VALUES (1, 7, 7)",
            "INSERT INTO d VALUES (1, 7, 7)",
            "INSERT INTO k VALUES (1, 7, 7)",
        ],
        "SELECT (SELECT GROUP_CONCAT(id, ':', IFNULL(p, '-'), ':', u ORDER BY id) FROM h), \
         (SELECT COUNT(*) FROM c), (SELECT COUNT(*) FROM d), (SELECT COUNT(*) FROM k)",
    );
    assert_eq!(codes, vec![1452, 0, 0, 0, 0, 0]);
    assert_eq!(rows, table(&[&["1:-:7,2:8:8", "1", "1", "1"]]));
}

/// Multi-column keys: the FK on the primary key's columns is not its own parent,
/// the FK into the primary key is; an FK referencing its own columns never is.
#[test]
fn composite_and_same_column_self_references_follow_the_index_order() {
    let (codes, rows) = differential(
        "CREATE TABLE e (a INT, b INT, x INT, y INT, PRIMARY KEY (a, b), UNIQUE KEY (x, y),
  FOREIGN KEY (a, b) REFERENCES e (x, y)) ENGINE=InnoDB;
CREATE TABLE f (a INT, b INT, x INT, y INT, PRIMARY KEY (a, b), KEY (x, y),
  FOREIGN KEY (x, y) REFERENCES f (a, b)) ENGINE=InnoDB;
CREATE TABLE g (id INT PRIMARY KEY, p INT, FOREIGN KEY (id) REFERENCES g (id)) ENGINE=InnoDB;",
        &["e", "f", "g"],
        &[
            "INSERT INTO e VALUES (1, 2, 1, 2)",
            "INSERT INTO f VALUES (1, 2, 1, 2)",
            "INSERT INTO g VALUES (1, 1)",
        ],
        "SELECT (SELECT COUNT(*) FROM e), (SELECT COUNT(*) FROM f), (SELECT COUNT(*) FROM g)",
    );
    assert_eq!(codes, vec![1452, 0, 1452]);
    assert_eq!(rows, table(&[&["0", "1", "0"]]));
}

/// An UPDATE writes the clustered index first too: a new primary key checked
/// against the row's own new `u` (not written yet) fails; an unchanged `u` is found.
#[test]
fn an_update_to_its_own_new_key_follows_the_index_order() {
    let (codes, rows) = differential(
        "CREATE TABLE a (id INT PRIMARY KEY, u INT UNIQUE, FOREIGN KEY (id) REFERENCES a (u)) ENGINE=InnoDB;
CREATE TABLE b (id INT PRIMARY KEY, u INT UNIQUE, FOREIGN KEY (u) REFERENCES b (id)) ENGINE=InnoDB;
SET foreign_key_checks = 0;
INSERT INTO a VALUES (1, 1), (2, 3);
SET foreign_key_checks = 1;
INSERT INTO b VALUES (1, NULL);",
        &["a", "b"],
        &[
            "UPDATE a SET id = 5, u = 5 WHERE id = 1",
            "UPDATE a SET id = 3 WHERE id = 2",
            "UPDATE b SET u = 1 WHERE id = 1",
            "UPDATE b SET id = 2, u = 2 WHERE id = 1",
        ],
        "SELECT (SELECT GROUP_CONCAT(id, ':', u ORDER BY id) FROM a), (SELECT GROUP_CONCAT(id, ':', u ORDER BY id) FROM b)",
    );
    assert_eq!(codes, vec![1452, 0, 0, 1451]);
    assert_eq!(rows, table(&[&["1:1,3:3", "1:1"]]));
}

/// INSERT ... SELECT: the rows in the SELECT's order, each after the one before.
#[test]
fn insert_select_rows_are_parents_of_later_rows_only() {
    let (codes, rows) = differential(
        "CREATE TABLE t (id INT PRIMARY KEY, u INT UNIQUE, FOREIGN KEY (id) REFERENCES t (u)) ENGINE=InnoDB;
CREATE TABLE s (n INT PRIMARY KEY, id INT, u INT) ENGINE=InnoDB;
INSERT INTO s VALUES (1, 5, 5), (2, 6, 7), (3, 7, 6), (4, 8, 10), (5, 10, 11);",
        &["t", "s"],
        &[
            "INSERT INTO t SELECT id, u FROM s WHERE n = 1",
            "INSERT INTO t SELECT id, u FROM s WHERE n IN (2, 3) ORDER BY n",
            "INSERT INTO t SELECT id, u FROM s WHERE n IN (4, 5) ORDER BY n DESC",
        ],
        "SELECT GROUP_CONCAT(id, ':', u ORDER BY id) FROM t",
    );
    assert_eq!(codes, vec![1452, 1452, 1452]);
    assert_eq!(rows, table(&[&["NULL"]]));
}

/// F3: an earlier row's FK, duplicate-key or referenced-row error comes before a
/// later row's NULL into a NOT NULL column (strict mode); the NULL row first is 1048.
#[test]
fn an_earlier_rows_error_comes_before_a_later_rows_null() {
    let (codes, rows) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid INT NOT NULL, FOREIGN KEY (pid) REFERENCES p (id)) ENGINE=InnoDB;
CREATE TABLE q (id INT PRIMARY KEY, pid INT NOT NULL, FOREIGN KEY (pid) REFERENCES q (id)) ENGINE=InnoDB;
INSERT INTO p VALUES (1), (2);
INSERT INTO c VALUES (1, 1);
INSERT INTO q VALUES (1, 1);",
        &["p", "c", "q"],
        &[
            "INSERT INTO c VALUES (2, 9), (3, NULL)",
            "INSERT INTO c VALUES (1, 2), (3, NULL)",
            "INSERT INTO c VALUES (3, NULL), (2, 9)",
            "INSERT INTO c VALUES (2, 2), (3, 9), (4, NULL)",
            // A REPLACE's delete of a referenced row (1451), the row its own child too.
            "REPLACE INTO p VALUES (1), (5)",
            "REPLACE INTO q VALUES (1, 1), (3, NULL)",
            "REPLACE INTO q VALUES (2, 9), (3, NULL)",
        ],
        "SELECT (SELECT GROUP_CONCAT(id, ':', pid ORDER BY id) FROM c), (SELECT GROUP_CONCAT(id ORDER BY id) FROM p), \
         (SELECT GROUP_CONCAT(id, ':', pid ORDER BY id) FROM q)",
    );
    assert_eq!(codes, vec![1452, 1062, 1048, 1452, 1451, 1451, 1452]);
    assert_eq!(rows, table(&[&["1:1", "1,2", "1:1"]]));
}
