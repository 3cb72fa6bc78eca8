//! Children spelling their parent's key otherwise than the parent does ('ABC' for
//! 'abc', 'k' for 'k '), which the source's own comparison lets through (MariaDB's
//! `_ci` and PAD SPACE collations, PostgreSQL citext, explicit collations and
//! blank-padded `char(n)`, SQLite NOCASE/RTRIM). A destination comparing bytes would reject or orphan them, and a
//! transformer would map 'ABC' and 'abc' apart. Before loading, one query per such FK
//! on the source (the FK's own join, then bytes compared) finds the child values spelt
//! otherwise; while loading they are written with their parent's spelling, which the
//! source compares equal to them. The common case (none) costs that one query.

use std::collections::{HashMap, HashSet};

use tether_connect::{Batch, Connection, Engine, Filter, ReadSpec, Value};
use tether_schema::{DataType, ForeignKey, Table, TableName};

use super::Progress;
use crate::error::SyncError;
use crate::plan::{row_key, Plan, Rows, TablePlan};
use crate::subset::Subset;

/// One FK's child values spelt otherwise than their parent's key.
#[derive(Clone)]
struct Respelling {
    /// The FK's columns, and their positions in the child's source row.
    columns: Vec<String>,
    positions: Vec<usize>,
    /// The child's values (in FK column order) -> the parent's spelling of them.
    map: HashMap<Vec<Value>, Vec<Value>>,
    /// None: for every destination, before the transformers (the key is transformed:
    /// a transformer maps bytes, so child and parent must be the same bytes first).
    /// Some: only for the destinations of that engine, which would not match the
    /// child to its parent as the source does; the others keep the source's bytes.
    only: Option<Engine>,
}

/// A transformed FK column whose child type the source compares by value with its
/// parent's but spells apart ([`typed_apart`]): its values are known only once
/// transformed, so each is written in its parent's form on SQLite destinations, which
/// compare FK values as written ([`in_parent_form`]).
#[derive(Clone)]
struct Form {
    position: usize,
    child: DataType,
    parent: DataType,
}

/// Per child table, the FKs whose values are written with their parent's spelling.
#[derive(Default)]
pub struct Respellings(HashMap<TableName, Vec<Respelling>>, HashMap<TableName, Vec<Form>>);

impl Respellings {
    /// True when some rows of `table` may be written otherwise than read.
    pub fn touches(&self, table: &TableName) -> bool {
        self.0.contains_key(table) || self.1.contains_key(table)
    }

    /// Rewrites, in `table`'s rows, each FK value the source matched to a parent key of
    /// other bytes as that key, where every destination needs it (before the
    /// transformers).
    pub fn apply(&self, table: &TableName, batch: &mut Batch) {
        self.apply_where(table, None, batch);
    }

    /// The same for the rows going to a destination of engine `to` only (after the
    /// transformers): with a SQLite destination, transformed FK values in their parent's
    /// form too.
    pub fn apply_for(&self, table: &TableName, to: Engine, batch: &mut Batch) {
        self.apply_where(table, Some(to), batch);
        let Some(forms) = self.1.get(table).filter(|_| to == Engine::Sqlite) else {
            return;
        };
        for f in forms {
            for row in batch.iter_mut() {
                if let Some(v) = in_parent_form(&row[f.position], &f.child, &f.parent) {
                    row[f.position] = v;
                }
            }
        }
    }

    fn apply_where(&self, table: &TableName, only: Option<Engine>, batch: &mut Batch) {
        let Some(list) = self.0.get(table) else { return };
        for r in list.iter().filter(|r| r.only == only) {
            for row in batch.iter_mut() {
                let key: Vec<Value> = r.positions.iter().map(|&i| row[i].clone()).collect();
                if let Some(parent) = r.map.get(&key) {
                    for (&i, v) in r.positions.iter().zip(parent) {
                        row[i] = v.clone();
                    }
                }
            }
        }
    }
}

