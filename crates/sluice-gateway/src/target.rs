//! Targets: the models a request's chain tries, upstream or in-process, behind one shape.
//!
//! A [`Target`] takes one chat request and answers with the client's whole response — a
//! body, or a stream that settles the request's ledger entry when it ends — or with a
//! [`Failure`] that says whether the chain goes on. Dispatch is then a single loop over the
//! chain (see `dispatch.rs`); what differs between an HTTP provider and the local model
//! (circuit breakers and retries, queues and KV budgets) stays inside its target.

use std::future::Future;
use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{header, HeaderMap, HeaderName, HeaderValue};
use sluice_api::chat::{ChatCompletionRequest, ResponseProbe};
use sluice_config::ModelConfig;
use sluice_local::scheduler::{Event, SubmitError};
use sluice_upstream::relay::{Drain, Relay, StreamEnd};
use sluice_upstream::{AttemptLog, Provider, ResponseBody, UpstreamError, UpstreamResponse};

use crate::error::{describe, ApiError};
use crate::ledger::{prices, Entry, Meter};
use crate::local::{self, LocalStream, LocalTarget};
use crate::state::{AppState, Runtime};

pub const ROUTE_HEADER: &str = "x-sluice-route";
pub const REASON_HEADER: &str = "x-sluice-reason";
pub const SCORE_HEADER: &str = "x-sluice-score";
/// `accepted` (the local draft is the answer) or `escalated`, on cascade policies.
pub const CASCADE_HEADER: &str = "x-sluice-cascade";

/// One model of a chain, ready to call.
pub enum Target<'a> {
    Upstream {
        model: &'a ModelConfig,
        provider: Arc<Provider>,
    },
    Local {
        model: &'a ModelConfig,
        local: Arc<LocalTarget>,
    },
}

/// What a target is called with.
pub struct Call<'a> {
    pub state: &'a Arc<AppState>,
    /// The request as the client sent it (plus the usage request, see `strip_usage`); a
    /// target sets `model` to its own upstream name.
    pub chat: &'a mut ChatCompletionRequest,
    pub request_id: &'a str,
    /// The gateway asked for a usage block the client did not: take it out again.
    pub strip_usage: bool,
    /// `x-sluice-reason` and `x-sluice-score` for the response.
    pub reason: &'a str,
    pub score: Option<f32>,
    pub meter: &'a Meter,
    /// `server.max_stream_duration` of the config the request is pinned to.
    pub stream_limit: std::time::Duration,
    /// `x-sluice-cascade` for the answer: a cascade escalated to this target.
    pub cascade: Option<&'static str>,
}

/// Why a target did not answer, and what the chain does next.
#[derive(Debug)]
pub struct Failure {
    /// Short and fixed, for the reason header: `status_5xx`, `circuit_open`, `queue_full`…
    pub kind: &'static str,
    /// For people: the reason header and the final error's summary.
    pub why: String,
    pub next: Next,
    /// The upstream's own error, which shapes the final answer when every target failed.
    pub upstream: Option<UpstreamError>,
}

#[derive(Debug)]
pub enum Next {
    /// Try the next model of the chain.
    FallBack,
    /// The local model is full: the policy's overflow rule decides (on to `strong`, or
    /// refuse with this error).
    Overflow(ApiError),
    /// Answer with this error: the request itself cannot be served here.
    Stop(ApiError),
}

impl<'a> Target<'a> {
    /// The target for a configured model, if its provider exists in this runtime.
    pub fn of(runtime: &Runtime, model: &'a ModelConfig) -> Option<Target<'a>> {
        if model.local {
            let local = runtime.locals.get(&model.provider)?.clone();
            return Some(Target::Local { model, local });
        }
        let provider = runtime.providers.get(&model.provider)?.clone();
        Some(Target::Upstream { model, provider })
    }

    pub fn model(&self) -> &'a ModelConfig {
        match self {
            Target::Upstream { model, .. } | Target::Local { model, .. } => model,
        }
    }

    /// Calls the target. On `Ok` the response carries the request's ledger entry with it
    /// (taken from `call.meter`); on `Err` the entry is left for the next target.
    pub async fn call(&self, call: Call<'_>) -> Result<Response, Failure> {
        match self {
            Target::Upstream { model, provider } => upstream(model, provider, call).await,
            Target::Local { model, local } => local_call(model, local, call).await,
        }
    }
}

