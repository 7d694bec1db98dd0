//! Writes generated records as CloudTrail delivery files.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use rand::Rng;
use thiserror::Error;

use crate::{GenEvent, Generator, Spec};

#[derive(Debug, Error)]
pub enum SynthError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What [`write_dataset`] produced.
#[derive(Debug, Default, Clone)]
pub struct GeneratedSet {
    pub files: u64,
    pub events: u64,
    /// Uncompressed JSON bytes.
    pub json_bytes: u64,
    /// Bytes on disk (`.json.gz`).
    pub gz_bytes: u64,
}

/// Generates `spec` into `out` (an `AWSLogs/…` tree is created below it).
pub fn write_dataset(
    spec: Spec,
    out: &Path,
    mut progress: impl FnMut(&GeneratedSet),
) -> Result<GeneratedSet, SynthError> {
    let mut generator = Generator::new(spec);
    let mut set = GeneratedSet::default();
    let mut json = Vec::with_capacity(1 << 20);
    while let Some((start, events)) = generator.next_window() {
        let stamp = start + chrono::Duration::minutes(i64::from(generator.spec.file_minutes));
        for group in events.chunk_by(|a, b| (a.account, a.region) == (b.account, b.region)) {
            let first = &group[0];
            let dir = out.join(format!(
                "AWSLogs/{}/CloudTrail/{}/{}",
                first.account,
                first.region,
                first.time.format("%Y/%m/%d")
            ));
            let suffix: String = (0..16)
                .map(|_| {
                    char::from(
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                            [generator.rng.random_range(0..62)],
                    )
                })
                .collect();
            let name = format!(
                "{}_CloudTrail_{}_{}_{suffix}.json.gz",
                first.account,
                first.region,
                stamp.format("%Y%m%dT%H%MZ")
            );
            json.clear();
            records_json(group, &mut json);
            let path = dir.join(name);
            let io = |source| SynthError::Write {
                path: path.clone(),
                source,
            };
            fs::create_dir_all(&dir).map_err(io)?;
            let mut enc = GzEncoder::new(Vec::with_capacity(json.len() / 8), Compression::default());
            enc.write_all(&json).map_err(io)?;
            let gz = enc.finish().map_err(io)?;
            fs::write(&path, &gz).map_err(io)?;
            set.files += 1;
            set.events += group.len() as u64;
            set.json_bytes += json.len() as u64;
            set.gz_bytes += gz.len() as u64;
        }
        progress(&set);
    }
    Ok(set)
}

fn records_json(events: &[GenEvent], out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"Records\":[");
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Writing a Value to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &e.json);
    }
    out.extend_from_slice(b"]}");
}
