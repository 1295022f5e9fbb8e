//! Temporal history through imports: intervals on the snapshot's clock,
//! point-in-time answers, "unknown" before a system's first import, a
//! person's changes between two instants, and correlation rules.

use crate::helpers::*;
use soxctl_app::ingest::ImportOptions;
use soxctl_connectors::correlate::Rules;
use soxctl_model::history::{ChangeKind, Coverage};
use soxctl_model::ids::{EntitlementRef, PersonId};

on_both_backends!(
    point_in_time_answers_follow_the_snapshots_clock,
    a_persons_changes_between_two_instants,
    uncorrelated_accounts_link_by_rules,
);

fn manifest_at(files: &mut [(&'static str, String)], at: &str) {
    edit_in(files, "manifest.toml", |_| {
        format!("source = \"hr\"\nextracted_at = \"{at}\"\n")
    });
}

fn eref(s: &str) -> EntitlementRef {
    EntitlementRef::parse(s).unwrap()
}

fn holders(w: &soxctl_store::history::WhoHas) -> Vec<String> {
    w.holdings
        .iter()
        .map(|h| {
            let who = h.person_id.as_ref().map_or("-", |p| p.as_str());
            format!("{}:{who}", h.account_id)
        })
        .collect()
}

async fn point_in_time_answers_follow_the_snapshots_clock(env: Env) {
    // March: the base snapshot. May: u1002 (p2) loses VENDOR_CREATE and
    // gains PAYMENT_APPROVE; b-02 is disabled.
    let mut march = base();
    manifest_at(&mut march, "2025-03-31T18:00:00Z");
    env.import_ok(&env.write_snapshot("march", &march)).await;
    let mut may = march.clone();
    manifest_at(&mut may, "2025-05-15T12:00:00Z");
    edit_in(&mut may, "grants.csv", |g| {
        g.replace(
            "erp,u1002,VENDOR_CREATE,2024-02-01T00:00:00Z,role:AP_CLERK\n",
            "erp,u1002,PAYMENT_APPROVE,,direct\n",
        )
    });
    edit_in(&mut may, "accounts.csv", |a| {
        a.replace("bank,b-02,p2,human,active,", "bank,b-02,p2,human,disabled,")
    });
    env.import_ok(&env.write_snapshot("may", &may)).await;
    let store = &env.store;

    let approve = eref("erp:PAYMENT_APPROVE");
    let now = store.who_has(&approve, None).await.unwrap();
    assert_eq!(holders(&now), ["u1001:p1", "u1002:p2"]);
    let april = store
        .who_has(&approve, Some(ts("2025-04-30T00:00:00Z")))
        .await
        .unwrap();
    assert_eq!(holders(&april), ["u1001:p1"]);
    assert!(april.coverage.is_known());
    // At the exact instant of the May snapshot the new grant holds.
    let at_may = store
        .who_has(&approve, Some(ts("2025-05-15T12:00:00Z")))
        .await
        .unwrap();
    assert_eq!(holders(&at_may), ["u1001:p1", "u1002:p2"]);

    // Before the first import: unknown, not nobody.
    let before = store
        .who_has(&approve, Some(ts("2025-01-01T00:00:00Z")))
        .await
        .unwrap();
    assert!(before.holdings.is_empty());
    assert_eq!(
        before.coverage,
        Coverage::Unknown {
            since: Some(ts("2025-03-31T18:00:00Z"))
        }
    );

    // What p2 could do in April, and now.
    let p2 = PersonId::parse("p2").unwrap();
    let april = store
        .access_of(&p2, Some(ts("2025-04-01T00:00:00Z")))
        .await
        .unwrap();
    let held: Vec<String> = april
        .holdings
        .iter()
        .map(|h| format!("{}:{}", h.system_id, h.entitlement_id))
        .collect();
    assert_eq!(held, ["bank:VIEW", "erp:VENDOR_CREATE"]);
    assert!(april.unknown_systems.is_empty());
    let now = store.access_of(&p2, None).await.unwrap();
    let statuses: Vec<String> = now
        .holdings
        .iter()
        .map(|h| {
            format!(
                "{}:{}:{:?}",
                h.system_id, h.entitlement_id, h.account_status
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            "bank:VIEW:Some(Disabled)",
            "erp:PAYMENT_APPROVE:Some(Active)"
        ]
    );
    let january = store
        .access_of(&p2, Some(ts("2025-01-01T00:00:00Z")))
        .await
        .unwrap();
    assert!(january.holdings.is_empty());
    assert_eq!(january.unknown_systems.len(), 2);

    let unknown = store.who_has(&eref("nosuch:X"), None).await.unwrap_err();
    assert!(
        unknown.to_string().contains("no system 'nosuch'"),
        "{unknown}"
    );

    // History rows are state: verify rebuilds and compares them.
    env.verify().await;
}

async fn a_persons_changes_between_two_instants(env: Env) {
    let mut march = base();
    manifest_at(&mut march, "2025-03-31T18:00:00Z");
    env.import_ok(&env.write_snapshot("march", &march)).await;
    let mut may = march.clone();
    manifest_at(&mut may, "2025-05-15T12:00:00Z");
    edit_in(&mut may, "grants.csv", |g| {
        g.replace(
            "erp,u1002,VENDOR_CREATE,2024-02-01T00:00:00Z,role:AP_CLERK\n",
            "erp,u1002,PAYMENT_APPROVE,,direct\n",
        )
    });
    let outcome = env.import_ok(&env.write_snapshot("may", &may)).await;
    let may_import = outcome.import_id.unwrap();

    let p2 = PersonId::parse("p2").unwrap();
    let all = env
        .store
        .history_of(&p2, ts("2025-01-01T00:00:00Z"), ts("2025-12-31T00:00:00Z"))
        .await
        .unwrap();
    let lines: Vec<String> = all
        .iter()
        .map(|c| {
            format!(
                "{} {} {}:{}",
                c.at,
                c.change.as_str(),
                c.system_id,
                c.entitlement_id.as_ref().map_or("", |e| e.as_str())
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            "2025-03-31T18:00:00.000000Z account_linked bank:",
            "2025-03-31T18:00:00.000000Z account_linked erp:",
            "2025-03-31T18:00:00.000000Z granted bank:VIEW",
            "2025-03-31T18:00:00.000000Z granted erp:VENDOR_CREATE",
            "2025-05-15T12:00:00.000000Z granted erp:PAYMENT_APPROVE",
            "2025-05-15T12:00:00.000000Z revoked erp:VENDOR_CREATE",
        ]
    );
    let granted = all
        .iter()
        .find(|c| c.change == ChangeKind::Granted && c.at == ts("2025-05-15T12:00:00Z"))
        .unwrap();
    assert_eq!(granted.recorded_by, "system:import");
    assert_eq!(granted.import_id.as_deref(), Some(may_import.as_str()));

    let window = env
        .store
        .history_of(&p2, ts("2025-04-01T00:00:00Z"), ts("2025-06-01T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(window.len(), 2);
    let backwards = env
        .store
        .history_of(&p2, ts("2025-06-01T00:00:00Z"), ts("2025-04-01T00:00:00Z"))
        .await
        .unwrap_err();
    assert!(
        backwards.to_string().contains("before it starts"),
        "{backwards}"
    );
}

async fn uncorrelated_accounts_link_by_rules(env: Env) {
    // Okta-style account ids are emails; the CSV names no person.
    let files = edit("accounts.csv", |a| {
        format!(
            "{a}erp,Alan.Turing@example.com,,human,active,,\nerp,nobody@example.com,,human,active,,\n"
        )
    });
    let rules = Rules::parse(
        "[[correlate]]\nsystem = \"erp\"\naccount = \"account_id\"\nperson = \"email\"\n",
    )
    .unwrap();
    let options = ImportOptions {
        correlation: rules,
        ..ImportOptions::default()
    };
    env.import(&env.write_snapshot("okta", &files), &options)
        .await
        .unwrap();
    let inv = env.inventory().await;
    let person = |account: &str| {
        inv.accounts
            .values()
            .find(|a| a.account_id.as_str() == account)
            .unwrap()
            .person_id
            .clone()
    };
    assert_eq!(
        person("Alan.Turing@example.com"),
        Some(PersonId::parse("p3").unwrap())
    );
    assert_eq!(person("nobody@example.com"), None);
    env.verify().await;
}
