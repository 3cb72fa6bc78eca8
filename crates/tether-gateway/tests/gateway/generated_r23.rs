//! Twenty-third session (review r23i U1, U2): values the server computes where the
//! plan read what the statement wrote. U1: a cascade (ON UPDATE CASCADE, SET NULL)
//! into a column a VIRTUAL generated column reads, that generated column an FK
//! column of its own (MariaDB refuses a STORED one there, 1901): InnoDB checks the
//! generated column's FK and refuses (1452), the gateway's cascade ran with checks
//! off and left an orphan. U2: `SET g = DEFAULT` of a generated key means "computed
//! as ever" (unchanged when no column it reads changes), where the lock read took
//! `DEFAULT(g)`, NULL: children set NULL, a spurious 1451; and `SET k = DEFAULT` of a
//! key whose default is volatile (a sequence, the clock) was read once by the lock
//! read and again by the statement. Each compared with MariaDB natively on an
//! identical database (rows, error codes and messages, affected rows, warnings); a
//! `_tether_probe` trigger fires on the gateway's own child statements only (never
//! on InnoDB's cascades), so it shows whose cascade ran.

use crate::cascade_r13::differential;

/// `c.vg` (VIRTUAL, `pid * 2`) an FK column to `q`, over `c.pid` which cascades
/// from `p`; `d.v2` over `d.v1` over `d.pid` (two levels); `n.vn` (`COALESCE(pid,
/// 9)`) over `n.pid`, which p's updates and deletes set NULL: a NULL written there
/// gives `vn` 9, a value that needs a parent.
const VIRTUAL_FK: &str = "
CREATE TABLE q (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid INT, vg INT AS (pid * 2) VIRTUAL, KEY (vg),
  CONSTRAINT c_pid FOREIGN KEY (pid) REFERENCES p (id) ON UPDATE CASCADE,
  CONSTRAINT c_vg FOREIGN KEY (vg) REFERENCES q (id)) ENGINE=InnoDB;
