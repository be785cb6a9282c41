//! Everyday tasks with automatically checkable answers (`evals/data/checkable.jsonl`, written by
//! `evals/data/gen_checkable.py`), and the rules that decide whether a model's free-form reply
//! is correct.
//!
//! The rules accept chat around the answer (a preamble, a restated question, markdown, quotes)
//! and are strict about the answer itself. Per [`Answer`] kind:
//!
//! - `number`: the **last** number in the reply equals `value` within `tol` (absolute; a
//!   relative 1e-9 is added for float noise). Numbers are ASCII digits with an optional decimal
//!   part (`3.5`), optional thousands separators (`1,234,567`: a group of 1–3 digits, then
//!   groups of exactly 3 after each comma) and an optional sign (`-`/`−` directly before the
//!   digits, counted only when the character before the sign is not a letter or digit, so
//!   `2024-03-05` is 2024, 3, 5). Anything may follow (`42%`, `68°F`, `2500m`). Digits glued
//!   to a preceding letter (`CO2`, `MP3`) are not numbers. Only when the reply has no digit
//!   number at all, English number words count instead: `zero`–`nineteen`, the tens
//!   `twenty`–`ninety`, and a tens word joined to `one`–`nine` by a space or hyphen
//!   (`forty-two`).
//! - `text`: the reply is split into words (maximal runs of Unicode letters and digits; an
//!   apostrophe between two of them stays inside the word, so `isn't` and `N'Djamena` are one
//!   word; `’`, `‘` and `ʼ` count as `'`). Everything else (punctuation, markdown, quotes,
//!   whitespace) only separates words. Unless `case` is true, reply and gold are lowercased
//!   first. Correct iff the word sequence of `value` or of one of `alts` occurs contiguously
//!   in the reply's words, and no `wrong` entry does.
//! - `label`: the reply is lowercased and split into words as for `text`. A label is
//!   *present* if its word sequence occurs in the reply at least once without a negator right
//!   before it: the previous word is one of [`NEGATORS`] and only whitespace, markdown or
//!   quote characters (`` *_"'`“”«»- ``) separate the two, so "not positive", "isn't
//!   **positive**" and "non-positive" do not count, while "No, positive." does. Correct iff
//!   exactly one label is present and it is `value`.
//! - `exact`: case-sensitive; correct iff `value` occurs in the reply with nothing glued to
//!   either end. The character next to the match must not be a letter or digit, nor one of
//!   `- _ / @`, nor one of `. , : '` with a letter or digit beyond it. So `Sure! 15:45`,
//!   `Answer: 15:45`, `` `15:45` ``, `"15:45"`, `**15:45**` and `15:45.` match, while `115:45`,
//!   `15:45:00` and `red-green-blue-yellow` (for `red-green-blue`) do not.
//! - `sequence`: list markers at the start of a line (`-`, `*`, `+`, `•`, or 1–3 digits
//!   followed by `.` or `)`, each followed by whitespace) are removed. The numbers of the reply
//!   are then read as for `number`, but without thousands separators (a comma always separates
//!   list items). Correct iff the reply's last `values.len()` numbers equal `values` in order.

use std::collections::HashSet;
use std::path::Path;

use anyhow::Context;

/// One task: a prompt and the answer it must get.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Item {
    /// `<family>-<n>`.
    pub id: String,
    pub family: String,
    /// Difficulty inside the family for a tiny model: 1 easy, 2 medium, 3 hard.
    pub level: u8,
    pub prompt: String,
    pub answer: Answer,
}

/// What a correct reply contains, and how that is checked (see the module docs).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Answer {
    /// The last number in the reply equals `value` within `tol`.
    Number {
        value: f64,
        #[serde(default)]
        tol: f64,
    },
    /// `value` or one of `alts` occurs as a whole-word phrase; no `wrong` phrase does.
    Text {
        value: String,
        #[serde(default)]
        alts: Vec<String>,
        /// Compare case-sensitively (chemical symbols: `Co` is not `CO`).
        #[serde(default)]
        case: bool,
        /// Phrases that make the reply wrong wherever they appear: the other answer of a
        /// yes/no question, or the look-alike field of an extraction task.
        #[serde(default)]
        wrong: Vec<String>,
    },
    /// Exactly one of `labels` is present, not negated, and it is `value`.
    Label { value: String, labels: Vec<String> },
    /// `value`, character for character, with nothing glued to either end.
    Exact { value: String },
    /// The reply's numbers end with `values`, in order.
    Sequence { values: Vec<f64> },
}

