//! The cost–quality curve as RouteLLM computes it (`routellm/evals/evaluate.py` and the MMLU
//! benchmark): thresholds at the deciles of the router's scores; at each threshold a prompt
//! goes to the strong model when its score is `>=` the threshold (the lowest cutoff is
//! lowered and the highest raised by a hair, so the curve runs from 100% to 0% strong);
//! accuracy takes the strong model's label where routed strong, else the weak model's.
//! PGR = (acc − weak) / (strong − weak). CPT(x) = the share of strong calls at which PGR first
//! reaches x, interpolated linearly between curve points. APGR = (AUC − weak) / (strong −
//! weak), with AUC the trapezoid area of accuracy over strong share in [0, 1].

use serde::Serialize;

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Point {
    pub threshold: f64,
    /// Share of prompts sent to the strong model, 0..=1.
    pub strong_share: f64,
    pub accuracy: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Curve {
    pub name: String,
    /// Sorted by strong share, ascending.
    pub points: Vec<Point>,
    pub apgr: f64,
    pub cpt50: Option<f64>,
    pub cpt80: Option<f64>,
    pub cpt95: Option<f64>,
}

/// Cutoffs at the 0th, 10th, …, 100th percentiles (linear interpolation, like numpy's
/// default and pandas' `qcut`), duplicates dropped.
pub fn decile_cutoffs(scores: &[f64]) -> Vec<f64> {
    let mut s: Vec<f64> = scores.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    let mut out: Vec<f64> = (0..=10)
        .map(|i| {
            let pos = (n - 1) as f64 * f64::from(i) / 10.0;
            let lo = pos.floor() as usize;
            let hi = pos.ceil() as usize;
            s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
        })
        .collect();
    out.dedup();
    out
}

/// The curve for `scores` (higher = more in need of the strong model) on labels.
pub fn curve(name: &str, scores: &[f64], weak: &[f64], strong: &[f64]) -> Curve {
    assert!(scores.len() == weak.len() && weak.len() == strong.len() && !scores.is_empty());
    let cutoffs = decile_cutoffs(scores);
    let last = cutoffs.len() - 1;
    let n = scores.len() as f64;
    let mut points: Vec<Point> = cutoffs
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let threshold = if i == 0 {
                c - 1e-9
            } else if i == last {
                c + 1e-9
            } else {
                c
            };
            let (mut strong_calls, mut correct) = (0usize, 0.0);
            for j in 0..scores.len() {
                if scores[j] >= threshold {
                    strong_calls += 1;
                    correct += strong[j];
                } else {
                    correct += weak[j];
                }
            }
            Point {
                threshold,
                strong_share: strong_calls as f64 / n,
                accuracy: correct / n,
            }
        })
        .collect();
    points.sort_by(|a, b| {
        a.strong_share
            .total_cmp(&b.strong_share)
            .then(a.accuracy.total_cmp(&b.accuracy))
    });
    let weak_acc = weak.iter().sum::<f64>() / n;
    let strong_acc = strong.iter().sum::<f64>() / n;
    let gap = strong_acc - weak_acc;
    let auc: f64 = points
        .windows(2)
        .map(|w| (w[1].strong_share - w[0].strong_share) * (w[0].accuracy + w[1].accuracy) / 2.0)
        .sum();
    let apgr = (auc - weak_acc) / gap;
    let cpt = |x: f64| {
        let target = weak_acc + x * gap;
        for w in points.windows(2) {
            if w[0].accuracy >= target {
                return Some(w[0].strong_share);
            }
            if w[1].accuracy >= target {
                let t = (target - w[0].accuracy) / (w[1].accuracy - w[0].accuracy);
                return Some(w[0].strong_share + t * (w[1].strong_share - w[0].strong_share));
            }
        }
        points
            .first()
            .filter(|p| p.accuracy >= target)
            .map(|p| p.strong_share)
    };
    Curve {
        name: name.into(),
        apgr,
        cpt50: cpt(0.5),
        cpt80: cpt(0.8),
        cpt95: cpt(0.95),
        points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deciles_like_numpy() {
        let s: Vec<f64> = (0..11).map(f64::from).collect();
        assert_eq!(decile_cutoffs(&s), s);
        let s = [0.0, 1.0];
        let c = decile_cutoffs(&s);
        assert_eq!(c.len(), 11);
        assert!((c[3] - 0.3).abs() < 1e-12);
        assert_eq!(decile_cutoffs(&[5.0, 5.0, 5.0]), vec![5.0]);
    }

    #[test]
    fn random_router_scores_about_half_and_oracle_near_one() {
        // 1000 prompts: weak right on 60%, strong right on 80%, strong better on 25%.
        let n = 1000;
        let weak: Vec<f64> = (0..n)
            .map(|i| if i % 20 < 12 { 1.0 } else { 0.0 })
            .collect();
        let strong: Vec<f64> = (0..n)
            .map(|i| {
                if i % 20 < 7 || (12..20).contains(&(i % 20)) && i % 20 < 19 {
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        let wa = weak.iter().sum::<f64>() / n as f64;
        let sa = strong.iter().sum::<f64>() / n as f64;
        assert!(sa > wa);
        // A router scoring in index order is as good as random for this periodic layout.
        let scores: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let c = curve("ordered", &scores, &weak, &strong);
        assert!((c.apgr - 0.5).abs() < 0.05, "{}", c.apgr);
        assert_eq!(c.points.first().unwrap().strong_share, 0.0);
        assert_eq!(c.points.last().unwrap().strong_share, 1.0);
        assert!((c.points.first().unwrap().accuracy - wa).abs() < 1e-12);
        assert!((c.points.last().unwrap().accuracy - sa).abs() < 1e-12);
        // The oracle: benefit first.
        let oracle: Vec<f64> = (0..n)
            .map(|i| strong[i] - weak[i] + (i as f64) * 1e-9)
            .collect();
        let o = curve("oracle", &oracle, &weak, &strong);
        assert!(
            o.apgr > 1.0,
            "oracle beats always-strong on the way: {}",
            o.apgr
        );
        assert!(o.cpt50.unwrap() < c.cpt50.unwrap());
    }

    #[test]
    fn cpt_interpolates() {
        // Two prompts; strong fixes the second one only.
        let weak = [1.0, 0.0];
        let strong = [1.0, 1.0];
        let c = curve("x", &[0.0, 1.0], &weak, &strong);
        // Routing the top-scored prompt (50% share) closes the whole gap.
        assert!(c.cpt50.unwrap() <= 0.5 + 1e-9);
        assert!(c.apgr > 0.5);
    }
}

/// Area under the ROC curve of `scores` for the rows where `positive` holds: the chance that
/// a random positive row scores above a random negative one (ties count half). `None` when
/// either class is empty.
pub fn auroc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum, mut npos) = (0.0, 0usize);
    let mut i = 0;
    while i < idx.len() {
        // Average rank over a run of tied scores.
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            if positive[k] {
                rank_sum += avg;
                npos += 1;
            }
        }
        i = j + 1;
    }
    let nneg = scores.len() - npos;
    if npos == 0 || nneg == 0 {
        return None;
    }
    Some((rank_sum - (npos * (npos + 1)) as f64 / 2.0) / (npos as f64 * nneg as f64))
}

#[cfg(test)]
mod auroc_tests {
    use super::auroc;

    #[test]
    fn perfect_reversed_and_tied() {
        assert_eq!(
            auroc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]),
            Some(1.0)
        );
        assert_eq!(
            auroc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]),
            Some(0.0)
        );
        assert_eq!(auroc(&[0.5, 0.5], &[false, true]), Some(0.5));
        // One of four positive-negative pairs misordered.
        assert_eq!(
            auroc(&[0.1, 0.6, 0.5, 0.9], &[false, false, true, true]),
            Some(0.75)
        );
        assert_eq!(auroc(&[0.1], &[true]), None);
    }
}
