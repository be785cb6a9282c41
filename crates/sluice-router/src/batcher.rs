//! [`Embedder`]: micro-batched embedding on dedicated threads.
//!
//! Callers enqueue a text on a bounded queue and await the result; never block the async
//! runtime. Each worker thread owns one ONNX session and, when it picks up a job, also
//! takes every job already waiting (up to `max_batch`) and runs them as one batch. So a lone
//! request runs at once — no added wait at low load — while under load the queue fills
//! during each run and batches grow by themselves. When a batch has company but is not full,
//! the worker waits for stragglers until its oldest job is `max_wait` old, trading a little
//! latency for fuller batches; jobs that already queued that long run at once. A full queue is refused immediately ([`RouterError::Overloaded`]) so the policy's
//! overflow rule can apply instead of a backlog building up.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use tokio::sync::oneshot;

use crate::embedding::{EmbeddingModel, LoadOptions};
use crate::heads::LearnedHead;
use crate::RouterError;

#[derive(Debug, Clone)]
pub struct EmbedderOptions {
    pub model_dir: PathBuf,
    pub load: LoadOptions,
    /// Worker threads, each with its own ONNX session.
    pub workers: usize,
    pub max_batch: usize,
    pub max_wait: Duration,
    /// Jobs allowed to wait; beyond that, `Overloaded`.
    pub queue_depth: usize,
}

/// What one embedding job yields.
#[derive(Debug, Clone)]
pub struct Embedded {
    pub vector: Vec<f32>,
    /// The learned head's score, when the job asked for one.
    pub learned: Option<f32>,
    /// Size of the batch this job ran in.
    pub batch_size: usize,
    /// Tokens the model read (special tokens included), after truncation.
    pub tokens: usize,
    /// Time spent queued before the batch started.
    pub queued: Duration,
}

/// Called after every batch with its size and run time (for metrics).
pub type BatchObserver = Arc<dyn Fn(usize, Duration) + Send + Sync>;

/// Counters for tests and `/metrics`.
#[derive(Debug, Default)]
pub struct BatchStats {
    pub batches: AtomicUsize,
    pub jobs: AtomicUsize,
    pub max_batch_seen: AtomicUsize,
}

struct Job {
    text: String,
    head: Option<Arc<LearnedHead>>,
    enqueued: Instant,
    reply: oneshot::Sender<Result<Embedded, RouterError>>,
}

/// Cheap to clone; all clones feed the same workers. Workers stop when the last clone drops.
#[derive(Clone)]
pub struct Embedder {
    tx: Sender<Job>,
    depth: usize,
    dim: usize,
    stats: Arc<BatchStats>,
    model_path: PathBuf,
}

