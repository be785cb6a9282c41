//! Other clients' protocols, at the edge: `POST /v1/messages` (Anthropic's Messages API)
//! and `POST /v1/responses` (OpenAI's Responses API, stateless) are translated to a chat
//! completion on the way in and their answer translated back on the way out. In between
//! they take the chat path unchanged — the same auth, limits, routing, ledger, outcome and
//! dispatch layers — so they are routed, limited and accounted exactly like chat, and a
//! policy's targets (OpenAI-compatible, Anthropic or local) need not speak them.
//!
//! Errors leave in the endpoint's own shape: Anthropic's `{"type":"error","error":{…}}`
//! on `/v1/messages`, OpenAI's on `/v1/responses`.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use http::{header, HeaderValue};
use serde_json::Value;
use sluice_api::anthropic::{self, MessagesRequest};
use sluice_api::chat::ParseError;
use sluice_api::responses::{self, ResponsesRequest};
use sluice_api::sse::SseScanner;

use crate::error::ApiError;
use crate::state::AppState;

/// Largest error body read back for translation: the gateway's own are a few hundred bytes.
const MAX_ERROR_BODY: usize = 1 << 20;

/// A stream of chat chunks turned into another protocol's events.
trait Events: Send {
    fn push(&mut self, data: &[u8]) -> Vec<u8>;
    fn finish(&mut self) -> Vec<u8>;
}

impl Events for anthropic::EventsFromChat {
    fn push(&mut self, data: &[u8]) -> Vec<u8> {
        anthropic::EventsFromChat::push(self, data)
    }
    fn finish(&mut self) -> Vec<u8> {
        anthropic::EventsFromChat::finish(self)
    }
}

impl Events for responses::EventsFromChat {
    fn push(&mut self, data: &[u8]) -> Vec<u8> {
        responses::EventsFromChat::push(self, data)
    }
    fn finish(&mut self) -> Vec<u8> {
        responses::EventsFromChat::finish(self)
    }
}

/// Which protocol a request came in, with what the way back needs.
enum Edge {
    Messages,
    Responses(Box<ResponsesRequest>),
}

impl Edge {
    fn error(&self, e: ApiError) -> Response {
        match self {
            Edge::Messages => {
                let status = e.status;
                let body = anthropic::error_from_openai(status.as_u16(), &e.body.to_json());
                let mut resp = (status, axum::Json(body)).into_response();
                resp.headers_mut().extend(e.headers.as_ref().clone());
                resp
            }
            Edge::Responses(_) => e.into_response(),
        }
    }

    fn full(&self, completion: &Value) -> Value {
        match self {
            Edge::Messages => anthropic::message_from_chat(completion),
            Edge::Responses(req) => responses::response_from_chat(req, completion, now()),
        }
    }

    fn events(&self) -> Box<dyn Events> {
        match self {
            Edge::Messages => Box::new(anthropic::EventsFromChat::new()),
            Edge::Responses(req) => Box::new(responses::EventsFromChat::new(req, now())),
        }
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `POST /v1/messages`: Anthropic's SDK sends its key as `x-api-key`; it is taken as the
/// bearer key when no `Authorization` came with it.
pub async fn messages(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    if !parts.headers.contains_key(header::AUTHORIZATION) {
        if let Some(key) = parts.headers.get("x-api-key").and_then(|k| k.to_str().ok()) {
            if let Ok(v) = HeaderValue::try_from(format!("Bearer {key}")) {
                parts.headers.insert(header::AUTHORIZATION, v);
            }
        }
    }
    let edge = Edge::Messages;
    let bytes = match read(&state, &parts.headers, body).await {
        Ok(b) => b,
        Err(e) => return edge.error(e),
    };
    let chat = MessagesRequest::from_slice(&bytes).and_then(|m| m.to_chat());
    enter(chat, edge, parts, next).await
}

/// `POST /v1/responses`.
pub async fn responses(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match read(&state, &parts.headers, body).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let req = match ResponsesRequest::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => return ApiError::parse(&e).into_response(),
    };
    let chat = req.to_chat();
    enter(chat, Edge::Responses(Box::new(req)), parts, next).await
}

/// `GET` or `DELETE /v1/responses/{id}`: nothing is stored to read back.
pub async fn stored_response() -> Response {
    ApiError::parse(&ParseError::invalid(
        "response_id",
        "Sluice keeps no responses (requests are stateless): there is nothing to retrieve or delete",
    ))
    .into_response()
}

pub(crate) async fn read(
    state: &AppState,
    headers: &http::HeaderMap,
    body: Body,
) -> Result<Bytes, ApiError> {
    let limit = state.runtime.load().config.server.max_body_bytes;
    if crate::layers::limits::content_length(headers).is_some_and(|len| len > limit) {
        return Err(ApiError::body_too_large(limit));
    }
    axum::body::to_bytes(body, usize::try_from(limit).unwrap_or(usize::MAX))
        .await
        .map_err(|e| {
            if crate::layers::limits::is_length_limit(&e) {
                ApiError::body_too_large(limit)
            } else {
                ApiError::bad_body(e)
            }
        })
}

/// Sends the translated request down the chat path and translates what comes back.
async fn enter(
    chat: Result<sluice_api::ChatCompletionRequest, ParseError>,
    edge: Edge,
    mut parts: http::request::Parts,
    next: Next,
) -> Response {
    let chat = match chat {
        Ok(c) => c,
        Err(e) => return edge.error(ApiError::parse(&e)),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let resp = next
        .run(Request::from_parts(parts, Body::from(chat.to_vec())))
        .await;
    back(resp, edge).await
}

async fn back(resp: Response, edge: Edge) -> Response {
    let (mut parts, body) = resp.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let is_stream = parts
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if !parts.status.is_success() {
        if let Edge::Responses(_) = edge {
            return Response::from_parts(parts, body);
        }
        let bytes = axum::body::to_bytes(body, MAX_ERROR_BODY)
            .await
            .unwrap_or_default();
        let translated = anthropic::error_from_openai(parts.status.as_u16(), &bytes);
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return Response::from_parts(parts, Body::from(translated.to_string()));
    }
    if !is_stream {
        let bytes = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(b) => b,
            Err(e) => {
                return edge.error(ApiError::unavailable(format!(
                    "the answer could not be read: {e}"
                )))
            }
        };
        let Ok(completion) = serde_json::from_slice::<Value>(&bytes) else {
            return edge.error(ApiError::unavailable(
                "the model's answer was not a chat completion",
            ));
        };
        return Response::from_parts(parts, Body::from(edge.full(&completion).to_string()));
    }
    // Chat chunks in, the protocol's events out, as they arrive; the end of the chat
    // stream closes the translated one (or reports it cut short).
    let state = Arc::new(Mutex::new((SseScanner::new(), edge.events())));
    let at_end = state.clone();
    let events = body
        .into_data_stream()
        .map(move |chunk| {
            chunk.map(|bytes| {
                let mut out = Vec::new();
                let mut guard = state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let (scanner, events) = &mut *guard;
                scanner.push(&bytes, |data| out.extend(events.push(data)));
                Bytes::from(out)
            })
        })
        .chain(futures_util::stream::once(async move {
            let mut guard = at_end
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Ok(Bytes::from(guard.1.finish()))
        }))
        .filter(|c| futures_util::future::ready(!matches!(c, Ok(b) if b.is_empty())));
    Response::from_parts(parts, Body::from_stream(events))
}
