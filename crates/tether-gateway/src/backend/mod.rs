//! One session's connection to a keyspace's MariaDB/MySQL backend: text queries,
//! prepared statements, and the small reads and writes a managed plan issues.
//! Forwarded answers are relayed packet by packet ([`conn`]).
//! A connection the server ends as it ends its client's (an error after which it
//! hangs up, such as 1927 "Connection was killed", or its hang-up after `COMMIT
//! RELEASE`) ends the session: [`Backend::ended`], and the client's connection
//! ends too. A connection lost otherwise (the network, a restart without a word)
//! is reported to the client and reopened on the next command, except inside a
//! transaction: then every command fails until the client says ROLLBACK (or
//! resets the connection), so nothing later commits outside it.

mod answer;
mod conn;
pub use conn::charset_word_at;
mod login;

use std::io;

use tether_connect::DbUrl;

use crate::protocol::Output;
use crate::reply::{ColumnDef, OkInfo, Reply, ServerError};
use crate::wire::value::{Params, Value};
use crate::wire::{SERVER_STATUS_AUTOCOMMIT, SERVER_STATUS_IN_TRANS, SERVER_STATUS_NO_BACKSLASH_ESCAPES};
use answer::{ConnError, Event};
use conn::BackendConn;

/// What the gateway's own `SELECT`s run with on MariaDB, whatever the client set
/// for its session: no row limit (`sql_select_limit`, which only SELECTs obey: the
/// client's UPDATE and DELETE go through all rows), no `max_join_size` refusal
/// (1104; `sql_big_selects = 1` lifts it), and `WHERE id IS NULL` meaning NULL
/// (`sql_auto_is_null` would find the last inserted row, and the first such read
/// would use it up before the client's statement runs), and results in utf8mb4
/// (see [`OWN_RESULTS`]).
pub const OWN_READ: &str = "SET STATEMENT sql_select_limit = 18446744073709551615, sql_big_selects = 1, \
     sql_auto_is_null = 0, character_set_results = utf8mb4 FOR ";

/// What the gateway's other reads (a trial `DELETE ... RETURNING`, `SHOW`) run
/// with on MariaDB: results in utf8mb4, whatever the client's
/// `character_set_results` (`SET NAMES latin1`, a latin1 handshake, `binary`).
/// The keys the gateway reads are written back into the statements it issues;
/// read in a character set that cannot hold them they come back as `?`, and a
/// cascade by `?` matches other rows than the key's (review r24a finding 1).
/// The client's own results are not touched: the setting lasts one statement.
pub const OWN_RESULTS: &str = "SET STATEMENT character_set_results = utf8mb4 FOR ";

/// `sql` starts with the word `word` (after leading spaces).
fn starts_with(sql: &str, word: &str) -> bool {
    sql.trim_start()
        .get(..word.len())
        .is_some_and(|w| w.eq_ignore_ascii_case(word))
}

/// `sql` is a SELECT (after leading spaces).
fn is_select(sql: &str) -> bool {
    starts_with(sql, "select")
}

/// A lazily (re)opened backend connection.
pub struct Backend {
    url: DbUrl,
    /// Connections ask for CLIENT_FOUND_ROWS (the client did).
    found_rows: bool,
    /// Connections ask for CLIENT_DEPRECATE_EOF (unless the client did not: the
    /// backend's EOF after column definitions is then relayed with its flags).
    deprecate_eof: bool,
    /// Connections ask for MARIADB_CLIENT_CACHE_METADATA (the client uses it, so
    /// an execute's skipped column definitions can be relayed as skipped).
    cached_metadata: bool,
    /// The character set connections log in with (the client's).
    charset: u8,
    /// The character sets a COM_CHANGE_USER gave the session, set in each
    /// connection this backend opens (after its handshake) and after each
    /// COM_RESET_CONNECTION (natively the reset returns to them).
    login: Option<Charsets>,
    conn: Option<BackendConn>,
    /// Counts the connections opened: a statement prepared on an earlier one is
    /// prepared again before it runs.
    generation: u64,
    /// The session turned `foreign_key_checks` off: re-applied on reconnect.
    fk_checks_off: bool,
    /// The client's sql_mode, carried from another keyspace's backend session
    /// (`USE`), set before the next command (review r23n N7).
    carried_sql_mode: Option<String>,
    /// The session's character sets, carried by `USE` or set by COM_CHANGE_USER,
    /// set in this backend session before its next command.
    carried_charsets: Option<Charsets>,
    /// The connection was lost inside a transaction: no reconnect until the client
    /// acknowledges with ROLLBACK.
    lost_in_transaction: bool,
    /// The open transaction is the gateway's own (a managed plan's BEGIN ... COMMIT
    /// in autocommit mode): losing it loses nothing of the client's.
    own_transaction: bool,
    /// The session had autocommit off when its connection was lost: re-applied on
    /// reconnect.
    autocommit_off: bool,
    /// Never reopened once lost (the online migrator's owner connection: it holds a
    /// server lock and session settings that a new connection would not have).
    pinned: bool,
    /// A pinned connection was lost: every command fails from now on.
    gone: bool,
    /// The server ended the session as it ends a client's connection: with an
    /// error after which it hangs up (1927, 1153, ...), or by hanging up after a
    /// COMMIT or ROLLBACK that released the connection. The client's connection
    /// ends too, never continued on a new backend session.
    ended: bool,
    /// The session ended by the backend's hang-up after a release, found before or
    /// while the client's next command ran: that command gets no answer.
    silent: bool,
    /// A client's: its open connection's backend id is published there, for a
    /// KILL naming the client ([`crate::kill`]).
    slot: Option<crate::kill::Slot>,
}

