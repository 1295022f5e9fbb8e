//! Directory entries to a snapshot of one system: users become accounts,
//! groups entitlements, memberships grants. Nothing here touches the
//! network or the store, so the rules are tested on plain entries.

use super::mapping::{Condition, Mapping, Test, TimeFormat};
use super::read::Directory;
use super::time::{from_filetime, from_generalized_time};
use super::{Entry, LdapError};
use crate::correlate::AccountHints;
use crate::snapshot::{Snapshot, TABLES};
use soxctl_model::ids::{AccountId, EntitlementId, SystemId};
use soxctl_model::inventory::{
    Account, AccountKind, AccountStatus, Entitlement, Grant, GrantSource, Inventory, System,
};
use soxctl_model::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

/// A snapshot of the directory, and what the operator should hear about it.
#[derive(Debug, Clone)]
pub struct Converted {
    pub snapshot: Snapshot,
    /// Problems that do not stop the sync (skipped entries, unknown member DNs…).
    pub warnings: Vec<String>,
    /// The mapped display name of each account, to name orphans in reports.
    pub display_names: BTreeMap<AccountId, String>,
}

/// Most examples a warning lists.
const EXAMPLES: usize = 3;

/// A DN in a form two spellings of the same entry share: RDNs trimmed,
/// spaces around `=` removed, lowercase (DN attribute values compare
/// case-insensitively in practice: AD and OpenLDAP's `member` both do).
pub fn normalize_dn(dn: &str) -> String {
    let mut rdns = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in dn.chars() {
        if escaped {
            current.push(c);
            escaped = false;
        } else if c == '\\' {
            current.push(c);
            escaped = true;
        } else if c == ',' || c == ';' {
            rdns.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    rdns.push(current);
    rdns.iter()
        .map(|rdn| {
            let rdn = rdn.trim();
            match rdn.split_once('=') {
                Some((attr, value)) => format!("{}={}", attr.trim(), value.trim()),
                None => rdn.to_owned(),
            }
            .to_lowercase()
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A warning about `count` entries, naming the first few.
fn several(count: usize, examples: &[String], what: &str) -> String {
    let shown = examples
        .iter()
        .take(EXAMPLES)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("; ");
    let more = if count > EXAMPLES { "; …" } else { "" };
    format!("{count} {what} (e.g. {shown}{more})")
}

enum Outcome {
    Holds(bool),
    /// The value could not be read as the test needs (a bit test on a non-integer).
    Unreadable(String),
}

fn holds(condition: &Condition, entry: &Entry) -> Outcome {
    let values = entry.values(&condition.attribute);
    match condition.test() {
        Test::Present(present) => Outcome::Holds(values.is_empty() != present),
        Test::Equals(expected) => Outcome::Holds(
            values
                .iter()
                .any(|v| v.trim().to_lowercase() == expected.to_lowercase()),
        ),
        Test::Bit(bit) => match entry.first(&condition.attribute) {
            None => Outcome::Holds(false),
            Some(v) => match v.parse::<i64>() {
                // Two's complement: AD stores the flags as a signed 32-bit integer.
                Ok(n) => Outcome::Holds(n.cast_unsigned() & bit != 0),
                Err(_) => Outcome::Unreadable(v.to_owned()),
            },
        },
    }
}

struct Warnings {
    list: Vec<String>,
}

impl Warnings {
    fn add(&mut self, text: String) {
        self.list.push(text);
    }
    fn several(&mut self, examples: &[String], what: &str) {
        if !examples.is_empty() {
            self.list.push(several(examples.len(), examples, what));
        }
    }
}

/// Makes the snapshot of `system` from what the directory returned.
pub fn to_snapshot(
    directory: &Directory,
    mapping: &Mapping,
    system_id: &SystemId,
    source: String,
    extracted_at: Timestamp,
) -> Result<Converted, LdapError> {
    let u = &mapping.users;
    let g = &mapping.groups;
    let mut warnings = Warnings { list: Vec::new() };
    let mut inventory = Inventory::default();
    inventory.systems.insert(
        system_id.clone(),
        System {
            system_id: system_id.clone(),
            name: mapping.system.name.clone(),
            kind: mapping.system.kind.clone(),
            owner_id: mapping.system.owner_id.clone(),
            sox_in_scope: mapping.system.sox_in_scope,
        },
    );

    // Attributes mapped but on no entry at all: a typo, or no read access.
    let on_no_entry = |entries: &[Entry], attribute: &str| {
        !entries.is_empty() && entries.iter().all(|e| e.values(attribute).is_empty())
    };
    let users = &directory.users;
    let groups = &directory.groups;
    if on_no_entry(users, &u.account_id) {
        return Err(LdapError::AttributeMissing {
            what: "user",
            count: users.len(),
            attribute: u.account_id.clone(),
            key: "users.account_id",
        });
    }
    if let Some(email) = &u.email
        && on_no_entry(users, email)
    {
        return Err(LdapError::AttributeMissing {
            what: "user",
            count: users.len(),
            attribute: email.clone(),
            key: "users.email",
        });
    }
    if on_no_entry(groups, &g.entitlement_id) {
        return Err(LdapError::AttributeMissing {
            what: "group",
            count: groups.len(),
            attribute: g.entitlement_id.clone(),
            key: "groups.entitlement_id",
        });
    }
    for (key, attribute) in [
        ("users.login", &u.login),
        ("users.employee_id", &u.employee_id),
        ("users.display_name", &u.display_name),
    ] {
        if let Some(attribute) = attribute
            && on_no_entry(users, attribute)
        {
            warnings.add(format!(
                "no user entry has '{attribute}' (mapped as {key}); check its spelling in the mapping"
            ));
        }
    }
    if let Some(member_of) = &g.member_of
        && on_no_entry(users, member_of)
        && !groups.is_empty()
    {
        warnings.add(format!(
            "no user entry has '{member_of}' (groups.member_of), so no user holds a group; \
             on OpenLDAP load the memberof overlay, or use members = \"member\""
        ));
    }

    // Users → accounts.
    let mut account_by_dn: HashMap<String, AccountId> = HashMap::new();
    let mut first_dn: HashMap<String, &str> = HashMap::new();
    let mut account_hints = BTreeMap::new();
    let mut display_names = BTreeMap::new();
    let mut without_id = Vec::new();
    let mut bad_times = Vec::new();
    let mut bad_flags = Vec::new();
    for entry in users {
        let Some(id) = entry.first(&u.account_id) else {
            without_id.push(entry.dn.clone());
            continue;
        };
        let account_id = AccountId::parse(id).map_err(|e| LdapError::BadValue {
            dn: entry.dn.clone(),
            reason: format!("{} (users.account_id): {e}", u.account_id),
        })?;
        if let Some(first) = first_dn.insert(id.to_lowercase(), &entry.dn) {
            return Err(LdapError::DuplicateAccount {
                id: id.to_owned(),
                first: first.to_owned(),
                second: entry.dn.clone(),
            });
        }
        let mut test =
            |condition: &Option<Condition>| match condition.as_ref().map(|c| holds(c, entry)) {
                None => false,
                Some(Outcome::Holds(h)) => h,
                Some(Outcome::Unreadable(v)) => {
                    bad_flags.push(format!("{}: '{v}'", entry.dn));
                    false
                }
            };
        let disabled = test(&u.disabled);
        let service = test(&u.service);
        let last_login = match &u.last_logon {
            None => None,
            Some(rule) => match entry.first(&rule.attribute) {
                None => None,
                Some(v) => {
                    let parsed = match rule.format {
                        TimeFormat::Filetime => from_filetime(v),
                        TimeFormat::GeneralizedTime => from_generalized_time(v).map(Some),
                    };
                    parsed.unwrap_or_else(|reason| {
                        bad_times.push(format!("{}: {reason}", entry.dn));
                        None
                    })
                }
            },
        };
        let account = Account {
            system_id: system_id.clone(),
            account_id: account_id.clone(),
            person_id: None,
            kind: if service {
                AccountKind::Service
            } else {
                AccountKind::Human
            },
            status: if disabled {
                AccountStatus::Disabled
            } else {
                AccountStatus::Active
            },
            last_login,
            mfa: None,
            owner_id: None,
            credential_rotated_at: None,
        };
        // Service accounts belong to no person: the rules never link them.
        if !service {
            let get =
                |a: &Option<String>| a.as_ref().and_then(|a| entry.first(a)).map(str::to_owned);
            account_hints.insert(
                account.key(),
                AccountHints {
                    email: get(&u.email),
                    login: match &u.login {
                        Some(login) => entry.first(login).map(str::to_owned),
                        None => Some(id.to_owned()),
                    },
                    employee_id: get(&u.employee_id),
                },
            );
        }
        if let Some(name) = u.display_name.as_ref().and_then(|a| entry.first(a)) {
            display_names.insert(account_id.clone(), name.to_owned());
        }
        account_by_dn.insert(normalize_dn(&entry.dn), account_id);
        inventory.accounts.insert(account.key(), account);
    }
    warnings.several(
        &without_id,
        &format!(
            "user entries have no '{}' (users.account_id) and were skipped",
            u.account_id
        ),
    );
    warnings.several(
        &bad_times,
        "users have a last logon that is not a time; it was left empty",
    );
    warnings.several(
        &bad_flags,
        "users have a flag attribute that is not an integer; the bit test was taken as false",
    );

    // Groups → entitlements.
    let mut group_by_dn: HashMap<String, EntitlementId> = HashMap::new();
    let mut first_group: HashMap<String, &str> = HashMap::new();
    let mut groups_without_id = Vec::new();
    for entry in groups {
        let Some(id) = entry.first(&g.entitlement_id) else {
            groups_without_id.push(entry.dn.clone());
            continue;
        };
        let entitlement_id = EntitlementId::parse(id).map_err(|e| LdapError::BadValue {
            dn: entry.dn.clone(),
            reason: format!("{} (groups.entitlement_id): {e}", g.entitlement_id),
        })?;
        if let Some(first) = first_group.insert(id.to_lowercase(), &entry.dn) {
            return Err(LdapError::DuplicateEntitlement {
                id: id.to_owned(),
                first: first.to_owned(),
                second: entry.dn.clone(),
            });
        }
        let name = g
            .name
            .as_ref()
            .and_then(|a| entry.first(a))
            .map(str::to_owned);
        let privileged =
            mapping.is_privileged(id) || name.as_deref().is_some_and(|n| mapping.is_privileged(n));
        let entitlement = Entitlement {
            system_id: system_id.clone(),
            entitlement_id: entitlement_id.clone(),
            name,
            privileged,
            owner_id: None,
            description: g
                .description
                .as_ref()
                .and_then(|a| entry.first(a))
                .map(str::to_owned),
        };
        group_by_dn.insert(normalize_dn(&entry.dn), entitlement_id);
        inventory
            .entitlements
            .insert(entitlement.key(), entitlement);
    }
    warnings.several(
        &groups_without_id,
        &format!(
            "group entries have no '{}' (groups.entitlement_id) and were skipped",
            g.entitlement_id
        ),
    );

    // Memberships → grants.
    let mut grant = |account_id: &AccountId, entitlement_id: &EntitlementId| {
        let grant = Grant {
            system_id: system_id.clone(),
            account_id: account_id.clone(),
            entitlement_id: entitlement_id.clone(),
            granted_at: None,
            source: GrantSource::Direct,
        };
        inventory.grants.insert(grant.key(), grant);
    };
    let mut unknown_members = Vec::new();
    let mut nested = Vec::new();
    let mut ranged = Vec::new();
    if let Some(members) = &g.members {
        let range_prefix = format!("{};range=", members.to_lowercase());
        for entry in groups {
            let Some(entitlement_id) = group_by_dn.get(&normalize_dn(&entry.dn)) else {
                continue;
            };
            if entry.attrs.keys().any(|k| k.starts_with(&range_prefix)) {
                ranged.push(entry.dn.clone());
            }
            for member in entry.values(members) {
                let key = normalize_dn(member);
                if let Some(account_id) = account_by_dn.get(&key) {
                    grant(account_id, entitlement_id);
                } else if group_by_dn.contains_key(&key) {
                    nested.push(format!("{member} in {}", entry.dn));
                } else {
                    unknown_members.push(format!("{member} in {}", entry.dn));
                }
            }
        }
    }
    let mut outside_groups = Vec::new();
    if let Some(member_of) = &g.member_of {
        for entry in users {
            let Some(account_id) = account_by_dn.get(&normalize_dn(&entry.dn)) else {
                continue;
            };
            for group in entry.values(member_of) {
                match group_by_dn.get(&normalize_dn(group)) {
                    Some(entitlement_id) => grant(account_id, entitlement_id),
                    None => outside_groups.push(format!("{group} of {}", entry.dn)),
                }
            }
        }
    }
    warnings.several(
        &unknown_members,
        "member DNs are not users of the user search (outside users.base or users.filter); their memberships were ignored",
    );
    warnings.several(
        &nested,
        "members are groups: nested groups are not expanded, only direct members hold a group",
    );
    warnings.several(
        &ranged,
        "groups list their members in ranges (more than the server returns at once), which the sync does not read: use member_of = \"memberOf\"",
    );
    warnings.several(
        &outside_groups,
        "memberships name groups outside the group search (groups.base or groups.filter); they were ignored",
    );

    let snapshot = Snapshot {
        dir: PathBuf::from(&source),
        inventory,
        scope: BTreeSet::from([system_id.clone()]),
        source: Some(source),
        extracted_at: Some(extracted_at),
        lines: Default::default(),
        ignored_files: Vec::new(),
        // The directory is read whole: what it lacks is gone.
        present_files: TABLES.iter().copied().collect(),
        account_hints,
        keeps_role_entitlements: true,
    };
    Ok(Converted {
        snapshot,
        warnings: warnings.list,
        display_names,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]
    use super::*;
    use crate::ldap::mapping::Preset;

    fn entry(dn: &str, attrs: &[(&str, &str)]) -> Entry {
        let mut e = Entry {
            dn: dn.into(),
            ..Default::default()
        };
        for (k, v) in attrs {
            e.attrs
                .entry(k.to_lowercase())
                .or_default()
                .push((*v).to_owned());
        }
        e
    }

    fn convert(mapping: &Mapping, directory: &Directory) -> Result<Converted, LdapError> {
        to_snapshot(
            directory,
            mapping,
            &mapping.system.id,
            "test".into(),
            Timestamp::parse("2026-01-01T00:00:00Z").unwrap(),
        )
    }

    #[test]
    fn dns_normalise() {
        assert_eq!(
            normalize_dn("CN=Ada Byron, OU=People ,DC=Example,DC=org"),
            "cn=ada byron,ou=people,dc=example,dc=org"
        );
        assert_eq!(normalize_dn("cn=a\\,b,dc=x"), "cn=a\\,b,dc=x");
    }

    #[test]
    fn ad_users_groups_and_memberships() {
        let m = Preset::Ad.mapping().unwrap();
        let d = Directory {
            users: vec![
                entry(
                    "CN=Ada,OU=Staff,DC=corp",
                    &[
                        ("sAMAccountName", "ABYRON"),
                        ("mail", "ada@example.com"),
                        ("userAccountControl", "514"),
                        ("lastLogonTimestamp", "133579296000000000"),
                        ("memberOf", "CN=Domain Admins,CN=Users,DC=corp"),
                        ("memberOf", "CN=Elsewhere,DC=other"),
                    ],
                ),
                entry(
                    "CN=svc,OU=Staff,DC=corp",
                    &[
                        ("sAMAccountName", "svc-backup"),
                        ("mail", "svc@example.com"),
                        ("userAccountControl", "66048"),
                        ("servicePrincipalName", "HOST/backup"),
                    ],
                ),
                entry("CN=NoId,OU=Staff,DC=corp", &[("mail", "x@example.com")]),
            ],
            groups: vec![
                entry(
                    "cn=domain admins,cn=users,dc=corp",
                    &[("cn", "Domain Admins")],
                ),
                entry(
                    "CN=Readers,DC=corp",
                    &[("cn", "Readers"), ("description", "Read")],
                ),
            ],
        };
        let c = convert(&m, &d).unwrap();
        let inv = &c.snapshot.inventory;
        let ada = inv
            .accounts
            .values()
            .find(|a| a.account_id.as_str() == "ABYRON")
            .unwrap();
        assert_eq!(ada.status, AccountStatus::Disabled);
        assert_eq!(ada.kind, AccountKind::Human);
        assert_eq!(
            ada.last_login,
            Some(Timestamp::parse("2024-04-18T16:00:00Z").unwrap())
        );
        let svc = inv
            .accounts
            .values()
            .find(|a| a.account_id.as_str() == "svc-backup")
            .unwrap();
        assert_eq!(svc.kind, AccountKind::Service);
        assert_eq!(svc.status, AccountStatus::Active);
        assert!(!c.snapshot.account_hints.contains_key(&svc.key()));
        assert_eq!(
            c.snapshot.account_hints[&ada.key()].email.as_deref(),
            Some("ada@example.com")
        );
        assert_eq!(inv.grants.len(), 1, "{:?}", inv.grants);
        let admins = inv
            .entitlements
            .values()
            .find(|e| e.entitlement_id.as_str() == "Domain Admins")
            .unwrap();
        assert!(admins.privileged);
        assert!(
            inv.entitlements
                .values()
                .any(|e| e.description.as_deref() == Some("Read") && !e.privileged)
        );
        assert!(
            c.warnings.iter().any(|w| w.contains("CN=NoId")),
            "{:?}",
            c.warnings
        );
        assert!(
            c.warnings.iter().any(|w| w.contains("CN=Elsewhere")),
            "{:?}",
            c.warnings
        );
        assert_eq!(c.snapshot.scope.len(), 1);
    }

    #[test]
    fn member_lists_duplicates_and_missing_attributes() {
        let m = Preset::OpenLdap.mapping().unwrap();
        let users = vec![
            entry(
                "uid=ada,ou=people,dc=x",
                &[("uid", "ada"), ("mail", "ada@x")],
            ),
            entry(
                "uid=bob,ou=people,dc=x",
                &[
                    ("uid", "bob"),
                    ("mail", "bob@x"),
                    ("pwdAccountLockedTime", "20260101000000Z"),
                ],
            ),
        ];
        let groups = vec![
            entry(
                "cn=admins,ou=groups,dc=x",
                &[
                    ("cn", "admins"),
                    ("member", "UID=ada, ou=People,dc=x"),
                    ("member", "uid=ghost,ou=people,dc=x"),
                    ("member", "cn=ops,ou=groups,dc=x"),
                ],
            ),
            entry(
                "cn=ops,ou=groups,dc=x",
                &[("cn", "ops"), ("member", "uid=bob,ou=people,dc=x")],
            ),
        ];
        let c = convert(
            &m,
            &Directory {
                users: users.clone(),
                groups: groups.clone(),
            },
        )
        .unwrap();
        let inv = &c.snapshot.inventory;
        assert_eq!(inv.grants.len(), 2);
        assert!(
            inv.accounts
                .values()
                .any(|a| a.status == AccountStatus::Disabled && a.account_id.as_str() == "bob")
        );
        assert!(
            c.warnings
                .iter()
                .any(|w| w.contains("uid=ghost") && w.contains("not users")),
            "{:?}",
            c.warnings
        );
        assert!(
            c.warnings.iter().any(|w| w.contains("nested")),
            "{:?}",
            c.warnings
        );

        let mut dup = users.clone();
        dup.push(entry(
            "uid=ADA,ou=other,dc=x",
            &[("uid", "ADA"), ("mail", "a2@x")],
        ));
        let err = convert(
            &m,
            &Directory {
                users: dup,
                groups: groups.clone(),
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("account id 'ADA' is used by two users"),
            "{err}"
        );

        let no_mail: Vec<Entry> = users
            .iter()
            .map(|e| {
                let mut e = e.clone();
                e.attrs.remove("mail");
                e
            })
            .collect();
        let err = convert(
            &m,
            &Directory {
                users: no_mail,
                groups,
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("none of the 2 user entries has the attribute 'mail'"),
            "{err}"
        );
    }
}
