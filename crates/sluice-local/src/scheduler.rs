//! Continuous batching on a dedicated thread.
//!
//! Requests wait in a bounded admission queue (full → [`SubmitError::Overloaded`] at once,
//! so the policy's overflow rule applies). The worker keeps one running batch: between two
//! decode steps, newcomers are prefilled on their own and join, and finished or cancelled
//! sequences (their receiver dropped) leave. All rows then decode one token together. The
//! batch's KV cache is one `[batch, kv_heads, time, head_dim]` tensor per layer, left-padded
//! (the attention mask hides padding, each row keeps its own positions); it is re-packed only
//! when membership changes, otherwise each step's `present.*` outputs are fed straight back.
//!
//! Memory is bounded: every admitted sequence reserves `prompt + max_tokens` tokens of a
//! fixed KV budget; a request larger than the whole budget is refused at submission, and
//! others wait in the queue until enough is free.
//!
//! A newcomer's prefill first asks the [`PrefixCache`] for the KV of the longest run of
//! leading tokens it shares with a prompt prefilled recently, and runs only the rest; its own
//! prompt's KV then goes into the cache (bounded in bytes, apart from the KV budget).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use ort::value::{DynValue, Tensor};
use tokio::sync::mpsc;

use crate::generate::{FinishReason, GenOutput, GenRequest, Generator, SeqState};
use crate::model::DecoderInfo;
use crate::prefix::PrefixCache;
use crate::signals::Summary;
use crate::template::ChatTemplate;
use crate::{infer_err, LocalError};

/// One forward pass of the worker, reported for metrics.
#[derive(Debug, Clone, Copy)]
pub struct StepReport {
    /// A newcomer's prompt (batch of one) rather than a batched decode step.
    pub prefill: bool,
    pub batch: usize,
    pub took: std::time::Duration,
    /// Tokens sampled by this pass.
    pub tokens: usize,
    /// For a prefill: the prompt's tokens, and how many of them came from the prefix cache.
    pub prompt_tokens: usize,
    pub reused_tokens: usize,
    /// For a prefill: how long the request waited in the queue before it.
    pub waited: std::time::Duration,
}

/// Called after every forward pass; runs on the model thread, so keep it cheap.
pub type StepObserver = Arc<dyn Fn(StepReport) + Send + Sync>;

#[derive(Clone)]
pub struct EngineOptions {
    pub variant: String,
    pub max_batch: usize,
    pub queue_depth: usize,
    /// Tokens of KV cache all running sequences may hold together.
    pub kv_budget_tokens: usize,
    pub intra_threads: usize,
    /// Bytes of KV the prefix cache may keep for prompts seen recently (0 = off).
    pub prefix_cache_bytes: usize,
    pub observer: Option<StepObserver>,
}

impl std::fmt::Debug for EngineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineOptions")
            .field("variant", &self.variant)
            .field("max_batch", &self.max_batch)
            .field("queue_depth", &self.queue_depth)
            .field("kv_budget_tokens", &self.kv_budget_tokens)
            .field("intra_threads", &self.intra_threads)
            .field("prefix_cache_bytes", &self.prefix_cache_bytes)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub enum Event {
    /// Text that became final (never broken UTF-8, never part of a stop sequence), and the
    /// completion tokens generated so far (so a cancelled request is still metered exactly).
    Text {
        text: String,
        tokens: usize,
    },
    /// The request's confidence at its [`checkpoint`](crate::generate::SignalOptions),
    /// sent once, before the text generated after it (or before `Done` if the sequence ended
    /// first).
    Checkpoint(Summary),
    Done(GenOutput),
    Failed(LocalError),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    #[error("the local model's queue is full ({0} waiting)")]
    Overloaded(usize),
    #[error("request needs {needed} tokens of KV cache; the local model's budget is {budget}")]
    TooLarge { needed: usize, budget: usize },
    #[error("the local model has shut down")]
    Closed,
}

