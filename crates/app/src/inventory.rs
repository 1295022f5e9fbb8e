//! The inventory as people ask about it: who has an entitlement, what a
//! person can do (now or at an instant), and finding people, systems and
//! entitlements by what one remembers of them. Every answer that names a
//! person shows their name beside the id (erased people as erased).

use soxctl_api::inventory::{AccessOfView, WhoHasView};
use soxctl_api::people::{
    EntitlementList, EntitlementView, Names, PeopleList, PersonView, Shown, SystemList, SystemView,
};
use soxctl_model::ids::{EntitlementRef, PersonId, SystemId};
use soxctl_model::time::Timestamp;
use soxctl_store::{Store, StoreError};
use std::collections::{BTreeMap, BTreeSet};

/// People listed when no limit is given.
pub const DEFAULT_PEOPLE: u64 = 50;
/// The most people one answer lists.
pub const MAX_PEOPLE: u64 = 1_000;

/// Why a lookup could not answer; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("limit {0} is more than {MAX_PEOPLE}: narrow the query instead")]
    Limit(u64),
    #[error("no system '{0}' in the inventory; `soxctl systems` lists them")]
    UnknownSystem(SystemId),
    #[error(
        "no entitlement '{0}' in the inventory, and nobody held one by that name then; `soxctl entitlements {system}` lists them",
        system = .0.system
    )]
    UnknownEntitlement(EntitlementRef),
    #[error("the window ends ({to}) before it starts ({from}): give a start earlier than the end")]
    Window { from: Timestamp, to: Timestamp },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The names to show beside these person ids.
pub async fn names(
    store: &Store,
    ids: impl IntoIterator<Item = PersonId>,
) -> Result<Names, StoreError> {
    let ids: Vec<PersonId> = ids
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if ids.is_empty() {
        return Ok(Names::new());
    }
    Ok(store
        .people_by_id(&ids)
        .await?
        .into_iter()
        .filter_map(|row| {
            let shown = if row.erased {
                Shown::Erased
            } else {
                Shown::Name(row.person.name?)
            };
            Some((row.person.person_id, shown))
        })
        .collect())
}

/// The names to show beside the people requests and grants name: their
/// requesters, approvers and holders.
pub async fn names_in_requests<'a>(
    store: &Store,
    requests: impl IntoIterator<Item = &'a soxctl_model::request::RequestRow>,
    grants: impl IntoIterator<Item = &'a soxctl_model::request::AccessGrantRow>,
) -> Result<Names, StoreError> {
    let mut ids = Vec::new();
    for r in requests {
        ids.push(r.requester_id.clone());
        ids.extend(r.approvers.iter().cloned());
    }
    ids.extend(grants.into_iter().map(|g| g.person_id.clone()));
    names(store, ids).await
}

/// Who holds `entitlement` now or at `at`, with the holders' names.
pub async fn who_has(
    store: &Store,
    entitlement: &EntitlementRef,
    at: Option<Timestamp>,
) -> Result<WhoHasView, LookupError> {
    let answer = store.who_has(entitlement, at).await?;
    // A typo must not read as "nobody": a known system's entitlement that
    // neither exists nor was held is refused.
    if answer.holdings.is_empty()
        && matches!(
            answer.coverage,
            soxctl_model::history::Coverage::Known { .. }
        )
        && !store.entitlements().await?.iter().any(|e| {
            e.system_id == entitlement.system && e.entitlement_id == entitlement.entitlement
        })
    {
        return Err(LookupError::UnknownEntitlement(entitlement.clone()));
    }
    let names = names(
        store,
        answer.holdings.iter().filter_map(|h| h.person_id.clone()),
    )
    .await?;
    Ok(WhoHasView::of(
        &answer.entitlement,
        answer.at,
        &answer.coverage,
        &answer.holdings,
        &names,
    ))
}

