//! Any bytes an upstream can stream, cut into any chunks: the relay never panics, reports
//! the end exactly once, passes the bytes through unchanged unless asked to strip the usage
//! it added, and when stripping emits only whole events.
#![no_main]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use libfuzzer_sys::fuzz_target;
use sluice_upstream::relay::Relay;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Some((&size, body)) = rest.split_first() else {
        return;
    };
    let strip = flags & 1 == 1;
    let size = usize::from(size % 64) + 1;
    let mut chunks: Vec<Bytes> = body.chunks(size).map(Bytes::copy_from_slice).collect();
    if chunks.is_empty() {
        chunks.push(Bytes::new());
    }
    let first = chunks.remove(0);
    let rest = futures_util::stream::iter(chunks.into_iter().map(Ok)).boxed();
    let ends = Arc::new(AtomicUsize::new(0));
    let seen = ends.clone();
    let out = runtime().block_on(async move {
        let relay = Relay::new(first, rest, Duration::from_secs(60), strip, false, move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
        });
        let parts: Vec<_> = relay.collect().await;
        parts
            .into_iter()
            .map(|p| p.expect("the relay yields bytes, never errors"))
            .fold(Vec::new(), |mut acc, b| {
                acc.extend_from_slice(&b);
                acc
            })
    });
    assert_eq!(ends.load(Ordering::SeqCst), 1, "on_end runs exactly once");
    if strip {
        assert!(out.is_empty() || out.ends_with(b"\n\n"), "whole events only");
    } else {
        assert_eq!(out, body, "bytes pass through unchanged");
    }
});
