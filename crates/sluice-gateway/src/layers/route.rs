//! Route: which models the request goes to, in order, and why.
//!
//! The requested name resolves to a policy or a model (404 otherwise); a budget's
//! `downgrade_to` replaces it with that model; a policy decides its target (rules, then the
//! embedding and heads when needed); and the key's permissions bound the result whatever
//! chose it: a first target beyond them is a 403, fallbacks beyond them are dropped.
//! `POST /v1/route` and `sluice route` stop after this layer and report the [`Decision`];
//! chat requests go on to dispatch.
//!
//! Reads: [`Pinned`], [`Who`], [`Parsed`], [`Admitted`], [`Meter`] (chat). Adds: [`Decision`].

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sluice_router::policy::{Basis, Decision as Decided};

use super::auth::{Pinned, Who};
use super::limits::{Admitted, Parsed};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::ledger::{prices, Meter};
use crate::policy;
use crate::routing::{self, Routed};
use crate::state::AppState;

/// The route a request takes.
#[derive(Clone)]
pub struct Decision(pub Arc<Route>);

pub struct Route {
    /// The policy, or the model asked for directly: the `policy` label of the metrics.
    pub label: String,
    pub is_policy: bool,
    /// Models to try in order, each within the key's permissions. Empty when rejected.
    pub chain: Vec<String>,
    /// For `x-sluice-reason`.
    pub reason: String,
    pub score: Option<f32>,
    /// The router's queue was full and the policy's overflow rule refuses (503).
    pub rejected: bool,
    /// A policy's decision with its scores and the routed text, for the explaining paths.
    pub routed: Option<(Routed, String)>,
    /// The policy is a cascade and no rule overrode it: the first target (the local
    /// model) drafts, and this decides whether the draft stands.
    pub cascade: Option<Cascade>,
}

/// A cascade to run at dispatch: its plan, and the prompt's embedding when its head reads
/// one.
#[derive(Clone)]
pub struct Cascade {
    pub plan: Arc<crate::cascade::Plan>,
    pub embedding: Option<Arc<Vec<f32>>>,
}

pub async fn layer(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let ext = req.extensions();
    let (Some(Pinned(runtime)), Some(Who(caller)), Some(Parsed(chat))) = (
        ext.get::<Pinned>().cloned(),
        ext.get::<Who>().cloned(),
        ext.get::<Parsed>().cloned(),
    ) else {
        return ApiError::unavailable("the route layer runs after auth and limits").into_response();
    };
    let downgrade = ext.get::<Admitted>().and_then(|a| a.downgrade_to.clone());
    let meter = ext.get::<Meter>().cloned();
    let config = &runtime.config;
    let forbidden = |c: &Caller, model: &str, by: &str| {
        state
            .metrics
            .tenant_requests
            .with_label_values(&[c.key.tenant.as_str(), "forbidden_model"])
            .inc();
        c.forbidden_target(model, by).into_response()
    };

    let Some(mut route) = policy::resolve(config, &chat.model) else {
        let names: Vec<&str> = config.exposed_names().map(|(n, _)| n).collect();
        return ApiError::unknown_model(&chat.model, &names).into_response();
    };
    // `downgrade_to` names a model (the config checks it as one), never a policy.
    if let Some(mut down) = downgrade.and_then(|m| policy::resolve_model(config, &m)) {
        if let Some(c) = &caller {
            if !c.may_reach(config, down.label) {
                return forbidden(c, down.label, "its budget's downgrade");
            }
            state
                .metrics
                .tenant_requests
                .with_label_values(&[c.key.tenant.as_str(), "budget_downgraded"])
                .inc();
            down.reason = format!(
                "budget of key {} reached: downgraded to {}",
                c.key.id, down.label
            );
        }
        route = down;
    }
    if let Some(m) = &meter {
        let baseline = route
            .policy
            .and_then(|p| p.baseline.as_ref())
            .and_then(|b| config.models.get(b))
            .map(prices);
        m.update(|e| {
            e.policy = route.label.to_owned();
            e.baseline = baseline;
        });
    }
    tracing::Span::current().record("policy", route.label);

    let mut decided = Route {
        label: route.label.to_owned(),
        is_policy: route.policy.is_some(),
        chain: Vec::new(),
        reason: route.reason,
        score: None,
        rejected: false,
        routed: None,
        cascade: None,
    };
    let mut by = "the policy";
    if let (Some(pc), Some(compiled)) = (route.policy, runtime.policies.get(route.label)) {
        let embed_cfg = config.router.as_ref().map(|r| &r.embedder);
        let feats = routing::features(&chat, req.headers(), embed_cfg);
        let routed = routing::decide(compiled, runtime.router.as_deref(), &feats).await;
        // Counted for requests that are then served (chat), not for explanations.
        if meter.is_some() {
            routing::record_decision(&state, route.label, &routed, runtime.router.as_deref());
        }
        match &routed.decision {
            Decided::Reject { reason } => {
                decided.rejected = true;
                decided.chain.clear();
                decided.reason.clone_from(reason);
            }
            Decided::Route {
                target,
                score,
                reason,
                basis,
            } => {
                decided.score = *score;
                decided.reason.clone_from(reason);
                if *basis == Basis::Header {
                    by = "the x-sluice-target header";
                }
                let cascade = (*basis == Basis::Cascade)
                    .then(|| compiled.cascade.clone())
                    .flatten();
                decided.chain = routing::chain(config, pc, target, cascade.is_some())
                    .iter()
                    .map(|m| m.name.clone())
                    .collect();
                decided.cascade = cascade.map(|plan| Cascade {
                    plan,
                    embedding: routed.embedding.clone(),
                });
            }
        }
        decided.routed = Some((routed, feats.text));
    } else {
        decided.chain = route.chain.iter().map(|m| m.name.clone()).collect();
    }

    // The key's permissions bound the final target, whatever chose it.
    if let Some(c) = &caller {
        if let Some(first) = decided.chain.first().filter(|m| !c.may_reach(config, m)) {
            return forbidden(c, first, by);
        }
        decided.chain.retain(|m| c.may_reach(config, m));
    }
    req.extensions_mut().insert(Decision(Arc::new(decided)));
    // Dispatch takes the parsed request as its only owner (no copy): let go of ours.
    drop(chat);
    next.run(req).await
}
