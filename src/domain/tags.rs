//! Tags: TagResource, UntagResource, ListTagsForResource. A tag operation names its resource by
//! ARN; the ARN is resolved to the stored record, whose tags are kept beside its body.

use crate::api::appconfig::{
    ListTagsForResourceRequest, ResourceTags, TagResourceRequest, UntagResourceRequest,
};

use super::error::{appconfig_arn, Error, Result};
use super::{check_tags, Ctx, Service};
use crate::store::{Kind, Record, Tx};

/// Where an ARN points: the record's kind, id and expected parent.
struct Target {
    kind: Kind,
    id: String,
    parent: String,
    what: &'static str,
}

fn resolve(svc: &Service, ctx: &Ctx, arn: &str) -> Result<Option<Target>> {
    let malformed = format!("The ARN '{arn}' is not a valid AppConfig resource ARN.");
    let p = appconfig_arn(arn, &malformed)?;
    let not_found = || Error::arn_not_found(arn);
    // AWS-owned resources have an empty account field; recognise them before the account check.
    if let ["extension", x, _] = p.resource.as_slice() {
        if x.starts_with("AWS.") && p.account.is_empty() {
            return Ok(None);
        }
    }
    if p.region != svc.settings.region || p.account != ctx.account {
        return Err(not_found());
    }
    let t = |kind, id: &str, parent: String, what| Target {
        kind,
        id: id.to_string(),
        parent,
        what,
    };
    Ok(Some(match p.resource.as_slice() {
        ["application", a] => t(Kind::Application, a, String::new(), "Application"),
        ["application", a, "environment", e] => {
            t(Kind::Environment, e, a.to_string(), "Environment")
        }
        ["application", a, "configurationprofile", c] => t(
            Kind::ConfigurationProfile,
            c,
            a.to_string(),
            "ConfigurationProfile",
        ),
        ["application", a, "experimentdefinition", d] => t(
            Kind::ExperimentDefinition,
            d,
            a.to_string(),
            "ExperimentDefinition",
        ),
        ["application", a, "experimentdefinition", d, "experimentrun", n] => t(
            Kind::ExperimentRun,
            &format!("{d}/{n}"),
            format!("{a}/{d}"),
            "ExperimentRun",
        ),
        ["application", a, "environment", e, "deployment", n] => t(
            Kind::Deployment,
            &format!("{a}/{e}/{n}"),
            format!("{a}/{e}"),
            "Deployment",
        ),
        ["deploymentstrategy", s] if super::deployment_strategies::is_predefined(s) => {
            return Ok(None)
        }
        ["deploymentstrategy", s] => t(
            Kind::DeploymentStrategy,
            s,
            String::new(),
            "DeploymentStrategy",
        ),
        ["extension", x, _] if x.starts_with("AWS.") => return Ok(None),
        ["extension", x, v] => t(
            Kind::Extension,
            &format!("{x}/{v}"),
            x.to_string(),
            "Extension",
        ),
        ["extensionassociation", x] => t(
            Kind::ExtensionAssociation,
            x,
            String::new(),
            "ExtensionAssociation",
        ),
        _ => return Err(Error::bad_request(malformed)),
    }))
}

async fn load(tx: &mut dyn Tx, target: &Target, arn: &str) -> Result<Record> {
    match tx.get(target.kind, &target.id).await? {
        Some(rec) if rec.parent == target.parent => Ok(rec),
        _ => Err(Error::ResourceNotFound {
            message: format!("{} {arn} not found", target.what),
            resource_name: Some(arn.to_string()),
        }),
    }
}

pub async fn list_tags_for_resource(
    svc: &Service,
    ctx: &Ctx,
    input: ListTagsForResourceRequest,
) -> Result<ResourceTags> {
    let Some(target) = resolve(svc, ctx, &input.resource_arn)? else {
        // AWS-owned resources (predefined strategies, AWS-authored extensions) carry no tags.
        return Ok(ResourceTags {
            tags: Some(Default::default()),
        });
    };
    let mut tx = svc.read(ctx).await?;
    let rec = load(&mut *tx, &target, &input.resource_arn).await?;
    Ok(ResourceTags {
        tags: Some(rec.tags),
    })
}

pub async fn tag_resource(svc: &Service, ctx: &Ctx, input: TagResourceRequest) -> Result<()> {
    check_tags(&input.tags)?;
    let target = resolve(svc, ctx, &input.resource_arn)?
        .ok_or_else(|| Error::bad_request("AWS-owned resources (predefined deployment strategies, AWS-authored extensions) cannot be tagged."))?;
    let mut tx = svc.write(ctx).await?;
    let mut rec = load(&mut *tx, &target, &input.resource_arn).await?;
    rec.tags.extend(input.tags);
    if rec.tags.len() > 50 {
        return Err(Error::bad_request(format!(
            "Resource {} would have {} tags; the limit is 50.",
            input.resource_arn,
            rec.tags.len()
        )));
    }
    tx.update(&rec).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn untag_resource(svc: &Service, ctx: &Ctx, input: UntagResourceRequest) -> Result<()> {
    let target = resolve(svc, ctx, &input.resource_arn)?
        .ok_or_else(|| Error::bad_request("AWS-owned resources (predefined deployment strategies, AWS-authored extensions) cannot be tagged."))?;
    let mut tx = svc.write(ctx).await?;
    let mut rec = load(&mut *tx, &target, &input.resource_arn).await?;
    for k in &input.tag_keys {
        rec.tags.remove(k);
    }
    tx.update(&rec).await?;
    tx.commit().await?;
    Ok(())
}
