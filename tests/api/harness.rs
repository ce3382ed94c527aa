//! Boots the real `appconfigd` binary on 127.0.0.1 with a private database and hands out AWS SDK
//! clients pointed at it.
//!
//! Backend: `APPCONFIGD_TEST_BACKEND=sqlite` (default; a temporary directory per server) or
//! `postgres` (an empty database `appconfigd_t_<pid>_<random>` per server on the cluster named
//! by `APPCONFIGD_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432`, managed
//! with `psql`; see [`PgPool`]).

#![allow(dead_code)]

use std::fmt::Debug;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use aws_sdk_appconfig::config::http::HttpResponse;
use aws_sdk_appconfig::config::retry::RetryConfig;
use aws_sdk_appconfig::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_appconfig::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_appconfig::Client;

/// Account and region the server is started with (the binary's defaults).
pub const ACCOUNT: &str = "000000000000";
pub const REGION: &str = "us-east-1";

const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Environment every test server gets unless a test overrides it: AWS SDK calls of extension
/// targets and CloudWatch monitors go to a closed local port (discard), never to AWS.
pub const AWS_SANDBOX_ENV: &[(&str, &str)] = &[
    ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("APPCONFIGD_TEST_BACKEND").as_deref() {
        Ok("postgres") | Ok("postgresql") | Ok("pg") => Backend::Postgres,
        Ok("sqlite") | Ok("") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("APPCONFIGD_TEST_BACKEND={other:?}: use sqlite or postgres"),
    }
}

/// The database a server (and its restarts) runs on; dropped (or recycled) with the server.
struct Database {
    url: String,
    /// Holds the SQLite file and the server logs.
    dir: tempfile::TempDir,
    /// Name of the PostgreSQL database, returned to the pool when done.
    postgres: Option<String>,
}

