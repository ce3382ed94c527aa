//! CreateApplication, GetApplication, UpdateApplication, DeleteApplication, ListApplications.

use aws_sdk_appconfig::operation::create_application::CreateApplicationError;
use aws_sdk_appconfig::operation::delete_application::DeleteApplicationError;
use aws_sdk_appconfig::operation::get_application::GetApplicationError;
use aws_sdk_appconfig::operation::update_application::UpdateApplicationError;

use crate::harness::*;

#[tokio::test]
async fn create_then_get_round_trips_every_member() {
    let server = Server::start();
    let c = server.client();
    let created = c
        .create_application()
        .name("payments")
        .description("Payment service settings")
        .tags("team", "core")
        .send()
        .await
        .unwrap();
    let id = created.id().unwrap().to_string();
    assert_id(&id);
    assert_eq!(created.name(), Some("payments"));
    assert_eq!(created.description(), Some("Payment service settings"));

    let got = c
        .get_application()
        .application_id(&id)
        .send()
        .await
        .unwrap();
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
    let server = Server::start();
    let c = server.client();
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
    let server = Server::start();
    let c = server.client();
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
    let server = Server::start();
    let c = server.client();
    let id = c
        .create_application()
        .name("before")
        .description("old description")
        .send()
        .await
        .unwrap()
        .id()
        .unwrap()
        .to_string();

    // Only Description: Name stays.
    let out = c
        .update_application()
        .application_id(&id)
        .description("new description")
        .send()
        .await
        .unwrap();
    assert_eq!(out.name(), Some("before"));
    assert_eq!(out.description(), Some("new description"));

    // Only Name: Description stays.
    let out = c
        .update_application()
        .application_id(&id)
        .name("after")
        .send()
        .await
        .unwrap();
    assert_eq!(out.name(), Some("after"));
    assert_eq!(out.description(), Some("new description"));

    // Nothing: nothing changes.
    let out = c
        .update_application()
        .application_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(out.name(), Some("after"));
    assert_eq!(out.description(), Some("new description"));

    let got = c
        .get_application()
        .application_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.name(), Some("after"));
    assert_eq!(got.description(), Some("new description"));
}

#[tokio::test]
async fn update_of_unknown_application_is_not_found() {
    let server = Server::start();
    let c = server.client();
    let e = err(c
        .update_application()
        .application_id("abc1234")
        .name("x")
        .send()
        .await);
    match e {
        UpdateApplicationError::ResourceNotFoundException(nf) => {
            assert_eq!(nf.resource_name(), Some("Application"));
        }
        other => panic!("expected ResourceNotFoundException, got {other:?}"),
    }
}

#[tokio::test]
async fn delete_removes_the_application() {
    let server = Server::start();
    let c = server.client();
    let keep = create_app(&c, "keep").await;
    let gone = create_app(&c, "gone").await;
    c.delete_application()
        .application_id(&gone)
        .send()
        .await
        .unwrap();
    let e = err(c.get_application().application_id(&gone).send().await);
    assert!(
        matches!(e, GetApplicationError::ResourceNotFoundException(_)),
        "{e:?}"
    );
    let e = err(c.delete_application().application_id(&gone).send().await);
    assert!(
        matches!(e, DeleteApplicationError::ResourceNotFoundException(_)),
        "{e:?}"
    );
    assert_eq!(all_app_ids(&c).await, vec![keep]);
}

