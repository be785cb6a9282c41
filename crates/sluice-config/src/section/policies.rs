//! `policies:` — the model names clients ask for and how each one picks a target: a
//! strategy (static, a learned head's score, or semantic routes), deterministic rules
//! checked first, and the fallback chain.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use super::models::ModelConfig;
use super::outcomes::{check_quality, QualityConfig, RawQuality};
use super::router::RouterConfig;
use super::Word;
use crate::check::one_of;
use crate::error::ConfigError;

/// `policies.<name>:` — a model name clients ask for (`auto`, or a real model's own name)
/// and where its requests go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// How the target is chosen: `static` (always `target`), `learned` (a router head's
    /// score `>= threshold` sends the request to `strong`, otherwise `target`), or `semantic`
    /// (the most similar of `routes`, otherwise `target`). `strategy: learned`
    #[serde(default)]
    pub strategy: Word<StrategyKind>,
    /// The default model: the static target, the weak model of `learned`, the no-match
    /// model of `semantic`. `target: local-small`
    pub target: String,
    /// Where requests go that `target` should not or cannot serve: a high learned score,
    /// features `target` lacks, prompts beyond its context window, router overflow.
    /// `strong: gpt-4o`
    #[serde(default)]
    pub strong: Option<String>,
    /// `learned`: scores at or above this go to `strong`; `cascade`: an escalation
    /// probability at or above this drops the local draft for `strong`. `threshold: 0.42`
    #[serde(default)]
    pub threshold: Option<f64>,
    /// `cascade`: the escalation head and when it decides.
    #[serde(default)]
    pub cascade: Option<RawCascade>,
    /// `learned`: which `router.heads` entry scores requests. `head: default`
    #[serde(default)]
    pub head: Option<String>,
    /// `semantic`: how similarity to a route's examples is summarised: `max` (closest
    /// example) or `centroid`. `aggregate: max`
    #[serde(default)]
    pub aggregate: Option<Word<Aggregate>>,
    /// `semantic`: routes defined by example utterances.
    #[serde(default)]
    pub routes: Vec<RawSemanticRoute>,
    /// Deterministic overrides, checked before any model runs.
    #[serde(default)]
    pub rules: RawRules,
    /// When the router's queue is full: `strong` (send there unscored) or `reject` (503).
    /// `overflow: strong`
    #[serde(default)]
    pub overflow: Word<Overflow>,
    /// Tried in order when the target fails (connect error, timeout, 429 or 5xx after
    /// retries). `fallbacks: [gpt-4o]`
    #[serde(default)]
    pub fallbacks: Vec<String>,
    /// The model whose price the savings figures compare against. `baseline: gpt-4o`
    #[serde(default)]
    pub baseline: Option<String>,
    /// Shadow judging of a sample of this policy's requests (README, Quality loop).
    #[serde(default)]
    pub quality: Option<RawQuality>,
    /// The guarded response cache (README, Semantic cache). `cache: {ttl: 10m}`
    #[serde(default)]
    pub cache: Option<super::cache::RawCache>,
}

/// `policies.<name>.strategy`; the typed [`Strategy`] carries each one's settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrategyKind {
    #[default]
    Static,
    Learned,
    Semantic,
    Cascade,
}