impl Embedder {
    /// Loads one model per worker (failing fast with the loader's message) and starts them.
    pub fn start(
        opts: EmbedderOptions,
        observer: Option<BatchObserver>,
    ) -> Result<Embedder, RouterError> {
        let workers = opts.workers.max(1);
        let mut models = Vec::with_capacity(workers);
        for _ in 0..workers {
            models.push(EmbeddingModel::load(&opts.model_dir, &opts.load)?);
        }
        let dim = models[0].dim();
        let model_path = models[0].model_path().to_owned();
        let (tx, rx) = crossbeam_channel::bounded::<Job>(opts.queue_depth.max(1));
        let stats = Arc::new(BatchStats::default());
        let idle = Arc::new(AtomicUsize::new(0));
        for (i, model) in models.into_iter().enumerate() {
            let rx = rx.clone();
            let idle = idle.clone();
            let stats = stats.clone();
            let observer = observer.clone();
            let (max_batch, max_wait) = (opts.max_batch.max(1), opts.max_wait);
            std::thread::Builder::new()
                .name(format!("sluice-embed-{i}"))
                .spawn(move || worker(model, rx, idle, max_batch, max_wait, stats, observer))
                .map_err(|e| RouterError::Runtime(format!("cannot start embedding thread: {e}")))?;
        }
        Ok(Embedder {
            tx,
            depth: opts.queue_depth,
            dim,
            stats,
            model_path,
        })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn model_path(&self) -> &std::path::Path {
        &self.model_path
    }

    pub fn stats(&self) -> &BatchStats {
        &self.stats
    }

    /// Jobs waiting right now.
    pub fn queue_len(&self) -> usize {
        self.tx.len()
    }

    /// Embeds one text (and scores it with `head`, if given) on the worker threads.
    pub async fn embed(
        &self,
        text: String,
        head: Option<Arc<LearnedHead>>,
    ) -> Result<Embedded, RouterError> {
        let rx = self.submit(text, head)?;
        rx.await.map_err(|_| RouterError::Closed)?
    }

    /// Like [`embed`](Self::embed), for synchronous callers (CLI, evals); must not be
    /// called from an async context.
    pub fn embed_blocking(
        &self,
        text: String,
        head: Option<Arc<LearnedHead>>,
    ) -> Result<Embedded, RouterError> {
        let rx = self.submit(text, head)?;
        rx.blocking_recv().map_err(|_| RouterError::Closed)?
    }

    fn submit(
        &self,
        text: String,
        head: Option<Arc<LearnedHead>>,
    ) -> Result<oneshot::Receiver<Result<Embedded, RouterError>>, RouterError> {
        let (reply, rx) = oneshot::channel();
        let job = Job {
            text,
            head,
            enqueued: Instant::now(),
            reply,
        };
        match self.tx.try_send(job) {
            Ok(()) => Ok(rx),
            Err(TrySendError::Full(_)) => Err(RouterError::Overloaded { depth: self.depth }),
            Err(TrySendError::Disconnected(_)) => Err(RouterError::Closed),
        }
    }
}

fn worker(
    mut model: EmbeddingModel,
    rx: Receiver<Job>,
    idle: Arc<AtomicUsize>,
    max_batch: usize,
    max_wait: Duration,
    stats: Arc<BatchStats>,
    observer: Option<BatchObserver>,
) {
    loop {
        idle.fetch_add(1, Ordering::SeqCst);
        let first = rx.recv();
        idle.fetch_sub(1, Ordering::SeqCst);
        let Ok(first) = first else { break };
        // Leave idle workers their share of what is queued: one worker taking everything
        // while another sits idle would halve throughput at moderate load.
        let others = idle.load(Ordering::SeqCst);
        let share = (rx.len() + 1).div_ceil(others + 1);
        let limit = if others == 0 {
            max_batch
        } else {
            max_batch.min(share)
        };
        let mut batch = vec![first];
        while batch.len() < limit {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // Wait for stragglers only while the oldest job is younger than `max_wait`: a job
        // that already queued that long (the workers were busy) runs at once.
        // (Not when another worker is idle: it will take new arrivals itself.)
        if others == 0 && batch.len() > 1 && batch.len() < limit && !max_wait.is_zero() {
            let deadline = batch[0].enqueued + max_wait;
            while batch.len() < limit {
                match rx.recv_deadline(deadline) {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
        }
        // Callers that gave up (request cancelled) need no work.
        batch.retain(|j| !j.reply.is_closed());
        if batch.is_empty() {
            continue;
        }
        let started = Instant::now();
        let n = batch.len();
        let ids: Result<Vec<Vec<u32>>, RouterError> =
            batch.iter().map(|j| model.tokenize(&j.text)).collect();
        let counts: Vec<usize> = ids
            .as_ref()
            .map_or_else(|_| Vec::new(), |ids| ids.iter().map(Vec::len).collect());
        let result = ids.and_then(|ids| model.embed_ids(&ids));
        let result = result.and_then(|vectors| score_heads(&batch, vectors));
        let elapsed = started.elapsed();
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.jobs.fetch_add(n, Ordering::Relaxed);
        stats.max_batch_seen.fetch_max(n, Ordering::Relaxed);
        if let Some(obs) = &observer {
            obs(n, elapsed);
        }
        match result {
            Ok(rows) => {
                for ((job, (vector, learned)), tokens) in batch.into_iter().zip(rows).zip(counts) {
                    let queued = started.saturating_duration_since(job.enqueued);
                    let _ = job.reply.send(Ok(Embedded {
                        vector,
                        learned,
                        batch_size: n,
                        tokens,
                        queued,
                    }));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, batch = n, "embedding batch failed");
                for job in batch {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// An embedding with its learned score, if its job asked for one.
type Scored = (Vec<f32>, Option<f32>);

/// Runs each distinct head once over the rows that asked for it.
fn score_heads(batch: &[Job], vectors: Vec<Vec<f32>>) -> Result<Vec<Scored>, RouterError> {
    let mut scores: Vec<Option<f32>> = vec![None; batch.len()];
    let mut done: Vec<bool> = vec![false; batch.len()];
    for i in 0..batch.len() {
        let Some(head) = &batch[i].head else { continue };
        if done[i] {
            continue;
        }
        let rows: Vec<usize> = (i..batch.len())
            .filter(|&j| batch[j].head.as_ref().is_some_and(|h| Arc::ptr_eq(h, head)))
            .collect();
        let inputs: Vec<Vec<f32>> = rows.iter().map(|&j| vectors[j].clone()).collect();
        let texts: Vec<&str> = rows.iter().map(|&j| batch[j].text.as_str()).collect();
        let s = head.score(&inputs, &texts)?;
        for (&j, v) in rows.iter().zip(s) {
            scores[j] = Some(v);
            done[j] = true;
        }
    }
    Ok(vectors.into_iter().zip(scores).collect())
}
