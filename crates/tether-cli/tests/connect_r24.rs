//! Twenty-fourth session (review r23m F9, F5, F3, F10): connecting. A URL's
//! `connect_timeout` is honoured (PostgreSQL ignored it: 10 s per TCP connection, and
//! a server that took the connection and never answered was waited for without end);
//! a signal while connecting ends as an interruption (exit 130, the JSON document),
//! not the signal's death (143, nothing on stdout); configuration mistakes found at
//! connect time exit 2; a password's bad percent escape is refused unseen; the
//! commands that take URLs say how to ask for TLS.

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tether_testkit::ScratchDir;

const SECRET: &str = "S3cretPW";

/// A server that takes TCP connections and never says a word; each accepted
/// connection is announced on the channel (and kept open).
fn silent_server() -> (u16, mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("its address").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
            let _ = tx.send(());
        }
    });
    (port, rx)
}

fn start(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(args)
        .env_remove("PGPASSWORD")
        .env_remove("MYSQL_PWD")
        .env_remove("PGCONNECT_TIMEOUT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tether")
}

/// Waits for `child` at most `limit`; a process still running then is killed and
/// the test fails (the bug: waiting without end).
fn finish(mut child: Child, limit: Duration, what: &str) -> (i32, String, String, Duration) {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let (mut out, mut err) = (String::new(), String::new());
            child
                .stdout
                .take()
                .expect("stdout")
                .read_to_string(&mut out)
                .expect("stdout");
            child
                .stderr
                .take()
                .expect("stderr")
                .read_to_string(&mut err)
                .expect("stderr");
            return (status.code().unwrap_or(-1), out, err, started.elapsed());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn error_document(stdout: &str) -> Value {
    let doc: Value = serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not one JSON document ({e}): {stdout}"));
    doc["error"].clone()
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, body).expect("write file");
    path.display().to_string()
}

/// F9: `connect_timeout` bounds the whole connection (TCP, TLS, login), on PostgreSQL
/// (also `PGCONNECT_TIMEOUT`) and MariaDB/MySQL; the message says which limit.
#[test]
fn connect_timeout_bounds_a_server_that_never_answers() {
    let (port, _accepted) = silent_server();
    for (url, shown) in [
        (
            format!("postgres://u:{SECRET}@127.0.0.1:{port}/d?connect_timeout=2"),
            format!("cannot connect to postgres://u:***@127.0.0.1:{port}/d: timed out after 2 s (connect_timeout)"),
        ),
        // libpq takes 1 as 2.
        (
            format!("postgres://u:{SECRET}@127.0.0.1:{port}/d?sslmode=require&connect_timeout=1"),
            format!("cannot connect to postgres://u:***@127.0.0.1:{port}/d: timed out after 2 s (connect_timeout)"),
        ),
        (
            format!("mysql://u:{SECRET}@127.0.0.1:{port}/d?connect_timeout=2"),
            format!("cannot connect to mysql://u:***@127.0.0.1:{port}/d: timed out after 2 s (connect_timeout)"),
        ),
        (
            format!("mysql://u:{SECRET}@127.0.0.1:{port}/d?ssl-mode=DISABLED&connect-timeout=2"),
            format!("cannot connect to mysql://u:***@127.0.0.1:{port}/d: timed out after 2 s (connect_timeout)"),
        ),
    ] {
        let child = start(&["schema", &url, "--format", "json"]);
        let (code, out, err, took) = finish(child, Duration::from_secs(30), &url);
        assert_eq!(code, 3, "{url}: {out}{err}");
        assert!(
            took >= Duration::from_millis(1900) && took < Duration::from_secs(8),
            "{url}: {took:?}"
        );
        let e = error_document(&out);
        assert_eq!(
            (e["kind"].as_str(), e["message"].as_str()),
            (Some("connect"), Some(shown.as_str()))
        );
        assert_eq!(err.trim_end(), format!("error: {shown}"));
        assert!(!out.contains(SECRET) && !err.contains(SECRET), "{out}{err}");
    }
    // The environment's limit, when the URL has none.
    let url = format!("postgres://u@127.0.0.1:{port}/d");
    let child = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(["schema", &url])
        .env("PGCONNECT_TIMEOUT", "2")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tether");
    let (code, out, err, took) = finish(child, Duration::from_secs(30), "PGCONNECT_TIMEOUT");
    assert_eq!(code, 3, "{out}{err}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert!(err.ends_with("timed out after 2 s (connect_timeout)\n"), "{err}");
    // Without one: Tether's 10 s, said so.
    let child = start(&["schema", &url]);
    let (code, out, err, took) = finish(child, Duration::from_secs(40), "the default");
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(20),
        "{took:?}"
    );
    assert!(
        err.ends_with(
            "timed out after 10 s (Tether's default; set connect_timeout=SECONDS in the URL, 0 for no limit)\n"
        ),
        "{err}"
    );
    // Not a number: a configuration error.
    let child = start(&[
        "schema",
        &format!("postgres://u:{SECRET}@127.0.0.1:{port}/d?connect_timeout=soon"),
    ]);
    let (code, out, err, _) = finish(child, Duration::from_secs(30), "connect_timeout=soon");
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(
        err.trim_end(),
        format!(
            "error: invalid database URL `postgres://u:***@127.0.0.1:{port}/d?connect_timeout=soon`: \
             connect_timeout=soon is not a number of seconds (a whole number; 0 for no limit)"
        )
    );
}

