//! The plan's cascade rules followed to a fixpoint: from the statement's own rows,
//! each FK action (RESTRICT probe, cascading delete, cascading or SET NULL/DEFAULT
//! update) becomes a child statement, and the child rows it reaches are processed
//! in turn (self-references and cycles stop at rows already seen).

use std::collections::{HashMap, HashSet, VecDeque};

use tether_fkplan::{Action, ActionKind, Event, FkRef, NewChildValue, Plan, Rules, Stored, Template};

use super::render::{literal_bytes, literals, padded, row_sql};
use super::state::{id_len, Change, Failure, Writes};
use crate::backend::{Backend, Rows};
use crate::reply::ServerError;

/// InnoDB refuses cascades that reach this depth (MariaDB 10.11, measured).
pub(super) const MAX_CASCADE_DEPTH: usize = 15;

/// The smallest origin among `item` rows whose key at `positions` is in `referenced`.
pub(super) fn first_origin(item: &Item, positions: &[usize], referenced: &HashSet<Vec<String>>) -> Option<usize> {
    item.old
        .iter()
        .zip(&item.origin)
        .filter(|(row, _)| referenced.contains(&positions.iter().map(|p| row[*p].clone()).collect::<Vec<_>>()))
        .map(|(_, o)| *o)
        .min()
}

/// Rows of one table flowing through the plan: key values as SQL literals.
#[derive(Clone)]
pub(super) struct Item {
    pub(super) table: String,
    pub(super) event: Event,
    /// Old key values (the table's rule key columns).
    pub(super) old: Vec<Vec<String>>,
    /// New key values, same shape (update events only).
    pub(super) new: Vec<Vec<String>>,
    pub(super) depth: usize,
    /// Tables an update earlier in this cascade chain touched.
    pub(super) updated_chain: Vec<String>,
    /// Per row: the first of the statement's own rows whose cascade reaches it.
    pub(super) origin: Vec<usize>,
    /// Rows seen before, now reached from an earlier own row: only their origins
    /// travel on (no checks, no statements).
    pub(super) replay: bool,
    /// Rows deleted already, reached again by a longer path: only how deep the
    /// cascade goes from them is followed (see [`Cascade::depth_of`]).
    pub(super) depth_only: bool,
    /// Per row (delete events): the rows, `(table, identity)`, the cascade went
    /// through to reach it, from the statement's own row down. InnoDB marks a row
    /// deleted before it follows that row's cascade, so a cascade that comes back
    /// to a row of its own path (a row referencing itself, a cycle of rows) finds
    /// it deleted already and stops there: such a row is not followed again.
    pub(super) paths: Vec<Path>,
}

/// The rows a cascade went through to reach one row, `(table, identity)`.
pub(super) type Path = Vec<(String, Vec<String>)>;

impl Item {
    /// The statement's own rows of `table`: where a cascade starts.
    pub(super) fn start(
        table: &str,
        event: Event,
        old: Vec<Vec<String>>,
        new: Vec<Vec<String>>,
        origin: Vec<usize>,
    ) -> Item {
        let n = old.len();
        Item {
            table: table.to_string(),
            event,
            old,
            new,
            depth: 0,
            updated_chain: match event {
                Event::Delete => Vec::new(),
                Event::Update => vec![table.to_string()],
            },
            paths: vec![Vec::new(); n],
            origin,
            replay: false,
            depth_only: false,
        }
    }

    /// The path to each parent key of `fk` this item's rows hold: the path to the
    /// first row holding it, with that row added.
    fn paths_by_key(&self, fk: &FkRef, id_len: usize) -> HashMap<Vec<String>, Path> {
        let mut out: HashMap<Vec<String>, Path> = HashMap::new();
        for (i, row) in self.old.iter().enumerate() {
            let key: Vec<String> = fk.parent_positions.iter().map(|p| row[*p].clone()).collect();
            out.entry(key).or_insert_with(|| {
                let mut path = self.paths.get(i).cloned().unwrap_or_default();
                path.push((self.table.clone(), row[..id_len.min(row.len())].to_vec()));
                path
            });
        }
        out
    }
}

