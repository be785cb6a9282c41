//! Incremental detokenisation.
//!
//! Byte-level BPE tokens can split a UTF-8 character; decoding each token alone would emit
//! broken text. Like text-generation-inference, this decodes a small window of recent ids
//! twice — with and without the newest — and emits only the difference, and only once it no
//! longer ends in an incomplete character (U+FFFD).

use tokenizers::Tokenizer;

use crate::{infer_err, LocalError};

#[derive(Debug, Default)]
pub struct Detokenizer {
    ids: Vec<u32>,
    /// Start of the window whose decoding is already emitted up to `read`.
    prefix: usize,
    read: usize,
}

impl Detokenizer {
    pub fn new() -> Detokenizer {
        Detokenizer::default()
    }

    /// Adds a token; returns the text it completes (possibly empty).
    pub fn push(&mut self, tok: &Tokenizer, id: u32) -> Result<String, LocalError> {
        self.ids.push(id);
        let before = tok
            .decode(&self.ids[self.prefix..self.read], false)
            .map_err(infer_err)?;
        let after = tok
            .decode(&self.ids[self.prefix..], false)
            .map_err(infer_err)?;
        if after.len() > before.len() && !after.ends_with('\u{FFFD}') && after.starts_with(&before)
        {
            let new = after[before.len()..].to_owned();
            self.prefix = self.read;
            self.read = self.ids.len();
            Ok(new)
        } else {
            Ok(String::new())
        }
    }

    /// Whatever is still held back (an incomplete character at the very end).
    pub fn flush(&mut self, tok: &Tokenizer) -> Result<String, LocalError> {
        let before = tok
            .decode(&self.ids[self.prefix..self.read], false)
            .map_err(infer_err)?;
        let after = tok
            .decode(&self.ids[self.prefix..], false)
            .map_err(infer_err)?;
        self.prefix = self.ids.len();
        self.read = self.ids.len();
        Ok(after.get(before.len()..).unwrap_or_default().to_owned())
    }
}