CREATE TABLE d (id INT PRIMARY KEY, pid INT, v1 INT AS (pid + 1) VIRTUAL, v2 INT AS (v1 * 10) VIRTUAL, KEY (v2),
  CONSTRAINT d_pid FOREIGN KEY (pid) REFERENCES p (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT d_v2 FOREIGN KEY (v2) REFERENCES q (id)) ENGINE=InnoDB;
CREATE TABLE n (id INT PRIMARY KEY, pid INT, vn INT AS (COALESCE(pid, 9)) VIRTUAL, KEY (vn),
  CONSTRAINT n_pid FOREIGN KEY (pid) REFERENCES p (id) ON UPDATE SET NULL ON DELETE SET NULL,
  CONSTRAINT n_vn FOREIGN KEY (vn) REFERENCES q (id)) ENGINE=InnoDB;
CREATE TABLE log (n INT AUTO_INCREMENT PRIMARY KEY, t CHAR(1), id INT, pid INT) ENGINE=InnoDB;
CREATE TRIGGER _tether_probe_c AFTER UPDATE ON c FOR EACH ROW INSERT INTO log (t, id, pid) VALUES ('c', NEW.id, NEW.pid);
CREATE TRIGGER _tether_probe_n AFTER UPDATE ON n FOR EACH ROW INSERT INTO log (t, id, pid) VALUES ('n', NEW.id, NEW.pid);
INSERT INTO q VALUES (2), (4), (6), (30), (60);
INSERT INTO p VALUES (1), (2), (4);
INSERT INTO c (id, pid) VALUES (1, 1);
INSERT INTO d (id, pid) VALUES (1, 2);
INSERT INTO n (id, pid) VALUES (1, 4);";

#[test]
fn a_cascade_into_the_base_of_a_virtual_generated_fk_column_is_checked_as_natively() {
    let (codes, log) = differential(
        VIRTUAL_FK,
        &["q", "p", "c", "d", "n"],
        &[
            // c (1, 1) -> (1, 10): `vg` 20, no q row: 1452 on c_vg, nothing changes.
            "UPDATE p SET id = 10 WHERE id = 1",
            // -> (1, 3): `vg` 6 is there.
            "UPDATE p SET id = 3 WHERE id = 1",
            // d (1, 2) -> (1, 7): `v2` 80, two generated levels over `pid`: 1452 on d_v2.
            "UPDATE p SET id = 7 WHERE id = 2",
            // -> (1, 5): `v2` 60 is there.
            "UPDATE p SET id = 5 WHERE id = 2",
            // n (1, 4) set NULL: `vn` 9, no q row: 1452 on n_vn, by ON UPDATE and ON DELETE.
            "UPDATE p SET id = 8 WHERE id = 4",
            "DELETE FROM p WHERE id = 4",
            "INSERT INTO q VALUES (9)",
            "DELETE FROM p WHERE id = 4",
            // Every row: c's `vg` 206 has no parent, InnoDB's first error.
            "UPDATE p SET id = id + 100",
            "INSERT INTO q VALUES (206), (1060)",
            "UPDATE p SET id = id + 100",
        ],
        "SELECT t, id, pid FROM log ORDER BY n",
    );
    assert_eq!(codes, vec![1452, 0, 1452, 0, 1452, 1452, 0, 0, 1452, 0, 0]);
    // The changes that succeeded are the gateway's statements (binlogged), not
    // InnoDB's cascades.
    let log: Vec<Vec<&str>> = log.iter().map(|r| r.iter().map(String::as_str).collect()).collect();
    assert_eq!(
        log,
        vec![vec!["c", "1", "3"], vec!["n", "1", "NULL"], vec!["c", "1", "103"]]
    );
}

/// `p.g` a STORED generated key (`v * 10`) c cascades from, n sets NULL from and r
/// restricts; `k` joins p for the multi-table form.
const GENERATED_KEY: &str = "
CREATE TABLE p (id INT PRIMARY KEY, v INT, g INT AS (v * 10) STORED, UNIQUE KEY (g)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pg INT, FOREIGN KEY (pg) REFERENCES p (g) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE n (id INT PRIMARY KEY, pg INT, FOREIGN KEY (pg) REFERENCES p (g) ON UPDATE SET NULL) ENGINE=InnoDB;
CREATE TABLE r (id INT PRIMARY KEY, pg INT, FOREIGN KEY (pg) REFERENCES p (g)) ENGINE=InnoDB;
CREATE TABLE k (id INT PRIMARY KEY, pid INT) ENGINE=InnoDB;
CREATE TABLE log (n INT AUTO_INCREMENT PRIMARY KEY, id INT, pg INT) ENGINE=InnoDB;
CREATE TRIGGER _tether_probe_c AFTER UPDATE ON c FOR EACH ROW INSERT INTO log (id, pg) VALUES (NEW.id, NEW.pg);
INSERT INTO p (id, v) VALUES (1, 1), (2, 2), (3, 3), (4, 4);
INSERT INTO c VALUES (1, 10), (3, 30);
INSERT INTO n VALUES (1, 30), (4, 40);
INSERT INTO r VALUES (1, 20);
INSERT INTO k VALUES (1, 1), (2, 2), (3, 3), (4, 4);";

#[test]
fn a_generated_key_assigned_default_or_null_is_computed_as_natively() {
    let (codes, log) = differential(
        GENERATED_KEY,
        &["p", "c", "n", "r"],
        &[
            // `g` stays 20 (r's) and 30 (c's, n's): nothing changes, no 1451.
            "UPDATE p SET g = DEFAULT WHERE id = 2",
            "UPDATE p SET g = DEFAULT WHERE id = 3",
            "UPDATE p SET g = NULL WHERE id = 3",
            "UPDATE p JOIN k ON k.pid = p.id SET p.g = DEFAULT WHERE p.id = 3",
            "UPDATE p JOIN k ON k.pid = p.id SET p.g = NULL WHERE p.id IN (2, 3)",
            // With its base column: computed, c (1) follows to 50, then 60.
            "UPDATE p SET v = 5, g = DEFAULT WHERE id = 1",
            "UPDATE p SET g = DEFAULT, v = 6 WHERE id = 1",
            // p 2's `g` 20 -> 70 is r's: 1451.
            "UPDATE p SET g = DEFAULT, v = 7 WHERE id = 2",
            // Multi-table: c (3) follows to 80, n (1) is set NULL.
            "UPDATE p JOIN k ON k.pid = p.id SET p.g = NULL, p.v = 8 WHERE p.id = 3",
            // `IGNORE` assigns nothing: `v` and `g` stay.
            "UPDATE p SET v = IGNORE WHERE id = 3",
            "UPDATE p SET v = IGNORE, g = DEFAULT WHERE id = 2",
            "UPDATE p JOIN k ON k.pid = p.id SET p.v = IGNORE WHERE p.id = 3",
            // Any other value: 1906 in strict mode, before the FK checks (not r's
            // 1451); outside it a warning, the value ignored, `g` computed.
            "UPDATE p SET g = 5 WHERE id = 4",
            "UPDATE p SET v = 9, g = 5 WHERE id = 2",
            "UPDATE p JOIN k ON k.pid = p.id SET p.g = 5 WHERE p.id = 4",
            "SET sql_mode = ''",
            "UPDATE p SET g = 5 WHERE id = 4",
            "UPDATE p SET g = 5, v = 9 WHERE id = 4",
            "UPDATE p JOIN k ON k.pid = p.id SET p.g = 5 WHERE p.id = 2",
            "UPDATE p JOIN k ON k.pid = p.id SET p.g = 5, p.v = 11 WHERE p.id = 1",
        ],
        "SELECT id, pg FROM log ORDER BY n",
    );
    assert_eq!(
        codes,
        vec![0, 0, 0, 0, 0, 0, 0, 1451, 0, 0, 0, 0, 1906, 1906, 1906, 0, 0, 0, 0, 0]
    );
    let log: Vec<Vec<&str>> = log.iter().map(|r| r.iter().map(String::as_str).collect()).collect();
    assert_eq!(
        log,
        vec![vec!["1", "50"], vec!["1", "60"], vec!["3", "80"]],
        "the cascades that ran are the gateway's"
    );
}

/// A key whose default InnoDB computes anew each time (`NEXT VALUE FOR s`: the lock
/// read's `DEFAULT(id)` took one value, the statement the next; the clock, UUID())
/// assigned DEFAULT: InnoDB runs it, with its cascades, as a volatile new key.
#[test]
fn a_key_assigned_a_volatile_default_takes_one_value_as_natively() {
    const SEQUENCE: &str = "CREATE SEQUENCE s;
CREATE TABLE p (id INT PRIMARY KEY DEFAULT (NEXT VALUE FOR s), v INT) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE k (id INT PRIMARY KEY, pid INT) ENGINE=InnoDB;
INSERT INTO p VALUES (100, 1), (200, 2), (300, 3);
INSERT INTO c VALUES (1, 100), (2, 200), (3, 300);
INSERT INTO k VALUES (1, 200);";
    for statement in [
        "UPDATE p SET id = DEFAULT WHERE id = 100",
        // `DEFAULT(p.id)`: a bare `DEFAULT(id)` is ambiguous in the join (1052).
        "UPDATE p JOIN k ON k.pid = p.id SET p.id = DEFAULT",
        "INSERT INTO p VALUES (300, 0) ON DUPLICATE KEY UPDATE id = DEFAULT",
    ] {
        let (codes, _) = differential(
            SEQUENCE,
            &["p", "c"],
            &[statement, "SELECT NEXT VALUE FOR s"],
            "SELECT 0",
        );
        assert_eq!(codes, vec![0, 0], "{statement}");
    }
    // The clock: the child keeps its parent (the times differ from the native run).
    let (codes, orphans) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, ts DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6),
  u VARCHAR(40) DEFAULT (UUID()), UNIQUE KEY (ts), UNIQUE KEY (u)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pts DATETIME(6), pu VARCHAR(40),
  FOREIGN KEY (pts) REFERENCES p (ts) ON UPDATE CASCADE,
  FOREIGN KEY (pu) REFERENCES p (u) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p VALUES (1, '2001-01-01', 'a');
INSERT INTO c VALUES (1, '2001-01-01', 'a');",
        &[],
        &["UPDATE p SET ts = DEFAULT, u = DEFAULT WHERE id = 1"],
        "SELECT COUNT(*) FROM c JOIN p ON p.ts = c.pts AND p.u = c.pu WHERE p.ts > '2001-01-01'",
    );
    assert_eq!(codes, vec![0]);
    assert_eq!(orphans, vec![vec!["1"]]);
}

