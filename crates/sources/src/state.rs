//! A source's state between polls, one JSON file per source
//! (`<data-dir>/_trailscope/sources/<name>.json`), replaced atomically after every poll.
//!
//! It records objects, never a time watermark: per region folder the last key handled (where the
//! next listing starts) and every object of the recent days by key, size and ETag (what a
//! re-listing of those days is compared with); objects that failed, with their attempts; and
//! objects given up on. Losing the file costs a re-listing, not a duplicate: the table's
//! ledger of object hashes still knows what is committed.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::SourceError;

pub const STATE_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceState {
    pub v: u32,
    /// By folder: a region folder, or the source's own prefix when it has no CloudTrail layout.
    pub streams: BTreeMap<String, StreamState>,
    /// Objects that could not be read, retried on each poll.
    pub failing: BTreeMap<String, Failed>,
    /// Objects that failed `max_attempts` polls: left alone until a retry is asked for.
    pub quarantined: BTreeMap<String, Failed>,
    pub status: Status,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamState {
    /// Whether keys here sort by time (a region folder): then listings start after `after`.
    pub ordered: bool,
    /// The greatest key handled (ingested, skipped, failing or quarantined).
    pub after: Option<String>,
    /// Objects handled, by key. For ordered folders only those of the revisited days are kept.
    pub seen: BTreeMap<String, Mark>,
}

/// How an object looked when it was handled; a change means it was replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failed {
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    pub attempts: u32,
    pub first_failed: String,
    pub last_failed: String,
    pub reason: String,
}

/// What `trailscope sources`, the API and the metrics show.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Status {
    /// `never polled`, `ok`, or `error`.
    pub health: String,
    pub last_poll: Option<String>,
    pub last_success: Option<String>,
    pub last_error: Option<String>,
    /// Failed polls in a row.
    pub consecutive_errors: u32,
    /// The newest object committed, and when.
    pub last_object: Option<String>,
    pub last_commit: Option<String>,
    /// How long the newest committed object waited in S3 (its LastModified to its commit).
    pub lag_seconds: Option<f64>,
    pub objects_per_minute: f64,
    pub events_per_minute: f64,
    pub totals: Totals,
    pub failing_objects: usize,
    pub quarantined_objects: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Totals {
    pub polls: u64,
    pub objects: u64,
    pub events: u64,
    pub bytes: u64,
    pub errors: u64,
}

pub fn state_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.json"))
}

/// A retry request dropped by `trailscope sources retry` for the poller to pick up.
pub fn retry_request_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.retry"))
}

impl SourceState {
    pub fn load(path: &Path) -> Result<Self, SourceError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(SourceState {
                    v: STATE_VERSION,
                    status: Status {
                        health: "never polled".into(),
                        ..Status::default()
                    },
                    ..SourceState::default()
                });
            }
            Err(source) => {
                return Err(SourceError::State {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let state: SourceState = serde_json::from_str(&text).map_err(|e| SourceError::CorruptState {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if state.v != STATE_VERSION {
            return Err(SourceError::CorruptState {
                path: path.to_path_buf(),
                message: format!("format version {} (this trailscope reads {STATE_VERSION})", state.v),
            });
        }
        Ok(state)
    }

    /// Writes a temporary file, syncs it, and renames it over the old state.
    pub fn save(&self, path: &Path) -> Result<(), SourceError> {
        let io = |source| SourceError::State {
            path: path.to_path_buf(),
            source,
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        // Its own temporary file: two consumers of one queue may save at once.
        let tmp = path.with_extension(format!(
            "json.{}.{}.tmp",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| io(std::io::Error::other(e)))?;
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Gives quarantined objects (all, or the one with `key`) their attempts back; they are
    /// read again on the next poll. Returns how many.
    pub fn retry(&mut self, key: Option<&str>) -> usize {
        let keys: Vec<String> = self
            .quarantined
            .keys()
            .filter(|k| key.is_none_or(|want| want == k.as_str()))
            .cloned()
            .collect();
        for k in &keys {
            if let Some(mut f) = self.quarantined.remove(k) {
                f.attempts = 0;
                self.failing.insert(k.clone(), f);
            }
        }
        self.status.failing_objects = self.failing.len();
        self.status.quarantined_objects = self.quarantined.len();
        keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_loads_and_retries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = state_path(dir.path(), "prod");
        let mut s = SourceState::load(&path).expect("absent is empty");
        assert_eq!(s.status.health, "never polled");
        s.quarantined.insert(
            "k1".into(),
            Failed {
                size: 3,
                etag: None,
                attempts: 5,
                first_failed: "t".into(),
                last_failed: "t".into(),
                reason: "500".into(),
            },
        );
        s.save(&path).expect("save");
        let mut back = SourceState::load(&path).expect("load");
        assert_eq!(back.quarantined.len(), 1);
        assert_eq!(back.retry(Some("other")), 0);
        assert_eq!(back.retry(None), 1);
        assert_eq!(back.failing.get("k1").map(|f| f.attempts), Some(0));
        std::fs::write(&path, "{\"v\": 99}").expect("write");
        let e = SourceState::load(&path).expect_err("future version").to_string();
        assert!(e.contains("format version 99"), "{e}");
    }
}
