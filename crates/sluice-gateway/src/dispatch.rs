//! Dispatch: the chain's models, tried in order by one loop, until one answers.
//!
//! Each model is a [`Target`]; a target that fails says what comes next: the next model
//! (an upstream error, an open circuit, a local model that shut down), the policy's overflow
//! rule (the local model's queue or KV budget is full: on to `strong`, or refuse), or an
//! answer now (a request the target can never serve). Every fallback is counted and named
//! in `x-sluice-reason`; when all fail, the client gets the last upstream error's status with
//! a summary of every attempt.
//!
//! Reads: [`Pinned`], [`Who`], [`Parsed`], [`Decision`], [`Meter`].

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use sluice_config::Overflow;
use sluice_upstream::UpstreamError;

use crate::cascade;
use crate::error::ApiError;
use crate::layers::auth::{Pinned, Who};
use crate::layers::limits::Parsed;
use crate::layers::route::Decision;
use crate::ledger::Meter;
use crate::state::AppState;
use crate::target::{Call, Failure, Next, Target};

pub async fn chat(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    // Taken out of the extensions so that this is the request's only handle on it: no copy.
    let chat = parts.extensions.remove::<Parsed>();
    let ext = &parts.extensions;
    let (Some(Pinned(runtime)), Some(Parsed(chat)), Some(Decision(route)), Some(meter)) = (
        ext.get::<Pinned>().cloned(),
        chat,
        ext.get::<Decision>().cloned(),
        ext.get::<Meter>().cloned(),
    ) else {
        return ApiError::unavailable(
            "dispatch runs inside the ledger, auth, limits and route layers",
        )
        .into_response();
    };
    if route.rejected {
        return ApiError::router_overloaded(&route.reason).into_response();
    }
    let caller = ext.get::<Who>().and_then(|w| w.0.clone());
    let request_id = crate::layers::request_id::of(&parts);
    let config = &runtime.config;
    let policy = route
        .is_policy
        .then(|| config.policies.get(&route.label))
        .flatten();
    let mut chat = Arc::unwrap_or_clone(chat);
    // Cost needs the final usage block: ask for it even when the client did not, and take
    // it out again on the way back (see `Relay`).
    let strip_usage = chat.is_stream() && !chat.wants_stream_usage();
    if strip_usage {
        chat.stream_options
            .get_or_insert_with(|| sluice_api::chat::StreamOptions {
                include_usage: None,
                extra: Default::default(),
            })
            .include_usage = Some(true);
    }

    let mut chain: Vec<&str> = route.chain.iter().map(String::as_str).collect();
    let mut reason = route.reason.clone();
    let mut failures = Vec::new();
    let mut last_upstream: Option<UpstreamError> = None;
    let mut cascade_outcome = None;
    let mut i = 0;
    while let Some(&name) = chain.get(i) {
        i += 1;
        let Some(target) = config
            .models
            .get(name)
            .and_then(|m| Target::of(&runtime, m))
        else {
            continue;
        };
        let call = Call {
            state: &state,
            chat: &mut chat,
            request_id: &request_id,
            strip_usage,
            reason: &reason,
            score: route.score,
            meter: &meter,
            stream_limit: config.server.max_stream_duration,
            cascade: cascade_outcome,
        };
        // A cascade's first target drafts; the rest of the chain is its escalation.
        let result = match (&route.cascade, &target) {
            (Some(c), Target::Local { model, local }) if i == 1 => {
                cascade::draft(
                    model,
                    local,
                    &c.plan,
                    c.embedding.as_deref().map(Vec::as_slice),
                    &route.label,
                    chain.get(1).copied(),
                    call,
                )
                .await
            }
            _ => target.call(call).await,
        };
        let failure = match result {
            Ok(resp) => return resp,
            Err(f) => f,
        };
        if failure.kind == cascade::ESCALATED {
            cascade_outcome = Some("escalated");
            if let Some(&next) = chain.get(i) {
                reason = format!(
                    "{reason}; cascade: {name} escalated ({}) -> {next}",
                    failure.why
                );
                continue;
            }
        }
        let said = what(&failure);
        let refusal = match failure.next {
            Next::Stop(e) => return e.into_response(),
            Next::FallBack => None,
            Next::Overflow(e) => {
                // The policy's overflow rule: on to the strong target (then the rest of the
                // chain), or refuse at once so the client retries later.
                let strong = policy
                    .filter(|p| p.overflow == Overflow::Strong)
                    .and_then(|p| p.strong.as_deref());
                match strong {
                    Some(s) => {
                        // The overflow rule never widens what a key may spend.
                        let permitted = caller.as_ref().is_none_or(|c| c.may_reach(config, s));
                        if permitted && s != name && !chain[i..].contains(&s) {
                            chain.insert(i, s);
                        }
                        Some(e)
                    }
                    None => return e.into_response(),
                }
            }
        };
        failures.push(format!("{name}: {}", failure.why));
        if let Some(e) = failure.upstream {
            last_upstream = Some(e);
        }
        let Some(&next) = chain.get(i) else {
            if let Some(e) = refusal {
                return e.into_response();
            }
            continue;
        };
        tracing::info!(from = %name, to = %next, error = %failure.why, "falling back");
        state
            .metrics
            .fallbacks
            .with_label_values(&[&route.label, name, next])
            .inc();
        reason = format!("{reason}; {name} {said}, fell back to {next}");
    }
    if failures.is_empty() {
        return ApiError::unavailable(format!("no target of '{}' is available", route.label))
            .into_response();
    }
    let summary = format!(
        "all {} target(s) of '{}' failed: {}",
        failures.len(),
        route.label,
        failures.join("; ")
    );
    tracing::warn!(policy = %route.label, error = %summary, "request failed");
    match last_upstream {
        Some(last) => ApiError::upstream_exhausted(&last, &summary),
        None => ApiError::unavailable(summary),
    }
    .into_response()
}

/// How the reason header words a failure.
fn what(f: &Failure) -> String {
    match f.kind {
        "circuit_open" => "skipped (circuit open)".into(),
        "queue_full" | "too_large" | "closed" => format!("{} ({})", f.why, f.kind),
        kind => format!("failed ({kind})"),
    }
}
