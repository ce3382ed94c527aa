//! Concurrent requests: quotas, counters, optimistic locks, uniqueness and read-modify-write
//! updates must hold when requests race (PostgreSQL runs them on many connections).

use std::collections::{BTreeSet, HashMap};
use std::fmt::Debug;

use aws_sdk_appconfig::config::http::HttpResponse;
use aws_sdk_appconfig::error::SdkError;
use aws_sdk_appconfig::operation::create_application::CreateApplicationError;
use aws_sdk_appconfig::operation::create_environment::CreateEnvironmentError;
use aws_sdk_appconfig::operation::create_hosted_configuration_version::CreateHostedConfigurationVersionError;
use aws_sdk_appconfig::operation::delete_application::DeleteApplicationError;
use aws_sdk_appconfig::Client;
use aws_smithy_types::Blob;
use tokio::task::JoinSet;

use crate::harness::*;

const N: usize = 12;

/// (successes, failures) of the calls racing in `set`; every failure must be `expected`.
async fn tally<T: Debug + 'static, E: Debug + 'static>(
    set: &mut JoinSet<Result<T, SdkError<E, HttpResponse>>>,
    expected: impl Fn(&E) -> bool,
) -> (usize, usize) {
    let (mut ok, mut failed) = (0, 0);
    while let Some(r) = set.join_next().await {
        match r.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => {
                let e = err::<(), _>(Err(e));
                assert!(expected(&e), "{e:?}");
                failed += 1;
            }
        }
    }
    (ok, failed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_creates_respect_the_application_quota() {
    let (_server, c) = Server::start_with_args_client(&["--quota-applications", "5"]);
    let mut set = JoinSet::new();
    for i in 0..N {
        let c = c.clone();
        set.spawn(async move { c.create_application().name(format!("app-{i}")).send().await });
    }
    let (ok, over) = tally(&mut set, |e| {
        matches!(e, CreateApplicationError::ServiceQuotaExceededException(_))
    })
    .await;
    assert_eq!((ok, over), (5, N - 5));
    assert_eq!(all_app_ids(&c).await.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_hosted_versions_get_distinct_consecutive_numbers() {
    let (_server, c) = Server::start_with_client();
    let (app, profile) = app_and_profile(&c).await;
    let mut set = JoinSet::new();
    for i in 0..N {
        let (c, app, profile) = (c.clone(), app.clone(), profile.clone());
        set.spawn(async move {
            let content = format!("content-{i}");
            let n = create_version(&c, &app, &profile, content.as_bytes(), "text/plain").await;
            (n, content)
        });
    }
    let mut by_number = HashMap::new();
    while let Some(r) = set.join_next().await {
        let (n, content) = r.unwrap();
        assert!(
            by_number.insert(n, content).is_none(),
            "number {n} handed out twice"
        );
    }
    let numbers: BTreeSet<i32> = by_number.keys().copied().collect();
    assert_eq!(numbers, (1..=N as i32).collect());
    // Each number holds the content of the request that got it.
    for (n, content) in by_number {
        let got = get_version(&c, &app, &profile, n).await;
        assert_eq!(got.content().unwrap().as_ref(), content.as_bytes());
    }
}

async fn race_hosted_creates(
    c: &Client,
    app: &str,
    profile: &str,
    latest: Option<i32>,
    label: Option<&str>,
) -> (usize, usize) {
    let mut set = JoinSet::new();
    for i in 0..N {
        let req = c
            .create_hosted_configuration_version()
            .application_id(app)
            .configuration_profile_id(profile)
            .content(Blob::new(format!("{i}").into_bytes()))
            .content_type("text/plain")
            .set_latest_version_number(latest)
            .set_version_label(label.map(String::from));
        set.spawn(req.send());
    }
    let (ok, conflicts) = tally(&mut set, |e| {
        matches!(
            e,
            CreateHostedConfigurationVersionError::ConflictException(_)
        )
    })
    .await;
    (ok, conflicts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_creates_with_the_same_latest_version_number_let_exactly_one_win() {
    let (_server, c) = Server::start_with_client();
    let (app, profile) = app_and_profile(&c).await;
    create_version(&c, &app, &profile, b"base", "text/plain").await;
    let (ok, conflicts) = race_hosted_creates(&c, &app, &profile, Some(1), None).await;
    assert_eq!((ok, conflicts), (1, N - 1));
    assert_eq!(all_version_numbers(&c, &app, &profile).await, vec![1, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_creates_with_the_same_label_let_exactly_one_win() {
    let (_server, c) = Server::start_with_client();
    let (app, profile) = app_and_profile(&c).await;
    let (ok, conflicts) = race_hosted_creates(&c, &app, &profile, None, Some("same")).await;
    assert_eq!((ok, conflicts), (1, N - 1));
    let labelled = send!(c
        .list_hosted_configuration_versions()
        .application_id(&app)
        .configuration_profile_id(&profile)
        .version_label("same"))
    .unwrap();
    assert_eq!(labelled.items().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_tag_requests_lose_no_tags() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let arn = app_arn(&app);
    let mut set = JoinSet::new();
    for i in 0..N {
        let req = c
            .tag_resource()
            .resource_arn(&arn)
            .tags(format!("key-{i}"), format!("value-{i}"));
        set.spawn(req.send());
    }
    while let Some(r) = set.join_next().await {
        r.unwrap().unwrap();
    }
    let tags = tags_of(&c, &arn).await;
    assert_eq!(tags.len(), N, "{tags:?}");
    for i in 0..N {
        assert_eq!(tags[&format!("key-{i}")], format!("value-{i}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_patches_of_different_fields_lose_no_update() {
    let (_server, c) = Server::start_with_client();
    let app = create_app_described(&c, "original-name", "original-description").await;
    let mut set = JoinSet::new();
    for i in 0..N {
        let req = if i % 2 == 0 {
            c.update_application()
                .application_id(&app)
                .name(format!("name-{i}"))
        } else {
            c.update_application()
                .application_id(&app)
                .description(format!("description-{i}"))
        };
        set.spawn(req.send());
    }
    while let Some(r) = set.join_next().await {
        r.unwrap().unwrap();
    }
    let got = send!(c.get_application().application_id(&app)).unwrap();
    assert!(got.name().unwrap().starts_with("name-"), "{got:?}");
    assert!(
        got.description().unwrap().starts_with("description-"),
        "{got:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_deletes_succeed_exactly_once() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let mut set = JoinSet::new();
    for _ in 0..N {
        set.spawn(c.delete_application().application_id(&app).send());
    }
    let (ok, missing) = tally(&mut set, |e| {
        matches!(e, DeleteApplicationError::ResourceNotFoundException(_))
    })
    .await;
    assert_eq!((ok, missing), (1, N - 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delete_racing_child_creates_never_orphans_children() {
    let (_server, c) = Server::start_with_client();
    for round in 0..5 {
        let app = create_app(&c, &format!("app-{round}")).await;
        let mut creates = JoinSet::new();
        for i in 0..4 {
            let req = c
                .create_environment()
                .application_id(&app)
                .name(format!("env-{i}"));
            creates.spawn(req.send());
        }
        let deleted = c.delete_application().application_id(&app).send().await;
        let mut created = 0;
        while let Some(r) = creates.join_next().await {
            match r.unwrap() {
                Ok(_) => created += 1,
                Err(e) => {
                    let e = err::<(), _>(Err(e));
                    assert_matches!(e, CreateEnvironmentError::ResourceNotFoundException(_));
                }
            }
        }
        match deleted {
            Ok(_) => {
                assert_eq!(
                    created, 0,
                    "environments were created in a deleted application"
                );
                let e = err(c.list_environments().application_id(&app).send().await);
                assert!(format!("{e:?}").contains("ResourceNotFound"), "{e:?}");
            }
            Err(_) => {
                assert!(created > 0, "delete refused although no environment exists");
                assert_eq!(all_env_ids(&c, &app).await.len(), created);
            }
        }
    }
}
