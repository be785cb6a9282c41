//! Rate limits and budgets per key, on counters kept in this process or in Redis.
//!
//! Counters are fixed windows: requests and tokens per UTC minute, spend (exact pico-USD
//! from the same cost accounting as the metrics) per UTC day or month. With `state:
//! redis://…` every replica increments the same keys, so limits and budgets hold across
//! them; if Redis stops answering (each call has a short deadline) the gateway keeps
//! serving on its local counters, logs it once, and shows `sluice_state_backend_up 0`
//! until Redis answers again.
//!
//! Budgets are reserved, then settled: a request is admitted by adding its estimated cost
//! (its prompt and `max_tokens`, or a default of 1,000 output tokens, at the dearest
//! price its policy can reach) to the key's spend, and when it ends the difference between
//! its real cost and that estimate is added. Concurrent requests therefore see each other's
//! reservations, and together they can pass a budget by at most one request's estimate
//! (when no request costs more than its estimate). Spend shown by `/admin/keys` and
//! `sluice_tenant_spend_usd` includes the reservations of requests in flight.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use http::{HeaderValue, StatusCode};
use sluice_api::ErrorBody;
use sluice_config::{BudgetPeriod, StateBackend};
use sluice_telemetry::Metrics;

use crate::auth::Caller;
use crate::clock::Clock;
use crate::error::ApiError;

/// How long one Redis call may take before the local counters answer instead.
const REDIS_DEADLINE: Duration = Duration::from_millis(250);
/// After a failure, Redis is not tried again for this long (no reconnect storms).
const REDIS_RETRY: Duration = Duration::from_secs(1);

/// In-process counters with expiry.
#[derive(Default)]
struct Local {
    map: Mutex<HashMap<String, (i64, Instant)>>,
}

impl Local {
    fn incr(&self, key: &str, by: i64, ttl: Duration) -> i64 {
        let now = Instant::now();
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() > 10_000 {
            m.retain(|_, (_, exp)| *exp > now);
        }
        let e = m.entry(key.to_owned()).or_insert((0, now + ttl));
        if e.1 <= now {
            *e = (0, now + ttl);
        }
        e.0 = e.0.saturating_add(by);
        e.0
    }

    fn get(&self, key: &str) -> i64 {
        let m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        m.get(key)
            .filter(|(_, exp)| *exp > Instant::now())
            .map_or(0, |(v, _)| *v)
    }
}

struct Redis {
    client: redis::Client,
    conn: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    /// No connection attempt before this.
    retry_at: Mutex<Option<Instant>>,
    up: AtomicBool,
}

/// The counter store: Redis when configured and answering, else this process.
pub struct Store {
    local: Local,
    redis: Option<Redis>,
    metrics: Arc<Metrics>,
}

impl Store {
    pub fn new(backend: &StateBackend, metrics: Arc<Metrics>) -> anyhow::Result<Store> {
        let redis = match backend {
            StateBackend::Memory => {
                metrics
                    .state_backend_up
                    .with_label_values(&["memory"])
                    .set(1);
                None
            }
            StateBackend::Redis(url) => {
                let client = redis::Client::open(url.as_str())
                    .map_err(|e| anyhow::anyhow!("state: invalid Redis URL: {e}"))?;
                metrics
                    .state_backend_up
                    .with_label_values(&["redis"])
                    .set(0);
                Some(Redis {
                    client,
                    conn: tokio::sync::Mutex::new(None),
                    retry_at: Mutex::new(None),
                    up: AtomicBool::new(false),
                })
            }
        };
        Ok(Store {
            local: Local::default(),
            redis,
            metrics,
        })
    }

    fn set_up(&self, r: &Redis, up: bool, why: &str) {
        if r.up.swap(up, Ordering::Relaxed) != up {
            if up {
                tracing::info!("Redis counter store reachable; limits and budgets are shared");
            } else {
                tracing::warn!(error = %why, "Redis counter store unreachable; serving with local counters (limits and budgets are per replica until it is back)");
            }
        }
        self.metrics
            .state_backend_up
            .with_label_values(&["redis"])
            .set(i64::from(up));
    }

    async fn connection(&self, r: &Redis) -> Option<redis::aio::MultiplexedConnection> {
        let mut guard = r.conn.lock().await;
        if let Some(c) = guard.as_ref() {
            return Some(c.clone());
        }
        {
            let retry = r.retry_at.lock().unwrap_or_else(|p| p.into_inner());
            if retry.is_some_and(|t| Instant::now() < t) {
                return None;
            }
        }
        match tokio::time::timeout(REDIS_DEADLINE, r.client.get_multiplexed_async_connection())
            .await
        {
            Ok(Ok(c)) => {
                *guard = Some(c.clone());
                Some(c)
            }
            Ok(Err(e)) => {
                self.redis_failed(r, &e.to_string());
                None
            }
            Err(_) => {
                self.redis_failed(r, "connect timed out");
                None
            }
        }
    }

