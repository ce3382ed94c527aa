//! Operator features (issue 8): `/metrics`, `/healthz`, `/readyz`, and the `export`, `import`
//! and `status` subcommands, all against the real binary.

use std::collections::{BTreeMap, HashMap};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use aws_sdk_appconfig::types::ActionPoint;
use aws_sdk_appconfig::Client;
use serde_json::{json, Value};

use crate::harness::*;
use crate::scenario::{Ids, Scenario, StrategySpec};
use crate::support::{Receiver, Reply};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A JSON request through the public API (unsigned, as the anonymous server accepts).
fn call(server: &Server, method: &str, path: &str, body: Value) -> Value {
    let bytes = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    let resp = raw_json(server.addr(), method, path, &bytes);
    resp.ok_json(&format!("{method} {path}"))
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// `appconfigd <args>` with SigV4 keys in the environment; waits for it.
fn operator(args: &[&str]) -> Output {
    operator_as(("AKIDTESTTESTTESTTEST", "test-secret-key"), args)
}

fn operator_as((key, secret): (&str, &str), args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_appconfigd"))
        .args(args)
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_REGION")
        .env_remove("APPCONFIGD_ENDPOINT")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run appconfigd")
}

fn operator_ok(args: &[&str]) -> String {
    operator_ok_as(("AKIDTESTTESTTESTTEST", "test-secret-key"), args)
}

fn operator_ok_as(keys: (&str, &str), args: &[&str]) -> String {
    let out = operator_as(keys, args);
    assert!(
        out.status.success(),
        "appconfigd {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// `/metrics` as series → value (`name{labels}` exactly as exposed).
fn scrape(server: &Server) -> BTreeMap<String, f64> {
    let resp = raw_call(server.addr(), "GET", "/metrics");
    assert_eq!(resp.status, 200);
    assert!(resp
        .header("content-type")
        .unwrap_or_default()
        .starts_with("application/openmetrics-text"));
    let text = String::from_utf8_lossy(&resp.body).to_string();
    assert!(text.ends_with("# EOF\n"), "exposition must end with # EOF");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("series and value");
            let value = value.parse().unwrap_or_else(|_| panic!("bad value in {l}"));
            (series.to_string(), value)
        })
        .collect()
}

fn metric(m: &BTreeMap<String, f64>, series: &str) -> f64 {
    m.get(series).copied().unwrap_or(0.0)
}

async fn wait_metric(server: &Server, series: &str, at_least: f64) -> BTreeMap<String, f64> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let m = scrape(server);
        if metric(&m, series) >= at_least {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "{series} never reached {at_least}: {m:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Application, environment and hosted profile with one JSON version.
async fn deployable(c: &Client, name: &str) -> (String, String, String) {
    let Ids { app, env, profile } = Scenario::new(c)
        .app(name)
        .env("prod")
        .profile("cfg")
        .version(br#"{"on": true}"#, "application/json")
        .build()
        .await;
    (app, env, profile)
}

async fn strategy(c: &Client, minutes: i32, factor: f32) -> String {
    let name = format!("s-{minutes}-{factor}");
    StrategySpec::plain(&name, minutes, factor, 0)
        .create(c)
        .await
}

async fn deploy(c: &Client, (app, env, profile): &(String, String, String), strategy: &str) -> i32 {
    let ids = Ids {
        app: app.clone(),
        env: env.clone(),
        profile: profile.clone(),
    };
    ids.start(c, strategy, "1").await
}

// ---------------------------------------------------------------------------------------------
// Metrics and probes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn metrics_count_requests_deployments_invocations_and_data_plane_polls() {
    let (server, c) = Server::start_with_args_client(&["--time-scale", "60"]);
    let before = scrape(&server);
    assert_eq!(metric(&before, "appconfigd_store_up"), 1.0);
    for state in ["DEPLOYING", "BAKING", "COMPLETE", "ROLLED_BACK"] {
        assert!(
            before.contains_key(&format!("appconfigd_deployments{{state=\"{state}\"}}")),
            "every state is exposed, 0 included"
        );
    }

    // Requests by operation and status, with latency histograms.
    let created = "appconfigd_requests_total{operation=\"CreateApplication\",status=\"201\"}";
    let fx = deployable(&c, "metrics").await;
    let _ = c.get_application().application_id("nope").send().await;
    let m = scrape(&server);
    assert_eq!(metric(&m, created), 1.0);
    assert_eq!(
        metric(
            &m,
            "appconfigd_requests_total{operation=\"GetApplication\",status=\"404\"}"
        ),
        1.0
    );
    create_app(&c, "second").await;
    let m = scrape(&server);
    assert_eq!(metric(&m, created), 2.0, "the counter increases");
    let bucket = |le: &str| {
        format!("appconfigd_request_duration_seconds_bucket{{le=\"{le}\",operation=\"CreateApplication\"}}")
    };
    assert_eq!(metric(&m, &bucket("+Inf")), 2.0);
    assert!(m.contains_key(&bucket("0.005")) && m.contains_key(&bucket("10.0")));
    assert_eq!(
        metric(
            &m,
            "appconfigd_request_duration_seconds_count{operation=\"CreateApplication\"}"
        ),
        2.0
    );
    assert!(
        metric(
            &m,
            "appconfigd_request_duration_seconds_sum{operation=\"CreateApplication\"}"
        ) > 0.0
    );
    // Operator endpoints are not AppConfig operations and are not counted.
    assert!(!m
        .keys()
        .any(|k| k.contains("metrics") && k.contains("operation")));

    // Extension invocations by outcome: one webhook answers 200, the other 500.
    let hooks = Receiver::start();
    hooks.reply("/bad", Reply::status(500));
    let ext = send!(c
        .create_extension()
        .name("observed")
        .actions(
            ActionPoint::OnDeploymentStart,
            vec![aws_sdk_appconfig::types::Action::builder()
                .name("good")
                .uri(hooks.url("/good"))
                .build()],
        )
        .actions(
            ActionPoint::OnDeploymentComplete,
            vec![aws_sdk_appconfig::types::Action::builder()
                .name("bad")
                .uri(hooks.url("/bad"))
                .build()],
        ))
    .expect("create extension");
    send!(c
        .create_extension_association()
        .extension_identifier(ext.id().unwrap_or_default())
        .resource_identifier(app_arn(&fx.0)))
    .expect("associate");

    // A deployment of 4 steps, 1 s apart at 60x: the live gauge shows it while it runs.
    let steps = strategy(&c, 4, 25.0).await;
    let number = deploy(&c, &fx, &steps).await;
    let live = format!(
        "appconfigd_deployment_percentage_complete{{application_id=\"{}\",environment_id=\"{}\",deployment_number=\"{number}\",state=\"DEPLOYING\"}}",
        fx.0, fx.1
    );
    let m = scrape(&server);
    assert_eq!(
        metric(&m, "appconfigd_deployments{state=\"DEPLOYING\"}"),
        1.0
    );
    assert!(m.contains_key(&live), "live deployment gauge: {m:#?}");
    let m = wait_metric(&server, "appconfigd_deployments{state=\"COMPLETE\"}", 1.0).await;
    assert_eq!(
        metric(&m, "appconfigd_deployments{state=\"DEPLOYING\"}"),
        0.0
    );
    assert!(
        !m.contains_key(&live),
        "finished deployments leave the live gauge"
    );
    wait_metric(
        &server,
        "appconfigd_extension_invocations_total{action_point=\"ON_DEPLOYMENT_START\",outcome=\"success\"}",
        1.0,
    )
    .await;
    wait_metric(
        &server,
        "appconfigd_extension_invocations_total{action_point=\"ON_DEPLOYMENT_COMPLETE\",outcome=\"error\"}",
        1.0,
    )
    .await;

    // Data plane: a session, a poll with new content, a poll without.
    let session = call(
        &server,
        "POST",
        "/configurationsessions",
        json!({"ApplicationIdentifier": "metrics", "EnvironmentIdentifier": "prod",
               "ConfigurationProfileIdentifier": "cfg", "RequiredMinimumPollIntervalInSeconds": 15}),
    );
    let token = session["InitialConfigurationToken"]
        .as_str()
        .expect("token")
        .to_string();
    let first = raw_call(
        server.addr(),
        "GET",
        &format!("/configuration?configuration_token={}", enc(&token)),
    );
    assert_eq!(first.status, 200);
    assert_eq!(first.body, br#"{"on": true}"#);
    tokio::time::sleep(Duration::from_millis(300)).await; // 15 s poll interval at 60x
    let next = first
        .header("next-poll-configuration-token")
        .expect("next token")
        .to_string();
    let second = raw_call(
        server.addr(),
        "GET",
        &format!("/configuration?configuration_token={}", enc(&next)),
    );
    assert_eq!(second.status, 200);
    assert!(second.body.is_empty());
    let bad = raw_call(
        server.addr(),
        "GET",
        "/configuration?configuration_token=garbage",
    );
    assert_eq!(bad.status, 400);
    let agent = raw_call(
        server.addr(),
        "GET",
        "/applications/metrics/environments/prod/configurations/cfg",
    );
    assert_eq!(agent.status, 200);
    let m = scrape(&server);
    let polls = |api: &str, outcome: &str| {
        metric(
            &m,
            &format!("appconfigd_dataplane_polls_total{{api=\"{api}\",outcome=\"{outcome}\"}}"),
        )
    };
    assert_eq!(
        metric(
            &m,
            "appconfigd_dataplane_sessions_total{outcome=\"started\"}"
        ),
        1.0
    );
    assert_eq!(polls("GetLatestConfiguration", "changed"), 1.0);
    assert_eq!(polls("GetLatestConfiguration", "unchanged"), 1.0);
    assert_eq!(polls("GetLatestConfiguration", "error"), 1.0);
    assert_eq!(polls("AgentRead", "served"), 1.0);
    assert_eq!(
        metric(
            &m,
            "appconfigd_requests_total{operation=\"GetLatestConfiguration\",status=\"200\"}"
        ),
        2.0
    );
}

#[tokio::test]
async fn healthz_and_readyz_answer_without_credentials_and_readyz_follows_the_store() {
    let server = Server::start();
    let health = raw_call(server.addr(), "GET", "/healthz");
    assert_eq!((health.status, health.body.as_slice()), (200, &b"ok\n"[..]));
    let ready = raw_call(server.addr(), "GET", "/readyz");
    assert_eq!(
        (ready.status, ready.body.as_slice()),
        (200, &b"ready\n"[..])
    );
    if backend() != Backend::Sqlite {
        return; // Breaking the database under a running server is arranged on SQLite only.
    }
    // Overwrite the database (and its WAL) with garbage under the running server.
    let file = server
        .database_url()
        .trim_start_matches("sqlite://")
        .to_string();
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{file}{suffix}");
        if std::path::Path::new(&path).exists() {
            std::fs::write(&path, vec![0x5a; 16384]).expect("overwrite the database");
        }
    }
    let ready = raw_call(server.addr(), "GET", "/readyz");
    assert_eq!(
        ready.status,
        503,
        "{}",
        String::from_utf8_lossy(&ready.body)
    );
    assert!(String::from_utf8_lossy(&ready.body).starts_with("not ready: "));
    // The process is still alive, and says so.
    let health = raw_call(server.addr(), "GET", "/healthz");
    assert_eq!(health.status, 200);
    assert_eq!(metric(&scrape(&server), "appconfigd_store_up"), 0.0);
}

#[tokio::test]
async fn console_assets_are_served_from_the_binary() {
    let server = Server::start();
    let root = raw_call(server.addr(), "GET", "/console");
    assert_eq!(root.status, 308);
    assert_eq!(root.header("location"), Some("/console/"));
    let page = raw_call(server.addr(), "GET", "/console/");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/html"));
    let html = String::from_utf8_lossy(&page.body);
    assert!(html.contains("/console/sigv4.js") && html.contains("/console/console.js"));
    for (file, kind) in [
        ("console.js", "text/javascript"),
        ("sigv4.js", "text/javascript"),
        ("console.css", "text/css"),
    ] {
        let r = raw_call(server.addr(), "GET", &format!("/console/{file}"));
        assert_eq!(r.status, 200, "{file}");
        assert!(r
            .header("content-type")
            .unwrap_or_default()
            .starts_with(kind));
        assert!(r.body.len() > 1000, "{file} is served whole");
    }
    let missing = raw_call(server.addr(), "GET", "/console/nope.js");
    assert_eq!(missing.status, 404);
}

// ---------------------------------------------------------------------------------------------
// export / import
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn export_then_import_into_a_fresh_server_recreates_everything() {
    let source = Server::start();
    let s = &source;
    let app = call(
        s,
        "POST",
        "/applications",
        json!({"Name": "shop", "Description": "the shop", "Tags": {"team": "web"}}),
    );
    let app_id = app["Id"].as_str().expect("app id").to_string();
    let envs = format!("/applications/{app_id}/environments");
    let prod = call(
        s,
        "POST",
        &envs,
        json!({"Name": "prod", "Description": "production", "Tags": {"tier": "1"},
               "Monitors": [{"AlarmArn": "arn:aws:cloudwatch:us-east-1:000000000000:alarm:errors"}]}),
    );
    call(s, "POST", &envs, json!({"Name": "beta"}));
    let profiles = format!("/applications/{app_id}/configurationprofiles");
    let schema = r#"{"type": "object", "required": ["price"]}"#;
    let cfg = call(
        s,
        "POST",
        &profiles,
        json!({"Name": "prices", "LocationUri": "hosted", "Description": "price list",
               "Validators": [{"Type": "JSON_SCHEMA", "Content": schema}], "Tags": {"k": "v"}}),
    );
    let cfg_id = cfg["Id"].as_str().expect("profile id").to_string();
    let versions = format!("{profiles}/{cfg_id}/hostedconfigurationversions");
    for (body, label) in [(r#"{"price": 1}"#, "v-one"), (r#"{"price": 2}"#, "v-two")] {
        let r = raw_request(
            s.addr(),
            "POST",
            &versions,
            &[
                ("Content-Type", "application/json"),
                ("VersionLabel", label),
                ("Description", "priced"),
            ],
            body.as_bytes(),
        );
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    }
    // Version 1 deleted: the source has a gap (only version 2 remains).
    let r = raw_call(s.addr(), "DELETE", &format!("{versions}/1"));
    assert_eq!(r.status, 204);
    let binary: Vec<u8> = (0..=255u8).collect();
    let blob = call(
        s,
        "POST",
        &profiles,
        json!({"Name": "blob", "LocationUri": "hosted"}),
    );
    let blob_id = blob["Id"].as_str().expect("profile id").to_string();
    let r = raw_request(
        s.addr(),
        "POST",
        &format!("{profiles}/{blob_id}/hostedconfigurationversions"),
        &[("Content-Type", "application/octet-stream")],
        &binary,
    );
    assert_eq!(r.status, 201);
    let flags = call(
        s,
        "POST",
        &profiles,
        json!({"Name": "flags", "LocationUri": "hosted", "Type": "AWS.AppConfig.FeatureFlags"}),
    );
    let flags_doc =
        r#"{"version":"1","flags":{"beta":{"name":"beta"}},"values":{"beta":{"enabled":true}}}"#;
    let r = raw_request(
        s.addr(),
        "POST",
        &format!(
            "{profiles}/{}/hostedconfigurationversions",
            flags["Id"].as_str().unwrap_or_default()
        ),
        &[("Content-Type", "application/json")],
        flags_doc.as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    call(
        s,
        "POST",
        "/deploymentstrategies",
        json!({"Name": "slow", "DeploymentDurationInMinutes": 30, "GrowthFactor": 10,
               "GrowthType": "EXPONENTIAL", "FinalBakeTimeInMinutes": 5, "ReplicateTo": "NONE",
               "Description": "careful", "Tags": {"s": "1"}}),
    );
    let hook = "http://127.0.0.1:9/hook";
    let ext = call(
        s,
        "POST",
        "/extensions",
        json!({"Name": "notifier", "Description": "first",
               "Actions": {"ON_DEPLOYMENT_COMPLETE": [{"Name": "n", "Uri": hook}]},
               "Parameters": {"channel": {"Required": true, "Description": "where"}},
               "Tags": {"e": "1"}}),
    );
    let ext_id = ext["Id"].as_str().expect("extension id").to_string();
    let r = raw_second_extension_version(
        s.addr(),
        json!({"Name": "notifier", "Description": "second",
               "Actions": {"ON_DEPLOYMENT_START": [{"Name": "n2", "Uri": hook}]},
               "Parameters": {"channel": {"Required": true}}})
        .to_string()
        .as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let prod_id = prod["Id"].as_str().expect("env id").to_string();
    call(
        s,
        "POST",
        "/extensionassociations",
        json!({"ExtensionIdentifier": ext_id, "ExtensionVersionNumber": 1,
               "ResourceIdentifier": env_arn(&app_id, &prod_id),
               "Parameters": {"channel": "#ops"}, "Tags": {"a": "1"}}),
    );
    call(
        s,
        "POST",
        "/extensionassociations",
        json!({"ExtensionIdentifier": "AWS.AppConfig.DeploymentNotificationsToSqs",
               "ResourceIdentifier": profile_arn(&app_id, &cfg_id),
               "Parameters": {"queueArn": "arn:aws:sqs:us-east-1:000000000000:q"}}),
    );
    call(
        s,
        "PATCH",
        "/settings",
        json!({"DeletionProtection": {"Enabled": true, "ProtectionPeriodInMinutes": 30}}),
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("export.json");
    let file = file.to_str().expect("utf-8 path");
    let started = Instant::now();
    operator_ok(&["export", "--endpoint", s.endpoint(), "--output", file]);
    let exported: Value =
        serde_json::from_str(&std::fs::read_to_string(file).expect("read export")).expect("json");
    assert_eq!(exported["Format"], "appconfigd-export/1");
    assert_eq!(exported["Account"], ACCOUNT);
    assert_eq!(exported["Extensions"].as_array().map(Vec::len), Some(2));

    let target = Server::start();
    let out = operator_ok(&["import", "--endpoint", target.endpoint(), file]);
    assert!(
        out.contains(&format!("application {app_id} -> ")),
        "import prints the id mapping: {out}"
    );
    eprintln!("export + import took {:?}", started.elapsed());

    // Compare through the SDK.
    let c = target.client();
    let apps = c.list_applications().send().await.expect("list apps");
    assert_eq!(apps.items().len(), 1);
    let new_app = apps.items()[0].id().expect("id").to_string();
    assert_ne!(new_app, app_id, "ids are new");
    assert_eq!(apps.items()[0].name(), Some("shop"));
    assert_eq!(apps.items()[0].description(), Some("the shop"));
    assert_eq!(
        tags_of(&c, &app_arn(&new_app)).await,
        HashMap::from([("team".to_string(), "web".to_string())])
    );
    let envs = send!(c.list_environments().application_id(&new_app)).expect("list envs");
    let names: Vec<_> = envs.items().iter().filter_map(|e| e.name()).collect();
    assert_eq!(names, ["prod", "beta"]);
    let new_prod = envs.items()[0].id().expect("env id").to_string();
    assert_eq!(envs.items()[0].monitors().len(), 1);
    assert_eq!(
        tags_of(&c, &env_arn(&new_app, &new_prod)).await,
        HashMap::from([("tier".to_string(), "1".to_string())])
    );
    let profiles =
        send!(c.list_configuration_profiles().application_id(&new_app)).expect("list profiles");
    let by_name: HashMap<&str, String> = profiles
        .items()
        .iter()
        .map(|p| {
            (
                p.name().unwrap_or_default(),
                p.id().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let new_cfg = &by_name["prices"];
    let p = send!(c
        .get_configuration_profile()
        .application_id(&new_app)
        .configuration_profile_id(new_cfg))
    .expect("get profile");
    assert_eq!(p.description(), Some("price list"));
    assert_eq!(p.validators()[0].content(), schema);
    let v = send!(c
        .list_hosted_configuration_versions()
        .application_id(&new_app)
        .configuration_profile_id(new_cfg))
    .expect("list versions");
    assert_eq!(v.items().len(), 1, "only the surviving version is exported");
    assert_eq!(v.items()[0].version_label(), Some("v-two"));
    assert_eq!(v.items()[0].description(), Some("priced"));
    let content = send!(c
        .get_hosted_configuration_version()
        .application_id(&new_app)
        .configuration_profile_id(new_cfg)
        .version_number(v.items()[0].version_number()))
    .expect("get version");
    assert_eq!(
        content.content().map(|b| b.as_ref()),
        Some(&br#"{"price": 2}"#[..])
    );
    let content = send!(c
        .get_hosted_configuration_version()
        .application_id(&new_app)
        .configuration_profile_id(&by_name["blob"])
        .version_number(1))
    .expect("get binary version");
    assert_eq!(content.content().map(|b| b.as_ref()), Some(&binary[..]));
    assert_eq!(content.content_type(), Some("application/octet-stream"));
    let flags = send!(c
        .get_configuration_profile()
        .application_id(&new_app)
        .configuration_profile_id(&by_name["flags"]))
    .expect("flags profile");
    assert_eq!(flags.r#type(), Some("AWS.AppConfig.FeatureFlags"));

    let strategies = send!(c.list_deployment_strategies()).expect("strategies");
    let slow = strategies
        .items()
        .iter()
        .find(|s| s.name() == Some("slow"))
        .expect("custom strategy imported");
    assert_eq!(
        (
            slow.deployment_duration_in_minutes(),
            slow.growth_factor(),
            slow.final_bake_time_in_minutes()
        ),
        (30, Some(10.0), 5)
    );
    assert_eq!(slow.description(), Some("careful"));

    let exts = send!(c.list_extensions().name("notifier")).expect("extensions");
    let versions: Vec<i32> = exts.items().iter().map(|x| x.version_number()).collect();
    assert_eq!(versions, [1, 2]);
    let new_ext = exts.items()[0].id().expect("id").to_string();
    let v2 = send!(c
        .get_extension()
        .extension_identifier(&new_ext)
        .version_number(2))
    .expect("extension v2");
    assert_eq!(v2.description(), Some("second"));
    assert!(v2
        .actions()
        .is_some_and(|a| a.contains_key(&ActionPoint::OnDeploymentStart)));

    let assocs = send!(c.list_extension_associations()).expect("associations");
    assert_eq!(assocs.items().len(), 2);
    let mut resources = Vec::new();
    for a in assocs.items() {
        let full = send!(c
            .get_extension_association()
            .extension_association_id(a.id().unwrap_or_default()))
        .expect("association");
        resources.push((
            full.resource_arn().unwrap_or_default().to_string(),
            full.extension_arn().unwrap_or_default().to_string(),
            full.parameters().cloned().unwrap_or_default(),
        ));
    }
    // Sorted by resource ARN: the profile's ("…/configurationprofile/…") before the environment's.
    resources.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(resources[0].0, profile_arn(&new_app, new_cfg));
    assert!(resources[0]
        .1
        .contains("AWS.AppConfig.DeploymentNotificationsToSqs"));
    assert_eq!(resources[1].0, env_arn(&new_app, &new_prod));
    assert!(resources[1].1.contains(&format!("extension/{new_ext}/1")));
    assert_eq!(
        resources[1].2.get("channel").map(String::as_str),
        Some("#ops")
    );

    let settings = c.get_account_settings().send().await.expect("settings");
    let dp = settings.deletion_protection().expect("deletion protection");
    assert_eq!(
        (dp.enabled(), dp.protection_period_in_minutes()),
        (Some(true), Some(30))
    );

    // A second export of the copy says the same as the first (ids aside).
    let again = operator_ok(&["export", "--endpoint", target.endpoint()]);
    let again: Value = serde_json::from_str(&again).expect("export to stdout is JSON");
    let shape = |v: &Value| {
        let apps = &v["Applications"][0];
        (
            apps["Environments"].as_array().map(Vec::len),
            apps["ConfigurationProfiles"].as_array().map(Vec::len),
            v["DeploymentStrategies"].as_array().map(Vec::len),
            v["ExtensionAssociations"].as_array().map(Vec::len),
            apps["ConfigurationProfiles"][0]["HostedConfigurationVersions"][0]["Content"].clone(),
        )
    };
    assert_eq!(shape(&again), shape(&exported));
}

#[tokio::test]
async fn import_refuses_a_file_that_is_not_an_export() {
    let server = Server::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("bad.json");
    std::fs::write(
        &file,
        r#"{"Format": "something-else", "Region": "x", "Account": "1"}"#,
    )
    .expect("write");
    let out = operator(&[
        "import",
        "--endpoint",
        server.endpoint(),
        file.to_str().unwrap_or_default(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown format"));
    // And an unreachable endpoint is a clear error, not a panic.
    let out = operator(&["status", "--endpoint", "http://127.0.0.1:9"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("appconfigd: GET /applications"));
}

// ---------------------------------------------------------------------------------------------
// status
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn status_prints_live_deployments_with_progress_bars_and_watch_follows_them() {
    let (server, c) = Server::start_with_args_client(&["--time-scale", "60"]);
    let idle = operator_ok(&["status", "--endpoint", server.endpoint()]);
    assert_eq!(idle, "no live deployments\n");

    let fx = deployable(&c, "storefront").await;
    // Also a finished deployment elsewhere, which status leaves out.
    let other = deployable(&c, "backoffice").await;
    let instant = strategy(&c, 0, 100.0).await;
    deploy(&c, &other, &instant).await;
    // 4 strategy minutes at 60x: 25% a second.
    let steps = strategy(&c, 4, 25.0).await;
    let number = deploy(&c, &fx, &steps).await;

    let once = operator_ok(&["status", "--endpoint", server.endpoint()]);
    let line = once.lines().next().unwrap_or_default();
    assert!(
        line.starts_with(&format!("storefront/prod #{number} cfg v1  [")),
        "{once}"
    );
    assert!(line.ends_with("%  DEPLOYING"), "{once}");
    assert_eq!(once.lines().count(), 1, "only live deployments: {once}");

    let started = Instant::now();
    let watched = operator_ok(&["status", "--watch", "--endpoint", server.endpoint()]);
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(watched.ends_with("no live deployments\n"), "{watched}");
    let percentages: Vec<f64> = watched
        .lines()
        .filter_map(|l| l.split("] ").nth(1))
        .filter_map(|rest| rest.trim().split('%').next())
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    assert!(percentages.len() >= 2, "{watched}");
    assert!(
        percentages.windows(2).all(|w| w[0] <= w[1]),
        "progress only grows: {watched}"
    );
    assert!(
        watched.contains("[####") || watched.contains("[########"),
        "bars fill: {watched}"
    );
}

// ---------------------------------------------------------------------------------------------
// Against a server that checks signatures (--credentials)
// ---------------------------------------------------------------------------------------------

const SECURED_ACCOUNT: &str = "333333333333";
const SECURED_KEY: (&str, &str) = ("AKIDOPERATOROPERATOR", "operator/secret+key=");

fn secured_server(file: &tempfile::NamedTempFile) -> Server {
    std::fs::write(
        file.path(),
        format!(
            "[[credentials]]\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\naccount_id = \"{SECURED_ACCOUNT}\"\n",
            SECURED_KEY.0, SECURED_KEY.1
        ),
    )
    .expect("write credentials");
    let path = file.path().to_str().expect("utf-8 path");
    Server::start_with(&["--credentials", path, "--time-scale", "60"])
}

#[tokio::test]
async fn operator_commands_sign_their_requests_for_a_server_with_credentials() {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    let source = secured_server(&file);
    let c = client_with_keys(source.endpoint(), SECURED_KEY.0, SECURED_KEY.1);
    let fx = deployable(&c, "locked").await;
    send!(c
        .tag_resource()
        .resource_arn(format!(
            "arn:aws:appconfig:{REGION}:{SECURED_ACCOUNT}:application/{}",
            fx.0
        ))
        .tags("owner", "ops"))
    .expect("tag");

    // Unknown keys are refused, and the command says so.
    let out = operator(&["status", "--endpoint", source.endpoint()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("403"), "{stderr}");

    // The right keys: status, and export (the account is not visible in any ARN yet).
    let ok = operator_ok_as(SECURED_KEY, &["status", "--endpoint", source.endpoint()]);
    assert_eq!(ok, "no live deployments\n");
    let out = operator_as(SECURED_KEY, &["export", "--endpoint", source.endpoint()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --account-id"));
    let exported = operator_ok_as(
        SECURED_KEY,
        &[
            "export",
            "--endpoint",
            source.endpoint(),
            "--account-id",
            SECURED_ACCOUNT,
        ],
    );
    let exported: Value = serde_json::from_str(&exported).expect("json");
    assert_eq!(
        exported["Applications"][0]["Application"]["Tags"],
        json!({"owner": "ops"})
    );

    // With a custom extension and an association, the account is read from their ARNs, and
    // import maps the association onto the new environment.
    let ext = c
        .create_extension()
        .name("hook")
        .actions(
            ActionPoint::OnDeploymentComplete,
            vec![aws_sdk_appconfig::types::Action::builder()
                .name("n")
                .uri("http://127.0.0.1:9/hook")
                .build()],
        )
        .send()
        .await
        .expect("extension");
    send!(c
        .create_extension_association()
        .extension_identifier(ext.id().unwrap_or_default())
        .resource_identifier(format!(
            "arn:aws:appconfig:{REGION}:{SECURED_ACCOUNT}:application/{}/environment/{}",
            fx.0, fx.1
        )))
    .expect("association");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("locked.json");
    let path = path.to_str().expect("utf-8 path");
    operator_ok_as(
        SECURED_KEY,
        &["export", "--endpoint", source.endpoint(), "-o", path],
    );

    let file2 = tempfile::NamedTempFile::new().expect("temp file");
    let target = secured_server(&file2);
    operator_ok_as(
        SECURED_KEY,
        &["import", "--endpoint", target.endpoint(), path],
    );
    let t = client_with_keys(target.endpoint(), SECURED_KEY.0, SECURED_KEY.1);
    let app = t.list_applications().send().await.expect("apps").items()[0]
        .id()
        .unwrap_or_default()
        .to_string();
    let env = send!(t.list_environments().application_id(&app))
        .expect("envs")
        .items()[0]
        .id()
        .unwrap_or_default()
        .to_string();
    let assocs = send!(t.list_extension_associations()).expect("associations");
    assert_eq!(
        assocs.items()[0].resource_arn(),
        Some(
            format!(
                "arn:aws:appconfig:{REGION}:{SECURED_ACCOUNT}:application/{app}/environment/{env}"
            )
            .as_str()
        )
    );
}
