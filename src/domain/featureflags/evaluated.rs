//! Multi-variant flags, compiled once per deployed version and evaluated per request.
//!
//! [`Compiled`] holds, for every flag of a validated document, either its fixed retrieval JSON
//! (basic flag) or its parsed variant rules with each variant's answer pre-rendered
//! (`{"_variant": name, "enabled": …, <attributes when enabled>}`). It also holds the two
//! whole-document answers that need no context: the JSON one (every variant flag evaluated with
//! an empty context, served to plain GetLatestConfiguration callers and to agent reads without
//! `Context`) and the Ion retrieval format (`application/ion;type=AWS.AppConfig.FeatureFlags`).

use bytes::Bytes;
use ion_rs::{v1_0, Element, Sequence};
use serde_json::{Map, Value};

use super::retrieval::to_retrieval_form;
use super::rules::{implicit_seed, parse, to_ion_element, Context, Rule};
use super::{ENABLED, VARIANTS_MEMBER};

/// The Ion retrieval format's content type (as the AppConfig Agent asks for it).
pub const ION_CONTENT_TYPE: &str = "application/ion; type=AWS.AppConfig.FeatureFlags";

/// A deployed feature-flag document, ready to answer.
#[derive(Debug)]
pub struct Compiled {
    flags: Vec<Flag>,
    json: Bytes,
    ion: Bytes,
    has_variants: bool,
}

#[derive(Debug)]
struct Flag {
    key: String,
    /// `"key":`, JSON-escaped once.
    key_json: String,
    form: Form,
    /// This flag's answer to an empty context (the JSON object).
    empty: String,
}

#[derive(Debug)]
enum Form {
    Basic,
    Variants(Variants),
}

#[derive(Debug)]
struct Variants {
    /// The variants with a rule, in order (the default excluded).
    ruled: Vec<Variant>,
    default: Answer,
    implicit_seed: String,
}

#[derive(Debug)]
struct Variant {
    /// `None` when the stored rule does not parse (a version stored before rules were
    /// checked): such a variant never matches.
    rule: Option<Rule>,
    rule_text: String,
    answer: Answer,
}

#[derive(Debug)]
struct Answer {
    name: String,
    json: String,
}

/// Whose flags these are: the implicit `split` seed of flag `k` is
/// `"<account>:<application>:<profile>:<k>"`.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub account: &'a str,
    pub application: &'a str,
    pub profile: &'a str,
}

/// A flag key asked for with `?flag=` that the document does not define.
#[derive(Debug, PartialEq, Eq)]
pub struct UnknownFlag(pub String);

impl Compiled {
    /// Compiles a stored-form document (one that passed [`super::validate`]). `None` if it is
    /// not a feature-flag document at all.
    pub fn new(content: &[u8], owner: Owner<'_>) -> Option<Compiled> {
        let retrieval = to_retrieval_form(content)?;
        let document: Value = serde_json::from_slice(content).ok()?;
        let values = document.get("values").and_then(Value::as_object);
        let mut flags = Vec::new();
        let mut ion = Vec::new();
        for (key, delivered) in retrieval.as_object()? {
            let stored = values
                .and_then(|v| v.get(key))
                .and_then(|v| v.get(VARIANTS_MEMBER));
            let seed = implicit_seed(owner.account, owner.application, owner.profile, key);
            let form = match stored.and_then(|v| compile_variants(v, seed)) {
                Some(variants) => Form::Variants(variants),
                None => Form::Basic,
            };
            let (empty, ion_value) = match &form {
                Form::Basic => {
                    let json = delivered.to_string();
                    (json.clone(), Element::string(json))
                }
                Form::Variants(v) => (v.choose(&Context::new()).0.json.clone(), v.to_ion()),
            };
            ion.push(ion_value.with_annotations([key.as_str()]));
            flags.push(Flag {
                key_json: format!("{}:", Value::from(key.as_str())),
                key: key.clone(),
                form,
                empty,
            });
        }
        let has_variants = flags.iter().any(|f| matches!(f.form, Form::Variants(_)));
        let json = Bytes::from(render(flags.iter().map(|f| (f, f.empty.as_str()))));
        // Encoding an in-memory element tree into a Vec cannot fail short of a bug in the
        // encoder; an empty body is the safe fallback.
        let ion = Sequence::new(ion)
            .encode_as(v1_0::Binary)
            .unwrap_or_default();
        Some(Compiled {
            flags,
            json,
            ion: Bytes::from(ion),
            has_variants,
        })
    }

