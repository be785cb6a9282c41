//! The `kind: local` target: a decoder model run in-process by `sluice-local`'s scheduler,
//! answered in exactly the shapes an OpenAI upstream would use.
//!
//! Requests a local model cannot serve (tools, images, `n > 1`, a prompt beyond its
//! context) are normally routed elsewhere by the policy's rules; one that reaches it anyway
//! gets a clear 400 here, before anything is queued.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

use bytes::Bytes;
use futures_util::Stream;
use http::StatusCode;
use serde_json::{json, Value};
use sluice_api::chat::ChatCompletionRequest;
use sluice_api::completion::{ChatCompletion, ChunkWriter};
use sluice_api::{ErrorBody, MessageContent, Usage};
use sluice_config::LocalConfig;
use sluice_local::generate::{GenOutput, GenRequest};
use sluice_local::sampler::SamplingParams;
use sluice_local::scheduler::{Engine, EngineOptions, Event, StepReport};
use sluice_telemetry::Metrics;
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::models::locate;
use sluice_router::embedding::model_path;

/// A loaded local model and what the operator should know about it.
pub struct LocalTarget {
    pub config: Arc<LocalConfig>,
    pub engine: Engine,
    /// The folder actually served.
    pub dir: PathBuf,
    /// Set when the configured model was missing and the fallback is served instead:
    /// logged at start-up and shown in `/v1/models`.
    pub warning: Option<String>,
}

impl LocalTarget {
    /// Loads the model (or, when it is missing, the configured fallback) and starts its
    /// scheduler thread. Blocking.
    pub fn load(cfg: Arc<LocalConfig>, metrics: Arc<Metrics>) -> anyhow::Result<LocalTarget> {
        let name = cfg.name.clone();
        let primary = model_path(&cfg.model);
        let (dir, variant, warning) = if let Some(dir) = locate(&cfg.model, &cfg.variant) {
            (dir, cfg.variant.clone(), None)
        } else {
            let fetch = match &cfg.hub_id {
                Some(h) => {
                    format!("run `sluice models pull` to fetch {h} from the Hugging Face hub")
                }
                None => "run `scripts/setup.sh`, which links the models folder and derives the \
                         files made from it, or `sluice models pull --mirror DIR`"
                    .to_owned(),
            };
            let missing = format!(
                "providers.{name}.model: no '{}' model folder with {} at {} or {} ({fetch})",
                cfg.model,
                cfg.variant,
                primary.display(),
                sluice_router::embedding::cache_dir()
                    .join(&cfg.model)
                    .display(),
            );
            let Some(fb) = &cfg.fallback else {
                anyhow::bail!("{missing}");
            };
            let Some(fb_dir) = locate(fb, &cfg.fallback_variant) else {
                anyhow::bail!(
                    "{missing}; its fallback '{fb}' is missing too (no {} at {})",
                    cfg.fallback_variant,
                    model_path(fb).display()
                );
            };
            let random = if fb.contains("random") {
                " Its weights are random: its output is random text, not answers."
            } else {
                ""
            };
            let warning =
                format!("{missing}. Serving the fallback model '{fb}' in its place.{random}");
            (fb_dir, cfg.fallback_variant.clone(), Some(warning))
        };
        let threads = match cfg.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let provider = name.clone();
        let observer = Arc::new(move |r: StepReport| {
            if r.prefill {
                let hit = if r.reused_tokens > 0 { "hit" } else { "miss" };
                metrics
                    .local_time_to_first_token
                    .with_label_values(&[provider.as_str(), hit])
                    .observe((r.waited + r.took).as_secs_f64());
                metrics
                    .local_prefix_lookups
                    .with_label_values(&[provider.as_str(), hit])
                    .inc();
                metrics
                    .local_prompt_tokens
                    .with_label_values(&[&provider])
                    .inc_by(r.prompt_tokens as u64);
                metrics
                    .local_prefix_reused_tokens
                    .with_label_values(&[&provider])
                    .inc_by(r.reused_tokens as u64);
            } else {
                metrics
                    .local_batch_size
                    .with_label_values(&[&provider])
                    .observe(r.batch as f64);
                metrics
                    .local_step_duration
                    .with_label_values(&[&provider])
                    .observe(r.took.as_secs_f64());
            }
            metrics
                .local_generated_tokens
                .with_label_values(&[&provider])
                .inc_by(r.tokens as u64);
        });
        let engine = Engine::start(
            &dir,
            EngineOptions {
                variant,
                max_batch: cfg.max_batch,
                queue_depth: cfg.queue_depth,
                kv_budget_tokens: cfg.kv_budget_tokens,
                intra_threads: threads,
                prefix_cache_bytes: cfg.prefix_cache_mib << 20,
                observer: Some(observer),
            },
        )
        .map_err(|e| anyhow::anyhow!("providers.{name}: cannot load the local model: {e}"))?;
        if let Some(w) = &warning {
            tracing::warn!(provider = %name, "{w}");
        }
        tracing::info!(
            provider = %name,
            dir = %dir.display(),
            model_type = %engine.info.model_type,
            layers = engine.info.num_layers,
            context = engine.info.context_window,
            threads,
            "local model loaded"
        );
        Ok(LocalTarget {
            config: cfg,
            engine,
            dir,
            warning,
        })
    }

