//! Shadow tables: `CREATE TABLE _t_new_<id> LIKE t` (no FKs), the user's ALTER (or, for a
//! family child, the key columns' new type). FKs the ALTER adds are read back with
//! their final names and dropped: a shadow has no FKs while it fills, so capture
//! triggers never fail on it. The FKs the new table gets (stored in the plan) are
//! checked on an empty scratch copy, and the shadow's keys made ordinary keys, so the
//! FKs can be added at cut-over as metadata only.

use std::collections::BTreeMap;

use tether_schema::{FkAction, Schema};

use super::db::{lit, q, q_list, Db};
use super::family;
use super::plan::{copy_columns, parse_alter, same_column, FkDef, Plan, TablePlan};
use super::OnlineError;

/// Builds every shadow of `plan` and fills in `copy` and `fks_after`.
pub async fn prepare(db: &mut Db, database: &str, schema: &Schema, plan: &mut Plan) -> Result<(), OnlineError> {
    db.checks_off().await?;
    // The renames and drops of columns, read from the ALTER aimed at the shadow.
    let root_alter = match plan.tables[0].shadow_alter.as_deref() {
        Some(sql) => Some(parse_alter(sql)?.statement),
        None => None,
    };
    for i in 0..plan.tables.len() {
        let t = plan.tables[i].clone();
        db.run(&format!("DROP TABLE IF EXISTS {}", q(&t.shadow))).await?;
        db.run(&format!("CREATE TABLE {} LIKE {}", q(&t.shadow), q(&t.table)))
            .await?;
        if let Some(alter) = &t.shadow_alter {
            db.run(alter).await?;
        }
        // Key columns following the root's new key type.
        let mut modify = Vec::new();
        for col in &t.follow_columns {
            let referenced = t
                .fks_before
                .iter()
                .filter(|f| f.local_parent() == Some(plan.root.as_str()))
                .find_map(|f| {
                    f.columns
                        .iter()
                        .position(|c| c == col)
                        .map(|p| f.referenced_columns[p].clone())
                })
                .ok_or_else(|| OnlineError::Refused {
                    table: t.table.clone(),
                    reason: format!("column `{col}` references no key of `{}`", plan.root),
                })?;
            let new_type = family::key_type(db, database, &plan.tables[0].shadow, &referenced).await?;
            modify.push(family::modify_clause(db, database, &t.shadow, col, &new_type).await?);
        }
        if !modify.is_empty() {
            db.run(&format!("ALTER TABLE {} {}", q(&t.shadow), modify.join(", ")))
                .await?;
        }
        let source = schema
            .tables
            .iter()
            .find(|x| x.name == t.table)
            .ok_or_else(|| OnlineError::Refused {
                table: t.table.clone(),
                reason: "the table disappeared from the keyspace".into(),
            })?;
        let pairs = copy_columns(if i == 0 { root_alter.as_ref() } else { None }, source);
        let columns = shadow_columns(db, database, &t.shadow).await?;
        let mut copy = Vec::new();
        for p in pairs {
            // A column the ALTER keeps must be in the shadow: a pair lost here would be
            // a column lost at cut-over.
            let (name, generated) = columns
                .iter()
                .find(|(name, _)| same_column(name, &p.shadow))
                .ok_or_else(|| OnlineError::Refused {
                    table: t.table.clone(),
                    reason: format!(
                        "column `{}` should be copied into `{}` of the new definition, which the shadow `{}` lacks",
                        p.source, p.shadow, t.shadow
                    ),
                })?;
            // A generated shadow column computes its own value; an ordinary one takes the
            // source's (also when the source column was generated).
            if !generated {
                copy.push((p.source, name.clone()));
            }
        }
        plan.tables[i].fill = implicit_fills(db, database, &t.shadow, &copy).await?;
        plan.tables[i].copy = copy;
    }
    // FKs the ALTER added are read back (with the names they get on the table) and
    // dropped: a filling shadow has no FKs.
    let mut added = Vec::new();
    for i in 0..plan.tables.len() {
        let t = plan.tables[i].clone();
        let read = read_fks(db, database, &t.shadow).await?;
        let highest = t
            .fks_before
            .iter()
            .filter_map(|f| ibfk_number(&f.name, &t.table))
            .max()
            .unwrap_or(0);
        let mut mine = Vec::new();
        for fk in &read {
            let mut f = fk.clone();
            f.table = t.table.clone();
            if let Some(n) = ibfk_number(&fk.name, &t.shadow) {
                f.name = format!("{}_ibfk_{}", t.table, n + highest);
            }
            if fk.referenced_schema.is_none() {
                f.referenced_table = plan.final_name(&fk.referenced_table).to_string();
            }
            mine.push(f);
        }
        if !read.is_empty() {
            let drops: Vec<String> = read
                .iter()
                .map(|f| format!("DROP FOREIGN KEY {}", q(&f.name)))
                .collect();
            db.run(&format!("ALTER TABLE {} {}", q(&t.shadow), drops.join(", ")))
                .await?;
        }
        added.push(mine);
    }
    for (i, mine) in added.into_iter().enumerate() {
        let t = &plan.tables[i];
        let mut after: Vec<FkDef> = t
            .fks_before
            .iter()
            .filter(|f| !t.fks_dropped.contains(&f.name))
            .map(|f| FkDef {
                columns: f.columns.iter().map(|c| shadow_name(t, c)).collect(),
                ..f.clone()
            })
            .collect();
        after.extend(mine);
        plan.tables[i].fks_after = after;
    }
    check_fks(db, plan).await?;
    for t in &plan.tables {
        explicit_keys(db, &t.shadow).await?;
    }
    Ok(())
}

