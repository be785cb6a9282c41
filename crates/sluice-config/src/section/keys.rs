//! `keys:` — gateway API keys (virtual keys): who may call, which policies and models each
//! key may reach, and its rate limits and spending budget.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::models::ModelConfig;
use super::policies::PolicyConfig;
use super::Word;
use crate::check::one_of;
use crate::error::ConfigError;

/// `keys.<id>:` — a gateway API key (virtual key). Clients send the plain key as
/// `Authorization: Bearer …`; only its SHA-256 is stored here (`sluice keys create` prints
/// both once). When any key is configured, requests without a valid one get 401.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    /// `sha256:` and 64 hex digits. `hash: sha256:9f86d0…`
    pub hash: String,
    /// Who the key belongs to: the `tenant` label of the per-tenant metrics.
    /// `tenant: search-team`
    pub tenant: String,
    /// Policies and models the key may ask for; empty: all. `allow: [auto, gpt-4o-mini]`
    #[serde(default)]
    pub allow: Vec<String>,
    /// `rate_limit: {requests_per_minute: 600, tokens_per_minute: 200000}`
    #[serde(default)]
    pub rate_limit: Option<RawRateLimit>,
    /// `budget: {usd: 50, period: month, on_exceeded: downgrade, downgrade_to: smollm2-135m}`
    #[serde(default)]
    pub budget: Option<RawBudget>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    #[serde(default)]
    pub requests_per_minute: Option<u64>,
    /// Prompt + completion tokens per minute, counted when requests end.
    #[serde(default)]
    pub tokens_per_minute: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBudget {
    /// USD per period, from the same cost accounting as the metrics.
    pub usd: f64,
    /// `day` or `month` (UTC calendar periods).
    #[serde(default)]
    pub period: Word<BudgetPeriod>,
    /// `reject` (429) or `downgrade` (every request goes to `downgrade_to`).
    #[serde(default)]
    pub on_exceeded: Word<OnExceeded>,
    #[serde(default)]
    pub downgrade_to: Option<String>,
}

/// `keys.<id>.budget.on_exceeded`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnExceeded {
    #[default]
    Reject,
    Downgrade,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KeyConfig {
    pub id: String,
    /// SHA-256 of the plain key.
    pub hash: [u8; 32],
    pub tenant: String,
    /// Empty: every policy and model.
    pub allow: Vec<String>,
    pub requests_per_minute: Option<u64>,
    pub tokens_per_minute: Option<u64>,
    pub budget: Option<Budget>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    pub usd: f64,
    pub period: BudgetPeriod,
    /// `Some(model)`: downgrade to it when exceeded; `None`: refuse with 429.
    pub downgrade_to: Option<String>,
}

/// `keys.<id>.budget.period`: UTC calendar periods.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetPeriod {
    Day,
    #[default]
    Month,
}

/// Checks one key against the checked models and policies it may be allowed to reach.
pub(crate) fn check_key(
    id: &str,
    k: RawKey,
    models: &BTreeMap<String, ModelConfig>,
    policies: &BTreeMap<String, PolicyConfig>,
    errors: &mut Vec<ConfigError>,
) -> Option<KeyConfig> {
    let before = errors.len();
    let path = format!("keys.{id}");
    let hash = k
        .hash
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64)
        .and_then(|h| {
            let mut out = [0u8; 32];
            for (i, b) in out.iter_mut().enumerate() {
                *b = u8::from_str_radix(h.get(2 * i..2 * i + 2)?, 16).ok()?;
            }
            Some(out)
        });
    if hash.is_none() {
        errors.push(ConfigError::new(
            format!("{path}.hash"),
            "expected sha256: followed by 64 hex digits (as `sluice keys create` prints)",
        ));
    }
    if k.tenant.is_empty() {
        errors.push(ConfigError::new(
            format!("{path}.tenant"),
            "must not be empty",
        ));
    }
    for (i, name) in k.allow.iter().enumerate() {
        if !models.contains_key(name) && !policies.contains_key(name) {
            errors.push(ConfigError::new(
                format!("{path}.allow[{i}]"),
                format!("'{name}' is neither a policy nor a model"),
            ));
        }
    }
    let rl = k.rate_limit.unwrap_or_default();
    let budget = k.budget.and_then(|b| {
        if !(b.usd.is_finite() && b.usd >= 0.0) {
            errors.push(ConfigError::new(
                format!("{path}.budget.usd"),
                format!("expected a non-negative amount of USD, got {}", b.usd),
            ));
        }
        let period = b.period.check(format!("{path}.budget.period"), errors)?;
        let downgrade_to = match b
            .on_exceeded
            .check(format!("{path}.budget.on_exceeded"), errors)?
        {
            OnExceeded::Reject => None,
            OnExceeded::Downgrade => match b.downgrade_to {
                Some(m) if models.contains_key(&m) => Some(m),
                Some(m) => {
                    errors.push(ConfigError::new(
                        format!("{path}.budget.downgrade_to"),
                        format!("unknown model '{m}'{}", one_of(models.keys())),
                    ));
                    None
                }
                None => {
                    errors.push(ConfigError::new(
                        format!("{path}.budget.downgrade_to"),
                        "required with on_exceeded: downgrade (usually the local model)",
                    ));
                    None
                }
            },
        };
        Some(Budget {
            usd: b.usd,
            period,
            downgrade_to,
        })
    });
    (errors.len() == before).then(|| KeyConfig {
        id: id.to_owned(),
        hash: hash.unwrap_or_default(),
        tenant: k.tenant,
        allow: k.allow,
        requests_per_minute: rl.requests_per_minute,
        tokens_per_minute: rl.tokens_per_minute,
        budget,
    })
}
