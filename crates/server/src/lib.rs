//! The HTTP API of `trailscope serve` (axum):
//!
//! - `/_elastic/…`: an Elasticsearch-compatible subset over the index `cloudtrail`
//!   ([`es`]);
//! - `/api/sql`, `/api/fields`, `/api/health` and `/metrics` ([`api`]);
//! - `POST /`: CloudTrail's `LookupEvents` as AWS serves it, SigV4-signed ([`aws`]);
//! - `/api/saved-objects`: the UI's saved searches, visualizations and dashboards ([`saved`]);
//! - `/api/sources`, `/api/s3-check`: the S3 sources' status and the access check ([`sources`]);
//! - every other `GET`: the embedded web UI (`trailscope-webui`).
//!
//! Every query runs under the limits of [`limits::Gate`]: a bounded number at a time, each with a
//! timeout and a memory budget. Authentication ([`auth::Auth`]) is required whenever the server
//! listens beyond loopback.

pub mod api;
pub mod auth;
pub mod aws;
mod error;
pub mod es;
pub mod limits;
mod metrics;
pub mod saved;
pub mod sources;
pub mod table;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use datafusion::prelude::SessionContext;
use thiserror::Error;
use trailscope_lake::Lake;

pub use auth::{Auth, User, hash_password};
pub use error::ApiError;
pub use limits::Limits;
pub use trailscope_webui::is_built as ui_is_built;

/// The documented default address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9280";

#[derive(Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub limits: Limits,
    pub auth: Auth,
    /// How often the table's log is checked for new commits.
    pub refresh: Duration,
    pub aws: aws::AwsApi,
    /// Where saved objects live (`<data-dir>/_trailscope/saved-objects`); `None` turns the
    /// saved-objects API off.
    pub saved_objects: Option<PathBuf>,
    /// The S3 sources this server polls, for their status and retries.
    pub sources: Option<Arc<trailscope_sources::Registry>>,
}

#[derive(Debug, Error)]
pub enum ServerError {
    #[error(
        "refusing to listen on {addr} without authentication: anyone who can reach it could read every event. \
         Set TRAILSCOPE_API_TOKENS (comma-separated tokens of 16+ characters) or add [[server.users]] with a \
         password_hash from `trailscope hash-password` to trailscope.toml, or listen on 127.0.0.1"
    )]
    Unprotected { addr: SocketAddr },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the table: {0}")]
    Table(#[from] Box<table::TableError>),
    #[error("server stopped: {0}")]
    Serve(#[source] std::io::Error),
}

#[derive(Debug)]
pub struct AppState {
    pub table: Arc<table::Table>,
    pub gate: limits::Gate,
    pub auth: Auth,
    pub aws: aws::AwsApi,
    pub saved: Option<saved::Store>,
    pub sources: Option<Arc<trailscope_sources::Registry>>,
    metrics: metrics::Metrics,
}

/// Refuses an address beyond loopback when nobody has to authenticate.
pub fn check_exposure(addr: SocketAddr, auth: &Auth) -> Result<(), ServerError> {
    if !addr.ip().is_loopback() && auth.is_open() {
        return Err(ServerError::Unprotected { addr });
    }
    Ok(())
}

/// Binds, then serves until `shutdown` completes. `on_listening` receives the bound address
/// (useful with port 0).
pub async fn serve(
    config: Config,
    lake: Lake,
    on_listening: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    check_exposure(config.listen, &config.auth)?;
    let table = Arc::new(table::Table::open(&lake).await.map_err(Box::new)?);
    tokio::spawn(Arc::clone(&table).follow(lake, config.refresh));
    let state = Arc::new(AppState {
        table,
        gate: limits::Gate::new(config.limits),
        auth: config.auth,
        aws: config.aws,
        saved: config.saved_objects.map(saved::Store::new),
        sources: config.sources,
        metrics: metrics::Metrics::default(),
    });
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(ServerError::Serve)?;
    on_listening(addr);
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServerError::Serve)
}

