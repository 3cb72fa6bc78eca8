//! Fifteenth review, H: a mostly-NULL column whose row sample holds one or two values
//! (r15h H1) gets the second read of its own non-NULL values, and one that still has
//! too few is reported as not judged rather than clean. Each replays the reviewer's
//! scenario on the real servers.

mod common;

use common::*;
use tether_sync::scan::Protection;
use tether_sync::{Job, Plan, SyncError};
use tether_testkit::{TestDb, TestEngine as Engine};

fn prepare(text: &str) -> Result<Plan, SyncError> {
    let job = Job::parse("job.toml", text, &|_| None)?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async { tether_sync::prepare(&job).await.map(|p| p.plan) })
}

/// The reviewer's `member`: 3000 rows, `alt` an email at id 10 and at every seventh id
/// after 600 (344 emails), NULL elsewhere; `rare` holds two emails in the whole table.
fn sparse(engine: Engine) -> TestDb {
    let src = TestDb::create(engine);
    let (create, rows) = match engine {
        Engine::Mysql => (
            "CREATE TABLE member (id int primary key, nick varchar(20), alt varchar(80), rare varchar(80)) \
             ENGINE=InnoDB;",
            "INSERT INTO member SELECT seq, concat('n', seq), \
               IF(seq = 10 OR (seq > 600 AND seq % 7 = 0), concat('user', seq, '@corp-mail.example.com'), NULL), \
               IF(seq IN (5, 2900), concat('rare', seq, '@corp-mail.example.com'), NULL) FROM seq_1_to_3000;",
        ),
        Engine::Postgres => (
            "CREATE TABLE member (id int primary key, nick text, alt text, rare text);",
            "INSERT INTO member SELECT i, 'n' || i, \
               CASE WHEN i = 10 OR (i > 600 AND i % 7 = 0) THEN 'user' || i || '@corp-mail.example.com' END, \
               CASE WHEN i IN (5, 2900) THEN 'rare' || i || '@corp-mail.example.com' END \
             FROM generate_series(1, 3000) i;",
        ),
        Engine::Sqlite => (
            "CREATE TABLE member (id integer primary key, nick text, alt text, rare text);",
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 3000) \
             INSERT INTO member SELECT i, 'n' || i, \
               CASE WHEN i = 10 OR (i > 600 AND i % 7 = 0) THEN 'user' || i || '@corp-mail.example.com' END, \
               CASE WHEN i IN (5, 2900) THEN 'rare' || i || '@corp-mail.example.com' END FROM s;",
        ),
    };
    src.exec(&format!("{create}\n{rows}"));
    src
}

/// r15h H1: `alt` has one value among the 500 lowest ids; it was judged on that value
/// alone ("not personal", `values_sampled: 1`) and plan and sync reported 0 personal
/// columns while 344 emails were copied. Now the column's own values after the sample
/// are read: it is an unprotected email column, on every source engine. `rare` (two
/// values in 3000 rows) cannot be judged by value and is listed as such.
#[test]
fn a_mostly_null_email_column_with_one_value_in_the_sample_is_found() {
    for engine in [Engine::Sqlite, Engine::Postgres, Engine::Mysql] {
        let src = sparse(engine);
        let dest = TestDb::create(Engine::Sqlite);
        let text = format!("seed = \"s\"\n{}", job(&src, &[&dest], ""));
        let plan = prepare(&text).expect("plan");
        let privacy = plan.privacy.as_ref().expect("privacy report");
        let personal: Vec<(String, String, String, Protection)> = privacy
            .personal
            .iter()
            .map(|p| {
                (
                    p.table.clone(),
                    p.column.clone(),
                    p.class.to_string(),
                    p.protection.clone(),
                )
            })
            .collect();
        assert_eq!(
            personal,
            [(
                "member".to_string(),
                "alt".to_string(),
                "email".to_string(),
                Protection::Unprotected
            )],
            "{engine:?}"
        );
        assert_eq!(privacy.few_values, ["member.rare"], "{engine:?}");
        assert!(privacy.no_values.is_empty(), "{engine:?}: {:?}", privacy.no_values);
        let text_report = privacy.to_text();
        assert!(
            text_report.starts_with(
                "Personal data (500 rows sampled per table): 1 personal column, 1 copied unchanged\n  \
                 UNPROTECTED member.alt (email, confidence 0.90)\n  1 column with fewer than 3 values (NULL in \
                 the other rows read, or no more rows), not judged by value: member.rare\n"
            ),
            "{engine:?}: {text_report}"
        );

        // The same through a sync: its report names the column it copied unchanged.
        let report = sync(&text).expect("sync");
        let privacy = report.privacy.as_ref().expect("privacy report");
        assert_eq!(
            privacy
                .unprotected()
                .map(|p| format!("{}.{}", p.table, p.column))
                .collect::<Vec<_>>(),
            ["member.alt"],
            "{engine:?}"
        );
        assert_eq!(one(&dest, "SELECT count(alt) FROM member"), "344");
    }
}

