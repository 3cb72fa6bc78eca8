//! Twenty-fifth session, writer K (review r25k F1-F4, F6).
//!
//! F2, F3, F4, F6: an UPDATE of a column a referenced key depends on (a STORED
//! generated key, an ON UPDATE CURRENT_TIMESTAMP key stamped when the row changes)
//! was planned on the value the gateway predicted an integer or BIT column
//! stores: `ROUND` of any operand, clipped. MariaDB stores a negative number into
//! a BIT as its two's complement and truncates a DOUBLE there, reads a TIME as
//! 10000 for '01:00:00', and rounds a string's '2.5' half away from zero: the
//! gateway cascaded a value the parent never took (orphans). Only number
//! literals and exact-numeric expressions are predicted now; the rest runs as
//! InnoDB runs it.
//!
//! F1: two ON UPDATE CASCADEs of one child column from two unique keys of one
//! parent (or from two parents at different depths) re-keyed to different values
//! by one statement: the rows followed the plan's order, not InnoDB's. Such a
//! write now runs as InnoDB runs it.
//!
//! Each compared with MariaDB natively on an identical database: the same codes,
//! messages, warnings and rows.

use crate::cascade_r13::differential;
use crate::values_r14::table;

#[test]
fn a_stored_generated_key_over_bit_time_and_string_values_cascades_as_natively() {
    let (codes, rows) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, b BIT(64) NULL, b4 BIT(4) NULL, tm TIME NULL, s VARCHAR(20) NULL,
  i INT NULL, g BIGINT UNSIGNED AS (b + 0) STORED, g4 INT AS (b4 + 0) STORED, gi INT AS (IFNULL(i, -99)) STORED,
  UNIQUE KEY (g), UNIQUE KEY (g4), UNIQUE KEY (gi)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, cg BIGINT UNSIGNED, cg4 INT, cgi INT,
  FOREIGN KEY (cg) REFERENCES p (g) ON UPDATE CASCADE, FOREIGN KEY (cg4) REFERENCES p (g4) ON UPDATE CASCADE,
  FOREIGN KEY (cgi) REFERENCES p (gi) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p (id, b, b4, tm, s, i) VALUES (1, 1, NULL, NULL, NULL, 21), (2, NULL, 1, NULL, NULL, 22),
  (3, NULL, NULL, '01:00:00', NULL, 11), (4, NULL, NULL, NULL, '-2.5', 12), (5, NULL, NULL, NULL, NULL, 13),
  (6, NULL, NULL, NULL, NULL, 14), (7, 7, 7, NULL, NULL, 15);
INSERT INTO c SELECT id, g, g4, i FROM p;",
        &["p", "c"],
        &[
            "SET sql_mode = 'STRICT_TRANS_TABLES'",
            // F2: a negative number into a BIT(64), a DOUBLE into a BIT(4).
            "UPDATE p SET b = -1 WHERE id = 1",
            "UPDATE p SET b4 = 3.5e0 WHERE id = 2",
            // F3: a TIME column into an INT.
            "UPDATE p SET i = tm WHERE id = 3",
            // F6: a string column's half, a function of a number.
            "UPDATE p SET i = s WHERE id = 4",
            "UPDATE p SET i = CONCAT(2.5) WHERE id = 5",
            // Exact values: as before.
            "UPDATE p SET i = i * 2 + 1 WHERE id = 6",
            "UPDATE p SET b = 8, b4 = 9, i = 40.5 WHERE id = 7",
        ],
        "SELECT (SELECT COUNT(*) FROM c WHERE cg NOT IN (SELECT g FROM p WHERE g IS NOT NULL)
     OR cg4 NOT IN (SELECT g4 FROM p WHERE g4 IS NOT NULL) OR cgi NOT IN (SELECT gi FROM p)),
  (SELECT GROUP_CONCAT(id, ':', IFNULL(cg, '-'), ':', IFNULL(cg4, '-'), ':', cgi ORDER BY id) FROM c)",
    );
    assert_eq!(codes, vec![0; 8]);
    assert_eq!(
        rows,
        table(&[&[
            "0",
            "1:18446744073709551615:-:21,2:-:3:22,3:-:-:10000,4:-:-:-3,5:-:-:3,6:-:-:29,7:8:9:41"
        ]]),
        "no orphan"
    );
}

