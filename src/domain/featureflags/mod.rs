//! Feature-flag documents (configuration profile type `AWS.AppConfig.FeatureFlags`).
//!
//! A feature-flag profile has two forms:
//!
//! * the **stored form**, which users upload with CreateHostedConfigurationVersion and get back
//!   unchanged from GetHostedConfigurationVersion:
//!   `{"version": "1", "flags": {<key>: <definition>}, "values": {<key>: {"enabled": …, <attr>: …}}}`.
//!   Definitions carry names, descriptions and attribute constraints; values carry the state.
//! * the **retrieval form**, which the data plane (GetLatestConfiguration, the agent) serves:
//!   just the values, lifted to the top level, without definitions or internal `_…` keys:
//!   `{<key>: {"enabled": false}}` or `{<key>: {"enabled": true, <attr>: <value>, …}}`.
//!
//! [`validate`] checks the stored form the way AWS does: against the published JSON schema (the
//! newer revision, which allows `_` in flag keys and only requires `version`), and then every
//! attribute value against the constraints declared for it. [`to_retrieval_form`] derives the
//! retrieval form from a document that passed validation.
//!
//! Where things live:
//! * this file: the public API and the schema's limits and member names;
//! * [`problems`]: collecting problems as `InvalidConfigurationDetail`s, with their JSON-path
//!   locations, and the shape checks every part uses (wrong type, unknown or missing member);
//! * [`scalars`]: rules for single values used in several places (keys, names, lengths, dates);
//! * [`document`]: the top level and the flag definitions, including attribute definitions;
//! * [`constraints`]: attribute constraints, parsed from definitions and applied to values;
//! * [`values`]: the `values` section (flag state, attribute values, variants);
//! * [`retrieval`]: the retrieval form;
//! * [`rules`]: the multi-variant rule language (parse, evaluate, split);
//! * [`evaluated`]: a deployed document compiled for the data plane ([`Compiled`]): variant
//!   flags evaluated per request context, the JSON and Ion retrieval formats.

mod constraints;
mod document;
mod evaluated;
mod problems;
mod retrieval;
pub mod rules;
mod scalars;
mod values;

#[cfg(test)]
mod tests;

pub use evaluated::{evaluate_with_explanation, Compiled, Owner, UnknownFlag, ION_CONTENT_TYPE};
pub use retrieval::to_retrieval_form;
pub use rules::Context;

use crate::domain::error::InvalidConfigurationDetail;

/// AWS's 2023 schema caps a document at 100 flags (the newer excerpt is silent; we keep the cap).
const MAX_FLAGS: usize = 100;
const MAX_ATTRIBUTES: usize = 25;
const MAX_ENUM_ITEMS: usize = 100;
/// Limit for descriptions, string attribute values and constraint patterns / enum strings.
const MAX_STRING_CHARS: usize = 1024;
const MAX_NAME_CHARS: usize = 64;
const MAX_RULE_CHARS: usize = 16384;
/// The schema's `"maxLength": 32` on `_variants` (meant as items; the default counts).
const MAX_VARIANTS: usize = 32;
/// Offending values are echoed back to the caller; keep that echo short.
const MAX_RENDERED_VALUE_CHARS: usize = 200;

const TOP_LEVEL_MEMBERS: [&str; 3] = ["version", "flags", "values"];
const SUPPORTED_VERSION: &str = "1";
const TIMESTAMP_MEMBERS: [&str; 2] = ["_createdAt", "_updatedAt"];
const VARIANTS_MEMBER: &str = "_variants";
const ENABLED: &str = "enabled";

/// Validates a stored-form feature-flag document (the bytes a user uploads with
/// CreateHostedConfigurationVersion). Returns every problem found (not just the first).
pub fn validate(content: &[u8]) -> Result<(), Vec<InvalidConfigurationDetail>> {
    let mut problems = problems::Problems::default();
    if let Some(document) = document::parse_document(content, &mut problems) {
        document::check_document(&document, &mut problems);
    }
    problems.into_result()
}
