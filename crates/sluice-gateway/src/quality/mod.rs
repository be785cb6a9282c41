//! The quality loop: what routing costs in quality, measured on live traffic.
//!
//! Every request that reaches dispatch carries a [`Draft`] in its ledger entry (opened by
//! the outcome layer). When the entry is recorded — the client has its whole answer — the
//! draft becomes the request's row in the outcome store, queued for a background writer
//! that never makes a request wait: the queue is bounded and a full queue drops the row
//! and counts it. A request sampled for judging (probability `shadow_rate`, kept with the
//! row as its propensity) then gets a shadow job: the same request, non-streaming, to the
//! model the policy did not choose, and a judge comparing the two answers in both orders
//! (`shadow.rs`). Shadow and judge calls are metered apart from user traffic, are never
//! charged to a key, and stop for the day at the policy's `max_shadow_usd_per_day`.
//!
//! Feedback (`POST /v1/feedback`) finds its request in the queue or the store, checks that
//! the key asking made the request, and lands on the same row.

pub mod drift;
pub mod feedback;
pub mod judge;
pub mod page;
pub mod report;

mod shadow;

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sluice_api::chat::ChatCompletionRequest;
use sluice_config::{Config, OutcomesConfig, StoreUrl};
use sluice_outcomes::{Outcome, Store, Write};
use sluice_telemetry::pricing::Tokens;
use sluice_telemetry::Metrics;
use tokio::sync::{mpsc, Semaphore};

use crate::clock::Clock;
use crate::state::{AppState, Runtime};

/// Verdicts and feedback scores the running means are computed over.
const WINDOW: usize = 500;
/// Rows written per transaction at most.
const BATCH: usize = 8192;
/// How long the writer gathers rows after the first before committing them.
const LINGER: Duration = Duration::from_millis(500);

/// What the outcome layer learned about a request, carried in its ledger entry until it is
/// recorded.
pub struct Draft {
    pub request_id: String,
    pub key_id: Option<String>,
    pub tenant: Option<String>,
    /// The policy's target and strong models, to name the side that answered.
    pub weak: Option<String>,
    pub strong: Option<String>,
    pub score: Option<f64>,
    pub threshold: Option<f64>,
    /// The probability with which this request was sampled for judging.
    pub propensity: f64,
    pub sampled: bool,
    pub store_text: bool,
    pub retention: Duration,
    pub embedding: Option<Arc<Vec<f32>>>,
    pub features: Option<Vec<f32>>,
    /// The request, for the shadow call and the stored prompt; only when needed.
    pub chat: Option<Arc<ChatCompletionRequest>>,
    /// The runtime the request was served on: the shadow uses the same models and config.
    pub runtime: Option<Arc<Runtime>>,
    /// The client's answer, captured when judging or storing text needs it.
    pub answer: Option<String>,
    /// Fires when the response body has been sent whole (or dropped): shadow calls wait
    /// for it, so they never compete with the answer they shadow.
    pub sent: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl Draft {
    /// Whether the answer's text must be kept as it goes to the client.
    pub fn wants_text(&self) -> bool {
        self.sampled || self.store_text
    }
}

/// How the request ended, from the ledger.
pub struct Finished<'a> {
    pub policy: &'a str,
    pub route: &'a str,
    pub status: u16,
    pub outcome: &'a str,
    pub tokens: Option<Tokens>,
    /// Pico-USD.
    pub cost: u128,
    pub baseline: u128,
    pub elapsed: Duration,
}

struct Pending {
    key_id: Option<String>,
    policy: String,
    route: String,
    rated: bool,
}

#[derive(Default)]
struct Window {
    values: VecDeque<f64>,
    sum: f64,
}

impl Window {
    fn push(&mut self, v: f64) -> (f64, usize) {
        if self.values.len() == WINDOW {
            if let Some(old) = self.values.pop_front() {
                self.sum -= old;
            }
        }
        self.values.push_back(v);
        self.sum += v;
        (self.sum / self.values.len() as f64, self.values.len())
    }
}

