//! PostgreSQL connections and introspection from `pg_catalog`.
//!
//! Every non-system schema is read unless the caller picks some; names are
//! schema-qualified and `current_schema()` (normally `public`) is the default schema.

pub mod dialect;
pub mod objects;
pub mod rw;
mod tls_name;

use std::collections::HashMap;
use std::time::Duration;

use tether_schema::{
    Column, FkAction, ForeignKey, Identity, Partition, Partitioning, Schema, Table, TableName, UniqueKey,
};
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, NoTls};

use crate::error::ConnectError;
use crate::tls::{self, TlsMode};
use crate::types;
use crate::url::{Engine, ServerUrl};

/// One line describing a tokio-postgres error: the server's SQLSTATE and message when
/// the server sent one, else the client-side cause.
pub fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let detail = db.detail().map(|d| format!(" ({d})")).unwrap_or_default();
        // The session runs with `row_security = off` (as pg_dump): a role the table's
        // policies apply to is refused rather than shown some of the rows.
        let hint = if db.code() == &tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE
            && db.message().contains("row-level security")
        {
            " (the login is subject to this table's row-level security policies, so it would see only \
             the rows they show: use a role with BYPASSRLS, a superuser, or the table's owner when the \
             table is not FORCE ROW LEVEL SECURITY)"
        } else {
            ""
        };
        return format!("server error {}: {}{detail}{hint}", db.code().code(), db.message());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text = format!("{text}: {s_text}");
        }
        source = s.source();
    }
    text
}

/// Connects (with TLS as the URL's `sslmode` says) within the URL's `connect_timeout`
/// (10 s when it has none) and spawns the connection task.
pub async fn connect(server: &ServerUrl, shown: &str) -> Result<Client, ConnectError> {
    let limit = server.connect_limit(Engine::Postgres);
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(server.socket.as_deref().unwrap_or(&server.host))
        .port(server.port)
        .user(&server.user)
        .dbname(server.database.as_deref().unwrap_or(&server.user))
        .application_name("tether");
    if let Some(limit) = limit {
        cfg.connect_timeout(limit);
    }
    if let Some(p) = &server.password {
        cfg.password(p);
    }
    let fail = |message: String| ConnectError::Connect {
        url: shown.to_string(),
        message,
    };
    // A TLS option that cannot work (a file missing, a key that is not the
    // certificate's) is the URL's mistake, not the server's.
    let settings = |reason: String| ConnectError::InvalidUrl {
        url: shown.to_string(),
        reason,
    };
    let timed_out = || {
        fail(format!(
            "timed out after {}",
            server.connect_limit_shown(Engine::Postgres)
        ))
    };
    let tls = &server.tls;
    // libpq ignores sslmode on a Unix socket.
    if server.socket.is_some() || tls.mode == TlsMode::Disable {
        cfg.ssl_mode(SslMode::Disable);
        let (client, connection) = within(limit, cfg.connect(NoTls))
            .await
            .ok_or_else(timed_out)?
            .map_err(|e| fail(describe(&e)))?;
        spawn_connection(connection);
        return Ok(client);
    }
    // `prefer` falls back to plain only when the server answers the TLS request
    // with "no" (tokio-postgres); it checks no certificate, so no certificate
    // problem can make it fall back.
    cfg.ssl_mode(if tls.mode == TlsMode::Prefer {
        SslMode::Prefer
    } else {
        SslMode::Require
    });
    if tls.mode == TlsMode::VerifyFull && rustls::pki_types::ServerName::try_from(server.host.as_str()).is_err() {
        return Err(settings(host_not_a_name(server)));
    }
    let config = tls::client_config(tls, Engine::Postgres).map_err(settings)?;
    let (client, connection) = within(
        limit,
        cfg.connect(tls_name::Connector::new(config, tls.mode == TlsMode::VerifyFull)),
    )
    .await
    .ok_or_else(timed_out)?
    .map_err(|e| fail(describe_tls(&e, server)))?;
    spawn_connection(connection);
    Ok(client)
}

/// `connecting` within `limit`; `None` when it took longer. tokio-postgres's own limit
/// is per TCP connection: a server that takes the connection and never answers would
/// be waited for without end.
async fn within<T>(limit: Option<Duration>, connecting: impl std::future::Future<Output = T>) -> Option<T> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, connecting).await.ok(),
        None => Some(connecting.await),
    }
}

