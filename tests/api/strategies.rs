//! CreateDeploymentStrategy, GetDeploymentStrategy, UpdateDeploymentStrategy,
//! DeleteDeploymentStrategy (the SDK sends it to `/deployementstrategies/{id}`),
//! ListDeploymentStrategies, and the predefined `AppConfig.*` strategies.

use aws_sdk_appconfig::operation::create_deployment_strategy::CreateDeploymentStrategyError;
use aws_sdk_appconfig::operation::delete_deployment_strategy::DeleteDeploymentStrategyError;
use aws_sdk_appconfig::operation::get_deployment_strategy::GetDeploymentStrategyError;
use aws_sdk_appconfig::operation::update_deployment_strategy::UpdateDeploymentStrategyError;
use aws_sdk_appconfig::types::{GrowthType, ReplicateTo};

use crate::harness::*;

/// (Id, GrowthType, GrowthFactor, DeploymentDurationInMinutes, FinalBakeTimeInMinutes).
const PREDEFINED: [(&str, GrowthType, f32, i32, i32); 4] = [
    (
        "AppConfig.Linear50PercentEvery30Seconds",
        GrowthType::Linear,
        50.0,
        1,
        1,
    ),
    (
        "AppConfig.Canary10Percent20Minutes",
        GrowthType::Exponential,
        10.0,
        20,
        10,
    ),
    ("AppConfig.AllAtOnce", GrowthType::Linear, 100.0, 0, 10),
    (
        "AppConfig.Linear20PercentEvery6Minutes",
        GrowthType::Linear,
        20.0,
        30,
        30,
    ),
];

#[tokio::test]
async fn predefined_strategies_are_listed_and_gettable() {
    let (_server, c) = Server::start_with_client();
    let listed = c.list_deployment_strategies().send().await.unwrap();
    let items = listed.items();
    assert_eq!(items.len(), 4, "{items:?}");
    for (id, growth_type, factor, duration, bake) in PREDEFINED {
        let s = items
            .iter()
            .find(|s| s.id() == Some(id))
            .unwrap_or_else(|| panic!("{id} is listed"));
        assert_eq!(s.name(), Some(id));
        assert_eq!(s.growth_type(), Some(&growth_type), "{id}");
        assert_eq!(s.growth_factor(), Some(factor), "{id}");
        assert_eq!(s.deployment_duration_in_minutes(), duration, "{id}");
        assert_eq!(s.final_bake_time_in_minutes(), bake, "{id}");
        assert_eq!(s.replicate_to(), Some(&ReplicateTo::None), "{id}");

        let got = send!(c.get_deployment_strategy().deployment_strategy_id(id)).unwrap();
        assert_eq!(got.id(), Some(id));
        assert_eq!(got.name(), Some(id));
        assert_eq!(got.growth_type(), Some(&growth_type));
        assert_eq!(got.growth_factor(), Some(factor));
        assert_eq!(got.deployment_duration_in_minutes(), duration);
        assert_eq!(got.final_bake_time_in_minutes(), bake);
        assert!(got.description().is_some());
    }
}

#[tokio::test]
async fn predefined_strategies_are_immutable() {
    let (_server, c) = Server::start_with_client();
    for (id, ..) in PREDEFINED {
        let (e, status) = service_error(send!(c
            .update_deployment_strategy()
            .deployment_strategy_id(id)
            .description("mine now")));
        assert_eq!(status, 400);
        assert_matches!(e, UpdateDeploymentStrategyError::BadRequestException(_));
        assert!(message(&e).contains("predefined"), "{e:?}");

        let (e, status) = service_error(send!(c
            .delete_deployment_strategy()
            .deployment_strategy_id(id)));
        assert_eq!(status, 400);
        assert_matches!(e, DeleteDeploymentStrategyError::BadRequestException(_));
        assert_eq!(
            message(&e),
            format!("Cannot delete predefined Deployment Strategy {id}.")
        );
    }
    let ids = all_strategy_ids(&c).await;
    assert_eq!(ids.len(), 4);
    let got = send!(c
        .get_deployment_strategy()
        .deployment_strategy_id("AppConfig.AllAtOnce"))
    .unwrap();
    assert_eq!(got.description(), Some("Quick"));
}

