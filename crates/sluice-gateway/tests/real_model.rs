//! The real local model through the real binary on its embedded default config, as a new
//! user meets it: `sluice serve`, then a request to `smollm2-135m`. Greedy answers equal
//! the references recorded with the model (transformers' token ids in its
//! `verification.json`), streamed and not; stop sequences, `max_tokens`, usage, the prefix
//! cache's metrics; and a missing model stops start-up with the command that fetches it.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{json, Value};
use sluice_testkit::env::models_dir;
use sluice_testkit::gateway::Gateway;

async fn default_gateway() -> Gateway {
    Gateway::builder(env!("CARGO_BIN_EXE_sluice"), "")
        .builtin_config()
        .start()
        .await
}

/// (question, reply) pairs: the reference greedy ids up to the first `<|im_end|>`, decoded.
fn references() -> Vec<(String, Vec<u32>, usize)> {
    let dir = models_dir().join("smollm2-135m-instruct");
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("verification.json")).unwrap())
            .unwrap();
    v["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .zip(v["transformers"]["greedy"].as_array().unwrap())
        .map(|(p, g)| {
            let ids: Vec<u32> = g["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_u64().unwrap() as u32)
                .take_while(|&t| t != 2)
                .collect();
            let prompt = p["ids"].as_array().unwrap().len();
            (p["user"].as_str().unwrap().to_owned(), ids, prompt)
        })
        .collect()
}

fn decode(ids: &[u32]) -> String {
    let tok =
        tokenizers::Tokenizer::from_file(models_dir().join("smollm2-135m-instruct/tokenizer.json"))
            .unwrap();
    tok.decode(ids, true).unwrap()
}

fn ask(question: &str, max_tokens: u64, extra: Value) -> Value {
    let mut b = json!({
        "model": "smollm2-135m",
        "messages": [{"role": "user", "content": question}],
        "max_tokens": max_tokens,
        "temperature": 0,
    });
    if let (Some(o), Some(e)) = (b.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    b
}

#[tokio::test]
async fn the_default_config_serves_real_answers_streamed_and_not() {
    let gw = default_gateway().await;
    let models = get_json(&gw, "/v1/models").await;
    let local = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "smollm2-135m")
        .unwrap_or_else(|| panic!("{models}"));
    assert!(local["sluice"].get("warning").is_none(), "{local}");
    assert!(
        local["sluice"]["model_dir"]
            .as_str()
            .unwrap()
            .ends_with("smollm2-135m-instruct"),
        "{local}"
    );

    for (question, ids, prompt_tokens) in references() {
        let reply = decode(&ids);
        let finish = if ids.len() < 32 { "stop" } else { "length" };
        let resp = post_chat(&gw, &ask(&question, 32, json!({}))).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["x-sluice-route"], "smollm2-135m");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], reply.as_str());
        assert_eq!(v["choices"][0]["finish_reason"], finish);
        assert_eq!(v["usage"]["prompt_tokens"], prompt_tokens);
        assert_eq!(v["usage"]["completion_tokens"], ids.len());

        let resp = post_chat(
            &gw,
            &ask(
                &question,
                32,
                json!({"stream": true, "stream_options": {"include_usage": true}}),
            ),
        )
        .await;
        assert_eq!(resp.status(), 200);
        let (chunks, err) = read_stream(resp).await;
        assert!(err.is_none());
        let mut text = String::new();
        let mut usage = None;
        let mut stream_finish = None;
        for d in sse_data(&concat(&chunks)) {
            if d == "[DONE]" {
                continue;
            }
            let c: Value = serde_json::from_str(&d).unwrap();
            if let Some(t) = c["choices"][0]["delta"]["content"].as_str() {
                text.push_str(t);
            }
            if let Some(f) = c["choices"][0]["finish_reason"].as_str() {
                stream_finish = Some(f.to_owned());
            }
            if c["usage"].is_object() {
                usage = Some(c["usage"].clone());
            }
        }
        assert_eq!(text, reply);
        assert_eq!(stream_finish.as_deref(), Some(finish));
        assert_eq!(usage.unwrap()["completion_tokens"], ids.len());
    }
    assert_eq!(
        decode(&references()[0].1),
        "The capital of France is Paris."
    );

    // Stop sequences and max_tokens cut the real text where they should.
    let v: Value = post_chat(
        &gw,
        &ask(
            "What is the capital of France?",
            32,
            json!({"stop": [" Paris"]}),
        ),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "The capital of France is"
    );
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    let v: Value = post_chat(&gw, &ask("What is the capital of France?", 3, json!({})))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "The capital of");
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(v["usage"]["completion_tokens"], 3);

    // Every request above shares the template's default system prompt: after the first,
    // prefills reuse it, and the metrics say so.
    let hits = metric_value(
        &gw,
        r#"sluice_local_prefix_lookups_total{provider="local",result="hit"}"#,
    )
    .await
    .unwrap_or(0.0);
    let reused = metric_value(
        &gw,
        r#"sluice_local_prefix_reused_tokens_total{provider="local"}"#,
    )
    .await
    .unwrap_or(0.0);
    assert!(hits >= 6.0, "{hits}");
    assert!(reused >= 6.0 * 20.0, "{reused}");
    let ttft = metric_value(
        &gw,
        r#"sluice_local_time_to_first_token_seconds_count{prefix="hit",provider="local"}"#,
    )
    .await
    .unwrap_or(0.0);
    assert_eq!(ttft, hits);
}

#[tokio::test]
async fn a_missing_local_model_stops_startup_with_the_command_that_fetches_it() {
    let err = start_fails(
        "providers:\n  here: { kind: local, model: smollm2-135m-instruct, variant: no-such-file.onnx }\n\
         models:\n  smol: { provider: here }\n",
    );
    for want in [
        "providers.here.model",
        "no-such-file.onnx",
        "smollm2-135m-instruct",
        "scripts/setup.sh",
        "sluice models pull",
    ] {
        assert!(err.contains(want), "{want:?} missing from: {err}");
    }
}
