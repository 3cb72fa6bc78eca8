//! Fourteenth review, D: generated columns computed from transformed columns (r14d #1
//! a chain of generated columns kept the original emails on another engine, #2 strict
//! mode could not pass on the same engine, #3 a NOT NULL one passed the plan and failed
//! the sync), the privacy sample of a column NULL in the lowest keys (#4), and errors
//! naming a row by a transformed key's source value (#5). Each replays the reviewer's
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

/// The reviewer's `gen2`: g1 and g3 read `mail`, g2 and g4 read it through g1.
fn gen2_source() -> TestDb {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE gen2 (id int primary key, mail varchar(80),
           g1 varchar(80) AS (lower(mail)) STORED,
           g2 varchar(90) AS (concat(g1,'!')) STORED,
           g3 varchar(40) AS (substring_index(mail,'@',1)) VIRTUAL,
           g4 varchar(80) AS (upper(g1)) STORED) ENGINE=InnoDB;
         INSERT INTO gen2 (id, mail) SELECT 100 + seq, concat('Person.', seq, '@Example.org') FROM seq_1_to_30;",
    );
    src
}

fn transformers(plan: &Plan, table: &str) -> Vec<(String, String)> {
    plan.tables
        .iter()
        .find(|t| t.name == table)
        .expect("table planned")
        .transforms
        .iter()
        .map(|c| (c.column.clone(), c.transformer.clone()))
        .collect()
}

/// r14d #1: every generated column reading `mail`, directly or through another
/// generated column, is NULL on PostgreSQL and SQLite (plain columns there), is listed
/// by the plan and counted by the leak check. g2 held `person.1@example.org!`.
#[test]
fn generated_columns_reading_a_transformed_column_through_others_are_null_on_other_engines() {
    let src = gen2_source();
    let pg = TestDb::create(Engine::Postgres);
    let sqlite = TestDb::create(Engine::Sqlite);
    let text = format!(
        "seed = \"s3cr3t-seed-value\"\n{}",
        job(&src, &[&pg, &sqlite], "[transform.gen2]\nmail = \"email\"\n")
    );
    let plan = prepare(&text).expect("plan");
    let listed = transformers(&plan, "gen2");
    let columns: Vec<&str> = listed.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(columns, ["g1", "g2", "g3", "g4", "mail"], "{listed:?}");
    assert!(listed[..4].iter().all(|(_, t)| t == "null"), "{listed:?}");
    let shown = plan.to_text();
    assert!(
        shown.contains("transform: g2 = null (generated from transformed column g1"),
        "{shown}"
    );
    assert!(
        shown.contains("transform: g4 = null (generated from transformed column g1"),
        "{shown}"
    );

    let report = sync(&text).expect("sync");
    assert!(report.ok, "{report:?}");
    for db in [&pg, &sqlite] {
        assert_eq!(
            one(
                db,
                "SELECT count(*) FROM gen2 WHERE g1 IS NULL AND g2 IS NULL AND g3 IS NULL AND g4 IS NULL \
                 AND mail NOT LIKE 'Person.%'"
            ),
            "30"
        );
    }
    let mut leaks: Vec<(&str, u64, u64)> = report
        .leaks
        .iter()
        .map(|l| (l.column.as_str(), l.rows, l.unchanged))
        .collect();
    leaks.sort();
    assert_eq!(
        leaks,
        [
            ("g1", 30, 0),
            ("g2", 30, 0),
            ("g3", 30, 0),
            ("g4", 30, 0),
            ("mail", 30, 0)
        ]
    );
}

