//! Computing a subset: the fixpoint of the target rows, every parent row an included
//! row references (always, transitively, through cycles and self-references), and the
//! child rows of target rows where the job follows children (downwards, capped per
//! parent if asked). The result is a sorted key set per table and, for tables with a
//! primary key while they fit in [`KEEP_ROWS_BYTES`], the chosen rows with every column
//! (read while choosing), so the load does not read them a second time.
//!
//! A key identifies a row only when none of its values is NULL: a table without a
//! primary or unique key, a nullable unique key, a SQLite primary key holding NULL
//! (a legacy quirk SQLite allows) have rows that no key finds again (`IN` never matches
//! NULL) or that share one (duplicate rows of a log table). Such rows are "loose": they
//! are chosen by their whole value with their multiplicity (a read returning a value
//! twice chooses two rows; reaching the same value again adds none), kept with every
//! column whatever their size, and never read again by key ([`TableState::loose`]).
//!
//! [`KeyReads::Server`] has the PostgreSQL server compute the fixpoint itself
//! ([`server`]): temp tables of chosen keys joined relation by relation, no keys
//! shipped. It is not the default: on the demo it was slower than the rounds below
//! (about 40 dependent statements on one connection against 12 reads on two; see
//! BENCHMARKS.md, "Server-side selection"). By default, and as its fallback, Tether
//! chooses in rounds of reads by key sets (below).

mod cap;
mod server;
mod typed;

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tether_connect::{keyset, Connection, Engine, Filter, ReadSpec, Row, Value};
use tether_schema::{ForeignKey, Schema, Table, TableName};

use crate::error::SyncError;
use crate::plan::{row_key, SubsetRules};

/// Keys of the rows a subset includes, per table.
#[derive(Debug, Default)]
pub struct Subset {
    pub keys: HashMap<TableName, Vec<Vec<Value>>>,
    /// The included rows (every column, in the table's column order, sorted by key) of
    /// the tables whose rows were kept while choosing; taken once by the load (see
    /// [`Subset::take_rows`]). A table not here is read again by its keys.
    rows: Mutex<HashMap<TableName, Vec<Row>>>,
    /// How many rows each table's subset has, duplicates counted, where it is not the
    /// number of keys (tables with loose rows).
    counts: HashMap<TableName, u64>,
    /// The server chose the rows ([`KeyReads::Server`] and it could); else Tether did.
    pub on_server: bool,
}

impl Subset {
    /// The kept rows of `table`, once: a second call (or a table whose rows were not
    /// kept) gets `None`, and the caller reads the rows by their keys.
    pub fn take_rows(&self, table: &TableName) -> Option<Vec<Row>> {
        self.rows.lock().expect("subset rows lock").remove(table)
    }

    /// `f` of the kept rows of `table`, leaving them for the load; `None` when they were
    /// not kept (the caller reads them by their keys).
    pub fn with_kept_rows<R>(&self, table: &TableName, f: impl FnOnce(&[Row]) -> R) -> Option<R> {
        self.rows
            .lock()
            .expect("subset rows lock")
            .get(table)
            .map(|rows| f(rows))
    }

    /// How many rows of `table` the subset chose: its keys, and every loose row (see the
    /// module's notes), duplicates counted. What the verifier expects a destination to
    /// hold.
    pub fn rows_chosen(&self, table: &TableName) -> u64 {
        match self.counts.get(table) {
            Some(n) => *n,
            None => self.keys.get(table).map_or(0, |k| k.len() as u64),
        }
    }
}

/// How many bytes of chosen rows (estimated, all tables together) are kept for the
/// load. Past it, the table whose rows cross it is read again by its keys when loading,
/// and so are tables not yet kept: the subset's memory stays its key sets plus this.
pub const KEEP_ROWS_BYTES: usize = 128 << 20;

/// An estimate of the heap a row takes.
fn row_bytes(row: &Row) -> usize {
    row.iter()
        .map(|v| {
            std::mem::size_of::<Value>()
                + match v {
                    Value::Text(t) => t.len(),
                    Value::RawText(b) | Value::Bytes(b) => b.len(),
                    _ => 0,
                }
        })
        .sum::<usize>()
        + std::mem::size_of::<Row>()
}

