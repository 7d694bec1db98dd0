//! The AWS-compatible CloudTrail API: `POST /` with `X-Amz-Target:
//! com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents`, JSON 1.1 bodies,
//! SigV4-signed with keys from `--access-keys FILE`, and errors as AWS writes them
//! (`{"__type", "message"}`), so the AWS CLI and SDKs work with `--endpoint-url`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use trailscope_lookup::{Lookup, LookupError, Table, TokenKey};
use trailscope_sigv4::{MAX_SKEW, Policy, SigV4Error};

use crate::{ApiError, AppState, run_query_on};

const JSON_1_1: &str = "application/x-amz-json-1.1";
/// The signing name of CloudTrail (the service in the credential scope).
const SERVICE: &str = "cloudtrail";

/// Access key ids and their secrets. Never printed: `Debug` shows the key ids' last 4
/// characters only.
#[derive(Clone, Default)]
pub struct AccessKeys(HashMap<String, String>);

impl std::fmt::Debug for AccessKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = self.0.keys().map(|k| format!("…{}", last4(k))).collect();
        f.debug_tuple("AccessKeys").field(&ids).finish()
    }
}

fn last4(id: &str) -> &str {
    let start = id.char_indices().rev().nth(3).map_or(0, |(i, _)| i);
    &id[start..]
}

#[derive(Debug, thiserror::Error)]
pub enum AccessKeysError {
    #[error("cannot read the access keys file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the access keys file {path} can be read by group or others (mode {mode:o}); secrets must be private: chmod 600 {path}"
    )]
    Exposed { path: String, mode: u32 },
    #[error("{path}:{line}: expected 'ACCESS_KEY_ID SECRET' (two words), found {words} word(s)")]
    Malformed { path: String, line: usize, words: usize },
    #[error("{path}: no access keys in the file (one 'ACCESS_KEY_ID SECRET' pair per line)")]
    Empty { path: String },
}

impl AccessKeys {
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> AccessKeys {
        AccessKeys(pairs.into_iter().collect())
    }

    /// Reads `ACCESS_KEY_ID SECRET` lines (blank lines and `#` comments skipped), refusing a
    /// file that group or others may read.
    pub fn load(path: &Path) -> Result<AccessKeys, AccessKeysError> {
        let shown = path.display().to_string();
        let read = |source| AccessKeysError::Read {
            path: shown.clone(),
            source,
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).map_err(read)?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(AccessKeysError::Exposed {
                    path: shown,
                    mode: mode & 0o777,
                });
            }
        }
        let text = std::fs::read_to_string(path).map_err(read)?;
        let mut keys = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let [id, secret] = words.as_slice() else {
                return Err(AccessKeysError::Malformed {
                    path: shown,
                    line: i + 1,
                    words: words.len(),
                });
            };
            keys.insert((*id).to_string(), (*secret).to_string());
        }
        if keys.is_empty() {
            return Err(AccessKeysError::Empty { path: shown });
        }
        Ok(AccessKeys(keys))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// What the AWS API needs beyond the shared state.
#[derive(Debug)]
pub struct AwsApi {
    pub keys: AccessKeys,
    pub token_key: TokenKey,
}

/// An error as AWS's JSON protocol writes it: `{"__type", "message"}`.
#[derive(Debug)]
pub struct AwsError {
    status: StatusCode,
    code: String,
    message: String,
}

impl IntoResponse for AwsError {
    fn into_response(self) -> Response {
        let body = json!({"__type": self.code, "message": self.message});
        let mut r = (self.status, body.to_string()).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_1_1));
        r
    }
}

fn aws_error(status: StatusCode, code: &str, message: impl Into<String>) -> AwsError {
    AwsError {
        status,
        code: code.to_string(),
        message: message.into(),
    }
}

fn from_lookup(e: &LookupError) -> AwsError {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    aws_error(status, e.code(), e.to_string())
}

fn from_api(e: ApiError) -> AwsError {
    let code = match e.status {
        StatusCode::TOO_MANY_REQUESTS => "ThrottlingException",
        StatusCode::SERVICE_UNAVAILABLE => "ServiceUnavailableException",
        s if s.is_client_error() => "ValidationException",
        _ => "InternalFailure",
    };
    let status = if e.status == StatusCode::TOO_MANY_REQUESTS {
        StatusCode::BAD_REQUEST
    } else {
        e.status
    };
    aws_error(status, code, e.reason)
}

