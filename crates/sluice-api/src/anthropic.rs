//! Anthropic's Messages API, and its translation to and from chat completions.
//!
//! Inside the gateway every request is a chat completion: routing, limits, the ledger and
//! every target speak it. A `/v1/messages` request is translated to chat at the edge and
//! its answer back to a Messages response or event stream; a provider of `kind: anthropic`
//! gets the reverse (chat to Messages on the way out, Messages to chat on the way back).
//! Both directions live here, next to each other, so one property test can hold them to
//! the round trip: text, roles, tool calls, stop reasons and usage survive.
//!
//! Usage maps exactly: Anthropic's `input_tokens` excludes prompt-cache reads and writes,
//! chat's `prompt_tokens` includes them, with reads as `prompt_tokens_details.cached_tokens`
//! and writes as `prompt_tokens_details.cache_creation_tokens` (Sluice's extension, so that
//! cache writes can be priced apart).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::chat::{
    ChatCompletionRequest, ContentPart, Message, MessageContent, ParseError, PromptTokensDetails,
    StreamOptions, Usage,
};
use crate::completion::StreamData;

/// `max_tokens` for a chat request that names none: Anthropic requires one.
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// `anthropic-version` sent upstream when the provider configures none.
pub const API_VERSION: &str = "2023-06-01";

/// A Messages request. Fields without a chat counterpart that the gateway cannot honour
/// (e.g. `thinking`) are kept in `extra`: a native Anthropic target still receives them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagesRequest {
    pub model: String,
    pub messages: Vec<AnthropicMessage>,
    pub max_tokens: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<Content>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnthropicMessage {
    pub role: String,
    pub content: Content,
}

/// A string, or content blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Blocks(Vec<Block>),
}

/// One content block: its `type` and the rest as sent (text, image source, tool use...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl Block {
    fn text(text: &str) -> Block {
        let mut rest = Map::new();
        rest.insert("text".into(), Value::String(text.to_owned()));
        Block {
            kind: "text".into(),
            rest,
        }
    }

    fn str(&self, key: &str) -> Option<&str> {
        self.rest.get(key).and_then(Value::as_str)
    }
}

impl MessagesRequest {
    /// Parses and checks a `/v1/messages` body; errors name the field's path.
    pub fn from_slice(body: &[u8]) -> Result<Self, ParseError> {
        let de = &mut serde_json::Deserializer::from_slice(body);
        let req: MessagesRequest =
            serde_path_to_error::deserialize(de).map_err(ParseError::from_serde)?;
        if req.model.is_empty() {
            return Err(ParseError::invalid(
                "model",
                "you must provide a model parameter",
            ));
        }
        if req.messages.is_empty() {
            return Err(ParseError::invalid(
                "messages",
                "at least one message is required",
            ));
        }
        if req.max_tokens == 0 {
            return Err(ParseError::invalid("max_tokens", "must be at least 1"));
        }
        for (i, m) in req.messages.iter().enumerate() {
            if m.role != "user" && m.role != "assistant" {
                return Err(ParseError::invalid(
                    format!("messages.{i}.role"),
                    format!("expected 'user' or 'assistant', got '{}'", m.role),
                ));
            }
        }
        Ok(req)
    }

    pub fn is_stream(&self) -> bool {
        self.stream.unwrap_or(false)
    }

