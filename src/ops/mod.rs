//! Operating the server: Prometheus metrics, health and readiness probes, and the web console.
//!
//! `server.rs` puts the metrics middleware (`metrics::track`) around the AppConfig API only,
//! and these operator routes beside it, outside AWS authentication (probes and scrapers carry
//! no AWS signature; the console's own API calls are signed in the browser).

pub mod health;
pub mod metrics;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::wire::AppState;

/// `/metrics`, `/healthz`, `/readyz` and `/console`. None of these paths is an AppConfig route.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics_page))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .with_state(state)
        .merge(crate::console::routes())
}

/// `/metrics` carries no AWS signature (scrapers cannot sign), so it takes a bearer token:
/// required with `--credentials` (an outsider learns nothing, not even deployment ids),
/// optional without.
async fn metrics_page(State(state): State<AppState>, headers: http::HeaderMap) -> Response {
    use subtle::ConstantTimeEq;
    let given = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let refusal = match (&state.metrics_token, given) {
        (Some(want), Some(got)) if bool::from(want.as_bytes().ct_eq(got.as_bytes())) => None,
        (Some(_), _) => Some((
            http::StatusCode::UNAUTHORIZED,
            "/metrics needs 'Authorization: Bearer <--metrics-token>'.\n",
        )),
        (None, _) if state.auth.requires_signatures() => Some((
            http::StatusCode::FORBIDDEN,
            "/metrics is closed on a server with --credentials until it is started with --metrics-token.\n",
        )),
        (None, _) => None,
    };
    if let Some(refusal) = refusal {
        return refusal.into_response();
    }
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