    fn redis_failed(&self, r: &Redis, why: &str) {
        *r.retry_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + REDIS_RETRY);
        self.set_up(r, false, why);
    }

    async fn drop_connection(&self, r: &Redis, why: &str) {
        *r.conn.lock().await = None;
        self.redis_failed(r, why);
    }

    /// Adds `by` now to this process's counter and, in the background, to Redis's: for
    /// settling, where nobody waits for the total.
    pub fn add(self: &Arc<Self>, key: &str, by: i64, ttl: Duration) {
        self.local.incr(key, by, ttl);
        if self.redis.is_none() || by == 0 {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (store, key) = (self.clone(), key.to_owned());
        rt.spawn(async move { store.incr_redis(&key, by, ttl).await });
    }

    /// Adds `by` and returns the new total; the key expires `ttl` after it was created.
    pub async fn incr(&self, key: &str, by: i64, ttl: Duration) -> i64 {
        let local = self.local.incr(key, by, ttl);
        self.incr_redis(key, by, ttl).await.unwrap_or(local)
    }

    /// Redis's total after adding `by`, or `None` when Redis is not configured or answering.
    async fn incr_redis(&self, key: &str, by: i64, ttl: Duration) -> Option<i64> {
        let r = self.redis.as_ref()?;
        let mut conn = self.connection(r).await?;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .incr(key, by)
            .cmd("EXPIRE")
            .arg(key)
            .arg(ttl.as_secs().max(1))
            .arg("NX")
            .ignore();
        match tokio::time::timeout(REDIS_DEADLINE, pipe.query_async::<(i64,)>(&mut conn)).await {
            Ok(Ok((v,))) => {
                self.set_up(r, true, "");
                Some(v)
            }
            Ok(Err(e)) => {
                self.drop_connection(r, &e.to_string()).await;
                None
            }
            Err(_) => {
                self.drop_connection(r, "timed out").await;
                None
            }
        }
    }

    pub async fn get(&self, key: &str) -> i64 {
        let local = self.local.get(key);
        let Some(r) = &self.redis else {
            return local;
        };
        let Some(mut conn) = self.connection(r).await else {
            return local;
        };
        let cmd = redis::cmd("GET").arg(key).to_owned();
        match tokio::time::timeout(REDIS_DEADLINE, cmd.query_async::<Option<i64>>(&mut conn)).await
        {
            Ok(Ok(v)) => {
                self.set_up(r, true, "");
                v.unwrap_or(0)
            }
            Ok(Err(e)) => {
                self.drop_connection(r, &e.to_string()).await;
                local
            }
            Err(_) => {
                self.drop_connection(r, "timed out").await;
                local
            }
        }
    }
}

/// UTC calendar date from days since the Unix epoch (Howard Hinnant's civil_from_days).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The current budget period's name and how long its counter must live.
fn period(p: BudgetPeriod, now: u64) -> (String, Duration) {
    let (y, m, d) = civil((now / 86_400) as i64);
    match p {
        BudgetPeriod::Day => (
            format!("{y:04}{m:02}{d:02}"),
            Duration::from_secs(2 * 86_400),
        ),
        BudgetPeriod::Month => (format!("{y:04}{m:02}"), Duration::from_secs(32 * 86_400)),
    }
}

const PICO_PER_USD: f64 = 1e12;

/// Output tokens assumed for a budget reservation when the request sets no `max_tokens`.
pub const DEFAULT_OUTPUT_ESTIMATE: u64 = 1_000;

/// A budget reservation held by a request in flight, settled when it is recorded.
#[derive(Debug, Clone)]
pub struct Reservation {
    /// The spend counter it was added to (the period it was made in).
    key: String,
    ttl: Duration,
    pico: i64,
}

/// What the limits decided for one request.
#[derive(Debug, Default)]
pub struct Admission {
    /// Budget reached with `on_exceeded: downgrade`: serve with this model instead.
    pub downgrade_to: Option<String>,
    /// The estimate added to the key's spend, to be settled by the request's real cost.
    pub reservation: Option<Reservation>,
}

pub struct Limiter {
    pub store: Arc<Store>,
    prefix: String,
    clock: Clock,
}

impl Limiter {
    pub fn new(
        backend: &StateBackend,
        metrics: Arc<Metrics>,
        clock: Clock,
    ) -> anyhow::Result<Limiter> {
        Ok(Limiter {
            store: Arc::new(Store::new(backend, metrics)?),
            prefix: "sluice".into(),
            clock,
        })
    }

    fn minute_key(&self, kind: &str, id: &str, now: u64) -> String {
        format!("{}:{kind}:{id}:{}", self.prefix, now / 60)
    }

