//! End-to-end benchmarks of trailscope against DuckDB on the same generated CloudTrail data.
//!
//! ```text
//! cargo build --release -p trailscope -p trailscope-bench
//! target/release/trailscope-bench --events 1000000            # ingest
//! target/release/trailscope-bench --events 1000000 search     # search latency (see search.rs)
//! ```
//! Ingest: each side runs as its own child process, measured by a wrapper (`measure`) that reports
//! wall time, CPU time and peak RSS of exactly that child (getrusage of its only child).

mod lookup;
mod s3;
mod search;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use serde::{Deserialize, Serialize};

#[derive(Debug, Parser)]
struct Args {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    /// Routine events to generate.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Days the events span.
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Working directory (input files are reused when present).
    #[arg(long, default_value = "target/bench-ingest")]
    work_dir: PathBuf,
    /// The trailscope binary to measure.
    #[arg(long, default_value = "target/release/trailscope")]
    trailscope: PathBuf,
    /// Python with duckdb installed (`pip install duckdb`).
    #[arg(long, default_value = "python3")]
    python: String,
    /// GeoIP City database to enrich with (as a user would).
    #[arg(long)]
    geoip_db: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Search latency: `trailscope serve` over HTTP vs DuckDB on the table's Parquet files.
    Search(search::SearchArgs),
    /// LookupEvents latency per attribute key and with concurrent clients, vs DuckDB.
    Lookup(lookup::LookupArgs),
    /// S3 backfill speed (objects/s, events/s) from a local S3 server, beside local disk.
    S3(s3::S3Args),
    /// Runs a command and prints its resource usage as JSON (used internally).
    Measure {
        #[arg(trailing_var_arg = true, required = true)]
        command: Vec<String>,
    },
}

#[derive(Debug, Serialize, Deserialize)]
struct Usage {
    wall_s: f64,
    cpu_s: f64,
    max_rss_mib: f64,
    status: i32,
}

fn measure(command: &[String]) -> Result<()> {
    let started = Instant::now();
    let status = Command::new(&command[0])
        .args(&command[1..])
        .status()
        .with_context(|| format!("cannot run {}", command[0]))?;
    let wall_s = started.elapsed().as_secs_f64();
    let ru = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)?;
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    let usage = Usage {
        wall_s,
        cpu_s: secs(ru.user_time()) + secs(ru.system_time()),
        max_rss_mib: ru.max_rss() as f64 / 1024.0,
        status: status.code().unwrap_or(-1),
    };
    println!("{}", serde_json::to_string(&usage)?);
    Ok(())
}

/// `trailscope --data-dir DATA [--geoip-db …] ingest INPUT`, measured.
fn ingest(args: &Args, input: &Path, data: &Path) -> Result<Usage> {
    let ts = args.trailscope.to_string_lossy().to_string();
    let data_s = data.to_string_lossy().to_string();
    let input_s = input.to_string_lossy().to_string();
    let mut cmd = vec![ts.as_str(), "--data-dir", data_s.as_str()];
    let geo = args.geoip_db.as_ref().map(|p| p.to_string_lossy().to_string());
    cmd.extend(geoip_args(geo.as_deref()));
    cmd.extend(["ingest", input_s.as_str()]);
    eprintln!("ingesting: {}", cmd.join(" "));
    measured(&cmd)
}

/// GeoIP exactly as asked: the given database, or none. Without `--no-geoip`, trailscope would
/// find DB-IP Lite in `ui/node_modules` by itself and the "no GeoIP" figures would include it.
fn geoip_args(db: Option<&str>) -> Vec<&str> {
    match db {
        Some(g) => vec!["--geoip-db", g],
        None => vec!["--no-geoip"],
    }
}

fn measured(cmd: &[&str]) -> Result<Usage> {
    measured_with(cmd, &[])
}

