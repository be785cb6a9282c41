//! Local model speed: time to first token and decode tokens/s at 1, 4 and 16 concurrent
//! requests through Sluice's engine (scheduler, sampler, detokenizer, channels), next to a
//! bare ONNX Runtime Python greedy loop on the same model, prompt tokens and thread count,
//! measured in the same run (`scripts/bench_local_baseline.py`).
//!
//! `cargo bench -p sluice-local --bench decode -- [--model DIR] [--variant F]
//!  [--max-tokens N] [--threads T] [--repeats R]` (default: the tiny test model).
//! `scripts/bench-local.sh` runs it for every decoder model in the models folder.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use sluice_local::generate::GenRequest;
use sluice_local::sampler::SamplingParams;
use sluice_local::scheduler::{Engine, EngineOptions, Event};

struct Args {
    model: PathBuf,
    variant: String,
    max_tokens: usize,
    threads: usize,
    repeats: usize,
    /// llama.cpp side by side: the bench venv's Python (with llama-cpp-python) and the GGUF.
    llama_python: Option<PathBuf>,
    gguf: Option<PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        model: sluice_testkit::env::models_dir().join("tiny-random-llama"),
        variant: "model.onnx".into(),
        max_tokens: 128,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        repeats: 5,
        llama_python: None,
        gguf: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().expect("flag value");
        match k.as_str() {
            "--model" => a.model = PathBuf::from(v()),
            "--variant" => a.variant = v(),
            "--max-tokens" => a.max_tokens = v().parse().unwrap(),
            "--threads" => a.threads = v().parse().unwrap(),
            "--repeats" => a.repeats = v().parse().unwrap(),
            "--llama-python" => a.llama_python = Some(PathBuf::from(v())),
            "--gguf" => a.gguf = Some(PathBuf::from(v())),
            _ => {} // cargo bench passes --bench
        }
    }
    a
}

/// One request's timeline.
struct Timing {
    ttft: Duration,
    /// First token → last token.
    decode: Duration,
    tokens: usize,
}

impl Timing {
    fn decode_tps(&self) -> f64 {
        if self.tokens > 1 {
            (self.tokens - 1) as f64 / self.decode.as_secs_f64()
        } else {
            0.0
        }
    }
}

/// Submits `n` identical requests at once; returns each one's timing and the wall time.
fn wave(engine: &Engine, prompt: &[u32], max_tokens: usize, n: usize) -> (Vec<Timing>, Duration) {
    let start = Instant::now();
    let mut rxs: Vec<_> = (0..n)
        .map(|_| {
            engine
                .submit(GenRequest {
                    prompt_ids: prompt.to_vec(),
                    max_tokens,
                    sampling: SamplingParams::default(),
                    stop: Vec::new(),
                    signals: None,
                })
                .expect("admitted")
        })
        .collect();
    // One reader per request, so each event is timed when it is produced, not when a
    // sequential reader gets round to it.
    let readers: Vec<_> = rxs
        .drain(..)
        .map(|mut rx| {
            std::thread::spawn(move || {
                let mut first = None;
                let (tokens, last) = loop {
                    match rx.blocking_recv() {
                        Some(Event::Text { .. }) => {
                            first.get_or_insert_with(Instant::now);
                        }
                        Some(Event::Done(o)) => break (o.completion_tokens, Instant::now()),
                        other => panic!("generation failed: {other:?}"),
                    }
                };
                let first = first.unwrap_or(last);
                Timing {
                    ttft: first - start,
                    decode: last - first,
                    tokens,
                }
            })
        })
        .collect();
    let out: Vec<Timing> = readers.into_iter().map(|h| h.join().unwrap()).collect();
    (out, start.elapsed())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn python_baseline(a: &Args, prompt: &[u32], max_tokens: usize) -> serde_json::Value {
    let root = root();
    let ids: Vec<String> = prompt.iter().map(u32::to_string).collect();
    let out = std::process::Command::new(sluice_testkit::env::venv_python())
        .arg(root.join("scripts/bench_local_baseline.py"))
        .arg("--model")
        .arg(&a.model)
        .args(["--variant", &a.variant])
        .args(["--prompt-ids", &ids.join(",")])
        .args(["--max-tokens", &max_tokens.to_string()])
        .args(["--threads", &a.threads.to_string()])
        .args(["--repeats", &a.repeats.to_string()])
        .output()
        .expect("run the Python baseline");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("baseline JSON")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// llama.cpp on the GGUF, single stream and 1/4/16 concurrent (`scripts/bench_llamacpp.py`).
fn llama_cpp(a: &Args, prompt: &[u32], max_tokens: usize) -> Option<serde_json::Value> {
    let (py, gguf) = (a.llama_python.as_ref()?, a.gguf.as_ref()?);
    let ids: Vec<String> = prompt.iter().map(u32::to_string).collect();
    let out = std::process::Command::new(py)
        .arg(root().join("scripts/bench_llamacpp.py"))
        .arg("--gguf")
        .arg(gguf)
        .args(["--prompt-ids", &ids.join(",")])
        .args(["--max-tokens", &max_tokens.to_string()])
        .args(["--threads", &a.threads.to_string()])
        .args(["--repeats", &a.repeats.to_string()])
        .output()
        .expect("run the llama.cpp bench");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).expect("llama.cpp bench JSON"))
}