/// Rows read by a plan step: column definitions and values.
pub struct Rows {
    pub columns: Vec<ColumnDef>,
    pub rows: Vec<Vec<Value>>,
}

/// A statement prepared on the backend for a client's prepared statement.
pub struct Statement {
    pub sql: String,
    pub id: u32,
    pub params: Vec<ColumnDef>,
    pub columns: Vec<ColumnDef>,
    /// The connection it was prepared on.
    generation: u64,
    /// The backend holds the parameter types the client bound last (the last
    /// execute was forwarded as the client sent it).
    types_bound: bool,
    /// The client may hold other column definitions for it than the backend sent
    /// last (it was prepared again unseen, or the gateway answered an execute
    /// itself): the next relayed result carries them even if the backend skips
    /// them.
    columns_unseen: bool,
}

impl Statement {
    /// The gateway answered an execute of it itself: the client's column
    /// definitions may no longer be the backend's.
    pub fn columns_unseen(&mut self) {
        self.columns_unseen = true;
    }
}

impl Backend {
    /// Whether connections ask for CLIENT_FOUND_ROWS (the client did): an UPDATE's
    /// affected rows are then the rows it matched.
    pub fn found_rows(&self) -> bool {
        self.found_rows
    }

    pub fn new(url: DbUrl, found_rows: bool) -> Self {
        Backend {
            url,
            found_rows,
            deprecate_eof: true,
            cached_metadata: false,
            charset: crate::wire::DEFAULT_CHARSET,
            login: None,
            conn: None,
            generation: 0,
            fk_checks_off: false,
            carried_sql_mode: None,
            carried_charsets: None,
            lost_in_transaction: false,
            own_transaction: false,
            autocommit_off: false,
            pinned: false,
            gone: false,
            ended: false,
            silent: false,
            slot: None,
        }
    }

    /// A backend whose first connection is its only one: once lost (or closed), every
    /// command fails with 2013 instead of reconnecting silently without what the
    /// session held (server locks, session variables).
    pub fn pinned(url: DbUrl) -> Self {
        Backend {
            pinned: true,
            ..Backend::new(url, false)
        }
    }

    /// Connections for a client's session: MARIADB_CLIENT_CACHE_METADATA asked
    /// for when the client uses it (its executes' answers are relayed as sent),
    /// CLIENT_DEPRECATE_EOF only when it does (the EOF packets MariaDB sends
    /// after column definitions carry status flags the gateway relays), and the
    /// client's character set, so results come in it as from the server.
    /// `login`: the character sets a COM_CHANGE_USER gave the session, set after
    /// each handshake.
    pub fn for_client(
        mut self,
        cached_metadata: bool,
        deprecate_eof: bool,
        charset: u8,
        login: Option<Charsets>,
    ) -> Self {
        self.cached_metadata = cached_metadata;
        self.deprecate_eof = deprecate_eof;
        self.charset = charset;
        self.login = login;
        self
    }

    /// Publishes the backend id of each connection opened in `slot`.
    pub fn published(mut self, slot: crate::kill::Slot) -> Self {
        self.slot = Some(slot);
        self
    }

    /// True when a pinned connection was lost.
    /// The database the backend URL names (a MariaDB / MySQL backend's).
    pub fn database(&self) -> Option<&str> {
        match &self.url {
            DbUrl::Mysql(server) => server.database.as_deref(),
            _ => None,
        }
    }

    pub fn is_gone(&self) -> bool {
        self.gone
    }

    /// True once the server ended the session as it ends a client's connection
    /// (see the field): the client's connection must end.
    /// True when the session ended by the backend's hang-up after a release,
    /// found before or while the client's next command ran: that command gets no
    /// answer, as the client's connection to MariaDB would already be closed.
    pub fn silent(&self) -> bool {
        self.silent
    }

    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Before a client's command: true when the session has ended, or when the
    /// backend hung up after the last command, which may have released the
    /// connection (`COMMIT RELEASE`, `completion_type = RELEASE`): the server's
    /// doing, not a fault, so the session ends with nothing more said, as the
    /// client's connection to MariaDB would have.
    pub fn hung_up(&mut self) -> bool {
        if let Some(conn) = self.conn.as_mut() {
            if conn.may_release && conn.hung_up() {
                self.silent = true;
                self.end("the backend closed the connection after a COMMIT or ROLLBACK that released it");
            }
        }
        self.ended
    }

    /// The server ended the session: the connection is dropped and the session
    /// with it.
    fn end(&mut self, why: &str) {
        tracing::debug!("backend {}: session ended: {why}", self.url);
        self.ended = true;
        if self.pinned {
            self.gone = true;
        }
        self.conn = None;
        if let Some(slot) = &self.slot {
            slot.closed();
        }
    }

