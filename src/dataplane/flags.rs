//! Feature-flag answers on the read paths: the agent's evaluated JSON (per `Context`, per
//! `?flag=`) and whether a caller asked for the Ion retrieval format.

use bytes::Bytes;
use http::header::HeaderName;
use http::HeaderMap;

use super::experiments::{self, Experiment};
use super::DataError;
use crate::domain::error::Error;
use crate::domain::featureflags::{Compiled, Context, UnknownFlag};

/// The agent's evaluation context (`Context: k=v`).
const CONTEXT: HeaderName = HeaderName::from_static("context");

/// The agent's answer for a feature-flag profile: variant flags evaluated for the request's
/// `Context` headers (`k=v`, comma-separated and/or repeated); all flags, or with `?flag=a` that
/// flag's object, with `?flag=a&flag=b` `{a: …, b: …}`. Without `Context` nor `?flag=` this is
/// the answer computed when the version was loaded. With an `Entity-Id` (`entity`) and
/// experiments running on the entry, flags assigned a treatment answer it instead.
pub(super) fn select_flags(
    flags: &Compiled,
    headers: &HeaderMap,
    wanted: Option<&Vec<String>>,
    experiments: &[Experiment],
    entity: Option<&str>,
) -> Result<Bytes, DataError> {
    let values = headers.get_all(CONTEXT);
    let entity = entity.filter(|_| !experiments.is_empty());
    if wanted.is_none() && entity.is_none() && values.iter().next().is_none() {
        return Ok(flags.json().clone());
    }
    let texts = values
        .iter()
        .map(|v| {
            v.to_str()
                .map_err(|_| Error::bad_request("The Context header is not valid text."))
        })
        .collect::<Result<Vec<&str>, Error>>()?;
    let context = Context::from_headers(texts).map_err(Error::bad_request)?;
    let wanted = wanted.map(Vec::as_slice);
    match entity {
        Some(entity) => experiments::answer(flags, experiments, entity, &context, wanted),
        None => flags.answer(&context, wanted),
    }
    .map_err(|UnknownFlag(k)| DataError::NotFound {
        message: format!("Flag {k} not found"),
        resource_type: "Configuration",
        referenced_by: vec![("flag", k)],
    })
}

/// Whether `Accept` asks for the Ion retrieval format
/// (`application/ion;type=AWS.AppConfig.FeatureFlags`, as the AppConfig Agent sends it), with a
/// non-zero quality.
pub(super) fn wants_ion(headers: &HeaderMap) -> bool {
    headers
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default();
            let (mut flags_type, mut refused) = (false, false);
            for parameter in parts {
                let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
                let value = value.trim().trim_matches('"');
                match name.trim().to_ascii_lowercase().as_str() {
                    "type" => flags_type = value.eq_ignore_ascii_case("AWS.AppConfig.FeatureFlags"),
                    "q" => refused = value.parse::<f32>().is_ok_and(|q| q <= 0.0),
                    _ => {}
                }
            }
            media.eq_ignore_ascii_case("application/ion") && flags_type && !refused
        })
}
