//! Findings of a review of managed keyspaces against native InnoDB (review A):
//! each scenario runs through a managed gateway and natively, with the same
//! outcomes (error codes, rows affected) and the same rows left.

use crate::managed::same_as_native_on;

/// A DELETE / UPDATE with LIMIT changes the rows MariaDB's own scan takes, and the
/// plan cascades from exactly those: the lock read `SELECT id FROM p LIMIT 3`
/// takes the covering index on `v` (ids 40, 39, 38) where the DELETE scans the
/// primary key (ids 1, 2, 3); the cascades followed the lock read (orphans).
#[test]
fn limit_without_a_total_order_cascades_from_the_rows_changed() {
    let schema = "
        CREATE TABLE p (id INT PRIMARY KEY, v INT, note VARCHAR(100), KEY (v));
        CREATE TABLE c (id INT PRIMARY KEY, pid INT,
          FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE);
        CREATE TABLE n (id INT PRIMARY KEY, pid INT,
          FOREIGN KEY (pid) REFERENCES p (id) ON DELETE SET NULL ON UPDATE SET NULL);
        INSERT INTO p SELECT seq, 100 - seq, NULL FROM seq_1_to_40;
        INSERT INTO c SELECT seq, seq FROM seq_1_to_40;
        INSERT INTO n SELECT seq, seq FROM seq_1_to_40;";
    same_as_native_on(
        schema,
        &["p", "c", "n"],
        &[
            "DELETE FROM p LIMIT 3",
            "UPDATE p SET id = -id LIMIT 3",
            "UPDATE p SET id = id + 1000 WHERE id > 3 OR v > 95 LIMIT 2",
            "UPDATE p SET id = id + 2000 WHERE v < 90 AND id > 5 LIMIT 2",
            "DELETE FROM p WHERE v < 80 ORDER BY note LIMIT 2",
            "UPDATE p AS x SET x.id = x.id + 3000 WHERE x.v < 70 LIMIT 2",
            "DELETE FROM p WHERE id > 1000000 LIMIT 5",
        ],
    );
}

/// A self-referencing table: natively a cascade from an early row of a DELETE
/// with LIMIT removes later rows the scan would have taken, so LIMIT counts the
/// next ones; a RESTRICT child fails the statement with MariaDB's error.
#[test]
fn limit_on_a_self_reference_counts_the_rows_the_statement_deletes() {
    let schema = "
        CREATE TABLE node (id INT PRIMARY KEY, parent_id INT, w INT, KEY (w),
          FOREIGN KEY (parent_id) REFERENCES node (id) ON DELETE CASCADE);
        CREATE TABLE r (id INT PRIMARY KEY, nid INT, FOREIGN KEY (nid) REFERENCES node (id));
        INSERT INTO node VALUES (1, NULL, 9), (2, 1, 8), (3, NULL, 7), (4, 3, 6), (5, NULL, 5), (6, NULL, 4),
          (7, NULL, 3), (8, 7, 2);
        INSERT INTO r VALUES (1, 8);";
    same_as_native_on(
        schema,
        &["node", "r"],
        &[
            "DELETE FROM node LIMIT 2",
            "DELETE FROM node WHERE id > 4 LIMIT 5",
            "DELETE FROM node WHERE id > 4 LIMIT 1",
        ],
    );
}

/// ON DUPLICATE KEY UPDATE of the column a STORED generated FK column reads:
/// the generated key changes, so its parent is checked (InnoDB's 1452), as for
/// the `INSERT ... SET` spelling and `VALUES(x)`.
#[test]
fn upsert_of_a_generated_fk_columns_base_checks_the_parent() {
    let schema = "
        CREATE TABLE p (id INT PRIMARY KEY, w INT);
        INSERT INTO p VALUES (1, 0), (2, 0), (3, 0);
        CREATE TABLE c (id INT PRIMARY KEY, x INT, pid INT AS (x + 1) STORED,
          FOREIGN KEY (pid) REFERENCES p (id));
        INSERT INTO c (id, x) VALUES (1, 0), (2, 1);";
    same_as_native_on(
        schema,
        &["p", "c"],
        &[
            "INSERT INTO c (id, x) VALUES (1, 0) ON DUPLICATE KEY UPDATE x = 60",
            "INSERT INTO c (id, x) VALUES (1, 0) ON DUPLICATE KEY UPDATE x = x + 100",
            "INSERT INTO c (id, x) VALUES (1, 70) ON DUPLICATE KEY UPDATE x = VALUES(x)",
            "INSERT INTO c SET id = 2, x = 0 ON DUPLICATE KEY UPDATE x = 80",
            "INSERT INTO c (id, x) VALUES (1, 0) ON DUPLICATE KEY UPDATE x = 2",
            "INSERT INTO c (id, x) VALUES (3, 50)",
            "INSERT INTO c (id, x) VALUES (3, 1)",
        ],
    );
}

