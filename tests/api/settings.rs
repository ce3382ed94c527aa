//! GetAccountSettings, UpdateAccountSettings.

use aws_sdk_appconfig::operation::update_account_settings::UpdateAccountSettingsError;
use aws_sdk_appconfig::types::DeletionProtectionSettings;
use aws_sdk_appconfig::Client;

use crate::harness::*;

async fn current(c: &Client) -> (Option<bool>, Option<i32>) {
    let out = c.get_account_settings().send().await.unwrap();
    let dp = out.deletion_protection().expect("DeletionProtection");
    (dp.enabled(), dp.protection_period_in_minutes())
}

fn settings(enabled: Option<bool>, period: Option<i32>) -> DeletionProtectionSettings {
    DeletionProtectionSettings::builder()
        .set_enabled(enabled)
        .set_protection_period_in_minutes(period)
        .build()
}

#[tokio::test]
async fn defaults_are_disabled_with_a_60_minute_period() {
    let (_server, c) = Server::start_with_client();
    assert_eq!(current(&c).await, (Some(false), Some(60)));
}

#[tokio::test]
async fn update_is_a_patch() {
    let (_server, c) = Server::start_with_client();

    let out = send!(c
        .update_account_settings()
        .deletion_protection(settings(Some(true), None)))
    .unwrap();
    let dp = out.deletion_protection().unwrap();
    assert_eq!(dp.enabled(), Some(true));
    assert_eq!(dp.protection_period_in_minutes(), Some(60), "period kept");
    assert_eq!(current(&c).await, (Some(true), Some(60)));

    let out = send!(c
        .update_account_settings()
        .deletion_protection(settings(None, Some(30))))
    .unwrap();
    let dp = out.deletion_protection().unwrap();
    assert_eq!(dp.enabled(), Some(true), "enabled kept");
    assert_eq!(dp.protection_period_in_minutes(), Some(30));

    // No DeletionProtection at all: nothing changes.
    let out = c.update_account_settings().send().await.unwrap();
    let dp = out.deletion_protection().unwrap();
    assert_eq!(
        (dp.enabled(), dp.protection_period_in_minutes()),
        (Some(true), Some(30))
    );

    let out = send!(c
        .update_account_settings()
        .deletion_protection(settings(Some(false), Some(1440))))
    .unwrap();
    let dp = out.deletion_protection().unwrap();
    assert_eq!(dp.enabled(), Some(false));
    assert_eq!(dp.protection_period_in_minutes(), Some(1440));
    assert_eq!(current(&c).await, (Some(false), Some(1440)));
}

#[tokio::test]
async fn protection_period_range_is_enforced_and_changes_nothing() {
    let (_server, c) = Server::start_with_client();
    send!(c
        .update_account_settings()
        .deletion_protection(settings(Some(true), Some(15))))
    .unwrap();
    for period in [14, 1441, 0, -5] {
        let (e, status) = service_error(send!(c
            .update_account_settings()
            .deletion_protection(settings(Some(false), Some(period)))));
        assert_eq!(status, 400, "{period}");
        assert_bad_field!(e, UpdateAccountSettingsError, "protectionPeriodInMinutes");
    }
    assert_eq!(current(&c).await, (Some(true), Some(15)));
}
