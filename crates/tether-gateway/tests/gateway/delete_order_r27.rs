//! Twenty-seventh session, writer D (review r26f F4).
//!
//! F4: a DELETE of a table that references itself through a UNIQUE key counted a
//! row a cascade of an earlier row had already deleted. The gateway's lock read
//! (`SELECT id, f3 FROM t FOR UPDATE`) reads key columns only, which the secondary
//! unique index covers: MariaDB scanned that index (ids 1, 4, 3) while the native
//! DELETE scans the clustered index (1, 3, 4). The read's order is the order the
//! gateway takes the statement's rows in (which row's cascade comes first, which
//! RESTRICT child is still there): it now reads in primary-key order where the
//! native DELETE provably scans that way, and takes the outcome from a native run
//! where only the optimizer knows the order (a WHERE on a secondary index's column,
//! an ORDER BY that leaves ties).
//!
//! Each compared with MariaDB natively on an identical database: the same codes,
//! affected-row counts, messages and rows.

use crate::cascade_r13::differential;
use crate::values_r14::table;

/// The reviewer's shape: row 3's cascade deletes row 4 before the scan reaches it.
const SELF_UNIQUE: &str = "CREATE TABLE t (id INT PRIMARY KEY, f3 INT, r INT, v INT, UNIQUE KEY uk (f3),
  CONSTRAINT t_fk FOREIGN KEY (r) REFERENCES t (f3) ON DELETE CASCADE) ENGINE=InnoDB;
INSERT INTO t VALUES (1, 10, NULL, 0), (3, 30, NULL, 0), (4, 20, 30, 0), (2, 40, NULL, 1);";

/// The rows left, as `id:r`.
const LEFT: &str = "SELECT IFNULL(GROUP_CONCAT(id, ':', IFNULL(r, '-') ORDER BY id), '') FROM t";

#[test]
fn a_delete_of_every_row_counts_as_the_clustered_scan_does() {
    let (codes, rows) = differential(SELF_UNIQUE, &["t"], &["DELETE FROM t WHERE 1"], LEFT);
    assert_eq!(codes, vec![0]);
    assert_eq!(rows, table(&[&[""]]));
}

#[test]
fn a_delete_without_where_counts_as_the_clustered_scan_does() {
    let (codes, rows) = differential(SELF_UNIQUE, &["t"], &["DELETE FROM t"], LEFT);
    assert_eq!(codes, vec![0]);
    assert_eq!(rows, table(&[&[""]]));
}

/// A WHERE on columns no secondary index holds (and on the primary key): a full
/// scan or a range of the primary key, both in primary-key order.
#[test]
fn a_where_on_unindexed_and_primary_key_columns_follows_the_primary_key() {
    let (codes, rows) = differential(
        SELF_UNIQUE,
        &["t"],
        &["DELETE FROM t WHERE v = 0 AND id < 4", "DELETE FROM t WHERE id >= 2"],
        LEFT,
    );
    assert_eq!(codes, vec![0, 0]);
    assert_eq!(rows, table(&[&[""]]));
}

/// Two levels deep: row 3's cascade deletes row 5, whose cascade deletes row 4;
/// the secondary index holds both before row 3.
#[test]
fn a_cascade_two_levels_deep_is_not_counted_again() {
    let (codes, rows) = differential(
        "CREATE TABLE t (id INT PRIMARY KEY, f3 INT, r INT, UNIQUE KEY uk (f3),
  CONSTRAINT t_fk FOREIGN KEY (r) REFERENCES t (f3) ON DELETE CASCADE) ENGINE=InnoDB;
INSERT INTO t VALUES (1, 10, NULL), (3, 30, NULL), (5, 20, 30), (4, 25, 20), (6, 50, NULL);",
        &["t"],
        &["DELETE FROM t"],
        LEFT,
    );
    assert_eq!(codes, vec![0]);
    assert_eq!(rows, table(&[&[""]]));
}

