//! Review r14 A: keys InnoDB compares and cascades as it STORES them (a CHAR padded
//! with spaces, a BINARY(n) padded with 0x00, a NO PAD collation counting trailing
//! spaces), where SQL reads them otherwise. Each scenario runs natively and through
//! a managed gateway: the same error codes, rows affected and warnings per
//! statement, then the same key bytes (HEX) in every table.

use tether_testkit::{TestDb, TestEngine};

use crate::clash::same_outcome;
use crate::support::{direct, native_and_gateway, rows, start_one};

/// Runs `statements` natively and through a managed gateway on `schema`, each with
/// the same outcome, then `queries` (HEX of the keys) on both databases directly:
/// the native error codes, and the queries' native rows (equal to the gateway's).
fn same_keys_as_native(schema: &str, statements: &[&str], queries: &[&str]) -> (Vec<u16>, Vec<Vec<Vec<String>>>) {
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
            codes.push(same_outcome(&mut n, &mut g, [&native.name, &managed.name], sql, &context).await);
        }
        let mut m = direct(&managed).await;
        let mut found = Vec::new();
        for q in queries {
            let (a, b) = (rows(&mut n, q).await, rows(&mut m, q).await);
            assert_eq!(a, b, "{q}: native, then the gateway's database");
            found.push(a);
        }
        (codes, found)
    })
}

