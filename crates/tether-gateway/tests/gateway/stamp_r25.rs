//! Twenty-fifth session (review r25b F1, F2): an UPDATE of a column that a
//! referenced key depends on (an ON UPDATE CURRENT_TIMESTAMP key stamped when the
//! row changes, a STORED generated key over the column) is planned on the value
//! the gateway predicts the column stores. Outside strict mode MariaDB stores
//! values the prediction did not model: NULL into an INT NOT NULL is 0 (from a
//! literal or a subquery), -1 into a DECIMAL UNSIGNED is 0.00, an invalid date
//! (`'2020-02-30'`, `20200230`) is the zero date where its CAST is NULL. The
//! gateway predicted a change, cascaded the children to a new key the parent never
//! took (orphans). Such a statement now runs as InnoDB runs it (the
//! `_tether_probe` log empty for it); values stored exactly stay planned (the log
//! shows the gateway's cascade). Each compared with MariaDB natively on an
//! identical database: the same codes, warnings and rows.

use crate::cascade_r13::differential;
use crate::values_r14::table;

#[test]
fn an_on_update_current_timestamp_key_under_non_strict_coercions_is_stamped_as_natively() {
    let (codes, log) = differential(
        "CREATE TABLE o (id INT PRIMARY KEY, w INT) ENGINE=InnoDB;
CREATE TABLE p (id INT PRIMARY KEY, v INT NOT NULL DEFAULT 0, d DECIMAL(5,2) UNSIGNED NOT NULL DEFAULT 0,
  dt DATE NULL, ts DATETIME NOT NULL DEFAULT '2000-01-01' ON UPDATE CURRENT_TIMESTAMP,
  KEY (id, ts)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid INT, pts DATETIME,
  FOREIGN KEY (pid, pts) REFERENCES p (id, ts) ON UPDATE CASCADE ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE log (n INT AUTO_INCREMENT PRIMARY KEY, id INT) ENGINE=InnoDB;
CREATE TRIGGER _tether_probe_c AFTER UPDATE ON c FOR EACH ROW INSERT INTO log (id) VALUES (NEW.id);
INSERT INTO o VALUES (5, NULL);
INSERT INTO p (id, v, d, dt, ts) VALUES (1, 0, 0, '0000-00-00', '2001-01-01'), (2, 0, 0, '0000-00-00', '2002-01-01'),
  (3, 0, 0, '0000-00-00', '2003-01-01'), (4, 0, 0, '0000-00-00', '2004-01-01'), (5, 0, 0, '0000-00-00', '2005-01-01'),
  (6, 0, 0, '0000-00-00', '2006-01-01'), (7, 0, 0, '0000-00-00', '2007-01-01'), (8, 0, 0, '2020-01-01', '2008-01-01');
INSERT INTO c SELECT id, id, ts FROM p;",
        &["p", "c"],
        &[
            "SET sql_mode = ''",
            // Each stored as the old value (0, 0.00, the zero date): no stamp.
            "SET timestamp = 1700000001",
            "UPDATE p SET v = NULL WHERE id = 1",
            "SET timestamp = 1700000002",
            "UPDATE p SET d = -1 WHERE id = 2",
            "SET timestamp = 1700000003",
            "UPDATE p SET dt = '2020-02-30' WHERE id = 3",
            "SET timestamp = 1700000004",
            "UPDATE p SET dt = 20200230 WHERE id = 4",
            "SET timestamp = 1700000005",
            "UPDATE p SET v = (SELECT w FROM o WHERE o.id = p.id) WHERE id = 5",
            // Stored exactly: planned, the cascades are the gateway's.
            "SET timestamp = 1700000006",
            "UPDATE p SET v = 6 WHERE id = 6",
            "SET timestamp = 1700000007",
            "UPDATE p SET dt = '2020-03-01' WHERE id = 7",
            "SET timestamp = 1700000008",
            "UPDATE p SET dt = dt + INTERVAL 1 DAY WHERE id = 8",
        ],
        "SELECT (SELECT GROUP_CONCAT(id ORDER BY n) FROM log),
  (SELECT COUNT(*) FROM c LEFT JOIN p ON p.id = c.pid AND p.ts = c.pts WHERE p.id IS NULL),
  (SELECT GROUP_CONCAT(id ORDER BY id) FROM p WHERE ts > '2020-01-01')",
    );
    assert_eq!(codes, vec![0; 17]);
    assert_eq!(
        log,
        table(&[&["6,7,8", "0", "6,7,8"]]),
        "the exact values' cascades are the gateway's, no orphan"
    );
}

#[test]
fn a_stored_generated_key_under_non_strict_coercions_cascades_as_natively() {
    let (codes, log) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, v INT NOT NULL DEFAULT 0, d DECIMAL(5,2) UNSIGNED NOT NULL DEFAULT 0,
  dt DATE NULL, g INT AS (v * 10) STORED, gd DECIMAL(6,2) AS (d * 2) STORED,
  gdt INT AS (IFNULL(YEAR(dt), -1)) STORED, UNIQUE KEY (g), UNIQUE KEY (gd), KEY (gdt)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, cg INT, cgd DECIMAL(6,2), cgdt INT,
  FOREIGN KEY (cg) REFERENCES p (g) ON UPDATE CASCADE, FOREIGN KEY (cgd) REFERENCES p (gd) ON UPDATE CASCADE,
  FOREIGN KEY (cgdt) REFERENCES p (gdt) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE log (n INT AUTO_INCREMENT PRIMARY KEY, id INT, cg INT) ENGINE=InnoDB;
CREATE TRIGGER _tether_probe_c AFTER UPDATE ON c FOR EACH ROW INSERT INTO log (id, cg) VALUES (NEW.id, NEW.cg);
INSERT INTO p (id, v, d, dt) VALUES (1, 0, 0, '0000-00-00'), (2, 1, 1, '2021-01-01');
INSERT INTO c SELECT id, g, gd, gdt FROM p;",
        &["p", "c"],
        &[
            "SET sql_mode = ''",
            "UPDATE p SET d = -1 WHERE id = 1",
            "UPDATE p SET dt = '2020-02-30' WHERE id = 1",
            "UPDATE p SET dt = 20200230 WHERE id = 1",
            "UPDATE p SET v = NULL WHERE id = 1",
            // Stored exactly: planned.
            "UPDATE p SET v = 2 WHERE id = 2",
        ],
        "SELECT (SELECT GROUP_CONCAT(id, ':', cg ORDER BY n) FROM log),
  (SELECT COUNT(*) FROM c WHERE cg NOT IN (SELECT g FROM p) OR cgd NOT IN (SELECT gd FROM p)
     OR cgdt NOT IN (SELECT gdt FROM p)),
  (SELECT GROUP_CONCAT(id, ':', cg, ':', cgd, ':', cgdt ORDER BY id) FROM c)",
    );
    assert_eq!(codes, vec![0; 6]);
    assert_eq!(log, table(&[&["2:20", "0", "1:0:0.00:0,2:20:2.00:2021"]]), "no orphan");
}
