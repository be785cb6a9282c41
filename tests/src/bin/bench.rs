//! `sluice-bench`: the gateway's added latency and throughput, measured side by side.
//!
//! Starts the mock upstream (in this process, on its own runtime thread) and the real
//! `sluice` binary (a separate process, release build), then sends the same non-streaming
//! chat request to the mock directly and through the gateway, at each concurrency level,
//! alternating the two in rounds so machine noise hits both alike. Reports p50/p99 latency,
//! throughput, and the difference (the gateway's added latency).
//!
//! Run it with `scripts/bench-gateway.sh` (builds in release mode first).

// A report tool: its output is the table on stdout.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sluice_testkit::gateway::Gateway;
use sluice_testkit::mock::MockUpstream;

#[derive(Parser)]
struct Args {
    /// The gateway binary to measure.
    #[arg(long, default_value = "target/release/sluice")]
    sluice: PathBuf,
    /// Requests per measurement (one target, one concurrency level, one round).
    #[arg(long, default_value_t = 5000)]
    requests: usize,
    /// Concurrency levels, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,64")]
    concurrency: Vec<usize>,
    /// Rounds; each round measures direct and gateway once per level.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Write the results as JSON here as well.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Route every request with a `learned` policy on this embedder folder (e.g.
    /// `.cache/all-MiniLM-L6-v2-static` or `models/all-MiniLM-L6-v2`) instead of the
    /// static policy: measures what a routing decision adds on the request path.
    #[arg(long)]
    learned: Option<PathBuf>,
    /// The head for `--learned`.
    #[arg(long, default_value = "config/router-head.onnx")]
    head: PathBuf,
    /// Also measure a second gateway, same config plus an outcome store (SQLite) and shadow
    /// judging at this rate (shadow and judge calls go to a second mock, as they would go to
    /// a frontier API): what the quality loop adds on the request path.
    #[arg(long)]
    shadow: Option<f64>,
    /// Also measure a gateway whose policy has a response cache: routed misses (every
    /// request a new prompt: routed, looked up, answered upstream, stored) against hits
    /// (the same prompt again), in gateway CPU per request.
    #[arg(long)]
    cache: bool,
}

#[derive(Clone, Copy, serde::Serialize)]
struct Stats {
    p50_us: f64,
    p99_us: f64,
    rps: f64,
    /// CPU time the gateway process spent per request (0 for direct runs).
    cpu_us_per_req: f64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // The mock gets its own single-threaded runtime, like a separate server would.
    let mock_addr = MockUpstream::spawn_on_own_thread();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(args, mock_addr))
}

