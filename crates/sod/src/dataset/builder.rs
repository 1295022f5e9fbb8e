//! Collects accounts and grants, then lays them out for scanning.

use super::{AccountKind, AccountRecord, Dataset, IdentityKey, owner};
use crate::catalogue::{Catalogue, EntitlementId, SystemId};
use crate::hash::{AccountIndex, Interner, dense_id};
use crate::interval::{Bounded, Interval};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatasetError {
    #[error(
        "account {system}:{account} is listed twice; each (system_id, account_id) must be unique"
    )]
    DuplicateAccount { system: String, account: String },
    #[error("grant to unknown account {system}:{account}; add the account before its grants")]
    UnknownAccount { system: String, account: String },
    #[error("{field} is empty; give a non-empty id")]
    EmptyId { field: &'static str },
    #[error(
        "grant of {system}:{entitlement} to {system}:{account} has an empty validity interval (from {from} is not before to {to})"
    )]
    EmptyInterval {
        system: String,
        account: String,
        entitlement: String,
        from: i64,
        to: i64,
    },
}

/// One account, as a caller describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountSpec<'a> {
    pub system: &'a str,
    pub account: &'a str,
    /// The person the account is correlated to; `None` or empty if none.
    pub person: Option<&'a str>,
    pub kind: AccountKind,
    pub active: bool,
}

#[derive(Debug, Clone, Default)]
pub struct DatasetBuilder {
    pub(crate) catalogue: Catalogue,
    pub(crate) people: Interner,
    pub(crate) accounts: Vec<AccountRecord>,
    /// Per system: account id → account index.
    pub(crate) account_index: Vec<AccountIndex>,
    pub(crate) grants: Vec<(u32, EntitlementId)>,
    pub(crate) bounded: Vec<(u32, Bounded)>,
    as_of: Option<i64>,
}

impl DatasetBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts from a catalogue (for example an entitlements list).
    pub fn with_catalogue(catalogue: Catalogue) -> Self {
        Self {
            catalogue,
            ..Self::default()
        }
    }

    /// Adds an entitlement to the catalogue without granting it.
    pub fn entitlement(&mut self, system: &str, entitlement: &str) -> EntitlementId {
        self.catalogue.insert(system, entitlement)
    }

    /// The instant the facts describe, used by [`crate::When::Now`].
    pub fn as_of(&mut self, now: i64) -> &mut Self {
        self.as_of = Some(now);
        self
    }

    pub fn account(&mut self, spec: AccountSpec<'_>) -> Result<(), DatasetError> {
        non_empty(spec.system, "system_id")?;
        non_empty(spec.account, "account_id")?;
        let system = self.system(spec.system);
        let index = dense_id(self.accounts.len());
        let map = self.index_of(system);
        if !map.insert(spec.account, index) {
            return Err(DatasetError::DuplicateAccount {
                system: spec.system.to_owned(),
                account: spec.account.to_owned(),
            });
        }
        let name: Arc<str> = Arc::from(spec.account);
        let person = spec
            .person
            .filter(|p| !p.is_empty())
            .map(|p| self.people.intern(p));
        self.accounts.push(AccountRecord {
            system,
            name,
            person,
            kind: spec.kind,
            active: spec.active,
        });
        Ok(())
    }

    /// Grants `system:entitlement` to account `system:account` during
    /// `interval` ([`Interval::ALWAYS`] without time data).
    pub fn grant(
        &mut self,
        system: &str,
        account: &str,
        entitlement: &str,
        interval: Interval,
    ) -> Result<(), DatasetError> {
        non_empty(entitlement, "entitlement_id")?;
        let unknown = || DatasetError::UnknownAccount {
            system: system.to_owned(),
            account: account.to_owned(),
        };
        let sys = self.catalogue.system_id(system).ok_or_else(unknown)?;
        let index = self
            .account_index
            .get(sys as usize)
            .and_then(|m| m.get(account))
            .ok_or_else(unknown)?;
        if interval.is_empty() {
            return Err(DatasetError::EmptyInterval {
                system: system.to_owned(),
                account: account.to_owned(),
                entitlement: entitlement.to_owned(),
                from: interval.from.unwrap_or(i64::MIN),
                to: interval.to.unwrap_or(i64::MAX),
            });
        }
        let ent = self.catalogue.insert_in(sys, entitlement);
        if interval.is_always() {
            self.grants.push((index, ent));
        } else {
            self.bounded.push((index, interval.bounded(ent)));
        }
        Ok(())
    }

    pub(crate) fn system(&mut self, system: &str) -> SystemId {
        let sys = self.catalogue.intern_system(system);
        self.index_of(sys);
        sys
    }

    fn index_of(&mut self, system: SystemId) -> &mut AccountIndex {
        let at = system as usize;
        if self.account_index.len() <= at {
            self.account_index
                .resize_with(at + 1, AccountIndex::default);
        }
        &mut self.account_index[at]
    }

    /// Lays the facts out for scanning.
    pub fn build(self) -> Dataset {
        let n = self.accounts.len();
        let (grant_start, grants) = group_unbounded(n, self.grants);
        let (bounded_start, bounded) = group_bounded(n, self.bounded);
        let mut person_identity = vec![u32::MAX; self.people.len()];
        let mut identities = Vec::new();
        let mut identity_of = vec![u32::MAX; n];
        for (index, account) in self.accounts.iter().enumerate() {
            if !account.active {
                continue;
            }
            let key = owner(account.kind, account.person, dense_id(index));
            let slot = match key {
                IdentityKey::Person(p) => person_identity.get_mut(p as usize),
                IdentityKey::Account(_) => None,
            };
            identity_of[index] = match slot {
                Some(id) if *id != u32::MAX => *id,
                other => {
                    let id = dense_id(identities.len());
                    identities.push(key);
                    if let Some(slot) = other {
                        *slot = id;
                    }
                    id
                }
            };
        }
        let mut identity_start = vec![0usize; identities.len() + 1];
        for &i in identity_of.iter().filter(|&&i| i != u32::MAX) {
            identity_start[i as usize + 1] += 1;
        }
        prefix_sum(&mut identity_start);
        let mut fill = identity_start.clone();
        let mut identity_accounts = vec![0u32; identity_start.last().copied().unwrap_or(0)];
        for (account, &i) in identity_of.iter().enumerate() {
            if i != u32::MAX {
                let slot = &mut fill[i as usize];
                identity_accounts[*slot] = dense_id(account);
                *slot += 1;
            }
        }
        Dataset {
            catalogue: self.catalogue,
            people: self.people,
            accounts: self.accounts,
            grant_start,
            grants,
            bounded_start,
            bounded,
            identities,
            identity_start,
            identity_accounts,
            as_of: self.as_of,
        }
    }
}

