//! CreateApplication, GetApplication, UpdateApplication, DeleteApplication, ListApplications.

use aws_sdk_appconfig::operation::create_application::CreateApplicationError;
use aws_sdk_appconfig::operation::delete_application::DeleteApplicationError;
use aws_sdk_appconfig::operation::get_application::GetApplicationError;
use aws_sdk_appconfig::operation::update_application::UpdateApplicationError;

use crate::harness::*;

#[tokio::test]
async fn create_then_get_round_trips_every_member() {
    let (_server, c) = Server::start_with_client();
    let created = send!(c
        .create_application()
        .name("payments")
        .description("Payment service settings")
        .tags("team", "core"))
    .unwrap();
    let id = created.id().unwrap().to_string();
    assert_id(&id);
    assert_eq!(created.name(), Some("payments"));
    assert_eq!(created.description(), Some("Payment service settings"));

    let got = send!(c.get_application().application_id(&id)).unwrap();
    assert_eq!(got.id(), Some(id.as_str()));
    assert_eq!(got.name(), Some("payments"));
    assert_eq!(got.description(), Some("Payment service settings"));
    assert_eq!(
        tags_of(&c, &app_arn(&id)).await.get("team").unwrap(),
        "core"
    );
}

#[tokio::test]
async fn description_is_optional_and_names_need_not_be_unique() {
    let (_server, c) = Server::start_with_client();
    let a = c.create_application().name("same").send().await.unwrap();
    let b = c.create_application().name("same").send().await.unwrap();
    assert_eq!(a.description(), None);
    assert_ne!(a.id(), b.id());
    let listed = c.list_applications().send().await.unwrap();
    assert_eq!(listed.items().len(), 2);
    assert!(listed.items().iter().all(|x| x.name() == Some("same")));
    assert!(listed.next_token().is_none());
}

#[tokio::test]
async fn list_returns_applications_in_creation_order() {
    let (_server, c) = Server::start_with_client();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(create_app(&c, &format!("app-{i}")).await);
    }
    let out = c.list_applications().send().await.unwrap();
    let listed: Vec<_> = out.items().iter().map(|a| a.id().unwrap()).collect();
    assert_eq!(listed, ids);
    let names: Vec<_> = out.items().iter().map(|a| a.name().unwrap()).collect();
    assert_eq!(names, ["app-0", "app-1", "app-2", "app-3", "app-4"]);
}

#[tokio::test]
async fn update_is_a_patch() {
    let (_server, c) = Server::start_with_client();
    let id = create_app_described(&c, "before", "old description").await;

    // Only Description: Name stays.
    let out = send!(c
        .update_application()
        .application_id(&id)
        .description("new description"))
    .unwrap();
    assert_eq!(out.name(), Some("before"));
    assert_eq!(out.description(), Some("new description"));

    // Only Name: Description stays.
    let out = send!(c.update_application().application_id(&id).name("after")).unwrap();
    assert_eq!(out.name(), Some("after"));
    assert_eq!(out.description(), Some("new description"));

    // Nothing: nothing changes.
    let out = send!(c.update_application().application_id(&id)).unwrap();
    assert_eq!(out.name(), Some("after"));
    assert_eq!(out.description(), Some("new description"));

    assert_app(&c, &id, "after", Some("new description")).await;
}

#[tokio::test]
async fn update_of_unknown_application_is_not_found() {
    let (_server, c) = Server::start_with_client();
    let e = sdk_err!(c.update_application().application_id("abc1234").name("x"));
    assert_not_found_names!(e, UpdateApplicationError, "Application");
}

#[tokio::test]
async fn delete_removes_the_application() {
    let (_server, c) = Server::start_with_client();
    let keep = create_app(&c, "keep").await;
    let gone = create_app(&c, "gone").await;
    send!(c.delete_application().application_id(&gone)).unwrap();
    let e = err(c.get_application().application_id(&gone).send().await);
    assert_matches!(e, GetApplicationError::ResourceNotFoundException(_));
    let e = err(c.delete_application().application_id(&gone).send().await);
    assert_matches!(e, DeleteApplicationError::ResourceNotFoundException(_));
    assert_eq!(all_app_ids(&c).await, vec![keep]);
}

