//! Where the test machine keeps models and the project's Python.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `SLUICE_MODELS_DIR`, else the workspace's `models/` (scripts/setup.sh links it), else the
/// shared mirror beside the checkout. Missing models fail the test: never a silent skip.
pub fn models_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SLUICE_MODELS_DIR") {
        // Absolute: gateways under test run in folders of their own.
        let d = PathBuf::from(d);
        return std::path::absolute(&d).unwrap_or(d);
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

/// Writes a logistic head `sigmoid(e·w + b)` with scripts/write_head.py.
pub fn write_linear_head(w: &[f32], b: f32, out: &Path) {
    write_head(
        &serde_json::json!({"kind": "logistic", "w": w, "b": b}),
        out,
    );
}

/// Writes any head spec (see scripts/write_head.py) as ONNX.
pub fn write_head(spec: &serde_json::Value, out: &Path) {
    let spec_path = out.with_extension("json");
    std::fs::write(&spec_path, spec.to_string()).expect("write weights");
    let spec = spec_path;
    let status = std::process::Command::new(venv_python())
        .arg(workspace().join("scripts/write_head.py"))
        .arg("--weights")
        .arg(&spec)
        .arg("--out")
        .arg(out)
        .status()
        .expect("run python");
    assert!(status.success(), "write_head.py failed");
}
