//! The route step: turns a policy's config into a [`RoutingPolicy`] (regexes compiled,
//! semantic examples embedded, heads loaded), extracts the request features the policy may
//! look at, and reaches a decision — embedding the request on the router's worker threads
//! only when no rule already decided.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use http::HeaderMap;
use sluice_api::chat::{ChatCompletionRequest, MessageContent};
use sluice_config::{Aggregate, Config, EmbedderConfig, Overflow, PolicyConfig, Strategy};
use sluice_router::batcher::{BatchObserver, Embedded};
use sluice_router::embedding::LoadOptions;
use sluice_router::heads::{self, LearnedHead, SemanticRoute};
use sluice_router::policy::{
    self, Capabilities, Decision, Features, Pattern, RoutingPolicy, Scores,
};
use sluice_router::{Embedder, EmbedderOptions, RouterError};

/// Header a client may use to ask for a target, when the policy allows it.
pub const TARGET_HEADER: &str = "x-sluice-target";

/// The loaded embedder, kept across reloads while its config is unchanged.
pub struct RouterRuntime {
    pub embedder: Embedder,
    pub config: EmbedderConfig,
    /// Example text → embedding, so a reload re-embeds only examples that changed.
    example_cache: Mutex<HashMap<String, Vec<f32>>>,
}

/// A learned head with what identifies its file, to reload it when the file changes.
pub struct LoadedHead {
    pub path: PathBuf,
    modified: Option<SystemTime>,
    pub head: Arc<LearnedHead>,
}

/// A policy ready to decide with.
pub struct CompiledPolicy {
    pub routing: RoutingPolicy,
    pub head: Option<Arc<LearnedHead>>,
    pub aggregate: heads::Aggregate,
    /// A cascade policy's escalation head and settings.
    pub cascade: Option<Arc<crate::cascade::Plan>>,
}

pub use sluice_router::embedding::{model_path, models_dir};

/// Starts (or keeps) the embedder the config asks for.
pub fn build_router(
    config: &Config,
    previous: Option<&Arc<RouterRuntime>>,
    observer: Option<BatchObserver>,
) -> anyhow::Result<Option<Arc<RouterRuntime>>> {
    let Some(rc) = &config.router else {
        return Ok(None);
    };
    if let Some(prev) = previous.filter(|p| p.config == rc.embedder) {
        return Ok(Some(prev.clone()));
    }
    let e = &rc.embedder;
    let dir = model_path(&e.model);
    if !dir.is_dir() {
        let hint = match (&e.source, &e.hub_id) {
            (Some(src), _) => format!(
                "a static table distilled from {src}: make it with `scripts/setup.sh`, or `.venv/bin/python scripts/distill_static.py --model {} --out {}`",
                model_path(src).display(),
                sluice_router::embedding::cache_dir().join(&e.model).display()
            ),
            (None, Some(id)) => format!("run `sluice models pull` to fetch {id}, or point SLUICE_MODELS_DIR at a folder that has it"),
            (None, None) => "set SLUICE_MODELS_DIR or give router.embedder.model as a path".into(),
        };
        anyhow::bail!(
            "router.embedder.model: no model folder at {} ({hint})",
            dir.display()
        );
    }
    let embedder = Embedder::start(
        EmbedderOptions {
            model_dir: dir,
            load: LoadOptions {
                variant: e.variant.clone(),
                max_tokens: e.max_tokens,
                intra_threads: e.threads,
            },
            workers: e.workers,
            max_batch: e.max_batch,
            max_wait: e.max_wait,
            queue_depth: e.queue_depth,
        },
        observer,
    )
    .map_err(|err| anyhow::anyhow!("router.embedder: {err}"))?;
    tracing::info!(model = %embedder.model_path().display(), workers = e.workers, "router embedder loaded");
    let cache = previous.map(|p| {
        p.example_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    });
    // A different model invalidates cached example vectors.
    let cache =
        if previous.is_some_and(|p| p.config.model == e.model && p.config.variant == e.variant) {
            cache.unwrap_or_default()
        } else {
            HashMap::new()
        };
    Ok(Some(Arc::new(RouterRuntime {
        embedder,
        config: e.clone(),
        example_cache: Mutex::new(cache),
    })))
}

