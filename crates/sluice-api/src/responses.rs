//! OpenAI's Responses API, stateless subset, translated to and from chat completions.
//!
//! Sluice stores no responses, so `previous_response_id` (and reading a stored response
//! back) is refused with a 400 that says to send the whole conversation in `input`.
//! Function tools, structured output (`text.format`), instructions and images translate;
//! OpenAI's built-in tools (web search, file search, computer use) do not, and are refused
//! naming the tool rather than silently dropped.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::chat::{
    ChatCompletionRequest, ContentPart, Message, MessageContent, ParseError, StreamOptions, Usage,
};
use crate::completion::StreamData;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponsesRequest {
    pub model: String,
    pub input: Input,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_response_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// `store`, `include`, `truncation`, `reasoning`, `service_tier`...: accepted, not acted on.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Input {
    Text(String),
    Items(Vec<Value>),
}

fn message(role: &str, content: Option<MessageContent>) -> Message {
    Message {
        role: role.to_owned(),
        content,
        extra: Map::new(),
    }
}

fn text_part(t: &str) -> ContentPart {
    ContentPart {
        kind: "text".into(),
        text: Some(t.to_owned()),
        extra: Map::new(),
    }
}

impl ResponsesRequest {
    pub fn from_slice(body: &[u8]) -> Result<Self, ParseError> {
        let de = &mut serde_json::Deserializer::from_slice(body);
        let req: ResponsesRequest =
            serde_path_to_error::deserialize(de).map_err(ParseError::from_serde)?;
        if req.model.is_empty() {
            return Err(ParseError::invalid(
                "model",
                "you must provide a model parameter",
            ));
        }
        if req.previous_response_id.is_some() {
            return Err(ParseError::invalid(
                "previous_response_id",
                "Sluice keeps no responses, so it cannot continue one: send the whole \
                 conversation in 'input' instead",
            ));
        }
        if matches!(&req.input, Input::Items(items) if items.is_empty()) {
            return Err(ParseError::invalid(
                "input",
                "'input' must contain at least one item",
            ));
        }
        Ok(req)
    }

    pub fn is_stream(&self) -> bool {
        self.stream.unwrap_or(false)
    }

    pub fn to_chat(&self) -> Result<ChatCompletionRequest, ParseError> {
        let mut messages = Vec::new();
        if let Some(i) = &self.instructions {
            messages.push(message("system", Some(MessageContent::Text(i.clone()))));
        }
        match &self.input {
            Input::Text(s) => messages.push(message("user", Some(MessageContent::Text(s.clone())))),
            Input::Items(items) => {
                for (i, item) in items.iter().enumerate() {
                    item_to_chat(item, i, &mut messages)?;
                }
            }
        }
        if messages.iter().all(|m| m.role == "system") {
            return Err(ParseError::invalid(
                "input",
                "there is no user or assistant message to answer",
            ));
        }
        let mut extra = Map::new();
        if let Some(t) = self.temperature {
            extra.insert("temperature".into(), json!(t));
        }
        if let Some(p) = self.top_p {
            extra.insert("top_p".into(), json!(p));
        }
        if let Some(u) = &self.user {
            extra.insert("user".into(), json!(u));
        }
        if let Some(p) = self.parallel_tool_calls {
            extra.insert("parallel_tool_calls".into(), json!(p));
        }
        if let Some(tools) = &self.tools {
            let mut out = Vec::new();
            for (i, t) in tools.iter().enumerate() {
                if t["type"] != "function" {
                    return Err(ParseError::invalid(
                        format!("tools[{i}].type"),
                        format!("only function tools can be served here, not {}", t["type"]),
                    ));
                }
                let mut f = Map::new();
                for k in ["name", "description", "parameters", "strict"] {
                    if let Some(v) = t.get(k).filter(|v| !v.is_null()) {
                        f.insert(k.into(), v.clone());
                    }
                }
                out.push(json!({"type": "function", "function": f}));
            }
            extra.insert("tools".into(), Value::Array(out));
        }
        if let Some(c) = &self.tool_choice {
            let mapped = match c {
                Value::String(_) => c.clone(),
                Value::Object(o) if o.get("type") == Some(&json!("function")) => {
                    json!({"type": "function", "function": {"name": o.get("name")}})
                }
                _ => {
                    return Err(ParseError::invalid(
                        "tool_choice",
                        "expected auto, none, required or a function",
                    ))
                }
            };
            extra.insert("tool_choice".into(), mapped);
        }
        if let Some(format) = self.text.as_ref().and_then(|t| t.get("format")) {
            match format["type"].as_str() {
                Some("text") | None => {}
                Some("json_object") => {
                    extra.insert("response_format".into(), json!({"type": "json_object"}));
                }
                Some("json_schema") => {
                    let mut schema = Map::new();
                    for k in ["name", "schema", "strict", "description"] {
                        if let Some(v) = format.get(k).filter(|v| !v.is_null()) {
                            schema.insert(k.into(), v.clone());
                        }
                    }
                    extra.insert(
                        "response_format".into(),
                        json!({"type": "json_schema", "json_schema": schema}),
                    );
                }
                Some(other) => {
                    return Err(ParseError::invalid(
                        "text.format.type",
                        format!("unknown format '{other}'"),
                    ))
                }
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
            max_tokens: self.max_output_tokens,
            max_completion_tokens: None,
            extra,
        })
    }