/// Follows the plan's rules from `first` until no rows are left to process.
/// With `checks` off (a native run found no error), RESTRICT probes and the
/// depth and same-table limits are skipped: only the child statements are made.
pub(super) async fn cascade(
    plan: &Plan,
    backend: &mut Backend,
    first: Vec<Item>,
    writes: &mut Writes,
    checks: bool,
) -> Result<(), Failure> {
    let mut run = Cascade {
        plan,
        backend,
        writes,
        checks,
        queue: VecDeque::from(first),
        deleted: HashMap::new(),
        depth_of: HashMap::new(),
    };
    while let Some(item) = run.queue.pop_front() {
        let Some(rules) = plan.rules_for(&item.table, item.event) else {
            continue;
        };
        if item.depth_only {
            run.follow_depth(&item, rules).await?;
            continue;
        }
        if item.event == Event::Delete {
            run.mark_depth(&item, rules);
            run.mark_deleted(&item, rules);
        }
        run.record_changes(&item);
        for action in &rules.actions {
            let (keys, new_values) = changed_keys(&item, &action.fk);
            if keys.is_empty() {
                continue;
            }
            if item.replay && !matches!(action.kind, ActionKind::Delete { .. }) {
                continue;
            }
            match &action.kind {
                ActionKind::Refuse { .. } if !checks => {}
                ActionKind::Refuse { .. } => run.refuse(&item, action, &keys, &new_values).await?,
                ActionKind::Delete { statement } => {
                    run.delete_children(&item, action, statement, &keys, &new_values)
                        .await?
                }
                ActionKind::Update { statement, new } => {
                    run.update_children(&item, action, statement, new, &keys, &new_values)
                        .await?
                }
            }
        }
    }
    Ok(())
}

/// One cascade in progress: the plan, where its statements go, and the rows
/// still to process.
struct Cascade<'a> {
    plan: &'a Plan,
    backend: &'a mut Backend,
    writes: &'a mut Writes,
    checks: bool,
    queue: VecDeque<Item>,
    /// Rows already deleted by this plan, by table, with the earliest own row whose
    /// cascade reaches them: cycles stop here; an earlier origin travels on.
    deleted: HashMap<String, HashMap<Vec<String>, usize>>,
    /// With checks on: the longest cascade path found so far to each deleted row.
    /// InnoDB goes depth first, row by row in index order, so a row reachable by
    /// paths of different lengths is deleted at a depth the breadth-first plan
    /// cannot tell; when the longest path reaches InnoDB's limit the cascade stops
    /// with the limit's error (1296) and the executor lets a native run decide.
    depth_of: HashMap<String, HashMap<Vec<String>, usize>>,
}

