//! Configuration sources other than `hosted` (S3, SSM parameters and documents, Secrets
//! Manager): the parsed `LocationUri`, the limits AWS documents for each, and the trait the
//! domain reads them through. The reader itself (`crate::sources`, AWS SDK) sits beside the
//! domain; StartDeployment and ValidateConfiguration call it outside any store transaction and
//! deployments keep the bytes they read, so clients never depend on the source afterwards.

use std::fmt;

use super::configuration_profiles::ConfigurationProfile;
use super::error::{Error, Result};
use super::ids::parse_arn;
use super::Service;

/// Where a non-hosted profile's content lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    S3 {
        bucket: String,
        key: String,
    },
    /// `name` as SSM wants it; `region` when the profile gave an ARN.
    SsmParameter {
        name: String,
        region: Option<String>,
    },
    SsmDocument {
        name: String,
        region: Option<String>,
    },
    /// A name or a full secret ARN (Secrets Manager takes either as SecretId).
    Secret {
        id: String,
        region: Option<String>,
    },
    CodePipeline {
        pipeline: String,
    },
}

/// SSM wants hierarchical names fully qualified: `/parent/name`. An ARN's resource
/// (`parameter/parent/name`) and `ssm-parameter://parent/name` lose the leading slash, so it is
/// put back (docs/decisions.md).
fn ssm_name(rest: &str) -> String {
    if rest.contains('/') && !rest.starts_with('/') {
        format!("/{rest}")
    } else {
        rest.to_string()
    }
}

impl Source {
    /// Parses a LocationUri; `Ok(None)` is `hosted`. The error names what is wrong.
    pub fn parse(uri: &str) -> std::result::Result<Option<Source>, String> {
        let nonempty = |s: &str, what: &str| {
            if s.is_empty() {
                Err(format!("LocationUri '{uri}' has no {what}."))
            } else {
                Ok(s.to_string())
            }
        };
        if uri == super::configuration_profiles::HOSTED {
            return Ok(None);
        }
        if let Some(rest) = uri.strip_prefix("s3://") {
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            return Ok(Some(Source::S3 {
                bucket: nonempty(bucket, "bucket name")?,
                key: nonempty(key, "object key (expected s3://<bucket>/<objectKey>)")?,
            }));
        }
        if let Some(rest) = uri.strip_prefix("ssm-parameter://") {
            return Ok(Some(Source::SsmParameter {
                name: ssm_name(&nonempty(rest, "parameter name")?),
                region: None,
            }));
        }
        if let Some(rest) = uri.strip_prefix("ssm-document://") {
            return Ok(Some(Source::SsmDocument {
                name: nonempty(rest, "document name")?,
                region: None,
            }));
        }
        if let Some(rest) = uri.strip_prefix("secretsmanager://") {
            return Ok(Some(Source::Secret {
                id: nonempty(rest, "secret name")?,
                region: None,
            }));
        }
        if let Some(rest) = uri.strip_prefix("codepipeline://") {
            return Ok(Some(Source::CodePipeline {
                pipeline: nonempty(rest, "pipeline name")?,
            }));
        }
        if let Some(arn) = parse_arn(uri) {
            let region = (!arn.region.is_empty()).then(|| arn.region.to_string());
            let after_colon = uri.splitn(6, ':').nth(5).unwrap_or_default();
            match arn.service {
                "ssm" => {
                    if let Some(name) = after_colon.strip_prefix("parameter/") {
                        return Ok(Some(Source::SsmParameter {
                            name: ssm_name(&nonempty(name, "parameter name")?),
                            region,
                        }));
                    }
                    if let Some(name) = after_colon.strip_prefix("document/") {
                        return Ok(Some(Source::SsmDocument {
                            name: nonempty(name, "document name")?,
                            region,
                        }));
                    }
                }
                "secretsmanager" if after_colon.starts_with("secret:") => {
                    nonempty(&after_colon["secret:".len()..], "secret name")?;
                    return Ok(Some(Source::Secret {
                        id: uri.to_string(),
                        region,
                    }));
                }
                _ => {}
            }
        }
        Err(format!(
            "LocationUri '{uri}' is not supported. Use 'hosted', s3://<bucket>/<objectKey>, \
             ssm-parameter://<name>, ssm-document://<name>, secretsmanager://<name>, \
             codepipeline://<pipeline>, or an SSM parameter, SSM document or Secrets Manager secret ARN."
        ))
    }

    /// The most content AppConfig takes from this source (documented per source); S3 shares
    /// the hosted limit.
    pub fn max_bytes(&self, hosted_limit: usize) -> usize {
        match self {
            Source::S3 { .. } | Source::CodePipeline { .. } => hosted_limit,
            // Advanced parameters (standard ones are 4 KB; SSM enforces that itself).
            Source::SsmParameter { .. } => 8 * 1024,
            Source::SsmDocument { .. } | Source::Secret { .. } => 64 * 1024,
        }
    }
}

/// What a source read failed on; the reader's detail goes into the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchErrorKind {
    NotFound,
    AccessDenied,
    RoleNotAssumable,
    TooLarge,
    /// The source exists but cannot be used as AppConfig uses it (unversioned bucket, Glacier
    /// object, wrong document type, …).
    Unusable,
    /// The source answered with another client error (e.g. a malformed version id).
    Rejected,
    TimedOut,
    /// Network failure, throttling or a server error of the source.
    Unavailable,
}

impl fmt::Display for FetchErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FetchErrorKind::NotFound => "not found",
            FetchErrorKind::AccessDenied => "access denied",
            FetchErrorKind::RoleNotAssumable => "the retrieval role could not be assumed",
            FetchErrorKind::TooLarge => "content too large",
            FetchErrorKind::Unusable => "not usable as a configuration source",
            FetchErrorKind::Rejected => "rejected by the source",
            FetchErrorKind::TimedOut => "timed out",
            FetchErrorKind::Unavailable => "source unavailable",
        })
    }
}

