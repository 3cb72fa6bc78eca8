//! Twenty-fourth session writer A: the session's sql_mode, round 2 (review r23n
//! N4, N7, and what writer X left open: ANSI_QUOTES in name finding).
//!
//! N4: a query "that may change the sql_mode" was refused whenever the words
//! `sql_mode`, `execute` or `prepare` appeared anywhere in it, strings included:
//! pymysql's `INSERT ... VALUES ('Don\'t panic; prepare first\n')` (a backslash
//! and the word in a value) was refused. Only the code counts now; the shapes
//! that change the mode before statements the modes read apart stay refused.
//! N7: the sql_mode lived in each keyspace's backend session: after `SET sql_mode
//! = 'NO_BACKSLASH_ESCAPES'` and `USE other`, the other keyspace read and ran
//! statements under its own mode. MariaDB has one session: the mode goes along.
//! ANSI_QUOTES: `"db\"` is a name under it; the readers of names took the `\` for
//! an escape, so a managed keyspace's table named `"db"."t"` after such a name
//! (or a table renamed into a disallow keyspace) was not seen as that keyspace's.

use std::process::Command;

use mysql_async::prelude::Queryable;
use tether_testkit::{TestDb, TestEngine};

use crate::closing_r23::{outcome, outcomes};
use crate::sharded_managed::code_of;
use crate::support::{direct, rows, start, PASSWORD, USER};

/// The value pymysql sends for `"Don't panic; prepare first\n"`: its quote and
/// newline backslash-escaped, the word `prepare` in the string.
const PYMYSQL_INSERT: &str = "INSERT INTO solo VALUES (1, 'Don\\'t panic; prepare first\\n')";

fn solo(db: &TestDb) {
    db.exec("CREATE TABLE solo (id INT PRIMARY KEY, s VARCHAR(60)) ENGINE=InnoDB");
}

/// N4: the pymysql value, and other queries whose strings (not code) say
/// `sql_mode`, EXECUTE or PREPARE next to a backslash, are stored as natively in
/// an unmanaged and a managed keyspace (they were refused with 1105).
#[test]
fn words_in_strings_do_not_refuse_a_query() {
    let steps = [
        PYMYSQL_INSERT,
        "INSERT INTO solo VALUES (2, 'a\\'; SET sql_mode = x; EXECUTE s'); SELECT COUNT(*) FROM solo",
        "UPDATE solo SET s = CONCAT(s, '\\\\ execute') WHERE id = 1 /* prepare */",
        "SELECT id, s FROM solo ORDER BY id",
    ];
    let expected = [
        "ok".to_string(),
        "ok  | 2".to_string(),
        "ok".to_string(),
        "ok 1,Don't panic; prepare first\n\\ execute;2,a'; SET sql_mode = x; EXECUTE s".to_string(),
    ];
    let native = TestDb::create(TestEngine::Mysql);
    solo(&native);
    for mode in ["unmanaged", "managed"] {
        let db = TestDb::create(TestEngine::Mysql);
        solo(&db);
        let gw = start(&[("ks", mode, &db.url)]);
        gw.block_on(async {
            let mut n = direct(&native).await;
            n.query_drop("DELETE FROM solo").await.expect("emptied");
            assert_eq!(outcomes(&mut n, &steps).await, expected, "natively");
            let mut g = gw.connect("ks").await;
            assert_eq!(outcomes(&mut g, &steps).await, expected, "{mode}");
            let mut d = direct(&db).await;
            assert_eq!(
                rows(&mut d, "SELECT id, s FROM solo ORDER BY id").await,
                rows(&mut n, "SELECT id, s FROM solo ORDER BY id").await,
                "{mode}"
            );
        });
    }
}

