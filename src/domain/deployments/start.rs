//! StartDeployment: resolve everything in one snapshot, read an external source, run validators
//! and PRE_START_DEPLOYMENT actions outside any transaction, then create the deployment in one
//! transaction. The resolution (`Resolved`), the pre-actions and the creation (`Draft`) are
//! shared with MANAGED deployments (`managed`).

use std::collections::BTreeMap;

use crate::api::appconfig::{self as api, StartDeploymentRequest};

use super::persist::{persist, RecordWrite, Transition};
use super::types::{
    ActionPoint, DeploymentEventType, DeploymentState, DeploymentType, TriggeredBy,
};
use super::{latest_deployment, Deployment};
use crate::domain::clock::iso8601;
use crate::domain::configuration_profiles::{load_profile, ConfigurationProfile};
use crate::domain::deployment_strategies::Rollout;
use crate::domain::environments::Environment;
use crate::domain::error::{Error, Result};
use crate::domain::hosted_versions::{version_key, HostedConfigurationVersion};
use crate::domain::invocation::{self, ActionInvocation, Applied, EventContent, EventContext};
use crate::domain::{check_tags, decode, deployment_strategies, must_get, Tags};
use crate::domain::{sources, validation, Ctx, Service};
use crate::store::{Kind, ListQuery, Record, Tx};

/// Resolves `ConfigurationVersion` (a version number or a VersionLabel) to a hosted version.
async fn resolve_version(
    tx: &mut dyn Tx,
    app_id: &str,
    profile_id: &str,
    version: &str,
) -> Result<Record> {
    let not_found = || Error::not_found("HostedConfigurationVersion", version);
    if let Ok(n) = version.parse::<i64>() {
        if let Some(r) = tx
            .get(
                Kind::HostedConfigurationVersion,
                &version_key(app_id, profile_id, n),
            )
            .await?
        {
            return Ok(r);
        }
    }
    let parent = format!("{app_id}/{profile_id}");
    let rows = tx
        .list(ListQuery {
            kind: Kind::HostedConfigurationVersion,
            parent: Some(&parent),
            attr: Some(crate::store::AttrFilter::Equals(version.to_string())),
            after_seq: 0,
            limit: 1,
            descending: false,
        })
        .await?;
    rows.into_iter().next().ok_or_else(not_found)
}

/// Every dynamic parameter must address an applied extension that declares it Dynamic.
pub(super) fn check_dynamic(applied: &[Applied], dynamic: &BTreeMap<String, String>) -> Result<()> {
    for key in dynamic.keys() {
        let Some((reference, name)) = key.split_once('#') else {
            return Err(Error::bad_request(format!(
                "DynamicExtensionParameters key '{key}' must be '<extension>#<parameter>'."
            )));
        };
        let target = applied.iter().find(|a| a.matches_reference(reference)).ok_or_else(|| {
            Error::bad_request(format!(
                "DynamicExtensionParameters key '{key}': no extension '{reference}' is associated with this deployment."
            ))
        })?;
        match target.extension.parameters.get(name) {
            Some(p) if p.dynamic => {}
            _ => {
                return Err(Error::bad_request(format!(
                    "DynamicExtensionParameters key '{key}': extension {} has no dynamic parameter {name}.",
                    target.extension.id
                )))
            }
        }
    }
    Ok(())
}

/// What every new deployment is made of, read in one snapshot.
pub(super) struct Resolved {
    pub app_id: String,
    pub app_name: String,
    pub env_id: String,
    pub env: Environment,
    pub profile_id: String,
    pub profile: ConfigurationProfile,
    /// The extensions associated with the application, environment or profile.
    pub applied: Vec<Applied>,
}

impl Resolved {
    pub async fn load(
        svc: &Service,
        ctx: &Ctx,
        tx: &mut dyn Tx,
        app_id: &str,
        env_id: &str,
        profile_id: &str,
    ) -> Result<Resolved> {
        let app = crate::domain::load_application(tx, app_id).await?;
        let env_rec = must_get(tx, Kind::Environment, env_id, app_id, "Environment").await?;
        let (_, profile) = load_profile(tx, app_id, profile_id).await?;
        let applied =
            invocation::applied_extensions(svc, ctx, tx, app_id, Some(env_id), profile_id).await?;
        Ok(Resolved {
            app_id: app_id.to_string(),
            app_name: app.body["Name"].as_str().unwrap_or_default().to_string(),
            env_id: env_id.to_string(),
            env: decode(&env_rec)?,
            profile_id: profile_id.to_string(),
            profile,
            applied,
        })
    }

