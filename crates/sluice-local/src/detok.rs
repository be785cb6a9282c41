//! Incremental detokenisation.
//!
//! Byte-level BPE tokens can split a UTF-8 character; decoding each token alone would emit
//! broken text. Like text-generation-inference, this decodes a small window of recent ids
//! twice — with and without the newest — and emits only the difference, and only once it no
//! longer ends in an incomplete character (U+FFFD).
//!
//! Byte-level BPE tokenizers (GPT-2, SmolLM2, Qwen2, Llama 3) get a faster exact path: each
//! token's bytes are looked up in a table built once per model, appended, and the longest
//! valid UTF-8 prefix is emitted. Two full decodes per token cost more than a small model's
//! whole decode step.

use std::sync::Arc;

use tokenizers::decoders::DecoderWrapper;
use tokenizers::Tokenizer;

use crate::{infer_err, LocalError};

/// Each token id's bytes, for tokenizers whose decoder is exactly `ByteLevel`.
#[derive(Debug)]
pub struct ByteTable {
    bytes: Vec<Box<[u8]>>,
}

/// GPT-2's byte ↔ printable character mapping, inverted: char → byte.
fn char_to_byte() -> std::collections::HashMap<char, u8> {
    let mut map = std::collections::HashMap::with_capacity(256);
    let mut extra = 0u32;
    for b in 0u32..=255 {
        let printable =
            (33..=126).contains(&b) || (161..=172).contains(&b) || (174..=255).contains(&b);
        let c = if printable {
            b
        } else {
            extra += 1;
            255 + extra
        };
        if let Some(ch) = char::from_u32(c) {
            map.insert(ch, b as u8);
        }
    }
    map
}

impl ByteTable {
    /// `None` unless the tokenizer decodes with `ByteLevel` alone (then this table is
    /// exactly what its decoder does to each token: mapped bytes, or the token's own bytes
    /// when one of its characters is outside the mapping).
    pub fn build(tok: &Tokenizer) -> Option<Arc<ByteTable>> {
        if !matches!(tok.get_decoder(), Some(DecoderWrapper::ByteLevel(_))) {
            return None;
        }
        let map = char_to_byte();
        let n = tok.get_vocab_size(true);
        let mut bytes = Vec::with_capacity(n);
        for id in 0..n as u32 {
            let s = tok.id_to_token(id).unwrap_or_default();
            let mapped: Option<Vec<u8>> = s.chars().map(|c| map.get(&c).copied()).collect();
            bytes.push(
                mapped
                    .unwrap_or_else(|| s.as_bytes().to_vec())
                    .into_boxed_slice(),
            );
        }
        Some(Arc::new(ByteTable { bytes }))
    }
}

#[derive(Debug, Default)]
pub struct Detokenizer {
    ids: Vec<u32>,
    /// Start of the window whose decoding is already emitted up to `read`.
    prefix: usize,
    read: usize,
    table: Option<Arc<ByteTable>>,
    /// Byte path: bytes not yet emitted (an incomplete character).
    pending: Vec<u8>,
}

impl Detokenizer {
    pub fn new() -> Detokenizer {
        Detokenizer::default()
    }

    /// Uses the byte table when there is one.
    pub fn with_table(table: Option<Arc<ByteTable>>) -> Detokenizer {
        Detokenizer {
            table,
            ..Detokenizer::default()
        }
    }

    /// Adds a token; returns the text it completes (possibly empty).
    pub fn push(&mut self, tok: &Tokenizer, id: u32) -> Result<String, LocalError> {
        if let Some(t) = &self.table {
            // Ids past the tokenizer's vocabulary (padded embedding rows) decode to nothing.
            if let Some(b) = t.bytes.get(id as usize) {
                self.pending.extend_from_slice(b);
            }
            let mut out = String::new();
            loop {
                match std::str::from_utf8(&self.pending) {
                    Ok(s) => {
                        out.push_str(s);
                        self.pending.clear();
                        break;
                    }
                    Err(e) => {
                        let valid = e.valid_up_to();
                        out.push_str(&String::from_utf8_lossy(&self.pending[..valid]));
                        match e.error_len() {
                            // Bytes that can never form a character: U+FFFD, as the
                            // decoder's lossy conversion writes them; then go on.
                            Some(n) => {
                                out.push('\u{FFFD}');
                                self.pending.drain(..valid + n);
                            }
                            // An incomplete character at the end waits for more bytes.
                            None => {
                                self.pending.drain(..valid);
                                break;
                            }
                        }
                    }
                }
            }
            return Ok(out);
        }
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
        if self.table.is_some() {
            let out = String::from_utf8_lossy(&self.pending).into_owned();
            self.pending.clear();
            return Ok(out);
        }
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
