//! Just-in-time requests, decisions, grants and delegations.

use crate::people::{Names, shown};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use soxctl_model::request::{
    AccessGrantRow, Activation, Ask, DecisionRow, DelegationRow, RequestRow, SodFlag,
};
use soxctl_model::time::Timestamp;

fn canonical(t: Option<Timestamp>) -> Option<String> {
    t.map(|t| t.to_canonical())
}

/// One approver's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionView {
    pub approver_id: String,
    /// approve or deny.
    pub decision: String,
    /// Decided as delegate of this approver.
    pub on_behalf_of: Option<String>,
    pub mfa: bool,
    pub comment: Option<String>,
    pub decided_at: String,
    pub ledger_seq: u64,
    /// The credential used (`token:<id>`).
    pub actor: String,
}

impl From<&DecisionRow> for DecisionView {
    fn from(d: &DecisionRow) -> Self {
        Self {
            approver_id: d.approver_id.to_string(),
            decision: d.decision.as_str().to_owned(),
            on_behalf_of: d.on_behalf_of.as_ref().map(ToString::to_string),
            mfa: d.mfa,
            comment: d.comment.clone(),
            decided_at: d.decided_at.to_canonical(),
            ledger_seq: d.seq,
            actor: d.actor.clone(),
        }
    }
}

/// A time-bound grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantView {
    pub grant_id: String,
    pub request_id: String,
    pub person_id: String,
    /// Their name; null when unnamed or erased.
    #[serde(default)]
    pub person_name: Option<String>,
    pub system_id: String,
    pub account_id: String,
    pub entitlement_id: String,
    pub starts_at: String,
    pub ends_at: String,
    pub ended_at: Option<String>,
    /// expired or revoked, once ended.
    pub end: Option<String>,
    /// In force now.
    pub active: bool,
}

impl GrantView {
    /// The grant as of `now` (whether it is in force), with the holder's
    /// name from `names`.
    pub fn of(g: &AccessGrantRow, now: Timestamp, names: &Names) -> Self {
        Self {
            person_name: shown(names, Some(&g.person_id)).0,
            grant_id: g.grant_id.to_string(),
            request_id: g.request_id.to_string(),
            person_id: g.person_id.to_string(),
            system_id: g.system_id.to_string(),
            account_id: g.account_id.to_string(),
            entitlement_id: g.entitlement_id.to_string(),
            starts_at: g.starts_at.to_canonical(),
            ends_at: g.ends_at.to_canonical(),
            ended_at: canonical(g.ended_at),
            end: g.end.map(|e| e.as_str().to_owned()),
            active: g.active_at(now),
        }
    }
}

/// An SoD violation the access would create, as approvers are shown it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SodFlagView {
    pub risk_id: String,
    pub severity: String,
    pub mitigated: bool,
}

impl From<&SodFlag> for SodFlagView {
    fn from(f: &SodFlag) -> Self {
        Self {
            risk_id: f.risk_id.clone(),
            severity: f.severity.clone(),
            mitigated: f.mitigated,
        }
    }
}

/// A request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestView {
    pub request_id: String,
    /// access or action.
    pub kind: String,
    pub requester_id: String,
    /// The requester's name; null when unnamed or erased.
    #[serde(default)]
    pub requester_name: Option<String>,
    /// What is asked: `{"access": {...}}` or `{"action": {"kind","env","payload","digest","authors"}}`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub ask: Ask,
    /// The action digest (DESIGN A3) that binds an action approval.
    pub digest: Option<String>,
    pub justification: String,
    pub ticket: Option<String>,
    pub policy_version: Option<u64>,
    pub policy_rule: String,
    pub required_approvals: u32,
    pub approvals: u32,
    /// Who may approve (after the built-in rules).
    pub approvers: Vec<String>,
    /// Their names, in the same order (empty text for one unnamed or erased).
    #[serde(default)]
    pub approver_names: Vec<String>,
    pub mfa_required: bool,
    pub sod: Vec<SodFlagView>,
    /// pending, approved, denied, cancelled, expired or consumed, as of now.
    pub status: String,
    pub created_at: String,
    pub expires_at: String,
    pub decided_at: Option<String>,
    /// Until when an approval may be used (actions: executed; manual access: activated).
    pub valid_until: Option<String>,
    pub activated_at: Option<String>,
    pub closed_reason: Option<String>,
    /// `/api/v1/requests/{id}`.
    pub link: String,
}

