//! Twenty-fourth session (review r24a F3): `tether schema` of a MariaDB database with
//! a foreign key whose parent table was dropped (`foreign_key_checks = 0`) failed,
//! telling it as a privilege gap. Now it shows the schema, that key out of the graph,
//! with a warning naming the key, the child and the missing parent.

use tether_testkit::{TestDb, TestEngine as Engine};

#[test]
fn a_dangling_foreign_key_is_shown_as_a_warning() {
    let db = TestDb::create(Engine::Mysql);
    db.exec(
        "CREATE TABLE p (id int PRIMARY KEY) ENGINE = InnoDB; \
         CREATE TABLE c (id int PRIMARY KEY, pid int, CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id)) \
         ENGINE = InnoDB; \
         CREATE TABLE u (id int PRIMARY KEY) ENGINE = InnoDB; \
         CREATE TABLE t (id int PRIMARY KEY, uid int, CONSTRAINT t_u FOREIGN KEY (uid) REFERENCES u (id)) \
         ENGINE = InnoDB; \
         SET foreign_key_checks = 0; DROP TABLE p; SET foreign_key_checks = 1",
    );
    let (code, out, err) = tether_testkit::run(env!("CARGO_BIN_EXE_tether"), &["schema", &db.url]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        err.trim(),
        "warning: table c's foreign key c_p (pid) references table p (id), which does not exist (dropped while \
         foreign_key_checks was 0, the key left behind): the server refuses every non-NULL value of pid there (1452)"
    );
    assert!(out.starts_with("mysql database: 3 tables, 1 foreign keys\n"), "{out}");
    assert!(
        out.contains("FK -> u(id) ON DELETE RESTRICT ON UPDATE RESTRICT [t_u]"),
        "{out}"
    );
    assert!(out.contains("  1. c, u\n  2. t\n"), "{out}");
}
