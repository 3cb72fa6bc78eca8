//! Twenty-seventh session, writer M (review r27a F1, F2).
//!
//! F1: MariaDB reads a ZEROFILL integer or DECIMAL column as text with its zeros
//! (`CONCAT(z, '')` of an INT(5) ZEROFILL 7 is '00007'; `IFNULL(z, 'q')` too),
//! where the planner put the earlier assignment's bare number in its place ('7'):
//! a later assignment, an ON DUPLICATE KEY UPDATE's `VALUES(z)` and a STORED
//! generated key over such a column cascaded the wrong key (an orphan). Such a
//! column is now predicted only where it is read whole (`k = z` stores '7' natively
//! too); otherwise InnoDB runs the statement.
//!
//! F2: in a multi-table UPDATE a later table reads the first table's new row, its
//! generated columns (STORED or VIRTUAL) and ON UPDATE CURRENT_TIMESTAMP columns
//! as recomputed; the lock read read their old values. A read of such a column of
//! a table the statement writes now counts as a read of a written column: InnoDB
//! runs the statement.
//!
//! F3: a planned write lost its Note (DECIMAL rounding's 1265): given back now
//! where it is the statement's only condition.
//!
//! Each compared with MariaDB natively on an identical database: the same codes,
//! messages, warnings and rows, and no orphan.

use tether_testkit::{TestDb, TestEngine};

use crate::cascade_r13::differential;
use crate::clash::same_outcome;
use crate::support::{direct, native_and_gateway, rows, start_one};
use crate::values_r14::table;

const ORPHANS: &str = "(SELECT COUNT(*) FROM c WHERE pk NOT IN (SELECT k FROM p))";

#[test]
fn a_zerofill_value_read_as_text_after_its_assignment_keeps_its_zeros() {
    let (codes, rows) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, z INT(5) UNSIGNED ZEROFILL NULL, dz DECIMAL(6,2) ZEROFILL NULL,
  d1 DECIMAL(5,1) ZEROFILL NULL, k VARCHAR(20), UNIQUE KEY (k)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pk VARCHAR(20), FOREIGN KEY (pk) REFERENCES p (k) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p (id, k) VALUES (1, 'k1'), (2, 'k2'), (3, 'k3'), (4, 'k4'), (5, 'k5'), (6, 'k6'), (7, 'k7'), (8, 'k8'),
  (9, 'k9'), (10, 'k10');
INSERT INTO c SELECT id, k FROM p;",
        &["p", "c"],
        &[
            "UPDATE p SET z = 7, k = CONCAT(z, '') WHERE id = 1",
            "UPDATE p SET z = 9, k = LPAD(z, 3, '-') WHERE id = 2",
            "UPDATE p SET z = 10, k = CONCAT_WS(',', z, 'x') WHERE id = 3",
            "UPDATE p SET dz = 3.5, k = CONCAT(dz, '') WHERE id = 4",
            "UPDATE p SET z = 3, k = IFNULL(z, 'q') WHERE id = 5",
            "UPDATE p SET d1 = 2.5, k = IFNULL(d1, 'q') WHERE id = 6",
            // Read whole, or IFNULL with a number: no zeros natively either, still
            // planned.
            "UPDATE p SET z = 8, k = z WHERE id = 7",
            "UPDATE p SET dz = 4.5, k = dz WHERE id = 8",
            "UPDATE p SET z = 12, k = IFNULL(z, 0) WHERE id = 9",
            "UPDATE p SET z = 13, k = z + 100 WHERE id = 10",
        ],
        &format!(
            "SELECT {ORPHANS}, (SELECT GROUP_CONCAT(id, ':', k ORDER BY id) FROM p),
  (SELECT GROUP_CONCAT(id, ':', pk ORDER BY id) FROM c)"
        ),
    );
    assert_eq!(codes, vec![0; 10]);
    let keys = "1:00007,2:000,3:00010,x,4:0003.50,5:00003,6:0002.5,7:8,8:4.50,9:12,10:113";
    assert_eq!(rows, table(&[&["0", keys, keys]]), "no orphan");
}

