//! Events: every state change soxctl makes is one of these, appended to the
//! ledger in the same transaction as its projection onto the state tables.
//!
//! The ledger entry's `type` is the serde tag below and its `payload` the
//! variant's content, so the JSON an auditor reads is exactly this shape.

use crate::document::DocumentLoaded;
use crate::finding::{FindingAccepted, FindingAssigned, FindingOpened, FindingResolved};
use crate::ids::{PersonId, SystemId, TokenId};
use crate::inventory::{Account, Entitlement, Grant, PersonStatus, Role, RoleEntitlement, System};
use crate::mitigation::{MitigationGranted, MitigationRevoked};
use crate::principal::Scope;
use crate::request::{
    AccessGranted, AccessRevoked, ActionExecuted, BreakGlassReviewed, BreakGlassUsed,
    ChangeDeployed, DelegationCreated, DelegationRevoked, ExecutionTokenIssued, RequestApproved,
    RequestCancelled, RequestCreated, RequestDenied, RequestExpired, RequestReminded,
};
use crate::sealed::Sealed;
use crate::time::{Date, Timestamp};
use serde::{Deserialize, Serialize};

/// Where an inventory fact came from: an import (with the time the source
/// says the data was true), or a live source.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Origin {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_id: Option<String>,
    /// When the fact was true at the source (`extracted_at`); history uses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<Timestamp>,
}

/// A person as the ledger holds it: name and email sealed under the person's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedPerson {
    pub person_id: PersonId,
    pub name: Option<Sealed>,
    pub email: Option<Sealed>,
    pub manager_id: Option<PersonId>,
    pub department: Option<String>,
    pub title: Option<String>,
    pub status: PersonStatus,
    pub hire_date: Option<Date>,
    pub termination_date: Option<Date>,
}

macro_rules! fact_payload {
    ($name:ident, $field:ident: $ty:ty) => {
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $name {
            #[serde(flatten)]
            pub origin: Origin,
            /// For `*.changed`: the fields that differ from the previous version.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub changed: Option<Vec<String>>,
            pub $field: $ty,
        }
    };
}

fact_payload!(PersonFact, person: SealedPerson);
fact_payload!(SystemFact, system: System);
fact_payload!(EntitlementFact, entitlement: Entitlement);
fact_payload!(AccountFact, account: Account);
fact_payload!(GrantFact, grant: Grant);
fact_payload!(RoleFact, role: Role);
fact_payload!(RoleEntitlementFact, role_entitlement: RoleEntitlement);

