//! How sure the model is of its own output, read from the logits the generation computes
//! anyway: no extra forward pass.
//!
//! Per generated token: the chosen token's log-probability, the entropy of the distribution
//! and the top-1/top-2 log-probability margin, all under the model's own distribution (raw
//! logits, before penalties and temperature, so that sampling settings do not change what
//! "confident" means). Per prompt: the mean log-likelihood of its last tokens, from the
//! prefill's logits (a prompt the model finds surprising is one it knows little about).
//!
//! Log-softmax is computed stably (max subtracted, sums in f64), and everything a decision
//! needs is summarised into a fixed vector of [`features`](Summary::features), the input of
//! an escalation head.

use serde::{Deserialize, Serialize};

/// The distribution of one step, summarised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    /// log Σ exp(logits).
    pub lse: f64,
    /// −Σ p log p, in nats.
    pub entropy: f32,
    /// log p(top-1) − log p(top-2).
    pub margin: f32,
}

/// Stable log-sum-exp, entropy and top-2 margin of one row of logits. Two passes over the
/// vocabulary: the maximum and runner-up, then the exponentials.
pub fn step_stats(logits: &[f32]) -> StepStats {
    let (mut top1, mut top2) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
    for &x in logits {
        if x > top1 {
            top2 = top1;
            top1 = x;
        } else if x > top2 {
            top2 = x;
        }
    }
    if !top1.is_finite() {
        return StepStats {
            lse: f64::from(top1),
            entropy: 0.0,
            margin: 0.0,
        };
    }
    // Σ e^(x−m) and Σ e^(x−m)(x−m) in f32 lanes the compiler vectorises (with an exp that
    // is plain arithmetic, unlike libm's), summed in f64 per chunk so 150k terms lose
    // nothing that matters.
    const LANES: usize = 8;
    let (mut z, mut zx) = (0f64, 0f64);
    for chunk in logits.chunks(1024) {
        let (mut cz, mut czx) = ([0f32; LANES], [0f32; LANES]);
        let lanes = chunk.chunks_exact(LANES);
        let rest = lanes.remainder();
        for c in lanes {
            for i in 0..LANES {
                let d = c[i] - top1;
                let e = exp_nonpositive(d);
                cz[i] += e;
                czx[i] += e * d;
            }
        }
        for &x in rest {
            let d = x - top1;
            let e = exp_nonpositive(d);
            cz[0] += e;
            czx[0] += e * d;
        }
        z += cz.iter().map(|&v| f64::from(v)).sum::<f64>();
        zx += czx.iter().map(|&v| f64::from(v)).sum::<f64>();
    }
    let log_z = z.ln();
    // H = log Z − E[x − m]  (with p = e^(x−m) / Z).
    let entropy = (log_z - zx / z).max(0.0) as f32;
    StepStats {
        lse: f64::from(top1) + log_z,
        entropy,
        margin: if top2.is_finite() { top1 - top2 } else { 0.0 },
    }
}

/// e^d for d ≤ 0 (relative error below 2e-6 near 0, 1.5e-5 at −87; 0 below e^-87):
/// 2^k by the exponent bits times a degree-7 polynomial for 2^f, f in [−½, ½]. No branch
/// and no float-to-int conversion (Rust's `as` saturates, which blocks vectorising): the
/// rounding is the 1.5·2²³ trick and k is read from the sum's bits.
#[inline(always)]
fn exp_nonpositive(d: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 · 2^23
    let x = d.max(-87.0) * std::f32::consts::LOG2_E;
    let t = x + MAGIC;
    let f = x - (t - MAGIC);
    let k = (t.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
    let p = 1.0
        + f * (std::f32::consts::LN_2
            + f * (0.240_226_5
                + f * (0.055_504_11
                    + f * (0.009_618_129
                        + f * (0.001_333_355_8 + f * (0.000_154_035_3 + f * 0.000_015_252_73))))));
    f32::from_bits(((k + 127) as u32) << 23) * p
}

/// log p(`token`) under `logits`, given their [`StepStats`].
pub fn log_prob(logits: &[f32], token: u32, stats: &StepStats) -> f32 {
    logits
        .get(token as usize)
        .map_or(f32::NEG_INFINITY, |&x| (f64::from(x) - stats.lse) as f32)
}

/// What a sequence records about itself as it generates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    /// Per generated token (EOS included when it ended the sequence).
    pub logprobs: Vec<f32>,
    pub entropies: Vec<f32>,
    pub margins: Vec<f32>,
    /// Per generated token: it does not occur in the prompt. A small model restating the
    /// question is sure of the words it copies; its confidence in what it adds is the
    /// telling part.
    #[serde(default)]
    pub novel: Vec<bool>,
    /// Σ log p of the scored prompt tokens, and how many were scored (the prompt's last
    /// tokens, as many as the request asked for and the prefill computed logits for).
    pub prompt_logprob_sum: f64,
    pub prompt_scored: usize,
    pub prompt_tokens: usize,
}

