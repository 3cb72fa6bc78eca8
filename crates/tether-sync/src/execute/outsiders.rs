//! What on a destination is not the job's to empty or write, found before anything is
//! written: tables of other databases of a MariaDB/MySQL server whose foreign keys
//! reference a job table (InnoDB FKs cross databases; the destination's own
//! introspection sees one database), relations of a job table's name whose rows are
//! stored elsewhere (views, PostgreSQL foreign tables and foreign partitions, MariaDB
//! MERGE/FEDERATED/CONNECT tables: emptying or writing them changes other tables,
//! possibly the source's), and PostgreSQL rules that `INSERT ... ON CONFLICT`
//! refuses.

mod copied_storage;

use std::collections::BTreeMap;

use tether_connect::{Connection, Engine, Value};
use tether_schema::{DataType, Schema};

use super::destination::destination_name;
use crate::config::Mode;
use crate::error::SyncError;
use crate::plan::Plan;

/// MariaDB/MySQL storage engines whose tables keep their rows in other tables (MERGE
/// over MyISAM tables, FEDERATED/FederatedX and CONNECT over remote or local tables),
/// upper-cased as `information_schema` may spell them in any case. SPIDER is not
/// among them: a Spider head is how a job syncs into a sharded keyspace
/// (docs/sharding.md), its tables standing for the nodes' ones by design.
const STORED_ELSEWHERE: &[&str] = &["MRG_MYISAM", "MRG_MYISAM_ENGINE", "MERGE", "FEDERATED", "CONNECT"];

/// The job's tables as the destination names them: (schema or None, name), lower-cased
/// for comparing, with the job's spelling.
fn job_names(conn: &Connection, plan: &Plan, source: &Schema) -> Vec<(Option<String>, String)> {
    plan.tables
        .iter()
        .map(|tp| destination_name(source, &tp.table.table_name(), conn.engine()))
        .map(|n| (n.schema, n.name))
        .collect()
}

/// `(schema, name)` rows for a PostgreSQL `IN (VALUES ...)`: a table without a schema
/// is in `current_schema()`.
fn schema_name_pairs(names: &[(Option<String>, String)], lit: impl Fn(&str) -> String) -> Vec<String> {
    names
        .iter()
        .map(|(s, n)| {
            format!(
                "({}, {})",
                s.as_deref().map_or("current_schema()".to_string(), &lit),
                lit(n)
            )
        })
        .collect()
}

/// Whether the destination tells table (and database) names apart without case:
/// MariaDB/MySQL with `lower_case_table_names` 1 or 2, and SQLite; not MariaDB/MySQL
/// with 0 (Linux's default: `users` and `Users` are two tables), nor PostgreSQL (a
/// quoted `"Users"` is not `users`; the catalog holds names as they are).
pub(super) async fn names_fold(conn: &mut Connection) -> Result<bool, SyncError> {
    match conn.engine() {
        Engine::Postgres => Ok(false),
        Engine::Sqlite => Ok(true),
        Engine::Mysql => {
            let rows = texts(conn, "SELECT @@lower_case_table_names", 1).await?;
            Ok(rows.first().is_none_or(|r| r[0].trim() != "0"))
        }
    }
}

/// Whether `a` and `b` name one table where names fold (`fold`, see [`names_fold`])
/// or not.
pub(super) fn same_name(fold: bool, a: &str, b: &str) -> bool {
    match fold {
        true => a.eq_ignore_ascii_case(b),
        false => a == b,
    }
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::Text(t)) => t.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.display(),
    }
}

async fn texts(conn: &mut Connection, sql: &str, n: usize) -> Result<Vec<Vec<String>>, SyncError> {
    Ok(conn
        .query(sql, &vec![DataType::Text; n])
        .await?
        .iter()
        .map(|r| (0..n).map(|i| text(r.get(i))).collect())
        .collect())
}

