//! Generation with a KV cache: one prefill run over the prompt, then one token per step,
//! feeding each step's `present.*` outputs back as the next `past_key_values.*` (owned
//! values moved from the outputs: no copies).

use std::borrow::Cow;
use std::path::Path;

use ort::session::{Session, SessionInputValue};
use ort::value::{DynValue, Tensor};
use tokenizers::Tokenizer;

use crate::detok::Detokenizer;
use crate::model::{model_file, open_session, DecoderInfo};
use crate::sampler::{Sampler, SamplingParams};
use crate::template::ChatTemplate;
use crate::{infer_err, LocalError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// EOS or a stop sequence.
    Stop,
    /// `max_tokens` or the context window.
    Length,
    /// The caller stopped reading (client gone).
    Cancelled,
}

impl FinishReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone)]
pub struct GenRequest {
    pub prompt_ids: Vec<u32>,
    pub max_tokens: usize,
    pub sampling: SamplingParams,
    pub stop: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct GenOutput {
    pub text: String,
    pub token_ids: Vec<u32>,
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    pub finish_reason: FinishReason,
}

/// A loaded decoder with its tokenizer and chat template. Runs one sequence at a time
/// (`&mut self`): the scheduler owns one per worker thread.
pub struct Generator {
    session: Session,
    pub info: DecoderInfo,
    pub tokenizer: Tokenizer,
    pub template: ChatTemplate,
}

impl Generator {
    pub fn load(dir: &Path, variant: &str, intra_threads: usize) -> Result<Generator, LocalError> {
        let file = model_file(dir, variant)?;
        let session = open_session(&file, intra_threads)?;
        let info = DecoderInfo::read(dir, &session, file)?;
        let tok_path = dir.join("tokenizer.json");
        let tokenizer = Tokenizer::from_file(&tok_path).map_err(|e| LocalError::Load {
            file: tok_path.display().to_string(),
            message: e.to_string(),
        })?;
        let template = ChatTemplate::from_model_dir(dir)?;
        Ok(Generator {
            session,
            info,
            tokenizer,
            template,
        })
    }

    /// Token ids of a rendered prompt. Special tokens in the text (`<|im_start|>`) map to
    /// their ids; no extra BOS is added (templates write it themselves).
    pub fn encode(&self, prompt: &str) -> Result<Vec<u32>, LocalError> {
        Ok(self
            .tokenizer
            .encode(prompt, false)
            .map_err(infer_err)?
            .get_ids()
            .to_vec())
    }

    fn empty_past(&self) -> Result<Vec<DynValue>, LocalError> {
        let shape = [
            1i64,
            self.info.num_kv_heads as i64,
            0,
            self.info.head_dim as i64,
        ];
        (0..self.info.num_layers * 2)
            .map(|_| {
                Tensor::from_array((shape, Vec::<f32>::new()))
                    .map(|t| t.into_dyn())
                    .map_err(infer_err)
            })
            .collect()
    }

