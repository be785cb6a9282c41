//! Which models a requested `model` name maps to, and the reason given in
//! `x-sluice-reason`. A pure function of the config and the name, so it is easy to test and
//! to explain; the router issue extends it with learned decisions.

use sluice_config::{Config, ModelConfig, PolicyConfig};

/// The models to try, in order, for one request.
#[derive(Debug)]
pub struct Route<'a> {
    /// The policy that matched, or `None` when a configured model was asked for directly.
    pub policy: Option<&'a PolicyConfig>,
    /// Label for metrics and logs: the policy name, or the model name for direct requests.
    pub label: &'a str,
    pub chain: Vec<&'a ModelConfig>,
    pub reason: String,
}

/// Resolves a requested name: a policy of that name first, then a model of that name.
pub fn resolve<'a>(config: &'a Config, requested: &str) -> Option<Route<'a>> {
    if let Some((label, policy)) = config.policies.get_key_value(requested) {
        let chain = policy
            .chain()
            .filter_map(|m| config.models.get(m))
            .collect();
        return Some(Route {
            policy: Some(policy),
            label,
            chain,
            reason: format!("policy {label}: static target {}", policy.target),
        });
    }
    resolve_model(config, requested)
}

/// Resolves a model name only (a budget's `downgrade_to`, say), never a policy.
pub fn resolve_model<'a>(config: &'a Config, requested: &str) -> Option<Route<'a>> {
    let (label, model) = config.models.get_key_value(requested)?;
    Some(Route {
        policy: None,
        label,
        chain: vec![model],
        reason: format!("direct: model {label} requested"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = r#"
providers: { p: { base_url: "http://127.0.0.1:1/v1" } }
models:
  small: { provider: p }
  big: { provider: p, upstream_model: big-2024 }
policies:
  auto: { target: small, fallbacks: [big] }
  big: { target: big }
"#;

    #[test]
    fn policy_then_model() {
        let cfg = sluice_config::load_str(YAML, "t").unwrap();
        let r = resolve(&cfg, "auto").unwrap();
        assert_eq!(r.label, "auto");
        let names: Vec<_> = r.chain.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["small", "big"]);
        assert_eq!(r.reason, "policy auto: static target small");

        // A policy named like a model wins over the model.
        assert!(resolve(&cfg, "big").unwrap().policy.is_some());

        let r = resolve(&cfg, "small").unwrap();
        assert!(r.policy.is_none());
        assert_eq!(r.chain.len(), 1);
        assert_eq!(r.reason, "direct: model small requested");

        assert!(resolve(&cfg, "gpt-5").is_none());
    }
}
