//! The `trailscope` binary: the only place that wires concrete parts together.
//!
//! Data goes to stdout; progress, logs and hints to stderr. Exit codes: 0 success, 1 error,
//! 2 usage error, 3 ingest finished but quarantined something (see `trailscope quarantine`).

mod awsformat;
mod awstable;
mod commands;
mod config;
mod datadir;
mod lookup;
mod progress;
mod s3;
mod sources;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

// Ingest allocates per record and per batch from several threads; mimalloc (as datafusion-cli
// uses) took malloc/free from 7% of ingest CPU to under 2%.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "trailscope",
    version,
    about = "Self-hosted analytics for AWS CloudTrail",
    propagate_version = true
)]
pub struct Cli {
    /// Where the table and trailscope's state live: a local directory, or s3://bucket/prefix for
    /// the table in S3 (credentials and endpoint from the standard AWS chain and variables).
    #[arg(
        long,
        global = true,
        env = "TRAILSCOPE_DATA_DIR",
        default_value = "./trailscope-data",
        value_name = "DIR|S3_URL"
    )]
    pub data_dir: datadir::DataDir,
    /// Where local state lives (quarantine list, sources' state, saved objects, trailscope.toml,
    /// geoip/): default the data directory, or ./trailscope-state when the table is in S3.
    #[arg(long, global = true, env = "TRAILSCOPE_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Config file (default: <state-dir>/trailscope.toml when it exists).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// GeoIP City database (MaxMind GeoLite2/GeoIP2 or DB-IP .mmdb); repeat for DB-IP's separate
    /// IPv4 and IPv6 files.
    #[arg(long = "geoip-db", global = true, value_name = "FILE")]
    pub geoip_db: Vec<PathBuf>,
    /// GeoIP ASN database (.mmdb).
    #[arg(long = "asn-db", global = true, value_name = "FILE")]
    pub asn_db: Option<PathBuf>,
    /// Do not enrich with GeoIP, even when a database is configured or found.
    #[arg(long, global = true, conflicts_with_all = ["geoip_db", "asn_db"])]
    pub no_geoip: bool,
    /// Log level filter for stderr (e.g. `info`, `trailscope=debug`).
    #[arg(long, global = true, env = "TRAILSCOPE_LOG", default_value = "warn")]
    pub log: String,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The local directory for state (see `--state-dir`).
    pub fn home(&self) -> PathBuf {
        self.data_dir.home(self.state_dir.as_deref())
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ingest CloudTrail files or folders (S3 layout, .json/.json.gz, NDJSON, arrays, LookupEvents output).
    Ingest(IngestArgs),
    /// Run a SQL query over the table `cloudtrail`.
    Sql(SqlArgs),
    /// Show what the table holds.
    Stats(FormatArgs),
    /// List what could not be ingested, and why.
    Quarantine(FormatArgs),
    /// Compact small files (and optionally remove unreferenced ones).
    Optimize(OptimizeArgs),
    /// Generate a realistic CloudTrail dataset of an ECS estate, ingest it and serve it.
    Demo(DemoArgs),
    /// Serve the HTTP API: Elasticsearch-compatible search under /_elastic, SQL, fields, metrics.
    Serve(ServeArgs),
    /// Print the argon2id hash of a password read from stdin, for [[server.users]] in trailscope.toml.
    HashPassword,
    /// Look events up as `aws cloudtrail lookup-events` does (same arguments and output), in
    /// the local table or on a server (--endpoint-url).
    LookupEvents(lookup::LookupArgs),
    /// Check that the credentials can list and read CloudTrail's logs in S3, and say which
    /// permission is missing if not (exit 0 only when both work).
    S3Check(s3::S3CheckArgs),
    /// The S3 sources of trailscope.toml ([[sources]]): status, a poll now, retries.
    Sources(sources::SourcesArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. Anything but loopback requires authentication to be configured.
    #[arg(long, env = "TRAILSCOPE_LISTEN", value_name = "ADDR:PORT")]
    pub listen: Option<std::net::SocketAddr>,
    /// File with API tokens, one per line (TRAILSCOPE_API_TOKENS also works, comma-separated).
    #[arg(long, value_name = "FILE")]
    pub api_token_file: Option<PathBuf>,
    /// Longest a query may run, in seconds.
    #[arg(long, value_name = "SECS")]
    pub query_timeout: Option<f64>,
    /// Queries that may run at once; more wait briefly, then get HTTP 429.
    #[arg(long, value_name = "N")]
    pub max_concurrent_queries: Option<usize>,
    /// Memory one query's operators may hold, in MiB.
    #[arg(long, value_name = "MIB")]
    pub query_memory_mb: Option<usize>,
    /// Memory all queries together may hold, in MiB.
    #[arg(long, value_name = "MIB")]
    pub server_memory_mb: Option<usize>,
    /// Most aggregation buckets in one response.
    #[arg(long, value_name = "N")]
    pub max_buckets: Option<usize>,
    /// Largest from + size of a search.
    #[arg(long, value_name = "N")]
    pub max_result_window: Option<usize>,
    /// Largest request body, in bytes.
    #[arg(long, value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,
    /// How often to look for newly ingested data, in seconds.
    #[arg(long, default_value_t = 2.0, value_name = "SECS")]
    pub refresh_secs: f64,
    /// AWS access keys for the LookupEvents API (SigV4): one `ACCESS_KEY_ID SECRET` pair per
    /// line; the file must not be readable by group or others.
    #[arg(long, env = "TRAILSCOPE_ACCESS_KEYS_FILE", value_name = "FILE")]
    pub access_keys: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// Files or folders, or s3://bucket/prefix locations (a one-shot backfill of every object
    /// there; credentials from the standard AWS variables).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Parse threads.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Compressed input per commit: each group of objects of about this size becomes one table
    /// version (bigger groups write fewer, larger files).
    #[arg(long, default_value_t = 32 << 20, value_name = "BYTES")]
    pub commit_bytes: u64,
    /// Largest decompressed size of one object; larger ones are quarantined.
    #[arg(long, default_value_t = 16 << 30)]
    pub max_object_bytes: u64,
    /// Print the run's report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Objects of s3:// inputs fetched at once.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub fetch_concurrency: usize,
    /// Region of s3:// inputs (default: AWS_REGION, AWS_DEFAULT_REGION, then us-east-1).
    #[arg(long)]
    pub region: Option<String>,
    /// An S3-compatible endpoint for s3:// inputs, e.g. http://127.0.0.1:9000
    /// (AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL also work); requests are path-style.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct SqlArgs {
    /// The query, e.g. "SELECT eventname, count(*) FROM cloudtrail GROUP BY 1".
    pub query: String,
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}

#[derive(Debug, clap::Args)]
pub struct FormatArgs {
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}

#[derive(Debug, clap::Args)]
pub struct OptimizeArgs {
    /// Also delete files no longer referenced and older than this many hours.
    #[arg(long, value_name = "HOURS")]
    pub vacuum: Option<u64>,
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Seed of the generator (same seed, same data).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of routine events (a few dozen scenario events are added).
    #[arg(long, default_value_t = 300_000)]
    pub events: u64,
    /// Days of history, ending today.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Where to write the generated files (default: <state-dir>/demo-input).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only generate the files.
    #[arg(long)]
    pub no_ingest: bool,
    /// Ingest, then exit instead of serving.
    #[arg(long)]
    pub no_serve: bool,
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The user's log filter, less delta-rs's warning for every commit another writer won: trailscope
/// handles those races itself (see `Lake::commit`).
fn log_filter(user: &str) -> String {
    if user.contains("deltalake") {
        user.to_string()
    } else {
        format!("{user},deltalake_core::kernel::transaction=error")
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(log_filter(&cli.log)).unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .with_ansi(!no_color)
        .with_target(false)
        .without_time()
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            if let Some(hint) = commands::hint(&e) {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}