/// N4 with pymysql itself (when the machine has it): the parameterized insert of
/// a value with a quote, a newline and the word `prepare` is stored exactly. N7
/// through COM_INIT_DB (pymysql's `select_db`): the sql_mode goes along.
#[test]
fn pymysql_stores_a_value_that_says_prepare() {
    let python = std::env::var("TETHER_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let has = Command::new(&python).args(["-c", "import pymysql"]).output();
    if !has.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: no pymysql for `{python}`");
        return;
    }
    let db = TestDb::create(TestEngine::Mysql);
    solo(&db);
    let other = TestDb::create(TestEngine::Mysql);
    let gw = start(&[("ks", "managed", &db.url), ("other", "unmanaged", &other.url)]);
    let script = r#"
import sys, pymysql
host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
conn = pymysql.connect(host=host, port=port, user=user, password=password, database="ks", autocommit=True)
cur = conn.cursor()
cur.execute("INSERT INTO solo VALUES (%s, %s)", (7, "Don't panic; prepare first\n"))
cur.execute("SELECT s FROM solo WHERE id = 7")
print(repr(cur.fetchone()[0]))
cur.execute("SET sql_mode = 'NO_BACKSLASH_ESCAPES'")
conn.select_db("other")
cur.execute("SELECT LENGTH('\\'), @@sql_mode")
print(cur.fetchone())
"#;
    let out = Command::new(python)
        .args([
            "-c",
            script,
            &gw.addr.ip().to_string(),
            &gw.addr.port().to_string(),
            USER,
            PASSWORD,
        ])
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(
        stdout,
        "\"Don't panic; prepare first\\n\"\n(1, 'NO_BACKSLASH_ESCAPES')\n"
    );
}

/// N4: the shapes that change the sql_mode (every spelling) before statements
/// the modes read apart are still refused in a disallow keyspace: 1105, nothing
/// run, no FK created.
#[test]
fn a_mode_change_before_statements_read_apart_is_still_refused() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(
        "CREATE TABLE a (id INT PRIMARY KEY) ENGINE=InnoDB;
         CREATE TABLE b (id INT PRIMARY KEY, aid INT, KEY (aid)) ENGINE=InnoDB",
    );
    let gw = start(&[("ks", "disallow", &db.url)]);
    let fk = "ALTER TABLE b ADD CONSTRAINT fk1 FOREIGN KEY (aid) REFERENCES a (id)";
    let shapes = [
        format!("SET sql_mode = 'NO_BACKSLASH_ESCAPES'; SELECT '\\'; {fk}; SELECT '\\'"),
        format!("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'; SELECT '\\'; {fk}; SELECT '\\'"),
        format!("SET @@session.SQL_MODE = 'NO_BACKSLASH_ESCAPES'; SELECT '\\'; {fk}; SELECT '\\'"),
        format!("SET @@`sql_mode` = 'NO_BACKSLASH_ESCAPES'; SELECT '\\'; {fk}; SELECT '\\'"),
        format!("/*!40101 SET sql_mode = 'NO_BACKSLASH_ESCAPES' */; SELECT '\\'; {fk}; SELECT '\\'"),
        format!("SET STATEMENT sql_mode = 'NO_BACKSLASH_ESCAPES' FOR SELECT '\\'; {fk}; SELECT '\\'"),
        format!("PREPARE s FROM 'SET sql_mode = 1'; EXECUTE s; SELECT '\\'; {fk}; SELECT '\\'"),
        format!("SET sql_mode = 'ANSI_QUOTES'; SELECT 1 AS \"\\\"; {fk}; SELECT 1 AS \"\\\""),
    ];
    gw.block_on(async {
        for sql in &shapes {
            let mut g = gw.connect("ks").await;
            let (code, message) = code_of(&mut g, sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
            assert!(message.contains("may change the sql_mode"), "{sql}: {message}");
            assert_eq!(
                rows(&mut g, "SELECT @@sql_mode LIKE '%NO_BACKSLASH%'").await,
                [["0"]],
                "{sql}"
            );
        }
    });
    assert_eq!(
        crate::support::block_on_direct(
            &db,
            &format!(
                "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = '{}'",
                db.name
            ),
        ),
        "0"
    );
}

