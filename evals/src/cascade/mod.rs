//! The cascade's escalation head: labels from the real local model, evaluation on held-out
//! task families, and the ONNX head the gateway loads.
//!
//! - `cascade-data`: run the local model over the checkable prompts, caching answers and
//!   signals ([`run`]).
//! - `cascade-report`: prompt-only vs confidence-only vs combined heads, leave-one-family-out
//!   and random folds, at several decision points ([`eval`]); Markdown + JSON + plots.
//! - `cascade-train`: fit the shipped head on every row, write it as ONNX, check the file
//!   scores like the Rust model, and print the calibrated threshold.

pub mod eval;
pub mod items;
pub mod run;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;

use self::eval::{figures, held_out_scores, DecideAt, Figures, Head, Inputs, Row};
use self::items::{GoldReport, Item};
use self::run::{Record, RunOptions};
use crate::train::{Kind, Options};

#[derive(clap::Args, Clone)]
pub struct DataArgs {
    /// The everyday suite (evals/data/gen_checkable.py writes it).
    #[arg(long, default_value = "evals/data/checkable.jsonl")]
    pub everyday: PathBuf,
    /// A RouterBench folder holding arc_challenge_*.csv and winograde_*.csv.
    #[arg(long, default_value = "../shared/evals-data/routerbench")]
    pub routerbench: PathBuf,
    /// The model whose recorded correctness is the strong side on RouterBench.
    #[arg(long, default_value = "gpt-4-1106")]
    pub strong: String,
    /// RouterBench splits of ARC-Challenge and Winogrande to run (`train`, `test`). The test
    /// splits alone (825 items) already make two whole held-out families; the 5-shot prompts
    /// (~500 tokens each) are the slow part of a run.
    #[arg(long, value_delimiter = ',', default_values_t = vec!["test".to_owned()])]
    pub choice_splits: Vec<String>,
    /// At most this many items per family (spread evenly), for a quick run.
    #[arg(long)]
    pub limit: Option<usize>,
    /// The local model folder; default: the derived SmolLM2 folder scripts/setup.sh makes.
    #[arg(long)]
    pub model_dir: Option<PathBuf>,
    #[arg(long, default_value = "model_q4_1_q8head.onnx")]
    pub variant: String,
    /// Prompt tokens whose log-likelihood is recorded (the gateway's `prompt_window`).
    #[arg(long, default_value_t = 32)]
    pub prompt_window: usize,
    /// Sequences decoded together.
    #[arg(long, default_value_t = 16)]
    pub max_batch: usize,
    /// ONNX Runtime threads (0: every core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    #[arg(long, default_value = "evals/cache/cascade")]
    pub cache: PathBuf,
}

impl DataArgs {
    pub fn run_options(&self) -> RunOptions {
        RunOptions {
            model_dir: self.model_dir.clone().unwrap_or_else(|| {
                sluice_router::embedding::cache_dir().join("smollm2-135m-instruct")
            }),
            variant: self.variant.clone(),
            prompt_window: self.prompt_window,
            threads: if self.threads == 0 {
                std::thread::available_parallelism().map_or(2, |n| n.get())
            } else {
                self.threads
            },
            max_batch: self.max_batch,
            cache: self.cache.clone(),
        }
    }

    /// Every item, cut to `limit` per family.
    pub fn items(&self) -> anyhow::Result<(Vec<Item>, BTreeMap<String, GoldReport>)> {
        let mut items = items::load_everyday(&self.everyday)
            .with_context(|| format!("loading {}", self.everyday.display()))?;
        let (mc, gold) =
            items::load_choice_sets(&self.routerbench, &self.strong, &self.choice_splits)?;
        items.extend(mc);
        if let Some(limit) = self.limit {
            let mut by_family: BTreeMap<String, Vec<Item>> = BTreeMap::new();
            for i in items {
                by_family.entry(i.family.clone()).or_default().push(i);
            }
            items = by_family
                .into_values()
                .flat_map(|v| {
                    let step = v.len().div_ceil(limit).max(1);
                    v.into_iter().step_by(step).take(limit).collect::<Vec<_>>()
                })
                .collect();
        }
        Ok((items, gold))
    }
}

