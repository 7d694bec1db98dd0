//! Finds the objects to ingest under local paths.
//!
//! Folders are walked recursively in name order, which for CloudTrail's layout
//! (`AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/…`, also below an organization id) is time
//! order within each region. Files that are plainly not logs are skipped and counted; digest
//! files (`CloudTrail-Digest/`) are counted as digests. A file named explicitly is always read.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::{ObjectMeta, ObjectStore};
use walkdir::WalkDir;

use crate::error::IngestError;

/// A file to ingest: on local disk, or an object in a store (S3) when `remote` is set. `path`
/// names it in reports and the quarantine list (`s3://bucket/key` for objects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub path: PathBuf,
    pub size: u64,
    pub remote: Option<Remote>,
}

/// An object in an object store, read by the workers through the store.
#[derive(Clone)]
pub struct Remote {
    pub store: Arc<dyn ObjectStore>,
    pub location: object_store::path::Path,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.store, self.location)
    }
}

impl PartialEq for Remote {
    fn eq(&self, other: &Self) -> bool {
        self.location == other.location && self.store.to_string() == other.store.to_string()
    }
}

impl Eq for Remote {}

/// The result of walking the inputs.
#[derive(Debug, Default)]
pub struct Discovery {
    pub candidates: Vec<Candidate>,
    /// Files skipped because their name says they are not logs (README, LICENSE, .mmdb, YAML…).
    pub skipped_not_logs: Vec<PathBuf>,
    /// CloudTrail digest files (integrity proofs, not events).
    pub digest_files: Vec<PathBuf>,
}

/// Whether a file name looks like a log this tool reads.
pub fn looks_like_log(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let base = lower.strip_suffix(".gz").unwrap_or(&lower);
    [".json", ".jsonl", ".ndjson", ".log"]
        .iter()
        .any(|ext| base.ends_with(ext))
        || lower.ends_with(".gz")
}

/// Whether a path is a CloudTrail digest file by its key layout or name.
pub fn is_digest_path(path: &Path) -> bool {
    path.components().any(|c| c.as_os_str() == "CloudTrail-Digest")
        || path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.contains("_CloudTrail-Digest_"))
}

/// The `YYYY/MM/DD` of a CloudTrail key layout path, as a sortable number (`20240131`).
pub fn layout_date(path: &Path) -> Option<u32> {
    let parts: Vec<&str> = path.components().filter_map(|c| c.as_os_str().to_str()).collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    parts.windows(3).rev().find_map(|w| {
        (digits(w[0], 4) && digits(w[1], 2) && digits(w[2], 2))
            .then(|| {
                w[0].parse::<u32>()
                    .ok()
                    .zip(w[1].parse::<u32>().ok())
                    .zip(w[2].parse::<u32>().ok())
            })
            .flatten()
            .map(|((y, m), d)| y * 10_000 + m * 100 + d)
    })
}

pub fn discover(inputs: &[PathBuf]) -> Result<Discovery, IngestError> {
    let mut d = Discovery::default();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|source| IngestError::Walk {
            path: input.clone(),
            source,
        })?;
        if meta.is_file() {
            d.candidates.push(Candidate {
                path: input.clone(),
                size: meta.len(),
                remote: None,
            });
            continue;
        }
        for entry in WalkDir::new(input).follow_links(true).sort_by_file_name() {
            let entry = entry.map_err(|e| IngestError::Walk {
                path: e.path().map_or_else(|| input.clone(), Path::to_path_buf),
                source: e
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("filesystem loop")),
            })?;
            if !entry.file_type().is_file() {
                continue;
            }
            let path = entry.into_path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if is_digest_path(&path) {
                d.digest_files.push(path);
            } else if !looks_like_log(name) || name.starts_with('.') {
                d.skipped_not_logs.push(path);
            } else {
                let size = std::fs::metadata(&path)
                    .map_err(|source| IngestError::Walk {
                        path: path.clone(),
                        source,
                    })?
                    .len();
                d.candidates.push(Candidate {
                    path,
                    size,
                    remote: None,
                });
            }
        }
    }
    d.sort();
    Ok(d)
}

impl Discovery {
    /// Adds the objects a store listed under `url_base` (`s3://bucket`), classified as local
    /// files are: logs, digests, and what is plainly not a log.
    pub fn add_listing(&mut self, store: &Arc<dyn ObjectStore>, url_base: &str, listing: Vec<ObjectMeta>) {
        for meta in listing {
            let path = PathBuf::from(format!("{url_base}/{}", meta.location));
            let name = meta.location.filename().unwrap_or_default();
            if is_digest_path(&path) {
                self.digest_files.push(path);
            } else if !looks_like_log(name) || name.starts_with('.') {
                self.skipped_not_logs.push(path);
            } else {
                self.candidates.push(Candidate {
                    path,
                    size: meta.size,
                    remote: Some(Remote {
                        store: Arc::clone(store),
                        location: meta.location,
                    }),
                });
            }
        }
        self.sort();
    }

    fn sort(&mut self) {
        // Day first, then path: a commit group then covers a few days of every account and
        // region instead of every day of one region, so each worker keeps few Parquet files
        // (one per day partition) open at once. That bounds memory, and the files come out larger.
        self.candidates
            .sort_by(|a, b| (layout_date(&a.path), &a.path).cmp(&(layout_date(&b.path), &b.path)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for yes in [
            "a.json",
            "a.json.gz",
            "x.log",
            "t.jsonl",
            "T.NDJSON",
            "111_CloudTrail_eu-west-1_20200101T0000Z_abc.json.gz",
            "plain.gz",
        ] {
            assert!(looks_like_log(yes), "{yes}");
        }
        for no in [
            "README.md",
            "LICENSE-MIT",
            "GeoLite2-City-Test.mmdb",
            "rule.yml",
            "PROVENANCE.tsv",
            "x.json.txt",
        ] {
            assert!(!looks_like_log(no), "{no}");
        }
        assert!(is_digest_path(Path::new(
            "AWSLogs/1/CloudTrail-Digest/us-east-1/2020/01/01/x.json.gz"
        )));
        assert!(!is_digest_path(Path::new(
            "AWSLogs/1/CloudTrail/us-east-1/2020/01/01/x.json.gz"
        )));
    }
}
