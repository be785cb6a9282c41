//! Cheap prompt features a router head may read next to the embedding.
//!
//! One definition, used by both sides of the contract: `sluice-evals` computes them for
//! every training row and the gateway for every routed request, from the same text (the
//! routed text: last user turn plus configured history). A head that wants them has a second
//! ONNX input named `features` of width [`COUNT`] and records [`VERSION`] in its metadata, so
//! a head trained on another definition is refused at load instead of scoring garbage.
//!
//! Each feature is a small, bounded number that says something about *how hard* a request
//! is independent of its topic: size, mathematical and code notation, the form of the
//! request (a question, an instruction to prove or design, a chat pleasantry), and the
//! script it is written in. The head (trained with standardisation baked in) weighs them.
//! Only the first [`SCAN_BYTES`] are scanned for markers, so a huge prompt costs no more
//! than a long one; its size still counts in full.

/// Bump when any feature's definition changes: heads record the version they were trained on.
pub const VERSION: &str = "sluice-features-v1";

/// Feature names, in input order.
pub const NAMES: &[&str] = &[
    "log_chars",
    "log_lines",
    "digit_share",
    "math_share",
    "latex",
    "code_share",
    "code_words",
    "question",
    "wh_start",
    "reasoning_words",
    "light_words",
    "non_ascii_share",
];

pub const COUNT: usize = 12;

/// Bytes scanned for markers; the size features use the whole text.
pub const SCAN_BYTES: usize = 8192;

/// Verbs and nouns that ask for derivation, analysis or construction rather than recall.
const REASONING: &[&str] = &[
    "prove",
    "proof",
    "derive",
    "derivation",
    "theorem",
    "lemma",
    "rigorous",
    "rigorously",
    "analyze",
    "analyse",
    "analysis",
    "design",
    "architecture",
    "implement",
    "optimize",
    "optimise",
    "complexity",
    "algorithm",
    "evaluate",
    "critique",
    "trade-offs",
    "tradeoffs",
    "step-by-step",
    "calculate",
    "compute",
    "solve",
    "integral",
    "equation",
    "matrix",
    "probability",
    "estimate",
    "debug",
    "concurrency",
    "distributed",
];

/// Words of small talk and light editing work.
const LIGHT: &[&str] = &[
    "thanks",
    "thank",
    "hello",
    "hi",
    "hey",
    "please",
    "translate",
    "translation",
    "rephrase",
    "reword",
    "rewrite",
    "summarize",
    "summarise",
    "typo",
    "typos",
    "spelling",
    "grammar",
    "format",
    "list",
    "email",
    "joke",
    "poem",
    "haiku",
    "recipe",
    "synonym",
    "capital",
    "good",
    "morning",
    "bye",
];

const CODE_WORDS: &[&str] = &[
    "def", "fn", "function", "class", "return", "import", "const", "let", "var", "select",
    "struct", "impl", "async", "await", "lambda", "public", "void", "include", "elif",
];

const WH: &[&str] = &[
    "what", "who", "when", "where", "which", "how", "why", "is", "are", "can", "does", "do",
];

