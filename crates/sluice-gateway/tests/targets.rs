//! The conformance suite every `Target` passes, in process: an OpenAI-compatible upstream
//! (the mock, over loopback HTTP) and the in-process model (the tiny random-weight Llama).
//!
//! A target answers in OpenAI's shapes, streamed and not; it takes the request's ledger
//! entry and settles it exactly once with the usage it reports (streams when their body
//! ends); when it does not answer, the entry stays for the next target of the chain and the
//! failure says what comes next.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use serde_json::{json, Value};
use sluice_api::ChatCompletionRequest;
use sluice_gateway::clock::Clock;
use sluice_gateway::ledger::Meter;
use sluice_gateway::state::AppState;
use sluice_gateway::target::{Call, Failure, Next, Target};
use sluice_testkit::env::models_dir;
use sluice_testkit::mock::MockUpstream;

const TARGETS: [&str; 2] = ["remote", "tiny"];

async fn state(mock: &MockUpstream) -> Arc<AppState> {
    let yaml = format!(
        r#"
providers:
  up: {{ base_url: {base}, max_retries: 0, breaker_failures: 0 }}
  here: {{ kind: local, model: {models}/tiny-random-llama, threads: 1 }}
models:
  remote: {{ provider: up, pricing: {{ input: 1.0, output: 2.0 }} }}
  tiny: {{ provider: here, pricing: {{ input: 1.0, output: 2.0 }} }}
"#,
        base = mock.base_url(),
        models = models_dir().display(),
    );
    common::in_process(&yaml, Clock::System).await
}

/// One call of `name` with `body`; the meter is labelled with policy `conf`.
async fn call(
    state: &Arc<AppState>,
    name: &str,
    body: Value,
    strip_usage: bool,
) -> (Result<axum::response::Response, Failure>, Meter) {
    let runtime = state.runtime.load_full();
    let target = Target::of(&runtime, &runtime.config.models[name]).unwrap();
    let meter = Meter::open(state.clone());
    meter.update(|e| e.policy = "conf".into());
    let mut chat = ChatCompletionRequest::from_slice(body.to_string().as_bytes()).unwrap();
    let result = target
        .call(Call {
            state,
            chat: &mut chat,
            request_id: "conformance",
            strip_usage,
            reason: "conformance suite",
            score: None,
            meter: &meter,
        })
        .await;
    (result, meter)
}

