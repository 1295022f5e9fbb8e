//! SoD mitigations: an exception that lets an identity keep a conflicting
//! combination for a while because a compensating control watches it. The
//! violation is still reported, as mitigated; when the exception expires it
//! is open again, and so is its finding.

use crate::ids::PersonId;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// `sod.mitigation.granted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MitigationGranted {
    pub mitigation_id: String,
    pub risk_id: String,
    /// A person id or `account:<system>:<account>`, as SoD names identities.
    pub identity: String,
    /// The compensating control (free text until the control matrix lands).
    pub control: String,
    pub owner_id: PersonId,
    /// Who approved the exception; never the identity itself.
    pub approver_id: PersonId,
    pub reason: String,
    pub expires_at: Timestamp,
}

/// `sod.mitigation.revoked`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MitigationRevoked {
    pub mitigation_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MitigationRow {
    pub mitigation_id: String,
    pub risk_id: String,
    pub identity: String,
    pub control: String,
    pub owner_id: PersonId,
    pub approver_id: PersonId,
    pub reason: String,
    pub expires_at: Timestamp,
    pub granted_at: Timestamp,
    pub granted_by: String,
    pub revoked_at: Option<Timestamp>,
}

impl MitigationRow {
    /// In force at `t`: granted, not yet expired, not revoked.
    pub fn active_at(&self, t: Timestamp) -> bool {
        self.granted_at <= t && t < self.expires_at && self.revoked_at.is_none_or(|r| t < r)
    }
}
