//! CreateExperimentDefinition, GetExperimentDefinition, UpdateExperimentDefinition,
//! DeleteExperimentDefinition, ListExperimentDefinitions.

use serde_json::{Map, Value};

use crate::api::appconfig::{
    self as api, CreateExperimentDefinitionRequest, DeleteExperimentDefinitionRequest,
    ExperimentDefinitionStatus as Status, GetExperimentDefinitionRequest,
    ListExperimentDefinitionsRequest, UpdateExperimentDefinitionRequest,
};
use crate::domain::clock::iso8601;
use crate::domain::configuration_profiles::ConfigurationProfile;
use crate::domain::error::{Error, Result};
use crate::domain::featureflags::{self, rules};
use crate::domain::hosted_versions::latest_version;
use crate::domain::{decode, encode, must_find, pagination, save, Ctx, Listed, Quota, Service};
use crate::store::{AttrFilter, Kind, ListQuery, Record, Tx};

use super::{flag_object, runs_parent, Definition};

/// Definitions per application (AWS publishes no number; generous, like its other quotas).
const DEFINITIONS_PER_APPLICATION: i64 = 100;

impl From<Definition> for api::ExperimentDefinition {
    fn from(d: Definition) -> Self {
        api::ExperimentDefinition {
            application_id: Some(d.application_id),
            id: Some(d.id),
            name: Some(d.name),
            hypothesis: d.hypothesis,
            status: Some(d.status),
            configuration_profile_id: Some(d.configuration_profile_id),
            environment_id: Some(d.environment_id),
            flag_key: Some(d.flag_key),
            audience_rule: Some(d.audience_rule),
            audience_description: d.audience_description,
            launch_criteria: d.launch_criteria,
            treatments: Some(d.treatments),
            control: Some(d.control),
            created_at: Some(d.created_at),
            updated_at: Some(d.updated_at),
            kms_key_identifier: d.kms_key_identifier,
        }
    }
}

impl From<Definition> for api::ExperimentDefinitionSummary {
    fn from(d: Definition) -> Self {
        api::ExperimentDefinitionSummary {
            application_id: Some(d.application_id),
            id: Some(d.id),
            name: Some(d.name),
            hypothesis: d.hypothesis,
            status: Some(d.status),
            configuration_profile_id: Some(d.configuration_profile_id),
            environment_id: Some(d.environment_id),
            flag_key: Some(d.flag_key),
            created_at: Some(d.created_at),
            updated_at: Some(d.updated_at),
        }
    }
}

impl Definition {
    /// What a run copies: the definition without status, timestamps and KMS key.
    pub fn snapshot(&self) -> api::ExperimentDefinitionSnapshot {
        api::ExperimentDefinitionSnapshot {
            application_id: Some(self.application_id.clone()),
            id: Some(self.id.clone()),
            name: Some(self.name.clone()),
            hypothesis: self.hypothesis.clone(),
            configuration_profile_id: Some(self.configuration_profile_id.clone()),
            environment_id: Some(self.environment_id.clone()),
            flag_key: Some(self.flag_key.clone()),
            audience_rule: Some(self.audience_rule.clone()),
            audience_description: self.audience_description.clone(),
            launch_criteria: self.launch_criteria.clone(),
            treatments: Some(self.treatments.clone()),
            control: Some(self.control.clone()),
        }
    }

    /// Every treatment key the definition has: `c`, `t1`, ….
    pub fn has_key(&self, key: &str) -> bool {
        self.control.key.as_deref() == Some(key)
            || self
                .treatments
                .iter()
                .any(|t| t.key.as_deref() == Some(key))
    }
}

/// The application named by an `ApplicationIdentifier` (id or name).
pub(super) async fn application(tx: &mut dyn Tx, ident: &str) -> Result<Record> {
    must_find(tx, Kind::Application, "", ident, "Application").await
}

/// The definition named by `ident` (id or name) in application `app_id`; `(record, body)`.
pub(super) async fn load(
    tx: &mut dyn Tx,
    app_id: &str,
    ident: &str,
) -> Result<(Record, Definition)> {
    let rec = must_find(
        tx,
        Kind::ExperimentDefinition,
        app_id,
        ident,
        "ExperimentDefinition",
    )
    .await?;
    let def = decode(&rec)?;
    Ok((rec, def))
}

