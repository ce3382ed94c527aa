//! Operating the server: Prometheus metrics, health and readiness probes, and the web console.
//!
//! `attach` wraps the AppConfig API router: the metrics middleware goes around the API only,
//! and the operator routes are added after it, outside AWS authentication (probes and
//! scrapers carry no AWS signature; the console's own API calls are signed in the browser).

pub mod health;
pub mod metrics;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::wire::AppState;

/// The API router with metrics around it, plus `/metrics`, `/healthz`, `/readyz` and
/// `/console`. None of these paths is an AppConfig route.
pub fn attach(api: Router, state: AppState) -> Router {
    let ops = Router::new()
        .route("/metrics", get(metrics_page))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .with_state(state);
    api.layer(axum::middleware::from_fn(metrics::track))
        .merge(ops)
        .merge(crate::console::routes())
}

async fn metrics_page(State(state): State<AppState>) -> Response {
    let body = metrics::render(&state.service, &state.auth.accounts()).await;
    (
        [(
            http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