#[tokio::test]
async fn create_applies_defaults_and_get_round_trips() {
    let (_server, c) = Server::start_with_client();
    let created = send!(c
        .create_deployment_strategy()
        .name("slow-rollout")
        .deployment_duration_in_minutes(60)
        .growth_factor(12.5)
        .tags("team", "sre"))
    .unwrap();
    let id = created.id().unwrap().to_string();
    assert_id(&id);
    assert_eq!(created.name(), Some("slow-rollout"));
    assert_eq!(created.description(), None);
    assert_eq!(created.deployment_duration_in_minutes(), 60);
    assert_eq!(created.growth_factor(), Some(12.5));
    assert_eq!(created.growth_type(), Some(&GrowthType::Linear), "default");
    assert_eq!(created.final_bake_time_in_minutes(), 0, "default");
    assert_eq!(created.replicate_to(), Some(&ReplicateTo::None), "default");

    let got = send!(c.get_deployment_strategy().deployment_strategy_id(&id)).unwrap();
    assert_eq!(got.id(), Some(id.as_str()));
    assert_eq!(got.name(), Some("slow-rollout"));
    assert_eq!(got.deployment_duration_in_minutes(), 60);
    assert_eq!(got.growth_factor(), Some(12.5));
    assert_eq!(got.growth_type(), Some(&GrowthType::Linear));
    assert_eq!(got.final_bake_time_in_minutes(), 0);
    assert_eq!(
        tags_of(&c, &strategy_arn(&id)).await.get("team").unwrap(),
        "sre"
    );

    let full = send!(c
        .create_deployment_strategy()
        .name("everything")
        .description("all members")
        .deployment_duration_in_minutes(1440)
        .final_bake_time_in_minutes(1440)
        .growth_factor(100.0)
        .growth_type(GrowthType::Exponential)
        .replicate_to(ReplicateTo::SsmDocument))
    .unwrap();
    assert_eq!(full.description(), Some("all members"));
    assert_eq!(full.deployment_duration_in_minutes(), 1440);
    assert_eq!(full.final_bake_time_in_minutes(), 1440);
    assert_eq!(full.growth_factor(), Some(100.0));
    assert_eq!(full.growth_type(), Some(&GrowthType::Exponential));
    assert_eq!(full.replicate_to(), Some(&ReplicateTo::SsmDocument));
}

#[tokio::test]
async fn custom_strategies_are_listed_after_the_predefined_ones() {
    let (_server, c) = Server::start_with_client();
    let a = create_strategy(&c, "a").await;
    let b = create_strategy(&c, "b").await;
    let ids = all_strategy_ids(&c).await;
    assert_eq!(ids.len(), 6);
    assert!(ids[..4].iter().all(|id| id.starts_with("AppConfig.")));
    assert_eq!(ids[4..], [a, b]);
}

#[tokio::test]
async fn update_is_a_patch() {
    let (_server, c) = Server::start_with_client();
    let id = send!(c
        .create_deployment_strategy()
        .name("s")
        .description("d1")
        .deployment_duration_in_minutes(10)
        .final_bake_time_in_minutes(5)
        .growth_factor(20.0)
        .growth_type(GrowthType::Linear))
    .unwrap()
    .id()
    .unwrap()
    .to_string();

    let out = send!(c
        .update_deployment_strategy()
        .deployment_strategy_id(&id)
        .description("d2"))
    .unwrap();
    assert_eq!(out.name(), Some("s"));
    assert_eq!(out.description(), Some("d2"));
    assert_eq!(out.deployment_duration_in_minutes(), 10);
    assert_eq!(out.final_bake_time_in_minutes(), 5);
    assert_eq!(out.growth_factor(), Some(20.0));
    assert_eq!(out.growth_type(), Some(&GrowthType::Linear));

    let out = send!(c
        .update_deployment_strategy()
        .deployment_strategy_id(&id)
        .growth_factor(50.0)
        .growth_type(GrowthType::Exponential)
        .deployment_duration_in_minutes(0)
        .final_bake_time_in_minutes(0))
    .unwrap();
    assert_eq!(out.description(), Some("d2"));
    assert_eq!(out.growth_factor(), Some(50.0));
    assert_eq!(out.growth_type(), Some(&GrowthType::Exponential));
    assert_eq!(out.deployment_duration_in_minutes(), 0);
    assert_eq!(out.final_bake_time_in_minutes(), 0);

    let got = send!(c.get_deployment_strategy().deployment_strategy_id(&id)).unwrap();
    assert_eq!(got.name(), Some("s"));
    assert_eq!(got.description(), Some("d2"));
    assert_eq!(got.growth_factor(), Some(50.0));
    assert_eq!(got.growth_type(), Some(&GrowthType::Exponential));
    assert_eq!(got.deployment_duration_in_minutes(), 0);
}

#[tokio::test]
async fn delete_uses_the_misspelled_path_and_removes_the_strategy() {
    let (server, c) = Server::start_with_client();
    let keep = create_strategy(&c, "keep").await;
    let gone = create_strategy(&c, "gone").await;
    send!(c.delete_deployment_strategy().deployment_strategy_id(&gone)).unwrap();
    let ids = all_strategy_ids(&c).await;
    assert_eq!(&ids[4..], std::slice::from_ref(&keep));
    let (e, status) = service_error(send!(c
        .get_deployment_strategy()
        .deployment_strategy_id(&gone)));
    assert_eq!(status, 404);
    assert_not_found_names!(e, GetDeploymentStrategyError, "DeploymentStrategy");
    let e = sdk_err!(c.delete_deployment_strategy().deployment_strategy_id(&gone));
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    let e = sdk_err!(c
        .update_deployment_strategy()
        .deployment_strategy_id(&gone)
        .description("x"));
    assert!(e.is_resource_not_found_exception(), "{e:?}");

    // The path the SDK used, seen on the wire: the correctly spelled one is not a DELETE route.
    let raw = raw_call(
        server.addr(),
        "DELETE",
        &format!("/deployementstrategies/{keep}"),
    );
    assert_eq!(raw.status, 204, "{raw:?}");
    let raw = raw_call(server.addr(), "DELETE", "/deploymentstrategies/abcd123");
    assert_eq!(raw.status, 400, "{raw:?}");
}

