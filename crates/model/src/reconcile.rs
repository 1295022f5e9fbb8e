//! Reconciliation: the events that turn the stored inventory into a
//! snapshot's, within the snapshot's scope. Pure, so that `--dry-run`, tests
//! and the real import compute exactly the same diff.

use crate::ids::SystemId;
use crate::inventory::{
    Account, Entitlement, Grant, Inventory, Person, Role, RoleEntitlement, System,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Changed,
    Removed,
}

/// One changed fact, before personal data is sealed into an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum Fact {
    Person(Person),
    System(System),
    Entitlement(Entitlement),
    Account(Account),
    Grant(Grant),
    Role(Role),
    RoleEntitlement(RoleEntitlement),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub kind: ChangeKind,
    /// For `changed`: the fields that differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
    #[serde(flatten)]
    pub fact: Fact,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    pub changes: Vec<Change>,
    /// Systems of the scope imported for the first time: their baseline.
    pub new_baselines: Vec<SystemId>,
    /// Per system of the scope: (grants held before, grants the diff removes).
    pub grant_removals: BTreeMap<SystemId, (usize, usize)>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.new_baselines.is_empty()
    }

    /// Applies the changes to `inventory` in memory: the inventory the store
    /// holds once the diff's events are recorded.
    pub fn apply_to(&self, inventory: &mut Inventory) {
        for change in &self.changes {
            let removed = change.kind == ChangeKind::Removed;
            match &change.fact {
                Fact::Person(p) => {
                    inventory.people.insert(p.person_id.clone(), p.clone());
                }
                Fact::System(x) => {
                    inventory.systems.insert(x.system_id.clone(), x.clone());
                }
                Fact::Entitlement(e) if removed => {
                    inventory.entitlements.remove(&e.key());
                }
                Fact::Entitlement(e) => {
                    inventory.entitlements.insert(e.key(), e.clone());
                }
                Fact::Account(a) if removed => {
                    inventory.accounts.remove(&a.key());
                }
                Fact::Account(a) => {
                    inventory.accounts.insert(a.key(), a.clone());
                }
                Fact::Grant(g) if removed => {
                    inventory.grants.remove(&g.key());
                }
                Fact::Grant(g) => {
                    inventory.grants.insert(g.key(), g.clone());
                }
                Fact::Role(r) if removed => {
                    inventory.roles.remove(&r.role_id);
                }
                Fact::Role(r) => {
                    inventory.roles.insert(r.role_id.clone(), r.clone());
                }
                Fact::RoleEntitlement(r) if removed => {
                    inventory.role_entitlements.remove(&r.key());
                }
                Fact::RoleEntitlement(r) => {
                    inventory.role_entitlements.insert(r.key(), r.clone());
                }
            }
        }
    }
}

