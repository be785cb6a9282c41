//! Retraining a router head from what the gateway saw (`sluice-evals quality-train`).
//!
//! The outcome store keeps, per request, the head's inputs (the routing embedding and the
//! prompt features) and, for sampled requests, the judge's verdict comparing the weak and
//! the strong model's answers; clients add feedback. Those are the labels:
//!
//! - a parsed verdict: `strong_better` means the request needed the strong model (1),
//!   `weak_better` and `tie` that the weak one sufficed (0);
//! - without a verdict, feedback on an answer of the weak model: a negative score says it
//!   did not suffice (1), a positive one that it did (0). Feedback on a strong answer says
//!   nothing about the weak model and is not used.
//!
//! Judged rows are weighted by the inverse of their propensity (the probability with which
//! the gateway sampled them), so that a policy judged at 1% and one judged at 50% count as
//! the traffic they stand for. The newest slice (by time) is held out: the new head and the
//! running one are both scored on it — APGR from the verdicts (weak and strong quality per
//! row: `weak_better` = 1/0, `tie` = 1/1, `strong_better` = 0/1) and AUROC — and the new head
//! is written only when its APGR is higher.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use sluice_outcomes::{bytes_f32, Outcome, Store};
use sluice_router::features::COUNT;

use crate::metrics;
use crate::train::{Head, Input, Kind, Options};

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The outcome store: `sqlite:<path>` or a `postgres://` URL.
    #[arg(long)]
    pub store: String,
    /// Only this policy's rows (default: every policy's).
    #[arg(long)]
    pub policy: Option<String>,
    /// The running head, compared with the new one on the recent slice.
    #[arg(long, default_value = "config/router-head.onnx")]
    pub head: PathBuf,
    /// Where the new head goes (and its drift reference, as `<out>.drift.json`).
    #[arg(long, default_value = "config/router-head-retrained.onnx")]
    pub out: PathBuf,
    /// Share of the newest rows held out for the comparison.
    #[arg(long, default_value_t = 0.2)]
    pub recent: f64,
    /// Rows from this long ago (days).
    #[arg(long, default_value_t = 90)]
    pub days: i64,
    #[arg(long, value_enum, default_value = "logistic")]
    pub kind: Kind,
    /// The calibrated threshold keeps this share of weak-routed answers as good as the
    /// strong model's (on the training rows, weighted).
    #[arg(long, default_value_t = 0.95)]
    pub target: f64,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Write the new head even when it is not better.
    #[arg(long)]
    pub force: bool,
}

/// One labelled row: the head's inputs, the label (1 = needed the strong model), its
/// weight, and, for judged rows, the two models' quality for APGR.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub emb: Vec<f32>,
    pub feat: [f32; COUNT],
    pub y: f32,
    pub w: f32,
    pub ts: i64,
    /// (weak, strong) quality from a verdict; `None` for feedback-only rows.
    pub quality: Option<(f64, f64)>,
}

/// The labelled rows among `rows` (oldest first, as the store returns them).
pub fn labelled(rows: &[Outcome], policy: Option<&str>) -> Vec<Labelled> {
    rows.iter()
        .filter(|o| policy.is_none_or(|p| o.policy == p))
        .filter_map(|o| {
            let emb = bytes_f32(o.embedding.as_deref()?);
            let f = bytes_f32(o.features.as_deref()?);
            let feat: [f32; COUNT] = f.try_into().ok()?;
            let verdict = o.judgment.as_ref().map(|j| j.verdict.as_str());
            let from_verdict = match verdict {
                Some("strong_better") => Some((1.0, (0.0, 1.0))),
                Some("weak_better") => Some((0.0, (1.0, 0.0))),
                Some("tie") => Some((0.0, (1.0, 1.0))),
                _ => None,
            };
            if let Some((y, q)) = from_verdict {
                // Inverse propensity: a row sampled at rate p stands for 1/p requests.
                let w = if o.propensity > 0.0 {
                    (1.0 / o.propensity) as f32
                } else {
                    1.0
                };
                return Some(Labelled {
                    emb,
                    feat,
                    y,
                    w,
                    ts: o.ts_ms,
                    quality: Some(q),
                });
            }
            let fb = o.feedback.as_ref()?;
            let weak_arm = o.arm.as_deref() == Some(sluice_outcomes::WEAK);
            (weak_arm && fb.score != 0.0).then_some(Labelled {
                emb,
                feat,
                y: if fb.score < 0.0 { 1.0 } else { 0.0 },
                w: 1.0,
                ts: o.ts_ms,
                quality: None,
            })
        })
        .collect()
}

