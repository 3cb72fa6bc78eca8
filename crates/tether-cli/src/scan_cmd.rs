//! `tether scan`: which columns of a database hold personal data; for a job, which
//! of them it copies unchanged, and (`--suggest`) the transformers to add.

use std::path::{Path, PathBuf};

use clap::Args;
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use serde::Serialize;
use tether_connect::{Connection, DbUrl, IntrospectOptions};
use tether_sync::config::Privacy;
use tether_sync::scan::{self, PrivacyReport, Protection, Scan};

use crate::exit::UsageError;
use crate::sync_cmd::{load_job, OutputFormat};

#[derive(Args)]
pub struct ScanArgs {
    /// A database URL, or a job file (.toml): its source's copied tables, and how
    /// the job treats each personal column.
    pub target: String,

    /// Rows read per table (the lowest keys first, so the same database gives the
    /// same sample).
    #[arg(long, default_value_t = scan::DEFAULT_SAMPLE)]
    pub sample: u64,

    /// List every column, not only the personal ones.
    #[arg(long)]
    pub all: bool,

    /// Write the suggested transformers of unprotected personal columns into the job
    /// file (comments kept, the previous file in JOB.bak). FK columns are left alone:
    /// they inherit their parent key's transformer.
    #[arg(long)]
    pub suggest: bool,

    /// Output format.
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

#[derive(Serialize)]
struct Output<'a> {
    #[serde(flatten)]
    scan: &'a Scan,
    #[serde(skip_serializing_if = "Option::is_none")]
    job: Option<&'a PrivacyReport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suggested: Vec<String>,
}

fn is_job(target: &str) -> bool {
    target.ends_with(".toml")
}

pub async fn run(args: ScanArgs) -> anyhow::Result<()> {
    if args.suggest && !is_job(&args.target) {
        return Err(UsageError("--suggest writes into a job file: give a JOB.toml, not a URL".into()).into());
    }
    let (found, coverage) = if is_job(&args.target) {
        let path = PathBuf::from(&args.target);
        let mut job = load_job(&path)?;
        let mode = job.privacy;
        job.privacy = Privacy::Off;
        let mut prepared = tether_sync::prepare(&job).await?;
        let tables: Vec<&tether_schema::Table> = prepared.plan.tables.iter().map(|t| &t.table).collect();
        let found = scan::scan(
            &mut prepared.source,
            &prepared.schema,
            &tables,
            &prepared.plan.source,
            args.sample,
        )
        .await?;
        prepared.plan.attach_privacy(&found, &prepared.schema, mode);
        prepared.source.close().await;
        (found, prepared.plan.privacy)
    } else {
        let url = DbUrl::parse(&args.target)?;
        let mut conn = Connection::open_source(&url).await?;
        let schema = conn.introspect(&IntrospectOptions::default()).await?;
        let tables: Vec<&tether_schema::Table> = schema.tables.iter().collect();
        let found = scan::scan(&mut conn, &schema, &tables, &url.to_string(), args.sample).await?;
        conn.close().await;
        (found, None)
    };
    let suggested = if args.suggest {
        suggest(Path::new(&args.target), &found, coverage.as_ref()).await?
    } else {
        Vec::new()
    };
    match args.format {
        OutputFormat::Text => out!("{}", text(&found, coverage.as_ref(), args.all, &suggested)),
        OutputFormat::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&Output {
                scan: &found,
                job: coverage.as_ref(),
                suggested,
            })?
        ),
    }
    Ok(())
}

