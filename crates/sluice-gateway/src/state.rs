//! What a request reads: the live [`Runtime`], swapped whole on reload.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use sluice_config::{Config, Source};
use sluice_telemetry::Metrics;
use sluice_upstream::Provider;

/// One consistent view of the config and the clients built from it. A request loads it
/// once and keeps its `Arc` to the end, so a reload never changes a request half-way and
/// in-flight requests finish on the config they started with.
pub struct Runtime {
    pub config: Arc<Config>,
    pub providers: HashMap<String, Arc<Provider>>,
    /// Increments on every applied reload; shown by `/readyz`.
    pub generation: u64,
}

impl Runtime {
    /// Builds clients for `config`, reusing those of `previous` whose provider settings did
    /// not change, so a reload keeps warm connection pools.
    pub fn build(config: Arc<Config>, previous: Option<&Runtime>) -> anyhow::Result<Runtime> {
        let mut providers = HashMap::new();
        for (name, pc) in &config.providers {
            let reused = previous
                .and_then(|p| p.providers.get(name))
                .filter(|p| p.config() == pc)
                .cloned();
            let provider = match reused {
                Some(p) => p,
                None => Arc::new(Provider::new(pc.clone()).map_err(|e| {
                    anyhow::anyhow!("cannot build HTTP client for provider '{name}': {e}")
                })?),
            };
            if let Some(var) = provider.missing_key() {
                tracing::warn!(provider = %name, env = %var, "api key variable is not set; requests to this provider will fail over");
            }
            providers.insert(name.clone(), provider);
        }
        Ok(Runtime {
            config,
            providers,
            generation: previous.map_or(0, |p| p.generation + 1),
        })
    }
}

pub struct AppState {
    pub runtime: ArcSwap<Runtime>,
    pub metrics: Metrics,
    /// Where the config came from, so reloads read the same source.
    pub source: Source,
    /// Set on SIGTERM: `/readyz` turns 503 so load balancers stop sending new requests
    /// while in-flight ones finish.
    pub draining: AtomicBool,
    /// Unix time at start-up, reported as `created` in `/v1/models`.
    pub started_unix: u64,
}

impl AppState {
    pub fn new(runtime: Runtime, source: Source) -> anyhow::Result<Arc<AppState>> {
        Ok(Arc::new(AppState {
            runtime: ArcSwap::from_pointee(runtime),
            metrics: Metrics::new()?,
            source,
            draining: AtomicBool::new(false),
            started_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }))
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}
