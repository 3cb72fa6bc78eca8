//! `tether`: copy, subset and anonymize relational data without breaking a foreign key.
//!
//! This binary only parses arguments, loads configuration, reports progress and maps
//! errors to exit codes; the work lives in the library crates.

#[macro_use]
mod output;

mod demo_cmd;
mod exit;
mod gateway_cmd;
mod scan_cmd;
mod schema_cmd;
mod sync_cmd;
mod ui_cmd;

use clap::{Parser, Subcommand, ValueEnum};

/// Rows are many small allocations moving between threads: mimalloc handles that
/// far better than the system allocator (a third of a sync's CPU time went to malloc).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What the commands taking database URLs say of them in --help (README "Database
/// URLs" says more).
macro_rules! url_help {
    () => {
        "Database URLs:
  sqlite://PATH or a bare PATH ending in .sqlite/.db
  postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?PARAMETERS]   (password also from PGPASSWORD)
  mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?PARAMETERS]      (MariaDB and MySQL; password also from MYSQL_PWD)
  A password in a URL is percent-encoded (% as %25, / as %2F, ? as %3F, # as %23).

URL parameters (after `?`, joined by `&`):
  PostgreSQL TLS:     sslmode=disable|prefer|require|verify-ca|verify-full (default prefer),
                      sslrootcert=PATH (or `system`), sslcert=PATH, sslkey=PATH
                      (else PGSSLMODE, PGSSLROOTCERT, PGSSLCERT, PGSSLKEY)
  MariaDB/MySQL TLS:  ssl-mode=DISABLED|PREFERRED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY (default PREFERRED),
                      ssl-ca=PATH, ssl-cert=PATH, ssl-key=PATH
  prefer/PREFERRED and require/REQUIRED encrypt without checking the server's certificate;
  verify-ca/VERIFY_CA check the CA that signed it, verify-full/VERIFY_IDENTITY also the host name.
  connect_timeout=SECONDS   how long connecting may take (default 10; 0: no limit; also PGCONNECT_TIMEOUT)
  host=/SOCKET/DIR (PostgreSQL), socket=PATH (MariaDB/MySQL): a Unix socket (never TLS)"
    };
}

/// The exit codes, in the top-level --help.
macro_rules! exit_help {
    () => {
        "Exit codes: 0 ok, 1 failure while working, 2 bad usage or configuration, 3 cannot connect, 4 verification failed, 130 interrupted (Ctrl-C or SIGTERM; what the run wrote is undone as after a failure)."
    };
}

/// Tether moves and changes relational data without ever breaking a foreign key.
#[derive(Parser)]
#[command(name = "tether", version, about, long_about = None, propagate_version = true)]
#[command(after_help = concat!(url_help!(), "\n\n", exit_help!()))]
struct Cli {
    /// More log output on stderr (-v: info, -vv: debug). TETHER_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show a database's tables, keys and foreign-key graph: cycles and load order.
    ///
    /// Examples:
    ///   tether schema chinook.sqlite
    ///   tether schema postgres://postgres@127.0.0.1/shop --schema public --format json
    ///   tether schema mysql://root@127.0.0.1/shop --virtual-fks relations.toml --format dot | dot -Tsvg > fk.svg
    #[command(verbatim_doc_comment, after_help = url_help!())]
    Schema(schema_cmd::SchemaArgs),

    /// Copy a source database into one or more destinations, subset, with every
    /// foreign key intact, and verify the result.
    ///
    /// Tables load in dependency order; cycles are broken on nullable FKs (loaded NULL,
    /// then updated) or loaded with checks deferred; columns listed under [transform.TABLE]
    /// are anonymized, and every column referencing them follows; each destination is
    /// checked for orphans afterwards, and a leak report says what kept its source value.
    /// Exit code 4 when verification finds a problem. Run `tether plan JOB` first to see
    /// what a job will do.
    ///
    /// Example:
    ///   tether plan job.toml
    ///   TETHER_SEED=... tether sync job.toml
    ///   tether sync job.toml --format json > report.json
    #[command(verbatim_doc_comment, after_help = concat!("The job's source and destination URLs:\n\n", url_help!()))]
    Sync(sync_cmd::JobArgs),

