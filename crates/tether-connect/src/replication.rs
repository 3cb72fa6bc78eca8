//! Whether MariaDB/MySQL replication carries writes from one server into another: a
//! source that is a replica of the destination (directly, or further down a chain)
//! receives every row a job writes into that destination, so the job would empty or
//! rewrite its own source. The server names nothing of this in the identity of a
//! database ([`crate::Identity`]); its replication status and GTID positions do.

use std::fmt;

use crate::error::ConnectError;
use crate::Connection;

/// What a destination server says of itself, to be looked for in a source's upstreams.
#[derive(Debug, Clone, Default)]
pub struct ServerMarks {
    /// `@@server_id` (0: replication off).
    pub server_id: u64,
    /// `@@port`, as the server reports it.
    pub port: u16,
    /// `@@hostname`, and the host of the URL that reached it.
    pub hostnames: Vec<String>,
    /// `@@log_bin`: only a server that writes a binary log can feed a replica.
    pub log_bin: bool,
    /// MySQL `@@server_uuid` (MariaDB has none).
    pub uuid: Option<String>,
    /// MariaDB `@@gtid_binlog_state`: the last GTID it logged per domain and server.
    pub binlog_state: Vec<Gtid>,
    /// How to name the server in messages: `host:port (server_id N)`.
    pub shown: String,
}

/// A MariaDB GTID `domain-server-seqno`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gtid {
    pub domain: u64,
    pub server: u64,
    pub seqno: u64,
}

impl Gtid {
    /// `0-1-5,1-2-9`: the GTIDs of a MariaDB position list (blanks and malformed
    /// entries skipped).
    pub fn parse_list(text: &str) -> Vec<Gtid> {
        text.split(',')
            .filter_map(|g| {
                let mut it = g.trim().splitn(3, '-').map(|p| p.parse::<u64>());
                match (it.next(), it.next(), it.next()) {
                    (Some(Ok(domain)), Some(Ok(server)), Some(Ok(seqno))) => Some(Gtid { domain, server, seqno }),
                    _ => None,
                }
            })
            .collect()
    }
}

impl fmt::Display for Gtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.domain, self.server, self.seqno)
    }
}

/// One replication channel of a replica: where it reads from.
#[derive(Debug, Clone, Default)]
pub struct Channel {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub server_id: u64,
    pub uuid: Option<String>,
}

/// What a source server says about where it replicates from.
#[derive(Debug, Clone)]
pub struct Upstreams {
    /// Its replication channels, or why the login may not read them.
    pub channels: Result<Vec<Channel>, String>,
    /// Its own `@@server_id` (0: unknown).
    pub server_id: u64,
    /// MariaDB `@@gtid_slave_pos`: the last GTID it applied from replication per domain.
    /// GTIDs under its own server id are left out: a replica skips events carrying its
    /// own id, so these are its own writes (and two unrelated servers can share an id).
    pub gtids: Vec<Gtid>,
    /// MySQL `@@gtid_executed` (`uuid:1-5,\nuuid:...`).
    pub gtid_executed: String,
}

/// Whether replication carries writes from a destination into the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feeds {
    /// It does not (or cannot: the destination writes no binary log).
    No,
    /// It does, and why that is known.
    Yes(String),
    /// Nothing readable decides it: why.
    Unknown(String),
}