/// N7: the client's sql_mode follows it to the keyspace it switches to (USE),
/// both ways, as MariaDB's one session has it: the same answers and stored rows
/// as natively. (The other keyspace read `'\'` with escapes: 1064.)
#[test]
fn the_sql_mode_goes_along_to_another_keyspace() {
    let (one, two) = (TestDb::create(TestEngine::Mysql), TestDb::create(TestEngine::Mysql));
    let (n_one, n_two) = (TestDb::create(TestEngine::Mysql), TestDb::create(TestEngine::Mysql));
    for db in [&one, &two, &n_one, &n_two] {
        solo(db);
    }
    for mode in ["unmanaged", "managed"] {
        let gw = start(&[("one", mode, &one.url), ("two", mode, &two.url)]);
        let steps = |first: &str, second: &str| {
            vec![
                "SET sql_mode = 'NO_BACKSLASH_ESCAPES'".to_string(),
                format!("USE {second}"),
                "INSERT INTO solo VALUES (1, 'a\\')".to_string(),
                "SELECT '\\'; SELECT LENGTH('\\\\')".to_string(),
                "SELECT @@sql_mode".to_string(),
                format!("USE {first}"),
                "SET sql_mode = 'ANSI_QUOTES'".to_string(),
                format!("USE {second}"),
                "INSERT INTO solo VALUES (2, 'b\\\\')".to_string(),
                "SELECT \"id\" FROM solo WHERE id = 2".to_string(),
                "SELECT @@sql_mode".to_string(),
            ]
        };
        let expected = [
            "ok",
            "ok",
            "ok",
            "ok \\ | 2",
            "ok NO_BACKSLASH_ESCAPES",
            "ok",
            "ok",
            "ok",
            "ok",
            "ok 2",
            "ok ANSI_QUOTES",
        ];
        gw.block_on(async {
            for db in [&one, &two, &n_one, &n_two] {
                direct(db).await.query_drop("DELETE FROM solo").await.expect("emptied");
            }
            let native_steps = steps(&n_one.name, &n_two.name);
            let mut n = direct(&n_one).await;
            let mut got = Vec::new();
            for sql in &native_steps {
                got.push(outcome(&mut n, sql).await);
            }
            assert_eq!(got, expected, "natively");
            let mut g = gw.connect("one").await;
            let mut got = Vec::new();
            for sql in steps("one", "two") {
                got.push(outcome(&mut g, &sql).await);
            }
            assert_eq!(got, expected, "{mode}");
            let stored = |db| async move {
                let mut d = direct(db).await;
                rows(&mut d, "SELECT id, s FROM solo ORDER BY id").await
            };
            assert_eq!(stored(&two).await, stored(&n_two).await, "{mode}");
            assert_eq!(stored(&two).await, [["1", "a\\"], ["2", "b\\"]], "{mode}");
            assert!(stored(&one).await.is_empty(), "{mode}");
        });
    }
}

/// A managed keyspace `m` (parent, child ON DELETE CASCADE) beside the keyspace in
/// use `u`, on one server.
fn managed_beside(u_mode: &str) -> (TestDb, TestDb, crate::support::Gw) {
    let u = TestDb::create(TestEngine::Mysql);
    let m = TestDb::create(TestEngine::Mysql);
    m.exec(
        "CREATE TABLE parent (id INT PRIMARY KEY) ENGINE=InnoDB;
         CREATE TABLE child (id INT PRIMARY KEY, pid INT,
             FOREIGN KEY (pid) REFERENCES parent (id) ON DELETE CASCADE) ENGINE=InnoDB;
         INSERT INTO parent VALUES (1), (2); INSERT INTO child VALUES (10, 1), (20, 2)",
    );
    let gw = start(&[("u", u_mode, &u.url), ("m", "managed", &m.url)]);
    (u, m, gw)
}

