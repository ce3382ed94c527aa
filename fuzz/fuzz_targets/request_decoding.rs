//! Request decoding for every operation: routing a raw path, then binding labels, query,
//! headers and body to the operation's input shape and checking its constraints. Anything may
//! be refused; nothing may panic.
#![no_main]

use std::collections::HashMap;

use appconfigd::wire::{input, model, router};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: (
    u8,
    u8,
    String,
    Option<String>,
    Vec<(String, String)>,
    Vec<u8>,
    Vec<String>
)| {
    let (method, op_index, path, query, raw_headers, body, label_values) = data;
    let mut headers = http::HeaderMap::new();
    for (k, v) in &raw_headers {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_bytes(v.as_bytes()),
        ) {
            headers.append(k, v);
        }
    }
    // 1. The router on an arbitrary path, then the operation it finds.
    let method = ["GET", "POST", "PATCH", "DELETE", "PUT"][usize::from(method) % 5];
    if let router::RouteMatch::Found { op, labels } = router::find(method, &path) {
        let raw = input::RawRequest {
            labels: &labels,
            query: query.as_deref(),
            headers: &headers,
            body: &body,
        };
        let _ = input::build(op, &raw);
    }
    // 2. Every operation directly, with arbitrary label values (whatever the router allows).
    let ops: Vec<_> = model::appconfig().operations.values().collect();
    let op = ops[usize::from(op_index) % ops.len()];
    let mut labels = HashMap::new();
    let mut values = label_values.into_iter();
    for seg in op.http.request_uri.split(['/', '?']) {
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            labels.insert(
                name.trim_end_matches('+').to_string(),
                values.next().unwrap_or_default(),
            );
        }
    }
    let raw = input::RawRequest {
        labels: &labels,
        query: query.as_deref(),
        headers: &headers,
        body: &body,
    };
    let _ = input::build(op, &raw);
    let _ = input::parse_query(query.as_deref());
});