/// Reads a JSONL file of [`Item`]s (blank lines are skipped) and checks each one: level
/// 1..=3, a non-empty prompt, a usable answer (finite numbers, gold phrases with words, a
/// label value that is one of the labels) and unique ids.
pub fn load(path: &Path) -> anyhow::Result<Vec<Item>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut items = Vec::new();
    let mut ids = HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let at = || format!("{}:{}", path.display(), n + 1);
        let item: Item = serde_json::from_str(line).with_context(at)?;
        item.validate().with_context(at)?;
        anyhow::ensure!(
            ids.insert(item.id.clone()),
            "{}: duplicate id {}",
            at(),
            item.id
        );
        items.push(item);
    }
    anyhow::ensure!(!items.is_empty(), "{}: no items", path.display());
    Ok(items)
}

impl Item {
    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=3).contains(&self.level),
            "{}: level {} is not 1, 2 or 3",
            self.id,
            self.level
        );
        anyhow::ensure!(!self.prompt.trim().is_empty(), "{}: empty prompt", self.id);
        self.answer
            .validate()
            .with_context(|| format!("{}: unusable answer", self.id))
    }
}

impl Answer {
    /// Whether `output`, a model's whole reply, gives this answer.
    pub fn check(&self, output: &str) -> bool {
        match self {
            Answer::Number { value, tol } => {
                last_number(output).is_some_and(|x| close(x, *value, *tol))
            }
            Answer::Text {
                value,
                alts,
                case,
                wrong,
            } => {
                let said_words = words(output, *case);
                let said = |phrase: &String| contains(&said_words, &words(phrase, *case));
                (said(value) || alts.iter().any(said)) && !wrong.iter().any(said)
            }
            Answer::Label { value, labels } => check_label(output, value, labels),
            Answer::Exact { value } => check_exact(output, value),
            Answer::Sequence { values } => check_sequence(output, values),
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        match self {
            Answer::Number { value, tol } => {
                anyhow::ensure!(
                    value.is_finite() && tol.is_finite() && *tol >= 0.0,
                    "number: value {value} or tol {tol} is not usable"
                );
            }
            Answer::Text {
                value,
                alts,
                case,
                wrong,
            } => {
                for phrase in std::iter::once(value).chain(alts).chain(wrong) {
                    anyhow::ensure!(
                        !words(phrase, *case).is_empty(),
                        "text: {phrase:?} has no words"
                    );
                }
            }
            Answer::Label { value, labels } => {
                anyhow::ensure!(
                    labels.iter().all(|l| !words(l, false).is_empty()),
                    "label: a label has no words"
                );
                anyhow::ensure!(
                    labels
                        .iter()
                        .any(|l| words(l, false) == words(value, false)),
                    "label: {value:?} is not one of {labels:?}"
                );
            }
            Answer::Exact { value } => {
                anyhow::ensure!(
                    !value.is_empty() && value.trim() == value,
                    "exact: value {value:?} is empty or padded"
                );
            }
            Answer::Sequence { values } => {
                anyhow::ensure!(
                    !values.is_empty() && values.iter().all(|v| v.is_finite()),
                    "sequence: values {values:?} are empty or not finite"
                );
            }
        }
        Ok(())
    }
}

/// Words that, right before a label, say the label does not apply.
pub const NEGATORS: [&str; 12] = [
    "not", "no", "never", "isn't", "isnt", "aren't", "wasn't", "doesn't", "don't", "nor",
    "neither", "non",
];

/// What may stand between a negator and the label it negates ("not **positive**").
const NEGATION_GAP: &str = "*_\"'`\u{201c}\u{201d}\u{ab}\u{bb}-";

const UNIT_WORDS: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];