/// `SET fkcol = DEFAULT` on a child (its parent checked) and on a parent's key
/// (its children cascaded): the lock read computes `DEFAULT(col)`.
#[test]
fn set_to_default_is_planned_with_the_columns_default() {
    let schema = "
        CREATE TABLE p (id INT PRIMARY KEY DEFAULT 3, v INT);
        CREATE TABLE c (id INT PRIMARY KEY, pid INT DEFAULT 5, q INT DEFAULT 7,
          FOREIGN KEY (pid) REFERENCES p (id) ON UPDATE CASCADE ON DELETE CASCADE);
        INSERT INTO p VALUES (1, 0), (2, 0), (5, 0), (7, 0);
        INSERT INTO c VALUES (1, 1, 0), (2, 2, 0), (3, 1, 0);";
    same_as_native_on(
        schema,
        &["p", "c"],
        &[
            "UPDATE c SET pid = DEFAULT WHERE id = 1",
            "UPDATE p SET id = DEFAULT WHERE id = 1",
            "UPDATE c SET q = DEFAULT, pid = q WHERE id = 2",
            "DELETE FROM p WHERE id = 5",
            "UPDATE c SET pid = DEFAULT WHERE id = 2",
            "INSERT INTO c VALUES (3, 3, 0) ON DUPLICATE KEY UPDATE pid = DEFAULT",
        ],
    );
}

/// The parent check sees the value the child column stores: a string cut to the
/// column outside strict mode (VARCHAR, CHAR), fractional seconds a DATETIME
/// drops in any mode. Natively InnoDB checks the stored value (1452).
#[test]
fn parent_checks_see_the_value_the_child_column_stores() {
    let schema = "
        CREATE TABLE sp (k VARCHAR(10) PRIMARY KEY, w INT);
        CREATE TABLE sc (id INT PRIMARY KEY, k VARCHAR(3), FOREIGN KEY (k) REFERENCES sp (k));
        CREATE TABLE sq (id INT PRIMARY KEY, k CHAR(3), FOREIGN KEY (k) REFERENCES sp (k));
        CREATE TABLE tp (t DATETIME(3) PRIMARY KEY, w INT);
        CREATE TABLE tc (id INT PRIMARY KEY, t DATETIME, FOREIGN KEY (t) REFERENCES tp (t));
        INSERT INTO sp VALUES ('abcdef', 0), ('xyz', 0);
        INSERT INTO sc VALUES (1, 'xyz');
        INSERT INTO sq VALUES (1, 'xyz');
        INSERT INTO tp VALUES ('2020-01-01 00:00:00.600', 0), ('2020-01-01 00:00:00', 0);";
    same_as_native_on(
        schema,
        &["sp", "sc", "sq", "tp", "tc"],
        &[
            "INSERT INTO tc VALUES (1, '2020-01-01 00:00:00.600')",
            "INSERT INTO sc VALUES (2, 'abcdef')",
            "SET sql_mode = ''",
            "INSERT INTO sc VALUES (2, 'abcdef')",
            "UPDATE sc SET k = 'abcdef' WHERE id = 1",
            "INSERT INTO sc VALUES (1, 'q') ON DUPLICATE KEY UPDATE k = 'abcdef'",
            "REPLACE INTO sc VALUES (1, 'abcdef')",
            "INSERT INTO sq VALUES (2, 'abcdef')",
            "UPDATE sq SET k = 'abcdef' WHERE id = 1",
            "INSERT INTO tc VALUES (2, '2020-01-01 00:00:00.600')",
            "INSERT INTO sc VALUES (3, 'xyz')",
        ],
    );
}

/// ON UPDATE CASCADE copies the key the parent stored: cut outside strict mode
/// (the child gets the cut key, wide or as wide as the parent), MariaDB's 1406 in
/// strict mode before any FK work.
#[test]
fn a_cascaded_key_is_the_value_the_parent_stored() {
    let schema = "
        CREATE TABLE sp (k VARCHAR(5) PRIMARY KEY, w INT);
        CREATE TABLE sc (id INT PRIMARY KEY, k VARCHAR(10),
          FOREIGN KEY (k) REFERENCES sp (k) ON UPDATE CASCADE);
        CREATE TABLE sd (id INT PRIMARY KEY, k VARCHAR(5),
          FOREIGN KEY (k) REFERENCES sp (k) ON UPDATE CASCADE);
        INSERT INTO sp VALUES ('q', 0), ('r', 0);
        INSERT INTO sc VALUES (1, 'q'), (2, 'r');
        INSERT INTO sd VALUES (1, 'q'), (2, 'r');";
    same_as_native_on(
        schema,
        &["sp", "sc", "sd"],
        &[
            "UPDATE sp SET k = 'zzzzzzz' WHERE k = 'q'",
            "SET sql_mode = ''",
            "UPDATE sp SET k = 'zzzzzzz' WHERE k = 'q'",
            "UPDATE sp SET k = CONCAT(k, 'abcdefgh') WHERE k = 'r'",
        ],
    );
}

/// Forms MariaDB 10.11 refuses give its own error codes: a row alias `AS new`
/// (1064), `VALUES(col)` in a plain UPDATE (1064).
#[test]
fn forms_mariadb_refuses_get_its_error_codes() {
    let schema = "
        CREATE TABLE p (id INT PRIMARY KEY, v INT);
        CREATE TABLE c (id INT PRIMARY KEY, pid INT,
          FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE);
        INSERT INTO p VALUES (1, 1), (2, 2);
        INSERT INTO c VALUES (10, 1), (11, 2);";
    same_as_native_on(
        schema,
        &["p", "c"],
        &[
            "INSERT INTO c VALUES (10, 2) AS new ON DUPLICATE KEY UPDATE pid = new.pid",
            "INSERT INTO p VALUES (1, 5) AS new ON DUPLICATE KEY UPDATE id = new.id + 10",
            "UPDATE c SET pid = VALUES(pid) WHERE id = 10",
            "UPDATE p SET id = VALUES(id) WHERE id = 1",
        ],
    );
}
