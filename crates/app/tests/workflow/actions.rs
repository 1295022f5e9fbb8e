//! Approved actions: bound to their digest, executed once with a token.

use super::*;

on_both_backends!(
    actions_are_bound_to_their_digest_and_exclude_authors,
    execution_tokens_are_bound_and_single_use,
);

async fn actions_are_bound_to_their_digest_and_exclude_authors(env: Env) {
    let payload = serde_json::json!({"repo": "ledger-app", "commit": "4f1c2d", "amount": {"amount": "1250.00", "currency": "USD"}});
    let action = |payload: serde_json::Value| NewRequest {
        ask: NewAsk::Action(NewAction {
            kind: "deploy".into(),
            env: "prod".into(),
            payload,
            change: Some(change_by(&["Max Manager <MAX@example.com>"])),
        }),
        justification: "release 4.2".into(),
        ticket: None,
    };
    // Actions route to the requester's manager under the default policy,
    // and the manager wrote the change: nobody is left.
    refused(
        env.ask("req", action(payload.clone())).await,
        "excluded: mgr: is an author",
    );
    let mut ok = action(payload.clone());
    if let NewAsk::Action(a) = &mut ok.ask {
        a.change = Some(change_by(&["Olga Owner <olga@example.com>"]));
    }
    let id = env.ask("req", ok).await.unwrap();
    let row = env.store.request(&id).await.unwrap().unwrap();
    assert_eq!(
        row.digest(),
        Some(
            soxctl_ledger::digest::action_digest("prod", "deploy", &payload)
                .unwrap()
                .as_str()
        )
    );
    let decided = env.decide("mgr", &id, Decision::Approve).await.unwrap();
    assert_eq!(
        decided.request.valid_until,
        Some(ts("2026-03-03T09:00:00Z"))
    );
    let before = env.size().await;
    let floats = env
        .ask("req", action(serde_json::json!({"amount": 12.5})))
        .await;
    assert!(
        matches!(&floats, Err(WorkflowError::Invalid(m)) if m.contains("floating-point")),
        "{floats:?}"
    );
    // What an approver reads must be what is done: no reversed vendor name,
    // no NUL, no hidden key; a note may span lines.
    for (payload, named) in [
        (
            serde_json::json!({"vendor": "ACME\u{202e}DTL", "amount": "10.00"}),
            "payload.vendor",
        ),
        (serde_json::json!({"note": "a\u{0}b"}), "payload.note"),
        (
            serde_json::json!({"lines": [{"vendor": "ok"}, {"vendor": "zero\u{200b}width"}]}),
            "payload.lines[1].vendor",
        ),
        (serde_json::json!({"ven\u{7}dor": "ACME"}), "key of payload"),
    ] {
        let hidden = env.ask("req", payment(payload.clone())).await;
        assert!(
            matches!(&hidden, Err(WorkflowError::Invalid(m))
                if m.contains(named) && m.contains("control or invisible character")
                    && !m.chars().any(soxctl_model::identity::is_hidden)),
            "{payload}: {hidden:?}"
        );
    }
    assert_eq!(env.size().await, before);
    env.ask(
        "req",
        payment(serde_json::json!({"vendor": "ACME", "note": "two\nlines"})),
    )
    .await
    .unwrap();
    env.verify().await;
}

