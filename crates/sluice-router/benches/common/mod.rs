//! Shared set-up for the router benchmarks.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use sluice_router::embedding::{EmbeddingModel, LoadOptions};

pub fn minilm() -> PathBuf {
    sluice_testkit::env::models_dir().join("all-MiniLM-L6-v2")
}

pub fn load(variant: &str) -> EmbeddingModel {
    EmbeddingModel::load(
        &minilm(),
        &LoadOptions {
            variant: variant.into(),
            ..LoadOptions::default()
        },
    )
    .unwrap()
}

/// A question-like text that tokenizes to exactly `n` tokens (special tokens included).
pub fn text_of_tokens(m: &EmbeddingModel, n: usize) -> String {
    let words = [
        "how",
        "do",
        "i",
        "configure",
        "the",
        "retry",
        "policy",
        "for",
        "my",
        "service",
        "when",
        "requests",
        "fail",
    ];
    let mut text = String::new();
    let mut i = 0;
    while m.tokenize(&text).unwrap().len() < n {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(words[i % words.len()]);
        i += 1;
    }
    // A word of several tokens can overshoot: back off, then fill with one-token words.
    while m.tokenize(&text).unwrap().len() > n {
        let cut = text.rfind(' ').unwrap_or(0);
        text.truncate(cut);
    }
    while m.tokenize(&text).unwrap().len() < n {
        text.push_str(" a");
    }
    assert_eq!(
        m.tokenize(&text).unwrap().len(),
        n,
        "could not hit {n} tokens exactly"
    );
    text
}
