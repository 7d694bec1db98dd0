//! One function per subcommand.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use trailscope_cloudtrail::Limits;
use trailscope_enrich::{Enricher, GeoIp};
use trailscope_ingest::{Counters, Discovery, IngestConfig, IngestReport, Ingestor, QuarantineLog};
use trailscope_lake::Lake;
use trailscope_query::Format;

use crate::config::{self, FileConfig};
use crate::datadir::DataDir;
use crate::progress::Progress;
use crate::{Cli, Command, DemoArgs, IngestArgs, OutputFormat, ServeArgs};

/// Exit code of an ingest that quarantined something.
const EXIT_QUARANTINED: u8 = 3;

/// trailscope's own files below the local home (see `--state-dir`).
pub(crate) fn state_dir(home: &Path) -> PathBuf {
    home.join("_trailscope")
}

pub(crate) fn format(f: OutputFormat) -> Format {
    match f {
        OutputFormat::Table => Format::Table,
        OutputFormat::Json => Format::Json,
        OutputFormat::Csv => Format::Csv,
    }
}

pub async fn run(cli: Cli) -> Result<ExitCode> {
    // With the table in S3, local state goes to a folder of the working directory unless one
    // is chosen: a service and a shell in different directories would not share it.
    if let (DataDir::S3(_), None, false) = (
        &cli.data_dir,
        &cli.state_dir,
        matches!(cli.command, Command::HashPassword),
    ) {
        eprintln!(
            "note: local state (quarantine list, sources, saved objects, trailscope.toml) is in {}; choose with --state-dir or TRAILSCOPE_STATE_DIR",
            crate::datadir::DEFAULT_REMOTE_STATE
        );
    }
    match &cli.command {
        Command::Ingest(args) => ingest(&cli, args).await,
        Command::Sql(args) => {
            let lake = cli.data_dir.open_existing().await?;
            let ctx = trailscope_query::session(&lake).await?;
            let batches = trailscope_query::sql(&ctx, &args.query).await?;
            print(&batches, format(args.format))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Stats(args) => stats(&cli.data_dir, format(args.format)).await,
        Command::Quarantine(args) => quarantine(&cli.home(), format(args.format)),
        Command::Optimize(args) => {
            let mut lake = cli.data_dir.open_existing().await?;
            let r = lake.optimize().await?;
            eprintln!(
                "optimize: {} files removed, {} files added, {} partitions",
                r.files_removed, r.files_added, r.partitions_optimized
            );
            if let Some(hours) = args.vacuum {
                if hours < 1 {
                    anyhow::bail!(
                        "--vacuum {hours}: give 1 hour or more; younger files may belong to a commit another writer (serve, sources run, ingest) is about to make"
                    );
                }
                let n = lake.vacuum(Some(hours)).await?;
                eprintln!("vacuum: {n} unreferenced files deleted");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => demo(&cli, args).await,
        Command::Serve(args) => serve(&cli, args).await,
        Command::HashPassword => hash_password(),
        Command::LookupEvents(args) => crate::lookup::run(&cli, args).await,
        Command::S3Check(args) => crate::s3::check(args).await,
        Command::Sources(args) => crate::sources::run(&cli, args).await,
    }
}

fn hash_password() -> Result<ExitCode> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        anyhow::bail!("no password on stdin (try: printf '%s' 'the password' | trailscope hash-password)");
    }
    let hash = trailscope_server::hash_password(password).map_err(|e| anyhow::anyhow!("cannot hash: {e}"))?;
    println!("{hash}");
    Ok(ExitCode::SUCCESS)
}

/// Server settings from flags, then `[server]` in trailscope.toml, then defaults.
fn server_config(cli: &Cli, args: &ServeArgs) -> Result<trailscope_server::Config> {
    let file = FileConfig::load(cli.config.as_deref(), &cli.home())?.server;
    let default_listen: std::net::SocketAddr = trailscope_server::DEFAULT_LISTEN.parse()?;
    let mut limits = trailscope_server::Limits::default();
    let secs = |v: f64, what: &str| -> Result<std::time::Duration> {
        std::time::Duration::try_from_secs_f64(v)
            .map_err(|_| anyhow::anyhow!("{what} must be a positive number of seconds"))
    };
    if let Some(t) = args.query_timeout.or(file.query_timeout_secs) {
        limits.query_timeout = secs(t, "--query-timeout")?;
    }
    if let Some(n) = args.max_concurrent_queries.or(file.max_concurrent_queries) {
        limits.max_concurrent = n.max(1);
    }
    if let Some(mb) = args.query_memory_mb.or(file.query_memory_mb) {
        limits.query_memory = mb << 20;
    }
    if let Some(mb) = args.server_memory_mb.or(file.server_memory_mb) {
        limits.server_memory = mb << 20;
    }
    if let Some(n) = args.max_buckets.or(file.max_buckets) {
        limits.search.max_buckets = n;
    }
    if let Some(n) = args.max_result_window.or(file.max_result_window) {
        limits.search.max_result_window = n;
    }
    if let Some(n) = args.max_body_bytes.or(file.max_body_bytes) {
        limits.max_body_bytes = n;
    }
    let mut tokens = file.api_tokens;
    if let Ok(env) = std::env::var("TRAILSCOPE_API_TOKENS") {
        tokens.extend(
            env.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string),
        );
    }
    if let Some(path) = &args.api_token_file {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        tokens.extend(
            text.lines()
                .map(str::trim)
                .filter(|t| !t.is_empty() && !t.starts_with('#'))
                .map(str::to_string),
        );
    }
    let users = file
        .users
        .into_iter()
        .map(|u| trailscope_server::User {
            name: u.name,
            password_hash: u.password_hash,
        })
        .collect();
    Ok(trailscope_server::Config {
        listen: args.listen.or(file.listen).unwrap_or(default_listen),
        limits,
        auth: trailscope_server::Auth::new(tokens, users)?,
        refresh: secs(args.refresh_secs, "--refresh-secs")?,
        aws: trailscope_server::aws::AwsApi {
            keys: match &args.access_keys {
                Some(path) => trailscope_server::aws::AccessKeys::load(path)?,
                None => trailscope_server::aws::AccessKeys::default(),
            },
            token_key: crate::lookup::token_key(&cli.home())?,
        },
        saved_objects: Some(state_dir(&cli.home()).join("saved-objects")),
        sources: None,
    })
}

