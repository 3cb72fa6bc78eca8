//! Twenty-fifth session: UTF-8 texts that a two-byte client character set reads
//! otherwise (writer E2's left-open item 3).
//!
//! Under `character_set_client` sjis / cp932 / gbk / big5, a byte >= 0x80 may lead
//! a two-byte character whose second byte is `\` (0x5C) or a backtick (0x60).
//! The gateway reads a text as UTF-8, so in `SELECT 'ā\'; DELETE ...; -- '` it
//! sees one string (`\'` escapes the quote) where an sjis server ends the string
//! at that quote and runs the DELETE; likewise `ā` + backtick opens a quoted name
//! for the gateway and is a character for the server. A statement hidden from
//! the gateway runs unchecked (a managed parent deleted without its cascade, an
//! FK created in a disallow keyspace). Such texts are now refused under those
//! character sets, nothing of them run; under any other they run as before.

use mysql_async::prelude::Queryable;
use tether_testkit::{TestDb, TestEngine};

use crate::closing_r23::outcome;
use crate::support::{direct, rows, start};

fn family(db: &TestDb) {
    db.exec(
        "CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB;
         CREATE TABLE c (id INT PRIMARY KEY, p INT,
           FOREIGN KEY (p) REFERENCES p (id) ON DELETE CASCADE) ENGINE=InnoDB;
         INSERT INTO p VALUES (1), (2);
         INSERT INTO c VALUES (10, 1), (20, 2);",
    );
}

/// The character that leads into the `\` or backtick under `charset`: its last
/// byte starts a two-byte character there (`ā` is C4 81 and sjis pairs 81 5C;
/// `€` is E2 82 AC and gbk / big5 pair AC 5C).
fn lead(charset: &str) -> &'static str {
    match charset {
        "sjis" | "cp932" => "ā",
        _ => "€",
    }
}

/// Texts that a UTF-8 reader and a `charset` server cut apart around `hidden`,
/// each with whether the server runs `hidden`: the first hides it from the
/// gateway (one string to it, `'{l}'` then `hidden` to the server); the second
/// shows the gateway a statement the server reads as part of a name.
fn hiding(charset: &str, hidden: &str) -> [(String, bool); 2] {
    let l = lead(charset);
    [
        (format!("SELECT '{l}\\'; {hidden}; -- '"), true),
        (format!("SELECT 1 AS `x{l}`; {hidden}; -- `"), false),
    ]
}

async fn count(conn: &mut mysql_async::Conn, table: &str) -> String {
    rows(conn, &format!("SELECT COUNT(*) FROM {table}")).await[0][0].clone()
}

/// Natively the first text runs the hidden DELETE (the cascade takes its child)
/// and the second does not; through a managed keyspace both are refused with
/// 1105 and nothing changes.
#[test]
fn a_delete_hidden_by_a_two_byte_character_is_refused() {
    for charset in ["sjis", "cp932", "gbk", "big5"] {
        for (i, (text, runs)) in hiding(charset, "DELETE FROM p WHERE id = 1").iter().enumerate() {
            let context = format!("{charset}, text {i}: {text}");
            let native = TestDb::create(TestEngine::Mysql);
            family(&native);
            let db = TestDb::create(TestEngine::Mysql);
            family(&db);
            let gw = start(&[("ks", "managed", &db.url)]);
            gw.block_on(async {
                let mut n = direct(&native).await;
                n.query_drop(format!("SET NAMES {charset}")).await.expect("set names");
                outcome(&mut n, text).await;
                n.query_drop("SET NAMES utf8mb4").await.expect("set names");
                let left = if *runs { "1" } else { "2" };
                assert_eq!(count(&mut n, "p").await, left, "{context}: natively");
                assert_eq!(count(&mut n, "c").await, left, "{context}: natively");

                let mut g = gw.connect("ks").await;
                g.query_drop(format!("SET NAMES {charset}")).await.expect("set names");
                assert_eq!(outcome(&mut g, text).await, "err 1105", "{context}");
                // The session goes on: a text without the pattern runs.
                assert_eq!(outcome(&mut g, "SELECT 'a\\'b'").await, "ok a'b", "{context}");
                g.query_drop("SET NAMES utf8mb4").await.expect("set names");
                assert_eq!(count(&mut g, "p").await, "2", "{context}: nothing ran");
                assert_eq!(count(&mut g, "c").await, "2", "{context}: nothing ran");
                // Under utf8mb4 the first text is read alike by both: one SELECT.
                // (The second is a SELECT and a DELETE to both, which a managed
                // keyspace refuses in one text with FK work: not this test's.)
                if *runs {
                    let mut n = direct(&native).await;
                    let want = outcome(&mut n, text).await;
                    assert_eq!(outcome(&mut g, text).await, want, "{context}: utf8mb4");
                    assert_eq!(count(&mut g, "p").await, "2", "{context}: utf8mb4");
                }
            });
        }
    }
}