    /// The same request as a chat completion. Streams always ask for the usage chunk:
    /// the final `message_delta` reports it.
    pub fn to_chat(&self) -> Result<ChatCompletionRequest, ParseError> {
        let mut messages = Vec::with_capacity(self.messages.len() + 1);
        if let Some(system) = &self.system {
            let content = match system {
                Content::Text(s) => MessageContent::Text(s.clone()),
                Content::Blocks(b) => MessageContent::Parts(text_parts(b, "system")?),
            };
            messages.push(chat_message("system", Some(content)));
        }
        for (i, m) in self.messages.iter().enumerate() {
            match &m.content {
                Content::Text(s) => {
                    messages.push(chat_message(&m.role, Some(MessageContent::Text(s.clone()))));
                }
                Content::Blocks(blocks) => blocks_to_chat(&m.role, blocks, i, &mut messages)?,
            }
        }
        let mut extra = Map::new();
        if let Some(stop) = &self.stop_sequences {
            extra.insert("stop".into(), json!(stop));
        }
        if let Some(t) = self.temperature {
            extra.insert("temperature".into(), json!(t));
        }
        if let Some(p) = self.top_p {
            extra.insert("top_p".into(), json!(p));
        }
        if let Some(user) = self
            .metadata
            .as_ref()
            .and_then(|m| m.get("user_id"))
            .and_then(Value::as_str)
        {
            extra.insert("user".into(), json!(user));
        }
        if let Some(tools) = &self.tools {
            let mut out = Vec::with_capacity(tools.len());
            for (i, t) in tools.iter().enumerate() {
                let Some(name) = t.get("name").and_then(Value::as_str) else {
                    return Err(ParseError::invalid(
                        format!("tools.{i}.name"),
                        "a tool needs a name",
                    ));
                };
                // Server tools (web search, code execution...) have a `type` and no schema:
                // only a native Anthropic target could run them.
                if t.get("input_schema").is_none() {
                    return Err(ParseError::invalid(
                        format!("tools.{i}"),
                        "only client tools with an input_schema can be translated",
                    ));
                }
                let mut function = Map::new();
                function.insert("name".into(), json!(name));
                if let Some(d) = t.get("description") {
                    function.insert("description".into(), d.clone());
                }
                function.insert("parameters".into(), t["input_schema"].clone());
                out.push(json!({"type": "function", "function": function}));
            }
            extra.insert("tools".into(), Value::Array(out));
        }
        if let Some(choice) = &self.tool_choice {
            let kind = choice.get("type").and_then(Value::as_str).unwrap_or("");
            let mapped = match kind {
                "auto" => json!("auto"),
                "any" => json!("required"),
                "none" => json!("none"),
                "tool" => {
                    let name = choice.get("name").cloned().unwrap_or(Value::Null);
                    json!({"type": "function", "function": {"name": name}})
                }
                other => {
                    return Err(ParseError::invalid(
                        "tool_choice.type",
                        format!("expected auto, any, tool or none, got '{other}'"),
                    ))
                }
            };
            extra.insert("tool_choice".into(), mapped);
            if choice.get("disable_parallel_tool_use") == Some(&Value::Bool(true)) {
                extra.insert("parallel_tool_calls".into(), json!(false));
            }
        }
        let stream = self.is_stream();
        Ok(ChatCompletionRequest {
            model: self.model.clone(),
            messages,
            stream: stream.then_some(true),
            stream_options: stream.then(|| StreamOptions {
                include_usage: Some(true),
                extra: Map::new(),
            }),
            max_tokens: Some(self.max_tokens),
            max_completion_tokens: None,
            extra,
        })
    }