async fn serve(cli: &Cli, args: &ServeArgs) -> Result<ExitCode> {
    let mut config = server_config(cli, args)?;
    let lake = open_lake(&cli.data_dir).await?;
    if let Some(runner) = crate::sources::runner(cli).await? {
        config.sources = Some(runner.registry());
        tokio::spawn(runner.run());
    }
    let open = config.auth.is_open();
    trailscope_server::serve(
        config,
        lake,
        |addr| {
            // Printed on stdout so scripts (and tests using port 0) can read the address.
            println!("trailscope serving http://{addr}  (web UI: http://{addr}/, Elasticsearch API: http://{addr}/_elastic)");
            if open {
                eprintln!("note: no authentication configured; listening on loopback only");
            }
            if !trailscope_server::ui_is_built() {
                eprintln!(
                    "note: this binary has no web UI (ui/dist was not built): npm --prefix ui ci && npm --prefix ui run build, then rebuild"
                );
            }
            let _ = std::io::stdout().flush();
        },
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// A hint the user can act on, for errors we recognise.
pub fn hint(e: &anyhow::Error) -> Option<String> {
    if let Some(trailscope_query::QueryError::Plan(_)) = e.downcast_ref() {
        return Some("the table is `cloudtrail`; list its columns with: trailscope sql \"DESCRIBE cloudtrail\"".into());
    }
    if e.downcast_ref::<trailscope_enrich::GeoIpError>().is_some() {
        return Some("pass a GeoLite2/GeoIP2/DB-IP City .mmdb with --geoip-db and an ASN .mmdb with --asn-db".into());
    }
    if e.downcast_ref::<trailscope_lake::LakeError>().is_some()
        && matches!(
            crate::datadir::s3_failure(e.as_ref()),
            Some(trailscope_s3::Failure::Denied)
        )
    {
        return Some("a table in S3 needs s3:ListBucket on its prefix and s3:GetObject and s3:PutObject on its objects (see docs/s3.md, \"The table in S3\")".into());
    }
    None
}

pub(crate) async fn open_lake(data_dir: &DataDir) -> Result<Lake> {
    data_dir.open().await
}

pub(crate) fn print(batches: &[RecordBatch], f: Format) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    trailscope_query::write(batches, f, &mut out)?;
    out.flush()?;
    Ok(())
}

/// Opens the GeoIP databases from flags, the config file, or the default locations.
pub(crate) fn enricher(cli: &Cli) -> Result<Enricher> {
    if cli.no_geoip {
        return Ok(Enricher::new(None));
    }
    let file = FileConfig::load(cli.config.as_deref(), &cli.home())?;
    let mut cities = if cli.geoip_db.is_empty() {
        file.geoip_db
    } else {
        cli.geoip_db.clone()
    };
    let mut asn = cli.asn_db.clone().or(file.asn_db);
    if cities.is_empty() {
        cities = config::default_city_dbs(&cli.home());
    }
    if asn.is_none() {
        asn = config::default_asn_db(&cli.home());
    }
    if cities.is_empty() && asn.is_none() {
        eprintln!("note: no GeoIP database found, events get no geoip fields (see README: GeoIP)");
        return Ok(Enricher::new(None));
    }
    let geo = GeoIp::open(&cities, asn.as_deref())?;
    eprintln!("geoip: {}", geo.describe());
    if geo.uses_dbip_lite() {
        eprintln!("geoip: IP geolocation by DB-IP (https://db-ip.com), licensed CC BY 4.0");
    }
    Ok(Enricher::new(Some(geo)))
}

async fn ingest(cli: &Cli, args: &IngestArgs) -> Result<ExitCode> {
    let enricher = enricher(cli)?;
    let config = IngestConfig {
        limits: Limits {
            max_object_bytes: args.max_object_bytes,
            ..Limits::default()
        },
        workers: args.workers.max(1),
        group_bytes: args.commit_bytes.max(1),
        fetch_concurrency: args.fetch_concurrency.max(1),
        ..IngestConfig::default()
    };
    let s3 = trailscope_s3::Connection {
        region: args.region.clone(),
        endpoint: args.endpoint_url.clone(),
        ..Default::default()
    };
    let report = run_ingest_from(&cli.data_dir, &cli.home(), enricher, config, &args.paths, &s3).await?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(finish_ingest(&report))
}

async fn run_ingest(
    data_dir: &DataDir,
    home: &Path,
    enricher: Enricher,
    config: IngestConfig,
    paths: &[PathBuf],
) -> Result<IngestReport> {
    run_ingest_from(
        data_dir,
        home,
        enricher,
        config,
        paths,
        &trailscope_s3::Connection::default(),
    )
    .await
}

/// Finds what `inputs` name: local files and folders, and `s3://bucket/prefix` locations
/// (listed through `s3`).
async fn discover_inputs(inputs: &[PathBuf], s3: &trailscope_s3::Connection) -> Result<Discovery> {
    let (remote, local): (Vec<&PathBuf>, Vec<&PathBuf>) = inputs
        .iter()
        .partition(|p| p.to_str().is_some_and(|s| s.starts_with("s3://")));
    let local: Vec<PathBuf> = local.into_iter().cloned().collect();
    let mut found = if local.is_empty() {
        Discovery::default()
    } else {
        trailscope_ingest::discover(&local)?
    };
    for input in remote {
        let url = trailscope_s3::S3Url::parse(&input.to_string_lossy())?;
        let store: Arc<dyn object_store::ObjectStore> = Arc::new(s3.store(&url.bucket).await?);
        let listing = trailscope_s3::list(store.as_ref(), &url).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot list {url}: {}",
                trailscope_s3::explain_error(&e, &url, "ListBucket", None)
            )
        })?;
        found.add_listing(&store, &format!("s3://{}", url.bucket), listing);
    }
    Ok(found)
}

