//! `max_results` / `next_token` on every List operation: every page size 1..=50, no duplicates
//! or gaps, opaque tokens, bad tokens and sizes rejected, concurrent inserts tolerated.

use std::collections::HashSet;

use aws_sdk_appconfig::operation::list_applications::ListApplicationsError;
use aws_sdk_appconfig::operation::list_configuration_profiles::ListConfigurationProfilesError;
use aws_sdk_appconfig::operation::list_deployment_strategies::ListDeploymentStrategiesError;
use aws_sdk_appconfig::operation::list_environments::ListEnvironmentsError;
use aws_sdk_appconfig::Client;

use crate::harness::*;

/// Pages through applications with a fixed page size, checking each page's size.
async fn app_pages(c: &Client, max: i32) -> Vec<String> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = send!(c
            .list_applications()
            .max_results(max)
            .set_next_token(token.clone()))
        .unwrap();
        pages += 1;
        assert!(page.items().len() <= max as usize, "page larger than {max}");
        out.extend(page.items().iter().map(|a| a.id().unwrap().to_string()));
        match page.next_token() {
            Some(t) => {
                assert!(!t.is_empty());
                assert_eq!(
                    page.items().len(),
                    max as usize,
                    "only the last page is short"
                );
                token = Some(t.to_string());
            }
            None => break,
        }
        assert!(pages < 1000, "pagination does not end");
    }
    out
}

#[tokio::test]
async fn applications_every_page_size_from_1_to_50() {
    let (_server, c) = Server::start_with_client();
    let mut expected = Vec::new();
    for i in 0..23 {
        expected.push(create_app(&c, &format!("app-{i:02}")).await);
    }
    for max in 1..=50 {
        let got = app_pages(&c, max).await;
        assert_eq!(got, expected, "max_results={max}");
    }
}

#[tokio::test]
async fn exact_multiple_of_the_page_size_ends_cleanly() {
    let (_server, c) = Server::start_with_client();
    let mut expected = Vec::new();
    for i in 0..6 {
        expected.push(create_app(&c, &format!("app-{i}")).await);
    }
    let first = c.list_applications().max_results(3).send().await.unwrap();
    let second = send!(c
        .list_applications()
        .max_results(3)
        .next_token(first.next_token().unwrap()))
    .unwrap();
    assert_eq!(second.items().len(), 3);
    // Either no token, or a token to an empty last page: both end the listing.
    if let Some(t) = second.next_token() {
        let third = send!(c.list_applications().max_results(3).next_token(t)).unwrap();
        assert!(third.items().is_empty());
        assert!(third.next_token().is_none());
    }
    assert_eq!(app_pages(&c, 3).await, expected);
    // Empty listing: no items, no token.
    let empty_server = Server::start();
    let out = send!(empty_server.client().list_applications()).unwrap();
    assert!(out.items().is_empty());
    assert!(out.next_token().is_none());
}

#[tokio::test]
async fn default_page_size_is_50() {
    let (_server, c) = Server::start_with_client();
    for i in 0..53 {
        create_app(&c, &format!("app-{i}")).await;
    }
    let first = c.list_applications().send().await.unwrap();
    assert_eq!(first.items().len(), 50);
    let second = send!(c
        .list_applications()
        .next_token(first.next_token().expect("more pages")))
    .unwrap();
    assert_eq!(second.items().len(), 3);
    assert!(second.next_token().is_none());
}