    /// Show what a sync job will do, without writing anything: tables in load order,
    /// numbered step by step (the tables of one step load at the same time), how each
    /// cycle is broken, which rule brings each table's rows, the source queries, and
    /// the personal columns the job copies unchanged.
    ///
    /// Every query the job will send to the source is checked first with `LIMIT 0` (no
    /// row is read), and a destination that is the source (or another destination) is
    /// refused. Needs no secret: `seed` and destination passwords may be unset.
    #[command(verbatim_doc_comment, after_help = concat!("The job's source and destination URLs:\n\n", url_help!()))]
    Plan(sync_cmd::JobArgs),

    /// Find the personal data in a database, or the personal data a job leaves open.
    ///
    /// Every column is classified from its name (in the naming styles and languages
    /// real schemas use), its type and a bounded sample of its values checked against
    /// validators (email syntax, phone forms, Luhn for cards, IBAN checksums, IP
    /// addresses): email, person name, phone, postal address, date of birth, national
    /// id, payment card, bank account, IP address, credential, free text, location.
    /// Sampled values are never printed unmasked. Given a job file, it also says how
    /// the job treats each personal column, and --suggest writes transformers for the
    /// unprotected ones into the job (FK columns inherit and are left alone).
    ///
    /// Examples:
    ///   tether scan postgres://postgres@127.0.0.1/shop
    ///   tether scan job.toml --suggest
    ///   tether scan shop.sqlite --sample 2000 --all --format json
    #[command(verbatim_doc_comment, after_help = url_help!())]
    Scan(scan_cmd::ScanArgs),

    /// Write a realistic sample shop database (SQLite) to try Tether on.
    ///
    /// About 340,000 rows at scale 1 over 11 tables: customers and addresses that point at
    /// each other, employees with managers, departments and positions whose NOT NULL
    /// keys form a cycle, orders, order items, shipments (composite FK), reviews (FK to
    /// a unique SKU). The same scale always writes the same rows.
    ///
    /// Example:
    ///   tether demo demo/shop.sqlite && tether schema demo/shop.sqlite
    #[command(verbatim_doc_comment)]
    Demo(demo_cmd::DemoArgs),

    /// Serve the MySQL protocol in front of MariaDB/MySQL with per-keyspace
    /// foreign-key modes: unmanaged, managed, disallow.
    #[command(
        after_help = "Backend URLs (keyspaces.NAME.backend.url in the config; see docs/gateway.md):
  mysql://USER[:PASSWORD]@HOST[:PORT][/DATABASE][?PARAMETERS]   (password also from MYSQL_PWD;
  percent-encoded in the URL: % as %25, / as %2F, ? as %3F, # as %23)

URL parameters (after `?`, joined by `&`):
  ssl-mode=DISABLED|PREFERRED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY (default PREFERRED),
  ssl-ca=PATH, ssl-cert=PATH, ssl-key=PATH: TLS to the backend (PREFERRED and REQUIRED encrypt
  without checking the backend's certificate; VERIFY_CA checks the CA that signed it,
  VERIFY_IDENTITY also the host name; ssl-ca given with no ssl-mode, PREFERRED or REQUIRED
  makes it VERIFY_CA)
  connect_timeout=SECONDS   how long connecting to the backend may take (default 10; 0: no limit)
  socket=PATH               the backend's Unix socket (never TLS)
TLS to the gateway's own clients: `tls.cert` and `tls.key` in the config."
    )]
    Gateway(gateway_cmd::GatewayArgs),

    /// Serve a local web page to see and edit a job's column mapping.
    ///
    /// Every table and column with its keys; an orange "Foreign Key" badge on FK columns
    /// (hover or focus it for the parent column and the ON DELETE / ON UPDATE actions);
    /// cycles and the load order; each column's transformer and where it comes from (set
    /// there, or inherited from its parent key). A change is planned at once, exactly as
    /// `tether plan` would after saving, and refused with the planner's message when it
    /// would break a key. Save rewrites the job file, keeping its comments (the previous
    /// version goes to JOB.bak). No external assets: works offline.
    ///
    /// Example:
    ///   tether ui job.toml              # then open http://127.0.0.1:7420/
    ///   tether ui job.toml --port 0     # any free port (printed)
    #[command(verbatim_doc_comment)]
    Ui(ui_cmd::UiArgs),
}

/// How a command prints its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A listing for people.
    Text,
    /// The whole model, for scripts (shape documented in the README).
    Json,
    /// A Graphviz digraph of the foreign keys.
    Dot,
    /// A Mermaid entity-relationship diagram.
    Mermaid,
}

