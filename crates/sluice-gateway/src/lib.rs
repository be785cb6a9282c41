//! The Sluice gateway: the HTTP surface, the request path, config hot reload and the CLI.
//!
//! - [`server`]: binds, serves, drains on SIGTERM.
//! - [`app`]: the axum router and the tower stack around it, in request order.
//! - [`chat`]: `POST /v1/chat/completions` — parse, route, dispatch along the fallback chain,
//!   relay, account.
//! - [`policy`]: which models a requested name maps to, and why.
//! - [`state`]: the live runtime (config + provider clients) swapped atomically on reload.
//! - [`reload`]: file watch + SIGHUP → validated config → new runtime.
//! - [`error`]: the one place errors become statuses and OpenAI-shaped bodies.

pub mod admission;
pub mod app;
pub mod auth;
pub mod breaker;
pub mod chat;
pub mod error;
pub mod limits;
pub mod local;
pub mod models;
pub mod policy;
pub mod reload;
pub mod routing;
pub mod server;
pub mod state;

/// Seconds since the Unix epoch (0 if the clock is before it): `created` fields and the
/// UTC windows of rate limits and budgets.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
