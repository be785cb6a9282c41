//! A mock OpenAI-compatible upstream (chat completions, and embeddings: 8 numbers per input
//! derived from its text, one token per word), which also answers Anthropic's Messages API at
//! `/v1/messages` (same scripts, Anthropic's shapes: blocks, `stop_reason`, usage with
//! prompt-cache fields, the event stream, errors as `{"type":"error",...}`).
//!
//! Behaviour is chosen per request by a `mock` object in the request body (the gateway
//! passes unknown fields through, so a test steers the upstream from the client side):
//!
//! ```json
//! {"model": "auto", "messages": [...],
//!  "mock": {"key": "t1", "script": ["status:429", "ok"], "retry_after": "0.2",
//!           "chunk_delay_ms": 50, "words": 8}}
//! ```
//!
//! `script` steps are taken in order by attempt number for the same `key` (the last step
//! repeats); with `"only_model": "m"` the script applies only to requests for upstream model
//! `m` (others get `ok`), to fail one target of a chain. Without a `mock` object the
//! instance's default script applies. Steps:
//! `ok`, `status:CODE`, `hang`, `slow:MS` (wait, then ok), `break:N` (stream N content chunks,
//! then cut the connection), `stall:N` (stream N chunks, then go silent), `close` (drop the
//! connection without answering), `garbage` (200 with a body that is not JSON / not SSE),
//! `nousage` (an answer with no usage at all, also on streams that asked for it), `noisy`
//! (a stream with keep-alive comments and unknown SSE fields between its events).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use serde_json::{json, Value};
use tokio::sync::mpsc;

#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub at: Instant,
    pub body: Value,
    pub headers: http::HeaderMap,
    pub version: http::Version,
}

/// What the mock billed for one request: the usage it reported (or would have reported,
/// for streams whose client did not ask for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Billed {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<RecordedRequest>>,
    responses: Mutex<Vec<Bytes>>,
    billed: Mutex<Vec<Billed>>,
    attempts: Mutex<HashMap<String, usize>>,
    default_script: Mutex<Vec<String>>,
    disconnects: AtomicU64,
    completed_streams: AtomicU64,
    seq: AtomicU64,
    responder: Mutex<Option<Responder>>,
    /// Prompt-cache reads and writes reported with every Messages answer.
    cache_tokens: Mutex<(u64, u64)>,
}

/// Chooses the answer's text from the request body (`None`: the usual mock answer).
pub type Responder = Arc<dyn Fn(&Value) -> Option<String> + Send + Sync>;

pub struct MockUpstream {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MockUpstream {
    /// Starts on 127.0.0.1 with an ephemeral port.
    pub async fn start() -> MockUpstream {
        Self::start_on("127.0.0.1:0".parse().expect("literal address")).await
    }

    pub async fn start_on(addr: SocketAddr) -> MockUpstream {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/messages", post(messages))
            .route("/v1/embeddings", post(embeddings))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind mock upstream");
        let addr = listener.local_addr().expect("local addr");
        // Like a real API server: small SSE chunks leave at once, not after a delayed ACK.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        MockUpstream { addr, shared, task }
    }

    /// Starts a mock on its own single-threaded runtime thread, like a separate server
    /// (for load tools, so the mock does not share the load generator's runtime). Lives
    /// as long as the process.
    pub fn spawn_on_own_thread() -> SocketAddr {
        Self::spawn_thread(false)
    }

    /// As [`spawn_on_own_thread`](Self::spawn_on_own_thread), at the lowest scheduling
    /// priority: a stand-in for a remote API whose work should not take the CPU of the
    /// machine under test (it still does, but only what is left over).
    pub fn spawn_on_low_priority_thread() -> SocketAddr {
        Self::spawn_thread(true)
    }