/// Errors with which MariaDB refuses an ALTER that breaks what an FK of the table
/// needs: the column's type (1832, 1833), the column (1828, 1829) or its index
/// (1553), NOT NULL under SET NULL (1830), an index or a type the FK no longer finds
/// (1005, 1025, 1215, 1821, 1822).
const FK_MISFITS: &[u16] = &[1005, 1025, 1215, 1553, 1821, 1822, 1828, 1829, 1830, 1832, 1833];

/// Fails as the native ALTER fails, with MariaDB's own error naming the user's FK
/// ([`OnlineError::Native`]), when `alter_sql` changes or drops what an FK it keeps,
/// to a table the migration does not rebuild, needs (`ALTER TABLE c MODIFY
/// parent_id INT` where `p.id` is a BIGINT: 1832; `DROP COLUMN parent_id`: 1553), or
/// what a child's FK needs of it (`DROP INDEX uc` where a child references `code`
/// through it: 1553, review r23f F3).
/// The shadow has no FKs while it fills, and the check of its FKs later met them
/// only as InnoDB's wording about scratch constraints (1822 "Missing index", 1072).
/// The user's ALTER runs, with checks on, on an empty scratch copy of the table
/// that has those FKs under scratch names, beside empty scratch copies of the
/// children (not rebuilt by the migration) whose FKs reference it; the scratch names
/// in the error are put back. Runs before anything is built; other errors are left
/// to the shadow.
pub async fn refuse_misfit_fks(db: &mut Db, plan: &Plan, alter_sql: &str) -> Result<(), OnlineError> {
    let t = &plan.tables[0];
    let kept: Vec<&FkDef> = t
        .fks_before
        .iter()
        .filter(|f| !t.fks_dropped.contains(&f.name))
        .filter(|f| !plan.tables.iter().any(|x| f.local_parent() == Some(x.table.as_str())))
        .collect();
    let children: Vec<&FkDef> = plan
        .children
        .iter()
        .map(|c| &c.fk)
        .filter(|f| f.local_parent() == Some(t.table.as_str()))
        .filter(|f| !plan.tables.iter().any(|x| x.table == f.table))
        .collect();
    if kept.is_empty() && children.is_empty() {
        return Ok(());
    }
    let scratch = format!("{}_fit", plan.prefix);
    let cut = super::text::cut(alter_sql).map_err(OnlineError::NotAlter)?;
    let Some(alter) = cut.for_shadow(&q(&scratch)) else {
        return Ok(());
    };
    let temp_names: Vec<String> = (0..kept.len()).map(|j| format!("{scratch}_{j}")).collect();
    let child_scratches: Vec<String> = (0..children.len()).map(|j| format!("{scratch}c{j}")).collect();
    let child_temps: Vec<String> = (0..children.len()).map(|j| format!("{scratch}k{j}")).collect();
    let adds: Vec<String> = kept
        .iter()
        .zip(&temp_names)
        .map(|(f, name)| {
            let mut temp = (*f).clone();
            temp.name = name.clone();
            format!("ADD {}", constraint_sql(&temp))
        })
        .collect();
    let drop_scratches = {
        let mut all: Vec<String> = child_scratches.iter().map(|c| q(c)).collect();
        all.push(q(&scratch));
        format!(
            "SET STATEMENT foreign_key_checks = 0 FOR DROP TABLE IF EXISTS {}",
            all.join(", ")
        )
    };
    db.run(&drop_scratches).await?;
    db.run(&format!("CREATE TABLE {} LIKE {}", q(&scratch), q(&t.table)))
        .await?;
    let tried = async {
        if !adds.is_empty() {
            db.run(&format!("ALTER TABLE {} {}", q(&scratch), adds.join(", ")))
                .await?;
        }
        for ((fk, child_scratch), temp_name) in children.iter().zip(&child_scratches).zip(&child_temps) {
            let mut temp = (*fk).clone();
            temp.name = temp_name.clone();
            temp.referenced_table = scratch.clone();
            temp.referenced_schema = None;
            // With checks on (both are empty): with them off MariaDB refuses an FK with
            // a cascading action on a base column of a stored generated column (138).
            // A child scratch that cannot be built (a child in another database) is
            // left to the checks of the shadow.
            let built = match db
                .run(&format!("CREATE TABLE {} LIKE {}", q(child_scratch), q(&fk.table)))
                .await
            {
                Ok(_) => {
                    db.run(&format!(
                        "SET STATEMENT foreign_key_checks = 1 FOR ALTER TABLE {} ADD {}",
                        q(child_scratch),
                        constraint_sql(&temp)
                    ))
                    .await
                }
                Err(e) => Err(e),
            };
            if built.is_err() {
                return Ok(Ok(()));
            }
        }
        Ok::<_, OnlineError>(
            db.run(&format!("SET STATEMENT foreign_key_checks = 1 FOR {alter}"))
                .await
                .map(|_| ()),
        )
    }
    .await;
    db.run(&drop_scratches).await?;
    match tried? {
        Err(OnlineError::Backend {
            code,
            state,
            mut message,
            ..
        }) if FK_MISFITS.contains(&code) => {
            // Longest first: `_fit_1` is a prefix of `_fit_10`, the scratch of both;
            // the children's scratch names before the parent's (a prefix of them).
            for (temp, fk) in temp_names.iter().zip(&kept).rev() {
                message = message.replace(temp.as_str(), &fk.name);
            }
            for (temp, fk) in child_temps.iter().zip(&children).rev() {
                message = message.replace(temp.as_str(), &fk.name);
            }
            for (child_scratch, fk) in child_scratches.iter().zip(&children).rev() {
                message = message.replace(child_scratch.as_str(), &fk.table);
            }
            message = message.replace(scratch.as_str(), &t.table);
            Err(OnlineError::Native {
                table: t.table.clone(),
                code,
                state,
                message,
            })
        }
        _ => Ok(()),
    }
}

