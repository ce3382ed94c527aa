//! Prometheus metrics (OpenMetrics text, which Prometheus scrapes natively).
//!
//! Counters and histograms live in one process-wide registry, so any layer can count without
//! being handed a handle (the engine's invoker, the HTTP middleware). What the store knows
//! (deployments by state, progress of live deployments) is read at scrape time, so it is right
//! on every node of a cluster and never drifts.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::StatusCode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::dataplane::Route;
use crate::domain::deployments::DeploymentState;
use crate::domain::Service;
use crate::store::{Kind, ListQuery, StoreError};

/// Request latency buckets, in seconds: the data plane answers in well under a millisecond,
/// StartDeployment with LAMBDA validators may take seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InvocationLabels {
    action_point: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PollLabels {
    api: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LiveLabels {
    application_id: String,
    environment_id: String,
    deployment_number: i64,
    state: String,
}

type HistogramFamily = Family<OperationLabels, Histogram, fn() -> Histogram>;

struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    invocations: Family<InvocationLabels, Counter>,
    /// Data-plane counters, resolved once: a poll costs one atomic add, not a map lookup.
    sessions_started: Counter,
    sessions_failed: Counter,
    polls: Family<PollLabels, Counter>,
    /// The data-plane routes' usual series, in `Route::ALL` order.
    routes: Vec<RouteSeries>,
}

/// A data-plane route's usual series, resolved once: a read costs atomic adds and one
/// histogram observation, not a map lookup per series.
struct RouteSeries {
    route: Route,
    /// The status of a successful answer (201 for a session, 200 for reads).
    ok_status: u16,
    ok: Counter,
    latency: Histogram,
    /// Poll outcome → its counter (the outcomes created up front).
    outcomes: Vec<(&'static str, Counter)>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("appconfigd");
    let requests = Family::<RequestLabels, Counter>::default();
    registry.register(
        "requests",
        "HTTP requests by AppConfig operation and status code",
        requests.clone(),
    );
    let latency: HistogramFamily = Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS));
    registry.register(
        "request_duration_seconds",
        "Time to answer a request, by AppConfig operation",
        latency.clone(),
    );
    let invocations = Family::<InvocationLabels, Counter>::default();
    registry.register(
        "extension_invocations",
        "Calls to extension targets and LAMBDA validators (each attempt) by action point and outcome",
        invocations.clone(),
    );
    let sessions = Family::<OutcomeLabels, Counter>::default();
    registry.register(
        "dataplane_sessions",
        "StartConfigurationSession calls by outcome",
        sessions.clone(),
    );
    let polls = Family::<PollLabels, Counter>::default();
    registry.register(
        "dataplane_polls",
        "Configuration reads by API and outcome (changed, unchanged, served, error)",
        polls.clone(),
    );
    // Create the common series up front so they show (as 0) before the first request.
    let routes = Route::ALL
        .into_iter()
        .map(|route| {
            let operation = route.name();
            let (ok_status, outcomes) = match route {
                Route::StartConfigurationSession => (201, &[][..]),
                Route::AgentRead => (200, &["served", "error"][..]),
                _ => (200, &["changed", "unchanged", "error"][..]),
            };
            RouteSeries {
                route,
                ok_status,
                ok: requests.get_or_create_owned(&RequestLabels {
                    operation,
                    status: ok_status,
                }),
                latency: latency.get_or_create_owned(&OperationLabels { operation }),
                outcomes: outcomes
                    .iter()
                    .map(|&outcome| {
                        let labels = PollLabels {
                            api: operation,
                            outcome,
                        };
                        (outcome, polls.get_or_create_owned(&labels))
                    })
                    .collect(),
            }
        })
        .collect();
    Metrics {
        routes,
        registry,
        requests,
        latency,
        invocations,
        sessions_started: sessions.get_or_create_owned(&OutcomeLabels { outcome: "started" }),
        sessions_failed: sessions.get_or_create_owned(&OutcomeLabels { outcome: "error" }),
        polls,
    }
});

