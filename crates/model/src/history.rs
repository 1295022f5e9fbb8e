//! Answers to the auditor's point-in-time questions: who held an
//! entitlement, what a person could do, and what changed, at or between
//! instants. A system whose first import came after the instant asked about
//! is *unknown* then, which is not the same as nobody holding anything.

use crate::ids::{AccountId, EntitlementId, PersonId, SystemId};
use crate::inventory::{AccountKind, AccountStatus};
use crate::time::Timestamp;
use serde::Serialize;

/// One account holding one entitlement at the instant asked about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holding {
    pub system_id: SystemId,
    pub account_id: AccountId,
    pub entitlement_id: EntitlementId,
    /// The person the account belonged to then (none: uncorrelated).
    pub person_id: Option<PersonId>,
    pub account_kind: Option<AccountKind>,
    pub account_status: Option<AccountStatus>,
    /// Since when, on the source's clock.
    pub valid_from: Timestamp,
    /// Until when (none: still held).
    pub valid_to: Option<Timestamp>,
    pub source: String,
    /// Who recorded the grant, and the import that observed it.
    pub recorded_by: String,
    pub import_id: Option<String>,
    /// The ledger entry that recorded it: the evidence reference.
    pub seq: u64,
}

/// What a system's history can say about an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Coverage {
    /// Imported at or before the instant: its answers are facts.
    Known { since: Timestamp },
    /// First imported after the instant (or never): nothing can be said.
    Unknown { since: Option<Timestamp> },
}

impl Coverage {
    pub fn at(first_import: Option<Timestamp>, at: Timestamp) -> Self {
        match first_import {
            Some(since) if since <= at => Self::Known { since },
            since => Self::Unknown { since },
        }
    }

    pub fn is_known(&self) -> bool {
        matches!(self, Self::Known { .. })
    }
}

/// A change to someone's access, for `history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessChange {
    /// When it took effect on the source's clock.
    pub at: Timestamp,
    pub change: ChangeKind,
    pub system_id: SystemId,
    pub account_id: AccountId,
    pub entitlement_id: Option<EntitlementId>,
    /// For account versions: the account's status from then on.
    pub account_status: Option<AccountStatus>,
    /// Who recorded the change (an import, a token, a person; the approver
    /// of an approved request once requests exist).
    pub recorded_by: String,
    pub import_id: Option<String>,
    pub seq: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The account became the person's (created, correlated, or changed).
    AccountLinked,
    /// The account stopped being the person's, or was removed.
    AccountUnlinked,
    Granted,
    Revoked,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccountLinked => "account_linked",
            Self::AccountUnlinked => "account_unlinked",
            Self::Granted => "granted",
            Self::Revoked => "revoked",
        }
    }
}
