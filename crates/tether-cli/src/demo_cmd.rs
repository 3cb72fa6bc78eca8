//! `tether demo`: write the sample shop database.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use crate::exit::UsageError;

#[derive(Args)]
pub struct DemoArgs {
    /// Where to write the SQLite file.
    #[arg(default_value = "demo/shop.sqlite")]
    pub path: PathBuf,

    /// Size factor: 1.0 writes about 340,000 rows, 0.1 about 34,000.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,

    /// Replace the file if it exists.
    #[arg(long)]
    pub force: bool,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    if !(args.scale > 0.0 && args.scale <= 100.0) {
        return Err(UsageError(format!("--scale must be in (0, 100], not {}", args.scale)).into());
    }
    let started = Instant::now();
    let path = args.path.clone();
    let rows = tokio::task::spawn_blocking(move || tether_sync::demo::write(&path, args.scale, args.force))
        .await
        .expect("the demo task does not panic")
        .map_err(|e| match e {
            tether_sync::demo::DemoError::Exists(_) => anyhow::Error::new(UsageError(e.to_string())),
            other => other.into(),
        })?;
    errln!(
        "wrote {} rows to {} in {:.1} s",
        rows,
        args.path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
