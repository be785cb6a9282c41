//! The tiny random-weight Llama from the models folder, run for real through ONNX Runtime.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use serde_json::json;
use sluice_local::generate::{FinishReason, GenRequest, Generator};
use sluice_local::sampler::SamplingParams;
use sluice_local::template::ChatTemplate;
use sluice_testkit::env::{models_dir, venv_python};

fn tiny() -> PathBuf {
    models_dir().join("tiny-random-llama")
}

fn load() -> Generator {
    Generator::load(&tiny(), "model.onnx", 1).unwrap()
}

/// From the model README: greedy, 12 steps, computed with ONNX Runtime's Python API.
const PROMPT: &str = "<|im_start|>user\nHello, who are you?<|im_end|>\n<|im_start|>assistant\n";
const REFERENCE: [u32; 12] = [
    43205, 8789, 16639, 17806, 36822, 15276, 23297, 45249, 3390, 30635, 25765, 18778,
];
const REFERENCE_TEXT: &str =
    " JL Policy rewardingParent FoundingrosisPythonRG procedbladderrizes shadows";

fn req(g: &Generator, max_tokens: usize, sampling: SamplingParams, stop: &[&str]) -> GenRequest {
    GenRequest {
        prompt_ids: g.encode(PROMPT).unwrap(),
        max_tokens,
        sampling,
        stop: stop.iter().map(|s| s.to_string()).collect(),
        signals: None,
    }
}

#[test]
fn reads_the_model_from_its_files() {
    let g = load();
    assert_eq!(
        (g.info.num_layers, g.info.num_kv_heads, g.info.head_dim),
        (2, 2, 8)
    );
    assert_eq!(g.info.eos_ids, vec![2]);
    assert_eq!(g.info.context_window, 8192);
    assert!(g.info.has_position_ids);
    assert_eq!(g.encode(PROMPT).unwrap().len(), 15);
}

#[test]
fn greedy_reproduces_the_reference_tokens() {
    let mut g = load();
    let r = req(&g, 12, SamplingParams::default(), &[]);
    let mut pieces = Vec::new();
    let out = g
        .generate(&r, |t| {
            pieces.push(t.to_owned());
            true
        })
        .unwrap();
    assert_eq!(out.token_ids, REFERENCE);
    assert_eq!(out.text, REFERENCE_TEXT);
    assert_eq!(
        pieces.concat(),
        REFERENCE_TEXT,
        "streamed pieces add up to the text"
    );
    assert!(
        pieces.len() >= 10,
        "streamed token by token, got {} pieces",
        pieces.len()
    );
    assert_eq!(
        (out.prompt_tokens, out.completion_tokens, out.finish_reason),
        (15, 12, FinishReason::Length)
    );
}

#[test]
fn seeds_repeat_and_differ() {
    let mut g = load();
    let p = |seed| SamplingParams {
        temperature: 1.0,
        top_p: 0.95,
        seed: Some(seed),
        ..Default::default()
    };
    let a = g.generate(&req(&g, 10, p(7), &[]), |_| true).unwrap();
    let b = g.generate(&req(&g, 10, p(7), &[]), |_| true).unwrap();
    let c = g.generate(&req(&g, 10, p(8), &[]), |_| true).unwrap();
    assert_eq!(a.token_ids, b.token_ids);
    assert_ne!(a.token_ids, c.token_ids);
}

#[test]
fn max_tokens_and_stops_end_exactly() {
    let mut g = load();
    let out = g
        .generate(&req(&g, 3, SamplingParams::default(), &[]), |_| true)
        .unwrap();
    assert_eq!(
        (out.completion_tokens, out.finish_reason),
        (3, FinishReason::Length)
    );
    assert_eq!(out.token_ids, REFERENCE[..3]);

    // "Policy rew" spans the tokens " Policy" and " rewarding".
    let mut pieces = Vec::new();
    let out = g
        .generate(
            &req(&g, 12, SamplingParams::default(), &["Policy rew"]),
            |t| {
                pieces.push(t.to_owned());
                true
            },
        )
        .unwrap();
    assert_eq!(out.text, " JL ");
    assert_eq!(out.finish_reason, FinishReason::Stop);
    assert_eq!(
        pieces.concat(),
        " JL ",
        "nothing of the stop sequence was streamed"
    );
    assert_eq!(
        out.completion_tokens, 3,
        "generation stopped at the token that completed the stop"
    );

    // A stop that never occurs changes nothing.
    let out = g
        .generate(&req(&g, 12, SamplingParams::default(), &["zebra"]), |_| {
            true
        })
        .unwrap();
    assert_eq!(out.text, REFERENCE_TEXT);
}

#[test]
fn cancelling_stops_at_the_next_token() {
    let mut g = load();
    let mut n = 0;
    let out = g
        .generate(&req(&g, 12, SamplingParams::default(), &[]), |_| {
            n += 1;
            n < 3
        })
        .unwrap();
    assert_eq!(out.finish_reason, FinishReason::Cancelled);
    assert!(out.completion_tokens <= 4);
}

