//! Connection URLs: `sqlite://PATH` or a bare `.sqlite`/`.db` path,
//! `postgres://` / `postgresql://`, and `mysql://` (MariaDB and MySQL).
//!
//! A password may be in the URL or, when the URL has none, in the environment
//! (`PGPASSWORD` for PostgreSQL, `MYSQL_PWD` for MariaDB/MySQL). A [`DbUrl`] displays
//! without its password, so it can appear in any message.
//!
//! TLS options (see [`crate::tls`]): PostgreSQL `sslmode`, `sslrootcert`, `sslcert`,
//! `sslkey`, or when the URL has none, `PGSSLMODE`, `PGSSLROOTCERT`, `PGSSLCERT`,
//! `PGSSLKEY`; MariaDB/MySQL `ssl-mode`, `ssl-ca`, `ssl-cert`, `ssl-key` (also spelled
//! with `_`). The default mode is `prefer` / `PREFERRED`.

use std::fmt;
use std::path::PathBuf;

use percent_encoding::percent_decode_str;
use url::Url;

use crate::error::ConnectError;
use crate::tls::{Key, TlsMode, TlsOptions};

pub use tether_schema::Engine;

/// Network coordinates of a server database.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerUrl {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    /// PostgreSQL: the database (defaults to the user name). MySQL: the database, if any.
    pub database: Option<String>,
    /// PostgreSQL `?host=/run/postgresql` or MySQL `?socket=/run/mysqld/mysqld.sock`.
    pub socket: Option<String>,
    /// TLS over TCP (a Unix socket never uses it).
    pub tls: TlsOptions,
    /// `connect_timeout=SECONDS` (PostgreSQL also `PGCONNECT_TIMEOUT`; MariaDB/MySQL
    /// also `connect-timeout`), as written: `None` is Tether's default, 10 s; 0 (or
    /// less) waits as long as it takes, as in libpq.
    pub connect_timeout: Option<i64>,
}

impl ServerUrl {
    /// How long connecting (the TCP connection, TLS and the login) may take; `None`:
    /// no limit.
    pub fn connect_limit(&self, engine: Engine) -> Option<std::time::Duration> {
        let seconds = match self.connect_timeout {
            None => 10,
            Some(s) if s <= 0 => return None,
            // libpq takes less than 2 s as 2 s.
            Some(s) if engine == Engine::Postgres => s.max(2),
            Some(s) => s,
        };
        Some(std::time::Duration::from_secs(seconds.unsigned_abs()))
    }

    /// The limit as messages show it, e.g. `10 s (Tether's default; set connect_timeout=SECONDS
    /// in the URL)`.
    pub fn connect_limit_shown(&self, engine: Engine) -> String {
        match (self.connect_limit(engine), self.connect_timeout) {
            (Some(d), None) => format!(
                "{} s (Tether's default; set connect_timeout=SECONDS in the URL, 0 for no limit)",
                d.as_secs()
            ),
            (Some(d), Some(_)) => format!("{} s (connect_timeout)", d.as_secs()),
            (None, _) => "no limit".into(),
        }
    }
}

/// A parsed connection URL.
#[derive(Clone, PartialEq, Eq)]
pub enum DbUrl {
    Sqlite { path: PathBuf },
    Postgres(ServerUrl),
    Mysql(ServerUrl),
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DbUrl({self})")
    }
}

impl fmt::Display for DbUrl {
    /// The URL without its password: safe for logs and messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbUrl::Sqlite { path } => write!(f, "sqlite://{}", path.display()),
            DbUrl::Postgres(s) | DbUrl::Mysql(s) => {
                let scheme = if matches!(self, DbUrl::Postgres(_)) {
                    "postgres"
                } else {
                    "mysql"
                };
                write!(f, "{scheme}://{}", s.user)?;
                if s.password.is_some() {
                    f.write_str(":***")?;
                }
                // An IPv6 address in brackets, as a URL writes it.
                if s.host.contains(':') {
                    write!(f, "@[{}]", s.host)?;
                } else {
                    write!(f, "@{}", s.host)?;
                }
                write!(f, ":{}/{}", s.port, s.database.as_deref().unwrap_or(""))?;
                // The socket is the route taken: the host and port above are not used.
                match (&s.socket, self) {
                    (Some(dir), DbUrl::Postgres(_)) => write!(f, "?host={dir}"),
                    (Some(path), _) => write!(f, "?socket={path}"),
                    (None, _) => Ok(()),
                }
            }
        }
    }
}