/// Oldest `1 - recent` for training, the newest `recent` held out.
pub fn split(rows: &[Labelled], recent: f64) -> (&[Labelled], &[Labelled]) {
    let held = ((rows.len() as f64) * recent.clamp(0.0, 0.9)).round() as usize;
    rows.split_at(rows.len() - held)
}

fn inputs(rows: &[Labelled]) -> Vec<Input<'_>> {
    rows.iter()
        .map(|r| Input {
            emb: &r.emb,
            feat: &r.feat,
        })
        .collect()
}

pub fn fit(rows: &[Labelled], kind: Kind, seed: u64) -> Head {
    let y: Vec<f32> = rows.iter().map(|r| r.y).collect();
    let w: Vec<f32> = rows.iter().map(|r| r.w).collect();
    let o = Options {
        seed,
        ..Options::default()
    };
    Head::fit(kind, &inputs(rows), true, &y, &w, None, &o)
}

pub fn score(head: &Head, rows: &[Labelled]) -> Vec<f64> {
    inputs(rows)
        .iter()
        .map(|i| f64::from(head.score(i)))
        .collect()
}

/// APGR and AUROC of `scores` on the judged rows among `rows`.
pub fn evaluate(scores: &[f64], rows: &[Labelled]) -> Option<(f64, Option<f64>)> {
    let judged: Vec<(f64, (f64, f64), bool)> = scores
        .iter()
        .zip(rows)
        .filter_map(|(s, r)| r.quality.map(|q| (*s, q, r.y > 0.5)))
        .collect();
    if judged.is_empty() {
        return None;
    }
    let s: Vec<f64> = judged.iter().map(|j| j.0).collect();
    let weak: Vec<f64> = judged.iter().map(|j| j.1 .0).collect();
    let strong: Vec<f64> = judged.iter().map(|j| j.1 .1).collect();
    let pos: Vec<bool> = judged.iter().map(|j| j.2).collect();
    let c = metrics::curve("head", &s, &weak, &strong);
    Some((c.apgr, metrics::auroc(&s, &pos)))
}

/// The highest threshold at which the weighted share of rows scored below it (those the
/// policy would keep on the weak model) that the weak model served well is still at least
/// `target`; with that share kept weak.
pub fn calibrate(scores: &[f64], rows: &[Labelled], target: f64) -> (f64, f64) {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    let total: f64 = rows.iter().map(|r| f64::from(r.w)).sum();
    let (mut kept, mut good) = (0.0, 0.0);
    let mut best = (scores.iter().copied().fold(f64::INFINITY, f64::min), 0.0);
    for (k, &i) in order.iter().enumerate() {
        kept += f64::from(rows[i].w);
        if rows[i].y < 0.5 {
            good += f64::from(rows[i].w);
        }
        // A threshold between this score and the next keeps rows 0..=k weak.
        let next = order.get(k + 1).map_or(scores[i] + 1e-6, |&j| scores[j]);
        if next > scores[i] && good / kept >= target {
            best = ((scores[i] + next) / 2.0, kept / total);
        }
    }
    best
}

