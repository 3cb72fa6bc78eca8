//! Twenty-sixth session, writer M (review r26b F1, F2).
//!
//! F1: MariaDB assigns left to right, and a later assignment reads the value an
//! earlier column stored (rounded, cut, its CHAR spaces dropped). The planner put
//! the earlier assignment's expression in instead (`SET a = 2.4, k = a * 10` read
//! k as 24 where MariaDB stores 20), in an UPDATE, an ON DUPLICATE KEY UPDATE, a
//! STORED generated key over the columns and the row-change test of an ON UPDATE
//! CURRENT_TIMESTAMP key: the children were cascaded to a key the parent never
//! took (orphans). The earlier column's stored value is put in now, or InnoDB runs
//! the statement where that is not known.
//!
//! F2: a new text value put into a generated key's expression (or `VALUES(v)` into
//! an ON DUPLICATE KEY UPDATE) compared under the connection's collation, not the
//! column's (utf8mb4_bin, a NO PAD collation, latin1): it carries the column's
//! character set and collation now.
//!
//! Each compared with MariaDB natively on an identical database: the same codes,
//! messages, warnings and rows.

use crate::cascade_r13::differential;
use crate::values_r14::table;

#[test]
fn a_later_assignment_reads_the_stored_value_of_an_earlier_one() {
    let (codes, rows) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, a INT NOT NULL DEFAULT 0, k INT NOT NULL, UNIQUE KEY (k)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pk INT, FOREIGN KEY (pk) REFERENCES p (k) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p (id, k) VALUES (1, 1), (2, 2), (3, 3); INSERT INTO c VALUES (1, 1), (2, 2), (3, 3);",
        &["p", "c"],
        &[
            "UPDATE p SET a = 2.4, k = a * 10 WHERE id = 1",
            "UPDATE p SET k = 3.6, k = k * 10 WHERE id = 2",
            "INSERT INTO p (id, k) VALUES (3, 7) ON DUPLICATE KEY UPDATE a = 5.5, k = a * 100",
        ],
        "SELECT (SELECT COUNT(*) FROM c WHERE pk NOT IN (SELECT k FROM p)),
  (SELECT GROUP_CONCAT(id, ':', a, ':', k ORDER BY id) FROM p), (SELECT GROUP_CONCAT(id, ':', pk ORDER BY id) FROM c)",
    );
    assert_eq!(codes, vec![0; 3]);
    assert_eq!(
        rows,
        table(&[&["0", "1:2:20,2:0:40,3:6:600", "1:20,2:40,3:600"]]),
        "no orphan"
    );
}

#[test]
fn a_later_assignment_reads_a_rounded_decimal_a_char_without_its_spaces_and_a_cut_varchar() {
    let (codes, rows) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, price DECIMAL(6,1) NOT NULL DEFAULT 0, c CHAR(5) NOT NULL DEFAULT '',
  v VARCHAR(3) NOT NULL DEFAULT '', k VARCHAR(30) NOT NULL, UNIQUE KEY (k)) ENGINE=InnoDB;
CREATE TABLE ch (id INT PRIMARY KEY, pk VARCHAR(30), FOREIGN KEY (pk) REFERENCES p (k) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p (id, k) VALUES (1, 'a'), (2, 'b'), (3, 'c'); INSERT INTO ch VALUES (1, 'a'), (2, 'b'), (3, 'c');",
        &["p", "ch"],
        &[
            "UPDATE p SET price = 9.99, k = CONCAT(id, '-', price) WHERE id = 1",
            "UPDATE p SET c = 'ab  ', k = CONCAT(c, '|') WHERE id = 2",
            "SET sql_mode = ''",
            "UPDATE p SET v = 'abcdef', k = CONCAT(v, 'x') WHERE id = 3",
        ],
        "SELECT (SELECT COUNT(*) FROM ch WHERE pk NOT IN (SELECT k FROM p)),
  (SELECT GROUP_CONCAT(id, ':', price, ':', c, ':', v, ':', k ORDER BY id) FROM p),
  (SELECT GROUP_CONCAT(id, ':', pk ORDER BY id) FROM ch)",
    );
    assert_eq!(codes, vec![0; 4]);
    assert_eq!(
        rows,
        table(&[&[
            "0",
            "1:10.0:::1-10.0,2:0.0:ab::ab|,3:0.0::abc:abcx",
            "1:1-10.0,2:ab|,3:abcx"
        ]]),
        "no orphan"
    );
}

