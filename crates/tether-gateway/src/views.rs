//! Views that reach a managed keyspace's FK tables through another database: a
//! view of another database over them, or a view of the keyspace's database over
//! such a view. A write through one would be InnoDB's to cascade, out of the
//! planner's sight, as for a view of the keyspace's own over them (`FkTables`).

use std::collections::HashSet;

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
        let Some(targets) = crate::managed::qualified_write_targets(sql) else {
            return Some(shown(db, view));
        };
        targets.iter().find_map(|(db, t)| {
            let db = db.as_deref().map_or(self.database.clone(), str::to_lowercase);
            let t = t.to_lowercase();
            self.other.contains(&(db.clone(), t.clone())).then(|| shown(&db, &t))
        })
    }
}
