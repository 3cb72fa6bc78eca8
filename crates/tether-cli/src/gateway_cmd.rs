//! `tether gateway`: load the VSchema config and serve, or print a statement's plan,
//! or list the online schema migrations.

use clap::Args;

use crate::exit::UsageError;

#[derive(Args)]
pub struct GatewayArgs {
    /// The VSchema (JSON, Vitess's shape) naming keyspaces, their backends and modes.
    #[arg(long, value_name = "FILE")]
    pub config: std::path::PathBuf,

    /// Listen on this address instead of the config's `listen` (default 127.0.0.1:15306).
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Option<String>,

    /// Listen on 127.0.0.1 at this port (shorthand for --listen 127.0.0.1:PORT).
    #[arg(long, value_name = "PORT", conflicts_with = "listen")]
    pub port: Option<u16>,

    /// Threads serving clients (default: one per CPU core), each an event loop
    /// owning the connections handed to it; more threads serve more clients at
    /// once on bigger machines.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,

    /// Print the plan the gateway would run for this statement, then exit.
    #[arg(long, value_name = "SQL", requires = "keyspace")]
    pub explain: Option<String>,

    /// The keyspace --explain plans in (--migrations: the only one listed).
    #[arg(long, value_name = "NAME")]
    pub keyspace: Option<String>,

    /// List the online schema migrations (as SHOW VITESS_MIGRATIONS, tab-separated),
    /// then exit.
    #[arg(long, conflicts_with = "explain")]
    pub migrations: bool,
}

/// The runtime `tether gateway` starts on (loading, accepting, schema refreshes):
/// one thread; clients are served on the gateway's own worker threads.
pub fn runtime(_args: &GatewayArgs) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}

/// Configuration problems exit 2; the rest 1.
fn classify(e: tether_gateway::GatewayError) -> anyhow::Error {
    use tether_gateway::GatewayError as G;
    match e {
        G::Config { .. } | G::Setup(_) | G::UnknownKeyspace(_) => UsageError(e.to_string()).into(),
        other => other.into(),
    }
}

pub async fn run(args: GatewayArgs) -> anyhow::Result<()> {
    let config = tether_gateway::Config::load(&args.config).map_err(classify)?;
    if let Some(sql) = &args.explain {
        let keyspace = args.keyspace.as_deref().unwrap_or_default();
        out!(
            "{}",
            tether_gateway::explain(&config, keyspace, sql)
                .await
                .map_err(classify)?
        );
        return Ok(());
    }
    if args.migrations {
        out!(
            "{}",
            tether_gateway::migrations(&config, args.keyspace.as_deref())
                .await
                .map_err(classify)?
        );
        return Ok(());
    }
    let listen = match (args.listen, args.port) {
        (Some(l), _) => Some(l),
        (None, Some(p)) => Some(format!("127.0.0.1:{p}")),
        (None, None) => None,
    };
    let mut gateway = tether_gateway::Gateway::bind(&config, listen.as_deref())
        .await
        .map_err(classify)?;
    if let Some(n) = args.threads {
        gateway = gateway.with_threads(usize::from(n));
    }
    let tls = match &config.tls {
        Some(t) if t.require_secure_transport => " (TLS required)",
        Some(_) => " (TLS offered)",
        None => "",
    };
    errln!(
        "tether gateway listening on {}{tls}",
        gateway.local_addr().map_err(classify)?
    );
    gateway.serve().await.map_err(classify)?;
    Ok(())
}