/// `cascade-data`: generate (or find cached) answers for every item; print accuracy per
/// family.
pub fn data(a: &DataArgs) -> anyhow::Result<()> {
    let (items, gold) = a.items()?;
    for (source, g) in &gold {
        println!(
            "{source}: gold letter agreed by every model marked correct on {} of {} rows ({} disagreed, {} without a correct model; {:.1} votes per kept row)",
            g.agreed,
            g.rows,
            g.disagreed,
            g.unknown,
            g.votes as f64 / g.agreed.max(1) as f64
        );
    }
    let records = run::run(&items, &a.run_options())?;
    print!("{}", accuracy_table(&items, &records));
    Ok(())
}

/// Items, right answers, completion tokens and wall milliseconds of one row of the table.
#[derive(Default)]
struct Tally {
    n: usize,
    right: usize,
    tokens: usize,
    ms: f64,
}

fn accuracy_table(items: &[Item], records: &HashMap<String, Record>) -> String {
    let mut fam: BTreeMap<(&str, &str, u8), Tally> = BTreeMap::new();
    for i in items {
        let Some(r) = records.get(&i.id) else {
            continue;
        };
        let e = fam
            .entry((i.source.as_str(), i.family.as_str(), i.level))
            .or_default();
        e.n += 1;
        e.right += usize::from(i.check.is_correct(&r.output));
        e.tokens += r.completion_tokens;
        e.ms += r.ms;
    }
    let mut s = String::from(
        "\n| source | family | level | items | local correct | mean tokens | mean ms |\n|---|---|---:|---:|---:|---:|---:|\n",
    );
    for ((src, f, level), t) in fam {
        let n = t.n as f64;
        let _ = writeln!(
            s,
            "| {src} | {f} | {level} | {} | {:.1}% | {:.1} | {:.0} |",
            t.n,
            100.0 * t.right as f64 / n,
            t.tokens as f64 / n,
            t.ms / n
        );
    }
    s
}

#[derive(clap::Args, Clone)]
pub struct EvalArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Decision points to compare, in generated tokens (1 = right after the prefill).
    #[arg(long, value_delimiter = ',', default_values_t = vec![1usize, 4, 8, 16, 48])]
    pub decide_at: Vec<usize>,
    /// The decision point of the shipped head and of the detailed tables.
    #[arg(long, default_value_t = 8)]
    pub at: usize,
    /// Strong-model correctness assumed on the everyday suite (it has no recorded one):
    /// a frontier model is taken to answer these exact everyday tasks right.
    #[arg(long, default_value_t = 1.0)]
    pub everyday_strong: f64,
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    #[arg(long, default_value_t = 1e-2)]
    pub l2: f32,
    /// The router whose embedder and shipped head give the prompt-only inputs.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    #[arg(long, default_value = "evals/cache")]
    pub embed_cache: PathBuf,
    /// The config's models whose prices give the cost axis: the strong model…
    #[arg(long, default_value = "gpt-4o")]
    pub strong_model: String,
    /// …and the local model (its configured price is what a draft costs).
    #[arg(long, default_value = "smollm2-135m")]
    pub local_model: String,
    /// Completion tokens assumed for the strong model's answers on the cost axis.
    #[arg(long, default_value_t = 256)]
    pub strong_output_tokens: u64,
    /// Also write every labelled row (id, family, correctness, signal features at `--at`)
    /// to this JSONL file, for analysis elsewhere.
    #[arg(long)]
    pub dump: Option<PathBuf>,
}

impl EvalArgs {
    fn options(&self) -> Options {
        Options {
            seed: self.seed,
            l2: self.l2,
            epochs: 0,
            hidden: 32,
            k: 50,
        }
    }
}

/// Items, their records (generated if missing), embeddings and shipped-router scores.
struct Loaded {
    prices: Prices,
    items: Vec<Item>,
    records: HashMap<String, Record>,
    emb: HashMap<String, Vec<f32>>,
    router: HashMap<String, f64>,
    gold: BTreeMap<String, GoldReport>,
}