/// Heads built into the binary, so the embedded default config works wherever the binary
/// runs. Used only for the embedded config (whose relative paths have no folder to resolve
/// against) when no such file exists in the working directory.
const BUILTIN_HEADS: &[(&str, &[u8])] = &[
    (
        "router-head.onnx",
        include_bytes!("../../../config/router-head.onnx"),
    ),
    (
        "cascade-head.onnx",
        include_bytes!("../../../config/cascade-head.onnx"),
    ),
];

/// Where a head the config names comes from: its file (relative to the config's folder),
/// and for the embedded config, when no such file exists, the bytes built into the binary.
fn head_source(base_dir: &Path, file: &str) -> (PathBuf, Option<&'static [u8]>) {
    let path = if Path::new(file).is_absolute() {
        PathBuf::from(file)
    } else {
        base_dir.join(file)
    };
    let builtin = BUILTIN_HEADS
        .iter()
        .find(|(n, _)| *n == file)
        .map(|(_, b)| *b)
        .filter(|_| base_dir.as_os_str().is_empty() && !path.exists());
    (path, builtin)
}

/// Loads the heads the config names, reusing those whose file did not change.
pub fn load_heads(
    config: &Config,
    base_dir: &Path,
    router: Option<&Arc<RouterRuntime>>,
    previous: &HashMap<String, LoadedHead>,
) -> anyhow::Result<HashMap<String, LoadedHead>> {
    let mut out = HashMap::new();
    let (Some(rc), Some(router)) = (&config.router, router) else {
        return Ok(out);
    };
    for (name, file) in &rc.heads {
        let (path, builtin) = head_source(base_dir, file);
        if let Some(bytes) = builtin {
            let head =
                LearnedHead::from_bytes(bytes, router.embedder.dim(), &format!("built-in {file}"))
                    .map_err(|e| anyhow::anyhow!("router.heads.{name}: {e}"))?;
            out.insert(
                name.clone(),
                LoadedHead {
                    path,
                    modified: None,
                    head: Arc::new(head),
                },
            );
            continue;
        }
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        if let Some(prev) = previous
            .get(name)
            .filter(|p| p.path == path && p.modified == modified && modified.is_some())
        {
            out.insert(
                name.clone(),
                LoadedHead {
                    path,
                    modified,
                    head: prev.head.clone(),
                },
            );
            continue;
        }
        let head = LearnedHead::load(&path, router.embedder.dim())
            .map_err(|e| anyhow::anyhow!("router.heads.{name}: {e}"))?;
        out.insert(
            name.clone(),
            LoadedHead {
                path,
                modified,
                head: Arc::new(head),
            },
        );
    }
    Ok(out)
}

/// Compiles every policy. Blocking: embeds semantic examples (call off the async runtime).
pub fn compile_policies(
    config: &Config,
    base_dir: &Path,
    router: Option<&Arc<RouterRuntime>>,
    heads: &HashMap<String, LoadedHead>,
    locals: &HashMap<String, Arc<crate::local::LocalTarget>>,
) -> anyhow::Result<HashMap<String, Arc<CompiledPolicy>>> {
    let mut out = HashMap::new();
    for (name, p) in &config.policies {
        out.insert(
            name.clone(),
            Arc::new(compile(config, base_dir, p, router, heads, locals)?),
        );
    }
    Ok(out)
}

/// Loads a cascade's escalation head: the file the config names (relative to the config's
/// folder), or for the embedded config the head built into the binary.
fn load_escalation_head(
    base_dir: &Path,
    policy: &str,
    file: &str,
) -> anyhow::Result<sluice_local::escalation::EscalationHead> {
    use sluice_local::escalation::EscalationHead;
    let head = match head_source(base_dir, file) {
        (_, Some(bytes)) => EscalationHead::from_bytes(bytes, &format!("built-in {file}")),
        (path, None) => EscalationHead::load(&path),
    };
    head.map_err(|e| anyhow::anyhow!("policies.{policy}.cascade.head: {e}"))
}

