//! Twenty-sixth session, writer M2 (review r26f F1).
//!
//! F1: an ON UPDATE CASCADE of a multi-column FK assigned every child FK column
//! from the parent's new row. InnoDB's cascade update vector holds only the parent
//! columns that changed (byte for byte): a child column whose parent column did
//! not change keeps the child's own spelling (another case, trailing spaces under
//! a `_ci` collation). The gateway now assigns only the changed columns.
//!
//! Each compared with MariaDB natively on an identical database: the same codes,
//! messages, warnings and rows.

use crate::cascade_r13::differential;
use crate::values_r14::table;

/// The child's 'X' for the parent's 'x' (and 'y ' for 'y') stays when only `b`
/// of the parent's key changes; a changed `a` is written with the parent's bytes.
#[test]
fn a_composite_cascade_keeps_the_childs_spelling_of_an_unchanged_column() {
    let (codes, rows) = differential(
        "CREATE TABLE p (a VARCHAR(6) COLLATE utf8mb4_general_ci NOT NULL, b INT NOT NULL, PRIMARY KEY (a, b))
  CHARACTER SET utf8mb4 ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, a VARCHAR(6) COLLATE utf8mb4_general_ci, b INT,
  CONSTRAINT c_fk FOREIGN KEY (a, b) REFERENCES p (a, b) ON UPDATE CASCADE) CHARACTER SET utf8mb4 ENGINE=InnoDB;
INSERT INTO p VALUES ('x', 1), ('y', 1), ('z', 1);
INSERT INTO c VALUES (1, 'X', 1), (2, 'y ', 1), (3, 'Z', 1);",
        &["p", "c"],
        &[
            "UPDATE p SET b = 2 WHERE a IN ('x', 'y')",
            // Both columns change: the parent's bytes for both.
            "UPDATE p SET a = 'w', b = 3 WHERE a = 'z'",
            // Only the case of `a` changes: written, `b` kept.
            "UPDATE p SET a = 'X' WHERE a = 'x'",
        ],
        "SELECT GROUP_CONCAT(id, ':[', a, ']:', b ORDER BY id) FROM c",
    );
    assert_eq!(codes, vec![0; 3]);
    assert_eq!(rows, table(&[&["1:[X]:2,2:[y ]:2,3:[w]:3"]]));
}

/// Many integer keys (the search by halves) with a text column kept.
#[test]
fn a_composite_cascade_over_many_keys_keeps_the_unchanged_column() {
    let parents: Vec<String> = (1..=20).map(|i| format!("({i}, 'k')")).collect();
    let children: Vec<String> = (1..=20).map(|i| format!("({i}, {i}, 'K ')")).collect();
    let (codes, rows) = differential(
        &format!(
            "CREATE TABLE p (n INT NOT NULL, s VARCHAR(4) COLLATE utf8mb4_general_ci NOT NULL, PRIMARY KEY (n, s))
  CHARACTER SET utf8mb4 ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, n INT, s VARCHAR(4) COLLATE utf8mb4_general_ci,
  CONSTRAINT c_fk FOREIGN KEY (n, s) REFERENCES p (n, s) ON UPDATE CASCADE) CHARACTER SET utf8mb4 ENGINE=InnoDB;
INSERT INTO p VALUES {};
INSERT INTO c VALUES {};",
            parents.join(", "),
            children.join(", ")
        ),
        &["p", "c"],
        &["UPDATE p SET n = n + 100 ORDER BY n DESC"],
        "SELECT COUNT(*), SUM(s = BINARY 'K '), MIN(n) FROM c",
    );
    assert_eq!(codes, vec![0]);
    assert_eq!(rows, table(&[&["20", "20", "101"]]));
}

/// The fuzzer's form: an upsert's update sets only `f2` of the parent's unique
/// key (f1, f2); the child's 'B' for the parent's 'b' stays.
#[test]
fn an_upsert_cascading_one_column_of_a_unique_key_keeps_the_other() {
    let (codes, rows) = differential(
        "CREATE TABLE t1 (id VARCHAR(6) COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY,
  u VARCHAR(6) COLLATE utf8mb4_general_ci NOT NULL, f1 VARCHAR(6) COLLATE utf8mb4_general_ci NOT NULL,
  f2 VARCHAR(6) COLLATE utf8mb4_general_ci NULL, UNIQUE KEY uk0 (u), UNIQUE KEY uk1 (f1, f2))
  CHARACTER SET utf8mb4 ENGINE=InnoDB;
CREATE TABLE t2 (id INT PRIMARY KEY, u VARCHAR(6) COLLATE utf8mb4_general_ci NOT NULL,
  f2 VARCHAR(6) COLLATE utf8mb4_general_ci NULL,
  CONSTRAINT t2_fk1 FOREIGN KEY (u, f2) REFERENCES t1 (f1, f2) ON UPDATE CASCADE) CHARACTER SET utf8mb4 ENGINE=InnoDB;
INSERT INTO t1 VALUES ('a ', 'a ', 'b', NULL), ('B', 'C   ', 'b', 'a ');
INSERT INTO t2 VALUES (1, 'B', 'a ');",
        &["t1", "t2"],
        &["INSERT INTO t1 (id, u, f1, f2) VALUES ('A', 'a ', 'b', 'b '), ('b ', 'b', 'A', NULL), ('A', 'c', 'A', NULL)
  ON DUPLICATE KEY UPDATE u = CONCAT(VALUES(u), ' '), f2 = CONCAT(VALUES(f2), ' ')"],
        "SELECT GROUP_CONCAT(id, ':[', u, ']:[', IFNULL(f2, '-'), ']' ORDER BY id) FROM t2",
    );
    assert_eq!(codes, vec![0]);
    assert_eq!(rows, table(&[&["1:[B]:[-]"]]));
}

/// A child that is a parent itself: its kept spelling is what its own children
/// are checked and cascaded against.
#[test]
fn a_kept_column_of_a_child_that_is_a_parent_is_its_own_spelling() {
    let (codes, rows) = differential(
        "CREATE TABLE p (a VARCHAR(6) COLLATE utf8mb4_general_ci NOT NULL, b INT NOT NULL, PRIMARY KEY (a, b))
  CHARACTER SET utf8mb4 ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, a VARCHAR(6) COLLATE utf8mb4_general_ci, b INT, UNIQUE KEY ua (a, b),
  CONSTRAINT c_fk FOREIGN KEY (a, b) REFERENCES p (a, b) ON UPDATE CASCADE) CHARACTER SET utf8mb4 ENGINE=InnoDB;
CREATE TABLE gc (id INT PRIMARY KEY, a VARCHAR(6) COLLATE utf8mb4_general_ci, b INT,
  CONSTRAINT gc_fk FOREIGN KEY (a, b) REFERENCES c (a, b) ON UPDATE CASCADE) CHARACTER SET utf8mb4 ENGINE=InnoDB;
INSERT INTO p VALUES ('x', 1);
INSERT INTO c VALUES (1, 'X', 1);
INSERT INTO gc VALUES (1, 'x ', 1);",
        &["p", "c", "gc"],
        &["UPDATE p SET b = 2"],
        "SELECT (SELECT GROUP_CONCAT(id, ':[', a, ']:', b) FROM c), (SELECT GROUP_CONCAT(id, ':[', a, ']:', b) FROM gc)",
    );
    assert_eq!(codes, vec![0]);
    assert_eq!(rows, table(&[&["1:[X]:2", "1:[x ]:2"]]));
}
