//! The cascade's escalation head: an ONNX classifier from the local model's
//! [signals](crate::signals) (and optionally the prompt's routing embedding) to the
//! probability that the local answer is not good enough.
//!
//! Contract, checked at load (a file that breaks it fails start-up or reload naming the path
//! and the expected shapes):
//! - input `signals`: float32 `[N, F]` with F = [`FEATURE_NAMES`]`.len()`, in that order;
//! - optional input `embedding`: float32 `[N, D]`, the router's embedding of the prompt;
//! - one output: `[N]`, `[N, 1]` or `[N, 2]` (column 1 taken);
//! - metadata `sluice.signals` = [`FEATURES_VERSION`], so a head trained on another
//!   definition of the signals is refused rather than silently mis-scoring.
//!
//! `sluice-evals cascade-train` writes such heads (via `scripts/write_escalation_head.py`).

use std::path::Path;
use std::sync::Mutex;

use ort::session::Session;
use ort::value::Tensor;

use crate::signals::{FEATURES_VERSION, FEATURE_NAMES};
use crate::LocalError;

/// The metadata key holding the signal definition a head was trained on.
pub const SIGNALS_KEY: &str = "sluice.signals";
/// The metadata key holding the decision point (generated tokens) it was trained for.
pub const DECIDE_AT_KEY: &str = "sluice.decide_at";

pub struct EscalationHead {
    /// Microseconds per call: one session behind a lock is enough.
    session: Mutex<Session>,
    embedding_dim: usize,
    /// The decision point the head was trained for, if it says.
    pub decide_at: Option<usize>,
    pub path: String,
}

impl std::fmt::Debug for EscalationHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EscalationHead")
            .field("path", &self.path)
            .field("embedding_dim", &self.embedding_dim)
            .field("decide_at", &self.decide_at)
            .finish_non_exhaustive()
    }
}

fn expected() -> String {
    format!(
        "expected inputs `signals` float32 [N, {}] and optionally `embedding` float32 [N, D], one output [N], [N, 1] or [N, 2], and metadata `{SIGNALS_KEY}` = {FEATURES_VERSION:?}",
        FEATURE_NAMES.len()
    )
}

impl EscalationHead {
    pub fn load(path: &Path) -> Result<EscalationHead, LocalError> {
        let bytes = std::fs::read(path).map_err(|e| LocalError::Load {
            file: path.display().to_string(),
            message: format!("cannot read: {e}"),
        })?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }

    /// A head from ONNX bytes (one built into the binary); `name` is used in errors.
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<EscalationHead, LocalError> {
        let name = name.to_owned();
        let err = |m: String| LocalError::Load {
            file: name.clone(),
            message: m,
        };
        let env = sluice_router::runtime::environment().map_err(|e| err(e.to_string()))?;
        let not_onnx = |e: String| err(format!("not a loadable ONNX model ({e}); {}", expected()));
        let session = Session::builder(&env)
            .map_err(|e| not_onnx(e.to_string()))?
            .with_intra_threads(1)
            .map_err(|e| not_onnx(e.to_string()))?
            .commit_from_memory(bytes)
            .map_err(|e| not_onnx(e.to_string()))?;
        let mut has_signals = false;
        let mut embedding_dim = None;
        for i in session.inputs() {
            let dims: Vec<i64> = i
                .dtype()
                .tensor_shape()
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default();
            match i.name() {
                "signals" => {
                    if dims.len() != 2 || (dims[1] > 0 && dims[1] as usize != FEATURE_NAMES.len()) {
                        return Err(err(format!(
                            "input `signals` has shape {dims:?}; {}",
                            expected()
                        )));
                    }
                    has_signals = true;
                }
                "embedding" => {
                    if dims.len() != 2 || dims[1] <= 0 {
                        return Err(err(format!(
                            "input `embedding` has shape {dims:?} (its width must be fixed); {}",
                            expected()
                        )));
                    }
                    embedding_dim = Some(dims[1] as usize);
                }
                other => {
                    return Err(err(format!("unexpected input `{other}`; {}", expected())));
                }
            }
        }
        if !has_signals {
            return Err(err(format!("no input `signals`; {}", expected())));
        }
        let (version, decide_at) = {
            let meta = session.metadata().ok();
            (
                meta.as_ref().and_then(|m| m.custom(SIGNALS_KEY)),
                meta.as_ref()
                    .and_then(|m| m.custom(DECIDE_AT_KEY))
                    .and_then(|v| v.parse().ok()),
            )
        };
        if version.as_deref() != Some(FEATURES_VERSION) {
            return Err(err(format!(
                "metadata `{SIGNALS_KEY}` is {version:?}; this build computes {FEATURES_VERSION:?}: retrain the head with this version of sluice-evals ({})",
                expected()
            )));
        }
        let head = EscalationHead {
            session: Mutex::new(session),
            embedding_dim: embedding_dim.unwrap_or(0),
            decide_at,
            path: name.clone(),
        };
        let probe = head
            .score(
                &[0.0; FEATURE_NAMES.len()],
                (head.embedding_dim > 0)
                    .then(|| vec![0.0; head.embedding_dim])
                    .as_deref(),
            )
            .map_err(|e| err(format!("probe run failed: {e}; {}", expected())))?;
        if !probe.is_finite() {
            return Err(err(format!("probe run gave {probe}; {}", expected())));
        }
        Ok(head)
    }

    /// Width of the embedding the head reads; 0 when it reads signals only.
    pub fn embedding_dim(&self) -> usize {
        self.embedding_dim
    }

    /// P(the local answer is not good enough). `embedding` is required exactly when the head
    /// reads one.
    pub fn score(&self, signals: &[f32], embedding: Option<&[f32]>) -> Result<f32, LocalError> {
        let bad = |m: String| LocalError::Inference(format!("escalation head {}: {m}", self.path));
        if signals.len() != FEATURE_NAMES.len() {
            return Err(bad(format!(
                "{} signals given, {} expected",
                signals.len(),
                FEATURE_NAMES.len()
            )));
        }
        let st = Tensor::from_array(([1i64, signals.len() as i64], signals.to_vec()))
            .map_err(|e| bad(e.to_string()))?;
        let mut inputs = ort::inputs!["signals" => st];
        match (self.embedding_dim, embedding) {
            (0, _) => {}
            (d, Some(e)) if e.len() == d => {
                let et = Tensor::from_array(([1i64, d as i64], e.to_vec()))
                    .map_err(|e| bad(e.to_string()))?;
                inputs.push(("embedding".into(), et.into()));
            }
            (d, e) => {
                return Err(bad(format!(
                    "reads a {d}-dimensional embedding, given {:?}",
                    e.map(<[f32]>::len)
                )))
            }
        }
        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        let outputs = session.run(inputs).map_err(|e| bad(e.to_string()))?;
        let (shape, data) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(|e| bad(e.to_string()))?;
        let dims: Vec<i64> = shape.iter().copied().collect();
        match dims.as_slice() {
            [1] | [1, 1] => Ok(data[0]),
            [1, 2] => Ok(data[1]),
            other => Err(bad(format!(
                "returned shape {other:?} for one row; expected [N], [N, 1] or [N, 2]"
            ))),
        }
    }
}
