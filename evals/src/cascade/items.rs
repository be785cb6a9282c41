//! Prompts whose answers can be checked automatically, for labelling the local model: the
//! project's everyday suite (`evals/data/checkable.jsonl`, checked by [`crate::checkable`])
//! and the multiple-choice sets of RouterBench (ARC-Challenge, Winogrande), whose gold
//! letter is not a column but follows from the recorded answers of the models marked
//! correct.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::checkable::{self, Answer};
use crate::data::unwrap_py_list;

/// How an item's answer is checked.
#[derive(Debug, Clone)]
pub enum Check {
    /// One of the letters `letters`; the gold one is `gold`.
    Choice { gold: char, letters: Vec<char> },
    /// The everyday suite's own rules.
    Answer(Answer),
}

impl Check {
    pub fn is_correct(&self, output: &str) -> bool {
        match self {
            Check::Choice { gold, letters } => parse_choice(output, letters) == Some(*gold),
            Check::Answer(a) => a.check(output),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    /// `everyday`, `arc-challenge` or `winogrande`.
    pub source: String,
    /// The task family (held out as a whole in evaluation); the source's name for the
    /// multiple-choice sets.
    pub family: String,
    pub level: u8,
    pub prompt: String,
    pub check: Check,
    /// The strong model's recorded correctness, where the source has one.
    pub strong: Option<f64>,
    pub max_tokens: usize,
}

/// The letter a multiple-choice answer picks: a leading letter ("B", "B) east", "(B)"; a
/// leading "A " or "I " is read as the article or pronoun opening a sentence), else "answer is B" / "Answer: B", else the first "B)" anywhere. `None` when nothing
/// names one of `letters` (counted as wrong).
pub fn parse_choice(text: &str, letters: &[char]) -> Option<char> {
    let t = text
        .trim()
        .trim_start_matches(['[', '\'', '"', '(', '*', ' ']);
    let is_letter = |c: char| letters.contains(&c);
    let mut chars = t.chars();
    if let Some(c) = chars.next() {
        let next = chars.next();
        // "A) …", "A.", "A" alone; but "A boat is…" opens a sentence with the article.
        let article = next == Some(' ') && (c == 'A' || c == 'I');
        if is_letter(c) && next.is_none_or(|n| !n.is_alphanumeric()) && !article {
            return Some(c);
        }
    }
    let lower = t.to_lowercase();
    for cue in ["answer is", "answer:", "answer is:", "option"] {
        if let Some(at) = lower.find(cue) {
            let rest = t[at + cue.len()..].trim_start_matches([' ', '(', '*', '"', '\'', ':']);
            let mut rc = rest.chars();
            if let Some(c) = rc.next() {
                if is_letter(c) && rc.next().is_none_or(|n| !n.is_alphanumeric()) {
                    return Some(c);
                }
            }
        }
    }
    let b: Vec<char> = t.chars().collect();
    b.windows(2)
        .enumerate()
        .find(|(i, w)| is_letter(w[0]) && w[1] == ')' && (*i == 0 || !b[i - 1].is_alphanumeric()))
        .map(|(_, w)| w[0])
}

/// How the gold letters of a multiple-choice file were derived.
#[derive(Debug, Default, Clone, Serialize)]
pub struct GoldReport {
    pub rows: usize,
    /// Every model marked correct gave the same letter.
    pub agreed: usize,
    /// Models marked correct gave different letters (row dropped).
    pub disagreed: usize,
    /// No model was marked correct, or none of their answers names a letter (row dropped).
    pub unknown: usize,
    /// Models marked correct whose answer named a letter, over all rows kept.
    pub votes: usize,
}

/// ARC-Challenge and Winogrande from a RouterBench folder (train and test files).
pub fn load_choice_sets(
    dir: &Path,
    strong: &str,
    splits: &[String],
) -> anyhow::Result<(Vec<Item>, BTreeMap<String, GoldReport>)> {
    let mut items = Vec::new();
    let mut reports = BTreeMap::new();
    for (stem, source, letters) in [
        ("arc_challenge", "arc-challenge", vec!['A', 'B', 'C', 'D']),
        ("winograde", "winogrande", vec!['A', 'B']),
    ] {
        let mut report = GoldReport::default();
        for split in splits {
            let path = dir.join(format!("{stem}_{split}.csv"));
            let mut rdr = csv::Reader::from_path(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let headers = rdr.headers()?.clone();
            let col = |name: &str| headers.iter().position(|h| h == name);
            let prompt_col = col("prompt")
                .with_context(|| format!("{}: expected a 'prompt' column", path.display()))?;
            let id_col = col("sample_id")
                .with_context(|| format!("{}: expected a 'sample_id' column", path.display()))?;
            let first = col("eval_name").map_or(prompt_col + 1, |c| c + 1);
            let models: Vec<(usize, String)> = headers
                .iter()
                .enumerate()
                .skip(first)
                .filter(|(_, h)| !h.contains('|') && *h != "oracle_model_to_route_to")
                .map(|(i, h)| (i, h.to_owned()))
                .collect();
            let strong_col = models
                .iter()
                .find(|(_, h)| h.to_lowercase().contains(&strong.to_lowercase()))
                .map(|(i, _)| *i)
                .with_context(|| {
                    format!("{}: no model column matches {strong:?}", path.display())
                })?;
            for rec in rdr.records() {
                let rec = rec.with_context(|| format!("reading {}", path.display()))?;
                report.rows += 1;
                let mut picks: Vec<char> = Vec::new();
                for (c, name) in &models {
                    if rec.get(*c).map(str::trim) != Some("1.0") {
                        continue;
                    }
                    let Some(resp_col) = col(&format!("{name}|model_response")) else {
                        continue;
                    };
                    let resp = unwrap_py_list(rec.get(resp_col).unwrap_or_default());
                    if let Some(l) = parse_choice(&resp, &letters) {
                        picks.push(l);
                    }
                }
                let Some(&gold) = picks.first() else {
                    report.unknown += 1;
                    continue;
                };
                if picks.iter().any(|&p| p != gold) {
                    report.disagreed += 1;
                    continue;
                }
                report.agreed += 1;
                report.votes += picks.len();
                let strong_q = match rec.get(strong_col).map(str::trim) {
                    Some("1.0") => Some(1.0),
                    Some("0.0") => Some(0.0),
                    _ => None,
                };
                items.push(Item {
                    id: rec[id_col].to_owned(),
                    source: source.to_owned(),
                    family: source.to_owned(),
                    level: 3,
                    prompt: unwrap_py_list(&rec[prompt_col]),
                    check: Check::Choice {
                        gold,
                        letters: letters.clone(),
                    },
                    strong: strong_q,
                    max_tokens: 8,
                });
            }
        }
        reports.insert(source.to_owned(), report);
    }
    Ok((items, reports))
}

/// The everyday suite: its strong-model correctness is not measured; [`None`] here, and the
/// evaluation states the assumption it makes instead.
pub fn load_everyday(path: &Path) -> anyhow::Result<Vec<Item>> {
    Ok(checkable::load(path)?
        .into_iter()
        .map(|i| Item {
            id: i.id,
            source: "everyday".into(),
            family: i.family,
            level: i.level,
            prompt: i.prompt,
            check: Check::Answer(i.answer),
            strong: None,
            max_tokens: 64,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_are_read_the_way_models_write_them() {
        let abcd = ['A', 'B', 'C', 'D'];
        for (text, want) in [
            ("B", Some('B')),
            ("B\n", Some('B')),
            ("['C']", Some('C')),
            ("(D) palms covered with lotion", Some('D')),
            ("The answer is C.", Some('C')),
            ("Answer: A", Some('A')),
            ("I think B) east is right", Some('B')),
            ("A boat is pushed north", None),
            ("A tornado is not an adverse result from", None),
            ("B east", Some('B')),
            ("Because of friction.", None),
            ("", None),
        ] {
            assert_eq!(parse_choice(text, &abcd), want, "{text:?}");
        }
        assert_eq!(parse_choice("C", &['A', 'B']), None);
    }

    #[test]
    fn gold_letters_come_from_the_models_marked_correct() {
        let root =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/evals-data/routerbench");
        let splits = ["train".to_owned(), "test".to_owned()];
        let (items, reports) = load_choice_sets(&root, "gpt-4-1106", &splits).unwrap();
        let arc = &reports["arc-challenge"];
        assert_eq!(arc.rows, 1039 + 445);
        // Models marked correct agree on the letter for nearly every row.
        assert!(arc.disagreed * 100 < arc.rows, "{arc:?}");
        assert!(arc.agreed * 10 > arc.rows * 9, "{arc:?}");
        let wino = &reports["winogrande"];
        assert!(wino.agreed * 10 > wino.rows * 8, "{wino:?}");
        // Where GPT-4 is marked correct, its own answer is the gold letter.
        assert!(items.iter().all(|i| !i.prompt.starts_with("['")));
        assert!(items.len() > 2000);
    }
}
