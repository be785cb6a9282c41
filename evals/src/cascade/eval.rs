//! Escalation heads trained on the local model's measured correctness, evaluated the way
//! they will be used: on task families they never saw.
//!
//! Three inputs are compared on the same rows and folds:
//! - **prompt-only**: what a router that reads only the prompt can know (the routing
//!   embedding); next to it, the gateway's shipped router head as it is, untrained on these
//!   labels.
//! - **confidence-only**: the local model's [signals](sluice_local::signals) at the decision
//!   point.
//! - **combined**: both.
//!
//! The label is "the local answer is wrong". Headline: leave-one-family-out (every family is
//! scored by a head trained on all the others); second: five random folds.

use std::collections::BTreeMap;

use serde::Serialize;
use sluice_local::signals::{FEATURES_VERSION, FEATURE_NAMES};

use super::items::Item;
use super::run::Record;
use crate::metrics::{auroc, curve, Curve};
use crate::train::{self, Kind, Model, Options};

/// When the cascade decides, in generated tokens: `1` is right after the prefill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DecideAt(pub usize);

/// One labelled row.
pub struct Row<'a> {
    pub item: &'a Item,
    pub rec: &'a Record,
    /// The local answer passed the item's check.
    pub correct: bool,
    /// The strong model's correctness: recorded (ARC, Winogrande: GPT-4), or the stated
    /// assumption for the everyday suite.
    pub strong: f64,
    pub emb: &'a [f32],
    /// The shipped router head's score for the prompt.
    pub router: f64,
}

impl Row<'_> {
    /// The signal features at the decision point.
    pub fn signals(&self, at: DecideAt) -> Vec<f32> {
        let n = at.0;
        let sig = &self.rec.signals;
        let stopped = self.rec.finish == "stop" && sig.logprobs.len() <= n;
        sig.summary(n, stopped).features().to_vec()
    }
}

/// Which inputs a head reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Inputs {
    PromptOnly,
    ConfidenceOnly,
    Combined,
}

impl Inputs {
    pub fn name(self) -> &'static str {
        match self {
            Inputs::PromptOnly => "prompt-only",
            Inputs::ConfidenceOnly => "confidence-only",
            Inputs::Combined => "combined",
        }
    }
}

/// Mean and spread of the signal features over training rows (the head standardises its
/// input with them, inside its ONNX graph).
#[derive(Debug, Clone, Serialize)]
pub struct Standardiser {
    pub mu: Vec<f32>,
    pub sd: Vec<f32>,
}

impl Standardiser {
    pub fn fit(x: &[Vec<f32>]) -> Standardiser {
        let d = x[0].len();
        let n = x.len() as f64;
        let mut mu = vec![0f64; d];
        for r in x {
            for (m, v) in mu.iter_mut().zip(r) {
                *m += f64::from(*v) / n;
            }
        }
        let mut var = vec![0f64; d];
        for r in x {
            for ((s, v), m) in var.iter_mut().zip(r).zip(&mu) {
                *s += (f64::from(*v) - m).powi(2) / n;
            }
        }
        Standardiser {
            mu: mu.iter().map(|&m| m as f32).collect(),
            sd: var.iter().map(|&v| (v.sqrt().max(1e-6)) as f32).collect(),
        }
    }

    pub fn apply(&self, x: &[f32]) -> Vec<f32> {
        x.iter()
            .zip(self.mu.iter().zip(&self.sd))
            .map(|(v, (m, s))| (v - m) / s)
            .collect()
    }
}

/// A fitted escalation head: standardised signals, then the embedding, into a classifier.
pub struct Head {
    pub inputs: Inputs,
    pub at: DecideAt,
    pub std: Option<Standardiser>,
    pub model: Model,
}

impl Head {
    fn vector(inputs: Inputs, at: DecideAt, std: Option<&Standardiser>, r: &Row<'_>) -> Vec<f32> {
        let mut v = match (inputs, std) {
            (Inputs::PromptOnly, _) | (_, None) => Vec::new(),
            (_, Some(s)) => s.apply(&r.signals(at)),
        };
        if inputs != Inputs::ConfidenceOnly {
            v.extend_from_slice(r.emb);
        }
        v
    }

