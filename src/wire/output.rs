//! Output value → HTTP response, following the model's output shape: members bound to headers
//! become headers, a blob payload becomes the raw body, everything else the JSON body.
//! Errors become `x-amzn-ErrorType` + a JSON body with the error shape's members.

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use serde_json::{json, Map, Value};

use super::model::{appconfig, Location, Operation};
use crate::dataplane::DataError;
use crate::domain::error::Error;
use crate::domain::ids;

/// What a handler produced: the output shape as JSON, plus the raw payload for blob outputs.
pub struct Reply {
    pub value: Value,
    pub payload: Option<Bytes>,
}

impl Reply {
    pub fn json(value: Value) -> Self {
        Reply {
            value,
            payload: None,
        }
    }
}

fn header_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

pub fn success(op: &Operation, reply: Reply, request_id: &str) -> Response {
    let model = appconfig();
    let status = op.http.response_code.unwrap_or(200);
    let mut builder = Response::builder()
        .status(status)
        .header("x-amzn-RequestId", request_id);
    let shape = op.output.as_ref().and_then(|o| model.shape(&o.shape));
    let Some(shape) = shape else {
        return finish(builder, Body::empty());
    };
    let fields = reply.value.as_object().cloned().unwrap_or_default();
    let mut body = Map::new();
    let mut has_content_type = false;
    for (name, member) in &shape.members {
        let Some(v) = fields.get(name).filter(|v| !v.is_null()) else {
            continue;
        };
        match member.location() {
            Location::Header => {
                if let Some(text) = header_text(v) {
                    let wire = member.wire_name(name);
                    has_content_type |= wire.eq_ignore_ascii_case("content-type");
                    // Header values must be visible ASCII; AWS documents Description as ASCII-only.
                    if let (Ok(n), Ok(val)) = (
                        HeaderName::from_bytes(wire.as_bytes()),
                        HeaderValue::from_str(&text),
                    ) {
                        builder = builder.header(n, val);
                    }
                }
            }
            _ if shape.payload.as_deref() == Some(name.as_str()) => {}
            _ => {
                body.insert(name.clone(), v.clone());
            }
        }
    }
    if shape.payload.is_some() {
        if !has_content_type {
            builder = builder.header("content-type", "application/octet-stream");
        }
        return finish(builder, Body::from(reply.payload.unwrap_or_default()));
    }
    if status == 204 {
        return finish(builder, Body::empty());
    }
    let bytes = serde_json::to_vec(&Value::Object(body)).unwrap_or_default();
    finish(
        builder.header("content-type", "application/json"),
        Body::from(bytes),
    )
}

/// An error answered with a status of its own (e.g. 414), in the usual shape.
pub fn error_with_status(status: StatusCode, err: &Error, request_id: &str) -> Response {
    let mut r = error(err, request_id);
    *r.status_mut() = status;
    r
}

pub fn error(err: &Error, request_id: &str) -> Response {
    let mut body = json!({ "Message": err.to_string() });
    match err {
        Error::BadRequest {
            invalid_configuration: Some(details),
            ..
        } => {
            body["Reason"] = json!("InvalidConfiguration");
            body["Details"] = json!({ "InvalidConfiguration": details });
        }
        Error::ResourceNotFound {
            resource_name: Some(r),
            ..
        } => body["ResourceName"] = json!(r),
        Error::PayloadTooLarge { limit, size, .. } => {
            body["Measure"] = json!("KILOBYTES");
            body["Limit"] = json!(limit);
            body["Size"] = json!(size);
        }
        Error::Internal(_) => body["Message"] = json!("An internal error occurred."),
        _ => {}
    }
    aws_error(err.status(), err.type_name(), &body, request_id)
}

/// A data-plane error (AppConfigData's own shapes, or a domain error).
pub fn data_error(e: DataError) -> Response {
    let request_id = ids::request_id();
    let (status, kind, body) = match e {
        DataError::Domain(err) => return error(&err, &request_id),
        DataError::Token(problem) => (
            400,
            "BadRequestException",
            json!({
                "Message": format!("The configuration token is invalid ({problem})."),
                "Reason": "InvalidParameters",
                "Details": {"InvalidParameters": {"ConfigurationToken": {"Problem": problem}}},
            }),
        ),
        DataError::NotFound {
            message,
            resource_type,
            referenced_by,
        } => {
            let refs: serde_json::Map<String, serde_json::Value> = referenced_by
                .into_iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            (
                404,
                "ResourceNotFoundException",
                json!({"Message": message, "ResourceType": resource_type, "ReferencedBy": refs}),
            )
        }
    };
    aws_error(status, kind, &body, &request_id)
}

/// The one AWS JSON error response: status, `x-amzn-ErrorType`, request id, JSON body.
fn aws_error(status: u16, kind: &str, body: &serde_json::Value, request_id: &str) -> Response {
    let builder = Response::builder()
        .status(status)
        .header("x-amzn-ErrorType", kind)
        .header("x-amzn-RequestId", request_id)
        .header("content-type", "application/json");
    finish(builder, Body::from(body.to_string()))
}

fn finish(builder: http::response::Builder, body: Body) -> Response {
    builder.body(body).unwrap_or_else(|_| {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}
