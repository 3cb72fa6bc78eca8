//! Fifteenth session, review D finding 1: an online ALTER that breaks what a child's
//! FK needs (its column's type no longer matching the parent's key, the column
//! dropped) fails at once with MariaDB's own error naming the user's FK (1832,
//! 1553), as the native ALTER does, before anything is built. Before, the migration
//! was accepted and failed later with InnoDB's wording about the gateway's scratch
//! constraint (`1822 Missing index for constraint '_tether_..._0_0'`, `1072`).

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_testkit::{TestDb, TestEngine};

use crate::online::until_status;
use crate::support::{self, direct, rows, server_error};

/// Review D's schema (after its family migration: BIGINT keys).
const SCHEMA: &str = "
CREATE TABLE p (id BIGINT PRIMARY KEY);
CREATE TABLE c (id INT PRIMARY KEY, parent_id BIGINT NOT NULL,
  CONSTRAINT c_p_fk FOREIGN KEY (parent_id) REFERENCES p(id) ON DELETE CASCADE ON UPDATE CASCADE);
CREATE TABLE s (id INT PRIMARY KEY, parent_id BIGINT,
  CONSTRAINT s_p_fk FOREIGN KEY (parent_id) REFERENCES p(id) ON DELETE SET NULL);
INSERT INTO p VALUES (1), (2);
INSERT INTO c VALUES (10, 1), (20, 2);
INSERT INTO s VALUES (10, 1);
";

/// What must not change when an ALTER is refused: both children's definitions,
/// their rows, and no table or trigger of the gateway's left.
async fn state(conn: &mut Conn) -> Vec<Vec<Vec<String>>> {
    vec![
        rows(conn, "SHOW CREATE TABLE c").await,
        rows(conn, "SHOW CREATE TABLE s").await,
        rows(conn, "SELECT id, parent_id FROM c ORDER BY id").await,
        rows(conn, "SELECT id, parent_id FROM s ORDER BY id").await,
        rows(conn, "SHOW TABLES").await,
        rows(
            conn,
            "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()",
        )
        .await,
    ]
}

/// `sql`'s error: (code, SQL state, message).
async fn error_of(conn: &mut Conn, sql: &str) -> (u16, String, String) {
    server_error(conn.query_drop(sql).await.expect_err(sql))
}

/// The reviewer's ALTERs, online through a managed gateway and natively: the same
/// error (1832 for the type, 1553 for the dropped column, 1830 for NOT NULL under
/// SET NULL) naming `c_p_fk` / `s_p_fk`, returned by the ALTER itself, and nothing
/// changed or built. An ALTER that drops the FK with the column's type change runs
/// (the check leaves FKs the ALTER drops alone), as natively.
#[test]
fn an_online_alter_breaking_a_child_fk_fails_as_natively() {
    let native = TestDb::create(TestEngine::Mysql);
    let db = TestDb::create(TestEngine::Mysql);
    native.exec(SCHEMA);
    db.exec(SCHEMA);
    let gw = support::start_one(&db, "managed");
    gw.block_on(async {
        let mut n = direct(&native).await;
        let mut m = direct(&db).await;
        let mut g = gw.connect("ks").await;
        g.query_drop("SET @@ddl_strategy = 'online'").await.expect("strategy");
        let before = state(&mut m).await;
        let refused = [
            (
                "ALTER TABLE c MODIFY parent_id INT NOT NULL",
                1832,
                "Cannot change column 'parent_id': used in a foreign key constraint 'c_p_fk'",
            ),
            (
                "ALTER TABLE c DROP COLUMN parent_id",
                1553,
                "Cannot drop index 'c_p_fk': needed in a foreign key constraint",
            ),
            (
                "ALTER TABLE c ADD COLUMN note VARCHAR(10), CHANGE parent_id parent_id INT UNSIGNED NOT NULL",
                1832,
                "Cannot change column 'parent_id': used in a foreign key constraint 'c_p_fk'",
            ),
            (
                "ALTER TABLE s MODIFY parent_id BIGINT NOT NULL",
                1830,
                "Column 'parent_id' cannot be NOT NULL: needed in a foreign key constraint 's_p_fk' SET NULL",
            ),
        ];
        for (alter, code, message) in refused {
            let natively = error_of(&mut n, alter).await;
            assert_eq!(natively, (code, "HY000".into(), message.into()), "natively: {alter}");
            assert_eq!(error_of(&mut g, alter).await, natively, "online: {alter}");
            assert_eq!(state(&mut m).await, before, "nothing changed or built: {alter}");
        }
        assert_eq!(rows(&mut g, "SHOW VITESS_MIGRATIONS").await, Vec::<Vec<String>>::new());

        // Dropping the FK in the same ALTER: the column may change, online as natively.
        let alter = "ALTER TABLE c DROP FOREIGN KEY c_p_fk, MODIFY parent_id INT NOT NULL";
        n.query_drop(alter).await.expect("natively");
        let id = rows(&mut g, alter).await[0][0].clone();
        until_status(&mut g, &id, "complete").await;
        let shape = "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS \
                     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'c' ORDER BY ORDINAL_POSITION";
        assert_eq!(rows(&mut m, shape).await, rows(&mut n, shape).await);
        assert_eq!(
            rows(&mut m, "SELECT id, parent_id FROM c ORDER BY id").await,
            vec![vec!["10".to_string(), "1".into()], vec!["20".into(), "2".into()]]
        );
        let fks = "SELECT CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS \
                   WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY 1";
        assert_eq!(rows(&mut m, fks).await, vec![vec!["s_p_fk".to_string()]]);
    });
}