    pub fn context_window(&self) -> u64 {
        self.engine.info.context_window as u64
    }

    /// What `/v1/models` says about a model this target serves.
    pub fn describe(&self) -> Value {
        let mut v = json!({
            "kind": "local",
            "provider": self.config.name,
            "model_dir": self.dir.display().to_string(),
            "model_type": self.engine.info.model_type,
            "context_window": self.engine.info.context_window,
        });
        if let Some(w) = &self.warning {
            v["warning"] = Value::String(w.clone());
        }
        v
    }

    /// Refreshes the gauges a scrape reads.
    pub fn export_gauges(&self, metrics: &Metrics) {
        let l = [self.config.name.as_str()];
        metrics
            .local_queue_depth
            .with_label_values(&l)
            .set(self.engine.queue_len() as i64);
        let stats = &self.engine.stats;
        metrics
            .local_active
            .with_label_values(&l)
            .set(stats.active.load(std::sync::atomic::Ordering::Relaxed) as i64);
        metrics.local_prefix_cache_bytes.with_label_values(&l).set(
            stats
                .prefix_cache_bytes
                .load(std::sync::atomic::Ordering::Relaxed) as i64,
        );
    }

    /// Checks a request against what this model can do and turns it into a generation
    /// request: chat template, tokens, limits and sampling.
    pub fn prepare(
        &self,
        chat: &ChatCompletionRequest,
        model: &str,
    ) -> Result<GenRequest, ApiError> {
        let refuse = |param: &str, what: &str| {
            bad_request(
                format!("model '{model}' runs locally and does not support {what}; send this request to a model that does"),
                Some(param),
                Some("unsupported_parameter"),
            )
        };
        let x = &chat.extra;
        if x.get("tools").is_some_and(|t| !is_empty(t)) {
            return Err(refuse("tools", "tools"));
        }
        if x.get("functions").is_some_and(|t| !is_empty(t)) {
            return Err(refuse("functions", "function calling"));
        }
        if let Some(n) = x.get("n").filter(|n| !n.is_null()) {
            if n.as_u64() != Some(1) {
                return Err(refuse("n", "more than one choice (n)"));
            }
        }
        if x.get("logprobs").and_then(Value::as_bool) == Some(true) {
            return Err(refuse("logprobs", "logprobs"));
        }
        if let Some(rf) = x.get("response_format").and_then(|r| r.get("type")) {
            if rf != "text" {
                return Err(refuse(
                    "response_format",
                    "structured output (response_format)",
                ));
            }
        }
        let mut messages = Vec::with_capacity(chat.messages.len());
        for (i, m) in chat.messages.iter().enumerate() {
            if m.extra.get("tool_calls").is_some_and(|t| !is_empty(t)) || m.role == "tool" {
                return Err(refuse(&format!("messages[{i}]"), "tool calls"));
            }
            let content = match &m.content {
                None => String::new(),
                Some(MessageContent::Text(s)) => s.clone(),
                Some(MessageContent::Parts(parts)) => {
                    if let Some((j, p)) = parts.iter().enumerate().find(|(_, p)| p.kind != "text") {
                        return Err(refuse(
                            &format!("messages[{i}].content[{j}].type"),
                            &format!("'{}' content", p.kind),
                        ));
                    }
                    m.content
                        .as_ref()
                        .map(|c| c.text().into_owned())
                        .unwrap_or_default()
                }
            };
            let role = if m.role == "developer" {
                "system"
            } else {
                &m.role
            };
            let mut msg = json!({"role": role, "content": content});
            if let Some(name) = m.extra.get("name") {
                msg["name"] = name.clone();
            }
            messages.push(msg);
        }
        let prompt = self
            .engine
            .template
            .render(&messages, true, None)
            .map_err(|e| bad_request(format!("{e}"), Some("messages"), None))?;
        // No tokeniser turns more than MAX_BYTES_PER_TOKEN bytes of text into one token
        // in practice, so a prompt beyond this many bytes cannot fit the context: refuse it
        // before spending CPU on tokenising it.
        let ctx = self.engine.info.context_window;
        let byte_cap = ctx.saturating_mul(MAX_BYTES_PER_TOKEN);
        if prompt.len() > byte_cap {
            return Err(bad_request(
                format!(
                    "This model's maximum context length is {ctx} tokens. However, your messages are {} bytes, more than {ctx} tokens can hold. Please reduce the length of the messages.",
                    prompt.len()
                ),
                Some("messages"),
                Some("context_length_exceeded"),
            ));
        }
        let prompt_ids = self
            .engine
            .tokenizer
            .encode(prompt.as_str(), false)
            .map_err(|e| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorBody::new(
                        format!("local model '{model}' could not tokenize the prompt: {e}"),
                        "server_error",
                        None,
                        None,
                    ),
                )
            })?
            .get_ids()
            .to_vec();
        if prompt_ids.len() >= ctx {
            return Err(bad_request(
                format!(
                    "This model's maximum context length is {ctx} tokens. However, your messages resulted in {} tokens. Please reduce the length of the messages.",
                    prompt_ids.len()
                ),
                Some("messages"),
                Some("context_length_exceeded"),
            ));
        }
        let (max_param, requested) = match (chat.max_completion_tokens, chat.max_tokens) {
            (Some(n), _) => ("max_completion_tokens", Some(n)),
            (None, Some(n)) => ("max_tokens", Some(n)),
            (None, None) => ("max_tokens", None),
        };
        if requested == Some(0) {
            return Err(bad_request(
                format!("Invalid '{max_param}': integer below minimum value. Expected a value >= 1, but got 0 instead."),
                Some(max_param),
                Some("integer_below_min_value"),
            ));
        }
        let max_tokens = requested.map_or(self.config.default_max_tokens, |n| {
            usize::try_from(n).unwrap_or(usize::MAX)
        });
        let sampling = self.sampling(chat)?;
        let stop = match x.get("stop") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) if a.len() <= 16 && a.iter().all(Value::is_string) => a
                .iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect(),
            Some(_) => {
                return Err(bad_request(
                    "Invalid 'stop': expected a string or an array of at most 16 strings.",
                    Some("stop"),
                    None,
                ))
            }
        };
        Ok(GenRequest {
            prompt_ids,
            max_tokens,
            sampling,
            stop,
            signals: None,
        })
    }

    /// OpenAI's sampling parameters (and the common `top_k` / `repetition_penalty`
    /// extensions), checked against OpenAI's ranges. Unset ones take the model's
    /// `generation_config.json` values, then OpenAI's defaults.
    fn sampling(&self, chat: &ChatCompletionRequest) -> Result<SamplingParams, ApiError> {
        let x = &chat.extra;
        let g = &self.engine.info.generation;
        let num = |name: &str, lo: f64, hi: f64| -> Result<Option<f32>, ApiError> {
            match x.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => match v.as_f64() {
                    Some(f) if (lo..=hi).contains(&f) => Ok(Some(f as f32)),
                    _ => Err(bad_request(
                        format!("Invalid '{name}': expected a number from {lo} to {hi}, got {v}."),
                        Some(name),
                        None,
                    )),
                },
            }
        };
        let temperature = num("temperature", 0.0, 2.0)?
            .or(if g.do_sample {
                g.temperature
            } else {
                Some(0.0)
            })
            .unwrap_or(1.0);
        let top_p = num("top_p", 0.0, 1.0)?.or(g.top_p).unwrap_or(1.0);
        let top_k = num("top_k", 0.0, 1e9)?
            .map(|k| k as usize)
            .or(g.top_k)
            .unwrap_or(0);
        let repetition_penalty = num("repetition_penalty", 0.01, 100.0)?
            .or(g.repetition_penalty)
            .unwrap_or(1.0);
        let seed = match x.get("seed") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_i64()
                    .map(|s| s as u64)
                    .or_else(|| v.as_u64())
                    .ok_or_else(|| {
                        bad_request("Invalid 'seed': expected an integer.", Some("seed"), None)
                    })?,
            ),
        };
        Ok(SamplingParams {
            temperature,
            top_p,
            top_k,
            seed,
            presence_penalty: num("presence_penalty", -2.0, 2.0)?.unwrap_or(0.0),
            frequency_penalty: num("frequency_penalty", -2.0, 2.0)?.unwrap_or(0.0),
            repetition_penalty,
        })
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn bad_request(message: impl Into<String>, param: Option<&str>, code: Option<&str>) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        ErrorBody::invalid_request(message, param, code),
    )
}