    /// The request's settings as a response object echoes them, before any output.
    pub fn skeleton(&self, id: &str, model: &Value, created_at: u64) -> Value {
        json!({
            "id": id, "object": "response", "created_at": created_at, "status": "in_progress",
            "error": null, "incomplete_details": null,
            "instructions": self.instructions, "max_output_tokens": self.max_output_tokens,
            "model": model, "output": [], "parallel_tool_calls": self.parallel_tool_calls.unwrap_or(true),
            "previous_response_id": null, "reasoning": {"effort": null, "summary": null},
            "store": false, "temperature": self.temperature.unwrap_or(1.0),
            "text": self.text.clone().unwrap_or_else(|| json!({"format": {"type": "text"}})),
            "tool_choice": self.tool_choice.clone().unwrap_or_else(|| json!("auto")),
            "tools": self.tools.clone().unwrap_or_default(),
            "top_p": self.top_p.unwrap_or(1.0), "truncation": "disabled",
            "usage": null, "user": self.user,
            "metadata": self.metadata.clone().unwrap_or_else(|| json!({})),
        })
    }
}

fn item_to_chat(item: &Value, i: usize, out: &mut Vec<Message>) -> Result<(), ParseError> {
    let kind = item["type"].as_str().unwrap_or("message");
    match kind {
        "message" => {
            let role = match item["role"].as_str() {
                Some("developer" | "system") => "system",
                Some(r @ ("user" | "assistant")) => r,
                other => {
                    return Err(ParseError::invalid(
                        format!("input[{i}].role"),
                        format!("expected user, assistant, system or developer, got {other:?}"),
                    ))
                }
            };
            let content = match &item["content"] {
                Value::String(s) => MessageContent::Text(s.clone()),
                Value::Array(parts) => {
                    let mut out = Vec::new();
                    for (j, p) in parts.iter().enumerate() {
                        match p["type"].as_str() {
                            Some("input_text" | "output_text") => {
                                out.push(text_part(p["text"].as_str().unwrap_or("")));
                            }
                            Some("refusal") => {
                                out.push(text_part(p["refusal"].as_str().unwrap_or("")));
                            }
                            Some("input_image") => {
                                let Some(url) = p["image_url"].as_str() else {
                                    return Err(ParseError::invalid(
                                        format!("input[{i}].content[{j}].image_url"),
                                        "images are taken by URL or data URL (file ids need stored files)",
                                    ));
                                };
                                let mut image = json!({"url": url});
                                if let Some(d) = p["detail"].as_str() {
                                    image["detail"] = json!(d);
                                }
                                let mut extra = Map::new();
                                extra.insert("image_url".into(), image);
                                out.push(ContentPart {
                                    kind: "image_url".into(),
                                    text: None,
                                    extra,
                                });
                            }
                            other => {
                                return Err(ParseError::invalid(
                                    format!("input[{i}].content[{j}].type"),
                                    format!("content of type {other:?} cannot be served here"),
                                ))
                            }
                        }
                    }
                    MessageContent::Parts(out)
                }
                _ => {
                    return Err(ParseError::invalid(
                        format!("input[{i}].content"),
                        "expected a string or a list of content parts",
                    ))
                }
            };
            out.push(message(role, Some(content)));
        }
        "function_call" => {
            let call = json!({
                "id": item["call_id"], "type": "function",
                "function": {"name": item["name"], "arguments": item["arguments"].as_str().unwrap_or("{}")},
            });
            // Calls made in one turn belong to one assistant message.
            let joins = out
                .last()
                .is_some_and(|m| m.role == "assistant" && m.extra.contains_key("tool_calls"));
            if !joins {
                out.push(message("assistant", None));
            }
            if let Some(last) = out.last_mut() {
                let calls = last
                    .extra
                    .entry("tool_calls")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(a) = calls {
                    a.push(call);
                }
            }
        }
        "function_call_output" => {
            let output = match &item["output"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let mut m = message("tool", Some(MessageContent::Text(output)));
            m.extra
                .insert("tool_call_id".into(), item["call_id"].clone());
            out.push(m);
        }
        // Reasoning items of an earlier turn: only OpenAI could read them back.
        "reasoning" => {}
        other => {
            return Err(ParseError::invalid(
                format!("input[{i}].type"),
                format!("items of type '{other}' cannot be served here"),
            ))
        }
    }
    Ok(())
}

/// `resp_…` from a chat completion id.
pub fn response_id(chat_id: &str) -> String {
    format!("resp_{}", chat_id.trim_start_matches("chatcmpl-"))
}

fn usage_json(u: &Usage) -> Value {
    json!({
        "input_tokens": u.prompt_tokens,
        "input_tokens_details": {"cached_tokens": u.cached_tokens()},
        "output_tokens": u.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": u.prompt_tokens + u.completion_tokens,
    })
}

/// `status` and `incomplete_details` for a chat finish reason.
fn status_of(finish: Option<&str>) -> (&'static str, Value) {
    match finish {
        Some("length") => ("incomplete", json!({"reason": "max_output_tokens"})),
        Some("content_filter") => ("incomplete", json!({"reason": "content_filter"})),
        _ => ("completed", Value::Null),
    }
}

fn message_item(id: &str, text: &str, status: &str) -> Value {
    json!({"id": id, "type": "message", "status": status, "role": "assistant",
           "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]})
}

fn call_item(call_id: &str, name: &str, arguments: &str, status: &str) -> Value {
    json!({"id": format!("fc_{call_id}"), "type": "function_call", "status": status,
           "call_id": call_id, "name": name, "arguments": arguments})
}

/// A chat completion body as a response object.
pub fn response_from_chat(req: &ResponsesRequest, completion: &Value, created_at: u64) -> Value {
    let id = response_id(completion["id"].as_str().unwrap_or(""));
    let mut r = req.skeleton(&id, &completion["model"], created_at);
    let choice = &completion["choices"][0];
    let msg = &choice["message"];
    let text = msg["content"].as_str().unwrap_or("");
    let calls = msg["tool_calls"].as_array();
    let mut output = Vec::new();
    if !text.is_empty() || calls.is_none() {
        output.push(message_item(
            &format!("msg_{}", &id[5..]),
            text,
            "completed",
        ));
    }
    for c in calls.into_iter().flatten() {
        output.push(call_item(
            c["id"].as_str().unwrap_or(""),
            c["function"]["name"].as_str().unwrap_or(""),
            c["function"]["arguments"].as_str().unwrap_or(""),
            "completed",
        ));
    }
    let (status, incomplete) = status_of(choice["finish_reason"].as_str());
    let usage: Usage = serde_json::from_value(completion["usage"].clone()).unwrap_or_default();
    r["status"] = json!(status);
    r["incomplete_details"] = incomplete;
    r["output"] = Value::Array(output);
    r["usage"] = usage_json(&usage);
    r
}

/// A function call being streamed.
#[derive(Debug, Default)]
struct Call {
    output_index: usize,
    id: String,
    name: String,
    arguments: String,
}

/// Chat completion chunks in, Responses stream events out: `response.created`,
/// `response.in_progress`, the output item and content part events around each
/// `response.output_text.delta` (and function call argument deltas), then
/// `response.completed` (or `response.incomplete`) with the usage.
#[derive(Debug)]
pub struct EventsFromChat {
    response: Value,
    seq: u64,
    started: bool,
    /// The message item's output index, once it began.
    text_item: Option<usize>,
    text: String,
    calls: Vec<(u64, Call)>,
    next_output: usize,
    finish: Option<String>,
    usage: Option<Usage>,
    done: bool,
}

impl EventsFromChat {
    pub fn new(req: &ResponsesRequest, created_at: u64) -> Self {
        EventsFromChat {
            response: req.skeleton("", &Value::Null, created_at),
            seq: 0,
            started: false,
            text_item: None,
            text: String::new(),
            calls: Vec::new(),
            next_output: 0,
            finish: None,
            usage: None,
            done: false,
        }
    }

    fn event(&mut self, out: &mut Vec<u8>, kind: &str, mut data: Value) {
        data["type"] = json!(kind);
        data["sequence_number"] = json!(self.seq);
        self.seq += 1;
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\ndata: ");
        out.extend_from_slice(&serde_json::to_vec(&data).unwrap_or_default());
        out.extend_from_slice(b"\n\n");
    }

    fn id(&self) -> String {
        self.response["id"].as_str().unwrap_or("").to_owned()
    }

    fn item_id(&self) -> String {
        let id = self.id();
        format!("msg_{}", id.get(5..).unwrap_or(""))
    }

    pub fn push(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        let chunk = match StreamData::read(data) {
            StreamData::Done => {
                self.complete(&mut out);
                return out;
            }
            StreamData::Other => return out,
            StreamData::Chunk(c) => c,
            StreamData::Error(err) => {
                let e = json!({"code": err["code"], "message": err["message"], "param": null});
                self.event(&mut out, "error", e);
                self.done = true;
                return out;
            }
        };
        if !self.started {
            self.start(&mut out, &chunk);
        }
        if !chunk["usage"].is_null() {
            if let Ok(u) = serde_json::from_value::<Usage>(chunk["usage"].clone()) {
                self.usage = Some(u);
            }
        }
        let choice = &chunk["choices"][0];
        if let Some(t) = choice["delta"]["content"]
            .as_str()
            .filter(|t| !t.is_empty())
        {
            let output_index = self.open_text(&mut out);
            self.text.push_str(t);
            let item_id = self.item_id();
            self.event(
                &mut out,
                "response.output_text.delta",
                json!({"item_id": item_id, "output_index": output_index, "content_index": 0,
                       "delta": t, "logprobs": []}),
            );
        }
        for c in choice["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let which = c["index"].as_u64().unwrap_or(0);
            if !self.calls.iter().any(|(w, _)| *w == which) {
                let call = Call {
                    output_index: self.next_output,
                    id: c["id"].as_str().unwrap_or("").to_owned(),
                    name: c["function"]["name"].as_str().unwrap_or("").to_owned(),
                    arguments: String::new(),
                };
                self.next_output += 1;
                let item = call_item(&call.id, &call.name, "", "in_progress");
                let index = call.output_index;
                self.calls.push((which, call));
                self.event(
                    &mut out,
                    "response.output_item.added",
                    json!({"output_index": index, "item": item}),
                );
            }
            if let Some(args) = c["function"]["arguments"]
                .as_str()
                .filter(|a| !a.is_empty())
            {
                let Some((_, call)) = self.calls.iter_mut().find(|(w, _)| *w == which) else {
                    continue;
                };
                call.arguments.push_str(args);
                let (index, item_id) = (call.output_index, format!("fc_{}", call.id));
                self.event(
                    &mut out,
                    "response.function_call_arguments.delta",
                    json!({"item_id": item_id, "output_index": index, "delta": args}),
                );
            }
        }
        if let Some(f) = choice["finish_reason"].as_str() {
            self.finish = Some(f.to_owned());
        }
        if self.finish.is_some() && self.usage.is_some() {
            self.complete(&mut out);
        }
        out
    }

    /// The input ended; one that ended without its finish is an error event.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        if self.finish.is_none() {
            self.event(
                &mut out,
                "error",
                json!({"code": "stream_interrupted", "param": null,
                       "message": "the stream ended before the response was complete"}),
            );
            self.done = true;
        } else {
            self.complete(&mut out);
        }
        out
    }

    fn start(&mut self, out: &mut Vec<u8>, chunk: &Value) {
        self.started = true;
        self.response["id"] = json!(response_id(chunk["id"].as_str().unwrap_or("")));
        self.response["model"] = chunk["model"].clone();
        let r = self.response.clone();
        self.event(out, "response.created", json!({"response": r}));
        self.event(out, "response.in_progress", json!({"response": r}));
    }

    fn open_text(&mut self, out: &mut Vec<u8>) -> usize {
        if let Some(i) = self.text_item {
            return i;
        }
        let index = self.next_output;
        self.next_output += 1;
        self.text_item = Some(index);
        let item_id = self.item_id();
        let mut item = message_item(&item_id, "", "in_progress");
        item["content"] = json!([]);
        self.event(
            out,
            "response.output_item.added",
            json!({"output_index": index, "item": item}),
        );
        self.event(
            out,
            "response.content_part.added",
            json!({"item_id": item_id, "output_index": index, "content_index": 0,
                   "part": {"type": "output_text", "text": "", "annotations": []}}),
        );
        index
    }

    fn complete(&mut self, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        if !self.started {
            self.start(out, &Value::Null);
        }
        if self.text_item.is_none() && self.calls.is_empty() {
            self.open_text(out);
        }
        let mut output: Vec<(usize, Value)> = Vec::new();
        if let Some(index) = self.text_item {
            let item_id = self.item_id();
            let text = self.text.clone();
            self.event(
                out,
                "response.output_text.done",
                json!({"item_id": item_id, "output_index": index, "content_index": 0,
                       "text": text, "logprobs": []}),
            );
            self.event(
                out,
                "response.content_part.done",
                json!({"item_id": item_id, "output_index": index, "content_index": 0,
                       "part": {"type": "output_text", "text": text, "annotations": []}}),
            );
            let item = message_item(&item_id, &text, "completed");
            self.event(
                out,
                "response.output_item.done",
                json!({"output_index": index, "item": item}),
            );
            output.push((index, item));
        }
        let calls = std::mem::take(&mut self.calls);
        for (_, c) in &calls {
            let item_id = format!("fc_{}", c.id);
            self.event(
                out,
                "response.function_call_arguments.done",
                json!({"item_id": item_id, "output_index": c.output_index, "arguments": c.arguments}),
            );
            let item = call_item(&c.id, &c.name, &c.arguments, "completed");
            self.event(
                out,
                "response.output_item.done",
                json!({"output_index": c.output_index, "item": item}),
            );
            output.push((c.output_index, item));
        }
        output.sort_by_key(|(i, _)| *i);
        let (status, incomplete) = status_of(self.finish.as_deref());
        let mut r = self.response.clone();
        r["status"] = json!(status);
        r["incomplete_details"] = incomplete;
        r["output"] = Value::Array(output.into_iter().map(|(_, v)| v).collect());
        r["usage"] = usage_json(&self.usage.unwrap_or_default());
        let kind = if status == "completed" {
            "response.completed"
        } else {
            "response.incomplete"
        };
        self.event(out, kind, json!({"response": r}));
        self.done = true;
    }
}
