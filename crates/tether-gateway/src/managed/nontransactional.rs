//! Native trial runs (a statement run under a savepoint and rolled back, for
//! MariaDB's own outcome or rows) undo only what a transactional engine wrote.
//! A statement that writes a table of another engine (MyISAM, Aria, MEMORY,
//! CSV, ...), itself or through a trigger, would keep that write through the
//! rollback (and have it in the binlog at once), then write it again when the
//! plan runs; Aria even fails the rollback (1178) after writing. Such a
//! statement is refused before its trial runs.
//!
//! The engines are read from `information_schema` (`ENGINES.TRANSACTIONS`) at
//! each trial, so an `ALTER TABLE ... ENGINE=` is seen at once.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    visit_relations, AssignmentTarget, FromTable, ObjectName, Statement, TableFactor, TableWithJoins,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use crate::backend::Backend;
use crate::reply::ServerError;

/// A table as `(database, name)`, lowercase; `None`: the session's database.
type Name = (Option<String>, String);

/// Refuses (error 1105, naming the table and its engine) a statement `sql` that
/// writes, or whose triggers may write, a table of a non-transactional engine,
/// before the native trial run that `what` names.
pub(super) async fn refuse_before_trial(sql: &str, what: &str, backend: &mut Backend) -> Result<(), ServerError> {
    let read = backend
        .read(
            "SELECT t.TABLE_SCHEMA, t.TABLE_NAME, t.ENGINE, t.TABLE_SCHEMA = DATABASE() FROM information_schema.TABLES t \
             WHERE t.TABLE_TYPE = 'BASE TABLE' AND t.TABLE_SCHEMA NOT IN ('mysql', 'information_schema', \
             'performance_schema', 'sys') AND t.ENGINE NOT IN (SELECT e.ENGINE FROM information_schema.ENGINES e \
             WHERE e.TRANSACTIONS = 'YES')",
        )
        .await?;
    if read.rows.is_empty() {
        return Ok(());
    }
    // Each non-transactional table, under every name the statement may give it.
    let mut engines: Vec<(Name, String, String)> = Vec::new();
    for r in &read.rows {
        let text = |i: usize| r.get(i).map(|v| v.text()).unwrap_or_default();
        let (database, table, engine) = (text(0).to_ascii_lowercase(), text(1).to_ascii_lowercase(), text(2));
        let shown = format!("{}.{}", text(0), text(1));
        if text(3) == "1" {
            engines.push(((None, table.clone()), engine.clone(), shown.clone()));
        }
        engines.push(((Some(database), table), engine, shown));
    }
    let mut written = match written_tables(sql) {
        Some(w) => w,
        None => engines.iter().map(|(name, _, _)| name.clone()).collect(),
    };
    // Triggers on a written table may write any table their bodies name; those
    // tables' own triggers too.
    let triggers = backend
        .read(
            "SELECT LOWER(EVENT_OBJECT_SCHEMA), LOWER(EVENT_OBJECT_TABLE), ACTION_STATEMENT, \
             EVENT_OBJECT_SCHEMA = DATABASE() FROM information_schema.TRIGGERS",
        )
        .await?;
    let bodies: Vec<(Vec<Name>, String)> = triggers
        .rows
        .iter()
        .map(|r| {
            let text = |i: usize| r.get(i).map(|v| v.text()).unwrap_or_default();
            let mut names = vec![(Some(text(0)), text(1))];
            if text(3) == "1" {
                names.push((None, text(1)));
            }
            (names, text(2).to_ascii_lowercase())
        })
        .collect();
    loop {
        let before = written.len();
        for (names, body) in &bodies {
            if !names.iter().any(|n| written.contains(n)) {
                continue;
            }
            for ((database, table), _, _) in &engines {
                if database.is_none() && mentions(body, table) {
                    written.insert((None, table.clone()));
                }
            }
        }
        if written.len() == before {
            break;
        }
    }
    match engines.iter().find(|(name, _, _)| written.contains(name)) {
        None => Ok(()),
        Some((_, engine, shown)) => Err(ServerError::gateway(format!(
            "tether gateway: {what} writes `{shown}`, a table of the non-transactional engine {engine}, which \
             the gateway runs natively first under a savepoint it rolls back: that write would stay and be made \
             twice; refused before anything ran (write that table in a statement of its own, or convert it to InnoDB)"
        ))),
    }
}

