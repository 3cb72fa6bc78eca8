//! Twenty-fourth session (review r24f F2, F3): an UPDATE of a column that a
//! referenced key depends on (an ON UPDATE CURRENT_TIMESTAMP key stamped when the
//! row changes, a STORED generated key over the column) is planned on the value
//! the gateway predicts the column stores. For a hex or bit literal (`0x31` is 49
//! in an INT, the gateway read it as the string '1'; `0x7` was re-rendered as the
//! syntax error `X'7'`) and a string into a numeric column (`'-0.5'` is stored -1
//! outside strict mode, `ROUND('-0.5')` is 0) the prediction was wrong: the
//! gateway expected no change, ran no cascade, and InnoDB changed the key (an
//! orphan). Such a statement now runs as InnoDB runs it (its cascade InnoDB's, the
//! `_tether_probe` log empty); plain numbers stay planned (the log shows the
//! gateway's cascade). Each compared with MariaDB natively on an identical
//! database: the same codes and the same rows.

use crate::cascade_r13::differential;
use crate::values_r14::table;

#[test]
fn an_on_update_current_timestamp_key_under_hex_bit_and_string_numbers_is_stamped_as_natively() {
    let (codes, log) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, v INT,
  ts DATETIME(6) NOT NULL DEFAULT '2000-01-01' ON UPDATE CURRENT_TIMESTAMP(6), UNIQUE KEY (ts)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pts DATETIME(6),
  FOREIGN KEY (pts) REFERENCES p (ts) ON UPDATE CASCADE ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE log (n INT AUTO_INCREMENT PRIMARY KEY, id INT) ENGINE=InnoDB;
CREATE TRIGGER _tether_probe_c AFTER UPDATE ON c FOR EACH ROW INSERT INTO log (id) VALUES (NEW.id);
INSERT INTO p (id, v, ts) VALUES (1, 1, '2001-01-01'), (2, 0, '2002-01-01'), (3, 3, '2003-01-01'),
  (4, 4, '2004-01-01'), (5, 5, '2005-01-01'), (6, 6, '2006-01-01'), (7, 7, '2007-01-01'),
  (8, 8, '2008-01-01'), (9, 49, '2009-01-01');
INSERT INTO c VALUES (1, '2001-01-01'), (2, '2002-01-01'), (3, '2003-01-01'), (4, '2004-01-01'),
  (5, '2005-01-01'), (6, '2006-01-01'), (7, '2007-01-01'), (8, '2008-01-01'), (9, '2009-01-01');",
        &["p", "c"],
        &[
            "SET sql_mode = ''",
            // 0x31 is 49 in an INT: the row changes, `ts` is stamped, c 1 follows.
            "SET timestamp = 1700000001",
            "UPDATE p SET v = 0x31 WHERE id = 1",
            // Stored -1 (half away from zero), over 0.
            "SET timestamp = 1700000002",
            "UPDATE p SET v = '-0.5' WHERE id = 2",
            // An odd number of hex digits: 7.
            "SET timestamp = 1700000003",
            "UPDATE p SET v = 0x7 WHERE id = 3",
            "SET timestamp = 1700000004",
            "UPDATE p SET v = b'101' WHERE id = 4",
            "SET timestamp = 1700000005",
            "UPDATE p SET v = '1e1' WHERE id = 5",
            "SET timestamp = 1700000006",
            "UPDATE p SET v = ' 12' WHERE id = 6",
            // 0x31 over 49: the row stays, so does `ts`.
            "SET timestamp = 1700000009",
            "UPDATE p SET v = 0x31 WHERE id = 9",
            // Plain numbers: planned, the cascade is the gateway's.
            "SET timestamp = 1700000007",
            "UPDATE p SET v = 70 WHERE id = 7",
            "SET timestamp = 1700000008",
            "UPDATE p SET v = 8 WHERE id = 8",
            "UPDATE p SET v = v + 1 WHERE id = 8",
        ],
        "SELECT (SELECT GROUP_CONCAT(id ORDER BY n) FROM log),
  (SELECT COUNT(*) FROM c LEFT JOIN p ON p.ts = c.pts WHERE p.id IS NULL),
  (SELECT GROUP_CONCAT(p.id, ':', p.v ORDER BY p.id) FROM p JOIN c ON c.pts = p.ts AND c.id = p.id WHERE p.ts > '2020-01-01')",
    );
    assert_eq!(codes, vec![0; 20]);
    assert_eq!(
        log,
        table(&[&["7,8", "0", "1:49,2:-1,3:7,4:5,5:10,6:12,7:70,8:9"]]),
        "the plain numbers' cascades are the gateway's, no orphan"
    );
}

#[test]
fn a_stored_generated_key_under_hex_bit_and_string_numbers_cascades_as_natively() {
    let (codes, log) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, v INT, g INT AS (v * 10) STORED, UNIQUE KEY (g)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pg INT, FOREIGN KEY (pg) REFERENCES p (g) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE log (n INT AUTO_INCREMENT PRIMARY KEY, id INT, pg INT) ENGINE=InnoDB;
CREATE TRIGGER _tether_probe_c AFTER UPDATE ON c FOR EACH ROW INSERT INTO log (id, pg) VALUES (NEW.id, NEW.pg);
INSERT INTO p (id, v) VALUES (1, 2), (2, 0), (3, 3), (4, 4), (5, 5), (6, 6), (7, 1);
INSERT INTO c VALUES (1, 20), (2, 0), (3, 30), (4, 40), (5, 50), (6, 60), (7, 10);",
        &["p", "c"],
        &[
            "SET sql_mode = ''",
            // 0x32 is 50: `g` 20 -> 500, c 1 follows.
            "UPDATE p SET v = 0x32 WHERE id = 1",
            "UPDATE p SET v = '-0.5' WHERE id = 2",
            "UPDATE p SET v = 0x7 WHERE id = 3",
            "UPDATE p SET v = b'1000' WHERE id = 4",
            "UPDATE p SET v = '1e1' WHERE id = 5",
            "UPDATE p SET v = ' 12' WHERE id = 6",
            // A plain number: planned.
            "UPDATE p SET v = 9 WHERE id = 7",
            // An upsert taking the hex value through VALUES(v).
            "INSERT INTO p (id, v) VALUES (6, 0x21) ON DUPLICATE KEY UPDATE v = VALUES(v)",
        ],
        "SELECT (SELECT GROUP_CONCAT(id, ':', pg ORDER BY n) FROM log),
  (SELECT COUNT(*) FROM c LEFT JOIN p ON p.g = c.pg WHERE p.id IS NULL)",
    );
    assert_eq!(codes, vec![0; 9]);
    assert_eq!(log, table(&[&["7:90", "0"]]), "no orphan");
}
