//! `sluice-evals`: train, evaluate and calibrate Sluice's router heads on labelled routing
//! data, with the same embedder (model file, variant, truncation) the gateway runs.
//!
//! - `embed`: embed a dataset into the on-disk cache, with a progress bar.
//! - `report`: cross-validated cost–quality curves (folds by group) for every head kind,
//!   next to a random router and the oracle; Markdown + JSON table, PNG + SVG plots.
//! - `train`: fit one head on all rows and write it as the ONNX classifier `router.heads`
//!   loads (via `scripts/write_head.py`), checked against the Rust model's own scores.
//! - `calibrate`: pick a policy's threshold for a target share of strong calls (or PGR on
//!   labelled data) and print, or write, the YAML line.

#![allow(clippy::print_stdout)]

mod data;
mod embed;
mod metrics;
mod plot;
mod train;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};
use rand::{Rng, SeedableRng};
use sluice_config::Source;

use crate::embed::EmbedSettings;
use crate::metrics::Curve;
use crate::train::{Kind, Label};

#[derive(Parser)]
#[command(
    name = "sluice-evals",
    about = "Train, evaluate and calibrate Sluice router heads"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(clap::Args, Clone)]
struct Common {
    /// Labelled data: a RouteLLM folder (holding responses/) or a JSONL file.
    #[arg(
        long,
        default_value = "../shared/evals-data/routellm/routellm/evals/mmlu"
    )]
    data: PathBuf,
    /// Gateway config whose router.embedder is used (and whose prices the cost plot uses);
    /// without it, the embedded default.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Embedding cache folder.
    #[arg(long, default_value = "evals/cache")]
    cache: PathBuf,
    /// Embedding worker threads.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// L2 penalty (logistic, MLP).
    #[arg(long, default_value_t = 1e-4)]
    l2: f32,
    /// MLP hidden units.
    #[arg(long, default_value_t = 64)]
    hidden: usize,
    /// kNN neighbours.
    #[arg(long, default_value_t = 100)]
    k: usize,
    /// Training epochs (0: the head's default: 300 logistic, 25 MLP).
    #[arg(long, default_value_t = 0)]
    epochs: usize,
}

impl Common {
    fn options(&self, seed: u64) -> train::Options {
        train::Options {
            seed,
            l2: self.l2,
            epochs: self.epochs,
            hidden: self.hidden,
            k: self.k,
        }
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Embed a dataset into the cache.
    Embed(Common),
    /// Cross-validated cost–quality report for every head kind, random and oracle.
    Report {
        #[command(flatten)]
        common: Common,
        #[arg(long, value_enum, default_value = "strong-better")]
        label: Label,
        #[arg(long, default_value_t = 5)]
        folds: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// The policy whose target/strong prices give the cost axis.
        #[arg(long, default_value = "auto")]
        policy: String,
        /// Completion tokens assumed per request for the cost axis.
        #[arg(long, default_value_t = 16)]
        output_tokens: u64,
        #[arg(long, default_value = "evals/results")]
        out: PathBuf,
    },
    /// Fit a head on all rows and write it as ONNX.
    Train {
        #[command(flatten)]
        common: Common,
        #[arg(long, value_enum, default_value = "logistic")]
        head: Kind,
        #[arg(long, value_enum, default_value = "strong-better")]
        label: Label,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long, default_value = "config/router-head.onnx")]
        out: PathBuf,
    },
    /// Choose a learned policy's threshold.
    Calibrate {
        #[command(flatten)]
        common: Common,
        #[arg(long, default_value = "auto")]
        policy: String,
        /// Prompts to calibrate on: a text file (one per line) or JSONL with "prompt";
        /// without it, the prompts of --data.
        #[arg(long)]
        prompts: Option<PathBuf>,
        /// Wanted share of requests sent to the strong model (0..1).
        #[arg(long, conflicts_with = "target_pgr")]
        target_share: Option<f64>,
        /// Wanted PGR (0..1), measured on the labelled --data.
        #[arg(long)]
        target_pgr: Option<f64>,
        /// Write the threshold into the config file instead of only printing it.
        #[arg(long)]
        write: bool,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Embed(c) => {
            let (ds, settings) = load(&c)?;
            let texts: Vec<String> = ds.rows.iter().map(|r| r.prompt.clone()).collect();
            let v = embed::embed_all(&settings, &c.cache, &texts, c.workers)?;
            println!(
                "{} rows embedded ({} dims) with {}",
                v.len(),
                v[0].len(),
                settings.model_dir.display()
            );
            Ok(())
        }
        Cmd::Report {
            common,
            label,
            folds,
            seed,
            policy,
            output_tokens,
            out,
        } => report(&common, label, folds, seed, &policy, output_tokens, &out),
        Cmd::Train {
            common,
            head,
            label,
            seed,
            out,
        } => train_head(&common, head, label, seed, &out),
        Cmd::Calibrate {
            common,
            policy,
            prompts,
            target_share,
            target_pgr,
            write,
        } => calibrate(
            &common,
            &policy,
            prompts.as_deref(),
            target_share,
            target_pgr,
            write,
        ),
    }
}