/// What `person` could do now or at `at`, with their name.
pub async fn access_of(
    store: &Store,
    person: &PersonId,
    at: Option<Timestamp>,
) -> Result<AccessOfView, StoreError> {
    let answer = store.access_of(person, at).await?;
    let names = names(store, [answer.person_id.clone()]).await?;
    Ok(AccessOfView::of(
        &answer.person_id,
        answer.at,
        &answer.holdings,
        &answer.unknown_systems,
        &names,
    ))
}

/// Every change to `person`'s access in `[from, to]` (default: from the
/// beginning, until now), oldest first.
pub async fn history(
    store: &Store,
    person: &PersonId,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> Result<Vec<soxctl_api::inventory::AccessChangeView>, LookupError> {
    let from = from.unwrap_or(Timestamp::EPOCH);
    let to = to.unwrap_or_else(|| store.context().clock.now());
    if to < from {
        return Err(LookupError::Window { from, to });
    }
    let changes = store.history_of(person, from, to).await?;
    Ok(changes.iter().map(Into::into).collect())
}

/// The human accounts of `system` that belong to no person (orphans), by id.
pub async fn orphans(
    store: &Store,
    system: &SystemId,
) -> Result<Vec<soxctl_model::ids::AccountId>, StoreError> {
    Ok(store
        .inventory()
        .await?
        .accounts
        .into_values()
        .filter(|a| {
            &a.system_id == system
                && a.kind == soxctl_model::inventory::AccountKind::Human
                && a.person_id.is_none()
        })
        .map(|a| a.account_id)
        .collect())
}

/// `text` as a lowercase LIKE pattern that finds it anywhere, its own `%`,
/// `_` and `\` taken literally.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// People whose id, name or email contain `text` (without regard to case;
/// none or blank: everyone), by id, at most `limit`.
pub async fn people(
    store: &Store,
    text: Option<&str>,
    limit: Option<u64>,
) -> Result<PeopleList, LookupError> {
    let limit = limit.unwrap_or(DEFAULT_PEOPLE);
    if limit > MAX_PEOPLE {
        return Err(LookupError::Limit(limit));
    }
    let pattern = text
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(contains_pattern);
    let mut rows = store.people_matching(pattern.as_deref(), limit + 1).await?;
    let truncated = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(PeopleList {
        people: rows.iter().map(PersonView::from).collect(),
        truncated,
    })
}

/// Every system, with its owner's name and how many entitlements it has.
pub async fn systems(store: &Store) -> Result<SystemList, StoreError> {
    let systems = store.systems().await?;
    let mut counts: BTreeMap<SystemId, u64> = BTreeMap::new();
    for e in store.entitlements().await? {
        *counts.entry(e.system_id).or_default() += 1;
    }
    let names = names(store, systems.iter().filter_map(|s| s.owner_id.clone())).await?;
    Ok(SystemList {
        systems: systems
            .iter()
            .map(|s| SystemView::of(s, counts.get(&s.system_id).copied().unwrap_or(0), &names))
            .collect(),
    })
}

/// Every entitlement, or those of `system`, with their owners' names.
pub async fn entitlements(
    store: &Store,
    system: Option<&SystemId>,
) -> Result<EntitlementList, LookupError> {
    if let Some(system) = system
        && !store
            .systems()
            .await?
            .iter()
            .any(|s| &s.system_id == system)
    {
        return Err(LookupError::UnknownSystem(system.clone()));
    }
    let entitlements: Vec<_> = store
        .entitlements()
        .await?
        .into_iter()
        .filter(|e| system.is_none_or(|s| &e.system_id == s))
        .collect();
    let names = names(
        store,
        entitlements.iter().filter_map(|e| e.owner_id.clone()),
    )
    .await?;
    Ok(EntitlementList {
        entitlements: entitlements
            .iter()
            .map(|e| EntitlementView::of(e, &names))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn patterns_take_wildcards_literally() {
        assert_eq!(contains_pattern("Ann"), "%ann%");
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