/// The process's quality loop: the store, its writer queue, shadow jobs and running figures.
pub struct Quality {
    metrics: Arc<Metrics>,
    settings: Option<OutcomesConfig>,
    store: OnceLock<Store>,
    tx: OnceLock<mpsc::Sender<Write>>,
    /// Requests whose row is queued but not written yet, so that feedback sent right after
    /// an answer finds them.
    pending: Mutex<HashMap<String, Pending>>,
    jobs: Arc<Semaphore>,
    /// Shadow and judge spend per policy: (UTC day number, pico-USD).
    spend: Mutex<HashMap<String, (u64, u128)>>,
    verdicts: Mutex<HashMap<String, Window>>,
    ratings: Mutex<HashMap<(String, String), Window>>,
    drift: Mutex<HashMap<String, drift::Tracker>>,
    /// The thread shadow jobs run on, started with the first one (see [`Quality::shadow_runtime`]).
    shadow_rt: OnceLock<Option<tokio::runtime::Handle>>,
    /// Shadow jobs' own HTTP clients, by provider name: their connections live on the
    /// shadow thread, never in the pool user requests draw from.
    shadow_providers: Mutex<HashMap<String, Arc<sluice_upstream::Provider>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Unix milliseconds on the gateway's clock.
pub fn now_ms(clock: &Clock) -> i64 {
    match clock {
        Clock::System => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
        Clock::Manual { .. } => clock.unix_secs() as i64 * 1000,
    }
}

impl Quality {
    pub fn new(config: &Config, metrics: Arc<Metrics>) -> Quality {
        let settings = config.outcomes.clone();
        let jobs = settings.as_ref().map_or(16, |s| s.max_shadow_jobs);
        Quality {
            metrics,
            settings,
            store: OnceLock::new(),
            tx: OnceLock::new(),
            pending: Mutex::new(HashMap::new()),
            jobs: Arc::new(Semaphore::new(jobs)),
            spend: Mutex::new(HashMap::new()),
            verdicts: Mutex::new(HashMap::new()),
            ratings: Mutex::new(HashMap::new()),
            drift: Mutex::new(HashMap::new()),
            shadow_rt: OnceLock::new(),
            shadow_providers: Mutex::new(HashMap::new()),
        }
    }

    /// Shadow judging is background work: it runs on one thread of its own at the lowest
    /// scheduling priority (nice 19), so on a busy machine user requests get the CPU first
    /// and judging waits (and, when `max_shadow_jobs` are waiting, new samples are skipped
    /// as `busy`). `None` if the thread could not start; jobs then run on the main runtime.
    fn shadow_runtime(&self) -> Option<&tokio::runtime::Handle> {
        self.shadow_rt
            .get_or_init(|| {
                let (tx, rx) = std::sync::mpsc::channel();
                let started = std::thread::Builder::new()
                    .name("sluice-shadow".into())
                    .spawn(move || {
                        use thread_priority::{set_current_thread_priority, ThreadPriority};
                        if let Err(e) = set_current_thread_priority(ThreadPriority::Min) {
                            tracing::warn!(error = ?e, "shadow judging: could not lower the thread's priority");
                        }
                        let rt = match tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                        {
                            Ok(rt) => rt,
                            Err(e) => {
                                tracing::warn!(error = %e, "shadow judging: no runtime of its own");
                                return;
                            }
                        };
                        let _ = tx.send(rt.handle().clone());
                        rt.block_on(std::future::pending::<()>());
                    });
                started.ok().and_then(|_| rx.recv().ok())
            })
            .as_ref()
    }

    /// The shadow thread's client for `provider`, made once per provider config.
    pub(crate) fn shadow_provider(
        &self,
        runtime: &Runtime,
        provider: &str,
    ) -> Result<Arc<sluice_upstream::Provider>, String> {
        let pc = runtime
            .config
            .providers
            .get(provider)
            .ok_or_else(|| format!("provider '{provider}' is not configured"))?;
        let mut cache = lock(&self.shadow_providers);
        if let Some(p) = cache.get(provider).filter(|p| p.config() == pc) {
            return Ok(p.clone());
        }
        let p =
            Arc::new(sluice_upstream::Provider::new(pc.clone()).map_err(|e| {
                format!("cannot build an HTTP client for provider '{provider}': {e}")
            })?);
        cache.insert(provider.to_owned(), p.clone());
        Ok(p)
    }