/// Finds the child values to respell, for the FKs between copied tables whose child
/// values a destination would not match to their parent as the source does: the FK's
/// columns are transformed (a transformer maps bytes), or a destination of another
/// engine compares otherwise ([`matched_there`]). Each FK respelt is reported. For a
/// table a subset copies, only the values of its chosen rows count: what is said, and
/// the clashes refused, are about the rows written, not the whole source table.
pub async fn find(
    plan: &Plan,
    source: &mut Connection,
    dest_engines: &[Engine],
    subset: &Subset,
    progress: &dyn Progress,
) -> Result<Respellings, SyncError> {
    let mut out = Respellings::default();
    let engine = source.dialect().engine();
    let other_engine = dest_engines.iter().any(|e| *e != engine);
    for tp in &plan.tables {
        for fk in &tp.table.foreign_keys {
            let Some(parent) = plan
                .tables
                .iter()
                .find(|p| p.table.table_name() == fk.referenced_name())
            else {
                continue;
            };
            let transformed = fk.columns.iter().any(|c| tp.transforms.iter().any(|t| &t.column == c));
            // Each with, when it is taken from the parent's own respelling (below), the
            // parent's columns it follows.
            let mut found: Vec<(Respelling, Option<Vec<String>>)> = Vec::new();
            // Transformed columns spelt apart from their parent by type: known once
            // transformed, put in their parent's form then ([`Form`]); before it they
            // keep the child's type, which the transformer works in.
            let apart: Vec<usize> = fk
                .columns
                .iter()
                .zip(&fk.referenced_columns)
                .enumerate()
                .filter(|(_, (c, p))| transformed && typed_apart(engine, &tp.table, c, &parent.table, p))
                .map(|(i, _)| i)
                .collect();
            if dest_engines.contains(&Engine::Sqlite) && !apart.is_empty() {
                let forms = out.1.entry(tp.table.table_name()).or_default();
                for &i in &apart {
                    let (c, p) = (&fk.columns[i], &fk.referenced_columns[i]);
                    let (Some(child), Some(of_parent)) = (tp.table.column(c), parent.table.column(p)) else {
                        continue;
                    };
                    progress.phase(&format!(
                        "{}: FK {} ({c}) -> {}({p}): transformed values of {} are written as {} spells them on the \
                         sqlite destination(s) (the source compares {} and {} by value; sqlite compares them as \
                         written)",
                        tp.name, fk.name, parent.name, c, parent.name, child.engine_type, of_parent.engine_type
                    ));
                    forms.push(Form {
                        position: positions(&tp.table, std::slice::from_ref(c))[0],
                        child: child.normalized_type.clone(),
                        parent: of_parent.normalized_type.clone(),
                    });
                }
            }
            if (other_engine || transformed) && loose(engine, &tp.table, &parent.table, fk) {
                if let Some(mut all) = respelling(tp, &parent.table, fk, source, &apart).await? {
                    if transformed {
                        // The columns spelt apart by type keep the child's value here.
                        for (child, parent_key) in all.map.iter_mut() {
                            for &i in &apart {
                                parent_key[i] = child[i].clone();
                            }
                        }
                        all.map.retain(|child, parent_key| child != parent_key);
                        if !all.map.is_empty() {
                            found.push((all, None));
                        }
                    } else {
                        // Per engine of the destinations, what that engine would not match.
                        let mut others: Vec<Engine> = dest_engines.iter().copied().filter(|&e| e != engine).collect();
                        others.dedup();
                        let decimal: Vec<bool> = fk
                            .columns
                            .iter()
                            .zip(&fk.referenced_columns)
                            .map(|(c, p)| engine == Engine::Postgres && scaled_apart(&tp.table, c, &parent.table, p))
                            .collect();
                        let rtrim: Vec<bool> = fk
                            .referenced_columns
                            .iter()
                            .map(|p| engine == Engine::Postgres && rtrim_on_sqlite(&parent.table, p))
                            .collect();
                        let how = Compared {
                            decimal: &decimal,
                            rtrim: &rtrim,
                        };
                        for to in others {
                            let mut r = all.clone();
                            r.map
                                .retain(|child, parent| !matched_there(engine, to, child, parent, &how));
                            r.only = Some(to);
                            if !r.map.is_empty() {
                                found.push((r, None));
                            }
                        }
                    }
                }
            }
            // The parent's own FK columns respelt, where this FK references them (a key
            // such as (pcode, n) of a child of p): this FK's columns follow, after
            // taking the parent's source spelling above (tables come parents first).
            for r in out.0.get(&parent.table.table_name()).into_iter().flatten() {
                let Some(names) = r
                    .columns
                    .iter()
                    .map(|c| Some(fk.columns[fk.referenced_columns.iter().position(|x| x == c)?].clone()))
                    .collect::<Option<Vec<String>>>()
                else {
                    continue;
                };
                let respelt = Respelling {
                    positions: positions(&tp.table, &names),
                    columns: names,
                    map: r.map.clone(),
                    only: r.only,
                };
                found.push((respelt, Some(r.columns.clone())));
            }
            if found.is_empty() {
                continue;
            }
            // A subset's chosen rows: each respelling narrowed to the values they hold
            // (none: nothing of this FK is rewritten), and their keys checked as written.
            let chosen = match tp.rows {
                Rows::Subset => {
                    let rows = chosen_rows(tp, found.iter().map(|(r, _)| r), subset, plan.batch_size, source).await?;
                    for (r, _) in &mut found {
                        let held = rows.values_of(&r.columns);
                        r.map.retain(|child, _| held.contains(child));
                    }
                    found.retain(|(r, _)| !r.map.is_empty());
                    Some(rows)
                }
                Rows::All => None,
            };
            for (r, inherited) in &found {
                match inherited {
                    Some(parent_columns) => progress.phase(&format!(
                        "{}: FK {} ({}) -> {}({}): written with the spelling {} takes from its parent",
                        tp.name,
                        fk.name,
                        r.columns.join(", "),
                        parent.name,
                        parent_columns.join(", "),
                        parent.name
                    )),
                    None => say(progress, engine, tp, &parent.table, fk, r),
                }
            }
            for (r, _) in &found {
                match &chosen {
                    Some(rows) => refuse_clashes_among(tp, &parent.table, fk, r, rows)?,
                    None => refuse_clashes(tp, &parent.table, fk, r, source).await?,
                }
            }
            if !found.is_empty() {
                out.0
                    .entry(tp.table.table_name())
                    .or_default()
                    .extend(found.into_iter().map(|(r, _)| r));
            }
        }
    }
    Ok(out)
}

