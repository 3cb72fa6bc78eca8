//! Twenty-fourth session (review r24a F3): after `SET foreign_key_checks = 0; DROP
//! TABLE p` (legal in MariaDB) the schema read took c's key to the missing p for a
//! privilege gap and failed, so every write of a managed keyspace failed with 1105,
//! also to tables the key does not touch. Now the key is read as dangling (kept out
//! of the FK graph): the other tables work as natively, and a write of a non-NULL
//! value into c's key column is refused with InnoDB's own 1452, as natively. Each
//! statement compared with MariaDB natively on an identical database.

use crate::cascade_r13::differential;

const DANGLING: &str = "
CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid INT, CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE d (id INT PRIMARY KEY, cid INT, CONSTRAINT d_c FOREIGN KEY (cid) REFERENCES c (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE u (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE t (id INT PRIMARY KEY, uid INT, CONSTRAINT t_u FOREIGN KEY (uid) REFERENCES u (id) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE log (n INT AUTO_INCREMENT PRIMARY KEY, t CHAR(1), id INT) ENGINE=InnoDB;
CREATE TRIGGER _tether_probe_t AFTER DELETE ON t FOR EACH ROW INSERT INTO log (t, id) VALUES ('t', OLD.id);
CREATE TRIGGER _tether_probe_d AFTER UPDATE ON d FOR EACH ROW INSERT INTO log (t, id) VALUES ('d', NEW.cid);
INSERT INTO p VALUES (1);
INSERT INTO c VALUES (1, 1), (2, NULL);
INSERT INTO d VALUES (1, 1), (2, 2);
INSERT INTO u VALUES (1), (2);
INSERT INTO t VALUES (1, 1), (2, 2);
SET foreign_key_checks = 0;
DROP TABLE p;
SET foreign_key_checks = 1;";

#[test]
fn a_key_whose_parent_was_dropped_leaves_the_other_tables_working_as_natively() {
    let (codes, log) = differential(
        DANGLING,
        &["c", "d", "u", "t"],
        &[
            // Tables the dangling key does not touch: as ever (the cascade is the
            // gateway's statement).
            "DELETE FROM u WHERE id = 1",
            "INSERT INTO u VALUES (5)",
            "UPDATE u SET id = 6 WHERE id = 5",
            // c's key column: NULL goes in, any value is refused (no parent can hold it).
            "INSERT INTO c VALUES (3, NULL)",
            "INSERT INTO c VALUES (4, 7)",
            "UPDATE c SET pid = 7 WHERE id = 2",
            "UPDATE c SET pid = NULL WHERE id = 1",
            // c as a parent: its key changes cascade to d; with a value for pid too, 1452.
            "UPDATE c SET id = 10 WHERE id = 2",
            "UPDATE c SET id = 11, pid = 3 WHERE id = 10",
            "DELETE FROM c WHERE id = 10",
        ],
        "SELECT t, id FROM log ORDER BY n",
    );
    assert_eq!(codes, vec![0, 0, 0, 0, 1452, 1452, 0, 0, 1452, 0]);
    let log: Vec<Vec<&str>> = log.iter().map(|r| r.iter().map(String::as_str).collect()).collect();
    assert_eq!(log, vec![vec!["t", "1"], vec!["d", "10"]]);
}
