//! One client connection: its keyspace, its backend connections, its
//! `foreign_key_checks` setting and prepared statements, and the routing of every
//! statement: forwarded unchanged, refused (disallow), planned (managed), or handed
//! to the keyspace's online migrations (`@@ddl_strategy`).

use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::Arc;

use tether_fkplan::Analysis;

use crate::backend::{Backend, Statement};
use crate::comments;
use crate::config::FkMode;
use crate::ddl;
use crate::keyspace::{Keyspace, Shared};
use crate::managed;
use crate::online::{self, hook, DdlStrategy, OnlineStatement};
use crate::protocol::Output;
use crate::reply::{PreparedInfo, Reply, ServerError};
use crate::route::{skip_comments, Command};
use crate::sharded::guard::{self, Kind};
use crate::wire::value::{Params, Value};

/// The refusal of online-DDL statements in a keyspace without migrations (sharded).
fn no_migrations(ks: &Keyspace) -> ServerError {
    ServerError::gateway(format!(
        "keyspace `{}` is sharded: online schema changes are not available there (run DDL with \
         @@ddl_strategy = 'direct')",
        ks.spec.name
    ))
}

/// How the gateway handles one statement.
enum Route {
    /// The gateway answered it (USE, EXPLAIN FK, a refused or planned statement, ...).
    Answered(Vec<Reply>),
    /// Passthrough: the statement goes to this keyspace's backend unchanged and its
    /// results stream back.
    Forward(Arc<Keyspace>),
}

/// A statement prepared by the client, with what its executions need decided
/// once: its keyspace, and whether the managed planner has work for it.
struct Prepared {
    keyspace: Arc<Keyspace>,
    statement: Statement,
    /// A write the managed planner has work for: executed as text with the
    /// parameters inlined, so the plan sees literal values.
    planned: bool,
    /// A write in a managed keyspace: the keyspace's schema generation `planned`
    /// was decided at, decided again when it moves (DDL, or a periodic reading
    /// finding an FK added behind the gateway's back). `None`: nothing to decide
    /// (a read, or not managed).
    decided_at: Option<u64>,
    /// Its text may create, rename or drop a temporary table (in a managed
    /// keyspace): executing it makes the session read the shadowed tables again.
    touches_temporary: bool,
}

impl Prepared {
    /// Decides `planned` again when the keyspace's schema changed since.
    async fn revalidate(&mut self) -> Result<(), ServerError> {
        if self
            .decided_at
            .is_some_and(|at| at != self.keyspace.schema_generation())
        {
            (self.planned, self.decided_at) = classify(&self.keyspace, &self.statement.sql).await?;
        }
        Ok(())
    }
}

/// Whether `sql` is a write the managed planner has work for, and the schema
/// generation that says so (`None` when the schema has no say: not a write in a
/// managed keyspace).
async fn classify(ks: &Keyspace, sql: &str) -> Result<(bool, Option<u64>), ServerError> {
    if ks.mode() != FkMode::Managed || (Command::of(sql) != Command::Write && !comments::leads(sql)) {
        return Ok((false, None));
    }
    let text = ks.as_run(sql, true).await?;
    if Command::of(&text) != Command::Write {
        return Ok((false, None));
    }
    // Read before the schema the plan uses: a change in between shows next time.
    let generation = ks.schema_generation();
    let (_, analysis) = ks.plan(skip_comments(&text)).await?;
    let planned = match analysis {
        // Sharded: a passthrough may be refused (managed::run_sharded).
        Analysis::Plan(p) => !p.is_passthrough() || ks.spec.sharded,
        // Sharded: the target must be a table of the schema (managed_write).
        Analysis::Forward => ks.spec.sharded,
    };
    Ok((planned, Some(generation)))
}

