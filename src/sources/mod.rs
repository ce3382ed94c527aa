//! The configuration-source reader behind `domain::sources::SourceFetcher`: S3 objects, SSM
//! parameters and documents, and Secrets Manager secrets, read through the AWS SDK for Rust.
//!
//! Clients come from the same standard chain as the engine's AWS targets
//! (`engine::targets::aws_config`): credentials from the environment, profile or instance
//! role; endpoints from `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL_SSM` /
//! `AWS_ENDPOINT_URL_SECRETS_MANAGER` / `AWS_ENDPOINT_URL_STS`, so the same build reads AWS, an
//! S3-compatible store or a local stand-in. A profile's RetrievalRoleArn is assumed through STS
//! unless role assumption is turned off. Each read is bounded by one timeout.

use std::time::Duration;

use aws_config::{Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use tokio::sync::OnceCell;

use crate::domain::sources::{
    FetchError, FetchErrorKind, FetchRequest, Fetched, Source, SourceFetcher,
};
use crate::engine::targets::{aws_config, install_crypto_provider};

type Res<T> = std::result::Result<T, FetchError>;

const OCTET_STREAM: &str = "application/octet-stream";

/// How the reader is set up (`appconfigd serve` flags).
#[derive(Debug, Clone)]
pub struct SourceSettings {
    /// appconfigd's region, used when the standard chain names none.
    pub region: String,
    /// One read (role assumption included) must finish within this.
    pub timeout: Duration,
    /// Assume the profile's RetrievalRoleArn through STS (off: read with the server's own
    /// credentials, for stores without STS).
    pub assume_role: bool,
    /// Path-style S3 requests (`http://host/bucket/key`), as MinIO, Garage and Ceph often need.
    pub s3_path_style: bool,
}

pub struct AwsSources {
    settings: SourceSettings,
    base: OnceCell<SdkConfig>,
}

impl AwsSources {
    pub fn new(settings: SourceSettings) -> Self {
        install_crypto_provider();
        AwsSources {
            settings,
            base: OnceCell::new(),
        }
    }

    /// The SDK configuration for one read: the source ARN's region if it has one, and the
    /// retrieval role's temporary credentials when assumption is on.
    async fn config(&self, region: Option<&str>, role: Option<&str>) -> Res<SdkConfig> {
        let base = self
            .base
            .get_or_init(|| aws_config(&self.settings.region))
            .await;
        let mut builder = base.to_builder();
        if let Some(r) = region {
            builder = builder.region(Region::new(r.to_string()));
        }
        if let (Some(role), true) = (role, self.settings.assume_role) {
            let creds = assume(base, role).await?;
            builder = builder.credentials_provider(SharedCredentialsProvider::new(creds));
        }
        Ok(builder.build())
    }

    async fn read(&self, req: &FetchRequest<'_>) -> Res<Fetched> {
        match req.source {
            Source::S3 { bucket, key } => {
                let config = self.config(None, req.role_arn).await?;
                let client = aws_sdk_s3::Client::from_conf(
                    aws_sdk_s3::config::Builder::from(&config)
                        .force_path_style(self.settings.s3_path_style)
                        .build(),
                );
                s3_object(&client, bucket, key, req.version, req.max_bytes).await
            }
            Source::SsmParameter { name, region } => {
                let config = self.config(region.as_deref(), req.role_arn).await?;
                ssm_parameter(&aws_sdk_ssm::Client::new(&config), name, req.version).await
            }
            Source::SsmDocument { name, region } => {
                let config = self.config(region.as_deref(), req.role_arn).await?;
                ssm_document(&aws_sdk_ssm::Client::new(&config), name, req.version).await
            }
            Source::Secret { id, region } => {
                let config = self.config(region.as_deref(), req.role_arn).await?;
                let client = aws_sdk_secretsmanager::Client::new(&config);
                secret(&client, id, req.version).await
            }
            Source::CodePipeline { .. } => Err(FetchError::new(
                FetchErrorKind::Unusable,
                "CodePipeline sources cannot be read",
            )),
        }
    }
}

#[async_trait::async_trait]
impl SourceFetcher for AwsSources {
    async fn fetch(&self, req: &FetchRequest<'_>) -> Res<Fetched> {
        let limit = self.settings.timeout;
        match tokio::time::timeout(limit, self.read(req)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::new(
                FetchErrorKind::TimedOut,
                format!("no answer within {limit:?} (appconfigd serve --source-timeout)"),
            )),
        }
    }
}

