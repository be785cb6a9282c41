//! `sluice models pull` against a loopback server speaking the Hugging Face hub protocol
//! (serving the local mirror), and from a mirror folder.

#![allow(clippy::unwrap_used)]

mod common;

use sluice_testkit::env::models_dir;
use sluice_testkit::hub::HubServer;

fn config(dir: &std::path::Path, variant: &str) -> std::path::PathBuf {
    let y = format!(
        "providers: {{ a: {{ base_url: 'http://127.0.0.1:1/v1' }} }}\nmodels: {{ m: {{ provider: a }} }}\n\
         router:\n  embedder: {{ model: all-MiniLM-L6-v2, hub_id: sentence-transformers/all-MiniLM-L6-v2, variant: {variant} }}\n\
         policies: {{ p: {{ target: m }} }}\n"
    );
    let f = dir.join("c.yaml");
    std::fs::write(&f, y).unwrap();
    f
}

fn pull(cfg: &std::path::Path, models: &std::path::Path, extra: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["models", "pull", "--config"])
        .arg(cfg)
        .args(extra)
        .env("SLUICE_MODELS_DIR", models)
        .env_remove("SLUICE_MODELS_MIRROR")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_downloads_from_the_hub_protocol() {
    let hub = HubServer::start(&models_dir()).await;
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let cfg = config(dir.path(), "model_int8.onnx");
    let (cfg2, models2, endpoint) = (cfg.clone(), models.clone(), hub.endpoint());
    let out =
        tokio::task::spawn_blocking(move || pull(&cfg2, &models2, &["--endpoint", &endpoint]))
            .await
            .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("downloaded sentence-transformers/all-MiniLM-L6-v2"),
        "{stdout}"
    );
    let got = models.join("all-MiniLM-L6-v2");
    let src = models_dir().join("all-MiniLM-L6-v2");
    for f in [
        "model_int8.onnx",
        "tokenizer.json",
        "config.json",
        "tokenizer_config.json",
    ] {
        assert_eq!(
            std::fs::read(got.join(f)).unwrap(),
            std::fs::read(src.join(f)).unwrap(),
            "{f} differs"
        );
    }
    assert!(
        !got.join("model.onnx").exists(),
        "only the configured variant is fetched"
    );
    assert!(hub.file_requests() >= 4);

    // The downloaded folder works: a second pull finds it, and the embedder loads from it.
    let before = hub.file_requests();
    let (cfg2, models2, endpoint) = (cfg.clone(), models.clone(), hub.endpoint());
    let out =
        tokio::task::spawn_blocking(move || pull(&cfg2, &models2, &["--endpoint", &endpoint]))
            .await
            .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("present"));
    assert_eq!(hub.file_requests(), before);
    let m = sluice_router::embedding::EmbeddingModel::load(
        &got,
        &sluice_router::embedding::LoadOptions {
            variant: "model_int8.onnx".into(),
            ..Default::default()
        },
    );
    assert!(m.is_ok());
}

#[test]
fn pull_links_a_mirror_and_fails_clearly_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let cfg = config(dir.path(), "model.onnx");
    let out = pull(&cfg, &models, &["--mirror", models_dir().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(models.join("all-MiniLM-L6-v2/model.onnx").is_file());

    // No mirror, and a hub that refuses: a clear error naming the repository.
    let empty = tempfile::tempdir().unwrap();
    let out = pull(
        &cfg,
        &empty.path().join("models"),
        &["--endpoint", "http://127.0.0.1:9"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sentence-transformers/all-MiniLM-L6-v2"),
        "{err}"
    );
}
