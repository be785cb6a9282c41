//! `sluice-evals`: train, evaluate and calibrate Sluice's router heads on labelled routing
//! data, with the same embedder (model file, variant, truncation) the gateway runs.
//!
//! - `embed`: embed a dataset into the on-disk cache, with a progress bar.
//! - `report`: cross-validated cost–quality curves (folds by group) for every head kind,
//!   next to a random router and the oracle; Markdown + JSON table, PNG + SVG plots.
//! - `train`: fit one head on all rows and write it as the ONNX classifier `router.heads`
//!   loads (via `scripts/write_head.py`), checked against the Rust model's own scores.
//! - `cascade-data`, `cascade-report`, `cascade-train`: the cascade's escalation head,
//!   labelled by running the real local model over checkable prompts (see [`cascade`]).
//! - `calibrate`: pick a policy's threshold for a target share of strong calls (or PGR on
//!   labelled data) and print, or write, the YAML line.

#![allow(clippy::print_stdout)]

mod cascade;
mod checkable;
mod data;
mod embed;
mod loso;
mod metrics;
mod plot;
mod quality;
mod table;
mod train;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};
use sluice_config::Source;

use crate::embed::EmbedSettings;
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
    /// Labelled data, repeatable: a RouteLLM MMLU folder (holding responses/), an
    /// Arena-Bench folder (question.jsonl + scores.jsonl), a RouterBench folder or CSV, or a
    /// JSONL file. Default: every source the project has (see evals/README.md).
    #[arg(long)]
    data: Vec<PathBuf>,
    /// The weak model of multi-model sources (case-insensitive substring of its name).
    #[arg(long, default_value = "mixtral-8x7b")]
    weak: String,
    /// The strong model of multi-model sources.
    #[arg(long, default_value = "gpt-4-1106")]
    strong: String,
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
    /// L2 penalty (logistic, MLP). Leave-one-source-out APGR is flat from 1e-4 to 3e-2
    /// (README, Evals); the stronger penalty is the safer prior for unseen traffic.
    #[arg(long, default_value_t = 1e-2)]
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

