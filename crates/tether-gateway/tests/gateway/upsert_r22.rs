//! Twenty-first session writer 1 (review r20m F2-F4 and the rest of F1): a planned
//! write stores, cascades and checks what MariaDB stores. F2: a multi-row INSERT ...
//! ON DUPLICATE KEY UPDATE `k = NULL` outside strict mode stores the implicit
//! default (0) with warning 1048 and InnoDB cascades or refuses that 0 (a one-row
//! one answers 1048 in any mode). F1: `VALUES(col)` of an integer (clipped to the
//! column's range), a string (cut to the column's length), BIT, ENUM and SET column
//! is the value the column holds, not the row's text. F3: the warnings of the
//! values stored (1264, 1265) reach the client. Each scenario runs natively (InnoDB
//! FKs) and through a managed gateway: the same codes, rows affected, warnings and
//! info per statement, then the same rows.

use tether_testkit::{TestDb, TestEngine};

use crate::clash::same_outcome;
use crate::support::{native_and_gateway, rows, start_one};
use crate::values_r14::{same_values_as_native, table, Step};

const NULL_KEYS: &str = "
CREATE TABLE p (k INT NOT NULL PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, k INT,
  FOREIGN KEY (k) REFERENCES p (k) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE q (k INT NOT NULL PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE r (id INT PRIMARY KEY, k INT,
  FOREIGN KEY (k) REFERENCES q (k)) ENGINE=InnoDB;
CREATE TABLE n (id INT PRIMARY KEY, k INT NOT NULL,
  FOREIGN KEY (k) REFERENCES p (k)) ENGINE=InnoDB;
INSERT INTO p VALUES (1, 0), (2, 0), (3, 0), (4, 0);
INSERT INTO c VALUES (10, 1), (20, 2), (30, 3), (40, 4);
INSERT INTO q VALUES (1, 0), (2, 0);
INSERT INTO r VALUES (10, 1);
CREATE TABLE dp (k DATE NOT NULL PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE dc (id INT PRIMARY KEY, k DATE NOT NULL,
  FOREIGN KEY (k) REFERENCES dp (k) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO n VALUES (1, 4), (2, 4);
INSERT INTO dp VALUES ('2020-01-01'), ('2020-01-02');
INSERT INTO dc VALUES (1, '2020-01-01');
";

const NULL_KEY_ROWS: [&str; 7] = [
    "SELECT k, v FROM p ORDER BY k",
    "SELECT id, k FROM c ORDER BY id",
    "SELECT k, v FROM q ORDER BY k",
    "SELECT id, k FROM r ORDER BY id",
    "SELECT id, k FROM n ORDER BY id",
    "SELECT k FROM dp ORDER BY k",
    "SELECT id, k FROM dc ORDER BY id",
];

/// Outside strict mode a multi-row upsert's `k = NULL` stores 0 with warning 1048
/// and the ON UPDATE CASCADE children follow; a RESTRICT child refuses (1451); a
/// NOT NULL child column's stored 0 has no parent (1452); a one-row upsert answers
/// 1048; a multi-row UPDATE stores 0 as well. Strict mode: 1048 every time.
#[test]
fn a_null_update_of_a_multi_row_upsert_is_stored_as_the_implicit_default() {
    let (codes, found) = same_values_as_native(
        NULL_KEYS,
        &[
            Step::Text("SET sql_mode=''"),
            Step::Text("INSERT INTO p VALUES (1, 5) ON DUPLICATE KEY UPDATE k = NULL"),
            Step::Text("INSERT INTO q VALUES (1, 5), (7, 7) ON DUPLICATE KEY UPDATE k = NULL"),
            Step::Text("INSERT INTO n VALUES (1, 4), (3, 4) ON DUPLICATE KEY UPDATE k = NULL"),
            Step::Text("SET sql_mode='STRICT_TRANS_TABLES'"),
            Step::Text("INSERT INTO p VALUES (1, 5), (8, 8) ON DUPLICATE KEY UPDATE k = NULL"),
            Step::Text("UPDATE p SET k = NULL WHERE k IN (1, 2)"),
            // r20m F4: MariaDB answers 1048 here too (not 1292).
            Step::Text("INSERT INTO p VALUES (1, 5) ON DUPLICATE KEY UPDATE k = VALUES(k) + NULL"),
            Step::Text("INSERT INTO n VALUES (1, 1) ON DUPLICATE KEY UPDATE k = VALUES(k) + NULL"),
            Step::Text("INSERT INTO dp VALUES ('2020-01-01') ON DUPLICATE KEY UPDATE k = VALUES(k) + NULL"),
            Step::Text("INSERT INTO dc VALUES (1, '2020-01-02') ON DUPLICATE KEY UPDATE k = VALUES(k) + NULL"),
            Step::Text("INSERT INTO dc VALUES (1, '2020-01-02'), (2, '2020-01-02') ON DUPLICATE KEY UPDATE k = VALUES(k) + NULL"),
            Step::Text("SET sql_mode=''"),
            Step::Text("INSERT INTO p VALUES (1, 5), (9, 9) ON DUPLICATE KEY UPDATE k = NULL, v = 6"),
            Step::Text("INSERT INTO n VALUES (2, 4), (4, 4) ON DUPLICATE KEY UPDATE k = NULL"),
            Step::Text("UPDATE p SET k = NULL WHERE k IN (2, 5)"),
            Step::Text("INSERT INTO dc VALUES (1, '2020-01-02'), (2, '2020-01-02') ON DUPLICATE KEY UPDATE k = VALUES(k) + NULL"),
            Step::Text("INSERT INTO dp VALUES ('2020-01-01'), ('2020-01-03') ON DUPLICATE KEY UPDATE k = VALUES(k) + NULL"),
        ],
        &NULL_KEY_ROWS,
    );
    assert_eq!(
        codes,
        [0, 1048, 1451, 1452, 0, 1048, 1048, 1048, 1048, 1048, 1048, 1048, 0, 0, 0, 1062, 1452, 0]
    );
    assert_eq!(
        found[0],
        table(&[&["0", "6"], &["2", "0"], &["3", "0"], &["4", "0"], &["9", "9"]])
    );
    assert_eq!(
        found[1],
        table(&[&["10", "0"], &["20", "2"], &["30", "3"], &["40", "4"]])
    );
    assert_eq!(found[4], table(&[&["1", "4"], &["2", "0"], &["4", "4"]]));
    assert_eq!(found[5], table(&[&["0000-00-00"], &["2020-01-02"], &["2020-01-03"]]));
    assert_eq!(found[6], table(&[&["1", "0000-00-00"]]));
}

const VALUES_KEYS: &str = "
CREATE TABLE tp (k TINYINT NOT NULL PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE tc (id INT PRIMARY KEY, k TINYINT NOT NULL,
  FOREIGN KEY (k) REFERENCES tp (k) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE up (k INT UNSIGNED NOT NULL PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE uc (id INT PRIMARY KEY, k INT UNSIGNED NOT NULL,
  FOREIGN KEY (k) REFERENCES up (k)) ENGINE=InnoDB;
CREATE TABLE sp (k VARCHAR(3) NOT NULL PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE sc (id INT PRIMARY KEY, k VARCHAR(3) NOT NULL,
  FOREIGN KEY (k) REFERENCES sp (k) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE hp (k CHAR(4) NOT NULL PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE hc (id INT PRIMARY KEY, k CHAR(4) NOT NULL,
  FOREIGN KEY (k) REFERENCES hp (k)) ENGINE=InnoDB;
CREATE TABLE bp (k BIT(4) NOT NULL PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE bc (id INT PRIMARY KEY, k BIT(4) NOT NULL,
  FOREIGN KEY (k) REFERENCES bp (k)) ENGINE=InnoDB;
INSERT INTO tp VALUES (1), (2), (127);
INSERT INTO tc VALUES (1, 1), (2, 1);
INSERT INTO up VALUES (0), (1);
INSERT INTO uc VALUES (1, 1);
INSERT INTO sp VALUES ('abc'), ('cba');
INSERT INTO sc VALUES (1, 'abc');
INSERT INTO hp VALUES ('ab');
INSERT INTO hc VALUES (1, 'ab');
INSERT INTO bp VALUES (1), (15);
INSERT INTO bc VALUES (1, 1);
";

const VALUES_ROWS: [&str; 10] = [
    "SELECT k FROM tp ORDER BY k",
    "SELECT id, k FROM tc ORDER BY id",
    "SELECT k FROM up ORDER BY k",
    "SELECT id, k FROM uc ORDER BY id",
    "SELECT k FROM sp ORDER BY k",
    "SELECT id, k FROM sc ORDER BY id",
    "SELECT k FROM hp ORDER BY k",
    "SELECT id, CONCAT('[', k, ']') FROM hc ORDER BY id",
    "SELECT k + 0 FROM bp ORDER BY k",
    "SELECT id, k + 0 FROM bc ORDER BY id",
];

/// `VALUES(k)` is what the column holds, and the parent check looks for what the
/// update stores: 300 into a TINYINT is 127 (outside strict mode), so `VALUES(k) -
/// 1` is 126, which has no parent (the gateway looked for 299 as stored, 127, and
/// let the orphan through); '2.5' is 3 (no parent; the gateway looked for 2.5e0 as
/// stored, 2); -5 into an INT UNSIGNED is 0, so `+ 6` is 6 (no parent); 'abcd' into
/// a VARCHAR(3) is 'abc', so `REVERSE(VALUES(k))` is 'cba' (a parent; the gateway
/// refused 'dcb'); 12 into a VARCHAR is the string '12', not equal to '012'; a
/// CHAR's 'ab  ' is 'ab', so `CONCAT(VALUES(k), '|')` is 'ab|' (no parent); 300 into
/// a BIT(4) is 15, so `VALUES(k) - 1` is 14 (no parent). Strict mode: 1264, 1406.
#[test]
fn values_of_an_integer_string_or_bit_column_is_its_stored_value() {
    let (codes, found) = same_values_as_native(
        VALUES_KEYS,
        &[
            Step::Text("SET sql_mode=''"),
            Step::Text("INSERT INTO tc VALUES (1, 300) ON DUPLICATE KEY UPDATE k = VALUES(k) - 1"),
            Step::Text("INSERT INTO tc VALUES (2, 300) ON DUPLICATE KEY UPDATE k = VALUES(k) + 0"),
            Step::Text("INSERT INTO tc VALUES (2, '2.5') ON DUPLICATE KEY UPDATE k = VALUES(k) * 1"),
            Step::Text("INSERT INTO tc VALUES (1, 2.5e0) ON DUPLICATE KEY UPDATE k = VALUES(k) * 1"),
            Step::Text("INSERT INTO uc VALUES (1, -5) ON DUPLICATE KEY UPDATE k = VALUES(k) + 6"),
            Step::Text("INSERT INTO uc VALUES (1, -5) ON DUPLICATE KEY UPDATE k = VALUES(k) + 1"),
            Step::Text("INSERT INTO sc VALUES (1, 'abcd') ON DUPLICATE KEY UPDATE k = REVERSE(VALUES(k))"),
            Step::Text("INSERT INTO sc VALUES (1, 12) ON DUPLICATE KEY UPDATE k = IF(VALUES(k) = '012', 'x', 'abc')"),
            Step::Text("INSERT INTO hc VALUES (1, 'ab  ') ON DUPLICATE KEY UPDATE k = CONCAT(VALUES(k), '|')"),
            Step::Text("INSERT INTO bc VALUES (1, 300) ON DUPLICATE KEY UPDATE k = VALUES(k) - 1"),
            Step::Text("INSERT INTO bc VALUES (1, 300) ON DUPLICATE KEY UPDATE k = VALUES(k) + 0"),
            Step::Text("INSERT INTO sp VALUES ('cbaz') ON DUPLICATE KEY UPDATE k = CONCAT(VALUES(k), 'q')"),
            Step::Text("SET sql_mode='STRICT_TRANS_TABLES'"),
            Step::Text("INSERT INTO tc VALUES (1, 300) ON DUPLICATE KEY UPDATE k = VALUES(k) - 1"),
            Step::Text("INSERT INTO sc VALUES (1, 'abcd') ON DUPLICATE KEY UPDATE k = REVERSE(VALUES(k))"),
        ],
        &VALUES_ROWS,
    );
    assert_eq!(
        codes,
        [0, 1452, 0, 1452, 0, 1452, 0, 0, 0, 1452, 1452, 0, 0, 0, 1264, 1406]
    );
    assert_eq!(found[1], table(&[&["1", "2"], &["2", "127"]]));
    assert_eq!(found[3], table(&[&["1", "1"]]));
    assert_eq!(found[5], table(&[&["1", "abc"]]));
    assert_eq!(found[7], table(&[&["1", "[ab]"]]));
    assert_eq!(found[9], table(&[&["1", "15"]]));
}

/// Runs each statement natively and through a managed gateway on `schema`: the
/// same outcome and warning count (`same_outcome`), then, where it succeeded, the
/// same `SHOW WARNINGS`. The native error codes (0: none).
fn same_warnings_as_native(schema: &str, statements: &[&str]) -> Vec<u16> {
    let native = TestDb::create(TestEngine::Mysql);
    let managed = TestDb::create(TestEngine::Mysql);
    native.exec(schema);
    managed.exec(schema);
    let gw = start_one(&managed, "managed");
    gw.block_on(async {
        let (mut n, mut g) = native_and_gateway(&native, &gw, false).await;
        let mut codes = Vec::new();
        for (i, sql) in statements.iter().enumerate() {
            let context = format!("statement {i}");
            let code = same_outcome(&mut n, &mut g, [&native.name, &managed.name], sql, &context).await;
            codes.push(code);
            if code != 0 {
                // A refused statement's diagnostics (its warnings and the error) are
                // left open: the gateway's rollback of its plan clears them.
                continue;
            }
            let norm = |rows: Vec<Vec<String>>, db: &str| -> Vec<Vec<String>> {
                rows.into_iter()
                    .map(|r| r.into_iter().map(|v| v.replace(db, "DB")).collect())
                    .collect()
            };
            assert_eq!(
                norm(rows(&mut n, "SHOW WARNINGS").await, &native.name),
                norm(rows(&mut g, "SHOW WARNINGS").await, &managed.name),
                "{context}: {sql}: SHOW WARNINGS, native then the gateway"
            );
        }
        codes
    })
}

/// The warnings of a parent key rounded, clipped or cut in a planned write (1264,
/// 1265, 1048) reach the client as they do natively: the count in the OK packet
/// and the rows of SHOW WARNINGS; a cascade does not add any.
#[test]
fn warnings_of_keys_stored_otherwise_reach_the_client() {
    let codes = same_warnings_as_native(
        VALUES_KEYS,
        &[
            "SET sql_mode=''",
            "DELETE FROM tp WHERE k = 127",
            "UPDATE tp SET k = 300 WHERE k = 2",
            "UPDATE tp SET k = 2.6 WHERE k = 127",
            "UPDATE sp SET k = 'abcd' WHERE k = 'abc'",
            "INSERT INTO tp VALUES (1) ON DUPLICATE KEY UPDATE k = 200",
            "INSERT INTO tp VALUES (4), (3) ON DUPLICATE KEY UPDATE k = -500",
            "INSERT INTO sp VALUES ('cba'), ('q') ON DUPLICATE KEY UPDATE k = 'zzzz'",
            "INSERT INTO tc VALUES (1, 300), (2, 300) ON DUPLICATE KEY UPDATE k = VALUES(k)",
            "INSERT INTO tp VALUES (4) ON DUPLICATE KEY UPDATE k = NULL",
            "INSERT INTO tp VALUES (4), (5) ON DUPLICATE KEY UPDATE k = NULL",
            "UPDATE tp SET k = NULL WHERE k = 0",
            "UPDATE tc SET k = 300 WHERE id = 1",
            "UPDATE tc SET k = -127.6 WHERE id = 2",
            "INSERT INTO tc VALUES (5, 300), (6, -1000)",
            "REPLACE INTO tc VALUES (5, 299)",
            "REPLACE INTO tp VALUES (300)",
            "INSERT INTO sc VALUES (5, 'zzzz')",
            "INSERT INTO sc VALUES (6, 'zzzz'), (7, 'abcd')",
            "UPDATE sc SET k = 'abcd'",
            "UPDATE up SET k = 5000000000 WHERE k = 0",
            "INSERT INTO bc VALUES (3, 300) ON DUPLICATE KEY UPDATE k = 300",
            "INSERT INTO tc SELECT 9, 300",
            "DELETE FROM tc WHERE k = 300.5e0",
        ],
    );
    assert_eq!(
        codes,
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 1048, 0, 0, 0, 0, 0, 0, 1451, 0, 0, 0, 0, 0, 0, 0]
    );
}
