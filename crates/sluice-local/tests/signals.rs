//! Confidence signals against a direct computation: the generated sequence is run again in
//! one pass, without the KV cache, in a session of our own that keeps the logits of every
//! position, and log-softmax is taken in f64. Then the same requests batched through the
//! scheduler must report what they report alone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::Tensor;
use sluice_local::generate::{GenOutput, GenRequest, Generator, SignalOptions};
use sluice_local::sampler::SamplingParams;
use sluice_local::scheduler::{Engine, EngineOptions, Event};
use sluice_local::signals::{Signals, Summary};
use sluice_testkit::env::models_dir;

fn tiny() -> PathBuf {
    models_dir().join("tiny-random-llama")
}

fn smollm2() -> PathBuf {
    sluice_router::embedding::cache_dir().join("smollm2-135m-instruct")
}

const PROMPTS: [&str; 3] = [
    "What is the capital of France?",
    "Spell the word 'banana' backwards.",
    "How many legs does a spider have? Answer with just the number.",
];

fn prompt_ids(g: &Generator, user: &str) -> Vec<u32> {
    let msgs = vec![serde_json::json!({"role": "user", "content": user})];
    g.encode(&g.template.render(&msgs, true, None).unwrap())
        .unwrap()
}

fn request(
    ids: Vec<u32>,
    max_tokens: usize,
    window: usize,
    checkpoint: Option<usize>,
) -> GenRequest {
    GenRequest {
        prompt_ids: ids,
        max_tokens,
        sampling: SamplingParams::default(),
        stop: vec![],
        signals: Some(SignalOptions {
            prompt_window: window,
            checkpoint,
        }),
    }
}

/// Logits of every position of `ids`, from a fresh session run once over the whole sequence.
fn all_logits(file: &Path, g: &Generator, ids: &[u32]) -> Vec<Vec<f64>> {
    let env = sluice_router::runtime::environment().unwrap();
    let mut session = Session::builder(&env)
        .unwrap()
        .commit_from_file(file)
        .unwrap();
    let names: Vec<String> = session
        .inputs()
        .iter()
        .map(|i| i.name().to_owned())
        .collect();
    let n = ids.len() as i64;
    let mut inputs: Vec<(String, ort::value::DynValue)> = vec![
        (
            "input_ids".into(),
            Tensor::from_array((
                [1, n],
                ids.iter().map(|&t| i64::from(t)).collect::<Vec<_>>(),
            ))
            .unwrap()
            .into_dyn(),
        ),
        (
            "attention_mask".into(),
            Tensor::from_array(([1, n], vec![1i64; ids.len()]))
                .unwrap()
                .into_dyn(),
        ),
    ];
    if names.iter().any(|x| x == "position_ids") {
        inputs.push((
            "position_ids".into(),
            Tensor::from_array(([1, n], (0..n).collect::<Vec<_>>()))
                .unwrap()
                .into_dyn(),
        ));
    }
    if names.iter().any(|x| x == "logits_to_keep") {
        inputs.push((
            "logits_to_keep".into(),
            Tensor::from_array(([1i64], vec![0i64])).unwrap().into_dyn(),
        ));
    }
    let (kv, hd) = (g.info.num_kv_heads as i64, g.info.head_dim as i64);
    for l in 0..g.info.num_layers {
        for kind in ["key", "value"] {
            inputs.push((
                format!("past_key_values.{l}.{kind}"),
                Tensor::from_array(([1, kv, 0, hd], Vec::<f32>::new()))
                    .unwrap()
                    .into_dyn(),
            ));
        }
    }
    let outputs = session.run(inputs).unwrap();
    let (shape, data) = outputs["logits"].try_extract_tensor::<f32>().unwrap();
    let vocab = *shape.last().unwrap() as usize;
    assert_eq!(
        data.len(),
        ids.len() * vocab,
        "one row of logits per position"
    );
    data.chunks(vocab)
        .map(|r| r.iter().map(|&x| f64::from(x)).collect())
        .collect()
}

/// log-softmax, entropy and top-1/top-2 margin, the textbook way.
fn direct(row: &[f64]) -> (Vec<f64>, f64, f64) {
    let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lse = m + row.iter().map(|x| (x - m).exp()).sum::<f64>().ln();
    let lp: Vec<f64> = row.iter().map(|x| x - lse).collect();
    let h = -lp.iter().map(|l| l.exp() * l).sum::<f64>();
    let mut s = lp.clone();
    s.sort_by(|a, b| b.total_cmp(a));
    (lp, h, s[0] - s[1])
}

