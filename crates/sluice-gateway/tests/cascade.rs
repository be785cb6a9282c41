//! The cascade end to end: the real binary, the real SmolLM2-135M drafting, mock strong
//! upstreams. Escalation heads with fixed outputs (a bias and no weights) make each path
//! certain: one that always keeps the draft, one that always escalates. Checked: what the
//! client receives (never a token of a withdrawn draft), the headers, metering of draft and
//! strong answer exactly once, the escalation target's own fallback, the overflow rule when
//! the local queue is full, the draft time bound, and a bad head file at start-up.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::{json, Value};
use sluice_testkit::env::venv_python;
use sluice_testkit::gateway::Gateway;
use sluice_testkit::mock::MockUpstream;

/// An escalation head whose probability is sigmoid(`bias`) whatever the signals.
fn constant_head(dir: &Path, name: &str, bias: f32) -> PathBuf {
    let names = sluice_local::signals::FEATURE_NAMES;
    let spec = json!({
        "kind": "logistic",
        "w": vec![0.0; names.len()],
        "b": bias,
        "signals": {
            "version": sluice_local::signals::FEATURES_VERSION,
            "names": names,
            "mu": vec![0.0; names.len()],
            "sd": vec![1.0; names.len()],
        },
        "emb_dim": 0,
        "decide_at_tokens": 4,
    });
    let spec_path = dir.join(format!("{name}.json"));
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let out = dir.join(format!("{name}.onnx"));
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/write_escalation_head.py");
    let ok = std::process::Command::new(venv_python())
        .arg(script)
        .arg("--weights")
        .arg(&spec_path)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap()
        .success();
    assert!(ok, "write_escalation_head.py failed");
    out
}

fn smollm2() -> PathBuf {
    sluice_router::embedding::cache_dir().join("smollm2-135m-instruct")
}

/// Policies `keep` (always accepts) and `escalate` (always escalates) on SmolLM2 → `strong`
/// (mock), falling back to `backup` (another mock).
fn yaml(
    strong: &MockUpstream,
    backup: &MockUpstream,
    heads: &Path,
    cascade_extra: &str,
    local_extra: &str,
) -> String {
    let keep = constant_head(heads, "keep", -12.0);
    let escalate = constant_head(heads, "escalate", 12.0);
    format!(
        r#"
providers:
  up: {{ base_url: {strong}, max_retries: 0 }}
  spare: {{ base_url: {backup}, max_retries: 0 }}
  here:
    kind: local
    model: {model}
    variant: model_q4_1_q8head.onnx
    threads: 2
    {local_extra}
models:
  small: {{ provider: here, pricing: {{ input: 1.0, output: 2.0 }} }}
  strong: {{ provider: up, upstream_model: strong-2024, pricing: {{ input: 2.5, output: 10.0 }} }}
  backup: {{ provider: spare, upstream_model: backup-2024 }}
policies:
  keep:
    strategy: cascade
    target: small
    strong: strong
    threshold: 0.5
    cascade: {{ head: {keep}, decide_at: 4, {cascade_extra} }}
    fallbacks: [backup]
    baseline: strong
  escalate:
    strategy: cascade
    target: small
    strong: strong
    threshold: 0.5
    cascade: {{ head: {escalate}, decide_at: 4, {cascade_extra} }}
    fallbacks: [backup]
    baseline: strong
    overflow: strong
"#,
        strong = strong.base_url(),
        backup = backup.base_url(),
        model = smollm2().display(),
        keep = keep.display(),
        escalate = escalate.display(),
    )
}

fn ask(policy: &str, stream: bool) -> Value {
    json!({
        "model": policy,
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
        "max_tokens": 24,
        "temperature": 0,
        "stream": stream,
        "stream_options": {"include_usage": true},
    })
}

