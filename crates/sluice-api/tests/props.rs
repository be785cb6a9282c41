//! Property tests: request parsing and the SSE scanner never panic on any input, and what
//! parses survives a round trip. The same targets run under cargo-fuzz (`scripts/fuzz.sh`).

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::Value;
use sluice_api::chat::{ChatCompletionRequest, ResponseProbe};
use sluice_api::sse::SseScanner;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("model"),
            Just("messages"),
            Just("role"),
            Just("content"),
            Just("stream")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("model".to_owned()),
                        Just("messages".to_owned()),
                        Just("role".to_owned()),
                        Just("content".to_owned()),
                        Just("stream".to_owned()),
                        Just("stream_options".to_owned()),
                        Just("max_tokens".to_owned()),
                        Just("type".to_owned()),
                        Just("text".to_owned()),
                        "[a-z_]{1,8}",
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A request that is mostly valid, with any values inside.
fn request_like() -> impl Strategy<Value = Value> {
    (
        ".{0,8}",
        prop::collection::vec(
            (
                prop_oneof![Just("user".to_owned()), Just("system".to_owned()), ".{0,6}"],
                json_value(),
            ),
            0..4,
        ),
        json_value(),
    )
        .prop_map(|(model, msgs, extra)| {
            let messages: Vec<Value> = msgs
                .into_iter()
                .map(|(role, content)| serde_json::json!({"role": role, "content": content}))
                .collect();
            serde_json::json!({"model": model, "messages": messages, "x": extra})
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parsing_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = ChatCompletionRequest::from_slice(&bytes);
        let _ = ResponseProbe::parse(&bytes);
    }

    #[test]
    fn parsing_arbitrary_json_never_panics_and_round_trips(v in prop_oneof![json_value(), request_like()]) {
        let bytes = serde_json::to_vec(&v).unwrap();
        if let Ok(req) = ChatCompletionRequest::from_slice(&bytes) {
            let text: usize = req.messages.iter().map(|m| m.content.as_ref().map_or(0, |c| c.text().len())).sum();
            prop_assert!(text <= bytes.len());
            for m in req.messages.iter().filter_map(|m| m.content.as_ref()) {
                prop_assert_eq!(m.text_len(), m.text().len());
            }
            let again = ChatCompletionRequest::from_slice(&req.to_vec()).unwrap();
            prop_assert_eq!(again, req);
        }
        let _ = ResponseProbe::parse(&bytes);
    }

    #[test]
    fn sse_scanner_finds_the_same_events_however_the_bytes_are_split(
        events in prop::collection::vec(prop_oneof![".{0,20}".prop_map(|s| s.replace(['\n', '\r'], "")), Just("[DONE]".to_owned())], 0..8),
        noise in prop::collection::vec(any::<u8>(), 0..64),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut body = Vec::new();
        for e in &events {
            body.extend_from_slice(b"data: ");
            body.extend_from_slice(e.as_bytes());
            body.extend_from_slice(b"\n\n");
        }
        let whole = |b: &[u8]| {
            let mut s = SseScanner::new();
            let mut out = Vec::new();
            s.push(b, |d| out.push(d.to_vec()));
            out
        };
        let want: Vec<Vec<u8>> = events.iter().map(|e| e.as_bytes().to_vec()).collect();
        prop_assert_eq!(whole(&body), want.clone());
        // Split anywhere: the same events.
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
        points.sort_unstable();
        let mut s = SseScanner::new();
        let mut got = Vec::new();
        let mut at = 0;
        for p in points.into_iter().chain([body.len()]) {
            s.push(&body[at..p], |d| got.push(d.to_vec()));
            at = p;
        }
        prop_assert_eq!(got, want);
        // Arbitrary bytes after it: no panic.
        let mut tail = body.clone();
        tail.extend_from_slice(&noise);
        let _ = whole(&tail);
    }
}
