//! Errors of reading a CloudTrail object and of turning one element into an event.

use thiserror::Error;

/// A failure that stops reading the rest of one object (file or S3 object).
///
/// Every variant says where in the object it happened, so a user can find the bad bytes.
#[derive(Debug, Error)]
pub enum ReadError {
    #[error("read failed after {decompressed_offset} decompressed bytes: {source}")]
    Io {
        decompressed_offset: u64,
        #[source]
        source: std::io::Error,
    },
    #[error("corrupt gzip data at compressed byte {compressed_offset}: {message}")]
    Gzip { compressed_offset: u64, message: String },
    #[error("truncated gzip stream: input ended at compressed byte {compressed_offset} before the end of the stream")]
    TruncatedGzip { compressed_offset: u64 },
    #[error("decompressed size exceeds the cap of {limit} bytes (raise --max-object-bytes to ingest it)")]
    ObjectTooLarge { limit: u64 },
    #[error("JSON element at byte {offset} is larger than the cap of {limit} bytes")]
    ElementTooLarge { offset: u64, limit: usize },
    #[error("invalid JSON at byte {offset}: {message}")]
    Syntax { offset: u64, message: String },
    #[error("file ended inside a JSON value that started at byte {offset}")]
    UnexpectedEof { offset: u64 },
    #[error("file is empty")]
    Empty,
}

/// Why one JSON element of an object did not become an event.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RecordError {
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("missing field {0}")]
    MissingField(&'static str),
    #[error("field {field} has an invalid value {value:?}")]
    InvalidField { field: &'static str, value: String },
    #[error("not a CloudTrail record (no eventTime/eventName); its keys are: {keys}")]
    NotCloudTrail { keys: String },
}
