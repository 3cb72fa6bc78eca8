//! Twenty-sixth session, writer M3 (review r26i F1-F5).
//!
//! F1, F2, F5: a new text or byte value the planner put into a later assignment,
//! a STORED generated key or an ON DUPLICATE KEY UPDATE's `VALUES(col)` compared
//! and converted otherwise than the column's own value: its explicit `COLLATE`
//! beat a binary operand (`v = BINARY 'ab'`, `v = vb`), a VARBINARY value went in
//! as a bare literal (compared case-insensitively), and a latin1 value's explicit
//! collation met a utf8mb4 `CAST(.. AS CHAR)` with 1267. Such a value is now
//! predicted only where it is read whole; otherwise InnoDB runs the statement.
//!
//! F3: a string with a backslash was printed back without its escape (`'C:\\new'`
//! read as `C:<newline>ew`): not predicted now.
//!
//! F4: in a multi-table UPDATE, MariaDB updates the first table in place and the
//! others read their own old values and the first table's new ones; the planner
//! read each table left to right. A statement whose assignment reads a column
//! another assignment writes now runs as InnoDB runs it.
//!
//! Each compared with MariaDB natively on an identical database: the same codes,
//! messages, warnings and rows, and no orphan.

use crate::cascade_r13::differential;
use crate::values_r14::table;

const ORPHANS: &str = "(SELECT COUNT(*) FROM c WHERE pk NOT IN (SELECT k FROM p))";

#[test]
fn a_text_or_byte_value_compared_after_its_assignment_is_left_to_innodb() {
    let (codes, rows) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, v VARCHAR(5) NOT NULL DEFAULT '', vb VARBINARY(5) NOT NULL DEFAULT 'ab',
  l VARCHAR(5) CHARACTER SET latin1 COLLATE latin1_bin NOT NULL DEFAULT '', n INT NOT NULL DEFAULT 5,
  k VARCHAR(20), UNIQUE KEY (k)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pk VARCHAR(20), FOREIGN KEY (pk) REFERENCES p (k) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p (id, k) VALUES (1, 'k1'), (2, 'k2'), (3, 'k3'), (4, 'k4'), (5, 'k5'), (6, 'k6'), (7, 'k7');
INSERT INTO c SELECT id, k FROM p;",
        &["p", "c"],
        &[
            "UPDATE p SET v = 'AB', k = IF(v = BINARY 'ab', 'eq1', 'ne1') WHERE id = 1",
            "UPDATE p SET v = 'AB', k = IF(v = vb, 'eq2', 'ne2') WHERE id = 2",
            "UPDATE p SET v = 'AB', k = IF(BINARY v = 'ab', 'eq3', 'ne3') WHERE id = 3",
            "UPDATE p SET vb = 'AB', k = IF(vb IN ('ab', 'x'), 'same4', 'differs4') WHERE id = 4",
            "UPDATE p SET l = 'AB', k = CONCAT(l, CAST(n AS CHAR)) WHERE id = 5",
            "UPDATE p SET l = 'AB', k = IF(l = CAST('ab' AS CHAR), 'eq6', 'ne6') WHERE id = 6",
            // Read whole: still planned.
            "UPDATE p SET vb = 'xy', k = vb WHERE id = 7",
        ],
        &format!(
            "SELECT {ORPHANS}, (SELECT GROUP_CONCAT(id, ':', v, ':', vb, ':', l, ':', k ORDER BY id) FROM p),
  (SELECT GROUP_CONCAT(id, ':', pk ORDER BY id) FROM c)"
        ),
    );
    assert_eq!(codes, vec![0; 7]);
    assert_eq!(
        rows,
        table(&[&[
            "0",
            "1:AB:ab::ne1,2:AB:ab::ne2,3:AB:ab::ne3,4::AB::differs4,5::ab:AB:AB5,6::ab:AB:eq6,7::xy::xy",
            "1:ne1,2:ne2,3:ne3,4:differs4,5:AB5,6:eq6,7:xy"
        ]]),
        "no orphan"
    );
}

