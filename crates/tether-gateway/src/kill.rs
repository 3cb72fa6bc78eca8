//! `KILL [QUERY|CONNECTION] n` and COM_PROCESS_KILL with the gateway's own
//! connection ids (the handshake's, which clients and their Ctrl-C use): `n` names
//! a live gateway client, whose backend connections get the KILL with their backend
//! ids. An `n` that is no live client is answered 1094, as MariaDB answers an
//! unknown thread: never passed on, where it would name someone else's session.
//! A KILL of the connection (not `QUERY`) also ends the client's own connection to
//! the gateway, as MariaDB ends a killed client's: its next statement, or the one it
//! waits on, gets 2013 (lost connection) instead of the gateway's 1105 errors on a
//! session whose backend is gone, which a connection pool would keep handing out.

use std::collections::HashMap;
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tether_connect::DbUrl;

use crate::reply::ServerError;

/// The gateway's live clients, by connection id.
#[derive(Default)]
pub struct Registry {
    sessions: Mutex<HashMap<u32, Arc<Live>>>,
}

/// One live client: its login and the backend connections it has open.
#[derive(Default)]
pub struct Live {
    user: Mutex<String>,
    /// Per [`Slot`]: the backend and its id for the connection open there.
    backends: Mutex<HashMap<u64, (DbUrl, u32)>>,
    next_slot: AtomicU64,
    /// The client's socket (a duplicate of its descriptor), shut down to end the
    /// connection when it is killed.
    client: Mutex<Option<std::net::TcpStream>>,
    /// Wakes a statement of the client's waiting in the gateway (at a cut-over's
    /// gate: review r26c F4) when a KILL names the client.
    interrupted: tokio::sync::Notify,
    /// A KILL of the connection (not `QUERY`) named the client.
    killed: std::sync::atomic::AtomicBool,
}

/// Why a statement waiting in the gateway (not in the backend) stops waiting and
/// is not run: what MariaDB does to a statement waiting for a lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// `KILL QUERY`: the statement is answered 1317.
    Query,
    /// `KILL [CONNECTION]`: the connection ends.
    Connection,
    /// The client closed its socket (or shut down its sending side).
    Disconnected,
}

impl Stop {
    /// The error the statement is answered with (the client sees 2013 after a
    /// KILL of its connection or its own disconnect: its socket is shut).
    pub fn error(self) -> ServerError {
        match self {
            Stop::Query => ServerError::new(1317, "70100", "Query execution was interrupted"),
            Stop::Connection => ServerError::new(1927, "70100", "Connection was killed"),
            Stop::Disconnected => ServerError::new(
                1927,
                "70100",
                "Connection was killed (tether gateway: the client closed its connection while the statement waited)",
            ),
        }
    }
}

/// How often a statement waiting in the gateway looks whether its client's socket
/// was closed.
const DISCONNECT_LOOK: std::time::Duration = std::time::Duration::from_millis(50);

/// Whom a KILL reaches.
#[derive(Default)]
pub struct Targets {
    /// The backend connections, with their backend ids.
    pub backends: Vec<(DbUrl, u32)>,
    /// The gateway clients they belong to.
    pub clients: Vec<Arc<Live>>,
}

/// A client's place in the [`Registry`], left when dropped (the connection ended).
pub struct Registration {
    registry: Arc<Registry>,
    id: u32,
}

/// One backend connection holder's (a [`crate::backend::Backend`]'s) entry in its
/// client's [`Live`], removed when dropped.
pub struct Slot {
    live: Arc<Live>,
    key: u64,
}

/// A KILL statement naming a connection by its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kill {
    /// `KILL QUERY`: the statement only; else the connection.
    pub query: bool,
    pub id: u64,
}

