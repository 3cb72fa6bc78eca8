//! Twenty-first review, H (r21h): what the personal-data scan finds and what
//! `scan --suggest` writes. Short values holding an email, phone or card number, and
//! JSON kept in text columns, are personal (F1); an array column gets no kind that
//! writes one value, and the plan refuses one (F2); a unique column gets the kind's
//! unique form (F3); an FK column of a reviewed key is reviewed too, and the report
//! counts in the singular where there is one (F5, F6). Each replays the reviewer's
//! scenario on the real servers.

mod common;

use common::*;
use tether_sync::scan::Protection;
use tether_sync::{Job, Plan, SyncError};
use tether_testkit::{TestDb, TestEngine as Engine};

fn prepare(text: &str) -> Result<Plan, SyncError> {
    let job = Job::parse("job.toml", text, &|_| None)?;
    tether_testkit::block_on(async { tether_sync::prepare(&job).await.map(|p| p.plan) })
}

/// `(table.column, class, protection)` of each personal column a plan reports.
fn personal(plan: &Plan) -> Vec<(String, String, Protection)> {
    plan.privacy
        .as_ref()
        .expect("privacy report")
        .personal
        .iter()
        .map(|p| {
            (
                format!("{}.{}", p.table, p.column),
                p.class.to_string(),
                p.protection.clone(),
            )
        })
        .collect()
}

/// The reviewer's `n`, with every short spelling of F1 in a column of its own, and
/// columns of short values that hold no personal data (postcodes, invoice numbers,
/// timestamps and amounts written as text, version strings).
fn short_values(engine: Engine) -> TestDb {
    let src = TestDb::create(engine);
    let cols = [
        ("info", "'email: user' || i || '@example.org'"),
        ("extra", "'{\"contact\": \"user' || i || '@example.org\"}'"),
        ("tel", "'tel. +4930123' || (456 + i)"),
        ("angle", "'<u' || i || '@b.com>'"),
        ("listed", "'x,a' || i || '@b.com,y'"),
        ("kv", "'email=a' || i || '@b.com;tel=+1212555' || (1000 + i)"),
        ("paid", "'visa: 4111111111111111'"),
        ("doc", "'{\"phone\": 4930123' || (456 + i) || '}'"),
        ("alpha", "'12227-' || (100 + i)"),
        ("beta", "'94043-' || (1000 + i)"),
        ("gamma", "'INV-17000000' || (10 + i)"),
        ("delta", "'2024-01-31 10:00:' || (10 + i)"),
        ("epsilon", "'1234567' || i || '.90 EUR'"),
        ("zeta", "'v1.2.' || i"),
    ];
    let (text, concat) = match engine {
        Engine::Mysql => ("longtext", true),
        _ => ("text", false),
    };
    let defs: Vec<String> = cols.iter().map(|(c, _)| format!("{c} {text}")).collect();
    let values: Vec<String> = cols
        .iter()
        .map(|(_, e)| {
            if concat {
                // MariaDB: `||` is OR; concat() takes the parts.
                format!("concat({})", e.split(" || ").collect::<Vec<_>>().join(", "))
            } else {
                e.to_string()
            }
        })
        .collect();
    let series = match engine {
        Engine::Postgres => "generate_series(1, 20) i".to_string(),
        Engine::Mysql => "(SELECT seq AS i FROM seq_1_to_20) s".to_string(),
        Engine::Sqlite => "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 20) \
                           SELECT i FROM s) s"
            .to_string(),
    };
    src.exec(&format!(
        "CREATE TABLE n (id int primary key, {});\nINSERT INTO n SELECT i, {} FROM {series};",
        defs.join(", "),
        values.join(", ")
    ));
    src
}