/// The scan itself: `alt` counted once per value (the row sample's one value and the
/// second read's 500, the second starting after the sample), `rare` judged on its two.
#[test]
fn the_scan_counts_the_values_of_both_reads_once() {
    let src = sparse(Engine::Sqlite);
    let found = scan(&src);
    let seen: Vec<(String, Option<u64>, bool, Option<String>)> = found
        .columns
        .iter()
        .map(|c| {
            (
                c.column.clone(),
                c.values_sampled,
                c.few_values,
                c.class.map(|k| k.to_string()),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("id".to_string(), Some(500), false, None),
            ("nick".to_string(), Some(500), false, None),
            ("alt".to_string(), Some(344), false, Some("email".to_string())),
            ("rare".to_string(), Some(2), true, None),
        ]
    );
    let rare = &found.columns[3];
    assert_eq!(
        rare.evidence,
        ["values: only 2 sampled, NULL in the other rows read: too few to judge by value"]
    );
}

/// The second read starts after the sample's last key whatever the key's type: a text
/// key (`'h0010'`, quoted per engine) gives the same count as an integer one.
#[test]
fn the_second_read_starts_after_a_text_key_too() {
    for engine in [Engine::Postgres, Engine::Mysql, Engine::Sqlite] {
        let src = TestDb::create(engine);
        let (create, rows) = match engine {
            Engine::Mysql => (
                "CREATE TABLE member (handle varchar(10) primary key, alt varchar(80)) ENGINE=InnoDB;",
                "INSERT INTO member SELECT concat('h', lpad(seq, 4, '0')), \
                   IF(seq = 10 OR (seq > 600 AND seq % 7 = 0), concat('u', seq, '@corp-mail.example.com'), NULL) \
                 FROM seq_1_to_3000;",
            ),
            Engine::Postgres => (
                "CREATE TABLE member (handle text primary key, alt text);",
                "INSERT INTO member SELECT 'h' || lpad(i::text, 4, '0'), \
                   CASE WHEN i = 10 OR (i > 600 AND i % 7 = 0) THEN 'u' || i || '@corp-mail.example.com' END \
                 FROM generate_series(1, 3000) i;",
            ),
            Engine::Sqlite => (
                "CREATE TABLE member (handle text primary key, alt text);",
                "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 3000) \
                 INSERT INTO member SELECT 'h' || substr('000' || i, -4), \
                   CASE WHEN i = 10 OR (i > 600 AND i % 7 = 0) THEN 'u' || i || '@corp-mail.example.com' END FROM s;",
            ),
        };
        src.exec(&format!("{create}\n{rows}"));
        let found = scan(&src);
        let alt = found.columns.iter().find(|c| c.column == "alt").expect("alt");
        assert_eq!(
            (alt.values_sampled, alt.class.map(|k| k.to_string())),
            (Some(344), Some("email".to_string())),
            "{engine:?}"
        );
    }
}