/// `truncate = true` on MariaDB/MySQL: a table of another database of the server (the
/// job's source included) whose declared foreign key references a job table that is
/// there, and which holds rows referencing it, would be left with rows without their
/// parent (the tables are emptied with the checks off, so neither its RESTRICT nor its
/// CASCADE runs). Refused before anything is written, as a table outside the job in
/// the destination's own database is ([`super::destination`]'s
/// `refuse_orphaned_outsiders`). Names are compared as the server does (`fold`, see
/// [`names_fold`]): with `lower_case_table_names = 0` an FK onto `Users` is not one
/// onto the job's `users`.
pub(super) async fn refuse_other_databases(
    conn: &mut Connection,
    shown: &str,
    plan: &Plan,
    source: &Schema,
    existing: &Schema,
    fold: bool,
) -> Result<(), SyncError> {
    if conn.engine() != Engine::Mysql {
        return Ok(());
    }
    let job: Vec<String> = job_names(conn, plan, source)
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| existing.tables.iter().any(|t| same_name(fold, &t.name, n)))
        .collect();
    if job.is_empty() {
        return Ok(());
    }
    let rows = texts(
        conn,
        "SELECT k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.REFERENCED_TABLE_NAME, k.COLUMN_NAME \
         FROM information_schema.KEY_COLUMN_USAGE k \
         WHERE k.REFERENCED_TABLE_SCHEMA = DATABASE() AND k.TABLE_SCHEMA <> DATABASE() \
         ORDER BY k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
        5,
    )
    .await?;
    // (database, table, FK) -> (the job table referenced, the FK's columns)
    let mut fks: BTreeMap<(String, String, String), (String, Vec<String>)> = BTreeMap::new();
    for r in rows {
        let Some(parent) = job.iter().find(|n| same_name(fold, n, &r[3])) else {
            continue;
        };
        fks.entry((r[0].clone(), r[1].clone(), r[2].clone()))
            .or_insert_with(|| (parent.clone(), Vec::new()))
            .1
            .push(r[4].clone());
    }
    let d = conn.dialect();
    for ((database, table, fk), (parent, columns)) in fks {
        let set: Vec<String> = columns.iter().map(|c| format!("{} IS NOT NULL", d.ident(c))).collect();
        let sql = format!(
            "SELECT 1 FROM {}.{} WHERE {} LIMIT 1",
            d.ident(&database),
            d.ident(&table),
            set.join(" AND ")
        );
        if !conn.query(&sql, &[]).await?.is_empty() {
            return Err(SyncError::Plan(format!(
                "{shown}: truncate = true would empty {parent}, which rows of {database}.{table} (a table of \
                 another database of the server) reference through foreign key {fk}; the job empties its tables \
                 with the checks off, so those rows would be left without their parent (no ON DELETE action \
                 runs). Empty {database}.{table} first, drop its foreign key, or set truncate = false \
                 (nothing was written)"
            )));
        }
    }
    Ok(())
}

