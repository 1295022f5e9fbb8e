//! Hygiene findings through imports: opened by `finding.opened` events when
//! a condition appears, resolved when it goes, reopened with its history
//! when it comes back; all replayed by verify.

use crate::helpers::*;
use soxctl_model::finding::{FindingStatus, Severity, finding_id};
use soxctl_store::findings::Filter;

on_both_backends!(findings_open_resolve_and_reopen_with_imports);

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
