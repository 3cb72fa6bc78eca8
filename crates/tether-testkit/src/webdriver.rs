//! A small W3C WebDriver client for end-to-end tests of `tether ui`: it starts
//! ChromeDriver with headless Chromium (Debian's `chromium` and `chromium-driver`, which
//! `scripts/test` installs) and speaks JSON over plain HTTP to it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A headless Chromium driven through ChromeDriver; both stop on drop.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
}

/// An element of the current page.
#[derive(Clone, Debug)]
pub struct Element(String);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn find_in_path(name: &str) -> Option<String> {
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}

/// One HTTP request to ChromeDriver; the JSON `value` of its answer, or the WebDriver
/// error as `Err`.
fn request(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("chromedriver: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .and_then(|_| stream.write_all(body.as_bytes()))
        .map_err(|e| format!("chromedriver: {e}"))?;
    // ChromeDriver may keep the connection open: read the head, then the body by its
    // length (or its chunks).
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    let split = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut buf).map_err(|e| format!("chromedriver: {e}"))?;
        if n == 0 {
            return Err("chromedriver: the answer ended inside its head".into());
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    let length = head.lines().find_map(|l| {
        l.strip_prefix("content-length:")
            .and_then(|v| v.trim().parse::<usize>().ok())
    });
    let chunked = head.contains("transfer-encoding: chunked") || head.contains("transfer-encoding:chunked");
    let mut payload = raw[split + 4..].to_vec();
    loop {
        let complete = match length {
            Some(n) => payload.len() >= n,
            None if chunked => payload.ends_with(b"0\r\n\r\n"),
            None => false,
        };
        if complete {
            break;
        }
        let n = stream.read(&mut buf).map_err(|e| format!("chromedriver: {e}"))?;
        if n == 0 {
            break;
        }
        payload.extend_from_slice(&buf[..n]);
    }
    if chunked {
        payload = dechunk(&payload);
    }
    let v: Value = serde_json::from_slice(&payload).map_err(|e| format!("chromedriver: {e}"))?;
    let value = v.get("value").cloned().unwrap_or(Value::Null);
    if let Some(error) = value.get("error").and_then(Value::as_str) {
        let message = value.get("message").and_then(Value::as_str).unwrap_or_default();
        return Err(format!("{error}: {}", message.lines().next().unwrap_or_default()));
    }
    Ok(value)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

impl Browser {
    /// Starts ChromeDriver (`TETHER_TEST_CHROMEDRIVER`, else `chromedriver` on PATH) and a
    /// headless Chromium window of 1440x1000 pixels.
    pub fn start() -> Browser {
        let driver_bin = std::env::var("TETHER_TEST_CHROMEDRIVER")
            .ok()
            .or_else(|| find_in_path("chromedriver"))
            .expect(
                "chromedriver not found: run `bash scripts/test`, which installs Debian's chromium and chromium-driver",
            );
        let port = free_port();
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {driver_bin}: {e}"));
        let started = Instant::now();
        while request(port, "GET", "/status", None).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut options = json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1440,1000", "--hide-scrollbars", "--force-device-scale-factor=1"]
        });
        if let Some(chromium) = find_in_path("chromium") {
            options["binary"] = json!(chromium);
        }
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": options
        }}});
        let mut browser = Browser {
            driver,
            port,
            session: String::new(),
        };
        let session = request(port, "POST", "/session", Some(&caps)).expect("a Chromium session");
        browser.session = session["sessionId"].as_str().expect("sessionId").to_string();
        browser
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        request(
            self.port,
            method,
            &format!("/session/{}{path}", self.session),
            body.as_ref(),
        )
    }

    fn must(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
    }

    pub fn goto(&self, url: &str) {
        self.must("POST", "/url", Some(json!({ "url": url })));
    }

    /// Every element matching a CSS selector, now.
    pub fn find_all(&self, css: &str) -> Vec<Element> {
        let v = self.must(
            "POST",
            "/elements",
            Some(json!({ "using": "css selector", "value": css })),
        );
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT].as_str().map(|s| Element(s.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first element matching a CSS selector, waiting up to 10 s for it.
    pub fn find(&self, css: &str) -> Element {
        self.wait(&format!("an element matching `{css}`"), || {
            self.find_all(css).into_iter().next()
        })
    }

    /// Polls `f` until it returns Some, up to 10 s; panics naming `what` otherwise.
    pub fn wait<T>(&self, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
        let started = Instant::now();
        loop {
            if let Some(v) = f() {
                return v;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Clicks an element after scrolling it to the middle of the window (sticky headers
    /// would otherwise cover it).
    pub fn click(&self, e: &Element) {
        self.script(
            "arguments[0].scrollIntoView({block: 'center', inline: 'nearest'});",
            vec![Browser::arg(e)],
        );
        self.must("POST", &format!("/element/{}/click", e.0), Some(json!({})));
    }

    /// The rendered text of an element (empty when it is not displayed).
    pub fn text(&self, e: &Element) -> String {
        self.must("GET", &format!("/element/{}/text", e.0), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn attribute(&self, e: &Element, name: &str) -> Option<String> {
        self.must("GET", &format!("/element/{}/attribute/{name}", e.0), None)
            .as_str()
            .map(str::to_string)
    }

    pub fn displayed(&self, e: &Element) -> bool {
        self.must("GET", &format!("/element/{}/displayed", e.0), None)
            .as_bool()
            .unwrap_or(false)
    }

    /// Types into an input after clearing it.
    pub fn type_into(&self, e: &Element, text: &str) {
        self.must("POST", &format!("/element/{}/clear", e.0), Some(json!({})));
        self.must(
            "POST",
            &format!("/element/{}/value", e.0),
            Some(json!({ "text": text })),
        );
    }

    /// Presses keys on whatever has the focus, as a keyboard user does: text, or
    /// WebDriver key codes such as [`Browser::ENTER`], [`Browser::TAB`], [`Browser::ESCAPE`].
    pub fn keys(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|c| {
                [
                    json!({ "type": "keyDown", "value": c.to_string() }),
                    json!({ "type": "keyUp", "value": c.to_string() }),
                ]
            })
            .collect();
        self.must(
            "POST",
            "/actions",
            Some(json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] })),
        );
    }

    pub const ENTER: &'static str = "\u{E007}";
    pub const TAB: &'static str = "\u{E004}";
    pub const ESCAPE: &'static str = "\u{E00C}";

    /// The element that has the keyboard focus, described as `tag.class[data-column]`.
    pub fn focused(&self) -> String {
        self.script(
            "const e = document.activeElement; const row = e.closest('tr'); const card = e.closest('section');\
             return e.tagName.toLowerCase() + (e.className ? '.' + e.className.split(' ').join('.') : '') + (e.id ? '#' + e.id : '')\
             + (card ? ' in ' + card.dataset.table + (row && row.dataset.column ? '.' + row.dataset.column : '') : '');",
            vec![],
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Moves the mouse over an element (as a person hovering it).
    pub fn hover(&self, e: &Element) {
        self.must(
            "POST",
            "/actions",
            Some(json!({ "actions": [{
                "type": "pointer", "id": "mouse", "parameters": { "pointerType": "mouse" },
                "actions": [{ "type": "pointerMove", "duration": 0, "origin": { ELEMENT: e.0 }, "x": 0, "y": 0 }]
            }]})),
        );
    }

    /// Moves the mouse to the page's top-left corner, away from everything.
    pub fn unhover(&self) {
        self.must(
            "POST",
            "/actions",
            Some(json!({ "actions": [{
                "type": "pointer", "id": "mouse", "parameters": { "pointerType": "mouse" },
                "actions": [{ "type": "pointerMove", "duration": 0, "origin": "viewport", "x": 1, "y": 1 }]
            }]})),
        );
    }

    /// Runs JavaScript in the page (`arguments[i]` are `args`) and returns its result.
    pub fn script(&self, code: &str, args: Vec<Value>) -> Value {
        self.must("POST", "/execute/sync", Some(json!({ "script": code, "args": args })))
    }

    /// An element as a script argument.
    pub fn arg(e: &Element) -> Value {
        json!({ ELEMENT: e.0 })
    }

    /// Saves a PNG of the window.
    pub fn screenshot(&self, path: &Path) {
        let data = self.must("GET", "/screenshot", None);
        let bytes = base64_decode(data.as_str().unwrap_or_default());
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot dir");
        }
        std::fs::write(path, bytes).expect("screenshot written");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.call("DELETE", "", None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_decodes() {
        assert_eq!(super::base64_decode("aGVsbG8gd29ybGQ="), b"hello world");
        assert_eq!(super::base64_decode("AAEC"), vec![0, 1, 2]);
    }

    #[test]
    fn chunks_are_joined() {
        assert_eq!(super::dechunk(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), b"abcde");
    }
}
