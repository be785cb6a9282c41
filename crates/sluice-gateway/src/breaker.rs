//! A circuit breaker per upstream provider: after `breaker_failures` requests in a row
//! failed there (each after its own retries), the provider is skipped for
//! `breaker_cooldown` so requests go straight to their fallback instead of waiting on
//! timeouts; then one trial request is let through, and its outcome closes or reopens it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use sluice_telemetry::Metrics;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// The trial request is in flight; everyone else is still turned away.
    HalfOpen,
}

pub struct Breaker {
    provider: String,
    threshold: u32,
    cooldown: Duration,
    state: Mutex<State>,
    metrics: Arc<Metrics>,
}

impl Breaker {
    fn new(provider: &str, threshold: u32, cooldown: Duration, metrics: Arc<Metrics>) -> Breaker {
        metrics.circuit_state.with_label_values(&[provider]).set(0);
        Breaker {
            provider: provider.to_owned(),
            threshold,
            cooldown,
            state: Mutex::new(State::Closed { failures: 0 }),
            metrics,
        }
    }

    fn set(&self, s: &mut State, new: State) {
        *s = new;
        let v = match new {
            State::Closed { .. } => 0,
            State::Open { .. } => 1,
            State::HalfOpen => 2,
        };
        self.metrics
            .circuit_state
            .with_label_values(&[&self.provider])
            .set(v);
    }

    /// Whether a request may be sent now.
    pub fn allow(&self) -> bool {
        if self.threshold == 0 {
            return true;
        }
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match *s {
            State::Closed { .. } => true,
            State::Open { until } if Instant::now() >= until => {
                self.set(&mut s, State::HalfOpen);
                tracing::info!(provider = %self.provider, "circuit half-open: sending one trial request");
                true
            }
            State::Open { .. } | State::HalfOpen => false,
        }
    }

    pub fn success(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if *s != (State::Closed { failures: 0 }) {
            if matches!(*s, State::HalfOpen) {
                tracing::info!(provider = %self.provider, "circuit closed: trial request succeeded");
            }
            self.set(&mut s, State::Closed { failures: 0 });
        }
    }

    pub fn failure(&self) {
        if self.threshold == 0 {
            return;
        }
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let open = match *s {
            State::Closed { failures } if failures + 1 >= self.threshold => true,
            State::Closed { failures } => {
                *s = State::Closed {
                    failures: failures + 1,
                };
                false
            }
            State::HalfOpen => true,
            State::Open { .. } => false,
        };
        if open {
            self.set(
                &mut s,
                State::Open {
                    until: Instant::now() + self.cooldown,
                },
            );
            self.metrics
                .circuit_opened
                .with_label_values(&[&self.provider])
                .inc();
            tracing::warn!(provider = %self.provider, cooldown = ?self.cooldown, "circuit open: skipping this provider");
        }
    }
}

/// Breakers by provider; they outlive config reloads (a reload does not forget that an
/// upstream is down), and a changed threshold or cool-down starts a fresh one.
#[derive(Default)]
pub struct Breakers {
    map: Mutex<HashMap<String, Arc<Breaker>>>,
}

impl Breakers {
    pub fn get(
        &self,
        provider: &str,
        threshold: u32,
        cooldown: Duration,
        metrics: &Arc<Metrics>,
    ) -> Arc<Breaker> {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        match m.get(provider) {
            Some(b) if b.threshold == threshold && b.cooldown == cooldown => b.clone(),
            _ => {
                let b = Arc::new(Breaker::new(provider, threshold, cooldown, metrics.clone()));
                m.insert(provider.to_owned(), b.clone());
                b
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paused time: the cool-down is exact to the tick, with no sleeping.
    #[tokio::test(start_paused = true)]
    async fn opens_after_threshold_then_half_opens() {
        let m = Arc::new(Metrics::new().unwrap());
        let cooldown = Duration::from_secs(30);
        let b = Breaker::new("p", 2, cooldown, m.clone());
        let state = || m.circuit_state.with_label_values(&["p"]).get();
        assert!(b.allow());
        b.failure();
        assert!(b.allow());
        b.success();
        b.failure();
        assert!(b.allow(), "a success resets the count");
        b.failure();
        assert!(!b.allow(), "two in a row open it");
        assert_eq!(state(), 1);
        tokio::time::advance(cooldown - Duration::from_millis(1)).await;
        assert!(
            !b.allow(),
            "still open a millisecond before the cool-down ends"
        );
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(b.allow(), "one trial after the cool-down");
        assert_eq!(state(), 2);
        assert!(!b.allow(), "only one");
        b.failure();
        assert!(!b.allow(), "a failed trial reopens it");
        tokio::time::advance(cooldown).await;
        assert!(b.allow());
        b.success();
        assert_eq!(state(), 0);
        assert!(b.allow() && b.allow());
        assert_eq!(m.circuit_opened.with_label_values(&["p"]).get(), 2);
    }
}