/// Replaces the password of anything that looks like a URL with `***` (in the user
/// info and a `password=` parameter), for echoing user input that did not parse.
/// Every spelling goes through here (`scheme://`, a scheme missing its `//` as in
/// `postgresql:/app:PW@host` or `mysql:root:PW@host`, no scheme at all, a libpq
/// keyword string `host=... password=PW`): see [`crate::redact`].
pub fn redact(text: &str) -> String {
    crate::redact::redact(text)
}

/// A deserializer's message (serde: "invalid type: string \"...\", expected struct
/// DestinationSpec") without the value it quotes and without Rust type names: config
/// files hold passwords, URLs and seeds, and a message about their type must not
/// print them. The caller names the key and line.
pub fn without_values(message: &str) -> String {
    let mut out = message.to_string();
    for head in ["invalid type: ", "invalid value: "] {
        let Some(start) = out.find(head).map(|i| i + head.len()) else {
            continue;
        };
        let Some(end) = out.rfind(", expected ").filter(|&e| e >= start) else {
            continue;
        };
        let unexpected = &out[start..end];
        let kind = unexpected
            .find(['`', '"', '\''])
            .map(|q| unexpected[..q].trim_end())
            .unwrap_or(unexpected);
        out = format!("{}{kind}{}", &out[..start], &out[end..]);
    }
    if let Some(i) = out.find("expected struct ") {
        let name_end = out[i + 16..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(out.len(), |e| i + 16 + e);
        out.replace_range(i..name_end, "expected a table");
    }
    out
}

/// Parameters whose values are shown when a URL is echoed: ones that hold no secret
/// (a host, a mode, a file's path, a name).
pub(crate) const SHOWN_PARAMETERS: [&str; 20] = [
    "host",
    "port",
    "dbname",
    "user",
    "application_name",
    "connect_timeout",
    "connect-timeout",
    "socket",
    "sslmode",
    "ssl-mode",
    "ssl_mode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "ssl-ca",
    "ssl_ca",
    "ssl-cert",
    "ssl_cert",
    "ssl-key",
    "ssl_key",
];

/// The query (after the first `?`) with every value masked but those of
/// [`SHOWN_PARAMETERS`]: a `password`, libpq's `sslpassword` or any parameter Tether
/// does not know may hold a secret. A parameter without `=` is masked whole (a
/// password pasted in the wrong place).
pub(crate) fn redact_query(text: &str) -> String {
    let Some(q) = text.find('?') else {
        return text.to_string();
    };
    let params: Vec<String> = text[q + 1..]
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if SHOWN_PARAMETERS.contains(&decode(k).to_ascii_lowercase().as_str()) => p.to_string(),
            Some((k, _)) => format!("{k}=***"),
            None if p.is_empty() => String::new(),
            None => "***".to_string(),
        })
        .collect();
    format!("{}?{}", &text[..q], params.join("&"))
}

/// Whether the text's user info (up to its last `@`) has a password holding an
/// unencoded `/`, `?` or `#`: the URL then splits there, not at the `@`.
fn unencoded_password(text: &str) -> bool {
    let Some(s) = text.find("://") else {
        return false;
    };
    let rest = &text[s + 3..];
    let Some(at) = rest.rfind('@') else {
        return false;
    };
    match rest[..at].split_once(':') {
        Some((user, password)) => !user.contains(['/', '?', '#', '@']) && password.contains(['/', '?', '#']),
        None => false,
    }
}

const UNENCODED_PASSWORD: &str = "the password holds an unencoded `/`, `?` or `#`, which ends the user info \
     early: percent-encode it (`/` as %2F, `?` as %3F, `#` as %23, `%` as %25), or leave it out of the URL \
     and set PGPASSWORD / MYSQL_PWD";

/// Whether the URL's query has a parameter starting with `head` (`name=`), as written.
fn query_has(url: &Url, head: &str) -> bool {
    url.query()
        .is_some_and(|q| q.split('&').any(|p| decode(p).starts_with(head)))
}

/// What is wrong with the percent escapes of `raw` (as written in a URL), if anything.
fn escape_problem(raw: &str) -> Option<&'static str> {
    let b = raw.as_bytes();
    let hex = |i: usize| b.get(i).is_some_and(u8::is_ascii_hexdigit);
    if b.iter()
        .enumerate()
        .any(|(i, &c)| c == b'%' && !(hex(i + 1) && hex(i + 2)))
    {
        return Some("holds a `%` that starts no percent escape (two hex digits must follow it)");
    }
    if percent_decode_str(raw).decode_utf8().is_err() {
        return Some("holds percent escapes that decode to no UTF-8 text");
    }
    None
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

