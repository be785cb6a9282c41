//! The guarded response cache: `policies.<name>.cache`.
//!
//! A request is cacheable when its policy has a `cache` block, its temperature is at most
//! `max_temperature`, it asks for one choice, and its last message is the user's text.
//! Everything else about it — the scope (key, tenant or everyone), the policy, the earlier
//! turns, the system prompt, tools and every sampling parameter — makes its *bucket*; only
//! entries of the same bucket can answer it, so reuse never crosses a different system
//! prompt, tool set or setting. Within the bucket, the last user message is matched:
//!
//! 1. **exactly**, after normalising case, spacing, apostrophes and punctuation;
//! 2. else **semantically**: the nearest cached prompt by routing embedding, if its cosine
//!    similarity is at least `similarity` and the guards (`guard.rs`) find no difference
//!    in negation, antonyms, numbers or named entities.
//!
//! The exact match runs before routing (an exact hit costs no embedding), the semantic one
//! after it, on the routing embedding.
//!
//! Entries live in this process (bounded by `max_entries` per policy, oldest evicted
//! first, expiring after `ttl`), or with `state: redis://…` in Redis, shared by every
//! replica (one list per bucket, bounded, expiring with the bucket).

pub mod guard;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sluice_api::chat::ChatCompletionRequest;
use sluice_api::{MessageContent, Usage};
use sluice_config::StateBackend;
use sluice_config::{CacheConfig, CacheScope};

use crate::auth::Caller;
pub use guard::{Guard, Signature};

/// Entries kept per bucket (same context, different last messages); the oldest go first.
const MAX_PER_BUCKET: usize = 256;

/// Redis calls give up after this and count as a miss: the cache must never slow a request
/// down by more than a lookup.
const REDIS_DEADLINE: Duration = Duration::from_millis(250);

/// A cached answer, as the client got it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub content: String,
    pub finish: String,
    /// The model name the answer reported.
    pub model: String,
    /// The configured model that produced it.
    pub route: String,
    pub usage: Usage,
    /// What it cost when it was produced, in pico-USD: what each hit saves.
    pub cost_pico: u128,
}

/// One entry: the prompt it answered and the answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cached {
    pub text: String,
    normalized: String,
    #[serde(skip)]
    sig: Option<Signature>,
    embedding: Option<Vec<f32>>,
    pub answer: Answer,
    /// Unix milliseconds.
    expires_ms: u64,
    #[serde(skip)]
    seq: u64,
}

/// What a request looks up and, on a miss, stores.
#[derive(Debug, Clone)]
pub struct Probe {
    pub policy: String,
    pub bucket: u64,
    pub text: String,
    normalized: String,
    sig: Signature,
    /// `cache-control: no-cache` asks for a fresh answer (still stored).
    pub lookup: bool,
    /// `cache-control: no-store`: neither stored nor, then, looked up.
    pub store: bool,
}

/// What a lookup found.
pub enum Lookup {
    /// The same prompt, normalised.
    Exact(Arc<Cached>),
    /// A prompt this close (cosine), that the guards let through.
    Semantic(Arc<Cached>, f32),
    /// The nearest prompt above the threshold differs where an embedding cannot tell.
    Refused(Guard),
    Miss,
}

/// FNV-1a, fed with `write` (JSON is serialised straight into it, with no copy of the
/// request) and closed per field with [`Fnv::field`].
struct Fnv(u64);

impl Fnv {
    /// Ends a field, so that ("ab", "c") and ("a", "bc") differ.
    fn field(&mut self) {
        self.0 ^= 0xff;
        self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
    }

    fn add(&mut self, bytes: &[u8]) {
        std::io::Write::write_all(self, bytes).unwrap_or_default();
        self.field();
    }

    fn add_json(&mut self, v: &impl Serialize) {
        serde_json::to_writer(&mut *self, v).unwrap_or_default();
        self.field();
    }
}

impl std::io::Write for Fnv {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Lowercased, apostrophes dropped, runs of spacing and punctuation as one space; symbols
/// that change meaning (`C++`, `C#`, `50%`) kept.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars().filter(|c| *c != '\'' && *c != '’') {
        if c.is_alphanumeric() || "+#%$€£@&*/=<>^~|".contains(c) {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(c.to_lowercase());
        } else {
            space = true;
        }
    }
    out
}

