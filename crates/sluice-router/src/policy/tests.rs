use super::*;

fn policy(strategy: Strategy) -> RoutingPolicy {
    RoutingPolicy {
        name: "auto".into(),
        strategy,
        default_target: "local".into(),
        strong: Some("gpt-4o".into()),
        weak_caps: Capabilities {
            context_window: Some(1000),
            tools: false,
            images: false,
            json_schema: false,
        },
        header_overrides: vec!["gpt-4o".into(), "local".into()],
        patterns: vec![Pattern {
            regex: Regex::new(r"(?i)\bprove\b").unwrap(),
            target: "gpt-4o".into(),
        }],
        semantic: vec![
            SemanticRoute::new("code".into(), "coder".into(), 0.6, vec![vec![1.0, 0.0]]),
            SemanticRoute::new("chat".into(), "local".into(), 0.5, vec![vec![0.0, 1.0]]),
        ],
        overflow: Overflow::Strong,
    }
}

fn basis(d: &Decision) -> Basis {
    match d {
        Decision::Route { basis, .. } => *basis,
        Decision::Reject { .. } => panic!("rejected"),
    }
}

#[test]
fn learned_threshold_boundary() {
    let p = policy(Strategy::Learned { threshold: 0.5 });
    let f = Features::default();
    let at = decide(
        &p,
        &f,
        &Scores {
            learned: Some(0.5),
            ..Default::default()
        },
    );
    assert_eq!(
        at.target(),
        Some("gpt-4o"),
        "score == threshold goes strong"
    );
    let below = decide(
        &p,
        &f,
        &Scores {
            learned: Some(0.4999),
            ..Default::default()
        },
    );
    assert_eq!(below.target(), Some("local"));
    assert_eq!(
        below.reason(),
        "learned score 0.4999 < threshold 0.5000 -> local"
    );
    let none = decide(&p, &f, &Scores::default());
    assert_eq!(
        none.target(),
        Some("gpt-4o"),
        "missing score errs on quality"
    );
}

#[test]
fn rules_take_precedence_in_order() {
    let p = policy(Strategy::Learned { threshold: 0.9 });
    let low = Scores {
        learned: Some(0.1),
        ..Default::default()
    };
    let mut f = Features {
        header_target: Some("local".into()),
        has_tools: true,
        ..Default::default()
    };
    // The header wins over the capability rule.
    let d = decide(&p, &f, &low);
    assert_eq!((d.target(), basis(&d)), (Some("local"), Basis::Header));
    // A header naming a target the policy does not allow is ignored.
    f.header_target = Some("gpt-5".into());
    let d = decide(&p, &f, &low);
    assert_eq!((d.target(), basis(&d)), (Some("gpt-4o"), Basis::Capability));
    assert!(d.reason().contains("tools"), "{}", d.reason());
    for f in [
        Features {
            has_images: true,
            ..Default::default()
        },
        Features {
            wants_json_schema: true,
            ..Default::default()
        },
    ] {
        assert_eq!(basis(&decide(&p, &f, &low)), Basis::Capability);
    }
}

#[test]
fn context_window_boundary() {
    let p = policy(Strategy::Learned { threshold: 0.9 });
    let low = Scores {
        learned: Some(0.1),
        ..Default::default()
    };
    let fits = Features {
        needed_tokens: 1000,
        ..Default::default()
    };
    assert_eq!(decide(&p, &fits, &low).target(), Some("local"));
    let over = Features {
        needed_tokens: 1001,
        ..Default::default()
    };
    let d = decide(&p, &over, &low);
    assert_eq!((d.target(), basis(&d)), (Some("gpt-4o"), Basis::Context));
}

#[test]
fn capabilities_the_weak_model_has_do_not_trigger() {
    let mut p = policy(Strategy::Learned { threshold: 0.9 });
    p.weak_caps = Capabilities::default();
    let f = Features {
        has_tools: true,
        has_images: true,
        wants_json_schema: true,
        needed_tokens: 1 << 40,
        ..Default::default()
    };
    assert_eq!(
        decide(
            &p,
            &f,
            &Scores {
                learned: Some(0.0),
                ..Default::default()
            }
        )
        .target(),
        Some("local")
    );
}