/// Saves a definition, keeping the record's status filter in step with its body.
pub(super) async fn store(tx: &mut dyn Tx, rec: &mut Record, def: &Definition) -> Result<()> {
    rec.attr = Some(def.status.to_string());
    save(tx, rec, def).await
}

/// Checks the audience rule, the weights and the treatments' flag values against the flag's
/// definition, and gives the treatments their keys (`c`, then `t1`… in list order).
fn treatments(
    flag: &Value,
    flag_key: &str,
    control: api::TreatmentInput,
    treatments: Vec<api::TreatmentInput>,
) -> Result<(api::Treatment, Vec<api::Treatment>)> {
    let keyed = |key: String, t: api::TreatmentInput| api::Treatment {
        key: Some(key),
        weight: t.weight,
        description: t.description,
        flag_value: t.flag_value,
    };
    let control = keyed("c".into(), control);
    let treatments: Vec<api::Treatment> = treatments
        .into_iter()
        .enumerate()
        .map(|(i, t)| keyed(format!("t{}", i + 1), t))
        .collect();
    let total: f64 = std::iter::once(&control)
        .chain(&treatments)
        .map(|t| t.weight)
        .sum();
    if total.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) || !total.is_finite() {
        return Err(Error::bad_request(
            "The Weight of the Control and the Treatments must add up to more than 0.",
        ));
    }
    for t in std::iter::once(&control).chain(&treatments) {
        check_flag_value(flag, flag_key, t)?;
    }
    Ok((control, treatments))
}

/// A treatment's FlagValue must be a valid value of the flag: the flag's definition and that
/// value, checked by the same validator as a hosted feature-flag version.
fn check_flag_value(flag: &Value, flag_key: &str, t: &api::Treatment) -> Result<()> {
    let mut flags = Map::new();
    flags.insert(flag_key.to_string(), flag.clone());
    let mut values = Map::new();
    values.insert(
        flag_key.to_string(),
        Value::Object(flag_object(&t.flag_value)),
    );
    let document = serde_json::json!({"version": "1", "flags": flags, "values": values});
    let bytes = serde_json::to_vec(&document).map_err(Error::internal)?;
    featureflags::validate(&bytes).map_err(|details| {
        let key = t.key.as_deref().unwrap_or_default();
        Error::invalid_configuration(
            format!(
                "The FlagValue of treatment '{key}' is not a valid value of flag '{flag_key}'."
            ),
            details,
        )
    })
}

fn check_rule(rule: &str) -> Result<()> {
    rules::parse(rule)
        .map(|_| ())
        .map_err(|e| Error::bad_request(format!("AudienceRule is not a valid rule: {e}")))
}

/// The definition of `flag_key` in the newest version of feature-flag profile `profile`.
async fn flag_definition(
    tx: &mut dyn Tx,
    app_id: &str,
    profile_rec: &Record,
    flag_key: &str,
) -> Result<Value> {
    let profile: ConfigurationProfile = decode(profile_rec)?;
    if !profile.is_feature_flags() {
        return Err(Error::bad_request(format!(
            "ConfigurationProfile {} is not of type AWS.AppConfig.FeatureFlags; experiments test a feature flag.",
            profile_rec.id
        )));
    }
    let missing = || {
        Error::bad_request(format!(
            "FlagKey '{flag_key}' is not a flag of configuration profile {}.",
            profile_rec.id
        ))
    };
    let version = latest_version(tx, app_id, &profile_rec.id)
        .await?
        .ok_or_else(missing)?;
    let content = tx.get_content(&version.id).await?.unwrap_or_default();
    let document: Value = serde_json::from_slice(&content).unwrap_or_default();
    document["flags"].get(flag_key).cloned().ok_or_else(missing)
}

