//! The evaluation protocol: leave-one-source-out first, folds within a source second.
//!
//! A router is only worth what it does on traffic it never saw, so the headline trains on
//! every source but one and evaluates on that one, for each source in turn, with RouteLLM's
//! metrics on the held-out source's own weak/strong pair, next to a random router and the
//! oracle. Sources are balanced in training (each source's rows share the same total
//! weight), so the 14k MMLU questions do not drown 300 Arena prompts.
//!
//! Folds within a source (groups kept together: MMLU subjects, RouterBench subsets, Arena
//! prompts, everyday task families) come second: training there also sees the other
//! sources, so it measures what a deployment that adds some of its own labelled traffic
//! would get.

use std::path::Path;

use rand::{Rng, SeedableRng};
use sluice_router::features::{prompt_features, COUNT};

use crate::data::Dataset;
use crate::embed::EmbedSettings;
use crate::metrics::{self, Curve};
use crate::plot;
use crate::train::{self, Head, Input, Kind, Label, Options};

/// Row weights that give every source the same total weight (mean weight 1).
pub fn balance(sizes: &[usize]) -> Vec<f32> {
    let total: usize = sizes.iter().sum();
    let k = sizes.iter().filter(|&&n| n > 0).count().max(1);
    sizes
        .iter()
        .map(|&n| {
            if n == 0 {
                0.0
            } else {
                total as f32 / (k as f32 * n as f32)
            }
        })
        .collect()
}

/// The variant `sluice-evals train` builds by default (best mean leave-one-source-out APGR).
pub const SHIPPED: &str = "mlp, embedding + features, hard, source effects";

/// One way of building a router, compared across held-out sources.
#[derive(Debug, Clone, Copy)]
pub struct Variant {
    pub name: &'static str,
    pub kind: Kind,
    pub label: Label,
    pub embedding: bool,
    pub features: bool,
    /// Train on MMLU alone (what shipped before this protocol existed).
    pub mmlu_only: bool,
    /// Per-source intercepts while training (see [`Head::fit`]).
    pub fixed_effects: bool,
}

pub const VARIANTS: &[Variant] = &[
    Variant {
        name: "ensemble (logistic + mlp), embedding + features, hard, source effects",
        kind: Kind::Ensemble,
        label: Label::Hard,
        embedding: true,
        features: true,
        mmlu_only: false,
        fixed_effects: true,
    },
    Variant {
        name: "logistic, embedding + features, hard, source effects",
        kind: Kind::Logistic,
        label: Label::Hard,
        embedding: true,
        features: true,
        mmlu_only: false,
        fixed_effects: true,
    },
    Variant {
        name: "logistic, embedding + features, need, source effects",
        kind: Kind::Logistic,
        label: Label::Need,
        embedding: true,
        features: true,
        mmlu_only: false,
        fixed_effects: true,
    },
    Variant {
        name: "logistic, features only, hard, source effects",
        kind: Kind::Logistic,
        label: Label::Hard,
        embedding: false,
        features: true,
        mmlu_only: false,
        fixed_effects: true,
    },
    Variant {
        name: "logistic, embedding, hard, source effects",
        kind: Kind::Logistic,
        label: Label::Hard,
        embedding: true,
        features: false,
        mmlu_only: false,
        fixed_effects: true,
    },
    Variant {
        name: "mlp, embedding + features, hard, source effects",
        kind: Kind::Mlp,
        label: Label::Hard,
        embedding: true,
        features: true,
        mmlu_only: false,
        fixed_effects: true,
    },
    Variant {
        name: "previous: logistic, MMLU only, embedding",
        kind: Kind::Logistic,
        label: Label::StrongBetter,
        embedding: true,
        features: false,
        mmlu_only: true,
        fixed_effects: false,
    },
    Variant {
        name: "logistic, embedding, strong-better",
        kind: Kind::Logistic,
        label: Label::StrongBetter,
        embedding: true,
        features: false,
        mmlu_only: false,
        fixed_effects: false,
    },
    Variant {
        name: "logistic, embedding, need",
        kind: Kind::Logistic,
        label: Label::Need,
        embedding: true,
        features: false,
        mmlu_only: false,
        fixed_effects: false,
    },
    Variant {
        name: "logistic, features only, need",
        kind: Kind::Logistic,
        label: Label::Need,
        embedding: false,
        features: true,
        mmlu_only: false,
        fixed_effects: false,
    },
    Variant {
        name: "logistic, embedding + features, need",
        kind: Kind::Logistic,
        label: Label::Need,
        embedding: true,
        features: true,
        mmlu_only: false,
        fixed_effects: false,
    },
    Variant {
        name: "mlp, embedding + features, need",
        kind: Kind::Mlp,
        label: Label::Need,
        embedding: true,
        features: true,
        mmlu_only: false,
        fixed_effects: false,
    },
];

