//! Cut-over: hold the gateway's new statements on the tables involved
//! ([`CutoverGate`], a bounded wait), swap every migrated table with its shadow in one
//! `RENAME TABLE` (it waits for in-flight transactions on them: their metadata locks),
//! then, with `foreign_key_checks = 0` and metadata-only ALTERs: drop the old tables'
//! FKs (constraint names are unique per database), give the new tables their FKs under
//! the original names, re-point the FKs of other tables at the new tables, release;
//! then drop the capture triggers (they went with the old tables), give children's
//! generated keys their names back, and count orphans of every affected FK.
//!
//! Under the gate, just before the RENAME and once more right after it, the new
//! tables' rows are checked again (a clash the capture triggers recorded, orphans
//! under an FK the ALTER adds): writes go on until the gate closes, and a transaction
//! open before it may write until the RENAME gets its locks. A failure before the
//! RENAME fails the migration with nothing swapped; after it, the swap is undone.
//!
//! Before the RENAME the children's metadata locks are taken and released once
//! (`LOCK TABLES ... WRITE`): a transaction keeping a child open fails the attempt
//! while nothing is swapped. A step after the RENAME that fails all the same (a
//! transaction that opened a child since, or any error) is undone before the
//! release: the tables are renamed back and every FK is given back to the originals,
//! so nothing is left pointing at `_t_old_<id>`; the migration then fails with the
//! server's error. If the swap back fails too, the tables stay swapped and the
//! migration `ready`: a resumed migrator finishes the FK steps forward
//! ([`finish_after_swap`]), or, when the RENAME back was done, [`restore_originals`]
//! completes it before a new cut-over.
//!
//! Why not `LOCK TABLES`: MariaDB refuses `RENAME TABLE` under it, and after
//! `ALTER TABLE .. RENAME` under it the new name is not locked, so the FK steps could
//! not follow. Between the RENAME and the last re-pointed FK (milliseconds) a write
//! that bypasses the gateway (another gateway's too: the hold is this one's) is not
//! checked against the new FKs; the gateway's own statements are held, every write
//! of them in that phase ([`CutoverGate::past_rename`]). The orphan count after the
//! release waits for transactions still open that changed rows before it
//! ([`in_flight_writers`]), then reads with locks if any is left.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::capture;
use super::db::{lit, q, Db};
use super::plan::{FkDef, Plan};
use super::shadow::{check_added_fk_rows, constraint_sql, ibfk_number, read_fks, NewTables};
use super::{recheck, store};
use super::{OnlineError, Settings};

/// Where sessions ask before running a statement on a table: during a cut-over its
/// tables are held, and a statement waits until they are released (at most the given
/// bound, then it runs anyway and meets the backend's own metadata locks).
#[derive(Clone, Default)]
pub struct CutoverGate {
    inner: Arc<GateInner>,
}

#[derive(Default)]
struct GateInner {
    /// Held table names, one entry per hold (a table can be in two).
    held: Mutex<Vec<String>>,
    /// When each hold began, one entry per hold, as `held` (table, start): a
    /// transaction that opened a table before every hold on it began is one the
    /// RENAME waits for ([`CutoverGate::held_since`]).
    since: Mutex<Vec<(String, Instant)>>,
    /// Of those, the ones held by a refusing hold ([`CutoverGate::hold_refusing`]),
    /// one entry per hold, with the reason a statement that cannot wait is refused.
    refusing: Mutex<Vec<(String, String)>>,
    /// The migration of each hold (one entry per hold): named when a statement the
    /// gateway cannot see into is refused while a hold is on.
    owners: Mutex<Vec<String>>,
    /// Tables of holds whose RENAME is done (one entry per such hold's table): from
    /// then until the release no transaction can still hold a metadata lock it took
    /// on them before the hold (the RENAME waited for every one), so no write needs
    /// to pass unwaited; any write that did would meet the new tables while the
    /// children's FKs still point at the old ones (review r25d).
    renamed: Mutex<Vec<String>>,
    released: Notify,
    /// Counts the cut-overs that swapped tables (or swapped them back): moved while
    /// the statements are still held, so a keyspace's schema read before is known to
    /// be stale before any held statement plans on it (review r13b finding 5).
    swaps: std::sync::atomic::AtomicU64,
    /// The server's query cache may answer a SELECT (read right before the last
    /// hold began, [`query_cache_on`]): a SELECT it answers opens no table and takes
    /// no metadata lock, so it does not make the RENAME wait for its transaction
    /// (review r26c F2).
    query_cache: std::sync::atomic::AtomicBool,
    /// Run when a cut-over's hold has begun, before its RENAME
    /// ([`CutoverGate::on_hold`]).
    on_hold: Mutex<Option<OnHold>>,
}

/// What a keyspace does when a hold of its gate begins: its schema read again, so
/// the gate judges the held statements on views and triggers created on the server
/// out of the gateway's sight (review r27b).
pub type OnHold = Arc<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send + Sync>;

/// The longest a cut-over waits for [`OnHold`] (then it goes on).
const ON_HOLD_WAIT: Duration = Duration::from_secs(5);

impl CutoverGate {
    /// Sets what runs when a hold begins (before the RENAME: the schema may be read).
    pub fn on_hold(&self, hook: OnHold) {
        *self.inner.on_hold.lock().unwrap_or_else(|p| p.into_inner()) = Some(hook);
    }