    async fn open(&self) -> Result<BackendConn, ServerError> {
        let DbUrl::Mysql(server) = &self.url else {
            return Err(ServerError::gateway("backend URL is not mysql://"));
        };
        let cannot = |why: String| {
            ServerError::new(
                2003,
                "HY000",
                format!("tether gateway: cannot connect to backend {}: {why}", self.url),
            )
        };
        // The URL's connect_timeout (10 s when it has none; 0: no limit).
        let connecting = BackendConn::connect(
            server,
            self.found_rows,
            self.deprecate_eof,
            self.cached_metadata,
            self.charset,
        );
        let connected = match server.connect_limit(tether_connect::Engine::Mysql) {
            Some(limit) => tokio::time::timeout(limit, connecting).await,
            None => Ok(connecting.await),
        };
        match connected {
            Ok(Ok(c)) => Ok(c),
            // The backend refused the gateway's own login (its URL's user or
            // password, a database it may not use, too many connections): the
            // gateway's configuration, not the client's login, so not relayed as
            // the backend's 1045 (which clients and tools read as their own
            // password refused) but as the gateway's 1105 with the backend's answer.
            Ok(Err(ConnError::Server(e))) => Err(cannot(format!(
                "the backend refused the gateway's login: {} ({}) {}",
                e.code, e.state, e.message
            ))),
            Ok(Err(ConnError::Lost(why))) => Err(cannot(why)),
            Err(_) => Err(cannot(format!(
                "timed out after {}",
                server.connect_limit_shown(tether_connect::Engine::Mysql)
            ))),
        }
    }

    async fn conn(&mut self) -> Result<&mut BackendConn, ServerError> {
        if self.lost_in_transaction {
            return Err(ServerError::new(
                2013,
                "HY000",
                "tether gateway: the backend connection was lost inside a transaction, which the \
                 backend rolled back; send ROLLBACK before anything else",
            ));
        }
        if self.gone {
            return Err(ServerError::new(
                2013,
                "HY000",
                "tether gateway: this backend connection was lost and is never reopened (it held \
                 a server lock and session settings)",
            ));
        }
        if self.conn.is_none() {
            let mut conn = self.open().await?;
            let mut restore = Vec::new();
            if self.fk_checks_off {
                restore.push("SET foreign_key_checks = 0");
            }
            if self.autocommit_off {
                restore.push("SET autocommit = 0");
            }
            for sql in restore {
                if let Err(e) = run(&mut conn, sql).await {
                    return Err(match e {
                        ConnError::Server(e) => e,
                        ConnError::Lost(why) => ServerError::backend_down(why),
                    });
                }
            }
            self.generation += 1;
            if let Some(slot) = &self.slot {
                slot.opened(&self.url, conn.id());
            }
            self.conn = Some(conn);
            // The session's character sets are a COM_CHANGE_USER's, which the
            // handshake may not name (an id above 255): set after it (what USE
            // carried, set below, comes after them).
            if self.carried_charsets.is_none() {
                self.carried_charsets = self.login.clone();
            }
        }
        if let Some(mode) = self.carried_sql_mode.take() {
            let conn = self.conn.as_mut().expect("opened above");
            if let Err(e) = run(conn, &format!("SET SESSION sql_mode = '{mode}'")).await {
                return Err(match e {
                    ConnError::Server(e) => ServerError::new(
                        e.code,
                        &e.state,
                        format!(
                            "tether gateway: the session's sql_mode '{mode}' (carried by USE from another keyspace) \
                             could not be set in this keyspace's backend session: {}",
                            e.message
                        ),
                    ),
                    ConnError::Lost(why) => self.fail(ConnError::Lost(why)),
                });
            }
        }
        if let Some(charsets) = self.carried_charsets.take() {
            let conn = self.conn.as_mut().expect("opened above");
            let sql = charsets.statement();
            if let Err(e) = run(conn, &sql).await {
                return Err(match e {
                    ConnError::Server(e) => ServerError::new(
                        e.code,
                        &e.state,
                        format!(
                            "tether gateway: the session's character sets ({sql}) could not be set in this \
                             keyspace's backend session: {}",
                            e.message
                        ),
                    ),
                    ConnError::Lost(why) => self.fail(ConnError::Lost(why)),
                });
            }
        }
        self.conn
            .as_mut()
            .ok_or_else(|| ServerError::gateway("backend connection unavailable"))
    }

    /// The client's character sets, set in this backend session before its next
    /// command (review r25f F2).
    pub fn carry_charsets(&mut self, charsets: Charsets) {
        self.carried_charsets = Some(charsets);
        self.forget_charsets();
    }

    /// What the open connection knows of the session's character sets is not
    /// what its next command runs under (they are carried, set before it): the
    /// gateway must read the client's text as the backend will (review r26d F1:
    /// a cached utf8mb4 under a carried sjis let an sjis-escaped quote end a
    /// string).
    fn forget_charsets(&mut self) {
        if let Some(conn) = self.conn.as_mut() {
            conn.charsets = None;
            conn.param_collations = None;
        }
    }

    /// The character sets carried and not set yet.
    pub fn carried_charsets(&self) -> Option<&Charsets> {
        self.carried_charsets.as_ref()
    }

    /// COM_CHANGE_USER named a character set the server takes (after
    /// [`Self::reset`]): the session takes it, as a login's (review r25f F3,
    /// r26d F2): an open connection sets it before its next command, a new one
    /// asks for `handshake` (the id when it fits the handshake's byte) and sets
    /// `login` after it.
    pub fn change_charset(&mut self, handshake: u8, login: Charsets) {
        self.charset = handshake;
        if self.conn.is_some() {
            self.carry_charsets(login.clone());
        }
        self.login = Some(login);
    }