#[test]
fn a_stored_generated_key_over_a_zerofill_column_keeps_its_zeros() {
    let (codes, rows) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, z INT(5) UNSIGNED ZEROFILL NULL, dz DECIMAL(6,2) ZEROFILL NULL,
  k VARCHAR(20) AS (CONCAT('g', z, '/', IFNULL(dz, 'q'))) STORED, w VARCHAR(20) AS (z) STORED,
  UNIQUE KEY (k), UNIQUE KEY (w)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pk VARCHAR(20), FOREIGN KEY (pk) REFERENCES p (k) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE cw (id INT PRIMARY KEY, pw VARCHAR(20), FOREIGN KEY (pw) REFERENCES p (w) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p (id, z, dz) VALUES (1, 1, 1), (2, 2, 2), (3, 3, 3);
INSERT INTO c SELECT id, k FROM p; INSERT INTO cw SELECT id, w FROM p;",
        &["p", "c", "cw"],
        &[
            "UPDATE p SET z = 7 WHERE id = 1",
            "UPDATE p SET dz = 5.5 WHERE id = 2",
            "UPDATE p SET z = z + 40 WHERE id = 3",
        ],
        &format!(
            "SELECT {ORPHANS}, (SELECT GROUP_CONCAT(id, ':', k, ':', w ORDER BY id) FROM p),
  (SELECT GROUP_CONCAT(id, ':', pk ORDER BY id) FROM c), (SELECT GROUP_CONCAT(id, ':', pw ORDER BY id) FROM cw)"
        ),
    );
    assert_eq!(codes, vec![0; 3]);
    assert_eq!(
        rows,
        table(&[&[
            "0",
            "1:g00007/0001.00:7,2:g00002/0005.50:2,3:g00043/0003.00:43",
            "1:g00007/0001.00,2:g00002/0005.50,3:g00043/0003.00",
            "1:7,2:2,3:43"
        ]]),
        "no orphan"
    );
}

#[test]
fn an_odku_reading_a_zerofill_value_as_text_keeps_its_zeros() {
    let (codes, rows) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, z INT(5) UNSIGNED ZEROFILL NULL, k VARCHAR(20), UNIQUE KEY (k)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pk VARCHAR(20), FOREIGN KEY (pk) REFERENCES p (k) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p (id, k) VALUES (1, 'k1'), (2, 'k2'), (3, 'k3'), (4, 'k4'), (5, 'k5'), (6, 'k6');
INSERT INTO c SELECT id, k FROM p;",
        &["p", "c"],
        &[
            "INSERT INTO p (id, z, k) VALUES (1, 7, 'x') ON DUPLICATE KEY UPDATE k = CONCAT(VALUES(z), '')",
            "INSERT INTO p (id, z, k) VALUES (2, 8, 'x'), (3, 9, 'y') ON DUPLICATE KEY UPDATE k = CONCAT(VALUES(z), id)",
            "INSERT INTO p (id, z, k) VALUES (4, 7, 'x') ON DUPLICATE KEY UPDATE z = VALUES(z), k = CONCAT(z, '|')",
            "INSERT INTO p (id, z, k) VALUES (5, 6, 'x') ON DUPLICATE KEY UPDATE k = IFNULL(VALUES(z), 'q')",
            // Read whole: no zeros natively either.
            "INSERT INTO p (id, z, k) VALUES (6, 5, 'x') ON DUPLICATE KEY UPDATE k = VALUES(z)",
        ],
        &format!(
            "SELECT {ORPHANS}, (SELECT GROUP_CONCAT(id, ':', k ORDER BY id) FROM p),
  (SELECT GROUP_CONCAT(id, ':', pk ORDER BY id) FROM c)"
        ),
    );
    assert_eq!(codes, vec![0; 5]);
    let keys = "1:00007,2:000082,3:000093,4:00007|,5:00006,6:5";
    assert_eq!(rows, table(&[&["0", keys, keys]]), "no orphan");
}

#[test]
fn a_later_table_reading_the_first_table_s_generated_or_stamped_column_is_left_to_innodb() {
    let (codes, rows) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, k INT, g INT AS (k * 10) STORED, gv INT AS (k * 100) VIRTUAL,
  ts TIMESTAMP NOT NULL DEFAULT '2000-01-01 00:00:00' ON UPDATE CURRENT_TIMESTAMP, UNIQUE KEY (k)) ENGINE=InnoDB;
