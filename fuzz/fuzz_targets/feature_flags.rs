//! The feature-flag document validator and the retrieval-form conversion, on arbitrary bytes.
#![no_main]

use appconfigd::domain::featureflags;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let valid = featureflags::validate(data).is_ok();
    let retrieval = featureflags::to_retrieval_form(data);
    // A valid document always has a retrieval form.
    if valid {
        assert!(retrieval.is_some());
    }
});
