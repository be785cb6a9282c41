//! What confidence signals cost: the same greedy generation with and without signals,
//! alternated in one run on the served SmolLM2 file, single stream (the decode step is the
//! smallest there, so the signals' share is the largest), and the per-token cost of the
//! signal arithmetic alone on a vocabulary-sized row.
//!
//!   cargo bench -p sluice-local --bench signals -- [--tokens N] [--repeats R] [--threads T]
//!                                                   [--window W]  (prompt tokens scored)
//!
//! Prints a Markdown table; timings are the medians of the repeats.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::expect_used)]

use std::time::Instant;

use sluice_local::generate::{GenRequest, Generator, SignalOptions};
use sluice_local::sampler::SamplingParams;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let tokens = arg("--tokens", 64);
    let repeats = arg("--repeats", 7);
    let threads = arg("--threads", 2);
    let window = arg("--window", 32);
    let dir = sluice_router::embedding::cache_dir().join("smollm2-135m-instruct");
    let variant = "model_q4_1_q8head.onnx";
    let mut g = Generator::load(&dir, variant, threads)
        .expect("load the derived SmolLM2 (scripts/setup.sh)");
    let msgs = vec![
        serde_json::json!({"role": "user", "content": "Write a short story about a lighthouse keeper and a storm."}),
    ];
    let prompt = g
        .encode(&g.template.render(&msgs, true, None).unwrap())
        .unwrap();
    let req = |signals: Option<SignalOptions>| GenRequest {
        prompt_ids: prompt.clone(),
        max_tokens: tokens,
        sampling: SamplingParams::default(),
        stop: Vec::new(),
        signals,
    };
    let on = SignalOptions {
        prompt_window: window,
        checkpoint: Some(8),
    };
    // Warm up both paths.
    for s in [None, Some(on)] {
        g.generate(&req(s), |_| true).unwrap();
    }
    let (mut plain, mut with) = (Vec::new(), Vec::new());
    let (mut plain_ttft, mut with_ttft) = (Vec::new(), Vec::new());
    for _ in 0..repeats {
        for (s, tps, ttft) in [
            (None, &mut plain, &mut plain_ttft),
            (Some(on), &mut with, &mut with_ttft),
        ] {
            let start = Instant::now();
            let mut first = None;
            let out = g
                .generate(&req(s), |_| {
                    first.get_or_insert_with(Instant::now);
                    true
                })
                .unwrap();
            let first = first.unwrap_or_else(Instant::now);
            assert_eq!(
                out.completion_tokens, tokens,
                "the story runs to max_tokens"
            );
            tps.push((out.completion_tokens - 1) as f64 / first.elapsed().as_secs_f64());
            ttft.push((first - start).as_secs_f64() * 1e3);
        }
    }
    // The arithmetic alone: one vocabulary-sized row, as each generated token costs.
    let row: Vec<f32> = (0..g.info.vocab_size)
        .map(|i| ((i as f32) * 0.377).sin() * 9.0)
        .collect();
    let n = 2000;
    let t = Instant::now();
    let mut sink = 0.0;
    for _ in 0..n {
        sink += sluice_local::signals::step_stats(std::hint::black_box(&row)).entropy;
    }
    let per_row_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    std::hint::black_box(sink);

    let (p, w) = (median(plain), median(with));
    let (pt, wt) = (median(plain_ttft), median(with_ttft));
    println!("\nSmolLM2-135M ({variant}), {tokens} tokens greedy, single stream, {threads} threads, median of {repeats}, alternated:\n");
    println!("| | decode tokens/s | time to first token (ms) |");
    println!("|---|---:|---:|");
    println!("| plain generation | {p:.1} | {pt:.1} |");
    println!("| with signals (prompt window {window}, checkpoint 8) | {w:.1} | {wt:.1} |");
    println!(
        "| signals' cost | {:+.1}% of decode time | {:+.1} ms |",
        (p / w - 1.0) * 100.0,
        wt - pt
    );
    println!("\nSignal arithmetic alone: {per_row_us:.1} µs per token (vocabulary {}), {:.2}% of a {:.1} ms decode step.", g.info.vocab_size, per_row_us * p / 1e4, 1000.0 / p);
}
