//! StartExperimentRun, GetExperimentRun, UpdateExperimentRun, StopExperimentRun,
//! ListExperimentRuns, ListExperimentRunEvents.
//!
//! A start, an exposure or override change and a stop each write the run and its definition in
//! one transaction together with a `MANAGED` deployment of the flag's profile to the
//! definition's environment (the event's `AssociatedDeployment`), then tell every node's data
//! plane, which assigns treatments from the run it reloads.

use crate::api::appconfig::{
    self as api, ExperimentDefinitionStatus as DefinitionStatus,
    ExperimentRunEventType as EventType, ExperimentRunStatus as Status, GetExperimentRunRequest,
    ListExperimentRunEventsRequest, ListExperimentRunsRequest, StartExperimentRunRequest,
    StopExperimentRunRequest, UpdateExperimentRunRequest,
};
use crate::domain::clock::iso8601;
use crate::domain::deployments::prepare_managed;
use crate::domain::error::{Error, Result};
use crate::domain::{checked_tags, decode, encode, list_page, pagination, save, Change, Ctx};
use crate::domain::{Listed, Service, Tags};
use crate::store::{AttrFilter, Kind, Record, Tx};

use super::definitions::{application, load, store};
use super::{run_key, runs_parent, Definition, Run};

impl From<Run> for api::ExperimentRun {
    fn from(r: Run) -> Self {
        api::ExperimentRun {
            application_id: Some(r.application_id),
            experiment_definition_id: Some(r.experiment_definition_id),
            run: Some(r.run),
            description: r.description,
            status: Some(r.status),
            exposure_percentage: Some(r.exposure_percentage),
            treatment_overrides: r.treatment_overrides,
            result: r.result,
            started_at: Some(r.started_at),
            updated_at: Some(r.updated_at),
            ended_at: r.ended_at,
            experiment_definition_snapshot: Some(r.experiment_definition_snapshot),
        }
    }
}

impl From<Run> for api::ExperimentRunSummary {
    fn from(r: Run) -> Self {
        api::ExperimentRunSummary {
            experiment_definition_id: Some(r.experiment_definition_id),
            run: Some(r.run),
            description: r.description,
            status: Some(r.status),
            started_at: Some(r.started_at),
            updated_at: Some(r.updated_at),
            ended_at: r.ended_at,
        }
    }
}

impl Run {
    fn push_event(
        &mut self,
        event_type: EventType,
        description: Option<&str>,
        at: &str,
        arn: Option<&str>,
    ) {
        self.events.push(api::ExperimentRunEvent {
            description: description.map(str::to_string),
            associated_deployment: arn.map(str::to_string),
            event_type: Some(event_type),
            occurred_at: Some(at.to_string()),
            triggered_by: Some(api::TriggeredBy::User),
            exposure_percentage: Some(self.exposure_percentage),
            treatment_overrides: self.treatment_overrides.clone(),
        });
    }
}

/// Overrides may only name treatments the definition has (`c`, `t1`, …).
fn check_overrides(def: &Definition, overrides: &Option<api::TreatmentOverrides>) -> Result<()> {
    let Some(api::TreatmentOverrides::Inline(map)) = overrides else {
        return Ok(());
    };
    match map.iter().find(|(_, key)| !def.has_key(key)) {
        Some((entity, key)) => Err(Error::bad_request(format!(
            "TreatmentOverrides: entity '{entity}' is mapped to '{key}', which is not a treatment key of experiment definition {} (c, t1…t{}).",
            def.id,
            def.treatments.len()
        ))),
        None => Ok(()),
    }
}

/// The run `n` of a definition must still be running.
fn running(run: Option<Run>, def: &Definition) -> Result<Run> {
    let run = run.ok_or_else(|| Error::internal("run change without a run"))?;
    if run.status != Status::Running {
        return Err(Error::Conflict(format!(
            "Experiment run {} of experiment definition {} is {}; only a RUNNING run can be changed.",
            run.run, def.id, run.status
        )));
    }
    Ok(run)
}

