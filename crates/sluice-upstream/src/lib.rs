//! OpenAI-compatible upstream providers.
//!
//! A [`Provider`] owns one pooled HTTP client (HTTP/1.1 and HTTP/2) built from its
//! [`ProviderConfig`], and sends chat completion bodies with timeouts and retries: exponential
//! backoff with jitter on connect errors, timeouts, 408/409/429 (honouring `retry-after`) and
//! 5xx. A stream is only handed back once its first bytes have arrived, so every retry
//! happens before anything reaches the client. [`relay::Relay`] then forwards the stream
//! byte for byte while watching it for usage and for its end.
//!
//! Routing (which provider, which fallback) is the caller's business, not this crate's.
//!
//! [`ProviderConfig`]: sluice_config::ProviderConfig

mod error;
mod provider;
pub mod relay;

pub use error::UpstreamError;
pub use provider::{AttemptLog, Provider, ResponseBody, UpstreamResponse};
