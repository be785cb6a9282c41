//! `server:` — how the gateway itself behaves: body and header limits, shutdown and reload
//! timing, admission, the metrics listener.

use std::time::Duration;

use serde::Deserialize;

use crate::error::ConfigError;

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

mod defaults {
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
    pub fn metrics_listen() -> String {
        "127.0.0.1:9464".into()
    }
    pub fn max_concurrency() -> usize {
        1024
    }
    pub fn max_queue_wait() -> Duration {
        Duration::from_secs(1)
    }
    pub fn max_drain_tasks() -> usize {
        256
    }
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

/// A listener address, or `off` for none (`server.metrics_listen`, `--metrics-listen`).
pub fn parse_listen_or_off(s: &str) -> Result<Option<std::net::SocketAddr>, String> {
    match s.trim() {
        "off" => Ok(None),
        addr => addr.parse().map(Some).map_err(|_| {
            format!("expected an address such as 127.0.0.1:9464, or off; got '{addr}'")
        }),
    }
}

pub(crate) fn check_server(server: RawServer, errors: &mut Vec<ConfigError>) -> ServerConfig {
    if server.max_body_bytes == 0 {
        errors.push(ConfigError::new(
            "server.max_body_bytes",
            "must be greater than 0",
        ));
    }
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
    ServerConfig {
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
    }
}