    /// The names of the character set and collation of collation id `id`, as the
    /// backend knows them (`None`: it knows no such id).
    pub async fn collation_of(&mut self, id: u16) -> Result<Option<(String, String)>, ServerError> {
        let rows = self
            .read(&format!(
                "SELECT CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLLATIONS WHERE ID = {id}"
            ))
            .await?;
        let pair = |rows: &Rows| {
            rows.rows.first().and_then(|r| match &r[..] {
                [charset, collation, ..] => Some((charset.text(), collation.text())),
                _ => None,
            })
        };
        if let Some(found) = pair(&rows) {
            return Ok(Some(found));
        }
        // MariaDB 10.10+ shows the ids of the uca1400 collations (2048 and up)
        // only here, with their full names (review r26h F3); older servers have
        // no such columns (1054), and no such ids.
        match self
            .read(&format!(
                "SELECT CHARACTER_SET_NAME, FULL_COLLATION_NAME \
                 FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY WHERE ID = {id}"
            ))
            .await
        {
            Ok(rows) => Ok(pair(&rows)),
            Err(e) if e.code == 1054 => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The client's sql_mode `mode` (as `@@sql_mode` shows it: names and commas),
    /// set in this backend session before its next command; until then the
    /// session's quotes are read as it says ([`Self::carried`]).
    pub fn carry_sql_mode(&mut self, mode: String) {
        self.carried_sql_mode = Some(mode);
        if let Some(conn) = self.conn.as_mut() {
            conn.ansi_quotes = None;
        }
    }

    /// The sql_mode carried and not set yet.
    pub fn carried_sql_mode(&self) -> Option<&str> {
        self.carried_sql_mode.as_deref()
    }

    /// How a sql_mode carried and not set yet reads quotes.
    pub fn carried(&self) -> Option<crate::protocol::multi::Lexing> {
        self.carried_sql_mode
            .as_deref()
            .map(crate::protocol::multi::Lexing::of_sql_mode)
    }

    /// Records the session's `foreign_key_checks`, to restore it after a reconnect.
    pub fn set_fk_checks(&mut self, on: bool) {
        self.fk_checks_off = !on;
    }

    /// Maps a backend failure to the client's error, dropping the connection when
    /// it is broken. A hang-up in the answer to a text that may release the
    /// connection (`COMMIT RELEASE; SELECT 1`) is the server ending the session
    /// ([`Self::ended`]; the client is then sent nothing more).
    fn fail(&mut self, e: ConnError) -> ServerError {
        match e {
            ConnError::Server(e) => {
                self.drop_if_closing();
                e
            }
            ConnError::Lost(why) => {
                // The hang-up of a release that had not arrived when this command
                // began (see `hung_up`): this command gets no answer either.
                if self.conn.as_ref().is_some_and(|c| c.after_release) {
                    self.silent = true;
                }
                if self.conn.as_ref().is_some_and(|c| c.may_release || c.after_release) {
                    self.end(&format!(
                        "the backend closed the connection after a COMMIT or ROLLBACK: {why}"
                    ));
                } else {
                    self.lose(&why);
                }
                ServerError::backend_down(format!("tether gateway: backend connection failed: {why}"))
            }
        }
    }

    /// After an answer: ends the session when the backend said it hangs up (an
    /// error such as 1927 or 1153, which the client got), or already hung up after
    /// a text that may release the connection.
    fn drop_if_closing(&mut self) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        if conn.closing() && conn.idle_closed() {
            // The client got the error; as with a connection lost, the next
            // command reconnects (or is refused inside a transaction).
            self.lose("the backend closed the connection for its inactivity");
        } else if conn.closing() {
            self.end("the backend closes the connection after its error");
        } else if conn.may_release && conn.hung_up() {
            self.end("the backend closed the connection after a COMMIT or ROLLBACK that released it");
        }
    }

    /// Forgets a lost connection, remembering whether a transaction of the
    /// client's went with it.
    fn lose(&mut self, why: &str) {
        tracing::warn!("backend {}: connection lost: {why}", self.url);
        if self.pinned {
            self.gone = true;
        }
        // The status of the last command that succeeded: a transaction was open
        // (with autocommit off, one is always open to the client).
        if let Some(status) = self.status() {
            self.autocommit_off = status & SERVER_STATUS_AUTOCOMMIT == 0;
            if !self.own_transaction && (status & SERVER_STATUS_IN_TRANS != 0 || self.autocommit_off) {
                self.lost_in_transaction = true;
            }
        }
        self.conn = None;
        if let Some(slot) = &self.slot {
            slot.closed();
        }
    }

    /// Marks the transaction about to open (or just ended) as the gateway's own.
    pub fn set_own_transaction(&mut self, own: bool) {
        self.own_transaction = own;
    }

    /// True when the connection was lost inside a transaction and the client has
    /// not said ROLLBACK yet.
    pub fn lost_in_transaction(&self) -> bool {
        self.lost_in_transaction
    }

    /// The client's ROLLBACK after a lost transaction: the next command reconnects.
    pub fn acknowledge_lost_transaction(&mut self) {
        self.lost_in_transaction = false;
    }

    /// COM_RESET_CONNECTION: rolls back and resets the backend session (its
    /// variables, temporary tables, prepared statements); a connection that cannot
    /// be reset is closed and reopened on the next command.
    pub async fn reset(&mut self) {
        self.fk_checks_off = false;
        self.carried_sql_mode = None;
        self.carried_charsets = None;
        self.lost_in_transaction = false;
        self.autocommit_off = false;
        if let Some(conn) = self.conn.as_mut() {
            if let Err(e) = conn.reset().await {
                tracing::debug!("backend {}: reset failed, reconnecting: {e:?}", self.url);
                self.disconnect().await;
            } else if let Some(login) = self.login.clone() {
                // The session's character set is a COM_CHANGE_USER's, not this
                // connection's handshake's, to which the reset returned it.
                self.carried_charsets = Some(login);
            }
        }
        // The backend forgot its prepared statements.
        self.generation += 1;
    }

    /// Ends the backend's work at once after the client went away mid-result:
    /// `KILL` over a short-lived second connection (closing the connection would
    /// leave the statement running, with the transaction's locks held), then the
    /// connection is dropped.
    async fn kill(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if let Some(slot) = &self.slot {
            slot.closed();
        }
        let id = conn.id();
        let killed = async {
            let mut side = self.open().await?;
            let done = run(&mut side, &format!("KILL {id}")).await;
            side.quit().await;
            done.map_err(|e| match e {
                ConnError::Server(e) => e,
                ConnError::Lost(why) => ServerError::backend_down(why),
            })
        };
        match tokio::time::timeout(std::time::Duration::from_secs(5), killed).await {
            Ok(Ok(())) => tracing::debug!("backend {}: killed connection {id}", self.url),
            Ok(Err(e)) => tracing::warn!("backend {}: cannot kill connection {id}: {}", self.url, e.message),
            Err(_) => tracing::warn!("backend {}: cannot kill connection {id}: timed out", self.url),
        }
        drop(conn);
    }

    /// The status flags of the backend's last OK packet (autocommit, in transaction).
    pub fn status(&self) -> Option<u16> {
        self.conn.as_ref().map(BackendConn::status)
    }

    /// Whether the session's sql_mode has ANSI_QUOTES, as last read on this
    /// connection and unchanged since ([`Self::set_ansi_quotes`]); `None`: unknown.
    pub fn ansi_quotes(&self) -> Option<bool> {
        self.conn.as_ref().and_then(|c| c.ansi_quotes)
    }

    /// The session's `character_set_client` and `character_set_connection`: as
    /// last read when no command since may have changed them, else read now.
    pub async fn charsets(&mut self) -> Result<(String, String), ServerError> {
        if let Some(known) = self.conn.as_ref().and_then(|c| c.charsets.clone()) {
            return Ok(known);
        }
        let rows = self
            .read("SELECT @@SESSION.character_set_client, @@SESSION.character_set_connection")
            .await?;
        let row: Vec<String> = rows
            .rows
            .first()
            .map(|r| r.iter().map(|v| v.text()).collect())
            .unwrap_or_default();
        let [client, connection] = [0, 1].map(|i| row.get(i).cloned().unwrap_or_default());
        if let Some(conn) = self.conn.as_mut() {
            conn.charsets = Some((client.clone(), connection.clone()));
            conn.param_collations = None;
        }
        Ok((client, connection))
    }

    /// How a string parameter of a prepared statement reads natively under the
    /// session's character sets, for writing it as a literal: its collation
    /// (`SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci` makes it unicode_ci, which
    /// no session variable says; `character_set_client = binary` makes it binary;
    /// a parameter converted to the connection's character set takes
    /// `collation_connection`), the collation of `_<client> X''`, and
    /// `collation_connection` (review r25b F3, F4). Read with a prepared `SELECT`
    /// on the backend, cached with [`Self::charsets`]. `client` is the session's
    /// `character_set_client` as [`Self::charsets`] read it (a plain name).
    pub async fn param_collations(&mut self, client: &str) -> Result<ParamCollations, ServerError> {
        if let Some(known) = self
            .conn
            .as_ref()
            .filter(|c| c.charsets.is_some())
            .and_then(|c| c.param_collations.clone())
        {
            return Ok(known);
        }
        // In binary: `character_set_results` (ucs2, utf16) does not convert them.
        let sql = format!(
            "SELECT CAST(COLLATION(?) AS BINARY), CAST(COLLATION(_{client} X'') AS BINARY), \
             CAST(@@SESSION.collation_connection AS BINARY)"
        );
        let conn = self.conn().await?;
        let outcome = async {
            let prepared = conn.prepare(&sql).await?;
            conn.execute(prepared.id, &[Value::Bytes(b"a".to_vec())]).await?;
            let mut row: Option<Vec<String>> = None;
            let mut failed: Option<ServerError> = None;
            loop {
                match conn.event().await? {
                    Event::Row(p) => row = binary_strings(p, 3),
                    Event::Error(e) => failed = Some(e),
                    Event::Done => break,
                    _ => {}
                }
            }
            conn.close_statement(prepared.id).await?;
            Ok::<_, ConnError>(failed.map_or_else(
                || {
                    row.and_then(|r| <[String; 3]>::try_from(r).ok())
                        .ok_or_else(|| ServerError::new(1105, "HY000", "Tether: cannot read the parameters' collation"))
                },
                Err,
            ))
        }
        .await;
        let [param, introduced, connection] = match outcome {
            Ok(Ok(row)) => row,
            Ok(Err(e)) => return Err(e),
            Err(e) => return Err(self.fail(e)),
        };
        let known = ParamCollations {
            param,
            introduced,
            connection,
        };
        if let Some(conn) = self.conn.as_mut() {
            conn.param_collations = Some(known.clone());
        }
        Ok(known)
    }

    /// Records the session's ANSI_QUOTES as read from it just now.
    pub fn set_ansi_quotes(&mut self, ansi_quotes: bool) {
        if let Some(conn) = self.conn.as_mut() {
            conn.ansi_quotes = Some(ansi_quotes);
        }
    }

    /// The session's sql_mode has NO_BACKSLASH_ESCAPES (the status flag of the last
    /// reply says so).
    pub fn no_backslash_escapes(&self) -> bool {
        if let Some(carried) = self.carried() {
            return !carried.backslash_escapes;
        }
        self.status()
            .is_some_and(|s| s & SERVER_STATUS_NO_BACKSLASH_ESCAPES != 0)
    }

    /// Runs a client's text query, relaying every result to the client as it
    /// arrives: the passthrough path, nothing decoded but the end of each result.
    pub async fn forward_query<S: AsRef<[u8]> + ?Sized>(&mut self, sql: &S, out: &mut Output<'_>) -> io::Result<()> {
        let conn = match self.conn().await {
            Ok(c) => c,
            Err(e) => {
                out.error(&e);
                return Ok(());
            }
        };
        let outcome = match conn.query(sql).await {
            Ok(()) => relay(conn, out, None).await,
            Err(e) => Err(Fail::Backend(e)),
        };
        self.settle(outcome, out).await
    }

    /// Executes a prepared statement, relaying its results to the client. A
    /// statement prepared on a connection since lost is prepared again first.
    pub async fn forward_execute(
        &mut self,
        stmt: &mut Statement,
        params: &Params<'_>,
        out: &mut Output<'_>,
    ) -> io::Result<()> {
        if stmt.generation != self.generation || self.conn.is_none() {
            match self.prepare(&stmt.sql).await {
                // The client never saw this prepare's column definitions.
                Ok(fresh) => {
                    *stmt = Statement {
                        columns_unseen: true,
                        ..fresh
                    }
                }
                Err(e) => {
                    out.error(&e);
                    return Ok(());
                }
            }
        }
        let conn = match self.conn().await {
            Ok(c) => c,
            Err(e) => {
                out.error(&e);
                return Ok(());
            }
        };
        // Sent as received when possible; decoded values go with types of their
        // own, after which the backend no longer holds the client's.
        let sent = match params {
            Params::Raw(raw) => conn.execute_raw(stmt.id, raw, stmt.types_bound).await,
            Params::Decoded(values) => conn.execute(stmt.id, values).await,
        };
        stmt.types_bound = matches!(params, Params::Raw(_));
        conn.may_release = conn::may_release(stmt.sql.as_bytes());
        if conn::may_change_sql_mode(stmt.sql.as_bytes()) {
            conn.ansi_quotes = None;
        }
        if conn::may_change_charset(stmt.sql.as_bytes()) {
            conn.charsets = None;
        }
        let outcome = match sent {
            Ok(()) => relay(conn, out, Some(&stmt.columns[..]).filter(|_| stmt.columns_unseen)).await,
            Err(e) => Err(Fail::Backend(e)),
        };
        if outcome.is_ok() {
            stmt.columns_unseen = false;
        }
        self.settle(outcome, out).await
    }

    /// Ends a forwarded command: a backend failure goes to the client; a client
    /// gone mid-result gets its backend work killed.
    async fn settle(&mut self, outcome: Result<(), Fail>, out: &mut Output<'_>) -> io::Result<()> {
        match outcome {
            Ok(()) => {
                self.drop_if_closing();
                Ok(())
            }
            Err(Fail::Client(e)) => {
                self.kill().await;
                Err(e)
            }
            Err(Fail::Backend(e)) => {
                let e = self.fail(e);
                // Ended by the server's hang-up: the client gets what MariaDB's
                // client gets, the end of the connection.
                if !self.ended {
                    out.error(&e);
                }
                Ok(())
            }
        }
    }

    /// Runs a client's text query and collects every result.
    pub async fn query<S: AsRef<[u8]> + ?Sized>(&mut self, sql: &S) -> Vec<Reply> {
        let conn = match self.conn().await {
            Ok(c) => c,
            Err(e) => return vec![Reply::Error(e)],
        };
        let mut replies = Vec::new();
        let outcome = match conn.query(sql).await {
            Ok(()) => collect(conn, &mut replies).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => self.drop_if_closing(),
            Err(e) => replies.push(Reply::Error(self.fail(e))),
        }
        replies
    }

    /// Runs a statement the gateway issues, expecting no rows.
    pub async fn exec(&mut self, sql: &str) -> Result<OkInfo, ServerError> {
        tracing::debug!("backend: {sql}");
        let conn = self.conn().await?;
        let outcome = run_ok(conn, sql).await;
        outcome.map_err(|e| self.fail(e))
    }

    /// Runs a read the gateway issues (text protocol). On MariaDB a `SELECT` runs
    /// with [`OWN_READ`]: the client's `sql_select_limit` (1000 under `mariadb
    /// --safe-updates`), `max_join_size` and `sql_auto_is_null` must not cut or
    /// change the gateway's lock reads, RESTRICT probes and cascade reads.
    pub async fn read(&mut self, sql: &str) -> Result<Rows, ServerError> {
        self.read_with(sql, true).await
    }

    /// The prefix ([`OWN_RESULTS`]) a SELECT the gateway runs inside a text of
    /// several statements takes for its results to come in utf8mb4; empty
    /// before a connection, or on MySQL (no `SET STATEMENT`).
    pub fn own_results(&self) -> &'static str {
        match self.conn.as_ref().is_some_and(|c| c.mariadb) {
            true => OWN_RESULTS,
            false => "",
        }
    }

