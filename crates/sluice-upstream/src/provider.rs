use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use sluice_config::ProviderConfig;

use crate::error::UpstreamError;

/// Largest non-streaming response body read from an upstream. Chat completions are a few
/// KiB; this only guards against a broken upstream exhausting memory.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// An OpenAI-compatible API with its own connection pool.
pub struct Provider {
    config: Arc<ProviderConfig>,
    client: reqwest::Client,
    chat_url: String,
    /// `Err(var)` when the configured variable is unset: requests fail fast (and fall back)
    /// instead of sending unauthenticated calls.
    api_key: Result<Option<SecretString>, String>,
}

/// A successful (2xx) upstream response, with the body read (non-streaming) or with its
/// first bytes already received (streaming).
pub struct UpstreamResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: ResponseBody,
}

pub enum ResponseBody {
    Full(Bytes),
    Stream {
        first: Bytes,
        rest: BoxStream<'static, Result<Bytes, reqwest::Error>>,
        idle_timeout: Duration,
        /// Whether to keep reading after the client leaves (provider's `on_client_disconnect`).
        drain_on_disconnect: bool,
    },
}

/// What happened across the attempts of one call, for metrics and logs.
#[derive(Debug, Default, Clone)]
pub struct AttemptLog {
    pub attempts: u32,
    /// Kind of each failed attempt, in order (see [`UpstreamError::kind`]).
    pub failures: Vec<&'static str>,
}

impl Provider {
    /// Builds the client. A missing API key variable is not an error here (the gateway
    /// warns and keeps serving other providers); calls through this provider fail until a
    /// reload finds it.
    pub fn new(config: Arc<ProviderConfig>) -> Result<Provider, reqwest::Error> {
        let mut default_headers = HeaderMap::new();
        for (k, v) in &config.headers {
            if let (Ok(k), Ok(v)) = (
                HeaderName::try_from(k.as_str()),
                HeaderValue::try_from(v.as_str()),
            ) {
                default_headers.insert(k, v);
            }
        }
        let mut builder = reqwest::Client::builder()
            .default_headers(default_headers)
            .connect_timeout(config.connect_timeout)
            .pool_max_idle_per_host(config.pool_max_idle_per_host)
            .pool_idle_timeout(config.pool_idle_timeout)
            .tcp_nodelay(true)
            .http2_adaptive_window(true)
            .user_agent(concat!("sluice/", env!("CARGO_PKG_VERSION")));
        if config.http2_prior_knowledge {
            builder = builder.http2_prior_knowledge();
        }
        let client = builder.build()?;
        let api_key = match &config.api_key_env {
            None => Ok(None),
            Some(var) => match std::env::var(var) {
                Ok(v) if !v.is_empty() => Ok(Some(SecretString::from(v))),
                _ => Err(var.clone()),
            },
        };
        Ok(Provider {
            chat_url: format!("{}/chat/completions", config.base_url),
            config,
            client,
            api_key,
        })
    }