pub fn router(state: Arc<AppState>) -> Router {
    use es::*;
    let body_limit = state.gate.limits.max_body_bytes;
    let elastic = Router::new()
        .route("/", get(info).head(info))
        .route("/_cluster/health", get(cluster_health))
        .route("/_search", get(search).post(search))
        .route("/_count", get(count).post(count))
        .route("/_msearch", get(msearch).post(msearch))
        .route("/_mapping", get(mapping))
        .route("/_field_caps", get(field_caps).post(field_caps))
        .route("/{index}", get(index_info).head(index_info))
        .route("/{index}/_search", get(search).post(search))
        .route("/{index}/_count", get(count).post(count))
        .route("/{index}/_msearch", get(msearch).post(msearch))
        .route("/{index}/_mapping", get(mapping))
        .route("/{index}/_field_caps", get(field_caps).post(field_caps));
    Router::new()
        .nest("/_elastic", elastic)
        .route("/_elastic/", get(info).head(info))
        .route("/api/sql", post(api::sql))
        .route("/api/fields", get(api::fields))
        .route("/api/health", get(api::health))
        .route("/metrics", get(api::metrics))
        .route("/api/sources", get(sources::list))
        .route("/api/sources/{name}/retry", post(sources::retry))
        .route("/api/s3-check", post(sources::check))
        .route("/api/saved-objects", get(saved::list))
        .route("/api/saved-objects/{type}", post(saved::create))
        .route(
            "/api/saved-objects/{type}/{id}",
            get(saved::get).put(saved::update).delete(saved::delete),
        )
        .layer(middleware::from_fn_with_state(Arc::clone(&state), authenticate))
        // AWS clients sign each request (SigV4), checked by the handler itself. The UI's files
        // hold no data, so they load without credentials and the app asks for them.
        .route("/", post(aws::handle).get(trailscope_webui::serve))
        .fallback(ui_or_not_found)
        .layer(middleware::from_fn(product_header))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), observe))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// Unknown API paths answer a JSON 404; everything else is the web UI's (its router decides).
async fn ui_or_not_found(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") || path.starts_with("/_elastic/") || path == "/metrics" {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "resource_not_found_exception",
            format!("no endpoint {method} {path}"),
        )
        .into_response();
    }
    trailscope_webui::serve(method, uri).await
}

/// Elasticsearch clients (8.x) refuse servers that do not say they are Elasticsearch.
async fn product_header(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    r.headers_mut()
        .insert("x-elastic-product", HeaderValue::from_static("Elasticsearch"));
    r
}

async fn authenticate(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    // Health stays open so load balancers and orchestrators can probe it.
    if req.uri().path() == "/api/health" || state.auth.is_open() {
        return next.run(req).await;
    }
    let from_app = req.headers().contains_key("x-requested-with");
    let header = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if state.auth.check(header) {
        return next.run(req).await;
    }
    state.metrics.unauthorized();
    let reason = if header.is_some() {
        "unable to authenticate: the token or password is not valid"
    } else {
        "missing authentication credentials: send Authorization: Bearer <token> (or ApiKey, or Basic user:password)"
    };
    let mut r = ApiError::new(StatusCode::UNAUTHORIZED, "security_exception", reason).into_response();
    if from_app {
        // The web UI shows its own login page; the challenge would make browsers pop up theirs.
        r.headers_mut().remove(header::WWW_AUTHENTICATE);
    }
    r
}

/// Logs each request (method, route, status, time — never headers, so never credentials) and
/// counts it for `/metrics`.
async fn observe(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let r = next.run(req).await;
    let status = r.status().as_u16();
    state.metrics.request(&route, status);
    tracing::info!(%method, route, status, ms = started.elapsed().as_millis() as u64, "request");
    r
}

/// Runs one query under the limits: waits for a slot, gives it its own memory budget and a
/// deadline, and counts what happened.
pub(crate) async fn run_query<T, F, Fut>(state: &AppState, f: F) -> Result<T, ApiError>
where
    F: FnOnce(SessionContext) -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    run_query_on(state, state.table.current(), f).await
}

/// [`run_query`] on a given table version.
pub(crate) async fn run_query_on<T, F, Fut>(
    state: &AppState,
    snapshot: Arc<table::Snapshot>,
    f: F,
) -> Result<T, ApiError>
where
    F: FnOnce(SessionContext) -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let permit = state.gate.admit().await.map_err(|b| {
        state.metrics.busy();
        ApiError::busy(b.running)
    })?;
    let ctx = state
        .gate
        .query_context(&snapshot.ctx)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "exception", e.to_string()))?;
    let limit = state.gate.limits.query_timeout;
    let started = Instant::now();
    let result = tokio::time::timeout(limit, f(ctx)).await;
    state.metrics.query(started.elapsed());
    drop(permit);
    match result {
        Err(_) => {
            state.metrics.timeout();
            Err(ApiError::timeout(limit))
        }
        Ok(Err(e)) => {
            if e.kind == "circuit_breaking_exception" {
                state.metrics.memory();
            }
            Err(e)
        }
        Ok(Ok(v)) => Ok(v),
    }
}