fn config_source(c: &Common) -> Source {
    c.config.clone().map_or(Source::Embedded, Source::File)
}

fn load(c: &Common) -> anyhow::Result<(data::Dataset, EmbedSettings)> {
    let ds = data::load(&c.data)?;
    let cfg = sluice_config::load(&config_source(c))?;
    Ok((ds, EmbedSettings::from_config(&cfg)?))
}

fn vectors(
    c: &Common,
    ds: &data::Dataset,
    settings: &EmbedSettings,
) -> anyhow::Result<Vec<Vec<f32>>> {
    let texts: Vec<String> = ds.rows.iter().map(|r| r.prompt.clone()).collect();
    embed::embed_all(settings, &c.cache, &texts, c.workers)
}

fn fmt_pct(x: Option<f64>) -> String {
    x.map_or("—".into(), |v| format!("{:.1}%", v * 100.0))
}

#[allow(clippy::too_many_arguments)]
fn report(
    c: &Common,
    label: Label,
    folds: usize,
    seed: u64,
    policy: &str,
    output_tokens: u64,
    out: &Path,
) -> anyhow::Result<()> {
    let (ds, settings) = load(c)?;
    let x = vectors(c, &ds, &settings)?;
    let y: Vec<f32> = ds.rows.iter().map(|r| label.of(r)).collect();
    let weak: Vec<f64> = ds.rows.iter().map(|r| r.weak).collect();
    let strong: Vec<f64> = ds.rows.iter().map(|r| r.strong).collect();
    let fold = train::group_folds(&ds.rows, folds, seed);
    let opts = c.options(seed);
    let mut curves: Vec<Curve> = Vec::new();
    for kind in [Kind::Logistic, Kind::Mlp, Kind::Knn] {
        let t = std::time::Instant::now();
        let scores = train::cross_validate(kind, &x, &y, &fold, &opts);
        let name = format!("{kind:?}").to_lowercase();
        let cv = metrics::curve(&name, &scores, &weak, &strong);
        eprintln!(
            "{name}: APGR {:.4}, CPT(50%) {} ({:.1}s)",
            cv.apgr,
            fmt_pct(cv.cpt50),
            t.elapsed().as_secs_f64()
        );
        curves.push(cv);
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let random: Vec<f64> = (0..x.len()).map(|_| rng.random::<f64>()).collect();
    curves.push(metrics::curve("random", &random, &weak, &strong));
    let oracle: Vec<f64> = (0..x.len())
        .map(|i| strong[i] - weak[i] + rng.random::<f64>() * 1e-6)
        .collect();
    curves.push(metrics::curve("oracle", &oracle, &weak, &strong));

    // Cost axis: the policy's weak (target) and strong models' prices.
    let cfg = sluice_config::load(&config_source(c))?;
    let pol = cfg
        .policies
        .get(policy)
        .with_context(|| format!("no policy '{policy}' in the config"))?;
    let price = |m: &str| cfg.models.get(m).and_then(|m| m.pricing);
    let strong_name = pol
        .strong
        .clone()
        .or_else(|| pol.fallbacks.first().cloned())
        .unwrap_or_default();
    let mean_prompt_tokens = ds
        .rows
        .iter()
        .map(|r| r.prompt.len() as f64 / 4.0)
        .sum::<f64>()
        / ds.rows.len() as f64;
    let cost = |m: &str| {
        price(m).map_or(0.0, |p| {
            (mean_prompt_tokens * p.input + output_tokens as f64 * p.output) / 1e6 * 1000.0
        })
    };
    let (cw, cs) = (cost(&pol.target), cost(&strong_name));

    std::fs::create_dir_all(out)?;
    let wa = ds.weak_accuracy();
    let sa = ds.strong_accuracy();
    let mut md = format!(
        "Dataset `{}`: {} prompts in {} groups; weak `{}` {:.2}%, strong `{}` {:.2}%. Heads are scored out of fold: \
         {} folds by group (MMLU subject), so every prompt is scored by a head that never saw its subject. \
         Label `{:?}`, seed {seed}, embedder `{}` ({}, {} tokens).\n\n\
         | router | APGR | CPT(50%) | CPT(80%) | CPT(95%) |\n|---|---|---|---|---|\n",
        ds.name,
        ds.rows.len(),
        ds.groups().len(),
        ds.weak_model,
        wa * 100.0,
        ds.strong_model,
        sa * 100.0,
        folds,
        label,
        settings.model_dir.file_name().and_then(|n| n.to_str()).unwrap_or(""),
        settings.variant,
        settings.max_tokens,
    );
    for cv in &curves {
        md.push_str(&format!(
            "| {} | {:.4} | {} | {} | {} |\n",
            cv.name,
            cv.apgr,
            fmt_pct(cv.cpt50),
            fmt_pct(cv.cpt80),
            fmt_pct(cv.cpt95)
        ));
    }
    md.push_str(&format!(
        "\nCost axis: `{}` (${cw:.4}) vs `{strong_name}` (${cs:.4}) per 1,000 requests at ~{mean_prompt_tokens:.0} prompt + {output_tokens} completion tokens, prices from the config.\n",
        pol.target, cw = cw, cs = cs
    ));
    std::fs::write(out.join("report.md"), &md)?;
    let json = serde_json::json!({
        "dataset": ds.name, "rows": ds.rows.len(), "weak_accuracy": wa, "strong_accuracy": sa,
        "folds": folds, "label": label, "seed": seed, "curves": curves,
        "cost_per_1k": {"weak": cw, "strong": cs},
    });
    std::fs::write(out.join("report.json"), serde_json::to_vec_pretty(&json)?)?;
    let hl = vec![
        (format!("weak {:.1}%", wa * 100.0), wa),
        (format!("strong {:.1}%", sa * 100.0), sa),
    ];
    let by_share: Vec<plot::Series> = curves
        .iter()
        .map(|cv| plot::Series {
            curve: cv,
            xs: cv.points.iter().map(|p| p.strong_share * 100.0).collect(),
        })
        .collect();
    plot::write(
        &out.join("quality_vs_strong_share"),
        "MMLU: accuracy vs share of strong-model calls",
        "% of requests to the strong model",
        &by_share,
        &hl,
    )?;
    let by_cost: Vec<plot::Series> = curves
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
        &out.join("quality_vs_cost"),
        "MMLU: accuracy vs cost",
        "USD per 1,000 requests",
        &by_cost,
        &hl,
    )?;
    print!("{md}");
    println!("\nwritten: {}/report.md, report.json, quality_vs_strong_share.{{png,svg}}, quality_vs_cost.{{png,svg}}", out.display());
    Ok(())
}