/// ON DELETE SET NULL: every own row is the statement's to delete, a row outside
/// the statement keeps its row with NULL.
#[test]
fn a_self_reference_set_null_counts_every_own_row() {
    let (codes, rows) = differential(
        "CREATE TABLE t (id INT PRIMARY KEY, f3 INT, r INT, UNIQUE KEY uk (f3),
  CONSTRAINT t_fk FOREIGN KEY (r) REFERENCES t (f3) ON DELETE SET NULL) ENGINE=InnoDB;
INSERT INTO t VALUES (1, 10, NULL), (3, 30, NULL), (4, 20, 30), (5, 50, 30), (6, 60, 20);",
        &["t"],
        &["DELETE FROM t WHERE id < 5"],
        LEFT,
    );
    assert_eq!(codes, vec![0]);
    assert_eq!(rows, table(&[&["5:-,6:-"]]));
}

/// A WHERE range on the secondary key: the native DELETE scans that range in the
/// index's order (row 4 before row 3, so it counts; row 5 after row 3, so it does
/// not). Only the optimizer knows which way it goes: InnoDB's run decides.
#[test]
fn a_range_on_the_secondary_key_counts_in_that_index_order() {
    let (codes, rows) = differential(
        "CREATE TABLE t (id INT PRIMARY KEY, f3 INT, r INT, UNIQUE KEY uk (f3),
  CONSTRAINT t_fk FOREIGN KEY (r) REFERENCES t (f3) ON DELETE CASCADE) ENGINE=InnoDB;
INSERT INTO t VALUES (1, 10, NULL), (3, 30, NULL), (4, 20, 30), (2, 40, NULL), (5, 35, 30), (7, 70, NULL);",
        &["t"],
        &["DELETE FROM t WHERE f3 > 15 AND f3 < 60"],
        LEFT,
    );
    assert_eq!(codes, vec![0]);
    assert_eq!(rows, table(&[&["1:-,7:-"]]));
}

/// A narrow range of the secondary key, which the DELETE scans in that index's
/// order (EXPLAIN: range on `uk`): row 4 goes before row 3 and counts. Reading in
/// primary-key order would be wrong here.
#[test]
fn a_narrow_range_on_the_secondary_key_keeps_that_index_order() {
    let (codes, rows) = differential(SELF_UNIQUE, &["t"], &["DELETE FROM t WHERE f3 > 15"], LEFT);
    assert_eq!(codes, vec![0]);
    assert_eq!(rows, table(&[&["1:-"]]));
}

/// ORDER BY without LIMIT on a non-unique column: ties go the optimizer's way.
#[test]
fn an_order_by_with_ties_counts_as_natively() {
    let (codes, rows) = differential(
        &format!("{SELF_UNIQUE}\nINSERT INTO t VALUES (5, 50, 30, 0);"),
        &["t"],
        &["DELETE FROM t ORDER BY v DESC"],
        LEFT,
    );
    assert_eq!(codes, vec![0]);
    assert_eq!(rows, table(&[&[""]]));
}

/// ORDER BY the primary key, descending, and with a LIMIT.
#[test]
fn an_order_by_the_primary_key_and_a_limit_count_as_natively() {
    let (codes, rows) = differential(
        &format!("{SELF_UNIQUE}\nINSERT INTO t VALUES (5, 50, 30, 0), (6, 60, 50, 0);"),
        &["t"],
        &[
            "DELETE FROM t ORDER BY id DESC LIMIT 2",
            "DELETE FROM t WHERE id > 0 ORDER BY id LIMIT 3",
        ],
        LEFT,
    );
    assert_eq!(codes, vec![0, 0]);
    assert_eq!(rows, table(&[&[""]]));
}

