//! Router heads fitted on embeddings, in plain Rust with fixed seeds: logistic regression,
//! a one-hidden-layer MLP, and k-nearest-neighbours. Labels are in [0, 1]: how much the
//! request needs the strong model (see [`Label`]). Heads are compared by out-of-fold
//! predictions where folds keep whole groups (MMLU subjects) together, so a head is always
//! scored on subjects it never saw.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::data::Row;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Label {
    /// 1 − weak quality: the weak model's answer is not good enough.
    WeakWrong,
    /// max(0, strong − weak): the strong model would do better.
    StrongBetter,
    /// The share of the source's models that fall short of the strong one on this prompt
    /// ([`Row::need`]): a difficulty estimate from every model pair the data holds.
    Need,
    /// How badly the source's non-strong models do on the prompt ([`Row::hard`]).
    Hard,
}

impl Label {
    pub fn of(self, r: &Row) -> f32 {
        match self {
            Label::WeakWrong => (1.0 - r.weak) as f32,
            Label::StrongBetter => (r.strong - r.weak).max(0.0) as f32,
            Label::Need => r.need as f32,
            Label::Hard => r.hard as f32,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Logistic,
    Mlp,
    Knn,
    /// The mean of a logistic and an MLP head trained on the same rows.
    Ensemble,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    pub l2: f32,
    pub epochs: usize,
    pub hidden: usize,
    pub k: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: 7,
            l2: 1e-3,
            epochs: 0,
            hidden: 32,
            k: 100,
        }
    }
}