    /// Runs the [`OnHold`] set, if any, at most [`ON_HOLD_WAIT`].
    async fn begun(&self) {
        let hook = self.inner.on_hold.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(hook) = hook {
            if tokio::time::timeout(ON_HOLD_WAIT, hook()).await.is_err() {
                tracing::warn!(
                    "the schema was not read again within {} s of a hold",
                    ON_HOLD_WAIT.as_secs()
                );
            }
        }
    }

    pub fn new() -> CutoverGate {
        CutoverGate::default()
    }

    /// How many cut-overs changed the tables so far (see [`GateInner::swaps`]).
    pub fn swaps(&self) -> u64 {
        self.inner.swaps.load(std::sync::atomic::Ordering::Acquire)
    }

    /// True when the server's query cache may answer a SELECT (as read before the
    /// last hold began): a SELECT that may have been answered from it does not count
    /// as having opened its tables ([`GateInner::query_cache`]).
    pub fn query_cache_may_answer(&self) -> bool {
        self.inner.query_cache.load(std::sync::atomic::Ordering::Acquire)
    }

    /// What the server said of its query cache, read before a hold.
    pub(crate) fn set_query_cache(&self, on: bool) {
        self.inner.query_cache.store(on, std::sync::atomic::Ordering::Release);
    }