/// Refuses a migration whose cut-over would re-create an FK with a cascading action
/// (CASCADE, SET NULL) on a base column of a STORED generated column (review r23f
/// F2): with `foreign_key_checks = 0` MariaDB adds such a key only by copying the
/// table, and refuses it in place (ERROR 138, "Cannot add foreign key on the base
/// column of stored column"); the cut-over adds FKs in place, metadata only. The FKs
/// the cut-over re-creates: those of the migrated tables (kept by the ALTER) and those
/// of the children re-pointed at them. The message names the FK, its table, the base
/// column and the generated column.
pub async fn refuse_stored_over_fks(db: &mut Db, database: &str, plan: &Plan) -> Result<(), OnlineError> {
    let cascading = |a: FkAction| matches!(a, FkAction::Cascade | FkAction::SetNull);
    let recreated: Vec<&FkDef> = plan
        .tables
        .iter()
        .flat_map(|t| t.fks_before.iter().filter(|f| !t.fks_dropped.contains(&f.name)))
        .chain(plan.children.iter().map(|c| &c.fk))
        .filter(|f| cascading(f.on_delete) || cascading(f.on_update))
        .collect();
    if recreated.is_empty() {
        return Ok(());
    }
    let mut tables: Vec<String> = recreated.iter().map(|f| lit(&f.table)).collect();
    tables.sort();
    tables.dedup();
    let stored = db
        .texts(&format!(
            "SELECT TABLE_NAME, COLUMN_NAME, GENERATION_EXPRESSION FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = {} AND TABLE_NAME IN ({}) AND EXTRA IN ('STORED GENERATED', 'PERSISTENT GENERATED') \
             ORDER BY TABLE_NAME, ORDINAL_POSITION",
            lit(database),
            tables.join(", ")
        ))
        .await?;
    for fk in recreated {
        for row in &stored {
            let (Some(table), Some(column), Some(expr)) = (&row[0], &row[1], &row[2]) else {
                continue;
            };
            if *table != fk.table {
                continue;
            }
            let Some(base) = fk.columns.iter().find(|c| crate::keyspace::names(expr, c)) else {
                continue;
            };
            let advice = if plan.tables.len() > 1 {
                "drop the generated column (or the FK's cascading action) first and add it again afterwards"
            } else {
                "use ddl_strategy 'direct'"
            };
            return Err(OnlineError::Refused {
                table: plan.root.clone(),
                reason: format!(
                    "the foreign key `{}` of `{}` ({}) is on `{base}`, a base column of the stored generated \
                     column `{column}`: MariaDB adds such a key without checks only by copying `{}` (ERROR 138), \
                     and the cut-over re-creates it in place; {advice}",
                    fk.name,
                    fk.table,
                    actions(fk),
                    fk.table
                ),
            });
        }
    }
    Ok(())
}