fn load(a: &EvalArgs) -> anyhow::Result<Loaded> {
    let (items, gold) = a.data.items()?;
    let records = run::run(&items, &a.data.run_options())?;
    let source = a
        .config
        .clone()
        .map_or(sluice_config::Source::Embedded, sluice_config::Source::File);
    let cfg = sluice_config::load(&source)?;
    let settings = crate::embed::EmbedSettings::from_config(&cfg)?;
    let price = |name: &str| -> anyhow::Result<[f64; 2]> {
        let m = cfg
            .models
            .get(name)
            .with_context(|| format!("no model '{name}' in the config (for the cost axis)"))?;
        Ok(m.pricing.map_or([0.0, 0.0], |p| [p.input, p.output]))
    };
    let prices = Prices {
        strong: price(&a.strong_model)?,
        local: price(&a.local_model)?,
        strong_output: a.strong_output_tokens,
    };
    let texts: Vec<String> = items.iter().map(|i| i.prompt.clone()).collect();
    let vectors = crate::embed::embed_all(&settings, &a.embed_cache, &texts, 2)?;
    let head_file = cfg
        .router
        .as_ref()
        .and_then(|r| r.heads.get("default"))
        .context("the config has no router head `default`")?;
    let base = match &source {
        sluice_config::Source::File(p) => p.parent().map(Path::to_owned).unwrap_or_default(),
        sluice_config::Source::Embedded => PathBuf::from("config"),
    };
    let head_path = base.join(head_file);
    let head = sluice_router::heads::LearnedHead::load(&head_path, vectors[0].len())
        .with_context(|| format!("loading the router head {}", head_path.display()))?;
    let mut router = HashMap::new();
    for (chunk_items, chunk_vecs) in items.chunks(256).zip(vectors.chunks(256)) {
        let t: Vec<&str> = chunk_items.iter().map(|i| i.prompt.as_str()).collect();
        let s = head.score(chunk_vecs, &t)?;
        for (i, v) in chunk_items.iter().zip(s) {
            router.insert(i.id.clone(), f64::from(v));
        }
    }
    let emb = items.iter().map(|i| i.id.clone()).zip(vectors).collect();
    Ok(Loaded {
        prices,
        items,
        records,
        emb,
        router,
        gold,
    })
}

fn rows<'a>(l: &'a Loaded, everyday_strong: f64) -> Vec<Row<'a>> {
    l.items
        .iter()
        .filter_map(|i| {
            let rec = l.records.get(&i.id)?;
            let strong = match i.strong {
                Some(s) => s,
                None if i.source == "everyday" => everyday_strong,
                None => return None,
            };
            Some(Row {
                item: i,
                rec,
                correct: i.check.is_correct(&rec.output),
                strong,
                emb: l.emb.get(&i.id)?,
                router: *l.router.get(&i.id)?,
            })
        })
        .collect()
}

const VARIANTS: [(Inputs, Kind, &str); 4] = [
    (
        Inputs::PromptOnly,
        Kind::Logistic,
        "prompt-only (logistic on the embedding)",
    ),
    (
        Inputs::ConfidenceOnly,
        Kind::Logistic,
        "confidence-only (logistic on the signals)",
    ),
    (Inputs::Combined, Kind::Logistic, "combined (logistic)"),
    (Inputs::Combined, Kind::Mlp, "combined (MLP, 32 units)"),
];

fn figures_row(f: &Figures) -> String {
    let pct = |x: Option<f64>| x.map_or("–".into(), |v| format!("{:.0}%", 100.0 * v));
    format!(
        "| {} | {} | {:.1}% / {:.1}% / {:.1}% | {:.3} | {} | {} |\n",
        f.name,
        f.auroc.map_or("–".into(), |v| format!("{v:.3}")),
        100.0 * f.selective[0],
        100.0 * f.selective[1],
        100.0 * f.selective[2],
        f.apgr,
        pct(f.cpt50),
        pct(f.cpt80)
    )
}

const HEADER: &str = "| head | AUROC (local wrong) | kept-local accuracy at 30% / 50% / 80% kept | APGR | CPT(50%) | CPT(80%) |\n|---|---:|---:|---:|---:|---:|\n";

