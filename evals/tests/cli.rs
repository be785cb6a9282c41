//! `sluice-evals` end to end on a small labelled JSONL set with the real embedder.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use sluice_testkit::env::models_dir;

fn run(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice-evals"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env("SLUICE_MODELS_DIR", models_dir())
        .env("TMPDIR", dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn report_train_calibrate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Six groups (say, six customers); in every group maths questions defeat the weak model
    // and small talk does not. Folds hold out whole groups, so the head must learn the
    // transferable signal, not the group.
    let mut lines = Vec::new();
    let hard = [
        "Compute the integral of x^{i} times e^x from 0 to 1.",
        "Solve the system: {i}x + 2y = 7 and 3x - y = {i}.",
        "Prove that the square root of {i}7 is irrational.",
        "Find all real roots of x^3 - {i}x + 1 = 0.",
    ];
    let easy = [
        "Say hello to my friend number {i}.",
        "What is a nice greeting for a birthday card, version {i}?",
        "Thank you so much for your help, {i} times over!",
        "Tell me a short cheerful sentence about sunny day {i}.",
    ];
    for g in 0..6 {
        for (i, (h, e)) in hard.iter().zip(easy.iter()).enumerate() {
            let n = (g * 10 + i).to_string();
            for (t, weak) in [(h, 0), (e, 1)] {
                lines.push(serde_json::json!({"prompt": t.replace("{i}", &n), "weak": weak, "strong": 1, "group": format!("customer{g}")}).to_string());
            }
        }
    }
    let data = d.join("data.jsonl");
    std::fs::write(&data, lines.join("\n")).unwrap();
    let head = d.join("head.onnx");
    let cfg = d.join("sluice.yaml");
    std::fs::write(
        &cfg,
        format!(
            "providers: {{ p: {{ base_url: 'http://127.0.0.1:1/v1' }} }}\n\
             models:\n  weak: {{ provider: p, pricing: {{ input: 0.1, output: 0.4 }} }}\n  strong: {{ provider: p, pricing: {{ input: 2.5, output: 10 }} }}\n\
             router:\n  embedder: {{ model: {}/all-MiniLM-L6-v2, variant: model_int8.onnx }}\n  heads: {{ default: {{ path: head.onnx }} }}\n\
             policies:\n  auto:\n    strategy: learned\n    target: weak\n    strong: strong\n    threshold: 0.5  # calibrated\n",
            models_dir().display()
        ),
    )
    .unwrap();
    let (data_s, cfg_s, cache_s) = (
        data.to_str().unwrap(),
        cfg.to_str().unwrap(),
        d.join("cache"),
    );
    let cache_s = cache_s.to_str().unwrap();
    let out = d.join("results");
    let stdout = run(
        d,
        &[
            "report",
            "--data",
            data_s,
            "--config",
            cfg_s,
            "--cache",
            cache_s,
            "--folds",
            "3",
            "--k",
            "5",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(
        stdout.contains("| logistic |") && stdout.contains("| oracle |"),
        "{stdout}"
    );
    for f in [
        "report.md",
        "report.json",
        "quality_vs_strong_share.png",
        "quality_vs_strong_share.svg",
        "quality_vs_cost.png",
        "quality_vs_cost.svg",
    ] {
        assert!(out.join(f).metadata().unwrap().len() > 100, "{f}");
    }
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let apgr = |name: &str| {
        report["curves"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()["apgr"]
            .as_f64()
            .unwrap()
    };
    assert!(apgr("logistic") > 0.6, "logistic APGR {}", apgr("logistic"));
    assert!(apgr("knn") > 0.6, "knn APGR {}", apgr("knn"));
    assert!((apgr("random") - 0.5).abs() < 0.2);

    for kind in ["mlp", "knn", "logistic"] {
        let stdout = run(
            d,
            &[
                "train",
                "--data",
                data_s,
                "--config",
                cfg_s,
                "--cache",
                cache_s,
                "--head",
                kind,
                "--k",
                "5",
                "--out",
                head.to_str().unwrap(),
            ],
        );
        assert!(stdout.contains("ONNX matches the Rust model"), "{stdout}");
    }
    let stdout = run(
        d,
        &[
            "calibrate",
            "--data",
            data_s,
            "--config",
            cfg_s,
            "--cache",
            cache_s,
            "--target-share",
            "0.5",
            "--write",
        ],
    );
    assert!(stdout.contains("policies.auto.threshold:"), "{stdout}");
    let yaml = std::fs::read_to_string(&cfg).unwrap();
    let line = yaml.lines().find(|l| l.contains("threshold:")).unwrap();
    assert!(
        line.ends_with("# calibrated") && !line.contains("0.5  #"),
        "{line}"
    );
    // The written config still validates.
    sluice_config::load(&sluice_config::Source::File(cfg.clone())).unwrap();
}
