//! Any body a client can send: parsing never panics, and what parses round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_api::chat::{ChatCompletionRequest, ResponseProbe};

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = ChatCompletionRequest::from_slice(data) {
        for m in &req.messages {
            let _ = m.content.as_ref().map(|c| c.text().len());
        }
        let again = ChatCompletionRequest::from_slice(&req.to_vec()).expect("re-parse");
        assert_eq!(again, req);
    }
    let _ = ResponseProbe::parse(data);
});