pub struct Session {
    shared: Arc<Shared>,
    keyspace: Option<Arc<Keyspace>>,
    backends: HashMap<String, Backend>,
    /// The session's `foreign_key_checks`; off turns managed FK work off.
    fk_checks: bool,
    prepared: HashMap<u32, Prepared>,
    next_statement: u32,
    /// The keyspace after the login, restored by COM_RESET_CONNECTION.
    login_keyspace: Option<Arc<Keyspace>>,
    /// The client logged in with CLIENT_FOUND_ROWS.
    found_rows: bool,
    /// `@@ddl_strategy`: `online` turns ALTER TABLE into a migration.
    ddl_strategy: DdlStrategy,
    /// Temporary tables the session created through the gateway (lower case, per
    /// keyspace): a write naming one gets no FK work (InnoDB temporary tables have
    /// no FKs) and is not refused as a write to an unknown table.
    temporary: HashSet<(String, String)>,
    /// Per managed keyspace: which of its tables with FKs (or referred to) a
    /// temporary table of the session shadows, as last read from the backend.
    /// No entry: none (no statement that may create one ran since the session
    /// began or was reset).
    shadows: HashMap<String, Shadows>,
    /// The keyspace (managed, sharded) whose client transaction the gateway rolled
    /// back: every statement there is refused until the client's ROLLBACK (or
    /// COMMIT, which fails), so nothing runs in autocommit by surprise.
    aborted: Option<String>,
}

/// What the session knows of the temporary tables shadowing a keyspace's tables.
enum Shadows {
    /// A statement since the last reading may have created, renamed or dropped one.
    Unknown,
    /// Read from the backend at this schema generation: the shadowed tables.
    Known { generation: u64, tables: HashSet<String> },
}

/// The server status flag of an open transaction.
const SERVER_STATUS_IN_TRANS: u16 = 0x0001;

impl Session {
    pub fn new(shared: Arc<Shared>) -> Self {
        let keyspace = shared.default_keyspace.as_deref().and_then(|k| shared.keyspace(k));
        Session {
            shared,
            login_keyspace: keyspace.clone(),
            keyspace,
            backends: HashMap::new(),
            fk_checks: true,
            prepared: HashMap::new(),
            next_statement: 1,
            found_rows: false,
            ddl_strategy: DdlStrategy::Direct,
            temporary: HashSet::new(),
            shadows: HashMap::new(),
            aborted: None,
        }
    }

    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    fn current(&self) -> Result<Arc<Keyspace>, ServerError> {
        self.keyspace
            .clone()
            .ok_or_else(|| ServerError::new(1046, "3D000", "No database selected"))
    }

    fn backend(&mut self, ks: &Keyspace) -> &mut Backend {
        backend_in(&mut self.backends, ks, self.found_rows, self.fk_checks)
    }

    /// `USE name` / COM_INIT_DB.
    pub async fn use_keyspace(&mut self, name: &str) -> Result<(), ServerError> {
        let Some(ks) = self.shared.keyspace(name) else {
            return Err(ServerError::new(1049, "42000", format!("Unknown database '{name}'")));
        };
        self.keyspace = Some(ks);
        Ok(())
    }

    /// The login succeeded: its keyspace is the one COM_RESET_CONNECTION restores;
    /// its backend connections ask for CLIENT_FOUND_ROWS when the client did.
    pub fn logged_in(&mut self, found_rows: bool) {
        self.login_keyspace = self.keyspace.clone();
        self.found_rows = found_rows;
    }

    /// COM_RESET_CONNECTION: every backend connection rolled back and reset,
    /// prepared statements gone, `foreign_key_checks` on, the login's keyspace.
    pub async fn reset(&mut self) {
        for backend in self.backends.values_mut() {
            backend.reset().await;
        }
        self.prepared.clear();
        self.temporary.clear();
        self.shadows.clear();
        self.aborted = None;
        self.fk_checks = true;
        self.ddl_strategy = DdlStrategy::Direct;
        self.keyspace = self.login_keyspace.clone();
    }

    /// The keyspace in use, by name.
    pub fn keyspace_name(&self) -> Option<String> {
        self.keyspace.as_ref().map(|k| k.spec.name.clone())
    }

