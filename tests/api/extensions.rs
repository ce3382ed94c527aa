//! Extensions and extension associations (issue 3): the ten operations of the 2022-07-13
//! API change through the Rust SDK, every validation rule and error path, versions,
//! identifiers, the AWS-authored extensions, deletion rules, tags and persistence.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_appconfig::types::{Action, ActionPoint, Parameter};
use aws_sdk_appconfig::Client;

use crate::harness::*;
use crate::scenario::{associate_with, Ids, Scenario};

const HOOK: &str = "https://hooks.example.com/appconfig";

/// The five AWS-authored extensions every account has.
const AWS_AUTHORED: [&str; 5] = [
    "AWS.AppConfig.FeatureFlags",
    "AWS.AppConfig.JiraIntegration",
    "AWS.AppConfig.DeploymentNotificationsToEventBridge",
    "AWS.AppConfig.DeploymentNotificationsToSqs",
    "AWS.AppConfig.DeploymentNotificationsToSns",
];

fn action(name: &str, uri: &str) -> Action {
    Action::builder().name(name).uri(uri).build()
}

fn param(required: bool, dynamic: bool) -> Parameter {
    Parameter::builder()
        .description("a parameter")
        .required(required)
        .dynamic(dynamic)
        .build()
}

fn ext_arn(id: &str, version: i32) -> String {
    arn(&format!("extension/{id}/{version}"))
}

/// Creates a one-action extension (ON_DEPLOYMENT_START → a webhook); returns (id, arn).
async fn create_ext(c: &Client, name: &str) -> (String, String) {
    let out = send!(c
        .create_extension()
        .name(name)
        .actions(ActionPoint::OnDeploymentStart, vec![action("notify", HOOK)]))
    .expect("create extension");
    (
        out.id().unwrap().to_string(),
        out.arn().unwrap().to_string(),
    )
}

/// An extension with one required, one optional and one dynamic parameter.
async fn create_ext_with_params(c: &Client, name: &str) -> String {
    send!(c
        .create_extension()
        .name(name)
        .actions(
            ActionPoint::OnDeploymentComplete,
            vec![action("notify", HOOK)],
        )
        .parameters("Channel", param(true, false))
        .parameters("Optional", param(false, false))
        .parameters("Tier", param(false, true)))
    .expect("create extension with parameters")
    .id()
    .unwrap()
    .to_string()
}

async fn new_version(c: &Client, name: &str, latest: i32, description: &str) -> i32 {
    send!(c
        .create_extension()
        .name(name)
        .description(description)
        .latest_version_number(latest)
        .actions(ActionPoint::OnDeploymentStart, vec![action("notify", HOOK)]))
    .expect("create extension version")
    .version_number()
}

/// An application with one environment and one hosted profile: (app, env, profile).
async fn resources(c: &Client) -> (String, String, String) {
    let Ids { app, env, profile } = Scenario::new(c)
        .app("ext-app")
        .env("ext-env")
        .profile("ext-profile")
        .build()
        .await;
    (app, env, profile)
}

async fn associate(c: &Client, ext: &str, resource: &str) -> String {
    associate_with(c, ext, resource, &[]).await
}

/// Every extension summary, following all pages with `page_size`.
async fn all_extensions(c: &Client, page_size: i32) -> Vec<(String, String, i32, String)> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    let req = c.list_extensions().max_results(page_size);
    loop {
        let page = send!(req.clone().set_next_token(token.clone())).expect("list extensions");
        pages += 1;
        assert!(page.items().len() <= page_size as usize);
        for e in page.items() {
            out.push((
                e.id().unwrap().to_string(),
                e.name().unwrap().to_string(),
                e.version_number(),
                e.arn().unwrap().to_string(),
            ));
        }
        token = page.next_token().map(String::from);
        if token.is_none() {
            return out;
        }
        assert!(pages < 100, "pagination does not end");
    }
}

/// Association ids matching the filters, following all pages with `page_size`.
async fn list_assocs(
    c: &Client,
    resource: Option<&str>,
    extension: Option<&str>,
    version: Option<i32>,
    page_size: i32,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = send!(c
            .list_extension_associations()
            .set_resource_identifier(resource.map(String::from))
            .set_extension_identifier(extension.map(String::from))
            .set_extension_version_number(version)
            .max_results(page_size)
            .set_next_token(token.clone()))
        .expect("list extension associations");
        assert!(page.items().len() <= page_size as usize);
        for a in page.items() {
            assert!(a.extension_arn().is_some() && a.resource_arn().is_some());
            out.push(a.id().unwrap().to_string());
        }
        token = page.next_token().map(String::from);
        if token.is_none() {
            return out;
        }
    }
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------------
// CreateExtension / GetExtension
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_and_get_round_trip_every_field() {
    let (_s, c) = Server::start_with_client();
    let created = c
        .create_extension()
        .name("full-extension")
        .description("does everything")
        .actions(
            ActionPoint::PreStartDeployment,
            vec![Action::builder()
                .name("check")
                .description("checks before deploying")
                .uri("arn:aws:lambda:us-east-1:111122223333:function:check")
                .role_arn("arn:aws:iam::111122223333:role/appconfig-ext")
                .build()],
        )
        .actions(
            ActionPoint::OnDeploymentComplete,
            vec![action("done", "https://hooks.example.com/done")],
        )
        .parameters("Channel", param(true, false))
        .parameters("Tier", param(false, true))
        .tags("team", "platform")
        .send()
        .await
        .expect("create extension");
    let id = created.id().unwrap().to_string();
    assert_id(&id);
    assert_eq!(created.name(), Some("full-extension"));
    assert_eq!(created.version_number(), 1);
    assert_eq!(created.arn(), Some(ext_arn(&id, 1).as_str()));
    assert_eq!(created.description(), Some("does everything"));
    let actions = created.actions().expect("actions");
    assert_eq!(actions.len(), 2);
    let pre = &actions[&ActionPoint::PreStartDeployment];
    assert_eq!(pre.len(), 1);
    assert_eq!(pre[0].name(), Some("check"));
    assert_eq!(pre[0].description(), Some("checks before deploying"));
    assert_eq!(
        pre[0].uri(),
        Some("arn:aws:lambda:us-east-1:111122223333:function:check")
    );
    assert_eq!(
        pre[0].role_arn(),
        Some("arn:aws:iam::111122223333:role/appconfig-ext")
    );
    let params = created.parameters().expect("parameters");
    assert!(params["Channel"].required() && !params["Channel"].dynamic());
    assert!(!params["Tier"].required() && params["Tier"].dynamic());
    assert_eq!(params["Channel"].description(), Some("a parameter"));

    // By name, by id, by ARN: the same extension, every field equal.
    for ident in [
        "full-extension".to_string(),
        id.clone(),
        ext_arn(&id, 1),
        arn(&format!("extension/{id}")),
    ] {
        let got = send!(c.get_extension().extension_identifier(&ident))
            .unwrap_or_else(|e| panic!("get extension by {ident}: {e:?}"));
        assert_eq!(got.id(), created.id(), "{ident}");
        assert_eq!(got.name(), created.name());
        assert_eq!(got.version_number(), 1);
        assert_eq!(got.arn(), created.arn());
        assert_eq!(got.description(), created.description());
        assert_eq!(got.actions(), created.actions());
        assert_eq!(got.parameters(), created.parameters());
    }
}

