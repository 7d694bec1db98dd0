//! The Elasticsearch-compatible subset under `/_elastic/`: the events are the index
//! `cloudtrail`. Request and response shapes follow Elasticsearch 8 so its clients, Kibana-style
//! tools and scripts work unchanged.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use trailscope_search::{Catalog, Compiler, FieldType, INDEX, Request};

use crate::error::ApiError;
use crate::{AppState, run_query, run_query_on};

type Params = Query<HashMap<String, String>>;

/// The version clients are told: the 8.x line, whose request shapes this subset follows.
pub const COMPATIBLE_VERSION: &str = "8.11.0";

pub async fn info() -> Json<Value> {
    Json(json!({
        "name": "trailscope",
        "cluster_name": "trailscope",
        "cluster_uuid": "trailscope",
        "version": {
            "number": COMPATIBLE_VERSION,
            "build_flavor": "default",
            "build_type": "trailscope",
            "lucene_version": "9.8.0",
            "minimum_wire_compatibility_version": "7.17.0",
            "minimum_index_compatibility_version": "7.0.0",
            "distribution": format!("trailscope {}", env!("CARGO_PKG_VERSION")),
        },
        "tagline": "You Know, for Search"
    }))
}

pub async fn cluster_health(State(state): State<Arc<AppState>>) -> Json<Value> {
    let snap = state.table.current();
    Json(json!({
        "cluster_name": "trailscope", "status": "green", "timed_out": false,
        "number_of_nodes": 1, "number_of_data_nodes": 1, "active_primary_shards": 1, "active_shards": 1,
        "relocating_shards": 0, "initializing_shards": 0, "unassigned_shards": 0,
        "table_version": snap.version,
    }))
}

/// Index names and patterns (`cloudtrail`, `cloudtrail*`, `_all`, `a,b`) that name our index.
pub fn check_index(index: &str) -> Result<(), ApiError> {
    let names: Vec<&str> = index
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty() && !n.starts_with('-'))
        .collect();
    let hit = names
        .iter()
        .any(|n| *n == "_all" || trailscope_search::search::glob(n, INDEX));
    if hit {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "index_not_found_exception",
        format!("no such index [{index}]; the events are the index [{INDEX}]"),
    ))
}

fn body_json(body: Result<Bytes, BytesRejection>) -> Result<Value, ApiError> {
    let bytes = body.map_err(|e| {
        ApiError::new(
            e.status(),
            "content_too_long_exception",
            format!("cannot read the request body: {e} (the limit is --max-body-bytes)"),
        )
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))
}

/// Folds `?q=…&size=…&sort=…` into the body, as Elasticsearch does (URL parameters win).
fn merge_params(mut body: Value, params: &HashMap<String, String>) -> Result<Value, ApiError> {
    let Some(obj) = body.as_object_mut() else {
        return Err(ApiError::bad_request("the search body must be a JSON object"));
    };
    if let Some(q) = params.get("q") {
        obj.insert("query".into(), json!({"query_string": {"query": q}}));
    }
    for key in ["size", "from"] {
        if let Some(v) = params.get(key) {
            let n: u64 = v
                .parse()
                .map_err(|_| ApiError::bad_request(format!("[{key}] must be a number, found '{v}'")))?;
            obj.insert(key.into(), json!(n));
        }
    }
    if let Some(v) = params.get("track_total_hits") {
        obj.insert("track_total_hits".into(), json!(v != "false"));
    }
    if let Some(v) = params.get("sort") {
        obj.insert("sort".into(), json!(v.split(',').collect::<Vec<_>>()));
    }
    if let Some(v) = params.get("_source") {
        let source = match v.as_str() {
            "true" => json!(true),
            "false" => json!(false),
            list => json!(list.split(',').collect::<Vec<_>>()),
        };
        obj.insert("_source".into(), source);
    }
    let includes = params.get("_source_includes");
    let excludes = params.get("_source_excludes");
    if includes.is_some() || excludes.is_some() {
        fn split(v: Option<&String>) -> Vec<&str> {
            v.map(|v| v.split(',').collect()).unwrap_or_default()
        }
        obj.insert(
            "_source".into(),
            json!({"includes": split(includes), "excludes": split(excludes)}),
        );
    }
    Ok(body)
}

/// The `{index}` of a route, or our index for the routes without one.
type IndexPath = Option<Path<String>>;

fn index_of(p: IndexPath) -> String {
    p.map_or_else(|| INDEX.to_string(), |Path(i)| i)
}

pub async fn search(
    State(state): State<Arc<AppState>>,
    index: IndexPath,
    Query(params): Params,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    check_index(&index_of(index))?;
    let body = merge_params(body_json(body)?, &params)?;
    Ok(Json(search_body(&state, body).await?))
}

async fn search_body(state: &AppState, body: Value) -> Result<Value, ApiError> {
    let compiler = Compiler::default();
    let limits = state.gate.limits.search;
    let req = Request::parse(&body, &compiler, &limits)?;
    let snapshot = state.table.current();
    let days = snapshot.days.clone();
    run_query_on(state, snapshot, move |ctx| async move {
        Ok(trailscope_search::search(&ctx, &req, &compiler, &limits, &days).await?)
    })
    .await
}

