//! The row copy: each table walks its primary key in chunks,
//! `INSERT INTO shadow SELECT ... WHERE key > last AND key <= upper AND the key is not in
//! the shadow yet ... LOCK IN SHARE MODE` under strict `sql_mode` (the shared locks order
//! the copy with concurrent writes, whose triggers write the same rows to the shadow).
//! A row the ALTER cannot hold (duplicate unique key, CHECK, truncation, NULL, charset)
//! fails the chunk with the server's error, as the native ALTER would: never a silent
//! change. The last key of each chunk is stored, so a restarted migrator goes on from
//! there. Between chunks the copy throttles while the backend is busy or a replica lags.
//!
//! Speed: the rows the capture wrote already in a chunk's range are few (the writes
//! since the copy began that fell in it); their keys are read first and left out by
//! value (`key NOT IN (...)`), which costs far less than a shadow lookup per row. A
//! row captured between that read and the INSERT makes the INSERT fail on the
//! shadow's primary key (1062): the chunk is run again with the per-row lookup
//! (`NOT EXISTS`), which also decides any other 1062. Without a `chunk_pause`, chunks
//! grow from `chunk_rows` to take about [`CHUNK_TARGET`] each (at most
//! [`MAX_CHUNK_ROWS`]): the shared locks a writer can wait on are held that long.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tether_connect::DbUrl;

use crate::reply::OkInfo;

use super::capture::shadow_column;
use super::db::{lit, lit_bytes, q, q_list, Db};
use super::plan::TablePlan;
use super::store::{Progress, Store};
use super::{OnlineError, Settings};

/// `(a > x) OR (a = x AND b > y) ...`: rows after `last` in key order (`<=` with
/// `inclusive` for the upper bound, written as rows not after it).
fn after(cols: &[String], values: &[String]) -> String {
    let mut ors = Vec::new();
    for i in 0..cols.len() {
        let mut ands: Vec<String> = (0..i).map(|j| format!("{} = {}", q(&cols[j]), values[j])).collect();
        ands.push(format!("{} > {}", q(&cols[i]), values[i]));
        ors.push(format!("({})", ands.join(" AND ")));
    }
    format!("({})", ors.join(" OR "))
}

/// How often a chunk is tried again after a deadlock or lock wait timeout.
const CHUNK_RETRIES: u32 = 10;

/// How long a chunk should take when the copy sizes its chunks (no `chunk_pause`).
pub const CHUNK_TARGET: Duration = Duration::from_millis(100);

/// The largest chunk the sizing picks (unless `chunk_rows` is larger).
pub const MAX_CHUNK_ROWS: u64 = 20_000;

/// Captured keys in a chunk's range above which the chunk uses the per-row lookup.
const MAX_LISTED_KEYS: usize = 1_000;

/// The rows of the next chunk: `chunk_rows` at first; without a `chunk_pause`, scaled
/// after each chunk so the next takes about [`CHUNK_TARGET`], at most doubling.
struct ChunkSize {
    rows: u64,
    least: u64,
    most: u64,
    adaptive: bool,
}

impl ChunkSize {
    fn new(s: &Settings) -> ChunkSize {
        let least = s.chunk_rows.max(1);
        ChunkSize {
            rows: least,
            least,
            most: MAX_CHUNK_ROWS.max(least),
            adaptive: s.chunk_pause.is_zero(),
        }
    }

    /// A chunk of `self.rows` source rows took `took`.
    fn took(&mut self, took: Duration) {
        if !self.adaptive {
            return;
        }
        let per_row = took.as_secs_f64() / self.rows as f64;
        let fit = (CHUNK_TARGET.as_secs_f64() / per_row.max(1e-9)) as u64;
        self.rows = fit.min(self.rows.saturating_mul(2)).clamp(self.least, self.most);
    }
}

/// Why the copy stopped before the end.
pub enum Stop {
    Cancelled,
}

