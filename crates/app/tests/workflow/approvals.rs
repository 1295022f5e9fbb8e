//! Who may approve, how many must, and what a decision records.

use super::*;

on_both_backends!(
    access_is_approved_once_and_granted_for_its_duration,
    nobody_approves_their_own_or_a_conflicting_request,
    critical_violations_need_a_mitigation_and_two_approvers,
    terminated_approvers_cannot_decide,
    two_approvers_at_once_record_one_completion,
    bad_input_changes_nothing,
    two_of_two_approvals_at_once_both_count,
    approvals_needed_rise_with_a_new_critical_risk,
    decisions_through_someone_elses_credential,
);

async fn access_is_approved_once_and_granted_for_its_duration(env: Env) {
    let id = env
        .ask("req", access("erp:GL_POST", Some(4)))
        .await
        .unwrap();
    let request = env.store.request(&id).await.unwrap().unwrap();
    assert_eq!(request.status, RequestStatus::Pending);
    assert_eq!(request.required_approvals, 1);
    // Routed to the entitlement owner, the system owner and the manager;
    // sys holds VENDOR_CREATE, which GL_POST does not conflict with.
    assert_eq!(request.approvers, vec![pid("own"), pid("sys"), pid("mgr")]);
    assert!(request.sod.is_empty(), "{:?}", request.sod);
    assert_eq!(request.expires_at, ts("2026-03-05T09:00:00Z"));

    env.clock.set(ts("2026-03-02T10:00:00Z"));
    let decided = env.decide("own", &id, Decision::Approve).await.unwrap();
    assert_eq!(decided.request.status, RequestStatus::Approved);
    assert_eq!(decided.seqs.len(), 2, "approval + one grant");
    let grants = env.store.access_grants(Some(&id), None).await.unwrap();
    assert_eq!(grants.len(), 1);
    let g = &grants[0];
    assert_eq!(
        (
            g.system_id.as_str(),
            g.account_id.as_str(),
            g.entitlement_id.as_str()
        ),
        ("erp", "rita", "GL_POST")
    );
    assert_eq!(g.starts_at, ts("2026-03-02T10:00:00Z"));
    assert_eq!(g.ends_at, ts("2026-03-02T14:00:00Z"));

    conflict(
        env.decide("mgr", &id, Decision::Approve).await,
        "is approved",
    );
    let topics = env.topics().await;
    for t in ["request.created", "request.approved", "access.granted"] {
        assert!(topics.iter().any(|x| x == t), "{t} in {topics:?}");
    }
    let decisions = env.store.decisions(Some(&id)).await.unwrap();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].actor, "token:tok-test");
    assert!(!decisions[0].mfa);
    env.verify().await;
}

async fn nobody_approves_their_own_or_a_conflicting_request(env: Env) {
    // own asks for AP_PAY for req: own is the entitlement owner, routed but
    // removed as requester; sys holds VENDOR_CREATE and would be in P2P-01
    // conflict holding AP_PAY, so sys is removed too.
    let mut request = access("erp:AP_PAY", Some(2));
    if let NewAsk::Access(a) = &mut request.ask {
        a.person_id = Some(pid("req"));
    }
    let id = env.ask("own", request).await.unwrap();
    let row = env.store.request(&id).await.unwrap().unwrap();
    assert_eq!(row.approvers, vec![pid("mgr")]);
    refused(
        env.decide("own", &id, Decision::Approve).await,
        "nobody approves their own request",
    );
    refused(
        env.decide("req", &id, Decision::Approve).await,
        "would hold the access",
    );
    refused(
        env.decide("sys", &id, Decision::Approve).await,
        "SoD conflict (P2P-01)",
    );
    refused(
        env.decide("del", &id, Decision::Approve).await,
        "is not an approver",
    );
    assert_eq!(env.status(&id).await, RequestStatus::Pending);
    let denied = env.decide("mgr", &id, Decision::Deny).await.unwrap();
    assert_eq!(denied.request.status, RequestStatus::Denied);
    assert!(
        env.store
            .access_grants(Some(&id), None)
            .await
            .unwrap()
            .is_empty()
    );
    env.verify().await;
}