impl Upstreams {
    /// Whether `dest` replicates into the server these upstreams were read from:
    /// a channel that reads from it (its port, and its server id or host name; MySQL:
    /// its server UUID), or GTIDs the destination logged under its own server id (MySQL:
    /// UUID) among those the source applied, which holds down a chain of replicas too.
    pub fn feeds(&self, dest: &ServerMarks) -> Feeds {
        if let Ok(channels) = &self.channels {
            for c in channels {
                let by_uuid = c.uuid.is_some() && c.uuid == dest.uuid;
                let by_address = c.port == dest.port
                    && ((dest.server_id != 0 && c.server_id == dest.server_id)
                        || dest.hostnames.iter().any(|h| h.eq_ignore_ascii_case(&c.host)));
                if by_uuid || by_address {
                    let channel = match c.name.is_empty() {
                        true => String::new(),
                        false => format!(" `{}`", c.name),
                    };
                    return Feeds::Yes(format!(
                        "the source is a replica of it: its replication channel{channel} reads from {}:{} (server_id \
                         {})",
                        c.host, c.port, c.server_id
                    ));
                }
            }
        }
        if let Some(uuid) = dest.uuid.as_deref().filter(|u| !u.is_empty()) {
            if self
                .gtid_executed
                .to_ascii_lowercase()
                .contains(&uuid.to_ascii_lowercase())
            {
                return Feeds::Yes(format!(
                    "the source's gtid_executed holds transactions the destination (server_uuid {uuid}) wrote, so \
                     replication carries its writes into the source"
                ));
            }
        }
        if dest.log_bin && dest.server_id != 0 {
            // Its own GTIDs, no further than it has logged them (a server of another
            // topology with the same id has not logged those sequence numbers).
            let own: Vec<&Gtid> = dest
                .binlog_state
                .iter()
                .filter(|g| g.server == dest.server_id)
                .collect();
            if let Some(g) = self.gtids.iter().filter(|g| g.server != self.server_id).find(|g| {
                own.iter()
                    .any(|o| o.domain == g.domain && o.server == g.server && g.seqno <= o.seqno)
            }) {
                return Feeds::Yes(format!(
                    "the source applied GTID {g}, which the destination (server_id {}) wrote, so replication carries \
                     its writes into the source",
                    dest.server_id
                ));
            }
        }
        match (&self.channels, dest.log_bin) {
            (_, false) => Feeds::No,
            (Ok(channels), true) if channels.is_empty() => Feeds::No,
            // What lies behind a channel's server cannot be seen from the source, and
            // @@gtid_slave_pos keeps one GTID per domain: the destination may feed the
            // source down a chain without anything here naming it.
            (Ok(channels), true) => Feeds::Unknown(format!(
                "the destination writes a binary log (it can be a replication primary) and the source is a replica \
                 (reading from {}) whose upstream servers cannot be seen from it",
                channels
                    .iter()
                    .map(|c| format!("{}:{} (server_id {})", c.host, c.port, c.server_id))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            (Err(why), true) => Feeds::Unknown(format!(
                "the destination writes a binary log (it can be a replication primary) and the source's login may \
                 not read where the source replicates from ({why})"
            )),
        }
    }
}

fn text(v: &mysql_async::Value) -> String {
    use mysql_async::Value as V;
    match v {
        V::NULL => String::new(),
        V::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        V::Int(i) => i.to_string(),
        V::UInt(u) => u.to_string(),
        other => other.as_sql(true),
    }
}

/// Rows of `sql` as (column name, text) pairs.
async fn named_rows(conn: &mut mysql_async::Conn, sql: &str) -> Result<Vec<Vec<(String, String)>>, String> {
    use mysql_async::prelude::Queryable;
    let rows: Vec<mysql_async::Row> = conn.query(sql).await.map_err(|e| crate::mysql::describe(&e))?;
    Ok(rows
        .iter()
        .map(|r| {
            r.columns_ref()
                .iter()
                .enumerate()
                .map(|(i, c)| (c.name_str().into_owned(), r.as_ref(i).map(text).unwrap_or_default()))
                .collect()
        })
        .collect())
}

fn field(row: &[(String, String)], names: &[&str]) -> String {
    row.iter()
        .find(|(n, _)| names.iter().any(|want| n.eq_ignore_ascii_case(want)))
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

async fn one_value(conn: &mut mysql_async::Conn, sql: &str) -> Option<String> {
    named_rows(conn, sql)
        .await
        .ok()
        .and_then(|rows| rows.into_iter().next())
        .and_then(|r| r.into_iter().next())
        .map(|(_, v)| v)
}

impl Connection {
    /// MariaDB/MySQL: what this server says of itself for [`Upstreams::feeds`];
    /// `url_host`: the host of the URL that reached it. None on other engines.
    pub async fn server_marks(&mut self, url_host: &str) -> Result<Option<ServerMarks>, ConnectError> {
        let shown = self.shown().to_string();
        let Connection::Mysql { conn, .. } = self else {
            return Ok(None);
        };
        let rows = named_rows(
            conn,
            "SELECT CAST(@@server_id AS CHAR) AS id, CAST(@@port AS CHAR) AS port, @@hostname AS host, \
             CAST(@@log_bin AS CHAR) AS log_bin",
        )
        .await
        .map_err(|message| ConnectError::Query {
            url: shown,
            what: "reading the server's id".into(),
            message,
        })?;
        let row = rows.first().cloned().unwrap_or_default();
        let server_id = field(&row, &["id"]).parse().unwrap_or(0);
        let port = field(&row, &["port"]).parse().unwrap_or(0);
        let hostname = field(&row, &["host"]);
        let log_bin = matches!(field(&row, &["log_bin"]).to_ascii_uppercase().as_str(), "1" | "ON");
        // Each engine has one of these; the other's query fails.
        let uuid = one_value(conn, "SELECT @@server_uuid").await.filter(|u| !u.is_empty());
        let binlog_state = one_value(conn, "SELECT @@gtid_binlog_state")
            .await
            .map(|s| Gtid::parse_list(&s))
            .unwrap_or_default();
        // (A server that has logged GTIDs writes a binary log, whatever @@log_bin said.)
        let log_bin = log_bin || !binlog_state.is_empty();
        let mut hostnames = vec![hostname.clone()];
        if !url_host.is_empty() {
            hostnames.push(url_host.to_string());
        }
        Ok(Some(ServerMarks {
            server_id,
            port,
            hostnames,
            log_bin,
            uuid,
            binlog_state,
            shown: format!("{hostname}:{port} (server_id {server_id})"),
        }))
    }

    /// MariaDB/MySQL: where this server replicates from, as far as the login may read
    /// it (`SHOW ALL SLAVES STATUS` needs MariaDB's REPLICA MONITOR privilege, MySQL's
    /// `SHOW REPLICA STATUS` REPLICATION CLIENT; the GTID variables any login reads).
    /// None on other engines.
    pub async fn upstreams(&mut self) -> Option<Upstreams> {
        let Connection::Mysql { conn, .. } = self else {
            return None;
        };
        let mut channels = named_rows(conn, "SHOW ALL SLAVES STATUS").await;
        if channels.is_err() {
            // MySQL (8.0.22 on), then older MySQL.
            for sql in ["SHOW REPLICA STATUS", "SHOW SLAVE STATUS"] {
                let other = named_rows(conn, sql).await;
                let denied = other.as_ref().is_err_and(|e| !e.contains("syntax"));
                if other.is_ok() || denied {
                    channels = other;
                    break;
                }
            }
        }
        let channels = channels.map(|rows| {
            rows.iter()
                .map(|r| Channel {
                    name: field(r, &["Connection_name", "Channel_Name"]),
                    host: field(r, &["Master_Host", "Source_Host"]),
                    port: field(r, &["Master_Port", "Source_Port"]).parse().unwrap_or(0),
                    server_id: field(r, &["Master_Server_Id", "Source_Server_Id"]).parse().unwrap_or(0),
                    uuid: Some(field(r, &["Master_UUID", "Source_UUID"])).filter(|u| !u.is_empty()),
                })
                .collect()
        });
        let server_id = one_value(conn, "SELECT CAST(@@server_id AS CHAR)")
            .await
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let gtids = one_value(conn, "SELECT @@gtid_slave_pos")
            .await
            .map(|list| Gtid::parse_list(&list))
            .unwrap_or_default();
        let gtid_executed = one_value(conn, "SELECT @@gtid_executed").await.unwrap_or_default();
        Some(Upstreams {
            channels,
            server_id,
            gtids,
            gtid_executed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn primary() -> ServerMarks {
        ServerMarks {
            server_id: 1,
            port: 24330,
            hostnames: vec!["db1".into(), "127.0.0.1".into()],
            log_bin: true,
            uuid: None,
            binlog_state: Gtid::parse_list("0-1-7"),
            shown: "db1:24330 (server_id 1)".into(),
        }
    }

    #[test]
    fn a_replica_of_the_destination_is_fed_by_it_and_a_server_without_binlog_feeds_nothing() {
        let channel = Channel {
            name: String::new(),
            host: "127.0.0.1".into(),
            port: 24330,
            server_id: 1,
            uuid: None,
        };
        let replica = Upstreams {
            channels: Ok(vec![channel]),
            server_id: 9,
            gtids: vec![],
            gtid_executed: String::new(),
        };
        assert!(matches!(replica.feeds(&primary()), Feeds::Yes(_)));
        // Down a chain: no channel to it, but its GTIDs arrived.
        let chained = Upstreams {
            channels: Ok(vec![]),
            server_id: 9,
            gtids: Gtid::parse_list("0-1-5"),
            gtid_executed: String::new(),
        };
        assert!(matches!(chained.feeds(&primary()), Feeds::Yes(m) if m.contains("GTID 0-1-5")));
        // A server of another topology with the same id has not logged seqno 9.
        let other = Upstreams {
            channels: Ok(vec![]),
            server_id: 9,
            gtids: Gtid::parse_list("0-1-9"),
            gtid_executed: String::new(),
        };
        assert_eq!(other.feeds(&primary()), Feeds::No);
        let unreadable = Upstreams {
            channels: Err("denied".into()),
            server_id: 9,
            gtids: vec![],
            gtid_executed: String::new(),
        };
        assert!(matches!(unreadable.feeds(&primary()), Feeds::Unknown(_)));
        let quiet = ServerMarks {
            log_bin: false,
            ..primary()
        };
        assert_eq!(unreadable.feeds(&quiet), Feeds::No);
    }

    #[test]
    fn only_gtids_applied_from_another_server_are_evidence_and_a_replica_with_hidden_upstreams_is_unknown() {
        // r24g F4: two unrelated servers at the default server_id 1; the source's own
        // GTIDs are no evidence, whatever the counters.
        let own = Upstreams {
            channels: Ok(vec![]),
            server_id: 1,
            gtids: Gtid::parse_list("0-1-5"),
            gtid_executed: String::new(),
        };
        assert_eq!(own.feeds(&primary()), Feeds::No);
        // Not even when the channels cannot be read: then it is Unknown, never Yes.
        let own_hidden = Upstreams {
            channels: Err("denied".into()),
            ..own.clone()
        };
        assert!(matches!(own_hidden.feeds(&primary()), Feeds::Unknown(_)));
        // r24g F3: a replica of a relay whose last GTID per domain is the relay's: the
        // destination may be further up; Unknown (refused unless assume_distinct).
        let relayed = Upstreams {
            channels: Ok(vec![Channel {
                name: String::new(),
                host: "127.0.0.1".into(),
                port: 24503,
                server_id: 4,
                uuid: None,
            }]),
            server_id: 5,
            gtids: Gtid::parse_list("0-4-20"),
            gtid_executed: String::new(),
        };
        assert!(matches!(relayed.feeds(&primary()), Feeds::Unknown(m) if m.contains("127.0.0.1:24503 (server_id 4)")));
        // A destination without a binary log still feeds nothing.
        let quiet = ServerMarks {
            log_bin: false,
            ..primary()
        };
        assert_eq!(relayed.feeds(&quiet), Feeds::No);
    }
}
