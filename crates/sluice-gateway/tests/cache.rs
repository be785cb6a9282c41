//! The response cache end to end, on the real binary: exact and semantic hits answered
//! without the upstream, in the shape asked for (a completion or a stream); guards,
//! `cache-control`, scopes and temperature; hits accounted as savings; and the cache
//! shared by two replicas through Redis.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{json, Value};
use sluice_gateway::auth::{hash_key, hex};
use sluice_testkit::gateway::Gateway;
use sluice_testkit::mock::MockUpstream;

const KEY_A: &str = "sk-cache-a-0123456789abcdef";
const KEY_B: &str = "sk-cache-b-0123456789abcdef";

fn yaml(mock: &MockUpstream, state: &str) -> String {
    let key = |id: &str, plain: &str| {
        format!(
            "  {id}:\n    hash: sha256:{}\n    tenant: shared\n",
            hex(&hash_key(plain))
        )
    };
    format!(
        r#"
{state}
router:
  embedder: {{ model: all-MiniLM-L6-v2-static, workers: 1 }}
providers:
  m: {{ base_url: {m}, max_retries: 0 }}
models:
  small: {{ provider: m, upstream_model: small-2024, pricing: {{ input: 1.0, output: 2.0 }} }}
  big: {{ provider: m, upstream_model: big-2024, pricing: {{ input: 10.0, output: 20.0 }} }}
policies:
  cached: {{ target: small, baseline: big, cache: {{ ttl: 1m }} }}
  team: {{ target: small, baseline: big, cache: {{ ttl: 1m, scope: tenant }} }}
  warm: {{ target: small, baseline: big, cache: {{ ttl: 1m, max_temperature: 0.7 }} }}
keys:
{a}{b}"#,
        m = mock.base_url(),
        a = key("a", KEY_A),
        b = key("b", KEY_B),
    )
}

struct Answer {
    status: u16,
    cache: Option<String>,
    route: Option<String>,
    body: Vec<u8>,
}