    /// Opens the store the config names (running its migrations) and starts the writer.
    /// Without an `outcomes` section there is no store and nothing to start.
    pub async fn start(state: &Arc<AppState>, base_dir: &Path) -> anyhow::Result<()> {
        let q = &state.quality;
        let Some(settings) = &q.settings else {
            return Ok(());
        };
        let url = match &settings.store {
            StoreUrl::Sqlite(p) => format!("sqlite:{p}"),
            StoreUrl::Postgres(u) => u.clone(),
        };
        let store = Store::open(&url, base_dir)
            .await
            .map_err(|e| anyhow::anyhow!("outcomes.store: {e}"))?;
        tracing::info!(store = %store.describe, "outcome store open");
        let (tx, rx) = mpsc::channel(settings.queue_depth);
        let _ = q.tx.set(tx);
        let _ = q.store.set(store.clone());
        tokio::spawn(writer(state.clone(), store, rx));
        Ok(())
    }

    pub fn store(&self) -> Option<&Store> {
        self.store.get()
    }

    pub fn enabled(&self) -> bool {
        self.settings.is_some()
    }

    /// Default row lifetime.
    pub fn retention(&self) -> Duration {
        self.settings
            .as_ref()
            .map_or(Duration::from_secs(30 * 86_400), |s| s.retention)
    }

    /// Publishes each policy's shadow budget and points the drift trackers at the
    /// runtime's references (a tracker whose reference did not change keeps its window).
    pub fn configure(&self, runtime: &Runtime) {
        let mut drift = lock(&self.drift);
        drift.retain(|p, t| runtime.drift.get(p).is_some_and(|r| t.reference.same(r)));
        for (policy, reference) in &runtime.drift {
            drift
                .entry(policy.clone())
                .or_insert_with(|| drift::Tracker::new((**reference).clone()));
        }
        for (name, p) in &runtime.config.policies {
            if let Some(q) = &p.quality {
                self.metrics
                    .quality
                    .shadow_budget
                    .with_label_values(&[name])
                    .set(q.max_shadow_usd_per_day);
            }
        }
    }

