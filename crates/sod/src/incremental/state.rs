//! The engine's state and how each change moves it.

use super::{AccountState, ChangeError, Engine, IdentityState, non_empty};
use crate::catalogue::EntitlementId;
use crate::compile::{Compiled, Warning};
use crate::dataset::{AccountKind, Dataset, IdentityKey, owner};
use crate::eval::{Scratch, violated};
use crate::hash::{FastMap, dense_id};
use crate::interval::Interval;
use crate::parallel::map_ranges;
use crate::rules::RuleSet;
use std::collections::BTreeMap;
use std::sync::Arc;

const NONE: u32 = u32::MAX;

impl Engine {
    /// Takes over a dataset and analyses it once (split over the cores).
    pub fn new(rules: &RuleSet, dataset: Dataset) -> (Self, Vec<Warning>) {
        let (compiled, warnings) = Compiled::compile(rules, dataset.catalogue());
        let mut accounts = Vec::with_capacity(dataset.accounts.len());
        let mut boundaries: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
        for (index, record) in dataset.accounts.iter().enumerate() {
            let bounded = dataset.bounded_of(index).to_vec();
            for b in &bounded {
                add_boundaries(&mut boundaries, b.from, b.to, dense_id(index));
            }
            accounts.push(AccountState {
                system: record.system,
                name: Arc::clone(&record.name),
                person: record.person,
                kind: record.kind,
                active: record.active,
                live: true,
                identity: NONE,
                own_identity: None,
                unbounded: dataset.unbounded_of(index).to_vec(),
                bounded,
            });
        }
        let mut account_index = vec![FastMap::default(); dataset.catalogue.system_count()];
        for (index, a) in accounts.iter().enumerate() {
            if let Some(map) = account_index.get_mut(a.system as usize) {
                map.insert(Arc::clone(&a.name), dense_id(index));
            }
        }
        let mut engine = Self {
            scratch: Scratch::new(&compiled),
            compiled,
            people: dataset.people.clone(),
            person_identity: vec![NONE; dataset.people.len()],
            catalogue: dataset.catalogue,
            accounts,
            account_index,
            identities: Vec::new(),
            boundaries,
            now: dataset.as_of,
        };
        for a in 0..engine.accounts.len() {
            engine.attach(dense_id(a));
        }
        let found = {
            let e = &engine;
            map_ranges(e.identities.len(), |range| {
                let mut scratch = Scratch::new(&e.compiled);
                let mut views = Vec::new();
                range
                    .map(|i| {
                        e.views(dense_id(i), &mut views);
                        violated(&e.compiled, &e.compiled, &mut scratch, &views, e.now).to_vec()
                    })
                    .collect()
            })
        };
        for (identity, risks) in engine.identities.iter_mut().zip(found) {
            identity.violated = risks;
        }
        (engine, warnings)
    }

    pub(super) fn account(&self, system: &str, account: &str) -> Option<u32> {
        let sys = self.catalogue.system_id(system)?;
        self.account_index.get(sys as usize)?.get(account).copied()
    }

    fn account_or_error(&self, system: &str, account: &str) -> Result<u32, ChangeError> {
        self.account(system, account)
            .ok_or_else(|| ChangeError::UnknownAccount {
                system: system.to_owned(),
                account: account.to_owned(),
            })
    }

    pub(super) fn intern_entitlement(&mut self, system: &str, entitlement: &str) -> EntitlementId {
        let before = self.catalogue.len();
        let id = self.catalogue.insert(system, entitlement);
        if self.catalogue.len() != before {
            self.compiled.refresh(&self.catalogue);
        }
        id
    }

    /// Adds (`add`) or removes a grant; returns the identities to re-check.
    pub(super) fn grant(
        &mut self,
        system: &str,
        account: &str,
        entitlement: &str,
        interval: Interval,
        add: bool,
    ) -> Result<Vec<u32>, ChangeError> {
        non_empty(entitlement, "entitlement_id")?;
        let a = self.account_or_error(system, account)?;
        if interval.is_empty() {
            return Err(ChangeError::EmptyInterval {
                entitlement: format!("{system}:{entitlement}"),
                from: interval.from.unwrap_or(i64::MIN),
                to: interval.to.unwrap_or(i64::MAX),
            });
        }
        let ent = if add {
            self.intern_entitlement(system, entitlement)
        } else {
            match self.catalogue.get(system, entitlement) {
                Some(e) => e,
                None => return Ok(Vec::new()),
            }
        };
        let Some(acc) = self.accounts.get_mut(a as usize) else {
            return Ok(Vec::new());
        };
        let changed = if interval.is_always() {
            edit_sorted(&mut acc.unbounded, ent, add)
        } else {
            let b = interval.bounded(ent);
            let changed = edit_sorted(&mut acc.bounded, b, add);
            if changed && add {
                add_boundaries(&mut self.boundaries, b.from, b.to, a);
            }
            changed
        };
        Ok(if changed && acc.active {
            vec![acc.identity]
        } else {
            Vec::new()
        })
    }

