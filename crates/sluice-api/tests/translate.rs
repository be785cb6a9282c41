//! The protocol translators hold to their round trips: chat → Messages → chat keeps text,
//! roles, tool calls, stop reasons and usage; so do completions and streams translated
//! both ways, however the stream's bytes are split. Random inputs never panic them.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::{json, Value};
use sluice_api::anthropic::{
    chat_from_message, message_from_chat, ChatFromEvents, EventsFromChat, MessagesRequest,
};
use sluice_api::chat::{ChatCompletionRequest, Message, MessageContent, Usage};
use sluice_api::sse::SseScanner;

/// What a conversation means, whatever its wire shape: per turn the role, the text, the
/// tool calls (id, name, parsed arguments) and the call a tool message answers.
#[derive(Debug, PartialEq)]
struct Turn {
    role: String,
    text: String,
    calls: Vec<(String, String, Value)>,
    answers: Option<String>,
}

fn meaning(messages: &[Message]) -> Vec<Turn> {
    messages
        .iter()
        .map(|m| Turn {
            role: m.role.clone(),
            text: m
                .content
                .as_ref()
                .map(|c| c.text().into_owned())
                .unwrap_or_default(),
            calls: m
                .extra
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|c| {
                    (
                        c["id"].as_str().unwrap().to_owned(),
                        c["function"]["name"].as_str().unwrap().to_owned(),
                        serde_json::from_str(c["function"]["arguments"].as_str().unwrap()).unwrap(),
                    )
                })
                .collect(),
            answers: m
                .extra
                .get("tool_call_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
        .collect()
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-zA-Z0-9 .,?!]{1,40}", "\\PC{1,20}"]
}

/// A conversation as chat clients send them: an optional system message, then user and
/// assistant turns; an assistant turn may call tools, answered by tool messages, after
/// which the user speaks again.
fn conversation() -> impl Strategy<Value = Vec<Message>> {
    let call = ("[a-z]{3,8}", "[a-z_]{1,10}", any::<i32>(), text());
    let exchange = (
        text(),
        any::<bool>(),
        text(),
        prop::collection::vec(call, 0..3),
    );
    (
        prop::option::of(text()),
        prop::collection::vec(exchange, 1..4),
        text(),
    )
        .prop_map(|(system, exchanges, last)| {
            let msg = |role: &str, content: Option<MessageContent>| Message {
                role: role.into(),
                content,
                extra: Default::default(),
            };
            let mut out = Vec::new();
            if let Some(s) = system {
                out.push(msg("system", Some(MessageContent::Text(s))));
            }
            for (i, (user, parts, answer, calls)) in exchanges.into_iter().enumerate() {
                let content = if parts {
                    MessageContent::Parts(vec![serde_json::from_value(
                        json!({"type": "text", "text": user}),
                    )
                    .unwrap()])
                } else {
                    MessageContent::Text(user)
                };
                out.push(msg("user", Some(content)));
                let mut a = msg("assistant", Some(MessageContent::Text(answer)));
                let calls: Vec<Value> = calls
                    .iter()
                    .enumerate()
                    .map(|(j, (id, name, n, s))| {
                        json!({"id": format!("{id}{i}{j}"), "type": "function",
                               "function": {"name": name,
                                            "arguments": json!({"n": n, "s": s}).to_string()}})
                    })
                    .collect();
                let ids: Vec<String> = calls
                    .iter()
                    .map(|c| c["id"].as_str().unwrap().to_owned())
                    .collect();
                if !calls.is_empty() {
                    a.extra.insert("tool_calls".into(), Value::Array(calls));
                }
                out.push(a);
                for id in ids {
                    let mut t = msg(
                        "tool",
                        Some(MessageContent::Text(format!("result of {id}"))),
                    );
                    t.extra.insert("tool_call_id".into(), json!(id));
                    out.push(t);
                }
            }
            out.push(msg("user", Some(MessageContent::Text(last))));
            out
        })
}

fn chat_request(messages: Vec<Message>, extra: Value, stream: bool) -> ChatCompletionRequest {
    let mut v = json!({"model": "m", "messages": messages, "max_tokens": 77});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    if stream {
        v["stream"] = json!(true);
        v["stream_options"] = json!({"include_usage": true});
    }
    ChatCompletionRequest::from_slice(&serde_json::to_vec(&v).unwrap()).unwrap()
}

fn usage() -> impl Strategy<Value = Usage> {
    (0u64..5000, 0u64..500, 0u64..500, 0u64..3000).prop_map(|(input, read, write, out)| {
        serde_json::from_value(json!({
            "prompt_tokens": input + read + write, "completion_tokens": out,
            "total_tokens": input + read + write + out,
            "prompt_tokens_details": {"cached_tokens": read, "cache_creation_tokens": write},
        }))
        .unwrap()
    })
}

fn finish() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("stop"),
        Just("length"),
        Just("tool_calls"),
        Just("content_filter")
    ]
}