/// Mean embedding and score deciles of the training rows: the reference the gateway's
/// drift figures compare live traffic with (`policies.<name>.quality.drift_reference`).
pub fn drift_reference(scores: &[f64], rows: &[Labelled]) -> serde_json::Value {
    let cut = metrics::decile_cutoffs(scores);
    let mut edges: Vec<f64> = cut[1..cut.len().saturating_sub(1)].to_vec();
    edges.dedup();
    let mut counts = vec![0usize; edges.len() + 1];
    for s in scores {
        counts[edges.partition_point(|e| *e <= *s)] += 1;
    }
    let n = scores.len().max(1) as f64;
    let d = rows.first().map_or(0, |r| r.emb.len());
    let mut mean = vec![0f64; d];
    for r in rows {
        for (m, x) in mean.iter_mut().zip(&r.emb) {
            *m += f64::from(*x) / rows.len() as f64;
        }
    }
    serde_json::json!({
        "edges": edges,
        "proportions": counts.iter().map(|c| *c as f64 / n).collect::<Vec<_>>(),
        "embedding_mean": mean.iter().map(|m| *m as f32).collect::<Vec<_>>(),
        "rows": scores.len(),
    })
}

#[allow(clippy::print_stdout)]
pub fn train(a: &TrainArgs) -> anyhow::Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let since = now - a.days * 86_400_000;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let rows = rt.block_on(async {
        let store = Store::open(&a.store, Path::new(".")).await?;
        store.labelled(since).await
    })?;
    let rows = labelled(&rows, a.policy.as_deref());
    anyhow::ensure!(
        rows.len() >= 50,
        "only {} labelled rows with head inputs in the store{}: judge more traffic (quality.shadow_rate) first",
        rows.len(),
        a.policy.as_ref().map(|p| format!(" for policy {p}")).unwrap_or_default()
    );
    let (fit_rows, recent) = split(&rows, a.recent);
    let judged_recent = recent.iter().filter(|r| r.quality.is_some()).count();
    println!(
        "{} labelled rows: {} to train, {} recent ({} judged, from {}) to compare",
        rows.len(),
        fit_rows.len(),
        recent.len(),
        judged_recent,
        recent
            .first()
            .map_or_else(|| "-".into(), |r| sluice_outcomes::day_of(r.ts))
    );
    let head = fit(fit_rows, a.kind, a.seed);
    let new_scores = score(&head, recent);
    let new_eval = evaluate(&new_scores, recent);

    let dim = rows[0].emb.len();
    let running = sluice_router::heads::LearnedHead::load(&a.head, dim)
        .with_context(|| format!("the running head {}", a.head.display()))?;
    let embs: Vec<Vec<f32>> = recent.iter().map(|r| r.emb.clone()).collect();
    let feats: Vec<[f32; COUNT]> = recent.iter().map(|r| r.feat).collect();
    let old_scores: Vec<f64> = running
        .score_features(&embs, &feats)?
        .into_iter()
        .map(f64::from)
        .collect();
    let old_eval = evaluate(&old_scores, recent);
    let show = |e: Option<(f64, Option<f64>)>| match e {
        Some((apgr, auroc)) => format!(
            "APGR {apgr:.3}, AUROC {}",
            auroc.map_or("-".into(), |a| format!("{a:.3}"))
        ),
        None => "no judged rows".into(),
    };
    println!("running head {}: {}", a.head.display(), show(old_eval));
    println!("new head ({:?}):  {}", a.kind, show(new_eval));
    let better = match (new_eval, old_eval) {
        (Some((n, _)), Some((o, _))) => n > o,
        _ => false,
    };
    if !better && !a.force {
        println!("not written: the new head is not better on the recent slice (--force writes it anyway)");
        return Ok(());
    }
    let train_scores = score(&head, fit_rows);
    let (threshold, kept) = calibrate(&train_scores, fit_rows, a.target);
    let spec = crate::write_spec(&head.spec(), &a.out, "write_head.py")?;
    // The ONNX file must score exactly like the model it was written from.
    let onnx = sluice_router::heads::LearnedHead::load(&a.out, dim)?;
    let got = onnx.score_features(&embs, &feats)?;
    let worst = got
        .iter()
        .zip(&new_scores)
        .map(|(g, s)| (f64::from(*g) - s).abs())
        .fold(0f64, f64::max);
    anyhow::ensure!(
        worst < 1e-4,
        "ONNX head disagrees with the trained model by {worst}"
    );
    std::fs::remove_file(&spec).ok();
    let reference = a.out.with_extension("drift.json");
    std::fs::write(
        &reference,
        serde_json::to_vec(&drift_reference(&train_scores, fit_rows))?,
    )?;
    println!(
        "wrote {} (ONNX matches within {worst:.1e}) and {}\nthreshold {threshold:.4} keeps {:.1}% on the weak model with {:.0}% of them as good as the strong model (training rows); set policies.<name>.threshold and quality.drift_reference",
        a.out.display(),
        reference.display(),
        100.0 * kept,
        100.0 * a.target
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use sluice_outcomes::{day_of, f32_bytes, Feedback, Judgment, Write};

    const DIM: usize = 16;

    /// The rule the synthetic outcomes follow: a request needs the strong model when its
    /// embedding leans one way, and more so when its first feature is high.
    fn margin(e: &[f32], f: &[f32]) -> f64 {
        let u: f64 = e.iter().take(4).map(|x| f64::from(*x)).sum();
        u + 0.8 * f64::from(f[0]) - 0.3
    }

    fn gauss(rng: &mut StdRng) -> f32 {
        // Box–Muller.
        let (a, b): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
        ((-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()) as f32
    }

    /// Fills a real SQLite store with judged requests (two sampling rates), feedback-only
    /// requests and unlabelled ones, whose labels follow [`margin`] with 5% noise.
    async fn synthetic_store(dir: &Path) -> (Store, Vec<f64>) {
        let store = Store::open("sqlite:synthetic.db", dir).await.unwrap();
        let mut rng = StdRng::seed_from_u64(11);
        let mut writes = Vec::new();
        let mut margins = Vec::new();
        let t0 = 1_796_000_000_000i64;
        for i in 0..3000 {
            let e: Vec<f32> = (0..DIM).map(|_| gauss(&mut rng)).collect();
            let f: Vec<f32> = (0..COUNT).map(|_| gauss(&mut rng)).collect();
            let m = margin(&e, &f);
            let hard = (m > 0.0) != (rng.random::<f64>() < 0.05);
            let ts = t0 + i * 60_000;
            let id = format!("r{i}");
            let weak_arm = rng.random::<bool>();
            let kind = i % 10;
            let propensity = if i % 2 == 0 { 0.1 } else { 0.5 };
            writes.push(Write::Outcome(Box::new(Outcome {
                request_id: id.clone(),
                ts_ms: ts,
                day: day_of(ts),
                expires_ms: ts + 1_000 * 86_400_000,
                policy: "auto".into(),
                route: if weak_arm { "small" } else { "big" }.into(),
                arm: Some(if weak_arm { "weak" } else { "strong" }.into()),
                status: 200,
                outcome: "completed".into(),
                propensity,
                sampled: kind < 8,
                embedding: Some(f32_bytes(&e)),
                features: Some(f32_bytes(&f)),
                ..Outcome::default()
            })));
            if kind < 8 {
                let verdict = if hard {
                    "strong_better"
                } else if rng.random::<bool>() {
                    "tie"
                } else {
                    "weak_better"
                };
                writes.push(Write::Judgment {
                    request_id: id.clone(),
                    judgment: Box::new(Judgment {
                        verdict: verdict.into(),
                        ..Judgment::default()
                    }),
                });
                margins.push(m);
            } else if kind == 8 && weak_arm {
                writes.push(Write::Feedback {
                    request_id: id,
                    key_id: None,
                    feedback: Feedback {
                        score: if hard { -1.0 } else { 1.0 },
                        comment: None,
                        at_ms: ts,
                    },
                });
            }
        }
        store.write(writes).await.unwrap();
        (store, margins)
    }

    #[tokio::test]
    async fn retraining_recovers_the_rule_behind_the_labels() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = synthetic_store(dir.path()).await;
        let rows = labelled(&store.labelled(0).await.unwrap(), Some("auto"));
        // 2400 judged rows and the weak-arm feedback rows; unlabelled rows are not used.
        let judged = rows.iter().filter(|r| r.quality.is_some()).count();
        assert_eq!(judged, 2400);
        assert!(rows.len() > judged && rows.len() < 2700, "{}", rows.len());
        // Propensity weights: 1/0.1 and 1/0.5.
        assert!(rows.iter().any(|r| (r.w - 10.0).abs() < 1e-6));
        assert!(rows.iter().any(|r| (r.w - 2.0).abs() < 1e-6));
        assert!(rows.windows(2).all(|w| w[0].ts <= w[1].ts), "oldest first");

        let (fit_rows, recent) = split(&rows, 0.2);
        let head = fit(fit_rows, Kind::Logistic, 7);
        let got = evaluate(&score(&head, recent), recent).unwrap();
        // The oracle scores with the rule itself.
        let oracle_scores: Vec<f64> = recent.iter().map(|r| margin(&r.emb, &r.feat)).collect();
        let oracle = evaluate(&oracle_scores, recent).unwrap();
        assert!(
            got.0 >= 0.9 * oracle.0,
            "APGR {:.3} against the oracle's {:.3}",
            got.0,
            oracle.0
        );
        assert!(got.1.unwrap() > 0.85, "AUROC {:?}", got.1);
        eprintln!(
            "held-out APGR {:.3} (oracle {:.3}, ratio {:.3}); AUROC {:.3} (oracle {:.3})",
            got.0,
            oracle.0,
            got.0 / oracle.0,
            got.1.unwrap_or(0.0),
            oracle.1.unwrap_or(0.0)
        );
        // A head that knows nothing does far worse: the comparison can tell them apart.
        let flat = vec![0.5; recent.len()];
        let none = evaluate(&flat, recent).unwrap();
        assert!(none.0 < 0.7 * oracle.0, "{none:?} vs {oracle:?}");

        // Calibration: kept-weak rows meet the target on the training rows.
        let train_scores = score(&head, fit_rows);
        let (t, kept) = calibrate(&train_scores, fit_rows, 0.95);
        let (mut k, mut g) = (0.0, 0.0);
        for (s, r) in train_scores.iter().zip(fit_rows) {
            if *s < t {
                k += f64::from(r.w);
                if r.y < 0.5 {
                    g += f64::from(r.w);
                }
            }
        }
        assert!(g / k >= 0.95, "{} at threshold {t}", g / k);
        assert!(kept > 0.2 && kept < 0.9, "{kept}");

        let reference = drift_reference(&train_scores, fit_rows);
        let p: Vec<f64> = serde_json::from_value(reference["proportions"].clone()).unwrap();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert_eq!(reference["edges"].as_array().unwrap().len() + 1, p.len());
        assert_eq!(reference["embedding_mean"].as_array().unwrap().len(), DIM);
    }

    #[test]
    fn labels_come_from_verdicts_then_weak_feedback() {
        let base = Outcome {
            embedding: Some(f32_bytes(&[1.0, 2.0])),
            features: Some(f32_bytes(&[0.0; COUNT])),
            propensity: 0.25,
            arm: Some("weak".into()),
            policy: "auto".into(),
            ..Outcome::default()
        };
        let with = |verdict: Option<&str>, fb: Option<f64>, arm: &str| Outcome {
            judgment: verdict.map(|v| Judgment {
                verdict: v.into(),
                ..Judgment::default()
            }),
            feedback: fb.map(|score| Feedback {
                score,
                comment: None,
                at_ms: 0,
            }),
            arm: Some(arm.into()),
            ..base.clone()
        };
        let rows = [
            with(Some("strong_better"), Some(1.0), "weak"),
            with(Some("tie"), None, "strong"),
            with(Some("unparseable"), Some(-1.0), "weak"),
            with(None, Some(0.5), "weak"),
            with(None, Some(-1.0), "strong"),
            with(Some("failed"), None, "weak"),
        ];
        let l = labelled(&rows, None);
        let got: Vec<(f32, f32)> = l.iter().map(|r| (r.y, r.w)).collect();
        // The verdict wins over feedback; unparseable falls back to feedback; feedback on
        // a strong answer and failed judgings say nothing.
        assert_eq!(got, [(1.0, 4.0), (0.0, 4.0), (1.0, 1.0), (0.0, 1.0)]);
        assert!(labelled(&rows, Some("other")).is_empty());
    }
}