/// What a text statement is to this module.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Not a KILL of a connection id (`KILL QUERY ID`, `KILL USER`, another statement).
    Other,
    Kill(Kill),
    /// A KILL whose target is another expression (`KILL @x`, `KILL
    /// CONNECTION_ID()+0`, `KILL ()`): MariaDB evaluates it as an integer (NULL
    /// and `'abc'` are 0, minus one wraps to 18446744073709551615) or fails with
    /// the expression's error (1064, 1582, 1241). Its text, comments gone.
    Expression {
        query: bool,
        target: String,
    },
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Registry {
    /// Registers client `id` as `live`, until the [`Registration`] is dropped.
    pub fn register(self: &Arc<Self>, id: u32, live: Arc<Live>) -> Registration {
        lock(&self.sessions).insert(id, live);
        Registration {
            registry: self.clone(),
            id,
        }
    }

    /// The backend connections a KILL of `id` by `user` reaches: those of client
    /// `id` (a handshake id); else, when `id` is the backend id of a live client's
    /// backend connection on `server` (the killer's keyspace's backend: thread ids
    /// are per server, and two backends hand out the same small ones), that
    /// connection. 1094 when it is neither (never a session that is not the
    /// gateway's), 1095 when it is another user's (the gateway has no privilege
    /// letting one user kill another's statements).
    pub fn targets(&self, id: u64, user: &str, server: Option<&DbUrl>) -> Result<Targets, ServerError> {
        let sessions = lock(&self.sessions);
        let not_owner = || ServerError::new(1095, "HY000", format!("You are not owner of thread {id}"));
        if let Some(live) = u32::try_from(id).ok().and_then(|id| sessions.get(&id)) {
            if *lock(&live.user) != user {
                return Err(not_owner());
            }
            let mut backends: Vec<_> = lock(&live.backends).values().cloned().collect();
            backends.sort_by_key(|(_, id)| *id);
            return Ok(Targets {
                backends,
                clients: vec![live.clone()],
            });
        }
        let mut targets = Targets::default();
        for live in sessions.values() {
            let backends = lock(&live.backends);
            let here = |url: &DbUrl| server.is_some_and(|s| same_server(s, url));
            for (url, backend_id) in backends.values().filter(|(url, b)| u64::from(*b) == id && here(url)) {
                if *lock(&live.user) != user {
                    return Err(not_owner());
                }
                targets.backends.push((url.clone(), *backend_id));
                if !targets.clients.iter().any(|c| Arc::ptr_eq(c, live)) {
                    targets.clients.push(live.clone());
                }
            }
        }
        if targets.backends.is_empty() {
            return Err(ServerError::new(1094, "HY000", format!("Unknown thread id: {id}")));
        }
        Ok(targets)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        lock(&self.registry.sessions).remove(&self.id);
    }
}

impl Live {
    /// The name the client logged in with.
    pub fn user(&self) -> String {
        lock(&self.user).clone()
    }

    /// The client logged in (again, after COM_CHANGE_USER) as `user`.
    pub fn logged_in_as(&self, user: &str) {
        *lock(&self.user) = user.to_string();
    }

    /// Keeps a duplicate of the client's socket descriptor, for [`Live::end`].
    pub fn attach(&self, socket: &impl AsFd) {
        match socket.as_fd().try_clone_to_owned() {
            Ok(fd) => *lock(&self.client) = Some(std::net::TcpStream::from(fd)),
            Err(e) => tracing::warn!("a KILL will not end this client's connection: {e}"),
        }
    }

    /// Ends the client's connection to the gateway (another client's, killed):
    /// its socket is shut down both ways, so its reads see the end at once and its
    /// writes fail; its task then closes its backend connections.
    pub fn end(&self) {
        if let Some(socket) = lock(&self.client).as_ref() {
            // ENOTCONN: the client is already gone.
            let _ = socket.shutdown(Shutdown::Both);
        }
    }

    /// A KILL named the client (`query`: KILL QUERY): a statement of it waiting in
    /// the gateway stops waiting and is not run ([`Live::stopped`]). A KILL of the
    /// connection stays: every later wait stops at once.
    pub fn interrupt(&self, query: bool) {
        if !query {
            self.killed.store(true, Ordering::SeqCst);
        }
        self.interrupted.notify_waiters();
    }

    /// The client's socket was closed by the client (or its sending side shut
    /// down: MariaDB, too, ends a statement waiting for a lock when its client has
    /// gone), or shut down by a KILL.
    fn gone(&self) -> bool {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let client = lock(&self.client);
        let Some(socket) = client.as_ref() else { return false };
        let mut fds = [PollFd::new(socket, PollFlags::RDHUP)];
        let now = Timespec { tv_sec: 0, tv_nsec: 0 };
        match poll(&mut fds, Some(&now)) {
            Ok(_) => fds[0]
                .revents()
                .intersects(PollFlags::RDHUP | PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL),
            Err(_) => false,
        }
    }