/// The refusal of verify-full with a host TLS cannot compare with a certificate.
fn host_not_a_name(server: &ServerUrl) -> String {
    format!(
        "TLS host name check impossible: `{}` is neither a DNS name nor an IP address as TLS writes them, and \
         {} compares the server's certificate with the host: write the host as its certificate names it \
         (an address in full, e.g. 127.0.0.1)",
        server.host,
        server.tls.mode_shown(Engine::Postgres)
    )
}

/// [`describe`], saying which TLS check failed when one did.
fn describe_tls(e: &tokio_postgres::Error, server: &ServerUrl) -> String {
    // Only verify-full hands rustls a host it cannot take as a name ([`tls_name`]).
    if rustls::pki_types::ServerName::try_from(server.host.as_str()).is_err() {
        return host_not_a_name(server);
    }
    if let Some(r) = tls::find_rustls_error(e) {
        return tls::explain(r, &server.tls, Engine::Postgres, &server.host);
    }
    let text = describe(e);
    if text.contains("server does not support TLS") {
        return tls::not_supported(&server.tls, Engine::Postgres);
    }
    text
}

fn spawn_connection<F>(connection: F)
where
    F: std::future::Future<Output = Result<(), tokio_postgres::Error>> + Send + 'static,
{
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("postgres connection ended: {}", describe(&e));
        }
    });
}

fn action(code: &str) -> FkAction {
    match code {
        "r" => FkAction::Restrict,
        "c" => FkAction::Cascade,
        "n" => FkAction::SetNull,
        "d" => FkAction::SetDefault,
        _ => FkAction::NoAction,
    }
}

/// Tables and partitioned tables; partitions are part of their partitioned table, not
/// tables of their own. Inheritance children are tables of their own. A sync's staging
/// schemas ([`STAGING_PREFIX`]) are read only when asked for by name; a sync's record
/// of triggers it suspended ([`crate::SUSPENDED_TRIGGERS`]) never.
const TABLES: &str = "
SELECT c.oid, n.nspname::text, c.relname::text,
  c.relkind = 'r' AND EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhparent = c.oid),
  CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
  AND (cardinality($1::text[]) = 0 OR n.nspname = ANY($1::text[]))
  AND (cardinality($1::text[]) > 0 OR n.nspname NOT LIKE '\\_tether\\_stage\\_%')
  AND c.relname <> '_tether_suspended_triggers'
ORDER BY 2, 3";

/// The start of the name of the schemas a sync loads into before moving the tables to
/// their own (`_tether_stage_<run>_<n>`): never read as the database's own tables.
pub const STAGING_PREFIX: &str = "_tether_stage_";

/// The parents each table `INHERITS` from, in declaration order.
const INHERITS: &str = "
SELECT i.inhrelid, pn.nspname::text, p.relname::text
FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE i.inhrelid = ANY($1::oid[])
ORDER BY i.inhrelid, i.inhseqno";

/// Every partition with its parent, bound and (when partitioned itself) key.
const PARTITIONS: &str = "
SELECT i.inhparent, c.oid, n.nspname::text, c.relname::text, pg_get_expr(c.relpartbound, c.oid),
  CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relispartition AND c.relkind IN ('r', 'p')
ORDER BY 1, 3, 4";

/// Columns; the last is the built-in type underneath a domain (or an array of one),
/// through domains over domains: what the values are read and written as.
const COLUMNS: &str = "
SELECT a.attrelid, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text,
       CASE WHEN dom.typtype = 'd' THEN
         (WITH RECURSIVE chain(base, mod) AS (
            SELECT dom.typbasetype, dom.typtypmod
            UNION ALL
            SELECT b.typbasetype, b.typtypmod FROM chain JOIN pg_type b ON b.oid = chain.base AND b.typtype = 'd')
          SELECT format_type(c.base, c.mod) FROM chain c JOIN pg_type t ON t.oid = c.base WHERE t.typtype <> 'd')
         || CASE WHEN dom.oid <> a.atttypid THEN '[]' ELSE '' END
       END
FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
JOIN pg_type ty ON ty.oid = a.atttypid
LEFT JOIN pg_type dom ON dom.oid = CASE WHEN ty.typelem <> 0 AND ty.typlen = -1 THEN ty.typelem ELSE ty.oid END
WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum";