async fn assume(base: &SdkConfig, role: &str) -> Res<Credentials> {
    let out = aws_sdk_sts::Client::new(base)
        .assume_role()
        .role_arn(role)
        .role_session_name("appconfigd-configuration-source")
        .send()
        .await
        .map_err(|e| {
            let e = classify("STS AssumeRole", e);
            let kind = match e.kind {
                FetchErrorKind::TimedOut => FetchErrorKind::TimedOut,
                _ => FetchErrorKind::RoleNotAssumable,
            };
            FetchError::new(kind, format!("{role}: {}", e.detail))
        })?;
    let c = out.credentials().ok_or_else(|| {
        FetchError::new(
            FetchErrorKind::RoleNotAssumable,
            format!("{role}: STS AssumeRole returned no credentials"),
        )
    })?;
    Ok(Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        std::time::SystemTime::try_from(*c.expiration()).ok(),
        "AssumeRole",
    ))
}

/// Error codes that mean "no such thing" across the four services.
const NOT_FOUND: &[&str] = &[
    "NoSuchBucket",
    "NoSuchKey",
    "NoSuchVersion",
    "NotFound",
    "ParameterNotFound",
    "ParameterVersionNotFound",
    "InvalidDocument",
    "InvalidDocumentVersion",
    "ResourceNotFoundException",
];

/// Sorts an SDK failure into what the caller is told; the detail keeps the service's code and
/// message.
fn classify<E>(op: &str, e: SdkError<E, HttpResponse>) -> FetchError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    let detail = match (e.code(), e.message(), status) {
        (Some(code), Some(msg), _) => format!("{op}: {code}: {msg}"),
        (Some(code), None, _) => format!("{op}: {code}"),
        (None, _, Some(status)) => format!("{op}: HTTP {status}"),
        // Connection and timeout failures: the cause chain, kept short.
        _ => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            format!("{op}: {}", text.chars().take(300).collect::<String>())
        }
    };
    let code = e.code().unwrap_or_default();
    let kind = match &e {
        SdkError::TimeoutError(_) => FetchErrorKind::TimedOut,
        SdkError::DispatchFailure(f) if f.is_timeout() => FetchErrorKind::TimedOut,
        SdkError::DispatchFailure(_) => FetchErrorKind::Unavailable,
        _ if NOT_FOUND.contains(&code) || status == Some(404) => FetchErrorKind::NotFound,
        _ if code.starts_with("AccessDenied") || status == Some(403) => {
            FetchErrorKind::AccessDenied
        }
        _ if code.contains("Throttl") || status.is_some_and(|s| s >= 500) => {
            FetchErrorKind::Unavailable
        }
        _ if status.is_some() => FetchErrorKind::Rejected,
        _ => FetchErrorKind::Unavailable,
    };
    FetchError::new(kind, detail)
}

