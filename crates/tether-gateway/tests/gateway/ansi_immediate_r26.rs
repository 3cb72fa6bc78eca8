//! Twenty-sixth session, review r26d F3: under ANSI_QUOTES `"..."` is a name, so
//! `EXECUTE IMMEDIATE "DELETE ..."` is MariaDB's 1054 (an unknown column) and runs
//! nothing. A managed keyspace took the double-quoted operand for a text and ran
//! the DELETE itself (planned, with its cascade). It now answers as MariaDB does.

use mysql_async::prelude::Queryable;
use tether_testkit::{TestDb, TestEngine};

use crate::closing_r23::outcome;
use crate::support::{direct, rows, start};

fn family(db: &TestDb) {
    db.exec(
        "CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB;
         CREATE TABLE c (id INT PRIMARY KEY, p INT,
           FOREIGN KEY (p) REFERENCES p (id) ON DELETE CASCADE) ENGINE=InnoDB;
         INSERT INTO p VALUES (1), (2), (3);
         INSERT INTO c VALUES (10, 1), (20, 2), (30, 3);",
    );
}

const STEPS: [&str; 3] = [
    "EXECUTE IMMEDIATE \"DELETE FROM p WHERE id = 3\"",
    "EXECUTE IMMEDIATE \"DELETE FROM p WHERE id > 0\"",
    // A single-quoted text is a text in every mode: it runs (and cascades).
    "EXECUTE IMMEDIATE 'DELETE FROM p WHERE id = 1'",
];

async fn run(conn: &mut mysql_async::Conn) -> (Vec<String>, Vec<Vec<String>>, Vec<Vec<String>>) {
    conn.query_drop("SET sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')")
        .await
        .expect("sql_mode");
    let mut got = Vec::new();
    for step in STEPS {
        got.push(outcome(conn, step).await);
    }
    let p = rows(conn, "SELECT id FROM p ORDER BY id").await;
    let c = rows(conn, "SELECT id, p FROM c ORDER BY id").await;
    (got, p, c)
}

#[test]
fn a_double_quoted_immediate_text_is_a_name_under_ansi_quotes() {
    let native = TestDb::create(TestEngine::Mysql);
    family(&native);
    let db = TestDb::create(TestEngine::Mysql);
    family(&db);
    let gw = start(&[("ks", "managed", &db.url)]);
    gw.block_on(async {
        let mut n = direct(&native).await;
        let expected = run(&mut n).await;
        assert_eq!(expected.0[0], "err 1054", "natively: {expected:?}");
        assert_eq!(expected.0[1], "err 1054", "natively: {expected:?}");
        assert_eq!(expected.0[2], "ok", "natively: {expected:?}");
        let mut g = gw.connect("ks").await;
        let got = run(&mut g).await;
        assert_eq!(got, expected);
        assert_eq!(got.1, vec![vec!["2".to_string()], vec!["3".to_string()]]);
    });
}
