//! ValidateConfiguration: runs a profile's validators against one of its hosted versions, or
//! against the given version of its external source (read now, outside any transaction).

use crate::api::appconfig::ValidateConfigurationRequest;

use super::configuration_profiles::load_profile;
use super::error::{Error, Result};
use super::hosted_versions::version_key;
use super::{sources, validation, Ctx, Service};

pub async fn validate_configuration(
    svc: &Service,
    ctx: &Ctx,
    input: ValidateConfigurationRequest,
) -> Result<()> {
    let (app_id, profile_id) = (input.application_id, input.configuration_profile_id);
    let version = input.configuration_version;
    let mut tx = svc.store.read(&ctx.account).await?;
    let (_, profile) = load_profile(&mut *tx, &app_id, &profile_id).await?;
    let content = match sources::external_source(&profile)? {
        Some(source) => {
            drop(tx);
            sources::fetch(svc, &profile, &source, &version)
                .await?
                .content
        }
        None => {
            let not_found = || Error::not_found("HostedConfigurationVersion", &version);
            let number: i64 = version.parse().map_err(|_| not_found())?;
            let content = tx
                .get_content(&version_key(&app_id, &profile_id, number))
                .await?
                .ok_or_else(not_found)?;
            drop(tx);
            content
        }
    };
    validation::validate_all(svc, &profile, &version, &content).await?;
    Ok(())
}
