//! `models:` — the concrete models policies send requests to, each served by a provider,
//! with its price (for cost accounting and budgets), context window and capabilities (for
//! routing rules).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use super::providers::{LocalConfig, ProviderConfig};
use crate::check::one_of;
use crate::error::ConfigError;

/// `models.<name>:` — a concrete model a policy can send requests to. The key is the name
/// clients and policies use.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    /// Which `providers` entry serves it. `provider: openai`
    pub provider: String,
    /// Name sent upstream, when it differs from the key. `upstream_model: gpt-4o-2024-08-06`
    #[serde(default)]
    pub upstream_model: Option<String>,
    /// USD per million tokens. `pricing: {input: 2.5, output: 10.0, cached_input: 1.25}`
    #[serde(default)]
    pub pricing: Option<RawPricing>,
    /// Longest prompt + completion the model accepts, in tokens; routing rules send longer
    /// requests elsewhere. `context_window: 8192`
    #[serde(default)]
    pub context_window: Option<u64>,
    /// Request features the model can serve; routing rules send requests needing a missing
    /// one to the policy's `strong` model. All true by default for upstream models, all
    /// false for local ones. `supports: {tools: false, images: false, json_schema: false}`
    #[serde(default)]
    pub supports: RawSupports,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSupports {
    #[serde(default)]
    pub tools: Option<bool>,
    #[serde(default)]
    pub images: Option<bool>,
    #[serde(default)]
    pub json_schema: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPricing {
    /// USD per million prompt tokens.
    pub input: f64,
    /// USD per million completion tokens.
    pub output: f64,
    /// USD per million cached prompt tokens; defaults to `input`.
    #[serde(default)]
    pub cached_input: Option<f64>,
    /// USD per million prompt tokens written to the provider's prompt cache (Anthropic
    /// bills them above `input`); defaults to `input`.
    #[serde(default)]
    pub cache_write: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    pub name: String,
    pub provider: String,
    /// The name sent upstream in the request's `model` field.
    pub upstream_model: String,
    pub pricing: Option<Pricing>,
    pub context_window: Option<u64>,
    pub supports: Supports,
    /// Served by a `kind: local` provider.
    pub local: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Supports {
    pub tools: bool,
    pub images: bool,
    pub json_schema: bool,
}

/// USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pricing {
    pub input: f64,
    pub output: f64,
    pub cached_input: f64,
    pub cache_write: f64,
}

/// Checks one model against the checked providers. A model naming a provider that exists
/// but is broken is not reported again: the provider's own error says what to fix.
pub(crate) fn check_model(
    name: String,
    m: RawModel,
    providers: &BTreeMap<String, Arc<ProviderConfig>>,
    locals: &BTreeMap<String, Arc<LocalConfig>>,
    errors: &mut Vec<ConfigError>,
) -> ModelConfig {
    let path = format!("models.{name}");
    let local = locals.contains_key(&m.provider);
    if !providers.contains_key(&m.provider)
        && !local
        && !errors
            .iter()
            .any(|e| e.path.starts_with(&format!("providers.{}", m.provider)))
    {
        errors.push(ConfigError::new(
            format!("{path}.provider"),
            format!(
                "unknown provider '{}'{}",
                m.provider,
                one_of(providers.keys().chain(locals.keys()))
            ),
        ));
    }
    let pricing = m.pricing.map(|p| {
        let cached_input = p.cached_input.unwrap_or(p.input);
        let cache_write = p.cache_write.unwrap_or(p.input);
        for (field, v) in [
            ("input", p.input),
            ("output", p.output),
            ("cached_input", cached_input),
            ("cache_write", cache_write),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                errors.push(ConfigError::new(
                    format!("{path}.pricing.{field}"),
                    format!("expected a non-negative price in USD per million tokens, got {v}"),
                ));
            }
        }
        Pricing {
            input: p.input,
            output: p.output,
            cached_input,
            cache_write,
        }
    });
    let upstream_model = m.upstream_model.unwrap_or_else(|| name.clone());
    if upstream_model.is_empty() {
        errors.push(ConfigError::new(
            format!("{path}.upstream_model"),
            "must not be empty",
        ));
    }
    if m.context_window == Some(0) {
        errors.push(ConfigError::new(
            format!("{path}.context_window"),
            "must be greater than 0",
        ));
    }
    // A local model cannot call tools, see images or follow a JSON schema (its
    // decoding is unconstrained); an operator may still claim otherwise.
    let supports = Supports {
        tools: m.supports.tools.unwrap_or(!local),
        images: m.supports.images.unwrap_or(!local),
        json_schema: m.supports.json_schema.unwrap_or(!local),
    };
    ModelConfig {
        name,
        provider: m.provider,
        upstream_model,
        pricing,
        context_window: m.context_window,
        supports,
        local,
    }
}
