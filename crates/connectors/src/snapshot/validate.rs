//! Reference checks: every id a snapshot row names must exist, in the
//! snapshot or (for people, systems and roles) already in the store.

use super::{Snapshot, SnapshotError};
use soxctl_model::identity::escape;
use soxctl_model::ids::{PersonId, RoleId, SystemId};
use soxctl_model::inventory::{AccountKey, EntitlementKey, GrantKey, GrantSource, Inventory};
use std::collections::{BTreeMap, BTreeSet};

/// The line of each fact in its file.
#[derive(Debug, Clone, Default)]
pub struct LineIndex {
    pub people: BTreeMap<PersonId, u64>,
    pub systems: BTreeMap<SystemId, u64>,
    pub entitlements: BTreeMap<EntitlementKey, u64>,
    pub accounts: BTreeMap<AccountKey, u64>,
    pub grants: BTreeMap<GrantKey, u64>,
    pub roles: BTreeMap<RoleId, u64>,
    pub role_entitlements: BTreeMap<(RoleId, SystemId, soxctl_model::ids::EntitlementId), u64>,
    /// Tables read from JSON Lines rather than CSV, by their CSV name.
    pub jsonl: BTreeSet<&'static str>,
    /// People who named themselves as their manager, recorded with no
    /// manager instead (a warning): the line of each.
    pub self_managers: BTreeMap<PersonId, u64>,
}

impl LineIndex {
    /// The name of the file a table was read from, for error messages.
    pub fn file(&self, csv_name: &'static str) -> &'static str {
        if self.jsonl.contains(csv_name) {
            jsonl_name(csv_name)
        } else {
            csv_name
        }
    }
}

/// `people.csv` → `people.jsonl`, for the tables of the format.
pub fn jsonl_name(csv_name: &'static str) -> &'static str {
    match csv_name {
        "people.csv" => "people.jsonl",
        "systems.csv" => "systems.jsonl",
        "entitlements.csv" => "entitlements.jsonl",
        "accounts.csv" => "accounts.jsonl",
        "grants.csv" => "grants.jsonl",
        "roles.csv" => "roles.jsonl",
        "role_entitlements.csv" => "role_entitlements.jsonl",
        other => other,
    }
}

struct Checker<'a> {
    snap: &'a Inventory,
    current: &'a Inventory,
}

impl Checker<'_> {
    fn person(&self, id: &PersonId) -> bool {
        self.snap.people.contains_key(id) || self.current.people.contains_key(id)
    }
    fn system(&self, id: &SystemId) -> bool {
        self.snap.systems.contains_key(id) || self.current.systems.contains_key(id)
    }
    fn role(&self, id: &RoleId) -> bool {
        self.snap.roles.contains_key(id) || self.current.roles.contains_key(id)
    }
}

fn at(file: &str, line: Option<&u64>, column: &str, reason: String) -> SnapshotError {
    SnapshotError {
        file: file.to_owned(),
        line: line.copied(),
        column: Some(column.to_owned()),
        reason,
    }
}

