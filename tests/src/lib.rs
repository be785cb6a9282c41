//! Test support for Sluice.
//!
//! - [`mock`]: an OpenAI-compatible upstream on 127.0.0.1 that answers like the real API
//!   (chat completions, SSE streams with usage blocks) and misbehaves on request: 429 with
//!   `retry-after`, 5xx, hangs, slow starts, streams that break or stall, garbage. It records
//!   every request it got and the usage it billed, so tests can reconcile.
//! - [`gateway`]: starts the real `sluice` binary on an ephemeral port with a given YAML,
//!   collects its JSON logs, rewrites its config, signals it, and kills it on drop.

pub mod env;
pub mod gateway;
pub mod hub;
pub mod mock;
pub mod postgres;
pub mod prompts;
