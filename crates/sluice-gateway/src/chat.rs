//! `POST /v1/chat/completions`: read and parse the body, resolve the route, try each model
//! of the chain in order, relay the first success (streamed or not), and account for the
//! request exactly once however it ends.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderName, HeaderValue};
use sluice_api::chat::{ChatCompletionRequest, ResponseProbe};
use sluice_api::{MessageContent, Usage};
use sluice_telemetry::pricing::{TokenPrices, Tokens};
use sluice_upstream::relay::{Relay, StreamEnd};
use sluice_upstream::{AttemptLog, ResponseBody, UpstreamError, UpstreamResponse};
use tower_http::request_id::RequestId;
use tracing::Span;

use crate::error::{describe, ApiError};
use crate::local::{self, LocalStream};
use crate::policy;
use crate::routing;
use crate::state::AppState;
use sluice_local::scheduler::{Event, SubmitError};
use sluice_router::policy::Decision;

pub const ROUTE_HEADER: &str = "x-sluice-route";
pub const REASON_HEADER: &str = "x-sluice-reason";
pub const SCORE_HEADER: &str = "x-sluice-score";

/// Label used before a request could be matched to a policy or model.
const NONE: &str = "none";

pub async fn chat_completions(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let request_id = parts
        .extensions
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let mut acct = Accounting::start(state.clone());
    // One runtime for the whole request: a reload mid-request does not affect it.
    let runtime = state.runtime.load_full();

    // Who is calling: before reading the body, any routing or any spend.
    let caller = match runtime.keys.authenticate(&parts.headers) {
        Ok(c) => c,
        Err(f) => {
            state
                .metrics
                .auth_failures
                .with_label_values(&[f.reason()])
                .inc();
            return acct.fail(f.to_error());
        }
    };
    acct.caller.clone_from(&caller);
    acct.stream_limit = runtime.config.server.max_stream_duration;

    // Limits: refuse oversized bodies before reading them when the client says the size.
    let limit = runtime.config.server.max_body_bytes;
    if content_length(&parts.headers).is_some_and(|len| len > limit) {
        return acct.fail(ApiError::body_too_large(limit));
    }
    let bytes = match axum::body::to_bytes(body, usize::try_from(limit).unwrap_or(usize::MAX)).await
    {
        Ok(b) => b,
        Err(e) if is_length_limit(&e) => return acct.fail(ApiError::body_too_large(limit)),
        Err(e) => return acct.fail(ApiError::bad_body(e)),
    };

    // Parse: typed where we need it, everything else kept for the upstream.
    let mut chat = match ChatCompletionRequest::from_slice(&bytes) {
        Ok(c) => c,
        Err(e) => return acct.fail(ApiError::parse(&e)),
    };
    if let Err(e) = check_sizes(&chat, &runtime.config.server) {
        return acct.fail(e);
    }

    // Route.
    let Some(mut route) = policy::resolve(&runtime.config, &chat.model) else {
        let names: Vec<&str> = runtime.config.exposed_names().map(|(n, _)| n).collect();
        return acct.fail(ApiError::unknown_model(&chat.model, &names));
    };
    // The key's permissions, rate limits and budget.
    if let Some(c) = &caller {
        let tenant = c.key.tenant.as_str();
        let outcome = |o: &str| {
            state
                .metrics
                .tenant_requests
                .with_label_values(&[tenant, o])
                .inc();
        };
        if !c.may_use(&chat.model) {
            outcome("forbidden_model");
            return acct.fail(c.forbidden(&chat.model));
        }
        match state.limiter.admit(c, &state.metrics).await {
            Err(e) => {
                outcome(if e.body.error.code.as_deref() == Some("budget_exceeded") {
                    "budget_rejected"
                } else {
                    "rate_limited"
                });
                return acct.fail(e);
            }
            // `downgrade_to` names a model (the config checks it as one), never a policy.
            Ok(adm) => match adm
                .downgrade_to
                .and_then(|m| policy::resolve_model(&runtime.config, &m))
            {
                Some(mut down) => {
                    if !c.may_reach(&runtime.config, down.label) {
                        outcome("forbidden_model");
                        return acct.fail(c.forbidden_target(down.label, "its budget's downgrade"));
                    }
                    outcome("budget_downgraded");
                    down.reason = format!(
                        "budget of key {} reached: downgraded to {}",
                        c.key.id, down.label
                    );
                    route = down;
                }
                None => outcome("allowed"),
            },
        }
    }
    acct.policy = route.label.to_owned();
    acct.span.record("policy", route.label);
    let stream = chat.is_stream();
    acct.prompt_bytes = chat
        .messages
        .iter()
        .map(|m| m.content.as_ref().map_or(0, MessageContent::text_len))
        .sum();
    acct.baseline = route
        .policy
        .and_then(|p| p.baseline.as_ref())
        .and_then(|b| runtime.config.models.get(b))
        .map(prices);
    // Cost needs the final usage block: ask for it even when the client did not, and take
    // it out again on the way back (see `Relay`).
    let strip_usage = stream && !chat.wants_stream_usage();
    if strip_usage {
        let opts = chat
            .stream_options
            .get_or_insert_with(|| sluice_api::chat::StreamOptions {
                include_usage: None,
                extra: Default::default(),
            });
        opts.include_usage = Some(true);
    }

    // Decide: rules, then (when needed) the embedding and the policy's heads.
    let mut score = None;
    let mut by_header = false;
    let (chain, mut reason) = match (route.policy, runtime.policies.get(route.label)) {
        (Some(pc), Some(compiled)) => {
            let embed_cfg = runtime.config.router.as_ref().map(|r| &r.embedder);
            let feats = routing::features(&chat, &parts.headers, embed_cfg);
            let routed = routing::decide(compiled, runtime.router.as_deref(), &feats).await;
            record_decision(&state, route.label, &routed, runtime.router.as_deref());
            match routed.decision {
                Decision::Reject { reason } => {
                    return acct.fail(ApiError::router_overloaded(&reason))
                }
                Decision::Route {
                    target,
                    score: s,
                    reason,
                    basis,
                } => {
                    score = s;
                    by_header = basis == sluice_router::policy::Basis::Header;
                    (routing::chain(&runtime.config, pc, &target), reason)
                }
            }
        }
        _ => (route.chain.clone(), route.reason.clone()),
    };

    // The key's permissions bound the final target, whatever chose it: a header override
    // outside them is refused; fallbacks outside them are skipped.
    let mut chain = chain;
    if let Some(c) = &caller {
        if let Some(first) = chain
            .first()
            .filter(|m| !c.may_reach(&runtime.config, &m.name))
        {
            state
                .metrics
                .tenant_requests
                .with_label_values(&[c.key.tenant.as_str(), "forbidden_model"])
                .inc();
            let by = if by_header {
                "the x-sluice-target header"
            } else {
                "the policy"
            };
            return acct.fail(c.forbidden_target(&first.name, by));
        }
        chain.retain(|m| c.may_reach(&runtime.config, &m.name));
    }

    // Dispatch along the chain.
    let mut failures = Vec::new();
    let mut last_error: Option<UpstreamError> = None;
    let mut i = 0;
    while let Some(&model) = chain.get(i) {
        i += 1;
        if model.local {
            let Some(local) = runtime.locals.get(&model.provider) else {
                continue;
            };
            acct.route = model.name.clone();
            acct.price = prices(model);
            // Rendering the template and tokenising a long prompt take milliseconds to
            // seconds of CPU: off the async workers, which serve every other request.
            let prepared = {
                let (local, chat, name) = (local.clone(), chat.clone(), model.name.clone());
                tokio::task::spawn_blocking(move || local.prepare(&chat, &name)).await
            };
            let gen = match prepared {
                Ok(Ok(g)) => g,
                Ok(Err(e)) => return acct.fail(e),
                Err(_) => {
                    return acct.fail(ApiError::unavailable(
                        "preparing the prompt for the local model failed unexpectedly",
                    ))
                }
            };
            let prompt_tokens = gen.prompt_ids.len();
            let err = match local.engine.submit(gen) {
                Ok(rx) => {
                    let served = LocalServed {
                        name: &model.upstream_model,
                        route: &model.name,
                        reason: &reason,
                        score,
                    };
                    return acct
                        .local(rx, served, stream, stream && !strip_usage, prompt_tokens)
                        .await;
                }
                Err(e) => e,
            };
            let (kind, why) = match &err {
                SubmitError::Overloaded(_) => ("queue_full", "its queue is full"),
                SubmitError::TooLarge { .. } => {
                    ("too_large", "the request exceeds its KV cache budget")
                }
                SubmitError::Closed => ("closed", "it has shut down"),
            };
            let metrics = &state.metrics;
            if !matches!(err, SubmitError::Closed) {
                metrics
                    .local_rejected
                    .with_label_values(&[&model.provider, kind])
                    .inc();
            }
            // The policy's overflow rule: on to the strong target (then the rest of the
            // chain), or refuse at once so the client retries later.
            let to_strong = route
                .policy
                .is_some_and(|p| p.overflow == sluice_config::Overflow::Strong);
            if to_strong {
                if let Some(strong) = route
                    .policy
                    .and_then(|p| p.strong.as_deref())
                    .and_then(|s| runtime.config.models.get(s))
                {
                    let permitted = caller
                        .as_ref()
                        .is_none_or(|c| c.may_reach(&runtime.config, &strong.name));
                    if permitted
                        && !chain[i..].iter().any(|m| m.name == strong.name)
                        && strong.name != model.name
                    {
                        chain.insert(i, strong);
                    }
                }
            }
            let next = chain
                .get(i)
                .filter(|_| to_strong || matches!(err, SubmitError::Closed));
            let Some(next) = next else {
                return acct.fail(match err {
                    SubmitError::Overloaded(_) => local::overloaded(&model.name, why),
                    SubmitError::TooLarge { .. } => local::too_large(&model.name, &err),
                    SubmitError::Closed => {
                        ApiError::unavailable(format!("local model '{}' has shut down", model.name))
                    }
                });
            };
            tracing::info!(from = %model.name, to = %next.name, "local model {why}; falling back");
            metrics
                .fallbacks
                .with_label_values(&[route.label, &model.name, &next.name])
                .inc();
            reason = format!(
                "{reason}; {} {why} ({kind}), fell back to {}",
                model.name, next.name
            );
            failures.push(format!("{}: {why}", model.name));
            continue;
        }
        let Some(provider) = runtime.providers.get(&model.provider) else {
            continue;
        };
        let pc = provider.config();
        let breaker = state.breakers.get(
            provider.name(),
            pc.breaker_failures,
            pc.breaker_cooldown,
            &state.metrics,
        );
        if !breaker.allow() {
            let why = format!(
                "{}: circuit open for provider {}",
                model.name,
                provider.name()
            );
            if let Some(next) = chain.get(i) {
                state
                    .metrics
                    .fallbacks
                    .with_label_values(&[route.label, &model.name, &next.name])
                    .inc();
                reason = format!(
                    "{reason}; {} skipped (circuit open), fell back to {}",
                    model.name, next.name
                );
            }
            failures.push(why);
            continue;
        }
        // Label and price the request with the model being tried, so one the client abandons
        // mid-call is still attributed to it.
        acct.route = model.name.clone();
        acct.price = prices(model);
        chat.model.clone_from(&model.upstream_model);
        let body = Bytes::from(chat.to_vec());
        let (result, log) = if stream {
            // A stream's body is relayed and, if the client leaves, drained for its usage.
            let mut log = AttemptLog::default();
            let r = provider.chat(body, true, &request_id, &mut log).await;
            (r, log)
        } else {
            match call_detached(provider.clone(), body, request_id.clone(), acct).await {
                Some((r, log, back)) => {
                    acct = back;
                    (r, log)
                }
                None => {
                    // The call's task died (a bug): it has accounted the request itself.
                    return ApiError::unavailable("the upstream call failed unexpectedly")
                        .into_response();
                }
            }
        };
        let metrics = &state.metrics;
        if log.attempts > 1 {
            metrics
                .upstream_retries
                .with_label_values(&[provider.name()])
                .inc_by(u64::from(log.attempts - 1));
        }
        for kind in &log.failures {
            metrics
                .upstream_errors
                .with_label_values(&[provider.name(), kind])
                .inc();
        }
        match &result {
            Ok(_) => breaker.success(),
            Err(e) if e.is_client_error() => breaker.success(),
            Err(_) => breaker.failure(),
        }
        match result {
            Ok(resp) => return acct.relay(resp, &model.name, &reason, score, strip_usage),
            Err(e) if e.is_client_error() => {
                return acct.relay_client_error(e, &model.name, &reason, score)
            }
            Err(e) => {
                let why = describe(&e);
                if let Some(next) = chain.get(i) {
                    tracing::info!(from = %model.name, to = %next.name, error = %why, "falling back");
                    metrics
                        .fallbacks
                        .with_label_values(&[route.label, &model.name, &next.name])
                        .inc();
                    reason = format!(
                        "{reason}; {} failed ({}), fell back to {}",
                        model.name,
                        e.kind(),
                        next.name
                    );
                }
                failures.push(format!("{}: {why}", model.name));
                last_error = Some(e);
            }
        }
    }
    if failures.is_empty() {
        return acct.fail(ApiError::unavailable(format!(
            "no target of '{}' is available",
            route.label
        )));
    }
    let summary = format!(
        "all {} target(s) of '{}' failed: {}",
        failures.len(),
        route.label,
        failures.join("; ")
    );
    tracing::warn!(policy = %route.label, error = %summary, "request failed");
    acct.fail(match last_error {
        Some(last) => ApiError::upstream_exhausted(&last, &summary),
        None => ApiError::unavailable(summary),
    })
}

