use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use sluice_api::anthropic::{self, ChatFromEvents, MessagesRequest};
use sluice_api::sse::SseScanner;
use sluice_config::{Protocol, ProviderConfig};

use crate::error::UpstreamError;

/// Largest non-streaming response body read from an upstream. Chat completions are a few
/// KiB; this only guards against a broken upstream exhausting memory.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// An HTTP model API with its own connection pool: OpenAI-compatible, or Anthropic's
/// Messages API, which it speaks to the rest of the gateway as chat completions.
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
        let chat_url = match config.protocol {
            Protocol::OpenAi => format!("{}/chat/completions", config.base_url),
            Protocol::Anthropic { .. } => format!("{}/messages", config.base_url),
        };
        Ok(Provider {
            chat_url,
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
        let api_key = self.key(log)?;
        let include_usage;
        let body = match &self.config.protocol {
            Protocol::OpenAi => {
                include_usage = false;
                body
            }
            Protocol::Anthropic { .. } => {
                let chat = sluice_api::ChatCompletionRequest::from_slice(&body).map_err(|e| {
                    UpstreamError::Protocol {
                        provider: self.config.name.clone(),
                        message: format!("could not translate the request to Messages: {e}"),
                    }
                })?;
                include_usage = chat.wants_stream_usage();
                Bytes::from(MessagesRequest::from_chat(&chat).to_vec())
            }
        };
        self.with_retries(log, || async {
            match self
                .attempt(&self.chat_url, body.clone(), stream, request_id, api_key)
                .await
            {
                Ok(resp) => self.to_chat(resp, include_usage).await,
                Err(e) => Err(self.error_to_chat(e)),
            }
        })
        .await
    }

    /// Sends an embeddings body to `{base_url}/embeddings`, retrying as configured.
    pub async fn embeddings(
        &self,
        body: Bytes,
        request_id: &str,
        log: &mut AttemptLog,
    ) -> Result<UpstreamResponse, UpstreamError> {
        if let Protocol::Anthropic { .. } = self.config.protocol {
            return Err(UpstreamError::Protocol {
                provider: self.config.name.clone(),
                message: "Anthropic's API has no embeddings endpoint".into(),
            });
        }
        let api_key = self.key(log)?;
        let url = format!("{}/embeddings", self.config.base_url);
        self.with_retries(log, || {
            self.attempt(&url, body.clone(), false, request_id, api_key)
        })
        .await
    }

    // The error is the caller's own result type: boxing it here would only move the cost.
    #[allow(clippy::result_large_err)]
    fn key(&self, log: &mut AttemptLog) -> Result<Option<&SecretString>, UpstreamError> {
        match &self.api_key {
            Ok(k) => Ok(k.as_ref()),
            Err(var) => {
                log.failures.push("missing_key");
                Err(UpstreamError::MissingKey {
                    provider: self.config.name.clone(),
                    var: var.clone(),
                })
            }
        }
    }

    /// Runs `once` until it succeeds, fails for good, or the retries are spent; waits
    /// between attempts as the upstream asks (`retry-after`) or with jittered backoff.
    async fn with_retries<F, Fut>(
        &self,
        log: &mut AttemptLog,
        mut once: F,
    ) -> Result<UpstreamResponse, UpstreamError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<UpstreamResponse, UpstreamError>>,
    {
        let mut attempt = 0u32;
        loop {
            log.attempts += 1;
            let err = match once().await {
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
        url: &str,
        body: Bytes,
        stream: bool,
        request_id: &str,
        api_key: Option<&SecretString>,
    ) -> Result<UpstreamResponse, UpstreamError> {
        let mut req = self
            .client
            .post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header("x-request-id", request_id)
            .body(body);
        if stream {
            req = req.header(http::header::ACCEPT, "text/event-stream");
        }
        match (&self.config.protocol, api_key) {
            (Protocol::OpenAi, Some(key)) => req = req.bearer_auth(key.expose_secret()),
            (Protocol::OpenAi, None) => {}
            (Protocol::Anthropic { version }, key) => {
                req = req.header("anthropic-version", version.as_str());
                if let Some(key) = key {
                    req = req.header("x-api-key", key.expose_secret());
                }
            }
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

    /// An Anthropic answer as the chat completion (or chunk stream) the gateway reads.
    async fn to_chat(
        &self,
        resp: UpstreamResponse,
        include_usage: bool,
    ) -> Result<UpstreamResponse, UpstreamError> {
        if self.config.protocol == Protocol::OpenAi {
            return Ok(resp);
        }
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let body = match resp.body {
            ResponseBody::Full(b) => {
                let message: serde_json::Value = serde_json::from_slice(&b).unwrap_or_default();
                let chat = anthropic::chat_from_message(&message, created);
                ResponseBody::Full(Bytes::from(serde_json::to_vec(&chat).unwrap_or_default()))
            }
            ResponseBody::Stream {
                first,
                rest,
                idle_timeout,
                drain_on_disconnect,
            } => {
                let mut scanner = SseScanner::new();
                let mut events = ChatFromEvents::new(created, include_usage);
                let all = futures_util::stream::once(async move { Ok(first) }).chain(rest);
                let mut translated = all
                    .map(move |chunk| {
                        chunk.map(|bytes| {
                            let mut out = Vec::new();
                            scanner.push(&bytes, |data| out.extend(events.push(data)));
                            Bytes::from(out)
                        })
                    })
                    .boxed();
                // The gateway's relay wants real first bytes: `message_start` makes them,
                // so this waits at most for the upstream's first event. Later chunks that
                // translate to nothing (pings) still go through: they are what keeps the
                // relay's idle timer from firing on a slow answer.
                let first = match translated
                    .by_ref()
                    .filter(|c| futures_util::future::ready(!matches!(c, Ok(b) if b.is_empty())))
                    .next()
                    .await
                {
                    Some(Ok(b)) => b,
                    Some(Err(e)) => return Err(self.map_reqwest(e)),
                    None => {
                        return Err(UpstreamError::Protocol {
                            provider: self.config.name.clone(),
                            message: "the Messages stream ended before its first event".into(),
                        })
                    }
                };
                ResponseBody::Stream {
                    first,
                    rest: translated,
                    idle_timeout,
                    drain_on_disconnect,
                }
            }
        };
        Ok(UpstreamResponse {
            status: resp.status,
            headers: resp.headers,
            body,
        })
    }

    /// An Anthropic error body in OpenAI's shape, which is what clients of the gateway
    /// and its relay read.
    fn error_to_chat(&self, e: UpstreamError) -> UpstreamError {
        match (&self.config.protocol, e) {
            (
                Protocol::Anthropic { .. },
                UpstreamError::Status {
                    provider,
                    status,
                    headers,
                    body,
                },
            ) => {
                let body = anthropic::error_to_openai(status.as_u16(), &body);
                UpstreamError::Status {
                    provider,
                    status,
                    headers,
                    body: Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
                }
            }
            (_, e) => e,
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