/// Says what `r` rewrites, after it is narrowed to the destinations that need it: how
/// many child values, for which destinations, and one of them.
fn say(progress: &dyn Progress, engine: Engine, tp: &TablePlan, parent: &Table, fk: &ForeignKey, r: &Respelling) {
    let Some((child, parent_key)) = r.map.iter().next() else {
        return;
    };
    // The reason is the type of a column whose values were respelt, not of the FK's
    // first column (a composite `(tenant int, code varchar)` respells `code`).
    let respelt: Vec<usize> = (0..fk.columns.len())
        .filter(|&i| r.map.iter().any(|(c, p)| c.get(i) != p.get(i)))
        .collect();
    let apart = respelt.iter().find_map(|&i| {
        let (c, p) = (
            tp.table.column(&fk.columns[i])?,
            parent.column(&fk.referenced_columns[i])?,
        );
        crate::schema_plan::spelt_apart(engine, &c.normalized_type, &p.normalized_type)
            .then(|| format!("it compares {} and {} by value", c.engine_type, p.engine_type))
    });
    let first = respelt.first().copied().unwrap_or(0);
    let why = match (
        apart,
        parent.column(&fk.referenced_columns[first]).map(|c| &c.normalized_type),
    ) {
        (Some(apart), _) => apart,
        (None, Some(DataType::Decimal { .. })) => "it compares decimals by value, whatever their decimal places".into(),
        (None, Some(DataType::Int { .. })) if engine == Engine::Sqlite => {
            "SQLite matches a text child to an INTEGER key by the number it spells".into()
        }
        _ => "its collation ignores case or trailing spaces".into(),
    };
    let whose = match r.only {
        Some(e) => format!(" on the {} destination(s), which would not match them to it", e.name()),
        None => String::new(),
    };
    progress.phase(&format!(
        "{}: FK {} ({}) -> {}({}): {} value(s) spelt otherwise than the parent key the source matches them to \
         ({why}) are written with the parent's spelling{whose}, e.g. {} -> {}",
        tp.name,
        fk.name,
        fk.columns.join(", "),
        parent.name,
        fk.referenced_columns.join(", "),
        r.map.len(),
        masked_key(tp, &fk.columns, child, fk),
        masked_key(tp, &fk.referenced_columns, parent_key, fk),
    ));
}

/// A child's or parent's key of `fk` as a note or error names it: the values of the
/// columns the job transforms masked (the original e-mail addresses the job hides must
/// not reach a log). An FK column is transformed exactly where its referenced column is
/// (the child inherits the parent's transformer), so the child's columns decide for both.
fn masked_key(tp: &TablePlan, names: &[String], values: &[Value], fk: &ForeignKey) -> String {
    let masked: Vec<bool> = fk
        .columns
        .iter()
        .map(|c| tp.transforms.iter().any(|t| &t.column == c))
        .collect();
    crate::anonymize::describe_masked(names, values, &masked)
}

/// The positions of the columns `names` in `table`'s rows.
fn positions(table: &Table, names: &[String]) -> Vec<usize> {
    names
        .iter()
        .map(|name| {
            table
                .columns
                .iter()
                .position(|c| &c.name == name)
                .expect("an FK's columns are columns of its table")
        })
        .collect()
}