impl Cascade<'_> {
    /// Notes the depth a delete item's rows are reached at (with checks on).
    fn mark_depth(&mut self, item: &Item, rules: &Rules) {
        if !self.checks {
            return;
        }
        let seen = self.depth_of.entry(item.table.clone()).or_default();
        let id_len = if rules.pk_len == 0 {
            rules.key_columns.len()
        } else {
            rules.pk_len
        };
        for row in &item.old {
            let d = seen.entry(row[..id_len.min(row.len())].to_vec()).or_insert(item.depth);
            *d = (*d).max(item.depth);
        }
    }

    /// Rows of `child` (their identities, `id_len` leading columns of `rows`)
    /// reached at `depth` that a shorter path reached before: they travel on as a
    /// depth-only item, so the limit is checked along the longer path too.
    /// A row on its own path (reached again through a cycle) is deleted already
    /// by then, as InnoDB sees it: not followed.
    fn deeper(&mut self, child: &str, rows: &[(Vec<String>, Path)], id_len: usize, depth: usize, event: Event) {
        if !self.checks {
            return;
        }
        let known = self.depth_of.entry(child.to_string()).or_default();
        let mut again = Vec::new();
        let mut paths = Vec::new();
        for (r, path) in rows {
            let id = r[..id_len.min(r.len())].to_vec();
            if path.iter().any(|(t, i)| t == child && *i == id) {
                continue;
            }
            if let Some(d) = known.get_mut(&id) {
                if *d < depth {
                    *d = depth;
                    again.push(r.clone());
                    paths.push(path.clone());
                }
            }
        }
        if !again.is_empty() {
            self.queue.push_back(Item {
                table: child.to_string(),
                event,
                origin: vec![0; again.len()],
                old: again,
                new: Vec::new(),
                depth,
                updated_chain: Vec::new(),
                replay: true,
                depth_only: true,
                paths,
            });
        }
    }

    /// A depth-only item: each child FK's rows at the next depth, refused at
    /// InnoDB's limit, and deleted children reached deeper than before followed on.
    async fn follow_depth(&mut self, item: &Item, rules: &Rules) -> Result<(), Failure> {
        for action in &rules.actions {
            let (keys, _) = changed_keys(item, &action.fk);
            if keys.is_empty() || matches!(action.kind, ActionKind::Refuse { .. }) {
                continue;
            }
            let fk = &action.fk;
            let at_limit = item.depth + 1 >= MAX_CASCADE_DEPTH;
            // An update's rows were followed along this path's length by the
            // item that first reached them; only the limit itself is checked here.
            if !at_limit && !matches!(action.kind, ActionKind::Delete { .. }) {
                continue;
            }
            let rows = self.read_children(action, &keys, &[]).await?;
            if at_limit && exists(self.backend, &fk.child, &fk.columns, &keys, rows.as_ref()).await? {
                return Err(ServerError::from(action.too_deep.clone()).into());
            }
            if let (ActionKind::Delete { .. }, Some(rows)) = (&action.kind, rows) {
                let key_len = rows.columns.len() - fk.columns.len();
                let child_id_len = id_len(self.plan, &fk.child, Event::Delete, key_len);
                let read = literals(&rows);
                let parents = self.parent_keys(fk, &keys, &read, key_len).await?;
                let by_key = item.paths_by_key(fk, rules_id_len(rules));
                let read: Vec<(Vec<String>, Path)> = read
                    .into_iter()
                    .zip(parents)
                    .map(|(mut r, parent)| {
                        r.truncate(key_len);
                        let path = parent.and_then(|i| by_key.get(&keys[i])).cloned().unwrap_or_default();
                        (r, path)
                    })
                    .collect();
                self.deeper(&fk.child, &read, child_id_len, item.depth + 1, Event::Delete);
            }
        }
        Ok(())
    }

    /// Notes the rows a delete item removes, with the earliest origin reaching each.
    fn mark_deleted(&mut self, item: &Item, rules: &Rules) {
        let seen = self.deleted.entry(item.table.clone()).or_default();
        let id_len = if rules.pk_len == 0 {
            rules.key_columns.len()
        } else {
            rules.pk_len
        };
        for (row, origin) in item.old.iter().zip(&item.origin) {
            let best = seen.entry(row[..id_len.min(row.len())].to_vec()).or_insert(*origin);
            *best = (*best).min(*origin);
        }
    }

    /// Every row of `item` as a change the parent checks replay.
    fn record_changes(&mut self, item: &Item) {
        for (k, (row, origin)) in item.old.iter().zip(&item.origin).enumerate() {
            let new = match item.event {
                Event::Delete => None,
                Event::Update => item.new.get(k).cloned(),
            };
            self.writes.changes.push(Change {
                table: item.table.clone(),
                old: row.clone(),
                new,
                origin: *origin,
            });
        }
    }

    /// RESTRICT / NO ACTION: fails when a child row references one of `keys`
    /// (children the statement deleted before their parent's row do not count).
    async fn refuse(
        &mut self,
        item: &Item,
        action: &Action,
        keys: &[Vec<String>],
        new_values: &[Vec<String>],
    ) -> Result<(), Failure> {
        let ActionKind::Refuse {
            probe,
            error,
            child_ids,
            ..
        } = &action.kind
        else {
            return Ok(());
        };
        let (fk, child_ids) = (&action.fk, *child_ids);
        let sql = probe.render(&fk.columns, keys, new_values);
        let found = self.backend.read(&sql).await?;
        let mut rows = literals(&found);
        if child_ids > 0 {
            // A child the statement deleted before its parent's row is
            // gone when MariaDB gets to the parent.
            let origin_of = origins_by_key(item, fk);
            let gone = self.deleted.get(&fk.child);
            rows.retain(|r| {
                let deleted_at = gone.and_then(|g| g.get(&r[..child_ids]));
                let parent_at = origin_of.get(&r[child_ids..]);
                !matches!((deleted_at, parent_at), (Some(d), Some(p)) if d < p)
            });
            for r in &mut rows {
                r.drain(..child_ids);
            }
        }
        if rows.is_empty() {
            return Ok(());
        }
        let referenced: HashSet<Vec<String>> = rows.into_iter().collect();
        Err(Failure {
            error: error.clone().into(),
            origin: first_origin(item, &fk.parent_positions, &referenced),
        })
    }

    /// The child rows `action` reads for `keys` (when the plan needs them: a
    /// cycle, or rules further down), with their FK values last.
    async fn read_children(
        &mut self,
        action: &Action,
        keys: &[Vec<String>],
        new_values: &[Vec<String>],
    ) -> Result<Option<Rows>, ServerError> {
        match &action.read {
            Some(read) => Ok(Some(
                self.backend
                    .read(&read.render(&action.fk.columns, keys, new_values))
                    .await?,
            )),
            None => Ok(None),
        }
    }

    /// ON DELETE CASCADE: the child DELETE, and the child rows it removes queued
    /// for their own rules (rows seen before travel on only with an earlier origin).
    async fn delete_children(
        &mut self,
        item: &Item,
        action: &Action,
        statement: &Template,
        keys: &[Vec<String>],
        new_values: &[Vec<String>],
    ) -> Result<(), Failure> {
        let fk = &action.fk;
        let child_rows = self.read_children(action, keys, new_values).await?;
        if item.replay && child_rows.is_none() {
            return Ok(());
        }
        if !item.replay {
            if self.checks
                && item.depth + 1 >= MAX_CASCADE_DEPTH
                && exists(self.backend, &fk.child, &fk.columns, keys, child_rows.as_ref()).await?
            {
                return Err(ServerError::from(action.too_deep.clone()).into());
            }
            self.writes
                .statements
                .push(statement.render(&fk.columns, keys, new_values));
        }
        let Some(rows) = child_rows else {
            return Ok(());
        };
        let key_len = rows.columns.len() - fk.columns.len();
        let child_id_len = id_len(self.plan, &fk.child, Event::Delete, key_len);
        // The first own row whose cascade reaches each parent key.
        let origin_of = origins_by_key(item, fk);
        let parent_id_len = match self.plan.rules_for(&item.table, item.event) {
            Some(rules) => rules_id_len(rules),
            None => usize::MAX,
        };
        let path_of = item.paths_by_key(fk, parent_id_len);
        let read = literals(&rows);
        let parents = self.parent_keys(fk, keys, &read, key_len).await?;
        let mut deeper = Vec::new();
        let seen = self.deleted.get(&fk.child);
        let mut old = Vec::new();
        let mut origin = Vec::new();
        let mut paths = Vec::new();
        let mut again = Vec::new();
        let mut again_origin = Vec::new();
        let mut again_paths = Vec::new();
        for (mut r, parent) in read.into_iter().zip(parents) {
            r.truncate(key_len);
            let o = parent.and_then(|i| origin_of.get(&keys[i])).copied().unwrap_or(0);
            let path = parent.and_then(|i| path_of.get(&keys[i])).cloned().unwrap_or_default();
            let id = r[..child_id_len.min(r.len())].to_vec();
            if fk.child == self.plan.table {
                if let Some(&pos) = self.writes.start_rows.get(&id) {
                    if pos > o {
                        self.writes.uncounted.insert(pos);
                    } else if pos == o {
                        self.writes.self_reached.insert(pos);
                    }
                }
            }
            match seen.and_then(|s| s.get(&id)) {
                None if !item.replay => {
                    old.push(r);
                    origin.push(o);
                    paths.push(path);
                }
                Some(best) if o < *best => {
                    again.push(r);
                    again_origin.push(o);
                    again_paths.push(path);
                }
                Some(_) => deeper.push((r, path)),
                None => {}
            }
        }
        self.deeper(&fk.child, &deeper, child_id_len, item.depth + 1, Event::Delete);
        for (rows, origin, replay, paths) in [
            (old, origin, item.replay, paths),
            (again, again_origin, true, again_paths),
        ] {
            if !rows.is_empty() {
                self.queue.push_back(Item {
                    table: fk.child.clone(),
                    event: Event::Delete,
                    origin,
                    old: rows,
                    new: Vec::new(),
                    depth: item.depth + 1,
                    updated_chain: item.updated_chain.clone(),
                    replay,
                    depth_only: false,
                    paths,
                });
            }
        }
        Ok(())
    }

    /// SET NULL, SET DEFAULT, ON UPDATE CASCADE: the child UPDATE (refused when
    /// the chain comes back to a table it updated, or too deep), and the child rows
    /// it re-keys queued for their own rules.
    async fn update_children(
        &mut self,
        item: &Item,
        action: &Action,
        statement: &Template,
        new: &NewChildValue,
        keys: &[Vec<String>],
        new_values: &[Vec<String>],
    ) -> Result<(), Failure> {
        let fk = &action.fk;
        // InnoDB's cascade writes only the child columns whose parent column
        // changed (byte for byte, as the literals compare): another column keeps
        // the child's own spelling (another case, trailing spaces), so its "new
        // value" is the child column itself (the multi-column UPDATE assigns at
        // once, so it is the old value). Review r26f F1.
        let cascade = matches!(new, NewChildValue::Cascade);
        let kept: Vec<Vec<bool>> = keys
            .iter()
            .zip(new_values)
            .map(|(k, v)| k.iter().zip(v).map(|(a, b)| cascade && a == b).collect())
            .collect();
        // InnoDB cascades the parent's key as stored: a CHAR's padded with spaces.
        let stored_values: Vec<Vec<String>>;
        let new_values = match cascade {
            true => {
                stored_values = new_values
                    .iter()
                    .zip(&kept)
                    .map(|(values, kept)| {
                        values
                            .iter()
                            .zip(&action.stored)
                            .zip(kept)
                            .zip(&fk.columns)
                            .map(|(((v, s), kept), column)| match kept {
                                true => tether_fkplan::ident(column),
                                false => s.pad.map_or_else(|| v.clone(), |pad| padded(v, pad)),
                            })
                            .collect()
                    })
                    .collect();
                &stored_values[..]
            }
            false => new_values,
        };
        let rows = self.read_children(action, keys, new_values).await?;
        // Without a read (no cycle, nothing further down) the statement
        // itself finds the rows; only the depth limit needs to know first.
        let found = match &rows {
            Some(r) => !r.rows.is_empty(),
            None if self.checks && item.depth + 1 >= MAX_CASCADE_DEPTH => {
                exists(self.backend, &fk.child, &fk.columns, keys, None).await?
            }
            None => true,
        };
        if !found {
            return Ok(());
        }
        let refused = if !self.checks {
            None
        } else if item.updated_chain.iter().any(|t| t == &fk.child) {
            Some(&action.same_table_update)
        } else if item.depth + 1 >= MAX_CASCADE_DEPTH {
            Some(&action.too_deep)
        } else {
            None
        };
        if let Some(error) = refused {
            let referenced: HashSet<Vec<String>> = rows
                .as_ref()
                .map(|r| {
                    literals(r)
                        .into_iter()
                        .map(|mut v| v.split_off(v.len() - fk.columns.len()))
                        .collect()
                })
                .unwrap_or_default();
            return Err(Failure {
                error: error.clone().into(),
                origin: first_origin(item, &fk.parent_positions, &referenced),
            });
        }
        if self.checks && matches!(new, NewChildValue::Cascade) {
            // Keys InnoDB cannot write into the child column as they are: too long
            // (trailing spaces included, where an UPDATE would cut them), or shorter
            // than a BINARY(n) (no pad byte, where an UPDATE would add 0x00s).
            let unfit = |v: &String, fits: &Option<u32>, stored: &Stored| {
                let too_many_chars = matches!((fits, literal_chars(v)), (Some(max), Some(n)) if n > *max as usize);
                let bytes = stored
                    .max_bytes
                    .zip(literal_bytes(v))
                    .map(|(max, b)| (max as usize, b.len()));
                let bytes_unfit = bytes.is_some_and(|(max, n)| n > max || (stored.fixed_bytes && n < max));
                too_many_chars || bytes_unfit
            };
            let long: Vec<Vec<String>> = keys
                .iter()
                .zip(new_values)
                .zip(&kept)
                .filter(|((_, values), kept)| {
                    values
                        .iter()
                        .zip(&action.fits)
                        .zip(&action.stored)
                        .zip(kept.iter())
                        .any(|(((v, fits), stored), kept)| !kept && unfit(v, fits, stored))
                })
                .map(|((k, _), _)| k.clone())
                .collect();
            if !long.is_empty() && exists(self.backend, &fk.child, &fk.columns, &long, None).await? {
                return Err(Failure {
                    error: action.same_table_update.clone().into(),
                    origin: first_origin(item, &fk.parent_positions, &long.into_iter().collect()),
                });
            }
        }
        self.writes
            .statements
            .push(statement.render(&fk.columns, keys, new_values));
        let child_rules = self.plan.rules_for(&fk.child, Event::Update);
        let (Some(rows), Some(child_rules)) = (rows, child_rules) else {
            return Ok(());
        };
        let key_len = rows.columns.len() - fk.columns.len();
        // Where the FK columns sit among the child's key columns.
        let positions: Vec<Option<usize>> = fk
            .columns
            .iter()
            .map(|c| {
                child_rules.key_columns[..key_len.min(child_rules.key_columns.len())]
                    .iter()
                    .position(|k| k.eq_ignore_ascii_case(c))
            })
            .collect();
        let origin_of = origins_by_key(item, fk);
        let read = literals(&rows);
        let parents = self.parent_keys(fk, keys, &read, key_len).await?;
        let mut old_rows = Vec::new();
        let mut new_rows = Vec::new();
        let mut origins = Vec::new();
        for (r, parent) in read.into_iter().zip(parents) {
            origins.push(parent.and_then(|i| origin_of.get(&keys[i])).copied().unwrap_or(0));
            let mut old = r;
            old.truncate(key_len);
            let mut next = old.clone();
            for (n, pos) in positions.iter().enumerate() {
                let Some(pos) = pos else { continue };
                next[*pos] = match (new, parent) {
                    (NewChildValue::Null, _) => "NULL".to_string(),
                    (NewChildValue::Default(d), _) => d[n].clone(),
                    (NewChildValue::Cascade, Some(i)) if kept[i][n] => old[*pos].clone(),
                    (NewChildValue::Cascade, Some(i)) => new_values[i][n].clone(),
                    // The read found it by one of `keys`, so `parent_keys` always
                    // tells which; kept as it was only should the server not say.
                    (NewChildValue::Cascade, None) => old[*pos].clone(),
                };
            }
            old_rows.push(old);
            new_rows.push(next);
        }
        let mut chain = item.updated_chain.clone();
        chain.push(fk.child.clone());
        self.queue.push_back(Item {
            table: fk.child.clone(),
            event: Event::Update,
            origin: origins,
            old: old_rows,
            new: new_rows,
            depth: item.depth + 1,
            updated_chain: chain,
            replay: false,
            depth_only: false,
            paths: Vec::new(),
        });
        Ok(())
    }

    /// For each child row read by `keys` (its FK values after the first `key_len`
    /// columns), the position in `keys` of the parent key it references. The server
    /// returns the child's own spelling, which the parent key's literal need not
    /// match (another case, trailing spaces, ZEROFILL digits): such values are
    /// matched by the column's own comparison, in one query.
    async fn parent_keys(
        &mut self,
        fk: &FkRef,
        keys: &[Vec<String>],
        read: &[Vec<String>],
        key_len: usize,
    ) -> Result<Vec<Option<usize>>, ServerError> {
        let index: HashMap<&[String], usize> = keys.iter().enumerate().map(|(i, k)| (k.as_slice(), i)).collect();
        let mut found: Vec<Option<usize>> = read.iter().map(|r| index.get(&r[key_len..]).copied()).collect();
        if found.iter().all(Option::is_some) {
            return Ok(found);
        }
        if keys.len() == 1 {
            return Ok(vec![Some(0); read.len()]);
        }
        let missing: HashSet<&[String]> = read
            .iter()
            .zip(&found)
            .filter(|(_, f)| f.is_none())
            .map(|(r, _)| &r[key_len..])
            .collect();
        let columns = row_sql(&fk.columns);
        let tuple = |v: &[String]| format!("({})", v.join(", "));
        let cases: Vec<String> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| format!("WHEN {columns} = {} THEN {i}", tuple(k)))
            .collect();
        let listed: Vec<String> = fk.columns.iter().map(|c| tether_fkplan::ident(c)).collect();
        let sql = format!(
            "SELECT {}, CASE {} END FROM {} WHERE {columns} IN ({})",
            listed.join(", "),
            cases.join(" "),
            tether_fkplan::ident(&fk.child),
            missing.iter().map(|v| tuple(v)).collect::<Vec<_>>().join(", ")
        );
        let mut matched: HashMap<Vec<String>, usize> = HashMap::new();
        for mut r in literals(&self.backend.read(&sql).await?) {
            if let Some(i) = r.pop().and_then(|i| i.parse().ok()) {
                matched.insert(r, i);
            }
        }
        for (f, r) in found.iter_mut().zip(read) {
            if f.is_none() {
                *f = matched.get(&r[key_len..]).copied();
            }
        }
        Ok(found)
    }
}

