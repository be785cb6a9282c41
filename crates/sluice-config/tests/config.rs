#![allow(clippy::unwrap_used)]
use sluice_config::{
    load, load_str, Aggregate, BudgetPeriod, Overflow, Source, StateBackend, Strategy,
};

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

/// A valid config with a placeholder `{P}` in the upstream provider, `{L}` in the policy
/// and `{K}` in the key's budget, and nothing else set, so every fixed-word field is at
/// its default.
const WORDS: &str = r#"
providers:
  p:
    base_url: "http://127.0.0.1:1/v1"
    {P}
  l: { kind: local, model: smol }
models:
  big: { provider: p }
  small: { provider: l }
router:
  embedder: { model: mini }
  heads: { default: { path: h.onnx } }
policies:
  auto:
    target: small
    strong: big
    {A}
  near:
    strategy: semantic
    target: small
    routes: [{ name: r, target: big, examples: [hi] }]
keys:
  k:
    hash: "sha256:abababababababababababababababababababababababababababababababab"
    tenant: t
    budget: { usd: 1, {K} }
"#;

fn words(p: &str, a: &str, k: &str) -> String {
    WORDS.replace("{P}", p).replace("{A}", a).replace("{K}", k)
}

#[test]
fn absent_words_take_their_defaults() {
    let cfg = load_str(&words("", "", ""), "t").unwrap();
    assert!(cfg.providers["p"].drain_on_disconnect);
    assert_eq!(cfg.locals["l"].model, "smol");
    let auto = &cfg.policies["auto"];
    assert_eq!(auto.strategy, Strategy::Static);
    assert_eq!(auto.overflow, Overflow::Strong);
    assert!(matches!(
        cfg.policies["near"].strategy,
        Strategy::Semantic {
            aggregate: Aggregate::Max,
            ..
        }
    ));
    let budget = cfg.keys["k"].budget.as_ref().unwrap();
    assert_eq!(budget.period, BudgetPeriod::Month);
    assert_eq!(budget.downgrade_to, None, "on_exceeded defaults to reject");
    assert_eq!(cfg.state, StateBackend::Memory);
}

#[test]
fn every_word_is_read() {
    let yaml = words(
        "kind: upstream\n    on_client_disconnect: cancel",
        "strategy: learned\n    threshold: 0.5\n    overflow: reject",
        "period: day, on_exceeded: downgrade, downgrade_to: small",
    )
    .replace(
        "strategy: semantic",
        "strategy: semantic\n    aggregate: centroid",
    ) + "state: rediss://cache:6380/1\n";
    let cfg = load_str(&yaml, "t").unwrap();
    assert!(!cfg.providers["p"].drain_on_disconnect);
    let auto = &cfg.policies["auto"];
    assert_eq!(auto.overflow, Overflow::Reject);
    assert_eq!(
        auto.strategy,
        Strategy::Learned {
            threshold: 0.5,
            head: "default".into()
        }
    );
    assert!(matches!(
        cfg.policies["near"].strategy,
        Strategy::Semantic {
            aggregate: Aggregate::Centroid,
            ..
        }
    ));
    let budget = cfg.keys["k"].budget.as_ref().unwrap();
    assert_eq!(budget.period, BudgetPeriod::Day);
    assert_eq!(budget.downgrade_to.as_deref(), Some("small"));
    assert_eq!(
        cfg.state,
        StateBackend::Redis("rediss://cache:6380/1".into())
    );
}

/// A wrong word is reported at its path with the accepted words, next to the entry's other
/// mistakes; a value of the wrong type fails its entry like any other type error.
#[test]
fn wrong_words_name_their_path_and_the_accepted_ones() {
    let yaml = words(
        "on_client_disconnect: linger\n    timeout: 0s",
        "strategy: magic\n    overflow: spill\n    fallbacks: [nowhere]",
        "period: week",
    )
    .replace("kind: local", "kind: remote")
    .replace(
        "strategy: semantic",
        "strategy: semantic\n    aggregate: mean",
    ) + "state: postgres://db\n";
    let err = load_str(&yaml, "t").unwrap_err();
    let found = |path: &str| {
        err.errors
            .iter()
            .find(|e| e.path == path)
            .unwrap_or_else(|| panic!("no error at {path}: {err}"))
            .message
            .clone()
    };
    for (path, words) in [
        ("providers.p.on_client_disconnect", "`drain` or `cancel`"),
        (
            "providers.l.kind",
            "one of `upstream`, `anthropic`, `local`",
        ),
        (
            "policies.auto.strategy",
            "one of `static`, `learned`, `semantic`",
        ),
        ("policies.auto.overflow", "`strong` or `reject`"),
        ("policies.near.aggregate", "`max` or `centroid`"),
        ("keys.k.budget.period", "`day` or `month`"),
    ] {
        let message = found(path);
        assert!(message.contains(words), "{path}: {message}");
        assert!(message.starts_with("unknown variant"), "{path}: {message}");
    }
    assert!(found("state").contains("expected memory or a redis://host:port/db URL"));
    // Reported beside the wrong words, not hidden by them.
    found("providers.p.timeout");
    found("policies.auto.fallbacks[0]");

    let err = load_str(
        &words("", "overflow: [strong]\n    baseline: nowhere", ""),
        "t",
    )
    .unwrap_err();
    assert_eq!(err.errors.len(), 1, "{err}");
    assert_eq!(err.errors[0].path, "policies.auto.overflow");
    assert_eq!(
        err.errors[0].message,
        r#"expected `strong` or `reject`, got ["strong"]"#
    );
}

#[test]
fn rule_regexes_are_compiled_at_load_and_compared_by_source() {
    let yaml = words(
        "",
        r#"rules: { patterns: [{ regex: "(?i)\\bprove\\b", target: big }] }"#,
        "",
    );
    let a = load_str(&yaml, "t").unwrap();
    let rule = &a.policies["auto"].rules.patterns[0];
    assert_eq!(rule.regex.as_str(), r"(?i)\bprove\b");
    assert_eq!(rule.target, "big");
    assert!(rule.regex.regex().is_match("Please PROVE it"));
    assert!(!rule.regex.regex().is_match("improve"));
    assert_eq!(
        a,
        load_str(&yaml, "t").unwrap(),
        "reload sees an equal config"
    );
    assert_ne!(a, load_str(&yaml.replace("prove", "show"), "t").unwrap());

    let err = load_str(
        &words(
            "",
            r#"rules: { patterns: [{ regex: "(open", target: big }] }"#,
            "",
        ),
        "t",
    )
    .unwrap_err();
    assert_eq!(err.errors.len(), 1, "{err}");
    assert_eq!(err.errors[0].path, "policies.auto.rules.patterns[0].regex");
    assert!(err.errors[0].message.starts_with("invalid regex:"), "{err}");
}
