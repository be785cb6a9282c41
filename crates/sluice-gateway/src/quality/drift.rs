//! Drift of the routed traffic against the data the policy was calibrated on: the
//! population stability index of the router's scores, and how far the mean prompt
//! embedding has moved. The reference is a JSON file written when the threshold was
//! calibrated (`sluice-evals quality-train` writes it beside the head as `<head>.drift.json`):
//!
//! ```json
//! {"edges": [0.1, 0.2, ...], "proportions": [0.12, ...], "embedding_mean": [...], "rows": 5000}
//! ```
//!
//! `edges` are the inner bin edges of the scores (k edges, k+1 bins), `proportions` the
//! reference share in each bin.

use std::collections::VecDeque;
use std::path::Path;

use serde::Deserialize;

/// Recent requests the figures are computed over.
pub const WINDOW: usize = 1000;
/// Shares below this count as this, so an empty bin does not make the index infinite.
const FLOOR: f64 = 1e-4;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Reference {
    pub edges: Vec<f64>,
    pub proportions: Vec<f64>,
    #[serde(default)]
    pub embedding_mean: Vec<f32>,
}

impl Reference {
    pub fn load(path: &Path) -> anyhow::Result<Reference> {
        let bytes = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("drift reference {}: {e}", path.display()))?;
        let r: Reference = serde_json::from_slice(&bytes).map_err(|e| {
            anyhow::anyhow!(
                "drift reference {}: expected {{edges, proportions, embedding_mean}}: {e}",
                path.display()
            )
        })?;
        anyhow::ensure!(
            r.proportions.len() == r.edges.len() + 1 && !r.edges.is_empty(),
            "drift reference {}: {} edges need {} proportions, found {}",
            path.display(),
            r.edges.len(),
            r.edges.len() + 1,
            r.proportions.len()
        );
        anyhow::ensure!(
            r.edges.windows(2).all(|w| w[0] < w[1]),
            "drift reference {}: edges must increase",
            path.display()
        );
        Ok(r)
    }

    pub fn same(&self, other: &Reference) -> bool {
        self == other
    }

    fn bin(&self, score: f64) -> usize {
        self.edges.partition_point(|e| *e <= score)
    }
}

/// Population stability index of `actual` shares against `expected` ones.
pub fn psi(expected: &[f64], actual: &[f64]) -> f64 {
    expected
        .iter()
        .zip(actual)
        .map(|(e, a)| {
            let (e, a) = (e.max(FLOOR), a.max(FLOOR));
            (a - e) * (a / e).ln()
        })
        .sum()
}

/// 1 − cosine similarity (0: same direction).
pub fn shift(a: &[f32], b: &[f32]) -> f64 {
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    1.0 - dot / (na.sqrt() * nb.sqrt())
}

/// The last [`WINDOW`] scores and embeddings of one policy.
pub struct Tracker {
    pub reference: Reference,
    bins: VecDeque<usize>,
    counts: Vec<u64>,
    embeddings: VecDeque<Vec<f32>>,
    sum: Vec<f64>,
}

impl Tracker {
    pub fn new(reference: Reference) -> Tracker {
        let k = reference.proportions.len();
        let d = reference.embedding_mean.len();
        Tracker {
            reference,
            bins: VecDeque::with_capacity(WINDOW),
            counts: vec![0; k],
            embeddings: VecDeque::new(),
            sum: vec![0.0; d],
        }
    }

    pub fn observe(&mut self, score: Option<f64>, embedding: Option<&[f32]>) {
        if let Some(s) = score.filter(|s| s.is_finite()) {
            if self.bins.len() == WINDOW {
                if let Some(old) = self.bins.pop_front() {
                    self.counts[old] -= 1;
                }
            }
            let b = self.reference.bin(s);
            self.counts[b] += 1;
            self.bins.push_back(b);
        }
        if let Some(e) = embedding.filter(|e| e.len() == self.sum.len() && !e.is_empty()) {
            if self.embeddings.len() == WINDOW {
                if let Some(old) = self.embeddings.pop_front() {
                    for (s, x) in self.sum.iter_mut().zip(&old) {
                        *s -= f64::from(*x);
                    }
                }
            }
            for (s, x) in self.sum.iter_mut().zip(e) {
                *s += f64::from(*x);
            }
            self.embeddings.push_back(e.to_vec());
        }
    }

    pub fn samples(&self) -> usize {
        self.bins.len().max(self.embeddings.len())
    }

    pub fn psi(&self) -> Option<f64> {
        let n = self.bins.len();
        (n > 0).then(|| {
            let actual: Vec<f64> = self.counts.iter().map(|c| *c as f64 / n as f64).collect();
            psi(&self.reference.proportions, &actual)
        })
    }

    pub fn embedding_shift(&self) -> Option<f64> {
        (!self.embeddings.is_empty()).then(|| {
            let mean: Vec<f32> = self.sum.iter().map(|s| *s as f32).collect();
            shift(&mean, &self.reference.embedding_mean)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> Reference {
        Reference {
            edges: vec![0.25, 0.5, 0.75],
            proportions: vec![0.25; 4],
            embedding_mean: vec![1.0, 0.0],
        }
    }

    #[test]
    fn the_same_distribution_is_stable_and_a_moved_one_is_not() {
        let mut t = Tracker::new(reference());
        for i in 0..2000 {
            t.observe(Some((i % 100) as f64 / 100.0), Some(&[1.0, 0.01]));
        }
        assert_eq!(t.samples(), WINDOW);
        assert!(t.psi().unwrap() < 0.01, "{:?}", t.psi());
        assert!(t.embedding_shift().unwrap() < 1e-3);
        // Every recent score high, prompts about something else: both figures move.
        for _ in 0..WINDOW {
            t.observe(Some(0.9), Some(&[0.0, 1.0]));
        }
        assert!(t.psi().unwrap() > 2.0, "{:?}", t.psi());
        assert!((t.embedding_shift().unwrap() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn psi_matches_its_definition() {
        let e = [0.5, 0.5];
        let a = [0.8, 0.2];
        let want = (0.8 - 0.5) * (0.8f64 / 0.5).ln() + (0.2 - 0.5) * (0.2f64 / 0.5).ln();
        assert!((psi(&e, &a) - want).abs() < 1e-12);
        assert_eq!(reference().bin(0.25), 1);
        assert_eq!(reference().bin(0.1), 0);
        assert_eq!(reference().bin(0.99), 3);
    }
}
