//! The listening gateway: accepts clients and hands each, round-robin, to one of its
//! worker threads (an event loop per thread, HAProxy's model), which runs the session
//! as its own task (a failure or a malformed packet ends that connection only) and
//! closes its backend connections when the client goes (rolling back its transaction).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use crate::auth;
use crate::config::{Config, FkMode};
use crate::error::GatewayError;
use crate::keyspace::Shared;
use crate::kill::{self, Kill, Live, Registration, Registry};
use crate::protocol::{Handler, Limits, Output, Security};
use crate::reply::PreparedInfo;
use crate::reply::ServerError;
use crate::session::Session;
use crate::wire::value::{Params, Value};

/// A bound, not yet serving gateway.
pub struct Gateway {
    listener: TcpListener,
    shared: Arc<Shared>,
    /// One permit per client connection served at once.
    connections: Arc<Semaphore>,
    limits: Limits,
    /// How often managed keyspaces' schemas are read again.
    schema_refresh: Option<std::time::Duration>,
    /// TLS towards clients.
    security: Arc<Security>,
    /// Worker threads serving connections.
    threads: usize,
    /// The live clients, for KILL by the handshake's connection ids.
    registry: Arc<Registry>,
}

/// An accepted client on its way to a worker.
struct Accepted {
    stream: std::net::TcpStream,
    peer: SocketAddr,
    id: u32,
    /// Held until the connection ends.
    permit: OwnedSemaphorePermit,
}

/// The first connection id the gateway's handshake gives. MariaDB numbers its threads
/// from 1; the gateway's ids start far above, so a handshake id can never be a backend
/// thread's: a KILL of one that reaches the backend by a spelling the gateway does not
/// read (inside `EXECUTE IMMEDIATE`, a compound statement, a versioned comment) meets
/// no thread there (1094) instead of someone else's session, and a client's own
/// `CONNECTION_ID()` (its backend id) is never another client's handshake id.
const FIRST_CONNECTION_ID: u32 = 1 << 30;

static CONNECTION_IDS: AtomicU32 = AtomicU32::new(FIRST_CONNECTION_ID);

/// The next handshake id, in `FIRST_CONNECTION_ID..u32::MAX` (wrapping within it).
fn next_connection_id() -> u32 {
    let id = CONNECTION_IDS.fetch_add(1, Ordering::Relaxed);
    if id >= FIRST_CONNECTION_ID {
        return id;
    }
    // Wrapped past u32::MAX: start again at the first id (a racing thread may take
    // the same id once in 3 billion connections; the registry keeps the newer).
    CONNECTION_IDS.store(FIRST_CONNECTION_ID + 1, Ordering::Relaxed);
    FIRST_CONNECTION_ID
}

struct Connection {
    session: Session,
    id: u32,
    salt: [u8; 20],
    registry: Arc<Registry>,
    /// Its user and backend connections, published for KILL once logged in.
    live: Arc<Live>,
    registration: std::sync::Mutex<Option<Registration>>,
    /// The client killed its own connection: it ends once the answer is sent (so
    /// does a session whose backend ended it: [`Session::ended`]).
    ended: bool,
}

impl Connection {
    /// `KILL [QUERY] id` with a gateway connection id: the client's backend
    /// connections get it with their ids; an id that is no live client is 1094.
    /// A KILL of a connection also ends the killed clients' connections to the
    /// gateway (MariaDB's 2013 on their next statement, or on the one they wait on:
    /// their sockets are shut down before their backend connections are killed, so
    /// no error of the gateway's reaches them first); the client killing itself gets
    /// 1927, as from MariaDB, then its connection ends; its `KILL QUERY` of itself
    /// interrupts the KILL (1317), with or without a backend connection yet.
    /// `rest`: the statements after the KILL in its query, run after a KILL that
    /// succeeded (after an error, or the client's own end, MariaDB runs none).
    async fn kill(&mut self, kill: Kill, rest: Option<&[u8]>, out: &mut Output<'_>) -> std::io::Result<()> {
        use crate::reply::{OkInfo, Reply};
        let server = self.session.backend_url();
        let targets = match self.registry.targets(kill.id, &self.live.user(), server.as_ref()) {
            Ok(targets) => targets,
            Err(e) => return self.session.answer(Reply::Error(e), out).await,
        };
        let itself = targets.clients.iter().any(|c| Arc::ptr_eq(c, &self.live));
        if kill.query && itself {
            let e = ServerError::new(1317, "70100", "Query execution was interrupted");
            return self.session.answer(Reply::Error(e), out).await;
        }
        if !kill.query {
            for client in targets.clients.iter().filter(|c| !Arc::ptr_eq(c, &self.live)) {
                client.end();
            }
        }
        let mut reply = self.session.kill(&targets.backends, kill.query).await;
        // A statement of theirs waiting in the gateway (at a cut-over's gate) is in
        // no backend connection: it stops waiting and is not run (review r26c F4).
        // After the backend KILLs: a client told first may close its connections
        // before the KILL reaches them (1094).
        for client in targets.clients.iter().filter(|c| !Arc::ptr_eq(c, &self.live)) {
            client.interrupt(kill.query);
        }
        if itself {
            if !matches!(reply, Reply::Error(_)) {
                reply = Reply::Error(ServerError::new(1927, "70100", "Connection was killed"));
            }
            self.ended = true;
        }
        match (reply, rest) {
            (Reply::Ok(_), Some(rest)) if !self.ended => {
                out.ok(&OkInfo::default(), true);
                match std::str::from_utf8(rest) {
                    Ok(sql) => self.session.query(sql, out).await,
                    Err(_) => self.session.query_bytes(rest, out).await,
                }
            }
            (reply, _) => self.session.answer(reply, out).await,
        }
    }