    /// Puts back the keyspace in use before a failed COM_CHANGE_USER (`None`: none).
    pub fn restore_keyspace(&mut self, name: Option<String>) {
        self.keyspace = name.and_then(|n| self.shared.keyspace(&n));
    }

    /// COM_CHANGE_USER logged a user in (after `reset`): the session goes on in
    /// `db`, or with none named in the default keyspace, as a new connection's.
    pub async fn change_user(&mut self, db: Option<&str>) -> Result<(), ServerError> {
        match db {
            Some(db) => self.use_keyspace(db).await?,
            None => {
                self.keyspace = self
                    .shared
                    .default_keyspace
                    .as_deref()
                    .and_then(|k| self.shared.keyspace(k))
            }
        }
        self.login_keyspace = self.keyspace.clone();
        Ok(())
    }

    /// A text query: answered by the gateway or forwarded, its results written to
    /// `out`. `Err` only when writing to the client fails.
    pub async fn query(&mut self, sql: &str, out: &mut Output<'_>) -> io::Result<()> {
        match self.route(sql).await {
            Route::Forward(ks) => self.backend(&ks).forward_query(sql, out).await,
            Route::Answered(replies) => {
                self.report_status(out);
                out.replies(replies).await
            }
        }
    }

    /// Passes the current backend's transaction status on to the client's next OK.
    fn report_status(&self, out: &mut Output<'_>) {
        let status = self
            .keyspace
            .as_ref()
            .and_then(|ks| self.backends.get(&ks.spec.name))
            .and_then(Backend::status);
        if let Some(s) = status {
            out.set_status(s);
        }
    }