/// A relation of a job table's name on the destination that is not a table storing its
/// own rows: a view, a PostgreSQL foreign table (or a partitioned table with a foreign
/// partition), a MariaDB/MySQL MERGE, FEDERATED or CONNECT table. Emptying or
/// writing it would change the tables it stands for, which may be the job's source
/// (a MERGE table over the source's table was emptied with it, and the source read
/// after it found nothing). Views and foreign tables are refused in every mode (the
/// plan took them for missing tables, which a run then failed to create); tables whose
/// engine stores rows elsewhere in every mode that writes rows. Nothing is written.
pub(super) async fn refuse_foreign_storage(
    conn: &mut Connection,
    shown: &str,
    plan: &Plan,
    source: &Schema,
) -> Result<(), SyncError> {
    let names = job_names(conn, plan, source);
    if names.is_empty() {
        return Ok(());
    }
    let d = conn.dialect();
    let lit = |s: &str| d.literal(&Value::Text(s.to_string()));
    let writes = plan.mode != Mode::Schema;
    match conn.engine() {
        Engine::Sqlite => {
            // SQLite tells names apart without case for ASCII letters only (`CAFÉ` and
            // `cafÉ` are one view, `CAFÉ` and `café` two), as `eq_ignore_ascii_case`
            // does; its `lower()` folds ASCII only too, so the views are compared here.
            let mut rows = texts(conn, "SELECT name FROM sqlite_master WHERE type = 'view'", 1).await?;
            rows.retain(|r| names.iter().any(|(_, n)| n.eq_ignore_ascii_case(&r[0])));
            rows.sort_by_key(|r| names.iter().position(|(_, n)| n.eq_ignore_ascii_case(&r[0])));
            match rows.first() {
                Some(r) => Err(not_a_table(shown, &r[0], "a view")),
                None => Ok(()),
            }
        }
        Engine::Mysql => {
            let fold = names_fold(conn).await?;
            // Only views and tables of the engines that store rows elsewhere are read,
            // and compared with the job's names here ([`same_name`]): the server's
            // LOWER() and Rust's lower case need not agree on every letter.
            let engines: Vec<String> = STORED_ELSEWHERE.iter().map(|e| lit(e)).collect();
            let mut rows = texts(
                conn,
                &format!(
                    "SELECT TABLE_NAME, TABLE_TYPE, COALESCE(ENGINE, ''), COALESCE(CREATE_OPTIONS, '') \
                     FROM information_schema.TABLES \
                     WHERE TABLE_SCHEMA = DATABASE() \
                       AND (TABLE_TYPE LIKE '%VIEW%' OR UPPER(ENGINE) IN ({})) ORDER BY TABLE_NAME",
                    engines.join(", ")
                ),
                4,
            )
            .await?;
            // With `lower_case_table_names = 0` a view `Users` is not the job's `users`.
            rows.retain(|r| names.iter().any(|(_, n)| same_name(fold, n, &r[0])));
            // The first in the job's order (parents first), as the plan lists them.
            rows.sort_by_key(|r| names.iter().position(|(_, n)| same_name(fold, n, &r[0])));
            for r in rows {
                let (name, kind, engine) = (&r[0], &r[1], &r[2]);
                if kind.contains("VIEW") {
                    return Err(not_a_table(shown, name, "a view"));
                }
                if writes && STORED_ELSEWHERE.contains(&engine.to_uppercase().as_str()) {
                    return Err(SyncError::Plan(format!(
                        "{shown}: table {name} is a {engine} table, whose rows are stored in other tables{}: \
                         emptying it (truncate = true) or writing into it would change those tables, which may \
                         be the job's source. Tether writes only into tables that store their own rows: drop \
                         or rename {name} there, or leave it out of the job (nothing was written)",
                        elsewhere(conn, name).await
                    )));
                }
            }
            Ok(())
        }
        Engine::Postgres => {
            let pairs = schema_name_pairs(&names, lit);
            let mut rows = texts(
                conn,
                &format!(
                    "SELECT n.nspname::text, c.relname::text, c.relkind::text, \
                       COALESCE((SELECT string_agg(f.relid::regclass::text, ', ' ORDER BY f.relid::regclass::text) \
                         FROM pg_partition_tree(c.oid) f JOIN pg_class fc ON fc.oid = f.relid \
                         WHERE c.relkind = 'p' AND fc.relkind = 'f'), ''), \
                       COALESCE((SELECT s.srvname::text FROM pg_foreign_table ft \
                         JOIN pg_foreign_server s ON s.oid = ft.ftserver WHERE ft.ftrelid = c.oid), '') \
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     JOIN (VALUES {}) AS j(s, t) ON n.nspname = j.s AND c.relname = j.t \
                     WHERE c.relkind NOT IN ('r', 'i', 'I') ORDER BY 1, 2",
                    pairs.join(", ")
                ),
                5,
            )
            .await?;
            rows.sort_by_key(|r| names.iter().position(|(_, n)| *n == r[1]));
            for r in rows {
                let name = format!("{}.{}", r[0], r[1]);
                let what = match r[2].as_str() {
                    "p" if r[3].is_empty() => continue,
                    "p" if !writes => continue,
                    "p" => {
                        return Err(SyncError::Plan(format!(
                            "{shown}: table {name} has foreign partitions ({}), whose rows are stored on another \
                             server or database: emptying it (truncate = true) or writing into it would change \
                             those, which may be the job's source. Tether writes only into tables that store \
                             their own rows: detach those partitions, or leave {name} out of the job (nothing \
                             was written)",
                            r[3]
                        )));
                    }
                    "f" => format!("a foreign table (server {})", r[4]),
                    "v" => "a view".to_string(),
                    "m" => "a materialized view".to_string(),
                    "S" => "a sequence".to_string(),
                    "c" => "a composite type".to_string(),
                    other => format!("a relation of kind {other}"),
                };
                return Err(not_a_table(shown, &name, &what));
            }
            Ok(())
        }
    }
}