/// F9: SIGTERM or Ctrl-C while connecting (no limit: `connect_timeout=0`) ends the
/// command as an interruption: exit 130 and, with `--format json`, the JSON document;
/// before, the process died of the signal (143) with nothing on stdout.
#[test]
fn a_signal_while_connecting_ends_as_an_interruption() {
    let dir = ScratchDir::new("connect_r24_signal");
    let (port, accepted) = silent_server();
    let url = format!("postgres://u:{SECRET}@127.0.0.1:{port}/d?connect_timeout=0");
    let job = write(
        &dir,
        "job.toml",
        &format!(
            "source = \"{url}\"\nseed = \"w24b-seed-0123456789abcdef\"\nprivacy = \"off\"\n\
             [[destinations]]\nurl = \"sqlite://{}\"\n",
            dir.join("out.sqlite").display()
        ),
    );
    let (url, job) = (url.as_str(), job.as_str());
    let runs: [([&str; 4], &str, &str); 5] = [
        (["schema", url, "--format", "json"], "-TERM", "SIGTERM"),
        (["schema", url, "--format", "json"], "-INT", "SIGINT"),
        (["plan", job, "--format", "json"], "-TERM", "SIGTERM"),
        (["sync", job, "--format", "json"], "-TERM", "SIGTERM"),
        (["scan", url, "--format", "json"], "-TERM", "SIGTERM"),
    ];
    for (args, signal, name) in runs {
        while accepted.try_recv().is_ok() {}
        let child = start(&args);
        // Connecting: the server has the connection.
        accepted
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("{args:?}: never connected"));
        std::thread::sleep(Duration::from_millis(300));
        let pid = child.id().to_string();
        assert!(Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("kill")
            .success());
        let (code, out, err, _) = finish(child, Duration::from_secs(30), &format!("{args:?}"));
        assert_eq!(code, 130, "{args:?}: {out}{err}");
        let message = format!("interrupted by {name} before anything was written");
        let e = error_document(&out);
        assert_eq!(e["kind"], "interrupted", "{args:?}: {out}");
        assert_eq!(e["exit_code"], 130, "{args:?}: {out}");
        assert_eq!(e["message"], message.as_str(), "{args:?}: {out}");
        assert!(err.contains(&format!("error: {message}")), "{args:?}: {err}");
        assert!(!out.contains(SECRET) && !err.contains(SECRET), "{out}{err}");
    }
    assert!(!dir.join("out.sqlite").exists(), "the sync wrote nothing");
}