async fn run_ingest_from(
    data_dir: &DataDir,
    home: &Path,
    enricher: Enricher,
    config: IngestConfig,
    paths: &[PathBuf],
    s3: &trailscope_s3::Connection,
) -> Result<IngestReport> {
    let found = discover_inputs(paths, s3).await?;
    let mut lake = open_lake(data_dir).await?;
    let counters = Arc::new(Counters::default());
    let progress = Progress::start(Arc::clone(&counters));
    let mut ingestor = Ingestor {
        lake: &mut lake,
        enricher,
        quarantine: QuarantineLog::new(&state_dir(home)),
        config,
        counters,
    };
    let result = ingestor.ingest(found).await;
    progress.finish();
    Ok(result?)
}

/// Why an object could not be fetched, in the access check's words when it is an S3 object.
fn explain_fetch(failure: &trailscope_ingest::FetchFailure) -> String {
    let name = failure.object.to_string_lossy().to_string();
    match trailscope_s3::S3Url::parse(&name) {
        Ok(url) => {
            let key = url.prefix.clone();
            trailscope_s3::explain_error(&failure.error, &url, "GetObject", Some(&key))
        }
        Err(_) => failure.error.to_string(),
    }
}

fn finish_ingest(r: &IngestReport) -> ExitCode {
    let secs = r.seconds.max(1e-6);
    eprintln!(
        "ingested {} events from {} files in {:.1}s ({:.0} events/s, {:.1} MB/s of JSON)",
        r.events_ingested,
        r.files_ingested,
        r.seconds,
        r.events_ingested as f64 / secs,
        r.json_bytes as f64 / 1e6 / secs
    );
    eprintln!(
        "  files: {} seen, {} already ingested, {} duplicates, {} quarantined; {} skipped (not logs), {} digest files",
        r.files_seen,
        r.files_already_ingested,
        r.files_duplicate,
        r.files_quarantined,
        r.files_skipped_not_logs,
        r.digest_files
    );
    eprintln!(
        "  records: {} quarantined, {} digest records; {} commits, table version {}",
        r.records_quarantined,
        r.digest_records,
        r.commits,
        r.table_version.map_or("-".to_string(), |v| v.to_string())
    );
    // Objects the store would not give are not quarantined (they are fine, the access or the
    // network is not): a rerun reads them, so the run fails and says so.
    const SHOWN: usize = 5;
    for f in r.fetch_failures.iter().take(SHOWN) {
        eprintln!("error: cannot read {}: {}", f.object.display(), explain_fetch(f));
    }
    if r.fetch_failures.len() > SHOWN {
        eprintln!(
            "error: … and {} more objects could not be read",
            r.fetch_failures.len() - SHOWN
        );
    }
    if !r.fetch_failures.is_empty() {
        eprintln!(
            "{} objects could not be read and nothing of them was committed; everything else was. Run the ingest again to retry them (objects already committed are skipped)",
            r.fetch_failures.len()
        );
        ExitCode::FAILURE
    } else if r.has_quarantine() {
        eprintln!("hint: see what was quarantined and why with: trailscope quarantine");
        ExitCode::from(EXIT_QUARANTINED)
    } else {
        ExitCode::SUCCESS
    }
}

