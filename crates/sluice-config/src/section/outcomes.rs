//! `outcomes:` — the outcome store: one row per request the gateway served (its id, key,
//! policy, route, router score, cost and latency), the shadow judgments of the sampled ones,
//! and the feedback clients send back. Embedded SQLite by default (no server to run);
//! PostgreSQL for several replicas sharing one store. Absent: no store, and
//! `POST /v1/feedback` answers that there is nowhere to keep feedback.

use std::time::Duration;

use serde::Deserialize;

use crate::error::ConfigError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutcomes {
    /// `sqlite:<path>` (relative to the config file's folder; created with its tables) or
    /// a `postgres://user:password@host/db` URL (tables created by the migrations run at
    /// start-up). `store: sqlite:outcomes.db`
    pub store: String,
    /// Rows waiting to be written; when full, rows are dropped and counted, never waited
    /// for. `queue_depth: 10000`
    #[serde(default = "default_queue_depth")]
    pub queue_depth: usize,
    /// Rows (and any prompt and answer text in them) are deleted this long after their
    /// request, unless the policy's `quality.retention` says otherwise. Feedback is accepted
    /// for as long as the row lives. `retention: 30d`
    #[serde(default = "default_retention", with = "humantime_serde")]
    pub retention: Duration,
    /// Shadow judgings running at once across all policies; a sampled request beyond it is
    /// skipped and counted (`reason="busy"`). `max_shadow_jobs: 16`
    #[serde(default = "default_max_shadow_jobs")]
    pub max_shadow_jobs: usize,
}

fn default_queue_depth() -> usize {
    10_000
}
fn default_retention() -> Duration {
    Duration::from_secs(30 * 86_400)
}
fn default_max_shadow_jobs() -> usize {
    16
}

/// Where outcome rows are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// A SQLite file, as written (relative paths resolve against the config's folder).
    Sqlite(String),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutcomesConfig {
    pub store: StoreUrl,
    pub queue_depth: usize,
    pub retention: Duration,
    pub max_shadow_jobs: usize,
}

impl StoreUrl {
    pub fn parse(s: &str) -> Result<StoreUrl, String> {
        if let Some(path) = s
            .strip_prefix("sqlite://")
            .or_else(|| s.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err("`sqlite:` needs a file path, e.g. sqlite:outcomes.db".into());
            }
            Ok(StoreUrl::Sqlite(path.to_owned()))
        } else if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(StoreUrl::Postgres(s.to_owned()))
        } else {
            Err(format!(
                "expected sqlite:<path> or a postgres://user@host/db URL, got '{s}'"
            ))
        }
    }
}

pub(crate) fn check_outcomes(
    raw: RawOutcomes,
    errors: &mut Vec<ConfigError>,
) -> Option<OutcomesConfig> {
    let before = errors.len();
    let store = StoreUrl::parse(&raw.store)
        .map_err(|m| errors.push(ConfigError::new("outcomes.store", m)))
        .ok();
    if raw.queue_depth == 0 {
        errors.push(ConfigError::new(
            "outcomes.queue_depth",
            "must be at least 1",
        ));
    }
    if raw.max_shadow_jobs == 0 {
        errors.push(ConfigError::new(
            "outcomes.max_shadow_jobs",
            "must be at least 1 (a shadow_rate of 0 turns judging off)",
        ));
    }
    if raw.retention < Duration::from_secs(60) {
        errors.push(ConfigError::new(
            "outcomes.retention",
            "must be at least 1m (feedback arrives after the answer)",
        ));
    }
    if errors.len() != before {
        return None;
    }
    Some(OutcomesConfig {
        store: store?,
        queue_depth: raw.queue_depth,
        retention: raw.retention,
        max_shadow_jobs: raw.max_shadow_jobs,
    })
}

