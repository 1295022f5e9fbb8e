//! Decisions, time-bound grants and delegations, as their tables hold them.

#![allow(unused_imports)]
use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Deny,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Deny => "deny",
        }
    }
}

/// One approver's decision, as the `request_decisions` table holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionRow {
    pub request_id: RequestId,
    pub approver_id: PersonId,
    pub decision: Decision,
    pub on_behalf_of: Option<PersonId>,
    pub mfa: bool,
    pub comment: Option<String>,
    pub decided_at: Timestamp,
    /// The ledger entry that records it.
    pub seq: u64,
    /// The credential used (`token:<id>`).
    pub actor: String,
}

/// A time-bound grant, as the `access_grants` table holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessGrantRow {
    pub grant_id: AccessGrantId,
    pub request_id: RequestId,
    pub person_id: PersonId,
    pub system_id: SystemId,
    pub account_id: AccountId,
    pub entitlement_id: EntitlementId,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub end: Option<AccessEnd>,
}

impl AccessGrantRow {
    /// In force at `t`.
    pub fn active_at(&self, t: Timestamp) -> bool {
        self.starts_at <= t && t < self.ends_at && self.ended_at.is_none_or(|e| t < e)
    }
}

/// A delegation, as the `delegations` table holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DelegationRow {
    pub delegation_id: DelegationId,
    pub delegator_id: PersonId,
    pub delegate_id: PersonId,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub reason: String,
    pub created_at: Timestamp,
    pub created_by: String,
    pub revoked_at: Option<Timestamp>,
}

impl DelegationRow {
    pub fn active_at(&self, t: Timestamp) -> bool {
        self.starts_at <= t && t < self.ends_at && self.revoked_at.is_none_or(|r| t < r)
    }
}
