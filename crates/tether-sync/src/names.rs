//! How the job writes its tables: a spelling that two source tables answer to (`a.b`,
//! both table `b` of schema `a` and the table named `a.b` of the default schema) is
//! refused, naming both and the spelling that names each alone, before anything is read
//! for the copy: taking one silently put one table's rows into the other's copy.

use tether_schema::{Schema, Table};

use crate::config::Job;
use crate::error::SyncError;

/// Refuses the job when a table it names (`[tables]` names without globs, subset
/// targets and relations, `[transform.TABLE]`, virtual foreign keys) could be two
/// tables of `schema`.
pub fn refuse_ambiguous(job: &Job, schema: &Schema) -> Result<(), SyncError> {
    let mut written: Vec<(String, &str)> = Vec::new();
    for p in job.tables.include.iter().chain(&job.tables.exclude) {
        if !p.contains(['*', '?']) {
            written.push(("[tables]".into(), p));
        }
    }
    for (t, line) in &job.targets {
        written.push((format!("line {line}: subset target"), &t.table));
    }
    for (r, line) in &job.relations {
        if let Some(t) = &r.table {
            written.push((format!("line {line}: subset relation `{}`", r.foreign_key), t));
        }
    }
    for t in &job.transforms {
        written.push((format!("line {}: [transform]", t.line), &t.table));
    }
    for v in &job.virtual_fks {
        let line = v.line.map(|l| format!("line {l}: ")).unwrap_or_default();
        written.push((format!("{line}virtual foreign key"), &v.spec.table));
        written.push((format!("{line}virtual foreign key"), &v.spec.referenced_table));
    }
    for (what, w) in written {
        let answering = answering(schema, w);
        if let [first, second, ..] = answering.as_slice() {
            let spelling = |t: &Table| {
                let name = t.table_name();
                let shown = schema.display_name(&name);
                match schema.find_table(&shown) {
                    Some(x) if shown != w && x.table_name() == name => shown,
                    _ => name.quoted(),
                }
            };
            let how = |t: &Table| {
                let of = t
                    .schema
                    .as_deref()
                    .map(|s| format!(" of schema `{s}`"))
                    .unwrap_or_default();
                format!("table `{}`{of} (write `{}`)", t.name, spelling(t))
            };
            return Err(SyncError::Plan(format!(
                "{}: {what}: `{w}` could name {} and {}; write the one meant in double quotes (in TOML, \
                 single quotes keep them: '{}')",
                job.path,
                how(first),
                how(second),
                spelling(second),
            )));
        }
    }
    Ok(())
}

/// The tables an unquoted spelling `w` answers to: `schema.name` read either way it
/// splits, and the table of that very name (as [`Schema::find_table`] picks it).
fn answering<'a>(schema: &'a Schema, w: &str) -> Vec<&'a Table> {
    if tether_schema::name::parse_quoted(w).is_some() || !w.contains('.') {
        return vec![];
    }
    let mut out: Vec<&Table> = schema
        .tables
        .iter()
        .filter(|t| t.schema.as_deref().is_some_and(|s| format!("{s}.{}", t.name) == w))
        .collect();
    let named: Vec<&Table> = schema.tables.iter().filter(|t| t.name == w).collect();
    let named = match named.as_slice() {
        [one] => Some(*one),
        many => many
            .iter()
            .copied()
            .find(|t| t.schema.as_deref() == schema.default_schema.as_deref()),
    };
    out.extend(named);
    out
}
