//! Integration tests of parsing + enrichment against real CloudTrail samples.
//!
//! The Elastic samples are Elastic-licensed and are read in place from `../shared/data/`
//! (`TRAILSCOPE_SHARED_DATA` overrides the location); tests say so and pass vacuously-but-loudly
//! when that directory is absent.

mod elastic_golden;
mod geoip_dbs;

use std::path::PathBuf;

/// `shared/data/cloudtrail` beside the repository, if present.
pub fn shared_data() -> Option<PathBuf> {
    let p = std::env::var_os("TRAILSCOPE_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/cloudtrail"));
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