    fn spawn_thread(low_priority: bool) -> SocketAddr {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            if low_priority {
                let _ = thread_priority::set_current_thread_priority(
                    thread_priority::ThreadPriority::Min,
                );
            }
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("mock runtime");
            rt.block_on(async move {
                let mock = MockUpstream::start().await;
                let _ = addr_tx.send(mock.addr);
                std::future::pending::<()>().await;
            });
        });
        addr_rx.recv().expect("mock upstream started")
    }

    /// `http://127.0.0.1:PORT/v1`, as a provider's `base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Answers with the text `f` returns for a request (a mock judge, say), streamed in
    /// word-sized pieces that concatenate to exactly that text.
    pub fn set_responder(&self, f: impl Fn(&Value) -> Option<String> + Send + Sync + 'static) {
        *lock(&self.shared.responder) = Some(Arc::new(f));
    }

    /// The script used by requests without a `mock` object.
    /// Every Messages answer reports this many prompt tokens read from and written to the
    /// prompt cache, on top of its uncached input tokens.
    pub fn set_cache_tokens(&self, read: u64, write: u64) {
        *lock(&self.shared.cache_tokens) = (read, write);
    }

    pub fn set_default_script(&self, steps: &[&str]) {
        *lock(&self.shared.default_script) = steps.iter().map(|s| s.to_string()).collect();
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// The exact bytes of every successful response body sent (streams: all chunks).
    pub fn responses(&self) -> Vec<Bytes> {
        lock(&self.shared.responses).clone()
    }

    pub fn billed(&self) -> Vec<Billed> {
        lock(&self.shared.billed).clone()
    }

    /// Streams whose reader went away before the end.
    pub fn disconnects(&self) -> u64 {
        self.shared.disconnects.load(Ordering::SeqCst)
    }

    pub fn completed_streams(&self) -> u64 {
        self.shared.completed_streams.load(Ordering::SeqCst)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Default)]
struct Directive {
    step: String,
    retry_after: Option<String>,
    chunk_delay: Duration,
    words: Option<usize>,
}

impl Directive {
    /// The step's verb and its number: `status:429` is ("status", Some(429)).
    fn verb(&self) -> (&str, Option<u64>) {
        let mut step = self.step.split(':');
        let verb = step.next().unwrap_or("ok");
        (verb, step.next().and_then(|a| a.parse().ok()))
    }
}

