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

use crate::ids::{
    AccessGrantId, AccountId, DelegationId, EntitlementId, ExecutionTokenId, PersonId, RequestId,
    RoleId, SystemId,
};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

mod actions;
mod ask;
mod breakglass;
mod decisions;
mod events;
mod state;
pub use actions::*;
pub use ask::*;
pub use breakglass::*;
pub use decisions::*;
pub use events::*;
pub use state::*;

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
            request_id: "req_1".parse().unwrap(),
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
