//! Twenty-first session (the nineteenth session's open items): `--format json` prints a
//! JSON error document when a command fails, libpq's percent-encoded socket directory
//! in the host (`postgres://u@%2Fvar%2Frun%2Fpostgresql/db`) is a socket, and a
//! partition named where a table is expected says it is a partition of its table.

use std::path::Path;

use serde_json::Value;
use tether_testkit::{ScratchDir, TestDb, TestEngine as Engine};

fn tether(args: &[&str]) -> (i32, String, String) {
    tether_testkit::run(env!("CARGO_BIN_EXE_tether"), args)
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, body).expect("write file");
    path.display().to_string()
}

/// The one JSON document on stdout, with its `error` object.
fn error_document(stdout: &str) -> Value {
    let doc: Value = serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not one JSON document ({e}): {stdout}"));
    doc["error"].clone()
}

#[test]
fn a_failure_asked_for_json_prints_one_error_document() {
    let dir = ScratchDir::new("cli_r22_json");
    let source = TestDb::create(Engine::Sqlite);
    source.exec("CREATE TABLE p (id INTEGER PRIMARY KEY); INSERT INTO p VALUES (1);");
    let out = dir.join("out.sqlite");
    // A job naming a table the source lacks: bad configuration, exit 2.
    let bad_table = write(
        &dir,
        "bad_table.toml",
        &format!(
            "source = \"{}\"\n[tables]\ninclude = [\"nope\"]\n[[destinations]]\nurl = \"sqlite://{}\"\n",
            source.url,
            out.display()
        ),
    );
    for command in ["sync", "plan"] {
        let (code, stdout, stderr) = tether(&[command, &bad_table, "--format", "json"]);
        assert_eq!(code, 2, "{command}: {stdout}{stderr}");
        let e = error_document(&stdout);
        assert_eq!(e["kind"], "usage", "{command}: {stdout}");
        assert_eq!(e["exit_code"], 2, "{command}: {stdout}");
        let message = e["message"].as_str().expect("a message");
        assert!(
            message.ends_with("[tables]: table `nope` does not exist in the source"),
            "{message}"
        );
        assert!(stderr.contains(message), "the stderr line is unchanged: {stderr}");
        assert!(e["causes"].as_array().is_some_and(|c| !c.is_empty()), "{stdout}");
        // Text output keeps stdout empty on failure.
        let (code, stdout, _) = tether(&[command, &bad_table]);
        assert_eq!((code, stdout.as_str()), (2, ""), "{command}");
    }
    // A server that does not answer: exit 3, and the password is in neither stream.
    let unreachable = write(
        &dir,
        "unreachable.toml",
        &format!(
            "source = \"{}\"\n[[destinations]]\nurl = \"postgres://app:Sup3rSecret@127.0.0.1:1/db\"\n",
            source.url
        ),
    );
    let (code, stdout, stderr) = tether(&["sync", &unreachable, "--format", "json"]);
    assert_eq!(code, 3, "{stdout}{stderr}");
    let e = error_document(&stdout);
    assert_eq!(
        (e["kind"].as_str(), e["exit_code"].as_i64()),
        (Some("connect"), Some(3)),
        "{stdout}"
    );
    assert!(
        !stdout.contains("Sup3rSecret") && !stderr.contains("Sup3rSecret"),
        "{stdout}{stderr}"
    );
    assert!(
        stdout.contains("app:***@127.0.0.1:1"),
        "the URL is named, redacted: {stdout}"
    );
    // The seed never appears either (a job with a bad transformer fails after reading it).
    let seeded = write(
        &dir,
        "seeded.toml",
        &format!(
            "source = \"{}\"\nseed = \"MySeedValue42\"\n[transform.p]\nid = \"no_such_kind\"\n\
             [[destinations]]\nurl = \"sqlite://{}\"\n",
            source.url,
            out.display()
        ),
    );
    let (code, stdout, stderr) = tether(&["sync", &seeded, "--format", "json"]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert_eq!(error_document(&stdout)["kind"], "usage");
    assert!(
        !stdout.contains("MySeedValue42") && !stderr.contains("MySeedValue42"),
        "{stdout}{stderr}"
    );
    // schema and scan with --format json, on a SQLite file that is not there.
    let missing = dir.join("missing.sqlite").display().to_string();
    for args in [
        vec!["schema", missing.as_str(), "--format", "json"],
        vec!["scan", missing.as_str(), "--format", "json"],
    ] {
        let (code, stdout, stderr) = tether(&args);
        assert_eq!(code, 3, "{args:?}: {stdout}{stderr}");
        let e = error_document(&stdout);
        assert_eq!(e["kind"], "connect", "{args:?}: {stdout}");
        assert!(e["message"].as_str().unwrap().contains("missing.sqlite"), "{stdout}");
    }
    // A success prints the report only.
    let good = write(
        &dir,
        "good.toml",
        &format!(
            "source = \"{}\"\n[[destinations]]\nurl = \"sqlite://{}\"\n",
            source.url,
            out.display()
        ),
    );
    let (code, stdout, stderr) = tether(&["sync", &good, "--format", "json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("one JSON report");
    assert!(report.get("error").is_none(), "{stdout}");
}

#[test]
fn a_percent_encoded_socket_directory_connects_as_host_does() {
    let db = TestDb::create(Engine::Postgres);
    db.exec("CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (id int PRIMARY KEY, p int REFERENCES p);");
    let socket_dir = db.query("SHOW unix_socket_directories")[0][0]
        .clone()
        .expect("a socket directory");
    let socket_dir = socket_dir.split(',').next().expect("one directory").trim().to_string();
    let tether_connect::DbUrl::Postgres(server) = db.db_url() else {
        panic!("{}", db.url)
    };
    let with_param = format!(
        "postgres://{}@localhost:{}/{}?host={}",
        server.user, server.port, db.name, socket_dir
    );
    let (code, by_param, err) = tether(&["schema", &with_param]);
    if code != 0 {
        // This server takes no socket connection from this user (peer authentication):
        // the URL forms are covered by tether-connect's unit test.
        eprintln!("skipped: {with_param} does not connect: {err}");
        return;
    }
    let encoded = socket_dir.replace('/', "%2F");
    let in_host = format!("postgres://{}@{encoded}:{}/{}", server.user, server.port, db.name);
    let (code, by_host, err) = tether(&["schema", &in_host]);
    assert_eq!(code, 0, "{in_host}: {err}");
    assert_eq!(by_host, by_param);
    assert!(by_host.contains("2 tables, 1 foreign key"), "{by_host}");
}

#[test]
fn a_partition_named_as_a_table_says_whose_partition_it_is() {
    let db = TestDb::create(Engine::Postgres);
    db.exec(
        "CREATE TABLE payment (id int, paid date NOT NULL, PRIMARY KEY (id, paid)) PARTITION BY RANGE (paid);
         CREATE TABLE payment_2020 PARTITION OF payment FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')
             PARTITION BY HASH (id);
         CREATE TABLE payment_2020_a PARTITION OF payment_2020 FOR VALUES WITH (MODULUS 2, REMAINDER 0);
         CREATE TABLE payment_2020_b PARTITION OF payment_2020 FOR VALUES WITH (MODULUS 2, REMAINDER 1);
         INSERT INTO payment VALUES (1, '2020-02-02');",
    );
    let dir = ScratchDir::new("cli_r22_partition");
    let out = dir.join("out.sqlite");
    let job = |name: &str, body: &str| {
        write(
            &dir,
            name,
            &format!(
                "source = \"{}\"\n{body}\n[[destinations]]\nurl = \"sqlite://{}\"\n",
                db.url,
                out.display()
            ),
        )
    };
    let said = |partition: &str| {
        format!(
            "`{partition}` is a partition of table `payment`, not a table of its own: name `payment` (its \
             partitions come with it; a target's `where` on the partition key picks their rows)"
        )
    };
    for (file, body, partition) in [
        ("include.toml", "[tables]\ninclude = [\"payment_2020\"]", "payment_2020"),
        (
            "exclude.toml",
            "[tables]\nexclude = [\"public.payment_2020_b\"]",
            "public.payment_2020_b",
        ),
        (
            "target.toml",
            "[[subset.targets]]\ntable = \"payment_2020_a\"\nwhere = \"id = 1\"",
            "payment_2020_a",
        ),
        (
            "transform.toml",
            "seed = \"s\"\n[transform.payment_2020]\nid = \"hash\"",
            "payment_2020",
        ),
    ] {
        let path = job(file, body);
        for command in ["plan", "sync"] {
            let (code, stdout, stderr) = tether(&[command, &path]);
            assert_eq!(code, 2, "{file} {command}: {stdout}{stderr}");
            assert!(stderr.contains(&said(partition)), "{file} {command}: {stderr}");
        }
    }
    // A name that is neither is still "does not exist".
    let (code, _, stderr) = tether(&["plan", &job("none.toml", "[tables]\ninclude = [\"paymnet\"]")]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("table `paymnet` does not exist in the source"),
        "{stderr}"
    );
}

/// Review r21c F2: a MariaDB destination URL without a database made the plan exit 0
/// (its schema "not read") and the sync exit 2: both refuse it now, with one message.
#[test]
fn a_mysql_destination_without_a_database_is_refused_by_plan_and_sync_alike() {
    let dir = ScratchDir::new("cli_r22_nodb");
    let source = TestDb::create(Engine::Sqlite);
    source.exec("CREATE TABLE p (id INTEGER PRIMARY KEY);");
    for url in ["mysql://root@127.0.0.1", "mysql://root@127.0.0.1:3306/"] {
        let job = write(
            &dir,
            "job.toml",
            &format!(
                "source = \"{}\"\n[[destinations]]\nurl = \"{url}\"\ntruncate = true\n",
                source.url
            ),
        );
        let mut said = Vec::new();
        for command in ["plan", "sync"] {
            let (code, stdout, stderr) = tether(&[command, &job]);
            assert_eq!((code, stdout.as_str()), (2, ""), "{url} {command}: {stderr}");
            said.push(stderr);
        }
        assert_eq!(said[0], said[1], "{url}");
        assert_eq!(
            said[0].trim_end(),
            "error: invalid database URL `mysql://root@127.0.0.1:3306/`: a MySQL URL needs a database: \
             mysql://USER@HOST:PORT/DATABASE"
        );
    }
}

/// Review r21c F5: a directory given as a SQLite destination was "file not found" to
/// the plan (exit 0) and a connection failure to the sync (exit 3).
#[test]
fn a_directory_as_a_sqlite_database_is_refused_as_such() {
    let dir = ScratchDir::new("cli_r22_dir");
    let source = TestDb::create(Engine::Sqlite);
    source.exec("CREATE TABLE p (id INTEGER PRIMARY KEY);");
    let job = write(
        &dir,
        "job.toml",
        &format!(
            "source = \"{}\"\n[[destinations]]\nurl = \"sqlite://{}\"\n",
            source.url,
            dir.display()
        ),
    );
    let expected = format!(
        "error: invalid database URL `sqlite://{0}`: {0} is a directory: give the path of a SQLite database file \
         (a destination's is created when missing)",
        dir.display()
    );
    for command in ["plan", "sync"] {
        let (code, _, stderr) = tether(&[command, &job]);
        assert_eq!((code, stderr.trim_end()), (2, expected.as_str()), "{command}");
    }
    let (code, _, stderr) = tether(&["schema", &format!("sqlite://{}", dir.display())]);
    assert_eq!((code, stderr.trim_end()), (2, expected.as_str()), "schema");
}

/// Review r22k K5: bad arguments with `--format json` printed only the parser's text.
#[test]
fn bad_arguments_with_format_json_print_the_error_document_too() {
    for args in [
        vec!["sync", "--format", "json"],
        vec!["plan", "job.toml", "--format", "json", "--bogus"],
        vec!["schema", "--format=json"],
    ] {
        let (code, stdout, stderr) = tether(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        let e = error_document(&stdout);
        assert_eq!(
            (e["kind"].as_str(), e["exit_code"].as_i64()),
            (Some("usage"), Some(2)),
            "{stdout}"
        );
        let message = e["message"].as_str().unwrap();
        assert!(!message.is_empty() && stderr.contains(message), "{message} / {stderr}");
    }
    // Without it, and for --help, stdout stays the parser's.
    let (code, stdout, _) = tether(&["sync", "--bogus"]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    let (code, stdout, _) = tether(&["sync", "--help", "--format", "json"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("Usage:") && !stdout.contains("\"error\""), "{stdout}");
}

/// Review r22k K4: a second interrupt ("quit at once") with `--format json` printed no
/// JSON. Another connection holds the SQLite destination's write lock (WAL: reads pass,
/// so the plan is made and the signals are watched), so the load waits on it when the
/// two SIGINTs come. (The first one's undo is quick here, so the second may find the run
/// already stopped: either way one JSON document; the quit-at-once path was checked by
/// hand with a run whose undo waits.)
#[test]
fn a_second_interrupt_with_format_json_prints_the_error_document() {
    use std::process::{Command, Stdio};
    let dir = ScratchDir::new("cli_r22_quit");
    let source = TestDb::create(Engine::Sqlite);
    source.exec("CREATE TABLE k (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO k VALUES (1, 'a'), (2, 'b');");
    let dest = dir.join("dest.sqlite");
    let lock = rusqlite::Connection::open(&dest).expect("destination");
    lock.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE k (id INTEGER PRIMARY KEY, v TEXT); BEGIN IMMEDIATE;")
        .expect("write lock");
    let job = write(
        &dir,
        "job.toml",
        &format!(
            "source = \"{}\"\nprivacy = \"off\"\nmode = \"data\"\n[[destinations]]\nurl = \"sqlite://{}\"\n",
            source.url,
            dest.display()
        ),
    );
    let child = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(["sync", &job, "--format", "json", "-v"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    // The plan is made in well under the load's 60 s busy wait.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let pid = child.id().to_string();
    for _ in 0..2 {
        assert!(Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill")
            .success());
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let out = child.wait_with_output().expect("wait");
    drop(lock);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(130), "{stdout}{stderr}");
    // Whichever way the two signals land (the second while the first one's undo runs,
    // or after the run already stopped), a script gets one document.
    assert!(
        stderr.contains("interrupted again: quitting without undoing") || stderr.contains("error: interrupted: "),
        "{stderr}"
    );
    let e = error_document(&stdout);
    assert_eq!(
        (e["kind"].as_str(), e["exit_code"].as_i64()),
        (Some("interrupted"), Some(130)),
        "{stdout}"
    );
}

/// Review r22o F1: names Mermaid's lexer reads as its own words (a leading digit, `to`,
/// `end`; attributes `pk`, `fk`, `uk`) were written bare, and Mermaid refused the diagram.
#[test]
fn mermaid_names_that_are_its_own_words_are_quoted() {
    let db = TestDb::create(Engine::Sqlite);
    db.exec(
        "CREATE TABLE customer (pk INTEGER PRIMARY KEY, name TEXT);
         CREATE TABLE \"2024_orders\" (id INTEGER PRIMARY KEY, fk INTEGER REFERENCES customer (pk));
         CREATE TABLE \"to\" (id INTEGER PRIMARY KEY, uk INTEGER REFERENCES \"2024_orders\" (id));",
    );
    let (code, out, err) = tether(&["schema", &db.url, "--format", "mermaid"]);
    assert_eq!(code, 0, "{err}");
    for line in [
        "  \"2024_orders\" {",
        "  \"to\" {",
        "    bigint `pk` PK",
        "    bigint `fk` FK",
        "    bigint `uk` FK",
        "    text name ",
        "  customer |o--o{ \"2024_orders\" : ",
        "  \"2024_orders\" |o--o{ \"to\" : ",
    ] {
        assert!(out.lines().any(|l| l.starts_with(line)), "{line:?} in\n{out}");
    }
}
