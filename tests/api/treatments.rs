//! Issue 16, "done when": a newest-model client (the Rust SDK) runs the whole experiment
//! lifecycle while 10,000 simulated entities read the flag through the agent-compatible path
//! (`?flag=`, `Entity-Id`, `Context`), and the treatments they get follow the weights, the
//! exposure (only ever growing, never reshuffling) and the overrides; a new run re-randomises,
//! a stop returns everyone to the deployed flag.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use aws_sdk_appconfig::types::TreatmentOverrides;
use serde_json::Value;

use crate::experiments::{deployed_flags, treatment};
use crate::harness::*;

const ENTITIES: usize = 10_000;

/// One keep-alive HTTP/1.1 connection (10,000s of reads without a socket each).
struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn open(addr: &str) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Conn {
            reader: BufReader::new(stream),
        }
    }

    fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> (u16, Vec<u8>) {
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        self.reader
            .get_mut()
            .write_all(request.as_bytes())
            .expect("write");
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("status line");
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        let mut length = 0;
        loop {
            line.clear();
            self.reader.read_line(&mut line).expect("header");
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().expect("length");
                }
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).expect("body");
        (status, body)
    }

    /// The `_variant` an entity gets for flag `checkout` (None: the deployed flag).
    fn variant(&mut self, path: &str, entity: &str, plan: &str) -> Option<String> {
        let context = format!("plan={plan}");
        let (status, body) = self.get(path, &[("Entity-Id", entity), ("Context", &context)]);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let flag: Value = serde_json::from_slice(&body).expect("json");
        match flag["_variant"].as_str() {
            Some(v) => Some(v.to_string()),
            None => {
                assert_eq!(
                    flag,
                    serde_json::json!({"enabled": false}),
                    "the deployed flag"
                );
                None
            }
        }
    }

    /// Every entity's answer, in order.
    fn everyone(&mut self, path: &str, plan: &str) -> Vec<Option<String>> {
        (0..ENTITIES)
            .map(|i| self.variant(path, &format!("user-{i}"), plan))
            .collect()
    }
}

fn share(answers: &[Option<String>], pred: impl Fn(&Option<String>) -> bool) -> f64 {
    answers.iter().filter(|a| pred(a)).count() as f64 / answers.len() as f64
}

/// Lets the change feed reach the node's data plane (it drops the environment's cached entry
/// within a millisecond of the commit; the call has answered by then, the drop may lag).
fn settle() {
    std::thread::sleep(std::time::Duration::from_millis(300));
}

#[track_caller]
fn near(got: f64, want: f64, tolerance: f64, what: &str) {
    assert!(
        (got - want).abs() <= tolerance,
        "{what}: {got:.4}, want {want} ± {tolerance}"
    );
}

#[tokio::test]
async fn ten_thousand_entities_get_their_treatments_through_a_whole_run() {
    let (server, c) = Server::start_with_client();
    let ids = deployed_flags(&c).await;
    let def = c
        .create_experiment_definition()
        .application_identifier(&ids.app)
        .name("colors")
        .environment_identifier(&ids.env)
        .configuration_profile_identifier(&ids.profile)
        .flag_key("checkout")
        .control(treatment(50.0, false, Some("grey")))
        .treatments(treatment(30.0, true, Some("green")))
        .treatments(treatment(20.0, true, Some("blue")))
        .audience_rule("(eq $plan \"premium\")")
        .send()
        .await
        .expect("definition");
    let def = def.id().expect("id").to_string();
    let qa = TreatmentOverrides::Inline([("qa-1".to_string(), "t2".to_string())].into());
    c.start_experiment_run()
        .application_identifier(&ids.app)
        .experiment_definition_identifier(&def)
        .treatment_overrides(qa)
        .send()
        .await
        .expect("start at 0 %");
    settle();
    let path = format!(
        "{}?flag=checkout",
        crate::dataplane::agent_path(&ids.app, &ids.env, &ids.profile)
    );
    let mut conn = Conn::open(server.addr());

    // At 0 %: only the override entity is in the experiment, whatever its context.
    assert_eq!(
        conn.variant(&path, "qa-1", "free").as_deref(),
        Some("__t2__")
    );
    let (_, body) = conn.get(&path, &[("Entity-Id", "qa-1")]);
    let qa_answer: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(
        qa_answer,
        serde_json::json!({"_variant": "__t2__", "enabled": true, "color": "blue"})
    );
    let at_0 = conn.everyone(&path, "premium");
    assert!(at_0.iter().all(Option::is_none), "nobody exposed at 0 %");

    let raise = |to: f32| {
        c.update_experiment_run()
            .application_identifier(&ids.app)
            .experiment_definition_identifier(&def)
            .run(1)
            .exposure_percentage(to)
            .send()
    };
    raise(20.0).await.expect("20 %");
    settle();
    let at_20 = conn.everyone(&path, "premium");
    near(
        share(&at_20, Option::is_some),
        0.20,
        0.02,
        "exposed at 20 %",
    );
    let exposed: Vec<&String> = at_20.iter().flatten().collect();
    let arm = |name: &str| {
        exposed.iter().filter(|v| v.as_str() == name).count() as f64 / exposed.len() as f64
    };
    near(arm("__c__"), 0.50, 0.05, "control share");
    near(arm("__t1__"), 0.30, 0.05, "t1 share");
    near(arm("__t2__"), 0.20, 0.05, "t2 share");
    // Outside the audience nobody is assigned; the same entity always gets the same answer.
    for (i, earlier) in at_20.iter().enumerate().take(500) {
        assert_eq!(conn.variant(&path, &format!("user-{i}"), "free"), None);
        assert_eq!(
            &conn.variant(&path, &format!("user-{i}"), "premium"),
            earlier
        );
    }

    raise(60.0).await.expect("60 %");
    settle();
    let at_60 = conn.everyone(&path, "premium");
    near(
        share(&at_60, Option::is_some),
        0.60,
        0.02,
        "exposed at 60 %",
    );
    for (before, after) in at_20.iter().zip(&at_60) {
        if before.is_some() {
            assert_eq!(
                before, after,
                "raising exposure keeps every exposed entity's treatment"
            );
        }
    }
    let m = crate::harness::bad_request(raise(30.0).await);
    assert!(m.contains("only increase"), "{m}");

    // A new run re-randomises: the exposed set and the picks differ from run 1's.
    let stop = |run: i32| {
        c.stop_experiment_run()
            .application_identifier(&ids.app)
            .experiment_definition_identifier(&def)
            .run(run)
            .send()
    };
    stop(1).await.expect("stop run 1");
    settle();
    let stopped = conn.everyone(&path, "premium");
    assert!(
        stopped.iter().all(Option::is_none),
        "a stopped run serves nobody"
    );
    c.start_experiment_run()
        .application_identifier(&ids.app)
        .experiment_definition_identifier(&def)
        .exposure_percentage(60.0)
        .send()
        .await
        .expect("run 2");
    settle();
    let run_2 = conn.everyone(&path, "premium");
    near(
        share(&run_2, Option::is_some),
        0.60,
        0.02,
        "exposed in run 2",
    );
    let both: Vec<(&String, &String)> = at_60
        .iter()
        .zip(&run_2)
        .filter_map(|(a, b)| Some((a.as_ref()?, b.as_ref()?)))
        .collect();
    // Independent draws agree on 0.5² + 0.3² + 0.2² = 38 % of the entities exposed in both.
    let same = both.iter().filter(|(a, b)| a == b).count() as f64 / both.len() as f64;
    near(same, 0.38, 0.05, "picks agreeing across runs");
    let counts: HashMap<bool, usize> = at_60
        .iter()
        .zip(&run_2)
        .map(|(a, b)| a.is_some() == b.is_some())
        .fold(HashMap::new(), |mut m, k| {
            *m.entry(k).or_default() += 1;
            m
        });
    // Two independent 60 % slices agree on 0.6² + 0.4² = 52 % of the entities.
    near(
        counts[&true] as f64 / ENTITIES as f64,
        0.52,
        0.03,
        "exposure agreeing across runs",
    );
    stop(2).await.expect("stop run 2");
}

