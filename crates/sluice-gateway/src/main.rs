//! The `sluice` command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use sluice_config::Source;
use tracing_subscriber::EnvFilter;

/// Every request allocates and frees many small buffers (headers, JSON, body chunks) across
/// threads; mimalloc cut the gateway's CPU per request measurably against glibc malloc
/// (see the README's benchmark section).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "An OpenAI-compatible gateway that routes each request to a local or a frontier model"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve {
        /// YAML config file; without it, the default config built into the binary. The
        /// file is watched and reloaded live (also on SIGHUP).
        #[arg(long, short, env = "SLUICE_CONFIG")]
        config: Option<PathBuf>,
        /// Address to listen on.
        #[arg(long, short, env = "SLUICE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Address of the `/metrics` listener (overrides `server.metrics_listen`; `off` for
        /// none). Keep it off the public network: the metrics name tenants and keys.
        #[arg(long, env = "SLUICE_METRICS_LISTEN", value_parser = parse_metrics_listen)]
        metrics_listen: Option<MetricsListen>,
        /// Do not watch the config file; reload only on SIGHUP (for deployments that signal
        /// after updating the file themselves).
        #[arg(long)]
        no_watch: bool,
        /// Log line format.
        #[arg(long, env = "SLUICE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
        log_format: LogFormat,
        /// Log filter (tracing-subscriber syntax); RUST_LOG wins when set.
        #[arg(long, env = "SLUICE_LOG_LEVEL", default_value = "info")]
        log_level: String,
    },
    /// Show how a policy would route a prompt (every head's score and the reason), without
    /// calling any model: try a YAML edit before saving it.
    Route {
        /// YAML config file; without it, the embedded default.
        #[arg(long, short, env = "SLUICE_CONFIG")]
        config: Option<PathBuf>,
        /// The model name a client would ask for.
        #[arg(long, short, default_value = "auto")]
        model: String,
        /// A system prompt to include.
        #[arg(long)]
        system: Option<String>,
        /// Value for the x-sluice-target header.
        #[arg(long)]
        target_header: Option<String>,
        /// Print the decision as JSON (the `POST /v1/route` body).
        #[arg(long)]
        json: bool,
        /// The user message.
        prompt: String,
    },
    /// Run one chat turn on a local model folder (chat template, sampler, KV cache) and print
    /// the completion as it is generated; usage goes to stderr. Try a model before putting
    /// it in the config.
    Generate {
        /// Model folder (Hugging Face / Optimum ONNX layout).
        #[arg(long)]
        model: PathBuf,
        /// ONNX file in the folder (root or onnx/).
        #[arg(long, default_value = "model.onnx")]
        variant: String,
        #[arg(long, default_value_t = 256)]
        max_tokens: usize,
        /// 0 is greedy.
        #[arg(long, default_value_t = 0.0)]
        temperature: f32,
        #[arg(long, default_value_t = 1.0)]
        top_p: f32,
        #[arg(long)]
        seed: Option<u64>,
        /// A system message.
        #[arg(long)]
        system: Option<String>,
        /// Stop sequences (repeatable).
        #[arg(long)]
        stop: Vec<String>,
        /// The user message.
        prompt: String,
    },
    /// Make sure the model folders the config names are in the models directory
    /// (SLUICE_MODELS_DIR, default ./models): linked from a local mirror, or downloaded from
    /// the Hugging Face hub with a progress bar.
    Models {
        #[command(subcommand)]
        action: ModelsAction,
    },
    /// What routing saved and what it cost in quality, from the outcome store.
    Quality {
        #[command(subcommand)]
        action: QualityAction,
    },
    /// Gateway API keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Validate a config file (with SLUICE__… environment overrides applied) and list every
    /// error found, each with its field path. Exits 1 when there is any.
    CheckConfig {
        /// The YAML file to check.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum QualityAction {
    /// Per policy and day: the weak model's win rate in judged pairs with its 95%
    /// interval, the strong share, cost, savings against the baseline, shadow spend and
    /// feedback.
    Report {
        /// YAML config whose `outcomes.store` to read; without it, the embedded default.
        #[arg(long, short, env = "SLUICE_CONFIG")]
        config: Option<PathBuf>,
        /// The store itself (`sqlite:<path>` or a `postgres://` URL), instead of the
        /// config's.
        #[arg(long)]
        store: Option<String>,
        /// From this day (2026-11-01) or this long ago (7d, 36h).
        #[arg(long, default_value = "7d")]
        since: String,
    },
}

