//! Recovery of Spider's prepared XA transactions, run by the gateway before a managed
//! sharded keyspace takes writes: nobody else finishes them (not a restarted node,
//! not a restarted head), their rows stay locked, and a restarted head hands their
//! xids out again (docs/sharding.md, "Recovery by the gateway").
//!
//! For each data node, each `XA RECOVER` xid that has a row in the head's
//! `mysql.spider_xa` (same `format_id`, `gtrid_length`, `bqual_length` and data
//! prefix) is committed when that row says `COMMIT`, else rolled back. An xid with no
//! row of this head is left alone (another head's, or not Spider's) and logged.
//! Once every node is done, the head's rows of the xids it resolved whose head
//! session is gone are deleted (`mysql.spider_xa_member`, then `mysql.spider_xa`), as
//! Spider does itself after a commit or rollback that finishes: left, they hand a
//! restarted head's repeated xids 1440 (XAER_DUPID).
//!
//! While the gateway runs, [`Watch`] keeps a connection to the head and to each data
//! node: one that is lost (a restart, a network loss) makes recovery due again
//! (`Keyspace`, before its next write).

use std::fmt;

use tether_connect::DbUrl;

use super::layout::{self, Layout};
use crate::backend::Backend;
use crate::reply::ServerError;
use crate::wire::value::Value;

/// Why recovery could not finish: names the server and carries its error.
#[derive(Debug, thiserror::Error)]
#[error("XA recovery: {server}: {what}: error {code} ({state}): {message}")]
pub struct RecoverError {
    /// `the head` or `data node NAME`.
    pub server: String,
    /// The statement or step that failed.
    pub what: String,
    pub code: u16,
    pub state: String,
    pub message: String,
    /// A branch this head recorded stays prepared on a data node (its XA COMMIT
    /// or ROLLBACK failed): the keyspace is in doubt until a recovery finishes.
    pub held: bool,
}

/// An XA transaction identifier as MariaDB stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Xid {
    pub format_id: i64,
    pub gtrid_length: usize,
    pub bqual_length: usize,
    /// gtrid then bqual.
    pub data: Vec<u8>,
}

impl Xid {
    /// The xid as SQL: `X'gtrid',X'bqual',format_id`.
    pub fn sql(&self) -> String {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let (g, b) = self.data.split_at(self.gtrid_length.min(self.data.len()));
        let b = &b[..self.bqual_length.min(b.len())];
        format!("X'{}',X'{}',{}", hex(g), hex(b), self.format_id)
    }

    /// The head session that made a Spider xid: Spider's gtrid is the session's
    /// thread id in hex (`spider_internal_xa_id_type` 0), or that followed by the
    /// query id in 16 hex digits (1); its format id is 1.
    pub fn head_thread(&self) -> Option<u64> {
        if self.format_id != 1 {
            return None;
        }
        let gtrid = std::str::from_utf8(self.data.get(..self.gtrid_length)?).ok()?;
        let thread = if gtrid.len() > 16 {
            &gtrid[..gtrid.len() - 16]
        } else {
            gtrid
        };
        u64::from_str_radix(thread, 16).ok()
    }

    /// Same identifier (the head's `data` column may be longer than the xid).
    fn same(&self, other: &Xid) -> bool {
        let n = self.gtrid_length + self.bqual_length;
        self.format_id == other.format_id
            && self.gtrid_length == other.gtrid_length
            && self.bqual_length == other.bqual_length
            && self.data.get(..n).is_some()
            && self.data.get(..n) == other.data.get(..n)
    }
}

impl fmt::Display for Xid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sql())
    }
}

/// What recovery did with one prepared transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The head's row said COMMIT.
    Commit,
    /// The head's row said something else (`NOT YET`) and the head session that
    /// made it is gone.
    Rollback,
    /// No row of this head, or `NOT YET` with its head session still running (a
    /// commit under way): left prepared.
    Left,
}

/// One decision, for the log and for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub node: String,
    pub xid: Xid,
    pub decision: Decision,
}