/// Whether `body` (lowercase) names `table` as a word.
fn mentions(body: &str, table: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    body.match_indices(table).any(|(at, _)| {
        let before = body[..at].chars().next_back();
        let after = body[at + table.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

fn name_of(n: &ObjectName) -> Option<Name> {
    let parts: Vec<String> =
        n.0.iter()
            .filter_map(|p| p.as_ident())
            .map(|i| i.value.to_ascii_lowercase())
            .collect();
    match parts.as_slice() {
        [t] => Some((None, t.clone())),
        [d, t] => Some((Some(d.clone()), t.clone())),
        _ => None,
    }
}

/// Every table `sql` names, with the aliases it gives them.
fn relations(from: &[&TableWithJoins]) -> Vec<(Name, Option<String>)> {
    let mut out = Vec::new();
    let mut factor = |f: &TableFactor| {
        if let TableFactor::Table { name, alias, .. } = f {
            if let Some(n) = name_of(name) {
                out.push((n, alias.as_ref().map(|a| a.name.value.to_ascii_lowercase())));
            }
        }
    };
    for t in from {
        factor(&t.relation);
        for j in &t.joins {
            factor(&j.relation);
        }
    }
    out
}

/// The tables `sql` writes itself; every table it names when it cannot tell.
/// `None` when the statement cannot be read at all (the caller then counts every
/// non-transactional table as written).
fn written_tables(sql: &str) -> Option<BTreeSet<Name>> {
    // `UPDATE a, b SET ...` is read in its JOIN spelling, as the planner reads it.
    let statements = match Parser::parse_sql(&MySqlDialect {}, sql) {
        Ok(s) => s,
        Err(_) => Parser::parse_sql(&MySqlDialect {}, &tether_fkplan::comma_joins(sql)?).ok()?,
    };
    Some(written_in(&statements))
}

fn written_in(statements: &[Statement]) -> BTreeSet<Name> {
    let mut all = BTreeSet::new();
    for s in statements {
        let _ = visit_relations(s, |n| {
            if let Some(n) = name_of(n) {
                all.insert(n);
            }
            ControlFlow::<()>::Continue(())
        });
    }
    let [statement] = statements else {
        return all;
    };
    // `name` as the statement uses it (an alias, a table, `db.table`).
    let resolve = |named: &[(Name, Option<String>)], target: &ObjectName| -> Option<Vec<Name>> {
        let (database, t) = name_of(target)?;
        let found: Vec<Name> = named
            .iter()
            .filter(|((d, n), alias)| match &database {
                None => alias.as_deref() == Some(t.as_str()) || (alias.is_none() && *n == t),
                Some(db) => d.as_deref() == Some(db.as_str()) && *n == t,
            })
            .map(|(n, _)| n.clone())
            .collect();
        (!found.is_empty()).then_some(found)
    };
    match statement {
        Statement::Insert(i) => match &i.table {
            sqlparser::ast::TableObject::TableName(n) => name_of(n).into_iter().collect(),
            _ => all,
        },
        Statement::Delete(d) => {
            let from = match &d.from {
                FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => f,
            };
            // `DELETE FROM a, b USING a JOIN c ...`: the FROM list names the tables
            // deleted from, the USING list the tables read.
            if let (true, Some(using)) = (d.tables.is_empty(), &d.using) {
                let named = relations(&using.iter().collect::<Vec<_>>());
                let mut out = BTreeSet::new();
                for (target, _) in relations(&from.iter().collect::<Vec<_>>()) {
                    let name = ObjectName(
                        target
                            .0
                            .iter()
                            .chain([&target.1])
                            .map(|p| sqlparser::ast::ObjectNamePart::Identifier(p.as_str().into()))
                            .collect(),
                    );
                    match resolve(&named, &name) {
                        Some(found) => out.extend(found),
                        None => return all,
                    }
                }
                return out;
            }
            let mut scope: Vec<&TableWithJoins> = from.iter().collect();
            scope.extend(d.using.iter().flatten());
            let named = relations(&scope);
            if d.tables.is_empty() {
                return match named.as_slice() {
                    [(n, _)] => [n.clone()].into_iter().collect(),
                    _ => all,
                };
            }
            let mut out = BTreeSet::new();
            for t in &d.tables {
                match resolve(&named, t) {
                    Some(found) => out.extend(found),
                    None => return all,
                }
            }
            out
        }
        Statement::Update(u) => {
            let mut scope = vec![&u.table];
            if let Some(
                sqlparser::ast::UpdateTableFromKind::BeforeSet(f) | sqlparser::ast::UpdateTableFromKind::AfterSet(f),
            ) = &u.from
            {
                scope.extend(f.iter());
            }
            let named = relations(&scope);
            if let [(n, _)] = named.as_slice() {
                return [n.clone()].into_iter().collect();
            }
            let mut out = BTreeSet::new();
            for a in &u.assignments {
                let AssignmentTarget::ColumnName(c) = &a.target else {
                    return all;
                };
                let qualifier = ObjectName(c.0[..c.0.len().saturating_sub(1)].to_vec());
                if qualifier.0.is_empty() {
                    return all;
                }
                match resolve(&named, &qualifier) {
                    Some(found) => out.extend(found),
                    None => return all,
                }
            }
            out
        }
        _ => all,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sql: &str) -> Vec<String> {
        written_tables(sql)
            .expect("read")
            .into_iter()
            .map(|(d, t)| match d {
                Some(d) => format!("{d}.{t}"),
                None => t,
            })
            .collect()
    }

    #[test]
    fn written_tables_of_multi_table_forms() {
        assert_eq!(
            names("UPDATE p JOIN m ON p.id = m.k SET p.id = p.id + 100, m.cnt = 1"),
            ["m", "p"]
        );
        assert_eq!(
            names("UPDATE p JOIN m ON p.id = m.k SET p.id = p.id + 100 WHERE m.id = 1"),
            ["p"]
        );
        assert_eq!(names("UPDATE p AS x JOIN m AS y ON x.id = y.k SET x.id = 5"), ["p"]);
        assert_eq!(names("UPDATE p JOIN m ON p.id = m.k SET id = 5"), ["m", "p"]);
        assert_eq!(names("DELETE p FROM p JOIN m ON p.id = m.k"), ["p"]);
        assert_eq!(names("DELETE p, m FROM p JOIN m ON p.id = m.k"), ["m", "p"]);
        assert_eq!(names("DELETE FROM p WHERE id IN (SELECT k FROM m)"), ["p"]);
        assert_eq!(names("REPLACE INTO d.p SELECT * FROM m"), ["d.p"]);
        // Review K (sixteenth session): the comma spelling, and DELETE ... USING.
        assert_eq!(
            names("UPDATE p, m SET m.cnt = m.cnt + 1, p.id = p.id + 100 WHERE p.id = m.k"),
            ["m", "p"]
        );
        assert_eq!(names("UPDATE p, m SET p.id = p.id + 100 WHERE p.id = m.k"), ["p"]);
        assert_eq!(names("DELETE FROM p USING p JOIN m ON p.id = m.k WHERE m.k = 1"), ["p"]);
        assert_eq!(names("DELETE FROM x USING p AS x JOIN m ON x.id = m.k"), ["p"]);
        assert_eq!(names("DELETE FROM p, m USING p JOIN m ON p.id = m.k"), ["m", "p"]);
    }

    #[test]
    fn trigger_bodies_name_tables_as_words() {
        assert!(mentions("begin update m set cnt = cnt + 1; end", "m"));
        assert!(!mentions("begin update mm set cnt = 1; end", "m"));
    }
}
