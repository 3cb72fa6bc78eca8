//! `tether ui`: serve the schema mapping page of a job file on a local port.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::exit::UsageError;

#[derive(Args)]
pub struct UiArgs {
    /// The job file (TOML) whose mapping the page shows and edits.
    pub job: PathBuf,

    /// The port on 127.0.0.1 (0 picks a free one).
    #[arg(long, short, default_value_t = 7420)]
    pub port: u16,

    /// Listen on this address instead (HOST:PORT), e.g. 0.0.0.0:7420 to be reachable
    /// from other machines. The page can rewrite the job file: only do this on a
    /// network you trust.
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "port")]
    pub listen: Option<String>,

    /// A host name the page may be opened by besides IP addresses and localhost (for
    /// --listen on a network: http://devbox:7420/ needs --allow-host devbox; the
    /// address as the browser shows it, devbox:7420 or http://devbox:7420/, is taken
    /// as devbox, and a value with another port, https:// or a path is refused).
    /// Repeatable. Other names are refused, so that no web page can reach the server
    /// through a DNS name of its own.
    #[arg(long, value_name = "NAME")]
    pub allow_host: Vec<String>,
}

pub async fn run(args: UiArgs) -> anyhow::Result<()> {
    let mapping = tether_ui::Mapping::open(&args.job).await.map_err(classify)?;
    let address = args.listen.unwrap_or_else(|| format!("127.0.0.1:{}", args.port));
    let server = tether_ui::Server::bind(mapping, &address, &args.allow_host).map_err(classify)?;
    let local = server.local_addr()?;
    let shown = if local.ip().is_unspecified() {
        format!("http://127.0.0.1:{}/", local.port())
    } else {
        format!("http://{local}/")
    };
    // Whoever started us may stop reading stdout: the server keeps serving.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "tether ui: the mapping of {} at {shown}", args.job.display());
    let _ = writeln!(
        out,
        "Changes are planned as you make them and written to the job file only by Save. Ctrl-C stops."
    );
    let _ = out.flush();
    tokio::task::spawn_blocking(move || server.run()).await?;
    Ok(())
}

/// A bad job file exits 2; the source's errors keep their own codes.
fn classify(e: tether_ui::UiError) -> anyhow::Error {
    match e {
        tether_ui::UiError::Usage(m) => UsageError(m).into(),
        tether_ui::UiError::Sync(s) => s.into(),
        other => other.into(),
    }
}
