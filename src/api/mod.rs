//! Rust types for every shape of the embedded AWS models, generated at build time by
//! `build.rs` (so they cannot drift from the model the wire layer validates against). Inputs
//! arrive here after the wire layer bound and checked them; outputs serialize to the exact
//! member names of the model.

/// AppConfig control plane (`model/appconfig-2019-10-09.json`, the newest published model).
#[allow(dead_code, clippy::all)]
pub mod appconfig {
    include!(concat!(env!("OUT_DIR"), "/appconfig.rs"));
}

/// AppConfigData (`model/appconfigdata-2021-11-11.json`).
#[allow(dead_code, clippy::all)]
pub mod appconfigdata {
    include!(concat!(env!("OUT_DIR"), "/appconfigdata.rs"));
}

/// A string that names no member of a model enum (`FromStr` of every generated enum).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
}