/// ON DUPLICATE KEY UPDATE `g = DEFAULT` of a generated key with a non-unique
/// index (the clash is on the primary key): computed, as in an UPDATE. `v =
/// IGNORE`, which MariaDB 10.11 takes there as `v = DEFAULT` (where an UPDATE
/// keeps `v`): InnoDB runs it.
#[test]
fn an_upsert_assigning_default_to_a_generated_key_computes_it_as_natively() {
    let (codes, _) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY, v INT NOT NULL DEFAULT 0, g INT AS (v * 10) STORED, KEY (g)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pg INT, FOREIGN KEY (pg) REFERENCES p (g) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE r (id INT PRIMARY KEY, pg INT, FOREIGN KEY (pg) REFERENCES p (g)) ENGINE=InnoDB;
CREATE TABLE k (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p (id, v) VALUES (1, 1), (2, 2), (3, 3);
INSERT INTO c VALUES (1, 10), (3, 30);
INSERT INTO r VALUES (1, 20);
INSERT INTO k VALUES (1, 1), (3, 3);",
        &["p", "c", "r", "k"],
        &[
            "INSERT INTO p (id, v) VALUES (3, 0) ON DUPLICATE KEY UPDATE g = DEFAULT",
            "INSERT INTO p (id, v) VALUES (2, 0) ON DUPLICATE KEY UPDATE g = NULL",
            "INSERT INTO p (id, v) VALUES (3, 0) ON DUPLICATE KEY UPDATE g = 5",
            "INSERT INTO p (id, v) VALUES (1, 0) ON DUPLICATE KEY UPDATE g = DEFAULT, v = 4",
            "INSERT INTO p (id, v) VALUES (2, 0) ON DUPLICATE KEY UPDATE v = 5, g = DEFAULT",
            "INSERT INTO p (id, v) VALUES (3, 0) ON DUPLICATE KEY UPDATE v = IGNORE",
            // k (1), (3) follow; `v` becomes its default 0, `g` 0, c (1) follows.
            "INSERT INTO p (id, v) VALUES (1, 0), (3, 0) ON DUPLICATE KEY UPDATE id = id + 10, v = IGNORE",
        ],
        "SELECT 0",
    );
    assert_eq!(codes, vec![0, 0, 1906, 0, 1451, 0, 0]);
}

