//! Delegates deciding in another approver's seat, judged as themselves.

use super::*;

on_both_backends!(
    delegates_decide_in_the_delegators_seat,
    delegates_are_judged_as_approvers_themselves,
    delegations_through_someone_elses_credential,
);

async fn delegates_decide_in_the_delegators_seat(env: Env) {
    let id = env.ask("req", access("erp:GL_POST", None)).await.unwrap();
    let mut tx = env.store.begin_write().await.unwrap();
    let (delegation_id, _) = soxctl_app::delegate(
        &mut tx,
        &actor(),
        &pid("mgr"),
        NewDelegation {
            delegate_id: pid("del"),
            starts_at: None,
            ends_at: ts("2026-03-09T00:00:00Z"),
            reason: "holiday".into(),
            issued_by: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let decided = env.decide("del", &id, Decision::Approve).await.unwrap();
    assert_eq!(decided.on_behalf_of, Some(pid("mgr")));
    let decisions = env.store.decisions(Some(&id)).await.unwrap();
    assert_eq!(decisions[0].on_behalf_of, Some(pid("mgr")));

    // Once revoked, the delegate is no approver of a new request.
    let next = env.ask("req", access("erp:GL_POST", None)).await.unwrap();
    let mut tx = env.store.begin_write().await.unwrap();
    soxctl_app::revoke_delegation(&mut tx, &actor(), Some(&pid("mgr")), &delegation_id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    refused(
        env.decide("del", &next, Decision::Approve).await,
        "is not an approver",
    );
    // A delegation past its end does not count either.
    let mut tx = env.store.begin_write().await.unwrap();
    soxctl_app::delegate(
        &mut tx,
        &actor(),
        &pid("mgr"),
        NewDelegation {
            delegate_id: pid("del"),
            starts_at: None,
            ends_at: ts("2026-03-02T12:00:00Z"),
            reason: "afternoon off".into(),
            issued_by: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    env.clock.set(ts("2026-03-02T12:00:00Z"));
    refused(
        env.decide("del", &next, Decision::Approve).await,
        "is not an approver",
    );
    env.verify().await;
}

async fn delegates_are_judged_as_approvers_themselves(env: Env) {
    let delegate = |from: &'static str, to: &'static str, starts_at: Option<Timestamp>| {
        let store = env.store.clone();
        async move {
            let mut tx = store.begin_write().await.unwrap();
            let r = soxctl_app::delegate(
                &mut tx,
                &actor(),
                &pid(from),
                NewDelegation {
                    delegate_id: pid(to),
                    starts_at,
                    ends_at: ts("2026-03-09T00:00:00Z"),
                    reason: "holiday".into(),
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
    // A delegation cannot start in the past: decisions already taken would
    // look delegated.
    assert!(matches!(
        delegate("mgr", "del", Some(ts("2026-03-02T08:00:00Z"))).await,
        Err(WorkflowError::Invalid(m)) if m.contains("in the past")
    ));
    // The requester as the delegate still never approves their own request.
    delegate("mgr", "req", None).await.unwrap();
    let own_request = env.ask("req", access("erp:GL_POST", None)).await.unwrap();
    refused(
        env.decide("req", &own_request, Decision::Approve).await,
        "nobody approves their own request",
    );
    // The policy's Cedar text forbids deputies to approve: a delegation
    // does not widen who may.
    let mut tx = env.store.begin_write().await.unwrap();
    tx.load_document(
        &actor(),
        DocumentKind::Policies,
        "approvals.toml",
        &format!(
            "cedar = '''\npermit (principal, action, resource);\nforbid (principal, action == Action::\"approve\", resource) when {{ principal.title == \"Deputy\" }};\n'''\n{POLICIES}"
        ),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    delegate("own", "del", None).await.unwrap();
    let id = env.ask("vend", access("erp:GL_POST", None)).await.unwrap();
    refused(
        env.decide("del", &id, Decision::Approve).await,
        "as a delegate",
    );
    assert!(env.store.decisions(Some(&id)).await.unwrap().is_empty());
    env.decide("own", &id, Decision::Approve).await.unwrap();

    // A policy tightened after a request was routed binds its approvers
    // too: AP leads may no longer approve.
    let pending = env.ask("vend", access("erp:GL_POST", None)).await.unwrap();
    let mut tx = env.store.begin_write().await.unwrap();
    tx.load_document(
        &actor(),
        DocumentKind::Policies,
        "approvals.toml",
        &format!(
            "cedar = '''\npermit (principal, action, resource);\nforbid (principal, action == Action::\"approve\", resource) when {{ principal.title == \"AP Lead\" }};\n'''\n{POLICIES}"
        ),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    refused(
        env.decide("own", &pending, Decision::Approve).await,
        "cannot decide request",
    );
    env.verify().await;
}

/// A delegation or a break-glass review through someone else's credential:
/// the issuer may not become the delegate, nor review their own use.
async fn delegations_through_someone_elses_credential(env: Env) {
    use soxctl_model::access::Issuer;
    let mut tx = env.store.begin_write().await.unwrap();
    let made = soxctl_app::delegate(
        &mut tx,
        &actor(),
        &pid("mgr"),
        NewDelegation {
            delegate_id: pid("req"),
            starts_at: None,
            ends_at: ts("2026-03-09T00:00:00Z"),
            reason: "holiday".into(),
            issued_by: Some(Issuer {
                principal: "token:tok_admin".into(),
                person: Some(pid("req")),
            }),
        },
    )
    .await;
    refused(made, "cannot make them mgr's delegate");
    drop(tx);
    env.verify().await;
}