    /// A chat request as Messages, for a `kind: anthropic` provider. System and developer
    /// messages become `system`; tool results become `tool_result` blocks of a user turn;
    /// temperature is capped at Anthropic's 1.0; chat-only fields (`n`, `seed`,
    /// `response_format`, ...) are dropped, since Anthropic refuses unknown fields.
    pub fn from_chat(chat: &ChatCompletionRequest) -> MessagesRequest {
        let mut system: Vec<String> = Vec::new();
        let mut messages: Vec<AnthropicMessage> = Vec::new();
        // Keeps a string a string when nothing else joins the turn.
        let mut push = |role: &str, blocks: Vec<Block>, plain: Option<String>| {
            if let Some(last) = messages.last_mut().filter(|m| m.role == role) {
                let mut prior = match std::mem::replace(&mut last.content, Content::Blocks(vec![]))
                {
                    Content::Text(s) => vec![Block::text(&s)],
                    Content::Blocks(b) => b,
                };
                prior.extend(blocks);
                last.content = Content::Blocks(prior);
                return;
            }
            let content = match plain {
                Some(s) => Content::Text(s),
                None => Content::Blocks(blocks),
            };
            messages.push(AnthropicMessage {
                role: role.to_owned(),
                content,
            });
        };
        for m in &chat.messages {
            match m.role.as_str() {
                "system" | "developer" => {
                    if let Some(c) = &m.content {
                        system.push(c.text().into_owned());
                    }
                }
                "tool" => {
                    let id = m.extra.get("tool_call_id").cloned().unwrap_or(json!(""));
                    let text = m.content.as_ref().map(|c| c.text().into_owned());
                    let mut rest = Map::new();
                    rest.insert("tool_use_id".into(), id);
                    rest.insert("content".into(), json!(text.unwrap_or_default()));
                    let block = Block {
                        kind: "tool_result".into(),
                        rest,
                    };
                    push("user", vec![block], None);
                }
                role => {
                    let role = if role == "assistant" {
                        "assistant"
                    } else {
                        "user"
                    };
                    let calls = m.extra.get("tool_calls").and_then(Value::as_array);
                    let plain = match (&m.content, calls) {
                        (Some(MessageContent::Text(s)), None) => Some(s.clone()),
                        _ => None,
                    };
                    let mut blocks = match &m.content {
                        Some(MessageContent::Text(s)) if !s.is_empty() => vec![Block::text(s)],
                        Some(MessageContent::Parts(parts)) => {
                            parts.iter().filter_map(part_to_block).collect()
                        }
                        _ => Vec::new(),
                    };
                    for c in calls.into_iter().flatten() {
                        let f = &c["function"];
                        let args = f["arguments"].as_str().unwrap_or("{}");
                        let input: Value = serde_json::from_str(args).unwrap_or_else(|_| json!({}));
                        let mut rest = Map::new();
                        rest.insert("id".into(), c["id"].clone());
                        rest.insert("name".into(), f["name"].clone());
                        rest.insert("input".into(), input);
                        blocks.push(Block {
                            kind: "tool_use".into(),
                            rest,
                        });
                    }
                    push(role, blocks, plain);
                }
            }
        }
        let x = &chat.extra;
        let stop_sequences = match x.get("stop") {
            Some(Value::String(s)) => Some(vec![s.clone()]),
            Some(Value::Array(a)) => Some(
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
            ),
            _ => None,
        };
        let tools = x.get("tools").and_then(Value::as_array).map(|tools| {
            tools
                .iter()
                .filter(|t| t["type"] == "function")
                .map(|t| {
                    let f = &t["function"];
                    let mut out = Map::new();
                    out.insert("name".into(), f["name"].clone());
                    if let Some(d) = f.get("description") {
                        out.insert("description".into(), d.clone());
                    }
                    let schema = f
                        .get("parameters")
                        .cloned()
                        .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
                    out.insert("input_schema".into(), schema);
                    Value::Object(out)
                })
                .collect()
        });
        let mut tool_choice = match x.get("tool_choice") {
            Some(Value::String(s)) => match s.as_str() {
                "required" => Some(json!({"type": "any"})),
                "none" => Some(json!({"type": "none"})),
                _ => Some(json!({"type": "auto"})),
            },
            Some(v @ Value::Object(_)) => {
                Some(json!({"type": "tool", "name": v["function"]["name"].clone()}))
            }
            _ => None,
        };
        if x.get("parallel_tool_calls") == Some(&Value::Bool(false)) {
            let c = tool_choice.get_or_insert_with(|| json!({"type": "auto"}));
            c["disable_parallel_tool_use"] = json!(true);
        }
        let stream = chat.is_stream();
        MessagesRequest {
            model: chat.model.clone(),
            messages,
            max_tokens: chat
                .max_completion_tokens
                .or(chat.max_tokens)
                .unwrap_or(DEFAULT_MAX_TOKENS),
            system: (!system.is_empty()).then(|| Content::Text(system.join("\n\n"))),
            stop_sequences,
            temperature: x
                .get("temperature")
                .and_then(Value::as_f64)
                .map(|t| t.min(1.0)),
            top_p: x.get("top_p").and_then(Value::as_f64),
            top_k: x.get("top_k").and_then(Value::as_u64),
            stream: stream.then_some(true),
            metadata: x
                .get("user")
                .and_then(Value::as_str)
                .map(|u| json!({"user_id": u})),
            tools,
            tool_choice,
            extra: Map::new(),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

fn chat_message(role: &str, content: Option<MessageContent>) -> Message {
    Message {
        role: role.to_owned(),
        content,
        extra: Map::new(),
    }
}

fn text_parts(blocks: &[Block], at: &str) -> Result<Vec<ContentPart>, ParseError> {
    blocks
        .iter()
        .enumerate()
        .map(|(j, b)| match (b.kind.as_str(), b.str("text")) {
            ("text", Some(t)) => Ok(text_part(t)),
            _ => Err(ParseError::invalid(
                format!("{at}.{j}.type"),
                format!("expected a text block, got '{}'", b.kind),
            )),
        })
        .collect()
}

fn text_part(t: &str) -> ContentPart {
    ContentPart {
        kind: "text".into(),
        text: Some(t.to_owned()),
        extra: Map::new(),
    }
}

fn part_to_block(p: &ContentPart) -> Option<Block> {
    match p.kind.as_str() {
        "text" => Some(Block::text(p.text.as_deref().unwrap_or(""))),
        "image_url" => {
            let url = p.extra.get("image_url")?.get("url")?.as_str()?;
            let source = match url
                .strip_prefix("data:")
                .and_then(|rest| rest.split_once(";base64,"))
            {
                Some((media, data)) => {
                    json!({"type": "base64", "media_type": media, "data": data})
                }
                None => json!({"type": "url", "url": url}),
            };
            let mut rest = Map::new();
            rest.insert("source".into(), source);
            Some(Block {
                kind: "image".into(),
                rest,
            })
        }
        _ => None,
    }
}

/// One Messages turn given as blocks, as chat messages: tool results first (each its own
/// `tool` message, answering the previous assistant turn's calls), then the turn itself.
fn blocks_to_chat(
    role: &str,
    blocks: &[Block],
    i: usize,
    out: &mut Vec<Message>,
) -> Result<(), ParseError> {
    let mut parts = Vec::new();
    let mut calls = Vec::new();
    for (j, b) in blocks.iter().enumerate() {
        let at = |field: &str| format!("messages.{i}.content.{j}.{field}");
        match b.kind.as_str() {
            "text" => {
                let Some(t) = b.str("text") else {
                    return Err(ParseError::MissingField { param: at("text") });
                };
                parts.push(text_part(t));
            }
            "image" => {
                let src = b.rest.get("source").cloned().unwrap_or(Value::Null);
                let url = match src.get("type").and_then(Value::as_str) {
                    Some("base64") => format!(
                        "data:{};base64,{}",
                        src["media_type"].as_str().unwrap_or("image/png"),
                        src["data"].as_str().unwrap_or("")
                    ),
                    Some("url") => src["url"].as_str().unwrap_or("").to_owned(),
                    _ => {
                        return Err(ParseError::invalid(
                            at("source.type"),
                            "expected base64 or url",
                        ))
                    }
                };
                let mut extra = Map::new();
                extra.insert("image_url".into(), json!({"url": url}));
                parts.push(ContentPart {
                    kind: "image_url".into(),
                    text: None,
                    extra,
                });
            }
            "tool_use" if role == "assistant" => {
                let input = b.rest.get("input").cloned().unwrap_or_else(|| json!({}));
                calls.push(json!({
                    "id": b.rest.get("id").cloned().unwrap_or(Value::Null),
                    "type": "function",
                    "function": {"name": b.rest.get("name").cloned().unwrap_or(Value::Null),
                                 "arguments": input.to_string()},
                }));
            }
            "tool_result" if role == "user" => {
                let content = match b.rest.get("content") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Array(a)) => a
                        .iter()
                        .filter_map(|c| c.get("text").and_then(Value::as_str))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    _ => String::new(),
                };
                let mut m = chat_message("tool", Some(MessageContent::Text(content)));
                m.extra.insert(
                    "tool_call_id".into(),
                    b.rest.get("tool_use_id").cloned().unwrap_or(Value::Null),
                );
                out.push(m);
            }
            // Reasoning from an earlier turn: only Anthropic can read it back.
            "thinking" | "redacted_thinking" => {}
            other => {
                return Err(ParseError::invalid(
                    at("type"),
                    format!(
                        "content blocks of type '{other}' cannot be sent in a {role} turn here"
                    ),
                ))
            }
        }
    }
    if parts.is_empty() && calls.is_empty() {
        return Ok(());
    }
    let mut m = chat_message(
        role,
        (!parts.is_empty()).then_some(MessageContent::Parts(parts)),
    );
    if !calls.is_empty() {
        m.extra.insert("tool_calls".into(), Value::Array(calls));
    }
    out.push(m);
    Ok(())
}

/// Chat's finish reason as Anthropic's stop reason.
pub fn stop_reason(finish: &str) -> &'static str {
    match finish {
        "length" => "max_tokens",
        "tool_calls" | "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    }
}

/// Anthropic's stop reason as chat's finish reason.
pub fn finish_reason(stop: &str) -> &'static str {
    match stop {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    }
}

