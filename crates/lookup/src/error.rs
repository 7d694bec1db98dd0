//! Errors, each one of AWS's CloudTrail error codes.

use trailscope_search::SearchError;

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("{0}")]
    InvalidLookupAttributes(String),
    #[error("{0}")]
    InvalidTimeRange(String),
    #[error("{0}")]
    InvalidMaxResults(String),
    #[error("{0}")]
    InvalidNextToken(String),
    #[error("{0}")]
    InvalidEventCategory(String),
    /// The body is not the JSON a LookupEvents request is.
    #[error("{0}")]
    Serialization(String),
    #[error(transparent)]
    Search(#[from] SearchError),
}

impl From<datafusion::error::DataFusionError> for LookupError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        LookupError::Search(SearchError::from(e))
    }
}

impl LookupError {
    /// AWS's `__type` for this error.
    pub fn code(&self) -> &'static str {
        match self {
            LookupError::InvalidLookupAttributes(_) => "InvalidLookupAttributesException",
            LookupError::InvalidTimeRange(_) => "InvalidTimeRangeException",
            LookupError::InvalidMaxResults(_) => "InvalidMaxResultsException",
            LookupError::InvalidNextToken(_) => "InvalidNextTokenException",
            LookupError::InvalidEventCategory(_) => "InvalidEventCategoryException",
            LookupError::Serialization(_) => "SerializationException",
            LookupError::Search(SearchError::Memory(_)) => "ThrottlingException",
            LookupError::Search(_) => "InternalFailure",
        }
    }

    /// The HTTP status AWS answers with.
    pub fn status(&self) -> u16 {
        match self {
            LookupError::Search(SearchError::Memory(_)) => 400,
            LookupError::Search(_) => 500,
            _ => 400,
        }
    }
}
