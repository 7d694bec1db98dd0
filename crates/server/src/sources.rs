//! The S3 sources' endpoints: `GET /api/sources` (status; never a secret), `POST
//! /api/sources/{name}/retry` (read quarantined objects again), and `POST /api/s3-check` (the
//! seed's "save" button: can these credentials read that bucket?).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;

pub async fn list(State(state): State<Arc<AppState>>) -> Json<Value> {
    let views = state.sources.as_ref().map(|r| r.views()).unwrap_or_default();
    Json(json!({ "sources": views }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryBody {
    /// One object key; all quarantined objects of the source when absent.
    key: Option<String>,
}

pub async fn retry(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: Option<Json<RetryBody>>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let key = body.and_then(|Json(b)| b.key);
    let known = state
        .sources
        .as_ref()
        .is_some_and(|r| r.request_retry(&name, key.clone()));
    if !known {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "resource_not_found_exception",
            format!("no source named '{name}' (sources are configured as [[sources]] in trailscope.toml)"),
        ));
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"acknowledged": true, "source": name, "key": key})),
    ))
}

/// What the check needs: where, and with which credentials.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckBody {
    url: String,
    region: Option<String>,
    endpoint_url: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<trailscope_sources::Secret>,
    session_token: Option<trailscope_sources::Secret>,
}

pub async fn check(Json(body): Json<CheckBody>) -> Result<Json<Value>, ApiError> {
    let url = trailscope_s3::S3Url::parse(&body.url).map_err(|e| ApiError::bad_request(e.to_string()))?;
    // The server's own AWS identity is not lent to callers: it could probe any bucket, or
    // send signed requests to any endpoint.
    if body.access_key_id.is_none() || body.secret_access_key.is_none() {
        return Err(ApiError::bad_request(
            "give access_key_id and secret_access_key: the check runs with the credentials it is given, never the server's own",
        ));
    }
    let connection = trailscope_s3::Connection {
        region: body.region,
        endpoint: body.endpoint_url,
        access_key_id: body.access_key_id,
        secret_access_key: body.secret_access_key.map(|s| s.expose().to_string()),
        session_token: body.session_token.map(|s| s.expose().to_string()),
        // Answer while the user waits: a few retries, not the minutes an ingest may wait.
        max_retries: Some(2),
        retry_timeout: Some(Duration::from_secs(20)),
    };
    let store = connection
        .store(&url.bucket)
        .await
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(Json(trailscope_s3::check(&store, &url).await.to_json()))
}
