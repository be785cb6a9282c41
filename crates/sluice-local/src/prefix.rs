//! Reuse of the KV cache of prompts seen recently.
//!
//! Most applications send the same system prompt (and, in a conversation, the same earlier
//! turns) with every request. A decoder's KV columns for positions `0..m` depend only on
//! tokens `0..m`, so a prompt that starts with `m` tokens of a prompt prefilled earlier can
//! take those columns as its past and prefill only the rest.
//!
//! Entries are whole prefilled prompts keyed by their token ids; a lookup takes the entry
//! sharing the longest run of leading tokens with the new prompt (not necessarily all of the
//! entry: two requests with one system prompt and different questions share the system
//! prompt's columns). Least recently used entries are evicted to keep the total under a
//! byte bound. The cache belongs to the scheduler's thread and is used only for the prefill,
//! which runs one sequence at a time before the sequence joins the batch: left padding and
//! batch membership never reach it.

use ort::value::{DynValue, Tensor};

use crate::{infer_err, LocalError};

/// Shorter shared runs are not worth a copy (the chat template's own header is shared by
/// every prompt).
pub const MIN_REUSED_TOKENS: usize = 16;

struct Entry {
    ids: Vec<u32>,
    /// One `[kv_heads, len, head_dim]` block per layer × {key, value}.
    kv: Vec<Vec<f32>>,
    used: u64,
}

/// KV columns taken from the cache for a new prompt.
pub struct Hit {
    /// Leading prompt tokens covered (always fewer than the prompt: the last token is run to
    /// get the next token's logits).
    pub tokens: usize,
    /// `[1, kv_heads, tokens, head_dim]` per layer × {key, value}, ready as `past_key_values`.
    pub past: Vec<DynValue>,
}

pub struct PrefixCache {
    entries: Vec<Entry>,
    max_bytes: usize,
    bytes: usize,
    layers2: usize,
    kv_heads: usize,
    head_dim: usize,
    clock: u64,
}

impl PrefixCache {
    pub fn new(max_bytes: usize, layers: usize, kv_heads: usize, head_dim: usize) -> PrefixCache {
        PrefixCache {
            entries: Vec::new(),
            max_bytes,
            bytes: 0,
            layers2: layers * 2,
            kv_heads,
            head_dim,
            clock: 0,
        }
    }

    /// Bytes one cached token takes (every layer's key and value).
    pub fn bytes_per_token(&self) -> usize {
        self.layers2 * self.kv_heads * self.head_dim * std::mem::size_of::<f32>()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The longest cached run of `prompt`'s leading tokens, as past KV tensors.
    pub fn lookup(&mut self, prompt: &[u32]) -> Result<Option<Hit>, LocalError> {
        let limit = prompt.len().saturating_sub(1);
        let best = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (i, common_prefix(&e.ids, &prompt[..limit])))
            .max_by_key(|&(i, m)| (m, self.entries[i].used));
        let Some((i, m)) = best.filter(|&(_, m)| m >= MIN_REUSED_TOKENS) else {
            return Ok(None);
        };
        self.clock += 1;
        let entry = &mut self.entries[i];
        entry.used = self.clock;
        let (kvh, hd) = (self.kv_heads, self.head_dim);
        let n = entry.ids.len();
        let shape = [1i64, kvh as i64, m as i64, hd as i64];
        let mut past = Vec::with_capacity(self.layers2);
        for block in &entry.kv {
            let mut data = Vec::with_capacity(kvh * m * hd);
            for h in 0..kvh {
                data.extend_from_slice(&block[h * n * hd..(h * n + m) * hd]);
            }
            past.push(
                Tensor::from_array((shape, data))
                    .map_err(infer_err)?
                    .into_dyn(),
            );
        }
        Ok(Some(Hit { tokens: m, past }))
    }

    /// Keeps a prefilled prompt's KV (`[1, kv_heads, len, head_dim]` per layer × {key,
    /// value}, as the model returned it). Entries it extends are dropped (it covers them);
    /// if an entry already extends it, that entry is only marked as used.
    pub fn insert(&mut self, ids: &[u32], kv: &[DynValue]) -> Result<(), LocalError> {
        let size = ids.len() * self.bytes_per_token();
        if ids.len() < MIN_REUSED_TOKENS || size > self.max_bytes || kv.len() != self.layers2 {
            return Ok(());
        }
        self.clock += 1;
        if let Some(e) = self.entries.iter_mut().find(|e| e.ids.starts_with(ids)) {
            e.used = self.clock;
            return Ok(());
        }
        let bpt = self.bytes_per_token();
        let mut freed = 0;
        self.entries.retain(|e| {
            let covered = ids.starts_with(&e.ids);
            if covered {
                freed += e.ids.len() * bpt;
            }
            !covered
        });
        self.bytes -= freed;
        while self.bytes + size > self.max_bytes {
            let Some(oldest) = (0..self.entries.len()).min_by_key(|&i| self.entries[i].used) else {
                break;
            };
            let e = self.entries.swap_remove(oldest);
            self.bytes -= e.ids.len() * bpt;
        }
        let mut blocks = Vec::with_capacity(self.layers2);
        for v in kv {
            let (shape, data) = v.try_extract_tensor::<f32>().map_err(infer_err)?;
            let want = [
                1,
                self.kv_heads as i64,
                ids.len() as i64,
                self.head_dim as i64,
            ];
            if shape[..] != want {
                return Err(LocalError::Inference(format!(
                    "prefix cache: KV of shape {shape:?}, expected {want:?}"
                )));
            }
            blocks.push(data.to_vec());
        }
        self.entries.push(Entry {
            ids: ids.to_vec(),
            kv: blocks,
            used: self.clock,
        });
        self.bytes += size;
        Ok(())
    }
}

fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// KV whose every value encodes (block, head, position, dim), to check slicing.
    fn kv(layers2: usize, kvh: usize, n: usize, hd: usize) -> Vec<DynValue> {
        // Tensors need ONNX Runtime's library loaded.
        sluice_router::runtime::environment().unwrap();
        (0..layers2)
            .map(|b| {
                let mut data = Vec::new();
                for h in 0..kvh {
                    for t in 0..n {
                        for d in 0..hd {
                            data.push((b * 1_000_000 + h * 10_000 + t * 10 + d) as f32);
                        }
                    }
                }
                Tensor::from_array(([1i64, kvh as i64, n as i64, hd as i64], data))
                    .unwrap()
                    .into_dyn()
            })
            .collect()
    }

    fn ids(shared: usize, tail: &[u32]) -> Vec<u32> {
        (100..100 + shared as u32)
            .chain(tail.iter().copied())
            .collect()
    }

    #[test]
    fn reuses_the_longest_shared_run_and_slices_every_head() {
        let mut c = PrefixCache::new(1 << 30, 2, 3, 2);
        let a = ids(20, &[1, 2, 3]);
        c.insert(&a, &kv(4, 3, a.len(), 2)).unwrap();
        // Shares 20 tokens, then differs.
        let b = ids(20, &[7, 8]);
        let hit = c.lookup(&b).unwrap().expect("hit");
        assert_eq!(hit.tokens, 20);
        for (blk, v) in hit.past.iter().enumerate() {
            let (shape, data) = v.try_extract_tensor::<f32>().unwrap();
            assert_eq!(shape[..], [1, 3, 20, 2]);
            let mut i = 0;
            for h in 0..3 {
                for t in 0..20 {
                    for d in 0..2 {
                        assert_eq!(data[i], (blk * 1_000_000 + h * 10_000 + t * 10 + d) as f32);
                        i += 1;
                    }
                }
            }
        }
        // The same prompt again: all but its last token.
        assert_eq!(c.lookup(&a).unwrap().unwrap().tokens, a.len() - 1);
        // Too little shared.
        assert!(c.lookup(&ids(10, &[5; 20])).unwrap().is_none());
    }

    #[test]
    fn stays_under_its_byte_bound_evicting_the_least_recently_used() {
        let bpt = PrefixCache::new(0, 2, 1, 4).bytes_per_token();
        let mut c = PrefixCache::new(bpt * 50, 2, 1, 4);
        let p: Vec<Vec<u32>> = (0..3u32)
            .map(|k| (0..20).map(|t| k * 1000 + t).collect())
            .collect();
        c.insert(&p[0], &kv(4, 1, 20, 4)).unwrap();
        c.insert(&p[1], &kv(4, 1, 20, 4)).unwrap();
        assert!(c
            .lookup(&[p[0].clone(), vec![1]].concat())
            .unwrap()
            .is_some());
        // p[1] is now the least recently used; a third entry does not fit beside both.
        c.insert(&p[2], &kv(4, 1, 20, 4)).unwrap();
        assert!(c.bytes() <= bpt * 50);
        assert_eq!(c.len(), 2);
        assert!(c
            .lookup(&[p[1].clone(), vec![1]].concat())
            .unwrap()
            .is_none());
        assert!(c
            .lookup(&[p[0].clone(), vec![1]].concat())
            .unwrap()
            .is_some());
        // An entry larger than the whole bound is not kept.
        let big: Vec<u32> = (0..60).collect();
        c.insert(&big, &kv(4, 1, 60, 4)).unwrap();
        assert!(c.bytes() <= bpt * 50);
    }

    #[test]
    fn a_longer_prompt_replaces_the_entries_it_covers() {
        let mut c = PrefixCache::new(1 << 30, 1, 1, 1);
        let short = ids(20, &[]);
        let long = ids(20, &[1, 2, 3, 4]);
        c.insert(&short, &kv(2, 1, 20, 1)).unwrap();
        c.insert(&long, &kv(2, 1, 24, 1)).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c.bytes(), 24 * c.bytes_per_token());
        // The shorter prompt is covered by the longer entry: nothing new is stored.
        c.insert(&short, &kv(2, 1, 20, 1)).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c.lookup(&short).unwrap().unwrap().tokens, 19);
    }
}