    /// Generates, calling `on_text` with each piece of text as soon as it is final (never
    /// broken UTF-8, never part of a stop sequence). `on_text` returning `false` cancels.
    pub fn generate(
        &mut self,
        req: &GenRequest,
        mut on_text: impl FnMut(&str) -> bool,
    ) -> Result<GenOutput, LocalError> {
        let n = req.prompt_ids.len();
        let ctx = self.info.context_window;
        if n == 0 || n >= ctx {
            return Err(LocalError::Inference(format!(
                "prompt has {n} tokens; this model's context window is {ctx}"
            )));
        }
        let max_new = req.max_tokens.min(ctx - n);
        let mut sampler = Sampler::new(req.sampling.clone(), &req.prompt_ids, self.info.vocab_size);
        let mut detok = Detokenizer::new();
        let mut past = self.empty_past()?;
        let mut step_ids: Vec<i64> = req.prompt_ids.iter().map(|&t| i64::from(t)).collect();
        let mut total = n;
        let mut generated: Vec<u32> = Vec::new();
        let mut text = String::new();
        let mut emitted = 0usize;
        let stop_max = req.stop.iter().map(String::len).max().unwrap_or(0);
        let mut stopped_by_sequence = false;

        let finish = loop {
            let len = step_ids.len();
            let start = total - len;
            let mut inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = vec![
                (
                    "input_ids".into(),
                    Tensor::from_array(([1, len as i64], step_ids.clone()))
                        .map_err(infer_err)?
                        .into(),
                ),
                (
                    "attention_mask".into(),
                    Tensor::from_array(([1, total as i64], vec![1i64; total]))
                        .map_err(infer_err)?
                        .into(),
                ),
            ];
            if self.info.has_position_ids {
                let pos: Vec<i64> = (start as i64..total as i64).collect();
                inputs.push((
                    "position_ids".into(),
                    Tensor::from_array(([1, len as i64], pos))
                        .map_err(infer_err)?
                        .into(),
                ));
            }
            for (i, v) in past.drain(..).enumerate() {
                let name = format!(
                    "past_key_values.{}.{}",
                    i / 2,
                    if i % 2 == 0 { "key" } else { "value" }
                );
                inputs.push((name.into(), v.into()));
            }
            let mut outputs = self.session.run(inputs).map_err(infer_err)?;
            let (shape, data) = outputs["logits"]
                .try_extract_tensor::<f32>()
                .map_err(infer_err)?;
            let vocab = *shape.last().unwrap_or(&0) as usize;
            let mut logits = data[data.len() - vocab..].to_vec();
            for l in 0..self.info.num_layers {
                for kind in ["key", "value"] {
                    let v = outputs
                        .remove(format!("present.{l}.{kind}"))
                        .ok_or_else(|| {
                            LocalError::Inference(format!("no output present.{l}.{kind}"))
                        })?;
                    past.push(v);
                }
            }
            drop(outputs);

            let tok = sampler.next(&mut logits);
            if self.info.eos_ids.contains(&tok) {
                break FinishReason::Stop;
            }
            generated.push(tok);
            text.push_str(&detok.push(&self.tokenizer, tok)?);
            if let Some(cut) = find_stop(&text, &req.stop, emitted.saturating_sub(stop_max)) {
                text.truncate(cut);
                if cut > emitted && !on_text(&text[emitted..]) {
                    break FinishReason::Cancelled;
                }
                emitted = text.len();
                stopped_by_sequence = true;
                break FinishReason::Stop;
            }
            let safe = text.len() - held_back(&text, &req.stop);
            if safe > emitted {
                if !on_text(&text[emitted..safe]) {
                    break FinishReason::Cancelled;
                }
                emitted = safe;
            }
            if generated.len() >= max_new {
                break FinishReason::Length;
            }
            step_ids = vec![i64::from(tok)];
            total += 1;
        };
        if finish != FinishReason::Cancelled && !stopped_by_sequence {
            // No stop sequence matched: release what was held back, and any final bytes.
            text.push_str(&detok.flush(&self.tokenizer)?);
            if text.len() > emitted && on_text(&text[emitted..]) {
                emitted = text.len();
            }
        }
        text.truncate(emitted);
        Ok(GenOutput {
            text,
            prompt_tokens: n,
            completion_tokens: generated.len(),
            token_ids: generated,
            finish_reason: finish,
        })
    }
}

/// Where the first stop sequence starts, searching from byte `from`.
fn find_stop(text: &str, stops: &[String], from: usize) -> Option<usize> {
    let from = (0..=from.min(text.len()))
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    stops
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text[from..].find(s.as_str()).map(|i| from + i))
        .min()
}

/// Bytes at the end of `text` that could still grow into a stop sequence.
fn held_back(text: &str, stops: &[String]) -> usize {
    let mut hold = 0;
    for s in stops {
        for k in (1..s.len()).rev() {
            if k <= hold {
                break;
            }
            if s.is_char_boundary(k) && text.ends_with(&s[..k]) {
                hold = k;
                break;
            }
        }
    }
    hold
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_helpers() {
        let stops = vec!["END".to_string(), "\n\n".to_string()];
        assert_eq!(find_stop("abc END x", &stops, 0), Some(4));
        assert_eq!(find_stop("a\n\nb END", &stops, 0), Some(1));
        assert_eq!(find_stop("abc EN", &stops, 0), None);
        assert_eq!(held_back("abc EN", &stops), 2);
        assert_eq!(held_back("abc\n", &stops), 1);
        assert_eq!(held_back("abc", &stops), 0);
        assert_eq!(held_back("héllo wor", &["é".to_string()]), 0);
    }
}
