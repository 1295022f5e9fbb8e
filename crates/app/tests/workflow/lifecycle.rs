//! A request's life after its decision: activation, expiry, cancellation,
//! reminders, revocation confirmed by the next import.

use super::*;

on_both_backends!(
    undecided_requests_and_grants_expire_across_restarts,
    manual_activation_within_the_approval_window,
    cancelling_ends_the_grants,
    revocations_are_confirmed_by_the_next_import,
    undecided_requests_remind_then_escalate_once,
    activation_is_judged_again_when_it_happens,
    violations_an_import_brings_are_alerted,
);

async fn undecided_requests_and_grants_expire_across_restarts(env: Env) {
    let undecided = env.ask("req", access("erp:GL_POST", None)).await.unwrap();
    let granted = env
        .ask("req", access("erp:GL_POST", Some(1)))
        .await
        .unwrap();
    env.decide("own", &granted, Decision::Approve)
        .await
        .unwrap();

    // One microsecond before the deadline nothing is due.
    env.clock.set(ts("2026-03-02T09:59:59.999999Z"));
    assert_eq!(env.sweep(&env.store).await, soxctl_app::Sweep::default());
    // At the grant's end, a fresh handle (a restarted server) revokes it.
    env.clock.set(ts("2026-03-02T10:00:00Z"));
    let restarted = env.reopen().await;
    let swept = env.sweep(&restarted).await;
    assert_eq!((swept.requests_expired, swept.grants_expired), (0, 1));
    let grant = &env.store.access_grants(Some(&granted), None).await.unwrap()[0];
    assert_eq!(grant.ended_at, Some(ts("2026-03-02T10:00:00Z")));
    assert!(env.topics().await.iter().any(|t| t == "access.revoked"));

    // The undecided request: decisions fail at its deadline, the sweep records it.
    env.clock.set(ts("2026-03-05T09:00:00Z"));
    conflict(
        env.decide("own", &undecided, Decision::Approve).await,
        "expired undecided",
    );
    let swept = env.sweep(&restarted).await;
    assert_eq!((swept.requests_expired, swept.grants_expired), (1, 0));
    assert_eq!(env.status(&undecided).await, RequestStatus::Expired);
    assert_eq!(env.sweep(&restarted).await, soxctl_app::Sweep::default());
    env.verify().await;
}

async fn manual_activation_within_the_approval_window(env: Env) {
    let mut request = access("erp:GL_POST", Some(2));
    if let NewAsk::Access(a) = &mut request.ask {
        a.activation = Activation::Manual;
    }
    let id = env.ask("req", request.clone()).await.unwrap();
    let decided = env.decide("own", &id, Decision::Approve).await.unwrap();
    assert_eq!(decided.seqs.len(), 1, "no grant before activation");
    assert_eq!(
        decided.request.valid_until,
        Some(ts("2026-03-03T09:00:00Z"))
    );
    env.clock.set(ts("2026-03-02T15:00:00Z"));
    let activate = |who: &'static str, id: RequestId| {
        let store = env.store.clone();
        async move {
            let mut tx = store.begin_write().await.unwrap();
            let r = soxctl_app::activate(&mut tx, &actor(), &pid(who), &id).await;
            if r.is_ok() {
                tx.commit().await.unwrap();
            }
            r
        }
    };
    refused(activate("mgr", id.clone()).await, "only the requester");
    activate("req", id.clone()).await.unwrap();
    let grant = &env.store.access_grants(Some(&id), None).await.unwrap()[0];
    assert_eq!(
        (grant.starts_at, grant.ends_at),
        (ts("2026-03-02T15:00:00Z"), ts("2026-03-02T17:00:00Z"))
    );
    conflict(activate("req", id.clone()).await, "already activated");

    // A second approval left unused past its window cannot be activated and
    // the sweep records it as expired.
    let late = env.ask("req", request).await.unwrap();
    env.decide("own", &late, Decision::Approve).await.unwrap();
    env.clock.set(ts("2026-03-03T15:00:00Z"));
    conflict(activate("req", late.clone()).await, "ran out");
    let swept = env.sweep(&env.store).await;
    assert_eq!(swept.requests_expired, 1);
    env.verify().await;
}

async fn cancelling_ends_the_grants(env: Env) {
    let id = env
        .ask("req", access("erp:GL_POST", Some(4)))
        .await
        .unwrap();
    env.decide("own", &id, Decision::Approve).await.unwrap();
    let mut tx = env.store.begin_write().await.unwrap();
    let refused_cancel =
        soxctl_app::cancel(&mut tx, &actor(), Some(&pid("own")), &id, "done early").await;
    refused(refused_cancel, "only the requester");
    drop(tx);
    let mut tx = env.store.begin_write().await.unwrap();
    let seqs = soxctl_app::cancel(&mut tx, &actor(), Some(&pid("req")), &id, "done early")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(seqs.len(), 2, "grant revoked, request cancelled");
    assert_eq!(env.status(&id).await, RequestStatus::Cancelled);
    let grant = &env.store.access_grants(Some(&id), None).await.unwrap()[0];
    assert!(grant.ended_at.is_some());
    env.verify().await;
}

