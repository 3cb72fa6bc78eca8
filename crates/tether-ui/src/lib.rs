//! `tether ui`: a local web page to see and edit a sync job's column mapping.
//!
//! The page lists the job's tables in load order with every column's keys, an orange
//! "Foreign Key" badge on FK columns (hover or focus shows the parent column and the
//! ON DELETE / ON UPDATE actions), cycles, and the transformer in force on each column
//! with where it comes from: set on the column, or inherited from the parent key through
//! an FK. Every change is planned at once by the same code as `tether plan` ([`Mapping`]),
//! so a mapping that would break a key is refused with the planner's own message before
//! anything is saved. Saving rewrites the job file keeping its comments and layout.
//! A flat grid of all columns filters by personal data copied unchanged (from the
//! privacy scan), transformed, FK columns and changes since the last save.
//!
//! The page's HTML, CSS and JavaScript are compiled into the binary: it works offline.
//! The server listens on 127.0.0.1 unless told otherwise and answers only requests
//! addressed to the address it listens on (no DNS rebinding), and changes only through
//! JSON requests (no cross-site form posts).

mod http;
pub mod mapping;

use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::Deserialize;

pub use mapping::{Mapping, View};

use http::{Request, Response};

#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// A bad job file or argument.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Sync(#[from] tether_sync::SyncError),
    #[error("cannot listen on {address}: {source}")]
    Listen { address: String, source: std::io::Error },
}

const INDEX_HTML: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");
const STYLE_CSS: &str = include_str!("../assets/style.css");

/// Connections served at once; more get 503 (one thread each).
const MAX_CONNECTIONS: usize = 64;

/// The page's server, bound and ready.
pub struct Server {
    listener: TcpListener,
    mapping: Arc<Mutex<Mapping>>,
    allowed_hosts: Arc<Vec<String>>,
}

