//! Load benchmark of appconfigd's control plane (issue 12, items 4 and 5). See docs/load.md.
//!
//! ```sh
//! cargo bench --bench load -- [--backend sqlite|postgres|both] [--phase all|mixed|write]
//!                             [--duration 60] [--clients 64] [--write-duration 20]
//!                             [--write-clients 16] [--enforce-targets] [--no-moto]
//! ```
//!
//! `cargo bench` builds `target/release/appconfigd` along with this bench (it is the binary
//! this bench starts, `CARGO_BIN_EXE_appconfigd`); `--server PATH` runs another one.
//!
//! For each store (a fresh SQLite file in a temporary directory; a fresh PostgreSQL database
//! `appconfigd_bench_<pid>_<phase>` on 127.0.0.1:5432, user `postgres`, dropped afterwards):
//!
//! 1. **Mixed load**: `--clients` tasks for `--duration` seconds, each running randomly chosen
//!    scenarios that together cover every operation family (see [`Scenario`]), through the
//!    official AWS SDK for Rust (retries off, so every 5xx is seen). Every call is recorded:
//!    operation, latency, outcome. Checks: no 5xx, no transport errors, no 4xx other than the
//!    expected ones (ConflictException from StartDeployment on a busy environment;
//!    BadRequestException from StopDeployment on a deployment that finished first), no call over
//!    2 s, distinct hosted version numbers.
//! 2. **Write throughput**: `--write-clients` tasks creating hosted configuration versions on
//!    one profile for `--write-duration` seconds, on a fresh server; the same against
//!    `moto_server` (if installed). Targets: 2,000/s on SQLite, 1,500/s on PostgreSQL (printed;
//!    they fail the run only with `--enforce-targets`).
//!
//! Markdown tables go to stdout, progress to stderr. Everything listens on 127.0.0.1 only.
//! Child processes are killed when the bench ends, however it ends (they also get SIGKILL if
//! the bench itself is killed).

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use aws_sdk_appconfig::config::retry::RetryConfig;
use aws_sdk_appconfig::config::timeout::TimeoutConfig;
use aws_sdk_appconfig::config::{BehaviorVersion, Credentials, Region, SharedHttpClient};
use aws_sdk_appconfig::error::ProvideErrorMetadata;
use aws_sdk_appconfig::types::{
    Action, ActionPoint, DeletionProtectionSettings, DeploymentState, GrowthType, Validator,
    ValidatorType,
};
use aws_sdk_appconfig::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::Blob;
use clap::{Parser, ValueEnum};
use tokio::task::JoinSet;

type DataClient = aws_sdk_appconfigdata::Client;
type Res<T> = Result<T, String>;

/// Account and region of the server (its defaults); ARNs are built from them.
const ACCOUNT: &str = "000000000000";
const REGION: &str = "us-east-1";
/// Service clocks run this much faster: deployments and poll intervals take milliseconds.
const TIME_SCALE: &str = "1000";
/// A call slower than this is a failure (issue 12: no call waits longer than its turn).
const SLOW_CALL: Duration = Duration::from_secs(2);
/// The SDK gives up on a call after this long (a transport error); longer than the 30 s a
/// stalled request takes today to come back as a 500, so that 500 is seen.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// After the load's duration, running scenarios may finish their calls for this long; later
/// calls are not made.
const GRACE: Duration = Duration::from_secs(10);
const START_TIMEOUT: Duration = Duration::from_secs(30);
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// CreateHostedConfigurationVersion/s with 16 clients on one profile (issue 12, item 5).
const SQLITE_TARGET: f64 = 2000.0;
const POSTGRES_TARGET: f64 = 1500.0;
/// Environments of the application that StartDeployment spreads over (the default quota).
const ENVIRONMENTS: usize = 20;
/// Data-plane sessions ask for this poll interval (seconds, scaled: 15 ms of real time).
const POLL_INTERVAL_SECONDS: i32 = 15;

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