/// Memory bandwidth and weights read per token (`scripts/bench_bytes.py`).
fn bytes_report(a: &Args) -> serde_json::Value {
    let file = sluice_local::model::model_file(&a.model, &a.variant).unwrap();
    let mut cmd = std::process::Command::new(sluice_testkit::env::venv_python());
    cmd.arg(root().join("scripts/bench_bytes.py"))
        .arg("--onnx")
        .arg(&file);
    if let Some(g) = &a.gguf {
        cmd.arg("--gguf").arg(g);
    }
    let out = cmd.output().expect("run bench_bytes.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["onnx_file"] = serde_json::json!(file.display().to_string());
    v
}

fn engine(a: &Args, max_batch: usize) -> Engine {
    engine_with_prefix_cache(a, max_batch, 0)
}

fn engine_with_prefix_cache(a: &Args, max_batch: usize, prefix_cache_bytes: usize) -> Engine {
    Engine::start(
        &a.model,
        EngineOptions {
            variant: a.variant.clone(),
            max_batch,
            queue_depth: 64,
            kv_budget_tokens: usize::MAX,
            intra_threads: a.threads,
            prefix_cache_bytes,
            observer: None,
        },
    )
    .expect("load model")
}

fn main() {
    let a = args();
    let single = engine(&a, 1);
    let messages = vec![
        serde_json::json!({"role": "user", "content": "Write a short story about a lighthouse keeper who finds a message in a bottle."}),
    ];
    let rendered = single.template.render(&messages, true, None).unwrap();
    let prompt: Vec<u32> = single
        .tokenizer
        .encode(rendered.as_str(), false)
        .unwrap()
        .get_ids()
        .to_vec();

    // The same number of tokens on both sides: what greedy produces before EOS (or the cap).
    let (probe, _) = wave(&single, &prompt, a.max_tokens, 1);
    let n = probe[0].tokens.max(2);
    println!(
        "model: {} ({}), prompt {} tokens, {} generated tokens, {} intra-op threads, {} repeats",
        a.model.display(),
        a.variant,
        prompt.len(),
        n,
        a.threads,
        a.repeats
    );

    // Single stream, alternating with the baseline so drift on a shared machine hits both.
    let mut py_ttft = Vec::new();
    let mut py_tps = Vec::new();
    let mut rs_ttft = Vec::new();
    let mut rs_tps = Vec::new();
    let mut llama = Vec::new();
    for _ in 0..2 {
        llama.extend(llama_cpp(&a, &prompt, n));
        let py = python_baseline(&a, &prompt, n);
        py_ttft.push(py["ttft_ms"].as_f64().unwrap());
        py_tps.push(py["decode_tps"].as_f64().unwrap());
        let py_tokens = py["tokens"].as_array().map_or(0, Vec::len);
        assert_eq!(py_tokens, n, "baseline and engine generate the same tokens");
        for _ in 0..a.repeats {
            let (t, _) = wave(&single, &prompt, n, 1);
            rs_ttft.push(t[0].ttft.as_secs_f64() * 1000.0);
            rs_tps.push(t[0].decode_tps());
        }
    }
    // The same decoding loop without the scheduler thread and channels, to show where
    // any difference comes from.
    let mut direct = sluice_local::generate::Generator::load(&a.model, &a.variant, a.threads)
        .expect("load model");
    let mut gen_tps = Vec::new();
    for _ in 0..a.repeats * 2 {
        let req = GenRequest {
            prompt_ids: prompt.clone(),
            max_tokens: n,
            sampling: SamplingParams::default(),
            stop: Vec::new(),
            signals: None,
        };
        let mut first = None;
        let out = direct
            .generate(&req, |_| {
                first.get_or_insert_with(Instant::now);
                true
            })
            .unwrap();
        let first = first.unwrap();
        gen_tps.push((out.completion_tokens - 1) as f64 / first.elapsed().as_secs_f64());
    }
    drop(direct);
    let gen_tps = median(gen_tps);
    let (py_ttft, py_tps) = (median(py_ttft), median(py_tps));
    let (rs_ttft, rs_tps) = (median(rs_ttft), median(rs_tps));
    println!();
    println!("| single stream | TTFT (ms) | decode tokens/s |");
    println!("|---|---|---|");
    println!("| bare ORT Python greedy loop | {py_ttft:.2} | {py_tps:.1} |");
    println!("| sluice-local engine | {rs_ttft:.2} | {rs_tps:.1} |");
    println!(
        "| ratio engine / bare | {:.2} | {:.3} |",
        rs_ttft / py_ttft,
        rs_tps / py_tps
    );
    println!(
        "| (Generator alone, no scheduler thread: {gen_tps:.1} tokens/s, {:.3} of bare) | | |",
        gen_tps / py_tps
    );
    let level = |c: &str, k: &str| -> Option<f64> {
        let v: Vec<f64> = llama
            .iter()
            .filter_map(|l| l["levels"][c][k].as_f64())
            .collect();
        (!v.is_empty()).then(|| median(v))
    };
    if let (Some(lt), Some(ld)) = (level("1", "ttft_ms"), level("1", "decode_tps")) {
        println!(
            "| llama.cpp ({}), same GGUF weights | {lt:.2} | {ld:.1} |",
            llama[0]["llama_cpp_version"]
        );
        println!(
            "| ratio engine / llama.cpp | {:.2} | {:.3} |",
            rs_ttft / lt,
            rs_tps / ld
        );
    }
    drop(single);

    // Concurrency: one engine with a batch of up to 16.
    let batched = engine(&a, 16);
    wave(&batched, &prompt, n, 4); // warm-up
    println!();
    println!("| concurrent requests | median TTFT (ms) | per-stream decode tokens/s | aggregate tokens/s | aggregate / single | llama.cpp aggregate tokens/s | engine / llama.cpp |");
    println!("|---|---|---|---|---|---|---|");
    let mut single_agg = 0.0;
    for c in [1usize, 4, 16] {
        let mut ttft = Vec::new();
        let mut per = Vec::new();
        let mut agg = Vec::new();
        for _ in 0..a.repeats {
            let (t, wall) = wave(&batched, &prompt, n, c);
            let total: usize = t.iter().map(|x| x.tokens).sum();
            agg.push(total as f64 / wall.as_secs_f64());
            ttft.extend(t.iter().map(|x| x.ttft.as_secs_f64() * 1000.0));
            per.extend(t.iter().map(Timing::decode_tps));
        }
        let agg = median(agg);
        if c == 1 {
            single_agg = agg;
        }
        let l = level(&c.to_string(), "aggregate_tps");
        println!(
            "| {c} | {:.2} | {:.1} | {agg:.1} | {:.2}x | {} | {} |",
            median(ttft),
            median(per),
            agg / single_agg,
            l.map_or("-".into(), |l| format!("{l:.1}")),
            l.map_or("-".into(), |l| format!("{:.2}", agg / l)),
        );
    }

    drop(batched);

    // Shared prefix: time to first token for a request whose ~500-token system prompt was
    // prefilled before (another question), against the same request cold.
    let system = sluice_testkit::prompts::shop_system_prompt(5);
    let ask = |e: &Engine, q: &str| -> Vec<u32> {
        let m = vec![
            serde_json::json!({"role": "system", "content": system}),
            serde_json::json!({"role": "user", "content": q}),
        ];
        let r = e.template.render(&m, true, None).unwrap();
        e.tokenizer
            .encode(r.as_str(), false)
            .unwrap()
            .get_ids()
            .to_vec()
    };
    let cold = engine(&a, 1);
    let warm = engine_with_prefix_cache(&a, 1, 256 << 20);
    let questions: Vec<String> = (0..a.repeats * 2 + 1)
        .map(|i| {
            format!(
                "Question {i}: do you sell {} screws?",
                ["brass", "steel", "wood", "deck"][i % 4]
            )
        })
        .collect();
    let first = ask(&cold, &questions[0]);
    wave(&warm, &first, 1, 1); // the system prompt is seen once
    let (mut cold_ms, mut warm_ms) = (Vec::new(), Vec::new());
    for q in &questions[1..] {
        let p = ask(&cold, q);
        cold_ms.push(wave(&cold, &p, 1, 1).0[0].ttft.as_secs_f64() * 1000.0);
        warm_ms.push(wave(&warm, &p, 1, 1).0[0].ttft.as_secs_f64() * 1000.0);
    }
    let reused = warm
        .stats
        .prefix_tokens_reused
        .load(std::sync::atomic::Ordering::Relaxed)
        / warm
            .stats
            .prefix_hits
            .load(std::sync::atomic::Ordering::Relaxed)
            .max(1);
    let (c, w) = (median(cold_ms), median(warm_ms));
    println!();
    println!(
        "| shared system prompt ({} prompt tokens, {reused} reused) | TTFT (ms) |",
        first.len()
    );
    println!("|---|---|");
    println!("| cold prefill | {c:.1} |");
    println!("| system prompt seen before (prefix cache) | {w:.1} |");
    println!("| ratio warm / cold | {:.3} |", w / c);
    drop((cold, warm));

    let b = bytes_report(&a);
    let bw = b["bandwidth_bytes_per_s"].as_f64().unwrap();
    println!();
    println!(
        "memory bandwidth (numpy copy, read + write): {:.1} GB/s",
        bw / 1e9
    );
    println!("| weights | file MB | read per token MB | bandwidth-bound tokens/s |");
    println!("|---|---|---|---|");
    let rows: Vec<(String, &serde_json::Value)> = b["onnx"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v))
        .chain(b.get("gguf").map(|g| ("GGUF (llama.cpp)".to_string(), g)))
        .collect();
    for (name, v) in rows {
        let read = v["read_per_token"].as_f64().unwrap();
        println!(
            "| {name} | {:.1} | {:.1} | {:.0} |",
            v["file_bytes"].as_f64().unwrap() / 1e6,
            read / 1e6,
            bw / read
        );
    }
}
