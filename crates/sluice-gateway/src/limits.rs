//! Rate limits and budgets per key, on counters kept in this process or in Redis.
//!
//! Counters are fixed windows: requests and tokens per UTC minute, spend (exact pico-USD
//! from the same cost accounting as the metrics) per UTC day or month. With `state:
//! redis://…` every replica increments the same keys, so limits and budgets hold across
//! them; if Redis stops answering (each call has a short deadline) the gateway keeps
//! serving on its local counters, logs it once, and shows `sluice_state_backend_up 0`
//! until Redis answers again.
//!
//! Checks happen before a request is sent and spend is added when it ends, so requests
//! already in flight when a budget is reached can overshoot it by their own cost.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{HeaderValue, StatusCode};
use sluice_api::ErrorBody;
use sluice_config::{BudgetPeriod, StateBackend};
use sluice_telemetry::Metrics;

use crate::auth::Caller;
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

    /// Adds `by` and returns the new total; the key expires `ttl` after it was created.
    pub async fn incr(&self, key: &str, by: i64, ttl: Duration) -> i64 {
        let local = self.local.incr(key, by, ttl);
        let Some(r) = &self.redis else {
            return local;
        };
        let Some(mut conn) = self.connection(r).await else {
            return local;
        };
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
                v
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

/// What the limits decided for one request.
#[derive(Debug, Default)]
pub struct Admission {
    /// Budget reached with `on_exceeded: downgrade`: serve with this model instead.
    pub downgrade_to: Option<String>,
}

pub struct Limiter {
    pub store: Store,
    prefix: String,
}

impl Limiter {
    pub fn new(backend: &StateBackend, metrics: Arc<Metrics>) -> anyhow::Result<Limiter> {
        Ok(Limiter {
            store: Store::new(backend, metrics)?,
            prefix: "sluice".into(),
        })
    }

    fn minute_key(&self, kind: &str, id: &str, now: u64) -> String {
        format!("{}:{kind}:{id}:{}", self.prefix, now / 60)
    }

    fn spend_key(&self, id: &str, p: BudgetPeriod, now: u64) -> (String, Duration) {
        let (name, ttl) = period(p, now);
        (format!("{}:spend:{id}:{name}", self.prefix), ttl)
    }

    /// Spend of the key's current budget period, in USD.
    pub async fn spend_usd(&self, caller: &Caller) -> Option<f64> {
        let b = caller.key.budget.as_ref()?;
        let (key, _) = self.spend_key(&caller.key.id, b.period, crate::unix_now());
        Some(self.store.get(&key).await as f64 / PICO_PER_USD)
    }

    /// Rate limits, then the budget. `Err` is the 429 to send.
    pub async fn admit(&self, caller: &Caller, metrics: &Metrics) -> Result<Admission, ApiError> {
        self.admit_rate(caller).await?;
        let k = &caller.key;
        let mut admission = Admission::default();
        if let Some(b) = &k.budget {
            let (key, _) = self.spend_key(&k.id, b.period, crate::unix_now());
            let spent = self.store.get(&key).await as f64 / PICO_PER_USD;
            metrics
                .tenant_spend
                .with_label_values(&[&k.tenant, &k.id])
                .set(spent);
            if spent >= b.usd {
                match &b.downgrade_to {
                    Some(m) => admission.downgrade_to = Some(m.clone()),
                    None => return Err(budget_exceeded(b.usd, b.period)),
                }
            }
        }
        Ok(admission)
    }

    /// The key's request and token rates only: what a request that spends nothing upstream
    /// (`POST /v1/route`) still counts against, so that no key can saturate the embedder.
    pub async fn admit_rate(&self, caller: &Caller) -> Result<(), ApiError> {
        let k = &caller.key;
        let now = crate::unix_now();
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

    /// Adds a finished request's tokens and cost to the key's counters.
    pub async fn record(&self, caller: &Caller, tokens: u64, cost_pico: u128) {
        let k = &caller.key;
        let now = crate::unix_now();
        if k.tokens_per_minute.is_some() && tokens > 0 {
            self.store
                .incr(
                    &self.minute_key("tok", &k.id, now),
                    i64::try_from(tokens).unwrap_or(i64::MAX),
                    Duration::from_secs(120),
                )
                .await;
        }
        if let Some(b) = &k.budget {
            if cost_pico > 0 {
                let (key, ttl) = self.spend_key(&k.id, b.period, now);
                self.store
                    .incr(&key, i64::try_from(cost_pico).unwrap_or(i64::MAX), ttl)
                    .await;
            }
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
}