pub fn completion_id() -> String {
    format!("chatcmpl-{}", uuid::Uuid::new_v4().simple())
}

pub fn usage_of(out: &GenOutput) -> Usage {
    Usage {
        prompt_tokens: out.prompt_tokens as u64,
        completion_tokens: out.completion_tokens as u64,
        total_tokens: (out.prompt_tokens + out.completion_tokens) as u64,
        prompt_tokens_details: None,
    }
}

/// Waits for a whole generation. `Err` when the model failed or shut down mid-way.
pub async fn collect(mut rx: mpsc::Receiver<Event>) -> Result<GenOutput, String> {
    loop {
        match rx.recv().await {
            Some(Event::Text { .. } | Event::Checkpoint(_)) => {}
            Some(Event::Done(out)) => return Ok(out),
            Some(Event::Failed(e)) => return Err(e.to_string()),
            None => return Err("the local model stopped before finishing".into()),
        }
    }
}

pub fn completion_body(id: &str, model: &str, out: &GenOutput) -> Bytes {
    let c = ChatCompletion::new(
        id,
        crate::unix_now(),
        model,
        out.text.clone(),
        out.finish_reason.as_str(),
        usage_of(out),
    );
    Bytes::from(serde_json::to_vec(&c).unwrap_or_default())
}

