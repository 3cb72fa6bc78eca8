//! Twenty-second review, M (r22m): the personal-data scan, round 2. Types the engines
//! hold as text but Tether's neutral types leave as "other" (PostgreSQL's `xml`,
//! `citext`, `bpchar`; SQLite columns declared without a type) are judged as text, and
//! an XML column gets a suggestion that stays XML (F2). Number-like values (serials,
//! signed numbers, order and invoice numbers, versions, ISBNs) are no phone numbers, and
//! the phone numbers found before still are (F3). Each replays the reviewer's scenario
//! on the real servers.

mod common;

use common::*;
use tether_sync::scan::Scan;
use tether_testkit::{TestDb, TestEngine as Engine};

/// `(column, class)` of each column of `found`, the class as the report names it.
fn classes(found: &Scan) -> Vec<(String, Option<String>)> {
    found
        .columns
        .iter()
        .map(|c| (c.column.clone(), c.class.map(|k| k.to_string())))
        .collect()
}

/// A column and the value it holds in row `i`.
type Column = (&'static str, fn(usize) -> String);

/// `INSERT INTO t VALUES (...)` of 20 rows: `id` and one text literal per column.
fn insert_rows(table: &str, columns: &[Column]) -> String {
    let rows: Vec<String> = (1..=20)
        .map(|i| {
            let values: Vec<String> = columns.iter().map(|(_, f)| format!("'{}'", f(i))).collect();
            format!("({i}, {})", values.join(", "))
        })
        .collect();
    format!("INSERT INTO {table} VALUES {};", rows.join(",\n  "))
}

/// r22m F2: a PostgreSQL `xml` column holding emails was "not personal", so `--suggest`
/// wrote nothing and the sync copied every address while reporting "0 copied
/// unchanged". Now it is free text with a suggestion that stays XML (`null`, or a
/// constant document where NULL is refused), and the strict sync with the suggestions
/// leaves no address; `citext` and `bpchar` free text are found the same way.
#[test]
fn xml_and_other_text_types_are_judged_as_text() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE EXTENSION IF NOT EXISTS citext;
         CREATE TABLE person (id int PRIMARY KEY, profile xml, card xml NOT NULL, note citext, memo bpchar);
         INSERT INTO person SELECT g, ('<p><mail>z' || g || '@ex.org</mail></p>')::xml,
           ('<c><name>n' || g || '</name><mail>c' || g || '@ex.org</mail></c>')::xml,
           'write to z' || g || '@ex.org please', 'call +49 30 1234' || (100 + g) || ' now'
         FROM generate_series(1, 40) g;",
    );
    let found = scan(&src);
    assert_eq!(
        classes(&found),
        [
            ("id".to_string(), None),
            ("profile".to_string(), Some("free text".to_string())),
            ("card".to_string(), Some("free text".to_string())),
            ("note".to_string(), Some("free text".to_string())),
            ("memo".to_string(), Some("free text".to_string())),
        ]
    );
    assert_eq!(suggested(&found, "profile").as_deref(), Some("\"null\""));
    assert_eq!(
        suggested(&found, "card").as_deref(),
        Some("{ kind = \"constant\", value = \"<redacted/>\" }")
    );
    let evidence = found.columns[1].evidence.join("; ");
    assert!(
        evidence.contains("40 of 40 sampled hold an email in their text"),
        "{evidence}"
    );
    assert!(evidence.contains("type: XML: suggested \"null\""), "{evidence}");

    let dest = TestDb::create(Engine::Postgres);
    dest.exec("CREATE EXTENSION IF NOT EXISTS citext;");
    let mut table = String::from("[transform.person]\n");
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
    let report = sync(&strict).expect("strict sync with the suggestions");
    assert!(report.ok, "{report:?}");
    assert_eq!(
        one(
            &dest,
            "SELECT count(*) FROM person WHERE profile::text LIKE '%@ex.org%' OR card::text LIKE '%@ex.org%' \
             OR note LIKE '%@ex.org%'"
        ),
        "0"
    );
    assert_eq!(one(&dest, "SELECT count(*) FROM person WHERE profile IS NULL"), "40");
    assert_eq!(
        one(&dest, "SELECT count(*) FROM person WHERE card::text = '<redacted/>'"),
        "40"
    );
}

/// r22m F2, SQLite: a column declared without a type (or as `STRING`) holds text; the
/// emails in its sentences are found as in a `TEXT` column.
#[test]
fn sqlite_columns_without_a_text_type_are_judged_as_text() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(&format!(
        "CREATE TABLE n (id int PRIMARY KEY, loose, named STRING);\n{}",
        insert_rows(
            "n",
            &[
                ("loose", |i| format!("write to u{i}@example.org please")),
                ("named", |i| format!("reach me at +49 30 1234{} after 5", 100 + i)),
            ]
        )
    ));
    assert_eq!(
        classes(&scan(&src)),
        [
            ("id".to_string(), None),
            ("loose".to_string(), Some("free text".to_string())),
            ("named".to_string(), Some("free text".to_string())),
        ]
    );
}

