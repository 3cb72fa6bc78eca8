//! Review r27c F1, F2, F6, F8 in unsharded keyspaces.
//!
//! F1, F2: `--` before U+00A0 is a comment to sqlparser and two minus signs to
//! MariaDB: a disallow keyspace got an FK, a managed one cascaded the key it read
//! while the server updated another row (orphan under a real InnoDB FK). Refused
//! with 1105 wherever texts are judged (plain, dynamic).
//! F6: dynamic text with `@n := @n + 1` (or `@@timestamp`) was evaluated by the
//! gateway and again by the server: the gateway judged `COMMENT 'x'`, the server
//! ran `FOREIGN KEY`. Such texts are not evaluated twice (1105), `@n` unchanged.
//! F8: `references` in a string of a compound statement naming another disallow
//! keyspace's table was refused with 1215.
//!
//! `um` (managed): p, c with c_fk CASCADE / CASCADE; p 1-4, c 10 -> 2, 11 -> 4,
//! 12 -> 1. `ud`, `ud2` (disallow): par (1, 2), child (1 -> 1), no FK.

use tether_testkit::{TestDb, TestEngine};

use crate::sharded_managed::code_of;
use crate::support::{direct, rows, start, Gw};

const N: char = '\u{a0}';

fn databases() -> (TestDb, TestDb, TestDb, Gw) {
    let um = TestDb::create(TestEngine::Mysql);
    um.exec(
        "CREATE TABLE p (id INT PRIMARY KEY, v INT);
         CREATE TABLE c (id INT PRIMARY KEY, p_id INT,
           CONSTRAINT c_fk FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE);
         INSERT INTO p VALUES (1, 0), (2, 0), (3, 0), (4, 0);
         INSERT INTO c VALUES (10, 2), (11, 4), (12, 1);",
    );
    let plain = || {
        let d = TestDb::create(TestEngine::Mysql);
        d.exec(
            "CREATE TABLE par (id INT PRIMARY KEY);
             CREATE TABLE child (id INT PRIMARY KEY, par_id INT, KEY (par_id));
             INSERT INTO par VALUES (1), (2); INSERT INTO child VALUES (1, 1);",
        );
        d
    };
    let (ud, ud2) = (plain(), plain());
    let gw = start(&[
        ("um", "managed", &um.url),
        ("ud", "disallow", &ud.url),
        ("ud2", "disallow", &ud2.url),
    ]);
    (um, ud, ud2, gw)
}

/// The FKs of database `db`: (table, constraint).
async fn fks(conn: &mut mysql_async::Conn, db: &str) -> Vec<Vec<String>> {
    rows(
        conn,
        &format!(
            "SELECT TABLE_NAME, CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = '{db}' ORDER BY 1, 2"
        ),
    )
    .await
}

