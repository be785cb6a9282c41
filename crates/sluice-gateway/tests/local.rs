//! The `kind: local` target end to end: the real binary serving the tiny random-weight
//! Llama through ONNX Runtime, answering in OpenAI's shapes, refusing what it cannot do,
//! applying the policy's overflow rule and freeing the slot of a client that leaves.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use sluice_testkit::env::models_dir;
use sluice_testkit::gateway::Gateway;
use sluice_testkit::mock::MockUpstream;

/// A local provider on the tiny model plus one upstream; `local_extra` tunes the local one.
fn yaml(mock: &MockUpstream, local_extra: &str, overflow: &str) -> String {
    format!(
        r#"
providers:
  up: {{ base_url: {base}, max_retries: 0 }}
  here:
    kind: local
    model: {models}/tiny-random-llama
    threads: 1
    {local_extra}
models:
  tiny: {{ provider: here, pricing: {{ input: 1.0, output: 2.0 }} }}
  big: {{ provider: up }}
policies:
  auto:
    target: tiny
    strong: big
    overflow: {overflow}
    baseline: big
  tools-ok:
    strategy: learned
    target: tiny
    strong: big
    head: h
    threshold: 0.99
router:
  embedder: {{ model: {models}/all-MiniLM-L6-v2, variant: model_int8.onnx, workers: 1 }}
  heads: {{ h: {{ path: {head} }} }}
"#,
        base = mock.base_url(),
        models = models_dir().display(),
        head = head_path().display(),
    )
}

/// A learned head that scores everything 0 (weights 0, bias −10): only rules route.
fn head_path() -> std::path::PathBuf {
    let p = std::env::temp_dir().join("sluice-local-test-head.onnx");
    if !p.exists() {
        sluice_testkit::env::write_linear_head(&[0.0; 384], -10.0, &p);
    }
    p
}

async fn gateway(mock: &MockUpstream, local_extra: &str, overflow: &str) -> Gateway {
    start(&yaml(mock, local_extra, overflow)).await
}