    /// In the transaction that creates the deployment (or checks before it): the environment
    /// still exists; the number of its newest deployment (0 if none) and whether that one is
    /// still in progress.
    pub async fn newest(&self, tx: &mut dyn Tx) -> Result<(i64, bool)> {
        must_get(
            tx,
            Kind::Environment,
            &self.env_id,
            &self.app_id,
            "Environment",
        )
        .await?;
        let newest = latest_deployment(tx, &self.app_id, &self.env_id).await?;
        Ok(newest.map_or((0, false), |d| (d.deployment_number, d.state.is_active())))
    }

    /// Takes the environment's next deployment number (in the creating transaction).
    pub async fn next_number(&self, tx: &mut dyn Tx) -> Result<i64> {
        let counter = format!("deployment:{}/{}", self.app_id, self.env_id);
        Ok(tx.next_counter(&counter).await?)
    }
}

/// The version a deployment serves.
pub(super) struct Version {
    /// ConfigurationVersion: a hosted version number, or what an external source was asked for.
    pub text: String,
    pub label: Option<String>,
    pub content_type: String,
}

/// A deployment about to be created: everything resolved, content read.
pub(super) struct Draft {
    pub resolved: Resolved,
    pub kind: DeploymentType,
    pub strategy_id: String,
    pub rollout: Rollout,
    pub description: Option<String>,
    pub kms_key_identifier: Option<String>,
    pub tags: Tags,
    pub dynamic: BTreeMap<String, String>,
    pub version: Version,
    pub content: Vec<u8>,
    /// The PRE_START_DEPLOYMENT invocations, for the DeploymentStarted event.
    pub pre_records: Vec<ActionInvocation>,
}

impl Draft {
    /// Runs the PRE_START_DEPLOYMENT actions (synchronous, outside any transaction; they may
    /// replace the content).
    pub async fn run_pre_actions(mut self, svc: &Service) -> Result<Draft> {
        let r = &self.resolved;
        let event_ctx = EventContext {
            application: (r.app_id.clone(), r.app_name.clone()),
            environment: Some((r.env_id.clone(), r.env.name.clone())),
            profile: (r.profile_id.clone(), r.profile.name.clone()),
            deployment_number: None,
            description: self.description.clone(),
            configuration_version: Some(self.version.text.clone()),
        };
        let pre_calls = invocation::calls_for(
            &r.applied,
            ActionPoint::PreStartDeployment,
            &event_ctx,
            &self.dynamic,
            Some(&EventContent {
                bytes: &self.content,
                content_type: &self.version.content_type,
            }),
        );
        let content = std::mem::take(&mut self.content);
        let (content, records) = invocation::run_pre_actions(svc, pre_calls, content).await?;
        self.content = content;
        self.pre_records = records;
        Ok(self)
    }

    /// Creates deployment `number` in `tx` and commits it with whatever else `tx` holds: the
    /// record, the content snapshot, the environment state, the first timer and the
    /// ON_DEPLOYMENT_START outbox entries.
    pub async fn create(
        self,
        svc: &Service,
        account: &str,
        tx: Box<dyn Tx>,
        number: i64,
    ) -> Result<Deployment> {
        let now = svc.clock.wall_millis();
        let r = self.resolved;
        let mut dep = Deployment {
            application_id: r.app_id,
            environment_id: r.env_id,
            deployment_strategy_id: self.strategy_id,
            configuration_profile_id: r.profile_id,
            deployment_number: number,
            configuration_name: r.profile.name,
            configuration_location_uri: r.profile.location_uri,
            configuration_version: self.version.text,
            description: self.description,
            rollout: self.rollout,
            state: DeploymentState::Deploying,
            event_log: Vec::new(),
            percentage_complete: 0.0,
            started_at: iso8601(now),
            completed_at: None,
            applied_extensions: r
                .applied
                .iter()
                .map(|a| a.applied_extension(&self.dynamic))
                .collect(),
            kms_key_arn: r.profile.kms_key_arn,
            kms_key_identifier: self.kms_key_identifier,
            version_label: self.version.label,
            started_at_ms: now,
            completed_at_ms: None,
            steps_done: 0,
            baking: false,
            applied: r.applied,
            dynamic: self.dynamic,
            application_name: r.app_name,
            environment_name: r.env.name,
            content_type: self.version.content_type,
            monitors: r.env.monitors,
            deployment_type: self.kind,
        };
        let start_calls = dep.calls(ActionPoint::OnDeploymentStart);
        let mut records = self.pre_records;
        records.extend(start_calls.iter().map(|c| c.record(None)));
        let by = match self.kind {
            DeploymentType::Managed => TriggeredBy::Appconfig,
            DeploymentType::User => TriggeredBy::User,
        };
        dep.push_event(
            DeploymentEventType::DeploymentStarted,
            by,
            "Deployment started".into(),
            now,
            records,
        );
        let t = Transition {
            write: RecordWrite::Create {
                tags: self.tags,
                content: &self.content,
            },
            before: None,
            calls: start_calls,
            next_due: now,
        };
        persist(svc, account, tx, &dep, t, now).await?;
        Ok(dep)
    }
}