    /// [`Self::read`] without [`OWN_READ`]: for reads of the very variables it
    /// sets (`sql_auto_is_null`).
    pub async fn read_as_is(&mut self, sql: &str) -> Result<Rows, ServerError> {
        self.read_with(sql, false).await
    }

    async fn read_with(&mut self, sql: &str, own_read: bool) -> Result<Rows, ServerError> {
        tracing::debug!("backend: {sql}");
        let conn = self.conn().await?;
        let own;
        let sql = if own_read && conn.mariadb && is_select(sql) {
            own = format!("{OWN_READ}{sql}");
            own.as_str()
        } else if own_read
            && conn.mariadb
            && ["delete", "insert", "replace", "show", "with"]
                .iter()
                .any(|w| starts_with(sql, w))
        {
            own = format!("{OWN_RESULTS}{sql}");
            own.as_str()
        } else {
            sql
        };
        let mut replies = Vec::new();
        let outcome = match conn.query(sql).await {
            Ok(()) => collect(conn, &mut replies).await,
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            return Err(self.fail(e));
        }
        self.drop_if_closing();
        let mut rows = None;
        for reply in replies {
            match reply {
                Reply::Error(e) => return Err(e),
                Reply::Rows { columns, rows: r } if rows.is_none() => rows = Some(Rows { columns, rows: r }),
                _ => {}
            }
        }
        Ok(rows.unwrap_or(Rows {
            columns: Vec::new(),
            rows: Vec::new(),
        }))
    }

