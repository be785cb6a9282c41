//! Where the test machine keeps models and the project's Python.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `SLUICE_MODELS_DIR`, else the workspace's `models/` (scripts/setup.sh links it), else the
/// shared mirror beside the checkout. Missing models fail the test: never a silent skip.
pub fn models_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SLUICE_MODELS_DIR") {
        return d.into();
    }
    let root = workspace();
    for c in [root.join("models"), root.join("../shared/models")] {
        if c.join("all-MiniLM-L6-v2").is_dir() {
            return std::path::absolute(&c).unwrap_or(c);
        }
    }
    panic!("no models folder: run scripts/setup.sh or set SLUICE_MODELS_DIR");
}

/// The project's `.venv` Python (scripts/setup.sh creates it).
pub fn venv_python() -> PathBuf {
    let p = workspace().join(".venv/bin/python");
    assert!(p.exists(), "no .venv: run scripts/setup.sh");
    p
}

/// Writes a logistic head `sigmoid(e·w + b)` with scripts/write_linear_head.py.
pub fn write_linear_head(w: &[f32], b: f32, out: &Path) {
    let spec = out.with_extension("json");
    std::fs::write(&spec, serde_json::json!({"w": w, "b": b}).to_string()).expect("write weights");
    let status = std::process::Command::new(venv_python())
        .arg(workspace().join("scripts/write_linear_head.py"))
        .arg("--weights")
        .arg(&spec)
        .arg("--out")
        .arg(out)
        .status()
        .expect("run python");
    assert!(status.success(), "write_linear_head.py failed");
}
