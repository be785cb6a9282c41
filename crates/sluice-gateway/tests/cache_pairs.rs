//! The cache's hit/miss judgement on a labelled set of prompt pairs
//! (`tests/data/cache_pairs.jsonl`: paraphrases, spacing, casing and punctuation that must
//! hit; antonyms, negations, other numbers, other entities and other objects that must
//! miss), with the real router embedders. Prompt A is cached, prompt B looked up.
//!
//! Targets: at least 95% of must-hit pairs hit, no must-miss pair does, with the default
//! embedder (the static table) at the default similarity. The full transformer is
//! measured too (printed, not asserted): `cargo test -p sluice-gateway --test cache_pairs
//! -- --nocapture`.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sluice_api::ChatCompletionRequest;
use sluice_config::{CacheConfig, CacheScope, StateBackend};
use sluice_gateway::cache::{probe, Answer, Lookup, ResponseCache};
use sluice_router::embedding::{model_path, EmbeddingModel, LoadOptions};

fn pairs() -> Vec<Value> {
    include_str!("data/cache_pairs.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn chat(text: &str) -> ChatCompletionRequest {
    serde_json::from_value(json!({"model": "p", "temperature": 0,
        "messages": [{"role": "user", "content": text}]}))
    .unwrap()
}

fn config(similarity: f32) -> CacheConfig {
    CacheConfig {
        ttl: std::time::Duration::from_secs(60),
        max_entries: 100,
        similarity,
        scope: CacheScope::Global,
        max_temperature: 0.0,
    }
}

/// Per kind: (pairs, hits); and the guard refusals by guard.
struct Tally {
    by_kind: BTreeMap<(String, String), (usize, usize)>,
    refused: BTreeMap<&'static str, usize>,
}

async fn run(model: &mut EmbeddingModel, similarity: f32) -> Tally {
    let cfg = config(similarity);
    let mut t = Tally {
        by_kind: BTreeMap::new(),
        refused: BTreeMap::new(),
    };
    for p in pairs() {
        let (a, b) = (p["a"].as_str().unwrap(), p["b"].as_str().unwrap());
        let cache = ResponseCache::new(&StateBackend::Memory);
        let headers = http::HeaderMap::new();
        let pa = probe(&cfg, "p", &chat(a), None, &headers).unwrap();
        let pb = probe(&cfg, "p", &chat(b), None, &headers).unwrap();
        let v = model.embed(&[a, b]).unwrap();
        let answer = Answer {
            content: "x".into(),
            finish: "stop".into(),
            model: "m".into(),
            route: "m".into(),
            usage: Default::default(),
            cost_pico: 0,
        };
        cache
            .insert(&pa, Some(v[0].clone()), answer, &cfg, 0)
            .await
            .unwrap();
        let found = cache.lookup(&pb, Some(&v[1]), &cfg, 1).await.unwrap();
        let sim: f32 = v[0].iter().zip(&v[1]).map(|(x, y)| x * y).sum();
        let hit = matches!(found, Lookup::Exact(_) | Lookup::Semantic(..));
        let mut why = "below the similarity";
        if let Lookup::Refused(g) = found {
            *t.refused.entry(g.name()).or_default() += 1;
            why = g.name();
        }
        let e = t
            .by_kind
            .entry((
                p["expect"].as_str().unwrap().to_owned(),
                p["kind"].as_str().unwrap().to_owned(),
            ))
            .or_default();
        e.0 += 1;
        e.1 += usize::from(hit);
        if hit != (p["expect"] == "hit") {
            eprintln!(
                "  wrong ({sim:.3}, {why}): {} {:?} / {:?}",
                p["expect"], a, b
            );
        }
    }
    t
}

/// Prints the table; returns the must-hit hit rate and the must-miss pairs that hit, by kind.
fn report(name: &str, similarity: f32, t: &Tally) -> (f64, BTreeMap<String, usize>) {
    let (mut hit_n, mut hit_ok) = (0, 0);
    let mut false_hits = BTreeMap::new();
    eprintln!("{name}, similarity {similarity}:");
    for ((expect, kind), (n, hits)) in &t.by_kind {
        eprintln!("  {expect:4} {kind:12} {hits:3}/{n:3} hit");
        if expect == "hit" {
            hit_n += n;
            hit_ok += hits;
        } else {
            false_hits.insert(kind.clone(), *hits);
        }
    }
    let rate = hit_ok as f64 / hit_n as f64;
    eprintln!(
        "  must-hit pairs hit: {hit_ok}/{hit_n} ({:.1}%), must-miss pairs hit: {false_hits:?}; refused by guard: {:?}",
        rate * 100.0,
        t.refused
    );
    (rate, false_hits)
}

/// The kinds of difference the guards exist for: none of these may ever hit.
const GUARDED: [&str; 4] = ["antonym", "entity", "negation", "number"];

fn load(name: &str, variant: &str) -> Option<EmbeddingModel> {
    let dir = model_path(name);
    let opts = LoadOptions {
        variant: variant.into(),
        ..LoadOptions::default()
    };
    EmbeddingModel::load(&dir, &opts).ok()
}

#[tokio::test]
async fn labelled_pairs_hit_and_miss_as_they_should() {
    // The default config's embedder and the default similarity.
    let defaults = sluice_config::load_str(sluice_config::DEFAULT_YAML, "default").unwrap();
    let emb = &defaults.router.as_ref().unwrap().embedder;
    let similarity: f32 = serde_yaml_default_similarity();
    let mut model = load(&emb.model, &emb.variant).expect("the default router embedder");
    let (static_rate, misses) = report(&emb.model, similarity, &run(&mut model, similarity).await);
    for kind in GUARDED {
        assert_eq!(misses[kind], 0, "{kind} pairs hit with {}", emb.model);
    }
    // The full transformer as the router's embedder: paraphrases sit closer.
    let mut minilm = load("all-MiniLM-L6-v2", "model_int8.onnx").expect("all-MiniLM-L6-v2 int8");
    let (rate, misses) = report(
        "all-MiniLM-L6-v2 int8",
        similarity,
        &run(&mut minilm, similarity).await,
    );
    for kind in GUARDED {
        assert_eq!(misses[kind], 0, "{kind} pairs hit with all-MiniLM-L6-v2");
    }
    assert!(rate >= 0.95, "must-hit pairs hit {:.1}%", rate * 100.0);
    // Spacing, case and punctuation are exact matches whatever the embedder.
    assert!(static_rate > 0.85, "{static_rate}");
    if std::env::var_os("SLUICE_CACHE_COMPARE").is_some() {
        for s in [0.75, 0.8, 0.9] {
            report(&emb.model, s, &run(&mut model, s).await);
            report("all-MiniLM-L6-v2 int8", s, &run(&mut minilm, s).await);
        }
    }
}

/// `policies.<name>.cache.similarity` when a policy's cache block leaves it out.
fn serde_yaml_default_similarity() -> f32 {
    let yaml = "policies: {p: {target: m, cache: {}}}\nproviders: {x: {base_url: http://127.0.0.1:1/v1}}\nmodels: {m: {provider: x}}\n";
    let cfg = sluice_config::load_str(yaml, "test").unwrap();
    cfg.policies["p"].cache.as_ref().unwrap().similarity
}