/// A total order on values of one column, for deterministic output.
pub fn cmp_value(a: &Value, b: &Value) -> Ordering {
    use Value::*;
    let rank = |v: &Value| match v {
        Null => 0,
        Bool(_) => 1,
        Int(_) | UInt(_) | Float(_) => 2,
        Text(_) | RawText(_) => 3,
        Bytes(_) => 4,
    };
    match (a, b) {
        (Int(x), Int(y)) => x.cmp(y),
        (UInt(x), UInt(y)) => x.cmp(y),
        (Int(_), UInt(_)) => Ordering::Less,
        (UInt(_), Int(_)) => Ordering::Greater,
        (Float(x), Float(y)) => x.total_cmp(y),
        (Int(x), Float(y)) => (*x as f64).total_cmp(y),
        (Float(x), Int(y)) => x.total_cmp(&(*y as f64)),
        (UInt(x), Float(y)) => (*x as f64).total_cmp(y),
        (Float(x), UInt(y)) => x.total_cmp(&(*y as f64)),
        (Text(x), Text(y)) => x.cmp(y),
        // Text by its bytes, as a string's order is: those that are not UTF-8 among them.
        (Text(x), RawText(y)) => x.as_bytes().cmp(y),
        (RawText(x), Text(y)) => x.as_slice().cmp(y.as_bytes()),
        (RawText(x), RawText(y)) | (Bytes(x), Bytes(y)) => x.cmp(y),
        (Bool(x), Bool(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

pub fn cmp_key(a: &[Value], b: &[Value]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| cmp_value(x, y))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// FNV-1a over the key's text: stable across runs, platforms and releases. Each value is
/// first put in its column type's canonical form (`types`, by position; see
/// `tether_transform::canonical`), so the same key read from another engine (a decimal
/// as `1.50`, `1.500000` or SQLite's `1`, a blank-padded `char(n)`, a timestamp's
/// fraction with trailing zeros) hashes alike: the same rows on every engine.
fn stable_hash(key: &[Value], types: &[Option<&tether_schema::DataType>]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, v) in key.iter().enumerate() {
        let canonical = match types.get(i).copied().flatten() {
            Some(ty) => tether_transform::canonical_value(v, ty),
            None => v.clone(),
        };
        for b in canonical.display().bytes().chain(std::iter::once(0xff)) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

type FastHash = foldhash::fast::RandomState;

/// A set of keys (values of the same columns). Keys of one or two integers, the usual
/// primary and foreign keys, are held as plain integers: no allocation per key, cheap
/// hashing and comparison (hashing and allocating `Vec<Value>` keys was most of the
/// subset's own CPU). Any other key (text, a NULL, a SQLite column holding a value of
/// another type in some rows) is held as its values; `Int(5)` and `UInt(5)` stay
/// distinct keys, as they were. foldhash (randomly seeded) instead of SipHash.
#[derive(Default)]
struct KeySet {
    ints: HashSet<i64, FastHash>,
    pairs: HashSet<(i64, i64), FastHash>,
    other: HashSet<Vec<Value>, FastHash>,
}

impl KeySet {
    fn contains(&self, key: &[Value]) -> bool {
        match key {
            [Value::Int(a)] => self.ints.contains(a),
            [Value::Int(a), Value::Int(b)] => self.pairs.contains(&(*a, *b)),
            _ => self.other.contains(key),
        }
    }

    /// Adds `key`; false when it was there.
    fn insert(&mut self, key: &[Value]) -> bool {
        match key {
            [Value::Int(a)] => self.ints.insert(*a),
            [Value::Int(a), Value::Int(b)] => self.pairs.insert((*a, *b)),
            _ => !self.other.contains(key) && self.other.insert(key.to_vec()),
        }
    }

    /// The keys, sorted ([`cmp_key`]).
    fn into_sorted(self) -> Vec<Vec<Value>> {
        let mut ints: Vec<i64> = self.ints.into_iter().collect();
        ints.sort_unstable();
        let mut pairs: Vec<(i64, i64)> = self.pairs.into_iter().collect();
        pairs.sort_unstable();
        let mut keys: Vec<Vec<Value>> = Vec::with_capacity(ints.len() + pairs.len() + self.other.len());
        keys.extend(ints.into_iter().map(|a| vec![Value::Int(a)]));
        keys.extend(pairs.into_iter().map(|(a, b)| vec![Value::Int(a), Value::Int(b)]));
        if !self.other.is_empty() {
            keys.extend(self.other);
            keys.sort_by(|a, b| cmp_key(a, b));
        }
        keys
    }
}

impl<'a> FromIterator<&'a Vec<Value>> for KeySet {
    fn from_iter<I: IntoIterator<Item = &'a Vec<Value>>>(iter: I) -> Self {
        let mut set = KeySet::default();
        for k in iter {
            set.insert(k);
        }
        set
    }
}

/// Sorts distinct keys ([`cmp_key`]); keys of integers without building comparisons of
/// values.
fn sort_keys(keys: &mut [Vec<Value>]) {
    let int = |k: &[Value]| match k {
        [Value::Int(a)] => Some((*a, None)),
        [Value::Int(a), Value::Int(b)] => Some((*a, Some(*b))),
        _ => None,
    };
    // Keys of one set have the same columns: all of one arity.
    if keys.iter().all(|k| int(k).is_some()) {
        keys.sort_unstable_by_key(|k| int(k).expect("integer keys"));
    } else {
        keys.sort_by(|a, b| cmp_key(a, b));
    }
}

struct TableState {
    table: Table,
    key_idx: Vec<usize>,
    columns: Vec<String>,
    /// The row key is a primary or unique key: it identifies a row whose key values are
    /// all non-NULL. False for a table without one (the key is every column, which
    /// duplicate rows share): every row is loose.
    keyed: bool,
    /// Some rows may be loose (not keyed, or NULL in some key of the source): every
    /// column is read and the rows are kept whatever [`KEEP_ROWS_BYTES`] says, since
    /// no key reads them again.
    pinned: bool,
    included: KeySet,
    down: KeySet,
    /// Loose rows (their key has a NULL, or the table has no key) by their whole value:
    /// how many copies are included, and whether the value was reached downwards.
    loose: HashMap<Row, (usize, bool), FastHash>,
    /// The included rows, every column, while they are kept (a primary key, within
    /// [`KEEP_ROWS_BYTES`], or [`TableState::pinned`]); `None` once given up.
    kept: Option<Vec<Row>>,
}

impl TableState {
    /// A row of this key is loose: the table has no key, or the key has a NULL.
    fn is_loose(&self, key: &[Value]) -> bool {
        !self.keyed || key.iter().any(Value::is_null)
    }

    fn idx(&self, cols: &[String]) -> Vec<usize> {
        cols.iter()
            .map(|c| {
                self.columns
                    .iter()
                    .position(|x| x == c)
                    .expect("read columns cover FK columns")
            })
            .collect()
    }
}

/// Whether some row of `table` in the source (in the job's snapshot) has a NULL in its
/// row key: a nullable unique key, or a SQLite primary key (which may hold NULL unless
/// it is the rowid or the table is `WITHOUT ROWID`, whatever the model says).
async fn null_in_key(source: &mut Connection, table: &Table) -> Result<bool, SyncError> {
    let key = row_key(table);
    let nullable = key.iter().any(|k| table.column(k).is_none_or(|c| c.nullable));
    if !nullable && source.engine() != Engine::Sqlite {
        return Ok(false);
    }
    let d = source.dialect();
    let any_null: Vec<String> = key.iter().map(|k| format!("{} IS NULL", d.ident(k))).collect();
    let sql = format!(
        "SELECT 1 FROM {} WHERE {} LIMIT 1",
        d.own_rows(table),
        any_null.join(" OR ")
    );
    let int = tether_schema::DataType::Int {
        bytes: 8,
        unsigned: false,
    };
    Ok(!source.query(&sql, &[int]).await?.is_empty())
}

/// The position of `k` in sorted `slots`.
fn slot<K: Ord>(slots: &[K], k: &K) -> usize {
    slots.binary_search(k).expect("a slot for every link")
}

fn pick(row: &Row, idx: &[usize]) -> Vec<Value> {
    idx.iter().map(|&i| row[i].clone()).collect()
}

/// [`pick`] into a buffer kept between rows.
fn fill(buf: &mut Vec<Value>, row: &Row, idx: &[usize]) {
    buf.clear();
    buf.extend(idx.iter().map(|&i| row[i].clone()));
}

/// Sorts rows of distinct keys by the columns at `idx` ([`cmp_at`]); by plain integers
/// when the key is one integer column in every row.
fn sort_rows(rows: &mut [Row], idx: &[usize]) {
    let int = |r: &Row| match idx {
        [i] => match r[*i] {
            Value::Int(a) => Some(a),
            _ => None,
        },
        _ => None,
    };
    if rows.iter().all(|r| int(r).is_some()) {
        rows.sort_unstable_by_key(|r| int(r).expect("integer keys"));
    } else {
        rows.sort_by(|a, b| cmp_at(a, b, idx));
    }
}

/// Compares two rows by the columns at `idx`, without making keys of them.
fn cmp_at(a: &Row, b: &Row, idx: &[usize]) -> Ordering {
    idx.iter()
        .map(|&i| cmp_value(&a[i], &b[i]))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// Rows of one table whose `columns` equal one of `keys` (sorted, distinct): the parents
/// an included row names, or the children of a followed FK.
struct Ask {
    table: TableName,
    columns: Vec<String>,
    keys: Vec<Vec<Value>>,
    /// For the log: the referenced columns, or the FK's name.
    shown: String,
    /// The followed FK, for children.
    child_fk: Option<String>,
    /// When the asked columns' own comparison is not the FK's: children of a caseless
    /// or otherwise collated key; both sides of a typed FK ([`typed`]).
    compare: Option<Compare>,
}

/// How children are matched to their parent's values when the child column's own
/// comparison is not the FK's: an FK compares with the parent column's collation
/// (SQLite: "the collation sequence of the parent key column is used"; PostgreSQL: the
/// referenced key's), so `'ABC'` is a child of a NOCASE `'abc'`, which `child IN
/// (...)` in the child's binary collation would not find.
#[derive(Clone)]
enum Compare {
    /// PostgreSQL: the child's columns as SQL, `COLLATE` the parent column's collation
    /// where it differs from the child's.
    Collated(Vec<String>),
    /// SQLite (no catalog of column collations): a semi-join with the parent, the
    /// parent's column on the left of each `=`, whose collation SQLite then uses, as
    /// the FK does.
    Parent { table: Box<Table>, columns: Vec<String> },
    /// PostgreSQL, an FK whose two sides have different types: with the FK's own
    /// operator and casts ([`typed`]), reading the side `toward` says.
    Typed {
        fk: Arc<typed::TypedFk>,
        toward: typed::Toward,
    },
}

/// How the children of `fk` must be compared with parent values, if not by the child
/// columns' own comparison ([`Compare`]). MariaDB/MySQL: InnoDB requires the same
/// character set and collation on both sides of a declared FK, so the child's own
/// comparison is the FK's.
fn fk_compare(engine: Engine, child: &Table, parent: &Table, fk: &ForeignKey) -> Option<Compare> {
    let d = tether_connect::dialect_of(engine);
    match engine {
        Engine::Postgres => {
            let mut differs = false;
            let exprs = fk
                .columns
                .iter()
                .zip(&fk.referenced_columns)
                .map(|(c, p)| {
                    let theirs = parent.extras.collations.get(p);
                    if theirs == child.extras.collations.get(c) {
                        return d.ident(c);
                    }
                    differs = true;
                    let collation = theirs.map_or("pg_catalog.\"default\"", String::as_str);
                    format!("{} COLLATE {collation}", d.ident(c))
                })
                .collect();
            differs.then_some(Compare::Collated(exprs))
        }
        Engine::Sqlite => {
            let collated = fk.referenced_columns.iter().any(|c| sqlite_collates(parent, c))
                || fk.columns.iter().any(|c| sqlite_collates(child, c));
            // The FK applies the parent column's affinity to the child's value: a TEXT
            // `'01'` is a child of an INTEGER `1`, which `child IN (1)` (the child's TEXT
            // affinity applied to 1) does not find; the semi-join's `=` between a numeric
            // and a text column converts the text, as the FK does. The other way (a TEXT
            // parent, a numeric child) `IN` already converts as the FK does.
            let numeric = |t: &Table, c: &String| t.column(c).is_some_and(|c| sqlite_numeric(&c.engine_type));
            let converted = fk
                .columns
                .iter()
                .zip(&fk.referenced_columns)
                .any(|(c, p)| numeric(parent, p) && !numeric(child, c));
            (collated || converted).then(|| Compare::Parent {
                table: Box::new(parent.clone()),
                columns: fk.referenced_columns.clone(),
            })
        }
        Engine::Mysql => None,
    }
}

/// Whether a SQLite column declared as `declared` has a numeric affinity (INTEGER, REAL
/// or NUMERIC, by SQLite's rules on the declared type's name).
fn sqlite_numeric(declared: &str) -> bool {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        return true;
    }
    !(t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") || t.contains("BLOB") || t.trim().is_empty())
}

/// Whether `column`'s definition in SQLite's `CREATE TABLE` of `table` names a
/// collation (SQLite keeps no catalog of them): the part of the column list between
/// commas at the top level that starts with the column's name says `COLLATE`. A
/// definition that cannot be read this way counts as collated (the semi-join is
/// correct either way, only slower).
fn sqlite_collates(table: &Table, column: &str) -> bool {
    let Some(definition) = table.extras.definition.as_deref() else {
        return false;
    };
    let Some(open) = definition.find('(') else { return true };
    let mut parts = Vec::new();
    let (mut depth, mut start, mut quote) = (0usize, open + 1, None::<char>);
    for (i, ch) in definition.char_indices().skip_while(|(i, _)| *i <= open) {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '`' | '\'') => quote = Some(ch),
            (None, '[') => quote = Some(']'),
            (None, '(') => depth += 1,
            (None, ')') if depth == 0 => {
                parts.push(&definition[start..i]);
                break;
            }
            (None, ')') => depth -= 1,
            (None, ',') if depth == 0 => {
                parts.push(&definition[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    let name = |part: &str| {
        let part = part.trim_start();
        let end = match part.chars().next() {
            Some(q @ ('"' | '`' | '\'' | '[')) => {
                let close = if q == '[' { ']' } else { q };
                return part[1..].split(close).next().map(str::to_string);
            }
            _ => part.find(|c: char| c.is_whitespace()).unwrap_or(part.len()),
        };
        Some(part[..end].to_string())
    };
    parts
        .iter()
        .find(|p| name(p).is_some_and(|n| n.eq_ignore_ascii_case(column)))
        .is_none_or(|p| p.to_ascii_lowercase().contains("collate"))
}

/// The queries of an ask compared as its FK compares ([`Compare`]): IN lists of
/// literals, [`tether_connect::rw::KEYS_PER_QUERY`] keys each; typed FKs' arrays,
/// [`KEYS_PER_ARRAY`] keys each.
fn compared_pieces(engine: Engine, st: &TableState, ask: &Ask, index: usize, compare: &Compare) -> Vec<Piece> {
    let d = tether_connect::dialect_of(engine);
    let list = |keys: &[Vec<Value>]| {
        keys.iter()
            .map(|k| match k.len() {
                1 => d.literal(&k[0]),
                _ => format!("({})", k.iter().map(|v| d.literal(v)).collect::<Vec<_>>().join(", ")),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let tuple = |cols: Vec<String>| match cols.len() {
        1 => cols.into_iter().next().expect("one column"),
        _ => format!("({})", cols.join(", ")),
    };
    let per = match compare {
        Compare::Typed { .. } => KEYS_PER_ARRAY,
        _ => tether_connect::rw::KEYS_PER_QUERY,
    };
    ask.keys
        .chunks(per)
        .map(|keys| {
            let cond = match compare {
                Compare::Typed { fk, toward } => typed::condition(&st.table, fk, *toward, keys),
                Compare::Collated(exprs) => format!("{} IN ({})", tuple(exprs.clone()), list(keys)),
                Compare::Parent { table, columns } => {
                    let child = d.qualified(&st.table);
                    let mut join: Vec<String> = columns
                        .iter()
                        .zip(&ask.columns)
                        .map(|(p, c)| format!("tether_p.{} = {child}.{}", d.ident(p), d.ident(c)))
                        .collect();
                    let parent_cols = tuple(columns.iter().map(|p| format!("tether_p.{}", d.ident(p))).collect());
                    join.push(match columns.len() {
                        1 => format!("{parent_cols} IN ({})", list(keys)),
                        _ => format!("{parent_cols} IN (VALUES {})", list(keys)),
                    });
                    format!(
                        "EXISTS (SELECT 1 FROM {} tether_p WHERE {})",
                        d.own_rows(table),
                        join.join(" AND ")
                    )
                }
            };
            Piece {
                ask: index,
                keys: keys.len(),
                spec: ReadSpec {
                    table: st.table.clone(),
                    columns: st.columns.clone(),
                    filter: Filter::Where(cond),
                    order_by: vec![],
                    limit: None,
                },
                exact: None,
            }
        })
        .collect()
}

/// One query of an [`Ask`]: the read, and the keys its rows must be among when the
/// query asks by a composite key's first column only.
struct Piece {
    ask: usize,
    /// How many keys (or first values of keys) it asks for.
    keys: usize,
    spec: ReadSpec,
    exact: Option<Arc<(Vec<usize>, KeySet)>>,
}

/// At most this many keys in one PostgreSQL array (about 0.5 MB of SQL for integers).
const KEYS_PER_ARRAY: usize = 50_000;

/// An ask read through an index is split across connections from this many keys per
/// connection ([`pieces`]).
const SPLIT_FROM: usize = 1_000;

/// Whether `column` is the first column of the table's primary key, of a unique key or
/// of a whole-table index: rows asked for by its values are found by probing, not by a
/// scan.
fn leads_index(table: &Table, column: &str) -> bool {
    let leads = |columns: &[String]| columns.first().is_some_and(|c| c == column);
    leads(&table.primary_key)
        || table
            .unique_keys
            .iter()
            .any(|u| u.predicate.is_none() && leads(&u.columns))
        || table
            .extras
            .indexes
            .iter()
            .any(|i| i.predicate.is_none() && leads(&i.columns))
}

/// Whether `column` leads the primary key, a unique key or a whole-table btree index
/// compared with the column's own collation and operators: rows asked for by ranges of
/// its values are found by one index scan. A hash or BRIN index cannot answer a range,
/// and an index of another collation or operator class does not serve the column's own
/// comparisons; the server would scan the table for each query of ranges instead.
fn btree_leads(table: &Table, column: &str) -> bool {
    let leads = |columns: &[String]| columns.first().is_some_and(|c| c == column);
    let plain = |i: &tether_schema::Index| {
        i.predicate.is_none()
            && i.method.eq_ignore_ascii_case("btree")
            && !i.definition.contains(" COLLATE ")
            && !i.definition.contains("_ops")
    };
    // A bare unique index is judged as an index (it may name a collation).
    let unique = |u: &tether_schema::UniqueKey| {
        u.constraint || table.extras.indexes.iter().any(|i| i.name == u.name && plain(i))
    };
    leads(&table.primary_key)
        || table
            .unique_keys
            .iter()
            .any(|u| u.predicate.is_none() && leads(&u.columns) && unique(u))
        || table.extras.indexes.iter().any(|i| leads(&i.columns) && plain(i))
}

/// How a subset asks the source for rows by their keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyReads {
    /// The server computes the fixpoint in temp tables where it can (PostgreSQL, see
    /// [`server`]); else as [`KeyReads::Arrays`]. Not the default ([`compute`]):
    /// slower on the demo.
    Server,
    /// Where the engine can: the keys as one array per column, joined by the server
    /// ([`tether_connect::keyset`]); else IN lists.
    Arrays,
    /// IN lists everywhere ([`Filter::KeysIn`]), as before arrays (kept for comparison).
    InLists,
}

/// The queries reading `ask`. PostgreSQL: a composite integer key by its first column
/// (the rows outside the keys dropped here); one-column integer keys in runs of
/// [`RUN_FROM`] or more by ranges ([`keyset::ranges_in`]) where the column leads a plain
/// btree index ([`btree_leads`]: one index scan per query of ranges), or OR'ed into the
/// one query of a scanned table when there are at most [`SCAN_RANGES`]; every other key
/// as arrays joined by the server ([`keyset::keys_in`]). Other engines and key types:
/// IN lists ([`Filter::KeysIn`], which read integer runs as ranges of their own).
///
/// An ask read through an index (its first column leads one) on several connections is
/// split into `parts` queries of about as many keys each, so one large ask does not keep
/// the round waiting on one connection while the others are idle; an ask the server
/// answers with a scan stays one query (two would scan twice).
fn pieces(engine: Engine, how: KeyReads, st: &TableState, ask: &Ask, index: usize, parts: usize) -> Vec<Piece> {
    if let Some(compare) = &ask.compare {
        return compared_pieces(engine, st, ask, index, compare);
    }
    let per_query = |keys: usize, limit: usize| match parts > 1
        && keys >= SPLIT_FROM * parts
        && leads_index(&st.table, &ask.columns[0])
    {
        true => keys.div_ceil(parts).min(limit),
        false => limit,
    };
    let spec = |filter: Filter| ReadSpec {
        table: st.table.clone(),
        columns: st.columns.clone(),
        filter,
        order_by: vec![],
        limit: None,
    };
    let in_lists = || {
        ask.keys
            .chunks(per_query(ask.keys.len(), usize::MAX))
            .map(|keys| Piece {
                ask: index,
                keys: keys.len(),
                spec: spec(Filter::KeysIn {
                    columns: ask.columns.clone(),
                    keys: keys.to_vec(),
                }),
                exact: None,
            })
            .collect()
    };
    if engine != Engine::Postgres || how == KeyReads::InLists {
        return in_lists();
    }
    let int = |v: &Value| matches!(v, Value::Int(_));
    let by_first = ask.columns.len() > 1
        && ask
            .columns
            .iter()
            .all(|c| st.table.column(c).is_some_and(|c| c.normalized_type.is_integer()))
        && ask.keys.iter().all(|k| k.iter().all(int));
    let (columns, keys, exact) = match by_first {
        true => {
            let mut leads: Vec<Vec<Value>> = ask.keys.iter().map(|k| vec![k[0].clone()]).collect();
            leads.dedup();
            let exact = Arc::new((st.idx(&ask.columns), ask.keys.iter().collect::<KeySet>()));
            (vec![ask.columns[0].clone()], leads, Some(exact))
        }
        false => (ask.columns.clone(), ask.keys.clone(), None),
    };
    let per = per_query(keys.len(), KEYS_PER_ARRAY);
    let single = columns.len() == 1;
    let probed = btree_leads(&st.table, &columns[0]);
    // Another index (hash, BRIN, another collation) is left to the semi-join.
    let (mut runs, mut keys) = match single && (probed || !leads_index(&st.table, &columns[0])) {
        true => runs_of(keys),
        false => (Vec::new(), keys),
    };
    // A scan reads the table once: its ranges go into its one query, and only a few
    // (each row is compared with every range; the keys go through one hash).
    if !probed && runs.len() > SCAN_RANGES {
        keys.extend(
            runs.drain(..)
                .flat_map(|(lo, hi)| (lo..=hi).map(|v| vec![Value::Int(v)])),
        );
    }
    let mut conds: Vec<(usize, String)> = Vec::new();
    let ranged = |group: &[(i64, i64)]| {
        let keys = group
            .iter()
            .map(|(lo, hi)| hi.abs_diff(*lo) as usize + 1)
            .sum::<usize>();
        keyset::ranges_in(engine, &st.table, &columns[0], group).map(|cond| (keys, cond))
    };
    match probed {
        true => {
            for group in group_runs(&runs, per) {
                let Some(cond) = ranged(&group) else { return in_lists() };
                conds.push(cond);
            }
            for chunk in keys.chunks(per) {
                let Some(cond) = keyset::keys_in(engine, &st.table, &columns, chunk) else {
                    return in_lists();
                };
                conds.push((chunk.len(), cond));
            }
        }
        false => {
            // One query per chunk of keys, the ranges in the first (or alone).
            let mut ranges = match runs.is_empty() {
                true => None,
                false => match ranged(&runs) {
                    Some(r) => Some(r),
                    None => return in_lists(),
                },
            };
            for chunk in keys.chunks(per) {
                let Some(cond) = keyset::keys_in(engine, &st.table, &columns, chunk) else {
                    return in_lists();
                };
                conds.push(match ranges.take() {
                    Some((n, r)) => (n + chunk.len(), format!("({r} OR {cond})")),
                    None => (chunk.len(), cond),
                });
            }
            conds.extend(ranges);
        }
    }
    conds
        .into_iter()
        .map(|(keys, cond)| Piece {
            ask: index,
            keys,
            spec: spec(Filter::Where(cond)),
            exact: exact.clone(),
        })
        .collect()
}

/// A run of at least this many consecutive integer keys is asked for as one range
/// ([`runs_of`]).
const RUN_FROM: usize = 16;

/// At most this many ranges in one query (an OR of index range scans).
const RANGES_PER_QUERY: usize = 64;

/// At most this many ranges in the one query of a scanned table; more are asked for as
/// keys.
const SCAN_RANGES: usize = 4;

/// Integer keys (one value each) split into runs of [`RUN_FROM`] or more consecutive
/// values, as `(first, last)`, and the keys outside them. Keys that are not all integers
/// come back as they are, with no runs.
fn runs_of(keys: Vec<Vec<Value>>) -> (Vec<(i64, i64)>, Vec<Vec<Value>>) {
    let mut ints: Vec<i64> = Vec::with_capacity(keys.len());
    for key in &keys {
        match key.as_slice() {
            [Value::Int(v)] => ints.push(*v),
            _ => return (Vec::new(), keys),
        }
    }
    ints.sort_unstable();
    ints.dedup();
    let (mut runs, mut rest) = (Vec::new(), Vec::new());
    for (lo, hi) in tether_connect::rw::int_runs(&ints) {
        match hi.abs_diff(lo) as usize + 1 >= RUN_FROM {
            true => runs.push((lo, hi)),
            false => rest.extend((lo..=hi).map(|v| vec![Value::Int(v)])),
        }
    }
    (runs, rest)
}

/// `runs` grouped into queries of about `per` keys and at most [`RANGES_PER_QUERY`]
/// ranges each, a run longer than `per` cut into several.
fn group_runs(runs: &[(i64, i64)], per: usize) -> Vec<Vec<(i64, i64)>> {
    let per = per.max(1) as i64;
    let mut groups: Vec<Vec<(i64, i64)>> = Vec::new();
    let mut group = Vec::new();
    let mut in_group = 0i64;
    for &(lo, hi) in runs {
        let mut lo = lo;
        loop {
            let room = per - in_group;
            let end = match hi - lo < room {
                true => hi,
                false => lo + (room - 1),
            };
            group.push((lo, end));
            in_group += end - lo + 1;
            if in_group >= per || group.len() == RANGES_PER_QUERY {
                groups.push(std::mem::take(&mut group));
                in_group = 0;
            }
            if end == hi {
                break;
            }
            lo = end + 1;
        }
    }
    if !group.is_empty() {
        groups.push(group);
    }
    groups
}

/// A parent key asked for: the parent table, its referenced columns, and (for a typed
/// FK, [`typed`]) the child table and FK whose values it holds.
type ParentSlot = (TableName, Vec<String>, Option<(TableName, String)>);

/// Where the subset's time went, for the log.
#[derive(Default)]
struct Stats {
    queries: usize,
    /// Time inside queries, summed over connections.
    reading: Duration,
    /// Time waiting for a round's reads (wall).
    waiting: Duration,
}

/// Runs the reads of `asks` on `source` and `more` (connections in the same snapshot),
/// each connection taking the next query when done; returns each ask's rows, in the
/// order its queries were made.
async fn read_asks(
    source: &mut Connection,
    more: &mut [Connection],
    state: &HashMap<TableName, TableState>,
    asks: &[Ask],
    how: KeyReads,
    stats: &mut Stats,
) -> Result<Vec<Vec<Row>>, SyncError> {
    let started = Instant::now();
    let engine = source.engine();
    let pieces: Vec<Piece> = asks
        .iter()
        .enumerate()
        .flat_map(|(i, ask)| pieces(engine, how, &state[&ask.table], ask, i, 1 + more.len()))
        .collect();
    let count = pieces.len();
    // Scans first, then the queries with the most keys: the connections finish the
    // round at about the same time. Results are still handled in the round's order.
    let mut queue: Vec<(usize, Piece)> = pieces.into_iter().enumerate().collect();
    queue.sort_by_key(|(_, p)| {
        let scan = !leads_index(&p.spec.table, &asks[p.ask].columns[0]);
        std::cmp::Reverse((scan, p.keys))
    });
    let queue = Mutex::new(queue.into_iter().collect::<VecDeque<_>>());
    let conns: Vec<&mut Connection> = std::iter::once(source).chain(more.iter_mut()).take(count).collect();
    let workers = conns.into_iter().map(|conn| {
        let queue = &queue;
        async move {
            let mut done = Vec::new();
            loop {
                let next = queue.lock().expect("subset queue lock").pop_front();
                let Some((n, piece)) = next else { break };
                let started = Instant::now();
                let mut rows = match conn.read_all(&piece.spec).await {
                    Ok(rows) => rows,
                    // A typed FK's read names the FK and both types.
                    Err(e) => match &asks[piece.ask].compare {
                        Some(Compare::Typed { fk, .. }) => {
                            return Err(SyncError::Plan(format!(
                                "subset: reading {} by foreign key {}: {e}",
                                asks[piece.ask].table,
                                fk.shown()
                            )))
                        }
                        _ => return Err(e.into()),
                    },
                };
                if let Some(exact) = &piece.exact {
                    let (idx, keys) = &**exact;
                    let mut probe = Vec::with_capacity(idx.len());
                    rows.retain(|r| {
                        fill(&mut probe, r, idx);
                        keys.contains(probe.as_slice())
                    });
                }
                done.push((n, piece.ask, rows, started.elapsed()));
            }
            Ok::<_, SyncError>(done)
        }
    });
    let mut done = Vec::with_capacity(count);
    for result in crate::execute::join_all(workers.collect()).await {
        done.extend(result?);
    }
    done.sort_by_key(|(n, ..)| *n);
    let mut out: Vec<Vec<Row>> = asks.iter().map(|_| Vec::new()).collect();
    let mut took: Vec<Duration> = asks.iter().map(|_| Duration::ZERO).collect();
    for (_, ask, rows, elapsed) in done {
        out[ask].extend(rows);
        took[ask] += elapsed;
        stats.reading += elapsed;
    }
    stats.queries += count;
    stats.waiting += started.elapsed();
    for ((ask, rows), took) in asks.iter().zip(&out).zip(took) {
        tracing::debug!(
            "subset: {} by {}: {} keys, {} rows, {took:?}",
            ask.table,
            ask.shown,
            ask.keys.len(),
            rows.len()
        );
    }
    Ok(out)
}

/// Computes the subset on the source connection (inside its snapshot), reading on `more`
/// connections in the same snapshot too when given.
pub async fn compute(
    source: &mut Connection,
    more: &mut [Connection],
    schema: &Schema,
    rules: &SubsetRules,
) -> Result<Subset, SyncError> {
    compute_with(source, more, schema, rules, KeyReads::Arrays).await
}

/// [`compute`], reading keys as `how` says.
pub async fn compute_with(
    source: &mut Connection,
    more: &mut [Connection],
    schema: &Schema,
    rules: &SubsetRules,
    how: KeyReads,
) -> Result<Subset, SyncError> {
    // FK edges among subset tables: (child, fk, parent).
    let edges: Vec<(TableName, ForeignKey, TableName)> = schema
        .tables
        .iter()
        .filter(|t| rules.tables.contains(&t.table_name()))
        .flat_map(|t| {
            t.foreign_keys
                .iter()
                .map(move |fk| (t.table_name(), fk.clone(), fk.referenced_name()))
        })
        .filter(|(_, _, p)| rules.tables.contains(p))
        .collect();
    // PostgreSQL FKs whose sides have different types, read with the FK's operator.
    let typed_fks = match source.engine() {
        Engine::Postgres => {
            // Only FKs whose columns are declared otherwise are looked up (the usual
            // keys cost no query).
            let declared = |t: &TableName, c: &String| {
                schema
                    .table(t)
                    .and_then(|t| t.column(c))
                    .map(|c| c.engine_type.as_str())
            };
            let with_tables: Vec<(&Table, &ForeignKey)> = edges
                .iter()
                .filter(|(c, fk, p)| {
                    fk.columns
                        .iter()
                        .zip(&fk.referenced_columns)
                        .any(|(cc, pc)| declared(c, cc) != declared(p, pc))
                })
                .map(|(c, fk, _)| (schema.table(c).expect("subset tables exist"), fk))
                .collect();
            typed::read(source, &with_tables).await?
        }
        _ => HashMap::new(),
    };
    // The server's fixpoint joins with `=`: not the FK's comparison for typed FKs.
    if how == KeyReads::Server && typed_fks.is_empty() {
        if let Some(out) = server::compute(source, more, schema, rules).await? {
            return Ok(out);
        }
    }
    let started = Instant::now();
    let mut stats = Stats::default();

    let mut state: HashMap<TableName, TableState> = HashMap::new();
    for name in &rules.tables {
        let table = schema.table(name).expect("subset tables exist").clone();
        let keyed = !table.primary_key.is_empty() || table.unique_keys.iter().any(|u| u.predicate.is_none());
        let pinned = !keyed || null_in_key(source, &table).await?;
        // Every column when the rows are kept for the load (one read instead of two);
        // else the key and the link columns only.
        let keep = !table.primary_key.is_empty() || pinned;
        let mut columns = match keep {
            true => table.columns.iter().map(|c| c.name.clone()).collect(),
            false => row_key(&table),
        };
        let mut add = |cols: &[String]| {
            for c in cols {
                if !columns.contains(c) {
                    columns.push(c.clone());
                }
            }
        };
        add(&row_key(&table));
        for (c, fk, p) in &edges {
            if c == name {
                add(&fk.columns);
            }
            if p == name {
                add(&fk.referenced_columns);
            }
        }
        let key_idx = row_key(&table)
            .iter()
            .map(|k| columns.iter().position(|c| c == k).expect("key columns are read"))
            .collect();
        state.insert(
            name.clone(),
            TableState {
                table,
                key_idx,
                columns,
                keyed,
                pinned,
                included: KeySet::default(),
                down: KeySet::default(),
                loose: HashMap::default(),
                kept: keep.then(Vec::new),
            },
        );
    }

    // The key's order (the source's ORDER BY, its collation), then, where rows may share
    // a key (NULLs, duplicates), the other columns: the same rows on every run.
    let read = |st: &TableState, filter: Filter, order: bool, limit: Option<u64>| ReadSpec {
        table: st.table.clone(),
        columns: st.columns.clone(),
        filter,
        order_by: match (order, st.pinned) {
            (false, _) => vec![],
            (true, false) => row_key(&st.table),
            (true, true) => {
                let mut by = row_key(&st.table);
                by.extend(
                    st.columns
                        .iter()
                        .filter(|c| !by.contains(c))
                        .cloned()
                        .collect::<Vec<_>>(),
                );
                by
            }
        },
        limit,
    };

    let mut queue: VecDeque<(TableName, Vec<Row>, bool)> = VecDeque::new();
    for (name, target) in &rules.targets {
        let st = &state[name];
        // `percent` and `limit`: the sample first, then its first `limit` rows in the
        // key's order (the SQL LIMIT would sample the first rows instead).
        let sql_limit = match target.percent {
            Some(_) => None,
            None => target.limit,
        };
        let mut rows = source
            .read_all(&read(st, target.filter(), target.limit.is_some(), sql_limit))
            .await?;
        if let Some(p) = target.percent {
            let threshold = (p * 10_000.0).round() as u64;
            let mut key = Vec::new();
            let row_types: Vec<_> = st
                .columns
                .iter()
                .map(|c| st.table.column(c).map(|c| &c.normalized_type))
                .collect();
            let key_types: Vec<_> = st.key_idx.iter().map(|&i| row_types[i]).collect();
            rows.retain(|r| {
                fill(&mut key, r, &st.key_idx);
                // A loose row by its whole value: rows sharing a NULL key are sampled
                // one by one.
                let (hashed, types) = match st.is_loose(&key) {
                    true => (r.as_slice(), row_types.as_slice()),
                    false => (key.as_slice(), key_types.as_slice()),
                };
                stable_hash(hashed, types) % 1_000_000 < threshold
            });
            if let Some(limit) = target.limit {
                rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            }
        }
        tracing::debug!("subset target {name}: {} rows, {:?}", rows.len(), started.elapsed());
        queue.push_back((name.clone(), rows, true));
    }

    // Values already asked for, so each is queried once: one slot per parent key
    // (table, referenced columns) and per followed child FK, in a fixed order (sorted),
    // so rows pick their slot by index instead of building a map key per row.
    // A typed FK has a slot of its own: its values compare with the parent's only
    // through its operator.
    let typed_via = |c: &TableName, fk: &ForeignKey| {
        let key = (c.clone(), fk.name.clone());
        typed_fks.contains_key(&key).then_some(key)
    };
    let mut parent_slots: Vec<ParentSlot> = edges
        .iter()
        .map(|(c, fk, p)| (p.clone(), fk.referenced_columns.clone(), typed_via(c, fk)))
        .collect();
    parent_slots.sort();
    parent_slots.dedup();
    let mut child_slots: Vec<(TableName, String)> = edges
        .iter()
        .filter(|(c, fk, _)| rules.follow.contains_key(&(c.clone(), fk.name.clone())))
        .map(|(c, fk, _)| (c.clone(), fk.name.clone()))
        .collect();
    child_slots.sort();
    child_slots.dedup();
    let reached_down: HashSet<&TableName> = child_slots.iter().map(|(c, _)| c).collect();
    let mut asked_parent: Vec<KeySet> = parent_slots.iter().map(|_| KeySet::default()).collect();
    let mut asked_child: Vec<KeySet> = child_slots.iter().map(|_| KeySet::default()).collect();
    // Children are followed to their fixpoint first, parents after: rows reached
    // downwards are then known, and a parent key already included is not read again
    // (parent rows never lead downwards, so the order changes no result). Tables no
    // followed FK reaches are not waited for.
    let mut want_parent: Vec<Vec<Vec<Value>>> = vec![Vec::new(); parent_slots.len()];
    let mut round = 0;
    let mut kept_bytes = 0usize;
    let mut probe: Vec<Value> = Vec::new();
    let mut key: Vec<Value> = Vec::new();
    loop {
        let mut want_child: Vec<Vec<Vec<Value>>> = vec![Vec::new(); child_slots.len()];
        while let Some((name, rows, downward)) = queue.pop_front() {
            let parent_links: Vec<(usize, Vec<usize>)> = edges
                .iter()
                .filter(|(c, _, _)| c == &name)
                .map(|(c, fk, p)| {
                    let s = slot(
                        &parent_slots,
                        &(p.clone(), fk.referenced_columns.clone(), typed_via(c, fk)),
                    );
                    (s, state[&name].idx(&fk.columns))
                })
                .collect();
            let child_links: Vec<(usize, Vec<usize>)> = edges
                .iter()
                .filter(|(c, fk, p)| p == &name && rules.follow.contains_key(&(c.clone(), fk.name.clone())))
                .map(|(c, fk, _)| {
                    let s = slot(&child_slots, &(c.clone(), fk.name.clone()));
                    (s, state[&name].idx(&fk.referenced_columns))
                })
                .collect();
            let st = state.get_mut(&name).expect("state for every subset table");
            // Copies of each loose value in this read so far: a read returning a value
            // n times chose n rows; the value reached again (another read) adds rows
            // only past the copies already included.
            let mut copies: HashMap<Row, usize, FastHash> = HashMap::default();
            for row in rows {
                // Keys and linked values are looked up in buffers kept between rows (no
                // allocation for keys of integers, see `KeySet`).
                fill(&mut key, &row, &st.key_idx);
                let loose = st.is_loose(&key);
                let (new_row, new_down) = match loose {
                    false => {
                        let new_down = downward && st.down.insert(&key);
                        (st.included.insert(&key), new_down)
                    }
                    true => {
                        let copy = copies.entry(row.clone()).or_insert(0);
                        *copy += 1;
                        let (have, down) = st.loose.entry(row.clone()).or_insert((0, false));
                        let new_row = *copy > *have;
                        if new_row {
                            *have = *copy;
                        }
                        let new_down = downward && !*down;
                        *down |= downward;
                        (new_row, new_down)
                    }
                };
                if new_row {
                    for (s, idx) in &parent_links {
                        fill(&mut probe, &row, idx);
                        if !probe.iter().any(Value::is_null) && asked_parent[*s].insert(&probe) {
                            want_parent[*s].push(probe.clone());
                        }
                    }
                }
                if new_down {
                    for (s, idx) in &child_links {
                        fill(&mut probe, &row, idx);
                        if !probe.iter().any(Value::is_null) && asked_child[*s].insert(&probe) {
                            want_child[*s].push(probe.clone());
                        }
                    }
                }
                // A loose row is kept whatever the size: no key would read it again.
                st.pinned |= loose;
                match (new_row, &mut st.kept) {
                    (false, _) => {}
                    (true, Some(kept)) => {
                        kept_bytes += row_bytes(&row);
                        if kept_bytes > KEEP_ROWS_BYTES && !st.pinned {
                            tracing::debug!("subset: rows of {name} past {KEEP_ROWS_BYTES} bytes, not kept");
                            kept_bytes -= kept.iter().map(row_bytes).sum::<usize>() + row_bytes(&row);
                            st.kept = None;
                        } else {
                            kept.push(row);
                        }
                    }
                    (true, None) if loose => {
                        return Err(SyncError::Plan(format!(
                            "subset: table {name}: a row whose key ({}) has a NULL appeared after the rows of \
                             the table were let go (the source changed during the snapshot?); no key can read it again",
                            row_key(&st.table).join(", ")
                        )));
                    }
                    (true, None) => {}
                }
            }
        }
        if want_parent.iter().all(Vec::is_empty) && want_child.iter().all(Vec::is_empty) {
            break;
        }
        round += 1;
        // This round's reads: parents (once no child is left to follow), then children,
        // each read once by every value asked for; run side by side on the snapshot's
        // connections and handled in this order, so the result does not depend on which
        // read finishes first.
        let parents_now = want_child.iter().all(Vec::is_empty);
        let mut asks: Vec<Ask> = Vec::new();
        for ((parent, cols, via), values) in parent_slots.iter().zip(&mut want_parent) {
            // A table no followed FK leads down to gets no rows downwards: its parents
            // are read in the round that asks for them, beside the children.
            if (!parents_now && reached_down.contains(parent)) || values.is_empty() {
                continue;
            }
            let mut values = std::mem::take(values);
            let st = &state[parent];
            // A typed FK's values are not the parent's (a `char(6)` `'ab    '` for a
            // `varchar` `'ab'`): they are all read.
            if row_key(&st.table) == *cols && via.is_none() {
                values.retain(|v| !st.included.contains(v));
                if values.is_empty() {
                    continue;
                }
            }
            sort_keys(&mut values);
            let compare = via.as_ref().map(|via| Compare::Typed {
                fk: typed_fks[via].clone(),
                toward: typed::Toward::Parent,
            });
            asks.push(Ask {
                table: parent.clone(),
                columns: cols.clone(),
                keys: values,
                shown: format!("({})", cols.join(", ")),
                child_fk: None,
                compare,
            });
        }
        for ((child, fk_name), mut values) in child_slots.iter().zip(want_child) {
            if values.is_empty() {
                continue;
            }
            sort_keys(&mut values);
            let (_, fk, _) = edges
                .iter()
                .find(|(c, f, _)| c == child && &f.name == fk_name)
                .expect("followed FK exists");
            let compare = match typed_fks.get(&(child.clone(), fk_name.clone())) {
                Some(typed) => Some(Compare::Typed {
                    fk: typed.clone(),
                    toward: typed::Toward::Child,
                }),
                None => fk_compare(
                    source.engine(),
                    &state[child].table,
                    &state[&fk.referenced_name()].table,
                    fk,
                ),
            };
            asks.push(Ask {
                table: child.clone(),
                columns: fk.columns.clone(),
                keys: values,
                shown: fk_name.clone(),
                child_fk: Some(fk_name.clone()),
                compare,
            });
        }
        let results = read_asks(source, more, &state, &asks, how, &mut stats).await?;
        for (ask, mut rows) in asks.into_iter().zip(results) {
            let Some(fk_name) = ask.child_fk else {
                queue.push_back((ask.table, rows, false));
                continue;
            };
            let st = &state[&ask.table];
            if let Some(Some(cap)) = rules.follow.get(&(ask.table.clone(), fk_name.clone())) {
                let fk_idx = st.idx(&ask.columns);
                // Each row counts against its parent's cap: the asked value its FK
                // value is equal to as the FK compares ('ABC', 'abc ' of a `_ci`, PAD
                // SPACE or caseless parent 'abc' count as that parent's), then the key's
                // order, then (rows sharing a key: NULLs, duplicates) every column's: the
                // same rows on every run.
                let (_, fk, parent) = edges
                    .iter()
                    .find(|(c, f, _)| c == &ask.table && f.name == fk_name)
                    .expect("followed FK exists");
                let typed = match &ask.compare {
                    Some(Compare::Typed { fk, .. }) => Some(fk.as_ref()),
                    _ => None,
                };
                let values: Vec<Vec<Value>> = rows.iter().map(|r| pick(r, &fk_idx)).collect();
                let parents =
                    cap::parents_of(source, &st.table, &state[parent].table, fk, typed, &ask.keys, &values).await?;
                let mut ranked: Vec<(Option<usize>, Row)> = parents.into_iter().zip(rows).collect();
                let every: Vec<usize> = (0..st.columns.len()).collect();
                ranked.sort_by(|(pa, a), (pb, b)| {
                    // (A row whose parent value is not found counts by its own value.)
                    pa.unwrap_or(usize::MAX)
                        .cmp(&pb.unwrap_or(usize::MAX))
                        .then_with(|| match pa.is_none() && pb.is_none() {
                            true => cmp_at(a, b, &fk_idx),
                            false => std::cmp::Ordering::Equal,
                        })
                        .then(cmp_at(a, b, &st.key_idx))
                        .then(cmp_at(a, b, &every))
                });
                // A row two of the ask's queries both returned (on SQLite, the text
                // values '7' and '7.0' of a parent both match a child's integer 7, and
                // they may fall in different queries) counts once against the cap. Loose
                // rows (no key tells them apart) all stay.
                ranked.dedup_by(|(_, a), (_, b)| {
                    cmp_at(a, b, &st.key_idx).is_eq() && !st.is_loose(&pick(a, &st.key_idx))
                });
                let mut kept: Vec<Row> = Vec::with_capacity(ranked.len());
                let mut run = 0u64;
                let mut last: Option<(Option<usize>, Vec<Value>)> = None;
                for (parent, r) in ranked {
                    let v = match parent {
                        Some(_) => Vec::new(),
                        None => pick(&r, &fk_idx),
                    };
                    let group = Some((parent, v));
                    if last == group {
                        run += 1;
                    } else {
                        run = 1;
                        last = group;
                    }
                    if run <= *cap {
                        kept.push(r);
                    }
                }
                rows = kept;
            }
            queue.push_back((ask.table, rows, true));
        }
    }

    let mut out = Subset::default();
    let rows = out.rows.get_mut().expect("subset rows lock");
    for (name, st) in state {
        let mut keys = st.included.into_sorted();
        if !st.loose.is_empty() {
            // Loose rows count with their copies; their keys (with NULLs, or every
            // column) are listed for the load's count, never read by.
            let copies: usize = st.loose.values().map(|(n, _)| n).sum();
            out.counts.insert(name.clone(), (keys.len() + copies) as u64);
            let mut set: KeySet = keys.iter().collect();
            for row in st.loose.keys() {
                set.insert(&pick(row, &st.key_idx));
            }
            keys = set.into_sorted();
        }
        if let Some(mut kept) = st.kept {
            // Kept rows were read with every column, in the table's order; their keys
            // are distinct, except loose rows (ordered by every column then).
            debug_assert_eq!(st.columns.len(), st.table.columns.len());
            match st.loose.is_empty() {
                true => sort_rows(&mut kept, &st.key_idx),
                false => {
                    let every: Vec<usize> = (0..st.columns.len()).collect();
                    kept.sort_by(|a, b| cmp_at(a, b, &st.key_idx).then(cmp_at(a, b, &every)));
                }
            }
            rows.insert(name.clone(), kept);
        }
        out.keys.insert(name, keys);
    }
    tracing::debug!(
        "subset: {} keys in {} tables ({} kept with their rows, {kept_bytes} bytes), {round} rounds, \
         {} queries on {} connections ({:?} in queries, {:?} waiting for them), {:?} in all",
        out.keys.values().map(Vec::len).sum::<usize>(),
        out.keys.len(),
        rows.len(),
        stats.queries,
        1 + more.len(),
        stats.reading,
        stats.waiting,
        started.elapsed()
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(values: &[Value]) -> Vec<Value> {
        values.to_vec()
    }

    #[test]
    fn only_plain_btree_indexes_serve_ranges() {
        let index = |name: &str, method: &str, definition: &str| tether_schema::Index {
            name: name.into(),
            columns: vec!["c".into()],
            unique: false,
            method: method.into(),
            predicate: None,
            definition: definition.into(),
            comment: None,
        };
        let with = |i: tether_schema::Index| {
            let mut t = Table {
                name: "t".into(),
                primary_key: vec!["id".into()],
                ..Table::default()
            };
            t.extras.indexes.push(i);
            t
        };
        let plain = with(index("t_c", "btree", "CREATE INDEX t_c ON public.t USING btree (c)"));
        assert!(btree_leads(&plain, "c") && btree_leads(&plain, "id"));
        assert!(!btree_leads(&plain, "other"));
        for i in [
            index("t_c", "hash", "CREATE INDEX t_c ON public.t USING hash (c)"),
            index("t_c", "brin", "CREATE INDEX t_c ON public.t USING brin (c)"),
            index(
                "t_c",
                "btree",
                "CREATE INDEX t_c ON public.t USING btree (c COLLATE \"C\")",
            ),
            index(
                "t_c",
                "btree",
                "CREATE INDEX t_c ON public.t USING btree (c text_pattern_ops)",
            ),
            tether_schema::Index {
                predicate: Some("c > 0".into()),
                ..index(
                    "t_c",
                    "btree",
                    "CREATE INDEX t_c ON public.t USING btree (c) WHERE c > 0",
                )
            },
        ] {
            let t = with(i.clone());
            assert!(leads_index(&t, "c") || i.predicate.is_some(), "{i:?}");
            assert!(!btree_leads(&t, "c"), "{i:?}");
        }
        let mut bare = with(index(
            "t_c_key",
            "btree",
            "CREATE UNIQUE INDEX t_c_key ON public.t USING btree (c COLLATE \"C\")",
        ));
        bare.unique_keys.push(tether_schema::UniqueKey {
            name: "t_c_key".into(),
            columns: vec!["c".into()],
            constraint: false,
            predicate: None,
        });
        assert!(!btree_leads(&bare, "c"));
        bare.unique_keys[0].constraint = true;
        assert!(btree_leads(&bare, "c"));
    }

    #[test]
    fn sqlite_column_collations_are_read_from_the_definition() {
        let with = |definition: &str| {
            let mut t = Table {
                name: "t".into(),
                ..Table::default()
            };
            t.extras.definition = Some(definition.into());
            t
        };
        let t = with(
            "CREATE TABLE t (code TEXT COLLATE NOCASE PRIMARY KEY, \"Other, x\" TEXT, v NUMERIC(10, 2), \
             [w] TEXT COLLATE RTRIM, CHECK (v > 0))",
        );
        assert!(sqlite_collates(&t, "code") && sqlite_collates(&t, "CODE") && sqlite_collates(&t, "w"));
        assert!(!sqlite_collates(&t, "Other, x") && !sqlite_collates(&t, "v"));
        // A column the definition does not show (an ALTER TABLE the text lost?) counts as
        // collated: the semi-join is right either way.
        assert!(sqlite_collates(&t, "nope"));
        assert!(!sqlite_collates(&Table::default(), "code"));
    }

    #[test]
    fn integer_keys_split_into_runs_of_sixteen_and_the_rest() {
        use Value::*;
        let ints = |r: &[i64]| r.iter().map(|v| vec![Int(*v)]).collect::<Vec<_>>();
        let mut keys: Vec<i64> = (100..116).rev().collect(); // 16, unsorted
        keys.extend(200..215); // 15: no run
        keys.extend([7, 7, 300]);
        keys.extend(i64::MAX - 15..=i64::MAX);
        let (runs, rest) = runs_of(ints(&keys));
        assert_eq!(runs, [(100, 115), (i64::MAX - 15, i64::MAX)]);
        let mut want: Vec<i64> = vec![7];
        want.extend(200..215);
        want.push(300);
        assert_eq!(rest, ints(&want));
        let mixed = vec![vec![Int(1)], vec![Text("2".into())]];
        assert_eq!(runs_of(mixed.clone()), (vec![], mixed));
        let pairs = vec![vec![Int(1), Int(2)]];
        assert_eq!(runs_of(pairs.clone()), (vec![], pairs));
    }

    #[test]
    fn runs_group_into_queries_of_about_per_keys_and_at_most_64_ranges() {
        assert_eq!(
            group_runs(&[(1, 10)], 4),
            vec![vec![(1, 4)], vec![(5, 8)], vec![(9, 10)]]
        );
        assert_eq!(
            group_runs(&[(1, 3), (10, 12)], 4),
            vec![vec![(1, 3), (10, 10)], vec![(11, 12)]]
        );
        assert_eq!(
            group_runs(&[(i64::MAX - 2, i64::MAX)], 2),
            vec![vec![(i64::MAX - 2, i64::MAX - 1)], vec![(i64::MAX, i64::MAX)]]
        );
        let many: Vec<(i64, i64)> = (0..130).map(|i| (i * 100, i * 100 + 15)).collect();
        let groups = group_runs(&many, 1_000_000);
        assert_eq!(groups.iter().map(Vec::len).collect::<Vec<_>>(), [64, 64, 2]);
        assert_eq!(groups.concat(), many);
    }

    #[test]
    fn key_sets_hold_integer_keys_as_integers_and_every_other_key_as_its_values() {
        use Value::*;
        let keys = vec![
            k(&[Int(5)]),
            k(&[UInt(u64::MAX)]),
            k(&[Text("5".into())]),
            k(&[Int(-3)]),
            k(&[Null]),
            k(&[Float(4.5)]),
            k(&[Int(i64::MAX)]),
            k(&[Int(i64::MIN)]),
        ];
        let mut set = KeySet::default();
        for key in &keys {
            assert!(set.insert(key), "{key:?} is new");
        }
        for key in &keys {
            assert!(set.contains(key), "{key:?} is in");
            assert!(!set.insert(key), "{key:?} is there already");
        }
        assert!(!set.contains(&[Int(6)]));
        assert!(!set.contains(&[Text("6".into())]));
        let mut expected = keys.clone();
        expected.sort_by(|a, b| cmp_key(a, b));
        assert_eq!(set.into_sorted(), expected);
    }

    #[test]
    fn key_sets_of_pairs_and_wider_keys_sort_as_values_do() {
        use Value::*;
        let keys = vec![
            k(&[Int(2), Int(1)]),
            k(&[Int(1), Int(9)]),
            k(&[Int(1), Text("a".into())]),
            k(&[Int(1), Int(2)]),
            k(&[Int(-1), Null]),
        ];
        let set: KeySet = keys.iter().collect();
        assert!(set.contains(&[Int(1), Int(9)]));
        assert!(!set.contains(&[Int(9), Int(1)]));
        let mut expected = keys.clone();
        expected.sort_by(|a, b| cmp_key(a, b));
        assert_eq!(set.into_sorted(), expected);
        let wide: KeySet = [k(&[Int(1), Int(2), Int(3)]), k(&[Int(1), Int(2), Int(4)])]
            .iter()
            .collect();
        assert!(wide.contains(&[Int(1), Int(2), Int(4)]));
        assert!(!wide.contains(&[Int(1), Int(2)]));
    }

    #[test]
    fn keys_and_rows_sort_as_values_do() {
        use Value::*;
        let mut ints = vec![k(&[Int(3)]), k(&[Int(-8)]), k(&[Int(0)])];
        sort_keys(&mut ints);
        assert_eq!(ints, vec![k(&[Int(-8)]), k(&[Int(0)]), k(&[Int(3)])]);
        let mut pairs = vec![k(&[Int(2), Int(0)]), k(&[Int(1), Int(7)]), k(&[Int(1), Int(-7)])];
        sort_keys(&mut pairs);
        assert_eq!(
            pairs,
            vec![k(&[Int(1), Int(-7)]), k(&[Int(1), Int(7)]), k(&[Int(2), Int(0)])]
        );
        let mut mixed = vec![k(&[Text("b".into())]), k(&[Int(2)]), k(&[Text("a".into())])];
        sort_keys(&mut mixed);
        assert_eq!(
            mixed,
            vec![k(&[Int(2)]), k(&[Text("a".into())]), k(&[Text("b".into())])]
        );
        let mut rows = vec![
            vec![Text("x".into()), Int(9)],
            vec![Text("y".into()), Int(-1)],
            vec![Text("z".into()), Int(4)],
        ];
        sort_rows(&mut rows, &[1]);
        assert_eq!(
            rows.iter().map(|r| r[1].clone()).collect::<Vec<_>>(),
            vec![Int(-1), Int(4), Int(9)]
        );
        rows.push(vec![Text("w".into()), Text("a".into())]);
        sort_rows(&mut rows, &[1]);
        assert_eq!(rows[3][0], Text("w".into()));
        sort_rows(&mut rows, &[0]);
        assert_eq!(rows[0][0], Text("w".into()));
    }
}