fn directive(shared: &Shared, body: &Value) -> Directive {
    let mock = body.get("mock");
    let only = mock
        .and_then(|m| m.get("only_model"))
        .and_then(Value::as_str);
    if only.is_some_and(|m| Some(m) != body.get("model").and_then(Value::as_str)) {
        return Directive {
            step: "ok".into(),
            ..Directive::default()
        };
    }
    let script: Vec<String> = match mock.and_then(|m| m.get("script")).and_then(Value::as_array) {
        Some(steps) => steps
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect(),
        None => lock(&shared.default_script).clone(),
    };
    let key = mock
        .and_then(|m| m.get("key"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let n = {
        let mut attempts = lock(&shared.attempts);
        let n = attempts.entry(key).or_insert(0);
        *n += 1;
        *n - 1
    };
    let step = script
        .get(n.min(script.len().saturating_sub(1)))
        .cloned()
        .unwrap_or_else(|| "ok".into());
    Directive {
        step,
        retry_after: mock
            .and_then(|m| m.get("retry_after"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        chunk_delay: Duration::from_millis(
            mock.and_then(|m| m.get("chunk_delay_ms"))
                .and_then(Value::as_u64)
                .unwrap_or(0),
        ),
        words: mock
            .and_then(|m| m.get("words"))
            .and_then(Value::as_u64)
            .map(|w| w as usize),
    }
}

/// Rough but deterministic token counts: words in every message, plus 3 per message.
fn prompt_tokens(body: &Value) -> u64 {
    body.get("messages")
        .and_then(Value::as_array)
        .map_or(0, |msgs| {
            msgs.iter()
                .map(|m| {
                    let text = match m.get("content") {
                        Some(Value::String(s)) => s.clone(),
                        Some(Value::Array(parts)) => parts
                            .iter()
                            .filter_map(|p| p.get("text").and_then(Value::as_str))
                            .collect::<Vec<_>>()
                            .join(" "),
                        _ => String::new(),
                    };
                    3 + text.split_whitespace().count() as u64
                })
                .sum()
        })
}

fn answer_words(body: &Value, words: Option<usize>) -> (Vec<String>, &'static str) {
    let last_user = body
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|m| {
            m.iter()
                .rev()
                .find(|m| m.get("role") == Some(&json!("user")))
        })
        .and_then(|m| m.get("content"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut out: Vec<String> = "This is a mock answer to:"
        .split_whitespace()
        .chain(last_user.split_whitespace())
        .map(|w| format!("{w} "))
        .collect();
    if let Some(n) = words {
        let filler = ["lorem", "ipsum", "dolor", "sit", "amet"];
        out = (0..n)
            .map(|i| format!("{} ", filler[i % filler.len()]))
            .collect();
    }
    let limit = body
        .get("max_completion_tokens")
        .or_else(|| body.get("max_tokens"))
        .and_then(Value::as_u64);
    match limit {
        Some(l) if (l as usize) < out.len() => {
            out.truncate(l as usize);
            (out, "length")
        }
        _ => (out, "stop"),
    }
}

/// Reads a request's JSON body and records the request; the error says what was wrong.
async fn recorded(shared: &Shared, req: Request) -> Result<(http::request::Parts, Value), String> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 20)
        .await
        .map_err(|_| "unreadable body".to_owned())?;
    let body: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("mock: body is not JSON: {e}"))?;
    lock(&shared.requests).push(RecordedRequest {
        at: Instant::now(),
        body: body.clone(),
        headers: parts.headers.clone(),
        version: parts.version,
    });
    Ok((parts, body))
}

async fn chat(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let body = match recorded(&shared, req).await {
        Ok((_, body)) => body,
        Err(e) => return error_response(400, &e, None),
    };
    let d = directive(&shared, &body);
    let (verb, arg) = d.verb();
    match verb {
        "status" => {
            let code = arg.unwrap_or(500) as u16;
            error_response(
                code,
                &format!("mock failure {code}"),
                d.retry_after.as_deref(),
            )
        }
        "hang" => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            error_response(500, "mock hang ended", None)
        }
        "close" => {
            // Headers promise a body that never comes: the connection is cut, and the
            // client sees an incomplete message.
            Response::builder()
                .header("content-length", "100")
                .body(Body::from_stream(futures_util::stream::iter(vec![Err::<
                    Bytes,
                    _,
                >(
                    std::io::Error::other("mock close"),
                )])))
                .unwrap_or_default()
        }
        "garbage" => {
            let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
            let ct = if stream {
                "text/event-stream"
            } else {
                "application/json"
            };
            Response::builder()
                .header("content-type", ct)
                .body(Body::from(
                    "<html>this is not json\x00\x01 data: {broken\n\n",
                ))
                .unwrap_or_default()
        }
        "slow" => {
            tokio::time::sleep(Duration::from_millis(arg.unwrap_or(100))).await;
            complete(&shared, &body, &d, None)
        }
        "break" => complete(
            &shared,
            &body,
            &d,
            Some(Cut::Break(arg.unwrap_or(1) as usize)),
        ),
        "stall" => complete(
            &shared,
            &body,
            &d,
            Some(Cut::Stall(arg.unwrap_or(1) as usize)),
        ),
        "nousage" => complete(&shared, &body, &d, Some(Cut::NoUsage)),
        "noisy" => complete(&shared, &body, &d, Some(Cut::Noisy)),
        _ => complete(&shared, &body, &d, None),
    }
}

enum Cut {
    Break(usize),
    Stall(usize),
    NoUsage,
    Noisy,
}

fn error_response(code: u16, message: &str, retry_after: Option<&str>) -> Response {
    let kind = match code {
        429 => "rate_limit_error",
        400..=499 => "invalid_request_error",
        _ => "server_error",
    };
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": null}});
    let mut b = Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .header("x-request-id", "req_mock_error");
    if let Some(ra) = retry_after {
        b = b.header("retry-after", ra);
    }
    b.body(Body::from(body.to_string())).unwrap_or_default()
}

fn complete(shared: &Arc<Shared>, body: &Value, d: &Directive, cut: Option<Cut>) -> Response {
    let n = shared.seq.fetch_add(1, Ordering::SeqCst);
    let id = format!("chatcmpl-mock{n}");
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("mock")
        .to_owned();
    let responder = lock(&shared.responder).clone();
    let (words, finish) = match responder.and_then(|f| f(body)) {
        Some(text) => (
            text.split_inclusive(' ').map(str::to_owned).collect(),
            "stop",
        ),
        None => answer_words(body, d.words),
    };
    let usage = Billed {
        prompt_tokens: prompt_tokens(body),
        completion_tokens: words.len() as u64,
    };
    let usage_json = json!({
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.prompt_tokens + usage.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
    });
    let created = 1_700_000_000u64;
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let no_usage = matches!(cut, Some(Cut::NoUsage));
    if !stream {
        let mut resp = json!({
            "id": id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": words.concat(), "refusal": null},
                          "logprobs": null, "finish_reason": finish}],
            "usage": usage_json, "system_fingerprint": "fp_mock"
        });
        if no_usage {
            if let Some(o) = resp.as_object_mut() {
                o.remove("usage");
            }
        }
        let bytes = Bytes::from(resp.to_string());
        lock(&shared.billed).push(usage);
        lock(&shared.responses).push(bytes.clone());
        return Response::builder()
            .header("content-type", "application/json")
            .header("x-request-id", format!("req_mock{n}"))
            .header("openai-processing-ms", "1")
            // What OpenAI also sends about the calling account: never for the client.
            .header("openai-organization", "org-gateway-account")
            .header("x-ratelimit-remaining-requests", "4999")
            .header("set-cookie", "__cf_bm=upstream-session; path=/")
            .body(Body::from(bytes))
            .unwrap_or_default();
    }

    let include_usage = !no_usage
        && body
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            .unwrap_or(false);
    let chunk = |delta: Value, finish: Value| {
        let mut c = json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": "fp_mock",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
        });
        if include_usage {
            c["usage"] = Value::Null;
        }
        Bytes::from(format!("data: {c}\n\n"))
    };
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": "", "refusal": null}),
        Value::Null,
    )];
    for w in &words {
        events.push(chunk(json!({"content": w}), Value::Null));
    }
    events.push(chunk(json!({}), json!(finish)));
    if include_usage {
        let c = json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": "fp_mock", "choices": [], "usage": usage_json
        });
        events.push(Bytes::from(format!("data: {c}\n\n")));
    }
    events.push(Bytes::from_static(b"data: [DONE]\n\n"));
    if matches!(cut, Some(Cut::Noisy)) {
        // Lines a conforming SSE reader ignores, between every two events.
        let noise = [
            &b": keep-alive\n\n"[..],
            b"event: ping\nid: 7\nretry: 1000\n\n",
            b"x-unknown-field\n\n",
        ];
        events = events
            .into_iter()
            .enumerate()
            .flat_map(|(i, e)| [e, Bytes::from_static(noise[i % noise.len()])])
            .collect();
    }

    // Content chunks start at index 1 (after the role chunk).
    let body = send_events(shared, events, usage, d.chunk_delay, move |i| match &cut {
        Some(Cut::Break(n)) if i == n + 1 => Some(Stop::Break),
        Some(Cut::Stall(n)) if i == n + 1 => Some(Stop::Stall),
        _ => None,
    });
    Response::builder()
        .header("content-type", "text/event-stream; charset=utf-8")
        .header("cache-control", "no-cache")
        .header("x-request-id", format!("req_mock{n}"))
        .body(body)
        .unwrap_or_default()
}

