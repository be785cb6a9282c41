//! Embedding datasets with the gateway's own [`Embedder`] (same model file, same truncation),
//! cached on disk so training and reports do not recompute them.
//!
//! The cache is one append-only file per embedder identity (model file contents' size and
//! name, variant, token budget): records of a 32-byte SHA-256 of the text followed by the
//! vector as little-endian f32s. A torn final record (interrupted run) is ignored on load.

use std::collections::HashMap;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use sluice_router::embedding::LoadOptions;
use sluice_router::{Embedder, EmbedderOptions, RouterError};

#[derive(Debug, Clone)]
pub struct EmbedSettings {
    pub model_dir: PathBuf,
    pub variant: String,
    pub max_tokens: usize,
}

impl EmbedSettings {
    /// From a gateway config's `router.embedder`, so evals see exactly what serving sees.
    pub fn from_config(cfg: &sluice_config::Config) -> anyhow::Result<EmbedSettings> {
        let e = &cfg
            .router
            .as_ref()
            .context("the config has no router.embedder")?
            .embedder;
        Ok(EmbedSettings {
            model_dir: sluice_router::embedding::model_path(&e.model),
            variant: e.variant.clone(),
            max_tokens: e.max_tokens,
        })
    }

    fn cache_key(&self) -> anyhow::Result<String> {
        let file = if sluice_router::static_embed::is_static(&self.model_dir) {
            self.model_dir.join("embeddings.safetensors")
        } else {
            sluice_router::embedding::find_model_file(&self.model_dir, &self.variant)?
        };
        let len = std::fs::metadata(&file)?.len();
        let name = self
            .model_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("model");
        let variant = self.variant.trim_end_matches(".onnx");
        Ok(format!("{name}-{variant}-{len}-t{}", self.max_tokens))
    }
}

fn text_key(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

pub struct Cache {
    path: PathBuf,
    dim: usize,
    map: HashMap<[u8; 32], Vec<f32>>,
}

impl Cache {
    pub fn open(dir: &Path, settings: &EmbedSettings, dim: usize) -> anyhow::Result<Cache> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("{}.bin", settings.cache_key()?));
        let mut map = HashMap::new();
        if let Ok(mut f) = std::fs::File::open(&path) {
            let mut buf = Vec::new();
            f.read_to_end(&mut buf)?;
            let rec = 32 + 4 * dim;
            for chunk in buf.chunks_exact(rec) {
                let mut k = [0u8; 32];
                k.copy_from_slice(&chunk[..32]);
                let v = chunk[32..]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                map.insert(k, v);
            }
        }
        Ok(Cache { path, dim, map })
    }

    pub fn get(&self, text: &str) -> Option<&Vec<f32>> {
        self.map.get(&text_key(text))
    }

    fn append(&mut self, items: &[(String, Vec<f32>)]) -> anyhow::Result<()> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        let mut w = BufWriter::new(f);
        for (t, v) in items {
            anyhow::ensure!(
                v.len() == self.dim,
                "vector of {} dims, cache holds {}",
                v.len(),
                self.dim
            );
            let k = text_key(t);
            w.write_all(&k)?;
            for x in v {
                w.write_all(&x.to_le_bytes())?;
            }
            self.map.insert(k, v.clone());
        }
        w.flush()?;
        Ok(())
    }
}

/// Embeds every text (using and filling the cache), with a progress bar showing rate and
/// ETA. Returns vectors in input order.
pub fn embed_all(
    settings: &EmbedSettings,
    cache_dir: &Path,
    texts: &[String],
    workers: usize,
) -> anyhow::Result<Vec<Vec<f32>>> {
    let embedder = Embedder::start(
        EmbedderOptions {
            model_dir: settings.model_dir.clone(),
            load: LoadOptions {
                variant: settings.variant.clone(),
                max_tokens: settings.max_tokens,
                intra_threads: 1,
            },
            workers,
            max_batch: 32,
            max_wait: Duration::from_millis(2),
            queue_depth: 4096,
        },
        None,
    )?;
    let mut cache = Cache::open(cache_dir, settings, embedder.dim())?;
    let mut missing: Vec<String> = texts
        .iter()
        .filter(|t| cache.get(t).is_none())
        .cloned()
        .collect();
    missing.sort();
    missing.dedup();
    if !missing.is_empty() {
        let bar = ProgressBar::new(missing.len() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "embedding {bar:40} {pos}/{len} [{elapsed_precise} < {eta_precise}] {per_sec}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let done: Vec<(String, Vec<f32>)> = rt.block_on(async {
            let mut out = Vec::with_capacity(missing.len());
            let mut stream = futures_util::stream::iter(missing.iter().cloned())
                .map(|t| {
                    let e = embedder.clone();
                    async move {
                        loop {
                            match e.embed(t.clone(), None).await {
                                Err(RouterError::Overloaded { .. }) => {
                                    tokio::time::sleep(Duration::from_millis(5)).await
                                }
                                r => return (t, r),
                            }
                        }
                    }
                })
                .buffer_unordered(256);
            let mut pending = Vec::new();
            while let Some((t, r)) = stream.next().await {
                let v = r
                    .with_context(|| {
                        format!("embedding {:?}", t.chars().take(60).collect::<String>())
                    })?
                    .vector;
                pending.push((t, v));
                bar.inc(1);
                if pending.len() >= 512 {
                    cache.append(&pending)?;
                    out.append(&mut pending);
                }
            }
            cache.append(&pending)?;
            out.append(&mut pending);
            anyhow::Ok(out)
        })?;
        bar.finish();
        drop(done);
    }
    texts
        .iter()
        .map(|t| {
            cache
                .get(t)
                .cloned()
                .with_context(|| "vector missing after embedding")
        })
        .collect()
}
