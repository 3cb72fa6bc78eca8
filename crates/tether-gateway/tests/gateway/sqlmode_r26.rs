//! Twenty-sixth session, review r26h F1-F5.
//!
//! F1/F5: a statement of the same query that changes the sql_mode (`SET
//! sql_mode`, `SET @@sql_mode`, `SET SESSION sql_mode`, `SET STATEMENT sql_mode =
//! .. FOR`) before EXECUTE IMMEDIATE / PREPARE had the gateway judge the dynamic
//! text under the session's old sql_mode, while the server reads it under the new
//! one: under NO_BACKSLASH_ESCAPES `''\\''` hides an FK from the disallow check.
//! In managed and disallow keyspaces such a query is now refused with 1105.
//! F2: COM_RESET_CONNECTION keeps the keyspace in use, as MariaDB keeps the
//! current database. F3: COM_CHANGE_USER naming a uca1400 collation id (2048+)
//! takes it as natively (ucs2's refused with 1231). F4: under ANSI_QUOTES a `"`
//! inside a single-quoted EXECUTE IMMEDIATE text is text: the write runs planned.

use mysql_async::prelude::Queryable;
use tether_testkit::TestDb;

use crate::charset_r26::{change_user, db, PARENTS};
use crate::closing_r23::outcome;
use crate::support::{direct, rows, start};

const FAMILY: &str = "CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB;
    CREATE TABLE c (id INT PRIMARY KEY, p INT,
      FOREIGN KEY (p) REFERENCES p (id) ON DELETE CASCADE) ENGINE=InnoDB;
    INSERT INTO p VALUES (1), (2), (3);
    INSERT INTO c VALUES (10, 1), (20, 2), (30, 3);";

/// The CREATE whose FK NO_BACKSLASH_ESCAPES shows and the default mode hides.
const HIDDEN_FK: &str = r"'CREATE TABLE c5 (id INT PRIMARY KEY, a VARCHAR(90) DEFAULT ''\\'', b INT, FOREIGN KEY (b) REFERENCES p (id)) -- '')'";

fn fk_count(d: &TestDb) -> String {
    let rows = d.query(&format!(
        "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = '{}'",
        d.name
    ));
    rows[0][0].clone().unwrap_or_default()
}

/// `sql`'s rows on `d`, NULL as "NULL".
fn plain(d: &TestDb, sql: &str) -> Vec<Vec<String>> {
    d.query(sql)
        .into_iter()
        .map(|r| r.into_iter().map(|v| v.unwrap_or_else(|| "NULL".into())).collect())
        .collect()
}

#[test]
fn a_sql_mode_change_before_dynamic_sql_is_refused_in_disallow() {
    let n = db("CREATE TABLE p (id INT PRIMARY KEY) ENGINE=InnoDB");
    let gw = start(&[("d", "disallow", &n.url)]);
    let steps = [
        format!("SET sql_mode = 'NO_BACKSLASH_ESCAPES'; EXECUTE IMMEDIATE {HIDDEN_FK}"),
        format!("SET @@sql_mode = 'NO_BACKSLASH_ESCAPES'; EXECUTE IMMEDIATE {HIDDEN_FK}"),
        format!("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'; PREPARE s FROM {HIDDEN_FK}; EXECUTE s"),
        format!("SET STATEMENT sql_mode = 'NO_BACKSLASH_ESCAPES' FOR EXECUTE IMMEDIATE {HIDDEN_FK}"),
        format!("SET STATEMENT sql_mode = 'NO_BACKSLASH_ESCAPES' FOR PREPARE s FROM {HIDDEN_FK}"),
    ];
    gw.block_on(async {
        let mut g = gw.connect("d").await;
        for step in &steps {
            assert_eq!(outcome(&mut g, step).await, "err 1105", "{step}");
            // Nothing of it ran: the session's sql_mode is unchanged.
            let mode = rows(&mut g, "SELECT @@sql_mode LIKE '%NO_BACKSLASH_ESCAPES%'").await;
            assert_eq!(mode, [["0"]], "{step}");
        }
        // The same change as a query of its own: the text is read under it.
        g.query_drop("SET sql_mode = 'NO_BACKSLASH_ESCAPES'")
            .await
            .expect("set");
        assert_eq!(
            outcome(&mut g, &format!("EXECUTE IMMEDIATE {HIDDEN_FK}")).await,
            "err 1215"
        );
    });
    assert_eq!(fk_count(&n), "0", "no FK in the disallow keyspace's database");
    assert!(n.query("SHOW TABLES LIKE 'c5'").is_empty());
}

