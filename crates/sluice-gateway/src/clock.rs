//! The gateway's one source of time, injectable so that tests can move it.
//!
//! Durations (request latency, breaker cool-downs, counter expiry) are measured on
//! `tokio::time::Instant`, which `tokio::time::pause` and `advance` control in tests. Rate
//! windows and budget periods are UTC minutes, days and months, so they need wall-clock
//! seconds as well: [`Clock::Manual`] derives them from the tokio clock, so that advancing
//! paused time by a minute also moves the rate window by a minute.

use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// The system's wall clock.
    System,
    /// Wall-clock seconds that start at `unix` and follow the tokio clock from `at`.
    Manual { unix: u64, at: Instant },
}

impl Clock {
    /// A clock reading `unix` seconds now and moving with the (possibly paused) tokio clock.
    pub fn starting_at(unix: u64) -> Clock {
        Clock::Manual {
            unix,
            at: Instant::now(),
        }
    }

    /// Seconds since the Unix epoch (0 if the system clock is before it).
    pub fn unix_secs(&self) -> u64 {
        match self {
            Clock::System => crate::unix_now(),
            Clock::Manual { unix, at } => unix + at.elapsed().as_secs(),
        }
    }

    pub fn now(&self) -> Instant {
        Instant::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn manual_clock_follows_paused_time() {
        let c = Clock::starting_at(1_800_000_000);
        assert_eq!(c.unix_secs(), 1_800_000_000);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(c.unix_secs(), 1_800_000_061);
    }
}