    /// Decides what a text query is, from its [`Command`]. The common case (a
    /// statement for an unmanaged keyspace, or a read) costs a look at its first
    /// word, no parsing.
    async fn route(&mut self, sql: &str) -> Route {
        let command = Command::of(sql);
        match command {
            Command::Use(name) => {
                return Route::Answered(match self.use_keyspace(&name).await {
                    Ok(()) => vec![Reply::ok()],
                    Err(e) => vec![Reply::Error(e)],
                })
            }
            Command::ExplainFk(target) => return Route::Answered(vec![self.explain(target).await]),
            Command::ShowDatabases => {
                return Route::Answered(vec![Reply::text_rows(
                    "Database",
                    self.shared.keyspaces.keys().cloned(),
                )])
            }
            Command::Online(OnlineStatement::SetDdlStrategy(s)) => {
                self.ddl_strategy = s;
                return Route::Answered(vec![Reply::ok()]);
            }
            Command::OnlineInvalid(why) => return Route::Answered(vec![Reply::Error(ServerError::gateway(why))]),
            _ => {}
        }
        let ks = match self.current() {
            Ok(k) => k,
            Err(e) => return Route::Answered(vec![Reply::Error(e)]),
        };
        if self.aborted.as_deref() == Some(ks.spec.name.as_str()) {
            return Route::Answered(vec![self.after_abort(&ks, sql).await]);
        }
        if ks.mode() == FkMode::Managed
            && matches!(command, Command::Ddl { .. } | Command::Other)
            && managed::session_state::may_touch_temporary(sql)
        {
            self.shadows.insert(ks.spec.name.clone(), Shadows::Unknown);
        }
        match command {
            Command::Online(statement) => {
                let Some(m) = ks.migrator() else {
                    return Route::Answered(vec![Reply::Error(no_migrations(&ks))]);
                };
                let retried = match &statement {
                    OnlineStatement::AlterMigration {
                        id,
                        action: online::MigrationAction::Retry,
                    } => Some(id.clone()),
                    _ => None,
                };
                let reply = hook::answer(m, statement, &mut self.ddl_strategy).await;
                if let (Some(id), Reply::Ok(_)) = (retried, &reply) {
                    ks.follow(id);
                }
                return Route::Answered(vec![reply]);
            }
            Command::ExplainShards => {
                return Route::Answered(vec![match ks.explain_shards().await {
                    Ok(text) => Reply::text_rows("EXPLAIN FK", text.lines().map(str::to_string)),
                    Err(e) => Reply::Error(e),
                }])
            }
            Command::Rollback | Command::SetFkChecks(_) => {}
            _ if !self.in_transaction(&ks) => ks.pass_gate(sql).await,
            _ => {}
        }
        if let Err(e) = self.sharded_guard(&ks, sql, &command).await {
            return Route::Answered(vec![Reply::Error(e)]);
        }
        match command {
            Command::Rollback
                if self
                    .backends
                    .get(&ks.spec.name)
                    .is_some_and(Backend::lost_in_transaction) =>
            {
                // The backend rolled the transaction back when the connection went;
                // the client now knows, and the next statement reconnects.
                self.backend(&ks).acknowledge_lost_transaction();
                Route::Answered(vec![Reply::ok()])
            }
            Command::SetFkChecks(v) => {
                let backend = self.backend(&ks);
                let replies = backend.query(sql).await;
                if !replies.iter().any(|r| matches!(r, Reply::Error(_))) {
                    backend.set_fk_checks(v);
                    self.fk_checks = v;
                }
                Route::Answered(replies)
            }
            // mysqldump's `/*!40014 SET FOREIGN_KEY_CHECKS=0 */` and its restoring
            // `=@OLD_FOREIGN_KEY_CHECKS` are such SETs too.
            Command::SetFkChecksSomehow | Command::Other
                if command == Command::SetFkChecksSomehow
                    || (comments::leads(sql) && sql.to_ascii_lowercase().contains("foreign_key_checks")) =>
            {
                let backend = self.backend(&ks);
                let replies = backend.query(sql).await;
                // The planner must know what the backend does: planning cascades
                // with its checks off would run them where MariaDB runs none.
                let now = backend.read("SELECT @@SESSION.foreign_key_checks").await;
                if let Some(v) = now
                    .ok()
                    .and_then(|rows| rows.rows.first()?.first().map(|v| v.text() != "0"))
                {
                    backend.set_fk_checks(v);
                    self.fk_checks = v;
                }
                Route::Answered(replies)
            }
            Command::Ddl { may_create_fk } => Route::Answered(self.ddl(&ks, sql, may_create_fk).await),
            // A statement in an executable comment may be a write the server runs.
            Command::Write | Command::Other
                if ks.mode() == FkMode::Managed
                    && self.fk_checks
                    && (command == Command::Write || comments::leads(sql)) =>
            {
                match self.managed_write(&ks, sql).await {
                    Some(replies) => Route::Answered(replies),
                    None => Route::Forward(ks),
                }
            }
            Command::Other if ks.mode() == FkMode::Managed && self.fk_checks && !ks.spec.sharded => {
                match self.load_replace_refusal(&ks, sql).await {
                    Some(e) => Route::Answered(vec![Reply::Error(e)]),
                    None => Route::Forward(ks),
                }
            }
            _ => Route::Forward(ks),
        }
    }

    /// `LOAD DATA ... REPLACE` into a table FKs refer to, in a managed keyspace:
    /// InnoDB would delete the rows it replaces and cascade to their children, out
    /// of the planner's sight (a sharded keyspace's guard refuses every LOAD DATA).
    async fn load_replace_refusal(&self, ks: &Keyspace, sql: &str) -> Option<ServerError> {
        let table = crate::route::load_data_replace_target(skip_comments(sql))?;
        let schema = match ks.schema().await {
            Ok(s) => s,
            Err(e) => return Some(e),
        };
        let parent = schema.tables.iter().any(|t| {
            t.foreign_keys
                .iter()
                .any(|f| f.referenced_table.eq_ignore_ascii_case(&table))
        });
        parent.then(|| managed::load_replace_refusal(&ks.spec.name, &table))
    }

