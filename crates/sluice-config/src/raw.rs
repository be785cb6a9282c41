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
    /// Serve a non-loopback address with no `keys` configured (an open relay spending
    /// your upstream keys). Without it, such a start is refused. `allow_unauthenticated: false`
    #[serde(default)]
    pub allow_unauthenticated: bool,
    /// Environment variable holding the admin key for `/admin/*` (reload, keys); without
    /// it the admin endpoints do not exist. `admin_key_env: SLUICE_ADMIN_KEY`
    #[serde(default)]
    pub admin_key_env: Option<String>,
    /// Most messages in one request; more gets 400. `max_messages: 1000`
    #[serde(default = "defaults::max_messages")]
    pub max_messages: usize,
    /// Largest text of one message, in bytes; larger gets 400. `max_message_bytes: 4194304`
    #[serde(default = "defaults::max_message_bytes")]
    pub max_message_bytes: usize,
    /// Largest total size of request headers, in bytes; larger gets 431.
    /// `max_header_bytes: 65536`
    #[serde(default = "defaults::max_header_bytes")]
    pub max_header_bytes: usize,
    /// Longest a streamed response may run; then it ends with an error event.
    /// `max_stream_duration: 30m`
    #[serde(default = "defaults::max_stream_duration", with = "humantime_serde")]
    pub max_stream_duration: Duration,
    /// Where `/metrics` is served: its own listener, loopback by default, because the
    /// metrics name tenants and keys and show their budgets and spend; `off` serves none.
    /// Read at start-up (`--metrics-listen` overrides it). `metrics_listen: 127.0.0.1:9464`
    #[serde(default = "defaults::metrics_listen")]
    pub metrics_listen: String,
    /// Requests in progress at once (streams count until they end); beyond it a request
    /// waits up to `max_queue_wait`, then gets 503 `overloaded` with `retry-after`. Read at
    /// start-up. `max_concurrency: 1024`
    #[serde(default = "defaults::max_concurrency")]
    pub max_concurrency: usize,
    /// Longest a request waits for a slot before it is shed. `max_queue_wait: 1s`
    #[serde(default = "defaults::max_queue_wait", with = "humantime_serde")]
    pub max_queue_wait: Duration,
    /// Abandoned streams read to their end at once for their usage (providers with
    /// `on_client_disconnect: drain`); beyond it a stream is cancelled and its tokens
    /// estimated. Read at start-up. `max_drain_tasks: 256`
    #[serde(default = "defaults::max_drain_tasks")]
    pub max_drain_tasks: usize,
}

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            max_body_bytes: defaults::max_body_bytes(),
            shutdown_grace: defaults::shutdown_grace(),
            reload_debounce: defaults::reload_debounce(),
            allow_unauthenticated: false,
            admin_key_env: None,
            max_messages: defaults::max_messages(),
            max_message_bytes: defaults::max_message_bytes(),
            max_header_bytes: defaults::max_header_bytes(),
            max_stream_duration: defaults::max_stream_duration(),
            metrics_listen: defaults::metrics_listen(),
            max_concurrency: defaults::max_concurrency(),
            max_queue_wait: defaults::max_queue_wait(),
            max_drain_tasks: defaults::max_drain_tasks(),
        }
    }
}

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

#[derive(Debug, Clone, Deserialize)]
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
    #[serde(default = "defaults::budget_period")]
    pub period: String,
    /// `reject` (429) or `downgrade` (every request goes to `downgrade_to`).
    #[serde(default = "defaults::on_exceeded")]
    pub on_exceeded: String,
    #[serde(default)]
    pub downgrade_to: Option<String>,
}

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
    #[serde(default = "defaults::on_client_disconnect")]
    pub on_client_disconnect: String,
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
    #[serde(default = "defaults::variant")]
    pub variant: String,
    /// Folder served instead when `model` is missing (with a warning at start-up and in
    /// `/v1/models`). Without it, a missing model stops start-up. Make it a real model (the
    /// same folder with another file, say): `fallback: smollm2-135m-instruct`
    #[serde(default)]
    pub fallback: Option<String>,
    /// ONNX file of the fallback folder. `fallback_variant: model.onnx`
    #[serde(default = "defaults::variant")]
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
}