    /// The KILL a query starts with, and the statements after it: its target
    /// evaluated when it is an expression (an error of that goes to the client,
    /// `Err`); `None` when the query is no KILL of a connection id.
    async fn read_kill<'q>(&mut self, sql: &'q [u8]) -> Result<Option<(Kill, Option<&'q [u8]>)>, ServerError> {
        let lexing = self.session.lexing(sql).await?;
        let (end, second) = crate::protocol::multi::split_bytes(sql, lexing);
        let rest = second.map(|at| &sql[at..]);
        let kill = match kill::parse(&String::from_utf8_lossy(&sql[..end]), self.id) {
            kill::Parsed::Kill(k) => k,
            kill::Parsed::Expression { query, target } => {
                let value = self.session.kill_target(&target).await?;
                let id = kill::id_of(&value).ok_or_else(|| {
                    ServerError::gateway(format!(
                        "tether gateway: the KILL's target is {value}, not a connection id"
                    ))
                })?;
                Kill { query, id }
            }
            kill::Parsed::Other => return Ok(None),
        };
        Ok(Some((kill, rest)))
    }
}

impl Handler for Connection {
    fn server_version(&self) -> String {
        self.session.shared().server_version.clone()
    }

    fn connection_id(&self) -> u32 {
        self.id
    }

    fn ended(&self) -> bool {
        self.ended || self.session.ended()
    }

    fn ended_silently(&self) -> bool {
        self.session.ended_silently()
    }

    fn hung_up(&mut self) -> bool {
        self.session.hung_up()
    }

    fn salt(&self) -> [u8; 20] {
        self.salt
    }

    fn authenticate(&self, user: &str, salt: &[u8], response: &[u8]) -> bool {
        let ok = match self.session.shared().users.get(user) {
            Some(password) => auth::verify(password, salt, response),
            None => false,
        };
        if !ok {
            tracing::info!("connection {}: login refused for user {user:?}", self.id);
        } else {
            self.live.logged_in_as(user);
            let mut registration = self
                .registration
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if registration.is_none() {
                *registration = Some(self.registry.register(self.id, self.live.clone()));
            }
        }
        ok
    }

    async fn statistics(&mut self) -> Result<Vec<u8>, ServerError> {
        self.session.statistics().await
    }

    async fn debug(&mut self) -> Result<(u16, u16), ServerError> {
        self.session.debug().await
    }

    async fn init_db(&mut self, db: &str) -> Result<(), ServerError> {
        self.session.use_keyspace(db).await
    }

    async fn query(&mut self, sql: &[u8], out: &mut Output<'_>) -> std::io::Result<()> {
        if kill::may_be(sql) {
            match self.read_kill(sql).await {
                Ok(Some((k, rest))) => return self.kill(k, rest, out).await,
                Ok(None) => {}
                Err(e) => return self.session.answer(crate::reply::Reply::Error(e), out).await,
            }
        }
        match std::str::from_utf8(sql) {
            Ok(sql) => self.session.query(sql, out).await,
            Err(_) => self.session.query_bytes(sql, out).await,
        }
    }

    async fn prepare(&mut self, sql: &str) -> Result<PreparedInfo, ServerError> {
        self.session.prepare(sql).await
    }

    async fn execute(&mut self, id: u32, params: Params<'_>, out: &mut Output<'_>) -> std::io::Result<()> {
        self.session.execute(id, &params, out).await
    }

    async fn close(&mut self, id: u32) {
        self.session.close(id).await
    }

