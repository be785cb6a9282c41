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
}

impl Label {
    pub fn of(self, r: &Row) -> f32 {
        match self {
            Label::WeakWrong => (1.0 - r.weak) as f32,
            Label::StrongBetter => (r.strong - r.weak).max(0.0) as f32,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Logistic,
    Mlp,
    Knn,
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

pub fn train(kind: Kind, x: &[Vec<f32>], y: &[f32], o: &Options) -> Model {
    let dim = x[0].len();
    let n = x.len() as f32;
    let mut rng = StdRng::seed_from_u64(o.seed);
    match kind {
        Kind::Logistic => {
            let (mut w, mut b) = (vec![0f32; dim], 0f32);
            let mut opt_w = Adam::new(dim, 0.05);
            let mut opt_b = Adam::new(1, 0.05);
            let epochs = if o.epochs == 0 { 300 } else { o.epochs };
            for _ in 0..epochs {
                let mut gw = vec![0f32; dim];
                let mut gb = 0f32;
                for (xi, &yi) in x.iter().zip(y) {
                    let err = sigmoid(dot(&w, xi) + b) - yi;
                    for (g, v) in gw.iter_mut().zip(xi) {
                        *g += err * v;
                    }
                    gb += err;
                }
                for (g, wi) in gw.iter_mut().zip(&w) {
                    *g = *g / n + o.l2 * wi;
                }
                opt_w.step(&mut w, &gw);
                let mut bb = [b];
                opt_b.step(&mut bb, &[gb / n]);
                b = bb[0];
            }
            Model::Logistic { w, b }
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
                        let err = sigmoid(dot(&w2, &hid) + b2[0]) - y[i];
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
                    let m = chunk.len() as f32;
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
    }
}

impl Model {
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

/// Out-of-fold scores: each row scored by a head trained without its fold.
pub fn cross_validate(
    kind: Kind,
    x: &[Vec<f32>],
    y: &[f32],
    fold: &[usize],
    o: &Options,
) -> Vec<f64> {
    let folds = fold.iter().max().map_or(1, |m| m + 1);
    let mut scores = vec![0f64; x.len()];
    for f in 0..folds {
        let (mut tx, mut ty) = (Vec::new(), Vec::new());
        for i in 0..x.len() {
            if fold[i] != f {
                tx.push(x[i].clone());
                ty.push(y[i]);
            }
        }
        if tx.is_empty() {
            continue;
        }
        let m = train(kind, &tx, &ty, o);
        for i in 0..x.len() {
            if fold[i] == f {
                scores[i] = f64::from(m.score(&x[i]));
            }
        }
    }
    scores
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
        for kind in [Kind::Logistic, Kind::Mlp, Kind::Knn] {
            let m = train(
                kind,
                &x,
                &y,
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
}
