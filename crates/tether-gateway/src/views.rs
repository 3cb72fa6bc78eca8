//! Views that reach a managed keyspace's FK tables through another database: a
//! view of another database over them, or a view of the keyspace's database over
//! such a view. A write through one would be InnoDB's to cascade, out of the
//! planner's sight, as for a view of the keyspace's own over them (`FkTables`).

use std::collections::HashSet;

use sqlparser::ast::{AssignmentTarget, FromTable, ObjectName, Statement, TableFactor, TableWithJoins};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use tether_schema::Schema;

use crate::backend::Backend;

/// The views of the server (but the system databases') as
/// `information_schema.VIEWS` gives them: every name in a definition is
/// qualified with its database and backquoted. A view whose definition the
/// gateway's user cannot read comes with an empty one, and reads nothing here.
#[derive(Default)]
pub struct ServerViews {
    /// The keyspace's database.
    database: String,
    /// (database, view, definition), lowercased.
    views: Vec<(String, String, String)>,
}

impl ServerViews {
    /// Reads them on a connection of its own.
    pub async fn read(url: &tether_connect::DbUrl, database: &str) -> Result<ServerViews, String> {
        let sql = "SELECT TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS \
                   WHERE TABLE_SCHEMA NOT IN ('mysql', 'sys', 'information_schema', 'performance_schema')";
        let mut b = Backend::new(url.clone(), false);
        let read = b.read(sql).await;
        b.disconnect().await;
        let read = read.map_err(|e| format!("cannot read the views of other databases: {}", e.message))?;
        let views = read
            .rows
            .iter()
            .map(|r| {
                let f = |i: usize| r.get(i).map(|v| v.text().to_lowercase()).unwrap_or_default();
                (f(0), f(1), f(2))
            })
            .collect();
        Ok(ServerViews {
            database: database.to_lowercase(),
            views,
        })
    }

    /// The views that read, directly or through other views in any database, a
    /// table of `schema` with FKs or referred to by one, or one of `own` (the
    /// keyspace's views already known to read them, lowercased).
    pub fn over_fk_tables(&self, schema: &Schema, own: &HashSet<String>) -> ViewsOverFk {
        let involved = schema.tables.iter().flat_map(|t| {
            let parents = t.foreign_keys.iter().map(|f| f.referenced_table.as_str());
            std::iter::once(t.name.as_str())
                .filter(|_| !t.foreign_keys.is_empty())
                .chain(parents)
        });
        let mut read: HashSet<(String, String)> = involved
            .map(|t| (self.database.clone(), t.to_lowercase()))
            .chain(own.iter().map(|v| (self.database.clone(), v.clone())))
            .collect();
        let mut found = ViewsOverFk {
            database: self.database.clone(),
            ..ViewsOverFk::default()
        };
        if self.views.is_empty() {
            return found;
        }
        // Until no view is added: one whose definition names `db`.`t` of one read.
        loop {
            let next = self.views.iter().find(|(db, name, definition)| {
                !read.contains(&(db.clone(), name.clone()))
                    && read.iter().any(|(d, t)| definition.contains(&qualified(d, t)))
            });
            let Some((db, name, _)) = next else { break found };
            read.insert((db.clone(), name.clone()));
            if *db == self.database {
                found.own.insert(name.clone());
            } else {
                found.other.insert((db.clone(), name.clone()));
            }
        }
    }
}

/// `` `db`.`name` `` as a view definition spells it.
fn qualified(db: &str, name: &str) -> String {
    format!("`{}`.`{}`", db.replace('`', "``"), name.replace('`', "``"))
}

/// What [`ServerViews::over_fk_tables`] found, lowercased.
#[derive(Default)]
pub struct ViewsOverFk {
    database: String,
    /// Views of the keyspace's database.
    pub own: HashSet<String>,
    /// (database, view) of other databases.
    pub other: HashSet<(String, String)>,
}

