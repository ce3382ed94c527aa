//! The one error type of the service. Each variant mirrors an error shape of the AppConfig model;
//! the wire layer turns it into status code, `x-amzn-ErrorType` and a JSON body.

/// One entry of `BadRequestDetails.InvalidConfiguration`: the model's own shape (constraint,
/// JSON path, reason, kind of check, offending value).
pub use crate::api::appconfig::InvalidConfigurationDetail;

/// The parts of `arn` when it is an AppConfig ARN; otherwise a BadRequest with `malformed`.
pub fn appconfig_arn<'a>(arn: &'a str, malformed: &str) -> Result<super::ids::ParsedArn<'a>> {
    super::ids::parse_arn(arn)
        .filter(|p| p.service == "appconfig")
        .ok_or_else(|| Error::bad_request(malformed.to_string()))
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{message}")]
    BadRequest {
        message: String,
        /// Set (with `Reason: InvalidConfiguration`) when configuration content failed validation.
        invalid_configuration: Option<Vec<InvalidConfigurationDetail>>,
    },
    #[error("{message}")]
    ResourceNotFound {
        message: String,
        resource_name: Option<String>,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    ServiceQuotaExceeded(String),
    #[error("{message}")]
    PayloadTooLarge {
        message: String,
        /// Kilobytes.
        limit: f64,
        /// Kilobytes.
        size: f64,
    },
    /// A model operation whose capability appconfigd has not built yet (see
    /// docs/compatibility.md). Answered as 501 so no client mistakes it for success.
    #[error("{0}")]
    NotImplemented(String),
    /// The caller is not who it claims, or claims nothing (SigV4 failures; always 403).
    /// `kind` is AWS's error type for the failure, e.g. `InvalidSignatureException`.
    #[error("{message}")]
    Unauthenticated { kind: &'static str, message: String },
    /// The agent-compatible read path without a valid bearer token.
    #[error("A valid 'Authorization: Bearer <token>' header is required.")]
    Unauthorized,
    /// The client did not send its request in time.
    #[error("The request was not received in time.")]
    RequestTimeout,
    /// Anything that is our fault (storage failure, bug). The message is logged, not shown in full.
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// ResourceNotFound for a well-formed ARN that names nothing.
    pub fn arn_not_found(arn: &str) -> Error {
        Error::ResourceNotFound {
            message: format!("Resource {arn} not found"),
            resource_name: Some(arn.to_string()),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Error::BadRequest {
            message: message.into(),
            invalid_configuration: None,
        }
    }

    pub fn invalid_configuration(
        message: impl Into<String>,
        details: Vec<InvalidConfigurationDetail>,
    ) -> Self {
        Error::BadRequest {
            message: message.into(),
            invalid_configuration: Some(details),
        }
    }

    /// `what` is the resource kind as AWS words it ("Application", "Environment", …).
    pub fn not_found(what: &str, id: &str) -> Self {
        Error::ResourceNotFound {
            message: format!("{what} {id} not found"),
            resource_name: Some(what.to_string()),
        }
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        Error::Internal(e.to_string())
    }

    /// The model's error shape name, as sent in `x-amzn-ErrorType`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Error::BadRequest { .. } => "BadRequestException",
            Error::ResourceNotFound { .. } => "ResourceNotFoundException",
            Error::Conflict(_) => "ConflictException",
            Error::ServiceQuotaExceeded(_) => "ServiceQuotaExceededException",
            Error::PayloadTooLarge { .. } => "PayloadTooLargeException",
            Error::NotImplemented(_) => "NotImplementedException",
            Error::Unauthenticated { kind, .. } => kind,
            Error::Unauthorized => "UnauthorizedException",
            Error::RequestTimeout => "RequestTimeoutException",
            Error::Internal(_) => "InternalServerException",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Error::BadRequest { .. } => 400,
            Error::ResourceNotFound { .. } => 404,
            Error::Conflict(_) => 409,
            Error::ServiceQuotaExceeded(_) => 402,
            Error::PayloadTooLarge { .. } => 413,
            Error::NotImplemented(_) => 501,
            Error::Unauthenticated { .. } => 403,
            Error::Unauthorized => 401,
            Error::RequestTimeout => 408,
            Error::Internal(_) => 500,
        }
    }
}

impl From<crate::store::StoreError> for Error {
    fn from(e: crate::store::StoreError) -> Self {
        if e.is_unavailable() {
            // Said plainly in the log line the wire layer writes for every internal error.
            return Error::Internal(format!("database unavailable: {e}"));
        }
        Error::Internal(e.to_string())
    }
}