async fn ask(gw: &Gateway, key: &str, body: Value, headers: &[(&str, &str)]) -> Answer {
    let mut req = client()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(key)
        .json(&body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let h = |n: &str| {
        resp.headers()
            .get(n)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (cache, route) = (h("x-sluice-cache"), h("x-sluice-route"));
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap().to_vec();
    Answer {
        status,
        cache,
        route,
        body,
    }
}

fn q(policy: &str, text: &str) -> Value {
    json!({"model": policy, "temperature": 0, "messages": [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": text}]})
}

fn content(a: &Answer) -> String {
    let v: Value = serde_json::from_slice(&a.body).unwrap();
    v["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Waits until the miss's answer has been stored (it is stored after it was sent).
async fn stored(gw: &Gateway, n: f64) {
    for _ in 0..100 {
        if metric_value(gw, r#"sluice_cache_stored_total{policy="cached"}"#)
            .await
            .unwrap_or(0.0)
            >= n
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the answer was not stored");
}

#[tokio::test]
async fn hits_are_served_without_the_upstream_and_counted_as_savings() {
    let mock = MockUpstream::start().await;
    let gw = start(&yaml(&mock, "")).await;
    let first = ask(
        &gw,
        KEY_A,
        q("cached", "How do I enable dark mode in Firefox?"),
        &[],
    )
    .await;
    assert_eq!(first.status, 200);
    assert_eq!(first.cache.as_deref(), Some("miss"));
    let original = content(&first);
    stored(&gw, 1.0).await;
    let calls = mock.requests().len();

    // The same prompt, respaced and recased: an exact hit.
    let a = ask(
        &gw,
        KEY_A,
        q("cached", "  how do i ENABLE dark mode in firefox  "),
        &[],
    )
    .await;
    assert_eq!(a.cache.as_deref(), Some("hit"));
    assert_eq!(a.route.as_deref(), Some("small"));
    assert_eq!(content(&a), original);
    let v: Value = serde_json::from_slice(&a.body).unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert!(v["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    // Reworded: a semantic hit.
    let a = ask(
        &gw,
        KEY_A,
        q("cached", "How can I enable dark mode in Firefox"),
        &[],
    )
    .await;
    assert_eq!(
        a.cache.as_deref(),
        Some("semantic"),
        "{}",
        String::from_utf8_lossy(&a.body)
    );
    assert_eq!(content(&a), original);
    // Streamed: the cached answer replays as a stream with its usage.
    let mut s = q("cached", "How do I enable dark mode in Firefox?");
    s["stream"] = json!(true);
    s["stream_options"] = json!({"include_usage": true});
    let a = ask(&gw, KEY_A, s, &[]).await;
    assert_eq!(a.cache.as_deref(), Some("hit"));
    let data = sse_data(&a.body);
    assert_eq!(data.last().unwrap(), "[DONE]");
    let text: String = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(text, original);
    assert_eq!(
        mock.requests().len(),
        calls,
        "hits never reach the upstream"
    );

    // The opposite question is close but refused by a guard, and asks the model.
    let a = ask(
        &gw,
        KEY_A,
        q("cached", "How do I disable dark mode in Firefox?"),
        &[],
    )
    .await;
    assert_eq!(a.cache.as_deref(), Some("miss"));
    assert_eq!(mock.requests().len(), calls + 1);
    assert_eq!(
        metric_value(
            &gw,
            r#"sluice_cache_guard_rejections_total{guard="antonym",policy="cached"}"#
        )
        .await,
        Some(1.0)
    );
    // no-cache asks for a fresh answer; another key has a cache of its own (scope: key).
    let a = ask(
        &gw,
        KEY_A,
        q("cached", "How do I enable dark mode in Firefox?"),
        &[("cache-control", "no-cache")],
    )
    .await;
    assert_eq!(a.cache.as_deref(), Some("miss"));
    let a = ask(
        &gw,
        KEY_B,
        q("cached", "How do I enable dark mode in Firefox?"),
        &[],
    )
    .await;
    assert_eq!(a.cache.as_deref(), Some("miss"));
    // A sampled request (temperature above the policy's max) is not cached at all.
    let mut hot = q("cached", "How do I enable dark mode in Firefox?");
    hot["temperature"] = json!(0.9);
    let a = ask(&gw, KEY_A, hot, &[]).await;
    assert_eq!(a.cache, None);
    // A different system prompt is a different bucket.
    let mut other = q("cached", "How do I enable dark mode in Firefox?");
    other["messages"][0]["content"] = json!("Answer in French.");
    let a = ask(&gw, KEY_A, other, &[]).await;
    assert_eq!(a.cache.as_deref(), Some("miss"));

    // Hits are metered under the route `cache` at no cost, their baseline cost as savings.
    for (result, n) in [("hit", 2.0), ("semantic", 1.0)] {
        let series = format!(r#"sluice_cache_lookups_total{{policy="cached",result="{result}"}}"#);
        assert_eq!(metric_value(&gw, &series).await, Some(n), "{result}");
    }
    assert_eq!(
        metric_value(
            &gw,
            r#"sluice_cost_usd_total{model="cache",policy="cached"}"#
        )
        .await,
        Some(0.0)
    );
    let baseline = metric_value(
        &gw,
        r#"sluice_baseline_cost_usd_total{model="cache",policy="cached"}"#,
    )
    .await
    .unwrap();
    assert!(baseline > 0.0);
    let saved = metric_value(&gw, r#"sluice_cache_saved_usd_total{policy="cached"}"#)
        .await
        .unwrap();
    let first_cost = {
        let v: Value = serde_json::from_slice(&first.body).unwrap();
        let u = &v["usage"];
        (u["prompt_tokens"].as_f64().unwrap() * 1.0
            + u["completion_tokens"].as_f64().unwrap() * 2.0)
            / 1e6
    };
    assert!(
        (saved - 3.0 * first_cost).abs() < 1e-12,
        "{saved} vs 3 × {first_cost}"
    );
}

#[tokio::test]
async fn scopes_and_temperature() {
    let mock = MockUpstream::start().await;
    let gw = start(&yaml(&mock, "")).await;
    // scope: tenant shares answers between keys of one tenant.
    let a = ask(
        &gw,
        KEY_A,
        q("team", "What is the boiling point of water at sea level?"),
        &[],
    )
    .await;
    assert_eq!(a.cache.as_deref(), Some("miss"));
    for _ in 0..100 {
        let b = ask(
            &gw,
            KEY_B,
            q("team", "What is the boiling point of water at sea level?"),
            &[],
        )
        .await;
        if b.cache.as_deref() == Some("hit") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let b = ask(
        &gw,
        KEY_B,
        q("team", "what is the boiling point of water at sea level"),
        &[],
    )
    .await;
    assert_eq!(b.cache.as_deref(), Some("hit"));
    // max_temperature: 0.7 caches up to it.
    let mut w = q("warm", "Name a prime number between 10 and 20.");
    w["temperature"] = json!(0.5);
    let a = ask(&gw, KEY_A, w.clone(), &[]).await;
    assert_eq!(a.cache.as_deref(), Some("miss"));
    // no-store: the answer is not kept.
    let mut n = q("warm", "Name a prime number between 30 and 40.");
    n["temperature"] = json!(0.5);
    ask(&gw, KEY_A, n.clone(), &[("cache-control", "no-store")]).await;
    for _ in 0..100 {
        let a = ask(&gw, KEY_A, w.clone(), &[]).await;
        if a.cache.as_deref() == Some("hit") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(ask(&gw, KEY_A, w, &[]).await.cache.as_deref(), Some("hit"));
    assert_eq!(ask(&gw, KEY_A, n, &[]).await.cache.as_deref(), Some("miss"));
}

#[tokio::test]
async fn replicas_share_the_cache_through_redis() {
    let redis = RedisServer::start();
    let mock = MockUpstream::start().await;
    let y = yaml(&mock, &format!("state: {}", redis.url()));
    let (one, two) = (start(&y).await, start(&y).await);
    let a = ask(
        &one,
        KEY_A,
        q("cached", "How do I enable dark mode in Firefox?"),
        &[],
    )
    .await;
    assert_eq!(a.cache.as_deref(), Some("miss"));
    stored(&one, 1.0).await;
    let calls = mock.requests().len();
    let b = ask(
        &two,
        KEY_A,
        q("cached", "How can I enable dark mode in Firefox"),
        &[],
    )
    .await;
    assert_eq!(b.cache.as_deref(), Some("semantic"));
    assert_eq!(content(&a), content(&b));
    let b = ask(
        &two,
        KEY_A,
        q("cached", "How do I disable dark mode in Firefox?"),
        &[],
    )
    .await;
    assert_eq!(b.cache.as_deref(), Some("miss"));
    assert_eq!(mock.requests().len(), calls + 1);
    // Redis gone: lookups fail open (a miss, counted), requests are still answered.
    drop(redis);
    let c = ask(
        &two,
        KEY_A,
        q("cached", "How do I enable dark mode in Firefox?"),
        &[],
    )
    .await;
    assert_eq!(c.status, 200);
    assert_eq!(c.cache.as_deref(), Some("miss"));
    assert!(
        metric_value(
            &two,
            r#"sluice_cache_lookups_total{policy="cached",result="error"}"#
        )
        .await
        .unwrap()
            >= 1.0
    );
}
