//! TagResource, UntagResource, ListTagsForResource on application, environment, configuration
//! profile and deployment strategy ARNs.

use std::collections::HashMap;

use aws_sdk_appconfig::operation::list_tags_for_resource::ListTagsForResourceError;
use aws_sdk_appconfig::operation::tag_resource::TagResourceError;
use aws_sdk_appconfig::Client;

use crate::harness::*;

fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Tag, overwrite, untag and list one resource.
async fn exercise(c: &Client, arn: &str) {
    assert!(tags_of(c, arn).await.is_empty(), "{arn} starts untagged");
    send!(c
        .tag_resource()
        .resource_arn(arn)
        .tags("env", "prod")
        .tags("team", "core")
        .tags("empty", ""))
    .unwrap_or_else(|e| panic!("tag {arn}: {e:?}"));
    assert_eq!(
        tags_of(c, arn).await,
        map(&[("env", "prod"), ("team", "core"), ("empty", "")])
    );

    // Tagging merges and overwrites.
    send!(c
        .tag_resource()
        .resource_arn(arn)
        .tags("env", "staging")
        .tags("cost-center", "42"))
    .unwrap();
    assert_eq!(
        tags_of(c, arn).await,
        map(&[
            ("env", "staging"),
            ("team", "core"),
            ("empty", ""),
            ("cost-center", "42")
        ])
    );

    // Untag removes the named keys; unknown keys are ignored.
    send!(c
        .untag_resource()
        .resource_arn(arn)
        .tag_keys("team")
        .tag_keys("empty")
        .tag_keys("never-set"))
    .unwrap();
    assert_eq!(
        tags_of(c, arn).await,
        map(&[("env", "staging"), ("cost-center", "42")])
    );
}

#[tokio::test]
async fn tag_untag_list_on_every_taggable_kind() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let env = create_env(&c, &app, "env").await;
    let profile = create_profile(&c, &app, "cfg").await;
    let strategy = create_strategy(&c, "strategy").await;
    for arn in [
        app_arn(&app),
        env_arn(&app, &env),
        profile_arn(&app, &profile),
        strategy_arn(&strategy),
    ] {
        exercise(&c, &arn).await;
    }
    // Tags are per resource.
    assert_eq!(
        tags_of(&c, &app_arn(&app)).await,
        tags_of(&c, &env_arn(&app, &env)).await
    );
    let other = create_app(&c, "other").await;
    assert!(tags_of(&c, &app_arn(&other)).await.is_empty());
}

#[tokio::test]
async fn tags_given_at_create_are_listed() {
    let (_server, c) = Server::start_with_client();
    let app = send!(c.create_application().name("a").tags("k", "v"))
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    let env = send!(c
        .create_environment()
        .application_id(&app)
        .name("e")
        .tags("k", "env"))
    .unwrap()
    .id()
    .unwrap()
    .to_string();
    let profile = send!(c
        .create_configuration_profile()
        .application_id(&app)
        .name("p")
        .location_uri("hosted")
        .tags("k", "profile"))
    .unwrap()
    .id()
    .unwrap()
    .to_string();
    let req = c.create_deployment_strategy().name("s");
    let req = req.deployment_duration_in_minutes(1).growth_factor(50.0);
    let strategy = send!(req.tags("k", "strategy"))
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    assert_eq!(tags_of(&c, &app_arn(&app)).await, map(&[("k", "v")]));
    assert_eq!(
        tags_of(&c, &env_arn(&app, &env)).await,
        map(&[("k", "env")])
    );
    assert_eq!(
        tags_of(&c, &profile_arn(&app, &profile)).await,
        map(&[("k", "profile")])
    );
    assert_eq!(
        tags_of(&c, &strategy_arn(&strategy)).await,
        map(&[("k", "strategy")])
    );
}

#[tokio::test]
async fn tags_survive_updates() {
    let (_server, c) = Server::start_with_client();
    let app = send!(c.create_application().name("a").tags("keep", "me"))
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    send!(c.update_application().application_id(&app).name("renamed")).unwrap();
    assert_eq!(tags_of(&c, &app_arn(&app)).await, map(&[("keep", "me")]));
}

