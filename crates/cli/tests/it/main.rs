//! End-to-end tests of the `trailscope` binary on real samples.
//!
//! Tests that need `../shared/data/cloudtrail` (Elastic-licensed files are read there in place)
//! print `SKIPPED:` and return when it is absent; `TRAILSCOPE_SHARED_DATA` overrides the path.

mod bad_input;
mod corpus;
mod crash;
mod geoip;
mod lookup;
mod s3;
mod s3_table;
mod serve;
mod sources;
mod ui;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trailscope"));
    c.env_remove("TRAILSCOPE_DATA_DIR").env("NO_COLOR", "1");
    c
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn fixtures() -> PathBuf {
    repo().join("tests/fixtures")
}

pub fn shared_data() -> Option<PathBuf> {
    let p = std::env::var_os("TRAILSCOPE_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/data/cloudtrail"));
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED: shared CloudTrail corpus not found at {} (set TRAILSCOPE_SHARED_DATA)",
            p.display()
        );
        None
    }
}

/// Runs a script of `tests/python` with `args`; its exit status and everything it printed.
/// Failures say how to install the Python packages the scripts use.
pub fn python(script: &str, args: &[&std::ffi::OsStr]) -> (bool, String) {
    let out = Command::new("python3")
        .arg(repo().join("tests/python").join(script))
        .args(args)
        .output()
        .expect("run python3");
    let report = text(&out);
    let report = if out.status.success() {
        report
    } else {
        format!(
            "{script} failed (exit {:?}; install its packages with `pip install -r tests/python/requirements.txt`):\n{report}",
            out.status.code()
        )
    };
    (out.status.success(), report)
}

/// Everything a finished command printed, stdout then stderr.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs trailscope with `--data-dir data` and `args`.
pub fn run(data: &Path, args: &[&str]) -> Output {
    let out = bin()
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("run trailscope");
    if !matches!(out.status.code(), Some(0 | 3)) {
        panic!(
            "trailscope {args:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// Runs a query and returns its rows as JSON objects.
pub fn sql(data: &Path, query: &str) -> Vec<serde_json::Value> {
    let out = run(data, &["sql", "--format", "json", query]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json row"))
        .collect()
}

pub fn count(data: &Path) -> (u64, u64) {
    let rows = sql(
        data,
        "SELECT count(*) AS n, count(DISTINCT eventid) AS d FROM cloudtrail",
    );
    (rows[0]["n"].as_u64().expect("n"), rows[0]["d"].as_u64().expect("d"))
}