/// `policies.<name>.cascade` — the local model (`target`, a `kind: local` model) drafts
/// the answer; its own confidence, read by an escalation head, decides whether the draft
/// is the answer or the request goes to `strong`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCascade {
    /// The ONNX escalation head (relative to the config file), as `sluice-evals
    /// cascade-train` writes it. `head: cascade-head.onnx`
    pub head: String,
    /// When the head decides: `prefill` (the prompt and the first token), a number of
    /// generated tokens, or `end` (of the draft, at most `max_draft_tokens`). Streamed
    /// tokens are held until then, so a client never sees a draft that is withdrawn.
    /// `decide_at: 8`
    #[serde(default)]
    pub decide_at: Option<RawDecideAt>,
    /// Longest draft before the decision. `max_draft_tokens: 64`
    #[serde(default = "default_max_draft_tokens")]
    pub max_draft_tokens: usize,
    /// A draft that has not reached its decision point after this long (queueing included)
    /// is escalated: the most an escalated request loses to drafting. `max_draft_ms: 150`
    #[serde(default = "default_max_draft_ms")]
    pub max_draft_ms: u64,
    /// Prompt tokens (the last ones) whose likelihood under the local model is a signal.
    /// `prompt_window: 32`
    #[serde(default = "default_prompt_window")]
    pub prompt_window: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawDecideAt {
    Tokens(usize),
    Word(String),
}

fn default_max_draft_tokens() -> usize {
    64
}
fn default_max_draft_ms() -> u64 {
    150
}
fn default_prompt_window() -> usize {
    32
}

/// When a cascade decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecideAt {
    Prefill,
    Tokens(usize),
    End,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CascadeConfig {
    /// As written; relative paths resolve against the config file's folder.
    pub head: String,
    pub decide_at: DecideAt,
    pub max_draft_tokens: usize,
    pub max_draft: std::time::Duration,
    pub prompt_window: usize,
}

impl CascadeConfig {
    /// Generated tokens after which the head decides (1 = right after the prefill).
    pub fn checkpoint(&self) -> usize {
        match self.decide_at {
            DecideAt::Prefill => 1,
            DecideAt::Tokens(n) => n.min(self.max_draft_tokens),
            DecideAt::End => self.max_draft_tokens,
        }
    }
}

/// `policies.<name>.routes[i]` — a semantic route.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSemanticRoute {
    /// Shown in reasons and `/v1/route`. `name: code`
    pub name: String,
    /// The model matching requests go to. `target: gpt-4o`
    pub target: String,
    /// Cosine similarity needed to match. `threshold: 0.55`
    #[serde(default = "default_semantic_threshold")]
    pub threshold: f64,
    /// Example utterances; editing them and saving the file re-embeds them live.
    pub examples: Vec<String>,
}

fn default_semantic_threshold() -> f64 {
    0.5
}

/// `policies.<name>.rules`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRules {
    /// Models a client may force with the `x-sluice-target` header. `header_override: [gpt-4o]`
    #[serde(default)]
    pub header_override: Vec<String>,
    /// Regex matches on the routed text, checked in order. `patterns: [{regex: "(?i)\\bprove\\b", target: gpt-4o}]`
    #[serde(default)]
    pub patterns: Vec<RawPattern>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPattern {
    pub regex: String,
    pub target: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    /// Always the target, then the fallbacks in order.
    Static,
    /// A learned head's score `>= threshold` sends the request to `strong`.
    Learned { threshold: f64, head: String },
    /// The most similar route above its threshold, else `target`.
    Semantic {
        aggregate: Aggregate,
        routes: Vec<SemanticRouteConfig>,
    },
    /// The local `target` drafts; an escalation probability `>= threshold` sends the
    /// request to `strong` instead.
    Cascade {
        threshold: f64,
        cascade: CascadeConfig,
    },
}

impl Strategy {
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Static => "static",
            Strategy::Learned { .. } => "learned",
            Strategy::Semantic { .. } => "semantic",
            Strategy::Cascade { .. } => "cascade",
        }
    }
}

/// `policies.<name>.aggregate`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// Similarity to the closest example.
    #[default]
    Max,
    /// Similarity to the mean of the examples.
    Centroid,
}

/// `policies.<name>.overflow`
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// Send the request to `strong`, unscored.
    #[default]
    Strong,
    /// Refuse it with 503.
    Reject,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SemanticRouteConfig {
    pub name: String,
    pub target: String,
    pub threshold: f64,
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rules {
    pub header_override: Vec<String>,
    /// Checked in order against the routed text.
    pub patterns: Vec<PatternRule>,
}

/// `rules.patterns[i]`: text matching `regex` goes to `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternRule {
    pub regex: CompiledRegex,
    pub target: String,
}

