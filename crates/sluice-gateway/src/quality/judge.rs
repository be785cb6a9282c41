//! The judge's prompt and its verdicts: a rubric with the request and both answers, asked
//! twice with the answers swapped (an LLM judge favours one position; asking both ways and
//! combining cancels that), and a strict last-line verdict that is parsed or counted as
//! unparseable, never guessed.

use sluice_api::chat::ChatCompletionRequest;

/// Longest text of one part (the request, an answer) put before the judge, in bytes.
const MAX_PART_BYTES: usize = 24 * 1024;

/// The judge's pick in one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    A,
    B,
    Tie,
}

/// One order's verdict, named by model side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Weak,
    Strong,
    Tie,
    Unparseable,
    Failed,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Weak => "weak",
            Side::Strong => "strong",
            Side::Tie => "tie",
            Side::Unparseable => "unparseable",
            Side::Failed => "failed",
        }
    }

    /// `pick` in an order that showed the weak answer first (`weak_first`) or second.
    pub fn of(pick: Option<Pick>, weak_first: bool) -> Side {
        match (pick, weak_first) {
            (None, _) => Side::Unparseable,
            (Some(Pick::Tie), _) => Side::Tie,
            (Some(Pick::A), true) | (Some(Pick::B), false) => Side::Weak,
            (Some(Pick::A), false) | (Some(Pick::B), true) => Side::Strong,
        }
    }
}

/// Both orders combined: agreement stands, one-sided preference over a tie stands, and two
/// orders that contradict each other (each preferring the answer in the same position)
/// are position bias: a tie. Any unparseable order makes the comparison unparseable.
pub fn combine(weak_first: Side, strong_first: Side) -> &'static str {
    use Side::*;
    match (weak_first, strong_first) {
        (Failed, _) | (_, Failed) => "failed",
        (Unparseable, _) | (_, Unparseable) => "unparseable",
        (Weak, Weak) | (Weak, Tie) | (Tie, Weak) => "weak_better",
        (Strong, Strong) | (Strong, Tie) | (Tie, Strong) => "strong_better",
        (Tie, Tie) | (Weak, Strong) | (Strong, Weak) => "tie",
    }
}

/// Whether a combined verdict says the weak answer was as good as the strong one (`None`
/// for verdicts that say nothing).
pub fn weak_ok(verdict: &str) -> Option<bool> {
    match verdict {
        "weak_better" | "tie" => Some(true),
        "strong_better" => Some(false),
        _ => None,
    }
}

/// Reads the verdict from the judge's reply: its last non-empty line must be
/// `VERDICT: A`, `VERDICT: B` or `VERDICT: TIE` (any case; markdown emphasis tolerated).
pub fn parse(reply: &str) -> Option<Pick> {
    let last = reply.lines().rev().find(|l| !l.trim().is_empty())?;
    let line: String = last
        .chars()
        .filter(|c| !matches!(c, '*' | '_' | '`' | '#'))
        .collect();
    let line = line.trim();
    let (label, value) = line.split_once(':')?;
    if !label.trim().eq_ignore_ascii_case("verdict") {
        return None;
    }
    let value = value.trim().trim_end_matches('.').trim();
    let value = value.trim_start_matches('[').trim_end_matches(']');
    match value.to_ascii_uppercase().as_str() {
        "A" => Some(Pick::A),
        "B" => Some(Pick::B),
        "TIE" => Some(Pick::Tie),
        _ => None,
    }
}

/// The conversation as the judge reads it: each message on its own, named by role.
pub fn question(chat: &ChatCompletionRequest) -> String {
    let mut out = String::new();
    for m in &chat.messages {
        let text = m.content.as_ref().map(|c| c.text()).unwrap_or_default();
        if chat.messages.len() == 1 {
            out.push_str(&text);
        } else {
            out.push_str(&format!("[{}]\n{}\n\n", m.role, text));
        }
    }
    clip(out.trim_end())
}

/// The rubric with its slots filled.
pub fn prompt(rubric: &str, question: &str, answer_a: &str, answer_b: &str) -> String {
    // Filled in one pass so that an answer containing "{answer_b}" is not filled again.
    let mut out =
        String::with_capacity(rubric.len() + question.len() + answer_a.len() + answer_b.len());
    let mut rest = rubric;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let slot = [
            ("{question}", question),
            ("{answer_a}", answer_a),
            ("{answer_b}", answer_b),
        ]
        .into_iter()
        .find(|(name, _)| tail.starts_with(name));
        match slot {
            Some((name, value)) => {
                out.push_str(&clip(value));
                rest = &tail[name.len()..];
            }
            None => {
                out.push('{');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn clip(s: &str) -> String {
    if s.len() <= MAX_PART_BYTES {
        return s.to_owned();
    }
    let mut end = MAX_PART_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n[… truncated]", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_are_strict() {
        assert_eq!(parse("Both fine.\nVERDICT: A"), Some(Pick::A));
        assert_eq!(parse("reasoning\n\n**Verdict: b**\n\n"), Some(Pick::B));
        assert_eq!(parse("verdict: TIE."), Some(Pick::Tie));
        assert_eq!(parse("VERDICT: [A]"), Some(Pick::A));
        // Not on the last line, not one of the words, or no verdict at all: unparseable.
        assert_eq!(parse("VERDICT: A\nActually, B is better."), None);
        assert_eq!(parse("VERDICT: both"), None);
        assert_eq!(parse("A is better"), None);
        assert_eq!(parse(""), None);
        assert_eq!(parse("VERDICT A"), None);
    }

    #[test]
    fn both_orders_cancel_position_bias() {
        // The judge always picks the first answer: the two orders contradict, a tie.
        let (w, s) = (
            Side::of(Some(Pick::A), true),
            Side::of(Some(Pick::A), false),
        );
        assert_eq!((w, s), (Side::Weak, Side::Strong));
        assert_eq!(combine(w, s), "tie");
        // Consistent preference for the weak answer, in both positions.
        let w = Side::of(Some(Pick::A), true);
        let s = Side::of(Some(Pick::B), false);
        assert_eq!(combine(w, s), "weak_better");
        assert_eq!(combine(Side::Strong, Side::Tie), "strong_better");
        assert_eq!(combine(Side::Tie, Side::Unparseable), "unparseable");
        assert_eq!(combine(Side::Failed, Side::Weak), "failed");
        assert_eq!(weak_ok("tie"), Some(true));
        assert_eq!(weak_ok("strong_better"), Some(false));
        assert_eq!(weak_ok("unparseable"), None);
    }

    #[test]
    fn the_rubric_is_filled_once() {
        let p = prompt(
            "Q={question} A={answer_a} B={answer_b} {other}",
            "q",
            "{answer_b}",
            "b",
        );
        assert_eq!(p, "Q=q A={answer_b} B=b {other}");
        let long = "é".repeat(MAX_PART_BYTES);
        let p = prompt("{question}", &long, "", "");
        assert!(p.len() < MAX_PART_BYTES + 32 && p.ends_with("[… truncated]"));
    }
}