/// Whether the source may match a child value of `fk` to a parent key of other bytes:
/// a text column pair, compared by the engine's default (MariaDB: every collation pads
/// spaces, most ignore case), a citext or an explicit collation (PostgreSQL), a
/// `char(n)` on either side of a PostgreSQL FK (read blank-padded, compared without its
/// pad: 'abc       ' matches 'abc'), or a declared collation (SQLite).
fn loose(engine: Engine, child: &Table, parent: &Table, fk: &ForeignKey) -> bool {
    // SQLite matches a text child ('01', '+2') to an INTEGER key by the number it spells.
    if fk.columns.iter().any(|c| numbered_text(engine, child, c)) {
        return true;
    }
    let padded = |t: &Table, name: &String| {
        t.column(name)
            .is_some_and(|c| matches!(c.normalized_type, DataType::Char { .. }))
    };
    let bpchar = fk
        .columns
        .iter()
        .zip(&fk.referenced_columns)
        .any(|(c, p)| padded(child, c) || padded(parent, p));
    if engine == Engine::Postgres && bpchar {
        return true;
    }
    // PostgreSQL compares numerics by value: a child's 1.00 matches a parent's 1.0,
    // which a copy keeping each as written (SQLite TEXT) tells apart; so does a date
    // and a timestamp at its midnight, an integer and a numeric, a real and a double.
    if engine == Engine::Postgres
        && fk
            .columns
            .iter()
            .zip(&fk.referenced_columns)
            .any(|(c, p)| scaled_apart(child, c, parent, p) || typed_apart(engine, child, c, parent, p))
    {
        return true;
    }
    fk.referenced_columns.iter().any(|name| {
        let Some(c) = parent.column(name) else { return false };
        if !c.normalized_type.is_text() && !matches!(c.normalized_type, DataType::Other(_)) {
            return false;
        }
        let x = &parent.extras;
        match engine {
            Engine::Mysql => c.normalized_type.is_text(),
            Engine::Postgres => {
                x.collations.contains_key(name)
                    || x.extension_types
                        .get(name)
                        .is_some_and(|ty| ty == "citext" || ty.ends_with(".citext"))
                    || c.engine_type.contains("citext")
            }
            Engine::Sqlite => x
                .definition
                .as_deref()
                .is_some_and(|d| d.to_ascii_lowercase().contains("collate")),
        }
    })
}

/// Whether column `c` of a SQLite source's `child` is typed as its INTEGER parent key
/// (the SQLite reader's `type_untyped_fk_columns`) while it holds what its declared type
/// takes: text such as '01' or '+2' (no INTEGER affinity), which SQLite's FK matches to
/// the key 1 or 2 as a number. A SQLite copy keeps them as they are; another engine's
/// integer column, or a transformer of the key, gets the parent's spelling.
fn numbered_text(engine: Engine, child: &Table, c: &str) -> bool {
    engine == Engine::Sqlite
        && child
            .column(c)
            .is_some_and(|x| x.normalized_type.is_integer() && !x.engine_type.to_ascii_uppercase().contains("INT"))
}

/// Whether `c` of `child` and `p` of `parent` are of types the source compares by value
/// but spells apart ([`crate::schema_plan::spelt_apart`]: '2024-03-01' and
/// '2024-03-01 00:00:00', 5 and 5.00, 0.1 as a `real` and as a `double precision`).
fn typed_apart(engine: Engine, child: &Table, c: &str, parent: &Table, p: &str) -> bool {
    match (child.column(c), parent.column(p)) {
        (Some(c), Some(p)) => crate::schema_plan::spelt_apart(engine, &c.normalized_type, &p.normalized_type),
        _ => false,
    }
}

/// A transformed child value `v` of type `child` in the form its parent column of type
/// `parent` spells it, where one form maps to the other without the source: a date and
/// a timestamp at its midnight ('2024-03-01' and '2024-03-01 00:00:00'), a `real` and
/// a `double precision` (0.1 and 0.10000000149011612). `None`: written as it is (a
/// timestamp with a time of day matches no date; numerics and time zones depend on how
/// the parent spells each value, which only the source knows).
fn in_parent_form(v: &Value, child: &DataType, parent: &DataType) -> Option<Value> {
    let date = |s: &str| {
        let b = s.as_bytes();
        s.len() == 10 && b[4] == b'-' && b[7] == b'-'
    };
    match (v, child, parent) {
        (Value::Text(s), DataType::Date, DataType::Timestamp { tz: false }) if date(s) => {
            Some(Value::Text(format!("{s} 00:00:00")))
        }
        (Value::Text(s), DataType::Timestamp { tz: false }, DataType::Date) => {
            let (day, time) = s.split_once(' ')?;
            let midnight = time
                .strip_prefix("00:00:00")
                .is_some_and(|f| f.is_empty() || f.trim_start_matches('.').chars().all(|c| c == '0'));
            (date(day) && midnight).then(|| Value::Text(day.to_string()))
        }
        (Value::Float(f), DataType::Float { bytes: 4 }, DataType::Float { bytes: 8 }) => {
            Some(Value::Float(f64::from(*f as f32)))
        }
        (Value::Float(f), DataType::Float { bytes: 8 }, DataType::Float { bytes: 4 }) if f64::from(*f as f32) == *f => {
            (*f as f32).to_string().parse().ok().map(Value::Float)
        }
        _ => None,
    }
}

/// Whether `c` of `child` and `p` of `parent` are decimals that may spell one value
/// with different numbers of decimal places: either has no declared scale, or they
/// declare different ones.
fn scaled_apart(child: &Table, c: &str, parent: &Table, p: &str) -> bool {
    let scale = |t: &Table, name: &str| match t.column(name).map(|x| &x.normalized_type) {
        Some(DataType::Decimal { scale, .. }) => Some(*scale),
        _ => None,
    };
    match (scale(child, c), scale(parent, p)) {
        (Some(a), Some(b)) => a.is_none() || b.is_none() || a != b,
        _ => false,
    }
}