    async fn ddl(&mut self, ks: &Arc<Keyspace>, sql: &str, may_create_fk: bool) -> Vec<Reply> {
        if ks.mode() == FkMode::Disallow && may_create_fk {
            if let Some(fk) = ddl::created_foreign_key(sql) {
                return vec![Reply::Error(ddl::disallowed(&ks.spec.name, &fk))];
            }
        }
        if self.ddl_strategy == DdlStrategy::Online && online::is_alter_table(sql) {
            let Some(m) = ks.migrator() else {
                return vec![Reply::Error(no_migrations(ks))];
            };
            let reply = hook::submit(m, sql).await;
            if let Reply::Rows { rows, .. } = &reply {
                if let Some(Value::Bytes(id)) = rows.first().and_then(|r| r.first()) {
                    ks.follow(String::from_utf8_lossy(id).into_owned());
                }
            }
            return vec![reply];
        }
        let replies = self.backend(ks).query(sql).await;
        if !replies.iter().any(|r| matches!(r, Reply::Error(_))) {
            for piece in guard::statements(sql) {
                let name = &ks.spec.name;
                if let Some(t) = guard::temporary_created(&piece) {
                    self.temporary.insert((name.clone(), t));
                }
                for t in guard::tables_dropped(&piece) {
                    self.temporary.remove(&(name.clone(), t));
                }
            }
            ks.after_ddl().await;
        }
        replies
    }

    /// A statement after the gateway rolled the client's transaction back: ROLLBACK
    /// ends the state, COMMIT too but fails, anything else is refused.
    async fn after_abort(&mut self, ks: &Keyspace, sql: &str) -> Reply {
        let pieces = guard::statements(sql);
        let words: Vec<String> = match pieces.as_slice() {
            [one] => one.split_whitespace().map(str::to_ascii_lowercase).collect(),
            _ => Vec::new(),
        };
        let alone = |w: &str| {
            words.len() <= 2 && words.first().is_some_and(|x| x == w) && words.get(1).is_none_or(|x| x == "work")
        };
        if alone("rollback") {
            self.aborted = None;
            return Reply::ok();
        }
        let name = &ks.spec.name;
        if alone("commit") {
            self.aborted = None;
            return Reply::Error(ServerError::gateway(format!(
                "tether gateway: COMMIT failed: the transaction was rolled back when a statement of it failed \
                 after the gateway had written part of it (keyspace `{name}` is sharded and has no savepoints); \
                 nothing of it was committed"
            )));
        }
        Reply::Error(ServerError::gateway(format!(
            "tether gateway: the transaction was rolled back when a statement of it failed (keyspace `{name}` is \
             sharded and has no savepoints): this statement was not run; send ROLLBACK"
        )))
    }

    /// In a managed sharded keyspace (checks on), `Err` for a query the gateway
    /// neither plans nor knows to be a read or a session statement (the head
    /// enforces nothing): every statement of it is looked at (docs/sharding.md).
    async fn sharded_guard(&self, ks: &Keyspace, sql: &str, command: &Command<'_>) -> Result<(), ServerError> {
        if !(ks.spec.sharded && ks.mode() == FkMode::Managed && self.fk_checks) {
            return Ok(());
        }
        if matches!(
            command,
            Command::Use(_) | Command::ExplainFk(_) | Command::ExplainShards | Command::ShowDatabases
        ) {
            return Ok(());
        }
        let pieces = guard::statements(sql);
        let refuse = |form: &str| Err(managed::refusal(&ks.spec.name, form));
        let mut checks_off = false;
        for piece in &pieces {
            // `SET foreign_key_checks = 0; DELETE ...` (sync's emptying of tables):
            // what follows runs with checks off, the client's responsibility as for
            // separate statements, until a `= 1` in the same query.
            if let Some(on) = crate::route::foreign_key_checks_value(piece) {
                checks_off = !on;
                continue;
            }
            if checks_off {
                continue;
            }
            match guard::kind(piece) {
                Kind::Read => {}
                Kind::Write if pieces.len() > 1 => return refuse("a query of several statements with a write"),
                Kind::Write if *command != Command::Write => return refuse("a write hidden in an executable comment"),
                Kind::Write => {}
                Kind::Ddl => {
                    let schema = ks.schema().await?;
                    let tables: Vec<String> = schema.tables.iter().map(|t| t.name.clone()).collect();
                    let fk_tables: Vec<String> = schema
                        .tables
                        .iter()
                        .filter(|t| {
                            !t.foreign_keys.is_empty()
                                || schema.tables.iter().any(|c| {
                                    c.foreign_keys
                                        .iter()
                                        .any(|f| f.referenced_table.eq_ignore_ascii_case(&t.name))
                                })
                        })
                        .map(|t| t.name.clone())
                        .collect();
                    if let Some(form) = guard::ddl_refusal(piece, &fk_tables, &tables) {
                        return refuse(&form);
                    }
                }
                Kind::Refused(form) => return refuse(&form),
            }
        }
        Ok(())
    }

