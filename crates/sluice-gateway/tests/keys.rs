//! Gateway API keys, per-key permissions, rate limits, budgets (in memory and shared through
//! a real redis-server), the non-loopback guard, admin endpoints and the circuit breaker.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use sluice_gateway::auth::{hash_key, hex};
use sluice_testkit::env::models_dir;
use sluice_testkit::gateway::Gateway;
use sluice_testkit::mock::MockUpstream;

const KEY_A: &str = "sk-sluice-test-key-a-000000000000000000000000";
const KEY_B: &str = "sk-sluice-test-key-b-111111111111111111111111";

fn entry(id: &str, plain: &str, extra: &str) -> String {
    format!(
        "  {id}:\n    hash: sha256:{}\n    tenant: {id}-team\n    {extra}\n",
        hex(&hash_key(plain))
    )
}

fn yaml(mock: &MockUpstream, keys: &str, state: &str) -> String {
    format!(
        r#"
server: {{ admin_key_env: SLUICE_TEST_ADMIN, max_messages: 5, max_header_bytes: 4096 }}
state: {state}
providers:
  up: {{ base_url: {base}, max_retries: 0 }}
  here: {{ kind: local, model: {models}/tiny-random-llama, threads: 1 }}
models:
  small: {{ provider: up, pricing: {{ input: 1000, output: 1000 }} }}
  big: {{ provider: up }}
  tiny: {{ provider: here }}
policies:
  auto: {{ target: small, fallbacks: [big] }}
keys:
{keys}"#,
        base = mock.base_url(),
        models = models_dir().display(),
    )
}

async fn gateway(y: &str) -> Gateway {
    Gateway::builder(env!("CARGO_BIN_EXE_sluice"), y)
        .env("SLUICE_TEST_ADMIN", "admin-secret")
        .start()
        .await
}

async fn ask(gw: &Gateway, key: Option<&str>, model: &str) -> reqwest::Response {
    let mut r = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&chat_body(model, "hello there"));
    if let Some(k) = key {
        r = r.bearer_auth(k);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn keys_are_required_and_scoped() {
    let mock = MockUpstream::start().await;
    let keys = entry("a", KEY_A, "allow: [auto]") + &entry("b", KEY_B, "");
    let gw = gateway(&yaml(&mock, &keys, "memory")).await;

    // No key, a wrong key, a malformed header: 401 before anything is routed or spent.
    for key in [None, Some("sk-wrong"), Some("")] {
        let resp = ask(&gw, key, "auto").await;
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
        let e = error_of(resp, 401).await;
        assert_eq!(e["code"], "invalid_api_key");
    }
    assert!(mock.requests().is_empty());
    let r = client().get(gw.url("/v1/models")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = client().get(gw.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200, "health checks need no key");
    assert_eq!(
        metric_value(&gw, r#"sluice_auth_failures_total{reason="missing"}"#).await,
        Some(3.0)
    );

    // Key a may use the auto policy only.
    assert_eq!(ask(&gw, Some(KEY_A), "auto").await.status(), 200);
    let e = error_of(ask(&gw, Some(KEY_A), "big").await, 403).await;
    assert_eq!(e["code"], "model_not_allowed");
    let models: Value = client()
        .get(gw.url("/v1/models"))
        .bearer_auth(KEY_A)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["auto"]);
    // Key b may use anything.
    assert_eq!(ask(&gw, Some(KEY_B), "big").await.status(), 200);
    assert_eq!(
        metric_value(
            &gw,
            r#"sluice_tenant_requests_total{outcome="forbidden_model",tenant="a-team"}"#
        )
        .await,
        Some(1.0)
    );
    // The plain keys never reach the logs.
    assert!(!gw
        .logs()
        .iter()
        .any(|l| l.contains(KEY_A) || l.contains(KEY_B)));

    // Hardening: too many messages, oversized headers.
    let many =
        json!({"model": "auto", "messages": vec![json!({"role": "user", "content": "x"}); 6]});
    let r = client()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(KEY_B)
        .json(&many)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r, 400).await["param"], "messages");
    let r = client()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(KEY_B)
        .header("x-padding", "p".repeat(5000))
        .json(&chat_body("auto", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r, 431).await["code"], "headers_too_large");

    // Admin endpoints: invisible without the admin key.
    let r = client()
        .get(gw.url("/admin/keys"))
        .bearer_auth(KEY_B)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let keys: Value = client()
        .get(gw.url("/admin/keys"))
        .bearer_auth("admin-secret")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys["keys"][0]["id"], "a");
    assert!(
        !keys.to_string().contains(&hex(&hash_key(KEY_A))),
        "no hashes"
    );
    let r = client()
        .post(gw.url("/admin/reload"))
        .bearer_auth("admin-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["config_generation"], 1);
}