/// `ON DELETE CASCADE ON UPDATE ...`: the FK's actions as its definition gives them.
fn actions(fk: &FkDef) -> String {
    let name = |a: FkAction| match a {
        FkAction::Cascade => "CASCADE",
        FkAction::SetNull => "SET NULL",
        FkAction::SetDefault => "SET DEFAULT",
        FkAction::Restrict => "RESTRICT",
        FkAction::NoAction => "NO ACTION",
    };
    format!("ON DELETE {} ON UPDATE {}", name(fk.on_delete), name(fk.on_update))
}

/// Checks that every FK the new tables get fits them (types, indexes of the referenced
/// keys), on empty scratch copies of the shadows: a misfit fails the migration before
/// anything was swapped, as the native ALTER would fail.
async fn check_fks(db: &mut Db, plan: &Plan) -> Result<(), OnlineError> {
    for (i, t) in plan.tables.iter().enumerate() {
        if t.fks_after.is_empty() {
            continue;
        }
        let scratch = format!("{}_{i}_check", plan.prefix);
        db.run(&format!("DROP TABLE IF EXISTS {}", q(&scratch))).await?;
        db.run(&format!("CREATE TABLE {} LIKE {}", q(&scratch), q(&t.shadow)))
            .await?;
        let adds: Vec<String> = t
            .fks_after
            .iter()
            .enumerate()
            .map(|(j, f)| {
                let mut temp = f.clone();
                temp.name = format!("{}_{i}_{j}", plan.prefix);
                if let Some(r) = plan.tables.iter().find(|x| f.local_parent() == Some(x.table.as_str())) {
                    temp.referenced_table = if r.table == t.table {
                        scratch.clone()
                    } else {
                        r.shadow.clone()
                    };
                }
                format!("ADD {}", constraint_sql(&temp))
            })
            .collect();
        let checked = db
            .run(&format!("ALTER TABLE {} {}", q(&scratch), adds.join(", ")))
            .await;
        db.run(&format!("DROP TABLE IF EXISTS {}", q(&scratch))).await?;
        checked.map_err(|e| {
            // The user's names in the message, not the scratch ones (review r23f F3).
            let mut names: Vec<(String, String)> = t
                .fks_after
                .iter()
                .enumerate()
                .map(|(j, f)| (format!("{}_{i}_{j}", plan.prefix), f.name.clone()))
                .collect();
            names.push((scratch.clone(), t.table.clone()));
            names.extend(plan.tables.iter().map(|x| (x.shadow.clone(), x.table.clone())));
            OnlineError::Refused {
                table: t.table.clone(),
                reason: format!(
                    "its foreign keys do not fit the new definition: {}",
                    named_back(&e.to_string(), names)
                ),
            }
        })?;
    }
    check_children(db, plan).await
}