/// NO ACTION on a self-reference: InnoDB checks row by row, so row 3 (whose child
/// row 4 comes later in the clustered index) is refused; in the secondary index's
/// order row 4 went first and the statement passed.
#[test]
fn a_restricted_self_reference_is_refused_in_clustered_order() {
    let (codes, rows) = differential(
        "CREATE TABLE t (id INT PRIMARY KEY, f3 INT, r INT, UNIQUE KEY uk (f3),
  CONSTRAINT t_fk FOREIGN KEY (r) REFERENCES t (f3)) ENGINE=InnoDB;
INSERT INTO t VALUES (1, 10, NULL), (3, 30, NULL), (4, 20, 30);",
        &["t"],
        &[
            "DELETE FROM t",
            "DELETE FROM t WHERE f3 >= 20",
            "DELETE FROM t WHERE id <> 3",
        ],
        LEFT,
    );
    assert_eq!(codes, vec![1451, 0, 0]);
    assert_eq!(rows, table(&[&[""]]));
}

/// A cycle through two tables: rows of `a` reach other rows of `a` through `b`.
#[test]
fn a_cycle_through_another_table_counts_as_natively() {
    let (codes, rows) = differential(
        "CREATE TABLE a (id INT PRIMARY KEY, k INT, UNIQUE KEY uk (k)) ENGINE=InnoDB;
CREATE TABLE b (id INT PRIMARY KEY, ak INT, CONSTRAINT b_fk FOREIGN KEY (ak) REFERENCES a (k) ON DELETE CASCADE) ENGINE=InnoDB;
ALTER TABLE a ADD COLUMN bid INT, ADD CONSTRAINT a_fk FOREIGN KEY (bid) REFERENCES b (id) ON DELETE CASCADE;
INSERT INTO a VALUES (1, 10, NULL), (3, 30, NULL);
INSERT INTO b VALUES (1, 30);
INSERT INTO a VALUES (4, 20, 1);",
        &["a", "b"],
        &["DELETE FROM a"],
        "SELECT (SELECT COUNT(*) FROM a), (SELECT COUNT(*) FROM b)",
    );
    assert_eq!(codes, vec![0]);
    assert_eq!(rows, table(&[&["0", "0"]]));
}

/// A multi-table DELETE takes its rows and count from InnoDB's own run already.
#[test]
fn a_multi_table_delete_counts_as_natively() {
    let (codes, rows) = differential(
        &format!("{SELF_UNIQUE}\nCREATE TABLE x (id INT PRIMARY KEY) ENGINE=InnoDB;\nINSERT INTO x VALUES (0);"),
        &["t", "x"],
        &["DELETE t FROM t JOIN x ON t.v = x.id"],
        LEFT,
    );
    assert_eq!(codes, vec![0]);
    assert_eq!(rows, table(&[&["2:-"]]));
}

/// UPDATE's lock read reads key columns and their new values, which a secondary
/// unique index covers too: InnoDB updates row 1 (11 -> 12) before row 2 (10 ->
/// 11) in the clustered index; the other way round row 2 would clash with row 1.
#[test]
fn an_update_of_a_referenced_unique_key_goes_in_clustered_order() {
    let (codes, rows) = differential(
        "CREATE TABLE t (id INT PRIMARY KEY, f3 INT, UNIQUE KEY uk (f3)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, r INT, CONSTRAINT c_fk FOREIGN KEY (r) REFERENCES t (f3) ON UPDATE CASCADE)
  ENGINE=InnoDB;
INSERT INTO t VALUES (1, 11), (2, 10);
INSERT INTO c VALUES (1, 11), (2, 10);",
        &["t", "c"],
        &["UPDATE t SET f3 = f3 + 1", "UPDATE t SET f3 = f3 + 1 WHERE id > 0"],
        "SELECT GROUP_CONCAT(id, ':', r ORDER BY id) FROM c",
    );
    assert_eq!(codes, vec![0, 0]);
    assert_eq!(rows, table(&[&["1:13,2:12"]]));
}
