//! Labelled routing data: one row per prompt with the weak and the strong model's quality.
//!
//! Two readers:
//! - the RouteLLM MMLU folder as published (`responses/mmlu_<subject>.csv` with columns
//!   `prompt,<weak model>,<strong model>` holding True/False, and `contaminated_prompts.jsonl`,
//!   whose `eval_prompt`s are dropped as RouteLLM does); the subject is the row's group;
//! - JSONL, one object per line: `{"prompt": "...", "weak": 1, "strong": 0, "group": "..."}`
//!   where `weak`/`strong` are booleans or scores in [0, 1] and `group` (optional) is what
//!   cross-validation folds keep together (a subject, a customer, a day of traffic).

use std::collections::HashSet;
use std::path::Path;

use anyhow::Context;

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub prompt: String,
    /// Quality of the weak model's answer, 0..=1 (1 = correct).
    pub weak: f64,
    pub strong: f64,
    pub group: String,
}

#[derive(Debug, Clone)]
pub struct Dataset {
    pub name: String,
    pub weak_model: String,
    pub strong_model: String,
    pub rows: Vec<Row>,
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

/// Loads a RouteLLM-layout folder (the one holding `responses/`) or a `.jsonl` file.
pub fn load(path: &Path) -> anyhow::Result<Dataset> {
    if path.is_dir() {
        load_routellm(path)
    } else {
        load_jsonl(path)
    }
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
            rows.push(Row {
                weak: parse_quality(&rec[1], &where_)?,
                strong: parse_quality(&rec[2], &where_)?,
                prompt,
                group: subject.clone(),
            });
        }
    }
    Ok(Dataset {
        name: "routellm-mmlu".into(),
        weak_model,
        strong_model,
        rows,
    })
}

pub fn load_jsonl(path: &Path) -> anyhow::Result<Dataset> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let where_ = format!("{} line {}", path.display(), i + 1);
        let v: serde_json::Value = serde_json::from_str(line).with_context(|| where_.clone())?;
        let q = |k: &str| -> anyhow::Result<f64> {
            match &v[k] {
                serde_json::Value::Bool(b) => Ok(f64::from(u8::from(*b))),
                serde_json::Value::Number(n) => parse_quality(&n.to_string(), &where_),
                other => anyhow::bail!(
                    "{where_}: '{k}' must be a boolean or a number in [0, 1], got {other}"
                ),
            }
        };
        rows.push(Row {
            prompt: v["prompt"]
                .as_str()
                .with_context(|| format!("{where_}: 'prompt' must be a string"))?
                .to_owned(),
            weak: q("weak")?,
            strong: q("strong")?,
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
                group: "all".into()
            }
        );
        std::fs::write(&f, "{\"prompt\":\"a\",\"weak\":2,\"strong\":0}\n").unwrap();
        assert!(load(&f).unwrap_err().to_string().contains("outside [0, 1]"));
    }
}