#[tokio::test]
async fn sdk_paginators_walk_every_list_operation() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let mut envs = Vec::new();
    let mut profiles = Vec::new();
    let mut strategies = Vec::new();
    for i in 0..7 {
        envs.push(create_env(&c, &app, &format!("env-{i}")).await);
        profiles.push(create_profile(&c, &app, &format!("cfg-{i}")).await);
        strategies.push(create_strategy(&c, &format!("s-{i}")).await);
    }
    let profile = &profiles[0];
    for i in 0..7 {
        create_version(&c, &app, profile, format!("{i}").as_bytes(), "text/plain").await;
    }

    for max in [1, 2, 3, 7, 50] {
        let got: Vec<String> = all_items!(c.list_applications().max_results(max))
            .unwrap()
            .iter()
            .map(|a| a.id().unwrap().to_string())
            .collect();
        assert_eq!(got, std::slice::from_ref(&app), "applications, max {max}");

        let got: Vec<String> =
            all_items!(c.list_environments().application_id(&app).max_results(max))
                .unwrap()
                .iter()
                .map(|e| e.id().unwrap().to_string())
                .collect();
        assert_eq!(got, envs, "environments, max {max}");

        let got: Vec<String> = all_items!(c
            .list_configuration_profiles()
            .application_id(&app)
            .max_results(max))
        .unwrap()
        .iter()
        .map(|p| p.id().unwrap().to_string())
        .collect();
        assert_eq!(got, profiles, "profiles, max {max}");

        let got: Vec<i32> = all_items!(c
            .list_hosted_configuration_versions()
            .application_id(&app)
            .configuration_profile_id(profile)
            .max_results(max))
        .unwrap()
        .iter()
        .map(|v| v.version_number())
        .collect();
        assert_eq!(got, [1, 2, 3, 4, 5, 6, 7], "versions, max {max}");

        let got: Vec<String> = all_items!(c.list_deployment_strategies().max_results(max))
            .unwrap()
            .iter()
            .map(|s| s.id().unwrap().to_string())
            .collect();
        assert_eq!(got.len(), 11, "strategies, max {max}: {got:?}");
        assert!(got[..4].iter().all(|id| id.starts_with("AppConfig.")));
        assert_eq!(got[4..], strategies, "strategies, max {max}");
    }
}

#[tokio::test]
async fn strategy_pages_cross_from_predefined_to_custom_without_gaps() {
    let (_server, c) = Server::start_with_client();
    for i in 0..3 {
        create_strategy(&c, &format!("s-{i}")).await;
    }
    let expected = all_strategy_ids(&c).await;
    assert_eq!(expected.len(), 7);
    for max in 1..=8 {
        let mut got = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = send!(c
                .list_deployment_strategies()
                .max_results(max)
                .set_next_token(token))
            .unwrap();
            assert!(page.items().len() <= max as usize);
            got.extend(page.items().iter().map(|s| s.id().unwrap().to_string()));
            token = page.next_token().map(String::from);
            if token.is_none() {
                break;
            }
        }
        assert_eq!(got, expected, "max_results={max}");
    }
}

#[tokio::test]
async fn filters_combine_with_pagination() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let mut flags = Vec::new();
    for i in 0..5 {
        create_profile(&c, &app, &format!("plain-{i}")).await;
        flags.push(create_flags_profile(&c, &app, &format!("flags-{i}")).await);
    }
    let got: Vec<String> = all_items!(c
        .list_configuration_profiles()
        .application_id(&app)
        .r#type("AWS.AppConfig.FeatureFlags")
        .max_results(2))
    .unwrap()
    .iter()
    .map(|p| p.id().unwrap().to_string())
    .collect();
    assert_eq!(got, flags);
}

#[tokio::test]
async fn version_label_prefix_filter_combines_with_pagination() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let profile = create_profile(&c, &app, "labelled").await;
    for i in 0..6 {
        let label = if i % 2 == 0 {
            format!("rel-{i}")
        } else {
            format!("dev-{i}")
        };
        send!(
            version_request(&c, &app, &profile, b"{}".to_vec(), "application/json")
                .version_label(label)
        )
        .unwrap();
    }
    let got: Vec<String> = all_items!(c
        .list_hosted_configuration_versions()
        .application_id(&app)
        .configuration_profile_id(&profile)
        .version_label("rel-*")
        .max_results(1))
    .unwrap()
    .iter()
    .map(|v| v.version_label().unwrap().to_string())
    .collect();
    assert_eq!(got, ["rel-0", "rel-2", "rel-4"]);
}

#[tokio::test]
async fn max_results_out_of_range_is_a_bad_request() {
    let (server, c) = Server::start_with_client();
    let (app, profile) = app_and_profile(&c).await;
    for max in [0, 51, -1] {
        let (e, status) = service_error(c.list_applications().max_results(max).send().await);
        assert_eq!(status, 400, "{max}");
        assert_bad_field!(e, ListApplicationsError, "maxResults");

        let e = sdk_err!(c.list_environments().application_id(&app).max_results(max));
        assert_matches!(e, ListEnvironmentsError::BadRequestException(_));
        let e = sdk_err!(c
            .list_configuration_profiles()
            .application_id(&app)
            .max_results(max));
        assert_matches!(e, ListConfigurationProfilesError::BadRequestException(_));
        let e = sdk_err!(c
            .list_hosted_configuration_versions()
            .application_id(&app)
            .configuration_profile_id(&profile)
            .max_results(max));
        assert!(e.is_bad_request_exception(), "{e:?}");
        let e = err(c.list_deployment_strategies().max_results(max).send().await);
        assert_matches!(e, ListDeploymentStrategiesError::BadRequestException(_));
    }
    // A non-number on the wire.
    let raw = raw_call(server.addr(), "GET", "/applications?max_results=ten");
    assert_eq!(raw.status, 400);
    assert_eq!(raw.header("x-amzn-errortype"), Some("BadRequestException"));
}

