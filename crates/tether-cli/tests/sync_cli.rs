//! `tether sync`, `tether plan` and `tether demo` as a user runs them.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tether_testkit::{TestDb, TestEngine as Engine};

fn tether(args: &[&str]) -> (i32, String, String) {
    tether_testkit::run(env!("CARGO_BIN_EXE_tether"), args)
}

fn scratch(name: &str) -> tether_testkit::ScratchDir {
    tether_testkit::ScratchDir::new(&format!("cli_{name}"))
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
    // Kill it while it copies a late table. The run creates every table, so it loads
    // into a staging schema that other sessions never see under the tables' names:
    // watch the server's activity instead.
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
    // Killed before its tables moved: none of them exists; its staging schema stays
    // until the next run drops it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(
        &dest,
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'order_item'",
    ) > 0
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let staging = "SELECT count(*) FROM pg_namespace WHERE nspname LIKE '\\_tether\\_stage\\_%'";
    for table in DEMO_TABLES {
        assert_eq!(
            count(
                &dest,
                &format!("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = '{table}'")
            ),
            0,
            "{table}"
        );
    }
    assert_eq!(count(&dest, staging), 1, "the killed run's staging schema");

    let (code, out, err) = tether(&["sync", job.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{out}{err}");
    assert_demo_copy_complete(&dest, &source);
    assert_eq!(count(&dest, staging), 0, "the stale staging schema was dropped");
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
}

#[test]
fn plan_and_sync_show_key_maps_and_folded_leaks() {
    let dir = scratch("keymap");
    let src = dir.join("src.sqlite");
    {
        let c = rusqlite::Connection::open(&src).expect("src");
        c.execute_batch(
            "CREATE TABLE person (id INTEGER PRIMARY KEY, name TEXT NOT NULL, team INTEGER NOT NULL);
             CREATE TABLE note (id INTEGER PRIMARY KEY, person_id INTEGER NOT NULL REFERENCES person (id));
             INSERT INTO person VALUES (1, 'HENRY', 3), (2, 'MARY', 4);
             INSERT INTO note VALUES (10, 1), (11, 2), (12, 2);",
        )
        .expect("source");
    }
    let dest = dir.join("dest.sqlite");
    let job = dir.join("job.toml");
    std::fs::write(
        &job,
        format!(
            "seed = \"s\"\nsource = \"{}\"\n[[destinations]]\nurl = \"sqlite://{}\"\ntruncate = true\n\
             [transform.person]\nid = {{ kind = \"js\", code = \"(v, row) => v * 10 + row.team\" }}\n\
             name = {{ kind = \"js\", code = \"(v) => v[0] + v.slice(1).toLowerCase()\" }}\n",
            src.display(),
            dest.display()
        ),
    )
    .expect("job");
    let job = job.to_str().expect("utf-8");
    let (code, out, err) = tether(&["plan", job]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "(inherited through FK `note_person_id_fkey` from person.id; key map: the function reads its row)"
        ) || out.contains("; key map: the function reads its row)"),
        "{out}"
    );
    let (code, out, _) = tether(&["plan", job, "--format", "json"]);
    assert_eq!(code, 0);
    let plan: Value = serde_json::from_str(&out).expect("JSON plan");
    let note = plan["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| t["name"] == "note")
        .expect("note");
    assert_eq!(note["transforms"][0]["inherited"]["via"], "key map", "{note}");
    assert_eq!(
        note["transforms"][0]["inherited"]["key_map_reason"],
        "the function reads its row"
    );

    let (code, out, err) = tether(&["sync", job]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("unchanged: person.name (js(call_on_null=false, code=\"(v) => v[0] + v.slice(1).toLowerCase()\", deterministic=true, memory_mb=64, timeout_ms=1000)): 0 of 2 rows, 2 ignoring case and spaces"),
        "{out}"
    );
    let c = rusqlite::Connection::open(&dest).expect("dest");
    let notes: Vec<(i64, i64)> = c
        .prepare("SELECT id, person_id FROM note ORDER BY id")
        .expect("select")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect();
    assert_eq!(notes, vec![(10, 13), (11, 24), (12, 24)]);
    let (code, out, _) = tether(&["sync", job, "--format", "json"]);
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(&out).expect("JSON report");
    let name = report["leaks"]
        .as_array()
        .expect("leaks")
        .iter()
        .find(|l| l["column"] == "name")
        .expect("name")
        .clone();
    assert_eq!(
        (
            &name["unchanged"],
            &name["unchanged_folded"],
            &name["source_values_in_destination_folded"]
        ),
        (&Value::from(0), &Value::from(2), &Value::from(2))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn plan_checks_every_source_query_without_rows_and_needs_no_seed() {
    let dir = scratch("plan_checks");
    let job = dir.join("job.toml");
    for engine in [Engine::Sqlite, Engine::Postgres, Engine::Mysql] {
        let src = TestDb::create(engine);
        src.exec(
            "CREATE TABLE customer (id INT NOT NULL PRIMARY KEY, email VARCHAR(40) NOT NULL);
             CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, customer_id INT NOT NULL REFERENCES customer (id));
             INSERT INTO customer VALUES (1, 'a@example.com');
             INSERT INTO orders VALUES (10, 1), (11, 1);",
        );
        let dest = TestDb::create(Engine::Sqlite);
        let write_job = |head: &str, extra: &str| {
            std::fs::write(
                &job,
                format!(
                    "source = \"{}\"\n{head}\n[[destinations]]\nurl = \"{}\"\n\n{extra}",
                    src.url, dest.url
                ),
            )
            .expect("job");
        };
        let job_path = job.to_str().expect("utf-8");
        // Line 6 is the target's table.
        let bad = [
            ("nope = 1", ["no such column: nope", "42703", "1054"]),
            ("id = ", ["syntax error", "42601", "1064"]),
        ];
        for (clause, errors) in bad {
            write_job(
                "",
                &format!("[[subset.targets]]\ntable = \"orders\"\nwhere = \"{clause}\"\n"),
            );
            let server = match engine {
                Engine::Sqlite => errors[0],
                Engine::Postgres => errors[1],
                Engine::Mysql => errors[2],
            };
            for command in ["plan", "sync"] {
                let (code, _, err) = tether(&[command, job_path]);
                assert_eq!(code, 2, "{engine} {command} {clause}: {err}");
                assert!(
                    err.contains(&format!(
                        "job.toml: line 6: subset target `orders`: `where = {clause:?}` fails on the source "
                    )) && err.contains(server),
                    "{engine} {command} {clause}: {err}"
                );
            }
        }
        assert_eq!(
            count(&dest, "SELECT count(*) FROM sqlite_master"),
            0,
            "{engine}: nothing written"
        );

        // A limit target orders by the key: checked the same way, and fine.
        write_job("", "[[subset.targets]]\ntable = \"orders\"\nlimit = 1\n");
        let (code, out, err) = tether(&["plan", job_path]);
        assert_eq!(code, 0, "{engine}: {err}");
        assert!(out.contains("target: first 1 rows"), "{engine}: {out}");
        // A comment ending the `where` does not swallow the `LIMIT` (nor the check's).
        write_job(
            "",
            "[[subset.targets]]\ntable = \"orders\"\nwhere = \"id >= 10 -- every order\"\nlimit = 1\n",
        );
        let (code, _, err) = tether(&["sync", job_path]);
        assert_eq!(code, 0, "{engine}: {err}");
        assert_eq!(count(&dest, "SELECT count(*) FROM orders"), 1, "{engine}");

        // The seed is a secret for writing: planning works without it, a sync names it.
        write_job(
            "seed = \"${TETHER_PLAN_TEST_UNSET_SEED}\"\n",
            "[transform.customer]\nemail = \"email\"\n",
        );
        let (code, out, err) = tether(&["plan", job_path]);
        assert_eq!(code, 0, "{engine}: {err}");
        assert!(out.contains("transform: email = email"), "{engine}: {out}");
        let (code, _, err) = tether(&["sync", job_path]);
        assert_eq!(code, 2, "{engine}: {err}");
        assert!(
            err.contains("job.toml: line 2: seed: environment variable `TETHER_PLAN_TEST_UNSET_SEED` is not set"),
            "{engine}: {err}"
        );
    }

    // A destination's password is a secret too, and a destination planning cannot reach
    // is not checked against the source: the plan says so, the sync checks it.
    let src = TestDb::create(Engine::Sqlite);
    src.exec("CREATE TABLE t (id INT PRIMARY KEY);");
    std::fs::write(
        &job,
        format!(
            "source = \"{}\"\n[[destinations]]\nurl = \"postgres://app:${{TETHER_PLAN_TEST_UNSET_PW}}@127.0.0.1/x\"\n\
             [[destinations]]\nurl = \"postgres://app@127.0.0.1:1/x\"\n",
            src.url
        ),
    )
    .expect("job");
    let job_path = job.to_str().expect("utf-8");
    let (code, out, err) = tether(&["plan", job_path]);
    assert_eq!(code, 0, "{err}");
    for line in [
        "destination: postgres://app:***@127.0.0.1/x (on_conflict = error)\n",
        "destination: postgres://app@127.0.0.1:1/x (on_conflict = error)\n",
        "note: destination #1: not checked against the source and the other destinations: ",
        "job.toml: line 2: destination url: environment variable `TETHER_PLAN_TEST_UNSET_PW` is not set\n",
        "note: destination #2: not checked against the source and the other destinations: \
         cannot connect to postgres://app@127.0.0.1:1/x: ",
    ] {
        assert!(out.contains(line), "{line}\n{out}");
    }
    let (code, _, err) = tether(&["sync", job_path]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("job.toml: line 2: destination url: environment variable `TETHER_PLAN_TEST_UNSET_PW` is not set"),
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

/// A destination named `file:src.sqlite` in a job run from its own directory: SQLite
/// would read it as a URI naming `src.sqlite`, the source (a file literally named
/// `file:src.sqlite` fooled the source/destination identity check, and the run emptied
/// the source). Refused before anything is opened; the source keeps its rows.
#[test]
fn a_sqlite_uri_destination_never_reaches_the_source() {
    let dir = scratch("file_uri");
    let src = dir.join("src.sqlite");
    {
        let c = rusqlite::Connection::open(&src).expect("source");
        c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b');")
            .expect("rows");
    }
    std::fs::write(dir.join("file:src.sqlite"), b"").expect("decoy");
    std::fs::write(
        dir.join("job.toml"),
        "source = \"sqlite://src.sqlite\"\n[[destinations]]\nurl = \"file:src.sqlite\"\ntruncate = true\n",
    )
    .expect("job");
    let out = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(["sync", "job.toml"])
        .current_dir(dir.path())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("SQLite URI file names (`file:...`) are not supported"),
        "{err}"
    );
    let c = rusqlite::Connection::open(&src).expect("source");
    let n: i64 = c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).expect("count");
    assert_eq!(n, 2);
}

/// SIGTERM (what `timeout`, `docker stop` and systemd send) stops a run as Ctrl-C
/// does: the destination's triggers, dropped for a batched load, are created again,
/// the error says what each destination holds, and the exit code is 130.
#[test]
fn sigterm_during_a_load_puts_back_the_destination_s_triggers() {
    let dir = scratch("sigterm");
    let demo = dir.join("shop.sqlite");
    let (code, _, err) = tether(&["demo", demo.to_str().expect("utf-8"), "--scale", "0.5"]);
    assert_eq!(code, 0, "{err}");
    let dest = TestDb::create(Engine::Mysql);
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
    let (code, out, err) = tether(&["sync", job.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{out}{err}");
    dest.exec(
        "CREATE TABLE audit (n int); \
         CREATE TRIGGER order_item_audit AFTER INSERT ON order_item FOR EACH ROW INSERT INTO audit VALUES (1)",
    );
    let triggers = "SELECT count(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()";
    assert_eq!(count(&dest, triggers), 1);

    let child = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(["sync", job.to_str().expect("utf-8")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sync");
    // The trigger is dropped once the load begins and the tables emptied; stop it
    // while rows go in again.
    let started = Instant::now();
    let mut stopped = false;
    let mut emptied = false;
    while started.elapsed() < Duration::from_secs(60) {
        let customers = count(&dest, "SELECT count(*) FROM customer");
        emptied |= customers == 0;
        if emptied && count(&dest, triggers) == 0 && customers > 0 {
            let pid = child.id().to_string();
            let status = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
            assert!(status.success());
            stopped = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(stopped, "the load never started: {err}");
    if out.status.code() == Some(0) {
        eprintln!("skipped: the sync finished before SIGTERM reached it");
        return;
    }
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        err.contains("error: interrupted: the job stopped before it finished (while loading")
            && err.contains("truncate = true had emptied the job's tables that were there")
            && err.contains("rows this run wrote into tables that were there stay: "),
        "{err}"
    );
    assert_eq!(count(&dest, triggers), 1, "the trigger is back");
    assert_eq!(
        count(&dest, "SELECT count(*) FROM audit"),
        0,
        "it never fired on the load"
    );
}

/// Interrupted while its load waits on a lock another session holds: the undo ends the
/// waiting server session (which would not notice its client leave, and kept its
/// transaction and the locks) and waits at most 10 s for a lock itself, so the run
/// stops within seconds, not when the other session ends, and says what stays (the
/// table it created cannot be dropped while the other session holds its parent).
#[test]
fn an_interrupted_load_waiting_on_a_lock_stops_at_once() {
    let dir = scratch("lock_wait");
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE p (id int PRIMARY KEY, name text);
         CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p (id));
         INSERT INTO p SELECT g, 'n' || g FROM generate_series(1, 200) g;
         INSERT INTO c SELECT g, 1 + g % 200 FROM generate_series(1, 300) g;",
    );
    let dest = TestDb::create(Engine::Postgres);
    dest.exec("CREATE TABLE p (id int PRIMARY KEY, name text)");
    let marker = format!("tether_lock_{}", std::process::id());
    let blocker = {
        let dest_url = dest.url.clone();
        let marker = marker.clone();
        std::thread::spawn(move || {
            // (Ended by the test at the end: the script's panic stays in this thread.)
            tether_testkit::exec_url(
                Engine::Postgres,
                &dest_url,
                &format!("BEGIN; LOCK TABLE p IN ACCESS SHARE MODE; SELECT pg_sleep(60) /* {marker} */; COMMIT;"),
            );
        })
    };
    let job = dir.join("job.toml");
    std::fs::write(
        &job,
        format!("source = \"{}\"\n[[destinations]]\nurl = \"{}\"\n", src.url, dest.url),
    )
    .expect("job");
    let waiting = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                   AND application_name = 'tether' AND wait_event_type = 'Lock'";
    let deadline = Instant::now() + Duration::from_secs(20);
    while count(&dest, &format!("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%{marker}%' AND query NOT LIKE '%pg_stat_activity%'")) == 0 {
        assert!(Instant::now() < deadline, "the blocker never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let child = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(["sync", job.to_str().expect("utf-8")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sync");
    while count(&dest, waiting) == 0 {
        assert!(
            Instant::now() < deadline + Duration::from_secs(20),
            "the load never waited on the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id().to_string();
    let interrupted = Instant::now();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill")
        .success());
    let out = child.wait_with_output().expect("wait");
    let took = interrupted.elapsed();
    // The blocker is ended either way, so the test does not wait for it.
    count(
        &dest,
        &format!(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE query LIKE '%{marker}%' AND pid <> pg_backend_pid()) t"
        ),
    );
    let _ = blocker.join();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        took < Duration::from_secs(40),
        "the undo waited {took:?} for the lock: {err}"
    );
    let c_stays = count(
        &dest,
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'c'",
    );
    assert_eq!(
        c_stays == 1,
        err.contains("the tables this run created could not be dropped again") && err.contains("they stay: c"),
        "{err}"
    );
}
