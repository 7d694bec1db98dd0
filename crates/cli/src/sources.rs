//! `trailscope sources`: the S3 sources of trailscope.toml — their status, one poll of each in
//! the foreground, and retries of what was given up on. `serve` polls them by itself.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::array::{ArrayRef, RecordBatch, StringArray};
use trailscope_ingest::{Counters, IngestConfig, Ingestor, QuarantineLog};
use trailscope_sources::state::{SourceState, retry_request_path, state_path};
use trailscope_sources::{Poller, Sink, Source};

use crate::Cli;
use crate::commands::{enricher, open_lake, print, state_dir};
use crate::config::FileConfig;

#[derive(Debug, Clone, clap::Args)]
pub struct SourcesArgs {
    #[command(subcommand)]
    pub action: Option<SourcesAction>,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum SourcesAction {
    /// Each source's status: last poll, last object, lag, rates, errors (the default).
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: crate::OutputFormat,
    },
    /// Poll the sources once, in the foreground (for cron, or to catch up before serving).
    Poll {
        /// Only these sources (default: all).
        names: Vec<String>,
        /// Compressed input per commit (as for `ingest`).
        #[arg(long, default_value_t = 32 << 20, value_name = "BYTES")]
        commit_bytes: u64,
    },
    /// Poll the sources continuously, as `serve` does, without serving (a worker: several may
    /// consume one SQS queue into one table). Stops on Ctrl-C.
    Run,
    /// Read objects a source gave up on again, on its next poll (by `serve` or `sources poll`).
    Retry {
        name: String,
        /// Only this object key (default: every quarantined object of the source).
        #[arg(long)]
        key: Option<String>,
    },
}

/// Where sources keep their state.
pub fn sources_dir(home: &Path) -> PathBuf {
    state_dir(home).join("sources")
}

/// The validated `[[sources]]` of the config file.
pub fn configured(cli: &Cli) -> Result<Vec<Source>> {
    let file = FileConfig::load(cli.config.as_deref(), &cli.home())?;
    let mut out: Vec<Source> = Vec::new();
    for c in &file.sources {
        let s = c.validate()?;
        if out.iter().any(|o| o.name == s.name) {
            anyhow::bail!("two sources are named '{}' in the config: names must be unique", s.name);
        }
        out.push(s);
    }
    Ok(out)
}

/// The pollers and the table writer `serve` runs its sources with.
pub async fn runner(cli: &Cli) -> Result<Option<trailscope_sources::Runner>> {
    let sources = configured(cli)?;
    if sources.is_empty() {
        return Ok(None);
    }
    let dir = sources_dir(&cli.home());
    let mut pollers = Vec::new();
    for s in sources {
        pollers.push(Poller::new(s, &dir).await?);
    }
    let sink = Sink {
        lake: open_lake(&cli.data_dir).await?,
        enricher: enricher(cli)?,
        quarantine: QuarantineLog::new(&state_dir(&cli.home())),
        config: IngestConfig::default(),
    };
    Ok(Some(trailscope_sources::Runner::new(pollers, sink)))
}