    fn spend_key(&self, id: &str, p: BudgetPeriod, now: u64) -> (String, Duration) {
        let (name, ttl) = period(p, now);
        (format!("{}:spend:{id}:{name}", self.prefix), ttl)
    }

    /// Spend of the key's current budget period, in USD, reservations in flight included.
    pub async fn spend_usd(&self, caller: &Caller) -> Option<f64> {
        let b = caller.key.budget.as_ref()?;
        let (key, _) = self.spend_key(&caller.key.id, b.period, self.clock.unix_secs());
        Some(self.store.get(&key).await as f64 / PICO_PER_USD)
    }

    /// Rate limits, then the budget, reserving `estimate_pico` of it. `Err` is the 429 to
    /// send.
    pub async fn admit(
        &self,
        caller: &Caller,
        metrics: &Metrics,
        estimate_pico: u128,
    ) -> Result<Admission, ApiError> {
        self.admit_rate(caller).await?;
        let k = &caller.key;
        let mut admission = Admission::default();
        if let Some(b) = &k.budget {
            let (key, ttl) = self.spend_key(&k.id, b.period, self.clock.unix_secs());
            let pico = i64::try_from(estimate_pico).unwrap_or(i64::MAX / 2);
            let before = self.store.incr(&key, pico, ttl).await.saturating_sub(pico);
            metrics
                .tenant_spend
                .with_label_values(&[&k.tenant, &k.id])
                .set(before as f64 / PICO_PER_USD);
            if before as f64 >= b.usd * PICO_PER_USD {
                self.store.add(&key, -pico, ttl);
                match &b.downgrade_to {
                    Some(m) => admission.downgrade_to = Some(m.clone()),
                    None => return Err(budget_exceeded(b.usd, b.period)),
                }
            } else {
                admission.reservation = Some(Reservation { key, ttl, pico });
            }
        }
        Ok(admission)
    }

    /// The key's request and token rates only: what a request that spends nothing upstream
    /// (`POST /v1/route`) still counts against, so that no key can saturate the embedder.
    pub async fn admit_rate(&self, caller: &Caller) -> Result<(), ApiError> {
        let k = &caller.key;
        let now = self.clock.unix_secs();
        let reset = 60 - now % 60;
        if let Some(limit) = k.requests_per_minute {
            let n = self
                .store
                .incr(
                    &self.minute_key("req", &k.id, now),
                    1,
                    Duration::from_secs(120),
                )
                .await;
            if n > limit as i64 {
                return Err(rate_limited("requests", limit, reset));
            }
        }
        if let Some(limit) = k.tokens_per_minute {
            let used = self.store.get(&self.minute_key("tok", &k.id, now)).await;
            if used >= limit as i64 {
                return Err(rate_limited("tokens", limit, reset));
            }
        }
        Ok(())
    }

    /// Adds a finished request's tokens to the key's minute, and its real cost less what it
    /// reserved to its spend. Synchronous for this process's counters, so the next request
    /// sees them; Redis is written in the background.
    pub fn settle(
        &self,
        caller: &Caller,
        tokens: u64,
        cost_pico: u128,
        reservation: Option<Reservation>,
    ) {
        let k = &caller.key;
        if k.tokens_per_minute.is_some() && tokens > 0 {
            self.store.add(
                &self.minute_key("tok", &k.id, self.clock.unix_secs()),
                i64::try_from(tokens).unwrap_or(i64::MAX),
                Duration::from_secs(120),
            );
        }
        let cost = i64::try_from(cost_pico).unwrap_or(i64::MAX / 2);
        match (reservation, &k.budget) {
            (Some(r), _) => self.store.add(&r.key, cost - r.pico, r.ttl),
            (None, Some(b)) if cost > 0 => {
                let (key, ttl) = self.spend_key(&k.id, b.period, self.clock.unix_secs());
                self.store.add(&key, cost, ttl);
            }
            _ => {}
        }
    }
}

fn rate_limited(kind: &str, limit: u64, reset_secs: u64) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorBody::new(
            format!("Rate limit reached for this API key: {limit} {kind} per minute. Please try again in {reset_secs}s."),
            kind,
            None,
            Some("rate_limit_exceeded"),
        ),
    );
    if let Ok(v) = HeaderValue::from_str(&reset_secs.to_string()) {
        e.headers.insert(http::header::RETRY_AFTER, v);
    }
    if let (Ok(name), Ok(v)) = (
        http::HeaderName::try_from(format!("x-ratelimit-limit-{kind}")),
        HeaderValue::from_str(&limit.to_string()),
    ) {
        e.headers.insert(name, v);
    }
    e
}