#[test]
fn an_on_update_current_timestamp_key_after_an_int_takes_a_time_or_a_string_is_stamped_as_natively() {
    let (codes, rows) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, i INT NOT NULL DEFAULT 0, tm TIME NOT NULL DEFAULT '00:00:00',
  s VARCHAR(10) NOT NULL DEFAULT '', ts DATETIME NOT NULL DEFAULT '2000-01-01' ON UPDATE CURRENT_TIMESTAMP,
  KEY (id, ts)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid INT, pts DATETIME,
  FOREIGN KEY (pid, pts) REFERENCES p (id, ts) ON UPDATE CASCADE ON DELETE CASCADE) ENGINE=InnoDB;
INSERT INTO p (id, i, tm, s, ts) VALUES (1, 10000, '01:00:00', '', '2001-01-01'), (2, 5, '01:00:00', '', '2002-01-01'),
  (3, -1, '00:00:00', '-0.5', '2003-01-01'), (4, 7, '00:00:00', '', '2004-01-01');
INSERT INTO c SELECT id, id, ts FROM p;",
        &["p", "c"],
        &[
            "SET sql_mode = ''",
            // F4: row 1 holds 10000 already (no stamp), row 2 changes.
            "SET timestamp = 1700000001",
            "UPDATE p SET i = tm WHERE id IN (1, 2)",
            // '-0.5' is stored -1: no change.
            "SET timestamp = 1700000002",
            "UPDATE p SET i = s WHERE id = 3",
            // An exact value: stamped.
            "SET timestamp = 1700000003",
            "UPDATE p SET i = i + 1 WHERE id = 4",
        ],
        "SELECT (SELECT COUNT(*) FROM c LEFT JOIN p ON p.id = c.pid AND p.ts = c.pts WHERE p.id IS NULL),
  (SELECT GROUP_CONCAT(id, ':', pts ORDER BY id) FROM c)",
    );
    assert_eq!(codes, vec![0; 7]);
    assert_eq!(
        rows,
        table(&[&[
            "0",
            "1:2001-01-01 00:00:00,2:2023-11-14 22:13:21,3:2003-01-01 00:00:00,4:2023-11-14 22:13:23"
        ]]),
        "no orphan"
    );
}

