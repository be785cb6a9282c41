//! The real chat model (SmolLM2-135M-Instruct) against the references recorded with it
//! (`verification.json`: transformers' greedy token ids for three chat prompts): the chat
//! template, greedy decoding, batching and the prefix cache must all reproduce them, on the
//! mirror's file and on the variant `scripts/derive_local_model.py` derives from it.
//! Generations stay short (≤ 32 tokens) to keep the suite fast.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use serde_json::Value;
use sluice_local::generate::{GenOutput, GenRequest, Generator};
use sluice_local::sampler::SamplingParams;
use sluice_local::scheduler::{Engine, EngineOptions, Event};
use sluice_testkit::env::models_dir;

const EXACT: &str = "model_q4_1_exact.onnx";
const DERIVED: &str = "model_q4_1_q8head.onnx";

fn mirror() -> PathBuf {
    models_dir().join("smollm2-135m-instruct")
}

/// The derived folder `scripts/setup.sh` writes into the cache.
fn derived() -> PathBuf {
    let d = sluice_router::embedding::cache_dir().join("smollm2-135m-instruct");
    assert!(
        d.join("onnx").join(DERIVED).is_file(),
        "{} has no onnx/{DERIVED}: run scripts/setup.sh",
        d.display()
    );
    d
}

struct Reference {
    user: String,
    prompt_ids: Vec<u32>,
    /// transformers' 32 greedy tokens, not stopped at `<|im_end|>`.
    greedy: Vec<u32>,
}