fn python() -> PathBuf {
    for root in [std::env::current_dir().ok(), std::env::current_exe().ok()]
        .into_iter()
        .flatten()
    {
        for dir in root.ancestors() {
            let p = dir.join(".venv/bin/python");
            if p.exists() {
                return p;
            }
        }
    }
    PathBuf::from("python3")
}

fn train_head(c: &Common, head: Kind, label: Label, seed: u64, out: &Path) -> anyhow::Result<()> {
    let (ds, settings) = load(c)?;
    let x = vectors(c, &ds, &settings)?;
    let y: Vec<f32> = ds.rows.iter().map(|r| label.of(r)).collect();
    let model = train::train(head, &x, &y, &c.options(seed));
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let spec = out.with_extension("json");
    std::fs::write(&spec, serde_json::to_vec(&model.spec())?)?;
    let script = ["scripts/write_head.py", "../scripts/write_head.py"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .context("scripts/write_head.py not found (run from the repository root)")?;
    let status = std::process::Command::new(python())
        .arg(&script)
        .arg("--weights")
        .arg(&spec)
        .arg("--out")
        .arg(out)
        .status()
        .context("running scripts/write_head.py (needs the .venv from scripts/setup.sh)")?;
    anyhow::ensure!(status.success(), "scripts/write_head.py failed");
    // The ONNX file must score exactly like the model it was written from.
    let onnx = sluice_router::heads::LearnedHead::load(out, x[0].len())?;
    let probe: Vec<Vec<f32>> = x.iter().step_by((x.len() / 64).max(1)).cloned().collect();
    let got = onnx.score(&probe)?;
    let worst = probe
        .iter()
        .zip(&got)
        .map(|(v, g)| (model.score(v) - g).abs())
        .fold(0f32, f32::max);
    anyhow::ensure!(
        worst < 1e-4,
        "ONNX head disagrees with the trained model by {worst}"
    );
    std::fs::remove_file(&spec).ok();
    println!(
        "wrote {} ({head:?} head, label {label:?}, {} rows, seed {seed}); ONNX matches the Rust model within {worst:.1e}",
        out.display(),
        ds.rows.len()
    );
    Ok(())
}

fn read_prompts(path: &Path) -> anyhow::Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let is_jsonl = path.extension().is_some_and(|e| e == "jsonl");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            if is_jsonl {
                let v: serde_json::Value = serde_json::from_str(l)?;
                v["prompt"]
                    .as_str()
                    .map(str::to_owned)
                    .context("JSONL line without a \"prompt\" string")
            } else {
                Ok(l.to_owned())
            }
        })
        .collect()
}