impl ViewsOverFk {
    /// The view of another database a write `sql` writes through (`db.view`),
    /// if any: one named as a target, or, when the targets cannot be read, one
    /// named at all with its database.
    pub fn written(&self, sql: &str) -> Option<String> {
        if self.other.is_empty() || !tether_fkplan::looks_like_write(sql) {
            return None;
        }
        let shown = |db: &str, view: &str| format!("{db}.{view}");
        let (db, view) = self
            .other
            .iter()
            .find(|(db, view)| crate::keyspace::names(sql, db) && crate::keyspace::names(sql, view))?;
        let Some(targets) = written_tables(sql) else {
            return Some(shown(db, view));
        };
        targets.iter().find_map(|(db, t)| {
            let db = db.as_deref().map_or(self.database.clone(), str::to_lowercase);
            let t = t.to_lowercase();
            self.other.contains(&(db.clone(), t.clone())).then(|| shown(&db, &t))
        })
    }
}

/// (database if qualified, table), unquoted, as a write names them.
pub type Named = (Option<String>, String);

/// The tables a single write writes, not those it only reads: an INSERT's table;
/// a DELETE's targets (aliases resolved), or its one table; an UPDATE's tables
/// whose columns its SET assigns, all its tables when one assigned column is not
/// qualified (`SET k = 1` could be any table's) or names no table of it. A
/// multi-table DELETE or UPDATE may read a view over FK tables (a read is no
/// write through it). `None` when `sql` is not one write the SQL parser reads.
pub fn written_tables(sql: &str) -> Option<Vec<Named>> {
    // `UPDATE IGNORE t`: the parser would read `IGNORE` as the table; `UPDATE a, b`
    // in its JOIN spelling, the only one it reads.
    let text = tether_fkplan::without_modifiers(sql);
    let text = text.as_deref().unwrap_or(sql);
    let statements = Parser::parse_sql(&MySqlDialect {}, text)
        .or_else(|e| tether_fkplan::comma_joins(text).map_or(Err(e), |j| Parser::parse_sql(&MySqlDialect {}, &j)))
        .ok()?;
    match statements.as_slice() {
        [Statement::Insert(i)] => match &i.table {
            sqlparser::ast::TableObject::TableName(n) => Some(vec![named(n)?]),
            _ => None,
        },
        [Statement::Delete(d)] => {
            let from = match &d.from {
                FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f) => f,
            };
            // `DELETE t FROM t JOIN v`, `DELETE FROM t USING t JOIN v`: the targets
            // name the tables (or their aliases) of the joins; `DELETE FROM t`: t.
            let (targets, joins): (Vec<&ObjectName>, &[TableWithJoins]) = match (&d.using, d.tables.is_empty()) {
                (Some(using), _) => (from.iter().filter_map(|t| table_name(&t.relation)).collect(), using),
                (None, false) => (d.tables.iter().collect(), from),
                (None, true) => return relations(from).into_iter().map(|(_, t)| Some(t)).collect(),
            };
            let known = relations(joins);
            targets.iter().map(|t| resolve(&known, t)).collect()
        }
        [Statement::Update(u)] => {
            let mut joins = vec![u.table.clone()];
            if let Some(
                sqlparser::ast::UpdateTableFromKind::BeforeSet(f) | sqlparser::ast::UpdateTableFromKind::AfterSet(f),
            ) = &u.from
            {
                joins.extend(f.iter().cloned());
            }
            let known = relations(&joins);
            let all = || known.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>();
            let mut written: Vec<Named> = Vec::new();
            for a in &u.assignments {
                let columns = match &a.target {
                    AssignmentTarget::ColumnName(c) => std::slice::from_ref(c),
                    AssignmentTarget::Tuple(cs) => cs.as_slice(),
                };
                for c in columns {
                    let Some((_, qualifier)) = c.0.split_last().filter(|(_, q)| !q.is_empty()) else {
                        return Some(all());
                    };
                    let Some(t) = resolve(&known, &ObjectName(qualifier.to_vec())) else {
                        return Some(all());
                    };
                    if !written.contains(&t) {
                        written.push(t);
                    }
                }
            }
            Some(written)
        }
        _ => None,
    }
}

fn unquoted(p: &sqlparser::ast::ObjectNamePart) -> String {
    p.to_string().trim_matches('`').to_string()
}

fn named(n: &ObjectName) -> Option<Named> {
    match n.0.as_slice() {
        [db, t] => Some((Some(unquoted(db)), unquoted(t))),
        parts => parts.last().map(|t| (None, unquoted(t))),
    }
}