#[tokio::test]
async fn create_and_delete_answer_201_and_204_on_the_wire() {
    let s = Server::start();
    let body = br#"{"Name":"wire-ext","Actions":{"ON_DEPLOYMENT_START":[{"Name":"a","Uri":"https://x.example.com/"}]}}"#;
    let r = raw_json(s.addr(), "POST", "/extensions", body);
    assert_eq!(r.status, 201, "{:?}", String::from_utf8_lossy(&r.body));
    let id = r.json()["Id"].as_str().unwrap().to_string();
    // The header spelling of LatestVersionNumber.
    let r = raw_request(
        s.addr(),
        "POST",
        "/extensions",
        &[
            ("Content-Type", "application/json"),
            ("Latest-Version-Number", "1"),
        ],
        body,
    );
    assert_eq!(r.status, 201, "{:?}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["VersionNumber"], 2);
    assert_eq!(r.json()["Id"], id.as_str());
    // Query parameters: GetExtension `version_number`, DeleteExtension `version`.
    let r = raw_call(
        s.addr(),
        "GET",
        &format!("/extensions/{id}?version_number=1"),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["VersionNumber"], 1);
    let r = raw_call(s.addr(), "DELETE", &format!("/extensions/{id}?version=1"));
    assert_eq!(r.status, 204);
    let r = raw_call(
        s.addr(),
        "GET",
        &format!("/extensions/{id}?version_number=1"),
    );
    assert_eq!(r.status, 404);
    assert_eq!(
        r.header("x-amzn-errortype")
            .unwrap_or_default()
            .split(':')
            .next(),
        Some("ResourceNotFoundException")
    );
    let r = raw_call(s.addr(), "GET", &format!("/extensions/{id}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["VersionNumber"], 2);
}

#[tokio::test]
async fn extension_names_follow_the_model_pattern() {
    let (_s, c) = Server::start_with_client();
    let longest = chars('n', 64);
    for good in ["a", "My Extension_1.0-beta", longest.as_str(), "ünïcødé"] {
        send!(c
            .create_extension()
            .name(good)
            .actions(ActionPoint::OnDeploymentStart, vec![action("a", HOOK)]))
        .unwrap_or_else(|e| panic!("name {good:?} should be accepted: {e:?}"));
    }
    let too_long = chars('n', 65);
    for bad in [
        "",
        "with/slash",
        "with#hash",
        "with:colon",
        "new\nline",
        &too_long,
    ] {
        let m = bad_request(send!(c
            .create_extension()
            .name(bad)
            .actions(ActionPoint::OnDeploymentStart, vec![action("a", HOOK)])));
        assert!(m.to_lowercase().contains("name"), "{bad:?}: {m}");
    }
    // Nothing of the refused ones was stored.
    let names: BTreeSet<String> = all_extensions(&c, 50)
        .await
        .into_iter()
        .map(|e| e.1)
        .collect();
    assert!(names.contains(longest.as_str()));
    assert!(!names.iter().any(|n| n.contains('/') || n.len() > 64));
}

#[tokio::test]
async fn name_and_actions_are_required() {
    let (s, c) = Server::start_with_client();
    bad_request(send!(c
        .create_extension()
        .actions(ActionPoint::OnDeploymentStart, vec![action("a", HOOK)])));
    let r = raw_json(s.addr(), "POST", "/extensions", br#"{"Name":"no-actions"}"#);
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("ctions"));
}

#[tokio::test]
async fn one_to_five_valid_action_points() {
    let (_s, c) = Server::start_with_client();
    // None.
    bad_request(send!(c
        .create_extension()
        .name("zero-points")
        .set_actions(Some(HashMap::new()))));
    // Five is the most.
    let points = [
        ActionPoint::PreCreateHostedConfigurationVersion,
        ActionPoint::PreStartDeployment,
        ActionPoint::AtDeploymentTick,
        ActionPoint::OnDeploymentStart,
        ActionPoint::OnDeploymentStep,
        ActionPoint::OnDeploymentBaking,
        ActionPoint::OnDeploymentComplete,
        ActionPoint::OnDeploymentRolledBack,
    ];
    let map = |n: usize| -> HashMap<ActionPoint, Vec<Action>> {
        points[..n]
            .iter()
            .map(|p| (p.clone(), vec![action("a", HOOK)]))
            .collect()
    };
    let five = send!(c
        .create_extension()
        .name("five-points")
        .set_actions(Some(map(5))))
    .expect("five action points");
    assert_eq!(five.actions().unwrap().len(), 5);
    bad_request(send!(c
        .create_extension()
        .name("six-points")
        .set_actions(Some(map(6)))));
    // Each of the eight action points is valid on its own.
    for (i, p) in points.iter().enumerate() {
        send!(c
            .create_extension()
            .name(format!("point-{i}"))
            .actions(p.clone(), vec![action("a", HOOK)]))
        .unwrap_or_else(|e| panic!("{p:?}: {e:?}"));
    }
    // An unknown key (the documentation's old names, a typo) is refused.
    for bad in [
        "ON_CREATE_HOSTED_CONFIGURATION",
        "PRE_DEPLOYMENT",
        "ON_DEPLOYMENT",
        "on_deployment_start",
        "BOGUS",
    ] {
        let m = bad_request(send!(c
            .create_extension()
            .name("bad-point")
            .actions(ActionPoint::from(bad), vec![action("a", HOOK)])));
        assert!(
            m.contains(bad) || m.to_lowercase().contains("action"),
            "{bad}: {m}"
        );
    }
    // Also through UpdateExtension.
    bad_request(send!(c
        .update_extension()
        .extension_identifier("five-points")
        .actions(ActionPoint::from("BOGUS"), vec![action("a", HOOK)])));
    bad_request(send!(c
        .update_extension()
        .extension_identifier("five-points")
        .set_actions(Some(map(6)))));
    let names: Vec<String> = all_extensions(&c, 50)
        .await
        .into_iter()
        .map(|e| e.1)
        .collect();
    assert!(!names
        .iter()
        .any(|n| n == "six-points" || n == "bad-point" || n == "zero-points"));
}

#[tokio::test]
async fn exactly_one_action_per_action_point() {
    let (_s, c) = Server::start_with_client();
    bad_request(send!(c
        .create_extension()
        .name("no-action")
        .actions(ActionPoint::OnDeploymentStart, vec![])));
    bad_request(send!(c.create_extension().name("two-actions").actions(
        ActionPoint::OnDeploymentStart,
        vec![action("a", HOOK), action("b", HOOK)],
    )));
    create_ext(&c, "one-action").await;
    bad_request(send!(c
        .update_extension()
        .extension_identifier("one-action")
        .actions(
            ActionPoint::OnDeploymentStart,
            vec![action("a", HOOK), action("b", HOOK)],
        )));
}

#[tokio::test]
async fn action_uris_accept_aws_targets_and_webhooks_only() {
    let (_s, c) = Server::start_with_client();
    let good = [
        "arn:aws:lambda:us-east-1:111122223333:function:my-function",
        "arn:aws:lambda:us-east-1:111122223333:function:my-function:live",
        "arn:aws:sqs:us-east-1:111122223333:my-queue",
        "arn:aws:sns:us-east-1:111122223333:my-topic",
        "arn:aws:events:us-east-1:111122223333:event-bus/default",
        "http://127.0.0.1:8080/hook",
        "https://hooks.example.com/appconfig?x=1",
    ];
    for (i, uri) in good.iter().enumerate() {
        let out = send!(c
            .create_extension()
            .name(format!("good-{i}"))
            .actions(ActionPoint::OnDeploymentStart, vec![action("a", uri)]))
        .unwrap_or_else(|e| panic!("{uri} should be accepted: {e:?}"));
        assert_eq!(
            out.actions().unwrap()[&ActionPoint::OnDeploymentStart][0].uri(),
            Some(*uri)
        );
    }
    let bad = [
        "arn:aws:s3:::my-bucket",
        "arn:aws:lambda:us-east-1:111122223333:layer:x:1",
        "arn:aws:dynamodb:us-east-1:111122223333:table/t",
        "arn:aws:sqs:us-east-1:111122223333:",
        "ftp://files.example.com/x",
        "hooks.example.com/appconfig",
        "http://",
        "not a uri",
    ];
    for uri in bad {
        bad_request(send!(c
            .create_extension()
            .name("bad-uri")
            .actions(ActionPoint::OnDeploymentStart, vec![action("a", uri)])));
    }
    // Name and Uri are needed on every action.
    bad_request(send!(c.create_extension().name("no-uri").actions(
        ActionPoint::OnDeploymentStart,
        vec![Action::builder().name("a").build()],
    )));
    bad_request(send!(c.create_extension().name("no-name").actions(
        ActionPoint::OnDeploymentStart,
        vec![Action::builder().uri(HOOK).build()],
    )));
    // And on update.
    bad_request(send!(c
        .update_extension()
        .extension_identifier("good-0")
        .actions(
            ActionPoint::OnDeploymentStart,
            vec![action("a", "arn:aws:s3:::my-bucket")],
        )));
}

#[tokio::test]
async fn a_dynamic_parameter_cannot_be_required() {
    let (_s, c) = Server::start_with_client();
    bad_request(send!(c
        .create_extension()
        .name("dyn-required")
        .actions(ActionPoint::OnDeploymentStart, vec![action("a", HOOK)])
        .parameters("Tier", param(true, true))));
    let id = create_ext_with_params(&c, "params-ok").await;
    bad_request(send!(c
        .update_extension()
        .extension_identifier(&id)
        .parameters("Tier", param(true, true))));
    // Parameter names follow the same pattern as extension names.
    bad_request(send!(c
        .create_extension()
        .name("bad-param-name")
        .actions(ActionPoint::OnDeploymentStart, vec![action("a", HOOK)])
        .parameters("a#b", param(false, false))));
    let got = send!(c.get_extension().extension_identifier(&id)).unwrap();
    let p = got.parameters().unwrap();
    assert_eq!(p.len(), 3);
    assert!(p["Tier"].dynamic() && !p["Tier"].required());
}

// ---------------------------------------------------------------------------------------------
// Versions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn new_versions_need_the_latest_version_number() {
    let (_s, c) = Server::start_with_client();
    let (id, arn1) = create_ext(&c, "versioned").await;
    assert_eq!(arn1, ext_arn(&id, 1));

    // Existing name without the header → Conflict; a stale or future number → Conflict.
    conflict(send!(c.create_extension().name("versioned").actions(
        ActionPoint::OnDeploymentStart,
        vec![action("a", HOOK)]
    )));
    for stale in [0, 2, 7] {
        conflict(send!(c
            .create_extension()
            .name("versioned")
            .latest_version_number(stale)
            .actions(
                ActionPoint::OnDeploymentStart,
                vec![action("a", HOOK)]
            )));
    }
    // The right number → version 2, same Id and Name, its own ARN and definition.
    let v2 = c
        .create_extension()
        .name("versioned")
        .description("second")
        .latest_version_number(1)
        .actions(
            ActionPoint::OnDeploymentComplete,
            vec![action("done", "https://hooks.example.com/v2")],
        )
        .send()
        .await
        .expect("version 2");
    assert_eq!(v2.id(), Some(id.as_str()));
    assert_eq!(v2.name(), Some("versioned"));
    assert_eq!(v2.version_number(), 2);
    assert_eq!(v2.arn(), Some(ext_arn(&id, 2).as_str()));
    // Now 1 is stale.
    conflict(send!(c
        .create_extension()
        .name("versioned")
        .latest_version_number(1)
        .actions(
            ActionPoint::OnDeploymentStart,
            vec![action("a", HOOK)]
        )));
    assert_eq!(new_version(&c, "versioned", 2, "third").await, 3);

    // Latest by default; version 1 untouched.
    let latest = send!(c.get_extension().extension_identifier("versioned")).unwrap();
    assert_eq!(latest.version_number(), 3);
    assert_eq!(latest.description(), Some("third"));
    let v1 = send!(c
        .get_extension()
        .extension_identifier(&id)
        .version_number(1))
    .unwrap();
    assert_eq!(v1.version_number(), 1);
    assert_eq!(v1.description(), None);
    assert!(v1
        .actions()
        .unwrap()
        .contains_key(&ActionPoint::OnDeploymentStart));
    let v2_again = send!(c.get_extension().extension_identifier(ext_arn(&id, 2))).unwrap();
    assert_eq!(v2_again.description(), Some("second"));
    // An explicit version wins over the one in the ARN.
    let explicit = send!(c
        .get_extension()
        .extension_identifier(ext_arn(&id, 2))
        .version_number(1))
    .unwrap();
    assert_eq!(explicit.version_number(), 1);
    // Unknown versions.
    not_found(send!(c
        .get_extension()
        .extension_identifier(&id)
        .version_number(9)));
    not_found(send!(c
        .get_extension()
        .extension_identifier(ext_arn(&id, 9))));
    // ListExtensions shows one row per version.
    let rows: Vec<i32> = all_extensions(&c, 50)
        .await
        .into_iter()
        .filter(|e| e.0 == id)
        .map(|e| e.2)
        .collect();
    assert_eq!(rows, vec![1, 2, 3]);
}

#[tokio::test]
async fn the_extension_name_is_unique() {
    let (_s, c) = Server::start_with_client();
    create_ext(&c, "unique").await;
    // The same name with a new-extension request (no header) does not create a second one.
    conflict(send!(c.create_extension().name("unique").actions(
        ActionPoint::OnDeploymentStart,
        vec![action("a", HOOK)]
    )));
    let same: Vec<_> = all_extensions(&c, 50)
        .await
        .into_iter()
        .filter(|e| e.1 == "unique")
        .collect();
    assert_eq!(same.len(), 1);
    // A Latest-Version-Number with a brand-new name is ignored: version 1.
    let fresh = send!(c
        .create_extension()
        .name("fresh")
        .latest_version_number(4)
        .actions(ActionPoint::OnDeploymentStart, vec![action("a", HOOK)]))
    .expect("new name with header");
    assert_eq!(fresh.version_number(), 1);
}

#[tokio::test]
async fn update_extension_edits_one_version_in_place() {
    let (_s, c) = Server::start_with_client();
    let (id, _) = create_ext(&c, "editable").await;
    new_version(&c, "editable", 1, "v2").await;

    let updated = send!(c
        .update_extension()
        .extension_identifier("editable")
        .version_number(1)
        .description("edited v1")
        .actions(
            ActionPoint::OnDeploymentRolledBack,
            vec![action("rb", "arn:aws:sns:us-east-1:111122223333:t")],
        )
        .parameters("Channel", param(true, false)))
    .expect("update version 1");
    assert_eq!(updated.id(), Some(id.as_str()));
    assert_eq!(updated.version_number(), 1);
    assert_eq!(updated.arn(), Some(ext_arn(&id, 1).as_str()));
    assert_eq!(updated.description(), Some("edited v1"));
    let actions = updated.actions().unwrap();
    assert_eq!(actions.len(), 1, "Actions replace the old map");
    assert!(actions.contains_key(&ActionPoint::OnDeploymentRolledBack));
    assert!(updated.parameters().unwrap()["Channel"].required());

    // Still two versions; version 2 untouched.
    let rows: Vec<i32> = all_extensions(&c, 50)
        .await
        .into_iter()
        .filter(|e| e.0 == id)
        .map(|e| e.2)
        .collect();
    assert_eq!(rows, vec![1, 2]);
    let v2 = send!(c.get_extension().extension_identifier(&id)).unwrap();
    assert_eq!(v2.version_number(), 2);
    assert_eq!(v2.description(), Some("v2"));
    assert!(v2.parameters().is_none_or(|p| p.is_empty()));

    // Without a version the latest is edited; members not given are kept.
    let latest = send!(c
        .update_extension()
        .extension_identifier(ext_arn(&id, 2))
        .description("edited v2"))
    .expect("update latest");
    assert_eq!(latest.version_number(), 2);
    assert_eq!(latest.description(), Some("edited v2"));
    assert!(latest
        .actions()
        .unwrap()
        .contains_key(&ActionPoint::OnDeploymentStart));
    let v1 = send!(c
        .get_extension()
        .extension_identifier(&id)
        .version_number(1))
    .unwrap();
    assert_eq!(v1.description(), Some("edited v1"));

    not_found(send!(c
        .update_extension()
        .extension_identifier("editable")
        .version_number(5)
        .description("x")));
    not_found(send!(c
        .update_extension()
        .extension_identifier("no-such-extension")
        .description("x")));
}

#[tokio::test]
async fn delete_extension_removes_one_version_default_the_highest() {
    let (_s, c) = Server::start_with_client();
    let (id, _) = create_ext(&c, "deletable").await;
    new_version(&c, "deletable", 1, "v2").await;
    new_version(&c, "deletable", 2, "v3").await;

    send!(c
        .delete_extension()
        .extension_identifier(&id)
        .version_number(2))
    .expect("delete version 2");
    not_found(send!(c
        .get_extension()
        .extension_identifier(&id)
        .version_number(2)));
    // No version: the highest (3) goes.
    send!(c.delete_extension().extension_identifier("deletable")).expect("delete latest");
    let latest = send!(c.get_extension().extension_identifier("deletable")).unwrap();
    assert_eq!(latest.version_number(), 1);
    // A new version continues after the highest existing one.
    assert_eq!(new_version(&c, "deletable", 1, "again").await, 2);
    // By ARN.
    send!(c.delete_extension().extension_identifier(ext_arn(&id, 2))).expect("delete by ARN");
    send!(c.delete_extension().extension_identifier(&id)).expect("delete the last version");
    not_found(send!(c.get_extension().extension_identifier("deletable")));
    not_found(send!(c
        .delete_extension()
        .extension_identifier("deletable")));
    // The name is free again: a fresh version 1.
    let (new_id, _) = create_ext(&c, "deletable").await;
    let v = send!(c.get_extension().extension_identifier(&new_id)).unwrap();
    assert_eq!(v.version_number(), 1);
}

#[tokio::test]
async fn unknown_and_malformed_identifiers() {
    let (_s, c) = Server::start_with_client();
    for ident in [
        "missing".to_string(),
        "abcdefg".to_string(),
        ext_arn("abcdefg", 1),
    ] {
        not_found(c.get_extension().extension_identifier(&ident).send().await);
        not_found(send!(c.delete_extension().extension_identifier(&ident)));
        not_found(send!(c
            .create_extension_association()
            .extension_identifier(&ident)
            .resource_identifier(app_arn("abcdefg"))));
    }
    // An ARN that is not an extension ARN.
    bad_request(send!(c
        .get_extension()
        .extension_identifier(app_arn("abcdefg"))));
}

// ---------------------------------------------------------------------------------------------
// ListExtensions and the AWS-authored extensions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn list_extensions_includes_the_aws_authored_ones_and_paginates() {
    let (_s, c) = Server::start_with_client();
    let mut mine = Vec::new();
    for i in 0..7 {
        mine.push(create_ext(&c, &format!("mine-{i}")).await.0);
    }
    new_version(&c, "mine-0", 1, "v2").await;

    let all = all_extensions(&c, 50).await;
    assert_eq!(all.len(), 5 + 7 + 1);
    // The AWS-authored ones, with empty-account ARNs, first.
    let aws: Vec<&(String, String, i32, String)> =
        all.iter().filter(|e| e.0.starts_with("AWS.")).collect();
    let aws_ids: BTreeSet<&str> = aws.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(aws_ids, AWS_AUTHORED.iter().copied().collect());
    for e in &aws {
        assert_eq!(e.2, 1);
        assert_eq!(
            e.3,
            format!("arn:aws:appconfig:{REGION}::extension/{}/1", e.0)
        );
    }
    assert!(all[..5].iter().all(|e| e.0.starts_with("AWS.")));
    assert!(all
        .iter()
        .any(|e| e.3 == "arn:aws:appconfig:us-east-1::extension/AWS.AppConfig.FeatureFlags/1"));
    // The account's own have its account in the ARN.
    for e in all.iter().filter(|e| !e.0.starts_with("AWS.")) {
        assert_eq!(e.3, ext_arn(&e.0, e.2));
        assert!(mine.contains(&e.0));
    }
    // Summaries carry descriptions.
    let first = c.list_extensions().send().await.unwrap();
    assert!(first
        .items()
        .iter()
        .filter(|e| e.id().unwrap().starts_with("AWS."))
        .all(|e| e.description().is_some_and(|d| !d.is_empty())));

    // Every page size walks the same list: no duplicates, no gaps.
    for size in [1, 2, 3, 5, 6] {
        assert_eq!(all_extensions(&c, size).await, all, "page size {size}");
    }
    // The name filter.
    let by_name = c.list_extensions().name("mine-0").send().await.unwrap();
    let rows: Vec<i32> = by_name.items().iter().map(|e| e.version_number()).collect();
    assert_eq!(rows, vec![1, 2]);
    assert!(send!(c.list_extensions().name("nothing-like-this"))
        .unwrap()
        .items()
        .is_empty());
    // Bad page arguments.
    bad_request(c.list_extensions().max_results(0).send().await);
    bad_request(c.list_extensions().max_results(51).send().await);
    bad_request(c.list_extensions().next_token("garbage!").send().await);
}

#[tokio::test]
async fn aws_authored_extensions_can_be_read_but_not_changed() {
    let (_s, c) = Server::start_with_client();
    for id in AWS_AUTHORED {
        let e = send!(c.get_extension().extension_identifier(id))
            .unwrap_or_else(|e| panic!("{id}: {e:?}"));
        assert_eq!(e.id(), Some(id));
        assert_eq!(e.version_number(), 1);
        let arn = format!("arn:aws:appconfig:{REGION}::extension/{id}/1");
        assert_eq!(e.arn(), Some(arn.as_str()));
        assert!(!e.actions().unwrap().is_empty());
        // By ARN and by name too.
        let by_arn = send!(c.get_extension().extension_identifier(&arn)).unwrap();
        assert_eq!(by_arn.id(), Some(id));
        let by_name = send!(c.get_extension().extension_identifier(e.name().unwrap())).unwrap();
        assert_eq!(by_name.id(), Some(id));

        bad_request(send!(c
            .update_extension()
            .extension_identifier(id)
            .description("mine now")));
        bad_request(c.delete_extension().extension_identifier(id).send().await);
        // (Tags: see aws_authored_extension_arns_carry_no_tags_and_refuse_them.)
        // Their ids and names cannot be taken.
        conflict(send!(c.create_extension().name(id).actions(
            ActionPoint::OnDeploymentStart,
            vec![action("a", HOOK)]
        )));
    }
    let sqs = send!(c
        .get_extension()
        .extension_identifier("AWS.AppConfig.DeploymentNotificationsToSqs"))
    .unwrap();
    assert!(sqs.parameters().unwrap()["queueArn"].required());
    let sns = send!(c
        .get_extension()
        .extension_identifier("AWS.AppConfig.DeploymentNotificationsToSns"))
    .unwrap();
    assert!(sns.parameters().unwrap()["topicArn"].required());
    not_found(send!(c
        .get_extension()
        .extension_identifier("AWS.AppConfig.FeatureFlags")
        .version_number(2)));
    assert_eq!(all_extensions(&c, 50).await.len(), 5);
}

/// decisions.md: AWS-authored extensions cannot be tagged (BadRequestException) and
/// ListTagsForResource shows none. Their ARNs have an empty account field.
#[tokio::test]
async fn aws_authored_extension_arns_carry_no_tags_and_refuse_them() {
    let (_s, c) = Server::start_with_client();
    for id in AWS_AUTHORED {
        let arn = format!("arn:aws:appconfig:{REGION}::extension/{id}/1");
        let tags = send!(c.list_tags_for_resource().resource_arn(&arn))
            .unwrap_or_else(|e| panic!("ListTagsForResource {arn}: {e:?}"));
        assert!(tags.tags().is_none_or(|t| t.is_empty()));
        bad_request(send!(c.tag_resource().resource_arn(&arn).tags("k", "v")));
        bad_request(send!(c.untag_resource().resource_arn(&arn).tag_keys("k")));
    }
}

// ---------------------------------------------------------------------------------------------
// Associations
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn association_round_trip_on_application_environment_and_profile() {
    let (s, c) = Server::start_with_client();
    let (app, env, profile) = resources(&c).await;
    let ext_id = create_ext_with_params(&c, "assoc-ext").await;
    for (i, resource) in [
        app_arn(&app),
        env_arn(&app, &env),
        profile_arn(&app, &profile),
    ]
    .iter()
    .enumerate()
    {
        // The extension by name, id and ARN.
        let ident = ["assoc-ext".to_string(), ext_id.clone(), ext_arn(&ext_id, 1)][i].clone();
        let created = c
            .create_extension_association()
            .extension_identifier(&ident)
            .resource_identifier(resource)
            .parameters("Channel", "#ops")
            .parameters("Tier", "default-tier")
            .tags("scope", format!("r{i}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("associate with {resource}: {e:?}"));
        let id = created.id().unwrap().to_string();
        assert_id(&id);
        assert_eq!(
            created.arn(),
            Some(arn(&format!("extensionassociation/{id}")).as_str())
        );
        assert_eq!(created.extension_arn(), Some(ext_arn(&ext_id, 1).as_str()));
        assert_eq!(created.resource_arn(), Some(resource.as_str()));
        assert_eq!(created.extension_version_number(), 1);
        let params = created.parameters().unwrap();
        assert_eq!(params.len(), 2);
        assert_eq!(params["Channel"], "#ops");

        let got = send!(c.get_extension_association().extension_association_id(&id)).unwrap();
        assert_eq!(got.id(), created.id());
        assert_eq!(got.arn(), created.arn());
        assert_eq!(got.extension_arn(), created.extension_arn());
        assert_eq!(got.resource_arn(), created.resource_arn());
        assert_eq!(got.parameters(), created.parameters());
        assert_eq!(got.extension_version_number(), 1);

        // Update: Parameters replace the old map.
        let updated = c
            .update_extension_association()
            .extension_association_id(&id)
            .parameters("Channel", "#alerts")
            .send()
            .await
            .unwrap();
        assert_eq!(updated.id(), created.id());
        assert_eq!(updated.extension_version_number(), 1);
        let p = updated.parameters().unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p["Channel"], "#alerts");
        let got = send!(c.get_extension_association().extension_association_id(&id)).unwrap();
        assert_eq!(got.parameters(), updated.parameters());

        send!(c
            .delete_extension_association()
            .extension_association_id(&id))
        .unwrap();
        not_found(send!(c
            .get_extension_association()
            .extension_association_id(&id)));
        not_found(send!(c
            .delete_extension_association()
            .extension_association_id(&id)));
        not_found(send!(c
            .update_extension_association()
            .extension_association_id(&id)
            .parameters("Channel", "x")));
    }
    // Wire status codes.
    let body = serde_json::json!({
        "ExtensionIdentifier": "assoc-ext",
        "ResourceIdentifier": app_arn(&app),
        "Parameters": {"Channel": "c"},
    })
    .to_string();
    let r = raw_json(s.addr(), "POST", "/extensionassociations", body.as_bytes());
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let id = r.json()["Id"].as_str().unwrap().to_string();
    let r = raw_call(s.addr(), "DELETE", &format!("/extensionassociations/{id}"));
    assert_eq!(r.status, 204);
}

#[tokio::test]
async fn association_targets_must_exist_and_be_well_formed() {
    let (_s, c) = Server::start_with_client();
    let (app, env, profile) = resources(&c).await;
    create_ext(&c, "target-ext").await;
    let other_app = create_app(&c, "other").await;
    let missing = [
        app_arn("zzzzzzz"),
        env_arn(&app, "zzzzzzz"),
        profile_arn(&app, "zzzzzzz"),
        // The environment exists, but under another application.
        env_arn(&other_app, &env),
        profile_arn(&other_app, &profile),
        // Another account or region.
        format!("arn:aws:appconfig:{REGION}:111122223333:application/{app}"),
        format!("arn:aws:appconfig:eu-west-1:{ACCOUNT}:application/{app}"),
    ];
    for resource in &missing {
        not_found(send!(c
            .create_extension_association()
            .extension_identifier("target-ext")
            .resource_identifier(resource)));
    }
    let malformed = [
        "not-an-arn".to_string(),
        app.clone(),
        "arn:aws:sns:us-east-1:111122223333:topic".to_string(),
        arn("deploymentstrategy/abcdefg"),
        arn(&format!("application/{app}/deployment/1")),
        arn("extension/abcdefg/1"),
    ];
    for resource in &malformed {
        bad_request(send!(c
            .create_extension_association()
            .extension_identifier("target-ext")
            .resource_identifier(resource)));
    }
    // Required members.
    bad_request(send!(c
        .create_extension_association()
        .extension_identifier("target-ext")));
    bad_request(send!(c
        .create_extension_association()
        .resource_identifier(app_arn(&app))));
    assert!(list_assocs(&c, None, None, None, 50).await.is_empty());
}

#[tokio::test]
async fn association_parameters_are_checked_against_the_extension() {
    let (_s, c) = Server::start_with_client();
    let (app, _, _) = resources(&c).await;
    create_ext_with_params(&c, "param-ext").await;
    let target = app_arn(&app);

    // A Required parameter missing → BadRequest naming it.
    let m = bad_request(send!(c
        .create_extension_association()
        .extension_identifier("param-ext")
        .resource_identifier(&target)
        .parameters("Optional", "x")));
    assert!(m.contains("Channel"), "{m}");
    // An unknown parameter → BadRequest naming it.
    let m = bad_request(send!(c
        .create_extension_association()
        .extension_identifier("param-ext")
        .resource_identifier(&target)
        .parameters("Channel", "c")
        .parameters("Bogus", "x")));
    assert!(m.contains("Bogus"), "{m}");
    assert!(list_assocs(&c, None, None, None, 50).await.is_empty());

    // Dynamic ones may be given a value (a default); optional ones may be left out.
    let id = send!(c
        .create_extension_association()
        .extension_identifier("param-ext")
        .resource_identifier(&target)
        .parameters("Channel", "c")
        .parameters("Tier", "silver"))
    .expect("valid parameters")
    .id()
    .unwrap()
    .to_string();
    // The same rules on update.
    let m = bad_request(send!(c
        .update_extension_association()
        .extension_association_id(&id)
        .parameters("Channel", "c")
        .parameters("Nope", "x")));
    assert!(m.contains("Nope"), "{m}");
    let m = bad_request(send!(c
        .update_extension_association()
        .extension_association_id(&id)
        .parameters("Optional", "x")));
    assert!(m.contains("Channel"), "{m}");
    let kept = send!(c.get_extension_association().extension_association_id(&id)).unwrap();
    assert_eq!(kept.parameters().unwrap()["Tier"], "silver");

    // The AWS-authored SQS extension requires queueArn.
    let m = bad_request(send!(c
        .create_extension_association()
        .extension_identifier("AWS.AppConfig.DeploymentNotificationsToSqs")
        .resource_identifier(&target)));
    assert!(m.contains("queueArn"), "{m}");
    let sqs = send!(c
        .create_extension_association()
        .extension_identifier("AWS.AppConfig.DeploymentNotificationsToSqs")
        .resource_identifier(&target)
        .parameters("queueArn", "arn:aws:sqs:us-east-1:111122223333:q"))
    .expect("associate the SQS extension");
    assert_eq!(
        sqs.extension_arn(),
        Some("arn:aws:appconfig:us-east-1::extension/AWS.AppConfig.DeploymentNotificationsToSqs/1")
    );
    assert_eq!(sqs.extension_version_number(), 1);
    // An extension without parameters refuses any.
    let m = bad_request(send!(c
        .create_extension_association()
        .extension_identifier("AWS.AppConfig.DeploymentNotificationsToEventBridge")
        .resource_identifier(&target)
        .parameters("x", "y")));
    assert!(m.contains('x'), "{m}");
}

#[tokio::test]
async fn the_same_extension_cannot_be_associated_twice_with_one_resource() {
    let (_s, c) = Server::start_with_client();
    let (app, env, _) = resources(&c).await;
    create_ext(&c, "twice").await;
    associate(&c, "twice", &app_arn(&app)).await;
    bad_request(send!(c
        .create_extension_association()
        .extension_identifier("twice")
        .resource_identifier(app_arn(&app))));
    // Another resource is fine.
    associate(&c, "twice", &env_arn(&app, &env)).await;
}

#[tokio::test]
async fn associations_pin_an_extension_version() {
    let (_s, c) = Server::start_with_client();
    let (app, env, profile) = resources(&c).await;
    let (id, _) = create_ext(&c, "pinned").await;
    new_version(&c, "pinned", 1, "v2").await;

    // Default: the latest at creation.
    let latest = send!(c
        .create_extension_association()
        .extension_identifier("pinned")
        .resource_identifier(app_arn(&app)))
    .unwrap();
    assert_eq!(latest.extension_version_number(), 2);
    assert_eq!(latest.extension_arn(), Some(ext_arn(&id, 2).as_str()));
    // Explicit.
    let old = send!(c
        .create_extension_association()
        .extension_identifier(&id)
        .extension_version_number(1)
        .resource_identifier(env_arn(&app, &env)))
    .unwrap();
    assert_eq!(old.extension_version_number(), 1);
    assert_eq!(old.extension_arn(), Some(ext_arn(&id, 1).as_str()));
    // The version inside an ARN.
    let by_arn = send!(c
        .create_extension_association()
        .extension_identifier(ext_arn(&id, 1))
        .resource_identifier(profile_arn(&app, &profile)))
    .unwrap();
    assert_eq!(by_arn.extension_version_number(), 1);
    // A missing version.
    let app2 = create_app(&c, "app2").await;
    not_found(send!(c
        .create_extension_association()
        .extension_identifier(&id)
        .extension_version_number(3)
        .resource_identifier(app_arn(&app2))));
    // A later version does not move existing associations.
    new_version(&c, "pinned", 2, "v3").await;
    let again = send!(c
        .get_extension_association()
        .extension_association_id(latest.id().unwrap()))
    .unwrap();
    assert_eq!(again.extension_version_number(), 2);
    assert_eq!(again.extension_arn(), Some(ext_arn(&id, 2).as_str()));
}

#[tokio::test]
async fn list_associations_filters_and_paginates() {
    let (_s, c) = Server::start_with_client();
    let (app, env, profile) = resources(&c).await;
    let (a_id, _) = create_ext(&c, "ext-a").await;
    create_ext(&c, "ext-b").await;
    new_version(&c, "ext-b", 1, "v2").await;
    let app2 = create_app(&c, "second").await;

    let mut by_resource: HashMap<String, Vec<String>> = HashMap::new();
    let mut by_ext: HashMap<&str, Vec<String>> = HashMap::new();
    let mut b_v1 = Vec::new();
    let targets = [
        app_arn(&app),
        env_arn(&app, &env),
        profile_arn(&app, &profile),
        app_arn(&app2),
    ];
    for t in &targets {
        let a = associate(&c, "ext-a", t).await;
        by_resource.entry(t.clone()).or_default().push(a.clone());
        by_ext.entry("ext-a").or_default().push(a);
        let version = if t.contains(&env) { 1 } else { 2 };
        let b = send!(c
            .create_extension_association()
            .extension_identifier("ext-b")
            .extension_version_number(version)
            .resource_identifier(t))
        .unwrap()
        .id()
        .unwrap()
        .to_string();
        if version == 1 {
            b_v1.push(b.clone());
        }
        by_resource.entry(t.clone()).or_default().push(b.clone());
        by_ext.entry("ext-b").or_default().push(b);
    }
    let all: Vec<String> = by_ext.values().flatten().cloned().collect();
    for size in [1, 2, 3, 50] {
        assert_eq!(
            sorted(&list_assocs(&c, None, None, None, size).await),
            sorted(&all),
            "page size {size}"
        );
    }
    for t in &targets {
        for size in [1, 50] {
            assert_eq!(
                sorted(&list_assocs(&c, Some(t), None, None, size).await),
                sorted(&by_resource[t]),
                "{t}"
            );
        }
    }
    // By extension name, id and ARN.
    for ident in ["ext-a".to_string(), a_id.clone(), ext_arn(&a_id, 1)] {
        assert_eq!(
            sorted(&list_assocs(&c, None, Some(&ident), None, 2).await),
            sorted(&by_ext["ext-a"]),
            "{ident}"
        );
    }
    assert_eq!(
        sorted(&list_assocs(&c, None, Some("ext-b"), Some(1), 1).await),
        sorted(&b_v1)
    );
    assert_eq!(
        list_assocs(&c, None, Some("ext-b"), Some(2), 2).await.len(),
        3
    );
    // Combined filters.
    let env_t = env_arn(&app, &env);
    assert_eq!(
        list_assocs(&c, Some(&env_t), Some("ext-b"), Some(1), 50).await,
        b_v1
    );
    assert!(list_assocs(&c, Some(&env_t), Some("ext-b"), Some(2), 50)
        .await
        .is_empty());
    // Nothing on a resource without associations.
    let bare = create_app(&c, "bare").await;
    assert!(list_assocs(&c, Some(&app_arn(&bare)), None, None, 50)
        .await
        .is_empty());
    // Bad arguments.
    bad_request(c.list_extension_associations().max_results(0).send().await);
    bad_request(send!(c
        .list_extension_associations()
        .next_token("garbage!")));
    not_found(send!(c
        .list_extension_associations()
        .extension_identifier("no-such-extension")));
}

// ---------------------------------------------------------------------------------------------
// Deletion rules
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_extension_with_associations_cannot_be_deleted() {
    let (_s, c) = Server::start_with_client();
    let (app, _, _) = resources(&c).await;
    let (id, _) = create_ext(&c, "in-use").await;
    new_version(&c, "in-use", 1, "v2").await;
    let assoc = send!(c
        .create_extension_association()
        .extension_identifier("in-use")
        .extension_version_number(1)
        .resource_identifier(app_arn(&app)))
    .unwrap()
    .id()
    .unwrap()
    .to_string();

    let m = bad_request(send!(c
        .delete_extension()
        .extension_identifier(&id)
        .version_number(1)));
    assert!(m.to_lowercase().contains("association"), "{m}");
    // Nothing removed.
    send!(c
        .get_extension()
        .extension_identifier(&id)
        .version_number(1))
    .expect("version 1 still there");
    send!(c
        .get_extension_association()
        .extension_association_id(&assoc))
    .expect("association still there");
    // Version 2 has no associations: deleting it is fine.
    send!(c
        .delete_extension()
        .extension_identifier(&id)
        .version_number(2))
    .expect("delete the unused version");
    // Default version is now 1, which is in use.
    bad_request(c.delete_extension().extension_identifier(&id).send().await);
    send!(c
        .delete_extension_association()
        .extension_association_id(&assoc))
    .unwrap();
    send!(c.delete_extension().extension_identifier(&id)).expect("deletable once unassociated");
}

#[tokio::test]
async fn deleting_a_resource_removes_its_associations() {
    let (_s, c) = Server::start_with_client();
    let (app, env, profile) = resources(&c).await;
    let (ext, _) = create_ext(&c, "cascade").await;
    let on_app = associate(&c, "cascade", &app_arn(&app)).await;
    let on_env = associate(&c, "cascade", &env_arn(&app, &env)).await;
    let on_profile = associate(&c, "cascade", &profile_arn(&app, &profile)).await;
    let get = |id: String| {
        let c = c.clone();
        async move { send!(c.get_extension_association().extension_association_id(id)) }
    };

    send!(c
        .delete_environment()
        .application_id(&app)
        .environment_id(&env))
    .unwrap();
    not_found(get(on_env.clone()).await);
    get(on_app.clone()).await.expect("app association stays");
    get(on_profile.clone())
        .await
        .expect("profile association stays");

    send!(c
        .delete_configuration_profile()
        .application_id(&app)
        .configuration_profile_id(&profile))
    .unwrap();
    not_found(get(on_profile.clone()).await);
    assert_eq!(
        list_assocs(&c, None, None, None, 50).await,
        vec![on_app.clone()]
    );

    send!(c.delete_application().application_id(&app)).unwrap();
    not_found(get(on_app).await);
    assert!(list_assocs(&c, None, None, None, 50).await.is_empty());
    // And with no associations left, the extension can go.
    send!(c.delete_extension().extension_identifier(&ext))
        .expect("extension deletable after its resources went");
}

// ---------------------------------------------------------------------------------------------
// Tags and persistence
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn tags_on_extension_versions_and_associations() {
    let (_s, c) = Server::start_with_client();
    let (app, _, _) = resources(&c).await;
    let v1 = send!(c
        .create_extension()
        .name("tagged")
        .actions(ActionPoint::OnDeploymentStart, vec![action("a", HOOK)])
        .tags("team", "platform")
        .tags("cost", "42"))
    .unwrap();
    let v1_arn = v1.arn().unwrap().to_string();
    let tags = tags_of(&c, &v1_arn).await;
    assert_eq!(tags.len(), 2);
    assert_eq!(tags["team"], "platform");
    // Each version has its own tags.
    let v2 = send!(c
        .create_extension()
        .name("tagged")
        .latest_version_number(1)
        .actions(ActionPoint::OnDeploymentStart, vec![action("a", HOOK)])
        .tags("stage", "beta"))
    .unwrap();
    let v2_arn = v2.arn().unwrap().to_string();
    assert_eq!(tags_of(&c, &v2_arn).await.len(), 1);
    assert_eq!(tags_of(&c, &v1_arn).await.len(), 2);
    send!(c.tag_resource().resource_arn(&v1_arn).tags("new", "tag")).unwrap();
    send!(c.untag_resource().resource_arn(&v1_arn).tag_keys("cost")).unwrap();
    let tags = tags_of(&c, &v1_arn).await;
    assert_eq!(
        tags.keys().cloned().collect::<BTreeSet<_>>(),
        ["new", "team"].map(String::from).into()
    );

    let assoc = send!(c
        .create_extension_association()
        .extension_identifier("tagged")
        .resource_identifier(app_arn(&app))
        .tags("owner", "me"))
    .unwrap();
    let assoc_arn = assoc.arn().unwrap().to_string();
    assert_eq!(tags_of(&c, &assoc_arn).await["owner"], "me");
    send!(c.tag_resource().resource_arn(&assoc_arn).tags("extra", "1")).unwrap();
    send!(c
        .untag_resource()
        .resource_arn(&assoc_arn)
        .tag_keys("owner"))
    .unwrap();
    let tags = tags_of(&c, &assoc_arn).await;
    assert_eq!(tags.len(), 1);
    assert_eq!(tags["extra"], "1");
    // Reserved keys are refused.
    bad_request(send!(c
        .tag_resource()
        .resource_arn(&assoc_arn)
        .tags("aws:x", "1")));
    bad_request(send!(c
        .create_extension()
        .name("reserved-tags")
        .actions(ActionPoint::OnDeploymentStart, vec![action("a", HOOK)])
        .tags("aws:x", "1")));
    // Unknown ARNs of these kinds.
    not_found(send!(c
        .list_tags_for_resource()
        .resource_arn(arn("extensionassociation/zzzzzzz"))));
    not_found(send!(c
        .list_tags_for_resource()
        .resource_arn(ext_arn(v1.id().unwrap(), 7))));
    // Deleting removes the tags with the resource.
    send!(c
        .delete_extension_association()
        .extension_association_id(assoc.id().unwrap()))
    .unwrap();
    not_found(send!(c.list_tags_for_resource().resource_arn(&assoc_arn)));
}

/// Everything observable about the extensions of an account.
async fn snapshot(c: &Client) -> (Vec<String>, Vec<String>) {
    let mut exts = Vec::new();
    for (id, _, version, arn) in all_extensions(c, 3).await {
        let e = send!(c
            .get_extension()
            .extension_identifier(&id)
            .version_number(version))
        .unwrap();
        // (Tags of AWS-authored ones: see aws_authored_extension_arns_carry_no_tags_and_refuse_them.)
        let tags: std::collections::BTreeMap<_, _> = if id.starts_with("AWS.") {
            Default::default()
        } else {
            tags_of(c, &arn).await.into_iter().collect()
        };
        let actions: std::collections::BTreeMap<String, Vec<String>> = e
            .actions()
            .unwrap()
            .iter()
            .map(|(p, list)| {
                let list = list
                    .iter()
                    .map(|a| {
                        format!(
                            "{:?} {:?} {:?} {:?}",
                            a.name(),
                            a.description(),
                            a.uri(),
                            a.role_arn()
                        )
                    })
                    .collect();
                (p.as_str().to_string(), list)
            })
            .collect();
        let params: std::collections::BTreeMap<String, String> = e
            .parameters()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|(k, p)| {
                (
                    k,
                    format!("{:?} {} {}", p.description(), p.required(), p.dynamic()),
                )
            })
            .collect();
        exts.push(format!(
            "{:?} {:?} {} {:?} {:?} {actions:?} {params:?} {tags:?}",
            e.id(),
            e.name(),
            e.version_number(),
            e.arn(),
            e.description()
        ));
    }
    let mut assocs = Vec::new();
    for id in list_assocs(c, None, None, None, 2).await {
        let a = send!(c.get_extension_association().extension_association_id(&id)).unwrap();
        let tags: std::collections::BTreeMap<_, _> =
            tags_of(c, a.arn().unwrap()).await.into_iter().collect();
        let params: std::collections::BTreeMap<_, _> = a
            .parameters()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect();
        assocs.push(format!(
            "{:?} {:?} {:?} {:?} {} {params:?} {tags:?}",
            a.id(),
            a.arn(),
            a.extension_arn(),
            a.resource_arn(),
            a.extension_version_number()
        ));
    }
    (exts, assocs)
}

#[tokio::test]
async fn extensions_and_associations_survive_restarts() {
    let mut s = Server::start();
    let c = s.client();
    let (app, env, profile) = resources(&c).await;
    create_ext_with_params(&c, "durable").await;
    send!(c
        .create_extension()
        .name("durable")
        .latest_version_number(1)
        .description("v2")
        .actions(ActionPoint::OnDeploymentStart, vec![action("a", HOOK)])
        .parameters("Channel", param(true, false))
        .tags("v", "2"))
    .unwrap();
    send!(c
        .create_extension_association()
        .extension_identifier("durable")
        .extension_version_number(1)
        .resource_identifier(env_arn(&app, &env))
        .parameters("Channel", "c1")
        .parameters("Tier", "t")
        .tags("k", "v"))
    .unwrap();
    send!(c
        .create_extension_association()
        .extension_identifier("durable")
        .resource_identifier(profile_arn(&app, &profile))
        .parameters("Channel", "c2"))
    .unwrap();
    send!(c
        .create_extension_association()
        .extension_identifier("AWS.AppConfig.DeploymentNotificationsToSns")
        .resource_identifier(app_arn(&app))
        .parameters("topicArn", "arn:aws:sns:us-east-1:111122223333:t"))
    .unwrap();
    let before = snapshot(&c).await;
    assert_eq!(before.0.len(), 5 + 2);
    assert_eq!(before.1.len(), 3);

    s.restart();
    let c = s.client();
    assert_eq!(snapshot(&c).await, before, "after a graceful restart");
    s.kill9_and_restart();
    let c = s.client();
    assert_eq!(snapshot(&c).await, before, "after kill -9");
    // Versioning continues where it was.
    assert_eq!(new_version(&c, "durable", 2, "v3").await, 3);
}

#[tokio::test]
async fn concurrent_creates_keep_names_unique_and_versions_gapless() {
    let (_s, c) = Server::start_with_client();
    // Ten clients race to create the same new name: exactly one wins, the rest conflict.
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move {
                send!(c
                    .create_extension()
                    .name("raced")
                    .actions(ActionPoint::OnDeploymentStart, vec![action("a", HOOK)]))
            })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(out) => {
                assert_eq!(out.version_number(), 1);
                won += 1;
            }
            Err(e) => {
                let (e, status) = service_error::<(), _>(Err(e));
                assert_eq!((code(&e).as_str(), status), ("ConflictException", 409));
            }
        }
    }
    assert_eq!(won, 1);
    // Ten race for version 2 with the same Latest-Version-Number: one wins.
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move {
                send!(c
                    .create_extension()
                    .name("raced")
                    .latest_version_number(1)
                    .actions(ActionPoint::OnDeploymentStart, vec![action("a", HOOK)]))
            })
        })
        .collect();
    let mut versions = Vec::new();
    for t in tasks {
        if let Ok(out) = t.await.unwrap() {
            versions.push(out.version_number());
        }
    }
    assert_eq!(versions, vec![2]);
    let rows: Vec<(String, i32)> = all_extensions(&c, 50)
        .await
        .into_iter()
        .filter(|e| e.1 == "raced")
        .map(|e| (e.0, e.2))
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0].0, rows[1].0, "one Id for both versions");
}

