#![allow(clippy::unwrap_used)]
//! End to end through the real binary: round trips, pass-through, streaming, retries,
//! fallback, timeouts and disconnects against mock upstreams on loopback.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use sluice_testkit::mock::MockUpstream;

#[tokio::test]
async fn non_streaming_round_trip_is_byte_faithful() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = start(&two_mock_yaml(&a, &b, "")).await;
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .header("x-request-id", "req-abc-123")
        .json(&chat_body("auto", "hello there"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["x-sluice-route"], "small");
    assert_eq!(h["x-sluice-reason"], "policy auto: static target small");
    assert_eq!(h["x-request-id"], "req-abc-123");
    assert_eq!(h["x-upstream-request-id"], "req_mock0");
    assert_eq!(h["openai-processing-ms"], "1");
    // Upstream headers are relayed by allow-list: nothing about the gateway's account.
    for private in [
        "openai-organization",
        "x-ratelimit-remaining-requests",
        "set-cookie",
    ] {
        assert!(!h.contains_key(private), "{private} relayed");
    }
    let body = resp.bytes().await.unwrap();
    // The body is exactly what the upstream sent, model field included.
    assert_eq!(a.responses(), vec![body.clone()]);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["model"], "small-2024");

    let got = &a.requests()[0];
    assert_eq!(
        got.body["model"], "small-2024",
        "upstream gets its own model name"
    );
    assert_eq!(
        got.headers["authorization"],
        format!("Bearer {KEY}").as_str()
    );
    assert_eq!(got.headers["x-extra-header"], "present");
    assert_eq!(got.headers["x-request-id"], "req-abc-123");
    assert!(b.requests().is_empty());

    // A configured model can be asked for directly.
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&chat_body("big", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["x-sluice-reason"],
        "direct: model big requested"
    );
    assert_eq!(b.requests()[0].body["model"], "big-2024");
    assert!(
        b.requests()[0].headers.get("authorization").is_none(),
        "provider b has no key"
    );

    // Path without /v1 works too; a request id is minted when the client sends none.
    let resp = client()
        .post(gw.url("/chat/completions"))
        .json(&chat_body("auto", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "uuid request id, got {id}");
}

#[tokio::test]
async fn unknown_fields_pass_through_untouched() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = start(&two_mock_yaml(&a, &b, "")).await;
    let sent = json!({
        "model": "auto",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "what is this"},
                                          {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}}],
             "name": "alice"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "42"}
        ],
        "tools": [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object", "properties": {}}}}],
        "tool_choice": "auto",
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}, "strict": true}},
        "logprobs": true,
        "top_logprobs": 2,
        "seed": 12345,
        "user": "user-42",
        "temperature": 0.25,
        "max_tokens": 64,
        "stop": ["\n\n"],
        "x_vendor_extension": {"nested": [1, 2.5, "three", null, true]}
    });
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&sent)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut got = a.requests()[0].body.clone();
    assert_eq!(got["model"], "small-2024");
    got["model"] = json!("auto");
    // `content: null` on the assistant message is the one normalisation: an absent and a
    // null content mean the same to every OpenAI-compatible API.
    let mut want = sent.clone();
    want["messages"][2]
        .as_object_mut()
        .unwrap()
        .remove("content");
    assert_eq!(got, want);
}

#[tokio::test]
async fn streaming_arrives_incrementally_and_unaltered() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = start(&two_mock_yaml(&a, &b, "")).await;
    let mut body = chat_body("auto", "stream please");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    body["mock"] = json!({"chunk_delay_ms": 150, "words": 6});
    let mut resp = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    assert_eq!(resp.headers()["x-sluice-route"], "small");
    // Incremental: the first chunk reaches the client while the upstream is still sending
    // (8 events 150 ms apart), not once the whole stream is in.
    let first = resp.chunk().await.unwrap().unwrap();
    assert_eq!(
        a.completed_streams(),
        0,
        "the first chunk waited for the last"
    );
    let (mut chunks, err) = read_stream(resp).await;
    assert!(err.is_none(), "{err:?}");
    assert!(
        chunks.len() >= 3,
        "only {} chunks: buffered?",
        chunks.len() + 1
    );
    chunks.insert(0, (std::time::Instant::now(), first));
    let all = concat(&chunks);
    assert_eq!(a.responses(), vec![bytes::Bytes::from(all.clone())]);
    let data = sse_data(&all);
    assert_eq!(data.last().unwrap(), "[DONE]");
    let usage: Value = serde_json::from_str(&data[data.len() - 2]).unwrap();
    assert_eq!(usage["usage"]["completion_tokens"], 6);
}

