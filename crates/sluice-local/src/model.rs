//! Reading a decoder model folder.

use std::path::{Path, PathBuf};

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use serde_json::Value;

use crate::LocalError;

/// What generation needs to know about a decoder, all from the model's own files.
#[derive(Debug, Clone, PartialEq)]
pub struct DecoderInfo {
    pub model_type: String,
    pub num_layers: usize,
    pub num_kv_heads: usize,
    pub head_dim: usize,
    pub vocab_size: usize,
    /// Longest sequence (prompt + completion) the model takes.
    pub context_window: usize,
    pub eos_ids: Vec<u32>,
    pub bos_id: Option<u32>,
    /// Some exports (GPT-2 style) have no `position_ids` input.
    pub has_position_ids: bool,
    /// The graph takes `logits_to_keep` (transformers' convention: the LM head runs on the
    /// last k positions only, 0 = all), so a prompt costs one head product, not one per token.
    pub has_logits_to_keep: bool,
    /// The ONNX file in use.
    pub model_file: PathBuf,
    pub generation: GenerationDefaults,
}

/// `generation_config.json` defaults, used where a request says nothing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GenerationDefaults {
    pub do_sample: bool,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub top_k: Option<usize>,
    pub repetition_penalty: Option<f32>,
}

fn load_err(file: &Path, message: impl Into<String>) -> LocalError {
    LocalError::Load {
        file: file.display().to_string(),
        message: message.into(),
    }
}

pub fn read_json(path: &Path) -> Result<Value, LocalError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| load_err(path, format!("cannot read: {e}")))?;
    serde_json::from_str(&text).map_err(|e| load_err(path, format!("not valid JSON: {e}")))
}

/// The first of `keys` present as an unsigned integer.
fn usize_field(cfg: &Value, file: &Path, keys: &[&str]) -> Result<Option<usize>, LocalError> {
    for k in keys {
        match cfg.get(*k) {
            None | Some(Value::Null) => continue,
            Some(v) => {
                return v.as_u64().map(|n| Some(n as usize)).ok_or_else(|| {
                    load_err(
                        file,
                        format!("field '{k}' must be a non-negative integer, got {v}"),
                    )
                })
            }
        }
    }
    Ok(None)
}

fn ids(v: Option<&Value>) -> Vec<u32> {
    match v {
        Some(Value::Number(n)) => n.as_u64().map(|n| vec![n as u32]).unwrap_or_default(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_u64().map(|n| n as u32))
            .collect(),
        _ => Vec::new(),
    }
}

/// The ONNX file: `variant` at the folder root or under `onnx/`.
pub fn model_file(dir: &Path, variant: &str) -> Result<PathBuf, LocalError> {
    sluice_router::embedding::find_model_file(dir, variant)
        .map_err(|e| load_err(&dir.join(variant), e.to_string()))
}