fn table_name(f: &TableFactor) -> Option<&ObjectName> {
    match f {
        TableFactor::Table { name, .. } => Some(name),
        _ => None,
    }
}

/// The tables of `joins` (nested joins' too), each with the name a target or a
/// column refers to it by: its alias, else its name (lowercased).
fn relations(joins: &[TableWithJoins]) -> Vec<(String, Named)> {
    fn factor(f: &TableFactor, out: &mut Vec<(String, Named)>) {
        match f {
            TableFactor::Table { name, alias, .. } => {
                if let Some(t) = named(name) {
                    let key = alias.as_ref().map_or(t.1.clone(), |a| a.name.value.clone());
                    out.push((key.to_lowercase(), t));
                }
            }
            TableFactor::NestedJoin { table_with_joins, .. } => walk(table_with_joins, out),
            _ => {}
        }
    }
    fn walk(t: &TableWithJoins, out: &mut Vec<(String, Named)>) {
        factor(&t.relation, out);
        for j in &t.joins {
            factor(&j.relation, out);
        }
    }
    let mut out = Vec::new();
    for t in joins {
        walk(t, &mut out);
    }
    out
}

/// The table `target` (`t`, `db.t` or an alias) names among `known`.
fn resolve(known: &[(String, Named)], target: &ObjectName) -> Option<Named> {
    let (db, name) = named(target)?;
    let name = name.to_lowercase();
    known
        .iter()
        .find(|(key, t)| {
            *key == name
                && db
                    .as_deref()
                    .is_none_or(|d| t.0.as_deref().is_some_and(|td| td.eq_ignore_ascii_case(d)))
        })
        .map(|(_, t)| t.clone())
}

#[cfg(test)]
mod tests {
    use super::written_tables;

    fn written(sql: &str) -> Option<Vec<String>> {
        let shown = |(db, t): (Option<String>, String)| db.map_or(t.clone(), |d| format!("{d}.{t}"));
        written_tables(sql).map(|ts| ts.into_iter().map(shown).collect())
    }

    #[test]
    fn only_the_tables_a_write_writes() {
        let w = |ts: &[&str]| Some(ts.iter().map(|t| t.to_string()).collect::<Vec<_>>());
        assert_eq!(written("INSERT INTO db.t SELECT * FROM v"), w(&["db.t"]));
        assert_eq!(written("DELETE FROM v WHERE k = 1"), w(&["v"]));
        assert_eq!(written("DELETE c FROM c JOIN v ON v.k = c.k"), w(&["c"]));
        assert_eq!(written("DELETE x FROM c AS x JOIN v ON v.k = x.k"), w(&["c"]));
        assert_eq!(written("DELETE x, v FROM c AS x JOIN v ON v.k = x.k"), w(&["c", "v"]));
        assert_eq!(
            written("DELETE FROM x USING c AS x JOIN (v AS w JOIN d) ON w.k = x.k"),
            w(&["c"])
        );
        assert_eq!(written("DELETE c FROM v, c WHERE v.k = c.k"), w(&["c"]));
        assert_eq!(written("DELETE IGNORE c FROM c JOIN d.v ON v.k = c.k"), w(&["c"]));
        assert_eq!(written("DELETE z FROM c JOIN v ON v.k = c.k"), None);
        assert_eq!(written("UPDATE p JOIN v ON v.k = p.k SET p.k = 5"), w(&["p"]));
        assert_eq!(
            written("UPDATE v AS w JOIN p AS q ON q.k = w.k SET q.v = 3, q.k = 6"),
            w(&["p"])
        );
        assert_eq!(written("UPDATE p, v SET p.k = 5 WHERE v.k = p.k"), w(&["p"]));
        assert_eq!(
            written("UPDATE p JOIN v ON v.k = p.k SET p.k = 5, v.v = 1"),
            w(&["p", "v"])
        );
        assert_eq!(written("UPDATE p JOIN v ON v.k = p.k SET k = 5"), w(&["p", "v"]));
        assert_eq!(written("UPDATE p JOIN v ON v.k = p.k SET z.k = 5"), w(&["p", "v"]));
        assert_eq!(written("SELECT 1"), None);
    }
}
