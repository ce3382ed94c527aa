//! Account settings: GetAccountSettings, UpdateAccountSettings.

use crate::api::appconfig::{self as api, UpdateAccountSettingsRequest};
use serde::{Deserialize, Serialize};

use super::error::Result;
use super::Service;
use super::{decode, encode, Ctx};
use crate::store::{Kind, Record, Tx};

const ID: &str = "account";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeletionProtectionSettings {
    pub enabled: Option<bool>,
    pub protection_period_in_minutes: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountSettings {
    pub deletion_protection: DeletionProtectionSettings,
    /// Experiment treatment counts (off until the account opts in, as in AWS).
    #[serde(default)]
    pub vended_metrics: VendedMetricsSettings,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VendedMetricsSettings {
    pub enabled: bool,
}

impl From<AccountSettings> for api::AccountSettings {
    fn from(s: AccountSettings) -> Self {
        let dp = s.deletion_protection;
        api::AccountSettings {
            deletion_protection: Some(api::DeletionProtectionSettings {
                enabled: dp.enabled,
                protection_period_in_minutes: dp.protection_period_in_minutes,
            }),
            vended_metrics: Some(api::VendedMetricsSettings {
                enabled: Some(s.vended_metrics.enabled),
            }),
        }
    }
}

impl Default for AccountSettings {
    /// AWS defaults: deletion protection off, 60-minute protection period.
    fn default() -> Self {
        AccountSettings {
            deletion_protection: DeletionProtectionSettings {
                enabled: Some(false),
                protection_period_in_minutes: Some(60),
            },
            vended_metrics: VendedMetricsSettings::default(),
        }
    }
}

pub async fn load(tx: &mut dyn Tx) -> Result<AccountSettings> {
    match tx.get(Kind::AccountSettings, ID).await? {
        Some(rec) => decode(&rec),
        None => Ok(AccountSettings::default()),
    }
}

pub async fn get_account_settings(svc: &Service, ctx: &Ctx) -> Result<api::AccountSettings> {
    let mut tx = svc.read(ctx).await?;
    Ok(load(&mut *tx).await?.into())
}

pub async fn update_account_settings(
    svc: &Service,
    ctx: &Ctx,
    input: UpdateAccountSettingsRequest,
) -> Result<api::AccountSettings> {
    let mut tx = svc.write(ctx).await?;
    let existing = tx.get(Kind::AccountSettings, ID).await?;
    let mut settings = match &existing {
        Some(rec) => decode(rec)?,
        None => AccountSettings::default(),
    };
    if let Some(dp) = input.deletion_protection {
        if let Some(e) = dp.enabled {
            settings.deletion_protection.enabled = Some(e);
        }
        if let Some(p) = dp.protection_period_in_minutes {
            settings.deletion_protection.protection_period_in_minutes = Some(p);
        }
    }
    if let Some(enabled) = input.vended_metrics.and_then(|v| v.enabled) {
        settings.vended_metrics.enabled = enabled;
    }
    let body = encode(&settings)?;
    match existing {
        Some(mut rec) => {
            rec.body = body;
            tx.update(&rec).await?;
        }
        None => {
            tx.insert(Record::new(Kind::AccountSettings, ID, "", body))
                .await?;
        }
    }
    tx.commit().await?;
    // The data plane keeps whether treatments are counted beside each served entry.
    svc.changed(super::Change::Resources {
        account: ctx.account.clone(),
    });
    Ok(settings.into())
}

/// Whether the account counts the experiment treatments it serves (`VendedMetrics`).
pub async fn vended_metrics_enabled(tx: &mut dyn Tx) -> Result<bool> {
    Ok(load(tx).await?.vended_metrics.enabled)
}

/// Deletion protection (AWS semantics): when on, an environment or profile read by the data
/// plane within the protection period cannot be deleted, unless it is less than an hour old.
/// The `x-amzn-deletion-protection-check` header overrides: BYPASS skips the check, APPLY
/// checks even if protection is off and includes new resources. Periods follow --time-scale.
pub async fn check_deletion_protection(
    svc: &Service,
    tx: &mut dyn Tx,
    what: &str,
    usage_id: &str,
    created_at: i64,
    header: Option<&str>,
) -> Result<()> {
    let mode = header.unwrap_or("ACCOUNT_DEFAULT");
    if mode == "BYPASS" {
        return Ok(());
    }
    let settings = load(tx).await?;
    let enabled = settings.deletion_protection.enabled.unwrap_or(false);
    if !enabled && mode != "APPLY" {
        return Ok(());
    }
    let scale = svc.settings.time_scale;
    let now = svc.clock.wall_millis();
    let scaled = |ms: i64| (ms as f64 / scale) as i64;
    if mode != "APPLY" && now - created_at < scaled(3_600_000) {
        return Ok(());
    }
    let minutes = settings
        .deletion_protection
        .protection_period_in_minutes
        .unwrap_or(60);
    let Some(usage) = tx.get(Kind::Usage, usage_id).await? else {
        return Ok(());
    };
    let last = usage.body["LastReadAt"].as_i64().unwrap_or(0);
    if now - last < scaled(minutes * 60_000) {
        return Err(super::error::Error::Conflict(format!(
            "Deletion protection is on: {what} was read by a client within the last {minutes} minutes. Retry later, or delete with the x-amzn-deletion-protection-check header set to BYPASS."
        )));
    }
    Ok(())
}
