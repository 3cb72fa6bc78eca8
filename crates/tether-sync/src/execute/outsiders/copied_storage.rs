//! Source tables whose copy would store its rows outside the destination's database: a
//! MariaDB/MySQL MERGE table whose `UNION=(...)` names a table of another database (the
//! server writes `` `db`.`t` `` for those, `` `t` `` for its own), and FEDERATED or
//! CONNECT tables (their `CONNECTION` reaches another server or database). Created on a
//! MariaDB/MySQL destination from the source's definition, writing into the copy would
//! write into those tables, which may be the source's or what the source reads
//! (review r19 p, F5). Refused before anything is created or written.

use tether_connect::Engine;
use tether_schema::Schema;

use crate::error::SyncError;
use crate::plan::Plan;

/// Engines whose tables reach another server or database through their `CONNECTION`.
const CONNECTED: &[&str] = &["FEDERATED", "CONNECT"];

/// Engines whose tables are a union of other MyISAM tables.
const MERGED: &[&str] = &["MRG_MYISAM", "MRG_MYISAM_ENGINE", "MERGE"];

/// The job table (in the job's order) a MariaDB/MySQL destination would create from a
/// definition storing its rows outside the destination's database, refused naming it.
pub(in crate::execute) fn refuse_copied_foreign_storage(
    destination: Engine,
    shown: &str,
    plan: &Plan,
    source: &Schema,
) -> Result<(), SyncError> {
    if destination != Engine::Mysql {
        // Other engines get a plain table from the columns.
        return Ok(());
    }
    for tp in &plan.tables {
        let name = tp.table.table_name();
        let table = source.table(&name).unwrap_or(&tp.table);
        let Some(ddl) = table.extras.definition.as_deref() else {
            continue;
        };
        if let Some(why) = stored_elsewhere(ddl) {
            return Err(SyncError::Plan(format!(
                "{shown}: the source's table {} is {why}: a copy created from its definition would store its rows \
                 there, and writing into the copy would change those tables, which may be the job's source. \
                 Tether copies only tables that store their own rows: leave {} out of the job (nothing was \
                 written)",
                table.name, table.name
            )));
        }
    }
    Ok(())
}

/// What a MariaDB `SHOW CREATE TABLE` says about rows stored outside its database: a
/// MERGE table over a table named with its database, a FEDERATED or CONNECT table.
fn stored_elsewhere(ddl: &str) -> Option<String> {
    // The table options follow the column list's closing `)` at the start of a line.
    // ASCII upper case keeps every byte where it was.
    let options = ddl.rfind("\n)").map_or(ddl, |i| &ddl[i..]);
    let upper = options.to_ascii_uppercase();
    let engine = upper
        .find("ENGINE=")
        .map(|i| &upper[i + 7..])
        .map(|rest| rest.split(|c: char| c.is_ascii_whitespace()).next().unwrap_or(""))?;
    if CONNECTED.contains(&engine) {
        return Some(format!(
            "a {engine} table, whose rows are stored where its CONNECTION says"
        ));
    }
    if MERGED.contains(&engine) {
        let i = upper.find("UNION=(")?;
        let union = &options[i + 7..];
        // The list ends at the first `)` outside backticks.
        let mut quoted = false;
        let mut end = union.len();
        for (j, c) in union.char_indices() {
            match c {
                '`' => quoted = !quoted,
                ')' if !quoted => {
                    end = j;
                    break;
                }
                _ => {}
            }
        }
        let list = &union[..end];
        let mut quoted = false;
        let qualified = list.chars().any(|c| {
            if c == '`' {
                quoted = !quoted;
            }
            c == '.' && !quoted
        });
        if qualified {
            return Some(format!("a MERGE table over tables of another database ({list})"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_tables_over_other_databases_and_connected_tables() {
        let merge = |union: &str| {
            format!("CREATE TABLE `mg` (\n  `id` int(11) DEFAULT NULL\n) ENGINE=MRG_MyISAM INSERT_METHOD=LAST UNION=({union})")
        };
        assert!(stored_elsewhere(&merge("`a`,`other`.`t1`")).is_some());
        assert!(stored_elsewhere(&merge("`a.b`,`c`")).is_none());
        assert!(stored_elsewhere(&merge("`a`")).is_none());
        assert!(
            stored_elsewhere("CREATE TABLE `f` (\n  `id` int\n) ENGINE=FEDERATED CONNECTION='mysql://x/db/t'")
                .is_some()
        );
        assert!(stored_elsewhere("CREATE TABLE `t` (\n  `id` int\n) ENGINE=InnoDB").is_none());
    }
}
