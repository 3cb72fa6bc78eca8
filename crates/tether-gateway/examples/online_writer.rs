//! The steady writer of `bench/online.sh` (issue 15): inserts, updates and deletes on
//! `parent` and `child` (child `parent_id` references parent `id` ON DELETE CASCADE) at
//! a fixed rate on one connection, until a stop file appears. Every statement is one
//! line of the log, so the script can tell how long each write waited while an ALTER
//! ran and how many child rows the writer changed (directly, and through cascades):
//!
//! ```text
//! <unix ms at start> <latency us> <kind> <error code, 0 = ok> <child rows changed>
//! ```
//!
//! Kinds: `ip` insert parent, `ic` insert child, `up` update parent, `uc` update child,
//! `dc` delete child, `dp` delete parent (its children, counted just before by a
//! `SELECT COUNT(*)` that is not timed, go by the cascade). A failed statement is
//! logged with its server error number (2013 for a lost connection, after which the
//! writer connects again) and is not retried.
//!
//! ```text
//! online_writer URL LOG STOP_FILE
//! ```
//!
//! Environment: `WRITER_PARENTS` (ids 1..N exist at start, default 1,000,000),
//! `WRITER_CHILDREN` (ids 1..M, default 5,000,000), `WRITER_RATE` (statements per
//! second, default 100), `WRITER_SEED` (default 1), `WRITER_DELETE_PARENTS` (0: the
//! cascading parent delete of each cycle becomes a child update; default 1).

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// xorshift64*: the same sequence of statements for every method compared.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

#[derive(Clone, Copy)]
enum Kind {
    InsertParent,
    InsertChild,
    UpdateParent,
    UpdateChild,
    DeleteChild,
    DeleteParent,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::InsertParent => "ip",
            Kind::InsertChild => "ic",
            Kind::UpdateParent => "up",
            Kind::UpdateChild => "uc",
            Kind::DeleteChild => "dc",
            Kind::DeleteParent => "dp",
        }
    }
}

/// One cycle of the mix: more child writes than parent writes, one cascading delete.
const CYCLE: [Kind; 9] = [
    Kind::InsertParent,
    Kind::InsertChild,
    Kind::UpdateParent,
    Kind::UpdateChild,
    Kind::InsertChild,
    Kind::UpdateParent,
    Kind::UpdateChild,
    Kind::DeleteChild,
    Kind::DeleteParent,
];

fn error_code(e: &mysql_async::Error) -> u16 {
    match e {
        mysql_async::Error::Server(s) => s.code,
        _ => 2013,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, log, stop] = args.as_slice() else {
        return Err("usage: online_writer URL LOG STOP_FILE".into());
    };
    let parents = env_num("WRITER_PARENTS", 1_000_000);
    let children = env_num("WRITER_CHILDREN", 5_000_000);
    let rate = env_num("WRITER_RATE", 100).max(1);
    let mut rng = Rng(env_num("WRITER_SEED", 1).max(1));
    let delete_parents = env_num("WRITER_DELETE_PARENTS", 1) != 0;
    let opts = Opts::from_url(url)?;
    let mut conn = Conn::new(opts.clone()).await?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(log)?);
    let stop = Path::new(stop);

    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let mut next = tokio::time::Instant::now();
    let mut deleted: HashSet<u64> = HashSet::new();
    let (mut new_parent, mut new_child) = (parents, children);
    let live_parent = |rng: &mut Rng, deleted: &HashSet<u64>| loop {
        let id = 1 + rng.below(parents);
        if !deleted.contains(&id) {
            return id;
        }
    };
    eprintln!("online_writer: writing at {rate} statements/s");
    for i in 0.. {
        if stop.exists() {
            break;
        }
        tokio::time::sleep_until(next).await;
        // Paced, without a catch-up burst after a stall.
        next = (next + interval).max(tokio::time::Instant::now());
        let kind = match CYCLE[i % CYCLE.len()] {
            Kind::DeleteParent if !delete_parents => Kind::UpdateChild,
            k => k,
        };
        let v = rng.below(1_000_000);
        let mut cascaded = 0;
        let sql = match kind {
            Kind::InsertParent => {
                new_parent += 1;
                format!("INSERT INTO parent (id, v) VALUES ({new_parent}, {v})")
            }
            Kind::InsertChild => {
                new_child += 1;
                let p = live_parent(&mut rng, &deleted);
                format!("INSERT INTO child (id, parent_id, v) VALUES ({new_child}, {p}, {v})")
            }
            Kind::UpdateParent => {
                let p = live_parent(&mut rng, &deleted);
                format!("UPDATE parent SET v = v + 1 WHERE id = {p}")
            }
            Kind::UpdateChild => format!("UPDATE child SET v = v + 1 WHERE id = {}", 1 + rng.below(children)),
            Kind::DeleteChild => format!("DELETE FROM child WHERE id = {}", 1 + rng.below(children)),
            Kind::DeleteParent => {
                let p = live_parent(&mut rng, &deleted);
                deleted.insert(p);
                let n: Option<u64> = conn
                    .query_first(format!("SELECT COUNT(*) FROM child WHERE parent_id = {p}"))
                    .await
                    .unwrap_or(None);
                cascaded = n.unwrap_or(0);
                format!("DELETE FROM parent WHERE id = {p}")
            }
        };
        let at = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
        let started = Instant::now();
        let result = conn.query_drop(&sql).await;
        let took = started.elapsed().as_micros();
        let (code, child_rows) = match result {
            Ok(()) => (
                0,
                match kind {
                    Kind::InsertChild | Kind::UpdateChild | Kind::DeleteChild => conn.affected_rows(),
                    Kind::DeleteParent => cascaded,
                    _ => 0,
                },
            ),
            Err(e) => {
                let code = error_code(&e);
                if code == 2013 {
                    eprintln!("online_writer: {e}; connecting again");
                    conn = loop {
                        match Conn::new(opts.clone()).await {
                            Ok(c) => break c,
                            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                        }
                    };
                }
                (code, 0)
            }
        };
        writeln!(out, "{at} {took} {} {code} {child_rows}", kind.tag())?;
    }
    out.flush()?;
    conn.disconnect().await?;
    Ok(())
}
