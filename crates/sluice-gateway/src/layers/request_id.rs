//! Request id and trace: every request gets an `x-request-id` (the client's own, or a new
//! UUID), one tracing span that later layers fill in (policy, route, status, duration), and
//! the id echoed on the response.

use axum::extract::Request;
use tower::layer::util::{Identity, Stack};
use tower::ServiceBuilder;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;

type MakeSpan = fn(&Request) -> Span;

/// The three tower-http layers, outermost first: set the id, open the span, echo the id.
pub type RequestIdLayers = ServiceBuilder<
    Stack<
        PropagateRequestIdLayer,
        Stack<
            TraceLayer<SharedClassifier<ServerErrorsAsFailures>, MakeSpan, (), (), (), (), ()>,
            Stack<SetRequestIdLayer<MakeRequestUuid>, Identity>,
        >,
    >,
>;

pub fn layers() -> RequestIdLayers {
    ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(span as MakeSpan)
                .on_request(())
                .on_response(())
                .on_body_chunk(())
                .on_eos(())
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
}

/// One span per request; the body stream is polled inside it.
fn span(req: &Request) -> Span {
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
}

/// The request's id as the set-id layer recorded it (`-` outside the stack).
pub fn of(req: &http::request::Parts) -> String {
    of_extensions(&req.extensions)
}

/// As [`of`], from a request's extensions.
pub fn of_extensions(ext: &http::Extensions) -> String {
    ext.get::<tower_http::request_id::RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-")
        .to_owned()
}