/// `SET col = DEFAULT` of an FK column or key with no default (NOT NULL, none
/// given): MariaDB's 1364 whether or not a row matches.
#[test]
fn a_key_without_a_default_assigned_default_fails_as_natively() {
    let (codes, _) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid INT NOT NULL, FOREIGN KEY (pid) REFERENCES p (id) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p VALUES (1), (2);
INSERT INTO c VALUES (1, 1);",
        &["p", "c"],
        &[
            "UPDATE c SET pid = DEFAULT WHERE id = 1",
            "UPDATE c SET pid = DEFAULT WHERE id = 9",
            "UPDATE p SET id = DEFAULT WHERE id = 1",
            "UPDATE p SET id = DEFAULT WHERE id = 2",
        ],
        "SELECT 0",
    );
    assert_eq!(codes, vec![1364, 1364, 1364, 1364]);
}

/// Review r23n N1, N2: a key (or an FK column) whose default reads another column,
/// assigned DEFAULT in the SET list after that column: MariaDB computes it from the
/// row as the list has left it (x = 5 gives id 6), the gateway's lock read from the
/// old row (2): the cascade went to the wrong key, a RESTRICT check passed, a child's
/// parent check read the old value. InnoDB runs these now: the same rows and codes.
#[test]
fn a_default_that_reads_another_column_is_taken_as_natively() {
    let (codes, orphans) = differential(
        "CREATE TABLE parent (x INT, id INT DEFAULT (x + 1), PRIMARY KEY (id)) ENGINE=InnoDB;
CREATE TABLE child (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES parent (id) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE strict_child (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES parent (id)) ENGINE=InnoDB;
CREATE TABLE own (id INT PRIMARY KEY, pid INT DEFAULT (id), FOREIGN KEY (pid) REFERENCES parent (id)) ENGINE=InnoDB;
INSERT INTO parent VALUES (1, 2), (2, 3), (7, 8);
INSERT INTO child VALUES (1, 2);
INSERT INTO strict_child VALUES (1, 3);
INSERT INTO own VALUES (8, 8);",
        &["parent", "child", "strict_child", "own"],
        &[
            "UPDATE parent SET x = 5, id = DEFAULT WHERE id = 2",
            "UPDATE parent SET x = 9, id = DEFAULT WHERE id = 3",
            "UPDATE own SET id = 9, pid = DEFAULT WHERE id = 8",
        ],
        "SELECT COUNT(*) FROM child LEFT JOIN parent ON parent.id = child.pid WHERE parent.id IS NULL",
    );
    assert_eq!(codes, vec![0, 1451, 1452]);
    assert_eq!(orphans, vec![vec!["0"]]);
}