/// A rule's regex, compiled once when the config is checked and used as is by the router.
/// Compared and printed by its source text, so a reload that leaves the patterns alone
/// sees an equal config.
#[derive(Clone)]
pub struct CompiledRegex(regex::Regex);

impl CompiledRegex {
    pub fn new(source: &str) -> Result<Self, regex::Error> {
        regex::Regex::new(source).map(CompiledRegex)
    }

    /// The pattern as written in the config.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn regex(&self) -> &regex::Regex {
        &self.0
    }
}

impl PartialEq for CompiledRegex {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for CompiledRegex {}

impl fmt::Debug for CompiledRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PolicyConfig {
    pub name: String,
    pub strategy: Strategy,
    pub target: String,
    pub strong: Option<String>,
    pub fallbacks: Vec<String>,
    pub baseline: Option<String>,
    pub rules: Rules,
    pub overflow: Overflow,
    pub quality: Option<QualityConfig>,
    pub cache: Option<super::cache::CacheConfig>,
}

impl PolicyConfig {
    /// Target first, then fallbacks: the order in which a request tries models.
    pub fn chain(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.target.as_str()).chain(self.fallbacks.iter().map(String::as_str))
    }

    /// Every model this policy sends requests to by its own decision: target, strong,
    /// fallbacks, semantic routes and pattern rules. Not the `header_override` list, which
    /// a client picks from.
    pub fn own_targets(&self) -> impl Iterator<Item = &str> {
        let routes: &[SemanticRouteConfig] = match &self.strategy {
            Strategy::Semantic { routes, .. } => routes,
            _ => &[],
        };
        self.chain()
            .chain(self.strong.as_deref())
            .chain(routes.iter().map(|r| r.target.as_str()))
            .chain(self.rules.patterns.iter().map(|p| p.target.as_str()))
    }
}

