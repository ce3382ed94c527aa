//! `appconfigd export` and `appconfigd import`: every resource of an account to and from one
//! JSON file, through the public API.
//!
//! The file holds applications with their environments, configuration profiles and hosted
//! versions (content base64), custom deployment strategies, custom extensions (every
//! version), extension associations, tags and account settings. Deployments are history and
//! are not exported. Import creates everything anew, so ids (and hosted/extension version
//! numbers, if the source had gaps) differ: references inside the file (association
//! resources and extensions) are mapped from old to new, and the mapping is printed.
//! Associations are created last, so no extension action fires during an import.

use std::collections::{BTreeMap, HashMap};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use clap::Args;
use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{path, Api, CliError, Connection};
use crate::domain::ids;

pub const FORMAT: &str = "appconfigd-export/1";
/// The account ARNs are built for when nothing tells otherwise (the server's default).
const DEFAULT_ACCOUNT: &str = "000000000000";

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub conn: Connection,
    /// Write the JSON here instead of standard output.
    #[arg(long, short)]
    pub output: Option<String>,
    /// Account id in the server's ARNs (needed for tags). Default: read from any ARN the
    /// server returns (custom extensions, associations), else 000000000000.
    #[arg(long)]
    pub account_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub conn: Connection,
    /// A file written by `appconfigd export` (`-` for standard input).
    pub file: String,
    /// Account id of the target server's ARNs (for association resources). Default: read
    /// from the first imported custom extension, else the exported account.
    #[arg(long)]
    pub account_id: Option<String>,
}

/// The export file. Resources keep the API's member names (PascalCase).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Export {
    pub format: String,
    pub region: String,
    pub account: String,
    #[serde(flatten)]
    pub resources: Resources,
}

