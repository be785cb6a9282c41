//! Forwarding an upstream SSE stream to the client, byte for byte.
//!
//! [`Relay`] yields exactly the bytes the upstream sent, while an [`SseScanner`] watches
//! them for the usage block, the model name and `[DONE]`. When the upstream breaks or goes
//! silent past the idle timeout, the client gets one OpenAI-shaped error event (the SDKs
//! raise it as an `APIError`) instead of a silently truncated stream. Whatever ends the
//! stream — completion, upstream failure, timeout, or the client going away (the body is
//! dropped) — the `on_end` callback runs exactly once, so accounting never double counts
//! nor misses a request.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream::{BoxStream, Stream};
use futures_util::StreamExt;
use sluice_api::chat::ResponseProbe;
use sluice_api::sse::{frame_data, SseScanner};
use sluice_api::{ErrorBody, Usage};
use tokio::time::Sleep;

/// How a relayed stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEnd {
    /// The upstream closed the stream normally.
    Completed,
    /// The upstream connection failed mid-stream.
    UpstreamFailed(String),
    /// No bytes for longer than the idle timeout.
    IdleTimeout,
    /// The client went away before the end.
    ClientGone,
}

/// What was seen on a relayed stream, handed to `on_end`.
#[derive(Debug, Clone)]
pub struct StreamSummary {
    pub end: StreamEnd,
    pub usage: Option<Usage>,
    pub model: Option<String>,
    pub saw_done: bool,
    pub events: u64,
    pub bytes: u64,
    /// When the first byte was handed to the client.
    pub first_byte_at: Option<Instant>,
}

type OnEnd = Box<dyn FnOnce(StreamSummary) + Send>;

pub struct Relay {
    first: Option<Bytes>,
    rest: BoxStream<'static, Result<Bytes, reqwest::Error>>,
    idle_timeout: Duration,
    idle: Pin<Box<Sleep>>,
    scanner: SseScanner,
    summary: StreamSummary,
    on_end: Option<OnEnd>,
    done: bool,
}

impl Relay {
    pub fn new(
        first: Bytes,
        rest: BoxStream<'static, Result<Bytes, reqwest::Error>>,
        idle_timeout: Duration,
        on_end: impl FnOnce(StreamSummary) + Send + 'static,
    ) -> Relay {
        Relay {
            first: Some(first),
            rest,
            idle_timeout,
            idle: Box::pin(tokio::time::sleep(idle_timeout)),
            scanner: SseScanner::new(),
            summary: StreamSummary {
                end: StreamEnd::ClientGone,
                usage: None,
                model: None,
                saw_done: false,
                events: 0,
                bytes: 0,
                first_byte_at: None,
            },
            on_end: Some(Box::new(on_end)),
            done: false,
        }
    }

    fn observe(&mut self, chunk: &Bytes) {
        let summary = &mut self.summary;
        summary.bytes += chunk.len() as u64;
        summary.first_byte_at.get_or_insert_with(Instant::now);
        self.scanner.push(chunk, |data| {
            summary.events += 1;
            if data == b"[DONE]" {
                summary.saw_done = true;
                return;
            }
            // Only chunks that carry a usage object (the final one), or the first chunk
            // (for the model name), are worth a JSON parse.
            if summary.model.is_none() || has_usage_object(data) {
                if let Some(probe) = ResponseProbe::parse(data) {
                    if summary.model.is_none() {
                        summary.model = probe.model;
                    }
                    if probe.usage.is_some() {
                        summary.usage = probe.usage;
                    }
                }
            }
        });
        let deadline = tokio::time::Instant::now() + self.idle_timeout;
        self.idle.as_mut().reset(deadline);
    }

    fn finish(&mut self, end: StreamEnd) {
        self.done = true;
        self.summary.end = end;
        if let Some(f) = self.on_end.take() {
            f(self.summary.clone());
        }
    }

    fn error_event(message: String) -> Bytes {
        let body = ErrorBody::new(message, "upstream_error", None, Some("stream_interrupted"));
        frame_data(&body.to_json())
    }
}

/// `"usage":{` (any spacing) somewhere in the event: a real usage block, not `"usage":null`.
fn has_usage_object(data: &[u8]) -> bool {
    let needle = b"\"usage\"";
    let mut rest = data;
    while let Some(i) = rest.windows(needle.len()).position(|w| w == needle) {
        rest = &rest[i + needle.len()..];
        let after = rest
            .iter()
            .skip_while(|b| b.is_ascii_whitespace() || **b == b':');
        if let Some(b'{') = after.into_iter().next() {
            return true;
        }
    }
    false
}

impl Stream for Relay {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(first) = this.first.take() {
            this.observe(&first);
            return Poll::Ready(Some(Ok(first)));
        }
        if this.done {
            return Poll::Ready(None);
        }
        match this.rest.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.observe(&chunk);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                let message = format!("upstream stream failed: {e}");
                this.finish(StreamEnd::UpstreamFailed(message.clone()));
                Poll::Ready(Some(Ok(Self::error_event(message))))
            }
            Poll::Ready(None) => {
                this.finish(StreamEnd::Completed);
                Poll::Ready(None)
            }
            Poll::Pending => match this.idle.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.finish(StreamEnd::IdleTimeout);
                    let message = format!(
                        "upstream sent nothing for {:?}; stream closed",
                        this.idle_timeout
                    );
                    Poll::Ready(Some(Ok(Self::error_event(message))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if self.on_end.is_some() {
            self.finish(StreamEnd::ClientGone);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_object_detection() {
        assert!(has_usage_object(
            br#"{"choices":[],"usage":{"prompt_tokens":1}}"#
        ));
        assert!(has_usage_object(br#"{"usage" : {"a":1}}"#));
        assert!(!has_usage_object(
            br#"{"choices":[{"delta":{}}],"usage":null}"#
        ));
        assert!(!has_usage_object(br#"{"text":"the \"usage\" word"}"#));
    }
}
