//! Sluice's Prometheus metrics.
//!
//! Every family is registered once, in [`Metrics::new`], on a registry of our own (not the
//! global default), so tests can build as many gateways as they like in one process. Label
//! values come from config (policy, route, provider names) or from small fixed sets (status
//! class, error kind), never from user input, so cardinality stays bounded.

pub mod cache;
pub mod pricing;
pub mod quality;
pub mod usd;

use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Buckets for whole requests: LLM calls range from milliseconds (cache, local) to minutes.
const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0,
];

pub struct Metrics {
    registry: Registry,
    /// Requests by policy, route (the model that answered, or `none`) and status class.
    pub requests: IntCounterVec,
    pub request_duration: HistogramVec,
    /// Attempts beyond the first against one provider.
    pub upstream_retries: IntCounterVec,
    /// Failed upstream attempts by provider and kind (connect, timeout, status_429, ...).
    pub upstream_errors: IntCounterVec,
    /// A request moving from one target of its chain to the next.
    pub fallbacks: IntCounterVec,
    pub config_reloads: IntCounterVec,
    pub in_flight: IntGauge,
    pub build_info: IntGaugeVec,
    /// Routing decisions by policy, chosen target and what decided (rule, head, overflow).
    pub router_decisions: IntCounterVec,
    /// Time to decide, embedding included.
    pub router_decision_duration: HistogramVec,
    /// Learned scores and best semantic similarities, per policy and head kind.
    pub router_score: HistogramVec,
    pub router_batch_size: prometheus::Histogram,
    pub router_batch_duration: prometheus::Histogram,
    pub router_queue_depth: IntGauge,
    /// Requests the router could not score because its queue was full.
    pub router_overflow: IntCounterVec,
    /// Tokens by policy, model (the one that answered) and kind (`prompt`, `cached_prompt`,
    /// `completion`).
    pub tokens: IntCounterVec,
    /// What requests cost, by policy and model, from the usage the model reported.
    pub cost: usd::UsdCounterVec,
    /// What the same tokens would have cost on the policy's baseline model, by policy and
    /// the model that actually answered: savings = baseline − cost.
    pub baseline_cost: usd::UsdCounterVec,
    /// Requests whose usage the upstream did not report, so tokens were estimated.
    pub usage_estimated: IntCounterVec,
    /// Request received → first response byte sent, streams only.
    pub time_to_first_token: HistogramVec,
    /// Local models: requests waiting for a batch slot, sequences decoding, per provider.
    pub local_queue_depth: IntGaugeVec,
    pub local_active: IntGaugeVec,
    /// Sequences decoded together per step.
    pub local_batch_size: HistogramVec,
    pub local_step_duration: HistogramVec,
    /// Tokens generated (rate = tokens/s).
    pub local_generated_tokens: IntCounterVec,
    /// Requests the local model refused at admission (queue full, larger than the KV budget).
    pub local_rejected: IntCounterVec,
    /// Submission → first token, queueing and prefill included, by prefix cache outcome.
    pub local_time_to_first_token: HistogramVec,
    /// Prompt tokens prefilled, and how many of them came from the prefix cache.
    pub local_prompt_tokens: IntCounterVec,
    pub local_prefix_reused_tokens: IntCounterVec,
    /// Prefills by prefix cache outcome (hit, miss).
    pub local_prefix_lookups: IntCounterVec,
    pub local_prefix_cache_bytes: IntGaugeVec,
    /// Requests refused before anything else: no key, or an unknown one.
    pub auth_failures: IntCounterVec,
    /// Requests shed by admission (503 `overloaded`): the gateway was at `max_concurrency`.
    pub load_shed: prometheus::IntCounter,
    /// Streams whose client left before the end: drained for their usage, or cancelled
    /// (tokens estimated) because `server.max_drain_tasks` drains were already running.
    pub stream_drains: IntCounterVec,
    /// Requests by tenant (from config) and what the limits made of them.
    pub tenant_requests: IntCounterVec,
    pub tenant_tokens: IntCounterVec,
    pub tenant_cost: usd::UsdCounterVec,
    /// Configured budget, and spend in the current budget period (as last read).
    pub tenant_budget: GaugeVec,
    pub tenant_spend: GaugeVec,
    /// 1 while the shared counter store answers (always 1 for `memory`).
    pub state_backend_up: IntGaugeVec,
    /// 0 closed, 1 open, 2 half-open.
    pub circuit_state: IntGaugeVec,
    pub circuit_opened: IntCounterVec,
    /// Cascade policies: the local draft kept or escalated, by policy.
    pub cascade_decisions: IntCounterVec,
    /// Drafts escalated because they had not reached the decision point in time.
    pub cascade_timeouts: IntCounterVec,
    /// Draft tokens kept (the answer) or discarded (escalated).
    pub cascade_draft_tokens: IntCounterVec,
    /// Request start to the cascade's decision, by outcome: what escalation costs in time.
    pub cascade_draft_seconds: HistogramVec,
    /// The escalation head's probability, by policy.
    pub cascade_probability: HistogramVec,
    /// Local compute spent on drafts that were then discarded, at the local model's prices.
    pub cascade_discarded_cost: usd::UsdCounterVec,
    /// The quality loop: judgments, shadow spend, feedback, drift, outcome store.
    pub quality: quality::QualityMetrics,
    /// The response cache: lookups, guard refusals, savings.
    pub cache: cache::CacheMetrics,
    /// (name, help) of every registered family, in registration order: the source of the
    /// README's metrics reference (a test keeps the two in step).
    families: Vec<(String, String)>,
}