/// Checks that every child FK re-pointed at cut-over still fits its parent's new
/// definition under its own column names (a referenced column renamed or dropped, its
/// index dropped): on empty scratch copies of the child and the new parent, before
/// anything is swapped. The re-point keeps the child's referenced column names, so a
/// misfit would otherwise fail after the RENAME, leaving the child without its FK.
async fn check_children(db: &mut Db, plan: &Plan) -> Result<(), OnlineError> {
    let migrated = |name: &str| plan.tables.iter().any(|t| t.table == name);
    for (i, child) in plan.children.iter().enumerate() {
        let fk = &child.fk;
        let Some(parent) = plan.tables.iter().find(|t| fk.local_parent() == Some(t.table.as_str())) else {
            continue;
        };
        if migrated(&fk.table) {
            continue; // its FKs are in that table's `fks_after`, checked above
        }
        let parent_scratch = format!("{}_p{i}_check", plan.prefix);
        let child_scratch = format!("{}_c{i}_check", plan.prefix);
        for (scratch, like) in [(&parent_scratch, &parent.shadow), (&child_scratch, &fk.table)] {
            db.run(&format!("DROP TABLE IF EXISTS {}", q(scratch))).await?;
            db.run(&format!("CREATE TABLE {} LIKE {}", q(scratch), q(like))).await?;
        }
        let mut temp = fk.clone();
        temp.name = format!("{}_c{i}", plan.prefix);
        temp.referenced_table = parent_scratch.clone();
        let checked = db
            .run(&format!(
                "ALTER TABLE {} ADD {}",
                q(&child_scratch),
                constraint_sql(&temp)
            ))
            .await;
        for scratch in [&child_scratch, &parent_scratch] {
            db.run(&format!("DROP TABLE IF EXISTS {}", q(scratch))).await?;
        }
        checked.map_err(|e| {
            // The user's names in the message, not the scratch ones (review r23f F3).
            let names = vec![
                (temp.name.clone(), fk.name.clone()),
                (child_scratch.clone(), fk.table.clone()),
                (parent_scratch.clone(), parent.table.clone()),
            ];
            OnlineError::Refused {
                table: parent.table.clone(),
                reason: format!(
                    "the foreign key {} of {} would not fit the new definition: {}",
                    q(&fk.name),
                    q(&fk.table),
                    named_back(&e.to_string(), names)
                ),
            }
        })?;
    }
    Ok(())
}

