//! The wire layer: HTTP in, HTTP out, restJson1 as the AWS model defines it. Routing, input
//! binding and constraint checks are derived from the embedded model; handlers live in the
//! domain and are reached through `dispatch`.

pub mod auth;
pub mod dispatch;
pub mod endpoint;
pub mod input;
pub mod model;
pub mod output;
pub mod router;

use std::time::Instant;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::response::Response;
use axum::Router;

use crate::dataplane::Route;
use crate::domain::error::Error;
use crate::domain::{hosted_versions, ids, Ctx, Service};
use endpoint::Endpoint;

/// Shared state of the HTTP server.
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub auth: std::sync::Arc<auth::Authenticator>,
    /// Bearer token `/metrics` requires (see `ops::metrics_page`).
    pub metrics_token: Option<String>,
    pub dataplane: std::sync::Arc<crate::dataplane::DataPlane>,
}

/// JSON request bodies are small (the largest model string is 32 KB); only hosted
/// configuration content may be bigger, up to the configured limit.
const JSON_BODY_LIMIT: usize = 1024 * 1024;
/// Longest request target accepted (paths carry at most a few ARNs; query strings a token).
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// A client has this long to send its whole body.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The AppConfig API (control and data plane). `server.rs` puts the endpoint classification
/// and metrics around it and the operator routes beside it.
pub fn router(state: AppState) -> Router {
    Router::new().fallback(handle).with_state(state)
}

async fn handle(State(state): State<AppState>, mut req: Request) -> Response {
    let started = Instant::now();
    if let Some(refusal) = refuse_long_uri(req.uri()) {
        return refusal;
    }
    // The server's front classified the request already; data-plane routes never get here.
    let endpoint = match req.extensions_mut().remove::<Endpoint>() {
        Some(e) => e,
        None => Endpoint::classify(req.method(), req.uri().path(), req.uri().query()),
    };
    let request_id = ids::request_id();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let (op_name, response) = match serve(&state, req, endpoint, &request_id).await {
        Ok((op, resp)) => (op, resp),
        Err((op, err)) => {
            if let Error::Internal(detail) = &err {
                tracing::error!(%request_id, op, %detail, "internal error");
            }
            (op, output::error(&err, &request_id))
        }
    };
    tracing::info!(
        target: "appconfigd::request",
        %method,
        %path,
        op = op_name,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        %request_id,
    );
    response
}

/// 414 for a request target longer than `MAX_URI_BYTES` (measured without formatting it).
fn refuse_long_uri(uri: &http::Uri) -> Option<Response> {
    let len = uri.scheme_str().map_or(0, |s| s.len() + 3)
        + uri.authority().map_or(0, |a| a.as_str().len())
        + uri.path_and_query().map_or(1, |p| p.as_str().len());
    (len > MAX_URI_BYTES).then(|| {
        output::error_with_status(
            http::StatusCode::URI_TOO_LONG,
            &Error::bad_request(format!(
                "The request URI is longer than {MAX_URI_BYTES} bytes."
            )),
            "-",
        )
    })
}

type Served = Result<(&'static str, Response), (&'static str, Error)>;

async fn serve(state: &AppState, req: Request, endpoint: Endpoint, request_id: &str) -> Served {
    // Strangers learn nothing, not even which paths exist, and upload nothing.
    let caller = state
        .auth
        .precheck(req.uri(), req.headers(), std::time::SystemTime::now)
        .map_err(|e| ("-", Error::from(e)))?
        // The request is taken apart below, to read its body.
        .into_owned();
    let (op, labels) = match endpoint {
        Endpoint::Operation { op, labels } => (op, labels),
        Endpoint::MethodNotAllowed | Endpoint::Data(_) => {
            return Err((
                "-",
                Error::bad_request(format!(
                    "Method {} is not supported for {}.",
                    req.method(),
                    req.uri().path()
                )),
            ))
        }
        Endpoint::NotFound => {
            return Err((
                "-",
                Error::ResourceNotFound {
                    message: format!(
                        "No AppConfig operation matches {} {}.",
                        req.method(),
                        req.uri().path()
                    ),
                    resource_name: None,
                },
            ))
        }
    };
    let name = op.name.as_str();
    let fail = |e| (name, e);
    let svc = &state.service;
    let (parts, body) = req.into_parts();
    let limit = JSON_BODY_LIMIT.max(svc.settings.quotas.hosted_configuration_bytes + 1);
    let body = read_body(body, limit).await.map_err(|e| match e {
        BodyError::TooLarge(size) => {
            let declared = parts
                .headers
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(size);
            fail(hosted_versions::too_large(svc, declared))
        }
        BodyError::Unreadable(e) => fail(e),
    })?;
    let account = caller
        .verify(&parts.method, &parts.uri, &parts.headers, &body)
        .map_err(|e| fail(Error::from(e)))?
        .to_string();
    let ctx = Ctx { account };
    let raw = input::RawRequest {
        labels: &labels,
        query: parts.uri.query(),
        headers: &parts.headers,
        body: &body,
    };
    let value = input::build(op, &raw).map_err(fail)?;
    let reply = dispatch::dispatch(svc, &ctx, name, value, body.clone())
        .await
        .map_err(fail)?;
    Ok((name, output::success(op, reply, request_id)))
}