fn calibrate(
    c: &Common,
    policy: &str,
    prompts: Option<&Path>,
    share: Option<f64>,
    pgr: Option<f64>,
    write: bool,
) -> anyhow::Result<()> {
    let source = config_source(c);
    let cfg = sluice_config::load(&source)?;
    let settings = EmbedSettings::from_config(&cfg)?;
    let pol = cfg
        .policies
        .get(policy)
        .with_context(|| format!("no policy '{policy}' in {}", source.name()))?;
    let sluice_config::Strategy::Learned { head, .. } = &pol.strategy else {
        anyhow::bail!("policy '{policy}' is not a learned policy");
    };
    let head_path = cfg
        .router
        .as_ref()
        .and_then(|r| r.heads.get(head))
        .context("head not configured")?;
    let base = match &source {
        Source::File(p) => p.parent().map(Path::to_owned).unwrap_or_default(),
        Source::Embedded => PathBuf::from("config"),
    };
    let head_path = if Path::new(head_path).is_absolute() {
        PathBuf::from(head_path)
    } else {
        base.join(head_path)
    };
    let onnx = sluice_router::heads::LearnedHead::load(&head_path, 384)?;
    let (texts, labelled) = match prompts {
        Some(p) => (read_prompts(p)?, None),
        None => {
            let ds = data::load(&c.data)?;
            (ds.rows.iter().map(|r| r.prompt.clone()).collect(), Some(ds))
        }
    };
    let x = embed::embed_all(&settings, &c.cache, &texts, c.workers)?;
    let scores: Vec<f64> = x
        .chunks(256)
        .map(|ch| onnx.score(ch))
        .collect::<Result<Vec<_>, _>>()?
        .concat()
        .into_iter()
        .map(f64::from)
        .collect();
    let mut sorted = scores.clone();
    sorted.sort_by(f64::total_cmp);
    let threshold = match (share, pgr) {
        (Some(s), _) => {
            anyhow::ensure!(
                (0.0..=1.0).contains(&s),
                "--target-share must be within 0..1"
            );
            let idx = (((1.0 - s) * sorted.len() as f64).round() as usize).min(sorted.len() - 1);
            sorted[idx]
        }
        (None, Some(p)) => {
            let ds =
                labelled.context("--target-pgr needs labelled data (--data, without --prompts)")?;
            let (wa, sa) = (ds.weak_accuracy(), ds.strong_accuracy());
            let target = wa + p * (sa - wa);
            // Highest threshold (fewest strong calls) whose accuracy reaches the target.
            let mut best = None;
            for &t in sorted.iter().rev().step_by((sorted.len() / 2000).max(1)) {
                let acc = ds
                    .rows
                    .iter()
                    .zip(&scores)
                    .map(|(r, &s)| if s >= t { r.strong } else { r.weak })
                    .sum::<f64>()
                    / ds.rows.len() as f64;
                if acc >= target {
                    best = Some(t);
                    break;
                }
            }
            best.context("no threshold reaches that PGR")?
        }
        (None, None) => anyhow::bail!("give --target-share or --target-pgr"),
    };
    let strong_share =
        scores.iter().filter(|&&s| s >= threshold).count() as f64 / scores.len() as f64;
    println!(
        "# {} prompts scored; {:.1}% would go to the strong model",
        scores.len(),
        strong_share * 100.0
    );
    println!("policies.{policy}.threshold: {threshold:.4}");
    if write {
        let Source::File(path) = &source else {
            anyhow::bail!("--write needs --config FILE")
        };
        let text = std::fs::read_to_string(path)?;
        std::fs::write(path, set_threshold(&text, policy, threshold)?)?;
        println!("written to {}", path.display());
    }
    Ok(())
}