#[derive(Debug, Clone)]
pub struct FetchError {
    pub kind: FetchErrorKind,
    pub detail: String,
}

impl FetchError {
    pub fn new(kind: FetchErrorKind, detail: impl Into<String>) -> Self {
        FetchError {
            kind,
            detail: detail.into(),
        }
    }
}

/// One read: `version` is the exact ConfigurationVersion asked for.
#[derive(Debug)]
pub struct FetchRequest<'a> {
    pub source: &'a Source,
    pub version: &'a str,
    pub role_arn: Option<&'a str>,
    pub max_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct Fetched {
    pub content: Vec<u8>,
    pub content_type: String,
}

/// Reads one version of a source. Implementations bound their own time (a hung source must
/// not hold the request).
#[async_trait::async_trait]
pub trait SourceFetcher: Send + Sync {
    async fn fetch(&self, req: &FetchRequest<'_>) -> std::result::Result<Fetched, FetchError>;
}

/// A reader that reads nothing; for tools and tests that never deploy external sources.
pub struct NoSources;

#[async_trait::async_trait]
impl SourceFetcher for NoSources {
    async fn fetch(&self, _: &FetchRequest<'_>) -> std::result::Result<Fetched, FetchError> {
        Err(FetchError::new(
            FetchErrorKind::Unavailable,
            "this appconfigd has no configuration source reader",
        ))
    }
}

/// The profile's external source, if any. CodePipeline is refused: its content arrives only
/// through CodePipeline's AppConfig deploy action, over a channel AWS does not publish.
pub fn external_source(profile: &ConfigurationProfile) -> Result<Option<Source>> {
    let source = Source::parse(&profile.location_uri).map_err(Error::bad_request)?;
    if let Some(Source::CodePipeline { .. }) = source {
        return Err(Error::bad_request(format!(
            "Configuration profile {} uses LocationUri '{}': CodePipeline sources receive their content from a pipeline's AppConfig deploy action, which cannot deliver to appconfigd. Store the content in a hosted configuration version, S3, SSM or Secrets Manager instead.",
            profile.id, profile.location_uri
        )));
    }
    Ok(source)
}

/// Reads `version` of the profile's source (call with no transaction open). Every failure is a
/// BadRequestException naming the LocationUri, the version and the reason.
pub async fn fetch(
    svc: &Service,
    profile: &ConfigurationProfile,
    source: &Source,
    version: &str,
) -> Result<Fetched> {
    if let Source::SsmParameter { .. } | Source::SsmDocument { .. } = source {
        // Exact versions only: a label or $LATEST would move under a deployment.
        if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::bad_request(format!(
                "ConfigurationVersion '{version}' is not valid for {}: use the SSM version number.",
                profile.location_uri
            )));
        }
    }
    let max_bytes = source.max_bytes(svc.settings.quotas.hosted_configuration_bytes);
    let req = FetchRequest {
        source,
        version,
        role_arn: profile.retrieval_role_arn.as_deref(),
        max_bytes,
    };
    let failed = |e: FetchError| {
        Error::bad_request(format!(
            "Configuration version '{version}' could not be retrieved from {}: {}: {}",
            profile.location_uri, e.kind, e.detail
        ))
    };
    let fetched = svc.sources.fetch(&req).await.map_err(failed)?;
    if fetched.content.len() > max_bytes {
        return Err(failed(FetchError::new(
            FetchErrorKind::TooLarge,
            format!(
                "{} bytes is over the limit of {max_bytes} bytes for this source",
                fetched.content.len()
            ),
        )));
    }
    Ok(fetched)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(uri: &str) -> Source {
        Source::parse(uri).unwrap().unwrap()
    }

    #[test]
    fn location_uris() {
        assert_eq!(Source::parse("hosted").unwrap(), None);
        assert_eq!(
            p("s3://bucket/dir/config.json"),
            Source::S3 {
                bucket: "bucket".into(),
                key: "dir/config.json".into()
            }
        );
        assert!(Source::parse("s3://bucket").is_err());
        assert!(Source::parse("s3://bucket/").is_err());
        assert!(Source::parse("s3:///key").is_err());
        assert_eq!(
            p("ssm-parameter://plain"),
            Source::SsmParameter {
                name: "plain".into(),
                region: None
            }
        );
        assert_eq!(
            p("ssm-parameter://app/db"),
            Source::SsmParameter {
                name: "/app/db".into(),
                region: None
            }
        );
        assert_eq!(
            p("arn:aws:ssm:eu-west-1:111122223333:parameter/app/db"),
            Source::SsmParameter {
                name: "/app/db".into(),
                region: Some("eu-west-1".into())
            }
        );
        assert_eq!(
            p("arn:aws:ssm:us-east-1:111122223333:document/MyDoc"),
            Source::SsmDocument {
                name: "MyDoc".into(),
                region: Some("us-east-1".into())
            }
        );
        let arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf";
        assert_eq!(
            p(arn),
            Source::Secret {
                id: arn.into(),
                region: Some("us-east-1".into())
            }
        );
        assert_eq!(
            p("codepipeline://deploy"),
            Source::CodePipeline {
                pipeline: "deploy".into()
            }
        );
        for bad in [
            "ftp://x/y",
            "ssm-parameter://",
            "arn:aws:s3:::bucket/key",
            "arn:aws:ssm:us-east-1:1:automation/x",
        ] {
            assert!(Source::parse(bad).is_err(), "{bad}");
        }
    }
}