#[test]
fn a_stored_generated_key_comparing_a_new_text_value_with_bytes_is_left_to_innodb() {
    let (codes, rows) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, v VARCHAR(5) NOT NULL DEFAULT 'ab', vb VARBINARY(5) NOT NULL DEFAULT 'ab',
  k VARCHAR(20) AS (IF(v = vb, CONCAT('m', id), CONCAT('n', id))) STORED, UNIQUE KEY (k)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pk VARCHAR(20), FOREIGN KEY (pk) REFERENCES p (k) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p (id) VALUES (1), (2); INSERT INTO c SELECT id, k FROM p;",
        &["p", "c"],
        &[
            "UPDATE p SET v = 'AB' WHERE id = 1",
            "UPDATE p SET vb = 'AB' WHERE id = 2",
        ],
        &format!(
            "SELECT {ORPHANS}, (SELECT GROUP_CONCAT(id, ':', v, ':', vb, ':', k ORDER BY id) FROM p),
  (SELECT GROUP_CONCAT(id, ':', pk ORDER BY id) FROM c)"
        ),
    );
    assert_eq!(codes, vec![0; 2]);
    assert_eq!(
        rows,
        table(&[&["0", "1:AB:ab:n1,2:ab:AB:n2", "1:n1,2:n2"]]),
        "no orphan"
    );
}

#[test]
fn an_odku_comparing_a_new_text_or_byte_value_is_left_to_innodb() {
    let (codes, rows) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, v VARCHAR(5) NOT NULL DEFAULT '', vb VARBINARY(5) NOT NULL DEFAULT 'ab',
  l VARCHAR(5) CHARACTER SET latin1 COLLATE latin1_bin NOT NULL DEFAULT '', k VARCHAR(20), UNIQUE KEY (k)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pk VARCHAR(20), FOREIGN KEY (pk) REFERENCES p (k) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p (id, k) VALUES (1, 'k1'), (2, 'k2'), (3, 'k3'), (4, 'k4'); INSERT INTO c SELECT id, k FROM p;",
        &["p", "c"],
        &[
            "INSERT INTO p (id, v, k) VALUES (1, 'AB', 'z') ON DUPLICATE KEY UPDATE k = IF(VALUES(v) = BINARY 'ab', 'eq1', 'ne1')",
            "INSERT INTO p (id, v, k) VALUES (2, 'AB', 'z') ON DUPLICATE KEY UPDATE v = 'AB', k = IF(v = vb, 'eq2', 'ne2')",
            "INSERT INTO p (id, vb, k) VALUES (3, 'AB', 'q') ON DUPLICATE KEY UPDATE k = IF(VALUES(vb) = 'ab', 'same3', 'differs3')",
            "INSERT INTO p (id, l, k) VALUES (4, 'AB', 'z') ON DUPLICATE KEY UPDATE k = IF(VALUES(l) = CAST('ab' AS CHAR), 'eq4', 'ne4')",
        ],
        &format!(
            "SELECT {ORPHANS}, (SELECT GROUP_CONCAT(id, ':', v, ':', vb, ':', l, ':', k ORDER BY id) FROM p),
  (SELECT GROUP_CONCAT(id, ':', pk ORDER BY id) FROM c)"
        ),
    );
    assert_eq!(codes, vec![0; 4]);
    assert_eq!(
        rows,
        table(&[&[
            "0",
            "1::ab::ne1,2:AB:ab::ne2,3::ab::differs3,4::ab::eq4",
            "1:ne1,2:ne2,3:differs3,4:eq4"
        ]]),
        "no orphan"
    );
}

