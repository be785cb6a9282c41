//! The everyday table: a fixed list of obviously easy and obviously hard prompts
//! (`evals/data/everyday-table.jsonl`, kept apart from every training set), each scored by a
//! policy's head exactly as the gateway scores it, next to the side it should land on.

use std::path::Path;

use anyhow::Context;

use crate::Common;

pub struct TableRow {
    pub prompt: String,
    /// `true` when the prompt should go to the strong model.
    pub expect_strong: bool,
    pub score: f64,
    pub threshold: f64,
}

impl TableRow {
    pub fn strong(&self) -> bool {
        self.score >= self.threshold
    }
    pub fn ok(&self) -> bool {
        self.strong() == self.expect_strong
    }
}

pub fn load(path: &Path) -> anyhow::Result<Vec<(String, bool)>> {
    let mut out = Vec::new();
    for (where_, v) in crate::data::read_jsonl(path)? {
        let prompt = v["prompt"]
            .as_str()
            .with_context(|| format!("{where_}: 'prompt' must be a string"))?;
        let strong = match v["expect"].as_str() {
            Some("strong") => true,
            Some("weak") => false,
            other => {
                anyhow::bail!("{where_}: 'expect' must be \"weak\" or \"strong\", got {other:?}")
            }
        };
        out.push((prompt.to_owned(), strong));
    }
    anyhow::ensure!(!out.is_empty(), "{} has no rows", path.display());
    Ok(out)
}

pub fn run(c: &Common, policy: &str, path: &Path) -> anyhow::Result<Vec<TableRow>> {
    let items = load(path)?;
    let ph = crate::policy_head(c, policy)?;
    let texts: Vec<String> = items.iter().map(|(p, _)| p.clone()).collect();
    let scores = crate::score_texts(c, &ph, &texts)?;
    Ok(items
        .into_iter()
        .zip(scores)
        .map(|((prompt, expect_strong), score)| TableRow {
            prompt,
            expect_strong,
            score,
            threshold: ph.threshold,
        })
        .collect())
}

pub fn markdown(rows: &[TableRow], policy: &str) -> String {
    let wrong = rows.iter().filter(|r| !r.ok()).count();
    let threshold = rows.first().map_or(f64::NAN, |r| r.threshold);
    let mut md = format!(
        "\n## Everyday table (policy `{policy}`, threshold {threshold:.4})\n\n\
         {} prompts, {} on the expected side{}.\n\n\
         | prompt | expected | score | goes to | |\n|---|---|---|---|---|\n",
        rows.len(),
        rows.len() - wrong,
        if wrong == 0 {
            String::new()
        } else {
            format!(", **{wrong} wrong**")
        }
    );
    let mut sorted: Vec<&TableRow> = rows.iter().collect();
    sorted.sort_by(|a, b| a.score.total_cmp(&b.score));
    for r in sorted {
        let p: String = r
            .prompt
            .chars()
            .take(80)
            .collect::<String>()
            .replace('|', "\\|");
        md.push_str(&format!(
            "| {} | {} | {:.4} | {} | {} |\n",
            p.replace('\n', " "),
            if r.expect_strong { "strong" } else { "weak" },
            r.score,
            if r.strong() { "strong" } else { "weak" },
            if r.ok() { "ok" } else { "**wrong**" },
        ));
    }
    md
}