/// Body of a data-plane answer: the data plane's in-memory buffer, or (errors) an axum body.
pub type ReplyBody = http_body_util::Either<http_body_util::Full<bytes::Bytes>, Body>;

/// AppConfigData's two operations and the configurations read path (the agent API, and the
/// deprecated GetConfiguration), called by the server's front for every request it classified
/// as `route`: no router, no middleware, no per-request state clone on the way.
pub async fn data_plane(
    state: &AppState,
    req: http::Request<hyper::body::Incoming>,
    route: Route,
    peer: std::net::SocketAddr,
) -> http::Response<ReplyBody> {
    use http_body_util::Either;
    if let Some(refusal) = refuse_long_uri(req.uri()) {
        return refusal.map(Either::Right);
    }
    let (parts, body) = req.into_parts();
    let (account, body) = match data_plane_caller(state, &parts, body, route).await {
        Ok(a) => a,
        Err(e) => return output::error(&e, "-").map(Either::Right),
    };
    let path = parts.uri.path();
    let resp = state
        .dataplane
        .handle(
            account,
            route,
            path,
            parts.uri.query(),
            &parts.headers,
            &body,
            peer,
        )
        .await;
    let resp = match resp {
        Some(Ok(r)) => r.map(Either::Left),
        Some(Err(e)) => output::data_error(e).map(Either::Right),
        None => {
            output::error(&Error::bad_request("Unknown data-plane route."), "-").map(Either::Right)
        }
    };
    // The read path runs millions of times a day: its log line is at debug level.
    tracing::debug!(
        target: "appconfigd::request",
        method = %parts.method,
        path,
        status = resp.status().as_u16(),
    );
    resp
}

/// Who calls the data plane. The agent-compatible read path takes a bearer token (mapped to
/// an account) as the AppConfig Agent does; everything else is SigV4, like the control plane.
async fn data_plane_caller<'s>(
    state: &'s AppState,
    parts: &http::request::Parts,
    body: hyper::body::Incoming,
    route: Route,
) -> Result<(&'s str, bytes::Bytes), Error> {
    let now = std::time::SystemTime::now;
    let caller = match route {
        Route::AgentRead => match state.auth.agent_account(&parts.headers) {
            auth::AgentAuth::Account(a) => auth::Prechecked::Known(a),
            auth::AgentAuth::Refused => return Err(Error::Unauthorized),
            auth::AgentAuth::Signed => state.auth.precheck(&parts.uri, &parts.headers, now)?,
        },
        _ => state.auth.precheck(&parts.uri, &parts.headers, now)?,
    };
    if hyper::body::Body::is_end_stream(&body) {
        // Reads carry no body: no timed read, and nothing held across an await.
        let account = caller.verify(&parts.method, &parts.uri, &parts.headers, &[])?;
        return Ok((account, bytes::Bytes::new()));
    }
    // Boxed: the timed read stays out of the reads' future (hyper moves that on every request).
    Box::pin(async move {
        let body = read_body(Body::new(body), JSON_BODY_LIMIT)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge(_) => Error::bad_request("The request body is too large."),
                BodyError::Unreadable(e) => e,
            })?;
        let account = caller.verify(&parts.method, &parts.uri, &parts.headers, &body)?;
        Ok((account, body))
    })
    .await
}

enum BodyError {
    /// Bigger than the limit (the limit is what was seen).
    TooLarge(usize),
    /// Timed out, or the connection broke.
    Unreadable(Error),
}

/// Reads the whole body within `BODY_TIMEOUT`, or says why not.
async fn read_body(body: Body, limit: usize) -> Result<bytes::Bytes, BodyError> {
    match tokio::time::timeout(BODY_TIMEOUT, to_bytes(body, limit)).await {
        Err(_) => Err(BodyError::Unreadable(Error::RequestTimeout)),
        Ok(Ok(b)) => Ok(b),
        Ok(Err(e)) => {
            // axum reports "length limit exceeded" as an error whose source chain says so.
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.to_string().contains("length limit"))
                || e.to_string().contains("length limit");
            if too_large {
                Err(BodyError::TooLarge(limit))
            } else {
                Err(BodyError::Unreadable(Error::bad_request(
                    "The request body could not be read.",
                )))
            }
        }
    }
}