pub async fn create_experiment_definition(
    svc: &Service,
    ctx: &Ctx,
    input: CreateExperimentDefinitionRequest,
) -> Result<api::ExperimentDefinition> {
    let mut tx = svc.read(ctx).await?;
    let app = application(&mut *tx, &input.application_identifier).await?;
    drop(tx);
    let quota = Quota::application(
        Kind::ExperimentDefinition,
        &app.id,
        DEFINITIONS_PER_APPLICATION,
        "experiment definitions",
    );
    let (mut tx, tags) = svc.begin_create(ctx, input.tags, quota).await?;
    let env = must_find(
        &mut *tx,
        Kind::Environment,
        &app.id,
        &input.environment_identifier,
        "Environment",
    )
    .await?;
    let profile = must_find(
        &mut *tx,
        Kind::ConfigurationProfile,
        &app.id,
        &input.configuration_profile_identifier,
        "ConfigurationProfile",
    )
    .await?;
    let flag = flag_definition(&mut *tx, &app.id, &profile, &input.flag_key).await?;
    check_rule(&input.audience_rule)?;
    let (control, treatments) =
        treatments(&flag, &input.flag_key, input.control, input.treatments)?;
    if crate::domain::find_by_id_or_name(&mut *tx, Kind::ExperimentDefinition, &app.id, &input.name)
        .await?
        .is_some_and(|r| r.body["Name"].as_str() == Some(input.name.as_str()))
    {
        return Err(Error::Conflict(format!(
            "An experiment definition named '{}' already exists in application {}.",
            input.name, app.id
        )));
    }
    let now = iso8601(svc.clock.wall_millis());
    let profile_body: ConfigurationProfile = decode(&profile)?;
    let def = Definition {
        application_id: app.id.clone(),
        id: String::new(),
        name: input.name,
        hypothesis: input.hypothesis,
        status: Status::Idle,
        configuration_profile_id: profile.id.clone(),
        environment_id: env.id.clone(),
        flag_key: input.flag_key,
        audience_rule: input.audience_rule,
        audience_description: input.audience_description,
        launch_criteria: input.launch_criteria,
        treatments,
        control,
        created_at: now.clone(),
        updated_at: now,
        kms_key_identifier: profile_body.kms_key_identifier,
        running_run: None,
        runs: 0,
    };
    let mut rec = Record::new(
        Kind::ExperimentDefinition,
        "",
        app.id.clone(),
        encode(&def)?,
    );
    rec.attr = Some(Status::Idle.to_string());
    let rec = crate::domain::insert_and_commit(tx, rec, tags).await?;
    Ok(decode::<Definition>(&rec)?.into())
}

pub async fn get_experiment_definition(
    svc: &Service,
    ctx: &Ctx,
    input: GetExperimentDefinitionRequest,
) -> Result<api::ExperimentDefinition> {
    let mut tx = svc.read(ctx).await?;
    let app = application(&mut *tx, &input.application_identifier).await?;
    let (_, def) = load(&mut *tx, &app.id, &input.experiment_definition_identifier).await?;
    Ok(def.into())
}

pub async fn update_experiment_definition(
    svc: &Service,
    ctx: &Ctx,
    input: UpdateExperimentDefinitionRequest,
) -> Result<api::ExperimentDefinition> {
    let mut tx = svc.write(ctx).await?;
    let app = application(&mut *tx, &input.application_identifier).await?;
    let (mut rec, mut def) =
        load(&mut *tx, &app.id, &input.experiment_definition_identifier).await?;
    match def.status {
        Status::Active => {
            return Err(Error::Conflict(format!(
                "Experiment definition {} has a running experiment run ({}); stop it before updating the definition.",
                def.id,
                def.running_run.unwrap_or_default()
            )))
        }
        Status::Archived => {
            return Err(Error::bad_request(format!(
                "Experiment definition {} is archived and cannot be updated.",
                def.id
            )))
        }
        Status::Idle => {}
    }
    if let Some(rule) = input.audience_rule {
        check_rule(&rule)?;
        def.audience_rule = rule;
    }
    if input.control.is_some() || input.treatments.is_some() {
        let profile = must_find(
            &mut *tx,
            Kind::ConfigurationProfile,
            &app.id,
            &def.configuration_profile_id,
            "ConfigurationProfile",
        )
        .await?;
        let flag = flag_definition(&mut *tx, &app.id, &profile, &def.flag_key).await?;
        let unkeyed = |t: &api::Treatment| api::TreatmentInput {
            weight: t.weight,
            description: t.description.clone(),
            flag_value: t.flag_value.clone(),
        };
        let control = input.control.unwrap_or_else(|| unkeyed(&def.control));
        let list = input
            .treatments
            .unwrap_or_else(|| def.treatments.iter().map(unkeyed).collect());
        (def.control, def.treatments) = treatments(&flag, &def.flag_key, control, list)?;
    }
    if let Some(h) = input.hypothesis {
        def.hypothesis = Some(h);
    }
    if let Some(d) = input.audience_description {
        def.audience_description = Some(d);
    }
    if let Some(l) = input.launch_criteria {
        def.launch_criteria = Some(l);
    }
    def.updated_at = iso8601(svc.clock.wall_millis());
    store(&mut *tx, &mut rec, &def).await?;
    tx.commit().await?;
    Ok(def.into())
}

