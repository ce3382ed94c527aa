//! CreateEnvironment, GetEnvironment, UpdateEnvironment, DeleteEnvironment, ListEnvironments.

use std::time::Duration;

use aws_sdk_appconfig::client::Waiters;
use aws_sdk_appconfig::operation::create_environment::CreateEnvironmentError;
use aws_sdk_appconfig::operation::delete_environment::DeleteEnvironmentError;
use aws_sdk_appconfig::operation::get_environment::GetEnvironmentError;
use aws_sdk_appconfig::operation::list_environments::ListEnvironmentsError;
use aws_sdk_appconfig::operation::update_environment::UpdateEnvironmentError;
use aws_sdk_appconfig::types::Monitor;

use crate::harness::*;

const ALARM: &str = "arn:aws:cloudwatch:us-east-1:111122223333:alarm:high-errors";
const ROLE: &str = "arn:aws:iam::111122223333:role/appconfig-monitor";

fn monitor(alarm: &str, role: Option<&str>) -> Monitor {
    Monitor::builder()
        .alarm_arn(alarm)
        .set_alarm_role_arn(role.map(String::from))
        .build()
        .unwrap()
}

#[tokio::test]
async fn create_then_get_round_trips_every_member() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let created = send!(c
        .create_environment()
        .application_id(&app)
        .name("prod")
        .description("production")
        .monitors(monitor(ALARM, Some(ROLE)))
        .monitors(monitor(&format!("{ALARM}-2"), None))
        .tags("stage", "prod"))
    .unwrap();
    let id = created.id().unwrap().to_string();
    assert_id(&id);
    assert_eq!(created.application_id(), Some(app.as_str()));
    assert_eq!(created.name(), Some("prod"));
    assert_eq!(created.description(), Some("production"));
    // The service sends CamelCase environment states (the SDK waiter matches on them).
    assert_eq!(created.state().unwrap().as_str(), "ReadyForDeployment");
    assert_eq!(created.monitors().len(), 2);

    let got = send!(c.get_environment().application_id(&app).environment_id(&id)).unwrap();
    assert_eq!(got.id(), Some(id.as_str()));
    assert_eq!(got.application_id(), Some(app.as_str()));
    assert_eq!(got.name(), Some("prod"));
    assert_eq!(got.description(), Some("production"));
    assert_eq!(got.state().unwrap().as_str(), "ReadyForDeployment");
    let m = got.monitors();
    assert_eq!(m[0].alarm_arn(), ALARM);
    assert_eq!(m[0].alarm_role_arn(), Some(ROLE));
    assert_eq!(m[1].alarm_arn(), format!("{ALARM}-2"));
    assert_eq!(m[1].alarm_role_arn(), None);
    assert_eq!(
        tags_of(&c, &env_arn(&app, &id)).await.get("stage").unwrap(),
        "prod"
    );
}

#[tokio::test]
async fn sdk_waiter_environment_ready_for_deployment_succeeds() {
    let (_server, c) = Server::start_with_client();
    let (app, env) = app_and_env(&c).await;
    let waited = tokio::time::timeout(
        Duration::from_secs(10),
        c.wait_until_environment_ready_for_deployment()
            .application_id(&app)
            .environment_id(&env)
            .wait(Duration::from_secs(60)),
    )
    .await
    .expect("the waiter accepts the first response");
    waited.expect("environment is ReadyForDeployment");
}

#[tokio::test]
async fn create_in_unknown_application_is_not_found() {
    let (_server, c) = Server::start_with_client();
    let (e, status) = service_error(send!(c
        .create_environment()
        .application_id("abc1234")
        .name("prod")));
    assert_eq!(status, 404);
    assert_not_found_names!(e, CreateEnvironmentError, "Application");
}

#[tokio::test]
async fn environment_is_scoped_to_its_application() {
    let (_server, c) = Server::start_with_client();
    let a = create_app(&c, "a").await;
    let b = create_app(&c, "b").await;
    let env_a = create_env(&c, &a, "only-in-a").await;
    let env_b = create_env(&c, &b, "only-in-b").await;
    assert_eq!(all_env_ids(&c, &a).await, vec![env_a.clone()]);
    assert_eq!(all_env_ids(&c, &b).await, vec![env_b]);

    let e = sdk_err!(c
        .get_environment()
        .application_id(&b)
        .environment_id(&env_a));
    assert_not_found_names!(e, GetEnvironmentError, "Environment");
    let e = sdk_err!(c
        .delete_environment()
        .application_id(&b)
        .environment_id(&env_a));
    assert_matches!(e, DeleteEnvironmentError::ResourceNotFoundException(_));
    // Still there under its own application.
    send!(c
        .get_environment()
        .application_id(&a)
        .environment_id(&env_a))
    .unwrap();
}