pub async fn run(cli: &Cli, args: &SourcesArgs) -> Result<ExitCode> {
    match &args.action {
        None => list(cli, crate::OutputFormat::Table),
        Some(SourcesAction::List { format }) => list(cli, *format),
        Some(SourcesAction::Poll { names, commit_bytes }) => poll(cli, names, *commit_bytes).await,
        Some(SourcesAction::Retry { name, key }) => retry(cli, name, key.as_deref()),
        Some(SourcesAction::Run) => {
            let Some(runner) = runner(cli).await? else {
                anyhow::bail!("no sources configured: add [[sources]] to trailscope.toml (see docs/s3.md)");
            };
            eprintln!("polling {} sources; Ctrl-C stops", runner.registry().views().len());
            tokio::select! {
                () = runner.run() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn list(cli: &Cli, format: crate::OutputFormat) -> Result<ExitCode> {
    let sources = configured(cli)?;
    if sources.is_empty() {
        eprintln!("no sources configured: add [[sources]] to trailscope.toml (see docs/s3.md)");
        return Ok(ExitCode::SUCCESS);
    }
    let dir = sources_dir(&cli.home());
    let states = sources
        .iter()
        .map(|s| SourceState::load(&state_path(&dir, &s.name)))
        .collect::<Result<Vec<_>, _>>()?;
    if matches!(format, crate::OutputFormat::Json) {
        let views: Vec<_> = sources
            .iter()
            .zip(&states)
            .map(|(s, st)| {
                serde_json::json!({
                    "name": s.name,
                    "settings": s.public_settings(),
                    "status": st.status,
                    "quarantined": st.quarantined,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&views)?);
        return Ok(ExitCode::SUCCESS);
    }
    let col = |f: &dyn Fn(&Source, &SourceState) -> Option<String>| -> ArrayRef {
        Arc::new(StringArray::from(
            sources.iter().zip(&states).map(|(s, st)| f(s, st)).collect::<Vec<_>>(),
        ))
    };
    let batch = RecordBatch::try_from_iter(vec![
        ("source", col(&|s, _| Some(s.name.clone()))),
        ("location", col(&|s, _| Some(s.url.to_string()))),
        ("health", col(&|_, st| Some(st.status.health.clone()))),
        ("last_poll", col(&|_, st| st.status.last_poll.clone())),
        ("last_object", col(&|_, st| st.status.last_object.clone())),
        ("lag_s", col(&|_, st| st.status.lag_seconds.map(|l| format!("{l:.0}")))),
        (
            "objects/min",
            col(&|_, st| Some(format!("{:.1}", st.status.objects_per_minute))),
        ),
        (
            "events/min",
            col(&|_, st| Some(format!("{:.0}", st.status.events_per_minute))),
        ),
        ("objects", col(&|_, st| Some(st.status.totals.objects.to_string()))),
        ("events", col(&|_, st| Some(st.status.totals.events.to_string()))),
        ("failed_polls", col(&|_, st| Some(st.status.totals.errors.to_string()))),
        ("failing", col(&|_, st| Some(st.failing.len().to_string()))),
        ("quarantined", col(&|_, st| Some(st.quarantined.len().to_string()))),
        ("last_error", col(&|_, st| st.status.last_error.clone())),
    ])?;
    print(&[batch], crate::commands::format(format))?;
    Ok(ExitCode::SUCCESS)
}

async fn poll(cli: &Cli, names: &[String], commit_bytes: u64) -> Result<ExitCode> {
    let sources = configured(cli)?;
    for n in names {
        if !sources.iter().any(|s| &s.name == n) {
            anyhow::bail!("no source named '{n}' in the config");
        }
    }
    let dir = sources_dir(&cli.home());
    let mut lake = open_lake(&cli.data_dir).await?;
    let enricher = enricher(cli)?;
    let quarantine = QuarantineLog::new(&state_dir(&cli.home()));
    let mut code = ExitCode::SUCCESS;
    for source in sources
        .into_iter()
        .filter(|s| names.is_empty() || names.contains(&s.name))
    {
        let name = source.name.clone();
        let mut poller = Poller::new(source, &dir).await?;
        let mut ingestor = Ingestor {
            lake: &mut lake,
            enricher: enricher.clone(),
            quarantine: quarantine.clone(),
            config: IngestConfig {
                group_bytes: commit_bytes.max(1),
                ..IngestConfig::default()
            },
            counters: Arc::new(Counters::default()),
        };
        match poller.poll(&mut ingestor).await {
            Ok(o) => {
                let r = &o.report;
                eprintln!(
                    "{name}: {} new objects: {} ingested ({} events), {} already in the table, {} skipped, {} failing, {} quarantined now",
                    o.pending,
                    r.files_ingested,
                    r.events_ingested,
                    r.files_already_ingested + r.files_duplicate,
                    r.files_skipped_not_logs + r.digest_files,
                    o.failed.len(),
                    o.quarantined.len()
                );
                for key in o.failed.iter().chain(&o.quarantined) {
                    if let Some(f) = poller.state().failing.get(key).or(poller.state().quarantined.get(key)) {
                        eprintln!("  cannot read {key} (attempt {}): {}", f.attempts, f.reason);
                    }
                }
                if !o.failed.is_empty() || !o.quarantined.is_empty() {
                    code = ExitCode::FAILURE;
                }
            }
            Err(e) => {
                eprintln!("error: {name}: {e}");
                code = ExitCode::FAILURE;
            }
        }
    }
    Ok(code)
}

fn retry(cli: &Cli, name: &str, key: Option<&str>) -> Result<ExitCode> {
    let sources = configured(cli)?;
    if !sources.iter().any(|s| s.name == name) {
        anyhow::bail!("no source named '{name}' in the config");
    }
    let dir = sources_dir(&cli.home());
    let state = SourceState::load(&state_path(&dir, name))?;
    let n = state
        .quarantined
        .keys()
        .filter(|k| key.is_none_or(|want| want == k.as_str()))
        .count();
    if n == 0 {
        eprintln!(
            "{name} has no quarantined object{}",
            key.map(|k| format!(" {k}")).unwrap_or_default()
        );
        return Ok(ExitCode::FAILURE);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = retry_request_path(&dir, name);
    std::fs::write(&path, key.unwrap_or_default()).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!(
        "{n} objects of {name} will be read again on its next poll (by `trailscope serve`, or now with `trailscope sources poll {name}`)"
    );
    Ok(ExitCode::SUCCESS)
}