/// The characters of a quoted string literal as the server reads it (`\\x` and
/// `''` are one; `_utf8mb4 X'..'` its text); `None` for anything else (numbers,
/// hex, NULL).
fn literal_chars(literal: &str) -> Option<usize> {
    if let Some(text) = super::render::utf8mb4_hex_bytes(literal) {
        return Some(String::from_utf8_lossy(&text).chars().count());
    }
    let inner = literal.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut n = 0;
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' || c == '\'' {
            chars.next();
        }
        n += 1;
    }
    Some(n)
}

/// The distinct old key tuples of `fk` in `item`, without NULLs (they reference
/// nothing), and for updates only keys that change, with their new values.
fn changed_keys(item: &Item, fk: &FkRef) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let mut keys: Vec<Vec<String>> = Vec::new();
    let mut new_values: Vec<Vec<String>> = Vec::new();
    let mut seen_keys: HashSet<Vec<String>> = HashSet::new();
    for (i, row) in item.old.iter().enumerate() {
        let old: Vec<String> = fk.parent_positions.iter().map(|p| row[*p].clone()).collect();
        if old.iter().any(|v| v == "NULL") {
            continue;
        }
        let new: Vec<String> = match item.event {
            Event::Delete => Vec::new(),
            Event::Update => fk.parent_positions.iter().map(|p| item.new[i][*p].clone()).collect(),
        };
        if item.event == Event::Update && new == old {
            continue;
        }
        if seen_keys.insert(old.clone()) {
            keys.push(old);
            new_values.push(new);
        }
    }
    (keys, new_values)
}