/// Keys and foreign keys of the tables, and the foreign keys a partition declares of
/// its own (listed under its root table, with the partition's name: they hold for its
/// rows only).
const CONSTRAINTS: &str = "
SELECT CASE WHEN rc.relispartition THEN pg_partition_root(rc.oid) ELSE con.conrelid END::oid, con.conname::text, con.contype::text,
  ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord),
  fn.nspname::text, fc.relname::text,
  ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord),
  con.confupdtype::text, con.confdeltype::text, con.condeferrable, con.condeferred,
  ARRAY(SELECT a.attname::text FROM jsonb_array_elements_text(CASE
          WHEN jsonb_typeof(to_jsonb(con)->'confdelsetcols') = 'array' THEN to_jsonb(con)->'confdelsetcols'
          ELSE '[]' END) WITH ORDINALITY k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum::int2 ORDER BY k.ord),
  con.confmatchtype = 'f', NOT con.convalidated,
  CASE WHEN rc.relispartition THEN rn.nspname::text END, CASE WHEN rc.relispartition THEN rc.relname::text END
FROM pg_constraint con
JOIN pg_class rc ON rc.oid = con.conrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace
LEFT JOIN pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
WHERE con.contype IN ('p', 'u', 'f') AND con.conparentid = 0
  AND (con.conrelid = ANY($1::oid[])
       OR (con.contype = 'f' AND rc.relispartition AND pg_partition_root(rc.oid)::oid = ANY($1::oid[])))
ORDER BY 1, con.conname";

/// Unique indexes that do not back a PRIMARY KEY or UNIQUE constraint; expression
/// indexes are left out (no foreign key can reference them).
const UNIQUE_INDEXES: &str = "
SELECT i.indrelid, ic.relname::text,
  ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE k.ord <= i.indnkeyatts ORDER BY k.ord),
  pg_get_expr(i.indpred, i.indrelid),
  (SELECT bool_or(k = 0) FROM unnest(i.indkey::int2[]) WITH ORDINALITY u(k, ord) WHERE u.ord <= i.indnkeyatts)
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE i.indrelid = ANY($1::oid[]) AND i.indisunique AND NOT i.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                  WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u'))
ORDER BY i.indrelid, ic.relname";

/// A partition as the catalog lists it.
struct PartitionRow {
    oid: u32,
    schema: String,
    name: String,
    bound: String,
    key: Option<String>,
}

/// The partitions of table `oid`, each with its own partitions when it has some.
fn partitioning(key: String, oid: u32, children: &HashMap<u32, Vec<PartitionRow>>) -> Partitioning {
    let partitions = children
        .get(&oid)
        .map(|rows| {
            rows.iter()
                .map(|p| Partition {
                    schema: Some(p.schema.clone()),
                    name: p.name.clone(),
                    bound: p.bound.clone(),
                    partitioning: p.key.clone().map(|k| Box::new(partitioning(k, p.oid, children))),
                })
                .collect()
        })
        .unwrap_or_default();
    Partitioning { key, partitions }
}

/// Reads the schema; `schemas` restricts it to those PostgreSQL schemas.
pub async fn introspect(client: &Client, shown: &str, schemas: &[String]) -> Result<Schema, ConnectError> {
    // The catalog queries' estimates grow with the tables (thousands: costs past
    // jit_above_cost), and JIT-compiling them costs more than running them (585 ms at
    // 5,000 tables): off while reading, then back to the role's or database's setting.
    let jit = client.simple_query("SET jit = off").await.is_ok();
    let read = introspect_catalogs(client, shown, schemas).await;
    if jit {
        let _ = client.simple_query("RESET jit").await;
    }
    read
}