#[tokio::test]
async fn retries_429_and_5xx_honouring_retry_after() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = start(&two_mock_yaml(&a, &b, "")).await;
    let mut body = chat_body("auto", "retry me");
    body["mock"] =
        json!({"key": "r1", "script": ["status:429", "status:502", "ok"], "retry_after": "0.4"});
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-sluice-route"], "small");
    let reqs = a.requests();
    assert_eq!(reqs.len(), 3);
    assert!(b.requests().is_empty(), "no fallback needed");
    let gap = reqs[1].at - reqs[0].at;
    assert!(
        gap >= Duration::from_millis(390),
        "retry-after 0.4s not honoured: {gap:?}"
    );
    assert_eq!(
        metric_value(&gw, r#"sluice_upstream_retries_total{provider="a"}"#).await,
        Some(2.0)
    );
    assert_eq!(
        metric_value(
            &gw,
            r#"sluice_upstream_errors_total{kind="status_429",provider="a"}"#
        )
        .await,
        Some(1.0)
    );
}

#[tokio::test]
async fn exhausted_retries_fall_back_to_next_target() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    a.set_default_script(&["status:503"]);
    let gw = start(&two_mock_yaml(&a, &b, "")).await;
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&chat_body("auto", "fall back"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-sluice-route"], "big");
    let reason = resp.headers()["x-sluice-reason"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        reason.contains("small failed (status_5xx), fell back to big"),
        "{reason}"
    );
    assert_eq!(
        a.requests().len(),
        3,
        "1 attempt + 2 retries on the first target"
    );
    assert_eq!(b.requests().len(), 1);
    assert_eq!(
        metric_value(
            &gw,
            r#"sluice_fallbacks_total{from="small",policy="auto",to="big"}"#
        )
        .await,
        Some(1.0)
    );

    // Both down: a 502 that names every failure.
    b.set_default_script(&["status:500"]);
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&chat_body("auto", "both down"))
        .send()
        .await
        .unwrap();
    let e = error_of(resp, 502).await;
    assert_eq!(e["code"], "upstream_error");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("small: provider 'a' returned HTTP 503: mock failure 503"),
        "{msg}"
    );
    assert!(msg.contains("big: provider 'b' returned HTTP 500"), "{msg}");
}

#[tokio::test]
async fn upstream_client_errors_are_relayed_not_retried() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    a.set_default_script(&["status:400"]);
    let gw = start(&two_mock_yaml(&a, &b, "")).await;
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&chat_body("auto", "bad for upstream"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-sluice-route"], "small");
    let e = error_of(resp, 400).await;
    assert_eq!(e["message"], "mock failure 400");
    assert_eq!(a.requests().len(), 1);
    assert!(b.requests().is_empty());
}

#[tokio::test]
async fn connection_refused_falls_back() {
    let b = MockUpstream::start().await;
    // A port nothing listens on: bind, note, close.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let yaml = format!(
        r#"
providers:
  dead: {{ base_url: "http://{dead}/v1", max_retries: 1, retry_initial_backoff: 5ms }}
  b: {{ base_url: {b} }}
models:
  small: {{ provider: dead }}
  big: {{ provider: b }}
policies:
  auto: {{ target: small, fallbacks: [big] }}
"#,
        b = b.base_url()
    );
    let gw = start(&yaml).await;
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&chat_body("auto", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["x-sluice-reason"]
        .to_str()
        .unwrap()
        .contains("small failed (connect)"));
    assert_eq!(
        metric_value(
            &gw,
            r#"sluice_upstream_errors_total{kind="connect",provider="dead"}"#
        )
        .await,
        Some(2.0)
    );
    // Directly to the dead model: 502, unreachable.
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&chat_body("small", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp, 502).await["code"], "upstream_unreachable");
}

#[tokio::test]
async fn no_retry_once_a_stream_has_started() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = start(&two_mock_yaml(&a, &b, "")).await;
    let mut body = chat_body("auto", "one two three four five six");
    body["stream"] = json!(true);
    body["mock"] = json!({"key": "s1", "script": ["break:2", "ok"]});
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (chunks, _err) = read_stream(resp).await;
    let data = sse_data(&concat(&chunks));
    // role chunk + 2 content chunks from the upstream, then the gateway's error event.
    assert_eq!(data.len(), 4, "{data:?}");
    let last: Value = serde_json::from_str(&data[3]).unwrap();
    assert_eq!(last["error"]["code"], "stream_interrupted");
    assert_eq!(a.requests().len(), 1, "a started stream is never retried");
    assert!(b.requests().is_empty(), "nor does it fall back");
}

