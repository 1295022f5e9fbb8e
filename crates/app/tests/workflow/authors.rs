//! Who wrote and who deploys a change: identities resolved from accounts
//! and emails, folded, never compared as strings.

use super::*;

on_both_backends!(
    authors_are_known_by_their_accounts_and_unknown_ones_are_flagged,
    deployers_are_identities_not_strings,
    authors_are_folded_and_platform_authors_are_nobody,
);

async fn authors_are_known_by_their_accounts_and_unknown_ones_are_flagged(env: Env) {
    use soxctl_app::gate::{check, deploy_payload, record_deployment};
    use soxctl_model::request::Ask;
    // Olga commits from a private address, known as her account.
    env.import_full(&[], "erp,olga.o@gmail.com,own,human,active,,\n", "")
        .await;
    let routing = "[[action]]\nid = \"deploy\"\nkinds = [\"deploy\"]\napprovers = [\"person:own\", \"manager\"]\n";
    env.policies(routing, "").await;
    let commit = "4f1c2d7e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d";
    let ask = |env: &Env| {
        let store = env.store.clone();
        async move {
            let mut tx = store.begin_write().await.unwrap();
            let created = soxctl_app::create(
                &mut tx,
                &actor(),
                &pid("req"),
                NewRequest {
                    ask: NewAsk::Action(NewAction {
                        kind: "deploy".into(),
                        env: "prod".into(),
                        payload: deploy_payload(commit),
                        change: Some(NewChange {
                            repo: "github.com/acme/app".into(),
                            run: None,
                            commits: vec![ChangeCommit {
                                sha: commit.into(),
                                author: "Olga <Olga.O@gmail.com>".into(),
                                // The committer of a squash merge in GitHub's web UI.
                                committer: "GitHub <noreply@github.com>".into(),
                                co_authors: vec!["Ghost <ghost@elsewhere.org>".into()],
                            }],
                        }),
                    }),
                    justification: "release 4.3".into(),
                    ticket: None,
                },
            )
            .await;
            if created.is_ok() {
                tx.commit().await.unwrap();
            }
            created
        }
    };
    // By default every environment refuses an author nobody is known as,
    // when the change is registered.
    let before = env.size().await;
    refused(ask(&env).await, "ghost@elsewhere.org matched no person");
    assert_eq!(env.size().await, before);
    env.policies(routing, "allow_unattributed_authors = [\"prod\"]")
        .await;
    let created = ask(&env).await.unwrap();
    assert!(
        created
            .excluded
            .iter()
            .any(|(p, why)| p == &pid("own") && why.contains("author")),
        "{:?}",
        created.excluded
    );
    let id = created.request.request_id.clone();
    let Ask::Action(action) = &created.request.ask else {
        panic!("an action")
    };
    // The platform committer names nobody and is left out.
    assert_eq!(action.unattributed_authors, ["ghost@elsewhere.org"]);
    assert_eq!(action.author_people, [pid("own")]);
    refused(env.decide("own", &id, Decision::Approve).await, "author");
    env.decide("mgr", &id, Decision::Approve).await.unwrap();
    assert!(
        check(&env.store, commit, "prod", "sam@example.com")
            .await
            .unwrap()
            .allowed
    );
    // The opt-out withdrawn: the gate refuses what was registered under it.
    env.policies(routing, "").await;
    let denied = check(&env.store, commit, "prod", "sam@example.com")
        .await
        .unwrap();
    assert!(!denied.allowed);
    assert!(
        denied.reason.contains("ghost@elsewhere.org"),
        "{}",
        denied.reason
    );
    env.policies(routing, "allow_unattributed_authors = [\"prod\"]")
        .await;
    assert!(
        !check(&env.store, commit, "prod", "olga.o@gmail.com")
            .await
            .unwrap()
            .allowed,
        "an author deploys under her private address"
    );
    let by_work_address = check(&env.store, commit, "prod", "olga@example.com")
        .await
        .unwrap();
    assert!(
        !by_work_address.allowed && by_work_address.reason.contains("may not deploy"),
        "an author deploys under her work address, not the one her commits carry: {}",
        by_work_address.reason
    );
    env.policies(routing, "").await;
    let mut tx = env.store.begin_write().await.unwrap();
    let deployed = record_deployment(&mut tx, &actor(), commit, "prod", "sam@example.com", None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(deployed.finding_id.is_some(), "{}", deployed.reason);
    assert_eq!(env.status(&id).await, RequestStatus::Approved);
    env.verify().await;
}

/// The change gate takes nobody at their word: who deploys is parsed into
/// one identity, whoever approved a change does not deploy it, and a
/// deployer nobody is known as does not pass by default.
async fn deployers_are_identities_not_strings(env: Env) {
    use soxctl_app::gate::{check, record_deployment};
    let commit = "4f1c2d7e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d";
    let id = env
        .ask(
            "req",
            deployment(
                commit,
                &["Olga Owner <olga@example.com>", "Vera <vera@example.com>"],
            ),
        )
        .await
        .unwrap();
    env.decide("mgr", &id, Decision::Approve).await.unwrap();
    let verdict = |deployer: &'static str| {
        let store = env.store.clone();
        async move { check(&store, commit, "prod", deployer).await }
    };
    assert!(verdict("sam@example.com").await.unwrap().allowed);
    // Texts that name nobody, or several, are refused outright.
    for bad in [
        "Olga Owner",
        "olga@example.com>",
        "olga@example.com,ci@example.com",
        "olga@example.com ci@example.com",
        "olga\u{202e}@example.com",
        "",
    ] {
        assert!(
            matches!(verdict(bad).await, Err(WorkflowError::Invalid(_))),
            "{bad:?}: {:?}",
            verdict(bad).await
        );
    }
    // The author, however written, may not deploy.
    for author in [
        "olga@example.com.",
        "OLGA@Example.com",
        "olga+ci@example.com",
        "mailto:olga@example.com",
        "<olga@example.com>",
        "Someone Else <olga@example.com>",
        "own",
        "olga",
        "vera+release@example.com",
    ] {
        let v = verdict(author).await.unwrap();
        assert!(!v.allowed, "{author} deployed a change they wrote");
        assert!(
            v.reason.contains("wrote part of this change"),
            "{author}: {}",
            v.reason
        );
    }
    // The approver may not deploy what they approved.
    for approver in ["mgr", "max@example.com", "Max <MAX+deploy@example.com>"] {
        let v = verdict(approver).await.unwrap();
        assert!(!v.allowed, "{approver}");
        assert!(
            v.reason.contains("approved this change"),
            "{approver}: {}",
            v.reason
        );
    }
    // A deployer nobody is known as is refused unless the environment
    // opts out in the policies document.
    let unknown = verdict("stranger@elsewhere.test").await.unwrap();
    assert!(!unknown.allowed);
    assert!(
        unknown.reason.contains("no known person"),
        "{}",
        unknown.reason
    );
    env.gate_settings("allow_unattributed_authors = [\"prod\"]")
        .await;
    assert!(verdict("stranger@elsewhere.test").await.unwrap().allowed);
    env.gate_settings("").await;
    // Recording a deployment by the approver consumes nothing and opens a finding.
    let mut tx = env.store.begin_write().await.unwrap();
    let deployed = record_deployment(&mut tx, &actor(), commit, "prod", "MAX@example.com.", None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(deployed.finding_id.is_some(), "{}", deployed.reason);
    assert_eq!(deployed.deployment.deployer, "max@example.com");
    assert_eq!(deployed.deployment.request_id, None);
    assert_eq!(env.status(&id).await, RequestStatus::Approved);
    env.verify().await;
}

/// Authors are named by folded identities: a sub-address, a platform
/// identity as the author, an alias the inventory knows.
async fn authors_are_folded_and_platform_authors_are_nobody(env: Env) {
    let commit = "4f1c2d7e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d";
    // The manager commits from a sub-address: still the manager, so the
    // default routing (the requester's manager) leaves nobody to approve.
    refused(
        env.ask("req", deployment(commit, &["Max <max+ci@example.com>"]))
            .await,
        "mgr: is an author",
    );
    // A commit GitHub's web interface authored as itself hides who wrote it.
    let before = env.size().await;
    refused(
        env.ask("req", deployment(commit, &["GitHub <noreply@github.com>"]))
            .await,
        "a platform identity as the author",
    );
    refused(
        env.ask(
            "req",
            deployment(
                commit,
                &["github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"],
            ),
        )
        .await,
        "a platform identity as the author",
    );
    assert_eq!(env.size().await, before);
    // As committer a platform names nobody and is left out.
    let mut ok = deployment(commit, &["Olga <olga@example.com>"]);
    if let NewAsk::Action(a) = &mut ok.ask
        && let Some(change) = &mut a.change
    {
        change.commits[0].committer = "GitHub <noreply@github.com>".into();
    }
    let id = env.ask("req", ok).await.unwrap();
    let row = env.store.request(&id).await.unwrap().unwrap();
    let soxctl_model::request::Ask::Action(action) = &row.ask else {
        panic!("an action")
    };
    assert_eq!(action.author_people, [pid("own")]);
    assert!(action.unattributed_authors.is_empty());
    env.verify().await;
}
