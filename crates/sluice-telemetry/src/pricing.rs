//! Prices and costs in exact integer arithmetic.
//!
//! Prices are configured in USD per million tokens; here they become pico-USD (1e-12 USD)
//! per token, which is exact for any price written with up to six decimals ($0.075 →
//! 75,000). Costs are integer pico-USD, so summing millions of requests loses nothing and
//! the metrics reconcile exactly with the upstreams' usage.

/// Token counts of one request, as the model reported them (or as estimated).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    pub prompt: u64,
    /// Of `prompt`, how many were served from the provider's prompt cache.
    pub cached: u64,
    /// Of `prompt`, how many were written to the provider's prompt cache.
    pub cache_write: u64,
    pub completion: u64,
}

/// Pico-USD per token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenPrices {
    pub input: u64,
    pub cached_input: u64,
    pub cache_write: u64,
    pub output: u64,
}

impl TokenPrices {
    /// From USD per million tokens (what the YAML says); cache writes at the input price.
    pub fn per_million(input: f64, cached_input: f64, output: f64) -> TokenPrices {
        let conv = |usd_per_million: f64| (usd_per_million * 1e6).round().max(0.0) as u64;
        TokenPrices {
            input: conv(input),
            cached_input: conv(cached_input),
            cache_write: conv(input),
            output: conv(output),
        }
    }

    /// With a price of its own for prompt tokens written to the provider's cache.
    pub fn with_cache_write(self, usd_per_million: f64) -> TokenPrices {
        TokenPrices {
            cache_write: (usd_per_million * 1e6).round().max(0.0) as u64,
            ..self
        }
    }

    /// Cost in pico-USD. Prompt tokens read from the provider's cache are billed at the
    /// cached price, those written to it at the cache-write price, the rest of the prompt
    /// at the input price.
    pub fn cost(&self, t: Tokens) -> u128 {
        let cached = t.cached.min(t.prompt);
        let written = t.cache_write.min(t.prompt - cached);
        u128::from(t.prompt - cached - written) * u128::from(self.input)
            + u128::from(cached) * u128::from(self.cached_input)
            + u128::from(written) * u128::from(self.cache_write)
            + u128::from(t.completion) * u128::from(self.output)
    }
}

/// Exact decimal rendering of a pico-USD amount, e.g. `0.000012500000`.
pub fn format_usd(pico: u128) -> String {
    format!(
        "{}.{:012}",
        pico / 1_000_000_000_000,
        pico % 1_000_000_000_000
    )
}

/// A pico-USD amount in USD as a float (for Prometheus, which speaks f64).
pub fn to_usd(pico: u128) -> f64 {
    // Whole dollars exactly, plus the fraction as one correctly rounded division.
    (pico / 1_000_000_000_000) as f64 + (pico % 1_000_000_000_000) as f64 / 1e12
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_costs() {
        // gpt-4o: $2.50 in, $1.25 cached in, $10.00 out per million tokens.
        let p = TokenPrices::per_million(2.5, 1.25, 10.0);
        assert_eq!(
            p,
            TokenPrices {
                input: 2_500_000,
                cached_input: 1_250_000,
                cache_write: 2_500_000,
                output: 10_000_000
            }
        );
        let c = p.cost(Tokens {
            prompt: 1234,
            cached: 200,
            cache_write: 0,
            completion: 567,
        });
        // 1034 × 2.5e-6 + 200 × 1.25e-6 + 567 × 1e-5 = 0.002585 + 0.00025 + 0.00567
        assert_eq!(format_usd(c), "0.008505000000");
        // Prices with six decimals stay exact: $0.075 / M.
        let mini = TokenPrices::per_million(0.15, 0.075, 0.6);
        assert_eq!(
            format_usd(mini.cost(Tokens {
                prompt: 3,
                cached: 3,
                cache_write: 0,
                completion: 0
            })),
            "0.000000225000"
        );
        assert_eq!(
            format_usd(mini.cost(Tokens {
                prompt: 1,
                cached: 0,
                cache_write: 0,
                completion: 1
            })),
            "0.000000750000"
        );
    }

    #[test]
    fn cache_writes_have_their_own_price() {
        // Claude Sonnet: $3 in, $0.30 cache read, $3.75 cache write, $15 out.
        let p = TokenPrices::per_million(3.0, 0.3, 15.0).with_cache_write(3.75);
        let c = p.cost(Tokens {
            prompt: 1000,
            cached: 200,
            cache_write: 300,
            completion: 10,
        });
        // 500 × 3e-6 + 200 × 0.3e-6 + 300 × 3.75e-6 + 10 × 15e-6
        assert_eq!(format_usd(c), "0.002835000000");
        // Never more cache tokens than prompt tokens.
        let c = p.cost(Tokens {
            prompt: 10,
            cached: 8,
            cache_write: 8,
            completion: 0,
        });
        assert_eq!(c, 8 * 300_000 + 2 * 3_750_000);
    }

    #[test]
    fn cached_never_exceeds_prompt_and_zero_is_free() {
        let p = TokenPrices::per_million(1.0, 0.5, 2.0);
        assert_eq!(
            p.cost(Tokens {
                prompt: 10,
                cached: 50,
                cache_write: 0,
                completion: 0
            }),
            10 * 500_000
        );
        assert_eq!(
            TokenPrices::default().cost(Tokens {
                prompt: 99,
                cached: 1,
                cache_write: 0,
                completion: 99
            }),
            0
        );
        assert_eq!(p.cost(Tokens::default()), 0);
    }

    #[test]
    fn sums_are_exact_where_floats_drift() {
        let p = TokenPrices::per_million(0.1, 0.1, 0.3);
        let one = p.cost(Tokens {
            prompt: 1,
            cached: 0,
            cache_write: 0,
            completion: 1,
        });
        let total: u128 = (0..1_000_000).map(|_| one).sum();
        assert_eq!(format_usd(total), "0.400000000000");
        let float_total: f64 = (0..1_000_000).map(|_| to_usd(one)).sum();
        assert_ne!(float_total, 0.4, "the reason costs are kept as integers");
        assert_eq!(to_usd(total), 0.4);
    }
}