/// Anthropic's usage object as chat usage.
pub fn usage_to_chat(u: &Value) -> Usage {
    let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    let (input, output) = (n("input_tokens"), n("output_tokens"));
    let (read, write) = (
        n("cache_read_input_tokens"),
        n("cache_creation_input_tokens"),
    );
    let prompt = input + read + write;
    Usage {
        prompt_tokens: prompt,
        completion_tokens: output,
        total_tokens: prompt + output,
        prompt_tokens_details: (read + write > 0).then_some(PromptTokensDetails {
            cached_tokens: read,
            cache_creation_tokens: write,
        }),
    }
}

/// Chat usage as Anthropic's usage object.
pub fn usage_from_chat(u: &Usage) -> Value {
    let read = u.cached_tokens();
    let write = u.cache_creation_tokens();
    json!({
        "input_tokens": u.prompt_tokens.saturating_sub(read + write),
        "cache_creation_input_tokens": write,
        "cache_read_input_tokens": read,
        "output_tokens": u.completion_tokens,
    })
}

/// A chat completion body as a Messages response.
pub fn message_from_chat(completion: &Value) -> Value {
    let choice = &completion["choices"][0];
    let msg = &choice["message"];
    let mut content = Vec::new();
    let text = msg["content"].as_str().unwrap_or("");
    let calls = msg["tool_calls"].as_array();
    if !text.is_empty() || calls.is_none() {
        content.push(json!({"type": "text", "text": text}));
    }
    for c in calls.into_iter().flatten() {
        let args = c["function"]["arguments"].as_str().unwrap_or("{}");
        content.push(json!({
            "type": "tool_use", "id": c["id"], "name": c["function"]["name"],
            "input": serde_json::from_str::<Value>(args).unwrap_or_else(|_| json!({})),
        }));
    }
    let usage: Usage = serde_json::from_value(completion["usage"].clone()).unwrap_or_default();
    json!({
        "id": message_id(completion["id"].as_str().unwrap_or("")),
        "type": "message",
        "role": "assistant",
        "model": completion["model"],
        "content": content,
        "stop_reason": stop_reason(choice["finish_reason"].as_str().unwrap_or("stop")),
        "stop_sequence": null,
        "usage": usage_from_chat(&usage),
    })
}

