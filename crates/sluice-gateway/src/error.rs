//! Errors as the client sees them: an HTTP status and OpenAI's `{"error":{...}}` body.

use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use sluice_api::{chat::ParseError, ErrorBody};
use sluice_upstream::UpstreamError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
    /// Boxed: most errors carry none, and a small error keeps `Result`s small.
    pub headers: Box<HeaderMap>,
}

impl ApiError {
    pub fn new(status: StatusCode, body: ErrorBody) -> Self {
        ApiError {
            status,
            body,
            headers: Box::default(),
        }
    }

    pub fn body_too_large(limit: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorBody::invalid_request(
                format!("request body is larger than the gateway's limit of {limit} bytes (server.max_body_bytes)"),
                None,
                Some("request_too_large"),
            ),
        )
    }

    pub fn bad_body(reason: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorBody::invalid_request(
                format!("could not read the request body: {reason}"),
                None,
                None,
            ),
        )
    }

    pub fn parse(e: &ParseError) -> Self {
        Self::new(StatusCode::BAD_REQUEST, e.to_body())
    }

    pub fn unknown_model(model: &str, available: &[&str]) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorBody::invalid_request(
                format!(
                    "The model '{model}' does not exist or you do not have access to it. Models served by this gateway: {}.",
                    available.join(", ")
                ),
                Some("model"),
                Some("model_not_found"),
            ),
        )
    }

    pub fn not_found(method: &http::Method, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorBody::invalid_request(
                format!("Invalid URL ({method} {path})"),
                None,
                Some("unknown_url"),
            ),
        )
    }

    pub fn method_not_allowed(method: &http::Method, path: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorBody::invalid_request(
                format!("method {method} is not allowed on {path}"),
                None,
                Some("method_not_allowed"),
            ),
        )
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorBody::new(message, "server_error", None, Some("unavailable")),
        )
    }

    /// The router's queue is full and the policy says to refuse rather than guess.
    pub fn router_overloaded(reason: &str) -> Self {
        let mut err = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorBody::new(
                format!("{reason}; retry shortly"),
                "server_error",
                None,
                Some("router_overloaded"),
            ),
        );
        err.headers
            .insert("retry-after", HeaderValue::from_static("1"));
        err
    }

    /// Every target of the chain failed; `last` decides the status, `summary` lists them all.
    pub fn upstream_exhausted(last: &UpstreamError, summary: &str) -> Self {
        let (status, code) = match last {
            UpstreamError::MissingKey { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable")
            }
            UpstreamError::Timeout { .. } => (StatusCode::GATEWAY_TIMEOUT, "upstream_timeout"),
            UpstreamError::Connect { .. } => (StatusCode::BAD_GATEWAY, "upstream_unreachable"),
            UpstreamError::Protocol { .. } => (StatusCode::BAD_GATEWAY, "upstream_protocol_error"),
            UpstreamError::Status { status, .. } if status.as_u16() == 429 => {
                (StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded")
            }
            UpstreamError::Status { .. } => (StatusCode::BAD_GATEWAY, "upstream_error"),
        };
        let kind = if status == StatusCode::TOO_MANY_REQUESTS {
            "rate_limit_error"
        } else {
            "upstream_error"
        };
        let mut err = Self::new(status, ErrorBody::new(summary, kind, None, Some(code)));
        if let UpstreamError::Status { headers, .. } = last {
            for name in ["retry-after", "retry-after-ms"] {
                if let Some(v) = headers.get(name) {
                    err.headers.insert(name, v.clone());
                }
            }
        }
        err
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, self.body.to_json()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp.headers_mut().extend(*self.headers);
        resp
    }
}

/// A short description of an upstream failure for logs and error messages, including the
/// upstream's own error message when its body is OpenAI-shaped.
pub fn describe(e: &UpstreamError) -> String {
    match e {
        UpstreamError::Status {
            provider,
            status,
            body,
            ..
        } => {
            let detail = serde_json::from_slice::<ErrorBody>(body)
                .map(|b| b.error.message)
                .unwrap_or_else(|_| {
                    String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
                });
            format!(
                "provider '{provider}' returned HTTP {}: {detail}",
                status.as_u16()
            )
        }
        other => other.to_string(),
    }
}
