#![allow(clippy::unwrap_used)]
//! End to end through the real binary: request validation, config reload (file and SIGHUP,
//! valid and invalid), SIGTERM drain, the CLI's check-config, and the auxiliary endpoints.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use sluice_testkit::gateway::Gateway;
use sluice_testkit::mock::MockUpstream;

#[tokio::test]
async fn malformed_requests_get_openai_errors() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let yaml = two_mock_yaml(&a, &b, "").replace(
        "reload_debounce: 50ms",
        "reload_debounce: 50ms, max_body_bytes: 2000",
    );
    let gw = start(&yaml).await;
    let url = gw.url("/v1/chat/completions");
    let c = client();
    let post = |body: Vec<u8>| {
        c.post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let e = error_of(post(b"{\"model\": \"auto\", ".to_vec()).await.unwrap(), 400).await;
    assert_eq!(e["type"], "invalid_request_error");
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("could not parse the JSON body"));

    let e = error_of(post(br#"{"model":"auto"}"#.to_vec()).await.unwrap(), 400).await;
    assert_eq!(e["param"], "messages");
    assert_eq!(e["code"], "missing_required_parameter");

    let e = error_of(
        post(br#"{"messages":[{"role":"user","content":"x"}]}"#.to_vec())
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(e["param"], "model");

    let e = error_of(
        post(br#"{"model":"auto","messages":[{"role":"user","content":7}]}"#.to_vec())
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(e["param"], "messages[0].content");
    assert_eq!(e["code"], "invalid_type");

    let e = error_of(
        post(br#"{"model":"auto","messages":"hi"}"#.to_vec())
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(e["param"], "messages");

    let e = error_of(
        post(br#"{"model":"auto","messages":[]}"#.to_vec())
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(e["param"], "messages");

    let e = error_of(
        post(br#"{"model":"gpt-9","messages":[{"role":"user","content":"x"}]}"#.to_vec())
            .await
            .unwrap(),
        404,
    )
    .await;
    assert_eq!(e["code"], "model_not_found");
    assert!(e["message"].as_str().unwrap().contains("auto, big, small"));

    // Too large, with a Content-Length... (kept just over the limit: the gateway answers 413
    // without reading the rest, and a client still writing a large body would see EPIPE
    // instead of the answer, a race in the test rather than in the gateway)
    let big = serde_json::to_vec(&chat_body("auto", &"word ".repeat(440))).unwrap();
    assert!(big.len() > 2000 && big.len() < 2600);
    let e = error_of(post(big.clone()).await.unwrap(), 413).await;
    assert_eq!(e["code"], "request_too_large");
    // ...and streamed without one (chunked), so the limit is enforced while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(900).map(|c| Ok(c.to_vec())).collect();
    let resp = c
        .post(&url)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 413, "{text}");

    let e = error_of(c.get(&url).send().await.unwrap(), 405).await;
    assert_eq!(e["code"], "method_not_allowed");
    let e = error_of(c.post(gw.url("/v1/completions")).send().await.unwrap(), 404).await;
    assert_eq!(e["message"], "Invalid URL (POST /v1/completions)");

    assert!(
        a.requests().is_empty() && b.requests().is_empty(),
        "nothing reached an upstream"
    );
    assert_eq!(
        metric_value(
            &gw,
            r#"sluice_requests_total{policy="none",route="none",status="4xx"}"#
        )
        .await,
        Some(9.0)
    );
}

#[tokio::test]
async fn env_overrides_the_file() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = Gateway::builder(env!("CARGO_BIN_EXE_sluice"), &two_mock_yaml(&a, &b, ""))
        .env("SLUICE__SERVER__MAX_BODY_BYTES", "100")
        .start()
        .await;
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&chat_body("auto", &"x".repeat(200)))
        .send()
        .await
        .unwrap();
    error_of(resp, 413).await;
}

#[tokio::test]
async fn models_health_ready_metrics() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = start(&two_mock_yaml(&a, &b, "")).await;
    let c = client();
    let v: Value = c
        .get(gw.url("/v1/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["object"], "list");
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["auto", "big", "small"]);
    assert_eq!(v["data"][0]["owned_by"], "sluice");
    assert_eq!(v["data"][0]["sluice"]["target"], "small");
    assert_eq!(v["data"][1]["owned_by"], "b");

    assert_eq!(
        c.get(gw.url("/healthz")).send().await.unwrap().status(),
        200
    );
    let r: Value = c
        .get(gw.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["status"], "ready");

    let m = c.get(gw.metrics_url()).send().await.unwrap();
    assert!(m.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = m.text().await.unwrap();
    for name in [
        "sluice_build_info",
        "sluice_config_reloads_total",
        "sluice_requests_in_flight",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics");
    }
    // Tenant data stays off the public port: /metrics there is an unknown path.
    let public = c.get(gw.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404);
    assert_ne!(gw.metrics_addr.map(|a| a.port()), Some(gw.addr.port()));
}

#[tokio::test]
async fn metrics_listen_off_serves_no_metrics() {
    let mock = MockUpstream::start().await;
    let y = format!(
        "server: {{ metrics_listen: 'off' }}
providers: {{ a: {{ base_url: {} }} }}
models: {{ m: {{ provider: a }} }}
",
        mock.base_url()
    );
    let gw = Gateway::builder(env!("CARGO_BIN_EXE_sluice"), &y)
        .arg("--metrics-listen")
        .arg("off")
        .start()
        .await;
    assert!(gw.metrics_addr.is_none());
    assert!(!gw.logs().iter().any(|l| l.contains("metrics listening")));
    // A bad address in the config is a config error naming the field.
    let err = start_fails(&y.replace("'off'", "'not-an-address'"));
    assert!(err.contains("server.metrics_listen"), "{err}");
}

fn retarget(yaml: &str) -> String {
    yaml.replace(
        "auto: { target: small, fallbacks: [big], baseline: big }",
        "auto: { target: big, baseline: big }",
    )
}

async fn route_of(gw: &Gateway) -> String {
    let resp = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&chat_body("auto", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.headers()["x-sluice-route"]
        .to_str()
        .unwrap()
        .to_owned()
}

async fn wait_for_route(gw: &Gateway, want: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if route_of(gw).await == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn hot_reload_valid_then_invalid() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let yaml = two_mock_yaml(&a, &b, "");
    let gw = start(&yaml).await;
    assert_eq!(route_of(&gw).await, "small");

    // A stream in flight across the reload finishes on the old config.
    let mut body = chat_body("auto", "long");
    body["stream"] = json!(true);
    body["mock"] = json!({"chunk_delay_ms": 100, "words": 8});
    let inflight = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();

    gw.write_config(&retarget(&yaml));
    assert!(
        wait_for_route(&gw, "big", Duration::from_secs(5)).await,
        "valid reload not applied"
    );
    assert_eq!(
        metric_value(&gw, r#"sluice_config_reloads_total{result="ok"}"#).await,
        Some(1.0)
    );
    let (chunks, err) = read_stream(inflight).await;
    assert!(err.is_none());
    assert_eq!(
        sse_data(&concat(&chunks)).last().map(String::as_str),
        Some("[DONE]")
    );

    // Invalid: rejected, logged with the reason, counted; the running config keeps serving.
    gw.write_config(&yaml.replace("target: small", "target: nonexistent"));
    assert!(
        gw.wait_for_log("config reload rejected", Duration::from_secs(5))
            .await
    );
    let line = gw
        .logs()
        .into_iter()
        .find(|l| l.contains("config reload rejected"))
        .unwrap();
    assert!(
        line.contains("policies.auto.target") && line.contains("unknown model 'nonexistent'"),
        "{line}"
    );
    assert_eq!(
        metric_value(&gw, r#"sluice_config_reloads_total{result="failed"}"#).await,
        Some(1.0)
    );
    assert_eq!(route_of(&gw).await, "big");

    // Broken YAML too.
    gw.write_config("policies: [unclosed");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(route_of(&gw).await, "big");
    let r: Value = client()
        .get(gw.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["config_generation"], 1);
}

#[tokio::test]
async fn sighup_reloads_when_not_watching() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let yaml = two_mock_yaml(&a, &b, "");
    let gw = Gateway::builder(env!("CARGO_BIN_EXE_sluice"), &yaml)
        .env("SLUICE_TEST_KEY", KEY)
        .arg("--no-watch")
        .start()
        .await;
    gw.write_config(&retarget(&yaml));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        route_of(&gw).await,
        "small",
        "--no-watch must ignore file changes"
    );
    gw.signal("HUP").await;
    assert!(
        wait_for_route(&gw, "big", Duration::from_secs(5)).await,
        "SIGHUP did not reload"
    );
}

#[tokio::test]
async fn sigterm_drains_in_flight_streams() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let mut gw = start(&two_mock_yaml(&a, &b, "")).await;
    let mut body = chat_body("auto", "drain me");
    body["stream"] = json!(true);
    body["mock"] = json!({"chunk_delay_ms": 100, "words": 10});
    let mut resp = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let first = resp.chunk().await.unwrap().unwrap();
    gw.signal("TERM").await;
    assert!(
        gw.wait_for_log("draining in-flight requests", Duration::from_secs(2))
            .await
    );
    // New connections are refused while the old stream goes on.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let refused = reqwest::Client::new().get(gw.url("/healthz")).send().await;
    assert!(refused.is_err(), "listener still accepting during drain");
    let (rest, err) = read_stream(resp).await;
    assert!(err.is_none(), "stream cut during drain: {err:?}");
    let mut all = first.to_vec();
    all.extend(concat(&rest));
    assert_eq!(sse_data(&all).last().map(String::as_str), Some("[DONE]"));
    let status = gw
        .wait_exit(Duration::from_secs(5))
        .await
        .expect("exited after drain");
    assert!(status.success());
}

#[tokio::test]
async fn sigterm_grace_period_is_bounded() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let yaml = two_mock_yaml(&a, &b, "").replace("shutdown_grace: 10s", "shutdown_grace: 300ms");
    let mut gw = start(&yaml).await;
    let mut body = chat_body("auto", "forever");
    body["stream"] = json!(true);
    body["mock"] = json!({"chunk_delay_ms": 100, "words": 1000});
    let mut resp = client()
        .post(gw.url("/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    resp.chunk().await.unwrap();
    gw.signal("TERM").await;
    let status = gw
        .wait_exit(Duration::from_secs(5))
        .await
        .expect("exits after the grace period");
    assert!(status.success());
    assert!(
        gw.wait_for_log("grace period over", Duration::from_secs(1))
            .await
    );
}

#[test]
fn check_config_lists_every_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "providers:\n  p: { base_url: 'nope', timeout: 0s }\nmodels:\n  m: { provider: q }\npolicies:\n  auto: { target: zz }\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("check-config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for path in [
        "providers.p.base_url",
        "providers.p.timeout",
        "models.m.provider",
        "policies.auto.target",
    ] {
        assert!(err.contains(path), "{path} not reported:\n{err}");
    }
    assert!(err.starts_with("4 errors in"), "{err}");

    let good = dir.path().join("good.yaml");
    std::fs::write(&good, sluice_config::DEFAULT_YAML).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("check-config")
        .arg(&good)
        .env_remove("OPENAI_API_KEY")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("ok: "), "{stdout}");
    assert!(stdout.contains("OPENAI_API_KEY is not set"), "{stdout}");
}

#[tokio::test]
async fn default_config_serves_without_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .args(["--metrics-listen", "127.0.0.1:0"])
        .env_remove("OPENAI_API_KEY")
        .env("SLUICE_MODELS_DIR", sluice_testkit::env::models_dir())
        // Far from the repository: the built-in head must serve.
        .current_dir(dir.path())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        if v["fields"]["message"] == "listening" {
            assert_eq!(v["fields"]["source"], "<embedded default config>");
            break v["fields"]["addr"].as_str().unwrap().to_owned();
        }
    };
    let v: Value = client()
        .get(format!("http://{addr}/v1/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"][0]["id"], "auto");
    // No key in this environment: a clear 503 rather than an unauthenticated upstream call.
    let resp = client()
        .post(format!("http://{addr}/v1/chat/completions"))
        .json(&chat_body("auto", "x"))
        .send()
        .await
        .unwrap();
    let rid = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let e = error_of(resp, 503).await;
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("OPENAI_API_KEY is not set"));
    // The default config keeps outcomes in a SQLite file in the working directory, and
    // takes feedback on what it served.
    let store = dir.path().join("sluice-outcomes.db");
    assert!(store.is_file(), "no {}", store.display());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        let r = client()
            .post(format!("http://{addr}/v1/feedback"))
            .json(&serde_json::json!({"request_id": rid, "score": -1}))
            .send()
            .await
            .unwrap();
        if r.status() != 404 || std::time::Instant::now() > deadline {
            break r.status();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status, 200);
}