/// Where a MariaDB table of another engine keeps its rows, as its definition says
/// (MERGE's `UNION=(...)`, FEDERATED's `CONNECTION='...'`), for the message.
async fn elsewhere(conn: &mut Connection, name: &str) -> String {
    let sql = format!("SHOW CREATE TABLE {}", conn.dialect().ident(name));
    let Ok(rows) = texts(conn, &sql, 2).await else {
        return String::new();
    };
    let ddl = rows.first().map(|r| r[1].clone()).unwrap_or_default();
    // The table options follow the column list's closing `)` at the start of a line
    // (a comment's line breaks are written `\n`); a column's comment may hold
    // `UNION=(` too. ASCII upper case keeps every byte where it was, so positions
    // found in it are positions in `ddl` (`to_uppercase` would not: 'ŉ' grows).
    let options = ddl.rfind("\n)").map_or(ddl.as_str(), |i| &ddl[i..]);
    let upper = options.to_ascii_uppercase();
    if let Some(i) = upper.find("UNION=(") {
        if let Some(j) = options[i..].find(')') {
            return format!(" ({})", clipped(&options[i + 7..i + j], 200));
        }
    }
    if upper.contains("CONNECTION=") {
        return " (its CONNECTION names them)".to_string();
    }
    String::new()
}

/// `text` cut to `max` characters at most (never inside one), `...` marking a cut.
fn clipped(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}

fn not_a_table(shown: &str, name: &str, what: &str) -> SyncError {
    SyncError::Plan(format!(
        "{shown}: {name}, a table of the job, exists there as {what}, not as a table: Tether writes only into \
         tables that store their own rows. Drop or rename it there, or leave the table out of the job (nothing \
         was written)"
    ))
}

/// What is refused from the destination's catalog alone, asked by the plan too (`tether
/// plan` names it rather than planning such a relation as a missing table):
/// [`refuse_foreign_storage`] and [`refuse_conflicting_rules`].
pub async fn refuse_unwritable(
    conn: &mut Connection,
    shown: &str,
    spec: &crate::config::DestinationSpec,
    plan: &Plan,
    source: &Schema,
) -> Result<(), SyncError> {
    refuse_foreign_storage(conn, shown, plan, source).await?;
    copied_storage::refuse_copied_foreign_storage(conn.engine(), shown, plan, source)?;
    refuse_conflicting_rules(conn, shown, spec, plan, source).await?;
    refuse_cascading_updates(conn, shown, spec, plan, source).await
}

