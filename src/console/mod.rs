//! The web console: static HTML, CSS and vanilla JavaScript compiled into the binary and
//! served under `/console`. It holds no server-side logic: the browser reads and writes
//! through the public AppConfig REST API (signing with SigV4 when keys are entered), so it
//! sees exactly what an SDK with the same credentials sees.

use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use http::{header, StatusCode};

const INDEX: &str = include_str!("assets/index.html");
const CSS: &str = include_str!("assets/console.css");
const APP_JS: &str = include_str!("assets/console.js");
const SIGV4_JS: &str = include_str!("assets/sigv4.js");
const EXPERIMENTS_JS: &str = include_str!("assets/experiments.js");

pub fn routes() -> Router {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(|| async { asset("index.html") }))
        .route(
            "/console/{file}",
            get(|Path(file): Path<String>| async move { asset(&file) }),
        )
}

fn asset(name: &str) -> Response {
    let (body, kind) = match name {
        "index.html" => (INDEX, "text/html; charset=utf-8"),
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "console.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "sigv4.js" => (SIGV4_JS, "text/javascript; charset=utf-8"),
        "experiments.js" => (EXPERIMENTS_JS, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such console file\n").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            // Assets change with the binary; a restart after an upgrade must not serve stale JS.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
