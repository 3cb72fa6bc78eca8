//! Seventeenth session (review A, finding 1): InnoDB checks a child row's FK again
//! whenever it writes the row's entry in the FK's index, even when the FK's values
//! stay: a new primary key (the row is deleted and inserted again) or a new value in
//! another column of that index (`v` in `KEY kpv (pid, v)`). A row whose FK value
//! has no parent (written with `foreign_key_checks = 0`) then fails with 1452. The
//! managed gateway checked only FKs whose values change, so such an UPDATE or
//! ON DUPLICATE KEY UPDATE went through. Each scenario runs natively and through a
//! managed gateway: the same outcome per statement (error code, SQL state, message,
//! rows affected, warnings), then the same rows.

use mysql_async::Value;

use crate::values_r14::{same_values_as_native, table, Step};

/// The finding's schema: `c` is a child of `p` (its FK backed by `kpv`) and a
/// parent of `r`; rows 8 and 9 of `c` have no parent, row 1 has one, row 2 a NULL.
const SCHEMA: &str = "
CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid INT, v INT, w INT, KEY kpv (pid, v),
  CONSTRAINT fc FOREIGN KEY (pid) REFERENCES p (id)) ENGINE=InnoDB;
CREATE TABLE r (id INT PRIMARY KEY, cid INT,
  CONSTRAINT fr FOREIGN KEY (cid) REFERENCES c (id) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p VALUES (1);
INSERT INTO c VALUES (1, 1, 0, 0), (2, NULL, 0, 0);
SET foreign_key_checks = 0;
INSERT INTO c VALUES (8, 77, 0, 0), (9, 78, 0, 0);
SET foreign_key_checks = 1;
INSERT INTO r VALUES (1, 1), (8, 8);
";

const ROWS: [&str; 2] = ["SELECT * FROM c ORDER BY id", "SELECT * FROM r ORDER BY id"];

/// A new primary key of an orphan row: 1452 in an UPDATE (one row, several rows,
/// prepared) and in an ON DUPLICATE KEY UPDATE (one row, several rows, prepared);
/// nothing changes. Rows with a parent or a NULL FK re-key (their child follows),
/// and a key set to itself writes nothing again.
#[test]
fn a_new_primary_key_checks_the_fk_again() {
    let (codes, found) = same_values_as_native(
        SCHEMA,
        &[
            Step::Text("UPDATE c SET id = 108 WHERE id = 8"),
            Step::Text("UPDATE c SET id = id + 100 WHERE id IN (1, 8)"),
            Step::Prepared("UPDATE c SET id = ? WHERE id = ?", vec![Value::Int(109), Value::Int(9)]),
            Step::Text("INSERT INTO c VALUES (9, 0, 0, 0) ON DUPLICATE KEY UPDATE id = 109"),
            Step::Text("INSERT INTO c VALUES (2, 0, 0, 0), (9, 0, 0, 0) ON DUPLICATE KEY UPDATE id = id + 100"),
            Step::Prepared(
                "INSERT INTO c VALUES (?, 0, 0, 0) ON DUPLICATE KEY UPDATE id = ?",
                vec![Value::Int(8), Value::Int(108)],
            ),
            Step::Text("UPDATE c SET id = 8 WHERE id = 8"),
            Step::Text("UPDATE c SET id = 101 WHERE id = 1"),
            Step::Text("UPDATE c SET id = 102 WHERE id = 2"),
            Step::Text("INSERT INTO c VALUES (101, 0, 0, 0) ON DUPLICATE KEY UPDATE id = 111"),
        ],
        &ROWS,
    );
    assert_eq!(codes, [1452, 1452, 1452, 1452, 1452, 1452, 0, 0, 0, 0]);
    assert_eq!(
        found[0],
        table(&[
            &["8", "77", "0", "0"],
            &["9", "78", "0", "0"],
            &["102", "NULL", "0", "0"],
            &["111", "1", "0", "0"],
        ])
    );
    assert_eq!(found[1], table(&[&["1", "111"], &["8", "8"]]));
}

/// Another column of the FK's index (`v` of `kpv`) changes in an ON DUPLICATE KEY
/// UPDATE: 1452 for the orphan row, also when the FK's own value is set to itself;
/// a column outside the index (`w`), or `v` set to its value, passes.
#[test]
fn a_new_value_in_the_fks_index_checks_the_fk_again() {
    let (codes, found) = same_values_as_native(
        SCHEMA,
        &[
            Step::Text("INSERT INTO c VALUES (9, 0, 0, 0) ON DUPLICATE KEY UPDATE v = 7"),
            Step::Text("INSERT INTO c VALUES (9, 0, 0, 0) ON DUPLICATE KEY UPDATE pid = pid, v = v + 1"),
            Step::Text("INSERT INTO c VALUES (1, 0, 0, 0), (9, 0, 0, 0) ON DUPLICATE KEY UPDATE v = v + 1"),
            Step::Prepared(
                "INSERT INTO c VALUES (9, 0, 0, 0) ON DUPLICATE KEY UPDATE v = ?",
                vec![Value::Int(7)],
            ),
            Step::Text("INSERT INTO c VALUES (9, 0, 0, 0) ON DUPLICATE KEY UPDATE w = 7"),
            Step::Text("INSERT INTO c VALUES (9, 0, 0, 0) ON DUPLICATE KEY UPDATE v = 0"),
            Step::Text("INSERT INTO c VALUES (1, 0, 0, 0) ON DUPLICATE KEY UPDATE v = 5"),
            Step::Text("INSERT INTO c VALUES (2, 0, 0, 0) ON DUPLICATE KEY UPDATE v = 5"),
            Step::Text("REPLACE INTO c VALUES (9, 78, 0, 0)"),
        ],
        &ROWS,
    );
    assert_eq!(codes, [1452, 1452, 1452, 1452, 0, 0, 0, 0, 1452]);
    assert_eq!(
        found[0],
        table(&[
            &["1", "1", "5", "0"],
            &["2", "NULL", "5", "0"],
            &["8", "77", "0", "0"],
            &["9", "78", "0", "7"],
        ])
    );
}

/// Two indexes may back the FK (`ka (pid, a)` and `kb (pid, b)`); the schema the
/// gateway reads does not say which one InnoDB took (the first in the server's
/// key order, `ka`). A change of `a` or `b` in an orphan row is left to InnoDB:
/// 1452 for `a`, success for `b`, as natively.
#[test]
fn an_index_that_may_back_the_fk_is_left_to_innodb() {
    let schema = "
CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid INT, a INT, b INT, KEY ka (pid, a), KEY kb (pid, b),
  CONSTRAINT fc FOREIGN KEY (pid) REFERENCES p (id)) ENGINE=InnoDB;
SET foreign_key_checks = 0;
INSERT INTO c VALUES (9, 78, 0, 0);
SET foreign_key_checks = 1;
";
    let (codes, found) = same_values_as_native(
        schema,
        &[
            Step::Text("INSERT INTO c VALUES (9, 0, 0, 0) ON DUPLICATE KEY UPDATE a = 7"),
            Step::Text("INSERT INTO c VALUES (9, 0, 0, 0) ON DUPLICATE KEY UPDATE b = 7"),
        ],
        &["SELECT * FROM c ORDER BY id"],
    );
    assert_eq!(codes, [1452, 0]);
    assert_eq!(found[0], table(&[&["9", "78", "0", "7"]]));
}
