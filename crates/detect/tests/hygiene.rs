//! Each hygiene detector on a small hand-made inventory: what it sees, with
//! which severity and owner, and what it must not see.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use soxctl_detect::hygiene::{self, Facts, Policy};
use soxctl_model::finding::Severity;
use soxctl_model::ids::{AccountId, EntitlementId, PersonId, RoleId, SystemId};
use soxctl_model::inventory::{
    Account, AccountKind, AccountStatus, Entitlement, Grant, GrantSource, Inventory, Person,
    PersonStatus, RoleEntitlement, System,
};
use soxctl_model::time::{Date, Timestamp};
use std::collections::{BTreeMap, HashMap};

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn person(id: &str, status: PersonStatus) -> Person {
    Person {
        person_id: PersonId::parse(id).unwrap(),
        name: None,
        email: None,
        manager_id: None,
        department: None,
        title: None,
        status,
        hire_date: None,
        termination_date: (status == PersonStatus::Terminated)
            .then(|| Date::parse("2025-05-01").unwrap()),
    }
}

fn account(id: &str, person: Option<&str>, kind: AccountKind) -> Account {
    Account {
        system_id: SystemId::parse("erp").unwrap(),
        account_id: AccountId::parse(id).unwrap(),
        person_id: person.map(|p| PersonId::parse(p).unwrap()),
        kind,
        status: AccountStatus::Active,
        last_login: Some(ts("2025-05-20T00:00:00Z")),
        mfa: Some(true),
        owner_id: None,
        credential_rotated_at: None,
    }
}

fn grant(account: &str, entitlement: &str, source: GrantSource) -> Grant {
    Grant {
        system_id: SystemId::parse("erp").unwrap(),
        account_id: AccountId::parse(account).unwrap(),
        entitlement_id: EntitlementId::parse(entitlement).unwrap(),
        granted_at: None,
        source,
    }
}

/// (kind, subject, severity) of every sighting, sorted.
fn seen(
    inv: &Inventory,
    imports: &HashMap<soxctl_model::inventory::GrantKey, String>,
) -> Vec<(String, String, Severity)> {
    let baselines: BTreeMap<SystemId, String> =
        [(SystemId::parse("erp").unwrap(), "imp_base".to_owned())].into();
    let facts = Facts {
        inventory: inv,
        unbaselined: &hygiene::unbaselined(inv, imports, &baselines),
        baselines: &baselines,
        time_bound: &[],
        last_imports: &BTreeMap::new(),
        observed: &Default::default(),
        observed_at: &BTreeMap::new(),
        now: ts("2025-06-01T00:00:00Z"),
    };
    let mut out: Vec<_> = hygiene::detect(&facts, &Policy::default())
        .into_iter()
        .map(|s| (s.kind.to_owned(), s.subject, s.severity))
        .collect();
    out.sort();
    out
}

fn inventory() -> Inventory {
    let mut inv = Inventory::default();
    for p in [
        person("active", PersonStatus::Active),
        person("gone", PersonStatus::Terminated),
        person("away", PersonStatus::Leave),
    ] {
        inv.people.insert(p.person_id.clone(), p);
    }
    let erp = System {
        system_id: SystemId::parse("erp").unwrap(),
        name: "ERP".into(),
        kind: None,
        owner_id: Some(PersonId::parse("active").unwrap()),
        sox_in_scope: true,
    };
    inv.systems.insert(erp.system_id.clone(), erp);
    for (id, privileged) in [("ADMIN", true), ("VIEW", false)] {
        let e = Entitlement {
            system_id: SystemId::parse("erp").unwrap(),
            entitlement_id: EntitlementId::parse(id).unwrap(),
            name: None,
            privileged,
            owner_id: None,
            description: None,
        };
        inv.entitlements.insert(e.key(), e);
    }
    inv
}

#[test]
fn a_clean_inventory_has_no_findings() {
    let mut inv = inventory();
    let a = account("u1", Some("active"), AccountKind::Human);
    inv.accounts.insert(a.key(), a);
    let g = grant("u1", "ADMIN", GrantSource::Direct);
    let imports = [(g.key(), "imp_base".to_owned())].into();
    inv.grants.insert(g.key(), g);
    assert_eq!(seen(&inv, &imports), []);
}