fn references() -> Vec<Reference> {
    let text = std::fs::read_to_string(mirror().join("verification.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let ids = |x: &Value| -> Vec<u32> {
        x.as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_u64().unwrap() as u32)
            .collect()
    };
    v["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .zip(v["transformers"]["greedy"].as_array().unwrap())
        .map(|(p, g)| Reference {
            user: p["user"].as_str().unwrap().to_owned(),
            prompt_ids: ids(&p["ids"]),
            greedy: ids(&g["ids"]),
        })
        .collect()
}

/// What our engine must produce: the reference up to (not including) the first EOS.
fn expected(r: &Reference, eos: u32) -> Vec<u32> {
    r.greedy.iter().copied().take_while(|&t| t != eos).collect()
}

fn greedy(prompt_ids: Vec<u32>, max_tokens: usize) -> GenRequest {
    GenRequest {
        prompt_ids,
        max_tokens,
        sampling: SamplingParams::default(),
        stop: vec![],
        signals: None,
    }
}

fn engine(dir: &std::path::Path, variant: &str, max_batch: usize, prefix_bytes: usize) -> Engine {
    Engine::start(
        dir,
        EngineOptions {
            variant: variant.into(),
            max_batch,
            queue_depth: 64,
            kv_budget_tokens: 1 << 20,
            intra_threads: 2,
            prefix_cache_bytes: prefix_bytes,
            observer: None,
        },
    )
    .unwrap()
}

async fn collect(mut rx: tokio::sync::mpsc::Receiver<Event>) -> GenOutput {
    let mut streamed = String::new();
    loop {
        match rx.recv().await.expect("engine event") {
            Event::Text { text, .. } => streamed.push_str(&text),
            Event::Done(out) => {
                assert_eq!(streamed, out.text, "streamed pieces add up to the text");
                return out;
            }
            Event::Checkpoint(_) => {}
            Event::Failed(e) => panic!("generation failed: {e}"),
        }
    }
}

#[test]
fn the_chat_template_renders_the_reference_prompts() {
    let g = Generator::load(&mirror(), EXACT, 1).unwrap();
    for r in references() {
        let msgs = vec![serde_json::json!({"role": "user", "content": r.user})];
        let rendered = g.template.render(&msgs, true, None).unwrap();
        assert_eq!(g.encode(&rendered).unwrap(), r.prompt_ids, "{}", r.user);
    }
}

#[test]
fn greedy_decoding_reproduces_the_references_on_both_files() {
    for (dir, variant) in [(mirror(), EXACT), (derived(), DERIVED)] {
        let mut g = Generator::load(&dir, variant, 2).unwrap();
        let eos = g.info.eos_ids[0];
        for r in references() {
            let want = expected(&r, eos);
            let out = g
                .generate(&greedy(r.prompt_ids.clone(), 32), |_| true)
                .unwrap();
            assert_eq!(out.token_ids, want, "{variant}: {}", r.user);
            let finish = if want.len() < 32 { "stop" } else { "length" };
            assert_eq!(out.finish_reason.as_str(), finish, "{variant}: {}", r.user);
            assert_eq!(
                out.text,
                g.tokenizer.decode(&want, true).unwrap(),
                "{variant}"
            );
        }
    }
    // The France answer, in words.
    let mut g = Generator::load(&derived(), DERIVED, 2).unwrap();
    let r = &references()[0];
    let out = g
        .generate(&greedy(r.prompt_ids.clone(), 32), |_| true)
        .unwrap();
    assert_eq!(out.text, "The capital of France is Paris.");
}

#[test]
fn stop_sequences_and_max_tokens_cut_real_text() {
    let mut g = Generator::load(&derived(), DERIVED, 2).unwrap();
    let r = &references()[0];
    let mut req = greedy(r.prompt_ids.clone(), 32);
    req.stop = vec![" Paris".into()];
    let out = g.generate(&req, |_| true).unwrap();
    assert_eq!(out.text, "The capital of France is");
    assert_eq!(out.finish_reason.as_str(), "stop");
    let out = g
        .generate(&greedy(r.prompt_ids.clone(), 3), |_| true)
        .unwrap();
    assert_eq!(out.text, "The capital of");
    assert_eq!(
        (out.completion_tokens, out.finish_reason.as_str()),
        (3, "length")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_requests_get_what_each_gets_alone() {
    let e = engine(&derived(), DERIVED, 8, 0);
    let eos = e.info.eos_ids[0];
    let refs = references();
    // Different prompt lengths (37/38 tokens) and answer lengths, all in one batch: rows are
    // left-padded, join together and leave at different steps.
    let rxs: Vec<_> = refs
        .iter()
        .chain(refs.iter())
        .map(|r| e.submit(greedy(r.prompt_ids.clone(), 24)).unwrap())
        .collect();
    let mut outs = Vec::new();
    for rx in rxs {
        outs.push(collect(rx).await);
    }
    for (out, r) in outs.iter().zip(refs.iter().chain(refs.iter())) {
        let want: Vec<u32> = expected(r, eos).into_iter().take(24).collect();
        assert_eq!(out.token_ids, want, "{}", r.user);
    }
    assert!(e.stats.max_batch_seen.load(Ordering::Relaxed) >= 2);
}

/// A system prompt a few hundred tokens long, shared by every request of an application.
fn long_system_prompt() -> String {
    sluice_testkit::prompts::shop_system_prompt(4)
}

fn chat_ids(g: &Engine, system: &str, user: &str) -> Vec<u32> {
    let msgs = vec![
        serde_json::json!({"role": "system", "content": system}),
        serde_json::json!({"role": "user", "content": user}),
    ];
    let rendered = g.template.render(&msgs, true, None).unwrap();
    g.tokenizer
        .encode(rendered.as_str(), false)
        .unwrap()
        .get_ids()
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_prefix_is_reused_and_gives_the_tokens_a_cold_prefill_gives() {
    let cold = engine(&derived(), DERIVED, 4, 0);
    let warm = engine(&derived(), DERIVED, 4, 256 << 20);
    let system = long_system_prompt();
    let questions = [
        "What is the capital of France?",
        "How do I fix a squeaky hinge?",
        "What is 12*7?",
    ];
    let prompts: Vec<Vec<u32>> = questions
        .iter()
        .map(|q| chat_ids(&cold, &system, q))
        .collect();
    assert!(prompts[0].len() > 250, "{} tokens", prompts[0].len());
    let common = |a: &[u32], b: &[u32]| a.iter().zip(b).take_while(|(x, y)| x == y).count();
    // Each prompt reuses the longest run it shares with one seen before it.
    let reusable: usize = (1..prompts.len())
        .map(|i| {
            (0..i)
                .map(|j| common(&prompts[i], &prompts[j]))
                .max()
                .unwrap()
        })
        .sum();
    assert!(reusable > 2 * 250, "{reusable}");
    for p in &prompts {
        let want = collect(cold.submit(greedy(p.clone(), 12)).unwrap()).await;
        let got = collect(warm.submit(greedy(p.clone(), 12)).unwrap()).await;
        assert_eq!(got.token_ids, want.token_ids);
        assert_eq!(got.text, want.text);
    }
    // The first prompt missed; the other two reused the system prompt's columns.
    assert_eq!(warm.stats.prefix_hits.load(Ordering::Relaxed), 2);
    assert_eq!(
        warm.stats.prefix_tokens_reused.load(Ordering::Relaxed),
        reusable
    );
    assert_eq!(cold.stats.prefix_hits.load(Ordering::Relaxed), 0);
    // The same prompt again reuses all of it but its last token, and still agrees; the same
    // prompt in a batch beside newcomers too.
    let again = collect(warm.submit(greedy(prompts[0].clone(), 12)).unwrap()).await;
    let want = collect(cold.submit(greedy(prompts[0].clone(), 12)).unwrap()).await;
    assert_eq!(again.token_ids, want.token_ids);
    let rxs: Vec<_> = prompts
        .iter()
        .map(|p| warm.submit(greedy(p.clone(), 12)).unwrap())
        .collect();
    for (rx, p) in rxs.into_iter().zip(&prompts) {
        let want = collect(cold.submit(greedy(p.clone(), 12)).unwrap()).await;
        assert_eq!(collect(rx).await.token_ids, want.token_ids);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prefix_cache_keeps_to_its_bound_and_evicted_prefixes_recompute() {
    let cold = engine(&derived(), DERIVED, 1, 0);
    let info = &cold.info;
    let per_token = info.num_layers * 2 * info.num_kv_heads * info.head_dim * 4;
    let system_a = long_system_prompt();
    let system_b = format!("You answer for a bakery. {}", long_system_prompt());
    let a = chat_ids(&cold, &system_a, "What is the capital of France?");
    let b = chat_ids(&cold, &system_b, "What is the capital of France?");
    // Room for one of the two prompts, not both.
    let bound = per_token * (a.len().max(b.len()) + 8);
    let warm = engine(&derived(), DERIVED, 1, bound);
    let want_a = collect(cold.submit(greedy(a.clone(), 8)).unwrap()).await;
    let want_b = collect(cold.submit(greedy(b.clone(), 8)).unwrap()).await;
    for (round, (p, want)) in [(&a, &want_a), (&b, &want_b), (&a, &want_a), (&a, &want_a)]
        .into_iter()
        .enumerate()
    {
        let got = collect(warm.submit(greedy(p.clone(), 8)).unwrap()).await;
        assert_eq!(got.token_ids, want.token_ids, "round {round}");
        let held = warm.stats.prefix_cache_bytes.load(Ordering::Relaxed);
        assert!(held <= bound, "round {round}: {held} > {bound}");
    }
    // a missed, b evicted a and missed, a missed again (evicted), then a hit.
    assert_eq!(warm.stats.prefix_hits.load(Ordering::Relaxed), 1);
}
