//! Other protocols end to end, on the real binary: `/v1/messages` (Anthropic) and
//! `/v1/responses` (OpenAI Responses) routed to OpenAI-compatible and Anthropic upstreams,
//! a `kind: anthropic` provider serving chat clients, and `/v1/embeddings` from the
//! in-process embedder and from an upstream. Usage and cost are checked against what the
//! mocks billed, to the pico-dollar.

#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine;
use common::*;
use serde_json::{json, Value};
use sluice_telemetry::pricing::{TokenPrices, Tokens};
use sluice_testkit::mock::MockUpstream;

/// `small` on an OpenAI-compatible mock, `claude` on an Anthropic one (prompt-cache prices
/// of their own), `emb` an upstream embedding model; policy `mixed` tries `claude` first.
fn yaml(oa: &MockUpstream, an: &MockUpstream, router: &str) -> String {
    format!(
        r#"
providers:
  oa: {{ base_url: {oa}, max_retries: 0 }}
  an:
    kind: anthropic
    base_url: {an}
    api_key_env: SLUICE_TEST_KEY
    anthropic_version: "2023-06-01"
    max_retries: 0
models:
  small: {{ provider: oa, upstream_model: small-2024, pricing: {{ input: 0.15, output: 0.6 }} }}
  claude:
    provider: an
    upstream_model: claude-sonnet-4-5
    pricing: {{ input: 3.0, output: 15.0, cached_input: 0.3, cache_write: 3.75 }}
  emb: {{ provider: oa, upstream_model: text-embedding-3-small, pricing: {{ input: 0.02, output: 0 }} }}
policies:
  mixed: {{ target: claude, fallbacks: [small], baseline: claude }}
{router}
"#,
        oa = oa.base_url(),
        an = an.base_url()
    )
}

fn claude_prices() -> TokenPrices {
    TokenPrices::per_million(3.0, 0.3, 15.0).with_cache_write(3.75)
}

/// Each SSE event's name and data.
fn events(body: &[u8]) -> Vec<(String, Value)> {
    String::from_utf8_lossy(body)
        .split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let name = e
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap_or("")
                .to_owned();
            let data = e.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            (name, serde_json::from_str(data).unwrap())
        })
        .collect()
}

