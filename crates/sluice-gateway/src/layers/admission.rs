//! Admission: a global bound on the requests the gateway works on at once, with load
//! shedding.
//!
//! Without it, a burst far beyond what the upstreams and the local model can take piles up
//! in memory (bodies, streams, queued decisions) until everything is slow. With it, at most
//! `server.max_concurrency` requests are in progress; a newcomer waits up to
//! `server.max_queue_wait` for a slot and is otherwise answered at once with 503, an
//! OpenAI-style `overloaded` error and `retry-after`, which the official SDKs retry. A
//! request holds its slot until its response body has been sent or dropped, so a stream
//! counts for as long as it runs.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use http::{HeaderValue, Request, StatusCode};
use sluice_api::ErrorBody;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::{Layer, Service};

use crate::error::ApiError;

/// Called for every shed request (the gateway counts them in `sluice_load_shed_total`).
pub type OnShed = Arc<dyn Fn() + Send + Sync>;

#[derive(Clone)]
pub struct AdmissionLayer {
    slots: Arc<Semaphore>,
    max_wait: Duration,
    on_shed: Option<OnShed>,
}

impl AdmissionLayer {
    pub fn new(max_concurrency: usize, max_wait: Duration, on_shed: Option<OnShed>) -> Self {
        AdmissionLayer {
            slots: Arc::new(Semaphore::new(max_concurrency.max(1))),
            max_wait,
            on_shed,
        }
    }
}

impl AdmissionLayer {
    /// The gateway's admission: `server.max_concurrency` slots, `server.max_queue_wait`,
    /// shed requests counted in `sluice_load_shed_total`.
    pub fn for_state(state: &crate::state::AppState) -> Self {
        let server = &state.runtime.load().config.server;
        let shed = state.metrics.load_shed.clone();
        AdmissionLayer::new(
            server.max_concurrency,
            server.max_queue_wait,
            Some(Arc::new(move || shed.inc())),
        )
    }
}

impl<S> Layer<S> for AdmissionLayer {
    type Service = Admission<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Admission {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Admission<S> {
    inner: S,
    layer: AdmissionLayer,
}

impl<S> Service<Request<Body>> for Admission<S>
where
    S: Service<Request<Body>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Readiness is decided per request, in `call`, where waiting is bounded.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        // The clone that was driven to readiness is the one to call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            // A free slot is taken at the first poll, without waiting.
            let acquire = layer.slots.clone().acquire_owned();
            let Ok(Ok(permit)) = tokio::time::timeout(layer.max_wait, acquire).await else {
                if let Some(f) = &layer.on_shed {
                    f();
                }
                return Ok(shed());
            };
            let resp = inner.call(req).await?;
            Ok(resp.map(|body| {
                Body::new(Held {
                    body,
                    _permit: permit,
                })
            }))
        })
    }
}

/// The 503 a shed request gets.
fn shed() -> Response {
    let mut e = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorBody::new(
            "The gateway is at its limit of requests in progress (server.max_concurrency); retry shortly.",
            "server_error",
            None,
            Some("overloaded"),
        ),
    );
    e.headers
        .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    // The request's body was never read: closing the connection spares reading it (a shed
    // request must cost nothing), where keeping the connection alive would drain it first.
    e.headers
        .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    e.into_response()
}

/// A response body that keeps its request's slot until it is finished or dropped.
struct Held {
    body: Body,
    _permit: OwnedSemaphorePermit,
}

impl http_body::Body for Held {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::routing::get;
    use axum::Router;
    use http_body_util::BodyExt;
    use tokio::sync::Notify;
    use tower::ServiceExt;

    use super::*;

    /// A router whose handler waits for `release` before answering.
    fn app(max: usize, wait: Duration, release: Arc<Notify>, shed: Arc<AtomicUsize>) -> Router {
        let on_shed: OnShed = Arc::new(move || {
            shed.fetch_add(1, Ordering::Relaxed);
        });
        Router::new()
            .route(
                "/slow",
                get(move || {
                    let release = release.clone();
                    async move {
                        release.notified().await;
                        "done"
                    }
                }),
            )
            .route(
                "/stream",
                get(|| async {
                    // A body that never ends by itself, like a long stream.
                    Body::from_stream(futures_util::stream::pending::<
                        Result<bytes::Bytes, std::io::Error>,
                    >())
                }),
            )
            .layer(AdmissionLayer::new(max, wait, Some(on_shed)))
    }

    fn get_req(path: &str) -> Request<Body> {
        Request::get(path).body(Body::empty()).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn sheds_beyond_the_limit_after_the_queue_wait_and_admits_when_a_slot_frees() {
        let release = Arc::new(Notify::new());
        let shed = Arc::new(AtomicUsize::new(0));
        let app = app(2, Duration::from_millis(100), release.clone(), shed.clone());
        let a = tokio::spawn(app.clone().oneshot(get_req("/slow")));
        let b = tokio::spawn(app.clone().oneshot(get_req("/slow")));
        tokio::task::yield_now().await;
        // Both slots taken: the third waits 100 ms (virtual), then gets a 503.
        let started = tokio::time::Instant::now();
        let c = app.clone().oneshot(get_req("/slow")).await.unwrap();
        assert_eq!(c.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(started.elapsed(), Duration::from_millis(100));
        assert_eq!(c.headers()["retry-after"], "1");
        let body: serde_json::Value =
            serde_json::from_slice(&c.into_body().collect().await.unwrap().to_bytes()).unwrap();
        assert_eq!(body["error"]["code"], "overloaded");
        assert_eq!(shed.load(Ordering::Relaxed), 1);

        // A newcomer that arrives while full is admitted when a slot frees within its wait.
        let d = tokio::spawn(app.clone().oneshot(get_req("/slow")));
        tokio::time::sleep(Duration::from_millis(50)).await;
        release.notify_one();
        let first = tokio::select! { r = a => r, r = b => r };
        assert_eq!(first.unwrap().unwrap().status(), StatusCode::OK);
        // d now holds a slot and waits for its own release, like the remaining one.
        release.notify_one();
        release.notify_one();
        assert_eq!(d.await.unwrap().unwrap().status(), StatusCode::OK);
        assert_eq!(shed.load(Ordering::Relaxed), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_response_body_holds_its_slot_until_it_is_dropped() {
        let shed = Arc::new(AtomicUsize::new(0));
        let app = app(
            1,
            Duration::from_millis(10),
            Arc::new(Notify::new()),
            shed.clone(),
        );
        let stream = app.clone().oneshot(get_req("/stream")).await.unwrap();
        assert_eq!(stream.status(), StatusCode::OK);
        // The handler has returned, but its stream is still open: no slot for another.
        let other = app.clone().oneshot(get_req("/stream")).await.unwrap();
        assert_eq!(other.status(), StatusCode::SERVICE_UNAVAILABLE);
        drop(stream);
        let again = app.clone().oneshot(get_req("/stream")).await.unwrap();
        assert_eq!(again.status(), StatusCode::OK);
        assert_eq!(shed.load(Ordering::Relaxed), 1);
    }
}
