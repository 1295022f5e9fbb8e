//! What a snapshot is made into before it is compared with the store:
//! people merged with those already held (as the snapshot asks), managers
//! who manage themselves dropped, role contents a partial snapshot leaves
//! out kept, and uncorrelated accounts linked to people.

use super::*;

/// Links accounts the snapshot leaves uncorrelated, by the correlation rules
/// over the people of the snapshot and the store; `None` when none links.
pub fn correlate_accounts(
    snapshot: &Snapshot,
    current: &soxctl_model::inventory::Inventory,
    rules: &Rules,
) -> Option<Snapshot> {
    let unlinked = || {
        snapshot
            .inventory
            .accounts
            .values()
            .filter(|a| a.person_id.is_none())
    };
    unlinked().next()?;
    let people = current
        .people
        .iter()
        .filter(|(id, _)| !snapshot.inventory.people.contains_key(*id))
        .chain(&snapshot.inventory.people)
        .map(|(_, p)| p);
    let correlator = Correlator::new(people, rules.clone());
    let links: Vec<_> = unlinked()
        .filter_map(|a| {
            let attributes = match snapshot.account_hints.get(&a.key()) {
                Some(hints) => hints.attributes(a.account_id.as_str()),
                None => AccountAttributes {
                    account_id: a.account_id.as_str(),
                    ..Default::default()
                },
            };
            let person = correlator.correlate(&a.system_id, None, &attributes)?;
            Some(((a.system_id.clone(), a.account_id.clone()), person))
        })
        .collect();
    if links.is_empty() {
        return None;
    }
    let mut linked = snapshot.clone();
    for (key, person) in links {
        if let Some(account) = linked.inventory.accounts.get_mut(&key) {
            account.person_id = Some(person);
        }
    }
    Some(linked)
}

/// Applies the snapshot's [`ExistingPeople`] to the people the store
/// already holds; `None` when its people go in as they are.
pub(super) fn merge_existing_people(snapshot: &Snapshot, current: &Inventory) -> Option<Snapshot> {
    if snapshot.existing_people == ExistingPeople::Replace {
        return None;
    }
    snapshot
        .inventory
        .people
        .keys()
        .find(|id| current.people.contains_key(*id))?;
    let mut merged = snapshot.clone();
    let people = &mut merged.inventory.people;
    match snapshot.existing_people {
        ExistingPeople::Replace => return None,
        ExistingPeople::Keep => people.retain(|id, _| !current.people.contains_key(id)),
        ExistingPeople::Update(fields) => {
            for (id, person) in people.iter_mut() {
                if let Some(held) = current.people.get(id) {
                    *person = merged_person(held, person, &fields);
                }
            }
        }
    }
    Some(merged)
}

/// People who are their own manager, recorded with no manager: routing
/// sends a request to the requester's manager, so a self-manager would
/// approve their own requests. The snapshot reader already does this, with
/// a warning naming the line; this covers every other source (a
/// directory's manager naming the user itself, a person kept as the store
/// held them). `None` when nobody is.
pub(super) fn without_self_managers(snapshot: &Snapshot) -> Option<Snapshot> {
    let own_manager = |p: &Person| p.manager_id.as_ref() == Some(&p.person_id);
    snapshot
        .inventory
        .people
        .values()
        .find(|p| own_manager(p))?;
    let mut fixed = snapshot.clone();
    for person in fixed.inventory.people.values_mut() {
        if own_manager(person) {
            tracing::warn!(
                person = %soxctl_model::identity::escape(person.person_id.as_str()),
                "the person is their own manager; recorded with no manager"
            );
            person.manager_id = None;
        }
    }
    Some(fixed)
}

/// `held` with the `fields` a source is authoritative for taken from `seen`.
pub fn merged_person(held: &Person, seen: &Person, fields: &PersonFields) -> Person {
    fn pick<T: Clone>(authoritative: bool, seen: &Option<T>, held: &Option<T>) -> Option<T> {
        if authoritative { seen } else { held }.clone()
    }
    use PersonStatus::Active;
    let status = match fields.status {
        Some(gone) if held.status == Active && seen.status == gone => gone,
        Some(gone) if held.status == gone && seen.status == Active => Active,
        _ => held.status,
    };
    Person {
        person_id: held.person_id.clone(),
        name: pick(fields.name, &seen.name, &held.name),
        email: pick(fields.email, &seen.email, &held.email),
        manager_id: pick(fields.manager, &seen.manager_id, &held.manager_id),
        department: pick(fields.department, &seen.department, &held.department),
        title: pick(fields.title, &seen.title, &held.title),
        status,
        hire_date: held.hire_date,
        termination_date: held.termination_date,
    }
}

/// A source that knows nothing of roles keeps the store's role entitlements
/// of its scope; `None` when there is nothing to keep.
pub(super) fn keep_role_entitlements(
    snapshot: &Snapshot,
    current: &soxctl_model::inventory::Inventory,
) -> Option<Snapshot> {
    if !snapshot.keeps_role_entitlements {
        return None;
    }
    let mut kept = current
        .role_entitlements
        .iter()
        // Those of a vanished entitlement go with it.
        .filter(|(key, _)| {
            snapshot.scope.contains(&key.1)
                && snapshot
                    .inventory
                    .entitlements
                    .contains_key(&(key.1.clone(), key.2.clone()))
        })
        .peekable();
    kept.peek()?;
    let mut with = snapshot.clone();
    for (key, r) in kept {
        with.inventory
            .role_entitlements
            .entry(key.clone())
            .or_insert_with(|| r.clone());
    }
    Some(with)
}
