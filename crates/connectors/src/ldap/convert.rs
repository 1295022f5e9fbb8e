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
mod tests;
