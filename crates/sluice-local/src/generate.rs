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
use crate::signals::{log_prob, step_stats, Signals, Summary};
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
    /// Record [`Signals`] (the model's confidence in its own tokens); `None` costs nothing.
    pub signals: Option<SignalOptions>,
}

/// What to record about the model's confidence, for a cascade's decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignalOptions {
    /// Score the prompt's last `prompt_window` tokens (its log-likelihood under the model).
    /// The prefill then computes the output layer for that many more positions: keep it
    /// small (32 costs a few milliseconds on a 135M model).
    pub prompt_window: usize,
    /// Report a [`Summary`] once this many tokens are generated (1 = right after the
    /// prefill), or at the end if the sequence stops sooner.
    pub checkpoint: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct GenOutput {
    pub text: String,
    pub token_ids: Vec<u32>,
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    pub finish_reason: FinishReason,
    /// Present when the request asked for signals.
    pub signals: Option<Signals>,
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
        keep: usize,
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
                Tensor::from_array(([1i64], vec![keep.clamp(1, len) as i64]))
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
            let keep = if len > 1 { seq.prompt_keep() } else { 1 };
            let (mut logits, presents) = self.forward(
                1,
                step_ids.clone(),
                vec![1i64; total],
                positions,
                std::mem::take(&mut past),
                keep,
            )?;
            past = presents;
            if len > 1 {
                seq.score_prompt(&logits, &req.prompt_ids[start..])?;
            }
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

/// Counts how many positions per row a [`Logits`] holds, from its shape.
fn positions_of(shape: &[i64], batch: usize, len: usize) -> usize {
    let vocab = shape.last().copied().unwrap_or(1).max(1) as usize;
    len / batch / vocab
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

    /// Row `r`'s logits at each position the model kept (oldest first), read-only.
    pub(crate) fn positions(&self, r: usize) -> Result<Vec<&[f32]>, LocalError> {
        let (shape, data) = self.value.try_extract_tensor::<f32>().map_err(infer_err)?;
        let vocab = shape.last().copied().unwrap_or(0) as usize;
        let per_row = data.len() / self.batch;
        let n = positions_of(shape, self.batch, data.len());
        let row = data
            .get(r * per_row..(r + 1) * per_row)
            .ok_or_else(|| LocalError::Inference(format!("no logits row {r}")))?;
        Ok((0..n).map(|p| &row[p * vocab..(p + 1) * vocab]).collect())
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
    signals: Option<Signals>,
    /// The prompt's distinct token ids, sorted (only when signals are on).
    prompt_set: Vec<u32>,
    options: SignalOptions,
    /// The checkpoint summary was taken (and sent by the caller).
    checkpoint_taken: bool,
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
            signals: req.signals.map(|_| Signals {
                prompt_tokens: n,
                ..Signals::default()
            }),
            options: req.signals.unwrap_or_default(),
            prompt_set: if req.signals.is_some() {
                let mut v = req.prompt_ids.clone();
                v.sort_unstable();
                v.dedup();
                v
            } else {
                Vec::new()
            },
            checkpoint_taken: false,
        })
    }

    /// Positions whose logits the prefill should keep: the last one, plus the scored
    /// prompt window.
    pub(crate) fn prompt_keep(&self) -> usize {
        if self.signals.is_some() {
            self.options.prompt_window + 1
        } else {
            1
        }
    }

    /// Scores the prompt tokens the prefill's logits predict: with `ids` the tokens the
    /// prefill ran over, the logits at position i (of the last k kept) predict token i + 1.
    pub(crate) fn score_prompt(&mut self, logits: &Logits, ids: &[u32]) -> Result<(), LocalError> {
        let Some(sig) = self.signals.as_mut() else {
            return Ok(());
        };
        let rows = logits.positions(0)?;
        let kept = rows.len().min(ids.len());
        // Kept positions are the last `kept` of `ids`; all but the last predict a prompt token.
        let first = ids.len() - kept;
        let window = self.options.prompt_window;
        for (j, row) in rows[rows.len() - kept..rows.len() - 1].iter().enumerate() {
            let target = ids[first + j + 1];
            if kept - 1 - j > window {
                continue;
            }
            let stats = step_stats(row);
            sig.prompt_logprob_sum += f64::from(log_prob(row, target, &stats).max(-30.0));
            sig.prompt_scored += 1;
        }
        Ok(())
    }

    /// The summary to report now, once: when the checkpoint is reached or the sequence ends.
    pub(crate) fn take_checkpoint(&mut self, done: Option<FinishReason>) -> Option<Summary> {
        let finished = done.is_some();
        let at = self.options.checkpoint?;
        if self.checkpoint_taken {
            return None;
        }
        let sig = self.signals.as_ref()?;
        let n = sig.logprobs.len();
        if n < at && !finished {
            return None;
        }
        let summary = sig.summary(at, done == Some(FinishReason::Stop) && n <= at);
        self.checkpoint_taken = true;
        Some(summary)
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
        let t = match self.signals.as_mut() {
            None => self.sampler.next(logits),
            Some(sig) => {
                let stats = step_stats(logits);
                // Penalties edit the slice: keep the raw logit of whatever gets chosen.
                let raw = self.sampler.edits_logits().then(|| logits.to_vec());
                let t = self.sampler.next(logits);
                let novel = self.prompt_set.binary_search(&t).is_err();
                sig.push(
                    log_prob(raw.as_deref().unwrap_or(logits), t, &stats),
                    &stats,
                    novel,
                );
                t
            }
        };
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
            signals: self.signals,
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