/// Runs a non-streaming upstream call on its own task, holding the request's accounting. If
/// the client leaves meanwhile (the handler's future is dropped), the call still completes
/// and its usage is metered and charged to the key, as an abandoned stream's is: the
/// upstream bills it either way. Otherwise the result and the accounting come back.
async fn call_detached(
    provider: Arc<sluice_upstream::Provider>,
    body: Bytes,
    request_id: String,
    acct: Accounting,
) -> Option<(
    Result<UpstreamResponse, UpstreamError>,
    AttemptLog,
    Accounting,
)> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut log = AttemptLog::default();
        let result = provider.chat(body, false, &request_id, &mut log).await;
        if let Err((result, _, acct)) = tx.send((result, log, acct)) {
            acct.abandoned(result);
        }
    });
    rx.await.ok()
}

/// Ends a response stream that runs longer than `server.max_stream_duration` with one
/// OpenAI-shaped error event. The inner stream is dropped, which accounts for it the way a
/// client leaving does (the upstream drained or cancelled per the provider's setting).
struct Deadline<S> {
    inner: Option<std::pin::Pin<Box<S>>>,
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl<S> Deadline<S> {
    fn new(limit: std::time::Duration, inner: S) -> Deadline<S> {
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

/// Which local model answered, for headers and the response's `model` field.
struct LocalServed<'a> {
    name: &'a str,
    route: &'a str,
    reason: &'a str,
    score: Option<f32>,
}

/// Records one request's outcome exactly once: on error, on a relayed response, or at the
/// end of a relayed stream (whichever way it ends).
struct Accounting {
    state: Arc<AppState>,
    policy: String,
    route: String,
    start: Instant,
    span: Span,
    /// Prices of the model that answered, and of the policy's baseline model.
    price: TokenPrices,
    baseline: Option<TokenPrices>,
    /// Prompt text size, to estimate tokens when the upstream reports no usage.
    prompt_bytes: usize,
    /// The key the request authenticated with: its counters and tenant metrics.
    caller: Option<Arc<crate::auth::Caller>>,
    /// `server.max_stream_duration`.
    stream_limit: std::time::Duration,
    /// Set once recorded; a guard dropped unrecorded (the client left before an answer, so
    /// the handler future was dropped) records itself as `client_gone`.
    recorded: bool,
}

impl Drop for Accounting {
    fn drop(&mut self) {
        if !self.recorded {
            // 499: nginx's "client closed request"; counted in the 4xx class.
            self.record(499, "client_gone", None, None);
        }
    }
}

/// A model's configured prices in exact units (free when none are configured).
fn prices(m: &sluice_config::ModelConfig) -> TokenPrices {
    m.pricing.map_or_else(TokenPrices::default, |p| {
        TokenPrices::per_million(p.input, p.cached_input, p.output)
    })
}

impl Accounting {
    fn start(state: Arc<AppState>) -> Accounting {
        state.metrics.in_flight.inc();
        Accounting {
            state,
            policy: NONE.into(),
            route: NONE.into(),
            start: Instant::now(),
            span: Span::current(),
            price: TokenPrices::default(),
            baseline: None,
            prompt_bytes: 0,
            caller: None,
            stream_limit: std::time::Duration::MAX,
            recorded: false,
        }
    }

    fn fail(self, err: ApiError) -> Response {
        self.finish(err.status.as_u16(), "error", None, None);
        err.into_response()
    }

    /// Answers from a local model: the whole completion, or an SSE stream of it.
    async fn local(
        self,
        rx: tokio::sync::mpsc::UnboundedReceiver<Event>,
        served: LocalServed<'_>,
        stream: bool,
        include_usage: bool,
        prompt_tokens: usize,
    ) -> Response {
        let id = local::completion_id();
        let mut headers = HeaderMap::new();
        sluice_headers(&mut headers, served.route, served.reason, served.score);
        let body = if stream {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            let writer = sluice_api::completion::ChunkWriter {
                id,
                created: crate::unix_now(),
                model: served.name.to_owned(),
                include_usage,
            };
            let limit = self.stream_limit;
            Body::from_stream(Deadline::new(
                limit,
                LocalStream::new(rx, writer, prompt_tokens, move |end| {
                    if let Some(first) = end.first_token_at {
                        self.state
                            .metrics
                            .time_to_first_token
                            .with_label_values(&[&self.policy, &self.route])
                            .observe(first.saturating_duration_since(self.start).as_secs_f64());
                    }
                    self.finish(200, end.outcome, Some(end.usage), Some(end.content_bytes));
                }),
            ))
        } else {
            match local::collect(rx).await {
                Ok(out) => {
                    headers.insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                    let bytes = local::completion_body(&id, served.name, &out);
                    self.finish(
                        200,
                        "completed",
                        Some(local::usage_of(&out)),
                        Some(out.text.len() as u64),
                    );
                    Body::from(bytes)
                }
                Err(why) => {
                    tracing::warn!(model = %served.route, error = %why, "local generation failed");
                    return self.fail(ApiError::unavailable(format!(
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

    fn relay_client_error(
        self,
        e: UpstreamError,
        route: &str,
        reason: &str,
        score: Option<f32>,
    ) -> Response {
        let UpstreamError::Status {
            status,
            headers,
            body,
            ..
        } = e
        else {
            return self.fail(ApiError::unavailable("unexpected upstream error"));
        };
        self.finish(status.as_u16(), "upstream_rejected", None, None);
        let mut resp = Response::new(Body::from(body));
        *resp.status_mut() = status;
        *resp.headers_mut() = relay_headers(&headers);
        sluice_headers(resp.headers_mut(), route, reason, score);
        resp
    }

    /// A non-streaming call that completed after its client left: metered from the
    /// upstream's own usage (status 499, outcome `client_gone`).
    fn abandoned(self, result: Result<UpstreamResponse, UpstreamError>) {
        match result {
            Ok(UpstreamResponse {
                body: ResponseBody::Full(bytes),
                ..
            }) => {
                let probe = ResponseProbe::parse(&bytes);
                let content = probe.as_ref().map_or(0, |p| p.content_bytes() as u64);
                self.finish(
                    499,
                    "client_gone",
                    probe.and_then(|p| p.usage),
                    Some(content),
                );
            }
            _ => self.finish(499, "client_gone", None, None),
        }
    }

    fn relay(
        self,
        up: UpstreamResponse,
        route: &str,
        reason: &str,
        score: Option<f32>,
        strip_usage: bool,
    ) -> Response {
        let mut headers = relay_headers(&up.headers);
        sluice_headers(&mut headers, route, reason, score);
        let body = match up.body {
            ResponseBody::Full(bytes) => {
                let probe = ResponseProbe::parse(&bytes);
                let content = probe.as_ref().map_or(0, |p| p.content_bytes() as u64);
                self.finish(
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
                Body::from_stream(Deadline::new(
                    self.stream_limit,
                    Relay::new(
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
                                self.state
                                    .metrics
                                    .time_to_first_token
                                    .with_label_values(&[&self.policy, &self.route])
                                    .observe(
                                        first.saturating_duration_since(self.start).as_secs_f64(),
                                    );
                            }
                            self.finish(
                                status,
                                outcome,
                                summary.usage,
                                Some(summary.content_bytes),
                            );
                        },
                    ),
                ))
            }
        };
        let mut resp = Response::new(body);
        *resp.status_mut() = up.status;
        *resp.headers_mut() = headers;
        resp
    }

    /// `content_bytes` is `Some` when a model produced output (so tokens are owed even if
    /// the upstream reported no usage: they are then estimated at 4 bytes per token).
    fn finish(
        mut self,
        status: u16,
        outcome: &str,
        usage: Option<Usage>,
        content_bytes: Option<u64>,
    ) {
        self.record(status, outcome, usage, content_bytes);
    }

    fn record(
        &mut self,
        status: u16,
        outcome: &str,
        usage: Option<Usage>,
        content_bytes: Option<u64>,
    ) {
        self.recorded = true;
        let elapsed = self.start.elapsed();
        let m = &self.state.metrics;
        let tokens = match (usage, content_bytes) {
            (Some(u), _) => Some(Tokens {
                prompt: u.prompt_tokens,
                cached: u.cached_tokens(),
                completion: u.completion_tokens,
            }),
            (None, Some(bytes)) => {
                m.usage_estimated.with_label_values(&[&self.route]).inc();
                Some(Tokens {
                    prompt: (self.prompt_bytes as u64).div_ceil(4),
                    cached: 0,
                    completion: bytes.div_ceil(4),
                })
            }
            (None, None) => None,
        };
        if let Some(t) = tokens {
            let labels = [self.policy.as_str(), self.route.as_str()];
            for (kind, n) in [
                ("prompt", t.prompt),
                ("cached_prompt", t.cached),
                ("completion", t.completion),
            ] {
                m.tokens
                    .with_label_values(&[labels[0], labels[1], kind])
                    .inc_by(n);
            }
            let cost = self.price.cost(t);
            m.cost.add(&labels, cost);
            if let Some(c) = &self.caller {
                let tenant = [c.key.tenant.as_str()];
                m.tenant_tokens
                    .with_label_values(&tenant)
                    .inc_by(t.prompt + t.completion);
                m.tenant_cost.add(&tenant, cost);
                if let Ok(rt) = tokio::runtime::Handle::try_current() {
                    let (limiter, c) = (self.state.limiter.clone(), c.clone());
                    rt.spawn(
                        async move { limiter.record(&c, t.prompt + t.completion, cost).await },
                    );
                }
            }
            m.baseline_cost
                .add(&labels, self.baseline.map_or(cost, |b| b.cost(t)));
        }
        m.in_flight.dec();
        m.requests
            .with_label_values(&[
                &self.policy,
                &self.route,
                sluice_telemetry::status_class(status),
            ])
            .inc();
        m.request_duration
            .with_label_values(&[&self.policy, &self.route])
            .observe(elapsed.as_secs_f64());
        self.span.record("route", self.route.as_str());
        self.span.record("status", status);
        self.span
            .record("duration_ms", elapsed.as_secs_f64() * 1000.0);
        let _enter = self.span.enter();
        let (prompt, completion) = tokens.map_or((0, 0), |t| (t.prompt, t.completion));
        tracing::debug!(
            status,
            outcome,
            prompt_tokens = prompt,
            completion_tokens = completion,
            "request finished"
        );
    }
}

/// The server's limits on message count and size (the body size is checked while reading).
pub(crate) fn check_sizes(
    chat: &ChatCompletionRequest,
    limits: &sluice_config::ServerConfig,
) -> Result<(), ApiError> {
    let bad = |param: String, message: String| {
        ApiError::new(
            http::StatusCode::BAD_REQUEST,
            sluice_api::ErrorBody::invalid_request(
                message,
                Some(&param),
                Some("request_too_large"),
            ),
        )
    };
    if chat.messages.len() > limits.max_messages {
        return Err(bad(
            "messages".into(),
            format!(
                "{} messages is more than this gateway's limit of {} (server.max_messages)",
                chat.messages.len(),
                limits.max_messages
            ),
        ));
    }
    for (i, m) in chat.messages.iter().enumerate() {
        let len = m.content.as_ref().map_or(0, MessageContent::text_len);
        if len > limits.max_message_bytes {
            return Err(bad(
                format!("messages[{i}].content"),
                format!(
                    "message {i} has {len} bytes of text, more than this gateway's limit of {} (server.max_message_bytes)",
                    limits.max_message_bytes
                ),
            ));
        }
    }
    Ok(())
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if s.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        src = s.source();
    }
    false
}

/// Upstream response headers passed on to the client, by allow-list: what describes the
/// response itself. Everything else stays with the gateway: the upstream account's
/// organisation and project ids and its rate-limit state (`x-ratelimit-*` describe the
/// gateway's upstream key, not the client's; the gateway sends its own per-key ones),
/// cookies, hop-by-hop and framing headers. The upstream's request id is kept under another
/// name so the client's `x-request-id` stays the gateway's.
fn relay_headers(upstream: &HeaderMap) -> HeaderMap {
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

fn sluice_headers(headers: &mut HeaderMap, route: &str, reason: &str, score: Option<f32>) {
    headers.insert(HeaderName::from_static(ROUTE_HEADER), header_value(route));
    headers.insert(HeaderName::from_static(REASON_HEADER), header_value(reason));
    if let Some(s) = score {
        headers.insert(
            HeaderName::from_static(SCORE_HEADER),
            header_value(&format!("{s:.4}")),
        );
    }
}

/// Metrics for one routing decision.
pub fn record_decision(
    state: &AppState,
    policy: &str,
    routed: &routing::Routed,
    router: Option<&routing::RouterRuntime>,
) {
    let m = &state.metrics;
    if let Decision::Route {
        target,
        basis,
        score,
        ..
    } = &routed.decision
    {
        m.router_decisions
            .with_label_values(&[policy, target, basis.as_str()])
            .inc();
        if let Some(s) = score {
            let head = if matches!(basis, sluice_router::policy::Basis::Learned) {
                "learned"
            } else {
                "semantic"
            };
            m.router_score
                .with_label_values(&[policy, head])
                .observe(f64::from(*s));
        }
    } else {
        m.router_decisions
            .with_label_values(&[policy, "none", "overflow"])
            .inc();
    }
    if routed.overflowed {
        m.router_overflow.with_label_values(&[policy]).inc();
    }
    m.router_decision_duration
        .with_label_values(&[policy])
        .observe(routed.elapsed.as_secs_f64());
    if let Some(r) = router {
        m.router_queue_depth.set(r.embedder.queue_len() as i64);
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
