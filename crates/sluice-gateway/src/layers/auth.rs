//! Who is calling: the key presented as `Authorization: Bearer …`, checked against the
//! key ring of the config the request is pinned to.
//!
//! Adds: [`Pinned`] (the runtime this request uses from start to end, so a reload never
//! changes a request half-way) and [`Who`] (the key, or none when keys are off). Reads:
//! [`Meter`] when present, to charge the key. A request built in-process (the `sluice
//! route` command) may carry its `Who` already; nothing from the network can.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::Caller;
use crate::ledger::Meter;
use crate::state::{AppState, Runtime};

/// The runtime a request was admitted under.
#[derive(Clone)]
pub struct Pinned(pub Arc<Runtime>);

/// The key a request authenticated with; `None` when the gateway runs without keys.
#[derive(Clone)]
pub struct Who(pub Option<Arc<Caller>>);

pub async fn layer(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let runtime = state.runtime.load_full();
    if req.extensions().get::<Who>().is_none() {
        let caller = match runtime.keys.authenticate(req.headers()) {
            Ok(c) => c,
            Err(f) => {
                state
                    .metrics
                    .auth_failures
                    .with_label_values(&[f.reason()])
                    .inc();
                return f.to_error().into_response();
            }
        };
        if let Some(meter) = req.extensions().get::<Meter>() {
            meter.update(|e| e.caller.clone_from(&caller));
        }
        req.extensions_mut().insert(Who(caller));
    }
    req.extensions_mut().insert(Pinned(runtime));
    next.run(req).await
}