/// Replaces the `threshold:` line inside `policies.<policy>` of a YAML text, keeping every
/// other line (and comments) as they are.
fn set_threshold(yaml: &str, policy: &str, t: f64) -> anyhow::Result<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let pol_top = lines
        .iter()
        .position(|l| l.trim_end() == "policies:")
        .context("no `policies:` section")?;
    let pol_line = (pol_top + 1..lines.len())
        .find(|&i| lines[i].trim_start().starts_with(&format!("{policy}:")) && indent(lines[i]) > 0)
        .with_context(|| format!("no policy block `{policy}:` under policies"))?;
    let base = indent(lines[pol_line]);
    let end = (pol_line + 1..lines.len())
        .find(|&i| !lines[i].trim().is_empty() && indent(lines[i]) <= base)
        .unwrap_or(lines.len());
    let t_line = (pol_line + 1..end)
        .find(|&i| lines[i].trim_start().starts_with("threshold:"))
        .with_context(|| format!("policy `{policy}` has no `threshold:` line to replace"))?;
    let old = lines[t_line];
    // Keep the comment and the spacing before it.
    let comment = old
        .find(" #")
        .map_or("", |h| &old[old[..h].trim_end().len()..]);
    let new = format!("{}threshold: {t:.4}{comment}", &old[..indent(old)]);
    let mut out: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
    out[t_line] = new;
    Ok(out.join("\n") + if yaml.ends_with('\n') { "\n" } else { "" })
}

#[cfg(test)]
mod tests {
    #[test]
    fn set_threshold_edits_only_that_line() {
        let y = "policies:\n  other:\n    threshold: 0.1\n  auto:\n    strategy: learned\n    threshold: 0.5  # tuned\n    strong: big\nrouter: {}\n";
        let got = super::set_threshold(y, "auto", 0.4242).unwrap();
        assert_eq!(
            got,
            y.replace("threshold: 0.5  # tuned", "threshold: 0.4242  # tuned")
        );
        assert!(super::set_threshold(y, "missing", 0.1).is_err());
    }
}