impl DbUrl {
    /// Parses a URL; `env` looks up environment variables (passwords).
    pub fn parse_with_env(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<DbUrl, ConnectError> {
        let text = text.trim();
        let invalid = |reason: String| ConnectError::InvalidUrl {
            url: redact(text),
            reason,
        };
        if let Some(path) = text.strip_prefix("sqlite://").or_else(|| text.strip_prefix("sqlite:")) {
            if path.is_empty() {
                return Err(invalid("the path is empty".into()));
            }
            let path = path.split('?').next().unwrap_or(path);
            // SQLite would read `file:...` as a URI naming another file than the path
            // says (and Tether's own checks would look at the wrong one).
            if path.starts_with("file:") {
                return Err(invalid(
                    "SQLite URI file names (`file:...`) are not supported: give the file's path \
                     (sqlite:///absolute/path.db, or a path relative to the job file)"
                        .into(),
                ));
            }
            return Ok(DbUrl::Sqlite {
                path: PathBuf::from(decode(path)),
            });
        }
        let scheme = text.split("://").next().unwrap_or("");
        let (engine, default_port, env_password) = match scheme {
            "postgres" | "postgresql" => (Engine::Postgres, 5432, "PGPASSWORD"),
            "mysql" | "mariadb" => (Engine::Mysql, 3306, "MYSQL_PWD"),
            _ if !text.contains("://") => {
                let lower = text.to_ascii_lowercase();
                if lower.starts_with("file:") {
                    return Err(invalid(
                        "SQLite URI file names (`file:...`) are not supported: give the file's path \
                         (sqlite:///absolute/path.db, or a path relative to the job file)"
                            .into(),
                    ));
                }
                if [".sqlite", ".sqlite3", ".db", ".db3"]
                    .iter()
                    .any(|e| lower.ends_with(e))
                {
                    return Ok(DbUrl::Sqlite {
                        path: PathBuf::from(text),
                    });
                }
                // Not a secret, and a likely slip for SQLite's in-memory database: shown.
                if text == ":memory:" {
                    return Err(ConnectError::InvalidUrl {
                        url: text.into(),
                        reason: "an in-memory SQLite database is `sqlite://:memory:` (as a source only: a \
                                 destination there would not survive the job)"
                            .into(),
                    });
                }
                return Err(ConnectError::UnknownScheme(redact(text)));
            }
            _ => return Err(ConnectError::UnknownScheme(redact(text))),
        };
        // A password with an unencoded `/`, `?` or `#` splits the URL before its `@`:
        // whatever the parser then says (a bad port, an unknown parameter, another host)
        // would be wrong, and could quote the password.
        let unencoded = unencoded_password(text);
        // libpq takes an empty host (`postgres://user@/db?host=/run/postgresql`): the
        // socket or the local server.
        let with_host;
        let text = match engine == Engine::Postgres
            && text.split_once("://").is_some_and(|(_, rest)| {
                rest.split(['/', '?'])
                    .next()
                    .is_some_and(|authority| authority.ends_with('@'))
            }) {
            true => {
                let (authority, rest) = text.split_at(text.find('@').expect("checked") + 1);
                with_host = format!("{authority}localhost{rest}");
                with_host.as_str()
            }
            false => text,
        };
        let url = Url::parse(text).map_err(|e| {
            invalid(if unencoded {
                UNENCODED_PASSWORD.into()
            } else {
                e.to_string()
            })
        })?;
        if unencoded && (url.password().is_none() || url.fragment().is_some()) {
            return Err(invalid(UNENCODED_PASSWORD.into()));
        }
        let mut socket = None;
        let mut host_param = None;
        let mut tls_mode = None;
        // Where the mode was written (`sslmode=...` or `PGSSLMODE=...`), for messages.
        let mut mode_written = None;
        let (mut root_cert, mut cert, mut key) = (None, None, None);
        let mut connect_timeout = None;
        let seconds = |k: &str, v: &str| {
            v.trim().parse::<i64>().map_err(|_| {
                invalid(format!(
                    "{k}={v} is not a number of seconds (a whole number; 0 for no limit)"
                ))
            })
        };
        // A second `?` (`sslmode=require?password=PW`) or a parameter in the path
        // (`/shop&password=PW`) is a typo whose value may be a secret: refused without
        // echoing it.
        if let Some((k, _)) = url.query_pairs().find(|(_, v)| v.contains('?') && v.contains('=')) {
            return Err(invalid(format!(
                "the value of `{k}` holds `?...=`: a URL's parameters are separated by `&` after the first `?`"
            )));
        }
        if url.path().contains('=') {
            return Err(invalid(
                "the database name holds `=`: a URL's parameters come after a `?` (then separated by `&`)".into(),
            ));
        }
        for (k, v) in url.query_pairs() {
            let path = || Some(PathBuf::from(v.as_ref()));
            match (engine, k.as_ref()) {
                (Engine::Postgres, "host") if v.starts_with('/') => socket = Some(v.into_owned()),
                (Engine::Postgres, "host") => host_param = Some(v.into_owned()),
                (Engine::Postgres, "sslmode") | (Engine::Mysql, "ssl-mode" | "ssl_mode" | "sslmode") => {
                    tls_mode = Some(TlsMode::parse(engine, &v).ok_or_else(|| invalid(bad_mode(engine, &k, &v)))?);
                    mode_written = Some(format!("{k}={v}"));
                }
                (Engine::Postgres, "sslrootcert") | (Engine::Mysql, "ssl-ca" | "ssl_ca") => root_cert = path(),
                (Engine::Postgres, "sslcert") | (Engine::Mysql, "ssl-cert" | "ssl_cert") => cert = path(),
                (Engine::Postgres, "sslkey") | (Engine::Mysql, "ssl-key" | "ssl_key") => key = path(),
                (Engine::Postgres, "connect_timeout") | (Engine::Mysql, "connect_timeout" | "connect-timeout") => {
                    connect_timeout = Some(seconds(&k, &v)?)
                }
                (Engine::Postgres, "application_name") => {}
                (Engine::Postgres, "user") => {}
                (Engine::Postgres, "password") => {}
                (Engine::Mysql, "socket") => socket = Some(v.into_owned()),
                _ if unencoded => return Err(invalid(UNENCODED_PASSWORD.into())),
                // A bare word after `?` may be a password pasted in the wrong place.
                _ if v.is_empty() && !query_has(&url, &format!("{k}=")) => {
                    return Err(invalid("a URL parameter without `=value` (shown as ***)".into()))
                }
                (Engine::Postgres, "sslpassword") => {
                    return Err(invalid(
                        "unknown URL parameter `sslpassword`: an encrypted client key is not supported \
                         (give `sslkey` an unencrypted key file)"
                            .into(),
                    ))
                }
                _ => return Err(invalid(format!("unknown URL parameter `{k}`"))),
            }
        }
        if engine == Engine::Postgres {
            // libpq: the environment fills in what the URL does not say.
            let env_path = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
            if tls_mode.is_none() {
                if let Some(v) = env("PGSSLMODE").filter(|v| !v.is_empty()) {
                    tls_mode =
                        Some(TlsMode::parse(engine, &v).ok_or_else(|| invalid(bad_mode(engine, "PGSSLMODE", &v)))?);
                    mode_written = Some(format!("PGSSLMODE={v}"));
                }
            }
            if connect_timeout.is_none() {
                if let Some(v) = env("PGCONNECT_TIMEOUT").filter(|v| !v.is_empty()) {
                    connect_timeout = Some(seconds("PGCONNECT_TIMEOUT", &v)?);
                }
            }
            root_cert = root_cert.or_else(|| env_path("PGSSLROOTCERT"));
            cert = cert.or_else(|| env_path("PGSSLCERT"));
            key = key.or_else(|| env_path("PGSSLKEY"));
            // libpq 16: `sslrootcert=system` (the public CAs, which sign a certificate
            // for anyone's host) makes verify-full the default and refuses weaker modes.
            if root_cert.as_ref().is_some_and(|p| p.as_os_str() == "system") {
                match tls_mode {
                    None => tls_mode = Some(TlsMode::VerifyFull),
                    Some(TlsMode::VerifyFull) => {}
                    Some(_) => {
                        return Err(invalid(format!(
                            "{} may not be used with sslrootcert=system: the public CAs sign certificates for \
                             any host, so only sslmode=verify-full checks the server (as libpq 16 says: leave \
                             sslmode out, or use verify-full)",
                            mode_written.as_deref().unwrap_or("this sslmode")
                        )))
                    }
                }
            }
        }
        let mut tls = TlsOptions {
            mode: tls_mode.unwrap_or_default(),
            root_cert,
            cert,
            key,
            ..TlsOptions::default()
        };
        if engine == Engine::Postgres && tls.root_cert.is_none() && tls.mode.at_least_require() {
            // libpq's default root certificate file, when there is one.
            let default = env("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".postgresql/root.crt"));
            if let Some(p) = default.filter(|p| p.is_file()) {
                tls.root_cert = Some(p);
                tls.default_root_cert = true;
            }
        }
        // libpq: `require` with a root certificate file (sslrootcert, PGSSLROOTCERT or
        // ~/.postgresql/root.crt) checks the chain as `verify-ca` does (the mysql
        // client's REQUIRED does not).
        if engine == Engine::Postgres && tls.mode == TlsMode::Require && tls.root_cert.is_some() {
            tls.mode = TlsMode::VerifyCa;
            tls.verify_ca_from = Some(TlsMode::Require);
        }
        // MariaDB / MySQL: a CA file given is a CA to check against. The mysql client
        // makes `--ssl-ca` without `--ssl-mode` VERIFY_CA, and the mariadb client checks
        // the CA whenever `--ssl-ca` is given (and then never goes plain), so REQUIRED,
        // PREFERRED or no mode with `ssl-ca` is VERIFY_CA here: a certificate another CA
        // signed is refused, not silently accepted.
        if engine == Engine::Mysql
            && matches!(tls.mode, TlsMode::Prefer | TlsMode::Require)
            && tls.root_cert.as_ref().is_some_and(|p| p.as_os_str() != "system")
        {
            tls.verify_ca_from = Some(tls_mode.map_or(TlsMode::VerifyCa, |_| tls.mode));
            tls.mode = TlsMode::VerifyCa;
        }
        // VERIFY_CA without ssl-ca would trust the public CAs for any host name: any
        // certificate a public CA issued to anyone would pass.
        if engine == Engine::Mysql && tls.mode == TlsMode::VerifyCa && tls.root_cert.is_none() {
            return Err(invalid(crate::tls::public_roots_without_host_check(engine)));
        }
        let query_value = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
        let user = match url.username() {
            "" => query_value("user").unwrap_or_else(|| {
                if engine == Engine::Postgres {
                    "postgres".into()
                } else {
                    "root".into()
                }
            }),
            u => decode(u),
        };
        // A `%` that starts no escape (`%zz`, a lone `%`) or escapes that decode to no
        // UTF-8 text would be taken as they are, or mangled: the login would fail with a
        // password the user never wrote.
        let raw_password = url.password().map(str::to_string).or_else(|| {
            url.query()
                .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("password=")))
                .map(str::to_string)
        });
        if let Some(raw) = &raw_password {
            if let Some(problem) = escape_problem(raw) {
                return Err(invalid(format!(
                    "the password {problem}: write `%` as %25 (the password is not shown), or leave it out of \
                     the URL and set {env_password}"
                )));
            }
        }
        let password = url
            .password()
            .map(decode)
            .or_else(|| query_value("password"))
            .or_else(|| env(env_password));
        // libpq: a host that decodes to an absolute path (`postgres://u@%2Frun%2Fpostgresql/db`)
        // is the directory of the server's unix socket.
        let url_host = url.host_str().map(decode);
        if engine == Engine::Postgres && socket.is_none() && url_host.as_deref().is_some_and(|h| h.starts_with('/')) {
            socket = url_host;
        }
        let url_host = url.host_str().filter(|h| !decode(h).starts_with('/'));
        let host = host_param
            .or_else(|| url_host.map(|h| h.trim_matches(['[', ']']).to_string()))
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        let database = Some(decode(url.path().trim_start_matches('/'))).filter(|d| !d.is_empty());
        let server = ServerUrl {
            host,
            port: url.port().unwrap_or(default_port),
            database: match engine {
                Engine::Postgres => Some(database.unwrap_or_else(|| user.clone())),
                _ => database,
            },
            user,
            password,
            socket,
            tls,
            connect_timeout,
        };
        Ok(match engine {
            Engine::Postgres => DbUrl::Postgres(server),
            _ => DbUrl::Mysql(server),
        })
    }

