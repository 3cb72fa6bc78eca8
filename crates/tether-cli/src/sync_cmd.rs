//! `tether sync` and `tether plan`: read the job file, show the plan or run it.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;

use clap::{Args, ValueEnum};
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tether_sync::{Job, Progress, Report};

use crate::exit::{UsageError, VerificationFailed};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Args)]
pub struct JobArgs {
    /// The job file (TOML); see the README for every key.
    pub job: PathBuf,

    /// Output format.
    #[arg(long, short, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

fn load_job(path: &PathBuf) -> anyhow::Result<Job> {
    let text = std::fs::read_to_string(path).map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?;
    Ok(Job::parse(&path.display().to_string(), &text, &|k| {
        std::env::var(k).ok()
    })?)
}

pub async fn plan(args: JobArgs) -> anyhow::Result<()> {
    let job = load_job(&args.job)?;
    let prepared = tether_sync::prepare(&job).await?;
    match args.format {
        OutputFormat::Text => print!("{}", prepared.plan.to_text()),
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&prepared.plan)?),
    }
    prepared.source.close().await;
    Ok(())
}

/// Progress bars on a terminal, plain lines otherwise.
struct Bars {
    multi: Option<MultiProgress>,
    bars: Mutex<HashMap<String, ProgressBar>>,
    quiet: bool,
}

impl Bars {
    fn new(quiet: bool) -> Bars {
        let multi = (!quiet && std::io::stderr().is_terminal()).then(MultiProgress::new);
        Bars {
            multi,
            bars: Mutex::new(HashMap::new()),
            quiet,
        }
    }
}

impl Progress for Bars {
    fn phase(&self, message: &str) {
        if self.quiet {
            return;
        }
        match &self.multi {
            Some(m) => {
                let _ = m.println(message);
            }
            None => eprintln!("{message}"),
        }
    }

    fn table_started(&self, table: &str, total: u64) {
        if let Some(m) = &self.multi {
            let bar = m.add(ProgressBar::new(total));
            bar.set_style(
                ProgressStyle::with_template("{prefix:>24} {bar:30} {human_pos}/{human_len} rows  {rate}  eta {eta}")
                    .expect("the template is valid")
                    .with_key("rate", |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.0} rows/s", s.per_sec());
                    }),
            );
            bar.set_prefix(table.to_string());
            self.bars.lock().expect("lock").insert(table.to_string(), bar);
        }
    }

    fn rows(&self, table: &str, rows: u64) {
        if let Some(bar) = self.bars.lock().expect("lock").get(table) {
            bar.inc(rows);
        }
    }

    fn table_done(&self, table: &str, rows: u64, seconds: f64) {
        if let Some(bar) = self.bars.lock().expect("lock").remove(table) {
            bar.finish();
        } else if !self.quiet {
            eprintln!("{table}: {rows} rows in {seconds:.2} s");
        }
    }
}

fn summary(report: &Report) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY);
    let mut header = vec!["table".to_string(), "read".to_string()];
    for (i, _) in report.destinations.iter().enumerate() {
        header.push(format!("written #{}", i + 1));
    }
    header.push("seconds".into());
    t.set_header(header);
    for r in &report.tables {
        let mut row = vec![r.table.clone(), r.rows_read.to_string()];
        row.extend(r.rows_written.iter().map(|n| n.to_string()));
        row.push(format!("{:.2}", r.seconds));
        t.add_row(row);
    }
    let mut out = format!("{t}\n");
    for (i, v) in report.verification.iter().enumerate() {
        if v.ok {
            out.push_str(&format!(
                "#{} {}: verified: {} foreign keys, 0 orphans; every table has the source's rows\n",
                i + 1,
                v.destination,
                v.foreign_keys_checked
            ));
        } else {
            out.push_str(&format!("#{} {}: VERIFICATION FAILED\n", i + 1, v.destination));
            for o in &v.orphans {
                out.push_str(&format!(
                    "  {} orphan rows in {} for foreign key {}{}; for example {}\n",
                    o.count,
                    o.table,
                    o.foreign_key,
                    if o.is_virtual { " (virtual)" } else { "" },
                    o.examples.join(", ")
                ));
            }
            for m in v.missing_rows.iter().chain(&v.extra_rows) {
                out.push_str(&format!(
                    "  {}: {} rows in the source, {} read, {} in the destination\n",
                    m.table, m.rows_in_source, m.rows_read, m.rows_in_destination
                ));
            }
        }
    }
    if !report.leaks.is_empty() {
        let unchanged: Vec<String> = report
            .leaks
            .iter()
            .filter(|l| l.unchanged > 0)
            .map(|l| {
                format!(
                    "{}.{} ({}): {} of {} rows",
                    l.table, l.column, l.transformer, l.unchanged, l.rows
                )
            })
            .collect();
        out.push_str(&format!(
            "leak check: {} transformed columns; {} with values left unchanged in their row\n",
            report.leaks.len(),
            unchanged.len()
        ));
        for u in unchanged {
            out.push_str(&format!("  unchanged: {u}\n"));
        }
        let seen: Vec<String> = report
            .leaks
            .iter()
            .filter(|l| l.source_values_in_destination.unwrap_or(0) > 0)
            .map(|l| {
                let n = l.source_values_in_destination.unwrap_or(0);
                format!("{}.{} {}{n}", l.table, l.column, if l.approximate { "~" } else { "" })
            })
            .collect();
        if !seen.is_empty() {
            out.push_str(&format!(
                "  distinct source values also found elsewhere in the destination column (expected where outputs come from a \
                 common vocabulary, like names): {}\n",
                seen.join(", ")
            ));
        }
    }
    let rows: u64 = report.tables.iter().map(|t| t.rows_read).sum();
    out.push_str(&format!(
        "{} rows in {} tables in {:.2} s\n",
        rows,
        report.tables.len(),
        report.seconds
    ));
    out
}

pub async fn sync(args: JobArgs) -> anyhow::Result<()> {
    let job = load_job(&args.job)?;
    job.require_secrets()?;
    let prepared = tether_sync::prepare(&job).await?;
    let progress = Bars::new(args.format == OutputFormat::Json);
    let report = tether_sync::run(&job, prepared, &progress).await?;
    match args.format {
        OutputFormat::Text => print!("{}", summary(&report)),
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    if !report.ok {
        return Err(VerificationFailed.into());
    }
    Ok(())
}