/// r14d #2: MariaDB -> MariaDB under `privacy = "strict"`: g4 (an uppercase email read
/// through g1) counts as covered, the job runs, and the destination computes g1..g4 from
/// the new emails. `passthrough` with a reason, which the strict error advises, is
/// accepted on it too (it was refused: "the column is generated ... and never written").
#[test]
fn strict_mode_passes_on_the_same_engine_with_a_transitively_generated_personal_column() {
    let src = gen2_source();
    let dest = TestDb::create(Engine::Mysql);
    let base = format!(
        "seed = \"s3cr3t-seed-value\"\nprivacy = \"strict\"\n{}",
        job(&src, &[&dest], "[transform.gen2]\nmail = \"email\"\n")
    );
    let recomputed = "SELECT count(*) FROM gen2 WHERE mail NOT LIKE 'Person.%' AND g1 = lower(mail) \
                      AND g2 = concat(lower(mail), '!') AND g4 = upper(lower(mail)) \
                      AND g3 = substring_index(mail, '@', 1)";

    let report = sync(&base).expect("strict sync");
    assert!(report.ok, "{report:?}");
    let privacy = report.privacy.as_ref().expect("privacy report");
    let g4 = privacy
        .personal
        .iter()
        .find(|p| p.column == "g4")
        .expect("g4 is personal");
    assert_eq!(
        g4.protection,
        Protection::Transformed {
            transformer: "null".into()
        }
    );
    assert_eq!(privacy.unprotected().count(), 0);
    assert_eq!(one(&dest, recomputed), "30");

    let reviewed = format!("{base}g4 = {{ kind = \"passthrough\", reason = \"generated\" }}\n");
    let report = sync(&reviewed).expect("strict sync with g4 reviewed");
    assert!(report.ok, "{report:?}");
    let g4 = report
        .privacy
        .as_ref()
        .expect("privacy report")
        .personal
        .iter()
        .find(|p| p.column == "g4")
        .cloned()
        .expect("g4 is personal");
    assert_eq!(
        g4.protection,
        Protection::Reviewed {
            reason: "generated".into()
        }
    );
    assert_eq!(one(&dest, recomputed), "30");
}

/// r14d #3: PostgreSQL -> SQLite, a NOT NULL generated column computed from a
/// transformed one: the plan refuses the implicit NULL (the sync did, after the plan
/// passed), naming the column and the remedy; the remedy, a transformer set on the
/// generated column, is accepted and written there. PostgreSQL -> PostgreSQL computes
/// the column and needs nothing (its sync failed on the NULL it never writes).
#[test]
fn a_not_null_generated_column_of_a_transformed_column_is_refused_by_the_plan_and_a_transformer_on_it_runs() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE person (id int primary key, name text not null,
           name_up text GENERATED ALWAYS AS (upper(name)) STORED NOT NULL);
         INSERT INTO person (id, name) SELECT g, 'Name' || g FROM generate_series(1, 20) g;",
    );
    let sqlite = TestDb::create(Engine::Sqlite);
    let text = format!(
        "seed = \"s3cr3t-seed-value\"\n{}",
        job(&src, &[&sqlite], "[transform.person]\nname = \"full_name\"\n")
    );
    let err = prepare(&text).expect_err("the plan refuses the NULL").to_string();
    assert!(
        err.contains(
            "generated column person.name_up reads transformed column name, so it is NULL where a destination \
             writes it as a plain column, but destination #1"
        ) && err.contains(
            "column person.name_up is TEXT there and NOT NULL; set a transformer for it in [transform.person] name_up"
        ),
        "{err}"
    );
    assert!(
        sqlite
            .query("SELECT count(*) FROM sqlite_master WHERE name = 'person'")
            .eq(&[[Some("0".to_string())]]),
        "nothing created"
    );

    let set = format!("{text}name_up = \"full_name\"\n");
    let report = sync(&set).expect("sync with a transformer on name_up");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        one(
            &sqlite,
            "SELECT count(*) FROM person WHERE name_up IS NOT NULL AND name_up <> upper('Name' || id) \
             AND name NOT LIKE 'Name%'"
        ),
        "20"
    );

    let pg = TestDb::create(Engine::Postgres);
    let same = format!(
        "seed = \"s3cr3t-seed-value\"\n{}",
        job(&src, &[&pg], "[transform.person]\nname = \"full_name\"\n")
    );
    let report = sync(&same).expect("same-engine sync");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        one(
            &pg,
            "SELECT count(*) FROM person WHERE name_up = upper(name) AND name NOT LIKE 'Name%'"
        ),
        "20"
    );
}

