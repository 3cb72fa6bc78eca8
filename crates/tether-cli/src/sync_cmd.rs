//! `tether sync` and `tether plan`: read the job file, show the plan or run it.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;

use clap::{Args, ValueEnum};
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tether_sync::{Job, Plan, Progress, Report};

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

/// Prints the plan for people.
pub fn plan_text(plan: &Plan) -> String {
    let mut out = String::new();
    out.push_str(&format!("source: {}\n", plan.source));
    for d in &plan.destinations {
        let mut opts = vec![format!("on_conflict = {:?}", d.on_conflict).to_lowercase()];
        if d.truncate {
            opts.push("truncate".into());
        }
        if !d.create_tables {
            opts.push("create_tables = false".into());
        }
        out.push_str(&format!("destination: {} ({})\n", d.url, opts.join(", ")));
    }
    out.push_str(&format!(
        "{} tables in load order{}\n\n",
        plan.tables.len(),
        if plan.subset { ", subset" } else { ", full copy" }
    ));
    for (i, t) in plan.tables.iter().enumerate() {
        out.push_str(&format!("{:>3}. {}\n", i + 1, t.name));
        for r in &t.reasons {
            out.push_str(&format!("       rows: {r}\n"));
        }
        for x in &t.transforms {
            out.push_str(&format!(
                "       transform: {} = {} ({})\n",
                x.column, x.transformer, x.origin
            ));
        }
        if !t.break_fks.is_empty() {
            out.push_str(&format!(
                "       cycle: {} loaded NULL, then updated\n",
                t.break_fks.join(", ")
            ));
        }
        out.push_str(&format!("       query: {}\n", t.query));
    }
    out.push_str("\nParallel groups\n");
    for (i, l) in plan.levels.iter().enumerate() {
        out.push_str(&format!("  {}. {}\n", i + 1, l.join(", ")));
    }
    out.push_str("\nCycles\n");
    if plan.cycles.is_empty() {
        out.push_str("  none\n");
    }
    for c in &plan.cycles {
        let how = match c.strategy {
            tether_sync::plan::CycleStrategy::Break => {
                format!("break: load {} as NULL, then UPDATE", c.foreign_keys.join(", "))
            }
            tether_sync::plan::CycleStrategy::Defer => format!(
                "defer: no nullable FK breaks it; load with checks deferred or disabled ({}), then verify",
                c.foreign_keys.join(", ")
            ),
        };
        out.push_str(&format!("  {}: {how}\n", c.tables.join(" <-> ")));
    }
    if !plan.excluded.is_empty() {
        out.push_str(&format!("\nExcluded: {}\n", plan.excluded.join(", ")));
    }
    out
}

pub async fn plan(args: JobArgs) -> anyhow::Result<()> {
    let job = load_job(&args.job)?;
    let prepared = tether_sync::prepare(&job).await?;
    match args.format {
        OutputFormat::Text => print!("{}", plan_text(&prepared.plan)),
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
                "#{} {}: verified: {} foreign keys, 0 orphans; every table has the rows read\n",
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
            for m in &v.missing_rows {
                out.push_str(&format!(
                    "  {}: {} rows read, {} in the destination\n",
                    m.table, m.rows_read, m.rows_in_destination
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
