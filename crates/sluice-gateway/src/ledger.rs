//! The usage ledger: every chat request is metered exactly once, however it ends.
//!
//! The ledger layer opens an [`Entry`] for each request and puts a [`Meter`] (a shared slot
//! holding it) in the request's extensions. Layers further in fill it (the caller, the
//! policy, the budget reservation); the target that answers takes it out and settles it
//! when its answer ends — at once for a complete body, at the end of a stream however that
//! ends, or in the background when an upstream call outlives its client. What is still in
//! the slot when the response comes back out was an error answered by a layer, and the
//! ledger layer records it. When the client leaves before an answer, the request's future
//! is dropped, the last handle on the slot goes with it, and the entry records itself as
//! `client_gone` (499).
//!
//! Recording writes the request, token, cost and latency metrics, the tenant's counters,
//! and settles the key's budget reservation against the real cost, all synchronously (only
//! the Redis mirror of the counters is written in the background).

use std::sync::{Arc, Mutex};

use axum::response::{IntoResponse, Response};
use sluice_api::chat::ResponseProbe;
use sluice_api::Usage;
use sluice_telemetry::pricing::{TokenPrices, Tokens};
use sluice_upstream::{ResponseBody, UpstreamError, UpstreamResponse};
use tokio::time::Instant;
use tracing::Span;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Label used before a request could be matched to a policy or model.
pub const NONE: &str = "none";

/// One request's account, open until recorded.
pub struct Entry {
    state: Arc<AppState>,
    /// The policy (or directly requested model) the request resolved to.
    pub policy: String,
    /// The model being tried or that answered.
    pub route: String,
    start: Instant,
    span: Span,
    /// Prices of the model that answered, and of the policy's baseline model.
    pub price: TokenPrices,
    pub baseline: Option<TokenPrices>,
    /// Prompt text size, to estimate tokens when the upstream reports no usage.
    pub prompt_bytes: usize,
    /// The key the request authenticated with: its counters and tenant metrics.
    pub caller: Option<Arc<Caller>>,
    /// Budget reserved for this request at admission, settled when recorded.
    pub reservation: Option<crate::limits::Reservation>,
    /// Tokens and cost charged along the way by models that did not answer (a cascade's
    /// discarded draft): already in the metrics, settled against the key with the rest.
    side_tokens: u64,
    side_cost: u128,
    /// What the outcome layer learned about the request: its row in the outcome store, and
    /// its shadow judging when sampled.
    pub draft: Option<Box<crate::quality::Draft>>,
    recorded: bool,
}

impl Drop for Entry {
    fn drop(&mut self) {
        if !self.recorded {
            // 499: nginx's "client closed request"; counted in the 4xx class.
            self.record(499, "client_gone", None, None);
        }
    }
}

/// A model's configured prices in exact units (free when none are configured).
pub fn prices(m: &sluice_config::ModelConfig) -> TokenPrices {
    m.pricing.map_or_else(TokenPrices::default, |p| {
        TokenPrices::per_million(p.input, p.cached_input, p.output).with_cache_write(p.cache_write)
    })
}

impl Entry {
    pub fn open(state: Arc<AppState>) -> Entry {
        state.metrics.in_flight.inc();
        let start = state.clock.now();
        Entry {
            state,
            policy: NONE.into(),
            route: NONE.into(),
            start,
            span: Span::current(),
            price: TokenPrices::default(),
            baseline: None,
            prompt_bytes: 0,
            caller: None,
            reservation: None,
            side_tokens: 0,
            side_cost: 0,
            draft: None,
            recorded: false,
        }
    }

    pub fn started(&self) -> Instant {
        self.start
    }

    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Whether the answer's text must be kept (for judging or the outcome store).
    pub fn wants_text(&self) -> bool {
        self.draft.as_ref().is_some_and(|d| d.wants_text())
    }

    /// The client's answer, as it was sent.
    pub fn answered(&mut self, text: impl Into<String>) {
        if let Some(d) = self.draft.as_mut() {
            d.answer = Some(text.into());
        }
    }

    /// Records an error answered before any model produced output.
    pub fn fail(self, err: ApiError) -> Response {
        self.finish(err.status.as_u16(), "error", None, None);
        err.into_response()
    }