/// `text` with each scratch name of `names` (scratch, user's) replaced by the user's
/// name, the longest scratch names first (`_1` is a prefix of `_10`).
fn named_back(text: &str, mut names: Vec<(String, String)>) -> String {
    names.sort_by_key(|(scratch, _)| std::cmp::Reverse(scratch.len()));
    let mut out = text.to_string();
    for (scratch, user) in names {
        out = out.replace(&scratch, &user);
    }
    out
}

/// Re-creates the secondary keys of an (empty) shadow as ordinary keys, in their order.
/// `CREATE TABLE ... LIKE` copies the keys InnoDB generated for FKs as generated keys,
/// and adding an FK to a table replaces a generated key on its columns by a new one
/// at the end (an index build); an ordinary key is used as it is (metadata only).
async fn explicit_keys(db: &mut Db, shadow: &str) -> Result<(), OnlineError> {
    let create = super::family::show_create(db, shadow).await?;
    let keys: Vec<&str> = create
        .lines()
        .map(str::trim)
        .filter(|l| {
            ["KEY ", "UNIQUE KEY ", "FULLTEXT KEY ", "SPATIAL KEY "]
                .iter()
                .any(|k| l.starts_with(k))
        })
        .map(|l| l.trim_end_matches(','))
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    let mut ops = Vec::new();
    for k in &keys {
        let name_start = k.find('`').unwrap_or(0);
        let name_end = k[name_start + 1..]
            .find('`')
            .map(|e| name_start + 1 + e)
            .unwrap_or(k.len());
        ops.push(format!("DROP KEY {}", &k[name_start..=name_end.min(k.len() - 1)]));
    }
    for k in &keys {
        ops.push(format!("ADD {k}"));
    }
    db.run(&format!("ALTER TABLE {} {}", q(shadow), ops.join(", "))).await?;
    Ok(())
}

/// The shadow's name for a column of the source table.
fn shadow_name(t: &TablePlan, source: &str) -> String {
    t.copy
        .iter()
        .find(|(s, _)| s == source)
        .map(|(_, d)| d.clone())
        .unwrap_or_else(|| source.to_string())
}

/// `CONSTRAINT name FOREIGN KEY (..) REFERENCES t (..) ON DELETE .. ON UPDATE ..`.
pub fn constraint_sql(fk: &FkDef) -> String {
    let mut s = format!(
        "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
        q(&fk.name),
        q_list(&fk.columns),
        fk.parent_sql(),
        q_list(&fk.referenced_columns)
    );
    // InnoDB reports RESTRICT where nothing was said; SHOW CREATE TABLE omits it.
    if fk.on_delete != FkAction::Restrict {
        s.push_str(&format!(" ON DELETE {}", fk.on_delete));
    }
    if fk.on_update != FkAction::Restrict {
        s.push_str(&format!(" ON UPDATE {}", fk.on_update));
    }
    s
}

/// `t_ibfk_3` -> 3.
pub(crate) fn ibfk_number(name: &str, table: &str) -> Option<u64> {
    name.strip_prefix(&format!("{table}_ibfk_"))?.parse().ok()
}

/// Which tables hold the new definition: the shadows (before the RENAME) or the
/// tables' own names (after it, the old tables moved aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewTables {
    Shadows,
    Swapped,
}