#[tokio::test]
async fn invalid_next_tokens_are_bad_requests() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    create_app(&c, "other").await;
    let profile = create_profile(&c, &app, "cfg").await;
    let bad_tokens = [
        "garbage!".to_string(),
        "bm90LWEtdG9rZW4".to_string(), // base64 of "not-a-token"
        chars('A', 2049),              // longer than the model allows
    ];
    for token in &bad_tokens {
        let (e, status) = service_error(c.list_applications().next_token(token).send().await);
        assert_eq!(status, 400, "{token}");
        assert_matches!(e, ListApplicationsError::BadRequestException(_));
        let e = sdk_err!(c.list_environments().application_id(&app).next_token(token));
        assert_matches!(e, ListEnvironmentsError::BadRequestException(_));
        let e = sdk_err!(c
            .list_configuration_profiles()
            .application_id(&app)
            .next_token(token));
        assert_matches!(e, ListConfigurationProfilesError::BadRequestException(_));
        let e = sdk_err!(c
            .list_hosted_configuration_versions()
            .application_id(&app)
            .configuration_profile_id(&profile)
            .next_token(token));
        assert!(e.is_bad_request_exception(), "{e:?}");
        let e = sdk_err!(c.list_deployment_strategies().next_token(token));
        assert_matches!(e, ListDeploymentStrategiesError::BadRequestException(_));
    }
    // A genuine token still works afterwards.
    let first = c.list_applications().max_results(1).send().await.unwrap();
    let second = send!(c
        .list_applications()
        .max_results(1)
        .next_token(first.next_token().unwrap()))
    .unwrap();
    assert_eq!(second.items().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_inserts_while_paginating_never_duplicate() {
    let (server, c) = Server::start_with_client();
    let mut initial = Vec::new();
    for i in 0..20 {
        initial.push(create_app(&c, &format!("initial-{i}")).await);
    }

    let writer = {
        let c = server.client();
        tokio::spawn(async move {
            let mut created = Vec::new();
            for i in 0..30 {
                created.push(create_app(&c, &format!("concurrent-{i}")).await);
                tokio::task::yield_now().await;
            }
            created
        })
    };

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = send!(c.list_applications().max_results(2).set_next_token(token)).unwrap();
        seen.extend(page.items().iter().map(|a| a.id().unwrap().to_string()));
        token = page.next_token().map(String::from);
        if token.is_none() {
            break;
        }
    }
    let created = writer.await.unwrap();

    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "duplicates while paginating: {seen:?}"
    );
    for id in &initial {
        assert!(
            unique.contains(id),
            "{id} existed before listing but was skipped"
        );
    }
    // Whatever was seen of the concurrent inserts came in creation order, after the old items.
    assert_eq!(seen[..initial.len()], initial[..]);
    let concurrent_seen: Vec<&String> = seen[initial.len()..].iter().collect();
    let expected_order: Vec<&String> = created
        .iter()
        .filter(|id| concurrent_seen.contains(id))
        .collect();
    assert_eq!(concurrent_seen, expected_order);
    // A fresh listing sees everything exactly once.
    let all = all_app_ids(&c).await;
    assert_eq!(all.len(), 50);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 50);
}

#[tokio::test]
async fn deletes_between_pages_do_not_skip_survivors() {
    let (_server, c) = Server::start_with_client();
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(create_app(&c, &format!("app-{i}")).await);
    }
    let first = c.list_applications().max_results(2).send().await.unwrap();
    let token = first.next_token().unwrap().to_string();
    // Delete the last item of the first page and the first item of the next page.
    for id in [&ids[1], &ids[2]] {
        send!(c.delete_application().application_id(id)).unwrap();
    }
    let rest = app_ids_from(&c, token, 2).await;
    assert_eq!(rest, ids[3..]);
}
