//! Opens the request's ledger entry (see `crate::ledger`) and records whatever the layers
//! within answered without settling it: their errors.
//!
//! Adds: [`Meter`](crate::ledger::Meter).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::ledger::Meter;
use crate::state::AppState;

pub async fn layer(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let meter = Meter::open(state);
    req.extensions_mut().insert(meter.clone());
    let resp = next.run(req).await;
    if let Some(entry) = meter.take() {
        let status = resp.status();
        let outcome = if status.is_success() {
            "completed"
        } else {
            "error"
        };
        entry.finish(status.as_u16(), outcome, None, None);
    }
    resp
}
