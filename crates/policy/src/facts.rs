//! What the caller knows about a request: the people, the subject and the
//! numbers. Plain data; the caller reads it from its store.

use soxctl_sod::Severity;
use std::fmt;
use std::str::FromStr;

/// HR status, as the inventory records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PersonStatus {
    Active,
    Leave,
    Terminated,
}

impl PersonStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Leave => "leave",
            Self::Terminated => "terminated",
        }
    }
}

impl FromStr for PersonStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "active" => Ok(Self::Active),
            "leave" => Ok(Self::Leave),
            "terminated" => Ok(Self::Terminated),
            _ => Err(format!(
                "'{s}' is not a person status: use active, leave or terminated"
            )),
        }
    }
}

impl fmt::Display for PersonStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person as policies see them. Group membership is not here: it comes
/// from the document's `[groups]`, so that the ledger's copy of the document
/// plus these facts reproduce every decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonFacts {
    pub id: String,
    pub status: PersonStatus,
    pub manager_id: Option<String>,
    pub department: Option<String>,
    pub title: Option<String>,
}

impl PersonFacts {
    /// An active person with no manager, department or title.
    pub fn active(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            status: PersonStatus::Active,
            manager_id: None,
            department: None,
            title: None,
        }
    }
}

/// What is asked for. Access is to one entitlement or one role (roles span
/// systems, so a role has no system); an action is a kind of change in an
/// environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Entitlement {
        system_id: String,
        entitlement_id: String,
        privileged: bool,
        entitlement_owner: Option<String>,
        system_owner: Option<String>,
    },
    Role {
        role_id: String,
        /// Whether the role grants any privileged entitlement.
        privileged: bool,
        role_owner: Option<String>,
    },
    Action {
        /// `deploy`, `prod-config-change`, `payment`, `vendor-contract`,
        /// `data-fix` or a kind of the organisation's own.
        kind: String,
        env: String,
    },
}

impl Subject {
    /// Whether this is an access request (an entitlement or a role).
    pub fn is_access(&self) -> bool {
        !matches!(self, Self::Action { .. })
    }

    /// `erp:SAP_ALL`, `role CONTROLLER`, `deploy in prod`: for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Entitlement {
                system_id,
                entitlement_id,
                ..
            } => format!("{system_id}:{entitlement_id}"),
            Self::Role { role_id, .. } => format!("role {role_id}"),
            Self::Action { kind, env } => format!("{kind} in {env}"),
        }
    }
}

/// One request, as the caller knows it when planning or approving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFacts {
    pub requester: PersonFacts,
    /// Who gets the access; the requester for actions and for themselves.
    pub beneficiary: PersonFacts,
    pub subject: Subject,
    /// Access asked for, in seconds; `None` asks for the rule's maximum.
    /// Actions ignore it: their window comes from the policy.
    pub duration_secs: Option<u64>,
    /// The worst SoD risk the access would add for the beneficiary.
    pub worst_sod_severity: Option<Severity>,
    pub has_ticket: bool,
    /// The person acts through a credential someone else issued (an
    /// admin, `system:cli`): nothing proves the person themselves acted.
    pub proxy_credential: bool,
}