    pub fn config(&self) -> &Arc<ProviderConfig> {
        &self.config
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The environment variable that should hold this provider's key but does not.
    pub fn missing_key(&self) -> Option<&str> {
        self.api_key.as_ref().err().map(String::as_str)
    }

    /// Sends a chat completion body, retrying as configured. `Ok` only for 2xx.
    pub async fn chat(
        &self,
        body: Bytes,
        stream: bool,
        request_id: &str,
        log: &mut AttemptLog,
    ) -> Result<UpstreamResponse, UpstreamError> {
        let api_key = match &self.api_key {
            Ok(k) => k.as_ref(),
            Err(var) => {
                log.failures.push("missing_key");
                return Err(UpstreamError::MissingKey {
                    provider: self.config.name.clone(),
                    var: var.clone(),
                });
            }
        };
        let mut attempt = 0u32;
        loop {
            log.attempts += 1;
            let err = match self
                .attempt(body.clone(), stream, request_id, api_key)
                .await
            {
                Ok(resp) => return Ok(resp),
                Err(e) => e,
            };
            log.failures.push(err.kind());
            if !err.is_retryable() || attempt >= self.config.max_retries {
                return Err(err);
            }
            let delay = match err.retry_after() {
                // The upstream wants longer than we are willing to hold the client: let the
                // next target in the chain serve instead.
                Some(after) if after > self.config.retry_max_backoff => return Err(err),
                Some(after) => after,
                None => backoff(
                    attempt,
                    self.config.retry_initial_backoff,
                    self.config.retry_max_backoff,
                ),
            };
            tracing::debug!(provider = %self.config.name, attempt, ?delay, error = %err, "retrying upstream");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        body: Bytes,
        stream: bool,
        request_id: &str,
        api_key: Option<&SecretString>,
    ) -> Result<UpstreamResponse, UpstreamError> {
        let mut req = self
            .client
            .post(&self.chat_url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header("x-request-id", request_id)
            .body(body);
        if stream {
            req = req.header(http::header::ACCEPT, "text/event-stream");
        }
        if let Some(key) = api_key {
            req = req.bearer_auth(key.expose_secret());
        }
        let timeout = self.config.timeout;
        let work = async {
            let resp = req.send().await.map_err(|e| self.map_reqwest(e))?;
            let status = resp.status();
            let headers = resp.headers().clone();
            if !status.is_success() || !stream {
                let body = self.read_body(resp).await?;
                if !status.is_success() {
                    return Err(UpstreamError::Status {
                        provider: self.config.name.clone(),
                        status,
                        headers,
                        body,
                    });
                }
                // A 200 that is not a JSON object (an HTML error page from a proxy, a
                // truncated body) is the upstream's failure, not an answer to relay.
                if !is_json_object(&body) {
                    return Err(UpstreamError::Protocol {
                        provider: self.config.name.clone(),
                        message: "answered 200 with a body that is not a JSON object".into(),
                    });
                }
                return Ok(UpstreamResponse {
                    status,
                    headers,
                    body: ResponseBody::Full(body),
                });
            }
            let mut rest = resp.bytes_stream().boxed();
            // Wait for real bytes before committing: a stream that dies here can still be
            // retried, because the client has seen nothing yet.
            let first = loop {
                match rest.next().await {
                    Some(Ok(b)) if b.is_empty() => continue,
                    Some(Ok(b)) => break b,
                    Some(Err(e)) => return Err(self.map_reqwest(e)),
                    None => {
                        return Err(UpstreamError::Protocol {
                            provider: self.config.name.clone(),
                            message: "stream ended before any data".into(),
                        })
                    }
                }
            };
            if !looks_like_sse(&first) {
                return Err(UpstreamError::Protocol {
                    provider: self.config.name.clone(),
                    message: "answered a stream request with something that is not an event stream"
                        .into(),
                });
            }
            Ok(UpstreamResponse {
                status,
                headers,
                body: ResponseBody::Stream {
                    first,
                    rest,
                    idle_timeout: self.config.stream_idle_timeout,
                    drain_on_disconnect: self.config.drain_on_disconnect,
                },
            })
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(UpstreamError::Timeout {
                provider: self.config.name.clone(),
                after: timeout,
            }),
        }
    }

    async fn read_body(&self, mut resp: reqwest::Response) -> Result<Bytes, UpstreamError> {
        let mut buf = Vec::with_capacity(resp.content_length().unwrap_or(0).min(1 << 20) as usize);
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.map_reqwest(e))? {
            if buf.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(UpstreamError::Protocol {
                    provider: self.config.name.clone(),
                    message: format!("response body larger than {MAX_RESPONSE_BYTES} bytes"),
                });
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.into())
    }

    fn map_reqwest(&self, e: reqwest::Error) -> UpstreamError {
        let provider = self.config.name.clone();
        // reqwest's Display omits the cause chain ("error sending request"); keep it all.
        let mut message = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            message.push_str(": ");
            message.push_str(&s.to_string());
            src = s.source();
        }
        if e.is_timeout() {
            UpstreamError::Timeout {
                provider,
                after: self.config.connect_timeout,
            }
        } else if e.is_connect() {
            UpstreamError::Connect { provider, message }
        } else {
            UpstreamError::Protocol { provider, message }
        }
    }
}

/// Exponential backoff with "equal jitter": half the step is fixed, half random, so
/// retries from many clients spread out but none retries immediately.
fn backoff(attempt: u32, initial: Duration, max: Duration) -> Duration {
    let step = initial
        .saturating_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX))
        .min(max);
    let half = step / 2;
    half + rand::rng().random_range(Duration::ZERO..=half)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let (i, m) = (Duration::from_millis(100), Duration::from_secs(1));
        for _ in 0..50 {
            let d0 = backoff(0, i, m);
            assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100));
            let d2 = backoff(2, i, m);
            assert!(d2 >= Duration::from_millis(200) && d2 <= Duration::from_millis(400));
            let d40 = backoff(40, i, m);
            assert!(d40 >= Duration::from_millis(500) && d40 <= m);
        }
    }

    #[test]
    fn retry_after_headers() {
        let mk = |name: &'static str, v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_static(v));
            UpstreamError::Status {
                provider: "p".into(),
                status: StatusCode::TOO_MANY_REQUESTS,
                headers: h,
                body: Bytes::new(),
            }
        };
        assert_eq!(
            mk("retry-after", "2").retry_after(),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            mk("retry-after-ms", "150").retry_after(),
            Some(Duration::from_millis(150))
        );
        assert_eq!(
            mk("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT").retry_after(),
            None
        );
        assert!(mk("retry-after", "1").is_retryable());
    }
}

fn is_json_object(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
        && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
}

/// Whether a stream's first bytes start with an SSE field line (`data:`, a `:` comment,
/// `event:`, `id:`, `retry:`), after an optional byte-order mark and blank lines.
fn looks_like_sse(first: &[u8]) -> bool {
    let b = first.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(first);
    let start = b
        .iter()
        .position(|c| !matches!(c, b'\r' | b'\n'))
        .unwrap_or(b.len());
    let b = &b[start..];
    if b.is_empty() {
        return true;
    }
    [&b"data"[..], b":", b"event", b"id", b"retry"]
        .iter()
        .any(|f| b.starts_with(f) || f.starts_with(b))
}

#[cfg(test)]
mod shape_tests {
    use super::*;

    #[test]
    fn body_shapes() {
        assert!(is_json_object(b" {\"a\": 1}"));
        assert!(!is_json_object(b"<html>"));
        assert!(!is_json_object(b"{\"a\": "));
        assert!(!is_json_object(b"[1]"));
        assert!(looks_like_sse(b"data: {}\n\n"));
        assert!(looks_like_sse(b": keep-alive\n\n"));
        assert!(looks_like_sse(b"\n\nevent: x\n"));
        assert!(looks_like_sse(b"da"), "a first chunk may end mid-word");
        assert!(!looks_like_sse(b"<html>this is not json"));
        assert!(!looks_like_sse(b"{\"error\": 1}"));
    }
}
