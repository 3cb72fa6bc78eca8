//! Twenty-fifth session (review r25b F3, F4): a prepared statement's string
//! parameter that a managed keyspace inlines must read as the parameter reads
//! natively. MariaDB leaves a parameter unconverted when the client's or the
//! connection's character set is `binary` (it is then a binary string, or keeps
//! the client's character set), and an unconverted parameter takes the client
//! character set's collation, which `SET NAMES utf8mb4 COLLATE
//! utf8mb4_unicode_ci` (Laravel's default) makes unicode_ci. The gateway wrote a
//! plain literal in the first case (`LOWER(?)` folded a binary 'A' and deleted
//! another parent with its children) and `_utf8mb4 X'..'` (general_ci) in the
//! second (1267, an illegal mix of collations, where MariaDB runs the statement).
//! It now reads the parameter's collation natively from the backend and writes
//! the literal that has it; where none has it, it refuses (1105).

use mysql_async::prelude::Queryable;
use mysql_async::Value;
use tether_testkit::{TestDb, TestEngine};

use crate::support::{direct, native_and_gateway, rows, server_error, start_one};

const SCHEMA: &str =
    "CREATE TABLE p (id INT PRIMARY KEY, k VARCHAR(10) COLLATE utf8mb4_bin NOT NULL, UNIQUE KEY (k)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pk VARCHAR(10) COLLATE utf8mb4_bin,
  FOREIGN KEY (pk) REFERENCES p (k) ON UPDATE CASCADE ON DELETE CASCADE) ENGINE=InnoDB;
INSERT INTO p VALUES (1, 'a'), (2, 'A'), (3, 'b'), (4, 'B');
INSERT INTO c VALUES (1, 'a'), (2, 'A'), (3, 'b'), (4, 'B');";

/// An outcome: the affected rows, or the error code.
type Outcome = Result<u64, u16>;

/// After `setup` on both sessions, each `(statement, parameters)` executed as a
/// prepared statement natively and through a managed gateway, on fresh copies of
/// [`SCHEMA`]: the native and the gateway's outcomes, and the gateway's `c` rows
/// (`id:pk`). With `same_rows`, both databases hold the same rows at the end.
fn run(setup: &[&str], steps: &[(&str, &[&str])], same_rows: bool) -> (Vec<Outcome>, Vec<Outcome>, Vec<Vec<String>>) {
    let native = TestDb::create(TestEngine::Mysql);
    let managed = TestDb::create(TestEngine::Mysql);
    native.exec(SCHEMA);
    managed.exec(SCHEMA);
    let gw = start_one(&managed, "managed");
    gw.block_on(async {
        let (mut n, mut g) = native_and_gateway(&native, &gw, false).await;
        for sql in setup {
            n.query_drop(*sql).await.expect("native setup");
            g.query_drop(*sql).await.expect("gateway setup");
        }
        let (mut on_native, mut on_gateway) = (Vec::new(), Vec::new());
        for (sql, params) in steps {
            let params: Vec<Value> = params.iter().map(|p| Value::Bytes(p.as_bytes().to_vec())).collect();
            let a = n.exec_drop(*sql, params.clone()).await.map(|_| n.affected_rows());
            let b = g.exec_drop(*sql, params).await.map(|_| g.affected_rows());
            on_native.push(a.map_err(|e| server_error(e).0));
            on_gateway.push(b.map_err(|e| server_error(e).0));
        }
        let (mut n, mut m) = (direct(&native).await, direct(&managed).await);
        if same_rows {
            for t in ["p", "c"] {
                let sql = format!("SELECT * FROM {t} ORDER BY 1");
                assert_eq!(rows(&mut n, &sql).await, rows(&mut m, &sql).await, "{setup:?}: {t}");
            }
        }
        let children = rows(&mut m, "SELECT CONCAT(id, ':', pk) FROM c ORDER BY id").await;
        (on_native, on_gateway, children)
    })
}

/// The `c` rows as `run` reads them.
fn children(rows: &[&str]) -> Vec<Vec<String>> {
    rows.iter().map(|r| vec![r.to_string()]).collect()
}

const FOLDS: [(&str, &[&str]); 3] = [
    // A binary 'A' has no lower case: natively the parent 'A' goes (and c 2).
    ("DELETE FROM p WHERE k = LOWER(?)", &["A"]),
    ("UPDATE p SET k = CONCAT(UPPER(?), 'z') WHERE k = ?", &["b", "b"]),
    ("DELETE FROM p WHERE ? = 'a' AND id = 1", &["A"]),
];

#[test]
fn a_parameter_under_a_binary_client_character_set_stays_binary() {
    let (native, gateway, c) = run(&["SET character_set_client = binary"], &FOLDS, true);
    assert_eq!(native, vec![Ok(1), Ok(1), Ok(0)]);
    assert_eq!(gateway, native);
    assert_eq!(c, children(&["1:a", "3:bz", "4:B"]));
}