/// r14d #4: a column NULL in the 550 lowest keys and holding emails after them is
/// sampled by its own non-NULL values: found as email, and a strict job refuses to copy
/// it (it passed, reporting no personal data). A column NULL in every row is listed as
/// such, not classified by values it does not have.
#[test]
fn a_personal_column_null_in_the_lowest_keys_is_found_and_one_null_everywhere_is_named() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE late (id int primary key, contact2 varchar(80), never varchar(80)) ENGINE=InnoDB;
         INSERT INTO late (id, contact2)
           SELECT seq, IF(seq > 550, concat('someone', seq, '@gmail.com'), NULL) FROM seq_1_to_2000;",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let strict = format!(
        "seed = \"s3cr3t-seed-value\"\nprivacy = \"strict\"\n{}",
        job(&src, &[&dest], "")
    );
    let err = prepare(&strict).expect_err("strict refuses").to_string();
    assert!(
        err.ends_with(
            "privacy = \"strict\": 1 personal column would be copied unchanged: late.contact2 (email); transform \
             them or mark them reviewed with { kind = \"passthrough\", reason = \"...\" }"
        ),
        "{err}"
    );

    let report_only = format!("seed = \"s3cr3t-seed-value\"\n{}", job(&src, &[&dest], ""));
    let plan = prepare(&report_only).expect("plan");
    let privacy = plan.privacy.as_ref().expect("privacy report");
    let personal: Vec<(String, String, Protection)> = privacy
        .personal
        .iter()
        .map(|p| (p.column.clone(), p.class.to_string(), p.protection.clone()))
        .collect();
    assert_eq!(
        personal,
        [("contact2".to_string(), "email".to_string(), Protection::Unprotected)]
    );
    assert_eq!(privacy.no_values, ["late.never"]);
    assert!(
        privacy
            .to_text()
            .contains("  1 column NULL in every row, no value sampled: late.never\n"),
        "{}",
        privacy.to_text()
    );
}

/// r14d #5: a transformer failing on a row whose key is transformed does not print the
/// key's source value (an email): the row is named by an untransformed unique key where
/// the table has one, else by the key masked.
#[test]
fn a_transform_error_does_not_print_a_transformed_key_s_source_value() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE member (handle varchar(80) primary key, kontakt varchar(40)) ENGINE=InnoDB;
         CREATE TABLE member2 (handle varchar(80) primary key, nr int NOT NULL UNIQUE, kontakt varchar(40)) ENGINE=InnoDB;
         INSERT INTO member VALUES ('anna.smith0@mailbox.org', '+49 151 2345 0000');
         INSERT INTO member2 VALUES ('anna.smith0@mailbox.org', 7, '+49 151 2345 0000');",
    );
    let pg = TestDb::create(Engine::Postgres);
    let js = "{ kind = \"js\", code = \"(v) => v + tether.hash(v)\" }";
    for (table, named) in [
        ("member", "row (handle)=(a***@m***.org, masked): "),
        ("member2", "row (nr)=(7): "),
    ] {
        let text = format!(
            "seed = \"s3cr3t-seed-value\"\nprivacy = \"off\"\n{}",
            job(
                &src,
                &[&pg],
                &format!(
                    "[tables]\ninclude = [\"{table}\"]\n[transform.{table}]\nhandle = {{ kind = \"email\", unique = \
                     true }}\nkontakt = {js}\n"
                )
            )
        );
        let err = sync(&text).expect_err("kontakt does not fit").to_string();
        assert!(
            err.contains(&format!("table {table}, column kontakt, {named}")),
            "{err}"
        );
        assert!(!err.contains("anna.smith0"), "{err}");
    }
}