/// Counters for tests and metrics.
#[derive(Debug, Default)]
pub struct EngineStats {
    pub active: AtomicUsize,
    pub steps: AtomicUsize,
    pub max_batch_seen: AtomicUsize,
    pub tokens_generated: AtomicUsize,
    /// Prefills that took leading tokens from the prefix cache, and how many tokens.
    pub prefix_hits: AtomicUsize,
    pub prefix_tokens_reused: AtomicUsize,
    /// Bytes the prefix cache holds now.
    pub prefix_cache_bytes: AtomicUsize,
}

/// What a sequence's generated text goes out through: a `Text` event carrying the
/// completion tokens so far; `false` once the receiver is gone (the request is cancelled).
/// The channel holds one event per token the request may generate and two more, so a
/// sequence never outgrows it; were it full all the same, the sequence is stopped rather
/// than the worker blocked.
fn text_sender(events: &mpsc::Sender<Event>, tokens: usize) -> impl FnMut(&str) -> bool + '_ {
    move |text: &str| {
        events
            .try_send(Event::Text {
                text: text.to_owned(),
                tokens,
            })
            .is_ok()
    }
}

/// Events one request can produce: a text piece per generated token, a final flush of the
/// detokeniser, a checkpoint, and `Done` or `Failed`.
pub fn event_capacity(max_tokens: usize) -> usize {
    max_tokens.saturating_add(4)
}

/// Sends the sequence's checkpoint summary if it is due.
fn checkpoint(seq: &mut SeqState, events: &mpsc::Sender<Event>, done: Option<FinishReason>) {
    if let Some(s) = seq.take_checkpoint(done) {
        let _ = events.try_send(Event::Checkpoint(s));
    }
}

struct Job {
    req: GenRequest,
    events: mpsc::Sender<Event>,
    submitted: std::time::Instant,
}

/// Handle to a model running on its own thread. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    tx: Sender<Job>,
    pub info: DecoderInfo,
    pub tokenizer: tokenizers::Tokenizer,
    pub template: Arc<ChatTemplate>,
    pub stats: Arc<EngineStats>,
    opts: EngineOptions,
}

impl Engine {
    /// Loads the model (failing with the loader's message) and starts its thread.
    pub fn start(dir: &Path, opts: EngineOptions) -> Result<Engine, LocalError> {
        let generator = Generator::load(dir, &opts.variant, opts.intra_threads)?;
        let info = generator.info.clone();
        let tokenizer = generator.tokenizer.clone();
        let template = Arc::new(ChatTemplate::from_model_dir(dir)?);
        let (tx, rx) = crossbeam_channel::bounded(opts.queue_depth.max(1));
        let stats = Arc::new(EngineStats::default());
        let worker_stats = stats.clone();
        let o = opts.clone();
        std::thread::Builder::new()
            .name("sluice-local".into())
            .spawn(move || {
                if let Err(e) = Worker::new(generator, o, worker_stats).run(rx) {
                    tracing::error!(error = %e, "local model worker stopped");
                }
            })
            .map_err(|e| {
                LocalError::Inference(format!("cannot start the local model thread: {e}"))
            })?;
        Ok(Engine {
            tx,
            info,
            tokenizer,
            template,
            stats,
            opts,
        })
    }

    pub fn queue_len(&self) -> usize {
        self.tx.len()
    }

    /// Queues a request; events (text pieces, then `Done`) arrive on the receiver. Dropping
    /// the receiver cancels the request at the next step.
    pub fn submit(&self, req: GenRequest) -> Result<mpsc::Receiver<Event>, SubmitError> {
        let needed = req.prompt_ids.len() + req.max_tokens.min(self.info.context_window);
        if needed > self.opts.kv_budget_tokens {
            return Err(SubmitError::TooLarge {
                needed,
                budget: self.opts.kv_budget_tokens,
            });
        }
        let cap = event_capacity(req.max_tokens.min(self.info.context_window));
        let (events, rx) = mpsc::channel(cap);
        let job = Job {
            req,
            events,
            submitted: std::time::Instant::now(),
        };
        match self.tx.try_send(job) {
            Ok(()) => Ok(rx),
            Err(TrySendError::Full(_)) => Err(SubmitError::Overloaded(self.opts.queue_depth)),
            Err(TrySendError::Disconnected(_)) => Err(SubmitError::Closed),
        }
    }
}

