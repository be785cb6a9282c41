//! Labelled routing data: one row per prompt with the weak and the strong model's quality.
//!
//! Readers, chosen by what `--data` points at:
//! - a RouteLLM MMLU folder (`responses/mmlu_<subject>.csv`, columns `prompt,<weak>,<strong>`
//!   holding True/False; `contaminated_prompts.jsonl`'s `eval_prompt`s are dropped as
//!   RouteLLM does). Label: correctness. Group: the subject.
//! - an Arena-Bench folder (`question.jsonl` + `scores.jsonl`, a GPT-4 judge's 1–10 score per
//!   prompt and model). Quality = score / 10, so the curve's "accuracy" is the mean judged
//!   score; rows where either chosen model's score is missing are dropped. Group: the prompt.
//! - a RouterBench folder or CSV (`<subset>_{train,test}.csv`, one 0/1 correctness column per
//!   model). Label: correctness; rows where either chosen model has no result are dropped.
//!   Group: the subset (`arc_challenge`, `mbpp`, `winograde`).
//! - JSONL, one object per line: `{"prompt": "...", "weak": 1, "strong": 0, "group": "..."}`
//!   where `weak`/`strong` are booleans or scores in [0, 1] and `group` (optional) is what
//!   cross-validation folds keep together (a subject, a customer, a day of traffic).
//!
//! Every source holding several models is read for any weak/strong pair it has
//! ([`Pair`], matched by name). Besides the chosen pair's qualities each row carries
//! [`Row::need`]: the share of *all* the source's other models that fall short of the strong
//! model on that prompt — a difficulty estimate that uses every pair the data holds, which
//! is what the trainer can learn from when one pair's 0/1 outcome is mostly noise.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use anyhow::Context;

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub prompt: String,
    /// Quality of the weak model's answer, 0..=1 (1 = correct).
    pub weak: f64,
    pub strong: f64,
    pub group: String,
    /// Share of the source's non-strong models whose quality is below the strong model's on
    /// this prompt (0..=1). For single-pair data, `strong > weak` as 0/1.
    pub need: f64,
    /// Mean shortfall of the source's non-strong models on this prompt: 1 − their mean
    /// quality (0..=1). A plain difficulty measure; for single-pair data, 1 − weak.
    pub hard: f64,
}

#[derive(Debug, Clone)]
pub struct Dataset {
    pub name: String,
    pub weak_model: String,
    pub strong_model: String,
    /// How `weak`/`strong` were derived, for reports.
    pub label: String,
    pub rows: Vec<Row>,
}

/// Which models of a multi-model source are the weak and the strong one: matched
/// case-insensitively as substrings of the source's model names; each must match exactly one.
#[derive(Debug, Clone)]
pub struct Pair {
    pub weak: String,
    pub strong: String,
}

impl Default for Pair {
    fn default() -> Self {
        // The pair every shared source holds: RouteLLM's own.
        Pair {
            weak: "mixtral-8x7b".into(),
            strong: "gpt-4-1106".into(),
        }
    }
}

impl Pair {
    fn pick<'a>(pattern: &str, models: &[&'a str], what: &str) -> anyhow::Result<&'a str> {
        let p = pattern.to_lowercase();
        let hits: Vec<&str> = models
            .iter()
            .copied()
            .filter(|m| m.to_lowercase().contains(&p))
            .collect();
        match hits.as_slice() {
            [one] => Ok(one),
            [] => anyhow::bail!("no {what} model matching '{pattern}' among {models:?}"),
            many => anyhow::bail!("{what} model '{pattern}' is ambiguous: {many:?}"),
        }
    }
}