impl Server {
    /// Binds `address` (`HOST:PORT`; port 0 picks a free one). Requests must name the
    /// server by an IP address, `localhost`, or one of `allowed_hosts` (host names of
    /// this machine the page is opened by): a web page cannot reach it through a DNS
    /// name of its own that points here. An allowed host may be written as the address
    /// bar shows it (`devbox:7420`, `http://devbox:7420/`): the name is kept; a value
    /// that could never match (another port, `https://`, a path, not a host name) is a
    /// [`UiError::Usage`] naming it, and nothing listens.
    pub fn bind(mapping: Mapping, address: &str, allowed_hosts: &[String]) -> Result<Server, UiError> {
        let listener = TcpListener::bind(address).map_err(|source| match source.kind() {
            // An address that is not one (`0.0.0.0:99999`, `nohost`): bad usage, exit 2.
            std::io::ErrorKind::InvalidInput => UiError::Usage(format!(
                "cannot listen on {address}: {source} (give HOST:PORT, a port from 0 to 65535)"
            )),
            _ => UiError::Listen {
                address: address.to_string(),
                source,
            },
        })?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        // Port 0 asked for any port: a `NAME:PORT` written before start cannot know it.
        let requested = address
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse::<u16>().ok())
            .unwrap_or(port);
        let allowed_hosts = allowed_hosts
            .iter()
            .map(|h| allowed_host(h, requested))
            .collect::<Result<Vec<_>, _>>()
            .map_err(UiError::Usage)?;
        Ok(Server {
            listener,
            mapping: Arc::new(Mutex::new(mapping)),
            allowed_hosts: Arc::new(allowed_hosts),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until the process ends; one thread per connection.
    pub fn run(self) {
        let local = self.listener.local_addr().ok();
        let active = Arc::new(AtomicUsize::new(0));
        for stream in self.listener.incoming() {
            let Ok(stream) = stream else { continue };
            if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                active.fetch_sub(1, Ordering::SeqCst);
                http::write_response(&stream, &Response::error(503, "too many connections"));
                continue;
            }
            let mapping = Arc::clone(&self.mapping);
            let hosts = Arc::clone(&self.allowed_hosts);
            let active = Arc::clone(&active);
            std::thread::spawn(move || {
                handle(&stream, &mapping, local, &hosts);
                active.fetch_sub(1, Ordering::SeqCst);
            });
        }
    }
}

fn handle(stream: &TcpStream, mapping: &Mutex<Mapping>, local: Option<SocketAddr>, hosts: &[String]) {
    let response = match http::read_request(stream) {
        Ok(None) => return,
        Ok(Some(request)) => match allowed(&request, local, hosts) {
            Ok(()) => route(&request, mapping),
            Err(r) => r,
        },
        Err(r) => r,
    };
    http::write_response(stream, &response);
}

/// One `--allow-host` value as the host name `allowed` compares (lower-cased), for a
/// server on `port` (0: picked at start). The form the address bar shows is accepted:
/// `http://` and a trailing `/` are dropped, and so is `:PORT` naming this server's port.
/// Anything else could never match a request's Host: an error naming the value.
fn allowed_host(value: &str, port: u16) -> Result<String, String> {
    let lower = value.trim().to_ascii_lowercase();
    let mut rest = lower.as_str();
    let name_alone = |name: &str| {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
            "give the host name alone, e.g. --allow-host devbox".to_string()
        } else {
            format!("give the host name alone: --allow-host {name}")
        }
    };
    let refuse = |why: &str, name: &str| Err(format!("--allow-host `{value}`: {why}; {}", name_alone(name)));
    if let Some((scheme, after)) = rest.split_once("://") {
        let name = after.split(['/', ':']).next().unwrap_or_default();
        if scheme != "http" {
            return refuse("tether ui serves http only", name);
        }
        rest = after;
    }
    if let Some((before, path)) = rest.split_once('/') {
        if !path.is_empty() {
            return refuse("a path has no place here", before.split(':').next().unwrap_or_default());
        }
        rest = before;
    }
    let name = match rest.rsplit_once(':') {
        Some((name, given)) if !name.contains(':') || name.ends_with(']') => match given.parse::<u16>() {
            Ok(_) if port == 0 => return refuse("the port is picked at start (port 0)", name),
            Ok(p) if p == port => name,
            Ok(p) => return refuse(&format!("port {p} is not the port tether ui listens on ({port})"), name),
            Err(_) => return refuse(&format!("`{given}` is not a port number"), name),
        },
        _ => rest,
    };
    let literal = name
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok();
    if !literal && (name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))) {
        return Err(format!(
            "--allow-host `{value}`: not a host name (letters, digits, `-`, `_` and `.`); {}",
            name_alone("")
        ));
    }
    Ok(name.to_string())
}

/// `name:port` (also `[v6]:port`) -> (name, port), lower-cased.
fn split_host(host: &str) -> (String, Option<u16>) {
    let host = host.trim().to_ascii_lowercase();
    match host.rsplit_once(':') {
        Some((name, port)) if !name.is_empty() && (!name.contains(':') || name.ends_with(']')) => {
            (name.to_string(), port.parse().ok())
        }
        _ => (host, None),
    }
}