#[tokio::test]
async fn delete_refuses_while_environments_or_profiles_exist() {
    let server = Server::start();
    let c = server.client();
    let app = create_app(&c, "parent").await;
    let env = create_env(&c, &app, "prod").await;

    let (e, status) = service_error(c.delete_application().application_id(&app).send().await);
    assert_eq!(status, 400);
    assert!(
        matches!(e, DeleteApplicationError::BadRequestException(_)),
        "{e:?}"
    );
    assert!(message(&e).contains("environments"), "{e:?}");
    // Nothing was removed.
    c.get_application()
        .application_id(&app)
        .send()
        .await
        .unwrap();
    assert_eq!(all_env_ids(&c, &app).await, vec![env.clone()]);

    c.delete_environment()
        .application_id(&app)
        .environment_id(&env)
        .send()
        .await
        .unwrap();
    let profile = create_profile(&c, &app, "cfg").await;
    let e = err(c.delete_application().application_id(&app).send().await);
    assert!(
        matches!(e, DeleteApplicationError::BadRequestException(_)),
        "{e:?}"
    );
    assert!(message(&e).contains("configuration profiles"), "{e:?}");
    assert_eq!(all_profile_ids(&c, &app).await, vec![profile.clone()]);

    c.delete_configuration_profile()
        .application_id(&app)
        .configuration_profile_id(&profile)
        .send()
        .await
        .unwrap();
    c.delete_application()
        .application_id(&app)
        .send()
        .await
        .unwrap();
    assert!(all_app_ids(&c).await.is_empty());
}

#[tokio::test]
async fn name_and_description_length_limits() {
    let server = Server::start();
    let c = server.client();
    // 64 is the longest name allowed.
    c.create_application()
        .name(chars('n', 64))
        .send()
        .await
        .unwrap();
    let before = all_app_ids(&c).await;

    let (e, status) = service_error(c.create_application().name(chars('n', 65)).send().await);
    assert_eq!(status, 400);
    assert!(
        matches!(e, CreateApplicationError::BadRequestException(_)),
        "{e:?}"
    );
    assert_names(&e, "name");

    let e = err(c.create_application().name("").send().await);
    assert!(
        matches!(e, CreateApplicationError::BadRequestException(_)),
        "{e:?}"
    );
    assert_names(&e, "name");

    let e = err(c
        .create_application()
        .name("ok")
        .description(chars('d', 1025))
        .send()
        .await);
    assert!(
        matches!(e, CreateApplicationError::BadRequestException(_)),
        "{e:?}"
    );
    assert_names(&e, "description");

    assert_eq!(
        all_app_ids(&c).await,
        before,
        "rejected creates changed nothing"
    );
}

#[tokio::test]
async fn rejected_update_changes_nothing() {
    let server = Server::start();
    let c = server.client();
    let id = create_app(&c, "stable").await;
    let e = err(c
        .update_application()
        .application_id(&id)
        .name(chars('x', 65))
        .description("would change")
        .send()
        .await);
    assert!(
        matches!(e, UpdateApplicationError::BadRequestException(_)),
        "{e:?}"
    );
    assert_names(&e, "name");
    let got = c
        .get_application()
        .application_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.name(), Some("stable"));
    assert_eq!(got.description(), None);
}

#[tokio::test]
async fn malformed_application_id_is_a_bad_request() {
    let server = Server::start();
    let c = server.client();
    // The newest model types ApplicationId as a 1–64 character name (no ID pattern), so an
    // ID-shaped check is a 404 and only the length is malformed (docs/decisions.md).
    let (e, status) = service_error(c.get_application().application_id("ABC").send().await);
    assert_eq!(status, 404, "{e:?}");
    let (e, status) = service_error(
        c.get_application()
            .application_id("a".repeat(65))
            .send()
            .await,
    );
    assert_eq!(status, 400);
    assert!(
        matches!(e, GetApplicationError::BadRequestException(_)),
        "{e:?}"
    );
    assert_names(&e, "applicationId");
}

#[tokio::test]
async fn reserved_tag_prefix_is_rejected_at_create() {
    let server = Server::start();
    let c = server.client();
    let e = err(c
        .create_application()
        .name("tagged")
        .tags("aws:owner", "me")
        .send()
        .await);
    assert!(
        matches!(e, CreateApplicationError::BadRequestException(_)),
        "{e:?}"
    );
    assert!(message(&e).contains("aws:"), "{e:?}");
    assert!(all_app_ids(&c).await.is_empty());
}
