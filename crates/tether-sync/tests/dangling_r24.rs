//! Twenty-fourth session (review r24a F3, the schema read's part): a MariaDB foreign
//! key whose parent table was dropped while `foreign_key_checks` was 0 was told as a
//! privilege gap ("this login cannot see it: it has no privileges on p. Grant it
//! SELECT"), to a login holding every privilege, and the whole schema read failed.
//! Now the schema reads (the key kept out of the table's keys, reported), a sync
//! copying the child is refused saying what it is (the key, the child and the missing
//! parent), and a sync leaving the child out copies the other tables.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

#[test]
fn a_foreign_key_whose_parent_was_dropped_is_named_as_such() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE p (id int PRIMARY KEY) ENGINE = InnoDB; \
         CREATE TABLE c (id int PRIMARY KEY, pid int, CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id) \
         ON DELETE CASCADE) ENGINE = InnoDB; \
         INSERT INTO c VALUES (1, NULL); \
         SET foreign_key_checks = 0; DROP TABLE p; SET foreign_key_checks = 1",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let job = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\n",
        src.url, dest.url
    );
    let e = sync(&job).expect_err("must refuse");
    let text = e.to_string();
    assert!(
        text.contains(
            "table c's foreign key c_p (pid) references table p (id), which does not exist (dropped while \
             foreign_key_checks was 0, the key left behind): the server refuses every non-NULL value of pid there \
             (1452); no copy can create it. Drop the foreign key in the source (ALTER TABLE c DROP FOREIGN KEY \
             c_p), create p again there, or leave c out in [tables]"
        ),
        "{text}"
    );
    assert!(!text.contains("privileges"), "{text}");
}

/// The same source, the job leaving c out: u and t are copied, the key of t intact.
#[test]
fn a_job_without_the_child_of_a_dangling_key_copies_the_rest() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE p (id int PRIMARY KEY) ENGINE = InnoDB; \
         CREATE TABLE c (id int PRIMARY KEY, pid int, CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id)) \
         ENGINE = InnoDB; \
         CREATE TABLE u (id int PRIMARY KEY) ENGINE = InnoDB; \
         CREATE TABLE t (id int PRIMARY KEY, uid int, CONSTRAINT t_u FOREIGN KEY (uid) REFERENCES u (id)) \
         ENGINE = InnoDB; \
         INSERT INTO u VALUES (1), (2); INSERT INTO t VALUES (1, 1), (2, NULL); \
         SET foreign_key_checks = 0; DROP TABLE p; SET foreign_key_checks = 1",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let job = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[tables]\ninclude = [\"u\", \"t\"]\n[[destinations]]\nurl = \"{}\"\n",
        src.url, dest.url
    );
    let report = sync(&job).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok, "{report:?}");
    assert_eq!(
        rows(&dest, "u", "id"),
        vec![vec!["1".to_string()], vec!["2".to_string()]]
    );
    assert_eq!(
        rows(&dest, "t", "id"),
        vec![
            vec!["1".to_string(), "1".to_string()],
            vec!["2".to_string(), "NULL".to_string()]
        ]
    );
    assert_eq!(one(&dest, "SELECT COUNT(*) FROM pragma_foreign_key_list('t')"), "1");
}
