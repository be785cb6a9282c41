//! OpenAI wire types as Sluice sees them, and SSE framing.
//!
//! Requests are typed only where the gateway needs a field (model, messages, stream, token
//! limits); everything else lands in `extra` and goes upstream untouched, so a client can use
//! any vendor extension without Sluice knowing about it. Nothing here does I/O.
//!
//! - [`chat`]: chat completion request, the parts of a response the gateway reads (usage),
//!   and parsing with errors that name the offending field.
//! - [`completion`]: responses and stream chunks Sluice writes itself (local model).
//! - [`embeddings`]: `POST /v1/embeddings` request and response.
//! - [`error`]: the `{"error":{...}}` body OpenAI returns, and its constructors.
//! - [`models`]: `GET /v1/models`.
//! - [`anthropic`]: Anthropic's Messages API and its translation to and from chat, both
//!   ways, streams included.
//! - [`responses`]: OpenAI's Responses API (stateless subset), translated to and from chat.
//! - [`sse`]: an incremental scanner for `text/event-stream` bodies that finds `data:` payloads
//!   without copying or altering the bytes being relayed.

pub mod anthropic;
pub mod chat;
pub mod completion;
pub mod embeddings;
pub mod error;
pub mod models;
pub mod responses;
pub mod sse;

pub use chat::{ChatCompletionRequest, Message, MessageContent, ParseError, Usage};
pub use error::{ErrorBody, ErrorDetail};
