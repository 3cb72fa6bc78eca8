//! Starting a gateway in-process and talking to it.

use std::net::SocketAddr;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Value};
use tether_testkit::TestDb;

pub const USER: &str = "app";
pub const PASSWORD: &str = "s3cret";

/// A running gateway; it stops with its runtime when dropped.
pub struct Gw {
    pub rt: tokio::runtime::Runtime,
    pub addr: SocketAddr,
}

/// Starts a gateway serving `keyspaces` (name, mode, backend URL).
pub fn start(keyspaces: &[(&str, &str, &str)]) -> Gw {
    let ks: Vec<String> = keyspaces
        .iter()
        .map(|(name, mode, url)| format!(r#""{name}": {{"foreignKeyMode": "{mode}", "backend": {{"url": "{url}"}}}}"#))
        .collect();
    let json = format!(
        r#"{{"listen": "127.0.0.1:0", "users": [{{"user": "{USER}", "password": "{PASSWORD}"}}],
            "keyspaces": {{{}}}}}"#,
        ks.join(", ")
    );
    let config = tether_gateway::Config::parse(&json).expect("test config is valid");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let gateway = rt
        .block_on(tether_gateway::Gateway::bind(&config, None))
        .expect("gateway binds");
    let addr = gateway.local_addr().expect("address");
    rt.spawn(gateway.serve());
    Gw { rt, addr }
}

/// A gateway with one keyspace `ks` on `db`.
pub fn start_one(db: &TestDb, mode: &str) -> Gw {
    start(&[("ks", mode, &db.url)])
}

impl Gw {
    pub fn opts(&self, keyspace: &str) -> Opts {
        OptsBuilder::default()
            .ip_or_hostname(self.addr.ip().to_string())
            .tcp_port(self.addr.port())
            .user(Some(USER))
            .pass(Some(PASSWORD))
            .db_name(Some(keyspace))
            .prefer_socket(false)
            .into()
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    pub async fn connect(&self, keyspace: &str) -> Conn {
        Conn::new(self.opts(keyspace)).await.expect("connects to the gateway")
    }
}

/// A direct connection to a test database (no gateway).
pub async fn direct(db: &TestDb) -> Conn {
    Conn::from_url(db.url.as_str()).await.expect("connects to MariaDB")
}

/// The server error of a failed call: (code, SQL state, message).
pub fn server_error(e: mysql_async::Error) -> (u16, String, String) {
    match e {
        mysql_async::Error::Server(s) => (s.code, s.state, s.message),
        other => panic!("expected a server error, got {other}"),
    }
}

/// Rows as text (NULL as "NULL").
pub async fn rows(conn: &mut Conn, sql: &str) -> Vec<Vec<String>> {
    let rows: Vec<mysql_async::Row> = conn.query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.into_iter()
        .map(|r| r.unwrap().into_iter().map(text).collect())
        .collect()
}

pub fn text(v: Value) -> String {
    match v {
        Value::NULL => "NULL".into(),
        Value::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
        other => other.as_sql(true).trim_matches('\'').to_string(),
    }
}

/// Every table of `db` in primary-key order, as text, for comparisons.
pub async fn dump(conn: &mut Conn, tables: &[&str]) -> Vec<(String, Vec<Vec<String>>)> {
    let mut out = Vec::new();
    for t in tables {
        out.push((
            t.to_string(),
            rows(conn, &format!("SELECT * FROM {t} ORDER BY 1, 2")).await,
        ));
    }
    out
}