/// r21h F1: every row of these columns holds an email, phone or card number in fewer
/// than three words, or a JSON document with one kept as text; plan and sync said
/// "0 personal columns" and copied them unchanged. Now each is a free-text column the
/// job leaves open, on every source engine, and the look-alikes stay clean.
#[test]
fn short_values_and_json_text_holding_personal_data_are_found() {
    for engine in [Engine::Sqlite, Engine::Postgres, Engine::Mysql] {
        let src = short_values(engine);
        let dest = TestDb::create(Engine::Sqlite);
        let plan = prepare(&format!("seed = \"s\"\n{}", job(&src, &[&dest], ""))).expect("plan");
        let want: Vec<(String, String, Protection)> = [
            ("info", "free text"),
            ("extra", "free text"),
            ("tel", "phone"),
            ("angle", "free text"),
            ("listed", "free text"),
            ("kv", "free text"),
            ("paid", "free text"),
            ("doc", "free text"),
        ]
        .iter()
        .map(|(c, k)| (format!("n.{c}"), k.to_string(), Protection::Unprotected))
        .collect();
        assert_eq!(personal(&plan), want, "{engine:?}");

        let found = scan(&src);
        let evidence = |column: &str| {
            found
                .columns
                .iter()
                .find(|c| c.column == column)
                .expect("column")
                .evidence
                .join("; ")
        };
        assert!(
            evidence("info").contains("values: 20 of 20 sampled hold an email in their text"),
            "{engine:?}: {}",
            evidence("info")
        );
        assert!(
            evidence("paid").contains("20 of 20 sampled hold a card number in their text"),
            "{engine:?}: {}",
            evidence("paid")
        );
        // JSON kept as text is read as JSON and keeps a JSON suggestion.
        assert!(
            evidence("extra").contains("JSON documents kept as text, judged as JSON"),
            "{engine:?}: {}",
            evidence("extra")
        );
        assert_eq!(suggested(&found, "extra").as_deref(), Some("\"null\""), "{engine:?}");
        assert_eq!(suggested(&found, "info").as_deref(), Some("\"lorem\""), "{engine:?}");
        // The sampled values are never shown.
        let shown = serde_json::to_string(&found).expect("json");
        assert!(!shown.contains("user1@example.org"), "{engine:?}");
    }
}

/// r21h F1: the suggested transformers, once in the job, leave no email behind.
#[test]
fn the_suggestions_for_short_values_leave_no_email_in_the_copy() {
    let src = short_values(Engine::Postgres);
    let dest = TestDb::create(Engine::Postgres);
    let found = scan(&src);
    let mut table = String::from("[transform.n]\n");
    for c in found.personal() {
        table.push_str(&format!(
            "{} = {}\n",
            c.column,
            c.suggested.as_ref().expect("a suggestion")
        ));
    }
    let strict = format!(
        "seed = \"s\"\nprivacy = \"strict\"\n{}\n{table}",
        job(&src, &[&dest], "")
    );
    assert!(table.contains("extra = \"null\"\n"), "{table}");
    let report = sync(&strict).expect("strict sync with the suggestions");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        one(
            &dest,
            "SELECT count(*) FROM n WHERE info LIKE '%@example.org%' OR extra LIKE '%@example.org%' \
             OR angle LIKE '%@b.com%' OR listed LIKE '%@b.com%' OR kv LIKE '%@b.com%'"
        ),
        "0"
    );
    assert_eq!(one(&dest, "SELECT count(*) FROM n WHERE extra IS NULL"), "20");
    assert_eq!(one(&dest, "SELECT count(*) FROM n WHERE alpha LIKE '12227-%'"), "20");
}

fn arrays() -> TestDb {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE t (id int primary key, emails text[], kept text[] NOT NULL);
         INSERT INTO t VALUES (1, ARRAY['ann@example.org'], ARRAY['a@example.org']),
           (2, ARRAY['bob@example.org', 'cy@example.org'], ARRAY['b@example.org', NULL]),
           (3, ARRAY['d@example.org'], '{\"e@example.org\"}');",
    );
    src
}

