//! The real all-MiniLM-L6-v2 from the models folder, run through ONNX Runtime.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sluice_router::embedding::{dot, EmbeddingModel, LoadOptions};
use sluice_router::{Embedder, EmbedderOptions};

use sluice_testkit::env::models_dir;

fn minilm() -> PathBuf {
    models_dir().join("all-MiniLM-L6-v2")
}

fn load(variant: &str) -> EmbeddingModel {
    EmbeddingModel::load(
        &minilm(),
        &LoadOptions {
            variant: variant.into(),
            ..LoadOptions::default()
        },
    )
    .unwrap()
}

const QUERY: &str = "How do I reverse a linked list in Python?";
/// First dimensions from the model README (sentence-transformers reference).
const REFERENCE: [f32; 4] = [-0.0196280, 0.0654051, 0.0612260, 0.0295423];

#[test]
fn fp32_matches_the_reference_values() {
    let mut m = load("model.onnx");
    assert_eq!(m.dim(), 384);
    let v = &m.embed(&[QUERY]).unwrap()[0];
    assert_eq!(v.len(), 384);
    for (got, want) in v.iter().zip(REFERENCE) {
        assert!(
            (got - want).abs() < 1e-5,
            "got {:?}, want {REFERENCE:?}",
            &v[..4]
        );
    }
    let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5);
    // Cosine with the reference over the dimensions it gives.
    let cos = dot(&v[..4], &REFERENCE)
        / (dot(&v[..4], &v[..4]).sqrt() * dot(&REFERENCE, &REFERENCE).sqrt());
    assert!(cos > 0.999_999, "{cos}");
}

#[test]
fn batched_with_padding_equals_one_at_a_time() {
    let mut m = load("model.onnx");
    let texts = [
        "hi",
        QUERY,
        "The quick brown fox jumps over the lazy dog, again and again and again.",
    ];
    let batch = m.embed(&texts).unwrap();
    for (t, b) in texts.iter().zip(&batch) {
        let single = &m.embed(&[t]).unwrap()[0];
        assert!(dot(single, b) > 0.999_999, "{t}");
    }
}

#[test]
fn int8_stays_close_to_fp32() {
    let mut fp = load("model.onnx");
    let mut q = load("model_int8.onnx");
    let texts = [
        "hi",
        QUERY,
        "Explain the causes of the French revolution in detail.",
    ];
    for (a, b) in fp
        .embed(&texts)
        .unwrap()
        .iter()
        .zip(q.embed(&texts).unwrap())
    {
        assert!(dot(a, &b) > 0.97, "cosine {}", dot(a, &b));
    }
}

#[test]
fn long_text_keeps_head_and_tail_within_budget() {
    let m = EmbeddingModel::load(
        &minilm(),
        &LoadOptions {
            max_tokens: 32,
            ..LoadOptions::default()
        },
    )
    .unwrap();
    let text = format!(
        "alpha beta gamma {} omega final question",
        "filler ".repeat(200)
    );
    let ids = m.tokenize(&text).unwrap();
    assert!(ids.len() <= 32, "{} tokens", ids.len());
    let short = m.tokenize("alpha beta gamma").unwrap();
    // [CLS] alpha beta gamma ... kept at the start; the end survives too.
    assert_eq!(&ids[..4], &short[..4]);
    let tail = m.tokenize("omega final question").unwrap();
    assert_eq!(&ids[ids.len() - 4..], &tail[tail.len() - 4..]);
}

#[test]
fn missing_model_folder_says_where() {
    let err = EmbeddingModel::load(&models_dir().join("nope"), &LoadOptions::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("nope"), "{err}");
    let err = EmbeddingModel::load(
        &minilm(),
        &LoadOptions {
            variant: "model_fp16.onnx".into(),
            ..LoadOptions::default()
        },
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("model_fp16.onnx"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_are_batched() {
    let e = Embedder::start(
        EmbedderOptions {
            model_dir: minilm(),
            load: LoadOptions {
                variant: "model_int8.onnx".into(),
                ..LoadOptions::default()
            },
            workers: 1,
            max_batch: 32,
            max_wait: Duration::from_millis(2),
            queue_depth: 1024,
        },
        None,
    )
    .unwrap();
    let e = Arc::new(e);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let e = e.clone();
        tasks.push(tokio::spawn(async move {
            e.embed(format!("question number {i} about rust"), None)
                .await
        }));
    }
    let mut max = 0;
    for t in tasks {
        let r = t.await.unwrap().unwrap();
        assert_eq!(r.vector.len(), 384);
        max = max.max(r.batch_size);
    }
    let stats = e.stats();
    assert_eq!(stats.jobs.load(std::sync::atomic::Ordering::Relaxed), 200);
    assert!(max > 1, "no batching happened");
    assert!(stats.batches.load(std::sync::atomic::Ordering::Relaxed) < 200);
    // Same text alone and in a batch: same vector.
    let alone = e.embed(QUERY.into(), None).await.unwrap();
    assert!(
        (alone.vector[0] - REFERENCE[0]).abs() < 0.02,
        "int8 first dim {}",
        alone.vector[0]
    );
}

#[tokio::test]
async fn a_full_queue_is_refused_not_queued() {
    let e = Embedder::start(
        EmbedderOptions {
            model_dir: minilm(),
            load: LoadOptions::default(),
            workers: 1,
            max_batch: 1,
            max_wait: Duration::ZERO,
            queue_depth: 2,
        },
        None,
    )
    .unwrap();
    let long = "word ".repeat(200);
    let mut pending = Vec::new();
    let mut refused = 0;
    for _ in 0..20 {
        let e = e.clone();
        let t = long.clone();
        // Submit without awaiting so they pile up.
        match tokio::time::timeout(Duration::from_millis(1), e.embed(t, None)).await {
            Err(_) => pending.push(()),
            Ok(Err(sluice_router::RouterError::Overloaded { depth })) => {
                assert_eq!(depth, 2);
                refused += 1;
            }
            Ok(_) => {}
        }
    }
    assert!(refused > 0, "queue of 2 never refused");
}
