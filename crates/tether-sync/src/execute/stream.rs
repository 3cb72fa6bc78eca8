//! Loading while a subset is chosen: the newly included rows of a table
//! ([`crate::subset::Sink`]) are written as they arrive, on every lane's destination
//! connections, while the subset reads on. Only for destinations that take
//! rows in any order (foreign-key checks off, a one-transaction or staged load: see
//! [`Destination::fk_free`]); the caller decides ([`can_stream`]).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Instant;

use tether_connect::{Connection, Row};
use tether_schema::TableName;
use tokio::sync::mpsc;

use super::pipeline::{build_transforms, table_write, write_batch, Fixups, TableWrite};
use super::{Anon, Destination, Progress, TableReport};
use crate::anonymize::TableTransforms;
use crate::error::SyncError;
use crate::plan::{Plan, Rows};

/// What a subset may send to the load while choosing: the plan's subset tables with a
/// primary key (the subset reads their rows whole; others are read again by key after
/// it), by index in the plan. None when a column needs a key map (built from every
/// chosen row before any table loads).
pub fn streamable(plan: &Plan) -> HashSet<usize> {
    let maps = crate::anonymize::map_keys(plan.tables.iter().flat_map(|t| &t.transforms));
    if !maps.is_empty() {
        return HashSet::new();
    }
    plan.tables
        .iter()
        .enumerate()
        .filter(|(_, tp)| tp.rows == Rows::Subset && !tp.table.primary_key.is_empty())
        .map(|(i, _)| i)
        .collect()
}

/// Every destination takes rows in any order (foreign-key checks off, a
/// one-transaction or staged load: [`Destination::fk_free`]), so a subset's rows can be
/// written as they are included.
pub fn takes_any_order(dests: &[Destination]) -> bool {
    !dests.is_empty() && dests.iter().all(Destination::fk_free)
}

/// What became of the rows a subset sent while choosing.
pub enum Streamed {
    /// Written: the reports of the tables.
    Loaded(Vec<(usize, TableReport)>),
    /// Kept for the load, which writes them in load order (a destination checks
    /// foreign keys row by row): per table, sorted by key, within
    /// [`crate::subset::KEEP_ROWS_BYTES`] (a table past it is read again by its keys).
    Kept(HashMap<TableName, Vec<Row>>),
}

