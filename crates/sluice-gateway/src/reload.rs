//! Hot reload: the config file changing on disk, or SIGHUP, leads to a re-read of the same
//! source. A valid result replaces the runtime for new requests (in-flight ones keep the
//! `Arc` they loaded); an invalid one is logged and counted, and the old config keeps serving.

use std::sync::Arc;

use sluice_config::{watch, Source};
use tokio::sync::mpsc;

use crate::state::{AppState, Runtime};

/// Starts the reload task. Returns once the watch is set up, so a test that writes the file
/// right after start-up cannot race the watcher.
pub fn spawn(state: Arc<AppState>, watch_file: bool) -> anyhow::Result<()> {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let file_watch = match &state.source {
        Source::File(path) if watch_file => Some(watch::watch_file(path, tx.clone())?),
        Source::File(_) => None,
        Source::Embedded => None,
    };
    #[cfg(unix)]
    {
        let tx = tx.clone();
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                tracing::info!("SIGHUP received, reloading config");
                let _ = tx.try_send(());
            }
        });
    }
    drop(tx);
    tokio::spawn(async move {
        let _keep = file_watch;
        loop {
            let quiet = state.runtime.load().config.server.reload_debounce;
            if !watch::debounced(&mut rx, quiet).await {
                break;
            }
            let st = state.clone();
            // Reloading may load models and embed examples: not on the async workers.
            let _ = tokio::task::spawn_blocking(move || reload(&st)).await;
        }
    });
    Ok(())
}

/// Re-reads the config source and applies it if valid. Returns whether it was applied.
pub fn reload(state: &AppState) -> bool {
    let source = state.source.name();
    let result = sluice_config::load(&state.source)
        .map_err(|e| e.to_string())
        .and_then(|cfg| {
            // Rebuilt even when the YAML is unchanged (SIGHUP after retraining a head file):
            // whatever did not change is reused, so this is cheap.
            let old = state.runtime.load();
            Runtime::build(Arc::new(cfg), Some(&old), &state.build).map_err(|e| format!("{e:#}"))
        });
    match result {
        Ok(rt) => {
            let generation = rt.generation;
            if rt.config.outcomes != state.runtime.load().config.outcomes {
                tracing::warn!(%source, "outcomes: a changed store takes effect at the next restart");
            }
            state.quality.configure(&rt);
            state.runtime.store(Arc::new(rt));
            state
                .metrics
                .config_reloads
                .with_label_values(&["ok"])
                .inc();
            tracing::info!(%source, generation, "config reloaded");
            true
        }
        Err(error) => {
            state
                .metrics
                .config_reloads
                .with_label_values(&["failed"])
                .inc();
            tracing::warn!(%source, %error, "config reload rejected; the running config stays in place");
            false
        }
    }
}