fn row(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

/// Finding 1: a CHAR parent is stored `'ab  '`; under NO PAD only the child
/// `'ab  '` references it, `'ab'` has no parent (1452), and the cascade deletes
/// the child `'ab  '`. The gateway leaves the FK to InnoDB.
#[test]
fn nopad_char_parent_varchar_child_is_left_to_innodb() {
    let schema = "
CREATE TABLE p (k char(4) COLLATE utf8mb4_nopad_bin PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE c (id int PRIMARY KEY, k varchar(4) COLLATE utf8mb4_nopad_bin,
  FOREIGN KEY (k) REFERENCES p(k) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p VALUES ('ab'), ('cd');
";
    let (codes, found) = same_keys_as_native(
        schema,
        &[
            "INSERT INTO c VALUES (1, 'ab')",
            "INSERT INTO c VALUES (2, 'ab  ')",
            "INSERT INTO c VALUES (3, 'cd  ')",
            "DELETE FROM p WHERE k = 'ab'",
            "UPDATE p SET k = 'x' WHERE k = 'cd'",
        ],
        &[
            "SELECT HEX(k) FROM p ORDER BY k",
            "SELECT id, HEX(k) FROM c ORDER BY id",
        ],
    );
    assert_eq!(codes, [1452, 0, 0, 0, 0]);
    assert_eq!(found[0], [row(&["78"])]);
    assert_eq!(found[1], [row(&["3", "78202020"])]);
}

/// Finding 2: a VARCHAR parent, a CHAR child stored `'ab  '`: under NO PAD the
/// child references the parent `'ab  '`, not `'ab'` (s15, s16, s14).
#[test]
fn nopad_varchar_parent_char_child_is_left_to_innodb() {
    let schema = "
CREATE TABLE p (k varchar(4) COLLATE utf8mb4_nopad_bin PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE c (id int PRIMARY KEY, k char(4) COLLATE utf8mb4_nopad_bin,
  FOREIGN KEY (k) REFERENCES p(k) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE pu (k varchar(4) COLLATE utf8mb4_nopad_bin PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE cu (id int PRIMARY KEY, k char(4) COLLATE utf8mb4_nopad_bin,
  FOREIGN KEY (k) REFERENCES pu(k) ON UPDATE CASCADE ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE pl (k varchar(4) CHARACTER SET latin1 COLLATE latin1_nopad_bin PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE cl (id int PRIMARY KEY, k char(4) CHARACTER SET latin1 COLLATE latin1_nopad_bin,
  FOREIGN KEY (k) REFERENCES pl(k) ON UPDATE CASCADE ON DELETE CASCADE) ENGINE=InnoDB;
INSERT INTO p VALUES ('ab'), ('ab  '), ('cd'), ('cd  ');
INSERT INTO pu VALUES ('ab'), ('ab  ');
INSERT INTO pl VALUES ('ab'), ('ab  ');
";
    let (codes, found) = same_keys_as_native(
        schema,
        &[
            "INSERT INTO c VALUES (1, 'ab'), (2, 'cd')",
            // s15: the child goes with the parent 'ab  '.
            "DELETE FROM p WHERE k = 'ab  '",
            // s16: the parent 'cd' has no child; 'cd  ' keeps its own.
            "DELETE FROM p WHERE k = 'cd'",
            // s14: the child follows 'ab  ', not 'ab'.
            "INSERT INTO cu VALUES (1, 'ab')",
            "INSERT INTO cl VALUES (1, 'ab')",
            "UPDATE pu SET k = 'x' WHERE k = 'ab'",
            "UPDATE pu SET k = 'y' WHERE k = 'ab  '",
            "UPDATE pl SET k = 'x' WHERE k = 'ab'",
            "UPDATE pl SET k = 'y' WHERE k = 'ab  '",
        ],
        &[
            "SELECT HEX(k) FROM p ORDER BY k",
            "SELECT id, HEX(k) FROM c ORDER BY id",
            "SELECT id, HEX(k) FROM cu ORDER BY id",
            "SELECT id, HEX(k) FROM cl ORDER BY id",
        ],
    );
    assert_eq!(codes, [0; 9]);
    assert_eq!(found[0], [row(&["6162"]), row(&["63642020"])]);
    assert_eq!(found[1], [row(&["2", "6364"])]);
    assert_eq!(found[2], [row(&["1", "79"])]);
    assert_eq!(found[3], [row(&["1", "79"])]);
}

/// Finding 3: a VARBINARY parent, a BINARY(4) child: InnoDB cannot pad a shorter
/// cascaded key into it (no pad byte) and refuses with 1451; nothing changes.
#[test]
fn binary_child_refuses_a_shorter_cascaded_key() {
    let schema = "
CREATE TABLE pv (k varbinary(8) PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE cv (id int PRIMARY KEY, k binary(4),
  FOREIGN KEY (k) REFERENCES pv(k) ON UPDATE CASCADE ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE pb (k binary(4) PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE cb (id int PRIMARY KEY, k varbinary(4),
  FOREIGN KEY (k) REFERENCES pb(k) ON UPDATE CASCADE ON DELETE CASCADE) ENGINE=InnoDB;
INSERT INTO pv VALUES (X'61000000'), (X'62000000');
INSERT INTO cv VALUES (1, X'61000000'), (2, X'62000000');
INSERT INTO pb VALUES ('a');
INSERT INTO cb VALUES (1, X'61000000');
";
    let (codes, found) = same_keys_as_native(
        schema,
        &[
            "UPDATE pv SET k = 'z' WHERE k = X'61000000'",
            "UPDATE pv SET k = 'zzzzz' WHERE k = X'61000000'",
            "UPDATE pv SET k = 'wxyz' WHERE k = X'62000000'",
            "DELETE FROM pv WHERE k = 'z'",
            // A BINARY(4) parent stores 'c' as 63000000, which is what cascades.
            "UPDATE pb SET k = 'c' WHERE k = X'61000000'",
            "DELETE FROM pv",
        ],
        &[
            "SELECT HEX(k) FROM pv ORDER BY k",
            "SELECT id, HEX(k) FROM cv ORDER BY id",
            "SELECT id, HEX(cb.k), HEX(pb.k) FROM cb LEFT JOIN pb ON pb.k = cb.k ORDER BY id",
        ],
    );
    assert_eq!(codes, [1451, 1451, 0, 0, 0, 0]);
    assert!(found[0].is_empty() && found[1].is_empty());
    assert_eq!(found[2], [row(&["1", "63000000", "63000000"])]);
}

/// Finding 4: a CHAR parent is stored padded, and InnoDB cascades it so: a
/// VARCHAR child gets `'q   '` (latin1: to 4 characters; utf8mb4: to 5 bytes,
/// `'é'` with three spaces), and a child too short for the padded key refuses 1451.
#[test]
fn char_parent_cascades_its_padded_key() {
    let schema = "
CREATE TABLE pc (k char(4) CHARACTER SET latin1 PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE cc (id int PRIMARY KEY, k varchar(8) CHARACTER SET latin1,
  FOREIGN KEY (k) REFERENCES pc(k) ON UPDATE CASCADE ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE pu (k char(5) CHARACTER SET utf8mb4 PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE cu (id int PRIMARY KEY, k varchar(10) CHARACTER SET utf8mb4,
  FOREIGN KEY (k) REFERENCES pu(k) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE ps (k char(4) CHARACTER SET utf8mb4 PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE cs (id int PRIMARY KEY, k varchar(3) CHARACTER SET utf8mb4,
  FOREIGN KEY (k) REFERENCES ps(k) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE pn (k char(4) CHARACTER SET latin1 PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE cn (id int PRIMARY KEY, k char(2) CHARACTER SET latin1,
  FOREIGN KEY (k) REFERENCES pn(k) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO pc VALUES ('ab'), ('cd');
INSERT INTO cc VALUES (1, 'ab'), (2, 'AB  '), (3, 'cd');
INSERT INTO pu VALUES ('ab'), ('cd');
INSERT INTO cu VALUES (1, 'ab'), (2, 'cd');
INSERT INTO ps VALUES ('ab');
INSERT INTO cs VALUES (1, 'ab');
INSERT INTO pn VALUES ('ab');
INSERT INTO cn VALUES (1, 'ab');
";
    let (codes, found) = same_keys_as_native(
        schema,
        &[
            "UPDATE pc SET k = 'q' WHERE k = 'ab'",
            "UPDATE pc SET k = 'wxyz' WHERE k = 'cd'",
            "UPDATE pu SET k = 'é' WHERE k = 'ab'",
            "UPDATE pu SET k = 'ééé' WHERE k = 'cd'",
            "UPDATE ps SET k = 'q' WHERE k = 'ab'",
            "UPDATE pn SET k = 'q' WHERE k = 'ab'",
        ],
        &[
            "SELECT id, HEX(k) FROM cc ORDER BY id",
            "SELECT id, HEX(k) FROM cu ORDER BY id",
            "SELECT id, HEX(k) FROM cs ORDER BY id",
            "SELECT id, HEX(k) FROM cn ORDER BY id",
        ],
    );
    assert_eq!(codes, [0, 0, 0, 0, 1451, 1451]);
    assert_eq!(
        found[0],
        [
            row(&["1", "71202020"]),
            row(&["2", "71202020"]),
            row(&["3", "7778797A"])
        ]
    );
    assert_eq!(found[1], [row(&["1", "C3A9202020"]), row(&["2", "C3A9C3A9C3A9"])]);
    assert_eq!(found[2], [row(&["1", "6162"])]);
    assert_eq!(found[3], [row(&["1", "6162"])]);
}

/// PAD SPACE keys of another type or length still run as plans (their cascades
/// reach the binlog as statements, the CHAR key padded): only NO PAD over a CHAR
/// paired with another type is left to InnoDB, and EXPLAIN FK names its FK.
#[test]
fn explain_names_the_fk_left_to_innodb() {
    let schema = "
CREATE TABLE p (k char(4) COLLATE utf8mb4_nopad_bin PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE c (id int PRIMARY KEY, k varchar(4) COLLATE utf8mb4_nopad_bin,
  CONSTRAINT c_p FOREIGN KEY (k) REFERENCES p(k) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE pc (k char(4) PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE cc (id int PRIMARY KEY, k varchar(8),
  CONSTRAINT cc_pc FOREIGN KEY (k) REFERENCES pc(k) ON UPDATE CASCADE) ENGINE=InnoDB;
";
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(schema);
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let explain = |r: Vec<Vec<String>>| r.into_iter().flatten().collect::<Vec<_>>().join("\n");
        let left = explain(rows(&mut g, "EXPLAIN FK DELETE FROM p WHERE k = 'ab'").await);
        assert!(
            left.starts_with("runs as InnoDB runs it: FK `c_p` pairs `c`.`k` (varchar(4)) with `p`.`k` (char(4))"),
            "{left}"
        );
        let planned = explain(rows(&mut g, "EXPLAIN FK UPDATE pc SET k = 'q' WHERE k = 'ab'").await);
        assert!(!planned.contains("runs as InnoDB runs it"), "{planned}");
        assert!(
            planned.contains("keys as InnoDB stores them: `k` gets the key padded with spaces to 4"),
            "{planned}"
        );
    });
}

/// What stays a plan: NO PAD CHAR keys of one length on both sides (stored alike),
/// a CHAR(4) parent of a CHAR(8) child, and a padded key cascading on from a
/// VARCHAR child to its own VARCHAR child (InnoDB cascades the child's stored
/// `'q   '` again).
#[test]
fn char_keys_of_one_form_and_padded_chains_match_native() {
    let schema = "
CREATE TABLE p (k char(4) COLLATE utf8mb4_nopad_bin PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE c (id int PRIMARY KEY, k char(4) COLLATE utf8mb4_nopad_bin,
  FOREIGN KEY (k) REFERENCES p(k) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE pw (k char(4) PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE cw (id int PRIMARY KEY, k char(8),
  FOREIGN KEY (k) REFERENCES pw(k) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE g0 (k char(4) PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE g1 (id int PRIMARY KEY, k varchar(8), UNIQUE KEY (k),
  FOREIGN KEY (k) REFERENCES g0(k) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE g2 (id int PRIMARY KEY, k varchar(8),
  FOREIGN KEY (k) REFERENCES g1(k) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p VALUES ('ab'), ('cd');
INSERT INTO pw VALUES ('ab');
INSERT INTO g0 VALUES ('ab');
";
    let (codes, found) = same_keys_as_native(
        schema,
        &[
            "INSERT INTO c VALUES (1, 'ab'), (2, 'cd  ')",
            "UPDATE p SET k = 'x' WHERE k = 'ab'",
            "DELETE FROM p WHERE k = 'cd'",
            "INSERT INTO cw VALUES (1, 'ab')",
            "UPDATE pw SET k = 'q' WHERE k = 'ab'",
            "INSERT INTO g1 VALUES (1, 'ab')",
            "INSERT INTO g2 VALUES (1, 'ab')",
            "UPDATE g0 SET k = 'q' WHERE k = 'ab'",
        ],
        &[
            "SELECT id, HEX(k) FROM c ORDER BY id",
            "SELECT id, HEX(k) FROM cw ORDER BY id",
            "SELECT id, HEX(k) FROM g1 ORDER BY id",
            "SELECT id, HEX(k) FROM g2 ORDER BY id",
        ],
    );
    assert_eq!(codes, [0; 8]);
    assert_eq!(found[0], [row(&["1", "78"])]);
    assert_eq!(found[1], [row(&["1", "71"])]);
    assert_eq!(found[2], [row(&["1", "71202020"])]);
    assert_eq!(found[3], [row(&["1", "71202020"])]);
}

/// The other write forms over a NO PAD CHAR parent of a VARCHAR child run as
/// InnoDB runs them too: a multi-row ON DUPLICATE KEY UPDATE (row by row), a
/// REPLACE, an INSERT ... SELECT and a multi-table DELETE.
#[test]
fn nopad_char_keys_in_other_write_forms_match_native() {
    let schema = "
CREATE TABLE p (k char(4) COLLATE utf8mb4_nopad_bin PRIMARY KEY, n int) ENGINE=InnoDB;
CREATE TABLE c (id int PRIMARY KEY, k varchar(4) COLLATE utf8mb4_nopad_bin,
  FOREIGN KEY (k) REFERENCES p(k) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE src (id int PRIMARY KEY, k varchar(4) COLLATE utf8mb4_nopad_bin) ENGINE=InnoDB;
INSERT INTO p VALUES ('ab', 1), ('cd', 2), ('ef', 3);
INSERT INTO c VALUES (1, 'ab  '), (2, 'cd  '), (3, 'ef  ');
INSERT INTO src VALUES (10, 'ef'), (11, 'ef  ');
";
    let (codes, found) = same_keys_as_native(
        schema,
        &[
            "INSERT INTO p VALUES ('ab', 0), ('gh', 0) ON DUPLICATE KEY UPDATE k = 'y'",
            "REPLACE INTO p VALUES ('cd', 9)",
            "INSERT INTO c SELECT id, k FROM src WHERE id = 10",
            "INSERT INTO c SELECT id, k FROM src WHERE id = 11",
            "DELETE p FROM p JOIN src ON src.id = 11 WHERE p.k = 'ef'",
        ],
        &[
            "SELECT HEX(k), n FROM p ORDER BY k",
            "SELECT id, HEX(k) FROM c ORDER BY id",
        ],
    );
    assert_eq!(codes, [0, 0, 1452, 0, 0]);
    assert_eq!(found[1], [row(&["1", "79202020"])]);
}
