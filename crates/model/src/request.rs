//! Just-in-time requests: access (an entitlement or a role for a person, for
//! a while) and actions (a deployment, a payment…, bound to a digest of
//! exactly what is approved), their decisions, the time-bound grants an
//! approved access request becomes, delegations of approval while away, and
//! the execution tokens that carry an action approval to its executor.
//!
//! Every step is an event; the rows below are what the events project onto.
//! Each event states its own outcome (e.g. an approval says whether it
//! completed the request), so replaying the ledger needs no policy engine
//! and an auditor reads the decision where it was taken.

use crate::ids::{AccountId, EntitlementId, PersonId, RoleId, SystemId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How an approved access request starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// When the last approval arrives.
    OnApproval,
    /// When the requester activates it, within the approval's validity.
    Manual,
}

/// One grant an access request asks for: an entitlement on the person's
/// account in its system.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AccessItem {
    pub system_id: SystemId,
    pub account_id: AccountId,
    pub entitlement_id: EntitlementId,
}

/// What an access request asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessAsk {
    /// Who would hold the access.
    pub person_id: PersonId,
    /// `system_id:entitlement_id`, as the requester named it (with `role_id`, none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entitlement: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_id: Option<RoleId>,
    /// The grants it resolves to (a role's entitlements, each on the
    /// person's account in that system).
    pub items: Vec<AccessItem>,
    pub duration_secs: u64,
    pub activation: Activation,
}

/// What an action request asks for. The digest binds the approval to the
/// exact kind, environment and payload (DESIGN A3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionAsk {
    pub kind: String,
    pub env: String,
    pub payload: serde_json::Value,
    /// `sha256:` + hex of JCS({"env","kind","payload"}).
    pub digest: String,
    /// The authors of the change (for a deployment: its commits' authors,
    /// committers and co-authors), who may not approve it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
    /// Authors no person's email, id or account matched when the change was
    /// registered: nobody can be kept from approving as them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unattributed_authors: Vec<String>,
    /// The people the authors were matched to (by id, email or account id)
    /// when the change was registered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub author_people: Vec<PersonId>,
    /// A deployment's repository, as its pipeline's credential is bound to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// How many commits the pipeline read for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commits: Option<u32>,
    /// The CI run that registered it, when a CI identity token did
    /// (`ci:TRUST run RUN_ID of WORKFLOW@REF`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ask {
    Access(AccessAsk),
    Action(ActionAsk),
}

impl Ask {
    pub fn kind(&self) -> RequestKind {
        match self {
            Self::Access(_) => RequestKind::Access,
            Self::Action(_) => RequestKind::Action,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    Access,
    Action,
}

impl RequestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Action => "action",
        }
    }
}

impl FromStr for RequestKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "access" => Ok(Self::Access),
            "action" => Ok(Self::Action),
            _ => Err(format!("'{s}' is not a request kind: use access or action")),
        }
    }
}

/// An SoD violation the request would create, as approvers were shown it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SodFlag {
    pub risk_id: String,
    /// low | medium | high | critical.
    pub severity: String,
    /// A mitigation in force covers it.
    pub mitigated: bool,
}

/// `request.created`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCreated {
    pub request_id: String,
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
    pub request_id: String,
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
    pub request_id: String,
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
    pub request_id: String,
    pub reason: String,
}

/// `request.reminded`: approvers reminded, or (escalation) their managers told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestReminded {
    pub request_id: String,
    pub escalation: bool,
    pub recipients: Vec<PersonId>,
}

/// `request.expired`: nobody decided in time, or an approval was never used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestExpired {
    pub request_id: String,
}

/// `access.granted`: a time-bound grant starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessGranted {
    pub grant_id: String,
    /// The approved request, or the break-glass use (`emergency`).
    pub request_id: String,
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
    pub grant_id: String,
    pub end: AccessEnd,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `delegation.created`: an approver away hands approvals to a delegate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegationCreated {
    pub delegation_id: String,
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
    pub delegation_id: String,
}

/// `execution.token_issued`: a short-lived signed token that carries an
/// action approval to its executor (the token itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionTokenIssued {
    pub token_id: String,
    pub request_id: String,
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
    pub request_id: String,
    pub token_id: String,
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
    pub request_id: Option<String>,
}

/// An execution token, as the `execution_tokens` table holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecutionTokenRow {
    pub token_id: String,
    pub request_id: String,
    pub executor: String,
    pub env: String,
    pub digest: String,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
}

/// A deployment, as the `deployments` table holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeploymentRow {
    pub deployment_id: String,
    pub env: String,
    pub commit: String,
    pub repo: Option<String>,
    pub deployer: String,
    pub request_id: Option<String>,
    pub deployed_at: Timestamp,
    pub seq: u64,
}