async fn stats(data_dir: &DataDir, f: Format) -> Result<ExitCode> {
    let lake = data_dir.open_existing().await?;
    let t = lake.table_stats()?;
    let ctx = trailscope_query::session(&lake).await?;
    let overview = trailscope_query::sql(
        &ctx,
        "SELECT count(*) AS events, min(eventtime) AS first_event, max(eventtime) AS last_event, count(DISTINCT sourceobjectid) AS objects FROM cloudtrail",
    )
    .await?;
    let meta = RecordBatch::try_from_iter(vec![
        (
            "table_version",
            Arc::new(UInt64Array::from(vec![t.version.unwrap_or(0)])) as ArrayRef,
        ),
        ("parquet_files", Arc::new(UInt64Array::from(vec![t.files])) as ArrayRef),
        ("bytes_on_disk", Arc::new(UInt64Array::from(vec![t.bytes])) as ArrayRef),
        (
            "partitions",
            Arc::new(UInt64Array::from(vec![t.partitions])) as ArrayRef,
        ),
        (
            "location",
            Arc::new(StringArray::from(vec![lake.location().to_string()])) as ArrayRef,
        ),
    ])?;
    print(&[meta], f)?;
    print(&overview, f)?;
    let by_source = trailscope_query::sql(
        &ctx,
        "SELECT eventsource, count(*) AS events FROM cloudtrail GROUP BY eventsource ORDER BY events DESC, eventsource",
    )
    .await?;
    print(&by_source, f)?;
    Ok(ExitCode::SUCCESS)
}