/// In a disallow keyspace an FK hidden the same way is refused under gbk (set
/// with `SET character_set_client`, after an earlier read of the charsets), and
/// created by neither.
#[test]
fn an_fk_hidden_by_a_two_byte_character_is_refused_in_disallow() {
    let db = TestDb::create(TestEngine::Mysql);
    family(&db);
    let gw = start(&[("ks", "disallow", &db.url)]);
    let create = "CREATE TABLE d (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES p (id)) ENGINE=InnoDB";
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        // A text with the pattern under utf8mb4 first: it runs (one SELECT).
        let [(quoted, _), _] = hiding("gbk", create);
        assert!(outcome(&mut g, &quoted).await.starts_with("ok "), "utf8mb4");
        g.query_drop("SET character_set_client = gbk").await.expect("set");
        for (text, _) in hiding("gbk", create) {
            assert_eq!(outcome(&mut g, &text).await, "err 1105", "{text}");
        }
        g.query_drop("SET character_set_client = utf8mb4").await.expect("set");
        let mut d = direct(&db).await;
        let tables = rows(
            &mut d,
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'd'",
        )
        .await;
        assert_eq!(tables, vec![vec!["0".to_string()]]);
    });
}

/// Review r25f F1: `SET CHAR SET sjis` (MariaDB's other spelling of CHARACTER SET)
/// changed the client's character set without the gateway forgetting the one it
/// had read: the hidden DELETE then ran. And a text of several statements is
/// refused when a word that may set the character set comes before the pair
/// (`SET CHAR SET sjis; SELECT 'ā\'; ...`), not when it comes only after it
/// (review r25f F4: `SELECT 1 AS `é`; SELECT 2 AS names` runs as natively).
#[test]
fn char_set_is_a_change_of_character_set() {
    let db = TestDb::create(TestEngine::Mysql);
    family(&db);
    let native = TestDb::create(TestEngine::Mysql);
    family(&native);
    let gw = start(&[("ks", "managed", &db.url)]);
    let [(hidden, _), _] = hiding("sjis", "DELETE FROM p WHERE id = 1");
    gw.block_on(async {
        let mut g = gw.connect("ks").await;
        let mut n = direct(&native).await;
        // The character sets read (and kept) under utf8mb4.
        assert!(outcome(&mut g, "SELECT 'ā\\\\'").await.starts_with("ok "));
        for set in ["SET CHAR SET sjis", "set char   set sjis", "SET @x = 1, CHAR SET sjis"] {
            g.query_drop(set).await.expect(set);
            assert_eq!(outcome(&mut g, &hidden).await, "err 1105", "after {set}");
            g.query_drop("SET NAMES utf8mb4").await.expect("names");
            assert!(outcome(&mut g, "SELECT 'ā\\\\'").await.starts_with("ok "), "{set}");
        }
        let together = format!("SET CHAR SET sjis; {hidden}");
        assert_eq!(outcome(&mut g, &together).await, "err 1105");
        assert_eq!(count(&mut g, "p").await, "2");
        assert_eq!(count(&mut g, "c").await, "2");
        for text in [
            "SELECT 1 AS `é`; SELECT 2 AS names",
            "SELECT 'é\\\\' AS a; SELECT CHAR_LENGTH('x')",
        ] {
            let want = outcome(&mut n, text).await;
            assert!(want.starts_with("ok "), "{text}: {want}");
            assert_eq!(outcome(&mut g, text).await, want, "{text}");
        }
    });
}