fn compile(
    config: &Config,
    base_dir: &Path,
    p: &PolicyConfig,
    router: Option<&Arc<RouterRuntime>>,
    heads: &HashMap<String, LoadedHead>,
    locals: &HashMap<String, Arc<crate::local::LocalTarget>>,
) -> anyhow::Result<CompiledPolicy> {
    let weak = &config.models[&p.target];
    // A local model's context window is what its files say, unless the config sets a
    // smaller one.
    let loaded_window = locals.get(&weak.provider).map(|l| l.context_window());
    let weak_caps = Capabilities {
        context_window: match (weak.context_window, loaded_window) {
            (Some(c), Some(l)) => Some(c.min(l)),
            (c, l) => c.or(l),
        },
        tools: weak.supports.tools,
        images: weak.supports.images,
        json_schema: weak.supports.json_schema,
    };
    // Compiled once, when the config was checked; cloning a `Regex` shares it.
    let patterns = p
        .rules
        .patterns
        .iter()
        .map(|rule| Pattern {
            regex: rule.regex.regex().clone(),
            target: rule.target.clone(),
        })
        .collect();
    let mut head = None;
    let mut cascade = None;
    let mut semantic = Vec::new();
    let mut aggregate = heads::Aggregate::Max;
    let strategy = match &p.strategy {
        Strategy::Static => policy::Strategy::Static,
        Strategy::Learned {
            threshold,
            head: name,
        } => {
            head = Some(heads.get(name).map(|h| h.head.clone()).ok_or_else(|| {
                anyhow::anyhow!("policies.{}.head: head '{name}' is not loaded", p.name)
            })?);
            policy::Strategy::Learned {
                threshold: *threshold as f32,
            }
        }
        Strategy::Cascade {
            threshold,
            cascade: c,
        } => {
            let esc = load_escalation_head(base_dir, &p.name, &c.head)?;
            let embed = esc.embedding_dim() > 0;
            if embed {
                let dim = router.map(|r| r.embedder.dim());
                if dim != Some(esc.embedding_dim()) {
                    anyhow::bail!(
                        "policies.{}.cascade.head: {} reads {}-dimensional prompt embeddings, but the router's embedder gives {}",
                        p.name,
                        esc.path,
                        esc.embedding_dim(),
                        dim.map_or("none (no router section)".into(), |d| d.to_string())
                    );
                }
            }
            if let Some(trained) = esc.decide_at.filter(|&n| n > 0 && n != c.checkpoint()) {
                tracing::warn!(
                    policy = %p.name,
                    head = %esc.path,
                    trained,
                    configured = c.checkpoint(),
                    "the escalation head was trained for another decision point; its probabilities may be off"
                );
            }
            cascade = Some(Arc::new(crate::cascade::Plan {
                head: Arc::new(esc),
                threshold: *threshold,
                checkpoint: c.checkpoint(),
                max_draft: c.max_draft,
                prompt_window: c.prompt_window,
            }));
            policy::Strategy::Cascade { embed }
        }
        Strategy::Semantic {
            aggregate: agg,
            routes,
        } => {
            aggregate = match agg {
                Aggregate::Max => heads::Aggregate::Max,
                Aggregate::Centroid => heads::Aggregate::Centroid,
            };
            let router = router.ok_or_else(|| {
                anyhow::anyhow!("policies.{}: semantic routes need router.embedder", p.name)
            })?;
            for r in routes {
                let mut vectors = Vec::new();
                for ex in r.examples.iter().filter(|e| !e.trim().is_empty()) {
                    vectors.push(embed_example(router, ex)?);
                }
                semantic.push(SemanticRoute::new(
                    r.name.clone(),
                    r.target.clone(),
                    r.threshold as f32,
                    vectors,
                ));
            }
            policy::Strategy::Semantic { aggregate }
        }
    };
    Ok(CompiledPolicy {
        routing: RoutingPolicy {
            name: p.name.clone(),
            strategy,
            default_target: p.target.clone(),
            strong: p.strong.clone(),
            weak_caps,
            header_overrides: p.rules.header_override.clone(),
            patterns,
            semantic,
            overflow: match p.overflow {
                Overflow::Strong => policy::Overflow::Strong,
                Overflow::Reject => policy::Overflow::Reject,
            },
        },
        head,
        aggregate,
        cascade,
    })
}

fn embed_example(router: &RouterRuntime, text: &str) -> anyhow::Result<Vec<f32>> {
    if let Some(v) = router
        .example_cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(text)
    {
        return Ok(v.clone());
    }
    // Examples are embedded alone, like queries, so both see the same truncation.
    let v = loop {
        match router.embedder.embed_blocking(text.to_owned(), None) {
            Ok(e) => break e.vector,
            Err(RouterError::Overloaded { .. }) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => anyhow::bail!("embedding example {text:?}: {e}"),
        }
    };
    router
        .example_cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(text.to_owned(), v.clone());
    Ok(v)
}

