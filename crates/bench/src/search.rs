//! Search latency: the Discover request and the usual aggregations, sent over HTTP to a release
//! `trailscope serve`, against the same questions asked of DuckDB on the same Parquet files
//! (`scripts/duckdb_search.py`), one engine at a time on the same cores.
//!
//! Our timings are client-side (HTTP, JSON rendering and parsing included); DuckDB's are of the
//! queries in-process. Each query runs once to warm up, then `--runs` times; p50 and p95 are
//! reported.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::{Args, ensure_input, ingest, input_start};

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// Timed runs per query (after one warm-up run).
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// The free-text word.
    #[arg(long, default_value = "denied")]
    word: String,
    /// Re-ingest even when the table for this input exists.
    #[arg(long)]
    reingest: bool,
}

/// The benchmark's questions as Elasticsearch requests, restricted to `[start, end)`.
fn requests(start: &str, end: &str, word: &str) -> Vec<(&'static str, Value)> {
    let range = json!({"range": {"eventtime": {"gte": start, "lt": end}}});
    let within = |q: Value| json!({"bool": {"filter": [q, range.clone()]}});
    vec![
        (
            "discover",
            json!({
                "size": 100, "sort": [{"eventtime": "desc"}], "track_total_hits": true,
                "query": within(json!({"query_string": {"query": "eventsource:ecs.amazonaws.com"}})),
                "aggs": {"per_hour": {"date_histogram": {"field": "eventtime", "fixed_interval": "1h", "min_doc_count": 1}}}
            }),
        ),
        (
            "top5_ip",
            json!({"size": 0, "track_total_hits": false, "query": range.clone(),
                   "aggs": {"a": {"terms": {"field": "sourceipaddress", "size": 5}}}}),
        ),
        (
            "top10_eventname",
            json!({"size": 0, "track_total_hits": false, "query": range.clone(),
                   "aggs": {"a": {"terms": {"field": "eventname", "size": 10}}}}),
        ),
        (
            "cardinality_arn",
            json!({"size": 0, "track_total_hits": false, "query": range.clone(),
                   "aggs": {"a": {"cardinality": {"field": "useridentity.arn"}}}}),
        ),
        (
            "geotile",
            json!({"size": 0, "track_total_hits": false, "query": range.clone(),
                   "aggs": {"a": {"geotile_grid": {"field": "geoip.location", "precision": 4},
                                  "aggs": {"c": {"geo_centroid": {"field": "geoip.location"}}}}}}),
        ),
        (
            "freetext",
            json!({"size": 100, "sort": [{"eventtime": "desc"}], "track_total_hits": true,
                   "query": within(json!({"query_string": {"query": word}}))}),
        ),
    ]
}

fn post(addr: SocketAddr, path: &str, body: &[u8]) -> Result<(u16, Vec<u8>)> {
    post_with(addr, path, body, &[("Content-Type", "application/json")])
}

/// One `Connection: close` POST with `headers` (besides Host and Content-Length).
pub(crate) fn post_with(addr: SocketAddr, path: &str, body: &[u8], headers: &[(&str, &str)]) -> Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(addr)?;
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 256 << 10];
    loop {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no HTTP header end")?;
    let status = String::from_utf8_lossy(&raw[..split])
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, raw[split + 4..].to_vec()))
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// The table the search and lookup benchmarks read (ingested once, with GeoIP when given).
pub(crate) fn search_table(args: &Args, reingest: bool) -> Result<(std::path::PathBuf, std::path::PathBuf, Value)> {
    let (input, set) = ensure_input(args)?;
    let data = args
        .work_dir
        .join(format!("search-data-{}-{}-{}", args.events, args.seed, args.days));
    let table = data.join("cloudtrail");
    if reingest || !table.join("_delta_log").is_dir() {
        let _ = std::fs::remove_dir_all(&data);
        if args.geoip_db.is_none() {
            eprintln!("note: no --geoip-db: the geotile query will find no points");
        }
        ingest(args, &input, &data)?;
    }
    Ok((data, table, set))
}

/// One search of the server's events: the response body, or (the server stopped) an error
/// naming the question and carrying the server's answer.
fn search(server: &mut std::process::Child, addr: SocketAddr, name: &str, body: &[u8]) -> Result<Vec<u8>> {
    let (status, resp) = post(addr, "/_elastic/cloudtrail/_search", body)?;
    if status != 200 {
        let _ = server.kill();
        bail!("{name}: HTTP {status}: {}", String::from_utf8_lossy(&resp));
    }
    Ok(resp)
}

