//! Fault injection: the mock upstream misbehaves in every way the gateway must survive
//! (429 with retry-after, 5xx, connection refused, a dropped connection, a body that is not
//! JSON, garbage SSE lines, a stream cut mid-way, a stream or answer with no usage, a hang).
//! Each ends in a retry, a fallback or a clean OpenAI-shaped error; every request is metered
//! exactly once, and metered tokens and cost equal the mocks' own records exactly wherever
//! the upstream reported usage.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use sluice_telemetry::pricing::{to_usd, TokenPrices};
use sluice_testkit::mock::{Billed, MockUpstream};

fn yaml(a: &MockUpstream, b: &MockUpstream, c: &MockUpstream) -> String {
    format!(
        r#"
providers:
  a: {{ base_url: {a}, max_retries: 1, retry_initial_backoff: 5ms, timeout: 1s, stream_idle_timeout: 1s, breaker_failures: 0 }}
  b: {{ base_url: {b}, max_retries: 0, breaker_failures: 0 }}
  c: {{ base_url: {c}, max_retries: 0, breaker_failures: 0 }}
  dead: {{ base_url: "http://127.0.0.1:1/v1", max_retries: 1, retry_initial_backoff: 5ms, breaker_failures: 0 }}
models:
  small: {{ provider: a, pricing: {{ input: 0.15, output: 0.6 }} }}
  big: {{ provider: b, pricing: {{ input: 2.5, output: 10 }} }}
  quiet: {{ provider: c, pricing: {{ input: 1, output: 1 }} }}
  gone: {{ provider: dead }}
policies:
  auto: {{ target: small, fallbacks: [big] }}
  viadead: {{ target: gone, fallbacks: [big] }}
"#,
        a = a.base_url(),
        b = b.base_url(),
        c = c.base_url()
    )
}

struct Case {
    name: &'static str,
    model: &'static str,
    mock: Value,
    /// Expected status and answering route.
    status: u16,
    route: Option<&'static str>,
    /// Streams only: the stream ends with an error event instead of `[DONE]`.
    stream_error: bool,
}

fn cases() -> Vec<Case> {
    let case = |name, model, mock, status, route| Case {
        name,
        model,
        mock,
        status,
        route,
        stream_error: false,
    };
    vec![
        case(
            "429 then ok",
            "auto",
            json!({"script": ["status:429", "ok"], "retry_after": "0"}),
            200,
            Some("small"),
        ),
        case(
            "5xx, fallback",
            "auto",
            json!({"script": ["status:503"], "only_model": "small"}),
            200,
            Some("big"),
        ),
        case("connection refused", "viadead", json!({}), 200, Some("big")),
        case(
            "connection dropped",
            "auto",
            json!({"script": ["close"], "only_model": "small"}),
            200,
            Some("big"),
        ),
        case(
            "not JSON / not SSE",
            "auto",
            json!({"script": ["garbage"], "only_model": "small"}),
            200,
            Some("big"),
        ),
        case(
            "garbage SSE lines",
            "auto",
            json!({"script": ["noisy"]}),
            200,
            Some("small"),
        ),
        case(
            "hang, timeout, fallback",
            "auto",
            json!({"script": ["hang"], "only_model": "small"}),
            200,
            Some("big"),
        ),
        case(
            "upstream refuses",
            "auto",
            json!({"script": ["status:400"]}),
            400,
            None,
        ),
        case(
            "all targets fail",
            "auto",
            json!({"script": ["status:500"]}),
            502,
            None,
        ),
        case(
            "no usage",
            "quiet",
            json!({"script": ["nousage"]}),
            200,
            Some("quiet"),
        ),
        Case {
            stream_error: true,
            ..case(
                "stream cut mid-way",
                "quiet",
                json!({"script": ["break:2"], "words": 6}),
                200,
                Some("quiet"),
            )
        },
    ]
}