    /// COM_STATISTICS on the backend: its status text.
    pub async fn statistics(&mut self) -> Result<Vec<u8>, ServerError> {
        let conn = self.conn().await?;
        match conn.statistics().await {
            Ok(text) => Ok(text),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// COM_DEBUG on the backend: the warning count and status flags it ended with.
    pub async fn debug(&mut self) -> Result<(u16, u16), ServerError> {
        let conn = self.conn().await?;
        match conn.debug().await {
            Ok(end) => Ok(end),
            Err(e) => Err(self.fail(e)),
        }
    }

    pub async fn prepare(&mut self, sql: &str) -> Result<Statement, ServerError> {
        let conn = self.conn().await?;
        match conn.prepare(sql).await {
            Ok(p) => Ok(Statement {
                sql: sql.to_string(),
                id: p.id,
                params: p.params,
                columns: p.columns,
                generation: self.generation,
                types_bound: false,
                columns_unseen: false,
            }),
            Err(e) => Err(self.fail(e)),
        }
    }

    pub async fn close_statement(&mut self, stmt: Statement) {
        if stmt.generation != self.generation {
            return;
        }
        if let Some(conn) = self.conn.as_mut() {
            if let Err(e) = conn.close_statement(stmt.id).await {
                let _ = self.fail(e);
            }
        }
    }

    /// Closes the connection; the server rolls back anything uncommitted.
    pub async fn disconnect(&mut self) {
        if let Some(conn) = self.conn.take() {
            if let Some(slot) = &self.slot {
                slot.closed();
            }
            conn.quit().await;
        }
    }
}

/// Runs `sql` on `conn`, expecting no rows: the first statement's OK, or the
/// first error.
async fn run_ok(conn: &mut BackendConn, sql: &str) -> Result<OkInfo, ConnError> {
    conn.query(sql).await?;
    let mut info = None;
    loop {
        match conn.event().await? {
            Event::Ok { info: i, .. } if info.is_none() => info = Some(i),
            Event::Error(e) => return Err(ConnError::Server(e)),
            Event::Done => return Ok(info.unwrap_or_default()),
            _ => {}
        }
    }
}

async fn run(conn: &mut BackendConn, sql: &str) -> Result<(), ConnError> {
    run_ok(conn, sql).await.map(|_| ())
}

/// Reads every result of the pending answer: OK packets, result sets (text rows
/// decoded), and an error of a later statement.
async fn collect(conn: &mut BackendConn, replies: &mut Vec<Reply>) -> Result<(), ConnError> {
    let mut columns = Vec::new();
    let mut rows = Vec::new();
    loop {
        match conn.event().await? {
            Event::Ok { info, .. } => replies.push(Reply::Ok(info)),
            Event::Columns { .. } => {
                columns = Vec::new();
                rows = Vec::new();
            }
            Event::ColumnsEnd { .. } => {}
            Event::Column(p) => columns
                .push(answer::column_def(p).ok_or_else(|| ConnError::Lost("malformed column definition".into()))?),
            Event::Row(p) => {
                rows.push(answer::text_row(p, columns.len()).ok_or_else(|| ConnError::Lost("malformed row".into()))?)
            }
            Event::End { .. } => replies.push(Reply::Rows {
                columns: std::mem::take(&mut columns),
                rows: std::mem::take(&mut rows),
            }),
            Event::Error(e) => replies.push(Reply::Error(e)),
            Event::Done => return Ok(()),
        }
    }
}

/// A session's character sets, to set in another backend session of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Charsets {
    /// As another backend session has them (`USE` between keyspaces): names as
    /// `@@character_set_client`, `@@character_set_results` (`None`: NULL) and
    /// `@@collation_connection` show them (which also gives
    /// `character_set_connection`), and the collation of `character_set_client`
    /// where a prepared statement's string parameter shows it (`COLLATION(?)`,
    /// when the client's and the connection's character sets are one):
    /// `SET NAMES x COLLATE y` gives the parameters `y`, which no variable shows
    /// and `SET character_set_client` does not give (review r26b F3).
    Named {
        client: String,
        client_collation: Option<String>,
        results: Option<String>,
        collation: String,
    },
    /// A login's (COM_CHANGE_USER's) collation, by name: client, results and
    /// connection in it, as the server takes a login's (`SET NAMES .. COLLATE`
    /// gives the same).
    Login { charset: String, collation: String },
    /// The server's defaults, which a session takes when COM_CHANGE_USER names
    /// a collation the server does not know, or fails.
    ServerDefaults,
}

impl Charsets {
    /// The names read from a session, `None` when one is not a plain name
    /// (nothing then to quote: they go into a `SET` as strings).
    pub fn named(
        client: &str,
        client_collation: Option<&str>,
        results: Option<&str>,
        collation: &str,
    ) -> Option<Charsets> {
        let plain = |n: &str| !n.is_empty() && n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
        if !plain(client) || !plain(collation) || results.is_some_and(|r| !plain(r)) {
            return None;
        }
        Some(Charsets::Named {
            client: client.to_string(),
            client_collation: client_collation.filter(|c| plain(c)).map(str::to_string),
            results: results.map(str::to_string),
            collation: collation.to_string(),
        })
    }

