use datafusion::error::DataFusionError;
use thiserror::Error;

use crate::fields::UnknownField;

/// Why a search could not be answered. Each kind maps to an Elasticsearch error type and HTTP
/// status (see [`SearchError::es_type`] and [`SearchError::status`]).
#[derive(Debug, Error)]
pub enum SearchError {
    /// The query-bar text does not parse; the message says where and what was expected.
    #[error("cannot parse query [{query}]: {error}")]
    Syntax {
        query: String,
        error: trailscope_kql::ParseError,
    },
    #[error("{0}")]
    UnknownField(UnknownField),
    /// A value that does not fit its field (`sourceindex:abc`, a malformed date).
    #[error("field '{field}': {message}")]
    BadValue { field: String, message: String },
    /// A request the API does not understand or support; says which part.
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    TooManyBuckets(String),
    /// The query hit the per-query or server memory limit.
    #[error("query needs more memory than allowed: {0}")]
    Memory(String),
    #[error("query failed: {0}")]
    Execution(DataFusionError),
}

impl SearchError {
    /// The Elasticsearch error `type` clients see.
    pub fn es_type(&self) -> &'static str {
        match self {
            SearchError::Syntax { .. } => "parse_exception",
            SearchError::UnknownField(_) | SearchError::BadValue { .. } => "query_shard_exception",
            SearchError::BadRequest(_) => "parsing_exception",
            SearchError::TooManyBuckets(_) => "too_many_buckets_exception",
            SearchError::Memory(_) => "circuit_breaking_exception",
            SearchError::Execution(_) => "search_phase_execution_exception",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            SearchError::Memory(_) => 429,
            SearchError::Execution(_) => 500,
            _ => 400,
        }
    }
}

impl From<DataFusionError> for SearchError {
    fn from(e: DataFusionError) -> Self {
        match e.find_root() {
            DataFusionError::ResourcesExhausted(m) => SearchError::Memory(m.clone()),
            DataFusionError::Plan(m) | DataFusionError::SQL(_, Some(m)) => SearchError::BadRequest(m.clone()),
            DataFusionError::SchemaError(e, _) => SearchError::BadRequest(e.to_string()),
            _ => SearchError::Execution(e),
        }
    }
}

impl From<UnknownField> for SearchError {
    fn from(e: UnknownField) -> Self {
        SearchError::UnknownField(e)
    }
}

impl From<arrow::error::ArrowError> for SearchError {
    fn from(e: arrow::error::ArrowError) -> Self {
        SearchError::Execution(e.into())
    }
}
