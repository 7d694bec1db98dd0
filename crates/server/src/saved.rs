//! Saved objects — the UI's searches, visualizations, dashboards and installed apps — kept as
//! one versioned JSON file each under `<data-dir>/_trailscope/saved-objects/<type>/<id>.json`,
//! and their CRUD API under `/api/saved-objects`.
//!
//! Every write bumps the object's `version`; a write that names the version it started from is
//! refused with 409 when someone else wrote in between, so two browser tabs cannot silently undo
//! each other. Files are replaced atomically (write, fsync, rename), so a crash leaves either the
//! old object or the new one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

use crate::AppState;
use crate::error::ApiError;

/// The version of the file format; bumped when the layout of [`SavedObject`] changes.
pub const FORMAT: u32 = 1;

/// The kinds of object the UI saves.
pub const TYPES: &[&str] = &["search", "visualization", "dashboard", "app"];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SavedObject {
    pub format: u32,
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    /// Starts at 1 and grows by one with each write.
    pub version: u64,
    /// RFC 3339, UTC.
    pub updated_at: String,
    /// What the UI stores; always has a non-empty `title`.
    pub attributes: Map<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum SavedError {
    #[error("unknown saved object type '{0}': use one of search, visualization, dashboard, app")]
    Type(String),
    #[error("invalid id '{0}': use 1 to 64 letters, digits, '-' or '_'")]
    Id(String),
    #[error("attributes must be a JSON object with a non-empty string \"title\"")]
    Attributes,
    #[error("{kind} '{id}' not found")]
    NotFound { kind: String, id: String },
    #[error("{kind} '{id}' already exists")]
    Exists { kind: String, id: String },
    #[error("{kind} '{id}' is at version {current}, not {expected}: it was changed meanwhile; reload it and retry")]
    Conflict {
        kind: String,
        id: String,
        current: u64,
        expected: u64,
    },
    #[error("saved object store at {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("saved object {path} is not valid: {source}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl From<SavedError> for ApiError {
    fn from(e: SavedError) -> Self {
        let (status, kind) = match &e {
            SavedError::Type(_) | SavedError::Id(_) | SavedError::Attributes => {
                (StatusCode::BAD_REQUEST, "illegal_argument_exception")
            }
            SavedError::NotFound { .. } => (StatusCode::NOT_FOUND, "resource_not_found_exception"),
            SavedError::Exists { .. } | SavedError::Conflict { .. } => {
                (StatusCode::CONFLICT, "version_conflict_engine_exception")
            }
            SavedError::Io { .. } | SavedError::Corrupt { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "exception"),
        };
        ApiError::new(status, kind, e.to_string())
    }
}

/// The store: a folder of JSON files. Writes are serialised; reads go straight to disk, which
/// is plenty for objects a person edits by hand.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    write: Mutex<()>,
}

impl Store {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Store {
            root: root.into(),
            write: Mutex::new(()),
        }
    }

    fn path(&self, kind: &str, id: &str) -> PathBuf {
        self.root.join(kind).join(format!("{id}.json"))
    }

    /// Every object of one type, by title.
    pub async fn list(&self, kind: &str) -> Result<Vec<SavedObject>, SavedError> {
        check_type(kind)?;
        let dir = self.root.join(kind);
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(SavedError::Io { path: dir, source }),
        };
        let mut out = Vec::new();
        loop {
            let entry = entries.next_entry().await.map_err(|source| SavedError::Io {
                path: dir.clone(),
                source,
            })?;
            let Some(entry) = entry else { break };
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            match read(&path).await {
                Ok(o) => out.push(o),
                // One damaged file (edited by hand, say) must not hide every other object.
                Err(e @ SavedError::Corrupt { .. }) => tracing::warn!("skipping a saved object: {e}"),
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| {
            title(a)
                .to_lowercase()
                .cmp(&title(b).to_lowercase())
                .then(a.id.cmp(&b.id))
        });
        Ok(out)
    }

    pub async fn get(&self, kind: &str, id: &str) -> Result<SavedObject, SavedError> {
        check_type(kind)?;
        check_id(id)?;
        match read(&self.path(kind, id)).await {
            Err(SavedError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Err(SavedError::NotFound {
                    kind: kind.into(),
                    id: id.into(),
                })
            }
            other => other,
        }
    }

    /// Creates a new object; `id` is generated when not given.
    pub async fn create(
        &self,
        kind: &str,
        id: Option<&str>,
        attributes: Map<String, Value>,
        now: &str,
    ) -> Result<SavedObject, SavedError> {
        check_type(kind)?;
        check_attributes(&attributes)?;
        let id = match id {
            Some(id) => {
                check_id(id)?;
                id.to_string()
            }
            None => new_id(),
        };
        let _guard = self.write.lock().await;
        let path = self.path(kind, &id);
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Err(SavedError::Exists { kind: kind.into(), id });
        }
        let object = SavedObject {
            format: FORMAT,
            kind: kind.into(),
            id,
            version: 1,
            updated_at: now.into(),
            attributes,
        };
        write(&path, &object).await?;
        Ok(object)
    }

    /// Replaces an object's attributes (creating it when absent and no version is expected).
    pub async fn update(
        &self,
        kind: &str,
        id: &str,
        attributes: Map<String, Value>,
        expected: Option<u64>,
        now: &str,
    ) -> Result<SavedObject, SavedError> {
        check_type(kind)?;
        check_id(id)?;
        check_attributes(&attributes)?;
        let _guard = self.write.lock().await;
        let path = self.path(kind, id);
        let current = match read(&path).await {
            Ok(o) => Some(o.version),
            Err(SavedError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let version = next_version(kind, id, current, expected)?;
        let object = SavedObject {
            format: FORMAT,
            kind: kind.into(),
            id: id.into(),
            version,
            updated_at: now.into(),
            attributes,
        };
        write(&path, &object).await?;
        Ok(object)
    }

    pub async fn delete(&self, kind: &str, id: &str) -> Result<(), SavedError> {
        check_type(kind)?;
        check_id(id)?;
        let _guard = self.write.lock().await;
        let path = self.path(kind, id);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(SavedError::NotFound {
                kind: kind.into(),
                id: id.into(),
            }),
            Err(source) => Err(SavedError::Io { path, source }),
        }
    }
}