/// The columns of `key` that are BIT columns of `table`.
async fn bit_columns(db: &mut Db, table: &str, key: &[String]) -> Result<Vec<String>, OnlineError> {
    let sql = format!(
        "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = {} \
         AND DATA_TYPE = 'bit'",
        lit(table)
    );
    Ok(db
        .texts(&sql)
        .await?
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .filter(|c| key.contains(c))
        .collect())
}

/// Copies `t` from `progress` on; updates `progress`, `rows` and the store after
/// every chunk. `Ok(Err(Stop))` when cancelled between chunks.
#[allow(clippy::too_many_arguments)]
pub async fn copy_table(
    db: &mut Db,
    store: &mut Store,
    id: &str,
    settings: &Settings,
    index: usize,
    t: &TablePlan,
    progress: &mut Progress,
    rows: &mut u64,
    cancel: &AtomicBool,
) -> Result<Result<(), Stop>, OnlineError> {
    let pk = &t.primary_key;
    let src: Vec<&str> = t.copy.iter().map(|(s, _)| s.as_str()).collect();
    let dst: Vec<&str> = t.copy.iter().map(|(_, d)| d.as_str()).collect();
    let shadow_pk: Vec<String> = pk.iter().map(|k| shadow_column(t, k).to_string()).collect();
    let listable = keys_listable(db, &t.table, pk).await? && keys_listable(db, &t.shadow, &shadow_pk).await?;
    let mut size = ChunkSize::new(settings);
    let mut throttle = Throttle::new(settings);
    // BIT key columns are read as numbers (`+ 0`) and compared with plain numbers: their
    // bytes as a text literal compare wrongly (review r22).
    let bits = bit_columns(db, &t.table, pk).await?;
    let key_reads: Vec<String> = pk
        .iter()
        .map(|c| {
            if bits.contains(c) {
                format!("{} + 0", q(c))
            } else {
                q(c)
            }
        })
        .collect();
    loop {
        if progress.tables[index].done {
            return Ok(Ok(()));
        }
        if cancel.load(Ordering::SeqCst) {
            return Ok(Err(Stop::Cancelled));
        }
        throttle.wait(db, cancel).await?;
        let lower = progress.tables[index].last.as_ref().map(|last| after(pk, last));
        let where_lower = lower.clone().map(|l| format!("WHERE {l}")).unwrap_or_default();
        // The chunk's upper bound: the key `chunk` rows on.
        let bound_sql = format!(
            "SELECT {} FROM {} FORCE INDEX (PRIMARY) {where_lower} ORDER BY {} LIMIT 1 OFFSET {}",
            key_reads.join(", "),
            q(&t.table),
            q_list(pk),
            size.rows - 1
        );
        let upper: Option<Vec<String>> = db.rows(&bound_sql).await?.into_iter().next().map(|r| {
            r.into_iter()
                .zip(pk)
                .map(|(v, c)| match v {
                    None => "NULL".into(),
                    Some(b) if bits.contains(c) => String::from_utf8_lossy(&b).into_owned(),
                    Some(b) => lit_bytes(&b),
                })
                .collect()
        });
        let range = |cols: &[String]| {
            let mut conds = Vec::new();
            if let Some(l) = &progress.tables[index].last {
                conds.push(after(cols, l));
            }
            if let Some(u) = &upper {
                conds.push(format!("NOT {}", after(cols, u)));
            }
            conds
        };
        // The keys the capture wrote already in this range, left out by value.
        let mut shadow_range = range(&shadow_pk);
        if shadow_range.is_empty() {
            shadow_range.push("TRUE".into());
        }
        let captured = db
            .rows(&format!(
                "SELECT {} FROM {} WHERE {} LIMIT {}",
                q_list(&shadow_pk),
                q(&t.shadow),
                shadow_range.join(" AND "),
                MAX_LISTED_KEYS + 1
            ))
            .await?;
        let source_range = range(pk);
        // Keys whose bytes do not read back as the same literal (BIT, floats, ENUM, ...)
        // are never listed: with captured keys in range such a chunk takes the lookup.
        let listed =
            (captured.is_empty() || (listable && captured.len() <= MAX_LISTED_KEYS)).then(|| not_listed(pk, &captured));
        let started = std::time::Instant::now();
        let mut ok = match listed {
            Some(excluded) => {
                let sql = chunk_sql(t, &src, &dst, source_range.iter().cloned().chain(excluded));
                match exec_chunk(db, t, &sql).await {
                    // Captured after the keys were read: the per-row lookup below.
                    Err(OnlineError::Backend { code: 1062, .. }) => None,
                    other => Some(other?),
                }
            }
            None => None,
        };
        if ok.is_none() {
            // Rows a capture trigger wrote already are skipped by key: the shared lock
            // on the source row means its writer committed, so the shadow's row is
            // current. Every other failure (a unique key other than the primary one,
            // CHECK, a value the new column cannot hold) is the server's error, under
            // strict mode.
            let not_copied = format!(
                "NOT EXISTS (SELECT 1 FROM {} AS _s WHERE {})",
                q(&t.shadow),
                pk.iter()
                    .zip(&shadow_pk)
                    .map(|(k, s)| format!("_s.{} <=> {}.{}", q(s), q(&t.table), q(k)))
                    .collect::<Vec<_>>()
                    .join(" AND ")
            );
            let sql = chunk_sql(t, &src, &dst, source_range.into_iter().chain([not_copied]));
            ok = Some(exec_chunk(db, t, &sql).await?);
        }
        let ok = ok.expect("a chunk ran");
        if upper.is_some() {
            size.took(started.elapsed());
        }
        if ok.warnings > 0 {
            if let Some(e) = chunk_warning(db, t).await {
                return Err(e);
            }
        }
        *rows += records(&ok.info).unwrap_or(ok.affected_rows);
        match upper {
            Some(u) => progress.tables[index].last = Some(u),
            None => progress.tables[index].done = true,
        }
        store.set_progress(id, progress, *rows).await?;
        if !settings.chunk_pause.is_zero() {
            tokio::time::sleep(settings.chunk_pause).await;
        }
    }
}