/// How a destination compares each column pair of an FK, beyond bytes: `decimal`, the
/// pair are decimals (compared by value on MariaDB/MySQL and PostgreSQL); `rtrim`, the
/// parent is a PostgreSQL `char(n)` created on SQLite as `CHAR(n) COLLATE RTRIM`.
struct Compared<'a> {
    decimal: &'a [bool],
    rtrim: &'a [bool],
}

/// Whether parent column `p`, a PostgreSQL `char(n)` without a collation of its own,
/// is created on SQLite as `CHAR(n) COLLATE RTRIM` (`schema_plan` items): SQLite's FK
/// lookup takes the parent's collation, so a child 'ab  ' finds 'ab    ' there as at
/// the source, without respelling.
fn rtrim_on_sqlite(parent: &Table, p: &str) -> bool {
    parent
        .column(p)
        .is_some_and(|c| matches!(c.normalized_type, DataType::Char { .. }))
        && !parent.extras.collations.contains_key(p)
}

/// Whether a destination of engine `to` matches `child` to `parent` without help: a
/// PostgreSQL citext or nondeterministic column is created caseless on the others
/// (`schema_plan` `caseless`): SQLite's NOCASE folds ASCII letters only, MariaDB's
/// `utf8mb4_unicode_ci` folds case and pads spaces. A PostgreSQL `char(n)` parent is
/// RTRIM on SQLite (`how.rtrim`): trailing spaces ignored there. Decimals
/// (`how.decimal`) are compared by value on MariaDB/MySQL and PostgreSQL; SQLite may
/// keep them as text (unbounded or wide numerics). Anything else compares bytes there.
fn matched_there(from: Engine, to: Engine, child: &[Value], parent: &[Value], how: &Compared) -> bool {
    let text_pairs = |same: &dyn Fn(&str, &str, bool) -> bool| {
        child
            .iter()
            .zip(parent)
            .zip(how.decimal.iter().zip(how.rtrim))
            .all(|((c, p), (&decimal, &rtrim))| match (c, p) {
                _ if decimal => to != Engine::Sqlite,
                (Value::Text(c), Value::Text(p)) => same(c, p, rtrim),
                (c, p) => c == p,
            })
    };
    match (from, to) {
        (Engine::Postgres, Engine::Sqlite) => text_pairs(&|c, p, rtrim| {
            c.eq_ignore_ascii_case(p) || rtrim && c.trim_end_matches(' ') == p.trim_end_matches(' ')
        }),
        (Engine::Postgres, Engine::Mysql) => {
            text_pairs(&|c, p, _| c.trim_end_matches(' ').to_lowercase() == p.trim_end_matches(' ').to_lowercase())
        }
        _ => false,
    }
}

/// SQL true when `a` and `b` hold the same bytes (the source's own collation set aside).
fn same_bytes(engine: Engine, a: &str, b: &str) -> String {
    match engine {
        Engine::Mysql => format!("CAST({a} AS BINARY) = CAST({b} AS BINARY)"),
        // concat: the text as read, a char(n)'s pad kept (a cast to text drops it).
        Engine::Postgres => format!("concat({a}) COLLATE \"C\" = concat({b}) COLLATE \"C\""),
        Engine::Sqlite => format!("{a} = {b} COLLATE BINARY"),
    }
}

/// SQL giving the bytes of text `x` in hexadecimal: DISTINCT keeps apart what the
/// source's collation would fold together ('k' and 'k  ', 'ÉMILE' and 'émile').
fn hex_of(engine: Engine, x: &str) -> String {
    match engine {
        Engine::Mysql | Engine::Sqlite => format!("hex({x})"),
        Engine::Postgres => format!("encode(convert_to(concat({x}), 'UTF8'), 'hex')"),
    }
}