/// For each parent key of `fk` in `item`: the first own row whose cascade reaches it.
/// How many leading key columns of a rule's rows name a row.
fn rules_id_len(rules: &Rules) -> usize {
    if rules.pk_len == 0 {
        rules.key_columns.len()
    } else {
        rules.pk_len
    }
}

fn origins_by_key(item: &Item, fk: &FkRef) -> HashMap<Vec<String>, usize> {
    let mut origin_of: HashMap<Vec<String>, usize> = HashMap::new();
    for (row, origin) in item.old.iter().zip(&item.origin) {
        let key: Vec<String> = fk.parent_positions.iter().map(|p| row[*p].clone()).collect();
        let e = origin_of.entry(key).or_insert(*origin);
        *e = (*e).min(*origin);
    }
    origin_of
}

/// Whether child rows reference `keys`: from rows already read, or a probe.
pub(super) async fn exists(
    backend: &mut Backend,
    child: &str,
    columns: &[String],
    keys: &[Vec<String>],
    rows: Option<&Rows>,
) -> Result<bool, ServerError> {
    if let Some(rows) = rows {
        return Ok(!rows.rows.is_empty());
    }
    let probe = tether_fkplan::Template {
        parts: vec![
            tether_fkplan::Part::Text(format!(
                "SELECT 1 FROM {} WHERE {} IN (",
                tether_fkplan::ident(child),
                row_sql(columns)
            )),
            tether_fkplan::Part::Keys,
            tether_fkplan::Part::Text(") LIMIT 1".into()),
        ],
    };
    Ok(!backend.read(&probe.render(columns, keys, &[])).await?.rows.is_empty())
}