fn check_signature(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), AwsError> {
    let api = &state.aws;
    if api.keys.is_empty() {
        // No keys and no other authentication: a loopback-only server (see `check_exposure`)
        // that, like its other APIs, trusts local callers.
        if state.auth.is_open() {
            return Ok(());
        }
        return Err(aws_error(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            "this server has no AWS access keys: start it with --access-keys FILE",
        ));
    }
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)))
        .collect();
    let req = trailscope_sigv4::Request {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        headers: &pairs,
        body,
    };
    let policy = Policy {
        service: SERVICE,
        now: chrono::Utc::now(),
        max_skew: MAX_SKEW,
    };
    match trailscope_sigv4::verify(&req, &policy, |id| api.keys.0.get(id).cloned()) {
        Ok(_) => Ok(()),
        Err(e) => {
            state.metrics.unauthorized();
            let status = if e.is_forbidden() {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::BAD_REQUEST
            };
            if matches!(e, SigV4Error::UnknownKey | SigV4Error::Mismatch) {
                tracing::warn!(code = e.code(), "refused a signed request");
            }
            Err(aws_error(status, e.code(), e.to_string()))
        }
    }
}

/// `POST /`: dispatches on `X-Amz-Target`.
pub async fn handle(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = check_signature(&state, &method, &uri, &headers, &body) {
        return refused.into_response();
    }
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("");
    let operation = target.strip_prefix(trailscope_lookup::TARGET_PREFIX);
    if operation != Some(trailscope_lookup::OPERATION) {
        return aws_error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            format!(
                "unknown operation '{target}': this server answers {}{}",
                trailscope_lookup::TARGET_PREFIX,
                trailscope_lookup::OPERATION
            ),
        )
        .into_response();
    }
    match lookup_events(&state, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn lookup_events(state: &AppState, body: &[u8]) -> Result<Response, AwsError> {
    let api = &state.aws;
    let req = Lookup::from_json(body).map_err(|e| from_lookup(&e))?;
    let cursor = trailscope_lookup::cursor(&req, &api.token_key).map_err(|e| from_lookup(&e))?;
    let snapshot = match &cursor {
        None => state.table.current(),
        Some(c) => state.table.at(c.version).await.map_err(|e| {
            from_lookup(&LookupError::InvalidNextToken(format!(
                "{e}; start again without NextToken"
            )))
        })?,
    };
    let days = snapshot.days.clone();
    let version = snapshot.version;
    let token_key = api.token_key.clone();
    let result = run_query_on(state, snapshot, |ctx| async move {
        let table = Table {
            ctx: &ctx,
            version,
            days: &days,
        };
        Ok(trailscope_lookup::lookup(&table, &req, cursor.as_ref(), &token_key).await)
    })
    .await
    .map_err(from_api)?;
    let body = result.map_err(|e| from_lookup(&e))?;
    let mut r = (StatusCode::OK, body.to_string()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_1_1));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_only_the_last_four_characters_of_key_ids() {
        let keys = AccessKeys::new([("AKIAEXAMPLE1234".to_string(), "s3cr3t-value".to_string())]);
        let shown = format!("{keys:?}");
        assert!(shown.contains("…1234"), "{shown}");
        assert!(!shown.contains("s3cr3t") && !shown.contains("AKIAEXAMPLE"), "{shown}");
    }

    #[cfg(unix)]
    #[test]
    fn keys_file_must_be_private_and_well_formed() -> Result<(), Box<dyn std::error::Error>> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("keys");
        std::fs::write(&path, "# test keys\nAKIDONE secretone\n\nAKIDTWO secrettwo\n")?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
        let err = AccessKeys::load(&path).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("mode 644") && err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        let keys = AccessKeys::load(&path)?;
        assert_eq!(keys.len(), 2);
        std::fs::write(&path, "AKIDONE secretone extra\n")?;
        let err = AccessKeys::load(&path).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err.ends_with(":1: expected 'ACCESS_KEY_ID SECRET' (two words), found 3 word(s)"),
            "{err}"
        );
        assert!(!err.contains("secretone"), "{err}");
        Ok(())
    }
}