/// The child values of `fk` that the source matches to a parent key of other bytes,
/// with that key; None when there are none. The FK's columns at the positions `later`
/// are not compared (a transformed pair spelt apart by type, put in its parent's form
/// after the transformer: [`Form`]).
async fn respelling(
    tp: &TablePlan,
    parent: &Table,
    fk: &ForeignKey,
    source: &mut Connection,
    later: &[usize],
) -> Result<Option<Respelling>, SyncError> {
    let d = source.dialect();
    let engine = d.engine();
    let pairs: Vec<(String, String)> = fk
        .columns
        .iter()
        .zip(&fk.referenced_columns)
        .map(|(c, p)| (format!("c.{}", d.ident(c)), format!("p.{}", d.ident(p))))
        .collect();
    let text_pairs: Vec<(&String, &(String, String))> = fk
        .columns
        .iter()
        .zip(&pairs)
        .zip(&fk.referenced_columns)
        .enumerate()
        .filter(|(i, _)| !later.contains(i))
        .map(|(_, pair)| pair)
        .filter(|((name, _), p)| {
            numbered_text(engine, &tp.table, name)
                || typed_apart(engine, &tp.table, name, parent, p)
                || tp.table.column(name).is_some_and(|c| {
                    c.normalized_type.is_text()
                        || matches!(c.normalized_type, DataType::Other(_))
                        || engine == Engine::Postgres && matches!(c.normalized_type, DataType::Decimal { .. })
                })
        })
        .map(|(pair, _)| pair)
        .collect();
    if text_pairs.is_empty() {
        return Ok(None);
    }
    let differ: Vec<String> = text_pairs
        .iter()
        .map(|(name, (c, p))| match numbered_text(engine, &tp.table, name) {
            // Both as text: `=` alone would compare the child's text as a number.
            true => same_bytes(engine, &format!("CAST({c} AS TEXT)"), &format!("CAST({p} AS TEXT)")),
            false => same_bytes(engine, c, p),
        })
        .collect();
    let hex: Vec<String> = text_pairs.iter().map(|(_, (c, _))| hex_of(engine, c)).collect();
    let sql = format!(
        "SELECT DISTINCT {}, {}, {} FROM {} c JOIN {} p ON {} WHERE NOT ({})",
        pairs.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>().join(", "),
        pairs.iter().map(|(_, p)| p.as_str()).collect::<Vec<_>>().join(", "),
        hex.join(", "),
        d.own_rows(&tp.table),
        d.own_rows(parent),
        join_on(engine, d, tp, parent, fk),
        differ.join(" AND ")
    );
    let mut types: Vec<DataType> = Vec::new();
    for (names, t) in [(&fk.columns, &tp.table), (&fk.referenced_columns, parent)] {
        for n in names {
            let c = t.column(n).ok_or_else(|| {
                SyncError::Plan(format!("{}: FK {}: column {n} is not in {}", tp.name, fk.name, t.name))
            })?;
            types.push(c.normalized_type.clone());
        }
    }
    types.extend(hex.iter().map(|_| DataType::Text));
    let rows = source.query(&sql, &types).await.map_err(|e| {
        SyncError::Plan(format!(
            "{}: FK {}: cannot look for child values spelt otherwise than their parent key: {e}",
            tp.name, fk.name
        ))
    })?;
    if rows.is_empty() {
        return Ok(None);
    }
    let n = fk.columns.len();
    let mut map = HashMap::new();
    for mut row in rows {
        row.truncate(2 * n);
        let parent_key = row.split_off(n);
        map.insert(row, parent_key);
    }
    if map.is_empty() {
        return Ok(None);
    }
    Ok(Some(Respelling {
        columns: fk.columns.clone(),
        positions: positions(&tp.table, &fk.columns),
        map,
        only: None,
    }))
}

/// Respelt, two rows of the child may hold the same value of one of its own unique
/// keys ('abc' and 'ABC' both children of 'abc', each a primary key of its own where
/// the child's column compares bytes): refused before anything is written, naming the
/// key and a clash, where writing them would fail or overwrite one with the other.
async fn refuse_clashes(
    tp: &TablePlan,
    parent: &Table,
    fk: &ForeignKey,
    r: &Respelling,
    source: &mut Connection,
) -> Result<(), SyncError> {
    let d = source.dialect();
    let engine = d.engine();
    let t = &tp.table;
    for key in own_keys(t)
        .into_iter()
        .filter(|k| k.iter().any(|c| r.columns.contains(c)))
    {
        // The key as it is written: the FK's columns with the parent's bytes, the
        // others as the child holds them.
        let written: Vec<String> = key
            .iter()
            .map(|c| {
                let col = match fk.columns.iter().position(|x| x == c) {
                    Some(i) if r.columns.contains(c) => format!("p.{}", d.ident(&fk.referenced_columns[i])),
                    _ => format!("c.{}", d.ident(c)),
                };
                let text = t.column(c).is_some_and(|x| x.normalized_type.is_text());
                match (text, engine) {
                    (true, Engine::Mysql) => format!("CAST({col} AS BINARY)"),
                    (true, Engine::Postgres) => format!("({col})::text COLLATE \"C\""),
                    (true, Engine::Sqlite) => format!("{col} COLLATE BINARY"),
                    (false, _) => col,
                }
            })
            .collect();
        let sql = format!(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM {} c JOIN {} p ON {} GROUP BY {} HAVING count(*) > 1) clashes",
            d.own_rows(t),
            d.own_rows(parent),
            join_on(engine, d, tp, parent, fk),
            written.join(", "),
        );
        let rows = source
            .query(
                &sql,
                &[DataType::Int {
                    bytes: 8,
                    unsigned: false,
                }],
            )
            .await
            .map_err(|e| {
                SyncError::Plan(format!(
                    "{}: FK {}: cannot check its key {}: {e}",
                    tp.name,
                    fk.name,
                    key.join(", ")
                ))
            })?;
        let clashes = match rows.first().and_then(|r| r.first()) {
            Some(Value::Int(n)) => *n,
            Some(Value::Text(t)) => t.parse().unwrap_or(0),
            _ => 0,
        };
        if clashes > 0 {
            return Err(clash(tp, parent, fk, r, clashes, key));
        }
    }
    Ok(())
}