/// `msg_…` ids for clients that check the prefix; an id that has one is kept.
fn message_id(id: &str) -> String {
    if id.starts_with("msg_") {
        id.to_owned()
    } else {
        format!("msg_{}", id.trim_start_matches("chatcmpl-"))
    }
}

/// A Messages response as a chat completion body.
pub fn chat_from_message(message: &Value, created: u64) -> Value {
    let mut text = Vec::new();
    let mut calls = Vec::new();
    for b in message["content"].as_array().into_iter().flatten() {
        match b["type"].as_str() {
            Some("text") => text.push(b["text"].as_str().unwrap_or("")),
            Some("tool_use") => calls.push(json!({
                "id": b["id"], "type": "function",
                "function": {"name": b["name"], "arguments": b["input"].to_string()},
            })),
            _ => {}
        }
    }
    let mut m = json!({"role": "assistant", "content": text.concat(), "refusal": null});
    if !calls.is_empty() {
        m["tool_calls"] = Value::Array(calls);
        if text.is_empty() {
            m["content"] = Value::Null;
        }
    }
    let usage = usage_to_chat(&message["usage"]);
    json!({
        "id": message["id"],
        "object": "chat.completion",
        "created": created,
        "model": message["model"],
        "choices": [{
            "index": 0, "message": m, "logprobs": null,
            "finish_reason": finish_reason(message["stop_reason"].as_str().unwrap_or("end_turn")),
        }],
        "usage": usage,
    })
}

