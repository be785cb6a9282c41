//! The checked configuration the gateway runs on.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ConfigError;
use crate::raw::{
    RawKey, RawLocalProvider, RawModel, RawPolicy, RawProvider, RawRouter, RawServer,
};

/// A validated configuration. Cheap to share: the gateway holds it in an `Arc` and swaps the
/// whole thing on reload.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub server: ServerConfig,
    pub providers: BTreeMap<String, Arc<ProviderConfig>>,
    /// Providers with `kind: local`: in-process models.
    pub locals: BTreeMap<String, Arc<LocalConfig>>,
    pub models: BTreeMap<String, ModelConfig>,
    pub policies: BTreeMap<String, PolicyConfig>,
    /// Present when the config has a `router` section.
    pub router: Option<RouterConfig>,
    /// Gateway API keys by id; empty: no authentication.
    pub keys: BTreeMap<String, KeyConfig>,
    /// Where rate-limit and budget counters live.
    pub state: StateBackend,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateBackend {
    /// In this process only.
    Memory,
    /// Shared by every replica pointing at the same Redis (`redis://…`).
    Redis(String),
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetPeriod {
    Day,
    Month,
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

#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    pub max_body_bytes: u64,
    pub shutdown_grace: Duration,
    pub reload_debounce: Duration,
    pub allow_unauthenticated: bool,
    pub admin_key_env: Option<String>,
    pub max_messages: usize,
    pub max_message_bytes: usize,
    pub max_header_bytes: usize,
    pub max_stream_duration: Duration,
    /// `None`: no metrics listener (`metrics_listen: off`).
    pub metrics_listen: Option<std::net::SocketAddr>,
    pub max_concurrency: usize,
    pub max_queue_wait: Duration,
    pub max_drain_tasks: usize,
}

/// Everything needed to build a provider's HTTP client. Compared on reload so that an
/// unchanged provider keeps its warm connection pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    pub name: String,
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
}

#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    /// Always the target, then the fallbacks in order.
    Static,
    /// A learned head's score `>= threshold` sends the request to `strong`.
    Learned { threshold: f64, head: String },
    /// The most similar route above its threshold, else `target`.
    Semantic {
        aggregate: Aggregate,
        routes: Vec<SemanticRouteConfig>,
    },
}