impl Dataset {
    pub fn weak_accuracy(&self) -> f64 {
        mean(self.rows.iter().map(|r| r.weak))
    }
    pub fn strong_accuracy(&self) -> f64 {
        mean(self.rows.iter().map(|r| r.strong))
    }
    pub fn groups(&self) -> Vec<String> {
        let mut g: Vec<String> = self
            .rows
            .iter()
            .map(|r| r.group.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        g.sort();
        g
    }
}

fn mean(it: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = it.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 {
        0.0
    } else {
        s / n as f64
    }
}

/// Loads whatever `path` holds (see the module docs), with the default model pair.
#[cfg(test)]
pub fn load(path: &Path) -> anyhow::Result<Dataset> {
    load_with(path, &Pair::default())
}

pub fn load_with(path: &Path, pair: &Pair) -> anyhow::Result<Dataset> {
    if path.is_dir() {
        if path.join("responses").is_dir() {
            load_routellm(path)
        } else if path.join("scores.jsonl").is_file() {
            load_arena(path, pair)
        } else {
            load_routerbench(path, pair)
        }
    } else if path.extension().is_some_and(|e| e == "csv") {
        load_routerbench(path, pair)
    } else {
        load_jsonl(path)
    }
}

/// The non-empty lines of a JSONL file, parsed, each with where it stands (`path line N`)
/// for error messages.
pub fn read_jsonl(path: &Path) -> anyhow::Result<Vec<(String, serde_json::Value)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let where_ = format!("{} line {}", path.display(), i + 1);
            let v = serde_json::from_str(l).with_context(|| where_.clone())?;
            Ok((where_, v))
        })
        .collect()
}

fn parse_quality(v: &str, where_: &str) -> anyhow::Result<f64> {
    match v.trim() {
        "True" | "true" | "1" => Ok(1.0),
        "False" | "false" | "0" => Ok(0.0),
        other => {
            let x: f64 = other.parse().with_context(|| {
                format!("{where_}: expected True/False or a number, got {other:?}")
            })?;
            anyhow::ensure!(
                (0.0..=1.0).contains(&x),
                "{where_}: quality {x} is outside [0, 1]"
            );
            Ok(x)
        }
    }
}

/// 1 − the mean of `qualities` (1 − `fallback` when there are none).
fn hard_of(qualities: &[f64], fallback: f64) -> f64 {
    if qualities.is_empty() {
        1.0 - fallback
    } else {
        1.0 - qualities.iter().sum::<f64>() / qualities.len() as f64
    }
}

/// Share of `others` strictly below `strong` (0 when there are none).
fn need_of(strong: f64, others: impl Iterator<Item = f64>) -> f64 {
    let (mut below, mut n) = (0usize, 0usize);
    for q in others {
        n += 1;
        if q < strong {
            below += 1;
        }
    }
    if n == 0 {
        0.0
    } else {
        below as f64 / n as f64
    }
}

pub fn load_routellm(dir: &Path) -> anyhow::Result<Dataset> {
    let responses = dir.join("responses");
    let mut files: Vec<_> = std::fs::read_dir(&responses)
        .with_context(|| format!("{} has no responses/ folder", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    anyhow::ensure!(!files.is_empty(), "no CSV files in {}", responses.display());
    let contaminated: HashSet<String> =
        match std::fs::read_to_string(dir.join("contaminated_prompts.jsonl")) {
            Ok(text) => text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l)?;
                    Ok(v["eval_prompt"].as_str().unwrap_or_default().to_owned())
                })
                .collect::<anyhow::Result<_>>()?,
            Err(_) => HashSet::new(),
        };
    let (mut weak_model, mut strong_model) = (String::new(), String::new());
    let mut rows = Vec::new();
    for f in &files {
        let subject = f
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .trim_start_matches("mmlu_")
            .to_owned();
        let mut rdr =
            csv::Reader::from_path(f).with_context(|| format!("reading {}", f.display()))?;
        let headers = rdr.headers()?.clone();
        anyhow::ensure!(
            headers.len() == 3 && &headers[0] == "prompt",
            "{}: expected columns prompt,<weak>,<strong>, got {:?}",
            f.display(),
            headers
        );
        weak_model = headers[1].to_owned();
        strong_model = headers[2].to_owned();
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.with_context(|| format!("{} row {}", f.display(), i + 2))?;
            let where_ = format!("{} row {}", f.display(), i + 2);
            let prompt = rec[0].to_owned();
            if contaminated.contains(&prompt) {
                continue;
            }
            let (weak, strong) = (
                parse_quality(&rec[1], &where_)?,
                parse_quality(&rec[2], &where_)?,
            );
            rows.push(Row {
                weak,
                strong,
                need: need_of(strong, [weak].into_iter()),
                hard: 1.0 - weak,
                prompt,
                group: subject.clone(),
            });
        }
    }
    Ok(Dataset {
        name: "mmlu".into(),
        weak_model,
        strong_model,
        label: "correctness".into(),
        rows,
    })
}