#[tokio::test]
async fn stream_that_dies_before_first_byte_is_retried() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = start(&two_mock_yaml(&a, &b, "")).await;
    let mut body = chat_body("auto", "hello");
    body["stream"] = json!(true);
    // The first attempt answers 200 and then cuts the connection before any body byte.
    body["mock"] = json!({"key": "s0", "script": ["close", "ok"]});
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (chunks, err) = read_stream(resp).await;
    assert!(err.is_none(), "{err:?}");
    let data = sse_data(&concat(&chunks));
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{data:?}");
    assert_eq!(
        a.requests().len(),
        2,
        "the client had seen nothing, so the gateway retried"
    );
}

#[tokio::test]
async fn upstream_timeout_is_504() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let yaml = two_mock_yaml(&a, &b, "")
        .replace("timeout: 5s", "timeout: 300ms")
        .replace("max_retries: 2", "max_retries: 0");
    a.set_default_script(&["hang"]);
    let gw = start(&yaml).await;
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&chat_body("small", "x"))
        .send()
        .await
        .unwrap();
    let e = error_of(resp, 504).await;
    assert_eq!(e["code"], "upstream_timeout");
}

#[tokio::test]
async fn silent_stream_is_cut_after_idle_timeout() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = start(&two_mock_yaml(&a, &b, "stream_idle_timeout: 300ms")).await;
    let mut body = chat_body("small", "stall");
    body["stream"] = json!(true);
    body["mock"] = json!({"script": ["stall:1"]});
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let (chunks, _) = read_stream(resp).await;
    let data = sse_data(&concat(&chunks));
    let last: Value = serde_json::from_str(data.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "stream_interrupted", "{data:?}");
}

async fn disconnect_after_two_chunks(gw: &sluice_testkit::gateway::Gateway) {
    abandon_stream(gw, 20, 2).await;
}

/// Starts a 40-word stream with `delay_ms` between words, reads `chunks` chunks, and leaves.
async fn abandon_stream(gw: &sluice_testkit::gateway::Gateway, delay_ms: u64, chunks: usize) {
    let mut body = chat_body("auto", "long");
    body["stream"] = json!(true);
    body["mock"] = json!({"chunk_delay_ms": delay_ms, "words": 40});
    let mut resp = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    for _ in 0..chunks {
        resp.chunk().await.unwrap();
    }
    drop(resp);
}

