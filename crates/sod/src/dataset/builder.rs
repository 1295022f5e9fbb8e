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

/// Counting sort by account, then each account's list sorted and
/// deduplicated in place (the sorting split over the cores).
fn group_unbounded(
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
