use super::parse::normalize_year_month;
use super::*;

fn rule(text: &str) -> Rule {
    parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// A context as `key=value` pairs.
type Pairs<'a> = &'a [(&'a str, &'a str)];

fn holds(text: &str, pairs: Pairs) -> bool {
    let context: Context = pairs.iter().copied().collect();
    rule(text).matches(&context, "implicit")
}

fn refused(text: &str) -> String {
    match parse(text) {
        Ok(r) => panic!("{text} was accepted: {r:?}"),
        Err(e) => e,
    }
}

#[test]
fn documented_operator_examples() {
    // digest A2.2 / A2.5 (5): (rule, context, holds)
    let both = r#"(and (eq $state "Virginia") (gt $age 65))"#;
    let either = r#"(or (eq $state "Virginia") (gt $age 65))"#;
    #[rustfmt::skip]
    let cases: &[(&str, Pairs, bool)] = &[
        (r#"(eq $state "Virginia")"#, &[("state", "Virginia")], true),
        (r#"(eq $state "Virginia")"#, &[("state", "Ohio")], false),
        ("(gt $age 65)", &[("age", "70")], true),
        ("(gt $age 65)", &[("age", "65")], false),
        ("(gte $age 65)", &[("age", "65")], true),
        ("(lt $age 65)", &[("age", "64")], true),
        ("(lt $age 65)", &[("age", "65")], false),
        ("(lte $age 65)", &[("age", "65")], true),
        ("(lte $age 65)", &[("age", "66")], false),
        (both, &[("state", "Virginia"), ("age", "70")], true),
        (both, &[("state", "Virginia"), ("age", "60")], false),
        (either, &[("state", "Ohio"), ("age", "70")], true),
        (either, &[("state", "Ohio"), ("age", "60")], false),
        (r#"(not (eq $state "Virginia"))"#, &[("state", "Ohio")], true),
        (r#"(not (eq $state "Virginia"))"#, &[("state", "Virginia")], false),
        (r#"(begins_with $state "A")"#, &[("state", "Alabama")], true),
        (r#"(begins_with $state "A")"#, &[("state", "Ohio")], false),
        (r#"(ends_with $email "amazon.com")"#, &[("email", "a@amazon.com")], true),
        (r#"(ends_with $email "amazon.com")"#, &[("email", "a@example.com")], false),
        (r#"(contains $promoCode "WIN")"#, &[("promoCode", "BIGWIN24")], true),
        (r#"(contains $promoCode "WIN")"#, &[("promoCode", "win")], false),
        (r#"(in $userId ["123", "456"])"#, &[("userId", "456")], true),
        (r#"(in $userId ["123", "456"])"#, &[("userId", "789")], false),
        (r#"(matches in::$greeting pattern::"h.*y")"#, &[("greeting", "hey")], true),
        (r#"(matches in::$greeting pattern::"h.*y")"#, &[("greeting", "hello")], false),
        (r#"(matches pattern::"h.*y" in::$greeting)"#, &[("greeting", "oh hey!")], true),
        (r#"(exists key::"country")"#, &[("country", "")], true),
        (r#"(exists key::"country")"#, &[("region", "x")], false),
        (r#"(ne $region "us-west-2")"#, &[("region", "us-east-1")], true),
        (r#"(ne $region "us-west-2")"#, &[("region", "us-west-2")], false),
    ];
    for (text, context, expected) in cases {
        assert_eq!(holds(text, context), *expected, "{text} with {context:?}");
    }
    // Named operands in any order, seeds optional.
    for text in [
        "(split pct::100 by::$userId)",
        "(split by::$userId pct::100)",
        r#"(split pct::100 by::$userId seed::"abc")"#,
    ] {
        assert!(holds(text, &[("userId", "u1")]), "{text}");
        assert!(!holds(text, &[]), "{text}");
    }
    assert!(!holds("(split by::$userId pct::0)", &[("userId", "u1")]));
}

#[test]
fn local_dev_sample_rules() {
    // digest A4.2 / A2.5 (4): tiered_release.
    let tiered = r#"(or (and (eq $group "Tier1") (split by::$userId pct::1 seed::"2025.01.01"))
                        (and (eq $group "Tier2") (split by::$userId pct::7 seed::"2025.01.01")))"#;
    let tiered = rule(tiered);
    let share = |group: &str| {
        (0..20_000)
            .filter(|i| {
                let c: Context = [("group", group.to_owned()), ("userId", format!("u{i}"))]
                    .into_iter()
                    .collect();
                tiered.matches(&c, "s")
            })
            .count() as f64
            / 20_000.0
    };
    assert!((share("Tier1") - 0.01).abs() < 0.003, "{}", share("Tier1"));
    assert!((share("Tier2") - 0.07).abs() < 0.008, "{}", share("Tier2"));
    assert_eq!(share("Tier3"), 0.0);
    assert!(holds(
        r#"(contains $userId "beta")"#,
        &[("userId", "a-beta-user")]
    ));
}

#[test]
fn context_strings_are_coerced_to_the_constants_type() {
    assert!(holds("(eq $n 3.14)", &[("n", "3.14")]));
    assert!(holds("(eq $n 3.140)", &[("n", "3.14")]));
    assert!(holds("(gt $n 1.234e-5)", &[("n", "0.001")]));
    assert!(holds("(eq $n 42)", &[("n", "42.0")]));
    assert!(holds("(lt $n 42)", &[("n", "41.5")]));
    assert!(holds("(eq $n -7)", &[("n", "-7")]));
    assert!(
        holds("(gt $age 65)", &[("age", "100")]),
        "numeric, not text order"
    );
    assert!(
        !holds("(gt $age 65)", &[("age", "abc")]),
        "no number: false"
    );
    assert!(!holds("(not (gt $age 65))", &[("age", "100")]));
    assert!(holds("(eq $b true)", &[("b", "TRUE")]));
    assert!(holds("(eq $b false)", &[("b", "false")]));
    assert!(!holds("(eq $b true)", &[("b", "yes")]));
    let ts = "(gt $at 2012-03-04T05:06:07-08:00)";
    assert!(holds(ts, &[("at", "2012-03-04T13:06:08Z")]));
    assert!(
        !holds(ts, &[("at", "2012-03-04T13:06:07Z")]),
        "same instant"
    );
    assert!(holds(
        "(eq $at 2012-03-04T05:06:07-08:00)",
        &[("at", "2012-03-04T13:06:07Z")]
    ));
    assert!(holds("(gte $at 2024-01)", &[("at", "2024-01-01")]));
    assert!(holds("(lt $at 2024-01)", &[("at", "2023-12-31T23:59:59Z")]));
    assert!(holds("(lt $at 2024-01T)", &[("at", "2023-12")]));
    assert!(!holds("(lt $at 2024-01)", &[("at", "not a date")]));
    let deep = "[".repeat(20_000);
    assert!(!holds("(lt $at 2024-01)", &[("at", deep.as_str())]));
    assert!(
        holds("(lt $at 2024-01)", &[("at", "2023")]),
        "a bare year is a year"
    );
    // Text operators and string comparison use the raw string, ordered by code point.
    assert!(holds(r#"(gt $s "B")"#, &[("s", "a")]));
    assert!(holds(r#"(eq $s "65")"#, &[("s", "65")]));
    assert!(!holds(r#"(eq $s "65")"#, &[("s", "65.0")]));
    // `in` coerces like eq; constants may mix types.
    assert!(holds("(in $n [1, 2, 3])", &[("n", "2")]));
    assert!(holds(r#"(in $n ["x", 2.5])"#, &[("n", "2.50")]));
    // Operands in any position; two context values compare as strings.
    assert!(holds("(lt 65 $age)", &[("age", "70")]));
    assert!(holds("(eq $a $b)", &[("a", "x"), ("b", "x")]));
    assert!(holds(r#"(eq "x" "x")"#, &[]));
    assert!(
        !holds(r#"(eq "1" 1)"#, &[]),
        "constants of different types differ"
    );
}

#[test]
fn absent_keys_make_predicates_false_and_not_inverts() {
    assert!(!holds(r#"(eq $missing "x")"#, &[]));
    assert!(!holds(r#"(ne $missing "x")"#, &[]));
    assert!(holds(r#"(not (eq $missing "x"))"#, &[]));
    assert!(!holds(r#"(begins_with $missing "")"#, &[]));
    assert!(!holds(r#"(matches in::$missing pattern::"")"#, &[]));
    assert!(!holds(r#"(in $missing ["x"])"#, &[]));
    assert!(!holds("(split by::$missing pct::100)", &[]));
    assert!(holds(
        r#"(and (exists key::"k") (not (eq $k "x")))"#,
        &[("k", "y")]
    ));
    assert!(!holds(r#"(and (exists key::"k") (not (eq $k "x")))"#, &[]));
}

#[test]
fn quoted_symbols_name_keys_that_are_not_identifiers() {
    assert!(holds(r#"(eq '$user-id' "7")"#, &[("user-id", "7")]));
    assert!(holds(r#"(exists key::"user-id")"#, &[("user-id", "7")]));
}

#[test]
fn and_or_take_two_or_more() {
    assert!(holds(
        r#"(and (eq $a "1") (eq $b "2") (eq $c "3"))"#,
        &[("a", "1"), ("b", "2"), ("c", "3")]
    ));
    assert!(holds(
        r#"(or (eq $a "x") (eq $b "x") (eq $c "3"))"#,
        &[("c", "3")]
    ));
    assert!(refused(r#"(and (eq $a "1"))"#).contains("two or more"));
    assert!(refused("(or)").contains("two or more"));
}

#[test]
fn bad_rules_are_refused_with_a_reason() {
    let cases = [
        (r#"(equals $a "1")"#, "Unknown operator 'equals'"),
        (r#"(eq $a "1""#, "balanced"),
        (r#"(eq $a "1"))"#, "balanced"),
        ("", "empty"),
        (r#"(eq $a "1") (eq $b "2")"#, "single s-expression"),
        (r#"(eq $a)"#, "'eq' takes 2 operands, but has 1"),
        (r#"(gt $a 1 2)"#, "'gt' takes 2 operands, but has 3"),
        (r#"(not (eq $a "1") (eq $a "2"))"#, "'not' takes 1 operand"),
        (
            r#"(matches in::$a pattern::"(")"#,
            "not a valid regular expression",
        ),
        (r#"(matches in::$a)"#, "missing its operand pattern::"),
        (
            r#"(matches in::$a pattern::h)"#,
            "pattern:: must be a string",
        ),
        (r#"(matches $a "h")"#, "is named"),
        (r#"(exists key::country)"#, "key:: must be a string"),
        (r#"(exists "country")"#, "is named"),
        (r#"(exists key::"a" key::"b")"#, "key:: twice"),
        ("(split by::$u)", "missing its operand pct::"),
        ("(split pct::10)", "missing its operand by::"),
        ("(split by::$u pct::101)", "from 0 to 100"),
        ("(split by::$u pct::-1)", "from 0 to 100"),
        (r#"(split by::$u pct::"10")"#, "pct:: must be a number"),
        (
            r#"(split by::"u" pct::10)"#,
            "by:: must name a context value",
        ),
        ("(split by::$u pct::10 seed::1)", "seed:: must be a string"),
        ("(split by::$u pct::10 salt::\"x\")", "no operand salt::"),
        (r#"(eq state "x")"#, "Unknown symbol 'state'"),
        (
            r#"(eq $a ["x"])"#,
            "only allowed as the right operand of 'in'",
        ),
        (r#"(in $a "x")"#, "must be a list"),
        (r#"(in $a [$b])"#, "not allowed"),
        (r#"(eq $a (eq $b "1"))"#, "cannot be an operand"),
        (r#"(and $a $b)"#, "Expected an expression"),
        (r#""just a string""#, "Expected an expression"),
        ("()", "empty"),
        (r#"("eq" $a "x")"#, "must start with an operator"),
        (r#"(begins_with $a 1)"#, "String operators take"),
        (r#"(eq $a null)"#, "not allowed"),
        (r#"(eq x::$a "1")"#, "Unexpected name 'x::'"),
        ("(eq $a 99999999999999999999999)", "64 bits"),
        ("(Eq $a 1)", "Unknown operator 'Eq'"),
    ];
    for (text, expected) in cases {
        let error = refused(text);
        assert!(error.contains(expected), "{text}: {error}");
    }
    let deep = "(not ".repeat(100) + r#"(eq $a "1")"# + &")".repeat(100);
    assert!(refused(&deep).contains("nested"));
}

#[test]
fn rules_may_span_lines_and_carry_comments() {
    let text = "(and\n  (eq $a \"1\")   // first\n  /* second */ (gt $b 2)\n)";
    assert!(holds(text, &[("a", "1"), ("b", "3")]));
}

#[test]
fn bare_year_month_is_read_as_a_timestamp() {
    assert_eq!(normalize_year_month("(lt $d 2024-01)"), "(lt $d 2024-01T)");
    assert_eq!(
        normalize_year_month("[2024-01, 2024-02]"),
        "[2024-01T, 2024-02T]"
    );
    for untouched in [
        r#"(eq $d "2024-01")"#,
        "(eq $d 2024-01-15)",
        "(eq $d 2024-01T)",
        "(eq '2024-01' 1)",
        "(eq $d 12024-01)",
        "// 2024-01\n(eq $a 1)",
        "'''2024-01'''",
    ] {
        assert_eq!(normalize_year_month(untouched), untouched);
    }
}

// ---- split ---------------------------------------------------------------------------------

const VALUES: usize = 100_000;

/// Shares of `VALUES` user ids that get each variant of `rules` (first match wins; the last
/// share is the default's).
fn shares(rules: &[&str], implicit_seed: &str) -> Vec<f64> {
    let rules: Vec<Rule> = rules.iter().map(|r| rule(r)).collect();
    let mut counts = vec![0usize; rules.len() + 1];
    let mut context = Context::new();
    context.insert("uniqueId", "");
    for i in 0..VALUES {
        let context: Context = [("uniqueId", format!("user-{i}"))].into_iter().collect();
        let chosen = rules
            .iter()
            .position(|r| r.matches(&context, implicit_seed))
            .unwrap_or(rules.len());
        counts[chosen] += 1;
    }
    counts.iter().map(|c| *c as f64 / VALUES as f64).collect()
}

fn assert_shares(actual: &[f64], expected: &[f64]) {
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() < 0.006, "{actual:?} vs {expected:?}");
    }
}

#[test]
fn documented_split_distributions() {
    // digest A2.5 (3) / A3.
    let seed = "acct:app:profile:flag";
    assert_shares(
        &shares(&["(split by::$uniqueId pct::20)"], seed),
        &[0.2, 0.8],
    );
    let twenty = [
        "(split by::$uniqueId pct::20)",
        "(split by::$uniqueId pct::20)",
    ];
    let got = shares(&twenty, seed);
    assert_eq!(
        got[1], 0.0,
        "the same implicit seed: B is shadowed entirely"
    );
    assert_shares(&got, &[0.2, 0.0, 0.8]);
    let twenty_five = [
        "(split by::$uniqueId pct::20)",
        "(split by::$uniqueId pct::25)",
    ];
    assert_shares(&shares(&twenty_five, seed), &[0.2, 0.05, 0.75]);
    let seeded = [
        r#"(split by::$uniqueId pct::20 seed::"seed_one")"#,
        r#"(split by::$uniqueId pct::25 seed::"seed_two")"#,
    ];
    assert_shares(&shares(&seeded, seed), &[0.2, 0.2, 0.6]);
    // Fractional percentages.
    assert_shares(
        &shares(&["(split by::$uniqueId pct::12.5)"], seed),
        &[0.125, 0.875],
    );
}

#[test]
fn splits_are_monotone_in_pct() {
    let mut rng = fastrand::Rng::with_seed(14);
    for _ in 0..200 {
        let low = rng.f64() * 100.0;
        let high = low + rng.f64() * (100.0 - low);
        let seed = format!("seed-{}", rng.u32(..));
        let (low_t, high_t) = (threshold(low), threshold(high));
        for _ in 0..200 {
            let value = format!("v{}", rng.u64(..));
            let b = bucket(&seed, &value);
            let in_low = low_t.is_none_or(|t| b < t);
            let in_high = high_t.is_none_or(|t| b < t);
            assert!(!in_low || in_high, "{value} in {low}% but not in {high}%");
        }
    }
}

#[test]
fn seeded_splits_agree_across_flags_and_unseeded_ones_do_not() {
    let mut rng = fastrand::Rng::with_seed(7);
    let seeded = rule(r#"(split by::$userId pct::50 seed::"shared")"#);
    let unseeded = rule("(split by::$userId pct::50)");
    let (flag_a, flag_b) = (
        implicit_seed("111", "app", "prof", "a"),
        implicit_seed("222", "other", "prof2", "b"),
    );
    let mut differ = 0;
    for _ in 0..10_000 {
        let context: Context = [("userId", format!("{}", rng.u64(..)))]
            .into_iter()
            .collect();
        assert_eq!(
            seeded.matches(&context, &flag_a),
            seeded.matches(&context, &flag_b)
        );
        if unseeded.matches(&context, &flag_a) != unseeded.matches(&context, &flag_b) {
            differ += 1;
        }
    }
    // Independent halves disagree about half the time.
    assert!((4_000..6_000).contains(&differ), "{differ}");
}

#[test]
fn bucket_is_stable_and_long_inputs_hash_like_short_ones() {
    // Pinned: changing the hash would move every user to another cohort.
    assert_eq!(
        bucket("seed", "value"),
        xxhash_rust::xxh3::xxh3_64(b"seed\0value")
    );
    let long = "x".repeat(1000);
    let mut joined = b"s\0".to_vec();
    joined.extend_from_slice(long.as_bytes());
    assert_eq!(bucket("s", &long), xxhash_rust::xxh3::xxh3_64(&joined));
    assert_eq!(threshold(100.0), None);
    assert_eq!(threshold(0.0), Some(0));
    assert_eq!(threshold(50.0), Some(1 << 63));
}

#[test]
fn context_headers_parse_as_documented() {
    let c = Context::from_headers(["a=1, b = 2", "c=x=y", "a=3", " ,"]).unwrap();
    assert_eq!(c.get("a"), Some("3"));
    assert_eq!(c.get("b"), Some("2"));
    assert_eq!(c.get("c"), Some("x=y"));
    assert_eq!(c.get("d"), None);
    assert!(Context::from_headers(["a=1,oops"])
        .unwrap_err()
        .contains("'oops'"));
    assert!(Context::from_headers(["empty="]).unwrap().get("empty") == Some(""));
}

#[test]
fn the_longest_allowed_rule_cannot_exhaust_the_stack() {
    // A rule may be 16384 characters: all of them nesting brackets.
    for (open, close) in [("(", ")"), ("[", "]"), ("(not ", ")")] {
        let text = open.repeat(16384 / (open.len() + 1)) + &close.repeat(16384 / (open.len() + 1));
        assert!(parse(&text).is_err());
    }
}