#[tokio::test]
async fn unknown_resources_are_not_found() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let other = create_app(&c, "other").await;
    let env = create_env(&c, &app, "env").await;
    let profile = create_profile(&c, &app, "cfg").await;

    let missing = [
        app_arn("abcd123"),
        env_arn(&app, "abcd123"),
        // The environment exists, but under another application.
        env_arn(&other, &env),
        profile_arn(&other, &profile),
        strategy_arn("abcd123"),
        // Another account or region.
        format!("arn:aws:appconfig:{REGION}:111122223333:application/{app}"),
        format!("arn:aws:appconfig:eu-west-1:{ACCOUNT}:application/{app}"),
    ];
    for arn in missing {
        let (e, status) = service_error(c.list_tags_for_resource().resource_arn(&arn).send().await);
        assert_eq!(status, 404, "{arn}");
        assert!(e.is_resource_not_found_exception(), "{arn}: {e:?}");
        let e = sdk_err!(c.tag_resource().resource_arn(&arn).tags("k", "v"));
        assert!(e.is_resource_not_found_exception(), "{arn}: {e:?}");
        let e = sdk_err!(c.untag_resource().resource_arn(&arn).tag_keys("k"));
        assert!(e.is_resource_not_found_exception(), "{arn}: {e:?}");
    }
}

#[tokio::test]
async fn deleted_resources_lose_their_tags() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let env = send!(c
        .create_environment()
        .application_id(&app)
        .name("e")
        .tags("k", "v"))
    .unwrap()
    .id()
    .unwrap()
    .to_string();
    send!(c
        .delete_environment()
        .application_id(&app)
        .environment_id(&env))
    .unwrap();
    let e = sdk_err!(c.list_tags_for_resource().resource_arn(env_arn(&app, &env)));
    assert_matches!(e, ListTagsForResourceError::ResourceNotFoundException(_));
}

#[tokio::test]
async fn malformed_arns_are_bad_requests() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let malformed = [
        // Fails the model's Arn pattern.
        "this-is-not-an-arn-at-all".to_string(),
        // Too short for the model (min 20).
        "arn:aws:x".to_string(),
        // A valid ARN of another service.
        "arn:aws:s3:::my-bucket-name".to_string(),
        // An AppConfig ARN naming no known resource type.
        arn(&format!("widget/{app}")),
    ];
    for arn in malformed {
        let (e, status) = service_error(c.list_tags_for_resource().resource_arn(&arn).send().await);
        assert_eq!(status, 400, "{arn}");
        assert!(e.is_bad_request_exception(), "{arn}: {e:?}");
        let e = sdk_err!(c.tag_resource().resource_arn(&arn).tags("k", "v"));
        assert!(e.is_bad_request_exception(), "{arn}: {e:?}");
    }
    assert!(tags_of(&c, &app_arn(&app)).await.is_empty());
}

#[tokio::test]
async fn reserved_prefix_and_limits_are_enforced() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let arn = app_arn(&app);
    send!(c.tag_resource().resource_arn(&arn).tags("ok", "1")).unwrap();

    for key in ["aws:owner", "AWS:owner"] {
        let e = sdk_err!(c
            .tag_resource()
            .resource_arn(&arn)
            .tags(key, "x")
            .tags("other", "y"));
        assert!(
            matches!(e, TagResourceError::BadRequestException(_)),
            "{key}: {e:?}"
        );
        assert!(message(&e).contains(key), "{e:?}");
    }

    // Key length 129 / value length 257.
    let e = sdk_err!(c
        .tag_resource()
        .resource_arn(&arn)
        .tags(chars('k', 129), "v"));
    assert_matches!(e, TagResourceError::BadRequestException(_));
    let e = sdk_err!(c
        .tag_resource()
        .resource_arn(&arn)
        .tags("k", chars('v', 257)));
    assert_matches!(e, TagResourceError::BadRequestException(_));

    // More than 50 tags in total.
    let mut req = c.tag_resource().resource_arn(&arn);
    for i in 0..50 {
        req = req.tags(format!("k{i}"), "v");
    }
    let e = err(req.send().await);
    assert_matches!(e, TagResourceError::BadRequestException(_));

    assert_eq!(tags_of(&c, &arn).await, map(&[("ok", "1")]));

    // The reserved prefix is refused at create time for every taggable kind, too.
    let e = format!(
        "{:?}",
        sdk_err!(c
            .create_environment()
            .application_id(&app)
            .name("e")
            .tags("aws:x", "y"))
    );
    assert!(e.contains("BadRequestException"), "{e}");
    let e = format!(
        "{:?}",
        sdk_err!(c
            .create_configuration_profile()
            .application_id(&app)
            .name("p")
            .location_uri("hosted")
            .tags("aws:x", "y"))
    );
    assert!(e.contains("BadRequestException"), "{e}");
    let e = format!(
        "{:?}",
        sdk_err!(c
            .create_deployment_strategy()
            .name("s")
            .deployment_duration_in_minutes(1)
            .growth_factor(10.0)
            .tags("aws:x", "y"))
    );
    assert!(e.contains("BadRequestException"), "{e}");
    assert!(all_env_ids(&c, &app).await.is_empty());
    assert!(all_profile_ids(&c, &app).await.is_empty());
    assert_eq!(all_strategy_ids(&c).await.len(), 4);
}

