//! One shadow judging: the other model's answer, then the judge in both orders.
//!
//! Runs after the client has its answer, on its own task, so nothing here can delay or
//! change what the client got. Every call is metered under `role="shadow"` or
//! `role="judge"` and added to the policy's daily shadow spend; nothing is charged to the
//! key. A call that fails is counted and recorded with the row as `failed`, a verdict that
//! does not parse as `unparseable`.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::json;
use sluice_api::chat::{ChatCompletionRequest, ResponseProbe};
use sluice_config::{ModelConfig, QualityConfig};
use sluice_outcomes::{Judgment, Write};
use sluice_telemetry::pricing::Tokens;
use sluice_upstream::{AttemptLog, ResponseBody};

use super::judge::{self, Side};
use crate::ledger::prices;
use crate::state::{AppState, Runtime};

/// Judge replies are short; this bounds a judge that rambles.
const JUDGE_MAX_TOKENS: u64 = 1024;

pub(super) struct Job {
    pub state: Arc<AppState>,
    pub runtime: Arc<Runtime>,
    pub config: QualityConfig,
    pub policy: String,
    /// The model that answered the client, and the one the policy did not choose.
    pub route: String,
    pub other: String,
    pub client_is_weak: bool,
    pub request_id: String,
    pub chat: Arc<ChatCompletionRequest>,
    pub answer: String,
    pub store_text: bool,
}

/// A completed call: its text and what it cost.
struct Completion {
    text: String,
    pico: u128,
}

impl Job {
    pub async fn run(self) {
        let q = &self.state.quality;
        let mut judgment = Judgment {
            shadow_route: self.other.clone(),
            ..Judgment::default()
        };
        let mut shadow_req = (*self.chat).clone();
        shadow_req.stream = Some(false);
        shadow_req.stream_options = None;
        let shadow = self
            .complete(
                &self.other,
                shadow_req,
                "shadow",
                &format!("{}-shadow", self.request_id),
            )
            .await;
        let shadow = match shadow {
            Ok(c) => c,
            Err(why) => {
                judgment.weak_first = Side::Failed.as_str().into();
                judgment.strong_first = Side::Failed.as_str().into();
                judgment.verdict = "failed".into();
                judgment.note = Some(format!("shadow call to {} failed: {why}", self.other));
                return self.record(judgment);
            }
        };
        judgment.shadow_cost_usd = shadow.pico as f64 / 1e12;
        if self.store_text {
            judgment.shadow_answer = Some(shadow.text.clone());
        }
        // The cap is checked again: the shadow call may have reached it.
        if q.over_budget(
            &self.state,
            &self.policy,
            self.config.max_shadow_usd_per_day,
        ) {
            self.state
                .metrics
                .quality
                .shadow_skipped
                .with_label_values(&[&self.policy, "budget"])
                .inc();
            judgment.weak_first = Side::Failed.as_str().into();
            judgment.strong_first = Side::Failed.as_str().into();
            judgment.verdict = "failed".into();
            judgment.note = Some("daily shadow budget reached before judging".into());
            return self.record(judgment);
        }
        let (weak, strong) = if self.client_is_weak {
            (self.answer.as_str(), shadow.text.as_str())
        } else {
            (shadow.text.as_str(), self.answer.as_str())
        };
        let question = judge::question(&self.chat);
        let first = judge::prompt(&self.config.rubric, &question, weak, strong);
        let second = judge::prompt(&self.config.rubric, &question, strong, weak);
        let (id1, id2) = (
            format!("{}-judge-1", self.request_id),
            format!("{}-judge-2", self.request_id),
        );
        let (a, b) = tokio::join!(self.ask_judge(first, &id1), self.ask_judge(second, &id2));
        let mut notes = Vec::new();
        let mut side = |r: Result<Completion, String>, weak_first: bool| match r {
            Ok(c) => {
                judgment.judge_cost_usd += c.pico as f64 / 1e12;
                let s = Side::of(judge::parse(&c.text), weak_first);
                if s == Side::Unparseable {
                    notes.push(format!("unparseable judge reply: {:?}", tail(&c.text)));
                }
                s
            }
            Err(why) => {
                notes.push(format!("judge call failed: {why}"));
                Side::Failed
            }
        };
        let (w, s) = (side(a, true), side(b, false));
        judgment.weak_first = w.as_str().into();
        judgment.strong_first = s.as_str().into();
        judgment.verdict = judge::combine(w, s).into();
        judgment.note = (!notes.is_empty()).then(|| notes.join("; "));
        let m = &self.state.metrics.quality;
        if judgment.verdict != "failed" {
            m.judged
                .with_label_values(&[&self.policy, &self.route, &judgment.verdict])
                .inc();
        }
        if let Some(ok) = judge::weak_ok(&judgment.verdict) {
            q.verdict(&self.policy, ok);
        }
        self.record(judgment);
    }