struct Row {
    seq: SeqState,
    events: mpsc::Sender<Event>,
    /// KV columns that hold real tokens (the rightmost ones).
    valid: usize,
    reserved: usize,
}

struct Worker {
    g: Generator,
    opts: EngineOptions,
    stats: Arc<EngineStats>,
    rows: Vec<Row>,
    /// Batched KV, `[rows, kv, time, head_dim]` per layer × {key, value}; empty when no rows.
    past: Vec<DynValue>,
    time: usize,
    reserved: usize,
    prefix: Option<PrefixCache>,
}

/// One sequence's KV for joining: `[1, kv, n, hd]` per layer × {key, value}.
type SingleKv = Vec<DynValue>;

impl Worker {
    fn new(g: Generator, opts: EngineOptions, stats: Arc<EngineStats>) -> Worker {
        let prefix = (opts.prefix_cache_bytes > 0).then(|| {
            PrefixCache::new(
                opts.prefix_cache_bytes,
                g.info.num_layers,
                g.info.num_kv_heads,
                g.info.head_dim,
            )
        });
        Worker {
            prefix,
            g,
            opts,
            stats,
            rows: Vec::new(),
            past: Vec::new(),
            time: 0,
            reserved: 0,
        }
    }

    fn observe(&self, report: StepReport) {
        if let Some(o) = &self.opts.observer {
            o(report);
        }
    }

    fn run(mut self, rx: Receiver<Job>) -> Result<(), LocalError> {
        let mut waiting: Option<Job> = None;
        loop {
            // Admission: block only when there is nothing to decode.
            let mut joins: Vec<(Row, SingleKv)> = Vec::new();
            loop {
                if self.rows.len() + joins.len() >= self.opts.max_batch.max(1) {
                    break;
                }
                let job = match waiting.take() {
                    Some(j) => j,
                    None if self.rows.is_empty() && joins.is_empty() => match rx.recv() {
                        Ok(j) => j,
                        Err(_) => return Ok(()),
                    },
                    None => match rx.try_recv() {
                        Ok(j) => j,
                        Err(_) => break,
                    },
                };
                if job.events.is_closed() {
                    continue;
                }
                let need =
                    job.req.prompt_ids.len() + job.req.max_tokens.min(self.g.info.context_window);
                if self.reserved + need > self.opts.kv_budget_tokens
                    && !(self.rows.is_empty() && joins.is_empty())
                {
                    waiting = Some(job);
                    break;
                }
                match self.prefill(job, need) {
                    Ok(Some(joined)) => joins.push(joined),
                    Ok(None) => {}
                    Err(e) => return Err(e),
                }
            }
            if !joins.is_empty() {
                self.merge(joins)?;
            }
            if self.rows.is_empty() {
                continue;
            }
            self.decode_step()?;
        }
    }

