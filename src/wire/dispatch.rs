//! The one table from model operation to domain handler. Read this to find the code of any
//! operation: `CreateApplication` → `domain::applications::create_application`, and so on.

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::output::Reply;
use crate::domain::error::{Error, Result};
use crate::domain::{
    applications as apps, configuration_profiles as profiles, deployment_strategies as strategies,
    deployments, environments as envs, extension_associations as assocs, extensions as exts,
    hosted_versions as hosted, settings, tags, validate_configuration, Ctx, Service,
};

/// Deserialises the validated input value into the handler's typed request.
fn input<T: DeserializeOwned>(value: Value) -> Result<T> {
    serde_json::from_value(value).map_err(|e| Error::bad_request(format!("Invalid request: {e}")))
}

/// A handler's output type, serialised once: the output renderer places its members.
fn json<T: Serialize>(v: Result<T>) -> Result<Reply> {
    Ok(Reply::json(
        serde_json::to_value(v?).map_err(Error::internal)?,
    ))
}

fn with_payload<T: Serialize>(v: Result<(T, Bytes)>) -> Result<Reply> {
    let (value, payload) = v?;
    Ok(Reply {
        value: serde_json::to_value(value).map_err(Error::internal)?,
        payload: Some(payload),
    })
}

pub async fn dispatch(svc: &Service, ctx: &Ctx, op: &str, v: Value, body: Bytes) -> Result<Reply> {
    match op {
        // Applications
        "CreateApplication" => json(apps::create_application(svc, ctx, input(v)?).await),
        "GetApplication" => json(apps::get_application(svc, ctx, input(v)?).await),
        "UpdateApplication" => json(apps::update_application(svc, ctx, input(v)?).await),
        "DeleteApplication" => json(apps::delete_application(svc, ctx, input(v)?).await),
        "ListApplications" => json(apps::list_applications(svc, ctx, input(v)?).await),
        // Environments
        "CreateEnvironment" => json(envs::create_environment(svc, ctx, input(v)?).await),
        "GetEnvironment" => json(envs::get_environment(svc, ctx, input(v)?).await),
        "UpdateEnvironment" => json(envs::update_environment(svc, ctx, input(v)?).await),
        "DeleteEnvironment" => json(envs::delete_environment(svc, ctx, input(v)?).await),
        "ListEnvironments" => json(envs::list_environments(svc, ctx, input(v)?).await),
        // Configuration profiles
        "CreateConfigurationProfile" => {
            json(profiles::create_configuration_profile(svc, ctx, input(v)?).await)
        }
        "GetConfigurationProfile" => {
            json(profiles::get_configuration_profile(svc, ctx, input(v)?).await)
        }
        "UpdateConfigurationProfile" => {
            json(profiles::update_configuration_profile(svc, ctx, input(v)?).await)
        }
        "DeleteConfigurationProfile" => {
            json(profiles::delete_configuration_profile(svc, ctx, input(v)?).await)
        }
        "ListConfigurationProfiles" => {
            json(profiles::list_configuration_profiles(svc, ctx, input(v)?).await)
        }
        "ValidateConfiguration" => {
            json(validate_configuration::validate_configuration(svc, ctx, input(v)?).await)
        }
        // Hosted configuration versions
        "CreateHostedConfigurationVersion" => with_payload(
            hosted::create_hosted_configuration_version(svc, ctx, input(v)?, body).await,
        ),
        "GetHostedConfigurationVersion" => {
            with_payload(hosted::get_hosted_configuration_version(svc, ctx, input(v)?).await)
        }
        "DeleteHostedConfigurationVersion" => {
            json(hosted::delete_hosted_configuration_version(svc, ctx, input(v)?).await)
        }
        "ListHostedConfigurationVersions" => {
            json(hosted::list_hosted_configuration_versions(svc, ctx, input(v)?).await)
        }
        // Deployment strategies
        "CreateDeploymentStrategy" => {
            json(strategies::create_deployment_strategy(svc, ctx, input(v)?).await)
        }
        "GetDeploymentStrategy" => json(strategies::get_deployment_strategy(svc, ctx, input(v)?).await),
        "UpdateDeploymentStrategy" => {
            json(strategies::update_deployment_strategy(svc, ctx, input(v)?).await)
        }
        "DeleteDeploymentStrategy" => {
            json(strategies::delete_deployment_strategy(svc, ctx, input(v)?).await)
        }
        "ListDeploymentStrategies" => {
            json(strategies::list_deployment_strategies(svc, ctx, input(v)?).await)
        }
        // Tags
        "TagResource" => json(tags::tag_resource(svc, ctx, input(v)?).await),
        "UntagResource" => json(tags::untag_resource(svc, ctx, input(v)?).await),
        "ListTagsForResource" => json(tags::list_tags_for_resource(svc, ctx, input(v)?).await),
        // Account settings
        "GetAccountSettings" => json(settings::get_account_settings(svc, ctx).await),
        "UpdateAccountSettings" => json(settings::update_account_settings(svc, ctx, input(v)?).await),
        // Deployments
        "StartDeployment" => json(deployments::start_deployment(svc, ctx, input(v)?).await),
        "GetDeployment" => json(deployments::get_deployment(svc, ctx, input(v)?).await),
        "ListDeployments" => json(deployments::list_deployments(svc, ctx, input(v)?).await),
        "StopDeployment" => json(deployments::stop_deployment(svc, ctx, input(v)?).await),
        // Extensions
        "CreateExtension" => json(exts::create_extension(svc, ctx, input(v)?).await),
        "GetExtension" => json(exts::get_extension(svc, ctx, input(v)?).await),
        "UpdateExtension" => json(exts::update_extension(svc, ctx, input(v)?).await),
        "DeleteExtension" => json(exts::delete_extension(svc, ctx, input(v)?).await),
        "ListExtensions" => json(exts::list_extensions(svc, ctx, input(v)?).await),
        // Extension associations
        "CreateExtensionAssociation" => {
            json(assocs::create_extension_association(svc, ctx, input(v)?).await)
        }
        "GetExtensionAssociation" => {
            json(assocs::get_extension_association(svc, ctx, input(v)?).await)
        }
        "UpdateExtensionAssociation" => {
            json(assocs::update_extension_association(svc, ctx, input(v)?).await)
        }
        "DeleteExtensionAssociation" => {
            json(assocs::delete_extension_association(svc, ctx, input(v)?).await)
        }
        "ListExtensionAssociations" => {
            json(assocs::list_extension_associations(svc, ctx, input(v)?).await)
        }
        // Routed and validated, built by later work (docs/compatibility.md lists which).
        other => Err(Error::NotImplemented(format!(
            "{other} is part of the AppConfig API but is not implemented by this appconfigd version yet."
        ))),
    }
}
