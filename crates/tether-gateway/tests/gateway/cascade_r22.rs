//! Twenty-first session (review r21a F1, F2): an ON UPDATE CASCADE into a column of the
//! child's primary key (InnoDB's clustered index) is a delete and an insert of the child
//! row, and that insert checks every FK of the child: a second FK to the parent row
//! being changed fails mid-statement (1452), whatever its columns and its action. The
//! gateway's plan, run with checks off, changed the rows; such plans now take their
//! outcome from a native run first. Each compared with MariaDB on an identical database.

use crate::cascade_r13::differential;

const NO_ROW: &str = "SELECT 0";

/// A child keyed by the cascaded column, with a second FK to the same parent.
fn keyed_child(second: &str) -> String {
    format!(
        "CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE c (x INT PRIMARY KEY, y INT,
  CONSTRAINT c_x FOREIGN KEY (x) REFERENCES p (id) ON UPDATE CASCADE,
  CONSTRAINT c_y FOREIGN KEY (y) REFERENCES p (id) ON UPDATE {second}) ENGINE=InnoDB;
INSERT INTO p VALUES (1), (2), (3);
INSERT INTO c VALUES (1, 1), (2, 3);"
    )
}

#[test]
fn a_cascade_into_the_childs_primary_key_is_refused_as_natively_whatever_the_second_fk_does() {
    for second in ["SET NULL", "CASCADE", "RESTRICT", "NO ACTION"] {
        let (codes, _) = differential(
            &keyed_child(second),
            &["p", "c"],
            &[
                // c (1, 1): the re-inserted row's c_y meets the changed parent: 1452.
                "UPDATE p SET id = 10 WHERE id = 1",
                // c (2, 3): its second FK points at another, unchanged parent row.
                "UPDATE p SET id = 20 WHERE id = 2",
                // Both rows at once: the first one's failure decides.
                "UPDATE p SET id = id + 100",
            ],
            NO_ROW,
        );
        assert_eq!(codes, vec![1452, 0, 1452], "ON UPDATE {second}");
    }
}

#[test]
fn a_composite_key_cascading_on_to_a_grandchild_is_refused_as_natively() {
    let (codes, _) = differential(
        "CREATE TABLE p (a INT, b INT, PRIMARY KEY (a, b)) ENGINE=InnoDB;
CREATE TABLE c (a INT, b INT, n INT, pa INT, pb INT, PRIMARY KEY (a, b, n),
  FOREIGN KEY (a, b) REFERENCES p (a, b) ON UPDATE CASCADE,
  FOREIGN KEY (pa, pb) REFERENCES p (a, b) ON UPDATE SET NULL) ENGINE=InnoDB;
CREATE TABLE g (id INT PRIMARY KEY, a INT, b INT, n INT,
  FOREIGN KEY (a, b, n) REFERENCES c (a, b, n) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p VALUES (1, 1), (2, 2);
INSERT INTO c VALUES (1, 1, 1, 1, 1), (2, 2, 1, 1, 1);
INSERT INTO g VALUES (1, 1, 1, 1), (2, 2, 2, 1);",
        &["p", "c", "g"],
        &[
            "UPDATE p SET b = b + 10 WHERE a = 1",
            // (2, 2)'s child points with its second FK at (1, 1), which stays.
            "UPDATE p SET b = b + 10 WHERE a = 2",
        ],
        NO_ROW,
    );
    assert_eq!(codes, vec![1452, 0]);
}

#[test]
fn a_child_without_primary_key_stored_by_a_not_null_unique_key_is_refused_as_natively() {
    let (codes, _) = differential(
        "CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE c (x INT NOT NULL, y INT, UNIQUE KEY ux (x),
  FOREIGN KEY (x) REFERENCES p (id) ON UPDATE CASCADE,
  FOREIGN KEY (y) REFERENCES p (id) ON UPDATE SET NULL) ENGINE=InnoDB;
CREATE TABLE d (x INT, y INT, UNIQUE KEY ux (x),
  FOREIGN KEY (x) REFERENCES p (id) ON UPDATE CASCADE,
  FOREIGN KEY (y) REFERENCES p (id) ON UPDATE SET NULL) ENGINE=InnoDB;
INSERT INTO p VALUES (1), (2);
INSERT INTO c VALUES (1, 1);
INSERT INTO d VALUES (2, 2);",
        &["p", "c", "d"],
        &[
            // c's NOT NULL unique key is its clustered index: 1452.
            "UPDATE p SET id = 10 WHERE id = 1",
            // d's unique key may hold NULL (a hidden row id stores d): the child row
            // is updated in place, its y set NULL, as natively.
            "UPDATE p SET id = 20 WHERE id = 2",
        ],
        NO_ROW,
    );
    assert_eq!(codes, vec![1452, 0]);
}
