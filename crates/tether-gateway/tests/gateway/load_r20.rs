//! Nineteenth session, review r20h F1: `LOAD DATA ... REPLACE` into a table other
//! tables' FKs refer to is refused in a managed keyspace (InnoDB would cascade to the
//! children of the rows it replaces, out of the binlog's statements) in every spelling
//! the server runs: after another statement in one query, inside an executable
//! comment, with comments between its words. Before, only the plain statement was.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_testkit::{TestDb, TestEngine};

use crate::support::{dump, start_one};

const SCHEMA: &str = "
    CREATE TABLE p (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
    CREATE TABLE c (id INT PRIMARY KEY, pid INT,
      FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE) ENGINE=InnoDB;
    INSERT INTO p VALUES (1, 1), (2, 2);
    INSERT INTO c VALUES (1, 1), (2, 2);
";

/// The code and message of the first error `sql` gets (0 when none), every result
/// of a multi-statement query read.
async fn outcome(conn: &mut Conn, sql: &str) -> (u16, String) {
    let result = match conn.query_iter(sql).await {
        Ok(result) => result.drop_result().await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => (0, String::new()),
        Err(mysql_async::Error::Server(e)) => (e.code, e.message),
        Err(e) => panic!("{sql}: {e}"),
    }
}

#[test]
fn load_data_replace_into_a_parent_is_refused_in_every_spelling() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(SCHEMA);
    let gw = start_one(&db, "managed");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let before = dump(&mut g, &["p", "c"]).await;
        for sql in [
            "SELECT 1; LOAD DATA INFILE '/nonexistent/p.tsv' REPLACE INTO TABLE p",
            "/*!LOAD DATA INFILE '/nonexistent/p.tsv' REPLACE INTO TABLE p */",
            "/*M!100000 LOAD DATA INFILE '/nonexistent/p.tsv' REPLACE INTO TABLE p */",
            "LOAD DATA /* a */ INFILE '/nonexistent/p.tsv' /* b */ REPLACE # c\n INTO TABLE p",
            "LOAD DATA INFILE '/nonexistent/p.tsv' /*!REPLACE*/ INTO TABLE `p`",
            // `--` before a newline or a tab is a comment to MariaDB (code review r20cr F6).
            "LOAD DATA INFILE '/nonexistent/p.tsv' --\nREPLACE INTO TABLE p",
            "LOAD DATA --\tx\nINFILE '/nonexistent/p.tsv' REPLACE INTO TABLE p",
            "--\nLOAD DATA INFILE '/nonexistent/p.tsv' REPLACE INTO TABLE p",
            "DO 1; /*!LOAD DATA LOCAL INFILE '/nonexistent/p.tsv' REPLACE INTO TABLE test_db_dummy.p */",
        ] {
            let sql = sql.replace("test_db_dummy", &db.name);
            let (code, message) = outcome(&mut g, &sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
            assert!(
                message.contains("LOAD DATA ... REPLACE into `p` is refused"),
                "{sql}: {message}"
            );
        }
        // Loads that replace nothing a foreign key refers to reach MariaDB (to fail
        // there: the file does not exist).
        for sql in [
            "SELECT 1; LOAD DATA INFILE '/nonexistent/p.tsv' IGNORE INTO TABLE p",
            "/*!LOAD DATA INFILE '/nonexistent/c.tsv' REPLACE INTO TABLE c */",
        ] {
            let (code, message) = outcome(&mut g, sql).await;
            assert!(code != 0 && code != 1105, "{sql}: {code} {message}");
        }
        assert_eq!(dump(&mut g, &["p", "c"]).await, before);
    });
}