#[test]
fn a_stored_generated_key_reads_the_stored_value_of_a_chained_assignment() {
    let (codes, rows) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, a INT NOT NULL DEFAULT 0, b INT NOT NULL DEFAULT 0,
  g INT AS (b * 100 + id) STORED, UNIQUE KEY (g)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pg INT, FOREIGN KEY (pg) REFERENCES p (g) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p (id) VALUES (1), (2); INSERT INTO c SELECT id, g FROM p;",
        &["p", "c"],
        &[
            "UPDATE p SET a = 2.4, b = a * 10 WHERE id = 1",
            "UPDATE p SET b = 1.5, b = b + 1 WHERE id = 2",
        ],
        "SELECT (SELECT COUNT(*) FROM c WHERE pg NOT IN (SELECT g FROM p)),
  (SELECT GROUP_CONCAT(id, ':', a, ':', b, ':', g ORDER BY id) FROM p),
  (SELECT GROUP_CONCAT(id, ':', pg ORDER BY id) FROM c)",
    );
    assert_eq!(codes, vec![0; 2]);
    assert_eq!(
        rows,
        table(&[&["0", "1:2:20:2001,2:0:3:302", "1:2001,2:302"]]),
        "no orphan"
    );
}

#[test]
fn an_on_update_current_timestamp_key_is_stamped_only_where_the_stored_values_change() {
    let (codes, rows) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, i INT NOT NULL DEFAULT 0,
  ts DATETIME NOT NULL DEFAULT '2000-01-01' ON UPDATE CURRENT_TIMESTAMP, KEY (id, ts)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid INT, pts DATETIME,
  FOREIGN KEY (pid, pts) REFERENCES p (id, ts) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p (id, i, ts) VALUES (1, 1, '2001-01-01'), (2, 3, '2002-01-01'), (3, 1, '2003-01-01');
INSERT INTO c SELECT id, id, ts FROM p;",
        &["p", "c"],
        &[
            "SET timestamp = 1700000001",
            // 1.4 is stored 1, 1 + 0.4 is stored 1: the row does not change.
            "UPDATE p SET i = 1.4, i = i + 0.4 WHERE id = 1",
            "UPDATE p SET i = 3.4, i = i - 0.4 WHERE id = 2",
            // 1 + 1: it changes, and is stamped.
            "UPDATE p SET i = 1.4, i = i + 1 WHERE id = 3",
        ],
        "SELECT (SELECT COUNT(*) FROM c LEFT JOIN p ON p.id = c.pid AND p.ts = c.pts WHERE p.id IS NULL),
  (SELECT GROUP_CONCAT(id, ':', i, ':', ts ORDER BY id) FROM p),
  (SELECT GROUP_CONCAT(id, ':', pts ORDER BY id) FROM c)",
    );
    assert_eq!(codes, vec![0; 4]);
    assert_eq!(
        rows,
        table(&[&[
            "0",
            "1:1:2001-01-01 00:00:00,2:3:2002-01-01 00:00:00,3:2:2023-11-14 22:13:21",
            "1:2001-01-01 00:00:00,2:2002-01-01 00:00:00,3:2023-11-14 22:13:21"
        ]]),
        "no orphan"
    );
}