fn stream_text(chunks: &[(std::time::Instant, bytes::Bytes)]) -> (String, Option<Value>) {
    let mut text = String::new();
    let mut usage = None;
    for d in sse_data(&concat(chunks)) {
        if d == "[DONE]" {
            continue;
        }
        let c: Value = serde_json::from_str(&d).unwrap();
        if let Some(t) = c["choices"][0]["delta"]["content"].as_str() {
            text.push_str(t);
        }
        if !c["usage"].is_null() {
            usage = Some(c["usage"].clone());
        }
    }
    (text, usage)
}

/// The tests of this file run one at a time: each gateway loads SmolLM2 and drafts on two
/// cores, and five at once on a loaded machine overrun the start-up timeout.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn gateway(
    cascade_extra: &str,
    local_extra: &str,
) -> (
    tokio::sync::MutexGuard<'static, ()>,
    Gateway,
    MockUpstream,
    MockUpstream,
    tempfile::TempDir,
) {
    let turn = ONE_AT_A_TIME.lock().await;
    let strong = MockUpstream::start().await;
    let backup = MockUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    // Debug builds on a shared machine draft slowly: only the test of the bound sets a
    // tight one.
    let extra = if cascade_extra.is_empty() {
        "max_draft_ms: 60000"
    } else {
        cascade_extra
    };
    let gw = start(&yaml(&strong, &backup, dir.path(), extra, local_extra)).await;
    (turn, gw, strong, backup, dir)
}

#[tokio::test]
async fn an_accepted_draft_is_the_answer_streamed_or_not() {
    let (_turn, gw, strong, _backup, _dir) = gateway("", "").await;
    let resp = post_chat(&gw, &ask("keep", false)).await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["x-sluice-route"], "small");
    assert_eq!(h["x-sluice-cascade"], "accepted");
    let reason = h["x-sluice-reason"].to_str().unwrap().to_owned();
    assert!(
        reason.contains("P(escalate) 0.000 < threshold 0.500 after 4 draft tokens"),
        "{reason}"
    );
    let v: Value = resp.json().await.unwrap();
    let answer = v["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(answer, "The capital of France is Paris.");
    let completion = v["usage"]["completion_tokens"].as_u64().unwrap();

    // Streamed: the held draft, then the rest live; the same text, one usage block.
    let resp = post_chat(&gw, &ask("keep", true)).await;
    assert_eq!(resp.headers()["x-sluice-cascade"], "accepted");
    let (chunks, err) = read_stream(resp).await;
    assert!(err.is_none());
    let (text, usage) = stream_text(&chunks);
    assert_eq!(text, answer);
    assert_eq!(usage.unwrap()["completion_tokens"], completion);

    assert!(strong.requests().is_empty(), "nothing escalated");
    assert_eq!(
        await_metric(
            &gw,
            r#"sluice_cascade_decisions_total{outcome="accepted",policy="keep"}"#
        )
        .await,
        Some(2.0)
    );
    // Metered once each, under the local model: no separate draft charge.
    assert_eq!(
        metric_value(
            &gw,
            r#"sluice_tokens_total{kind="completion",model="small",policy="keep"}"#
        )
        .await,
        Some(2.0 * completion as f64)
    );
    assert_eq!(
        metric_value(
            &gw,
            r#"sluice_cascade_draft_tokens_total{fate="kept",policy="keep"}"#
        )
        .await,
        Some(8.0)
    );
}

