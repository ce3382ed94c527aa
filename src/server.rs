//! Start-up: configuration, storage, the HTTP listener and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::dataplane::DataPlane;
use crate::domain::clock::ScaledClock;
use crate::domain::{Change, ChangeFeed, Quotas, Service, Settings};
use crate::engine::monitors::Monitors;
use crate::engine::targets::TargetInvoker;
use crate::engine::Engine;
use crate::store;
use crate::wire::{self, AppState};

/// `appconfigd serve` flags. Each can also be set by an environment variable.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, env = "APPCONFIGD_LISTEN", default_value = "127.0.0.1:2772")]
    pub listen: SocketAddr,

    /// Database URL: `sqlite://PATH` (created if missing) or `postgres://USER@HOST/DB`.
    #[arg(
        long,
        env = "APPCONFIGD_DATABASE",
        default_value = "sqlite://appconfigd.db"
    )]
    pub database: String,

    /// Speed-up factor for every service-side clock (deployment steps, bake times): 60 makes
    /// a one-hour deployment take one minute. Timestamps shown to clients stay wall-clock.
    #[arg(long, env = "APPCONFIGD_TIME_SCALE", default_value_t = 1.0)]
    pub time_scale: f64,

    /// AWS region used in ARNs.
    #[arg(long, env = "APPCONFIGD_REGION", default_value = "us-east-1")]
    pub region: String,

    /// AWS account id used in ARNs and as the owner of every resource.
    #[arg(long, env = "APPCONFIGD_ACCOUNT_ID", default_value = "000000000000")]
    pub account_id: String,

    /// Largest hosted configuration version in bytes (AWS: 2 MB); larger uploads get
    /// PayloadTooLargeException.
    #[arg(long, env = "APPCONFIGD_MAX_CONFIGURATION_BYTES", default_value_t = 2 * 1024 * 1024)]
    pub max_configuration_bytes: usize,

    /// Applications per account (AWS default 100).
    #[arg(long, env = "APPCONFIGD_QUOTA_APPLICATIONS", default_value_t = 100)]
    pub quota_applications: i64,

    /// Environments per application (AWS default 20).
    #[arg(long, env = "APPCONFIGD_QUOTA_ENVIRONMENTS", default_value_t = 20)]
    pub quota_environments: i64,

    /// Configuration profiles per application (AWS default 100).
    #[arg(long, env = "APPCONFIGD_QUOTA_PROFILES", default_value_t = 100)]
    pub quota_profiles: i64,

    /// Timeout for one call to an extension target or LAMBDA validator, in seconds.
    #[arg(long, env = "APPCONFIGD_INVOCATION_TIMEOUT", default_value_t = 10)]
    pub invocation_timeout: u64,

    /// If set, agent-style reads (`GET /applications/…/configurations/…` without client_id)
    /// require `Authorization: Bearer <token>`, like the AppConfig Agent's ACCESS_TOKEN.
    #[arg(long, env = "APPCONFIGD_AGENT_TOKEN")]
    pub agent_token: Option<String>,

    /// Custom deployment strategies per account (AWS default 20).
    #[arg(
        long,
        env = "APPCONFIGD_QUOTA_DEPLOYMENT_STRATEGIES",
        default_value_t = 20
    )]
    pub quota_deployment_strategies: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Store(#[from] store::StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("invalid --time-scale {0}: must be a positive number")]
    TimeScale(f64),
    #[error("server error: {0}")]
    Serve(std::io::Error),
    #[error("cannot start the data plane: {0}")]
    DataPlane(String),
}

pub async fn serve(cfg: ServeConfig) -> Result<(), StartError> {
    if !(cfg.time_scale.is_finite() && cfg.time_scale > 0.0) {
        return Err(StartError::TimeScale(cfg.time_scale));
    }
    let store = store::connect(&cfg.database).await?;
    let feed = change_feed(&store).await?;
    let invoker = TargetInvoker::new(&cfg.region, Duration::from_secs(cfg.invocation_timeout));
    let monitors = Monitors::new(&cfg.region);
    let service = Service {
        store: store.clone(),
        clock: Arc::new(ScaledClock::new(cfg.time_scale)),
        invoker: Arc::new(invoker),
        wake: Arc::new(tokio::sync::Notify::new()),
        changes: feed.clone(),
        settings: Arc::new(Settings {
            region: cfg.region.clone(),
            time_scale: cfg.time_scale,
            quotas: Quotas {
                applications: cfg.quota_applications,
                environments_per_application: cfg.quota_environments,
                profiles_per_application: cfg.quota_profiles,
                deployment_strategies: cfg.quota_deployment_strategies,
                hosted_configuration_bytes: cfg.max_configuration_bytes,
            },
        }),
    };
    let listener = TcpListener::bind(cfg.listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: cfg.listen,
            source,
        })?;
    let shutdown = shutdown_signal().map_err(StartError::Serve)?;
    let addr = listener.local_addr().map_err(StartError::Serve)?;
    tracing::info!(%addr, backend = store.backend(), "appconfigd listening");
    // Tests and scripts read this line to find the port.
    println!("appconfigd listening on http://{addr}");
    let (stop_engine, engine_stopped) = watch::channel(false);
    let engine = tokio::spawn(
        Engine::new(
            service.clone(),
            Arc::new(monitors),
            Duration::from_secs(cfg.invocation_timeout),
        )
        .run(engine_stopped),
    );
    let dataplane = DataPlane::start(
        service.clone(),
        cfg.account_id.clone(),
        cfg.agent_token.clone(),
    )
    .await
    .map_err(|e| StartError::DataPlane(e.to_string()))?;
    let app = wire::router(AppState {
        service,
        account_id: cfg.account_id.clone(),
        dataplane,
    });
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    // Anything the engine was doing is durable; stopping it mid-pass loses nothing.
    let _ = stop_engine.send(true);
    let _ = engine.await;
    served.map_err(StartError::Serve)?;
    tracing::info!("appconfigd stopped");
    Ok(())
}

/// The change feed. With PostgreSQL, changes go out by NOTIFY and come in by LISTEN, so every
/// node's data-plane snapshot follows deployments driven by any node within milliseconds.
async fn change_feed(store: &store::DynStore) -> Result<ChangeFeed, StartError> {
    let Some(mut incoming) = store.subscribe().await? else {
        return Ok(ChangeFeed::new(None));
    };
    let node = crate::domain::ids::new_id();
    let (out_tx, mut out_rx) = tokio::sync::mpsc::unbounded_channel::<Change>();
    let feed = ChangeFeed::new(Some(out_tx));
    let publisher = store.clone();
    let origin = node.clone();
    tokio::spawn(async move {
        while let Some(change) = out_rx.recv().await {
            let msg = serde_json::json!({ "node": origin, "change": change }).to_string();
            if let Err(e) = publisher.publish(&msg).await {
                tracing::warn!(error = %e, "cannot publish change to other nodes");
            }
        }
    });
    let local = feed.clone();
    tokio::spawn(async move {
        while let Some(msg) = incoming.recv().await {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&msg) else {
                continue;
            };
            if v["node"].as_str() == Some(node.as_str()) {
                continue; // Our own change, already applied locally.
            }
            if let Ok(change) = serde_json::from_value::<Change>(v["change"].clone()) {
                local.inject(change);
            }
        }
    });
    Ok(feed)
}

/// Registers SIGTERM and Ctrl-C handlers now (before the ready line is printed, so a signal
/// sent right after it is never missed) and resolves when one arrives.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let (mut term, mut int) = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::terminate())?,
            signal(SignalKind::interrupt())?,
        )
    };
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown signal received; finishing in-flight requests");
    })
}
