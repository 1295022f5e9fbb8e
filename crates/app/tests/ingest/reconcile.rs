//! What an import writes: everything the first time, nothing the second,
//! exactly the differences afterwards, and only within its scope.

use crate::helpers::*;
use soxctl_model::ids::{PersonId, SystemId};
use soxctl_model::inventory::Inventory;

on_both_backends!(
    first_import_records_everything_and_second_nothing,
    changed_snapshot_records_exactly_the_differences,
    systems_outside_the_scope_are_untouched,
    personal_data_is_sealed_in_the_ledger,
);

async fn first_import_records_everything_and_second_nothing(env: Env) {
    let mut files = base();
    files.push(("README.txt", "not part of the format".into()));
    let dir = env.write_snapshot("base", &files);
    let before = env.size().await;

    let outcome = env.import_ok(&dir).await;
    let import_id = outcome.import_id.clone().expect("import id");
    let receipt = outcome.receipt.expect("receipt");
    assert_eq!(outcome.events, 32);
    // The hygiene detectors see svc-batch, a service account with no owner.
    assert_eq!((outcome.findings.opened, outcome.findings.resolved), (1, 0));
    assert_eq!((receipt.size, receipt.appended), (before + 33, 33));
    assert_eq!(env.size().await, before + 33);

    let events = env.events_since(before).await;
    assert_eq!(
        kinds(&events),
        counts(&[
            ("person.added", 4),
            ("system.added", 2),
            ("entitlement.added", 5),
            ("account.added", 6),
            ("grant.added", 8),
            ("role.added", 2),
            ("role_entitlement.added", 2),
            ("system.baselined", 2),
            ("import.completed", 1),
        ])
    );
    for (kind, payload) in &events[..events.len() - 1] {
        if kind != "system.baselined" {
            assert_eq!(payload["import_id"], import_id.as_str(), "{kind}");
            assert_eq!(payload["as_of"], "2025-06-30T17:00:00.000000Z", "{kind}");
        }
    }
    let (kind, summary) = events.last().unwrap();
    assert_eq!(kind, "import.completed");
    assert_eq!(summary["events"], 31);
    assert_eq!(summary["source"], "hr-and-erp-export");
    assert_eq!(summary["systems"], serde_json::json!(["bank", "erp"]));

    let inv = env.inventory().await;
    assert_eq!(
        (
            inv.people.len(),
            inv.systems.len(),
            inv.entitlements.len(),
            inv.accounts.len(),
            inv.grants.len()
        ),
        (4, 2, 5, 6, 8)
    );
    assert_eq!((inv.roles.len(), inv.role_entitlements.len()), (2, 2));
    env.verify().await;

    // The same snapshot again: nothing to record, not even an import.completed.
    let again = env.import_ok(&dir).await;
    assert_eq!(again.events, 0);
    assert!(again.diff.is_empty(), "{:?}", again.diff);
    assert!(again.import_id.is_none() && again.receipt.is_none());
    assert_eq!(env.size().await, before + 33);
    assert_eq!(env.inventory().await, inv);
    env.verify().await;
}

async fn changed_snapshot_records_exactly_the_differences(env: Env) {
    env.import_ok(&env.write_snapshot("base", &base())).await;
    let before = env.size().await;

    let mut files = base();
    edit_in(&mut files, "people.csv", |t| {
        // p2 changes title, p3 is left out (never deleted by omission), p5 joins.
        t.replace("Finance,AP Clerk,", "Finance,AP Lead,").replace(
            "p3,Alan Turing,alan.turing@example.com,p1,IT,Engineer,active,2019-07-01,\n",
            "",
        ) + "p5,Barbara Liskov,barbara.liskov@example.com,p1,Finance,Analyst,active,2025-06-15,\n"
    });
    edit_in(&mut files, "entitlements.csv", |t| {
        t.replace(
            "VENDOR_CREATE,Create vendors,false",
            "VENDOR_CREATE,Create vendors,true",
        )
    });
    edit_in(&mut files, "accounts.csv", |t| {
        t.replace(
            "u1002,p2,human,active,2025-06-02T09:00:00Z,false",
            "u1002,p2,human,active,2025-06-02T09:00:00Z,true",
        ) + "erp,u1005,p5,human,active,,true\n"
    });
    edit_in(&mut files, "grants.csv", |t| {
        // One of erp's five grants goes: exactly the 20% the guard allows.
        t.replace("erp,u1003,GL_POST,,direct\n", "")
            + "erp,u1005,VENDOR_CREATE,2025-06-20T00:00:00Z,direct\n"
    });
    let outcome = env.import_ok(&env.write_snapshot("changed", &files)).await;
    assert_eq!(outcome.events, 8);

    let events = env.events_since(before).await;
    assert_eq!(
        kinds(&events),
        counts(&[
            ("person.changed", 1),
            ("person.added", 1),
            ("entitlement.changed", 1),
            ("account.changed", 1),
            ("account.added", 1),
            ("grant.added", 1),
            ("grant.removed", 1),
            ("import.completed", 1),
        ])
    );
    let find = |kind: &str| &events.iter().find(|(k, _)| k == kind).unwrap().1;
    assert_eq!(find("person.changed")["person"]["person_id"], "p2");
    assert_eq!(
        find("person.changed")["changed"],
        serde_json::json!(["title"])
    );
    assert_eq!(find("person.added")["person"]["person_id"], "p5");
    assert_eq!(
        find("entitlement.changed")["changed"],
        serde_json::json!(["privileged"])
    );
    assert_eq!(
        find("account.changed")["changed"],
        serde_json::json!(["mfa"])
    );
    assert_eq!(find("account.added")["account"]["account_id"], "u1005");
    assert_eq!(find("grant.removed")["grant"]["account_id"], "u1003");
    assert_eq!(find("grant.added")["grant"]["account_id"], "u1005");
    // Removals come last, after everything they could depend on.
    assert_eq!(events[events.len() - 2].0, "grant.removed");

    let inv = env.inventory().await;
    let p3 = PersonId::parse("p3").unwrap();
    assert_eq!(inv.people.len(), 5, "people are never deleted by omission");
    assert_eq!(inv.people[&p3].name.as_deref(), Some("Alan Turing"));
    assert_eq!(
        inv.people[&PersonId::parse("p2").unwrap()].title.as_deref(),
        Some("AP Lead")
    );
    assert_eq!(inv.grants.len(), 8);
    env.verify().await;

    // And importing the changed snapshot again records nothing.
    assert_eq!(env.import_ok(&env.snapshot_dir("changed")).await.events, 0);
}

