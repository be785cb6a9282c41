//! One routing decision (tokenize + embed + learned head + policy) against a bare
//! `session.run` of the same model on the same, already tokenized input.
//!
//! `cargo bench -p sluice-router --bench decision` (scripts/bench-router.sh runs both
//! router benchmarks). Groups: `{fp32,int8}/{16,128}tok/{bare_session_run,decision,decision_via_embedder}`.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::Tensor;
use sluice_router::embedding::LoadOptions;
use sluice_router::heads::LearnedHead;
use sluice_router::policy::{
    self, Capabilities, Features, Overflow, RoutingPolicy, Scores, Strategy,
};
use sluice_router::{Embedder, EmbedderOptions};

fn head() -> Arc<LearnedHead> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("head.onnx");
    let w: Vec<f32> = (0..384).map(|i| ((i as f32) * 0.37).sin() * 0.1).collect();
    sluice_testkit::env::write_linear_head(&w, 0.1, &path);
    let h = Arc::new(LearnedHead::load(&path, 384).unwrap());
    std::mem::forget(dir); // the session has loaded the file; keep it for the run anyway
    h
}

fn routing_policy() -> RoutingPolicy {
    RoutingPolicy {
        name: "auto".into(),
        strategy: Strategy::Learned { threshold: 0.5 },
        default_target: "local".into(),
        strong: Some("gpt-4o".into()),
        weak_caps: Capabilities {
            context_window: Some(8192),
            ..Capabilities::default()
        },
        header_overrides: vec![],
        patterns: vec![],
        semantic: vec![],
        overflow: Overflow::Strong,
    }
}

fn bench(c: &mut Criterion) {
    let head = head();
    let policy = routing_policy();
    for variant in ["model.onnx", "model_int8.onnx"] {
        let label = if variant == "model.onnx" {
            "fp32"
        } else {
            "int8"
        };
        let mut model = common::load(variant);
        let path = sluice_router::embedding::find_model_file(&common::minilm(), variant).unwrap();
        let env = sluice_router::runtime::environment().unwrap();
        let mut bare = Session::builder(&env)
            .unwrap()
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .unwrap()
            .with_intra_threads(1)
            .unwrap()
            .commit_from_file(&path)
            .unwrap();
        let embedder = Embedder::start(
            EmbedderOptions {
                model_dir: common::minilm(),
                load: LoadOptions {
                    variant: variant.into(),
                    ..LoadOptions::default()
                },
                workers: 1,
                max_batch: 32,
                max_wait: Duration::from_millis(2),
                queue_depth: 64,
            },
            None,
        )
        .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for tokens in [16usize, 128] {
            let text = common::text_of_tokens(&model, tokens);
            let ids: Vec<i64> = model
                .tokenize(&text)
                .unwrap()
                .iter()
                .map(|&i| i64::from(i))
                .collect();
            let n = ids.len() as i64;
            let mut g = c.benchmark_group(format!("{label}/{tokens}tok"));
            g.sample_size(60)
                .measurement_time(Duration::from_secs(4))
                .warm_up_time(Duration::from_secs(1));
            g.bench_function("bare_session_run", |b| {
                b.iter(|| {
                    let out = bare
                        .run(ort::inputs![
                            "input_ids" => Tensor::from_array(([1, n], ids.clone())).unwrap(),
                            "attention_mask" => Tensor::from_array(([1, n], vec![1i64; n as usize])).unwrap(),
                            "token_type_ids" => Tensor::from_array(([1, n], vec![0i64; n as usize])).unwrap(),
                        ])
                        .unwrap();
                    std::hint::black_box(out.len())
                })
            });
            let features = Features {
                text: text.clone(),
                needed_tokens: 40,
                ..Features::default()
            };
            g.bench_function("decision", |b| {
                b.iter(|| {
                    assert!(policy::rules(&policy, &features).is_none());
                    let v = model.embed(&[&features.text]).unwrap();
                    let learned = head.score(&v).unwrap()[0];
                    let d = policy::decide(
                        &policy,
                        &features,
                        &Scores {
                            learned: Some(learned),
                            semantic: vec![],
                        },
                    );
                    std::hint::black_box(d)
                })
            });
            g.bench_function("decision_via_embedder", |b| {
                b.iter(|| {
                    rt.block_on(async {
                        let e = embedder
                            .embed(features.text.clone(), Some(head.clone()))
                            .await
                            .unwrap();
                        let d = policy::decide(
                            &policy,
                            &features,
                            &Scores {
                                learned: e.learned,
                                semantic: vec![],
                            },
                        );
                        std::hint::black_box(d)
                    })
                })
            });
            g.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
