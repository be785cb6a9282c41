//! Any body a `/v1/messages` or `/v1/responses` client can send, and any event stream an
//! upstream can answer: the protocol translators never panic, and what translates to chat
//! is a chat request that parses again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_api::anthropic::{self, ChatFromEvents, EventsFromChat, MessagesRequest};
use sluice_api::chat::ChatCompletionRequest;
use sluice_api::responses::{self, ResponsesRequest};
use sluice_api::sse::SseScanner;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = MessagesRequest::from_slice(data) {
        if let Ok(chat) = req.to_chat() {
            let again = ChatCompletionRequest::from_slice(&chat.to_vec()).expect("re-parse");
            // And back to Messages, as an Anthropic target would get it.
            let _ = MessagesRequest::from_chat(&again).to_vec();
        }
    }
    if let Ok(req) = ResponsesRequest::from_slice(data) {
        if let Ok(chat) = req.to_chat() {
            ChatCompletionRequest::from_slice(&chat.to_vec()).expect("re-parse");
        }
        let mut events = responses::EventsFromChat::new(&req, 0);
        let mut scanner = SseScanner::new();
        scanner.push(data, |d| {
            let _ = events.push(d);
        });
        let _ = events.finish();
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = anthropic::message_from_chat(&v);
        let _ = anthropic::chat_from_message(&v, 0);
    }
    // The same bytes as either kind of event stream.
    let (mut scanner, mut to_messages, mut to_chat) =
        (SseScanner::new(), EventsFromChat::new(), ChatFromEvents::new(0, true));
    scanner.push(data, |d| {
        let _ = to_messages.push(d);
        let _ = to_chat.push(d);
    });
    let _ = to_messages.finish();
});