/// `breakglass.used`: emergency access without prior approval, by someone
/// the policies name, with a mandatory reason; its grants start at once and
/// end within the break-glass maximum, and the owner must review it after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakGlassUsed {
    pub use_id: String,
    pub person_id: PersonId,
    pub items: Vec<AccessItem>,
    pub reason: String,
    /// A session recording or activity-log reference for the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    /// Who must review it (the entitlement's, else the system's owner).
    pub reviewer_id: PersonId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewOutcome {
    /// The emergency was real and the use fitted it.
    Appropriate,
    /// It was not: follow up (the finding records it).
    Inappropriate,
}

impl ReviewOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Appropriate => "appropriate",
            Self::Inappropriate => "inappropriate",
        }
    }
}

/// `breakglass.reviewed`: the owner's after-review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakGlassReviewed {
    pub use_id: String,
    pub reviewer_id: PersonId,
    pub outcome: ReviewOutcome,
    pub notes: String,
    /// Evidence added at review (when none was recorded with the use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// Made through a credential this actor issued, not the reviewer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_by: Option<String>,
}

/// A break-glass use, as the `breakglass_uses` table holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakGlassRow {
    pub use_id: String,
    pub person_id: PersonId,
    pub items: Vec<AccessItem>,
    pub reason: String,
    pub evidence: Option<String>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub reviewer_id: PersonId,
    pub reviewed_at: Option<Timestamp>,
    pub outcome: Option<ReviewOutcome>,
    pub review_notes: Option<String>,
}

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
    pub request_id: String,
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
    pub request_id: String,
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
    pub grant_id: String,
    pub request_id: String,
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
    pub delegation_id: String,
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

/// True when a JSON value holds a number that is not an integer: entries
/// never carry floating point (DESIGN A3), so such a payload is refused.
pub fn has_float(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Number(n) => !(n.is_i64() || n.is_u64()),
        serde_json::Value::Array(items) => items.iter().any(has_float),
        serde_json::Value::Object(map) => map.values().any(has_float),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(status: RequestStatus, valid_until: Option<&str>) -> RequestRow {
        RequestRow {
            request_id: "req_1".into(),
            requester_id: PersonId::parse("p1").unwrap(),
            ask: Ask::Action(ActionAsk {
                kind: "deploy".into(),
                env: "prod".into(),
                payload: serde_json::json!({"commit": "abc"}),
                digest: "sha256:00".into(),
                authors: vec![],
                unattributed_authors: vec![],
                author_people: vec![],
                repo: None,
                commits: None,
                run: None,
            }),
            justification: "release".into(),
            ticket: None,
            policy_version: None,
            policy_rule: "default".into(),
            required_approvals: 1,
            approvers: vec![],
            mfa_required: false,
            sod: vec![],
            created_at: Timestamp::parse("2026-01-01T00:00:00Z").unwrap(),
            expires_at: Timestamp::parse("2026-01-04T00:00:00Z").unwrap(),
            approval_window_secs: 86_400,
            reminder_after_secs: None,
            escalate_after_secs: None,
            reminded_at: None,
            escalated_at: None,
            status,
            approvals: 0,
            decided_at: None,
            valid_until: valid_until.map(|v| Timestamp::parse(v).unwrap()),
            activated_at: None,
            closed_reason: None,
        }
    }

    #[test]
    fn deadlines_are_exclusive() {
        let t = |s: &str| Timestamp::parse(s).unwrap();
        let pending = row(RequestStatus::Pending, None);
        assert!(pending.usable_at(t("2026-01-03T23:59:59.999999Z")));
        assert!(!pending.usable_at(t("2026-01-04T00:00:00Z")));
        assert_eq!(
            pending.state_at(t("2026-01-04T00:00:00Z")),
            RequestStatus::Expired
        );
        let approved = row(RequestStatus::Approved, Some("2026-01-02T00:00:00Z"));
        assert!(approved.usable_at(t("2026-01-01T12:00:00Z")));
        assert!(!approved.usable_at(t("2026-01-02T00:00:00Z")));
        let mut activated = row(RequestStatus::Approved, Some("2026-01-02T00:00:00Z"));
        activated.activated_at = Some(t("2026-01-01T06:00:00Z"));
        assert_eq!(
            activated.state_at(t("2026-01-03T00:00:00Z")),
            RequestStatus::Approved,
            "an activated request does not read as expired after its activation window"
        );
        let consumed = row(RequestStatus::Consumed, None);
        assert!(!consumed.usable_at(t("2026-01-01T00:00:00Z")));
    }

    #[test]
    fn floats_are_found_anywhere() {
        assert!(!has_float(&serde_json::json!({"a": [1, "2.5", {"b": -3}]})));
        assert!(has_float(&serde_json::json!({"a": [1, {"b": 2.5}]})));
        assert!(has_float(&serde_json::json!(1e3)));
    }

    #[test]
    fn events_name_their_ask() {
        let created = serde_json::to_value(Ask::Access(AccessAsk {
            person_id: PersonId::parse("p1").unwrap(),
            entitlement: Some("erp:AP_PAY".into()),
            role_id: None,
            items: vec![],
            duration_secs: 3600,
            activation: Activation::OnApproval,
        }))
        .unwrap();
        assert_eq!(created["access"]["activation"], "on_approval");
        assert!(created["access"].get("role_id").is_none());
    }
}
