//! Assignment over 10,000 simulated entities: weights, exposure share, monotone exposure,
//! stability, re-randomisation per run, overrides, audience.

use std::collections::BTreeMap;

use super::*;

const N: usize = 10_000;

fn treatment(key: &str, weight: f64, enabled: bool) -> api::Treatment {
    let mut attributes = BTreeMap::new();
    attributes.insert(
        "color".to_owned(),
        api::AttributeValue::StringValue(format!("{key}-color")),
    );
    api::Treatment {
        description: None,
        flag_value: api::FlagValue {
            enabled,
            attribute_values: Some(attributes),
        },
        key: Some(key.to_owned()),
        weight,
    }
}

fn run(number: i64, exposure: f64, weights: &[f64], rule: &str) -> Run {
    let (control, treatments) = weights.split_first().expect("a control weight");
    Run {
        application_id: "app1234".into(),
        experiment_definition_id: "def1234".into(),
        run: number,
        description: None,
        status: api::ExperimentRunStatus::Running,
        exposure_percentage: exposure,
        treatment_overrides: None,
        result: None,
        started_at: String::new(),
        updated_at: String::new(),
        ended_at: None,
        experiment_definition_snapshot: api::ExperimentDefinitionSnapshot {
            application_id: Some("app1234".into()),
            audience_description: None,
            audience_rule: Some(rule.into()),
            configuration_profile_id: Some("prof123".into()),
            control: Some(treatment("c", *control, false)),
            environment_id: Some("env1234".into()),
            flag_key: Some("checkout".into()),
            hypothesis: None,
            id: Some("def1234".into()),
            launch_criteria: None,
            name: Some("exp".into()),
            treatments: Some(
                treatments
                    .iter()
                    .enumerate()
                    .map(|(i, w)| treatment(&format!("t{}", i + 1), *w, true))
                    .collect(),
            ),
        },
        events: Vec::new(),
    }
}

const EVERYONE: &str = "(exists key::\"plan\")";

fn context() -> Context {
    Context::from_iter([("plan", "gold")])
}

fn entities() -> impl Iterator<Item = String> {
    (0..N).map(|i| format!("user-{i}"))
}

/// Each entity's variant (or `None`).
fn assignments(a: &Assigner, ctx: &Context) -> Vec<Option<String>> {
    entities()
        .map(|e| a.assign(Some(&e), ctx).map(|x| x.variant.clone()))
        .collect()
}

fn share(all: &[Option<String>], variant: &str) -> f64 {
    all.iter().filter(|v| v.as_deref() == Some(variant)).count() as f64 / N as f64
}

#[test]
fn weights_are_honoured_and_normalised() {
    // 20/30/50 written as 2/3/5: weights are shares of their total.
    let a = Assigner::new(&run(1, 100.0, &[2.0, 3.0, 5.0], EVERYONE), "acct");
    let all = assignments(&a, &context());
    assert!(all.iter().all(Option::is_some));
    for (variant, want) in [("__c__", 0.2), ("__t1__", 0.3), ("__t2__", 0.5)] {
        let got = share(&all, variant);
        assert!((got - want).abs() < 0.02, "{variant}: {got} vs {want}");
    }
}

#[test]
fn zero_weights_never_win_and_zero_total_assigns_nobody() {
    let a = Assigner::new(&run(1, 100.0, &[0.0, 1.0, 0.0, 1.0], EVERYONE), "acct");
    let all = assignments(&a, &context());
    assert_eq!(share(&all, "__c__"), 0.0);
    assert_eq!(share(&all, "__t2__"), 0.0);
    assert!((share(&all, "__t1__") - 0.5).abs() < 0.02);
    assert!((share(&all, "__t3__") - 0.5).abs() < 0.02);

    let none = Assigner::new(&run(1, 100.0, &[0.0, 0.0], EVERYONE), "acct");
    assert!(assignments(&none, &context()).iter().all(Option::is_none));
}

#[test]
fn exposure_share_is_honoured() {
    for exposure in [0.0, 10.0, 37.5, 100.0] {
        let a = Assigner::new(&run(1, exposure, &[50.0, 50.0], EVERYONE), "acct");
        let all = assignments(&a, &context());
        let exposed = all.iter().filter(|v| v.is_some()).count() as f64 / N as f64;
        assert!(
            (exposed - exposure / 100.0).abs() < 0.015,
            "{exposure}: {exposed}"
        );
    }
}

#[test]
fn raising_exposure_keeps_everyone_exposed_in_place() {
    let weights = [50.0, 30.0, 20.0];
    let mut before = assignments(
        &Assigner::new(&run(3, 5.0, &weights, EVERYONE), "acct"),
        &context(),
    );
    for exposure in [20.0, 50.0, 75.0, 100.0] {
        let after = assignments(
            &Assigner::new(&run(3, exposure, &weights, EVERYONE), "acct"),
            &context(),
        );
        for (b, a) in before.iter().zip(&after) {
            if b.is_some() {
                assert_eq!(b, a, "an exposed entity was dropped or reshuffled");
            }
        }
        assert!(after.iter().flatten().count() > before.iter().flatten().count());
        before = after;
    }
}

#[test]
fn assignment_is_stable_per_entity() {
    let r = run(1, 60.0, &[1.0, 1.0, 1.0], EVERYONE);
    let first = assignments(&Assigner::new(&r, "acct"), &context());
    // A fresh compile (another node, a restart) and a second call agree.
    let again = assignments(&Assigner::new(&r, "acct"), &context());
    assert_eq!(first, again);
}

