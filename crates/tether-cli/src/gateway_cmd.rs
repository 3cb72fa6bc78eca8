//! `tether gateway`: load the VSchema config and serve.

use clap::Args;

#[derive(Args)]
pub struct GatewayArgs {
    /// The VSchema (JSON, Vitess's shape) naming keyspaces, their backends and modes.
    #[arg(long, value_name = "FILE")]
    pub config: std::path::PathBuf,
}

pub async fn run(args: GatewayArgs) -> anyhow::Result<()> {
    let _ = args;
    anyhow::bail!("tether gateway is under construction")
}
