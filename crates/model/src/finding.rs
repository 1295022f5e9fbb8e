//! Findings (DESIGN A7): one mechanism for every detective check. A
//! detector states what it sees as (kind, subject) pairs; the finding's id
//! is a hash of that pair, so the same condition seen again is the same
//! finding, reopened rather than duplicated. Findings open, resolve, are
//! accepted and assigned only through ledger events.

use crate::ids::{FindingId, PersonId};
use crate::time::{Date, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const TEXTS: &'static [&'static str] = &["low", "medium", "high", "critical"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// Days to remediate from when the finding was first seen.
    pub fn due_days(self) -> i64 {
        match self {
            Self::Critical => 7,
            Self::High => 14,
            Self::Medium => 30,
            Self::Low => 90,
        }
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "low" => Ok(Self::Low),
            "medium" => Ok(Self::Medium),
            "high" => Ok(Self::High),
            "critical" => Ok(Self::Critical),
            _ => Err(format!(
                "'{s}' is not a severity: use one of {}",
                Self::TEXTS.join(", ")
            )),
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingStatus {
    Open,
    /// Risk accepted by someone answerable, with a reason (and maybe an end).
    Accepted,
    Resolved,
}

impl FindingStatus {
    pub const TEXTS: &'static [&'static str] = &["open", "accepted", "resolved"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Accepted => "accepted",
            Self::Resolved => "resolved",
        }
    }
}

impl FromStr for FindingStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "open" => Ok(Self::Open),
            "accepted" => Ok(Self::Accepted),
            "resolved" => Ok(Self::Resolved),
            _ => Err(format!(
                "'{s}' is not a finding status: use one of {}",
                Self::TEXTS.join(", ")
            )),
        }
    }
}

/// `fnd_` + the first 128 bits (hex) of SHA-256(kind ‖ 0x00 ‖ subject).
pub fn finding_id(kind: &str, subject: &str) -> FindingId {
    let mut hasher = Sha256::new();
    hasher.update(kind.as_bytes());
    hasher.update([0]);
    hasher.update(subject.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    FindingId::mint(u128::from_be_bytes(first))
}

/// Facts behind a finding, as text only (ledger entries carry no floats):
/// identifiers and dates, never names or emails.
pub type Detail = BTreeMap<String, String>;

/// `finding.opened`: a detector sees the condition (again). A reopened
/// finding keeps its first sighting, owner and due date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingOpened {
    pub finding_id: FindingId,
    pub kind: String,
    /// What the finding is about: `account:<system>:<account>`,
    /// `grant:<system>:<account>:<entitlement>`, `person:<id>`, …
    pub subject: String,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub control_ids: Vec<String>,
    pub first_seen: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<PersonId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Date>,
    /// One line a reviewer reads first.
    pub summary: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub detail: Detail,
}

/// `finding.resolved`: the condition is gone (a detector no longer sees it)
/// or someone closed it with a reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingResolved {
    pub finding_id: FindingId,
    pub reason: String,
}

/// `finding.accepted`: the risk is accepted, with a reason, until a time
/// (after which it counts as open again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingAccepted {
    pub finding_id: FindingId,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
}

/// `finding.assigned`: a new owner and/or due date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingAssigned {
    pub finding_id: FindingId,
    pub owner_id: Option<PersonId>,
    pub due: Option<Date>,
}

/// A finding as the `findings` table holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingRow {
    pub finding_id: FindingId,
    pub kind: String,
    pub subject: String,
    pub severity: Severity,
    pub control_ids: Vec<String>,
    pub status: FindingStatus,
    pub first_seen: Timestamp,
    /// When it was last opened (first_seen, or a reopening).
    pub opened_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    pub owner_id: Option<PersonId>,
    pub due: Option<Date>,
    pub summary: String,
    pub detail: Detail,
    /// Why it was resolved or accepted.
    pub resolution: Option<String>,
    pub accepted_until: Option<Timestamp>,
}

/// How a status event changes a finding row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindingUpdate {
    Resolved {
        at: Timestamp,
        reason: String,
    },
    Accepted {
        reason: String,
        until: Option<Timestamp>,
    },
    Assigned {
        owner_id: Option<PersonId>,
        due: Option<Date>,
    },
}

impl FindingUpdate {
    pub fn apply(&self, row: &mut FindingRow) {
        match self {
            Self::Resolved { at, reason } => {
                row.status = FindingStatus::Resolved;
                row.resolved_at = Some(*at);
                row.resolution = Some(reason.clone());
                row.accepted_until = None;
            }
            Self::Accepted { reason, until } => {
                row.status = FindingStatus::Accepted;
                row.resolution = Some(reason.clone());
                row.accepted_until = *until;
            }
            Self::Assigned { owner_id, due } => {
                row.owner_id = owner_id.clone();
                row.due = *due;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_separate_kind_from_subject() {
        let a = finding_id("orphan_account", "account:erp:x");
        assert_eq!(a, finding_id("orphan_account", "account:erp:x"));
        assert_eq!(a.as_str().len(), 4 + 32);
        assert_ne!(a, finding_id("orphan_accoun", "taccount:erp:x"));
    }

    /// The id is the same text as before ids were typed: `fnd_` and the
    /// first 16 bytes of the digest in lower-case hex (ledgers hold them).
    #[test]
    fn ids_keep_their_text() {
        let digest = Sha256::digest(b"orphan_account\0account:erp:x");
        assert_eq!(
            finding_id("orphan_account", "account:erp:x").as_str(),
            format!("fnd_{}", hex::encode(&digest[..16]))
        );
    }
}
