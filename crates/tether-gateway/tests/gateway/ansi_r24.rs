//! Twenty-fourth session writer A2: `"` under ANSI_QUOTES in every reader of
//! quoted text (review r24e F1-F4).
//!
//! F1: `PREPARE "x" FROM '...'` (a `"` statement name) was not seen as a PREPARE:
//! its text ran unchecked at `EXECUTE "x"`. F2: `SET STATEMENT v="\" FOR <stmt>`:
//! the search for FOR read `"\"` as an unfinished string and treated the text as
//! a plain SET. F3: `SELECT 1 AS "\" /*!999999 ' */ ; <stmt>; SELECT 1 AS "'"`:
//! the comment readers took `"\"` for a string that runs on and the splitter
//! swallowed the statement after it. Under ANSI_QUOTES a query whose `"` name
//! holds a backslash, or whose quotes ANSI_QUOTES cuts otherwise, is now refused
//! (1105); a `"` statement name is read as a name. F4: a sql_mode carried to a
//! keyspace not yet connected was lost by a second USE.

use tether_testkit::{TestDb, TestEngine};

use crate::closing_r23::outcome;
use crate::sharded_managed::code_of;
use crate::support::{direct, rows, start, Gw};

/// Keyspaces `m` (managed: parent, child ON DELETE CASCADE), `u` (unmanaged) and
/// `d` (disallow: p, c without an FK), each on its own database.
fn three() -> (TestDb, TestDb, TestDb, Gw) {
    let m = TestDb::create(TestEngine::Mysql);
    m.exec(
        "CREATE TABLE parent (id INT PRIMARY KEY) ENGINE=InnoDB;
         CREATE TABLE child (id INT PRIMARY KEY, pid INT,
             FOREIGN KEY (pid) REFERENCES parent (id) ON DELETE CASCADE) ENGINE=InnoDB;
         INSERT INTO parent VALUES (1), (2); INSERT INTO child VALUES (10, 1), (20, 2)",
    );
    let u = TestDb::create(TestEngine::Mysql);
    let d = TestDb::create(TestEngine::Mysql);
    d.exec(
        "CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB;
         CREATE TABLE c (id INT PRIMARY KEY, pid INT, KEY (pid)) ENGINE=InnoDB",
    );
    let gw = start(&[
        ("m", "managed", &m.url),
        ("u", "unmanaged", &u.url),
        ("d", "disallow", &d.url),
    ]);
    (m, u, d, gw)
}

/// Nothing changed: m's rows and no FK in d.
async fn unchanged(m: &TestDb, d: &TestDb, what: &str) {
    let mut dm = direct(m).await;
    assert_eq!(
        rows(&mut dm, "SELECT (SELECT GROUP_CONCAT(id ORDER BY id) FROM parent), (SELECT GROUP_CONCAT(id ORDER BY id) FROM child)").await,
        [["1,2", "10,20"]],
        "{what}"
    );
    let mut dd = direct(d).await;
    let sql = format!(
        "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = '{}'",
        d.name
    );
    assert_eq!(rows(&mut dd, &sql).await, [["0"]], "{what}");
}

/// The statement each keyspace must refuse: a write of m's parent (m: through a
/// disguise; u: from another keyspace) and an FK created in d.
fn forbidden(ks: &str, m: &TestDb) -> String {
    match ks {
        "m" => "DELETE FROM parent WHERE id = 2".to_string(),
        "u" => format!("DELETE FROM {}.parent WHERE id = 2", m.name),
        _ => "ALTER TABLE c ADD FOREIGN KEY (pid) REFERENCES p (id)".to_string(),
    }
}