/// ANSI_QUOTES: a DELETE of managed keyspace `m`'s parent sent in keyspace `u`'s
/// session, naming it `"m"."parent"` after a name `"p\"`, is refused as the plain
/// spelling is (the gateway plans managed writes in their keyspace's session);
/// it ran in `u`'s session, InnoDB cascading out of the binlog's statements.
#[test]
fn a_managed_table_named_after_an_ansi_name_with_a_backslash_is_found() {
    let (_u, m, gw) = managed_beside("unmanaged");
    let db = &m.name;
    gw.block_on(async {
        let mut g = gw.connect("u").await;
        let (plain, message) = code_of(&mut g, &format!("DELETE FROM {db}.parent WHERE id = 1")).await;
        assert_eq!(plain, 1105, "{message}");
        assert_eq!(
            code_of(&mut g, "SET sql_mode = 'ANSI_QUOTES'").await,
            (0, String::new())
        );
        for sql in [
            format!("DELETE FROM \"{db}\".\"parent\" WHERE id = 1"),
            format!("DELETE \"p\\\" FROM \"{db}\".\"parent\" AS \"p\\\" WHERE \"p\\\".id = 1"),
            format!("DELETE \"p\\\" FROM \"{db}\" . \"parent\" \"p\\\" WHERE 1 = 1"),
        ] {
            let (code, message) = code_of(&mut g, &sql).await;
            assert_eq!(code, plain, "{sql}: {message}");
            assert!(message.contains("is refused"), "{sql}: {message}");
        }
        let mut d = direct(&m).await;
        assert_eq!(rows(&mut d, "SELECT id FROM parent ORDER BY id").await, [["1"], ["2"]]);
        assert_eq!(
            rows(&mut d, "SELECT id, pid FROM child ORDER BY id").await,
            [["10", "1"], ["20", "2"]]
        );
    });
}

/// ANSI_QUOTES: a RENAME of a table with an FK into a disallow keyspace's
/// database, after a name `"x\"`, is refused (1215) as the plain RENAME is; it
/// moved the table (and its FK) in.
#[test]
fn a_rename_into_disallow_after_an_ansi_name_with_a_backslash_is_refused() {
    let u = TestDb::create(TestEngine::Mysql);
    let d = TestDb::create(TestEngine::Mysql);
    u.exec(
        "CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB;
         CREATE TABLE c (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id)) ENGINE=InnoDB;
         CREATE TABLE `x\\` (id INT) ENGINE=InnoDB",
    );
    let gw = start(&[("u", "unmanaged", &u.url), ("d", "disallow", &d.url)]);
    let (un, dn) = (&u.name, &d.name);
    gw.block_on(async {
        let mut g = gw.connect("u").await;
        let (plain, message) = code_of(&mut g, &format!("RENAME TABLE {un}.c TO {dn}.c")).await;
        assert_eq!(plain, 1215, "{message}");
        assert_eq!(
            code_of(&mut g, "SET sql_mode = 'ANSI_QUOTES'").await,
            (0, String::new())
        );
        let sql = format!("RENAME TABLE \"{un}\".\"x\\\" TO \"{un}\".\"y\\\", \"{un}\".\"c\" TO \"{dn}\".\"c\"");
        let (code, message) = code_of(&mut g, &sql).await;
        // Since r24e (writer A2): a `"` name holding a backslash under ANSI_QUOTES
        // refuses the whole query (1105) before any check reads it.
        assert_eq!(code, 1105, "{sql}: {message}");
        assert!(message.contains("under ANSI_QUOTES"), "{sql}: {message}");
    });
    assert_eq!(
        crate::support::block_on_direct(
            &d,
            &format!(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}'",
                d.name
            ),
        ),
        "0"
    );
    assert_eq!(
        crate::support::block_on_direct(
            &u,
            &format!(
                "SELECT GROUP_CONCAT(TABLE_NAME ORDER BY TABLE_NAME) FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = '{}'",
                u.name
            ),
        ),
        "c,p,x\\"
    );
}
