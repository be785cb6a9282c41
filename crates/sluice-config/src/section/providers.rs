//! `providers:` — where requests are served: OpenAI-compatible HTTP APIs (`kind: upstream`,
//! the default), Anthropic's Messages API (`kind: anthropic`: the same fields plus
//! `anthropic_version`) and decoder models run in-process (`kind: local`). The kinds take
//! different fields, so `kind` is read first and the rest of the entry is checked against
//! the matching struct.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::{default_variant, Word};
use crate::check::{entries, section};
use crate::error::ConfigError;

/// `providers.<name>.kind`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// An OpenAI-compatible API: a [`RawProvider`].
    #[default]
    Upstream,
    /// Anthropic's Messages API: a [`RawProvider`] plus `anthropic_version`.
    Anthropic,
    /// An in-process model: a [`RawLocalProvider`].
    Local,
}

/// The wire protocol of an HTTP provider.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Protocol {
    /// `POST {base_url}/chat/completions` with `Authorization: Bearer`.
    #[default]
    OpenAi,
    /// `POST {base_url}/messages` with `x-api-key` and this `anthropic-version`.
    Anthropic { version: String },
}

/// `anthropic-version` when a `kind: anthropic` provider names none.
pub const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";

/// `providers.<name>:` — an OpenAI-compatible API (`kind: upstream`, the default). A
/// provider with `kind: local` is a [`RawLocalProvider`] instead.
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
    /// When a streaming client disconnects: `drain` keeps reading the upstream to the end so
    /// the usage block (the exact cost) arrives; `cancel` closes the upstream at once, which
    /// may stop generation early, and estimates the tokens from what was streamed.
    /// `on_client_disconnect: drain`
    #[serde(default)]
    pub on_client_disconnect: Word<OnClientDisconnect>,
    /// Circuit breaker: after this many requests in a row failed on this provider (after
    /// its retries), it is skipped for `breaker_cooldown` and the fallback serves; then one
    /// trial request decides. 0 disables. `breaker_failures: 5`
    #[serde(default = "defaults::breaker_failures")]
    pub breaker_failures: u32,
    /// `breaker_cooldown: 30s`
    #[serde(default = "defaults::breaker_cooldown", with = "humantime_serde")]
    pub breaker_cooldown: Duration,
    /// Idle pooled connections kept per host. `pool_max_idle_per_host: 64`
    #[serde(default = "defaults::pool_max_idle_per_host")]
    pub pool_max_idle_per_host: usize,
    /// How long an idle pooled connection is kept. `pool_idle_timeout: 90s`
    #[serde(default = "defaults::pool_idle_timeout", with = "humantime_serde")]
    pub pool_idle_timeout: Duration,
}

/// `providers.<name>.on_client_disconnect`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnClientDisconnect {
    #[default]
    Drain,
    Cancel,
}

/// `providers.<name>:` with `kind: local` — a decoder model run in-process by ONNX Runtime
/// (Hugging Face / Optimum ONNX layout). Every model entry that names this provider is
/// served by it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLocalProvider {
    /// Model folder: a name under the models directory (`SLUICE_MODELS_DIR`, default
    /// `./models`, or the cache folder beside it for derived files) or a path.
    /// `model: smollm2-135m-instruct`
    pub model: String,
    /// Hugging Face repository `sluice models pull` fetches the folder from.
    /// `hub_id: HuggingFaceTB/SmolLM2-135M-Instruct`
    #[serde(default)]
    pub hub_id: Option<String>,
    /// ONNX file in the folder (root or `onnx/`). `variant: model_int8.onnx`
    #[serde(default = "default_variant")]
    pub variant: String,
    /// Folder served instead when `model` is missing (with a warning at start-up and in
    /// `/v1/models`). Without it, a missing model stops start-up. Make it a real model (the
    /// same folder with another file, say): `fallback: smollm2-135m-instruct`
    #[serde(default)]
    pub fallback: Option<String>,
    /// ONNX file of the fallback folder. `fallback_variant: model.onnx`
    #[serde(default = "default_variant")]
    pub fallback_variant: String,
    /// Most sequences decoded together in one step. `max_batch: 16`
    #[serde(default = "defaults::local_max_batch")]
    pub max_batch: usize,
    /// Requests that may wait for a batch slot; beyond it the policy's `overflow` applies.
    /// `queue_depth: 64`
    #[serde(default = "defaults::local_queue_depth")]
    pub queue_depth: usize,
    /// Tokens of KV cache all running sequences may hold together (each reserves prompt +
    /// max_tokens). Bounds memory: a request larger than this is refused or rerouted.
    /// `kv_budget_tokens: 65536`
    #[serde(default = "defaults::kv_budget_tokens")]
    pub kv_budget_tokens: usize,
    /// ONNX Runtime intra-op threads; 0 uses every core. `threads: 0`
    #[serde(default)]
    pub threads: usize,
    /// Completion length when a request sets neither `max_tokens` nor
    /// `max_completion_tokens`. `default_max_tokens: 512`
    #[serde(default = "defaults::default_max_tokens")]
    pub default_max_tokens: usize,
    /// MiB of KV cache kept for prompts prefilled recently, so a request that starts with
    /// the same tokens (a shared system prompt, earlier turns) prefills only the rest.
    /// 0 turns it off. `prefix_cache_mib: 256`
    #[serde(default = "defaults::prefix_cache_mib")]
    pub prefix_cache_mib: usize,
}