/// Renders with Python's jinja2 the way transformers' apply_chat_template does.
fn reference_render(
    template: &str,
    messages: &serde_json::Value,
    add_generation_prompt: bool,
) -> String {
    let script = r#"
import json, sys
from jinja2.sandbox import ImmutableSandboxedEnvironment
spec = json.load(sys.stdin)
def raise_exception(m): raise Exception(m)
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
env.globals["raise_exception"] = raise_exception
t = env.from_string(spec["template"])
sys.stdout.write(t.render(messages=spec["messages"], add_generation_prompt=spec["agp"], bos_token="<|im_start|>", eos_token="<|im_end|>"))
"#;
    let mut child = std::process::Command::new(venv_python())
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            json!({"template": template, "messages": messages, "agp": add_generation_prompt})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn chat_template_renders_like_transformers() {
    let dir = tiny();
    let t = ChatTemplate::from_model_dir(&dir).unwrap();
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("tokenizer_config.json")).unwrap())
            .unwrap();
    let source = cfg["chat_template"].as_str().unwrap();
    let convos = [
        json!([{"role": "user", "content": "Hello, who are you?"}]),
        json!([{"role": "system", "content": "Be terse."}, {"role": "user", "content": "2+2?"}]),
        json!([
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello! how can I help?"},
            {"role": "user", "content": "tell me a joke\nwith two lines"}
        ]),
    ];
    for m in &convos {
        for agp in [true, false] {
            let got = t.render(m.as_array().unwrap(), agp, None).unwrap();
            assert_eq!(
                got,
                reference_render(source, m, agp),
                "conversation {m}, add_generation_prompt {agp}"
            );
        }
    }
    // The default system prompt appears when the conversation has none.
    assert!(t
        .render(convos[0].as_array().unwrap(), true, None)
        .unwrap()
        .starts_with("<|im_start|>system\nYou are a helpful AI assistant named SmolLM"));

    // raise_exception surfaces as a template error.
    let strict = ChatTemplate::new("{% if messages[0].role != 'user' %}{{ raise_exception('first message must be from the user') }}{% endif %}ok".into(), vec![]).unwrap();
    let err = strict
        .render(&[json!({"role": "system", "content": "x"})], true, None)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("first message must be from the user"),
        "{err}"
    );
    // Python string methods work (pycompat), as many hub templates use them.
    let py = ChatTemplate::new("{{ messages[0].content.strip().upper() }}".into(), vec![]).unwrap();
    assert_eq!(
        py.render(&[json!({"role": "user", "content": "  hi "})], false, None)
            .unwrap(),
        "HI"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn unservable_models_fail_naming_file_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    copy_dir(&tiny(), &dir);
    let cfg_path = dir.join("config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cfg_path).unwrap()).unwrap();

    cfg["num_hidden_layers"] = json!(3);
    std::fs::write(&cfg_path, cfg.to_string()).unwrap();
    let err = Generator::load(&dir, "model.onnx", 1)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("model.onnx") && err.contains("past_key_values.2.key"),
        "{err}"
    );

    cfg.as_object_mut().unwrap().remove("num_hidden_layers");
    std::fs::write(&cfg_path, cfg.to_string()).unwrap();
    let err = Generator::load(&dir, "model.onnx", 1)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("config.json") && err.contains("num_hidden_layers"),
        "{err}"
    );

    let err = Generator::load(&tiny(), "model_int4.onnx", 1)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("model_int4.onnx"), "{err}");
}

#[test]
fn byte_table_detokenizer_matches_the_tokenizers_decoder() {
    use rand::{Rng, SeedableRng};
    use sluice_local::detok::{ByteTable, Detokenizer};
    let tok = tokenizers::Tokenizer::from_file(tiny().join("tokenizer.json")).unwrap();
    let table = ByteTable::build(&tok);
    assert!(table.is_some(), "SmolLM2's tokenizer decodes byte-level");
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for round in 0..50 {
        // Random ids, and runs of ids that are single bytes (split characters) on purpose.
        let ids: Vec<u32> = (0..200)
            .map(|_| {
                if round % 2 == 0 {
                    rng.random_range(0..49_152)
                } else {
                    rng.random_range(0..300)
                }
            })
            .collect();
        let mut fast = Detokenizer::with_table(table.clone());
        let mut slow = Detokenizer::new();
        let (mut a, mut b) = (String::new(), String::new());
        for &id in &ids {
            a.push_str(&fast.push(&tok, id).unwrap());
            b.push_str(&slow.push(&tok, id).unwrap());
        }
        a.push_str(&fast.flush(&tok).unwrap());
        b.push_str(&slow.flush(&tok).unwrap());
        let whole = tok.decode(&ids, false).unwrap();
        assert_eq!(a, whole, "round {round}");
        if !whole.contains('\u{FFFD}') {
            assert_eq!(b, whole, "round {round}");
        }
    }
}