#[test]
fn every_condition_is_seen_with_its_severity() {
    let mut inv = inventory();
    let mut accounts = vec![
        account("leaver", Some("gone"), AccountKind::Human),
        account("onleave", Some("away"), AccountKind::Human),
        account("orphan", None, AccountKind::Human),
        account("ghost", Some("nobody"), AccountKind::Human),
        account("shared", None, AccountKind::Shared),
    ];
    let mut nomfa = account("nomfa", Some("active"), AccountKind::Human);
    nomfa.mfa = Some(false);
    let mut idle = account("idle", Some("active"), AccountKind::Human);
    idle.last_login = Some(ts("2025-01-01T00:00:00Z"));
    let mut bot = account("bot", None, AccountKind::Service);
    bot.owner_id = Some(PersonId::parse("gone").unwrap());
    bot.credential_rotated_at = Some(ts("2024-12-01T00:00:00Z"));
    let mut disabled = account("disabled", Some("gone"), AccountKind::Human);
    disabled.status = AccountStatus::Disabled;
    accounts.extend([nomfa, idle, bot, disabled]);
    for a in accounts {
        inv.accounts.insert(a.key(), a);
    }
    let role = RoleEntitlement {
        role_id: RoleId::parse("viewer").unwrap(),
        system_id: SystemId::parse("erp").unwrap(),
        entitlement_id: EntitlementId::parse("VIEW").unwrap(),
    };
    inv.role_entitlements.insert(role.key(), role);
    let grants = [
        grant("leaver", "ADMIN", GrantSource::Direct),
        grant("shared", "ADMIN", GrantSource::Direct),
        grant("nomfa", "ADMIN", GrantSource::Direct),
        // After the baseline: drift unless a role containing it gave it.
        grant(
            "idle",
            "VIEW",
            GrantSource::Role(RoleId::parse("viewer").unwrap()),
        ),
        grant("onleave", "VIEW", GrantSource::Direct),
    ];
    let mut imports = HashMap::new();
    for g in grants {
        let baseline = !matches!(g.account_id.as_str(), "idle" | "onleave");
        if baseline {
            imports.insert(g.key(), "imp_base".to_owned());
        } else {
            imports.insert(g.key(), "imp_later".to_owned());
        }
        inv.grants.insert(g.key(), g);
    }
    let got = seen(&inv, &imports);
    let want: Vec<(String, String, Severity)> = [
        ("dormant_account", "account:erp:idle", Severity::Low),
        ("drift", "grant:erp:onleave:VIEW", Severity::Medium),
        ("leaver_access", "account:erp:leaver", Severity::Critical),
        ("leaver_access", "account:erp:onleave", Severity::Medium),
        ("nhi_owner_left", "account:erp:bot", Severity::High),
        ("nhi_stale_credential", "account:erp:bot", Severity::Medium),
        ("nhi_without_owner", "account:erp:shared", Severity::High),
        ("orphan_account", "account:erp:ghost", Severity::Medium),
        ("orphan_account", "account:erp:orphan", Severity::Medium),
        (
            "privileged_without_mfa",
            "account:erp:nomfa",
            Severity::High,
        ),
        ("shared_privileged", "account:erp:shared", Severity::High),
    ]
    .into_iter()
    .map(|(k, s, v)| (k.to_owned(), s.to_owned(), v))
    .collect();
    assert_eq!(got, want);
}

/// Idleness is measured when the system's state was observed (the
/// snapshot's extraction time), not by the clock: an account last used 30
/// days before an extraction 100 days ago is not dormant because time
/// passed since. A system never imported is judged now. Findings are first
/// seen at the observation time.
#[test]
fn idleness_is_measured_at_the_observation_time() {
    let mut inv = Inventory::default();
    inv.people.insert(
        PersonId::parse("p1").unwrap(),
        person("p1", PersonStatus::Active),
    );
    let used = Account {
        last_login: Some(ts("2025-01-21T00:00:00Z")),
        ..account("u1", Some("p1"), AccountKind::Human)
    };
    inv.accounts
        .insert((used.system_id.clone(), used.account_id.clone()), used);
    let erp = SystemId::parse("erp").unwrap();
    let judge = |observed_at: &BTreeMap<SystemId, Timestamp>| {
        let facts = Facts {
            inventory: &inv,
            unbaselined: &Default::default(),
            baselines: &BTreeMap::new(),
            time_bound: &[],
            last_imports: &BTreeMap::new(),
            observed: &Default::default(),
            observed_at,
            now: ts("2025-06-01T00:00:00Z"),
        };
        hygiene::detect(&facts, &Policy::default())
    };
    let observed = [(erp.clone(), ts("2025-02-20T00:00:00Z"))].into();
    assert!(
        judge(&observed).is_empty(),
        "30 idle days at the extraction"
    );
    let now = judge(&BTreeMap::new());
    assert_eq!(now.len(), 1, "131 idle days now: {now:?}");
    assert_eq!(now[0].kind, "dormant_account");
    assert_eq!(now[0].seen_at, Some(ts("2025-06-01T00:00:00Z")));
    let later = [(erp, ts("2025-05-31T00:00:00Z"))].into();
    let dated = judge(&later);
    assert_eq!(dated[0].seen_at, Some(ts("2025-05-31T00:00:00Z")));
}