    /// Runs a newcomer's prompt alone and samples its first token. `None` when it is
    /// already finished (or failed, or its client left).
    fn prefill(&mut self, job: Job, need: usize) -> Result<Option<(Row, SingleKv)>, LocalError> {
        let mut seq = match SeqState::new(&job.req, &self.g.info, self.g.byte_table.clone()) {
            Ok(s) => s,
            Err(e) => {
                let _ = job.events.try_send(Event::Failed(e));
                return Ok(None);
            }
        };
        let prompt = &job.req.prompt_ids;
        let n = prompt.len();
        let started = std::time::Instant::now();
        let waited = started.duration_since(job.submitted);
        // The cache is an optimisation: if it fails, the prompt is prefilled in full and the
        // engine goes on.
        let hit = self.prefix.as_mut().and_then(|c| {
            c.lookup(prompt)
                .inspect_err(|e| tracing::warn!(error = %e, "prefix cache lookup failed"))
                .ok()
                .flatten()
        });
        let (reused, past) = match hit {
            Some(h) => (h.tokens, h.past),
            None => (0, self.g.empty_past()?),
        };
        let ids: Vec<i64> = prompt[reused..].iter().map(|&t| i64::from(t)).collect();
        let (mut logits, kv) = self.g.forward(
            1,
            ids,
            vec![1i64; n],
            (reused as i64..n as i64).collect(),
            past,
            seq.prompt_keep(),
        )?;
        seq.score_prompt(&logits, &prompt[reused..])?;
        if reused > 0 {
            self.stats.prefix_hits.fetch_add(1, Ordering::Relaxed);
            self.stats
                .prefix_tokens_reused
                .fetch_add(reused, Ordering::Relaxed);
        }
        if let Some(c) = self.prefix.as_mut() {
            if let Err(e) = c.insert(prompt, &kv) {
                tracing::warn!(error = %e, "prefix cache insert failed");
            }
            self.stats
                .prefix_cache_bytes
                .store(c.bytes(), Ordering::Relaxed);
        }
        let events = job.events;
        let done = seq.step(
            logits.row(0)?,
            &self.g.tokenizer,
            &self.g.info.eos_ids,
            &mut text_sender(&events, 1),
        )?;
        checkpoint(&mut seq, &events, done);
        self.stats.tokens_generated.fetch_add(1, Ordering::Relaxed);
        self.observe(StepReport {
            prefill: true,
            batch: 1,
            took: started.elapsed(),
            tokens: 1,
            prompt_tokens: n,
            reused_tokens: reused,
            waited,
        });
        if let Some(reason) = done {
            let tokens = seq.generated_len();
            let mut emit = text_sender(&events, tokens);
            let out = seq.finish(reason, &self.g.tokenizer, &mut emit)?;
            let _ = events.try_send(Event::Done(out));
            return Ok(None);
        }
        self.reserved += need;
        Ok(Some((
            Row {
                seq,
                events,
                valid: n,
                reserved: need,
            },
            kv,
        )))
    }

    /// Builds the batched KV from kept rows (indices into the current batch) and newcomers,
    /// right-aligned in `time` columns.
    fn repack(
        &mut self,
        keep: &[usize],
        joins: &[SingleKv],
        time: usize,
    ) -> Result<Vec<DynValue>, LocalError> {
        let (kvh, hd) = (self.g.info.num_kv_heads, self.g.info.head_dim);
        let b = keep.len() + joins.len();
        let mut out = Vec::with_capacity(self.g.info.num_layers * 2);
        for li in 0..self.g.info.num_layers * 2 {
            let mut data = vec![0f32; b * kvh * time * hd];
            let mut copy_row =
                |dst_row: usize, src: &[f32], src_row: usize, src_time: usize, cols: usize| {
                    for h in 0..kvh {
                        for c in 0..cols {
                            let s = ((src_row * kvh + h) * src_time + (src_time - cols + c)) * hd;
                            let d = ((dst_row * kvh + h) * time + (time - cols + c)) * hd;
                            data[d..d + hd].copy_from_slice(&src[s..s + hd]);
                        }
                    }
                };
            if !keep.is_empty() {
                let (_, src) = self.past[li]
                    .try_extract_tensor::<f32>()
                    .map_err(infer_err)?;
                for (dst, &r) in keep.iter().enumerate() {
                    copy_row(dst, src, r, self.time, self.rows[r].valid.min(time));
                }
            }
            for (j, kv) in joins.iter().enumerate() {
                let (shape, src) = kv[li].try_extract_tensor::<f32>().map_err(infer_err)?;
                let n = shape[2] as usize;
                copy_row(keep.len() + j, src, 0, n, n);
            }
            let shape = [b as i64, kvh as i64, time as i64, hd as i64];
            out.push(
                Tensor::from_array((shape, data))
                    .map_err(infer_err)?
                    .into_dyn(),
            );
        }
        Ok(out)
    }