/// What an export holds beside its header; each member may be missing (nothing of that kind).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Resources {
    pub account_settings: Option<Value>,
    pub applications: Vec<Application>,
    pub deployment_strategies: Vec<Value>,
    pub extensions: Vec<Value>,
    pub extension_associations: Vec<Value>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Application {
    /// Id, Name, Description, Tags.
    pub application: Value,
    #[serde(default)]
    pub environments: Vec<Value>,
    #[serde(default)]
    pub configuration_profiles: Vec<Profile>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Profile {
    pub profile: Value,
    /// VersionNumber, Description, ContentType, VersionLabel, Content (base64).
    #[serde(default)]
    pub hosted_configuration_versions: Vec<Value>,
}

/// The members of a configuration profile and of a deployment strategy that an export
/// keeps and an import creates from (besides Id and Tags).
const PROFILE_MEMBERS: &[&str] = &[
    "Name",
    "Description",
    "LocationUri",
    "RetrievalRoleArn",
    "Validators",
    "Type",
    "KmsKeyIdentifier",
];
const STRATEGY_MEMBERS: &[&str] = &[
    "Name",
    "Description",
    "DeploymentDurationInMinutes",
    "GrowthType",
    "GrowthFactor",
    "FinalBakeTimeInMinutes",
    "ReplicateTo",
];

/// What an export keeps of an extension version and of an association.
const EXTENSION_MEMBERS: &[&str] = &[
    "Id",
    "Name",
    "VersionNumber",
    "Arn",
    "Description",
    "Actions",
    "Parameters",
];
const ASSOCIATION_MEMBERS: &[&str] = &[
    "Id",
    "Arn",
    "ExtensionArn",
    "ExtensionVersionNumber",
    "ResourceArn",
    "Parameters",
];

/// The account field of an AppConfig ARN, if it has one (AWS-authored extensions do not).
fn arn_account(arn: &str) -> Option<&str> {
    ids::parse_arn(arn)
        .map(|p| p.account)
        .filter(|a| !a.is_empty())
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

/// Keeps only `keys` of `v` that are present and not null.
fn pick(v: &Value, keys: &[&str]) -> Value {
    let mut out = Map::new();
    for k in keys {
        if let Some(x) = v.get(*k).filter(|x| !x.is_null()) {
            out.insert((*k).to_string(), x.clone());
        }
    }
    Value::Object(out)
}

async fn tags(api: &Api, arn: &str) -> Result<Value, CliError> {
    let t = api.get(&path(&["tags", arn]), &[]).await?;
    Ok(t.get("Tags").cloned().unwrap_or_else(|| json!({})))
}

pub async fn run_export(args: ExportArgs) -> Result<(), CliError> {
    let api = Api::new(&args.conn)?;
    let export = export(&api, args.account_id).await?;
    let text = serde_json::to_string_pretty(&export)
        .map_err(|e| CliError::Invalid(format!("cannot encode the export: {e}")))?;
    match args.output.as_deref() {
        None | Some("-") => println!("{text}"),
        Some(file) => {
            std::fs::write(file, text + "\n").map_err(|source| CliError::File {
                path: file.to_string(),
                source,
            })?;
            eprintln!(
                "exported {} applications, {} deployment strategies, {} extension versions, {} associations to {file}",
                export.resources.applications.len(),
                export.resources.deployment_strategies.len(),
                export.resources.extensions.len(),
                export.resources.extension_associations.len()
            );
        }
    }
    Ok(())
}

/// Reads everything from the server.
pub async fn export(api: &Api, account: Option<String>) -> Result<Export, CliError> {
    let region = api.region().to_string();
    // Extensions and associations first: their ARNs tell the account, which tags need.
    let mut extensions = Vec::new();
    for item in api.list("/extensions").await? {
        let id = text(&item, "Id");
        if id.starts_with("AWS.") {
            continue; // AWS-authored: built into every server.
        }
        let version = item["VersionNumber"].as_i64().unwrap_or(1);
        let full = api
            .get(
                &path(&["extensions", &id]),
                &[("version_number", version.to_string())],
            )
            .await?;
        extensions.push(full);
    }
    let mut associations = Vec::new();
    for item in api.list("/extensionassociations").await? {
        associations.push(
            api.get(&path(&["extensionassociations", &text(&item, "Id")]), &[])
                .await?,
        );
    }
    let account = account
        .or_else(|| {
            extensions
                .iter()
                .chain(associations.iter())
                .find_map(|v| arn_account(v["Arn"].as_str().unwrap_or_default()))
                .map(str::to_string)
        })
        .unwrap_or_else(|| DEFAULT_ACCOUNT.to_string());
    let arn = |resource: &str| ids::arn(&region, &account, resource);
    // Tags are read by ARN, so a wrong account shows as "not found" on the first lookup.
    let account_ref = &account;
    let tags = |arn: String| async move {
        tags(api, &arn).await.map_err(|e| match e {
            CliError::Api { status: 404, .. } => CliError::Invalid(format!(
                "{e}\n(the server's ARNs for these keys are not in account {account_ref}: pass --account-id)"
            )),
            other => other,
        })
    };

    // The members kept of each resource (what create accepts back), then its tags.
    let keep = |item: &Value, members: &[&str], tags: Value| {
        let mut out = pick(item, members);
        out["Tags"] = tags;
        out
    };
    for x in extensions.iter_mut() {
        *x = keep(x, EXTENSION_MEMBERS, tags(text(x, "Arn")).await?);
    }
    for a in associations.iter_mut() {
        *a = keep(a, ASSOCIATION_MEMBERS, tags(text(a, "Arn")).await?);
    }

    let mut applications = Vec::new();
    for app in api.list("/applications").await? {
        let app_id = text(&app, "Id");
        let mut application = pick(&app, &["Id", "Name", "Description"]);
        application["Tags"] = tags(arn(&format!("application/{app_id}"))).await?;
        let mut environments = Vec::new();
        for env in api
            .list(&path(&["applications", &app_id, "environments"]))
            .await?
        {
            let env_id = text(&env, "Id");
            let mut e = pick(&env, &["Id", "Name", "Description", "Monitors"]);
            e["Tags"] = tags(arn(&format!("application/{app_id}/environment/{env_id}"))).await?;
            environments.push(e);
        }
        let mut profiles = Vec::new();
        for item in api
            .list(&path(&["applications", &app_id, "configurationprofiles"]))
            .await?
        {
            let profile_id = text(&item, "Id");
            let full = api
                .get(
                    &path(&[
                        "applications",
                        &app_id,
                        "configurationprofiles",
                        &profile_id,
                    ]),
                    &[],
                )
                .await?;
            let mut profile = pick(&full, &[&["Id"], PROFILE_MEMBERS].concat());
            profile["Tags"] = tags(arn(&format!(
                "application/{app_id}/configurationprofile/{profile_id}"
            )))
            .await?;
            let versions_path = versions_path(&app_id, &profile_id);
            let mut versions = Vec::new();
            if text(&full, "LocationUri") == "hosted" {
                for v in api.list(&versions_path).await? {
                    let number = v["VersionNumber"].as_i64().unwrap_or_default();
                    let content = api
                        .call(
                            Method::GET,
                            &format!("{versions_path}/{number}"),
                            &[],
                            &[],
                            None,
                        )
                        .await?;
                    let mut out = pick(
                        &v,
                        &[
                            "VersionNumber",
                            "Description",
                            "ContentType",
                            "VersionLabel",
                        ],
                    );
                    out["Content"] = json!(B64.encode(&content.body));
                    versions.push(out);
                }
            }
            profiles.push(Profile {
                profile,
                hosted_configuration_versions: versions,
            });
        }
        applications.push(Application {
            application,
            environments,
            configuration_profiles: profiles,
        });
    }

    let mut strategies = Vec::new();
    for s in api.list("/deploymentstrategies").await? {
        let id = text(&s, "Id");
        if id.starts_with("AppConfig.") {
            continue; // Predefined in every account.
        }
        let mut out = pick(&s, &[&["Id"], STRATEGY_MEMBERS].concat());
        out["Tags"] = tags(arn(&format!("deploymentstrategy/{id}"))).await?;
        strategies.push(out);
    }
    let settings = api.get("/settings", &[]).await?;

    Ok(Export {
        format: FORMAT.to_string(),
        region: region.clone(),
        account: account.clone(),
        resources: Resources {
            account_settings: Some(pick(&settings, &["DeletionProtection"])),
            applications,
            deployment_strategies: strategies,
            extensions,
            extension_associations: associations,
        },
    })
}

pub async fn run_import(args: ImportArgs) -> Result<(), CliError> {
    let api = Api::new(&args.conn)?;
    let raw = if args.file == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(&args.file)
    }
    .map_err(|source| CliError::File {
        path: args.file.clone(),
        source,
    })?;
    let export: Export = serde_json::from_str(&raw)
        .map_err(|e| CliError::Invalid(format!("{} is not an export file: {e}", args.file)))?;
    if export.format != FORMAT {
        return Err(CliError::Invalid(format!(
            "{}: unknown format {:?} (expected {FORMAT})",
            args.file, export.format
        )));
    }
    let mapping = import(&api, &export, args.account_id).await?;
    for (old, new) in &mapping.printed {
        println!("{old} -> {new}");
    }
    eprintln!(
        "imported {} applications, {} environments, {} configuration profiles, {} hosted versions, {} deployment strategies, {} extension versions, {} associations",
        mapping.count("application"),
        mapping.count("environment"),
        mapping.count("configurationprofile"),
        mapping.count("hostedconfigurationversion"),
        mapping.count("deploymentstrategy"),
        mapping.count("extension"),
        mapping.count("extensionassociation"),
    );
    Ok(())
}

/// Old → new identifiers, in creation order ("kind old" → "new").
#[derive(Debug, Default)]
pub struct Mapping {
    pub printed: Vec<(String, String)>,
    /// Old resource ARN suffix ("application/A/environment/E") → new one.
    resources: HashMap<String, String>,
}

impl Mapping {
    /// Records a `kind` of application `old_app`, recreated in `new_app`: its id and ARN.
    fn add_in_application(&mut self, kind: &str, apps: (&str, &str), old: &str, new: &str) {
        let (old_app, new_app) = apps;
        self.add(kind, &format!("{old_app}/{old}"), new);
        self.resources.insert(
            format!("application/{old_app}/{kind}/{old}"),
            format!("application/{new_app}/{kind}/{new}"),
        );
    }

    fn add(&mut self, kind: &str, old: &str, new: &str) {
        self.printed
            .push((format!("{kind} {old}"), new.to_string()));
    }

    fn count(&self, kind: &str) -> usize {
        let prefix = format!("{kind} ");
        self.printed
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .count()
    }
}

/// Where the hosted versions of a profile are listed and created.
fn versions_path(app_id: &str, profile_id: &str) -> String {
    let profile = ["applications", app_id, "configurationprofiles", profile_id];
    path(&[&profile[..], &["hostedconfigurationversions"]].concat())
}

/// Creates `body` in `collection` of application `app_id`; answers the new id.
async fn create_in_application(
    api: &Api,
    app_id: &str,
    collection: &str,
    body: &Value,
) -> Result<String, CliError> {
    let at = path(&["applications", app_id, collection]);
    let created = api.send(Method::POST, &at, body, &[]).await?;
    Ok(text(&created, "Id"))
}

/// Creates everything in `export` on the server behind `api`.
pub async fn import(
    api: &Api,
    export: &Export,
    account: Option<String>,
) -> Result<Mapping, CliError> {
    let mut mapping = Mapping::default();
    if let Some(settings) = export
        .resources
        .account_settings
        .as_ref()
        .filter(|s| s.as_object().is_some_and(|o| !o.is_empty()))
    {
        api.send(Method::PATCH, "/settings", settings, &[]).await?;
    }

    for s in &export.resources.deployment_strategies {
        let body = pick(s, &[STRATEGY_MEMBERS, &["Tags"]].concat());
        let created = api
            .send(Method::POST, "/deploymentstrategies", &body, &[])
            .await?;
        mapping.add("deploymentstrategy", &text(s, "Id"), &text(&created, "Id"));
    }

    for app in &export.resources.applications {
        let old_app = text(&app.application, "Id");
        let body = pick(&app.application, &["Name", "Description", "Tags"]);
        let created = api.send(Method::POST, "/applications", &body, &[]).await?;
        let app_id = text(&created, "Id");
        mapping.add("application", &old_app, &app_id);
        mapping.resources.insert(
            format!("application/{old_app}"),
            format!("application/{app_id}"),
        );
        for env in &app.environments {
            let body = pick(env, &["Name", "Description", "Monitors", "Tags"]);
            let new = create_in_application(api, &app_id, "environments", &body).await?;
            let apps = (old_app.as_str(), app_id.as_str());
            mapping.add_in_application("environment", apps, &text(env, "Id"), &new);
        }
        for p in &app.configuration_profiles {
            let body = pick(&p.profile, &[PROFILE_MEMBERS, &["Tags"]].concat());
            let profile_id =
                create_in_application(api, &app_id, "configurationprofiles", &body).await?;
            let old = text(&p.profile, "Id");
            let apps = (old_app.as_str(), app_id.as_str());
            mapping.add_in_application("configurationprofile", apps, &old, &profile_id);
            let versions_path = versions_path(&app_id, &profile_id);
            let mut versions: Vec<&Value> = p.hosted_configuration_versions.iter().collect();
            versions.sort_by_key(|v| v["VersionNumber"].as_i64().unwrap_or_default());
            for v in versions {
                let content = B64.decode(text(v, "Content")).map_err(|e| {
                    CliError::Invalid(format!(
                        "hosted version {} of profile {old}: content is not base64: {e}",
                        v["VersionNumber"]
                    ))
                })?;
                let mut headers = vec![(
                    "content-type",
                    v["ContentType"]
                        .as_str()
                        .unwrap_or("application/octet-stream")
                        .to_string(),
                )];
                if let Some(d) = v["Description"].as_str() {
                    headers.push(("description", d.to_string()));
                }
                if let Some(l) = v["VersionLabel"].as_str() {
                    headers.push(("versionlabel", l.to_string()));
                }
                let created = api
                    .call(Method::POST, &versions_path, &[], &headers, Some(content))
                    .await?;
                mapping.add(
                    "hostedconfigurationversion",
                    &format!("{old_app}/{old}/{}", v["VersionNumber"]),
                    created.header("version-number").unwrap_or_default(),
                );
            }
        }
    }

    // Extensions: versions of one extension in order, each on top of the previous one.
    let mut by_id: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for x in &export.resources.extensions {
        by_id.entry(text(x, "Id")).or_default().push(x);
    }
    // Old extension ARN (with version) → (new id, new version).
    let mut extensions: HashMap<String, (String, i64)> = HashMap::new();
    let mut target_account = account;
    for (old_id, mut versions) in by_id {
        versions.sort_by_key(|v| v["VersionNumber"].as_i64().unwrap_or_default());
        let mut latest: Option<i64> = None;
        for v in versions {
            let body = pick(v, &["Name", "Description", "Actions", "Parameters", "Tags"]);
            let headers: Vec<(&str, String)> = latest
                .map(|n| vec![("latest-version-number", n.to_string())])
                .unwrap_or_default();
            let created = api
                .send(Method::POST, "/extensions", &body, &headers)
                .await?;
            let new_version = created["VersionNumber"].as_i64().unwrap_or(1);
            latest = Some(new_version);
            let new_id = text(&created, "Id");
            if target_account.is_none() {
                target_account = arn_account(&text(&created, "Arn")).map(str::to_string);
            }
            mapping.add(
                "extension",
                &format!("{old_id}/{}", v["VersionNumber"]),
                &format!("{new_id}/{new_version}"),
            );
            extensions.insert(text(v, "Arn"), (new_id, new_version));
        }
    }
    let target_account = target_account.unwrap_or_else(|| export.account.clone());

    for a in &export.resources.extension_associations {
        let old_resource = text(a, "ResourceArn");
        let suffix = old_resource.splitn(6, ':').nth(5).unwrap_or_default();
        let resource = mapping.resources.get(suffix).ok_or_else(|| {
            CliError::Invalid(format!(
                "association {} refers to {old_resource}, which is not in the file",
                text(a, "Id")
            ))
        })?;
        let old_version = a["ExtensionVersionNumber"].as_i64().unwrap_or(1);
        let old_extension = text(a, "ExtensionArn");
        // The association's ExtensionArn may or may not carry the version.
        let versioned = if old_extension.ends_with(&format!("/{old_version}")) {
            old_extension.clone()
        } else {
            format!("{old_extension}/{old_version}")
        };
        let (identifier, version) = match extensions.get(&versioned) {
            Some((id, v)) => (id.clone(), *v),
            // An AWS-authored extension: the same ARN names it everywhere.
            None => (old_extension.clone(), old_version),
        };
        let mut body = pick(a, &["Parameters", "Tags"]);
        body["ExtensionIdentifier"] = json!(identifier);
        body["ExtensionVersionNumber"] = json!(version);
        body["ResourceIdentifier"] = json!(ids::arn(api.region(), &target_account, resource));
        let created = api
            .send(Method::POST, "/extensionassociations", &body, &[])
            .await?;
        mapping.add(
            "extensionassociation",
            &text(a, "Id"),
            &text(&created, "Id"),
        );
    }
    Ok(mapping)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_accounts() {
        assert_eq!(
            arn_account("arn:aws:appconfig:us-east-1:123456789012:extension/abc/1"),
            Some("123456789012")
        );
        assert_eq!(
            arn_account("arn:aws:appconfig:us-east-1::extension/AWS.AppConfig.FeatureFlags/1"),
            None
        );
    }

    #[test]
    fn pick_drops_nulls_and_unknown_members() {
        let v = json!({"Name": "a", "Description": null, "State": "x"});
        assert_eq!(pick(&v, &["Name", "Description"]), json!({"Name": "a"}));
    }
}