#[derive(Subcommand)]
enum KeysAction {
    /// Make a new key: prints the plain key once (give it to the client) and the config
    /// entry holding only its SHA-256 (paste it under `keys:`).
    Create {
        /// The key's id in the config (`keys.<id>`).
        #[arg(long)]
        id: String,
        /// Tenant label for metrics; defaults to the id.
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Subcommand)]
enum ModelsAction {
    /// Fetch what is missing.
    Pull {
        /// YAML config file; without it, the embedded default.
        #[arg(long, short, env = "SLUICE_CONFIG")]
        config: Option<PathBuf>,
        /// A folder holding model folders by name, used instead of downloading.
        #[arg(long, env = "SLUICE_MODELS_MIRROR")]
        mirror: Option<PathBuf>,
        /// Hub endpoint (default https://huggingface.co, or HF_ENDPOINT).
        #[arg(long)]
        endpoint: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { file } => check_config(file),
        Command::Generate {
            model,
            variant,
            max_tokens,
            temperature,
            top_p,
            seed,
            system,
            stop,
            prompt,
        } => {
            init_logging(LogFormat::Human, "warn");
            let sampling = sluice_local::sampler::SamplingParams {
                temperature,
                top_p,
                seed,
                ..Default::default()
            };
            match generate(
                &model, &variant, max_tokens, sampling, system, stop, &prompt,
            ) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("sluice generate: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Keys {
            action: KeysAction::Create { id, tenant },
        } => keys_create(&id, tenant),
        Command::Quality {
            action:
                QualityAction::Report {
                    config,
                    store,
                    since,
                },
        } => {
            init_logging(LogFormat::Human, "warn");
            match quality_report(config, store, &since) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("sluice quality report: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Models {
            action:
                ModelsAction::Pull {
                    config,
                    mirror,
                    endpoint,
                },
        } => {
            init_logging(LogFormat::Human, "warn");
            match models_pull(config, mirror, endpoint) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("sluice models pull: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Route {
            config,
            model,
            system,
            target_header,
            json,
            prompt,
        } => {
            init_logging(LogFormat::Human, "warn");
            match route(config, model, system, target_header, json, prompt) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("sluice route: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Serve {
            config,
            listen,
            metrics_listen,
            no_watch,
            log_format,
            log_level,
        } => {
            init_logging(log_format, &log_level);
            let source = config.map_or(Source::Embedded, Source::File);
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("sluice: cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(sluice_gateway::server::serve(
                sluice_gateway::server::ServeOptions {
                    listen,
                    metrics_listen: metrics_listen.map(|m| m.0),
                    source,
                    watch: !no_watch,
                },
            )) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "sluice stopped");
                    eprintln!("sluice: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

#[allow(clippy::print_stdout)]
fn check_config(file: PathBuf) -> ExitCode {
    let source = Source::File(file);
    match sluice_config::load(&source) {
        Ok(cfg) => {
            println!(
                "ok: {} ({} providers, {} local, {} models, {} policies)",
                source.name(),
                cfg.providers.len(),
                cfg.locals.len(),
                cfg.models.len(),
                cfg.policies.len()
            );
            for p in cfg.providers.values() {
                if let Some(var) = &p.api_key_env {
                    if std::env::var_os(var).is_none() {
                        println!(
                            "note: providers.{}.api_key_env: {var} is not set in this environment",
                            p.name
                        );
                    }
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

#[allow(clippy::print_stdout)]
fn route(
    config: Option<PathBuf>,
    model: String,
    system: Option<String>,
    target_header: Option<String>,
    json: bool,
    prompt: String,
) -> anyhow::Result<()> {
    use sluice_gateway::{routing, state};
    let source = config.map_or(Source::Embedded, Source::File);
    let cfg = std::sync::Arc::new(sluice_config::load(&source)?);
    let ctx = state::BuildContext::new(
        &source,
        std::sync::Arc::new(sluice_telemetry::Metrics::new()?),
    );
    let rt = state::Runtime::build(cfg.clone(), None, &ctx)?;
    if cfg.models.contains_key(&model) && !cfg.policies.contains_key(&model) {
        println!("{model} is a model, not a policy: requests for it go to it directly");
        return Ok(());
    }
    let mut messages = Vec::new();
    if let Some(s) = system {
        messages.push(serde_json::json!({"role": "system", "content": s}));
    }
    messages.push(serde_json::json!({"role": "user", "content": prompt}));
    let body = serde_json::json!({"model": model, "messages": messages});
    let mut req = http::Request::post("/v1/route")
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(body.to_string()))?;
    if let Some(t) = target_header {
        req.headers_mut()
            .insert(routing::TARGET_HEADER, http::HeaderValue::from_str(&t)?);
    }
    // The operator at the console: no key, no limits on what may be asked.
    req.extensions_mut()
        .insert(sluice_gateway::layers::auth::Who(None));
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // The same layers and code as `POST /v1/route`, in process.
    let v: serde_json::Value = tokio_rt.block_on(async {
        let app = state::AppState::new(rt, source.clone(), ctx)?;
        let resp = tower::ServiceExt::oneshot(sluice_gateway::stack::router(app), req).await?;
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await?;
        let v: serde_json::Value = serde_json::from_slice(&bytes)?;
        if !status.is_success() {
            anyhow::bail!(
                "{}",
                v["error"]["message"].as_str().unwrap_or("routing failed")
            );
        }
        anyhow::Ok(v)
    })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let s = |k: &str| {
        v[k].as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| v[k].to_string())
    };
    println!("policy:   {} ({})", s("policy"), s("strategy"));
    println!(
        "target:   {}",
        if v["rejected"] == true {
            "rejected (503)".into()
        } else {
            s("target")
        }
    );
    println!("reason:   {}", s("reason"));
    if let Some(l) = v["scores"]["learned"].as_f64() {
        println!("learned:  {l:.6}");
    }
    if let Some(sig) = v["signals"].as_object() {
        let parts: Vec<String> = sig
            .iter()
            .map(|(k, x)| format!("{k}={:.3}", x.as_f64().unwrap_or(f64::NAN)))
            .collect();
        println!("signals:  {}", parts.join("  "));
    }
    if let Some(sem) = v["scores"]["semantic"]
        .as_object()
        .filter(|m| !m.is_empty())
    {
        let parts: Vec<String> = sem
            .iter()
            .map(|(k, x)| format!("{k}={:.4}", x.as_f64().unwrap_or(f64::NAN)))
            .collect();
        println!("semantic: {}", parts.join("  "));
    }
    let chain: Vec<&str> = v["chain"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
        .unwrap_or_default();
    println!("chain:    {}", chain.join(" -> "));
    println!(
        "took:     {:.2} ms",
        v["decision_ms"].as_f64().unwrap_or(0.0)
    );
    Ok(())
}

#[allow(clippy::print_stdout)]
fn models_pull(
    config: Option<PathBuf>,
    mirror: Option<PathBuf>,
    endpoint: Option<String>,
) -> anyhow::Result<()> {
    let source = config.map_or(Source::Embedded, Source::File);
    let cfg = sluice_config::load(&source)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    for line in rt.block_on(sluice_gateway::models::pull(
        &cfg,
        endpoint,
        mirror.as_deref(),
        progress,
    ))? {
        println!("{line}");
    }
    Ok(())
}

/// Prints a new key once, and the config entry that holds only its hash.
#[allow(clippy::print_stdout)]
fn keys_create(id: &str, tenant: Option<String>) -> ExitCode {
    let key = sluice_gateway::auth::generate_key();
    let hash = sluice_gateway::auth::hex(&sluice_gateway::auth::hash_key(&key));
    let tenant = tenant.unwrap_or_else(|| id.to_owned());
    println!("key (shown once; the gateway stores only its hash):\n  {key}\n");
    println!("config entry:\nkeys:\n  {id}:\n    hash: sha256:{hash}\n    tenant: {tenant}");
    ExitCode::SUCCESS
}

/// One chat turn through the same path the gateway uses for `kind: local` targets: chat
/// template, the batching scheduler on its own thread, the sampler, streamed text.
#[allow(clippy::print_stdout)]
fn generate(
    dir: &std::path::Path,
    variant: &str,
    max_tokens: usize,
    sampling: sluice_local::sampler::SamplingParams,
    system: Option<String>,
    stop: Vec<String>,
    prompt: &str,
) -> anyhow::Result<()> {
    use sluice_local::scheduler::{Engine, EngineOptions, Event};
    use std::io::Write;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let engine = Engine::start(
        dir,
        EngineOptions {
            variant: variant.to_owned(),
            max_batch: 1,
            queue_depth: 1,
            kv_budget_tokens: usize::MAX,
            intra_threads: threads,
            prefix_cache_bytes: 0,
            observer: None,
        },
    )?;
    let mut messages = Vec::new();
    if let Some(s) = system {
        messages.push(serde_json::json!({"role": "system", "content": s}));
    }
    messages.push(serde_json::json!({"role": "user", "content": prompt}));
    let rendered = engine.template.render(&messages, true, None)?;
    let prompt_ids = engine
        .tokenizer
        .encode(rendered.as_str(), false)
        .map_err(|e| anyhow::anyhow!("tokenizing the prompt: {e}"))?
        .get_ids()
        .to_vec();
    let req = sluice_local::generate::GenRequest {
        prompt_ids,
        max_tokens,
        sampling,
        stop,
        signals: None,
    };
    let started = std::time::Instant::now();
    let mut rx = engine.submit(req).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut out = std::io::stdout().lock();
    let result = loop {
        match rx.blocking_recv() {
            Some(Event::Text { text, .. }) => {
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
            }
            Some(Event::Done(r)) => break r,
            Some(Event::Checkpoint(_)) => {}
            Some(Event::Failed(e)) => return Err(e.into()),
            None => anyhow::bail!("the model stopped before finishing"),
        }
    };
    println!();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "usage: prompt_tokens={} completion_tokens={} total_tokens={} finish_reason={} ({:.1} tokens/s)",
        result.prompt_tokens,
        result.completion_tokens,
        result.prompt_tokens + result.completion_tokens,
        result.finish_reason.as_str(),
        result.completion_tokens as f64 / secs.max(1e-9)
    );
    Ok(())
}

/// `--metrics-listen`: an address, or `off`.
#[derive(Debug, Clone, Copy)]
struct MetricsListen(Option<SocketAddr>);

fn parse_metrics_listen(s: &str) -> Result<MetricsListen, String> {
    sluice_config::parse_listen_or_off(s).map(MetricsListen)
}

#[allow(clippy::print_stdout)]
fn quality_report(
    config: Option<PathBuf>,
    store: Option<String>,
    since: &str,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let (url, base) = match store {
        Some(url) => (url, PathBuf::from(".")),
        None => {
            let source = config.map_or(Source::Embedded, Source::File);
            let cfg = sluice_config::load(&source)?;
            let outcomes = cfg
                .outcomes
                .context("the config has no `outcomes` section: pass --store sqlite:<path> or a postgres:// URL")?;
            let base = match &source {
                Source::File(p) => p.parent().map(PathBuf::from).unwrap_or_default(),
                Source::Embedded => PathBuf::from("."),
            };
            let url = match outcomes.store {
                sluice_config::StoreUrl::Sqlite(p) => format!("sqlite:{p}"),
                sluice_config::StoreUrl::Postgres(u) => u,
            };
            (url, base)
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let since_ms = sluice_gateway::quality::report::parse_since(since, now)
        .map_err(|e| anyhow::anyhow!("--since: {e}"))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let rows = rt.block_on(async {
        let store = sluice_outcomes::Store::open(&url, &base).await?;
        store.report(since_ms).await
    })?;
    print!("{}", sluice_gateway::quality::report::render(&rows));
    Ok(())
}
