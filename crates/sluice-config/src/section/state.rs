//! `state:` — where rate-limit and budget counters live: `memory` (the default, this
//! process only) or a `redis://` / `rediss://` URL, so that every replica pointing at the
//! same Redis counts against the same limits. `state: redis://host:6379/0`

use serde::de::{self, Deserialize, Deserializer};
use serde_json::Value;

use crate::check::section;
use crate::error::ConfigError;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StateBackend {
    /// In this process only.
    #[default]
    Memory,
    /// Shared by every replica pointing at the same Redis (`redis://…`).
    Redis(String),
}

/// `memory`, or a Redis URL taken as written.
impl<'de> Deserialize<'de> for StateBackend {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) if s == "memory" => Ok(StateBackend::Memory),
            Value::String(s) if s.starts_with("redis://") || s.starts_with("rediss://") => {
                Ok(StateBackend::Redis(s))
            }
            other => Err(de::Error::custom(format!(
                "expected memory or a redis://host:port/db URL, got {other}"
            ))),
        }
    }
}

/// The `state` section; absent or empty means `memory`.
pub(crate) fn check_state(v: Option<&Value>, errors: &mut Vec<ConfigError>) -> StateBackend {
    match v {
        None | Some(Value::Null) => StateBackend::Memory,
        Some(v) => section(v, "state", errors).unwrap_or_default(),
    }
}
