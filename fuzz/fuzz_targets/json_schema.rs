//! JSON-schema validators: an arbitrary schema (compiled as AppConfig does, draft-04 unless it
//! names another) applied to arbitrary content.
#![no_main]

use appconfigd::domain::validation;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: (&[u8], &[u8])| {
    let (schema, content) = data;
    let Ok(schema) = serde_json::from_slice::<serde_json::Value>(schema) else {
        return;
    };
    let Ok(validator) = validation::compile_schema(&schema) else {
        return;
    };
    if let Ok(content) = serde_json::from_slice::<serde_json::Value>(content) {
        for e in validator.iter_errors(&content) {
            let _ = e.to_string();
        }
    }
});
