//! Domain logic in-process, without HTTP: the operations called directly on a `Service` over a
//! fresh store (SQLite, or PostgreSQL with `APPCONFIGD_TEST_BACKEND=postgres`), with a manual
//! clock and no extension targets. The SDK suites in `tests/api` cover the wire.

mod common;

use std::sync::Arc;

use appconfigd::api::appconfig::{
    CreateApplicationRequest, CreateConfigurationProfileRequest, GetApplicationRequest,
    UpdateApplicationRequest,
};
use appconfigd::domain::clock::ManualClock;
use appconfigd::domain::error::Error;
use appconfigd::domain::hosted_versions::{
    create_hosted_configuration_version, CreateHostedConfigurationVersionRequest,
};
use appconfigd::domain::invocation::NoInvoker;
use appconfigd::domain::sources::NoSources;
use appconfigd::domain::{
    applications, configuration_profiles, Change, ChangeFeed, Ctx, Quotas, Service, Settings,
};
use bytes::Bytes;

fn service(store: appconfigd::store::DynStore, quotas: Quotas) -> Service {
    Service {
        store,
        clock: Arc::new(ManualClock::new(1_700_000_000_000)),
        settings: Arc::new(Settings {
            region: "us-east-1".into(),
            quotas,
            time_scale: 1.0,
        }),
        invoker: Arc::new(NoInvoker),
        sources: Arc::new(NoSources),
        wake: Arc::new(tokio::sync::Notify::new()),
        changes: ChangeFeed::new(None),
    }
}

fn ctx() -> Ctx {
    Ctx {
        account: "111111111111".into(),
    }
}

async fn create_app(svc: &Service, name: &str) -> Result<String, Error> {
    let out = applications::create_application(
        svc,
        &ctx(),
        CreateApplicationRequest {
            name: name.into(),
            description: None,
            tags: None,
        },
    )
    .await?;
    Ok(out.id.unwrap_or_default())
}

#[tokio::test]
async fn the_application_quota_is_exact_and_leaves_nothing_behind() {
    let f = common::fresh().await;
    let quotas = Quotas {
        applications: 2,
        ..Quotas::default()
    };
    let svc = service(f.store.clone(), quotas);
    create_app(&svc, "a").await.unwrap();
    create_app(&svc, "b").await.unwrap();
    let e = create_app(&svc, "c").await.unwrap_err();
    assert!(matches!(e, Error::ServiceQuotaExceeded(_)), "{e:?}");
    let mut tx = f.store.read("111111111111").await.unwrap();
    let n = tx
        .count(appconfigd::store::Kind::Application, None)
        .await
        .unwrap();
    assert_eq!(n, 2);
}

#[tokio::test]
async fn changes_are_published_by_the_domain_for_what_changed_only() {
    let f = common::fresh().await;
    let svc = service(f.store.clone(), Quotas::default());
    let mut feed = svc.changes.subscribe();
    let id = create_app(&svc, "a").await.unwrap();
    applications::get_application(
        &svc,
        &ctx(),
        GetApplicationRequest {
            application_id: id.clone(),
        },
    )
    .await
    .unwrap();
    assert!(
        feed.try_recv().is_err(),
        "creating and reading publish nothing"
    );
    applications::update_application(
        &svc,
        &ctx(),
        UpdateApplicationRequest {
            application_id: id.clone(),
            name: Some("renamed".into()),
            description: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        feed.try_recv().unwrap(),
        Change::Application {
            account: "111111111111".into(),
            app_id: id
        }
    );
}

#[tokio::test]
async fn hosted_versions_count_up_and_the_optimistic_lock_is_checked() {
    let f = common::fresh().await;
    let svc = service(f.store.clone(), Quotas::default());
    let app = create_app(&svc, "a").await.unwrap();
    let profile = configuration_profiles::create_configuration_profile(
        &svc,
        &ctx(),
        CreateConfigurationProfileRequest {
            application_id: app.clone(),
            name: "p".into(),
            description: None,
            location_uri: "hosted".into(),
            retrieval_role_arn: None,
            validators: None,
            tags: None,
            r#type: None,
            kms_key_identifier: None,
        },
    )
    .await
    .unwrap()
    .id
    .unwrap_or_default();
    let caller = ctx();
    let create = |latest: Option<i64>| {
        create_hosted_configuration_version(
            &svc,
            &caller,
            CreateHostedConfigurationVersionRequest {
                application_id: app.clone(),
                configuration_profile_id: profile.clone(),
                description: None,
                content_type: "application/json".into(),
                latest_version_number: latest,
                version_label: None,
            },
            Bytes::from_static(b"{}"),
        )
    };
    for n in 1..=3 {
        let (v, _) = create(None).await.unwrap();
        assert_eq!(v.version_number, Some(n));
    }
    let e = create(Some(2)).await.unwrap_err();
    assert!(matches!(e, Error::Conflict(_)), "{e:?}");
    let (v, _) = create(Some(3)).await.unwrap();
    assert_eq!(v.version_number, Some(4));
}
