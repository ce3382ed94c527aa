//! Parallel clients never stall the server (issue 12): more requests in flight than the store
//! has connections (SQLite: 4 readers and one write lane; PostgreSQL: a pool of 10), as
//! Terraform and CI pipelines send them. Every call answers well within 2 s, without a 5xx;
//! writes that must serialize do, and the rest proceed. On PostgreSQL, a database that goes
//! away makes calls fail fast, and the server recovers when it comes back.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_appconfig::operation::start_deployment::StartDeploymentError;
use aws_sdk_appconfig::Client;
use aws_smithy_types::Blob;
use tokio::task::JoinSet;

use crate::dataplane::{data_client_for, instant_strategy};
use crate::harness::*;

/// What "promptly" means: a call that waits longer than this has stalled.
const PROMPT: Duration = Duration::from_secs(2);

/// Records how long each call of the mixed test took, keeping the slowest.
trait Within: std::future::Future + Sized {
    async fn within(self, slowest: &Mutex<Duration>) -> Self::Output {
        let (out, took) = timed(self).await;
        if let Ok(mut s) = slowest.lock() {
            *s = (*s).max(took);
        }
        out
    }
}

impl<F: std::future::Future> Within for F {}

async fn timed<T>(f: impl std::future::Future<Output = T>) -> (T, Duration) {
    let t = Instant::now();
    let out = f.await;
    (out, t.elapsed())
}