/// F5 (and F1 in a managed keyspace): the session has ANSI_QUOTES, the query
/// turns it off before `EXECUTE IMMEDIATE "..."`. Refused with 1105 (not the
/// misleading 1054 of a SELECT the client never sent), nothing run.
#[test]
fn a_sql_mode_change_before_dynamic_sql_is_refused_in_managed() {
    let b = db(FAMILY);
    let gw = start(&[("b", "managed", &b.url)]);
    gw.block_on(async {
        let mut g = gw.connect("b").await;
        g.query_drop("SET sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')")
            .await
            .expect("ansi");
        for step in [
            "SET sql_mode = ''; EXECUTE IMMEDIATE \"DELETE FROM p WHERE id = 3\"",
            "SET sql_mode = ''; PREPARE s FROM \"DELETE FROM p WHERE id = 3\"; EXECUTE s",
            "SET STATEMENT sql_mode = '' FOR EXECUTE IMMEDIATE \"DELETE FROM p WHERE id = 3\"",
        ] {
            assert_eq!(outcome(&mut g, step).await, "err 1105", "{step}");
        }
        let mode = rows(&mut g, "SELECT @@sql_mode LIKE '%ANSI_QUOTES%'").await;
        assert_eq!(mode, [["1"]]);
        let p = rows(&mut g, "SELECT id FROM p ORDER BY id").await;
        assert_eq!(p, [["1"], ["2"], ["3"]]);
        let c = rows(&mut g, "SELECT id FROM c ORDER BY id").await;
        assert_eq!(c, [["10"], ["20"], ["30"]]);
    });
}

/// F4: under ANSI_QUOTES, `EXECUTE IMMEDIATE 'DELETE FROM p WHERE "id" = 3'`
/// runs (planned, with its cascade), as natively.
#[test]
fn a_double_quote_inside_a_single_quoted_immediate_text_is_text() {
    let named = "CREATE TABLE p (id INT PRIMARY KEY, name VARCHAR(20)) ENGINE=InnoDB;
        CREATE TABLE c (id INT PRIMARY KEY, p INT,
          FOREIGN KEY (p) REFERENCES p (id) ON DELETE CASCADE) ENGINE=InnoDB;
        INSERT INTO p VALUES (1, 'a'), (2, 'b'), (3, 'c');
        INSERT INTO c VALUES (10, 1), (20, 2), (30, 3);";
    let native = db(named);
    let b = db(named);
    let gw = start(&[("b", "managed", &b.url)]);
    gw.block_on(async {
        let mut seen = Vec::new();
        let mut n = direct(&native).await;
        let mut g = gw.connect("b").await;
        for conn in [&mut n, &mut g] {
            conn.query_drop("SET sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')")
                .await
                .expect("ansi");
            let got = [
                outcome(conn, "EXECUTE IMMEDIATE 'UPDATE p SET \"name\" = ''z'' WHERE id = 1'").await,
                outcome(conn, "EXECUTE IMMEDIATE 'DELETE FROM p WHERE \"id\" = 3'").await,
            ];
            let p = rows(conn, "SELECT id, name FROM p ORDER BY id").await;
            let c = rows(conn, "SELECT id, p FROM c ORDER BY id").await;
            seen.push((got, p, c));
        }
        assert_eq!(seen[1], seen[0], "gateway (left), native (right)");
        assert_eq!(seen[0].0, ["ok", "ok"]);
        assert_eq!(seen[0].1, [["1", "z"], ["2", "b"]]);
    });
}

/// F2: log in to `a`, `USE e`, COM_RESET_CONNECTION, `DELETE FROM p WHERE id =
/// 1`: the row goes from e's p, as natively from the current database's.
#[test]
fn reset_connection_keeps_the_keyspace_in_use() {
    let (a, e) = (db(PARENTS), db(PARENTS));
    let (na, ne) = (db(PARENTS), db(PARENTS));
    let gw = start(&[("a", "unmanaged", &a.url), ("e", "unmanaged", &e.url)]);
    gw.block_on(async {
        let mut n = direct(&na).await;
        let mut g = gw.connect("a").await;
        for (conn, other) in [(&mut n, ne.name.as_str()), (&mut g, "e")] {
            conn.query_drop(format!("USE {other}")).await.expect("use");
            assert!(conn.reset().await.expect("reset"));
            conn.query_drop("DELETE FROM p WHERE id = 1").await.expect("delete");
        }
    });
    let ids = |d: &TestDb| plain(d, "SELECT id FROM p ORDER BY id");
    assert_eq!(ids(&ne), [["2"], ["3"]], "natively");
    assert_eq!(ids(&na), [["1"], ["2"], ["3"]], "natively");
    assert_eq!(ids(&e), ids(&ne), "the keyspace in use");
    assert_eq!(ids(&a), ids(&na), "the login's keyspace");
}

/// F3: COM_CHANGE_USER naming utf8mb4_uca1400_ai_ci (2304) makes it the
/// session's, as natively; ucs2_uca1400_ai_ci (2560) is refused with 1231.
#[test]
fn change_user_takes_uca1400_ids() {
    let e = db(PARENTS);
    let gw = start(&[("e", "unmanaged", &e.url)]);
    for id in [2304, 2560] {
        let native = db(PARENTS);
        let (n, g) = change_user(&gw, &native, "e", id);
        if id == 2304 {
            assert!(n.contains("utf8mb4_uca1400_ai_ci"), "{n}");
        } else {
            assert!(n.starts_with("change-user (1231, "), "{n}");
        }
        assert_eq!(g, n, "collation {id}: gateway (left), native (right)");
        e.exec("DELETE FROM p; INSERT INTO p VALUES (1, 'a'), (2, 'b'), (3, 'c')");
    }
}
