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
    deployments, environments as envs, experiments as exps, extension_associations as assocs,
    extensions as exts, hosted_versions as hosted, settings, tags, validate_configuration, Ctx,
    Service,
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

/// The table: each model operation and the domain function that answers it with its output
/// type. Blob outputs and the account settings read (no input) are written out below.
macro_rules! operations {
    ($svc:ident, $ctx:ident, $op:ident, $v:ident, $body:ident; $($name:literal => $handler:path,)*) => {
        match $op {
            $($name => json($handler($svc, $ctx, input($v)?).await),)*
            "CreateHostedConfigurationVersion" => with_payload(
                hosted::create_hosted_configuration_version($svc, $ctx, input($v)?, $body).await,
            ),
            "GetHostedConfigurationVersion" => with_payload(
                hosted::get_hosted_configuration_version($svc, $ctx, input($v)?).await,
            ),
            "GetAccountSettings" => json(settings::get_account_settings($svc, $ctx).await),
            // Routed and validated, built by later work (docs/compatibility.md lists which).
            other => Err(Error::NotImplemented(format!(
                "{other} is part of the AppConfig API but is not implemented by this appconfigd version yet."
            ))),
        }
    };
}

pub async fn dispatch(svc: &Service, ctx: &Ctx, op: &str, v: Value, body: Bytes) -> Result<Reply> {
    operations!(svc, ctx, op, v, body;
        // Applications
        "CreateApplication" => apps::create_application,
        "GetApplication" => apps::get_application,
        "UpdateApplication" => apps::update_application,
        "DeleteApplication" => apps::delete_application,
        "ListApplications" => apps::list_applications,
        // Environments
        "CreateEnvironment" => envs::create_environment,
        "GetEnvironment" => envs::get_environment,
        "UpdateEnvironment" => envs::update_environment,
        "DeleteEnvironment" => envs::delete_environment,
        "ListEnvironments" => envs::list_environments,
        // Configuration profiles
        "CreateConfigurationProfile" => profiles::create_configuration_profile,
        "GetConfigurationProfile" => profiles::get_configuration_profile,
        "UpdateConfigurationProfile" => profiles::update_configuration_profile,
        "DeleteConfigurationProfile" => profiles::delete_configuration_profile,
        "ListConfigurationProfiles" => profiles::list_configuration_profiles,
        "ValidateConfiguration" => validate_configuration::validate_configuration,
        // Hosted configuration versions (Create and Get answer a payload: see the macro)
        "DeleteHostedConfigurationVersion" => hosted::delete_hosted_configuration_version,
        "ListHostedConfigurationVersions" => hosted::list_hosted_configuration_versions,
        // Deployment strategies
        "CreateDeploymentStrategy" => strategies::create_deployment_strategy,
        "GetDeploymentStrategy" => strategies::get_deployment_strategy,
        "UpdateDeploymentStrategy" => strategies::update_deployment_strategy,
        "DeleteDeploymentStrategy" => strategies::delete_deployment_strategy,
        "ListDeploymentStrategies" => strategies::list_deployment_strategies,
        // Tags
        "TagResource" => tags::tag_resource,
        "UntagResource" => tags::untag_resource,
        "ListTagsForResource" => tags::list_tags_for_resource,
        // Account settings (GetAccountSettings takes no input: see the macro)
        "UpdateAccountSettings" => settings::update_account_settings,
        // Deployments
        "StartDeployment" => deployments::start_deployment,
        "GetDeployment" => deployments::get_deployment,
        "ListDeployments" => deployments::list_deployments,
        "StopDeployment" => deployments::stop_deployment,
        // Extensions
        "CreateExtension" => exts::create_extension,
        "GetExtension" => exts::get_extension,
        "UpdateExtension" => exts::update_extension,
        "DeleteExtension" => exts::delete_extension,
        "ListExtensions" => exts::list_extensions,
        // Extension associations
        "CreateExtensionAssociation" => assocs::create_extension_association,
        "GetExtensionAssociation" => assocs::get_extension_association,
        "UpdateExtensionAssociation" => assocs::update_extension_association,
        "DeleteExtensionAssociation" => assocs::delete_extension_association,
        "ListExtensionAssociations" => assocs::list_extension_associations,
        // Experiment definitions
        "CreateExperimentDefinition" => exps::create_experiment_definition,
        "GetExperimentDefinition" => exps::get_experiment_definition,
        "UpdateExperimentDefinition" => exps::update_experiment_definition,
        "DeleteExperimentDefinition" => exps::delete_experiment_definition,
        "ListExperimentDefinitions" => exps::list_experiment_definitions,
        // Experiment runs
        "StartExperimentRun" => exps::start_experiment_run,
        "GetExperimentRun" => exps::get_experiment_run,
        "UpdateExperimentRun" => exps::update_experiment_run,
        "StopExperimentRun" => exps::stop_experiment_run,
        "ListExperimentRuns" => exps::list_experiment_runs,
        "ListExperimentRunEvents" => exps::list_experiment_run_events,
    )
}