fn non_empty(value: &str, field: &'static str) -> Result<(), DatasetError> {
    if value.is_empty() {
        Err(DatasetError::EmptyId { field })
    } else {
        Ok(())
    }
}

fn prefix_sum(counts: &mut [usize]) {
    let mut total = 0;
    for c in counts.iter_mut() {
        total += *c;
        *c = total;
    }
}

/// Each account's entitlements, sorted and distinct, in one array: by
/// [`group_sorted`] when the pairs come grouped by account in account order
/// (as snapshot exports list them), else by a counting sort.
fn group_unbounded(
    accounts: usize,
    pairs: Vec<(u32, EntitlementId)>,
) -> (Vec<usize>, Vec<EntitlementId>) {
    match group_sorted(accounts, &pairs) {
        Some(grouped) => grouped,
        None => counting_sort(accounts, pairs),
    }
}

/// (account, distinct count) per run, and the runs' entitlements.
type Part = (Vec<(u32, u32)>, Vec<EntitlementId>);

/// The pairs split at account boundaries, one part per core; each part
/// sorts and deduplicates its accounts' runs into its own array. `None`
/// when the accounts are not in order.
fn group_sorted(
    accounts: usize,
    pairs: &[(u32, EntitlementId)],
) -> Option<(Vec<usize>, Vec<EntitlementId>)> {
    let parts = if pairs.len() < 1 << 16 {
        1
    } else {
        crate::parallel::threads()
    };
    // Cut points, moved forward to the next change of account.
    let mut cuts = vec![0];
    for i in 1..parts {
        let mut at = pairs.len() * i / parts;
        while at > 0
            && at < pairs.len()
            && pairs.get(at - 1).map(|p| p.0) == pairs.get(at).map(|p| p.0)
        {
            at += 1;
        }
        cuts.push(at.max(cuts.last().copied().unwrap_or(0)));
    }
    cuts.push(pairs.len());
    let ranges: Vec<&[(u32, EntitlementId)]> = cuts
        .windows(2)
        .map(|w| pairs.get(w[0]..w[1]).unwrap_or(&[]))
        .collect();
    let results: Vec<Option<Part>> = std::thread::scope(|scope| {
        let handles: Vec<_> = ranges
            .iter()
            .skip(1)
            .map(|&range| scope.spawn(move || group_part(accounts, range)))
            .collect();
        let mut out = vec![ranges.first().and_then(|&r| group_part(accounts, r))];
        out.extend(handles.into_iter().map(|h| {
            h.join()
                .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
        }));
        out
    });
    let results: Vec<Part> = results.into_iter().collect::<Option<_>>()?;
    // Parts must follow each other in account order too.
    let mut previous = None;
    for (runs, _) in &results {
        if let (Some(p), Some(&(first, _))) = (previous, runs.first())
            && first <= p
        {
            return None;
        }
        previous = runs.last().map(|r| r.0).or(previous);
    }
    let mut lens = vec![0usize; accounts + 1];
    let total = results.iter().map(|(_, e)| e.len()).sum();
    let mut ents = Vec::with_capacity(total);
    for (runs, part) in results {
        for (account, len) in runs {
            if let Some(slot) = lens.get_mut(account as usize + 1) {
                *slot = len as usize;
            }
        }
        ents.extend_from_slice(&part);
    }
    prefix_sum(&mut lens);
    Some((lens, ents))
}