async fn upstream(
    model: &ModelConfig,
    provider: &Arc<Provider>,
    call: Call<'_>,
) -> Result<Response, Failure> {
    let state = call.state;
    let pc = provider.config();
    let breaker = state.breakers.get(
        provider.name(),
        pc.breaker_failures,
        pc.breaker_cooldown,
        &state.metrics,
    );
    if !breaker.allow() {
        return Err(Failure {
            kind: "circuit_open",
            why: format!("circuit open for provider {}", provider.name()),
            next: Next::FallBack,
            upstream: None,
        });
    }
    // Label and price the request with the model being tried, so one the client abandons
    // mid-call is still attributed to it.
    call.meter.update(|e| {
        e.route.clone_from(&model.name);
        e.price = prices(model);
    });
    call.chat.model.clone_from(&model.upstream_model);
    let body = Bytes::from(call.chat.to_vec());
    let stream = call.chat.is_stream();
    let (result, log) = if stream {
        // A stream's body is relayed and, if the client leaves, drained for its usage.
        let mut log = AttemptLog::default();
        let r = provider.chat(body, true, call.request_id, &mut log).await;
        (r, log)
    } else {
        call_detached(
            provider.clone(),
            body,
            call.request_id.to_owned(),
            call.meter.clone(),
        )
        .await
    };
    count_attempts(&state.metrics, provider.name(), &log);
    match &result {
        Ok(_) => breaker.success(),
        Err(e) if e.is_client_error() => breaker.success(),
        Err(_) => breaker.failure(),
    }
    let Some(entry) = call.meter.take() else {
        // Only a bug leaves no entry here; the request was accounted by whoever took it.
        return Err(Failure {
            kind: "internal",
            why: "the request's account was already settled".into(),
            next: Next::Stop(ApiError::unavailable(
                "the upstream call failed unexpectedly",
            )),
            upstream: None,
        });
    };
    let headers = Served {
        route: &model.name,
        reason: call.reason,
        score: call.score,
        stream_limit: call.stream_limit,
        cascade: call.cascade,
    };
    let with_cascade = |mut r: Response| {
        if let Some(c) = call.cascade {
            r.headers_mut()
                .insert(CASCADE_HEADER, HeaderValue::from_static(c));
        }
        r
    };
    match result {
        Ok(resp) => Ok(with_cascade(relay(entry, resp, &headers, call.strip_usage))),
        Err(e) if e.is_client_error() => Ok(with_cascade(relay_client_error(entry, e, &headers))),
        Err(e) => {
            // Not this target's request after all: back in the slot for the next one.
            call.meter.put(entry);
            Err(Failure {
                kind: e.kind(),
                why: describe(&e),
                next: Next::FallBack,
                upstream: Some(e),
            })
        }
    }
}

/// Retries and failed attempts of one call, by provider.
pub(crate) fn count_attempts(
    metrics: &sluice_telemetry::Metrics,
    provider: &str,
    log: &AttemptLog,
) {
    if log.attempts > 1 {
        metrics
            .upstream_retries
            .with_label_values(&[provider])
            .inc_by(u64::from(log.attempts - 1));
    }
    for kind in &log.failures {
        metrics
            .upstream_errors
            .with_label_values(&[provider, kind])
            .inc();
    }
}

/// Runs a non-streaming upstream call on its own task, holding a handle on the request's
/// ledger entry. If the client leaves meanwhile (the caller's future is dropped), the call
/// still completes and its usage is metered and charged to the key, as an abandoned
/// stream's is: the upstream bills it either way.
async fn call_detached(
    provider: Arc<Provider>,
    body: Bytes,
    request_id: String,
    meter: Meter,
) -> (Result<UpstreamResponse, UpstreamError>, AttemptLog) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let caller_side = provider.clone();
    tokio::spawn(async move {
        let mut log = AttemptLog::default();
        let result = provider.chat(body, false, &request_id, &mut log).await;
        if let Err((result, _)) = tx.send((result, log)) {
            if let Some(entry) = meter.take() {
                entry.abandoned(result);
            }
        }
    });
    rx.await.unwrap_or_else(|_| {
        (
            Err(UpstreamError::Connect {
                provider: caller_side.name().to_owned(),
                message: "the upstream call's task ended unexpectedly".into(),
            }),
            AttemptLog::default(),
        )
    })
}