/// Resolves every prepared XA transaction on the data nodes of `layout` that the
/// head `head` (its admin URL) recorded in `mysql.spider_xa`. Returns what it did,
/// each decision also logged.
pub async fn recover(head: &DbUrl, layout: &Layout) -> Result<Vec<Resolved>, RecoverError> {
    let mut b = Backend::new(head.clone(), false);
    let rows = b
        .read("SELECT format_id, gtrid_length, bqual_length, data, status FROM mysql.spider_xa")
        .await;
    let threads = b.read("SELECT ID FROM information_schema.PROCESSLIST").await;
    b.disconnect().await;
    let rows = rows.map_err(|e| failed("the head", "reading mysql.spider_xa", e))?;
    let threads: Vec<u64> = threads
        .map_err(|e| failed("the head", "reading its processlist", e))?
        .rows
        .iter()
        .filter_map(|r| r.first().and_then(|v| v.text().parse().ok()))
        .collect();
    let mut decided: Vec<(Xid, Decision)> = Vec::new();
    // The head's rows whose session is gone: deleted once the nodes are done.
    let mut finished: Vec<Xid> = Vec::new();
    for r in &rows.rows {
        if let Some(x) = xid(r) {
            if x.head_thread().is_some_and(|t| !threads.contains(&t)) {
                finished.push(x.clone());
            }
            let decision = if r.get(4).map(Value::text).as_deref() == Some("COMMIT") {
                Decision::Commit
            } else if x.head_thread().is_some_and(|t| threads.contains(&t)) {
                // Not decided yet and its head session is alive: a commit under way
                // (another client of the head), not an abandoned one.
                Decision::Left
            } else {
                Decision::Rollback
            };
            decided.push((x, decision));
        }
    }
    let mut done = Vec::new();
    for node in &layout.nodes {
        let server = format!("data node {}", node.name);
        // No database: XA RECOVER and XA COMMIT / ROLLBACK need none.
        let mut url = node.url("");
        if let DbUrl::Mysql(s) = &mut url {
            s.database = None;
        }
        let mut b = Backend::new(url, false);
        let result = recover_node(&mut b, &server, &node.name, &decided, &mut done).await;
        b.disconnect().await;
        result?;
    }
    forget(head, &finished).await;
    Ok(done)
}

/// Deletes the head's records of the xids in `finished` (each node answered and
/// holds none of them prepared any more, their head sessions gone: nobody will
/// read them again), members first as Spider does. A failure (the head's login may
/// not delete from `mysql`) is logged and leaves the rest: the nodes are recovered
/// all the same.
async fn forget(head: &DbUrl, finished: &[Xid]) {
    if finished.is_empty() {
        return;
    }
    let mut b = Backend::new(head.clone(), false);
    'xids: for x in finished {
        let hex = x.data.iter().map(|c| format!("{c:02x}")).collect::<String>();
        let key = format!(
            "format_id = {} AND gtrid_length = {} AND bqual_length = {} AND data = X'{hex}'",
            x.format_id, x.gtrid_length, x.bqual_length
        );
        for table in ["mysql.spider_xa_member", "mysql.spider_xa"] {
            let sql = format!("DELETE FROM {table} WHERE {key}");
            if let Err(e) = b.exec(&sql).await {
                tracing::warn!("{}", failed("the head", &sql, e));
                break 'xids;
            }
        }
        tracing::info!("XA recovery: the head: xid {x}: its record in mysql.spider_xa deleted");
    }
    b.disconnect().await;
}

async fn recover_node(
    b: &mut Backend,
    server: &str,
    node: &str,
    decided: &[(Xid, Decision)],
    done: &mut Vec<Resolved>,
) -> Result<(), RecoverError> {
    let held = b
        .read("XA RECOVER")
        .await
        .map_err(|e| failed(server, "XA RECOVER", e))?;
    for r in &held.rows {
        let Some(x) = xid(r) else { continue };
        let decision = match decided.iter().find(|(d, _)| d.same(&x)) {
            Some((_, d)) => d.clone(),
            None => Decision::Left,
        };
        let verb = match decision {
            Decision::Commit => "COMMIT",
            Decision::Rollback => "ROLLBACK",
            Decision::Left => {
                tracing::warn!(
                    "XA recovery: {server}: xid {x} left prepared (no row in the head's mysql.spider_xa, \
                     or its head session is still running)"
                );
                done.push(Resolved {
                    node: node.to_string(),
                    xid: x,
                    decision,
                });
                continue;
            }
        };
        let sql = format!("XA {verb} {}", x.sql());
        match b.exec(&sql).await {
            Ok(_) => {}
            // XAER_NOTA: finished meanwhile (by the head's own commit).
            Err(e) if e.code == 1397 => continue,
            Err(e) => {
                return Err(RecoverError {
                    held: true,
                    ..failed(server, &sql, e)
                })
            }
        }
        tracing::info!("XA recovery: {server}: xid {x}: {verb}");
        done.push(Resolved {
            node: node.to_string(),
            xid: x,
            decision,
        });
    }
    Ok(())
}

