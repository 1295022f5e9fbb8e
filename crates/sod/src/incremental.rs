//! Violations kept current under changes.
//!
//! The [`Engine`] keeps, per identity, its accounts and the risks it
//! currently violates. A [`Change`] touches one account (two identities at
//! most, when an account changes hands), so [`Engine::apply`] re-checks just
//! those and reports what opened and what resolved: no rescan. Advancing the
//! clock re-checks only identities with a time-bound grant starting or ending
//! in between.
//!
//! Cost: one re-check walks the identity's own grants once, so it is
//! proportional to that identity's grants, not to the size of the
//! organisation (see the `incremental_check_latency` test, and
//! [`Engine::recheck`] for bench harnesses).

mod check;
mod simulate;
mod state;

pub use simulate::{Addition, Holder};

use crate::catalogue::SystemId;
use crate::compile::{Compiled, Warning};
use crate::dataset::{AccountKind, IdentityKey};
use crate::hash::{FastMap, Interner};
use crate::interval::{Bounded, Interval};
use crate::report::Violation;
use crate::rules::RefError;
use crate::{Catalogue, eval::Scratch};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One change to the facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    GrantAdded {
        system: String,
        account: String,
        entitlement: String,
        #[serde(default)]
        interval: Interval,
    },
    /// Removes the grant with exactly this interval; nothing if absent.
    GrantRemoved {
        system: String,
        account: String,
        entitlement: String,
        #[serde(default)]
        interval: Interval,
    },
    /// Adds the account, or changes its person, kind or status.
    AccountUpserted {
        system: String,
        account: String,
        person: Option<String>,
        kind: AccountKind,
        active: bool,
    },
    /// Removes the account and its grants.
    AccountRemoved { system: String, account: String },
    /// A new entitlement: patterns are re-resolved. Nobody holds it yet, so
    /// no violation changes.
    EntitlementAdded { system: String, entitlement: String },
    /// Time moves to `now` (either way): time-bound grants start and end.
    ClockSet { now: i64 },
}

/// What a change did to the violations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delta {
    /// New violations, with evidence, sorted by (risk id, identity).
    pub opened: Vec<Violation>,
    /// Violations that no longer hold, sorted.
    pub resolved: Vec<Resolved>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Resolved {
    pub risk_id: String,
    pub identity: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error("unknown account {system}:{account}; add it (AccountUpserted) before its grants")]
    UnknownAccount { system: String, account: String },
    #[error("{field} is empty; give a non-empty id")]
    EmptyId { field: &'static str },
    #[error(
        "grant of {entitlement} has an empty validity interval (from {from} is not before to {to})"
    )]
    EmptyInterval {
        entitlement: String,
        from: i64,
        to: i64,
    },
    #[error("entitlement {0}")]
    BadReference(#[from] RefError),
    #[error(
        "account {account} is not an account of {identity}; name one of its accounts or use Holder::System"
    )]
    NotTheIdentitysAccount { account: String, identity: String },
    #[error(
        "{identity} has several active accounts in {system} ({}); name the one to simulate with Holder::Account",
        accounts.join(", ")
    )]
    AmbiguousAccount {
        identity: String,
        system: String,
        accounts: Vec<String>,
    },
    #[error(
        "{identity} is an account of its own and has no account in {system}; only a person can receive a new account"
    )]
    NoAccountInSystem { identity: String, system: String },
    #[error("account {account} belongs to person {person}; simulate for the person instead")]
    AccountOfPerson { account: String, person: String },
}

#[derive(Debug, Clone)]
pub(crate) struct AccountState {
    pub system: SystemId,
    pub name: Arc<str>,
    pub person: Option<u32>,
    pub kind: AccountKind,
    pub active: bool,
    pub live: bool,
    /// The identity it counts for while live.
    pub identity: u32,
    /// Its own identity, once it has needed one.
    pub own_identity: Option<u32>,
    /// Always-valid entitlements, sorted and distinct.
    pub unbounded: Vec<u32>,
    /// Time-bound grants, sorted and distinct.
    pub bounded: Vec<Bounded>,
}

#[derive(Debug, Clone)]
pub(crate) struct IdentityState {
    pub key: IdentityKey,
    /// Live accounts (active or not) that count for it.
    pub accounts: Vec<u32>,
    /// Risks violated now, sorted.
    pub violated: Vec<u32>,
}

/// Rules and facts, kept analysed.
pub struct Engine {
    compiled: Compiled,
    catalogue: Catalogue,
    people: Interner,
    person_identity: Vec<u32>,
    accounts: Vec<AccountState>,
    account_index: Vec<FastMap<Arc<str>, u32>>,
    identities: Vec<IdentityState>,
    /// Instant → accounts with a time-bound grant starting or ending there.
    boundaries: BTreeMap<i64, Vec<u32>>,
    now: Option<i64>,
    scratch: Scratch,
}

impl Engine {
    /// Applies one change and re-checks the identities it touches.
    pub fn apply(&mut self, change: Change) -> Result<Delta, ChangeError> {
        let affected = match change {
            Change::GrantAdded {
                system,
                account,
                entitlement,
                interval,
            } => self.grant(&system, &account, &entitlement, interval, true)?,
            Change::GrantRemoved {
                system,
                account,
                entitlement,
                interval,
            } => self.grant(&system, &account, &entitlement, interval, false)?,
            Change::AccountUpserted {
                system,
                account,
                person,
                kind,
                active,
            } => self.upsert_account(&system, &account, person.as_deref(), kind, active)?,
            Change::AccountRemoved { system, account } => self.remove_account(&system, &account)?,
            Change::EntitlementAdded {
                system,
                entitlement,
            } => {
                non_empty(&system, "system_id")?;
                non_empty(&entitlement, "entitlement_id")?;
                self.intern_entitlement(&system, &entitlement);
                Vec::new()
            }
            Change::ClockSet { now } => self.set_clock(now),
        };
        Ok(self.recheck(&affected))
    }

    /// The instant the engine evaluates at; `None`: every grant counts.
    pub fn now(&self) -> Option<i64> {
        self.now
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// References and patterns of the rules that currently match nothing.
    pub fn warnings(&self) -> Vec<Warning> {
        self.compiled.warnings()
    }

    pub fn identity_count(&self) -> usize {
        self.identities.len()
    }
}

fn non_empty(value: &str, field: &'static str) -> Result<(), ChangeError> {
    if value.is_empty() {
        Err(ChangeError::EmptyId { field })
    } else {
        Ok(())
    }
}
