//! Ingest: find CloudTrail objects, parse and enrich them, and commit them to the lake exactly
//! once. See `design.md` beside this crate for the exactly-once argument.
//!
//! ```text
//! discover ─► groups of objects ─► workers (read, hash, parse, enrich) ─► writer (Parquet) ─► commit
//!                                        └─► quarantine log (before the commit)
//! ```

mod discover;
mod error;
mod pipeline;
pub mod quarantine;
mod worker;

pub use discover::{Candidate, Discovery, Remote, discover, is_digest_path, looks_like_log};
pub use error::IngestError;
pub use pipeline::{Counters, FetchFailure, IngestConfig, IngestReport, Ingestor};
pub use quarantine::{Entry as QuarantineEntry, QuarantineLog};
