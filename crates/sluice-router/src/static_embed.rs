//! Static token embeddings: a table with one row per vocabulary token, distilled once from
//! the transformer embedder (`scripts/distill_static.py`, model2vec's method: every token
//! run through the model alone, then PCA and frequency weighting). A text's vector is the
//! L2-normalised mean of its tokens' rows: no attention, no session, a few microseconds.
//!
//! The folder holds `config.json` (`"model_type": "sluice-static"`, `dims`),
//! `embeddings.safetensors` (one F32 tensor `embeddings` of shape `[vocab, dims]`) and the
//! source model's `tokenizer.json`. The safetensors header is read here directly: the format
//! is an 8-byte little-endian header length, a JSON header, then the raw data.

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

/// The embedding table.
pub struct Table {
    rows: Vec<f32>,
    pub dim: usize,
    pub vocab: usize,
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

/// Reads a static model folder: its tokenizer (truncation and padding off), its table, and
/// the table's path.
pub fn load(dir: &Path) -> Result<(Tokenizer, Table, PathBuf), RouterError> {
    let path = dir.join("embeddings.safetensors");
    let bytes = std::fs::read(&path).map_err(|e| err(&path, e))?;
    let table = parse_safetensors(&bytes, "embeddings").map_err(|m| err(&path, m))?;
    let tok_path = dir.join("tokenizer.json");
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
    let shape: Vec<usize> = t["shape"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_u64())
                .map(|x| x as usize)
                .collect()
        })
        .unwrap_or_default();
    let [vocab, dim] = shape[..] else {
        return Err(format!(
            "expected tensor '{name}' of shape [vocab, dims], got {shape:?}"
        ));
    };
    let offsets: Vec<usize> = t["data_offsets"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_u64())
                .map(|x| x as usize)
                .collect()
        })
        .unwrap_or_default();
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
    Ok(Table { rows, dim, vocab })
}

/// Token ids without special tokens; beyond `max_tokens`, the first and last halves.
pub fn tokenize(
    tokenizer: &Tokenizer,
    text: &str,
    max_tokens: usize,
) -> Result<Vec<u32>, RouterError> {
    let enc = tokenizer
        .encode_fast(text, false)
        .map_err(|e| RouterError::Inference(e.to_string()))?;
    let ids = enc.get_ids();
    if ids.len() <= max_tokens {
        return Ok(ids.to_vec());
    }
    let head = max_tokens / 2;
    let tail = max_tokens - head;
    let mut out = ids[..head].to_vec();
    out.extend_from_slice(&ids[ids.len() - tail..]);
    Ok(out)
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