#[tokio::test]
async fn an_escalated_draft_never_reaches_the_client_and_both_are_metered_once() {
    let (_turn, gw, strong, backup, _dir) = gateway("", "").await;
    let resp = post_chat(&gw, &ask("escalate", false)).await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["x-sluice-route"], "strong");
    assert_eq!(h["x-sluice-cascade"], "escalated");
    let reason = h["x-sluice-reason"].to_str().unwrap();
    assert!(
        reason.contains("cascade: small escalated (P(escalate) 1.000 >= threshold 0.500 after 4 draft tokens) -> strong"),
        "{reason}"
    );
    let v: Value = resp.json().await.unwrap();
    let strong_answer = v["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        strong_answer.starts_with("This is a mock answer to:") && !strong_answer.contains("Paris"),
        "the mock's answer, not the draft's: {strong_answer}"
    );
    assert_eq!(strong.requests().len(), 1);
    assert_eq!(strong.requests()[0].body["model"], "strong-2024");

    // Streamed: only the strong model's tokens.
    let resp = post_chat(&gw, &ask("escalate", true)).await;
    assert_eq!(resp.headers()["x-sluice-cascade"], "escalated");
    let (chunks, err) = read_stream(resp).await;
    assert!(err.is_none());
    let (text, _) = stream_text(&chunks);
    assert_eq!(text, strong_answer, "only the strong model's tokens");
    assert_eq!(strong.requests().len(), 2);
    assert!(backup.requests().is_empty());

    // The drafts: 4 tokens each, charged under the local model; the answers under strong.
    assert_eq!(
        await_metric(
            &gw,
            r#"sluice_cascade_decisions_total{outcome="escalated",policy="escalate"}"#
        )
        .await,
        Some(2.0)
    );
    assert_eq!(
        metric_value(
            &gw,
            r#"sluice_tokens_total{kind="completion",model="small",policy="escalate"}"#
        )
        .await,
        Some(8.0)
    );
    assert_eq!(
        metric_value(
            &gw,
            r#"sluice_cascade_draft_tokens_total{fate="discarded",policy="escalate"}"#
        )
        .await,
        Some(8.0)
    );
    let prompt = metric_value(
        &gw,
        r#"sluice_tokens_total{kind="prompt",model="small",policy="escalate"}"#,
    )
    .await
    .unwrap();
    assert!(
        prompt > 20.0,
        "the drafts' prompts are charged too: {prompt}"
    );
    let billed = strong.billed();
    let strong_completion: u64 = billed.iter().map(|b| b.completion_tokens).sum();
    assert_eq!(
        await_metric(
            &gw,
            r#"sluice_tokens_total{kind="completion",model="strong",policy="escalate"}"#
        )
        .await,
        Some(strong_completion as f64)
    );
    // At 1 USD / 2 USD per million tokens, the discarded drafts' cost.
    let discarded = metric_value(
        &gw,
        r#"sluice_cascade_discarded_cost_usd_total{policy="escalate"}"#,
    )
    .await
    .unwrap();
    let want = (prompt * 1.0 + 8.0 * 2.0) / 1e6;
    assert!((discarded - want).abs() < 1e-12, "{discarded} vs {want}");
    assert!(
        metric_value(
            &gw,
            r#"sluice_cascade_draft_seconds_count{outcome="escalated",policy="escalate"}"#
        )
        .await
            == Some(2.0)
    );
}