/// A chat stream as SSE bytes: role chunk, content pieces, the finish, the usage chunk.
fn chat_stream(pieces: &[String], finish: &str, usage: &Usage) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chunk = |v: Value| {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&serde_json::to_vec(&v).unwrap());
        out.extend_from_slice(b"\n\n");
    };
    let base = |choices: Value, usage: Value| {
        json!({"id": "chatcmpl-7", "object": "chat.completion.chunk", "created": 1,
               "model": "m", "choices": choices, "usage": usage})
    };
    let delta = |d: Value, f: Value| json!([{"index": 0, "delta": d, "finish_reason": f}]);
    chunk(base(
        delta(json!({"role": "assistant", "content": ""}), Value::Null),
        Value::Null,
    ));
    for p in pieces {
        chunk(base(delta(json!({"content": p}), Value::Null), Value::Null));
    }
    chunk(base(delta(json!({}), json!(finish)), Value::Null));
    chunk(base(json!([]), json!(usage)));
    out.extend_from_slice(b"data: [DONE]\n\n");
    out
}

/// Feeds SSE bytes, split at the given points, through a scanner into `f`.
fn scan_split(bytes: &[u8], cuts: &[usize], mut f: impl FnMut(&[u8])) {
    let mut scanner = SseScanner::new();
    let mut at = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    for c in cuts.into_iter().chain([bytes.len()]) {
        if c >= at {
            scanner.push(&bytes[at..c], &mut f);
            at = c;
        }
    }
}

