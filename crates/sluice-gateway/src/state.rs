//! What a request reads: the live [`Runtime`], swapped whole on reload.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use sluice_config::{Config, Source};
use sluice_telemetry::Metrics;
use sluice_upstream::Provider;

use crate::auth::KeyRing;
use crate::breaker::Breakers;
use crate::clock::Clock;
use crate::limits::Limiter;
use crate::local::LocalTarget;
use crate::routing::{self, CompiledPolicy, LoadedHead, RouterRuntime};

/// One consistent view of the config and everything built from it. A request loads it
/// once and keeps its `Arc` to the end, so a reload never changes a request half-way and
/// in-flight requests finish on the config they started with.
pub struct Runtime {
    pub config: Arc<Config>,
    pub providers: HashMap<String, Arc<Provider>>,
    /// In-process models, by provider name.
    pub locals: HashMap<String, Arc<LocalTarget>>,
    pub router: Option<Arc<RouterRuntime>>,
    pub heads: HashMap<String, LoadedHead>,
    pub policies: HashMap<String, Arc<CompiledPolicy>>,
    pub keys: KeyRing,
    /// Drift references of policies whose `quality.drift_reference` names one.
    pub drift: HashMap<String, Arc<crate::quality::drift::Reference>>,
    /// Increments on every applied reload; shown by `/readyz`.
    pub generation: u64,
}

/// What building a runtime needs besides the config.
#[derive(Clone)]
pub struct BuildContext {
    /// Relative head paths resolve against this (the config file's folder).
    pub base_dir: PathBuf,
    pub metrics: Arc<Metrics>,
}

impl BuildContext {
    pub fn new(source: &Source, metrics: Arc<Metrics>) -> BuildContext {
        let base_dir = match source {
            Source::File(p) => p.parent().map(PathBuf::from).unwrap_or_default(),
            Source::Embedded => PathBuf::new(),
        };
        BuildContext { base_dir, metrics }
    }
}

impl Runtime {
    /// Builds clients and router state for `config`, reusing from `previous` whatever did
    /// not change: provider connection pools, the loaded embedder, unchanged head files and
    /// already embedded examples. Blocking (model loading, example embedding): call it off
    /// the async runtime.
    pub fn build(
        config: Arc<Config>,
        previous: Option<&Runtime>,
        ctx: &BuildContext,
    ) -> anyhow::Result<Runtime> {
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
        let mut locals = HashMap::new();
        for (name, lc) in &config.locals {
            let reused = previous
                .and_then(|p| p.locals.get(name))
                .filter(|l| &l.config == lc)
                .cloned();
            let local = match reused {
                Some(l) => l,
                None => Arc::new(LocalTarget::load(lc.clone(), ctx.metrics.clone())?),
            };
            locals.insert(name.clone(), local);
        }
        let metrics = ctx.metrics.clone();
        let observer: sluice_router::batcher::BatchObserver = Arc::new(move |size, took| {
            metrics.router_batch_size.observe(size as f64);
            metrics.router_batch_duration.observe(took.as_secs_f64());
        });
        let router = routing::build_router(
            &config,
            previous.and_then(|p| p.router.as_ref()),
            Some(observer),
        )?;
        let empty = HashMap::new();
        let heads = routing::load_heads(
            &config,
            &ctx.base_dir,
            router.as_ref(),
            previous.map_or(&empty, |p| &p.heads),
        )?;
        let policies =
            routing::compile_policies(&config, &ctx.base_dir, router.as_ref(), &heads, &locals)?;
        let mut drift = HashMap::new();
        for (name, p) in &config.policies {
            if let Some(path) = p.quality.as_ref().and_then(|q| q.drift_reference.as_ref()) {
                let reference = crate::quality::drift::Reference::load(&ctx.base_dir.join(path))
                    .map_err(|e| {
                        anyhow::anyhow!("policies.{name}.quality.drift_reference: {e:#}")
                    })?;
                drift.insert(name.clone(), Arc::new(reference));
            }
        }
        let keys = KeyRing::new(&config);
        for k in config.keys.values() {
            if let Some(b) = &k.budget {
                ctx.metrics
                    .tenant_budget
                    .with_label_values(&[&k.tenant, &k.id])
                    .set(b.usd);
            }
        }
        Ok(Runtime {
            keys,
            drift,
            config,
            providers,
            locals,
            router,
            heads,
            policies,
            generation: previous.map_or(0, |p| p.generation + 1),
        })
    }
}

pub struct AppState {
    pub runtime: ArcSwap<Runtime>,
    pub metrics: Arc<Metrics>,
    /// Where the config came from, so reloads read the same source.
    pub source: Source,
    pub build: BuildContext,
    /// Set on SIGTERM: `/readyz` turns 503 so load balancers stop sending new requests
    /// while in-flight ones finish.
    pub draining: AtomicBool,
    /// Unix time at start-up, reported as `created` in `/v1/models`.
    pub started_unix: u64,
    /// Rate-limit and budget counters (in memory or Redis), for the whole process: a reload
    /// does not reset spend.
    pub limiter: Arc<Limiter>,
    pub breakers: Breakers,
    /// Wall-clock seconds for rate windows and budget periods (moved by tests).
    pub clock: Clock,
    /// Bounds the abandoned streams drained at once (`server.max_drain_tasks`).
    pub drain_slots: Arc<tokio::sync::Semaphore>,
    /// The outcome store, shadow judging, feedback and drift (`crate::quality`).
    pub quality: crate::quality::Quality,
    /// Policies' response caches (`crate::cache`), in memory or Redis like the counters.
    pub cache: crate::cache::ResponseCache,
}

impl AppState {
    pub fn new(
        runtime: Runtime,
        source: Source,
        build: BuildContext,
    ) -> anyhow::Result<Arc<AppState>> {
        AppState::with_clock(runtime, source, build, Clock::System)
    }

    /// As [`AppState::new`], reading wall-clock time from `clock`.
    pub fn with_clock(
        runtime: Runtime,
        source: Source,
        build: BuildContext,
        clock: Clock,
    ) -> anyhow::Result<Arc<AppState>> {
        let limiter = Arc::new(Limiter::new(
            &runtime.config.state,
            build.metrics.clone(),
            clock,
        )?);
        let drains = runtime.config.server.max_drain_tasks;
        let quality = crate::quality::Quality::new(&runtime.config, build.metrics.clone());
        quality.configure(&runtime);
        Ok(Arc::new(AppState {
            cache: crate::cache::ResponseCache::new(&runtime.config.state),
            quality,
            limiter,
            clock,
            drain_slots: Arc::new(tokio::sync::Semaphore::new(drains)),
            breakers: Breakers::default(),
            runtime: ArcSwap::from_pointee(runtime),
            metrics: build.metrics.clone(),
            source,
            build,
            draining: AtomicBool::new(false),
            started_unix: crate::unix_now(),
        }))
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}
