//! Static token embeddings: a table with one row per vocabulary token, distilled once from
//! the transformer embedder (`scripts/distill_static.py`, model2vec's method: every token
//! run through the model alone, then PCA and frequency weighting). A text's vector is the
//! L2-normalised mean of its tokens' rows: no attention, no session, a few microseconds.
//!
//! The folder holds `config.json` (`"model_type": "sluice-static"`, `dims`),
//! `embeddings.safetensors` (one F32 tensor `embeddings` of shape `[vocab, dims]`) and the
//! source model's `tokenizer.json`. The safetensors header is read here directly: the format
//! is an 8-byte little-endian header length, a JSON header, then the raw data.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tokenizers::Tokenizer;

use crate::RouterError;

fn err(path: &Path, message: impl std::fmt::Display) -> RouterError {
    RouterError::Load {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Whether `dir` holds a static model (its `config.json` says `"model_type": "sluice-static"`).
pub fn is_static(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("config.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v["model_type"] == "sluice-static")
}

/// The embedding table, with the fast tokenizer when the model's tokenizer allows one.
pub struct Table {
    rows: Vec<f32>,
    pub dim: usize,
    pub vocab: usize,
    pub fast: Option<AsciiWordPiece>,
}

impl Table {
    /// Mean of the rows of `ids` (ids outside the table are skipped), L2-normalised.
    pub fn pool(&self, ids: &[u32]) -> Vec<f32> {
        let mut v = vec![0f32; self.dim];
        let mut n = 0usize;
        for &id in ids {
            let id = id as usize;
            if id >= self.vocab {
                continue;
            }
            let row = &self.rows[id * self.dim..(id + 1) * self.dim];
            for (a, x) in v.iter_mut().zip(row) {
                *a += x;
            }
            n += 1;
        }
        if n > 0 {
            crate::embedding::normalize(&mut v);
        }
        v
    }
}

/// An exact fast path of a BERT-uncased WordPiece tokenizer for ASCII text.
///
/// The general tokenizer tracks alignments for every character through normalisation and
/// allocates for every candidate sub-word; for a static model, which only needs the ids,
/// that is most of a decision's cost (about 0.7 µs per token). For ASCII input the BERT
/// pipeline reduces to: drop control characters, lowercase, split on whitespace, isolate
/// punctuation, then greedy longest-match WordPiece — done here on bytes with two hash maps
/// (word-initial pieces and `##` continuations), no allocation per piece. Anything else
/// (non-ASCII text, text spelling out a special token such as `[MASK]`) goes through the
/// general tokenizer. `tests/static_embed.rs` checks both give identical ids.
pub struct AsciiWordPiece {
    first: HashMap<Box<[u8]>, u32>,
    cont: HashMap<Box<[u8]>, u32>,
    unk: u32,
    max_chars: usize,
    /// Literal special-token strings that the general tokenizer matches before normalising.
    specials: Vec<String>,
}

impl AsciiWordPiece {
    /// From a `tokenizer.json` whose pipeline is BERT's uncased one; `None` for any other.
    pub fn from_json(v: &serde_json::Value) -> Option<AsciiWordPiece> {
        let n = &v["normalizer"];
        let bert = n["type"] == "BertNormalizer"
            && n["clean_text"] == true
            && n["lowercase"] == true
            && n["strip_accents"].as_bool() != Some(false)
            && v["pre_tokenizer"]["type"] == "BertPreTokenizer"
            && v["model"]["type"] == "WordPiece";
        if !bert {
            return None;
        }
        let m = &v["model"];
        let prefix = m["continuing_subword_prefix"].as_str().unwrap_or("##");
        let mut first = HashMap::new();
        let mut cont = HashMap::new();
        for (tok, id) in m["vocab"].as_object()? {
            let id = u32::try_from(id.as_u64()?).ok()?;
            match tok.strip_prefix(prefix) {
                Some(rest) if !rest.is_empty() => {
                    cont.insert(rest.as_bytes().into(), id);
                }
                _ => {
                    first.insert(tok.as_bytes().into(), id);
                }
            }
        }
        let unk = *first.get(m["unk_token"].as_str()?.as_bytes())?;
        let specials = v["added_tokens"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t["content"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Some(AsciiWordPiece {
            first,
            cont,
            unk,
            max_chars: m["max_input_chars_per_word"].as_u64().unwrap_or(100) as usize,
            specials,
        })
    }

    /// Appends the ids of `text` to `out`; `false` (and nothing appended) when the text
    /// needs the general tokenizer.
    pub fn encode(&self, text: &str, out: &mut Vec<u32>) -> bool {
        if !text.is_ascii() || self.specials.iter().any(|s| text.contains(s.as_str())) {
            return false;
        }
        let mut word: Vec<u8> = Vec::with_capacity(32);
        for &b in text.as_bytes() {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => self.word(&mut word, out),
                // Control characters are dropped without splitting the word they sit in.
                0..=0x1f | 0x7f => {}
                b if b.is_ascii_punctuation() => {
                    self.word(&mut word, out);
                    word.push(b);
                    self.word(&mut word, out);
                }
                b => word.push(b.to_ascii_lowercase()),
            }
        }
        self.word(&mut word, out);
        true
    }

    /// WordPiece for one pre-tokenised word; empties `word`.
    fn word(&self, word: &mut Vec<u8>, out: &mut Vec<u32>) {
        if word.is_empty() {
            return;
        }
        if word.len() > self.max_chars {
            out.push(self.unk);
            word.clear();
            return;
        }
        let mark = out.len();
        let mut start = 0;
        while start < word.len() {
            let map = if start == 0 { &self.first } else { &self.cont };
            let mut end = word.len();
            let mut found = None;
            while start < end {
                if let Some(&id) = map.get(&word[start..end]) {
                    found = Some(id);
                    break;
                }
                end -= 1;
            }
            match found {
                Some(id) => {
                    out.push(id);
                    start = end;
                }
                None => {
                    out.truncate(mark);
                    out.push(self.unk);
                    break;
                }
            }
        }
        word.clear();
    }
}

/// Reads a static model folder: its tokenizer (truncation and padding off), its table, and
/// the table's path.
pub fn load(dir: &Path) -> Result<(Tokenizer, Table, PathBuf), RouterError> {
    let path = dir.join("embeddings.safetensors");
    let bytes = std::fs::read(&path).map_err(|e| err(&path, e))?;
    let table = parse_safetensors(&bytes, "embeddings").map_err(|m| err(&path, m))?;
    let mut table = table;
    let tok_path = dir.join("tokenizer.json");
    let json: serde_json::Value = std::fs::read(&tok_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| err(&tok_path, "unreadable tokenizer.json"))?;
    table.fast = AsciiWordPiece::from_json(&json);
    let mut tokenizer = Tokenizer::from_file(&tok_path).map_err(|e| err(&tok_path, e))?;
    tokenizer
        .with_truncation(None)
        .map_err(|e| err(&tok_path, e))?;
    tokenizer.with_padding(None);
    let vocab = tokenizer.get_vocab_size(true);
    if table.vocab < vocab {
        return Err(err(
            &path,
            format!(
                "table has {} rows but the tokenizer has {vocab} tokens",
                table.vocab
            ),
        ));
    }
    Ok((tokenizer, table, path))
}

/// A JSON array of non-negative integers (anything else reads as empty).
fn usizes(v: &serde_json::Value) -> Vec<usize> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_u64())
                .map(|x| x as usize)
                .collect()
        })
        .unwrap_or_default()
}

