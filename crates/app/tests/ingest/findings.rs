//! Hygiene findings through imports: opened by `finding.opened` events when
//! a condition appears, resolved when it goes, reopened with its history
//! when it comes back; all replayed by verify.

use crate::helpers::*;
use soxctl_model::finding::{FindingStatus, Severity, finding_id};
use soxctl_store::findings::Filter;

on_both_backends!(
    findings_open_resolve_and_reopen_with_imports,
    drift_candidates_derived_by_the_import_are_the_stores
);

async fn open_findings(env: &Env) -> Vec<(String, String, Severity)> {
    let filter = Filter {
        status: Some(FindingStatus::Open),
        ..Filter::default()
    };
    let mut found: Vec<_> = env
        .store
        .findings(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.kind, f.subject, f.severity))
        .collect();
    found.sort();
    found
}

async fn findings_open_resolve_and_reopen_with_imports(env: Env) {
    env.import_ok(&env.write_snapshot("base", &base())).await;
    assert_eq!(
        open_findings(&env).await,
        [(
            "nhi_without_owner".into(),
            "account:erp:svc-batch".into(),
            Severity::Medium
        )]
    );

    // p1 (who holds PAYMENT_APPROVE, privileged) leaves but keeps the account.
    let leaver = edit("people.csv", |t| {
        t.replace(
            "p1,Ada Lovelace,ada.lovelace@example.com,,Finance,Controller,active,2020-01-15,",
            "p1,Ada Lovelace,ada.lovelace@example.com,,Finance,Controller,terminated,2020-01-15,2025-06-15",
        )
    });
    let outcome = env.import_ok(&env.write_snapshot("leaver", &leaver)).await;
    assert_eq!((outcome.findings.opened, outcome.findings.resolved), (1, 0));
    let open = open_findings(&env).await;
    assert!(
        open.contains(&(
            "leaver_access".into(),
            "account:erp:u1001".into(),
            Severity::Critical
        )),
        "{open:?}"
    );
    let id = finding_id("leaver_access", "account:erp:u1001");
    let row = env
        .store
        .findings(&Filter::default())
        .await
        .unwrap()
        .into_iter()
        .find(|f| f.finding_id == id)
        .unwrap();
    assert_eq!(row.detail["termination_date"], "2025-06-15");
    assert_eq!(row.owner_id.as_ref().unwrap().as_str(), "p1", "erp's owner");
    let first_seen = row.first_seen;

    // The account is disabled: resolved.
    let mut fixed = leaver.clone();
    edit_in(&mut fixed, "accounts.csv", |t| {
        t.replace("erp,u1001,p1,human,active,", "erp,u1001,p1,human,disabled,")
    });
    let outcome = env.import_ok(&env.write_snapshot("fixed", &fixed)).await;
    assert_eq!((outcome.findings.opened, outcome.findings.resolved), (0, 1));
    let resolved = env
        .store
        .findings(&Filter {
            status: Some(FindingStatus::Resolved),
            ..Filter::default()
        })
        .await
        .unwrap();
    assert_eq!(resolved.len(), 1);
    assert_eq!(
        resolved[0].resolution.as_deref(),
        Some("no longer detected")
    );

    // Enabled again: the same finding reopens, first seen as before.
    env.import_ok(&env.write_snapshot("again", &leaver)).await;
    let again = env
        .store
        .findings(&Filter::default())
        .await
        .unwrap()
        .into_iter()
        .find(|f| f.finding_id == id)
        .unwrap();
    assert_eq!(again.status, FindingStatus::Open);
    assert_eq!(again.first_seen, first_seen);
    assert!(again.opened_at >= first_seen);
    env.verify().await;
}

/// The import derives the drift detector's candidates from its diff; the
/// store's own answer, and a full re-evaluation after the commit, agree.
async fn drift_candidates_derived_by_the_import_are_the_stores(env: Env) {
    let agree = |expected: Vec<&'static str>| {
        let env = &env;
        async move {
            let mut tx = env.store.begin_write().await.unwrap();
            let mut got: Vec<String> = tx
                .unbaselined_grants()
                .await
                .unwrap()
                .into_iter()
                .map(|(s, a, e)| format!("{s}/{a}/{e}"))
                .collect();
            got.sort();
            assert_eq!(got, expected);
            let now = tx.now();
            let changes = soxctl_app::findings::evaluate(
                &mut tx,
                now,
                &soxctl_detect::hygiene::Policy::default(),
            )
            .await
            .unwrap();
            assert_eq!(changes, Default::default(), "the import's findings stand");
        }
    };
    env.import_ok(&env.write_snapshot("base", &base())).await;
    agree(vec![]).await;

    // Outside the baseline: a grant added by a later import (drift); one
    // removed goes with its interval.
    let moved = edit("grants.csv", |t| {
        t.replace(
            "erp,u1003,GL_POST,,direct",
            "erp,u1003,VENDOR_CREATE,,direct",
        )
    });
    env.import_ok(&env.write_snapshot("moved", &moved)).await;
    agree(vec!["erp/u1003/VENDOR_CREATE"]).await;
    let open = open_findings(&env).await;
    assert!(
        open.iter()
            .any(|(kind, subject, _)| kind == "drift" && subject == "grant:erp:u1003:VENDOR_CREATE"),
        "{open:?}"
    );

    // Back as the baseline had it: that grant goes, and the one given
    // again was observed by this import, not the baseline.
    env.import_ok(&env.write_snapshot("back", &base())).await;
    agree(vec!["erp/u1003/GL_POST"]).await;
}