    pub fn fit(inputs: Inputs, at: DecideAt, kind: Kind, rows: &[&Row<'_>], o: &Options) -> Head {
        let std = (inputs != Inputs::PromptOnly)
            .then(|| Standardiser::fit(&rows.iter().map(|r| r.signals(at)).collect::<Vec<_>>()));
        let x: Vec<Vec<f32>> = rows
            .iter()
            .map(|r| Self::vector(inputs, at, std.as_ref(), r))
            .collect();
        let y: Vec<f32> = rows
            .iter()
            .map(|r| f32::from(u8::from(!r.correct)))
            .collect();
        // Each source weighs the same in total: the everyday suite is not drowned by the
        // multiple-choice sets, nor the other way round.
        let mut per_source: BTreeMap<&str, usize> = BTreeMap::new();
        for r in rows {
            *per_source.entry(r.item.source.as_str()).or_default() += 1;
        }
        let k = per_source.len() as f32;
        let w: Vec<f32> = rows
            .iter()
            .map(|r| rows.len() as f32 / (k * per_source[r.item.source.as_str()] as f32))
            .collect();
        let model = train::train(kind, &x, &y, &w, o);
        Head {
            inputs,
            at,
            std,
            model,
        }
    }

    /// P(the local answer is wrong).
    pub fn score(&self, r: &Row<'_>) -> f64 {
        f64::from(
            self.model
                .score(&Self::vector(self.inputs, self.at, self.std.as_ref(), r)),
        )
    }

    /// The weights as `scripts/write_escalation_head.py` reads them.
    pub fn spec(&self, emb_dim: usize) -> serde_json::Value {
        let mut spec = self.model.spec();
        if let Some(s) = &self.std {
            spec["signals"] = serde_json::json!({
                "version": FEATURES_VERSION,
                "names": FEATURE_NAMES,
                "mu": s.mu,
                "sd": s.sd,
            });
        }
        spec["emb_dim"] = serde_json::json!(if self.inputs == Inputs::ConfidenceOnly {
            0
        } else {
            emb_dim
        });
        spec["decide_at_tokens"] = serde_json::json!(self.at.0);
        spec
    }
}

/// Scores every row with a head that never saw its family (`lofo`) or its fold.
pub fn held_out_scores(
    rows: &[Row<'_>],
    inputs: Inputs,
    at: DecideAt,
    kind: Kind,
    split: &[usize],
    o: &Options,
) -> Vec<f64> {
    let parts = split.iter().copied().max().map_or(0, |m| m + 1);
    let mut scores = vec![0f64; rows.len()];
    for p in 0..parts {
        let train: Vec<&Row<'_>> = rows
            .iter()
            .zip(split)
            .filter(|(_, &s)| s != p)
            .map(|(r, _)| r)
            .collect();
        if train.len() == rows.len() {
            continue;
        }
        let head = Head::fit(inputs, at, kind, &train, o);
        for (i, r) in rows.iter().enumerate() {
            if split[i] == p {
                scores[i] = head.score(r);
            }
        }
    }
    scores
}

/// Accuracy of the answers kept local when the `share` of rows the head is surest about
/// stay local.
pub fn selective_accuracy(scores: &[f64], correct: &[bool], share: f64) -> f64 {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let keep = ((scores.len() as f64 * share).round() as usize).max(1);
    idx[..keep].iter().filter(|&&i| correct[i]).count() as f64 / keep as f64
}

#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub name: String,
    pub auroc: Option<f64>,
    /// Accuracy of the kept-local answers at 30/50/80% kept.
    pub selective: [f64; 3],
    pub apgr: f64,
    pub cpt50: Option<f64>,
    pub cpt80: Option<f64>,
}

pub fn figures(name: &str, scores: &[f64], rows: &[&Row<'_>]) -> (Figures, Curve) {
    let correct: Vec<bool> = rows.iter().map(|r| r.correct).collect();
    let wrong: Vec<bool> = correct.iter().map(|c| !c).collect();
    let weak: Vec<f64> = correct.iter().map(|&c| f64::from(u8::from(c))).collect();
    let strong: Vec<f64> = rows.iter().map(|r| r.strong).collect();
    let c = curve(name, scores, &weak, &strong);
    (
        Figures {
            name: name.into(),
            auroc: auroc(scores, &wrong),
            selective: [0.3, 0.5, 0.8].map(|s| selective_accuracy(scores, &correct, s)),
            apgr: c.apgr,
            cpt50: c.cpt50,
            cpt80: c.cpt80,
        },
        c,
    )
}

/// Fold index per row: whole families left out, one per fold.
pub fn family_split(rows: &[Row<'_>]) -> (Vec<usize>, Vec<String>) {
    let mut families: Vec<String> = rows.iter().map(|r| r.item.family.clone()).collect();
    families.sort();
    families.dedup();
    let split = rows
        .iter()
        .map(|r| families.binary_search(&r.item.family).unwrap_or(0))
        .collect();
    (split, families)
}

/// Random folds (seeded), ignoring families.
pub fn random_split(n: usize, folds: usize, seed: u64) -> Vec<usize> {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
    let mut split = vec![0; n];
    for (k, i) in idx.into_iter().enumerate() {
        split[i] = k % folds;
    }
    split
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selective_accuracy_keeps_the_surest() {
        let scores = [0.1, 0.2, 0.3, 0.9];
        let correct = [true, true, false, false];
        assert_eq!(selective_accuracy(&scores, &correct, 0.5), 1.0);
        assert_eq!(selective_accuracy(&scores, &correct, 0.75), 2.0 / 3.0);
        assert_eq!(selective_accuracy(&scores, &correct, 1.0), 0.5);
    }

    #[test]
    fn standardiser_centres_and_scales() {
        let s = Standardiser::fit(&[vec![1.0, 5.0], vec![3.0, 5.0]]);
        assert_eq!(s.apply(&[2.0, 5.0]), vec![0.0, 0.0]);
        assert_eq!(s.apply(&[3.0, 5.0])[0], 1.0);
    }
}