/// How a local stream ended, for accounting.
#[derive(Debug)]
pub struct LocalEnd {
    pub outcome: &'static str,
    /// Exact: the prompt's tokens and the completion tokens generated so far.
    pub usage: Usage,
    pub first_token_at: Option<Instant>,
    pub content_bytes: u64,
    /// The whole generated text, when the generation completed.
    pub text: String,
}

/// The SSE body of a local generation: a role chunk, one chunk per piece of text as the
/// model produces it, a finish chunk, the usage chunk when asked for, then `[DONE]`.
/// `on_end` runs exactly once, also when the client goes away (the stream is dropped, the
/// model's receiver with it, and the scheduler frees the slot at its next step).
pub struct LocalStream {
    rx: mpsc::Receiver<Event>,
    writer: ChunkWriter,
    prompt_tokens: u64,
    tokens: u64,
    content_bytes: u64,
    first_token_at: Option<Instant>,
    text: String,
    started: bool,
    finished: bool,
    pending: Vec<Bytes>,
    /// Text generated before the stream started (a cascade's accepted draft), sent first.
    held: std::collections::VecDeque<String>,
    on_end: Option<Box<dyn FnOnce(LocalEnd) + Send>>,
}

impl LocalStream {
    pub fn new(
        rx: mpsc::Receiver<Event>,
        writer: ChunkWriter,
        prompt_tokens: usize,
        on_end: impl FnOnce(LocalEnd) + Send + 'static,
    ) -> LocalStream {
        LocalStream {
            rx,
            writer,
            prompt_tokens: prompt_tokens as u64,
            tokens: 0,
            content_bytes: 0,
            first_token_at: None,
            text: String::new(),
            started: false,
            finished: false,
            pending: Vec::new(),
            held: std::collections::VecDeque::new(),
            on_end: Some(Box::new(on_end)),
        }
    }

    /// Text already generated (and held back) before the stream, sent right after the role
    /// chunk; `tokens` is how many completion tokens it took.
    pub fn with_held(mut self, held: Vec<String>, tokens: usize) -> LocalStream {
        self.tokens = tokens as u64;
        self.held = held.into();
        self
    }

