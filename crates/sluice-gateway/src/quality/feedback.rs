//! `POST /v1/feedback`: a client rates an answer it got, by the `x-request-id` the answer
//! carried.
//!
//! `{"request_id": "…", "score": 1, "comment": "…"}` — score from −1 to 1 (`"up"` and
//! `"down"` are accepted for thumbs). Only the key that made the request may rate it;
//! any other key gets the same 404 as an unknown id, so ids of other tenants cannot be
//! probed. Rating again replaces the score and comment (the request is counted once).

use std::sync::Arc;

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use sluice_api::ErrorBody;
use sluice_outcomes::{Feedback, Write};

use crate::error::ApiError;
use crate::layers::auth::Who;
use crate::state::AppState;

const MAX_BODY: usize = 64 * 1024;
const MAX_COMMENT: usize = 4096;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    request_id: String,
    score: Value,
    #[serde(default)]
    comment: Option<String>,
}

fn bad(message: impl Into<String>, param: Option<&str>) -> Response {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        ErrorBody::invalid_request(message.into(), param, None),
    )
    .into_response()
}

fn unknown(id: &str) -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorBody::invalid_request(
            format!("no request '{id}' was served to this key within the retention period"),
            Some("request_id"),
            Some("request_not_found"),
        ),
    )
    .into_response()
}

fn score_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|s| (-1.0..=1.0).contains(s)),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "up" | "thumbs_up" | "+1" => Some(1.0),
            "down" | "thumbs_down" | "-1" => Some(-1.0),
            _ => None,
        },
        Value::Bool(b) => Some(if *b { 1.0 } else { -1.0 }),
        _ => None,
    }
}

pub async fn handler(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let caller = req.extensions().get::<Who>().and_then(|w| w.0.clone());
    let bytes = match to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(e) => return ApiError::bad_body(e).into_response(),
    };
    let body: Body = match serde_json::from_slice(&bytes) {
        Ok(b) => b,
        Err(e) => {
            return bad(
                format!("expected {{\"request_id\": string, \"score\": number from -1 to 1, \"comment\"?: string}}: {e}"),
                None,
            )
        }
    };
    let Some(score) = score_of(&body.score) else {
        return bad(
            format!(
                "score must be a number from -1 to 1 (or \"up\" / \"down\"), got {}",
                body.score
            ),
            Some("score"),
        );
    };
    if body.request_id.is_empty() || body.request_id.len() > 200 {
        return bad(
            "request_id must be the x-request-id of an answer",
            Some("request_id"),
        );
    }
    if body.comment.as_ref().is_some_and(|c| c.len() > MAX_COMMENT) {
        return bad(
            format!("comment is longer than {MAX_COMMENT} bytes"),
            Some("comment"),
        );
    }
    let q = &state.quality;
    let Some(store) = q.store() else {
        return ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            ErrorBody::invalid_request(
                "this gateway keeps no outcomes, so it cannot take feedback (config: `outcomes: {store: …}`)".to_owned(),
                None,
                Some("feedback_disabled"),
            ),
        )
        .into_response();
    };
    let key_id = caller.as_ref().map(|c| c.key.id.clone());
    let id = body.request_id.clone();
    // Queued and not written yet: the pending entry answers.
    let queued = {
        let mut pending = super::lock(&q.pending);
        pending.get_mut(&id).map(|p| {
            let first = !p.rated;
            let mine = p.key_id == key_id;
            if mine {
                p.rated = true;
            }
            (mine, first, p.policy.clone(), p.route.clone())
        })
    };
    let (first, policy, route) = match queued {
        Some((false, ..)) => return unknown(&id),
        Some((true, first, policy, route)) => (first, policy, route),
        None => match store.owner(&id, super::now_ms(&state.clock)).await {
            Ok(Some(o)) if o.key_id == key_id => (!o.has_feedback, o.policy, o.route),
            Ok(_) => return unknown(&id),
            Err(e) => {
                tracing::warn!(error = %e, "feedback: outcome store lookup failed");
                return ApiError::unavailable("the outcome store is unavailable; retry later")
                    .into_response();
            }
        },
    };
    let feedback = Feedback {
        score,
        comment: body.comment.clone(),
        at_ms: super::now_ms(&state.clock),
    };
    if !q.enqueue(Write::Feedback {
        request_id: id.clone(),
        key_id: key_id.clone(),
        feedback,
    }) {
        return ApiError::unavailable("the outcome store's queue is full; retry later")
            .into_response();
    }
    if first {
        q.rating(&policy, &route, score);
    }
    (
        StatusCode::OK,
        Json(json!({
            "object": "feedback",
            "request_id": id,
            "score": score,
            "comment": body.comment,
            "status": if first { "recorded" } else { "updated" },
        })),
    )
        .into_response()
}