/// One part of [`group_sorted`]: (account, distinct count) per run, and the
/// runs' sorted, distinct entitlements; `None` if out of order.
fn group_part(accounts: usize, pairs: &[(u32, EntitlementId)]) -> Option<Part> {
    let mut runs = Vec::new();
    let mut ents: Vec<EntitlementId> = Vec::with_capacity(pairs.len());
    let mut at = 0;
    let mut previous: Option<u32> = None;
    while let Some(&(account, _)) = pairs.get(at) {
        if previous.is_some_and(|p| account <= p) || account as usize >= accounts {
            return None;
        }
        let from = ents.len();
        while let Some(&(a, e)) = pairs.get(at)
            && a == account
        {
            ents.push(e);
            at += 1;
        }
        let run = ents.get_mut(from..).unwrap_or(&mut []);
        run.sort_unstable();
        let mut write = from;
        for read in from..ents.len() {
            let e = ents.get(read).copied().unwrap_or(0);
            if write == from || ents.get(write - 1) != Some(&e) {
                if let Some(slot) = ents.get_mut(write) {
                    *slot = e;
                }
                write += 1;
            }
        }
        ents.truncate(write);
        runs.push((account, dense_id(write - from)));
        previous = Some(account);
    }
    Some((runs, ents))
}

/// Counting sort by account, then each account's list sorted and
/// deduplicated in place (the sorting split over the cores).
fn counting_sort(
    accounts: usize,
    pairs: Vec<(u32, EntitlementId)>,
) -> (Vec<usize>, Vec<EntitlementId>) {
    let mut start = vec![0usize; accounts + 1];
    for &(a, _) in &pairs {
        start[a as usize + 1] += 1;
    }
    prefix_sum(&mut start);
    let mut fill = start.clone();
    let mut ents = vec![0; pairs.len()];
    for (a, e) in pairs {
        let slot = &mut fill[a as usize];
        ents[*slot] = e;
        *slot += 1;
    }
    drop(fill);
    sort_rows(&start, &mut ents);
    let mut write = 0;
    let mut compact_start = vec![0usize; accounts + 1];
    for a in 0..accounts {
        let (from, to) = (start[a], start[a + 1]);
        let mut last = None;
        for read in from..to {
            let e = ents[read];
            if last != Some(e) {
                ents[write] = e;
                write += 1;
                last = Some(e);
            }
        }
        compact_start[a + 1] = write;
    }
    ents.truncate(write);
    ents.shrink_to_fit();
    (compact_start, ents)
}

fn sort_rows(start: &[usize], values: &mut [EntitlementId]) {
    let accounts = start.len().saturating_sub(1);
    let threads = if values.len() < 1 << 20 {
        1
    } else {
        crate::parallel::threads()
    };
    if threads < 2 {
        for a in 0..accounts {
            values[start[a]..start[a + 1]].sort_unstable();
        }
        return;
    }
    // Split at account boundaries into roughly equal halves of values.
    let mid_account = start
        .partition_point(|&s| s < values.len() / 2)
        .min(accounts);
    let (left, right) = values.split_at_mut(start[mid_account]);
    let offset = start[mid_account];
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for a in 0..mid_account {
                left[start[a]..start[a + 1]].sort_unstable();
            }
        });
        for a in mid_account..accounts {
            right[start[a] - offset..start[a + 1] - offset].sort_unstable();
        }
    });
}

fn group_bounded(accounts: usize, mut pairs: Vec<(u32, Bounded)>) -> (Vec<usize>, Vec<Bounded>) {
    if pairs.is_empty() {
        return (Vec::new(), Vec::new());
    }
    pairs.sort_unstable();
    pairs.dedup();
    let mut start = vec![0usize; accounts + 1];
    for &(a, _) in &pairs {
        start[a as usize + 1] += 1;
    }
    prefix_sum(&mut start);
    (start, pairs.into_iter().map(|(_, b)| b).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_in_parts_matches_the_counting_sort() {
        let accounts = 40_000;
        let mut pairs = Vec::new();
        let mut x = 0x9E37_79B9u64;
        for a in 0..accounts as u32 {
            // Some accounts have none; repeats and any order within a run.
            for _ in 0..(a % 5) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                pairs.push((a, (x % 7) as u32));
            }
        }
        assert!(pairs.len() > 1 << 16);
        let grouped = group_sorted(accounts, &pairs);
        assert_eq!(grouped, Some(counting_sort(accounts, pairs.clone())));
        // Out of order: no grouping, and the counting sort still applies.
        let n = pairs.len();
        pairs.swap(10, n - 10);
        assert_eq!(group_sorted(accounts, &pairs), None);
        let (start, ents) = group_unbounded(accounts, pairs.clone());
        assert_eq!((start, ents), counting_sort(accounts, pairs));
    }
}
