//! Review r23n N5, N6, N8-N10: comments MariaDB reads otherwise than the gateway's
//! statement readers hid statements from them. `--` followed by a control character
//! is a comment to MariaDB (the readers wanted a blank), and a quote inside an
//! executable comment the server skips (`/*!999999 ... */`, MySQL 5.7+ versions) or
//! runs although the readers took it for a plain one (`/*M! ... */`) moved where the
//! readers saw strings and `;`: a parent DELETE ran past the managed planner (InnoDB's
//! cascade, out of the binlog) and an FK-creating ALTER past `disallow`. Now `--` and a
//! control character is a comment everywhere, and a query with such an executable
//! comment holding quotes, `;` or comments is refused (1105) before anything runs;
//! mysqldump's `/*!40101 ... */` comments pass.

use mysql_async::prelude::Queryable;
use tether_testkit::{TestDb, TestEngine};

use crate::support::{direct, rows, start_one};

fn schema() -> TestDb {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec("CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB");
    db.exec(
        "CREATE TABLE c (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE) \
         ENGINE=InnoDB",
    );
    db.exec("CREATE TABLE d (id INT PRIMARY KEY, pid INT) ENGINE=InnoDB");
    db.exec("INSERT INTO p VALUES (1), (2)");
    db.exec("INSERT INTO c VALUES (10, 1), (20, 2)");
    db
}

#[test]
fn executable_comments_that_could_hide_a_statement_are_refused() {
    let db = schema();
    let hidden = [
        "SELECT 1 /*!999999 ' */ ; DELETE FROM p WHERE id = 2; SELECT ' */ '",
        "SELECT 1 /*!50700 ' */ ; DELETE FROM p WHERE id = 2; SELECT ' */ '",
        "SELECT 1 /*M!100000 ' */ ; DELETE FROM p WHERE id = 2; SELECT ' */ '",
        "SELECT 1 /*!999999 # */ ; DELETE FROM p WHERE id = 2",
        "SELECT 1 /*M!100000 ; DELETE FROM p WHERE id = 2 */",
    ];
    for mode in ["managed", "disallow", "unmanaged"] {
        let gw = start_one(&db, mode);
        gw.block_on(async {
            let mut g = gw.connect("ks").await;
            for sql in hidden {
                match g.query_drop(sql).await {
                    Err(mysql_async::Error::Server(e)) => assert_eq!(e.code, 1105, "{mode}: {sql}: {}", e.message),
                    other => panic!("{mode}: {sql}: {other:?}"),
                }
            }
            // mysqldump's comments pass and run.
            g.query_drop("/*!40101 SET @x = 'a;b' */")
                .await
                .expect("a dump's comment");
            assert_eq!(rows(&mut g, "SELECT @x").await, [["a;b"]], "{mode}");
            let mut d = direct(&db).await;
            assert_eq!(
                rows(&mut d, "SELECT id FROM p ORDER BY id").await,
                [["1"], ["2"]],
                "{mode}"
            );
            assert_eq!(
                rows(&mut d, "SELECT id FROM c ORDER BY id").await,
                [["10"], ["20"]],
                "{mode}"
            );
        });
    }
}

/// `--` then a control character: the statement after it is one the gateway sees.
/// In a disallow keyspace the FK-creating ALTER is refused (1215) as it is written
/// plainly; in a managed one the DELETE is the gateway's (its cascade planned).
#[test]
fn a_dash_dash_comment_ended_by_a_control_character_hides_nothing() {
    let db = schema();
    let gw = start_one(&db, "disallow");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let sql = "SELECT 1; --\u{1} '\nALTER TABLE d ADD FOREIGN KEY (pid) REFERENCES p (id); SELECT '\n'";
        let got = g.query_iter(sql).await;
        let refused = match got {
            Err(mysql_async::Error::Server(e)) => e.code,
            Ok(mut result) => loop {
                match result.collect::<mysql_async::Row>().await {
                    Err(mysql_async::Error::Server(e)) => break e.code,
                    Err(other) => panic!("{other:?}"),
                    Ok(_) if result.is_empty() => break 0,
                    Ok(_) => {}
                }
            },
            Err(other) => panic!("{other:?}"),
        };
        assert_eq!(refused, 1215);
        let mut d = direct(&db).await;
        let fks = "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS \
                   WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'd'";
        assert_eq!(rows(&mut d, fks).await, [["0"]]);
    });
}
