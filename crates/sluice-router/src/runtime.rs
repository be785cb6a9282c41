//! Locating and initialising ONNX Runtime.
//!
//! `ort` is built with `load-dynamic`: the shared library is found at run time, never
//! downloaded at build time. A process may create only one environment, so it lives in a
//! `OnceLock` and every session in the process shares it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;

use crate::RouterError;

static ENV: OnceLock<Result<Environment, String>> = OnceLock::new();

/// The process-wide ONNX Runtime environment, initialised on first use.
pub fn environment() -> Result<Environment, RouterError> {
    ENV.get_or_init(|| {
        let path = find_library()?;
        tracing::info!(path = %path.display(), "loading ONNX Runtime");
        ort::init_from(&path)
            .map_err(|e| format!("cannot load {}: {e}", path.display()))?
            .with_name("sluice")
            .build()
            .map_err(|e| format!("cannot create the ONNX Runtime environment: {e}"))
    })
    .clone()
    .map_err(RouterError::Runtime)
}

/// `ORT_DYLIB_PATH` if set; otherwise the `onnxruntime` wheel in a `.venv` found in the
/// working directory, next to the executable or above it (so `target/release/sluice` finds
/// the project's `.venv`). The error lists every place looked at.
pub fn find_library() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "ORT_DYLIB_PATH is set to {} but no such file exists",
                p.display()
            ))
        };
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().take(3).map(Path::to_owned));
    }
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).take(4).map(Path::to_owned));
    }
    roots.dedup();
    let mut looked = Vec::new();
    for root in &roots {
        let venv_lib = root.join(".venv").join("lib");
        looked.push(format!(
            "{}/python3*/site-packages/onnxruntime/capi/",
            venv_lib.display()
        ));
        if let Some(found) = wheel_library(&venv_lib) {
            return Ok(found);
        }
    }
    Err(format!(
        "no libonnxruntime found. Set ORT_DYLIB_PATH to the library file, or run scripts/setup.sh \
         (it installs the onnxruntime wheel into ./.venv). Looked in: ORT_DYLIB_PATH (unset), {}",
        looked.join(", ")
    ))
}

fn wheel_library(venv_lib: &Path) -> Option<PathBuf> {
    for py in std::fs::read_dir(venv_lib).ok()?.flatten() {
        if !py.file_name().to_string_lossy().starts_with("python3") {
            continue;
        }
        let capi = py.path().join("site-packages/onnxruntime/capi");
        let Ok(entries) = std::fs::read_dir(&capi) else {
            continue;
        };
        // The wheel ships only the versioned file (libonnxruntime.so.1.31.1).
        let mut libs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.starts_with("libonnxruntime.so")
                        || n.starts_with("libonnxruntime.") && n.ends_with(".dylib")
                })
            })
            .collect();
        libs.sort();
        if let Some(l) = libs.pop() {
            return Some(l);
        }
    }
    None
}

/// Maps `ort` errors (some of which are not `Send`) to ours, keeping the message.
pub(crate) fn ort_err<E: std::fmt::Display>(e: E) -> RouterError {
    RouterError::Inference(e.to_string())
}