async fn post(
    gw: &sluice_testkit::gateway::Gateway,
    path: &str,
    body: &Value,
) -> reqwest::Response {
    client()
        .post(gw.url(path))
        .header("x-api-key", "ignored-without-keys")
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn messages_are_served_by_openai_and_anthropic_targets_alike() {
    let (oa, an) = (MockUpstream::start().await, MockUpstream::start().await);
    an.set_cache_tokens(5, 7);
    let gw = start(&yaml(&oa, &an, "")).await;
    for model in ["small", "claude"] {
        let body = json!({"model": model, "max_tokens": 64, "system": "Be brief.",
                          "messages": [{"role": "user", "content": "hello there"}]});
        // Not streamed.
        let resp = post(&gw, "/v1/messages", &body).await;
        assert_eq!(resp.status(), 200, "{model}");
        assert_eq!(resp.headers()["x-sluice-route"], model);
        let m: Value = resp.json().await.unwrap();
        assert_eq!(m["type"], "message");
        assert_eq!(m["role"], "assistant");
        assert!(m["id"].as_str().unwrap().starts_with("msg_"), "{m}");
        assert_eq!(
            m["content"][0]["text"],
            "This is a mock answer to: hello there "
        );
        assert_eq!(m["stop_reason"], "end_turn");
        let u = &m["usage"];
        let billed = if model == "small" {
            oa.billed()
        } else {
            an.billed()
        };
        let b = billed.last().unwrap();
        let (read, write) = if model == "claude" { (5, 7) } else { (0, 0) };
        assert_eq!(
            u["input_tokens"].as_u64().unwrap() + read + write,
            b.prompt_tokens
        );
        assert_eq!(u["cache_read_input_tokens"], read);
        assert_eq!(u["cache_creation_input_tokens"], write);
        assert_eq!(u["output_tokens"], b.completion_tokens);

        // Streamed: Anthropic's event sequence, the same text and usage.
        let mut s = body.clone();
        s["stream"] = json!(true);
        let resp = post(&gw, "/v1/messages", &s).await;
        assert_eq!(resp.status(), 200);
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        let ev = events(&resp.bytes().await.unwrap());
        let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names[..3],
            ["message_start", "ping", "content_block_start"],
            "{names:?}"
        );
        assert_eq!(
            names[names.len() - 3..],
            ["content_block_stop", "message_delta", "message_stop"]
        );
        for (n, d) in &ev {
            assert_eq!(d["type"], n.as_str(), "the data names its event");
        }
        let text: String = ev
            .iter()
            .filter_map(|(_, d)| d["delta"]["text"].as_str())
            .collect();
        assert_eq!(text, "This is a mock answer to: hello there ");
        let delta = &ev[ev.len() - 2].1;
        assert_eq!(delta["delta"]["stop_reason"], "end_turn");
        let billed = if model == "small" {
            oa.billed()
        } else {
            an.billed()
        };
        let b = billed.last().unwrap();
        let u = &delta["usage"];
        assert_eq!(u["output_tokens"], b.completion_tokens);
        assert_eq!(
            u["input_tokens"].as_u64().unwrap() + read + write,
            b.prompt_tokens
        );
    }
    // The Anthropic upstream got a native Messages request with its key and version.
    let r = an.requests();
    let last = r.last().unwrap();
    assert_eq!(last.headers["x-api-key"], KEY);
    assert_eq!(last.headers["anthropic-version"], "2023-06-01");
    assert!(last.headers.get("authorization").is_none());
    assert_eq!(last.body["model"], "claude-sonnet-4-5");
    assert_eq!(last.body["system"], "Be brief.");
    assert_eq!(last.body["max_tokens"], 64);
    assert_eq!(
        last.body["messages"],
        json!([{"role": "user", "content": "hello there"}])
    );
    // Every request was priced from the upstream's own usage, cache reads and writes apart.
    let expected: u128 = an
        .billed()
        .iter()
        .map(|b| {
            claude_prices().cost(Tokens {
                prompt: b.prompt_tokens,
                cached: 5,
                cache_write: 7,
                completion: b.completion_tokens,
            })
        })
        .sum();
    let cost = await_metric(
        &gw,
        r#"sluice_cost_usd_total{model="claude",policy="claude"}"#,
    )
    .await
    .unwrap();
    assert!(
        (cost - expected as f64 / 1e12).abs() < 1e-12,
        "{cost} vs {expected}"
    );
}

#[tokio::test]
async fn chat_clients_reach_an_anthropic_target_through_a_policy() {
    let (oa, an) = (MockUpstream::start().await, MockUpstream::start().await);
    an.set_cache_tokens(3, 0);
    let gw = start(&yaml(&oa, &an, "")).await;
    let mut body = chat_body("mixed", "what is a sluice");
    body["max_tokens"] = json!(50);
    body["stop"] = json!("END");
    let resp = post_chat(&gw, &body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-sluice-route"], "claude");
    let c: Value = resp.json().await.unwrap();
    assert_eq!(c["object"], "chat.completion");
    assert_eq!(
        c["choices"][0]["message"]["content"],
        "This is a mock answer to: what is a sluice "
    );
    assert_eq!(c["choices"][0]["finish_reason"], "stop");
    let b = *an.billed().last().unwrap();
    assert_eq!(c["usage"]["prompt_tokens"], b.prompt_tokens);
    assert_eq!(c["usage"]["prompt_tokens_details"]["cached_tokens"], 3);
    assert_eq!(c["usage"]["completion_tokens"], b.completion_tokens);
    let sent = an.requests().last().unwrap().body.clone();
    assert_eq!(sent["stop_sequences"], json!(["END"]));
    assert_eq!(sent["max_tokens"], 50);

    // Streamed, with the usage chunk asked for: chat chunks, [DONE], exact usage.
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let resp = post_chat(&gw, &body).await;
    let data = sse_data(&resp.bytes().await.unwrap());
    assert_eq!(data.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "This is a mock answer to: what is a sluice ");
    let usage = &chunks.last().unwrap()["usage"];
    let b = *an.billed().last().unwrap();
    assert_eq!(usage["prompt_tokens"], b.prompt_tokens);
    assert_eq!(usage["completion_tokens"], b.completion_tokens);

    // An Anthropic 5xx falls back to the next target; a 400 reaches the chat client in
    // OpenAI's shape.
    an.set_default_script(&["status:529"]);
    let resp = post_chat(&gw, &chat_body("mixed", "fall back please")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-sluice-route"], "small");
    an.set_default_script(&["status:400"]);
    let e = error_of(post_chat(&gw, &chat_body("claude", "refused")).await, 400).await;
    assert_eq!(e["message"], "mock failure 400");
    assert_eq!(e["code"], "invalid_request_error");
}

#[tokio::test]
async fn messages_errors_come_in_anthropics_shape() {
    let (oa, an) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = start(&yaml(&oa, &an, "")).await;
    let check = |status: u16, kind: &'static str| {
        move |resp: reqwest::Response| async move {
            assert_eq!(resp.status().as_u16(), status);
            let v: Value = resp.json().await.unwrap();
            assert_eq!(v["type"], "error", "{v}");
            assert_eq!(v["error"]["type"], kind, "{v}");
            assert!(!v["error"]["message"].as_str().unwrap().is_empty());
            v
        }
    };
    let no_max = json!({"model": "small", "messages": [{"role": "user", "content": "x"}]});
    let v = check(400, "invalid_request_error")(post(&gw, "/v1/messages", &no_max).await).await;
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_tokens"),
        "{v}"
    );
    let unknown =
        json!({"model": "nope", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]});
    check(404, "not_found_error")(post(&gw, "/v1/messages", &unknown).await).await;
    let resp = client()
        .post(gw.url("/v1/messages"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    check(400, "invalid_request_error")(resp).await;
    // An upstream refusal mid-chain keeps the shape, with the upstream's message.
    an.set_default_script(&["status:429"]);
    oa.set_default_script(&["status:429"]);
    let ok =
        json!({"model": "mixed", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]});
    check(429, "rate_limit_error")(post(&gw, "/v1/messages", &ok).await).await;
}