    /// The JSON retrieval form with every variant flag evaluated for an empty context.
    pub fn json(&self) -> &Bytes {
        &self.json
    }

    /// The Ion retrieval format (binary Ion 1.0, local symbols only).
    pub fn ion(&self) -> &Bytes {
        &self.ion
    }

    /// The agent's answer for `context`: every flag, or with `wanted` (`?flag=`) one flag's
    /// bare object or a map of several.
    pub fn answer(
        &self,
        context: &Context,
        wanted: Option<&[String]>,
    ) -> Result<Bytes, UnknownFlag> {
        let Some(wanted) = wanted else {
            if context.is_empty() || !self.has_variants {
                return Ok(self.json.clone());
            }
            let answers = self.flags.iter().map(|f| (f, f.evaluate(context)));
            return Ok(Bytes::from(render(answers)));
        };
        let chosen = wanted
            .iter()
            .map(|k| self.flag(k).ok_or_else(|| UnknownFlag(k.clone())))
            .collect::<Result<Vec<&Flag>, _>>()?;
        if let [flag] = chosen.as_slice() {
            return Ok(Bytes::copy_from_slice(flag.evaluate(context).as_bytes()));
        }
        let answers = chosen.into_iter().map(|f| (f, f.evaluate(context)));
        Ok(Bytes::from(render(answers)))
    }

    /// [`Compiled::answer`] with some flags' answers replaced: `overlay(key)` gives the
    /// pre-rendered object to serve for flag `key` instead of its evaluation (an experiment's
    /// treatment), `None` to evaluate it as usual.
    pub fn answer_overlaid<'a>(
        &'a self,
        context: &Context,
        wanted: Option<&[String]>,
        overlay: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Bytes, UnknownFlag> {
        let pick = |f: &'a Flag| overlay(&f.key).unwrap_or_else(|| f.evaluate(context));
        let Some(wanted) = wanted else {
            return Ok(Bytes::from(render(self.flags.iter().map(|f| (f, pick(f))))));
        };
        let chosen = wanted
            .iter()
            .map(|k| self.flag(k).ok_or_else(|| UnknownFlag(k.clone())))
            .collect::<Result<Vec<&Flag>, _>>()?;
        if let [flag] = chosen.as_slice() {
            return Ok(Bytes::copy_from_slice(pick(flag).as_bytes()));
        }
        Ok(Bytes::from(render(
            chosen.into_iter().map(|f| (f, pick(f))),
        )))
    }

    /// Whether the document defines flag `key`.
    pub fn contains(&self, key: &str) -> bool {
        self.flag(key).is_some()
    }

    /// The variant `context` gets for flag `key` and the rule that chose it (`None`: the
    /// default). `None` if there is no such multi-variant flag.
    pub fn explain(&self, key: &str, context: &Context) -> Option<(&str, Option<&str>)> {
        match &self.flag(key)?.form {
            Form::Variants(v) => {
                let (answer, rule) = v.choose(context);
                Some((answer.name.as_str(), rule))
            }
            Form::Basic => None,
        }
    }

    fn flag(&self, key: &str) -> Option<&Flag> {
        self.flags.iter().find(|f| f.key == key)
    }
}

