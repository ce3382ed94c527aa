//! Liveness and readiness probes.
//!
//! `/healthz` answers while the process serves HTTP. `/readyz` also reads from the store:
//! one row count on `resources` (migration 1) and the next due job (`jobs`, the newest
//! migration), so it fails when the database is unreachable, locked, corrupt or missing
//! tables. Migrations are applied at start-up before the listener opens, so a server that
//! answers at all has applied them; the reads check they are still there.

use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;

use crate::store::{Kind, StoreError};
use crate::wire::AppState;

/// A probe that waits longer than this is answered 503: a store this slow is not ready.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn healthz() -> Response {
    (StatusCode::OK, "ok\n").into_response()
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(READY_TIMEOUT, probe(&state)).await {
        Ok(Ok(())) => (StatusCode::OK, "ready\n").into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness probe failed");
            // The probe is unauthenticated: with credentials, the reason goes to the log only.
            let reason = if state.auth.requires_signatures() {
                "the store is unavailable (see the server log)".to_string()
            } else {
                e.to_string()
            };
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {reason}\n"),
            )
                .into_response()
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the store did not answer within 2 s\n",
        )
            .into_response(),
    }
}

async fn probe(state: &AppState) -> Result<(), StoreError> {
    let svc = &state.service;
    {
        // Any account will do: the read only has to reach the table.
        let account = state.auth.accounts().into_iter().next().unwrap_or_default();
        let mut tx = svc.store.read(&account).await?;
        tx.count(Kind::Application, None).await?;
    }
    svc.store.next_due(svc.clock.wall_millis()).await?;
    Ok(())
}