    /// Called once per recorded request that carried a draft: queues its row, observes
    /// drift and starts its shadow judging when it was sampled.
    pub fn finished(&self, state: &Arc<AppState>, mut draft: Draft, f: Finished<'_>) {
        let m = &self.metrics.quality;
        if let Some(t) = lock(&self.drift).get_mut(f.policy) {
            t.observe(draft.score, draft.embedding.as_deref().map(Vec::as_slice));
            let label = [f.policy];
            m.drift_samples
                .with_label_values(&label)
                .set(t.samples() as f64);
            if let Some(psi) = t.psi() {
                m.drift_psi.with_label_values(&label).set(psi);
            }
            if let Some(s) = t.embedding_shift() {
                m.drift_embedding_shift.with_label_values(&label).set(s);
            }
        }
        let arm = if draft.weak.as_deref() == Some(f.route) {
            Some(sluice_outcomes::WEAK)
        } else if draft.strong.as_deref() == Some(f.route) {
            Some(sluice_outcomes::STRONG)
        } else {
            None
        };
        let now = now_ms(&state.clock);
        let pico = |p: u128| p as f64 / 1e12;
        let answer = draft.answer.take();
        let row = Outcome {
            request_id: draft.request_id.clone(),
            ts_ms: now,
            day: sluice_outcomes::day_of(now),
            expires_ms: now.saturating_add(draft.retention.as_millis() as i64),
            key_id: draft.key_id.clone(),
            tenant: draft.tenant.clone(),
            policy: f.policy.to_owned(),
            route: f.route.to_owned(),
            arm: arm.map(str::to_owned),
            status: i64::from(f.status),
            outcome: f.outcome.to_owned(),
            score: draft.score,
            threshold: draft.threshold,
            propensity: draft.propensity,
            sampled: draft.sampled,
            cost_usd: pico(f.cost),
            baseline_usd: pico(f.baseline),
            latency_ms: f.elapsed.as_secs_f64() * 1000.0,
            prompt_tokens: f.tokens.map_or(0, |t| t.prompt as i64),
            completion_tokens: f.tokens.map_or(0, |t| t.completion as i64),
            embedding: draft
                .embedding
                .as_deref()
                .map(|e| sluice_outcomes::f32_bytes(e)),
            features: draft.features.as_deref().map(sluice_outcomes::f32_bytes),
            prompt: draft
                .store_text
                .then(|| draft.chat.as_deref().map(judge::question))
                .flatten(),
            answer: if draft.store_text {
                answer.clone()
            } else {
                None
            },
            judgment: None,
            feedback: None,
        };
        self.enqueue_row(row);

        if !draft.sampled {
            return;
        }
        let skip = |reason: &str| {
            m.shadow_skipped
                .with_label_values(&[f.policy, reason])
                .inc();
        };
        let (Some(arm), Some(answer), Some(chat), Some(runtime)) =
            (arm, answer, draft.chat.take(), draft.runtime.take())
        else {
            return skip("ineligible");
        };
        let config = runtime
            .config
            .policies
            .get(f.policy)
            .and_then(|p| p.quality.clone());
        let (Some(config), true) = (config, f.status == 200 && f.outcome == "completed") else {
            return skip("ineligible");
        };
        if self.over_budget(state, f.policy, config.max_shadow_usd_per_day) {
            return skip("budget");
        }
        let Ok(permit) = self.jobs.clone().try_acquire_owned() else {
            return skip("busy");
        };
        let other = if arm == sluice_outcomes::WEAK {
            draft.strong.clone()
        } else {
            draft.weak.clone()
        };
        let Some(other) = other else {
            return skip("ineligible");
        };
        let sent = draft.sent.take();
        let job = shadow::Job {
            state: state.clone(),
            runtime,
            config,
            policy: f.policy.to_owned(),
            route: f.route.to_owned(),
            other,
            client_is_weak: arm == sluice_outcomes::WEAK,
            request_id: draft.request_id,
            chat,
            answer,
            store_text: draft.store_text,
        };
        let task = async move {
            if let Some(sent) = sent {
                let _ = sent.await;
            }
            job.run().await;
            drop(permit);
        };
        match self.shadow_runtime() {
            Some(rt) => {
                rt.spawn(task);
            }
            None => {
                tokio::spawn(task);
            }
        }
    }

    fn enqueue_row(&self, row: Outcome) {
        let Some(tx) = self.tx.get() else {
            return;
        };
        let id = row.request_id.clone();
        {
            // A client may send its own x-request-id: the first request with an id keeps
            // it (the store keeps the first row too).
            let mut pending = lock(&self.pending);
            if pending.contains_key(&id) {
                drop(pending);
                self.dropped(1);
                return;
            }
            pending.insert(
                id.clone(),
                Pending {
                    key_id: row.key_id.clone(),
                    policy: row.policy.clone(),
                    route: row.route.clone(),
                    rated: false,
                },
            );
        }
        if tx.try_send(Write::Outcome(Box::new(row))).is_err() {
            lock(&self.pending).remove(&id);
            self.dropped(1);
        }
        self.queue_gauge(tx);
    }

    /// Queues a judgment or feedback for a row; false when the queue is full (counted).
    pub(crate) fn enqueue(&self, w: Write) -> bool {
        let Some(tx) = self.tx.get() else {
            return false;
        };
        let ok = tx.try_send(w).is_ok();
        if !ok {
            self.dropped(1);
        }
        self.queue_gauge(tx);
        ok
    }

    fn dropped(&self, n: u64) {
        self.metrics
            .quality
            .outcome_writes
            .with_label_values(&["dropped"])
            .inc_by(n);
    }

    fn queue_gauge(&self, tx: &mpsc::Sender<Write>) {
        self.metrics
            .quality
            .outcome_queue_depth
            .set((tx.max_capacity() - tx.capacity()) as i64);
    }

    fn day(state: &AppState) -> u64 {
        state.clock.unix_secs() / 86_400
    }