impl Signals {
    pub fn push(&mut self, logprob: f32, stats: &StepStats, novel: bool) {
        self.novel.push(novel);
        self.logprobs.push(logprob.max(FLOOR));
        self.entropies.push(stats.entropy);
        self.margins.push(stats.margin);
    }

    /// Summary of the first `n` generated tokens (all of them if fewer); `stopped` says
    /// whether the sequence ended by itself within them.
    pub fn summary(&self, n: usize, stopped: bool) -> Summary {
        let n = n.min(self.logprobs.len());
        let lp = &self.logprobs[..n];
        let en = &self.entropies[..n];
        let mg = &self.margins[..n];
        let mean = |v: &[f32]| {
            if v.is_empty() {
                0.0
            } else {
                (v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len() as f64) as f32
            }
        };
        let min = |v: &[f32]| v.iter().copied().fold(f32::INFINITY, f32::min);
        let max = |v: &[f32]| v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let or0 = |x: f32| if x.is_finite() { x } else { 0.0 };
        let novel: Vec<f32> = lp
            .iter()
            .zip(&self.novel)
            .filter(|(_, &n)| n)
            .map(|(&l, _)| l)
            .collect();
        Summary {
            prompt_mean_logprob: if self.prompt_scored == 0 {
                0.0
            } else {
                (self.prompt_logprob_sum / self.prompt_scored as f64) as f32
            },
            prompt_tokens: self.prompt_tokens,
            tokens: n,
            mean_logprob: mean(lp),
            min_logprob: or0(min(lp)).max(FLOOR),
            low_logprob: quantile(lp, 0.1).max(FLOOR),
            first_logprob: lp.first().copied().unwrap_or(0.0).max(FLOOR),
            mean_entropy: mean(en),
            max_entropy: or0(max(en)),
            mean_margin: mean(mg),
            min_margin: or0(min(mg)),
            novel_mean_logprob: mean(&novel),
            novel_min_logprob: or0(min(&novel)),
            novel_share: if n == 0 {
                0.0
            } else {
                novel.len() as f32 / n as f32
            },
            stopped,
        }
    }
}

/// Log-probabilities below this are clamped: a token the model gave e^-30 is as telling as
/// one it gave e^-300, and a head should not see unbounded inputs.
const FLOOR: f32 = -30.0;

/// The `q` quantile (nearest rank, lower) of `v`; 0 when empty.
fn quantile(v: &[f32], q: f64) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_unstable_by(f32::total_cmp);
    s[((s.len() - 1) as f64 * q).floor() as usize]
}

/// A generation's confidence at a decision point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub prompt_mean_logprob: f32,
    pub prompt_tokens: usize,
    /// Generated tokens summarised.
    pub tokens: usize,
    pub mean_logprob: f32,
    pub min_logprob: f32,
    /// 10th percentile of the chosen tokens' log-probabilities.
    pub low_logprob: f32,
    pub first_logprob: f32,
    pub mean_entropy: f32,
    pub max_entropy: f32,
    pub mean_margin: f32,
    pub min_margin: f32,
    /// Over the generated tokens that do not occur in the prompt (0 when there are none).
    pub novel_mean_logprob: f32,
    pub novel_min_logprob: f32,
    /// Share of the generated tokens that do not occur in the prompt.
    pub novel_share: f32,
    /// The model ended the answer itself (EOS or a stop sequence) within these tokens.
    pub stopped: bool,
}

/// Names of [`Summary::features`], in order. Changing them changes [`FEATURES_VERSION`].
pub const FEATURE_NAMES: [&str; 15] = [
    "prompt_mean_logprob",
    "log_prompt_tokens",
    "log_tokens",
    "mean_logprob",
    "min_logprob",
    "low_logprob",
    "first_logprob",
    "mean_entropy",
    "max_entropy",
    "mean_margin",
    "min_margin",
    "novel_mean_logprob",
    "novel_min_logprob",
    "novel_share",
    "stopped",
];

/// Recorded in an escalation head's metadata (`sluice.signals`): a head trained on another
/// definition is refused at load.
pub const FEATURES_VERSION: &str = "signals-v2";

