//! The router end to end: the real binary embedding requests with the real all-MiniLM-L6-v2
//! through ONNX Runtime, deciding by rules, semantic routes and a learned head.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use sluice_router::embedding::{dot, EmbeddingModel, LoadOptions};
use sluice_testkit::env::{models_dir, write_linear_head};
use sluice_testkit::gateway::Gateway;
use sluice_testkit::mock::MockUpstream;

const REF: &str = "Explain quantum entanglement and Bell's theorem in depth";

const CODE_EXAMPLES: &str = r#"["How do I reverse a list in Python?", "Write a function that sorts an array of integers", "Why does my JavaScript code throw undefined is not a function?"]"#;
const PET_EXAMPLES: &str = r#"["What should I name my new kitten?", "Good names for a pet cat", "How do I pick a name for my dog?"]"#;

fn minilm_int8() -> EmbeddingModel {
    EmbeddingModel::load(
        &models_dir().join("all-MiniLM-L6-v2"),
        &LoadOptions {
            variant: "model_int8.onnx".into(),
            ..LoadOptions::default()
        },
    )
    .unwrap()
}

/// A head that scores prompts close to `REF` high: sigmoid(8·cos − 4).
fn head_weights(m: &mut EmbeddingModel) -> (Vec<f32>, f32) {
    let r = m.embed(&[REF]).unwrap().remove(0);
    (r.iter().map(|x| x * 8.0).collect(), -4.0)
}

fn yaml(
    mock: &MockUpstream,
    head: &std::path::Path,
    examples: &str,
    embedder_extra: &str,
) -> String {
    format!(
        r#"
server: {{ reload_debounce: 50ms }}
providers:
  a: {{ base_url: {base} }}
models:
  small: {{ provider: a, context_window: 2000, supports: {{ tools: false, images: false, json_schema: false }} }}
  big: {{ provider: a }}
router:
  embedder:
    model: {models}/all-MiniLM-L6-v2
    variant: model_int8.onnx
    workers: 1
    {embedder_extra}
  heads:
    default: {{ path: {head} }}
policies:
  sem:
    strategy: semantic
    target: small
    strong: big
    routes:
      - {{ name: code, target: big, threshold: 0.5, examples: {examples} }}
  learned:
    strategy: learned
    target: small
    strong: big
    threshold: 0.5
    fallbacks: [big]
    rules:
      header_override: [small, big]
      patterns: [{{ regex: "(?i)\\bprove\\b", target: big }}]
"#,
        base = mock.base_url(),
        models = models_dir().display(),
        head = head.display(),
    )
}

async fn setup(
    examples: &str,
    embedder_extra: &str,
) -> (
    MockUpstream,
    Gateway,
    tempfile::TempDir,
    EmbeddingModel,
    Vec<f32>,
    f32,
) {
    let mock = MockUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let head = dir.path().join("head.onnx");
    let mut m = minilm_int8();
    let (w, b) = head_weights(&mut m);
    write_linear_head(&w, b, &head);
    let gw = start(&yaml(&mock, &head, examples, embedder_extra)).await;
    (mock, gw, dir, m, w, b)
}

async fn ask(gw: &Gateway, model: &str, text: &str) -> reqwest::Response {
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&chat_body(model, text))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp
}

fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn semantic_routes_paraphrases_and_reloads_examples() {
    let (mock, gw, _dir, _m, _w, _b) = setup(CODE_EXAMPLES, "").await;
    let code = ask(
        &gw,
        "sem",
        "how can I sort a python list in descending order",
    )
    .await;
    assert_eq!(
        header(&code, "x-sluice-route"),
        "big",
        "{}",
        header(&code, "x-sluice-reason")
    );
    assert!(header(&code, "x-sluice-reason").starts_with("semantic route 'code' similarity"));
    let score: f32 = header(&code, "x-sluice-score").parse().unwrap();
    assert!(score >= 0.5);

    let cat = ask(&gw, "sem", "what is a cute name for my cat").await;
    assert_eq!(
        header(&cat, "x-sluice-route"),
        "small",
        "{}",
        header(&cat, "x-sluice-reason")
    );
    assert!(header(&cat, "x-sluice-reason").contains("no semantic route matched"));
    assert_eq!(mock.requests().len(), 2);

    // Editing the examples and saving the file changes routing live.
    let yaml_now = std::fs::read_to_string(&gw.config_path).unwrap();
    gw.write_config(&yaml_now.replace(CODE_EXAMPLES, PET_EXAMPLES));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = ask(&gw, "sem", "what is a cute name for my cat").await;
        if header(&r, "x-sluice-route") == "big" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "reloaded examples never took effect"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let code = ask(
        &gw,
        "sem",
        "how can I sort a python list in descending order",
    )
    .await;
    assert_eq!(header(&code, "x-sluice-route"), "small");
}

#[tokio::test]
async fn learned_head_scores_match_the_math() {
    let (_mock, gw, _dir, mut m, w, b) = setup(CODE_EXAMPLES, "").await;
    for (text, want_route) in [
        (
            "Can you explain quantum entanglement and Bell's theorem in depth?",
            "big",
        ),
        ("what time is it in Paris", "small"),
    ] {
        let resp = ask(&gw, "learned", text).await;
        assert_eq!(
            header(&resp, "x-sluice-route"),
            want_route,
            "{}",
            header(&resp, "x-sluice-reason")
        );
        let got: f32 = header(&resp, "x-sluice-score").parse().unwrap();
        let e = m.embed(&[text]).unwrap().remove(0);
        let want = 1.0 / (1.0 + (-(dot(&e, &w) + b)).exp());
        assert!(
            (got - want).abs() < 1e-3,
            "{text}: gateway {got}, expected {want}"
        );
    }
}

#[tokio::test]
async fn rules_decide_before_any_model() {
    let (_mock, gw, _dir, _m, _w, _b) = setup(CODE_EXAMPLES, "").await;
    let c = client();
    let send = |body: Value, target: Option<&'static str>| {
        let mut r = c.post(gw.url("/v1/chat/completions")).json(&body);
        if let Some(t) = target {
            r = r.header("x-sluice-target", t);
        }
        r.send()
    };
    let near = "Can you explain quantum entanglement and Bell's theorem in depth?";
    let r = send(chat_body("learned", near), Some("small"))
        .await
        .unwrap();
    assert_eq!(
        (header(&r, "x-sluice-route"), header(&r, "x-sluice-reason")),
        ("small".into(), "header x-sluice-target: small".into())
    );
    assert_eq!(
        header(&r, "x-sluice-score"),
        "",
        "no score: nothing was embedded"
    );

    let mut tools = chat_body("learned", "what time is it");
    tools["tools"] = json!([{"type": "function", "function": {"name": "now", "parameters": {"type": "object"}}}]);
    let r = send(tools, None).await.unwrap();
    assert_eq!(header(&r, "x-sluice-route"), "big");
    assert!(header(&r, "x-sluice-reason").contains("tools"));

    let mut img = chat_body("learned", "x");
    img["messages"][0]["content"] = json!([{"type": "text", "text": "what is this"}, {"type": "image_url", "image_url": {"url": "data:,"}}]);
    assert_eq!(
        header(&send(img, None).await.unwrap(), "x-sluice-route"),
        "big"
    );

    let mut schema = chat_body("learned", "hello");
    schema["response_format"] =
        json!({"type": "json_schema", "json_schema": {"name": "x", "schema": {}}});
    assert_eq!(
        header(&send(schema, None).await.unwrap(), "x-sluice-route"),
        "big"
    );

    // 2000-token window: 9000 bytes of prompt is ~2250 tokens.
    let r = send(chat_body("learned", &"word ".repeat(1800)), None)
        .await
        .unwrap();
    assert_eq!(header(&r, "x-sluice-route"), "big");
    assert!(header(&r, "x-sluice-reason").contains("context window of 2000"));

    let r = send(chat_body("learned", "please prove that 2+2=4"), None)
        .await
        .unwrap();
    assert!(
        header(&r, "x-sluice-reason").starts_with("pattern /(?i)\\bprove\\b/ matched"),
        "{}",
        header(&r, "x-sluice-reason")
    );

    // A header naming a target the policy does not allow is ignored (falls to the head).
    let r = send(
        chat_body("learned", "what time is it in Paris"),
        Some("gpt-5"),
    )
    .await
    .unwrap();
    assert!(header(&r, "x-sluice-reason").starts_with("learned score"));
}

