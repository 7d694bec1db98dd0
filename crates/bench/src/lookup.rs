//! LookupEvents latency and throughput: SigV4-signed requests to a release `trailscope serve`,
//! one per attribute key (first page, then the page after it via `NextToken`), then 8 clients at
//! once; against DuckDB answering the same page questions on the same Parquet files
//! (`scripts/duckdb_lookup.py`), one engine at a time on the same cores.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::Args;
use crate::search::{duckdb_script, percentile, post_with, search_table, start_server};

const KEY_ID: &str = "AKIDBENCHMARK0000001";
const SECRET: &str = "benchmark-secret-not-for-production";
const TARGET: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents";

#[derive(Debug, clap::Args)]
pub struct LookupArgs {
    /// Timed runs per page question (after one warm-up run).
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Concurrent clients for the throughput run.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Length of the throughput run, in seconds.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
}

/// One LookupEvents call, signed as the AWS CLI signs it.
fn call(addr: SocketAddr, body: &Value) -> Result<Value> {
    let bytes = serde_json::to_vec(body)?;
    let amz_date = chrono::Utc::now().format(trailscope_sigv4::AMZ_DATE).to_string();
    let host = addr.to_string();
    let headers = [
        ("content-type", "application/x-amz-json-1.1"),
        ("host", host.as_str()),
        ("x-amz-date", amz_date.as_str()),
        ("x-amz-target", TARGET),
    ];
    let req = trailscope_sigv4::Request {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body: &bytes,
    };
    let auth = trailscope_sigv4::sign(&req, KEY_ID, SECRET, "us-east-1", "cloudtrail")?;
    let mut sent: Vec<(&str, &str)> = headers.iter().filter(|(k, _)| *k != "host").copied().collect();
    sent.push(("authorization", auth.as_str()));
    let (status, resp) = post_with(addr, "/", &bytes, &sent)?;
    if status != 200 {
        bail!("HTTP {status}: {}", String::from_utf8_lossy(&resp));
    }
    Ok(serde_json::from_slice(&resp)?)
}

fn attribute(key: &str, value: &str) -> Value {
    json!({"LookupAttributes": [{"AttributeKey": key, "AttributeValue": value}], "MaxResults": 50})
}

fn sql(addr: SocketAddr, query: &str) -> Result<Vec<Value>> {
    let (status, body) = post_with(addr, "/api/sql", query.as_bytes(), &[("Content-Type", "text/plain")])?;
    if status != 200 {
        bail!("SQL {query}: HTTP {status}: {}", String::from_utf8_lossy(&body));
    }
    let v: Value = serde_json::from_slice(&body)?;
    Ok(v["rows"].as_array().cloned().unwrap_or_default())
}

/// The questions: each attribute key with a value taken from the data (common values from the
/// newest page, an event id from the middle of the range, the rarest event name).
fn questions(addr: SocketAddr, middle_day: &str) -> Result<Vec<(String, String, String)>> {
    let newest = call(addr, &json!({"MaxResults": 50}))?;
    let events = newest["Events"].as_array().cloned().unwrap_or_default();
    let first = |k: &str| {
        events
            .iter()
            .find_map(|e| e[k].as_str().map(str::to_string))
            .with_context(|| format!("no {k} in the newest page"))
    };
    let resource = events
        .iter()
        .find_map(|e| e["Resources"].as_array().and_then(|r| r.first()).cloned())
        .context("no resources in the newest page")?;
    let middle = sql(
        addr,
        &format!(
            "SELECT eventid FROM cloudtrail WHERE eventdate = DATE '{middle_day}' AND eventid IS NOT NULL LIMIT 1"
        ),
    )?;
    let rare = sql(
        addr,
        "SELECT eventname, count(*) AS n FROM cloudtrail GROUP BY 1 ORDER BY n ASC, eventname LIMIT 1",
    )?;
    let text = |rows: &[Value], k: &str| -> Result<String> {
        rows.first()
            .and_then(|r| r[k].as_str())
            .map(str::to_string)
            .with_context(|| format!("no {k}"))
    };
    let q = |label: &str, key: &str, value: String| (label.to_string(), key.to_string(), value);
    Ok(vec![
        q("EventId (mid-range)", "EventId", text(&middle, "eventid")?),
        q("EventName", "EventName", first("EventName")?),
        q("EventName (rarest)", "EventName", text(&rare, "eventname")?),
        q("ReadOnly", "ReadOnly", "false".into()),
        q("Username", "Username", first("Username")?),
        q(
            "ResourceType",
            "ResourceType",
            resource["ResourceType"].as_str().unwrap_or_default().to_string(),
        ),
        q(
            "ResourceName",
            "ResourceName",
            resource["ResourceName"].as_str().unwrap_or_default().to_string(),
        ),
        q("EventSource", "EventSource", "ecs.amazonaws.com".into()),
        q("AccessKeyId", "AccessKeyId", first("AccessKeyId")?),
    ])
}

struct Timing {
    label: String,
    first_p50: f64,
    first_p95: f64,
    next_p50: f64,
    events: usize,
}