#[test]
fn a_new_run_re_randomises() {
    let one = assignments(
        &Assigner::new(&run(1, 50.0, &[1.0, 1.0], EVERYONE), "acct"),
        &context(),
    );
    let two = assignments(
        &Assigner::new(&run(2, 50.0, &[1.0, 1.0], EVERYONE), "acct"),
        &context(),
    );
    let same = one.iter().zip(&two).filter(|(a, b)| a == b).count() as f64 / N as f64;
    // Independent draws: exposed (50 %) × same arm (50 %) twice, plus both unexposed (25 %),
    // agree 0.5·0.5·0.5 + 0.25 = 37.5 % of the time; a copied run would agree 100 %.
    assert!((same - 0.375).abs() < 0.03, "{same}");
    // Another account's identical ids are another population too.
    let other = assignments(
        &Assigner::new(&run(1, 50.0, &[1.0, 1.0], EVERYONE), "acct2"),
        &context(),
    );
    assert_ne!(one, other);
}

#[test]
fn overrides_win_at_zero_exposure_and_outside_the_audience() {
    let mut r = run(1, 0.0, &[50.0, 50.0], "(eq $plan \"gold\")");
    let mut inline = BTreeMap::new();
    inline.insert("qa-1".to_owned(), "t1".to_owned());
    inline.insert("qa-2".to_owned(), "c".to_owned());
    inline.insert("qa-3".to_owned(), "t9".to_owned());
    r.treatment_overrides = Some(api::TreatmentOverrides::Inline(inline));
    let a = Assigner::new(&r, "acct");
    let silver = Context::from_iter([("plan", "silver")]);
    let t1 = a.assign(Some("qa-1"), &silver).expect("override");
    assert_eq!((t1.key.as_str(), t1.variant.as_str()), ("t1", "__t1__"));
    assert_eq!(
        t1.json,
        r#"{"_variant":"__t1__","enabled":true,"color":"t1-color"}"#
    );
    assert_eq!(t1.body, t1.json.as_bytes());
    let c = a.assign(Some("qa-2"), &Context::new()).expect("override");
    // The control is disabled here: no attributes, as a disabled flag is delivered.
    assert_eq!(c.json, r#"{"_variant":"__c__","enabled":false}"#);
    // An override naming no arm is ignored; nobody else is exposed at 0 %.
    assert!(a.assign(Some("qa-3"), &context()).is_none());
    assert!(assignments(&a, &context()).iter().all(Option::is_none));
    // No entity, no treatment (not even for an override's id given as context).
    assert!(a.assign(None, &context()).is_none());
}

#[test]
fn the_audience_rule_is_respected() {
    let a = Assigner::new(&run(1, 100.0, &[1.0, 1.0], "(eq $plan \"gold\")"), "acct");
    assert!(assignments(&a, &context()).iter().all(Option::is_some));
    let silver = Context::from_iter([("plan", "silver")]);
    assert!(assignments(&a, &silver).iter().all(Option::is_none));
    assert!(assignments(&a, &Context::new()).iter().all(Option::is_none));
    // An unparsable rule (never stored by the operations) lets nobody in.
    let broken = Assigner::new(&run(1, 100.0, &[1.0, 1.0], "(eq"), "acct");
    assert!(assignments(&broken, &context()).iter().all(Option::is_none));
}

#[test]
fn attribute_values_render_as_json_scalars_and_arrays() {
    let mut r = run(1, 100.0, &[0.0, 1.0], EVERYONE);
    let mut attributes = BTreeMap::new();
    attributes.insert(
        "s".to_owned(),
        api::AttributeValue::StringValue("x\"y".into()),
    );
    attributes.insert("n".to_owned(), api::AttributeValue::NumberValue(3.0));
    attributes.insert("f".to_owned(), api::AttributeValue::NumberValue(1.5));
    attributes.insert("b".to_owned(), api::AttributeValue::BooleanValue(false));
    attributes.insert(
        "sa".to_owned(),
        api::AttributeValue::StringArray(vec!["a".into(), "b".into()]),
    );
    attributes.insert(
        "na".to_owned(),
        api::AttributeValue::NumberArray(vec![1.0, 2.25]),
    );
    if let Some(ts) = r.experiment_definition_snapshot.treatments.as_mut() {
        ts[0].flag_value.attribute_values = Some(attributes);
    }
    let a = Assigner::new(&r, "acct");
    let got = a.assign(Some("u"), &context()).expect("assigned");
    let v: Value = serde_json::from_str(&got.json).unwrap_or_default();
    assert_eq!(
        v,
        serde_json::json!({"_variant":"__t1__","enabled":true,"s":"x\"y","n":3,"f":1.5,
            "b":false,"sa":["a","b"],"na":[1,2.25]})
    );
    assert_eq!(a.flag_key(), "checkout");
    assert_eq!(a.arms().len(), 2);
}

#[test]
fn long_entity_ids_hash_like_short_ones() {
    let a = Assigner::new(&run(1, 50.0, &[1.0, 1.0], EVERYONE), "acct");
    let long = "e".repeat(2048);
    let first = a.assign(Some(&long), &context()).map(|x| x.index);
    assert_eq!(first, a.assign(Some(&long), &context()).map(|x| x.index));
}