    /// Resolves when a statement of the client waiting in the gateway must stop: a
    /// KILL named the client since this was first polled (or its connection was
    /// killed before), or the client went away. Never resolves otherwise.
    pub async fn stopped(&self) -> Stop {
        let interrupted = self.interrupted.notified();
        tokio::pin!(interrupted);
        interrupted.as_mut().enable();
        let mut looks = tokio::time::interval(DISCONNECT_LOOK);
        looks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if self.killed.load(Ordering::SeqCst) {
                return Stop::Connection;
            }
            if self.gone() {
                return Stop::Disconnected;
            }
            tokio::select! {
                _ = interrupted.as_mut() => {
                    return match self.killed.load(Ordering::SeqCst) {
                        true => Stop::Connection,
                        false => Stop::Query,
                    };
                }
                _ = looks.tick() => {}
            }
        }
    }

    /// A new entry for one backend connection holder.
    pub fn slot(self: &Arc<Self>) -> Slot {
        Slot {
            live: self.clone(),
            key: self.next_slot.fetch_add(1, Ordering::Relaxed),
        }
    }
}

impl Slot {
    /// A connection to `url` with backend id `id` was opened.
    pub fn opened(&self, url: &DbUrl, id: u32) {
        lock(&self.live.backends).insert(self.key, (url.clone(), id));
    }

    /// The connection was closed or lost.
    pub fn closed(&self) {
        lock(&self.live.backends).remove(&self.key);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.closed();
    }
}

/// MariaDB's blanks between tokens: space, tab, LF, VT, FF, CR.
fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// A byte that continues an identifier or keyword.
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// The first word of `sql` is KILL (`KILL 5`, `KILL(5)`, `/* x */ KILL`, `/*!KILL*/`,
/// after any blanks MariaDB skips): only the leading blanks and comments are read,
/// so the common statement costs a look at its first bytes.
pub fn may_be(sql: &[u8]) -> bool {
    let mut i = 0;
    loop {
        while sql.get(i).is_some_and(|&b| is_blank(b)) {
            i += 1;
        }
        let rest = &sql[i.min(sql.len())..];
        if rest.starts_with(b"/*!") || rest.starts_with(b"/*M!") {
            // An executable comment: its text is code (after its version number).
            i += if rest.starts_with(b"/*!") { 3 } else { 4 };
            while sql.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        } else if let Some(body) = rest.strip_prefix(b"/*") {
            let Some(end) = body.windows(2).position(|w| w == b"*/") else {
                return false;
            };
            i += 2 + end + 2;
        } else if rest.starts_with(b"#") || (rest.starts_with(b"--") && rest.get(2).is_none_or(|&b| b <= b' ')) {
            i += rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        } else {
            return rest.get(..4).is_some_and(|w| w.eq_ignore_ascii_case(b"kill"))
                && rest.get(4).is_none_or(|&b| !is_word(b));
        }
    }
}

