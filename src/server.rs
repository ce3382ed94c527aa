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
use crate::sources::{AwsSources, SourceSettings};
use crate::store;
use crate::wire::auth::Authenticator;
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
    /// (Without --credentials only; with them, agent tokens are listed in that file.)
    #[arg(long, env = "APPCONFIGD_AGENT_TOKEN")]
    pub agent_token: Option<String>,

    /// TOML file of `[[credentials]]` (access_key_id, secret_access_key, account_id) and
    /// optional `[[agent_tokens]]` (token, account_id). With it every request must be signed
    /// with AWS SigV4 by one of these keys, and sees only that key's account.
    #[arg(long, env = "APPCONFIGD_CREDENTIALS")]
    pub credentials: Option<std::path::PathBuf>,

    /// Allow listening on a non-loopback address without --credentials (anyone who can reach
    /// the port can then read and change everything).
    #[arg(long, env = "APPCONFIGD_INSECURE_ALLOW_ANONYMOUS")]
    pub insecure_allow_anonymous: bool,

    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, env = "APPCONFIGD_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,

    /// PEM private key for --tls-cert.
    #[arg(long, env = "APPCONFIGD_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,

    /// Bearer token for `GET /metrics` (Prometheus `authorization: credentials`). Required to
    /// scrape a server with --credentials; optional (and then enforced) without.
    #[arg(long, env = "APPCONFIGD_METRICS_TOKEN")]
    pub metrics_token: Option<String>,

    /// Most connections served at once; further clients wait to be accepted.
    #[arg(long, env = "APPCONFIGD_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,

    /// Custom deployment strategies per account (AWS default 20).
    #[arg(
        long,
        env = "APPCONFIGD_QUOTA_DEPLOYMENT_STRATEGIES",
        default_value_t = 20
    )]
    pub quota_deployment_strategies: i64,

    /// Longest a read of an S3, SSM or Secrets Manager configuration source may take (STS
    /// role assumption included), in seconds; a slower source fails StartDeployment or
    /// ValidateConfiguration with BadRequestException.
    #[arg(long, env = "APPCONFIGD_SOURCE_TIMEOUT", default_value_t = 10)]
    pub source_timeout: u64,

    /// Read configuration sources with appconfigd's own AWS credentials instead of assuming
    /// the profile's RetrievalRoleArn through STS (for S3-compatible stores without STS).
    #[arg(long, env = "APPCONFIGD_NO_ASSUME_ROLE")]
    pub no_assume_role: bool,

    /// Address S3 sources path-style (`http://host/bucket/key`), as MinIO, Garage and Ceph
    /// usually need; the default is virtual-hosted style, as on AWS.
    #[arg(long, env = "APPCONFIGD_S3_FORCE_PATH_STYLE")]
    pub s3_force_path_style: bool,
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
    #[error("{0}")]
    Credentials(#[from] crate::wire::auth::LoadError),
    #[error("refusing to listen on {0} without --credentials: anyone who can reach it could read and change every configuration. Pass --credentials FILE, listen on a loopback address (127.0.0.1), or add --insecure-allow-anonymous to accept the risk.")]
    AnonymousOnPublicAddress(SocketAddr),
    #[error("--agent-token cannot be combined with --credentials: list agent tokens in the credentials file as [[agent_tokens]] entries")]
    AgentTokenWithCredentials,
    #[error("{0}")]
    Tls(String),
}