pub fn validate_references(s: &Snapshot, current: &Inventory) -> Result<(), SnapshotError> {
    let c = Checker {
        snap: &s.inventory,
        current,
    };
    let inv = &s.inventory;
    let l = &s.lines;
    let person_ref = |file: &str, line: Option<&u64>, column: &str, id: &Option<PersonId>| match id
    {
        Some(id) if !c.person(id) => Err(at(
            file,
            line,
            column,
            format!(
                "unknown person '{}' (not in people.csv nor in the store)",
                escape(id.as_str())
            ),
        )),
        _ => Ok(()),
    };

    for system in &s.scope {
        if !inv.systems.contains_key(system) {
            return Err(SnapshotError::file(
                "manifest.toml",
                format!(
                    "systems names '{}', which systems.csv does not describe; add it to systems.csv",
                    escape(system.as_str())
                ),
            ));
        }
    }
    for (id, p) in &inv.people {
        person_ref(
            l.file("people.csv"),
            l.people.get(id),
            "manager_id",
            &p.manager_id,
        )?;
    }
    for (id, sys) in &inv.systems {
        person_ref(
            l.file("systems.csv"),
            l.systems.get(id),
            "owner_id",
            &sys.owner_id,
        )?;
    }
    for (key, e) in &inv.entitlements {
        let line = l.entitlements.get(key);
        if !s.scope.contains(&e.system_id) {
            return Err(at(
                l.file("entitlements.csv"),
                line,
                "system_id",
                out_of_scope(&e.system_id),
            ));
        }
        person_ref(l.file("entitlements.csv"), line, "owner_id", &e.owner_id)?;
    }
    for (key, a) in &inv.accounts {
        let line = l.accounts.get(key);
        if !s.scope.contains(&a.system_id) {
            return Err(at(
                l.file("accounts.csv"),
                line,
                "system_id",
                out_of_scope(&a.system_id),
            ));
        }
        person_ref(l.file("accounts.csv"), line, "person_id", &a.person_id)?;
        person_ref(l.file("accounts.csv"), line, "owner_id", &a.owner_id)?;
    }
    for (id, r) in &inv.roles {
        person_ref(
            l.file("roles.csv"),
            l.roles.get(id),
            "owner_id",
            &r.owner_id,
        )?;
    }
    for (key, r) in &inv.role_entitlements {
        let line = l.role_entitlements.get(key);
        if !c.role(&r.role_id) {
            return Err(at(
                l.file("role_entitlements.csv"),
                line,
                "role_id",
                format!("unknown role '{}'", escape(r.role_id.as_str())),
            ));
        }
        if !c.system(&r.system_id) {
            return Err(at(
                l.file("role_entitlements.csv"),
                line,
                "system_id",
                format!("unknown system '{}'", escape(r.system_id.as_str())),
            ));
        }
        let ekey = (r.system_id.clone(), r.entitlement_id.clone());
        let known = if s.scope.contains(&r.system_id) {
            inv.entitlements.contains_key(&ekey)
        } else {
            current.entitlements.contains_key(&ekey)
        };
        if !known {
            return Err(at(
                l.file("role_entitlements.csv"),
                line,
                "entitlement_id",
                format!(
                    "unknown entitlement {}:{}",
                    escape(r.system_id.as_str()),
                    escape(r.entitlement_id.as_str())
                ),
            ));
        }
    }
    for (key, g) in &inv.grants {
        let line = l.grants.get(key);
        if !s.scope.contains(&g.system_id) {
            return Err(at(
                l.file("grants.csv"),
                line,
                "system_id",
                out_of_scope(&g.system_id),
            ));
        }
        if !inv
            .accounts
            .contains_key(&(g.system_id.clone(), g.account_id.clone()))
        {
            return Err(at(
                l.file("grants.csv"),
                line,
                "account_id",
                format!(
                    "unknown account {}/{} (not in accounts.csv)",
                    escape(g.system_id.as_str()),
                    escape(g.account_id.as_str())
                ),
            ));
        }
        if !inv
            .entitlements
            .contains_key(&(g.system_id.clone(), g.entitlement_id.clone()))
        {
            return Err(at(
                l.file("grants.csv"),
                line,
                "entitlement_id",
                format!(
                    "unknown entitlement {}:{} (not in entitlements.csv)",
                    escape(g.system_id.as_str()),
                    escape(g.entitlement_id.as_str())
                ),
            ));
        }
        if let GrantSource::Role(role) = &g.source
            && !c.role(role)
        {
            return Err(at(
                l.file("grants.csv"),
                line,
                "source",
                format!(
                    "unknown role '{}' (not in roles.csv)",
                    escape(role.as_str())
                ),
            ));
        }
    }
    Ok(())
}

fn out_of_scope(system: &SystemId) -> String {
    format!(
        "system '{}' is not in the snapshot's scope (systems.csv or manifest.toml systems)",
        escape(system.as_str())
    )
}

/// A missing file is not an empty one: a snapshot without `grants.csv` must
/// not remove every grant of its scope (a truncated export must not wipe
/// access history). Removing everything takes a file with just its header.
pub fn validate_complete(s: &Snapshot, current: &Inventory) -> Result<(), SnapshotError> {
    let in_scope = |system: &SystemId| s.scope.contains(system);
    let held = [
        (
            "entitlements.csv",
            current
                .entitlements
                .keys()
                .filter(|k| in_scope(&k.0))
                .count(),
        ),
        (
            "accounts.csv",
            current.accounts.keys().filter(|k| in_scope(&k.0)).count(),
        ),
        (
            "grants.csv",
            current.grants.keys().filter(|k| in_scope(&k.0)).count(),
        ),
        (
            "role_entitlements.csv",
            current
                .role_entitlements
                .keys()
                .filter(|k| in_scope(&k.1))
                .count(),
        ),
    ];
    for (file, count) in held {
        if count > 0 && !s.present_files.contains(file) {
            return Err(SnapshotError::file(
                &format!("{file} (or {})", jsonl_name(file)),
                format!(
                    "is missing, but the store holds {count} such rows for the snapshot's systems; \
                     include the file (a file with only its header row removes them all)"
                ),
            ));
        }
    }
    Ok(())
}