/// What the policy may look at, from the parsed request.
pub fn features(
    req: &ChatCompletionRequest,
    headers: &HeaderMap,
    embed: Option<&EmbedderConfig>,
) -> Features {
    let text_of = |c: &Option<MessageContent>| -> String {
        c.as_ref()
            .map(|c| c.text().into_owned())
            .unwrap_or_default()
    };
    // Sizes only: measured in place, without a copy.
    let len_of = |c: &Option<MessageContent>| c.as_ref().map_or(0, MessageContent::text_len);
    let last_user = req.messages.iter().rposition(|m| m.role == "user");
    let mut parts: Vec<String> = Vec::new();
    let (include_system, history) = embed.map_or((false, 0), |e| (e.include_system, e.history));
    if include_system {
        parts.extend(
            req.messages
                .iter()
                .filter(|m| m.role == "system" || m.role == "developer")
                .map(|m| text_of(&m.content)),
        );
    }
    match last_user {
        Some(i) => {
            let start = i.saturating_sub(history);
            parts.extend(
                req.messages[start..=i]
                    .iter()
                    .filter(|m| m.role != "system" && m.role != "developer")
                    .map(|m| text_of(&m.content)),
            );
        }
        // No user message (unusual): route on the last message of any role.
        None => parts.extend(req.messages.last().map(|m| text_of(&m.content))),
    }
    let has_images = req.messages.iter().any(|m| {
        matches!(&m.content, Some(MessageContent::Parts(ps)) if ps.iter().any(|p| p.kind == "image_url" || p.kind == "input_image"))
    });
    let has_tools = ["tools", "functions"].iter().any(|k| {
        req.extra
            .get(*k)
            .and_then(|v| v.as_array())
            .is_some_and(|a| !a.is_empty())
    });
    let wants_json_schema = req
        .extra
        .get("response_format")
        .and_then(|r| r.get("type"))
        .and_then(|t| t.as_str())
        == Some("json_schema");
    // ~4 bytes per token is the usual English estimate; the real count needs the target's
    // own tokenizer, which the gateway does not have for remote models.
    let prompt_bytes: usize = req.messages.iter().map(|m| len_of(&m.content)).sum();
    let completion = req.max_completion_tokens.or(req.max_tokens).unwrap_or(0);
    Features {
        header_target: headers
            .get(TARGET_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        has_tools,
        has_images,
        wants_json_schema,
        needed_tokens: (prompt_bytes as u64).div_ceil(4) + completion,
        text: parts.join("\n"),
    }
}

/// Metrics for one routing decision.
pub fn record_decision(
    state: &crate::state::AppState,
    policy: &str,
    routed: &Routed,
    router: Option<&RouterRuntime>,
) {
    let m = &state.metrics;
    if let sluice_router::policy::Decision::Route {
        target,
        basis,
        score,
        ..
    } = &routed.decision
    {
        m.router_decisions
            .with_label_values(&[policy, target, basis.as_str()])
            .inc();
        if let Some(s) = score {
            let head = if matches!(basis, sluice_router::policy::Basis::Learned) {
                "learned"
            } else {
                "semantic"
            };
            m.router_score
                .with_label_values(&[policy, head])
                .observe(f64::from(*s));
        }
    } else {
        m.router_decisions
            .with_label_values(&[policy, "none", "overflow"])
            .inc();
    }
    if routed.overflowed {
        m.router_overflow.with_label_values(&[policy]).inc();
    }
    m.router_decision_duration
        .with_label_values(&[policy])
        .observe(routed.elapsed.as_secs_f64());
    if let Some(r) = router {
        m.router_queue_depth.set(r.embedder.queue_len() as i64);
    }
}

/// A decision with what it took to reach it.
pub struct Routed {
    pub decision: Decision,
    pub scores: Scores,
    pub elapsed: Duration,
    /// Batch the embedding ran in, when one was needed.
    pub batch_size: Option<usize>,
    pub overflowed: bool,
    /// The prompt's embedding: a cascade's head may read it, the quality loop keeps it.
    pub embedding: Option<Arc<Vec<f32>>>,
}

/// Decides for one request. Async: the embedding runs on the router's threads.
pub async fn decide(
    compiled: &CompiledPolicy,
    router: Option<&RouterRuntime>,
    features: &Features,
) -> Routed {
    let started = Instant::now();
    let p = &compiled.routing;
    let unscored = |decision, overflowed| Routed {
        decision,
        scores: Scores::default(),
        elapsed: started.elapsed(),
        batch_size: None,
        overflowed,
        embedding: None,
    };
    if let Some(decision) = policy::rules(p, features) {
        return unscored(decision, false);
    }
    if !p.needs_embedding() {
        return unscored(policy::decide(p, features, &Scores::default()), false);
    }
    let Some(router) = router else {
        // Config validation guarantees a router for non-static strategies.
        return unscored(policy::decide(p, features, &Scores::default()), false);
    };
    let result = router
        .embedder
        .embed(features.text.clone(), compiled.head.clone())
        .await;
    let mut embedding = None;
    let (scores, batch_size) = match result {
        Ok(Embedded {
            vector,
            learned,
            batch_size,
            ..
        }) => {
            let semantic = p
                .semantic
                .iter()
                .map(|r| r.similarity(&vector, compiled.aggregate))
                .collect();
            embedding = Some(Arc::new(vector));
            (Scores { learned, semantic }, Some(batch_size))
        }
        Err(RouterError::Overloaded { .. }) => return unscored(policy::overflow(p), true),
        Err(e) => {
            tracing::warn!(policy = %p.name, error = %e, "router failed; deciding without scores");
            (Scores::default(), None)
        }
    };
    let decision = policy::decide(p, features, &scores);
    Routed {
        decision,
        scores,
        elapsed: started.elapsed(),
        batch_size,
        overflowed: false,
        embedding,
    }
}

/// The ordered models to try for a decided target: the target, then the policy's
/// fallbacks (without repeating the target).
pub fn chain<'a>(
    config: &'a Config,
    policy: &'a PolicyConfig,
    target: &str,
    cascade: bool,
) -> Vec<&'a sluice_config::ModelConfig> {
    let mut names: Vec<&str> = vec![target];
    // A cascade's draft escalates to `strong` first.
    if let Some(s) = policy.strong.as_deref().filter(|_| cascade) {
        if s != target {
            names.push(s);
        }
    }
    for f in &policy.fallbacks {
        if !names.contains(&f.as_str()) {
            names.push(f);
        }
    }
    names
        .into_iter()
        .filter_map(|n| config.models.get(n))
        .collect()
}