/// The key types whose values, read as text, are literals that compare equal to
/// exactly the same value of the column.
const LISTABLE_TYPES: [&str; 15] = [
    "tinyint",
    "smallint",
    "mediumint",
    "int",
    "bigint",
    "decimal",
    "char",
    "varchar",
    "binary",
    "varbinary",
    "date",
    "datetime",
    "timestamp",
    "time",
    "year",
];

/// True when every column of `key` in `table` has a [`LISTABLE_TYPES`] type.
async fn keys_listable(db: &mut Db, table: &str, key: &[String]) -> Result<bool, OnlineError> {
    let sql = format!(
        "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
         AND TABLE_NAME = {}",
        lit(table)
    );
    let types = db.texts(&sql).await?;
    Ok(key.iter().all(|k| {
        types.iter().any(|r| {
            r.first().cloned().flatten().as_deref() == Some(k.as_str())
                && r.get(1)
                    .cloned()
                    .flatten()
                    .is_some_and(|ty| LISTABLE_TYPES.contains(&ty.to_ascii_lowercase().as_str()))
        })
    }))
}

/// `key NOT IN (...)` for the keys in `rows` (`(a, b) NOT IN ((..), ..)` for a
/// composite key); none when `rows` is empty.
fn not_listed(pk: &[String], rows: &[Vec<Option<Vec<u8>>>]) -> Option<String> {
    if rows.is_empty() {
        return None;
    }
    let value = |v: &Option<Vec<u8>>| v.as_deref().map(lit_bytes).unwrap_or_else(|| "NULL".into());
    let keys: Vec<String> = rows
        .iter()
        .map(|r| {
            let values: Vec<String> = r.iter().map(value).collect();
            if pk.len() == 1 {
                values.join("")
            } else {
                format!("({})", values.join(", "))
            }
        })
        .collect();
    let cols = if pk.len() == 1 {
        q(&pk[0])
    } else {
        format!("({})", q_list(pk))
    };
    Some(format!("{cols} NOT IN ({})", keys.join(", ")))
}