#[tokio::test]
async fn route_endpoint_and_cli_decide_without_calling_a_model() {
    let (mock, gw, _dir, _m, _w, _b) = setup(CODE_EXAMPLES, "").await;
    let v: Value = client()
        .post(gw.url("/v1/route"))
        .json(&chat_body("sem", "how do I reverse a string in python"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["policy"], "sem");
    assert_eq!(v["target"], "big");
    assert_eq!(v["basis"], "semantic");
    assert_eq!(v["chain"], json!(["big"]));
    assert!(v["scores"]["semantic"]["code"].as_f64().unwrap() > 0.5);
    assert!(v["decision_ms"].as_f64().unwrap() > 0.0);
    let v: Value = client()
        .post(gw.url("/v1/route"))
        .json(&chat_body("learned", "hi"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["chain"], json!(["small", "big"]));
    assert!(v["scores"]["learned"].as_f64().is_some());
    // The features behind the decision, by name: "hi" is two characters on one line.
    assert_eq!(
        v["signals"].as_object().map(|m| m.len()),
        Some(sluice_router::features::COUNT)
    );
    assert!((v["signals"]["log_chars"].as_f64().unwrap() - 3f64.ln()).abs() < 1e-6);
    assert!(
        mock.requests().is_empty(),
        "/v1/route must not call any model"
    );

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["route", "--config"])
        .arg(&gw.config_path)
        .args(["--model", "sem", "how do I reverse a string in python"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("target:   big"), "{stdout}");
    assert!(stdout.contains("semantic: code="), "{stdout}");
}

#[tokio::test]
async fn two_hundred_concurrent_requests_are_batched() {
    let (mock, gw, _dir, _m, _w, _b) =
        setup(CODE_EXAMPLES, "max_batch: 32\n    max_wait: 2ms").await;
    // Semantic examples were embedded at start-up: count only what the requests add.
    let batches0 = metric_value(&gw, "sluice_router_batch_size_count")
        .await
        .unwrap();
    let jobs0 = metric_value(&gw, "sluice_router_batch_size_sum")
        .await
        .unwrap();
    let c = client();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (c, url) = (c.clone(), gw.url("/v1/chat/completions"));
        tasks.push(tokio::spawn(async move {
            let r = c
                .post(url)
                .json(&chat_body(
                    "learned",
                    &format!("question {i}: what is the capital of country {i}?"),
                ))
                .send()
                .await
                .unwrap();
            (
                r.status().as_u16(),
                r.headers().get("x-sluice-score").is_some(),
            )
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), (200, true));
    }
    assert_eq!(mock.requests().len(), 200);
    let batches = metric_value(&gw, "sluice_router_batch_size_count")
        .await
        .unwrap()
        - batches0;
    let jobs = metric_value(&gw, "sluice_router_batch_size_sum")
        .await
        .unwrap()
        - jobs0;
    assert_eq!(jobs, 200.0);
    assert!(
        batches < 200.0,
        "no batching: {batches} batches for 200 requests"
    );
    let decided = metric_value(
        &gw,
        r#"sluice_router_decision_duration_seconds_count{policy="learned"}"#,
    )
    .await
    .unwrap();
    assert_eq!(decided, 200.0);
}

#[tokio::test]
async fn full_queue_overflows_to_strong_or_rejects() {
    let mock = MockUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let head = dir.path().join("head.onnx");
    write_linear_head(&vec![0.0; 384], 0.0, &head);
    let y = yaml(
        &mock,
        &head,
        CODE_EXAMPLES,
        "max_batch: 1\n    queue_depth: 1",
    )
    .replace("variant: model_int8.onnx", "variant: model.onnx")
    .replace(
        "    threshold: 0.5\n    fallbacks",
        "    threshold: 0.9\n    fallbacks",
    );
    let y = format!("{y}\n  strict:\n    strategy: learned\n    target: small\n    strong: big\n    threshold: 0.9\n    overflow: reject\n");
    let gw = start(&y).await;
    let long = "tell me about the history of the roman empire and its emperors ".repeat(30);
    let c = client();
    let mut tasks = Vec::new();
    for i in 0..60 {
        let (c, url, text) = (c.clone(), gw.url("/v1/chat/completions"), long.clone());
        let model = if i % 2 == 0 { "learned" } else { "strict" };
        tasks.push(tokio::spawn(async move {
            let r = c
                .post(url)
                .json(&chat_body(model, &text))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let reason = r
                .headers()
                .get("x-sluice-reason")
                .map(|v| v.to_str().unwrap().to_owned());
            let retry = r.headers().get("retry-after").is_some();
            (model, status, reason, retry)
        }));
    }
    let (mut to_strong, mut rejected) = (0, 0);
    for t in tasks {
        let (model, status, reason, retry) = t.await.unwrap();
        match (model, status) {
            ("learned", 200) if reason.as_deref() == Some("router queue full; overflow -> big") => {
                to_strong += 1
            }
            ("strict", 503) => {
                assert!(retry, "503 without retry-after");
                rejected += 1;
            }
            (_, 200) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(to_strong > 0, "no request overflowed to strong");
    assert!(rejected > 0, "no request was rejected");
    assert!(
        metric_value(&gw, r#"sluice_router_overflow_total{policy="learned"}"#)
            .await
            .unwrap()
            >= 1.0
    );
}

#[tokio::test]
async fn missing_model_folder_fails_at_start_with_a_hint() {
    let mock = MockUpstream::start().await;
    let y = format!(
        "providers: {{ a: {{ base_url: {} }} }}\nmodels: {{ m: {{ provider: a }} }}\nrouter:\n  embedder: {{ model: no-such-model, hub_id: org/no-such-model }}\npolicies: {{ p: {{ target: m }} }}\n",
        mock.base_url()
    );
    let err = start_fails(&y);
    assert!(
        err.contains("no-such-model") && err.contains("sluice models pull"),
        "{err}"
    );
}

/// The shipped default config (embedded in the binary: static embedder, feature-reading head,
/// calibrated threshold) through `sluice route --json`, the code `/v1/route` runs: the
/// issue's everyday prompts land where a person expects, with the signals and a reason that
/// shows the comparison.
#[test]
fn default_config_routes_everyday_prompts_as_a_person_would() {
    for (prompt, want) in [
        ("thanks!", "gpt-4o-mini"),
        ("What is 2+2?", "gpt-4o-mini"),
        ("Translate 'good morning' to French", "gpt-4o-mini"),
        ("Prove Fermat's last theorem for n=3", "gpt-4o"),
        (
            "Derive the Black–Scholes PDE from first principles using Ito's lemma",
            "gpt-4o",
        ),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["route", "--json", "--model", "auto", prompt])
            .env("SLUICE_MODELS_DIR", models_dir())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["target"], want, "{prompt}: {v}");
        assert_eq!(v["basis"], "learned");
        let reason = v["reason"].as_str().unwrap();
        let words: Vec<&str> = reason.split(' ').collect();
        assert_ne!(
            words[2], words[5],
            "score and threshold must read apart: {reason}"
        );
        assert!(v["signals"]["reasoning_words"].as_f64().is_some(), "{v}");
    }
}
