//! Twenty-first session writer 1b (review r22j F1-F5): an ON DUPLICATE KEY UPDATE
//! stores, checks and cascades what MariaDB stores, for every column type. Where no
//! SQL expression gives the stored value of `VALUES(col)` (a YEAR: 5 is 2005; a
//! FLOAT / DOUBLE: 2.5 into a BIGINT is 2; a utf8mb3 / latin1 column: a character
//! it cannot hold is '?'), InnoDB checks the row's parent (the statement runs
//! natively, or a native run decides first when the plan cascades a key); a key
//! other tables reference is not re-keyed from such a value (1105, naming the
//! column). A NULL a multi-row upsert assigns to a NOT NULL ENUM stores its first
//! member, to a NOT NULL TIMESTAMP the current time. Each scenario runs natively
//! (InnoDB FKs) and through a managed gateway: the same codes, rows affected,
//! warnings and info per statement, then the same rows.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_testkit::{TestDb, TestEngine};

use crate::values_r14::{same_values_as_native, table, Step};

const TYPED_SOURCES: &str = "
CREATE TABLE p (id BIGINT PRIMARY KEY) ENGINE=InnoDB;
INSERT INTO p VALUES (1), (3), (5), (70), (0), (2069);
CREATE TABLE cy (id INT PRIMARY KEY, k BIGINT, src YEAR,
  CONSTRAINT cyk FOREIGN KEY (k) REFERENCES p (id)) ENGINE=InnoDB;
CREATE TABLE cd (id INT PRIMARY KEY, k BIGINT, src DOUBLE,
  CONSTRAINT cdk FOREIGN KEY (k) REFERENCES p (id)) ENGINE=InnoDB;
CREATE TABLE cf (id INT PRIMARY KEY, k BIGINT, src FLOAT,
  CONSTRAINT cfk FOREIGN KEY (k) REFERENCES p (id)) ENGINE=InnoDB;
CREATE TABLE m (id INT PRIMARY KEY, k BIGINT, src YEAR,
  CONSTRAINT mk FOREIGN KEY (k) REFERENCES p (id)) ENGINE=InnoDB;
