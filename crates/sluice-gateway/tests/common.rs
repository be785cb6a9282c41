#![allow(clippy::unwrap_used)]
//! Shared set-up for the end-to-end tests: mock upstreams and the real binary.
#![allow(dead_code)]

use std::time::Duration;

use serde_json::{json, Value};
use sluice_testkit::gateway::Gateway;
use sluice_testkit::mock::MockUpstream;

pub const KEY: &str = "sk-test-secret-key-0123456789";

/// Two providers on two mocks: `small` on `a` (retries, key, extra header), `big` on `b`;
/// policy `auto` = small, falling back to big.
pub fn two_mock_yaml(a: &MockUpstream, b: &MockUpstream, provider_a_extra: &str) -> String {
    format!(
        r#"
server: {{ reload_debounce: 50ms, shutdown_grace: 10s }}
providers:
  a:
    base_url: {a}
    api_key_env: SLUICE_TEST_KEY
    headers: {{ X-Extra-Header: present }}
    max_retries: 2
    retry_initial_backoff: 10ms
    retry_max_backoff: 2s
    timeout: 5s
    {provider_a_extra}
  b:
    base_url: {b}
    max_retries: 0
models:
  small: {{ provider: a, upstream_model: small-2024 }}
  big: {{ provider: b, upstream_model: big-2024 }}
policies:
  auto: {{ target: small, fallbacks: [big], baseline: big }}
"#,
        a = a.base_url(),
        b = b.base_url()
    )
}

pub async fn start(yaml: &str) -> Gateway {
    Gateway::builder(env!("CARGO_BIN_EXE_sluice"), yaml)
        .env("SLUICE_TEST_KEY", KEY)
        .start()
        .await
}

/// Runs `sluice serve` on `yaml`, which must stop start-up; returns what it printed on
/// stderr (the error a user sees).
pub fn start_fails(yaml: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sluice.yaml");
    std::fs::write(&path, yaml).expect("write config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&path)
        .env("SLUICE_MODELS_DIR", sluice_testkit::env::models_dir())
        .output()
        .expect("run sluice");
    assert!(!out.status.success(), "sluice started on:\n{yaml}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A chat completion request to the gateway, whatever its answer.
pub async fn post_chat(gw: &Gateway, body: &Value) -> reqwest::Response {
    client()
        .post(gw.url("/v1/chat/completions"))
        .json(body)
        .send()
        .await
        .expect("gateway reachable")
}

/// A GET answered with JSON (`/v1/models`, say).
pub async fn get_json(gw: &Gateway, path: &str) -> Value {
    client()
        .get(gw.url(path))
        .send()
        .await
        .expect("gateway reachable")
        .json()
        .await
        .expect("a JSON body")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

pub fn chat_body(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": text}]})
}

/// Asserts the OpenAI error shape and returns the error object.
pub async fn error_of(resp: reqwest::Response, status: u16) -> Value {
    assert_eq!(resp.status().as_u16(), status, "unexpected status");
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let v: Value = resp.json().await.expect("error body is JSON");
    let e = v.get("error").expect("has an error object").clone();
    for k in ["message", "type", "param", "code"] {
        assert!(e.get(k).is_some(), "error lacks '{k}': {v}");
    }
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
    e
}

/// Reads a streaming response chunk by chunk, with arrival times.
pub async fn read_stream(
    mut resp: reqwest::Response,
) -> (Vec<(std::time::Instant, bytes::Bytes)>, Option<String>) {
    let mut chunks = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => chunks.push((std::time::Instant::now(), c)),
            Ok(None) => return (chunks, None),
            Err(e) => return (chunks, Some(e.to_string())),
        }
    }
}

pub fn concat(chunks: &[(std::time::Instant, bytes::Bytes)]) -> Vec<u8> {
    chunks.iter().flat_map(|(_, c)| c.iter().copied()).collect()
}

/// The `data:` payloads of an SSE body.
pub fn sse_data(body: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(body)
        .split("\n\n")
        .filter_map(|ev| ev.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}

/// Polls `/metrics` until a line starting with `prefix` has `value`; returns the last text.
pub async fn metric_value(gw: &Gateway, series: &str) -> Option<f64> {
    let text = client()
        .get(gw.metrics_url())
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// What the mock's billed usage costs at `p`, exactly (pico-USD).
pub fn billed_cost(
    billed: &[sluice_testkit::mock::Billed],
    p: sluice_telemetry::pricing::TokenPrices,
) -> u128 {
    billed
        .iter()
        .map(|b| {
            p.cost(sluice_telemetry::pricing::Tokens {
                prompt: b.prompt_tokens,
                cached: 0,
                cache_write: 0,
                completion: b.completion_tokens,
            })
        })
        .sum()
}

/// Polls `/metrics` until `series` exists (streams are accounted when they end), for up to
/// 5 s; its value, or `None`.
pub async fn await_metric(gw: &Gateway, series: &str) -> Option<f64> {
    for _ in 0..100 {
        if let Some(v) = metric_value(gw, series).await {
            return Some(v);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// A gateway state built in process from `yaml` (no listener), reading wall-clock time from
/// `clock`: for tests that drive the stack or a target directly.
pub async fn in_process(
    yaml: &str,
    clock: sluice_gateway::clock::Clock,
) -> std::sync::Arc<sluice_gateway::state::AppState> {
    use sluice_gateway::state::{AppState, BuildContext, Runtime};
    let cfg = std::sync::Arc::new(sluice_config::load_str(yaml, "in-process").unwrap());
    let ctx = BuildContext::new(
        &sluice_config::Source::Embedded,
        std::sync::Arc::new(sluice_telemetry::Metrics::new().unwrap()),
    );
    let build = ctx.clone();
    let rt = tokio::task::spawn_blocking(move || Runtime::build(cfg, None, &build))
        .await
        .unwrap()
        .unwrap();
    AppState::with_clock(rt, sluice_config::Source::Embedded, ctx, clock).unwrap()
}

/// A throwaway Redis (Debian's `redis-server`) on an ephemeral loopback port, killed on drop.
pub struct RedisServer {
    pub port: u16,
    pub child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (Debian package redis-server; scripts/setup.sh installs it)");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        RedisServer {
            child,
            port,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
