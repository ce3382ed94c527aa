//! Account settings: GetAccountSettings, UpdateAccountSettings.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::Result;
use super::{decode, encode, Ctx, Service};
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
}

impl Default for AccountSettings {
    /// AWS defaults: deletion protection off, 60-minute protection period.
    fn default() -> Self {
        AccountSettings {
            deletion_protection: DeletionProtectionSettings {
                enabled: Some(false),
                protection_period_in_minutes: Some(60),
            },
        }
    }
}

pub async fn load(tx: &mut dyn Tx) -> Result<AccountSettings> {
    match tx.get(Kind::AccountSettings, ID).await? {
        Some(rec) => decode(&rec),
        None => Ok(AccountSettings::default()),
    }
}

pub async fn get_account_settings(svc: &Service, ctx: &Ctx) -> Result<Value> {
    let mut tx = svc.store.read(&ctx.account).await?;
    encode(&load(&mut *tx).await?)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateAccountSettingsRequest {
    pub deletion_protection: Option<DeletionProtectionSettings>,
}

pub async fn update_account_settings(
    svc: &Service,
    ctx: &Ctx,
    input: UpdateAccountSettingsRequest,
) -> Result<Value> {
    let mut tx = svc.store.write(&ctx.account).await?;
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
    let body = encode(&settings)?;
    match existing {
        Some(mut rec) => {
            rec.body = body.clone();
            tx.update(&rec).await?;
        }
        None => {
            tx.insert(Record::new(Kind::AccountSettings, ID, "", body.clone()))
                .await?;
        }
    }
    tx.commit().await?;
    Ok(body)
}
