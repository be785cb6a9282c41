//! Forwarding an upstream SSE stream to the client, byte for byte.
//!
//! [`Relay`] yields exactly the bytes the upstream sent, while an [`SseScanner`] watches
//! them for the usage block, the model name and `[DONE]`. When the upstream breaks or goes
//! silent past the idle timeout, the client gets one OpenAI-shaped error event (the SDKs
//! raise it as an `APIError`) instead of a silently truncated stream. Whatever ends the
//! stream — completion, upstream failure, timeout, or the client going away (the body is
//! dropped) — the `on_end` callback runs exactly once, so accounting never double counts
//! nor misses a request.
//!
//! When the gateway asked the upstream for a usage block the client did not request
//! (`strip_usage`), the relay re-frames the stream event by event instead: the usage-only
//! final chunk is dropped and the `"usage":null` fields the upstream adds to every other
//! chunk are removed, so the client sees exactly what it asked for.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{BoxStream, Stream};
use futures_util::StreamExt;
use sluice_api::chat::ResponseProbe;
use sluice_api::sse::{frame_data, SseScanner};
use sluice_api::{ErrorBody, Usage};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

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
    /// Bytes of generated text seen, to estimate tokens when no usage arrives.
    pub content_bytes: u64,
    /// The generated text (first choice), when the relay was asked to keep it.
    pub text: Option<String>,
    pub bytes: u64,
    /// When the first byte was handed to the client.
    pub first_byte_at: Option<Instant>,
    /// What happened to the rest of the stream when the client left before its end.
    pub drain: Drain,
}

/// The fate of an abandoned stream's remainder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drain {
    /// The client did not leave early, or the provider cancels abandoned streams.
    NotNeeded,
    /// Read to its end in the background: the usage is the upstream's own.
    Drained,
    /// Every drain slot was taken: cancelled, so its tokens are estimated.
    Cancelled,
}

type OnEnd = Box<dyn FnOnce(StreamSummary) + Send>;

/// The most text a relay keeps for its summary (1 MiB).
pub const MAX_TEXT: usize = 1 << 20;

pub struct Relay {
    first: Option<Bytes>,
    rest: BoxStream<'static, Result<Bytes, reqwest::Error>>,
    idle_timeout: Duration,
    idle: Pin<Box<Sleep>>,
    scanner: SseScanner,
    summary: StreamSummary,
    on_end: Option<OnEnd>,
    done: bool,
    strip_usage: bool,
    /// Keep reading the upstream after the client left, to account its real usage.
    drain_on_disconnect: bool,
    /// This relay is such a drain: its client is already gone.
    draining: bool,
    /// Bounds the drains running at once; `None` leaves them unbounded.
    drain_slots: Option<Arc<Semaphore>>,
    /// A drain holds its slot until it ends.
    _slot: Option<OwnedSemaphorePermit>,
}

