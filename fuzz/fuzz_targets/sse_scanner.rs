//! Any bytes an upstream can send on a stream, split at any point: the scanner never
//! panics and finds the same events as when given the whole body at once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_api::sse::SseScanner;

fuzz_target!(|data: &[u8]| {
    let Some((&split, body)) = data.split_first() else {
        return;
    };
    let mut whole = Vec::new();
    SseScanner::new().push(body, |d| whole.push(d.to_vec()));
    let at = usize::from(split) % (body.len() + 1);
    let mut s = SseScanner::new();
    let mut parts = Vec::new();
    s.push(&body[..at], |d| parts.push(d.to_vec()));
    s.push(&body[at..], |d| parts.push(d.to_vec()));
    assert_eq!(whole, parts);
});