    async fn stmt_reset(&mut self, answer: Result<(), &ServerError>) {
        self.session.stmt_reset_answered(answer).await
    }

    fn logged_in(&mut self, found_rows: bool, cached_metadata: bool, deprecate_eof: bool, charset: u8) {
        self.session
            .logged_in(found_rows, cached_metadata, deprecate_eof, charset)
    }

    async fn reset(&mut self) -> Result<(), ServerError> {
        self.session.reset().await;
        Ok(())
    }

    async fn change_user(&mut self, db: Option<&str>, charset: Option<u16>) -> Result<(), ServerError> {
        self.session.change_user(db, charset).await
    }

    fn keyspace(&self) -> Option<String> {
        self.session.keyspace_name()
    }

    async fn lexing(&mut self, sql: &[u8]) -> Result<crate::protocol::multi::Lexing, ServerError> {
        self.session.lexing(sql).await
    }

    fn restore_keyspace(&mut self, keyspace: Option<String>) {
        self.session.restore_keyspace(keyspace)
    }

    async fn process_kill(&mut self, id: u32, out: &mut Output<'_>) -> std::io::Result<()> {
        self.kill(
            Kill {
                query: false,
                id: u64::from(id),
            },
            None,
            out,
        )
        .await
    }
}

impl Gateway {
    /// Checks the config and binds the listen address (`listen` overrides the config).
    pub async fn bind(config: &Config, listen: Option<&str>) -> Result<Gateway, GatewayError> {
        let shared = Shared::from_config(config).map_err(GatewayError::Setup)?;
        let security = Arc::new(crate::tls::security(config.tls.as_ref()).map_err(GatewayError::Setup)?);
        let addr = listen.map(str::to_string).unwrap_or_else(|| config.listen());
        let listener = TcpListener::bind(&addr).await.map_err(|e| GatewayError::Listen {
            addr: addr.clone(),
            message: e.to_string(),
        })?;
        let mut shared = shared;
        // Read every keyspace's schema now, so a bad backend shows at start; a backend
        // that is down only delays that keyspace (it is retried on first use).
        for ks in shared.keyspaces.values() {
            ks.start().await;
        }
        if let Some(v) = backend_version(&shared).await {
            shared.server_version = format!("{v}-tether-gateway");
        }
        Ok(Gateway {
            listener,
            shared: Arc::new(shared),
            connections: Arc::new(Semaphore::new(config.max_connections())),
            limits: Limits {
                max_allowed_packet: config.max_allowed_packet(),
            },
            schema_refresh: config.schema_refresh(),
            security,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            registry: Arc::default(),
        })
    }

    pub fn local_addr(&self) -> Result<SocketAddr, GatewayError> {
        self.listener.local_addr().map_err(|e| GatewayError::Listen {
            addr: "?".into(),
            message: e.to_string(),
        })
    }

    /// Serves clients on `threads` worker threads (default: one per CPU core).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Serves clients until the process ends. Each worker thread runs its own
    /// single-threaded runtime: a connection and its backend connections live on one
    /// thread, so a wake-up never hands a connection to another thread (the cost of
    /// a work-stealing scheduler: a futex wake and a context switch per statement).
    /// The workers stop, dropping their connections, when this future is dropped.
    pub async fn serve(self) -> Result<(), GatewayError> {
        open_files_for(self.connections.available_permits());
        let mut workers = Vec::with_capacity(self.threads);
        for n in 0..self.threads {
            workers.push(self.worker(n)?);
        }
        if let Some(every) = self.schema_refresh {
            for ks in self.shared.keyspaces.values() {
                // Unmanaged and disallow keyspaces too: the cut-over gate judges on
                // their schema (views, triggers, routines created behind the
                // gateway: review r27b). A sharded one's is planned on in managed
                // mode only.
                if ks.spec.sharded && ks.mode() != FkMode::Managed {
                    continue;
                }
                let ks = ks.clone();
                tokio::spawn(async move {
                    let mut ticks = tokio::time::interval(every);
                    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    ticks.tick().await;
                    loop {
                        ticks.tick().await;
                        ks.reload().await;
                    }
                });
            }
        }
        loop {
            let (stream, peer) = match self.listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let Ok(permit) = self.connections.clone().try_acquire_owned() else {
                tracing::warn!("refused a connection from {peer}: too many connections");
                tokio::spawn(async move {
                    let e = ServerError::new(1040, "08004", "Too many connections");
                    let _ = crate::protocol::refuse(stream, &e).await;
                });
                continue;
            };
            let id = next_connection_id();
            // Out of this runtime's I/O driver, into the worker's.
            let stream = match stream.into_std() {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("connection {id} from {peer} dropped: {e}");
                    continue;
                }
            };
            let worker = &workers[id as usize % workers.len()];
            if worker
                .send(Accepted {
                    stream,
                    peer,
                    id,
                    permit,
                })
                .is_err()
            {
                tracing::warn!("connection {id} from {peer} dropped: its worker thread ended");
            }
        }
    }

    /// Starts worker thread `n`: its runtime serves the connections sent to it.
    fn worker(&self, n: usize) -> Result<mpsc::UnboundedSender<Accepted>, GatewayError> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Accepted>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| GatewayError::Setup(format!("cannot start worker thread {n}: {e}")))?;
        let shared = self.shared.clone();
        let limits = self.limits;
        let security = self.security.clone();
        let registry = self.registry.clone();
        std::thread::Builder::new()
            .name(format!("tether-gw-{n}"))
            .spawn(move || {
                runtime.block_on(async move {
                    while let Some(accepted) = rx.recv().await {
                        let id = accepted.id;
                        let task = tokio::spawn(connection(
                            accepted,
                            shared.clone(),
                            registry.clone(),
                            limits,
                            security.clone(),
                        ));
                        tokio::spawn(async move {
                            if let Err(e) = task.await {
                                tracing::warn!("connection {id} handler failed: {e}");
                            }
                        });
                    }
                })
            })
            .map_err(|e| GatewayError::Setup(format!("cannot start worker thread {n}: {e}")))?;
        Ok(tx)
    }
}