/// How a scripted stream ends early.
enum Stop {
    /// Cut the connection.
    Break,
    /// Go silent.
    Stall,
}

/// A stream body sending `events`, `delay` apart, ending early where `stop` says; bills
/// `usage` however it ends (as an upstream bills a request it worked on) and records what
/// a complete stream sent.
fn send_events(
    shared: &Arc<Shared>,
    events: Vec<Bytes>,
    usage: Billed,
    delay: Duration,
    stop: impl Fn(usize) -> Option<Stop> + Send + 'static,
) -> Body {
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(1);
    let shared = shared.clone();
    tokio::spawn(async move {
        let mut sent = Vec::new();
        for (i, ev) in events.into_iter().enumerate() {
            match stop(i) {
                Some(Stop::Break) => {
                    let _ = tx
                        .send(Err(std::io::Error::other("mock: connection cut")))
                        .await;
                    lock(&shared.billed).push(usage);
                    return;
                }
                Some(Stop::Stall) => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    return;
                }
                None => {}
            }
            if i > 0 && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            sent.extend_from_slice(&ev);
            if tx.send(Ok(ev)).await.is_err() {
                shared.disconnects.fetch_add(1, Ordering::SeqCst);
                lock(&shared.billed).push(usage);
                return;
            }
        }
        drop(tx);
        lock(&shared.billed).push(usage);
        lock(&shared.responses).push(sent.into());
        shared.completed_streams.fetch_add(1, Ordering::SeqCst);
    });
    Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
}

