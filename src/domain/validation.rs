//! Configuration validators: JSON_SCHEMA validators run for real against content (at
//! ValidateConfiguration now, and at StartDeployment); feature-flag documents are checked
//! against the AWS feature-flag format. LAMBDA validators are invoked by the deployment engine.

use serde_json::Value;

use super::configuration_profiles::{ConfigurationProfile, Validator};
use super::error::{Error, InvalidConfigurationDetail, Result};
use super::featureflags;

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