#[tokio::test]
async fn responses_are_served_stateless_with_usage() {
    let (oa, an) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = start(&yaml(&oa, &an, "")).await;
    for model in ["small", "claude"] {
        let body = json!({"model": model, "input": "tell me a story",
                          "instructions": "You are terse.", "max_output_tokens": 100});
        let resp = post(&gw, "/v1/responses", &body).await;
        assert_eq!(resp.status(), 200);
        let r: Value = resp.json().await.unwrap();
        assert_eq!(r["object"], "response");
        assert_eq!(r["status"], "completed");
        assert!(r["id"].as_str().unwrap().starts_with("resp_"));
        assert_eq!(r["output"][0]["type"], "message");
        assert_eq!(
            r["output"][0]["content"][0]["text"],
            "This is a mock answer to: tell me a story "
        );
        assert_eq!(r["instructions"], "You are terse.");
        let billed = if model == "small" {
            oa.billed()
        } else {
            an.billed()
        };
        let b = billed.last().unwrap();
        assert_eq!(r["usage"]["input_tokens"], b.prompt_tokens);
        assert_eq!(r["usage"]["output_tokens"], b.completion_tokens);

        let mut s = body.clone();
        s["stream"] = json!(true);
        let ev = events(&post(&gw, "/v1/responses", &s).await.bytes().await.unwrap());
        let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names[..4],
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added"
            ]
        );
        assert_eq!(names.last(), Some(&"response.completed"));
        let seq: Vec<u64> = ev
            .iter()
            .map(|(_, d)| d["sequence_number"].as_u64().unwrap())
            .collect();
        assert_eq!(seq, (0..seq.len() as u64).collect::<Vec<_>>());
        let text: String = ev
            .iter()
            .filter(|(n, _)| n == "response.output_text.delta")
            .map(|(_, d)| d["delta"].as_str().unwrap())
            .collect();
        assert_eq!(text, "This is a mock answer to: tell me a story ");
        let done = &ev.last().unwrap().1["response"];
        assert_eq!(done["output"][0]["content"][0]["text"], text.as_str());
        let billed = if model == "small" {
            oa.billed()
        } else {
            an.billed()
        };
        assert_eq!(
            done["usage"]["output_tokens"],
            billed.last().unwrap().completion_tokens
        );
    }
    // A conversation as items, with a truncated answer.
    let body = json!({"model": "small", "max_output_tokens": 3, "input": [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "second one"}]}]});
    let r: Value = post(&gw, "/v1/responses", &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["status"], "incomplete");
    assert_eq!(r["incomplete_details"]["reason"], "max_output_tokens");
    let sent = oa.requests().last().unwrap().body.clone();
    assert_eq!(sent["messages"].as_array().unwrap().len(), 3);
    assert_eq!(sent["max_tokens"], 3);
    // Nothing is stored, so nothing can be continued or read back.
    let cont = json!({"model": "small", "input": "more", "previous_response_id": "resp_1"});
    let e = error_of(post(&gw, "/v1/responses", &cont).await, 400).await;
    assert_eq!(e["param"], "previous_response_id");
    let resp = client()
        .get(gw.url("/v1/responses/resp_1"))
        .send()
        .await
        .unwrap();
    error_of(resp, 400).await;
    let tool = json!({"model": "small", "input": "x", "tools": [{"type": "web_search"}]});
    let e = error_of(post(&gw, "/v1/responses", &tool).await, 400).await;
    assert_eq!(e["param"], "tools[0].type");
}