    /// The tables changed: a schema read before is stale.
    pub(crate) fn swapped(&self) {
        self.inner.swaps.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// A migration read the keyspace's schema afresh and is about to capture tables
    /// of it: a schema the keyspace read before is not to be planned on any more (it
    /// may lack tables or FKs created on the backend since; review r21f F3). Moves the
    /// same count as a swap.
    pub(crate) fn schema_changed(&self) {
        self.swapped();
    }

    /// True while `table` is under cut-over.
    pub fn is_held(&self, table: &str) -> bool {
        self.held().iter().any(|t| t == table)
    }

    /// The tables held now (empty, without allocating, when none is).
    pub fn held_tables(&self) -> Vec<String> {
        self.held()
    }

    /// When the earliest hold on `table` still on began (`None`: not held). A
    /// transaction whose statement on `table` ended before then holds its metadata
    /// lock on the table the RENAME swaps, so the RENAME waits for it.
    pub fn held_since(&self, table: &str) -> Option<Instant> {
        let since = self.inner.since.lock().unwrap_or_else(|p| p.into_inner());
        since.iter().filter(|(t, _)| t == table).map(|(_, at)| *at).min()
    }

    /// True while a hold on `table` is past its RENAME (see [`GateInner::renamed`]):
    /// every write reaching it waits, inside a transaction too.
    pub fn past_rename(&self, table: &str) -> bool {
        let renamed = self.inner.renamed.lock().unwrap_or_else(|p| p.into_inner());
        renamed.iter().any(|t| t == table)
    }

    fn held(&self) -> Vec<String> {
        match self.inner.held.lock() {
            Ok(h) => h.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Waits while any of `tables` is held, at most `max_wait`; returns how long it
    /// waited. A session inside a transaction should not wait (its transaction is one of
    /// those the cut-over waits for): it calls this only outside transactions.
    pub async fn pass(&self, tables: &[&str], max_wait: Duration) -> Duration {
        let start = Instant::now();
        loop {
            let released = self.inner.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            let held = self.held();
            if !tables.iter().any(|t| held.iter().any(|h| h == t)) {
                return start.elapsed();
            }
            let Some(left) = max_wait.checked_sub(start.elapsed()) else {
                return start.elapsed();
            };
            if tokio::time::timeout(left, released).await.is_err() {
                return start.elapsed();
            }
        }
    }

    /// The migrations holding tables now, each once, in the order they took their holds.
    pub fn owners(&self) -> Vec<String> {
        let mut owners = self.inner.owners.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut seen = std::collections::HashSet::new();
        owners.retain(|o| !o.is_empty() && seen.insert(o.clone()));
        owners
    }

    /// Holds `tables` until the returned guard is dropped (for no migration by name).
    pub fn hold(&self, tables: Vec<String>) -> Hold {
        self.hold_by("", tables)
    }

    /// Holds `tables` for migration `owner` until the returned guard is dropped.
    pub fn hold_by(&self, owner: &str, tables: Vec<String>) -> Hold {
        self.inner
            .owners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(owner.to_string());
        let now = Instant::now();
        {
            let mut since = self.inner.since.lock().unwrap_or_else(|p| p.into_inner());
            since.extend(tables.iter().map(|t| (t.clone(), now)));
        }
        match self.inner.held.lock() {
            Ok(mut h) => h.extend(tables.iter().cloned()),
            Err(poisoned) => poisoned.into_inner().extend(tables.iter().cloned()),
        }
        Hold {
            gate: self.clone(),
            owner: owner.to_string(),
            tables,
            since: now,
            refusing: false,
            renamed: false,
        }
    }

    /// Holds `tables` as [`hold`](Self::hold) does, and a statement on them that cannot
    /// wait (inside a transaction) or waited its bound is refused (`reason`) rather than
    /// run: the tables are not what the schema says (a cut-over resumed after its
    /// RENAME: no FK there yet), so no statement may run on them until released.
    pub fn hold_refusing(&self, owner: &str, tables: Vec<String>, reason: &str) -> Hold {
        {
            let mut r = self.inner.refusing.lock().unwrap_or_else(|p| p.into_inner());
            r.extend(tables.iter().map(|t| (t.clone(), reason.to_string())));
        }
        let mut hold = self.hold_by(owner, tables);
        hold.refusing = true;
        hold
    }

    /// Why a statement on `tables` is refused now: one of them is under a refusing
    /// hold (`None` when none is).
    pub fn refusal(&self, tables: &[&str]) -> Option<(String, String)> {
        let r = self.inner.refusing.lock().unwrap_or_else(|p| p.into_inner());
        if r.is_empty() {
            return None;
        }
        r.iter().find(|(t, _)| tables.iter().any(|n| n == t)).cloned()
    }
}

/// Tables held at cut-over; released when dropped.
pub struct Hold {
    gate: CutoverGate,
    owner: String,
    tables: Vec<String>,
    /// When it began.
    since: Instant,
    refusing: bool,
    /// Its RENAME is done ([`Hold::renamed`]).
    renamed: bool,
}

impl Hold {
    /// The cut-over's RENAME is done: until the release, every write reaching the
    /// held tables waits ([`CutoverGate::past_rename`]).
    pub fn renamed(&mut self) {
        if self.renamed {
            return;
        }
        self.renamed = true;
        let mut r = self.gate.inner.renamed.lock().unwrap_or_else(|p| p.into_inner());
        r.extend(self.tables.iter().cloned());
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        // The refusal goes first: a statement that sees the table released never meets
        // a refusal left behind.
        if self.renamed {
            let mut r = self.gate.inner.renamed.lock().unwrap_or_else(|p| p.into_inner());
            for t in &self.tables {
                if let Some(i) = r.iter().position(|h| h == t) {
                    r.swap_remove(i);
                }
            }
        }
        if self.refusing {
            let mut r = self.gate.inner.refusing.lock().unwrap_or_else(|p| p.into_inner());
            for t in &self.tables {
                if let Some(i) = r.iter().position(|(h, _)| h == t) {
                    r.swap_remove(i);
                }
            }
        }
        let mut held = match self.gate.inner.held.lock() {
            Ok(h) => h,
            Err(poisoned) => poisoned.into_inner(),
        };
        for t in &self.tables {
            if let Some(i) = held.iter().position(|h| h == t) {
                held.swap_remove(i);
            }
        }
        drop(held);
        {
            let mut since = self.gate.inner.since.lock().unwrap_or_else(|p| p.into_inner());
            for t in &self.tables {
                if let Some(i) = since.iter().position(|(h, at)| h == t && *at == self.since) {
                    since.swap_remove(i);
                }
            }
        }
        {
            let mut owners = self.gate.inner.owners.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(i) = owners.iter().position(|o| *o == self.owner) {
                owners.remove(i);
            }
        }
        self.gate.inner.released.notify_waiters();
    }
}

/// What a cut-over measured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CutoverStats {
    /// How long the gate held statements.
    pub held: Duration,
    /// The RENAME, including its wait for in-flight transactions.
    pub rename: Duration,
    /// Dropping, adding and re-pointing FKs after the swap.
    pub foreign_keys: Duration,
    /// Orphans found per FK afterwards (only FKs with orphans).
    pub orphans: Vec<(String, u64)>,
    /// FKs whose orphans could not be counted because transactions open since before
    /// the FKs were back in place still held rows of them (after a bounded wait):
    /// rows they wrote were not checked, so the migration cannot say it is complete.
    pub unverified: Vec<String>,
    /// Steps after the release that failed (the swap is done and every FK in place):
    /// a capture trigger left on an old table, a key name not given back.
    pub warnings: Vec<String>,
}

/// A failed cut-over. `swapped`: the tables are (still) swapped, the FK steps
/// unfinished (a resumed migrator finishes them); otherwise the originals are as they
/// were, and `swapped_back` says whether they had been swapped and were put back.
pub struct CutoverFailure {
    pub swapped: bool,
    pub swapped_back: bool,
    pub error: OnlineError,
    /// Left swapped without every FK: the refusing hold taken before the cut-over's
    /// own was let go, for the runner to park until a resume finishes the FK steps
    /// (review r24h F3).
    pub parked: Option<Hold>,
}

/// How often a swap back is tried before the tables are left swapped (resumable).
const SWAP_BACK_ATTEMPTS: u32 = 3;

/// Whether the server's query cache may answer a SELECT: `query_cache_size` above
/// 0 and `query_cache_type` not OFF globally (a session cannot turn it on when it
/// is globally off: MariaDB's 1651). A server without the variables (MySQL 8) has
/// none; any other error counts as "may" (a SELECT then counts as opening nothing).
async fn query_cache_on(db: &mut Db) -> bool {
    match db
        .texts("SELECT @@GLOBAL.query_cache_size, @@GLOBAL.query_cache_type")
        .await
    {
        Ok(rows) => {
            let row = rows.first();
            let value = |i: usize| row.and_then(|r| r.get(i).cloned().flatten()).unwrap_or_default();
            let size: u64 = value(0).parse().unwrap_or(1);
            let kind = value(1);
            size > 0 && !(kind.eq_ignore_ascii_case("OFF") || kind == "0")
        }
        Err(OnlineError::Backend { code: 1193, .. }) => false,
        Err(_) => true,
    }
}

/// Runs the cut-over of a prepared plan whose copy is done.
pub async fn cut_over(
    db: &mut Db,
    database: &str,
    plan: &Plan,
    settings: &Settings,
    gate: &CutoverGate,
) -> Result<CutoverStats, CutoverFailure> {
    let before = |error| CutoverFailure {
        swapped: false,
        swapped_back: false,
        error,
        parked: None,
    };
    db.checks_off().await.map_err(before)?;
    let secs = settings.cutover_lock_timeout.as_secs().max(1);
    db.run(&format!("SET SESSION lock_wait_timeout = {secs}"))
        .await
        .map_err(before)?;

    let by_child = children_of(plan);
    // The children's keys before: adding an FK renames a key InnoDB generated for an
    // unnamed FK (`customer_id`) after the constraint; the name is given back.
    let mut child_keys = BTreeMap::new();
    for child in by_child.keys() {
        child_keys.insert(child.to_string(), keys(db, child).await.map_err(before)?);
    }
    // The migrated tables' own keys too, given back after a swap back (re-adding their
    // FKs renames keys InnoDB generated for unnamed ones); not after a swap (the new
    // definition has its own).
    let mut own_keys = child_keys.clone();
    for t in &plan.tables {
        own_keys.insert(t.table.clone(), keys(db, &t.table).await.map_err(before)?);
    }

    // The next AUTO_INCREMENT value goes with the table (a shadow counts from its
    // highest row, the original may be past it: deleted or rolled-back rows), unless
    // the shadow's is higher (an ALTER's `AUTO_INCREMENT = N` wins, as natively).
    for t in &plan.tables {
        let sql = |table: &str| {
            format!(
                "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {}",
                lit(database),
                lit(table)
            )
        };
        let original = db.count(&sql(&t.table)).await.map_err(before)?;
        let shadow = db.count(&sql(&t.shadow)).await.map_err(before)?;
        if let Some(next) = original.filter(|o| shadow.is_none_or(|s| s < *o)) {
            db.run(&format!("ALTER TABLE {} AUTO_INCREMENT = {next}", q(&t.shadow)))
                .await
                .map_err(before)?;
        } else if original.is_none()
            && shadow.is_some()
            && !t.shadow_alter.as_deref().is_some_and(super::plan::sets_auto_increment)
        {
            // The ALTER made a column AUTO_INCREMENT: the copy's bulk INSERT reserved
            // values in batches, the native ALTER counts on from the highest row
            // (review r13b finding 6). `= 1` sets the counter to that row's value + 1.
            db.run(&format!("ALTER TABLE {} AUTO_INCREMENT = 1", q(&t.shadow)))
                .await
                .map_err(before)?;
        }
    }

    if settings.probe_children && !by_child.is_empty() {
        probe(db, &by_child).await.map_err(before)?;
    }

    gate.set_query_cache(query_cache_on(db).await);
    let mut hold = gate.hold_by(&plan.id, plan.gated_tables());
    let start = Instant::now();
    // The keyspace reads its schema again under the hold, before the RENAME: a view
    // or trigger created on the server since its last read is then judged (r27b).
    gate.begun().await;
    // The lock may have gone with a connection killed and never reopened (no step runs
    // on another): checked right before the RENAME all the same.
    if !store::owns(db, &plan.id).await.map_err(before)? {
        return Err(before(OnlineError::OwnershipLost { id: plan.id.clone() }));
    }
    // Under the gate: the tables' definitions and triggers as the plan assumed, and
    // the children (of this database) as read just before.
    recheck::unchanged(db, database, plan).await.map_err(before)?;
    if !recheck::same_children(db, database, plan).await.map_err(before)? {
        return Err(before(OnlineError::ChildrenChanged {
            table: plan.root.clone(),
        }));
    }
    // Under the gate, just before the RENAME (review r21f F1/F2): the checks of the
    // new tables' rows, made once after the copy, again. Writes the gateway let through
    // since (while the children were probed, between attempts) may have clashed with a
    // unique key the ALTER adds (recorded by the capture trigger, the row missing from
    // the shadow) or left orphans under an FK it adds: the migration fails, as the
    // native ALTER does, never a swap without the row.
    new_rows_hold(db, plan, NewTables::Shadows).await.map_err(before)?;
    let pairs: Vec<String> = plan
        .tables
        .iter()
        .map(|t| format!("{} TO {}, {} TO {}", q(&t.table), q(&t.old), q(&t.shadow), q(&t.table)))
        .collect();
    db.run(&format!("RENAME TABLE {}", pairs.join(", ")))
        .await
        .map_err(before)?;
    // The RENAME waited for every transaction holding a metadata lock on the tables
    // (one a transaction's write that passed the gate before needed): from here to
    // the release no write passes the gate unwaited (review r25d). Not before the
    // RENAME: a transaction it waits for must still write without waiting.
    hold.renamed();
    let rename = start.elapsed();

    let fk_start = Instant::now();
    // A transaction open before the gate closed (a gateway session inside one is not
    // held) may have written between the checks above and the RENAME, which waited for
    // its commit: read once more, now that nothing reaches the capture triggers any
    // more (they went with the old tables). A failure swaps back.
    let after_swap = match new_rows_hold(db, plan, NewTables::Swapped).await {
        Ok(()) => foreign_keys_after_swap(db, plan, &by_child).await,
        Err(e) => Err(e),
    };
    if let Err(error) = after_swap {
        // Nothing is left pointing at the old tables: the swap is undone (the
        // statements are still held), or, if that fails too, left for a resume.
        let mut failure = None;
        for attempt in 1..=SWAP_BACK_ATTEMPTS {
            match swap_back(db, database, plan, &own_keys).await {
                Ok(()) => {
                    failure = None;
                    break;
                }
                Err(e) => {
                    tracing::warn!("migration {}: swap back attempt {attempt} failed: {e}", plan.id);
                    failure = Some(e);
                    if attempt < SWAP_BACK_ATTEMPTS {
                        tokio::time::sleep(settings.cutover_retry_pause).await;
                    }
                }
            }
        }
        // Still swapped without every FK (the swap back failed): the tables stay held,
        // refusing, from before the cut-over's hold is let go (review r24h F3).
        let parked = failure.as_ref().map(|_| {
            gate.hold_refusing(
                &plan.id,
                plan.gated_tables(),
                &format!(
                    "online migration '{}' of `{}` left its tables swapped after a failed cut-over \
                     (the foreign keys are not in place yet); try again",
                    plan.id, plan.root
                ),
            )
        });
        gate.swapped();
        drop(hold);
        return Err(match failure {
            None => CutoverFailure {
                swapped: false,
                swapped_back: true,
                error: OnlineError::AfterSwap {
                    error: Box::new(error),
                    outcome: "the tables were swapped back: the originals are as they were".into(),
                },
                parked: None,
            },
            Some(e) => CutoverFailure {
                swapped: true,
                swapped_back: false,
                error: OnlineError::AfterSwap {
                    error: Box::new(error),
                    outcome: format!(
                        "swapping the tables back failed too ({e}): they stay swapped until a migrator \
                         resumes the migration (gateway start, or RETRY) and finishes its FK steps"
                    ),
                },
                parked,
            },
        });
    }
    let foreign_keys = fk_start.elapsed();
    // Before the release: a held statement plans on the new tables and FKs.
    gate.swapped();
    drop(hold);
    let held = start.elapsed();

    // After the release: the triggers went with the old tables (nobody writes to
    // those), and key names are cosmetic: failures are warnings, the swap is done.
    let mut warnings = Vec::new();
    for t in &plan.tables {
        if let Err(e) = capture::drop(db, t).await {
            warnings.push(format!("capture triggers of `{}` left on `{}`: {e}", t.table, t.old));
        }
    }
    for (child, was) in &child_keys {
        if let Err(e) = restore_key_names(db, child, was).await {
            warnings.push(format!("key names of `{child}` not given back: {e}"));
        }
    }

    let mut orphans = Vec::new();
    let mut unverified = Vec::new();
    if settings.verify {
        // The count reads committed rows: rows a transaction open across the
        // re-point wrote in the gap would not be seen (review r25d F5). Such
        // transactions are waited for (bounded); any still open, the count is a
        // locking read, which waits for their row locks on the family (bounded).
        let locking = match in_flight_writers(db).await {
            Ok(0) => false,
            Ok(n) => {
                tracing::info!(
                    "migration {}: {n} transactions open across the cut-over: orphans counted with a locking read",
                    plan.id
                );
                true
            }
            Err(e) => {
                tracing::info!(
                    "migration {}: open transactions not read ({e}): orphans counted with a locking read",
                    plan.id
                );
                true
            }
        };
        if locking {
            if let Err(e) = db
                .run(&format!(
                    "SET SESSION innodb_lock_wait_timeout = {}",
                    LOCKING_COUNT_WAIT.as_secs()
                ))
                .await
            {
                warnings.push(format!("innodb_lock_wait_timeout not set for the orphan count: {e}"));
            }
        }
        let affected = plan
            .tables
            .iter()
            .flat_map(|t| t.fks_after.iter())
            .chain(plan.children.iter().map(|c| &c.fk));
        for fk in affected {
            match count_orphans(db, fk, locking).await {
                Ok(0) => {}
                Ok(n) => orphans.push((fk.name.clone(), n)),
                Err(e) if locking => {
                    // Not known in full; the committed orphans are still said.
                    unverified.push(format!("FK `{}`: {e}", fk.name));
                    match count_orphans(db, fk, false).await {
                        Ok(0) => {}
                        Ok(n) => orphans.push((fk.name.clone(), n)),
                        Err(e) => warnings.push(format!("orphans of FK `{}` not counted: {e}", fk.name)),
                    }
                }
                Err(e) => warnings.push(format!("orphans of FK `{}` not counted: {e}", fk.name)),
            }
        }
        if locking {
            let _ = db.run("SET SESSION innodb_lock_wait_timeout = DEFAULT").await;
        }
    }
    Ok(CutoverStats {
        held,
        rename,
        foreign_keys,
        orphans,
        unverified,
        warnings,
    })
}

/// How long the orphan check waits for transactions that wrote before the FKs were
/// back in place and are still open, before it counts with a locking read.
const IN_FLIGHT_WAIT: Duration = Duration::from_secs(10);

/// How long the locking orphan count waits for one row lock.
const LOCKING_COUNT_WAIT: Duration = Duration::from_secs(5);

/// Waits (at most [`IN_FLIGHT_WAIT`]) while other transactions that began before
/// now (to the second: `trx_started` has no fractions; a few later ones are waited
/// for too) and have changed rows are open; returns how many still are. Called
/// after the release: such a transaction may have written during the cut-over,
/// and the orphan count reads committed rows only.
async fn in_flight_writers(db: &mut Db) -> Result<u64, OnlineError> {
    let Some(now) = db.count("SELECT UNIX_TIMESTAMP()").await? else {
        return Ok(0);
    };
    let sql = format!(
        "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id <> CONNECTION_ID() \
         AND trx_rows_modified > 0 AND UNIX_TIMESTAMP(trx_started) <= {now}"
    );
    let start = Instant::now();
    loop {
        let open = db.count(&sql).await?.unwrap_or(0);
        if open == 0 || start.elapsed() >= IN_FLIGHT_WAIT {
            return Ok(open);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Fails when the new tables (`new`) are not right for the rows: a captured write
/// recorded a clash with a unique key of the new definition (1062), or an FK the ALTER
/// adds has orphans (1452).
async fn new_rows_hold(db: &mut Db, plan: &Plan, new: NewTables) -> Result<(), OnlineError> {
    if let Some(clash) = capture::clash(db, &plan.id).await? {
        return Err(clash);
    }
    check_added_fk_rows(db, plan, new).await
}

/// Takes and releases the children's metadata locks: fails (1205) while a transaction
/// keeps a child open, which would make its re-point wait after the RENAME. A backend
/// that refuses LOCK TABLES (privileges) is not probed.
async fn probe(db: &mut Db, by_child: &BTreeMap<&str, Vec<&FkDef>>) -> Result<(), OnlineError> {
    let tables: Vec<String> = by_child.keys().map(|c| format!("{} WRITE", q(c))).collect();
    let locked = db.run(&format!("LOCK TABLES {}", tables.join(", "))).await;
    let unlocked = db.run("UNLOCK TABLES").await;
    match locked {
        // Only a refusal for want of privileges skips the probe: a lost connection, a
        // lock conflict or any other error fails the attempt before the RENAME.
        Err(e) if e.is_privilege_refusal() => {
            tracing::debug!("cut-over: children not probed: {e}");
            unlocked.map(|_| ())
        }
        Err(e) => Err(e),
        Ok(_) => unlocked.map(|_| ()),
    }
}

/// The FKs of tables outside the migration that reference a migrated table, by table.
fn children_of(plan: &Plan) -> BTreeMap<&str, Vec<&FkDef>> {
    let mut by_child: BTreeMap<&str, Vec<&FkDef>> = BTreeMap::new();
    for c in &plan.children {
        by_child.entry(c.fk.table.as_str()).or_default().push(&c.fk);
    }
    by_child
}

/// The FK steps after the RENAME: the old tables' FKs dropped (their names are free
/// again), the new tables' added under the original names, then each child's FKs
/// dropped and added pointing at the new table (child by child: each is without its
/// FK for one statement).
async fn foreign_keys_after_swap(
    db: &mut Db,
    plan: &Plan,
    by_child: &BTreeMap<&str, Vec<&FkDef>>,
) -> Result<(), OnlineError> {
    for t in &plan.tables {
        if t.fks_before.is_empty() {
            continue;
        }
        // InnoDB renames generated FK names (`t_ibfk_1`) with their table.
        let drops: Vec<String> = t
            .fks_before
            .iter()
            .map(|f| match ibfk_number(&f.name, &t.table) {
                Some(n) => format!("DROP FOREIGN KEY {}", q(&format!("{}_ibfk_{n}", t.old))),
                None => format!("DROP FOREIGN KEY {}", q(&f.name)),
            })
            .collect();
        db.run(&format!("ALTER TABLE {} {}", q(&t.old), drops.join(", ")))
            .await?;
    }
    for t in &plan.tables {
        add_fks(db, &t.table, &t.fks_after.iter().collect::<Vec<_>>()).await?;
    }
    for (child, fks) in by_child {
        let drops: Vec<String> = fks.iter().map(|f| format!("DROP FOREIGN KEY {}", q(&f.name))).collect();
        db.run(&format!("ALTER TABLE {} {}", q(child), drops.join(", ")))
            .await?;
        add_fks(db, child, fks).await?;
    }
    Ok(())
}

/// Undoes a swap whose FK steps failed, from wherever they stopped: the new tables'
/// FKs and the children's FKs already re-pointed are dropped, the tables renamed
/// back in one RENAME (children's FKs not re-pointed yet follow the old tables back),
/// then every FK the originals and their children had is added again where missing,
/// under its own name, and the children's keys get their names back. Idempotent.
async fn swap_back(
    db: &mut Db,
    database: &str,
    plan: &Plan,
    child_keys: &BTreeMap<String, Vec<(String, Vec<String>)>>,
) -> Result<(), OnlineError> {
    let by_child = children_of(plan);
    if table_exists(db, database, &plan.tables[0].old).await? {
        for t in &plan.tables {
            let have = read_fks(db, database, &t.table).await?;
            drop_fks(db, &t.table, &have).await?;
        }
        for (child, fks) in &by_child {
            let have = read_fks(db, database, child).await?;
            let repointed: Vec<FkDef> = have
                .into_iter()
                .filter(|h| fks.iter().any(|f| f.name == h.name && f.parent_sql() == h.parent_sql()))
                .collect();
            drop_fks(db, child, &repointed).await?;
        }
        let pairs: Vec<String> = plan
            .tables
            .iter()
            .map(|t| format!("{} TO {}, {} TO {}", q(&t.table), q(&t.shadow), q(&t.old), q(&t.table)))
            .collect();
        db.run(&format!("RENAME TABLE {}", pairs.join(", "))).await?;
    }
    restore_originals(db, database, plan).await?;
    for (child, was) in child_keys {
        restore_key_names(db, child, was).await?;
    }
    Ok(())
}

/// Adds, where missing, every FK the migrated tables had before and every child FK of
/// the plan (pointing at the migrated tables' names). For the original tables, after
/// a swap back, or before the cut-over of a migration whose last one stopped in its
/// swap back. Idempotent.
pub async fn restore_originals(db: &mut Db, database: &str, plan: &Plan) -> Result<(), OnlineError> {
    db.checks_off().await?;
    for t in &plan.tables {
        add_missing(db, database, &t.table, t.fks_before.iter().collect()).await?;
    }
    for (child, fks) in children_of(plan) {
        add_missing(db, database, child, fks).await?;
    }
    Ok(())
}

/// Adds those of `wanted` that `table` does not have (by name), in key order; returns
/// them.
async fn add_missing<'a>(
    db: &mut Db,
    database: &str,
    table: &str,
    wanted: Vec<&'a FkDef>,
) -> Result<Vec<&'a FkDef>, OnlineError> {
    let have = read_fks(db, database, table).await?;
    let missing: Vec<&FkDef> = wanted
        .into_iter()
        .filter(|f| !have.iter().any(|h| h.name == f.name))
        .collect();
    let missing = in_key_order(db, table, missing).await?;
    add_fks(db, table, &missing).await?;
    Ok(missing)
}

/// `fks` in the order of the keys that serve them: adding an FK re-creates a key InnoDB
/// generated for it (named after the constraint) at the end, so FKs added in key
/// order keep the keys in the order `SHOW CREATE TABLE` showed before.
async fn in_key_order<'a>(db: &mut Db, table: &str, mut fks: Vec<&'a FkDef>) -> Result<Vec<&'a FkDef>, OnlineError> {
    if fks.len() < 2 {
        return Ok(fks);
    }
    let keys = keys(db, table).await?;
    let position = |f: &FkDef| {
        keys.iter()
            .position(|(name, _)| *name == f.name)
            .or_else(|| keys.iter().position(|(_, cols)| cols.starts_with(&f.columns)))
            .unwrap_or(usize::MAX)
    };
    fks.sort_by_key(|f| position(f));
    Ok(fks)
}

async fn drop_fks(db: &mut Db, table: &str, fks: &[FkDef]) -> Result<(), OnlineError> {
    if fks.is_empty() {
        return Ok(());
    }
    let drops: Vec<String> = fks.iter().map(|f| format!("DROP FOREIGN KEY {}", q(&f.name))).collect();
    db.run(&format!("ALTER TABLE {} {}", q(table), drops.join(", ")))
        .await
        .map(|_| ())
}

/// Gives `child`'s keys the names they had (`was`) where an added FK renamed one.
async fn restore_key_names(db: &mut Db, child: &str, was: &[(String, Vec<String>)]) -> Result<(), OnlineError> {
    let now = keys(db, child).await?;
    let mut renames = Vec::new();
    for (name, cols) in &now {
        if was.iter().any(|(n, _)| n == name) {
            continue;
        }
        if let Some((old, _)) = was.iter().find(|(n, c)| c == cols && !now.iter().any(|(m, _)| m == n)) {
            renames.push(format!("RENAME INDEX {} TO {}", q(name), q(old)));
        }
    }
    if !renames.is_empty() {
        db.run(&format!(
            "ALTER TABLE {} {}, ALGORITHM=INPLACE",
            q(child),
            renames.join(", ")
        ))
        .await?;
    }
    Ok(())
}

/// `ALTER TABLE t ADD CONSTRAINT ..., ALGORITHM=INPLACE`: with checks off, metadata only
/// (the supporting indexes exist); INPLACE makes MariaDB refuse rather than copy.
async fn add_fks(db: &mut Db, table: &str, fks: &[&FkDef]) -> Result<(), OnlineError> {
    if fks.is_empty() {
        return Ok(());
    }
    let adds: Vec<String> = fks.iter().map(|f| format!("ADD {}", constraint_sql(f))).collect();
    db.run(&format!(
        "ALTER TABLE {} {}, ALGORITHM=INPLACE",
        q(table),
        adds.join(", ")
    ))
    .await
    .map(|_| ())
}

/// Finishes a cut-over that stopped after its RENAME (a gateway stopped in between):
/// every FK step again, skipping what is done already. Idempotent.
pub async fn finish_after_swap(db: &mut Db, database: &str, plan: &Plan) -> Result<CutoverStats, OnlineError> {
    let start = Instant::now();
    db.checks_off().await?;
    for t in &plan.tables {
        capture::drop(db, t).await?;
        let left = read_fks(db, database, &t.old).await?;
        if !left.is_empty() {
            let drops: Vec<String> = left
                .iter()
                .map(|f| format!("DROP FOREIGN KEY {}", q(&f.name)))
                .collect();
            db.run(&format!("ALTER TABLE {} {}", q(&t.old), drops.join(", ")))
                .await?;
        }
    }
    for t in &plan.tables {
        add_missing(db, database, &t.table, t.fks_after.iter().collect()).await?;
    }
    for (child, fks) in &children_of(plan) {
        let have = read_fks(db, database, child).await?;
        let stale: Vec<String> = fks
            .iter()
            .filter(|f| {
                have.iter()
                    .any(|h| h.name == f.name && h.parent_sql() != f.parent_sql())
            })
            .map(|f| format!("DROP FOREIGN KEY {}", q(&f.name)))
            .collect();
        if !stale.is_empty() {
            db.run(&format!("ALTER TABLE {} {}", q(child), stale.join(", ")))
                .await?;
        }
        let missing = add_missing(db, database, child, fks.clone()).await?;
        // The keys as they were are not known any more: a key InnoDB generated for an
        // unnamed FK (`child_ibfk_N`) is named after its first column.
        let now = keys(db, child).await?;
        for f in &missing {
            if ibfk_number(&f.name, child).is_none() {
                continue;
            }
            let renamed = now.iter().any(|(n, c)| *n == f.name && *c == f.columns);
            let free = !now.iter().any(|(n, _)| *n == f.columns[0]);
            if renamed && free {
                db.run(&format!(
                    "ALTER TABLE {} RENAME INDEX {} TO {}, ALGORITHM=INPLACE",
                    q(child),
                    q(&f.name),
                    q(&f.columns[0])
                ))
                .await?;
            }
        }
    }
    let foreign_keys = start.elapsed();
    let mut orphans = Vec::new();
    for fk in plan
        .tables
        .iter()
        .flat_map(|t| t.fks_after.iter())
        .chain(plan.children.iter().map(|c| &c.fk))
    {
        let n = count_orphans(db, fk, false).await?;
        if n > 0 {
            orphans.push((fk.name.clone(), n));
        }
    }
    Ok(CutoverStats {
        held: Duration::ZERO,
        rename: Duration::ZERO,
        foreign_keys,
        orphans,
        unverified: Vec::new(),
        warnings: Vec::new(),
    })
}

/// True when a table of this name exists.
pub async fn table_exists(db: &mut Db, database: &str, table: &str) -> Result<bool, OnlineError> {
    let sql = format!(
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {}",
        lit(database),
        lit(table)
    );
    Ok(db.count(&sql).await?.unwrap_or(0) > 0)
}

/// MariaDB's "Table ... was skipped since its definition is being modified by
/// concurrent DDL statement" (SHOW INDEX skips a table under an ALTER instead of
/// waiting for it).
const ER_SKIPPED_FOR_CONCURRENT_DDL: u16 = 1684;

/// The keys of `table`: name and columns, in SHOW INDEX order. A table another
/// statement is altering right now has changed its definition for the migration.
async fn keys(db: &mut Db, table: &str) -> Result<Vec<(String, Vec<String>)>, OnlineError> {
    let (names, rows) = match db.named(&format!("SHOW INDEX FROM {}", q(table))).await {
        Err(OnlineError::Backend {
            code: ER_SKIPPED_FOR_CONCURRENT_DDL,
            message,
            ..
        }) => {
            return Err(OnlineError::Refused {
                table: table.to_string(),
                reason: format!(
                    "the definition of `{table}` changed during the migration (a direct ALTER is running: \
                     {message})"
                ),
            })
        }
        read => read?,
    };
    let col = |n: &str| names.iter().position(|x| x.eq_ignore_ascii_case(n));
    let (Some(key), Some(column)) = (col("Key_name"), col("Column_name")) else {
        return Ok(Vec::new());
    };
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for r in rows {
        let name = r[key].clone().unwrap_or_default();
        let c = r[column].clone().unwrap_or_default();
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, cols)) => cols.push(c),
            None => out.push((name, vec![c])),
        }
    }
    Ok(out)
}