fn time_pages(addr: SocketAddr, label: &str, body: &Value, runs: usize) -> Result<Timing> {
    let mut first = Vec::new();
    let mut next = Vec::new();
    let mut events = 0;
    for i in 0..=runs {
        let t = Instant::now();
        let page = call(addr, body).with_context(|| label.to_string())?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        events = page["Events"].as_array().map_or(0, Vec::len);
        let token = page["NextToken"].as_str().map(str::to_string);
        if i > 0 {
            first.push(ms);
        }
        if let Some(token) = token {
            let mut follow = body.clone();
            follow["NextToken"] = json!(token);
            let t = Instant::now();
            call(addr, &follow)?;
            if i > 0 {
                next.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    first.sort_by(f64::total_cmp);
    next.sort_by(f64::total_cmp);
    Ok(Timing {
        label: label.to_string(),
        first_p50: percentile(&first, 50.0),
        first_p95: percentile(&first, 95.0),
        next_p50: percentile(&next, 50.0),
        events,
    })
}

/// `clients` threads asking the questions in turn for `seconds`; requests per second and the
/// latency percentiles.
fn throughput(addr: SocketAddr, bodies: &[Value], clients: usize, seconds: u64) -> Result<(f64, f64, f64, usize)> {
    let stop = Arc::new(AtomicBool::new(false));
    let times = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(Mutex::new(0usize));
    let started = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let (stop, times, errors) = (Arc::clone(&stop), Arc::clone(&times), Arc::clone(&errors));
            let bodies = bodies.to_vec();
            std::thread::spawn(move || {
                let mut i = c;
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    match call(addr, &bodies[i % bodies.len()]) {
                        Ok(_) => {
                            if let Ok(mut v) = times.lock() {
                                v.push(t.elapsed().as_secs_f64() * 1e3);
                            }
                        }
                        Err(_) => {
                            if let Ok(mut e) = errors.lock() {
                                *e += 1;
                            }
                        }
                    }
                    i += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = h.join();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut v = times.lock().map(|v| v.clone()).unwrap_or_default();
    v.sort_by(f64::total_cmp);
    let errors = errors.lock().map(|e| *e).unwrap_or(0);
    Ok((
        v.len() as f64 / elapsed,
        percentile(&v, 50.0),
        percentile(&v, 95.0),
        errors,
    ))
}

pub fn run(args: &Args, l: &LookupArgs) -> Result<()> {
    let (data, table, set) = search_table(args, false)?;
    let keys = args.work_dir.join("bench-access-keys");
    std::fs::write(&keys, format!("{KEY_ID} {SECRET}\n"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600))?;
    }
    let keys_s = keys.to_string_lossy().to_string();
    let (mut child, addr) = start_server(args, &data, &["--access-keys", &keys_s])?;
    let result = (|| -> Result<_> {
        let middle = crate::input_start()? + chrono::Duration::days(i64::from(args.days / 2));
        let qs = questions(addr, &middle.format("%Y-%m-%d").to_string())?;
        let mut timings = Vec::new();
        for (label, key, value) in &qs {
            timings.push(time_pages(addr, label, &attribute(key, value), l.runs)?);
        }
        let bodies: Vec<Value> = qs.iter().map(|(_, k, v)| attribute(k, v)).collect();
        let rate = throughput(addr, &bodies, l.clients, l.seconds)?;
        Ok((qs, timings, rate))
    })();
    let _ = child.kill();
    let _ = child.wait();
    let (qs, timings, (rate, rate_p50, rate_p95, errors)) = result?;

    let spec: Vec<Value> = qs
        .iter()
        .map(|(label, key, value)| json!({"label": label, "key": key, "value": value}))
        .collect();
    let duck = duckdb_script(
        args,
        "duckdb_lookup.py",
        &table,
        &[
            "--runs",
            &l.runs.to_string(),
            "--clients",
            &l.clients.to_string(),
            "--seconds",
            &l.seconds.to_string(),
            "--questions",
            &serde_json::to_string(&spec)?,
        ],
    )?;

    println!(
        "data: {} events over {} days; pages of 50; {} runs per question after a warm-up; DuckDB {} with {} threads",
        set["events"], args.days, l.runs, duck["version"], duck["threads"]
    );
    println!();
    println!(
        "| attribute (value) | trailscope first page p50 ms | p95 ms | next page p50 ms | DuckDB first page p50 ms | DuckDB next page p50 ms | events on page |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (t, (_, _, value)) in timings.iter().zip(&qs) {
        let d = &duck["questions"][&t.label];
        println!(
            "| {} (`{value}`) | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            t.label,
            t.first_p50,
            t.first_p95,
            t.next_p50,
            d["first_p50_ms"].as_f64().unwrap_or(f64::NAN),
            d["next_p50_ms"].as_f64().unwrap_or(f64::NAN),
            t.events
        );
    }
    println!();
    println!(
        "{} concurrent clients for {} s, questions in turn: trailscope {rate:.1} requests/s (p50 {rate_p50:.1} ms, p95 {rate_p95:.1} ms, {errors} errors); DuckDB {:.1} queries/s (p50 {:.1} ms); AWS allows 2 requests/s",
        l.clients,
        l.seconds,
        duck["throughput"]["per_second"].as_f64().unwrap_or(f64::NAN),
        duck["throughput"]["p50_ms"].as_f64().unwrap_or(f64::NAN)
    );
    Ok(())
}
