//! Fifteenth review, anonymized keys end to end (r15n). A transformer's output on a
//! unique key is checked for collisions the way the destination compares it: `ARjY` and
//! `arJy` are one key to a MariaDB `_ci` column, and `on_conflict = "skip"` dropped one
//! parent and re-attached its children to the other. And the run checks transformed
//! values against the destination columns the plan fitted the transformer to, not the
//! source's (a source `varchar(30)` child of a `varchar(100)` key, both `varchar(100)`
//! on the destination: the plan passed, the run stopped after writing the parent).

mod common;

use common::*;
use tether_sync::config::Job;
use tether_testkit::{TestDb, TestEngine as Engine};

fn strings(rows: &[&[&str]]) -> Vec<Vec<Option<String>>> {
    rows.iter()
        .map(|r| r.iter().map(|v| Some(v.to_string())).collect())
        .collect()
}

/// The plan of `job` (tables and their transformers as `tether plan` shows them).
fn transformers(job: &str) -> Vec<(String, String, String)> {
    let job = Job::parse("job.toml", job, &|_| None).expect("job");
    let prepared = tether_testkit::block_on(tether_sync::prepare(&job)).expect("plan");
    let mut out = Vec::new();
    for tp in &prepared.plan.tables {
        for ct in &tp.transforms {
            out.push((tp.name.clone(), ct.column.clone(), ct.transformer.clone()));
        }
    }
    out.sort();
    out
}

/// N1: `hash length=4 alphabet=alnum` on 3000 codes makes `arJy` (c1516) and `ARjY`
/// (c516), `OBoy` (c2984) and `oboy` (c94): distinct to Tether, equal to the MariaDB
/// destination's `utf8mb4_general_ci` key. With `on_conflict = "skip"` the second of
/// each pair was dropped and refs 516 and 94 pointed at the other parent (2998 codes,
/// only a count mismatch reported). Now the run stops at the first such pair as a
/// transformer collision naming both forms, as `on_conflict = "error"` would; on a
/// PostgreSQL destination (text compared exactly) the same job is written whole.
#[test]
fn a_caseless_collision_made_by_the_transformer_is_refused_with_skip() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE codes (code varchar(20) COLLATE utf8mb4_general_ci PRIMARY KEY, v int) \
             DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_general_ci;
         CREATE TABLE refs (id int PRIMARY KEY, code varchar(20) COLLATE utf8mb4_general_ci NOT NULL,
             CONSTRAINT refs_fk FOREIGN KEY (code) REFERENCES codes (code)) \
             DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_general_ci;",
    );
    let codes: Vec<String> = (0..3000).map(|i| format!("('c{i}', {i})")).collect();
    src.exec(&format!("INSERT INTO codes VALUES {}", codes.join(", ")));
    let refs: Vec<String> = (0..3000).map(|i| format!("({i}, 'c{i}')")).collect();
    src.exec(&format!("INSERT INTO refs VALUES {}", refs.join(", ")));
    let transform = "seed = \"c\"\nprivacy = \"off\"\n\
                     [transform.codes]\ncode = { kind = \"hash\", length = 4, alphabet = \"alnum\" }\n";

    let job = |url: &str, conflict: &str| {
        format!(
            "source = \"{}\"\n{transform}[[destinations]]\nurl = \"{url}\"\ntruncate = true\n\
             on_conflict = \"{conflict}\"\n",
            src.url
        )
    };
    let dest = TestDb::create(Engine::Mysql);
    let err = sync(&job(&dest.url, "skip"))
        .expect_err("the collision stops the run")
        .to_string();
    // (r17: compared by the weights the MariaDB server gives the column's collation.)
    assert!(
        err.contains(
            "table codes: duplicate value in unique key (code) after transformation: ('ARjY') is the same key as \
             that of an earlier row of this run to utf8mb4_general_ci, the collation of the column in destination"
        ) && err.ends_with("(undone: 2 tables created by this run dropped again (codes, refs))"),
        "{err}"
    );

    // The same job with on_conflict = "error", into tables already there (emptied by
    // the run), stops at the same pair.
    let dest = TestDb::create(Engine::Mysql);
    dest.exec(
        "CREATE TABLE codes (code varchar(20) PRIMARY KEY, v int) DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_general_ci;
         CREATE TABLE refs (id int PRIMARY KEY, code varchar(20) NOT NULL,
             CONSTRAINT refs_fk FOREIGN KEY (code) REFERENCES codes (code)) \
             DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_general_ci;",
    );
    let err = sync(&job(&dest.url, "error"))
        .expect_err("the collision stops the run")
        .to_string();
    assert!(
        err.contains(
            "table codes: duplicate value in unique key (code) after transformation: ('ARjY') is the same key as \
             that of an earlier row of this run to utf8mb4_general_ci"
        ),
        "{err}"
    );
    assert_eq!(dest.query("SELECT count(*) FROM refs"), strings(&[&["0"]]));

    // PostgreSQL compares text exactly: both values are kept, every ref keeps its parent.
    let pg = TestDb::create(Engine::Postgres);
    let report = sync(&job(&pg.url, "skip")).expect("distinct values are written");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        pg.query(
            "SELECT r.id::text, r.code, c.v::text FROM refs r JOIN codes c ON c.code = r.code \
             WHERE r.id IN (94, 516, 1516, 2984) ORDER BY r.id"
        ),
        strings(&[
            &["94", "oboy", "94"],
            &["516", "ARjY", "516"],
            &["1516", "arJy", "1516"],
            &["2984", "OBoy", "2984"],
        ])
    );
    assert_eq!(pg.query("SELECT count(*)::text FROM codes"), strings(&[&["3000"]]));
}

