//! `POST /v1/embeddings`, OpenAI's shape.

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::chat::ParseError;

/// OpenAI's limit on inputs per request.
pub const MAX_INPUTS: usize = 2048;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingsRequest {
    pub model: String,
    pub input: EmbeddingInput,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A string, strings, token ids, or lists of token ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    One(String),
    Many(Vec<String>),
    Tokens(Vec<u32>),
    ManyTokens(Vec<Vec<u32>>),
}

impl EmbeddingsRequest {
    pub fn from_slice(body: &[u8]) -> Result<Self, ParseError> {
        let de = &mut serde_json::Deserializer::from_slice(body);
        let req: EmbeddingsRequest =
            serde_path_to_error::deserialize(de).map_err(ParseError::from_serde)?;
        if req.model.is_empty() {
            return Err(ParseError::invalid(
                "model",
                "you must provide a model parameter",
            ));
        }
        let n = match &req.input {
            EmbeddingInput::One(_) | EmbeddingInput::Tokens(_) => 1,
            EmbeddingInput::Many(v) => v.len(),
            EmbeddingInput::ManyTokens(v) => v.len(),
        };
        if n == 0 || n > MAX_INPUTS {
            return Err(ParseError::invalid(
                "input",
                format!("expected between 1 and {MAX_INPUTS} inputs, got {n}"),
            ));
        }
        match req.encoding_format.as_deref() {
            None | Some("float" | "base64") => {}
            Some(other) => {
                return Err(ParseError::invalid(
                    "encoding_format",
                    format!("expected 'float' or 'base64', got '{other}'"),
                ))
            }
        }
        Ok(req)
    }

    /// The inputs as texts; `None` when they are token ids (which only the model whose
    /// tokenizer made them can read).
    pub fn texts(&self) -> Option<Vec<&str>> {
        match &self.input {
            EmbeddingInput::One(s) => Some(vec![s.as_str()]),
            EmbeddingInput::Many(v) => Some(v.iter().map(String::as_str).collect()),
            EmbeddingInput::Tokens(_) | EmbeddingInput::ManyTokens(_) => None,
        }
    }

    pub fn base64(&self) -> bool {
        self.encoding_format.as_deref() == Some("base64")
    }

    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The response body: one `embedding` object per input, in input order; base64 is the
/// vector's little-endian f32 bytes, as OpenAI sends it.
pub fn response(model: &str, vectors: &[Vec<f32>], base64: bool, prompt_tokens: u64) -> Value {
    let data: Vec<Value> = vectors
        .iter()
        .enumerate()
        .map(|(index, v)| {
            let embedding = if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|f| f.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    json!({
        "object": "list", "data": data, "model": model,
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_and_formats() {
        let r = EmbeddingsRequest::from_slice(br#"{"model":"m","input":["a","b"]}"#).unwrap();
        assert_eq!(r.texts().unwrap(), ["a", "b"]);
        let r = EmbeddingsRequest::from_slice(br#"{"model":"m","input":[1,2,3]}"#).unwrap();
        assert!(r.texts().is_none());
        let e = EmbeddingsRequest::from_slice(br#"{"model":"m","input":[]}"#).unwrap_err();
        assert_eq!(e.param(), Some("input"));
        let e =
            EmbeddingsRequest::from_slice(br#"{"model":"m","input":"a","encoding_format":"hex"}"#)
                .unwrap_err();
        assert_eq!(e.param(), Some("encoding_format"));
        let v = response("m", &[vec![1.0, -2.5]], true, 3);
        let b = base64::engine::general_purpose::STANDARD
            .decode(v["data"][0]["embedding"].as_str().unwrap())
            .unwrap();
        assert_eq!(b, [1.0f32.to_le_bytes(), (-2.5f32).to_le_bytes()].concat());
        assert_eq!(v["usage"]["prompt_tokens"], 3);
    }
}