/// StartDeployment may go ahead given the environment's newest deployment (number, in
/// progress) and the caller's LatestDeploymentNumber: a stale number, or a deployment in
/// progress, is a conflict.
fn check_start(env_id: &str, (newest, active): (i64, bool), expected: Option<i64>) -> Result<()> {
    if let Some(expected) = expected {
        if expected != newest {
            return Err(Error::Conflict(format!(
                "LatestDeploymentNumber {expected} does not match the latest deployment number {newest} of environment {env_id}."
            )));
        }
    }
    if active {
        return Err(Error::Conflict(format!(
            "Deployment number {newest} is in progress in environment {env_id}. Only one deployment can run in an environment at a time."
        )));
    }
    Ok(())
}

pub async fn start_deployment(
    svc: &Service,
    ctx: &Ctx,
    input: StartDeploymentRequest,
) -> Result<api::Deployment> {
    let tags = input.tags.unwrap_or_default();
    check_tags(&tags)?;
    let dynamic = input.dynamic_extension_parameters.unwrap_or_default();
    let expected = input.latest_deployment_number;
    let (app_id, env_id, profile_id) = (
        input.application_id.as_str(),
        input.environment_id.as_str(),
        input.configuration_profile_id.as_str(),
    );
    // 1. Resolve everything in one snapshot.
    let mut tx = svc.store.read(&ctx.account).await?;
    let resolved = Resolved::load(svc, ctx, &mut *tx, app_id, env_id, profile_id).await?;
    let external = sources::external_source(&resolved.profile)?;
    let strategy = deployment_strategies::find(&mut *tx, &input.deployment_strategy_id).await?;
    let hosted = match external {
        Some(_) => None,
        None => {
            let rec =
                resolve_version(&mut *tx, app_id, profile_id, &input.configuration_version).await?;
            let version: HostedConfigurationVersion = decode(&rec)?;
            let content = tx.get_content(&rec.id).await?.unwrap_or_default();
            Some((version, content))
        }
    };
    // Checked here too so that a doomed start invokes no extension.
    check_start(env_id, resolved.newest(&mut *tx).await?, expected)?;
    drop(tx);
    check_dynamic(&resolved.applied, &dynamic)?;

    // 2. An external source is read now, outside any transaction, for exactly the version
    //    asked; the deployment keeps those bytes (rollbacks never read the source again).
    let (version, content) = match (hosted, &external) {
        (Some((version, content)), _) => (
            Version {
                text: version.version_number.to_string(),
                label: version.version_label,
                content_type: version.content_type,
            },
            content,
        ),
        (None, Some(source)) => {
            let text = input.configuration_version.clone();
            let got = sources::fetch(svc, &resolved.profile, source, &text).await?;
            let version = Version {
                text,
                label: None,
                content_type: got.content_type,
            };
            (version, got.content)
        }
        (None, None) => return Err(Error::internal("hosted profile without a version")),
    };

    // 3. Validators, then PRE_START_DEPLOYMENT actions.
    validation::validate_all(svc, &resolved.profile, &version.text, &content).await?;
    let kms_key_identifier = input
        .kms_key_identifier
        .or(resolved.profile.kms_key_identifier.clone());
    let draft = Draft {
        resolved,
        kind: DeploymentType::User,
        strategy_id: strategy.id,
        rollout: strategy.rollout,
        description: input.description,
        kms_key_identifier,
        tags,
        dynamic,
        version,
        content,
        pre_records: Vec::new(),
    }
    .run_pre_actions(svc)
    .await?;

    // 4. Create it in one transaction, where LatestDeploymentNumber and the one-deployment-
    //    at-a-time rule are checked again (atomically with the creation).
    let mut tx = svc.store.write(&ctx.account).await?;
    check_start(env_id, draft.resolved.newest(&mut *tx).await?, expected)?;
    let number = draft.resolved.next_number(&mut *tx).await?;
    let dep = draft.create(svc, &ctx.account, tx, number).await?;
    Ok(dep.into())
}