    fn over_budget(&self, state: &AppState, policy: &str, cap_usd: f64) -> bool {
        let today = Self::day(state);
        let spent = lock(&self.spend)
            .get(policy)
            .filter(|(d, _)| *d == today)
            .map_or(0, |(_, s)| *s);
        spent as f64 / 1e12 >= cap_usd
    }

    /// Adds a shadow or judge call's cost to today's spend.
    fn spent(&self, state: &AppState, policy: &str, pico: u128) {
        let today = Self::day(state);
        let mut spend = lock(&self.spend);
        let e = spend.entry(policy.to_owned()).or_insert((today, 0));
        if e.0 != today {
            *e = (today, 0);
        }
        e.1 += pico;
        self.metrics
            .quality
            .shadow_spend_today
            .with_label_values(&[policy])
            .set(e.1 as f64 / 1e12);
    }

    fn verdict(&self, policy: &str, weak_ok: bool) {
        let (mean, n) = lock(&self.verdicts)
            .entry(policy.to_owned())
            .or_default()
            .push(if weak_ok { 1.0 } else { 0.0 });
        let m = &self.metrics.quality;
        m.weak_ok_ratio.with_label_values(&[policy]).set(mean);
        m.weak_ok_samples.with_label_values(&[policy]).set(n as f64);
    }

    fn rating(&self, policy: &str, route: &str, score: f64) {
        let (mean, _) = lock(&self.ratings)
            .entry((policy.to_owned(), route.to_owned()))
            .or_default()
            .push(score);
        let m = &self.metrics.quality;
        m.feedback.with_label_values(&[policy, route]).inc();
        m.feedback_mean
            .with_label_values(&[policy, route])
            .set(mean);
    }
}

/// Writes queued rows in batches (one transaction each) and deletes expired rows once a
/// minute. Ends when the gateway drops its sender.
async fn writer(state: Arc<AppState>, store: Store, mut rx: mpsc::Receiver<Write>) {
    let q = &state.quality;
    let m = &state.metrics.quality;
    let mut sweep = tokio::time::interval(Duration::from_secs(60));
    loop {
        let first = tokio::select! {
            w = rx.recv() => match w {
                Some(w) => w,
                None => return,
            },
            _ = sweep.tick() => {
                match store.delete_expired(now_ms(&state.clock)).await {
                    Ok(n) if n > 0 => tracing::debug!(rows = n, "outcome store: expired rows deleted"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "outcome store: deleting expired rows failed"),
                }
                continue;
            }
        };
        // Group commit: rows that arrive within LINGER of the first share its transaction,
        // so the store commits a few times a second however busy the gateway is, not once
        // per request. The writer sleeps meanwhile instead of waiting on the queue, so
        // queueing a row wakes no one: one wake-up per batch, not per request.
        let mut batch = vec![first];
        tokio::time::sleep(LINGER).await;
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        m.outcome_queue_depth.set(rx.len() as i64);
        let ids: Vec<String> = batch
            .iter()
            .filter_map(|w| match w {
                Write::Outcome(o) => Some(o.request_id.clone()),
                _ => None,
            })
            .collect();
        let n = batch.len() as u64;
        match store.write(batch).await {
            Ok(()) => m.outcome_writes.with_label_values(&["written"]).inc_by(n),
            Err(e) => {
                tracing::warn!(error = %e, rows = n, "outcome store: write failed; rows lost");
                m.outcome_writes.with_label_values(&["failed"]).inc_by(n);
            }
        }
        let mut pending = lock(&q.pending);
        for id in ids {
            pending.remove(&id);
        }
    }
}

/// A response body that says when it has been sent whole (its end polled) or dropped.
pub struct Signalled {
    inner: axum::body::Body,
    done: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Signalled {
    pub fn new(inner: axum::body::Body, done: tokio::sync::oneshot::Sender<()>) -> Signalled {
        Signalled {
            inner,
            done: Some(done),
        }
    }
}

impl http_body::Body for Signalled {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if let std::task::Poll::Ready(None) = polled {
            if let Some(tx) = self.done.take() {
                let _ = tx.send(());
            }
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

impl Drop for Signalled {
    fn drop(&mut self) {
        if let Some(tx) = self.done.take() {
            let _ = tx.send(());
        }
    }
}
