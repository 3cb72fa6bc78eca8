//! `tether schema`: introspect a database and draw its foreign-key graph.

use clap::Args;
use tether_connect::{DbUrl, IntrospectOptions};
use tether_schema::{render, virtual_fk, FkGraph};

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
    let opts = IntrospectOptions {
        schemas: args.schemas.clone(),
    };
    let mut schema = tether_connect::introspect(&url, &opts).await?;
    virtual_fk::apply(&mut schema, &virtual_specs)?;
    let graph = FkGraph::build(&schema);
    let out = match args.format {
        Format::Text => render::text(&schema, &graph),
        Format::Json => render::json(&schema, &graph) + "\n",
        Format::Dot => render::dot(&schema, &graph),
        Format::Mermaid => render::mermaid(&schema),
    };
    print!("{out}");
    Ok(())
}