/// Computes the changes that make `current` equal `snapshot` within `scope`.
/// People and roles are global and never removed by omission; everything
/// attached to a system is reconciled only for systems of the scope.
pub fn reconcile(
    current: &Inventory,
    snapshot: &Inventory,
    scope: &BTreeSet<SystemId>,
    baselined: &BTreeSet<SystemId>,
) -> Diff {
    let mut removals = Vec::new();
    let mut diff = Diff::default();
    let mut upsert = |changes: &mut Vec<Change>, old: Option<Fact>, new: Fact| match old {
        None => changes.push(Change {
            kind: ChangeKind::Added,
            fields: None,
            fact: new,
        }),
        Some(old) if old != new => changes.push(Change {
            kind: ChangeKind::Changed,
            fields: Some(changed_fields(&old, &new)),
            fact: new,
        }),
        Some(_) => {}
    };
    let changes = &mut diff.changes;

    for (id, p) in &snapshot.people {
        upsert(
            changes,
            current.people.get(id).cloned().map(Fact::Person),
            Fact::Person(p.clone()),
        );
    }
    for (id, s) in snapshot
        .systems
        .iter()
        .filter(|(id, _)| scope.contains(*id))
    {
        upsert(
            changes,
            current.systems.get(id).cloned().map(Fact::System),
            Fact::System(s.clone()),
        );
    }
    sync_scoped(
        changes,
        &mut removals,
        &current.entitlements,
        &snapshot.entitlements,
        scope,
        |k| &k.0,
        Fact::Entitlement,
        &mut upsert,
    );
    sync_scoped(
        changes,
        &mut removals,
        &current.accounts,
        &snapshot.accounts,
        scope,
        |k| &k.0,
        Fact::Account,
        &mut upsert,
    );
    for (id, r) in &snapshot.roles {
        upsert(
            changes,
            current.roles.get(id).cloned().map(Fact::Role),
            Fact::Role(r.clone()),
        );
    }
    sync_scoped(
        changes,
        &mut removals,
        &current.role_entitlements,
        &snapshot.role_entitlements,
        scope,
        |k| &k.1,
        Fact::RoleEntitlement,
        &mut upsert,
    );
    let removals_before_grants = removals.len();
    sync_scoped(
        changes,
        &mut removals,
        &current.grants,
        &snapshot.grants,
        scope,
        |k| &k.0,
        Fact::Grant,
        &mut upsert,
    );

    for system in scope {
        let held = current.grants.keys().filter(|k| &k.0 == system).count();
        let removed = removals[removals_before_grants..]
            .iter()
            .filter(|c: &&Change| matches!(&c.fact, Fact::Grant(g) if &g.system_id == system))
            .count();
        diff.grant_removals.insert(system.clone(), (held, removed));
        if !baselined.contains(system) {
            diff.new_baselines.push(system.clone());
        }
    }
    // Removals last and in reverse dependency order: grants before the
    // accounts and entitlements they reference.
    removals.reverse();
    diff.changes.extend(removals);
    diff
}

#[allow(clippy::too_many_arguments)]
fn sync_scoped<K: Ord, V: Clone>(
    changes: &mut Vec<Change>,
    removals: &mut Vec<Change>,
    current: &BTreeMap<K, V>,
    snapshot: &BTreeMap<K, V>,
    scope: &BTreeSet<SystemId>,
    system_of: impl Fn(&K) -> &SystemId,
    wrap: impl Fn(V) -> Fact,
    upsert: &mut impl FnMut(&mut Vec<Change>, Option<Fact>, Fact),
) {
    for (key, value) in snapshot
        .iter()
        .filter(|(k, _)| scope.contains(system_of(k)))
    {
        upsert(
            changes,
            current.get(key).cloned().map(&wrap),
            wrap(value.clone()),
        );
    }
    let gone: Vec<Change> = current
        .iter()
        .filter(|(k, _)| scope.contains(system_of(k)) && !snapshot.contains_key(k))
        .map(|(_, v)| Change {
            kind: ChangeKind::Removed,
            fields: None,
            fact: wrap(v.clone()),
        })
        .collect();
    // Reversed later as a whole; keep each kind's own order stable.
    removals.extend(gone.into_iter().rev());
}