/// A release `trailscope serve` on a free loopback port, and its address.
pub(crate) fn start_server(args: &Args, data: &Path, extra: &[&str]) -> Result<(std::process::Child, SocketAddr)> {
    let mut child = Command::new(&args.trailscope)
        .arg("--data-dir")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0", "--query-timeout", "300"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start trailscope serve")?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    let addr: SocketAddr = line
        .split("http://")
        .nth(1)
        .and_then(|x| x.split_whitespace().next())
        .and_then(|x| x.parse().ok())
        .with_context(|| format!("no address in {line:?}"))?;
    Ok((child, addr))
}

/// Runs `scripts/<script> TABLE ARGS…` (the DuckDB side of a benchmark) and reads the JSON
/// object it prints.
pub(crate) fn duckdb_script(args: &Args, script: &str, table: &Path, script_args: &[&str]) -> Result<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts").join(script);
    let out = Command::new(&args.python)
        .arg(&path)
        .arg(table)
        .args(script_args)
        .output()
        .with_context(|| format!("cannot run {}", path.display()))?;
    if !out.status.success() {
        bail!("{script} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    serde_json::from_slice(&out.stdout).with_context(|| format!("{script} printed no JSON object"))
}

pub fn run(args: &Args, s: &SearchArgs) -> Result<()> {
    let (data, table, set) = search_table(args, s.reingest)?;
    let start = input_start()?;
    let end = start + chrono::Duration::days(i64::from(args.days));
    let (start_s, end_s) = (
        start.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        end.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    );

    // trailscope: a release server, queried over HTTP.
    let (mut child, addr) = start_server(args, &data, &[])?;
    // Every question once before any is timed: a server just started grows its heap and fills
    // its footer cache on the first questions, which made the first one timed (Discover) vary
    // from 128 to 176 ms between runs at 10M events. The DuckDB side does the same.
    let questions = requests(&start_s, &end_s, &s.word)
        .into_iter()
        .map(|(name, body)| Ok((name, serde_json::to_vec(&body)?)))
        .collect::<Result<Vec<_>>>()?;
    for (name, bytes) in &questions {
        search(&mut child, addr, name, bytes)?;
    }
    let mut ours = Vec::new();
    for (name, bytes) in questions {
        let mut times = Vec::new();
        let mut summary = String::new();
        for i in 0..=s.runs {
            let t = Instant::now();
            let resp = search(&mut child, addr, name, &bytes)?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if i == 0 {
                let v: Value = serde_json::from_slice(&resp)?;
                let hits = v["hits"]["hits"].as_array().map_or(0, Vec::len);
                let total = &v["hits"]["total"]["value"];
                let buckets = v["aggregations"]["a"]["buckets"]
                    .as_array()
                    .or_else(|| v["aggregations"]["per_hour"]["buckets"].as_array())
                    .map_or(0, Vec::len);
                let value = &v["aggregations"]["a"]["value"];
                summary = format!("hits {hits}, total {total}, buckets {buckets}, value {value}");
            } else {
                times.push(ms);
            }
        }
        times.sort_by(f64::total_cmp);
        ours.push((name, percentile(&times, 50.0), percentile(&times, 95.0), summary));
    }
    let _ = child.kill();
    let _ = child.wait();

    // DuckDB on the same files.
    let duck = duckdb_script(
        args,
        "duckdb_search.py",
        &table,
        &[
            "--runs",
            &s.runs.to_string(),
            "--start",
            &start_s,
            "--end",
            &end_s,
            "--word",
            &s.word,
        ],
    )?;

    println!(
        "data: {} events over {} days ({start_s} .. {end_s}); {} runs per query after a warm-up pass over all and one more run each; DuckDB {} with {} threads",
        set["events"], args.days, s.runs, duck["version"], duck["threads"]
    );
    println!();
    println!("| query | trailscope p50 ms | trailscope p95 ms | DuckDB p50 ms | DuckDB p95 ms | trailscope answer |");
    println!("|---|---|---|---|---|---|");
    for (name, p50, p95, summary) in &ours {
        let d = &duck["queries"][*name];
        println!(
            "| {name} | {p50:.1} | {p95:.1} | {:.1} | {:.1} | {summary} |",
            d["p50_ms"].as_f64().unwrap_or(f64::NAN),
            d["p95_ms"].as_f64().unwrap_or(f64::NAN)
        );
    }
    Ok(())
}