    /// A `SET` that gives a session these character sets.
    pub fn statement(&self) -> String {
        match self {
            Charsets::Named {
                client,
                client_collation,
                results,
                collation,
            } => {
                let results = results.as_deref().map_or("NULL".to_string(), |r| format!("'{r}'"));
                let client = match client_collation {
                    Some(c) => format!("NAMES '{client}' COLLATE '{c}'"),
                    None => format!("character_set_client = '{client}'"),
                };
                format!("SET {client}, collation_connection = '{collation}', character_set_results = {results}")
            }
            Charsets::Login { charset, collation } => format!("SET NAMES '{charset}' COLLATE '{collation}'"),
            Charsets::ServerDefaults => "SET character_set_client = @@GLOBAL.character_set_client, \
                                         collation_connection = @@GLOBAL.collation_connection, \
                                         character_set_results = @@GLOBAL.character_set_results"
                .to_string(),
        }
    }
}

/// How a string parameter of a prepared statement reads natively, and how two
/// literals read ([`Backend::param_collations`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamCollations {
    /// The parameter's collation natively (its coercibility is a literal's).
    pub param: String,
    /// The collation of `_<character_set_client> X'..'`.
    pub introduced: String,
    /// `collation_connection`: a plain quoted literal's.
    pub connection: String,
}