/// Polls `read` until it answers `want`, for at most a second; returns how long it took.
fn within_a_second(
    what: &str,
    want: Option<&str>,
    mut read: impl FnMut() -> Option<String>,
) -> std::time::Duration {
    let start = std::time::Instant::now();
    loop {
        let got = read();
        if got.as_deref() == want {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(1),
            "{what}: still {got:?} after 1 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Runs started, changed and stopped through one node reach another node's reads within a
/// second (PostgreSQL LISTEN/NOTIFY), and a running run survives a restart (both backends).
#[tokio::test]
async fn run_changes_reach_every_node_within_a_second_and_survive_restarts() {
    let (mut server, c) = Server::start_with_client();
    let ids = deployed_flags(&c).await;
    let def = crate::experiments::define(&c, &ids, "colors").await;
    let path = format!(
        "{}?flag=checkout",
        crate::dataplane::agent_path(&ids.app, &ids.env, &ids.profile)
    );
    let other = (backend() == Backend::Postgres)
        .then(|| crate::dataplane::Node::start(server.database_url(), &[]));
    let addr = |server: &Server| match &other {
        Some(node) => node.endpoint.trim_start_matches("http://").to_string(),
        None => server.addr().to_string(),
    };
    let mut conn = Conn::open(&addr(&server));
    // Warm the other node's cache first, so what follows is propagation, not a cold load.
    assert_eq!(conn.variant(&path, "qa-1", "free"), None);
    let overrides =
        |key: &str| TreatmentOverrides::Inline([("qa-1".to_string(), key.to_string())].into());
    c.start_experiment_run()
        .application_identifier(&ids.app)
        .experiment_definition_identifier(&def)
        .treatment_overrides(overrides("t1"))
        .send()
        .await
        .expect("start");
    within_a_second("start", Some("__t1__"), || {
        conn.variant(&path, "qa-1", "free")
    });
    c.update_experiment_run()
        .application_identifier(&ids.app)
        .experiment_definition_identifier(&def)
        .run(1)
        .treatment_overrides(overrides("c"))
        .send()
        .await
        .expect("update");
    within_a_second("update", Some("__c__"), || {
        conn.variant(&path, "qa-1", "free")
    });

    // A restart of the first node keeps the run (it is stored, not held in memory).
    drop(conn);
    server.restart();
    let mut conn = Conn::open(&addr(&server));
    let mut first = Conn::open(server.addr());
    assert_eq!(
        first.variant(&path, "qa-1", "free").as_deref(),
        Some("__c__")
    );
    let c = server.client();
    c.stop_experiment_run()
        .application_identifier(&ids.app)
        .experiment_definition_identifier(&def)
        .run(1)
        .send()
        .await
        .expect("stop");
    within_a_second("stop", None, || conn.variant(&path, "qa-1", "free"));
}
