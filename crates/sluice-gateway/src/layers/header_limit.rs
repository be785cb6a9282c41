//! 431 for requests whose headers are larger than `server.max_header_bytes` in total,
//! before anything reads them.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::StatusCode;

use crate::error::ApiError;
use crate::state::AppState;

pub async fn layer(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
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
