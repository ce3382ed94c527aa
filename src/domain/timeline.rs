//! The deployment timeline as a pure function of the strategy and the elapsed time, so the
//! whole state machine is tested without sleeping.
//!
//! Growth (AWS user guide): LINEAR reaches `k·G` % at step k, EXPONENTIAL `G·2^(k-1)` %, both
//! capped at 100; the steps are spread evenly so 100 % lands at the deployment duration D
//! (step k at `k·D/N`); the bake starts at D and the deployment completes at D + bake. With
//! D = 0 the only step is 100 % at once.

/// One percentage step: when (ms after start, in service time) and to what percentage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub at_ms: i64,
    pub percent: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub bake_at_ms: i64,
    pub complete_at_ms: i64,
}

const MINUTE_MS: i64 = 60_000;

/// The percentages a strategy goes through (without timing).
pub fn percentages(growth_type: &str, growth_factor: f64) -> Vec<f64> {
    let g = growth_factor.clamp(1.0, 100.0);
    let mut out = Vec::new();
    let mut k = 1u32;
    loop {
        let p = if growth_type == "EXPONENTIAL" {
            g * 2f64.powi(k as i32 - 1)
        } else {
            g * k as f64
        };
        // Guard against float noise such as 3 × 33.333… = 99.999…
        let p = if p >= 100.0 - 1e-9 { 100.0 } else { p };
        out.push(p);
        if p >= 100.0 || k >= 1000 {
            break;
        }
        k += 1;
    }
    out
}

pub fn plan(duration_min: i64, growth_type: &str, growth_factor: f64, bake_min: i64) -> Plan {
    let d = duration_min.max(0) * MINUTE_MS;
    let b = bake_min.max(0) * MINUTE_MS;
    let steps = if d == 0 {
        vec![Step {
            at_ms: 0,
            percent: 100.0,
        }]
    } else {
        let pcts = percentages(growth_type, growth_factor);
        let n = pcts.len() as i64;
        pcts.into_iter()
            .enumerate()
            .map(|(i, percent)| Step {
                at_ms: d * (i as i64 + 1) / n,
                percent,
            })
            .collect()
    };
    Plan {
        steps,
        bake_at_ms: d,
        complete_at_ms: d + b,
    }
}

/// Where a deployment is on its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// Number of steps already applied.
    pub steps_done: usize,
    pub baking: bool,
    pub complete: bool,
}

/// Something that happened on the timeline, at `at_ms` after the start.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    Percentage { at_ms: i64, percent: f64 },
    BakeStarted { at_ms: i64 },
    Completed { at_ms: i64 },
}

impl Transition {
    pub fn at_ms(&self) -> i64 {
        match self {
            Transition::Percentage { at_ms, .. }
            | Transition::BakeStarted { at_ms }
            | Transition::Completed { at_ms } => *at_ms,
        }
    }
}

/// Everything due by `elapsed_ms`, in order, and the progress after it; plus when the next
/// transition is due (None once complete).
pub fn advance(
    plan: &Plan,
    from: Progress,
    elapsed_ms: i64,
) -> (Vec<Transition>, Progress, Option<i64>) {
    let mut p = from;
    let mut out = Vec::new();
    while !p.complete {
        let next = next_transition(plan, p);
        if next.at_ms() > elapsed_ms {
            return (out, p, Some(next.at_ms()));
        }
        match next {
            Transition::Percentage { .. } => p.steps_done += 1,
            Transition::BakeStarted { .. } => p.baking = true,
            Transition::Completed { .. } => p.complete = true,
        }
        out.push(next);
    }
    (out, p, None)
}

fn next_transition(plan: &Plan, p: Progress) -> Transition {
    if let Some(step) = plan.steps.get(p.steps_done) {
        Transition::Percentage {
            at_ms: step.at_ms,
            percent: step.percent,
        }
    } else if !p.baking {
        Transition::BakeStarted {
            at_ms: plan.bake_at_ms,
        }
    } else {
        Transition::Completed {
            at_ms: plan.complete_at_ms,
        }
    }
}

