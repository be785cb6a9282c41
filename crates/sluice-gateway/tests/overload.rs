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