/// Cost of a request on the policy's weak and strong model, per 1,000 requests, for the
/// cost axis: prompt tokens estimated at 4 bytes each, completion tokens assumed.
pub struct Costs {
    pub weak_model: String,
    pub strong_model: String,
    /// USD per million tokens (input, output).
    weak: (f64, f64),
    strong: (f64, f64),
    output_tokens: u64,
}

impl Costs {
    pub fn from_config(
        cfg: &sluice_config::Config,
        policy: &str,
        output_tokens: u64,
    ) -> anyhow::Result<Costs> {
        let pol = cfg
            .policies
            .get(policy)
            .ok_or_else(|| anyhow::anyhow!("no policy '{policy}' in the config"))?;
        let price = |m: &str| {
            cfg.models
                .get(m)
                .and_then(|m| m.pricing)
                .map_or((0.0, 0.0), |p| (p.input, p.output))
        };
        let strong = pol
            .strong
            .clone()
            .or_else(|| pol.fallbacks.first().cloned())
            .unwrap_or_default();
        Ok(Costs {
            weak: price(&pol.target),
            strong: price(&strong),
            weak_model: pol.target.clone(),
            strong_model: strong,
            output_tokens,
        })
    }

    fn per_1k(&self, price: (f64, f64), prompt_tokens: f64) -> f64 {
        (prompt_tokens * price.0 + self.output_tokens as f64 * price.1) / 1e6 * 1000.0
    }
}

struct Pool<'a> {
    /// Source index of each row.
    source: Vec<usize>,
    group: Vec<&'a str>,
    emb: Vec<&'a [f32]>,
    feat: Vec<[f32; COUNT]>,
    rows: Vec<&'a crate::data::Row>,
}

const EMPTY: &[f32] = &[];

impl Pool<'_> {
    fn input(&self, i: usize, v: &Variant) -> Input<'_> {
        Input {
            emb: if v.embedding { self.emb[i] } else { EMPTY },
            feat: &self.feat[i],
        }
    }

    /// Trains `v` on the rows `train` selects (balanced by source) and scores `test`.
    fn fit_score(
        &self,
        v: &Variant,
        train: &[usize],
        test: &[usize],
        n_sources: usize,
        o: &Options,
    ) -> Vec<f64> {
        let mut sizes = vec![0usize; n_sources];
        for &i in train {
            sizes[self.source[i]] += 1;
        }
        let bw = balance(&sizes);
        let inputs: Vec<Input<'_>> = train.iter().map(|&i| self.input(i, v)).collect();
        let y: Vec<f32> = train.iter().map(|&i| v.label.of(self.rows[i])).collect();
        let w: Vec<f32> = train.iter().map(|&i| bw[self.source[i]]).collect();
        let src: Vec<usize> = train.iter().map(|&i| self.source[i]).collect();
        let fe = v.fixed_effects.then_some((src.as_slice(), n_sources));
        let head = Head::fit(v.kind, &inputs, v.features, &y, &w, fe, o);
        test.iter()
            .map(|&i| f64::from(head.score(&self.input(i, v))))
            .collect()
    }
}

fn fmt_pct(x: Option<f64>) -> String {
    x.map_or("—".into(), |v| format!("{:.1}%", v * 100.0))
}

fn curve_row(name: &str, c: &Curve, auc: Option<f64>) -> String {
    format!(
        "| {} | {:.3} | {} | {} | {} |\n",
        name,
        c.apgr,
        fmt_pct(c.cpt50),
        fmt_pct(c.cpt80),
        auc.map_or("—".into(), |a| format!("{a:.3}"))
    )
}

