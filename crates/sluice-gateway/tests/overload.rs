//! Far more concurrent clients than `server.max_concurrency`, against a slow upstream:
//! every request gets an answer or a 503 `overloaded` with `retry-after`, shed requests
//! never reach the upstream, and the shed counter agrees exactly.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;
use sluice_testkit::mock::MockUpstream;

#[tokio::test]
async fn overload_is_shed_with_503_and_nothing_is_lost() {
    let mock = MockUpstream::start().await;
    mock.set_default_script(&["slow:300"]);
    let gw = start(&format!(
        "server: {{ max_concurrency: 4, max_queue_wait: 100ms }}\n\
         providers: {{ up: {{ base_url: {}, max_retries: 0 }} }}\n\
         models: {{ m: {{ provider: up }} }}\n",
        mock.base_url()
    ))
    .await;
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let url = gw.url("/v1/chat/completions");
            tokio::spawn(async move {
                client()
                    .post(url)
                    .json(&chat_body("m", &format!("request {i}")))
                    .send()
                    .await
                    .unwrap()
            })
        })
        .collect();
    let (mut ok, mut shed) = (0, 0);
    for t in tasks {
        let r = t.await.unwrap();
        match r.status().as_u16() {
            200 => ok += 1,
            503 => {
                assert_eq!(r.headers()["retry-after"], "1");
                let e: Value = r.json().await.unwrap();
                assert_eq!(e["error"]["code"], "overloaded", "{e}");
                shed += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(ok + shed, 32);
    assert!(ok >= 4, "{ok} served");
    assert!(shed >= 1, "nothing was shed");
    // Only admitted requests reached the upstream, and every shed one was counted.
    assert_eq!(mock.requests().len(), ok);
    assert_eq!(
        await_metric(&gw, "sluice_load_shed_total").await,
        Some(shed as f64)
    );
    // Probes answer whatever the load.
    assert_eq!(
        client()
            .get(gw.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

/// The gateway's resident memory, from /proc (Linux).
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// Waves of clients at once, each with a 256 KiB prompt, against `max_concurrency: 4` and
/// a slow upstream: every client gets its answer or a 503, and the gateway's memory does not
/// grow with the load offered. A wave of 256 clients (64 MiB of prompts) leaves the peak
/// where a wave of 32 (8 MiB) put it, give or take what the allocator keeps: requests that
/// wait for a slot have not had their bodies read.
#[tokio::test]
async fn memory_stays_bounded_under_overload() {
    let mock = MockUpstream::start().await;
    mock.set_default_script(&["slow:200"]);
    let gw = start(&format!(
        "server: {{ max_concurrency: 4, max_queue_wait: 300ms, max_body_bytes: 1000000, max_message_bytes: 1000000 }}\n\
         providers: {{ up: {{ base_url: {}, max_retries: 0 }} }}\n\
         models: {{ m: {{ provider: up }} }}\n",
        mock.base_url()
    ))
    .await;
    let pid = gw.pid().unwrap();
    let before = rss_bytes(pid);
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(before));
    let watch = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_bytes(pid), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        })
    };
    let prompt = "x".repeat(256 * 1024);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let wave = |n: usize| {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let (client, url, body) = (
                    client.clone(),
                    gw.url("/v1/chat/completions"),
                    chat_body("m", &prompt),
                );
                tokio::spawn(
                    async move { client.post(url).json(&body).send().await.unwrap().status() },
                )
            })
            .collect();
        async move {
            for t in tasks {
                let status = t.await.unwrap().as_u16();
                assert!(status == 200 || status == 503, "status {status}");
            }
        }
    };
    let mib = |b: u64| b / (1024 * 1024);
    wave(32).await;
    let small = peak.load(std::sync::atomic::Ordering::Relaxed) - before;
    wave(256).await;
    watch.abort();
    let large = peak.load(std::sync::atomic::Ordering::Relaxed) - before;
    eprintln!(
        "gateway RSS {} MiB at start; peak +{} MiB after 32 clients, +{} MiB after 256",
        mib(before),
        mib(small),
        mib(large)
    );
    assert!(
        large <= 2 * small + 16 * 1024 * 1024,
        "memory grew with the load: {} MiB after 32 clients, {} MiB after 256",
        mib(small),
        mib(large)
    );
}