CREATE TABLE o (id INT PRIMARY KEY, w INT, UNIQUE KEY (w)) ENGINE=InnoDB;
CREATE TABLE oc (id INT PRIMARY KEY, ow INT, FOREIGN KEY (ow) REFERENCES o (w) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p (id, k) VALUES (1, 1), (2, 2), (3, 3), (4, 4);
INSERT INTO o VALUES (1, 10), (2, 20), (3, 30), (4, 40); INSERT INTO oc SELECT id, w FROM o;",
        &["p", "o", "oc"],
        &[
            "UPDATE p JOIN o ON o.id = p.id SET p.k = p.k + 1000, o.w = p.g WHERE p.id = 1",
            "UPDATE p JOIN o ON o.id = p.id SET p.k = p.k + 1000, o.w = p.gv WHERE p.id = 2",
            "UPDATE p JOIN o ON o.id = p.id SET p.k = p.k + 1000, o.w = YEAR(p.ts) WHERE p.id = 3",
            // o first: it reads p's old row, as the lock read does.
            "UPDATE o JOIN p ON o.id = p.id SET o.w = p.g + 7, p.k = p.k + 1000 WHERE p.id = 4",
        ],
        "SELECT (SELECT COUNT(*) FROM oc WHERE ow NOT IN (SELECT w FROM o)),
  (SELECT GROUP_CONCAT(id, ':', w ORDER BY id) FROM o), (SELECT GROUP_CONCAT(id, ':', ow ORDER BY id) FROM oc),
  (SELECT GROUP_CONCAT(id, ':', k ORDER BY id) FROM p)",
    );
    assert_eq!(codes, vec![0; 4]);
    let year = rows[0][1].split(',').nth(2).map(str::to_string).unwrap_or_default();
    assert!(year.starts_with("3:20"), "this year: {year}");
    let keys = format!("1:10010,2:100200,{year},4:47");
    assert_eq!(
        rows,
        table(&[&["0", &keys, &keys, "1:1001,2:1002,3:1003,4:1004"]]),
        "no orphan"
    );
}

/// F3: a planned write gave the client back its Warnings but not its Notes
/// (DECIMAL rounding's 1265), and none of them where one was a Note. A Note
/// alone is given back now: the same SHOW WARNINGS and `@@warning_count` as
/// natively, after the gateway's own statements (a probe trigger on the child
/// shows the cascade is the gateway's).
#[test]
fn a_planned_write_gives_back_its_note() {
    let schema = "CREATE TABLE p (id INT PRIMARY KEY, dc DECIMAL(5,2) NULL, k INT, UNIQUE KEY (k)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pk INT, FOREIGN KEY (pk) REFERENCES p (k) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE log (n INT AUTO_INCREMENT PRIMARY KEY, id INT) ENGINE=InnoDB;
CREATE TRIGGER _tether_probe_u AFTER UPDATE ON c FOR EACH ROW INSERT INTO log (id) VALUES (NEW.id);
INSERT INTO p (id, k) VALUES (1, 1), (2, 2); INSERT INTO c VALUES (1, 1), (2, 2);";
    let native = TestDb::create(TestEngine::Mysql);
    let managed = TestDb::create(TestEngine::Mysql);
    native.exec(schema);
    managed.exec(schema);
    let gw = start_one(&managed, "managed");
    gw.block_on(async {
        let (mut n, mut g) = native_and_gateway(&native, &gw, false).await;
        for (i, sql) in [
            "UPDATE p SET dc = 7.777, k = 777 WHERE id = 1",
            "INSERT INTO p (id, dc, k) VALUES (2, 1.255, 9) ON DUPLICATE KEY UPDATE dc = VALUES(dc), k = 20",
        ]
        .iter()
        .enumerate()
        {
            let context = format!("statement {i}");
            assert_eq!(
                same_outcome(&mut n, &mut g, [&native.name, &managed.name], sql, &context).await,
                0
            );
            let shown = rows(&mut n, "SHOW WARNINGS").await;
            assert_eq!(shown.len(), 1, "{sql}: one Note natively: {shown:?}");
            assert_eq!(shown[0][..2], ["Note".to_string(), "1265".to_string()]);
            assert_eq!(shown, rows(&mut g, "SHOW WARNINGS").await, "{sql}: SHOW WARNINGS");
            let count = "SELECT @@warning_count";
            assert_eq!(rows(&mut n, count).await, rows(&mut g, count).await, "{sql}: {count}");
        }
        let mut m = direct(&managed).await;
        let both = "SELECT (SELECT GROUP_CONCAT(id, ':', dc, ':', k ORDER BY id) FROM p),
  (SELECT GROUP_CONCAT(id, ':', pk ORDER BY id) FROM c), (SELECT GROUP_CONCAT(id ORDER BY n) FROM log)";
        assert_eq!(
            rows(&mut m, both).await,
            table(&[&["1:7.78:777,2:1.26:20", "1:777,2:20", "1,2"]])
        );
    });
}