async fn critical_violations_need_a_mitigation_and_two_approvers(env: Env) {
    // vend holds VENDOR_CREATE: AP_PAY would complete P2P-01 (critical).
    let mut request = access("erp:AP_PAY", Some(1));
    if let NewAsk::Access(a) = &mut request.ask {
        a.person_id = Some(pid("vend"));
    }
    let id = env.ask("req", request).await.unwrap();
    let row = env.store.request(&id).await.unwrap().unwrap();
    assert_eq!(row.sod.len(), 1);
    assert_eq!(
        (
            row.sod[0].risk_id.as_str(),
            row.sod[0].severity.as_str(),
            row.sod[0].mitigated
        ),
        ("P2P-01", "critical", false)
    );
    assert_eq!(row.required_approvals, 2, "critical risk: two approvers");
    refused(
        env.decide("own", &id, Decision::Approve).await,
        "critical SoD violation (P2P-01)",
    );
    let mut tx = env.store.begin_write().await.unwrap();
    soxctl_app::mitigations::grant(
        &mut tx,
        &actor(),
        MitigationRequest {
            risk_id: "P2P-01".into(),
            identity: "vend".into(),
            control: "weekly vendor payment review".into(),
            owner_id: pid("mgr"),
            approver_id: pid("mgr"),
            reason: "cover during month end".into(),
            expires_at: ts("2026-06-01T00:00:00Z"),
        },
        soxctl_model::clock::Clock::now(env.clock.as_ref()),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let first = env.decide("own", &id, Decision::Approve).await.unwrap();
    assert_eq!(
        (first.request.status, first.request.approvals),
        (RequestStatus::Pending, 1)
    );
    assert!(
        env.store
            .access_grants(Some(&id), None)
            .await
            .unwrap()
            .is_empty()
    );
    let second = env.decide("mgr", &id, Decision::Approve).await.unwrap();
    assert_eq!(
        (second.request.status, second.request.approvals),
        (RequestStatus::Approved, 2)
    );
    assert_eq!(
        env.store
            .access_grants(Some(&id), None)
            .await
            .unwrap()
            .len(),
        1
    );

    // SoD counts the time-bound grant while it lasts (DESIGN A6): the
    // violation is found, accepted under the mitigation, and resolved
    // when the grant expires.
    let sod = |at: &'static str| {
        let store = env.store.clone();
        let clock = env.clock.clone();
        async move {
            clock.set(ts(at));
            let mut tx = store.begin_write().await.unwrap();
            soxctl_app::sweep(&mut tx).await.unwrap();
            let now = soxctl_model::clock::Clock::now(clock.as_ref());
            soxctl_app::findings::evaluate(&mut tx, now, &Default::default())
                .await
                .unwrap();
            tx.commit().await.unwrap();
            store
                .findings(&soxctl_store::findings::Filter {
                    kind: Some("sod_violation".into()),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_iter()
                .map(|f| (f.subject, f.status))
                .collect::<Vec<_>>()
        }
    };
    use soxctl_model::finding::FindingStatus;
    assert_eq!(
        sod("2026-03-02T09:30:00Z").await,
        vec![("risk:P2P-01:vend".to_owned(), FindingStatus::Accepted)]
    );
    assert_eq!(
        sod("2026-03-02T10:00:00Z").await,
        vec![("risk:P2P-01:vend".to_owned(), FindingStatus::Resolved)]
    );
    env.verify().await;
}

async fn terminated_approvers_cannot_decide(env: Env) {
    let id = env.ask("req", access("erp:GL_POST", None)).await.unwrap();
    env.import(&["own"]).await;
    refused(
        env.decide("own", &id, Decision::Approve).await,
        "has left the company",
    );
    // The others still may.
    env.decide("mgr", &id, Decision::Approve).await.unwrap();
    env.verify().await;
}

async fn two_approvers_at_once_record_one_completion(env: Env) {
    let id = env.ask("req", access("erp:GL_POST", None)).await.unwrap();
    let env = Arc::new(env);
    let (a, b) = tokio::join!(
        {
            let env = env.clone();
            let id = id.clone();
            async move { env.decide("own", &id, Decision::Approve).await }
        },
        {
            let env = env.clone();
            let id = id.clone();
            async move { env.decide("mgr", &id, Decision::Approve).await }
        }
    );
    let wins = [a.is_ok(), b.is_ok()].iter().filter(|x| **x).count();
    assert_eq!(wins, 1, "exactly one approval completes: {a:?} {b:?}");
    let loser = if a.is_ok() { b } else { a };
    conflict(loser, "is approved");
    assert_eq!(env.store.decisions(Some(&id)).await.unwrap().len(), 1);
    assert_eq!(
        env.store
            .access_grants(Some(&id), None)
            .await
            .unwrap()
            .len(),
        1
    );
    env.verify().await;
}

async fn bad_input_changes_nothing(env: Env) {
    let before = env.size().await;
    let cases: Vec<(NewRequest, &str, &str)> = vec![
        (access("erp:NOPE", None), "req", "no entitlement 'erp:NOPE'"),
        (
            access("not-a-ref", None),
            "req",
            "not an entitlement reference",
        ),
        (access("erp:GL_POST", Some(9)), "req", "allows at most 8h"),
        (
            access("erp:GL_POST", None),
            "ghost",
            "not a person in the store",
        ),
        (
            NewRequest {
                justification: "  ".into(),
                ..access("erp:GL_POST", None)
            },
            "req",
            "justification may not be empty",
        ),
        (
            NewRequest {
                ask: NewAsk::Action(NewAction {
                    kind: "Deploy Now".into(),
                    env: "prod".into(),
                    payload: serde_json::json!({}),
                    change: None,
                }),
                justification: "x".into(),
                ticket: None,
            },
            "req",
            "action kind 'Deploy Now'",
        ),
    ];
    for (request, requester, needle) in cases {
        let result = env.ask(requester, request).await;
        match &result {
            Err(WorkflowError::Invalid(m) | WorkflowError::Refused(m)) if m.contains(needle) => {}
            other => panic!("expected an error containing {needle:?}, got {other:?}"),
        }
    }
    assert!(matches!(
        env.decide("own", &"req_nope".parse().unwrap(), Decision::Approve)
            .await,
        Err(WorkflowError::NotFound(_))
    ));
    assert_eq!(env.size().await, before, "nothing was recorded");
}

async fn two_of_two_approvals_at_once_both_count(env: Env) {
    // vend holds VENDOR_CREATE: AP_PAY completes P2P-01 (critical), so two
    // approvals; sam is excluded (he holds VENDOR_CREATE too), leaving own
    // and mgr. Both decide at the same moment: neither approval is lost.
    let mut request = access("erp:AP_PAY", Some(1));
    if let NewAsk::Access(a) = &mut request.ask {
        a.person_id = Some(pid("vend"));
    }
    let id = env.ask("req", request).await.unwrap();
    let row = env.store.request(&id).await.unwrap().unwrap();
    assert_eq!(row.required_approvals, 2);
    assert_eq!(row.approvers, [pid("own"), pid("mgr")]);
    env.mitigate("vend").await;
    let env = Arc::new(env);
    let (a, b) = tokio::join!(
        {
            let env = env.clone();
            let id = id.clone();
            async move { env.decide("own", &id, Decision::Approve).await }
        },
        {
            let env = env.clone();
            let id = id.clone();
            async move { env.decide("mgr", &id, Decision::Approve).await }
        }
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut counts = [a.request.approvals, b.request.approvals];
    counts.sort();
    assert_eq!(counts, [1, 2], "each approval saw the other's");
    let row = env.store.request(&id).await.unwrap().unwrap();
    assert_eq!((row.status, row.approvals), (RequestStatus::Approved, 2));
    assert_eq!(env.store.decisions(Some(&id)).await.unwrap().len(), 2);
    assert_eq!(
        env.store
            .access_grants(Some(&id), None)
            .await
            .unwrap()
            .len(),
        1,
        "the grant starts once"
    );
    env.verify().await;
}

async fn approvals_needed_rise_with_a_new_critical_risk(env: Env) {
    // del asks for AP_PAY with no conflict: one approval.
    let id = env.ask("del", access("erp:AP_PAY", Some(1))).await.unwrap();
    let row = env.store.request(&id).await.unwrap().unwrap();
    assert_eq!((row.required_approvals, row.sod.len()), (1, 0));
    // Before anyone decides, del is given VENDOR_CREATE: AP_PAY would now
    // complete P2P-01, a critical risk.
    env.import_with(&[], "erp,dan,VENDOR_CREATE,,direct\n")
        .await;
    refused(
        env.decide("own", &id, Decision::Approve).await,
        "critical SoD violation (P2P-01)",
    );
    env.mitigate("del").await;
    let first = env.decide("own", &id, Decision::Approve).await.unwrap();
    assert_eq!(
        (
            first.request.status,
            first.request.approvals,
            first.request.required_approvals
        ),
        (RequestStatus::Pending, 1, 2),
        "the critical risk asks for a second approval, as if it had been known at the start"
    );
    let second = env.decide("mgr", &id, Decision::Approve).await.unwrap();
    assert_eq!(second.request.status, RequestStatus::Approved);
    env.verify().await;
}

/// A decision through a credential someone else issued: the issuer is
/// judged by the built-in rules too, and the entry names them.
async fn decisions_through_someone_elses_credential(env: Env) {
    use soxctl_model::access::Issuer;
    let decide_as = |approver: &'static str, id: RequestId, issuer: Issuer| {
        let store = env.store.clone();
        async move {
            let mut tx = store.begin_write().await.unwrap();
            let done = soxctl_app::decide(
                &mut tx,
                &actor(),
                &pid(approver),
                DecisionInput {
                    request_id: id,
                    decision: Decision::Approve,
                    comment: None,
                    mfa: false,
                    issued_by: Some(issuer),
                },
            )
            .await;
            if done.is_ok() {
                tx.commit().await.unwrap();
            }
            done
        }
    };
    let id = env
        .ask("req", access("erp:GL_POST", Some(4)))
        .await
        .unwrap();
    let before = env.size().await;
    // The requester's admin token made a token for the owner: the requester
    // would approve her own request through it.
    refused(
        decide_as(
            "own",
            id.clone(),
            Issuer {
                principal: "token:tok_admin".into(),
                person: Some(pid("req")),
            },
        )
        .await,
        "issued by req (token:tok_admin), who cannot decide",
    );
    assert_eq!(env.size().await, before);
    // A token the command line made names nobody: allowed by the test
    // policy, and marked in the ledger.
    let decided = decide_as(
        "own",
        id.clone(),
        Issuer {
            principal: "system:cli".into(),
            person: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(decided.request.status, RequestStatus::Approved);
    let (_, _, bytes) = env
        .store
        .entries(decided.seqs[0], 1)
        .await
        .unwrap()
        .remove(0);
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(json["type"], "request.approved");
    assert_eq!(json["payload"]["issued_by"], "system:cli", "{json}");
    env.verify().await;
}
