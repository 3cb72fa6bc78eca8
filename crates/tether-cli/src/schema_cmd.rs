//! `tether schema`: introspect a database and draw its foreign-key graph. On the head
//! of a sharded keyspace (a MariaDB with Spider tables) it shows the layout instead:
//! every table's placement and every FK's scope, as the gateway reads them.

use clap::Args;
use serde_json::{json, Value};
use tether_connect::{DbUrl, IntrospectOptions};
use tether_gateway::sharded::{self, layout, scope};
use tether_schema::{render, virtual_fk, FkGraph, LocatedSpec};

use crate::exit::UsageError;
use crate::Format;

#[derive(Args)]
pub struct SchemaArgs {
    /// The database: sqlite://PATH, PATH.sqlite, postgres://..., mysql://...
    pub url: String,

    /// PostgreSQL schema to read (repeatable); default: every non-system schema.
    #[arg(long = "schema", value_name = "NAME")]
    pub schemas: Vec<String>,

    /// TOML file of virtual foreign keys ([[virtual_foreign_keys]] entries) to merge
    /// into the graph; they are marked virtual in every output.
    #[arg(long, value_name = "FILE")]
    pub virtual_fks: Option<std::path::PathBuf>,

    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub async fn run(args: SchemaArgs) -> anyhow::Result<()> {
    let url = DbUrl::parse(&args.url)?;
    let virtual_specs = match &args.virtual_fks {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?;
            virtual_fk::parse_file(&path.display().to_string(), &text)?
        }
        None => Vec::new(),
    };
    if is_spider_head(&url).await? {
        out!("{}", sharded_output(&url, &virtual_specs, args.format).await?);
        return Ok(());
    }
    let opts = IntrospectOptions {
        schemas: args.schemas.clone(),
    };
    let mut schema = tether_connect::introspect(&url, &opts).await?;
    // A MariaDB/MySQL key whose parent table was dropped: not in the graph, said.
    for d in &schema.objects.dangling_fks {
        errln!("warning: {}", d.describe());
    }
    virtual_fk::apply(&mut schema, &virtual_specs)?;
    let graph = FkGraph::build(&schema);
    let out = match args.format {
        Format::Text => render::text(&schema, &graph),
        Format::Json => render::json(&schema, &graph) + "\n",
        Format::Dot => render::dot(&schema, &graph),
        Format::Mermaid => render::mermaid(&schema),
    };
    out!("{out}");
    Ok(())
}

/// Whether the URL names a MariaDB database with Spider tables; false for any other
/// database, or one whose catalogs this user cannot read (it is shown as usual).
async fn is_spider_head(url: &DbUrl) -> anyhow::Result<bool> {
    if !matches!(url, DbUrl::Mysql(_)) {
        return Ok(false);
    }
    match layout::read(url).await {
        Ok(l) => Ok(l.tables.iter().any(|t| t.placement != layout::Placement::Plain)),
        Err(layout::LayoutError::Read { .. } | layout::LayoutError::NoDatabase) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The report of a sharded keyspace: text and JSON show placements and scopes; dot
/// and mermaid draw the FK graph of the keyspace (the nodes' FKs and the declared ones).
async fn sharded_output(url: &DbUrl, declared: &[LocatedSpec], format: Format) -> anyhow::Result<String> {
    let (layout, tables, disagreements) = sharded::read_tables(url).await?;
    // Nodes that disagree on a table's FKs: the gateway's managed mode refuses writes
    // until they agree; the report still shows the first node's FKs.
    for line in &disagreements {
        errln!("warning: {line}");
    }
    let fks = scope::scope_fks(&layout, &tables, declared)?;
    Ok(match format {
        Format::Text => sharded::report::report(&layout, &fks),
        Format::Json => serde_json::to_string_pretty(&layout_json(&layout, &fks))? + "\n",
        Format::Dot | Format::Mermaid => {
            let (schema, _) = scope::merge(&tables, declared)?;
            match format {
                Format::Dot => render::dot(&schema, &FkGraph::build(&schema)),
                _ => render::mermaid(&schema),
            }
        }
    })
}

/// The layout and FK scopes as JSON (no logins: a node is its name, host and port).
fn layout_json(layout: &layout::Layout, fks: &[scope::ScopedFk]) -> Value {
    let link = |l: &layout::Link| json!({"servers": l.servers, "database": l.database, "table": l.table});
    let tables: Vec<Value> = layout
        .tables
        .iter()
        .map(|t| {
            let placement = match &t.placement {
                layout::Placement::Plain => json!({"kind": "plain"}),
                layout::Placement::Linked(l) if l.servers.len() == 1 => json!({"kind": "linked", "link": link(l)}),
                layout::Placement::Linked(l) => json!({"kind": "copied", "link": link(l)}),
                layout::Placement::Sharded(s) => json!({
                    "kind": "sharded",
                    "method": s.method,
                    "expression": s.template,
                    "columns": s.columns,
                    "partitions": s.partitions.iter().map(|p| json!({
                        "name": p.name, "bound": p.bound, "link": link(&p.link),
                    })).collect::<Vec<_>>(),
                }),
            };
            json!({"name": t.name, "placement": placement, "nodes": t.nodes(), "describe": t.placement.to_string()})
        })
        .collect();
    let fks: Vec<Value> = fks
        .iter()
        .map(|s| {
            let (kind, why) = match &s.scope {
                scope::Scope::ShardScoped { why } => ("shard-scoped", Some(why)),
                scope::Scope::CrossShard { why } => ("cross-shard", Some(why)),
                scope::Scope::Head => ("head", None),
            };
            json!({
                "name": s.fk.name,
                "table": s.table,
                "columns": s.fk.columns,
                "referenced_table": s.fk.referenced_table,
                "referenced_columns": s.fk.referenced_columns,
                "source": s.source.to_string(),
                "scope": kind,
                "why": why,
            })
        })
        .collect();
    json!({
        "sharded": true,
        "database": layout.database,
        "nodes": layout.nodes.iter().map(|n| json!({"name": n.name, "host": n.host, "port": n.port})).collect::<Vec<_>>(),
        "tables": tables,
        "foreign_keys": fks,
    })
}
