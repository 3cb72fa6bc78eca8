//! Review r15 L, finding 1: the values of a managed write are stored into a
//! scratch table (`_tether_stored_values`) to learn what the child columns store.
//! That table's columns must have the child column's type, character set and
//! collation, not the database's defaults: otherwise a value valid for the real
//! column (a utf8mb4 '日本' beside a number, in a latin1 database; 0xE9 into a
//! latin1 column of a utf8mb4 database) failed there with 1366, renamed to the
//! child table, where MariaDB stores it. Each scenario runs natively and through a
//! managed gateway: the same outcome per statement (error code, SQL state,
//! message, warnings), then the same rows in every table.

use crate::values_r14::{same_values_as_native, table, Step};

/// Runs text `statements` natively and through a managed gateway on `schema` (see
/// `values_r14::same_values_as_native`).
fn same_as_native(schema: &str, statements: &[&str], queries: &[&str]) -> (Vec<u16>, Vec<Vec<Vec<String>>>) {
    let steps: Vec<Step> = statements.iter().map(|sql| Step::Text(sql)).collect();
    same_values_as_native(schema, &steps, queries)
}

/// A latin1 database whose key columns are utf8mb4 (the finding's r15l_ks): `p`
/// keyed by `code`, `q` with two keys its children reference, `tag` holding '日本'.
const LATIN1_DATABASE: &str = "
ALTER DATABASE CHARACTER SET latin1;
CREATE TABLE p (code VARCHAR(10) CHARACTER SET utf8mb4 PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, code VARCHAR(10) CHARACTER SET utf8mb4,
  CONSTRAINT c_fk FOREIGN KEY (code) REFERENCES p (code)) ENGINE=InnoDB;
CREATE TABLE q (id INT PRIMARY KEY, code VARCHAR(10) CHARACTER SET utf8mb4 UNIQUE,
  tag VARCHAR(10) CHARACTER SET utf8mb4 UNIQUE) ENGINE=InnoDB;
CREATE TABLE qc (id INT PRIMARY KEY, code VARCHAR(10) CHARACTER SET utf8mb4, tag VARCHAR(10) CHARACTER SET utf8mb4,
  CONSTRAINT qc_code FOREIGN KEY (code) REFERENCES q (code) ON UPDATE CASCADE,
  CONSTRAINT qc_tag FOREIGN KEY (tag) REFERENCES q (tag) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p VALUES ('1'), ('日本');
INSERT INTO q VALUES (1, 'a', '日本');
INSERT INTO qc VALUES (1, 'a', '日本');
";

/// The finding's statements: a number beside '日本' in one INSERT, an `_utf8mb4`
/// introducer, a parent key set to a number in a row whose other key is '日本' (the
/// keys cascade as stored): all written as natively. A number no parent has
/// ('2'), beside '日本', is still 1452.
#[test]
fn utf8mb4_columns_of_a_latin1_database_store_as_natively() {
    let (codes, found) = same_as_native(
        LATIN1_DATABASE,
        &[
            "INSERT INTO c VALUES (1, 1), (2, '日本')",
            "INSERT INTO c VALUES (5, _utf8mb4'日本')",
            "INSERT INTO c VALUES (6, 2), (7, '日本')",
            "INSERT INTO c VALUES (8, 2)",
            "UPDATE q SET code = 7 WHERE id = 1",
        ],
        &[
            "SELECT id, code, HEX(code) FROM c ORDER BY id",
            "SELECT id, code, tag FROM q ORDER BY id",
            "SELECT id, code, tag FROM qc ORDER BY id",
        ],
    );
    assert_eq!(codes, [0, 0, 1452, 1452, 0]);
    assert_eq!(
        found[0],
        table(&[
            &["1", "1", "31"],
            &["2", "日本", "E697A5E69CAC"],
            &["5", "日本", "E697A5E69CAC"]
        ])
    );
    assert_eq!(found[1], table(&[&["1", "7", "日本"]]));
    assert_eq!(found[2], table(&[&["1", "7", "日本"]]));
}

/// A utf8mb4 database whose key columns are latin1 (the finding's r15l_k2): the
/// byte 0xE9 is 'é' in latin1, no character in utf8mb4.
const UTF8MB4_DATABASE: &str = "
ALTER DATABASE CHARACTER SET utf8mb4;
CREATE TABLE p (code VARCHAR(10) PRIMARY KEY) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE c (id INT PRIMARY KEY, code VARCHAR(10),
  CONSTRAINT c_fk FOREIGN KEY (code) REFERENCES p (code)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
INSERT INTO p VALUES ('é'), ('1');
";

/// 0xE9 into the latin1 child is 'é', a parent's key: written as natively (alone
/// and beside a number); 0xE8 ('è') equals 'é' under latin1_swedish_ci, the
/// column's collation: written too; 0xE5 ('å') is no parent's key: 1452 as
/// natively.
#[test]
fn latin1_columns_of_a_utf8mb4_database_store_as_natively() {
    let (codes, found) = same_as_native(
        UTF8MB4_DATABASE,
        &[
            "INSERT INTO c VALUES (1, 0xE9)",
            "INSERT INTO c VALUES (2, 1), (3, 0xE9)",
            "INSERT INTO c VALUES (4, 0xE8)",
            "INSERT INTO c VALUES (5, 0xE5)",
            "INSERT INTO c VALUES (6, 1), (7, 0xE5)",
        ],
        &["SELECT id, code, HEX(code) FROM c ORDER BY id"],
    );
    assert_eq!(codes, [0, 0, 0, 1452, 1452]);
    assert_eq!(
        found[0],
        table(&[
            &["1", "é", "E9"],
            &["2", "1", "31"],
            &["3", "é", "E9"],
            &["4", "è", "E8"]
        ])
    );
}
