//! `tether sync` and `tether plan`: read the job file, show the plan or run it.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;

use clap::{Args, ValueEnum};
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tether_sync::{Job, Progress, Report};

use crate::exit::{stop_signal, Interrupted, UsageError, VerificationFailed};

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

pub fn load_job(path: &PathBuf) -> anyhow::Result<Job> {
    let text = std::fs::read_to_string(path).map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?;
    Ok(Job::parse(&path.display().to_string(), &text, &|k| {
        std::env::var(k).ok()
    })?)
}

pub async fn plan(args: JobArgs) -> anyhow::Result<()> {
    let job = load_job(&args.job)?;
    let prepared = tether_sync::prepare(&job).await?;
    // A plan the sync would stop on fails as the sync would, with its message.
    if let Err(e) = prepared.plan.refuse_what_the_sync_refuses() {
        prepared.source.close().await;
        return Err(e.into());
    }
    match args.format {
        OutputFormat::Text => out!("{}", prepared.plan.to_text()),
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&prepared.plan)?),
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

    /// Takes the bars off the screen (after an interruption).
    fn stop(&self) {
        for (_, bar) in self.bars.lock().expect("lock").drain() {
            bar.abandon();
        }
        if let Some(m) = &self.multi {
            let _ = m.clear();
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
            None => errln!("{message}"),
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
            errln!(
                "{table}: {rows} row{} in {seconds:.2} s",
                if rows == 1 { "" } else { "s" }
            );
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
            // Orphans listed under an ok verification are the ones a NOT VALID foreign key
            // of the source lets through: say so instead of "0 orphans".
            let let_through: u64 = v.orphans.iter().map(|o| o.count).sum();
            let orphans = match let_through {
                0 => "0 orphans".to_string(),
                n => format!("no orphans but {n} the source's NOT VALID foreign keys let through"),
            };
            out.push_str(&format!(
                "#{} {}: verified: {} foreign keys, {orphans}; every table has the source's rows\n",
                i + 1,
                v.destination,
                v.foreign_keys_checked
            ));
            for o in &v.orphans {
                out.push_str(&format!(
                    "  {} rows in {} without a parent, let through by NOT VALID foreign key {} (as at the \
                     source); for example {}\n",
                    o.count,
                    o.table,
                    o.foreign_key,
                    o.examples.join(", ")
                ));
            }
        } else {
            out.push_str(&format!("#{} {}: VERIFICATION FAILED\n", i + 1, v.destination));
            for o in &v.orphans {
                out.push_str(&format!(
                    "  {} orphan rows in {} for foreign key {}{}; for example {}\n",
                    o.count,
                    o.table,
                    o.foreign_key,
                    match (o.is_virtual, o.not_valid) {
                        (true, _) => " (virtual)",
                        (_, true) => " (NOT VALID: let through, as at the source)",
                        _ => "",
                    },
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
    for w in &report.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    for n in &report.not_copied {
        out.push_str(&format!("note: {n}\n"));
    }
    if !report.leaks.is_empty() {
        // Text columns also count matches ignoring case and surrounding whitespace
        // ("folded"): `HENRY` written as `Henry` is a leak too.
        let folded = |n: Option<u64>| n.map(|f| format!(", {f} ignoring case and spaces")).unwrap_or_default();
        let unchanged: Vec<String> = report
            .leaks
            .iter()
            .filter(|l| l.unchanged > 0 || l.unchanged_folded.unwrap_or(0) > 0)
            .map(|l| {
                format!(
                    "{}.{} ({}): {} of {} rows{}",
                    l.table,
                    l.column,
                    l.transformer,
                    l.unchanged,
                    l.rows,
                    folded(l.unchanged_folded)
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
            .filter(|l| l.source_values_in_destination_folded.unwrap_or(0) > 0)
            .map(|l| {
                let about = if l.approximate { "~" } else { "" };
                format!(
                    "{}.{} {about}{}{}",
                    l.table,
                    l.column,
                    l.source_values_in_destination.unwrap_or(0),
                    folded(l.source_values_in_destination_folded)
                )
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
    if let Some(p) = &report.privacy {
        out.push_str(&p.to_text());
    }
    // Rows read, and rows written to each destination (a re-run with `skip` reads every
    // row and may write none).
    let rows: u64 = report.tables.iter().map(|t| t.rows_read).sum();
    let written: Vec<String> = (0..report.destinations.len())
        .map(|i| {
            let n: u64 = report.tables.iter().filter_map(|t| t.rows_written.get(i)).sum();
            match report.destinations.len() {
                1 => format!("{n} written"),
                _ => format!("{n} written to #{}", i + 1),
            }
        })
        .collect();
    out.push_str(&format!(
        "{} read from {}, {} in {:.2} s\n",
        tether_sync::plan::plural(rows as usize, "row"),
        tether_sync::plan::plural(report.tables.len(), "table"),
        written.join(", "),
        report.seconds
    ));
    out
}

pub async fn sync(args: JobArgs) -> anyhow::Result<()> {
    let job = load_job(&args.job)?;
    job.require_secrets()?;
    // The first SIGINT or SIGTERM (what `timeout`, `docker stop` and systemd send)
    // stops the run, which undoes what it wrote as after a failure (before the run,
    // while connecting and planning, it just stops); a second one quits at once.
    let (stopped, mut stop) = tokio::sync::watch::channel(false);
    let json = args.format == OutputFormat::Json;
    let signal = std::sync::Arc::new(std::sync::OnceLock::new());
    let first = signal.clone();
    tokio::spawn(async move {
        let _ = first.set(stop_signal().await);
        let _ = stopped.send(true);
        stop_signal().await;
        let message = "interrupted again: quitting without undoing the run's writes; run the job again with \
                       truncate = true";
        errln!("\n{message}");
        if json {
            outln!(
                "{}",
                crate::exit::json_document(&anyhow::Error::new(crate::exit::QuitAtOnce(message)))
            );
        }
        std::process::exit(crate::exit::INTERRUPTED);
    });
    let prepared = tokio::select! {
        prepared = tether_sync::prepare(&job) => prepared?,
        _ = stop.wait_for(|s| *s) => {
            return Err(Interrupted(signal.get().copied().unwrap_or("a signal")).into());
        }
    };
    let progress = Bars::new(args.format == OutputFormat::Json);
    let stop = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    let report = match tether_sync::run_until(&job, prepared, &progress, async {
        stop.await;
        // Leave the terminal on a fresh line while the run undoes its writes.
        progress.stop();
        errln!("interrupted: stopping, and undoing what the run wrote where it can (interrupt again to quit at once)");
    })
    .await
    {
        Ok(report) => report,
        Err(e) => {
            progress.stop();
            return Err(e.into());
        }
    };
    match args.format {
        OutputFormat::Text => out!("{}", summary(&report)),
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&report)?),
    }
    if !report.ok {
        return Err(VerificationFailed.into());
    }
    Ok(())
}