async fn run(args: Args, mock_addr: std::net::SocketAddr) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.sluice.exists(),
        "{} not found; build it with cargo build --release",
        args.sluice.display()
    );
    let policy = match &args.learned {
        None => "{ strategy: static, target: mock-model, strong: mock-strong".to_owned(),
        Some(_) => "{ strategy: learned, target: mock-model, strong: mock-strong, head: default, threshold: 0.2355".to_owned(),
    };
    // Shadow and judge calls land on their own mock, at the lowest CPU priority: it stands
    // for a frontier API on other machines, whose work is not the gateway's. Without
    // --shadow it serves nothing.
    let shadow_addr = MockUpstream::spawn_on_low_priority_thread();
    let base = format!(
        "providers:\n  mock: {{ base_url: \"http://{mock_addr}/v1\", api_key_env: BENCH_KEY }}\n  \
         other: {{ base_url: \"http://{shadow_addr}/v1\", api_key_env: BENCH_KEY }}\n\
         models:\n  mock-model: {{ provider: mock, pricing: {{ input: 0.15, output: 0.6 }} }}\n  \
         mock-strong: {{ provider: other, pricing: {{ input: 2.5, output: 10 }} }}\n"
    );
    let mut yaml = format!("{base}policies:\n  auto: {policy} }}\n");
    let mut cache_yaml = format!(
        "{base}policies:\n  auto: {policy}, cache: {{ ttl: 1h, max_entries: 10000000 }} }}\n"
    );
    let shadow_yaml = args.shadow.map(|rate| {
        format!(
            "{base}policies:\n  auto: {policy}, quality: {{ shadow_rate: {rate}, judge: mock-strong, max_shadow_usd_per_day: 1000000 }} }}\n\
             outcomes: {{ store: \"sqlite:outcomes.db\" }}\n"
        )
    });
    let mut shadow_yaml = shadow_yaml;
    if let Some(dir) = &args.learned {
        let abs = |p: &PathBuf| std::fs::canonicalize(p).map(|p| p.display().to_string());
        let router = format!(
            "router:\n  embedder: {{ model: \"{}\", variant: model.onnx }}\n  heads: {{ default: {{ path: \"{}\" }} }}\n",
            abs(dir)?,
            abs(&args.head)?
        );
        yaml.push_str(&router);
        cache_yaml.push_str(&router);
        if let Some(y) = shadow_yaml.as_mut() {
            y.push_str(&router);
        }
    }
    let start = |yaml: String| {
        Gateway::builder(&args.sluice, &yaml)
            .env("BENCH_KEY", "sk-bench")
            .env("RUST_LOG", "warn,sluice_gateway::server=info")
            .start()
    };
    let gw = start(yaml.clone()).await;
    let cached = if args.cache {
        Some(start(cache_yaml).await)
    } else {
        None
    };
    let shadowed = match shadow_yaml {
        Some(y) => Some(start(y).await),
        None => None,
    };
    let body = Bytes::from_static(
        br#"{"model":"auto","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What is the capital of France? Answer in one word."}],"max_tokens":32,"temperature":0}"#,
    );
    let direct = format!("http://{mock_addr}/v1/chat/completions");
    let via = gw.url("/v1/chat/completions");

    let via_shadow = shadowed.as_ref().map(|g| g.url("/v1/chat/completions"));

    let mut results = Vec::new();
    eprintln!("warming up");
    for url in [Some(&direct), Some(&via), via_shadow.as_ref()]
        .into_iter()
        .flatten()
    {
        measure(url, &body, 8, 2000).await?;
    }
    let through = |url: &String, pid: Option<u32>, c: usize| {
        let (url, body) = (url.clone(), body.clone());
        async move {
            let cpu0 = cpu_ns(pid);
            let mut g = measure(&url, &body, c, args.requests).await?;
            g.cpu_us_per_req = (cpu_ns(pid) - cpu0) as f64 / 1e3 / args.requests as f64;
            anyhow::Ok(g)
        }
    };
    let mut shadow_results = Vec::new();
    let mut cache_results = Vec::new();
    if let Some(cg) = &cached {
        let url = cg.url("/v1/chat/completions");
        // The hit's answer is stored by the warm-up.
        measure(&url, &body, 1, 50).await?;
        let serial = Arc::new(AtomicUsize::new(0));
        for &c in &args.concurrency {
            let (mut miss_runs, mut hit_runs) = (Vec::new(), Vec::new());
            for round in 0..args.rounds {
                eprintln!("cache, concurrency {c}, round {}", round + 1);
                let serial = serial.clone();
                let unique = move |_: usize| {
                    let n = serial.fetch_add(1, Ordering::Relaxed);
                    Bytes::from(format!(
                        r#"{{"model":"auto","messages":[{{"role":"system","content":"You are a helpful assistant."}},{{"role":"user","content":"What is the capital of country number {n}? Answer in one word."}}],"max_tokens":32,"temperature":0}}"#
                    ))
                };
                let cpu0 = cpu_ns(cg.pid());
                let mut m = measure_each(&url, Arc::new(unique), c, args.requests).await?;
                m.cpu_us_per_req = (cpu_ns(cg.pid()) - cpu0) as f64 / 1e3 / args.requests as f64;
                miss_runs.push(m);
                let cpu0 = cpu_ns(cg.pid());
                let mut h = measure(&url, &body, c, args.requests).await?;
                h.cpu_us_per_req = (cpu_ns(cg.pid()) - cpu0) as f64 / 1e3 / args.requests as f64;
                hit_runs.push(h);
            }
            let (m, h) = (median_stats(&miss_runs), median_stats(&hit_runs));
            cache_results.push(serde_json::json!({
                "concurrency": c, "miss": m, "hit": h,
                "cpu_ratio": h.cpu_us_per_req / m.cpu_us_per_req,
            }));
        }
        let text = reqwest::get(cg.metrics_url()).await?.text().await?;
        eprintln!("cached gateway's cache counters:");
        for l in text
            .lines()
            .filter(|l| l.starts_with("sluice_cache_lookups_total"))
        {
            eprintln!("  {l}");
        }
    }
    for &c in &args.concurrency {
        let (mut d_runs, mut g_runs, mut s_runs) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..args.rounds {
            eprintln!("concurrency {c}, round {}", round + 1);
            d_runs.push(measure(&direct, &body, c, args.requests).await?);
            g_runs.push(through(&via, gw.pid(), c).await?);
            if let (Some(url), Some(sg)) = (&via_shadow, &shadowed) {
                s_runs.push(through(url, sg.pid(), c).await?);
            }
        }
        let d = median_stats(&d_runs);
        let g = median_stats(&g_runs);
        results.push(serde_json::json!({
            "concurrency": c, "direct": d, "gateway": g,
            "added_p50_us": g.p50_us - d.p50_us, "added_p99_us": g.p99_us - d.p99_us,
            "throughput_ratio": g.rps / d.rps,
        }));
        if !s_runs.is_empty() {
            let s = median_stats(&s_runs);
            shadow_results.push(serde_json::json!({
                "concurrency": c, "direct": d, "gateway": g, "shadowed": s,
                "added_p50_us": g.p50_us - d.p50_us, "shadowed_added_p50_us": s.p50_us - d.p50_us,
                "added_p99_us": g.p99_us - d.p99_us, "shadowed_added_p99_us": s.p99_us - d.p99_us,
                "shadowed_rps_ratio": s.rps / g.rps,
            }));
        }
    }

    println!("| concurrency | direct p50 | direct p99 | direct req/s | gateway p50 | gateway p99 | gateway req/s | added p50 | added p99 | gateway CPU/request |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in &results {
        let f = |p: &str| r.pointer(p).and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
        println!(
            "| {} | {:.0} µs | {:.0} µs | {:.0} | {:.0} µs | {:.0} µs | {:.0} | {:.0} µs | {:.0} µs | {:.0} µs |",
            r["concurrency"], f("/direct/p50_us"), f("/direct/p99_us"), f("/direct/rps"),
            f("/gateway/p50_us"), f("/gateway/p99_us"), f("/gateway/rps"), f("/added_p50_us"), f("/added_p99_us"),
            f("/gateway/cpu_us_per_req"),
        );
    }
    if let Some(sg) = &shadowed {
        // What the shadowed gateway did meanwhile: judged, skipped, written.
        let text = reqwest::get(sg.metrics_url()).await?.text().await?;
        eprintln!("shadowed gateway's quality counters:");
        for l in text.lines().filter(|l| {
            [
                "sluice_shadow_requests_total",
                "sluice_shadow_skipped_total",
                "sluice_outcome_writes_total",
            ]
            .iter()
            .any(|m| l.starts_with(m))
        }) {
            eprintln!("  {l}");
        }
    }
    if let Some(rate) = args.shadow {
        println!("\nShadow judging at rate {rate} with a SQLite outcome store, against the same gateway without (same run):\n");
        println!("| concurrency | added p50 off | added p50 on | added p99 off | added p99 on | req/s off | req/s on | throughput on/off | CPU/request off | CPU/request on |");
        println!("|---|---|---|---|---|---|---|---|---|---|");
        for r in &shadow_results {
            let f = |p: &str| r.pointer(p).and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
            println!(
                "| {} | {:.0} µs | {:.0} µs | {:.0} µs | {:.0} µs | {:.0} | {:.0} | {:.3} | {:.0} µs | {:.0} µs |",
                r["concurrency"], f("/added_p50_us"), f("/shadowed_added_p50_us"), f("/added_p99_us"),
                f("/shadowed_added_p99_us"), f("/gateway/rps"), f("/shadowed/rps"), f("/shadowed_rps_ratio"),
                f("/gateway/cpu_us_per_req"), f("/shadowed/cpu_us_per_req"),
            );
        }
    }
    if args.cache {
        println!("\nResponse cache: routed misses (a new prompt each) against hits (the same prompt), same gateway, same run:\n");
        println!("| concurrency | miss p50 | hit p50 | miss req/s | hit req/s | CPU/request miss | CPU/request hit | hit/miss CPU |");
        println!("|---|---|---|---|---|---|---|---|");
        for r in &cache_results {
            let f = |p: &str| r.pointer(p).and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
            println!(
                "| {} | {:.0} µs | {:.0} µs | {:.0} | {:.0} | {:.0} µs | {:.0} µs | {:.3} |",
                r["concurrency"],
                f("/miss/p50_us"),
                f("/hit/p50_us"),
                f("/miss/rps"),
                f("/hit/rps"),
                f("/miss/cpu_us_per_req"),
                f("/hit/cpu_us_per_req"),
                f("/cpu_ratio"),
            );
        }
    }
    if let Some(path) = args.json {
        let all = if shadow_results.is_empty() && cache_results.is_empty() {
            serde_json::json!(results)
        } else {
            serde_json::json!({"gateway": results, "shadow": shadow_results, "cache": cache_results})
        };
        std::fs::write(&path, serde_json::to_vec_pretty(&all)?)?;
    }
    Ok(())
}