#[tokio::test]
async fn numeric_constraints_name_the_field_and_change_nothing() {
    let (_server, c) = Server::start_with_client();
    let id = create_strategy(&c, "existing").await;
    let before = all_strategy_ids(&c).await;

    let cases: [(f32, i32, Option<i32>, &str); 5] = [
        (0.5, 10, None, "growthFactor"),
        (100.5, 10, None, "growthFactor"),
        (10.0, 2000, None, "deploymentDurationInMinutes"),
        (10.0, -1, None, "deploymentDurationInMinutes"),
        (10.0, 10, Some(1441), "finalBakeTimeInMinutes"),
    ];
    for (factor, duration, bake, field) in cases {
        let (e, status) = service_error(send!(c
            .create_deployment_strategy()
            .name("bad")
            .growth_factor(factor)
            .deployment_duration_in_minutes(duration)
            .set_final_bake_time_in_minutes(bake)));
        assert_eq!(status, 400, "{field}");
        assert_matches!(e, CreateDeploymentStrategyError::BadRequestException(_));
        assert_names(&e, field);
    }
    assert_eq!(all_strategy_ids(&c).await, before);

    let e = sdk_err!(c
        .update_deployment_strategy()
        .deployment_strategy_id(&id)
        .description("should not stick")
        .growth_factor(0.5));
    assert_bad_field!(e, UpdateDeploymentStrategyError, "growthFactor");
    let got = send!(c.get_deployment_strategy().deployment_strategy_id(&id)).unwrap();
    assert_eq!(got.description(), None);
    assert_eq!(got.growth_factor(), Some(25.0));
}

#[tokio::test]
async fn enums_and_required_members_are_enforced() {
    let (_server, c) = Server::start_with_client();
    let e = sdk_err!(c
        .create_deployment_strategy()
        .name("quadratic")
        .deployment_duration_in_minutes(10)
        .growth_factor(10.0)
        .growth_type(GrowthType::from("QUADRATIC")));
    assert_bad_field!(e, CreateDeploymentStrategyError, "growthType");

    let e = sdk_err!(c
        .create_deployment_strategy()
        .name("no-factor")
        .deployment_duration_in_minutes(10));
    assert_bad_field!(e, CreateDeploymentStrategyError, "growthFactor");
    assert_eq!(all_strategy_ids(&c).await.len(), 4);
}

#[tokio::test]
async fn strategy_id_pattern_is_checked() {
    let (_server, c) = Server::start_with_client();
    let e = sdk_err!(c.get_deployment_strategy().deployment_strategy_id("ABC"));
    assert_bad_field!(e, GetDeploymentStrategyError, "deploymentStrategyId");
    let e = sdk_err!(c
        .get_deployment_strategy()
        .deployment_strategy_id("AppConfig.NoSuchStrategy"));
    assert_matches!(e, GetDeploymentStrategyError::ResourceNotFoundException(_));
    let e = sdk_err!(c
        .get_deployment_strategy()
        .deployment_strategy_id("abcd123"));
    assert_matches!(e, GetDeploymentStrategyError::ResourceNotFoundException(_));
}

#[tokio::test]
async fn custom_strategy_quota_ignores_predefined_ones() {
    let (_server, c) = Server::start_with_args_client(&["--quota-deployment-strategies", "2"]);
    create_strategy(&c, "one").await;
    create_strategy(&c, "two").await;
    let (e, status) = service_error(send!(c
        .create_deployment_strategy()
        .name("three")
        .deployment_duration_in_minutes(1)
        .growth_factor(10.0)));
    assert_eq!(status, 402);
    assert!(e.is_service_quota_exceeded_exception(), "{e:?}");
    assert_eq!(all_strategy_ids(&c).await.len(), 6);
}

#[tokio::test]
async fn unknown_ids_in_the_predefined_namespace_are_not_found() {
    let (_server, c) = Server::start_with_client();
    let id = "AppConfig.NoSuchStrategy";
    let e = sdk_err!(c.get_deployment_strategy().deployment_strategy_id(id));
    assert_matches!(e, GetDeploymentStrategyError::ResourceNotFoundException(_));
    let e = sdk_err!(c
        .update_deployment_strategy()
        .deployment_strategy_id(id)
        .description("x"));
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    let e = sdk_err!(c.delete_deployment_strategy().deployment_strategy_id(id));
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    let (_, status) = service_error(send!(c
        .list_tags_for_resource()
        .resource_arn(strategy_arn(id))));
    assert_eq!(status, 404);
    let (_, status) = service_error(send!(c
        .tag_resource()
        .resource_arn(strategy_arn(id))
        .tags("k", "v")));
    assert_eq!(status, 404);
}