/// docs/decisions.md (Tags): an ARN of another region or account is ResourceNotFound; the
/// same must hold where an extension ARN identifies an extension.
#[tokio::test]
async fn extension_arns_of_another_account_or_region_are_not_found() {
    let (_s, c) = Server::start_with_client();
    let (app, _, _) = resources(&c).await;
    let (id, own) = create_ext(&c, "local-only").await;
    assert_eq!(own, ext_arn(&id, 1));
    for foreign in [
        format!("arn:aws:appconfig:{REGION}:111122223333:extension/{id}/1"),
        format!("arn:aws:appconfig:eu-west-1:{ACCOUNT}:extension/{id}/1"),
    ] {
        not_found(send!(c.get_extension().extension_identifier(&foreign)));
        not_found(send!(c
            .create_extension_association()
            .extension_identifier(&foreign)
            .resource_identifier(app_arn(&app))));
    }
}

/// docs/decisions.md: identifiers resolve in full generality wherever the model says
/// ExtensionIdentifier, and a version inside an ARN counts unless an explicit version is
/// given. ListExtensionAssociations' `extension_identifier` filter drops it.
#[tokio::test]
async fn list_associations_by_a_versioned_extension_arn_filters_that_version() {
    let (_s, c) = Server::start_with_client();
    let (app, env, _) = resources(&c).await;
    let (id, v1_arn) = create_ext(&c, "two-versions").await;
    new_version(&c, "two-versions", 1, "v2").await;
    let on_v1 = associate(&c, &v1_arn, &app_arn(&app)).await;
    let on_v2 = associate(&c, &ext_arn(&id, 2), &env_arn(&app, &env)).await;
    assert_eq!(
        list_assocs(&c, None, Some(&v1_arn), None, 50).await,
        vec![on_v1]
    );
    assert_eq!(
        list_assocs(&c, None, Some(&ext_arn(&id, 2)), None, 50).await,
        vec![on_v2.clone()]
    );
    // The unversioned forms list both.
    assert_eq!(list_assocs(&c, None, Some(&id), None, 50).await.len(), 2);
}
