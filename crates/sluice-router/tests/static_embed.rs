//! The static table distilled from MiniLM (`scripts/distill_static.py`, made by
//! `scripts/setup.sh` into the cache folder beside the models): read by the same
//! [`EmbeddingModel`] as the transformer, and checked against the distiller's own Python
//! computation of a reference sentence.
#![allow(clippy::unwrap_used)]

use sluice_router::embedding::{dot, model_path, EmbeddingModel, LoadOptions};

fn load() -> EmbeddingModel {
    // Resolved like the config's `model: all-MiniLM-L6-v2-static`: the models folder first,
    // then the cache folder beside it.
    std::env::set_var(
        "SLUICE_MODELS_DIR",
        sluice_testkit::env::models_dir().as_os_str(),
    );
    let dir = model_path("all-MiniLM-L6-v2-static");
    assert!(
        dir.join("embeddings.safetensors").is_file(),
        "no static table at {} (scripts/setup.sh makes it)",
        dir.display()
    );
    EmbeddingModel::load(&dir, &LoadOptions::default()).unwrap()
}

#[test]
fn matches_the_distillers_reference() {
    let mut m = load();
    assert!(m.is_static());
    assert_eq!(m.dim(), 256);
    let text = "How do I reverse a linked list in Python?";
    // No special tokens: a static model averages token rows.
    assert_eq!(
        m.tokenize(text).unwrap(),
        [2129, 2079, 1045, 7901, 1037, 5799, 2862, 1999, 18750, 1029]
    );
    let v = &m.embed(&[text]).unwrap()[0];
    let want = [-0.218_929_1f32, 0.138_026_2, 0.011_437_1, 0.095_324_0];
    for (g, w) in v.iter().zip(want) {
        assert!((g - w).abs() < 1e-5, "{:?} vs {want:?}", &v[..4]);
    }
    assert!((dot(v, v) - 1.0).abs() < 1e-5, "normalised");
}

#[test]
fn batches_equal_singles_and_similar_texts_are_close() {
    let mut m = load();
    let texts = [
        "How do I reverse a linked list in Python?",
        "python: reverse a linked list",
        "What is the weather like in Paris today?",
        "",
    ];
    let batch = m.embed(&texts).unwrap();
    for (t, b) in texts.iter().zip(&batch) {
        assert_eq!(&m.embed(&[t]).unwrap()[0], b, "{t:?}");
    }
    assert!(dot(&batch[0], &batch[1]) > dot(&batch[0], &batch[2]) + 0.2);
    assert!(
        batch[3].iter().all(|x| *x == 0.0),
        "empty text: zero vector"
    );
}

#[test]
fn long_texts_keep_head_and_tail() {
    let m = load();
    let text = format!("alpha {} omega", "filler ".repeat(1000));
    let ids = m.tokenize(&text).unwrap();
    assert_eq!(ids.len(), 256);
    assert_eq!(ids[0], m.tokenize("alpha").unwrap()[0]);
    assert_eq!(*ids.last().unwrap(), m.tokenize("omega").unwrap()[0]);
}

/// The ASCII fast path gives the general tokenizer's ids, on real prompts and on generated
/// text full of the cases that differ: control characters, punctuation runs, words longer
/// than WordPiece's 100-character limit, pieces not in the vocabulary, special-token text.
#[test]
fn fast_tokenizer_equals_the_general_one() {
    use sluice_router::static_embed::AsciiWordPiece;
    let m = load();
    let dir = model_path("all-MiniLM-L6-v2-static");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("tokenizer.json")).unwrap()).unwrap();
    let fast = AsciiWordPiece::from_json(&json).expect("a BERT uncased tokenizer");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut texts: Vec<String> = Vec::new();
    for f in [
        "evals/data/everyday.jsonl",
        "evals/data/everyday-table.jsonl",
    ] {
        for line in std::fs::read_to_string(root.join(f)).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            texts.push(v["prompt"].as_str().unwrap().to_owned());
        }
    }
    // Generated: a fixed-seed LCG over an alphabet that stresses every branch.
    let alphabet: Vec<char> =
        "abcXYZ019 .,;:!?'\"()[]{}<>-_=+*/\\#$%&@^`|~\t\n\r\u{1}\u{b}\u{c}\u{1f}\u{7f}qzj"
            .chars()
            .collect();
    let mut state: u64 = 42;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    for _ in 0..2000 {
        let len = next() % 80;
        texts.push(
            (0..len)
                .map(|_| alphabet[next() % alphabet.len()])
                .collect(),
        );
    }
    texts.push("x".repeat(101));
    texts.push(format!("{} tail", "ab".repeat(50)));
    texts.push("qqqqzzzzjjjj xylophonezzz".into());
    let mut fast_used = 0;
    for t in &texts {
        let mut ids = Vec::new();
        if fast.encode(t, &mut ids) {
            fast_used += 1;
            assert_eq!(ids, m.reference_ids(t).unwrap(), "{t:?}");
        }
    }
    assert!(
        fast_used > texts.len() * 9 / 10,
        "{fast_used} of {}",
        texts.len()
    );
    // Non-ASCII and special-token text take the general path.
    let mut ids = Vec::new();
    assert!(!fast.encode("café", &mut ids) && ids.is_empty());
    assert!(!fast.encode("fill the [MASK] in", &mut ids));
}
