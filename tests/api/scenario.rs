//! Scenario builders: the setup most tests share (application → environment → profile → hosted
//! version → strategy → deployment), a wait on a deployment's state, and extension plus
//! association setup, written once.
//!
//! ```ignore
//! let d = Scenario::new(&c).app("a").env("e").profile("p")
//!     .version(b"{}", "application/json").instant_strategy().deploy().await;
//! ```
#![allow(dead_code)]

use std::time::{Duration, Instant};

use aws_sdk_appconfig::operation::get_deployment::builders::GetDeploymentFluentBuilder;
use aws_sdk_appconfig::operation::get_deployment::GetDeploymentOutput;
use aws_sdk_appconfig::operation::list_deployments::builders::ListDeploymentsFluentBuilder;
use aws_sdk_appconfig::operation::start_deployment::builders::StartDeploymentFluentBuilder;
use aws_sdk_appconfig::operation::stop_deployment::builders::StopDeploymentFluentBuilder;
use aws_sdk_appconfig::types::{
    Action, ActionPoint, DeploymentState, GrowthType, ReplicateTo, Validator, ValidatorType,
};
use aws_sdk_appconfig::Client;

use crate::harness::{
    create_app, create_env, create_flags_profile, create_profile_with, create_version, send,
};

/// `$req` scoped to the application and environment of `$ids`.
macro_rules! in_env {
    ($ids:expr, $req:expr) => {
        $req.application_id(&$ids.app).environment_id(&$ids.env)
    };
}

/// An application with an environment and a hosted profile.
#[derive(Clone, Debug)]
pub struct Ids {
    pub app: String,
    pub env: String,
    pub profile: String,
}

impl Ids {
    /// StartDeployment of `version` of the profile to the environment with `strategy`.
    pub fn start_request(
        &self,
        c: &Client,
        strategy: &str,
        version: &str,
    ) -> StartDeploymentFluentBuilder {
        in_env!(self, c.start_deployment())
            .deployment_strategy_id(strategy)
            .configuration_profile_id(&self.profile)
            .configuration_version(version)
    }

    /// StartDeployment of `version`; the deployment number.
    pub async fn start(&self, c: &Client, strategy: &str, version: &str) -> i32 {
        self.start_request(c, strategy, version)
            .send()
            .await
            .expect("start deployment")
            .deployment_number()
    }

    pub fn get_request(&self, c: &Client, n: i32) -> GetDeploymentFluentBuilder {
        in_env!(self, c.get_deployment()).deployment_number(n)
    }

    pub async fn get(&self, c: &Client, n: i32) -> GetDeploymentOutput {
        self.get_request(c, n).send().await.expect("get deployment")
    }

    pub fn list_request(&self, c: &Client) -> ListDeploymentsFluentBuilder {
        in_env!(self, c.list_deployments())
    }

    /// True when the environment has no deployments.
    pub async fn no_deployments(&self, c: &Client) -> bool {
        self.list_request(c)
            .send()
            .await
            .unwrap()
            .items()
            .is_empty()
    }

    pub fn stop_request(&self, c: &Client, n: i32) -> StopDeploymentFluentBuilder {
        in_env!(self, c.stop_deployment()).deployment_number(n)
    }

    /// Polls GetDeployment (every `every`) until `done` holds; panics after `timeout`.
    pub async fn wait_for(
        &self,
        c: &Client,
        n: i32,
        timeout: Duration,
        every: Duration,
        what: &str,
        done: impl Fn(&GetDeploymentOutput) -> bool,
    ) -> GetDeploymentOutput {
        let deadline = Instant::now() + timeout;
        loop {
            let d = self.get(c, n).await;
            if done(&d) {
                return d;
            }
            if Instant::now() > deadline {
                panic!("timed out after {timeout:?} waiting for {what}: {d:#?}");
            }
            tokio::time::sleep(every).await;
        }
    }

    /// Polls until deployment `n` is in `state`.
    pub async fn wait_state(
        &self,
        c: &Client,
        n: i32,
        state: DeploymentState,
        timeout: Duration,
    ) -> GetDeploymentOutput {
        let what = format!("deployment {n} {state:?}");
        self.wait_for(c, n, timeout, Duration::from_millis(100), &what, |d| {
            d.state() == Some(&state)
        })
        .await
    }
}

/// A deployment strategy to create. `growth` and `replicate_none` unset leave GrowthType and
/// ReplicateTo out of the request.
#[derive(Clone, Debug)]
pub struct StrategySpec {
    pub name: String,
    pub duration: i32,
    pub growth: Option<GrowthType>,
    pub factor: f32,
    pub bake: i32,
    pub replicate_none: bool,
}

impl StrategySpec {
    /// Named `s-{duration}-{factor}-{bake}`, with ReplicateTo NONE.
    pub fn new(duration: i32, growth: GrowthType, factor: f32, bake: i32) -> StrategySpec {
        StrategySpec {
            name: format!("s-{duration}-{factor}-{bake}"),
            duration,
            growth: Some(growth),
            factor,
            bake,
            replicate_none: true,
        }
    }

    /// Only the members given: name, duration, growth factor and bake time.
    pub fn plain(name: &str, duration: i32, factor: f32, bake: i32) -> StrategySpec {
        StrategySpec {
            name: name.into(),
            duration,
            growth: None,
            factor,
            bake,
            replicate_none: false,
        }
    }

    /// Completes at once (duration 0, no bake).
    pub fn instant() -> StrategySpec {
        StrategySpec::new(0, GrowthType::Linear, 100.0, 0)
    }

