//! Binding, serving and draining.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::serve::ListenerExt;
use sluice_config::Source;
use tokio::net::TcpListener;

use crate::state::{AppState, BuildContext, Runtime};

pub struct ServeOptions {
    pub listen: SocketAddr,
    /// Overrides `server.metrics_listen` (`Some(None)`: no metrics listener).
    pub metrics_listen: Option<Option<SocketAddr>>,
    pub source: Source,
    /// Reload when the config file changes (SIGHUP always reloads).
    pub watch: bool,
}

/// Loads the config, serves until SIGTERM/SIGINT, then drains: `/readyz` turns 503, the
/// listener stops accepting, and in-flight requests and streams get `server.shutdown_grace`
/// to finish before the process exits.
pub async fn serve(opts: ServeOptions) -> anyhow::Result<()> {
    let config = sluice_config::load(&opts.source)?;
    // Without keys, anyone who can reach the port spends the upstream keys: only on
    // loopback unless the operator says otherwise.
    if !opts.listen.ip().is_loopback()
        && config.keys.is_empty()
        && !config.server.allow_unauthenticated
    {
        anyhow::bail!(
            "refusing to listen on {} with no API keys configured: anyone who can reach it could spend your upstream keys. Add `keys` (see `sluice keys create`), listen on 127.0.0.1, or set server.allow_unauthenticated: true",
            opts.listen
        );
    }
    let metrics = Arc::new(sluice_telemetry::Metrics::new()?);
    let ctx = BuildContext::new(&opts.source, metrics);
    let build_ctx = ctx.clone();
    // Loading models blocks: keep it off the async workers.
    let runtime =
        tokio::task::spawn_blocking(move || Runtime::build(Arc::new(config), None, &build_ctx))
            .await??;
    let base_dir = ctx.base_dir.clone();
    let state = AppState::new(runtime, opts.source, ctx)?;
    crate::quality::Quality::start(&state, &base_dir).await?;
    crate::reload::spawn(state.clone(), opts.watch)?;

    // The metrics listener first, so that its address is logged before "listening".
    let metrics_addr = opts
        .metrics_listen
        .unwrap_or(state.runtime.load().config.server.metrics_listen);
    if let Some(at) = metrics_addr {
        let listener = TcpListener::bind(at).await.map_err(|e| {
            anyhow::anyhow!("cannot listen on {at} for metrics (server.metrics_listen): {e}")
        })?;
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() {
            tracing::warn!(%addr, "metrics listener is not on loopback: tenant and key ids, budgets and spend are visible to whoever reaches it");
        }
        tracing::info!(%addr, "metrics listening");
        // Served until the process exits, so the drain itself can be watched.
        let app = crate::stack::metrics_router(state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "metrics listener stopped");
            }
        });
    }
    let listener = TcpListener::bind(opts.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", opts.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, source = %state.source.name(), "listening");
    // Small SSE chunks must leave at once, not wait for Nagle.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });

    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let server = axum::serve(listener, crate::stack::router(state.clone()))
        .with_graceful_shutdown(async move {
            let _ = stop_rx.wait_for(|stop| *stop).await;
        })
        .into_future();
    tokio::pin!(server);

    tokio::select! {
        result = &mut server => return result.map_err(Into::into),
        signal = shutdown_signal() => tracing::info!(%signal, "shutdown requested"),
    }
    state.draining.store(true, Ordering::Relaxed);
    let grace = state.runtime.load().config.server.shutdown_grace;
    let in_flight = state.metrics.in_flight.get();
    tracing::info!(?grace, in_flight, "draining in-flight requests");
    let _ = stop_tx.send(true);
    match tokio::time::timeout(grace, server).await {
        Ok(result) => {
            tracing::info!("drained; bye");
            result.map_err(Into::into)
        }
        Err(_) => {
            let left = state.metrics.in_flight.get();
            tracing::warn!(
                in_flight = left,
                "grace period over; closing remaining connections"
            );
            Ok(())
        }
    }
}

async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "ctrl-c"
    }
}