#[tokio::test]
async fn predefined_strategies_have_no_tags_and_cannot_be_tagged() {
    let (_server, c) = Server::start_with_client();
    let arn = strategy_arn("AppConfig.AllAtOnce");
    assert!(tags_of(&c, &arn).await.is_empty());
    let e = sdk_err!(c.tag_resource().resource_arn(&arn).tags("k", "v"));
    assert_matches!(e, TagResourceError::BadRequestException(_));
    assert!(tags_of(&c, &arn).await.is_empty());
}

#[tokio::test]
async fn untag_requires_tag_keys() {
    // The SDK refuses to send this, so check the wire directly (other clients may send it).
    let (server, c) = Server::start_with_client();
    let app = send!(c.create_application().name("a").tags("k", "v"))
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    let path = format!(
        "/tags/{}",
        app_arn(&app).replace(':', "%3A").replace('/', "%2F")
    );
    let raw = raw_call(server.addr(), "DELETE", &path);
    assert_eq!(raw.status, 400, "{raw:?}");
    assert_eq!(raw.header("x-amzn-errortype"), Some("BadRequestException"));
    assert!(raw.message().contains("tagKeys"), "{raw:?}");
    // `tagKeys` is repeated on the wire, camelCase unlike every other query parameter.
    let raw = raw_call(
        server.addr(),
        "DELETE",
        &format!("{path}?tagKeys=k&tagKeys=absent"),
    );
    assert_eq!(raw.status, 204, "{raw:?}");
    assert!(tags_of(&c, &app_arn(&app)).await.is_empty());
}

#[tokio::test]
async fn tag_keys_with_special_characters_round_trip_through_untag() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let arn = app_arn(&app);
    let keys = [
        "a b",
        "a+b",
        "a&b=c",
        "k/1:x",
        "100%",
        "clé",
        "_.-@",
        "trailing ",
    ];
    let mut req = c.tag_resource().resource_arn(&arn);
    for (i, k) in keys.iter().enumerate() {
        req = req.tags(*k, format!("value {i} + more"));
    }
    req.send().await.unwrap();
    let tags = tags_of(&c, &arn).await;
    assert_eq!(tags.len(), keys.len(), "{tags:?}");
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(tags.get(*k), Some(&format!("value {i} + more")), "{k:?}");
    }

    // Untag sends the keys in the query string: each must arrive intact.
    let mut req = c.untag_resource().resource_arn(&arn);
    for k in &keys[..4] {
        req = req.tag_keys(*k);
    }
    req.send().await.unwrap();
    let left: std::collections::BTreeSet<String> = tags_of(&c, &arn).await.into_keys().collect();
    let expected: std::collections::BTreeSet<String> =
        keys[4..].iter().map(|k| k.to_string()).collect();
    assert_eq!(left, expected);

    let mut req = c.untag_resource().resource_arn(&arn);
    for k in &keys[4..] {
        req = req.tag_keys(*k);
    }
    req.send().await.unwrap();
    assert!(tags_of(&c, &arn).await.is_empty());
}

#[tokio::test]
async fn arns_use_the_configured_region_and_account() {
    let (_server, c) =
        Server::start_with_args_client(&["--region", "eu-west-1", "--account-id", "123456789012"]);
    let app = create_app(&c, "app").await;
    let own = format!("arn:aws:appconfig:eu-west-1:123456789012:application/{app}");
    send!(c.tag_resource().resource_arn(&own).tags("k", "v")).unwrap();
    assert_eq!(tags_of(&c, &own).await, map(&[("k", "v")]));
    // The default region/account no longer name this resource.
    let (e, status) = service_error(send!(c
        .list_tags_for_resource()
        .resource_arn(app_arn(&app))));
    assert_eq!(status, 404);
    assert_matches!(e, ListTagsForResourceError::ResourceNotFoundException(_));
}