/// The sources `--data` defaults to, relative to the repository root.
pub const DEFAULT_SOURCES: &[&str] = &[
    "../shared/evals-data/routellm/routellm/evals/mmlu",
    "../shared/evals-data/arena-bench-v1",
    "../shared/evals-data/routerbench",
    "evals/data/everyday.jsonl",
    "evals/data/everyday-apps.jsonl",
];

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

    fn pair(&self) -> data::Pair {
        data::Pair {
            weak: self.weak.clone(),
            strong: self.strong.clone(),
        }
    }

    fn sources(&self) -> anyhow::Result<Vec<data::Dataset>> {
        let paths: Vec<PathBuf> = if self.data.is_empty() {
            DEFAULT_SOURCES.iter().map(PathBuf::from).collect()
        } else {
            self.data.clone()
        };
        paths
            .iter()
            .map(|p| {
                data::load_with(p, &self.pair())
                    .with_context(|| format!("loading labelled data from {}", p.display()))
            })
            .collect()
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the local model over checkable prompts (the everyday suite, ARC-Challenge,
    /// Winogrande), caching its answers and confidence signals; print accuracy by family.
    CascadeData(cascade::DataArgs),
    /// Escalation heads (prompt-only, confidence-only, combined) on held-out task families and
    /// random folds, at several decision points.
    CascadeReport {
        #[command(flatten)]
        eval: cascade::EvalArgs,
        #[arg(long, default_value = "evals/results")]
        out: PathBuf,
    },
    /// Fit the shipped escalation head on every row, write it as ONNX, and print the
    /// threshold calibrated on held-out everyday families.
    CascadeTrain(cascade::TrainArgs),
    /// Embed the datasets into the cache.
    Embed(Common),
    /// Leave-one-source-out evaluation of every router variant (the headline), folds within
    /// each source, the everyday table; Markdown + JSON tables, PNG + SVG plots.
    Report {
        #[command(flatten)]
        common: Common,
        #[arg(long, default_value_t = 5)]
        folds: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// The policy whose target/strong prices give the cost axis and whose head and
        /// threshold the everyday table uses.
        #[arg(long, default_value = "auto")]
        policy: String,
        /// Completion tokens assumed per request for the cost axis.
        #[arg(long, default_value_t = 256)]
        output_tokens: u64,
        /// The everyday table: JSONL with "prompt" and "expect" (weak|strong).
        #[arg(long, default_value = "evals/data/everyday-table.jsonl")]
        table: PathBuf,
        #[arg(long, default_value = "evals/results")]
        out: PathBuf,
    },
    /// Fit a head on every source (balanced) and write it as ONNX.
    Train {
        #[command(flatten)]
        common: Common,
        #[arg(long, value_enum, default_value = "mlp")]
        head: Kind,
        #[arg(long, value_enum, default_value = "hard")]
        label: Label,
        /// Feed the prompt features next to the embedding.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        features: bool,
        /// One intercept per source while training (see the README's Evals section).
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        source_effects: bool,
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
        /// Prompts to calibrate on, repeatable: text files (one per line) or JSONL with
        /// "prompt" (or Arena's "turns"); without it, the prompts of --data.
        #[arg(long)]
        prompts: Vec<PathBuf>,
        /// Wanted share of requests sent to the strong model (0..1).
        #[arg(long, conflicts_with = "target_pgr")]
        target_share: Option<f64>,
        /// Wanted PGR (0..1), measured on the labelled --data.
        #[arg(long)]
        target_pgr: Option<f64>,
        /// Use this threshold instead of choosing one: prints the share of strong calls it
        /// gives on the prompts (and writes it with --write).
        #[arg(long, conflicts_with_all = ["target_share", "target_pgr"])]
        threshold: Option<f64>,
        /// Write the threshold into the config file instead of only printing it.
        #[arg(long)]
        write: bool,
    },
    /// Retrain a policy's head from the gateway's outcome store (judged verdicts and
    /// feedback as labels, propensity-weighted), compare it with the running head on the
    /// most recent slice, and write it (with its drift reference) only if it is better.
    QualityTrain(quality::TrainArgs),
    /// Score the everyday table with the config's policy; exit 1 if any prompt lands on the
    /// wrong side of the threshold.
    Table {
        #[command(flatten)]
        common: Common,
        #[arg(long, default_value = "auto")]
        policy: String,
        #[arg(long, default_value = "evals/data/everyday-table.jsonl")]
        table: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::CascadeData(a) => cascade::data(&a),
        Cmd::CascadeReport { eval, out } => cascade::report(&eval, &out),
        Cmd::CascadeTrain(a) => cascade::train(&a),
        Cmd::QualityTrain(a) => quality::train(&a),
        Cmd::Embed(c) => {
            let settings = settings(&c)?;
            for ds in c.sources()? {
                let texts: Vec<String> = ds.rows.iter().map(|r| r.prompt.clone()).collect();
                let v = embed::embed_all(&settings, &c.cache, &texts, c.workers)?;
                println!(
                    "{}: {} rows embedded ({} dims) with {}",
                    ds.name,
                    v.len(),
                    v[0].len(),
                    settings.model_dir.display()
                );
            }
            Ok(())
        }
        Cmd::Report {
            common,
            folds,
            seed,
            policy,
            output_tokens,
            table,
            out,
        } => {
            let settings = settings(&common)?;
            let sources = common.sources()?;
            let vectors = sources
                .iter()
                .map(|ds| vectors(&common, ds, &settings))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let cfg = sluice_config::load(&config_source(&common))?;
            let costs = loso::Costs::from_config(&cfg, &policy, output_tokens)?;
            let mut md = loso::report(
                &sources,
                &vectors,
                &common.options(seed),
                folds,
                seed,
                &settings,
                &costs,
                &out,
            )?;
            let rows = table::run(&common, &policy, &table)?;
            md.push_str(&table::markdown(&rows, &policy));
            std::fs::write(out.join("report.md"), &md)?;
            print!("{md}");
            println!(
                "\nwritten: {}/report.md, report.json, loso_*.{{png,svg}}",
                out.display()
            );
            Ok(())
        }
        Cmd::Train {
            common,
            head,
            label,
            features,
            source_effects,
            seed,
            out,
        } => train_head(&common, head, label, features, source_effects, seed, &out),
        Cmd::Calibrate {
            common,
            policy,
            prompts,
            target_share,
            target_pgr,
            threshold,
            write,
        } => calibrate(
            &common,
            &policy,
            &prompts,
            (target_share, target_pgr, threshold),
            write,
        ),
        Cmd::Table {
            common,
            policy,
            table,
        } => {
            let rows = table::run(&common, &policy, &table)?;
            print!("{}", table::markdown(&rows, &policy));
            let wrong = rows.iter().filter(|r| !r.ok()).count();
            anyhow::ensure!(
                wrong == 0,
                "{wrong} of {} prompts on the wrong side",
                rows.len()
            );
            Ok(())
        }
    }
}

fn config_source(c: &Common) -> Source {
    c.config.clone().map_or(Source::Embedded, Source::File)
}

fn settings(c: &Common) -> anyhow::Result<EmbedSettings> {
    let cfg = sluice_config::load(&config_source(c))?;
    EmbedSettings::from_config(&cfg)
}

fn vectors(
    c: &Common,
    ds: &data::Dataset,
    settings: &EmbedSettings,
) -> anyhow::Result<Vec<Vec<f32>>> {
    let texts: Vec<String> = ds.rows.iter().map(|r| r.prompt.clone()).collect();
    embed::embed_all(settings, &c.cache, &texts, c.workers)
}

pub(crate) fn python() -> PathBuf {
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

fn train_head(
    c: &Common,
    head: Kind,
    label: Label,
    features: bool,
    fixed_effects: bool,
    seed: u64,
    out: &Path,
) -> anyhow::Result<()> {
    let settings = settings(c)?;
    let sources = c.sources()?;
    let mut texts: Vec<&str> = Vec::new();
    let mut emb: Vec<Vec<f32>> = Vec::new();
    let mut y = Vec::new();
    let mut w = Vec::new();
    let mut source_of = Vec::new();
    let weights = loso::balance(&sources.iter().map(|d| d.rows.len()).collect::<Vec<_>>());
    for (s, (ds, wt)) in sources.iter().zip(&weights).enumerate() {
        emb.extend(vectors(c, ds, &settings)?);
        for r in &ds.rows {
            texts.push(&r.prompt);
            y.push(label.of(r));
            w.push(*wt);
            source_of.push(s);
        }
    }
    let feats: Vec<[f32; sluice_router::features::COUNT]> = texts
        .iter()
        .map(|t| sluice_router::features::prompt_features(t))
        .collect();
    let inputs: Vec<train::Input<'_>> = emb
        .iter()
        .zip(&feats)
        .map(|(e, f)| train::Input { emb: e, feat: f })
        .collect();
    let model = train::Head::fit(
        head,
        &inputs,
        features,
        &y,
        &w,
        fixed_effects.then_some((source_of.as_slice(), sources.len())),
        &c.options(seed),
    );
    let spec = write_spec(&model.spec(), out, "write_head.py")?;
    // The ONNX file must score exactly like the model it was written from.
    let onnx = sluice_router::heads::LearnedHead::load(out, emb[0].len())?;
    anyhow::ensure!(
        onnx.uses_features() == features,
        "the written head's features input does not match --features {features}"
    );
    let step = (emb.len() / 64).max(1);
    let probe: Vec<Vec<f32>> = emb.iter().step_by(step).cloned().collect();
    let probe_texts: Vec<&str> = texts.iter().step_by(step).copied().collect();
    let got = onnx.score(&probe, &probe_texts)?;
    let worst = inputs
        .iter()
        .step_by(step)
        .zip(&got)
        .map(|(i, g)| (model.score(i) - g).abs())
        .fold(0f32, f32::max);
    anyhow::ensure!(
        worst < 1e-4,
        "ONNX head disagrees with the trained model by {worst}"
    );
    std::fs::remove_file(&spec).ok();
    println!(
        "wrote {} ({head:?} head, label {label:?}, features {features}, {} rows from {} sources, seed {seed}); ONNX matches the Rust model within {worst:.1e}",
        out.display(),
        y.len(),
        sources.len(),
    );
    Ok(())
}

/// Prompts from a text file (one per line) or JSONL (`"prompt"`, or Arena's `"turns"`).
fn read_prompts(path: &Path) -> anyhow::Result<Vec<String>> {
    if path.extension().is_some_and(|e| e == "jsonl") {
        return data::read_jsonl(path)?
            .into_iter()
            .map(|(where_, v)| {
                if let Some(p) = v["prompt"].as_str() {
                    return Ok(p.to_owned());
                }
                let turns: Vec<&str> = v["turns"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|t| t.as_str()).collect())
                    .unwrap_or_default();
                anyhow::ensure!(
                    !turns.is_empty(),
                    "{where_}: no \"prompt\" string or \"turns\""
                );
                Ok(turns.join("\n"))
            })
            .collect();
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect())
}

/// A learned policy's head and threshold, as the gateway would load them.
pub struct PolicyHead {
    pub head: sluice_router::heads::LearnedHead,
    pub threshold: f64,
    pub settings: EmbedSettings,
}

fn policy_head(c: &Common, policy: &str) -> anyhow::Result<PolicyHead> {
    let source = config_source(c);
    let cfg = sluice_config::load(&source)?;
    let settings = EmbedSettings::from_config(&cfg)?;
    let pol = cfg
        .policies
        .get(policy)
        .with_context(|| format!("no policy '{policy}' in {}", source.name()))?;
    let sluice_config::Strategy::Learned { head, threshold } = &pol.strategy else {
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
    let dim = embed::embed_all(&settings, &c.cache, &["probe".to_owned()], 1)?[0].len();
    Ok(PolicyHead {
        head: sluice_router::heads::LearnedHead::load(&head_path, dim)?,
        threshold: *threshold,
        settings,
    })
}

/// Scores texts with a policy's head, as the gateway does (embedding + features).
fn score_texts(c: &Common, ph: &PolicyHead, texts: &[String]) -> anyhow::Result<Vec<f64>> {
    let x = embed::embed_all(&ph.settings, &c.cache, texts, c.workers)?;
    let mut out = Vec::with_capacity(texts.len());
    for (ch, tx) in x.chunks(256).zip(texts.chunks(256)) {
        let t: Vec<&str> = tx.iter().map(String::as_str).collect();
        out.extend(ph.head.score(ch, &t)?.into_iter().map(f64::from));
    }
    Ok(out)
}

fn calibrate(
    c: &Common,
    policy: &str,
    prompts: &[PathBuf],
    (share, pgr, fixed): (Option<f64>, Option<f64>, Option<f64>),
    write: bool,
) -> anyhow::Result<()> {
    let source = config_source(c);
    let ph = policy_head(c, policy)?;
    let (texts, labelled) = if prompts.is_empty() {
        let sources = c.sources()?;
        let rows: Vec<data::Row> = sources.into_iter().flat_map(|d| d.rows).collect();
        (rows.iter().map(|r| r.prompt.clone()).collect(), Some(rows))
    } else {
        let mut t = Vec::new();
        for p in prompts {
            t.extend(read_prompts(p)?);
        }
        (t, None)
    };
    let scores = score_texts(c, &ph, &texts)?;
    let mut sorted = scores.clone();
    sorted.sort_by(f64::total_cmp);
    let threshold = match (fixed, share, pgr) {
        (Some(t), _, _) => t,
        (None, Some(s), _) => {
            anyhow::ensure!(
                (0.0..=1.0).contains(&s),
                "--target-share must be within 0..1"
            );
            let idx = (((1.0 - s) * sorted.len() as f64).round() as usize).min(sorted.len() - 1);
            sorted[idx]
        }
        (None, None, Some(p)) => {
            let rows =
                labelled.context("--target-pgr needs labelled data (--data, without --prompts)")?;
            let n = rows.len() as f64;
            let wa = rows.iter().map(|r| r.weak).sum::<f64>() / n;
            let sa = rows.iter().map(|r| r.strong).sum::<f64>() / n;
            let target = wa + p * (sa - wa);
            // Highest threshold (fewest strong calls) whose accuracy reaches the target.
            let mut best = None;
            for &t in sorted.iter().rev().step_by((sorted.len() / 2000).max(1)) {
                let acc = rows
                    .iter()
                    .zip(&scores)
                    .map(|(r, &s)| if s >= t { r.strong } else { r.weak })
                    .sum::<f64>()
                    / n;
                if acc >= target {
                    best = Some(t);
                    break;
                }
            }
            best.context("no threshold reaches that PGR")?
        }
        (None, None, None) => {
            anyhow::bail!("give --target-share, --target-pgr or --threshold")
        }
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

/// Writes a head spec as ONNX at `out` with `scripts/<script>` (`write_head.py`,
/// `write_escalation_head.py`); returns the spec's path (beside `out`), which the caller
/// removes once the ONNX file is checked.
pub(crate) fn write_spec(
    spec: &serde_json::Value,
    out: &Path,
    script: &str,
) -> anyhow::Result<PathBuf> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let spec_path = out.with_extension("json");
    std::fs::write(&spec_path, serde_json::to_vec(spec)?)?;
    let path = ["scripts", "../scripts"]
        .iter()
        .map(|d| Path::new(d).join(script))
        .find(|p| p.exists())
        .with_context(|| format!("scripts/{script} not found (run from the repository root)"))?;
    let status = std::process::Command::new(python())
        .arg(&path)
        .arg("--weights")
        .arg(&spec_path)
        .arg("--out")
        .arg(out)
        .status()
        .with_context(|| {
            format!("running scripts/{script} (needs the .venv from scripts/setup.sh)")
        })?;
    anyhow::ensure!(status.success(), "scripts/{script} failed");
    Ok(spec_path)
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
