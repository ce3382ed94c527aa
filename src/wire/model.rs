//! The AWS service model (botocore `service-2.json`), embedded in the binary. The wire layer is
//! driven by it: routes, status codes, header/query/label bindings and input constraints all
//! come from here, so they cannot drift from what the AWS SDKs send.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;

const APPCONFIG_MODEL: &str = include_str!("../../model/appconfig-2019-10-09.json");

#[derive(Debug, Deserialize)]
pub struct Model {
    pub operations: BTreeMap<String, Operation>,
    pub shapes: BTreeMap<String, Shape>,
}

#[derive(Debug, Deserialize)]
pub struct Operation {
    pub name: String,
    pub http: Http,
    pub input: Option<ShapeRef>,
    pub output: Option<ShapeRef>,
    #[serde(default)]
    pub errors: Vec<ShapeRef>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Http {
    pub method: String,
    pub request_uri: String,
    pub response_code: Option<u16>,
}

#[derive(Debug, Deserialize)]
pub struct ShapeRef {
    pub shape: String,
}

#[derive(Debug, Deserialize)]
pub struct Shape {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub members: BTreeMap<String, Member>,
    #[serde(default)]
    pub required: Vec<String>,
    pub payload: Option<String>,
    pub member: Option<ShapeRef>,
    pub key: Option<ShapeRef>,
    pub value: Option<ShapeRef>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub pattern: Option<String>,
    #[serde(rename = "enum")]
    pub enum_values: Option<Vec<String>>,
    #[serde(default)]
    pub sensitive: bool,
    #[serde(default)]
    pub union: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub shape: String,
    pub location: Option<String>,
    pub location_name: Option<String>,
}

impl Member {
    /// Where the member travels on the wire.
    pub fn location(&self) -> Location {
        match self.location.as_deref() {
            Some("uri") => Location::Uri,
            Some("querystring") => Location::Query,
            Some("header") => Location::Header,
            _ => Location::Body,
        }
    }

    /// The wire name (label, query key or header name); body members use their own name.
    pub fn wire_name<'a>(&'a self, member_name: &'a str) -> &'a str {
        self.location_name.as_deref().unwrap_or(member_name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Uri,
    Query,
    Header,
    Body,
}

impl Model {
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }

    /// The compiled `pattern` of a shape, cached. Smithy patterns are not implicitly anchored,
    /// so they are applied with `is_match` (a search), exactly as written in the model.
    pub fn pattern(&self, shape_name: &str) -> Option<&'static Pattern> {
        static PATTERNS: OnceLock<BTreeMap<String, Pattern>> = OnceLock::new();
        PATTERNS
            .get_or_init(|| {
                appconfig()
                    .shapes
                    .iter()
                    .filter_map(|(name, s)| {
                        let p = s.pattern.as_deref()?;
                        Pattern::new(p).map(|r| (name.clone(), r))
                    })
                    .collect()
            })
            .get(shape_name)
    }
}

/// A model pattern. Most compile with `regex` (linear time); the few with look-around
/// (`(?!enabled$)…` in the newest model) need the backtracking `fancy-regex`.
pub enum Pattern {
    Linear(Regex),
    LookAround(fancy_regex::Regex),
}

impl Pattern {
    fn new(p: &str) -> Option<Pattern> {
        match Regex::new(p) {
            Ok(r) => Some(Pattern::Linear(r)),
            Err(_) => fancy_regex::Regex::new(p).ok().map(Pattern::LookAround),
        }
    }

    pub fn is_match(&self, s: &str) -> bool {
        match self {
            Pattern::Linear(r) => r.is_match(s),
            // An input that exhausts the backtracking limit does not match.
            Pattern::LookAround(r) => r.is_match(s).unwrap_or(false),
        }
    }
}

/// The AppConfig control-plane model, parsed once.
pub fn appconfig() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    // The model is compiled into the binary and checked by tests, so failing here is a build bug.
    MODEL.get_or_init(|| {
        serde_json::from_str(APPCONFIG_MODEL).expect("embedded AppConfig model is valid JSON")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_loads_with_56_operations_and_all_patterns_compile() {
        let m = appconfig();
        assert_eq!(m.operations.len(), 56);
        for (name, s) in &m.shapes {
            if let Some(p) = &s.pattern {
                assert!(m.pattern(name).is_some(), "pattern of {name} compiles: {p}");
            }
        }
    }
}
