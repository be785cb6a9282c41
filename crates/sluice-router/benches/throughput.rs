//! Decisions per second with 1, 8 and 64 concurrent clients: micro-batched (max_batch 32)
//! against one-at-a-time (max_batch 1), same model, same worker threads, measured side by
//! side in one run. Prints a Markdown table.
//!
//! `cargo bench -p sluice-router --bench throughput` (or scripts/bench-router.sh).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_router::embedding::LoadOptions;
use sluice_router::{Embedder, EmbedderOptions};

fn start(variant: &str, max_batch: usize, workers: usize) -> Embedder {
    Embedder::start(
        EmbedderOptions {
            model_dir: common::minilm(),
            load: LoadOptions {
                variant: variant.into(),
                ..LoadOptions::default()
            },
            workers,
            max_batch,
            max_wait: Duration::from_millis(2),
            queue_depth: 1024,
        },
        None,
    )
    .unwrap()
}

/// Runs `clients` tasks that each embed back to back until `total` are done.
async fn run(e: &Embedder, clients: usize, total: usize, texts: Arc<Vec<String>>) -> (f64, f64) {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (e, next, texts) = (e.clone(), next.clone(), texts.clone());
        tasks.push(tokio::spawn(async move {
            let mut batch_sum = 0usize;
            let mut n = 0usize;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let r = e.embed(texts[i % texts.len()].clone(), None).await.unwrap();
                batch_sum += r.batch_size;
                n += 1;
            }
            (batch_sum, n)
        }));
    }
    let (mut bs, mut n) = (0, 0);
    for t in tasks {
        let (a, b) = t.await.unwrap();
        bs += a;
        n += b;
    }
    (
        total as f64 / started.elapsed().as_secs_f64(),
        bs as f64 / n.max(1) as f64,
    )
}

fn main() {
    // `cargo bench` passes harness flags like --bench; nothing to parse.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let variants: Vec<String> = std::env::var("SLUICE_BENCH_VARIANTS")
        .map(|v| v.split(',').map(str::to_owned).collect())
        .unwrap_or_else(|_| vec!["model_int8.onnx".into(), "model.onnx".into()]);
    println!(
        "| model | prompt | clients | one-at-a-time dec/s | batched dec/s | ratio | mean batch |"
    );
    println!("|---|---|---|---|---|---|---|");
    for variant in &variants {
        let m = common::load(variant);
        let texts: Arc<Vec<String>> = Arc::new(
            (0..64)
                .map(|i| format!("{} item {i}", common::text_of_tokens(&m, 14)))
                .collect(),
        );
        drop(m);
        let single = start(variant, 1, 2);
        let batched = start(variant, 32, 2);
        rt.block_on(async {
            run(&single, 8, 200, texts.clone()).await;
            run(&batched, 8, 200, texts.clone()).await;
            for clients in [1usize, 8, 64] {
                let total = if clients == 1 { 400 } else { 1500 };
                let (s, _) = run(&single, clients, total, texts.clone()).await;
                let (b, mean_batch) = run(&batched, clients, total, texts.clone()).await;
                println!(
                    "| {variant} | ~16 tokens | {clients} | {s:.0} | {b:.0} | {:.2}x | {mean_batch:.1} |",
                    b / s
                );
            }
        });
    }
}