    pub(super) fn upsert_account(
        &mut self,
        system: &str,
        account: &str,
        person: Option<&str>,
        kind: AccountKind,
        active: bool,
    ) -> Result<Vec<u32>, ChangeError> {
        non_empty(system, "system_id")?;
        non_empty(account, "account_id")?;
        let person = person
            .filter(|p| !p.is_empty())
            .map(|p| self.people.intern(p));
        if self.person_identity.len() < self.people.len() {
            self.person_identity.resize(self.people.len(), NONE);
        }
        let a = match self.account(system, account) {
            Some(a) => a,
            None => {
                let sys = self.catalogue.intern_system(system);
                if self.account_index.len() <= sys as usize {
                    self.account_index
                        .resize_with(sys as usize + 1, FastMap::default);
                }
                let a = dense_id(self.accounts.len());
                let name: Arc<str> = Arc::from(account);
                if let Some(map) = self.account_index.get_mut(sys as usize) {
                    map.insert(Arc::clone(&name), a);
                }
                self.accounts.push(AccountState {
                    system: sys,
                    name,
                    person,
                    kind,
                    active,
                    live: true,
                    identity: NONE,
                    own_identity: None,
                    unbounded: Vec::new(),
                    bounded: Vec::new(),
                });
                self.attach(a);
                return Ok(Vec::new());
            }
        };
        let old = self.detach(a);
        if let Some(acc) = self.accounts.get_mut(a as usize) {
            acc.person = person;
            acc.kind = kind;
            acc.active = active;
        }
        let new = self.attach(a);
        Ok(vec![old, new])
    }

    pub(super) fn remove_account(
        &mut self,
        system: &str,
        account: &str,
    ) -> Result<Vec<u32>, ChangeError> {
        let a = self.account_or_error(system, account)?;
        let old = self.detach(a);
        if let Some(acc) = self.accounts.get_mut(a as usize) {
            acc.live = false;
            acc.unbounded = Vec::new();
            acc.bounded = Vec::new();
            if let Some(map) = self.account_index.get_mut(acc.system as usize) {
                map.remove(&*acc.name);
            }
        }
        Ok(vec![old])
    }

    pub(super) fn set_clock(&mut self, now: i64) -> Vec<u32> {
        let accounts: Vec<u32> = match self.now {
            // From "every grant counts" to a clock: any time-bound grant may change.
            None => self.boundaries.values().flatten().copied().collect(),
            Some(old) if old == now => Vec::new(),
            Some(old) => {
                // [from, to) changes membership at an edge e when old < e <= now
                // (forwards) or now < e <= old (backwards).
                let (lo, hi) = if old < now { (old, now) } else { (now, old) };
                self.boundaries
                    .range(lo.saturating_add(1)..=hi)
                    .flat_map(|(_, accounts)| accounts.iter().copied())
                    .collect()
            }
        };
        self.now = Some(now);
        accounts
            .into_iter()
            .filter_map(|a| self.accounts.get(a as usize))
            .filter(|acc| acc.live && acc.active)
            .map(|acc| acc.identity)
            .collect()
    }

    /// Puts a live account into the identity it counts for; returns it.
    fn attach(&mut self, a: u32) -> u32 {
        let Some(acc) = self.accounts.get(a as usize) else {
            return NONE;
        };
        let key = owner(acc.kind, acc.person, a);
        let existing = match key {
            IdentityKey::Person(p) => self
                .person_identity
                .get(p as usize)
                .copied()
                .filter(|&i| i != NONE),
            IdentityKey::Account(_) => acc.own_identity,
        };
        let id = existing.unwrap_or_else(|| {
            let id = dense_id(self.identities.len());
            self.identities.push(IdentityState {
                key,
                accounts: Vec::new(),
                violated: Vec::new(),
            });
            id
        });
        match key {
            IdentityKey::Person(p) => {
                if let Some(slot) = self.person_identity.get_mut(p as usize) {
                    *slot = id;
                }
            }
            IdentityKey::Account(_) => {
                if let Some(acc) = self.accounts.get_mut(a as usize) {
                    acc.own_identity = Some(id);
                }
            }
        }
        if let Some(acc) = self.accounts.get_mut(a as usize) {
            acc.identity = id;
        }
        if let Some(identity) = self.identities.get_mut(id as usize) {
            identity.accounts.push(a);
        }
        id
    }

    /// Takes an account out of its identity; returns that identity.
    fn detach(&mut self, a: u32) -> u32 {
        let Some(id) = self.accounts.get(a as usize).map(|acc| acc.identity) else {
            return NONE;
        };
        if let Some(identity) = self.identities.get_mut(id as usize) {
            identity.accounts.retain(|&x| x != a);
        }
        if let Some(acc) = self.accounts.get_mut(a as usize) {
            acc.identity = NONE;
        }
        id
    }
}

fn add_boundaries(map: &mut BTreeMap<i64, Vec<u32>>, from: i64, to: i64, account: u32) {
    for edge in [from, to] {
        if edge != i64::MIN && edge != i64::MAX {
            let list = map.entry(edge).or_default();
            if !list.contains(&account) {
                list.push(account);
            }
        }
    }
}

/// Inserts or removes `value` in a sorted, distinct list; whether it changed.
fn edit_sorted<T: Ord>(list: &mut Vec<T>, value: T, add: bool) -> bool {
    match (list.binary_search(&value), add) {
        (Err(at), true) => {
            list.insert(at, value);
            true
        }
        (Ok(at), false) => {
            list.remove(at);
            true
        }
        _ => false,
    }
}