/// `on_conflict = "update"` on MariaDB/MySQL with the checks on (`checks = "enforce"`;
/// `"verify"` turns them off, and `refuse_changed_keys` in the pipeline covers it):
/// overwriting a row's key other than the one rows are matched on runs the `ON UPDATE
/// CASCADE`, `SET NULL` or `SET DEFAULT` of a table of another database of the server
/// (InnoDB FKs cross databases); in the job's source database the server rewrote the
/// source's rows without a word (review r18 c, F2). Refused before anything is
/// written, as [`refuse_other_databases`] refuses `truncate = true`, when such a table
/// of the database the source names holds rows referencing the job table (a table of
/// any other database follows the change, as its FK says). `RESTRICT`/`NO ACTION` just fail the write
/// natively; a key within the row key is never changed (the upsert's guard refuses a
/// row clashing on another key). No write of the job deletes a row (ON DUPLICATE KEY
/// UPDATE, never REPLACE), so no ON DELETE action of another database runs either.
/// PostgreSQL has no FK across databases, and a destination that is the source's
/// database is refused: a table of another schema there is the destination's own.
pub(super) async fn refuse_cascading_updates(
    conn: &mut Connection,
    shown: &str,
    spec: &crate::config::DestinationSpec,
    plan: &Plan,
    source: &Schema,
) -> Result<(), SyncError> {
    if conn.engine() != Engine::Mysql
        || plan.mode == Mode::Schema
        || spec.truncate
        || spec.on_conflict != tether_connect::Conflict::Update
        || spec.checks == crate::config::Checks::Verify
    {
        return Ok(());
    }
    // The source's database: the one whose rows must never change. Another database
    // of the server is the server's owner's to link (safety_r16: its ON UPDATE CASCADE
    // child follows the change); an unreadable source URL counts every one.
    let source_db = match tether_connect::DbUrl::parse(&plan.source) {
        Ok(tether_connect::DbUrl::Mysql(server)) => server.database,
        Ok(_) => return Ok(()),
        Err(_) => None,
    };
    let fold = names_fold(conn).await?;
    // The job's tables as the destination names them, with the key rows are matched on.
    let job: Vec<(String, Vec<String>)> = plan
        .tables
        .iter()
        .map(|tp| {
            let name = destination_name(source, &tp.table.table_name(), conn.engine()).name;
            (name, crate::plan::row_key(&tp.table))
        })
        .collect();
    for (child, fk) in other_database_fks(conn).await? {
        let Some((parent, key)) = job.iter().find(|(n, _)| same_name(fold, n, &fk.referenced_table)) else {
            continue;
        };
        let rewrites = matches!(
            fk.on_update,
            tether_schema::FkAction::Cascade | tether_schema::FkAction::SetNull | tether_schema::FkAction::SetDefault
        );
        // MariaDB/MySQL column names are never told apart by case.
        let changeable = fk
            .referenced_columns
            .iter()
            .any(|c| !key.iter().any(|k| k.eq_ignore_ascii_case(c)));
        if !rewrites || !changeable {
            continue;
        }
        let database = child.schema.clone().unwrap_or_default();
        if source_db.as_deref().is_some_and(|s| !same_name(fold, s, &database)) {
            continue;
        }
        let d = conn.dialect();
        let set: Vec<String> = fk
            .columns
            .iter()
            .map(|c| format!("{} IS NOT NULL", d.ident(c)))
            .collect();
        let sql = format!(
            "SELECT 1 FROM {}.{} WHERE {} LIMIT 1",
            d.ident(&database),
            d.ident(&child.name),
            set.join(" AND ")
        );
        if !conn.query(&sql, &[]).await?.is_empty() {
            return Err(SyncError::Plan(format!(
                "{shown}: on_conflict = \"update\" may change {parent} ({}), which rows of {database}.{} (a table \
                 of another database of the server, the job's source's name) reference through foreign key {} \
                 ON UPDATE {}: the server would rewrite those rows. Drop that foreign key or empty {database}.{} \
                 first, or set on_conflict = \"error\" or \"skip\" (nothing was written)",
                fk.referenced_columns.join(", "),
                child.name,
                fk.name,
                fk.on_update.as_sql(),
                child.name,
            )));
        }
    }
    Ok(())
}

/// `tether plan` asks an empty in-memory database for a SQLite destination (opening
/// the file to write would change it): the file's views of a job table's name are
/// looked for here, on the file opened read-only, as the run looks for them. A
/// missing or unreadable file has none (the run says why it cannot open it).
pub async fn refuse_planned_sqlite_views(
    url: &tether_connect::url::DbUrl,
    shown: &str,
    plan: &Plan,
    source: &Schema,
) -> Result<(), SyncError> {
    let tether_connect::url::DbUrl::Sqlite { path } = url else {
        return Ok(());
    };
    if !path.is_file() {
        return Ok(());
    }
    let Ok(mut conn) = Connection::open_as_found(url).await else {
        return Ok(());
    };
    let refused = refuse_foreign_storage(&mut conn, shown, plan, source).await;
    conn.close().await;
    refused
}