/// The features of `text`, in [`NAMES`] order.
pub fn prompt_features(text: &str) -> [f32; COUNT] {
    let total_chars = text.chars().count().max(1);
    let lines = text.lines().count().max(1);
    let mut end = text.len().min(SCAN_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let scan = &text[..end];
    let (mut n, mut digits, mut math, mut code, mut non_ascii) = (0usize, 0, 0, 0, 0);
    let mut latex = false;
    for c in scan.chars() {
        n += 1;
        if c.is_ascii_digit() {
            digits += 1;
        } else if matches!(
            c,
            '=' | '+'
                | '^'
                | '*'
                | '/'
                | '<'
                | '>'
                | '∫'
                | '∑'
                | '√'
                | 'π'
                | '≤'
                | '≥'
                | '≠'
                | '∞'
        ) {
            math += 1;
        } else if matches!(c, '{' | '}' | ';' | '(' | ')' | '[' | ']' | '`' | '_' | '#') {
            code += 1;
        } else if c == '$' || c == '\\' {
            latex = true;
        }
        if !c.is_ascii() {
            non_ascii += 1;
        }
    }
    let n = n.max(1) as f32;
    let (mut reasoning, mut light, mut code_words) = (0usize, 0usize, 0usize);
    let mut wh = None;
    // One buffer for every word's lowercase form: no allocation per word.
    let mut lw = String::with_capacity(32);
    for w in scan
        .split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .filter(|w| !w.is_empty())
    {
        lw.clear();
        lw.extend(w.chars().flat_map(char::to_lowercase));
        let lw = lw.as_str();
        if wh.is_none() {
            wh = Some(WH.contains(&lw));
        }
        if REASONING.contains(&lw) {
            reasoning += 1;
        }
        if LIGHT.contains(&lw) {
            light += 1;
        }
        if CODE_WORDS.contains(&lw) {
            code_words += 1;
        }
    }
    let question = scan.trim_end().ends_with('?') || scan.trim_end().ends_with('？');
    let wh = wh.unwrap_or(false);
    // Counts are squashed so one long paste cannot dominate: ln(1 + count).
    let squash = |k: usize| (1.0 + k as f32).ln();
    [
        (total_chars as f32).ln_1p(),
        (lines as f32).ln(),
        digits as f32 / n,
        math as f32 / n,
        f32::from(u8::from(latex)),
        code as f32 / n,
        squash(code_words),
        f32::from(u8::from(question)),
        f32::from(u8::from(wh)),
        squash(reasoning),
        squash(light),
        non_ascii as f32 / n,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(f: &[f32; COUNT], name: &str) -> f32 {
        f[NAMES.iter().position(|n| *n == name).unwrap()]
    }

    #[test]
    fn names_match_count() {
        assert_eq!(NAMES.len(), COUNT);
    }

    #[test]
    fn each_feature_reads_what_its_name_says() {
        let f = prompt_features("thanks!");
        assert!((get(&f, "log_chars") - 8f32.ln()).abs() < 1e-6);
        assert_eq!(get(&f, "log_lines"), 0.0);
        assert_eq!(get(&f, "question"), 0.0);
        assert!((get(&f, "light_words") - 2f32.ln()).abs() < 1e-6);
        assert_eq!(get(&f, "reasoning_words"), 0.0);

        let f = prompt_features("Prove that $\\sqrt{2}$ is irrational, then derive x^2 = 2?");
        assert_eq!(get(&f, "latex"), 1.0);
        assert!((get(&f, "reasoning_words") - 3f32.ln()).abs() < 1e-6);
        assert_eq!(get(&f, "question"), 1.0);
        assert!(get(&f, "math_share") > 0.0 && get(&f, "digit_share") > 0.0);

        let f = prompt_features("How do I fix this?\n```\ndef f(x):\n    return x[0]\n```");
        assert_eq!(get(&f, "wh_start"), 1.0);
        assert!((get(&f, "log_lines") - 5f32.ln()).abs() < 1e-6);
        assert!((get(&f, "code_words") - 3f32.ln()).abs() < 1e-6);
        assert!(get(&f, "code_share") > 0.1);

        let f = prompt_features("Bonjour, ça va ?");
        assert!((get(&f, "non_ascii_share") - 1.0 / 16.0).abs() < 1e-6);
        assert_eq!(get(&f, "question"), 1.0);
    }

    #[test]
    fn empty_and_huge_inputs_are_bounded() {
        let f = prompt_features("");
        assert!(f.iter().all(|x| x.is_finite()));
        // A multi-byte character straddling the scan limit must not panic.
        let huge = "é".repeat(SCAN_BYTES);
        let f = prompt_features(&huge);
        assert!(f.iter().all(|x| x.is_finite()));
        assert!((get(&f, "log_chars") - (SCAN_BYTES as f32).ln_1p()).abs() < 1e-4);
        assert_eq!(get(&f, "non_ascii_share"), 1.0);
    }
}
