//! The response cache on the request path (see `crate::cache`), in two layers: the exact
//! match before routing (a hit costs no embedding), the semantic one after routing, so that a
//! semantic lookup reuses the routing embedding (a policy that routes without one has its
//! last message embedded here, when a router is configured) and a hit still leaves its
//! outcome row; before dispatch, so that a hit calls no model.
//!
//! A hit is answered here in the shape the client asked for (a completion, or the same
//! answer as an event stream) with `x-sluice-cache: hit` or `semantic`, and accounted by
//! the ledger under the route `cache` at no cost: against the policy's baseline it counts
//! as savings. A miss goes on to dispatch (`x-sluice-cache: miss`) and its answer, once
//! complete, is stored.
//!
//! Reads: `Pinned`, `Who`, `Parsed`, `Decision`, `Meter`.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{header, HeaderValue};
use sluice_api::completion::{ChatCompletion, ChunkWriter};
use sluice_api::sse::SseScanner;
use sluice_api::Usage;
use sluice_config::CacheConfig;
use sluice_telemetry::pricing::{TokenPrices, Tokens};

use crate::cache::{Answer, Lookup, Probe};
use crate::layers::auth::{Pinned, Who};
use crate::layers::limits::Parsed;
use crate::layers::route::Decision;
use crate::ledger::{prices, Meter};
use crate::state::AppState;
use crate::target::{REASON_HEADER, ROUTE_HEADER};

pub const CACHE_HEADER: &str = "x-sluice-cache";

/// The route label of answers served from the cache.
pub const CACHE_ROUTE: &str = "cache";

/// Largest answer kept (bytes of completion body or stream).
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// Expiry runs on the gateway's clock (which tests move), to the second.
fn now_ms(state: &AppState) -> u64 {
    state.clock.unix_secs() * 1000
}

/// What the exact layer learned, for the semantic layer and for storing the answer.
#[derive(Clone)]
pub struct CacheProbe(Arc<ProbeState>);