    fn end(&mut self, outcome: &'static str) {
        if let Some(f) = self.on_end.take() {
            f(LocalEnd {
                outcome,
                usage: Usage {
                    prompt_tokens: self.prompt_tokens,
                    completion_tokens: self.tokens,
                    total_tokens: self.prompt_tokens + self.tokens,
                    prompt_tokens_details: None,
                },
                first_token_at: self.first_token_at,
                content_bytes: self.content_bytes,
                text: std::mem::take(&mut self.text),
            });
        }
    }

    fn frame<T: serde::Serialize>(v: &T) -> Bytes {
        sluice_api::sse::frame_data(&serde_json::to_vec(v).unwrap_or_default())
    }
}

impl Stream for LocalStream {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if !this.started {
            this.started = true;
            return Poll::Ready(Some(Ok(Self::frame(&this.writer.role()))));
        }
        if let Some(text) = this.held.pop_front() {
            this.first_token_at.get_or_insert_with(Instant::now);
            this.content_bytes += text.len() as u64;
            return Poll::Ready(Some(Ok(Self::frame(&this.writer.content(&text)))));
        }
        loop {
            if let Some(b) = this.pending.pop() {
                return Poll::Ready(Some(Ok(b)));
            }
            if this.finished {
                return Poll::Ready(None);
            }
            match this.rx.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Event::Text { text, tokens })) => {
                    this.first_token_at.get_or_insert_with(Instant::now);
                    this.tokens = tokens as u64;
                    this.content_bytes += text.len() as u64;
                    return Poll::Ready(Some(Ok(Self::frame(&this.writer.content(&text)))));
                }
                Poll::Ready(Some(Event::Done(mut out))) => {
                    this.tokens = out.completion_tokens as u64;
                    this.text = std::mem::take(&mut out.text);
                    this.finished = true;
                    // Popped from the back: pushed in reverse order.
                    this.pending.push(Bytes::from_static(b"data: [DONE]\n\n"));
                    if let Some(u) = this.writer.usage(usage_of(&out)) {
                        this.pending.push(Self::frame(&u));
                    }
                    this.pending
                        .push(Self::frame(&this.writer.finish(out.finish_reason.as_str())));
                    this.end("completed");
                }
                Poll::Ready(Some(Event::Checkpoint(_))) => {}
                Poll::Ready(Some(Event::Failed(e))) => {
                    this.fail(&e.to_string());
                }
                Poll::Ready(None) => {
                    this.fail("the local model stopped before finishing");
                }
            }
        }
    }
}

impl LocalStream {
    /// Ends the stream with one OpenAI-shaped error event, as the upstream relay does.
    fn fail(&mut self, why: &str) {
        tracing::warn!(error = %why, "local generation failed mid-stream");
        self.finished = true;
        let body = ErrorBody::new(
            format!("the local model failed mid-stream: {why}"),
            "server_error",
            None,
            Some("local_model_error"),
        );
        self.pending.push(Bytes::from_static(b"data: [DONE]\n\n"));
        self.pending
            .push(sluice_api::sse::frame_data(&body.to_json()));
        self.end("stream_failed");
    }
}

impl Drop for LocalStream {
    fn drop(&mut self) {
        // Dropped before the end: the client left. The receiver goes with us, so the
        // scheduler stops this sequence at its next step.
        self.end("client_gone");
    }
}

/// A generous bound on the text one token stands for (English averages about 4 bytes).
pub const MAX_BYTES_PER_TOKEN: usize = 32;

/// How long a client is told to wait before retrying a full local queue.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

pub fn overloaded(model: &str, why: &str) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorBody::new(
            format!("local model '{model}' is at capacity ({why}); retry shortly"),
            "server_error",
            None,
            Some("local_model_overloaded"),
        ),
    );
    if let Ok(v) = http::HeaderValue::from_str(&RETRY_AFTER.as_secs().to_string()) {
        e.headers.insert(http::header::RETRY_AFTER, v);
    }
    e
}

pub fn too_large(model: &str, err: &sluice_local::scheduler::SubmitError) -> ApiError {
    bad_request(
        format!("local model '{model}' cannot take this request: {err}; lower max_tokens or shorten the messages"),
        Some("max_tokens"),
        Some("context_length_exceeded"),
    )
}