fn of_system(inv: &Inventory, system: &SystemId) -> String {
    format!(
        "{:?} {:?} {:?} {:?}",
        inv.systems.get(system),
        inv.entitlements
            .iter()
            .filter(|(k, _)| &k.0 == system)
            .collect::<Vec<_>>(),
        inv.accounts
            .iter()
            .filter(|(k, _)| &k.0 == system)
            .collect::<Vec<_>>(),
        inv.grants
            .iter()
            .filter(|(k, _)| &k.0 == system)
            .collect::<Vec<_>>(),
    )
}

async fn systems_outside_the_scope_are_untouched(env: Env) {
    env.import_ok(&env.write_snapshot("base", &base())).await;
    let bank = SystemId::parse("bank").unwrap();
    let before_inv = env.inventory().await;
    let before = env.size().await;

    // An erp-only export: bank is described (renamed, even) but not in scope,
    // and only one person is listed.
    let keep = |t: &str, prefix: &str| {
        t.lines()
            .filter(|l| !l.starts_with(prefix))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    };
    let files = vec![
        (
            "manifest.toml",
            "source = \"erp-export\"\nsystems = [\"erp\"]\n".to_string(),
        ),
        (
            "people.csv",
            PEOPLE.lines().take(2).map(|l| format!("{l}\n")).collect(),
        ),
        (
            "systems.csv",
            SYSTEMS.replace("Banking portal", "Renamed bank"),
        ),
        ("entitlements.csv", keep(ENTITLEMENTS, "bank,")),
        (
            "accounts.csv",
            keep(ACCOUNTS, "bank,")
                .replace("erp,u1001,p1,human,active", "erp,u1001,p1,human,disabled"),
        ),
        ("grants.csv", keep(GRANTS, "bank,")),
        ("role_entitlements.csv", ROLE_ENTITLEMENTS.into()),
    ];
    let outcome = env.import_ok(&env.write_snapshot("erp-only", &files)).await;
    let events = env.events_since(before).await;
    assert_eq!(
        kinds(&events),
        counts(&[("account.changed", 1), ("import.completed", 1)])
    );
    assert_eq!(outcome.events, 2);
    assert_eq!(events[1].1["systems"], serde_json::json!(["erp"]));
    assert!(
        outcome
            .diff
            .grant_removals
            .keys()
            .all(|s| s.as_str() == "erp")
    );

    let after = env.inventory().await;
    assert_eq!(of_system(&after, &bank), of_system(&before_inv, &bank));
    assert_eq!(
        after.people, before_inv.people,
        "people left out of the export are kept as they were"
    );
    assert_eq!(after.roles, before_inv.roles);
    env.verify().await;
}

/// Names and emails go into the ledger sealed; the people table has them.
async fn personal_data_is_sealed_in_the_ledger(env: Env) {
    env.import_ok(&env.write_snapshot("base", &base())).await;
    env.import_ok(&env.write_snapshot(
        "changed",
        &edit("people.csv", |t| t.replace("AP Clerk", "AP Lead")),
    ))
    .await;
    let entries = env.entry_bytes().await;
    for datum in PERSONAL_DATA {
        for (seq, bytes) in entries.iter().enumerate() {
            assert!(
                !contains(bytes, datum),
                "entry {seq} holds '{datum}' in plaintext"
            );
        }
    }
    let sealed = env
        .events_since(0)
        .await
        .into_iter()
        .filter(|(k, _)| k.starts_with("person."))
        .count();
    assert_eq!(sealed, 5);
    let inv = env.inventory().await;
    let p1 = &inv.people[&PersonId::parse("p1").unwrap()];
    assert_eq!(p1.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(p1.email.as_deref(), Some("ada.lovelace@example.com"));
    env.verify().await;
}
