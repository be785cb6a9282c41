//! Cost accounting end to end: usage forced on streams and stripped again, and an exact
//! reconciliation of token and dollar metrics against what the mock upstreams billed.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use sluice_telemetry::pricing::{to_usd, TokenPrices};
use sluice_testkit::mock::{Billed, MockUpstream};

fn yaml(a: &MockUpstream, b: &MockUpstream) -> String {
    format!(
        r#"
providers:
  a: {{ base_url: {a}, max_retries: 0 }}
  b: {{ base_url: {b}, max_retries: 0 }}
models:
  small: {{ provider: a, pricing: {{ input: 0.15, output: 0.60, cached_input: 0.075 }} }}
  big: {{ provider: b, pricing: {{ input: 2.50, output: 10.00, cached_input: 1.25 }} }}
policies:
  auto: {{ target: small, fallbacks: [big], baseline: big }}
"#,
        a = a.base_url(),
        b = b.base_url()
    )
}

#[tokio::test]
async fn stream_usage_is_requested_upstream_and_stripped_for_the_client() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = start(&yaml(&a, &b)).await;
    let mut body = chat_body("auto", "count my tokens please");
    body["stream"] = json!(true);
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let (chunks, err) = read_stream(resp).await;
    assert!(err.is_none());
    let data = sse_data(&concat(&chunks));
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    for d in &data[..data.len() - 1] {
        let v: Value = serde_json::from_str(d).unwrap();
        assert!(
            v.get("usage").is_none(),
            "usage leaked to a client that did not ask: {d}"
        );
        assert!(
            !v["choices"].as_array().unwrap().is_empty(),
            "usage-only chunk leaked: {d}"
        );
    }
    let text: String = data[..data.len() - 1]
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(text, "This is a mock answer to: count my tokens please ");
    // The upstream was asked for usage, and the gateway accounted it.
    assert_eq!(
        a.requests()[0].body["stream_options"]["include_usage"],
        true
    );
    let billed = a.billed()[0];
    assert_eq!(
        metric_value(
            &gw,
            r#"sluice_tokens_total{kind="completion",model="small",policy="auto"}"#
        )
        .await,
        Some(billed.completion_tokens as f64)
    );
    assert_eq!(
        metric_value(&gw, r#"sluice_usage_estimated_total{model="small"}"#).await,
        None
    );
}

#[tokio::test]
async fn metrics_reconcile_exactly_with_upstream_usage() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = start(&yaml(&a, &b)).await;
    let c = client();
    let url = gw.url("/v1/chat/completions");
    let mut expected_requests = 0;
    for i in 0..24 {
        let mut body = chat_body("auto", &format!("request {i} asks about {} things", i * 7));
        match i % 6 {
            // non-streaming
            0 => {}
            // streaming, client wants usage
            1 => {
                body["stream"] = json!(true);
                body["stream_options"] = json!({"include_usage": true});
            }
            // streaming, usage forced and stripped
            2 => body["stream"] = json!(true),
            // streaming, client leaves after one chunk
            3 => {
                body["stream"] = json!(true);
                body["mock"] = json!({"chunk_delay_ms": 10, "words": 30});
                let mut r = c.post(&url).json(&body).send().await.unwrap();
                r.chunk().await.unwrap();
                drop(r);
                expected_requests += 1;
                continue;
            }
            // the small model fails: the big one answers (and bills)
            4 => body["mock"] = json!({"script": ["status:503"], "only_model": "small"}),
            // the upstream refuses the request: nothing billed
            _ => body["mock"] = json!({"script": ["status:400"]}),
        }
        let r = c.post(&url).json(&body).send().await.unwrap();
        let _ = r.bytes().await.unwrap();
        expected_requests += 1;
    }
    // Invalid requests never reach a model and cost nothing.
    for _ in 0..3 {
        let r = c.post(&url).body("{not json").send().await.unwrap();
        assert_eq!(r.status(), 400);
    }
    // Wait for drained streams to finish accounting.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut done = 0.0;
        for (route, status) in [("small", "2xx"), ("small", "4xx"), ("big", "2xx")] {
            let series = format!(
                r#"sluice_requests_total{{policy="auto",route="{route}",status="{status}"}}"#
            );
            done += metric_value(&gw, &series).await.unwrap_or(0.0);
        }
        if done >= expected_requests as f64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {done} of {expected_requests} requests accounted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let small = TokenPrices::per_million(0.15, 0.075, 0.60);
    let big = TokenPrices::per_million(2.50, 1.25, 10.00);
    let (billed_a, billed_b) = (a.billed(), b.billed());
    assert_eq!(
        billed_a.len(),
        16,
        "4 each of non-stream, usage stream, stripped stream, disconnect"
    );
    assert_eq!(billed_b.len(), 4, "the fallbacks");
    for (series, want) in [
        (
            r#"sluice_cost_usd_total{model="small",policy="auto"}"#,
            billed_cost(&billed_a, small),
        ),
        (
            r#"sluice_cost_usd_total{model="big",policy="auto"}"#,
            billed_cost(&billed_b, big),
        ),
        (
            r#"sluice_baseline_cost_usd_total{model="small",policy="auto"}"#,
            billed_cost(&billed_a, big),
        ),
        (
            r#"sluice_baseline_cost_usd_total{model="big",policy="auto"}"#,
            billed_cost(&billed_b, big),
        ),
    ] {
        assert_eq!(
            metric_value(&gw, series).await,
            Some(to_usd(want)),
            "{series}"
        );
    }
    let sum = |bs: &[Billed], f: fn(&Billed) -> u64| bs.iter().map(f).sum::<u64>() as f64;
    for (kind, f) in [
        (
            "prompt",
            (|b: &Billed| b.prompt_tokens) as fn(&Billed) -> u64,
        ),
        ("completion", |b: &Billed| b.completion_tokens),
    ] {
        assert_eq!(
            metric_value(
                &gw,
                &format!(r#"sluice_tokens_total{{kind="{kind}",model="small",policy="auto"}}"#)
            )
            .await,
            Some(sum(&billed_a, f)),
            "{kind} tokens on small"
        );
        assert_eq!(
            metric_value(
                &gw,
                &format!(r#"sluice_tokens_total{{kind="{kind}",model="big",policy="auto"}}"#)
            )
            .await,
            Some(sum(&billed_b, f)),
            "{kind} tokens on big"
        );
    }
    assert_eq!(
        metric_value(
            &gw,
            r#"sluice_requests_total{policy="auto",route="small",status="4xx"}"#
        )
        .await,
        Some(4.0)
    );
    assert_eq!(
        metric_value(
            &gw,
            r#"sluice_requests_total{policy="none",route="none",status="4xx"}"#
        )
        .await,
        Some(3.0)
    );
    assert!(
        metric_value(
            &gw,
            r#"sluice_time_to_first_token_seconds_count{policy="auto",route="small"}"#
        )
        .await
        .unwrap()
            >= 12.0
    );
}