#[test]
fn a_string_with_a_backslash_keeps_it() {
    let (codes, rows) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, v VARCHAR(10) NOT NULL DEFAULT '', k VARCHAR(20), UNIQUE KEY (k)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pk VARCHAR(20), FOREIGN KEY (pk) REFERENCES p (k) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE g (id INT PRIMARY KEY, v VARCHAR(10) NOT NULL DEFAULT '', k VARCHAR(20) AS (CONCAT(v, '|', id)) STORED,
  UNIQUE KEY (k)) ENGINE=InnoDB;
CREATE TABLE gc (id INT PRIMARY KEY, pk VARCHAR(20), FOREIGN KEY (pk) REFERENCES g (k) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p (id, k) VALUES (1, 'k1'), (2, 'k2'), (3, 'k3'), (4, 'k4'); INSERT INTO c SELECT id, k FROM p;
INSERT INTO g (id) VALUES (1); INSERT INTO gc SELECT id, k FROM g;",
        &["p", "c", "g", "gc"],
        &[
            r"UPDATE p SET v = 'a\\b', k = CONCAT(v, '|') WHERE id = 1",
            r"UPDATE p SET v = 'C:\\new', k = v WHERE id = 2",
            r"INSERT INTO p (id, v, k) VALUES (3, 'e\\f', 'z') ON DUPLICATE KEY UPDATE k = CONCAT(VALUES(v), '|')",
            r"INSERT INTO p (id, v, k) VALUES (4, 'D:\\new', 'z') ON DUPLICATE KEY UPDATE k = VALUES(v)",
            r"UPDATE g SET v = 'C:\\new' WHERE id = 1",
        ],
        &format!(
            "SELECT {ORPHANS}, (SELECT COUNT(*) FROM gc WHERE pk NOT IN (SELECT k FROM g)),
  (SELECT GROUP_CONCAT(id, ':', HEX(v), ':', HEX(k) ORDER BY id) FROM p),
  (SELECT GROUP_CONCAT(id, ':', HEX(pk) ORDER BY id) FROM c), (SELECT GROUP_CONCAT(HEX(pk)) FROM gc)"
        ),
    );
    assert_eq!(codes, vec![0; 5]);
    assert_eq!(
        rows,
        table(&[&[
            "0",
            "0",
            "1:615C62:615C627C,2:433A5C6E6577:433A5C6E6577,3::655C667C,4::443A5C6E6577",
            "1:615C627C,2:433A5C6E6577,3:655C667C,4:443A5C6E6577",
            "433A5C6E65777C31"
        ]]),
        "no orphan"
    );
}

#[test]
fn a_multi_table_update_reading_an_assigned_column_runs_as_innodb_runs_it() {
    let (codes, rows) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, a INT NOT NULL DEFAULT 1, k INT, UNIQUE KEY (k)) ENGINE=InnoDB;
CREATE TABLE q (id INT PRIMARY KEY, b INT NOT NULL DEFAULT 1, k INT, UNIQUE KEY (k)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pk INT, FOREIGN KEY (pk) REFERENCES p (k) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE d (id INT PRIMARY KEY, qk INT, FOREIGN KEY (qk) REFERENCES q (k) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p (id, k) VALUES (1, 1), (2, 2), (3, 3), (4, 4); INSERT INTO q (id, k) VALUES (1, 1), (2, 2), (3, 3), (4, 4);
INSERT INTO c SELECT id, k FROM p; INSERT INTO d SELECT id, k FROM q;",
        &["p", "q", "c", "d"],
        &[
            "UPDATE p JOIN q ON p.id = q.id SET a = 2.4, p.k = a * 10, b = 3.4, q.k = b * 10 + a WHERE p.id = 1",
            "UPDATE q JOIN p ON p.id = q.id SET a = 5.4, p.k = a * 10 + b, b = 6.4, q.k = b * 10 + a WHERE p.id = 2",
            "UPDATE p, q SET q.b = 7, q.k = q.b + 100, p.k = q.b + 200 WHERE p.id = 3 AND q.id = 3",
            "UPDATE p, q SET p.k = q.k + 300, q.k = p.k + 400 WHERE p.id = 4 AND q.id = 4",
        ],
        "SELECT (SELECT COUNT(*) FROM c WHERE pk NOT IN (SELECT k FROM p)), (SELECT COUNT(*) FROM d WHERE qk NOT IN (SELECT k FROM q)),
  (SELECT GROUP_CONCAT(id, ':', a, ':', k ORDER BY id) FROM p), (SELECT GROUP_CONCAT(id, ':', b, ':', k ORDER BY id) FROM q),
  (SELECT GROUP_CONCAT(id, ':', pk ORDER BY id) FROM c), (SELECT GROUP_CONCAT(id, ':', qk ORDER BY id) FROM d)",
    );
    assert_eq!(codes, vec![0; 4]);
    assert_eq!(
        rows,
        table(&[&[
            "0",
            "0",
            "1:2:20,2:5:16,3:1:201,4:1:304",
            "1:3:12,2:6:61,3:7:101,4:1:704",
            "1:20,2:16,3:201,4:304",
            "1:12,2:61,3:101,4:704"
        ]]),
        "no orphan"
    );
}
