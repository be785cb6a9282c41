//! The quality loop end to end, on the real binary: shadow judging in both directions
//! against mock weak and strong upstreams and a mock judge whose verdicts the test
//! chooses, the outcome store (read back from its SQLite file), the daily shadow budget,
//! failures that never reach the client, and `POST /v1/feedback`.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use sluice_gateway::auth::{hash_key, hex};
use sluice_outcomes::{Filter, Outcome, Store};
use sluice_testkit::gateway::Gateway;
use sluice_testkit::mock::MockUpstream;

const KEY_A: &str = "sk-sluice-quality-key-a-00000000000000000000";
const KEY_B: &str = "sk-sluice-quality-key-b-11111111111111111111";

/// How the mock judge answers.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Judge {
    /// Picks whichever answer came from the weak model, in either position.
    PreferWeak,
    PreferStrong,
    /// Always "A": pure position bias.
    First,
    /// No verdict line.
    Garbage,
}

struct Mocks {
    weak: MockUpstream,
    strong: MockUpstream,
    judge: MockUpstream,
    mode: Arc<Mutex<Judge>>,
}

fn last_user(body: &Value) -> String {
    body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_owned()
}

async fn mocks() -> Mocks {
    let weak = MockUpstream::start().await;
    weak.set_responder(|b| Some(format!("weak says: {}", last_user(b))));
    let strong = MockUpstream::start().await;
    strong.set_responder(|b| Some(format!("strong says: {}", last_user(b))));
    let judge = MockUpstream::start().await;
    let mode = Arc::new(Mutex::new(Judge::PreferWeak));
    let m = mode.clone();
    judge.set_responder(move |b| {
        let prompt = last_user(b);
        let a_is_weak = prompt
            .split("[Answer A]\n")
            .nth(1)
            .is_some_and(|a| a.starts_with("weak says"));
        let pick = |weak: bool| if weak == a_is_weak { "A" } else { "B" };
        Some(match *m.lock().unwrap() {
            Judge::PreferWeak => format!("The weak one is right.\nVERDICT: {}", pick(true)),
            Judge::PreferStrong => format!("Strong is better.\nVERDICT: {}", pick(false)),
            Judge::First => "First is best.\nVERDICT: A".into(),
            Judge::Garbage => "I cannot decide, both have merit.".into(),
        })
    });
    Mocks {
        weak,
        strong,
        judge,
        mode,
    }
}

fn key(id: &str, plain: &str) -> String {
    format!(
        "  {id}:\n    hash: sha256:{}\n    tenant: {id}-team\n",
        hex(&hash_key(plain))
    )
}

/// Policy `auto`: `small` (weak) unless `x-sluice-target: big` (strong). `quality` is the
/// policy's quality block, or empty for none.
fn yaml(m: &Mocks, quality: &str) -> String {
    format!(
        r#"
server: {{ admin_key_env: SLUICE_TEST_ADMIN }}
providers:
  w: {{ base_url: {w}, max_retries: 0 }}
  s: {{ base_url: {s}, max_retries: 0 }}
  j: {{ base_url: {j}, max_retries: 0 }}
models:
  small: {{ provider: w, upstream_model: small-1, pricing: {{ input: 0.1, output: 0.4 }} }}
  big: {{ provider: s, upstream_model: big-1, pricing: {{ input: 2.5, output: 10 }} }}
  judge: {{ provider: j, upstream_model: judge-1, pricing: {{ input: 1, output: 4 }} }}
policies:
  auto:
    target: small
    strong: big
    baseline: big
    rules: {{ header_override: [big, small] }}
{quality}
outcomes: {{ store: "sqlite:outcomes.db" }}
keys:
{a}{b}"#,
        w = m.weak.base_url(),
        s = m.strong.base_url(),
        j = m.judge.base_url(),
        a = key("a", KEY_A),
        b = key("b", KEY_B),
    )
}

fn quality(rate: f64, cap: f64) -> String {
    format!(
        "    quality: {{ shadow_rate: {rate}, judge: judge, max_shadow_usd_per_day: {cap}, store_text: true }}"
    )
}