CREATE TABLE mc (id INT PRIMARY KEY, m_id INT,
  CONSTRAINT mcm FOREIGN KEY (m_id) REFERENCES m (id) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO cy VALUES (1, 1, 2000);
INSERT INTO cd VALUES (1, 1, 0), (2, 1, 0);
INSERT INTO cf VALUES (1, 1, 0);
INSERT INTO m VALUES (1, 1, 2000);
INSERT INTO mc VALUES (10, 1);
";

const TYPED_ROWS: [&str; 5] = [
    "SELECT id, k, src FROM cy ORDER BY id",
    "SELECT id, k, src FROM cd ORDER BY id",
    "SELECT id, k, src FROM cf ORDER BY id",
    "SELECT id, k, src FROM m ORDER BY id",
    "SELECT id, m_id FROM mc ORDER BY id",
];

/// F1/F2: `VALUES(src)` of a YEAR is the year stored (5 is 2005, '70' 1970, '0'
/// 2000: no parent, 1452; 69 is 2069: a parent), of a DOUBLE / FLOAT the number
/// stored, rounded into the BIGINT half to even (2.5 is 2: no parent; 2.9 is 3).
/// The gateway checked 5, 70, 0 and 3 and let orphans through. With a key cascaded
/// in the same update (`id = 7`), the native run decides first (1452; then 2069
/// with the child following to 7). One row and several, text and binary protocol.
#[test]
fn values_of_a_year_or_floating_column_is_checked_as_stored() {
    let (codes, found) = same_values_as_native(
        TYPED_SOURCES,
        &[
            Step::Text("INSERT INTO cy VALUES (1, 1, 5) ON DUPLICATE KEY UPDATE k = VALUES(src)"),
            Step::Text("INSERT INTO cy VALUES (1, 1, '70') ON DUPLICATE KEY UPDATE k = VALUES(src)"),
            Step::Text("INSERT INTO cy VALUES (1, 1, '0') ON DUPLICATE KEY UPDATE k = VALUES(src)"),
            Step::Prepared(
                "INSERT INTO cy VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE k = VALUES(src)",
                vec![1.into(), 1.into(), 5.into()],
            ),
            Step::Text("INSERT INTO cy VALUES (1, 1, 69) ON DUPLICATE KEY UPDATE k = VALUES(src)"),
            Step::Text("INSERT INTO cd VALUES (1, 1, 2.5) ON DUPLICATE KEY UPDATE k = VALUES(src)"),
            Step::Text("INSERT INTO cd VALUES (1, 1, 2.9) ON DUPLICATE KEY UPDATE k = VALUES(src)"),
            Step::Text("INSERT INTO cd VALUES (1, 1, 2.5), (2, 1, 0) ON DUPLICATE KEY UPDATE k = VALUES(src)"),
            Step::Text("INSERT INTO cd VALUES (2, 1, 0), (1, 1, 4.4) ON DUPLICATE KEY UPDATE k = VALUES(src) + 1"),
            Step::Text("INSERT INTO cf VALUES (1, 1, 2.5) ON DUPLICATE KEY UPDATE k = VALUES(src)"),
            Step::Text("INSERT INTO m VALUES (1, 1, 5) ON DUPLICATE KEY UPDATE id = 7, k = VALUES(src)"),
            Step::Text("INSERT INTO m VALUES (1, 1, 69) ON DUPLICATE KEY UPDATE id = 7, k = VALUES(src)"),
        ],
        &TYPED_ROWS,
    );
    assert_eq!(codes, [1452, 1452, 1452, 1452, 0, 1452, 0, 1452, 0, 1452, 1452, 0]);
    assert_eq!(found[0], table(&[&["1", "2069", "2000"]]));
    assert_eq!(found[1], table(&[&["1", "5", "0"], &["2", "1", "0"]]));
    assert_eq!(found[2], table(&[&["1", "1", "0"]]));
    assert_eq!(found[3], table(&[&["7", "2069", "2000"]]));
    assert_eq!(found[4], table(&[&["10", "7"]]));
}

const CHARSETS: &str = "
CREATE TABLE ps (k VARCHAR(20) PRIMARY KEY) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO ps VALUES ('a'), ('ab😀cd'), ('xé?');
CREATE TABLE c2 (id INT PRIMARY KEY, k VARCHAR(20), src VARCHAR(10) CHARACTER SET utf8mb3,
  CONSTRAINT c2k FOREIGN KEY (k) REFERENCES ps (k)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE c3 (id INT PRIMARY KEY, k VARCHAR(20), src VARCHAR(10) CHARACTER SET latin1,
  CONSTRAINT c3k FOREIGN KEY (k) REFERENCES ps (k)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO c2 VALUES (1, 'a', 'a'), (2, 'a', 'a');
INSERT INTO c3 VALUES (1, 'a', 'a');
";

/// F3 (outside strict mode): a utf8mb3 or latin1 column stores a character it
/// cannot hold as '?' (warning 1366), so `VALUES(src)` of 'ab😀cd' is 'ab?cd', which
/// has no parent (1452; the gateway checked 'ab😀cd' and let the orphan through);
/// 'xé😀' into latin1 is 'xé?', which has one. Strict mode: 1366.
#[test]
fn values_of_a_column_of_another_character_set_is_checked_as_stored() {
    let (codes, found) = same_values_as_native(
        CHARSETS,
        &[
            Step::Text("SET sql_mode = ''"),
            Step::Text("INSERT INTO c2 VALUES (1, 'a', 'ab😀cd') ON DUPLICATE KEY UPDATE k = VALUES(src)"),
            Step::Text("INSERT INTO c3 VALUES (1, 'a', 'ab😀cd') ON DUPLICATE KEY UPDATE k = VALUES(src)"),
            Step::Text("INSERT INTO c3 VALUES (1, 'a', 'xé😀') ON DUPLICATE KEY UPDATE k = VALUES(src)"),
            Step::Text(
                "INSERT INTO c2 VALUES (1, 'a', 'ab😀cd'), (2, 'a', 'a') ON DUPLICATE KEY UPDATE k = VALUES(src)",
            ),
            Step::Text("SET sql_mode = 'STRICT_TRANS_TABLES'"),
            Step::Text("INSERT INTO c2 VALUES (2, 'a', 'ab😀cd') ON DUPLICATE KEY UPDATE k = VALUES(src)"),
        ],
        &[
            "SELECT id, k, src FROM c2 ORDER BY id",
            "SELECT id, k, src FROM c3 ORDER BY id",
        ],
    );
    assert_eq!(codes, [0, 1452, 1452, 0, 1452, 0, 1366]);
    assert_eq!(found[0], table(&[&["1", "a", "a"], &["2", "a", "a"]]));
    assert_eq!(found[1], table(&[&["1", "xé?", "a"]]));
}

const NULL_DEFAULTS: &str = "
CREATE TABLE pe (id INT PRIMARY KEY, k ENUM('x','a','b') NOT NULL DEFAULT 'b', UNIQUE KEY (k)) ENGINE=InnoDB;
CREATE TABLE ce (id INT PRIMARY KEY, k ENUM('x','a','b'),
  CONSTRAINT cek FOREIGN KEY (k) REFERENCES pe (k) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE pq (id INT PRIMARY KEY, k ENUM('it''s','b') NOT NULL, UNIQUE KEY (k)) ENGINE=InnoDB;
CREATE TABLE cq (id INT PRIMARY KEY, k ENUM('it''s','b'),
  CONSTRAINT cqk FOREIGN KEY (k) REFERENCES pq (k) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE pt (id INT PRIMARY KEY, t TIMESTAMP NOT NULL DEFAULT '2001-01-01 00:00:00', UNIQUE KEY (t)) ENGINE=InnoDB;
CREATE TABLE ct (id INT PRIMARY KEY, t TIMESTAMP NULL,
  CONSTRAINT ctt FOREIGN KEY (t) REFERENCES pt (t) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO pe VALUES (1, 'a'), (2, 'b');
INSERT INTO ce VALUES (1, 'a');
INSERT INTO pq VALUES (1, 'b');
INSERT INTO cq VALUES (1, 'b');
INSERT INTO pt VALUES (1, '2001-01-02 00:00:00'), (2, '2001-01-03 00:00:00');
INSERT INTO ct VALUES (1, '2001-01-02 00:00:00');
";

/// F4/F5 (outside strict mode): a multi-row upsert's `k = NULL` into an ENUM NOT
/// NULL stores its first member ('x', whatever the DEFAULT; `'it''s'`), which
/// the child follows, and the second row then clashes with it and is not inserted
/// (the gateway stored '' and inserted it); into a TIMESTAMP NOT NULL it stores the
/// current time, which the child follows (the gateway stored a zero date).
#[test]
fn a_null_into_a_not_null_enum_or_timestamp_stores_what_mariadb_stores() {
    let (codes, found) = same_values_as_native(
        NULL_DEFAULTS,
        &[
            Step::Text("SET sql_mode = ''"),
            Step::Text("INSERT INTO pe VALUES (1, 'b'), (3, 'x') ON DUPLICATE KEY UPDATE k = NULL"),
            Step::Text("INSERT INTO pq VALUES (1, 'b'), (3, 'b') ON DUPLICATE KEY UPDATE k = NULL"),
            Step::Text(
                "INSERT INTO pt VALUES (1, '2005-01-01 00:00:00'), (3, '2006-01-01 00:00:00') \
                 ON DUPLICATE KEY UPDATE t = NULL",
            ),
        ],
        &[
            "SELECT id, k, k + 0 FROM pe ORDER BY id",
            "SELECT id, k, k + 0 FROM ce ORDER BY id",
            "SELECT id, k FROM pq ORDER BY id",
            "SELECT id, k FROM cq ORDER BY id",
            "SELECT id, t > '2020-01-01' FROM pt ORDER BY id",
            "SELECT id, t > '2020-01-01' FROM ct ORDER BY id",
        ],
    );
    assert_eq!(codes, [0, 0, 0, 0]);
    assert_eq!(found[0], table(&[&["1", "x", "1"], &["2", "b", "3"]]));
    assert_eq!(found[1], table(&[&["1", "x", "1"]]));
    assert_eq!(found[2], table(&[&["1", "it's"], &["3", "b"]]));
    assert_eq!(found[3], table(&[&["1", "it's"]]));
    assert_eq!(found[4], table(&[&["1", "1"], &["2", "0"], &["3", "0"]]));
    assert_eq!(found[5], table(&[&["1", "1"]]));
}

const REKEYED: &str = "
CREATE TABLE rp (id BIGINT PRIMARY KEY, src YEAR, d DOUBLE, e ENUM('a','b'), v VARCHAR(5)) ENGINE=InnoDB;
CREATE TABLE rc (id INT PRIMARY KEY, p BIGINT,
  CONSTRAINT rcp FOREIGN KEY (p) REFERENCES rp (id) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO rp VALUES (1, 2000, 0, 'a', 'a');
INSERT INTO rc VALUES (1, 1);
CREATE TABLE lp (k VARCHAR(5) PRIMARY KEY, v VARCHAR(5)) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE lc (id INT PRIMARY KEY, k VARCHAR(5),
  CONSTRAINT lck FOREIGN KEY (k) REFERENCES lp (k) ON UPDATE CASCADE) ENGINE=InnoDB DEFAULT CHARSET=latin1;
INSERT INTO lp VALUES ('a', 'a');
INSERT INTO lc VALUES (1, 'a');
";

/// A key other tables reference is not re-keyed from `VALUES(col)` of a column
/// whose stored value the gateway does not compute (a YEAR, a DOUBLE, an ENUM,
/// also through a column assigned before it, a latin1 column given a character it
/// cannot hold): the gateway answers 1105 naming the column and its type, and
/// changes nothing. A value it computes exactly (a year of four digits, an integer
/// DOUBLE, 'é' in latin1) is planned and cascaded as before.
#[test]
fn a_referenced_key_is_not_rekeyed_from_a_value_the_gateway_cannot_compute() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(REKEYED);
    let gw = crate::support::start_one(&db, "managed");
    gw.block_on(async {
        let mut g = Conn::new(gw.opts("ks")).await.expect("connects to the gateway");
        for (sql, named) in [
            (
                "INSERT INTO rp VALUES (1, 5, 0, 'a', 'a') ON DUPLICATE KEY UPDATE id = VALUES(src)",
                "`VALUES(src)` of a year(4) column",
            ),
            (
                "INSERT INTO rp VALUES (1, 2000, 2.5, 'a', 'a') ON DUPLICATE KEY UPDATE id = VALUES(d) * 2",
                "`VALUES(d)` of a double column",
            ),
            (
                "INSERT INTO rp VALUES (1, 2000, 0, 'b', 'a') ON DUPLICATE KEY UPDATE v = VALUES(e), id = LENGTH(v)",
                "`VALUES(e)` of a enum('a','b') column",
            ),
        ] {
            let err = g.query_drop(sql).await.expect_err(sql);
            let mysql_async::Error::Server(e) = err else {
                panic!("{sql}: {err}")
            };
            assert_eq!(e.code, 1105, "{sql}: {}", e.message);
            assert!(
                e.message.contains(named) && e.message.contains("`id`, a key other tables reference"),
                "{sql}: {}",
                e.message
            );
        }
        g.query_drop("INSERT INTO rp VALUES (1, 2005, 0, 'a', 'a') ON DUPLICATE KEY UPDATE id = VALUES(src)")
            .await
            .expect("a year of four digits is exact");
        g.query_drop("INSERT INTO rp VALUES (2005, 2000, 7, 'a', 'a') ON DUPLICATE KEY UPDATE id = VALUES(d)")
            .await
            .expect("an integer DOUBLE is exact");
        let rows = crate::support::rows(&mut g, "SELECT rp.id, rc.id FROM rp JOIN rc ON rc.p = rp.id").await;
        assert_eq!(rows, table(&[&["7", "1"]]));
        // A latin1 column holds 'é': `VALUES(v)` of it is exact, and cascaded.
        g.query_drop("INSERT INTO lp VALUES ('a', 'é') ON DUPLICATE KEY UPDATE k = VALUES(v)")
            .await
            .expect("a literal a latin1 column holds is exact");
        let err = g
            .query_drop("INSERT INTO lp VALUES ('é', 'ab😀') ON DUPLICATE KEY UPDATE k = VALUES(v)")
            .await
            .expect_err("a character latin1 cannot hold");
        let mysql_async::Error::Server(e) = err else {
            panic!("{err}")
        };
        assert_eq!(e.code, 1105, "{}", e.message);
        assert!(
            e.message.contains("`VALUES(v)` of a varchar(5) column"),
            "{}",
            e.message
        );
        let rows = crate::support::rows(&mut g, "SELECT lp.k, lc.id FROM lp JOIN lc ON lc.k = lp.k").await;
        assert_eq!(rows, table(&[&["é", "1"]]));
        // A number is ASCII in any character set: planned and cascaded (review r22n F4).
        g.query_drop("INSERT INTO lp VALUES ('é', 42) ON DUPLICATE KEY UPDATE k = VALUES(v)")
            .await
            .expect("a number is exact in latin1");
        let rows = crate::support::rows(&mut g, "SELECT lp.k, lc.id FROM lp JOIN lc ON lc.k = lp.k").await;
        assert_eq!(rows, table(&[&["42", "1"]]));
    });
}