/// all-MiniLM-L6-v2 (fp32) through the router, as `/v1/embeddings` serves it.
const ROUTER: &str = r#"
router:
  embedder: { model: all-MiniLM-L6-v2, variant: model.onnx, workers: 1, max_batch: 8 }
"#;

#[tokio::test]
async fn embeddings_match_the_reference_and_batches_match_singles() {
    let (oa, an) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = start(&yaml(&oa, &an, ROUTER)).await;
    let models = get_json(&gw, "/v1/models").await;
    let listed = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "all-MiniLM-L6-v2")
        .expect("the embedder is listed");
    assert_eq!(listed["sluice"]["kind"], "embedding");
    assert_eq!(listed["sluice"]["dimensions"], 384);

    let embed = |input: Value, format: &'static str| {
        let gw = &gw;
        async move {
            let resp = post(
                gw,
                "/v1/embeddings",
                &json!({"model": "all-MiniLM-L6-v2", "input": input, "encoding_format": format}),
            )
            .await;
            assert_eq!(resp.status(), 200);
            resp.json::<Value>().await.unwrap()
        }
    };
    let texts = [
        "How do I reverse a linked list in Python?",
        "hi",
        "The quick brown fox jumps over the lazy dog near the riverbank at dawn.",
    ];
    let batch = embed(json!(texts), "float").await;
    assert_eq!(batch["object"], "list");
    assert_eq!(batch["model"], "all-MiniLM-L6-v2");
    let vec_of = |v: &Value| -> Vec<f32> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect()
    };
    let vectors: Vec<Vec<f32>> = batch["data"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, d)| {
            assert_eq!(d["index"], i);
            vec_of(&d["embedding"])
        })
        .collect();
    // sentence-transformers' own vector for the first text (its README), to 1e-4.
    for (got, want) in vectors[0]
        .iter()
        .zip([-0.019_628, 0.065_405_1, 0.061_226, 0.029_542_3])
    {
        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
    }
    let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let mut tokens = 0;
    for (i, t) in texts.iter().enumerate() {
        let single = embed(json!(t), "base64").await;
        let b = base64::engine::general_purpose::STANDARD
            .decode(single["data"][0]["embedding"].as_str().unwrap())
            .unwrap();
        let v: Vec<f32> = b
            .chunks(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(v.len(), 384);
        assert!(cos(&v, &vectors[i]) > 0.999_9, "batch vs single for {t}");
        tokens += single["usage"]["prompt_tokens"].as_u64().unwrap();
    }
    assert_eq!(
        batch["usage"]["prompt_tokens"], tokens,
        "usage counts every input"
    );
    assert!(cos(&vectors[0], &vectors[1]) < 0.5);

    // Upstream embedding models are proxied and priced.
    let resp = post(
        &gw,
        "/v1/embeddings",
        &json!({"model": "emb", "input": ["one two", "three"]}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    assert_eq!(
        oa.requests().last().unwrap().body["model"],
        "text-embedding-3-small"
    );
    let tokens = await_metric(
        &gw,
        r#"sluice_tokens_total{kind="prompt",model="emb",policy="emb"}"#,
    )
    .await
    .unwrap();
    assert_eq!(tokens, 3.0);

    // Bad requests.
    let e = error_of(
        post(
            &gw,
            "/v1/embeddings",
            &json!({"model": "all-MiniLM-L6-v2", "input": [1, 2]}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(e["param"], "input");
    let e = error_of(
        post(
            &gw,
            "/v1/embeddings",
            &json!({"model": "all-MiniLM-L6-v2", "input": "x", "dimensions": 64}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(e["param"], "dimensions");
    error_of(
        post(
            &gw,
            "/v1/embeddings",
            &json!({"model": "nope", "input": "x"}),
        )
        .await,
        404,
    )
    .await;
}