/// The decision as `POST /v1/route` and `sluice route --json` report it.
///
/// `text` is the routed text: the features the head read are recomputed from it here, on
/// the explaining paths only, rather than kept for every routed request.
pub fn explain(
    policy: &str,
    compiled: &CompiledPolicy,
    config: &Config,
    routed: &Routed,
    text: &str,
) -> serde_json::Value {
    let semantic: serde_json::Map<String, serde_json::Value> = compiled
        .routing
        .semantic
        .iter()
        .zip(&routed.scores.semantic)
        .map(|(r, s)| (r.name.clone(), serde_json::json!(s)))
        .collect();
    let (target, basis, score, reason, rejected) = match &routed.decision {
        Decision::Route {
            target,
            basis,
            score,
            reason,
        } => (
            Some(target.as_str()),
            basis.as_str(),
            *score,
            reason.as_str(),
            false,
        ),
        Decision::Reject { reason } => (None, "overflow", None, reason.as_str(), true),
    };
    let chain: Vec<&str> = match (target, config.policies.get(policy)) {
        (Some(t), Some(pc)) => chain(config, pc, t, basis == "cascade")
            .iter()
            .map(|m| m.name.as_str())
            .collect(),
        _ => Vec::new(),
    };
    serde_json::json!({
        "policy": policy,
        "strategy": config.policies.get(policy).map(|p| p.strategy.name()),
        "target": target,
        "rejected": rejected,
        "basis": basis,
        "score": score,
        "reason": reason,
        "scores": {"learned": routed.scores.learned, "semantic": semantic},
        "signals": (compiled.head.is_some() && routed.scores.learned.is_some()).then(|| {
            sluice_router::features::NAMES
                .iter()
                .zip(sluice_router::features::prompt_features(text))
                .map(|(n, v)| ((*n).to_owned(), serde_json::json!(v)))
                .collect::<serde_json::Map<_, _>>()
        }),
        "chain": chain,
        "cascade": (basis == "cascade").then(|| compiled.cascade.as_ref().map(|c| serde_json::json!({
            "head": c.head.path,
            "threshold": c.threshold,
            "decide_after_tokens": c.checkpoint,
            "max_draft_ms": c.max_draft.as_millis() as u64,
        }))).flatten(),
        "decision_ms": routed.elapsed.as_secs_f64() * 1000.0,
        "batch_size": routed.batch_size,
    })
}
