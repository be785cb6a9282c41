//! Generation with a KV cache: one prefill run over the prompt, then one token per step,
//! feeding each step's `present.*` outputs back as the next `past_key_values.*` (owned
//! values moved from the outputs: no copies).

use std::borrow::Cow;
use std::path::Path;

use ort::session::{Session, SessionInputValue};
use ort::value::{DynValue, Tensor};
use tokenizers::Tokenizer;

use crate::detok::{ByteTable, Detokenizer};
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
    pub(crate) session: Session,
    pub info: DecoderInfo,
    pub tokenizer: Tokenizer,
    pub template: ChatTemplate,
    pub(crate) byte_table: Option<std::sync::Arc<ByteTable>>,
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
        let byte_table = ByteTable::build(&tokenizer);
        Ok(Generator {
            session,
            info,
            tokenizer,
            template,
            byte_table,
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

    pub(crate) fn empty_past(&self) -> Result<Vec<DynValue>, LocalError> {
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

    /// One forward pass over `batch` rows of `ids` (`[batch, len]`), with the attention mask
    /// (`[batch, total]`, past + current), positions (`[batch, len]`) and the past KV.
    /// Returns each row's logits at its last position and the `present.*` values (owned, to
    /// feed back as the next past).
    pub(crate) fn forward(
        &mut self,
        batch: usize,
        ids: Vec<i64>,
        mask: Vec<i64>,
        positions: Vec<i64>,
        past: Vec<DynValue>,
    ) -> Result<(Logits, Vec<DynValue>), LocalError> {
        let len = ids.len() / batch;
        let total = mask.len() / batch;
        let (b, l, t) = (batch as i64, len as i64, total as i64);
        let mut inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = vec![
            (
                "input_ids".into(),
                Tensor::from_array(([b, l], ids)).map_err(infer_err)?.into(),
            ),
            (
                "attention_mask".into(),
                Tensor::from_array(([b, t], mask))
                    .map_err(infer_err)?
                    .into(),
            ),
        ];
        if self.info.has_position_ids {
            inputs.push((
                "position_ids".into(),
                Tensor::from_array(([b, l], positions))
                    .map_err(infer_err)?
                    .into(),
            ));
        }
        if self.info.has_logits_to_keep {
            inputs.push((
                "logits_to_keep".into(),
                Tensor::from_array(([1i64], vec![1i64]))
                    .map_err(infer_err)?
                    .into(),
            ));
        }
        for (i, v) in past.into_iter().enumerate() {
            inputs.push((past_name(i).into(), v.into()));
        }
        let mut outputs = self.session.run(inputs).map_err(infer_err)?;
        let value = outputs
            .remove("logits")
            .ok_or_else(|| LocalError::Inference("no output logits".into()))?;
        let logits = Logits::new(value, batch)?;
        let mut presents = Vec::with_capacity(self.info.num_layers * 2);
        for i in 0..self.info.num_layers * 2 {
            let name = present_name(i);
            presents.push(
                outputs
                    .remove(&name)
                    .ok_or_else(|| LocalError::Inference(format!("no output {name}")))?,
            );
        }
        Ok((logits, presents))
    }

    /// Generates, calling `on_text` with each piece of text as soon as it is final (never
    /// broken UTF-8, never part of a stop sequence). `on_text` returning `false` cancels.
    pub fn generate(
        &mut self,
        req: &GenRequest,
        mut on_text: impl FnMut(&str) -> bool,
    ) -> Result<GenOutput, LocalError> {
        let n = req.prompt_ids.len();
        let mut seq = SeqState::new(req, &self.info, self.byte_table.clone())?;
        let mut past = self.empty_past()?;
        let mut step_ids: Vec<i64> = req.prompt_ids.iter().map(|&t| i64::from(t)).collect();
        let mut total = n;
        let finish = loop {
            let len = step_ids.len();
            let start = total - len;
            let positions: Vec<i64> = (start as i64..total as i64).collect();
            let (mut logits, presents) = self.forward(
                1,
                step_ids.clone(),
                vec![1i64; total],
                positions,
                std::mem::take(&mut past),
            )?;
            past = presents;
            if let Some(reason) = seq.step(
                logits.row(0)?,
                &self.tokenizer,
                &self.info.eos_ids,
                &mut on_text,
            )? {
                break reason;
            }
            step_ids = vec![i64::from(seq.last_token())];
            total += 1;
        };
        seq.finish(finish, &self.tokenizer, &mut on_text)
    }
}

/// The `logits` output of one forward pass, read in place: each row's last position is
/// handed to the sampler as a mutable slice (penalties edit it), never copied.
pub(crate) struct Logits {
    value: DynValue,
    batch: usize,
}

impl Logits {
    fn new(value: DynValue, batch: usize) -> Result<Logits, LocalError> {
        let (shape, data) = value.try_extract_tensor::<f32>().map_err(infer_err)?;
        let vocab = shape.last().copied().unwrap_or(0);
        if vocab <= 0
            || batch == 0
            || data.len() % batch != 0
            || data.len() / batch < vocab as usize
        {
            return Err(LocalError::Inference(format!(
                "logits of shape {shape:?} do not fit a batch of {batch}"
            )));
        }
        Ok(Logits { value, batch })
    }

    /// Row `r`'s logits at its last position.
    pub(crate) fn row(&mut self, r: usize) -> Result<&mut [f32], LocalError> {
        let (shape, data) = self
            .value
            .try_extract_tensor_mut::<f32>()
            .map_err(infer_err)?;
        let vocab = shape.last().copied().unwrap_or(0) as usize;
        let per_row = data.len() / self.batch;
        let end = (r + 1) * per_row;
        data.get_mut(end - vocab..end)
            .ok_or_else(|| LocalError::Inference(format!("no logits row {r}")))
    }
}

/// `past_key_values.{layer}.{key|value}` for flat index `i` (two per layer).
pub(crate) fn past_name(i: usize) -> String {
    format!(
        "past_key_values.{}.{}",
        i / 2,
        if i.is_multiple_of(2) { "key" } else { "value" }
    )
}

pub(crate) fn present_name(i: usize) -> String {
    format!(
        "present.{}.{}",
        i / 2,
        if i.is_multiple_of(2) { "key" } else { "value" }
    )
}

/// One sequence's decoding state, shared by the single-sequence path and the batching
/// scheduler: sampling, detokenisation, stop sequences, limits.
pub(crate) struct SeqState {
    sampler: Sampler,
    detok: Detokenizer,
    text: String,
    emitted: usize,
    generated: Vec<u32>,
    stop: Vec<String>,
    stop_max: usize,
    max_new: usize,
    prompt_tokens: usize,
    stopped_by_sequence: bool,
}

impl SeqState {
    pub(crate) fn new(
        req: &GenRequest,
        info: &DecoderInfo,
        bytes: Option<std::sync::Arc<ByteTable>>,
    ) -> Result<SeqState, LocalError> {
        let n = req.prompt_ids.len();
        let ctx = info.context_window;
        if n == 0 || n >= ctx {
            return Err(LocalError::Inference(format!(
                "prompt has {n} tokens; this model's context window is {ctx}"
            )));
        }
        Ok(SeqState {
            sampler: Sampler::new(req.sampling.clone(), &req.prompt_ids, info.vocab_size),
            detok: Detokenizer::with_table(bytes),
            text: String::new(),
            emitted: 0,
            generated: Vec::new(),
            stop_max: req.stop.iter().map(String::len).max().unwrap_or(0),
            stop: req.stop.clone(),
            max_new: req.max_tokens.min(ctx - n),
            prompt_tokens: n,
            stopped_by_sequence: false,
        })
    }

    pub(crate) fn last_token(&self) -> u32 {
        self.generated.last().copied().unwrap_or(0)
    }

    pub(crate) fn generated_len(&self) -> usize {
        self.generated.len()
    }

    pub(crate) fn len(&self) -> usize {
        self.prompt_tokens + self.generated.len()
    }

    /// Samples from this step's logits and emits what became final; `Some` when done.
    pub(crate) fn step(
        &mut self,
        logits: &mut [f32],
        tok: &Tokenizer,
        eos: &[u32],
        on_text: &mut impl FnMut(&str) -> bool,
    ) -> Result<Option<FinishReason>, LocalError> {
        if self.max_new == 0 {
            return Ok(Some(FinishReason::Length));
        }
        let t = self.sampler.next(logits);
        if eos.contains(&t) {
            return Ok(Some(FinishReason::Stop));
        }
        self.generated.push(t);
        self.text.push_str(&self.detok.push(tok, t)?);
        if let Some(cut) = find_stop(
            &self.text,
            &self.stop,
            self.emitted.saturating_sub(self.stop_max),
        ) {
            self.text.truncate(cut);
            if cut > self.emitted && !on_text(&self.text[self.emitted..]) {
                return Ok(Some(FinishReason::Cancelled));
            }
            self.emitted = self.text.len();
            self.stopped_by_sequence = true;
            return Ok(Some(FinishReason::Stop));
        }
        let safe = self.text.len() - held_back(&self.text, &self.stop);
        if safe > self.emitted {
            if !on_text(&self.text[self.emitted..safe]) {
                return Ok(Some(FinishReason::Cancelled));
            }
            self.emitted = safe;
        }
        Ok((self.generated.len() >= self.max_new).then_some(FinishReason::Length))
    }

    pub(crate) fn finish(
        mut self,
        reason: FinishReason,
        tok: &Tokenizer,
        on_text: &mut impl FnMut(&str) -> bool,
    ) -> Result<GenOutput, LocalError> {
        if reason != FinishReason::Cancelled && !self.stopped_by_sequence {
            // No stop sequence matched: release what was held back, and any final bytes.
            self.text.push_str(&self.detok.flush(tok)?);
            if self.text.len() > self.emitted && on_text(&self.text[self.emitted..]) {
                self.emitted = self.text.len();
            }
        }
        self.text.truncate(self.emitted);
        Ok(GenOutput {
            text: self.text,
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.generated.len(),
            token_ids: self.generated,
            finish_reason: reason,
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