    /// True when every table a write names (its target) is a temporary table of
    /// the session in `ks`: one the backend says shadows a table with FKs (in
    /// `shadowed`), or one the session created through the gateway whose name no
    /// table with FKs has (in `fk`: for those only the backend's word counts, a
    /// name seen in CREATE TEMPORARY may since have been renamed or dropped).
    fn names_temporary(&self, ks: &Keyspace, sql: &str, fk: &HashSet<String>, shadowed: &HashSet<String>) -> bool {
        (!self.temporary.is_empty() || !shadowed.is_empty())
            && managed::write_targets(sql).is_some_and(|targets| {
                !targets.is_empty()
                    && targets.iter().all(|t| {
                        let t = t.to_lowercase();
                        shadowed.contains(&t)
                            || (!fk.contains(&t) && self.temporary.contains(&(ks.spec.name.clone(), t)))
                    })
            })
    }

    /// The tables with FKs (or referred to) of `ks`, and those of them a
    /// temporary table of the session shadows: read from the backend when a
    /// statement since the last reading may have changed them (one query of
    /// `SHOW CREATE TABLE`s), else as known.
    async fn shadowed(&mut self, ks: &Keyspace) -> Result<(HashSet<String>, HashSet<String>), ServerError> {
        let generation = ks.schema_generation();
        let fk = managed::session_state::fk_tables(&*ks.schema().await?);
        match self.shadows.get(&ks.spec.name) {
            None => return Ok((fk, HashSet::new())),
            Some(Shadows::Known { generation: g, tables }) if *g == generation => return Ok((fk, tables.clone())),
            _ => {}
        }
        match managed::session_state::shadowed(self.backend(ks), &fk).await {
            Ok(tables) => {
                self.shadows.insert(
                    ks.spec.name.clone(),
                    Shadows::Known {
                        generation,
                        tables: tables.clone(),
                    },
                );
                Ok((fk, tables))
            }
            // Not kept: read again next time.
            Err(tables) => Ok((fk, tables)),
        }
    }

    fn in_transaction(&self, ks: &Keyspace) -> bool {
        in_transaction(&self.backends, ks)
    }