fn budget_exceeded(usd: f64, p: BudgetPeriod) -> ApiError {
    let period = match p {
        BudgetPeriod::Day => "day",
        BudgetPeriod::Month => "month",
    };
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorBody::new(
            format!("This API key has used its budget of ${usd} for this {period} (UTC); requests are refused until the next {period} begins."),
            "insufficient_quota",
            None,
            Some("budget_exceeded"),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_periods() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(19_782), (2024, 2, 29));
        assert_eq!(civil(20_414), (2025, 11, 22));
        assert_eq!(period(BudgetPeriod::Day, 1_795_314_211).0, "20261122");
        assert_eq!(period(BudgetPeriod::Month, 1_795_314_211).0, "202611");
    }

    #[test]
    fn local_counters_expire() {
        let l = Local::default();
        assert_eq!(l.incr("a", 2, Duration::from_secs(60)), 2);
        assert_eq!(l.incr("a", 3, Duration::from_secs(60)), 5);
        assert_eq!(l.get("a"), 5);
        assert_eq!(l.incr("b", 1, Duration::ZERO), 1);
        assert_eq!(l.get("b"), 0);
    }

    fn caller(budget_usd: f64, rpm: Option<u64>) -> Caller {
        let yaml = format!(
            "providers: {{ p: {{ base_url: \"http://127.0.0.1:1/v1\" }} }}\n\
             models: {{ m: {{ provider: p }}, cheap: {{ provider: p }} }}\n\
             keys:\n  k:\n    hash: \"sha256:{}\"\n    tenant: t\n    rate_limit: {{ requests_per_minute: {} }}\n    budget: {{ usd: {budget_usd}, period: day }}\n",
            "ab".repeat(32),
            rpm.map_or("null".to_owned(), |r| r.to_string()),
        );
        let cfg = sluice_config::load_str(&yaml, "t").unwrap();
        Caller {
            key: cfg.keys.values().next().unwrap().clone(),
        }
    }

    fn limiter(clock: Clock) -> (Limiter, Arc<Metrics>) {
        let m = Arc::new(Metrics::new().unwrap());
        (
            Limiter::new(&StateBackend::Memory, m.clone(), clock).unwrap(),
            m,
        )
    }

    const USD: u128 = 1_000_000_000_000;

    /// Concurrent requests see each other's reservations: with a $1 budget and $0.40
    /// estimates, three are admitted (0, 0.40 and 0.80 already reserved) and the fourth is
    /// refused, so the overshoot is bounded by one estimate; settling at the real cost gives
    /// the unused part back.
    #[tokio::test(start_paused = true)]
    async fn budget_reservations_bound_concurrent_overshoot() {
        let (l, m) = limiter(Clock::starting_at(1_800_000_000));
        let c = caller(1.0, None);
        let mut held = Vec::new();
        for _ in 0..3 {
            let a = l.admit(&c, &m, 4 * USD / 10).await.unwrap();
            assert!(a.downgrade_to.is_none());
            held.push(a.reservation.unwrap());
        }
        let refused = l.admit(&c, &m, 4 * USD / 10).await.unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.body.error.code.as_deref(), Some("budget_exceeded"));
        // The refused request's reservation was given back: 3 × 0.40 is reserved.
        assert_eq!(l.spend_usd(&c).await, Some(1.2));
        // Each costs 0.10 in the end.
        for r in held {
            l.settle(&c, 100, USD / 10, Some(r));
        }
        assert_eq!(l.spend_usd(&c).await, Some(0.3));
        assert!(l.admit(&c, &m, 4 * USD / 10).await.is_ok());
    }

    /// Rate windows are UTC minutes and budgets UTC days, read from the injected clock.
    #[tokio::test(start_paused = true)]
    async fn windows_follow_the_clock() {
        // 10 s before a minute boundary, and that minute is 23:59 UTC.
        let midnight = 1_800_057_600; // 2027-01-16T00:00:00Z
        let (l, m) = limiter(Clock::starting_at(midnight - 10));
        let c = caller(1.0, Some(2));
        assert!(l.admit(&c, &m, 0).await.is_ok());
        assert!(l.admit(&c, &m, 0).await.is_ok());
        let e = l.admit(&c, &m, 0).await.unwrap_err();
        assert_eq!(e.body.error.code.as_deref(), Some("rate_limit_exceeded"));
        assert_eq!(e.headers["retry-after"], "10");
        l.settle(&c, 0, 2 * USD, None);
        assert_eq!(
            l.admit(&c, &m, 0)
                .await
                .unwrap_err()
                .body
                .error
                .code
                .as_deref(),
            Some("rate_limit_exceeded")
        );
        tokio::time::advance(Duration::from_secs(10)).await;
        // A new minute and a new day: the rate and the budget start again.
        assert_eq!(l.spend_usd(&c).await, Some(0.0));
        assert!(l.admit(&c, &m, 0).await.is_ok());
    }
}