pub enum Model {
    Logistic {
        w: Vec<f32>,
        b: f32,
    },
    Mlp {
        w1: Vec<f32>,
        b1: Vec<f32>,
        w2: Vec<f32>,
        b2: f32,
        hidden: usize,
        dim: usize,
    },
    Knn {
        x: Vec<Vec<f32>>,
        y: Vec<f32>,
        k: usize,
    },
    Ensemble(Vec<Model>),
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Adam for one parameter vector.
struct Adam {
    m: Vec<f32>,
    v: Vec<f32>,
    t: i32,
    lr: f32,
}

impl Adam {
    fn new(n: usize, lr: f32) -> Adam {
        Adam {
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
            lr,
        }
    }
    fn step(&mut self, p: &mut [f32], g: &[f32]) {
        self.t += 1;
        let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
        let c1 = 1.0 - b1.powi(self.t);
        let c2 = 1.0 - b2.powi(self.t);
        for i in 0..p.len() {
            self.m[i] = b1 * self.m[i] + (1.0 - b1) * g[i];
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * g[i] * g[i];
            p[i] -= self.lr * (self.m[i] / c1) / ((self.v[i] / c2).sqrt() + eps);
        }
    }
}

/// Fits a head. `w` weighs each row's loss (sources are balanced this way); empty = all 1.
pub fn train(kind: Kind, x: &[Vec<f32>], y: &[f32], w: &[f32], o: &Options) -> Model {
    let dim = x[0].len();
    let ones;
    let w: &[f32] = if w.is_empty() {
        ones = vec![1f32; x.len()];
        &ones
    } else {
        w
    };
    let n: f32 = w.iter().sum();
    let mut rng = StdRng::seed_from_u64(o.seed);
    match kind {
        Kind::Logistic => {
            let (mut wt, mut b) = (vec![0f32; dim], 0f32);
            let mut opt_w = Adam::new(dim, 0.05);
            let mut opt_b = Adam::new(1, 0.05);
            let epochs = if o.epochs == 0 { 300 } else { o.epochs };
            for _ in 0..epochs {
                let mut gw = vec![0f32; dim];
                let mut gb = 0f32;
                for ((xi, &yi), &wi) in x.iter().zip(y).zip(w) {
                    let err = (sigmoid(dot(&wt, xi) + b) - yi) * wi;
                    for (g, v) in gw.iter_mut().zip(xi) {
                        *g += err * v;
                    }
                    gb += err;
                }
                for (g, wi) in gw.iter_mut().zip(&wt) {
                    *g = *g / n + o.l2 * wi;
                }
                opt_w.step(&mut wt, &gw);
                let mut bb = [b];
                opt_b.step(&mut bb, &[gb / n]);
                b = bb[0];
            }
            Model::Logistic { w: wt, b }
        }
        Kind::Mlp => {
            let h = o.hidden;
            let scale = (2.0 / dim as f32).sqrt();
            let mut w1: Vec<f32> = (0..h * dim)
                .map(|_| rng.random_range(-1.0f32..1.0) * scale)
                .collect();
            let mut b1 = vec![0f32; h];
            let mut w2: Vec<f32> = (0..h)
                .map(|_| rng.random_range(-1.0f32..1.0) * (1.0 / h as f32).sqrt())
                .collect();
            let mut b2 = [0f32];
            let (mut o1, mut ob1, mut o2, mut ob2) = (
                Adam::new(h * dim, 1e-3),
                Adam::new(h, 1e-3),
                Adam::new(h, 1e-3),
                Adam::new(1, 1e-3),
            );
            let epochs = if o.epochs == 0 { 25 } else { o.epochs };
            let mut order: Vec<usize> = (0..x.len()).collect();
            let batch = 128;
            let mut hid = vec![0f32; h];
            for _ in 0..epochs {
                order.shuffle(&mut rng);
                for chunk in order.chunks(batch) {
                    let (mut g1, mut gb1, mut g2, mut gb2) =
                        (vec![0f32; h * dim], vec![0f32; h], vec![0f32; h], 0f32);
                    for &i in chunk {
                        let xi = &x[i];
                        for j in 0..h {
                            hid[j] = (dot(&w1[j * dim..(j + 1) * dim], xi) + b1[j]).max(0.0);
                        }
                        let err = (sigmoid(dot(&w2, &hid) + b2[0]) - y[i]) * w[i];
                        gb2 += err;
                        for j in 0..h {
                            g2[j] += err * hid[j];
                            if hid[j] > 0.0 {
                                let d = err * w2[j];
                                gb1[j] += d;
                                for (g, v) in g1[j * dim..(j + 1) * dim].iter_mut().zip(xi) {
                                    *g += d * v;
                                }
                            }
                        }
                    }
                    let m = chunk.iter().map(|&i| w[i]).sum::<f32>().max(1e-6);
                    for (g, p) in g1.iter_mut().zip(&w1) {
                        *g = *g / m + o.l2 * p;
                    }
                    for (g, p) in g2.iter_mut().zip(&w2) {
                        *g = *g / m + o.l2 * p;
                    }
                    gb1.iter_mut().for_each(|g| *g /= m);
                    o1.step(&mut w1, &g1);
                    ob1.step(&mut b1, &gb1);
                    o2.step(&mut w2, &g2);
                    ob2.step(&mut b2, &[gb2 / m]);
                }
            }
            Model::Mlp {
                w1,
                b1,
                w2,
                b2: b2[0],
                hidden: h,
                dim,
            }
        }
        Kind::Knn => Model::Knn {
            x: x.to_vec(),
            y: y.to_vec(),
            k: o.k.min(x.len()).max(1),
        },
        Kind::Ensemble => Model::Ensemble(vec![
            train(Kind::Logistic, x, y, w, o),
            train(Kind::Mlp, x, y, w, o),
        ]),
    }
}

impl Model {
    /// Drops the last `k` inputs (source indicators) of a model trained on `d + k` inputs,
    /// feeding them the uniform value 1/k instead, folded into the intercepts.
    fn fold_tail(&mut self, d: usize, k: usize) {
        let inv = 1.0 / k as f32;
        match self {
            Model::Logistic { w, b } => {
                *b += w[d..].iter().sum::<f32>() * inv;
                w.truncate(d);
            }
            Model::Mlp {
                w1,
                b1,
                hidden,
                dim,
                ..
            } => {
                let old = *dim;
                let mut nw = Vec::with_capacity(*hidden * d);
                for j in 0..*hidden {
                    let row = &w1[j * old..(j + 1) * old];
                    b1[j] += row[d..].iter().sum::<f32>() * inv;
                    nw.extend_from_slice(&row[..d]);
                }
                *w1 = nw;
                *dim = d;
            }
            Model::Knn { x, .. } => x.iter_mut().for_each(|r| r.truncate(d)),
            Model::Ensemble(members) => members.iter_mut().for_each(|m| m.fold_tail(d, k)),
        }
    }

    pub fn score(&self, xi: &[f32]) -> f32 {
        match self {
            Model::Logistic { w, b } => sigmoid(dot(w, xi) + b),
            Model::Mlp {
                w1,
                b1,
                w2,
                b2,
                hidden,
                dim,
            } => {
                let mut z = *b2;
                for j in 0..*hidden {
                    z += w2[j] * (dot(&w1[j * dim..(j + 1) * dim], xi) + b1[j]).max(0.0);
                }
                sigmoid(z)
            }
            Model::Knn { x, y, k } => {
                let mut sims: Vec<(f32, f32)> =
                    x.iter().zip(y).map(|(r, &l)| (dot(r, xi), l)).collect();
                let kth = *k - 1;
                sims.select_nth_unstable_by(kth, |a, b| b.0.total_cmp(&a.0));
                sims[..*k].iter().map(|(_, l)| l).sum::<f32>() / *k as f32
            }
            Model::Ensemble(members) => {
                members.iter().map(|m| m.score(xi)).sum::<f32>() / members.len() as f32
            }
        }
    }

