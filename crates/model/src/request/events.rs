//! The events of a request's life: created, decided, cancelled, reminded,
//! expired; grants and their end; delegations; execution tokens, actions
//! executed and changes deployed.

#![allow(unused_imports)]
use super::*;

/// `request.created`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCreated {
    pub request_id: RequestId,
    pub requester_id: PersonId,
    pub ask: Ask,
    pub justification: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// The policies document version that routed it (none: the built-in default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<u64>,
    /// The policy rule that matched.
    pub policy_rule: String,
    pub required_approvals: u32,
    /// Who may approve, after the built-in rules removed the requester, the
    /// beneficiary, authors, leavers and the SoD-conflicted.
    pub approvers: Vec<PersonId>,
    pub mfa_required: bool,
    /// An undecided request expires then.
    pub expires_at: Timestamp,
    /// How long an approval stays valid (actions: to execute; manual access: to activate).
    pub approval_window_secs: u64,
    /// Remind the approvers when still undecided this long after asking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder_after_secs: Option<u64>,
    /// Then tell the approvers' managers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_after_secs: Option<u64>,
    /// Violations the access would create, as simulated when it was asked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sod: Vec<SodFlag>,
}

/// `request.approved`: one approver's approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestApproved {
    pub request_id: RequestId,
    pub approver_id: PersonId,
    /// The approver acted as delegate of this person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<PersonId>,
    /// The approver completed step-up MFA for this decision.
    pub mfa: bool,
    /// The decision came through a credential this actor issued, not the
    /// approver: it proves only that someone holding it decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Approvals so far, this one included.
    pub approvals: u32,
    /// This approval completed the request.
    pub approved: bool,
    /// The approvals now needed, when more than the request was created
    /// with (its SoD risk or the policy grew before this decision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_approvals: Option<u32>,
    /// When completed: until when the approval may be used (actions:
    /// executed; manual access: activated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
}

/// `request.denied`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestDenied {
    pub request_id: RequestId,
    pub approver_id: PersonId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<PersonId>,
    pub mfa: bool,
    /// As [`RequestApproved::issued_by`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_by: Option<String>,
    pub reason: String,
}

/// `request.cancelled`: withdrawn by the requester or an admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCancelled {
    pub request_id: RequestId,
    pub reason: String,
}

/// `request.reminded`: approvers reminded, or (escalation) their managers told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestReminded {
    pub request_id: RequestId,
    pub escalation: bool,
    pub recipients: Vec<PersonId>,
}

/// `request.expired`: nobody decided in time, or an approval was never used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestExpired {
    pub request_id: RequestId,
}

/// `access.granted`: a time-bound grant starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessGranted {
    pub grant_id: AccessGrantId,
    /// The approved request, or the break-glass use (`emergency`).
    pub request_id: RequestId,
    /// Granted by break-glass, without prior approval.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub emergency: bool,
    pub person_id: PersonId,
    #[serde(flatten)]
    pub item: AccessItem,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessEnd {
    /// Its time ran out (the job runner).
    Expired,
    /// Ended early by the holder, an owner or an admin.
    Revoked,
}

impl AccessEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

/// `access.revoked`: a time-bound grant ends; the target system is told to
/// remove it and the next import or sync confirms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRevoked {
    pub grant_id: AccessGrantId,
    pub end: AccessEnd,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `delegation.created`: an approver away hands approvals to a delegate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegationCreated {
    pub delegation_id: DelegationId,
    pub delegator_id: PersonId,
    pub delegate_id: PersonId,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub reason: String,
    /// Made through a credential this actor issued, not the delegator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_by: Option<String>,
}

/// `delegation.revoked`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegationRevoked {
    pub delegation_id: DelegationId,
}

/// `execution.token_issued`: a short-lived signed token that carries an
/// action approval to its executor (the token itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionTokenIssued {
    pub token_id: ExecutionTokenId,
    pub request_id: RequestId,
    /// The principal that will execute and report (`token:<id>` or `person:<id>`).
    pub executor: String,
    pub env: String,
    pub digest: String,
    pub expires_at: Timestamp,
}

/// `action.executed`: the executor reports the action done; the approval
/// is consumed and cannot be used again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionExecuted {
    pub request_id: RequestId,
    pub token_id: ExecutionTokenId,
    pub executor: String,
    /// What the executor reports (a deployment id, a payment reference…).
    pub outcome: String,
}

/// `change.deployed`: what was deployed where, by whom, and under which
/// approval (none: an unapproved change, which opens a finding).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeDeployed {
    pub deployment_id: String,
    pub env: String,
    pub commit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Who deployed, as an identity (`person id` or canonical email).
    pub deployer: String,
    /// The person the deployer was resolved to, when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployer_person: Option<PersonId>,
    /// The CI run that recorded it, when a CI identity token did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<RequestId>,
}
