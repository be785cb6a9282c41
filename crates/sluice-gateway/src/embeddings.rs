//! `POST /v1/embeddings`: the router's in-process embedder under its configured name
//! (`router.embedder.model`), or an upstream model the config names, proxied.
//!
//! The in-process embedder is the one routing already runs: requests join its batches,
//! so an embeddings client and routed chat traffic share one model and its workers.
//! Each request is metered like a chat request (the ledger's `Entry`: request, token and
//! cost metrics, the key's rates and spend), with no completion tokens.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{header, HeaderValue, StatusCode};
use sluice_api::chat::ParseError;
use sluice_api::embeddings::{self, EmbeddingsRequest};
use sluice_api::{ErrorBody, Usage};
use sluice_router::RouterError;
use sluice_upstream::{AttemptLog, ResponseBody, UpstreamError};

use crate::error::{describe, ApiError};
use crate::layers::auth::{Pinned, Who};
use crate::ledger::{prices, Entry};
use crate::state::AppState;

fn invalid(param: &str, message: impl Into<String>) -> ApiError {
    ApiError::parse(&ParseError::invalid(param, message))
}

pub async fn handler(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let (Some(Pinned(runtime)), Some(Who(caller))) = (
        parts.extensions.get::<Pinned>().cloned(),
        parts.extensions.get::<Who>().cloned(),
    ) else {
        return ApiError::unavailable("the embeddings endpoint runs after auth").into_response();
    };
    let bytes = match crate::protocols::read(&state, &parts.headers, body).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let req = match EmbeddingsRequest::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => return ApiError::parse(&e).into_response(),
    };
    if let Some(c) = &caller {
        if !c.may_use(&req.model) {
            return c.forbidden(&req.model).into_response();
        }
        if let Err(e) = state.limiter.admit_rate(c).await {
            return e.into_response();
        }
    }
    let config = &runtime.config;
    let mut entry = Entry::open(state.clone());
    entry.policy.clone_from(&req.model);
    entry.route.clone_from(&req.model);
    entry.caller.clone_from(&caller);
    entry.prompt_bytes = req.texts().map_or(0, |t| t.iter().map(|s| s.len()).sum());

    if let Some(router) = runtime
        .router
        .as_ref()
        .filter(|r| r.config.model == req.model)
    {
        let dim = router.embedder.dim();
        if req.dimensions.is_some_and(|d| d != dim as u64) {
            return entry.fail(invalid(
                "dimensions",
                format!("{} gives {dim}-dimensional embeddings only", req.model),
            ));
        }
        let Some(texts) = req.texts() else {
            return entry.fail(invalid(
                "input",
                "token ids are specific to the tokenizer that made them: send text to the in-process embedder",
            ));
        };
        if let Some(i) = texts.iter().position(|t| t.is_empty()) {
            return entry.fail(invalid(
                &format!("input[{i}]"),
                "an input must not be empty",
            ));
        }
        let jobs = texts
            .iter()
            .map(|t| router.embedder.embed((*t).to_owned(), None));
        let mut vectors = Vec::with_capacity(texts.len());
        let mut tokens = 0u64;
        for result in futures_util::future::join_all(jobs).await {
            match result {
                Ok(e) => {
                    tokens += e.tokens as u64;
                    vectors.push(e.vector);
                }
                Err(RouterError::Overloaded { depth }) => {
                    let mut err = ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        ErrorBody::new(
                            format!("the embedder's queue ({depth}) is full; retry shortly"),
                            "server_error",
                            None,
                            Some("embedder_overloaded"),
                        ),
                    );
                    err.headers
                        .insert("retry-after", HeaderValue::from_static("1"));
                    return entry.fail(err);
                }
                Err(e) => {
                    return entry.fail(ApiError::unavailable(format!("embedding failed: {e}")))
                }
            }
        }
        let usage = Usage {
            prompt_tokens: tokens,
            completion_tokens: 0,
            total_tokens: tokens,
            prompt_tokens_details: None,
        };
        entry.finish(200, "ok", Some(usage), Some(0));
        let body = embeddings::response(&req.model, &vectors, req.base64(), tokens);
        return axum::Json(body).into_response();
    }

    let Some((model, provider)) = config
        .models
        .get(&req.model)
        .filter(|m| !m.local)
        .and_then(|m| Some((m, runtime.providers.get(&m.provider)?.clone())))
    else {
        let mut names: Vec<&str> = runtime
            .router
            .as_ref()
            .map(|r| r.config.model.as_str())
            .into_iter()
            .collect();
        names.extend(
            config
                .models
                .iter()
                .filter(|(_, m)| !m.local)
                .map(|(n, _)| n.as_str()),
        );
        return entry.fail(ApiError::unknown_model(&req.model, &names));
    };
    entry.price = prices(model);
    let mut upstream = req.clone();
    upstream.model.clone_from(&model.upstream_model);
    let request_id = crate::layers::request_id::of(&parts);
    let mut log = AttemptLog::default();
    let result = provider
        .embeddings(Bytes::from(upstream.to_vec()), &request_id, &mut log)
        .await;
    crate::target::count_attempts(&state.metrics, provider.name(), &log);
    match result {
        Ok(resp) => {
            let ResponseBody::Full(body) = resp.body else {
                return entry.fail(ApiError::unavailable("the upstream answered with a stream"));
            };
            let usage = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| serde_json::from_value::<Usage>(v.get("usage")?.clone()).ok());
            entry.finish(200, "ok", usage, Some(0));
            let mut out = Response::new(Body::from(body));
            out.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            out
        }
        Err(UpstreamError::Status { status, body, .. })
            if status.is_client_error() && status.as_u16() != 429 =>
        {
            entry.finish(status.as_u16(), "upstream_rejected", None, None);
            let mut out = Response::new(Body::from(body));
            *out.status_mut() = status;
            out.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            out
        }
        Err(e) => {
            let summary = format!("{}: {}", model.name, describe(&e));
            entry.fail(ApiError::upstream_exhausted(&e, &summary))
        }
    }
}
