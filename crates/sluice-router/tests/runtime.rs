//! ONNX Runtime discovery errors. A test binary of its own: it changes ORT_DYLIB_PATH, which
//! must not race the other tests' process-wide ONNX Runtime initialisation.
#![allow(clippy::unwrap_used)]

#[test]
fn errors_say_where_they_looked() {
    std::env::set_var("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so.1");
    let err = sluice_router::runtime::find_library().unwrap_err();
    assert!(
        err.contains("ORT_DYLIB_PATH is set to /nonexistent/libonnxruntime.so.1"),
        "{err}"
    );

    std::env::remove_var("ORT_DYLIB_PATH");
    let dir = tempfile::tempdir().unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    // From a directory with no .venv, discovery still finds the wheel through the
    // executable's location (target/… sits below the workspace and its .venv).
    let found = sluice_router::runtime::find_library().unwrap();
    assert!(
        found.to_string_lossy().contains("libonnxruntime"),
        "{}",
        found.display()
    );
}
