//! Learned heads that read prompt features: ONNX Runtime's scores equal a direct
//! computation of the same head, and a head built for another feature definition is refused.
#![allow(clippy::unwrap_used)]

use sluice_router::features::{prompt_features, COUNT, NAMES, VERSION};
use sluice_router::heads::LearnedHead;

fn make_spec(dim: usize, version: &str) -> (serde_json::Value, Vec<f32>, Vec<f32>, Vec<f32>) {
    let w: Vec<f32> = (0..dim + COUNT)
        .map(|i| ((i as f32) * 0.7).sin() * 0.5)
        .collect();
    let mu: Vec<f32> = (0..COUNT).map(|i| 0.1 * i as f32).collect();
    let sd: Vec<f32> = (0..COUNT).map(|i| 0.5 + 0.25 * i as f32).collect();
    let spec = serde_json::json!({
        "kind": "logistic", "w": w, "b": -0.3, "emb_dim": dim,
        "features": {"version": version, "names": NAMES, "mu": mu, "sd": sd},
    });
    (spec, w, mu, sd)
}

#[test]
fn features_head_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("head.onnx");
    let dim = 8;
    let (spec, w, mu, sd) = make_spec(dim, VERSION);
    sluice_testkit::env::write_head(&spec, &path);
    let head = LearnedHead::load(&path, dim).unwrap();
    assert!(head.uses_features());
    let texts = [
        "thanks!",
        "Prove that $\\sqrt{2}$ is irrational.",
        "```\nfn main() {}\n```",
    ];
    let embs: Vec<Vec<f32>> = (0..texts.len())
        .map(|r| {
            (0..dim)
                .map(|i| ((r * dim + i) as f32 * 0.3).cos())
                .collect()
        })
        .collect();
    let got = head.score(&embs, &texts).unwrap();
    for ((e, t), g) in embs.iter().zip(texts).zip(got) {
        let f = prompt_features(t);
        let mut z = -0.3f32;
        for i in 0..dim {
            z += w[i] * e[i];
        }
        for j in 0..COUNT {
            z += w[dim + j] * (f[j] - mu[j]) / sd[j];
        }
        let want = 1.0 / (1.0 + (-z).exp());
        assert!((g - want).abs() < 1e-5, "{t:?}: onnx {g} vs direct {want}");
    }
    // Feature-reading heads need the texts.
    let err = head.score(&embs, &texts[..1]).unwrap_err().to_string();
    assert!(err.contains("3 embeddings but 1 texts"), "{err}");
}

#[test]
fn a_head_for_other_features_is_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("head.onnx");
    let (spec, ..) = make_spec(8, "sluice-features-v0");
    sluice_testkit::env::write_head(&spec, &path);
    let err = LearnedHead::load(&path, 8).err().unwrap().to_string();
    assert!(
        err.contains(&path.display().to_string())
            && err.contains("sluice-features-v0")
            && err.contains(VERSION),
        "{err}"
    );
    // Wrong embedding width: refused with the expected shape.
    let (spec, ..) = make_spec(8, VERSION);
    sluice_testkit::env::write_head(&spec, &path);
    let err = LearnedHead::load(&path, 16).err().unwrap().to_string();
    assert!(err.contains("expected embedding [N, 16]"), "{err}");
}