/// Anthropic's error body for a status.
fn anthropic_error(code: u16, message: &str, retry_after: Option<&str>) -> Response {
    let kind = match code {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    };
    let body = json!({"type": "error", "error": {"type": kind, "message": message},
                      "request_id": "req_mock_error"});
    let mut b = Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .header("request-id", "req_mock_error");
    if let Some(ra) = retry_after {
        b = b.header("retry-after", ra);
    }
    b.body(Body::from(body.to_string())).unwrap_or_default()
}

/// A Messages body seen as chat, for the shared token counting and answer choice.
fn messages_as_chat(body: &Value) -> Value {
    let text = |c: &Value| match c {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    };
    let mut msgs = Vec::new();
    if let Some(system) = body.get("system") {
        msgs.push(json!({"role": "system", "content": text(system)}));
    }
    for m in body
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        msgs.push(json!({"role": m["role"], "content": text(&m["content"])}));
    }
    json!({"messages": msgs, "max_tokens": body.get("max_tokens"), "mock": body.get("mock")})
}

async fn messages(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = match recorded(&shared, req).await {
        Ok(r) => r,
        Err(e) => return anthropic_error(400, &e, None),
    };
    // What the real API checks first.
    if !parts.headers.contains_key("anthropic-version") {
        return anthropic_error(400, "anthropic-version: header is required", None);
    }
    for field in ["model", "max_tokens", "messages"] {
        if body.get(field).is_none() {
            return anthropic_error(400, &format!("{field}: Field required"), None);
        }
    }
    if let Some(k) = body
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys())
        .find(|k| {
            ![
                "model",
                "messages",
                "max_tokens",
                "system",
                "stop_sequences",
                "temperature",
                "top_p",
                "top_k",
                "stream",
                "metadata",
                "tools",
                "tool_choice",
                "mock",
            ]
            .contains(&k.as_str())
        })
    {
        return anthropic_error(400, &format!("{k}: Extra inputs are not permitted"), None);
    }
    let chat = messages_as_chat(&body);
    let d = directive(&shared, &chat);
    let (verb, arg) = d.verb();
    match verb {
        "status" => {
            let code = arg.unwrap_or(500) as u16;
            anthropic_error(
                code,
                &format!("mock failure {code}"),
                d.retry_after.as_deref(),
            )
        }
        "hang" => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            anthropic_error(500, "mock hang ended", None)
        }
        "slow" => {
            tokio::time::sleep(Duration::from_millis(arg.unwrap_or(100))).await;
            answer_messages(&shared, &body, &chat, &d, None)
        }
        "break" => answer_messages(&shared, &body, &chat, &d, Some(arg.unwrap_or(1) as usize)),
        _ => answer_messages(&shared, &body, &chat, &d, None),
    }
}

