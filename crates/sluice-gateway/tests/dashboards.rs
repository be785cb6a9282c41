//! The shipped dashboards and alert rules against a real Prometheus (Debian's package,
//! installed by scripts/setup.sh) scraping the real gateway: every panel query must parse
//! and return data after traffic, every alert expression must parse, the rules must load,
//! and `promtool check rules` / `promtool test rules` must pass.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use sluice_testkit::env::write_linear_head;
use sluice_testkit::mock::MockUpstream;

fn deploy() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

fn promtool(args: &[&str]) -> String {
    let out = std::process::Command::new("promtool")
        .args(args)
        .current_dir(deploy().join("prometheus"))
        .output()
        .expect("promtool (Debian package prometheus; scripts/setup.sh installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    text
}

#[test]
fn promtool_checks_and_unit_tests_the_alerts() {
    assert!(promtool(&["check", "rules", "alerts.yml"]).contains("SUCCESS: 13 rules found"));
    promtool(&["test", "rules", "alerts_test.yml"]);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn yaml(a: &MockUpstream, b: &MockUpstream, head: &Path) -> String {
    format!(
        r#"
providers:
  a: {{ base_url: {a}, max_retries: 1, retry_initial_backoff: 5ms }}
  b: {{ base_url: {b} }}
  here: {{ kind: local, model: {models}/tiny-random-llama, threads: 1 }}
models:
  tiny: {{ provider: here }}
  small: {{ provider: a, pricing: {{ input: 0.15, output: 0.6 }} }}
  big: {{ provider: b, pricing: {{ input: 2.5, output: 10 }} }}
router:
  embedder: {{ model: {models}/all-MiniLM-L6-v2, variant: model_int8.onnx, workers: 1 }}
  heads: {{ default: {{ path: {head} }} }}
policies:
  auto:
    strategy: learned
    target: small
    strong: big
    threshold: 0.5
    fallbacks: [big]
    baseline: big
  cached: {{ target: small, baseline: big, cache: {{ ttl: 1m }} }}
"#,
        a = a.base_url(),
        b = b.base_url(),
        models = sluice_testkit::env::models_dir().display(),
        head = head.display()
    )
}

/// A cacheable request (temperature 0) to the `cached` policy, read to its end; its
/// `x-sluice-cache` header.
async fn cached(c: &reqwest::Client, url: &str, text: &str) -> Option<String> {
    let mut body = chat_body("cached", text);
    body["temperature"] = json!(0);
    let r = c.post(url).json(&body).send().await.unwrap();
    let cache = r
        .headers()
        .get("x-sluice-cache")
        .map(|v| v.to_str().unwrap().to_owned());
    let _ = r.bytes().await;
    cache
}

async fn traffic(gw: &sluice_testkit::gateway::Gateway, round: usize) {
    let c = client();
    let url = gw.url("/v1/chat/completions");
    let prompts = [
        "what is the capital of france",
        "prove the riemann hypothesis",
        "write a haiku about rust",
        "compute 17 * 23",
    ];
    for (i, p) in prompts.iter().enumerate() {
        let mut body = chat_body("auto", &format!("{p} ({round})"));
        if i % 2 == 1 {
            body["stream"] = json!(true);
        }
        let r = c.post(&url).json(&body).send().await.unwrap();
        let _ = r.bytes().await;
    }
    // A retry, a fallback, an upstream refusal and a malformed request.
    for mock in [
        json!({"key": format!("r{round}"), "script": ["status:429", "ok"], "retry_after": "0"}),
        json!({"script": ["status:503"], "only_model": "small"}),
        json!({"script": ["status:400"]}),
    ] {
        let mut body = chat_body("auto", "hello there");
        body["mock"] = mock;
        let _ = c
            .post(&url)
            .header("x-sluice-target", "small")
            .json(&body)
            .send()
            .await
            .unwrap()
            .bytes()
            .await;
        let _ = c.post(&url).json(&body).send().await.unwrap().bytes().await;
    }
    let _ = c.post(&url).body("{").send().await.unwrap();
    // The local model, streamed and not.
    for stream in [false, true] {
        let mut body = chat_body("tiny", "hello there");
        body["max_tokens"] = json!(8);
        body["stream"] = json!(stream);
        let _ = c.post(&url).json(&body).send().await.unwrap().bytes().await;
    }
    // The response cache: a miss (in the first round), the same prompt until its answer,
    // stored just after it was sent, comes back as a hit; a rewording (a semantic hit) and
    // the opposite question (close, but refused by the antonym guard; then stored).
    let enable = "How do I enable dark mode in Firefox?";
    cached(&c, &url, enable).await;
    let mut hit = false;
    for _ in 0..100 {
        if cached(&c, &url, enable).await.as_deref() == Some("hit") {
            hit = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(hit, "the cached answer never came back");
    cached(&c, &url, "How can I enable dark mode in Firefox").await;
    cached(&c, &url, "How do I disable dark mode in Firefox?").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_panel_and_rule_query_works_against_real_prometheus() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let dir = tempfile::tempdir().unwrap();
    let head = dir.path().join("head.onnx");
    let w: Vec<f32> = (0..384).map(|i| ((i as f32) * 0.7).sin() * 2.0).collect();
    write_linear_head(&w, 0.0, &head);
    let y = yaml(&a, &b, &head).replace(
        "threshold: 0.5\n",
        "threshold: 0.5\n    rules: { header_override: [small, big] }\n",
    );
    let gw = start(&y).await;

    let port = free_port();
    let prom_cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &prom_cfg,
        format!(
            "global: {{ scrape_interval: 1s, evaluation_interval: 1s }}\nrule_files: [{}]\nscrape_configs:\n  - job_name: sluice\n    static_configs: [{{ targets: ['{}'] }}]\n",
            deploy().join("prometheus/alerts.yml").display(),
            gw.metrics_addr.unwrap()
        ),
    )
    .unwrap();
    let mut prom = tokio::process::Command::new("prometheus")
        .arg(format!("--config.file={}", prom_cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("prometheus (Debian package; scripts/setup.sh installs it)");
    let api = format!("http://127.0.0.1:{port}/api/v1");
    let c = client();
    let query = |q: String| {
        let c = c.clone();
        let api = api.clone();
        async move {
            let r = c
                .get(format!("{api}/query"))
                .query(&[("query", q.as_str())])
                .send()
                .await
                .ok()?;
            r.json::<Value>().await.ok()
        }
    };
    // Wait for Prometheus to scrape the gateway.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = query("up{job=\"sluice\"}".into()).await {
            if v["data"]["result"][0]["value"][1] == "1" {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "prometheus never scraped the gateway"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Traffic in rounds, so rate() sees counters move between scrapes.
    for round in 0..3 {
        traffic(&gw, round).await;
        tokio::time::sleep(Duration::from_millis(2500)).await;
    }

    let mut failures = Vec::new();
    // The cache row's queries fall back to 0 without a cache: the traffic made every
    // series they read.
    for series in [
        r#"sluice_cache_lookups_total{result="miss"}"#,
        r#"sluice_cache_lookups_total{result="hit"}"#,
        r#"sluice_cache_lookups_total{result="semantic"}"#,
        r#"sluice_cache_lookups_total{result="refused"}"#,
        r#"sluice_cache_guard_rejections_total{guard="antonym"}"#,
        "sluice_cache_stored_total",
        "sluice_cache_saved_usd_total",
        "sluice_cache_entries",
    ] {
        match query(series.into()).await {
            Some(v) if !v["data"]["result"].as_array().is_none_or(Vec::is_empty) => {}
            other => failures.push(format!("no series {series}\n  -> {other:?}")),
        }
    }
    let mut checked = 0;
    for file in [
        "cost-and-savings.json",
        "quality.json",
        "routing.json",
        "latency-and-health.json",
    ] {
        let d: Value = serde_json::from_slice(
            &std::fs::read(deploy().join("grafana/dashboards").join(file)).unwrap(),
        )
        .unwrap();
        for panel in d["panels"].as_array().unwrap() {
            for t in panel["targets"].as_array().unwrap() {
                let expr = t["expr"]
                    .as_str()
                    .unwrap()
                    .replace("$__rate_interval", "1m")
                    .replace("$__range", "5m");
                checked += 1;
                match query(expr.clone()).await {
                    Some(v)
                        if v["status"] == "success"
                            && !v["data"]["result"].as_array().is_none_or(Vec::is_empty) => {}
                    other => failures.push(format!(
                        "{file} / {}: {expr}\n  -> {other:?}",
                        panel["title"]
                    )),
                }
            }
        }
    }
    assert!(checked >= 40, "only {checked} panel queries found");

    let rules_text = std::fs::read_to_string(deploy().join("prometheus/alerts.yml")).unwrap();
    let rules: Value = config::Config::builder()
        .add_source(config::File::from_str(
            &rules_text,
            config::FileFormat::Yaml,
        ))
        .build()
        .unwrap()
        .try_deserialize()
        .unwrap();
    // Every group's rules (sluice, sluice-quality).
    for group in rules["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            let expr = rule["expr"].as_str().unwrap().to_owned();
            match query(expr.clone()).await {
                Some(v) if v["status"] == "success" => {}
                other => failures.push(format!("alert {}: {expr}\n  -> {other:?}", rule["alert"])),
            }
        }
    }
    // Prometheus loaded the same file and evaluates it without errors.
    let r: Value = c
        .get(format!("{api}/rules"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for group in r["data"]["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            if rule["health"] == "err" {
                failures.push(format!(
                    "rule {} unhealthy: {}",
                    rule["name"], rule["lastError"]
                ));
            }
        }
    }
    let _ = prom.kill().await;
    assert!(
        failures.is_empty(),
        "{} failing queries:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn deploy_configs_validate() {
    let compose = deploy().join("compose/sluice.yaml");
    sluice_config::load(&sluice_config::Source::File(compose)).unwrap();
    let cm = std::fs::read_to_string(deploy().join("kubernetes/configmap.yaml")).unwrap();
    let v: Value = config::Config::builder()
        .add_source(config::File::from_str(&cm, config::FileFormat::Yaml))
        .build()
        .unwrap()
        .try_deserialize()
        .unwrap();
    let yaml = v["data"]["sluice.yaml"]
        .as_str()
        .expect("configmap carries sluice.yaml");
    sluice_config::load_str(yaml, "configmap.yaml").unwrap();
    // Grafana provisioning points at the dashboards the compose file mounts.
    let compose_file = std::fs::read_to_string(deploy().join("docker-compose.yml")).unwrap();
    assert!(compose_file.contains("./grafana/dashboards:/var/lib/grafana/dashboards/sluice"));
    let prov =
        std::fs::read_to_string(deploy().join("grafana/provisioning/dashboards/sluice.yaml"))
            .unwrap();
    assert!(prov.contains("/var/lib/grafana/dashboards/sluice"));
}

#[test]
fn readme_metrics_table_matches_the_registry() {
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let mut documented: Vec<String> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("| `sluice_"))
        .filter_map(|rest| rest.split('`').next())
        .map(|n| format!("sluice_{n}"))
        .collect();
    documented.sort();
    documented.dedup();
    let metrics = sluice_telemetry::Metrics::new().unwrap();
    let mut registered: Vec<String> = metrics.families().iter().map(|(n, _)| n.clone()).collect();
    registered.sort();
    assert_eq!(
        documented, registered,
        "README metrics table and registry differ"
    );
}