/// The version a write produces, or why it may not happen.
fn next_version(kind: &str, id: &str, current: Option<u64>, expected: Option<u64>) -> Result<u64, SavedError> {
    match (current, expected) {
        (None, None) => Ok(1),
        (None, Some(_)) => Err(SavedError::NotFound {
            kind: kind.into(),
            id: id.into(),
        }),
        (Some(c), Some(e)) if c != e => Err(SavedError::Conflict {
            kind: kind.into(),
            id: id.into(),
            current: c,
            expected: e,
        }),
        (Some(c), _) => Ok(c + 1),
    }
}

fn title(o: &SavedObject) -> &str {
    o.attributes.get("title").and_then(Value::as_str).unwrap_or("")
}

fn check_type(kind: &str) -> Result<(), SavedError> {
    if TYPES.contains(&kind) {
        Ok(())
    } else {
        Err(SavedError::Type(kind.into()))
    }
}

/// Ids become file names, so only a safe alphabet gets through (no `..`, no `/`).
fn check_id(id: &str) -> Result<(), SavedError> {
    let ok =
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { Ok(()) } else { Err(SavedError::Id(id.into())) }
}

fn check_attributes(a: &Map<String, Value>) -> Result<(), SavedError> {
    match a.get("title").and_then(Value::as_str) {
        Some(t) if !t.trim().is_empty() => Ok(()),
        _ => Err(SavedError::Attributes),
    }
}

fn new_id() -> String {
    let mut bytes = [0u8; 12];
    // A failing OS random source is not worth failing a save for: fall back to the clock.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes.copy_from_slice(&nanos.to_le_bytes()[..12]);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn read(path: &Path) -> Result<SavedObject, SavedError> {
    let bytes = tokio::fs::read(path).await.map_err(|source| SavedError::Io {
        path: path.into(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| SavedError::Corrupt {
        path: path.into(),
        source,
    })
}

async fn write(path: &Path, object: &SavedObject) -> Result<(), SavedError> {
    let io = |source| SavedError::Io {
        path: path.into(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    tokio::fs::create_dir_all(dir).await.map_err(io)?;
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(object).map_err(|e| io(std::io::Error::other(e)))?;
    let file = {
        use tokio::io::AsyncWriteExt;
        let mut f = tokio::fs::File::create(&tmp).await.map_err(io)?;
        f.write_all(&bytes).await.map_err(io)?;
        f
    };
    file.sync_all().await.map_err(io)?;
    tokio::fs::rename(&tmp, path).await.map_err(io)
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn store(state: &AppState) -> Result<&Store, ApiError> {
    state.saved.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "illegal_state_exception",
            "this server has no data directory for saved objects",
        )
    })
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Deserialize)]
pub struct Body {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    version: Option<u64>,
    attributes: Map<String, Value>,
}

/// Reads a create or update body. It must be declared JSON: a cross-site HTML form can send
/// `text/plain` with the browser's saved Basic credentials, but cannot send JSON.
fn body(headers: &HeaderMap, bytes: &[u8]) -> Result<Body, ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/json"));
    if !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "illegal_argument_exception",
            "send saved objects as JSON, with Content-Type: application/json",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(format!(
            "expected {{\"attributes\": {{\"title\": …, …}}, \"version\"?: n}}: {e}"
        ))
    })
}

