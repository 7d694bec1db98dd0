//! Errors as Elasticsearch clients expect them: `{"error": {"type", "reason", "root_cause"}, "status"}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use trailscope_search::SearchError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub reason: String,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, reason: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            reason: reason.into(),
        }
    }

    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "parsing_exception", reason)
    }

    pub fn busy(running: usize) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "es_rejected_execution_exception",
            format!("rejected: {running} queries are already running (--max-concurrent-queries); retry shortly"),
        )
    }

    pub fn timeout(limit: std::time::Duration) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "search_timeout_exception",
            format!(
                "the query ran longer than the {} s limit (--query-timeout) and was stopped; narrow the time range or the query",
                limit.as_secs_f64()
            ),
        )
    }
}

impl From<SearchError> for ApiError {
    fn from(e: SearchError) -> Self {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError::new(status, e.es_type(), e.to_string())
    }
}

impl From<trailscope_query::QueryError> for ApiError {
    fn from(e: trailscope_query::QueryError) -> Self {
        match e {
            trailscope_query::QueryError::Plan(m) => ApiError::new(StatusCode::BAD_REQUEST, "sql_exception", m),
            trailscope_query::QueryError::Execution(e) => SearchError::from(e).into(),
            other => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "exception", other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": {
                "root_cause": [{"type": self.kind, "reason": self.reason}],
                "type": self.kind,
                "reason": self.reason,
            },
            "status": self.status.as_u16(),
        });
        let mut r = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"trailscope\", Bearer, ApiKey"),
            );
        }
        r
    }
}