mod defaults {
    use std::time::Duration;

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
    pub fn breaker_failures() -> u32 {
        5
    }
    pub fn breaker_cooldown() -> Duration {
        Duration::from_secs(30)
    }
    pub fn pool_max_idle_per_host() -> usize {
        64
    }
    pub fn pool_idle_timeout() -> Duration {
        Duration::from_secs(90)
    }
    pub fn local_max_batch() -> usize {
        16
    }
    pub fn local_queue_depth() -> usize {
        64
    }
    pub fn kv_budget_tokens() -> usize {
        65536
    }
    pub fn default_max_tokens() -> usize {
        512
    }
    pub fn prefix_cache_mib() -> usize {
        256
    }
}

/// Everything needed to build a provider's HTTP client. Compared on reload so that an
/// unchanged provider keeps its warm connection pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    pub name: String,
    pub protocol: Protocol,
    /// Without a trailing slash; endpoints are appended (`/chat/completions`).
    pub base_url: String,
    pub api_key_env: Option<String>,
    pub headers: Vec<(String, String)>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub stream_idle_timeout: Duration,
    pub max_retries: u32,
    pub retry_initial_backoff: Duration,
    pub retry_max_backoff: Duration,
    pub http2_prior_knowledge: bool,
    pub pool_max_idle_per_host: usize,
    pub pool_idle_timeout: Duration,
    /// Keep reading a stream whose client left, for exact accounting (`drain`), or close it.
    pub drain_on_disconnect: bool,
    /// Consecutive failed requests that open the circuit; 0: never.
    pub breaker_failures: u32,
    pub breaker_cooldown: Duration,
}

/// A local (in-process) model provider. Compared on reload: an unchanged one keeps its
/// loaded model and running batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalConfig {
    pub name: String,
    pub model: String,
    pub hub_id: Option<String>,
    pub variant: String,
    pub fallback: Option<String>,
    pub fallback_variant: String,
    pub max_batch: usize,
    pub queue_depth: usize,
    pub kv_budget_tokens: usize,
    /// 0: every core.
    pub threads: usize,
    pub default_max_tokens: usize,
    pub prefix_cache_mib: usize,
}

/// The `providers` section split by `kind`.
#[derive(Debug, Clone, Default)]
pub struct RawProviders {
    pub upstream: BTreeMap<String, (RawProvider, Protocol)>,
    pub local: BTreeMap<String, RawLocalProvider>,
}

/// Splits `providers` by `kind` (`upstream`, the default, or `local`), each entry checked on
/// its own so every broken one is reported.
pub(crate) fn provider_entries(v: Option<&Value>, errors: &mut Vec<ConfigError>) -> RawProviders {
    let mut out = RawProviders::default();
    let all: BTreeMap<String, Value> = entries(v, "providers", errors);
    for (k, mut v) in all {
        let path = format!("providers.{k}");
        let kind = match v.as_object_mut().and_then(|o| o.remove("kind")) {
            None => ProviderKind::default(),
            Some(kind) => match Word::from_value(kind).check(format!("{path}.kind"), errors) {
                Some(kind) => kind,
                None => continue,
            },
        };
        match kind {
            ProviderKind::Upstream => {
                if let Some(p) = section(&v, &path, errors) {
                    out.upstream.insert(k, (p, Protocol::OpenAi));
                }
            }
            ProviderKind::Anthropic => {
                let version = match v
                    .as_object_mut()
                    .and_then(|o| o.remove("anthropic_version"))
                {
                    None => DEFAULT_ANTHROPIC_VERSION.to_owned(),
                    Some(Value::String(s)) if !s.is_empty() => s,
                    Some(other) => {
                        errors.push(ConfigError::new(
                            format!("{path}.anthropic_version"),
                            format!("expected a version date such as 2023-06-01, got {other}"),
                        ));
                        continue;
                    }
                };
                if let Some(p) = section(&v, &path, errors) {
                    out.upstream.insert(k, (p, Protocol::Anthropic { version }));
                }
            }
            ProviderKind::Local => {
                if let Some(p) = section(&v, &path, errors) {
                    out.local.insert(k, p);
                }
            }
        }
    }
    out
}