/// `policies.<name>:` — a model name clients ask for (`auto`, or a real model's own name)
/// and where its requests go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// How the target is chosen: `static` (always `target`), `learned` (a router head's
    /// score `>= threshold` sends the request to `strong`, otherwise `target`), or `semantic`
    /// (the most similar of `routes`, otherwise `target`). `strategy: learned`
    #[serde(default = "defaults::strategy")]
    pub strategy: String,
    /// The default model: the static target, the weak model of `learned`, the no-match
    /// model of `semantic`. `target: local-small`
    pub target: String,
    /// Where requests go that `target` should not or cannot serve: a high learned score,
    /// features `target` lacks, prompts beyond its context window, router overflow.
    /// `strong: gpt-4o`
    #[serde(default)]
    pub strong: Option<String>,
    /// `learned`: scores at or above this go to `strong`. `threshold: 0.42`
    #[serde(default)]
    pub threshold: Option<f64>,
    /// `learned`: which `router.heads` entry scores requests. `head: default`
    #[serde(default)]
    pub head: Option<String>,
    /// `semantic`: how similarity to a route's examples is summarised: `max` (closest
    /// example) or `centroid`. `aggregate: max`
    #[serde(default)]
    pub aggregate: Option<String>,
    /// `semantic`: routes defined by example utterances.
    #[serde(default)]
    pub routes: Vec<RawSemanticRoute>,
    /// Deterministic overrides, checked before any model runs.
    #[serde(default)]
    pub rules: RawRules,
    /// When the router's queue is full: `strong` (send there unscored) or `reject` (503).
    /// `overflow: strong`
    #[serde(default = "defaults::overflow")]
    pub overflow: String,
    /// Tried in order when the target fails (connect error, timeout, 429 or 5xx after
    /// retries). `fallbacks: [gpt-4o]`
    #[serde(default)]
    pub fallbacks: Vec<String>,
    /// The model whose price the savings figures compare against. `baseline: gpt-4o`
    #[serde(default)]
    pub baseline: Option<String>,
}

/// `policies.<name>.routes[i]` — a semantic route.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSemanticRoute {
    /// Shown in reasons and `/v1/route`. `name: code`
    pub name: String,
    /// The model matching requests go to. `target: gpt-4o`
    pub target: String,
    /// Cosine similarity needed to match. `threshold: 0.55`
    #[serde(default = "defaults::semantic_threshold")]
    pub threshold: f64,
    /// Example utterances; editing them and saving the file re-embeds them live.
    pub examples: Vec<String>,
}

/// `policies.<name>.rules`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRules {
    /// Models a client may force with the `x-sluice-target` header. `header_override: [gpt-4o]`
    #[serde(default)]
    pub header_override: Vec<String>,
    /// Regex matches on the routed text, checked in order. `patterns: [{regex: "(?i)\\bprove\\b", target: gpt-4o}]`
    #[serde(default)]
    pub patterns: Vec<RawPattern>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPattern {
    pub regex: String,
    pub target: String,
}

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
    #[serde(default = "defaults::variant")]
    pub variant: String,
    /// Token budget per routed text; longer texts keep their head and tail. `max_tokens: 256`
    #[serde(default = "defaults::embed_max_tokens")]
    pub max_tokens: usize,
    /// Also embed the system prompt. `include_system: false`
    #[serde(default)]
    pub include_system: bool,
    /// Also embed this many messages before the last user message. `history: 0`
    #[serde(default)]
    pub history: usize,
    /// Worker threads, each with its own ONNX session. `workers: 2`
    #[serde(default = "defaults::embed_workers")]
    pub workers: usize,
    /// ONNX Runtime intra-op threads per worker. `threads: 1`
    #[serde(default = "defaults::one")]
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
    pub fn on_client_disconnect() -> String {
        "drain".into()
    }
    pub fn overflow() -> String {
        "strong".into()
    }
    pub fn one() -> usize {
        1
    }
    pub fn semantic_threshold() -> f64 {
        0.5
    }
    pub fn max_messages() -> usize {
        1000
    }
    pub fn max_message_bytes() -> usize {
        4 * 1024 * 1024
    }
    pub fn max_header_bytes() -> usize {
        64 * 1024
    }
    pub fn max_stream_duration() -> Duration {
        Duration::from_secs(30 * 60)
    }
    pub fn budget_period() -> String {
        "month".into()
    }
    pub fn on_exceeded() -> String {
        "reject".into()
    }
    pub fn breaker_failures() -> u32 {
        5
    }
    pub fn breaker_cooldown() -> Duration {
        Duration::from_secs(30)
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
    pub fn max_concurrency() -> usize {
        1024
    }
    pub fn max_drain_tasks() -> usize {
        256
    }
    pub fn max_queue_wait() -> Duration {
        Duration::from_secs(1)
    }
    pub fn metrics_listen() -> String {
        "127.0.0.1:9464".into()
    }
    pub fn prefix_cache_mib() -> usize {
        256
    }
    pub fn variant() -> String {
        "model.onnx".into()
    }
    pub fn embed_max_tokens() -> usize {
        256
    }
    pub fn embed_workers() -> usize {
        2
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