/// The F32 tensor `name` of a safetensors file, as a table.
fn parse_safetensors(bytes: &[u8], name: &str) -> Result<Table, String> {
    let len_bytes: [u8; 8] = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or("file shorter than a safetensors header")?;
    let hlen = u64::from_le_bytes(len_bytes) as usize;
    let header = bytes
        .get(8..8 + hlen)
        .ok_or("safetensors header runs past the end of the file")?;
    let header: serde_json::Value =
        serde_json::from_slice(header).map_err(|e| format!("safetensors header: {e}"))?;
    let t = &header[name];
    if t["dtype"] != "F32" {
        return Err(format!(
            "expected tensor '{name}' with dtype F32, got {}",
            t["dtype"]
        ));
    }
    let shape = usizes(&t["shape"]);
    let [vocab, dim] = shape[..] else {
        return Err(format!(
            "expected tensor '{name}' of shape [vocab, dims], got {shape:?}"
        ));
    };
    let offsets = usizes(&t["data_offsets"]);
    let [start, end] = offsets[..] else {
        return Err(format!("tensor '{name}' has no data_offsets"));
    };
    let base = 8 + hlen;
    let data = bytes
        .get(base + start..base + end)
        .ok_or("tensor data runs past the end of the file")?;
    if data.len() != vocab * dim * 4 {
        return Err(format!(
            "tensor '{name}' holds {} bytes, expected {vocab} x {dim} x 4",
            data.len()
        ));
    }
    let rows = data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok(Table {
        rows,
        dim,
        vocab,
        fast: None,
    })
}

/// Token ids without special tokens; beyond `max_tokens`, the first and last halves.
pub fn tokenize(
    tokenizer: &Tokenizer,
    fast: Option<&AsciiWordPiece>,
    text: &str,
    max_tokens: usize,
) -> Result<Vec<u32>, RouterError> {
    let mut ids = Vec::new();
    if !fast.is_some_and(|f| f.encode(text, &mut ids)) {
        ids = tokenizer
            .encode_fast(text, false)
            .map_err(|e| RouterError::Inference(e.to_string()))?
            .get_ids()
            .to_vec();
    }
    if ids.len() <= max_tokens {
        return Ok(ids);
    }
    let head = max_tokens / 2;
    let tail = max_tokens - head;
    ids.drain(head..ids.len() - tail);
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(vocab: usize, dim: usize, dtype: &str) -> Vec<u8> {
        let n = vocab * dim * 4;
        let mut header = serde_json::json!({
            "embeddings": {"dtype": dtype, "shape": [vocab, dim], "data_offsets": [0, n]},
            "__metadata__": {"source": "test"},
        })
        .to_string();
        while !header.len().is_multiple_of(8) {
            header.push(' ');
        }
        let mut b = (header.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(header.as_bytes());
        for i in 0..vocab * dim {
            b.extend_from_slice(&(i as f32).to_le_bytes());
        }
        b
    }

    #[test]
    fn reads_the_table_and_pools_rows() {
        let t = parse_safetensors(&file(3, 2, "F32"), "embeddings").unwrap();
        assert_eq!((t.vocab, t.dim), (3, 2));
        // rows: [0,1], [2,3], [4,5]; mean of rows 1 and 2 = [3,4] -> normalised [0.6, 0.8].
        let v = t.pool(&[1, 2, 99]);
        assert!(
            (v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6,
            "{v:?}"
        );
        assert_eq!(t.pool(&[]), vec![0.0, 0.0]);
    }

    #[test]
    fn bad_files_say_what_was_expected() {
        let e = parse_safetensors(&file(3, 2, "F16"), "embeddings")
            .err()
            .unwrap();
        assert!(e.contains("dtype F32"), "{e}");
        let mut short = file(3, 2, "F32");
        short.truncate(short.len() - 4);
        let e = parse_safetensors(&short, "embeddings").err().unwrap();
        assert!(e.contains("past the end"), "{e}");
        assert!(parse_safetensors(b"abc", "embeddings").is_err());
    }
}