/// Reads `KILL [HARD|SOFT] [CONNECTION|QUERY] n` (comments skipped, executable
/// comments' text read: the `mariadb` client sends `KILL /*!50000 QUERY */ n`; `n` a
/// number, also as `(n)` or `'n'`, or `CONNECTION_ID()`: the connection the KILL is
/// read on, whose handshake id is `own`, as MariaDB kills its own connection with
/// 1927 or its own statement with 1317). `KILL QUERY ID` and `KILL [..] USER` are
/// others (no connection id). Any other target is an [`Parsed::Expression`], which
/// the gateway evaluates rather than pass on a number the backend would read as
/// one of its own threads. `sql` is one statement (the first of a query).
pub fn parse(sql: &str, own: u32) -> Parsed {
    let text = decomment(sql);
    let text = text.trim_start_matches(|c: char| u8::try_from(c).is_ok_and(is_blank));
    let Some(head) = text.get(..4).filter(|h| h.eq_ignore_ascii_case("kill")) else {
        return Parsed::Other;
    };
    let after = &text[head.len()..];
    if after.bytes().next().is_some_and(is_word) {
        return Parsed::Other;
    }
    let after = after.trim_end_matches(|c: char| c == ';' || u8::try_from(c).is_ok_and(is_blank));
    let words: Vec<&str> = after
        .split(|c: char| u8::try_from(c).is_ok_and(is_blank))
        .filter(|w| !w.is_empty())
        .collect();
    let mut rest = words.as_slice();
    let is = |w: &str, k: &str| w.eq_ignore_ascii_case(k);
    if let [w, tail @ ..] = rest {
        if is(w, "hard") || is(w, "soft") {
            rest = tail;
        }
    }
    let mut query = false;
    if let [w, tail @ ..] = rest {
        if is(w, "query") {
            query = true;
            rest = tail;
            if tail.first().is_some_and(|w| is(w, "id")) {
                return Parsed::Other;
            }
        } else if is(w, "connection") {
            rest = tail;
        }
    }
    if rest.first().is_some_and(|w| is(w, "user")) {
        return Parsed::Other;
    }
    // The target, its blanks dropped where MariaDB's tokens do not need them
    // (`( 5 )`, `CONNECTION_ID ( )`), kept between two words (`5 6` stays unread).
    let mut target = String::new();
    for w in rest {
        let joins = target.ends_with(['(', ')']) || w.starts_with(['(', ')']);
        if !target.is_empty() && !joins {
            target.push(' ');
        }
        target.push_str(w);
    }
    let mut n = target.as_str();
    while let Some(inner) = n.strip_prefix('(').and_then(|n| n.strip_suffix(')')) {
        n = inner;
    }
    if n.eq_ignore_ascii_case("connection_id()") {
        return Parsed::Kill(Kill {
            query,
            id: u64::from(own),
        });
    }
    let n = n.strip_prefix('\'').and_then(|n| n.strip_suffix('\'')).unwrap_or(n);
    match (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .then(|| n.parse::<u64>().ok())
        .flatten()
    {
        Some(id) => Parsed::Kill(Kill { query, id }),
        None => Parsed::Expression { query, target },
    }
}

/// What the gateway evaluates of a KILL's target ([`Parsed::Expression`]).
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    /// The target read as one expression of what KILL takes (literals, user and
    /// system variables, operators, built-in functions), written out again by the
    /// gateway: the text to evaluate, nothing of the client's text beyond it.
    Vetted(String),
    /// Not one expression the gateway reads: the backend is asked to prepare it, for
    /// MariaDB's own syntax error; it is never run.
    Unread,
}

/// Built-in functions a KILL target may call: pure ones, which read nothing and
/// write nothing. A name outside the list may be a stored function (which MariaDB's
/// KILL refuses, 1970, and which could write).
const KILL_FUNCTIONS: &[&str] = &[
    "abs",
    "ceil",
    "ceiling",
    "char_length",
    "coalesce",
    "concat",
    "connection_id",
    "conv",
    "floor",
    "greatest",
    "hex",
    "if",
    "ifnull",
    "least",
    "length",
    "lower",
    "mod",
    "nullif",
    "round",
    "sign",
    "substr",
    "substring",
    "trim",
    "truncate",
    "unhex",
    "upper",
];

