//! Nineteenth session (review r20g): a MariaDB URL's `ssl-ca` is checked by every
//! command (F1), the gateway config refuses a keyspace or user named twice and a user
//! with two passwords (F3), `tether ui`'s API refuses unknown fields (F4), a job
//! file's unknown enum value names the key and not the value (F5), and `--listen`
//! with a bad port is bad usage (F7). Through the real binary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use tether_testkit::{tls, ScratchDir, TestDb, TestEngine};

fn tether(args: &[&str]) -> (i32, String, String) {
    tether_testkit::run(env!("CARGO_BIN_EXE_tether"), args)
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, body).expect("write file");
    path.display().to_string()
}

// ---- F1: ssl-ca without VERIFY_CA / VERIFY_IDENTITY is checked, by schema and sync alike.

#[test]
fn schema_and_sync_check_a_given_ssl_ca() {
    let (on, c) = (tls::mariadb_tls(), tls::certs());
    let dir = ScratchDir::new("cli_r20_tls");
    for query in [
        format!("ssl-ca={}", c.other_ca.display()),
        format!("ssl-mode=REQUIRED&ssl-ca={}", c.other_ca.display()),
        format!("ssl-mode=PREFERRED&ssl-ca={}", c.other_ca.display()),
    ] {
        let url = format!("mysql://root@127.0.0.1:{}/mysql?{query}", on.port);
        let (code, out, err) = tether(&["schema", &url]);
        assert_eq!(code, 3, "{query}: {out}{err}");
        assert!(
            err.contains(&format!(
                "TLS certificate check failed: the server's certificate is not signed by a CA in ssl-ca {}",
                c.other_ca.display()
            )),
            "{query}: {err}"
        );
        let job = write(
            &dir,
            "job.toml",
            &format!(
                "source = \"{url}\"\n[[destinations]]\nurl = \"sqlite://{}/out.sqlite\"\n",
                dir.display()
            ),
        );
        let (code, out, err) = tether(&["sync", &job]);
        assert_eq!(code, 3, "{query}: {out}{err}");
        assert!(err.contains("TLS certificate check failed"), "{query}: {err}");
    }
    // The right CA connects (and, VERIFY_CA, with no host name check).
    let url = format!(
        "mysql://root@{}:{}/mysql?ssl-ca={}",
        tls::WRONG_HOST,
        on.port,
        c.ca.display()
    );
    let (code, out, err) = tether(&["schema", &url]);
    assert_eq!(code, 0, "{out}{err}");
}

// ---- F3: gateway config duplicates.

fn gateway_config_error(body: &str) -> String {
    let dir = ScratchDir::new("cli_r20_gw");
    let path = write(&dir, "vschema.json", body);
    // `--explain` first: it exits either way (a gateway given a config it accepts
    // would serve until stopped).
    let (code, out, err) = tether(&[
        "gateway",
        "--config",
        &path,
        "--keyspace",
        "ks1",
        "--explain",
        "SELECT 1",
    ]);
    assert_eq!(code, 2, "--explain: {out}{err}");
    let (code, out, err2) = tether(&["gateway", "--config", &path]);
    assert_eq!(code, 2, "{out}{err2}");
    assert_eq!(err, err2);
    err
}