    /// A write in a managed keyspace: the plan's replies, or `None` when the
    /// planner has nothing to do (forward it unchanged). Planned, and run, as the
    /// backend reads it: executable comments resolved for its version.
    async fn managed_write(&mut self, ks: &Arc<Keyspace>, sql: &str) -> Option<Vec<Reply>> {
        let backslash_escapes = !self.backend(ks).no_backslash_escapes();
        let text = match ks.as_run(sql, backslash_escapes).await {
            Ok(text) => text,
            Err(e) => return Some(vec![Reply::Error(e)]),
        };
        if Command::of(&text) != Command::Write {
            // An executable comment that does not run, or holds no write.
            return None;
        }
        let sql = skip_comments(&text);
        let stripped = match ks.spec.sharded {
            true => guard::without_modifiers(sql),
            false => sql.into(),
        };
        let sql: &str = &stripped;
        let (fk, shadowed) = match self.shadowed(ks).await {
            Ok(s) => s,
            Err(e) => return Some(vec![Reply::Error(e)]),
        };
        if self.names_temporary(ks, sql, &fk, &shadowed) {
            // A session's temporary table shadows the keyspace's table of that
            // name: it has no FKs (InnoDB temporary tables have none).
            return None;
        }
        let planned = ks.plan(sql).await;
        // A text the parser cannot read under escapes may be one the server reads
        // without them: refused with the reason too.
        let needs_work = match &planned {
            Ok((_, Analysis::Plan(plan))) => ks.spec.sharded || !plan.is_passthrough(),
            Ok(_) => false,
            Err(_) => true,
        };
        if needs_work && self.backend(ks).no_backslash_escapes() {
            return Some(vec![Reply::Error(managed::no_backslash_escapes(&ks.spec.name))]);
        }
        if needs_work && planned.is_ok() {
            // Under state the plan cannot follow, InnoDB runs the write (exact rows
            // and errors; its cascades are not statements of their own), or, with
            // no InnoDB of the keyspace's behind a sharded head, it is refused.
            let why = match shadowed.iter().min() {
                Some(t) => Some(format!("a temporary table of the session shadows `{t}`")),
                None => match managed::session_state::mode_conflict(self.backend(ks), sql).await {
                    Ok(why) => why,
                    Err(e) => return Some(vec![Reply::Error(e)]),
                },
            };
            if let Some(why) = why {
                if ks.spec.sharded {
                    return Some(vec![Reply::Error(managed::session_state::refusal(&ks.spec.name, &why))]);
                }
                tracing::debug!("keyspace {}: runs as InnoDB runs it: {why}", ks.spec.name);
                return None;
            }
        }
        if let (true, Ok((schema, _))) = (ks.spec.sharded, &planned) {
            if let Some(e) = managed::unknown_target(sql, schema, &ks.spec.name) {
                return Some(vec![Reply::Error(e)]);
            }
        }
        match planned {
            Ok((schema, Analysis::Plan(plan))) if ks.spec.sharded => {
                let mut rolled_back = false;
                let replies =
                    managed::run_sharded(&plan, &schema, &ks.spec.name, self.backend(ks), &mut rolled_back).await;
                if rolled_back {
                    self.aborted = Some(ks.spec.name.clone());
                }
                replies
            }
            Ok((schema, Analysis::Plan(plan))) if !plan.is_passthrough() => {
                Some(managed::run(&plan, &schema, &ks.spec.name, self.backend(ks)).await)
            }
            Ok(_) => None,
            Err(e) => Some(vec![Reply::Error(e)]),
        }
    }

    /// `EXPLAIN FK statement`: the plan, one line per row, without running it.
    pub async fn explain(&mut self, sql: &str) -> Reply {
        let ks = match self.current() {
            Ok(k) => k,
            Err(e) => return Reply::Error(e),
        };
        match ks.explain(sql).await {
            Ok(text) => Reply::text_rows("plan", text.lines().map(str::to_string)),
            Err(e) => Reply::Error(e),
        }
    }

    pub async fn prepare(&mut self, sql: &str) -> Result<PreparedInfo, ServerError> {
        let ks = self.current()?;
        self.sharded_guard(&ks, sql, &Command::of(sql)).await?;
        let (planned, decided_at) = classify(&ks, sql).await?;
        let statement = self.backend(&ks).prepare(sql).await?;
        let id = self.next_statement;
        self.next_statement = self.next_statement.wrapping_add(1).max(1);
        let info = PreparedInfo {
            id,
            params: statement.params.clone(),
            columns: statement.columns.clone(),
        };
        let touches_temporary = ks.mode() == FkMode::Managed
            && Command::of(sql) != Command::Write
            && managed::session_state::may_touch_temporary(sql);
        self.prepared.insert(
            id,
            Prepared {
                keyspace: ks,
                statement,
                planned,
                decided_at,
                touches_temporary,
            },
        );
        Ok(info)
    }

