//! The cascade: the in-process model starts answering, and its own confidence decides
//! whether that draft is the answer or the request goes to the strong model.
//!
//! The local model generates with [signals](sluice_local::signals) on, up to the policy's
//! decision point (`decide_at`: after the prefill, after N tokens, or at the end of a draft
//! of `max_draft_tokens`). There the escalation head turns the signals (and the prompt's
//! embedding, if it reads one) into P(the local answer is not good enough):
//! - below the threshold, the draft is **accepted**: the generation simply goes on and is
//!   the answer. Streamed, the held draft is sent at once and the rest live.
//! - at or above it, the draft is **escalated**: the generation is cancelled, its tokens are
//!   charged to the request under the local model's prices, and dispatch moves on to
//!   `strong` (then the fallbacks).
//!
//! Nothing of a draft reaches the client before the decision, so a client never receives
//! tokens that are later withdrawn. A draft that has not reached its decision point after
//! `max_draft_ms` (queueing included) is escalated: the most drafting can add to an
//! escalated request.

use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;
use sluice_config::ModelConfig;
use sluice_local::escalation::EscalationHead;
use sluice_local::generate::SignalOptions;
use sluice_local::scheduler::Event;
use sluice_local::signals::Summary;
use sluice_telemetry::pricing::Tokens;

use crate::ledger::prices;
use crate::local::LocalTarget;
use crate::target::{self, Call, Failure, Held, Next, Served};

/// A cascade policy, compiled.
pub struct Plan {
    pub head: Arc<EscalationHead>,
    pub threshold: f64,
    /// Generated tokens after which the head decides (1 = after the prefill).
    pub checkpoint: usize,
    pub max_draft: Duration,
    pub prompt_window: usize,
}

/// The failure kind dispatch reads as "escalated" rather than a fault.
pub const ESCALATED: &str = "escalated";

/// What the draft showed at the decision point.
enum Seen {
    /// The checkpoint's summary (the draft may also have ended by then).
    Decide(Summary),
    /// `max_draft_ms` passed first.
    TimedOut,
}

/// Drafts on the local model and decides. `Ok`: the draft was accepted and this is the
/// answer (it carries the request's ledger entry). `Err`: escalated (kind [`ESCALATED`],
/// `Next::FallBack`, the draft already charged) or the local model could not draft (its
/// own failure, with what comes next).
pub async fn draft(
    model: &ModelConfig,
    local: &Arc<LocalTarget>,
    plan: &Plan,
    embedding: Option<&[f32]>,
    policy: &str,
    escalate_to: Option<&str>,
    call: Call<'_>,
) -> Result<Response, Failure> {
    let state = call.state;
    let started = state.clock.now();
    let mut gen = target::prepare_local(model, local, &call).await?;
    gen.signals = Some(SignalOptions {
        prompt_window: plan.prompt_window,
        checkpoint: Some(plan.checkpoint),
    });
    let prompt_tokens = gen.prompt_ids.len();
    let mut rx = target::submit_local(model, local, state, gen)?;
    let deadline = started + plan.max_draft;

    let mut held = Held::default();
    let seen = loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Err(_) => break Seen::TimedOut,
            Ok(Some(Event::Text { text, tokens })) => {
                held.pieces.push(text);
                held.tokens = tokens;
            }
            // The engine sends the checkpoint at the decision point, or with the step that
            // ends a shorter draft, always before `Done`: a `Done` first breaks that.
            Ok(Some(Event::Checkpoint(s))) => break Seen::Decide(s),
            Ok(Some(Event::Done(_))) => {
                return Err(Failure {
                    kind: "local_failed",
                    why: "the draft ended without its checkpoint".into(),
                    next: Next::FallBack,
                    upstream: None,
                })
            }
            Ok(Some(Event::Failed(e))) => {
                return Err(Failure {
                    kind: "local_failed",
                    why: format!("the draft failed: {e}"),
                    next: Next::FallBack,
                    upstream: None,
                })
            }
            Ok(None) => {
                return Err(Failure {
                    kind: "closed",
                    why: "the local model stopped mid-draft".into(),
                    next: Next::FallBack,
                    upstream: None,
                })
            }
        }
    };
    let took = state.clock.now().saturating_duration_since(started);
    let m = &state.metrics;
    let (p, summary) = match &seen {
        Seen::TimedOut => (None, None),
        Seen::Decide(s) => {
            let score = plan.head.score(&s.features(), embedding);
            if let Err(e) = &score {
                // A head that cannot score keeps quality first: escalate.
                tracing::warn!(policy, error = %e, "escalation head failed; escalating");
            }
            (score.ok(), Some(s))
        }
    };
    if let Some(p) = p {
        m.cascade_probability
            .with_label_values(&[policy])
            .observe(f64::from(p));
    }
    let drafted = summary.map_or(held.tokens, |s| s.tokens.max(held.tokens));
    let t = plan.threshold;
    // With nowhere to escalate to (the key may not reach `strong`), the draft stands.
    let accept = p.is_some_and(|p| f64::from(p) < t) || escalate_to.is_none();
    let outcome = if accept { "accepted" } else { "escalated" };
    m.cascade_decisions
        .with_label_values(&[policy, outcome])
        .inc();
    m.cascade_draft_seconds
        .with_label_values(&[policy, outcome])
        .observe(took.as_secs_f64());
    m.cascade_draft_tokens
        .with_label_values(&[policy, if accept { "kept" } else { "discarded" }])
        .inc_by(drafted as u64);

    if !accept {
        // Cancels the generation at its next step.
        drop(rx);
        let why = match (&seen, p) {
            (Seen::TimedOut, _) => {
                m.cascade_timeouts.with_label_values(&[policy]).inc();
                format!(
                    "draft not decided within max_draft_ms ({} ms)",
                    plan.max_draft.as_millis()
                )
            }
            (_, Some(p)) => format!(
                "P(escalate) {p:.3} >= threshold {t:.3} after {drafted} draft token{}",
                if drafted == 1 { "" } else { "s" }
            ),
            (_, None) => "the escalation head could not score the draft".into(),
        };
        let price = prices(model);
        let name = model.name.clone();
        let mut cost = 0;
        call.meter.update(|e| {
            cost = e.side_charge(
                &name,
                price,
                Tokens {
                    prompt: prompt_tokens as u64,
                    cached: 0,
                    cache_write: 0,
                    completion: drafted as u64,
                },
            );
        });
        m.cascade_discarded_cost.add(&[policy], cost);
        return Err(Failure {
            kind: ESCALATED,
            why,
            next: Next::FallBack,
            upstream: None,
        });
    }

    let verdict = match p {
        Some(p) if f64::from(p) < t => format!("P(escalate) {p:.3} < threshold {t:.3}"),
        Some(p) => {
            format!("P(escalate) {p:.3} >= threshold {t:.3} but no escalation target is permitted")
        }
        None => "no escalation target is permitted".to_owned(),
    };
    let reason = format!(
        "{}; cascade: {verdict} after {drafted} draft token{}, {} kept",
        call.reason,
        if drafted == 1 { "" } else { "s" },
        model.name
    );
    let p = p.unwrap_or_default();
    let entry = call.meter.take().ok_or_else(target::settled_already)?;
    let served = Served {
        route: &model.name,
        reason: &reason,
        score: Some(p),
        stream_limit: call.stream_limit,
        cascade: Some("accepted"),
    };
    let stream = call.chat.is_stream();
    Ok(target::local_answer(
        entry,
        rx,
        &model.upstream_model,
        &served,
        stream,
        stream && !call.strip_usage,
        prompt_tokens,
        held,
    )
    .await)
}