/// N2: users.email varchar(100) with `email unique`, a virtual FK child events.user_ref
/// varchar(30) in the source; on the destination (tables already there) both are
/// varchar(100). The plan kept max_length=100 (right: every column the values land in
/// holds 100), but the run checked the child's values against the source's varchar(30)
/// and stopped after writing users. Now the run checks against the destination columns
/// too: both rows written, each child equal to its parent's new email.
#[test]
fn the_run_fits_values_to_the_destination_columns_the_plan_fitted() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE users (email varchar(100) PRIMARY KEY);
         CREATE TABLE events (id int PRIMARY KEY, user_ref varchar(30));
         INSERT INTO users VALUES ('person1@corp1.com'), ('person2@corp2.com');
         INSERT INTO events VALUES (1, 'person1@corp1.com'), (2, 'person2@corp2.com');",
    );
    let dest = TestDb::create(Engine::Mysql);
    dest.exec(
        "CREATE TABLE users (email varchar(100) PRIMARY KEY);
         CREATE TABLE events (id int PRIMARY KEY, user_ref varchar(100));",
    );
    let job = format!(
        "source = \"{}\"\nseed = \"s3cret-seed\"\nprivacy = \"off\"\n\
         [[destinations]]\nurl = \"{}\"\ntruncate = true\n\
         [[virtual_foreign_keys]]\ntable = \"events\"\ncolumns = [\"user_ref\"]\nreferenced_table = \"users\"\n\
         [transform.users]\nemail = {{ kind = \"email\", unique = true }}\n",
        src.url, dest.url
    );
    let planned = transformers(&job);
    assert_eq!(
        planned.iter().map(|(t, c, _)| format!("{t}.{c}")).collect::<Vec<_>>(),
        ["events.user_ref", "users.email"]
    );
    for (_, _, t) in &planned {
        assert!(t.contains("max_length=100"), "{t}");
    }
    let report = sync(&job).expect("the values fit the destination's columns");
    assert!(report.ok, "{report:?}");
    let joined = dest
        .query("SELECT e.id, length(e.user_ref) > 30 FROM events e JOIN users u ON u.email = e.user_ref ORDER BY e.id");
    assert_eq!(joined.len(), 2, "{joined:?}");
    assert_eq!(
        dest.query("SELECT count(*) FROM users WHERE email LIKE 'person%'"),
        strings(&[&["0"]])
    );
    // At least one new email is longer than the source child column holds (the value
    // the run used to refuse).
    assert!(
        joined.iter().any(|r| r[1].as_deref() == Some("1")),
        "no value past 30 characters: {joined:?}"
    );
}
