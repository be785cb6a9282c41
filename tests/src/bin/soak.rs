//! `sluice-soak`: a fixed request rate (open loop: requests start on schedule whether or not
//! earlier ones finished) through the real gateway against the mock upstream, half streaming
//! and half not, with a virtual key, for a fixed time. Every 10 s it prints requests, errors,
//! latency percentiles of that window and the gateway's RSS; at the end a summary, and it
//! exits 1 if any request failed or RSS grew by more than 10% after warm-up.
//!
//! `scripts/soak.sh` builds the release binaries and runs it (10 minutes by default).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use sluice_testkit::gateway::Gateway;
use sluice_testkit::mock::MockUpstream;

#[derive(Parser)]
struct Args {
    /// The sluice binary (release build).
    #[arg(long, default_value = "target/release/sluice")]
    sluice: PathBuf,
    /// Requests per second.
    #[arg(long, default_value_t = 200)]
    rate: u64,
    /// Seconds.
    #[arg(long, default_value_t = 600)]
    duration: u64,
    /// Seconds before RSS is taken as the baseline.
    #[arg(long, default_value_t = 60)]
    warmup: u64,
}

#[derive(Default)]
struct Window {
    ok: u64,
    errors: u64,
    latencies_ms: Vec<f64>,
    error_samples: Vec<String>,
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mock_addr = MockUpstream::spawn_on_own_thread();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?
        .block_on(run(args, mock_addr))
}

#[allow(clippy::print_stdout)]
async fn run(args: Args, mock_addr: std::net::SocketAddr) -> anyhow::Result<()> {
    const KEY: &str = "sk-sluice-soak-000000000000000000000000000000";
    let hash: String = {
        use sha2::Digest;
        sha2::Sha256::digest(KEY.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let yaml = format!(
        "providers:\n  mock: {{ base_url: \"http://{mock_addr}/v1\" }}\n\
         models:\n  mock-model: {{ provider: mock, pricing: {{ input: 0.15, output: 0.6 }} }}\n\
         policies:\n  auto: {{ strategy: static, target: mock-model }}\n\
         keys:\n  soak:\n    hash: sha256:{hash}\n    tenant: soak\n    rate_limit: {{ requests_per_minute: 1000000 }}\n    budget: {{ usd: 1000000, period: day }}\n"
    );
    let gw = Gateway::builder(&args.sluice, &yaml)
        .env("RUST_LOG", "warn,sluice_gateway::server=info")
        .start()
        .await;
    let pid = gw.pid().context("gateway pid")?;
    let url = gw.url("/v1/chat/completions");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(30))
        .build()?;
    let window = Arc::new(Mutex::new(Window::default()));
    let start = Instant::now();
    let end = start + Duration::from_secs(args.duration);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut report = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(10),
        Duration::from_secs(10),
    );
    println!("| t (s) | requests | errors | p50 ms | p90 ms | p99 ms | max ms | gateway RSS MiB |");
    println!("|---|---|---|---|---|---|---|---|");
    let (mut total, mut errors) = (0u64, 0u64);
    let mut all: Vec<f64> = Vec::new();
    let mut rss: Vec<(u64, u64)> = Vec::new();
    let mut samples: Vec<String> = Vec::new();
    let mut n = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick(), if Instant::now() < end => {
                n += 1;
                let stream = n.is_multiple_of(2);
                let body = serde_json::json!({
                    "model": "auto",
                    "messages": [{"role": "user", "content": format!("soak request {n}: what is {} + {}?", n % 97, n % 13)}],
                    "max_tokens": 32,
                    "stream": stream,
                    "mock": {"words": 12 + (n % 20)},
                });
                let (client, url, window) = (client.clone(), url.clone(), window.clone());
                tokio::spawn(async move {
                    let t0 = Instant::now();
                    let result = async {
                        let r = client.post(&url).bearer_auth(KEY).json(&body).send().await?;
                        let status = r.status();
                        let bytes = r.bytes().await?;
                        anyhow::ensure!(status.is_success(), "status {status}: {}", String::from_utf8_lossy(&bytes));
                        if stream {
                            anyhow::ensure!(bytes.ends_with(b"data: [DONE]\n\n"), "stream did not end with [DONE]");
                        }
                        Ok(())
                    }
                    .await;
                    let mut w = window.lock().unwrap_or_else(|p| p.into_inner());
                    match result {
                        Ok(()) => {
                            w.ok += 1;
                            w.latencies_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
                        }
                        Err(e) => {
                            w.errors += 1;
                            if w.error_samples.len() < 3 {
                                w.error_samples.push(e.to_string());
                            }
                        }
                    }
                });
            }
            _ = report.tick() => {
                let w = std::mem::take(&mut *window.lock().unwrap_or_else(|p| p.into_inner()));
                let mut l = w.latencies_ms;
                l.sort_by(f64::total_cmp);
                let t = start.elapsed().as_secs();
                let mib = rss_kib(pid);
                rss.push((t, mib));
                total += w.ok + w.errors;
                errors += w.errors;
                samples.extend(w.error_samples);
                println!(
                    "| {t} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} |",
                    w.ok + w.errors, w.errors, pct(&l, 0.5), pct(&l, 0.9), pct(&l, 0.99),
                    l.last().copied().unwrap_or(0.0), mib as f64 / 1024.0
                );
                all.extend(l);
                if Instant::now() >= end + Duration::from_secs(5) {
                    break;
                }
            }
        }
    }
    all.sort_by(f64::total_cmp);
    let base = rss
        .iter()
        .find(|(t, _)| *t >= args.warmup)
        .or(rss.first())
        .map_or(0, |r| r.1);
    let last = rss.last().map_or(0, |r| r.1);
    let after: Vec<u64> = rss
        .iter()
        .filter(|(t, _)| *t >= args.warmup)
        .map(|r| r.1)
        .collect();
    let max_after = after.iter().copied().max().unwrap_or(last);
    let growth = if base > 0 {
        last as f64 / base as f64 - 1.0
    } else {
        0.0
    };
    println!();
    println!(
        "summary: {total} requests at {} req/s for {} s (half streaming), {errors} errors; latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; gateway RSS after {} s warm-up {:.1} MiB, at the end {:.1} MiB (max {:.1} MiB, {:+.1}%)",
        args.rate, args.duration, pct(&all, 0.5), pct(&all, 0.9), pct(&all, 0.99),
        all.last().copied().unwrap_or(0.0), args.warmup, base as f64 / 1024.0,
        last as f64 / 1024.0, max_after as f64 / 1024.0, growth * 100.0
    );
    for s in &samples {
        println!("error sample: {s}");
    }
    anyhow::ensure!(errors == 0, "{errors} requests failed");
    anyhow::ensure!(
        growth < 0.10,
        "RSS grew {:.1}% after warm-up",
        growth * 100.0
    );
    Ok(())
}