fn start_deployment(
    c: &Client,
    app: &str,
    env: &str,
    profile: &str,
    strategy: &str,
) -> aws_sdk_appconfig::operation::start_deployment::builders::StartDeploymentFluentBuilder {
    c.start_deployment()
        .application_id(app)
        .environment_id(env)
        .configuration_profile_id(profile)
        .configuration_version("1")
        .deployment_strategy_id(strategy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_start_deployments_into_many_environments_and_into_one() {
    let (_server, c) = Server::start_with_client();
    let (app, profile) = app_and_profile(&c).await;
    create_version(&c, &app, &profile, b"{}", "application/json").await;
    // Ten minutes long: every deployment is still running when the next call arrives.
    let strategy = create_strategy(&c, "slow").await;

    // 16 environments, created in parallel, then one StartDeployment into each at once.
    let mut set = JoinSet::new();
    for i in 0..16 {
        let (c, app) = (c.clone(), app.clone());
        set.spawn(async move { timed(create_env(&c, &app, &format!("env-{i}"))).await });
    }
    let mut envs = Vec::new();
    while let Some(r) = set.join_next().await {
        let (env, took) = r.unwrap();
        assert!(took < PROMPT, "CreateEnvironment took {took:?}");
        envs.push(env);
    }
    let mut set = JoinSet::new();
    for env in &envs {
        // The fluent builder owns its client and input: each task takes one.
        let call = start_deployment(&c, &app, env, &profile, &strategy);
        set.spawn(async move { timed(call.send()).await });
    }
    while let Some(r) = set.join_next().await {
        let (out, took) = r.unwrap();
        let out = out.expect("StartDeployment into its own environment");
        assert_eq!(out.deployment_number(), 1);
        assert!(took < PROMPT, "StartDeployment took {took:?}");
    }

    // 24 StartDeployment into one environment: exactly one wins, the others are told why.
    let env = create_env(&c, &app, "contended").await;
    let mut set = JoinSet::new();
    for _ in 0..24 {
        let call = start_deployment(&c, &app, &env, &profile, &strategy);
        set.spawn(async move { timed(call.send()).await });
    }
    let (mut won, mut conflicts) = (0, 0);
    while let Some(r) = set.join_next().await {
        let (out, took) = r.unwrap();
        assert!(took < PROMPT, "StartDeployment took {took:?}");
        match out {
            Ok(_) => won += 1,
            Err(e) => {
                let e = e.into_service_error();
                assert_matches!(e, StartDeploymentError::ConflictException(_));
                conflicts += 1;
            }
        }
    }
    assert_eq!((won, conflicts), (1, 23));
    let listed = send!(c
        .list_deployments()
        .application_id(&app)
        .environment_id(&env));
    assert_eq!(listed.unwrap().items().len(), 1);
}

/// One family of calls, run over and over by a client of the mixed test.
async fn mixed_call(
    c: &Client,
    shared_app: &str,
    shared_profile: &str,
    client: usize,
    round: usize,
    slowest: &Mutex<Duration>,
) -> Result<Option<i32>, String> {
    let fail = |what: &str, e: &dyn std::fmt::Debug| format!("{what}: {e:?}");
    match (client + round) % 6 {
        0 => {
            let name = format!("app-{client}-{round}");
            let app = c
                .create_application()
                .name(&name)
                .tags("team", "a")
                .send()
                .within(slowest)
                .await
                .map_err(|e| fail("CreateApplication", &e))?;
            let id = app.id().unwrap_or_default().to_string();
            c.tag_resource()
                .resource_arn(app_arn(&id))
                .tags("round", round.to_string())
                .send()
                .within(slowest)
                .await
                .map_err(|e| fail("TagResource", &e))?;
            c.update_application()
                .application_id(&id)
                .description("updated")
                .send()
                .within(slowest)
                .await
                .map_err(|e| fail("UpdateApplication", &e))?;
            let env = c
                .create_environment()
                .application_id(&id)
                .name("e")
                .send()
                .within(slowest)
                .await
                .map_err(|e| fail("CreateEnvironment", &e))?;
            c.delete_environment()
                .application_id(&id)
                .environment_id(env.id().unwrap_or_default())
                .send()
                .within(slowest)
                .await
                .map_err(|e| fail("DeleteEnvironment", &e))?;
            c.delete_application()
                .application_id(&id)
                .send()
                .within(slowest)
                .await
                .map_err(|e| fail("DeleteApplication", &e))?;
            Ok(None)
        }
        1 | 2 => {
            let out = c
                .create_hosted_configuration_version()
                .application_id(shared_app)
                .configuration_profile_id(shared_profile)
                .content(Blob::new(format!("{{\"c\":{client},\"r\":{round}}}")))
                .content_type("application/json")
                .send()
                .within(slowest)
                .await
                .map_err(|e| fail("CreateHostedConfigurationVersion", &e))?;
            Ok(Some(out.version_number()))
        }
        3 => {
            let mut token = None;
            for _ in 0..4 {
                let page = c
                    .list_applications()
                    .max_results(2)
                    .set_next_token(token)
                    .send()
                    .within(slowest)
                    .await
                    .map_err(|e| fail("ListApplications", &e))?;
                token = page.next_token().map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
            c.list_hosted_configuration_versions()
                .application_id(shared_app)
                .configuration_profile_id(shared_profile)
                .max_results(5)
                .send()
                .within(slowest)
                .await
                .map_err(|e| fail("ListHostedConfigurationVersions", &e))?;
            Ok(None)
        }
        4 => {
            c.validate_configuration()
                .application_id(shared_app)
                .configuration_profile_id(shared_profile)
                .configuration_version("1")
                .send()
                .within(slowest)
                .await
                .map_err(|e| fail("ValidateConfiguration", &e))?;
            c.get_configuration_profile()
                .application_id(shared_app)
                .configuration_profile_id(shared_profile)
                .send()
                .within(slowest)
                .await
                .map_err(|e| fail("GetConfigurationProfile", &e))?;
            Ok(None)
        }
        _ => {
            let ext = c
                .create_extension()
                .name(format!("ext-{client}-{round}"))
                .actions(
                    aws_sdk_appconfig::types::ActionPoint::OnDeploymentComplete,
                    vec![aws_sdk_appconfig::types::Action::builder()
                        .name("notify")
                        .uri("http://127.0.0.1:9/hook")
                        .build()],
                )
                .send()
                .within(slowest)
                .await
                .map_err(|e| fail("CreateExtension", &e))?;
            let assoc = c
                .create_extension_association()
                .extension_identifier(ext.id().unwrap_or_default())
                .resource_identifier(app_arn(shared_app))
                .send()
                .within(slowest)
                .await
                .map_err(|e| fail("CreateExtensionAssociation", &e))?;
            c.list_extension_associations()
                .max_results(3)
                .send()
                .within(slowest)
                .await
                .map_err(|e| fail("ListExtensionAssociations", &e))?;
            c.delete_extension_association()
                .extension_association_id(assoc.id().unwrap_or_default())
                .send()
                .within(slowest)
                .await
                .map_err(|e| fail("DeleteExtensionAssociation", &e))?;
            c.delete_extension()
                .extension_identifier(ext.id().unwrap_or_default())
                .send()
                .within(slowest)
                .await
                .map_err(|e| fail("DeleteExtension", &e))?;
            Ok(None)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_operations_with_more_clients_than_connections() {
    const CLIENTS: usize = 32;
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "shared").await;
    let profile = create_profile(&c, &app, "cfg").await;
    create_version(&c, &app, &profile, b"{}", "application/json").await;

    let stop_at = Instant::now() + Duration::from_secs(4);
    let mut set = JoinSet::new();
    for client in 0..CLIENTS {
        let (c, app, profile) = (c.clone(), app.clone(), profile.clone());
        set.spawn(async move {
            let mut numbers = Vec::new();
            let slowest = Mutex::new(Duration::ZERO);
            let mut round = 0;
            while Instant::now() < stop_at {
                if let Some(n) = mixed_call(&c, &app, &profile, client, round, &slowest).await? {
                    numbers.push(n);
                }
                round += 1;
            }
            let slowest = slowest.into_inner().unwrap_or_default();
            Ok::<_, String>((numbers, slowest, round))
        });
    }
    let (mut numbers, mut rounds) = (Vec::new(), 0);
    while let Some(r) = set.join_next().await {
        let (n, slowest, done) = r.unwrap().unwrap_or_else(|e| panic!("{e}"));
        assert!(slowest < PROMPT, "a call took {slowest:?}");
        numbers.extend(n);
        rounds += done;
    }
    let distinct: BTreeSet<i32> = numbers.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        numbers.len(),
        "hosted version numbers repeat"
    );
    assert!(rounds >= CLIENTS, "only {rounds} rounds in 4 s");
    let stored = all_version_numbers(&c, &app, &profile).await;
    assert_eq!(stored.len(), numbers.len() + 1);
}

/// A TCP proxy in front of PostgreSQL that can be cut (every connection closed, new ones
/// refused) and restored, standing in for a database that goes away and comes back.
struct Proxy {
    addr: String,
    up: Arc<AtomicBool>,
    cut: tokio::sync::watch::Sender<u64>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let up = Arc::new(AtomicBool::new(true));
        let (cut, cuts) = tokio::sync::watch::channel(0u64);
        let flag = up.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let mut cuts = cuts.clone();
                // Only cuts after this connection was made close it.
                cuts.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        Proxy { addr, up, cut }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// `postgres://user@host:port/db?q` with `host:port` replaced by `addr`.
fn via(url: &str, addr: &str) -> (String, String) {
    let scheme_end = url.find("://").map(|i| i + 3).unwrap();
    let rest = &url[scheme_end..];
    let host_start = rest.find('@').map(|i| i + 1).unwrap_or(0);
    let host_end = rest.find('/').unwrap_or(rest.len());
    let upstream = rest[host_start..host_end].to_string();
    let proxied = format!(
        "{}{}{}{}",
        &url[..scheme_end],
        &rest[..host_start],
        addr,
        &rest[host_end..]
    );
    (proxied, upstream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreachable_database_fails_calls_fast_and_the_server_recovers() {
    if backend() != Backend::Postgres {
        // A SQLite file cannot become unreachable the way a database server can.
        return;
    }
    let mut owner = Server::start();
    let url = owner.database_url().to_string();
    owner.stop();
    let (_, upstream) = via(&url, "");
    let proxy = Proxy::start(upstream).await;
    let (proxied, _) = via(&url, &proxy.addr);
    let (server, c) =
        Server::start_with_args_client(&["--database", &proxied, "--time-scale", "60"]);

    // Something deployed, and a client polling it.
    let app = create_app(&c, "app").await;
    let env = create_env(&c, &app, "env").await;
    let profile = create_profile(&c, &app, "cfg").await;
    create_version(&c, &app, &profile, b"{\"v\":1}", "application/json").await;
    let strategy = instant_strategy(&c).await;
    start_deployment(&c, &app, &env, &profile, &strategy)
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let d = send!(c
            .get_deployment()
            .application_id(&app)
            .environment_id(&env)
            .deployment_number(1))
        .unwrap();
        if d.state().map(|s| s.as_str()) == Some("COMPLETE") {
            break;
        }
        assert!(Instant::now() < deadline, "deployment did not complete");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let data = data_client_for(server.endpoint());
    let session = send!(data
        .start_configuration_session()
        .application_identifier(&app)
        .environment_identifier(&env)
        .configuration_profile_identifier(&profile)
        .required_minimum_poll_interval_in_seconds(15))
    .unwrap();
    let first = send!(data
        .get_latest_configuration()
        .configuration_token(session.initial_configuration_token().unwrap()))
    .unwrap();
    assert_eq!(first.configuration().unwrap().as_ref(), b"{\"v\":1}");

    proxy.down();
    for _ in 0..3 {
        let (out, took) = timed(c.create_application().name("while-down").send()).await;
        let e = out.expect_err("no database: the call fails");
        let raw = e.raw_response().map(|r| r.status().as_u16());
        assert_eq!(raw, Some(500), "{e:?}");
        assert_eq!(code(&e.into_service_error()), "InternalServerException");
        assert!(took < PROMPT, "a call without a database took {took:?}");
        let (out, took) = timed(c.get_application().application_id(&app).send()).await;
        assert!(out.is_err(), "reads need the database too");
        assert!(took < PROMPT, "a read without a database took {took:?}");
    }
    // The data plane answers from memory meanwhile (once the poll interval, 15 s at
    // --time-scale 60, has passed).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (out, took) = timed(
        data.get_latest_configuration()
            .configuration_token(first.next_poll_configuration_token().unwrap())
            .send(),
    )
    .await;
    out.expect("the data plane keeps answering");
    assert!(took < PROMPT);
    assert!(
        server.logs().contains("database unavailable"),
        "the log says why: {}",
        server.logs()
    );

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (out, took) = timed(c.create_application().name("after").send()).await;
        assert!(took < PROMPT, "a call took {took:?}");
        if out.is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no recovery: {out:?}\n{}",
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let apps = all_app_ids(&c).await;
    assert_eq!(apps.len(), 2);
}
