//! A request's status and row as its events leave them, and the updates
//! events make to it.

#![allow(unused_imports)]
use super::*;

/// The status of a request as its events leave it. Whether an approval's
/// validity has run out is read against the clock ([`RequestRow::state_at`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    Approved,
    Denied,
    Cancelled,
    Expired,
    /// An action approval used by its execution.
    Consumed,
}

impl RequestStatus {
    pub const ALL: [RequestStatus; 6] = [
        Self::Pending,
        Self::Approved,
        Self::Denied,
        Self::Cancelled,
        Self::Expired,
        Self::Consumed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
            Self::Consumed => "consumed",
        }
    }
}

impl FromStr for RequestStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "'{s}' is not a request status: use pending, approved, denied, cancelled, expired or consumed"
                )
            })
    }
}

impl fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request as the `requests` table holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRow {
    pub request_id: RequestId,
    pub requester_id: PersonId,
    pub ask: Ask,
    pub justification: String,
    pub ticket: Option<String>,
    pub policy_version: Option<u64>,
    pub policy_rule: String,
    pub required_approvals: u32,
    pub approvers: Vec<PersonId>,
    pub mfa_required: bool,
    pub sod: Vec<SodFlag>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub approval_window_secs: u64,
    pub reminder_after_secs: Option<u64>,
    pub escalate_after_secs: Option<u64>,
    pub reminded_at: Option<Timestamp>,
    pub escalated_at: Option<Timestamp>,
    pub status: RequestStatus,
    pub approvals: u32,
    pub decided_at: Option<Timestamp>,
    pub valid_until: Option<Timestamp>,
    pub activated_at: Option<Timestamp>,
    pub closed_reason: Option<String>,
}

impl RequestRow {
    pub fn kind(&self) -> RequestKind {
        self.ask.kind()
    }

    /// The person who would hold the access (access requests).
    pub fn beneficiary(&self) -> Option<&PersonId> {
        match &self.ask {
            Ask::Access(a) => Some(&a.person_id),
            Ask::Action(_) => None,
        }
    }

    /// The action digest (action requests).
    pub fn digest(&self) -> Option<&str> {
        match &self.ask {
            Ask::Action(a) => Some(&a.digest),
            Ask::Access(_) => None,
        }
    }

    /// A pending request past its expiry, or an approval past its validity,
    /// can no longer be used, whether or not the job runner has recorded it.
    pub fn usable_at(&self, now: Timestamp) -> bool {
        match self.status {
            RequestStatus::Pending => now < self.expires_at,
            // Activated: its window was used; the grants carry their own end.
            RequestStatus::Approved if self.activated_at.is_some() => true,
            RequestStatus::Approved => self.valid_until.is_none_or(|v| now < v),
            _ => false,
        }
    }

    /// The status a reader should see at `now`: `expired` once the
    /// deadline has passed even if the expiry is not recorded yet.
    pub fn state_at(&self, now: Timestamp) -> RequestStatus {
        match self.status {
            RequestStatus::Pending | RequestStatus::Approved if !self.usable_at(now) => {
                RequestStatus::Expired
            }
            s => s,
        }
    }
}

/// How a decision event changes a request row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestUpdate {
    Approval {
        approvals: u32,
        /// Raised approvals needed, if any.
        required: Option<u32>,
        approved_at: Option<Timestamp>,
        valid_until: Option<Timestamp>,
    },
    Closed {
        status: RequestStatus,
        at: Timestamp,
        reason: Option<String>,
    },
    Activated {
        at: Timestamp,
    },
    Reminded {
        at: Timestamp,
        escalation: bool,
    },
}

impl RequestUpdate {
    pub fn apply(&self, row: &mut RequestRow) {
        match self {
            Self::Approval {
                approvals,
                required,
                approved_at,
                valid_until,
            } => {
                row.approvals = *approvals;
                if let Some(r) = required {
                    row.required_approvals = *r;
                }
                if let Some(at) = approved_at {
                    row.status = RequestStatus::Approved;
                    row.decided_at = Some(*at);
                    row.valid_until = *valid_until;
                }
            }
            Self::Closed { status, at, reason } => {
                row.status = *status;
                if row.decided_at.is_none() {
                    row.decided_at = Some(*at);
                }
                row.closed_reason = reason.clone();
            }
            Self::Activated { at } => {
                if row.activated_at.is_none() {
                    row.activated_at = Some(*at);
                }
            }
            Self::Reminded { at, escalation } => {
                if *escalation {
                    row.escalated_at = Some(*at);
                } else {
                    row.reminded_at = Some(*at);
                }
            }
        }
    }
}