/// What one run change is: which definition and run, the deployment it causes, and the new
/// run computed from the current definition and run. `apply` runs twice: first on a snapshot,
/// to refuse a bad request before extensions are called, then in the write transaction.
struct RunChange<'a, F> {
    application: &'a str,
    definition: &'a str,
    run: Option<i64>,
    /// `None`: nothing the data plane serves changes, so no deployment.
    deployment: Option<(&'a str, Option<api::DeploymentParameters>)>,
    tags: Tags,
    /// `apply(definition, run, now, deployment ARN)`; it updates the definition in place.
    apply: F,
}

async fn load_run(
    tx: &mut dyn Tx,
    app_id: &str,
    def: &Definition,
    n: i64,
) -> Result<(Record, Run)> {
    let missing = || Error::not_found("ExperimentRun", &n.to_string());
    let rec = tx
        .get(Kind::ExperimentRun, &run_key(&def.id, n))
        .await?
        .filter(|r| r.parent == runs_parent(app_id, &def.id))
        .ok_or_else(missing)?;
    let run = decode(&rec)?;
    Ok((rec, run))
}

async fn change<F>(svc: &Service, ctx: &Ctx, c: RunChange<'_, F>) -> Result<Run>
where
    F: Fn(&mut Definition, Option<Run>, &str, Option<&str>) -> Result<Run> + Send + Sync,
{
    let now = iso8601(svc.clock.wall_millis());
    // 1. Check on a snapshot (no extension is called for a request that cannot succeed).
    let mut tx = svc.read(ctx).await?;
    let app = application(&mut *tx, c.application).await?;
    let (_, mut def) = load(&mut *tx, &app.id, c.definition).await?;
    let run = match c.run {
        Some(n) => Some(load_run(&mut *tx, &app.id, &def, n).await?.1),
        None => None,
    };
    drop(tx);
    (c.apply)(&mut def.clone(), run, &now, None)?;
    // 2. PRE_START_DEPLOYMENT actions of the deployment it causes, outside any transaction.
    let mut managed = match c.deployment {
        Some((description, params)) => Some(
            prepare_managed(
                svc,
                ctx,
                &app.id,
                &def.environment_id,
                &def.configuration_profile_id,
                description,
                params,
            )
            .await?,
        ),
        None => None,
    };
    // 3. One transaction: the deployment, the run and the definition.
    let mut tx = svc.write(ctx).await?;
    let (mut def_rec, loaded) = load(&mut *tx, &app.id, &def.id).await?;
    def = loaded;
    let existing = match c.run {
        Some(n) => Some(load_run(&mut *tx, &app.id, &def, n).await?),
        None => None,
    };
    let arn = match managed.as_mut() {
        Some(m) => m.reserve(svc, ctx, &mut *tx).await?,
        None => None,
    };
    let (run_rec, old) = match existing {
        Some((rec, run)) => (Some(rec), Some(run)),
        None => (None, None),
    };
    let run = (c.apply)(&mut def, old, &now, arn.as_deref())?;
    store(&mut *tx, &mut def_rec, &def).await?;
    match run_rec {
        Some(mut rec) => {
            rec.attr = Some(run.status.to_string());
            save(&mut *tx, &mut rec, &run).await?;
        }
        None => {
            let key = run_key(&def.id, run.run);
            let mut rec = Record::new(
                Kind::ExperimentRun,
                key,
                runs_parent(&app.id, &def.id),
                encode(&run)?,
            );
            rec.attr = Some(run.status.to_string());
            rec.tags = c.tags;
            tx.insert(rec).await?;
        }
    }
    match managed {
        Some(m) => m.commit(svc, ctx, tx).await?,
        None => tx.commit().await?,
    }
    // Every node's data plane reloads the environment's entries (and with them this run).
    svc.changed(Change::Deployment {
        account: ctx.account.clone(),
        app_id: app.id.clone(),
        env_id: def.environment_id.clone(),
    });
    Ok(run)
}

pub async fn start_experiment_run(
    svc: &Service,
    ctx: &Ctx,
    input: StartExperimentRunRequest,
) -> Result<api::ExperimentRun> {
    let tags = checked_tags(input.tags)?;
    let overrides = input.treatment_overrides;
    let exposure = input.exposure_percentage.unwrap_or(0.0);
    let description = input.description;
    let apply = move |def: &mut Definition, _: Option<Run>, now: &str, arn: Option<&str>| {
        match def.status {
            DefinitionStatus::Active => {
                return Err(Error::Conflict(format!(
                    "Experiment definition {} already has a running experiment run ({}); stop it before starting another.",
                    def.id,
                    def.running_run.unwrap_or_default()
                )))
            }
            DefinitionStatus::Archived => {
                return Err(Error::Conflict(format!(
                    "Experiment definition {} is archived; runs cannot be started from it.",
                    def.id
                )))
            }
            DefinitionStatus::Idle => {}
        }
        check_overrides(def, &overrides)?;
        let n = def.runs + 1;
        def.runs = n;
        def.running_run = Some(n);
        def.status = DefinitionStatus::Active;
        def.updated_at = now.to_string();
        let mut run = Run {
            application_id: def.application_id.clone(),
            experiment_definition_id: def.id.clone(),
            run: n,
            description: description.clone(),
            status: Status::Running,
            exposure_percentage: exposure,
            treatment_overrides: overrides.clone(),
            result: None,
            started_at: now.to_string(),
            updated_at: now.to_string(),
            ended_at: None,
            experiment_definition_snapshot: def.snapshot(),
            events: Vec::new(),
        };
        run.push_event(
            EventType::RunStarted,
            Some("Experiment run started"),
            now,
            arn,
        );
        Ok(run)
    };
    let c = RunChange {
        application: &input.application_identifier,
        definition: &input.experiment_definition_identifier,
        run: None,
        deployment: Some(("Experiment run started", input.deployment_parameters)),
        tags,
        apply,
    };
    Ok(change(svc, ctx, c).await?.into())
}

pub async fn update_experiment_run(
    svc: &Service,
    ctx: &Ctx,
    input: UpdateExperimentRunRequest,
) -> Result<api::ExperimentRun> {
    // Only exposure and overrides change what clients are served.
    let serves = input.exposure_percentage.is_some() || input.treatment_overrides.is_some();
    let (exposure, overrides, description) = (
        input.exposure_percentage,
        input.treatment_overrides,
        input.description,
    );
    let apply = move |def: &mut Definition, run: Option<Run>, now: &str, arn: Option<&str>| {
        let mut run = running(run, def)?;
        check_overrides(def, &overrides)?;
        if let Some(d) = &description {
            run.description = Some(d.clone());
        }
        if let Some(e) = exposure.filter(|e| *e != run.exposure_percentage) {
            if e < run.exposure_percentage {
                return Err(Error::bad_request(format!(
                    "ExposurePercentage can only increase during a run: run {} is at {}, the request asks for {e}. Stop the run and start a new one to lower it.",
                    run.run, run.exposure_percentage
                )));
            }
            run.exposure_percentage = e;
            run.push_event(
                EventType::ExposureUpdated,
                Some("Experiment exposure updated"),
                now,
                arn,
            );
        }
        if let Some(o) = overrides
            .as_ref()
            .filter(|o| Some(*o) != run.treatment_overrides.as_ref())
        {
            run.treatment_overrides = Some(o.clone());
            run.push_event(
                EventType::OverridesUpdated,
                Some("Experiment treatment overrides updated"),
                now,
                arn,
            );
        }
        run.updated_at = now.to_string();
        Ok(run)
    };
    let c = RunChange {
        application: &input.application_identifier,
        definition: &input.experiment_definition_identifier,
        run: Some(input.run),
        deployment: serves.then_some(("Experiment run updated", input.deployment_parameters)),
        tags: Tags::new(),
        apply,
    };
    Ok(change(svc, ctx, c).await?.into())
}

pub async fn stop_experiment_run(
    svc: &Service,
    ctx: &Ctx,
    input: StopExperimentRunRequest,
) -> Result<api::ExperimentRun> {
    let result = input.result;
    let apply = move |def: &mut Definition, run: Option<Run>, now: &str, arn: Option<&str>| {
        let mut run = running(run, def)?;
        run.status = Status::Done;
        run.result = result.clone();
        run.updated_at = now.to_string();
        run.ended_at = Some(now.to_string());
        run.push_event(
            EventType::RunStopped,
            Some("Experiment run stopped"),
            now,
            arn,
        );
        if def.running_run == Some(run.run) {
            def.running_run = None;
            def.status = DefinitionStatus::Idle;
        }
        def.updated_at = now.to_string();
        Ok(run)
    };
    let c = RunChange {
        application: &input.application_identifier,
        definition: &input.experiment_definition_identifier,
        run: Some(input.run),
        deployment: Some(("Experiment run stopped", input.deployment_parameters)),
        tags: Tags::new(),
        apply,
    };
    Ok(change(svc, ctx, c).await?.into())
}

/// The run named by a Get/List…Events request, read in one snapshot.
async fn read_run(svc: &Service, ctx: &Ctx, app: &str, def: &str, n: i64) -> Result<Run> {
    let mut tx = svc.read(ctx).await?;
    let app = application(&mut *tx, app).await?;
    let (_, def) = load(&mut *tx, &app.id, def).await?;
    Ok(load_run(&mut *tx, &app.id, &def, n).await?.1)
}

pub async fn get_experiment_run(
    svc: &Service,
    ctx: &Ctx,
    input: GetExperimentRunRequest,
) -> Result<api::ExperimentRun> {
    let (app, def) = (
        &input.application_identifier,
        &input.experiment_definition_identifier,
    );
    Ok(read_run(svc, ctx, app, def, input.run).await?.into())
}

pub async fn list_experiment_runs(
    svc: &Service,
    ctx: &Ctx,
    input: ListExperimentRunsRequest,
) -> Result<api::ExperimentRuns> {
    let mut tx = svc.read(ctx).await?;
    let app = application(&mut *tx, &input.application_identifier).await?;
    let (_, def) = load(&mut *tx, &app.id, &input.experiment_definition_identifier).await?;
    let parent = runs_parent(&app.id, &def.id);
    let attr = input.status.map(|s| AttrFilter::Equals(s.to_string()));
    let item = |r: &Record| decode::<Run>(r).map(Into::into);
    let page = list_page(
        &mut *tx,
        Kind::ExperimentRun,
        Some(&parent),
        attr,
        input.max_results,
        input.next_token.as_deref(),
        item,
    )
    .await?;
    Ok(page.into())
}

pub async fn list_experiment_run_events(
    svc: &Service,
    ctx: &Ctx,
    input: ListExperimentRunEventsRequest,
) -> Result<api::ExperimentRunEvents> {
    let (app, def) = (
        &input.application_identifier,
        &input.experiment_definition_identifier,
    );
    let run = read_run(svc, ctx, app, def, input.run).await?;
    let page = pagination::page(input.max_results, input.next_token.as_deref())?;
    // Newest first; the token counts the events already returned.
    let skip = page.after_seq.max(0) as usize;
    let rows: Vec<(i64, api::ExperimentRunEvent)> = run
        .events
        .into_iter()
        .rev()
        .enumerate()
        .skip(skip)
        .take(page.limit as usize + 1)
        .map(|(i, e)| (i as i64 + 1, e))
        .collect();
    let (rows, next_token) = pagination::finish(rows, page.limit, |(seq, _)| *seq);
    let items = rows.into_iter().map(|(_, e)| e).collect();
    Ok(Listed { items, next_token }.into())
}