    /// Charges tokens that `model` spent on this request without answering it (a cascade's
    /// discarded draft): counted at once under that model, and settled against the key's
    /// budget together with the answer. No baseline: the request is compared with its
    /// baseline once, by what answered. Returns the cost in pico-USD.
    pub fn side_charge(&mut self, model: &str, price: TokenPrices, t: Tokens) -> u128 {
        let cost = self.count(model, price, t);
        self.side_tokens += t.prompt + t.completion;
        self.side_cost += cost;
        cost
    }

    /// Token and cost counters for `t` tokens of `model`, the tenant's included; returns
    /// the cost in pico-USD.
    fn count(&self, model: &str, price: TokenPrices, t: Tokens) -> u128 {
        let m = &self.state.metrics;
        for (kind, n) in [
            ("prompt", t.prompt),
            ("cached_prompt", t.cached),
            ("completion", t.completion),
        ] {
            m.tokens
                .with_label_values(&[self.policy.as_str(), model, kind])
                .inc_by(n);
        }
        let cost = price.cost(t);
        m.cost.add(&[self.policy.as_str(), model], cost);
        if let Some(c) = &self.caller {
            let tenant = [c.key.tenant.as_str()];
            m.tenant_tokens
                .with_label_values(&tenant)
                .inc_by(t.prompt + t.completion);
            m.tenant_cost.add(&tenant, cost);
        }
        cost
    }

    /// Records time to first token for this request's policy and route.
    pub fn first_token(&self, at: Instant) {
        self.state
            .metrics
            .time_to_first_token
            .with_label_values(&[&self.policy, &self.route])
            .observe(at.saturating_duration_since(self.start).as_secs_f64());
    }

    /// A non-streaming upstream call that completed after its client left: metered from the
    /// upstream's own usage (status 499, outcome `client_gone`).
    pub fn abandoned(self, result: Result<UpstreamResponse, UpstreamError>) {
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

    /// `content_bytes` is `Some` when a model produced output (so tokens are owed even if
    /// the upstream reported no usage: they are then estimated at 4 bytes per token).
    pub fn finish(
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
        let elapsed = self.state.clock.now().saturating_duration_since(self.start);
        let m = &self.state.metrics;
        let tokens = match (usage, content_bytes) {
            (Some(u), _) => Some(Tokens {
                prompt: u.prompt_tokens,
                cached: u.cached_tokens(),
                cache_write: u.cache_creation_tokens(),
                completion: u.completion_tokens,
            }),
            (None, Some(bytes)) => {
                m.usage_estimated.with_label_values(&[&self.route]).inc();
                Some(Tokens {
                    prompt: (self.prompt_bytes as u64).div_ceil(4),
                    cached: 0,
                    cache_write: 0,
                    completion: bytes.div_ceil(4),
                })
            }
            (None, None) => None,
        };
        let mut cost = 0;
        let mut baseline = 0;
        if let Some(t) = tokens {
            cost = self.count(&self.route, self.price, t);
            baseline = self.baseline.map_or(cost, |b| b.cost(t));
            m.baseline_cost
                .add(&[self.policy.as_str(), self.route.as_str()], baseline);
        }
        if let Some(draft) = self.draft.take() {
            let state = self.state.clone();
            state.quality.finished(
                &state,
                *draft,
                crate::quality::Finished {
                    policy: &self.policy,
                    route: &self.route,
                    status,
                    outcome,
                    tokens,
                    cost: cost + self.side_cost,
                    baseline,
                    elapsed,
                },
            );
        }
        if let Some(c) = &self.caller {
            let used = tokens.map_or(0, |t| t.prompt + t.completion) + self.side_tokens;
            self.state
                .limiter
                .settle(c, used, cost + self.side_cost, self.reservation.take());
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

/// The request extension through which layers reach the request's ledger entry.
#[derive(Clone)]
pub struct Meter(Arc<Mutex<Option<Entry>>>);

impl Meter {
    pub fn open(state: Arc<AppState>) -> Meter {
        Meter(Arc::new(Mutex::new(Some(Entry::open(state)))))
    }

    /// Changes the open entry (nothing once it has been taken).
    pub fn update(&self, f: impl FnOnce(&mut Entry)) {
        if let Some(e) = self.lock().as_mut() {
            f(e);
        }
    }

    /// Puts back an entry taken by a target that then did not answer.
    pub fn put(&self, entry: Entry) {
        *self.lock() = Some(entry);
    }

    /// Takes the entry to settle it: whoever takes it records it.
    pub fn take(&self) -> Option<Entry> {
        self.lock().take()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Entry>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