    fn merge(&mut self, joins: Vec<(Row, SingleKv)>) -> Result<(), LocalError> {
        let keep: Vec<usize> = (0..self.rows.len()).collect();
        let time = self
            .rows
            .iter()
            .map(|r| r.valid)
            .chain(joins.iter().map(|(r, _)| r.valid))
            .max()
            .unwrap_or(0);
        let (rows, kvs): (Vec<Row>, Vec<SingleKv>) = joins.into_iter().unzip();
        self.past = self.repack(&keep, &kvs, time)?;
        self.rows.extend(rows);
        self.time = time;
        Ok(())
    }

    fn decode_step(&mut self) -> Result<(), LocalError> {
        let b = self.rows.len();
        let t = self.time;
        self.stats.steps.fetch_add(1, Ordering::Relaxed);
        self.stats.max_batch_seen.fetch_max(b, Ordering::Relaxed);
        self.stats.active.store(b, Ordering::Relaxed);
        let ids: Vec<i64> = self
            .rows
            .iter()
            .map(|r| i64::from(r.seq.last_token()))
            .collect();
        let mut mask = vec![0i64; b * (t + 1)];
        for (i, r) in self.rows.iter().enumerate() {
            for c in (t - r.valid)..=t {
                mask[i * (t + 1) + c] = 1;
            }
        }
        let pos: Vec<i64> = self.rows.iter().map(|r| (r.seq.len() - 1) as i64).collect();
        let past = std::mem::take(&mut self.past);
        let started = std::time::Instant::now();
        let (mut logits, presents) = self.g.forward(b, ids, mask, pos, past, 1)?;
        self.past = presents;
        self.time = t + 1;

        let mut finished: Vec<(usize, FinishReason)> = Vec::new();
        let mut produced = 0;
        for (i, row) in self.rows.iter_mut().enumerate() {
            row.valid += 1;
            let before = row.seq.len();
            if row.events.is_closed() {
                finished.push((i, FinishReason::Cancelled));
                continue;
            }
            let tokens = row.seq.generated_len() + 1;
            let mut emit = text_sender(&row.events, tokens);
            let done = row.seq.step(
                logits.row(i)?,
                &self.g.tokenizer,
                &self.g.info.eos_ids,
                &mut emit,
            )?;
            produced += row.seq.len() - before;
            checkpoint(&mut row.seq, &row.events, done);
            if let Some(reason) = done {
                finished.push((i, reason));
            }
        }
        self.stats
            .tokens_generated
            .fetch_add(produced, Ordering::Relaxed);
        self.observe(StepReport {
            prefill: false,
            batch: b,
            took: started.elapsed(),
            tokens: produced,
            prompt_tokens: 0,
            reused_tokens: 0,
            waited: std::time::Duration::ZERO,
        });
        if finished.is_empty() {
            return Ok(());
        }
        // Rows leave: report, release their budget, re-pack the rest.
        let done: Vec<usize> = finished.iter().map(|f| f.0).collect();
        let keep: Vec<usize> = (0..b).filter(|i| !done.contains(i)).collect();
        let time = keep.iter().map(|&i| self.rows[i].valid).max().unwrap_or(0);
        let new_past = if keep.is_empty() {
            Vec::new()
        } else {
            self.repack(&keep, &[], time)?
        };
        let mut old: Vec<Option<Row>> = std::mem::take(&mut self.rows)
            .into_iter()
            .map(Some)
            .collect();
        for (i, reason) in finished {
            if let Some(row) = old[i].take() {
                self.reserved -= row.reserved;
                let events = row.events;
                let tokens = row.seq.generated_len();
                let mut emit = text_sender(&events, tokens);
                match row.seq.finish(reason, &self.g.tokenizer, &mut emit) {
                    Ok(out) => {
                        let _ = events.try_send(Event::Done(out));
                    }
                    Err(e) => {
                        let _ = events.try_send(Event::Failed(e));
                    }
                }
            }
        }
        self.rows = old.into_iter().flatten().collect();
        self.past = new_past;
        self.time = time;
        self.stats.active.store(self.rows.len(), Ordering::Relaxed);
        Ok(())
    }
}