/// `cascade-report`.
pub fn report(a: &EvalArgs, out: &Path) -> anyhow::Result<()> {
    let loaded = load(a)?;
    let rows = rows(&loaded, a.everyday_strong);
    anyhow::ensure!(!rows.is_empty(), "no rows with answers");
    if let Some(path) = &a.dump {
        let mut out = String::new();
        for r in &rows {
            let v = serde_json::json!({
                "id": r.item.id, "source": r.item.source, "family": r.item.family,
                "level": r.item.level, "correct": r.correct, "strong": r.strong,
                "router": r.router, "output": r.rec.output,
                "features": r.signals(DecideAt(a.at)),
            });
            out.push_str(&v.to_string());
            out.push('\n');
        }
        std::fs::write(path, out)?;
    }
    let o = a.options();
    let (lofo, families) = eval::family_split(&rows);
    let folds = eval::random_split(rows.len(), a.folds, a.seed);
    let all: Vec<&Row<'_>> = rows.iter().collect();
    let mut md =
        String::from("# Cascade: when does the local model's own confidence say it is wrong?\n\n");
    let _ = writeln!(
        md,
        "{} rows from {} families; local model {} ({}). Label: the local answer fails its check. \
         Strong side: GPT-4-1106's recorded correctness on ARC-Challenge and Winogrande; on the everyday suite, assumed {} (a frontier model answers these exact everyday tasks).\n",
        rows.len(),
        families.len(),
        a.data.run_options().model_dir.display(),
        a.data.variant,
        a.everyday_strong
    );
    for (source, g) in &loaded.gold {
        let _ = writeln!(
            md,
            "- {source}: gold letter = the answer of every model marked correct, which agreed on {} of {} rows ({} disagreed and {} had no correct model: dropped).",
            g.agreed, g.rows, g.disagreed, g.unknown
        );
    }
    md.push_str(&accuracy_table(&loaded.items, &loaded.records));
    let mut json = serde_json::Map::new();

    // Decision points: the headline figures of each input set at each.
    md.push_str("\n## Leave-one-family-out, by decision point\n\nEvery row is scored by a head trained on the other families only.\n");
    let router_scores: Vec<f64> = rows.iter().map(|r| r.router).collect();
    let (router_fig, router_curve) = figures(
        "shipped router head (prompt-only, untrained on these labels)",
        &router_scores,
        &all,
    );
    let mut per_at = serde_json::Map::new();
    let mut curves_at = Vec::new();
    for &n in &a.decide_at {
        let at = DecideAt(n);
        let _ = writeln!(
            md,
            "\n### Decide after {n} token{}\n",
            if n == 1 { " (the prefill)" } else { "s" }
        );
        md.push_str(HEADER);
        md.push_str(&figures_row(&router_fig));
        let mut figs = vec![router_fig.clone()];
        let mut curves = vec![router_curve.clone()];
        for (inputs, kind, name) in VARIANTS {
            if inputs == Inputs::PromptOnly && n != a.decide_at[0] {
                // Prompt-only heads do not depend on the decision point.
                let f = figs_prompt_only(&rows, &lofo, &o, &all, name);
                md.push_str(&figures_row(&f.0));
                figs.push(f.0);
                curves.push(f.1);
                continue;
            }
            let s = held_out_scores(&rows, inputs, at, kind, &lofo, &o);
            let (f, c) = figures(name, &s, &all);
            md.push_str(&figures_row(&f));
            figs.push(f);
            curves.push(c);
        }
        per_at.insert(n.to_string(), serde_json::to_value(&figs)?);
        curves_at.push((n, curves));
    }
    json.insert("lofo".into(), serde_json::Value::Object(per_at));

    // The chosen decision point in detail.
    let at = DecideAt(a.at);
    let combined = held_out_scores(&rows, Inputs::Combined, at, Kind::Logistic, &lofo, &o);
    let prompt_only = held_out_scores(&rows, Inputs::PromptOnly, at, Kind::Logistic, &lofo, &o);
    let confidence = held_out_scores(&rows, Inputs::ConfidenceOnly, at, Kind::Logistic, &lofo, &o);
    let _ = writeln!(
        md,
        "\n## Per held-out family, deciding after {} tokens (AUROC, local wrong)\n",
        a.at
    );
    md.push_str("| family | rows | local correct | prompt-only | confidence-only | combined |\n|---|---:|---:|---:|---:|---:|\n");
    for (fi, fam) in families.iter().enumerate() {
        let idx: Vec<usize> = (0..rows.len()).filter(|&i| lofo[i] == fi).collect();
        let pick = |s: &[f64]| idx.iter().map(|&i| s[i]).collect::<Vec<_>>();
        let wrong: Vec<bool> = idx.iter().map(|&i| !rows[i].correct).collect();
        let fmt = |s: &[f64]| eval_auroc(&pick(s), &wrong);
        let _ = writeln!(
            md,
            "| {fam} | {} | {:.1}% | {} | {} | {} |",
            idx.len(),
            100.0 * wrong.iter().filter(|w| !**w).count() as f64 / idx.len() as f64,
            fmt(&prompt_only),
            fmt(&confidence),
            fmt(&combined)
        );
    }

    // The everyday target: kept accuracy where at least half stays local.
    let every: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].item.source == "everyday")
        .collect();
    if !every.is_empty() {
        let s: Vec<f64> = every.iter().map(|&i| combined[i]).collect();
        let c: Vec<bool> = every.iter().map(|&i| rows[i].correct).collect();
        let _ = writeln!(
            md,
            "\n## Everyday suite, combined head (held-out families)\n\nLocal accuracy with no routing: {:.1}%. Kept-local accuracy with 30% / 50% / 80% kept: {:.1}% / {:.1}% / {:.1}%.\n",
            100.0 * c.iter().filter(|x| **x).count() as f64 / c.len() as f64,
            100.0 * eval::selective_accuracy(&s, &c, 0.3),
            100.0 * eval::selective_accuracy(&s, &c, 0.5),
            100.0 * eval::selective_accuracy(&s, &c, 0.8),
        );
    }

    // Random folds, second.
    let _ = writeln!(
        md,
        "\n## {} random folds (families mixed), deciding after {} tokens\n",
        a.folds, a.at
    );
    md.push_str(HEADER);
    let mut fold_figs = Vec::new();
    for (inputs, kind, name) in VARIANTS {
        let s = held_out_scores(&rows, inputs, at, kind, &folds, &o);
        let (f, _) = figures(name, &s, &all);
        md.push_str(&figures_row(&f));
        fold_figs.push(f);
    }
    json.insert("folds".into(), serde_json::to_value(&fold_figs)?);

    std::fs::create_dir_all(out)?;
    if let Some((_, curves)) = curves_at.iter().find(|(n, _)| *n == a.at) {
        plot_curves(out, curves)?;
        let scores = [
            router_scores.clone(),
            prompt_only.clone(),
            confidence.clone(),
            combined.clone(),
        ];
        md.push_str(&plot_costs(
            out,
            &loaded.prices,
            &rows,
            at,
            &scores,
            curves,
        )?);
    }
    std::fs::write(out.join("cascade.md"), &md)?;
    std::fs::write(out.join("cascade.json"), serde_json::to_vec_pretty(&json)?)?;
    print!("{md}");
    println!(
        "\nwritten: {}/cascade.md, cascade.json, cascade_*.{{png,svg}}",
        out.display()
    );
    Ok(())
}