#[tokio::test]
async fn update_is_a_patch_and_monitors_are_replaced_as_a_whole() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let env = send!(c
        .create_environment()
        .application_id(&app)
        .name("prod")
        .description("production")
        .monitors(monitor(ALARM, Some(ROLE))))
    .unwrap()
    .id()
    .unwrap()
    .to_string();

    let out = send!(c
        .update_environment()
        .application_id(&app)
        .environment_id(&env)
        .name("production"))
    .unwrap();
    assert_eq!(out.name(), Some("production"));
    assert_eq!(out.description(), Some("production"));
    assert_eq!(out.monitors().len(), 1, "omitted Monitors are kept");

    let out = send!(c
        .update_environment()
        .application_id(&app)
        .environment_id(&env)
        .description("changed")
        .monitors(monitor(
            "arn:aws:cloudwatch:us-east-1:111122223333:alarm:a",
            None,
        ))
        .monitors(monitor(
            "arn:aws:cloudwatch:us-east-1:111122223333:alarm:b",
            None,
        )))
    .unwrap();
    assert_eq!(out.name(), Some("production"));
    assert_eq!(out.description(), Some("changed"));
    let alarms: Vec<_> = out.monitors().iter().map(|m| m.alarm_arn()).collect();
    assert_eq!(
        alarms,
        [
            "arn:aws:cloudwatch:us-east-1:111122223333:alarm:a",
            "arn:aws:cloudwatch:us-east-1:111122223333:alarm:b"
        ]
    );

    // An explicitly empty list clears the monitors.
    let out = send!(c
        .update_environment()
        .application_id(&app)
        .environment_id(&env)
        .set_monitors(Some(vec![])))
    .unwrap();
    assert!(out.monitors().is_empty());

    let got = send!(c
        .get_environment()
        .application_id(&app)
        .environment_id(&env))
    .unwrap();
    assert_eq!(got.name(), Some("production"));
    assert_eq!(got.description(), Some("changed"));
    assert!(got.monitors().is_empty());
    assert_eq!(got.state().unwrap().as_str(), "ReadyForDeployment");
}

#[tokio::test]
async fn delete_removes_the_environment() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let keep = create_env(&c, &app, "keep").await;
    let gone = create_env(&c, &app, "gone").await;
    send!(c
        .delete_environment()
        .application_id(&app)
        .environment_id(&gone))
    .unwrap();
    assert_eq!(all_env_ids(&c, &app).await, vec![keep]);
    let e = sdk_err!(c
        .get_environment()
        .application_id(&app)
        .environment_id(&gone));
    assert_matches!(e, GetEnvironmentError::ResourceNotFoundException(_));
    let e = sdk_err!(c
        .delete_environment()
        .application_id(&app)
        .environment_id(&gone));
    assert_matches!(e, DeleteEnvironmentError::ResourceNotFoundException(_));
}

#[tokio::test]
async fn list_of_unknown_application_is_not_found() {
    let (_server, c) = Server::start_with_client();
    let e = err(c.list_environments().application_id("abc1234").send().await);
    assert_matches!(e, ListEnvironmentsError::ResourceNotFoundException(_));
}

#[tokio::test]
async fn monitor_constraints_are_enforced_and_change_nothing() {
    let (_server, c) = Server::start_with_client();
    let (app, env) = app_and_env(&c).await;

    // Six monitors: the model allows at most five.
    let mut req = c.create_environment().application_id(&app).name("many");
    for i in 0..6 {
        req = req.monitors(monitor(&format!("{ALARM}-{i}"), None));
    }
    let e = err(req.send().await);
    assert_bad_field!(e, CreateEnvironmentError, "monitors");

    // AlarmRoleArn must be an IAM role ARN.
    let e = sdk_err!(c
        .create_environment()
        .application_id(&app)
        .name("bad-role")
        .monitors(monitor(ALARM, Some("not-a-role-arn-at-all"))));
    assert_bad_field!(e, CreateEnvironmentError, "alarmRoleArn");
    assert_eq!(all_env_ids(&c, &app).await, vec![env.clone()]);

    let e = sdk_err!(c
        .update_environment()
        .application_id(&app)
        .environment_id(&env)
        .name(chars('e', 65)));
    assert_bad_field!(e, UpdateEnvironmentError, "name");
    let got = send!(c
        .get_environment()
        .application_id(&app)
        .environment_id(&env))
    .unwrap();
    assert_eq!(got.name(), Some("prod"));
}

#[tokio::test]
async fn malformed_environment_id_is_a_bad_request() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    // The newest model types EnvironmentId as a 1–64 character name: "ABC" is merely unknown.
    let e = sdk_err!(c
        .get_environment()
        .application_id(&app)
        .environment_id("ABC"));
    assert_matches!(e, GetEnvironmentError::ResourceNotFoundException(_));
    let e = sdk_err!(c
        .get_environment()
        .application_id(&app)
        .environment_id("a".repeat(65)));
    assert_bad_field!(e, GetEnvironmentError, "environmentId");
}

#[tokio::test]
async fn environment_quota_per_application() {
    let (_server, c) = Server::start_with_args_client(&["--quota-environments", "2"]);
    let app = create_app(&c, "app").await;
    let other = create_app(&c, "other").await;
    create_env(&c, &app, "one").await;
    create_env(&c, &app, "two").await;
    let (e, status) = service_error(send!(c
        .create_environment()
        .application_id(&app)
        .name("three")));
    assert_eq!(status, 402);
    assert_matches!(e, CreateEnvironmentError::ServiceQuotaExceededException(_));
    assert_eq!(all_env_ids(&c, &app).await.len(), 2);
    // The quota is per application.
    create_env(&c, &other, "one").await;
}