pub async fn list(State(state): State<Arc<AppState>>, Query(p): Query<ListParams>) -> Result<Json<Value>, ApiError> {
    let objects = store(&state)?.list(&p.kind).await?;
    Ok(Json(json!({"total": objects.len(), "objects": objects})))
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    UrlPath((kind, id)): UrlPath<(String, String)>,
) -> Result<Json<SavedObject>, ApiError> {
    Ok(Json(store(&state)?.get(&kind, &id).await?))
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    UrlPath(kind): UrlPath<String>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let b = body(&headers, &bytes)?;
    let o = store(&state)?
        .create(&kind, b.id.as_deref(), b.attributes, &now())
        .await?;
    Ok((StatusCode::CREATED, Json(o)).into_response())
}

pub async fn update(
    State(state): State<Arc<AppState>>,
    UrlPath((kind, id)): UrlPath<(String, String)>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> Result<Json<SavedObject>, ApiError> {
    let b = body(&headers, &bytes)?;
    Ok(Json(
        store(&state)?
            .update(&kind, &id, b.attributes, b.version, &now())
            .await?,
    ))
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    UrlPath((kind, id)): UrlPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    store(&state)?.delete(&kind, &id).await?;
    Ok(Json(json!({"deleted": true, "type": kind, "id": id})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(title: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("title".into(), Value::String(title.into()));
        m
    }

    #[tokio::test]
    async fn create_update_conflict_delete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::new(dir.path());
        let a = s
            .create("search", None, attrs("ECS calls"), "t1")
            .await
            .expect("create");
        assert_eq!(a.version, 1);
        assert_eq!(a.id.len(), 24);
        let b = s
            .update("search", &a.id, attrs("ECS"), Some(1), "t2")
            .await
            .expect("update");
        assert_eq!(b.version, 2);
        // A second tab still holding version 1 is refused, and nothing changes.
        let stale = s.update("search", &a.id, attrs("stale"), Some(1), "t3").await;
        assert!(
            matches!(
                stale,
                Err(SavedError::Conflict {
                    current: 2,
                    expected: 1,
                    ..
                })
            ),
            "{stale:?}"
        );
        assert_eq!(s.get("search", &a.id).await.expect("get"), b);
        // A store opened afresh (a restart) sees the same objects.
        let again = Store::new(dir.path());
        assert_eq!(again.list("search").await.expect("list"), vec![b]);
        s.delete("search", &a.id).await.expect("delete");
        assert!(matches!(s.get("search", &a.id).await, Err(SavedError::NotFound { .. })));
        assert!(matches!(
            s.delete("search", &a.id).await,
            Err(SavedError::NotFound { .. })
        ));
    }

    #[tokio::test]
    async fn refuses_bad_types_ids_and_titles() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::new(dir.path());
        assert!(matches!(s.list("index-pattern").await, Err(SavedError::Type(_))));
        for id in ["../etc/passwd", "", "a/b", &"x".repeat(65)] {
            assert!(matches!(s.get("search", id).await, Err(SavedError::Id(_))), "{id}");
        }
        assert!(matches!(
            s.create("search", None, attrs("  "), "t").await,
            Err(SavedError::Attributes)
        ));
        s.create("dashboard", Some("ecs"), attrs("ECS"), "t")
            .await
            .expect("create");
        assert!(matches!(
            s.create("dashboard", Some("ecs"), attrs("ECS"), "t").await,
            Err(SavedError::Exists { .. })
        ));
    }

    #[tokio::test]
    async fn a_damaged_file_does_not_hide_the_others() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::new(dir.path());
        let good = s.create("search", None, attrs("good"), "t").await.expect("create");
        std::fs::write(dir.path().join("search/broken.json"), "{ not json").expect("write");
        assert_eq!(s.list("search").await.expect("list"), vec![good]);
        assert!(matches!(
            s.get("search", "broken").await,
            Err(SavedError::Corrupt { .. })
        ));
    }

    #[tokio::test]
    async fn lists_by_title() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::new(dir.path());
        for t in ["b", "C", "a"] {
            s.create("visualization", None, attrs(t), "t").await.expect("create");
        }
        let titles: Vec<String> = s
            .list("visualization")
            .await
            .expect("list")
            .iter()
            .map(|o| title(o).to_string())
            .collect();
        assert_eq!(titles, ["a", "b", "C"]);
        assert!(s.list("dashboard").await.expect("empty").is_empty());
    }
}
