//! The response cache's metrics: lookups and what they found, guard refusals, and what the
//! hits saved.

use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};

use crate::usd::UsdCounterVec;

pub struct CacheMetrics {
    /// Lookups by policy and result (`hit`, `semantic`, `miss`, `refused`, `error`).
    pub lookups: IntCounterVec,
    /// Semantic matches refused by a guard, by policy and guard.
    pub guard_rejections: IntCounterVec,
    /// Answers stored, by policy.
    pub stored: IntCounterVec,
    /// What the hits' answers cost when they were first produced: what serving them again
    /// saved.
    pub saved: UsdCounterVec,
    /// Entries held in this process, by policy.
    pub entries: IntGaugeVec,
}

impl CacheMetrics {
    pub(crate) fn new(
        registry: &Registry,
        families: &mut Vec<(String, String)>,
    ) -> Result<CacheMetrics, prometheus::Error> {
        let m = CacheMetrics {
            lookups: IntCounterVec::new(
                Opts::new(
                    "sluice_cache_lookups_total",
                    "Response cache lookups by policy and result (hit: exact, semantic, miss, refused: the nearest prompt was refused by a guard, error: store unreachable)",
                ),
                &["policy", "result"],
            )?,
            guard_rejections: IntCounterVec::new(
                Opts::new(
                    "sluice_cache_guard_rejections_total",
                    "Semantic cache matches refused by a guard, by policy and guard (negation, antonym, number, entity)",
                ),
                &["policy", "guard"],
            )?,
            stored: IntCounterVec::new(
                Opts::new("sluice_cache_stored_total", "Answers stored in the response cache, by policy"),
                &["policy"],
            )?,
            saved: UsdCounterVec::new(
                "sluice_cache_saved_usd_total",
                "What the answers served from the cache cost when they were produced, by policy, in USD: the spend the cache avoided",
                &["policy"],
            )?,
            entries: IntGaugeVec::new(
                Opts::new(
                    "sluice_cache_entries",
                    "Response cache entries held in this process, by policy (entries in Redis are not counted)",
                ),
                &["policy"],
            )?,
        };
        crate::reg(registry, families, m.lookups.clone())?;
        crate::reg(registry, families, m.guard_rejections.clone())?;
        crate::reg(registry, families, m.stored.clone())?;
        crate::reg(registry, families, m.saved.clone())?;
        crate::reg(registry, families, m.entries.clone())?;
        Ok(m)
    }
}