/// F1, F2: `--<U+00A0>` in code refused in `um` and `ud` (plain and dynamic), rows
/// and FKs unchanged; in a string it passes.
#[test]
fn dash_before_a_unicode_space_is_refused() {
    let (um, ud, _ud2, gw) = databases();
    gw.block_on(async {
        let mut m = gw.connect("um").await;
        let sql = format!("UPDATE p AS `{N}` SET id = id + 100 WHERE id = 4 --{N}.id * 0 - 1");
        let (code, message) = code_of(&mut m, &sql).await;
        assert_eq!(code, 1105, "{message}");
        assert!(message.contains("U+00A0"), "{message}");
        assert_eq!(
            code_of(&mut m, &format!("INSERT INTO p VALUES (5, 0) -- a comment{N}")).await,
            (0, String::new())
        );
        let mut d = gw.connect("ud").await;
        for sql in [
            format!(
                "CREATE TABLE t2 (`{N}` INT, par_id INT, z INT AS (par_id --{N}), CONSTRAINT f2 FOREIGN KEY (par_id) \
                 REFERENCES par(id), w INT AS (1\n))"
            ),
            format!(
                "ALTER TABLE child ADD COLUMN `{N}` INT, ADD COLUMN z INT AS (par_id --{N}), ADD CONSTRAINT f3 \
                 FOREIGN KEY (par_id) REFERENCES par(id), ADD COLUMN w INT AS (1\n)"
            ),
            format!(
                "EXECUTE IMMEDIATE 'ALTER TABLE child ADD COLUMN `{N}` INT, ADD COLUMN z INT AS (par_id --{N}), \
                 ADD CONSTRAINT f4 FOREIGN KEY (par_id) REFERENCES par(id), ADD COLUMN w INT AS (1\n)'"
            ),
            "EXECUTE IMMEDIATE CONCAT('ALTER TABLE child ADD COLUMN z INT AS (par_id --', CHAR(0xC2A0 USING \
             utf8mb4), '), ADD CONSTRAINT f5 FOREIGN KEY (par_id) REFERENCES par(id), ADD COLUMN w INT AS (1\n)')"
                .to_string(),
        ] {
            let (code, message) = code_of(&mut d, &sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
        }
        assert_eq!(
            rows(&mut d, &format!("SELECT 'x --{N}y'")).await,
            [[format!("x --{N}y")]]
        );
    });
    gw.block_on(async {
        let mut m = direct(&um).await;
        assert_eq!(
            rows(&mut m, "SELECT id FROM p ORDER BY id").await,
            [["1"], ["2"], ["3"], ["4"], ["5"]]
        );
        assert_eq!(
            rows(&mut m, "SELECT id, p_id FROM c ORDER BY id").await,
            [["10", "2"], ["11", "4"], ["12", "1"]]
        );
        let mut d = direct(&ud).await;
        assert_eq!(fks(&mut d, &ud.name).await, Vec::<Vec<String>>::new());
        assert_eq!(rows(&mut d, "SHOW TABLES").await, [["child"], ["par"]]);
        assert_eq!(
            rows(&mut d, "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_NAME = 'child' AND TABLE_SCHEMA = DATABASE()").await,
            [["2"]]
        );
    });
}

/// F6: dynamic text whose value may change between two evaluations (an assignment,
/// a system variable) is not evaluated by the gateway: 1105, no FK, `@n` as it
/// was; a text of literals and user variables is still read (its FK: 1215).
#[test]
fn dynamic_text_is_evaluated_once() {
    let (_um, ud, _ud2, gw) = databases();
    gw.block_on(async {
        let mut d = gw.connect("ud").await;
        assert_eq!(code_of(&mut d, "SET @n = 0").await.0, 0);
        let fk = "'FOREIGN KEY (par_id) REFERENCES par(id)'";
        for sql in [
            format!(
                "EXECUTE IMMEDIATE CONCAT('ALTER TABLE child ADD CONSTRAINT fz ', IF((@n := @n + 1) > 1, {fk}, \
                 'COMMENT ''x'''))"
            ),
            format!(
                "PREPARE s FROM CONCAT('ALTER TABLE child ADD CONSTRAINT fz ', IF((@n := @n + 1) > 1, {fk}, \
                 'COMMENT ''x'''))"
            ),
            format!(
                "EXECUTE IMMEDIATE CONCAT('ALTER TABLE child ADD CONSTRAINT fz ', IF(RIGHT(@@timestamp, 1) >= '0', \
                 {fk}, 'COMMENT ''x'''))"
            ),
        ] {
            let (code, message) = code_of(&mut d, &sql).await;
            assert_eq!(code, 1105, "{sql}: {message}");
        }
        assert_eq!(rows(&mut d, "SELECT @n").await, [["0"]]);
        assert_eq!(code_of(&mut d, "SET @f = 'FOREIGN KEY (par_id)'").await.0, 0);
        let (code, message) = code_of(
            &mut d,
            "EXECUTE IMMEDIATE CONCAT('ALTER TABLE child ADD CONSTRAINT fy ', @f, ' REFERENCES par(id)')",
        )
        .await;
        assert_eq!(code, 1215, "{message}");
        assert_eq!(
            rows(&mut d, "EXECUTE IMMEDIATE CONCAT('SELECT ', '''a'', ', @n)").await,
            [["a", "0"]]
        );
    });
    gw.block_on(async {
        let mut d = direct(&ud).await;
        assert_eq!(fks(&mut d, &ud.name).await, Vec::<Vec<String>>::new());
    });
}

/// F8: `references` in a string of a compound statement naming `ud2`'s table from
/// `ud`'s session is no FK (the row comes back); an FK in its code still is (1215).
#[test]
fn compound_statements_are_judged_by_their_code() {
    let (_um, _ud, ud2, gw) = databases();
    let other = ud2.name.clone();
    gw.block_on(async {
        let mut d = gw.connect("ud").await;
        assert_eq!(
            rows(
                &mut d,
                &format!("BEGIN NOT ATOMIC SELECT 'see references' AS note FROM {other}.par LIMIT 1; END")
            )
            .await,
            [["see references"]]
        );
        let (code, message) = code_of(
            &mut d,
            &format!(
                "BEGIN NOT ATOMIC ALTER TABLE {other}.child ADD CONSTRAINT fc FOREIGN KEY (par_id) REFERENCES \
                 {other}.par (id); END"
            ),
        )
        .await;
        assert_eq!(code, 1215, "{message}");
    });
    gw.block_on(async {
        let mut d = direct(&ud2).await;
        assert_eq!(fks(&mut d, &ud2.name).await, Vec::<Vec<String>>::new());
    });
}