const TENS_WORDS: [(&str, f64); 8] = [
    ("twenty", 20.0),
    ("thirty", 30.0),
    ("forty", 40.0),
    ("fifty", 50.0),
    ("sixty", 60.0),
    ("seventy", 70.0),
    ("eighty", 80.0),
    ("ninety", 90.0),
];

fn close(x: f64, gold: f64, tol: f64) -> bool {
    (x - gold).abs() <= tol + 1e-9 * gold.abs().max(1.0)
}

/// Typographic apostrophes folded to `'`, then lowercased unless `case`.
fn normalise(s: &str, case: bool) -> String {
    let folded: String = s
        .chars()
        .map(|c| match c {
            '\u{2018}' | '\u{2019}' | '\u{02BC}' => '\'',
            c => c,
        })
        .collect();
    if case {
        folded
    } else {
        folded.to_lowercase()
    }
}

/// Byte ranges of the words of `s`: maximal runs of alphanumeric characters, with an
/// apostrophe kept when it sits between two of them.
fn word_spans(s: &str) -> Vec<(usize, usize)> {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (k, &(at, c)) in chars.iter().enumerate() {
        let inner = c.is_alphanumeric()
            || (c == '\''
                && start.is_some()
                && chars
                    .get(k + 1)
                    .is_some_and(|&(_, next)| next.is_alphanumeric()));
        match (inner, start) {
            (true, None) => start = Some(at),
            (false, Some(from)) => {
                out.push((from, at));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(from) = start {
        out.push((from, s.len()));
    }
    out
}

fn words(s: &str, case: bool) -> Vec<String> {
    let norm = normalise(s, case);
    word_spans(&norm)
        .into_iter()
        .map(|(a, b)| norm[a..b].to_string())
        .collect()
}

/// Whether `needle` (non-empty) occurs as a contiguous run of `hay`.
fn contains(hay: &[String], needle: &[String]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// The numbers written with digits in `s`, in order (see the module docs for the format).
fn numbers(s: &str, thousands: bool) -> Vec<f64> {
    let c: Vec<char> = s.chars().collect();
    let digit = |i: usize| c.get(i).is_some_and(char::is_ascii_digit);
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if !digit(i) {
            i += 1;
            continue;
        }
        // Digits glued to a letter are part of a word (CO2, MP3), not a number.
        if i > 0 && c[i - 1].is_alphabetic() {
            while digit(i) {
                i += 1;
            }
            continue;
        }
        let negative =
            i > 0 && matches!(c[i - 1], '-' | '\u{2212}') && (i < 2 || !c[i - 2].is_alphanumeric());
        let mut j = i;
        while digit(j) {
            j += 1;
        }
        let mut text: String = c[i..j].iter().collect();
        if thousands && j - i <= 3 {
            while c.get(j) == Some(&',')
                && digit(j + 1)
                && digit(j + 2)
                && digit(j + 3)
                && !digit(j + 4)
            {
                text.extend(&c[j + 1..j + 4]);
                j += 4;
            }
        }
        if c.get(j) == Some(&'.') && digit(j + 1) {
            text.push('.');
            j += 1;
            while digit(j) {
                text.push(c[j]);
                j += 1;
            }
        }
        if let Ok(v) = text.parse::<f64>() {
            out.push(if negative { -v } else { v });
        }
        i = j;
    }
    out
}

/// The numbers written as English words in `s` (zero to ninety-nine), in order.
fn word_numbers(s: &str) -> Vec<f64> {
    let norm = normalise(s, false);
    let spans = word_spans(&norm);
    let word = |k: usize| &norm[spans[k].0..spans[k].1];
    let unit = |w: &str| UNIT_WORDS.iter().position(|u| *u == w);
    let mut out = Vec::new();
    let mut k = 0;
    while k < spans.len() {
        let w = word(k);
        if let Some(&(_, tens)) = TENS_WORDS.iter().find(|(t, _)| *t == w) {
            let mut v = tens;
            if k + 1 < spans.len() {
                let gap = &norm[spans[k].1..spans[k + 1].0];
                if let Some(u @ 1..=9) = unit(word(k + 1)) {
                    if gap.chars().all(|ch| ch.is_whitespace() || ch == '-') {
                        v += u as f64;
                        k += 1;
                    }
                }
            }
            out.push(v);
        } else if let Some(u) = unit(w) {
            out.push(u as f64);
        }
        k += 1;
    }
    out
}

/// The last number in digits, or, if the reply has none, the last number in words.
fn last_number(output: &str) -> Option<f64> {
    numbers(output, true)
        .last()
        .copied()
        .or_else(|| word_numbers(output).last().copied())
}

fn check_label(output: &str, value: &str, labels: &[String]) -> bool {
    let norm = normalise(output, false);
    let spans = word_spans(&norm);
    let toks: Vec<&str> = spans.iter().map(|&(a, b)| &norm[a..b]).collect();
    let mut present: Vec<Vec<String>> = Vec::new();
    for label in labels {
        let want = words(label, false);
        if want.is_empty() || want.len() > toks.len() {
            continue;
        }
        let said = (0..=toks.len() - want.len()).any(|i| {
            toks[i..i + want.len()]
                .iter()
                .zip(&want)
                .all(|(t, w)| *t == w.as_str())
                && !negated(&norm, &spans, &toks, i)
        });
        if said && !present.contains(&want) {
            present.push(want);
        }
    }
    present.len() == 1 && present[0] == words(value, false)
}

/// Whether the word at `i` directly follows a negator ("not", "isn't", ...), with only
/// whitespace, markdown or quotes between them.
fn negated(norm: &str, spans: &[(usize, usize)], toks: &[&str], i: usize) -> bool {
    if i == 0 {
        return false;
    }
    let gap = &norm[spans[i - 1].1..spans[i].0];
    NEGATORS.iter().any(|n| *n == toks[i - 1])
        && gap
            .chars()
            .all(|c| c.is_whitespace() || NEGATION_GAP.contains(c))
}

fn check_exact(output: &str, value: &str) -> bool {
    if value.is_empty() {
        return false;
    }
    let mut from = 0;
    while let Some(p) = output[from..].find(value) {
        let start = from + p;
        let end = start + value.len();
        let mut before = output[..start].chars().rev();
        let (b1, b2) = (before.next(), before.next());
        let mut after = output[end..].chars();
        let (a1, a2) = (after.next(), after.next());
        if !glued(b1, b2) && !glued(a1, a2) {
            return true;
        }
        from = start + output[start..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// Whether `next` (the character beside a match) joins the match to more text; `beyond` is
/// the character after `next`, away from the match.
fn glued(next: Option<char>, beyond: Option<char>) -> bool {
    match next {
        None => false,
        Some(c) => {
            c.is_alphanumeric()
                || matches!(c, '-' | '_' | '/' | '@')
                || (matches!(c, '.' | ',' | ':' | '\'')
                    && beyond.is_some_and(char::is_alphanumeric))
        }
    }
}

/// A line without its list marker ("- ", "* ", "• ", "3. ", "2) ").
fn strip_list_marker(line: &str) -> &str {
    let t = line.trim_start();
    if let Some(rest) = t
        .strip_prefix(['-', '*', '+', '\u{2022}'])
        .filter(|r| r.starts_with(char::is_whitespace))
    {
        return rest;
    }
    let digits = t.len() - t.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if (1..=3).contains(&digits) {
        if let Some(rest) = t[digits..]
            .strip_prefix(['.', ')'])
            .filter(|r| r.starts_with(char::is_whitespace))
        {
            return rest;
        }
    }
    t
}

fn check_sequence(output: &str, values: &[f64]) -> bool {
    let body: Vec<&str> = output.lines().map(strip_list_marker).collect();
    let found = numbers(&body.join("\n"), false);
    !values.is_empty()
        && found.len() >= values.len()
        && found[found.len() - values.len()..]
            .iter()
            .zip(values)
            .all(|(x, v)| close(*x, *v, 0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(json: &str) -> Answer {
        serde_json::from_str(json).unwrap()
    }

    /// Asserts `check` on each (reply, expected) pair, naming the reply that fails.
    fn expect(a: &Answer, cases: &[(&str, bool)]) {
        for &(reply, want) in cases {
            assert_eq!(a.check(reply), want, "{a:?} on {reply:?}");
        }
    }

    #[test]
    fn number_takes_the_last_number_of_a_chatty_reply() {
        let a = answer(r#"{"kind":"number","value":42,"tol":0}"#);
        expect(
            &a,
            &[
                ("42", true),
                ("The answer is 42.", true),
                ("12 + 30 = 42", true),
                ("**42**", true),
                ("42.0", true),
                ("The answer is 42. Let me know if you need one more!", true),
                ("The answer is 41.", false),
                ("42 + 1 = 43", false),
                ("", false),
                ("I don't know.", false),
            ],
        );
    }

    #[test]
    fn number_does_not_match_inside_a_longer_number() {
        let a = answer(r#"{"kind":"number","value":4,"tol":0}"#);
        expect(
            &a,
            &[
                ("14", false),
                ("4", true),
                ("A dog has 4 legs.", true),
                ("4.5", false),
                ("7-3=4", true),
            ],
        );
    }

    #[test]
    fn number_words_count_only_when_the_reply_has_no_digits() {
        expect(
            &answer(r#"{"kind":"number","value":42,"tol":0}"#),
            &[("Forty-two.", true), ("forty two", true), ("forty", false)],
        );
        expect(
            &answer(r#"{"kind":"number","value":4,"tol":0}"#),
            &[
                ("A dog has four legs.", true),
                ("It has four or fourteen", false),
                ("4 legs, one on each corner", true),
            ],
        );
    }

    #[test]
    fn number_reads_thousands_separators_signs_and_units() {
        expect(
            &answer(r#"{"kind":"number","value":1234,"tol":0}"#),
            &[
                ("1,234", true),
                ("$1,234.00", true),
                ("1234", true),
                ("1,23", false),
                ("1 234", false),
            ],
        );
        expect(
            &answer(r#"{"kind":"number","value":-4,"tol":0}"#),
            &[("3 - 7 = -4", true), ("\u{2212}4", true), ("4", false)],
        );
        // A date's hyphens are not minus signs.
        expect(
            &answer(r#"{"kind":"number","value":5,"tol":0}"#),
            &[("2024-03-05", true)],
        );
        expect(
            &answer(r#"{"kind":"number","value":-5,"tol":0}"#),
            &[("2024-03-05", false)],
        );
        expect(
            &answer(r#"{"kind":"number","value":12,"tol":0}"#),
            &[("15% of 80 is 12%", true), ("12 apples", true)],
        );
        expect(
            &answer(r#"{"kind":"number","value":2500,"tol":0}"#),
            &[("2.5 km = 2500m", true), ("2,500 m", true)],
        );
        // Digits glued to a letter are part of a word.
        expect(
            &answer(r#"{"kind":"number","value":2,"tol":0}"#),
            &[("CO2", false), ("H2O has 2 hydrogen atoms.", true)],
        );
        expect(
            &answer(r#"{"kind":"number","value":2.5,"tol":0}"#),
            &[("2.5 km", true), ("2,5 km", false)],
        );
    }

    #[test]
    fn number_tolerance_is_absolute_and_defaults_to_zero() {
        expect(
            &answer(r#"{"kind":"number","value":98.6,"tol":0.5}"#),
            &[
                ("about 99°F", true),
                ("37°C is 98.6 °F", true),
                ("100°F", false),
            ],
        );
        expect(
            &answer(r#"{"kind":"number","value":3}"#),
            &[("3", true), ("3.01", false)],
        );
    }

    #[test]
    fn text_matches_whole_words_ignoring_case_and_markdown() {
        let a = answer(r#"{"kind":"text","value":"Paris","alts":[],"case":false}"#);
        expect(
            &a,
            &[
                ("The capital of France is Paris.", true),
                ("**Paris**", true),
                ("PARIS!", true),
                ("\"paris\"", true),
                ("Parisian food", false),
                ("Comparison", false),
                ("Lyon", false),
            ],
        );
    }

    #[test]
    fn text_accepts_alternatives_and_ignores_punctuation_inside_the_gold() {
        let a = answer(r#"{"kind":"text","value":"Washington, D.C.","alts":["Washington"]}"#);
        expect(
            &a,
            &[
                ("Washington DC", true),
                ("washington, d.c.", true),
                ("The capital is Washington, D.C.", true),
                ("D.C.", false),
            ],
        );
        let a = answer(r#"{"kind":"text","value":"N'Djamena","alts":["Ndjamena"]}"#);
        expect(
            &a,
            &[
                ("The capital of Chad is N\u{2019}Djamena.", true),
                ("NDJAMENA", true),
                ("Djamena", false),
            ],
        );
        let a = answer(r#"{"kind":"text","value":"Brasília","alts":["Brasilia"]}"#);
        expect(
            &a,
            &[
                ("BRASÍLIA", true),
                ("Brasilia.", true),
                ("Rio de Janeiro", false),
            ],
        );
    }

    #[test]
    fn text_case_sensitive() {
        let a = answer(r#"{"kind":"text","value":"Fe","alts":[],"case":true}"#);
        expect(
            &a,
            &[
                ("The symbol for iron is Fe.", true),
                ("FE", false),
                ("fe", false),
                ("Fe2O3", false),
            ],
        );
    }

    #[test]
    fn text_wrong_phrases_veto_an_answer() {
        let a = answer(r#"{"kind":"text","value":"yes","alts":[],"case":false,"wrong":["no"]}"#);
        expect(
            &a,
            &[
                ("Yes, 17 is greater than 9.", true),
                ("yes.", true),
                ("No.", false),
                ("Yes and no.", false),
                ("Yesterday", false),
                ("Not really.", false),
            ],
        );
        let a = answer(r#"{"kind":"text","value":"no","wrong":["yes"]}"#);
        expect(
            &a,
            &[
                ("No, 9 is not greater than 17.", true),
                ("Nope.", false),
                ("Note: yes", false),
            ],
        );
        let a = answer(
            r#"{"kind":"text","value":"Omar Bello","alts":["Omar"],"wrong":["Felix Karimi","Felix"]}"#,
        );
        expect(
            &a,
            &[
                ("Omar Bello is taking the minutes.", true),
                ("Omar.", true),
                (
                    "Felix Karimi will chair and Omar Bello takes minutes.",
                    false,
                ),
                ("Felix Karimi", false),
            ],
        );
    }

    #[test]
    fn text_phrase_must_be_contiguous_and_in_order() {
        let a = answer(r#"{"kind":"text","value":"cherry, banana, apple"}"#);
        expect(
            &a,
            &[
                ("Cherry, banana, apple", true),
                ("Here you go: cherry banana apple", true),
                ("apple, banana, cherry", false),
                ("cherry, kiwi, banana, apple", false),
            ],
        );
    }

    #[test]
    fn label_needs_exactly_one_label_not_negated() {
        let a = answer(
            r#"{"kind":"label","value":"positive","labels":["positive","negative","neutral"]}"#,
        );
        expect(
            &a,
            &[
                ("Positive", true),
                ("**Positive**", true),
                ("The sentiment of this review is positive.", true),
                ("Positive. Positive!", true),
                ("It is positive, not negative.", true),
                ("Not negative, positive!", true),
                ("No, positive.", true),
                ("not positive", false),
                ("It isn't positive.", false),
                ("It\u{2019}s not **positive**.", false),
                ("non-positive", false),
                ("Negative", false),
                ("positive or negative", false),
                ("Mostly positive, but somewhat negative.", false),
                ("Positivity", false),
                ("", false),
            ],
        );
        let a = answer(
            r#"{"kind":"label","value":"negative","labels":["positive","negative","neutral"]}"#,
        );
        expect(
            &a,
            &[
                ("The review is not positive; it is negative.", true),
                ("not positive", false),
            ],
        );
    }

    #[test]
    fn label_topics_and_letters() {
        let a =
            answer(r#"{"kind":"label","value":"sports","labels":["sports","politics","finance"]}"#);
        expect(
            &a,
            &[
                ("Sports", true),
                ("This text is about sports.", true),
                ("sport", false),
                ("Sports and finance", false),
            ],
        );
        // Letter questions: the labels are the single letters other than "a" and "i" (and
        // the letter the question names), so articles and the restated question do not count.
        let letters: Vec<String> = ('b'..='z')
            .filter(|c| *c != 'i')
            .map(|c| c.to_string())
            .collect();
        let e = Answer::Label {
            value: "e".into(),
            labels: letters.clone(),
        };
        expect(
            &e,
            &[
                ("The first letter of 'elephant' is 'E'.", true),
                ("e-l-e-p-h-a-n-t", false),
            ],
        );
        let p = Answer::Label {
            value: "p".into(),
            labels: letters.clone(),
        };
        expect(&p, &[("It is a P.", true)]);
        let h_all = Answer::Label {
            value: "h".into(),
            labels: letters.clone(),
        };
        let h = Answer::Label {
            value: "h".into(),
            labels: letters.into_iter().filter(|l| l != "g").collect(),
        };
        expect(&h, &[("The letter after G is H.", true)]);
        expect(&h_all, &[("The letter after G is H.", false)]);
    }

    #[test]
    fn exact_matches_a_standalone_span_case_sensitively() {
        let a = answer(r#"{"kind":"exact","value":"15:45"}"#);
        expect(
            &a,
            &[
                ("15:45", true),
                ("Sure! 15:45", true),
                ("Answer: 15:45", true),
                ("`15:45`", true),
                ("```\n15:45\n```", true),
                ("3:45 PM is 15:45 in 24-hour time.", true),
                ("115:45", false),
                ("15:450", false),
                ("15:45:00", false),
                ("3:45 PM", false),
                ("15.45", false),
            ],
        );
        let a = answer(r#"{"kind":"exact","value":"HELLO WORLD"}"#);
        expect(
            &a,
            &[
                ("HELLO WORLD", true),
                ("\"HELLO WORLD\"", true),
                ("**HELLO WORLD**", true),
                ("Here it is in uppercase: \u{201c}HELLO WORLD\u{201d}", true),
                ("Hello World", false),
                ("HELLO WORLDS", false),
                ("hello world", false),
            ],
        );
        let a = answer(r#"{"kind":"exact","value":"red-green-blue"}"#);
        expect(
            &a,
            &[
                ("red-green-blue.", true),
                ("red-green-blue-yellow", false),
                ("dark-red-green-blue", false),
            ],
        );
        expect(
            &answer(r#"{"kind":"exact","value":"05/03/2024"}"#),
            &[("The date is 05/03/2024.", true), ("105/03/2024", false)],
        );
        expect(
            &answer(r#"{"kind":"exact","value":"user_id"}"#),
            &[("user_id", true), ("my_user_id", false)],
        );
        // A later, unglued occurrence still counts.
        expect(
            &answer(r#"{"kind":"exact","value":"ab"}"#),
            &[("xab, then ab", true), ("aab", false)],
        );
    }

    #[test]
    fn sequence_reads_the_last_numbers_in_order() {
        let a = answer(r#"{"kind":"sequence","values":[1,4,9]}"#);
        expect(
            &a,
            &[
                ("1, 4, 9", true),
                ("Sorted: 1 < 4 < 9", true),
                ("1. 1\n2. 4\n3. 9", true),
                ("- 1\n- 4\n- 9", true),
                ("9, 1, 4 sorted ascending is 1, 4, 9.", true),
                ("[1,4,9]", true),
                ("9, 4, 1", false),
                ("1, 4", false),
                ("1, 4, 9, 12", false),
                ("1, 4, 9. There are 3 numbers.", false),
            ],
        );
        expect(
            &answer(r#"{"kind":"sequence","values":[-5,-2,3]}"#),
            &[("-5, -2, 3", true), ("5, 2, 3", false)],
        );
        // No thousands separators in lists: "12,100" is two numbers.
        expect(
            &answer(r#"{"kind":"sequence","values":[5,12,100,200]}"#),
            &[("5,12,100,200", true)],
        );
        expect(
            &answer(r#"{"kind":"sequence","values":[0.5,1.25]}"#),
            &[("0.5, 1.25", true)],
        );
    }

    #[test]
    fn load_reads_items_and_rejects_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.jsonl");
        std::fs::write(
            &f,
            concat!(
                r#"{"id":"a-1","family":"a","level":1,"prompt":"What is 7+5?","answer":{"kind":"number","value":12}}"#,
                "\n\n",
                r#"{"id":"a-2","family":"a","level":3,"prompt":"Capital of France?","answer":{"kind":"text","value":"Paris"}}"#,
                "\n",
                r#"{"id":"a-3","family":"a","level":2,"prompt":"p","answer":{"kind":"label","value":"x","labels":["x","y"]}}"#,
                "\n",
                r#"{"id":"a-4","family":"a","level":2,"prompt":"p2","answer":{"kind":"exact","value":"HI"}}"#,
                "\n",
                r#"{"id":"a-5","family":"a","level":2,"prompt":"p3","answer":{"kind":"sequence","values":[1,2]}}"#,
                "\n",
            ),
        )
        .unwrap();
        let items = load(&f).unwrap();
        assert_eq!(items.len(), 5);
        assert_eq!(items[1].id, "a-2");
        assert_eq!(items[1].level, 3);
        assert!(items[0].answer.check("7 + 5 = 12"));
        assert!(matches!(
            &items[1].answer,
            Answer::Text { alts, case: false, wrong, .. } if alts.is_empty() && wrong.is_empty()
        ));

        let bad = [
            (
                r#"{"id":"b-1","family":"b","level":4,"prompt":"p","answer":{"kind":"exact","value":"x"}}"#,
                "level 4 is not",
            ),
            (
                r#"{"id":"b-1","family":"b","level":1,"prompt":"p","answer":{"kind":"label","value":"z","labels":["x","y"]}}"#,
                "not one of",
            ),
            (
                r#"{"id":"b-1","family":"b","level":1,"prompt":"p","answer":{"kind":"text","value":"--"}}"#,
                "no words",
            ),
            (
                r#"{"id":"b-1","family":"b","level":1,"prompt":"p","answer":{"kind":"regex","value":"x"}}"#,
                "c.jsonl:1",
            ),
        ];
        for (line, needle) in bad {
            std::fs::write(&f, format!("{line}\n")).unwrap();
            let err = format!("{:#}", load(&f).unwrap_err());
            assert!(err.contains(needle), "{needle:?} not in {err:?}");
        }
        let dup = r#"{"id":"b-1","family":"b","level":1,"prompt":"p","answer":{"kind":"exact","value":"x"}}"#;
        std::fs::write(&f, format!("{dup}\n{dup}\n")).unwrap();
        assert!(load(&f).unwrap_err().to_string().contains("duplicate id"));
        std::fs::write(&f, "\n").unwrap();
        assert!(load(&f).is_err());
    }

    /// The shipped data: every item loads, and a plain reply made of its gold answer passes.
    #[test]
    fn shipped_items_accept_their_own_gold_answer() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/checkable.jsonl");
        let items = load(&path).unwrap();
        assert!(items.len() >= 2000, "{} items", items.len());
        for item in &items {
            let reply = match &item.answer {
                Answer::Number { value, .. } => format!("The answer is {value}."),
                Answer::Text { value, .. } => format!("The answer is {value}."),
                Answer::Label { value, .. } => format!("**{value}**"),
                Answer::Exact { value } => format!("Sure! {value}"),
                Answer::Sequence { values } => values
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            assert!(item.answer.check(&reply), "{}: {reply:?}", item.id);
            assert!(!item.answer.check(""), "{}: empty reply passes", item.id);
        }
    }
}