/// PostgreSQL refuses `INSERT ... ON CONFLICT` (`on_conflict = "skip"` or `"update"`)
/// into a table with an INSERT or UPDATE rule that fires in the load's session, and
/// would tell it as a rejected row at load time: refused before anything is written,
/// naming each such rule. A rule fires as a trigger does: `ENABLE` ones (O) and
/// `ENABLE ALWAYS` ones (A) by default, `ENABLE REPLICA` (R) and A under `checks =
/// "verify"` (`session_replication_role = replica`); disabled ones never.
pub(super) async fn refuse_conflicting_rules(
    conn: &mut Connection,
    shown: &str,
    spec: &crate::config::DestinationSpec,
    plan: &Plan,
    source: &Schema,
) -> Result<(), SyncError> {
    if conn.engine() != Engine::Postgres
        || plan.mode == Mode::Schema
        || spec.on_conflict == tether_connect::Conflict::Error
    {
        return Ok(());
    }
    let names = job_names(conn, plan, source);
    if names.is_empty() {
        return Ok(());
    }
    let d = conn.dialect();
    let lit = |s: &str| d.literal(&Value::Text(s.to_string()));
    let pairs = schema_name_pairs(&names, lit);
    let firing = match spec.checks {
        crate::config::Checks::Verify => "'R', 'A'",
        _ => "'O', 'A'",
    };
    let rows = texts(
        conn,
        &format!(
            "SELECT n.nspname::text || '.' || c.relname::text, r.rulename::text, \
               CASE r.ev_type WHEN '2' THEN 'UPDATE' ELSE 'INSERT' END \
             FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN (VALUES {}) AS j(s, t) ON n.nspname = j.s AND c.relname = j.t \
             WHERE r.ev_type IN ('2', '3') AND r.ev_enabled IN ({firing}) ORDER BY 1, 2",
            pairs.join(", ")
        ),
        3,
    )
    .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let rules: Vec<String> = rows
        .iter()
        .map(|r| format!("rule {} ON {} TO {}", r[1], r[2], r[0]))
        .collect();
    let how = match spec.on_conflict {
        tether_connect::Conflict::Skip => "skip",
        _ => "update",
    };
    Err(SyncError::Plan(format!(
        "{shown}: on_conflict = \"{how}\" writes with INSERT ... ON CONFLICT, which PostgreSQL refuses on a table \
         with INSERT or UPDATE rules: {}. Drop the rule there, or set on_conflict = \"error\" (with truncate = \
         true for a re-run) (nothing was written)",
        rules.join(", ")
    )))
}

/// MariaDB/MySQL: the declared foreign keys of tables in other databases of the
/// server that reference a table of the destination's database, as (that table, its
/// FK): the table's `schema` is its database, the FK's `referenced_table` the
/// destination's table as the server spells it (`referenced_schema` None). InnoDB FKs
/// cross databases, and the destination's own introspection sees one database.
/// Empty on other engines.
pub(super) async fn other_database_fks(
    conn: &mut Connection,
) -> Result<Vec<(tether_schema::Table, tether_schema::ForeignKey)>, SyncError> {
    use tether_schema::{FkAction, ForeignKey, Table};
    if conn.engine() != Engine::Mysql {
        return Ok(Vec::new());
    }
    let rows = texts(
        conn,
        "SELECT k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.REFERENCED_TABLE_NAME, k.COLUMN_NAME, \
           k.REFERENCED_COLUMN_NAME, COALESCE(r.UPDATE_RULE, ''), COALESCE(r.DELETE_RULE, '') \
         FROM information_schema.KEY_COLUMN_USAGE k \
         LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
           ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
          AND r.TABLE_NAME = k.TABLE_NAME \
         WHERE k.REFERENCED_TABLE_SCHEMA = DATABASE() AND k.TABLE_SCHEMA <> DATABASE() \
         ORDER BY k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
        8,
    )
    .await?;
    let mut out: Vec<(Table, ForeignKey)> = Vec::new();
    for r in rows {
        match out.last_mut() {
            Some((t, fk)) if t.schema.as_deref() == Some(&r[0]) && t.name == r[1] && fk.name == r[2] => {
                fk.columns.push(r[4].clone());
                fk.referenced_columns.push(r[5].clone());
            }
            _ => {
                let table = Table {
                    name: r[1].clone(),
                    schema: Some(r[0].clone()),
                    ..Table::default()
                };
                let fk = ForeignKey {
                    name: r[2].clone(),
                    columns: vec![r[4].clone()],
                    referenced_table: r[3].clone(),
                    referenced_schema: None,
                    referenced_columns: vec![r[5].clone()],
                    on_delete: FkAction::parse(&r[7]).unwrap_or(FkAction::NoAction),
                    on_update: FkAction::parse(&r[6]).unwrap_or(FkAction::NoAction),
                    deferrable: false,
                    initially_deferred: false,
                    is_virtual: false,
                    delete_set_columns: Vec::new(),
                    match_full: false,
                    not_valid: false,
                    partition: None,
                };
                out.push((table, fk));
            }
        }
    }
    Ok(out)
}