/// The error `type` Anthropic uses for a status.
pub fn error_type(status: u16) -> &'static str {
    match status {
        400 | 422 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        504 => "timeout_error",
        _ => "api_error",
    }
}

/// An error body in Anthropic's shape, from an OpenAI-shaped one (or any text).
pub fn error_from_openai(status: u16, body: &[u8]) -> Value {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    json!({"type": "error", "error": {"type": error_type(status), "message": message}})
}

/// An Anthropic error body in OpenAI's shape (for chat clients of an Anthropic target).
pub fn error_to_openai(status: u16, body: &[u8]) -> Value {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let err = parsed.as_ref().map(|v| &v["error"]);
    let message = err
        .and_then(|e| e["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let kind = match status {
        400..=499 if status != 429 => "invalid_request_error",
        _ => "api_error",
    };
    let code = err
        .and_then(|e| e["type"].as_str())
        .unwrap_or("upstream_error");
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

fn event(out: &mut Vec<u8>, name: &str, data: &Value) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    // A Value always serialises.
    out.extend_from_slice(&serde_json::to_vec(data).unwrap_or_default());
    out.extend_from_slice(b"\n\n");
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Open {
    Text,
    /// A tool call, by its chat `tool_calls[].index`.
    Tool(u64),
}

/// Chat completion chunks (the `data:` of each event) in, Messages stream events out.
///
/// `message_start` goes out with the first chunk. Chat streams report usage only at the
/// end, so its `usage` says 0 input tokens; the final `message_delta` carries the whole
/// usage, input tokens included, and the SDKs take it from there.
#[derive(Debug, Default)]
pub struct EventsFromChat {
    started: bool,
    open: Option<(usize, Open)>,
    next_index: usize,
    stop: Option<&'static str>,
    usage: Option<Usage>,
    done: bool,
}

impl EventsFromChat {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `message_stop` (or an `error` event) went out.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// One chat event's data; returns the Messages events it makes (maybe none).
    pub fn push(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        let chunk = match StreamData::read(data) {
            StreamData::Done => {
                self.finish_into(&mut out);
                return out;
            }
            StreamData::Other => return out,
            StreamData::Chunk(c) => c,
            StreamData::Error(err) => {
                self.fail(&mut out, &err);
                return out;
            }
        };
        if !self.started {
            self.start(&mut out, &chunk);
        }
        if let Ok(u) = serde_json::from_value::<Usage>(chunk["usage"].clone()) {
            if !chunk["usage"].is_null() {
                self.usage = Some(u);
            }
        }
        let choice = &chunk["choices"][0];
        let delta = &choice["delta"];
        if let Some(text) = delta["content"].as_str().filter(|t| !t.is_empty()) {
            let index =
                self.open_block(&mut out, Open::Text, || json!({"type": "text", "text": ""}));
            event(
                &mut out,
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": index,
                        "delta": {"type": "text_delta", "text": text}}),
            );
        }
        for call in delta["tool_calls"].as_array().into_iter().flatten() {
            let which = call["index"].as_u64().unwrap_or(0);
            let index = self.open_block(&mut out, Open::Tool(which), || {
                json!({"type": "tool_use", "id": call["id"], "name": call["function"]["name"],
                       "input": {}})
            });
            if let Some(args) = call["function"]["arguments"]
                .as_str()
                .filter(|a| !a.is_empty())
            {
                event(
                    &mut out,
                    "content_block_delta",
                    &json!({"type": "content_block_delta", "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": args}}),
                );
            }
        }
        if let Some(f) = choice["finish_reason"].as_str() {
            self.stop = Some(stop_reason(f));
            self.close_block(&mut out);
        }
        // The usage chunk comes after the finish; without usage `[DONE]` ends it.
        if self.stop.is_some() && self.usage.is_some() {
            self.finish_into(&mut out);
        }
        out
    }

    /// The input ended. A stream that ended without its finish is reported as an error
    /// event rather than as a complete message.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if !self.done {
            if self.stop.is_none() {
                event(
                    &mut out,
                    "error",
                    &json!({"type": "error", "error": {"type": "api_error",
                            "message": "the stream ended before the message was complete"}}),
                );
                self.done = true;
            } else {
                self.finish_into(&mut out);
            }
        }
        out
    }

    fn fail(&mut self, out: &mut Vec<u8>, err: &Value) {
        let message = err["message"]
            .as_str()
            .unwrap_or("the upstream stream failed");
        event(
            out,
            "error",
            &json!({"type": "error", "error": {"type": "api_error", "message": message}}),
        );
        self.done = true;
    }

    fn start(&mut self, out: &mut Vec<u8>, chunk: &Value) {
        self.started = true;
        let id = message_id(chunk["id"].as_str().unwrap_or(""));
        event(
            out,
            "message_start",
            &json!({"type": "message_start", "message": {
                "id": id, "type": "message", "role": "assistant", "model": chunk["model"],
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": 0, "output_tokens": 0},
            }}),
        );
        event(out, "ping", &json!({"type": "ping"}));
    }

    fn open_block(&mut self, out: &mut Vec<u8>, want: Open, start: impl Fn() -> Value) -> usize {
        if let Some((index, open)) = self.open {
            if open == want {
                return index;
            }
        }
        self.close_block(out);
        let index = self.next_index;
        self.next_index += 1;
        event(
            out,
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": start()}),
        );
        self.open = Some((index, want));
        index
    }

    fn close_block(&mut self, out: &mut Vec<u8>) {
        if let Some((index, _)) = self.open.take() {
            event(
                out,
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": index}),
            );
        }
    }

    fn finish_into(&mut self, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        if !self.started {
            // An empty answer still gets its envelope.
            self.start(out, &Value::Null);
        }
        self.close_block(out);
        let usage = self.usage.unwrap_or_default();
        let u = usage_from_chat(&usage);
        event(
            out,
            "message_delta",
            &json!({"type": "message_delta",
                    "delta": {"stop_reason": self.stop.unwrap_or("end_turn"), "stop_sequence": null},
                    "usage": u}),
        );
        event(out, "message_stop", &json!({"type": "message_stop"}));
        self.done = true;
    }
}

