//! trailscope's own endpoints: `POST /api/sql`, `GET /api/fields`, `GET /api/health`,
//! `GET /metrics`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::metrics::Gauges;
use crate::{AppState, run_query};

const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

pub async fn health(State(state): State<Arc<AppState>>) -> Json<Value> {
    let snap = state.table.current();
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "table": {"version": snap.version, "files": snap.files, "events": snap.events},
        "queries_in_flight": state.gate.in_flight(),
    }))
}

pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let snap = state.table.current();
    let text = state.metrics.render(&Gauges {
        in_flight: state.gate.in_flight(),
        server_memory_reserved: state.gate.server_memory_reserved(),
        table_version: snap.version,
        table_files: snap.files,
        table_events: snap.events,
        sources: state.sources.as_ref().map(|r| r.views()).unwrap_or_default(),
    });
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

pub async fn fields(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let snap = state.table.current();
    let limit = state.gate.limits.query_timeout;
    let permit = state.gate.admit().await.map_err(|b| {
        state.metrics.busy();
        ApiError::busy(b.running)
    })?;
    let found = tokio::time::timeout(limit, snap.fields())
        .await
        .map_err(|_| ApiError::timeout(limit))??;
    drop(permit);
    Ok(Json(json!({
        "table_version": snap.version,
        "events": found.events,
        "sampled_events": found.sampled_events,
        "fields": found.fields,
    })))
}

/// `POST /api/sql`: the body is the SQL text, or `{"query": "...", "format": "json"|"arrow"}`.
/// Answers JSON (`columns`, `rows`) or, when asked with `Accept: application/vnd.apache.arrow.stream`
/// or `"format": "arrow"`, an Arrow IPC stream.
pub async fn sql(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let bytes = body.map_err(|e| ApiError::new(e.status(), "content_too_long_exception", e.to_string()))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| ApiError::bad_request("the SQL body is not UTF-8"))?;
    // SQL never starts with `{`, so the body says which form it is, whatever the content type.
    let is_json = text.trim_start().starts_with('{');
    let (query, format) = if is_json {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
        let q = v
            .get("query")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::bad_request("expected {\"query\": \"SELECT ...\"}"))?
            .to_string();
        (q, v.get("format").and_then(Value::as_str).map(str::to_string))
    } else {
        (text.to_string(), None)
    };
    if query.trim().is_empty() {
        return Err(ApiError::bad_request("no SQL given"));
    }
    let arrow = format.as_deref() == Some("arrow")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains(ARROW_STREAM));
    let started = std::time::Instant::now();
    let batches = run_query(&state, move |ctx| async move {
        Ok(trailscope_query::sql(&ctx, &query).await?)
    })
    .await?;
    if arrow {
        let schema = batches
            .first()
            .map(|b| b.schema())
            .unwrap_or_else(|| Arc::new(arrow::datatypes::Schema::empty()));
        let mut buf = Vec::new();
        {
            let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut buf, &schema)
                .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "exception", e.to_string()))?;
            for b in &batches {
                w.write(b)
                    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "exception", e.to_string()))?;
            }
            w.finish()
                .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "exception", e.to_string()))?;
        }
        let mut r = buf.into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(ARROW_STREAM));
        return Ok(r);
    }
    let columns: Vec<Value> = batches
        .first()
        .map(|b| {
            b.schema()
                .fields()
                .iter()
                .map(|f| json!({"name": f.name(), "type": f.data_type().to_string()}))
                .collect()
        })
        .unwrap_or_default();
    let mut buf = Vec::new();
    {
        let mut w = arrow::json::ArrayWriter::new(&mut buf);
        let refs: Vec<&arrow::record_batch::RecordBatch> = batches.iter().collect();
        w.write_batches(&refs)
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "exception", e.to_string()))?;
        w.finish()
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "exception", e.to_string()))?;
    }
    let rows: Value = if buf.is_empty() {
        json!([])
    } else {
        serde_json::from_slice(&buf).unwrap_or_else(|_| json!([]))
    };
    let row_count = batches.iter().map(|b| b.num_rows()).sum::<usize>();
    Ok(Json(json!({
        "columns": columns,
        "rows": rows,
        "row_count": row_count,
        "took_ms": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }))
    .into_response())
}