/// Fails with 1452, as the native ALTER does, when an FK the new definition adds (or
/// changes) has orphans among the rows of the new tables (`new`), against the
/// parents' new tables where they are migrated too. Checked after the copy, and again
/// under the cut-over's gate before and after the RENAME (review r21f F2): a write
/// accepted meanwhile by a planner that does not know the FK yet must not end under
/// it.
pub async fn check_added_fk_rows(db: &mut Db, plan: &Plan, new: NewTables) -> Result<(), OnlineError> {
    let new_table = |t: &TablePlan| match new {
        NewTables::Shadows => q(&t.shadow),
        NewTables::Swapped => q(&t.table),
    };
    let new_name = |fk: &FkDef| match fk.local_parent().and_then(|p| plan.table(p)) {
        Some(t) => new_table(t),
        None => fk.parent_sql(),
    };
    for t in &plan.tables {
        for fk in t.fks_after.iter().filter(|fk| !t.fks_before.contains(fk)) {
            let Some(first) = fk.referenced_columns.first() else {
                continue;
            };
            let present: Vec<String> = fk.columns.iter().map(|c| format!("_c.{} IS NOT NULL", q(c))).collect();
            let matches: Vec<String> = fk
                .columns
                .iter()
                .zip(&fk.referenced_columns)
                .map(|(c, r)| format!("_p.{} = _c.{}", q(r), q(c)))
                .collect();
            // An anti-join, not `NOT EXISTS`: MariaDB 10.11 may run the latter by
            // materializing every parent key on disk (the orphan check after the
            // cut-over took 25 s that way for 5M children, 3 s as a join).
            let sql = format!(
                "SELECT 1 FROM {} AS _c LEFT JOIN {} AS _p ON {} WHERE {} AND _p.{} IS NULL LIMIT 1",
                new_table(t),
                new_name(fk),
                matches.join(" AND "),
                present.join(" AND "),
                q(first)
            );
            if !db.rows(&sql).await?.is_empty() {
                return Err(OnlineError::Backend {
                    doing: format!("checking the rows of `{}` against FK `{}`", t.table, fk.name),
                    code: 1452,
                    state: "23000".into(),
                    message: format!(
                        "Cannot add or update a child row: a foreign key constraint fails ({})",
                        constraint_sql(fk)
                    ),
                });
            }
        }
    }
    Ok(())
}

/// The columns of `table`, each with whether it is generated.
async fn shadow_columns(db: &mut Db, database: &str, table: &str) -> Result<Vec<(String, bool)>, OnlineError> {
    let sql = format!(
        "SELECT COLUMN_NAME, IS_GENERATED <> 'NEVER' FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {} ORDER BY ORDINAL_POSITION",
        lit(database),
        lit(table)
    );
    Ok(db
        .texts(&sql)
        .await?
        .into_iter()
        .filter_map(|r| {
            let mut r = r.into_iter();
            let name = r.next().flatten()?;
            Some((name, r.next().flatten().as_deref() == Some("1")))
        })
        .collect())
}

/// The columns of `shadow` that nothing copies into, NOT NULL without a DEFAULT (not
/// generated, not AUTO_INCREMENT), with the implicit default of their type as a
/// literal: what the native ALTER gives existing rows (0, '', the zero date). An ENUM
/// has its first value as an implicit default the INSERT uses already; a type without a
/// known zero is left out (the copy then fails with the server's 1364).
async fn implicit_fills(
    db: &mut Db,
    database: &str,
    shadow: &str,
    copy: &[(String, String)],
) -> Result<Vec<(String, String)>, OnlineError> {
    let sql = format!(
        "SELECT COLUMN_NAME, LOWER(DATA_TYPE) FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {} AND IS_NULLABLE = 'NO' AND COLUMN_DEFAULT IS NULL \
         AND IS_GENERATED = 'NEVER' AND EXTRA NOT LIKE '%auto_increment%' ORDER BY ORDINAL_POSITION",
        lit(database),
        lit(shadow)
    );
    let mut out = Vec::new();
    for r in db.texts(&sql).await? {
        let mut r = r.into_iter();
        let (Some(name), Some(ty)) = (r.next().flatten(), r.next().flatten()) else {
            continue;
        };
        if copy.iter().any(|(_, d)| same_column(d, &name)) {
            continue;
        }
        if let Some(zero) = implicit_default(&ty) {
            out.push((name, zero.to_string()));
        }
    }
    Ok(out)
}