async fn revocations_are_confirmed_by_the_next_import(env: Env) {
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
                .map(|f| f.subject)
                .collect::<Vec<_>>()
        }
    };
    let id = env
        .ask("req", access("erp:GL_POST", Some(1)))
        .await
        .unwrap();
    env.decide("own", &id, Decision::Approve).await.unwrap();
    // The system reports the provisioned grant: authorised, so no drift.
    env.import_with(&[], "erp,rita,GL_POST,,direct\n").await;
    assert!(open("drift").await.is_empty(), "{:?}", open("drift").await);
    env.clock.set(ts("2026-03-02T10:00:00Z"));
    assert_eq!(env.sweep(&env.store).await.grants_expired, 1);
    // Revoked, but the next import still sees it.
    env.clock.set(ts("2026-03-02T11:00:00Z"));
    env.import_with(&[], "erp,rita,GL_POST,,direct\n").await;
    let grant = &env.store.access_grants(Some(&id), None).await.unwrap()[0];
    assert_eq!(
        open("unconfirmed_revocation").await,
        vec![format!("access:{}", grant.grant_id)]
    );
    // Removed at the source: confirmed, the finding resolves.
    env.clock.set(ts("2026-03-02T12:00:00Z"));
    env.import(&[]).await;
    assert!(open("unconfirmed_revocation").await.is_empty());
    env.verify().await;
}

async fn undecided_requests_remind_then_escalate_once(env: Env) {
    // Approvers own, sys and mgr; own's and sys's manager is mgr.
    let id = env.ask("req", access("erp:GL_POST", None)).await.unwrap();
    env.clock.set(ts("2026-03-02T12:59:59Z"));
    assert_eq!(env.sweep(&env.store).await, soxctl_app::Sweep::default());
    env.clock.set(ts("2026-03-02T13:00:00Z"));
    let swept = env.sweep(&env.store).await;
    assert_eq!((swept.reminders, swept.escalations), (1, 0));
    assert_eq!(env.sweep(&env.store).await.reminders, 0, "once");
    let row = env.store.request(&id).await.unwrap().unwrap();
    assert_eq!(row.reminded_at, Some(ts("2026-03-02T13:00:00Z")));
    // mgr decided meanwhile? No: deny by nobody; escalate at 24h to the
    // managers of the approvers still waiting (own, sys -> mgr; mgr has none).
    env.clock.set(ts("2026-03-03T09:00:00Z"));
    let swept = env.sweep(&env.store).await;
    assert_eq!((swept.reminders, swept.escalations), (0, 1));
    let records = env.store.outbox_records(0, 1000).await.unwrap();
    let escalated = records
        .iter()
        .find(|r| r.topic == "request.escalated")
        .unwrap();
    assert_eq!(
        escalated.payload["notify"]["recipients"],
        serde_json::json!(["mgr"])
    );
    let reminder = records
        .iter()
        .find(|r| r.topic == "request.reminder")
        .unwrap();
    assert_eq!(
        reminder.payload["notify"]["recipients"],
        serde_json::json!(["mgr", "own", "sys"])
    );
    env.verify().await;
}

async fn activation_is_judged_again_when_it_happens(env: Env) {
    // Each alone is harmless for req; together they are P2P-01 (critical).
    let manual = |entitlement: &str| {
        let mut r = access(entitlement, Some(2));
        if let NewAsk::Access(a) = &mut r.ask {
            a.activation = Activation::Manual;
        }
        r
    };
    let vendor = env.ask("req", manual("erp:VENDOR_CREATE")).await.unwrap();
    let pay = env.ask("req", manual("erp:AP_PAY")).await.unwrap();
    env.decide("own", &vendor, Decision::Approve).await.unwrap();
    env.decide("own", &pay, Decision::Approve).await.unwrap();
    let activate = |id: RequestId| {
        let store = env.store.clone();
        async move {
            let mut tx = store.begin_write().await.unwrap();
            let r = soxctl_app::activate(&mut tx, &actor(), &pid("req"), &id).await;
            if r.is_ok() {
                tx.commit().await.unwrap();
            }
            r
        }
    };
    activate(vendor).await.unwrap();
    refused(
        activate(pay.clone()).await,
        "critical SoD violation (P2P-01)",
    );
    assert!(
        env.store
            .access_grants(Some(&pay), None)
            .await
            .unwrap()
            .is_empty()
    );
    // A holder who has left is not started either.
    let gl = env.ask("req", manual("erp:GL_POST")).await.unwrap();
    env.decide("own", &gl, Decision::Approve).await.unwrap();
    env.import(&["req"]).await;
    refused(activate(gl).await, "no longer active");
    env.verify().await;
}

async fn violations_an_import_brings_are_alerted(env: Env) {
    let alerts = |env: &Env| {
        let store = env.store.clone();
        async move {
            store
                .outbox_records(0, 1000)
                .await
                .unwrap()
                .into_iter()
                .filter(|r| r.topic == "sod.violation.opened")
                .collect::<Vec<_>>()
        }
    };
    assert!(alerts(&env).await.is_empty());
    // An import gives del both halves of P2P-01: the import's own detector
    // pass opens the finding and alerts it, with no server running.
    env.import_with(
        &[],
        "erp,dan,VENDOR_CREATE,,direct\nerp,dan,AP_PAY,,direct\n",
    )
    .await;
    let sent = alerts(&env).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let payload = &sent[0].payload;
    assert_eq!(payload["severity"], "critical");
    assert!(
        payload["summary"].as_str().unwrap().contains("del"),
        "{payload}"
    );
    // The same snapshot again opens nothing and alerts nothing new.
    env.import_with(
        &[],
        "erp,dan,VENDOR_CREATE,,direct\nerp,dan,AP_PAY,,direct\n",
    )
    .await;
    assert_eq!(alerts(&env).await.len(), 1);
    env.verify().await;
}
