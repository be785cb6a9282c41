//! The request path, assembled: one line per layer, outermost first.
//!
//! Every API request passes, in order:
//!
//! | layer | file | adds to the request | reads |
//! |---|---|---|---|
//! | request id + trace | `layers/request_id.rs` | `x-request-id`, `RequestId`, the request span | |
//! | admission | `layers/admission.rs` | a concurrency slot, held until the body ends (or 503) | |
//! | header size | `layers/header_limit.rs` | | |
//!
//! then, per endpoint:
//!
//! - `POST /v1/chat/completions`: **ledger** (`layers/ledger.rs`, adds `Meter`) → **auth**
//!   (`layers/auth.rs`, adds `Pinned` and `Who`) → **limits** (`layers/limits.rs`, adds
//!   `Parsed` and `Admitted`, reserves budget in the `Meter`) → **cache, exact**
//!   (`layers/cache.rs`: a policy's response cache answers the same prompt here, before
//!   any embedding) → **route**
//!   (`layers/route.rs`, adds `Decision`) → **outcome** (`layers/outcome.rs`, puts the
//!   request's outcome draft in the `Meter`: its row and, when sampled, its shadow
//!   judging, both after the answer) → **cache, semantic** (the nearest cached prompt by
//!   the routing embedding, through the guards; a miss's answer is stored once sent) →
//!   **dispatch** (`dispatch.rs`: the chain's `Target`s
//!   in one loop; the answering target settles the `Meter`).
//! - `POST /v1/messages` (Anthropic) and `POST /v1/responses` (OpenAI Responses):
//!   **protocol edge** (`protocols.rs`: the body translated to a chat request, the answer
//!   and errors translated back, streams event by event) → the chat path above.
//! - `POST /v1/embeddings`: auth → `embeddings::handler` (the in-process embedder, or an
//!   upstream model proxied; rates checked and metered by the ledger's `Entry`).
//! - `POST /v1/feedback`: auth → `quality::feedback::handler`.
//! - `GET /ui/quality`, `GET|POST /ui/login`: the review page (admin key; `quality::page`).
//! - `POST /v1/route`: auth → limits (rates only) → route → `app::explain`, which reports
//!   the `Decision`. `sluice route` sends its request through this same service in-process.
//! - `GET /v1/models`: auth → `app::list_models`.
//!
//! `/healthz` and `/readyz` sit outside admission so probes answer under load; `/metrics`
//! is on its own listener ([`metrics_router`]).

use std::sync::Arc;

use axum::middleware::from_fn_with_state as layer;
use axum::routing::{get, post};
use axum::Router;
use tower::ServiceBuilder;

use crate::layers::{
    admission, auth, cache, header_limit, ledger, limits, outcome, request_id, route,
};
use crate::state::AppState;
use crate::{app, protocols};

pub fn router(state: Arc<AppState>) -> Router {
    let s = || state.clone();
    let chat = ServiceBuilder::new()
        .layer(layer(s(), ledger::layer))
        .layer(layer(s(), auth::layer))
        .layer(layer((s(), limits::Mode::Chat), limits::layer))
        .layer(layer(s(), cache::exact))
        .layer(layer(s(), route::layer))
        .layer(layer(s(), outcome::layer))
        .layer(layer(s(), cache::semantic));
    let route_only = ServiceBuilder::new()
        .layer(layer(s(), auth::layer))
        .layer(layer((s(), limits::Mode::RouteOnly), limits::layer))
        .layer(layer(s(), route::layer));
    let chat_handler = post(crate::dispatch::chat).layer(chat.clone());
    // Other protocols enter the same chat path, translated at its edge.
    let messages = post(crate::dispatch::chat)
        .layer(chat.clone())
        .layer(layer(s(), protocols::messages));
    let responses = post(crate::dispatch::chat)
        .layer(chat)
        .layer(layer(s(), protocols::responses));
    let api = Router::new()
        .route("/v1/chat/completions", chat_handler.clone())
        // Clients configured with a base URL lacking `/v1` still work.
        .route("/chat/completions", chat_handler)
        .route("/v1/messages", messages)
        .route("/v1/responses", responses)
        .route(
            "/v1/responses/{id}",
            get(protocols::stored_response).delete(protocols::stored_response),
        )
        .route(
            "/v1/embeddings",
            post(crate::embeddings::handler).layer(layer(s(), auth::layer)),
        )
        .route(
            "/embeddings",
            post(crate::embeddings::handler).layer(layer(s(), auth::layer)),
        )
        .route("/v1/route", post(app::explain).layer(route_only))
        .route(
            "/v1/models",
            get(app::list_models).layer(layer(s(), auth::layer)),
        )
        .route(
            "/models",
            get(app::list_models).layer(layer(s(), auth::layer)),
        )
        .route(
            "/v1/feedback",
            post(crate::quality::feedback::handler).layer(layer(s(), auth::layer)),
        )
        .route(
            "/ui/login",
            get(crate::quality::page::login_form).post(crate::quality::page::login),
        )
        .route("/ui/quality", get(crate::quality::page::review))
        .route("/admin/reload", post(app::admin_reload))
        .route("/admin/keys", get(app::admin_keys))
        .fallback(app::not_found)
        .method_not_allowed_fallback(app::method_not_allowed)
        .layer(layer(s(), header_limit::layer))
        .layer(admission::AdmissionLayer::for_state(&state))
        .with_state(s());
    let probes = Router::new()
        .route("/healthz", get(app::healthz))
        .route("/readyz", get(app::readyz))
        .with_state(s());
    api.merge(probes).layer(request_id::layers())
}

/// The metrics listener's routes: `/metrics` only. The metrics name tenants and keys and
/// show their budgets and spend, so they are kept off the public port.
pub fn metrics_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/metrics", get(app::metrics))
        .fallback(app::not_found)
        .with_state(state)
}
