#![allow(clippy::unwrap_used)]
//! One suite, two backends: the embedded SQLite file and a real PostgreSQL server (a fresh
//! cluster per run, see `sluice_testkit::postgres`). Whatever the gateway, the review page,
//! the report or retraining rely on is checked on both.

use sluice_outcomes::{
    day_of, f32_bytes, Feedback, Filter, Judgment, Outcome, Store, Write, STRONG, WEAK,
};
use sluice_testkit::postgres::Postgres;

const DAY: i64 = 86_400_000;
/// 2026-12-01T10:00:00Z
const T0: i64 = 1_796_119_200_000;

fn row(id: &str, ts: i64, policy: &str, arm: &str) -> Outcome {
    let route = if arm == WEAK { "small" } else { "big" };
    Outcome {
        request_id: id.into(),
        ts_ms: ts,
        day: day_of(ts),
        expires_ms: ts + 30 * DAY,
        key_id: Some("key-a".into()),
        tenant: Some("acme".into()),
        policy: policy.into(),
        route: route.into(),
        arm: Some(arm.into()),
        status: 200,
        outcome: "completed".into(),
        score: Some(0.25),
        threshold: Some(0.5),
        propensity: 0.1,
        sampled: false,
        cost_usd: 0.002,
        baseline_usd: 0.01,
        latency_ms: 120.5,
        prompt_tokens: 12,
        completion_tokens: 30,
        embedding: Some(f32_bytes(&[0.5, -0.25, 1.0])),
        features: Some(f32_bytes(&[3.0])),
        prompt: Some("What is 2+2?".into()),
        answer: Some("4".into()),
        judgment: None,
        feedback: None,
    }
}

fn judgment(verdict: &str) -> Judgment {
    Judgment {
        shadow_route: "big".into(),
        shadow_answer: Some("Four.".into()),
        weak_first: "weak".into(),
        strong_first: "tie".into(),
        verdict: verdict.into(),
        shadow_cost_usd: 0.01,
        judge_cost_usd: 0.003,
        judged_ms: T0 + 5_000,
        note: None,
    }
}

