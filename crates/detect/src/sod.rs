//! Segregation of duties as a detector: the store's facts as an SoD
//! dataset (now, or from the temporal history for an instant or a window),
//! and violations as sightings of `sod_violation` findings.

use crate::reconcile::Sighting;
use soxctl_model::finding::Detail;
use soxctl_model::inventory::{AccountKind, AccountStatus, Inventory};
use soxctl_model::projection::{AccountIntervalRow, GrantIntervalRow};
use soxctl_sod::{AccountSpec, Dataset, DatasetBuilder, DatasetError, Interval, Violation};
use std::collections::BTreeMap;

pub const SOD_VIOLATION: &str = "sod_violation";

fn kind(k: AccountKind) -> soxctl_sod::AccountKind {
    match k {
        AccountKind::Human => soxctl_sod::AccountKind::Human,
        AccountKind::Service => soxctl_sod::AccountKind::Service,
        AccountKind::Shared => soxctl_sod::AccountKind::Shared,
    }
}

/// Adds the time-bound grants in force at `now` (approved requests,
/// break-glass) to the inventory's grants, on accounts it knows: DESIGN A6
/// counts a time-bound grant during its window.
pub fn overlay_time_bound(
    inventory: &mut Inventory,
    grants: &[soxctl_model::request::AccessGrantRow],
    now: soxctl_model::time::Timestamp,
) {
    use soxctl_model::inventory::{Grant, GrantSource};
    for g in grants.iter().filter(|g| g.active_at(now)) {
        if !inventory
            .accounts
            .contains_key(&(g.system_id.clone(), g.account_id.clone()))
        {
            continue;
        }
        let grant = Grant {
            system_id: g.system_id.clone(),
            account_id: g.account_id.clone(),
            entitlement_id: g.entitlement_id.clone(),
            granted_at: Some(g.starts_at),
            source: GrantSource::Direct,
        };
        inventory.grants.entry(grant.key()).or_insert(grant);
    }
}

/// The inventory as it is now: every account and grant, no intervals.
pub fn dataset_now(inv: &Inventory) -> Result<Dataset, DatasetError> {
    let mut b = DatasetBuilder::new();
    for e in inv.entitlements.values() {
        b.entitlement(e.system_id.as_str(), e.entitlement_id.as_str());
    }
    for a in inv.accounts.values() {
        b.account(AccountSpec {
            system: a.system_id.as_str(),
            account: a.account_id.as_str(),
            person: a.person_id.as_ref().map(|p| p.as_str()),
            kind: kind(a.kind),
            active: a.status == AccountStatus::Active,
        })?;
    }
    for g in inv.grants.values() {
        b.grant(
            g.system_id.as_str(),
            g.account_id.as_str(),
            g.entitlement_id.as_str(),
            Interval::ALWAYS,
        )?;
    }
    Ok(b.build())
}

/// The facts of `[from, to]` from the temporal history: each active version
/// of an account with the grants it held while it was that version. An
/// account that changed owner or kind inside the window appears once per
/// owner, the later ones as `<account>~<n>`, so each owner is judged on
/// what they held.
pub fn dataset_history(
    accounts: &[AccountIntervalRow],
    grants: &[GrantIntervalRow],
    entitlements: impl IntoIterator<Item = (String, String)>,
    as_of: Option<i64>,
) -> Result<Dataset, DatasetError> {
    let mut b = DatasetBuilder::new();
    for (system, entitlement) in entitlements {
        b.entitlement(&system, &entitlement);
    }
    if let Some(t) = as_of {
        b.as_of(t);
    }
    // Per account: its active versions (owner and kind, from, to).
    type Owner = (Option<String>, AccountKind);
    type Version = (Owner, i64, Option<i64>);
    let mut versions: BTreeMap<(&str, &str), Vec<Version>> = BTreeMap::new();
    for a in accounts {
        if a.status != AccountStatus::Active {
            continue;
        }
        versions
            .entry((a.system_id.as_str(), a.account_id.as_str()))
            .or_default()
            .push((
                (a.person_id.as_ref().map(|p| p.to_string()), a.kind),
                a.valid_from.micros(),
                a.valid_to.map(|t| t.micros()),
            ));
    }
    let mut names: BTreeMap<(&str, &str, Owner), String> = BTreeMap::new();
    for ((system, account), list) in &versions {
        for (owner, _, _) in list {
            let key = (*system, *account, owner.clone());
            if names.contains_key(&key) {
                continue;
            }
            let n = names
                .keys()
                .filter(|(s, a, _)| s == system && a == account)
                .count();
            let name = if n == 0 {
                (*account).to_owned()
            } else {
                format!("{account}~{}", n + 1)
            };
            b.account(AccountSpec {
                system,
                account: &name,
                person: owner.0.as_deref(),
                kind: kind(owner.1),
                active: true,
            })?;
            names.insert(key, name);
        }
    }
    for g in grants {
        let key = (g.system_id.as_str(), g.account_id.as_str());
        let Some(list) = versions.get(&key) else {
            continue;
        };
        let (gfrom, gto) = (g.valid_from.micros(), g.valid_to.map(|t| t.micros()));
        for (owner, vfrom, vto) in list {
            let from = gfrom.max(*vfrom);
            let to = match (gto, vto) {
                (Some(a), Some(b)) => Some(a.min(*b)),
                (a, b) => a.or(*b),
            };
            if to.is_some_and(|to| to <= from) {
                continue;
            }
            let name = &names[&(key.0, key.1, owner.clone())];
            b.grant(
                key.0,
                name,
                g.entitlement_id.as_str(),
                Interval::new(Some(from), to),
            )?;
        }
    }
    Ok(b.build())
}