fn changed_fields(old: &Fact, new: &Fact) -> Vec<String> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(old), serde_json::to_value(new))
    else {
        return Vec::new();
    };
    b.iter()
        .filter(|(k, v)| a.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{AccountId, EntitlementId, PersonId};
    use crate::inventory::{AccountKind, AccountStatus, GrantSource, PersonStatus};

    fn sid(s: &str) -> SystemId {
        SystemId::parse(s).unwrap()
    }

    fn inventory(people: &[(&str, PersonStatus)], grants: &[(&str, &str, &str)]) -> Inventory {
        let mut inv = Inventory::default();
        for (id, status) in people {
            let person_id = PersonId::parse(*id).unwrap();
            inv.people.insert(
                person_id.clone(),
                Person {
                    person_id,
                    name: Some(format!("Name {id}")),
                    email: None,
                    manager_id: None,
                    department: None,
                    title: None,
                    status: *status,
                    hire_date: None,
                    termination_date: None,
                },
            );
        }
        for (system, account, ent) in grants {
            let (s, a, e) = (
                sid(system),
                AccountId::parse(*account).unwrap(),
                EntitlementId::parse(*ent).unwrap(),
            );
            inv.systems.insert(
                s.clone(),
                System {
                    system_id: s.clone(),
                    name: system.to_string(),
                    kind: None,
                    owner_id: None,
                    sox_in_scope: true,
                },
            );
            inv.accounts.insert(
                (s.clone(), a.clone()),
                Account {
                    system_id: s.clone(),
                    account_id: a.clone(),
                    person_id: None,
                    kind: AccountKind::Human,
                    status: AccountStatus::Active,
                    last_login: None,
                    mfa: None,
                    owner_id: None,
                    credential_rotated_at: None,
                },
            );
            inv.entitlements.insert(
                (s.clone(), e.clone()),
                Entitlement {
                    system_id: s.clone(),
                    entitlement_id: e.clone(),
                    name: None,
                    privileged: false,
                    owner_id: None,
                    description: None,
                },
            );
            inv.grants.insert(
                (s.clone(), a.clone(), e.clone()),
                Grant {
                    system_id: s,
                    account_id: a,
                    entitlement_id: e,
                    granted_at: None,
                    source: GrantSource::Direct,
                },
            );
        }
        inv
    }

    #[test]
    fn same_snapshot_twice_is_empty() {
        let snap = inventory(&[("p1", PersonStatus::Active)], &[("erp", "a1", "X")]);
        let scope = BTreeSet::from([sid("erp")]);
        let first = reconcile(&Inventory::default(), &snap, &scope, &BTreeSet::new());
        assert_eq!(first.changes.len(), 5);
        assert_eq!(first.new_baselines, vec![sid("erp")]);
        let again = reconcile(&snap, &snap, &scope, &scope);
        assert!(again.is_empty(), "{again:?}");
    }

    #[test]
    fn removals_stay_in_scope_and_people_are_never_removed() {
        let current = inventory(
            &[("p1", PersonStatus::Active)],
            &[("erp", "a1", "X"), ("bank", "b1", "Y")],
        );
        let snapshot = inventory(&[], &[]);
        let diff = reconcile(
            &current,
            &snapshot,
            &BTreeSet::from([sid("erp")]),
            &BTreeSet::from([sid("erp")]),
        );
        let kinds: Vec<(ChangeKind, &str)> = diff
            .changes
            .iter()
            .map(|c| {
                let name = match &c.fact {
                    Fact::Grant(_) => "grant",
                    Fact::Account(_) => "account",
                    Fact::Entitlement(_) => "entitlement",
                    _ => "other",
                };
                (c.kind, name)
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                (ChangeKind::Removed, "grant"),
                (ChangeKind::Removed, "account"),
                (ChangeKind::Removed, "entitlement")
            ]
        );
        assert_eq!(diff.grant_removals[&sid("erp")], (1, 1));
        // Applied in memory: erp emptied, bank and the person untouched.
        let mut after = current.clone();
        diff.apply_to(&mut after);
        let expected = inventory(&[("p1", PersonStatus::Active)], &[("bank", "b1", "Y")]);
        assert_eq!(after.grants, expected.grants);
        assert_eq!(after.accounts, expected.accounts);
        assert_eq!(after.entitlements, expected.entitlements);
        assert_eq!(after.people, current.people);
        // And a snapshot applied to nothing is that snapshot.
        let mut fresh = Inventory::default();
        reconcile(
            &fresh,
            &current,
            &BTreeSet::from([sid("erp"), sid("bank")]),
            &BTreeSet::new(),
        )
        .apply_to(&mut fresh);
        assert_eq!(fresh.grants, current.grants);
        assert_eq!(fresh.accounts, current.accounts);
        assert_eq!(fresh.people, current.people);
    }

    #[test]
    fn changes_name_their_fields() {
        let current = inventory(&[("p1", PersonStatus::Active)], &[]);
        let snapshot = inventory(&[("p1", PersonStatus::Terminated)], &[]);
        let diff = reconcile(&current, &snapshot, &BTreeSet::new(), &BTreeSet::new());
        assert_eq!(diff.changes.len(), 1);
        assert_eq!(diff.changes[0].kind, ChangeKind::Changed);
        assert_eq!(diff.changes[0].fields, Some(vec!["status".to_string()]));
    }
}