    /// The database a MySQL URL must name (every other URL names or implies one), and a
    /// SQLite path that can be a database file (not a directory).
    pub fn require_database(&self) -> Result<(), ConnectError> {
        match self {
            DbUrl::Sqlite { path } if path.is_dir() => Err(ConnectError::InvalidUrl {
                url: self.to_string(),
                reason: format!(
                    "{} is a directory: give the path of a SQLite database file (a destination's is created \
                     when missing)",
                    path.display()
                ),
            }),
            DbUrl::Mysql(server) if server.database.is_none() => Err(ConnectError::InvalidUrl {
                url: self.to_string(),
                reason: "a MySQL URL needs a database: mysql://USER@HOST:PORT/DATABASE".into(),
            }),
            _ => Ok(()),
        }
    }

    /// Parses a URL, taking passwords missing from it from the process environment.
    pub fn parse(text: &str) -> Result<DbUrl, ConnectError> {
        Self::parse_with_env(text, |k| std::env::var(k).ok())
    }

    pub fn engine(&self) -> Engine {
        match self {
            DbUrl::Sqlite { .. } => Engine::Sqlite,
            DbUrl::Postgres(_) => Engine::Postgres,
            DbUrl::Mysql(_) => Engine::Mysql,
        }
    }

    /// The same server with another database (PostgreSQL, MySQL); used to create and
    /// reach scratch databases.
    pub fn with_database(&self, database: &str) -> DbUrl {
        match self {
            DbUrl::Sqlite { .. } => self.clone(),
            DbUrl::Postgres(s) => DbUrl::Postgres(ServerUrl {
                database: Some(database.into()),
                ..s.clone()
            }),
            DbUrl::Mysql(s) => DbUrl::Mysql(ServerUrl {
                database: Some(database.into()),
                ..s.clone()
            }),
        }
    }
}

