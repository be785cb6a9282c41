//! Limits: what a request may cost before anything is spent on it.
//!
//! In order: the body's size (refused before reading when the client declares it), the
//! body parsed as a chat request, the message count and sizes, the key's permission on the
//! requested name, its request and token rates, and — for chat, not for `/v1/route`, which
//! spends nothing upstream — its budget, from which the request's estimated cost is
//! reserved (settled by the ledger when the request ends, see `crate::limits`).
//!
//! Reads: [`Pinned`], [`Who`], [`Meter`] (chat). Adds: [`Parsed`] and [`Admitted`].

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap};
use sluice_api::chat::ChatCompletionRequest;
use sluice_api::MessageContent;
use sluice_config::Config;
use sluice_telemetry::pricing::Tokens;

use super::auth::{Pinned, Who};
use crate::error::ApiError;
use crate::ledger::{prices, Meter};
use crate::limits::DEFAULT_OUTPUT_ESTIMATE;
use crate::state::AppState;

/// Which request the limits guard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A chat completion: rates and budget.
    Chat,
    /// A routing decision only (`POST /v1/route`): rates, no budget.
    RouteOnly,
}

/// The parsed request body.
#[derive(Clone)]
pub struct Parsed(pub Arc<ChatCompletionRequest>);

/// What the budget decided: `on_exceeded: downgrade` reached sends the request to this model.
#[derive(Clone, Debug, Default)]
pub struct Admitted {
    pub downgrade_to: Option<String>,
}

pub async fn layer(
    State((state, mode)): State<(Arc<AppState>, Mode)>,
    req: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let (Some(Pinned(runtime)), Some(Who(caller))) = (
        parts.extensions.get::<Pinned>().cloned(),
        parts.extensions.get::<Who>().cloned(),
    ) else {
        return ApiError::unavailable("the limits layer runs after auth").into_response();
    };
    let server = &runtime.config.server;

    let limit = server.max_body_bytes;
    if content_length(&parts.headers).is_some_and(|len| len > limit) {
        return ApiError::body_too_large(limit).into_response();
    }
    let bytes = match axum::body::to_bytes(body, usize::try_from(limit).unwrap_or(usize::MAX)).await
    {
        Ok(b) => b,
        Err(e) if is_length_limit(&e) => return ApiError::body_too_large(limit).into_response(),
        Err(e) => return ApiError::bad_body(e).into_response(),
    };
    let chat = match ChatCompletionRequest::from_slice(&bytes) {
        Ok(c) => c,
        Err(e) => return ApiError::parse(&e).into_response(),
    };
    if let Err(e) = check_sizes(&chat, server) {
        return e.into_response();
    }
    let prompt_bytes: usize = chat
        .messages
        .iter()
        .map(|m| m.content.as_ref().map_or(0, MessageContent::text_len))
        .sum();
    let meter = parts.extensions.get::<Meter>().cloned();
    if let Some(m) = &meter {
        m.update(|e| e.prompt_bytes = prompt_bytes);
    }

    let mut admitted = Admitted::default();
    if let Some(c) = &caller {
        let outcome = |o: &str| {
            state
                .metrics
                .tenant_requests
                .with_label_values(&[c.key.tenant.as_str(), o])
                .inc();
        };
        if !c.may_use(&chat.model) {
            outcome("forbidden_model");
            return c.forbidden(&chat.model).into_response();
        }
        let result = match mode {
            Mode::RouteOnly => state.limiter.admit_rate(c).await.map(|()| None),
            Mode::Chat => {
                let estimate = estimate_pico(&runtime.config, &chat, prompt_bytes);
                state
                    .limiter
                    .admit(c, &state.metrics, estimate)
                    .await
                    .map(Some)
            }
        };
        match result {
            Err(e) => {
                let budget = e.body.error.code.as_deref() == Some("budget_exceeded");
                outcome(if budget {
                    "budget_rejected"
                } else {
                    "rate_limited"
                });
                return e.into_response();
            }
            Ok(Some(adm)) => {
                if adm.downgrade_to.is_none() {
                    outcome("allowed");
                }
                if let Some(m) = &meter {
                    m.update(|e| e.reservation = adm.reservation);
                }
                admitted.downgrade_to = adm.downgrade_to;
            }
            Ok(None) => {}
        }
    }
    parts.extensions.insert(Parsed(Arc::new(chat)));
    parts.extensions.insert(admitted);
    next.run(Request::from_parts(parts, Body::empty())).await
}

/// The most a request can cost on the dearest model its name can reach: its prompt at
/// about 4 bytes a token, and its `max_tokens` (or [`DEFAULT_OUTPUT_ESTIMATE`]) of output.
fn estimate_pico(config: &Config, chat: &ChatCompletionRequest, prompt_bytes: usize) -> u128 {
    let tokens = Tokens {
        prompt: (prompt_bytes as u64).div_ceil(4),
        cached: 0,
        cache_write: 0,
        completion: chat
            .max_completion_tokens
            .or(chat.max_tokens)
            .unwrap_or(DEFAULT_OUTPUT_ESTIMATE),
    };
    let cost = |m: &sluice_config::ModelConfig| prices(m).cost(tokens);
    match config.policies.get(&chat.model) {
        Some(p) => p
            .own_targets()
            .filter_map(|t| config.models.get(t))
            .map(cost)
            .max()
            .unwrap_or(0),
        None => config.models.get(&chat.model).map_or(0, cost),
    }
}

/// The server's limits on message count and size (the body size is checked while reading).
pub fn check_sizes(
    chat: &ChatCompletionRequest,
    limits: &sluice_config::ServerConfig,
) -> Result<(), ApiError> {
    let bad = |param: String, message: String| {
        ApiError::new(
            http::StatusCode::BAD_REQUEST,
            sluice_api::ErrorBody::invalid_request(
                message,
                Some(&param),
                Some("request_too_large"),
            ),
        )
    };
    if chat.messages.len() > limits.max_messages {
        return Err(bad(
            "messages".into(),
            format!(
                "{} messages is more than this gateway's limit of {} (server.max_messages)",
                chat.messages.len(),
                limits.max_messages
            ),
        ));
    }
    for (i, m) in chat.messages.iter().enumerate() {
        let len = m.content.as_ref().map_or(0, MessageContent::text_len);
        if len > limits.max_message_bytes {
            return Err(bad(
                format!("messages[{i}].content"),
                format!(
                    "message {i} has {len} bytes of text, more than this gateway's limit of {} (server.max_message_bytes)",
                    limits.max_message_bytes
                ),
            ));
        }
    }
    Ok(())
}

pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

pub(crate) fn is_length_limit(e: &axum::Error) -> bool {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if s.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        src = s.source();
    }
    false
}