#[test]
fn gateway_config_refuses_a_keyspace_named_twice() {
    for (first, second) in [
        ("managed", "unmanaged"),
        ("unmanaged", "managed"),
        ("disallow", "managed"),
    ] {
        let err = gateway_config_error(&format!(
            r#"{{"users": [{{"user": "app", "password": "x"}}],
"keyspaces": {{
  "ks1": {{"foreignKeyMode": "{first}", "backend": {{"url": "mysql://root@127.0.0.1/a"}}}},
  "ks2": {{"backend": {{"url": "mysql://root@127.0.0.1/b"}}}},
  "ks1": {{"foreignKeyMode": "{second}", "backend": {{"url": "mysql://root@127.0.0.1/c"}}}}
}}}}"#
        ));
        assert!(
            err.contains("keyspace `ks1` is named twice in `keyspaces` (only one of them would be used): remove or rename one at line 5"),
            "{err}"
        );
    }
    // Names that differ only in case are different keyspaces, as before.
    let dir = ScratchDir::new("cli_r20_gw_ok");
    let path = write(
        &dir,
        "vschema.json",
        r#"{"users": [{"user": "app"}], "keyspaces": {"ks1": {"backend": {"url": "mysql://root@127.0.0.1/a"}}, "KS1": {"backend": {"url": "mysql://root@127.0.0.1/a"}}}}"#,
    );
    let (code, out, err) = tether(&[
        "gateway",
        "--config",
        &path,
        "--keyspace",
        "ks1",
        "--explain",
        "SELECT 1",
    ]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn gateway_config_refuses_a_user_named_twice_or_with_two_passwords() {
    let ks = r#""keyspaces": {"ks1": {"backend": {"url": "mysql://root@127.0.0.1/a"}}}"#;
    let err = gateway_config_error(&format!(
        "{{\"users\": [\n  {{\"user\": \"app\", \"password\": \"x\"}},\n  {{\"user\": \"ro\"}},\n  {{\"user\": \"app\", \"password\": \"y\"}}\n],\n{ks}}}"
    ));
    assert!(
        err.contains(
            "user `app` is named twice in `users` (only one of its passwords would work): remove one at line 4"
        ),
        "{err}"
    );
    assert!(!err.contains("\"x\"") && !err.contains("\"y\""), "{err}");
    let err = gateway_config_error(&format!(
        "{{\"users\": [\n  {{\"user\": \"app\", \"password\": \"SECRETpw1\", \"passwordEnv\": \"APP_PW\"}}\n],\n{ks}}}"
    ));
    assert!(
        err.contains("user `app` has both `password` and `passwordEnv` (one would be ignored): give one at line 2"),
        "{err}"
    );
    assert!(!err.contains("SECRETpw1"), "{err}");
}

// ---- F5: an unknown enum value names the key, not the value.

#[test]
fn an_unknown_enum_value_names_the_key_and_not_the_value() {
    let dir = ScratchDir::new("cli_r20_enum");
    let out = format!("sqlite://{}/out.sqlite", dir.display());
    for (line, key, expected) in [
        (
            "on_conflict = \"replace\"",
            "on_conflict",
            "expected one of `error`, `skip`, `update`",
        ),
        (
            "checks = \"SEEDsecret998877\"",
            "checks",
            "expected `enforce` or `verify`",
        ),
        // A value holding backticks (code review r20cr F9: its tail was shown).
        (
            "on_conflict = \"hunter2`pass`word\"",
            "on_conflict",
            "expected one of `error`, `skip`, `update`",
        ),
    ] {
        let job = write(
            &dir,
            "job.toml",
            &format!("source = \"sqlite:///nowhere.sqlite\"\n\n[[destinations]]\nurl = \"{out}\"\n{line}\n"),
        );
        for command in ["plan", "sync"] {
            let (code, stdout, err) = tether(&[command, &job]);
            assert_eq!(code, 2, "{stdout}{err}");
            assert_eq!(
                err.trim_end(),
                format!("error: {job}: line 5: `{key}`: unknown value, {expected}"),
                "{command}"
            );
        }
    }
    // A top-level key too, and one inside an inline table.
    let job = write(
        &dir,
        "job.toml",
        &format!("source = \"sqlite:///nowhere.sqlite\"\nmode = \"everything\"\n[[destinations]]\nurl = \"{out}\"\n"),
    );
    let (code, _, err) = tether(&["plan", &job]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("line 2: `mode`: unknown value, expected one of"), "{err}");
    assert!(!err.contains("everything"), "{err}");
}

// ---- F4 / F7: tether ui.

struct Ui {
    child: Child,
    addr: String,
}

impl Drop for Ui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_ui(job: &Path) -> Ui {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(["ui", job.to_str().expect("utf-8 path"), "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start tether ui");
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    stdout.read_line(&mut first).expect("tether ui prints its address");
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let addr = first
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .trim_end_matches('/')
        .to_string();
    Ui { child, addr }
}

fn post(addr: &str, path: &str, body: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (head.lines().next().unwrap_or("").to_string(), body.to_string())
}

fn get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

fn ui_job(db: &TestDb, dir: &Path) -> PathBuf {
    let job = dir.join("job.toml");
    std::fs::write(
        &job,
        format!(
            "source = \"{}\"\nseed = \"${{TETHER_UI_TEST_SEED}}\"\n[[destinations]]\nurl = \"sqlite://{}/out.sqlite\"\n\n[transform.c]\nemail = {{ kind = \"email\", unique = true }}\n",
            db.url,
            dir.display()
        ),
    )
    .unwrap();
    job
}

#[test]
fn ui_api_refuses_unknown_fields_and_keeps_the_transformer() {
    let db = TestDb::create(TestEngine::Postgres);
    db.exec("CREATE TABLE c (id integer PRIMARY KEY, email text UNIQUE, name text);");
    let dir = ScratchDir::new("cli_r20_ui");
    let job = ui_job(&db, &dir);
    let before = std::fs::read_to_string(&job).unwrap();
    let ui = start_ui(&job);
    for (body, field) in [
        (r#"{"table":"c","column":"email","knd":"email"}"#, "knd"),
        (r#"{"table":"c","column":"email","Kind":"email"}"#, "Kind"),
        (r#"{"table":"c","column":"email","value":"hash"}"#, "value"),
        (
            r#"{"table":"c","column":"email","kind":"email","option":"unique = true"}"#,
            "option",
        ),
    ] {
        let (status, text) = post(&ui.addr, "/api/transformer", body);
        assert_eq!(status, "HTTP/1.1 400 Bad Request", "{body}: {text}");
        assert!(text.contains(&format!("unknown field `{field}`")), "{body}: {text}");
    }
    let view: Value = serde_json::from_str(&get(&ui.addr, "/api/mapping")).unwrap();
    assert_eq!(view["dirty"], false, "{view}");
    let column = view["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "c")
        .and_then(|t| t["columns"].as_array().unwrap().iter().find(|c| c["name"] == "email"))
        .cloned()
        .expect("c.email in the view");
    assert_eq!(column["transformer"]["kind"], "email", "{column}");
    assert_eq!(std::fs::read_to_string(&job).unwrap(), before);
    // The right field names still work, and a body without `kind` still removes it.
    let (status, text) = post(
        &ui.addr,
        "/api/transformer",
        r#"{"table":"c","column":"name","kind":"full_name"}"#,
    );
    assert!(status.starts_with("HTTP/1.1 200"), "{status} {text}");
}

#[test]
fn ui_listen_with_a_bad_port_is_bad_usage() {
    let db = TestDb::create(TestEngine::Postgres);
    db.exec("CREATE TABLE c (id integer PRIMARY KEY, email text UNIQUE, name text);");
    let dir = ScratchDir::new("cli_r20_listen");
    let job = ui_job(&db, &dir);
    for address in ["0.0.0.0:99999", "127.0.0.1"] {
        let (code, out, err) = tether(&["ui", job.to_str().unwrap(), "--listen", address]);
        assert_eq!(code, 2, "{address}: {out}{err}");
        assert!(err.contains(&format!("cannot listen on {address}: ")), "{err}");
    }
}
