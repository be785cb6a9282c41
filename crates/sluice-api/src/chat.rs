//! `POST /v1/chat/completions`: the request as the gateway reads it, and usage as upstreams
//! report it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ErrorBody;

/// A chat completion request. Fields the gateway acts on are typed; the rest (tools,
/// response_format, logprobs, seed, user, vendor extensions, ...) are kept in `extra` in
/// their original order and serialised back unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionRequest {
    pub model: String,
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_usage: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    /// Absent for assistant messages that only carry tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<MessageContent>,
    /// name, tool_calls, tool_call_id, refusal, audio, ...
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MessageContent {
    Text(String),
    Parts(Vec<ContentPart>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentPart {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl MessageContent {
    /// The text of the message, parts joined by newlines; images and audio contribute nothing.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            MessageContent::Text(s) => std::borrow::Cow::Borrowed(s),
            MessageContent::Parts(parts) => {
                let texts: Vec<&str> = parts.iter().filter_map(|p| p.text.as_deref()).collect();
                std::borrow::Cow::Owned(texts.join("\n"))
            }
        }
    }

    /// `text().len()` without joining parts into a new string: sizes are checked on every
    /// request.
    pub fn text_len(&self) -> usize {
        match self {
            MessageContent::Text(s) => s.len(),
            MessageContent::Parts(parts) => {
                let (n, bytes) = parts
                    .iter()
                    .filter_map(|p| p.text.as_deref())
                    .fold((0usize, 0usize), |(n, b), t| (n + 1, b + t.len()));
                bytes + n.saturating_sub(1)
            }
        }
    }
}

impl ChatCompletionRequest {
    /// Parses and checks a request body. Errors name the JSON path of the offending field
    /// the way OpenAI's own errors do, so SDK users see where their payload went wrong.
    pub fn from_slice(body: &[u8]) -> Result<Self, ParseError> {
        let de = &mut serde_json::Deserializer::from_slice(body);
        let req: ChatCompletionRequest =
            serde_path_to_error::deserialize(de).map_err(ParseError::from_serde)?;
        req.validate()?;
        Ok(req)
    }

    fn validate(&self) -> Result<(), ParseError> {
        if self.model.is_empty() {
            return Err(ParseError::InvalidValue {
                param: "model".into(),
                message: "you must provide a model parameter".into(),
            });
        }
        if self.messages.is_empty() {
            return Err(ParseError::InvalidValue {
                param: "messages".into(),
                message: "'messages' must contain at least one message".into(),
            });
        }
        Ok(())
    }

    pub fn is_stream(&self) -> bool {
        self.stream.unwrap_or(false)
    }

    /// Whether the client asked for a final usage chunk on a stream.
    pub fn wants_stream_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .and_then(|o| o.include_usage)
            .unwrap_or(false)
    }

    pub fn to_vec(&self) -> Vec<u8> {
        // Every field is plain JSON data: serialisation cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// Why a request body was refused; each maps to the 400 body OpenAI would send.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    /// The body is not JSON at all.
    #[error("could not parse the JSON body of your request ({0}); the API expects a JSON payload")]
    Syntax(String),
    #[error("Missing required parameter: '{param}'.")]
    MissingField { param: String },
    #[error("Invalid type for '{param}': {message}")]
    InvalidType { param: String, message: String },
    #[error("Invalid value for '{param}': {message}")]
    InvalidValue { param: String, message: String },
}

impl ParseError {
    /// A field whose value is not acceptable, named by its JSON path.
    pub fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        ParseError::InvalidValue {
            param: param.into(),
            message: message.into(),
        }
    }

    pub(crate) fn from_serde(err: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof
            | serde_json::error::Category::Io => ParseError::Syntax(inner.to_string()),
            serde_json::error::Category::Data => {
                let msg = strip_position(&inner.to_string());
                if let Some(field) = msg
                    .strip_prefix("missing field `")
                    .and_then(|rest| rest.split('`').next())
                {
                    let param = if path == "." || path.is_empty() {
                        field.to_owned()
                    } else {
                        format!("{path}.{field}")
                    };
                    return ParseError::MissingField { param };
                }
                let param = if path == "." || path.is_empty() {
                    "body".to_owned()
                } else {
                    path
                };
                if msg.starts_with("invalid type") || msg.starts_with("data did not match") {
                    ParseError::InvalidType {
                        param,
                        message: msg,
                    }
                } else {
                    ParseError::InvalidValue {
                        param,
                        message: msg,
                    }
                }
            }
        }
    }

    pub fn param(&self) -> Option<&str> {
        match self {
            ParseError::Syntax(_) => None,
            ParseError::MissingField { param }
            | ParseError::InvalidType { param, .. }
            | ParseError::InvalidValue { param, .. } => Some(param),
        }
    }

    pub fn code(&self) -> Option<&'static str> {
        match self {
            ParseError::Syntax(_) => None,
            ParseError::MissingField { .. } => Some("missing_required_parameter"),
            ParseError::InvalidType { .. } => Some("invalid_type"),
            ParseError::InvalidValue { .. } => Some("invalid_value"),
        }
    }

    pub fn to_body(&self) -> ErrorBody {
        ErrorBody::invalid_request(self.to_string(), self.param(), self.code())
    }
}