/// The median of each figure across rounds.
fn median_stats(runs: &[Stats]) -> Stats {
    let med = |f: fn(&Stats) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Stats {
        p50_us: med(|s| s.p50_us),
        p99_us: med(|s| s.p99_us),
        rps: med(|s| s.rps),
        cpu_us_per_req: med(|s| s.cpu_us_per_req),
    }
}

/// `total` requests over `concurrency` keep-alive connections; every response must be 200.
async fn measure(
    url: &str,
    body: &Bytes,
    concurrency: usize,
    total: usize,
) -> anyhow::Result<Stats> {
    let body = body.clone();
    measure_each(url, Arc::new(move |_| body.clone()), concurrency, total).await
}

/// As [`measure`], with the `i`th request's body made by `body(i)`.
async fn measure_each(
    url: &str,
    body: Arc<dyn Fn(usize) -> Bytes + Send + Sync>,
    concurrency: usize,
    total: usize,
) -> anyhow::Result<Stats> {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(concurrency)
        .build_http();
    let uri: hyper::Uri = url.parse()?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, uri, body, next) = (client.clone(), uri.clone(), body.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let req = hyper::Request::post(uri.clone())
                    .header("content-type", "application/json")
                    .body(Full::new(body(i)))?;
                let t = Instant::now();
                let resp = client.request(req).await?;
                let status = resp.status();
                resp.into_body().collect().await?;
                lat.push(t.elapsed());
                anyhow::ensure!(status == 200, "status {status}");
            }
            anyhow::Ok(lat)
        }));
    }
    let mut all: Vec<Duration> = Vec::with_capacity(total);
    for t in tasks {
        all.extend(t.await??);
    }
    let elapsed = started.elapsed();
    all.sort();
    let pct =
        |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1e6;
    Ok(Stats {
        p50_us: pct(0.50),
        p99_us: pct(0.99),
        rps: all.len() as f64 / elapsed.as_secs_f64(),
        cpu_us_per_req: 0.0,
    })
}

/// Nanoseconds of CPU the process has used, summed over its threads (Linux schedstat).
fn cpu_ns(pid: Option<u32>) -> u64 {
    let Some(pid) = pid else { return 0 };
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| {
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}
