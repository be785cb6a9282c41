//! Chat completion responses and stream chunks as Sluice writes them for targets it serves
//! itself (the local model). Shaped exactly like OpenAI's, so one client reads both.

use serde::{Deserialize, Serialize};

use crate::chat::Usage;

/// A non-streaming `chat.completion`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletion {
    pub id: String,
    pub object: String,
    pub created: u64,
    pub model: String,
    pub choices: Vec<Choice>,
    pub usage: Usage,
    pub system_fingerprint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub index: u32,
    pub message: AssistantMessage,
    pub logprobs: Option<serde_json::Value>,
    pub finish_reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssistantMessage {
    pub role: String,
    pub content: String,
    pub refusal: Option<String>,
}

/// One `chat.completion.chunk` of a stream. With `stream_options.include_usage` every chunk
/// carries `"usage": null` and a last chunk with no choices carries the usage, as OpenAI
/// sends it; without it the field is absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionChunk {
    pub id: String,
    pub object: String,
    pub created: u64,
    pub model: String,
    pub system_fingerprint: Option<String>,
    pub choices: Vec<ChunkChoice>,
    #[serde(default, skip_serializing_if = "UsageField::is_absent")]
    pub usage: UsageField,
}

/// `usage` on a chunk: absent, `null`, or the final counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum UsageField {
    #[default]
    #[serde(skip)]
    Absent,
    Null(Option<()>),
    Final(Usage),
}

impl UsageField {
    fn is_absent(&self) -> bool {
        matches!(self, UsageField::Absent)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkChoice {
    pub index: u32,
    pub delta: Delta,
    pub logprobs: Option<serde_json::Value>,
    pub finish_reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

impl ChatCompletion {
    pub fn new(
        id: &str,
        created: u64,
        model: &str,
        content: String,
        finish: &str,
        usage: Usage,
    ) -> Self {
        ChatCompletion {
            id: id.to_owned(),
            object: "chat.completion".into(),
            created,
            model: model.to_owned(),
            choices: vec![Choice {
                index: 0,
                message: AssistantMessage {
                    role: "assistant".into(),
                    content,
                    refusal: None,
                },
                logprobs: None,
                finish_reason: finish.to_owned(),
            }],
            usage,
            system_fingerprint: None,
        }
    }
}

/// Writes the chunks of one stream, all with the same id, timestamp and model.
#[derive(Debug, Clone)]
pub struct ChunkWriter {
    pub id: String,
    pub created: u64,
    pub model: String,
    pub include_usage: bool,
}

impl ChunkWriter {
    fn chunk(&self, choices: Vec<ChunkChoice>, usage: Option<Usage>) -> ChatCompletionChunk {
        ChatCompletionChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".into(),
            created: self.created,
            model: self.model.clone(),
            system_fingerprint: None,
            choices,
            usage: match (self.include_usage, usage) {
                (false, _) => UsageField::Absent,
                (true, None) => UsageField::Null(None),
                (true, Some(u)) => UsageField::Final(u),
            },
        }
    }

    fn delta(&self, delta: Delta, finish: Option<&str>) -> ChatCompletionChunk {
        self.chunk(
            vec![ChunkChoice {
                index: 0,
                delta,
                logprobs: None,
                finish_reason: finish.map(str::to_owned),
            }],
            None,
        )
    }

    /// The first chunk: the assistant role and empty content, as OpenAI starts its streams.
    pub fn role(&self) -> ChatCompletionChunk {
        self.delta(
            Delta {
                role: Some("assistant".into()),
                content: Some(String::new()),
            },
            None,
        )
    }

    pub fn content(&self, text: &str) -> ChatCompletionChunk {
        self.delta(
            Delta {
                role: None,
                content: Some(text.to_owned()),
            },
            None,
        )
    }

    /// An empty delta with the finish reason.
    pub fn finish(&self, reason: &str) -> ChatCompletionChunk {
        self.delta(Delta::default(), Some(reason))
    }

    /// The last chunk when usage was asked for: no choices, just the counts.
    pub fn usage(&self, usage: Usage) -> Option<ChatCompletionChunk> {
        self.include_usage
            .then(|| self.chunk(Vec::new(), Some(usage)))
    }
}

/// One `data:` payload of a chat completion stream, as the protocol translators read it.
pub enum StreamData {
    /// `[DONE]`.
    Done,
    /// An `{"error": ...}` event: the error object.
    Error(serde_json::Value),
    Chunk(serde_json::Value),
    /// Not JSON: skipped.
    Other,
}

impl StreamData {
    pub fn read(data: &[u8]) -> StreamData {
        if data == b"[DONE]" {
            return StreamData::Done;
        }
        match serde_json::from_slice::<serde_json::Value>(data) {
            Ok(mut v) => match v.get_mut("error").map(serde_json::Value::take) {
                Some(e) => StreamData::Error(e),
                None => StreamData::Chunk(v),
            },
            Err(_) => StreamData::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_usage_field_shapes() {
        let w = ChunkWriter {
            id: "chatcmpl-1".into(),
            created: 7,
            model: "m".into(),
            include_usage: false,
        };
        let v = serde_json::to_value(w.content("hi")).unwrap();
        assert!(v.get("usage").is_none());
        assert_eq!(
            v["choices"][0]["delta"],
            serde_json::json!({"content": "hi"})
        );
        assert_eq!(v["choices"][0]["finish_reason"], serde_json::Value::Null);
        assert!(w.usage(Usage::default()).is_none());

        let w = ChunkWriter {
            include_usage: true,
            ..w
        };
        let v = serde_json::to_value(w.role()).unwrap();
        assert_eq!(v["usage"], serde_json::Value::Null);
        assert_eq!(v["object"], "chat.completion.chunk");
        assert_eq!(v["choices"][0]["delta"]["role"], "assistant");
        let u = Usage {
            prompt_tokens: 3,
            completion_tokens: 2,
            total_tokens: 5,
            prompt_tokens_details: None,
        };
        let v = serde_json::to_value(w.usage(u).unwrap()).unwrap();
        assert_eq!(v["choices"], serde_json::json!([]));
        assert_eq!(v["usage"]["total_tokens"], 5);
        let v = serde_json::to_value(w.finish("length")).unwrap();
        assert_eq!(v["choices"][0]["finish_reason"], "length");
        assert_eq!(v["choices"][0]["delta"], serde_json::json!({}));
    }
}