async fn execution_tokens_are_bound_and_single_use(env: Env) {
    use soxctl_app::execution::{
        TokenInput, issue_execution_token, record_execution, verify_execution_token,
    };
    let key = soxctl_ledger::SigningKey::generate(ORIGIN, [9; 32]).unwrap();
    let payload =
        serde_json::json!({"invoice": "991", "amount": {"amount": "1250.00", "currency": "USD"}});
    let digest = soxctl_ledger::digest::action_digest("prod", "payment", &payload).unwrap();
    let id = env.ask("req", payment(payload)).await.unwrap();
    let ci: Principal = "token:ci-runner".parse().unwrap();
    let other: Principal = "token:someone-else".parse().unwrap();
    let issue = |input: TokenInput| {
        let store = env.store.clone();
        let key = &key;
        let ci = ci.clone();
        async move {
            let mut tx = store.begin_write().await.unwrap();
            let r = issue_execution_token(&mut tx, &ci, key, input).await;
            if r.is_ok() {
                tx.commit().await.unwrap();
            }
            r
        }
    };
    let input = |digest: &str, environment: &str| TokenInput {
        request_id: id.clone(),
        digest: digest.to_owned(),
        env: environment.to_owned(),
        ttl_secs: None,
    };
    // Another payment, asked and approved: its id and the digest approved.
    let approved_payment = |payload: serde_json::Value| {
        let env = &env;
        async move {
            let digest = soxctl_ledger::digest::action_digest("prod", "payment", &payload).unwrap();
            let id = env.ask("req", payment(payload)).await.unwrap();
            env.decide("mgr", &id, Decision::Approve).await.unwrap();
            (id, digest)
        }
    };
    // Not approved yet.
    conflict(issue(input(&digest, "prod")).await, "not approved");
    env.decide("mgr", &id, Decision::Approve).await.unwrap();
    refused(
        issue(input("sha256:00", "prod")).await,
        "the payload changed",
    );
    refused(issue(input(&digest, "staging")).await, "not 'staging'");
    let issued = issue(input(&digest, "prod")).await.unwrap();
    // One token at a time: a second would let the approval start twice.
    conflict(issue(input(&digest, "prod")).await, "one token at a time");
    assert_eq!(issued.expires_at, ts("2026-03-02T09:15:00Z"));
    let claims =
        verify_execution_token(&key.verifier(), &issued.token, ts("2026-03-02T09:10:00Z")).unwrap();
    assert_eq!(
        (
            claims.digest.as_str(),
            claims.env.as_str(),
            claims.executor.as_str()
        ),
        (digest.as_str(), "prod", "token:ci-runner")
    );
    let report = |who: Principal, token: String| {
        let store = env.store.clone();
        let verifier = key.verifier();
        async move {
            let mut tx = store.begin_write().await.unwrap();
            let r = record_execution(&mut tx, &who, &verifier, &token, "paid: ref 77").await;
            if r.is_ok() {
                tx.commit().await.unwrap();
            }
            r
        }
    };
    // Only the same request's token counts: another approval gets its own.
    let (id_2, digest_2) = approved_payment(
        serde_json::json!({"invoice": "992", "amount": {"amount": "80.00", "currency": "USD"}}),
    )
    .await;
    let issued_2 = issue(TokenInput {
        request_id: id_2,
        ..input(&digest_2, "prod")
    })
    .await
    .unwrap();
    assert_ne!(issued_2.token, issued.token);
    // Used at once, so that it plays no part in what follows.
    report(ci.clone(), issued_2.token).await.unwrap();
    refused(
        report(other, issued.token.clone()).await,
        "issued to token:ci-runner",
    );
    // A token from another key is refused before anything else.
    let forged = soxctl_ledger::jws::sign(
        &soxctl_ledger::SigningKey::generate(ORIGIN, [1; 32]).unwrap(),
        &serde_json::Map::new(),
    );
    assert!(report(ci.clone(), forged).await.is_err());
    report(ci.clone(), issued.token.clone()).await.unwrap();
    assert_eq!(env.status(&id).await, RequestStatus::Consumed);
    conflict(
        report(ci.clone(), issued.token.clone()).await,
        "was used at",
    );
    conflict(issue(input(&digest, "prod")).await, "used already");

    // An expired token, and an expired approval.
    let (second, digest2) = approved_payment(serde_json::json!({"invoice": "992"})).await;
    let token = issue(TokenInput {
        request_id: second.clone(),
        ttl_secs: Some(60),
        ..input(&digest2, "prod")
    })
    .await
    .unwrap();
    // The token is checked offline when the action starts: one minute later
    // it no longer lets anything start.
    conflict(
        verify_execution_token(&key.verifier(), &token.token, ts("2026-03-02T09:01:00Z")),
        "expired at",
    );
    env.clock.set(ts("2026-03-03T09:00:00Z"));
    let late = issue(TokenInput {
        request_id: second.clone(),
        ..input(&digest2, "prod")
    })
    .await;
    conflict(late, "expired at 2026-03-03T09:00:00");
    // The action that started under the token ran long: its report comes
    // after the token and the approval ran out, and the sweep has expired
    // the approval as unused. It is still recorded, and consumes it.
    assert_eq!(env.sweep(&env.store).await.requests_expired, 1);
    assert_eq!(env.status(&second).await, RequestStatus::Expired);
    env.clock.set(ts("2026-03-03T09:00:59Z"));
    report(ci.clone(), token.token.clone()).await.unwrap();
    assert_eq!(env.status(&second).await, RequestStatus::Consumed);
    conflict(report(ci.clone(), token.token).await, "was used at");

    // Past the grace, a report is refused.
    let (third, digest_third) = approved_payment(serde_json::json!({"invoice": "993"})).await;
    let token = issue(TokenInput {
        request_id: third.clone(),
        ttl_secs: Some(60),
        ..input(&digest_third, "prod")
    })
    .await
    .unwrap();
    env.clock.set(ts("2026-03-04T09:02:00Z"));
    conflict(report(ci.clone(), token.token).await, "more than 1d");
    assert_ne!(env.status(&third).await, RequestStatus::Consumed);

    // A swept approval with a token out can still be cancelled, which
    // stops its late report.
    let (fourth, digest_fourth) = approved_payment(serde_json::json!({"invoice": "994"})).await;
    let token = issue(TokenInput {
        request_id: fourth.clone(),
        ..input(&digest_fourth, "prod")
    })
    .await
    .unwrap();
    env.clock.set(ts("2026-03-05T09:03:00Z"));
    env.sweep(&env.store).await;
    assert_eq!(env.status(&fourth).await, RequestStatus::Expired);
    let mut tx = env.store.begin_write().await.unwrap();
    soxctl_app::cancel(&mut tx, &actor(), None, &fourth, "payment run aborted")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    conflict(report(ci.clone(), token.token).await, "cancelled");
    env.verify().await;
}