fn eval_auroc(s: &[f64], wrong: &[bool]) -> String {
    crate::metrics::auroc(s, wrong).map_or("–".into(), |v| format!("{v:.3}"))
}

fn figs_prompt_only(
    rows: &[Row<'_>],
    lofo: &[usize],
    o: &Options,
    all: &[&Row<'_>],
    name: &str,
) -> (Figures, crate::metrics::Curve) {
    let s = held_out_scores(
        rows,
        Inputs::PromptOnly,
        DecideAt(1),
        Kind::Logistic,
        lofo,
        o,
    );
    figures(name, &s, all)
}

/// Quality against strong share, and against cost relative to sending everything to the
/// strong model (the local draft priced at the configured local price).
fn plot_curves(out: &Path, curves: &[crate::metrics::Curve]) -> anyhow::Result<()> {
    let series: Vec<crate::plot::Series<'_>> = curves
        .iter()
        .map(|c| crate::plot::Series {
            curve: c,
            xs: c.points.iter().map(|p| p.strong_share).collect(),
        })
        .collect();
    crate::plot::write(
        &out.join("cascade_quality_vs_strong_share"),
        "Cascade: accuracy vs share sent to the strong model (held-out families)",
        "share of requests escalated to the strong model",
        &series,
        &[],
    )
}

#[derive(clap::Args, Clone)]
pub struct TrainArgs {
    #[command(flatten)]
    pub eval: EvalArgs,
    #[arg(long, value_enum, default_value = "combined")]
    pub inputs: InputsArg,
    /// Where the ONNX head goes.
    #[arg(long, default_value = "config/cascade-head.onnx")]
    pub out: PathBuf,
    /// Kept-local accuracy the threshold is calibrated for, on the everyday suite with
    /// held-out-family scores.
    #[arg(long, default_value_t = 0.95)]
    pub target_accuracy: f64,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum InputsArg {
    ConfidenceOnly,
    Combined,
}

/// `cascade-train`.
pub fn train(a: &TrainArgs) -> anyhow::Result<()> {
    let loaded = load(&a.eval)?;
    let rows = rows(&loaded, a.eval.everyday_strong);
    let o = a.eval.options();
    let at = DecideAt(a.eval.at);
    let inputs = match a.inputs {
        InputsArg::ConfidenceOnly => Inputs::ConfidenceOnly,
        InputsArg::Combined => Inputs::Combined,
    };
    // The threshold: from held-out-family scores on the everyday suite, the highest one at
    // which the answers kept local are still right `target_accuracy` of the time.
    let (lofo, _) = eval::family_split(&rows);
    let held = held_out_scores(&rows, inputs, at, Kind::Logistic, &lofo, &o);
    let every: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].item.source == "everyday")
        .collect();
    let every_scores: Vec<f64> = every.iter().map(|&i| held[i]).collect();
    let every_correct: Vec<bool> = every.iter().map(|&i| rows[i].correct).collect();
    let (threshold, kept, acc) = calibrate(&every_scores, &every_correct, a.target_accuracy);
    let all: Vec<&Row<'_>> = rows.iter().collect();
    let head = Head::fit(inputs, at, Kind::Logistic, &all, &o);
    let dim = rows[0].emb.len();
    write_head(&head, dim, &a.out, &rows)?;
    println!(
        "wrote {} ({} head, logistic, decides after {} generated token(s), {} rows)",
        a.out.display(),
        inputs.name(),
        at.0,
        rows.len(),
    );
    if kept > 0.0 {
        println!(
            "threshold {threshold:.4}: on held-out everyday families it keeps {:.1}% local at {:.1}% kept-local accuracy (target {:.0}%)",
            100.0 * kept,
            100.0 * acc,
            100.0 * a.target_accuracy
        );
    } else {
        println!(
            "threshold 0: no threshold keeps held-out everyday answers local at {:.0}% accuracy, so every draft is escalated",
            100.0 * a.target_accuracy
        );
    }
    let curve: Vec<String> = [0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0]
        .iter()
        .map(|&share| {
            format!(
                "{:.0}% kept: {:.1}%",
                100.0 * share,
                100.0 * eval::selective_accuracy(&every_scores, &every_correct, share)
            )
        })
        .collect();
    println!(
        "kept-local accuracy on held-out everyday families: {}",
        curve.join(", ")
    );
    Ok(())
}

/// The highest threshold (most kept local) whose kept rows are right `target` of the time.
pub fn calibrate(scores: &[f64], correct: &[bool], target: f64) -> (f64, f64, f64) {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut ok, mut best) = (0usize, (0.0, 0.0, 1.0));
    for (k, &i) in idx.iter().enumerate() {
        ok += usize::from(correct[i]);
        let n = k + 1;
        let acc = ok as f64 / n as f64;
        // Only between distinct scores can a threshold separate kept from escalated.
        let next = idx.get(k + 1).map(|&j| scores[j]);
        if acc >= target && next != Some(scores[i]) {
            let t = next.map_or(scores[i] + 1e-6, |s| (scores[i] + s) / 2.0);
            best = (t, n as f64 / scores.len() as f64, acc);
        }
    }
    best
}