    /// Executes a prepared statement, its results written to `out`. The common
    /// case (no FK work: a read, an unmanaged keyspace, a write the planner has
    /// nothing for) costs a map lookup and an atomic read before the forwarding.
    pub async fn execute(&mut self, id: u32, params: &Params<'_>, out: &mut Output<'_>) -> io::Result<()> {
        let Some(p) = self.prepared.get_mut(&id) else {
            out.error(&ServerError::new(
                1243,
                "HY000",
                format!("Unknown prepared statement handler ({id}) given to mysqld_stmt_execute"),
            ));
            return Ok(());
        };
        if let Err(e) = p.revalidate().await {
            out.error(&e);
            return Ok(());
        }
        let ks = &p.keyspace;
        if p.touches_temporary {
            self.shadows.insert(ks.spec.name.clone(), Shadows::Unknown);
        }
        let guarded = ks.spec.sharded && ks.mode() == FkMode::Managed && self.fk_checks;
        if guarded || (p.planned && self.fk_checks) {
            return self.execute_managed(id, params, out).await;
        }
        let in_transaction = in_transaction(&self.backends, ks);
        if !in_transaction {
            ks.pass_gate(&p.statement.sql).await;
        }
        backend_in(&mut self.backends, ks, self.found_rows, self.fk_checks)
            .forward_execute(&mut p.statement, params, out)
            .await
    }

    /// Executes a prepared statement the session has work for: the sharded guard,
    /// and a planned write run as text with its parameters inlined.
    async fn execute_managed(&mut self, id: u32, params: &Params<'_>, out: &mut Output<'_>) -> io::Result<()> {
        let Some(p) = self.prepared.get(&id) else {
            return Ok(());
        };
        let (ks, sql, planned) = (p.keyspace.clone(), p.statement.sql.clone(), p.planned);
        if !self.in_transaction(&ks) {
            ks.pass_gate(&sql).await;
        }
        if let Err(e) = self.sharded_guard(&ks, &sql, &Command::of(&sql)).await {
            out.error(&e);
            return Ok(());
        }
        if planned && self.fk_checks {
            let text = params.values().and_then(|values| managed::inline_params(&sql, &values));
            let Some(text) = text else {
                out.error(&ServerError::new(
                    1210,
                    "HY000",
                    "Incorrect arguments to mysqld_stmt_execute",
                ));
                return Ok(());
            };
            if let Some(replies) = self.managed_write(&ks, &text).await {
                if let Some(s) = self.backends.get(&ks.spec.name).and_then(Backend::status) {
                    out.set_status(s);
                }
                return out.replies(replies).await;
            }
        }
        let Some(p) = self.prepared.get_mut(&id) else {
            return Ok(());
        };
        backend_in(&mut self.backends, &ks, self.found_rows, self.fk_checks)
            .forward_execute(&mut p.statement, params, out)
            .await
    }

    pub async fn close(&mut self, id: u32) {
        if let Some(p) = self.prepared.remove(&id) {
            self.backend(&p.keyspace).close_statement(p.statement).await;
        }
    }
}

/// The session's backend connection of `ks` (opened on first use); a free function
/// so callers may hold other fields of the session meanwhile.
fn backend_in<'b>(
    backends: &'b mut HashMap<String, Backend>,
    ks: &Keyspace,
    found_rows: bool,
    fk_checks: bool,
) -> &'b mut Backend {
    // Looked up before inserting: no key allocation per statement.
    if !backends.contains_key(&ks.spec.name) {
        let mut b = Backend::new(ks.spec.url.clone(), found_rows);
        b.set_fk_checks(fk_checks);
        backends.insert(ks.spec.name.clone(), b);
    }
    backends.get_mut(&ks.spec.name).expect("the backend was inserted above")
}

/// True while the session's backend connection of `ks` is inside a transaction
/// (it must not wait for a cut-over: the cut-over waits for it).
fn in_transaction(backends: &HashMap<String, Backend>, ks: &Keyspace) -> bool {
    backends
        .get(&ks.spec.name)
        .and_then(Backend::status)
        .is_some_and(|s| s & SERVER_STATUS_IN_TRANS != 0)
}