/// Metrics named without the `appconfigd_` prefix: experiment treatments served (AWS's
/// `ReturnedCount` in CloudWatch; counted by the data plane when the account's VendedMetrics
/// is on).
static UNPREFIXED: LazyLock<Registry> = LazyLock::new(|| {
    let mut registry = Registry::default();
    registry.register(
        "appconfig_experiment_treatments_served",
        "Experiment treatment answers served on the agent read path, by application, environment, configuration profile (ids), flag and variant",
        crate::dataplane::experiments::TREATMENTS_SERVED.clone(),
    );
    registry
});

/// One call to an extension target or LAMBDA validator finished (called by the engine's
/// invoker for every attempt, retries included).
pub fn invocation(action_point: &str, ok: bool) {
    METRICS
        .invocations
        .get_or_create(&InvocationLabels {
            action_point: action_point.to_string(),
            outcome: if ok { "success" } else { "error" },
        })
        .inc();
}

/// The operation the request was classified into (`wire::endpoint`), as metrics name it.
fn operation(req: &Request) -> &'static str {
    use crate::wire::endpoint::Endpoint as Classified;
    // Borrowed: the label is all metrics needs, not a copy of the path labels.
    let fresh;
    let classified = match req.extensions().get::<Classified>() {
        Some(e) => e,
        None => {
            fresh = Classified::classify(req.method(), req.uri().path(), req.uri().query());
            &fresh
        }
    };
    classified.name()
}

/// Axum middleware around the control-plane API (the server's front answers data-plane
/// routes itself and counts them with `record_data`): counts and times every request.
pub async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let operation = operation(&req);
    let resp = next.run(req).await;
    let m = &*METRICS;
    m.requests
        .get_or_create(&RequestLabels {
            operation,
            status: resp.status().as_u16(),
        })
        .inc();
    m.latency
        .get_or_create(&OperationLabels { operation })
        .observe(started.elapsed().as_secs_f64());
    resp
}

/// Counts and times one data-plane request (the server's front answers those without the
/// router, so without `track`): requests and latency as `track` counts them, plus sessions and
/// poll outcomes, through resolved handles.
pub fn record_data<B>(route: Route, resp: &http::Response<B>, elapsed: Duration) {
    let m = &*METRICS;
    let Some(series) = m.routes.iter().find(|s| s.route == route) else {
        return;
    };
    let status = resp.status();
    if status.as_u16() == series.ok_status {
        series.ok.inc();
    } else {
        m.requests
            .get_or_create(&RequestLabels {
                operation: route.name(),
                status: status.as_u16(),
            })
            .inc();
    }
    series.latency.observe(elapsed.as_secs_f64());
    if route == Route::StartConfigurationSession {
        if status.is_success() {
            m.sessions_started.inc();
        } else {
            m.sessions_failed.inc();
        }
        return;
    }
    let outcome = poll_outcome(route.name(), resp);
    match series.outcomes.iter().find(|(o, _)| *o == outcome) {
        Some((_, counter)) => counter.inc(),
        None => m
            .polls
            .get_or_create(&PollLabels {
                api: route.name(),
                outcome,
            })
            .inc(),
    };
}

/// GetLatestConfiguration answers "no change" with 200 and no content type; GetConfiguration
/// with 204.
fn poll_outcome<B>(api: &str, resp: &http::Response<B>) -> &'static str {
    let status = resp.status();
    if !status.is_success() {
        "error"
    } else if api == "AgentRead" {
        "served"
    } else if status == StatusCode::NO_CONTENT
        || !resp.headers().contains_key(http::header::CONTENT_TYPE)
    {
        "unchanged"
    } else {
        "changed"
    }
}

/// The whole exposition: process-wide counters, then what the store says now.
pub async fn render(svc: &Service, accounts: &[String]) -> String {
    let mut out = String::new();
    let _ = prometheus_client::encoding::text::encode_registry(&mut out, &METRICS.registry);
    let _ = prometheus_client::encoding::text::encode_registry(&mut out, &UNPREFIXED);
    let scraped = store_metrics(svc, accounts).await;
    let _ = prometheus_client::encoding::text::encode_registry(&mut out, &scraped);
    let _ = prometheus_client::encoding::text::encode_eof(&mut out);
    out
}