/// Keeps what `rx` brings, as [`Streamed::Kept`] says.
pub async fn keep_streamed(
    plan: &Plan,
    tables: &HashSet<usize>,
    mut rx: mpsc::Receiver<(TableName, Vec<Row>)>,
) -> HashMap<TableName, Vec<Row>> {
    let mut kept: HashMap<TableName, Vec<Row>> = HashMap::new();
    let mut dropped: HashSet<TableName> = HashSet::new();
    let mut bytes = 0usize;
    while let Some((name, rows)) = rx.recv().await {
        if dropped.contains(&name) {
            continue;
        }
        bytes += rows.iter().map(crate::subset::row_bytes).sum::<usize>();
        let table = kept.entry(name.clone()).or_default();
        table.extend(rows);
        if bytes > crate::subset::KEEP_ROWS_BYTES {
            tracing::debug!(
                "subset: rows of {name} past {} bytes, not kept",
                crate::subset::KEEP_ROWS_BYTES
            );
            bytes -= table.iter().map(crate::subset::row_bytes).sum::<usize>();
            kept.remove(&name);
            dropped.insert(name);
        }
    }
    for &ti in tables {
        let t = &plan.tables[ti].table;
        let Some(rows) = kept.get_mut(&t.table_name()) else {
            continue;
        };
        let key: Vec<usize> = crate::plan::row_key(t)
            .iter()
            .map(|k| t.columns.iter().position(|c| &c.name == k).expect("key columns exist"))
            .collect();
        rows.sort_by(|a, b| {
            key.iter()
                .map(|&i| crate::subset::cmp_value(&a[i], &b[i]))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    }
    kept
}

/// The transformers of the streamed `tables` that have any, built on `source` (in the
/// job's snapshot) before choosing starts: the lanes' writers have no source.
pub async fn transforms(
    plan: &Plan,
    tables: &HashSet<usize>,
    source: &mut Connection,
    anon: &Anon,
) -> Result<HashMap<usize, TableTransforms>, SyncError> {
    let mut out = HashMap::new();
    let mut ordered: Vec<usize> = tables.iter().copied().collect();
    ordered.sort_unstable();
    for ti in ordered {
        let tp = &plan.tables[ti];
        if tp.transforms.is_empty() {
            continue;
        }
        let Some(seed) = &anon.seed else {
            return Err(SyncError::Config("[transform] needs a `seed`".into()));
        };
        out.insert(ti, build_transforms(tp, &tp.transforms, source, seed).await?);
    }
    Ok(out)
}

/// One streamed table's figures so far.
struct Figures {
    started: Instant,
    read: u64,
    /// Per destination (job order).
    written: Vec<u64>,
}

/// Writes what `rx` brings (a table and rows, every column) to every destination, each
/// lane (`lanes`: the destinations' connections of one lane) taking the next message
/// when done. Returns a report for each of `tables` (a table no row reached included),
/// once the sender is dropped. A rejected row fails the load (and, the receiver gone,
/// the subset).
pub async fn load_streamed(
    plan: &Plan,
    tables: &HashSet<usize>,
    mut lanes: Vec<&mut Vec<Destination>>,
    rx: mpsc::Receiver<(TableName, Vec<Row>)>,
    transforms: HashMap<usize, TableTransforms>,
    anon: &Anon,
    progress: &dyn Progress,
) -> Result<Vec<(usize, TableReport)>, SyncError> {
    let index: HashMap<TableName, usize> = tables
        .iter()
        .map(|&ti| (plan.tables[ti].table.table_name(), ti))
        .collect();
    let rx = tokio::sync::Mutex::new(rx);
    let transforms: HashMap<usize, Mutex<TableTransforms>> =
        transforms.into_iter().map(|(ti, t)| (ti, Mutex::new(t))).collect();
    let figures: Mutex<HashMap<usize, Figures>> = Mutex::new(HashMap::new());
    let destinations = lanes.first().map_or(0, |d| d.len());
    let workers = lanes.iter_mut().map(|dests| {
        let dests: &mut Vec<Destination> = dests;
        let (rx, index, transforms, figures) = (&rx, &index, &transforms, &figures);
        async move {
            let mut writes: HashMap<usize, Vec<TableWrite>> = HashMap::new();
            loop {
                let next = rx.lock().await.recv().await;
                let Some((name, rows)) = next else { break };
                let ti = *index.get(&name).expect("the subset streams the tables it was given");
                let tp = &plan.tables[ti];
                let w = writes
                    .entry(ti)
                    .or_insert_with(|| dests.iter().map(|d| table_write(d, tp)).collect());
                {
                    let mut f = figures.lock().expect("figures lock");
                    f.entry(ti).or_insert_with(|| {
                        progress.table_started(&tp.name, 0);
                        Figures {
                            started: Instant::now(),
                            read: 0,
                            written: vec![0; destinations],
                        }
                    });
                }
                let mut rows = rows.into_iter().peekable();
                while rows.peek().is_some() {
                    let mut batch: Vec<Row> = rows.by_ref().take(plan.batch_size.max(1)).collect();
                    if let Some(t) = transforms.get(&ti) {
                        t.lock().expect("transforms lock").apply(&mut batch, &anon.maps)?;
                    }
                    let n = batch.len() as u64;
                    progress.rows(&tp.name, n);
                    figures
                        .lock()
                        .expect("figures lock")
                        .get_mut(&ti)
                        .expect("started")
                        .read += n;
                    let last = dests.len() - 1;
                    let mut batch = Some(batch);
                    for (i, (d, w)) in dests.iter_mut().zip(w.iter()).enumerate() {
                        let b = match i == last {
                            true => batch.take().expect("the last destination takes the batch"),
                            false => batch.clone().expect("kept until the last destination"),
                        };
                        let before = figures.lock().expect("figures lock")[&ti].written[i];
                        // Destinations that take rows in any order break no cycle: no fixups.
                        let mut none: Fixups = Vec::new();
                        let n = write_batch(d, tp, w, b, before, &mut none).await?;
                        debug_assert!(none.is_empty());
                        figures
                            .lock()
                            .expect("figures lock")
                            .get_mut(&ti)
                            .expect("started")
                            .written[i] += n;
                    }
                }
            }
            Ok::<_, SyncError>(())
        }
    });
    for result in super::join_all(workers.collect()).await {
        result?;
    }
    let mut figures = figures.into_inner().expect("figures lock");
    let mut ordered: Vec<usize> = tables.iter().copied().collect();
    ordered.sort_unstable();
    let mut reports = Vec::new();
    for ti in ordered {
        let tp = &plan.tables[ti];
        let f = figures.remove(&ti).unwrap_or_else(|| {
            progress.table_started(&tp.name, 0);
            Figures {
                started: Instant::now(),
                read: 0,
                written: vec![0; destinations],
            }
        });
        if let Some(dests) = lanes.first() {
            for (d, n) in dests.iter().zip(&f.written) {
                d.written.lock().expect("lock").push((tp.name.clone(), *n));
            }
        }
        if let Some(t) = transforms.get(&ti) {
            anon.leaks
                .lock()
                .expect("lock")
                .extend(t.lock().expect("transforms lock").leaks());
        }
        let seconds = f.started.elapsed().as_secs_f64();
        progress.table_done(&tp.name, f.read, seconds);
        reports.push((
            ti,
            TableReport {
                table: tp.name.clone(),
                rows_read: f.read,
                rows_written: f.written,
                seconds,
            },
        ));
    }
    Ok(reports)
}