impl RequestView {
    /// The request as of `now` (its status), with the names of the people
    /// it names from `names`.
    pub fn of(r: &RequestRow, now: Timestamp, names: &Names) -> Self {
        Self {
            request_id: r.request_id.to_string(),
            kind: r.kind().as_str().to_owned(),
            requester_id: r.requester_id.to_string(),
            requester_name: shown(names, Some(&r.requester_id)).0,
            approver_names: r
                .approvers
                .iter()
                .map(|a| shown(names, Some(a)).0.unwrap_or_default())
                .collect(),
            ask: r.ask.clone(),
            digest: r.digest().map(str::to_owned),
            justification: r.justification.clone(),
            ticket: r.ticket.clone(),
            policy_version: r.policy_version,
            policy_rule: r.policy_rule.clone(),
            required_approvals: r.required_approvals,
            approvals: r.approvals,
            approvers: r.approvers.iter().map(ToString::to_string).collect(),
            mfa_required: r.mfa_required,
            sod: r.sod.iter().map(SodFlagView::from).collect(),
            status: r.state_at(now).as_str().to_owned(),
            created_at: r.created_at.to_canonical(),
            expires_at: r.expires_at.to_canonical(),
            decided_at: canonical(r.decided_at),
            valid_until: canonical(r.valid_until),
            activated_at: canonical(r.activated_at),
            closed_reason: r.closed_reason.clone(),
            link: format!("/api/v1/requests/{}", r.request_id),
        }
    }
}

/// A request with its decisions, grants, and who may decide it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestDetail {
    #[serde(flatten)]
    pub request: RequestView,
    pub decisions: Vec<DecisionView>,
    pub grants: Vec<GrantView>,
    /// Delegates in force for the approvers: (delegate, for approver).
    pub delegates: Vec<DelegateView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DelegateView {
    pub delegate_id: String,
    pub on_behalf_of: String,
    pub until: String,
}

/// A person the built-in rules removed from the approvers, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Excluded {
    pub person_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedRequest {
    #[serde(flatten)]
    pub request: RequestView,
    pub excluded: Vec<Excluded>,
    pub ledger_seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// deploy, prod-config-change, payment, vendor-contract, data-fix, …
    pub kind: String,
    /// prod, staging, …
    pub env: String,
    /// Exactly what is to be done; no floating-point numbers (amounts as strings).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: Value,
    /// Refused: a person never names who wrote a change. Deployments are
    /// registered by their pipeline (`POST /api/v1/gate/requests`), which
    /// reads the authors from the repository.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<String>>, deprecated))]
    pub authors: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateRequestBody {
    /// Access: `system_id:entitlement_id`.
    pub entitlement: Option<String>,
    /// Access: a role id instead of an entitlement.
    pub role: Option<String>,
    /// Access: who would hold it (default: the caller's person).
    pub person_id: Option<String>,
    /// Access: how long (default: the policy's maximum).
    pub duration_secs: Option<u64>,
    /// Access: `on_approval` (default) or `manual`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub activation: Option<Activation>,
    /// An action instead of access.
    pub action: Option<ActionBody>,
    pub justification: String,
    pub ticket: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ListQuery {
    /// pending, approved, denied, cancelled, expired or consumed (as of now).
    pub status: Option<String>,
    /// Only requests this person asked for or may decide.
    pub person: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestList {
    pub requests: Vec<RequestView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DecideBody {
    /// With an approval: optional comment. With a denial: the reason (required).
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecidedView {
    #[serde(flatten)]
    pub request: RequestView,
    pub on_behalf_of: Option<String>,
    pub ledger_seqs: Vec<u64>,
    pub grants: Vec<GrantView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepView {
    #[serde(flatten)]
    pub request: RequestView,
    pub ledger_seqs: Vec<u64>,
    pub grants: Vec<GrantView>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EmptyBody {}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct GrantQuery {
    /// Only grants in force that end within this many seconds.
    pub expiring_within_secs: Option<u64>,
    /// Include ended grants (default: only those in force).
    pub all: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantList {
    pub grants: Vec<GrantView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DelegateBody {
    pub delegate_id: String,
    /// RFC 3339; default now.
    pub starts_at: Option<String>,
    /// RFC 3339; at most 90 days after the start.
    pub ends_at: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DelegationView {
    pub delegation_id: String,
    pub delegator_id: String,
    /// The delegator's name; null when unnamed or erased.
    #[serde(default)]
    pub delegator_name: Option<String>,
    pub delegate_id: String,
    /// The delegate's name; null when unnamed or erased.
    #[serde(default)]
    pub delegate_name: Option<String>,
    pub starts_at: String,
    pub ends_at: String,
    pub reason: String,
    pub created_at: String,
    pub created_by: String,
    pub revoked_at: Option<String>,
    pub active: bool,
}

impl DelegationView {
    /// The delegation as of `now` (whether it is in force), with the
    /// names from `names`.
    pub fn of(d: &DelegationRow, now: Timestamp, names: &Names) -> Self {
        Self {
            delegation_id: d.delegation_id.to_string(),
            delegator_id: d.delegator_id.to_string(),
            delegator_name: shown(names, Some(&d.delegator_id)).0,
            delegate_id: d.delegate_id.to_string(),
            delegate_name: shown(names, Some(&d.delegate_id)).0,
            starts_at: d.starts_at.to_canonical(),
            ends_at: d.ends_at.to_canonical(),
            reason: d.reason.clone(),
            created_at: d.created_at.to_canonical(),
            created_by: d.created_by.clone(),
            revoked_at: canonical(d.revoked_at),
            active: d.active_at(now),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DelegationList {
    pub delegations: Vec<DelegationView>,
}