/// F1: d.x references a (k2) by `d1` and a (k1) by `d2`, both ON UPDATE CASCADE;
/// one UPDATE gives k1 and k2 different values. Natively d.x takes k1's (InnoDB
/// took that FK first, whatever the names); the delete that follows names the FK
/// InnoDB names.
#[test]
fn two_cascades_of_one_column_from_two_unique_keys_give_the_native_rows() {
    for (k1_fk, k2_fk) in [("d2", "d1"), ("d1", "d2")] {
        let (codes, rows) = differential(
            &format!(
                "CREATE TABLE a (id INT PRIMARY KEY, k1 INT, k2 INT, UNIQUE KEY (k1), UNIQUE KEY (k2)) ENGINE=InnoDB;
CREATE TABLE d (id INT PRIMARY KEY, x INT, KEY (x),
  CONSTRAINT {k1_fk} FOREIGN KEY (x) REFERENCES a (k1) ON UPDATE CASCADE,
  CONSTRAINT {k2_fk} FOREIGN KEY (x) REFERENCES a (k2) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO a VALUES (1, 1, 1), (2, 3, 2);
INSERT INTO d VALUES (1, 1);"
            ),
            &["a", "d"],
            &["UPDATE a SET k1 = 2, k2 = 3 WHERE id = 1", "DELETE FROM a WHERE id = 2"],
            "SELECT id, x FROM d",
        );
        assert_eq!(codes, vec![0, 1451], "{k1_fk}, {k2_fk}");
        assert_eq!(rows, table(&[&["1", "2"]]), "{k1_fk}, {k2_fk}");
    }
}

/// F1b: the two CASCADEs reach d.x at different depths (a -> b -> b2 -> d and
/// a -> c -> d); InnoDB goes depth first, the plan went level by level.
#[test]
fn two_cascades_of_one_column_at_different_depths_give_the_native_rows() {
    for (via_b2, via_c) in [("d1", "d2"), ("d2", "d1")] {
        let (codes, rows) = differential(
            &format!(
                "CREATE TABLE a (id INT PRIMARY KEY, k1 INT UNIQUE, k2 INT UNIQUE) ENGINE=InnoDB;
CREATE TABLE b (id INT PRIMARY KEY, k INT UNIQUE,
  CONSTRAINT fk_b FOREIGN KEY (k) REFERENCES a (k1) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE b2 (id INT PRIMARY KEY, k INT UNIQUE, FOREIGN KEY (k) REFERENCES b (k) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, k INT UNIQUE,
  CONSTRAINT fk_c FOREIGN KEY (k) REFERENCES a (k2) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE d (id INT PRIMARY KEY, x INT, KEY (x),
  CONSTRAINT {via_b2} FOREIGN KEY (x) REFERENCES b2 (k) ON UPDATE CASCADE,
  CONSTRAINT {via_c} FOREIGN KEY (x) REFERENCES c (k) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO a VALUES (1, 1, 1), (2, 3, 2); INSERT INTO b VALUES (1, 1), (2, 3); INSERT INTO b2 VALUES (1, 1), (2, 3);
INSERT INTO c VALUES (1, 1), (2, 2); INSERT INTO d VALUES (1, 1);"
            ),
            &["a", "b", "b2", "c", "d"],
            &["UPDATE a SET k1 = 2, k2 = 3 WHERE id = 1"],
            "SELECT id, x FROM d",
        );
        assert_eq!(codes, vec![0], "{via_b2}, {via_c}");
        assert_eq!(rows, table(&[&["1", "2"]]), "{via_b2}, {via_c}");
    }
}

/// F1c: the same shape re-keyed by `ON DUPLICATE KEY UPDATE` (one FK also ON
/// DELETE CASCADE, the other ON DELETE SET NULL), both name orders.
#[test]
fn two_cascades_of_one_column_re_keyed_by_an_upsert_give_the_native_rows() {
    for (k1_fk, k2_fk) in [("d1", "d2"), ("d2", "d1")] {
        for upsert in [
            "INSERT INTO a VALUES (1, 9, 9, 0) ON DUPLICATE KEY UPDATE k1 = 2, k2 = 3",
            "INSERT INTO a VALUES (5, 1, 7, 0) ON DUPLICATE KEY UPDATE k1 = 2, k2 = 3",
        ] {
            let (codes, rows) = differential(
                &format!(
                    "CREATE TABLE a (id INT PRIMARY KEY, k1 INT, k2 INT, v INT, UNIQUE KEY (k1), UNIQUE KEY (k2)) ENGINE=InnoDB;
CREATE TABLE d (id INT PRIMARY KEY, x INT, KEY (x),
  CONSTRAINT {k1_fk} FOREIGN KEY (x) REFERENCES a (k1) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT {k2_fk} FOREIGN KEY (x) REFERENCES a (k2) ON UPDATE CASCADE ON DELETE SET NULL) ENGINE=InnoDB;
INSERT INTO a VALUES (1, 1, 1, 0), (2, 3, 2, 0);
INSERT INTO d VALUES (1, 1);"
                ),
                &["a", "d"],
                &[upsert],
                "SELECT id, x FROM d",
            );
            assert_eq!(codes, vec![0], "{k1_fk}, {k2_fk}: {upsert}");
            assert_eq!(rows, table(&[&["1", "2"]]), "{k1_fk}, {k2_fk}: {upsert}");
        }
    }
}
