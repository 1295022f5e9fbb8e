//! What the policy decides for a request.

/// How a request is to be approved. The candidates are routed by policy only;
/// the caller still applies the built-in rules (no self-approval, not the
/// author, not a terminated approver, not an SoD-conflicted approver), which
/// can only remove candidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Person ids routed to, in routing order, without repeats, never the
    /// requester or the beneficiary.
    pub candidates: Vec<String>,
    /// Distinct approvals needed; at least 1.
    pub required_approvals: u32,
    /// Access only: the longest grant allowed.
    pub max_duration_secs: Option<u64>,
    /// Actions only: how long an approval stays valid.
    pub approval_window_secs: Option<u64>,
    /// After this long undecided, the request expires.
    pub undecided_expiry_secs: u64,
    pub reminder_after_secs: Option<u64>,
    /// After this long undecided, escalate to each approver's manager.
    pub escalate_after_secs: Option<u64>,
    pub mfa_required: bool,
    /// `access "id"`, `action "id"`, `[defaults]` or `built-in default`:
    /// recorded as evidence of which rule applied.
    pub matched_rule: String,
}

/// Why the policy says no.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalKind {
    /// The requester, beneficiary or approver is not allowed (status, Cedar).
    NotPermitted,
    /// The duration asked for is longer than the rule allows.
    TooLong,
    /// The rule needs a ticket reference and the request has none.
    TicketRequired,
    /// Routing finds fewer approvers than approvals needed, or the
    /// candidate is not among those routed to.
    NotRouted,
}

/// A policy refusal: the reason says what was wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Refusal {
    pub kind: RefusalKind,
    pub reason: String,
}

impl Refusal {
    pub(crate) fn new(kind: RefusalKind, reason: impl Into<String>) -> Self {
        Self {
            kind,
            reason: reason.into(),
        }
    }
}