/// The log filter of `-v` / `-vv`: that level for Tether's own crates (whose lines
/// carry names, counts and timings, never row values), `warn` for everything else.
/// The database drivers log each statement at debug level with its text and
/// parameters, which hold the source's rows (original values of anonymized columns,
/// subset key lists: review r26g F2), so `-vv` does not turn them on; `TETHER_LOG`
/// is taken as written (`TETHER_LOG=debug` does).
fn verbosity_filter(verbose: u8) -> String {
    let level = match verbose {
        0 => return "warn".to_string(),
        1 => "info",
        _ => "debug",
    };
    let ours = [
        "tether",
        "tether_cli",
        "tether_connect",
        "tether_fkplan",
        "tether_gateway",
        "tether_schema",
        "tether_sync",
        "tether_transform",
        "tether_ui",
    ];
    std::iter::once("warn".to_string())
        .chain(ours.iter().map(|c| format!("{c}={level}")))
        .collect::<Vec<_>>()
        .join(",")
}

fn init_logging(verbose: u8) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TETHER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(verbosity_filter(verbose)));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            // The parser's message quotes the argument it could not place, which may be
            // a URL with its password: every word of it that looks like one is redacted.
            let text = redact_words(&e.to_string());
            // Bad arguments with `--format json` among them: the failure as JSON too.
            if exit::asks_for_json(std::env::args().skip(1)) {
                outln!("{}", exit::json_usage_document(&text));
            }
            errln!("{}", text.trim_end());
            std::process::exit(e.exit_code())
        }
        Err(e) => e.exit(),
    };
    init_logging(cli.verbose);
    let json = cli.command.prints_json();
    let runtime = match &cli.command {
        Command::Gateway(args) => gateway_cmd::runtime(args),
        _ => tokio::runtime::Builder::new_multi_thread().enable_all().build(),
    }
    .expect("a tokio runtime can be built");
    let result = runtime.block_on(async {
        match cli.command {
            // Commands that only read (a scan's --suggest writes at its end): a signal
            // stops them wherever they are, connecting included. A sync watches for
            // signals itself (it undoes what its run wrote).
            Command::Schema(args) => exit::unless_interrupted(schema_cmd::run(args)).await,
            Command::Scan(args) => exit::unless_interrupted(scan_cmd::run(args)).await,
            Command::Demo(args) => demo_cmd::run(args).await,
            Command::Sync(args) => sync_cmd::sync(args).await,
            Command::Plan(args) => exit::unless_interrupted(sync_cmd::plan(args)).await,
            Command::Gateway(args) => gateway_cmd::run(args).await,
            Command::Ui(args) => ui_cmd::run(args).await,
        }
    });
    if let Err(e) = result {
        errln!("error: {}", exit::one_line(&e));
        // A script asked for JSON gets the failure as JSON on stdout too, unless the
        // command already printed its report there (a sync whose verification failed).
        if json && !exit::report_printed(&e) {
            outln!("{}", exit::json_document(&e));
        }
        std::process::exit(exit::code(&e));
    }
}

/// `text` with each word (split at blanks, quotes around it kept) that may hold a
/// password in a URL or connection string replaced by its redacted form.
fn redact_words(text: &str) -> String {
    text.split_inclusive(char::is_whitespace)
        .map(|word| {
            let core = word.trim_end();
            let blank = &word[core.len()..];
            let inner = core.trim_matches(|c| c == '\'' || c == '"' || c == '`');
            if inner.contains('@') || inner.contains("://") || inner.contains('=') {
                let at = core.find(inner).unwrap_or(0);
                format!(
                    "{}{}{}{blank}",
                    &core[..at],
                    tether_connect::url::redact(inner),
                    &core[at + inner.len()..]
                )
            } else {
                word.to_string()
            }
        })
        .collect()
}

impl Command {
    /// Whether the command was asked for `--format json`.
    fn prints_json(&self) -> bool {
        match self {
            Command::Schema(a) => a.format == Format::Json,
            Command::Scan(a) => a.format == sync_cmd::OutputFormat::Json,
            Command::Sync(a) | Command::Plan(a) => a.format == sync_cmd::OutputFormat::Json,
            Command::Demo(_) | Command::Gateway(_) | Command::Ui(_) => false,
        }
    }
}