fn answer_messages(
    shared: &Arc<Shared>,
    body: &Value,
    chat: &Value,
    d: &Directive,
    break_after: Option<usize>,
) -> Response {
    let n = shared.seq.fetch_add(1, Ordering::SeqCst);
    let id = format!("msg_mock{n}");
    let model = body["model"].as_str().unwrap_or("mock").to_owned();
    let responder = lock(&shared.responder).clone();
    let (words, finish) = match responder.and_then(|f| f(chat)) {
        Some(text) => (
            text.split_inclusive(' ').map(str::to_owned).collect(),
            "stop",
        ),
        None => answer_words(chat, d.words),
    };
    let stop_reason = if finish == "length" {
        "max_tokens"
    } else {
        "end_turn"
    };
    let (read, write) = *lock(&shared.cache_tokens);
    let input = prompt_tokens(chat);
    let usage = Billed {
        prompt_tokens: input + read + write,
        completion_tokens: words.len() as u64,
    };
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    if !stream {
        let resp = json!({
            "id": id, "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": words.concat()}],
            "stop_reason": stop_reason, "stop_sequence": null,
            "usage": {"input_tokens": input, "cache_creation_input_tokens": write,
                      "cache_read_input_tokens": read, "output_tokens": usage.completion_tokens,
                      "service_tier": "standard"},
        });
        let bytes = Bytes::from(resp.to_string());
        lock(&shared.billed).push(usage);
        lock(&shared.responses).push(bytes.clone());
        return Response::builder()
            .header("content-type", "application/json")
            .header("request-id", format!("req_mock{n}"))
            .header("anthropic-organization-id", "org-gateway-account")
            .body(Body::from(bytes))
            .unwrap_or_default();
    }
    let ev = |name: &str, data: Value| Bytes::from(format!("event: {name}\ndata: {data}\n\n"));
    let mut events = vec![
        ev(
            "message_start",
            json!({"type": "message_start", "message": {"id": id, "type": "message",
                "role": "assistant", "model": model, "content": [], "stop_reason": null,
                "stop_sequence": null, "usage": {"input_tokens": input,
                "cache_creation_input_tokens": write, "cache_read_input_tokens": read,
                "output_tokens": 1}}}),
        ),
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
                   "content_block": {"type": "text", "text": ""}}),
        ),
        ev("ping", json!({"type": "ping"})),
    ];
    for w in &words {
        events.push(ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "text_delta", "text": w}}),
        ));
    }
    events.push(ev(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    events.push(ev(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null},
               "usage": {"output_tokens": usage.completion_tokens}}),
    ));
    events.push(ev("message_stop", json!({"type": "message_stop"})));
    // Text deltas start at index 3.
    let body = send_events(shared, events, usage, d.chunk_delay, move |i| {
        break_after
            .is_some_and(|n| i == n + 3)
            .then_some(Stop::Break)
    });
    Response::builder()
        .header("content-type", "text/event-stream; charset=utf-8")
        .header("cache-control", "no-cache")
        .header("request-id", format!("req_mock{n}"))
        .body(body)
        .unwrap_or_default()
}

/// `POST /v1/embeddings`: a deterministic 8-dimensional vector per input (from its bytes),
/// usage one token per word; the same scripts as chat (`status:N` and so on).
async fn embeddings(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let body = match recorded(&shared, req).await {
        Ok((_, body)) => body,
        Err(e) => return error_response(400, &e, None),
    };
    let d = directive(&shared, &body);
    if let ("status", Some(code)) = d.verb() {
        let code = code as u16;
        return error_response(
            code,
            &format!("mock failure {code}"),
            d.retry_after.as_deref(),
        );
    }
    let inputs: Vec<String> = match &body["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect(),
        _ => return error_response(400, "mock: 'input' is required", None),
    };
    let mut tokens = 0u64;
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, text)| {
            tokens += text.split_whitespace().count() as u64;
            let v: Vec<f32> = (0..8u32)
                .map(|k| {
                    let h = text.bytes().fold(k.wrapping_mul(2_654_435_761), |a, b| {
                        a.rotate_left(5) ^ u32::from(b)
                    });
                    (h % 2000) as f32 / 1000.0 - 1.0
                })
                .collect();
            json!({"object": "embedding", "index": i, "embedding": v})
        })
        .collect();
    lock(&shared.billed).push(Billed {
        prompt_tokens: tokens,
        completion_tokens: 0,
    });
    let resp = json!({"object": "list", "data": data, "model": body["model"],
                      "usage": {"prompt_tokens": tokens, "total_tokens": tokens}});
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from(resp.to_string()))
        .unwrap_or_default()
}