/// Rows of the FK's table whose key is set but has no parent row. An anti-join (one
/// primary-key lookup per child row): MariaDB runs `NOT EXISTS` here by materializing
/// every parent key in a temporary table, on disk past `tmp_table_size` (1,000,000
/// parents, 5,000,000 children: 23-28 s against 3.3 s, bench/online.sh).
pub async fn count_orphans(db: &mut Db, fk: &FkDef, locking: bool) -> Result<u64, OnlineError> {
    let Some(first) = fk.referenced_columns.first() else {
        return Ok(0);
    };
    let set: Vec<String> = fk.columns.iter().map(|c| format!("c.{} IS NOT NULL", q(c))).collect();
    let join: Vec<String> = fk
        .columns
        .iter()
        .zip(&fk.referenced_columns)
        .map(|(c, r)| format!("p.{} = c.{}", q(r), q(c)))
        .collect();
    // A joined parent row has its first referenced column equal to a set value: NULL
    // there means no parent row.
    let sql = format!(
        "SELECT COUNT(*) FROM {} c LEFT JOIN {} p ON {} WHERE {} AND p.{} IS NULL{}",
        q(&fk.table),
        fk.parent_sql(),
        join.join(" AND "),
        set.join(" AND "),
        q(first),
        match locking {
            // Waits for rows transactions still open changed (their row locks).
            true => " LOCK IN SHARE MODE",
            false => "",
        }
    );
    Ok(db.count(&sql).await?.unwrap_or(0))
}