async fn local_call(
    model: &ModelConfig,
    local: &Arc<LocalTarget>,
    call: Call<'_>,
) -> Result<Response, Failure> {
    let gen = prepare_local(model, local, &call).await?;
    let prompt_tokens = gen.prompt_ids.len();
    let rx = submit_local(model, local, call.state, gen)?;
    let entry = call.meter.take().ok_or_else(settled_already)?;
    let served = Served {
        route: &model.name,
        reason: call.reason,
        score: call.score,
        stream_limit: call.stream_limit,
        cascade: call.cascade,
    };
    let stream = call.chat.is_stream();
    Ok(local_answer(
        entry,
        rx,
        &model.upstream_model,
        &served,
        stream,
        stream && !call.strip_usage,
        prompt_tokens,
        Held::default(),
    )
    .await)
}

fn stop(e: ApiError, kind: &'static str) -> Failure {
    Failure {
        kind,
        why: e.body.error.message.clone(),
        next: Next::Stop(e),
        upstream: None,
    }
}

pub(crate) fn settled_already() -> Failure {
    stop(
        ApiError::unavailable("the request's account was already settled"),
        "internal",
    )
}

/// Labels the request with the local model and renders and tokenises its prompt.
pub(crate) async fn prepare_local(
    model: &ModelConfig,
    local: &Arc<LocalTarget>,
    call: &Call<'_>,
) -> Result<sluice_local::generate::GenRequest, Failure> {
    call.meter.update(|e| {
        e.route.clone_from(&model.name);
        e.price = prices(model);
    });
    // Rendering the template and tokenising a long prompt take milliseconds to seconds of
    // CPU: off the async workers, which serve every other request.
    let prepared = {
        let (local, chat, name) = (local.clone(), call.chat.clone(), model.name.clone());
        tokio::task::spawn_blocking(move || local.prepare(&chat, &name)).await
    };
    match prepared {
        Ok(Ok(g)) => Ok(g),
        Ok(Err(e)) => Err(stop(e, "invalid_request")),
        Err(_) => Err(stop(
            ApiError::unavailable("preparing the prompt for the local model failed unexpectedly"),
            "internal",
        )),
    }
}

/// Queues a generation; a full queue or KV budget leaves the decision to the policy's
/// overflow rule, a model that shut down to the next target.
// A `Failure` is built at most once per target tried: its size costs nothing that matters.
#[allow(clippy::result_large_err)]
pub(crate) fn submit_local(
    model: &ModelConfig,
    local: &Arc<LocalTarget>,
    state: &AppState,
    gen: sluice_local::generate::GenRequest,
) -> Result<tokio::sync::mpsc::Receiver<Event>, Failure> {
    let err = match local.engine.submit(gen) {
        Ok(rx) => return Ok(rx),
        Err(e) => e,
    };
    let (kind, why) = match &err {
        SubmitError::Overloaded(_) => ("queue_full", "its queue is full"),
        SubmitError::TooLarge { .. } => ("too_large", "the request exceeds its KV cache budget"),
        SubmitError::Closed => ("closed", "it has shut down"),
    };
    if !matches!(err, SubmitError::Closed) {
        state
            .metrics
            .local_rejected
            .with_label_values(&[&model.provider, kind])
            .inc();
    }
    let next = match err {
        SubmitError::Overloaded(_) => Next::Overflow(local::overloaded(&model.name, why)),
        SubmitError::TooLarge { .. } => Next::Overflow(local::too_large(&model.name, &err)),
        SubmitError::Closed => Next::FallBack,
    };
    Err(Failure {
        kind,
        why: why.to_owned(),
        next,
        upstream: None,
    })
}

/// Text a local generation produced before its answer started (a cascade's kept draft).
#[derive(Default)]
pub(crate) struct Held {
    pub pieces: Vec<String>,
    pub tokens: usize,
}

/// Which model answered and why, for the response's headers.
pub(crate) struct Served<'a> {
    pub route: &'a str,
    pub reason: &'a str,
    pub score: Option<f32>,
    pub stream_limit: std::time::Duration,
    /// `x-sluice-cascade`, when a cascade decided.
    pub cascade: Option<&'static str>,
}