/// Checks one policy against the checked models and router: every model it names exists,
/// its strategy has what it needs, its rules' regexes compile.
pub(crate) fn check_policy(
    name: &str,
    mut p: RawPolicy,
    path: &str,
    models: &BTreeMap<String, ModelConfig>,
    router: Option<&RouterConfig>,
    errors: &mut Vec<ConfigError>,
) -> Option<PolicyConfig> {
    let before = errors.len();
    let check_model = |field: String, model: &str, errors: &mut Vec<ConfigError>| {
        if !models.contains_key(model) {
            errors.push(ConfigError::new(
                field,
                format!("unknown model '{model}'{}", one_of(models.keys())),
            ));
        }
    };
    check_model(format!("{path}.target"), &p.target, errors);
    if let Some(s) = &p.strong {
        check_model(format!("{path}.strong"), s, errors);
    }
    for (i, f) in p.fallbacks.iter().enumerate() {
        check_model(format!("{path}.fallbacks[{i}]"), f, errors);
    }
    if let Some(b) = &p.baseline {
        check_model(format!("{path}.baseline"), b, errors);
    }
    let mut seen = vec![p.target.as_str()];
    for (i, f) in p.fallbacks.iter().enumerate() {
        if seen.contains(&f.as_str()) {
            errors.push(ConfigError::new(
                format!("{path}.fallbacks[{i}]"),
                format!("'{f}' already appears earlier in the chain"),
            ));
        }
        seen.push(f);
    }
    for (i, t) in p.rules.header_override.iter().enumerate() {
        check_model(format!("{path}.rules.header_override[{i}]"), t, errors);
    }
    let mut patterns = Vec::new();
    for (i, pat) in p.rules.patterns.into_iter().enumerate() {
        let regex = CompiledRegex::new(&pat.regex).map_err(|e| {
            errors.push(ConfigError::new(
                format!("{path}.rules.patterns[{i}].regex"),
                format!("invalid regex: {e}"),
            ));
        });
        check_model(
            format!("{path}.rules.patterns[{i}].target"),
            &pat.target,
            errors,
        );
        if let Ok(regex) = regex {
            patterns.push(PatternRule {
                regex,
                target: pat.target,
            });
        }
    }
    let overflow = p
        .overflow
        .check(format!("{path}.overflow"), errors)
        .unwrap_or_default();
    let needs_router = |errors: &mut Vec<ConfigError>| {
        if router.is_none() {
            errors.push(ConfigError::new(
                format!("{path}.strategy"),
                "needs a `router` section with an embedder (router.embedder.model)",
            ));
        }
    };
    let kind = p
        .strategy
        .check(format!("{path}.strategy"), errors)
        .unwrap_or_default();
    let strategy = match kind {
        StrategyKind::Static => Strategy::Static,
        StrategyKind::Learned => {
            needs_router(errors);
            if p.strong.is_none() {
                errors.push(ConfigError::new(
                    format!("{path}.strong"),
                    "a learned policy needs a strong model",
                ));
            }
            let threshold = p.threshold.unwrap_or(f64::NAN);
            if !(0.0..=1.0).contains(&threshold) {
                errors.push(ConfigError::new(
                    format!("{path}.threshold"),
                    "a learned policy needs a threshold between 0 and 1",
                ));
            }
            let head = p.head.unwrap_or_else(|| "default".into());
            if let Some(r) = router {
                if !r.heads.contains_key(&head) {
                    errors.push(ConfigError::new(
                        format!("{path}.head"),
                        format!("unknown head '{head}'{}", one_of(r.heads.keys())),
                    ));
                }
            }
            Strategy::Learned { threshold, head }
        }
        StrategyKind::Semantic => {
            needs_router(errors);
            let aggregate = p
                .aggregate
                .unwrap_or_default()
                .check(format!("{path}.aggregate"), errors)
                .unwrap_or_default();
            if p.routes.is_empty() {
                errors.push(ConfigError::new(
                    format!("{path}.routes"),
                    "a semantic policy needs at least one route",
                ));
            }
            let mut routes = Vec::new();
            for (i, r) in p.routes.into_iter().enumerate() {
                let rp = format!("{path}.routes[{i}]");
                check_model(format!("{rp}.target"), &r.target, errors);
                if r.examples.iter().all(|e| e.trim().is_empty()) {
                    errors.push(ConfigError::new(
                        format!("{rp}.examples"),
                        "needs at least one non-empty example",
                    ));
                }
                if !(-1.0..=1.0).contains(&r.threshold) {
                    errors.push(ConfigError::new(
                        format!("{rp}.threshold"),
                        "a cosine similarity between -1 and 1",
                    ));
                }
                routes.push(SemanticRouteConfig {
                    name: r.name,
                    target: r.target,
                    threshold: r.threshold,
                    examples: r.examples,
                });
            }
            Strategy::Semantic { aggregate, routes }
        }
        StrategyKind::Cascade => {
            if models.get(&p.target).is_some_and(|m| !m.local) {
                errors.push(ConfigError::new(
                    format!("{path}.target"),
                    format!(
                        "a cascade drafts with an in-process model: '{}' is not a `kind: local` model",
                        p.target
                    ),
                ));
            }
            if p.strong.is_none() {
                errors.push(ConfigError::new(
                    format!("{path}.strong"),
                    "a cascade policy needs a strong model to escalate to",
                ));
            }
            let threshold = p.threshold.unwrap_or(f64::NAN);
            if !(0.0..=1.0).contains(&threshold) {
                errors.push(ConfigError::new(
                    format!("{path}.threshold"),
                    "a cascade policy needs a threshold between 0 and 1",
                ));
            }
            let cascade = match p.cascade.take() {
                Some(c) => check_cascade(c, &format!("{path}.cascade"), errors),
                None => {
                    errors.push(ConfigError::new(
                        format!("{path}.cascade"),
                        "a cascade policy needs `cascade: {head: <escalation head .onnx>}`",
                    ));
                    None
                }
            };
            match cascade {
                Some(cascade) => Strategy::Cascade { threshold, cascade },
                None => Strategy::Static,
            }
        }
    };
    if !matches!(
        strategy,
        Strategy::Learned { .. } | Strategy::Cascade { .. }
    ) && p.threshold.is_some()
    {
        errors.push(ConfigError::new(
            format!("{path}.threshold"),
            "threshold only applies to strategy: learned or cascade",
        ));
    }
    if kind != StrategyKind::Cascade && p.cascade.is_some() {
        errors.push(ConfigError::new(
            format!("{path}.cascade"),
            "cascade settings only apply to strategy: cascade",
        ));
    }
    let quality = p.quality.take().and_then(|q| {
        let known = |m: &str| models.contains_key(m);
        check_quality(
            q,
            &format!("{path}.quality"),
            &known,
            p.strong.as_ref().is_some_and(|s| *s != p.target),
            errors,
        )
    });
    let cache = p
        .cache
        .take()
        .and_then(|c| super::cache::check_cache(c, &format!("{path}.cache"), errors));
    (errors.len() == before).then(|| PolicyConfig {
        quality,
        cache,
        name: name.to_owned(),
        strategy,
        target: p.target,
        strong: p.strong,
        fallbacks: p.fallbacks,
        baseline: p.baseline,
        rules: Rules {
            header_override: p.rules.header_override,
            patterns,
        },
        overflow,
    })
}

