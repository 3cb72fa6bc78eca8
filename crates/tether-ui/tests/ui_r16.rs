//! Sixteenth session review: `--allow-host` values with a port, scheme or path
//! (U1), the Origin's scheme, and Save keeping a job file's CRLF line endings and
//! UTF-8 BOM (U2).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use tether_testkit::{ScratchDir, TestDb, TestEngine as Engine};
use tether_ui::{Mapping, Server, UiError};

const SCHEMA: &str = "
CREATE TABLE customer (id integer PRIMARY KEY, email text, first_name text);
CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer REFERENCES customer(id));
";

fn open(path: &Path) -> Mapping {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(Mapping::open(path))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A job on a fresh SQLite source, its text as `body` (BOM and line endings as given;
/// `{SOURCE}` and `{DIR}` filled in).
fn job(name: &str, body: &str) -> (TestDb, ScratchDir, PathBuf) {
    let db = TestDb::create(Engine::Sqlite);
    db.exec(SCHEMA);
    let dir = ScratchDir::new(&format!("ui_r16_{name}"));
    let path = dir.join("job.toml");
    let text = body
        .replace("{SOURCE}", &db.url)
        .replace("{DIR}", &dir.display().to_string());
    std::fs::write(&path, text).unwrap();
    (db, dir, path)
}

const PLAIN: &str = "source = \"{SOURCE}\"\nseed = \"${SOME_UNSET_SEED_VAR}\"\n\n[[destinations]]\nurl = \"sqlite://{DIR}/out.sqlite\"\n";

/// The server on 127.0.0.1 (port 0) with these `--allow-host` values, or why not.
fn bind(path: &Path, hosts: &[&str], port: u16) -> Result<Server, UiError> {
    let hosts: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
    Server::bind(open(path), &format!("127.0.0.1:{port}"), &hosts)
}

fn usage(r: Result<Server, UiError>) -> String {
    match r {
        Err(UiError::Usage(m)) => m,
        Err(e) => panic!("not a usage error: {e}"),
        Ok(s) => panic!("accepted; listening on {:?}", s.local_addr()),
    }
}

/// The server running in a thread; its address.
fn serve(server: Server) -> String {
    let addr = server.local_addr().unwrap().to_string();
    std::thread::spawn(move || server.run());
    addr
}

/// One raw HTTP request; (status, body).
fn request(addr: &str, head: &str, body: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{head}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn get(addr: &str, host: &str) -> (u16, String) {
    request(addr, &format!("GET /api/plan HTTP/1.1\r\nHost: {host}"), "")
}

#[test]
fn allow_host_with_the_uis_port_or_an_http_url_is_the_host_name() {
    let (_db, _dir, path) = job("allow_ok", PLAIN);
    // A free port, known before start, so that `NAME:PORT` can name it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = bind(
        &path,
        &[
            &format!("devbox:{port}"),
            "http://devbox2",
            &format!("HTTP://DevBox3:{port}/"),
            "devbox4.lan.",
            "10.1.2.3",
        ],
        port,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let addr = serve(server);
    for name in ["devbox", "devbox2", "devbox3", "DEVBOX4.lan.", "localhost", "127.0.0.1"] {
        let (status, body) = get(&addr, &format!("{name}:{port}"));
        assert_eq!(status, 200, "{name}: {body}");
    }
    // A name not given, or a given name at another port: refused, naming what was asked.
    let (status, body) = get(&addr, &format!("devbox5:{port}"));
    assert_eq!(status, 403);
    assert_eq!(
        body,
        format!(
            "{{\"error\":\"requests must be addressed to an IP address, localhost or a name given with --allow-host, at port {port}: `devbox5:{port}` is not\"}}"
        )
    );
    let (status, body) = get(&addr, "devbox:1");
    assert_eq!(status, 403);
    assert!(body.ends_with(": `devbox:1` is not\"}"), "{body}");
}

#[test]
fn allow_host_values_that_can_never_match_are_refused_at_start() {
    let (_db, _dir, path) = job("allow_bad", PLAIN);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let other = if port == 65535 { 65534 } else { port + 1 };
    let cases: Vec<(String, String)> = vec![
        (
            format!("devbox:{other}"),
            format!(
                "--allow-host `devbox:{other}`: port {other} is not the port tether ui listens on ({port}); give the host name alone: --allow-host devbox"
            ),
        ),
        (
            "https://devbox".into(),
            "--allow-host `https://devbox`: tether ui serves http only; give the host name alone: --allow-host devbox".into(),
        ),
        (
            "http://devbox/api".into(),
            "--allow-host `http://devbox/api`: a path has no place here; give the host name alone: --allow-host devbox".into(),
        ),
        (
            "devbox:http".into(),
            "--allow-host `devbox:http`: `http` is not a port number; give the host name alone: --allow-host devbox".into(),
        ),
        (
            "http://me@devbox".into(),
            "--allow-host `http://me@devbox`: not a host name (letters, digits, `-`, `_` and `.`); give the host name alone, e.g. --allow-host devbox".into(),
        ),
        (
            "*".into(),
            "--allow-host `*`: not a host name (letters, digits, `-`, `_` and `.`); give the host name alone, e.g. --allow-host devbox".into(),
        ),
        (
            " ".into(),
            "--allow-host ` `: not a host name (letters, digits, `-`, `_` and `.`); give the host name alone, e.g. --allow-host devbox".into(),
        ),
    ];
    for (value, message) in cases {
        assert_eq!(usage(bind(&path, &["fine", &value], port)), message, "{value}");
        // Nothing listens after the refusal: the port is free again.
        std::net::TcpListener::bind(("127.0.0.1", port)).unwrap_or_else(|e| panic!("{value}: {e}"));
    }
    // Port 0 picks a port at start: no `NAME:PORT` can name it in advance.
    assert_eq!(
        usage(bind(&path, &["devbox:7420"], 0)),
        "--allow-host `devbox:7420`: the port is picked at start (port 0); give the host name alone: --allow-host devbox"
    );
}

#[test]
fn only_an_http_origin_of_the_same_address_may_post() {
    let (_db, _dir, path) = job("origin", PLAIN);
    let addr = serve(bind(&path, &[], 0).unwrap());
    let post = |origin: &str| {
        request(
            &addr,
            &format!("POST /api/save HTTP/1.1\r\nHost: {addr}\r\nOrigin: {origin}\r\nContent-Type: application/json"),
            "{}",
        )
    };
    for origin in [format!("https://{addr}"), addr.clone(), format!("ftp://{addr}")] {
        let (status, body) = post(&origin);
        assert_eq!(
            (status, body.as_str()),
            (403, "{\"error\":\"cross-origin requests are refused\"}"),
            "{origin}"
        );
    }
    assert!(
        !path.with_file_name("job.toml.bak").exists(),
        "a refused save writes nothing"
    );
    let (status, body) = post(&format!("http://{addr}"));
    assert_eq!(status, 200, "{body}");
}

const WINDOWS: &str = "\u{feff}# a Windows-edited job\r\nsource = \"{SOURCE}\"\r\nseed = \"${SOME_UNSET_SEED_VAR}\"\r\n\r\n[[destinations]]\r\nurl = \"sqlite://{DIR}/out.sqlite\"\r\ntruncate = true\r\n\r\n[transform.customer]\r\nemail = \"email\" # mail\r\n";

#[test]
fn save_keeps_crlf_line_endings_and_the_bom() {
    let (_db, _dir, path) = job("crlf", WINDOWS);
    let original = std::fs::read(&path).unwrap();
    let mut m = open(&path);
    // A save with no edit writes the file as it was.
    assert!(!m.view().dirty);
    m.save().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), original);
    // An edit undone is "not dirty" against the CRLF text on disk.
    m.set_transformer("customer", "first_name", Some(("first_name", "")))
        .unwrap();
    assert!(m.view().dirty);
    m.set_transformer("customer", "first_name", None).unwrap();
    assert!(!m.view().dirty);
    // Edits: the new lines end in CRLF too, the BOM stays, the rest is untouched.
    m.set_transformer("customer", "first_name", Some(("first_name", "")))
        .unwrap();
    m.set_transformer("orders", "id", Some(("hash", "min = 1"))).unwrap();
    m.save().unwrap();
    assert!(!m.view().dirty);
    let saved = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
    let expected = format!(
        "{}first_name = \"first_name\"\r\n\r\n[transform.orders]\r\nid = {{ kind = \"hash\", min = 1 }}\r\n",
        String::from_utf8(original.clone()).unwrap()
    );
    assert_eq!(saved, expected);
    // The backup is the file as read, byte for byte.
    assert_eq!(std::fs::read(path.with_file_name("job.toml.bak")).unwrap(), original);
    // The saved file opens again, not dirty, with the edits.
    let reopened = open(&path);
    assert!(!reopened.view().dirty);
    assert!(reopened.plan_text().unwrap().contains("hash"));
}

#[test]
fn save_keeps_lf_files_lf_and_without_bom() {
    let (_db, _dir, path) = job("lf", PLAIN);
    let original = std::fs::read_to_string(&path).unwrap();
    let mut m = open(&path);
    m.set_transformer("customer", "email", Some(("email", ""))).unwrap();
    m.save().unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("{original}\n[transform.customer]\nemail = \"email\"\n")
    );
}