/// Answers from a local model: the whole completion, or an SSE stream of it.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn local_answer(
    entry: Entry,
    rx: tokio::sync::mpsc::Receiver<Event>,
    name: &str,
    served: &Served<'_>,
    stream: bool,
    include_usage: bool,
    prompt_tokens: usize,
    held: Held,
) -> Response {
    let id = local::completion_id();
    let mut headers = HeaderMap::new();
    sluice_headers(&mut headers, served.route, served.reason, served.score);
    if let Some(c) = served.cascade {
        headers.insert(CASCADE_HEADER, HeaderValue::from_static(c));
    }
    let body = if stream {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        let writer = sluice_api::completion::ChunkWriter {
            id,
            created: crate::unix_now(),
            model: name.to_owned(),
            include_usage,
        };
        Body::from_stream(Deadline::new(
            served.stream_limit,
            LocalStream::new(rx, writer, prompt_tokens, move |end| {
                let mut entry = entry;
                if let Some(first) = end.first_token_at {
                    entry.first_token(first);
                }
                if entry.wants_text() && end.outcome == "completed" {
                    entry.answered(end.text);
                }
                entry.finish(200, end.outcome, Some(end.usage), Some(end.content_bytes));
            })
            .with_held(held.pieces, held.tokens),
        ))
    } else {
        match local::collect(rx).await {
            Ok(out) => {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                let bytes = local::completion_body(&id, name, &out);
                let mut entry = entry;
                if entry.wants_text() {
                    entry.answered(out.text.clone());
                }
                entry.finish(
                    200,
                    "completed",
                    Some(local::usage_of(&out)),
                    Some(out.text.len() as u64),
                );
                Body::from(bytes)
            }
            Err(why) => {
                tracing::warn!(model = %served.route, error = %why, "local generation failed");
                return entry.fail(ApiError::unavailable(format!(
                    "local model '{}' failed: {why}",
                    served.route
                )));
            }
        }
    };
    let mut resp = Response::new(body);
    *resp.headers_mut() = headers;
    resp
}

fn relay_client_error(entry: Entry, e: UpstreamError, served: &Served<'_>) -> Response {
    let UpstreamError::Status {
        status,
        headers,
        body,
        ..
    } = e
    else {
        return entry.fail(ApiError::unavailable("unexpected upstream error"));
    };
    entry.finish(status.as_u16(), "upstream_rejected", None, None);
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    *resp.headers_mut() = relay_headers(&headers);
    sluice_headers(
        resp.headers_mut(),
        served.route,
        served.reason,
        served.score,
    );
    resp
}