struct ProbeState {
    probe: Probe,
    config: CacheConfig,
    /// The bucket's entries, fetched once for both lookups; `None` when the store could
    /// not be read.
    entries: Option<Vec<Arc<crate::cache::Cached>>>,
    /// The embedding the semantic layer used, stored with the answer.
    embedding: Mutex<Option<Vec<f32>>>,
    /// The semantic layer's lookup result, when it ran.
    result: Mutex<Option<&'static str>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Before routing: the exact match.
pub async fn exact(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let Some((probe, config)) = prepare(&req) else {
        return next.run(req).await;
    };
    let m = &state.metrics.cache;
    let mut entries = None;
    if probe.lookup {
        match state.cache.fetch(&probe).await {
            Ok(e) => entries = Some(e),
            Err(_) => {
                m.lookups
                    .with_label_values(&[probe.policy.as_str(), "error"])
                    .inc();
            }
        }
        if let Some(e) = entries
            .as_deref()
            .and_then(|e| crate::cache::exact(e, &probe, now_ms(&state)))
        {
            m.lookups
                .with_label_values(&[probe.policy.as_str(), "hit"])
                .inc();
            // Routing did not run: the ledger entry and outcome row learn the policy here.
            let ext = req.extensions();
            let runtime = ext.get::<Pinned>().map(|p| &p.0);
            let policy = runtime.and_then(|r| r.config.policies.get(&probe.policy));
            if let (Some(meter), Some(runtime), Some(policy)) =
                (ext.get::<Meter>(), runtime, policy)
            {
                let baseline = policy
                    .baseline
                    .as_ref()
                    .and_then(|b| runtime.config.models.get(b))
                    .map(prices);
                let draft = crate::layers::outcome::cache_hit_draft(&state, ext, policy);
                meter.update(|en| {
                    en.policy.clone_from(&probe.policy);
                    en.baseline = baseline;
                    en.draft = draft.map(Box::new);
                });
            }
            return serve(
                &state,
                &req,
                &probe.policy,
                &e.answer,
                "hit",
                "cache: the same prompt".into(),
            );
        }
    }
    let stream = req
        .extensions()
        .get::<Parsed>()
        .is_some_and(|p| p.0.is_stream());
    let runtime = req.extensions().get::<Pinned>().map(|p| p.0.clone());
    let ctx = Arc::new(ProbeState {
        probe,
        config,
        entries,
        embedding: Mutex::new(None),
        result: Mutex::new(None),
    });
    req.extensions_mut().insert(CacheProbe(ctx.clone()));
    let mut resp = next.run(req).await;
    if resp.headers().contains_key(CACHE_HEADER) {
        // Answered by the semantic layer.
        return resp;
    }
    if ctx.probe.lookup && ctx.entries.is_some() {
        let result = lock(&ctx.result).unwrap_or("miss");
        m.lookups
            .with_label_values(&[ctx.probe.policy.as_str(), result])
            .inc();
    }
    resp.headers_mut()
        .insert(CACHE_HEADER, HeaderValue::from_static("miss"));
    if !ctx.probe.store || resp.status() != http::StatusCode::OK {
        return resp;
    }
    let route = resp
        .headers()
        .get(ROUTE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let price = runtime
        .as_ref()
        .and_then(|r| r.config.models.get(&route).map(prices))
        .unwrap_or_default();
    let embedding = lock(&ctx.embedding).take();
    let capture = Capture {
        state: state.clone(),
        probe: ctx.probe.clone(),
        config: ctx.config.clone(),
        embedding,
        route,
        price,
        stream,
        scanner: SseScanner::new(),
        buf: Vec::new(),
        text: String::new(),
        finish: None,
        usage: None,
        model: String::new(),
        done: false,
        overflow: false,
    };
    resp.map(|b| {
        Body::new(Captured {
            inner: b,
            capture: Mutex::new(Some(capture)),
        })
    })
}

/// After routing: the nearest prompt by the routing embedding, through the guards.
pub async fn semantic(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let Some(CacheProbe(ctx)) = req.extensions().get::<CacheProbe>().cloned() else {
        return next.run(req).await;
    };
    if ctx.config.similarity >= 1.0 {
        return next.run(req).await;
    }
    let ext = req.extensions();
    let route = ext.get::<Decision>().map(|d| d.0.clone());
    let runtime = ext.get::<Pinned>().map(|p| p.0.clone());
    let Some(embedding) = embedding_of(route, runtime, &ctx.probe).await else {
        return next.run(req).await;
    };
    let found = match &ctx.entries {
        Some(entries) if ctx.probe.lookup => crate::cache::similar(
            entries,
            &ctx.probe,
            &embedding,
            ctx.config.similarity,
            now_ms(&state),
        ),
        _ => Lookup::Miss,
    };
    *lock(&ctx.embedding) = Some(embedding);
    let policy = ctx.probe.policy.as_str();
    match found {
        Lookup::Semantic(e, sim) => {
            state
                .metrics
                .cache
                .lookups
                .with_label_values(&[policy, "semantic"])
                .inc();
            let why = format!("cache: a similar prompt (cosine {sim:.3})");
            serve(&state, &req, policy, &e.answer, "semantic", why)
        }
        Lookup::Refused(g) => {
            state
                .metrics
                .cache
                .guard_rejections
                .with_label_values(&[policy, g.name()])
                .inc();
            *lock(&ctx.result) = Some("refused");
            next.run(req).await
        }
        _ => next.run(req).await,
    }
}

/// The request's probe and its policy's cache settings, when both exist.
fn prepare(req: &Request) -> Option<(Probe, CacheConfig)> {
    let ext = req.extensions();
    let Pinned(runtime) = ext.get::<Pinned>()?;
    let Parsed(chat) = ext.get::<Parsed>()?;
    // A budget downgrade sends the request to a model, not through its policy.
    if ext
        .get::<crate::layers::limits::Admitted>()
        .is_some_and(|a| a.downgrade_to.is_some())
    {
        return None;
    }
    let policy = runtime.config.policies.get(&chat.model)?;
    let config = policy.cache.clone()?;
    let caller = ext.get::<Who>().and_then(|w| w.0.clone());
    let probe = crate::cache::probe(
        &config,
        &policy.name,
        chat,
        caller.as_deref(),
        req.headers(),
    )?;
    Some((probe, config))
}

/// The routing embedding when the router made one; else the last message's, when a
/// router is configured.
async fn embedding_of(
    route: Option<Arc<crate::layers::route::Route>>,
    runtime: Option<Arc<crate::state::Runtime>>,
    probe: &Probe,
) -> Option<Vec<f32>> {
    if let Some(v) = route
        .as_ref()
        .and_then(|r| r.routed.as_ref())
        .and_then(|(r, _)| r.embedding.as_ref())
    {
        return Some(v.as_ref().clone());
    }
    let router = runtime?.router.clone()?;
    router
        .embedder
        .embed(probe.text.clone(), None)
        .await
        .ok()
        .map(|e| e.vector)
}

fn serve(
    state: &Arc<AppState>,
    req: &Request,
    policy: &str,
    answer: &Answer,
    kind: &'static str,
    reason: String,
) -> Response {
    let ext = req.extensions();
    let (stream, include_usage) = ext.get::<Parsed>().map_or((false, false), |p| {
        (p.0.is_stream(), p.0.wants_stream_usage())
    });
    if let Some(mut entry) = ext.get::<Meter>().and_then(Meter::take) {
        entry.route = CACHE_ROUTE.into();
        entry.price = TokenPrices::default();
        if entry.wants_text() {
            entry.answered(answer.content.clone());
        }
        entry.finish(
            200,
            "cache_hit",
            Some(answer.usage),
            Some(answer.content.len() as u64),
        );
    }
    state.metrics.cache.saved.add(&[policy], answer.cost_pico);
    let id = format!(
        "chatcmpl-cache-{}",
        crate::layers::request_id::of_extensions(ext)
    );
    let created = state.clock.unix_secs();
    let mut resp = if stream {
        let w = ChunkWriter {
            id,
            created,
            model: answer.model.clone(),
            include_usage,
        };
        let mut out = Vec::new();
        let mut push = |c: &sluice_api::completion::ChatCompletionChunk| {
            out.extend_from_slice(&sluice_api::sse::frame_data(
                &serde_json::to_vec(c).unwrap_or_default(),
            ));
        };
        push(&w.role());
        push(&w.content(&answer.content));
        push(&w.finish(&answer.finish));
        if let Some(u) = w.usage(answer.usage) {
            push(&u);
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
        let mut r = Body::from(out).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        r
    } else {
        let c = ChatCompletion::new(
            &id,
            created,
            &answer.model,
            answer.content.clone(),
            &answer.finish,
            answer.usage,
        );
        axum::Json(c).into_response()
    };
    let h = resp.headers_mut();
    h.insert(CACHE_HEADER, HeaderValue::from_static(kind));
    if let Ok(v) = HeaderValue::try_from(answer.route.as_str()) {
        h.insert(ROUTE_HEADER, v);
    }
    if let Ok(v) = HeaderValue::try_from(reason) {
        h.insert(REASON_HEADER, v);
    }
    resp
}

/// Collects a miss's answer as it goes to the client; stores it when it is complete.
struct Capture {
    state: Arc<AppState>,
    probe: Probe,
    config: CacheConfig,
    embedding: Option<Vec<f32>>,
    route: String,
    price: TokenPrices,
    stream: bool,
    scanner: SseScanner,
    buf: Vec<u8>,
    text: String,
    finish: Option<String>,
    usage: Option<Usage>,
    model: String,
    done: bool,
    overflow: bool,
}

impl Capture {
    fn feed(&mut self, bytes: &[u8]) {
        if self.overflow {
            return;
        }
        if self.buf.len() + self.text.len() + bytes.len() > MAX_ANSWER_BYTES {
            self.overflow = true;
            return;
        }
        if !self.stream {
            self.buf.extend_from_slice(bytes);
            return;
        }
        let mut scanner = std::mem::take(&mut self.scanner);
        scanner.push(bytes, |data| {
            if data == b"[DONE]" {
                self.done = true;
                return;
            }
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
                return;
            };
            if let Some(m) = v["model"].as_str() {
                m.clone_into(&mut self.model);
            }
            let c = &v["choices"][0];
            if c["delta"].get("tool_calls").is_some() {
                self.overflow = true;
            }
            if let Some(t) = c["delta"]["content"].as_str() {
                self.text.push_str(t);
            }
            if let Some(f) = c["finish_reason"].as_str() {
                self.finish = Some(f.to_owned());
            }
            if let Ok(u) = serde_json::from_value::<Usage>(v["usage"].clone()) {
                if !v["usage"].is_null() {
                    self.usage = Some(u);
                }
            }
        });
        self.scanner = scanner;
    }

    /// The answer, when the response was a complete, plain-text one with usage.
    fn answer(mut self) -> Option<(Self, Answer)> {
        if self.overflow {
            return None;
        }
        if !self.stream {
            let v: serde_json::Value = serde_json::from_slice(&self.buf).ok()?;
            let msg = &v["choices"][0]["message"];
            if msg.get("tool_calls").is_some_and(|t| !t.is_null()) {
                return None;
            }
            self.text = msg["content"].as_str()?.to_owned();
            self.finish = v["choices"][0]["finish_reason"].as_str().map(str::to_owned);
            self.usage = serde_json::from_value(v.get("usage")?.clone()).ok();
            self.model = v["model"].as_str().unwrap_or("").to_owned();
            self.done = true;
        }
        let finish = self.finish.clone()?;
        if !self.done || self.text.is_empty() || !matches!(finish.as_str(), "stop" | "length") {
            return None;
        }
        let usage = self.usage?;
        let cost_pico = self.price.cost(Tokens {
            prompt: usage.prompt_tokens,
            cached: usage.cached_tokens(),
            cache_write: usage.cache_creation_tokens(),
            completion: usage.completion_tokens,
        });
        let answer = Answer {
            content: std::mem::take(&mut self.text),
            finish,
            model: std::mem::take(&mut self.model),
            route: self.route.clone(),
            usage,
            cost_pico,
        };
        Some((self, answer))
    }

    fn store(self) {
        let Some((c, answer)) = self.answer() else {
            return;
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        rt.spawn(async move {
            let now = now_ms(&c.state);
            let m = &c.state.metrics.cache;
            let stored = c
                .state
                .cache
                .insert(&c.probe, c.embedding, answer, &c.config, now)
                .await;
            match stored {
                Ok(()) => m.stored.with_label_values(&[c.probe.policy.as_str()]).inc(),
                Err(_) => m
                    .lookups
                    .with_label_values(&[c.probe.policy.as_str(), "error"])
                    .inc(),
            }
            let policy = c.probe.policy.as_str();
            m.entries
                .with_label_values(&[policy])
                .set(c.state.cache.len(policy) as i64);
        });
    }
}

/// A miss's response body, unchanged, with its bytes fed to the [`Capture`].
struct Captured {
    inner: Body,
    capture: Mutex<Option<Capture>>,
}

impl Captured {
    fn finish(&self) {
        let taken = self
            .capture
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(c) = taken {
            c.store();
        }
    }
}

impl http_body::Body for Captured {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    if let Some(c) = self
                        .capture
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .as_mut()
                    {
                        c.feed(data);
                    }
                }
                if self.inner.is_end_stream() {
                    self.finish();
                }
            }
            Poll::Ready(None) => self.finish(),
            // A broken answer is not kept.
            Poll::Ready(Some(Err(_))) => {
                self.capture
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take();
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Captured {
    fn drop(&mut self) {
        // Sent whole but never polled to its end (hyper stops at a body's known length):
        // a complete answer still parses; a cut one does not and is dropped.
        self.finish();
    }
}