#[test]
fn a_parameter_under_a_binary_connection_character_set_keeps_the_client_s() {
    let (native, gateway, c) = run(&["SET character_set_connection = binary"], &FOLDS, true);
    assert_eq!(native, vec![Ok(1), Ok(1), Ok(0)]);
    assert_eq!(gateway, native);
    assert_eq!(c, children(&["2:A", "3:Bz", "4:B"]));
}

#[test]
fn a_parameter_under_set_names_binary_is_binary() {
    let (native, gateway, c) = run(&["SET NAMES binary"], &FOLDS, true);
    assert_eq!(gateway, native);
    assert_eq!(c, children(&["1:a", "3:bz", "4:B"]));
}

const MIXES: [(&str, &[&str]); 3] = [
    (
        "DELETE FROM p WHERE k = CASE ? WHEN 'first' THEN 'a' ELSE 'b' END",
        &["first"],
    ),
    ("DELETE FROM p WHERE k = IF(? = 'x', 'A', 'x')", &["X"]),
    ("UPDATE p SET k = 'zz' WHERE k = 'b' AND ? = 'b'", &["B"]),
];

#[test]
fn a_parameter_after_set_names_collate_takes_that_collation() {
    // unicode_ci: 'X' = 'x' and 'B' = 'b'; every statement runs and matches.
    let (native, gateway, c) = run(&["SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci"], &MIXES, true);
    assert_eq!(native, vec![Ok(1), Ok(1), Ok(1)]);
    assert_eq!(gateway, native);
    assert_eq!(c, children(&["3:zz", "4:B"]));
    // utf8mb4_bin: nothing folds.
    let (native, gateway, c) = run(&["SET NAMES utf8mb4 COLLATE utf8mb4_bin"], &MIXES, true);
    assert_eq!(native, vec![Ok(1), Ok(0), Ok(0)]);
    assert_eq!(gateway, native);
    assert_eq!(c, children(&["2:A", "3:b", "4:B"]));
    // collation_connection alone leaves the parameter general_ci: 1267 natively
    // (the CASE mixes general_ci and unicode_ci), and through the gateway.
    let (native, gateway, _) = run(
        &["SET NAMES utf8mb4", "SET collation_connection = utf8mb4_unicode_ci"],
        &MIXES,
        true,
    );
    assert_eq!(native, vec![Err(1267), Err(1267), Err(1267)]);
    assert_eq!(gateway, native);
}

#[test]
fn a_parameter_whose_collation_no_literal_has_is_refused() {
    // unicode_ci by SET NAMES, then collation_connection general_ci: an introduced
    // literal is general_ci, a plain one general_ci, the parameter unicode_ci.
    let (native, gateway, c) = run(
        &[
            "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci",
            "SET collation_connection = utf8mb4_general_ci",
        ],
        &MIXES[..1],
        false,
    );
    assert_eq!(native, vec![Err(1267)]);
    assert_eq!(gateway, vec![Err(1105)]);
    assert_eq!(c, children(&["1:a", "2:A", "3:b", "4:B"]));
}

#[test]
fn a_parameter_outside_ascii_after_set_names_collate_takes_that_collation() {
    // unicode_ci: 'É' = 'é', so the parent 'a' goes with its child.
    let steps: [(&str, &[&str]); 1] = [("DELETE FROM p WHERE k = IF(? = 'é', 'a', 'x')", &["É"])];
    let (native, gateway, c) = run(&["SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci"], &steps, true);
    assert_eq!(native, vec![Ok(1)]);
    assert_eq!(gateway, native);
    assert_eq!(c, children(&["2:A", "3:b", "4:B"]));
}

/// A new key the gateway reads back to cascade was written as a binary string
/// when its column definition carried the BINARY flag, which a text of a `_bin`
/// collation carries too: under `SET NAMES utf8mb4 COLLATE utf8mb4_bin` a new key
/// 'é' cascaded into a latin1 child as the two characters 'Ã©' (an orphan).
#[test]
fn a_key_read_under_a_bin_collation_cascades_as_text() {
    let (codes, children) = crate::cascade_r13::differential(
        "CREATE TABLE p (id INT PRIMARY KEY, k VARCHAR(10) CHARACTER SET latin1 NOT NULL, UNIQUE KEY (k)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pk VARCHAR(10) CHARACTER SET latin1,
  FOREIGN KEY (pk) REFERENCES p (k) ON UPDATE CASCADE ON DELETE CASCADE) ENGINE=InnoDB;
INSERT INTO p VALUES (1, 'a'), (2, 'b');
INSERT INTO c VALUES (1, 'a'), (2, 'b');",
        &["p", "c"],
        &[
            "SET NAMES utf8mb4 COLLATE utf8mb4_bin",
            "UPDATE p SET k = 'é' WHERE k = 'a'",
            "UPDATE p SET k = CONCAT('ü', k) WHERE k = 'b'",
        ],
        "SELECT GROUP_CONCAT(id, ':', HEX(pk) ORDER BY id) FROM c",
    );
    assert_eq!(codes, vec![0; 3]);
    assert_eq!(children, vec![vec!["1:E9,2:FC62".to_string()]]);
}