/// The exact value of one series in the registry, 0 when absent.
fn series(state: &AppState, s: &str) -> f64 {
    String::from_utf8(state.metrics.render())
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(s).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

fn requests(state: &AppState, route: &str) -> f64 {
    series(
        state,
        &format!("sluice_requests_total{{policy=\"conf\",route=\"{route}\",status=\"2xx\"}}"),
    )
}

fn completion_tokens(state: &AppState, route: &str) -> f64 {
    series(
        state,
        &format!("sluice_tokens_total{{kind=\"completion\",model=\"{route}\",policy=\"conf\"}}"),
    )
}

fn chat(stream: bool, usage: bool) -> Value {
    let mut b = json!({
        "model": "ignored",
        "messages": [{"role": "user", "content": "Say something."}],
        "max_tokens": 5,
        "temperature": 0,
    });
    if stream {
        b["stream"] = json!(true);
        if usage {
            b["stream_options"] = json!({"include_usage": true});
        }
    }
    b
}

async fn body_of(resp: axum::response::Response) -> Vec<u8> {
    axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn every_target_answers_a_whole_completion_and_meters_it_once() {
    let mock = MockUpstream::start().await;
    let state = state(&mock).await;
    for name in TARGETS {
        let (result, meter) = call(&state, name, chat(false, false), false).await;
        let resp = result.unwrap();
        assert!(meter.take().is_none(), "{name}: the target took the entry");
        assert_eq!(resp.status(), 200, "{name}");
        assert_eq!(resp.headers()["x-sluice-route"], name);
        assert_eq!(resp.headers()["x-sluice-reason"], "conformance suite");
        let v: Value = serde_json::from_slice(&body_of(resp).await).unwrap();
        assert_eq!(v["object"], "chat.completion", "{name}: {v}");
        assert!(
            v["choices"][0]["message"]["content"].is_string(),
            "{name}: {v}"
        );
        assert!(v["choices"][0]["finish_reason"].is_string(), "{name}: {v}");
        let completion = v["usage"]["completion_tokens"].as_f64().unwrap();
        assert!(
            v["usage"]["prompt_tokens"].as_u64().unwrap() > 0,
            "{name}: {v}"
        );
        assert_eq!(requests(&state, name), 1.0, "{name}: metered once");
        assert_eq!(completion_tokens(&state, name), completion, "{name}");
    }
}

#[tokio::test]
async fn every_target_streams_and_meters_when_the_stream_ends() {
    let mock = MockUpstream::start().await;
    let state = state(&mock).await;
    for name in TARGETS {
        // The client asked for usage: it gets the usage chunk.
        let (result, _) = call(&state, name, chat(true, true), false).await;
        let resp = result.unwrap();
        let ct = resp.headers()["content-type"].to_str().unwrap();
        assert!(ct.starts_with("text/event-stream"), "{name}: {ct}");
        assert_eq!(
            requests(&state, name),
            0.0,
            "{name}: not before the stream ends"
        );
        let text = String::from_utf8(body_of(resp).await).unwrap();
        let events: Vec<&str> = text
            .split("\n\n")
            .filter_map(|e| e.strip_prefix("data: "))
            .collect();
        assert_eq!(events.last(), Some(&"[DONE]"), "{name}: {text}");
        let usage: Vec<Value> = events
            .iter()
            .filter_map(|e| serde_json::from_str::<Value>(e).ok())
            .filter(|v| v["usage"].is_object())
            .collect();
        assert_eq!(usage.len(), 1, "{name}: one usage chunk: {text}");
        let completion = usage[0]["usage"]["completion_tokens"].as_f64().unwrap();
        assert_eq!(requests(&state, name), 1.0, "{name}");
        assert_eq!(completion_tokens(&state, name), completion, "{name}");

        // The gateway asked for usage the client did not: metered, not shown.
        let (result, _) = call(&state, name, chat(true, true), true).await;
        let text = String::from_utf8(body_of(result.unwrap()).await).unwrap();
        assert!(
            !text.contains("\"usage\":{"),
            "{name}: usage was stripped: {text}"
        );
        assert!(text.ends_with("data: [DONE]\n\n"), "{name}: {text}");
        assert_eq!(requests(&state, name), 2.0, "{name}");
        assert!(completion_tokens(&state, name) > completion, "{name}");
    }
}

#[tokio::test]
async fn a_target_that_does_not_answer_leaves_the_entry_for_the_next() {
    let mock = MockUpstream::start().await;
    mock.set_default_script(&["status:503"]);
    let state = state(&mock).await;

    let (result, meter) = call(&state, "remote", chat(false, false), false).await;
    let f = result.unwrap_err();
    assert!(matches!(f.next, Next::FallBack), "{f:?}");
    assert_eq!(f.kind, "status_5xx");
    assert!(f.upstream.is_some());
    let entry = meter.take().expect("the entry is still open");
    assert_eq!(entry.route, "remote", "attributed to the model tried");

    // The local model cannot serve tools: an answer now, not a fallback.
    let mut body = chat(false, false);
    body["tools"] = json!([{"type": "function", "function": {"name": "f"}}]);
    let (result, meter) = call(&state, "tiny", body, false).await;
    let f = result.unwrap_err();
    match f.next {
        Next::Stop(e) => assert_eq!(e.status, 400),
        other => panic!("expected Stop, got {other:?}"),
    }
    assert!(meter.take().is_some(), "the entry is still open");
    assert_eq!(requests(&state, "remote") + requests(&state, "tiny"), 0.0);
}