pub async fn serve(cfg: ServeConfig) -> Result<(), StartError> {
    if !(cfg.time_scale.is_finite() && cfg.time_scale > 0.0) {
        return Err(StartError::TimeScale(cfg.time_scale));
    }
    let auth = match &cfg.credentials {
        Some(_) if cfg.agent_token.is_some() => return Err(StartError::AgentTokenWithCredentials),
        Some(path) => Authenticator::from_file(path)?,
        None => {
            if !cfg.listen.ip().is_loopback() && !cfg.insecure_allow_anonymous {
                return Err(StartError::AnonymousOnPublicAddress(cfg.listen));
            }
            Authenticator::anonymous(cfg.account_id.clone(), cfg.agent_token.clone())
        }
    };
    let tls = match (&cfg.tls_cert, &cfg.tls_key) {
        (Some(cert), Some(key)) => Some(tls_acceptor(cert, key)?),
        _ => None,
    };
    let store = store::connect(&cfg.database).await?;
    let feed = change_feed(&store).await?;
    let invoker = TargetInvoker::new(&cfg.region, Duration::from_secs(cfg.invocation_timeout));
    let monitors = Monitors::new(&cfg.region);
    let service = Service {
        store: store.clone(),
        clock: Arc::new(ScaledClock::new(cfg.time_scale)),
        // Counted in /metrics by ops, around the engine's invoker (the engine knows no ops).
        invoker: Arc::new(crate::ops::metrics::Counted(invoker)),
        sources: Arc::new(AwsSources::new(SourceSettings {
            region: cfg.region.clone(),
            timeout: Duration::from_secs(cfg.source_timeout),
            assume_role: !cfg.no_assume_role,
            s3_path_style: cfg.s3_force_path_style,
        })),
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
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(
        %addr,
        backend = store.backend(),
        auth = if auth.requires_signatures() { "sigv4" } else { "anonymous" },
        "appconfigd listening"
    );
    // Tests and scripts read this line to find the port.
    println!("appconfigd listening on {scheme}://{addr}");
    let (stop_engine, engine_stopped) = watch::channel(false);
    let engine = tokio::spawn(
        Engine::new(
            service.clone(),
            Arc::new(monitors),
            Duration::from_secs(cfg.invocation_timeout),
        )
        .run(engine_stopped),
    );
    let dataplane = DataPlane::start(service.clone())
        .await
        .map_err(|e| StartError::DataPlane(e.to_string()))?;
    let front = Arc::new(Front::new(AppState {
        service,
        auth: Arc::new(auth),
        metrics_token: cfg.metrics_token.clone(),
        dataplane,
    }));
    accept_loop(listener, front, tls, cfg.max_connections, shutdown).await;
    // Anything the engine was doing is durable; stopping it mid-pass loses nothing.
    let _ = stop_engine.send(true);
    let _ = engine.await;
    tracing::info!("appconfigd stopped");
    Ok(())
}

/// Largest request head (request line and headers) accepted; bigger heads get 431.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// A TLS client has this long to finish its handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight requests may take to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections (at most `max_connections` at once), optionally over TLS, and serves
/// HTTP/1.1 on each with bounded heads and header timeouts, until `shutdown` resolves; then
/// drains in-flight requests.
async fn accept_loop(
    listener: TcpListener,
    front: Arc<Front>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    max_connections: usize,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        // Slow heads are cut by `stall_guard` instead: hyper's own timeout arms and drops a
        // tokio timer on every request, about 5 % of a read's CPU (docs/performance.md).
        .header_read_timeout(None)
        .max_header_size(MAX_HEAD_BYTES)
        // At most 100 headers: hyper's default, left implicit because setting it makes hyper
        // allocate and zero the header table on every request.
        .max_buf_size(MAX_HEAD_BYTES.max(400 * 1024));
    let http = Arc::new(http);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: back off rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let front = front.clone();
        let activity = Arc::new(stall_guard::Activity::default());
        let service = hyper::service::service_fn({
            let activity = activity.clone();
            move |req| {
                let front = front.clone();
                let busy = activity.request();
                async move {
                    let _busy = busy;
                    Ok::<_, std::convert::Infallible>(front.answer(req, peer).await)
                }
            }
        });
        let http = http.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        let stream = stall_guard::Watched::new(stream, activity.clone());
        let connection = tokio::spawn(async move {
            let _permit = permit;
            let served = match tls {
                Some(acceptor) => {
                    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    {
                        Ok(Ok(s)) => {
                            watcher
                                .watch(http.serve_connection(TokioIo::new(s), service))
                                .await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => return,
                    }
                }
                None => {
                    watcher
                        .watch(http.serve_connection(TokioIo::new(stream), service))
                        .await
                }
            };
            if let Err(e) = served {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
        tokio::spawn(stall_guard::watch(
            activity,
            connection.abort_handle(),
            peer,
        ));
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still busy after the drain timeout");
    }
}

/// TLS from PEM files, on the ring provider (the one crypto stack of this binary).
fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<tokio_rustls::TlsAcceptor, StartError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |what: &str, p: &std::path::Path, e: &dyn std::fmt::Display| {
        StartError::Tls(format!("cannot use {what} {}: {e}", p.display()))
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad("--tls-cert", cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad("--tls-cert", cert, &e))?;
    if certs.is_empty() {
        return Err(bad("--tls-cert", cert, &"no certificate in the file"));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| bad("--tls-key", key, &e))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| StartError::Tls(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(certs, key_der)
    .map_err(|e| StartError::Tls(format!("certificate and key do not fit: {e}")))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
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

/// Slow-loris protection with one timer per connection instead of one per request: a
/// connection on which, for `STALL_TICKS` ticks of `TICK` running, no request head arrived, no
/// response byte was written and no request was being answered is closed. A client thus has
/// 30–45 s to send a request head, on a new connection or between requests.
mod stall_guard {
    use std::io;
    use std::net::SocketAddr;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    use std::sync::Arc;
    use std::task::{Context, Poll};
    use std::time::Duration;

    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
    use tokio::task::AbortHandle;

    pub const TICK: Duration = Duration::from_secs(15);
    pub const STALL_TICKS: u32 = 2;

    /// What a connection has done, as counters: only the connection's own task writes them
    /// (plain load and store, no locked instruction on the read path); the guard reads them.
    #[derive(Default)]
    pub struct Activity {
        /// Request heads received and writes that made progress.
        progress: AtomicU64,
        /// Requests being answered.
        busy: AtomicU64,
    }

    impl Activity {
        fn bump(counter: &AtomicU64, by: i64) {
            counter.store(counter.load(Relaxed).wrapping_add_signed(by), Relaxed);
        }

        /// A request head arrived; the request counts as busy until the guard is dropped.
        pub fn request(self: &Arc<Self>) -> Busy {
            Self::bump(&self.progress, 1);
            Self::bump(&self.busy, 1);
            Busy(self.clone())
        }

        fn snapshot(&self) -> (u64, u64) {
            (self.progress.load(Relaxed), self.busy.load(Relaxed))
        }
    }

    pub struct Busy(Arc<Activity>);

    impl Drop for Busy {
        fn drop(&mut self) {
            Activity::bump(&self.0.busy, -1);
        }
    }

    /// Ends the connection task once it has stalled; returns when the connection has ended.
    pub async fn watch(activity: Arc<Activity>, connection: AbortHandle, peer: SocketAddr) {
        if stalled(&activity, || connection.is_finished()).await {
            tracing::debug!(%peer, "closing a connection that sent no request head in time");
            connection.abort();
        }
    }

    /// Whether the connection stalled (true) or ended (false) first.
    pub async fn stalled(activity: &Activity, ended: impl Fn() -> bool) -> bool {
        let mut seen = activity.snapshot();
        let mut idle = 0;
        loop {
            tokio::time::sleep(TICK).await;
            if ended() {
                return false;
            }
            let now = activity.snapshot();
            idle = if now == seen && now.1 == 0 {
                idle + 1
            } else {
                0
            };
            if idle >= STALL_TICKS {
                return true;
            }
            seen = now;
        }
    }

    /// A stream that counts its writes as progress (reads are not: a slow-loris client
    /// trickles bytes in).
    pub struct Watched<S> {
        inner: S,
        activity: Arc<Activity>,
    }

    impl<S> Watched<S> {
        pub fn new(inner: S, activity: Arc<Activity>) -> Self {
            Watched { inner, activity }
        }

        fn wrote(&self, r: &Poll<io::Result<usize>>) {
            if let Poll::Ready(Ok(n)) = r {
                if *n > 0 {
                    Activity::bump(&self.activity.progress, 1);
                }
            }
        }
    }

    impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_read(cx, buf)
        }
    }

    impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let r = Pin::new(&mut self.inner).poll_write(cx, buf);
            self.wrote(&r);
            r
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
            self.wrote(&r);
            r
        }

        fn is_write_vectored(&self) -> bool {
            self.inner.is_write_vectored()
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_shutdown(cx)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[tokio::test(start_paused = true)]
        async fn an_idle_connection_stalls_after_two_quiet_ticks() {
            let activity = Activity::default();
            let started = tokio::time::Instant::now();
            assert!(stalled(&activity, || false).await);
            assert_eq!(started.elapsed(), TICK * 2);
        }

        #[tokio::test(start_paused = true)]
        async fn request_heads_and_busy_requests_keep_it_open() {
            let activity = Arc::new(Activity::default());
            let ends_after = |ticks: u32| {
                let started = tokio::time::Instant::now();
                move || started.elapsed() >= TICK * ticks
            };
            // A request head every tick: never stalls (the connection ends first).
            let a = activity.clone();
            let heads = async move {
                for _ in 0..5 {
                    tokio::time::sleep(TICK - Duration::from_secs(1)).await;
                    drop(a.request());
                }
            };
            let (stalled_first, ()) = tokio::join!(stalled(&activity, ends_after(5)), heads);
            assert!(!stalled_first);
            // One slow request in progress: never stalls.
            let busy = activity.request();
            assert!(!stalled(&activity, ends_after(5)).await);
            // Once it is answered, two quiet ticks close the connection.
            drop(busy);
            assert!(stalled(&activity, ends_after(5)).await);
        }

        #[tokio::test(start_paused = true)]
        async fn writes_count_as_progress() {
            use tokio::io::AsyncWriteExt;
            let activity = Arc::new(Activity::default());
            let (client, mut server) = tokio::io::duplex(64);
            let mut watched = Watched::new(client, activity.clone());
            let before = activity.snapshot();
            watched.write_all(b"HTTP/1.1 200 OK\r\n").await.unwrap();
            let mut got = [0u8; 17];
            tokio::io::AsyncReadExt::read_exact(&mut server, &mut got)
                .await
                .unwrap();
            assert_ne!(activity.snapshot(), before);
        }
    }
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

/// What every request meets first. Data-plane reads (nearly all the traffic) are classified
/// and answered here, straight from the data plane, and counted: no router, middleware or
/// state clone in between. Everything else goes through the axum router: the AppConfig API
/// behind its metrics layer, and beside it the operator routes and the console.
struct Front {
    state: AppState,
    app: axum::Router,
}

impl Front {
    fn new(state: AppState) -> Self {
        let app = wire::router(state.clone())
            .layer(axum::middleware::from_fn(crate::ops::metrics::track))
            .merge(crate::ops::routes(state.clone()));
        Front { state, app }
    }

    async fn answer(
        &self,
        req: http::Request<hyper::body::Incoming>,
        peer: SocketAddr,
    ) -> http::Response<wire::ReplyBody> {
        use wire::endpoint::Endpoint;
        let endpoint = Endpoint::classify(req.method(), req.uri().path(), req.uri().query());
        if let Endpoint::Data(route) = endpoint {
            let started = std::time::Instant::now();
            let resp = wire::data_plane(&self.state, req, route, peer).await;
            crate::ops::metrics::record_data(route, &resp, started.elapsed());
            return resp;
        }
        // Classified once: the API handler and the metrics layer read it from the request.
        let mut req = req.map(axum::body::Body::new);
        req.extensions_mut().insert(endpoint);
        // Boxed: the router's future stays out of the reads' (hyper moves that per request).
        let resp = match Box::pin(tower::ServiceExt::oneshot(self.app.clone(), req)).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        resp.map(http_body_util::Either::Right)
    }
}