fn quarantine(home: &Path, f: Format) -> Result<ExitCode> {
    let log = QuarantineLog::new(&state_dir(home));
    let entries = log.read()?;
    if entries.is_empty() {
        eprintln!("nothing is quarantined");
        return Ok(ExitCode::SUCCESS);
    }
    let col = |v: Vec<Option<String>>| Arc::new(StringArray::from(v)) as ArrayRef;
    let batch = RecordBatch::try_from_iter(vec![
        ("time", col(entries.iter().map(|e| Some(e.time.clone())).collect())),
        ("object", col(entries.iter().map(|e| Some(e.object.clone())).collect())),
        (
            "record",
            col(entries.iter().map(|e| e.index.map(|i| i.to_string())).collect()),
        ),
        (
            "byte_offset",
            col(entries.iter().map(|e| e.offset.map(|i| i.to_string())).collect()),
        ),
        ("reason", col(entries.iter().map(|e| Some(e.reason.clone())).collect())),
    ])?;
    print(&[batch], f)?;
    Ok(ExitCode::SUCCESS)
}

async fn demo(cli: &Cli, args: &DemoArgs) -> Result<ExitCode> {
    let out = args.out.clone().unwrap_or_else(|| cli.home().join("demo-input"));
    let spec = trailscope_synth::Spec::ending_today(args.seed, args.events, args.days);
    eprintln!(
        "generating {} events over {} days into {}",
        args.events,
        args.days,
        out.display()
    );
    let set = trailscope_synth::write_dataset(spec, &out, |_| {})
        .with_context(|| format!("cannot generate the demo data in {}", out.display()))?;
    eprintln!(
        "generated {} events in {} files ({:.1} MB JSON, {:.1} MB gzip)",
        set.events,
        set.files,
        set.json_bytes as f64 / 1e6,
        set.gz_bytes as f64 / 1e6
    );
    if args.no_ingest {
        return Ok(ExitCode::SUCCESS);
    }
    let enricher = enricher(cli)?;
    let report = run_ingest(
        &cli.data_dir,
        &cli.home(),
        enricher,
        IngestConfig::default(),
        std::slice::from_ref(&out),
    )
    .await?;
    let code = finish_ingest(&report);
    eprintln!(
        "try: trailscope --data-dir {} sql \"SELECT eventname, count(*) AS n FROM cloudtrail WHERE eventsource = 'ecs.amazonaws.com' GROUP BY 1 ORDER BY n DESC LIMIT 10\"",
        cli.data_dir
    );
    if args.no_serve {
        return Ok(code);
    }
    serve(cli, &args.serve).await
}