async fn suite(store: &Store) {
    // A row round-trips whole; writing it again (a retry) changes nothing.
    let a = row("req-a", T0, "auto", WEAK);
    let mut bare = row("req-b", T0 + 1_000, "auto", STRONG);
    bare.key_id = None;
    bare.tenant = None;
    bare.arm = None;
    bare.score = None;
    bare.threshold = None;
    bare.embedding = None;
    bare.features = None;
    bare.prompt = None;
    bare.answer = None;
    store
        .write(vec![
            Write::Outcome(Box::new(a.clone())),
            Write::Outcome(Box::new(bare.clone())),
        ])
        .await
        .unwrap();
    let mut changed = a.clone();
    changed.route = "other".into();
    store
        .write(vec![Write::Outcome(Box::new(changed))])
        .await
        .unwrap();
    assert_eq!(store.get("req-a").await.unwrap().unwrap(), a);
    assert_eq!(store.get("req-b").await.unwrap().unwrap(), bare);
    assert_eq!(store.get("req-none").await.unwrap(), None);

    // Judgment and feedback land on their row; for a missing row they change nothing.
    store
        .write(vec![
            Write::Judgment {
                request_id: "req-a".into(),
                judgment: Box::new(judgment("weak_better")),
            },
            Write::Feedback {
                request_id: "req-a".into(),
                key_id: Some("key-a".into()),
                feedback: Feedback {
                    score: -1.0,
                    comment: Some("wrong".into()),
                    at_ms: T0 + 9_000,
                },
            },
            Write::Judgment {
                request_id: "req-missing".into(),
                judgment: Box::new(judgment("tie")),
            },
        ])
        .await
        .unwrap();
    let got = store.get("req-a").await.unwrap().unwrap();
    assert_eq!(got.judgment, Some(judgment("weak_better")));
    assert_eq!(
        got.feedback,
        Some(Feedback {
            score: -1.0,
            comment: Some("wrong".into()),
            at_ms: T0 + 9_000
        })
    );
    assert_eq!(store.get("req-missing").await.unwrap(), None);
    // Feedback under another key never lands on the row.
    store
        .write(vec![Write::Feedback {
            request_id: "req-a".into(),
            key_id: Some("key-b".into()),
            feedback: Feedback {
                score: 1.0,
                comment: None,
                at_ms: T0,
            },
        }])
        .await
        .unwrap();
    assert_eq!(
        store
            .get("req-a")
            .await
            .unwrap()
            .unwrap()
            .feedback
            .unwrap()
            .score,
        -1.0
    );

    // Ownership, for feedback: key, policy, route, whether it was rated; none once expired.
    let owner = store.owner("req-a", T0).await.unwrap().unwrap();
    assert_eq!(owner.key_id.as_deref(), Some("key-a"));
    assert_eq!(
        (owner.policy.as_str(), owner.route.as_str()),
        ("auto", "small")
    );
    assert!(owner.has_feedback);
    let b = store.owner("req-b", T0).await.unwrap().unwrap();
    assert_eq!(b.key_id, None);
    assert!(!b.has_feedback);
    assert_eq!(store.owner("req-a", T0 + 31 * DAY).await.unwrap(), None);

    // More rows over three days and two policies, for filters and the report.
    let mut writes = Vec::new();
    for i in 0..6 {
        let ts = T0 + (i / 2) * DAY + i;
        let arm = if i % 2 == 0 { WEAK } else { STRONG };
        let mut r = row(
            &format!("req-{i}"),
            ts,
            if i < 4 { "auto" } else { "cheap" },
            arm,
        );
        r.sampled = true;
        writes.push(Write::Outcome(Box::new(r)));
        let verdict = [
            "weak_better",
            "strong_better",
            "tie",
            "unparseable",
            "tie",
            "strong_better",
        ][i as usize];
        writes.push(Write::Judgment {
            request_id: format!("req-{i}"),
            judgment: Box::new(judgment(verdict)),
        });
    }
    store.write(writes).await.unwrap();

    let judged = store
        .list(&Filter {
            judged_only: true,
            limit: 100,
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(judged.len(), 7, "req-a and req-0..5");
    assert!(
        judged.windows(2).all(|w| w[0].ts_ms >= w[1].ts_ms),
        "newest first"
    );
    let ties = store
        .list(&Filter {
            verdict: Some("tie".into()),
            ..Filter::default()
        })
        .await
        .unwrap();
    let ids: Vec<&str> = ties.iter().map(|o| o.request_id.as_str()).collect();
    assert_eq!(ids, ["req-4", "req-2"]);
    let day2 = store
        .list(&Filter {
            day: Some(day_of(T0 + DAY)),
            policy: Some("auto".into()),
            ..Filter::default()
        })
        .await
        .unwrap();
    let ids: Vec<&str> = day2.iter().map(|o| o.request_id.as_str()).collect();
    assert_eq!(ids, ["req-3", "req-2"]);
    let one = store
        .list(&Filter {
            limit: 1,
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(one.len(), 1);

    let (policies, days) = store.facets().await.unwrap();
    assert_eq!(policies, ["auto", "cheap"]);
    assert_eq!(days, [day_of(T0 + 2 * DAY), day_of(T0 + DAY), day_of(T0)]);

    // The report: per policy and day.
    let report = store.report(T0).await.unwrap();
    let first = report
        .iter()
        .find(|r| r.policy == "auto" && r.day == day_of(T0))
        .unwrap();
    // req-a (weak, weak_better, rated -1), req-b (no arm), req-0 (weak, weak_better), req-1 (strong, strong_better)
    assert_eq!(first.requests, 4);
    assert_eq!((first.weak, first.strong), (2, 1));
    assert_eq!((first.judged, first.parsed, first.weak_ok), (3, 3, 2));
    assert!((first.cost_usd - 0.008).abs() < 1e-9);
    assert!((first.baseline_usd - 0.04).abs() < 1e-9);
    assert!((first.shadow_usd - 3.0 * 0.013).abs() < 1e-9);
    assert_eq!(first.feedback, 1);
    assert!((first.feedback_sum + 1.0).abs() < 1e-9);
    let second = report
        .iter()
        .find(|r| r.policy == "auto" && r.day == day_of(T0 + DAY))
        .unwrap();
    assert_eq!((second.judged, second.parsed, second.weak_ok), (2, 1, 1));
    assert_eq!(report.len(), 3);
    assert!(store.report(T0 + 10 * DAY).await.unwrap().is_empty());

    // Labelled rows: inputs and a parsed verdict or feedback, oldest first.
    let labelled = store.labelled(0).await.unwrap();
    let ids: Vec<&str> = labelled.iter().map(|o| o.request_id.as_str()).collect();
    assert_eq!(ids, ["req-0", "req-a", "req-1", "req-2", "req-4", "req-5"]);

    // Retention: expired rows go, the others stay.
    let removed = store.delete_expired(T0 + 30 * DAY).await.unwrap();
    assert_eq!(removed, 2, "req-a and req-0 expire at T0+30d (+0 ms)");
    assert_eq!(store.get("req-a").await.unwrap(), None);
    assert!(store.get("req-b").await.unwrap().is_some());
}

#[tokio::test]
async fn sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open("sqlite:nested/outcomes.db", dir.path())
        .await
        .unwrap();
    assert!(!store.is_postgres());
    suite(&store).await;
    // Opening again runs no migration twice and keeps the rows.
    let again = Store::open("sqlite:nested/outcomes.db", dir.path())
        .await
        .unwrap();
    assert!(again.get("req-b").await.unwrap().is_some());
}

#[tokio::test]
async fn postgres_store() {
    let pg = Postgres::start();
    let url = pg.database("outcomes");
    let store = Store::open(&url, pg.folder()).await.unwrap();
    assert!(store.is_postgres());
    assert!(!store.describe.contains("sluice@"), "{}", store.describe);
    suite(&store).await;
    let again = Store::open(&url, pg.folder()).await.unwrap();
    assert!(again.get("req-b").await.unwrap().is_some());
}

#[tokio::test]
async fn unreachable_postgres_says_where() {
    let err = Store::open(
        "postgres://sluice@127.0.0.1:1/none",
        std::path::Path::new("."),
    )
    .await
    .err()
    .expect("no server on port 1");
    assert!(
        err.to_string().contains("connecting to PostgreSQL"),
        "{err}"
    );
}