/// The first `columns` values of a binary-protocol row of strings (none NULL).
fn binary_strings(p: &[u8], columns: usize) -> Option<Vec<String>> {
    let mut at = 1 + (columns + 7 + 2) / 8;
    let mut out = Vec::with_capacity(columns);
    for _ in 0..columns {
        let (len, skip) = match *p.get(at)? {
            n @ 0..=250 => (usize::from(n), 1),
            0xfc => (usize::from(u16::from_le_bytes([*p.get(at + 1)?, *p.get(at + 2)?])), 3),
            _ => return None,
        };
        let text = p.get(at + skip..at + skip + len)?;
        out.push(String::from_utf8_lossy(text).into_owned());
        at += skip + len;
    }
    Some(out)
}

/// Why forwarding a command stopped: the backend failed (the client is told), or
/// writing to the client failed (the connection ends).
enum Fail {
    Backend(ConnError),
    Client(io::Error),
}

impl From<ConnError> for Fail {
    fn from(e: ConnError) -> Self {
        Fail::Backend(e)
    }
}

impl From<io::Error> for Fail {
    fn from(e: io::Error) -> Self {
        Fail::Client(e)
    }
}

/// Relays every result of the pending answer to the client: column definitions
/// and rows as the backend sent them; OK packets (rows affected, last insert id,
/// warnings, info string) and the ends of result sets with the backend's status
/// flags, in the client's framing (with or without `CLIENT_DEPRECATE_EOF`).
/// `unseen`: the statement's column definitions, which the client may not hold,
/// sent in place of any the backend skips.
async fn relay(conn: &mut BackendConn, out: &mut Output<'_>, unseen: Option<&[ColumnDef]>) -> Result<(), Fail> {
    // A connection for a client without CLIENT_DEPRECATE_EOF has none either:
    // the backend's EOF after the definitions, with its flags, is relayed.
    // Otherwise the gateway ends them itself (for a client that wants no EOF
    // there, nothing).
    let backend_ends_columns = !conn.deprecate_eof;
    let mut columns_left = 0;
    loop {
        match conn.event().await? {
            Event::Ok { info, status, more } => {
                out.set_status(status);
                out.ok(&info, more);
            }
            Event::Columns { count, follow } => {
                match unseen {
                    Some(columns) if !follow && columns.len() as u64 == count => out.begin_rows(columns),
                    // (A statement's column count cannot change while the
                    // backend skips its definitions.)
                    _ => out.begin_relayed_rows(count, follow),
                }
                columns_left = if follow { count } else { 0 };
                if columns_left == 0 && !backend_ends_columns {
                    out.columns_done(false);
                }
            }
            Event::Column(p) => {
                out.relay_column(p);
                columns_left -= 1;
                if columns_left == 0 && !backend_ends_columns {
                    out.columns_done(false);
                }
            }
            Event::ColumnsEnd { warnings, status } => out.relay_columns_end(warnings, status),
            Event::Row(p) => {
                out.relay_row(p).await?;
                // The rows already read behind it go in one copy.
                out.relay_row_packets(conn.buffered_rows()).await?;
            }
            Event::End { warnings, status, more } => {
                out.set_status(status);
                out.end_rows(warnings, more);
            }
            Event::Error(e) => {
                out.error(&e);
                out.set_status(conn.status());
            }
            Event::Done => return Ok(()),
        }
    }
}