/// The child's own unique keys a respelling may make two rows share: the primary key
/// and every unique key without a predicate.
fn own_keys(t: &Table) -> Vec<&[String]> {
    let mut keys: Vec<&[String]> = Vec::new();
    if !t.primary_key.is_empty() {
        keys.push(&t.primary_key);
    }
    keys.extend(
        t.unique_keys
            .iter()
            .filter(|u| u.predicate.is_none())
            .map(|u| u.columns.as_slice()),
    );
    keys
}

/// The refusal of a respelling giving `clashes` rows of the child the same `key`.
fn clash(tp: &TablePlan, parent: &Table, fk: &ForeignKey, r: &Respelling, clashes: i64, key: &[String]) -> SyncError {
    let (child, parent_key) = r.map.iter().next().expect("a respelling has values");
    SyncError::Plan(format!(
        "{}: FK {} ({}) -> {}({}): children spell the parent key otherwise than it ({} for {}), which the \
         source's collation lets through; written with the parent's spelling, as another engine or a \
         transformer needs, {} rows of {} would have the same ({}), one of its own unique keys, where the \
         source tells them apart; copy to a destination of the same engine without transforming the key, \
         or make the child's spelling match its parent's in the source",
        tp.name,
        fk.name,
        fk.columns.join(", "),
        parent.name,
        fk.referenced_columns.join(", "),
        masked_key(tp, &fk.columns, child, fk),
        masked_key(tp, &fk.referenced_columns, parent_key, fk),
        clashes,
        tp.name,
        key.join(", "),
    ))
}

/// Some columns of the rows a subset chose of a table: the rows it writes.
struct Chosen {
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
}

impl Chosen {
    /// The positions of `names` in the rows.
    fn positions(&self, names: &[String]) -> Vec<usize> {
        names
            .iter()
            .map(|n| self.columns.iter().position(|c| c == n).expect("a column read"))
            .collect()
    }

    /// The distinct values of `names` the rows hold.
    fn values_of(&self, names: &[String]) -> HashSet<Vec<Value>> {
        let at = self.positions(names);
        self.rows
            .iter()
            .map(|row| at.iter().map(|&i| row[i].clone()).collect())
            .collect()
    }
}

/// The subset's chosen rows of `tp`, as the columns of the respellings `found` and of
/// the own keys they touch: the rows kept while choosing, else read again by key (as
/// the load reads them).
async fn chosen_rows<'a>(
    tp: &TablePlan,
    found: impl Iterator<Item = &'a Respelling>,
    subset: &Subset,
    batch_size: usize,
    source: &mut Connection,
) -> Result<Chosen, SyncError> {
    let t = &tp.table;
    let mut wanted: HashSet<&str> = HashSet::new();
    for r in found {
        wanted.extend(r.columns.iter().map(String::as_str));
        for key in own_keys(t)
            .into_iter()
            .filter(|k| k.iter().any(|c| r.columns.contains(c)))
        {
            wanted.extend(key.iter().map(String::as_str));
        }
    }
    let columns: Vec<String> = t
        .columns
        .iter()
        .filter(|c| wanted.contains(c.name.as_str()))
        .map(|c| c.name.clone())
        .collect();
    let at = positions(t, &columns);
    let name = t.table_name();
    let kept = subset.with_kept_rows(&name, |rows| {
        rows.iter()
            .map(|row| at.iter().map(|&i| row[i].clone()).collect())
            .collect()
    });
    let rows = match kept {
        Some(rows) => rows,
        None => {
            let keys = subset.keys.get(&name).cloned().unwrap_or_default();
            if keys.is_empty() {
                Vec::new()
            } else {
                let spec = ReadSpec {
                    table: t.clone(),
                    columns: columns.clone(),
                    filter: Filter::KeysIn {
                        columns: row_key(t),
                        keys,
                    },
                    order_by: vec![],
                    limit: None,
                };
                let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(4);
                let read = source.read(&spec, batch_size, tx);
                let collect = async {
                    let mut rows = Vec::new();
                    while let Some(batch) = rx.recv().await {
                        rows.extend(batch);
                    }
                    rows
                };
                let (read, rows) = tokio::join!(read, collect);
                read.map_err(|e| {
                    SyncError::Plan(format!(
                        "{}: cannot read the subset's rows to look for child values spelt otherwise than their \
                         parent key: {e}",
                        tp.name
                    ))
                })?;
                rows
            }
        }
    };
    Ok(Chosen { columns, rows })
}