#[derive(Parser, Debug)]
#[command(
    name = "load",
    about = "Load benchmark of appconfigd through the AWS SDK (issue 12). See docs/load.md."
)]
struct Args {
    /// Which store(s) to run appconfigd on.
    #[arg(long, value_enum, default_value = "both")]
    backend: BackendArg,
    /// Which phase(s) to run.
    #[arg(long, value_enum, default_value = "all")]
    phase: PhaseArg,
    /// Seconds of mixed load.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Concurrent clients of the mixed load.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds of the write-throughput phase (per server).
    #[arg(long, default_value_t = 20)]
    write_duration: u64,
    /// Concurrent clients of the write-throughput phase.
    #[arg(long, default_value_t = 16)]
    write_clients: usize,
    /// Also fail the run when a write-throughput target is not met.
    #[arg(long)]
    enforce_targets: bool,
    /// Skip the moto comparison.
    #[arg(long)]
    no_moto: bool,
    /// Port of the PostgreSQL server on 127.0.0.1 (user postgres, trust auth).
    #[arg(long, default_value_t = 5432)]
    pg_port: u16,
    /// appconfigd binary to run (default: the one cargo built with this bench).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long = "bench", hide = true)]
    #[allow(dead_code)]
    cargo_bench: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendArg {
    Sqlite,
    Postgres,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PhaseArg {
    All,
    Mixed,
    Write,
}

impl Args {
    fn check(&self) -> Res<()> {
        if !(1..=3600).contains(&self.duration) || !(1..=3600).contains(&self.write_duration) {
            return Err("--duration and --write-duration must be 1..=3600 seconds".into());
        }
        if !(1..=1024).contains(&self.clients) || !(1..=1024).contains(&self.write_clients) {
            return Err("--clients and --write-clients must be 1..=1024".into());
        }
        Ok(())
    }

    fn backends(&self) -> Vec<Backend> {
        match self.backend {
            BackendArg::Sqlite => vec![Backend::Sqlite],
            BackendArg::Postgres => vec![Backend::Postgres],
            BackendArg::Both => vec![Backend::Sqlite, Backend::Postgres],
        }
    }

    fn mixed(&self) -> bool {
        self.phase != PhaseArg::Write
    }

    fn write(&self) -> bool {
        self.phase != PhaseArg::Mixed
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn label(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(e) = args.check() {
        eprintln!("load: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("load: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Dropping `run` (Ctrl-C) drops every child-process and database guard it holds.
    let failures = runtime.block_on(async {
        tokio::select! {
            failures = run(&args) => failures,
            _ = tokio::signal::ctrl_c() => vec!["interrupted (Ctrl-C)".to_string()],
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(5));
    if failures.is_empty() {
        eprintln!("load: all checks passed");
        ExitCode::SUCCESS
    } else {
        eprintln!("load: {} check(s) failed:", failures.len());
        for f in &failures {
            eprintln!("  - {f}");
        }
        ExitCode::FAILURE
    }
}

/// Runs the selected phases, prints the tables, returns the failed checks.
async fn run(args: &Args) -> Vec<String> {
    let mut failures = Vec::new();
    let bin = args
        .server
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_appconfigd")));
    if !bin.is_file() {
        return vec![format!(
            "{} not found (cargo build --release --bin appconfigd)",
            bin.display()
        )];
    }
    let logs = logs_dir(&bin);
    if let Err(e) = std::fs::create_dir_all(&logs) {
        return vec![format!("cannot create {}: {e}", logs.display())];
    }
    eprintln!(
        "load: server {} (logs in {})",
        bin.display(),
        logs.display()
    );
    let backends = args.backends();
    if backends.contains(&Backend::Postgres) {
        drop_orphan_databases(args.pg_port);
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut writes = Vec::new();
    for &backend in &backends {
        if args.mixed() {
            match mixed_on(args, &bin, &logs, backend).await {
                Ok(report) => {
                    report.print(args, cores);
                    failures.extend(report.failures());
                }
                Err(e) => failures.push(format!("{} mixed load: {e}", backend.label())),
            }
        }
        if args.write() {
            match write_on_appconfigd(args, &bin, &logs, backend).await {
                Ok(report) => {
                    failures.extend(report.failures(args.enforce_targets));
                    writes.push(report);
                }
                Err(e) => failures.push(format!("{} write throughput: {e}", backend.label())),
            }
        }
    }
    let mut moto_note = None;
    if args.write() && !args.no_moto {
        match write_on_moto(args, &logs).await {
            Ok(report) => writes.push(report),
            Err(e) => {
                eprintln!("load: moto comparison skipped: {e}");
                moto_note = Some(e);
            }
        }
    }
    if !writes.is_empty() {
        print_writes(args, cores, &writes, moto_note.as_deref());
    }
    println!("\n### Checks\n");
    if failures.is_empty() {
        println!("All checks passed.");
    } else {
        for f in &failures {
            println!("- FAIL: {f}");
        }
    }
    failures
}

/// `target/load-bench` next to `target/release/appconfigd` (else the temporary directory).
fn logs_dir(bin: &Path) -> PathBuf {
    bin.parent()
        .and_then(Path::parent)
        .map(|target| target.join("load-bench"))
        .unwrap_or_else(|| std::env::temp_dir().join("appconfigd-load-bench"))
}

// ---------------------------------------------------------------------------------------------
// Child processes and databases
// ---------------------------------------------------------------------------------------------

/// A child process, killed (SIGKILL) and reaped when dropped.
struct ChildGuard(Option<Child>);

impl ChildGuard {
    fn pid(&self) -> Option<u32> {
        self.0.as_ref().map(Child::id)
    }

    fn exited(&mut self) -> Option<String> {
        let child = self.0.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            _ => None,
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The child gets SIGKILL when the thread that started it (the main thread, which runs the
/// whole bench) ends, so even a bench killed with SIGKILL leaves no server behind.
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    extern "C" {
        fn prctl(option: std::os::raw::c_int, ...) -> std::os::raw::c_int;
    }
    const PR_SET_PDEATHSIG: std::os::raw::c_int = 1;
    const SIGKILL: std::os::raw::c_ulong = 9;
    // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and only changes the child.
    unsafe {
        cmd.pre_exec(|| {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

/// A free TCP port on 127.0.0.1.
fn free_port() -> Res<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    Ok(listener
        .local_addr()
        .map_err(|e| format!("local_addr: {e}"))?
        .port())
}

fn psql(port: u16, sql: &str) -> Res<String> {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
        ])
        .args([
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-c",
            sql,
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "psql -c {sql:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

const PG_PREFIX: &str = "appconfigd_bench_";

/// A PostgreSQL database of this run, dropped with the guard.
struct PgDatabase {
    name: String,
    port: u16,
}

impl PgDatabase {
    fn create(port: u16, phase: &str) -> Res<PgDatabase> {
        let name = format!("{PG_PREFIX}{}_{phase}", std::process::id());
        psql(
            port,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )?;
        psql(port, &format!("CREATE DATABASE {name}"))?;
        Ok(PgDatabase { name, port })
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{}", self.port, self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = psql(self.port, &sql) {
            eprintln!("load: could not drop database {}: {e}", self.name);
        }
    }
}

/// Drops bench databases left behind by runs whose process is gone.
fn drop_orphan_databases(port: u16) {
    let sql = format!("SELECT datname FROM pg_database WHERE datname LIKE '{PG_PREFIX}%'");
    let Ok(names) = psql(port, &sql) else { return };
    for name in names.lines().map(str::trim) {
        let pid = name
            .strip_prefix(PG_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        if matches!(pid, Some(pid) if !Path::new(&format!("/proc/{pid}")).exists()) {
            eprintln!("load: dropping orphaned database {name}");
            let _ = psql(
                port,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

/// Where a server keeps its data; dropped after the server.
enum Store {
    Sqlite(tempfile::TempDir),
    Postgres(PgDatabase),
}

impl Store {
    fn new(backend: Backend, port: u16, phase: &str) -> Res<Store> {
        match backend {
            Backend::Sqlite => tempfile::Builder::new()
                .prefix("appconfigd-load-")
                .tempdir()
                .map(Store::Sqlite)
                .map_err(|e| format!("temporary directory: {e}")),
            Backend::Postgres => PgDatabase::create(port, phase).map(Store::Postgres),
        }
    }

    fn url(&self) -> String {
        match self {
            Store::Sqlite(dir) => format!("sqlite://{}", dir.path().join("bench.db").display()),
            Store::Postgres(db) => db.url(),
        }
    }
}

/// A running `appconfigd serve` on its own store. Fields drop in order: server, then store.
struct Instance {
    server: ChildGuard,
    endpoint: String,
    log: PathBuf,
    _store: Store,
}

impl Instance {
    fn start(bin: &Path, logs: &Path, backend: Backend, phase: &str, args: &Args) -> Res<Instance> {
        let store = Store::new(backend, args.pg_port, phase)?;
        let log = logs.join(format!("{}-{phase}.log", backend.key()));
        let log_file = File::create(&log).map_err(|e| format!("create {}: {e}", log.display()))?;
        // Room for every client's scratch application and deployment strategy besides the
        // fixtures, so no quota answers a scenario.
        let apps = (args.clients + 20).max(100).to_string();
        let strategies = (args.clients + 20).max(20).to_string();
        let mut cmd = Command::new(bin);
        for (key, _) in std::env::vars_os() {
            let k = key.to_string_lossy();
            if k.starts_with("APPCONFIGD_") || k.starts_with("AWS_") {
                cmd.env_remove(&key);
            }
        }
        // Extension targets and monitors could only reach a closed local port.
        let missing = std::env::temp_dir().join("appconfigd-load-no-aws-config");
        cmd.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", &missing)
            .env("AWS_SHARED_CREDENTIALS_FILE", &missing)
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--database", &store.url()])
            .args(["--time-scale", TIME_SCALE])
            .args(["--quota-applications", &apps])
            .args(["--quota-deployment-strategies", &strategies])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file));
        die_with_parent(&mut cmd);
        let mut child = ChildGuard(Some(
            cmd.spawn()
                .map_err(|e| format!("spawn {}: {e}", bin.display()))?,
        ));
        let stdout = child
            .0
            .as_mut()
            .and_then(|c| c.stdout.take())
            .ok_or("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent {
                    if let Some(url) = line.split("listening on ").nth(1) {
                        let _ = tx.send(url.trim().to_string());
                        sent = true;
                    }
                }
            }
        });
        let endpoint = rx.recv_timeout(START_TIMEOUT).map_err(|_| {
            format!(
                "appconfigd did not report its address within {START_TIMEOUT:?} (exit: {:?}); log {}:\n{}",
                child.exited(),
                log.display(),
                tail(&log, 20)
            )
        })?;
        if !endpoint.starts_with("http://127.0.0.1:") {
            return Err(format!("unexpected endpoint {endpoint}"));
        }
        eprintln!(
            "load: [{}] {phase}: appconfigd at {endpoint} on {}",
            backend.key(),
            store.url()
        );
        Ok(Instance {
            server: child,
            endpoint,
            log,
            _store: store,
        })
    }
}

/// The last `n` lines of a file.
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// WARN/ERROR lines of a server log: how many, and the first few.
fn log_problems(path: &Path) -> (usize, Vec<String>) {
    let text = strip_ansi(&std::fs::read_to_string(path).unwrap_or_default());
    let bad: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect();
    let first = bad.iter().take(3).map(|l| truncate(l, 300)).collect();
    (bad.len(), first)
}

/// The text without terminal colour sequences (`ESC [ … letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(ch) = chars.next() {
        if ch == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(ch);
        }
    }
    out
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

// ---------------------------------------------------------------------------------------------
// CPU accounting (Linux /proc): who used the machine's cores during a measurement
// ---------------------------------------------------------------------------------------------

/// User + system CPU time of a process so far, in clock ticks.
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after "(comm) ": state is the first; utime and stime are the 12th and 13th.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// CPU ticks of every process named `postgres` (the server and its backends).
fn postgres_ticks() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "postgres")
        })
        .filter_map(|pid| cpu_ticks(&pid))
        .sum()
}

fn ticks_per_second() -> f64 {
    #[cfg(target_os = "linux")]
    {
        extern "C" {
            fn sysconf(name: std::os::raw::c_int) -> std::os::raw::c_long;
        }
        const SC_CLK_TCK: std::os::raw::c_int = 2;
        // SAFETY: sysconf only reads a system constant.
        let ticks = unsafe { sysconf(SC_CLK_TCK) };
        if ticks > 0 {
            return ticks as f64;
        }
    }
    100.0
}

/// CPU used by the server, PostgreSQL and this bench between `start` and `finish`.
struct CpuMeter {
    server: Option<(String, u64)>,
    postgres: Option<u64>,
    bench: Option<u64>,
    at: Instant,
}

/// Cores used on average (1.0 = one core busy all the time).
struct CpuUse {
    server: Option<f64>,
    postgres: Option<f64>,
    bench: Option<f64>,
}

impl CpuMeter {
    fn start(server_pid: Option<u32>, postgres: bool) -> CpuMeter {
        let server = server_pid
            .map(|p| p.to_string())
            .and_then(|p| cpu_ticks(&p).map(|t| (p, t)));
        CpuMeter {
            server,
            postgres: postgres.then(postgres_ticks),
            bench: cpu_ticks("self"),
            at: Instant::now(),
        }
    }

    fn finish(self) -> CpuUse {
        let secs = self.at.elapsed().as_secs_f64() * ticks_per_second();
        let share =
            |before: u64, after: Option<u64>| after.map(|a| a.saturating_sub(before) as f64 / secs);
        CpuUse {
            server: self
                .server
                .and_then(|(pid, before)| share(before, cpu_ticks(&pid))),
            postgres: self.postgres.and_then(|b| share(b, Some(postgres_ticks()))),
            bench: self.bench.and_then(|b| share(b, cpu_ticks("self"))),
        }
    }
}

impl CpuUse {
    /// "appconfigd 1.05, postgres 0.40, load generator 0.61 cores".
    fn describe(&self, server: &str) -> String {
        let mut parts = Vec::new();
        if let Some(v) = self.server {
            parts.push(format!("{server} {v:.2}"));
        }
        if let Some(v) = self.postgres {
            parts.push(format!("PostgreSQL {v:.2}"));
        }
        if let Some(v) = self.bench {
            parts.push(format!("load generator {v:.2}"));
        }
        if parts.is_empty() {
            "not measured".to_string()
        } else {
            format!("{} cores", parts.join(", "))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SDK clients
// ---------------------------------------------------------------------------------------------

fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_timeout(CALL_TIMEOUT)
        .build()
}

fn credentials() -> Credentials {
    Credentials::new("AKIDLOADBENCH", "load-bench-secret", None, None, "load")
}

/// An AppConfig client for `endpoint`: static credentials, us-east-1, retries disabled.
fn control_client(endpoint: &str, http: SharedHttpClient) -> Client {
    let config = aws_sdk_appconfig::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(credentials())
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts())
        .http_client(http)
        .build();
    Client::from_conf(config)
}

/// An AppConfigData client for `endpoint`, configured like [`control_client`].
fn data_client(endpoint: &str, http: SharedHttpClient) -> DataClient {
    let config = aws_sdk_appconfigdata::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(credentials())
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts())
        .http_client(http)
        .build();
    DataClient::from_conf(config)
}

fn app_arn(app_id: &str) -> String {
    format!("arn:aws:appconfig:{REGION}:{ACCOUNT}:application/{app_id}")
}

/// A setup call that must succeed.
async fn must<T, E>(
    what: &str,
    fut: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
) -> Res<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    fut.await
        .map_err(|e| format!("{what}: {}", DisplayErrorContext(&e)))
}

fn need(what: &str, v: Option<&str>) -> Res<String> {
    v.map(str::to_string)
        .ok_or_else(|| format!("{what}: no id in the answer"))
}

// ---------------------------------------------------------------------------------------------
// Recording calls
// ---------------------------------------------------------------------------------------------

/// What one operation did, over one worker or the whole run.
#[derive(Default)]
struct OpStats {
    latencies_us: Vec<u64>,
    expected_4xx: u64,
    other_4xx: u64,
    server_5xx: u64,
    transport: u64,
    slow: u64,
    /// A few failures, for the report.
    samples: Vec<String>,
}

const SAMPLES: usize = 3;

impl OpStats {
    fn calls(&self) -> u64 {
        self.latencies_us.len() as u64
    }

    fn merge(&mut self, other: OpStats) {
        self.latencies_us.extend(other.latencies_us);
        self.expected_4xx += other.expected_4xx;
        self.other_4xx += other.other_4xx;
        self.server_5xx += other.server_5xx;
        self.transport += other.transport;
        self.slow += other.slow;
        for s in other.samples {
            if self.samples.len() < SAMPLES && !self.samples.contains(&s) {
                self.samples.push(s);
            }
        }
    }

    fn failures(&self) -> u64 {
        self.other_4xx + self.server_5xx + self.transport + self.slow
    }

    /// Sorts the latencies; call before [`OpStats::percentile_ms`].
    fn finish(&mut self) {
        self.latencies_us.sort_unstable();
    }

    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let rank = ((p * self.latencies_us.len() as f64).ceil() as usize).max(1);
        self.latencies_us[rank.min(self.latencies_us.len()) - 1] as f64 / 1000.0
    }

    fn max_ms(&self) -> f64 {
        self.latencies_us.last().copied().unwrap_or(0) as f64 / 1000.0
    }
}

/// Counters the progress line reads while the load runs.
#[derive(Default)]
struct Progress {
    calls: AtomicU64,
    failures: AtomicU64,
}

/// Records every call one worker makes.
struct Recorder {
    ops: BTreeMap<&'static str, OpStats>,
    /// No call is started after this.
    stop_at: Instant,
    progress: Arc<Progress>,
}

impl Recorder {
    fn new(stop_at: Instant, progress: Arc<Progress>) -> Recorder {
        Recorder {
            ops: BTreeMap::new(),
            stop_at,
            progress,
        }
    }

    /// Runs one SDK call and records it under `op`. 4xx answers whose error code is in
    /// `expected` are expected outcomes; any other failure is counted against the server.
    /// `None` for any failure, or when the phase is over and the call is not made.
    async fn call<T, E>(
        &mut self,
        op: &'static str,
        expected: &'static [&'static str],
        fut: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    ) -> Option<T>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        if Instant::now() >= self.stop_at {
            return None;
        }
        let started = Instant::now();
        let result = fut.await;
        let took = started.elapsed();
        let stats = self.ops.entry(op).or_default();
        stats.latencies_us.push(took.as_micros() as u64);
        self.progress.calls.fetch_add(1, Ordering::Relaxed);
        let mut failed = false;
        if took > SLOW_CALL {
            stats.slow += 1;
            failed = true;
            push_sample(stats, format!("took {:.1} s", took.as_secs_f64()));
        }
        let value = match result {
            Ok(v) => Some(v),
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                let code = e.code().unwrap_or("").to_string();
                let msg = e.message().unwrap_or("").to_string();
                match status {
                    Some(400..=499) if expected.contains(&code.as_str()) => {
                        stats.expected_4xx += 1;
                    }
                    Some(s @ 400..=499) => {
                        stats.other_4xx += 1;
                        failed = true;
                        push_sample(stats, format!("{s} {code}: {}", truncate(&msg, 200)));
                    }
                    Some(s @ 500..=599) => {
                        stats.server_5xx += 1;
                        failed = true;
                        push_sample(
                            stats,
                            format!(
                                "{s} {code} after {:.1} s: {}",
                                took.as_secs_f64(),
                                truncate(&msg, 200)
                            ),
                        );
                    }
                    _ => {
                        stats.transport += 1;
                        failed = true;
                        let what = DisplayErrorContext(&e).to_string();
                        push_sample(
                            stats,
                            format!(
                                "transport ({status:?}) after {:.1} s: {}",
                                took.as_secs_f64(),
                                truncate(&what, 200)
                            ),
                        );
                    }
                }
                None
            }
        };
        if failed {
            self.progress.failures.fetch_add(1, Ordering::Relaxed);
        }
        value
    }
}

fn push_sample(stats: &mut OpStats, s: String) {
    if stats.samples.len() < SAMPLES && !stats.samples.contains(&s) {
        stats.samples.push(s);
    }
}

/// Follows NextToken for at most `$pages` pages of a list operation.
macro_rules! paginate {
    ($rec:expr, $op:expr, $pages:expr, $builder:expr) => {{
        let mut next: Option<String> = None;
        for _ in 0..$pages {
            let out = $rec
                .call($op, &[], $builder.set_next_token(next.take()).send())
                .await;
            match out.and_then(|o| o.next_token().map(String::from)) {
                Some(token) => next = Some(token),
                None => break,
            }
        }
    }};
}

// ---------------------------------------------------------------------------------------------
// Mixed load
// ---------------------------------------------------------------------------------------------

/// What every client shares: created once before the load starts.
struct Fixture {
    /// Zero-duration strategy (GrowthFactor 100, no bake): deployments complete at once.
    instant: String,
    /// A strategy that runs for about 180 ms of real time at the scaled clock.
    slow: String,
    /// Application with [`ENVIRONMENTS`] environments and one profile with versions 1 and 2.
    deploy_app: String,
    deploy_app_name: String,
    deploy_envs: Vec<String>,
    deploy_env_names: Vec<String>,
    deploy_profile: String,
    deploy_profile_name: String,
    /// Application with one environment, deployed to over and over.
    single_app: String,
    single_env: String,
    single_profile: String,
    /// The one profile every client creates hosted versions on (JSON-schema validator).
    hosted_app: String,
    hosted_profile: String,
    /// Highest hosted version number seen on it.
    hosted_latest: AtomicI32,
    /// ARN of the application extensions get associated with (never deployed: nothing fires).
    ext_app_arn: String,
}

const SCHEMA: &str = r#"{"type": "object", "required": ["client"]}"#;

async fn create_hosted(c: &Client, app: &str, profile: &str, body: &str) -> Res<i32> {
    Ok(must(
        "CreateHostedConfigurationVersion",
        c.create_hosted_configuration_version()
            .application_id(app)
            .configuration_profile_id(profile)
            .content(Blob::new(body.as_bytes().to_vec()))
            .content_type("application/json")
            .send(),
    )
    .await?
    .version_number())
}

async fn create_strategy(
    c: &Client,
    name: &str,
    minutes: i32,
    growth: f32,
    bake: i32,
) -> Res<String> {
    let out = must(
        "CreateDeploymentStrategy",
        c.create_deployment_strategy()
            .name(name)
            .deployment_duration_in_minutes(minutes)
            .growth_type(GrowthType::Linear)
            .growth_factor(growth)
            .final_bake_time_in_minutes(bake)
            .send(),
    )
    .await?;
    need("CreateDeploymentStrategy", out.id())
}

async fn create_app(c: &Client, name: &str) -> Res<String> {
    let out = must(
        "CreateApplication",
        c.create_application().name(name).send(),
    )
    .await?;
    need("CreateApplication", out.id())
}

async fn create_profile(
    c: &Client,
    app: &str,
    name: &str,
    validator: Option<Validator>,
) -> Res<String> {
    let out = must(
        "CreateConfigurationProfile",
        c.create_configuration_profile()
            .application_id(app)
            .name(name)
            .location_uri("hosted")
            .set_validators(validator.map(|v| vec![v]))
            .send(),
    )
    .await?;
    need("CreateConfigurationProfile", out.id())
}

async fn create_env(c: &Client, app: &str, name: &str) -> Res<String> {
    let out = must(
        "CreateEnvironment",
        c.create_environment().application_id(app).name(name).send(),
    )
    .await?;
    need("CreateEnvironment", out.id())
}

async fn setup_fixture(c: &Client, d: &DataClient) -> Res<Fixture> {
    let instant = create_strategy(c, "load-instant", 0, 100.0, 0).await?;
    let slow = create_strategy(c, "load-slow", 2, 50.0, 1).await?;

    let deploy_app_name = "load-deploy".to_string();
    let deploy_app = create_app(c, &deploy_app_name).await?;
    let mut deploy_envs = Vec::new();
    let mut deploy_env_names = Vec::new();
    for i in 0..ENVIRONMENTS {
        let name = format!("env-{i:02}");
        deploy_envs.push(create_env(c, &deploy_app, &name).await?);
        deploy_env_names.push(name);
    }
    let deploy_profile_name = "cfg".to_string();
    let deploy_profile = create_profile(c, &deploy_app, &deploy_profile_name, None).await?;
    create_hosted(c, &deploy_app, &deploy_profile, r#"{"v": 1}"#).await?;
    create_hosted(c, &deploy_app, &deploy_profile, r#"{"v": 2}"#).await?;

    let single_app = create_app(c, "load-single").await?;
    let single_env = create_env(c, &single_app, "only").await?;
    let single_profile = create_profile(c, &single_app, "cfg", None).await?;
    create_hosted(c, &single_app, &single_profile, r#"{"v": 1}"#).await?;

    let hosted_app = create_app(c, "load-hosted").await?;
    let validator = Validator::builder()
        .r#type(ValidatorType::JsonSchema)
        .content(SCHEMA)
        .build()
        .map_err(|e| format!("validator: {e}"))?;
    let hosted_profile = create_profile(c, &hosted_app, "shared", Some(validator)).await?;
    let first = create_hosted(c, &hosted_app, &hosted_profile, r#"{"client": -1}"#).await?;

    let ext_app = create_app(c, "load-extensions").await?;

    // The data plane serves env-00 from the start.
    let out = must(
        "StartDeployment",
        c.start_deployment()
            .application_id(&deploy_app)
            .environment_id(&deploy_envs[0])
            .deployment_strategy_id(&instant)
            .configuration_profile_id(&deploy_profile)
            .configuration_version("1")
            .send(),
    )
    .await?;
    let number = out.deployment_number();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let dep = must(
            "GetDeployment",
            c.get_deployment()
                .application_id(&deploy_app)
                .environment_id(&deploy_envs[0])
                .deployment_number(number)
                .send(),
        )
        .await?;
        if dep.state() == Some(&DeploymentState::Complete) {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the first deployment is still {:?} after 30 s",
                dep.state()
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let session = must(
        "StartConfigurationSession",
        d.start_configuration_session()
            .application_identifier(&deploy_app_name)
            .environment_identifier(&deploy_env_names[0])
            .configuration_profile_identifier(&deploy_profile_name)
            .send(),
    )
    .await?;
    let token = need(
        "StartConfigurationSession",
        session.initial_configuration_token(),
    )?;
    let got = must(
        "GetLatestConfiguration",
        d.get_latest_configuration()
            .configuration_token(token)
            .send(),
    )
    .await?;
    if got.configuration().is_none_or(|b| b.as_ref().is_empty()) {
        return Err("GetLatestConfiguration returned no configuration after deploying".into());
    }

    Ok(Fixture {
        instant,
        slow,
        deploy_app,
        deploy_app_name,
        deploy_envs,
        deploy_env_names,
        deploy_profile,
        deploy_profile_name,
        single_app,
        single_env,
        single_profile,
        hosted_app,
        hosted_profile,
        hosted_latest: AtomicI32::new(first),
        ext_app_arn: app_arn(&ext_app),
    })
}

/// The scenarios a client picks from (weights: how often, relative to each other).
#[derive(Debug, Clone, Copy)]
enum Scenario {
    /// Create/tag/update/get/delete an application, an environment, a profile and a hosted
    /// version on that profile.
    Crud,
    /// Create/get/update/list/delete a deployment strategy.
    Strategy,
    /// CreateHostedConfigurationVersion on the one shared profile, get it, list versions.
    Hosted,
    /// StartDeployment into one of 20 environments (ConflictException while one runs there).
    DeployMany,
    /// StartDeployment into the one environment everybody deploys to; the winner sometimes
    /// stops its deployment (BadRequestException if it finished first).
    DeployOne,
    /// Create/get/update/list an extension and an association, then delete both.
    Extensions,
    /// ValidateConfiguration of a version of the shared profile.
    Validate,
    /// List calls with small pages; account settings.
    Lists,
    /// StartConfigurationSession and a few GetLatestConfiguration polls.
    DataPlane,
}

const SCENARIOS: &[(Scenario, u32)] = &[
    (Scenario::Crud, 12),
    (Scenario::Strategy, 5),
    (Scenario::Hosted, 20),
    (Scenario::DeployMany, 15),
    (Scenario::DeployOne, 10),
    (Scenario::Extensions, 8),
    (Scenario::Validate, 8),
    (Scenario::Lists, 10),
    (Scenario::DataPlane, 12),
];

fn pick(rng: &mut fastrand::Rng) -> Scenario {
    let total: u32 = SCENARIOS.iter().map(|(_, w)| w).sum();
    let mut x = rng.u32(0..total);
    for &(s, w) in SCENARIOS {
        if x < w {
            return s;
        }
        x -= w;
    }
    SCENARIOS[0].0
}

const CONFLICT: &[&str] = &["ConflictException"];
const BAD_REQUEST: &[&str] = &["BadRequestException"];

struct Worker {
    id: usize,
    seq: u64,
    c: Client,
    d: DataClient,
    fx: Arc<Fixture>,
    rng: fastrand::Rng,
    rec: Recorder,
    /// Hosted version numbers this worker got on the shared profile.
    versions: Vec<i32>,
}

impl Worker {
    fn unique(&mut self, what: &str) -> String {
        self.seq += 1;
        format!("load-{what}-w{}-{}", self.id, self.seq)
    }

    async fn run(mut self, end: Instant) -> (Recorder, Vec<i32>) {
        while Instant::now() < end {
            match pick(&mut self.rng) {
                Scenario::Crud => self.crud().await,
                Scenario::Strategy => self.strategy().await,
                Scenario::Hosted => self.hosted().await,
                Scenario::DeployMany => self.deploy_many().await,
                Scenario::DeployOne => self.deploy_one().await,
                Scenario::Extensions => self.extensions().await,
                Scenario::Validate => self.validate().await,
                Scenario::Lists => self.lists().await,
                Scenario::DataPlane => self.data_plane().await,
            }
        }
        (self.rec, self.versions)
    }

    async fn crud(&mut self) {
        let c = self.c.clone();
        let name = self.unique("app");
        let Some(out) = self
            .rec
            .call(
                "CreateApplication",
                &[],
                c.create_application()
                    .name(&name)
                    .description("load test")
                    .tags("bench", "load")
                    .send(),
            )
            .await
        else {
            return;
        };
        let Some(app) = out.id().map(str::to_string) else {
            return;
        };
        let arn = app_arn(&app);
        let r = &mut self.rec;
        r.call(
            "TagResource",
            &[],
            c.tag_resource()
                .resource_arn(&arn)
                .tags("owner", "load")
                .tags("tier", "test")
                .send(),
        )
        .await;
        r.call(
            "ListTagsForResource",
            &[],
            c.list_tags_for_resource().resource_arn(&arn).send(),
        )
        .await;
        r.call(
            "UntagResource",
            &[],
            c.untag_resource()
                .resource_arn(&arn)
                .tag_keys("tier")
                .send(),
        )
        .await;
        r.call(
            "UpdateApplication",
            &[],
            c.update_application()
                .application_id(&app)
                .description("updated")
                .send(),
        )
        .await;
        r.call(
            "GetApplication",
            &[],
            c.get_application().application_id(&app).send(),
        )
        .await;
        let env = r
            .call(
                "CreateEnvironment",
                &[],
                c.create_environment().application_id(&app).name("e").send(),
            )
            .await
            .and_then(|o| o.id().map(str::to_string));
        if let Some(env) = &env {
            r.call(
                "UpdateEnvironment",
                &[],
                c.update_environment()
                    .application_id(&app)
                    .environment_id(env)
                    .description("updated")
                    .send(),
            )
            .await;
            r.call(
                "GetEnvironment",
                &[],
                c.get_environment()
                    .application_id(&app)
                    .environment_id(env)
                    .send(),
            )
            .await;
        }
        let profile = r
            .call(
                "CreateConfigurationProfile",
                &[],
                c.create_configuration_profile()
                    .application_id(&app)
                    .name("p")
                    .location_uri("hosted")
                    .send(),
            )
            .await
            .and_then(|o| o.id().map(str::to_string));
        if let Some(profile) = &profile {
            r.call(
                "UpdateConfigurationProfile",
                &[],
                c.update_configuration_profile()
                    .application_id(&app)
                    .configuration_profile_id(profile)
                    .description("updated")
                    .send(),
            )
            .await;
            r.call(
                "GetConfigurationProfile",
                &[],
                c.get_configuration_profile()
                    .application_id(&app)
                    .configuration_profile_id(profile)
                    .send(),
            )
            .await;
            let version = r
                .call(
                    "CreateHostedConfigurationVersion (own profile)",
                    &[],
                    c.create_hosted_configuration_version()
                        .application_id(&app)
                        .configuration_profile_id(profile)
                        .content(Blob::new(&b"{\"own\": true}"[..]))
                        .content_type("application/json")
                        .send(),
                )
                .await
                .map(|o| o.version_number());
            if let Some(v) = version {
                r.call(
                    "DeleteHostedConfigurationVersion",
                    &[],
                    c.delete_hosted_configuration_version()
                        .application_id(&app)
                        .configuration_profile_id(profile)
                        .version_number(v)
                        .send(),
                )
                .await;
            }
            r.call(
                "DeleteConfigurationProfile",
                &[],
                c.delete_configuration_profile()
                    .application_id(&app)
                    .configuration_profile_id(profile)
                    .send(),
            )
            .await;
        }
        if let Some(env) = &env {
            r.call(
                "DeleteEnvironment",
                &[],
                c.delete_environment()
                    .application_id(&app)
                    .environment_id(env)
                    .send(),
            )
            .await;
        }
        r.call(
            "DeleteApplication",
            &[],
            c.delete_application().application_id(&app).send(),
        )
        .await;
    }

    async fn strategy(&mut self) {
        let c = self.c.clone();
        let name = self.unique("strategy");
        let r = &mut self.rec;
        let Some(id) = r
            .call(
                "CreateDeploymentStrategy",
                &[],
                c.create_deployment_strategy()
                    .name(&name)
                    .deployment_duration_in_minutes(0)
                    .growth_factor(100.0)
                    .final_bake_time_in_minutes(0)
                    .send(),
            )
            .await
            .and_then(|o| o.id().map(str::to_string))
        else {
            return;
        };
        r.call(
            "GetDeploymentStrategy",
            &[],
            c.get_deployment_strategy()
                .deployment_strategy_id(&id)
                .send(),
        )
        .await;
        r.call(
            "UpdateDeploymentStrategy",
            &[],
            c.update_deployment_strategy()
                .deployment_strategy_id(&id)
                .description("updated")
                .send(),
        )
        .await;
        paginate!(
            r,
            "ListDeploymentStrategies",
            3,
            c.list_deployment_strategies().max_results(5)
        );
        r.call(
            "DeleteDeploymentStrategy",
            &[],
            c.delete_deployment_strategy()
                .deployment_strategy_id(&id)
                .send(),
        )
        .await;
    }

    async fn hosted(&mut self) {
        let c = self.c.clone();
        let fx = self.fx.clone();
        self.seq += 1;
        let body = format!(r#"{{"client": {}, "seq": {}}}"#, self.id, self.seq);
        let r = &mut self.rec;
        let version = r
            .call(
                "CreateHostedConfigurationVersion (shared profile)",
                &[],
                c.create_hosted_configuration_version()
                    .application_id(&fx.hosted_app)
                    .configuration_profile_id(&fx.hosted_profile)
                    .content(Blob::new(body.into_bytes()))
                    .content_type("application/json")
                    .send(),
            )
            .await
            .map(|o| o.version_number());
        if let Some(v) = version {
            self.versions.push(v);
            fx.hosted_latest.fetch_max(v, Ordering::Relaxed);
            r.call(
                "GetHostedConfigurationVersion",
                &[],
                c.get_hosted_configuration_version()
                    .application_id(&fx.hosted_app)
                    .configuration_profile_id(&fx.hosted_profile)
                    .version_number(v)
                    .send(),
            )
            .await;
        }
        paginate!(
            r,
            "ListHostedConfigurationVersions",
            2,
            c.list_hosted_configuration_versions()
                .application_id(&fx.hosted_app)
                .configuration_profile_id(&fx.hosted_profile)
                .max_results(5)
        );
    }

    async fn deploy_many(&mut self) {
        let c = self.c.clone();
        let fx = self.fx.clone();
        let env = &fx.deploy_envs[self.rng.usize(0..fx.deploy_envs.len())];
        let version = if self.rng.bool() { "1" } else { "2" };
        let r = &mut self.rec;
        let number = r
            .call(
                "StartDeployment (20 environments)",
                CONFLICT,
                c.start_deployment()
                    .application_id(&fx.deploy_app)
                    .environment_id(env)
                    .deployment_strategy_id(&fx.instant)
                    .configuration_profile_id(&fx.deploy_profile)
                    .configuration_version(version)
                    .send(),
            )
            .await
            .map(|o| o.deployment_number());
        if let Some(n) = number {
            r.call(
                "GetDeployment",
                &[],
                c.get_deployment()
                    .application_id(&fx.deploy_app)
                    .environment_id(env)
                    .deployment_number(n)
                    .send(),
            )
            .await;
        }
        paginate!(
            r,
            "ListDeployments",
            2,
            c.list_deployments()
                .application_id(&fx.deploy_app)
                .environment_id(env)
                .max_results(5)
        );
    }

    async fn deploy_one(&mut self) {
        let c = self.c.clone();
        let fx = self.fx.clone();
        let stop_after = self
            .rng
            .bool()
            .then(|| Duration::from_millis(self.rng.u64(0..200)));
        let r = &mut self.rec;
        let Some(number) = r
            .call(
                "StartDeployment (1 environment)",
                CONFLICT,
                c.start_deployment()
                    .application_id(&fx.single_app)
                    .environment_id(&fx.single_env)
                    .deployment_strategy_id(&fx.slow)
                    .configuration_profile_id(&fx.single_profile)
                    .configuration_version("1")
                    .send(),
            )
            .await
            .map(|o| o.deployment_number())
        else {
            return;
        };
        match stop_after {
            Some(wait) => {
                tokio::time::sleep(wait).await;
                r.call(
                    "StopDeployment",
                    BAD_REQUEST,
                    c.stop_deployment()
                        .application_id(&fx.single_app)
                        .environment_id(&fx.single_env)
                        .deployment_number(number)
                        .send(),
                )
                .await;
            }
            None => {
                r.call(
                    "GetDeployment",
                    &[],
                    c.get_deployment()
                        .application_id(&fx.single_app)
                        .environment_id(&fx.single_env)
                        .deployment_number(number)
                        .send(),
                )
                .await;
            }
        }
    }

    async fn extensions(&mut self) {
        let c = self.c.clone();
        let fx = self.fx.clone();
        let name = self.unique("ext");
        let r = &mut self.rec;
        let action = Action::builder()
            .name("notify")
            .uri("http://127.0.0.1:9/load-bench")
            .build();
        let Some(ext) = r
            .call(
                "CreateExtension",
                &[],
                c.create_extension()
                    .name(&name)
                    .actions(ActionPoint::OnDeploymentComplete, vec![action])
                    .send(),
            )
            .await
            .and_then(|o| o.id().map(str::to_string))
        else {
            return;
        };
        r.call(
            "GetExtension",
            &[],
            c.get_extension().extension_identifier(&ext).send(),
        )
        .await;
        r.call(
            "UpdateExtension",
            &[],
            c.update_extension()
                .extension_identifier(&ext)
                .description("updated")
                .send(),
        )
        .await;
        paginate!(r, "ListExtensions", 3, c.list_extensions().max_results(5));
        let assoc = r
            .call(
                "CreateExtensionAssociation",
                &[],
                c.create_extension_association()
                    .extension_identifier(&ext)
                    .resource_identifier(&fx.ext_app_arn)
                    .send(),
            )
            .await
            .and_then(|o| o.id().map(str::to_string));
        if let Some(assoc) = &assoc {
            r.call(
                "GetExtensionAssociation",
                &[],
                c.get_extension_association()
                    .extension_association_id(assoc)
                    .send(),
            )
            .await;
        }
        paginate!(
            r,
            "ListExtensionAssociations",
            3,
            c.list_extension_associations()
                .resource_identifier(&fx.ext_app_arn)
                .max_results(5)
        );
        if let Some(assoc) = &assoc {
            r.call(
                "DeleteExtensionAssociation",
                &[],
                c.delete_extension_association()
                    .extension_association_id(assoc)
                    .send(),
            )
            .await;
        }
        r.call(
            "DeleteExtension",
            &[],
            c.delete_extension().extension_identifier(&ext).send(),
        )
        .await;
    }

    async fn validate(&mut self) {
        let c = self.c.clone();
        let fx = self.fx.clone();
        let latest = fx.hosted_latest.load(Ordering::Relaxed).max(1);
        let version = self.rng.i32(1..=latest);
        self.rec
            .call(
                "ValidateConfiguration",
                &[],
                c.validate_configuration()
                    .application_id(&fx.hosted_app)
                    .configuration_profile_id(&fx.hosted_profile)
                    .configuration_version(version.to_string())
                    .send(),
            )
            .await;
    }

    async fn lists(&mut self) {
        let c = self.c.clone();
        let fx = self.fx.clone();
        let update_settings = self.rng.u32(0..10) == 0;
        let r = &mut self.rec;
        paginate!(
            r,
            "ListApplications",
            5,
            c.list_applications().max_results(10)
        );
        paginate!(
            r,
            "ListEnvironments",
            4,
            c.list_environments()
                .application_id(&fx.deploy_app)
                .max_results(5)
        );
        paginate!(
            r,
            "ListConfigurationProfiles",
            2,
            c.list_configuration_profiles()
                .application_id(&fx.deploy_app)
                .max_results(1)
        );
        r.call("GetAccountSettings", &[], c.get_account_settings().send())
            .await;
        if update_settings {
            // Deletion protection stays off (the default), so the scratch deletes keep working.
            r.call(
                "UpdateAccountSettings",
                &[],
                c.update_account_settings()
                    .deletion_protection(
                        DeletionProtectionSettings::builder().enabled(false).build(),
                    )
                    .send(),
            )
            .await;
        }
    }

    async fn data_plane(&mut self) {
        let d = self.d.clone();
        let fx = self.fx.clone();
        let r = &mut self.rec;
        let Some(mut token) = r
            .call(
                "StartConfigurationSession",
                &[],
                d.start_configuration_session()
                    .application_identifier(&fx.deploy_app_name)
                    .environment_identifier(&fx.deploy_env_names[0])
                    .configuration_profile_identifier(&fx.deploy_profile_name)
                    .required_minimum_poll_interval_in_seconds(POLL_INTERVAL_SECONDS)
                    .send(),
            )
            .await
            .and_then(|o| o.initial_configuration_token().map(str::to_string))
        else {
            return;
        };
        for i in 0..5 {
            if i > 0 {
                // 15 s scaled by 1000 is 15 ms; wait a little longer.
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            let Some(next) = r
                .call(
                    "GetLatestConfiguration",
                    &[],
                    d.get_latest_configuration()
                        .configuration_token(&token)
                        .send(),
                )
                .await
                .and_then(|o| o.next_poll_configuration_token().map(str::to_string))
            else {
                return;
            };
            token = next;
        }
    }
}

struct MixedReport {
    backend: Backend,
    clients: usize,
    elapsed: Duration,
    ops: BTreeMap<&'static str, OpStats>,
    duplicate_versions: usize,
    shared_versions: usize,
    unfinished_workers: usize,
    worker_panics: Vec<String>,
    cpu: CpuUse,
    server_exit: Option<String>,
    log: PathBuf,
    log_problems: (usize, Vec<String>),
}

async fn mixed_on(args: &Args, bin: &Path, logs: &Path, backend: Backend) -> Res<MixedReport> {
    let mut instance = Instance::start(bin, logs, backend, "mixed", args)?;
    let http = http_client();
    let c = control_client(&instance.endpoint, http.clone());
    let d = data_client(&instance.endpoint, http);
    eprintln!("load: [{}] mixed: setting up", backend.key());
    let fx = Arc::new(
        setup_fixture(&c, &d)
            .await
            .map_err(|e| format!("setup: {e}"))?,
    );

    let duration = Duration::from_secs(args.duration);
    let cpu = CpuMeter::start(instance.server.pid(), backend == Backend::Postgres);
    let start = Instant::now();
    let end = start + duration;
    let stop_at = end + GRACE;
    let progress = Arc::new(Progress::default());
    let mut set = JoinSet::new();
    let mut seed = fastrand::Rng::new();
    for id in 0..args.clients {
        let worker = Worker {
            id,
            seq: 0,
            c: c.clone(),
            d: d.clone(),
            fx: fx.clone(),
            rng: fastrand::Rng::with_seed(seed.u64(..)),
            rec: Recorder::new(stop_at, progress.clone()),
            versions: Vec::new(),
        };
        set.spawn(worker.run(end));
    }
    eprintln!(
        "load: [{}] mixed: {} clients for {} s",
        backend.key(),
        args.clients,
        args.duration
    );
    let (ops, versions, unfinished, panics) = collect(
        &mut set,
        backend.key(),
        "mixed",
        start,
        duration,
        stop_at,
        &progress,
    )
    .await;
    let elapsed = start.elapsed();
    let cpu = cpu.finish();

    let mut seen = HashSet::new();
    let duplicate_versions = versions.iter().filter(|v| !seen.insert(**v)).count();
    let server_exit = instance.server.exited();
    let log = instance.log.clone();
    // Stop the server before reading its log and dropping its store.
    drop(instance);
    Ok(MixedReport {
        backend,
        clients: args.clients,
        elapsed,
        ops,
        duplicate_versions,
        shared_versions: versions.len(),
        unfinished_workers: unfinished,
        worker_panics: panics,
        cpu,
        server_exit,
        log_problems: log_problems(&log),
        log,
    })
}

type Collected = (
    BTreeMap<&'static str, OpStats>,
    Vec<i32>,
    usize,
    Vec<String>,
);

/// Waits for the workers (printing progress), merging what they recorded. Workers still
/// running long after the last call could have ended are aborted and counted.
async fn collect(
    set: &mut JoinSet<(Recorder, Vec<i32>)>,
    label: &str,
    phase: &str,
    start: Instant,
    duration: Duration,
    stop_at: Instant,
    progress: &Progress,
) -> Collected {
    let mut ops: BTreeMap<&'static str, OpStats> = BTreeMap::new();
    let mut versions = Vec::new();
    let mut panics = Vec::new();
    let mut unfinished = 0;
    let hard_stop = stop_at + CALL_TIMEOUT + Duration::from_secs(15);
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    tick.tick().await;
    loop {
        tokio::select! {
            joined = set.join_next() => match joined {
                None => break,
                Some(Ok((rec, v))) => {
                    for (op, stats) in rec.ops {
                        ops.entry(op).or_default().merge(stats);
                    }
                    versions.extend(v);
                }
                Some(Err(e)) if e.is_cancelled() => {}
                Some(Err(e)) => panics.push(e.to_string()),
            },
            _ = tick.tick() => {
                let calls = progress.calls.load(Ordering::Relaxed);
                let failures = progress.failures.load(Ordering::Relaxed);
                let t = start.elapsed();
                eprintln!(
                    "load: [{label}] {phase}: {:>4.0}/{} s  {} calls ({:.0}/s)  {} failed{}",
                    t.as_secs_f64(),
                    duration.as_secs(),
                    group(calls),
                    calls as f64 / t.as_secs_f64(),
                    failures,
                    if t > duration { format!(", waiting for {} clients", set.len()) } else { String::new() },
                );
                if Instant::now() > hard_stop {
                    unfinished = set.len();
                    set.abort_all();
                }
            }
        }
    }
    for stats in ops.values_mut() {
        stats.finish();
    }
    (ops, versions, unfinished, panics)
}

/// One of the failure counters of [`OpStats`].
type Count = fn(&OpStats) -> u64;

impl MixedReport {
    fn print(&self, args: &Args, cores: usize) {
        let secs = self.elapsed.as_secs_f64();
        println!(
            "\n### Mixed load, {}: {} clients, {} s\n",
            self.backend.label(),
            self.clients,
            args.duration
        );
        println!(
            "AWS SDK for Rust clients (retries off) and appconfigd `--time-scale {TIME_SCALE}` on the same {cores}-core machine; \
             {:.1} s from the first call to the last answer; CPU used: {}.\n",
            secs,
            self.cpu.describe("appconfigd")
        );
        println!("| operation | calls | calls/s | p50 ms | p99 ms | max ms | 4xx |");
        println!("|---|---:|---:|---:|---:|---:|---:|");
        let mut all = OpStats::default();
        for (op, s) in &self.ops {
            println!(
                "| {op} | {} | {} | {} | {} | {} | {} |",
                group(s.calls()),
                rate(s.calls() as f64 / secs),
                ms(s.percentile_ms(0.50)),
                ms(s.percentile_ms(0.99)),
                ms(s.max_ms()),
                fourxx(s),
            );
            all.latencies_us.extend(&s.latencies_us);
            all.expected_4xx += s.expected_4xx;
            all.other_4xx += s.other_4xx;
            all.server_5xx += s.server_5xx;
            all.transport += s.transport;
            all.slow += s.slow;
        }
        all.finish();
        println!(
            "| **all** | **{}** | **{}** | **{}** | **{}** | **{}** | **{}** |",
            group(all.calls()),
            rate(all.calls() as f64 / secs),
            ms(all.percentile_ms(0.50)),
            ms(all.percentile_ms(0.99)),
            ms(all.max_ms()),
            fourxx(&all),
        );
        println!(
            "\n4xx are the expected answers to races: ConflictException from StartDeployment while a \
             deployment runs in that environment, BadRequestException from StopDeployment on a \
             deployment that completed first. 5xx: {}, transport errors: {}, unexpected 4xx: {}, \
             calls over 2 s: {}; hosted version numbers on the shared profile: {} distinct of {}.",
            all.server_5xx,
            all.transport,
            all.other_4xx,
            all.slow,
            group((self.shared_versions - self.duplicate_versions) as u64),
            group(self.shared_versions as u64)
        );
        let failing: Vec<_> = self.ops.iter().filter(|(_, s)| s.failures() > 0).collect();
        if !failing.is_empty() {
            println!(
                "\nFailed calls ({} server log: {}):\n",
                self.backend.label(),
                self.log.display()
            );
            println!("| operation | 5xx | transport | unexpected 4xx | over 2 s | e.g. |");
            println!("|---|---:|---:|---:|---:|---|");
            for (op, s) in failing {
                println!(
                    "| {op} | {} | {} | {} | {} | {} |",
                    s.server_5xx,
                    s.transport,
                    s.other_4xx,
                    s.slow,
                    s.samples.join("; ").replace('|', "\\|")
                );
            }
            let (count, first) = &self.log_problems;
            if *count > 0 {
                println!("\nServer log: {count} WARN/ERROR lines, first:\n");
                println!("```");
                for l in first {
                    println!("{l}");
                }
                println!("```");
            }
        }
    }

    fn failures(&self) -> Vec<String> {
        let b = self.backend.label();
        let mut out = Vec::new();
        let checks: [(&str, Count); 4] = [
            ("5xx answers", |s| s.server_5xx),
            ("transport errors", |s| s.transport),
            ("unexpected 4xx answers", |s| s.other_4xx),
            ("calls over 2 s", |s| s.slow),
        ];
        for (what, count) in checks {
            let n: u64 = self.ops.values().map(count).sum();
            if n > 0 {
                let ops: Vec<&str> = self
                    .ops
                    .iter()
                    .filter(|(_, s)| count(s) > 0)
                    .map(|(op, _)| *op)
                    .collect();
                out.push(format!("{b} mixed load: {n} {what} ({})", ops.join(", ")));
            }
        }
        if self.duplicate_versions > 0 {
            out.push(format!(
                "{b} mixed load: {} hosted version numbers handed out twice",
                self.duplicate_versions
            ));
        }
        if self.unfinished_workers > 0 {
            out.push(format!(
                "{b} mixed load: {} clients still waiting {} s after the end (aborted)",
                self.unfinished_workers,
                (GRACE + CALL_TIMEOUT).as_secs() + 15
            ));
        }
        for p in &self.worker_panics {
            out.push(format!("{b} mixed load: a client panicked: {p}"));
        }
        if let Some(status) = &self.server_exit {
            out.push(format!(
                "{b} mixed load: appconfigd exited during the run ({status})"
            ));
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Write throughput
// ---------------------------------------------------------------------------------------------

struct WriteReport {
    server: String,
    /// Target and whether it is enforced for this server (appconfigd only).
    target: Option<f64>,
    run: WriteRun,
    /// Only appconfigd's answers are checked.
    checked: bool,
    log: PathBuf,
}

impl WriteReport {
    fn errors(&self) -> u64 {
        let s = &self.run.stats;
        s.expected_4xx + s.other_4xx + s.server_5xx + s.transport
    }

    fn rate(&self) -> f64 {
        (self.run.stats.calls() - self.errors()) as f64 / self.run.elapsed.as_secs_f64()
    }

    fn failures(&self, enforce: bool) -> Vec<String> {
        let mut out = Vec::new();
        if !self.checked {
            return out;
        }
        let s = &self.run.stats;
        let name = &self.server;
        if s.server_5xx + s.transport + s.other_4xx > 0 {
            out.push(format!(
                "{name} write throughput: {} 5xx, {} transport errors, {} 4xx ({}; log {})",
                s.server_5xx,
                s.transport,
                s.other_4xx,
                s.samples.join("; "),
                self.log.display()
            ));
        }
        if s.slow > 0 {
            out.push(format!(
                "{name} write throughput: {} calls over 2 s",
                s.slow
            ));
        }
        if self.run.duplicates > 0 {
            out.push(format!(
                "{name} write throughput: {} version numbers handed out twice",
                self.run.duplicates
            ));
        }
        if let Some(target) = self.target {
            if enforce && self.rate() < target {
                out.push(format!(
                    "{name} write throughput: {:.0}/s is below the target {}/s",
                    self.rate(),
                    group(target as u64)
                ));
            }
        }
        out
    }
}

/// What [`write_load`] measured.
struct WriteRun {
    stats: OpStats,
    elapsed: Duration,
    duplicates: usize,
    cpu: CpuUse,
}

/// `clients` tasks creating hosted versions on one new profile for `duration`; `cpu` names the
/// server process and whether PostgreSQL's CPU counts.
async fn write_load(
    c: &Client,
    label: &str,
    clients: usize,
    duration: Duration,
    cpu: (Option<u32>, bool),
) -> Res<WriteRun> {
    let app = create_app(c, "load-write").await?;
    let profile = create_profile(c, &app, "one", None).await?;
    let cpu = CpuMeter::start(cpu.0, cpu.1);
    let start = Instant::now();
    let end = start + duration;
    let stop_at = end + GRACE;
    let progress = Arc::new(Progress::default());
    let mut set = JoinSet::new();
    for client in 0..clients {
        let (c, app, profile) = (c.clone(), app.clone(), profile.clone());
        let mut rec = Recorder::new(stop_at, progress.clone());
        set.spawn(async move {
            let mut versions = Vec::new();
            let mut n = 0u64;
            while Instant::now() < end {
                n += 1;
                let body = format!(r#"{{"client": {client}, "n": {n}, "enabled": true}}"#);
                let out = rec
                    .call(
                        "CreateHostedConfigurationVersion",
                        &[],
                        c.create_hosted_configuration_version()
                            .application_id(&app)
                            .configuration_profile_id(&profile)
                            .content(Blob::new(body.into_bytes()))
                            .content_type("application/json")
                            .send(),
                    )
                    .await;
                if let Some(out) = out {
                    versions.push(out.version_number());
                }
            }
            (rec, versions)
        });
    }
    eprintln!(
        "load: [{label}] write: {clients} clients for {} s",
        duration.as_secs()
    );
    let (mut ops, versions, unfinished, panics) = collect(
        &mut set, label, "write", start, duration, stop_at, &progress,
    )
    .await;
    let elapsed = start.elapsed();
    let cpu = cpu.finish();
    if unfinished > 0 || !panics.is_empty() {
        return Err(format!(
            "{unfinished} clients did not finish, {} panicked {panics:?}",
            panics.len()
        ));
    }
    let mut seen = HashSet::new();
    let duplicates = versions.iter().filter(|v| !seen.insert(**v)).count();
    let stats = ops
        .remove("CreateHostedConfigurationVersion")
        .unwrap_or_default();
    Ok(WriteRun {
        stats,
        elapsed,
        duplicates,
        cpu,
    })
}

async fn write_on_appconfigd(
    args: &Args,
    bin: &Path,
    logs: &Path,
    backend: Backend,
) -> Res<WriteReport> {
    let instance = Instance::start(bin, logs, backend, "write", args)?;
    let c = control_client(&instance.endpoint, http_client());
    let run = write_load(
        &c,
        backend.key(),
        args.write_clients,
        Duration::from_secs(args.write_duration),
        (instance.server.pid(), backend == Backend::Postgres),
    )
    .await?;
    let log = instance.log.clone();
    drop(instance);
    Ok(WriteReport {
        server: format!("appconfigd ({})", backend.label()),
        target: Some(match backend {
            Backend::Sqlite => SQLITE_TARGET,
            Backend::Postgres => POSTGRES_TARGET,
        }),
        run,
        checked: true,
        log,
    })
}

async fn write_on_moto(args: &Args, logs: &Path) -> Res<WriteReport> {
    let port = free_port()?;
    let log = logs.join("moto.log");
    let log_file = File::create(&log).map_err(|e| format!("create {}: {e}", log.display()))?;
    let mut cmd = Command::new("moto_server");
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log_file));
    die_with_parent(&mut cmd);
    let mut moto = ChildGuard(Some(cmd.spawn().map_err(|e| {
        format!("cannot start moto_server (pip install 'moto[server]'): {e}")
    })?));
    let deadline = Instant::now() + START_TIMEOUT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = moto.exited() {
            return Err(format!(
                "moto_server exited ({status}):\n{}",
                tail(&log, 10)
            ));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "moto_server did not listen on port {port} within {START_TIMEOUT:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let version = Command::new("python3")
        .args(["-c", "import moto; print(moto.__version__)"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    eprintln!("load: [moto] moto {version} at http://127.0.0.1:{port}");
    let c = control_client(&format!("http://127.0.0.1:{port}"), http_client());
    let run = write_load(
        &c,
        "moto",
        args.write_clients,
        Duration::from_secs(args.write_duration),
        (moto.pid(), false),
    )
    .await?;
    drop(moto);
    Ok(WriteReport {
        server: if version.is_empty() {
            "moto (server mode)".to_string()
        } else {
            format!("moto {version} (server mode)")
        },
        target: None,
        run,
        checked: false,
        log,
    })
}

fn print_writes(args: &Args, cores: usize, writes: &[WriteReport], moto_note: Option<&str>) {
    println!(
        "\n### Write throughput: CreateHostedConfigurationVersion, {} clients on one profile, {} s\n",
        args.write_clients, args.write_duration
    );
    println!(
        "Small JSON bodies (`application/json`), AWS SDK for Rust clients, each server fresh, on the same {cores}-core machine.\n"
    );
    println!("| server | versions | versions/s | p50 ms | p99 ms | max ms | errors | duplicate numbers | CPU cores: server / PostgreSQL / load generator | target |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    let cores_used = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.2}"));
    for w in writes {
        let s = &w.run.stats;
        let errors = w.errors();
        let ok = s.calls() - errors;
        let cpu = &w.run.cpu;
        let target = match w.target {
            Some(t) if w.rate() >= t => format!("≥ {}/s: met", group(t as u64)),
            Some(t) => format!("≥ {}/s: **not met**", group(t as u64)),
            None => "—".to_string(),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} / {} / {} | {} |",
            w.server,
            group(ok),
            rate(w.rate()),
            ms(s.percentile_ms(0.50)),
            ms(s.percentile_ms(0.99)),
            ms(s.max_ms()),
            group(errors),
            if w.checked {
                group(w.run.duplicates as u64)
            } else {
                format!("{} (not checked)", w.run.duplicates)
            },
            cores_used(cpu.server),
            cores_used(cpu.postgres),
            cores_used(cpu.bench),
            target
        );
    }
    if let Some(note) = moto_note {
        println!("\nmoto was not measured: {note}");
    }
}

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

/// 12345 → "12,345".
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn rate(per_second: f64) -> String {
    if per_second >= 100.0 {
        group(per_second.round() as u64)
    } else {
        format!("{per_second:.1}")
    }
}

fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        group(v.round() as u64)
    }
}

fn fourxx(s: &OpStats) -> String {
    let total = s.expected_4xx + s.other_4xx;
    if s.other_4xx > 0 {
        format!("{} ({} unexpected)", group(total), group(s.other_4xx))
    } else {
        group(total)
    }
}
