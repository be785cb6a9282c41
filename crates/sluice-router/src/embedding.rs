//! A sentence embedding model in the Hugging Face folder layout, run with ONNX Runtime.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::Tensor;
use tokenizers::Tokenizer;

use crate::runtime::{environment, ort_err};
use crate::RouterError;

/// How token vectors become one sentence vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Average over real (unmasked) tokens: what all-MiniLM-L6-v2 and most
    /// sentence-transformers models use.
    Mean,
    /// The first token's vector.
    Cls,
}

#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// File name of the ONNX variant (`model.onnx`, `model_int8.onnx`, ...), looked up at the
    /// folder root and under `onnx/`.
    pub variant: String,
    /// Token budget per text including special tokens; longer texts keep their head and tail.
    pub max_tokens: usize,
    /// ONNX Runtime intra-op threads for this session.
    pub intra_threads: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            variant: "model.onnx".into(),
            max_tokens: 256,
            intra_threads: 1,
        }
    }
}

/// One loaded model. `embed` takes `&mut self` because an ONNX Runtime session runs one
/// call at a time: use one instance per thread.
///
/// Two kinds of model folder are read: a transformer in the Hugging Face layout, run with
/// ONNX Runtime, and a static token-embedding table distilled from one
/// ([`crate::static_embed`], `config.json` `"model_type": "sluice-static"`), where a text's
/// vector is the mean of its tokens' rows — two orders of magnitude cheaper, no session.
pub struct EmbeddingModel {
    tokenizer: Tokenizer,
    backend: Backend,
    max_tokens: usize,
    dim: usize,
    model_path: PathBuf,
}

enum Backend {
    Onnx {
        session: Box<Session>,
        pooling: Pooling,
        has_token_type_ids: bool,
        output: String,
    },
    Static(crate::static_embed::Table),
}

fn load_err(path: &Path, message: impl std::fmt::Display) -> RouterError {
    RouterError::Load {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Where model folders live: `SLUICE_MODELS_DIR`, default `./models`.
pub fn models_dir() -> PathBuf {
    std::env::var_os("SLUICE_MODELS_DIR").map_or_else(|| PathBuf::from("models"), PathBuf::from)
}

/// Where models derived on this machine live (the static table distilled from the
/// embedder, say): `SLUICE_CACHE_DIR`, default `.cache` beside the models folder. Derived
/// files are kept apart because the models folder may be a read-only mirror.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SLUICE_CACHE_DIR") {
        return PathBuf::from(d);
    }
    let models = models_dir();
    let parent = models
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_owned);
    parent.join(".cache")
}

/// A config's model name: a folder under [`models_dir`] (or, for derived models, under
/// [`cache_dir`]), or a path when it looks like one (absolute, starting with `.`, or an
/// existing path with a separator).
pub fn model_path(model: &str) -> PathBuf {
    let p = Path::new(model);
    if p.is_absolute()
        || model.starts_with('.')
        || model.contains(std::path::MAIN_SEPARATOR) && p.exists()
    {
        return p.to_owned();
    }
    let primary = models_dir().join(model);
    if primary.exists() {
        return primary;
    }
    let derived = cache_dir().join(model);
    if derived.exists() {
        derived
    } else {
        primary
    }
}

/// Finds `variant` at the folder root or under `onnx/` (the hub's layout for exports).
pub fn find_model_file(dir: &Path, variant: &str) -> Result<PathBuf, RouterError> {
    let candidates = [dir.join(variant), dir.join("onnx").join(variant)];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            load_err(
                dir,
                format!(
                    "no ONNX file '{variant}' (looked for {} and {})",
                    candidates[0].display(),
                    candidates[1].display()
                ),
            )
        })
}

impl EmbeddingModel {
    pub fn load(dir: &Path, opts: &LoadOptions) -> Result<EmbeddingModel, RouterError> {
        if !dir.is_dir() {
            return Err(load_err(dir, "model folder does not exist"));
        }
        if crate::static_embed::is_static(dir) {
            let (tokenizer, table, model_path) = crate::static_embed::load(dir)?;
            return Ok(EmbeddingModel {
                tokenizer,
                dim: table.dim,
                backend: Backend::Static(table),
                max_tokens: opts.max_tokens.max(8),
                model_path,
            });
        }
        let model_path = find_model_file(dir, &opts.variant)?;
        let tok_path = dir.join("tokenizer.json");
        let mut tokenizer = Tokenizer::from_file(&tok_path).map_err(|e| load_err(&tok_path, e))?;
        // We truncate ourselves (head and tail) and pad per batch.
        tokenizer
            .with_truncation(None)
            .map_err(|e| load_err(&tok_path, e))?;
        tokenizer.with_padding(None);

        let config: serde_json::Value = read_json(&dir.join("config.json"))?;
        let dim = config
            .get("hidden_size")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| {
                load_err(
                    &dir.join("config.json"),
                    "field 'hidden_size' missing or not a number",
                )
            })? as usize;
        let pooling = match read_json(&dir.join("1_Pooling/config.json")) {
            Ok(p) if p.get("pooling_mode_cls_token") == Some(&serde_json::Value::Bool(true)) => {
                Pooling::Cls
            }
            _ => Pooling::Mean,
        };

