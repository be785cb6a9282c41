//! The routing decision: a pure function of (request features, router scores, policy).
//!
//! Rules come first and need no model: a permitted override header, capabilities the weak
//! target lacks (tools, images, JSON-schema output), a prompt that cannot fit its context
//! window, and regex patterns. Only when no rule applies are scores needed; callers use
//! [`rules`] to skip embedding entirely when a rule already decides.
//!
//! Reasons are plain ASCII because they travel in the `x-sluice-reason` header.

use regex::Regex;

use crate::heads::{Aggregate, SemanticRoute};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Strategy {
    /// Always the default target.
    Static,
    /// Learned head score `>= threshold` sends the request to `strong`.
    Learned { threshold: f32 },
    /// The most similar semantic route above its own threshold, else the default target.
    Semantic { aggregate: Aggregate },
    /// The weak (local) target drafts and its own confidence decides later, outside the
    /// router; `embed`: the escalation head also reads the prompt's embedding.
    Cascade { embed: bool },
}

/// What happens when the embedder's queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Skip scoring and send the request to the strong target (safe for quality).
    Strong,
    /// Refuse with 503 and `retry-after`.
    Reject,
}

/// What the weak (default) target can do; rules send requests it cannot serve to `strong`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    pub context_window: Option<u64>,
    pub tools: bool,
    pub images: bool,
    pub json_schema: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            context_window: None,
            tools: true,
            images: true,
            json_schema: true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Pattern {
    pub regex: Regex,
    pub target: String,
}

/// A policy ready to decide with: targets resolved, regexes compiled, examples embedded.
#[derive(Debug, Clone)]
pub struct RoutingPolicy {
    pub name: String,
    pub strategy: Strategy,
    /// Static target; the weak target of `learned`; the no-match target of `semantic`.
    pub default_target: String,
    /// Where requests the default target cannot or should not serve go.
    pub strong: Option<String>,
    pub weak_caps: Capabilities,
    /// Targets a client may force with the `x-sluice-target` header (empty: header ignored).
    pub header_overrides: Vec<String>,
    pub patterns: Vec<Pattern>,
    pub semantic: Vec<SemanticRoute>,
    pub overflow: Overflow,
}

impl RoutingPolicy {
    /// Whether deciding needs an embedding (so the gateway knows whether to call the router).
    pub fn needs_embedding(&self) -> bool {
        match self.strategy {
            Strategy::Static => false,
            Strategy::Cascade { embed } => embed,
            Strategy::Learned { .. } | Strategy::Semantic { .. } => true,
        }
    }
}

/// What the policy may look at in a request. Built by the gateway from the parsed body.
#[derive(Debug, Clone, Default)]
pub struct Features {
    /// Value of `x-sluice-target`, if sent.
    pub header_target: Option<String>,
    pub has_tools: bool,
    pub has_images: bool,
    pub wants_json_schema: bool,
    /// Estimated prompt tokens plus the completion budget the client asked for.
    pub needed_tokens: u64,
    /// The text that is embedded and matched against patterns.
    pub text: String,
}

#[derive(Debug, Clone, Default)]
pub struct Scores {
    pub learned: Option<f32>,
    /// Similarity per semantic route, in the policy's route order.
    pub semantic: Vec<f32>,
}

/// Which rule or head made the decision (a metric label: a small fixed set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    Header,
    Capability,
    Context,
    Pattern,
    Learned,
    Semantic,
    Static,
    Overflow,
    /// The local model drafts; the gateway's cascade decides after it.
    Cascade,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Header => "header",
            Basis::Capability => "capability",
            Basis::Context => "context",
            Basis::Pattern => "pattern",
            Basis::Learned => "learned",
            Basis::Semantic => "semantic",
            Basis::Static => "static",
            Basis::Overflow => "overflow",
            Basis::Cascade => "cascade",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Route {
        target: String,
        basis: Basis,
        score: Option<f32>,
        reason: String,
    },
    Reject {
        reason: String,
    },
}

impl Decision {
    fn route(target: &str, basis: Basis, score: Option<f32>, reason: String) -> Decision {
        Decision::Route {
            target: target.to_owned(),
            basis,
            score,
            reason,
        }
    }

    pub fn target(&self) -> Option<&str> {
        match self {
            Decision::Route { target, .. } => Some(target),
            Decision::Reject { .. } => None,
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Decision::Route { reason, .. } | Decision::Reject { reason } => reason,
        }
    }
}