#[tokio::test]
async fn every_fault_ends_cleanly_and_is_metered_exactly_once() {
    let (a, b, c) = (
        MockUpstream::start().await,
        MockUpstream::start().await,
        MockUpstream::start().await,
    );
    let gw = start(&yaml(&a, &b, &c)).await;
    let http = client();
    let url = gw.url("/v1/chat/completions");
    let mut sent = 0u64;
    let mut quiet_requests = 0u64;
    for (n, case) in cases().iter().enumerate() {
        for (s, stream) in [false, true].into_iter().enumerate() {
            if case.stream_error && !stream {
                continue;
            }
            let mut body = chat_body(case.model, &format!("fault {n} {s} {}", case.name));
            let mut mock = case.mock.clone();
            mock["key"] = json!(format!("k{n}-{s}"));
            body["mock"] = mock;
            if stream {
                body["stream"] = json!(true);
                if n % 2 == 0 {
                    body["stream_options"] = json!({"include_usage": true});
                }
            }
            let resp = http.post(&url).json(&body).send().await.unwrap();
            sent += 1;
            if case.model == "quiet" {
                quiet_requests += 1;
            }
            let what = format!("{} (stream: {stream})", case.name);
            if case.status != 200 {
                let e = error_of(resp, case.status).await;
                assert!(e["message"].as_str().is_some(), "{what}");
                continue;
            }
            assert_eq!(resp.status(), 200, "{what}");
            if let Some(route) = case.route {
                assert_eq!(resp.headers()["x-sluice-route"], route, "{what}");
            }
            let bytes = resp.bytes().await.unwrap();
            if !stream {
                let v: Value =
                    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_eq!(v["object"], "chat.completion", "{what}");
                continue;
            }
            let data = sse_data(&bytes);
            for d in data.iter().filter(|d| *d != "[DONE]") {
                let v: Value =
                    serde_json::from_str(d).unwrap_or_else(|e| panic!("{what}: {d}: {e}"));
                assert!(
                    v.get("object").is_some() || v.get("error").is_some(),
                    "{what}: {d}"
                );
            }
            let last_json: Value =
                serde_json::from_str(data.iter().rev().find(|d| *d != "[DONE]").unwrap()).unwrap();
            if case.stream_error {
                assert!(
                    last_json.get("error").is_some(),
                    "{what}: ends with an error event"
                );
            } else {
                assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{what}");
                assert!(last_json.get("error").is_none(), "{what}");
            }
        }
    }

    // Every request is counted exactly once.
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = http
            .get(gw.metrics_url())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let counted: f64 = text
            .lines()
            .filter(|l| l.starts_with("sluice_requests_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        if counted >= sent as f64 || Instant::now() > deadline {
            assert_eq!(counted, sent as f64, "requests counted");
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let value = |series: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0.0)
    };

    // Where usage was reported, tokens and cost equal the mocks' records exactly.
    let small = TokenPrices::per_million(0.15, 0.15, 0.6);
    let big = TokenPrices::per_million(2.5, 2.5, 10.0);
    for (mock, model, prices, policy_series) in [
        (&a, "small", small, vec!["auto"]),
        (&b, "big", big, vec!["auto", "viadead"]),
    ] {
        let billed = mock.billed();
        let want_cost: f64 = to_usd(billed_cost(&billed, prices));
        let got_cost: f64 = policy_series
            .iter()
            .map(|p| {
                value(&format!(
                    r#"sluice_cost_usd_total{{model="{model}",policy="{p}"}}"#
                ))
            })
            .sum();
        assert!(
            (got_cost - want_cost).abs() < 1e-12,
            "{model}: cost {got_cost} vs {want_cost}"
        );
        for (kind, f) in [
            (
                "prompt",
                (|b: &Billed| b.prompt_tokens) as fn(&Billed) -> u64,
            ),
            ("completion", |b: &Billed| b.completion_tokens),
        ] {
            let want: u64 = billed.iter().map(f).sum();
            let got: f64 = policy_series
                .iter()
                .map(|p| {
                    value(&format!(
                        r#"sluice_tokens_total{{kind="{kind}",model="{model}",policy="{p}"}}"#
                    ))
                })
                .sum();
            assert_eq!(got, want as f64, "{model} {kind} tokens");
        }
    }
    // Where it was not (no usage, a cut stream), tokens were estimated, once per request.
    assert_eq!(
        value(r#"sluice_usage_estimated_total{model="quiet"}"#),
        quiet_requests as f64
    );
    assert_eq!(
        value(r#"sluice_requests_total{policy="quiet",route="quiet",status="2xx"}"#),
        quiet_requests as f64
    );
}

#[tokio::test]
async fn streams_longer_than_the_limit_end_with_an_error_event() {
    let (a, b, c) = (
        MockUpstream::start().await,
        MockUpstream::start().await,
        MockUpstream::start().await,
    );
    let y = yaml(&a, &b, &c).replace(
        "providers:",
        "server: { max_stream_duration: 1s }\nproviders:",
    );
    let gw = start(&y).await;
    let mut body = chat_body("auto", "a long story");
    body["stream"] = json!(true);
    body["mock"] = json!({"chunk_delay_ms": 100, "words": 40});
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let bytes = resp.bytes().await.unwrap();
    let data = sse_data(&bytes);
    let err: Value = serde_json::from_str(&data[data.len() - 2]).unwrap();
    assert_eq!(err["error"]["code"], "stream_too_long");
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    // Counted once, when the drained upstream finished.
    let counted = await_metric(
        &gw,
        r#"sluice_requests_total{policy="auto",route="small",status="2xx"}"#,
    )
    .await;
    assert_eq!(counted, Some(1.0));
}