pub async fn count(
    State(state): State<Arc<AppState>>,
    index: IndexPath,
    Query(params): Params,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    check_index(&index_of(index))?;
    let body = merge_params(body_json(body)?, &params)?;
    let query = body.get("query").cloned().unwrap_or_else(|| json!({"match_all": {}}));
    let compiler = Compiler::default();
    let filter = trailscope_search::query_filter(&compiler, &query)?;
    let n = run_query(&state, move |ctx| async move {
        Ok(trailscope_search::count_rows(&ctx, filter).await?)
    })
    .await?;
    Ok(Json(
        json!({"count": n, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}),
    ))
}

/// `_msearch`: NDJSON pairs of header and body lines; each search succeeds or fails alone.
pub async fn msearch(
    State(state): State<Arc<AppState>>,
    index: IndexPath,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let default_index = index_of(index);
    let started = std::time::Instant::now();
    let bytes = body.map_err(|e| ApiError::new(e.status(), "content_too_long_exception", e.to_string()))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| ApiError::bad_request("the _msearch body is not UTF-8"))?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if !lines.len().is_multiple_of(2) {
        return Err(ApiError::bad_request(format!(
            "_msearch takes pairs of header and body lines; found {} lines (line {} has no body)",
            lines.len(),
            lines.len()
        )));
    }
    let mut responses = Vec::new();
    for (i, pair) in lines.chunks(2).enumerate() {
        let one = async {
            let header: Value = serde_json::from_str(pair[0])
                .map_err(|e| ApiError::bad_request(format!("_msearch line {}: header is not JSON: {e}", 2 * i + 1)))?;
            let index = header.get("index").map_or_else(
                || default_index.clone(),
                |v| match v {
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","),
                    other => other.as_str().unwrap_or(INDEX).to_string(),
                },
            );
            check_index(&index)?;
            let body: Value = serde_json::from_str(pair[1])
                .map_err(|e| ApiError::bad_request(format!("_msearch line {}: body is not JSON: {e}", 2 * i + 2)))?;
            search_body(&state, body).await
        };
        responses.push(match one.await {
            Ok(mut r) => {
                r["status"] = json!(200);
                r
            }
            Err(e) => {
                let status = e.status.as_u16();
                let mut v = serde_json::to_value(json!({
                    "error": {"root_cause": [{"type": e.kind, "reason": e.reason}], "type": e.kind, "reason": e.reason}
                }))
                .unwrap_or_default();
                v["status"] = json!(status);
                v
            }
        });
    }
    Ok(Json(json!({
        "took": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "responses": responses
    })))
}

/// The mapping of the index, built from the field catalog with CloudTrail's spelling.
pub fn properties() -> Map<String, Value> {
    let mut root = Map::new();
    for f in Catalog::get().fields() {
        let parts: Vec<&str> = f.display.split('.').collect();
        // A geo_point's lat/lon are part of it, not fields of their own in Elasticsearch.
        if f.path.starts_with("geoip.location.") {
            continue;
        }
        let mut leaf = json!({"type": f.ty.es_type()});
        if matches!(f.ty, FieldType::Text | FieldType::Json) {
            leaf["fields"] = json!({"keyword": {"type": "keyword", "ignore_above": 256}});
        }
        insert_path(&mut root, &parts, leaf);
    }
    root
}

fn insert_path(node: &mut Map<String, Value>, parts: &[&str], leaf: Value) {
    match parts {
        [] => {}
        [last] => {
            node.insert((*last).to_string(), leaf);
        }
        [first, rest @ ..] => {
            let entry = node
                .entry((*first).to_string())
                .or_insert_with(|| json!({"properties": {}}));
            if let Some(props) = entry.get_mut("properties").and_then(Value::as_object_mut) {
                insert_path(props, rest, leaf);
            }
        }
    }
}

pub async fn mapping(index: IndexPath) -> Result<Json<Value>, ApiError> {
    check_index(&index_of(index))?;
    Ok(Json(json!({ INDEX: {"mappings": {"properties": properties()}} })))
}

pub async fn field_caps(index: IndexPath, Query(params): Params) -> Result<Json<Value>, ApiError> {
    check_index(&index_of(index))?;
    let patterns: Vec<String> = params
        .get("fields")
        .map(|f| f.split(',').map(str::to_string).collect())
        .unwrap_or_else(|| vec!["*".into()]);
    let mut fields = Map::new();
    for f in Catalog::get().fields() {
        if !patterns.iter().any(|p| trailscope_search::search::glob(p, &f.display)) {
            continue;
        }
        let t = f.ty.es_type();
        fields.insert(
            f.display.clone(),
            json!({ t: {"type": t, "metadata_field": false, "searchable": true, "aggregatable": f.ty.aggregatable()} }),
        );
    }
    Ok(Json(json!({"indices": [INDEX], "fields": fields})))
}

/// `GET /_elastic/{index}`: index settings and mappings.
pub async fn index_info(Path(index): Path<String>) -> Result<Response, ApiError> {
    check_index(&index)?;
    Ok(Json(json!({ INDEX: {
        "aliases": {},
        "mappings": {"properties": properties()},
        "settings": {"index": {"number_of_shards": "1", "number_of_replicas": "0", "provided_name": INDEX}}
    }}))
    .into_response())
}