/// Deterministic rules, in order. `None`: no rule applies, scores decide.
pub fn rules(p: &RoutingPolicy, f: &Features) -> Option<Decision> {
    if let Some(h) = &f.header_target {
        if p.header_overrides.iter().any(|t| t == h) {
            return Some(Decision::route(
                h,
                Basis::Header,
                None,
                format!("header x-sluice-target: {h}"),
            ));
        }
    }
    if let Some(strong) = &p.strong {
        let weak = &p.default_target;
        let lacks = [
            (f.has_tools && !p.weak_caps.tools, "tools"),
            (f.has_images && !p.weak_caps.images, "images"),
            (
                f.wants_json_schema && !p.weak_caps.json_schema,
                "json_schema response_format",
            ),
        ];
        if let Some((_, what)) = lacks.iter().find(|(hit, _)| *hit) {
            return Some(Decision::route(
                strong,
                Basis::Capability,
                None,
                format!("request uses {what}, which {weak} does not support -> {strong}"),
            ));
        }
        if let Some(window) = p.weak_caps.context_window {
            if f.needed_tokens > window {
                return Some(Decision::route(
                    strong,
                    Basis::Context,
                    None,
                    format!(
                        "needs ~{} tokens, more than {weak}'s context window of {window} -> {strong}",
                        f.needed_tokens
                    ),
                ));
            }
        }
    }
    for pat in &p.patterns {
        if pat.regex.is_match(&f.text) {
            return Some(Decision::route(
                &pat.target,
                Basis::Pattern,
                None,
                format!("pattern /{}/ matched -> {}", pat.regex.as_str(), pat.target),
            ));
        }
    }
    if matches!(p.strategy, Strategy::Static) {
        return Some(Decision::route(
            &p.default_target,
            Basis::Static,
            None,
            format!("policy {}: static target {}", p.name, p.default_target),
        ));
    }
    None
}

/// The decision when the embedder refused the job because its queue was full.
pub fn overflow(p: &RoutingPolicy) -> Decision {
    match (p.overflow, &p.strong) {
        (Overflow::Strong, Some(strong)) => Decision::route(
            strong,
            Basis::Overflow,
            None,
            format!("router queue full; overflow -> {strong}"),
        ),
        (Overflow::Strong, None) => Decision::route(
            &p.default_target,
            Basis::Overflow,
            None,
            format!("router queue full; overflow -> {}", p.default_target),
        ),
        (Overflow::Reject, _) => Decision::Reject {
            reason: "router queue full; request rejected".into(),
        },
    }
}

/// Formats a score and a threshold with as many decimals (3 to 8) as it takes for the two
/// to read differently, so a reason never says "0.179 < 0.179".
pub fn distinct_digits(a: f32, b: f32) -> (String, String) {
    for prec in 3..=8 {
        let (x, y) = (format!("{a:.prec$}"), format!("{b:.prec$}"));
        if x != y || prec == 8 {
            return (x, y);
        }
    }
    unreachable!("the loop returns at precision 8")
}

/// The full decision: rules first, then the strategy's scores.
pub fn decide(p: &RoutingPolicy, f: &Features, s: &Scores) -> Decision {
    if let Some(d) = rules(p, f) {
        return d;
    }
    let weak = &p.default_target;
    match p.strategy {
        Strategy::Static => {
            Decision::route(weak, Basis::Static, None, format!("static target {weak}"))
        }
        Strategy::Learned { threshold } => {
            let strong = p.strong.as_deref().unwrap_or(weak);
            match s.learned {
                Some(score) if score >= threshold => {
                    let (a, b) = distinct_digits(score, threshold);
                    Decision::route(
                        strong,
                        Basis::Learned,
                        Some(score),
                        format!("learned score {a} >= threshold {b} -> {strong}"),
                    )
                }
                Some(score) => {
                    let (a, b) = distinct_digits(score, threshold);
                    Decision::route(
                        weak,
                        Basis::Learned,
                        Some(score),
                        format!("learned score {a} < threshold {b} -> {weak}"),
                    )
                }
                // No score (head failed): quality first.
                None => Decision::route(
                    strong,
                    Basis::Learned,
                    None,
                    format!("no learned score -> {strong}"),
                ),
            }
        }
        Strategy::Cascade { .. } => {
            let strong = p.strong.as_deref().unwrap_or(weak);
            Decision::route(
                weak,
                Basis::Cascade,
                None,
                format!("cascade: {weak} drafts, {strong} if its confidence is low"),
            )
        }
        Strategy::Semantic { .. } => {
            let best = p
                .semantic
                .iter()
                .zip(&s.semantic)
                .filter(|(r, &sim)| sim >= r.threshold)
                .max_by(|a, b| a.1.total_cmp(b.1));
            match best {
                Some((r, &sim)) => Decision::route(
                    &r.target,
                    Basis::Semantic,
                    Some(sim),
                    format!(
                        "semantic route '{}' similarity {sim:.3} >= {:.3} -> {}",
                        r.name, r.threshold, r.target
                    ),
                ),
                None => {
                    let closest = p
                        .semantic
                        .iter()
                        .zip(&s.semantic)
                        .max_by(|a, b| a.1.total_cmp(b.1));
                    let detail = closest
                        .map(|(r, sim)| format!(" (closest '{}' at {sim:.3})", r.name))
                        .unwrap_or_default();
                    Decision::route(
                        weak,
                        Basis::Semantic,
                        closest.map(|(_, s)| *s),
                        format!("no semantic route matched{detail} -> {weak}"),
                    )
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
