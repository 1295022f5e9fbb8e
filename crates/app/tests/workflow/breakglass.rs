//! Break-glass: emergency access at once, alerted, reviewed after.

use super::*;

on_both_backends!(break_glass_is_immediate_alerted_and_reviewed,);

async fn break_glass_is_immediate_alerted_and_reviewed(env: Env) {
    use soxctl_app::breakglass::{Emergency, Review, break_glass, review};
    use soxctl_model::request::ReviewOutcome;
    let emergency = |hours: u64| Emergency {
        entitlements: vec!["erp:AP_PAY".into()],
        duration_secs: Some(hours * 3600),
        reason: "payment run failed at 02:00, supplier penalties from 06:00".into(),
        evidence: None,
    };
    let use_glass = |who: &'static str, e: Emergency| {
        let store = env.store.clone();
        async move {
            let mut tx = store.begin_write().await.unwrap();
            let r = break_glass(&mut tx, &actor(), &pid(who), e).await;
            if r.is_ok() {
                tx.commit().await.unwrap();
            }
            r
        }
    };
    refused(
        use_glass("sys", emergency(1)).await,
        "break-glass is not enabled",
    );
    let mut tx = env.store.begin_write().await.unwrap();
    tx.load_document(
        &actor(),
        DocumentKind::Policies,
        "approvals.toml",
        &format!("{POLICIES}\n[break_glass]\npeople = [\"sys\"]\nmax_duration = \"2h\"\n"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    refused(
        use_glass("req", emergency(1)).await,
        "not on the break-glass list",
    );
    refused(use_glass("sys", emergency(3)).await, "at most 2h");
    let before = env.size().await;
    let used = use_glass("sys", emergency(1)).await.unwrap();
    assert_eq!(
        used.reviewer_id,
        pid("own"),
        "the entitlement owner reviews"
    );
    assert!(env.size().await > before);
    let grants = env
        .store
        .access_grants(Some(&used.use_id), None)
        .await
        .unwrap();
    assert_eq!(grants.len(), 1);
    assert!(grants[0].active_at(ts("2026-03-02T09:30:00Z")));
    assert!(env.topics().await.iter().any(|t| t == "breakglass.used"));
    let open = |kind: &'static str| {
        let store = env.store.clone();
        async move {
            store
                .findings(&soxctl_store::findings::Filter {
                    kind: Some(kind.into()),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_iter()
                .filter(|f| f.status == soxctl_model::finding::FindingStatus::Open)
                .count()
        }
    };
    assert_eq!(open("breakglass_unreviewed").await, 1);
    conflict(
        use_glass("sys", emergency(1)).await,
        "not extended or stacked",
    );

    let do_review = |who: &'static str, evidence: Option<&str>| {
        let store = env.store.clone();
        let input = Review {
            use_id: used.use_id.clone(),
            outcome: ReviewOutcome::Inappropriate,
            notes: "no incident ticket existed".into(),
            evidence: evidence.map(str::to_owned),
            issued_by: None,
        };
        async move {
            let mut tx = store.begin_write().await.unwrap();
            let r = review(&mut tx, &actor(), &pid(who), input).await;
            if r.is_ok() {
                tx.commit().await.unwrap();
            }
            r
        }
    };
    conflict(do_review("own", Some("rec-1")).await, "still in force");
    env.clock.set(ts("2026-03-02T10:00:00Z"));
    assert_eq!(env.sweep(&env.store).await.grants_expired, 1);
    refused(do_review("sys", Some("rec-1")).await, "own break-glass use");
    refused(
        do_review("mgr", Some("rec-1")).await,
        "is for own to review",
    );
    assert!(matches!(
        do_review("own", None).await,
        Err(WorkflowError::Invalid(m)) if m.contains("no evidence")
    ));
    let reviewed = do_review("own", Some("siem:session/8812")).await.unwrap();
    assert_eq!(reviewed.outcome, Some(ReviewOutcome::Inappropriate));
    assert_eq!(reviewed.evidence.as_deref(), Some("siem:session/8812"));
    assert_eq!(open("breakglass_unreviewed").await, 0);
    assert_eq!(open("breakglass_misuse").await, 1);
    conflict(do_review("own", Some("x")).await, "reviewed already");

    // Uses one after another, none reviewed: the fourth waits for reviews.
    for hour in ["11", "12", "13"] {
        env.clock.set(ts(&format!("2026-03-02T{hour}:00:00Z")));
        use_glass("sys", emergency(1)).await.unwrap();
    }
    env.clock.set(ts("2026-03-02T14:00:00Z"));
    refused(
        use_glass("sys", emergency(1)).await,
        "3 break-glass uses awaiting review",
    );
    // Their reviewer leaves: the review passes to whoever would review
    // now (sys's manager, since sys owns the system), never to sys.
    env.import(&["own"]).await;
    let waiting: Vec<RequestId> = env
        .store
        .breakglass_uses()
        .await
        .unwrap()
        .into_iter()
        .filter(|b| b.reviewed_at.is_none())
        .map(|b| b.use_id)
        .collect();
    assert_eq!(waiting.len(), 3);
    let review_as = |who: &'static str, use_id: RequestId| {
        let store = env.store.clone();
        async move {
            let mut tx = store.begin_write().await.unwrap();
            let r = review(
                &mut tx,
                &actor(),
                &pid(who),
                Review {
                    use_id,
                    outcome: ReviewOutcome::Appropriate,
                    notes: "INC-9".into(),
                    evidence: Some("siem:session/9".into()),
                    issued_by: None,
                },
            )
            .await;
            if r.is_ok() {
                tx.commit().await.unwrap();
            }
            r
        }
    };
    refused(
        review_as("vend", waiting[0].clone()).await,
        "who has left; now: mgr",
    );
    review_as("mgr", waiting[0].clone()).await.unwrap();
    use_glass("sys", emergency(1)).await.unwrap();
    env.verify().await;
}