#[tokio::test]
async fn a_failing_escalation_target_falls_back() {
    let (_turn, gw, strong, backup, _dir) = gateway("", "").await;
    strong.set_default_script(&["status:500"]);
    let resp = post_chat(&gw, &ask("escalate", false)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-sluice-route"], "backup");
    assert_eq!(resp.headers()["x-sluice-cascade"], "escalated");
    let reason = resp.headers()["x-sluice-reason"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        reason.contains("escalated") && reason.contains("strong failed"),
        "{reason}"
    );
    assert_eq!(backup.requests().len(), 1);
}

#[tokio::test]
async fn a_slow_draft_is_escalated_at_max_draft_ms() {
    let (_turn, gw, strong, _backup, _dir) = gateway("max_draft_ms: 1", "").await;
    let resp = post_chat(&gw, &ask("keep", false)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-sluice-route"], "strong");
    let reason = resp.headers()["x-sluice-reason"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        reason.contains("draft not decided within max_draft_ms (1 ms)"),
        "{reason}"
    );
    assert_eq!(strong.requests().len(), 1);
    assert_eq!(
        await_metric(&gw, r#"sluice_cascade_draft_timeouts_total{policy="keep"}"#).await,
        Some(1.0)
    );
}

#[tokio::test]
async fn a_full_local_queue_follows_the_overflow_rule() {
    let (_turn, gw, strong, _backup, _dir) = gateway("", "max_batch: 1\n    queue_depth: 1").await;
    strong.set_default_script(&["slow:50"]);
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let url = gw.url("/v1/chat/completions");
        tasks.push(tokio::spawn(async move {
            let mut body = ask("keep", false);
            body["max_tokens"] = json!(64);
            let r = client().post(url).json(&body).send().await.unwrap();
            (
                r.status().as_u16(),
                r.headers()["x-sluice-route"].to_str().unwrap().to_owned(),
                r.headers()["x-sluice-reason"].to_str().unwrap().to_owned(),
            )
        }));
    }
    let mut overflowed = 0;
    for t in tasks {
        let (status, route, reason) = t.await.unwrap();
        assert_eq!(status, 200);
        if route == "strong" {
            assert!(reason.contains("queue is full"), "{reason}");
            overflowed += 1;
        }
    }
    assert!(overflowed >= 1, "some requests found the queue full");
    assert_eq!(strong.requests().len(), overflowed);
}

#[test]
fn a_bad_escalation_head_stops_start_up_naming_file_and_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("head.onnx");
    std::fs::write(&bogus, b"not onnx").unwrap();
    let yaml = format!(
        r#"
providers:
  up: {{ base_url: "http://127.0.0.1:9" }}
  here: {{ kind: local, model: {model}, variant: model_q4_1_q8head.onnx, threads: 1 }}
models:
  small: {{ provider: here }}
  strong: {{ provider: up }}
policies:
  c:
    strategy: cascade
    target: small
    strong: strong
    threshold: 0.5
    cascade: {{ head: {head} }}
"#,
        model = smollm2().display(),
        head = bogus.display()
    );
    let err = start_fails(&yaml);
    assert!(err.contains("policies.c.cascade.head"), "{err}");
    assert!(err.contains(&bogus.display().to_string()), "{err}");
    assert!(
        err.contains("expected inputs `signals` float32 [N, 15]"),
        "{err}"
    );
}

#[test]
fn cascade_settings_are_checked() {
    let yaml = r#"
providers:
  up: { base_url: "http://127.0.0.1:9" }
models:
  strong: { provider: up }
  weak: { provider: up }
policies:
  c:
    strategy: cascade
    target: weak
    threshold: 1.5
    cascade: { head: h.onnx, decide_at: 100, max_draft_tokens: 10 }
"#;
    let err = start_fails(yaml);
    for want in [
        "policies.c.target",
        "not a `kind: local` model",
        "policies.c.strong",
        "policies.c.threshold",
        "policies.c.cascade.decide_at: 100 tokens is beyond max_draft_tokens (10)",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
}

#[tokio::test]
async fn a_bad_escalation_head_on_reload_is_rejected_and_the_running_one_stays() {
    let (_turn, gw, strong, backup, dir) = gateway("", "").await;
    // The same config, with the keep policy's head swapped for a file that is not ONNX.
    let bogus = dir.path().join("broken.onnx");
    std::fs::write(&bogus, b"not onnx").unwrap();
    let yaml = yaml(&strong, &backup, dir.path(), "max_draft_ms: 60000", "");
    let keep = dir.path().join("keep.onnx").display().to_string();
    let broken = yaml.replacen(&keep, &bogus.display().to_string(), 1);
    assert_ne!(broken, yaml);
    gw.write_config(&broken);
    assert!(
        gw.wait_for_log("config reload rejected", std::time::Duration::from_secs(20))
            .await
    );
    let line = gw
        .logs()
        .into_iter()
        .find(|l| l.contains("config reload rejected"))
        .unwrap();
    assert!(
        line.contains("policies.keep.cascade.head")
            && line.contains("broken.onnx")
            && line.contains("expected inputs `signals` float32 [N, 15]"),
        "{line}"
    );
    // The running head still decides.
    let resp = post_chat(&gw, &ask("keep", false)).await;
    assert_eq!(resp.headers()["x-sluice-cascade"], "accepted");
}
