//! `policies.<name>.cache` — the guarded response cache: an exact match on the normalised
//! request, then the nearest cached prompt by routing embedding above `similarity`, with
//! guards that refuse a semantic match whose prompts differ in negation, antonyms, numbers
//! or named entities.

use std::time::Duration;

use serde::Deserialize;

use super::Word;
use crate::error::ConfigError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCache {
    /// How long an answer is served from the cache. `ttl: 10m`
    #[serde(default = "defaults::ttl", with = "humantime_serde")]
    pub ttl: Duration,
    /// Most answers kept for this policy (per gateway process; per Redis with `state:
    /// redis://…`, where entries also expire by `ttl`). `max_entries: 10000`
    #[serde(default = "defaults::max_entries")]
    pub max_entries: usize,
    /// Lowest cosine similarity between routing embeddings for a semantic hit; 1 turns
    /// semantic matching off (exact matches only). `similarity: 0.85`
    #[serde(default = "defaults::similarity")]
    pub similarity: f32,
    /// Who shares cached answers: `key` (the API key that asked), `tenant`, or `global`.
    /// `scope: key`
    #[serde(default)]
    pub scope: Word<CacheScope>,
    /// Requests with a higher `temperature` (absent means 1, OpenAI's default) are neither
    /// served from nor stored in the cache: sampling at temperature asks for a fresh
    /// answer. `max_temperature: 0`
    #[serde(default)]
    pub max_temperature: f64,
}

/// `policies.<name>.cache.scope`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheScope {
    #[default]
    Key,
    Tenant,
    Global,
}

impl CacheScope {
    pub fn name(self) -> &'static str {
        match self {
            CacheScope::Key => "key",
            CacheScope::Tenant => "tenant",
            CacheScope::Global => "global",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CacheConfig {
    pub ttl: Duration,
    pub max_entries: usize,
    pub similarity: f32,
    pub scope: CacheScope,
    pub max_temperature: f64,
}

mod defaults {
    use std::time::Duration;

    pub fn ttl() -> Duration {
        Duration::from_secs(600)
    }
    pub fn max_entries() -> usize {
        10_000
    }
    pub fn similarity() -> f32 {
        0.85
    }
}

pub(crate) fn check_cache(
    raw: RawCache,
    path: &str,
    errors: &mut Vec<ConfigError>,
) -> Option<CacheConfig> {
    let before = errors.len();
    if raw.ttl < Duration::from_secs(1) {
        errors.push(ConfigError::new(
            format!("{path}.ttl"),
            "must be at least 1s",
        ));
    }
    if raw.max_entries == 0 {
        errors.push(ConfigError::new(
            format!("{path}.max_entries"),
            "must be greater than 0",
        ));
    }
    if !(raw.similarity > 0.0 && raw.similarity <= 1.0) {
        errors.push(ConfigError::new(
            format!("{path}.similarity"),
            format!(
                "expected a cosine similarity in (0, 1], got {}",
                raw.similarity
            ),
        ));
    }
    if !(raw.max_temperature.is_finite() && raw.max_temperature >= 0.0) {
        errors.push(ConfigError::new(
            format!("{path}.max_temperature"),
            format!(
                "expected a temperature of 0 or more, got {}",
                raw.max_temperature
            ),
        ));
    }
    let scope = raw.scope.check(format!("{path}.scope"), errors);
    (errors.len() == before).then(|| CacheConfig {
        ttl: raw.ttl,
        max_entries: raw.max_entries,
        similarity: raw.similarity,
        scope: scope.unwrap_or_default(),
        max_temperature: raw.max_temperature,
    })
}
