//! The endpoints besides chat completions: model list, routing explanations, probes,
//! metrics and admin. `stack.rs` puts them behind their layers.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use http::{header, HeaderValue, StatusCode};
use sluice_api::models::{ModelList, ModelObject};

use crate::error::ApiError;
use crate::layers::auth::{Pinned, Who};
use crate::layers::route::Decision;
use crate::state::AppState;

/// `GET /v1/models`: the policies and models this key may ask for.
pub async fn list_models(
    State(state): State<Arc<AppState>>,
    Extension(Who(who)): Extension<Who>,
    Extension(Pinned(rt)): Extension<Pinned>,
) -> Response {
    let cfg = &rt.config;
    let mut data = cfg
        .exposed_names()
        .filter(|(name, _)| who.as_ref().is_none_or(|c| c.may_use(name)))
        .map(|(name, is_policy)| {
            let detail = if is_policy {
                let p = &cfg.policies[name];
                serde_json::json!({"kind": "policy", "strategy": p.strategy.name(), "target": p.target, "strong": p.strong, "fallbacks": p.fallbacks})
            } else {
                let m = &cfg.models[name];
                match rt.locals.get(&m.provider) {
                    Some(local) => local.describe(),
                    None => serde_json::json!({"kind": "model", "provider": m.provider}),
                }
            };
            let owned_by = if is_policy { "sluice".to_owned() } else { cfg.models[name].provider.clone() };
            ModelObject {
                id: name.to_owned(),
                object: "model".into(),
                created: state.started_unix,
                owned_by,
                sluice: Some(detail),
            }
        })
        .collect::<Vec<_>>();
    // The router's embedder answers `/v1/embeddings` under its configured name.
    if let Some(r) = rt.router.as_ref() {
        let name = &r.config.model;
        if who.as_ref().is_none_or(|c| c.may_use(name)) && !cfg.models.contains_key(name) {
            data.push(ModelObject {
                id: name.clone(),
                object: "model".into(),
                created: state.started_unix,
                owned_by: "sluice".into(),
                sluice: Some(
                    serde_json::json!({"kind": "embedding", "endpoint": "/v1/embeddings",
                    "dimensions": r.embedder.dim(), "max_tokens": r.config.max_tokens}),
                ),
            });
        }
    }
    Json(ModelList::new(data)).into_response()
}

/// `POST /v1/route`: the decision for a chat completion body, without calling any model,
/// for clients that route themselves (and for operators trying a policy). The request went
/// through the same auth, limits and route layers as a chat request; this reports what the
/// route layer decided.
pub async fn explain(
    Extension(Pinned(runtime)): Extension<Pinned>,
    Extension(Decision(route)): Extension<Decision>,
) -> Response {
    let config = &runtime.config;
    let compiled = runtime.policies.get(&route.label);
    let (Some((routed, text)), Some(compiled)) = (&route.routed, compiled) else {
        return Json(serde_json::json!({
            "policy": null, "target": route.chain.first(), "rejected": false, "basis": "direct",
            "reason": route.reason, "chain": route.chain,
        }))
        .into_response();
    };
    let mut v = crate::routing::explain(&route.label, compiled, config, routed, text);
    // The chain as this key may use it.
    v["chain"] = serde_json::json!(route.chain);
    Json(v).into_response()
}

pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Ready while serving; 503 once draining so load balancers move traffic elsewhere.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let rt = state.runtime.load();
    let missing: Vec<&str> = rt
        .providers
        .values()
        .filter(|p| p.missing_key().is_some())
        .map(|p| p.name())
        .collect();
    let (status, word) = if state.is_draining() {
        (StatusCode::SERVICE_UNAVAILABLE, "draining")
    } else {
        (StatusCode::OK, "ready")
    };
    let body = serde_json::json!({
        "status": word,
        "config_generation": rt.generation,
        "providers_missing_api_key": missing,
    });
    (status, Json(body)).into_response()
}

pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    for local in state.runtime.load().locals.values() {
        local.export_gauges(&state.metrics);
    }
    let mut resp = state.metrics.render().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

/// Admin endpoints exist only when `server.admin_key_env` names a set variable, and answer
/// only to that key; anything else gets the same 404 as an unknown path, so a scan cannot
/// tell they are there.
fn admin_allowed(state: &AppState, req_headers: &http::HeaderMap) -> bool {
    let rt = state.runtime.load();
    let Some(var) = rt.config.server.admin_key_env.as_deref() else {
        return false;
    };
    let Ok(admin) = std::env::var(var) else {
        return false;
    };
    !admin.is_empty()
        && crate::auth::bearer(req_headers).is_some_and(|k| crate::auth::same_secret(k, &admin))
}

/// `POST /admin/reload`: re-reads the config now (as SIGHUP does).
pub async fn admin_reload(State(state): State<Arc<AppState>>, req: Request) -> Response {
    if !admin_allowed(&state, req.headers()) {
        return ApiError::not_found(req.method(), req.uri().path()).into_response();
    }
    let st = state.clone();
    let applied = tokio::task::spawn_blocking(move || crate::reload::reload(&st))
        .await
        .unwrap_or(false);
    let generation = state.runtime.load().generation;
    let status = if applied {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (
        status,
        Json(serde_json::json!({"applied": applied, "config_generation": generation})),
    )
        .into_response()
}

/// `GET /admin/keys`: every key's id, tenant, permissions, limits and current spend; never
/// the hashes.
pub async fn admin_keys(State(state): State<Arc<AppState>>, req: Request) -> Response {
    if !admin_allowed(&state, req.headers()) {
        return ApiError::not_found(req.method(), req.uri().path()).into_response();
    }
    let rt = state.runtime.load_full();
    let mut keys = Vec::new();
    for c in rt.keys.callers() {
        let k = &c.key;
        keys.push(serde_json::json!({
            "id": k.id,
            "tenant": k.tenant,
            "allow": k.allow,
            "requests_per_minute": k.requests_per_minute,
            "tokens_per_minute": k.tokens_per_minute,
            "budget_usd": k.budget.as_ref().map(|b| b.usd),
            "on_exceeded": k.budget.as_ref().map(|b| b.downgrade_to.as_ref().map_or("reject".to_owned(), |m| format!("downgrade to {m}"))),
            "spend_usd": state.limiter.spend_usd(&c).await,
        }));
    }
    Json(serde_json::json!({"keys": keys})).into_response()
}

pub async fn not_found(req: Request) -> ApiError {
    ApiError::not_found(req.method(), req.uri().path())
}

pub async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::method_not_allowed(req.method(), req.uri().path())
}
