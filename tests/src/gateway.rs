//! Runs the real `sluice` binary for end-to-end tests.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct Gateway {
    child: Child,
    pub addr: SocketAddr,
    /// The `/metrics` listener's address, when it has one.
    pub metrics_addr: Option<SocketAddr>,
    pub config_path: PathBuf,
    logs: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

pub struct GatewayBuilder {
    bin: PathBuf,
    yaml: String,
    env: Vec<(String, String)>,
    args: Vec<String>,
    builtin: bool,
}

impl Gateway {
    /// `bin` is the `sluice` binary (`env!("CARGO_BIN_EXE_sluice")` in the gateway's tests).
    pub fn builder(bin: impl AsRef<Path>, yaml: &str) -> GatewayBuilder {
        // Absolute: the gateway runs in a folder of its own.
        let bin = bin.as_ref();
        GatewayBuilder {
            bin: std::path::absolute(bin).unwrap_or_else(|_| bin.to_owned()),
            yaml: yaml.to_owned(),
            env: Vec::new(),
            args: Vec::new(),
            builtin: false,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// `/metrics` on the metrics listener (never the public port).
    pub fn metrics_url(&self) -> String {
        let at = self
            .metrics_addr
            .expect("this gateway runs without a metrics listener");
        format!("http://{at}/metrics")
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Replaces the config file the way editors and ConfigMaps do: write aside, rename.
    pub fn write_config(&self, yaml: &str) {
        let tmp = self.config_path.with_extension("yaml.tmp");
        std::fs::write(&tmp, yaml).expect("write config");
        std::fs::rename(&tmp, &self.config_path).expect("rename config");
    }

    /// Sends a signal by name (`TERM`, `HUP`, ...) with the system `kill`.
    pub async fn signal(&self, name: &str) {
        let pid = self.child.id().expect("gateway still running");
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(pid.to_string())
            .status()
            .await
            .expect("run kill");
        assert!(status.success(), "kill -{name} {pid} failed");
    }

    /// Every log line so far (JSON, one object per line).
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Waits until a log line contains `needle`; false on timeout.
    pub async fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.logs().iter().any(|l| l.contains(needle)) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for the process to exit; `None` on timeout.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        tokio::time::timeout(timeout, self.child.wait())
            .await
            .ok()?
            .ok()
    }
}

impl GatewayBuilder {
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    /// Runs on the configuration embedded in the binary (no `--config`), as a new user's
    /// first `sluice serve` does; the yaml given to the builder is ignored.
    pub fn builtin_config(mut self) -> Self {
        self.builtin = true;
        self
    }

    pub fn arg(mut self, a: &str) -> Self {
        self.args.push(a.into());
        self
    }

    /// Writes the config, starts the binary on 127.0.0.1:0 and waits for it to listen.
    pub async fn start(self) -> Gateway {
        let dir = tempfile::tempdir().expect("tempdir");
        let config_path = dir.path().join("sluice.yaml");
        std::fs::write(&config_path, &self.yaml).expect("write config");
        let mut cmd = Command::new(&self.bin);
        cmd.arg("serve");
        if !self.builtin {
            cmd.arg("--config").arg(&config_path);
        }
        // In its own folder: files the gateway makes there (the default config's outcome
        // store) go with the test.
        cmd.current_dir(dir.path())
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--log-format")
            .arg("json")
            .args(&self.args)
            .env("RUST_LOG", "info,sluice_gateway=debug")
            .env("SLUICE_MODELS_DIR", crate::env::models_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if !self.args.iter().any(|a| a == "--metrics-listen") {
            // An ephemeral port: tests run many gateways at once.
            cmd.arg("--metrics-listen").arg("127.0.0.1:0");
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn sluice");
        let stderr = child.stderr.take().expect("piped stderr");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
        {
            let logs = logs.clone();
            tokio::spawn(async move {
                let mut addr_tx = Some(addr_tx);
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(tx) = addr_tx.take() {
                        match listening_addr(&line) {
                            Some(a) => {
                                let _ = tx.send(a);
                            }
                            None => addr_tx = Some(tx),
                        }
                    }
                    logs.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                }
            });
        }
        let addr = match tokio::time::timeout(Duration::from_secs(20), addr_rx).await {
            Ok(Ok(a)) => a,
            _ => {
                let lines = logs.lock().unwrap_or_else(|e| e.into_inner()).join("\n");
                panic!("sluice did not start listening; its logs:\n{lines}");
            }
        };
        // Logged before "listening", so it is in the logs by now.
        let metrics_addr = logs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find_map(|l| logged_addr(l, "metrics listening"));
        Gateway {
            child,
            addr,
            metrics_addr,
            config_path,
            logs,
            _dir: dir,
        }
    }
}

fn listening_addr(line: &str) -> Option<SocketAddr> {
    logged_addr(line, "listening")
}

/// The `addr` field of a JSON log line whose message is `message`.
fn logged_addr(line: &str, message: &str) -> Option<SocketAddr> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    if v.pointer("/fields/message")?.as_str()? != message {
        return None;
    }
    v.pointer("/fields/addr")?.as_str()?.parse().ok()
}