fn check_against_direct(dir: &Path, variant: &str, max_tokens: usize, window: usize) {
    let mut g = Generator::load(dir, variant, 1).unwrap();
    let file = g.info.model_file.clone();
    for user in PROMPTS {
        let ids = prompt_ids(&g, user);
        let out = g
            .generate(&request(ids.clone(), max_tokens, window, None), |_| true)
            .unwrap();
        let sig = out.signals.clone().expect("signals were asked for");
        // The sequence as the model saw it: prompt, generated tokens, and the EOS that ended
        // it (its probability is a signal too).
        let mut seq = ids.clone();
        seq.extend(&out.token_ids);
        let logits = all_logits(&file, &g, &seq);
        let n = ids.len();
        assert!(sig.logprobs.len() >= out.token_ids.len());
        for (i, &lp) in sig.logprobs.iter().enumerate() {
            let (want_lp, h, margin) = direct(&logits[n - 1 + i]);
            let chosen = out
                .token_ids
                .get(i)
                .copied()
                .unwrap_or_else(|| g.info.eos_ids[0]) as usize;
            let tol = 2e-3;
            assert!(
                (f64::from(lp) - want_lp[chosen].max(-30.0)).abs() < tol,
                "{user}: token {i}: log p {lp} vs {}",
                want_lp[chosen]
            );
            assert!(
                (f64::from(sig.entropies[i]) - h).abs() < tol,
                "{user}: token {i}: entropy {} vs {h}",
                sig.entropies[i]
            );
            assert!((f64::from(sig.margins[i]) - margin).abs() < tol);
        }
        // The prompt: the last `window` prompt tokens, each predicted by the position before.
        let scored = window.min(n - 1);
        assert_eq!(sig.prompt_scored, scored, "{user}");
        let want: f64 = (n - scored..n)
            .map(|j| direct(&logits[j - 1]).0[ids[j] as usize].max(-30.0))
            .sum();
        assert!(
            (sig.prompt_logprob_sum - want).abs() < 2e-3 * scored as f64,
            "{user}: prompt log-likelihood {} vs {want}",
            sig.prompt_logprob_sum
        );
        assert_eq!(sig.prompt_tokens, n);
    }
}

#[test]
fn signals_equal_a_direct_log_softmax_on_the_tiny_model() {
    // The tiny model keeps every position's logits (no `logits_to_keep` input).
    check_against_direct(&tiny(), "model.onnx", 12, 8);
}

#[test]
fn signals_equal_a_direct_log_softmax_on_smollm2() {
    // The served file computes the output layer only for the positions asked for.
    check_against_direct(&smollm2(), "model_q4_1_q8head.onnx", 10, 16);
}

#[test]
fn no_signals_unless_asked() {
    let mut g = Generator::load(&tiny(), "model.onnx", 1).unwrap();
    let mut req = request(prompt_ids(&g, PROMPTS[0]), 4, 8, None);
    req.signals = None;
    assert!(g.generate(&req, |_| true).unwrap().signals.is_none());
}

async fn collect(mut rx: tokio::sync::mpsc::Receiver<Event>) -> (Vec<Summary>, usize, GenOutput) {
    let mut checkpoints = Vec::new();
    let mut text_before = 0;
    loop {
        match rx.recv().await.expect("engine event") {
            Event::Text { .. } => {
                if checkpoints.is_empty() {
                    text_before += 1;
                }
            }
            Event::Checkpoint(s) => checkpoints.push(s),
            Event::Done(out) => return (checkpoints, text_before, out),
            Event::Failed(e) => panic!("{e}"),
        }
    }
}

fn close(a: &Signals, b: &Signals) {
    assert_eq!(a.logprobs.len(), b.logprobs.len());
    for (x, y) in a
        .logprobs
        .iter()
        .chain(&a.entropies)
        .chain(&a.margins)
        .zip(b.logprobs.iter().chain(&b.entropies).chain(&b.margins))
    {
        assert!((x - y).abs() < 2e-3, "{x} vs {y}");
    }
    assert!((a.prompt_logprob_sum - b.prompt_logprob_sum).abs() < 1e-2);
    assert_eq!(a.prompt_scored, b.prompt_scored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_signals_equal_signals_alone_and_checkpoints_come_once() {
    let dir = smollm2();
    let variant = "model_q4_1_q8head.onnx";
    let mut g = Generator::load(&dir, variant, 1).unwrap();
    let alone: Vec<GenOutput> = PROMPTS
        .iter()
        .map(|p| {
            g.generate(&request(prompt_ids(&g, p), 12, 16, Some(4)), |_| true)
                .unwrap()
        })
        .collect();
    let e = Engine::start(
        &dir,
        EngineOptions {
            variant: variant.into(),
            max_batch: 8,
            queue_depth: 16,
            kv_budget_tokens: 1 << 16,
            intra_threads: 2,
            prefix_cache_bytes: 0,
            observer: None,
        },
    )
    .unwrap();
    let rxs: Vec<_> = PROMPTS
        .iter()
        .map(|p| {
            e.submit(request(prompt_ids(&g, p), 12, 16, Some(4)))
                .unwrap()
        })
        .collect();
    for (rx, a) in rxs.into_iter().zip(&alone) {
        let (checkpoints, text_before, out) = collect(rx).await;
        assert_eq!(out.token_ids, a.token_ids);
        let (sa, sb) = (a.signals.as_ref().unwrap(), out.signals.as_ref().unwrap());
        close(sa, sb);
        assert_eq!(checkpoints.len(), 1, "one checkpoint per request");
        let c = checkpoints[0];
        let want = sb.summary(
            4,
            out.completion_tokens < 4 && out.finish_reason.as_str() == "stop",
        );
        assert_eq!(c, want, "the checkpoint summarises the first 4 tokens");
        assert!(
            text_before <= 4,
            "no more than 4 tokens of text before the checkpoint"
        );
    }
    assert!(
        e.stats
            .max_batch_seen
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 2
    );
}