async fn gateway(y: &str) -> Gateway {
    Gateway::builder(env!("CARGO_BIN_EXE_sluice"), y)
        .env("SLUICE_TEST_ADMIN", "admin-secret")
        .start()
        .await
}

async fn store(gw: &Gateway) -> Store {
    Store::open("sqlite:outcomes.db", gw.config_path.parent().unwrap())
        .await
        .unwrap()
}

/// Sends one request with `key`; `strong` forces the strong model. Returns the request id,
/// the answer's content and the instant its response headers arrived.
async fn ask(
    gw: &Gateway,
    key: &str,
    text: &str,
    strong: bool,
    stream: bool,
) -> (String, String, Instant) {
    let mut body = chat_body("auto", text);
    body["stream"] = json!(stream);
    if stream {
        // A stream that takes at least 300 ms (4 pieces, 100 ms apart).
        body["mock"] = json!({"chunk_delay_ms": 100});
    }
    let mut req = client()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(key)
        .json(&body);
    if strong {
        req = req.header("x-sluice-target", "big");
    }
    let resp = req.send().await.unwrap();
    let headers_at = Instant::now();
    assert_eq!(resp.status(), 200);
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let bytes = resp.bytes().await.unwrap();
    let content = if stream {
        sse_data(&bytes)
            .iter()
            .filter(|d| *d != "[DONE]")
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .filter_map(|v| {
                v["choices"][0]["delta"]["content"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect()
    } else {
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    (id, content, headers_at)
}

/// Waits for the row of `id` to satisfy `ready`.
async fn row(store: &Store, id: &str, ready: impl Fn(&Outcome) -> bool) -> Outcome {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(o) = store.get(id).await.unwrap() {
            if ready(&o) {
                return o;
            }
        }
        assert!(Instant::now() < deadline, "row {id} never became ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn judged(o: &Outcome) -> bool {
    o.judgment.is_some()
}

/// Requests the mock received for a request id's shadow or judge calls.
fn calls_with_id(mock: &MockUpstream, prefix: &str) -> Vec<sluice_testkit::mock::RecordedRequest> {
    mock.requests()
        .into_iter()
        .filter(|r| {
            r.headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with(prefix))
        })
        .collect()
}

#[tokio::test]
async fn sampled_requests_are_judged_both_ways_and_stored_once() {
    let m = mocks().await;
    let gw = gateway(&yaml(&m, &quality(1.0, 100.0))).await;
    let st = store(&gw).await;

    // Weak-routed and strong-routed, streamed and not.
    let mut sent = Vec::new();
    for (i, (strong, stream)) in [(false, false), (false, true), (true, false), (true, true)]
        .into_iter()
        .enumerate()
    {
        let (id, content, done) = ask(&gw, KEY_A, &format!("question {i}"), strong, stream).await;
        let side = if strong { "strong" } else { "weak" };
        assert_eq!(content, format!("{side} says: question {i}"));
        sent.push((id, strong, content, done));
    }
    for (id, strong, content, started) in &sent {
        let stream = sent.iter().position(|s| &s.0 == id).unwrap() % 2 == 1;
        let o = row(&st, id, judged).await;
        let j = o.judgment.clone().unwrap();
        assert_eq!(
            o.arm.as_deref(),
            Some(if *strong { "strong" } else { "weak" })
        );
        assert_eq!(o.route, if *strong { "big" } else { "small" });
        assert!(o.sampled);
        assert_eq!(o.propensity, 1.0);
        assert_eq!(o.key_id.as_deref(), Some("a"));
        assert_eq!(o.tenant.as_deref(), Some("a-team"));
        assert_eq!(
            o.answer.as_deref(),
            Some(content.as_str()),
            "the client's answer is stored"
        );
        assert!(o.prompt.as_deref().unwrap().contains("question"));
        // The other model was asked: both directions.
        assert_eq!(j.shadow_route, if *strong { "small" } else { "big" });
        let other_says = if *strong { "weak says" } else { "strong says" };
        assert!(j.shadow_answer.as_deref().unwrap().starts_with(other_says));
        assert_eq!(
            (j.weak_first.as_str(), j.strong_first.as_str()),
            ("weak", "weak")
        );
        assert_eq!(j.verdict, "weak_better");
        assert!(j.shadow_cost_usd > 0.0 && j.judge_cost_usd > 0.0);
        // Exactly one shadow call and two judge calls, all after the client had its answer,
        // and the shadow call non-streaming.
        let other = if *strong { &m.weak } else { &m.strong };
        let shadow = calls_with_id(other, &format!("{id}-shadow"));
        assert_eq!(shadow.len(), 1);
        assert_eq!(shadow[0].body["stream"], json!(false));
        if stream {
            // The stream lasts 300 ms or more: a shadow call made before its end would
            // arrive earlier than that.
            let after = shadow[0].at.saturating_duration_since(*started);
            assert!(
                after >= Duration::from_millis(290),
                "shadow call {after:?} into the stream"
            );
        }
        let judges = calls_with_id(&m.judge, &format!("{id}-judge"));
        assert_eq!(judges.len(), 2, "both orders");
        assert!(judges.iter().all(|r| r.at >= shadow[0].at));
    }
    // One row per request, no duplicates.
    let all = st
        .list(&Filter {
            limit: 100,
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 4);

    // A judge that always picks position A: the two orders cancel to a tie.
    *m.mode.lock().unwrap() = Judge::First;
    let (id, ..) = ask(&gw, KEY_A, "biased", false, false).await;
    let j = row(&st, &id, judged).await.judgment.unwrap();
    assert_eq!(
        (
            j.weak_first.as_str(),
            j.strong_first.as_str(),
            j.verdict.as_str()
        ),
        ("weak", "strong", "tie")
    );
    // The strong model preferred in both positions.
    *m.mode.lock().unwrap() = Judge::PreferStrong;
    let (id, ..) = ask(&gw, KEY_A, "hard", true, false).await;
    assert_eq!(
        row(&st, &id, judged).await.judgment.unwrap().verdict,
        "strong_better"
    );
    // A reply without a verdict line is counted as unparseable, never guessed.
    *m.mode.lock().unwrap() = Judge::Garbage;
    let (id, ..) = ask(&gw, KEY_A, "murky", false, false).await;
    let j = row(&st, &id, judged).await.judgment.unwrap();
    assert_eq!(j.verdict, "unparseable");
    assert!(j.note.unwrap().contains("unparseable judge reply"));

    let metric = |s: &'static str| metric_value(&gw, s);
    assert_eq!(
        metric(r#"sluice_quality_judged_total{policy="auto",route="small",verdict="weak_better"}"#)
            .await,
        Some(2.0)
    );
    assert_eq!(
        metric(r#"sluice_quality_judged_total{policy="auto",route="big",verdict="weak_better"}"#)
            .await,
        Some(2.0)
    );
    assert_eq!(
        metric(r#"sluice_quality_judged_total{policy="auto",route="small",verdict="tie"}"#).await,
        Some(1.0)
    );
    assert_eq!(
        metric(r#"sluice_quality_judged_total{policy="auto",route="big",verdict="strong_better"}"#)
            .await,
        Some(1.0)
    );
    assert_eq!(
        metric(r#"sluice_quality_judged_total{policy="auto",route="small",verdict="unparseable"}"#)
            .await,
        Some(1.0)
    );
    // 5 of 6 parsed verdicts say the weak answer was as good.
    let share = metric(r#"sluice_quality_weak_ok_ratio{policy="auto"}"#)
        .await
        .unwrap();
    assert!((share - 5.0 / 6.0).abs() < 1e-9, "{share}");
    assert_eq!(
        metric(r#"sluice_quality_weak_ok_samples{policy="auto"}"#).await,
        Some(6.0)
    );
    assert_eq!(
        metric(
            r#"sluice_shadow_requests_total{model="judge",outcome="ok",policy="auto",role="judge"}"#
        )
        .await,
        Some(14.0)
    );
    // Shadow spend is its own counter; the key's spend and the user-traffic cost do not
    // include it.
    let shadow_usd =
        metric(r#"sluice_shadow_cost_usd_total{model="judge",policy="auto",role="judge"}"#)
            .await
            .unwrap();
    assert!(shadow_usd > 0.0);
    assert_eq!(
        metric(r#"sluice_cost_usd_total{model="judge",policy="auto"}"#).await,
        None
    );
}

#[tokio::test]
async fn the_client_sees_the_same_answer_with_shadowing_on_and_off() {
    let m = mocks().await;
    let on = gateway(&yaml(&m, &quality(1.0, 100.0))).await;
    let off = gateway(&yaml(&m, "")).await;
    let normalise = |b: &[u8]| -> String {
        // Ids and timestamps differ per response; everything else must be byte-identical.
        let s = String::from_utf8_lossy(b).into_owned();
        let re = |s: &str, key: &str| {
            let mut out = String::new();
            let mut rest = s;
            while let Some(i) = rest.find(key) {
                out.push_str(&rest[..i + key.len()]);
                rest = &rest[i + key.len()..];
                let end = rest.find([',', '}']).unwrap_or(rest.len());
                out.push('_');
                rest = &rest[end..];
            }
            out.push_str(rest);
            out
        };
        re(&re(&s, "\"id\":"), "\"created\":")
    };
    for stream in [false, true] {
        for strong in [false, true] {
            let mut body = chat_body("auto", "same question");
            body["stream"] = json!(stream);
            let mut got = Vec::new();
            for gw in [&on, &off] {
                let mut req = client()
                    .post(gw.url("/v1/chat/completions"))
                    .bearer_auth(KEY_A)
                    .json(&body);
                if strong {
                    req = req.header("x-sluice-target", "big");
                }
                let resp = req.send().await.unwrap();
                let mut headers: Vec<(String, String)> = resp
                    .headers()
                    .iter()
                    .filter(|(k, _)| {
                        !matches!(
                            k.as_str(),
                            "x-request-id" | "date" | "content-length" | "x-upstream-request-id"
                        )
                    })
                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
                    .collect();
                headers.sort();
                let bytes = resp.bytes().await.unwrap();
                got.push((headers, normalise(&bytes)));
            }
            assert_eq!(got[0], got[1], "stream {stream}, strong {strong}");
        }
    }
    // And the shadowing gateway did judge those requests.
    assert_eq!(
        await_metric(&on, r#"sluice_quality_weak_ok_samples{policy="auto"}"#).await,
        Some(4.0)
    );
}

#[tokio::test]
async fn shadow_spend_stops_at_the_daily_cap_and_failures_stay_invisible() {
    let m = mocks().await;
    // Far below one judging's cost: the first judging spends past it, then none start.
    let gw = gateway(&yaml(&m, &quality(1.0, 0.000001))).await;
    let st = store(&gw).await;
    let (first, ..) = ask(&gw, KEY_A, "one", false, false).await;
    row(&st, &first, judged).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(ask(&gw, KEY_A, &format!("more {i}"), false, false).await.0);
    }
    for id in &ids {
        let o = row(&st, id, |_| true).await;
        assert!(
            o.sampled && o.judgment.is_none(),
            "{id} was judged past the cap"
        );
    }
    let shadows = calls_with_id(&m.strong, "");
    assert_eq!(shadows.len(), 1, "one shadow call, then the cap");
    assert_eq!(
        metric_value(
            &gw,
            r#"sluice_shadow_skipped_total{policy="auto",reason="budget"}"#
        )
        .await,
        Some(6.0),
        "five never started, and the first stopped before its judge calls"
    );
    let spent = metric_value(&gw, r#"sluice_shadow_spend_today_usd{policy="auto"}"#)
        .await
        .unwrap();
    assert!(spent >= 0.000001, "{spent}");
    assert_eq!(
        metric_value(&gw, r#"sluice_shadow_budget_usd{policy="auto"}"#).await,
        Some(0.000001)
    );
    drop(gw);

    // The shadow model failing: the client still gets its answer, the failure is counted
    // and recorded.
    let gw = gateway(&yaml(&m, &quality(1.0, 100.0))).await;
    let st = store(&gw).await;
    m.strong.set_default_script(&["status:500"]);
    let (id, content, _) = ask(&gw, KEY_A, "fragile", false, false).await;
    assert_eq!(content, "weak says: fragile");
    let j = row(&st, &id, judged).await.judgment.unwrap();
    assert_eq!(j.verdict, "failed");
    assert!(j.note.unwrap().contains("shadow call to big failed"));
    assert_eq!(
        metric_value(&gw, r#"sluice_shadow_requests_total{model="big",outcome="error",policy="auto",role="shadow"}"#).await,
        Some(1.0)
    );
    // The judge failing likewise.
    m.strong.set_default_script(&["ok"]);
    m.judge.set_default_script(&["status:503"]);
    let (id, content, _) = ask(&gw, KEY_A, "judge down", false, false).await;
    assert_eq!(content, "weak says: judge down");
    let j = row(&st, &id, judged).await.judgment.unwrap();
    assert_eq!(j.verdict, "failed");
    assert_eq!(
        metric_value(&gw, r#"sluice_shadow_requests_total{model="judge",outcome="error",policy="auto",role="judge"}"#).await,
        Some(2.0)
    );
}

#[tokio::test]
async fn feedback_belongs_to_the_key_that_asked() {
    let m = mocks().await;
    // No judging at all: every served request still leaves its row.
    let gw = gateway(&yaml(&m, &quality(0.0, 1.0))).await;
    let st = store(&gw).await;
    let (id, ..) = ask(&gw, KEY_A, "rate me", false, false).await;
    let feedback = |key: &'static str, body: Value| {
        let url = gw.url("/v1/feedback");
        async move {
            client()
                .post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    // Sent at once, possibly before the row is written: accepted.
    let r = feedback(
        KEY_A,
        json!({"request_id": id, "score": 1, "comment": "great"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["status"].as_str(), v["score"].as_f64()),
        (Some("recorded"), Some(1.0))
    );
    // Another tenant's key: the same 404 as an id never served.
    let other = feedback(KEY_B, json!({"request_id": id, "score": -1})).await;
    let e = error_of(other, 404).await;
    assert_eq!(e["code"], "request_not_found");
    let unknown = feedback(KEY_A, json!({"request_id": "nope", "score": 1})).await;
    assert_eq!(error_of(unknown, 404).await["code"], "request_not_found");
    // Repeating is idempotent: same answer shape, counted once; the latest score stands.
    let o = row(&st, &id, |o| o.feedback.is_some()).await;
    assert_eq!(o.feedback.unwrap().comment.as_deref(), Some("great"));
    let again = feedback(KEY_A, json!({"request_id": id, "score": "down"})).await;
    assert_eq!(again.status(), 200);
    let v: Value = again.json().await.unwrap();
    assert_eq!(v["status"], "updated");
    let o = row(&st, &id, |o| {
        o.feedback.as_ref().is_some_and(|f| f.score == -1.0)
    })
    .await;
    assert_eq!(o.feedback.unwrap().comment, None);
    assert_eq!(
        metric_value(&gw, r#"sluice_feedback_total{policy="auto",route="small"}"#).await,
        Some(1.0)
    );
    assert_eq!(
        metric_value(
            &gw,
            r#"sluice_feedback_score_mean{policy="auto",route="small"}"#
        )
        .await,
        Some(1.0)
    );
    // Bad shapes: 400 in OpenAI's error shape, naming the field.
    for (body, param) in [
        (json!({"request_id": id}), Value::Null),
        (json!({"request_id": id, "score": 2}), json!("score")),
        (json!({"request_id": id, "score": "meh"}), json!("score")),
        (json!({"request_id": "", "score": 1}), json!("request_id")),
        (
            json!({"request_id": id, "score": 1, "extra": true}),
            Value::Null,
        ),
        (json!([1, 2]), Value::Null),
    ] {
        let r = feedback(KEY_A, body.clone()).await;
        let e = error_of(r, 400).await;
        assert_eq!(e["type"], "invalid_request_error", "{body}");
        assert_eq!(e["param"], param, "{body}");
    }
    let r = client()
        .post(gw.url("/v1/feedback"))
        .bearer_auth(KEY_A)
        .body("not json")
        .send()
        .await
        .unwrap();
    error_of(r, 400).await;
    // Without a key: 401 like every API route.
    let r = client()
        .post(gw.url("/v1/feedback"))
        .json(&json!({"request_id": id, "score": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn drift_against_the_calibration_reference_and_head_inputs_kept() {
    use sluice_testkit::env::{models_dir, write_linear_head};
    let m = mocks().await;
    let dir = tempfile::tempdir().unwrap();
    // A head that scores every prompt 0.5, and a reference whose scores were mostly low
    // and whose mean embedding points along the first axis.
    let head = dir.path().join("head.onnx");
    write_linear_head(&[0.0; 384], 0.0, &head);
    let mut mean = vec![0.0f32; 384];
    mean[0] = 1.0;
    let expected = [0.7, 0.1, 0.1, 0.1];
    let reference = dir.path().join("head.drift.json");
    std::fs::write(
        &reference,
        json!({"edges": [0.25, 0.5, 0.75], "proportions": expected, "embedding_mean": mean})
            .to_string(),
    )
    .unwrap();
    let y = format!(
        r#"
providers:
  w: {{ base_url: {w}, max_retries: 0 }}
  s: {{ base_url: {s}, max_retries: 0 }}
models:
  small: {{ provider: w }}
  big: {{ provider: s }}
router:
  embedder: {{ model: {models}/all-MiniLM-L6-v2, variant: model_int8.onnx, workers: 1 }}
  heads: {{ default: {{ path: {head} }} }}
policies:
  auto:
    strategy: learned
    target: small
    strong: big
    threshold: 0.6
    quality: {{ shadow_rate: 0, judge: big, max_shadow_usd_per_day: 1, drift_reference: {reference} }}
outcomes: {{ store: "sqlite:outcomes.db" }}
"#,
        w = m.weak.base_url(),
        s = m.strong.base_url(),
        models = models_dir().display(),
        head = head.display(),
        reference = reference.display(),
    );
    let gw = gateway(&y).await;
    let prompts = [
        "What is the capital of France?",
        "Write a haiku about rain",
        "Explain TCP slow start",
    ];
    let mut ids = Vec::new();
    for p in prompts {
        let r = client()
            .post(gw.url("/v1/chat/completions"))
            .json(&chat_body("auto", p))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        ids.push(r.headers()["x-request-id"].to_str().unwrap().to_owned());
    }
    assert_eq!(
        metric_value(&gw, r#"sluice_drift_samples{policy="auto"}"#).await,
        Some(3.0)
    );
    // Every live score (0.5) in the third bin: PSI by its definition, shares floored at 1e-4.
    let actual = [0.0, 0.0, 1.0, 0.0];
    let want: f64 = expected
        .iter()
        .zip(actual)
        .map(|(e, a): (&f64, f64)| {
            let (e, a) = (e.max(1e-4), a.max(1e-4));
            (a - e) * (a / e).ln()
        })
        .sum();
    let psi = metric_value(&gw, r#"sluice_drift_score_psi{policy="auto"}"#)
        .await
        .unwrap();
    assert!((psi - want).abs() < 1e-6 * want, "{psi} vs {want}");
    let shift = metric_value(&gw, r#"sluice_drift_embedding_shift{policy="auto"}"#)
        .await
        .unwrap();
    assert!(shift > 0.0 && shift < 2.0, "{shift}");
    // The rows keep the head's inputs and the score, for retraining.
    let st = store(&gw).await;
    for id in &ids {
        let o = row(&st, id, |_| true).await;
        assert_eq!(o.embedding.map(|e| e.len()), Some(384 * 4));
        assert_eq!(
            o.features.map(|f| f.len()),
            Some(sluice_router::features::COUNT * 4)
        );
        assert_eq!(o.score, Some(0.5));
        assert_eq!(o.threshold, Some(0.6));
        assert_eq!(o.propensity, 0.0);
        assert!(!o.sampled);
        assert_eq!(o.arm.as_deref(), Some("weak"));
    }
}