/// Messages stream events (each event's `data:`) in, chat completion chunks out: what a
/// `kind: anthropic` provider's stream looks like to the rest of the gateway. Input
/// tokens come from `message_start`, output tokens from `message_delta`; the usage chunk
/// and `[DONE]` follow `message_stop`.
#[derive(Debug)]
pub struct ChatFromEvents {
    id: String,
    model: Value,
    created: u64,
    include_usage: bool,
    usage: Value,
    /// Content block index → chat tool call index, for tool_use blocks.
    tools: Vec<(u64, usize)>,
    done: bool,
}

impl ChatFromEvents {
    pub fn new(created: u64, include_usage: bool) -> Self {
        ChatFromEvents {
            id: String::new(),
            model: Value::Null,
            created,
            include_usage,
            usage: json!({}),
            tools: Vec::new(),
            done: false,
        }
    }

    fn chunk(&self, out: &mut Vec<u8>, choices: Value, usage: Option<&Usage>) {
        let mut c = json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model, "system_fingerprint": null, "choices": choices,
        });
        if self.include_usage {
            c["usage"] = usage.map_or(Value::Null, |u| json!(u));
        }
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&serde_json::to_vec(&c).unwrap_or_default());
        out.extend_from_slice(b"\n\n");
    }

    fn delta(&self, out: &mut Vec<u8>, delta: Value, finish: Option<&str>) {
        let choices =
            json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]);
        self.chunk(out, choices, None);
    }

    pub fn push(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        let Ok(ev) = serde_json::from_slice::<Value>(data) else {
            return out;
        };
        match ev["type"].as_str().unwrap_or("") {
            "message_start" => {
                let m = &ev["message"];
                self.id = m["id"].as_str().unwrap_or("").to_owned();
                self.model = m["model"].clone();
                merge_usage(&mut self.usage, &m["usage"]);
                self.delta(&mut out, json!({"role": "assistant", "content": ""}), None);
            }
            "content_block_start" => {
                let b = &ev["content_block"];
                match b["type"].as_str() {
                    Some("text") => {
                        if let Some(t) = b["text"].as_str().filter(|t| !t.is_empty()) {
                            self.delta(&mut out, json!({"content": t}), None);
                        }
                    }
                    Some("tool_use") => {
                        let which = self.tools.len();
                        self.tools.push((ev["index"].as_u64().unwrap_or(0), which));
                        self.delta(
                            &mut out,
                            json!({"tool_calls": [{"index": which, "id": b["id"], "type": "function",
                                    "function": {"name": b["name"], "arguments": ""}}]}),
                            None,
                        );
                    }
                    _ => {}
                }
            }
            "content_block_delta" => {
                let d = &ev["delta"];
                match d["type"].as_str() {
                    Some("text_delta") => {
                        self.delta(&mut out, json!({"content": d["text"]}), None);
                    }
                    Some("input_json_delta") => {
                        let block = ev["index"].as_u64().unwrap_or(0);
                        if let Some(&(_, which)) = self.tools.iter().find(|(b, _)| *b == block) {
                            self.delta(
                                &mut out,
                                json!({"tool_calls": [{"index": which,
                                        "function": {"arguments": d["partial_json"]}}]}),
                                None,
                            );
                        }
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                merge_usage(&mut self.usage, &ev["usage"]);
                if let Some(stop) = ev["delta"]["stop_reason"].as_str() {
                    self.delta(&mut out, json!({}), Some(finish_reason(stop)));
                }
            }
            "message_stop" => {
                if self.include_usage {
                    let u = usage_to_chat(&self.usage);
                    self.chunk(&mut out, json!([]), Some(&u));
                }
                out.extend_from_slice(b"data: [DONE]\n\n");
                self.done = true;
            }
            "error" => {
                let e = &ev["error"];
                let body = json!({"error": {"message": e["message"], "type": "api_error",
                                  "param": null, "code": e["type"]}});
                out.extend_from_slice(b"data: ");
                out.extend_from_slice(&serde_json::to_vec(&body).unwrap_or_default());
                out.extend_from_slice(b"\n\n");
                self.done = true;
            }
            _ => {}
        }
        out
    }
}

/// Later usage objects overwrite the fields they carry (`message_delta` has the final
/// output count and, in newer API versions, the input counts again).
fn merge_usage(into: &mut Value, from: &Value) {
    if let (Some(into), Some(from)) = (into.as_object_mut(), from.as_object()) {
        for (k, v) in from {
            if !v.is_null() {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}
