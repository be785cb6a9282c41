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
    // Two sources (say, two customers' labelled traffic); in both, maths questions defeat
    // the weak model and small talk does not. Leave-one-source-out trains on one and scores
    // the other, so the head must learn the transferable signal, not the source.
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
    let mut sources = Vec::new();
    for (s, name) in ["alpha", "beta"].iter().enumerate() {
        let mut lines = Vec::new();
        for g in 0..3 {
            for (i, (h, e)) in hard.iter().zip(easy.iter()).enumerate() {
                let n = (s * 100 + g * 10 + i).to_string();
                for (t, weak) in [(h, 0), (e, 1)] {
                    lines.push(serde_json::json!({"prompt": t.replace("{i}", &n), "weak": weak, "strong": 1, "group": format!("g{g}")}).to_string());
                }
            }
        }
        let path = d.join(format!("{name}.jsonl"));
        std::fs::write(&path, lines.join("\n")).unwrap();
        sources.push(path);
    }
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
    let cache = d.join("cache");
    let mut common: Vec<String> = Vec::new();
    for s in &sources {
        common.extend(["--data".into(), s.display().to_string()]);
    }
    common.extend([
        "--config".into(),
        cfg.display().to_string(),
        "--cache".into(),
        cache.display().to_string(),
        "--k".into(),
        "5".into(),
    ]);
    let with = |args: &[&str]| -> Vec<String> {
        args.iter()
            .map(|a| a.to_string())
            .chain(common.iter().cloned())
            .collect()
    };
    let run_s = |args: Vec<String>| {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        run(d, &a)
    };
    // The head the report's table reads must exist first.
    let stdout = run_s(with(&["train", "--out", head.to_str().unwrap()]));
    assert!(stdout.contains("ONNX matches the Rust model"), "{stdout}");
    let table = d.join("table.jsonl");
    std::fs::write(
        &table,
        "{\"prompt\": \"Prove that the square root of 11 is irrational.\", \"expect\": \"strong\"}\n\
         {\"prompt\": \"Say hello to my neighbour.\", \"expect\": \"weak\"}\n",
    )
    .unwrap();
    let out = d.join("results");
    let stdout = run_s(with(&[
        "report",
        "--folds",
        "3",
        "--table",
        table.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(
        stdout.contains("Leave-one-source-out") && stdout.contains("| oracle |"),
        "{stdout}"
    );
    assert!(stdout.contains("Everyday table"), "{stdout}");
    for f in [
        "report.md",
        "report.json",
        "loso_alpha_quality_vs_strong_share.png",
        "loso_beta_quality_vs_cost.svg",
    ] {
        assert!(out.join(f).metadata().unwrap().len() > 100, "{f}");
    }
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let apgr = |source: &str, name: &str| {
        report["leave_one_source_out"][source]["curves"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no curve {name} for {source}"))["apgr"]
            .as_f64()
            .unwrap()
    };
    let shipped = "logistic, embedding + features, hard, source effects";
    for source in ["alpha", "beta"] {
        assert!(
            apgr(source, shipped) > 0.6,
            "{source}: {}",
            apgr(source, shipped)
        );
        assert!((apgr(source, "random") - 0.5).abs() < 0.2);
    }

    for kind in ["mlp", "knn", "logistic"] {
        let stdout = run_s(with(&[
            "train",
            "--head",
            kind,
            "--out",
            head.to_str().unwrap(),
        ]));
        assert!(stdout.contains("ONNX matches the Rust model"), "{stdout}");
    }
    let stdout = run_s(with(&["calibrate", "--target-share", "0.5", "--write"]));
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

/// The shipped default config, through the same head and embedder the gateway loads: every
/// prompt of the everyday table lands on its side of the threshold. Fails if any flips.
#[test]
fn everyday_table_holds_on_the_default_config() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let stdout = run(dir.path(), &["table", "--cache", cache.to_str().unwrap()]);
    assert!(
        stdout.contains("48 prompts, 48 on the expected side."),
        "{stdout}"
    );
    for p in [
        "| thanks! | weak |",
        "| Prove Fermat's last theorem for n=3 | strong |",
    ] {
        assert!(stdout.contains(p), "{p} missing from\n{stdout}");
    }
}
