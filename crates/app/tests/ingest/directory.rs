//! A snapshot made from a directory (`soxctl sync ldap`): its accounts carry
//! no person id but hints (email, login, employee id) that the correlation
//! rules match inside the import's transaction, and the store's role
//! entitlements of its system stay, since a directory knows no roles.

use crate::helpers::*;
use soxctl_app::ingest::ImportOptions;
use soxctl_connectors::correlate::{AccountHints, Rules};
use soxctl_connectors::snapshot::{self, Snapshot};
use soxctl_model::ids::{AccountId, SystemId};
use soxctl_model::reconcile::{ChangeKind, Fact};
use std::collections::BTreeSet;

on_both_backends!(directory_snapshots_correlate_by_hints_and_keep_role_entitlements);

/// The erp system of `base()` as a directory reports it.
fn erp_from_a_directory(env: &Env) -> Snapshot {
    let mut snap = snapshot::read(&env.write_snapshot("directory", &base())).unwrap();
    let erp = SystemId::parse("erp").unwrap();
    let inv = &mut snap.inventory;
    inv.people.clear();
    inv.roles.clear();
    inv.role_entitlements.clear();
    inv.systems.retain(|id, _| *id == erp);
    inv.entitlements.retain(|k, _| k.0 == erp);
    inv.grants.retain(|k, _| k.0 == erp);
    inv.accounts.retain(|k, _| k.0 == erp);
    for account in inv.accounts.values_mut() {
        account.person_id = None;
    }
    snap.scope = BTreeSet::from([erp.clone()]);
    snap.keeps_role_entitlements = true;
    let hint =
        |id: &str, hints: AccountHints| ((erp.clone(), AccountId::parse(id).unwrap()), hints);
    snap.account_hints = [
        // By email, ignoring case.
        hint(
            "u1001",
            AccountHints {
                email: Some("ADA.Lovelace@example.com".into()),
                ..Default::default()
            },
        ),
        // By employee id = person id (the second rule).
        hint(
            "u1002",
            AccountHints {
                email: Some("someone-else@example.com".into()),
                employee_id: Some("p2".into()),
                ..Default::default()
            },
        ),
        // u1003: nothing matches, so it becomes an orphan.
        hint(
            "u1003",
            AccountHints {
                login: Some("alan".into()),
                ..Default::default()
            },
        ),
    ]
    .into_iter()
    .collect();
    snap
}

async fn directory_snapshots_correlate_by_hints_and_keep_role_entitlements(env: Env) {
    env.import_ok(&env.write_snapshot("base", &base())).await;
    let before_inventory = env.inventory().await;
    let snap = erp_from_a_directory(&env);
    let options = ImportOptions {
        correlation: Rules::parse(
            "[[correlate]]\naccount = \"email\"\nperson = \"email\"\n\n\
             [[correlate]]\naccount = \"employee_id\"\nperson = \"person_id\"\n",
        )
        .unwrap(),
        ..Default::default()
    };

    // Without keeping them, the erp role entitlements would go.
    let mut forgetful = snap.clone();
    forgetful.keeps_role_entitlements = false;
    let dry = soxctl_app::ingest::import(
        &env.store,
        &forgetful,
        &ImportOptions {
            dry_run: true,
            ..options.clone()
        },
    )
    .await
    .unwrap();
    let removed_roles = dry
        .diff
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Removed && matches!(c.fact, Fact::RoleEntitlement(_)))
        .count();
    assert_eq!(removed_roles, 2, "{:?}", dry.diff);

    let before = env.size().await;
    let outcome = soxctl_app::ingest::import(&env.store, &snap, &options)
        .await
        .unwrap();
    let events = env.events_since(before).await;
    // Only u1003 changed: it lost its person; u1001 and u1002 correlated back.
    assert_eq!(
        kinds(&events),
        counts(&[("account.changed", 1), ("import.completed", 1)]),
        "{events:#?}"
    );
    let (_, changed) = &events[0];
    assert_eq!(changed["account"]["account_id"], "u1003");
    assert_eq!(changed["account"]["person_id"], serde_json::Value::Null);
    assert_eq!(outcome.events, 2);
    let after = env.inventory().await;
    assert_eq!(after.role_entitlements, before_inventory.role_entitlements);
    // Again: nothing to record.
    let again = soxctl_app::ingest::import(&env.store, &snap, &options)
        .await
        .unwrap();
    assert_eq!(again.events, 0, "{:?}", again.diff);
    env.verify().await;
}