/// Arena-Bench: prompts in `question.jsonl`, judge scores in `scores.jsonl`.
pub fn load_arena(dir: &Path, pair: &Pair) -> anyhow::Result<Dataset> {
    let mut prompts: Vec<(String, String)> = Vec::new();
    for (where_, v) in read_jsonl(&dir.join("question.jsonl"))? {
        let id = v["question_id"]
            .as_str()
            .with_context(|| format!("{where_}: 'question_id' must be a string"))?;
        let turns = v["turns"]
            .as_array()
            .with_context(|| format!("{where_}: 'turns' must be an array"))?;
        let turns: Vec<&str> = turns.iter().filter_map(|t| t.as_str()).collect();
        anyhow::ensure!(!turns.is_empty(), "{where_}: no text turns");
        prompts.push((id.to_owned(), turns.join("\n")));
    }
    // question id -> model -> score (None: the judge's verdict did not parse)
    let mut scores: HashMap<String, BTreeMap<String, Option<f64>>> = HashMap::new();
    for (where_, v) in read_jsonl(&dir.join("scores.jsonl"))? {
        let (Some(id), Some(model)) = (v["question_id"].as_str(), v["model"].as_str()) else {
            anyhow::bail!("{where_}: needs string 'question_id' and 'model'");
        };
        let score = match &v["score"] {
            serde_json::Value::Null => None,
            s => {
                let s = s
                    .as_f64()
                    .with_context(|| format!("{where_}: 'score' must be a number or null"))?;
                anyhow::ensure!(
                    (0.0..=10.0).contains(&s),
                    "{where_}: score {s} outside 0..10"
                );
                Some(s / 10.0)
            }
        };
        scores
            .entry(id.to_owned())
            .or_default()
            .insert(model.to_owned(), score);
    }
    let mut models: Vec<&str> = scores
        .values()
        .flat_map(|m| m.keys().map(String::as_str))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    models.sort_unstable();
    let weak_model = Pair::pick(&pair.weak, &models, "weak")?.to_owned();
    let strong_model = Pair::pick(&pair.strong, &models, "strong")?.to_owned();
    let mut rows = Vec::new();
    for (id, prompt) in prompts {
        let Some(by_model) = scores.get(&id) else {
            continue;
        };
        let (Some(Some(weak)), Some(Some(strong))) =
            (by_model.get(&weak_model), by_model.get(&strong_model))
        else {
            continue;
        };
        let others: Vec<f64> = by_model
            .iter()
            .filter(|(m, _)| **m != strong_model)
            .filter_map(|(_, s)| *s)
            .collect();
        rows.push(Row {
            prompt,
            weak: *weak,
            strong: *strong,
            need: need_of(*strong, others.iter().copied()),
            hard: hard_of(&others, *weak),
            group: id,
        });
    }
    anyhow::ensure!(
        !rows.is_empty(),
        "{}: no prompt has both scores",
        dir.display()
    );
    Ok(Dataset {
        name: "arena".into(),
        weak_model,
        strong_model,
        label: "judge score / 10".into(),
        rows,
    })
}

