//! Sixteenth session (review R): binlog completeness of the managed gateway.
//! Each case builds its schema in a managed database (with FKs and triggers) and
//! in a replica database (same tables, no FKs, no triggers) on a private binlog
//! MariaDB, runs statements through the gateway, applies the binlog written after
//! the setup to the replica and compares: every child change must be in the
//! binlog as a row event of its own.
//!
//! R1: `REPLACE ... SELECT` into a parent whose PRIMARY / UNIQUE key is a string
//! (or a DATE, DECIMAL, VARBINARY): the rows the gateway materializes are written
//! `_utf8mb4 X'..'`, which the clash finder must read; a row it cannot read is
//! refused before anything is written. R2/R3: a statement the gateway runs natively
//! first under a savepoint that writes a MyISAM / Aria table is refused before it
//! runs (the rollback would not undo that write).

use mysql_async::prelude::Queryable;

use crate::support::{binlog_files, binlog_server, decode_binlog, replay_binlog, rows, start};

/// What a statement gave the client: rows affected, or (code, message).
type Outcome = Result<u64, (u16, String)>;

/// Each dumped table's rows, as text.
type Tables = Vec<Vec<Vec<String>>>;

/// Runs `statements` through a managed keyspace over `tables` + `data` (+ `fks`,
/// managed side only) and replays the binlog on the FK-free replica: the
/// outcomes, then each of `dump` as the managed backend and the replica have it.
fn run_case(tables: &str, fks: &str, data: &str, statements: &[&str], dump: &[&str]) -> (Vec<Outcome>, Tables, Tables) {
    let server = binlog_server().unwrap_or_else(|why| panic!("the private MariaDB: {why}"));
    let admin = server.url("");
    tether_testkit::block_on(async {
        let mut c = server.login().await;
        for (db, extra) in [("managed_db", fks), ("replica_db", "")] {
            c.query_drop(format!("CREATE DATABASE {db}")).await.expect("create");
            c.query_drop(format!("USE {db}")).await.expect("use");
            c.query_drop(tables).await.expect("tables");
            if !extra.is_empty() {
                c.query_drop(extra).await.expect("fks");
            }
            c.query_drop(data).await.expect("data");
        }
        c.query_drop("FLUSH BINARY LOGS").await.expect("flush");
        let _ = c.disconnect().await;
    });
    let last = binlog_files(&server.dir, None).pop().expect("a binlog after the flush");
    let first = last.file_name().and_then(|n| n.to_str()).map(str::to_string);
    let gw = start(&[("ks", "managed", &format!("{admin}managed_db"))]);
    let mut outcomes = Vec::new();
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        for sql in statements {
            outcomes.push(match g.query_drop(*sql).await {
                Ok(()) => Ok(g.affected_rows()),
                Err(mysql_async::Error::Server(e)) => Err((e.code, e.message)),
                Err(e) => panic!("{sql}: {e}"),
            });
        }
    });
    drop(gw);
    let files = binlog_files(&server.dir, first.as_deref());
    let decoded = decode_binlog(&["--rewrite-db=managed_db->replica_db".into()], &files);
    replay_binlog(server.port, "replica_db", &decoded, false);
    let (managed, replica) = tether_testkit::block_on(async {
        let mut c = server.login().await;
        let mut out = (Vec::new(), Vec::new());
        for t in dump {
            out.0
                .push(rows(&mut c, &format!("SELECT * FROM managed_db.{t} ORDER BY 1")).await);
            out.1
                .push(rows(&mut c, &format!("SELECT * FROM replica_db.{t} ORDER BY 1")).await);
        }
        let _ = c.disconnect().await;
        out
    });
    (outcomes, managed, replica)
}

fn table(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter().map(|r| r.iter().map(|v| v.to_string()).collect()).collect()
}

const R1_TABLES: &str = "
CREATE TABLE p (code VARCHAR(5) PRIMARY KEY, n INT) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pcode VARCHAR(5)) ENGINE=InnoDB;
CREATE TABLE src (id INT PRIMARY KEY, code VARCHAR(5)) ENGINE=InnoDB;
CREATE TABLE pu (id INT PRIMARY KEY, u VARCHAR(5), UNIQUE KEY pu_u (u)) ENGINE=InnoDB;
CREATE TABLE cu (id INT PRIMARY KEY, pu VARCHAR(5)) ENGINE=InnoDB;
CREATE TABLE srcu (id INT PRIMARY KEY, pid INT, u VARCHAR(5)) ENGINE=InnoDB;
CREATE TABLE pd (d DATE PRIMARY KEY, n INT) ENGINE=InnoDB;
CREATE TABLE cd (id INT PRIMARY KEY, d DATE) ENGINE=InnoDB;
CREATE TABLE pk (k DECIMAL(6,2) PRIMARY KEY, n INT) ENGINE=InnoDB;
CREATE TABLE ck (id INT PRIMARY KEY, k DECIMAL(6,2)) ENGINE=InnoDB;
CREATE TABLE pb (b VARBINARY(4) PRIMARY KEY, n INT) ENGINE=InnoDB;
CREATE TABLE cb (id INT PRIMARY KEY, b VARBINARY(4)) ENGINE=InnoDB;
CREATE TABLE pt (dt DATETIME(2) PRIMARY KEY, n INT) ENGINE=InnoDB;
CREATE TABLE ct (id INT PRIMARY KEY, dt DATETIME(2)) ENGINE=InnoDB;
";

