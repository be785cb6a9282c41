//! Router heads: scores computed from a query's embedding.

use std::path::Path;
use std::sync::Mutex;

use ort::session::Session;
use ort::value::Tensor;

use crate::embedding::dot;
use crate::features;
use crate::runtime::{environment, ort_err};
use crate::RouterError;

/// An ONNX classifier mapping embeddings `[N, dim]` (float32) to the probability that the
/// weak model's answer is not good enough: output `[N]`, `[N, 1]`, or `[N, 2]` (column 1 is
/// taken). The evals tooling writes these; any ONNX file with that contract works.
///
/// A head may also take the prompt's [`features`](crate::features) as a second input named
/// `features` (`[N, features::COUNT]`); it must then carry the metadata entry
/// `sluice.features` = [`features::VERSION`], so that a head trained on another definition of
/// the features is refused at load rather than silently mis-scoring.
pub struct LearnedHead {
    /// Heads are tiny (microseconds per batch); one session behind a lock is enough.
    session: Mutex<Session>,
    input: String,
    /// Name of the features input, when the head reads features.
    features_input: Option<String>,
    pub dim: usize,
    pub path: String,
}

/// The metadata key a features-reading head records its feature definition under.
pub const FEATURES_KEY: &str = "sluice.features";

impl LearnedHead {
    pub fn load(path: &Path, dim: usize) -> Result<LearnedHead, RouterError> {
        let bytes = std::fs::read(path).map_err(|e| RouterError::Load {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::from_bytes(&bytes, dim, &path.display().to_string())
    }

    /// A head from ONNX bytes (one built into the binary, say); `name` is used in errors.
    pub fn from_bytes(bytes: &[u8], dim: usize, name: &str) -> Result<LearnedHead, RouterError> {
        let err = |e: String| RouterError::Load {
            path: name.to_owned(),
            message: e,
        };
        let env = environment()?;
        let session = Session::builder(&env)
            .map_err(|e| err(e.to_string()))?
            .with_intra_threads(1)
            .map_err(|e| err(e.to_string()))?
            .commit_from_memory(bytes)
            .map_err(|e| err(e.to_string()))?;
        let names: Vec<String> = session
            .inputs()
            .iter()
            .map(|i| i.name().to_owned())
            .collect();
        let features_input = names.iter().find(|n| *n == "features").cloned();
        let input = names
            .iter()
            .find(|n| *n != "features")
            .cloned()
            .ok_or_else(|| err("head has no embedding input".into()))?;
        if names.len() > 1 + usize::from(features_input.is_some()) {
            return Err(err(format!(
                "expected inputs `embedding` [N, {dim}] and optionally `features` [N, {}], got {names:?}",
                features::COUNT
            )));
        }
        if features_input.is_some() {
            let version = session.metadata().ok().and_then(|m| m.custom(FEATURES_KEY));
            if version.as_deref() != Some(features::VERSION) {
                return Err(err(format!(
                    "head reads `features` but its metadata `{FEATURES_KEY}` is {version:?}; this build computes {:?} ({} features): retrain the head with this version of sluice-evals",
                    features::VERSION,
                    features::COUNT
                )));
            }
        }
        let head = LearnedHead {
            session: Mutex::new(session),
            input,
            features_input,
            dim,
            path: name.to_owned(),
        };
        // Fail at load time, not on the first request, if the contract is not met.
        let probe = head.score(&[vec![0.0; dim]], &[""]).map_err(|e| {
            err(format!(
                "probe run failed (expected embedding [N, {dim}]): {e}"
            ))
        })?;
        if probe.len() != 1 {
            return Err(err(format!(
                "expected one score per row, got {}",
                probe.len()
            )));
        }
        Ok(head)
    }

    /// Whether the head reads prompt features besides the embedding.
    pub fn uses_features(&self) -> bool {
        self.features_input.is_some()
    }

    /// One probability per embedding; `texts` are the routed texts the embeddings came
    /// from (read only by heads that use features).
    pub fn score(&self, embeddings: &[Vec<f32>], texts: &[&str]) -> Result<Vec<f32>, RouterError> {
        if self.features_input.is_some() && texts.len() != embeddings.len() {
            return Err(RouterError::Inference(format!(
                "head {} reads features: {} embeddings but {} texts",
                self.path,
                embeddings.len(),
                texts.len()
            )));
        }
        let features: Vec<[f32; features::COUNT]> = if self.features_input.is_some() {
            texts.iter().map(|t| features::prompt_features(t)).collect()
        } else {
            Vec::new()
        };
        self.score_features(embeddings, &features)
    }

    /// As [`score`](Self::score), with the prompt features already computed (as the
    /// outcome store keeps them); ignored by heads that do not read features.
    pub fn score_features(
        &self,
        embeddings: &[Vec<f32>],
        feats: &[[f32; features::COUNT]],
    ) -> Result<Vec<f32>, RouterError> {
        let n = embeddings.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut flat = Vec::with_capacity(n * self.dim);
        for e in embeddings {
            if e.len() != self.dim {
                return Err(RouterError::Inference(format!(
                    "head {} expects {}-dimensional embeddings, got {}",
                    self.path,
                    self.dim,
                    e.len()
                )));
            }
            flat.extend_from_slice(e);
        }
        let tensor = Tensor::from_array(([n as i64, self.dim as i64], flat)).map_err(ort_err)?;
        let mut inputs = ort::inputs![self.input.as_str() => tensor];
        if let Some(name) = &self.features_input {
            if feats.len() != n {
                return Err(RouterError::Inference(format!(
                    "head {} reads features: {n} embeddings but {} feature rows",
                    self.path,
                    feats.len()
                )));
            }
            let f: Vec<f32> = feats.iter().flatten().copied().collect();
            let ft =
                Tensor::from_array(([n as i64, features::COUNT as i64], f)).map_err(ort_err)?;
            inputs.push((name.as_str().into(), ft.into()));
        }
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        let outputs = session.run(inputs).map_err(ort_err)?;
        let (shape, data) = outputs[0].try_extract_tensor::<f32>().map_err(ort_err)?;
        let dims: Vec<i64> = shape.iter().copied().collect();
        let scores = match dims.as_slice() {
            [b] if *b as usize == n => data.to_vec(),
            [b, 1] if *b as usize == n => data.to_vec(),
            [b, 2] if *b as usize == n => data.chunks_exact(2).map(|c| c[1]).collect(),
            other => {
                return Err(RouterError::Inference(format!(
                    "head {} returned shape {other:?} for {n} rows; expected [N], [N,1] or [N,2]",
                    self.path
                )))
            }
        };
        Ok(scores)
    }
}

/// How a query's similarity to a route's examples is summarised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// Similarity to the closest example.
    Max,
    /// Similarity to the normalised mean of the examples.
    Centroid,
}

/// A semantic route with its examples already embedded.
#[derive(Debug, Clone)]
pub struct SemanticRoute {
    pub name: String,
    pub target: String,
    pub threshold: f32,
    pub examples: Vec<Vec<f32>>,
    centroid: Vec<f32>,
}

impl SemanticRoute {
    pub fn new(
        name: String,
        target: String,
        threshold: f32,
        examples: Vec<Vec<f32>>,
    ) -> SemanticRoute {
        let dim = examples.first().map_or(0, Vec::len);
        let mut centroid = vec![0f32; dim];
        for e in &examples {
            for (c, x) in centroid.iter_mut().zip(e) {
                *c += x;
            }
        }
        crate::embedding::normalize(&mut centroid);
        SemanticRoute {
            name,
            target,
            threshold,
            examples,
            centroid,
        }
    }

    /// Cosine similarity of a normalised query embedding to this route.
    pub fn similarity(&self, query: &[f32], aggregate: Aggregate) -> f32 {
        match aggregate {
            Aggregate::Max => self
                .examples
                .iter()
                .map(|e| dot(e, query))
                .fold(f32::MIN, f32::max),
            Aggregate::Centroid => dot(&self.centroid, query),
        }
    }
}