/// RouterBench prompts are stored as a Python list literal of one string (`['...']`);
/// returns the string itself with its escapes undone, or the text unchanged.
pub fn unwrap_py_list(s: &str) -> String {
    let inner = s
        .strip_prefix("['")
        .and_then(|r| r.strip_suffix("']"))
        .or_else(|| s.strip_prefix("[\"").and_then(|r| r.strip_suffix("\"]")));
    let Some(inner) = inner else {
        return s.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// One RouterBench CSV, or every `*.csv` in a folder.
pub fn load_routerbench(path: &Path, pair: &Pair) -> anyhow::Result<Dataset> {
    let files: Vec<std::path::PathBuf> = if path.is_dir() {
        let mut f: Vec<_> = std::fs::read_dir(path)
            .with_context(|| format!("reading {}", path.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "csv"))
            .collect();
        f.sort();
        f
    } else {
        vec![path.to_owned()]
    };
    anyhow::ensure!(!files.is_empty(), "no CSV files in {}", path.display());
    let (mut weak_model, mut strong_model) = (String::new(), String::new());
    let mut rows = Vec::new();
    for f in &files {
        let subset = f
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .trim_end_matches("_train")
            .trim_end_matches("_test")
            .to_owned();
        let mut rdr =
            csv::Reader::from_path(f).with_context(|| format!("reading {}", f.display()))?;
        let headers = rdr.headers()?.clone();
        let col = |name: &str| headers.iter().position(|h| h == name);
        let prompt_col = col("prompt")
            .with_context(|| format!("{}: expected a 'prompt' column", f.display()))?;
        // Model columns: everything after eval_name that is not a response/cost column.
        let first = col("eval_name").map_or(prompt_col + 1, |c| c + 1);
        let model_cols: Vec<(usize, &str)> = headers
            .iter()
            .enumerate()
            .skip(first)
            .filter(|(_, h)| !h.contains('|') && *h != "oracle_model_to_route_to")
            .collect();
        let names: Vec<&str> = model_cols.iter().map(|(_, h)| *h).collect();
        let w = Pair::pick(&pair.weak, &names, "weak")?;
        let s = Pair::pick(&pair.strong, &names, "strong")?;
        let (wc, sc) = (col(w).unwrap_or(0), col(s).unwrap_or(0));
        weak_model = w.to_owned();
        strong_model = s.to_owned();
        for (i, rec) in rdr.records().enumerate() {
            let where_ = format!("{} row {}", f.display(), i + 2);
            let rec = rec.with_context(|| where_.clone())?;
            let q = |c: usize| -> anyhow::Result<Option<f64>> {
                match rec.get(c).map(str::trim) {
                    None | Some("") => Ok(None),
                    Some(v) => parse_quality(v, &where_).map(Some),
                }
            };
            let (Some(weak), Some(strong)) = (q(wc)?, q(sc)?) else {
                continue;
            };
            let mut others = Vec::new();
            for &(c, _) in &model_cols {
                if c != sc {
                    if let Some(v) = q(c)? {
                        others.push(v);
                    }
                }
            }
            rows.push(Row {
                prompt: unwrap_py_list(&rec[prompt_col]),
                weak,
                strong,
                need: need_of(strong, others.iter().copied()),
                hard: hard_of(&others, weak),
                group: subset.clone(),
            });
        }
    }
    anyhow::ensure!(
        !rows.is_empty(),
        "{}: no rows with both results",
        path.display()
    );
    Ok(Dataset {
        name: "routerbench".into(),
        weak_model,
        strong_model,
        label: "correctness".into(),
        rows,
    })
}

pub fn load_jsonl(path: &Path) -> anyhow::Result<Dataset> {
    let mut rows = Vec::new();
    for (where_, v) in read_jsonl(path)? {
        let q = |k: &str| -> anyhow::Result<f64> {
            match &v[k] {
                serde_json::Value::Bool(b) => Ok(f64::from(u8::from(*b))),
                serde_json::Value::Number(n) => parse_quality(&n.to_string(), &where_),
                other => anyhow::bail!(
                    "{where_}: '{k}' must be a boolean or a number in [0, 1], got {other}"
                ),
            }
        };
        let (weak, strong) = (q("weak")?, q("strong")?);
        rows.push(Row {
            prompt: v["prompt"]
                .as_str()
                .with_context(|| format!("{where_}: 'prompt' must be a string"))?
                .to_owned(),
            weak,
            strong,
            need: need_of(strong, [weak].into_iter()),
            hard: 1.0 - weak,
            group: v["group"].as_str().unwrap_or("all").to_owned(),
        });
    }
    anyhow::ensure!(!rows.is_empty(), "{} has no rows", path.display());
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("dataset")
        .to_owned();
    Ok(Dataset {
        name,
        weak_model: "weak".into(),
        strong_model: "strong".into(),
        label: "as given".into(),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_rows_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("d.jsonl");
        std::fs::write(&f, "{\"prompt\":\"a\",\"weak\":true,\"strong\":false,\"group\":\"g\"}\n\n{\"prompt\":\"b\",\"weak\":0.25,\"strong\":1}\n").unwrap();
        let d = load(&f).unwrap();
        assert_eq!(d.rows.len(), 2);
        assert_eq!(
            d.rows[1],
            Row {
                prompt: "b".into(),
                weak: 0.25,
                strong: 1.0,
                group: "all".into(),
                need: 1.0,
                hard: 0.75,
            }
        );
        assert_eq!(d.rows[0].need, 0.0, "weak right, strong wrong: no need");
        std::fs::write(&f, "{\"prompt\":\"a\",\"weak\":2,\"strong\":0}\n").unwrap();
        assert!(load(&f).unwrap_err().to_string().contains("outside [0, 1]"));
    }

    #[test]
    fn arena_label_is_the_judge_score_and_need_counts_every_weaker_model() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("question.jsonl"),
            "{\"question_id\":\"q1\",\"turns\":[\"hi\"]}\n{\"question_id\":\"q2\",\"turns\":[\"prove it\"]}\n{\"question_id\":\"q3\",\"turns\":[\"x\"]}\n",
        )
        .unwrap();
        let s = |q: &str, m: &str, v: &str| {
            format!("{{\"question_id\":\"{q}\",\"model\":\"{m}\",\"score\":{v}}}\n")
        };
        let scores = [
            s("q1", "gpt-4-1106-preview", "8"),
            s("q1", "mistralai/Mixtral-8x7B-Instruct-v0.1", "9"),
            s("q1", "llama", "8"),
            s("q2", "gpt-4-1106-preview", "9"),
            s("q2", "mistralai/Mixtral-8x7B-Instruct-v0.1", "3"),
            s("q2", "llama", "5"),
            // q3: the strong model's verdict did not parse: dropped.
            s("q3", "gpt-4-1106-preview", "null"),
            s("q3", "mistralai/Mixtral-8x7B-Instruct-v0.1", "3"),
        ]
        .concat();
        std::fs::write(d.join("scores.jsonl"), scores).unwrap();
        let ds = load(d).unwrap();
        assert_eq!(ds.rows.len(), 2);
        assert_eq!((ds.rows[0].weak, ds.rows[0].strong), (0.9, 0.8));
        assert_eq!(ds.rows[0].need, 0.0, "nobody is below the strong model");
        assert_eq!((ds.rows[1].weak, ds.rows[1].strong), (0.3, 0.9));
        assert_eq!(ds.rows[1].need, 1.0);
        // Mixtral 0.3 and llama 0.5: mean shortfall 0.6.
        assert!((ds.rows[1].hard - 0.6).abs() < 1e-12);
        // Any pair the data holds.
        let ds = load_with(
            d,
            &Pair {
                weak: "llama".into(),
                strong: "gpt-4".into(),
            },
        )
        .unwrap();
        assert_eq!(ds.weak_model, "llama");
        assert_eq!(ds.rows[1].weak, 0.5);
        let err = load_with(
            d,
            &Pair {
                weak: "i".into(),
                strong: "gpt-4".into(),
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("ambiguous"), "{err}");
    }

    #[test]
    fn routerbench_correctness_skips_missing_results() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("arc_challenge_test.csv");
        std::fs::write(
            &f,
            ",sample_id,prompt,eval_name,m/weak-chat,gpt-4-1106-preview,other,gpt-4-1106-preview|model_response,oracle_model_to_route_to\n\
             0,a.1,\"['Q one\\nA) x']\",arc,1.0,1.0,0.0,A,x\n\
             1,a.2,\"['Q two']\",arc,0.0,1.0,0.0,B,x\n\
             2,a.3,\"['Q three']\",arc,,1.0,1.0,B,x\n",
        )
        .unwrap();
        let ds = load_with(
            &f,
            &Pair {
                weak: "weak".into(),
                strong: "gpt-4".into(),
            },
        )
        .unwrap();
        assert_eq!(ds.rows.len(), 2);
        assert_eq!(ds.rows[0].prompt, "Q one\nA) x");
        assert_eq!(ds.rows[0].group, "arc_challenge");
        assert_eq!(ds.rows[0].need, 0.5, "one of two other models wrong");
        assert_eq!(ds.rows[0].hard, 0.5);
        assert_eq!((ds.rows[1].weak, ds.rows[1].need), (0.0, 1.0));
    }

    #[test]
    fn shared_sources_load() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/evals-data");
        if !root.is_dir() {
            return;
        }
        let rb = load(&root.join("routerbench")).unwrap();
        assert!(rb.weak_model.contains("mixtral") && rb.strong_model.contains("gpt-4"));
        assert_eq!(rb.groups(), ["arc_challenge", "mbpp", "winograde"]);
        let arena = load(&root.join("arena-bench-v1")).unwrap();
        assert_eq!(arena.rows.len(), 293, "the README's Mixtral row count");
    }
}