#[test]
fn a_generated_key_compares_a_new_text_value_in_the_column_s_collation() {
    let (codes, rows) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, v VARCHAR(10) COLLATE utf8mb4_bin NOT NULL,
  w VARCHAR(10) COLLATE utf8mb4_nopad_bin NOT NULL DEFAULT '', l VARCHAR(10) CHARACTER SET latin1 NOT NULL DEFAULT '',
  g VARCHAR(20) AS (IF(v = 'abc', CONCAT('m', id), CONCAT('n', id))) STORED,
  h VARCHAR(20) AS (IF(w = 'abc', CONCAT('m', id), CONCAT('n', id))) STORED,
  j VARCHAR(20) AS (IF(l = 'a', CONCAT('m', id), CONCAT('n', id))) STORED,
  UNIQUE KEY (g), UNIQUE KEY (h), UNIQUE KEY (j)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pg VARCHAR(20), ph VARCHAR(20), pj VARCHAR(20),
  FOREIGN KEY (pg) REFERENCES p (g) ON UPDATE CASCADE, FOREIGN KEY (ph) REFERENCES p (h) ON UPDATE CASCADE,
  FOREIGN KEY (pj) REFERENCES p (j) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p (id, v) VALUES (1, 'x'), (2, 'x'), (3, 'x'), (4, 'x'); INSERT INTO c SELECT id, g, h, j FROM p;",
        &["p", "c"],
        &[
            // utf8mb4_bin: 'ABC' is not 'abc' (utf8mb4_general_ci says it is).
            "UPDATE p SET v = 'ABC' WHERE id = 1",
            "UPDATE p SET v = 'abc' WHERE id = 2",
            // NO PAD: 'abc ' is not 'abc'.
            "UPDATE p SET w = 'abc ' WHERE id = 3",
            // latin1_swedish_ci: 'ä' is not 'a'.
            "UPDATE p SET l = 'ä' WHERE id = 4",
        ],
        "SELECT (SELECT COUNT(*) FROM c WHERE pg NOT IN (SELECT g FROM p) OR ph NOT IN (SELECT h FROM p)
     OR pj NOT IN (SELECT j FROM p)),
  (SELECT GROUP_CONCAT(id, ':', g, ':', h, ':', j ORDER BY id) FROM p),
  (SELECT GROUP_CONCAT(id, ':', pg, ':', ph, ':', pj ORDER BY id) FROM c)",
    );
    assert_eq!(codes, vec![0; 4]);
    assert_eq!(
        rows,
        table(&[&[
            "0",
            "1:n1:n1:n1,2:m2:n2:n2,3:n3:n3:n3,4:n4:n4:n4",
            "1:n1:n1:n1,2:m2:n2:n2,3:n3:n3:n3,4:n4:n4:n4"
        ]]),
        "no orphan"
    );
}

#[test]
fn values_of_a_binary_collated_column_and_an_earlier_assignment_compare_in_its_collation() {
    let (codes, rows) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, v VARCHAR(10) COLLATE utf8mb4_bin NOT NULL, k VARCHAR(20) NOT NULL,
  UNIQUE KEY (k)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pk VARCHAR(20), FOREIGN KEY (pk) REFERENCES p (k) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p VALUES (1, 'x', 'k1'), (2, 'x', 'k2'); INSERT INTO c VALUES (1, 'k1'), (2, 'k2');",
        &["p", "c"],
        &[
            "INSERT INTO p VALUES (1, 'ABC', 'q') ON DUPLICATE KEY UPDATE k = IF(VALUES(v) = 'abc', 'same', 'differs')",
            "INSERT INTO p VALUES (2, 'abc', 'q') ON DUPLICATE KEY UPDATE k = IF(VALUES(v) = 'abc', 'same', 'differs')",
            "UPDATE p SET v = 'ABC', k = IF(v = 'abc', 'u-same', 'u-differs') WHERE id = 1",
        ],
        "SELECT (SELECT COUNT(*) FROM c WHERE pk NOT IN (SELECT k FROM p)),
  (SELECT GROUP_CONCAT(id, ':', v, ':', k ORDER BY id) FROM p), (SELECT GROUP_CONCAT(id, ':', pk ORDER BY id) FROM c)",
    );
    assert_eq!(codes, vec![0; 3]);
    assert_eq!(
        rows,
        table(&[&["0", "1:ABC:u-differs,2:x:same", "1:u-differs,2:same"]]),
        "no orphan"
    );
}