const R1_FKS: &str = "
ALTER TABLE c ADD CONSTRAINT c_p FOREIGN KEY (pcode) REFERENCES p (code) ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE cu ADD CONSTRAINT cu_pu FOREIGN KEY (pu) REFERENCES pu (u) ON DELETE SET NULL;
ALTER TABLE cd ADD CONSTRAINT cd_pd FOREIGN KEY (d) REFERENCES pd (d) ON DELETE CASCADE;
ALTER TABLE ck ADD CONSTRAINT ck_pk FOREIGN KEY (k) REFERENCES pk (k) ON DELETE CASCADE;
ALTER TABLE cb ADD CONSTRAINT cb_pb FOREIGN KEY (b) REFERENCES pb (b) ON DELETE CASCADE;
ALTER TABLE ct ADD CONSTRAINT ct_pt FOREIGN KEY (dt) REFERENCES pt (dt) ON DELETE CASCADE;
";

const R1_DATA: &str = "
INSERT INTO p VALUES ('a', 1), ('b', 2), ('c', 3);
INSERT INTO c VALUES (1, 'a'), (2, 'b'), (3, 'c');
INSERT INTO src VALUES (1, 'a');
INSERT INTO pu VALUES (1, 'x'), (2, 'y');
INSERT INTO cu VALUES (1, 'x'), (2, 'y');
INSERT INTO srcu VALUES (1, 5, 'y');
INSERT INTO pd VALUES ('2024-02-29', 1), ('2024-03-01', 2);
INSERT INTO cd VALUES (1, '2024-02-29'), (2, '2024-03-01');
INSERT INTO pk VALUES (1.50, 1), (2.25, 2);
INSERT INTO ck VALUES (1, 1.50), (2, 2.25);
INSERT INTO pb VALUES (X'0102', 1), (X'0304', 2);
INSERT INTO cb VALUES (1, X'0102'), (2, X'0304');
INSERT INTO pt VALUES ('2024-01-01 10:00:00.25', 1), ('2024-01-02 10:00:00', 2);
INSERT INTO ct VALUES (1, '2024-01-01 10:00:00.25'), (2, '2024-01-02 10:00:00');
";

/// R1: each REPLACE ... SELECT clashes with one parent row on a string (DATE,
/// DECIMAL, VARBINARY, DATETIME) key: the child's cascade or SET NULL is in the
/// binlog, so the FK-free replica ends as the managed database does.
#[test]
fn replace_select_on_string_keys_puts_child_changes_in_the_binlog() {
    let (outcomes, managed, replica) = run_case(
        R1_TABLES,
        R1_FKS,
        R1_DATA,
        &[
            "REPLACE INTO p SELECT code, 9 FROM src",
            "REPLACE INTO pu (id, u) SELECT pid, u FROM srcu",
            "REPLACE INTO pd SELECT '2024-02-29', 7",
            "REPLACE INTO pk SELECT 1.5, 7",
            "REPLACE INTO pb SELECT X'0102', 7",
            "REPLACE INTO pt SELECT '2024-01-01 10:00:00.25', 7",
        ],
        &["p", "c", "pu", "cu", "pd", "cd", "pk", "ck", "pb", "cb", "pt", "ct"],
    );
    assert_eq!(outcomes, vec![Ok(2), Ok(2), Ok(2), Ok(2), Ok(2), Ok(2)]);
    assert_eq!(managed[1], table(&[&["2", "b"], &["3", "c"]]));
    assert_eq!(managed[3], table(&[&["1", "x"], &["2", "NULL"]]));
    assert_eq!(managed[5], table(&[&["2", "2024-03-01"]]));
    assert_eq!(managed[7], table(&[&["2", "2.25"]]));
    assert_eq!(managed[9].len(), 1);
    assert_eq!(managed[11], table(&[&["2", "2024-01-02 10:00:00.00"]]));
    assert_eq!(
        managed, replica,
        "the FK-free replica differs from the managed database"
    );
}