fn write_head(head: &Head, emb_dim: usize, out: &Path, rows: &[Row<'_>]) -> anyhow::Result<()> {
    let spec_path = crate::write_spec(&head.spec(emb_dim), out, "write_escalation_head.py")?;
    std::fs::remove_file(&spec_path).ok();
    // The file must score like the Rust model it was written from.
    let onnx = sluice_local::escalation::EscalationHead::load(out)?;
    let mut worst = 0f64;
    for r in rows.iter().step_by((rows.len() / 64).max(1)) {
        let sig = r.signals(head.at);
        let got = onnx.score(&sig, (onnx.embedding_dim() > 0).then_some(r.emb))?;
        worst = worst.max((f64::from(got) - head.score(r)).abs());
    }
    anyhow::ensure!(
        worst < 1e-4,
        "the ONNX head disagrees with the trained model by {worst}"
    );
    println!("ONNX head matches the Rust model within {worst:.1e}");
    Ok(())
}

/// USD per million tokens: `[input, output]`.
struct Prices {
    strong: [f64; 2],
    local: [f64; 2],
    strong_output: u64,
}

impl Prices {
    fn strong(&self, r: &Row<'_>) -> f64 {
        (r.rec.signals.prompt_tokens as f64 * self.strong[0]
            + self.strong_output as f64 * self.strong[1])
            / 1e6
    }

    fn local(&self, r: &Row<'_>, completion: usize) -> f64 {
        (r.rec.signals.prompt_tokens as f64 * self.local[0] + completion as f64 * self.local[1])
            / 1e6
    }

    /// USD for one row: the strong answer plus the discarded draft when escalated, the
    /// local answer when kept.
    fn row(&self, r: &Row<'_>, at: DecideAt, escalated: bool) -> f64 {
        if escalated {
            self.strong(r) + self.local(r, r.rec.completion_tokens.min(at.0))
        } else {
            self.local(r, r.rec.completion_tokens)
        }
    }
}

/// Accuracy against USD per 1,000 requests, the local drafts of escalated requests
/// included. `scores` are the held-out scores of the first four `curves`, in order (the
/// random-fold curves that follow are not priced).
fn plot_costs(
    out: &Path,
    prices: &Prices,
    rows: &[Row<'_>],
    at: DecideAt,
    scores: &[Vec<f64>],
    curves: &[crate::metrics::Curve],
) -> anyhow::Result<String> {
    let n = rows.len() as f64;
    let strong_only: f64 = rows.iter().map(|r| prices.strong(r)).sum();
    let mut md = format!(
        "\n## Cost\n\nStrong model at ${}/${} per million input/output tokens with {} output tokens per answer; local model at ${}/${} (its configured price); an escalated request also pays for its draft (up to {} tokens). Everything to the strong model: ${:.3} per 1,000 requests.\n\n| head | kept local where it first reaches 80% of the accuracy gap (CPT 80%) | USD per 1,000 requests there |\n|---|---:|---:|\n",
        prices.strong[0],
        prices.strong[1],
        prices.strong_output,
        prices.local[0],
        prices.local[1],
        at.0,
        1000.0 * strong_only / n
    );
    let mut xs_all = Vec::new();
    for (c, s) in curves.iter().zip(scores) {
        let xs: Vec<f64> = c
            .points
            .iter()
            .map(|p| {
                1000.0 / n
                    * rows
                        .iter()
                        .zip(s)
                        .map(|(r, &sc)| prices.row(r, at, sc >= p.threshold))
                        .sum::<f64>()
            })
            .collect();
        let cost = c.cpt80.and_then(|cpt| {
            c.points
                .windows(2)
                .zip(xs.windows(2))
                .find(|(w, _)| w[0].strong_share <= cpt && cpt <= w[1].strong_share)
                .map(|(w, x)| {
                    let span = (w[1].strong_share - w[0].strong_share).max(1e-12);
                    x[0] + (x[1] - x[0]) * (cpt - w[0].strong_share) / span
                })
        });
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            c.name,
            c.cpt80
                .map_or("–".into(), |v| format!("{:.0}%", 100.0 * (1.0 - v))),
            cost.map_or("–".into(), |v| format!("${v:.3}"))
        );
        xs_all.push(xs);
    }
    let series: Vec<crate::plot::Series<'_>> = curves
        .iter()
        .zip(xs_all)
        .map(|(curve, xs)| crate::plot::Series { curve, xs })
        .collect();
    crate::plot::write(
        &out.join("cascade_quality_vs_cost"),
        "Cascade: accuracy vs cost, local drafts included (held-out families)",
        "USD per 1,000 requests",
        &series,
        &[],
    )?;
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::calibrate;

    #[test]
    fn calibration_keeps_the_most_at_the_target_accuracy() {
        // Sorted by score: right, right, right, wrong, right, wrong.
        let scores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.9];
        let correct = [true, true, true, false, true, false];
        let (t, kept, acc) = calibrate(&scores, &correct, 0.8);
        // Keeping five gives 4/5 = 0.8: the threshold sits between 0.5 and 0.9.
        assert!((t - 0.7).abs() < 1e-12, "{t}");
        assert!((kept - 5.0 / 6.0).abs() < 1e-12);
        assert!((acc - 0.8).abs() < 1e-12);
        let (t, kept, _) = calibrate(&scores, &correct, 1.0);
        assert!(
            (t - 0.35).abs() < 1e-12 && (kept - 0.5).abs() < 1e-12,
            "{t} {kept}"
        );
        // Ties cannot be split by a threshold.
        let (t, kept, _) = calibrate(&[0.2, 0.2, 0.9], &[true, false, true], 1.0);
        assert_eq!((t, kept), (0.0, 0.0));
    }
}