/// r21h F2: `--suggest` wrote `email` for a `text[]` column, the plan accepted it and
/// the sync failed on the server (22P02, malformed array literal). Now the scan judges
/// an array by its elements and suggests what fits an array (`null`, or the empty
/// array where NULL is refused), and the sync with those suggestions copies no email.
#[test]
fn an_array_column_is_suggested_what_fits_an_array() {
    let src = arrays();
    let found = scan(&src);
    let classes: Vec<(String, Option<String>, Option<String>)> = found
        .columns
        .iter()
        .map(|c| {
            (
                c.column.clone(),
                c.class.map(|k| k.to_string()),
                suggested(&found, &c.column),
            )
        })
        .collect();
    assert_eq!(
        classes,
        [
            ("id".to_string(), None, None),
            (
                "emails".to_string(),
                Some("email".to_string()),
                Some("\"null\"".to_string())
            ),
            (
                "kept".to_string(),
                Some("email".to_string()),
                Some("{ kind = \"constant\", value = \"{}\" }".to_string())
            ),
        ]
    );
    let dest = TestDb::create(Engine::Postgres);
    let text = format!(
        "seed = \"s\"\nprivacy = \"strict\"\n{}\n[transform.t]\nemails = {}\nkept = {}\n",
        job(&src, &[&dest], ""),
        suggested(&found, "emails").expect("emails"),
        suggested(&found, "kept").expect("kept")
    );
    let report = sync(&text).expect("sync with the suggestions");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        rows(&dest, "t", "id"),
        [["1", "NULL", "{}"], ["2", "NULL", "{}"], ["3", "NULL", "{}"]]
    );
}

/// r21h F2: a kind that writes one value on an array column is a plan error naming the
/// table, the column, the kind and the type (it was accepted, and the sync failed on
/// the server). What fits an array is still accepted.
#[test]
fn the_plan_refuses_a_scalar_kind_on_an_array_column() {
    let src = arrays();
    let dest = TestDb::create(Engine::Postgres);
    for kind in ["\"email\"", "\"hash\"", "\"generate_email\"", "{ kind = \"lorem\" }"] {
        let text = format!(
            "seed = \"s\"\n{}\n[transform.t]\nemails = {kind}\n",
            job(&src, &[&dest], "")
        );
        let err = prepare(&text).expect_err(kind).to_string();
        let name = kind.trim_matches(|c| c == '"' || c == '{' || c == ' ' || c == '}');
        let name = name.trim_start_matches("kind = \"").trim_end_matches('"');
        for part in [
            "[transform.t] emails".to_string(),
            format!("transformer `{name}` cannot be used on a column of type text[]"),
            "the column holds arrays and the kind writes one value".to_string(),
        ] {
            assert!(err.contains(&part), "{kind}: {part:?} not in {err}");
        }
    }
    for fits in [
        "\"null\"",
        "{ kind = \"constant\", value = \"{}\" }",
        "{ kind = \"passthrough\", reason = \"test data\" }",
    ] {
        let text = format!(
            "seed = \"s\"\n{}\n[transform.t]\nemails = {fits}\n",
            job(&src, &[&dest], "")
        );
        prepare(&text).unwrap_or_else(|e| panic!("{fits}: {e}"));
    }
}