/// Writes the suggestions for unprotected columns into the job file; returns what
/// it wrote (`table.column = ...`).
async fn suggest(job: &Path, found: &Scan, coverage: Option<&PrivacyReport>) -> anyhow::Result<Vec<String>> {
    let Some(coverage) = coverage else {
        return Ok(Vec::new());
    };
    let mut mapping = tether_ui::Mapping::open(job).await?;
    let mut written = Vec::new();
    for p in coverage.unprotected() {
        let Some(c) = found
            .columns
            .iter()
            .find(|c| c.table == p.table && c.column == p.column)
        else {
            continue;
        };
        let Some(s) = &c.suggested else { continue };
        // A CHECK reading the column may refuse the suggested values (a `length(code)
        // = 6` and `scramble` pass, `lorem` does not): the sync would fail on it, so
        // the choice is left to the user. `null` passes every CHECK.
        if !c.checked_by.is_empty() && s.kind != "null" {
            errln!(
                "not suggested for {}.{}: CHECK {} reads the column and the values of {s} may not pass it: choose \
                 a transformer whose values do, or mark it reviewed",
                c.table,
                c.column,
                c.checked_by.join(", ")
            );
            continue;
        }
        match mapping.set_transformer(&c.table, &c.column, Some((&s.kind, &s.options))) {
            Ok(()) => written.push(format!("{}.{} = {s}", c.table, c.column)),
            Err(e) => errln!("not suggested for {}.{}: {e}", c.table, c.column),
        }
    }
    if !written.is_empty() {
        mapping.save().map_err(UsageError)?;
    }
    Ok(written)
}

fn text(found: &Scan, coverage: Option<&PrivacyReport>, all: bool, suggested: &[String]) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY);
    let mut header = vec!["column", "type", "keys", "personal data", "confidence"];
    if coverage.is_some() {
        header.push("in this job");
    }
    header.push("suggested transformer / evidence");
    t.set_header(header);
    for c in &found.columns {
        if c.class.is_none() && !all {
            continue;
        }
        let mut row = vec![
            format!("{}.{}", c.table, c.column),
            c.engine_type.clone(),
            c.keys.join("; "),
            c.class.map_or("-".into(), |k| k.to_string()),
            if c.class.is_some() {
                format!("{:.2}", c.confidence)
            } else {
                String::new()
            },
        ];
        if let Some(cov) = coverage {
            let p = cov.personal.iter().find(|p| p.table == c.table && p.column == c.column);
            row.push(match p.map(|p| &p.protection) {
                None => String::new(),
                Some(Protection::Transformed { transformer }) => format!("transformed: {transformer}"),
                Some(Protection::Inherited { from, .. }) => format!("inherited from {from}"),
                Some(Protection::Reviewed { reason }) => format!("reviewed: {reason}"),
                Some(Protection::Unprotected) => "UNPROTECTED".into(),
            });
        }
        let mut why = Vec::new();
        match (&c.suggested, &c.inherits_from) {
            (Some(s), _) => why.push(format!("-> {s}")),
            (None, Some(parent)) if c.class.is_some() => why.push(format!("inherits from {parent}")),
            _ => {}
        }
        why.extend(c.evidence.iter().filter(|e| !e.starts_with("type:")).cloned());
        row.push(why.join("\n"));
        t.add_row(row);
    }
    let personal = found.personal().count();
    let mut out = format!(
        "{}: {} tables scanned, {} rows sampled ({} per table at most)\n{t}\n",
        found.source, found.tables, found.rows_read, found.sample
    );
    out.push_str(&format!(
        "{personal} personal column{} of {}",
        if personal == 1 { "" } else { "s" },
        found.columns.len()
    ));
    match coverage {
        Some(cov) => out.push_str(&format!(
            "; {} copied unchanged by this job\n",
            cov.unprotected().count()
        )),
        None => out.push('\n'),
    }
    // Not classified by values: they have none (`--all` lists them).
    let empty = found.columns.iter().filter(|c| c.values_sampled == Some(0)).count();
    if empty > 0 {
        out.push_str(&format!(
            "{empty} column{} NULL in every row, no value sampled\n",
            if empty == 1 { "" } else { "s" }
        ));
    }
    let few = found
        .columns
        .iter()
        .filter(|c| c.few_values && c.class.is_none())
        .count();
    if few > 0 {
        out.push_str(&format!(
            "{few} column{} with fewer than {} values (NULL in the other rows read, or no more rows), not judged by value\n",
            if few == 1 { "" } else { "s" },
            scan::FEW_VALUES
        ));
    }
    for s in suggested {
        out.push_str(&format!("written to the job: {s}\n"));
    }
    out
}
