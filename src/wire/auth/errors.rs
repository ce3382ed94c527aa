//! Why a request is refused ([`AuthError`], each the 403 error AWS sends) and why a credentials
//! file cannot be loaded ([`LoadError`]).

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read credentials file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid credentials file {path}: {message}")]
    Invalid { path: String, message: String },
}

/// Why a request is refused. Each maps to the error AWS sends (all 403).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No Authorization header and no presigned query.
    Missing,
    /// An Authorization header or presigned query that is not a complete SigV4 signature.
    Incomplete(String),
    /// The access key is not in the credentials file.
    UnknownKey,
    /// The signature does not match.
    BadSignature,
    /// The request is outside the clock-skew window, or a presigned URL has expired.
    Expired(String),
    /// A signing mode this service does not take (aws-chunked streaming payloads).
    Unsupported(String),
}

impl AuthError {
    pub fn type_name(&self) -> &'static str {
        match self {
            AuthError::Missing => "MissingAuthenticationTokenException",
            AuthError::Incomplete(_) => "IncompleteSignatureException",
            AuthError::UnknownKey => "UnrecognizedClientException",
            AuthError::BadSignature | AuthError::Expired(_) => "InvalidSignatureException",
            AuthError::Unsupported(_) => "BadRequestException",
        }
    }

    pub fn message(&self) -> String {
        match self {
            AuthError::Missing => "Missing Authentication Token".into(),
            AuthError::Incomplete(m) | AuthError::Expired(m) | AuthError::Unsupported(m) => {
                m.clone()
            }
            AuthError::UnknownKey => "The security token included in the request is invalid.".into(),
            AuthError::BadSignature => "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".into(),
        }
    }
}

impl From<AuthError> for crate::domain::error::Error {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unsupported(m) => crate::domain::error::Error::bad_request(m),
            e => crate::domain::error::Error::Unauthenticated {
                kind: e.type_name(),
                message: e.message(),
            },
        }
    }
}
