//! The request path in process: requests sent through the assembled stack with
//! `ServiceExt::oneshot`, no listener, and time that the tests move themselves (a paused
//! tokio clock and the gateway's injected wall clock), so rate windows and limits are
//! asserted exactly and nothing waits on the real clock.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::{json, Value};
use sluice_gateway::auth::{hash_key, hex};
use sluice_gateway::clock::Clock;
use sluice_gateway::state::AppState;
use sluice_testkit::env::models_dir;
use tower::ServiceExt;

const KEY_A: &str = "sk-sluice-test-key-a-000000000000000000000000";
const KEY_B: &str = "sk-sluice-test-key-b-111111111111111111111111";

/// 2027-01-16T00:00:00Z, a minute (and day) boundary.
const MIDNIGHT: u64 = 1_800_057_600;

fn key(id: &str, plain: &str, extra: &str) -> String {
    format!(
        "  {id}:\n    hash: sha256:{}\n    tenant: {id}-team\n    {extra}\n",
        hex(&hash_key(plain))
    )
}

/// A gateway whose only model is the in-process tiny Llama: nothing leaves the process.
async fn gateway(keys: &str, clock: Clock) -> Arc<AppState> {
    let yaml = format!(
        r#"
server: {{ max_messages: 5, max_header_bytes: 4096 }}
providers:
  here: {{ kind: local, model: {models}/tiny-random-llama, threads: 1 }}
models:
  tiny: {{ provider: here, pricing: {{ input: 1.0, output: 2.0 }} }}
policies:
  auto: {{ target: tiny }}
keys:
{keys}"#,
        models = models_dir().display(),
    );
    common::in_process(&yaml, clock).await
}

async fn send(
    state: &Arc<AppState>,
    path: &str,
    key: &str,
    body: Value,
) -> (StatusCode, http::HeaderMap, Value) {
    let req = Request::post(path)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {key}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = sluice_gateway::stack::router(state.clone())
        .oneshot(req)
        .await
        .unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    (
        parts.status,
        parts.headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn chat(content: &str) -> Value {
    json!({"model": "auto", "max_tokens": 4, "messages": [{"role": "user", "content": content}]})
}

fn metric(state: &AppState, series: &str) -> f64 {
    String::from_utf8(state.metrics.render())
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

/// The request rate is one counter for `/v1/route` and chat; the window is the UTC minute
/// of the injected clock, so `retry-after` is exact and moving the clock reopens it.
#[tokio::test(start_paused = true)]
async fn request_rate_is_shared_by_route_and_chat_and_rolls_with_the_minute() {
    let keys = key("a", KEY_A, "rate_limit: { requests_per_minute: 3 }");
    let state = gateway(&keys, Clock::starting_at(MIDNIGHT - 10)).await;
    for _ in 0..3 {
        let (status, _, v) = send(&state, "/v1/route", KEY_A, chat("hello")).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["chain"], json!(["tiny"]));
    }
    let (status, headers, v) = send(&state, "/v1/route", KEY_A, chat("hello")).await;
    assert_eq!(status, 429, "{v}");
    assert_eq!(headers["retry-after"], "10");
    assert_eq!(headers["x-ratelimit-limit-requests"], "3");
    assert_eq!(v["error"]["code"], "rate_limit_exceeded");
    assert_eq!(v["error"]["type"], "requests");
    // Chat draws on the same counter.
    let (status, _, _) = send(&state, "/v1/chat/completions", KEY_A, chat("hello")).await;
    assert_eq!(status, 429);
    assert_eq!(
        metric(
            &state,
            r#"sluice_tenant_requests_total{outcome="rate_limited",tenant="a-team"}"#
        ),
        2.0,
        "both refusals count as the tenant's"
    );
    assert_eq!(
        metric(
            &state,
            r#"sluice_requests_total{policy="none",route="none",status="4xx"}"#
        ),
        1.0,
        "the refused chat request is in the ledger once"
    );

    tokio::time::advance(Duration::from_secs(9)).await;
    assert_eq!(send(&state, "/v1/route", KEY_A, chat("hello")).await.0, 429);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(send(&state, "/v1/route", KEY_A, chat("hello")).await.0, 200);

    // Size limits hold on the decision endpoint too.
    let many: Vec<Value> = (0..6)
        .map(|i| json!({"role": "user", "content": format!("m{i}")}))
        .collect();
    let (status, _, v) = send(
        &state,
        "/v1/route",
        KEY_A,
        json!({"model": "auto", "messages": many}),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["code"], "request_too_large");
}

/// Tokens are settled when a request ends, before its answer is returned: the very next
/// request sees them (no waiting for a background write).
#[tokio::test]
async fn token_rate_counts_what_the_previous_request_used() {
    let keys = key("b", KEY_B, "rate_limit: { tokens_per_minute: 10 }");
    let state = gateway(&keys, Clock::starting_at(MIDNIGHT)).await;
    let (status, _, v) = send(&state, "/v1/chat/completions", KEY_B, chat("hello there")).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["usage"]["total_tokens"].as_u64().unwrap() > 10, "{v}");
    let (status, _, v) = send(&state, "/v1/chat/completions", KEY_B, chat("hello there")).await;
    assert_eq!(status, 429, "{v}");
    assert_eq!(v["error"]["type"], "tokens");
    assert_eq!(
        metric(
            &state,
            r#"sluice_requests_total{policy="auto",route="tiny",status="2xx"}"#
        ),
        1.0
    );
}

/// A budget's reservation is visible to the next request at once, and settled to the real
/// cost when the request ends.
#[tokio::test]
async fn a_request_reserves_its_estimate_and_settles_to_its_cost() {
    // $1 per million input tokens, $2 per million output: 4 output tokens reserve $8e-6
    // plus the prompt's.
    let keys = key("b", KEY_B, "budget: { usd: 1.0, period: day }");
    let state = gateway(&keys, Clock::starting_at(MIDNIGHT)).await;
    let (status, _, v) = send(&state, "/v1/chat/completions", KEY_B, chat("hello there")).await;
    assert_eq!(status, 200, "{v}");
    let usage = &v["usage"];
    let cost = usage["prompt_tokens"].as_f64().unwrap() * 1e-6
        + usage["completion_tokens"].as_f64().unwrap() * 2e-6;
    let caller = state.runtime.load().keys.callers()[0].clone();
    let spent = state.limiter.spend_usd(&caller).await.unwrap();
    assert!(
        (spent - cost).abs() < 1e-12,
        "spend {spent} is the real cost {cost}"
    );
}
