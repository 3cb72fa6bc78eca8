//! `tether sync`, `tether plan` and `tether demo` as a user runs them.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tether_testkit::{TestDb, TestEngine as Engine};

fn tether(args: &[&str]) -> (i32, String, String) {
    tether_testkit::run(env!("CARGO_BIN_EXE_tether"), args)
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tether_cli_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The demo's foreign keys as (child, columns, parent, columns).
const DEMO_FKS: &[(&str, &[&str], &str, &[&str])] = &[
    ("employee", &["manager_id"], "employee", &["id"]),
    ("department", &["head_position_id"], "position", &["id"]),
    ("position", &["department_id"], "department", &["id"]),
    ("position", &["employee_id"], "employee", &["id"]),
    ("customer", &["region_id"], "region", &["id"]),
    ("customer", &["support_rep_id"], "employee", &["id"]),
    ("customer", &["default_address_id"], "address", &["id"]),
    ("address", &["customer_id"], "customer", &["id"]),
    ("orders", &["customer_id"], "customer", &["id"]),
    ("orders", &["shipping_address_id"], "address", &["id"]),
    ("order_item", &["order_id"], "orders", &["id"]),
    ("order_item", &["product_id"], "product", &["id"]),
    (
        "shipment",
        &["order_id", "line_no"],
        "order_item",
        &["order_id", "line_no"],
    ),
    ("review", &["product_sku"], "product", &["sku"]),
    ("review", &["customer_id"], "customer", &["id"]),
];

const DEMO_TABLES: &[&str] = &[
    "region",
    "product",
    "employee",
    "department",
    "position",
    "customer",
    "address",
    "orders",
    "order_item",
    "shipment",
    "review",
];

fn count(db: &TestDb, sql: &str) -> i64 {
    db.query(sql)[0][0].as_deref().expect("count").parse().expect("number")
}

fn assert_demo_copy_complete(dest: &TestDb, source: &rusqlite::Connection) {
    for t in DEMO_TABLES {
        let want: i64 = source
            .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
            .expect("count");
        assert_eq!(count(dest, &format!("SELECT count(*) FROM {t}")), want, "rows of {t}");
    }
    for (c, cc, p, pc) in DEMO_FKS {
        let not_null: Vec<String> = cc.iter().map(|x| format!("c.{x} IS NOT NULL")).collect();
        let join: Vec<String> = cc
            .iter()
            .zip(pc.iter())
            .map(|(x, y)| format!("p.{y} = c.{x}"))
            .collect();
        let sql = format!(
            "SELECT count(*) FROM {c} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {p} p WHERE {})",
            not_null.join(" AND "),
            join.join(" AND ")
        );
        assert_eq!(count(dest, &sql), 0, "orphans of {c}({})", cc.join(", "));
    }
}

#[test]
fn a_sync_killed_midway_leaves_nothing_and_run_again_ends_correct() {
    let dir = scratch("killed");
    let demo = dir.join("shop.sqlite");
    let (code, _, err) = tether(&["demo", demo.to_str().expect("utf-8"), "--scale", "0.5"]);
    assert_eq!(code, 0, "{err}");
    let dest = TestDb::create(Engine::Postgres);
    let job = dir.join("job.toml");
    std::fs::write(
        &job,
        format!(
            "source = \"sqlite://{}\"\n[[destinations]]\nurl = \"{}\"\ntruncate = true\n",
            demo.display(),
            dest.url
        ),
    )
    .expect("job");

    let mut child = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(["sync", job.to_str().expect("utf-8")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sync");
    // Kill it while it copies a late table. The PostgreSQL load is one transaction, so
    // other sessions see nothing of it: watch the server's activity instead.
    let started = Instant::now();
    let mut killed_midway = false;
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        let copying = count(
            &dest,
            &format!(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' AND query LIKE 'COPY %order_item%'",
                dest.name
            ),
        );
        if copying > 0 {
            child.kill().expect("kill");
            killed_midway = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.wait();
    assert!(
        killed_midway,
        "the sync finished before it could be killed; make the demo bigger"
    );
    let source = rusqlite::Connection::open(&demo).expect("demo");
    // Killed inside its transaction: nothing of it stays, every FK is there.
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(
        &dest,
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'order_item'",
    ) > 0
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    for table in DEMO_TABLES {
        assert_eq!(count(&dest, &format!("SELECT count(*) FROM {table}")), 0, "{table}");
    }
    assert_eq!(
        count(&dest, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"),
        DEMO_FKS.len() as i64
    );

    let (code, out, err) = tether(&["sync", job.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{out}{err}");
    assert_demo_copy_complete(&dest, &source);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn json_outputs_and_exit_codes() {
    let dir = scratch("json");
    let src = dir.join("src.sqlite");
    {
        let c = rusqlite::Connection::open(&src).expect("src");
        c.execute_batch(
            "CREATE TABLE b (id INTEGER PRIMARY KEY);
             CREATE TABLE a (id INTEGER PRIMARY KEY, b_ref INTEGER);
             INSERT INTO b VALUES (1), (2);
             INSERT INTO a VALUES (10, 1), (11, 2), (12, 7);",
        )
        .expect("source");
    }
    let dest = dir.join("dest.sqlite");
    let job = dir.join("job.toml");
    let write_job = |extra: &str| {
        std::fs::write(
            &job,
            format!(
                "source = \"{}\"\n[[destinations]]\nurl = \"sqlite://{}\"\ntruncate = true\n{extra}",
                src.display(),
                dest.display()
            ),
        )
        .expect("job")
    };
    write_job("");
    let (code, out, err) = tether(&["sync", job.to_str().expect("utf-8"), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).expect("JSON report");
    assert_eq!(report["ok"], true);
    let tables: Vec<(String, u64)> = report["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| {
            (
                t["table"].as_str().expect("name").to_string(),
                t["rows_read"].as_u64().expect("rows"),
            )
        })
        .collect();
    assert_eq!(tables, vec![("a".to_string(), 3), ("b".to_string(), 2)]);
    assert_eq!(report["verification"][0]["foreign_keys_checked"], 0);

    // The undeclared relation a.b_ref -> b.id, violated by a row of the source itself:
    // the destination is verified against it and the job fails with exit code 4.
    write_job("[[virtual_foreign_keys]]\ntable = \"a\"\ncolumns = [\"b_ref\"]\nreferenced_table = \"b\"\n");
    let (code, out, _) = tether(&["plan", job.to_str().expect("utf-8"), "--format", "json"]);
    assert_eq!(code, 0);
    let plan: Value = serde_json::from_str(&out).expect("JSON plan");
    let order: Vec<&str> = plan["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect();
    assert_eq!(order, ["b", "a"], "the virtual FK orders b first");
    let (code, out, _) = tether(&["sync", job.to_str().expect("utf-8")]);
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("VERIFICATION FAILED"), "{out}");
    assert!(
        out.contains("1 orphan rows in a for foreign key a_b_ref_vfk (virtual); for example (id)=(12)"),
        "{out}"
    );

    // A job naming a table the source does not have.
    write_job("[[subset.targets]]\ntable = \"nope\"\nlimit = 1\n");
    let (code, _, err) = tether(&["sync", job.to_str().expect("utf-8")]);
    assert_eq!(code, 2);
    assert!(
        err.contains("line 5: subset target: table `nope` does not exist in the source"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `tether sync` PostgreSQL -> MariaDB and back, both sides over TLS with the full
/// certificate check and a client certificate: the servers' `tls_client` user logs
/// in with nothing else (PostgreSQL `hostssl ... cert`, MariaDB `REQUIRE X509`).
#[test]
fn sync_over_tls_both_ways() {
    use tether_testkit::tls::{self, CERT_USER};
    let (pg, my, c) = (tls::pg_tls(), tls::mariadb_tls(), tls::certs());
    let (ca, cert, key) = (c.ca.display(), c.client_cert.display(), c.client_key.display());
    let pg_url = |db: &str| {
        format!(
            "postgres://{CERT_USER}@127.0.0.1:{}/{db}?sslmode=verify-full&sslrootcert={ca}&sslcert={cert}&sslkey={key}",
            pg.port
        )
    };
    let my_url = |db: &str| {
        format!(
            "mysql://{CERT_USER}@127.0.0.1:{}/{db}?ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}&ssl-cert={cert}&ssl-key={key}",
            my.port
        )
    };
    pg.create_db("tls_source");
    pg.exec(
        "tls_source",
        "CREATE TABLE author (id int PRIMARY KEY, name text NOT NULL);
         CREATE TABLE book (id int PRIMARY KEY, author_id int NOT NULL REFERENCES author (id), title text);
         INSERT INTO author VALUES (1, 'Ada'), (2, 'Grace');
         INSERT INTO book VALUES (10, 1, 'Notes'), (11, 2, NULL), (12, 2, 'COBOL');",
    );
    my.create_db("tls_copy");
    pg.create_db("tls_back");
    let dir = scratch("tls");
    for (name, source, dest) in [
        ("there", pg_url("tls_source"), my_url("tls_copy")),
        ("back", my_url("tls_copy"), pg_url("tls_back")),
    ] {
        let job = dir.join(format!("{name}.toml"));
        std::fs::write(
            &job,
            format!("source = \"{source}\"\n\n[[destinations]]\nurl = \"{dest}\"\n"),
        )
        .expect("job");
        let (code, out, err) = tether(&["sync", job.to_str().expect("utf-8 path")]);
        assert_eq!(code, 0, "{name}: {out}{err}");
    }
    let books = "SELECT b.id, a.name, b.title FROM book b JOIN author a ON a.id = b.author_id ORDER BY b.id";
    let want = vec![
        vec![
            Some("10".to_string()),
            Some("Ada".to_string()),
            Some("Notes".to_string()),
        ],
        vec![Some("11".to_string()), Some("Grace".to_string()), None],
        vec![
            Some("12".to_string()),
            Some("Grace".to_string()),
            Some("COBOL".to_string()),
        ],
    ];
    assert_eq!(my.query("tls_copy", books), want);
    assert_eq!(pg.query("tls_back", books), want);

    // The same job against a server whose certificate another CA signed fails, and says so.
    let wrong = pg_url("tls_source").replace(&ca.to_string(), &c.other_ca.display().to_string());
    let job = dir.join("wrong.toml");
    std::fs::write(
        &job,
        format!(
            "source = \"{wrong}\"\n\n[[destinations]]\nurl = \"{}\"\n",
            my_url("tls_copy")
        ),
    )
    .expect("job");
    let (code, out, err) = tether(&["plan", job.to_str().expect("utf-8 path")]);
    assert_ne!(code, 0, "{out}");
    assert!(
        err.contains("TLS certificate check failed: the server's certificate is not signed by a CA in sslrootcert"),
        "{err}"
    );
}