impl DecoderInfo {
    /// Reads `config.json` and `generation_config.json` and checks them against the ONNX
    /// model's inputs and outputs.
    pub fn read(
        dir: &Path,
        session: &Session,
        model_file: PathBuf,
    ) -> Result<DecoderInfo, LocalError> {
        let cfg_path = dir.join("config.json");
        let cfg = read_json(&cfg_path)?;
        let model_type = cfg
            .get("model_type")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned();
        let need = |keys: &[&str]| -> Result<usize, LocalError> {
            usize_field(&cfg, &cfg_path, keys)?.ok_or_else(|| {
                load_err(
                    &cfg_path,
                    format!("missing field '{}'", keys.join("' or '")),
                )
            })
        };
        let num_layers = need(&["num_hidden_layers", "n_layer", "num_layers"])?;
        let heads = need(&["num_attention_heads", "n_head"])?;
        let num_kv_heads = usize_field(
            &cfg,
            &cfg_path,
            &["num_key_value_heads", "multi_query_group_num"],
        )?
        .unwrap_or(heads);
        let hidden = need(&["hidden_size", "n_embd", "d_model"])?;
        let head_dim =
            usize_field(&cfg, &cfg_path, &["head_dim"])?.unwrap_or(hidden / heads.max(1));
        let vocab_size = need(&["vocab_size"])?;
        let context_window = need(&["max_position_embeddings", "n_positions", "seq_length"])?;

        let gen_path = dir.join("generation_config.json");
        let gen = if gen_path.is_file() {
            read_json(&gen_path)?
        } else {
            Value::Null
        };
        let mut eos_ids = ids(gen.get("eos_token_id"));
        if eos_ids.is_empty() {
            eos_ids = ids(cfg.get("eos_token_id"));
        }
        if eos_ids.is_empty() {
            return Err(load_err(
                &cfg_path,
                "no 'eos_token_id' here or in generation_config.json: generation could never stop",
            ));
        }
        let bos_id = ids(gen.get("bos_token_id"))
            .first()
            .copied()
            .or_else(|| ids(cfg.get("bos_token_id")).first().copied());
        let generation = GenerationDefaults {
            do_sample: gen
                .get("do_sample")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            temperature: gen
                .get("temperature")
                .and_then(Value::as_f64)
                .map(|v| v as f32),
            top_p: gen.get("top_p").and_then(Value::as_f64).map(|v| v as f32),
            top_k: gen.get("top_k").and_then(Value::as_u64).map(|v| v as usize),
            repetition_penalty: gen
                .get("repetition_penalty")
                .and_then(Value::as_f64)
                .map(|v| v as f32),
        };

        // The ONNX interface must be the Optimum decoder-with-past layout.
        let inputs: Vec<String> = session
            .inputs()
            .iter()
            .map(|i| i.name().to_owned())
            .collect();
        let outputs: Vec<String> = session
            .outputs()
            .iter()
            .map(|o| o.name().to_owned())
            .collect();
        let mf = &model_file;
        for required in ["input_ids", "attention_mask"] {
            if !inputs.iter().any(|n| n == required) {
                return Err(load_err(
                    mf,
                    format!("no '{required}' input (inputs: {inputs:?})"),
                ));
            }
        }
        if !outputs.iter().any(|n| n == "logits") {
            return Err(load_err(
                mf,
                format!("no 'logits' output (outputs: {outputs:?})"),
            ));
        }
        for l in 0..num_layers {
            for kind in ["key", "value"] {
                let past = format!("past_key_values.{l}.{kind}");
                let present = format!("present.{l}.{kind}");
                if !inputs.contains(&past) || !outputs.contains(&present) {
                    return Err(load_err(
                        mf,
                        format!(
                            "config.json says {num_layers} layers but the model lacks '{past}' / '{present}' \
                             (export it with past key values, e.g. optimum-cli --task text-generation-with-past)"
                        ),
                    ));
                }
            }
        }
        // KV and logits dtypes: only fp32 activations for now (weights may be int8/int4).
        for o in session
            .inputs()
            .iter()
            .filter(|i| i.name().starts_with("past_key_values."))
            .take(1)
        {
            let t = format!("{:?}", o.dtype());
            if !t.contains("Float32") {
                return Err(load_err(
                    mf,
                    format!(
                        "input '{}' has type {t}; only float32 KV caches are supported",
                        o.name()
                    ),
                ));
            }
        }
        Ok(DecoderInfo {
            model_type,
            num_layers,
            num_kv_heads,
            head_dim,
            vocab_size,
            context_window,
            eos_ids,
            bos_id,
            has_position_ids: inputs.iter().any(|n| n == "position_ids"),
            has_logits_to_keep: inputs.iter().any(|n| n == "logits_to_keep"),
            model_file,
            generation,
        })
    }
}

/// Opens an ONNX Runtime session for a decoder file.
pub fn open_session(file: &Path, intra_threads: usize) -> Result<Session, LocalError> {
    let env = sluice_router::runtime::environment().map_err(|e| load_err(file, e.to_string()))?;
    Session::builder(&env)
        .map_err(|e| load_err(file, e.to_string()))?
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .map_err(|e| load_err(file, e.to_string()))?
        .with_intra_threads(intra_threads.max(1))
        .map_err(|e| load_err(file, e.to_string()))?
        .commit_from_file(file)
        .map_err(|e| load_err(file, e.to_string()))
}
