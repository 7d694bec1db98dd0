//! Errors that stop an ingest run (as opposed to bad input, which is quarantined).

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum IngestError {
    #[error("cannot read {path}: {source}")]
    Walk {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot read {path}: {source}; nothing of it was committed: run the ingest again to retry (objects already committed are skipped)"
    )]
    Fetch {
        path: PathBuf,
        #[source]
        source: object_store::Error,
    },
    #[error("cannot write ingest state at {path}: {source}")]
    State {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("ingest state file {path} is corrupt at line {line}: {message}")]
    CorruptState {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(transparent)]
    Lake(Box<trailscope_lake::LakeError>),
    #[error("building a batch failed: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("a pipeline worker stopped unexpectedly: {0}")]
    Worker(String),
}

impl From<trailscope_lake::LakeError> for IngestError {
    fn from(e: trailscope_lake::LakeError) -> Self {
        // Boxed: Delta's errors are large and would make every Result in the pipeline large.
        IngestError::Lake(Box::new(e))
    }
}
