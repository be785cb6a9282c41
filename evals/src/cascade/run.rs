//! Runs the local model over checkable prompts, the way the gateway would serve them (the
//! model's chat template, greedy, batched through the engine's scheduler), recording its
//! answer and its confidence signals. Records are appended to an on-disk cache as they
//! finish, so an interrupted run resumes where it stopped, and a change of the answer
//! checker needs no rerun (correctness is recomputed from the stored answer on load).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use sluice_local::generate::{GenRequest, SignalOptions};
use sluice_local::sampler::SamplingParams;
use sluice_local::scheduler::{Engine, EngineOptions, Event, SubmitError};
use sluice_local::signals::Signals;

use super::items::Item;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub output: String,
    pub finish: String,
    pub completion_tokens: usize,
    pub signals: Signals,
    /// Wall time of the generation, queueing included.
    pub ms: f64,
}

/// Bumped when what a record holds changes (generation limits, signal definitions), so
/// that old records are not mixed in.
pub const RECORD_VERSION: &str = "r2";

pub struct RunOptions {
    pub model_dir: PathBuf,
    pub variant: String,
    pub prompt_window: usize,
    pub threads: usize,
    pub max_batch: usize,
    pub cache: PathBuf,
}

impl RunOptions {
    /// One cache file per model file and signal setting: records from another model never
    /// mix in.
    pub fn cache_file(&self) -> PathBuf {
        let model = self
            .model_dir
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or("model");
        self.cache.join(format!(
            "{model}-{}-w{}-{RECORD_VERSION}.jsonl",
            self.variant.trim_end_matches(".onnx"),
            self.prompt_window
        ))
    }
}

pub fn load_cache(path: &Path) -> anyhow::Result<HashMap<String, Record>> {
    let mut out = HashMap::new();
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(out);
    };
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        // A line cut short by an interrupted run is skipped, and its item is rerun.
        match serde_json::from_str::<Record>(line) {
            Ok(r) => {
                out.insert(r.id.clone(), r);
            }
            Err(e) => eprintln!("{}:{}: skipped ({e})", path.display(), i + 1),
        }
    }
    Ok(out)
}

/// Records for `items`, generating the ones the cache lacks.
pub fn run(items: &[Item], o: &RunOptions) -> anyhow::Result<HashMap<String, Record>> {
    let file = o.cache_file();
    let mut have = load_cache(&file)?;
    let missing: Vec<&Item> = items.iter().filter(|i| !have.contains_key(&i.id)).collect();
    eprintln!(
        "{} items: {} cached in {}, {} to generate",
        items.len(),
        items.len() - missing.len(),
        file.display(),
        missing.len()
    );
    if missing.is_empty() {
        return Ok(have);
    }
    std::fs::create_dir_all(&o.cache)?;
    let engine = Engine::start(
        &o.model_dir,
        EngineOptions {
            variant: o.variant.clone(),
            max_batch: o.max_batch,
            queue_depth: 64,
            kv_budget_tokens: 1 << 16,
            intra_threads: o.threads,
            prefix_cache_bytes: 256 << 20,
            observer: None,
        },
    )
    .with_context(|| format!("loading the local model from {}", o.model_dir.display()))?;
    let mut sink = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
        .with_context(|| format!("opening {}", file.display()))?;
    let bar = ProgressBar::new(missing.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "generating {bar:40} {pos}/{len} [{elapsed_precise} < {eta_precise}] {per_sec} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let started = Instant::now();
    let window = o.prompt_window;
    let (mut right, mut done) = (0usize, 0usize);
    rt.block_on(async {
        let mut stream = futures_util::stream::iter(missing.iter().copied())
            .map(|item| {
                let e = engine.clone();
                async move { (item, generate(&e, item, window).await) }
            })
            .buffer_unordered(o.max_batch * 2);
        while let Some((item, r)) = stream.next().await {
            let rec = r.with_context(|| format!("generating {}", item.id))?;
            done += 1;
            right += usize::from(item.check.is_correct(&rec.output));
            serde_json::to_writer(&mut sink, &rec)?;
            sink.write_all(b"\n")?;
            bar.inc(1);
            bar.set_message(format!("{:.0}% right", 100.0 * right as f64 / done as f64));
            have.insert(rec.id.clone(), rec);
        }
        anyhow::Ok(())
    })?;
    bar.finish();
    eprintln!(
        "generated {} answers in {:.0} s ({} right)",
        missing.len(),
        started.elapsed().as_secs_f64(),
        right
    );
    Ok(have)
}

async fn generate(engine: &Engine, item: &Item, window: usize) -> anyhow::Result<Record> {
    let msgs = vec![serde_json::json!({"role": "user", "content": item.prompt})];
    let prompt = engine.template.render(&msgs, true, None)?;
    let prompt_ids = engine
        .tokenizer
        .encode(prompt.as_str(), false)
        .map_err(|e| anyhow::anyhow!("tokenizing: {e}"))?
        .get_ids()
        .to_vec();
    let started = Instant::now();
    let req = GenRequest {
        prompt_ids,
        max_tokens: item.max_tokens,
        sampling: SamplingParams::default(),
        stop: Vec::new(),
        signals: Some(SignalOptions {
            prompt_window: window,
            checkpoint: None,
        }),
    };
    let mut rx = loop {
        match engine.submit(req.clone()) {
            Ok(rx) => break rx,
            Err(SubmitError::Overloaded(_)) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(e) => anyhow::bail!("{e}"),
        }
    };
    loop {
        match rx.recv().await {
            Some(Event::Done(out)) => {
                return Ok(Record {
                    id: item.id.clone(),
                    output: out.text,
                    finish: out.finish_reason.as_str().into(),
                    completion_tokens: out.completion_tokens,
                    signals: out.signals.unwrap_or_default(),
                    ms: started.elapsed().as_secs_f64() * 1e3,
                })
            }
            Some(Event::Failed(e)) => anyhow::bail!("{e}"),
            Some(_) => {}
            None => anyhow::bail!("the local model stopped"),
        }
    }
}
