use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

/// Why an upstream call failed. The gateway maps these to client statuses and decides on
/// fallback; the kind strings are metric label values.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("provider '{provider}' has no API key: environment variable {var} is not set")]
    MissingKey { provider: String, var: String },
    #[error("could not connect to provider '{provider}': {message}")]
    Connect { provider: String, message: String },
    #[error("provider '{provider}' did not answer within {after:?}")]
    Timeout { provider: String, after: Duration },
    #[error("provider '{provider}' returned HTTP {status}")]
    Status {
        provider: String,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    },
    #[error("provider '{provider}' sent a broken response: {message}")]
    Protocol { provider: String, message: String },
}

impl UpstreamError {
    /// Metric label for this failure.
    pub fn kind(&self) -> &'static str {
        match self {
            UpstreamError::MissingKey { .. } => "missing_key",
            UpstreamError::Connect { .. } => "connect",
            UpstreamError::Timeout { .. } => "timeout",
            UpstreamError::Protocol { .. } => "protocol",
            UpstreamError::Status { status, .. } => match status.as_u16() {
                429 => "status_429",
                400..=499 => "status_4xx",
                _ => "status_5xx",
            },
        }
    }

    /// Whether trying the same provider again may succeed (what the OpenAI SDKs retry).
    pub fn is_retryable(&self) -> bool {
        match self {
            UpstreamError::MissingKey { .. } => false,
            UpstreamError::Connect { .. }
            | UpstreamError::Timeout { .. }
            | UpstreamError::Protocol { .. } => true,
            UpstreamError::Status { status, .. } => {
                matches!(status.as_u16(), 408 | 409 | 429) || status.is_server_error()
            }
        }
    }

    /// Whether the request itself was at fault, so another model would refuse it too: the
    /// upstream's answer goes back to the client as is instead of trying a fallback.
    pub fn is_client_error(&self) -> bool {
        matches!(self, UpstreamError::Status { status, .. }
            if matches!(status.as_u16(), 400 | 413 | 415 | 422))
    }

    /// The wait the upstream asked for, from `retry-after-ms` or `retry-after` (seconds).
    pub fn retry_after(&self) -> Option<Duration> {
        let UpstreamError::Status { headers, .. } = self else {
            return None;
        };
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        if let Some(ms) = header("retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok()) {
            if ms.is_finite() && ms >= 0.0 {
                return Some(Duration::from_secs_f64(ms / 1000.0));
            }
        }
        header("retry-after")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64)
    }
}
