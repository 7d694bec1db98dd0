//! Long-running S3 sources: CloudTrail logs pulled from a bucket as they arrive, each object
//! ingested exactly once, nothing missed.
//!
//! - [`config`]: a source as configured (`[[sources]]` in trailscope.toml), secrets kept secret;
//! - [`layout`]: CloudTrail's key layout, which lets a poll resume with S3's `StartAfter`;
//! - [`state`]: what each poll leaves for the next, per object (never a time watermark);
//! - [`poll`]: one poll of one source: a listing, or (SQS mode) the queue's messages;
//! - [`notification`], [`sqs`]: what the messages say, and the queue's handling;
//! - [`runner`]: a server's sources polled in turn, their status shared with the API.

pub mod config;
pub mod layout;
pub mod notification;
pub mod poll;
pub mod runner;
pub mod sqs;
pub mod state;

pub use config::{Secret, Source, SourceConfig};
pub use poll::{PollOutcome, Poller};
pub use runner::{Registry, Runner, Sink, SourceView};
pub use state::{SourceState, Status};

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum SourceError {
    #[error("source '{source_name}': {message}")]
    Config { source_name: String, message: String },
    #[error("cannot write the source's state at {path}: {source}")]
    State {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the source's state file {path} cannot be read: {message} (move it away to start the source afresh; objects already committed are still skipped)"
    )]
    CorruptState { path: PathBuf, message: String },
    #[error(transparent)]
    Client(#[from] trailscope_s3::S3Error),
    #[error("cannot list {url}: {reason}")]
    List { url: String, reason: String },
    #[error("the queue {url}: {reason}")]
    Queue { url: String, reason: String },
    #[error(transparent)]
    Ingest(#[from] trailscope_ingest::IngestError),
}

impl From<trailscope_lake::LakeError> for SourceError {
    fn from(e: trailscope_lake::LakeError) -> Self {
        SourceError::Ingest(e.into())
    }
}
