//! Directory entries to a snapshot of one system: users become accounts
//! (and, with a `[people]` mapping, people), groups entitlements,
//! memberships grants (through nested groups too). Nothing here touches
//! the network or the store, so the rules are tested on plain entries.

use super::mapping::{
    Condition, Existing, Mapping, Nested, PeopleMapping, Test, TimeFormat, WhenDisabled,
};
use super::read::Directory;
use super::time::{from_filetime, from_generalized_time};
use super::{Entry, LdapError};
use crate::correlate::AccountHints;
use crate::snapshot::{ExistingPeople, PersonFields, Snapshot, TABLES};
use soxctl_model::ids::{AccountId, EntitlementId, PersonId, SystemId};
use soxctl_model::inventory::{
    Account, AccountKind, AccountStatus, Entitlement, Grant, GrantSource, Inventory, Person,
    PersonStatus, System,
};
use soxctl_model::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
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
    let mut required = vec![
        ("user", users, &u.account_id, "users.account_id"),
        ("group", groups, &g.entitlement_id, "groups.entitlement_id"),
    ];
    if let Some(email) = &u.email {
        required.insert(1, ("user", users, email, "users.email"));
    }
    if let Some(p) = &mapping.people {
        required.push(("user", users, &p.person_id, "people.person_id"));
    }
    for (what, entries, attribute, key) in required {
        if on_no_entry(entries, attribute) {
            return Err(LdapError::AttributeMissing {
                what,
                count: entries.len(),
                attribute: attribute.clone(),
                key,
            });
        }
    }
    let people = mapping.people.as_ref();
    let optional = [
        ("users.login", u.login.as_ref()),
        ("users.employee_id", u.employee_id.as_ref()),
        ("users.display_name", u.display_name.as_ref()),
        ("people.name", people.and_then(|p| p.name.as_ref())),
        ("people.email", people.and_then(|p| p.email.as_ref())),
        (
            "people.department",
            people.and_then(|p| p.department.as_ref()),
        ),
        ("people.title", people.and_then(|p| p.title.as_ref())),
        ("people.manager", people.and_then(|p| p.manager.as_ref())),
    ];
    for (key, attribute) in optional {
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

    // Users → accounts (and which person each user is).
    let mut account_by_dn: HashMap<String, AccountId> = HashMap::new();
    let mut first_dn: HashMap<String, &str> = HashMap::new();
    let mut account_hints = BTreeMap::new();
    let mut display_names = BTreeMap::new();
    let mut without_id = Vec::new();
    let mut bad_times = Vec::new();
    let mut bad_flags = Vec::new();
    let mut persons = Persons::default();
    for entry in users {
        let Some(id) = entry.first(&u.account_id) else {
            without_id.push(entry.dn.clone());
            persons.not_a_person(
                entry,
                format!(
                    "is a user without '{}' (users.account_id), which the sync skips",
                    u.account_id
                ),
            );
            continue;
        };
        let account_id = AccountId::parse_new(id).map_err(|e| LdapError::BadValue {
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
        // Service accounts belong to no person: no rule links them, and
        // they make no person.
        let person_id = match people {
            Some(p) if !service => persons.user(entry, p, disabled)?,
            Some(_) => {
                persons.not_a_person(
                    entry,
                    "is a service account (users.service), which is no person".into(),
                );
                None
            }
            None => None,
        };
        let account = Account {
            system_id: system_id.clone(),
            account_id: account_id.clone(),
            person_id,
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
        if !service {
            let get =
                |a: &Option<String>| a.as_ref().and_then(|a| entry.first(a)).map(str::to_owned);
            account_hints.insert(
                account.key(),
                AccountHints {
                    email: entry.text(u.email.as_ref(), "users.email")?,
                    login: match &u.login {
                        Some(login) => entry.first(login).map(str::to_owned),
                        None => Some(id.to_owned()),
                    },
                    employee_id: get(&u.employee_id),
                },
            );
        }
        if let Some(name) = entry.text(u.display_name.as_ref(), "users.display_name")? {
            display_names.insert(account_id.clone(), name);
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
    let mut existing_people = ExistingPeople::Replace;
    if let Some(p) = people {
        warnings.several(
            &persons.without_person_id,
            &format!(
                "human users have no '{}' (people.person_id): they make no person, and the correlation rules link their accounts",
                p.person_id
            ),
        );
        inventory.people = persons.people(p)?;
        existing_people = existing(p);
    }

    // Groups → entitlements.
    let mut group_by_dn: HashMap<String, usize> = HashMap::new();
    let mut group_ids: Vec<EntitlementId> = Vec::new();
    let mut group_entries: Vec<&Entry> = Vec::new();
    let mut first_group: HashMap<String, &str> = HashMap::new();
    let mut groups_without_id = Vec::new();
    for entry in groups {
        let Some(id) = entry.first(&g.entitlement_id) else {
            groups_without_id.push(entry.dn.clone());
            continue;
        };
        let entitlement_id = EntitlementId::parse_new(id).map_err(|e| LdapError::BadValue {
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
        let name = entry.text(g.name.as_ref(), "groups.name")?;
        let privileged =
            mapping.is_privileged(id) || name.as_deref().is_some_and(|n| mapping.is_privileged(n));
        let entitlement = Entitlement {
            system_id: system_id.clone(),
            entitlement_id: entitlement_id.clone(),
            name,
            privileged,
            owner_id: None,
            description: entry.description(g.description.as_ref(), "groups.description")?,
        };
        group_by_dn.insert(normalize_dn(&entry.dn), group_ids.len());
        group_ids.push(entitlement_id);
        group_entries.push(entry);
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

    // Memberships: the direct ones, and which group is nested in which.
    let expand = g.nested == Nested::Expand;
    let mut direct: Vec<(AccountId, usize)> = Vec::new();
    let mut parents: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); group_ids.len()];
    let mut unknown_members = Vec::new();
    let mut nested = Vec::new();
    if let Some(members) = &g.members {
        for (index, entry) in group_entries.iter().enumerate() {
            for member in entry.values(members) {
                let key = normalize_dn(member);
                if let Some(account_id) = account_by_dn.get(&key) {
                    direct.push((account_id.clone(), index));
                } else if let Some(&inner) = group_by_dn.get(&key) {
                    if expand {
                        parents[inner].insert(index);
                    } else {
                        nested.push(format!("{member} in {}", entry.dn));
                    }
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
                    Some(&index) => direct.push((account_id.clone(), index)),
                    None => outside_groups.push(format!("{group} of {}", entry.dn)),
                }
            }
        }
        if expand {
            for (index, entry) in group_entries.iter().enumerate() {
                for group in entry.values(member_of) {
                    match group_by_dn.get(&normalize_dn(group)) {
                        Some(&outer) => {
                            parents[index].insert(outer);
                        }
                        None => outside_groups.push(format!("{group} of {}", entry.dn)),
                    }
                }
            }
        }
    }
    let (closures, cycles) = nesting(&parents);
    for (account_id, index) in direct {
        for &held in &closures[index] {
            let grant = Grant {
                system_id: system_id.clone(),
                account_id: account_id.clone(),
                entitlement_id: group_ids[held].clone(),
                granted_at: None,
                source: GrantSource::Direct,
            };
            inventory.grants.insert(grant.key(), grant);
        }
    }
    let cycles: Vec<String> = cycles
        .iter()
        .map(|cycle| {
            cycle
                .iter()
                .map(|&i| group_entries[i].dn.as_str())
                .collect::<Vec<_>>()
                .join(" in ")
        })
        .collect();
    warnings.several(
        &unknown_members,
        "member DNs are not users of the user search (outside users.base or users.filter); their memberships were ignored",
    );
    warnings.several(
        &nested,
        "members are groups: nested groups are not expanded (groups.nested = \"ignore\"), only direct members hold a group",
    );
    warnings.several(
        &cycles,
        "cycles of nested groups (a group inside itself through other groups): every group of a cycle holds the members of all of them",
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
        existing_people,
    };
    Ok(Converted {
        snapshot,
        warnings: warnings.list,
        display_names,
    })
}

/// What the `[people]` mapping makes of a person the store already holds.
fn existing(p: &PeopleMapping) -> ExistingPeople {
    match p.existing {
        Existing::Keep => ExistingPeople::Keep,
        Existing::Update => ExistingPeople::Update(PersonFields {
            name: p.name.is_some(),
            email: p.email.is_some(),
            manager: p.manager.is_some(),
            department: p.department.is_some(),
            title: p.title.is_some(),
            status: gone_status(p.disabled),
        }),
    }
}

/// The person status a disabled user means, if any.
fn gone_status(disabled: WhenDisabled) -> Option<PersonStatus> {
    match disabled {
        WhenDisabled::Ignore => None,
        WhenDisabled::Leave => Some(PersonStatus::Leave),
        WhenDisabled::Terminated => Some(PersonStatus::Terminated),
    }
}

/// The users that are people, gathered over the user loop; the people are
/// made once every user is known, since a manager may come later.
#[derive(Default)]
struct Persons<'a> {
    /// Each user by normalised DN: its person id, or why it is no person
    /// (for a manager DN naming it).
    by_dn: HashMap<String, Result<PersonId, String>>,
    /// The first user of each person id, lowercase (ids compare as the
    /// directory compares them).
    first: HashMap<String, &'a str>,
    /// (user, person id, disabled), in directory order.
    users: Vec<(&'a Entry, PersonId, bool)>,
    without_person_id: Vec<String>,
}

impl<'a> Persons<'a> {
    fn not_a_person(&mut self, entry: &Entry, why: String) {
        self.by_dn.insert(normalize_dn(&entry.dn), Err(why));
    }

    /// The person id of a human user, if it has one.
    fn user(
        &mut self,
        entry: &'a Entry,
        p: &PeopleMapping,
        disabled: bool,
    ) -> Result<Option<PersonId>, LdapError> {
        let Some(id) = entry.first(&p.person_id) else {
            self.without_person_id.push(entry.dn.clone());
            self.not_a_person(
                entry,
                format!("is a user without '{}' (people.person_id)", p.person_id),
            );
            return Ok(None);
        };
        let person_id = PersonId::parse_new(id).map_err(|e| LdapError::BadValue {
            dn: entry.dn.clone(),
            reason: format!("{} (people.person_id): {e}", p.person_id),
        })?;
        if let Some(first) = self.first.insert(id.to_lowercase(), &entry.dn) {
            return Err(LdapError::DuplicatePerson {
                id: id.to_owned(),
                first: first.to_owned(),
                second: entry.dn.clone(),
            });
        }
        self.by_dn
            .insert(normalize_dn(&entry.dn), Ok(person_id.clone()));
        self.users.push((entry, person_id.clone(), disabled));
        Ok(Some(person_id))
    }

    fn people(&self, p: &PeopleMapping) -> Result<BTreeMap<PersonId, Person>, LdapError> {
        let mut people = BTreeMap::new();
        for (entry, person_id, disabled) in &self.users {
            let manager_id = match p.manager.as_ref().and_then(|a| entry.first(a)) {
                None => None,
                Some(manager) => match self.by_dn.get(&normalize_dn(manager)) {
                    Some(Ok(id)) => Some(id.clone()),
                    Some(Err(why)) => {
                        return Err(LdapError::BadManager {
                            dn: entry.dn.clone(),
                            manager: manager.to_owned(),
                            reason: why.clone(),
                        });
                    }
                    None => {
                        return Err(LdapError::BadManager {
                            dn: entry.dn.clone(),
                            manager: manager.to_owned(),
                            reason: "is not a user of the user search".into(),
                        });
                    }
                },
            };
            let status = match gone_status(p.disabled) {
                Some(gone) if *disabled => gone,
                _ => PersonStatus::Active,
            };
            let person = Person {
                person_id: person_id.clone(),
                name: entry.text(p.name.as_ref(), "people.name")?,
                email: entry.text(p.email.as_ref(), "people.email")?,
                manager_id,
                department: entry.text(p.department.as_ref(), "people.department")?,
                title: entry.text(p.title.as_ref(), "people.title")?,
                status,
                hire_date: None,
                termination_date: None,
            };
            people.insert(person_id.clone(), person);
        }
        Ok(people)
    }
}

/// For each group, the groups its members hold: itself and every group it
/// is nested in, directly or through others (`parents[g]`: the groups `g`
/// is a member of). Also the cycles, each once, as a path from a group
/// back to itself; a group of a cycle holds every group of it, as in the
/// directory's own access checks.
fn nesting(parents: &[BTreeSet<usize>]) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
    let mut closures = Vec::with_capacity(parents.len());
    let mut cycles = Vec::new();
    let mut seen_cycles: HashSet<Vec<usize>> = HashSet::new();
    for start in 0..parents.len() {
        let mut reached = vec![start];
        let mut previous: HashMap<usize, usize> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        // The group through which `start` is nested in itself, if it is.
        let mut back_to_start = None;
        while let Some(group) = queue.pop_front() {
            for &outer in parents.get(group).into_iter().flatten() {
                if outer == start {
                    back_to_start.get_or_insert(group);
                } else if let std::collections::hash_map::Entry::Vacant(slot) =
                    previous.entry(outer)
                {
                    slot.insert(group);
                    reached.push(outer);
                    queue.push_back(outer);
                }
            }
        }
        if let Some(last) = back_to_start {
            let mut path = vec![start];
            let mut at = last;
            while at != start {
                path.push(at);
                match previous.get(&at) {
                    Some(&before) => at = before,
                    None => break,
                }
            }
            path[1..].reverse();
            path.push(start);
            let mut members = path.clone();
            members.sort_unstable();
            members.dedup();
            if seen_cycles.insert(members) {
                cycles.push(path);
            }
        }
        closures.push(reached);
    }
    (closures, cycles)
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

    /// (account, entitlement) of every grant, sorted.
    fn held(c: &Converted) -> Vec<(&str, &str)> {
        c.snapshot
            .inventory
            .grants
            .values()
            .map(|g| (g.account_id.as_str(), g.entitlement_id.as_str()))
            .collect()
    }

    fn mapping(preset: Preset, edit: impl FnOnce(String) -> String) -> Mapping {
        Mapping::parse(&edit(preset.text().to_owned()), "test").unwrap()
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
    fn free_text_that_hides_characters_is_refused_with_its_entry() {
        let m = Preset::Ad.mapping().unwrap();
        let user = |mail: &str| {
            entry(
                "CN=Ada,OU=Staff,DC=corp",
                &[("sAMAccountName", "ABYRON"), ("mail", mail)],
            )
        };
        let group = |description: &str| {
            entry(
                "CN=Readers,DC=corp",
                &[("cn", "Readers"), ("description", description)],
            )
        };
        let refused = |d: &Directory, key: &str| {
            let e = convert(&m, d).map(|_| ()).unwrap_err().to_string();
            assert!(e.contains(key), "{e}");
            assert!(e.contains("control or invisible character"), "{e}");
            assert!(!e.chars().any(soxctl_model::identity::is_hidden), "{e:?}");
        };
        refused(
            &Directory {
                users: vec![user("ada\u{202e}@example.com")],
                groups: vec![group("Read")],
            },
            "users.email",
        );
        refused(
            &Directory {
                users: vec![user("ada@example.com")],
                groups: vec![group("Read\0only")],
            },
            "groups.description",
        );
        let c = convert(
            &m,
            &Directory {
                users: vec![user("ada@example.com")],
                groups: vec![group("Read,\nthen report")],
            },
        )
        .unwrap();
        assert!(
            c.snapshot
                .inventory
                .entitlements
                .values()
                .any(|e| e.description.as_deref() == Some("Read,\nthen report"))
        );
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
        // bob is in ops, ops in admins: bob holds admins too.
        assert_eq!(
            held(&c),
            [("ada", "admins"), ("bob", "admins"), ("bob", "ops")]
        );
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
            !c.warnings.iter().any(|w| w.contains("nested")),
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

    #[test]
    fn nesting_closes_over_chains_and_cycles() {
        // 0 in 1 in 2; 3 in 4 in 5 in 3; 6 in itself; 7 alone.
        let edges: &[&[usize]] = &[&[1], &[2], &[], &[4], &[5], &[3], &[6], &[]];
        let parents: Vec<BTreeSet<usize>> =
            edges.iter().map(|e| e.iter().copied().collect()).collect();
        let (closures, cycles) = nesting(&parents);
        let sorted = |v: &Vec<usize>| {
            let mut v = v.clone();
            v.sort_unstable();
            v
        };
        assert_eq!(sorted(&closures[0]), [0, 1, 2]);
        assert_eq!(sorted(&closures[1]), [1, 2]);
        assert_eq!(sorted(&closures[2]), [2]);
        for (g, closure) in closures.iter().enumerate().take(6).skip(3) {
            assert_eq!(sorted(closure), [3, 4, 5], "{g}");
        }
        assert_eq!(sorted(&closures[6]), [6]);
        assert_eq!(sorted(&closures[7]), [7]);
        // Each cycle once, as a path back to where it starts.
        assert_eq!(cycles, [vec![3, 4, 5, 3], vec![6, 6]]);
    }

    /// Users ada, bob, carol; groups: app in staff in all; ops in admins in
    /// ops (a cycle); carol in ops.
    fn nested_directory(member_of: bool) -> Directory {
        let s = ",dc=x";
        let user = |uid: &str, groups: &[&str]| {
            let mut attrs = vec![("uid", uid.to_owned()), ("mail", format!("{uid}@x"))];
            if member_of {
                attrs.extend(groups.iter().map(|g| ("memberOf", format!("cn={g}{s}"))));
            }
            let attrs: Vec<(&str, &str)> = attrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            entry(&format!("uid={uid}{s}"), &attrs)
        };
        // (group, its member users, its member groups)
        let layout: &[(&str, &[&str], &[&str])] = &[
            ("all", &[], &["staff"]),
            ("staff", &["bob"], &["app"]),
            ("app", &["ada"], &[]),
            ("admins", &[], &["ops"]),
            ("ops", &["carol"], &["admins"]),
        ];
        let groups = layout
            .iter()
            .map(|(cn, users, inner)| {
                let mut attrs = vec![("cn", (*cn).to_owned())];
                if member_of {
                    for (outer, _, members) in layout {
                        if members.contains(cn) {
                            attrs.push(("memberOf", format!("cn={outer}{s}")));
                        }
                    }
                } else {
                    attrs.extend(users.iter().map(|u| ("member", format!("uid={u}{s}"))));
                    attrs.extend(inner.iter().map(|g| ("member", format!("CN={g}{s}"))));
                }
                let attrs: Vec<(&str, &str)> =
                    attrs.iter().map(|(k, v)| (*k, v.as_str())).collect();
                entry(&format!("cn={cn}{s}"), &attrs)
            })
            .collect();
        let users_of = |uid: &str| -> Vec<&str> {
            layout
                .iter()
                .filter(|(_, users, _)| users.contains(&uid))
                .map(|(cn, _, _)| *cn)
                .collect()
        };
        Directory {
            users: ["ada", "bob", "carol"]
                .iter()
                .map(|u| user(u, &users_of(u)))
                .collect(),
            groups,
        }
    }

    #[test]
    fn nested_groups_expand_from_either_side_and_cycles_are_named() {
        let expanded = [
            ("ada", "all"),
            ("ada", "app"),
            ("ada", "staff"),
            ("bob", "all"),
            ("bob", "staff"),
            ("carol", "admins"),
            ("carol", "ops"),
        ];
        let from_members = Preset::OpenLdap.mapping().unwrap();
        let from_member_of = mapping(Preset::OpenLdap, |t| {
            t.replace("members = \"member\"", "member_of = \"memberOf\"")
        });
        for (m, member_of) in [(from_members, false), (from_member_of, true)] {
            let c = convert(&m, &nested_directory(member_of)).unwrap();
            assert_eq!(held(&c), expanded, "member_of: {member_of}");
            let cycle: Vec<&String> = c.warnings.iter().filter(|w| w.contains("cycle")).collect();
            assert_eq!(cycle.len(), 1, "{:?}", c.warnings);
            assert!(
                cycle[0].starts_with("1 cycles of nested groups")
                    && (cycle[0].contains("cn=ops,dc=x in cn=admins,dc=x in cn=ops,dc=x")
                        || cycle[0].contains("cn=admins,dc=x in cn=ops,dc=x in cn=admins,dc=x")),
                "{cycle:?}"
            );
        }

        // nested = "ignore": direct members only, as before expansion existed.
        let m = mapping(Preset::OpenLdap, |t| {
            t.replace("nested = \"expand\"", "nested = \"ignore\"")
        });
        let c = convert(&m, &nested_directory(false)).unwrap();
        assert_eq!(
            held(&c),
            [("ada", "app"), ("bob", "staff"), ("carol", "ops")]
        );
        assert!(
            c.warnings
                .iter()
                .any(|w| w.starts_with("4 members are groups") && w.contains("nested = \"ignore\"")),
            "{:?}",
            c.warnings
        );
        let m = mapping(Preset::OpenLdap, |t| {
            t.replace("members = \"member\"", "member_of = \"memberOf\"")
                .replace("nested = \"expand\"", "nested = \"ignore\"")
        });
        let c = convert(&m, &nested_directory(true)).unwrap();
        assert_eq!(
            held(&c),
            [("ada", "app"), ("bob", "staff"), ("carol", "ops")]
        );
    }

    const PEOPLE: &str = "\n[people]\nperson_id = \"employeeNumber\"\nname = \"cn\"\n\
        email = \"mail\"\ndepartment = \"departmentNumber\"\nmanager = \"manager\"\n";

    fn with_people(extra: &str) -> Mapping {
        mapping(Preset::OpenLdap, |t| {
            t.replace(
                "# service = { attribute = \"employeeType\", equals = \"service\" }",
                "service = { attribute = \"employeeType\", equals = \"service\" }",
            )
            .replace(
                "\n[[correlate]]",
                &format!("{PEOPLE}{extra}\n[[correlate]]"),
            )
        })
    }

    /// ada manages bob; bob is disabled; carol has no employee number;
    /// svc is a service account with one.
    fn people_directory() -> Directory {
        Directory {
            users: vec![
                entry(
                    "uid=bob,dc=x",
                    &[
                        ("uid", "bob"),
                        ("cn", "Bob Smith"),
                        ("mail", "bob@x"),
                        ("employeeNumber", "E2"),
                        ("departmentNumber", "Finance"),
                        ("manager", "UID=ada, dc=x"),
                        ("pwdAccountLockedTime", "20260101000000Z"),
                    ],
                ),
                entry(
                    "uid=ada,dc=x",
                    &[
                        ("uid", "ada"),
                        ("cn", "Ada Byron"),
                        ("mail", "ada@x"),
                        ("employeeNumber", "E1"),
                    ],
                ),
                entry("uid=carol,dc=x", &[("uid", "carol"), ("mail", "carol@x")]),
                entry(
                    "uid=svc,dc=x",
                    &[
                        ("uid", "svc"),
                        ("mail", "svc@x"),
                        ("employeeNumber", "S1"),
                        ("employeeType", "service"),
                    ],
                ),
            ],
            groups: vec![],
        }
    }

    #[test]
    fn users_with_a_person_id_are_people_and_their_accounts_link_to_them() {
        let m = with_people("");
        let c = convert(&m, &people_directory()).unwrap();
        let inv = &c.snapshot.inventory;
        let ids: Vec<&str> = inv.people.keys().map(|p| p.as_str()).collect();
        assert_eq!(
            ids,
            ["E1", "E2"],
            "no person for carol nor the service account"
        );
        let bob = &inv.people[&PersonId::parse("E2").unwrap()];
        assert_eq!(bob.name.as_deref(), Some("Bob Smith"));
        assert_eq!(bob.email.as_deref(), Some("bob@x"));
        assert_eq!(bob.department.as_deref(), Some("Finance"));
        assert_eq!(bob.title, None);
        assert_eq!(bob.manager_id.as_ref().map(|m| m.as_str()), Some("E1"));
        assert_eq!(
            bob.status,
            PersonStatus::Active,
            "a disabled user says nothing of its person by default"
        );
        let person_of = |account: &str| {
            inv.accounts
                .values()
                .find(|a| a.account_id.as_str() == account)
                .unwrap()
                .person_id
                .as_ref()
                .map(|p| p.as_str().to_owned())
        };
        assert_eq!(person_of("ada").as_deref(), Some("E1"));
        assert_eq!(person_of("bob").as_deref(), Some("E2"));
        assert_eq!(person_of("carol"), None, "left to the correlation rules");
        assert_eq!(person_of("svc"), None);
        assert_eq!(c.snapshot.existing_people, ExistingPeople::Keep);
        assert!(
            c.warnings
                .iter()
                .any(|w| w.starts_with("1 human users have no 'employeeNumber'")
                    && w.contains("uid=carol")),
            "{:?}",
            c.warnings
        );

        // A disabled user's person is on leave; "update" names the mapped fields.
        let m = with_people("disabled = \"leave\"\nexisting = \"update\"\n");
        let c = convert(&m, &people_directory()).unwrap();
        let bob = &c.snapshot.inventory.people[&PersonId::parse("E2").unwrap()];
        assert_eq!(bob.status, PersonStatus::Leave);
        assert_eq!(
            c.snapshot.existing_people,
            ExistingPeople::Update(PersonFields {
                name: true,
                email: true,
                manager: true,
                department: true,
                title: false,
                status: Some(PersonStatus::Leave),
            })
        );
    }

    #[test]
    fn bad_people_are_errors_that_name_the_entries() {
        let m = with_people("");
        let mut d = people_directory();
        d.users[2]
            .attrs
            .insert("employeenumber".into(), vec!["e1".into()]);
        let err = convert(&m, &d).unwrap_err().to_string();
        assert!(
            err.contains("person id 'e1' (people.person_id) is used by two users (uid=ada,dc=x and uid=carol,dc=x)"),
            "{err}"
        );

        let with_manager = |manager: &str| {
            let mut d = people_directory();
            d.users[1]
                .attrs
                .insert("manager".into(), vec![manager.to_owned()]);
            convert(&m, &d).unwrap_err().to_string()
        };
        let err = with_manager("uid=ghost,dc=x");
        assert!(
            err.starts_with("uid=ada,dc=x: its manager 'uid=ghost,dc=x' (people.manager) is not a user of the user search;"),
            "{err}"
        );
        assert!(err.contains("drop people.manager"), "{err}");
        let err = with_manager("uid=carol,dc=x");
        assert!(
            err.contains("is a user without 'employeeNumber' (people.person_id)"),
            "{err}"
        );
        let err = with_manager("uid=svc,dc=x");
        assert!(err.contains("is a service account"), "{err}");

        let mut d = people_directory();
        for user in &mut d.users {
            user.attrs.remove("employeenumber");
        }
        let err = convert(&m, &d).unwrap_err().to_string();
        assert!(
            err.contains("none of the 4 user entries has the attribute 'employeeNumber' mapped as people.person_id"),
            "{err}"
        );

        let err = Mapping::parse(
            &Preset::OpenLdap
                .text()
                .replace(
                    "disabled = { attribute = \"pwdAccountLockedTime\", present = true }",
                    "",
                )
                .replace(
                    "\n[[correlate]]",
                    &format!("{PEOPLE}disabled = \"terminated\"\n\n[[correlate]]"),
                ),
            "m.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("people.disabled needs users.disabled"),
            "{err}"
        );
        let err = Mapping::parse(
            &Preset::OpenLdap.text().replace(
                "\n[[correlate]]",
                &format!("{PEOPLE}existing = \"merge\"\n\n[[correlate]]"),
            ),
            "m.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`keep`") && err.contains("`update`"), "{err}");
    }
}
