//! The quality loop's metrics: shadow judgments, their spend (apart from user traffic),
//! client feedback, drift of the routed traffic, and the outcome store's writes.

use prometheus::{Gauge, GaugeVec, IntCounterVec, IntGauge, Opts, Registry};

use crate::usd::UsdCounterVec;

pub struct QualityMetrics {
    /// Judged comparisons by policy, the route that answered the client, and verdict.
    pub judged: IntCounterVec,
    pub weak_ok_ratio: GaugeVec,
    pub weak_ok_samples: GaugeVec,
    /// Shadow and judge calls by policy, model, role and outcome.
    pub shadow_requests: IntCounterVec,
    pub shadow_cost: UsdCounterVec,
    pub shadow_skipped: IntCounterVec,
    pub shadow_spend_today: GaugeVec,
    pub shadow_budget: GaugeVec,
    pub feedback: IntCounterVec,
    pub feedback_mean: GaugeVec,
    pub outcome_writes: IntCounterVec,
    pub outcome_queue_depth: IntGauge,
    pub drift_psi: GaugeVec,
    pub drift_embedding_shift: GaugeVec,
    pub drift_samples: GaugeVec,
    /// Unix time at which the last shadow judgment finished: `time() - it` says whether
    /// judging has stalled.
    pub last_judged: Gauge,
}

impl QualityMetrics {
    pub(crate) fn new(
        registry: &Registry,
        families: &mut Vec<(String, String)>,
    ) -> Result<QualityMetrics, prometheus::Error> {
        let counter = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels)
        };
        let gauge =
            |name: &str, help: &str, labels: &[&str]| GaugeVec::new(Opts::new(name, help), labels);
        let m = QualityMetrics {
            judged: counter(
                "sluice_quality_judged_total",
                "Shadow comparisons judged, by policy, the route that answered the client, and verdict (weak_better, tie, strong_better, unparseable)",
                &["policy", "route", "verdict"],
            )?,
            weak_ok_ratio: gauge(
                "sluice_quality_weak_ok_ratio",
                "Share of the last (up to) 500 parsed verdicts in which the weak model's answer was as good as the strong model's",
                &["policy"],
            )?,
            weak_ok_samples: gauge(
                "sluice_quality_weak_ok_samples",
                "Parsed verdicts behind sluice_quality_weak_ok_ratio",
                &["policy"],
            )?,
            shadow_requests: counter(
                "sluice_shadow_requests_total",
                "Shadow calls (the model the policy did not choose) and judge calls, by policy, model, role (shadow, judge) and outcome (ok, error)",
                &["policy", "model", "role", "outcome"],
            )?,
            shadow_cost: UsdCounterVec::new(
                "sluice_shadow_cost_usd_total",
                "Spend on shadow and judge calls, by policy, model and role, in USD: apart from user traffic, never charged to a key",
                &["policy", "model", "role"],
            )?,
            shadow_skipped: counter(
                "sluice_shadow_skipped_total",
                "Requests sampled for judging but not judged, by policy and reason (budget, busy, ineligible)",
                &["policy", "reason"],
            )?,
            shadow_spend_today: gauge(
                "sluice_shadow_spend_today_usd",
                "Shadow and judge spend of the current UTC day, by policy, in USD",
                &["policy"],
            )?,
            shadow_budget: gauge(
                "sluice_shadow_budget_usd",
                "The policy's max_shadow_usd_per_day",
                &["policy"],
            )?,
            feedback: counter(
                "sluice_feedback_total",
                "Requests rated through POST /v1/feedback, by policy and route (each request counted once)",
                &["policy", "route"],
            )?,
            feedback_mean: gauge(
                "sluice_feedback_score_mean",
                "Mean of the last (up to) 500 feedback scores (-1 to 1), by policy and route",
                &["policy", "route"],
            )?,
            outcome_writes: counter(
                "sluice_outcome_writes_total",
                "Outcome store writes by result (written, dropped: queue full, failed: store error)",
                &["result"],
            )?,
            outcome_queue_depth: IntGauge::new(
                "sluice_outcome_queue_depth",
                "Outcome rows waiting to be written",
            )?,
            drift_psi: gauge(
                "sluice_drift_score_psi",
                "Population stability index of recent router scores against the policy's calibration reference",
                &["policy"],
            )?,
            drift_embedding_shift: gauge(
                "sluice_drift_embedding_shift",
                "1 - cosine similarity between the mean prompt embedding of recent traffic and the calibration reference's",
                &["policy"],
            )?,
            drift_samples: gauge(
                "sluice_drift_samples",
                "Recent requests behind the drift figures, by policy",
                &["policy"],
            )?,
            last_judged: Gauge::new(
                "sluice_quality_last_judged_timestamp_seconds",
                "Unix time at which the last shadow judgment finished",
            )?,
        };
        crate::reg(registry, families, m.judged.clone())?;
        crate::reg(registry, families, m.weak_ok_ratio.clone())?;
        crate::reg(registry, families, m.weak_ok_samples.clone())?;
        crate::reg(registry, families, m.shadow_requests.clone())?;
        crate::reg(registry, families, m.shadow_cost.clone())?;
        crate::reg(registry, families, m.shadow_skipped.clone())?;
        crate::reg(registry, families, m.shadow_spend_today.clone())?;
        crate::reg(registry, families, m.shadow_budget.clone())?;
        crate::reg(registry, families, m.feedback.clone())?;
        crate::reg(registry, families, m.feedback_mean.clone())?;
        crate::reg(registry, families, m.outcome_writes.clone())?;
        crate::reg(registry, families, m.outcome_queue_depth.clone())?;
        crate::reg(registry, families, m.drift_psi.clone())?;
        crate::reg(registry, families, m.drift_embedding_shift.clone())?;
        crate::reg(registry, families, m.drift_samples.clone())?;
        crate::reg(registry, families, m.last_judged.clone())?;
        Ok(m)
    }
}