/// serde_json appends " at line 1 column 42" to data errors; the path already says where.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// Token usage as an OpenAI-compatible upstream reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptTokensDetails {
    #[serde(default)]
    pub cached_tokens: u64,
    /// Of the prompt, tokens written to the provider's prompt cache (Anthropic's
    /// `cache_creation_input_tokens`; Sluice's extension, absent from OpenAI's usage).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_creation_tokens: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Usage {
    pub fn cached_tokens(&self) -> u64 {
        self.prompt_tokens_details.map_or(0, |d| d.cached_tokens)
    }

    pub fn cache_creation_tokens(&self) -> u64 {
        self.prompt_tokens_details
            .map_or(0, |d| d.cache_creation_tokens)
    }
}

/// The few fields of a completion (or of one stream chunk) the gateway reads back.
#[derive(Debug, Default, Deserialize)]
pub struct ResponseProbe {
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub usage: Option<Usage>,
    /// Absent in some error-ish chunks; `[]` in the final usage-only chunk of a stream.
    #[serde(default)]
    pub choices: Option<Vec<ChoiceProbe>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ChoiceProbe {
    #[serde(default)]
    pub delta: Option<ContentProbe>,
    #[serde(default)]
    pub message: Option<ContentProbe>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ContentProbe {
    #[serde(default)]
    pub content: Option<String>,
}

impl ResponseProbe {
    /// Reads model and usage from a response body or chunk; `None` when it is not JSON.
    pub fn parse(body: &[u8]) -> Option<ResponseProbe> {
        serde_json::from_slice(body).ok()
    }

    /// Bytes of generated text in this body or chunk (all choices), for estimating
    /// completion tokens when the upstream reports no usage.
    pub fn content_bytes(&self) -> usize {
        self.choices
            .iter()
            .flatten()
            .map(|c| {
                let d = c
                    .delta
                    .as_ref()
                    .and_then(|d| d.content.as_ref())
                    .map_or(0, String::len);
                let m = c
                    .message
                    .as_ref()
                    .and_then(|m| m.content.as_ref())
                    .map_or(0, String::len);
                d + m
            })
            .sum()
    }

    /// The generated text of the first choice (a whole message, or one chunk's delta).
    pub fn text(&self) -> Option<&str> {
        let c = self.choices.as_ref()?.first()?;
        c.message
            .as_ref()
            .or(c.delta.as_ref())
            .and_then(|m| m.content.as_deref())
    }

    /// The final chunk a stream sends when usage was requested: no choices, only usage.
    pub fn is_usage_only(&self) -> bool {
        self.usage.is_some() && self.choices.as_ref().is_some_and(Vec::is_empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_round_trip_in_order() {
        let body = br#"{"model":"auto","messages":[{"role":"user","content":"hi","name":"bob"}],"tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"seed":7,"x_vendor":{"a":[1,2.5,null]},"stream":true}"#;
        let req = ChatCompletionRequest::from_slice(body).unwrap();
        assert_eq!(req.stream, Some(true));
        let keys: Vec<&String> = req.extra.keys().collect();
        assert_eq!(keys, ["tools", "seed", "x_vendor"]);
        let back: Value = serde_json::from_slice(&req.to_vec()).unwrap();
        let orig: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(back, orig);
    }

    #[test]
    fn missing_messages_names_the_parameter() {
        let err = ChatCompletionRequest::from_slice(br#"{"model":"auto"}"#).unwrap_err();
        assert_eq!(
            err,
            ParseError::MissingField {
                param: "messages".into()
            }
        );
        let body = err.to_body();
        assert_eq!(body.error.kind, "invalid_request_error");
        assert_eq!(body.error.param.as_deref(), Some("messages"));
        assert_eq!(
            body.error.code.as_deref(),
            Some("missing_required_parameter")
        );
    }

    #[test]
    fn nested_missing_field_has_full_path() {
        let err =
            ChatCompletionRequest::from_slice(br#"{"model":"a","messages":[{"content":"x"}]}"#)
                .unwrap_err();
        assert_eq!(
            err,
            ParseError::MissingField {
                param: "messages[0].role".into()
            }
        );
    }

    #[test]
    fn wrong_type_names_the_path() {
        let err = ChatCompletionRequest::from_slice(br#"{"model":"a","messages":[{"role":5}]}"#)
            .unwrap_err();
        assert_eq!(err.param(), Some("messages[0].role"));
        assert_eq!(err.code(), Some("invalid_type"));
    }

    #[test]
    fn malformed_json_is_a_syntax_error() {
        let err = ChatCompletionRequest::from_slice(br#"{"model": "a", "#).unwrap_err();
        assert!(matches!(err, ParseError::Syntax(_)));
        assert_eq!(err.to_body().error.param, None);
    }

    #[test]
    fn empty_messages_rejected() {
        let err = ChatCompletionRequest::from_slice(br#"{"model":"a","messages":[]}"#).unwrap_err();
        assert_eq!(err.param(), Some("messages"));
    }

    #[test]
    fn content_parts_text() {
        let req = ChatCompletionRequest::from_slice(
            br#"{"model":"a","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"b"}]}]}"#,
        )
        .unwrap();
        assert_eq!(req.messages[0].content.as_ref().unwrap().text(), "a\nb");
    }

    #[test]
    fn usage_probe_reads_cached_tokens() {
        let p = ResponseProbe::parse(
            br#"{"id":"x","model":"m","usage":{"prompt_tokens":10,"completion_tokens":3,"total_tokens":13,"prompt_tokens_details":{"cached_tokens":4}}}"#,
        )
        .unwrap();
        let u = p.usage.unwrap();
        assert_eq!(
            (u.prompt_tokens, u.completion_tokens, u.cached_tokens()),
            (10, 3, 4)
        );
        assert!(ResponseProbe::parse(br#"{"usage":null}"#)
            .unwrap()
            .usage
            .is_none());
    }
}