fn reg(
    registry: &Registry,
    families: &mut Vec<(String, String)>,
    c: impl prometheus::core::Collector + 'static,
) -> Result<(), prometheus::Error> {
    for d in c.desc() {
        families.push((d.fq_name.clone(), d.help.clone()));
    }
    registry.register(Box::new(c))
}

const DECISION_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512,
    1.0,
];

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let mut families = Vec::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "sluice_requests_total",
                "Chat completion requests by policy, route and status class",
            ),
            &["policy", "route", "status"],
        )?;
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "sluice_request_duration_seconds",
                "Time from request received to last response byte sent",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            &["policy", "route"],
        )?;
        let upstream_retries = IntCounterVec::new(
            Opts::new(
                "sluice_upstream_retries_total",
                "Upstream attempts beyond the first",
            ),
            &["provider"],
        )?;
        let upstream_errors = IntCounterVec::new(
            Opts::new(
                "sluice_upstream_errors_total",
                "Failed upstream attempts by kind",
            ),
            &["provider", "kind"],
        )?;
        let fallbacks = IntCounterVec::new(
            Opts::new(
                "sluice_fallbacks_total",
                "Requests moved to the next target of their chain",
            ),
            &["policy", "from", "to"],
        )?;
        let config_reloads = IntCounterVec::new(
            Opts::new(
                "sluice_config_reloads_total",
                "Config reloads by result (ok, failed)",
            ),
            &["result"],
        )?;
        let in_flight = IntGauge::new("sluice_requests_in_flight", "Requests being served now")?;
        let build_info = IntGaugeVec::new(
            Opts::new("sluice_build_info", "Always 1; labels carry the build"),
            &["version"],
        )?;
        let router_decisions = IntCounterVec::new(
            Opts::new(
                "sluice_router_decisions_total",
                "Routing decisions by policy, target and basis",
            ),
            &["policy", "target", "basis"],
        )?;
        let router_decision_duration = HistogramVec::new(
            HistogramOpts::new(
                "sluice_router_decision_duration_seconds",
                "Time to reach a routing decision, embedding included",
            )
            .buckets(DECISION_BUCKETS.to_vec()),
            &["policy"],
        )?;
        let router_score = HistogramVec::new(
            HistogramOpts::new(
                "sluice_router_score",
                "Router scores: learned probability or best semantic similarity",
            )
            .buckets((1..=20).map(|i| f64::from(i) * 0.05).collect()),
            &["policy", "head"],
        )?;
        let router_batch_size = prometheus::Histogram::with_opts(
            HistogramOpts::new("sluice_router_batch_size", "Requests embedded per batch")
                .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0]),
        )?;
        let router_batch_duration = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "sluice_router_batch_duration_seconds",
                "Time to embed one batch",
            )
            .buckets(DECISION_BUCKETS.to_vec()),
        )?;
        let router_queue_depth = IntGauge::new(
            "sluice_router_queue_depth",
            "Requests waiting for an embedding worker",
        )?;
        let router_overflow = IntCounterVec::new(
            Opts::new(
                "sluice_router_overflow_total",
                "Requests not scored because the router queue was full",
            ),
            &["policy"],
        )?;
        let tokens = IntCounterVec::new(
            Opts::new(
                "sluice_tokens_total",
                "Tokens by policy, model and kind (prompt, cached_prompt, completion)",
            ),
            &["policy", "model", "kind"],
        )?;
        let cost = usd::UsdCounterVec::new(
            "sluice_cost_usd_total",
            "Cost of requests in USD from reported usage and configured prices",
            &["policy", "model"],
        )?;
        let baseline_cost = usd::UsdCounterVec::new(
            "sluice_baseline_cost_usd_total",
            "What the same tokens would have cost on the policy's baseline model, in USD",
            &["policy", "model"],
        )?;
        let usage_estimated = IntCounterVec::new(
            Opts::new(
                "sluice_usage_estimated_total",
                "Requests whose token usage was estimated because the upstream reported none",
            ),
            &["model"],
        )?;
        let time_to_first_token = HistogramVec::new(
            HistogramOpts::new(
                "sluice_time_to_first_token_seconds",
                "Request received to first streamed byte sent",
            )
            .buckets(vec![
                0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 20.0, 40.0,
            ]),
            &["policy", "route"],
        )?;
        let local_queue_depth = IntGaugeVec::new(
            Opts::new(
                "sluice_local_queue_depth",
                "Requests waiting for a local model's batch slot",
            ),
            &["provider"],
        )?;
        let local_active = IntGaugeVec::new(
            Opts::new(
                "sluice_local_active_sequences",
                "Sequences a local model is decoding now",
            ),
            &["provider"],
        )?;
        let local_batch_size = HistogramVec::new(
            HistogramOpts::new(
                "sluice_local_batch_size",
                "Sequences decoded together in one local model step",
            )
            .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]),
            &["provider"],
        )?;
        let local_step_duration = HistogramVec::new(
            HistogramOpts::new(
                "sluice_local_step_duration_seconds",
                "Time of one local model decode step (all sequences of the batch)",
            )
            .buckets(DECISION_BUCKETS.to_vec()),
            &["provider"],
        )?;
        let local_generated_tokens = IntCounterVec::new(
            Opts::new(
                "sluice_local_generated_tokens_total",
                "Tokens generated by a local model",
            ),
            &["provider"],
        )?;
        let local_rejected = IntCounterVec::new(
            Opts::new(
                "sluice_local_rejected_total",
                "Requests a local model refused at admission, by reason (queue_full, too_large)",
            ),
            &["provider", "reason"],
        )?;
        let local_time_to_first_token = HistogramVec::new(
            HistogramOpts::new(
                "sluice_local_time_to_first_token_seconds",
                "Local model: request submitted to first token sampled (queueing and prefill), by prefix cache outcome",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 20.0,
            ]),
            &["provider", "prefix"],
        )?;
        let local_prompt_tokens = IntCounterVec::new(
            Opts::new(
                "sluice_local_prompt_tokens_total",
                "Prompt tokens a local model prefilled or took from its prefix cache",
            ),
            &["provider"],
        )?;
        let local_prefix_reused_tokens = IntCounterVec::new(
            Opts::new(
                "sluice_local_prefix_reused_tokens_total",
                "Prompt tokens whose KV cache came from the prefix cache instead of a prefill",
            ),
            &["provider"],
        )?;
        let local_prefix_lookups = IntCounterVec::new(
            Opts::new(
                "sluice_local_prefix_lookups_total",
                "Local model prefills by prefix cache outcome (hit, miss)",
            ),
            &["provider", "result"],
        )?;
        let local_prefix_cache_bytes = IntGaugeVec::new(
            Opts::new(
                "sluice_local_prefix_cache_bytes",
                "Bytes of KV cache a local model keeps for recently seen prompts",
            ),
            &["provider"],
        )?;
        let load_shed = prometheus::IntCounter::new(
            "sluice_load_shed_total",
            "Requests answered 503 overloaded because the gateway was at server.max_concurrency for longer than server.max_queue_wait",
        )?;
        let stream_drains = IntCounterVec::new(
            Opts::new(
                "sluice_stream_drains_total",
                "Abandoned upstream streams by fate: drained (read to the end for their usage) or cancelled (all server.max_drain_tasks slots busy; tokens estimated)",
            ),
            &["outcome"],
        )?;
        let auth_failures = IntCounterVec::new(
            Opts::new(
                "sluice_auth_failures_total",
                "Requests refused for a missing or unknown API key, by reason",
            ),
            &["reason"],
        )?;
        let tenant_requests = IntCounterVec::new(
            Opts::new(
                "sluice_tenant_requests_total",
                "Requests by tenant and outcome (allowed, forbidden_model, rate_limited, budget_rejected, budget_downgraded)",
            ),
            &["tenant", "outcome"],
        )?;
        let tenant_tokens = IntCounterVec::new(
            Opts::new(
                "sluice_tenant_tokens_total",
                "Prompt and completion tokens by tenant",
            ),
            &["tenant"],
        )?;
        let tenant_cost = usd::UsdCounterVec::new(
            "sluice_tenant_cost_usd_total",
            "Cost of requests by tenant in USD",
            &["tenant"],
        )?;
        let tenant_budget = GaugeVec::new(
            Opts::new(
                "sluice_tenant_budget_usd",
                "Configured budget per period by tenant and key",
            ),
            &["tenant", "key"],
        )?;
        let tenant_spend = GaugeVec::new(
            Opts::new(
                "sluice_tenant_spend_usd",
                "Spend in the current budget period by tenant and key (as last read from the counter store)",
            ),
            &["tenant", "key"],
        )?;
        let state_backend_up = IntGaugeVec::new(
            Opts::new(
                "sluice_state_backend_up",
                "1 while the rate-limit and budget counter store answers; 0 while serving from local counters",
            ),
            &["backend"],
        )?;
        let circuit_state = IntGaugeVec::new(
            Opts::new(
                "sluice_circuit_state",
                "Circuit breaker per provider: 0 closed, 1 open, 2 half-open",
            ),
            &["provider"],
        )?;
        let circuit_opened = IntCounterVec::new(
            Opts::new(
                "sluice_circuit_opened_total",
                "Times a provider's circuit breaker opened",
            ),
            &["provider"],
        )?;
        let cascade_decisions = IntCounterVec::new(
            Opts::new(
                "sluice_cascade_decisions_total",
                "Cascade decisions by policy and outcome (accepted: the local draft is the answer; escalated: sent to the strong model)",
            ),
            &["policy", "outcome"],
        )?;
        let cascade_timeouts = IntCounterVec::new(
            Opts::new(
                "sluice_cascade_draft_timeouts_total",
                "Cascade drafts escalated because they had not reached the decision point within max_draft_ms",
            ),
            &["policy"],
        )?;
        let cascade_draft_tokens = IntCounterVec::new(
            Opts::new(
                "sluice_cascade_draft_tokens_total",
                "Tokens the local model drafted before the cascade decided, by fate (kept, discarded)",
            ),
            &["policy", "fate"],
        )?;
        let cascade_draft_seconds = HistogramVec::new(
            HistogramOpts::new(
                "sluice_cascade_draft_seconds",
                "Request start to the cascade's decision (queueing, prefill, draft tokens), by outcome: the latency drafting adds to escalated requests",
            )
            .buckets(vec![
                0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0,
            ]),
            &["policy", "outcome"],
        )?;
        let cascade_probability = HistogramVec::new(
            HistogramOpts::new(
                "sluice_cascade_escalation_probability",
                "The escalation head's P(the local answer is not good enough)",
            )
            .buckets(vec![
                0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95,
            ]),
            &["policy"],
        )?;
        let cascade_discarded_cost = usd::UsdCounterVec::new(
            "sluice_cascade_discarded_cost_usd_total",
            "Local compute of escalated (discarded) cascade drafts, at the local model's configured prices, in USD",
            &["policy"],
        )?;
        reg(&registry, &mut families, cascade_decisions.clone())?;
        reg(&registry, &mut families, cascade_timeouts.clone())?;
        reg(&registry, &mut families, cascade_draft_tokens.clone())?;
        reg(&registry, &mut families, cascade_draft_seconds.clone())?;
        reg(&registry, &mut families, cascade_probability.clone())?;
        reg(&registry, &mut families, cascade_discarded_cost.clone())?;
        let quality = quality::QualityMetrics::new(&registry, &mut families)?;
        let cache = cache::CacheMetrics::new(&registry, &mut families)?;
        reg(&registry, &mut families, cost.clone())?;
        reg(&registry, &mut families, baseline_cost.clone())?;
        reg(&registry, &mut families, tokens.clone())?;
        reg(&registry, &mut families, usage_estimated.clone())?;
        reg(&registry, &mut families, time_to_first_token.clone())?;
        reg(&registry, &mut families, router_decisions.clone())?;
        reg(&registry, &mut families, router_decision_duration.clone())?;
        reg(&registry, &mut families, router_score.clone())?;
        reg(&registry, &mut families, router_batch_size.clone())?;
        reg(&registry, &mut families, router_batch_duration.clone())?;
        reg(&registry, &mut families, router_queue_depth.clone())?;
        reg(&registry, &mut families, router_overflow.clone())?;
        reg(&registry, &mut families, local_queue_depth.clone())?;
        reg(&registry, &mut families, local_active.clone())?;
        reg(&registry, &mut families, local_batch_size.clone())?;
        reg(&registry, &mut families, local_step_duration.clone())?;
        reg(&registry, &mut families, local_generated_tokens.clone())?;
        reg(&registry, &mut families, local_rejected.clone())?;
        reg(&registry, &mut families, local_time_to_first_token.clone())?;
        reg(&registry, &mut families, load_shed.clone())?;
        reg(&registry, &mut families, stream_drains.clone())?;
        reg(&registry, &mut families, local_prompt_tokens.clone())?;
        reg(&registry, &mut families, local_prefix_reused_tokens.clone())?;
        reg(&registry, &mut families, local_prefix_lookups.clone())?;
        reg(&registry, &mut families, local_prefix_cache_bytes.clone())?;
        reg(&registry, &mut families, auth_failures.clone())?;
        reg(&registry, &mut families, tenant_requests.clone())?;
        reg(&registry, &mut families, tenant_tokens.clone())?;
        reg(&registry, &mut families, tenant_cost.clone())?;
        reg(&registry, &mut families, tenant_budget.clone())?;
        reg(&registry, &mut families, tenant_spend.clone())?;
        reg(&registry, &mut families, state_backend_up.clone())?;
        reg(&registry, &mut families, circuit_state.clone())?;
        reg(&registry, &mut families, circuit_opened.clone())?;
        reg(&registry, &mut families, requests.clone())?;
        reg(&registry, &mut families, request_duration.clone())?;
        reg(&registry, &mut families, upstream_retries.clone())?;
        reg(&registry, &mut families, upstream_errors.clone())?;
        reg(&registry, &mut families, fallbacks.clone())?;
        reg(&registry, &mut families, config_reloads.clone())?;
        reg(&registry, &mut families, in_flight.clone())?;
        reg(&registry, &mut families, build_info.clone())?;
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        for r in ["ok", "failed"] {
            config_reloads.with_label_values(&[r]);
        }
        Ok(Metrics {
            registry,
            requests,
            request_duration,
            upstream_retries,
            upstream_errors,
            fallbacks,
            config_reloads,
            in_flight,
            build_info,
            router_decisions,
            router_decision_duration,
            router_score,
            router_batch_size,
            router_batch_duration,
            router_queue_depth,
            router_overflow,
            tokens,
            cost,
            baseline_cost,
            usage_estimated,
            time_to_first_token,
            local_queue_depth,
            local_active,
            local_batch_size,
            local_step_duration,
            local_generated_tokens,
            local_rejected,
            local_time_to_first_token,
            load_shed,
            stream_drains,
            local_prompt_tokens,
            local_prefix_reused_tokens,
            local_prefix_lookups,
            local_prefix_cache_bytes,
            auth_failures,
            tenant_requests,
            tenant_tokens,
            tenant_cost,
            tenant_budget,
            tenant_spend,
            state_backend_up,
            circuit_state,
            circuit_opened,
            cascade_decisions,
            cascade_timeouts,
            cascade_draft_tokens,
            cascade_draft_seconds,
            cascade_probability,
            cascade_discarded_cost,
            quality,
            cache,
            families,
        })
    }

    /// Name and help of every metric family, as registered.
    pub fn families(&self) -> &[(String, String)] {
        &self.families
    }

    /// The Prometheus text exposition of every family.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Encoding into a Vec only fails on malformed metric families, which `new` rules out.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}

/// `2xx`, `4xx`, `5xx`: the status label, bounded to a handful of values.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}