/// Chat chunks read back: the text, the finish reason and the usage.
fn read_chat(bytes: &[u8]) -> (String, Option<String>, Option<Usage>, bool) {
    let (mut text, mut finish, mut usage, mut done) = (String::new(), None, None, false);
    scan_split(bytes, &[], |data| {
        if data == b"[DONE]" {
            done = true;
            return;
        }
        let v: Value = serde_json::from_slice(data).unwrap();
        if let Some(t) = v["choices"][0]["delta"]["content"].as_str() {
            text.push_str(t);
        }
        if let Some(f) = v["choices"][0]["finish_reason"].as_str() {
            finish = Some(f.to_owned());
        }
        if !v["usage"].is_null() {
            usage = Some(serde_json::from_value(v["usage"].clone()).unwrap());
        }
    });
    (text, finish, usage, done)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn chat_to_messages_and_back_keeps_the_conversation(
        messages in conversation(),
        temperature in prop::option::of(0.0f64..1.0),
        stop in prop::option::of(prop::collection::vec("[a-z]{1,5}", 1..3)),
        stream in any::<bool>(),
    ) {
        let mut extra = json!({});
        if let Some(t) = temperature { extra["temperature"] = json!(t); }
        if let Some(s) = &stop { extra["stop"] = json!(s); }
        let chat = chat_request(messages, extra, stream);
        let wire = MessagesRequest::from_chat(&chat).to_vec();
        // What goes to Anthropic parses as a Messages request...
        let messages_req = MessagesRequest::from_slice(&wire).unwrap();
        prop_assert_eq!(messages_req.max_tokens, 77);
        let back = messages_req.to_chat().unwrap();
        // ...and comes back with the same turns, parameters and streaming.
        prop_assert_eq!(meaning(&back.messages), meaning(&chat.messages));
        prop_assert_eq!(back.max_tokens, Some(77));
        prop_assert_eq!(back.extra.get("temperature"), chat.extra.get("temperature"));
        prop_assert_eq!(back.extra.get("stop"), chat.extra.get("stop"));
        prop_assert_eq!(back.is_stream(), stream);
        prop_assert_eq!(back.wants_stream_usage(), stream);
    }

    #[test]
    fn completions_translate_both_ways(
        content in text(), finish in finish(), usage in usage(),
    ) {
        let completion = json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 5,
            "model": "m", "choices": [{"index": 0, "message": {"role": "assistant",
            "content": content}, "finish_reason": finish}], "usage": usage});
        let message = message_from_chat(&completion);
        prop_assert_eq!(&message["type"], "message");
        prop_assert_eq!(
            message["usage"]["input_tokens"].as_u64().unwrap()
                + message["usage"]["cache_read_input_tokens"].as_u64().unwrap()
                + message["usage"]["cache_creation_input_tokens"].as_u64().unwrap(),
            usage.prompt_tokens
        );
        let back = chat_from_message(&message, 5);
        prop_assert_eq!(&back["choices"][0]["message"]["content"], &json!(content));
        prop_assert_eq!(&back["choices"][0]["finish_reason"], &json!(finish));
        let u: Usage = serde_json::from_value(back["usage"].clone()).unwrap();
        prop_assert_eq!(u.prompt_tokens, usage.prompt_tokens);
        prop_assert_eq!(u.completion_tokens, usage.completion_tokens);
        prop_assert_eq!(u.cached_tokens(), usage.cached_tokens());
        prop_assert_eq!(u.cache_creation_tokens(), usage.cache_creation_tokens());
    }

    #[test]
    fn streams_translate_both_ways_however_split(
        pieces in prop::collection::vec(text(), 0..8),
        finish in finish(),
        usage in usage(),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
        cuts2 in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let chat = chat_stream(&pieces, finish, &usage);
        // Chat → Messages events, fed in arbitrary pieces.
        let mut to_events = EventsFromChat::new();
        let mut events = Vec::new();
        scan_split(&chat, &cuts, |d| events.extend(to_events.push(d)));
        events.extend(to_events.finish());
        prop_assert!(to_events.is_done());
        // The event sequence is Anthropic's.
        let mut names = Vec::new();
        let mut text = String::new();
        scan_split(&events, &[], |d| {
            let v: Value = serde_json::from_slice(d).unwrap();
            if let Some(t) = v["delta"]["text"].as_str() { text.push_str(t); }
            names.push(v["type"].as_str().unwrap().to_owned());
        });
        prop_assert_eq!(&text, &pieces.concat());
        prop_assert_eq!(names.first().map(String::as_str), Some("message_start"));
        prop_assert_eq!(names.last().map(String::as_str), Some("message_stop"));
        prop_assert_eq!(names.iter().filter(|n| *n == "content_block_start").count(),
                        names.iter().filter(|n| *n == "content_block_stop").count());
        // Messages events → chat, fed in other pieces.
        let mut to_chat = ChatFromEvents::new(1, true);
        let mut back = Vec::new();
        scan_split(&events, &cuts2, |d| back.extend(to_chat.push(d)));
        let (t, f, u, done) = read_chat(&back);
        prop_assert!(done);
        prop_assert_eq!(t, pieces.concat());
        prop_assert_eq!(f.as_deref(), Some(finish));
        let u = u.unwrap();
        prop_assert_eq!(u.prompt_tokens, usage.prompt_tokens);
        prop_assert_eq!(u.completion_tokens, usage.completion_tokens);
        prop_assert_eq!(u.cached_tokens(), usage.cached_tokens());
        prop_assert_eq!(u.cache_creation_tokens(), usage.cache_creation_tokens());
    }

    #[test]
    fn translators_never_panic_on_any_json(v in any_json()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        if let Ok(req) = MessagesRequest::from_slice(&bytes) {
            if let Ok(chat) = req.to_chat() {
                let _ = MessagesRequest::from_chat(&chat).to_vec();
            }
        }
        let _ = message_from_chat(&v);
        let _ = chat_from_message(&v, 0);
        let mut a = EventsFromChat::new();
        let _ = a.push(&bytes);
        let _ = a.finish();
        let _ = ChatFromEvents::new(0, true).push(&bytes);
    }
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z_]{0,10}".prop_map(Value::String),
    ];
    let keys = prop_oneof![
        Just("model"),
        Just("messages"),
        Just("role"),
        Just("content"),
        Just("type"),
        Just("text"),
        Just("max_tokens"),
        Just("system"),
        Just("choices"),
        Just("delta"),
        Just("message"),
        Just("usage"),
        Just("tool_calls"),
        Just("tools"),
        Just("tool_choice"),
        Just("function"),
        Just("input_schema"),
        Just("name"),
        Just("index"),
        Just("content_block"),
        Just("source"),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..6).prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

