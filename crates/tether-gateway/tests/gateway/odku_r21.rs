//! Nineteenth session, review r20m F1: in ON DUPLICATE KEY UPDATE, `VALUES(col)` is
//! the value the column holds (a DATE, a DECIMAL of its scale), not the text that gave
//! it. The managed planner put the text in its place, so `VALUES(k) + 0` of a DATE was
//! 2020 where MariaDB computes 20200103: the parent check looked for the wrong key and
//! let an orphan through (non-strict mode), or answered 1292 where MariaDB gives 1452.

use crate::managed::same_as_native_on;

const SCHEMA: &str = "
    CREATE TABLE ip (k DATE NOT NULL PRIMARY KEY, v INT) ENGINE=InnoDB;
    CREATE TABLE ic (id INT PRIMARY KEY, k DATE NOT NULL,
      FOREIGN KEY (k) REFERENCES ip (k) ON UPDATE CASCADE) ENGINE=InnoDB;
    CREATE TABLE dp (k DECIMAL(5,2) NOT NULL PRIMARY KEY, v INT) ENGINE=InnoDB;
    CREATE TABLE dc (id INT PRIMARY KEY, k DECIMAL(5,2) NOT NULL,
      FOREIGN KEY (k) REFERENCES dp (k) ON UPDATE CASCADE) ENGINE=InnoDB;
    CREATE TABLE tp (k DATETIME(3) NOT NULL PRIMARY KEY, v INT) ENGINE=InnoDB;
    CREATE TABLE tc (id INT PRIMARY KEY, k DATETIME(3) NOT NULL,
      FOREIGN KEY (k) REFERENCES tp (k) ON UPDATE CASCADE) ENGINE=InnoDB;
";

#[test]
fn values_of_a_date_decimal_or_datetime_column_is_its_stored_value() {
    same_as_native_on(
        SCHEMA,
        &["ip", "ic", "dp", "dc", "tp", "tc"],
        &[
            "SET sql_mode = ''",
            "INSERT INTO ip (k) VALUES ('2020-01-01'), ('0000-00-00')",
            "INSERT INTO ic VALUES (1, '2020-01-01'), (2, '0000-00-00')",
            // 20200103 stored as 2020-01-03: no such parent (the gateway checked 0000-00-00).
            "INSERT INTO ic VALUES (1, '2020-01-03') ON DUPLICATE KEY UPDATE k = VALUES(k) + 0",
            "INSERT INTO ic VALUES (1, '2020-01-01') ON DUPLICATE KEY UPDATE k = VALUES(k) + 0",
            "SET sql_mode = 'STRICT_TRANS_TABLES'",
            "INSERT INTO ic VALUES (1, '2020-01-03') ON DUPLICATE KEY UPDATE k = VALUES(k) + 0",
            "INSERT INTO dp (k) VALUES (1.01), (9.99)",
            "INSERT INTO dc VALUES (1, 9.99)",
            // VALUES(k) is 1.01 (the column's scale), not 1.005.
            "INSERT INTO dc VALUES (1, 1.005) ON DUPLICATE KEY UPDATE k = IF(VALUES(k) = 1.01, 1.01, 5.55)",
            "INSERT INTO tp (k) VALUES ('2020-01-01 10:00:00.123')",
            "INSERT INTO tc VALUES (1, '2020-01-01 10:00:00.123')",
            "INSERT INTO tc VALUES (1, '2020-01-01 10:00:00.1234') ON DUPLICATE KEY UPDATE \
             k = IF(VALUES(k) = '2020-01-01 10:00:00.123', VALUES(k), '2021-01-01')",
        ],
    );
}
