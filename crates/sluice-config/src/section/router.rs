//! `router:` — the in-process embedding model that `learned` and `semantic` policies route
//! with, and the learned heads they score with.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::default_variant;
use crate::error::ConfigError;

/// `router:` — the in-process embedding model and the heads policies score with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRouter {
    pub embedder: RawEmbedder,
    /// Learned heads by name. `heads: {default: {path: config/router-head.onnx}}`
    #[serde(default)]
    pub heads: BTreeMap<String, RawHead>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEmbedder {
    /// Model folder: a name under the models directory (`SLUICE_MODELS_DIR`, default
    /// `./models`) or a path. `model: all-MiniLM-L6-v2`
    pub model: String,
    /// Hugging Face repository to fetch the folder from when it is missing (`sluice models
    /// pull`); for a static table, the repository of its `source`.
    /// `hub_id: sentence-transformers/all-MiniLM-L6-v2`
    #[serde(default)]
    pub hub_id: Option<String>,
    /// For a static token-embedding table (`model_type: sluice-static`): the transformer
    /// folder it is distilled from. `sluice models pull` fetches the source; the table is
    /// made from it by `scripts/distill_static.py` (which `scripts/setup.sh` runs) into the
    /// cache folder. `source: all-MiniLM-L6-v2`
    #[serde(default)]
    pub source: Option<String>,
    /// ONNX file in the folder (root or `onnx/`); ignored by static tables.
    /// `variant: model_int8.onnx`
    #[serde(default = "default_variant")]
    pub variant: String,
    /// Token budget per routed text; longer texts keep their head and tail. `max_tokens: 256`
    #[serde(default = "defaults::max_tokens")]
    pub max_tokens: usize,
    /// Also embed the system prompt. `include_system: false`
    #[serde(default)]
    pub include_system: bool,
    /// Also embed this many messages before the last user message. `history: 0`
    #[serde(default)]
    pub history: usize,
    /// Worker threads, each with its own ONNX session. `workers: 2`
    #[serde(default = "defaults::workers")]
    pub workers: usize,
    /// ONNX Runtime intra-op threads per worker. `threads: 1`
    #[serde(default = "defaults::threads")]
    pub threads: usize,
    /// Most requests embedded in one batch. `max_batch: 32`
    #[serde(default = "defaults::max_batch")]
    pub max_batch: usize,
    /// Longest a partly filled batch waits for more requests. `max_wait: 2ms`
    #[serde(default = "defaults::max_wait", with = "humantime_serde")]
    pub max_wait: Duration,
    /// Requests allowed to wait for a worker; beyond that the policy's `overflow` applies.
    /// `queue_depth: 256`
    #[serde(default = "defaults::queue_depth")]
    pub queue_depth: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHead {
    /// ONNX classifier file; relative paths are relative to the config file's folder.
    /// `path: router-head.onnx`
    pub path: String,
}

mod defaults {
    use std::time::Duration;

    pub fn max_tokens() -> usize {
        256
    }
    pub fn workers() -> usize {
        2
    }
    pub fn threads() -> usize {
        1
    }
    pub fn max_batch() -> usize {
        32
    }
    pub fn max_wait() -> Duration {
        Duration::from_millis(2)
    }
    pub fn queue_depth() -> usize {
        256
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RouterConfig {
    pub embedder: EmbedderConfig,
    /// Head name → ONNX file path as written (relative paths resolve against the config
    /// file's folder).
    pub heads: BTreeMap<String, String>,
}

/// Compared on reload: an unchanged embedder keeps its loaded sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedderConfig {
    pub model: String,
    pub hub_id: Option<String>,
    /// The transformer a static table is distilled from.
    pub source: Option<String>,
    pub variant: String,
    pub max_tokens: usize,
    pub include_system: bool,
    pub history: usize,
    pub workers: usize,
    pub threads: usize,
    pub max_batch: usize,
    pub max_wait: Duration,
    pub queue_depth: usize,
}

pub(crate) fn check_router(r: RawRouter, errors: &mut Vec<ConfigError>) -> RouterConfig {
    let e = &r.embedder;
    for (field, v) in [
        ("max_tokens", e.max_tokens),
        ("workers", e.workers),
        ("threads", e.threads),
        ("max_batch", e.max_batch),
        ("queue_depth", e.queue_depth),
    ] {
        if v == 0 {
            errors.push(ConfigError::new(
                format!("router.embedder.{field}"),
                "must be greater than 0",
            ));
        }
    }
    if e.max_tokens < 8 {
        errors.push(ConfigError::new(
            "router.embedder.max_tokens",
            "must be at least 8",
        ));
    }
    if e.model.is_empty() {
        errors.push(ConfigError::new(
            "router.embedder.model",
            "must name a model folder",
        ));
    }
    RouterConfig {
        embedder: EmbedderConfig {
            model: r.embedder.model,
            hub_id: r.embedder.hub_id,
            source: r.embedder.source,
            variant: r.embedder.variant,
            max_tokens: r.embedder.max_tokens,
            include_system: r.embedder.include_system,
            history: r.embedder.history,
            workers: r.embedder.workers,
            threads: r.embedder.threads,
            max_batch: r.embedder.max_batch,
            max_wait: r.embedder.max_wait,
            queue_depth: r.embedder.queue_depth,
        },
        heads: r.heads.into_iter().map(|(k, h)| (k, h.path)).collect(),
    }
}