/// The INSERT ... SELECT of one chunk: the source rows matching every condition.
fn chunk_sql(t: &TablePlan, src: &[&str], dst: &[&str], conds: impl Iterator<Item = String>) -> String {
    let conds: Vec<String> = conds.collect();
    let where_all = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    // Columns added NOT NULL without a DEFAULT get their implicit default, as natively.
    let fill_cols: String = t.fill.iter().map(|(c, _)| format!(", {}", q(c))).collect();
    let fill_values: String = t.fill.iter().map(|(_, v)| format!(", {v}")).collect();
    format!(
        "SET STATEMENT sql_mode = '{COPY_SQL_MODE}' FOR INSERT INTO {} ({}{fill_cols}) SELECT {}{fill_values} FROM {} FORCE INDEX (PRIMARY) {where_all} ORDER BY {} LOCK IN SHARE MODE",
        q(&t.shadow),
        q_list(dst),
        q_list(src),
        q(&t.table),
        q_list(&t.primary_key)
    )
}

/// Runs one chunk. The chunk's shared locks and the writers' triggers take locks in
/// different orders: InnoDB may pick either side as a deadlock victim. The copy's
/// chunk is tried again; a writer gets 1213 as with any concurrent transaction.
async fn exec_chunk(db: &mut Db, t: &TablePlan, sql: &str) -> Result<OkInfo, OnlineError> {
    let mut tries = 0;
    loop {
        match db
            .exec(sql, || format!("copying a chunk of `{}` into `{}`", t.table, t.shadow))
            .await
        {
            Err(e) if e.is_lock_conflict() && tries < CHUNK_RETRIES => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20 * tries as u64)).await;
            }
            other => return other,
        }
    }
}

/// The copy's `sql_mode`: strict (a value the new column cannot hold is an error, as
/// in the native ALTER's copy), and a zero in an AUTO_INCREMENT column is copied as 0.
const COPY_SQL_MODE: &str = "STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO";

/// A chunk that succeeded with warnings changed a value on the way (strict mode lets
/// some through): the first warning becomes the error. Notes do not: the native ALTER
/// raises the same ones and goes on (a DECIMAL's scale reduced rounds its values with
/// Note 1265, review r13b finding 9).
async fn chunk_warning(db: &mut Db, t: &TablePlan) -> Option<OnlineError> {
    let doing = format!("copying a chunk of `{}` into `{}`", t.table, t.shadow);
    match db.texts("SHOW WARNINGS").await {
        Ok(rows) => {
            let w = rows.into_iter().find(|w| {
                !w.first()
                    .cloned()
                    .flatten()
                    .is_some_and(|l| l.eq_ignore_ascii_case("note"))
            })?;
            let field = |i: usize| w.get(i).cloned().flatten().unwrap_or_default();
            Some(OnlineError::Backend {
                doing,
                code: field(1).parse().unwrap_or(1105),
                state: "HY000".into(),
                message: field(2),
            })
        }
        Err(e) => Some(e),
    }
}

/// `Records: 1000  Duplicates: 3  Warnings: 0` -> 1000.
fn records(info: &str) -> Option<u64> {
    let rest = info.strip_prefix("Records:")?.trim_start();
    rest.split_whitespace().next()?.parse().ok()
}

/// Backs off while the backend is busy or a replica lags.
struct Throttle {
    max_threads_running: u64,
    pause: Duration,
    replica: Option<(DbUrl, Duration)>,
    replica_db: Option<Db>,
}