#[test]
fn a_messages_request_becomes_chat() {
    let body = json!({
        "model": "auto", "max_tokens": 300, "system": [{"type": "text", "text": "Be brief."}],
        "stop_sequences": ["END"], "temperature": 0.2, "top_k": 5, "stream": true,
        "metadata": {"user_id": "u-9"},
        "tools": [{"name": "weather", "description": "Weather", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "tool", "name": "weather"},
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "tu_1", "name": "weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "tu_1", "content": "18C"},
                {"type": "text", "text": "Thanks"}]},
        ],
    });
    let req = MessagesRequest::from_slice(&serde_json::to_vec(&body).unwrap()).unwrap();
    let chat = serde_json::to_value(req.to_chat().unwrap()).unwrap();
    assert_eq!(
        chat,
        json!({
            "model": "auto", "stream": true, "stream_options": {"include_usage": true},
            "max_tokens": 300,
            "messages": [
                {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": [{"type": "text", "text": "Checking."}],
                 "tool_calls": [{"id": "tu_1", "type": "function",
                    "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                {"role": "tool", "content": "18C", "tool_call_id": "tu_1"},
                {"role": "user", "content": [{"type": "text", "text": "Thanks"}]},
            ],
            "stop": ["END"], "temperature": 0.2, "user": "u-9",
            "tools": [{"type": "function", "function": {"name": "weather",
                "description": "Weather", "parameters": {"type": "object"}}}],
            "tool_choice": {"type": "function", "function": {"name": "weather"}},
        })
    );
}

#[test]
fn bad_messages_requests_name_the_field() {
    let cases = [
        (
            json!({"model": "a", "messages": [{"role": "user", "content": "x"}]}),
            "max_tokens",
        ),
        (
            json!({"model": "a", "max_tokens": 5, "messages": []}),
            "messages",
        ),
        (
            json!({"model": "a", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}),
            "messages.0.role",
        ),
    ];
    for (body, param) in cases {
        let err = MessagesRequest::from_slice(&serde_json::to_vec(&body).unwrap()).unwrap_err();
        assert_eq!(err.param(), Some(param), "{body}");
    }
    let body = json!({"model": "a", "max_tokens": 5, "messages": [{"role": "user", "content": [
        {"type": "document", "source": {}}]}]});
    let err = MessagesRequest::from_slice(&serde_json::to_vec(&body).unwrap())
        .unwrap()
        .to_chat()
        .unwrap_err();
    assert_eq!(err.param(), Some("messages.0.content.0.type"));
}

#[test]
fn a_stream_cut_short_ends_in_an_error_event() {
    let mut t = EventsFromChat::new();
    let mut out =
        t.push(br#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"Hi"}}]}"#);
    out.extend(t.finish());
    let s = String::from_utf8(out).unwrap();
    assert!(s.starts_with("event: message_start\n"), "{s}");
    assert!(s.contains("event: content_block_delta\n"), "{s}");
    assert!(
        s.trim_end().ends_with(r#""type":"error"}"#) || s.contains("event: error\n"),
        "{s}"
    );
    assert!(!s.contains("message_stop"), "{s}");
}

#[test]
fn anthropic_tool_use_stream_becomes_chat_tool_calls() {
    let events = [
        json!({"type": "message_start", "message": {"id": "msg_1", "model": "claude",
               "usage": {"input_tokens": 12, "cache_read_input_tokens": 3, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Let me check."}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "tu_9", "name": "weather", "input": {}}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"city\":"}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "\"Oslo\"}"}}),
        json!({"type": "content_block_stop", "index": 1}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 20}}),
        json!({"type": "message_stop"}),
    ];
    let mut t = ChatFromEvents::new(9, true);
    let mut out = Vec::new();
    for e in &events {
        out.extend(t.push(&serde_json::to_vec(e).unwrap()));
    }
    let (text, finish, usage, done) = read_chat(&out);
    assert!(done);
    assert_eq!(text, "Let me check.");
    assert_eq!(finish.as_deref(), Some("tool_calls"));
    let u = usage.unwrap();
    assert_eq!(
        (u.prompt_tokens, u.cached_tokens(), u.completion_tokens),
        (15, 3, 20)
    );
    let mut args = String::new();
    let mut id = None;
    scan_split(&out, &[], |d| {
        if let Ok(v) = serde_json::from_slice::<Value>(d) {
            for c in v["choices"][0]["delta"]["tool_calls"]
                .as_array()
                .into_iter()
                .flatten()
            {
                assert_eq!(c["index"], 0);
                if let Some(i) = c["id"].as_str() {
                    id = Some(i.to_owned());
                }
                args.push_str(c["function"]["arguments"].as_str().unwrap_or(""));
            }
        }
    });
    assert_eq!(id.as_deref(), Some("tu_9"));
    assert_eq!(
        serde_json::from_str::<Value>(&args).unwrap(),
        json!({"city": "Oslo"})
    );
    // And back to Anthropic events: the tool call is a tool_use block again.
    let mut back = EventsFromChat::new();
    let mut ev = Vec::new();
    scan_split(&out, &[], |d| ev.extend(back.push(d)));
    let s = String::from_utf8(ev).unwrap();
    assert!(
        s.contains(
            r#""content_block":{"type":"tool_use","id":"tu_9","name":"weather","input":{}}"#
        ),
        "{s}"
    );
    assert!(s.contains(r#""stop_reason":"tool_use""#), "{s}");
}