/// Splits `postgres://user@host:port[/db][?params]` into the part before the path and the query.
fn split_pg_url(url: &str) -> (String, String) {
    let (without_query, query) = match url.split_once('?') {
        Some((a, q)) => (a, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = without_query.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match without_query[scheme_end..].find('/') {
        Some(i) => &without_query[..scheme_end + i],
        None => without_query,
    };
    (base.to_string(), query)
}

fn psql_command(url: &str, sql: &str) -> Command {
    let mut cmd = Command::new("psql");
    cmd.args([
        "-X",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        url,
        "-c",
        sql,
    ])
    .stdin(Stdio::null());
    cmd
}

/// Runs one SQL command with `psql`, returning its output.
fn psql(url: &str, sql: &str) -> Result<String, String> {
    let out = psql_command(url, sql)
        .output()
        .map_err(|e| format!("cannot run psql (is it installed?): {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).to_string())
    } else {
        Err(format!(
            "psql {sql:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// PostgreSQL databases of this test process.
///
/// Each server gets a database `appconfigd_t_<pid>_<random>` that is empty when the server
/// starts. `DROP DATABASE` forces a checkpoint (about 2 s on the test machine), so instead of
/// dropping a database after every test it is emptied (`DROP SCHEMA public CASCADE`, in the
/// background) and handed to the next server; all of this process's databases are dropped when
/// it exits, and databases left behind by test processes that no longer run are dropped at
/// start-up.
struct PgPool {
    /// `postgres://user@host:port` and `?params` of the cluster.
    base: String,
    query: String,
    state: std::sync::Mutex<PgPoolState>,
    /// Signalled whenever a database has been emptied.
    ready: std::sync::Condvar,
    all: std::sync::Mutex<Vec<String>>,
}

#[derive(Default)]
struct PgPoolState {
    /// Empty databases, ready for a server.
    idle: Vec<String>,
    /// Databases being emptied right now.
    resetting: usize,
}

const PG_PREFIX: &str = "appconfigd_t_";

static PG_POOL: std::sync::OnceLock<PgPool> = std::sync::OnceLock::new();

impl PgPool {
    fn get() -> &'static PgPool {
        PG_POOL.get_or_init(|| {
            let configured = std::env::var("APPCONFIGD_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string());
            let (base, query) = split_pg_url(configured.trim_end_matches('/'));
            let pool = PgPool {
                base,
                query,
                state: Default::default(),
                ready: Default::default(),
                all: Default::default(),
            };
            pool.drop_orphans();
            register_exit_cleanup();
            pool
        })
    }

    fn url(&self, db: &str) -> String {
        format!("{}/{db}{}", self.base, self.query)
    }

    fn admin_url(&self) -> String {
        self.url("postgres")
    }

    /// An empty database for one server: a recycled one (waiting briefly for one being
    /// emptied, which is cheaper than creating one), else a new one.
    fn take(&self) -> String {
        let mut state = self.state.lock().unwrap();
        loop {
            if let Some(name) = state.idle.pop() {
                return name;
            }
            if state.resetting == 0 {
                break;
            }
            let (next, wait) = self
                .ready
                .wait_timeout(state, Duration::from_secs(5))
                .unwrap();
            state = next;
            if wait.timed_out() {
                break;
            }
        }
        drop(state);
        let name = format!(
            "{PG_PREFIX}{}_{}",
            std::process::id(),
            (0..10)
                .map(|_| fastrand::alphanumeric().to_ascii_lowercase())
                .collect::<String>()
        );
        psql(&self.admin_url(), &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        self.all.lock().unwrap().push(name.clone());
        name
    }

    /// Empties, in the background, a database whose server has been killed and then makes it
    /// available again.
    fn give_back(&'static self, name: String) {
        self.state.lock().unwrap().resetting += 1;
        std::thread::spawn(move || {
            let reset = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                   WHERE datname = current_database() AND pid <> pg_backend_pid(); \
                 SET lock_timeout = '10s'; \
                 DROP SCHEMA public CASCADE; CREATE SCHEMA public;";
            let result = psql(&self.url(&name), reset);
            let mut state = self.state.lock().unwrap();
            state.resetting -= 1;
            match result {
                Ok(_) => state.idle.push(name),
                // Not reusable; it is still dropped at exit.
                Err(e) => eprintln!("test database {name} not recycled: {e}"),
            }
            drop(state);
            self.ready.notify_all();
        });
    }

    /// Drops databases of earlier test processes that no longer run (e.g. after Ctrl-C).
    fn drop_orphans(&self) {
        let Ok(names) = psql(
            &self.admin_url(),
            &format!("SELECT datname FROM pg_database WHERE datname LIKE '{PG_PREFIX}%'"),
        ) else {
            return;
        };
        let orphans: Vec<&str> = names
            .lines()
            .map(str::trim)
            .filter(|name| {
                let pid = name
                    .strip_prefix(PG_PREFIX)
                    .and_then(|rest| rest.split('_').next())
                    .and_then(|pid| pid.parse::<u32>().ok());
                matches!(pid, Some(pid) if !std::path::Path::new(&format!("/proc/{pid}")).exists())
            })
            .collect();
        self.drop_in_background(&orphans);
    }

    /// Starts one `psql` that drops `names` and does not wait for it (DROP DATABASE is slow).
    fn drop_in_background(&self, names: &[&str]) {
        if names.is_empty() {
            return;
        }
        let mut cmd = Command::new("psql");
        cmd.args(["-X", "-q", "-d", &self.admin_url()]);
        for name in names {
            cmd.args([
                "-c",
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            ]);
        }
        let _ = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(|mut child| std::thread::spawn(move || child.wait()));
    }
}

impl Database {
    fn new() -> Database {
        let dir = tempfile::Builder::new()
            .prefix("appconfigd-test-")
            .tempdir()
            .expect("temporary directory");
        match backend() {
            Backend::Sqlite => Database {
                url: format!("sqlite://{}", dir.path().join("test.db").display()),
                dir,
                postgres: None,
            },
            Backend::Postgres => {
                let pool = PgPool::get();
                let name = pool.take();
                Database {
                    url: pool.url(&name),
                    dir,
                    postgres: Some(name),
                }
            }
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // The server is gone by now (`Server` drops its child first).
        if let Some(name) = self.postgres.take() {
            PgPool::get().give_back(name);
        }
    }
}

/// The server binary this test process runs: a hard link (or copy) of the one cargo built,
/// taken at first use, so a `cargo build` running beside the tests (which replaces
/// `target/debug/appconfigd`) cannot swap or break the binary halfway through a run.
fn server_binary() -> &'static std::path::Path {
    static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BINARY.get_or_init(|| {
        let built = PathBuf::from(env!("CARGO_BIN_EXE_appconfigd"));
        let dir = std::env::temp_dir().join(format!("appconfigd-test-bin-{}", std::process::id()));
        let snapshot = dir.join("appconfigd");
        let taken = std::fs::create_dir_all(&dir).is_ok()
            && (std::fs::hard_link(&built, &snapshot).is_ok()
                || std::fs::copy(&built, &snapshot).is_ok());
        if !taken {
            return built;
        }
        register_exit_cleanup();
        snapshot
    })
}

/// Registers (once) the clean-up that runs when the test process exits: the binary snapshot is
/// removed and the PostgreSQL databases are dropped.
fn register_exit_cleanup() {
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    REGISTERED.call_once(|| {
        // SAFETY: `atexit` is the C library's; the callback only touches statics and files.
        unsafe {
            atexit(clean_up_at_exit);
        }
    });
}

extern "C" {
    fn atexit(callback: extern "C" fn()) -> std::os::raw::c_int;
}

extern "C" fn clean_up_at_exit() {
    let _ = std::fs::remove_dir_all(
        std::env::temp_dir().join(format!("appconfigd-test-bin-{}", std::process::id())),
    );
    if let Some(pool) = PG_POOL.get() {
        let all = pool.all.lock().map(|a| a.clone()).unwrap_or_default();
        let names: Vec<&str> = all.iter().map(String::as_str).collect();
        pool.drop_in_background(&names);
    }
}

/// The server binary, with no `APPCONFIGD_*` settings inherited from the environment (so a
/// developer's own configuration cannot change quotas, region or account under the tests).
fn server_command() -> Command {
    let mut cmd = Command::new(server_binary());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("APPCONFIGD_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// A running `appconfigd serve`. Killed (SIGKILL) when dropped.
pub struct Server {
    child: Option<Child>,
    endpoint: String,
    args: Vec<String>,
    /// Extra environment for the child (see [`Server::start_with_env`]).
    env: Vec<(String, String)>,
    starts: usize,
    // Declared last: dropped after the child is gone.
    db: Database,
}

impl Server {
    /// Starts a server with default settings on a fresh database.
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// Starts a server with default settings and an SDK client for it.
    pub fn start_with_client() -> (Server, Client) {
        let server = Server::start();
        let c = server.client();
        (server, c)
    }

    /// Starts a server with extra `serve` arguments and an SDK client for it.
    pub fn start_with_args_client(args: &[&str]) -> (Server, Client) {
        let server = Server::start_with(args);
        let c = server.client();
        (server, c)
    }

    /// Starts a server with extra `serve` arguments, e.g. `["--quota-applications", "2"]`.
    pub fn start_with(args: &[&str]) -> Server {
        Server::start_with_env(args, &[])
    }

    /// Starts a server with extra `serve` arguments and environment variables (kept across
    /// restarts), e.g. `[("AWS_ENDPOINT_URL", moto.endpoint())]`. Whatever is not given here
    /// comes from [`AWS_SANDBOX_ENV`], so the child never reaches real AWS.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut server = Server {
            child: None,
            endpoint: String::new(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            starts: 0,
            db: Database::new(),
        };
        server.spawn();
        server
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn database_url(&self) -> &str {
        &self.db.url
    }

    /// `host:port` of the listener.
    pub fn addr(&self) -> &str {
        self.endpoint.trim_start_matches("http://")
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server is running").id()
    }

    /// An SDK client for this server (build a new one after a restart: the port changes).
    pub fn client(&self) -> Client {
        client_for(&self.endpoint)
    }

    /// Everything the server wrote to stderr so far (all starts).
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for i in 1..=self.starts {
            if let Ok(s) = std::fs::read_to_string(self.log_path(i)) {
                out.push_str(&s);
            }
        }
        out
    }

    fn log_path(&self, start: usize) -> PathBuf {
        self.db.dir.path().join(format!("server-{start}.log"))
    }

    fn spawn(&mut self) {
        self.starts += 1;
        let log = std::fs::File::create(self.log_path(self.starts)).expect("log file");
        let mut child = server_command();
        self.sandbox_env(&mut child);
        child.arg("serve");
        if !self.args.iter().any(|a| a == "--listen") {
            child.args(["--listen", "127.0.0.1:0"]);
        }
        // A test may point the server elsewhere (e.g. through a proxy to the same database).
        if !self.args.iter().any(|a| a == "--database") {
            child.args(["--database", &self.db.url]);
        }
        child
            .args(&self.args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        let mut child = child.spawn().expect("spawn appconfigd");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let mut sent = false;
            for line in lines.by_ref() {
                let Ok(line) = line else { break };
                if !sent {
                    if let Some(url) = line.split("listening on ").nth(1) {
                        let _ = tx.send(url.trim().to_string());
                        sent = true;
                    }
                }
            }
            // Keep draining until the process exits so it never blocks on a full pipe.
        });
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(url) => {
                self.endpoint = url;
                self.child = Some(child);
            }
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                panic!(
                    "appconfigd did not report its address (exit: {status:?}); stderr:\n{}",
                    self.logs()
                );
            }
        }
    }

    /// No inherited `AWS_*` variable reaches the child; it gets [`AWS_SANDBOX_ENV`] (unless
    /// overridden by the server's own env) and config files that do not exist, so extension
    /// targets and monitors can only ever talk to 127.0.0.1.
    fn sandbox_env(&self, cmd: &mut Command) {
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("AWS_") {
                cmd.env_remove(key);
            }
        }
        let missing = self.db.dir.path().join("no-aws-config");
        cmd.env("AWS_CONFIG_FILE", &missing)
            .env("AWS_SHARED_CREDENTIALS_FILE", &missing);
        for (k, v) in AWS_SANDBOX_ENV {
            if !self.env.iter().any(|(key, _)| key == k) {
                cmd.env(k, v);
            }
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
    }

    fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Graceful stop: SIGTERM, then wait for the process to exit. Returns its exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let pid = self.pid();
        let ok = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -TERM {pid} failed");
        match self.wait_exit(STOP_TIMEOUT) {
            Some(status) => status,
            None => {
                self.kill9();
                panic!(
                    "appconfigd did not exit within {STOP_TIMEOUT:?} of SIGTERM; stderr:\n{}",
                    self.logs()
                );
            }
        }
    }

    /// Graceful restart on the same database (SIGTERM, wait, start again). The port changes.
    pub fn restart(&mut self) {
        let status = self.stop();
        assert!(
            status.success(),
            "appconfigd exited with {status} after SIGTERM; stderr:\n{}",
            self.logs()
        );
        self.spawn();
    }

    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts one more process on this server's database (which must be stopped), sends it
    /// SIGTERM the moment it prints its ready line, and returns how it exited.
    pub fn start_and_sigterm_at_ready_line(&mut self) -> std::process::ExitStatus {
        assert!(self.child.is_none(), "stop the server first");
        let mut cmd = server_command();
        self.sandbox_env(&mut cmd);
        let mut child = cmd
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--database", &self.db.url])
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn appconfigd");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read the ready line");
        assert!(line.contains("listening on"), "unexpected output {line:?}");
        let pid = child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("appconfigd did not exit within {STOP_TIMEOUT:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Crash (SIGKILL) and start again on the same database. The port changes.
    pub fn kill9_and_restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// Crash (SIGKILL), stay down for `down`, then start again on the same database.
    pub fn kill9_and_restart_after(&mut self, down: Duration) {
        self.kill9();
        std::thread::sleep(down);
        self.spawn();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
        // The debug build's one-connection guard (src/store/guard.rs) panics inside the server;
        // a request or engine pass that tripped it must fail the test that caused it.
        let logs = self.logs();
        if !std::thread::panicking() && logs.contains(GUARD_TRIPPED) {
            panic!("the server broke the one-connection rule; stderr:\n{logs}");
        }
    }
}

/// What the server logs when a task holding a store transaction asks for another connection.
pub const GUARD_TRIPPED: &str = "already holds a store transaction";

/// An SDK client for `endpoint` with static credentials, us-east-1 and retries disabled.
pub fn client_for(endpoint: &str) -> Client {
    client_with_keys(endpoint, "AKIDTESTTESTTESTTEST", "test-secret-key")
}

/// The HTTP client every SDK client of the tests uses (rustls on ring, like the server).
pub fn sdk_http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// An SDK client for `endpoint` signing with the given access key and secret.
pub fn client_with_keys(endpoint: &str, access_key: &str, secret: &str) -> Client {
    let http_client = sdk_http_client();
    let config = aws_sdk_appconfig::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            access_key,
            secret,
            None,
            None,
            "appconfigd-tests",
        ))
        .retry_config(RetryConfig::disabled())
        .http_client(http_client)
        .build();
    Client::from_conf(config)
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// The modelled service error of a failed call, with the HTTP status. Panics on success or on
/// a non-service failure (connection, parse …), showing what happened instead.
pub fn service_error<T: Debug, E: Debug>(
    result: Result<T, SdkError<E, aws_sdk_appconfig::config::http::HttpResponse>>,
) -> (E, u16) {
    match result {
        Ok(v) => panic!("expected a service error, got success: {v:?}"),
        Err(SdkError::ServiceError(se)) => {
            let status = se.raw().status().as_u16();
            (se.into_err(), status)
        }
        Err(other) => panic!("expected a service error, got: {other:?}"),
    }
}

/// Like [`service_error`], dropping the status.
pub fn err<T: Debug, E: Debug>(
    result: Result<T, SdkError<E, aws_sdk_appconfig::config::http::HttpResponse>>,
) -> E {
    service_error(result).0
}

/// The service error of `result`, checked for its code and HTTP status; returns its message,
/// which must not be empty.
#[track_caller]
pub fn expect_err<T: Debug, E: Debug + ProvideErrorMetadata>(
    result: Result<T, SdkError<E, HttpResponse>>,
    expected_code: &str,
    status: u16,
) -> String {
    let (e, got_status) = service_error(result);
    assert_eq!(code(&e), expected_code, "{e:?}");
    assert_eq!(got_status, status, "{e:?}");
    let m = message(&e);
    assert!(!m.is_empty(), "error without message: {e:?}");
    m
}

#[track_caller]
pub fn bad_request<T: Debug, E: Debug + ProvideErrorMetadata>(
    result: Result<T, SdkError<E, HttpResponse>>,
) -> String {
    expect_err(result, "BadRequestException", 400)
}

#[track_caller]
pub fn not_found<T: Debug, E: Debug + ProvideErrorMetadata>(
    result: Result<T, SdkError<E, HttpResponse>>,
) -> String {
    expect_err(result, "ResourceNotFoundException", 404)
}

#[track_caller]
pub fn conflict<T: Debug, E: Debug + ProvideErrorMetadata>(
    result: Result<T, SdkError<E, HttpResponse>>,
) -> String {
    expect_err(result, "ConflictException", 409)
}

/// The error's message (empty if none).
pub fn message<E: ProvideErrorMetadata>(e: &E) -> String {
    e.message().unwrap_or_default().to_string()
}

/// The error code (`x-amzn-ErrorType` / `__type`) the SDK parsed.
pub fn code<E: ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or_default().to_string()
}

/// Asserts the error message names `field` (AWS-style camelCase member path).
#[track_caller]
pub fn assert_names<E: ProvideErrorMetadata + Debug>(e: &E, field: &str) {
    let m = message(e);
    assert!(
        m.contains(field),
        "message should name {field:?}: {m:?} ({e:?})"
    );
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP, for wire details the SDK hides
// ---------------------------------------------------------------------------------------------

pub struct RawResponse {
    pub status: u16,
    /// Lower-cased header names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Shows the body as text (lossy), which is what a failing assertion needs to show.
impl Debug for RawResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}

/// The value of header `name` (any case) among lower-cased `headers`.
pub fn header_in<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    headers
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.as_str())
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        header_in(&self.headers, name)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The AWS error body's `Message`; panics if there is none.
    pub fn message(&self) -> String {
        let body = self.json();
        let m = body["Message"].as_str();
        m.unwrap_or_else(|| panic!("no Message: {body}"))
            .to_string()
    }

    /// The response body as JSON when there is one, after asserting a 2xx status (`what`
    /// names the request in the failure).
    pub fn ok_json(&self, what: &str) -> serde_json::Value {
        assert!(
            (200..300).contains(&self.status),
            "{what} answered {}: {}",
            self.status,
            String::from_utf8_lossy(&self.body)
        );
        if self.body.is_empty() {
            serde_json::Value::Null
        } else {
            self.json()
        }
    }
}

/// [`raw_request`] without headers or body.
pub fn raw_call(addr: &str, method: &str, path: &str) -> RawResponse {
    raw_request(addr, method, path, &[], b"")
}

/// [`raw_request`] with `body` as `Content-Type: application/json`.
pub fn raw_json(addr: &str, method: &str, path: &str, body: &[u8]) -> RawResponse {
    raw_request(
        addr,
        method,
        path,
        &[("Content-Type", "application/json")],
        body,
    )
}

/// CreateExtension on the wire with the `Latest-Version-Number: 1` header (a new version of
/// an extension whose latest version is 1).
pub fn raw_second_extension_version(addr: &str, body: &[u8]) -> RawResponse {
    let headers = [
        ("Content-Type", "application/json"),
        ("Latest-Version-Number", "1"),
    ];
    raw_request(addr, "POST", "/extensions", &headers, body)
}

/// Sends one unsigned HTTP/1.1 request (`Connection: close`) and reads the whole response.
pub fn raw_request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("write head");
    stream.write_all(body).expect("write body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> RawResponse {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response has a header block");
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    RawResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..line_end]).to_string();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        data = &data[line_end + 2..];
        if size == 0 || data.len() < size {
            break;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[(size + 2).min(data.len())..];
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

pub fn arn(resource: &str) -> String {
    format!("arn:aws:appconfig:{REGION}:{ACCOUNT}:{resource}")
}

pub fn app_arn(app: &str) -> String {
    arn(&format!("application/{app}"))
}

pub fn env_arn(app: &str, env: &str) -> String {
    arn(&format!("application/{app}/environment/{env}"))
}

pub fn profile_arn(app: &str, profile: &str) -> String {
    arn(&format!("application/{app}/configurationprofile/{profile}"))
}

pub fn strategy_arn(id: &str) -> String {
    arn(&format!("deploymentstrategy/{id}"))
}

/// Ids AppConfig hands out: 7 characters of `[a-z0-9]`.
#[track_caller]
pub fn assert_id(id: &str) {
    assert!(
        id.len() == 7
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "not an AppConfig id: {id:?}"
    );
}

pub async fn create_app(c: &Client, name: &str) -> String {
    send!(c.create_application().name(name))
        .expect("create application")
        .id()
        .expect("application id")
        .to_string()
}

/// An application with a description; returns its id.
pub async fn create_app_described(c: &Client, name: &str, description: &str) -> String {
    let req = c.create_application().name(name).description(description);
    let out = send!(req).expect("create application");
    out.id().expect("application id").to_string()
}

/// An application "app" with a hosted profile "cfg": (app, profile).
pub async fn app_and_profile(c: &Client) -> (String, String) {
    let app = create_app(c, "app").await;
    let profile = create_profile(c, &app, "cfg").await;
    (app, profile)
}

/// An application "app" with an environment "prod": (app, env).
pub async fn app_and_env(c: &Client) -> (String, String) {
    let app = create_app(c, "app").await;
    let env = create_env(c, &app, "prod").await;
    (app, env)
}

/// Asserts GetApplication of `id` shows `name` and `description`.
pub async fn assert_app(c: &Client, id: &str, name: &str, description: Option<&str>) {
    let got = send!(c.get_application().application_id(id)).unwrap();
    assert_eq!(got.name(), Some(name));
    assert_eq!(got.description(), description);
}

pub async fn create_env(c: &Client, app: &str, name: &str) -> String {
    send!(c.create_environment().application_id(app).name(name))
        .expect("create environment")
        .id()
        .expect("environment id")
        .to_string()
}

/// A hosted freeform profile.
pub async fn create_profile(c: &Client, app: &str, name: &str) -> String {
    create_profile_with(c, app, name, None).await
}

/// A hosted freeform profile with `validators` (none when `None`).
pub async fn create_profile_with(
    c: &Client,
    app: &str,
    name: &str,
    validators: Option<Vec<aws_sdk_appconfig::types::Validator>>,
) -> String {
    send!(c
        .create_configuration_profile()
        .application_id(app)
        .name(name)
        .location_uri("hosted")
        .set_validators(validators))
    .expect("create configuration profile")
    .id()
    .expect("profile id")
    .to_string()
}

/// A profile of an external source at `location`, read with `role`; returns its id.
pub async fn create_external_profile(
    c: &Client,
    app: &str,
    name: &str,
    location: &str,
    role: &str,
) -> String {
    let req = c
        .create_configuration_profile()
        .application_id(app)
        .name(name);
    let req = req.location_uri(location).retrieval_role_arn(role);
    let out = send!(req).expect("create configuration profile");
    out.id().expect("profile id").to_string()
}

pub async fn create_flags_profile(c: &Client, app: &str, name: &str) -> String {
    send!(c
        .create_configuration_profile()
        .application_id(app)
        .name(name)
        .location_uri("hosted")
        .r#type("AWS.AppConfig.FeatureFlags"))
    .expect("create feature-flag profile")
    .id()
    .expect("profile id")
    .to_string()
}

/// Creates a hosted version and returns its number.
pub async fn create_version(
    c: &Client,
    app: &str,
    profile: &str,
    content: &[u8],
    content_type: &str,
) -> i32 {
    send!(version_request(c, app, profile, content, content_type))
        .expect("create hosted configuration version")
        .version_number()
}

/// CreateHostedConfigurationVersion of `content` as `content_type`, not sent.
pub fn version_request(
    c: &Client,
    app: &str,
    profile: &str,
    content: impl Into<Vec<u8>>,
    content_type: &str,
) -> aws_sdk_appconfig::operation::create_hosted_configuration_version::builders::CreateHostedConfigurationVersionFluentBuilder
{
    c.create_hosted_configuration_version()
        .application_id(app)
        .configuration_profile_id(profile)
        .content(aws_smithy_types::Blob::new(content))
        .content_type(content_type)
}

/// GetHostedConfigurationVersion of version `n`.
pub async fn get_version(
    c: &Client,
    app: &str,
    profile: &str,
    n: i32,
) -> aws_sdk_appconfig::operation::get_hosted_configuration_version::GetHostedConfigurationVersionOutput
{
    send!(c
        .get_hosted_configuration_version()
        .application_id(app)
        .configuration_profile_id(profile)
        .version_number(n))
    .expect("get hosted configuration version")
}

/// DeleteHostedConfigurationVersion of version `n`, not sent.
pub fn delete_version_request(
    c: &Client,
    app: &str,
    profile: &str,
    n: i32,
) -> aws_sdk_appconfig::operation::delete_hosted_configuration_version::builders::DeleteHostedConfigurationVersionFluentBuilder
{
    c.delete_hosted_configuration_version()
        .application_id(app)
        .configuration_profile_id(profile)
        .version_number(n)
}

/// Deletes hosted version `n`; panics if that fails.
pub async fn delete_version(c: &Client, app: &str, profile: &str, n: i32) {
    send!(delete_version_request(c, app, profile, n)).expect("delete hosted configuration version");
}

pub async fn create_strategy(c: &Client, name: &str) -> String {
    send!(c
        .create_deployment_strategy()
        .name(name)
        .deployment_duration_in_minutes(10)
        .growth_factor(25.0))
    .expect("create deployment strategy")
    .id()
    .expect("strategy id")
    .to_string()
}

/// Sends the request built by an SDK fluent builder: `send!(c.get_application().application_id(&id))`
/// is `c.get_application().application_id(&id).send().await`, the SDK's `Result`.
macro_rules! send {
    ($req:expr) => {
        $req.send().await
    };
}
pub(crate) use send;

/// Asserts that `$e` matches `$pat`, showing `$e` when it does not.
macro_rules! assert_matches {
    ($e:expr, $pat:pat) => {
        assert!(matches!($e, $pat), "{:?}", $e)
    };
}
pub(crate) use assert_matches;

/// Asserts that `$e` is `$ty::BadRequestException` and its message names `$field`.
macro_rules! assert_bad_field {
    ($e:expr, $ty:ident, $field:expr) => {
        assert_matches!($e, $ty::BadRequestException(_));
        assert_names(&$e, $field);
    };
}
pub(crate) use assert_bad_field;

/// Asserts that `$e` is `$ty::ResourceNotFoundException` naming the resource type `$name`.
macro_rules! assert_not_found_names {
    ($e:expr, $ty:ident, $name:expr) => {
        match $e {
            $ty::ResourceNotFoundException(nf) => {
                assert_eq!(nf.resource_name(), Some($name));
            }
            other => panic!("expected ResourceNotFoundException, got {other:?}"),
        }
    };
}
pub(crate) use assert_not_found_names;

/// The modelled service error of sending `$req` (see [`err`]).
macro_rules! sdk_err {
    ($req:expr) => {
        err($req.send().await)
    };
}
pub(crate) use sdk_err;

/// Every item of a paginated list request, following all pages: a `Result` of the items.
macro_rules! all_items {
    ($req:expr) => {
        $req.into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
    };
}
pub(crate) use all_items;

/// Every application id, following all pages.
pub async fn all_app_ids(c: &Client) -> Vec<String> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page =
            send!(c.list_applications().set_next_token(token.clone())).expect("list applications");
        out.extend(page.items().iter().filter_map(|a| a.id().map(String::from)));
        token = page.next_token().map(String::from);
        if token.is_none() {
            return out;
        }
    }
}

/// The application ids of every page from `token` on, `page_size` a page.
pub async fn app_ids_from(c: &Client, token: String, page_size: i32) -> Vec<String> {
    let mut rest = Vec::new();
    let mut token = Some(token);
    while let Some(t) = token {
        let page = send!(c.list_applications().max_results(page_size).next_token(t)).unwrap();
        rest.extend(page.items().iter().map(|a| a.id().unwrap().to_string()));
        token = page.next_token().map(String::from);
    }
    rest
}

pub async fn all_env_ids(c: &Client, app: &str) -> Vec<String> {
    let envs = all_items!(c.list_environments().application_id(app));
    let ids = envs.expect("list environments").into_iter();
    ids.filter_map(|e| e.id).collect()
}

pub async fn all_profile_ids(c: &Client, app: &str) -> Vec<String> {
    let profiles = all_items!(c.list_configuration_profiles().application_id(app));
    let profiles = profiles.expect("list configuration profiles");
    profiles.into_iter().filter_map(|p| p.id).collect()
}

pub async fn all_version_numbers(c: &Client, app: &str, profile: &str) -> Vec<i32> {
    all_items!(c
        .list_hosted_configuration_versions()
        .application_id(app)
        .configuration_profile_id(profile))
    .expect("list hosted configuration versions")
    .iter()
    .map(|v| v.version_number())
    .collect()
}

pub async fn all_strategy_ids(c: &Client) -> Vec<String> {
    all_items!(c.list_deployment_strategies())
        .expect("list deployment strategies")
        .iter()
        .filter_map(|s| s.id().map(String::from))
        .collect()
}

pub async fn tags_of(c: &Client, arn: &str) -> std::collections::HashMap<String, String> {
    send!(c.list_tags_for_resource().resource_arn(arn))
        .expect("list tags")
        .tags()
        .cloned()
        .unwrap_or_default()
}

/// `n` characters of `c`.
pub fn chars(c: char, n: usize) -> String {
    std::iter::repeat_n(c, n).collect()
}
