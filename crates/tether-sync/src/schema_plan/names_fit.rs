//! PostgreSQL keeps 63 bytes of a name (NAMEDATALEN) and silently cuts a longer one:
//! a MariaDB/MySQL or SQLite foreign key, CHECK, index or unique key named with 64
//! characters or more would be created under another name there, and two sharing their
//! first 63 bytes as one (42710 or 42P07 after every row was copied). Each such name is
//! cut here, in the plan, kept distinct from the others of its table (`_2`, `_3` ..),
//! and reported mapped, as MariaDB destinations report the FK names they rename.

use std::collections::{HashMap, HashSet};

use tether_connect::Engine;

use super::{Action, SchemaItem, SchemaReport};

/// How many bytes of a name PostgreSQL keeps.
const ROOM: usize = 63;

/// The longest start of `s` of at most `room` bytes that ends on a character.
fn cut(s: &str, room: usize) -> &str {
    let mut end = s.len().min(room);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A name for `name` (too long) that fits and that `taken` does not hold; taken now.
fn fitted(name: &str, taken: &mut HashSet<String>) -> String {
    let mut candidate = cut(name, ROOM).to_string();
    let mut n = 2;
    while !taken.insert(candidate.clone()) {
        let suffix = format!("_{n}");
        candidate = format!("{}{suffix}", cut(name, ROOM - suffix.len()));
        n += 1;
    }
    candidate
}

/// Cuts the too-long constraint and index names of the tables `out` creates on a
/// PostgreSQL destination, from another engine (`from`). Constraint names (foreign
/// keys, CHECKs) are per table there; index and unique key names are kept distinct
/// within their table here, and across the schema by `distinct_index_names` after.
pub(super) fn cut_long_names(out: &mut SchemaReport, from: Engine) {
    let why = format!(
        "postgres keeps {ROOM} bytes of a name ({} allows longer ones)",
        from.name()
    );
    let mut renamed: Vec<SchemaItem> = Vec::new();
    for (shown, t) in out.create.iter().zip(out.models.iter_mut()) {
        let table = t.name.clone();
        let fits = |n: &String| n.len() <= ROOM;
        let mut constraints: HashSet<String> = t
            .foreign_keys
            .iter()
            .map(|f| &f.name)
            .chain(t.extras.checks.iter().map(|c| &c.name))
            .filter(|n| fits(n))
            .cloned()
            .collect();
        for fk in t.foreign_keys.iter_mut().filter(|f| !fits(&f.name)) {
            let name = format!("{shown}.{}", fk.name);
            let candidate = fitted(&fk.name, &mut constraints);
            out.objects
                .retain(|i| !(i.kind == "foreign key" && i.name == name && i.action == Action::Created));
            renamed.push(
                SchemaItem::new("foreign key", name, Action::Mapped)
                    .between(fk.name.clone(), candidate.clone())
                    .because(why.clone()),
            );
            fk.name = candidate;
        }
        for c in t.extras.checks.iter_mut().filter(|c| !fits(&c.name)) {
            let candidate = fitted(&c.name, &mut constraints);
            renamed.push(
                SchemaItem::new("check", format!("{table}.{}", c.name), Action::Mapped)
                    .between(c.name.clone(), candidate.clone())
                    .because(why.clone()),
            );
            c.name = candidate;
        }
        let mut indexes: HashSet<String> = t
            .extras
            .indexes
            .iter()
            .map(|i| &i.name)
            .chain(t.unique_keys.iter().map(|u| &u.name))
            .filter(|n| fits(n))
            .cloned()
            .collect();
        // A unique key and the index behind it, named alike, stay named alike.
        let mut given: HashMap<String, String> = HashMap::new();
        let mut fit = |kind: &'static str, name: &mut String| {
            if fits(name) {
                return;
            }
            if let Some(candidate) = given.get(name.as_str()) {
                *name = candidate.clone();
                return;
            }
            let candidate = fitted(name, &mut indexes);
            given.insert(name.clone(), candidate.clone());
            renamed.push(
                SchemaItem::new(kind, format!("{table}.{name}"), Action::Mapped)
                    .between(name.clone(), candidate.clone())
                    .because(why.clone()),
            );
            *name = candidate;
        };
        for u in t.unique_keys.iter_mut() {
            fit("unique key", &mut u.name);
        }
        for i in t.extras.indexes.iter_mut() {
            fit("index", &mut i.name);
        }
    }
    out.objects.extend(renamed);
}