/// `policies.<name>.quality` — shadow judging: a sampled share of this policy's requests is
/// also sent, after the client has its answer, to the model the policy did not choose, and a
/// judge model compares the two answers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQuality {
    /// Probability that a request answered by `target` or `strong` is judged; recorded
    /// with the row as its propensity. `shadow_rate: 0.05`
    #[serde(default)]
    pub shadow_rate: f64,
    /// The model that compares the two answers. `judge: gpt-4o`
    pub judge: String,
    /// Shadow and judge spend per UTC day; once reached, no more judging that day.
    /// `max_shadow_usd_per_day: 5`
    pub max_shadow_usd_per_day: f64,
    /// Keep the prompt and both answers with the row (for review and retraining).
    /// `store_text: false`
    #[serde(default)]
    pub store_text: bool,
    /// How long this policy's rows live; defaults to `outcomes.retention`. `retention: 7d`
    #[serde(default, with = "humantime_serde")]
    pub retention: Option<Duration>,
    /// The judge's instructions, replacing the built-in rubric. Must contain `{question}`,
    /// `{answer_a}` and `{answer_b}`, and ask for a last line `VERDICT: A`, `VERDICT: B` or
    /// `VERDICT: TIE`.
    #[serde(default)]
    pub rubric: Option<String>,
    /// A JSON file (relative to the config) with the router-score distribution and mean
    /// prompt embedding of the rows the head was trained and calibrated on, as `sluice-evals
    /// quality-train` writes it (`<head>.drift.json`): recent traffic is compared with it
    /// (the drift metrics).
    #[serde(default)]
    pub drift_reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QualityConfig {
    pub shadow_rate: f64,
    pub judge: String,
    pub max_shadow_usd_per_day: f64,
    pub store_text: bool,
    pub retention: Option<Duration>,
    pub rubric: String,
    pub drift_reference: Option<String>,
}

/// The judge's default instructions: both answers to one question, a verdict on its own
/// last line. The gateway asks twice, with the answers swapped, to cancel position bias.
pub const DEFAULT_RUBRIC: &str = "You are an impartial judge comparing two AI assistant answers to the same request.\n\
Judge which answer better serves the user: correctness first, then whether it does what was asked, then clarity. \
Do not prefer an answer for being longer. If both are equally good or equally bad, say TIE.\n\n\
[Request]\n{question}\n\n[Answer A]\n{answer_a}\n\n[Answer B]\n{answer_b}\n\n\
Explain briefly, then end with exactly one line of the form\nVERDICT: A\nor\nVERDICT: B\nor\nVERDICT: TIE";

pub(crate) fn check_quality(
    raw: RawQuality,
    path: &str,
    known_model: &dyn Fn(&str) -> bool,
    has_strong: bool,
    errors: &mut Vec<ConfigError>,
) -> Option<QualityConfig> {
    let before = errors.len();
    if !(0.0..=1.0).contains(&raw.shadow_rate) {
        errors.push(ConfigError::new(
            format!("{path}.shadow_rate"),
            "a probability between 0 and 1",
        ));
    }
    if raw.shadow_rate > 0.0 && !has_strong {
        errors.push(ConfigError::new(
            format!("{path}.shadow_rate"),
            "shadow judging compares `target` with `strong`: the policy needs a strong model",
        ));
    }
    if !known_model(&raw.judge) {
        errors.push(ConfigError::new(
            format!("{path}.judge"),
            format!("unknown model '{}'", raw.judge),
        ));
    }
    if !(raw.max_shadow_usd_per_day >= 0.0 && raw.max_shadow_usd_per_day.is_finite()) {
        errors.push(ConfigError::new(
            format!("{path}.max_shadow_usd_per_day"),
            "a non-negative number of USD",
        ));
    }
    if raw.retention.is_some_and(|r| r < Duration::from_secs(60)) {
        errors.push(ConfigError::new(
            format!("{path}.retention"),
            "must be at least 1m (feedback arrives after the answer)",
        ));
    }
    let rubric = raw.rubric.unwrap_or_else(|| DEFAULT_RUBRIC.to_owned());
    for slot in ["{question}", "{answer_a}", "{answer_b}"] {
        if !rubric.contains(slot) {
            errors.push(ConfigError::new(
                format!("{path}.rubric"),
                format!("must contain {slot}"),
            ));
        }
    }
    (errors.len() == before).then_some(QualityConfig {
        shadow_rate: raw.shadow_rate,
        judge: raw.judge,
        max_shadow_usd_per_day: raw.max_shadow_usd_per_day,
        store_text: raw.store_text,
        retention: raw.retention,
        rubric,
        drift_reference: raw.drift_reference,
    })
}