pub(crate) fn check_provider(
    name: &str,
    (p, protocol): (RawProvider, Protocol),
    path: &str,
    errors: &mut Vec<ConfigError>,
) -> Option<ProviderConfig> {
    let before = errors.len();
    let base_url = p.base_url.trim_end_matches('/').to_owned();
    match http::Uri::try_from(base_url.as_str()) {
        Ok(uri) if matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some() => {}
        _ => errors.push(ConfigError::new(
            format!("{path}.base_url"),
            format!(
                "expected an http:// or https:// URL such as https://api.openai.com/v1, got '{}'",
                p.base_url
            ),
        )),
    }
    if let Some(env) = &p.api_key_env {
        if env.is_empty() || env.contains('=') || env.contains('\0') {
            errors.push(ConfigError::new(
                format!("{path}.api_key_env"),
                format!("expected the name of an environment variable, got '{env}'"),
            ));
        }
    }
    let mut headers = Vec::new();
    for (k, v) in p.headers {
        if http::HeaderName::try_from(k.as_str()).is_err() {
            errors.push(ConfigError::new(
                format!("{path}.headers.{k}"),
                "not a valid HTTP header name",
            ));
        } else if http::HeaderValue::try_from(v.as_str()).is_err() {
            errors.push(ConfigError::new(
                format!("{path}.headers.{k}"),
                "not a valid HTTP header value",
            ));
        } else if k.eq_ignore_ascii_case("authorization") && p.api_key_env.is_some() {
            errors.push(ConfigError::new(
                format!("{path}.headers.{k}"),
                "conflicts with api_key_env, which already sets Authorization",
            ));
        }
        headers.push((k, v));
    }
    for (field, d) in [
        ("connect_timeout", p.connect_timeout),
        ("timeout", p.timeout),
        ("stream_idle_timeout", p.stream_idle_timeout),
    ] {
        if d.is_zero() {
            errors.push(ConfigError::new(
                format!("{path}.{field}"),
                "must be greater than 0",
            ));
        }
    }
    let on_client_disconnect = p
        .on_client_disconnect
        .check(format!("{path}.on_client_disconnect"), errors)
        .unwrap_or_default();
    if p.retry_initial_backoff > p.retry_max_backoff {
        errors.push(ConfigError::new(
            format!("{path}.retry_initial_backoff"),
            "must not exceed retry_max_backoff",
        ));
    }
    (errors.len() == before).then(|| ProviderConfig {
        name: name.to_owned(),
        protocol,
        base_url,
        api_key_env: p.api_key_env,
        headers,
        connect_timeout: p.connect_timeout,
        timeout: p.timeout,
        stream_idle_timeout: p.stream_idle_timeout,
        max_retries: p.max_retries,
        retry_initial_backoff: p.retry_initial_backoff,
        retry_max_backoff: p.retry_max_backoff,
        http2_prior_knowledge: p.http2_prior_knowledge,
        pool_max_idle_per_host: p.pool_max_idle_per_host,
        pool_idle_timeout: p.pool_idle_timeout,
        drain_on_disconnect: on_client_disconnect == OnClientDisconnect::Drain,
        breaker_failures: p.breaker_failures,
        breaker_cooldown: p.breaker_cooldown,
    })
}

pub(crate) fn check_local(
    name: &str,
    l: RawLocalProvider,
    path: &str,
    errors: &mut Vec<ConfigError>,
) -> Option<LocalConfig> {
    let before = errors.len();
    for (field, v) in [
        ("max_batch", l.max_batch),
        ("queue_depth", l.queue_depth),
        ("kv_budget_tokens", l.kv_budget_tokens),
        ("default_max_tokens", l.default_max_tokens),
    ] {
        if v == 0 {
            errors.push(ConfigError::new(
                format!("{path}.{field}"),
                "must be greater than 0",
            ));
        }
    }
    for (field, v) in [("model", &l.model), ("variant", &l.variant)] {
        if v.is_empty() {
            errors.push(ConfigError::new(
                format!("{path}.{field}"),
                "must not be empty",
            ));
        }
    }
    (errors.len() == before).then(|| LocalConfig {
        name: name.to_owned(),
        model: l.model,
        hub_id: l.hub_id,
        variant: l.variant,
        fallback: l.fallback,
        fallback_variant: l.fallback_variant,
        max_batch: l.max_batch,
        queue_depth: l.queue_depth,
        kv_budget_tokens: l.kv_budget_tokens,
        threads: l.threads,
        default_max_tokens: l.default_max_tokens,
        prefix_cache_mib: l.prefix_cache_mib,
    })
}