/// The reviewer's number-like values, one column each, and the phone spellings found
/// before this change.
fn number_like(engine: Engine) -> TestDb {
    let src = TestDb::create(engine);
    let columns: [Column; 14] = [
        // Not phones.
        ("signed", |i| format!("+{}", i * 1_234_567)),
        ("serial", |i| format!("SN 2024-1105-{i:04}")),
        ("dashed", |i| format!("2024-1105-{i:04}")),
        ("released", |i| format!("release 10.0.19041.{} fixes bugs", 1000 + i)),
        ("isbn", |i| format!("978-3-16-{i:06}-0")),
        ("cited", |i| format!("ISBN 978-3-16-{i:06}-0 is the book")),
        ("ordered", |i| format!("shipped order 2024-{:06} today", 10 + i)),
        ("invoiced", |i| format!("invoice INV-2024-{:06} was paid", 10 + i)),
        ("ref", |i| format!("ref 2024 0001 {i:04} closed now")),
        // Phones, as before.
        ("mobile", |i| format!("+49 30 1234{}", 100 + i)),
        ("bare", |i| format!("+49301234{}", 100 + i)),
        ("said", |i| format!("call me at (555) 010-{} today", 9000 + i)),
        ("labelled", |i| format!("tel +49301{}", 1000 + i)),
        ("national", |i| format!("030 1234{}", 100 + i)),
    ];
    let defs: Vec<String> = columns.iter().map(|(c, _)| format!("{c} varchar(80)")).collect();
    src.exec(&format!(
        "CREATE TABLE v (id int PRIMARY KEY, {});\n{}",
        defs.join(", "),
        insert_rows("v", &columns)
    ));
    src
}

/// r22m F3: serials, signed numbers kept as text, order and invoice numbers, versions
/// and ISBNs were phones (whole values) or "free text holding a phone", and
/// `--suggest` wrote `phone`/`lorem` over them. Now none is personal, on every source
/// engine, and every phone spelling found before still is.
#[test]
fn number_like_values_are_not_phone_numbers() {
    for engine in [Engine::Sqlite, Engine::Postgres, Engine::Mysql] {
        let found = scan(&number_like(engine));
        let phone = Some("phone".to_string());
        let text = Some("free text".to_string());
        let want: Vec<(String, Option<String>)> = [
            ("id", None),
            ("signed", None),
            ("serial", None),
            ("dashed", None),
            ("released", None),
            ("isbn", None),
            ("cited", None),
            ("ordered", None),
            ("invoiced", None),
            ("ref", None),
            ("mobile", phone.clone()),
            ("bare", phone.clone()),
            ("said", text.clone()),
            ("labelled", text.clone()),
            ("national", phone.clone()),
        ]
        .into_iter()
        .map(|(c, k)| (c.to_string(), k))
        .collect();
        assert_eq!(classes(&found), want, "{engine:?}");
        // Nothing is suggested for them, so `--suggest` leaves the values alone.
        for c in ["signed", "serial", "isbn", "ordered"] {
            assert_eq!(suggested(&found, c), None, "{engine:?} {c}");
        }
    }
}

/// Review r23l L1: SQLite text that is not UTF-8 (Latin-1 e-mails with an accented
/// name) is read as Latin-1 by the scan: the column is found (before: sampled but never
/// looked at, "0 personal columns", and a strict job copied the addresses).
#[test]
fn text_that_is_not_utf8_is_scanned() {
    let src = TestDb::create(Engine::Sqlite);
    let rows: Vec<String> = (1..=20)
        .map(|i| {
            format!(
                "({i}, CAST(X'{}' AS TEXT))",
                hex_of(&format!("jos\u{e9}{i}@example.org"))
            )
        })
        .collect();
    src.exec(&format!(
        "CREATE TABLE t (id integer PRIMARY KEY, x1 text);\nINSERT INTO t VALUES {};",
        rows.join(", ")
    ));
    assert_eq!(one(&src, "SELECT count(*) FROM t WHERE typeof(x1) = 'text'"), "20");
    assert_eq!(
        classes(&scan(&src)),
        [("id".to_string(), None), ("x1".to_string(), Some("email".to_string()))]
    );
}

/// `text` in Latin-1 (every character below U+0100), as hex.
fn hex_of(text: &str) -> String {
    text.chars()
        .map(|c| format!("{:02X}", u8::try_from(u32::from(c)).expect("latin-1")))
        .collect()
}
