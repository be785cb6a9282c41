//! Opens the request's outcome draft (see `crate::quality`): who asked, what the router
//! decided and with what score, and whether this request is sampled for shadow judging.
//! The draft rides in the ledger entry and becomes the request's row when it is recorded.
//!
//! Reads: `Pinned`, `Who`, `Parsed`, `Decision`, `Meter`. Adds nothing to the request.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use rand::Rng;
use sluice_config::Strategy;

use crate::layers::auth::{Pinned, Who};
use crate::layers::limits::Parsed;
use crate::layers::route::Decision;
use crate::ledger::Meter;
use crate::quality::{Draft, Signalled};
use crate::state::AppState;

pub async fn layer(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let mut sent = None;
    if let Some(mut draft) = draft(&state, &req) {
        if draft.sampled {
            let (tx, rx) = tokio::sync::oneshot::channel();
            draft.sent = Some(rx);
            sent = Some(tx);
        }
        if let Some(m) = req.extensions().get::<Meter>() {
            m.update(|e| e.draft = Some(Box::new(draft)));
        }
    }
    let resp = next.run(req).await;
    match sent {
        // A sampled request's shadow starts once its answer is out.
        Some(tx) => resp.map(|b| Body::new(Signalled::new(b, tx))),
        None => resp,
    }
}

fn draft(state: &AppState, req: &Request) -> Option<Draft> {
    let ext = req.extensions();
    let Pinned(runtime) = ext.get::<Pinned>()?;
    let Decision(route) = ext.get::<Decision>()?;
    let policy = route
        .is_policy
        .then(|| runtime.config.policies.get(&route.label))
        .flatten();
    draft_of(state, ext, runtime, policy, Some(route))
}

/// The draft of a request answered from the response cache before routing: its row, never
/// a shadow judging (there is no fresh answer to compare).
pub fn cache_hit_draft(
    state: &AppState,
    ext: &http::Extensions,
    policy: &sluice_config::PolicyConfig,
) -> Option<Draft> {
    let Pinned(runtime) = ext.get::<Pinned>()?;
    let mut d = draft_of(state, ext, runtime, Some(policy), None)?;
    d.sampled = false;
    d.propensity = 0.0;
    d.runtime = None;
    Some(d)
}

fn draft_of(
    state: &AppState,
    ext: &http::Extensions,
    runtime: &Arc<crate::state::Runtime>,
    policy: Option<&sluice_config::PolicyConfig>,
    route: Option<&Arc<crate::layers::route::Route>>,
) -> Option<Draft> {
    let quality = policy.and_then(|p| p.quality.as_ref());
    if !state.quality.enabled() && quality.is_none() {
        return None;
    }
    let caller = ext.get::<Who>().and_then(|w| w.0.clone());
    let rate = if route.is_some() {
        quality.map_or(0.0, |q| q.shadow_rate)
    } else {
        0.0
    };
    let sampled = rate > 0.0 && rand::rng().random::<f64>() < rate;
    let store_text = quality.is_some_and(|q| q.store_text);
    let threshold = policy.and_then(|p| match &p.strategy {
        Strategy::Learned { threshold, .. } | Strategy::Cascade { threshold, .. } => {
            Some(*threshold)
        }
        _ => None,
    });
    let routed = route.and_then(|r| r.routed.as_ref());
    Some(Draft {
        request_id: crate::layers::request_id::of_extensions(ext),
        key_id: caller.as_ref().map(|c| c.key.id.clone()),
        tenant: caller.as_ref().map(|c| c.key.tenant.clone()),
        weak: policy.map(|p| p.target.clone()),
        strong: policy.and_then(|p| p.strong.clone()),
        score: route.and_then(|r| r.score).map(f64::from),
        threshold,
        propensity: rate,
        sampled,
        store_text,
        retention: quality
            .and_then(|q| q.retention)
            .unwrap_or_else(|| state.quality.retention()),
        embedding: routed.and_then(|(r, _)| r.embedding.clone()),
        // A head's second input, so a head can be retrained from the store.
        features: quality
            .and(routed)
            .filter(|(r, _)| r.embedding.is_some())
            .map(|(_, text)| sluice_router::features::prompt_features(text).to_vec()),
        chat: (sampled || store_text)
            .then(|| ext.get::<Parsed>().map(|p| p.0.clone()))
            .flatten(),
        runtime: sampled.then(|| runtime.clone()),
        answer: None,
        sent: None,
    })
}
