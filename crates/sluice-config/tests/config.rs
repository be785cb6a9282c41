#![allow(clippy::unwrap_used)]
use sluice_config::{load, load_str, Source};

#[test]
fn embedded_default_is_valid() {
    let cfg = load(&Source::Embedded).expect("default config must validate");
    assert_eq!(cfg.policies["auto"].target, "gpt-4o-mini");
    assert!(cfg.models["gpt-4o"].pricing.is_some());
    let names: Vec<_> = cfg.exposed_names().collect();
    assert_eq!(names[0], ("auto", true));
}

#[test]
fn every_error_is_reported_with_its_path() {
    let yaml = r#"
server:
  max_body_bytes: "lots"
bogus: 1
providers:
  a:
    base_url: ftp://nope
    colour: blue
  b:
    base_url: http://127.0.0.1:9/v1
    headers: {"bad header": x}
models:
  m1: { provider: a }
  m2: { provider: nowhere }
  m3: { provider: b, pricing: { input: -1, output: 1 } }
policies:
  auto:
    target: m9
    fallbacks: [m2, m2]
    baseline: zzz
    strategy: magic
"#;
    let err = load_str(yaml, "test.yaml").unwrap_err();
    let paths: Vec<&str> = err.errors.iter().map(|e| e.path.as_str()).collect();
    for want in [
        "bogus",
        "server.max_body_bytes",
        "providers.a.colour",
        "providers.b.headers.bad header",
        "models.m2.provider",
        "models.m3.pricing.input",
        "policies.auto.strategy",
        "policies.auto.target",
        "policies.auto.fallbacks[1]",
        "policies.auto.baseline",
    ] {
        assert!(paths.contains(&want), "missing error at {want}: {err}");
    }
    // m1 names provider `a`, which exists but is broken: reported once, at the provider.
    assert!(!paths.contains(&"models.m1.provider"), "{err}");
    assert!(err
        .to_string()
        .starts_with(&format!("{} errors in test.yaml", err.errors.len())));
}

#[test]
fn header_names_keep_their_case_and_durations_parse() {
    let yaml = r#"
providers:
  p:
    base_url: http://127.0.0.1:1/v1/
    headers: { OpenAI-Organization: org-1 }
    timeout: 1m 30s
    retry_initial_backoff: 10ms
models:
  Model-A: { provider: p, upstream_model: real-a }
policies:
  Auto: { target: Model-A }
"#;
    let cfg = load_str(yaml, "t").unwrap();
    let p = &cfg.providers["p"];
    assert_eq!(p.base_url, "http://127.0.0.1:1/v1");
    assert_eq!(p.headers[0].0.to_ascii_lowercase(), "openai-organization");
    assert_eq!(p.timeout.as_secs(), 90);
    assert!(
        cfg.models.contains_key("Model-A"),
        "{:?}",
        cfg.models.keys()
    );
    assert!(cfg.policies.contains_key("Auto"));
}

#[test]
fn env_overrides_apply() {
    // Tests in this binary share the process environment and run in parallel: override a
    // field no other test looks at.
    std::env::set_var("SLUICE__SERVER__SHUTDOWN_GRACE", "7s");
    let cfg = load(&Source::Embedded).unwrap();
    std::env::remove_var("SLUICE__SERVER__SHUTDOWN_GRACE");
    assert_eq!(cfg.server.shutdown_grace.as_secs(), 7);
}

#[test]
fn unreadable_file_is_one_clear_error() {
    let err = load(&Source::File("/nonexistent/sluice.yaml".into())).unwrap_err();
    assert_eq!(err.errors.len(), 1);
    assert!(err.to_string().contains("cannot read file"), "{err}");
}

#[tokio::test]
async fn watch_sees_rename_into_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.yaml");
    std::fs::write(&path, "a: 1").unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    let _w = sluice_config::watch::watch_file(&path, tx).unwrap();
    let tmp = dir.path().join(".sluice.yaml.tmp");
    std::fs::write(&tmp, "a: 2").unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    let got = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        sluice_config::watch::debounced(&mut rx, std::time::Duration::from_millis(50)),
    )
    .await;
    assert_eq!(got, Ok(true));
}
