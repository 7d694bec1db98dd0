//! The web UI, embedded: the files Vite builds into `ui/dist` are compiled into the binary
//! (release builds; debug builds read them from disk so `npm run build` needs no cargo rebuild)
//! and served by [`serve`], with the single-page app's routes falling back to `index.html`.

use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "../../ui/dist"]
#[allow_missing = true]
struct Dist;

/// Shown instead of the app when the binary was built before `ui/dist` existed.
const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>trailscope</title>\
<h1>The web UI is not built into this binary</h1>\
<p>Build it, then the binary: <code>npm --prefix ui ci &amp;&amp; npm --prefix ui run build &amp;&amp; \
cargo build --release -p trailscope</code> (Node.js 20 or later).</p>\
<p>The APIs work without it: <a href=\"/api/health\">/api/health</a>, <code>/_elastic/</code>, \
<code>/api/sql</code>.</p>";

/// Whether this binary carries the UI.
pub fn is_built() -> bool {
    Dist::get("index.html").is_some()
}

/// Serves a file of the app, or `index.html` for the app's own routes (`/discover`, …).
pub async fn serve(method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::NOT_FOUND.into_response();
    }
    let path = uri.path().trim_start_matches('/');
    match route(path) {
        Route::File(name) => match Dist::get(name) {
            Some(file) => {
                let immutable = name.starts_with("assets/");
                file_response(file.data.into_owned(), file.metadata.mimetype(), immutable)
            }
            None => StatusCode::NOT_FOUND.into_response(),
        },
        Route::App => match Dist::get("index.html") {
            Some(file) => file_response(file.data.into_owned(), "text/html; charset=utf-8", false),
            None => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                NOT_BUILT,
            )
                .into_response(),
        },
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Route<'a> {
    /// A built file (it has an extension: `assets/index-3f2a.js`, `favicon.svg`).
    File(&'a str),
    /// A route of the single-page app, answered with `index.html`.
    App,
}

fn route(path: &str) -> Route<'_> {
    let last = path.rsplit('/').next().unwrap_or(path);
    if path.is_empty() || path == "index.html" || !last.contains('.') {
        Route::App
    } else {
        Route::File(path)
    }
}

fn file_response(body: Vec<u8>, mime: &str, immutable: bool) -> Response {
    // Vite puts a content hash in every name under assets/, so those never change; index.html
    // must be revalidated so a new binary's UI is picked up at once.
    let cache = if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut r = (StatusCode::OK, body).into_response();
    let headers = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(mime) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_routes_fall_back_to_index() {
        assert_eq!(route(""), Route::App);
        assert_eq!(route("discover"), Route::App);
        assert_eq!(route("dashboards/abc-123"), Route::App);
        assert_eq!(route("index.html"), Route::App);
    }

    #[test]
    fn files_are_files() {
        assert_eq!(route("assets/index-3f2a.js"), Route::File("assets/index-3f2a.js"));
        assert_eq!(route("favicon.svg"), Route::File("favicon.svg"));
    }
}