/// The literal of a type's implicit default (MariaDB's for a NOT NULL column without
/// DEFAULT), by `DATA_TYPE`.
fn implicit_default(data_type: &str) -> Option<&'static str> {
    Some(match data_type {
        "tinyint" | "smallint" | "mediumint" | "int" | "bigint" | "decimal" | "float" | "double" | "bit" | "year" => {
            "0"
        }
        "char" | "varchar" | "binary" | "varbinary" | "tinytext" | "text" | "mediumtext" | "longtext" | "tinyblob"
        | "blob" | "mediumblob" | "longblob" | "json" | "set" => "''",
        "date" => "'0000-00-00'",
        "datetime" | "timestamp" => "'0000-00-00 00:00:00'",
        "time" => "'00:00:00'",
        _ => return None,
    })
}

/// The FKs of `table` as the server reports them.
pub async fn read_fks(db: &mut Db, database: &str, table: &str) -> Result<Vec<FkDef>, OnlineError> {
    let sql = format!(
        "SELECT k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, \
         r.DELETE_RULE, r.UPDATE_RULE, k.REFERENCED_TABLE_SCHEMA \
         FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
         ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
         AND r.TABLE_NAME = k.TABLE_NAME \
         WHERE k.TABLE_SCHEMA = {db} AND k.TABLE_NAME = {t} AND r.CONSTRAINT_SCHEMA = {db} AND r.TABLE_NAME = {t} \
         AND k.REFERENCED_TABLE_NAME IS NOT NULL \
         ORDER BY k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
        db = lit(database),
        t = lit(table)
    );
    let mut by_name: BTreeMap<String, FkDef> = BTreeMap::new();
    for r in db.texts(&sql).await? {
        let f = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
        let action = |i: usize| FkAction::parse(&f(i)).unwrap_or(FkAction::Restrict);
        let e = by_name.entry(f(0)).or_insert_with(|| FkDef {
            name: f(0),
            table: table.to_string(),
            columns: Vec::new(),
            referenced_table: f(2),
            referenced_schema: Some(f(6)).filter(|s| s != database),
            referenced_columns: Vec::new(),
            on_delete: action(4),
            on_update: action(5),
        });
        e.columns.push(f(1));
        e.referenced_columns.push(f(3));
    }
    Ok(by_name.into_values().collect())
}

/// Drops the triggers and shadows of `plan` (cancel, or a failure before the swap):
/// the original tables are as they were. Dropping a trigger waits for the transactions
/// open on its table: bounded by the session's `lock_wait_timeout`, tried `attempts`
/// times; the shadows go only once no trigger writes to them.
pub async fn cleanup(db: &mut Db, plan: &Plan, attempts: u32) -> Result<(), OnlineError> {
    db.checks_off().await?;
    for t in &plan.tables {
        let mut attempt = 1;
        loop {
            match super::capture::drop(db, t).await {
                Err(e) if e.is_lock_wait_timeout() && attempt < attempts => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
                other => break other?,
            }
        }
    }
    for t in &plan.tables {
        db.run(&format!("DROP TABLE IF EXISTS {}", q(&t.shadow))).await?;
    }
    Ok(())
}

/// Refuses `alter_sql` when it makes a column AUTO_INCREMENT on a table that has
/// rows (see [`super::plan::numbered_column`]): the values would differ from the
/// native ALTER's.
pub async fn refuse_numbering(db: &mut Db, schema: &Schema, alter_sql: &str) -> Result<(), OnlineError> {
    let Some((table, column)) = super::plan::numbered_column(schema, alter_sql) else {
        return Ok(());
    };
    let rows = db.rows(&format!("SELECT 1 FROM {} LIMIT 1", q(&table))).await?;
    if rows.is_empty() {
        return Ok(());
    }
    Err(OnlineError::Refused {
        table,
        reason: format!(
            "it makes column `{column}` AUTO_INCREMENT on a table with rows: the online copy would number them \
             with gaps and in another order than the native ALTER (1..N in primary-key order); use ddl_strategy \
             'direct'"
        ),
    })
}