/// F1: `PREPARE "x" FROM '<stmt>'` under ANSI_QUOTES is refused as `` PREPARE `x` ``
/// is (the same code), and `EXECUTE "x"` runs nothing.
#[test]
fn a_prepare_with_a_double_quoted_name_is_checked() {
    let (m, _u, d, gw) = three();
    gw.block_on(async {
        for ks in ["m", "u", "d"] {
            let inner = match ks {
                "m" => format!("SET STATEMENT max_statement_time=0 FOR {}", forbidden(ks, &m)),
                _ => forbidden(ks, &m),
            };
            let mut g = gw.connect(ks).await;
            assert_eq!(
                code_of(&mut g, "SET sql_mode = 'ANSI_QUOTES'").await,
                (0, String::new())
            );
            let (plain, message) = code_of(&mut g, &format!("PREPARE `x` FROM '{inner}'")).await;
            assert!(plain == 1105 || plain == 1215, "{ks}: {plain} {message}");
            let (code, message) = code_of(&mut g, &format!("PREPARE \"x\" FROM '{inner}'")).await;
            assert_eq!(code, plain, "{ks}: {message}");
            assert_ne!(code_of(&mut g, "EXECUTE \"x\"").await.0, 0, "{ks}");
            unchanged(&m, &d, ks).await;
        }
    });
}

/// F2 and F3: a `"` name holding a backslash under ANSI_QUOTES hides nothing:
/// the query is refused (1105 in m and u, 1105 or 1215 in d) and nothing runs.
#[test]
fn a_double_quoted_name_with_a_backslash_hides_nothing() {
    let (m, _u, d, gw) = three();
    gw.block_on(async {
        for ks in ["m", "u", "d"] {
            let stmt = forbidden(ks, &m);
            let shapes = [
                format!("SET STATEMENT default_master_connection=\"\\\" FOR {stmt}"),
                format!("SELECT 1 AS \"\\\" /*!999999 ' */ ; {stmt}; SELECT 1 AS \"'\""),
                format!("SELECT 1 AS \"\\\" /*!80000 ' */ ; {stmt}; SELECT 1 AS \"'\""),
            ];
            let mut g = gw.connect(ks).await;
            assert_eq!(
                code_of(&mut g, "SET sql_mode = 'ANSI_QUOTES'").await,
                (0, String::new())
            );
            for sql in &shapes {
                let (code, message) = code_of(&mut g, sql).await;
                if ks == "d" {
                    assert!(code == 1105 || code == 1215, "{ks} {sql}: {code} {message}");
                } else {
                    assert_eq!(code, 1105, "{ks} {sql}: {message}");
                }
                unchanged(&m, &d, sql).await;
            }
        }
    });
}

/// Plain ANSI_QUOTES queries still run: `"` names (doubled `""` too), a `"`
/// statement name prepared and executed, `'` strings with backslashes.
#[test]
fn plain_ansi_quotes_queries_still_run() {
    let (m, _u, d, gw) = three();
    gw.block_on(async {
        let mut g = gw.connect("m").await;
        let steps = [
            "SET sql_mode = 'ANSI_QUOTES'",
            "SELECT \"id\" FROM \"parent\" ORDER BY \"id\"",
            "SELECT 1 AS \"a\"\"b\", 'it\\'s' AS \"s\"",
            "PREPARE \"q\" FROM 'SELECT COUNT(*) FROM child'",
            "EXECUTE \"q\"",
            "DEALLOCATE PREPARE \"q\"",
            "INSERT INTO \"parent\" (\"id\") VALUES (3)",
            "DELETE FROM \"parent\" WHERE \"id\" = 3",
        ];
        let mut got = Vec::new();
        for sql in steps {
            got.push(outcome(&mut g, sql).await);
        }
        assert_eq!(got, ["ok", "ok 1;2", "ok 1,it's", "ok", "ok 2", "ok", "ok", "ok"]);
        unchanged(&m, &d, "plain").await;
    });
}

/// F4: a sql_mode carried to a keyspace not connected yet goes on with the next
/// USE: `SET sql_mode = 'NO_BACKSLASH_ESCAPES'; USE d; USE m` keeps the mode.
#[test]
fn a_carried_sql_mode_survives_a_second_use() {
    let (_m, _u, _d, gw) = three();
    gw.block_on(async {
        let mut g = gw.connect("u").await;
        for sql in ["SET sql_mode = 'NO_BACKSLASH_ESCAPES'", "USE d", "USE m"] {
            assert_eq!(code_of(&mut g, sql).await, (0, String::new()), "{sql}");
        }
        assert_eq!(
            rows(&mut g, "SELECT @@sql_mode, LENGTH('\\\\')").await,
            [["NO_BACKSLASH_ESCAPES", "2"]]
        );
    });
}