#[test]
fn patterns_match_text() {
    let p = policy(Strategy::Learned { threshold: 0.9 });
    let f = Features {
        text: "Please PROVE that sqrt(2) is irrational".into(),
        ..Default::default()
    };
    let d = decide(
        &p,
        &f,
        &Scores {
            learned: Some(0.0),
            ..Default::default()
        },
    );
    assert_eq!((d.target(), basis(&d)), (Some("gpt-4o"), Basis::Pattern));
    let f = Features {
        text: "improve my essay".into(),
        ..Default::default()
    };
    assert_eq!(
        basis(&decide(
            &p,
            &f,
            &Scores {
                learned: Some(0.0),
                ..Default::default()
            }
        )),
        Basis::Learned
    );
}

#[test]
fn rules_alone_decide_static_and_defer_otherwise() {
    let p = policy(Strategy::Static);
    let d = rules(&p, &Features::default()).unwrap();
    assert_eq!((d.target(), basis(&d)), (Some("local"), Basis::Static));
    assert!(!p.needs_embedding());
    let p = policy(Strategy::Learned { threshold: 0.5 });
    assert!(rules(&p, &Features::default()).is_none());
    assert!(p.needs_embedding());
}

#[test]
fn semantic_picks_best_route_above_its_threshold() {
    let p = policy(Strategy::Semantic {
        aggregate: Aggregate::Max,
    });
    let f = Features::default();
    let d = decide(
        &p,
        &f,
        &Scores {
            semantic: vec![0.61, 0.55],
            ..Default::default()
        },
    );
    assert_eq!(d.target(), Some("coder"));
    // chat is higher and above its own (lower) threshold.
    let d = decide(
        &p,
        &f,
        &Scores {
            semantic: vec![0.61, 0.70],
            ..Default::default()
        },
    );
    assert_eq!(d.target(), Some("local"));
    // Exactly at threshold counts.
    let d = decide(
        &p,
        &f,
        &Scores {
            semantic: vec![0.6, 0.1],
            ..Default::default()
        },
    );
    assert_eq!(d.target(), Some("coder"));
    let d = decide(
        &p,
        &f,
        &Scores {
            semantic: vec![0.59, 0.49],
            ..Default::default()
        },
    );
    assert_eq!(d.target(), Some("local"));
    assert!(
        d.reason().contains("closest 'code' at 0.590"),
        "{}",
        d.reason()
    );
}

#[test]
fn overflow_behaviours() {
    let mut p = policy(Strategy::Learned { threshold: 0.5 });
    assert_eq!(overflow(&p).target(), Some("gpt-4o"));
    p.overflow = Overflow::Reject;
    assert!(matches!(overflow(&p), Decision::Reject { .. }));
}

#[test]
fn semantic_similarity_max_and_centroid() {
    let r = SemanticRoute::new(
        "r".into(),
        "t".into(),
        0.5,
        vec![vec![1.0, 0.0], vec![0.0, 1.0]],
    );
    let q = [1.0f32, 0.0];
    assert!((r.similarity(&q, Aggregate::Max) - 1.0).abs() < 1e-6);
    assert!((r.similarity(&q, Aggregate::Centroid) - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
}

#[test]
fn reasons_show_enough_digits_to_compare() {
    // The case the old reason text hid: both read 0.179 at three decimals.
    let (a, b) = distinct_digits(0.179_04, 0.179_49);
    assert_eq!((a.as_str(), b.as_str()), ("0.1790", "0.1795"));
    let (a, b) = distinct_digits(0.179_4, 0.179_5);
    assert_ne!(a, b, "{a} vs {b}");
    assert_eq!((a.as_str(), b.as_str()), ("0.1794", "0.1795"));
    assert_eq!(distinct_digits(0.25, 0.5), ("0.250".into(), "0.500".into()));
    // Equal values stay equal at the widest precision.
    assert_eq!(
        distinct_digits(0.5, 0.5),
        ("0.50000000".into(), "0.50000000".into())
    );
}