/// r21h F3: `--suggest` wrote the plain `email` for a unique email column, and a sync
/// of 100,000 rows stopped on a collision with any seed. A unique column gets the
/// kind's unique form (`email`, `username`), and a kind without one says so in its
/// evidence; the sync with the suggestion copies every row.
#[test]
fn a_unique_column_is_suggested_the_unique_form_of_its_kind() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE u (id int primary key, email text UNIQUE NOT NULL, login text UNIQUE, phone text UNIQUE,
                         contact_email text, cell text);
         INSERT INTO u SELECT i, 'user' || i || '@corp.example.com', 'login' || i, '+1212' || (5550000 + i),
                              'c' || i || '@corp.example.com', '+1212' || (5550000 + i)
         FROM generate_series(1, 100000) i;",
    );
    let found = scan(&src);
    assert_eq!(
        suggested(&found, "email").as_deref(),
        Some("{ kind = \"email\", unique = true }")
    );
    assert_eq!(
        suggested(&found, "login").as_deref(),
        Some("{ kind = \"username\", unique = true }")
    );
    assert_eq!(suggested(&found, "contact_email").as_deref(), Some("\"email\""));
    assert_eq!(suggested(&found, "cell").as_deref(), Some("\"phone\""));
    let phone = found.columns.iter().find(|c| c.column == "phone").expect("phone");
    assert_eq!(
        phone.suggested.as_ref().map(|s| s.to_string()).as_deref(),
        Some("\"phone\"")
    );
    assert!(
        phone
            .evidence
            .iter()
            .any(|e| e.starts_with("a unique key: \"phone\" may give two rows one value")),
        "{:?}",
        phone.evidence
    );

    let dest = TestDb::create(Engine::Sqlite);
    let text = format!(
        "seed = \"s3cr3tSEEDvalue42\"\n{}\n[tables]\ninclude = [\"u\"]\n[transform.u]\nemail = {}\n",
        job(&src, &[&dest], ""),
        suggested(&found, "email").expect("email")
    );
    let report = sync(&text).expect("sync with the unique suggestion");
    assert!(report.ok, "{report:?}");
    assert_eq!(one(&dest, "SELECT count(DISTINCT email) FROM u"), "100000");
    assert_eq!(
        one(&dest, "SELECT count(*) FROM u WHERE email LIKE '%@corp.example.com'"),
        "0"
    );
}

/// r21h F5, F6: under `privacy = "strict"` the FK child of a key marked reviewed was
/// counted as copied unchanged, and the user could not transform it (an FK column's
/// own transformer is a plan error). It is reviewed on its parent's review now, and
/// the report says so; one personal column is "1 personal column".
#[test]
fn an_fk_column_of_a_reviewed_key_is_reviewed_and_counts_read_in_the_singular() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE users (email text primary key);
         CREATE TABLE logins (id int primary key, user_email text REFERENCES users(email));
         INSERT INTO users SELECT 'user' || i || '@example.org' FROM generate_series(1, 20) i;
         INSERT INTO logins SELECT i, 'user' || i || '@example.org' FROM generate_series(1, 20) i;
         CREATE TABLE other (id int primary key, mail text);
         INSERT INTO other SELECT i, 'o' || i || '@example.org' FROM generate_series(1, 20) i;",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let text = format!(
        "seed = \"s\"\nprivacy = \"strict\"\n{}\n[tables]\ninclude = [\"users\", \"logins\"]\n\
         [transform.users]\nemail = {{ kind = \"passthrough\", reason = \"test accounts only\" }}\n",
        job(&src, &[&dest], "")
    );
    let plan = prepare(&text).expect("strict plan with the parent reviewed");
    assert_eq!(
        personal(&plan),
        [
            (
                "logins.user_email".to_string(),
                "email".to_string(),
                Protection::Reviewed {
                    reason: "inherited from users.email: test accounts only".into()
                }
            ),
            (
                "users.email".to_string(),
                "email".to_string(),
                Protection::Reviewed {
                    reason: "test accounts only".into()
                }
            ),
        ]
    );
    let report = plan.privacy.as_ref().expect("privacy").to_text();
    assert!(
        report.starts_with("Personal data (500 rows sampled per table): 2 personal columns, 0 copied unchanged\n"),
        "{report}"
    );

    // One personal column, copied unchanged: the singular.
    let one_column = format!(
        "seed = \"s\"\n{}\n[tables]\ninclude = [\"other\"]\n",
        job(&src, &[&dest], "")
    );
    let plan = prepare(&one_column).expect("plan");
    let report = plan.privacy.as_ref().expect("privacy").to_text();
    assert!(
        report.starts_with("Personal data (500 rows sampled per table): 1 personal column, 1 copied unchanged\n"),
        "{report}"
    );
}