/// One S3 object version. AppConfig requires a versioned bucket (an object read without a
/// version id is refused; this needs no GetBucketVersioning call) and refuses the Glacier
/// storage classes; content over the limit is refused before its body is read.
async fn s3_object(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    version: &str,
    max_bytes: usize,
) -> Res<Fetched> {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .version_id(version)
        .send()
        .await
        .map_err(|e| classify("S3 GetObject", e))?;
    // An unversioned (or suspended) bucket serves objects without a version id, or as "null".
    if matches!(out.version_id(), None | Some("null")) {
        return Err(FetchError::new(
            FetchErrorKind::Unusable,
            format!("bucket {bucket} does not have versioning enabled; AppConfig reads S3 object versions only"),
        ));
    }
    use aws_sdk_s3::types::StorageClass;
    if let Some(
        class @ (StorageClass::Glacier | StorageClass::DeepArchive | StorageClass::GlacierIr),
    ) = out.storage_class()
    {
        return Err(FetchError::new(
            FetchErrorKind::Unusable,
            format!("storage class {} is not supported", class.as_str()),
        ));
    }
    let too_large = |n: u64| {
        FetchError::new(
            FetchErrorKind::TooLarge,
            format!("the object is {n} bytes, over the limit of {max_bytes} bytes"),
        )
    };
    if let Some(n) = out.content_length().and_then(|n| u64::try_from(n).ok()) {
        if n > max_bytes as u64 {
            return Err(too_large(n));
        }
    }
    let content_type = out.content_type().unwrap_or(OCTET_STREAM).to_string();
    let body = out.body.collect().await.map_err(|e| {
        FetchError::new(
            FetchErrorKind::Unavailable,
            format!("S3 GetObject: reading the body: {e}"),
        )
    })?;
    let content = body.into_bytes().to_vec();
    if content.len() > max_bytes {
        return Err(too_large(content.len() as u64));
    }
    Ok(Fetched {
        content,
        content_type,
    })
}

/// One parameter version (`name:version`), SecureString decrypted.
async fn ssm_parameter(client: &aws_sdk_ssm::Client, name: &str, version: &str) -> Res<Fetched> {
    let out = client
        .get_parameter()
        .name(format!("{name}:{version}"))
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| classify("SSM GetParameter", e))?;
    let value = out.parameter().and_then(|p| p.value()).unwrap_or_default();
    Ok(Fetched {
        content: value.as_bytes().to_vec(),
        content_type: OCTET_STREAM.into(),
    })
}

/// One version of an SSM document of type ApplicationConfiguration.
async fn ssm_document(client: &aws_sdk_ssm::Client, name: &str, version: &str) -> Res<Fetched> {
    use aws_sdk_ssm::types::{DocumentFormat, DocumentType};
    let out = client
        .get_document()
        .name(name)
        .document_version(version)
        .send()
        .await
        .map_err(|e| classify("SSM GetDocument", e))?;
    if let Some(t) = out.document_type() {
        if *t != DocumentType::ApplicationConfiguration {
            return Err(FetchError::new(
                FetchErrorKind::Unusable,
                format!(
                    "document {name} is of type {}, not ApplicationConfiguration",
                    t.as_str()
                ),
            ));
        }
    }
    let content_type = match out.document_format() {
        Some(DocumentFormat::Json) => "application/json",
        Some(DocumentFormat::Yaml) => "application/x-yaml",
        _ => "text/plain",
    };
    Ok(Fetched {
        content: out.content().unwrap_or_default().as_bytes().to_vec(),
        content_type: content_type.into(),
    })
}

/// A Secrets Manager version id is 32 to 64 characters of letters, digits and hyphens
/// (UUIDs in practice); anything else is taken as a staging label such as AWSCURRENT
/// (docs/decisions.md).
fn is_version_id(version: &str) -> bool {
    (32..=64).contains(&version.len())
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// One secret version: SecretString as UTF-8, or SecretBinary as is.
async fn secret(client: &aws_sdk_secretsmanager::Client, id: &str, version: &str) -> Res<Fetched> {
    let req = client.get_secret_value().secret_id(id);
    let req = if is_version_id(version) {
        req.version_id(version)
    } else {
        req.version_stage(version)
    };
    let out = req
        .send()
        .await
        .map_err(|e| classify("Secrets Manager GetSecretValue", e))?;
    let content = match (out.secret_string(), out.secret_binary()) {
        (Some(s), _) => s.as_bytes().to_vec(),
        (None, Some(b)) => b.as_ref().to_vec(),
        (None, None) => Vec::new(),
    };
    Ok(Fetched {
        content,
        content_type: OCTET_STREAM.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ids_and_staging_labels() {
        assert!(is_version_id("EXAMPLE1-90ab-cdef-fedc-ba987SECRET1"));
        assert!(is_version_id("a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"));
        assert!(!is_version_id("AWSCURRENT"));
        assert!(!is_version_id("AWSPREVIOUS"));
        assert!(!is_version_id(&"x".repeat(65)));
    }
}