fn baselines(rng: &mut rand::rngs::StdRng, weak: &[f64], strong: &[f64]) -> (Curve, Curve) {
    let random: Vec<f64> = (0..weak.len()).map(|_| rng.random::<f64>()).collect();
    let oracle: Vec<f64> = (0..weak.len())
        .map(|i| strong[i] - weak[i] + rng.random::<f64>() * 1e-6)
        .collect();
    (
        metrics::curve("random", &random, weak, strong),
        metrics::curve("oracle", &oracle, weak, strong),
    )
}

/// Runs the whole protocol, writes `report.json` and the plots into `out`, and returns the
/// Markdown (the caller appends the everyday table and writes `report.md`).
#[allow(clippy::too_many_arguments)]
pub fn report(
    sources: &[Dataset],
    vectors: &[Vec<Vec<f32>>],
    o: &Options,
    folds: usize,
    seed: u64,
    settings: &EmbedSettings,
    costs: &Costs,
    out: &Path,
) -> anyhow::Result<String> {
    std::fs::create_dir_all(out)?;
    let mut pool = Pool {
        source: Vec::new(),
        group: Vec::new(),
        emb: Vec::new(),
        feat: Vec::new(),
        rows: Vec::new(),
    };
    for (s, (ds, vs)) in sources.iter().zip(vectors).enumerate() {
        for (r, v) in ds.rows.iter().zip(vs) {
            pool.source.push(s);
            pool.group.push(&r.group);
            pool.emb.push(v);
            pool.feat.push(prompt_features(&r.prompt));
            pool.rows.push(r);
        }
    }
    let n = pool.rows.len();
    let mmlu = sources.iter().position(|d| d.name == "mmlu");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut md = format!(
        "# Router evaluation\n\n\
         Embedder `{}` ({}, {} tokens). Seed {seed}. Sources: {}.\n\n\
         ## Leave-one-source-out (headline)\n\n\
         Each head is trained on every source but one (sources balanced) and evaluated on the \
         held-out source's own weak/strong pair. APGR: area under the quality curve between \
         weak (0) and strong (1); random ≈ 0.5. CPT(x%): share of strong calls needed to reach \
         x% of the quality gap. AUROC: chance that a prompt where the strong model did better \
         scores above one where it did not (for the everyday set: hard ranked above easy).\n",
        settings
            .model_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(""),
        settings.variant,
        settings.max_tokens,
        sources
            .iter()
            .map(|d| format!(
                "`{}` ({} rows; weak `{}` {:.3}, strong `{}` {:.3}; label: {})",
                d.name,
                d.rows.len(),
                d.weak_model,
                d.weak_accuracy(),
                d.strong_model,
                d.strong_accuracy(),
                d.label
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let mut json_loso = serde_json::Map::new();
    let mut summary: Vec<(String, Vec<Option<f64>>)> = VARIANTS
        .iter()
        .map(|v| (v.name.to_owned(), Vec::new()))
        .collect();
    for (held, ds) in sources.iter().enumerate() {
        let test: Vec<usize> = (0..n).filter(|&i| pool.source[i] == held).collect();
        let weak: Vec<f64> = ds.rows.iter().map(|r| r.weak).collect();
        let strong: Vec<f64> = ds.rows.iter().map(|r| r.strong).collect();
        let better: Vec<bool> = ds.rows.iter().map(|r| r.strong > r.weak).collect();
        md.push_str(&format!(
            "\n### Held out: `{}` ({} rows, weak `{}` {:.3}, strong `{}` {:.3})\n\n\
             | router | APGR | CPT(50%) | CPT(80%) | AUROC |\n|---|---|---|---|---|\n",
            ds.name,
            ds.rows.len(),
            ds.weak_model,
            ds.weak_accuracy(),
            ds.strong_model,
            ds.strong_accuracy()
        ));
        let mut curves = Vec::new();
        let mut subsets: Vec<(String, Vec<(String, Curve)>)> = Vec::new();
        for (vi, v) in VARIANTS.iter().enumerate() {
            let train: Vec<usize> = (0..n)
                .filter(|&i| pool.source[i] != held)
                .filter(|&i| !v.mmlu_only || Some(pool.source[i]) == mmlu)
                .collect();
            if train.is_empty() {
                md.push_str(&format!(
                    "| {} | — (trained on this source) | | |\n",
                    v.name
                ));
                summary[vi].1.push(None);
                continue;
            }
            let t = std::time::Instant::now();
            let scores = pool.fit_score(v, &train, &test, sources.len(), o);
            let c = metrics::curve(v.name, &scores, &weak, &strong);
            eprintln!(
                "held out {}: {}: APGR {:.3} ({:.1}s)",
                ds.name,
                v.name,
                c.apgr,
                t.elapsed().as_secs_f64()
            );
            let auc = metrics::auroc(&scores, &better);
            md.push_str(&curve_row(v.name, &c, auc));
            summary[vi].1.push(Some(c.apgr));
            // Subsets (RouterBench's ARC / MBPP / Winogrande) reported apart.
            let groups = ds.groups();
            if ds.name == "routerbench" && groups.len() > 1 {
                let per: Vec<(String, Curve)> = groups
                    .iter()
                    .map(|g| {
                        let idx: Vec<usize> = (0..ds.rows.len())
                            .filter(|&j| &ds.rows[j].group == g)
                            .collect();
                        let pick = |a: &[f64]| idx.iter().map(|&j| a[j]).collect::<Vec<f64>>();
                        (
                            g.clone(),
                            metrics::curve(v.name, &pick(&scores), &pick(&weak), &pick(&strong)),
                        )
                    })
                    .collect();
                subsets.push((v.name.to_owned(), per));
            }
            curves.push(c);
        }
        let (random, oracle) = baselines(&mut rng, &weak, &strong);
        md.push_str(&curve_row("random", &random, None));
        md.push_str(&curve_row("oracle", &oracle, None));
        if !subsets.is_empty() {
            md.push_str("\nRouterBench subsets (APGR of the same held-out scores):\n\n| router |");
            let names: Vec<&str> = subsets[0].1.iter().map(|(g, _)| g.as_str()).collect();
            for g in &names {
                md.push_str(&format!(" {g} |"));
            }
            md.push_str(&format!("\n|---|{}\n", "---|".repeat(names.len())));
            for (v, per) in &subsets {
                md.push_str(&format!("| {v} |"));
                for (_, c) in per {
                    md.push_str(&format!(" {:.3} |", c.apgr));
                }
                md.push('\n');
            }
        }
        curves.push(random);
        curves.push(oracle);
        let hl = vec![
            (
                format!("weak {:.3}", ds.weak_accuracy()),
                ds.weak_accuracy(),
            ),
            (
                format!("strong {:.3}", ds.strong_accuracy()),
                ds.strong_accuracy(),
            ),
        ];
        // Plots show the shipped head against the previous one and the baselines; the
        // tables have every variant.
        let plotted: Vec<&Curve> = curves
            .iter()
            .filter(|c| {
                c.name == SHIPPED
                    || c.name.starts_with("previous:")
                    || c.name == "random"
                    || c.name == "oracle"
            })
            .collect();
        let by_share: Vec<plot::Series> = plotted
            .iter()
            .map(|cv| plot::Series {
                curve: cv,
                xs: cv.points.iter().map(|p| p.strong_share * 100.0).collect(),
            })
            .collect();
        plot::write(
            &out.join(format!("loso_{}_quality_vs_strong_share", ds.name)),
            &format!("held out {}: quality vs share of strong calls", ds.name),
            "% of requests to the strong model",
            &by_share,
            &hl,
        )?;
        let prompt_tokens = ds
            .rows
            .iter()
            .map(|r| r.prompt.len() as f64 / 4.0)
            .sum::<f64>()
            / ds.rows.len() as f64;
        let (cw, cs) = (
            costs.per_1k(costs.weak, prompt_tokens),
            costs.per_1k(costs.strong, prompt_tokens),
        );
        let by_cost: Vec<plot::Series> = plotted
            .iter()
            .map(|cv| plot::Series {
                curve: cv,
                xs: cv
                    .points
                    .iter()
                    .map(|p| cw + p.strong_share * (cs - cw))
                    .collect(),
            })
            .collect();
        plot::write(
            &out.join(format!("loso_{}_quality_vs_cost", ds.name)),
            &format!(
                "held out {}: quality vs USD per 1k requests ({} / {})",
                ds.name, costs.weak_model, costs.strong_model
            ),
            "USD per 1,000 requests",
            &by_cost,
            &hl,
        )?;
        json_loso.insert(ds.name.clone(), serde_json::json!({"curves": curves}));
    }

    // Summary: one line per variant, APGR per held-out source.
    let mut sm = String::from("\n### Summary: leave-one-source-out APGR\n\n| router |");
    for ds in sources {
        sm.push_str(&format!(" {} |", ds.name));
    }
    sm.push_str(&format!("\n|---|{}\n", "---|".repeat(sources.len())));
    for (name, apgrs) in &summary {
        sm.push_str(&format!("| {name} |"));
        for a in apgrs {
            sm.push_str(&a.map_or(" — |".into(), |a| format!(" {a:.3} |")));
        }
        sm.push('\n');
    }
    md.push_str(&sm);

    // Folds within each source, for the shipped kind of head, training on the other sources
    // too.
    let chosen = *VARIANTS
        .iter()
        .find(|v| v.name == SHIPPED)
        .unwrap_or(&VARIANTS[0]);
    md.push_str(&format!(
        "\n## Folds within a source (second)\n\n`{}`, {folds} folds by group within the source; \
         each fold's head also trains on every other source.\n\n\
         | source | APGR | CPT(50%) | CPT(80%) | random APGR | oracle APGR |\n|---|---|---|---|---|---|\n",
        chosen.name
    ));
    let mut json_folds = serde_json::Map::new();
    for (s, ds) in sources.iter().enumerate() {
        let idx: Vec<usize> = (0..n).filter(|&i| pool.source[i] == s).collect();
        let fold = train::group_folds(&ds.rows, folds, seed);
        let mut scores = vec![0f64; idx.len()];
        for f in 0..fold.iter().max().map_or(1, |m| m + 1) {
            let test: Vec<usize> = idx
                .iter()
                .zip(&fold)
                .filter(|(_, &k)| k == f)
                .map(|(&i, _)| i)
                .collect();
            let train_rows: Vec<usize> = (0..n)
                .filter(|&i| pool.source[i] != s)
                .chain(
                    idx.iter()
                        .zip(&fold)
                        .filter(|(_, &k)| k != f)
                        .map(|(&i, _)| i),
                )
                .collect();
            let got = pool.fit_score(&chosen, &train_rows, &test, sources.len(), o);
            for (&i, g) in test.iter().zip(got) {
                scores[i - idx[0]] = g;
            }
        }
        let weak: Vec<f64> = ds.rows.iter().map(|r| r.weak).collect();
        let strong: Vec<f64> = ds.rows.iter().map(|r| r.strong).collect();
        let c = metrics::curve(chosen.name, &scores, &weak, &strong);
        let (random, oracle) = baselines(&mut rng, &weak, &strong);
        eprintln!("folds within {}: APGR {:.3}", ds.name, c.apgr);
        md.push_str(&format!(
            "| {} | {:.3} | {} | {} | {:.3} | {:.3} |\n",
            ds.name,
            c.apgr,
            fmt_pct(c.cpt50),
            fmt_pct(c.cpt80),
            random.apgr,
            oracle.apgr
        ));
        json_folds.insert(ds.name.clone(), serde_json::json!({"curve": c}));
    }
    let json = serde_json::json!({
        "seed": seed,
        "embedder": settings.model_dir.display().to_string(),
        "variant": settings.variant,
        "sources": sources.iter().map(|d| serde_json::json!({
            "name": d.name, "rows": d.rows.len(), "weak_model": d.weak_model,
            "strong_model": d.strong_model, "weak_accuracy": d.weak_accuracy(),
            "strong_accuracy": d.strong_accuracy(), "label": d.label,
        })).collect::<Vec<_>>(),
        "leave_one_source_out": json_loso,
        "folds_within_source": json_folds,
    });
    std::fs::write(out.join("report.json"), serde_json::to_vec_pretty(&json)?)?;
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balance_gives_each_source_the_same_total() {
        let sizes = [1000, 10, 0, 90];
        let w = balance(&sizes);
        let totals: Vec<f32> = sizes.iter().zip(&w).map(|(&n, w)| n as f32 * w).collect();
        assert!((totals[0] - totals[1]).abs() < 1e-3 && (totals[1] - totals[3]).abs() < 1e-3);
        assert_eq!(w[2], 0.0);
        let mean: f32 = totals.iter().sum::<f32>() / 1100.0;
        assert!((mean - 1.0).abs() < 1e-5, "mean weight 1: {mean}");
    }
}