    /// The weights as `scripts/write_head.py` reads them.
    pub fn spec(&self) -> serde_json::Value {
        match self {
            Model::Logistic { w, b } => serde_json::json!({"kind": "logistic", "w": w, "b": b}),
            Model::Mlp {
                w1,
                b1,
                w2,
                b2,
                hidden,
                dim,
            } => {
                let rows: Vec<&[f32]> = (0..*hidden).map(|j| &w1[j * dim..(j + 1) * dim]).collect();
                serde_json::json!({"kind": "mlp", "w1": rows, "b1": b1, "w2": w2, "b2": b2})
            }
            Model::Knn { x, y, k } => serde_json::json!({"kind": "knn", "x": x, "y": y, "k": k}),
            Model::Ensemble(members) => serde_json::json!({
                "kind": "ensemble",
                "members": members.iter().map(Model::spec).collect::<Vec<_>>(),
            }),
        }
    }
}

/// Fold index per row: groups shuffled with the seed, dealt round-robin into `folds`.
pub fn group_folds(rows: &[Row], folds: usize, seed: u64) -> Vec<usize> {
    let mut groups: Vec<&str> = rows.iter().map(|r| r.group.as_str()).collect();
    groups.sort_unstable();
    groups.dedup();
    let mut rng = StdRng::seed_from_u64(seed);
    groups.shuffle(&mut rng);
    let folds = folds.min(groups.len()).max(1);
    let fold_of: std::collections::HashMap<&str, usize> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| (*g, i % folds))
        .collect();
    rows.iter().map(|r| fold_of[r.group.as_str()]).collect()
}

/// A trained head with its input contract: the embedding, optionally followed by the prompt
/// features ([`sluice_router::features`]) standardised with the training rows' mean and
/// deviation. The standardisation is part of the head (written into the ONNX graph), so the
/// gateway passes raw features.
pub struct Head {
    pub model: Model,
    pub emb_dim: usize,
    /// Per-feature (mean, deviation) when the head reads features.
    pub features: Option<(Vec<f32>, Vec<f32>)>,
}

/// One row's input: its embedding and its raw features.
pub struct Input<'a> {
    pub emb: &'a [f32],
    pub feat: &'a [f32],
}