/// R1, the rest of the class: a row whose key the planner cannot compare as the
/// unique index does (a TIME key) is refused before anything is written, not
/// handed to InnoDB with its cascade pending.
#[test]
fn replace_select_on_a_key_the_planner_cannot_read_is_refused_before_writing() {
    let (outcomes, managed, replica) = run_case(
        "CREATE TABLE p (t TIME PRIMARY KEY, n INT) ENGINE=InnoDB;
         CREATE TABLE c (id INT PRIMARY KEY, t TIME) ENGINE=InnoDB;",
        "ALTER TABLE c ADD CONSTRAINT c_p FOREIGN KEY (t) REFERENCES p (t) ON DELETE CASCADE;",
        "INSERT INTO p VALUES ('10:00:00', 1), ('11:00:00', 2);
         INSERT INTO c VALUES (1, '10:00:00'), (2, '11:00:00');",
        &["REPLACE INTO p SELECT '10:00:00', 7"],
        &["p", "c"],
    );
    let Err((code, message)) = &outcomes[0] else {
        panic!("refused: {outcomes:?}");
    };
    assert_eq!(*code, 1105, "{message}");
    assert!(
        message.contains("`p`") && message.contains("`c_p`") && message.contains("`c`"),
        "{message}"
    );
    assert_eq!(managed[0], table(&[&["10:00:00", "1"], &["11:00:00", "2"]]));
    assert_eq!(managed[1], table(&[&["1", "10:00:00"], &["2", "11:00:00"]]));
    assert_eq!(managed, replica);
}

const R2_TABLES: &str = "
CREATE TABLE p (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid INT) ENGINE=InnoDB;
CREATE TABLE m (id INT PRIMARY KEY, k INT, cnt INT) ENGINE=MyISAM;
CREATE TABLE a (id INT PRIMARY KEY, k INT, cnt INT) ENGINE=Aria;
";

const R2_FKS: &str = "
ALTER TABLE c ADD CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE;
";

const R2_DATA: &str = "
INSERT INTO p VALUES (1, 0), (2, 0), (3, 0);
INSERT INTO c VALUES (1, 1), (2, 2), (3, 3);
INSERT INTO m VALUES (1, 1, 0), (2, 2, 0);
INSERT INTO a VALUES (1, 1, 0), (2, 2, 0);
";

/// R2 / R3: a multi-table UPDATE re-keying a parent (run natively first under a
/// savepoint) that also writes a MyISAM or Aria table (a multi-table DELETE of
/// one too) is refused with 1105 naming the table and engine before anything
/// runs; one that only reads the MyISAM table runs, its cascade in the binlog.
#[test]
fn native_first_statements_writing_non_transactional_tables_are_refused_before_running() {
    let (outcomes, managed, replica) = run_case(
        R2_TABLES,
        R2_FKS,
        R2_DATA,
        &[
            "UPDATE p JOIN m ON p.id = m.k SET p.id = p.id + 100, m.cnt = m.cnt + 1 WHERE m.id = 1",
            "UPDATE p JOIN a ON p.id = a.k SET p.id = p.id + 100, a.cnt = a.cnt + 1 WHERE a.id = 1",
            "DELETE p, m FROM p JOIN m ON p.id = m.k WHERE m.id = 2",
            "UPDATE p JOIN m ON p.id = m.k SET p.id = p.id + 100 WHERE m.id = 1",
        ],
        &["p", "c", "m", "a"],
    );
    for (i, (table, engine)) in [("m", "MyISAM"), ("a", "Aria"), ("m", "MyISAM")].iter().enumerate() {
        let Err((code, message)) = &outcomes[i] else {
            panic!("statement {i} refused: {outcomes:?}");
        };
        assert_eq!(*code, 1105, "statement {i}: {message}");
        assert!(
            message.contains(&format!("managed_db.{table}`")) && message.contains(engine),
            "statement {i}: {message}"
        );
    }
    assert_eq!(outcomes[3], Ok(1));
    assert_eq!(managed[0], table(&[&["2", "0"], &["3", "0"], &["101", "0"]]));
    assert_eq!(managed[1], table(&[&["1", "101"], &["2", "2"], &["3", "3"]]));
    assert_eq!(managed[2], table(&[&["1", "1", "0"], &["2", "2", "0"]]));
    assert_eq!(managed[3], table(&[&["1", "1", "0"], &["2", "2", "0"]]));
    assert_eq!(
        managed, replica,
        "the FK-free replica differs from the managed database"
    );
}