/// The request's probe, or `None` when it must not be served from or stored in a cache.
pub fn probe(
    config: &CacheConfig,
    policy: &str,
    chat: &ChatCompletionRequest,
    caller: Option<&Caller>,
    headers: &http::HeaderMap,
) -> Option<Probe> {
    let temperature = chat
        .extra
        .get("temperature")
        .map_or(Some(1.0), serde_json::Value::as_f64)?;
    if temperature > config.max_temperature {
        return None;
    }
    if chat.extra.get("n").is_some_and(|n| n.as_u64() != Some(1)) {
        return None;
    }
    let (last, earlier) = chat.messages.split_last()?;
    if last.role != "user" || !last.extra.is_empty() {
        return None;
    }
    let text = match last.content.as_ref()? {
        MessageContent::Text(s) => s.clone(),
        MessageContent::Parts(parts) if parts.iter().all(|p| p.kind == "text") => {
            last.content.as_ref()?.text().into_owned()
        }
        MessageContent::Parts(_) => return None,
    };
    let control = headers
        .get(http::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let no_store = control.contains("no-store");
    let no_cache = control.contains("no-cache") || no_store;

    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    h.add(policy.as_bytes());
    let scope = match (config.scope, caller) {
        (CacheScope::Global, _) | (_, None) => "",
        (CacheScope::Tenant, Some(c)) => c.key.tenant.as_str(),
        (CacheScope::Key, Some(c)) => c.key.id.as_str(),
    };
    h.add(config.scope.name().as_bytes());
    h.add(scope.as_bytes());
    // Earlier turns exactly as sent; the parameters that shape an answer.
    h.add_json(&earlier);
    for (k, v) in &chat.extra {
        if ![
            "user",
            "metadata",
            "store",
            "service_tier",
            "stream_options",
        ]
        .contains(&k.as_str())
        {
            h.add(k.as_bytes());
            h.add_json(v);
        }
    }
    h.add_json(&(chat.max_tokens, chat.max_completion_tokens));
    Some(Probe {
        policy: policy.to_owned(),
        bucket: h.0,
        normalized: normalize(&text),
        sig: Signature::of(&text),
        text,
        lookup: !no_cache,
        store: !no_store,
    })
}

/// Unit length, so that similarity is a dot product.
fn unit(mut v: Vec<f32>) -> Vec<f32> {
    sluice_router::embedding::normalize(&mut v);
    v
}

/// The newest live entry for the same normalised prompt.
pub fn exact(entries: &[Arc<Cached>], probe: &Probe, now_ms: u64) -> Option<Arc<Cached>> {
    entries
        .iter()
        .find(|e| e.expires_ms > now_ms && e.normalized == probe.normalized)
        .cloned()
}

/// The nearest live entry at `similarity` or above that the guards let through.
pub fn similar(
    entries: &[Arc<Cached>],
    probe: &Probe,
    embedding: &[f32],
    similarity: f32,
    now_ms: u64,
) -> Lookup {
    if similarity >= 1.0 {
        return Lookup::Miss;
    }
    let embedding = unit(embedding.to_vec());
    let mut near: Vec<(f32, &Arc<Cached>)> = entries
        .iter()
        .filter(|e| e.expires_ms > now_ms)
        .filter_map(|e| {
            let ev = e
                .embedding
                .as_deref()
                .filter(|ev| ev.len() == embedding.len())?;
            let s = sluice_router::embedding::dot(&embedding, ev);
            (s >= similarity).then_some((s, e))
        })
        .collect();
    near.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut refused = None;
    for (s, e) in near {
        let computed;
        let sig = match &e.sig {
            Some(sig) => sig,
            None => {
                computed = Signature::of(&e.text);
                &computed
            }
        };
        match sig.compatible(&probe.sig) {
            Ok(()) => return Lookup::Semantic(e.clone(), s),
            Err(g) => {
                refused.get_or_insert(g);
            }
        }
    }
    refused.map_or(Lookup::Miss, Lookup::Refused)
}

#[derive(Default)]
struct PolicyEntries {
    buckets: HashMap<u64, VecDeque<Arc<Cached>>>,
    /// Insertion order, for evicting the oldest: (bucket, seq).
    order: VecDeque<(u64, u64)>,
    len: usize,
    seq: u64,
}

impl PolicyEntries {
    fn insert(&mut self, bucket: u64, mut entry: Cached, max_entries: usize) {
        self.seq += 1;
        entry.seq = self.seq;
        let list = self.buckets.entry(bucket).or_default();
        list.push_front(Arc::new(entry));
        self.order.push_back((bucket, self.seq));
        self.len += 1;
        if list.len() > MAX_PER_BUCKET {
            list.pop_back();
            self.len -= 1;
        }
        while self.len > max_entries {
            let Some((b, seq)) = self.order.pop_front() else {
                break;
            };
            if let Some(list) = self.buckets.get_mut(&b) {
                if let Some(i) = list.iter().position(|e| e.seq == seq) {
                    list.remove(i);
                    self.len -= 1;
                }
                if list.is_empty() {
                    self.buckets.remove(&b);
                }
            }
        }
        // Evicted-by-bucket-cap entries leave stale order records: drop them once they
        // outnumber the live entries.
        if self.order.len() > 2 * max_entries.max(self.len) {
            let live: std::collections::HashSet<u64> = self
                .buckets
                .values()
                .flat_map(|l| l.iter().map(|e| e.seq))
                .collect();
            self.order.retain(|(_, s)| live.contains(s));
        }
    }
}

struct RedisCache {
    client: redis::Client,
    conn: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
}

impl RedisCache {
    async fn connection(&self) -> Option<redis::aio::MultiplexedConnection> {
        let mut guard = self.conn.lock().await;
        if let Some(c) = guard.as_ref() {
            return Some(c.clone());
        }
        let c = tokio::time::timeout(
            REDIS_DEADLINE,
            self.client.get_multiplexed_async_connection(),
        )
        .await
        .ok()?
        .ok()?;
        *guard = Some(c.clone());
        Some(c)
    }

    async fn forget(&self) {
        *self.conn.lock().await = None;
    }

    fn key(bucket: u64) -> String {
        format!("sluice:cache:{bucket:016x}")
    }
}

/// The cache of every policy, for the life of the process (a reload keeps it; a policy's
/// bucket changes with its name and scope).
pub struct ResponseCache {
    memory: Mutex<HashMap<String, PolicyEntries>>,
    redis: Option<RedisCache>,
}

/// A lookup that could not reach the store counts as a miss, and says so.
#[derive(Debug)]
pub struct Unreachable;

impl ResponseCache {
    pub fn new(backend: &StateBackend) -> ResponseCache {
        let redis = match backend {
            StateBackend::Memory => None,
            StateBackend::Redis(url) => {
                redis::Client::open(url.as_str())
                    .ok()
                    .map(|client| RedisCache {
                        client,
                        conn: tokio::sync::Mutex::new(None),
                    })
            }
        };
        ResponseCache {
            memory: Mutex::new(HashMap::new()),
            redis,
        }
    }

    pub fn backend(&self) -> &'static str {
        if self.redis.is_some() {
            "redis"
        } else {
            "memory"
        }
    }

    /// A policy's entries held in this process (Redis entries are not counted).
    pub fn len(&self, policy: &str) -> usize {
        let m = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        m.get(policy).map_or(0, |p| p.len)
    }

    /// The entries of the probe's bucket, newest first.
    pub async fn fetch(&self, probe: &Probe) -> Result<Vec<Arc<Cached>>, Unreachable> {
        let Some(r) = &self.redis else {
            let m = self.memory.lock().unwrap_or_else(|p| p.into_inner());
            return Ok(m
                .get(&probe.policy)
                .and_then(|p| p.buckets.get(&probe.bucket))
                .map(|l| l.iter().cloned().collect())
                .unwrap_or_default());
        };
        let mut conn = r.connection().await.ok_or(Unreachable)?;
        let fetched: Result<Result<Vec<String>, _>, _> = tokio::time::timeout(
            REDIS_DEADLINE,
            redis::cmd("LRANGE")
                .arg(RedisCache::key(probe.bucket))
                .arg(0)
                .arg(-1)
                .query_async(&mut conn),
        )
        .await;
        match fetched {
            Ok(Ok(list)) => Ok(list
                .iter()
                .filter_map(|s| serde_json::from_str::<Cached>(s).ok())
                .map(|mut c| {
                    c.sig = Some(Signature::of(&c.text));
                    Arc::new(c)
                })
                .collect()),
            _ => {
                r.forget().await;
                Err(Unreachable)
            }
        }
    }

    /// [`fetch`](Self::fetch), then [`exact`], then [`similar`].
    pub async fn lookup(
        &self,
        probe: &Probe,
        embedding: Option<&[f32]>,
        config: &CacheConfig,
        now_ms: u64,
    ) -> Result<Lookup, Unreachable> {
        let entries = self.fetch(probe).await?;
        if let Some(e) = exact(&entries, probe, now_ms) {
            return Ok(Lookup::Exact(e));
        }
        Ok(embedding.map_or(Lookup::Miss, |v| {
            similar(&entries, probe, v, config.similarity, now_ms)
        }))
    }

    pub async fn insert(
        &self,
        probe: &Probe,
        embedding: Option<Vec<f32>>,
        answer: Answer,
        config: &CacheConfig,
        now_ms: u64,
    ) -> Result<(), Unreachable> {
        let ttl_ms = config.ttl.as_millis() as u64;
        let entry = Cached {
            text: probe.text.clone(),
            normalized: probe.normalized.clone(),
            sig: Some(probe.sig.clone()),
            embedding: embedding.map(unit),
            answer,
            expires_ms: now_ms + ttl_ms,
            seq: 0,
        };
        match &self.redis {
            None => {
                let mut m = self.memory.lock().unwrap_or_else(|p| p.into_inner());
                m.entry(probe.policy.clone()).or_default().insert(
                    probe.bucket,
                    entry,
                    config.max_entries,
                );
                Ok(())
            }
            Some(r) => {
                let mut conn = r.connection().await.ok_or(Unreachable)?;
                let key = RedisCache::key(probe.bucket);
                let json = serde_json::to_string(&entry).unwrap_or_default();
                let mut pipe = redis::pipe();
                pipe.cmd("LPUSH").arg(&key).arg(json).ignore();
                pipe.cmd("LTRIM")
                    .arg(&key)
                    .arg(0)
                    .arg(MAX_PER_BUCKET as i64 - 1)
                    .ignore();
                pipe.cmd("PEXPIRE").arg(&key).arg(ttl_ms).ignore();
                let done: Result<Result<(), _>, _> =
                    tokio::time::timeout(REDIS_DEADLINE, pipe.query_async(&mut conn)).await;
                match done {
                    Ok(Ok(())) => Ok(()),
                    _ => {
                        r.forget().await;
                        Err(Unreachable)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe_of(text: &str) -> Probe {
        Probe {
            policy: "p".into(),
            bucket: 1,
            text: text.into(),
            normalized: normalize(text),
            sig: Signature::of(text),
            lookup: true,
            store: true,
        }
    }

    fn config(max_entries: usize) -> CacheConfig {
        CacheConfig {
            ttl: Duration::from_secs(60),
            max_entries,
            similarity: 0.9,
            scope: CacheScope::Key,
            max_temperature: 0.0,
        }
    }

    fn answer(text: &str) -> Answer {
        Answer {
            content: text.into(),
            finish: "stop".into(),
            model: "m".into(),
            route: "m".into(),
            usage: Usage::default(),
            cost_pico: 7,
        }
    }

    #[test]
    fn normalising_keeps_what_changes_meaning() {
        assert_eq!(normalize("  What's   the TIME?\n"), "whats the time");
        assert_eq!(normalize("Whats the time"), "whats the time");
        assert_ne!(normalize("learn C++"), normalize("learn C"));
        assert_ne!(normalize("learn C#"), normalize("learn C"));
        assert_ne!(normalize("3.5"), normalize("35"));
    }

    #[tokio::test]
    async fn exact_then_semantic_then_guarded() {
        let c = ResponseCache::new(&StateBackend::Memory);
        let cfg = config(10);
        let p = probe_of("How do I enable logging?");
        c.insert(&p, Some(vec![1.0, 0.0]), answer("A"), &cfg, 1000)
            .await
            .unwrap();
        let hit = |l: Lookup| match l {
            Lookup::Exact(e) => format!("exact {}", e.answer.content),
            Lookup::Semantic(e, _) => format!("semantic {}", e.answer.content),
            Lookup::Refused(g) => format!("refused {}", g.name()),
            Lookup::Miss => "miss".into(),
        };
        let q = probe_of("how do i ENABLE logging");
        let got = c.lookup(&q, None, &cfg, 2000).await.unwrap();
        assert_eq!(hit(got), "exact A");
        let q = probe_of("What's the way to turn on logging?");
        let got = c.lookup(&q, Some(&[0.99, 0.1]), &cfg, 2000).await.unwrap();
        assert_eq!(hit(got), "semantic A");
        let q = probe_of("How do I disable logging?");
        let got = c.lookup(&q, Some(&[0.99, 0.1]), &cfg, 2000).await.unwrap();
        assert_eq!(hit(got), "refused antonym");
        let got = c.lookup(&q, Some(&[0.0, 1.0]), &cfg, 2000).await.unwrap();
        assert_eq!(hit(got), "miss");
        // Expired.
        let q = probe_of("How do I enable logging?");
        let got = c.lookup(&q, None, &cfg, 1000 + 60_001).await.unwrap();
        assert_eq!(hit(got), "miss");
    }

    #[tokio::test]
    async fn the_oldest_entries_go_first() {
        let c = ResponseCache::new(&StateBackend::Memory);
        let cfg = config(3);
        for i in 0..5 {
            let mut p = probe_of(&format!("question {}", ["a", "b", "c", "d", "e"][i]));
            p.bucket = i as u64 % 2;
            c.insert(&p, None, answer("x"), &cfg, 0).await.unwrap();
        }
        assert_eq!(c.len("p"), 3);
        for (q, bucket, found) in [
            ("question a", 0, false),
            ("question b", 1, false),
            ("question c", 0, true),
            ("question e", 0, true),
        ] {
            let mut p = probe_of(q);
            p.bucket = bucket;
            let got = c.lookup(&p, None, &cfg, 1).await.unwrap();
            assert_eq!(matches!(got, Lookup::Exact(_)), found, "{q}");
        }
    }
}