/// Descriptors one client holds: its socket, the duplicate a KILL shuts it down
/// with, and a backend connection (more with several keyspaces or online DDL).
const FILES_PER_CLIENT: u64 = 3;

/// Raises the soft limit on open files to the hard one (often 1024 against
/// 524288: `maxConnections` clients need about three each), as HAProxy sizes its
/// own; says at start when the limit still falls short, instead of accept failing
/// later with EMFILE.
fn open_files_for(max_connections: usize) {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if let (Some(current), Some(maximum)) = (limit.current, limit.maximum) {
        if current < maximum {
            let raised = Rlimit {
                current: Some(maximum),
                maximum: Some(maximum),
            };
            match setrlimit(Resource::Nofile, raised) {
                Ok(()) => limit = raised,
                Err(e) => tracing::debug!("open files limit not raised: {e}"),
            }
        }
    }
    let needed = (max_connections as u64)
        .saturating_mul(FILES_PER_CLIENT)
        .saturating_add(64);
    if let Some(current) = limit.current.filter(|c| *c < needed) {
        tracing::warn!(
            "the open files limit is {current}: {max_connections} clients (maxConnections) need about {needed}; \
             raise it (ulimit -n, systemd LimitNOFILE) or lower maxConnections"
        );
    }
}

/// Serves one accepted client on the worker's runtime.
async fn connection(
    accepted: Accepted,
    shared: Arc<Shared>,
    registry: Arc<Registry>,
    limits: Limits,
    security: Arc<Security>,
) {
    let Accepted {
        stream,
        peer,
        id,
        permit: _permit,
    } = accepted;
    let stream = match TcpStream::from_std(stream) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("connection {id} from {peer} dropped: {e}");
            return;
        }
    };
    tracing::debug!("connection {id} from {peer}");
    let live = Arc::new(Live::default());
    live.attach(&stream);
    let mut session = Session::new(shared);
    session.set_live(live.clone());
    let connection = Connection {
        session,
        id,
        salt: auth::salt(),
        registry,
        live,
        registration: std::sync::Mutex::new(None),
        ended: false,
    };
    if let Err(e) = crate::protocol::serve(connection, stream, peer, limits, &security).await {
        tracing::debug!("connection {id} ended: {e}");
    }
    // Dropping the session closes its backend connections: the backend rolls back
    // whatever the client left open.
}

async fn backend_version(shared: &Shared) -> Option<String> {
    let name = shared.default_keyspace.as_deref()?;
    let ks = shared.keyspace(name)?;
    let mut b = crate::backend::Backend::new(ks.spec.url.clone(), false);
    let rows = b.read("SELECT VERSION()").await.ok()?;
    b.disconnect().await;
    match rows.rows.first()?.first()? {
        Value::Bytes(v) => Some(String::from_utf8_lossy(v).into_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use rustix::process::{getrlimit, Resource};

    #[test]
    fn the_open_files_limit_is_raised_to_the_hard_one() {
        super::open_files_for(10);
        let limit = getrlimit(Resource::Nofile);
        assert_eq!(limit.current, limit.maximum);
    }
}