fn relay(entry: Entry, up: UpstreamResponse, served: &Served<'_>, strip_usage: bool) -> Response {
    let mut headers = relay_headers(&up.headers);
    sluice_headers(&mut headers, served.route, served.reason, served.score);
    let body = match up.body {
        ResponseBody::Full(bytes) => {
            let probe = ResponseProbe::parse(&bytes);
            let content = probe.as_ref().map_or(0, |p| p.content_bytes() as u64);
            let mut entry = entry;
            if entry.wants_text() {
                if let Some(text) = probe.as_ref().and_then(ResponseProbe::text) {
                    entry.answered(text);
                }
            }
            entry.finish(
                up.status.as_u16(),
                "completed",
                probe.and_then(|p| p.usage),
                Some(content),
            );
            Body::from(bytes)
        }
        ResponseBody::Stream {
            first,
            rest,
            idle_timeout,
            drain_on_disconnect,
        } => {
            let status = up.status.as_u16();
            let state = entry.state().clone();
            let slots = state.drain_slots.clone();
            let keep_text = entry.wants_text();
            let mut entry = entry;
            let relay = Relay::new(
                first,
                rest,
                idle_timeout,
                strip_usage,
                drain_on_disconnect,
                move |summary| {
                    let outcome = match summary.end {
                        StreamEnd::Completed => "completed",
                        StreamEnd::UpstreamFailed(_) => "stream_failed",
                        StreamEnd::IdleTimeout => "stream_timeout",
                        StreamEnd::ClientGone => "client_gone",
                    };
                    if let Some(first) = summary.first_byte_at {
                        entry.first_token(first);
                    }
                    if let (Some(text), "completed") = (summary.text, outcome) {
                        entry.answered(text);
                    }
                    entry.finish(status, outcome, summary.usage, Some(summary.content_bytes));
                    // After the request is recorded, so that a drain counted is a drain settled.
                    let fate = match summary.drain {
                        Drain::NotNeeded => None,
                        Drain::Drained => Some("drained"),
                        Drain::Cancelled => Some("cancelled"),
                    };
                    if let Some(fate) = fate {
                        state.metrics.stream_drains.with_label_values(&[fate]).inc();
                    }
                },
            )
            .with_drain_slots(slots);
            let relay = if keep_text { relay.keep_text() } else { relay };
            Body::from_stream(Deadline::new(served.stream_limit, relay))
        }
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = up.status;
    *resp.headers_mut() = headers;
    resp
}

/// Ends a response stream that runs longer than `server.max_stream_duration` with one
/// OpenAI-shaped error event. The inner stream is dropped, which accounts for it the way a
/// client leaving does (the upstream drained or cancelled per the provider's setting).
pub struct Deadline<S> {
    inner: Option<std::pin::Pin<Box<S>>>,
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl<S> Deadline<S> {
    pub fn new(limit: std::time::Duration, inner: S) -> Deadline<S> {
        let at = tokio::time::Instant::now()
            .checked_add(limit)
            .unwrap_or_else(|| {
                tokio::time::Instant::now() + std::time::Duration::from_secs(86_400 * 365)
            });
        Deadline {
            inner: Some(Box::pin(inner)),
            sleep: Box::pin(tokio::time::sleep_until(at)),
        }
    }
}

impl<S, E> futures_util::Stream for Deadline<S>
where
    S: futures_util::Stream<Item = Result<Bytes, E>>,
{
    type Item = Result<Bytes, E>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        if let Poll::Ready(item) = inner.as_mut().poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.inner = None;
            tracing::warn!("stream cut at server.max_stream_duration");
            let body = sluice_api::ErrorBody::new(
                "the response stream ran longer than this gateway allows (server.max_stream_duration)",
                "server_error",
                None,
                Some("stream_too_long"),
            );
            let mut out = sluice_api::sse::frame_data(&body.to_json()).to_vec();
            out.extend_from_slice(b"data: [DONE]\n\n");
            return Poll::Ready(Some(Ok(Bytes::from(out))));
        }
        Poll::Pending
    }
}

/// Upstream response headers passed on to the client, by allow-list: what describes the
/// response itself. Everything else stays with the gateway: the upstream account's
/// organisation and project ids and its rate-limit state (`x-ratelimit-*` describe the
/// gateway's upstream key, not the client's; the gateway sends its own per-key ones),
/// cookies, hop-by-hop and framing headers. The upstream's request id is kept under another
/// name so the client's `x-request-id` stays the gateway's.
pub fn relay_headers(upstream: &HeaderMap) -> HeaderMap {
    const RELAYED: &[&str] = &[
        "content-type",
        "cache-control",
        "retry-after",
        "retry-after-ms",
        "openai-processing-ms",
        "openai-version",
        "anthropic-version",
    ];
    let mut out = HeaderMap::with_capacity(4);
    for (name, value) in upstream {
        if name.as_str() == "x-request-id" || name.as_str() == "request-id" {
            out.append(
                HeaderName::from_static("x-upstream-request-id"),
                value.clone(),
            );
        } else if RELAYED.contains(&name.as_str()) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

pub fn sluice_headers(headers: &mut HeaderMap, route: &str, reason: &str, score: Option<f32>) {
    headers.insert(HeaderName::from_static(ROUTE_HEADER), header_value(route));
    headers.insert(HeaderName::from_static(REASON_HEADER), header_value(reason));
    if let Some(s) = score {
        headers.insert(
            HeaderName::from_static(SCORE_HEADER),
            header_value(&format!("{s:.4}")),
        );
    }
}

/// Header values must be visible ASCII; names from config may not be.
fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| {
        let clean: String = s
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '?'
                }
            })
            .collect();
        HeaderValue::from_str(&clean).unwrap_or(HeaderValue::from_static("-"))
    })
}