/// [`measured`] with extra environment variables for the command.
fn measured_with(cmd: &[&str], env: &[(&str, &str)]) -> Result<Usage> {
    let me = std::env::current_exe()?;
    let out = Command::new(me)
        .arg("measure")
        .args(cmd)
        .envs(env.iter().copied())
        .output()?;
    if !out.status.success() {
        bail!("measure wrapper failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap_or_default();
    let usage: Usage = serde_json::from_str(last).with_context(|| format!("bad measure output: {text}"))?;
    if usage.status != 0 && usage.status != 3 {
        bail!(
            "{:?} exited with {}: {}",
            cmd,
            usage.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(usage)
}

/// DuckDB's fast ingest of `input` into `parquet` (`scripts/duckdb_ingest.py`), measured.
fn duckdb_ingest(args: &Args, input: &Path, parquet: &Path) -> Result<Usage> {
    let _ = std::fs::remove_file(parquet);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/duckdb_ingest.py");
    let (script_s, input_s, parquet_s) = (
        script.to_string_lossy().to_string(),
        input.to_string_lossy().to_string(),
        parquet.to_string_lossy().to_string(),
    );
    eprintln!("running duckdb");
    measured(&[
        args.python.as_str(),
        script_s.as_str(),
        input_s.as_str(),
        parquet_s.as_str(),
    ])
}

fn dir_bytes(dir: &Path, ext: &str) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(ext) {
                total += e.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    total
}

/// The generated input for `args` (generated once, then reused) and its size figures.
fn ensure_input(args: &Args) -> Result<(PathBuf, serde_json::Value)> {
    let input = args
        .work_dir
        .join(format!("input-{}-{}-{}", args.events, args.seed, args.days));
    // Beside the input, not in it: ingesting it would quarantine it.
    let marker = args
        .work_dir
        .join(format!("input-{}-{}-{}.json", args.events, args.seed, args.days));
    let set: serde_json::Value = if marker.exists() {
        serde_json::from_slice(&std::fs::read(&marker)?)?
    } else {
        eprintln!("generating {} events into {}", args.events, input.display());
        let spec = trailscope_synth::Spec {
            seed: args.seed,
            events: args.events,
            start: input_start()?,
            days: args.days,
            file_minutes: 60,
        };
        let s = trailscope_synth::write_dataset(spec, &input, |_| {})?;
        let v = serde_json::json!({"events": s.events, "files": s.files, "json_bytes": s.json_bytes, "gz_bytes": s.gz_bytes});
        std::fs::write(&marker, serde_json::to_vec(&v)?)?;
        v
    };
    Ok((input, set))
}

/// When the generated events start.
fn input_start() -> Result<chrono::DateTime<chrono::Utc>> {
    Ok(chrono::DateTime::parse_from_rfc3339("2026-10-01T00:00:00Z")?.with_timezone(&chrono::Utc))
}

fn main() -> Result<()> {
    let args = Args::parse();
    match &args.cmd {
        Some(Cmd::Measure { command }) => return measure(command),
        Some(Cmd::Search(s)) => return search::run(&args, s),
        Some(Cmd::Lookup(l)) => return lookup::run(&args, l),
        Some(Cmd::S3(s)) => return s3::run(&args, s),
        None => {}
    }
    let (input, set) = ensure_input(&args)?;
    let events = set["events"].as_u64().unwrap_or(0) as f64;
    let json_mb = set["json_bytes"].as_u64().unwrap_or(0) as f64 / 1e6;
    let gz = set["gz_bytes"].as_u64().unwrap_or(0) as f64;

    let data = args.work_dir.join("trailscope-data");
    let _ = std::fs::remove_dir_all(&data);
    let ours = ingest(&args, &input, &data)?;
    let ours_size = dir_bytes(&data.join("cloudtrail"), ".parquet") as f64;

    let parquet = args.work_dir.join("duckdb.parquet");
    let duck = duckdb_ingest(&args, &input, &parquet)?;
    let duck_size = std::fs::metadata(&parquet).map(|m| m.len()).unwrap_or(0) as f64;

    println!(
        "input: {events:.0} events, {json_mb:.1} MB JSON, {:.1} MB .json.gz, {} files",
        gz / 1e6,
        set["files"]
    );
    println!();
    println!(
        "| engine | wall s | CPU s | events/s (wall) | events per CPU-s | MB/s JSON per core | peak RSS MiB | output / .json.gz |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, u, size) in [("trailscope", &ours, ours_size), ("duckdb", &duck, duck_size)] {
        println!(
            "| {name} | {:.2} | {:.2} | {:.0} | {:.0} | {:.1} | {:.0} | {:.2} |",
            u.wall_s,
            u.cpu_s,
            events / u.wall_s,
            events / u.cpu_s,
            json_mb / u.cpu_s,
            u.max_rss_mib,
            size / gz
        );
    }
    println!();
    println!(
        "trailscope vs duckdb, events/s (wall): {:.2}x",
        duck.wall_s / ours.wall_s
    );
    Ok(())
}
