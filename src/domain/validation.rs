//! Configuration validators, run at ValidateConfiguration and StartDeployment: JSON_SCHEMA
//! validators and the feature-flag format checked here, LAMBDA validators invoked through the
//! service's invoker.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::configuration_profiles::{ConfigurationProfile, Validator};
use super::error::{Error, InvalidConfigurationDetail, Result};
use super::featureflags;
use super::invocation::ActionCall;
use super::{ids, Service};

/// Compiles a validator schema. AppConfig documents JSON Schema draft-04; a schema that names
/// another draft in `$schema` is compiled as that draft.
pub fn compile_schema(schema: &Value) -> std::result::Result<jsonschema::Validator, String> {
    jsonschema::meta::validate(schema).map_err(|e| e.to_string())?;
    if schema.get("$schema").is_some() {
        jsonschema::validator_for(schema).map_err(|e| e.to_string())
    } else {
        jsonschema::draft4::new(schema).map_err(|e| e.to_string())
    }
}

fn detail(
    constraint: &str,
    location: String,
    reason: String,
    value: Option<String>,
) -> InvalidConfigurationDetail {
    InvalidConfigurationDetail {
        constraint: Some(constraint.to_string()),
        location: Some(location),
        reason: Some(reason),
        r#type: Some("Schema".to_string()),
        value,
    }
}

/// Runs one JSON_SCHEMA validator over `content`, collecting every violation.
fn run_json_schema(
    validator: &Validator,
    content: &[u8],
    out: &mut Vec<InvalidConfigurationDetail>,
) {
    let schema: Value = match serde_json::from_str(&validator.content) {
        Ok(s) => s,
        Err(e) => {
            out.push(detail(
                "schema",
                "$".into(),
                format!("The validator schema is not JSON: {e}"),
                None,
            ));
            return;
        }
    };
    let compiled = match compile_schema(&schema) {
        Ok(c) => c,
        Err(e) => {
            out.push(detail(
                "schema",
                "$".into(),
                format!("The validator schema is invalid: {e}"),
                None,
            ));
            return;
        }
    };
    let instance: Value = match serde_json::from_slice(content) {
        Ok(v) => v,
        Err(e) => {
            out.push(detail(
                "format",
                "$".into(),
                format!("The configuration is not valid JSON: {e}"),
                None,
            ));
            return;
        }
    };
    for err in compiled.iter_errors(&instance) {
        let path = err.instance_path().to_string();
        let location = if path.is_empty() {
            "$".to_string()
        } else {
            format!("${}", path.replace('/', "."))
        };
        let constraint = err
            .schema_path()
            .to_string()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let mut value = err.instance().to_string();
        value.truncate(200);
        out.push(detail(&constraint, location, err.to_string(), Some(value)));
    }
}

/// Checks content against the profile's JSON_SCHEMA validators and, for feature-flag profiles,
/// the feature-flag format. Failure is BadRequestException with Reason InvalidConfiguration.
pub fn validate_content(profile: &ConfigurationProfile, content: &[u8]) -> Result<()> {
    let mut details = Vec::new();
    if profile.is_feature_flags() {
        if let Err(d) = featureflags::validate(content) {
            details.extend(d);
        }
    }
    for v in profile
        .validators
        .iter()
        .filter(|v| v.r#type == crate::api::appconfig::ValidatorType::JsonSchema)
    {
        run_json_schema(v, content, &mut details);
    }
    if details.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid_configuration(
            format!(
                "The configuration failed validation: {} problem(s) found.",
                details.len()
            ),
            details,
        ))
    }
}

/// Every validator of the profile on `content` (version `version`): JSON_SCHEMA (and the
/// feature-flag format) first, then LAMBDA. Used by StartDeployment and ValidateConfiguration.
pub async fn validate_all(
    svc: &Service,
    profile: &ConfigurationProfile,
    version: &str,
    content: &[u8],
) -> Result<()> {
    validate_content(profile, content)?;
    run_lambda_validators(svc, profile, version, content).await
}

/// LAMBDA validators (a Lambda ARN or an http(s) URL) get AWS's validator event; any error fails.
async fn run_lambda_validators(
    svc: &Service,
    profile: &ConfigurationProfile,
    version: &str,
    content: &[u8],
) -> Result<()> {
    use base64::Engine;
    for v in profile
        .validators
        .iter()
        .filter(|v| v.r#type == crate::api::appconfig::ValidatorType::Lambda)
    {
        let call = ActionCall {
            invocation_id: ids::new_id(),
            action_point: "VALIDATOR".into(),
            extension_id: String::new(),
            extension_arn: String::new(),
            association_id: String::new(),
            association_arn: String::new(),
            action_name: "LambdaValidator".into(),
            uri: v.content.clone(),
            role_arn: None,
            parameters: BTreeMap::new(),
            event: json!({
                "ApplicationId": profile.application_id,
                "ConfigurationProfileId": profile.id,
                "ConfigurationVersion": version,
                "Content": base64::engine::general_purpose::STANDARD.encode(content),
                "Uri": v.content,
            }),
        };
        if let Err(e) = svc.invoker.invoke(&call).await {
            return Err(Error::invalid_configuration(
                format!(
                    "The configuration failed validation by {}: {}",
                    v.content, e.message
                ),
                vec![InvalidConfigurationDetail {
                    constraint: Some("LAMBDA".into()),
                    location: Some("$".into()),
                    reason: Some(format!("{}: {}", e.code, e.message)),
                    r#type: Some("Validator".into()),
                    value: None,
                }],
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn profile(schema: Value) -> ConfigurationProfile {
        ConfigurationProfile {
            application_id: "a".into(),
            id: "b".into(),
            name: "p".into(),
            description: None,
            location_uri: "hosted".into(),
            retrieval_role_arn: None,
            validators: vec![Validator {
                r#type: crate::api::appconfig::ValidatorType::JsonSchema,
                content: schema.to_string(),
            }],
            r#type: "AWS.Freeform".into(),
            kms_key_arn: None,
            kms_key_identifier: None,
        }
    }

    #[test]
    fn schema_must_be_valid() {
        assert!(compile_schema(&json!({"type": "object"})).is_ok());
        assert!(compile_schema(&json!({"type": 12})).is_err());
    }

    #[test]
    fn content_checked_against_schema() {
        let p = profile(
            json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}}),
        );
        assert!(validate_content(&p, br#"{"a": 1}"#).is_ok());
        let err = validate_content(&p, br#"{"a": "x"}"#).unwrap_err();
        match err {
            Error::BadRequest {
                invalid_configuration: Some(d),
                ..
            } => {
                assert_eq!(d[0].location.as_deref(), Some("$.a"));
                assert_eq!(d[0].constraint.as_deref(), Some("type"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(validate_content(&p, b"not json").is_err());
    }
}