/// `Configuration available to 25.00% of clients`, as AWS words PERCENTAGE_UPDATED.
pub fn percentage_text(percent: f64) -> String {
    format!("Configuration available to {percent:.2}% of clients")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_steps() {
        assert_eq!(
            percentages("LINEAR", 20.0),
            vec![20.0, 40.0, 60.0, 80.0, 100.0]
        );
        assert_eq!(percentages("LINEAR", 30.0), vec![30.0, 60.0, 90.0, 100.0]);
        assert_eq!(percentages("LINEAR", 100.0), vec![100.0]);
        assert_eq!(percentages("LINEAR", 33.333333333333336).len(), 3);
    }

    #[test]
    fn exponential_steps() {
        assert_eq!(
            percentages("EXPONENTIAL", 10.0),
            vec![10.0, 20.0, 40.0, 80.0, 100.0]
        );
        assert_eq!(
            percentages("EXPONENTIAL", 2.0),
            vec![2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 100.0]
        );
    }

    #[test]
    fn steps_are_spread_so_100_lands_at_duration() {
        let p = plan(30, "LINEAR", 20.0, 30);
        let at: Vec<i64> = p.steps.iter().map(|s| s.at_ms / MINUTE_MS).collect();
        assert_eq!(at, vec![6, 12, 18, 24, 30]);
        assert_eq!(p.bake_at_ms, 30 * MINUTE_MS);
        assert_eq!(p.complete_at_ms, 60 * MINUTE_MS);
    }

    #[test]
    fn zero_duration_is_one_step_at_once() {
        let p = plan(0, "LINEAR", 20.0, 10);
        assert_eq!(
            p.steps,
            vec![Step {
                at_ms: 0,
                percent: 100.0
            }]
        );
        let (t, prog, next) = advance(&p, Progress::default(), 0);
        assert_eq!(
            t,
            vec![
                Transition::Percentage {
                    at_ms: 0,
                    percent: 100.0
                },
                Transition::BakeStarted { at_ms: 0 }
            ]
        );
        assert!(prog.baking && !prog.complete);
        assert_eq!(next, Some(10 * MINUTE_MS));
    }

    #[test]
    fn advance_walks_the_whole_timeline_on_a_manual_clock() {
        let p = plan(4, "LINEAR", 25.0, 0);
        let mut prog = Progress::default();
        let (t, next_prog, next) = advance(&p, prog, MINUTE_MS - 1);
        assert!(t.is_empty());
        assert_eq!(next, Some(MINUTE_MS));
        prog = next_prog;
        let (t, next_prog, next) = advance(&p, prog, 2 * MINUTE_MS);
        assert_eq!(t.len(), 2);
        assert_eq!(next, Some(3 * MINUTE_MS));
        prog = next_prog;
        // Catching up after a long pause emits everything due, in order, exactly once.
        let (t, done, next) = advance(&p, prog, 100 * MINUTE_MS);
        assert_eq!(
            t,
            vec![
                Transition::Percentage {
                    at_ms: 3 * MINUTE_MS,
                    percent: 75.0
                },
                Transition::Percentage {
                    at_ms: 4 * MINUTE_MS,
                    percent: 100.0
                },
                Transition::BakeStarted {
                    at_ms: 4 * MINUTE_MS
                },
                Transition::Completed {
                    at_ms: 4 * MINUTE_MS
                },
            ]
        );
        assert!(done.complete);
        assert_eq!(next, None);
        let (t, _, _) = advance(&p, done, 200 * MINUTE_MS);
        assert!(t.is_empty());
    }

    #[test]
    fn percentage_text_has_two_decimals() {
        assert_eq!(
            percentage_text(25.0),
            "Configuration available to 25.00% of clients"
        );
    }
}