/// The roles of the inventory, for role analysis.
pub fn roles(inv: &Inventory) -> Vec<soxctl_sod::roles::Role> {
    let mut roles: BTreeMap<&str, Vec<String>> =
        inv.roles.keys().map(|r| (r.as_str(), Vec::new())).collect();
    for re in inv.role_entitlements.values() {
        roles
            .entry(re.role_id.as_str())
            .or_default()
            .push(format!("{}:{}", re.system_id, re.entitlement_id));
    }
    roles
        .into_iter()
        .map(|(id, entitlements)| soxctl_sod::roles::Role {
            id: id.to_owned(),
            entitlements,
        })
        .collect()
}

/// The subject of a violation's finding.
pub fn subject(risk_id: &str, identity: &str) -> String {
    format!("risk:{risk_id}:{identity}")
}

/// Violations as sightings: ids and references only, owner the identity's
/// manager when the caller knows it.
pub fn sightings(
    violations: &[Violation],
    owner: impl Fn(&str) -> Option<soxctl_model::ids::PersonId>,
) -> Vec<Sighting> {
    violations
        .iter()
        .map(|v| {
            let mut detail = Detail::new();
            detail.insert("risk_id".into(), v.risk_id.clone());
            detail.insert("identity".into(), v.identity.clone());
            for f in &v.functions {
                let held: Vec<String> = f
                    .held_by
                    .iter()
                    .map(|e| format!("{} via {}", e.entitlement, e.account))
                    .collect();
                detail.insert(format!("function:{}", f.function_id), held.join(", "));
            }
            let functions: Vec<&str> = v.functions.iter().map(|f| f.function_id.as_str()).collect();
            Sighting {
                kind: SOD_VIOLATION,
                subject: subject(&v.risk_id, &v.identity),
                severity: v.severity,
                summary: format!(
                    "{} holds {} ({})",
                    v.identity,
                    functions.join(" + "),
                    v.risk_name.as_deref().unwrap_or(&v.risk_id)
                ),
                detail,
                owner_id: owner(&v.identity),
                control_ids: vec![format!("SOD-{}", v.risk_id)],
                seen_at: None,
            }
        })
        .collect()
}

/// Why a simulation could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error("{0}: give system_id:entitlement_id")]
    Reference(String),
    #[error("{0}")]
    Id(#[from] soxctl_model::ids::IdError),
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Analyze(#[from] soxctl_sod::AnalyzeError),
}

/// The violations that time-bound grants of `additions` to `person` during
/// [from, to) (µs) would create at some instant of that window, beyond
/// those it has already: the window analysis with the grants, minus the one
/// without. The grants go to a new account of the person in each system.
pub fn simulate_window(
    rules: &soxctl_sod::RuleSet,
    inventory: &Inventory,
    person: &str,
    additions: &[String],
    from: i64,
    to: i64,
) -> Result<Vec<Violation>, SimulateError> {
    use soxctl_model::ids::{AccountId, EntitlementRef, PersonId};
    use soxctl_model::inventory::{Account, Grant, GrantSource};
    let base = dataset_now(inventory)?;
    let (compiled, _) = soxctl_sod::Compiled::compile(rules, base.catalogue());
    let before: std::collections::BTreeSet<(String, String)> =
        soxctl_sod::analyze_window(&compiled, &base, from, to)?
            .into_iter()
            .map(|w| (w.violation.risk_id, w.violation.identity))
            .collect();
    let person_id = PersonId::parse(person)?;
    let account = AccountId::parse(format!("{person}(simulated)"))?;
    let mut accounts = Vec::new();
    let mut grants = Vec::new();
    for addition in additions {
        let r = EntitlementRef::parse(addition)
            .map_err(|_| SimulateError::Reference(addition.clone()))?;
        accounts.push(Account {
            system_id: r.system.clone(),
            account_id: account.clone(),
            person_id: Some(person_id.clone()),
            kind: AccountKind::Human,
            status: AccountStatus::Active,
            last_login: None,
            mfa: None,
            owner_id: None,
            credential_rotated_at: None,
        });
        grants.push(Grant {
            system_id: r.system,
            account_id: account.clone(),
            entitlement_id: r.entitlement,
            granted_at: None,
            source: GrantSource::Direct,
        });
    }
    // The base facts, plus the new accounts with their time-bound grants.
    let mut b = DatasetBuilder::new();
    for e in inventory.entitlements.values() {
        b.entitlement(e.system_id.as_str(), e.entitlement_id.as_str());
    }
    for a in inventory.accounts.values().chain(accounts.iter()) {
        let spec = AccountSpec {
            system: a.system_id.as_str(),
            account: a.account_id.as_str(),
            person: a.person_id.as_ref().map(|p| p.as_str()),
            kind: kind(a.kind),
            active: a.status == AccountStatus::Active,
        };
        // One simulated account per system, however many grants it gets.
        match b.account(spec) {
            Ok(()) | Err(DatasetError::DuplicateAccount { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    for g in inventory.grants.values() {
        b.grant(
            g.system_id.as_str(),
            g.account_id.as_str(),
            g.entitlement_id.as_str(),
            Interval::ALWAYS,
        )?;
    }
    for g in &grants {
        b.grant(
            g.system_id.as_str(),
            g.account_id.as_str(),
            g.entitlement_id.as_str(),
            Interval::new(Some(from), Some(to)),
        )?;
    }
    let after = b.build();
    let (compiled, _) = soxctl_sod::Compiled::compile(rules, after.catalogue());
    Ok(soxctl_sod::analyze_window(&compiled, &after, from, to)?
        .into_iter()
        .map(|w| w.violation)
        .filter(|v| {
            v.identity == person && !before.contains(&(v.risk_id.clone(), v.identity.clone()))
        })
        .collect())
}