#[tokio::test]
async fn budgets_refuse_or_downgrade() {
    let mock = MockUpstream::start().await;
    // $1000 per million tokens: one mock answer (~20 tokens) costs ~$0.02.
    let keys = entry("a", KEY_A, "budget: { usd: 0.001, period: day }")
        + &entry(
            "b",
            KEY_B,
            "budget: { usd: 0.001, period: month, on_exceeded: downgrade, downgrade_to: tiny }",
        );
    let gw = gateway(&yaml(&mock, &keys, "memory")).await;
    assert_eq!(ask(&gw, Some(KEY_A), "auto").await.status(), 200);
    // Spend is settled before the answer returns: the very next request is refused.
    let e = error_of(ask(&gw, Some(KEY_A), "auto").await, 429).await;
    assert_eq!(
        (e["type"].as_str(), e["code"].as_str()),
        (Some("insufficient_quota"), Some("budget_exceeded"))
    );

    assert_eq!(ask(&gw, Some(KEY_B), "auto").await.status(), 200);
    let r = ask(&gw, Some(KEY_B), "auto").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["x-sluice-route"],
        "tiny",
        "served by the local model"
    );
    assert!(r.headers()["x-sluice-reason"]
        .to_str()
        .unwrap()
        .contains("budget"));
    let spend = metric_value(&gw, r#"sluice_tenant_spend_usd{key="b",tenant="b-team"}"#)
        .await
        .unwrap();
    assert!(spend >= 0.001, "{spend}");
    assert!(
        metric_value(&gw, r#"sluice_tenant_cost_usd_total{tenant="b-team"}"#)
            .await
            .unwrap()
            >= spend
    );
    assert_eq!(
        metric_value(&gw, r#"sluice_tenant_budget_usd{key="a",tenant="a-team"}"#).await,
        Some(0.001)
    );
}

#[tokio::test]
async fn two_replicas_share_a_budget_through_redis_and_survive_it_going_down() {
    let mut redis = RedisServer::start();
    let mock = MockUpstream::start().await;
    let keys = entry(
        "a",
        KEY_A,
        "budget: { usd: 0.001, period: day }\n    rate_limit: { requests_per_minute: 1000 }",
    );
    let y = yaml(&mock, &keys, &redis.url());
    let (one, two) = (gateway(&y).await, gateway(&y).await);

    // Replica one spends the budget; replica two refuses.
    assert_eq!(ask(&one, Some(KEY_A), "auto").await.status(), 200);
    let mut refused = false;
    for _ in 0..100 {
        let r = ask(&two, Some(KEY_A), "auto").await;
        if r.status() == 429 {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "replica two saw replica one's spend");
    assert_eq!(
        metric_value(&two, r#"sluice_state_backend_up{backend="redis"}"#).await,
        Some(1.0)
    );

    // Redis goes away: both keep serving (a key with no spend yet), say so in logs and metrics.
    let _ = redis.child.kill();
    let _ = redis.child.wait();
    let keys = keys + &entry("b", KEY_B, "budget: { usd: 5, period: day }");
    one.write_config(&yaml(&mock, &keys, &redis.url()));
    assert!(
        one.wait_for_log("config reloaded", Duration::from_secs(10))
            .await
    );
    // Each Redis call has a deadline, after which the local counters answer.
    let r = ask(&one, Some(KEY_B), "auto").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        metric_value(&one, r#"sluice_state_backend_up{backend="redis"}"#).await,
        Some(0.0)
    );
    assert!(
        one.wait_for_log("local counters", Duration::from_secs(5))
            .await
    );
}

#[tokio::test]
async fn non_loopback_needs_keys_or_an_explicit_opt_in() {
    let mock = MockUpstream::start().await;
    let open = format!(
        "providers: {{ up: {{ base_url: {} }} }}\nmodels: {{ small: {{ provider: up }} }}\n",
        mock.base_url()
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.yaml");
    std::fs::write(&path, &open).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["serve", "--listen", "0.0.0.0:0", "--config"])
        .arg(&path)
        .env("SLUICE_MODELS_DIR", models_dir())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no API keys") && err.contains("allow_unauthenticated"),
        "{err}"
    );

    // With the explicit opt-in it starts.
    std::fs::write(
        &path,
        format!("server: {{ allow_unauthenticated: true }}\n{open}"),
    )
    .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["serve", "--metrics-listen", "127.0.0.1:0"])
        .args(["--listen", "0.0.0.0:0", "--config"])
        .arg(&path)
        .env("SLUICE_MODELS_DIR", models_dir())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines =
        tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(child.stderr.take().unwrap()));
    let listening = tokio::time::timeout(Duration::from_secs(20), async {
        while let Ok(Some(l)) = lines.next_line().await {
            if l.contains("listening") {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(listening);
    let _ = child.kill().await;
}

#[tokio::test]
async fn circuit_breaker_skips_a_failing_upstream() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    a.set_default_script(&["status:503"]);
    let y = format!(
        r#"
providers:
  a: {{ base_url: {a}, max_retries: 0, breaker_failures: 2, breaker_cooldown: 1h }}
  b: {{ base_url: {b} }}
models:
  small: {{ provider: a }}
  big: {{ provider: b }}
policies:
  auto: {{ target: small, fallbacks: [big] }}
"#,
        a = a.base_url(),
        b = b.base_url()
    );
    let gw = start(&y).await;
    for _ in 0..2 {
        let r = ask(&gw, None, "auto").await;
        assert_eq!(r.headers()["x-sluice-route"], "big");
    }
    assert_eq!(a.requests().len(), 2);
    assert_eq!(
        metric_value(&gw, r#"sluice_circuit_state{provider="a"}"#).await,
        Some(1.0)
    );
    // Open: the failing upstream is not even tried.
    for _ in 0..3 {
        let r = ask(&gw, None, "auto").await;
        assert_eq!(r.status(), 200);
        assert!(r.headers()["x-sluice-reason"]
            .to_str()
            .unwrap()
            .contains("circuit open"));
    }
    assert_eq!(a.requests().len(), 2);
    assert_eq!(
        metric_value(&gw, r#"sluice_circuit_opened_total{provider="a"}"#).await,
        Some(1.0)
    );
    // Half-open and closing again after the cool-down: breaker.rs, on paused time.
}

#[test]
fn keys_create_prints_a_key_and_only_its_hash_for_the_config() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "keys",
            "create",
            "--id",
            "search",
            "--tenant",
            "search-team",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let key = text
        .split_whitespace()
        .find(|w| w.starts_with("sk-sluice-"))
        .unwrap();
    assert!(text.contains(&format!("hash: sha256:{}", hex(&hash_key(key)))));
    assert!(text.contains("tenant: search-team"));
    // The printed entry is a valid config.
    let entry = &text[text.find("keys:").unwrap()..];
    let cfg = sluice_config::load_str(
        &format!("providers: {{ p: {{ base_url: http://127.0.0.1:1 }} }}\n{entry}"),
        "t",
    )
    .unwrap();
    assert_eq!(cfg.keys["search"].hash, hash_key(key));
}

/// A key allowed only the `auto` policy, a policy whose header override offers a model that
/// is not one of its own targets, and a budget whose downgrade names another such model.
fn permissions_yaml(mock: &MockUpstream) -> String {
    format!(
        r#"
providers:
  up: {{ base_url: {base}, max_retries: 0 }}
models:
  small: {{ provider: up, pricing: {{ input: 1000, output: 1000 }} }}
  big: {{ provider: up }}
  premium: {{ provider: up, upstream_model: premium-2025 }}
policies:
  auto:
    target: small
    strong: big
    fallbacks: [big]
    rules: {{ header_override: [big, premium] }}
keys:
{a}{b}"#,
        base = mock.base_url(),
        a = entry("a", KEY_A, "allow: [auto]"),
        b = entry(
            "b",
            KEY_B,
            "allow: [auto]\n    budget: { usd: 0.001, period: month, on_exceeded: downgrade, downgrade_to: premium }",
        ),
    )
}

#[tokio::test]
async fn permissions_bound_the_final_target_whatever_chose_it() {
    let mock = MockUpstream::start().await;
    let gw = gateway(&permissions_yaml(&mock)).await;
    let with_target = |target: &'static str| {
        client()
            .post(gw.url("/v1/chat/completions"))
            .bearer_auth(KEY_A)
            .header("x-sluice-target", target)
            .json(&chat_body("auto", "hello there"))
    };
    // A target the policy reaches on its own may be asked for by header.
    let r = with_target("big").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-sluice-route"], "big");
    // One only the header offers is refused, and nothing reaches the upstream.
    let before = mock.requests().len();
    let e = error_of(with_target("premium").send().await.unwrap(), 403).await;
    assert_eq!(e["code"], "model_not_allowed");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("premium") && msg.contains("x-sluice-target"),
        "{msg}"
    );
    assert_eq!(mock.requests().len(), before);
    // Asked for by name, as before.
    error_of(ask(&gw, Some(KEY_A), "premium").await, 403).await;

    // A budget downgrade to a model the key may not use refuses instead of spending there.
    assert_eq!(ask(&gw, Some(KEY_B), "auto").await.status(), 200);
    let r = ask(&gw, Some(KEY_B), "auto").await;
    let e = error_of(r, 403).await;
    assert_eq!(e["code"], "model_not_allowed");
    assert!(e["message"].as_str().unwrap().contains("downgrade"), "{e}");
    assert!(!mock
        .requests()
        .iter()
        .any(|r| r.body["model"] == "premium-2025"));
}