async fn introspect_catalogs(client: &Client, shown: &str, schemas: &[String]) -> Result<Schema, ConnectError> {
    let q = |what: &'static str| {
        let url = shown.to_string();
        move |e: tokio_postgres::Error| ConnectError::Query {
            url: url.clone(),
            what: what.to_string(),
            message: describe(&e),
        }
    };
    for s in schemas {
        let found = client
            .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[s])
            .await
            .map_err(q("checking schemas"))?;
        if found.is_none() {
            return Err(ConnectError::NotFound {
                url: shown.to_string(),
                message: format!("schema `{s}` does not exist"),
            });
        }
    }
    let default_schema: Option<String> = client
        .query_one("SELECT current_schema()::text", &[])
        .await
        .map_err(q("reading the current schema"))?
        .get(0);

    let rows = client.query(TABLES, &[&schemas]).await.map_err(q("listing tables"))?;
    let mut tables: Vec<Table> = Vec::with_capacity(rows.len());
    let mut by_oid: HashMap<u32, usize> = HashMap::new();
    for r in &rows {
        by_oid.insert(r.get(0), tables.len());
        tables.push(Table {
            schema: Some(r.get(1)),
            name: r.get(2),
            columns: vec![],
            primary_key: vec![],
            has_children: r.get(3),
            ..Default::default()
        });
    }
    let oids: Vec<u32> = rows.iter().map(|r| r.get(0)).collect();

    for r in client
        .query(INHERITS, &[&oids])
        .await
        .map_err(q("reading inheritance"))?
    {
        let t = &mut tables[by_oid[&r.get::<_, u32>(0)]];
        t.inherits.push(TableName {
            schema: Some(r.get(1)),
            name: r.get(2),
        });
    }
    if rows.iter().any(|r| r.get::<_, Option<String>>(4).is_some()) {
        let mut children: HashMap<u32, Vec<PartitionRow>> = HashMap::new();
        for r in client.query(PARTITIONS, &[]).await.map_err(q("reading partitions"))? {
            children.entry(r.get(0)).or_default().push(PartitionRow {
                oid: r.get(1),
                schema: r.get(2),
                name: r.get(3),
                bound: r.get::<_, Option<String>>(4).unwrap_or_default(),
                key: r.get(5),
            });
        }
        for r in &rows {
            if let Some(key) = r.get::<_, Option<String>>(4) {
                tables[by_oid[&r.get::<_, u32>(0)]].partitioning = Some(partitioning(key, r.get(0), &children));
            }
        }
    }

    for r in client.query(COLUMNS, &[&oids]).await.map_err(q("reading columns"))? {
        let t = &mut tables[by_oid[&r.get::<_, u32>(0)]];
        let engine_type: String = r.get(2);
        let expr: Option<String> = r.get(4);
        let ident: String = r.get(5);
        let generated = r.get::<_, String>(6) == "s";
        let identity = match ident.as_str() {
            "a" => Some(Identity::Always),
            "d" => Some(Identity::ByDefault),
            _ if expr.as_deref().is_some_and(|d| d.starts_with("nextval(")) => Some(Identity::Serial),
            _ => None,
        };
        // A domain's values are its base type's.
        let base: Option<String> = r.get(7);
        t.columns.push(Column {
            name: r.get(1),
            normalized_type: types::postgres(base.as_deref().unwrap_or(&engine_type)),
            engine_type,
            nullable: !r.get::<_, bool>(3),
            default: if generated { None } else { expr.clone() },
            identity,
            generated: if generated { expr } else { None },
        });
    }

    for r in client
        .query(CONSTRAINTS, &[&oids])
        .await
        .map_err(q("reading constraints"))?
    {
        let t = &mut tables[by_oid[&r.get::<_, u32>(0)]];
        let name: String = r.get(1);
        let columns: Vec<String> = r.get(3);
        match r.get::<_, String>(2).as_str() {
            "p" => t.primary_key = columns,
            "u" => t.unique_keys.push(UniqueKey {
                name,
                columns,
                constraint: true,
                predicate: None,
            }),
            _ => t.foreign_keys.push(ForeignKey {
                name,
                columns,
                referenced_schema: r.get(4),
                referenced_table: r.get(5),
                referenced_columns: r.get(6),
                on_update: action(&r.get::<_, String>(7)),
                on_delete: action(&r.get::<_, String>(8)),
                deferrable: r.get(9),
                initially_deferred: r.get(10),
                is_virtual: false,
                // (`confdelsetcols` read through to_jsonb: absent before PostgreSQL 15.)
                delete_set_columns: r.get(11),
                match_full: r.get(12),
                not_valid: r.get(13),
                partition: r.get::<_, Option<String>>(15).map(|name| TableName {
                    schema: r.get(14),
                    name,
                }),
            }),
        }
    }

    for r in client
        .query(UNIQUE_INDEXES, &[&oids])
        .await
        .map_err(q("reading unique indexes"))?
    {
        if r.get::<_, Option<bool>>(4).unwrap_or(false) {
            continue;
        }
        let t = &mut tables[by_oid[&r.get::<_, u32>(0)]];
        t.unique_keys.push(UniqueKey {
            name: r.get(1),
            columns: r.get(2),
            constraint: false,
            predicate: r.get(3),
        });
    }

    let objects = crate::postgres::objects::read(client, shown, schemas, &oids, &by_oid, &mut tables).await?;
    let mut schema = Schema {
        engine: tether_schema::Engine::Postgres,
        default_schema,
        tables,
        objects,
    };
    schema.sort();
    Ok(schema)
}