impl Relay {
    pub fn new(
        first: Bytes,
        rest: BoxStream<'static, Result<Bytes, reqwest::Error>>,
        idle_timeout: Duration,
        strip_usage: bool,
        drain_on_disconnect: bool,
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
                content_bytes: 0,
                text: None,
                bytes: 0,
                first_byte_at: None,
                drain: Drain::NotNeeded,
            },
            on_end: Some(Box::new(on_end)),
            done: false,
            strip_usage,
            drain_on_disconnect,
            draining: false,
            drain_slots: None,
            _slot: None,
        }
    }

    /// Keeps the generated text (first choice) for the summary, up to [`MAX_TEXT`] bytes.
    #[must_use]
    pub fn keep_text(mut self) -> Relay {
        self.summary.text = Some(String::new());
        self
    }

    /// At most as many abandoned streams as `slots` has permits are drained at once; the
    /// others are cancelled (and their summary says so), so a wave of clients leaving
    /// cannot pile up background reads.
    #[must_use]
    pub fn with_drain_slots(mut self, slots: Arc<Semaphore>) -> Relay {
        self.drain_slots = Some(slots);
        self
    }

    /// Watches one upstream chunk and returns what the client gets: the same bytes, or in
    /// strip mode the complete events re-framed without the usage the client did not ask for
    /// (possibly empty, when the chunk completed no event).
    fn process(&mut self, chunk: Bytes) -> Bytes {
        let summary = &mut self.summary;
        summary.bytes += chunk.len() as u64;
        let strip = self.strip_usage;
        let mut out = Vec::new();
        self.scanner.push(&chunk, |data| {
            summary.events += 1;
            if data == b"[DONE]" {
                summary.saw_done = true;
                if strip {
                    out.extend_from_slice(b"data: [DONE]\n\n");
                }
                return;
            }
            let probe = ResponseProbe::parse(data);
            if let Some(p) = &probe {
                if summary.model.is_none() {
                    summary.model.clone_from(&p.model);
                }
                if p.usage.is_some() {
                    summary.usage = p.usage;
                }
                summary.content_bytes += p.content_bytes() as u64;
                if let (Some(text), Some(piece)) = (summary.text.as_mut(), p.text()) {
                    if text.len() + piece.len() <= MAX_TEXT {
                        text.push_str(piece);
                    }
                }
            }
            if strip {
                if probe.as_ref().is_some_and(ResponseProbe::is_usage_only) {
                    return;
                }
                out.extend_from_slice(b"data: ");
                out.extend_from_slice(&remove_all(data, b",\"usage\":null"));
                out.extend_from_slice(b"\n\n");
            }
        });
        let deadline = tokio::time::Instant::now() + self.idle_timeout;
        self.idle.as_mut().reset(deadline);
        let out = if strip { Bytes::from(out) } else { chunk };
        if !out.is_empty() {
            self.summary.first_byte_at.get_or_insert_with(Instant::now);
        }
        out
    }

    fn finish(&mut self, end: StreamEnd) {
        self.done = true;
        self.summary.end = if self.draining {
            StreamEnd::ClientGone
        } else {
            end
        };
        if let Some(f) = self.on_end.take() {
            f(self.summary.clone());
        }
    }

    fn error_event(message: String) -> Bytes {
        let body = ErrorBody::new(message, "upstream_error", None, Some("stream_interrupted"));
        frame_data(&body.to_json())
    }
}

/// `data` without any occurrence of `pat`. Only used for `,"usage":null`, which cannot occur
/// inside a JSON string (its quotes would be escaped there).
fn remove_all(data: &[u8], pat: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut rest = data;
    while let Some(i) = rest.windows(pat.len()).position(|w| w == pat) {
        out.extend_from_slice(&rest[..i]);
        rest = &rest[i + pat.len()..];
    }
    out.extend_from_slice(rest);
    out
}

