//! Cost of evaluating multi-variant flags (issue 14: under 2 µs for a flag with 10 variants
//! and splits). `cargo bench --bench flags` prints ns per evaluation.

use std::hint::black_box;
use std::time::Instant;

use appconfigd::domain::featureflags::{Compiled, Context, Owner};
use serde_json::{json, Value};

/// One flag `ten` with nine ruled variants (each with a `split`, most with a condition first)
/// and a default: ten variants.
fn document() -> Value {
    let rules = [
        r#"(and (eq $tier "gold") (split by::$userId pct::50))"#,
        r#"(and (in $country ["DE", "FR", "IT"]) (split by::$userId pct::20 seed::"eu"))"#,
        r#"(and (gte $age 65) (split by::$userId pct::30))"#,
        r#"(and (ends_with $email "@example.com") (split by::$userId pct::10))"#,
        r#"(and (matches in::$device pattern::"^iPhone1[0-9]") (split by::$userId pct::5))"#,
        r#"(and (exists key::"beta") (split by::$userId pct::40 seed::"beta"))"#,
        r#"(and (lt $signup 2024-01) (split by::$userId pct::25))"#,
        r#"(or (eq $plan "enterprise") (split by::$userId pct::1 seed::"canary"))"#,
        r#"(split by::$userId pct::0.5 seed::"tail")"#,
    ];
    let mut variants: Vec<Value> = rules
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            json!({"name": format!("v{i}"), "enabled": true, "rule": rule,
                   "attributeValues": {"level": i}})
        })
        .collect();
    variants.push(json!({"name": "default", "enabled": false}));
    json!({"version": "1",
        "flags": {"ten": {"name": "ten", "attributes": {"level": {"constraints": {"type": "number"}}}}},
        "values": {"ten": {"_variants": variants}}})
}

fn time(what: &str, iterations: u32, mut f: impl FnMut(u32)) {
    for i in 0..iterations / 10 {
        f(i); // warm-up
    }
    let start = Instant::now();
    for i in 0..iterations {
        f(i);
    }
    let ns = start.elapsed().as_nanos() as f64 / f64::from(iterations);
    println!("{what:<58} {ns:>8.0} ns/eval");
}

fn main() {
    let content = document().to_string();
    appconfigd::domain::featureflags::validate(content.as_bytes()).expect("valid document");
    let owner = Owner {
        account: "000000000000",
        application: "app",
        profile: "profile",
    };
    let flags = Compiled::new(content.as_bytes(), owner).expect("compiles");
    let users: Vec<String> = (0..1024)
        .map(|i| format!("user-{i:08}@corp.test"))
        .collect();
    // A context that meets no condition: every variant's rule runs (and the last three splits
    // hash), the default answers. The worst case for a first-match list.
    let miss = |user: &str| -> Context {
        [
            ("userId", user),
            ("tier", "silver"),
            ("country", "US"),
            ("age", "30"),
            ("email", "someone@corp.test"),
            ("device", "Pixel 8"),
            ("signup", "2024-06-01T00:00:00Z"),
            ("plan", "free"),
        ]
        .into_iter()
        .collect()
    };
    let contexts: Vec<Context> = users.iter().map(|u| miss(u)).collect();
    const N: u32 = 1_000_000;
    println!("flag with 10 variants (9 rules, each with a split), {N} evaluations each:");
    time(
        "evaluate (choose the variant), context matching no condition",
        N,
        |i| {
            let c = &contexts[i as usize % contexts.len()];
            black_box(flags.explain(black_box("ten"), c));
        },
    );
    let every_split: Vec<Context> = users
        .iter()
        .map(|u| {
            let mut c = miss(u);
            c.insert("tier", "gold");
            c.insert("country", "DE");
            c.insert("age", "70");
            c.insert("beta", "1");
            c
        })
        .collect();
    time(
        "evaluate, context meeting the conditions (splits decide)",
        N,
        |i| {
            let c = &every_split[i as usize % every_split.len()];
            black_box(flags.explain(black_box("ten"), c));
        },
    );
    let wanted = ["ten".to_owned()];
    time(
        "agent answer for ?flag=ten (evaluate + JSON body)",
        N,
        |i| {
            let c = &contexts[i as usize % contexts.len()];
            black_box(flags.answer(c, Some(&wanted)).ok());
        },
    );
    let header = "userId=user-1@corp.test, tier=silver, country=US, age=30";
    time("parse a Context header of 4 pairs", N, |_| {
        black_box(Context::from_headers([black_box(header)]).ok());
    });
}