impl Summary {
    pub fn features(&self) -> [f32; FEATURE_NAMES.len()] {
        [
            self.prompt_mean_logprob,
            (1.0 + self.prompt_tokens as f32).ln(),
            (1.0 + self.tokens as f32).ln(),
            self.mean_logprob,
            self.min_logprob,
            self.low_logprob,
            self.first_logprob,
            self.mean_entropy,
            self.max_entropy,
            self.mean_margin,
            self.min_margin,
            self.novel_mean_logprob,
            self.novel_min_logprob,
            self.novel_share,
            f32::from(u8::from(self.stopped)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct(logits: &[f32]) -> (Vec<f64>, f64) {
        let lse = logits.iter().map(|&x| f64::from(x).exp()).sum::<f64>().ln();
        let lp: Vec<f64> = logits.iter().map(|&x| f64::from(x) - lse).collect();
        let h = -lp.iter().map(|&l| l.exp() * l).sum::<f64>();
        (lp, h)
    }

    #[test]
    fn stats_match_a_direct_log_softmax() {
        let logits: Vec<f32> = (0..5000)
            .map(|i| ((i as f32) * 0.731).sin() * 7.0)
            .collect();
        let s = step_stats(&logits);
        let (lp, h) = direct(&logits);
        assert!(
            (f64::from(s.entropy) - h).abs() < 1e-4,
            "{} vs {h}",
            s.entropy
        );
        for t in [0u32, 17, 4999] {
            assert!((f64::from(log_prob(&logits, t, &s)) - lp[t as usize]).abs() < 1e-5);
        }
        let mut sorted = lp.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        assert!((f64::from(s.margin) - (sorted[0] - sorted[1])).abs() < 1e-5);
    }

    #[test]
    fn fast_exp_is_accurate_over_its_range() {
        let mut d = 0f32;
        while d > -90.0 {
            let want = f64::from(d).exp();
            let got = f64::from(exp_nonpositive(d));
            if d > -87.0 {
                // x = d·log2(e) rounds to f32: an error that grows with |d|.
                let tol = 2e-6 + 1.5e-7 * f64::from(-d);
                assert!(((got - want) / want).abs() < tol, "e^{d}: {got} vs {want}");
            } else {
                assert!(got < 1e-37);
            }
            d -= 0.0173;
        }
        assert_eq!(exp_nonpositive(0.0), 1.0);
    }

    #[test]
    fn huge_logits_do_not_overflow() {
        let logits = [1000.0f32, 999.0, -1000.0];
        let s = step_stats(&logits);
        assert!(s.lse.is_finite() && s.entropy.is_finite());
        let p0 = log_prob(&logits, 0, &s);
        assert!((p0 - (-(1.0 + (-1f32).exp()).ln())).abs() < 1e-5);
        assert_eq!(step_stats(&[3.0; 4]).margin, 0.0);
        assert!((step_stats(&[3.0; 4]).entropy - 4f32.ln()).abs() < 1e-5);
    }

    #[test]
    fn summaries_cut_at_n_and_stay_finite() {
        let mut s = Signals {
            prompt_logprob_sum: -6.0,
            prompt_scored: 3,
            prompt_tokens: 10,
            ..Default::default()
        };
        for (i, lp) in [-0.1f32, -2.0, -0.5, -400.0].iter().enumerate() {
            s.push(
                *lp,
                &StepStats {
                    lse: 0.0,
                    entropy: i as f32,
                    margin: 1.0 / (i as f32 + 1.0),
                },
                i % 2 == 1,
            );
        }
        let two = s.summary(2, false);
        assert_eq!(two.tokens, 2);
        assert_eq!(two.prompt_mean_logprob, -2.0);
        assert!((two.mean_logprob + 1.05).abs() < 1e-6);
        assert_eq!(two.min_logprob, -2.0);
        assert_eq!(two.max_entropy, 1.0);
        let all = s.summary(99, true);
        assert_eq!(all.tokens, 4);
        assert_eq!(all.min_logprob, FLOOR);
        assert!(all.features().iter().all(|x| x.is_finite()));
        assert_eq!(all.features()[FEATURE_NAMES.len() - 1], 1.0);
        // Novel tokens: the 2nd and 4th (-2.0 and the floored -400).
        assert_eq!(all.novel_share, 0.5);
        assert_eq!(all.novel_min_logprob, FLOOR);
        assert_eq!(all.novel_mean_logprob, (-2.0 + FLOOR) / 2.0);
        assert_eq!(two.novel_mean_logprob, -2.0);
        let none = Signals::default().summary(5, false);
        assert!(none.features().iter().all(|x| x.is_finite()));
    }
}
