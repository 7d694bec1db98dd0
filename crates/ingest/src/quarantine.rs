//! The quarantine list: every object or record that could not be ingested, with the reason.
//!
//! Stored as versioned JSON lines in `<data-dir>/_trailscope/quarantine.jsonl`. Entries are
//! appended and synced *before* the commit that marks their object as done, so a crash can at
//! worst write an entry twice (the object is then processed again); readers drop such
//! duplicates. Nothing is ever lost.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::IngestError;

pub const FORMAT_VERSION: u32 = 1;

/// One quarantined item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Format version of this line.
    pub v: u32,
    /// When it was quarantined (RFC 3339, UTC).
    pub time: String,
    /// The object as the user named it (file path or `s3://bucket/key`).
    pub object: String,
    /// The object's identity in the ledger.
    pub object_id: String,
    /// Record ordinal within the object; absent when the whole object (or its rest) failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// Decompressed byte offset, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    pub reason: String,
}

impl Entry {
    fn key(&self) -> (String, Option<u64>, Option<u64>, String) {
        (self.object_id.clone(), self.index, self.offset, self.reason.clone())
    }
}

#[derive(Debug, Clone)]
pub struct QuarantineLog {
    path: PathBuf,
}

impl QuarantineLog {
    pub fn new(state_dir: &Path) -> Self {
        Self {
            path: state_dir.join("quarantine.jsonl"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends entries and syncs them to disk.
    pub fn append(&self, entries: &[Entry]) -> Result<(), IngestError> {
        if entries.is_empty() {
            return Ok(());
        }
        let io = |source| IngestError::State {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).map_err(io)?;
        }
        let mut out = Vec::new();
        for e in entries {
            // Serialising a plain struct of strings and numbers cannot fail.
            let _ = serde_json::to_writer(&mut out, e);
            out.push(b'\n');
        }
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io)?;
        f.write_all(&out).map_err(io)?;
        f.sync_data().map_err(io)
    }

    /// All entries, oldest first, without the duplicates a crash may leave.
    pub fn read(&self) -> Result<Vec<Entry>, IngestError> {
        let f = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(IngestError::State {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (n, line) in BufReader::new(f).lines().enumerate() {
            let line = line.map_err(|source| IngestError::State {
                path: self.path.clone(),
                source,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let entry: Entry = serde_json::from_str(&line).map_err(|e| IngestError::CorruptState {
                path: self.path.clone(),
                line: n + 1,
                message: e.to_string(),
            })?;
            if seen.insert(entry.key()) {
                out.push(entry);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: Option<u64>) -> Entry {
        Entry {
            v: 1,
            time: "2026-01-01T00:00:00Z".into(),
            object: "a.json".into(),
            object_id: "x".into(),
            index,
            offset: None,
            reason: "bad".into(),
        }
    }

    #[test]
    fn duplicates_from_a_retry_are_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = QuarantineLog::new(dir.path());
        assert!(log.read().expect("empty").is_empty());
        log.append(&[entry(Some(1)), entry(None)]).expect("append");
        log.append(&[entry(Some(1))]).expect("append again");
        assert_eq!(log.read().expect("read"), vec![entry(Some(1)), entry(None)]);
    }

    #[test]
    fn golden_v1_line_parses() {
        let line =
            r#"{"v":1,"time":"2026-01-01T00:00:00Z","object":"a.json","object_id":"x","index":1,"reason":"bad"}"#;
        let e: Entry = serde_json::from_str(line).expect("v1 line");
        assert_eq!(e, entry(Some(1)));
        assert_eq!(serde_json::to_string(&e).expect("serialise"), line);
    }
}