        let env = environment()?;
        let session = Session::builder(&env)
            .map_err(|e| load_err(&model_path, e))?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|e| load_err(&model_path, e))?
            .with_intra_threads(opts.intra_threads.max(1))
            .map_err(|e| load_err(&model_path, e))?
            .commit_from_file(&model_path)
            .map_err(|e| load_err(&model_path, e))?;
        let inputs: Vec<String> = session
            .inputs()
            .iter()
            .map(|i| i.name().to_owned())
            .collect();
        for required in ["input_ids", "attention_mask"] {
            if !inputs.iter().any(|n| n == required) {
                return Err(load_err(
                    &model_path,
                    format!("model has no '{required}' input (inputs: {inputs:?})"),
                ));
            }
        }
        let outputs: Vec<String> = session
            .outputs()
            .iter()
            .map(|o| o.name().to_owned())
            .collect();
        let output = [
            "last_hidden_state",
            "sentence_embedding",
            "token_embeddings",
        ]
        .iter()
        .find(|n| outputs.iter().any(|o| o == *n))
        .map(|n| (*n).to_owned())
        .or_else(|| outputs.first().cloned())
        .ok_or_else(|| load_err(&model_path, "model has no outputs"))?;
        Ok(EmbeddingModel {
            tokenizer,
            backend: Backend::Onnx {
                session: Box::new(session),
                pooling,
                has_token_type_ids: inputs.iter().any(|n| n == "token_type_ids"),
                output,
            },
            max_tokens: opts.max_tokens.max(8),
            dim,
            model_path,
        })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn model_path(&self) -> &Path {
        &self.model_path
    }

    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// The general tokenizer's ids for `text` without special tokens (for checking fast
    /// paths against it).
    pub fn reference_ids(&self, text: &str) -> Result<Vec<u32>, RouterError> {
        let enc = self.tokenizer.encode(text, false).map_err(ort_err)?;
        Ok(enc.get_ids().to_vec())
    }

    /// Whether this is a static token-embedding model (no ONNX session).
    pub fn is_static(&self) -> bool {
        matches!(self.backend, Backend::Static(_))
    }

    /// Token ids with special tokens, within the budget: texts that are too long keep
    /// their first and last tokens (questions often end with the actual ask). A static
    /// model's ids carry no special tokens (its rows are averaged, and `[CLS]`/`[SEP]`
    /// would only pull every text towards the same point).
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, RouterError> {
        if let Backend::Static(table) = &self.backend {
            return crate::static_embed::tokenize(
                &self.tokenizer,
                table.fast.as_ref(),
                text,
                self.max_tokens,
            );
        }
        let enc = self.tokenizer.encode(text, true).map_err(ort_err)?;
        if enc.len() <= self.max_tokens {
            return Ok(enc.get_ids().to_vec());
        }
        let shortened = self.head_and_tail(text, &enc);
        let enc = self
            .tokenizer
            .encode(shortened.as_ref(), true)
            .map_err(ort_err)?;
        let mut ids = enc.get_ids().to_vec();
        if ids.len() > self.max_tokens {
            // Re-tokenising at the seam can add a token or two: cut from the middle.
            let excess = ids.len() - self.max_tokens;
            let mid = ids.len() / 2;
            ids.drain(mid - excess / 2 - excess % 2..mid + excess / 2);
        }
        Ok(ids)
    }

    fn head_and_tail<'a>(&self, text: &'a str, enc: &tokenizers::Encoding) -> Cow<'a, str> {
        // Real tokens only (special tokens have no span in the text).
        let spans: Vec<(usize, usize)> = enc
            .get_offsets()
            .iter()
            .zip(enc.get_special_tokens_mask())
            .filter(|(_, special)| **special == 0)
            .map(|(o, _)| *o)
            .collect();
        let specials = enc.len() - spans.len();
        let budget = self.max_tokens.saturating_sub(specials);
        if spans.len() <= budget || budget < 2 {
            return Cow::Borrowed(text);
        }
        let head = budget / 2;
        let tail = budget - head;
        let head_end = spans[head - 1].1;
        let tail_start = spans[spans.len() - tail].0;
        match (text.get(..head_end), text.get(tail_start..)) {
            (Some(h), Some(t)) => Cow::Owned(format!("{h} {t}")),
            _ => Cow::Borrowed(text),
        }
    }

    /// Embeds texts as one padded batch; vectors are L2-normalised.
    pub fn embed(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>, RouterError> {
        let ids: Vec<Vec<u32>> = texts
            .iter()
            .map(|t| self.tokenize(t))
            .collect::<Result<_, _>>()?;
        self.embed_ids(&ids)
    }

    /// Embeds pre-tokenised inputs (from [`tokenize`](Self::tokenize)).
    pub fn embed_ids(&mut self, ids: &[Vec<u32>]) -> Result<Vec<Vec<f32>>, RouterError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let (session, pooling, has_token_type_ids, output) = match &mut self.backend {
            Backend::Static(table) => return Ok(ids.iter().map(|i| table.pool(i)).collect()),
            Backend::Onnx {
                session,
                pooling,
                has_token_type_ids,
                output,
            } => (session, *pooling, *has_token_type_ids, output.as_str()),
        };
        let batch = ids.len();
        let len = ids.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let mut input_ids = vec![0i64; batch * len];
        let mut mask = vec![0i64; batch * len];
        for (row, seq) in ids.iter().enumerate() {
            for (col, &id) in seq.iter().enumerate() {
                input_ids[row * len + col] = i64::from(id);
                mask[row * len + col] = 1;
            }
        }
        let shape = [batch as i64, len as i64];
        let mut inputs = ort::inputs![
            "input_ids" => Tensor::from_array((shape, input_ids)).map_err(ort_err)?,
            "attention_mask" => Tensor::from_array((shape, mask.clone())).map_err(ort_err)?,
        ];
        if has_token_type_ids {
            inputs.push((
                "token_type_ids".into(),
                Tensor::from_array((shape, vec![0i64; batch * len]))
                    .map_err(ort_err)?
                    .into(),
            ));
        }
        let outputs = session.run(inputs).map_err(ort_err)?;
        let value = outputs
            .get(output)
            .ok_or_else(|| RouterError::Inference(format!("no output '{output}'")))?;
        let (out_shape, data) = value.try_extract_tensor::<f32>().map_err(ort_err)?;
        let dims: Vec<usize> = out_shape.iter().map(|&d| d as usize).collect();
        let mut vectors = Vec::with_capacity(batch);
        match dims.as_slice() {
            [b, l, h] if *b == batch && *l == len => {
                for row in 0..batch {
                    let rows = &data[row * l * h..(row + 1) * l * h];
                    let mut v = vec![0f32; *h];
                    match pooling {
                        Pooling::Cls => v.copy_from_slice(&rows[..*h]),
                        Pooling::Mean => {
                            let n = ids[row].len().max(1);
                            for tok in rows.chunks_exact(*h).take(n) {
                                for (acc, x) in v.iter_mut().zip(tok) {
                                    *acc += x;
                                }
                            }
                            let inv = 1.0 / n as f32;
                            v.iter_mut().for_each(|x| *x *= inv);
                        }
                    }
                    normalize(&mut v);
                    vectors.push(v);
                }
            }
            [b, h] if *b == batch => {
                for row in data.chunks_exact(*h) {
                    let mut v = row.to_vec();
                    normalize(&mut v);
                    vectors.push(v);
                }
            }
            other => {
                return Err(RouterError::Inference(format!(
                    "unexpected output shape {other:?} for a batch of {batch} × {len} tokens"
                )))
            }
        }
        Ok(vectors)
    }
}

pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Dot product; the cosine similarity of two normalised vectors. Eight running sums
/// rather than one: a single sum forces every addition into sequence, eight independent
/// ones fill a vector register (the cache compares a prompt with hundreds of entries).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    let mut acc = [0.0f32; 8];
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

fn read_json(path: &Path) -> Result<serde_json::Value, RouterError> {
    let text = std::fs::read_to_string(path).map_err(|e| load_err(path, e))?;
    serde_json::from_str(&text).map_err(|e| load_err(path, e))
}