impl Stream for Relay {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(first) = this.first.take() {
            let out = this.process(first);
            if !out.is_empty() {
                return Poll::Ready(Some(Ok(out)));
            }
        }
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            match this.rest.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    let out = this.process(chunk);
                    // In strip mode a chunk may complete no event yet: keep reading.
                    if !out.is_empty() {
                        return Poll::Ready(Some(Ok(out)));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    let message = format!("upstream stream failed: {e}");
                    this.finish(StreamEnd::UpstreamFailed(message.clone()));
                    return Poll::Ready(Some(Ok(Self::error_event(message))));
                }
                Poll::Ready(None) => {
                    this.finish(StreamEnd::Completed);
                    return Poll::Ready(None);
                }
                Poll::Pending => {
                    return match this.idle.as_mut().poll(cx) {
                        Poll::Ready(()) => {
                            this.finish(StreamEnd::IdleTimeout);
                            let message = format!(
                                "upstream sent nothing for {:?}; stream closed",
                                this.idle_timeout
                            );
                            Poll::Ready(Some(Ok(Self::error_event(message))))
                        }
                        Poll::Pending => Poll::Pending,
                    };
                }
            }
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let Some(on_end) = self.on_end.take() else {
            return;
        };
        let wants_drain = self.drain_on_disconnect && !self.draining && !self.done;
        let handle = tokio::runtime::Handle::try_current()
            .ok()
            .filter(|_| wants_drain);
        let slot = match (&handle, &self.drain_slots) {
            (Some(_), Some(slots)) => slots.clone().try_acquire_owned().map(Some).map_err(|_| ()),
            _ => Ok(None),
        };
        match (handle, slot) {
            // The client went away mid-stream: read the upstream to its end in the
            // background, so the usage block (and so the exact cost) still arrives.
            (Some(handle), Ok(slot)) => {
                let mut summary = self.summary.clone();
                summary.drain = Drain::Drained;
                let drain = Relay {
                    first: None,
                    rest: std::mem::replace(&mut self.rest, futures_util::stream::empty().boxed()),
                    idle_timeout: self.idle_timeout,
                    idle: Box::pin(tokio::time::sleep(self.idle_timeout)),
                    scanner: std::mem::take(&mut self.scanner),
                    summary,
                    on_end: Some(on_end),
                    done: false,
                    strip_usage: false,
                    drain_on_disconnect: false,
                    draining: true,
                    drain_slots: None,
                    _slot: slot,
                };
                handle.spawn(async move {
                    let mut drain = drain;
                    while drain.next().await.is_some() {}
                });
            }
            (handle, slot) => {
                self.summary.end = StreamEnd::ClientGone;
                if handle.is_some() && slot.is_err() {
                    self.summary.drain = Drain::Cancelled;
                }
                on_end(self.summary.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_all_occurrences() {
        assert_eq!(
            remove_all(
                br#"{"a":1,"usage":null,"b":{"c":2,"usage":null}}"#,
                br#","usage":null"#
            ),
            br#"{"a":1,"b":{"c":2}}"#.to_vec()
        );
        assert_eq!(remove_all(b"abc", b"zz"), b"abc".to_vec());
    }

    fn relay(
        drain: bool,
        idle: Duration,
    ) -> (Relay, tokio::sync::mpsc::UnboundedReceiver<StreamSummary>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let r = Relay::new(
            Bytes::from_static(b"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n"),
            futures_util::stream::pending().boxed(),
            idle,
            false,
            drain,
            move |s| {
                let _ = tx.send(s);
            },
        );
        (r, rx)
    }

    /// An upstream that goes silent gets the idle timeout exactly, on paused time.
    #[tokio::test(start_paused = true)]
    async fn silence_ends_the_stream_at_the_idle_timeout() {
        let idle = Duration::from_secs(5);
        let (mut r, mut ends) = relay(false, idle);
        let started = Instant::now();
        assert!(r.next().await.is_some(), "the first chunk");
        let err = r.next().await.unwrap().unwrap();
        assert_eq!(started.elapsed(), idle);
        assert!(std::str::from_utf8(&err)
            .unwrap()
            .contains("stream_interrupted"));
        assert!(r.next().await.is_none());
        let s = ends.recv().await.unwrap();
        assert_eq!(s.end, StreamEnd::IdleTimeout);
        assert_eq!(s.content_bytes, 2);
    }

    /// With one drain slot, the first abandoned stream is drained and the second cancelled
    /// at once; the slot is free again when the drain ends.
    #[tokio::test(start_paused = true)]
    async fn drains_are_bounded_by_their_slots() {
        let slots = Arc::new(Semaphore::new(1));
        let idle = Duration::from_secs(5);
        let (a, mut a_end) = relay(true, idle);
        let (b, mut b_end) = relay(true, idle);
        let (mut a, mut b) = (
            a.with_drain_slots(slots.clone()),
            b.with_drain_slots(slots.clone()),
        );
        a.next().await.unwrap().unwrap();
        b.next().await.unwrap().unwrap();
        drop(a);
        drop(b);
        let cancelled = b_end.recv().await.unwrap();
        assert_eq!(cancelled.drain, Drain::Cancelled);
        assert_eq!(cancelled.end, StreamEnd::ClientGone);
        assert_eq!(slots.available_permits(), 0, "the drain holds the slot");
        // The drain reads until the upstream ends (here: its idle timeout).
        let drained = a_end.recv().await.unwrap();
        assert_eq!(drained.drain, Drain::Drained);
        assert_eq!(drained.end, StreamEnd::ClientGone);
        tokio::task::yield_now().await;
        assert_eq!(slots.available_permits(), 1);
    }
}