impl Flag {
    /// This flag's answer (a JSON object) for `context`.
    fn evaluate(&self, context: &Context) -> &str {
        match &self.form {
            Form::Variants(v) if !context.is_empty() => &v.choose(context).0.json,
            _ => &self.empty,
        }
    }
}

/// `{"k1":<answer>,"k2":<answer>}` from pre-rendered pieces.
fn render<'a>(pieces: impl Iterator<Item = (&'a Flag, &'a str)>) -> String {
    let mut out = String::from("{");
    for (i, (flag, answer)) in pieces.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&flag.key_json);
        out.push_str(answer);
    }
    out.push('}');
    out
}

impl Variants {
    /// First variant whose rule holds, else the default; with the rule text that matched.
    fn choose(&self, context: &Context) -> (&Answer, Option<&str>) {
        for variant in &self.ruled {
            if let Some(rule) = &variant.rule {
                if rule.matches(context, &self.implicit_seed) {
                    return (&variant.answer, Some(variant.rule_text.as_str()));
                }
            }
        }
        (&self.default, None)
    }

    /// `[[rule, content] (annotated with the variant name) …, default content]`.
    fn to_ion(&self) -> Element {
        let mut items: Vec<Element> = Vec::with_capacity(self.ruled.len() + 1);
        for variant in &self.ruled {
            // A rule that does not read as Ion never matches; it is left out.
            let Some(rule) = to_ion_element(&variant.rule_text) else {
                continue;
            };
            let tuple = Sequence::new([rule, Element::string(variant.answer.json.as_str())]);
            items.push(
                Element::from(ion_rs::List::from(tuple))
                    .with_annotations([variant.answer.name.as_str()]),
            );
        }
        items.push(Element::string(self.default.json.as_str()));
        Element::from(ion_rs::List::from(Sequence::new(items)))
    }
}

/// The stored `_variants` array as [`Variants`]; `None` if it is not a non-empty array of
/// variant objects (validation refuses that; the flag is then served as a basic flag).
fn compile_variants(stored: &Value, implicit_seed: String) -> Option<Variants> {
    let stored = stored.as_array()?;
    let (last, ruled) = stored.split_last()?;
    let ruled = ruled
        .iter()
        .map(|v| {
            let rule_text = v
                .get("rule")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            Some(Variant {
                rule: parse(&rule_text).ok(),
                rule_text,
                answer: answer(v)?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Variants {
        ruled,
        default: answer(last)?,
        implicit_seed,
    })
}

/// A variant's answer: `_variant`, `enabled`, and its attribute values when enabled.
fn answer(variant: &Value) -> Option<Answer> {
    let name = variant.get("name")?.as_str()?.to_owned();
    let enabled = variant
        .get(ENABLED)
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut object = Map::new();
    object.insert("_variant".to_owned(), Value::from(name.as_str()));
    object.insert(ENABLED.to_owned(), Value::Bool(enabled));
    if enabled {
        if let Some(attributes) = variant.get("attributeValues").and_then(Value::as_object) {
            for (k, v) in attributes {
                object.insert(k.clone(), v.clone());
            }
        }
    }
    Some(Answer {
        name,
        json: Value::Object(object).to_string(),
    })
}

/// For a console "try a context" box: which variant of flag `flag_key` in the stored document
/// `document` the context gets, and the rule text that chose it (`None`: no rule matched, the
/// default). `None` if the document has no such multi-variant flag.
pub fn evaluate_with_explanation(
    document: &[u8],
    flag_key: &str,
    context: &Context,
    implicit_seed: &str,
) -> Option<(String, Option<String>)> {
    let value: Value = serde_json::from_slice(document).ok()?;
    let stored = value.get("values")?.get(flag_key)?.get(VARIANTS_MEMBER)?;
    let variants = compile_variants(stored, implicit_seed.to_owned())?;
    let (answer, rule) = variants.choose(context);
    Some((answer.name.clone(), rule.map(str::to_owned)))
}
