//! Gateway API keys (virtual keys): who is calling, and what they may ask for.
//!
//! Only SHA-256 hashes of keys are in the config; a presented key is hashed and looked up,
//! so the plain key never exists at rest and lookups compare digests, not secrets.

use std::collections::HashMap;
use std::sync::Arc;

use http::{HeaderMap, StatusCode};
use sha2::{Digest, Sha256};
use sluice_api::ErrorBody;
use sluice_config::{Config, KeyConfig};

use crate::error::ApiError;

/// The key a request authenticated with.
#[derive(Debug)]
pub struct Caller {
    pub key: KeyConfig,
}

/// Keys by hash, rebuilt with the runtime on every reload.
#[derive(Debug, Default)]
pub struct KeyRing {
    by_hash: HashMap<[u8; 32], Arc<Caller>>,
}

pub fn hash_key(plain: &str) -> [u8; 32] {
    Sha256::digest(plain.as_bytes()).into()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl KeyRing {
    pub fn new(config: &Config) -> KeyRing {
        KeyRing {
            by_hash: config
                .keys
                .values()
                .map(|k| (k.hash, Arc::new(Caller { key: k.clone() })))
                .collect(),
        }
    }

    /// Every key, by id.
    pub fn callers(&self) -> Vec<Arc<Caller>> {
        let mut all: Vec<_> = self.by_hash.values().cloned().collect();
        all.sort_by(|a, b| a.key.id.cmp(&b.key.id));
        all
    }

    pub fn is_enabled(&self) -> bool {
        !self.by_hash.is_empty()
    }

    /// `Ok(None)` when no keys are configured (authentication off).
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Option<Arc<Caller>>, AuthFailure> {
        if !self.is_enabled() {
            return Ok(None);
        }
        let presented = bearer(headers).ok_or(AuthFailure::Missing)?;
        self.by_hash
            .get(&hash_key(presented))
            .cloned()
            .map(Some)
            .ok_or(AuthFailure::Invalid)
    }
}

/// The token of `Authorization: Bearer <token>` (the scheme is case-insensitive).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    Missing,
    Invalid,
}

impl AuthFailure {
    pub fn reason(self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing",
            AuthFailure::Invalid => "invalid",
        }
    }

    /// 401 with OpenAI's wording and codes; never echoes the presented key.
    pub fn to_error(self) -> ApiError {
        let message = match self {
            AuthFailure::Missing => "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            AuthFailure::Invalid => "Incorrect API key provided. Use a key issued for this gateway (sluice keys create).",
        };
        let mut e = ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorBody::invalid_request(message, None, Some("invalid_api_key")),
        );
        e.headers.insert(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Bearer"),
        );
        e
    }
}

impl Caller {
    /// Whether the key may use `requested` (a policy or model name).
    pub fn may_use(&self, requested: &str) -> bool {
        self.key.allow.is_empty() || self.key.allow.iter().any(|a| a == requested)
    }

    /// Whether a request of this key may end up on model `model`, whatever chose it (policy,
    /// header override, budget downgrade, overflow): a model its allow list names, or one an
    /// allowed policy routes to by its own decision. A client's `x-sluice-target` header or
    /// a budget rule never widens what a key may spend.
    pub fn may_reach(&self, config: &sluice_config::Config, model: &str) -> bool {
        self.key.allow.is_empty()
            || self.key.allow.iter().any(|a| {
                a == model
                    || config
                        .policies
                        .get(a)
                        .is_some_and(|p| p.own_targets().any(|t| t == model))
            })
    }

    /// The final target `model`, chosen by `chosen_by`, is beyond this key's permissions.
    pub fn forbidden_target(&self, model: &str, chosen_by: &str) -> ApiError {
        self.not_allowed(&format!("'{model}' (chosen by {chosen_by})"))
    }

    pub fn forbidden(&self, requested: &str) -> ApiError {
        self.not_allowed(&format!("'{requested}'"))
    }

    fn not_allowed(&self, what: &str) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorBody::invalid_request(
                format!(
                    "This API key may not use {what}. Allowed: {}.",
                    self.key.allow.join(", ")
                ),
                Some("model"),
                Some("model_not_allowed"),
            ),
        )
    }
}

/// A new random key: `sk-sluice-` and 48 hex digits (192 bits).
pub fn generate_key() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("sk-sluice-{}", hex(&bytes))
}

/// Constant-time equality, for the admin key (one secret, compared directly).
pub fn same_secret(a: &str, b: &str) -> bool {
    let (ha, hb) = (hash_key(a), hash_key(b));
    ha.iter()
        .zip(hb.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing_and_hashing() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert("authorization", "Bearer sk-1".parse().unwrap());
        assert_eq!(bearer(&h), Some("sk-1"));
        h.insert("authorization", "bearer   sk-2 ".parse().unwrap());
        assert_eq!(bearer(&h), Some("sk-2"));
        h.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
        assert_eq!(
            hex(&hash_key("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let k = generate_key();
        assert!(k.starts_with("sk-sluice-") && k.len() == 10 + 48);
        assert_ne!(k, generate_key());
        assert!(same_secret("x", "x") && !same_secret("x", "y"));
    }
}