/// An xid from a row (format_id, gtrid_length, bqual_length, data, ...).
fn xid(r: &[Value]) -> Option<Xid> {
    let int = |v: &Value| v.text().parse::<i64>().ok();
    let data = match r.get(3)? {
        Value::Bytes(b) => b.clone(),
        other => other.text().into_bytes(),
    };
    Some(Xid {
        format_id: int(r.first()?)?,
        gtrid_length: usize::try_from(int(r.get(1)?)?).ok()?,
        bqual_length: usize::try_from(int(r.get(2)?)?).ok()?,
        data,
    })
}

fn failed(server: &str, what: &str, e: ServerError) -> RecoverError {
    RecoverError {
        server: server.to_string(),
        what: what.to_string(),
        code: e.code,
        state: e.state,
        message: e.message,
        held: false,
    }
}

/// A connection to the head and to each data node of its layout, looked at now and
/// then: a connection that failed (its server restarted, or the network lost it)
/// means prepared transactions may have been left behind.
pub struct Watch {
    /// (`the head` or `data node NAME`, its connection; `None` after a loss).
    servers: Vec<(String, DbUrl, Option<Backend>)>,
}

impl Watch {
    /// Reads the layout of the head `head`: the servers to watch.
    pub async fn new(head: &DbUrl) -> Result<Watch, String> {
        let layout = layout::read(head).await.map_err(|e| e.to_string())?;
        let mut servers = vec![("the head".to_string(), head.clone(), None)];
        for node in &layout.nodes {
            let mut url = node.url("");
            if let DbUrl::Mysql(s) = &mut url {
                s.database = None;
            }
            servers.push((format!("data node {}", node.name), url, None));
        }
        let mut watch = Watch { servers };
        // The first connections: nothing was lost before them.
        watch.look().await;
        Ok(watch)
    }

    /// Looks at every server (`DO 1` on its connection). A failed connection
    /// (pinned: a silent reconnect would hide the loss) is opened again at once.
    pub async fn look(&mut self) -> Look {
        let mut look = Look::default();
        for (server, url, conn) in &mut self.servers {
            let first = conn.is_none();
            let b = conn.get_or_insert_with(|| Backend::pinned(url.clone()));
            if let Err(e) = b.exec("DO 1").await {
                if !first {
                    tracing::warn!(
                        "XA recovery: {server}: connection lost: error {}: {}",
                        e.code,
                        e.message
                    );
                    look.lost = true;
                }
                let mut again = Backend::pinned(url.clone());
                if again.exec("DO 1").await.is_ok() {
                    *conn = Some(again);
                } else {
                    *conn = None;
                    look.down = true;
                }
            }
        }
        look
    }
}

/// What one look of a [`Watch`] found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    /// A connection open since the last look failed (its server restarted, or the
    /// network lost it): transactions may have been left prepared.
    pub lost: bool,
    /// A server cannot be reached now (recovery would fail).
    pub down: bool,
}

/// Why [`recover_head`] could not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished {
    /// What failed, naming the server.
    pub message: String,
    /// A branch this head recorded stays prepared (see [`RecoverError::held`]).
    pub held: bool,
}

impl fmt::Display for Unfinished {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Reads the layout of the head `head` and recovers its nodes (see [`recover`]).
pub async fn recover_head(head: &DbUrl) -> Result<Vec<Resolved>, Unfinished> {
    let layout = layout::read(head).await.map_err(|e| Unfinished {
        message: e.to_string(),
        held: false,
    })?;
    recover(head, &layout).await.map_err(|e| Unfinished {
        message: e.to_string(),
        held: e.held,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xid(format_id: i64, gtrid: &str, bqual: &str) -> Xid {
        Xid {
            format_id,
            gtrid_length: gtrid.len(),
            bqual_length: bqual.len(),
            data: format!("{gtrid}{bqual}").into_bytes(),
        }
    }

    #[test]
    fn an_xid_prints_as_sql_and_names_its_head_session() {
        let x = xid(1, "12", "1");
        assert_eq!(x.sql(), "X'3132',X'31',1");
        assert_eq!(x.head_thread(), Some(0x12));
        // spider_internal_xa_id_type = 1: the thread id, then the query id.
        assert_eq!(xid(1, "1f00000000000000a3", "1").head_thread(), Some(0x1f));
        assert_eq!(xid(2, "12", "1").head_thread(), None);
        assert_eq!(xid(1, "not_spider", "").head_thread(), None);
        // The head's data column may be longer than the xid.
        let mut longer = x.clone();
        longer.data.extend_from_slice(b"\0\0");
        assert!(longer.same(&x) && x.same(&longer));
        assert!(!x.same(&xid(1, "12", "2")));
    }
}
