//! The HTTP surface and the tower stack around it.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::{header, HeaderValue, StatusCode};
use sluice_api::models::{ModelList, ModelObject};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::chat::chat_completions;
use crate::error::ApiError;
use crate::state::AppState;

/// The whole application. Layers read outermost first, in the order a request meets them
/// (DESIGN.md's request path); later issues slot auth, budgets and routing in between.
pub fn router(state: Arc<AppState>) -> Router {
    // Probes answer even when the gateway is saturated: outside admission.
    let probes = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state.clone());
    let server = &state.runtime.load().config.server;
    let shed_metric = state.metrics.load_shed.clone();
    let admission = crate::admission::AdmissionLayer::new(
        server.max_concurrency,
        server.max_queue_wait,
        Some(Arc::new(move || shed_metric.inc())),
    );
    let api = Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        // Clients configured with a base URL lacking `/v1` still work.
        .route("/chat/completions", post(chat_completions))
        .route("/v1/route", post(route_only))
        .route("/v1/models", get(list_models))
        .route("/models", get(list_models))
        .route("/admin/reload", post(admin_reload))
        .route("/admin/keys", get(admin_keys))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            header_limit,
        ))
        // 2. admission: at most server.max_concurrency requests in progress, the rest wait
        //    up to server.max_queue_wait and are then shed with 503.
        .layer(admission)
        .with_state(state)
        .merge(probes);

    api.layer(
        ServiceBuilder::new()
            // 1. request id in: keep the client's `x-request-id`, or mint a UUID.
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            // 1. one span per request; fields are filled in as the request proceeds, and
            //    the body stream is polled inside it.
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|req: &Request| {
                        let id = req
                            .headers()
                            .get("x-request-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        tracing::info_span!(
                            "request",
                            id = %id,
                            method = %req.method(),
                            path = %req.uri().path(),
                            policy = tracing::field::Empty,
                            route = tracing::field::Empty,
                            status = tracing::field::Empty,
                            duration_ms = tracing::field::Empty,
                        )
                    })
                    .on_request(())
                    .on_response(())
                    .on_body_chunk(())
                    .on_eos(())
                    .on_failure(()),
            )
            // 1. request id out: echo it on the response.
            .layer(PropagateRequestIdLayer::x_request_id()),
        // 2. limits: the body limit lives in the chat handler (it is hot-reloadable).
    )
}

/// The key on a request to an API endpoint other than chat (which counts failures itself).
fn caller(
    state: &AppState,
    headers: &http::HeaderMap,
) -> Result<Option<Arc<crate::auth::Caller>>, ApiError> {
    state
        .runtime
        .load()
        .keys
        .authenticate(headers)
        .map_err(|f| {
            state
                .metrics
                .auth_failures
                .with_label_values(&[f.reason()])
                .inc();
            f.to_error()
        })
}

/// 431 for requests whose headers are larger than `server.max_header_bytes` in total.
async fn header_limit(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let limit = state.runtime.load().config.server.max_header_bytes;
    let size: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if size > limit {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            sluice_api::ErrorBody::invalid_request(
                format!("request headers are {size} bytes, more than this gateway's limit of {limit} (server.max_header_bytes)"),
                None,
                Some("headers_too_large"),
            ),
        )
        .into_response();
    }
    next.run(req).await
}

async fn list_models(State(state): State<Arc<AppState>>, headers: http::HeaderMap) -> Response {
    let who = match caller(&state, &headers) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let rt = state.runtime.load();
    let cfg = &rt.config;
    let data = cfg
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
        .collect();
    Json(ModelList::new(data)).into_response()
}

/// `POST /v1/route`: the decision for a chat completion body, without calling any model,
/// for clients that route themselves (and for operators trying a policy).
async fn route_only(
    State(state): State<Arc<AppState>>,
    headers: http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let who = match caller(&state, &headers) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let runtime = state.runtime.load_full();
    if body.len() as u64 > runtime.config.server.max_body_bytes {
        return ApiError::body_too_large(runtime.config.server.max_body_bytes).into_response();
    }
    let req = match sluice_api::ChatCompletionRequest::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return ApiError::parse(&e).into_response(),
    };
    let Some(route) = crate::policy::resolve(&runtime.config, &req.model) else {
        let names: Vec<&str> = runtime.config.exposed_names().map(|(n, _)| n).collect();
        return ApiError::unknown_model(&req.model, &names).into_response();
    };
    // The same size checks and request rate as a chat request: a decision costs an
    // embedding, and a key flooding the embedder would push everyone's traffic into the
    // overflow rule.
    if let Err(e) = crate::chat::check_sizes(&req, &runtime.config.server) {
        return e.into_response();
    }
    if let Some(c) = &who {
        if !c.may_use(&req.model) {
            return c.forbidden(&req.model).into_response();
        }
        if let Err(e) = state.limiter.admit_rate(c).await {
            state
                .metrics
                .tenant_requests
                .with_label_values(&[c.key.tenant.as_str(), "rate_limited"])
                .inc();
            return e.into_response();
        }
    }
    let Some(compiled) = runtime
        .policies
        .get(route.label)
        .filter(|_| route.policy.is_some())
    else {
        return Json(serde_json::json!({
            "policy": null, "target": route.label, "rejected": false, "basis": "direct",
            "reason": route.reason, "chain": [route.label],
        }))
        .into_response();
    };
    let embed_cfg = runtime.config.router.as_ref().map(|r| &r.embedder);
    let feats = crate::routing::features(&req, &headers, embed_cfg);
    let routed = crate::routing::decide(compiled, runtime.router.as_deref(), &feats).await;
    Json(crate::routing::explain(
        route.label,
        compiled,
        &runtime.config,
        &routed,
        &feats.text,
    ))
    .into_response()
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Ready while serving; 503 once draining so load balancers move traffic elsewhere.
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
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

/// The metrics listener's routes: `/metrics` only. The metrics name tenants and keys and
/// show their budgets and spend, so they are kept off the public port.
pub fn metrics_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .with_state(state)
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
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
async fn admin_reload(State(state): State<Arc<AppState>>, req: Request) -> Response {
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
async fn admin_keys(State(state): State<Arc<AppState>>, req: Request) -> Response {
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

async fn not_found(req: Request) -> ApiError {
    ApiError::not_found(req.method(), req.uri().path())
}

async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::method_not_allowed(req.method(), req.uri().path())
}
