//! The facts to analyse: accounts, their grants, and who they belong to.
//!
//! A [`Dataset`] is immutable and laid out for scanning: grants grouped by
//! account in one array (sorted, deduplicated entitlement ids), time-bound
//! grants in a second, smaller one, and identities as lists of their active
//! accounts. Build one with a [`DatasetBuilder`] or [`crate::input`].
//!
//! Identity: an active human account with a person is that person's;
//! service, shared and uncorrelated human accounts are each an identity of
//! their own, named `account:<system_id>:<account_id>`. Disabled accounts are
//! ignored entirely, whatever the person's status.

mod builder;

pub use builder::{AccountSpec, DatasetBuilder, DatasetError};

use crate::catalogue::{Catalogue, EntitlementId, SystemId};
use crate::eval::AccountView;
use crate::hash::Interner;
use crate::interval::Bounded;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    Human,
    Service,
    Shared,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Human => "human",
            Self::Service => "service",
            Self::Shared => "shared",
        }
    }
}

impl FromStr for AccountKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "human" => Ok(Self::Human),
            "service" => Ok(Self::Service),
            "shared" => Ok(Self::Shared),
            _ => Err(()),
        }
    }
}

impl fmt::Display for AccountKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone)]
pub(crate) struct AccountRecord {
    pub system: SystemId,
    pub name: Arc<str>,
    pub person: Option<u32>,
    pub kind: AccountKind,
    pub active: bool,
}

/// Who an identity is: a person, or an account standing for itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum IdentityKey {
    Person(u32),
    Account(u32),
}

/// Whose an account is, by the identity rule above.
pub(crate) fn owner(kind: AccountKind, person: Option<u32>, account: u32) -> IdentityKey {
    match (kind, person) {
        (AccountKind::Human, Some(p)) => IdentityKey::Person(p),
        _ => IdentityKey::Account(account),
    }
}

/// `system:account`, as evidence shows it.
pub(crate) fn account_label(catalogue: &Catalogue, system: SystemId, name: &str) -> String {
    format!("{}:{name}", catalogue.system_name(system))
}

/// `account:system:account`, the name of an account's own identity.
pub(crate) fn account_identity(catalogue: &Catalogue, system: SystemId, name: &str) -> String {
    format!("account:{}:{name}", catalogue.system_name(system))
}

#[derive(Debug, Clone)]
pub struct Dataset {
    pub(crate) catalogue: Catalogue,
    pub(crate) people: Interner,
    pub(crate) accounts: Vec<AccountRecord>,
    /// `grants[grant_start[a]..grant_start[a + 1]]`: account `a`'s always-valid
    /// entitlements, sorted and distinct.
    pub(crate) grant_start: Vec<usize>,
    pub(crate) grants: Vec<EntitlementId>,
    /// Same layout for time-bound grants; empty when there are none.
    pub(crate) bounded_start: Vec<usize>,
    pub(crate) bounded: Vec<Bounded>,
    pub(crate) identities: Vec<IdentityKey>,
    /// `identity_accounts[identity_start[i]..identity_start[i + 1]]`: the
    /// active accounts of identity `i`.
    pub(crate) identity_start: Vec<usize>,
    pub(crate) identity_accounts: Vec<u32>,
    pub(crate) as_of: Option<i64>,
}

impl Dataset {
    /// Every entitlement of the entitlements list and of any grant.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// When the facts were true, if the source said; see [`crate::When::Now`].
    pub fn as_of(&self) -> Option<i64> {
        self.as_of
    }

    /// Sets the instant [`crate::When::Now`] means (for example a snapshot's
    /// `extracted_at`); `None`: every grant counts.
    pub fn set_as_of(&mut self, now: Option<i64>) {
        self.as_of = now;
    }

    pub fn account_count(&self) -> usize {
        self.accounts.len()
    }

    pub fn grant_count(&self) -> usize {
        self.grants.len() + self.bounded.len()
    }

    /// Identities with at least one active account.
    pub fn identity_count(&self) -> usize {
        self.identities.len()
    }

    pub(crate) fn identity_name(&self, identity: usize) -> String {
        match self.identities.get(identity) {
            Some(IdentityKey::Person(p)) => self.people.name(*p).to_owned(),
            Some(IdentityKey::Account(a)) => self
                .accounts
                .get(*a as usize)
                .map_or_else(String::new, |acc| {
                    account_identity(&self.catalogue, acc.system, &acc.name)
                }),
            None => String::new(),
        }
    }

    pub(crate) fn account_label(&self, account: u32) -> String {
        self.accounts
            .get(account as usize)
            .map_or_else(String::new, |a| {
                account_label(&self.catalogue, a.system, &a.name)
            })
    }

    pub(crate) fn unbounded_of(&self, account: usize) -> &[EntitlementId] {
        csr_slice(&self.grant_start, &self.grants, account)
    }

    pub(crate) fn bounded_of(&self, account: usize) -> &[Bounded] {
        csr_slice(&self.bounded_start, &self.bounded, account)
    }

    /// The active accounts of `identity`, as the evaluator reads them.
    pub(crate) fn views<'d>(&'d self, identity: usize, out: &mut Vec<AccountView<'d>>) {
        out.clear();
        for &account in csr_slice(&self.identity_start, &self.identity_accounts, identity) {
            out.push(AccountView {
                label: account,
                unbounded: self.unbounded_of(account as usize),
                bounded: self.bounded_of(account as usize),
                extra: &[],
            });
        }
    }
}

/// Row `row` of a compressed sparse row layout; empty when out of range.
pub(crate) fn csr_slice<'a, T>(start: &[usize], values: &'a [T], row: usize) -> &'a [T] {
    match (start.get(row), start.get(row + 1)) {
        (Some(&from), Some(&to)) => values.get(from..to).unwrap_or(&[]),
        _ => &[],
    }
}