impl Strategy {
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Static => "static",
            Strategy::Learned { .. } => "learned",
            Strategy::Semantic { .. } => "semantic",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Max,
    Centroid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    Strong,
    Reject,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SemanticRouteConfig {
    pub name: String,
    pub target: String,
    pub threshold: f64,
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rules {
    pub header_override: Vec<String>,
    /// (regex source, target), checked to compile at load.
    pub patterns: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PolicyConfig {
    pub name: String,
    pub strategy: Strategy,
    pub target: String,
    pub strong: Option<String>,
    pub fallbacks: Vec<String>,
    pub baseline: Option<String>,
    pub rules: Rules,
    pub overflow: Overflow,
}

impl PolicyConfig {
    /// Target first, then fallbacks: the order in which a request tries models.
    pub fn chain(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.target.as_str()).chain(self.fallbacks.iter().map(String::as_str))
    }

    /// Every model this policy sends requests to by its own decision: target, strong,
    /// fallbacks, semantic routes and pattern rules. Not the `header_override` list, which
    /// a client picks from.
    pub fn own_targets(&self) -> impl Iterator<Item = &str> {
        let routes: &[SemanticRouteConfig] = match &self.strategy {
            Strategy::Semantic { routes, .. } => routes,
            _ => &[],
        };
        self.chain()
            .chain(self.strong.as_deref())
            .chain(routes.iter().map(|r| r.target.as_str()))
            .chain(self.rules.patterns.iter().map(|(_, t)| t.as_str()))
    }
}

/// A listener address, or `off` for none (`server.metrics_listen`, `--metrics-listen`).
pub fn parse_listen_or_off(s: &str) -> Result<Option<std::net::SocketAddr>, String> {
    match s.trim() {
        "off" => Ok(None),
        addr => addr.parse().map(Some).map_err(|_| {
            format!("expected an address such as 127.0.0.1:9464, or off; got '{addr}'")
        }),
    }
}

const SECTIONS: &[&str] = &[
    "server",
    "providers",
    "models",
    "policies",
    "router",
    "keys",
    "state",
];

impl Config {
    /// Checks a parsed document (YAML after env overrides) and returns every problem found.
    pub fn from_value(doc: &Value) -> Result<Config, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let Some(top) = doc.as_object() else {
            return Err(vec![ConfigError::new(
                "",
                "expected a mapping at the top level",
            )]);
        };
        for key in top.keys() {
            if !SECTIONS.contains(&key.as_str()) {
                errors.push(ConfigError::new(
                    key.clone(),
                    format!("unknown section, expected one of: {}", SECTIONS.join(", ")),
                ));
            }
        }

        let server: RawServer = match top.get("server") {
            Some(v) => section(v, "server", &mut errors).unwrap_or_default(),
            None => RawServer::default(),
        };
        let (raw_providers, raw_locals) = provider_entries(top.get("providers"), &mut errors);
        let raw_models: BTreeMap<String, RawModel> =
            entries(top.get("models"), "models", &mut errors);
        let raw_policies: BTreeMap<String, RawPolicy> =
            entries(top.get("policies"), "policies", &mut errors);
        let raw_router: Option<RawRouter> = match top.get("router") {
            None | Some(Value::Null) => None,
            Some(v) => section(v, "router", &mut errors),
        };
        let router = raw_router.map(|r| check_router(r, &mut errors));

        if server.max_body_bytes == 0 {
            errors.push(ConfigError::new(
                "server.max_body_bytes",
                "must be greater than 0",
            ));
        }

        let mut providers = BTreeMap::new();
        for (name, p) in raw_providers {
            let path = format!("providers.{name}");
            if let Some(provider) = check_provider(&name, p, &path, &mut errors) {
                providers.insert(name, Arc::new(provider));
            }
        }

        let mut locals = BTreeMap::new();
        for (name, l) in raw_locals {
            let path = format!("providers.{name}");
            if let Some(local) = check_local(&name, l, &path, &mut errors) {
                locals.insert(name, Arc::new(local));
            }
        }

        let mut models = BTreeMap::new();
        for (name, m) in raw_models {
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
                for (field, v) in [
                    ("input", p.input),
                    ("output", p.output),
                    ("cached_input", cached_input),
                ] {
                    if !(v.is_finite() && v >= 0.0) {
                        errors.push(ConfigError::new(
                            format!("{path}.pricing.{field}"),
                            format!(
                                "expected a non-negative price in USD per million tokens, got {v}"
                            ),
                        ));
                    }
                }
                Pricing {
                    input: p.input,
                    output: p.output,
                    cached_input,
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
            models.insert(
                name.clone(),
                ModelConfig {
                    name,
                    provider: m.provider,
                    upstream_model,
                    pricing,
                    context_window: m.context_window,
                    supports,
                    local,
                },
            );
        }

        let mut policies = BTreeMap::new();
        for (name, p) in raw_policies {
            let path = format!("{path_prefix}.{name}", path_prefix = "policies");
            if let Some(policy) =
                check_policy(&name, p, &path, &models, router.as_ref(), &mut errors)
            {
                policies.insert(name, policy);
            }
        }

        let raw_keys: BTreeMap<String, RawKey> = entries(top.get("keys"), "keys", &mut errors);
        let mut keys = BTreeMap::new();
        for (id, k) in raw_keys {
            if let Some(key) = check_key(&id, k, &models, &policies, &mut errors) {
                keys.insert(id, key);
            }
        }
        let state = match top.get("state") {
            None | Some(Value::Null) => StateBackend::Memory,
            Some(Value::String(s)) if s == "memory" => StateBackend::Memory,
            Some(Value::String(s)) if s.starts_with("redis://") || s.starts_with("rediss://") => {
                StateBackend::Redis(s.clone())
            }
            Some(other) => {
                errors.push(ConfigError::new(
                    "state",
                    format!("expected memory or a redis://host:port/db URL, got {other}"),
                ));
                StateBackend::Memory
            }
        };
        if let Some(env) = &server.admin_key_env {
            if env.is_empty() || env.contains('=') {
                errors.push(ConfigError::new(
                    "server.admin_key_env",
                    format!("expected the name of an environment variable, got '{env}'"),
                ));
            }
        }
        for (field, v) in [
            ("max_messages", server.max_messages),
            ("max_message_bytes", server.max_message_bytes),
            ("max_header_bytes", server.max_header_bytes),
            ("max_concurrency", server.max_concurrency),
        ] {
            if v == 0 {
                errors.push(ConfigError::new(
                    format!("server.{field}"),
                    "must be greater than 0",
                ));
            }
        }

        let metrics_listen = parse_listen_or_off(&server.metrics_listen).unwrap_or_else(|e| {
            errors.push(ConfigError::new("server.metrics_listen", e));
            None
        });

        if errors.is_empty() {
            Ok(Config {
                server: ServerConfig {
                    max_body_bytes: server.max_body_bytes,
                    shutdown_grace: server.shutdown_grace,
                    reload_debounce: server.reload_debounce,
                    allow_unauthenticated: server.allow_unauthenticated,
                    admin_key_env: server.admin_key_env,
                    max_messages: server.max_messages,
                    max_message_bytes: server.max_message_bytes,
                    max_header_bytes: server.max_header_bytes,
                    max_stream_duration: server.max_stream_duration,
                    metrics_listen,
                    max_concurrency: server.max_concurrency,
                    max_queue_wait: server.max_queue_wait,
                    max_drain_tasks: server.max_drain_tasks,
                },
                providers,
                locals,
                models,
                policies,
                router,
                keys,
                state,
            })
        } else {
            Err(errors)
        }
    }

    /// Every name a client may put in `model`: policies first, then models not shadowed by
    /// a policy of the same name.
    pub fn exposed_names(&self) -> impl Iterator<Item = (&str, bool)> {
        self.policies.keys().map(|k| (k.as_str(), true)).chain(
            self.models
                .keys()
                .filter(|k| !self.policies.contains_key(*k))
                .map(|k| (k.as_str(), false)),
        )
    }
}

fn check_provider(
    name: &str,
    p: RawProvider,
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
    let drain_on_disconnect = match p.on_client_disconnect.as_str() {
        "drain" => true,
        "cancel" => false,
        other => {
            errors.push(ConfigError::new(
                format!("{path}.on_client_disconnect"),
                format!("unknown value '{other}', expected: drain, cancel"),
            ));
            true
        }
    };
    if p.retry_initial_backoff > p.retry_max_backoff {
        errors.push(ConfigError::new(
            format!("{path}.retry_initial_backoff"),
            "must not exceed retry_max_backoff",
        ));
    }
    (errors.len() == before).then(|| ProviderConfig {
        name: name.to_owned(),
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
        drain_on_disconnect,
        breaker_failures: p.breaker_failures,
        breaker_cooldown: p.breaker_cooldown,
    })
}

fn check_key(
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
    let rl = k.rate_limit.unwrap_or(crate::raw::RawRateLimit {
        requests_per_minute: None,
        tokens_per_minute: None,
    });
    let budget = k.budget.and_then(|b| {
        if !(b.usd.is_finite() && b.usd >= 0.0) {
            errors.push(ConfigError::new(
                format!("{path}.budget.usd"),
                format!("expected a non-negative amount of USD, got {}", b.usd),
            ));
        }
        let period = match b.period.as_str() {
            "day" => BudgetPeriod::Day,
            "month" => BudgetPeriod::Month,
            other => {
                errors.push(ConfigError::new(
                    format!("{path}.budget.period"),
                    format!("unknown period '{other}', expected: day, month"),
                ));
                return None;
            }
        };
        let downgrade_to = match b.on_exceeded.as_str() {
            "reject" => None,
            "downgrade" => match b.downgrade_to {
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
            other => {
                errors.push(ConfigError::new(
                    format!("{path}.budget.on_exceeded"),
                    format!("unknown value '{other}', expected: reject, downgrade"),
                ));
                None
            }
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

fn check_local(
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

/// Splits `providers` by `kind` (`upstream`, the default, or `local`), each entry checked on
/// its own so every broken one is reported.
#[allow(clippy::type_complexity)]
fn provider_entries(
    v: Option<&Value>,
    errors: &mut Vec<ConfigError>,
) -> (
    BTreeMap<String, RawProvider>,
    BTreeMap<String, RawLocalProvider>,
) {
    let mut upstream = BTreeMap::new();
    let mut local = BTreeMap::new();
    let all: BTreeMap<String, Value> = entries(v, "providers", errors);
    for (k, mut v) in all {
        let path = format!("providers.{k}");
        let kind = match v.as_object_mut().map(|o| o.remove("kind")) {
            Some(Some(Value::String(s))) => s,
            Some(None) | None => "upstream".to_owned(),
            Some(Some(other)) => {
                errors.push(ConfigError::new(
                    format!("{path}.kind"),
                    format!("expected upstream or local, got {other}"),
                ));
                continue;
            }
        };
        match kind.as_str() {
            "upstream" => {
                if let Some(p) = section(&v, &path, errors) {
                    upstream.insert(k, p);
                }
            }
            "local" => {
                if let Some(p) = section(&v, &path, errors) {
                    local.insert(k, p);
                }
            }
            other => errors.push(ConfigError::new(
                format!("{path}.kind"),
                format!("unknown kind '{other}', expected: upstream, local"),
            )),
        }
    }
    (upstream, local)
}

fn check_router(r: RawRouter, errors: &mut Vec<ConfigError>) -> RouterConfig {
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

fn check_policy(
    name: &str,
    p: RawPolicy,
    path: &str,
    models: &BTreeMap<String, ModelConfig>,
    router: Option<&RouterConfig>,
    errors: &mut Vec<ConfigError>,
) -> Option<PolicyConfig> {
    let before = errors.len();
    let check_model = |field: String, model: &str, errors: &mut Vec<ConfigError>| {
        if !models.contains_key(model) {
            errors.push(ConfigError::new(
                field,
                format!("unknown model '{model}'{}", one_of(models.keys())),
            ));
        }
    };
    check_model(format!("{path}.target"), &p.target, errors);
    if let Some(s) = &p.strong {
        check_model(format!("{path}.strong"), s, errors);
    }
    for (i, f) in p.fallbacks.iter().enumerate() {
        check_model(format!("{path}.fallbacks[{i}]"), f, errors);
    }
    if let Some(b) = &p.baseline {
        check_model(format!("{path}.baseline"), b, errors);
    }
    let mut seen = vec![p.target.as_str()];
    for (i, f) in p.fallbacks.iter().enumerate() {
        if seen.contains(&f.as_str()) {
            errors.push(ConfigError::new(
                format!("{path}.fallbacks[{i}]"),
                format!("'{f}' already appears earlier in the chain"),
            ));
        }
        seen.push(f);
    }
    for (i, t) in p.rules.header_override.iter().enumerate() {
        check_model(format!("{path}.rules.header_override[{i}]"), t, errors);
    }
    let mut patterns = Vec::new();
    for (i, pat) in p.rules.patterns.into_iter().enumerate() {
        if let Err(e) = regex::Regex::new(&pat.regex) {
            errors.push(ConfigError::new(
                format!("{path}.rules.patterns[{i}].regex"),
                format!("invalid regex: {e}"),
            ));
        }
        check_model(
            format!("{path}.rules.patterns[{i}].target"),
            &pat.target,
            errors,
        );
        patterns.push((pat.regex, pat.target));
    }
    let overflow = match p.overflow.as_str() {
        "strong" => Overflow::Strong,
        "reject" => Overflow::Reject,
        other => {
            errors.push(ConfigError::new(
                format!("{path}.overflow"),
                format!("unknown overflow '{other}', expected: strong, reject"),
            ));
            Overflow::Strong
        }
    };
    let needs_router = |errors: &mut Vec<ConfigError>| {
        if router.is_none() {
            errors.push(ConfigError::new(
                format!("{path}.strategy"),
                "needs a `router` section with an embedder (router.embedder.model)",
            ));
        }
    };
    let strategy = match p.strategy.as_str() {
        "static" => Strategy::Static,
        "learned" => {
            needs_router(errors);
            if p.strong.is_none() {
                errors.push(ConfigError::new(
                    format!("{path}.strong"),
                    "a learned policy needs a strong model",
                ));
            }
            let threshold = p.threshold.unwrap_or(f64::NAN);
            if !(0.0..=1.0).contains(&threshold) {
                errors.push(ConfigError::new(
                    format!("{path}.threshold"),
                    "a learned policy needs a threshold between 0 and 1",
                ));
            }
            let head = p.head.unwrap_or_else(|| "default".into());
            if let Some(r) = router {
                if !r.heads.contains_key(&head) {
                    errors.push(ConfigError::new(
                        format!("{path}.head"),
                        format!("unknown head '{head}'{}", one_of(r.heads.keys())),
                    ));
                }
            }
            Strategy::Learned { threshold, head }
        }
        "semantic" => {
            needs_router(errors);
            let aggregate = match p.aggregate.as_deref().unwrap_or("max") {
                "max" => Aggregate::Max,
                "centroid" => Aggregate::Centroid,
                other => {
                    errors.push(ConfigError::new(
                        format!("{path}.aggregate"),
                        format!("unknown aggregate '{other}', expected: max, centroid"),
                    ));
                    Aggregate::Max
                }
            };
            if p.routes.is_empty() {
                errors.push(ConfigError::new(
                    format!("{path}.routes"),
                    "a semantic policy needs at least one route",
                ));
            }
            let mut routes = Vec::new();
            for (i, r) in p.routes.into_iter().enumerate() {
                let rp = format!("{path}.routes[{i}]");
                check_model(format!("{rp}.target"), &r.target, errors);
                if r.examples.iter().all(|e| e.trim().is_empty()) {
                    errors.push(ConfigError::new(
                        format!("{rp}.examples"),
                        "needs at least one non-empty example",
                    ));
                }
                if !(-1.0..=1.0).contains(&r.threshold) {
                    errors.push(ConfigError::new(
                        format!("{rp}.threshold"),
                        "a cosine similarity between -1 and 1",
                    ));
                }
                routes.push(SemanticRouteConfig {
                    name: r.name,
                    target: r.target,
                    threshold: r.threshold,
                    examples: r.examples,
                });
            }
            Strategy::Semantic { aggregate, routes }
        }
        other => {
            errors.push(ConfigError::new(
                format!("{path}.strategy"),
                format!("unknown strategy '{other}', expected: static, learned, semantic"),
            ));
            Strategy::Static
        }
    };
    if !matches!(strategy, Strategy::Learned { .. }) && p.threshold.is_some() {
        errors.push(ConfigError::new(
            format!("{path}.threshold"),
            "threshold only applies to strategy: learned",
        ));
    }
    (errors.len() == before).then(|| PolicyConfig {
        name: name.to_owned(),
        strategy,
        target: p.target,
        strong: p.strong,
        fallbacks: p.fallbacks,
        baseline: p.baseline,
        rules: Rules {
            header_override: p.rules.header_override,
            patterns,
        },
        overflow,
    })
}

fn one_of<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(", expected one of: {}", names.join(", "))
    }
}

fn section<T: DeserializeOwned>(v: &Value, path: &str, errors: &mut Vec<ConfigError>) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(v) {
        Ok(t) => Some(t),
        Err(e) => {
            let inner = e.path().to_string();
            let full = if inner == "." || inner.is_empty() {
                path.to_owned()
            } else {
                format!("{path}.{inner}")
            };
            errors.push(ConfigError::new(full, e.into_inner().to_string()));
            None
        }
    }
}

/// Deserialises each entry of a map section on its own, so every broken entry is reported.
fn entries<T: DeserializeOwned>(
    v: Option<&Value>,
    path: &str,
    errors: &mut Vec<ConfigError>,
) -> BTreeMap<String, T> {
    let mut out = BTreeMap::new();
    match v {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                if k.is_empty() {
                    errors.push(ConfigError::new(path, "names must not be empty"));
                    continue;
                }
                if let Some(t) = section(v, &format!("{path}.{k}"), errors) {
                    out.insert(k.clone(), t);
                }
            }
        }
        Some(_) => errors.push(ConfigError::new(
            path,
            "expected a mapping of names to entries",
        )),
    }
    out
}
