//! Sluice's in-process LLM: a decoder ONNX model (Hugging Face / Optimum layout) run with
//! ONNX Runtime, with its tokenizer and Jinja chat template.
//!
//! - [`model`]: what the model folder says about the decoder (layers, KV heads and shapes,
//!   context length, EOS ids), read from its files and checked against the ONNX inputs; a
//!   model the loader cannot serve fails naming the file and field.
//! - [`template`]: chat templates rendered with minijinja the way transformers renders them.
//! - [`sampler`]: greedy and sampled decoding with OpenAI's and HF's penalties.
//! - [`detok`]: incremental detokenisation that never emits broken UTF-8.
//! - [`prefix`]: reuse of recently prefilled prompts' KV cache.
//! - [`signals`]: the model's confidence in its own tokens and in the prompt, from the
//!   logits generation computes anyway.
//! - [`escalation`]: the cascade's ONNX head from signals to P(escalate).
//! - [`generate`]: prefill then one token per step with the KV cache, stop sequences
//!   (also across token boundaries), `max_tokens`, finish reasons and usage.
//!
//! No HTTP and no routing here.

pub mod detok;
pub mod escalation;
pub mod generate;
pub mod model;
pub mod prefix;
pub mod sampler;
pub mod scheduler;
pub mod signals;
pub mod template;

/// Errors from loading or running a local model.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LocalError {
    /// The model folder cannot be served; names the file and the field.
    #[error("{file}: {message}")]
    Load { file: String, message: String },
    #[error("chat template: {0}")]
    Template(String),
    #[error("inference failed: {0}")]
    Inference(String),
}

pub(crate) fn infer_err(e: impl std::fmt::Display) -> LocalError {
    LocalError::Inference(e.to_string())
}
