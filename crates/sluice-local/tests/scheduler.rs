//! Continuous batching with the tiny random-weight decoder: concurrent requests decode in
//! one batch, join and leave between steps, and each gets exactly what it would alone.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::Ordering;

use sluice_local::generate::{FinishReason, GenOutput, GenRequest, Generator};
use sluice_local::sampler::SamplingParams;
use sluice_local::scheduler::{Engine, EngineOptions, Event, SubmitError};
use sluice_testkit::env::models_dir;

fn opts(max_batch: usize, queue_depth: usize, kv: usize) -> EngineOptions {
    EngineOptions {
        variant: "model.onnx".into(),
        max_batch,
        queue_depth,
        kv_budget_tokens: kv,
        intra_threads: 1,
        prefix_cache_bytes: 0,
        observer: None,
    }
}

fn request(g: &Generator, i: usize, max_tokens: usize) -> GenRequest {
    let words = [
        "apple", "river", "mountain", "violin", "quantum", "garden", "copper", "lantern",
    ];
    let prompt = format!(
        "<|im_start|>user\n{} {}{}<|im_end|>\n<|im_start|>assistant\n",
        words[i % 8],
        "please ".repeat(i % 5),
        i
    );
    GenRequest {
        prompt_ids: g.encode(&prompt).unwrap(),
        max_tokens,
        sampling: SamplingParams::default(),
        stop: vec![],
        signals: None,
    }
}

async fn collect(mut rx: tokio::sync::mpsc::Receiver<Event>) -> (String, GenOutput) {
    let mut text = String::new();
    while let Some(ev) = rx.recv().await {
        match ev {
            Event::Text { text: t, .. } => text.push_str(&t),
            Event::Done(out) => return (text, out),
            Event::Checkpoint(_) => {}
            Event::Failed(e) => panic!("{e}"),
        }
    }
    panic!("stream ended without Done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_concurrent_requests_get_their_own_outputs() {
    let dir = models_dir().join("tiny-random-llama");
    let mut alone = Generator::load(&dir, "model.onnx", 1).unwrap();
    let engine = Engine::start(&dir, opts(16, 64, 100_000)).unwrap();
    // Different prompt lengths and budgets, so rows join and leave at different steps.
    let reqs: Vec<GenRequest> = (0..32)
        .map(|i| request(&alone, i, 4 + (i * 7) % 20))
        .collect();
    let expected: Vec<GenOutput> = reqs
        .iter()
        .map(|r| alone.generate(r, |_| true).unwrap())
        .collect();
    let handles: Vec<_> = reqs
        .iter()
        .map(|r| engine.submit(r.clone()).unwrap())
        .collect();
    let mut results = Vec::new();
    for h in handles {
        results.push(tokio::spawn(collect(h)));
    }
    for (i, (task, want)) in results.into_iter().zip(&expected).enumerate() {
        let (streamed, got) = task.await.unwrap();
        assert_eq!(
            got.token_ids, want.token_ids,
            "request {i}: batched output differs from running alone"
        );
        assert_eq!(got.text, want.text);
        assert_eq!(
            streamed, got.text,
            "request {i}: streamed text differs from the final text"
        );
        assert_eq!(got.finish_reason, want.finish_reason);
    }
    let s = &engine.stats;
    assert!(
        s.max_batch_seen.load(Ordering::Relaxed) > 4,
        "no real batching: max batch {}",
        s.max_batch_seen.load(Ordering::Relaxed)
    );
    let total: usize = expected.iter().map(|o| o.completion_tokens).sum();
    assert_eq!(s.tokens_generated.load(Ordering::Relaxed), total);
    assert!(
        s.steps.load(Ordering::Relaxed) < total,
        "decode steps were shared"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_requests_free_their_slot() {
    let dir = models_dir().join("tiny-random-llama");
    let engine = Engine::start(&dir, opts(2, 8, 100_000)).unwrap();
    let g = Generator::load(&dir, "model.onnx", 1).unwrap();
    // Two long requests fill the batch; cancel both after their first piece.
    for i in 0..2 {
        let mut rx = engine.submit(request(&g, i, 5000)).unwrap();
        let _ = rx.recv().await;
        drop(rx);
    }
    // A third request must still run to completion: the slots were freed.
    let (_, out) = collect(engine.submit(request(&g, 3, 6)).unwrap()).await;
    assert_eq!(
        (out.completion_tokens, out.finish_reason),
        (6, FinishReason::Length)
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while engine.stats.active.load(Ordering::Relaxed) != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "cancelled rows still active"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn admission_is_bounded() {
    let dir = models_dir().join("tiny-random-llama");
    let g = Generator::load(&dir, "model.onnx", 1).unwrap();
    let engine = Engine::start(&dir, opts(1, 2, 1000)).unwrap();
    // Larger than the whole KV budget: refused outright.
    assert!(matches!(
        engine.submit(request(&g, 0, 5000)),
        Err(SubmitError::TooLarge { .. })
    ));
    // A tiny queue overflows under a burst.
    let mut held = Vec::new();
    let mut overloaded = 0;
    for i in 0..20 {
        match engine.submit(request(&g, i, 200)) {
            Ok(rx) => held.push(rx),
            Err(SubmitError::Overloaded(2)) => overloaded += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(overloaded > 0, "queue of 2 never overflowed");
}