/// Reads a KILL's target as MariaDB's KILL takes it: an expression without
/// subqueries or stored functions (MariaDB: 1970). The gateway evaluates what it
/// writes out again, never the client's text, so no text can close the evaluation's
/// wrapper and go on (a second statement, `INTO OUTFILE`, a FROM clause).
pub fn vet(target: &str) -> Result<Target, ServerError> {
    use sqlparser::ast::{visit_expressions, Expr};
    use std::ops::ControlFlow;
    let dialect = sqlparser::dialect::MySqlDialect {};
    let mut parser = match sqlparser::parser::Parser::new(&dialect).try_with_sql(target) {
        Ok(parser) => parser,
        Err(_) => return Ok(Target::Unread),
    };
    let expr = match parser.parse_expr() {
        Ok(expr) => expr,
        Err(_) => return Ok(Target::Unread),
    };
    if parser.peek_token().token != sqlparser::tokenizer::Token::EOF {
        return Ok(Target::Unread);
    }
    let refused = visit_expressions(&expr, |e| {
        let allowed = match e {
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => false,
            Expr::Function(f) => {
                f.name.0.len() == 1
                    && f.name.0[0].as_ident().is_some_and(|name| {
                        name.quote_style.is_none() && KILL_FUNCTIONS.contains(&name.value.to_ascii_lowercase().as_str())
                    })
            }
            Expr::Value(_)
            | Expr::Identifier(_)
            | Expr::CompoundIdentifier(_)
            | Expr::UnaryOp { .. }
            | Expr::BinaryOp { .. }
            | Expr::Nested(_)
            | Expr::Tuple(_)
            | Expr::Cast { .. }
            | Expr::IsNull(_)
            | Expr::IsNotNull(_)
            | Expr::Between { .. }
            | Expr::InList { .. }
            | Expr::Case { .. } => true,
            _ => false,
        };
        if allowed {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    });
    if refused.is_break() {
        return Err(ServerError::new(
            1970,
            "42000",
            "KILL does not support subqueries or stored functions",
        ));
    }
    Ok(Target::Vetted(expr.to_string()))
}

/// The connection id MariaDB's KILL takes from the value of its target
/// expression (`SELECT CAST((target) AS SIGNED)`, as read back): NULL is 0, a
/// negative number wraps to an unsigned one (-1 is 18446744073709551615).
pub fn id_of(value: &str) -> Option<u64> {
    if value == "NULL" {
        return Some(0);
    }
    value
        .parse::<u64>()
        .ok()
        .or_else(|| value.parse::<i64>().ok().map(|n| n as u64))
}

/// `sql` with comments as spaces, and executable comments (`/*!NNNNN ...*/`,
/// `/*M!NNNNNN ...*/`) as their text; quoted strings and names are kept as they are.
fn decomment(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while !rest.is_empty() {
        if let Some(body) = rest.strip_prefix("/*") {
            let end = body.find("*/").unwrap_or(body.len());
            let inner = &body[..end];
            let executable = inner.strip_prefix('!').or_else(|| inner.strip_prefix("M!"));
            if let Some(text) = executable {
                out.push(' ');
                out.push_str(text.trim_start_matches(|c: char| c.is_ascii_digit()));
            }
            out.push(' ');
            rest = body.get(end + 2..).unwrap_or("");
        } else if rest.starts_with('#') || rest.starts_with("-- ") || rest.starts_with("--\t") || rest == "--" {
            let end = rest.find('\n').unwrap_or(rest.len());
            out.push(' ');
            rest = &rest[end..];
        } else if let Some(quote) = rest.chars().next().filter(|c| matches!(c, '\'' | '"' | '`')) {
            // A quoted string or name is copied whole: a `#` or `/*` in it is text.
            let len = quoted_len(rest, quote);
            out.push_str(&rest[..len]);
            rest = &rest[len..];
        } else {
            let c = rest.chars().next().expect("rest is not empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// The length of the quoted string or name `text` starts with (its closing quote
/// included; all of `text` when it is never closed): a doubled quote is one
/// character, and a backslash escapes the next one in strings.
fn quoted_len(text: &str, quote: char) -> usize {
    let mut chars = text.char_indices().skip(1);
    while let Some((at, c)) = chars.next() {
        if c == '\\' && quote != '`' {
            chars.next();
        } else if c == quote {
            if text[at + 1..].starts_with(quote) {
                chars.next();
            } else {
                return at + 1;
            }
        }
    }
    text.len()
}

/// False only when `a` and `b` surely name two servers: TCP on two ports, or two
/// socket files (a host's name and its address, or `localhost` and `127.0.0.1`,
/// may be one server: the cut-over's hold spans every keyspace that may share it,
/// review r26c F3).
pub fn may_be_same_server(a: &DbUrl, b: &DbUrl) -> bool {
    match (a, b) {
        (DbUrl::Mysql(a), DbUrl::Mysql(b)) => match (&a.socket, &b.socket) {
            (Some(x), Some(y)) => x == y,
            (None, None) => a.port == b.port,
            _ => true,
        },
        _ => false,
    }
}

/// Backend `a` and `b` are the same server (a KILL of one's connection can run on
/// the other's).
pub fn same_server(a: &DbUrl, b: &DbUrl) -> bool {
    match (a, b) {
        (DbUrl::Mysql(a), DbUrl::Mysql(b)) => a.host == b.host && a.port == b.port && a.socket == b.socket,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kill_forms() {
        let k = |query, id| Parsed::Kill(Kill { query, id });
        assert_eq!(parse("KILL /*!50000 QUERY */ 76", 7), k(true, 76));
        assert_eq!(parse("kill 13", 7), k(false, 13));
        assert_eq!(parse("KILL HARD CONNECTION 5;", 7), k(false, 5));
        assert_eq!(parse("KILL SOFT QUERY 5 ;", 7), k(true, 5));
        assert_eq!(parse("/* x */ KILL -- c\n QUERY 9", 7), k(true, 9));
        assert_eq!(parse("KILL QUERY ID 9", 7), Parsed::Other);
        assert_eq!(parse("KILL USER app", 7), Parsed::Other);
        assert_eq!(
            parse("KILL @x", 7),
            Parsed::Expression {
                query: false,
                target: "@x".into()
            }
        );
        assert_eq!(parse("KILLER 1", 7), Parsed::Other);
        assert_eq!(parse("SELECT 1", 7), Parsed::Other);
        // Review k K1/K3: every spelling MariaDB takes is read or refused, never passed on.
        assert_eq!(parse("KILL(5)", 7), k(false, 5));
        assert_eq!(parse("KILL (5)", 7), k(false, 5));
        assert_eq!(parse("KILL'5'", 7), k(false, 5));
        assert_eq!(parse("KILL\x0b5", 7), k(false, 5));
        assert_eq!(parse("\x0bKILL QUERY 5", 7), k(true, 5));
        assert_eq!(
            parse("KILL+5", 7),
            Parsed::Expression {
                query: false,
                target: "+5".into()
            }
        );
        // One statement at a time: the caller splits a multi-statement query first.
        assert_eq!(parse("KILL 5;", 7), k(false, 5));
        assert_eq!(parse("KILL QUERY USER app", 7), Parsed::Other);
        assert_eq!(parse("KILL CONNECTION USER app", 7), Parsed::Other);
        // CONNECTION_ID(): the connection the KILL is read on (handshake id 7 here).
        assert_eq!(parse("KILL CONNECTION_ID()", 7), k(false, 7));
        assert_eq!(parse("KILL CONNECTION CONNECTION_ID();", 7), k(false, 7));
        assert_eq!(parse("KILL HARD QUERY connection_id ( )", 7), k(true, 7));
        assert_eq!(parse("KILL (CONNECTION_ID())", 7), k(false, 7));
        assert_eq!(parse("KILL ( 5 )", 7), k(false, 5));
        assert_eq!(
            parse("KILL 5 6", 7),
            Parsed::Expression {
                query: false,
                target: "5 6".into()
            }
        );
        assert_eq!(
            parse("KILL QUERY CONNECTION_ID", 7),
            Parsed::Expression {
                query: true,
                target: "CONNECTION_ID".into()
            }
        );
        assert_eq!(
            parse("KILL CONNECTION_ID()+0", 7),
            Parsed::Expression {
                query: false,
                target: "CONNECTION_ID()+0".into()
            }
        );
        assert_eq!(
            parse("KILL ()", 7),
            Parsed::Expression {
                query: false,
                target: "()".into()
            }
        );
        assert_eq!(id_of("NULL"), Some(0));
        assert_eq!(id_of("-1"), Some(u64::MAX));
        assert_eq!(id_of("18446744073709551615"), Some(u64::MAX));
        for sql in [
            "KILL(5)",
            "KILL'5'",
            "KILL+5",
            "KILL@x",
            "kill\x0b5",
            "\x0bKILL 5",
            "/* a */ kill 5",
            "/*!KILL 5*/",
            "-- c\nKILL 5",
        ] {
            assert!(may_be(sql.as_bytes()), "{sql:?}");
        }
        for sql in [
            "KILLER 1",
            "SELECT 1",
            "/* kill */ SELECT 1",
            "killed_at",
            "-- kill\nSELECT 1",
            "/* unterminated",
        ] {
            assert!(!may_be(sql.as_bytes()), "{sql:?}");
        }
    }
}
