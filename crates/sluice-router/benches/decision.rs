//! One routing decision (tokenize + embed + learned head + policy) against a bare
//! `session.run` of the same model on the same, already tokenized input.
//!
//! `cargo bench -p sluice-router --bench decision` (scripts/bench-router.sh runs both
//! router benchmarks). Groups: `{fp32,int8}/{16,128}tok/{bare_session_run,decision,
//! decision_features,decision_via_embedder}` for the MiniLM transformer, and
//! `static/{16,128}tok/{decision_features,decision_via_embedder}` for the static table
//! distilled from it (`all-MiniLM-L6-v2-static` in the cache folder, made by
//! scripts/setup.sh; or
//! `SLUICE_STATIC_MODEL`). `decision` uses an embedding-only head; `decision_features` the
//! shipped contract (embedding + prompt features).

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::Tensor;
use sluice_router::embedding::{EmbeddingModel, LoadOptions};
use sluice_router::features::COUNT;
use sluice_router::heads::LearnedHead;
use sluice_router::policy::{
    self, Capabilities, Decision, Features, Overflow, RoutingPolicy, Scores, Strategy,
};
use sluice_router::{Embedder, EmbedderOptions};

/// A logistic head of the given embedding width, optionally reading the prompt features.
fn make_head(dim: usize, features: bool) -> Arc<LearnedHead> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("head.onnx");
    let nf = if features { COUNT } else { 0 };
    let w: Vec<f32> = (0..dim + nf)
        .map(|i| ((i as f32) * 0.37).sin() * 0.1)
        .collect();
    let mut spec = serde_json::json!({"kind": "logistic", "w": w, "b": 0.1, "emb_dim": dim});
    if features {
        spec["features"] = serde_json::json!({
            "version": sluice_router::features::VERSION,
            "names": sluice_router::features::NAMES,
            "mu": vec![0.0; COUNT], "sd": vec![1.0; COUNT],
        });
    }
    sluice_testkit::env::write_head(&spec, &path);
    let h = Arc::new(LearnedHead::load(&path, dim).unwrap());
    std::mem::forget(dir); // the session has loaded the file; keep it for the run anyway
    h
}

fn static_model_dir() -> Option<std::path::PathBuf> {
    let p = std::env::var_os("SLUICE_STATIC_MODEL").map_or_else(
        || sluice_router::embedding::model_path("all-MiniLM-L6-v2-static"),
        std::path::PathBuf::from,
    );
    p.join("embeddings.safetensors").is_file().then_some(p)
}

fn embedder(dir: std::path::PathBuf, variant: &str) -> Embedder {
    Embedder::start(
        EmbedderOptions {
            model_dir: dir,
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
    .unwrap()
}

fn decide_once(policy: &RoutingPolicy, features: &Features, learned: Option<f32>) -> Decision {
    policy::decide(
        policy,
        features,
        &Scores {
            learned,
            semantic: vec![],
        },
    )
}

/// The static table: tokenise, pool, head with features, policy; direct and via the
/// embedder's worker thread.
fn bench_static(c: &mut Criterion, policy: &RoutingPolicy) {
    let Some(dir) = static_model_dir() else {
        eprintln!("static model all-MiniLM-L6-v2-static not found: run scripts/setup.sh; skipping static/*");
        return;
    };
    let mut model = EmbeddingModel::load(&dir, &LoadOptions::default()).unwrap();
    let head = make_head(model.dim(), true);
    let emb = embedder(dir.clone(), "model.onnx");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for tokens in [16usize, 128] {
        let text = common::text_of_tokens(&model, tokens);
        let features = Features {
            text: text.clone(),
            needed_tokens: 40,
            ..Features::default()
        };
        let mut g = c.benchmark_group(format!("static/{tokens}tok"));
        g.sample_size(100)
            .measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_secs(1));
        g.bench_function("decision_features", |b| {
            b.iter(|| {
                assert!(policy::rules(policy, &features).is_none());
                let v = model.embed(&[&features.text]).unwrap();
                let learned = head.score(&v, &[&features.text]).unwrap()[0];
                std::hint::black_box(decide_once(policy, &features, Some(learned)))
            })
        });
        g.bench_function("decision_via_embedder", |b| {
            b.iter(|| {
                rt.block_on(async {
                    let e = emb
                        .embed(features.text.clone(), Some(head.clone()))
                        .await
                        .unwrap();
                    std::hint::black_box(decide_once(policy, &features, e.learned))
                })
            })
        });
        g.finish();
    }
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
    let policy = routing_policy();
    bench_static(c, &policy);
    let head = make_head(384, false);
    let fhead = make_head(384, true);
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
        let embedder = embedder(common::minilm(), variant);
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
                    let learned = head.score(&v, &[]).unwrap()[0];
                    std::hint::black_box(decide_once(&policy, &features, Some(learned)))
                })
            });
            g.bench_function("decision_features", |b| {
                b.iter(|| {
                    assert!(policy::rules(&policy, &features).is_none());
                    let v = model.embed(&[&features.text]).unwrap();
                    let learned = fhead.score(&v, &[&features.text]).unwrap()[0];
                    std::hint::black_box(decide_once(&policy, &features, Some(learned)))
                })
            });
            g.bench_function("decision_via_embedder", |b| {
                b.iter(|| {
                    rt.block_on(async {
                        let e = embedder
                            .embed(features.text.clone(), Some(fhead.clone()))
                            .await
                            .unwrap();
                        std::hint::black_box(decide_once(&policy, &features, e.learned))
                    })
                })
            });
            g.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
