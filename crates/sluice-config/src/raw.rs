//! The YAML schema as written by operators. Every field is documented here; the README's
//! configuration reference follows this file.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

/// `server:` — how the gateway itself behaves.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    /// Largest request body accepted, in bytes; larger ones get 413. `max_body_bytes: 10485760`
    #[serde(default = "defaults::max_body_bytes")]
    pub max_body_bytes: u64,
    /// How long in-flight requests and streams may run on after SIGTERM. `shutdown_grace: 30s`
    #[serde(default = "defaults::shutdown_grace", with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// Quiet time after a config file change before it is reloaded, so an editor's several
    /// writes apply once. `reload_debounce: 1s`
    #[serde(default = "defaults::reload_debounce", with = "humantime_serde")]
    pub reload_debounce: Duration,
}

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            max_body_bytes: defaults::max_body_bytes(),
            shutdown_grace: defaults::shutdown_grace(),
            reload_debounce: defaults::reload_debounce(),
        }
    }
}

/// `providers.<name>:` — an OpenAI-compatible API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    /// Base URL including the version path. `base_url: https://api.openai.com/v1`
    pub base_url: String,
    /// Environment variable holding the API key, sent as `Authorization: Bearer …`; omit for
    /// upstreams that need none. `api_key_env: OPENAI_API_KEY`
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Extra headers sent with every request. `headers: {OpenAI-Organization: org-123}`
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// TCP + TLS connect timeout. `connect_timeout: 5s`
    #[serde(default = "defaults::connect_timeout", with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Non-streaming: the whole response. Streaming: until the first body bytes.
    /// `timeout: 600s`
    #[serde(default = "defaults::timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Streaming: longest silence between two chunks before the stream is cut.
    /// `stream_idle_timeout: 120s`
    #[serde(default = "defaults::stream_idle_timeout", with = "humantime_serde")]
    pub stream_idle_timeout: Duration,
    /// Retries after the first attempt on connect errors, timeouts, 429 and 5xx.
    /// `max_retries: 2`
    #[serde(default = "defaults::max_retries")]
    pub max_retries: u32,
    /// First backoff; doubles per retry, with jitter. `retry_initial_backoff: 250ms`
    #[serde(default = "defaults::retry_initial_backoff", with = "humantime_serde")]
    pub retry_initial_backoff: Duration,
    /// Cap on one backoff. A `retry-after` longer than this is not waited for: the request
    /// moves on to the policy's next target instead. `retry_max_backoff: 8s`
    #[serde(default = "defaults::retry_max_backoff", with = "humantime_serde")]
    pub retry_max_backoff: Duration,
    /// Speak HTTP/2 without TLS negotiation (h2c); over TLS, HTTP/2 is negotiated by ALPN
    /// anyway. `http2_prior_knowledge: false`
    #[serde(default)]
    pub http2_prior_knowledge: bool,
    /// Idle pooled connections kept per host. `pool_max_idle_per_host: 64`
    #[serde(default = "defaults::pool_max_idle_per_host")]
    pub pool_max_idle_per_host: usize,
    /// How long an idle pooled connection is kept. `pool_idle_timeout: 90s`
    #[serde(default = "defaults::pool_idle_timeout", with = "humantime_serde")]
    pub pool_idle_timeout: Duration,
}

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
}

/// `policies.<name>:` — a model name clients ask for (`auto`, or a real model's own name)
/// and where its requests go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// How the target is chosen. Only `static` exists so far. `strategy: static`
    #[serde(default = "defaults::strategy")]
    pub strategy: String,
    /// The model requests go to first. `target: gpt-4o-mini`
    pub target: String,
    /// Tried in order when the target fails (connect error, timeout, 429 or 5xx after
    /// retries). `fallbacks: [gpt-4o]`
    #[serde(default)]
    pub fallbacks: Vec<String>,
    /// The model whose price the savings figures compare against. `baseline: gpt-4o`
    #[serde(default)]
    pub baseline: Option<String>,
}

pub(crate) mod defaults {
    use std::time::Duration;

    pub fn max_body_bytes() -> u64 {
        10 * 1024 * 1024
    }
    pub fn shutdown_grace() -> Duration {
        Duration::from_secs(30)
    }
    pub fn reload_debounce() -> Duration {
        Duration::from_secs(1)
    }
    pub fn connect_timeout() -> Duration {
        Duration::from_secs(5)
    }
    pub fn timeout() -> Duration {
        Duration::from_secs(600)
    }
    pub fn stream_idle_timeout() -> Duration {
        Duration::from_secs(120)
    }
    pub fn max_retries() -> u32 {
        2
    }
    pub fn retry_initial_backoff() -> Duration {
        Duration::from_millis(250)
    }
    pub fn retry_max_backoff() -> Duration {
        Duration::from_secs(8)
    }
    pub fn pool_max_idle_per_host() -> usize {
        64
    }
    pub fn pool_idle_timeout() -> Duration {
        Duration::from_secs(90)
    }
    pub fn strategy() -> String {
        "static".into()
    }
}