fn check_cascade(
    c: RawCascade,
    path: &str,
    errors: &mut Vec<ConfigError>,
) -> Option<CascadeConfig> {
    let before = errors.len();
    if c.head.trim().is_empty() {
        errors.push(ConfigError::new(
            format!("{path}.head"),
            "the escalation head's file is required",
        ));
    }
    if c.max_draft_tokens == 0 {
        errors.push(ConfigError::new(
            format!("{path}.max_draft_tokens"),
            "at least 1 (the prefill's token)",
        ));
    }
    if c.max_draft_ms == 0 {
        errors.push(ConfigError::new(
            format!("{path}.max_draft_ms"),
            "must be positive",
        ));
    }
    let decide_at = match c.decide_at {
        None => DecideAt::Tokens(8),
        Some(RawDecideAt::Tokens(0)) => {
            errors.push(ConfigError::new(
                format!("{path}.decide_at"),
                "a number of generated tokens is at least 1 (1 = `prefill`)",
            ));
            DecideAt::Prefill
        }
        Some(RawDecideAt::Tokens(n)) => DecideAt::Tokens(n),
        Some(RawDecideAt::Word(w)) => match w.trim() {
            "prefill" => DecideAt::Prefill,
            "end" => DecideAt::End,
            other => match other.parse::<usize>() {
                Ok(n) if n > 0 => DecideAt::Tokens(n),
                _ => {
                    errors.push(ConfigError::new(
                        format!("{path}.decide_at"),
                        format!("expected `prefill`, `end` or a number of tokens, got '{other}'"),
                    ));
                    DecideAt::Prefill
                }
            },
        },
    };
    if let DecideAt::Tokens(n) = decide_at {
        if n > c.max_draft_tokens && c.max_draft_tokens > 0 {
            errors.push(ConfigError::new(
                format!("{path}.decide_at"),
                format!(
                    "{n} tokens is beyond max_draft_tokens ({})",
                    c.max_draft_tokens
                ),
            ));
        }
    }
    (errors.len() == before).then(|| CascadeConfig {
        head: c.head,
        decide_at,
        max_draft_tokens: c.max_draft_tokens,
        max_draft: std::time::Duration::from_millis(c.max_draft_ms),
        prompt_window: c.prompt_window,
    })
}
