//! `tether gateway` from the command line: config errors, `--explain`, `--migrations`,
//! and serving the `mariadb` client from the real binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use tether_testkit::{TestDb, TestEngine};

fn tether(args: &[&str]) -> (i32, String, String) {
    tether_testkit::run(env!("CARGO_BIN_EXE_tether"), args)
}

fn config_file(dir: &std::path::Path, body: &str) -> String {
    std::fs::create_dir_all(dir).expect("dir");
    let path = dir.join("vschema.json");
    std::fs::write(&path, body).expect("write config");
    path.display().to_string()
}

#[test]
fn bad_configs_exit_2_and_name_the_problem() {
    let dir = tether_testkit::ScratchDir::new("gw_cli");
    let path = config_file(
        &dir,
        r#"{"users": [{"user": "app"}], "keyspaces": {"k": {"foreignKeyMode": "strict", "backend": {"url": "mysql://root@127.0.0.1/x"}}}}"#,
    );
    let (code, _, err) = tether(&["gateway", "--config", &path]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("unknown variant `strict`, expected one of `unmanaged`, `managed`, `disallow`"),
        "{err}"
    );
    assert!(err.contains("line 1"), "{err}");
    let (code, _, err) = tether(&["gateway", "--config", "/nonexistent/vschema.json"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn explain_prints_the_plan_and_the_gateway_serves_the_mariadb_client() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec(
        "CREATE TABLE p (id INT PRIMARY KEY);
         CREATE TABLE c (id INT PRIMARY KEY, p_id INT,
           CONSTRAINT c_p_fk FOREIGN KEY (p_id) REFERENCES p (id) ON DELETE CASCADE);
         INSERT INTO p VALUES (1), (2); INSERT INTO c VALUES (1, 1), (2, 1), (3, 2);",
    );
    let dir = tether_testkit::ScratchDir::new("gw_cli2");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let path = config_file(
        &dir,
        &format!(
            r#"{{"users": [{{"user": "app", "passwordEnv": "TETHER_GW_TEST_PW"}}],
                "keyspaces": {{"shop": {{"foreignKeyMode": "managed", "backend": {{"url": "{}"}}}}}}}}"#,
            db.url
        ),
    );
    let (code, out, err) = tether(&[
        "gateway",
        "--config",
        &path,
        "--keyspace",
        "shop",
        "--explain",
        "DELETE FROM p WHERE id = 1",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("on delete of `p` (rows carry `id`):\n  c.c_p_fk (`p_id`) CASCADE: DELETE FROM `c` WHERE `p_id` IN (<keys>)"),
        "{out}"
    );

    let mut child = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(["gateway", "--config", &path, "--port", &port.to_string()])
        .env("TETHER_GW_TEST_PW", "pw")
        .stderr(Stdio::piped())
        .spawn()
        .expect("gateway starts");
    // Wait for the "listening" line.
    let stderr = child.stderr.take().expect("stderr");
    let mut line = String::new();
    BufReader::new(stderr).read_line(&mut line).expect("read");
    assert!(line.contains(&format!("listening on 127.0.0.1:{port}")), "{line}");
    let bin = std::env::var("TETHER_TEST_MARIADB_BIN_DIR")
        .map(|d| format!("{d}/mariadb"))
        .unwrap_or_else(|_| "mariadb".into());
    let out = Command::new(bin)
        .args([
            "-h127.0.0.1",
            &format!("-P{port}"),
            "-uapp",
            "-ppw",
            "--batch",
            "shop",
            "-e",
            "DELETE FROM p WHERE id = 1; SELECT id, p_id FROM c ORDER BY id",
        ])
        .output()
        .expect("mariadb runs");
    let _ = child.kill();
    let _ = child.wait();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "id\tp_id\n3\t2\n");
}

#[test]
fn migrations_lists_online_migrations_without_creating_their_table() {
    let db = TestDb::create(TestEngine::Mysql);
    db.exec("CREATE TABLE t (id INT PRIMARY KEY)");
    let dir = tether_testkit::ScratchDir::new("gw_cli3");
    let path = config_file(
        &dir,
        &format!(
            r#"{{"users": [{{"user": "app"}}],
                "keyspaces": {{"shop": {{"foreignKeyMode": "managed", "backend": {{"url": "{}"}}}}}}}}"#,
            db.url
        ),
    );
    let header = "migration_uuid\tkeyspace\tmysql_table\tmigration_statement\tstrategy\tmigration_status\t\
                  progress\trows_copied\ttable_rows\teta_seconds\tadded_timestamp\tstarted_timestamp\t\
                  ready_timestamp\tcompleted_timestamp\tcutover_ms\tmessage\n";
    let (code, out, err) = tether(&["gateway", "--config", &path, "--migrations"]);
    assert_eq!((code, out.as_str()), (0, header), "{err}");
    assert_eq!(db.query("SHOW TABLES"), vec![vec![Some("t".to_string())]]);
    let (code, _, err) = tether(&["gateway", "--config", &path, "--migrations", "--keyspace", "nope"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown keyspace `nope`"), "{err}");
}