/// F5: TLS settings that cannot work are configuration mistakes (exit 2, the
/// parameter named), not connection failures (3); F3: a password's bad escape is
/// refused (exit 2) without printing it.
#[test]
fn connect_time_configuration_mistakes_exit_2() {
    let dir = ScratchDir::new("connect_r24_config");
    let key = write(&dir, "k.pem", "not a key\n");
    for (url, reason) in [
        (
            "postgres://u:S3cretPW@127.0.0.1:9/d?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem".to_string(),
            "sslrootcert /nonexistent/ca.pem: No such file or directory (os error 2)".to_string(),
        ),
        (
            "postgres://u:S3cretPW@127.0.0.1:9/d?sslmode=require&sslcert=/nonexistent/c.pem".to_string(),
            "a client certificate needs both sslcert and sslkey".to_string(),
        ),
        (
            format!("postgres://u:S3cretPW@127.0.0.1:9/d?sslmode=require&sslcert={key}&sslkey={key}"),
            format!("sslcert {key}: no certificate in the file"),
        ),
        (
            "mysql://u:S3cretPW@127.0.0.1:9/d?ssl-mode=VERIFY_IDENTITY&ssl-ca=/nonexistent/ca.pem".to_string(),
            "ssl-ca /nonexistent/ca.pem: No such file or directory (os error 2)".to_string(),
        ),
        (
            "postgres://u:S3cretPW@127.0.0.1:9/d?sslmode=sometimes".to_string(),
            "sslmode=sometimes is not a TLS mode: expected disable, allow, prefer, require, verify-ca or \
             verify-full (postgres options: sslrootcert, sslcert, sslkey)"
                .to_string(),
        ),
        (
            "postgres://u:S3cr%zzetPW@127.0.0.1:9/d".to_string(),
            "the password holds a `%` that starts no percent escape (two hex digits must follow it): write `%` \
             as %25 (the password is not shown), or leave it out of the URL and set PGPASSWORD"
                .to_string(),
        ),
        (
            "mysql://u:S3cretPW%@127.0.0.1:9/d".to_string(),
            "the password holds a `%` that starts no percent escape (two hex digits must follow it): write `%` \
             as %25 (the password is not shown), or leave it out of the URL and set MYSQL_PWD"
                .to_string(),
        ),
    ] {
        let child = start(&["schema", &url, "--format", "json"]);
        let (code, out, err, _) = finish(child, Duration::from_secs(30), &url);
        assert_eq!(code, 2, "{url}: {out}{err}");
        let e = error_document(&out);
        assert_eq!(e["kind"], "usage", "{url}: {out}");
        let message = e["message"].as_str().expect("a message");
        assert!(message.starts_with("invalid database URL `"), "{message}");
        assert!(message.ends_with(&format!("`: {reason}")), "{url}: {message}");
        assert!(!message.contains("Other("), "{message}");
        assert!(!out.contains("S3cr") && !err.contains("S3cr"), "{out}{err}");
    }
}

/// F10: the commands that take database URLs list the TLS and timeout parameters in
/// their --help (the gateway: its MariaDB backends').
#[test]
fn help_names_the_url_parameters() {
    let mysql = [
        "ssl-mode=",
        "ssl-ca=",
        "ssl-cert=",
        "ssl-key=",
        "VERIFY_IDENTITY",
        "connect_timeout=",
    ];
    let postgres = ["sslmode=", "sslrootcert=", "sslcert=", "sslkey=", "verify-full"];
    for command in ["schema", "sync", "plan", "scan", "gateway"] {
        let child = start(&[command, "--help"]);
        let (code, out, err, _) = finish(child, Duration::from_secs(30), command);
        assert_eq!(code, 0, "{command}: {err}");
        let postgres: &[&str] = if command == "gateway" { &[] } else { &postgres };
        for word in mysql.iter().chain(postgres) {
            assert!(out.contains(word), "{command} --help lacks {word}:\n{out}");
        }
    }
}