/// The first import of a system: its baseline, to be certified by a review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baselined {
    pub system_id: SystemId,
    pub import_id: String,
    pub as_of: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportCompleted {
    pub import_id: String,
    pub source: Option<String>,
    pub extracted_at: Timestamp,
    pub systems: Vec<SystemId>,
    pub events: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCreated {
    pub token_id: TokenId,
    /// SHA-256 of the 256-bit random secret; the secret itself never leaves the caller.
    pub secret_sha256: String,
    pub scopes: Vec<Scope>,
    pub system_id: Option<SystemId>,
    pub person_id: Option<PersonId>,
    pub expires_at: Option<Timestamp>,
    pub description: Option<String>,
    /// A gate token bound to one repository (soxctl's name for it, e.g.
    /// `github.com/acme/app`): the pipeline that registers its changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The environments (patterns) a bound gate token may act in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environments: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRevoked {
    pub token_id: TokenId,
}

/// A person's personal data erased (crypto-shredding): their keys were
/// deleted in the same transaction, so every name and email sealed for them
/// so far is unreadable for good. The reason is free text without personal
/// data (a ticket number, "GDPR Art. 17 request"); it stays in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonErased {
    pub person_id: PersonId,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreInitialised {
    pub store_id: String,
    pub origin: String,
    pub demo: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload")]
pub enum Event {
    #[serde(rename = "store.initialised")]
    StoreInitialised(StoreInitialised),
    #[serde(rename = "person.added")]
    PersonAdded(PersonFact),
    #[serde(rename = "person.changed")]
    PersonChanged(PersonFact),
    #[serde(rename = "person.erased")]
    PersonErased(PersonErased),
    #[serde(rename = "system.added")]
    SystemAdded(SystemFact),
    #[serde(rename = "system.changed")]
    SystemChanged(SystemFact),
    #[serde(rename = "system.baselined")]
    SystemBaselined(Baselined),
    #[serde(rename = "entitlement.added")]
    EntitlementAdded(EntitlementFact),
    #[serde(rename = "entitlement.changed")]
    EntitlementChanged(EntitlementFact),
    #[serde(rename = "entitlement.removed")]
    EntitlementRemoved(EntitlementFact),
    #[serde(rename = "account.added")]
    AccountAdded(AccountFact),
    #[serde(rename = "account.changed")]
    AccountChanged(AccountFact),
    #[serde(rename = "account.removed")]
    AccountRemoved(AccountFact),
    #[serde(rename = "grant.added")]
    GrantAdded(GrantFact),
    #[serde(rename = "grant.changed")]
    GrantChanged(GrantFact),
    #[serde(rename = "grant.removed")]
    GrantRemoved(GrantFact),
    #[serde(rename = "role.added")]
    RoleAdded(RoleFact),
    #[serde(rename = "role.changed")]
    RoleChanged(RoleFact),
    #[serde(rename = "role.removed")]
    RoleRemoved(RoleFact),
    #[serde(rename = "role_entitlement.added")]
    RoleEntitlementAdded(RoleEntitlementFact),
    #[serde(rename = "role_entitlement.removed")]
    RoleEntitlementRemoved(RoleEntitlementFact),
    #[serde(rename = "import.completed")]
    ImportCompleted(ImportCompleted),
    #[serde(rename = "token.created")]
    TokenCreated(TokenCreated),
    #[serde(rename = "token.revoked")]
    TokenRevoked(TokenRevoked),
    #[serde(rename = "document.loaded")]
    DocumentLoaded(DocumentLoaded),
    #[serde(rename = "sod.mitigation.granted")]
    MitigationGranted(MitigationGranted),
    #[serde(rename = "sod.mitigation.revoked")]
    MitigationRevoked(MitigationRevoked),
    #[serde(rename = "finding.opened")]
    FindingOpened(FindingOpened),
    #[serde(rename = "finding.resolved")]
    FindingResolved(FindingResolved),
    #[serde(rename = "finding.accepted")]
    FindingAccepted(FindingAccepted),
    #[serde(rename = "finding.assigned")]
    FindingAssigned(FindingAssigned),
    #[serde(rename = "request.created")]
    RequestCreated(Box<RequestCreated>),
    #[serde(rename = "request.approved")]
    RequestApproved(RequestApproved),
    #[serde(rename = "request.denied")]
    RequestDenied(RequestDenied),
    #[serde(rename = "request.cancelled")]
    RequestCancelled(RequestCancelled),
    #[serde(rename = "request.expired")]
    RequestExpired(RequestExpired),
    #[serde(rename = "request.reminded")]
    RequestReminded(RequestReminded),
    #[serde(rename = "access.granted")]
    AccessGranted(AccessGranted),
    #[serde(rename = "access.revoked")]
    AccessRevoked(AccessRevoked),
    #[serde(rename = "delegation.created")]
    DelegationCreated(DelegationCreated),
    #[serde(rename = "delegation.revoked")]
    DelegationRevoked(DelegationRevoked),
    #[serde(rename = "execution.token_issued")]
    ExecutionTokenIssued(ExecutionTokenIssued),
    #[serde(rename = "action.executed")]
    ActionExecuted(ActionExecuted),
    #[serde(rename = "change.deployed")]
    ChangeDeployed(ChangeDeployed),
    #[serde(rename = "breakglass.used")]
    BreakGlassUsed(BreakGlassUsed),
    #[serde(rename = "breakglass.reviewed")]
    BreakGlassReviewed(BreakGlassReviewed),
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("event does not serialise to a JSON object with a type and payload")]
    Shape,
    #[error("entry of type '{kind}' has a payload that does not match its schema: {source}")]
    Payload {
        kind: String,
        source: serde_json::Error,
    },
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

impl Event {
    /// Splits into the ledger entry's `type` and `payload`.
    pub fn to_parts(
        &self,
    ) -> Result<(String, serde_json::Map<String, serde_json::Value>), EventError> {
        let serde_json::Value::Object(mut obj) = serde_json::to_value(self)? else {
            return Err(EventError::Shape);
        };
        let Some(serde_json::Value::String(kind)) = obj.remove("type") else {
            return Err(EventError::Shape);
        };
        let Some(serde_json::Value::Object(payload)) = obj.remove("payload") else {
            return Err(EventError::Shape);
        };
        Ok((kind, payload))
    }

    /// Rebuilds an event from a ledger entry's `type` and `payload`.
    pub fn from_parts(
        kind: &str,
        payload: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self, EventError> {
        let value = serde_json::json!({ "type": kind, "payload": payload });
        serde_json::from_value(value).map_err(|source| EventError::Payload {
            kind: kind.to_owned(),
            source,
        })
    }

    pub fn kind(&self) -> Result<String, EventError> {
        Ok(self.to_parts()?.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{AccountId, EntitlementId};
    use crate::inventory::GrantSource;

    #[test]
    fn parts_round_trip() {
        let event = Event::GrantAdded(GrantFact {
            origin: Origin {
                import_id: Some("imp-1".into()),
                as_of: None,
            },
            changed: None,
            grant: Grant {
                system_id: SystemId::parse("erp").unwrap(),
                account_id: AccountId::parse("jdoe").unwrap(),
                entitlement_id: EntitlementId::parse("VENDOR_CREATE").unwrap(),
                granted_at: None,
                source: GrantSource::Direct,
            },
        });
        let (kind, payload) = event.to_parts().unwrap();
        assert_eq!(kind, "grant.added");
        assert_eq!(payload["import_id"], "imp-1");
        assert_eq!(payload["grant"]["source"], "direct");
        assert_eq!(Event::from_parts(&kind, &payload).unwrap(), event);
        assert!(Event::from_parts("grant.added", &serde_json::Map::new()).is_err());
        assert!(Event::from_parts("no.such", &payload).is_err());
    }
}