async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn client_disconnect_drains_upstream_and_accounts_once() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = start(&two_mock_yaml(&a, &b, "")).await;
    disconnect_after_two_chunks(&gw).await;
    // The gateway keeps reading so the usage block arrives: the upstream finishes normally.
    wait_until("the drained stream to complete", || {
        a.completed_streams() == 1
    })
    .await;
    assert_eq!(a.disconnects(), 0);
    assert!(gw.wait_for_log("client_gone", Duration::from_secs(2)).await);
    assert_eq!(
        metric_value(&gw, "sluice_requests_in_flight").await,
        Some(0.0)
    );
    assert_eq!(
        metric_value(
            &gw,
            r#"sluice_requests_total{policy="auto",route="small",status="2xx"}"#
        )
        .await,
        Some(1.0),
        "the abandoned stream is counted once"
    );
    let billed = a.billed()[0];
    assert_eq!(
        metric_value(
            &gw,
            r#"sluice_tokens_total{kind="completion",model="small",policy="auto"}"#
        )
        .await,
        Some(billed.completion_tokens as f64),
        "exact usage from the drained stream"
    );
    // And the gateway carries on.
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&chat_body("auto", "next"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn client_disconnect_with_cancel_releases_upstream() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = start(&two_mock_yaml(&a, &b, "on_client_disconnect: cancel")).await;
    disconnect_after_two_chunks(&gw).await;
    wait_until("the upstream to see the disconnect", || {
        a.disconnects() == 1
    })
    .await;
    assert_eq!(a.completed_streams(), 0);
    assert!(gw.wait_for_log("client_gone", Duration::from_secs(2)).await);
    assert_eq!(
        metric_value(&gw, r#"sluice_usage_estimated_total{model="small"}"#).await,
        Some(1.0),
        "no usage block arrived: tokens were estimated"
    );
}

#[tokio::test]
async fn http2_both_ways() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = start(&two_mock_yaml(&a, &b, "http2_prior_knowledge: true")).await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let resp = h2
        .post(gw.url("/v1/chat/completions"))
        .json(&chat_body("auto", "h2"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert_eq!(a.requests()[0].version, http::Version::HTTP_2);
}

#[tokio::test]
async fn logs_are_structured_and_never_show_the_key() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    a.set_default_script(&["status:401"]);
    let gw = start(&two_mock_yaml(&a, &b, "")).await;
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .header("x-request-id", "log-test-1")
        .json(&chat_body("auto", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "401 from the first target falls back");
    assert!(
        gw.wait_for_log("request finished", Duration::from_secs(2))
            .await
    );
    let logs = gw.logs();
    let finished: Value = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["fields"]["message"] == "request finished")
        .unwrap();
    let span = &finished["span"];
    assert_eq!(span["id"], "log-test-1");
    assert_eq!(span["policy"], "auto");
    assert_eq!(span["route"], "big");
    assert_eq!(span["status"], 200);
    assert!(span["duration_ms"].as_f64().is_some());
    for line in &logs {
        assert!(!line.contains(KEY), "API key in logs: {line}");
        assert!(
            !line.contains("sk-test-secret"),
            "API key prefix in logs: {line}"
        );
    }
}

#[tokio::test]
async fn client_gone_before_a_non_streaming_answer_is_still_metered_once() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = start(&two_mock_yaml(&a, &b, "")).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let mut body = chat_body("auto", "slow one");
    body["mock"] = json!({"script": ["slow:800"]});
    assert!(impatient
        .post(gw.url("/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .is_err());
    // The upstream call runs to its end (the upstream bills it), then the request is
    // recorded once, as the client's: 499, with the upstream's own usage.
    wait_until("the abandoned request to be recorded", || {
        gw.logs().iter().any(|l| l.contains("client_gone"))
    })
    .await;
    assert_eq!(
        metric_value(&gw, "sluice_requests_in_flight").await,
        Some(0.0)
    );
    assert_eq!(
        metric_value(
            &gw,
            r#"sluice_requests_total{policy="auto",route="small",status="4xx"}"#
        )
        .await,
        Some(1.0)
    );
    let billed = a.billed();
    assert_eq!(billed.len(), 1, "the upstream answered once");
    for (kind, n) in [
        ("prompt", billed[0].prompt_tokens),
        ("completion", billed[0].completion_tokens),
    ] {
        let series = format!(r#"sluice_tokens_total{{kind="{kind}",model="small",policy="auto"}}"#);
        assert_eq!(metric_value(&gw, &series).await, Some(n as f64), "{kind}");
    }
}

/// Drains are bounded: with `max_drain_tasks: 1`, a second stream abandoned while the first
/// is still being drained is cancelled at once, its tokens estimated, and both counted.
#[tokio::test]
async fn drains_beyond_max_drain_tasks_are_cancelled_and_estimated() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let yaml = two_mock_yaml(&a, &b, "").replace(
        "shutdown_grace: 10s }",
        "shutdown_grace: 10s, max_drain_tasks: 1 }",
    );
    let gw = start(&yaml).await;
    // 40 words 100 ms apart: the first drain outlasts the second request by far.
    abandon_stream(&gw, 100, 1).await;
    abandon_stream(&gw, 100, 1).await;
    wait_until("the cancelled stream's disconnect", || a.disconnects() == 1).await;
    assert_eq!(
        await_metric(&gw, r#"sluice_stream_drains_total{outcome="cancelled"}"#).await,
        Some(1.0)
    );
    wait_until("the drained stream to complete", || {
        a.completed_streams() == 1
    })
    .await;
    assert_eq!(
        await_metric(&gw, r#"sluice_stream_drains_total{outcome="drained"}"#).await,
        Some(1.0)
    );
    assert_eq!(
        metric_value(&gw, r#"sluice_usage_estimated_total{model="small"}"#).await,
        Some(1.0),
        "only the cancelled one is estimated"
    );
    assert_eq!(
        await_metric(
            &gw,
            r#"sluice_requests_total{policy="auto",route="small",status="2xx"}"#
        )
        .await,
        Some(2.0)
    );
}
