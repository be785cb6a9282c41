//! Sluice's router: decides, per request, which model should answer.
//!
//! - [`runtime`]: finds ONNX Runtime (`ORT_DYLIB_PATH` or the project's `.venv`) and holds
//!   the one `ort` environment a process may have.
//! - [`embedding`]: a sentence embedding model in the Hugging Face folder layout (ONNX file,
//!   `tokenizer.json`, `config.json`), with head-and-tail truncation, pooling and L2
//!   normalisation. Synchronous: one instance per thread.
//! - [`static_embed`]: a static token-embedding table distilled from the transformer
//!   (`scripts/distill_static.py`): tokenise, average rows, normalise; no ONNX session.
//! - [`batcher`]: [`Embedder`], the async handle the gateway uses. Requests go through a
//!   bounded queue to dedicated worker threads (one ONNX session each) that run whatever is
//!   queued as one batch, so throughput rises under load; a full queue is reported at once
//!   instead of growing a backlog.
//! - [`features`]: cheap prompt features (size, notation, request form) that a learned head
//!   may read next to the embedding; one definition shared with the trainer.
//! - [`heads`]: scores computed from an embedding — the `learned` ONNX classifier and
//!   `semantic` routes defined by example utterances.
//! - [`policy`]: the decision itself, a pure function of request features, scores and the
//!   policy's settings; no I/O, so every rule is unit-tested.
//!
//! Nothing here speaks HTTP.

pub mod batcher;
pub mod embedding;
pub mod features;
pub mod heads;
pub mod policy;
pub mod runtime;
pub mod static_embed;

pub use batcher::{BatchStats, Embedder, EmbedderOptions};
pub use embedding::{EmbeddingModel, Pooling};

/// Errors from loading or running router models.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RouterError {
    #[error("ONNX Runtime not available: {0}")]
    Runtime(String),
    #[error("cannot load model from {path}: {message}")]
    Load { path: String, message: String },
    #[error("inference failed: {0}")]
    Inference(String),
    #[error("the embedding queue is full ({depth} waiting)")]
    Overloaded { depth: usize },
    #[error("the embedder has shut down")]
    Closed,
}