fn body(model: &str, max_tokens: u64, extra: Value) -> Value {
    let mut b = json!({
        "model": model,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello, who are you?"}],
        "max_tokens": max_tokens,
    });
    if let (Some(o), Some(e)) = (b.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    b
}

/// Content and usage out of an SSE body, checking every chunk's shape on the way.
fn stream_content(body: &[u8]) -> (String, Option<Value>, String) {
    let data = sse_data(body);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let mut text = String::new();
    let mut usage = None;
    let mut finish = String::new();
    let mut id = None;
    for d in &data[..data.len() - 1] {
        let v: Value = serde_json::from_str(d).unwrap();
        assert_eq!(v["object"], "chat.completion.chunk", "{v}");
        assert!(v["created"].as_u64().is_some());
        let this_id = v["id"].as_str().unwrap().to_owned();
        assert!(this_id.starts_with("chatcmpl-"));
        assert_eq!(
            id.get_or_insert(this_id.clone()),
            &this_id,
            "one id per stream"
        );
        if let Some(c) = v["choices"][0]["delta"]["content"].as_str() {
            text.push_str(c);
        }
        if let Some(f) = v["choices"][0]["finish_reason"].as_str() {
            finish = f.to_owned();
        }
        if v["usage"].is_object() {
            assert_eq!(v["choices"], json!([]));
            usage = Some(v["usage"].clone());
        }
    }
    (text, usage, finish)
}

#[tokio::test]
async fn local_answers_like_openai_streamed_and_not() {
    let mock = MockUpstream::start().await;
    let gw = gateway(&mock, "", "strong").await;

    let resp = post_chat(&gw, &body("tiny", 12, json!({}))).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-sluice-route"], "tiny");
    assert_eq!(resp.headers()["content-type"], "application/json");
    let full: Value = resp.json().await.unwrap();
    assert_eq!(full["object"], "chat.completion");
    assert_eq!(full["choices"][0]["message"]["role"], "assistant");
    assert_eq!(full["choices"][0]["finish_reason"], "length");
    assert_eq!(full["usage"]["completion_tokens"], 12);
    let prompt_tokens = full["usage"]["prompt_tokens"].as_u64().unwrap();
    assert!(prompt_tokens > 5);
    assert_eq!(full["usage"]["total_tokens"], prompt_tokens + 12);
    let text = full["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!text.is_empty());

    // Streamed, with usage asked for: the same greedy text, the same usage.
    let resp = post_chat(
        &gw,
        &body(
            "tiny",
            12,
            json!({"stream": true, "stream_options": {"include_usage": true}}),
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let (chunks, err) = read_stream(resp).await;
    assert!(err.is_none());
    let (streamed, usage, finish) = stream_content(&concat(&chunks));
    assert_eq!(streamed, text);
    assert_eq!(finish, "length");
    assert_eq!(usage.unwrap(), full["usage"]);

    // Without include_usage no chunk carries a usage field, as with OpenAI.
    let resp = post_chat(&gw, &body("tiny", 4, json!({"stream": true}))).await;
    let raw = concat(&read_stream(resp).await.0);
    for d in sse_data(&raw).iter().filter(|d| *d != "[DONE]") {
        let v: Value = serde_json::from_str(d).unwrap();
        assert!(v.get("usage").is_none(), "{v}");
    }

    // A seed makes sampling repeatable; stop sequences cut where they match.
    let sampled = json!({"temperature": 1.0, "top_p": 0.9, "seed": 11});
    let a: Value = post_chat(&gw, &body("tiny", 10, sampled.clone()))
        .await
        .json()
        .await
        .unwrap();
    let b: Value = post_chat(&gw, &body("tiny", 10, sampled))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(a["choices"], b["choices"]);
    let word: String = text.split_whitespace().nth(2).unwrap().to_owned();
    let stopped: Value = post_chat(&gw, &body("tiny", 12, json!({"stop": [word.clone()]})))
        .await
        .json()
        .await
        .unwrap();
    let cut = stopped["choices"][0]["message"]["content"]
        .as_str()
        .unwrap();
    assert_eq!(stopped["choices"][0]["finish_reason"], "stop");
    assert!(
        !cut.contains(&word) && text.starts_with(cut),
        "{cut:?} vs {text:?}"
    );

    // Tokens are metered from the exact usage: 12 + 12 + 4 + 10 + 10 + the stopped one.
    let completion = metric_value(
        &gw,
        r#"sluice_tokens_total{kind="completion",model="tiny",policy="tiny"}"#,
    )
    .await
    .unwrap();
    assert!(completion > 48.0, "{completion}");
    assert!(
        metric_value(
            &gw,
            r#"sluice_local_generated_tokens_total{provider="here"}"#
        )
        .await
        .unwrap()
            >= completion
    );
}

#[tokio::test]
async fn local_refuses_what_it_cannot_do_and_rules_route_it_away() {
    let mock = MockUpstream::start().await;
    let gw = gateway(&mock, "", "strong").await;

    let tools =
        json!({"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]});
    let e = error_of(post_chat(&gw, &body("tiny", 4, tools.clone())).await, 400).await;
    assert_eq!(e["param"], "tools");
    assert_eq!(e["code"], "unsupported_parameter");

    let image = json!({"model": "tiny", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]});
    let e = error_of(post_chat(&gw, &image).await, 400).await;
    assert_eq!(e["param"], "messages[0].content[1].type");

    let long = "word ".repeat(9000);
    let e = error_of(
        post_chat(
            &gw,
            &json!({"model": "tiny", "messages": [{"role": "user", "content": long}]}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(e["code"], "context_length_exceeded");
    assert!(e["message"].as_str().unwrap().contains("8192"), "{e}");

    let e = error_of(post_chat(&gw, &body("tiny", 4, json!({"n": 2}))).await, 400).await;
    assert_eq!(e["param"], "n");
    let e = error_of(
        post_chat(&gw, &body("tiny", 4, json!({"temperature": 3}))).await,
        400,
    )
    .await;
    assert_eq!(e["param"], "temperature");
    let e = error_of(post_chat(&gw, &body("tiny", 0, json!({}))).await, 400).await;
    assert_eq!(e["param"], "max_tokens");

    // Through a policy, the rules send what the local model lacks to the strong model.
    let resp = post_chat(&gw, &body("tools-ok", 4, tools)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-sluice-route"], "big");
    assert!(resp.headers()["x-sluice-reason"]
        .to_str()
        .unwrap()
        .contains("tools"));
    let long_req = json!({"model": "tools-ok", "messages": [{"role": "user", "content": "word ".repeat(9000)}]});
    let resp = post_chat(&gw, &long_req).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-sluice-route"], "big");
    assert_eq!(mock.requests().len(), 2);
}

/// Starts a long stream and waits for its first content chunk, so the single slot is busy.
async fn occupy(gw: &Gateway) -> reqwest::Response {
    let mut resp = post_chat(
        gw,
        &body(
            "tiny",
            100_000,
            json!({"stream": true, "stream_options": {"include_usage": true}}),
        ),
    )
    .await;
    assert_eq!(resp.status(), 200);
    // Role chunk, then the first content chunk.
    let mut seen = String::new();
    while !seen.contains("\"content\":\"") || seen.matches("data: ").count() < 2 {
        seen.push_str(&String::from_utf8_lossy(
            &resp.chunk().await.unwrap().unwrap(),
        ));
    }
    resp
}

#[tokio::test]
async fn full_queue_applies_the_overflow_rule() {
    let mock = MockUpstream::start().await;
    let local = "max_batch: 1\n    queue_depth: 1";
    for overflow in ["reject", "strong"] {
        let gw = gateway(&mock, local, overflow).await;
        let running = occupy(&gw).await;
        // The second waits in the queue (depth 1); the third finds it full.
        let queued = tokio::spawn({
            let url = gw.url("/v1/chat/completions");
            async move {
                client()
                    .post(url)
                    .json(&body("auto", 3, json!({})))
                    .send()
                    .await
                    .unwrap()
            }
        });
        let mut waited = 0;
        while metric_value(&gw, r#"sluice_local_queue_depth{provider="here"}"#)
            .await
            .unwrap_or(0.0)
            < 1.0
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
            waited += 1;
            assert!(waited < 250, "the second request never queued");
        }
        let resp = post_chat(&gw, &body("auto", 3, json!({}))).await;
        if overflow == "reject" {
            assert_eq!(resp.headers()["retry-after"], "1");
            let e = error_of(resp, 503).await;
            assert_eq!(e["code"], "local_model_overloaded");
        } else {
            assert_eq!(resp.status(), 200);
            assert_eq!(resp.headers()["x-sluice-route"], "big");
            assert!(resp.headers()["x-sluice-reason"]
                .to_str()
                .unwrap()
                .contains("queue_full"));
        }
        assert_eq!(
            metric_value(
                &gw,
                r#"sluice_local_rejected_total{provider="here",reason="queue_full"}"#
            )
            .await,
            Some(1.0)
        );
        // The client of the long stream leaves: its slot frees at the next step and the
        // queued request is served.
        drop(running);
        let queued = tokio::time::timeout(Duration::from_secs(20), queued)
            .await
            .expect("queued request served after the slot freed")
            .unwrap();
        assert_eq!(queued.status(), 200);
        assert_eq!(queued.headers()["x-sluice-route"], "tiny");
        // The abandoned stream (sent as 200) is metered once, with the tokens it produced.
        let gone = await_metric(
            &gw,
            r#"sluice_requests_total{policy="tiny",route="tiny",status="2xx"}"#,
        )
        .await;
        assert_eq!(gone, Some(1.0));
        let produced = metric_value(
            &gw,
            r#"sluice_tokens_total{kind="completion",model="tiny",policy="tiny"}"#,
        )
        .await
        .unwrap();
        assert!(produced >= 1.0, "{produced}");
    }
}

#[tokio::test]
async fn kv_budget_bounds_requests() {
    let mock = MockUpstream::start().await;
    let gw = gateway(&mock, "kv_budget_tokens: 200", "reject").await;
    let e = error_of(post_chat(&gw, &body("auto", 500, json!({}))).await, 400).await;
    assert_eq!(e["code"], "context_length_exceeded");
    assert!(e["message"].as_str().unwrap().contains("budget"), "{e}");
    let ok = post_chat(&gw, &body("auto", 20, json!({}))).await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn missing_model_falls_back_loudly_or_stops_startup() {
    let mock = MockUpstream::start().await;
    let fallback_yaml = format!(
        r#"
providers:
  here:
    kind: local
    model: {dir}/no-such-model
    hub_id: example/no-such-model
    fallback: {models}/tiny-random-llama
models:
  tiny: {{ provider: here }}
"#,
        dir = std::env::temp_dir().display(),
        models = models_dir().display()
    );
    let gw = start(&fallback_yaml).await;
    let models: Value = client()
        .get(gw.url("/v1/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let warning = models["data"][0]["sluice"]["warning"].as_str().unwrap();
    assert!(
        warning.contains("no-such-model") && warning.contains("random text"),
        "{warning}"
    );
    assert!(gw
        .logs()
        .iter()
        .any(|l| l.contains("WARN") && l.contains("random text")));
    drop(gw);

    // Without a fallback the gateway refuses to start and names the field.
    let no_fallback = fallback_yaml.replace(
        &format!(
            "    fallback: {}/tiny-random-llama\n",
            models_dir().display()
        ),
        "",
    );
    let err = start_fails(&no_fallback);
    assert!(
        err.contains("providers.here.model") && err.contains("no-such-model"),
        "{err}"
    );
    let _ = mock;
}
