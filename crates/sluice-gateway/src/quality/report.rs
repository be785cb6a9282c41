//! `sluice quality report`: per policy and day, what routing saved and what it cost in
//! quality — the weak model's win rate (as good as or better than the strong model in
//! judged pairs) with a 95% Wilson interval, the share sent to the strong model, cost,
//! savings against the baseline, shadow spend and feedback.

use std::fmt::Write as _;

use sluice_outcomes::DayReport;

use super::page::wilson;

/// `--since`: a day (`2026-11-01`) or an age (`7d`, `36h`), as Unix milliseconds.
pub fn parse_since(s: &str, now_ms: i64) -> Result<i64, String> {
    if let Some(ms) = sluice_outcomes::day_start_ms(s) {
        return Ok(ms);
    }
    let (num, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("expected a day (2026-11-01) or an age (7d, 36h), got '{s}'"))?;
    let unit_ms = match unit {
        "d" => 86_400_000,
        "h" => 3_600_000,
        _ => {
            return Err(format!(
                "expected a day (2026-11-01) or an age (7d, 36h), got '{s}'"
            ))
        }
    };
    Ok(now_ms - n * unit_ms)
}

fn pct(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.1}%", 100.0 * a / b)
    } else {
        "-".into()
    }
}

fn win(r: &DayReport) -> String {
    match wilson(r.weak_ok, r.parsed) {
        Some((lo, hi)) => format!(
            "{:.1}% [{:.1}-{:.1}]",
            100.0 * r.weak_ok as f64 / r.parsed as f64,
            100.0 * lo,
            100.0 * hi
        ),
        None => "-".into(),
    }
}

/// The table, one line per policy and day and a total per policy.
pub fn render(rows: &[DayReport]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:<10} {:>8} {:>7} {:>7} {:>22} {:>10} {:>10} {:>15} {:>9} {:>9}",
        "policy",
        "day",
        "requests",
        "strong",
        "judged",
        "weak win rate [95% CI]",
        "cost $",
        "baseline $",
        "saved $",
        "shadow $",
        "feedback"
    );
    let mut policies: Vec<&str> = rows.iter().map(|r| r.policy.as_str()).collect();
    policies.dedup();
    policies.sort_unstable();
    policies.dedup();
    let line = |out: &mut String, r: &DayReport| {
        let saved = r.baseline_usd - r.cost_usd;
        let feedback = if r.feedback > 0 {
            format!(
                "{:+.2} n={}",
                r.feedback_sum / r.feedback as f64,
                r.feedback
            )
        } else {
            "-".into()
        };
        let _ = writeln!(
            out,
            "{:<16} {:<10} {:>8} {:>7} {:>7} {:>22} {:>10.4} {:>10.4} {:>15} {:>9.4} {:>9}",
            r.policy,
            r.day,
            r.requests,
            pct(r.strong as f64, r.requests as f64),
            r.judged,
            win(r),
            r.cost_usd,
            r.baseline_usd,
            format!("{saved:.4} ({})", pct(saved, r.baseline_usd)),
            r.shadow_usd,
            feedback
        );
    };
    for p in policies {
        let days: Vec<&DayReport> = rows.iter().filter(|r| r.policy == p).collect();
        for r in &days {
            line(&mut out, r);
        }
        if days.len() > 1 {
            let mut total = DayReport {
                policy: p.to_owned(),
                day: "total".into(),
                ..DayReport::default()
            };
            for r in &days {
                total.requests += r.requests;
                total.strong += r.strong;
                total.weak += r.weak;
                total.judged += r.judged;
                total.parsed += r.parsed;
                total.weak_ok += r.weak_ok;
                total.cost_usd += r.cost_usd;
                total.baseline_usd += r.baseline_usd;
                total.shadow_usd += r.shadow_usd;
                total.feedback += r.feedback;
                total.feedback_sum += r.feedback_sum;
            }
            line(&mut out, &total);
        }
    }
    if rows.is_empty() {
        out.push_str("(no requests in the store for this period)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_days_and_ages() {
        let now = 1_796_169_600_000;
        assert_eq!(parse_since("7d", now), Ok(now - 7 * 86_400_000));
        assert_eq!(parse_since("36h", now), Ok(now - 36 * 3_600_000));
        assert_eq!(parse_since("2026-12-02", now), Ok(1_796_169_600_000));
        assert!(parse_since("soon", now).is_err());
        assert!(parse_since("5w", now).is_err());
    }

    #[test]
    fn the_table_has_a_line_per_day_and_a_total() {
        let day = |d: &str, ok, parsed| DayReport {
            policy: "auto".into(),
            day: d.into(),
            requests: 10,
            strong: 4,
            weak: 6,
            judged: parsed,
            parsed,
            weak_ok: ok,
            cost_usd: 0.01,
            baseline_usd: 0.05,
            ..DayReport::default()
        };
        let t = render(&[day("2026-12-01", 8, 10), day("2026-12-02", 0, 0)]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4, "{t}");
        assert!(lines[1].contains("80.0% [49.0-94.3]"), "{t}");
        assert!(
            lines[1].contains("40.0%") && lines[1].contains("0.0400 (80.0%)"),
            "{t}"
        );
        assert!(lines[2].contains(" - "), "no judged pairs: {t}");
        assert!(
            lines[3].contains("total") && lines[3].contains("0.0800 (80.0%)"),
            "{t}"
        );
    }
}