/// [`refuse_clashes`] for the rows a subset writes: their keys as written (the FK's
/// columns respelt where `r` says, NULLs never clashing, decimals by value), compared
/// here rather than by a query on the whole table, whose other rows are not written.
fn refuse_clashes_among(
    tp: &TablePlan,
    parent: &Table,
    fk: &ForeignKey,
    r: &Respelling,
    chosen: &Chosen,
) -> Result<(), SyncError> {
    let t = &tp.table;
    let fk_at = chosen.positions(&r.columns);
    for key in own_keys(t)
        .into_iter()
        .filter(|k| k.iter().any(|c| r.columns.contains(c)))
    {
        let key_at = chosen.positions(key);
        let mut seen: HashMap<Vec<Value>, i64> = HashMap::new();
        for row in &chosen.rows {
            let child: Vec<Value> = fk_at.iter().map(|&i| row[i].clone()).collect();
            let respelt = r.map.get(&child);
            let written: Option<Vec<Value>> = key
                .iter()
                .zip(&key_at)
                .map(|(c, &i)| {
                    let v = match (respelt, r.columns.iter().position(|x| x == c)) {
                        (Some(p), Some(j)) => p[j].clone(),
                        _ => row[i].clone(),
                    };
                    (!v.is_null()).then(|| by_value(t, c, v))
                })
                .collect();
            if let Some(w) = written {
                *seen.entry(w).or_default() += 1;
            }
        }
        let clashes = seen.into_values().max().unwrap_or(0);
        if clashes > 1 {
            return Err(clash(tp, parent, fk, r, clashes, key));
        }
    }
    Ok(())
}

/// `v` of column `c` as a destination's key compares it: a decimal by value (1.50 and
/// 1.5 are one), anything else as it is.
fn by_value(t: &Table, c: &str, v: Value) -> Value {
    match (t.column(c).map(|x| &x.normalized_type), v) {
        (Some(DataType::Decimal { .. }), Value::Text(s)) if s.contains('.') => {
            Value::Text(s.trim_end_matches('0').trim_end_matches('.').to_string())
        }
        (_, v) => v,
    }
}

/// The FK's join of child `c` to parent `p`, compared as the source's FK check
/// compares: the parent's column first (SQLite uses its collation), and on PostgreSQL
/// the child's text in the parent column's collation (two explicit collations would
/// leave the comparison without one: 42P22).
fn join_on(engine: Engine, d: &dyn tether_connect::Dialect, tp: &TablePlan, parent: &Table, fk: &ForeignKey) -> String {
    fk.columns
        .iter()
        .zip(&fk.referenced_columns)
        .map(|(c, p)| {
            let child = format!("c.{}", d.ident(c));
            // A text child of a blank-padded char(n) parent: PostgreSQL's FK compares
            // them as char (`conpfeqop`, bpchar = bpchar: the child cast, trailing
            // spaces ignored), where `p = c` alone compares text (the parent's pad
            // dropped, a child 'ab  ' matching nothing).
            let child = match engine {
                Engine::Postgres
                    if parent
                        .column(p)
                        .is_some_and(|x| matches!(x.normalized_type, DataType::Char { .. }))
                        && tp
                            .table
                            .column(c)
                            .is_some_and(|x| !matches!(x.normalized_type, DataType::Char { .. })) =>
                {
                    format!("CAST({child} AS bpchar)")
                }
                _ => child,
            };
            let collate = match engine {
                Engine::Postgres if tp.table.column(c).is_some_and(|x| x.normalized_type.is_text()) => {
                    let named = parent.extras.collations.get(p).cloned();
                    let citext = parent.column(p).is_some_and(|x| x.engine_type.contains("citext"));
                    match (named, citext) {
                        (Some(n), _) => format!(" COLLATE {n}"),
                        (None, false) => " COLLATE \"default\"".to_string(),
                        (None, true) => String::new(),
                    }
                }
                _ => String::new(),
            };
            format!("p.{} = {child}{collate}", d.ident(p))
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    /// What `in_parent_form` writes for each pair it knows, and what it leaves alone.
    #[test]
    fn a_value_in_its_parents_form() {
        let ts = DataType::Timestamp { tz: false };
        let (f4, f8) = (DataType::Float { bytes: 4 }, DataType::Float { bytes: 8 });
        let cases: Vec<(Value, &DataType, &DataType, Option<Value>)> = vec![
            (
                text("2024-03-01"),
                &DataType::Date,
                &ts,
                Some(text("2024-03-01 00:00:00")),
            ),
            (
                text("2024-03-01 00:00:00"),
                &ts,
                &DataType::Date,
                Some(text("2024-03-01")),
            ),
            (
                text("2024-03-01 00:00:00.000"),
                &ts,
                &DataType::Date,
                Some(text("2024-03-01")),
            ),
            (text("2024-03-01 10:00:00"), &ts, &DataType::Date, None),
            (text("infinity"), &DataType::Date, &ts, None),
            (Value::Float(0.1), &f4, &f8, Some(Value::Float(0.10000000149011612))),
            (Value::Float(0.10000000149011612), &f8, &f4, Some(Value::Float(0.1))),
            (Value::Float(0.1), &f8, &f4, None),
            (Value::Null, &DataType::Date, &ts, None),
            (
                text("2024-03-01"),
                &DataType::Date,
                &DataType::Timestamp { tz: true },
                None,
            ),
        ];
        for (v, child, parent, want) in cases {
            assert_eq!(in_parent_form(&v, child, parent), want, "{v:?} {child} -> {parent}");
        }
    }
}