/// Deployments by state and the progress of live ones, read from the store (one pass over
/// each account's deployments, a page at a time). `store_up` says whether that worked.
async fn store_metrics(svc: &Service, accounts: &[String]) -> Registry {
    let mut registry = Registry::with_prefix("appconfigd");
    let by_state = Family::<StateLabels, Gauge>::default();
    let live = Family::<LiveLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
    let up = Gauge::<i64>::default();
    // Every deployment state, so each scrape shows all of them (0 included).
    for state in DeploymentState::ALL {
        let _ = by_state.get_or_create(&StateLabels {
            state: state.as_str(),
        });
    }
    up.set(1);
    for account in accounts {
        if let Err(e) = count_deployments(svc, account, &by_state, &live).await {
            tracing::warn!(error = %e, "metrics: cannot read deployments from the store");
            up.set(0);
            break;
        }
    }
    registry.register(
        "store_up",
        "1 if the store answered the scrape's reads, else 0",
        up,
    );
    registry.register(
        "deployments",
        "Deployments by state (all environments of every account)",
        by_state,
    );
    registry.register(
        "deployment_percentage_complete",
        "PercentageComplete of deployments that are VALIDATING, DEPLOYING, BAKING or ROLLING_BACK",
        live,
    );
    registry
}

async fn count_deployments(
    svc: &Service,
    account: &str,
    by_state: &Family<StateLabels, Gauge>,
    live: &Family<LiveLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
) -> Result<(), StoreError> {
    const PAGE: i64 = 500;
    let mut tx = svc.store.read(account).await?;
    let mut after_seq = 0;
    loop {
        let rows = tx
            .list(ListQuery {
                kind: Kind::Deployment,
                parent: None,
                attr: None,
                after_seq,
                limit: PAGE,
                descending: false,
            })
            .await?;
        for rec in &rows {
            let Ok(state) = rec.body["State"]
                .as_str()
                .unwrap_or_default()
                .parse::<DeploymentState>()
            else {
                continue;
            };
            by_state
                .get_or_create(&StateLabels {
                    state: state.as_str(),
                })
                .inc();
            if state.is_active() {
                let text = |k: &str| rec.body[k].as_str().unwrap_or_default().to_string();
                live.get_or_create(&LiveLabels {
                    application_id: text("ApplicationId"),
                    environment_id: text("EnvironmentId"),
                    deployment_number: rec.body["DeploymentNumber"].as_i64().unwrap_or(0),
                    state: state.to_string(),
                })
                .set(rec.body["PercentageComplete"].as_f64().unwrap_or(0.0));
            }
        }
        match rows.last() {
            Some(last) if rows.len() as i64 == PAGE => after_seq = last.seq,
            _ => return Ok(()),
        }
    }
}

/// An invoker that counts every extension invocation by action point and outcome around the
/// one it wraps (`server.rs` wraps the engine's), so the engine needs no knowledge of metrics.
pub struct Counted<I>(pub I);

#[async_trait::async_trait]
impl<I: crate::domain::invocation::Invoker> crate::domain::invocation::Invoker for Counted<I> {
    async fn invoke(
        &self,
        call: &crate::domain::invocation::ActionCall,
    ) -> Result<Option<serde_json::Value>, crate::domain::invocation::InvokeError> {
        let outcome = self.0.invoke(call).await;
        invocation(&call.action_point, outcome.is_ok());
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invocation_outcomes_are_counted() {
        invocation("ON_DEPLOYMENT_START", false);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &METRICS.registry).unwrap_or(());
        assert!(out.contains(
            "appconfigd_extension_invocations_total{action_point=\"ON_DEPLOYMENT_START\",outcome=\"error\"}"
        ));
    }
}
