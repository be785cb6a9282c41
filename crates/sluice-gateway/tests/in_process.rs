//! The request path in process, in one test binary (each binary links the whole gateway):
//! the assembled stack driven with `ServiceExt::oneshot` on a clock the tests move, and the
//! conformance suite every `Target` passes.

#![allow(clippy::unwrap_used)]

mod common;

mod stack {
    //! The request path in process: requests sent through the assembled stack with
    //! `ServiceExt::oneshot`, no listener, and time that the tests move themselves (a paused
    //! tokio clock and the gateway's injected wall clock), so rate windows and limits are
    //! asserted exactly and nothing waits on the real clock.

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
        crate::common::in_process(&yaml, clock).await
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
}

mod targets {
    //! The conformance suite every `Target` passes, in process: an OpenAI-compatible upstream
    //! (the mock, over loopback HTTP) and the in-process model (the tiny random-weight Llama).
    //!
    //! A target answers in OpenAI's shapes, streamed and not; it takes the request's ledger
    //! entry and settles it exactly once with the usage it reports (streams when their body
    //! ends); when it does not answer, the entry stays for the next target of the chain and the
    //! failure says what comes next.

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
        crate::common::in_process(&yaml, Clock::System).await
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
                stream_limit: std::time::Duration::from_secs(60),
                cascade: None,
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
            &format!(
                "sluice_tokens_total{{kind=\"completion\",model=\"{route}\",policy=\"conf\"}}"
            ),
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
}