#[tokio::test]
async fn delete_refuses_while_environments_or_profiles_exist() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "parent").await;
    let env = create_env(&c, &app, "prod").await;

    let (e, status) = service_error(c.delete_application().application_id(&app).send().await);
    assert_eq!(status, 400);
    assert_matches!(e, DeleteApplicationError::BadRequestException(_));
    assert!(message(&e).contains("environments"), "{e:?}");
    // Nothing was removed.
    send!(c.get_application().application_id(&app)).unwrap();
    assert_eq!(all_env_ids(&c, &app).await, vec![env.clone()]);

    send!(c
        .delete_environment()
        .application_id(&app)
        .environment_id(&env))
    .unwrap();
    let profile = create_profile(&c, &app, "cfg").await;
    let e = err(c.delete_application().application_id(&app).send().await);
    assert_matches!(e, DeleteApplicationError::BadRequestException(_));
    assert!(message(&e).contains("configuration profiles"), "{e:?}");
    assert_eq!(all_profile_ids(&c, &app).await, vec![profile.clone()]);

    send!(c
        .delete_configuration_profile()
        .application_id(&app)
        .configuration_profile_id(&profile))
    .unwrap();
    send!(c.delete_application().application_id(&app)).unwrap();
    assert!(all_app_ids(&c).await.is_empty());
}

#[tokio::test]
async fn name_and_description_length_limits() {
    let (_server, c) = Server::start_with_client();
    // 64 is the longest name allowed.
    send!(c.create_application().name(chars('n', 64))).unwrap();
    let before = all_app_ids(&c).await;

    let (e, status) = service_error(c.create_application().name(chars('n', 65)).send().await);
    assert_eq!(status, 400);
    assert_bad_field!(e, CreateApplicationError, "name");

    let e = err(c.create_application().name("").send().await);
    assert_bad_field!(e, CreateApplicationError, "name");

    let e = sdk_err!(c
        .create_application()
        .name("ok")
        .description(chars('d', 1025)));
    assert_bad_field!(e, CreateApplicationError, "description");

    assert_eq!(
        all_app_ids(&c).await,
        before,
        "rejected creates changed nothing"
    );
}

#[tokio::test]
async fn rejected_update_changes_nothing() {
    let (_server, c) = Server::start_with_client();
    let id = create_app(&c, "stable").await;
    let req = c.update_application().application_id(&id);
    let e = sdk_err!(req.name(chars('x', 65)).description("would change"));
    assert_bad_field!(e, UpdateApplicationError, "name");
    assert_app(&c, &id, "stable", None).await;
}

#[tokio::test]
async fn malformed_application_id_is_a_bad_request() {
    let (_server, c) = Server::start_with_client();
    // The newest model types ApplicationId as a 1–64 character name (no ID pattern), so an
    // ID-shaped check is a 404 and only the length is malformed (docs/decisions.md).
    let (e, status) = service_error(c.get_application().application_id("ABC").send().await);
    assert_eq!(status, 404, "{e:?}");
    let (e, status) = service_error(send!(c.get_application().application_id("a".repeat(65))));
    assert_eq!(status, 400);
    assert_bad_field!(e, GetApplicationError, "applicationId");
}

#[tokio::test]
async fn reserved_tag_prefix_is_rejected_at_create() {
    let (_server, c) = Server::start_with_client();
    let req = c.create_application().name("tagged");
    let e = sdk_err!(req.tags("aws:owner", "me"));
    assert_matches!(e, CreateApplicationError::BadRequestException(_));
    assert!(message(&e).contains("aws:"), "{e:?}");
    assert!(all_app_ids(&c).await.is_empty());
}
