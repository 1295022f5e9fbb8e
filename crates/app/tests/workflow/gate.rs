//! The change gate: approved commits only, deployed by someone who did
//! not write them, identities resolved from accounts.

use super::*;

on_both_backends!(
    the_gate_allows_only_approved_commits_deployed_by_non_authors,
    remembered_verdicts_follow_the_ledger_and_the_clock,
    pipelines_register_deployments,
    approvals_are_bound_to_their_repository,
);

async fn the_gate_allows_only_approved_commits_deployed_by_non_authors(env: Env) {
    use soxctl_app::gate::{check, last_deployed, record_deployment};
    let commit = "4f1c2d7e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d";
    let other = "0000000000000000000000000000000000000001";
    // A deployment without its commits could be approved by its author.
    let mut anonymous = deployment(other, &[]);
    if let NewAsk::Action(a) = &mut anonymous.ask {
        a.change = Some(NewChange::default());
    }
    let anonymous = env.ask("req", anonymous).await;
    assert!(
        matches!(&anonymous, Err(WorkflowError::Invalid(m)) if m.contains("names the commits")),
        "{anonymous:?}"
    );
    // Nor does a person ask for one without the pipeline's commits.
    let mut unread = deployment(other, &[]);
    if let NewAsk::Action(a) = &mut unread.ask {
        a.change = None;
    }
    let unread = env.ask("req", unread).await;
    assert!(
        matches!(&unread, Err(WorkflowError::Invalid(m)) if m.contains("registered by its pipeline")),
        "{unread:?}"
    );
    let id = env
        .ask(
            "req",
            NewRequest {
                ticket: Some("CHG-42".into()),
                ..deployment(commit, &["Olga Owner <olga@example.com>", "req"])
            },
        )
        .await
        .unwrap();
    let verdict = check(&env.store, commit, "prod", "sam@example.com")
        .await
        .unwrap();
    assert!(!verdict.allowed);
    assert!(verdict.reason.contains("is pending"), "{}", verdict.reason);
    env.decide("mgr", &id, Decision::Approve).await.unwrap();
    let by_author = check(&env.store, commit, "prod", "OLGA@example.com")
        .await
        .unwrap();
    assert!(!by_author.allowed);
    assert!(
        by_author.reason.contains("may not deploy"),
        "{}",
        by_author.reason
    );
    env.gate_settings("author_may_deploy = [\"prod\"]").await;
    assert!(
        check(&env.store, commit, "prod", "olga@example.com")
            .await
            .unwrap()
            .allowed
    );
    env.gate_settings("").await;
    let ok = check(
        &env.store,
        &commit.to_uppercase(),
        "prod",
        "sam@example.com",
    )
    .await
    .unwrap();
    assert!(ok.allowed, "{}", ok.reason);
    assert_eq!(ok.request_id.as_ref(), Some(&id));
    assert!(ok.evidence.unwrap().contains("decisions at ledger seq"));
    assert!(
        !check(&env.store, commit, "staging", "sam")
            .await
            .unwrap()
            .allowed
    );
    assert!(
        !check(&env.store, other, "prod", "sam")
            .await
            .unwrap()
            .allowed
    );
    assert!(matches!(
        check(&env.store, "abc", "prod", "sam").await,
        Err(WorkflowError::Invalid(_))
    ));

    let mut tx = env.store.begin_write().await.unwrap();
    let deployed = record_deployment(
        &mut tx,
        &actor(),
        commit,
        "prod",
        "sam@example.com",
        Some("github.com/acme/app"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(deployed.deployment.request_id.as_ref(), Some(&id));
    assert!(deployed.finding_id.is_none());
    assert_eq!(env.status(&id).await, RequestStatus::Consumed);
    assert!(
        !check(&env.store, commit, "prod", "sam")
            .await
            .unwrap()
            .allowed,
        "consumed"
    );

    // A deployment nobody approved is recorded, and opens a finding.
    let mut tx = env.store.begin_write().await.unwrap();
    let rogue = record_deployment(
        &mut tx,
        &actor(),
        other,
        "prod",
        "sam",
        Some("github.com/acme/app"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let finding = rogue.finding_id.unwrap();
    let findings = env
        .store
        .findings(&soxctl_store::findings::Filter {
            kind: Some("unapproved_change".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].finding_id, finding);
    assert_eq!(
        last_deployed(&env.store, "prod", Some("github.com/acme/app"))
            .await
            .unwrap()
            .unwrap()
            .commit,
        other
    );
    assert!(
        last_deployed(&env.store, "staging", None)
            .await
            .unwrap()
            .is_none()
    );

    // Defence in depth: an approval recorded for an author (by a path that
    // skipped the workflow's rules) still does not pass the gate.
    let third = "0000000000000000000000000000000000000003";
    let id = env
        .ask("req", deployment(third, &["Olga <OLGA@example.com>"]))
        .await
        .unwrap();
    env.store
        .append_one(
            &actor(),
            &soxctl_model::event::Event::RequestApproved(soxctl_model::request::RequestApproved {
                request_id: id,
                approver_id: pid("own"),
                on_behalf_of: None,
                mfa: false,
                issued_by: None,
                comment: None,
                approvals: 1,
                approved: true,
                required_approvals: None,
                valid_until: Some(ts("2026-03-09T00:00:00Z")),
            }),
        )
        .await
        .unwrap();
    let verdict = check(&env.store, third, "prod", "sam").await.unwrap();
    assert!(!verdict.allowed);
    assert!(
        verdict.reason.contains("own approved a change they wrote"),
        "{}",
        verdict.reason
    );
    // Deployed anyway: recorded as unapproved, the approval not consumed.
    let mut tx = env.store.begin_write().await.unwrap();
    let deployed = record_deployment(&mut tx, &actor(), third, "prod", "sam", None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(deployed.deployment.request_id, None);
    assert!(deployed.finding_id.is_some());
    assert!(
        deployed.reason.contains("own approved a change they wrote"),
        "{}",
        deployed.reason
    );
    env.verify().await;
}

async fn remembered_verdicts_follow_the_ledger_and_the_clock(env: Env) {
    use soxctl_app::gate::check;
    use soxctl_app::verdicts::VerdictCache;
    let cache = VerdictCache::new();
    let commit = "4f1c2d7e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d";
    // Each answer from memory is the answer computed afresh, asked twice
    // so the second comes from memory when nothing changed.
    let agree = |deployer: &'static str| {
        let (store, cache) = (env.store.clone(), &cache);
        async move {
            let fresh = check(&store, commit, "prod", deployer).await.unwrap();
            let first = cache.check(&store, commit, "prod", deployer).await.unwrap();
            let again = cache
                .check(&store, &commit.to_uppercase(), "prod", deployer)
                .await
                .unwrap();
            assert_eq!(first, fresh);
            assert_eq!(again, fresh);
            fresh
        }
    };
    assert!(
        agree("sam@example.com")
            .await
            .reason
            .contains("no change request")
    );
    let id = env
        .ask(
            "req",
            deployment(commit, &["Olga Owner <olga@example.com>"]),
        )
        .await
        .unwrap();
    assert!(agree("sam@example.com").await.reason.contains("is pending"));
    env.decide("mgr", &id, Decision::Approve).await.unwrap();
    assert!(agree("sam@example.com").await.allowed);
    assert!(!agree("olga@example.com").await.allowed, "an author");
    // The approval runs out with no ledger entry: the clock ends it.
    env.clock.set(ts("2026-03-03T08:59:59.999999Z"));
    assert!(agree("sam@example.com").await.allowed);
    env.clock.set(ts("2026-03-03T09:00:00Z"));
    assert!(!agree("sam@example.com").await.allowed);

    // A cancellation is a ledger entry: the next answer sees it.
    let second = "0000000000000000000000000000000000000002";
    let id = env
        .ask(
            "req",
            deployment(second, &["Vera Vendor <vera@example.com>"]),
        )
        .await
        .unwrap();
    env.decide("mgr", &id, Decision::Approve).await.unwrap();
    let ask = |c: &'static str| cache.check(&env.store, c, "prod", "sam@example.com");
    assert!(ask(second).await.unwrap().allowed);
    let mut tx = env.store.begin_write().await.unwrap();
    soxctl_app::cancel(&mut tx, &actor(), None, &id, "release pulled")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(!ask(second).await.unwrap().allowed);
    env.verify().await;
}

/// Only a pipeline registers a deployment: bound to its repository and
/// environments, naming who triggered the run, who becomes the requester.
async fn pipelines_register_deployments(env: Env) {
    use soxctl_app::gate::{NewDeployment, register};
    use soxctl_model::access::{Pipeline, TriggeredBy};
    let commit = "4f1c2d7e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d";
    let pipeline = Pipeline {
        repo: "github.com/acme/app".into(),
        environments: vec!["prod".into(), "staging-*".into()],
        triggered_by: None,
        run: None,
    };
    let input = |env: &str, triggered_by: Option<&str>| NewDeployment {
        env: env.into(),
        commit: commit.into(),
        commits: vec![ChangeCommit {
            sha: commit.to_uppercase(),
            author: "Olga Owner <olga@example.com>".into(),
            committer: "GitHub <noreply@github.com>".into(),
            co_authors: vec!["Vera <vera@example.com>".into()],
        }],
        triggered_by: triggered_by.map(str::to_owned),
        justification: None,
        ticket: None,
    };
    let attempt = |pipeline: Option<Pipeline>, deployment: NewDeployment| {
        let store = env.store.clone();
        async move {
            let mut tx = store.begin_write().await.unwrap();
            let done = register(&mut tx, &actor(), pipeline.as_ref(), deployment).await;
            if done.is_ok() {
                tx.commit().await.unwrap();
            }
            done
        }
    };
    let before = env.size().await;
    refused(
        attempt(None, input("prod", Some("req"))).await,
        "only a pipeline registers",
    );
    refused(
        attempt(Some(pipeline.clone()), input("dev", Some("req"))).await,
        "acts in prod, staging-* only",
    );
    refused(
        attempt(
            Some(pipeline.clone()),
            input("prod", Some("stranger@elsewhere.test")),
        )
        .await,
        "no known person",
    );
    let mut garbage = input("prod", Some("req"));
    garbage.commit = "../../../etc/passwd".into();
    garbage.commits[0].sha = "../../../etc/passwd".into();
    let garbage = attempt(Some(pipeline.clone()), garbage).await;
    assert!(
        matches!(&garbage, Err(WorkflowError::Invalid(m)) if m.contains("not a full commit id")),
        "{garbage:?}"
    );
    let missing = attempt(Some(pipeline.clone()), input("prod", None)).await;
    assert!(
        matches!(missing, Err(WorkflowError::Invalid(_))),
        "{missing:?}"
    );
    let mut elsewhere = input("prod", Some("req"));
    elsewhere.commits[0].sha = "0000000000000000000000000000000000000009".into();
    let elsewhere = attempt(Some(pipeline.clone()), elsewhere).await;
    assert!(
        matches!(&elsewhere, Err(WorkflowError::Invalid(m)) if m.contains("do not include the deployed commit")),
        "{elsewhere:?}"
    );
    // A signed CI identity names who triggered the run; the body may not.
    let signed = Pipeline {
        triggered_by: Some(TriggeredBy {
            login: "rita".into(),
            email: None,
            system: Some(soxctl_model::ids::SystemId::parse("erp").unwrap()),
        }),
        ..pipeline.clone()
    };
    let both = attempt(Some(signed.clone()), input("prod", Some("req"))).await;
    assert!(matches!(both, Err(WorkflowError::Invalid(_))), "{both:?}");
    assert_eq!(env.size().await, before, "nothing recorded");

    let created = attempt(Some(signed), input("staging-eu", None))
        .await
        .unwrap();
    assert_eq!(created.request.requester_id, pid("req"));
    let created = attempt(Some(pipeline), input("prod", Some("rita@example.com")))
        .await
        .unwrap();
    assert_eq!(created.request.requester_id, pid("req"));
    let soxctl_model::request::Ask::Action(action) = &created.request.ask else {
        panic!("an action")
    };
    assert_eq!(action.repo.as_deref(), Some("github.com/acme/app"));
    assert_eq!(action.commits, Some(1));
    assert_eq!(action.author_people, [pid("own"), pid("vend")]);
    assert_eq!(created.request.approvers, [pid("mgr")]);
    env.verify().await;
}

/// An approval is bound to the repository whose pipeline registered it:
/// another repository's pipeline (a sandbox, a fork with the same commit)
/// cannot register a commit it does not own and have the real pipeline
/// deploy it. A person id that is also someone else's account id names
/// nobody for sure.
async fn approvals_are_bound_to_their_repository(env: Env) {
    use soxctl_app::gate::{NewDeployment, Who, check_as, record_deployment_as, register};
    use soxctl_model::access::Pipeline;
    let commit = "6f99f13a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e";
    let scratch = Pipeline {
        repo: "github.com/zoe/scratch".into(),
        environments: vec!["prod".into()],
        triggered_by: None,
        run: None,
    };
    let mut tx = env.store.begin_write().await.unwrap();
    let created = register(
        &mut tx,
        &actor(),
        Some(&scratch),
        NewDeployment {
            env: "prod".into(),
            commit: commit.into(),
            commits: vec![ChangeCommit {
                sha: commit.into(),
                author: "Vera <vera@example.com>".into(),
                committer: "Vera <vera@example.com>".into(),
                co_authors: Vec::new(),
            }],
            triggered_by: Some("vend".into()),
            justification: None,
            ticket: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    env.decide("mgr", &created.request.request_id, Decision::Approve)
        .await
        .unwrap();
    let sam = Who::Named("sam@example.com".into());
    let own_repo = check_as(
        &env.store,
        Some("github.com/zoe/scratch"),
        commit,
        "prod",
        &sam,
    )
    .await
    .unwrap();
    assert!(own_repo.allowed, "{}", own_repo.reason);
    let elsewhere = check_as(
        &env.store,
        Some("github.com/acme/app"),
        commit,
        "prod",
        &sam,
    )
    .await
    .unwrap();
    assert!(!elsewhere.allowed);
    assert!(
        elsewhere.reason.contains("no change request"),
        "{}",
        elsewhere.reason
    );
    let mut tx = env.store.begin_write().await.unwrap();
    let deployed = record_deployment_as(
        &mut tx,
        &actor(),
        commit,
        "prod",
        &sam,
        Some("github.com/acme/app"),
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(deployed.finding_id.is_some(), "{}", deployed.reason);
    assert_eq!(
        env.status(&created.request.request_id).await,
        RequestStatus::Approved
    );

    // An account id chosen to look like another person's id.
    env.import_full(&[], "erp,sys,vend,human,active,,\n", "")
        .await;
    let ambiguous = check_as(
        &env.store,
        Some("github.com/zoe/scratch"),
        commit,
        "prod",
        &Who::Named("sys".into()),
    )
    .await
    .unwrap();
    assert!(!ambiguous.allowed);
    assert!(
        ambiguous.reason.contains("names several people"),
        "{}",
        ambiguous.reason
    );
    env.verify().await;
}
