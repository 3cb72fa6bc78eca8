//! `tether scan` as a user runs it, and `privacy = "strict"` jobs.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use tether_testkit::ScratchDir;

fn tether(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(args)
        .current_dir(cwd)
        .env("TETHER_SEED", "scan-test-seed")
        .output()
        .expect("run tether");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A small shop: customers with emails and phones, orders pointing at them.
fn shop(path: &Path) {
    let c = rusqlite::Connection::open(path).expect("open");
    c.execute_batch(
        "CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, phone TEXT, tier TEXT);
         CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customer(id), total REAL);",
    )
    .expect("schema");
    for i in 1..=20 {
        c.execute(
            "INSERT INTO customer VALUES (?1, ?2, ?3, 'gold')",
            rusqlite::params![i, format!("c{i}@shop.example"), format!("+1 555 010 {i:04}")],
        )
        .expect("customer");
        c.execute("INSERT INTO orders VALUES (?1, ?1, 9.5)", rusqlite::params![i])
            .expect("order");
    }
}

#[test]
fn scan_lists_personal_columns_with_masked_evidence_as_text_and_json() {
    let dir = ScratchDir::new("scan_url");
    let db = dir.join("shop.sqlite");
    shop(&db);
    let (code, out, err) = tether(&dir, &["scan", "shop.sqlite"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("customer.email"), "{out}");
    assert!(out.contains("customer.phone"), "{out}");
    assert!(!out.contains("customer.tier") && !out.contains("orders.total"), "{out}");
    assert!(out.contains("2 personal columns of 7"), "{out}");
    // Values are shown masked only.
    assert!(out.contains("c***@s***.example"), "{out}");
    assert!(!out.contains("c1@shop.example"), "{out}");

    let (code, out, err) = tether(&dir, &["scan", "shop.sqlite", "--format", "json", "--sample", "5"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["sample"], 5);
    assert_eq!(v["rows_read"], 10);
    let classes: Vec<(String, Value)> = v["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| {
            (
                format!("{}.{}", c["table"].as_str().unwrap(), c["column"].as_str().unwrap()),
                c["class"].clone(),
            )
        })
        .collect();
    assert_eq!(
        classes,
        [
            ("customer.id".to_string(), Value::Null),
            ("customer.email".to_string(), Value::from("email")),
            ("customer.phone".to_string(), Value::from("phone")),
            ("customer.tier".to_string(), Value::Null),
            ("orders.id".to_string(), Value::Null),
            ("orders.customer_id".to_string(), Value::Null),
            ("orders.total".to_string(), Value::Null),
        ]
    );
    assert!(!out.contains("c1@shop.example"), "{out}");
}

#[test]
fn a_strict_job_refuses_unprotected_personal_columns_until_transformed_or_reviewed() {
    let dir = ScratchDir::new("scan_strict");
    shop(&dir.join("shop.sqlite"));
    let job = dir.join("job.toml");
    let head =
        "# strict job\nprivacy = \"strict\"\nsource = \"shop.sqlite\"\n[[destinations]]\nurl = \"copy.sqlite\"\n";
    std::fs::write(&job, head).expect("job");

    // Plan and sync both refuse, naming the columns; nothing is written.
    for cmd in ["plan", "sync"] {
        let (code, _, err) = tether(&dir, &[cmd, "job.toml"]);
        assert_eq!(code, 2, "{cmd}: {err}");
        assert!(
            err.contains("privacy = \"strict\": 2 personal columns would be copied unchanged: customer.email (email), customer.phone (phone)"),
            "{cmd}: {err}"
        );
    }
    assert!(!dir.join("copy.sqlite").exists(), "nothing written");

    // The scan of the job says the same, and --suggest writes transformers.
    let (code, out, err) = tether(&dir, &["scan", "job.toml", "--suggest"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("2 copied unchanged by this job"), "{out}");
    // `customer.email` is unique: the kind's unique form (r21h F3).
    assert!(
        out.contains("written to the job: customer.email = { kind = \"email\", unique = true }"),
        "{out}"
    );
    let text = std::fs::read_to_string(&job).expect("job");
    assert!(text.starts_with("# strict job\n"), "comments kept: {text}");
    assert!(text.contains("[transform.customer]"), "{text}");
    assert!(!text.contains("customer_id"), "FK columns inherit: {text}");

    // Transformed now: it runs.
    let (code, out, err) = tether(&dir, &["sync", "job.toml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 personal columns, 0 copied unchanged"), "{out}");

    // A reviewed passthrough counts as covered; a bare one does not.
    let reviewed = format!(
        "seed = \"${{TETHER_SEED}}\"\n{head}[transform.customer]\nemail = \"email\"\nphone = {{ kind = \"passthrough\", reason = \"test numbers only\" }}\n"
    );
    std::fs::write(&job, &reviewed).expect("job");
    let (code, out, err) = tether(&dir, &["plan", "job.toml"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 reviewed (passthrough with a reason)"), "{out}");
    std::fs::write(&job, reviewed.replace(", reason = \"test numbers only\"", "")).expect("job");
    let (code, _, err) = tether(&dir, &["plan", "job.toml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("customer.phone (phone)"), "{err}");
}