pub async fn delete_experiment_definition(
    svc: &Service,
    ctx: &Ctx,
    input: DeleteExperimentDefinitionRequest,
) -> Result<()> {
    let mut tx = svc.write(ctx).await?;
    let app = application(&mut *tx, &input.application_identifier).await?;
    let (mut rec, mut def) =
        load(&mut *tx, &app.id, &input.experiment_definition_identifier).await?;
    if def.status == Status::Active {
        return Err(Error::Conflict(format!(
            "Experiment definition {} has a running experiment run ({}); stop it before deleting the definition.",
            def.id,
            def.running_run.unwrap_or_default()
        )));
    }
    match input.delete_type.unwrap_or(api::DeleteType::Archive) {
        api::DeleteType::Archive => {
            if def.status != Status::Archived {
                def.status = Status::Archived;
                def.updated_at = iso8601(svc.clock.wall_millis());
                store(&mut *tx, &mut rec, &def).await?;
            }
        }
        api::DeleteType::Destroy => {
            // The runs (and with them their events and tags) go with the definition.
            let parent = runs_parent(&app.id, &def.id);
            loop {
                let runs = tx
                    .list(ListQuery {
                        kind: Kind::ExperimentRun,
                        parent: Some(&parent),
                        attr: None,
                        after_seq: 0,
                        limit: 200,
                        descending: false,
                    })
                    .await?;
                if runs.is_empty() {
                    break;
                }
                for r in runs {
                    tx.delete(Kind::ExperimentRun, &r.id).await?;
                }
            }
            tx.delete(Kind::ExperimentDefinition, &def.id).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// An environment or profile filter of ListExperimentDefinitions: matches the definition's id,
/// or the name of the resource it points at.
async fn matches(tx: &mut dyn Tx, kind: Kind, app_id: &str, id: &str, ident: &str) -> Result<bool> {
    if id == ident {
        return Ok(true);
    }
    Ok(tx
        .get(kind, id)
        .await?
        .filter(|r| r.parent == app_id)
        .is_some_and(|r| r.body["Name"].as_str() == Some(ident)))
}

pub async fn list_experiment_definitions(
    svc: &Service,
    ctx: &Ctx,
    input: ListExperimentDefinitionsRequest,
) -> Result<api::ExperimentDefinitions> {
    let mut tx = svc.read(ctx).await?;
    let app_id = match &input.application_identifier {
        Some(ident) => Some(application(&mut *tx, ident).await?.id),
        None => None,
    };
    let page = pagination::page(input.max_results, input.next_token.as_deref())?;
    let mut items: Vec<(i64, Definition)> = Vec::new();
    let mut after = page.after_seq;
    // Archived definitions are left out unless asked for by status, so a page may need more
    // than one read; each read is keyset, so the walk stays proportional to what it skips.
    'walk: loop {
        let rows = tx
            .list(ListQuery {
                kind: Kind::ExperimentDefinition,
                parent: app_id.as_deref(),
                attr: input.status.map(|s| AttrFilter::Equals(s.to_string())),
                after_seq: after,
                limit: page.limit + 1,
                descending: false,
            })
            .await?;
        let full = rows.len() as i64 == page.limit + 1;
        for r in &rows {
            after = r.seq;
            let def: Definition = decode(r)?;
            if input.status.is_none() && def.status == Status::Archived {
                continue;
            }
            if let Some(e) = &input.environment_identifier {
                if !matches(
                    &mut *tx,
                    Kind::Environment,
                    &def.application_id,
                    &def.environment_id,
                    e,
                )
                .await?
                {
                    continue;
                }
            }
            if let Some(p) = &input.configuration_profile_identifier {
                let (app, id) = (&def.application_id, &def.configuration_profile_id);
                if !matches(&mut *tx, Kind::ConfigurationProfile, app, id, p).await? {
                    continue;
                }
            }
            items.push((r.seq, def));
            if items.len() as i64 > page.limit {
                break 'walk;
            }
        }
        if !full {
            break;
        }
    }
    let (items, next_token) = pagination::finish(items, page.limit, |(seq, _)| *seq);
    let items = items.into_iter().map(|(_, d)| d.into()).collect();
    Ok(Listed { items, next_token }.into())
}