impl Head {
    /// Fits a head. With `sources` (each row's source index and the number of sources),
    /// the model also gets one intercept per source while training ("fixed effects"), so the
    /// shared weights learn what makes a prompt harder *than others of its source*, not
    /// which source it came from (sources differ in base rate and look, and a head that
    /// learns the look does not transfer). The per-source intercepts are averaged into the
    /// single intercept afterwards.
    pub fn fit(
        kind: Kind,
        rows: &[Input<'_>],
        use_features: bool,
        y: &[f32],
        w: &[f32],
        sources: Option<(&[usize], usize)>,
        o: &Options,
    ) -> Head {
        let emb_dim = rows[0].emb.len();
        let features = use_features.then(|| standardiser(rows, w));
        let head = Head {
            model: Model::Logistic {
                w: Vec::new(),
                b: 0.0,
            },
            emb_dim,
            features,
        };
        let mut x: Vec<Vec<f32>> = rows.iter().map(|r| head.assemble(r)).collect();
        let d = x[0].len();
        if let Some((src, k)) = sources {
            for (xi, &s) in x.iter_mut().zip(src) {
                xi.extend((0..k).map(|j| if j == s { 1.0 } else { 0.0 }));
            }
        }
        let mut model = train(kind, &x, y, w, o);
        if let Some((_, k)) = sources {
            model.fold_tail(d, k);
        }
        Head { model, ..head }
    }

    fn assemble(&self, r: &Input<'_>) -> Vec<f32> {
        let mut v = r.emb.to_vec();
        if let Some((mu, sd)) = &self.features {
            v.extend(r.feat.iter().zip(mu).zip(sd).map(|((f, m), s)| (f - m) / s));
        }
        v
    }

    pub fn score(&self, r: &Input<'_>) -> f32 {
        self.model.score(&self.assemble(r))
    }

    /// The weights as `scripts/write_head.py` reads them.
    pub fn spec(&self) -> serde_json::Value {
        let mut spec = self.model.spec();
        spec["emb_dim"] = serde_json::json!(self.emb_dim);
        if let Some((mu, sd)) = &self.features {
            spec["features"] = serde_json::json!({
                "version": sluice_router::features::VERSION,
                "names": sluice_router::features::NAMES,
                "mu": mu,
                "sd": sd,
            });
        }
        spec
    }
}

/// Weighted mean and deviation of each feature (deviation floored so constant features stay
/// finite).
fn standardiser(rows: &[Input<'_>], w: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let d = rows[0].feat.len();
    let wt = |i: usize| w.get(i).copied().unwrap_or(1.0) as f64;
    let total: f64 = (0..rows.len()).map(wt).sum();
    let mut mu = vec![0f64; d];
    for (i, r) in rows.iter().enumerate() {
        for (m, f) in mu.iter_mut().zip(r.feat) {
            *m += wt(i) * f64::from(*f);
        }
    }
    mu.iter_mut().for_each(|m| *m /= total);
    let mut var = vec![0f64; d];
    for (i, r) in rows.iter().enumerate() {
        for ((v, f), m) in var.iter_mut().zip(r.feat).zip(&mu) {
            *v += wt(i) * (f64::from(*f) - m).powi(2);
        }
    }
    let sd = var
        .iter()
        .map(|v| ((v / total).sqrt() as f32).max(1e-3))
        .collect();
    (mu.iter().map(|m| *m as f32).collect(), sd)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two clusters; the label follows the cluster. Every head must rank them apart.
    #[test]
    fn heads_learn_a_separable_problem() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..400 {
            let c = (i % 2) as f32;
            let mut v: Vec<f32> = (0..16).map(|_| rng.random_range(-0.2f32..0.2)).collect();
            v[0] += if c > 0.5 { 1.0 } else { -1.0 };
            let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
            v.iter_mut().for_each(|a| *a /= n);
            x.push(v);
            y.push(c);
        }
        for kind in [Kind::Logistic, Kind::Mlp, Kind::Knn, Kind::Ensemble] {
            let m = train(
                kind,
                &x,
                &y,
                &[],
                &Options {
                    k: 10,
                    ..Options::default()
                },
            );
            let correct = x
                .iter()
                .zip(&y)
                .filter(|(xi, &yi)| (m.score(xi) > 0.5) == (yi > 0.5))
                .count();
            assert!(correct > 390, "{kind:?}: {correct}/400");
        }
    }

    #[test]
    fn folds_keep_groups_together() {
        let rows: Vec<Row> = (0..100)
            .map(|i| Row {
                prompt: i.to_string(),
                weak: 1.0,
                strong: 1.0,
                group: format!("g{}", i % 7),
                need: 0.0,
                hard: 0.0,
            })
            .collect();
        let f = group_folds(&rows, 3, 5);
        for i in 0..100 {
            for j in 0..100 {
                if rows[i].group == rows[j].group {
                    assert_eq!(f[i], f[j]);
                }
            }
        }
        assert_eq!(f.iter().copied().max(), Some(2));
        assert_eq!(group_folds(&rows, 3, 5), f, "deterministic for a seed");
    }

    #[test]
    fn every_label_reads_its_field() {
        let r = Row {
            prompt: "p".into(),
            weak: 0.25,
            strong: 0.75,
            group: "g".into(),
            need: 0.4,
            hard: 0.6,
        };
        assert_eq!(Label::WeakWrong.of(&r), 0.75);
        assert_eq!(Label::StrongBetter.of(&r), 0.5);
        assert_eq!(Label::Need.of(&r), 0.4);
        assert_eq!(Label::Hard.of(&r), 0.6);
        // The strong model doing worse is no reason to route to it.
        let worse = Row { strong: 0.0, ..r };
        assert_eq!(Label::StrongBetter.of(&worse), 0.0);
    }

    /// Source intercepts are folded away: the trained head reads its own inputs only, and
    /// still separates what it learned.
    #[test]
    fn source_effects_fold_into_the_intercept() {
        let mut rng = StdRng::seed_from_u64(3);
        let rows: Vec<(Vec<f32>, [f32; 2])> = (0..200)
            .map(|_| {
                let e: Vec<f32> = (0..4).map(|_| rng.random_range(-1.0f32..1.0)).collect();
                (e, [rng.random_range(0.0f32..3.0), 1.0])
            })
            .collect();
        let inputs: Vec<Input<'_>> = rows
            .iter()
            .map(|(e, f)| Input { emb: e, feat: f })
            .collect();
        let y: Vec<f32> = rows
            .iter()
            .map(|(e, _)| f32::from(u8::from(e[0] > 0.0)))
            .collect();
        let src: Vec<usize> = (0..200).map(|i| i % 2).collect();
        for kind in [Kind::Logistic, Kind::Mlp] {
            let h = Head::fit(
                kind,
                &inputs,
                true,
                &y,
                &[],
                Some((&src, 2)),
                &Options {
                    epochs: 300,
                    ..Options::default()
                },
            );
            let x = h.assemble(&inputs[0]);
            assert_eq!(
                x.len(),
                6,
                "4 embedding dims + 2 features, no source columns"
            );
            let mut right = 0;
            for (i, yi) in inputs.iter().zip(&y) {
                if (h.score(i) > 0.5) == (*yi > 0.5) {
                    right += 1;
                }
            }
            assert!(right > 180, "{kind:?}: {right}/200");
        }
    }
}