impl Throttle {
    fn new(s: &Settings) -> Throttle {
        Throttle {
            max_threads_running: s.max_threads_running,
            pause: s.throttle_pause,
            replica: s.replica.clone().map(|u| (u, s.max_replica_lag)),
            replica_db: None,
        }
    }

    async fn wait(&mut self, db: &mut Db, cancel: &AtomicBool) -> Result<(), OnlineError> {
        loop {
            if cancel.load(Ordering::SeqCst) {
                return Ok(());
            }
            let busy = self.threads_running(db).await? > self.max_threads_running;
            let lagging = self.lagging().await?;
            if !busy && !lagging {
                return Ok(());
            }
            tracing::debug!("online migration throttled (busy: {busy}, replica lagging: {lagging})");
            tokio::time::sleep(self.pause).await;
        }
    }

    async fn threads_running(&mut self, db: &mut Db) -> Result<u64, OnlineError> {
        if self.max_threads_running == 0 {
            return Ok(0);
        }
        let rows = db.texts("SHOW GLOBAL STATUS LIKE 'Threads_running'").await?;
        Ok(rows
            .first()
            .and_then(|r| r.get(1).cloned().flatten())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// True when the replica's `Seconds_Behind_Master` is over the limit or unknown
    /// (replication stopped).
    async fn lagging(&mut self) -> Result<bool, OnlineError> {
        let Some((url, max)) = &self.replica else {
            return Ok(false);
        };
        let db = self.replica_db.get_or_insert_with(|| Db::new(url));
        let (names, rows) = db.named("SHOW SLAVE STATUS").await?;
        let Some(i) = names.iter().position(|n| n == "Seconds_Behind_Master") else {
            return Ok(true);
        };
        let lag = rows
            .first()
            .and_then(|r| r[i].clone())
            .and_then(|v| v.parse::<u64>().ok());
        Ok(lag.is_none_or(|s| s > max.as_secs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ranges_expand_row_comparisons() {
        let cols = vec!["a".to_string(), "b".to_string()];
        assert_eq!(
            after(&cols, &["1".into(), "'x'".into()]),
            "((`a` > 1) OR (`a` = 1 AND `b` > 'x'))"
        );
        assert_eq!(records("Records: 12  Duplicates: 2  Warnings: 0"), Some(12));
    }

    #[test]
    fn captured_keys_are_left_out_by_value() {
        let one = vec!["id".to_string()];
        assert_eq!(not_listed(&one, &[]), None);
        assert_eq!(
            not_listed(&one, &[vec![Some(b"7".to_vec())], vec![Some(b"9".to_vec())]]),
            Some("`id` NOT IN ('7', '9')".into())
        );
        let two = vec!["a".to_string(), "b".to_string()];
        assert_eq!(
            not_listed(&two, &[vec![Some(b"1".to_vec()), Some(b"x".to_vec())]]),
            Some("(`a`, `b`) NOT IN (('1', 'x'))".into())
        );
    }

    #[test]
    fn chunks_grow_towards_the_target_time_and_stay_fixed_with_a_pause() {
        let mut size = ChunkSize::new(&Settings::default());
        assert_eq!(size.rows, 1000);
        // 1,000 rows in 10 ms: 10,000 would take the target, but growth is at most 2x.
        size.took(Duration::from_millis(10));
        assert_eq!(size.rows, 2000);
        for _ in 0..10 {
            size.took(CHUNK_TARGET / 100);
        }
        assert_eq!(size.rows, MAX_CHUNK_ROWS);
        // A slow chunk shrinks the next, never below chunk_rows.
        size.took(CHUNK_TARGET * 4);
        assert_eq!(size.rows, MAX_CHUNK_ROWS / 4);
        size.took(Duration::from_secs(60));
        assert_eq!(size.rows, 1000);

        let mut paused = ChunkSize::new(&Settings {
            chunk_rows: 50,
            chunk_pause: Duration::from_millis(20),
            ..Settings::default()
        });
        paused.took(Duration::from_micros(1));
        assert_eq!(paused.rows, 50);
    }
}