    fn record(&self, mut judgment: Judgment) {
        let now = super::now_ms(&self.state.clock);
        judgment.judged_ms = now;
        self.state
            .metrics
            .quality
            .last_judged
            .set(now as f64 / 1000.0);
        tracing::debug!(
            request_id = %self.request_id,
            policy = %self.policy,
            verdict = %judgment.verdict,
            "shadow judged"
        );
        self.state.quality.enqueue(Write::Judgment {
            request_id: self.request_id.clone(),
            judgment: Box::new(judgment),
        });
    }

    async fn ask_judge(&self, prompt: String, id: &str) -> Result<Completion, String> {
        let body = json!({
            "model": self.config.judge,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": 0,
            "max_tokens": JUDGE_MAX_TOKENS,
        });
        let req = ChatCompletionRequest::from_slice(&serde_json::to_vec(&body).unwrap_or_default())
            .map_err(|e| format!("building the judge request: {}", e.to_body().error.message))?;
        self.complete(&self.config.judge, req, "judge", id).await
    }

    /// One non-streaming completion from `model`, metered as `role`.
    async fn complete(
        &self,
        model: &str,
        mut chat: ChatCompletionRequest,
        role: &str,
        id: &str,
    ) -> Result<Completion, String> {
        let m = &self.state.metrics.quality;
        let Some(mc) = self.runtime.config.models.get(model) else {
            return Err(format!("model '{model}' is not configured"));
        };
        let result = call(&self.state, &self.runtime, mc, &mut chat, id).await;
        let outcome = if result.is_ok() { "ok" } else { "error" };
        m.shadow_requests
            .with_label_values(&[&self.policy, model, role, outcome])
            .inc();
        let (text, tokens) = result?;
        let pico = prices(mc).cost(tokens);
        m.shadow_cost.add(&[&self.policy, model, role], pico);
        self.state.quality.spent(&self.state, &self.policy, pico);
        Ok(Completion { text, pico })
    }
}

/// The last line of a reply, for the note of an unparseable verdict.
fn tail(text: &str) -> String {
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    last.chars().take(120).collect()
}

async fn call(
    state: &AppState,
    runtime: &Runtime,
    mc: &ModelConfig,
    chat: &mut ChatCompletionRequest,
    id: &str,
) -> Result<(String, Tokens), String> {
    if mc.local {
        let local = runtime
            .locals
            .get(&mc.provider)
            .ok_or_else(|| format!("local provider '{}' is not loaded", mc.provider))?
            .clone();
        let prepared = {
            let (local, chat, name) = (local.clone(), chat.clone(), mc.name.clone());
            tokio::task::spawn_blocking(move || local.prepare(&chat, &name)).await
        };
        let gen = match prepared {
            Ok(Ok(g)) => g,
            Ok(Err(e)) => return Err(e.body.error.message),
            Err(_) => return Err("preparing the prompt failed".into()),
        };
        let rx = local
            .engine
            .submit(gen)
            .map_err(|e| format!("local model refused: {e}"))?;
        let out = crate::local::collect(rx).await?;
        let tokens = Tokens {
            prompt: out.prompt_tokens as u64,
            cached: 0,
            cache_write: 0,
            completion: out.completion_tokens as u64,
        };
        return Ok((out.text, tokens));
    }
    let provider = state.quality.shadow_provider(runtime, &mc.provider)?;
    chat.model.clone_from(&mc.upstream_model);
    let body = Bytes::from(chat.to_vec());
    let prompt_bytes = body.len() as u64;
    let mut log = AttemptLog::default();
    let result = provider.chat(body, false, id, &mut log).await;
    crate::target::count_attempts(&state.metrics, provider.name(), &log);
    let resp = result.map_err(|e| crate::error::describe(&e))?;
    let ResponseBody::Full(bytes) = resp.body else {
        return Err("expected a whole JSON answer, got a stream".into());
    };
    let probe = ResponseProbe::parse(&bytes).ok_or("the answer is not JSON")?;
    let text = probe
        .text()
        .ok_or("the answer has no message content")?
        .to_owned();
    // Without a usage block, estimated at 4 bytes per token as for user traffic.
    let tokens = probe.usage.map_or(
        Tokens {
            prompt: prompt_bytes.div_ceil(4),
            cached: 0,
            cache_write: 0,
            completion: (text.len() as u64).div_ceil(4),
        },
        |u| Tokens {
            prompt: u.prompt_tokens,
            cached: u.cached_tokens(),
            cache_write: u.cache_creation_tokens(),
            completion: u.completion_tokens,
        },
    );
    Ok((text, tokens))
}
