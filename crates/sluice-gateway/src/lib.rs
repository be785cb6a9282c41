//! The Sluice gateway: the HTTP surface, the request path, config hot reload and the CLI.
//!
//! - [`server`]: binds, serves, drains on SIGTERM.
//! - [`stack`]: the request path, one layer per concern ([`layers`]), in request order;
//!   start reading here.
//! - [`dispatch`] and [`target`]: a chat request's chain of models, tried in one loop.
//! - [`ledger`]: every request metered exactly once.
//! - [`app`]: the other endpoints (models, route explanations, probes, metrics, admin).
//! - [`policy`]: which models a requested name maps to, and why.
//! - [`state`]: the live runtime (config + provider clients) swapped atomically on reload.
//! - [`reload`]: file watch + SIGHUP → validated config → new runtime.
//! - [`error`]: the one place errors become statuses and OpenAI-shaped bodies.

pub mod app;
pub mod auth;
pub mod breaker;
pub mod cache;
pub mod cascade;
pub mod clock;
pub mod dispatch;
pub mod embeddings;
pub mod error;
pub mod layers;
pub mod ledger;
pub mod limits;
pub mod local;
pub mod models;
pub mod policy;
pub mod protocols;
pub mod quality;
pub mod reload;
pub mod routing;
pub mod server;
pub mod stack;
pub mod state;
pub mod target;

/// Seconds since the Unix epoch (0 if the clock is before it): `created` fields and the
/// UTC windows of rate limits and budgets.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