    pub fn growth(mut self, growth: GrowthType) -> StrategySpec {
        self.growth = Some(growth);
        self
    }

    pub async fn create(&self, c: &Client) -> String {
        let replicate = Some(ReplicateTo::None).filter(|_| self.replicate_none);
        send!(c
            .create_deployment_strategy()
            .name(&self.name)
            .deployment_duration_in_minutes(self.duration)
            .set_growth_type(self.growth.clone())
            .growth_factor(self.factor)
            .final_bake_time_in_minutes(self.bake)
            .set_replicate_to(replicate))
        .expect("create strategy")
        .id()
        .expect("strategy id")
        .to_string()
    }
}

/// Builds application → environment → profile → versions → strategy → deployment.
pub struct Scenario<'c> {
    c: &'c Client,
    app: String,
    env: String,
    profile: String,
    validators: Vec<Validator>,
    versions: Vec<(Vec<u8>, String)>,
    strategy: Option<StrategySpec>,
    feature_flags: bool,
}

/// What `Scenario::deploy` made.
#[derive(Clone, Debug)]
pub struct Deployed {
    pub ids: Ids,
    pub strategy: String,
    pub number: i32,
}

impl<'c> Scenario<'c> {
    pub fn new(c: &'c Client) -> Scenario<'c> {
        Scenario {
            c,
            app: "app".into(),
            env: "env".into(),
            profile: "profile".into(),
            validators: Vec::new(),
            versions: Vec::new(),
            strategy: None,
            feature_flags: false,
        }
    }

    pub fn app(mut self, name: &str) -> Self {
        self.app = name.into();
        self
    }

    pub fn env(mut self, name: &str) -> Self {
        self.env = name.into();
        self
    }

    pub fn profile(mut self, name: &str) -> Self {
        self.profile = name.into();
        self
    }

    /// The profile is of type `AWS.AppConfig.FeatureFlags` (validators are not set on it).
    pub fn feature_flags(mut self) -> Self {
        self.feature_flags = true;
        self
    }

    /// A validator on the profile.
    pub fn validator(mut self, kind: ValidatorType, content: &str) -> Self {
        let v = Validator::builder().r#type(kind).content(content).build();
        self.validators.push(v.expect("validator"));
        self
    }

    /// A hosted version to create (versions are numbered in the order given).
    pub fn version(mut self, content: &[u8], content_type: &str) -> Self {
        self.versions.push((content.to_vec(), content_type.into()));
        self
    }

    pub fn strategy(mut self, spec: StrategySpec) -> Self {
        self.strategy = Some(spec);
        self
    }

    pub fn instant_strategy(self) -> Self {
        self.strategy(StrategySpec::instant())
    }

    /// Creates the application, environment, profile and versions.
    pub async fn build(&self) -> Ids {
        let c = self.c;
        let app = create_app(c, &self.app).await;
        let env = create_env(c, &app, &self.env).await;
        let validators = Some(self.validators.clone()).filter(|v| !v.is_empty());
        let profile = if self.feature_flags {
            create_flags_profile(c, &app, &self.profile).await
        } else {
            create_profile_with(c, &app, &self.profile, validators).await
        };
        for (content, content_type) in &self.versions {
            create_version(c, &app, &profile, content, content_type).await;
        }
        Ids { app, env, profile }
    }

    /// Builds, creates the strategy (instant unless given) and deploys the newest version.
    pub async fn deploy(self) -> Deployed {
        let ids = self.build().await;
        let spec = self.strategy.clone().unwrap_or_else(StrategySpec::instant);
        let strategy = spec.create(self.c).await;
        let version = self.versions.len().max(1).to_string();
        let number = ids.start(self.c, &strategy, &version).await;
        Deployed {
            ids,
            strategy,
            number,
        }
    }
}

/// A webhook action named `name` posting to `url`.
pub fn webhook_action(name: &str, url: &str) -> Action {
    Action::builder()
        .name(name)
        .description(format!("{name} action"))
        .uri(url)
        .role_arn("arn:aws:iam::000000000000:role/appconfig-extension")
        .build()
}

/// An extension whose every action point in `points` posts to `url`; returns its id.
pub async fn webhook_extension(
    c: &Client,
    name: &str,
    points: &[ActionPoint],
    url: &str,
) -> String {
    let mut req = c.create_extension().name(name);
    for p in points {
        req = req.actions(
            p.clone(),
            vec![webhook_action(&format!("{name}-{}", p.as_str()), url)],
        );
    }
    req.send()
        .await
        .expect("create webhook extension")
        .id()
        .unwrap()
        .to_string()
}

/// Associates extension `ext` with `resource` (with `params`); returns the association id.
pub async fn associate_with(
    c: &Client,
    ext: &str,
    resource: &str,
    params: &[(&str, &str)],
) -> String {
    let mut req = c
        .create_extension_association()
        .extension_identifier(ext)
        .resource_identifier(resource);
    for (k, v) in params {
        req = req.parameters(*k, *v);
    }
    req.send()
        .await
        .expect("create extension association")
        .id()
        .unwrap()
        .to_string()
}

/// A webhook extension on `points` posting to `url`, associated with `resource`; returns the
/// extension id.
pub async fn webhook_on(
    c: &Client,
    name: &str,
    points: &[ActionPoint],
    url: &str,
    resource: &str,
) -> String {
    let ext = webhook_extension(c, name, points, url).await;
    associate_with(c, &ext, resource, &[]).await;
    ext
}
