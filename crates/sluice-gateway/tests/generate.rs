//! `sluice generate` on the tiny random-weight decoder.
#![allow(clippy::unwrap_used)]

fn run(args: &[&str]) -> (String, String) {
    let dir = sluice_testkit::env::models_dir().join("tiny-random-llama");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("generate")
        .arg("--model")
        .arg(&dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn generate_prints_completion_and_usage() {
    let (text, usage) = run(&["--max-tokens", "12", "Hello, who are you?"]);
    assert!(!text.trim().is_empty());
    assert!(
        usage.contains("completion_tokens=12") && usage.contains("finish_reason=length"),
        "{usage}"
    );
    // Greedy is deterministic; a seed makes sampling repeatable.
    assert_eq!(run(&["--max-tokens", "12", "Hello, who are you?"]).0, text);
    let a = run(&[
        "--max-tokens",
        "10",
        "--temperature",
        "1",
        "--seed",
        "5",
        "--system",
        "Be brief.",
        "Hi",
    ])
    .0;
    let b = run(&[
        "--max-tokens",
        "10",
        "--temperature",
        "1",
        "--seed",
        "5",
        "--system",
        "Be brief.",
        "Hi",
    ])
    .0;
    assert_eq!(a, b);
    assert_ne!(a, text);
}