/// Only requests that name this server by an IP address, `localhost` or an allowed
/// host name, at its port, are answered: a web page elsewhere cannot reach it through a
/// DNS name pointing at it (DNS rebinding). Changes need a JSON body, which a
/// cross-site form cannot send, and a matching `Origin` when the browser sends one.
fn allowed(r: &Request, local: Option<SocketAddr>, hosts: &[String]) -> Result<(), Response> {
    let host = r.header("host").unwrap_or_default();
    let (name, port) = split_host(host);
    let port_ok = local.is_none_or(|l| port == Some(l.port()));
    let literal = name
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok();
    if !(port_ok && (literal || name == "localhost" || hosts.contains(&name))) {
        let port = local.map(|l| l.port()).unwrap_or_default();
        // The Host as sent, when it reads as one (it is the client's text).
        let host = host.trim();
        let shown = if !host.is_empty()
            && host.len() <= 255
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:[]".contains(&b))
        {
            format!(": `{host}` is not")
        } else {
            String::new()
        };
        return Err(Response::error(
            403,
            &format!(
                "requests must be addressed to an IP address, localhost or a name given with --allow-host, at port {port}{shown}"
            ),
        ));
    }
    if r.method == "POST" {
        let json = r
            .header("content-type")
            .is_some_and(|c| c.to_ascii_lowercase().starts_with("application/json"));
        if !json {
            return Err(Response::error(415, "changes are sent as application/json"));
        }
        if let Some(origin) = r.header("origin") {
            // The page is served over http only: an `https://` (or any other) origin
            // is another site, whatever its host.
            let origin = origin.trim().to_ascii_lowercase();
            let same = origin
                .strip_prefix("http://")
                .is_some_and(|origin_host| split_host(origin_host) == split_host(host));
            if !same {
                return Err(Response::error(403, "cross-origin requests are refused"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn hosts_split_into_name_and_port() {
        use super::split_host;
        assert_eq!(split_host("LocalHost:7420"), ("localhost".into(), Some(7420)));
        assert_eq!(split_host("[::1]:80"), ("[::1]".into(), Some(80)));
        assert_eq!(split_host("127.0.0.2:9"), ("127.0.0.2".into(), Some(9)));
        assert_eq!(split_host("example.org"), ("example.org".into(), None));
        assert_eq!(split_host("::1"), ("::1".into(), None));
    }
}

/// The body of POST /api/transformer. Unknown fields are refused (400 naming them): a
/// misspelled `kind` would otherwise read as "no kind", which removes the transformer.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetTransformer {
    table: String,
    column: String,
    /// None removes the column's transformer.
    kind: Option<String>,
    #[serde(default)]
    options: String,
}

fn route(r: &Request, mapping: &Mutex<Mapping>) -> Response {
    let asset = |content_type, body: &str| Response {
        status: 200,
        content_type,
        body: body.as_bytes().to_vec(),
    };
    let mut m = match mapping.lock() {
        Ok(m) => m,
        Err(poisoned) => poisoned.into_inner(),
    };
    match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/") | ("GET", "/index.html") => asset("text/html; charset=utf-8", INDEX_HTML),
        ("GET", "/app.js") => asset("text/javascript; charset=utf-8", APP_JS),
        ("GET", "/style.css") => asset("text/css; charset=utf-8", STYLE_CSS),
        ("GET", "/api/mapping") => Response::json(200, &m.view()),
        ("GET", "/api/plan") => match m.plan_text() {
            Ok(text) => Response::json(200, &serde_json::json!({ "text": text })),
            Err(e) => Response::error(422, &e),
        },
        ("POST", "/api/transformer") => {
            let req: SetTransformer = match serde_json::from_slice(&r.body) {
                Ok(x) => x,
                Err(e) => return Response::error(400, &format!("bad request body: {e}")),
            };
            let choice = req.kind.as_deref().map(|k| (k, req.options.as_str()));
            match m.set_transformer(&req.table, &req.column, choice) {
                Ok(()) => {
                    tracing::info!(table = %req.table, column = %req.column, "transformer changed");
                    Response::json(200, &m.view())
                }
                Err(e) => Response::error(422, &e),
            }
        }
        ("POST", "/api/save") => match m.save() {
            Ok(saved) => {
                tracing::info!(path = %saved.path, "job file saved");
                Response::json(200, &serde_json::json!({ "saved": saved, "view": m.view() }))
            }
            Err(e) => Response::error(409, &e),
        },
        (_, "/" | "/index.html" | "/app.js" | "/style.css" | "/api/mapping" | "/api/plan") => {
            Response::error(405, "method not allowed")
        }
        (_, "/api/transformer" | "/api/save") => Response::error(405, "method not allowed"),
        _ => Response::error(404, &format!("no such page: {}", r.path)),
    }
}