fn bad_mode(engine: Engine, key: &str, value: &str) -> String {
    let values = match engine {
        Engine::Postgres => "disable, allow, prefer, require, verify-ca or verify-full",
        _ => "DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY",
    };
    format!(
        "{key}={value} is not a TLS mode: expected {values} ({} options: {}, {}, {})",
        engine,
        Key::RootCert.name(engine),
        Key::Cert.name(engine),
        Key::PrivateKey.name(engine)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn sqlite_forms() {
        assert_eq!(
            DbUrl::parse_with_env("sqlite:///tmp/a.db", no_env).unwrap(),
            DbUrl::Sqlite {
                path: "/tmp/a.db".into()
            }
        );
        assert_eq!(
            DbUrl::parse_with_env("sqlite://data/a.sqlite", no_env).unwrap(),
            DbUrl::Sqlite {
                path: "data/a.sqlite".into()
            }
        );
        assert_eq!(
            DbUrl::parse_with_env("./x/chinook.db", no_env).unwrap(),
            DbUrl::Sqlite {
                path: "./x/chinook.db".into()
            }
        );
    }

    /// SQLite reads a name starting with `file:` as a URI naming another file (a job
    /// run from its own directory with `url = "file:src.sqlite"` wrote into the source
    /// `src.sqlite`): refused in every spelling.
    #[test]
    fn sqlite_uri_names_are_refused() {
        for text in [
            "file:src.sqlite",
            "FILE:src.db",
            "sqlite:file:src.db",
            "sqlite://file:src.db?mode=rw",
        ] {
            let e = DbUrl::parse_with_env(text, no_env).unwrap_err().to_string();
            assert!(
                e.contains("SQLite URI file names (`file:...`) are not supported"),
                "{text}: {e}"
            );
        }
        // Opened as an absolute path: never a URI, whatever the name.
        let p = crate::engine::sqlite::plain_path(std::path::Path::new("file:src.sqlite"));
        assert!(p.is_absolute() && p.ends_with("file:src.sqlite"), "{}", p.display());
    }

    #[test]
    fn postgres_defaults_and_redaction() {
        let u = DbUrl::parse_with_env("postgresql://alice:s3cr%40t@db.example:6543/shop", no_env).unwrap();
        let DbUrl::Postgres(s) = &u else { panic!("{u:?}") };
        assert_eq!(
            (s.user.as_str(), s.password.as_deref(), s.port),
            ("alice", Some("s3cr@t"), 6543)
        );
        assert_eq!(s.database.as_deref(), Some("shop"));
        assert_eq!(u.to_string(), "postgres://alice:***@db.example:6543/shop");
        assert!(!format!("{u:?}").contains("s3cr"));

        let u = DbUrl::parse_with_env("postgres://bob@127.0.0.1", no_env).unwrap();
        assert_eq!(u.to_string(), "postgres://bob@127.0.0.1:5432/bob");
    }

    #[test]
    fn a_percent_encoded_absolute_host_is_a_socket_directory() {
        for text in [
            "postgres://postgres@%2Fvar%2Frun%2Fpostgresql/shop",
            "postgresql://postgres@%2fvar%2frun%2fpostgresql:5433/shop",
            "postgres://%2Fvar%2Frun%2Fpostgresql/shop?user=postgres",
        ] {
            let DbUrl::Postgres(s) = DbUrl::parse_with_env(text, no_env).unwrap() else {
                panic!("{text}")
            };
            assert_eq!(s.socket.as_deref(), Some("/var/run/postgresql"), "{text}");
            assert_eq!((s.host.as_str(), s.user.as_str()), ("localhost", "postgres"), "{text}");
            assert_eq!(s.database.as_deref(), Some("shop"), "{text}");
        }
        // An empty host, as libpq takes it; the socket is shown as the route.
        let u = DbUrl::parse_with_env("postgres://postgres@/shop?host=/var/run/postgresql", no_env).unwrap();
        let DbUrl::Postgres(s) = &u else { panic!() };
        assert_eq!(s.socket.as_deref(), Some("/var/run/postgresql"));
        assert_eq!(
            u.to_string(),
            "postgres://postgres@localhost:5432/shop?host=/var/run/postgresql"
        );
        let u = DbUrl::parse_with_env("mysql://root@localhost/shop?socket=/run/mysqld/mysqld.sock", no_env).unwrap();
        assert_eq!(
            u.to_string(),
            "mysql://root@localhost:3306/shop?socket=/run/mysqld/mysqld.sock"
        );
        // `?host=` still wins, and a name is still a name.
        let DbUrl::Postgres(s) = DbUrl::parse_with_env("postgres://u@%2Fa/d?host=%2Fb", no_env).unwrap() else {
            panic!()
        };
        assert_eq!(s.socket.as_deref(), Some("/b"));
        let DbUrl::Postgres(s) = DbUrl::parse_with_env("postgres://u@db.example/d", no_env).unwrap() else {
            panic!()
        };
        assert_eq!((s.socket, s.host.as_str()), (None, "db.example"));
    }

    #[test]
    fn passwords_come_from_the_environment_when_the_url_has_none() {
        let env = |k: &str| match k {
            "PGPASSWORD" => Some("pg-pw".to_string()),
            "MYSQL_PWD" => Some("my-pw".to_string()),
            _ => None,
        };
        let DbUrl::Postgres(s) = DbUrl::parse_with_env("postgres://u@h/d", env).unwrap() else {
            panic!()
        };
        assert_eq!(s.password.as_deref(), Some("pg-pw"));
        let DbUrl::Mysql(s) = DbUrl::parse_with_env("mysql://u@h:3307/d", env).unwrap() else {
            panic!()
        };
        assert_eq!((s.password.as_deref(), s.port), (Some("my-pw"), 3307));
        let DbUrl::Mysql(s) = DbUrl::parse_with_env("mysql://u:inline@h/d", env).unwrap() else {
            panic!()
        };
        assert_eq!(s.password.as_deref(), Some("inline"));
    }

    #[test]
    fn unknown_schemes_are_named_without_the_password() {
        let e = DbUrl::parse_with_env("oracle://scott:tiger@host/db", no_env).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown database URL `oracle://scott:***@host/db`: expected sqlite://PATH, a .sqlite/.db file, postgres://... or mysql://..."
        );
        let e = DbUrl::parse_with_env("postgres://u@h/d?password=pw&sslmode=bad", no_env).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid database URL `postgres://u@h/d?password=***&sslmode=bad`: "),
            "{e}"
        );
        let e = DbUrl::parse_with_env("postgres://u:pw@h/d?sslmode=sometimes", no_env).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid database URL `postgres://u:***@h/d?sslmode=sometimes`: sslmode=sometimes is not a TLS mode: \
             expected disable, allow, prefer, require, verify-ca or verify-full (postgres options: sslrootcert, sslcert, sslkey)"
        );
    }

    /// Review r23m F7/F8: a `?` typed for `&` before `password=`, or an `&` for `?`
    /// after the database name, is refused without the secret anywhere in the message
    /// (before: `sslmode=require?password=S3cret is not a TLS mode`, and the database
    /// `shop&password=S3cret` named by the server).
    #[test]
    fn a_mistyped_separator_is_refused_without_echoing_the_password() {
        for text in [
            "postgres://u@h/d?sslmode=require?password=S3cret",
            "postgres://u@h/d?host=h2?password=S3cret",
            "mysql://u@h/d?ssl-ca=/ca.pem?password=S3cret",
            "postgres://u@h/shop&password=S3cret",
            "mysql://u@h/shop&password=S3cret&sslmode=require",
        ] {
            let e = DbUrl::parse_with_env(text, no_env).unwrap_err().to_string();
            assert!(!e.contains("S3cret"), "{e}");
            assert!(e.contains("separated by `&`"), "{e}");
        }
    }

    /// Review r23m F3: a `%` that starts no escape in a password (`%zz`, a lone `%`,
    /// `%4`) was sent as written, and escapes of no UTF-8 text mangled: refused, the
    /// password not shown.
    #[test]
    fn a_password_with_a_bad_percent_escape_is_refused_without_echoing_it() {
        for text in [
            "postgres://u:S3cr%zzet@h/d",
            "postgres://u:S3cret%@h/d",
            "mysql://u:S3cret%4@h/d",
            "mysql://u:S3cr%ffet@h/d",
            "postgres://u@h/d?password=S3cr%zzet",
            "postgres://u@h/d?sslmode=disable&password=S3cret%",
        ] {
            let e = DbUrl::parse_with_env(text, no_env).unwrap_err().to_string();
            assert!(!e.contains("S3cr"), "{e}");
            assert!(e.starts_with("invalid database URL `"), "{e}");
            assert!(e.contains(": the password holds "), "{e}");
            assert!(e.contains("write `%` as %25 (the password is not shown)"), "{e}");
        }
        let e = DbUrl::parse_with_env("postgres://u:S3cr%zzet@h/d", no_env)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "invalid database URL `postgres://u:***@h/d`: the password holds a `%` that starts no percent escape \
             (two hex digits must follow it): write `%` as %25 (the password is not shown), or leave it out of \
             the URL and set PGPASSWORD"
        );
        // Good escapes still decode.
        let DbUrl::Mysql(s) = DbUrl::parse_with_env("mysql://u:S3cr%25et%C3%A9@h/d", no_env).unwrap() else {
            panic!()
        };
        assert_eq!(s.password.as_deref(), Some("S3cr%eté"));
    }

    fn tls_of(text: &str, env: impl Fn(&str) -> Option<String>) -> TlsOptions {
        match DbUrl::parse_with_env(text, env).unwrap() {
            DbUrl::Postgres(s) | DbUrl::Mysql(s) => s.tls,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tls_options_follow_each_ecosystem() {
        // Defaults: prefer, as libpq and the mysql client.
        assert_eq!(tls_of("postgres://u@h/d", no_env), TlsOptions::default());
        assert_eq!(tls_of("mysql://u@h/d", no_env).mode, TlsMode::Prefer);
        assert_eq!(
            tls_of(
                "postgres://u@h/d?sslmode=verify-full&sslrootcert=/ca.pem&sslcert=/c.pem&sslkey=/k.pem",
                no_env
            ),
            TlsOptions {
                mode: TlsMode::VerifyFull,
                root_cert: Some("/ca.pem".into()),
                cert: Some("/c.pem".into()),
                key: Some("/k.pem".into()),
                ..TlsOptions::default()
            }
        );
        // libpq: require with a root certificate is verify-ca.
        assert_eq!(
            tls_of("postgres://u@h/d?sslmode=require&sslrootcert=/ca.pem", no_env).mode,
            TlsMode::VerifyCa
        );
        assert_eq!(
            tls_of(
                "mysql://u@h/d?ssl-mode=verify_identity&ssl_ca=/ca.pem&ssl-cert=/c.pem&ssl_key=/k.pem",
                no_env
            ),
            TlsOptions {
                mode: TlsMode::VerifyFull,
                root_cert: Some("/ca.pem".into()),
                cert: Some("/c.pem".into()),
                key: Some("/k.pem".into()),
                ..TlsOptions::default()
            }
        );
        // The mysql client: ssl-ca alone is VERIFY_CA; the mariadb client checks a given
        // CA with REQUIRED / PREFERRED too.
        for (query, from) in [
            ("ssl-ca=/ca.pem", TlsMode::VerifyCa),
            ("ssl-mode=REQUIRED&ssl-ca=/ca.pem", TlsMode::Require),
            ("ssl_mode=preferred&ssl_ca=/ca.pem", TlsMode::Prefer),
        ] {
            let tls = tls_of(&format!("mysql://u@h/d?{query}"), no_env);
            assert_eq!(
                (tls.mode, tls.verify_ca_from),
                (TlsMode::VerifyCa, Some(from)),
                "{query}"
            );
        }
        assert_eq!(
            tls_of("mysql://u@h/d?ssl-mode=DISABLED&ssl-ca=/ca.pem", no_env).mode,
            TlsMode::Disable
        );
        // The PGSSL* variables fill in what the URL does not say.
        let env = |k: &str| match k {
            "PGSSLMODE" => Some("verify-ca".to_string()),
            "PGSSLROOTCERT" => Some("/env-ca.pem".to_string()),
            "PGSSLCERT" => Some("/env-c.pem".to_string()),
            "PGSSLKEY" => Some("/env-k.pem".to_string()),
            _ => None,
        };
        assert_eq!(
            tls_of("postgres://u@h/d?sslmode=disable&sslkey=/k.pem", env),
            TlsOptions {
                mode: TlsMode::Disable,
                root_cert: Some("/env-ca.pem".into()),
                cert: Some("/env-c.pem".into()),
                key: Some("/k.pem".into()),
                ..TlsOptions::default()
            }
        );
        assert_eq!(tls_of("postgres://u@h/d", env).mode, TlsMode::VerifyCa);
        // Not for MySQL URLs.
        assert_eq!(tls_of("mysql://u@h/d", env), TlsOptions::default());
        let e = DbUrl::parse_with_env("mysql://u@h/d?ssl-mode=verify-full", no_env).unwrap_err();
        assert!(
            e.to_string()
                .contains("expected DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY"),
            "{e}"
        );
    }
}
